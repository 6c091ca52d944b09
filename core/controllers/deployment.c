/*
 * The Deployment controller (deployment.h): a Deployment owns one
 * ReplicaSet per pod template it has had; rolling out is moving replicas
 * from the old ones to the new one within maxSurge and maxUnavailable
 * (RollingUpdate), or all at once once the old pods are gone (Recreate).
 * `kubectl rollout undo` needs nothing here: kubectl puts an old template
 * back and the ReplicaSet that has it becomes the new one again.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../api/selector.h"
#include "../base/err.h"
#include "../base/log.h"
#include "../kube/client.h"
#include "../kube/informer.h"
#include "deployment.h"

static void on_deployment(void *arg, enum kube_event type, json_t *d)
{
	struct deployment_controller *c = arg;
	char key[600];

	(void)type;
	object_key(d, key, sizeof key);
	wq_add(c->loop.queue, key);
}

static void on_replicaset(void *arg, enum kube_event type, json_t *rs)
{
	struct deployment_controller *c = arg;
	char key[600];

	(void)type;
	if (controller_key(rs, "Deployment", key, sizeof key))
		wq_add(c->loop.queue, key);
}

/* An int-or-percent of total: surges round up, unavailability down
 * (upstream's ResolveFenceposts). */
static int64_t resolve(const json_t *v, int64_t total, bool round_up, int64_t dflt)
{
	if (json_is_integer(v))
		return json_integer_value(v);
	const char *s = json_string_value(v);
	if (s == NULL)
		return dflt;
	char *end;
	long pct = strtol(s, &end, 10);
	if (end == s || strcmp(end, "%") != 0)
		return dflt;
	int64_t n = total * pct;
	return round_up ? (n + 99) / 100 : n / 100;
}

static void resolve_fenceposts(struct rollout *r)
{
	json_t *ru = json_object_get(json_object_get(json_object_get(r->d, "spec"), "strategy"),
				     "rollingUpdate");
	const char *type = ctrl_str(json_object_get(json_object_get(r->d, "spec"), "strategy"),
				    "type");

	if (type != NULL && strcmp(type, "Recreate") == 0) {
		r->max_surge = 0;
		r->max_unavailable = r->replicas;
		return;
	}
	r->max_surge = resolve(json_object_get(ru, "maxSurge"), r->replicas, true,
			       (r->replicas * 25 + 99) / 100);
	r->max_unavailable = resolve(json_object_get(ru, "maxUnavailable"), r->replicas, false,
				     r->replicas * 25 / 100);
	/* Both zero would never move: one pod may then be unavailable. */
	if (r->max_surge == 0 && r->max_unavailable == 0)
		r->max_unavailable = 1;
	if (r->max_unavailable > r->replicas)
		r->max_unavailable = r->replicas;
}

static int64_t sum_replicas(const struct rollout *r, bool old_only)
{
	int64_t n = 0;
	size_t i;
	json_t *rs;

	json_array_foreach(r->sets, i, rs)
		if (!old_only || rs != r->new_rs)
			n += rs_replicas(rs);
	return n;
}

static int by_creation(const void *a, const void *b)
{
	const char *x = ctrl_meta(*(json_t *const *)a, "creationTimestamp");
	const char *y = ctrl_meta(*(json_t *const *)b, "creationTimestamp");

	return strcmp(x ? x : "", y ? y : "");
}

/* The old ReplicaSets with replicas, oldest first (caller frees). */
static json_t **old_sets(const struct rollout *r, size_t *n)
{
	json_t **out = calloc(json_array_size(r->sets) + 1, sizeof *out), *rs;
	size_t i;

	*n = 0;
	if (out == NULL)
		return NULL;
	json_array_foreach(r->sets, i, rs)
		if (rs != r->new_rs && rs_replicas(rs) > 0)
			out[(*n)++] = rs;
	qsort(out, *n, sizeof *out, by_creation);
	return out;
}

/* Upstream's reconcileOldReplicaSets: scale old ReplicaSets down as far as
 * the availability budget allows, unhealthy pods first. */
