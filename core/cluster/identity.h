/*
 * A node's dqlite identity and its last known cluster, persisted in the
 * node's dqlite directory in go-dqlite's formats so that Debian's `dqlite`
 * shell (.reconfigure) and MicroK8s-style recovery work on them:
 *
 *   info.yaml     Address, ID, Role of this node
 *   cluster.yaml  list of {Address, ID, Role}; seeds leader discovery
 *   join          flag file: present until this node was ADDed
 */
#ifndef MK_CLUSTER_IDENTITY_H
#define MK_CLUSTER_IDENTITY_H

#include <stddef.h>
#include <stdint.h>

#include "../store/dq_client.h"

struct node_identity {
	uint64_t id;
	char address[64];
	enum dq_role role;
};

/* MK_ENOTFOUND if the file does not exist, MK_EINVAL (with errmsg) if it
 * is malformed. */
int identity_load(const char *dir, struct node_identity *id, char *errmsg, size_t len);
int identity_save(const char *dir, const struct node_identity *id);

/* cluster.yaml.  *servers is malloc'd (free()); an absent file is 0 servers. */
int cluster_load(const char *dir, struct dq_server **servers, size_t *n, char *errmsg,
		 size_t len);
int cluster_save(const char *dir, const struct dq_server *servers, size_t n);

#endif
