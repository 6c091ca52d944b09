/*
 * PodTopologySpread, as kube-scheduler 1.32 does it.
 *
 * Filter: the pod's DoNotSchedule constraints.  Over the nodes the pod
 * could go to (its node selector/affinity honoured, taints ignored, every
 * constraint's key present), the matching pods per domain; a node fails
 * when placing the pod there would make its domain exceed the least
 * populated one by more than maxSkew.
 *
 * Score: the pod's ScheduleAnyway constraints, or when it has none at all
 * the system defaults (hostname maxSkew 3, zone maxSkew 5), fewer matching
 * pods in a node's domains scoring higher.  The defaults select "pods of
 * the same workload": upstream derives a selector from the Services,
 * ReplicaSets and StatefulSets that select the pod; here a pod matches
 * when every Service selecting the incoming pod selects it too and it has
 * the same controller (ownerReference uid), which needs no informer on
 * every workload kind.  A pod with neither gets no default spreading.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../api/selector.h"
#include "../base/err.h"
#include "sched_internal.h"

#define HOSTNAME_KEY "kubernetes.io/hostname"
#define ZONE_KEY "topology.kubernetes.io/zone"

struct constraint {
	int64_t max_skew;
	const char *key;
	int64_t min_domains;
	struct label_selector *sel; /* NULL: the default selector */
	bool honor_affinity, honor_taints;
	json_t *counts;             /* filter: domain value -> matching pods */
	int64_t min_count;
	int64_t self;               /* the pod matches its own selector */
};

struct sched_spread {
	const struct sched_cluster *c;
	const struct sched_pod *p;
	struct constraint *hard, *soft;
	size_t n_hard, n_soft;
	bool defaults;
	json_t *services; /* selectors ({k: v}) of Services that select the pod */
};

/* The natural logarithm for x >= 1, without libm (which mk does not
 * link): x = m * 2^k with m in [1, 2), ln m from the atanh series. */
static double ln(double x)
{
	const double ln2 = 0.69314718055994530942;
	int k = 0;

	while (x >= 2) {
		x /= 2;
		k++;
	}
	double y = (x - 1) / (x + 1), y2 = y * y, term = y, sum = 0;
	for (int i = 1; i < 40; i += 2) {
		sum += term / i;
		term *= y2;
	}
	return k * ln2 + 2 * sum;
}

