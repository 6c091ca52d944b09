/*
 * The filters that look at the node alone: NodeUnschedulable, NodeName,
 * TaintToleration and NodeAffinity, with kube-scheduler's reasons.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sched_internal.h"

static const char *str(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static enum sched_code fail(struct sched_status *st, enum sched_code code, const char *reason)
{
	st->code = code;
	st->n = 1;
	snprintf(st->reason[0], sizeof st->reason[0], "%s", reason);
	return code;
}

static enum sched_code fit(struct sched_status *st)
{
	st->code = SCHED_FIT;
	st->n = 0;
	return SCHED_FIT;
}

/* --- tolerations ------------------------------------------------------------- */

/* core/v1 Toleration.ToleratesTaint. */
bool sched_toleration_matches(const json_t *t, const json_t *taint)
{
	const char *effect = str(t, "effect"), *key = str(t, "key"), *op = str(t, "operator");
	const char *teffect = str(taint, "effect"), *tkey = str(taint, "key");

	if (effect && effect[0] && strcmp(effect, teffect ? teffect : "") != 0)
		return false;
	if (key && key[0] && strcmp(key, tkey ? tkey : "") != 0)
		return false;
	if (op == NULL || op[0] == '\0' || strcmp(op, "Equal") == 0) {
		const char *v = str(t, "value"), *tv = str(taint, "value");
		return strcmp(v ? v : "", tv ? tv : "") == 0;
	}
	return strcmp(op, "Exists") == 0;
}

bool sched_tolerated(const json_t *tolerations, const json_t *taint)
{
	size_t i;
	json_t *t;

	json_array_foreach(tolerations, i, t)
		if (sched_toleration_matches(t, taint))
			return true;
	return false;
}

static const json_t *pod_spec(const struct sched_pod *p)
{
	return json_object_get(p->obj, "spec");
}

enum sched_code sched_filter_unschedulable(const struct sched_pod *p, const struct sched_node *n,
					   struct sched_status *st)
{
	const json_t *spec = json_object_get(n->obj, "spec");

	if (!json_is_true(json_object_get(spec, "unschedulable")))
		return fit(st);
	json_t *taint = json_pack("{s:s, s:s}", "key", "node.kubernetes.io/unschedulable",
				  "effect", "NoSchedule");
	bool ok = sched_tolerated(json_object_get(pod_spec(p), "tolerations"), taint);
	json_decref(taint);
	return ok ? fit(st) : fail(st, SCHED_UNRESOLVABLE, "node(s) were unschedulable");
}

enum sched_code sched_filter_node_name(const struct sched_pod *p, const struct sched_node *n,
				       struct sched_status *st)
{
	const char *want = str(pod_spec(p), "nodeName");

	if (want == NULL || want[0] == '\0' || strcmp(want, n->name) == 0)
		return fit(st);
	return fail(st, SCHED_UNRESOLVABLE, "node(s) didn't match the requested node name");
}

enum sched_code sched_filter_taints(const struct sched_pod *p, const struct sched_node *n,
				    struct sched_status *st)
{
	const json_t *tolerations = json_object_get(pod_spec(p), "tolerations");
	size_t i;
	json_t *taint;

	json_array_foreach(json_object_get(json_object_get(n->obj, "spec"), "taints"), i, taint) {
		const char *effect = str(taint, "effect");
		if (effect == NULL || (strcmp(effect, "NoSchedule") && strcmp(effect, "NoExecute")))
			continue;
		if (sched_tolerated(tolerations, taint))
			continue;
		const char *k = str(taint, "key"), *v = str(taint, "value");
		st->code = SCHED_UNRESOLVABLE;
		st->n = 1;
		snprintf(st->reason[0], sizeof st->reason[0], "node(s) had untolerated taint {%s: %s}",
			 k ? k : "", v ? v : "");
		return st->code;
	}
	return fit(st);
}

/* --- node selectors ------------------------------------------------------------- */

