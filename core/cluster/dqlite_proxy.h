/*
 * The cluster port's front door.  mkd's dqlite node listens only on an
 * abstract Unix socket that no other process can reach; every peer and
 * client comes in through this proxy on the advertised IP:PORT, which
 * checks what it forwards before libdqlite 1.11 sees it:
 *
 *   - the handshake must be protocol version 1 (or the legacy version);
 *   - every request header must name a request type dqlite answers (an
 *     unknown type would hang the connection) and announce a body no
 *     larger than DQLITE_PROXY_MAX_BODY (libdqlite aborts or crashes on a
 *     header announcing 4 GiB, and reserves memory for whatever it is told);
 *   - after a CONNECT request the stream is raft's own protocol between
 *     two nodes, and is passed through untouched.
 * Traffic from the node back to the peer is passed through untouched.
 *
 * A connection that breaks a rule is closed (logged at warn level); the
 * node and every other connection carry on.  This is also where mutual
 * TLS will be terminated (DESIGN decision 6).
 *
 * Runs on the caller's libuv loop; not thread-safe (loop thread only).
 */
#ifndef MK_CLUSTER_DQLITE_PROXY_H
#define MK_CLUSTER_DQLITE_PROXY_H

#include <stddef.h>
#include <uv.h>

/* Larger than any request mk sends (write groups are capped at 4 MiB of
 * values) with room for other clients' statements. */
#define DQLITE_PROXY_MAX_BODY (64u * 1024 * 1024)

struct dqlite_proxy;

/* Listens on `listen_address` ("IP:PORT") and forwards each connection to
 * the abstract Unix socket `backend` (its name without the leading NUL).
 * MK_EIO with errmsg (e.g. the address is in use) on failure. */
int dqlite_proxy_start(uv_loop_t *loop, const char *listen_address, const char *backend,
		       struct dqlite_proxy **out, char *errmsg, size_t errlen);

/* Stops listening and closes every connection; the memory is released by
 * the loop's close callbacks, so run the loop afterwards. */
void dqlite_proxy_stop(struct dqlite_proxy *p);

#endif