static int scale_down_old(struct rollout *r)
{
	size_t n_old;
	json_t **old = old_sets(r, &n_old);
	int rv = MK_OK;

	if (old == NULL)
		return MK_ENOMEM;
	int64_t all = sum_replicas(r, false);
	int64_t min_available = r->replicas - r->max_unavailable;
	int64_t new_unavailable =
		r->new_rs ? rs_replicas(r->new_rs) - rs_status(r->new_rs, "availableReplicas") : 0;
	int64_t budget = all - min_available - (new_unavailable > 0 ? new_unavailable : 0);
	/* Unhealthy old pods cost no availability: they go first. */
	for (size_t i = 0; budget > 0 && i < n_old && rv == MK_OK; i++) {
		int64_t unhealthy = rs_replicas(old[i]) - rs_status(old[i], "availableReplicas");
		if (unhealthy <= 0)
			continue;
		int64_t cut = unhealthy < budget ? unhealthy : budget;
		rv = rollout_scale(r, old[i], rs_replicas(old[i]) - cut);
		budget -= cut;
	}
	/* Then available ones, as long as enough stay available overall. */
	int64_t available = 0;
	size_t i;
	json_t *rs;
	json_array_foreach(r->sets, i, rs)
		available += rs_status(rs, "availableReplicas");
	int64_t can = available - min_available;
	for (i = 0; can > 0 && i < n_old && rv == MK_OK; i++) {
		int64_t have = rs_replicas(old[i]);
		if (have == 0)
			continue;
		int64_t cut = have < can ? have : can;
		rv = rollout_scale(r, old[i], have - cut);
		can -= cut;
	}
	free(old);
	return rv;
}

/* How many replicas the new ReplicaSet may have now (upstream's
 * NewRSNewReplicas for RollingUpdate). */
static int64_t new_rs_target(const struct rollout *r, int64_t new_now)
{
	if (new_now >= r->replicas)
		return r->replicas;
	int64_t room = r->replicas + r->max_surge - sum_replicas(r, false);
	if (room <= 0)
		return new_now;
	int64_t want = r->replicas - new_now;
	return new_now + (room < want ? room : want);
}

static int rolling_update(struct rollout *r)
{
	/* Sized as the new one would be if it has to be made (one write). */
	int rv = rollout_new_rs(r, true, new_rs_target(r, 0));

	if (rv != MK_OK)
		return rv;
	int64_t target = new_rs_target(r, rs_replicas(r->new_rs));
	if (target != rs_replicas(r->new_rs))
		rv = rollout_scale(r, r->new_rs, target);
	if (rv == MK_OK)
		rv = scale_down_old(r);
	return rv;
}

/* True while a pod of an old ReplicaSet still exists and has not ended. */
static bool old_pods_running(const struct rollout *r)
{
	json_t *pods = kube_informer_list(ctrl_informer(r->c->ctl, INF_PODS)), *pod, *rs;
	size_t i, j;
	bool running = false;

	json_array_foreach(pods, i, pod) {
		const char *phase = ctrl_str(json_object_get(pod, "status"), "phase");
		if (phase && (strcmp(phase, "Succeeded") == 0 || strcmp(phase, "Failed") == 0))
			continue;
		json_array_foreach(r->sets, j, rs)
			if (rs != r->new_rs && controlled_by(pod, "ReplicaSet", ctrl_meta(rs, "uid")))
				running = true;
		if (running)
			break;
	}
	json_decref(pods);
	return running;
}

static int recreate(struct rollout *r, int64_t *requeue_ms)
{
	size_t n_old, i;
	json_t **old;
	int rv = rollout_new_rs(r, false, 0);

	if (rv != MK_OK || (old = old_sets(r, &n_old)) == NULL)
		return rv != MK_OK ? rv : MK_ENOMEM;
	for (i = 0; i < n_old && rv == MK_OK; i++)
		rv = rollout_scale(r, old[i], 0);
	free(old);
	if (rv != MK_OK)
		return rv;
	if (n_old > 0 || old_pods_running(r)) {
		/* Pods ending raise no event here: look again shortly. */
		*requeue_ms = 1000;
		return MK_OK;
	}
	if (r->new_rs == NULL)
		return rollout_new_rs(r, true, r->replicas);
	return rollout_scale(r, r->new_rs, r->replicas);
}