static bool in_values(const json_t *values, const char *v)
{
	size_t i;
	json_t *it;

	json_array_foreach(values, i, it)
		if (json_is_string(it) && strcmp(json_string_value(it), v) == 0)
			return true;
	return false;
}

static bool parse_int64(const char *s, long long *out)
{
	char *end;

	errno = 0;
	*out = strtoll(s, &end, 10);
	return s[0] != '\0' && *end == '\0' && errno == 0;
}

/* One NodeSelectorRequirement against a set of labels (or fields).  An
 * invalid requirement (unknown operator, In without values) matches
 * nothing, as upstream's conversion to a selector fails. */
static bool requirement_matches(const json_t *req, const json_t *labels, bool fields)
{
	const char *key = str(req, "key"), *op = str(req, "operator");
	const json_t *values = json_object_get(req, "values");
	size_t nv = json_array_size(values);

	if (key == NULL || op == NULL)
		return false;
	const char *v = str(labels, key);
	if (fields && strcmp(op, "In") && strcmp(op, "NotIn"))
		return false;
	if (strcmp(op, "In") == 0)
		return nv > 0 && v != NULL && in_values(values, v);
	if (strcmp(op, "NotIn") == 0)
		return nv > 0 && (v == NULL || !in_values(values, v));
	if (strcmp(op, "Exists") == 0)
		return nv == 0 && v != NULL;
	if (strcmp(op, "DoesNotExist") == 0)
		return nv == 0 && v == NULL;
	if (strcmp(op, "Gt") == 0 || strcmp(op, "Lt") == 0) {
		long long have, want;
		const char *w = nv == 1 ? json_string_value(json_array_get(values, 0)) : NULL;
		if (v == NULL || w == NULL || !parse_int64(v, &have) || !parse_int64(w, &want))
			return false;
		return op[0] == 'G' ? have > want : have < want;
	}
	return false;
}

static bool requirements_match(const json_t *reqs, const json_t *labels, bool fields)
{
	size_t i;
	json_t *r;

	json_array_foreach(reqs, i, r)
		if (!requirement_matches(r, labels, fields))
			return false;
	return true;
}

bool sched_node_term_matches(const json_t *term, const json_t *node)
{
	const json_t *exprs = json_object_get(term, "matchExpressions");
	const json_t *fields = json_object_get(term, "matchFields");
	const json_t *meta = json_object_get(node, "metadata");

	if (json_array_size(exprs) == 0 && json_array_size(fields) == 0)
		return false;
	if (!requirements_match(exprs, json_object_get(meta, "labels"), false))
		return false;
	if (json_array_size(fields) == 0)
		return true;
	/* The only field a node selector may name. */
	json_t *f = json_pack("{s:s}", "metadata.name", str(meta, "name") ? str(meta, "name") : "");
	bool ok = requirements_match(fields, f, true);
	json_decref(f);
	return ok;
}

bool sched_node_fits_selector(const json_t *spec, const json_t *node)
{
	const json_t *labels = json_object_get(json_object_get(node, "metadata"), "labels");
	const char *k;
	json_t *v;

	json_object_foreach((json_t *)json_object_get(spec, "nodeSelector"), k, v) {
		const char *have = str(labels, k);
		if (have == NULL || !json_is_string(v) || strcmp(have, json_string_value(v)) != 0)
			return false;
	}
	const json_t *req = json_object_get(
		json_object_get(json_object_get(spec, "affinity"), "nodeAffinity"),
		"requiredDuringSchedulingIgnoredDuringExecution");
	if (req == NULL || json_is_null(req))
		return true;
	size_t i;
	json_t *term;
	json_array_foreach(json_object_get(req, "nodeSelectorTerms"), i, term)
		if (sched_node_term_matches(term, node))
			return true;
	return false;
}

enum sched_code sched_filter_node_affinity(const struct sched_pod *p, const struct sched_node *n,
					   struct sched_status *st)
{
	if (sched_node_fits_selector(pod_spec(p), n->obj))
		return fit(st);
	return fail(st, SCHED_UNRESOLVABLE, "node(s) didn't match Pod's node affinity/selector");
}
