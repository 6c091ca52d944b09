/*
 * Whether a pod may be on a node, by the node's labels and taints: the
 * scheduler's own rules (node_filters.c), for the controllers that decide
 * the same question (DaemonSet: which nodes need a pod; node lifecycle:
 * which pods a NoExecute taint evicts).
 *
 * Pure functions of JSON objects; any thread.
 */
#ifndef MK_SCHEDULER_NODE_MATCH_H
#define MK_SCHEDULER_NODE_MATCH_H

#include <stdbool.h>

#include <jansson.h>

/* core/v1 Toleration.ToleratesTaint. */
bool sched_toleration_matches(const json_t *toleration, const json_t *taint);
/* Some toleration of the list tolerates taint. */
bool sched_tolerated(const json_t *tolerations, const json_t *taint);
/* nodeSelector and required node affinity of pod spec `spec` on `node`. */
bool sched_node_fits_selector(const json_t *spec, const json_t *node);

#endif