/* Paused, or only the replica count changed: size what exists, roll
 * nothing (upstream's sync for scaling events). */
static int scale_only(struct rollout *r)
{
	int rv = rollout_new_rs(r, false, 0);

	if (rv != MK_OK || r->new_rs == NULL)
		return rv;
	if (sum_replicas(r, true) == 0 && rs_replicas(r->new_rs) != r->replicas)
		return rollout_scale(r, r->new_rs, r->replicas);
	return MK_OK;
}

static int sync_deployment(void *self, const char *key)
{
	struct deployment_controller *c = self;
	char ns[300], name[300], err[256];
	struct label_selector *ls = NULL;
	struct rollout r = {.c = c};
	int64_t requeue_ms = 0;
	int rv = MK_OK;

	if (!split_key(key, ns, sizeof ns, name, sizeof name))
		return MK_OK;
	r.d = kube_informer_get(ctrl_informer(c->ctl, INF_DEPLOYMENTS), ns, name);
	if (r.d == NULL)
		return MK_OK; /* gone: its ReplicaSets go by garbage collection */
	json_t *spec = json_object_get(r.d, "spec");
	r.ns = ctrl_meta(r.d, "namespace");
	r.name = ctrl_meta(r.d, "name");
	r.uid = ctrl_meta(r.d, "uid");
	r.replicas = json_is_integer(json_object_get(spec, "replicas")) ?
			     json_integer_value(json_object_get(spec, "replicas")) : 1;
	/* Deleting, or a selector the API would refuse today: hands off. */
	if (ctrl_meta(r.d, "deletionTimestamp") != NULL || r.uid == NULL ||
	    label_selector_from_json(json_object_get(spec, "selector"), &ls, err, sizeof err) !=
		    MK_OK)
		goto out;
	resolve_fenceposts(&r);
	if ((rv = rollout_collect(&r)) != MK_OK)
		goto out;
	const char *type = ctrl_str(json_object_get(spec, "strategy"), "type");
	if (json_is_true(json_object_get(spec, "paused")))
		rv = scale_only(&r);
	else if (type != NULL && strcmp(type, "Recreate") == 0)
		rv = recreate(&r, &requeue_ms);
	else
		rv = rolling_update(&r);
	if (rv == MK_OK) {
		rollout_sync_annotations(&r);
		if (rollout_complete(&r))
			rollout_cleanup(&r);
	}
	int64_t deadline_ms = rollout_update_status(&r);
	if (deadline_ms > 0 && (requeue_ms == 0 || deadline_ms < requeue_ms))
		requeue_ms = deadline_ms;
	if (requeue_ms > 0 && rv == MK_OK)
		wq_add_after(c->loop.queue, key, requeue_ms);
out:
	label_selector_free(ls);
	json_decref(r.sets);
	json_decref(r.d);
	return rv;
}

static struct ctrl_loop *create(struct controllers *ctl, char *errmsg, size_t len)
{
	struct deployment_controller *c = calloc(1, sizeof *c);

	if (c == NULL) {
		snprintf(errmsg, len, "out of memory");
		return NULL;
	}
	c->ctl = ctl;
	if (ctrl_loop_init(&c->loop, ctl, "deployment-controller", sync_deployment, c, errmsg,
			   len) != MK_OK ||
	    ctrl_watch(ctl, INF_DEPLOYMENTS, on_deployment, c) != MK_OK ||
	    ctrl_watch(ctl, INF_REPLICASETS, on_replicaset, c) != MK_OK) {
		ctrl_loop_free(&c->loop);
		free(c);
		return NULL;
	}
	ctrl_want(ctl, INF_PODS);
	return &c->loop;
}

static void destroy(struct ctrl_loop *loop)
{
	free(loop->self);
}

const struct controller_def deployment_controller = {"deployment", create, destroy};
