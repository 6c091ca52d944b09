/*
 * TCP dialing shared by the dqlite client and the embedded node's raft
 * connections.
 */
#ifndef MK_BASE_NET_H
#define MK_BASE_NET_H

#include <stddef.h>

/* Connects to "HOST:PORT" within timeout_ms.  Returns a blocking socket
 * with TCP_NODELAY set (request/response traffic must not wait on Nagle's
 * algorithm), or a negative MK_E* code with the reason in `why`:
 * MK_EINVAL for a malformed address, MK_EUNAVAILABLE when nobody answers. */
int net_dial(const char *address, int timeout_ms, char *why, size_t whylen);

#endif
