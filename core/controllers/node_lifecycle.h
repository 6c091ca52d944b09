/*
 * The node lifecycle controller's parts (node_lifecycle.c says what it
 * does): node_lifecycle.c watches heartbeats and keeps the taints,
 * node_eviction.c evicts the pods NoExecute taints no longer allow and
 * removes those of deleted nodes.
 */
#ifndef MK_CONTROLLERS_NODE_LIFECYCLE_H
#define MK_CONTROLLERS_NODE_LIFECYCLE_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "controllers_internal.h"

struct node_lifecycle {
	struct ctrl_loop loop;
	struct controllers *ctl;
	pthread_mutex_t lock;
	json_t *seen; /* node name -> {"hb": heartbeat text, "at": local ms} */
	bool disrupted; /* all nodes silent: said once in the log */
};

/* "/api/v1/nodes/<name>" into path. */
void node_path(const char *name, char *path, size_t len);
/* Pods bound to name (a new array): the active ones, or all of them. */
json_t *node_pods(struct node_lifecycle *c, const char *name, bool all_of_them);
/* Evicts the pods of node that must go now; returns ms until the next
 * eviction, or -1. */
int64_t node_evict(struct node_lifecycle *c, const json_t *node, const json_t *pods);
/* The node is gone from the cache: if the API says so too, its pods go. */
void node_collect_orphans(struct node_lifecycle *c, const char *name);

#endif