static const char *str(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static bool map_selects(const json_t *sel, const json_t *labels)
{
	const char *k;
	json_t *v;

	if (json_object_size((json_t *)sel) == 0)
		return false;
	json_object_foreach((json_t *)sel, k, v) {
		const char *have = str(labels, k);
		if (have == NULL || !json_is_string(v) || strcmp(have, json_string_value(v)))
			return false;
	}
	return true;
}

/* q counts for constraint k of the incoming pod. */
static bool pod_counts(const struct sched_spread *sp, const struct constraint *k,
		       const struct sched_pod *q)
{
	if (strcmp(q->ns, sp->p->ns) != 0 ||
	    json_object_get(json_object_get(q->obj, "metadata"), "deletionTimestamp"))
		return false;
	if (k->sel != NULL)
		return label_selector_matches(k->sel, q->labels);
	size_t i;
	json_t *s;
	json_array_foreach(sp->services, i, s)
		if (!map_selects(s, q->labels))
			return false;
	if (sp->p->owner_uid != NULL)
		return q->owner_uid != NULL && strcmp(q->owner_uid, sp->p->owner_uid) == 0;
	return true;
}

static int64_t count_on(const struct sched_spread *sp, const struct constraint *k,
			const struct sched_node *n)
{
	int64_t c = 0;

	for (size_t i = 0; i < n->n_pods; i++)
		c += pod_counts(sp, k, n->pods[i]);
	return c;
}

/* The labelSelector with matchLabelKeys merged in (key In [pod's value]). */
static int constraint_selector(const json_t *tsc, const struct sched_pod *p,
			       struct label_selector **out)
{
	json_t *sel = json_deep_copy(json_object_get(tsc, "labelSelector"));
	size_t i;
	json_t *key;
	int rv;

	if (sel == NULL) /* none: selects no pod */
		return label_selector_from_json(NULL, out, NULL, 0);
	json_array_foreach(json_object_get(tsc, "matchLabelKeys"), i, key) {
		const char *v = str(p->labels, json_string_value(key) ? json_string_value(key) : "");
		if (v == NULL)
			continue;
		json_t *exprs = json_object_get(sel, "matchExpressions");
		if (!json_is_array(exprs)) {
			exprs = json_array();
			json_object_set_new(sel, "matchExpressions", exprs);
		}
		json_array_append_new(exprs, json_pack("{s:O, s:s, s:[s]}", "key", key, "operator",
						       "In", "values", v));
	}
	rv = label_selector_from_json(sel, out, NULL, 0);
	json_decref(sel);
	return rv;
}

static int add_constraints(struct sched_spread *sp, const json_t *list)
{
	size_t n = json_array_size(list), i;
	json_t *t;

	sp->hard = calloc(n, sizeof *sp->hard);
	sp->soft = calloc(n, sizeof *sp->soft);
	if (sp->hard == NULL || sp->soft == NULL)
		return MK_ENOMEM;
	json_array_foreach(list, i, t) {
		const char *when = str(t, "whenUnsatisfiable");
		bool hard = when == NULL || strcmp(when, "ScheduleAnyway") != 0;
		struct constraint *k = hard ? &sp->hard[sp->n_hard++] : &sp->soft[sp->n_soft++];
		const char *ap = str(t, "nodeAffinityPolicy"), *tp = str(t, "nodeTaintsPolicy");
		k->max_skew = json_integer_value(json_object_get(t, "maxSkew"));
		k->key = str(t, "topologyKey") ? str(t, "topologyKey") : "";
		k->min_domains = json_integer_value(json_object_get(t, "minDomains"));
		if (k->min_domains <= 0)
			k->min_domains = 1;
		k->honor_affinity = ap == NULL || strcmp(ap, "Ignore") != 0;
		k->honor_taints = tp != NULL && strcmp(tp, "Honor") == 0;
		int rv = constraint_selector(t, sp->p, &k->sel);
		if (rv != MK_OK)
			return rv;
	}
	return MK_OK;
}

/* Services of the pod's namespace that select it. */
static int add_defaults(struct sched_spread *sp)
{
	size_t i;
	json_t *svc;

	sp->services = json_array();
	if (sp->services == NULL)
		return MK_ENOMEM;
	json_array_foreach((json_t *)sp->c->services, i, svc) {
		const json_t *sel = json_object_get(json_object_get(svc, "spec"), "selector");
		if (strcmp(str(json_object_get(svc, "metadata"), "namespace") ?: "", sp->p->ns) == 0 &&
		    map_selects(sel, sp->p->labels))
			json_array_append(sp->services, (json_t *)sel);
	}
	if (json_array_size(sp->services) == 0 && sp->p->owner_uid == NULL)
		return MK_OK;
	sp->soft = calloc(2, sizeof *sp->soft);
	if (sp->soft == NULL)
		return MK_ENOMEM;
	sp->soft[0] = (struct constraint){.max_skew = 3, .key = HOSTNAME_KEY, .min_domains = 1,
					  .honor_affinity = true};
	sp->soft[1] = (struct constraint){.max_skew = 5, .key = ZONE_KEY, .min_domains = 1,
					  .honor_affinity = true};
	sp->n_soft = 2;
	sp->defaults = true;
	return MK_OK;
}

static bool has_keys(const struct sched_node *n, const struct constraint *v, size_t count)
{
	for (size_t i = 0; i < count; i++)
		if (json_object_get(n->labels, v[i].key) == NULL)
			return false;
	return true;
}

/* Node inclusion policies: may n's domain count for constraint k? */
static bool node_included(const struct sched_spread *sp, const struct constraint *k,
			  const struct sched_node *n)
{
	const json_t *spec = json_object_get(sp->p->obj, "spec");

	if (k->honor_affinity && !sched_node_fits_selector(spec, n->obj))
		return false;
	if (k->honor_taints) {
		struct sched_status st;
		if (sched_filter_taints(sp->p, n, &st) != SCHED_FIT)
			return false;
	}
	return true;
}

static void prepare_filter(struct sched_spread *sp)
{
	const struct sched_cluster *c = sp->c;

	for (size_t i = 0; i < sp->n_hard; i++) {
		struct constraint *k = &sp->hard[i];
		k->counts = json_object();
		k->self = label_selector_matches(k->sel, sp->p->labels);
		for (size_t j = 0; j < c->n_nodes; j++) {
			const struct sched_node *n = c->nodes[j];
			if (!has_keys(n, sp->hard, sp->n_hard) || !node_included(sp, k, n))
				continue;
			const char *v = str(n->labels, k->key);
			json_t *cur = json_object_get(k->counts, v);
			json_int_t add = count_on(sp, k, n);
			if (cur != NULL)
				json_integer_set(cur, json_integer_value(cur) + add);
			else
				json_object_set_new(k->counts, v, json_integer(add));
		}
		const char *v;
		json_t *cnt;
		k->min_count = INT64_MAX;
		json_object_foreach(k->counts, v, cnt)
			if (json_integer_value(cnt) < k->min_count)
				k->min_count = json_integer_value(cnt);
		if ((int64_t)json_object_size(k->counts) < k->min_domains)
			k->min_count = 0;
	}
}

int sched_spread_prepare(const struct sched_cluster *c, const struct sched_pod *p,
			 struct sched_spread **out)
{
	struct sched_spread *sp = calloc(1, sizeof *sp);
	const json_t *list = json_object_get(json_object_get(p->obj, "spec"),
					     "topologySpreadConstraints");
	int rv;

	if (sp == NULL)
		return MK_ENOMEM;
	sp->c = c;
	sp->p = p;
	rv = json_array_size(list) > 0 ? add_constraints(sp, list) : add_defaults(sp);
	if (rv != MK_OK) {
		sched_spread_free(sp);
		return rv;
	}
	prepare_filter(sp);
	*out = sp;
	return MK_OK;
}

static void constraints_free(struct constraint *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		label_selector_free(v[i].sel);
		json_decref(v[i].counts);
	}
	free(v);
}

