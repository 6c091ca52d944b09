/*
 * The node-local scores of kube-scheduler's default profile and the
 * choice among the best: NodeAffinity (preferred terms), TaintToleration
 * (PreferNoSchedule taints), NodeResourcesFit with LeastAllocated and
 * NodeResourcesBalancedAllocation over cpu and memory.
 */
#include <string.h>

#include "sched_internal.h"

#define MAX_SCORE 100

void sched_normalize(int64_t *scores, size_t n, bool reverse)
{
	int64_t max = 0;

	for (size_t i = 0; i < n; i++)
		if (scores[i] > max)
			max = scores[i];
	for (size_t i = 0; i < n; i++) {
		if (max == 0) {
			scores[i] = reverse ? MAX_SCORE : 0;
			continue;
		}
		int64_t s = MAX_SCORE * scores[i] / max;
		scores[i] = reverse ? MAX_SCORE - s : s;
	}
}

void sched_score_node_affinity(const struct sched_pod *p, struct sched_node **nodes, size_t n,
			       int64_t *out)
{
	const json_t *pref = json_object_get(
		json_object_get(json_object_get(json_object_get(p->obj, "spec"), "affinity"),
				"nodeAffinity"),
		"preferredDuringSchedulingIgnoredDuringExecution");
	size_t k;
	json_t *t;

	for (size_t i = 0; i < n; i++) {
		out[i] = 0;
		json_array_foreach(pref, k, t) {
			json_int_t w = json_integer_value(json_object_get(t, "weight"));
			if (w != 0 && sched_node_term_matches(json_object_get(t, "preference"),
							      nodes[i]->obj))
				out[i] += w;
		}
	}
	sched_normalize(out, n, false);
}

/* Fewer PreferNoSchedule taints the pod does not tolerate is better; only
 * tolerations with no effect or PreferNoSchedule count. */
void sched_score_taints(const struct sched_pod *p, struct sched_node **nodes, size_t n,
			int64_t *out)
{
	const json_t *tolerations = json_object_get(json_object_get(p->obj, "spec"), "tolerations");
	json_t *prefer = json_array();
	size_t k;
	json_t *t;

	json_array_foreach(tolerations, k, t) {
		const char *e = json_string_value(json_object_get(t, "effect"));
		if (e == NULL || e[0] == '\0' || strcmp(e, "PreferNoSchedule") == 0)
			json_array_append(prefer, t);
	}
	for (size_t i = 0; i < n; i++) {
		out[i] = 0;
		json_array_foreach(json_object_get(json_object_get(nodes[i]->obj, "spec"), "taints"),
				   k, t) {
			const char *e = json_string_value(json_object_get(t, "effect"));
			if (e != NULL && strcmp(e, "PreferNoSchedule") == 0 &&
			    !sched_tolerated(prefer, t))
				out[i]++;
		}
	}
	json_decref(prefer);
	sched_normalize(out, n, true);
}

static int64_t least_requested(int64_t requested, int64_t capacity)
{
	if (capacity == 0 || requested > capacity)
		return 0;
	return (capacity - requested) * MAX_SCORE / capacity;
}

/* What is left of cpu and memory once the pod is there, unset requests
 * counted as 100m / 200 MiB, the two weighted alike. */
void sched_score_least_allocated(const struct sched_pod *p, struct sched_node **nodes, size_t n,
				 int64_t *out)
{
	for (size_t i = 0; i < n; i++) {
		const struct sched_node *nd = nodes[i];
		int64_t sum = 0, weights = 0;
		if (nd->alloc.milli_cpu > 0) {
			sum += least_requested(nd->nonzero_requested.milli_cpu + p->nonzero.milli_cpu,
					       nd->alloc.milli_cpu);
			weights++;
		}
		if (nd->alloc.memory > 0) {
			sum += least_requested(nd->nonzero_requested.memory + p->nonzero.memory,
					       nd->alloc.memory);
			weights++;
		}
		out[i] = weights ? sum / weights : 0;
	}
}

/* cpu and memory used in the same proportion is better: 100 * (1 - std),
 * with the actual requests. */
void sched_score_balanced(const struct sched_pod *p, struct sched_node **nodes, size_t n,
			  int64_t *out)
{
	for (size_t i = 0; i < n; i++) {
		const struct sched_node *nd = nodes[i];
		double f[2], std = 0;
		int k = 0;
		if (nd->alloc.milli_cpu > 0)
			f[k++] = (double)(nd->requested.milli_cpu + p->req.milli_cpu) /
				 (double)nd->alloc.milli_cpu;
		if (nd->alloc.memory > 0)
			f[k++] = (double)(nd->requested.memory + p->req.memory) /
				 (double)nd->alloc.memory;
		if (k == 2) {
			double a = f[0] > 1 ? 1 : f[0], b = f[1] > 1 ? 1 : f[1];
			std = (a > b ? a - b : b - a) / 2;
		}
		out[i] = (int64_t)((1 - std) * MAX_SCORE);
	}
}

static uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*s = x;
	return x;
}

size_t sched_select(const int64_t *totals, size_t n, uint64_t *rng)
{
	size_t best = 0, ties = 1;

	for (size_t i = 1; i < n; i++) {
		if (totals[i] > totals[best]) {
			best = i;
			ties = 1;
		} else if (totals[i] == totals[best] && xorshift(rng) % ++ties == 0) {
			best = i;
		}
	}
	return best;
}
