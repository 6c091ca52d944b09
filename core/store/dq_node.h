/*
 * The dqlite node embedded in mkd (libdqlite 1.11, server side only).
 *
 * Guards from reference/dqlite.md that live here: snapshot parameters sized
 * for small machines, and one network latency constant so that every node
 * of a cluster runs identical raft timings.  The caller must ignore SIGPIPE
 * before starting a node (mkd does it first thing in main).
 */
#ifndef MK_STORE_DQ_NODE_H
#define MK_STORE_DQ_NODE_H

#include <stddef.h>
#include <stdint.h>

/* go-dqlite's BootstrapID: the first node of a cluster bootstraps a
 * single-voter configuration under this id, like MicroK8s' first node. */
#define DQ_BOOTSTRAP_ID 0x2dc171858c3155beULL

/* Heartbeat 150 ms, election timeout 1.5-3 s: fails over within a few
 * seconds, yet tolerates fsync stalls on a busy two-core box. */
#define DQ_NETWORK_LATENCY_MS 100
/* Snapshot every 256 entries, keep 256: bounds the in-memory raft log
 * (reference §5 item 6).  Each entry carries whole 4 KiB pages, so the
 * trailing entries dominate mkd's memory: with 2048 kept, 10k stored
 * objects cost 175 MiB of RSS, with 256 about 100 MiB (bench/README.md).
 * A follower absent for longer than 256 writes catches up by snapshot.
 * (dqlite refuses a trailing count below the threshold.) */
#define DQ_SNAPSHOT_THRESHOLD 256
#define DQ_SNAPSHOT_TRAILING 256

/* A raft peer that does not accept within this is reported unreachable
 * (raft retries); connecting runs on libuv's small worker pool. */
#define DQ_PEER_CONNECT_TIMEOUT_MS 1000

struct dq_node;

struct dq_node_config {
	uint64_t id;
	const char *address;      /* "IP:PORT" advertised to peers */
	const char *bind_address; /* where it listens; NULL: `address`.
				   * "@name": an abstract Unix socket that
				   * only this process can connect to */
	const char *dir;     /* raft data directory; must exist */
	uint64_t failure_domain;
};

/* Creates and starts the node; it serves until dq_node_stop().  On failure
 * returns MK_EIO with the reason in errmsg. */
int dq_node_start(const struct dq_node_config *config, struct dq_node **out,
		  char *errmsg, size_t errlen);
/* Stops the node (blocks until its thread exits) and frees it. */
void dq_node_stop(struct dq_node *n);

#endif
