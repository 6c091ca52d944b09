/*
 * InterPodAffinity, as kube-scheduler 1.32 does it: one pass over the pods
 * on every node counts, per topology domain (a node label key and value),
 *
 *   - the pods that match all of the incoming pod's required affinity
 *     terms (a node passes when its domain has one, for every term);
 *   - the pods that match one of its required anti-affinity terms (a node
 *     fails when its domain has one);
 *   - the existing pods whose required anti-affinity terms match the
 *     incoming pod (symmetry: a node fails when it is in such a domain);
 *   - for scoring, the weights of preferred terms both ways, and of
 *     existing pods' required affinity terms (hardPodAffinityWeight 1).
 *
 * A pod whose affinity terms no pod matches yet may still go where the
 * topology keys exist if it matches its own terms: the first of a group.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/err.h"
#include "sched_internal.h"

struct sched_interpod {
	const struct sched_cluster *c;
	const struct sched_pod *p;
	json_t *affinity;      /* "key\x1fvalue" -> count */
	json_t *anti;
	json_t *existing_anti;
	json_t *score;         /* "key\x1fvalue" -> weight sum */
	bool self_match;       /* the pod matches all of its own affinity terms */
};

static const char *label(const struct sched_node *n, const char *key)
{
	return json_string_value(json_object_get(n->labels, key));
}

static void bump(json_t *map, const char *key, const char *value, json_int_t by)
{
	char k[600];

	snprintf(k, sizeof k, "%s\x1f%s", key, value);
	json_t *v = json_object_get(map, k);
	if (v != NULL)
		json_integer_set(v, json_integer_value(v) + by);
	else
		json_object_set_new(map, k, json_integer(by));
}

static json_int_t count(const json_t *map, const char *key, const char *value)
{
	char k[600];

	snprintf(k, sizeof k, "%s\x1f%s", key, value);
	return json_integer_value(json_object_get(map, k));
}

/* term (of a pod in owner_ns) selects q: add by to q's node's domain. */
static void term_on(const struct sched_interpod *ip, json_t *map, const struct sched_term *t,
		    const char *owner_ns, const struct sched_pod *q, const struct sched_node *n,
		    json_int_t by)
{
	const char *v = label(n, t->topology_key);

	if (v != NULL && sched_term_matches(t, owner_ns, q, ip->c->ns_labels, ip->c->ns_arg))
		bump(map, t->topology_key, v, by);
}

static bool matches_all(const struct sched_interpod *ip, const struct sched_terms *terms,
			const char *owner_ns, const struct sched_pod *q)
{
	for (size_t i = 0; i < terms->n; i++)
		if (!sched_term_matches(&terms->v[i], owner_ns, q, ip->c->ns_labels, ip->c->ns_arg))
			return false;
	return true;
}

/* Everything existing pod q on node n contributes. */
static void visit(struct sched_interpod *ip, const struct sched_pod *q, const struct sched_node *n)
{
	const struct sched_pod *p = ip->p;
	size_t i;

	if (p->affinity.n && matches_all(ip, &p->affinity, p->ns, q))
		for (i = 0; i < p->affinity.n; i++) {
			const char *v = label(n, p->affinity.v[i].topology_key);
			if (v != NULL)
				bump(ip->affinity, p->affinity.v[i].topology_key, v, 1);
		}
	for (i = 0; i < p->anti_affinity.n; i++)
		term_on(ip, ip->anti, &p->anti_affinity.v[i], p->ns, q, n, 1);
	for (i = 0; i < q->anti_affinity.n; i++)
		term_on(ip, ip->existing_anti, &q->anti_affinity.v[i], q->ns, p, n, 1);
	/* Scores: the incoming pod's preferences about q, q's about it. */
	for (i = 0; i < p->pref_affinity.n; i++)
		term_on(ip, ip->score, &p->pref_affinity.v[i], p->ns, q, n, p->pref_affinity.v[i].weight);
	for (i = 0; i < p->pref_anti_affinity.n; i++)
		term_on(ip, ip->score, &p->pref_anti_affinity.v[i], p->ns, q, n,
			-p->pref_anti_affinity.v[i].weight);
	for (i = 0; i < q->affinity.n; i++)
		term_on(ip, ip->score, &q->affinity.v[i], q->ns, p, n, 1);
	for (i = 0; i < q->pref_affinity.n; i++)
		term_on(ip, ip->score, &q->pref_affinity.v[i], q->ns, p, n, q->pref_affinity.v[i].weight);
	for (i = 0; i < q->pref_anti_affinity.n; i++)
		term_on(ip, ip->score, &q->pref_anti_affinity.v[i], q->ns, p, n,
			-q->pref_anti_affinity.v[i].weight);
}

