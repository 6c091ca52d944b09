/*
 * One scheduling cycle (sched_internal.h): every node through the filters
 * in kube-scheduler's order (the first failing filter decides a node's
 * status), then the feasible ones through the weighted scores.
 */
#include <stdlib.h>
#include <string.h>

#include "../base/err.h"
#include "sched_internal.h"

typedef enum sched_code (*filter_fn)(const struct sched_pod *, const struct sched_node *,
				     struct sched_status *);

/* The default profile's order, up to the two filters that need the whole
 * cluster (PodTopologySpread, then InterPodAffinity). */
static const filter_fn node_filters[] = {
	sched_filter_unschedulable, sched_filter_node_name, sched_filter_taints,
	sched_filter_node_affinity, sched_filter_ports,	    sched_filter_resources,
};

/* The default profile's score weights. */
enum {
	W_TAINT = 3,
	W_NODE_AFFINITY = 2,
	W_FIT = 1,
	W_SPREAD = 2,
	W_INTERPOD = 2,
	W_BALANCED = 1,
};

static bool may_preempt(const struct sched_pod *p)
{
	const char *pp = json_string_value(
		json_object_get(json_object_get(p->obj, "spec"), "preemptionPolicy"));
	return pp == NULL || strcmp(pp, "Never") != 0;
}

static enum sched_code run_filters(const struct sched_pod *p, const struct sched_node *n,
				   const struct sched_spread *sp, const struct sched_interpod *ip,
				   struct sched_status *st)
{
	for (size_t f = 0; f < sizeof node_filters / sizeof node_filters[0]; f++)
		if (node_filters[f](p, n, st) != SCHED_FIT)
			return st->code;
	if (sched_filter_spread(sp, n, st) != SCHED_FIT)
		return st->code;
	return sched_filter_interpod(ip, n, st);
}

static int score(const struct sched_cluster *c, const struct sched_pod *p,
		 const struct sched_spread *sp, const struct sched_interpod *ip,
		 struct sched_node **feasible, size_t n, uint64_t *rng, size_t *best)
{
	int64_t *total = calloc(n, sizeof *total), *s = calloc(n, sizeof *s);

	if (total == NULL || s == NULL) {
		free(total);
		free(s);
		return MK_ENOMEM;
	}
#define ADD(weight, call)                                                                      \
	do {                                                                                   \
		call;                                                                          \
		for (size_t i = 0; i < n; i++)                                                 \
			total[i] += (weight) * s[i];                                           \
	} while (0)
	ADD(W_TAINT, sched_score_taints(p, feasible, n, s));
	ADD(W_NODE_AFFINITY, sched_score_node_affinity(p, feasible, n, s));
	ADD(W_FIT, sched_score_least_allocated(p, feasible, n, s));
	ADD(W_SPREAD, sched_score_spread(sp, feasible, n, s));
	ADD(W_INTERPOD, sched_score_interpod(ip, feasible, n, s));
	ADD(W_BALANCED, sched_score_balanced(p, feasible, n, s));
#undef ADD
	*best = sched_select(total, n, rng);
	free(total);
	free(s);
	return MK_OK;
}

int sched_schedule_one(const struct sched_cluster *c, const struct sched_pod *p, uint64_t *rng,
		       struct sched_node **chosen, char **message, const char **reason)
{
	struct sched_interpod *ip = NULL;
	struct sched_spread *sp = NULL;
	struct sched_status *failed = NULL, st;
	struct sched_node **feasible = NULL;
	size_t n_feasible = 0, n_failed = 0;
	int rv = MK_ENOMEM;

	*chosen = NULL;
	*message = NULL;
	*reason = NULL;
	if (c->n_nodes == 0) {
		/* ErrNoNodesAvailable, which upstream reports as an error. */
		*reason = "SchedulerError";
		*message = strdup("no nodes available to schedule pods");
		return *message != NULL ? MK_OK : MK_ENOMEM;
	}
	if (sched_interpod_prepare(c, p, &ip) != MK_OK || sched_spread_prepare(c, p, &sp) != MK_OK)
		goto out;
	failed = malloc(c->n_nodes * sizeof *failed);
	feasible = malloc(c->n_nodes * sizeof *feasible);
	if (failed == NULL || feasible == NULL)
		goto out;
	for (size_t i = 0; i < c->n_nodes; i++) {
		if (run_filters(p, c->nodes[i], sp, ip, &st) == SCHED_FIT)
			feasible[n_feasible++] = c->nodes[i];
		else
			failed[n_failed++] = st;
	}
	if (n_feasible == 0) {
		*reason = "Unschedulable";
		*message = sched_fit_message(c->n_nodes, failed, n_failed, may_preempt(p));
		rv = *message != NULL ? MK_OK : MK_ENOMEM;
		goto out;
	}
	size_t best = 0;
	/* One feasible node needs no scores. */
	rv = n_feasible == 1 ? MK_OK : score(c, p, sp, ip, feasible, n_feasible, rng, &best);
	if (rv == MK_OK)
		*chosen = feasible[best];
out:
	sched_interpod_free(ip);
	sched_spread_free(sp);
	free(failed);
	free(feasible);
	return rv;
}
