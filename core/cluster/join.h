/*
 * Joining an existing dqlite cluster: ask its leader to ADD this node.
 * The node then serves as a spare until somebody ASSIGNs it a role (role
 * placement is the membership manager's job, not the joiner's).
 */
#ifndef MK_CLUSTER_JOIN_H
#define MK_CLUSTER_JOIN_H

#include <stddef.h>
#include <stdint.h>

/* Sends ADD(id, address) to the leader found through `seeds`.  Succeeds
 * too if the cluster already lists this id at this address (a join that
 * was interrupted after the ADD).  MK_EUNAVAILABLE if no leader answers
 * within timeout_ms. */
int join_add_self(const char *const *seeds, size_t n_seeds, uint64_t id,
		  const char *address, int timeout_ms, char *errmsg, size_t len);

#endif