void sched_spread_free(struct sched_spread *sp)
{
	if (sp == NULL)
		return;
	constraints_free(sp->hard, sp->n_hard);
	constraints_free(sp->soft, sp->n_soft);
	json_decref(sp->services);
	free(sp);
}

enum sched_code sched_filter_spread(const struct sched_spread *sp, const struct sched_node *n,
				    struct sched_status *st)
{
	st->code = SCHED_FIT;
	st->n = 0;
	for (size_t i = 0; i < sp->n_hard; i++) {
		const struct constraint *k = &sp->hard[i];
		const char *v = str(n->labels, k->key);
		if (v == NULL) {
			st->code = SCHED_UNRESOLVABLE;
			st->n = 1;
			snprintf(st->reason[0], SCHED_REASON_LEN, "node(s) didn't match pod topology "
				 "spread constraints (missing required label)");
			return st->code;
		}
		int64_t skew = json_integer_value(json_object_get(k->counts, v)) + k->self -
			       k->min_count;
		if (skew > k->max_skew) {
			st->code = SCHED_UNSCHEDULABLE;
			st->n = 1;
			snprintf(st->reason[0], SCHED_REASON_LEN,
				 "node(s) didn't match pod topology spread constraints");
			return st->code;
		}
	}
	return st->code;
}

/* Fewer matching pods in the node's domains is better: the raw score
 * counts them (weighted by the log of the number of domains), and the
 * normalisation turns the least crowded node into 100. */
void sched_score_spread(const struct sched_spread *sp, struct sched_node **nodes, size_t n,
			int64_t *out)
{
	const struct sched_cluster *c = sp->c;
	bool require_all = !sp->defaults;
	bool *ignored = calloc(n ? n : 1, sizeof *ignored);
	json_t **counts = calloc(sp->n_soft ? sp->n_soft : 1, sizeof *counts);
	size_t n_ignored = 0;

	memset(out, 0, n * sizeof *out);
	if (sp->n_soft == 0 || ignored == NULL || counts == NULL)
		goto out;
	/* The domains of the candidate nodes, then the matching pods in them
	 * on every node. */
	for (size_t k = 0; k < sp->n_soft; k++)
		counts[k] = json_object();
	for (size_t i = 0; i < n; i++) {
		if (require_all && !has_keys(nodes[i], sp->soft, sp->n_soft)) {
			ignored[i] = true;
			n_ignored++;
			continue;
		}
		for (size_t k = 0; k < sp->n_soft; k++) {
			const char *v = str(nodes[i]->labels, sp->soft[k].key);
			if (v != NULL && strcmp(sp->soft[k].key, HOSTNAME_KEY) != 0)
				json_object_set_new(counts[k], v, json_integer(0));
		}
	}
	for (size_t j = 0; j < c->n_nodes; j++) {
		const struct sched_node *nd = c->nodes[j];
		if (require_all && !has_keys(nd, sp->soft, sp->n_soft))
			continue;
		for (size_t k = 0; k < sp->n_soft; k++) {
			json_t *cur = json_object_get(counts[k], str(nd->labels, sp->soft[k].key) ?: "");
			if (cur != NULL && node_included(sp, &sp->soft[k], nd))
				json_integer_set(cur, json_integer_value(cur) +
							      count_on(sp, &sp->soft[k], nd));
		}
	}
	int64_t min = INT64_MAX, max = 0;
	for (size_t i = 0; i < n; i++) {
		if (ignored[i])
			continue;
		double score = 0;
		for (size_t k = 0; k < sp->n_soft; k++) {
			const struct constraint *ck = &sp->soft[k];
			const char *v = str(nodes[i]->labels, ck->key);
			if (v == NULL)
				continue;
			bool host = strcmp(ck->key, HOSTNAME_KEY) == 0;
			size_t size = host ? n - n_ignored : json_object_size(counts[k]);
			int64_t cnt = host ? count_on(sp, ck, nodes[i])
					   : json_integer_value(json_object_get(counts[k], v));
			score += (double)cnt * ln((double)size + 2) + (double)(ck->max_skew - 1);
		}
		out[i] = (int64_t)(score + 0.5); /* math.Round: score >= 0 */
		if (out[i] < min)
			min = out[i];
		if (out[i] > max)
			max = out[i];
	}
	/* NormalizeScore: the least crowded node gets 100. */
	for (size_t i = 0; i < n; i++) {
		if (ignored[i])
			out[i] = 0;
		else if (max == 0)
			out[i] = 100;
		else
			out[i] = 100 * (max + min - out[i]) / max;
	}
out:
	for (size_t k = 0; counts != NULL && k < sp->n_soft; k++)
		json_decref(counts[k]);
	free(counts);
	free(ignored);
}
