/*
 * POST pods/NAME/eviction: a graceful delete that a PodDisruptionBudget
 * may refuse (kubectl drain), as kube-apiserver's EvictionREST does it.
 *
 * The body is a policy/v1 (or v1beta1) Eviction; its deleteOptions
 * (grace period, preconditions, dryRun) go to the delete.  A pod that is
 * finished, Pending or already being deleted goes without looking at
 * budgets.  Otherwise the one PodDisruptionBudget selecting the pod (more
 * than one is a 500, as upstream) must allow a disruption:
 *
 *   expected  the pods the budget selects (not finished)
 *   desired   minAvailable (an int, or a percentage of expected rounded
 *             up), or expected - maxUnavailable (likewise)
 *   healthy   the selected pods that are Ready, not being deleted and not
 *             evicted in the last two minutes (status.disruptedPods)
 *
 * Upstream reads these from the budget's status, which the disruption
 * controller keeps; mk counts them here, at the time of the eviction.  An
 * eviction is allowed when healthy - desired > 0 (a pod that is not Ready
 * also when the budget is met: unhealthyPodEvictionPolicy IfHealthyBudget,
 * or always with AlwaysAllow), and records the pod in the budget's
 * status.disruptedPods with a compare-and-swap write first, so that two
 * evictions racing (kubectl drain evicts in parallel) cannot both spend
 * the last disruption.  Refused: 429 TooManyRequests, "Cannot evict pod as
 * it would violate the pod's disruption budget.", with a DisruptionBudget
 * cause.  Done: a Success Status.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/err.h"
#include "../store/store.h"
#include "api_internal.h"
#include "cri_log.h"
#include "object.h"
#include "selector.h"

#define MAX_RETRIES 8
/* How long an eviction counts against a budget before the pod must be
 * seen gone (upstream's DeletionTimeout). */
#define DISRUPTION_TIMEOUT_S 120

struct budget {
	int64_t expected, healthy, desired;
};

