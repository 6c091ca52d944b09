/*
 * mk's controller manager: the controllers that turn workload objects into
 * pods, run in mkd on control-plane nodes.
 *
 * Each controller has the Kubernetes shape: shared informers (list + watch
 * into a cache, core/kube) feed a work queue of object keys; worker
 * threads reconcile one key at a time, level-triggered and idempotent,
 * retrying with back-off.  They talk to the API like any client.
 *
 * manager.c lists them all.
 *
 * Threading: controllers_start/stop from one thread; never from the API's
 * loop thread (stopping waits for requests that loop serves).
 */
#ifndef MK_CONTROLLERS_H
#define MK_CONTROLLERS_H

#include <stddef.h>

struct kube_client;
struct controllers;

struct controllers_config {
	struct kube_client *client;
	int workers; /* per controller; 0: 2 */
	/* A node whose heartbeats (status or Lease) stop for this long is
	 * marked unreachable and tainted; 0: 40 s (kube-controller-manager's
	 * --node-monitor-grace-period). */
	int node_monitor_grace_s;
};

int controllers_start(const struct controllers_config *cfg, struct controllers **out,
		      char *errmsg, size_t len);
void controllers_stop(struct controllers *c);

#endif