int sched_interpod_prepare(const struct sched_cluster *c, const struct sched_pod *p,
			   struct sched_interpod **out)
{
	struct sched_interpod *ip = calloc(1, sizeof *ip);

	if (ip == NULL)
		return MK_ENOMEM;
	ip->c = c;
	ip->p = p;
	ip->affinity = json_object();
	ip->anti = json_object();
	ip->existing_anti = json_object();
	ip->score = json_object();
	if (!ip->affinity || !ip->anti || !ip->existing_anti || !ip->score) {
		sched_interpod_free(ip);
		return MK_ENOMEM;
	}
	ip->self_match = matches_all(ip, &p->affinity, p->ns, p);
	/* Nothing to look at: no terms on either side. */
	bool mine = sched_pod_has_terms(p);
	if (mine || c->n_pods_with_terms > 0)
		for (size_t i = 0; i < c->n_nodes; i++) {
			const struct sched_node *n = c->nodes[i];
			if (json_object_size((json_t *)n->labels) == 0)
				continue;
			for (size_t k = 0; k < n->n_pods; k++)
				if (mine || sched_pod_has_terms(n->pods[k]))
					visit(ip, n->pods[k], n);
		}
	*out = ip;
	return MK_OK;
}

void sched_interpod_free(struct sched_interpod *ip)
{
	if (ip == NULL)
		return;
	json_decref(ip->affinity);
	json_decref(ip->anti);
	json_decref(ip->existing_anti);
	json_decref(ip->score);
	free(ip);
}

static bool affinity_ok(const struct sched_interpod *ip, const struct sched_node *n)
{
	const struct sched_terms *t = &ip->p->affinity;
	bool pods_exist = true;

	for (size_t i = 0; i < t->n; i++) {
		const char *v = label(n, t->v[i].topology_key);
		if (v == NULL)
			return false; /* every topology key must exist on the node */
		if (count(ip->affinity, t->v[i].topology_key, v) <= 0)
			pods_exist = false;
	}
	if (pods_exist)
		return true;
	/* The first pod of a group that has affinity to itself. */
	return json_object_size(ip->affinity) == 0 && ip->self_match;
}

static bool anti_ok(const struct sched_interpod *ip, const struct sched_node *n)
{
	const struct sched_terms *t = &ip->p->anti_affinity;

	for (size_t i = 0; i < t->n; i++) {
		const char *v = label(n, t->v[i].topology_key);
		if (v != NULL && count(ip->anti, t->v[i].topology_key, v) > 0)
			return false;
	}
	return true;
}

static bool existing_anti_ok(const struct sched_interpod *ip, const struct sched_node *n)
{
	const char *k;
	json_t *v;

	if (json_object_size(ip->existing_anti) == 0)
		return true;
	json_object_foreach((json_t *)n->labels, k, v)
		if (json_is_string(v) && count(ip->existing_anti, k, json_string_value(v)) > 0)
			return false;
	return true;
}

enum sched_code sched_filter_interpod(const struct sched_interpod *ip, const struct sched_node *n,
				      struct sched_status *st)
{
	const char *reason = NULL;

	st->code = SCHED_FIT;
	st->n = 0;
	if (!affinity_ok(ip, n)) {
		st->code = SCHED_UNRESOLVABLE;
		reason = "node(s) didn't match pod affinity rules";
	} else if (!anti_ok(ip, n)) {
		st->code = SCHED_UNSCHEDULABLE;
		reason = "node(s) didn't match pod anti-affinity rules";
	} else if (!existing_anti_ok(ip, n)) {
		st->code = SCHED_UNSCHEDULABLE;
		reason = "node(s) didn't satisfy existing pods anti-affinity rules";
	}
	if (reason != NULL) {
		st->n = 1;
		snprintf(st->reason[0], sizeof st->reason[0], "%s", reason);
	}
	return st->code;
}

/* Upstream's NormalizeScore for this plugin: min-max to 0-100 (all 0
 * when every node scores the same). */
void sched_score_interpod(const struct sched_interpod *ip, struct sched_node **nodes, size_t n,
			  int64_t *out)
{
	int64_t min = INT64_MAX, max = INT64_MIN;
	const char *k;
	json_t *v;

	for (size_t i = 0; i < n; i++) {
		out[i] = 0;
		if (json_object_size(ip->score) > 0)
			json_object_foreach((json_t *)nodes[i]->labels, k, v)
				if (json_is_string(v))
					out[i] += count(ip->score, k, json_string_value(v));
		if (out[i] < min)
			min = out[i];
		if (out[i] > max)
			max = out[i];
	}
	for (size_t i = 0; i < n; i++)
		out[i] = max > min ? 100 * (out[i] - min) / (max - min) : 0;
}