static const char *str(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static bool pod_ready(const json_t *pod)
{
	size_t i;
	json_t *c;

	json_array_foreach(object_at(pod, "status.conditions"), i, c)
		if (strcmp(str(c, "type") ?: "", "Ready") == 0)
			return strcmp(str(c, "status") ?: "", "True") == 0;
	return false;
}

static bool pod_finished(const json_t *pod)
{
	const char *phase = object_str(pod, "status.phase");

	return phase && (strcmp(phase, "Succeeded") == 0 || strcmp(phase, "Failed") == 0);
}

/* An IntOrString against `of`: "N%" is N percent of it, rounded up. */
static int64_t scaled(const json_t *v, int64_t of)
{
	const char *s = json_string_value(v);
	char *end;

	if (json_is_integer(v))
		return json_integer_value(v);
	if (s == NULL)
		return 0;
	long long n = strtoll(s, &end, 10);
	if (end == s)
		return 0;
	return strcmp(end, "%") == 0 ? (n * of + 99) / 100 : n;
}

/* The pod was evicted less than DISRUPTION_TIMEOUT_S ago. */
static bool recently_disrupted(const json_t *pdb, const char *name, int64_t now)
{
	const char *ts = str(object_at(pdb, "status.disruptedPods"), name);
	struct cri_time when;

	return ts != NULL && cri_time_parse(ts, strlen(ts), &when) == MK_OK &&
	       when.sec + DISRUPTION_TIMEOUT_S > now;
}

static void count(const json_t *pdb, const struct label_selector *sel, const struct store_list *pods,
		  int64_t now, struct budget *b)
{
	const json_t *spec = json_object_get(pdb, "spec");

	memset(b, 0, sizeof *b);
	for (size_t i = 0; i < pods->n; i++) {
		json_t *p = object_from_store(pods->items[i].value, pods->items[i].len,
					      pods->items[i].rev);
		if (p == NULL || pod_finished(p) ||
		    !label_selector_matches(sel, object_at(p, "metadata.labels"))) {
			json_decref(p);
			continue;
		}
		b->expected++;
		if (object_at(p, "metadata.deletionTimestamp") == NULL &&
		    !recently_disrupted(pdb, object_name(p) ?: "", now) && pod_ready(p))
			b->healthy++;
		json_decref(p);
	}
	if (json_object_get(spec, "maxUnavailable") != NULL) {
		b->desired = b->expected - scaled(json_object_get(spec, "maxUnavailable"), b->expected);
		if (b->desired < 0)
			b->desired = 0;
	} else if (json_object_get(spec, "minAvailable") != NULL) {
		b->desired = scaled(json_object_get(spec, "minAvailable"), b->expected);
	}
}

static void refuse(struct api_call *c, const char *pdb_name, const struct budget *b)
{
	char cause[512];

	snprintf(cause, sizeof cause, "The disruption budget %s needs %lld healthy pods and has "
		 "%lld currently", pdb_name, (long long)b->desired, (long long)b->healthy);
	json_decref(c->body);
	c->status = 429;
	c->body = api_status(429, "TooManyRequests",
			     "Cannot evict pod as it would violate the pod's disruption budget.");
	json_object_set_new(c->body, "details",
			    json_pack("{s:[{s:s, s:s}]}", "causes", "reason", "DisruptionBudget",
				      "message", cause));
}

/* Records the eviction in the budget's status (compare-and-swap). */
static int spend(struct api_call *c, json_t *pdb, int64_t rev, const char *key, const char *pod,
		 const struct budget *b, int64_t now)
{
	json_t *status = json_object_get(pdb, "status");
	char ts[32];

	if (!json_is_object(status)) {
		status = json_object();
		json_object_set_new(pdb, "status", status);
	}
	json_t *disrupted = json_object_get(status, "disruptedPods");
	if (!json_is_object(disrupted)) {
		disrupted = json_object();
		json_object_set_new(status, "disruptedPods", disrupted);
	}
	/* Entries past the timeout are stale: the pod went, or never will. */
	const char *k;
	json_t *v, *tmp;
	json_object_foreach_safe(disrupted, tmp, k, v)
		if (!recently_disrupted(pdb, k, now))
			json_object_del(disrupted, k);
	object_timestamp(ts, now);
	json_object_set_new(disrupted, pod, json_string(ts));
	json_object_set_new(status, "disruptionsAllowed", json_integer(b->healthy - b->desired - 1));
	json_object_set_new(status, "currentHealthy", json_integer(b->healthy));
	json_object_set_new(status, "desiredHealthy", json_integer(b->desired));
	json_object_set_new(status, "expectedPods", json_integer(b->expected));
	size_t len;
	char *value = object_to_store(pdb, &len);
	int rv = value ? store_update(c->store, key, value, len, 0, rev, NULL) : MK_ENOMEM;
	free(value);
	return rv;
}

/* MK_OK: the pod may go; MK_ECONFLICT: look again; else the answer is set. */
static int check_budgets(struct api_call *c, const json_t *pod, bool dry_run)
{
	const struct api_resource *r = resource_set_find(c->rs, "policy", "v1",
							 "poddisruptionbudgets");
	char prefix[STORE_MAX_KEY + 1], key[STORE_MAX_KEY + 1];
	struct store_list pdbs = {0}, pods = {0};
	struct label_selector *sel = NULL;
	json_t *match = NULL;
	int64_t match_rev = 0;
	int rv;

	if (r == NULL ||
	    store_key(prefix, sizeof prefix, resource_store_group(r), r->plural, c->ns, NULL) != MK_OK)
		return MK_OK;
	rv = store_list(c->store, prefix, NULL, 0, 0, &pdbs);
	if (rv != MK_OK)
		goto store_error;
	for (size_t i = 0; i < pdbs.n; i++) {
		json_t *pdb = object_from_store(pdbs.items[i].value, pdbs.items[i].len,
						pdbs.items[i].rev);
		struct label_selector *s = NULL;
		if (pdb == NULL || label_selector_from_json(object_at(pdb, "spec.selector"), &s,
							    NULL, 0) != MK_OK ||
		    !label_selector_matches(s, object_at(pod, "metadata.labels"))) {
			label_selector_free(s);
			json_decref(pdb);
			continue;
		}
		if (match != NULL) {
			json_decref(pdb);
			label_selector_free(s);
			api_fail(c, 500, "InternalError", "This pod has more than one "
				 "PodDisruptionBudget, which the eviction subresource does not support.");
			rv = MK_EINVAL;
			goto out;
		}
		match = pdb;
		match_rev = pdbs.items[i].rev;
		snprintf(key, sizeof key, "%s", pdbs.items[i].key);
		sel = s;
	}
	if (match == NULL)
		goto out; /* MK_OK */
	if (store_key(prefix, sizeof prefix, "core", "pods", c->ns, NULL) != MK_OK ||
	    (rv = store_list(c->store, prefix, NULL, 0, 0, &pods)) != MK_OK)
		goto store_error;
	int64_t now = object_now();
	struct budget b;
	count(match, sel, &pods, now, &b);
	const char *policy = object_str(match, "spec.unhealthyPodEvictionPolicy");
	if (!pod_ready(pod) && ((policy && strcmp(policy, "AlwaysAllow") == 0) ||
				(b.healthy >= b.desired && b.desired > 0)))
		goto out; /* an unready pod of an application that is not disrupted */
	if (b.healthy - b.desired <= 0) {
		refuse(c, object_name(match) ?: "", &b);
		rv = MK_EINVAL;
		goto out;
	}
	if (!dry_run)
		rv = spend(c, match, match_rev, key, object_name(pod) ?: "", &b, now);
	if (rv != MK_OK && rv != MK_ECONFLICT)
		goto store_error;
	goto out;
store_error:
	api_fail_store(c, rv);
out:
	store_list_free(&pdbs);
	store_list_free(&pods);
	label_selector_free(sel);
	json_decref(match);
	return rv;
}

/* The body is an Eviction of this pod; the answer is set when not. */
static int check_body(struct api_call *c, const json_t *ev)
{
	const char *av = str(ev, "apiVersion"), *kind = str(ev, "kind");
	const char *name = object_str(ev, "metadata.name");
	const json_t *opts = json_object_get(ev, "deleteOptions");

	if (!json_is_object(ev)) {
		api_fail(c, 400, "BadRequest", "the body of an eviction must be an Eviction object");
		return MK_EINVAL;
	}
	if ((av && strcmp(av, "policy/v1") && strcmp(av, "policy/v1beta1")) ||
	    (kind && strcmp(kind, "Eviction"))) {
		api_fail(c, 400, "BadRequest", "expected an Eviction of policy/v1 or policy/v1beta1, "
			 "got %s %s", av ? av : "(no apiVersion)", kind ? kind : "(no kind)");
		return MK_EINVAL;
	}
	if (name != NULL && name[0] && strcmp(name, c->name) != 0) {
		api_fail(c, 400, "BadRequest", "name in URL does not match name in Eviction object");
		return MK_EINVAL;
	}
	if (opts != NULL && !json_is_null(opts) && !json_is_object(opts)) {
		api_fail(c, 400, "BadRequest", "deleteOptions must be a DeleteOptions object");
		return MK_EINVAL;
	}
	return MK_OK;
}

void api_do_evict(struct api_call *c)
{
	json_t *ev = NULL;

	if (api_parse_body(c, false, &ev) != MK_OK)
		return;
	if (check_body(c, ev) != MK_OK)
		goto out;
	const json_t *opts = json_object_get(ev, "deleteOptions");
	if (json_is_null(opts))
		opts = NULL;
	const json_t *dr = json_object_get(opts, "dryRun");
	bool dry_run = (json_is_array(dr) && json_array_size(dr) > 0) ||
		       strcmp(api_query_get(&c->query, "dryRun") ?: "", "All") == 0;
	int rv = MK_ECONFLICT;
	for (int attempt = 0; attempt < MAX_RETRIES && rv == MK_ECONFLICT; attempt++) {
		json_t *pod;
		rv = api_load(c, c->name, &pod, NULL);
		if (rv != MK_OK) {
			api_fail_store(c, rv);
			goto out;
		}
		const char *phase = object_str(pod, "status.phase");
		bool ignore = pod_finished(pod) || (phase && strcmp(phase, "Pending") == 0) ||
			      object_at(pod, "metadata.deletionTimestamp") != NULL;
		rv = ignore ? MK_OK : check_budgets(c, pod, dry_run);
		json_decref(pod);
	}
	if (rv == MK_ECONFLICT)
		api_fail_store(c, rv);
	if (rv != MK_OK || api_delete_named(c, c->name, opts) != MK_OK)
		goto out;
	json_decref(c->body);
	c->status = 201;
	c->body = api_status(201, "", "");
	json_object_del(c->body, "message");
	json_object_del(c->body, "reason");
out:
	json_decref(ev);
}
