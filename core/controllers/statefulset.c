/*
 * The StatefulSet controller, as upstream's (statefulset.h): replicas with
 * stable names and storage, created in ordinal order, each waiting for
 * the one before it to be Running and Ready (OrderedReady), or all at once
 * (Parallel); removed from the highest ordinal down; updated by deleting
 * the pods of an old revision from the highest ordinal down to the
 * partition, one at a time (RollingUpdate), or only when a user deletes
 * them (OnDelete).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../api/selector.h"
#include "../base/err.h"
#include "../base/log.h"
#include "../kube/client.h"
#include "../kube/events.h"
#include "../kube/informer.h"
#include "revisions.h"
#include "statefulset.h"

struct sts_controller {
	struct ctrl_loop loop;
	struct controllers *ctl;
};

/* One StatefulSet being synced. */
struct sts_sync {
	struct sts_controller *c;
	json_t *set;
	const char *name, *update_rev, *current_rev;
	const json_t *current_tmpl, *update_tmpl;
	int64_t replicas, start, partition, min_ready, now;
	bool parallel, rolling;
	json_t **slots;     /* replicas entries: the pod of each ordinal, or NULL */
	json_t **condemned; /* pods beyond the replicas, highest ordinal first */
	size_t n_condemned;
};

static void on_set(void *arg, enum kube_event type, json_t *set)
{
	struct sts_controller *c = arg;
	char key[600];

	(void)type;
	object_key(set, key, sizeof key);
	wq_add(c->loop.queue, key);
}

static void on_pod(void *arg, enum kube_event type, json_t *pod)
{
	struct sts_controller *c = arg;
	char key[600];

	(void)type;
	if (controller_key(pod, "StatefulSet", key, sizeof key))
		wq_add(c->loop.queue, key);
}

static bool terminating(const json_t *pod)
{
	return ctrl_meta(pod, "deletionTimestamp") != NULL;
}

static bool finished(const json_t *pod)
{
	const char *phase = ctrl_str(json_object_get(pod, "status"), "phase");

	return phase && (strcmp(phase, "Succeeded") == 0 || strcmp(phase, "Failed") == 0);
}

static bool healthy(const struct sts_sync *s, const json_t *pod)
{
	const char *phase = ctrl_str(json_object_get(pod, "status"), "phase");

	return !terminating(pod) && phase && strcmp(phase, "Running") == 0 &&
	       pod_available(pod, s->min_ready, s->now);
}

static const char *revision_of(const json_t *pod)
{
	return ctrl_str(json_object_get(json_object_get(pod, "metadata"), "labels"),
			REVISION_HASH_LABEL);
}

static int create_replica(struct sts_sync *s, int64_t ordinal)
{
	struct sts_controller *c = s->c;
	char err[512];
	/* Below the partition (or, without one, among the replicas already
	 * at the current revision) a replica keeps the current revision. */
	bool current = s->rolling && ordinal < s->partition && s->current_tmpl != NULL;
	int rv = sts_claims(c->ctl, c->loop.events, s->set, ordinal);

	if (rv != MK_OK)
		return rv;
	json_t *pod = sts_pod(s->set, current ? s->current_tmpl : s->update_tmpl,
			      current ? s->current_rev : s->update_rev, ordinal);
	const char *pod_name = pod ? ctrl_meta(pod, "name") : "";
	rv = pod ? pod_create(c->ctl->client, pod, NULL, 0, err, sizeof err) : MK_ENOMEM;
	if (rv == MK_OK)
		kube_event(c->loop.events, s->set, "Normal", "SuccessfulCreate", NULL,
			   "create Pod %s in StatefulSet %s successful", pod_name, s->name);
	else if (rv != MK_ECONFLICT) /* the old one still terminating */
		kube_event(c->loop.events, s->set, "Warning", "FailedCreate", NULL,
			   "create Pod %s in StatefulSet %s failed error: %s", pod_name, s->name,
			   err);
	json_decref(pod);
	return rv == MK_ECONFLICT ? MK_OK : rv;
}

static int delete_replica(struct sts_sync *s, const json_t *pod)
{
	char err[512];
	int rv = pod_delete(s->c->ctl->client, ctrl_meta(pod, "namespace") ?: "",
			    ctrl_meta(pod, "name") ?: "", err, sizeof err);

	if (rv == MK_OK)
		kube_event(s->c->loop.events, s->set, "Normal", "SuccessfulDelete", NULL,
			   "delete Pod %s in StatefulSet %s successful", ctrl_meta(pod, "name"),
			   s->name);
	return rv;
}

/* The replicas in ordinal order, then the condemned; false when a step
 * must wait for the cluster (OrderedReady), or failed (*rv). */
static bool converge(struct sts_sync *s, int *rv)
{
	for (int64_t i = 0; i < s->replicas; i++) {
		json_t *pod = s->slots[i];
		if (pod != NULL && finished(pod) && !terminating(pod)) {
			/* A failed replica is replaced under the same name. */
			*rv = delete_replica(s, pod);
			if (*rv != MK_OK || !s->parallel)
				return false;
			continue;
		}
		if (pod == NULL) {
			*rv = create_replica(s, s->start + i);
			if (*rv != MK_OK || !s->parallel)
				return false;
			continue;
		}
		if (!healthy(s, pod) && !s->parallel)
			return false;
	}
	for (size_t i = 0; i < s->n_condemned; i++) {
		json_t *pod = s->condemned[i];
		if (terminating(pod)) {
			if (!s->parallel)
				return false;
			continue;
		}
		*rv = delete_replica(s, pod);
		if (*rv != MK_OK || !s->parallel)
			return false;
	}
	return true;
}

/* RollingUpdate: the highest replica not at the update revision goes,
 * once every replica is healthy. */
static int roll(struct sts_sync *s)
{
	for (int64_t i = s->replicas - 1; i >= 0 && i + s->start >= s->partition; i--) {
		json_t *pod = s->slots[i];
		if (pod == NULL || terminating(pod))
			return MK_OK;
		const char *rev = revision_of(pod);
		if (rev == NULL || strcmp(rev, s->update_rev) != 0)
			return delete_replica(s, pod);
		if (!healthy(s, pod))
			return MK_OK;
	}
	return MK_OK;
}

static int by_ordinal_desc(const void *a, const void *b)
{
	const char *x = ctrl_meta(*(json_t *const *)a, "name") ?: "";
	const char *y = ctrl_meta(*(json_t *const *)b, "name") ?: "";
	size_t lx = strlen(x), ly = strlen(y);

	/* Same prefix: a longer number is larger. */
	return lx != ly ? (lx < ly ? 1 : -1) : -strcmp(x, y);
}

static void update_status(struct sts_sync *s, json_t *pods, size_t n, struct revisions *revs)
{
	int64_t created = 0, ready = 0, available = 0, current = 0, updated = 0;
	json_t *live = json_array();

	for (size_t i = 0; i < n; i++) {
		json_t *pod = json_array_get(pods, i);
		const char *rev = revision_of(pod);
		created++;
		ready += pod_ready(pod);
		available += pod_available(pod, s->min_ready, s->now);
		current += rev && s->current_rev && strcmp(rev, s->current_rev) == 0;
		updated += rev && strcmp(rev, s->update_rev) == 0;
		if (rev != NULL)
			json_array_append_new(live, json_string(rev));
	}
	const char *current_rev = s->current_rev ? s->current_rev : s->update_rev;
	/* A finished rolling update makes the update revision current. */
	if (updated == s->replicas && ready == s->replicas && created == s->replicas) {
		current_rev = s->update_rev;
		current = updated;
	}
	json_array_append_new(live, json_string(current_rev));
	ctrl_patch_status(
		s->c->ctl->client, "/apis/apps/v1", "statefulsets", s->set,
		json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:s, s:s}", "observedGeneration",
			  json_integer_value(json_object_get(json_object_get(s->set, "metadata"),
							     "generation")),
			  "replicas", (json_int_t)created, "readyReplicas", (json_int_t)ready,
			  "availableReplicas", (json_int_t)available, "currentReplicas",
			  (json_int_t)current, "updatedReplicas", (json_int_t)updated,
			  "currentRevision", current_rev, "updateRevision", s->update_rev));
	revisions_trim(s->c->ctl, s->set, revs, live);
	json_decref(live);
}

static int sync_set(void *self, const char *key)
{
	struct sts_controller *c = self;
	struct sts_sync s = {.c = c};
	struct revisions revs = {0};
	struct label_selector *ls = NULL;
	char ns[300], name[300], err[256];
	json_t *pods = NULL;
	int rv = MK_OK;

	if (!split_key(key, ns, sizeof ns, name, sizeof name))
		return MK_OK;
	s.set = kube_informer_get(ctrl_informer(c->ctl, INF_STATEFULSETS), ns, name);
	if (s.set == NULL)
		return MK_OK;
	json_t *spec = json_object_get(s.set, "spec");
	const char *uid = ctrl_meta(s.set, "uid");
	s.name = ctrl_meta(s.set, "name");
	if (ctrl_meta(s.set, "deletionTimestamp") != NULL || uid == NULL ||
	    label_selector_from_json(json_object_get(spec, "selector"), &ls, err, sizeof err) != MK_OK)
		goto out;
	if ((rv = revisions_sync(c->ctl, s.set, "StatefulSet", &revs)) != MK_OK)
		goto out;
	s.update_rev = revs.update_name;
	s.update_tmpl = json_object_get(spec, "template");
	s.current_rev = ctrl_str(json_object_get(s.set, "status"), "currentRevision");
	json_t *cur = revisions_find(&revs, s.current_rev);
	if (cur == NULL)
		s.current_rev = NULL;
	s.current_tmpl = cur ? revision_template(cur) : NULL;
	s.replicas = json_is_integer(json_object_get(spec, "replicas")) ?
			     json_integer_value(json_object_get(spec, "replicas")) : 1;
	s.start = json_integer_value(json_object_get(json_object_get(spec, "ordinals"), "start"));
	json_t *strategy = json_object_get(spec, "updateStrategy");
	s.rolling = !(ctrl_str(strategy, "type") && strcmp(ctrl_str(strategy, "type"), "OnDelete") == 0);
	s.partition = json_integer_value(json_object_get(json_object_get(strategy, "rollingUpdate"),
							 "partition"));
	s.parallel = ctrl_str(spec, "podManagementPolicy") &&
		     strcmp(ctrl_str(spec, "podManagementPolicy"), "Parallel") == 0;
	s.min_ready = json_integer_value(json_object_get(spec, "minReadySeconds"));
	s.now = ctrl_now_ms();

	/* The pods it controls, each in its ordinal's slot or condemned. */
	json_t *all = kube_informer_list(ctrl_informer(c->ctl, INF_PODS)), *pod;
	size_t i, n_all = json_array_size(all);
	pods = json_array();
	s.slots = calloc((size_t)(s.replicas > 0 ? s.replicas : 1), sizeof *s.slots);
	s.condemned = calloc(n_all + 1, sizeof *s.condemned);
	if (pods == NULL || s.slots == NULL || s.condemned == NULL) {
		json_decref(all);
		rv = MK_ENOMEM;
		goto out;
	}
	json_array_foreach(all, i, pod) {
		if (strcmp(ctrl_meta(pod, "namespace") ?: "", ns) != 0 ||
		    !controlled_by(pod, "StatefulSet", uid))
			continue;
		int64_t ord = sts_ordinal(s.name, ctrl_meta(pod, "name"));
		if (ord < 0)
			continue;
		json_array_append(pods, pod);
		if (ord >= s.start && ord < s.start + s.replicas && s.slots[ord - s.start] == NULL)
			s.slots[ord - s.start] = pod;
		else
			s.condemned[s.n_condemned++] = pod;
	}
	json_decref(all); /* pods keeps references to the ones used */
	qsort(s.condemned, s.n_condemned, sizeof *s.condemned, by_ordinal_desc);
	if (converge(&s, &rv) && s.rolling)
		rv = roll(&s);
	update_status(&s, pods, json_array_size(pods), &revs);
	/* minReadySeconds passing raises no event. */
	if (s.min_ready > 0)
		wq_add_after(c->loop.queue, key, s.min_ready * 1000 / 2 + 500);
out:
	free(s.slots);
	free(s.condemned);
	json_decref(pods);
	revisions_free(&revs);
	label_selector_free(ls);
	json_decref(s.set);
	return rv;
}

static struct ctrl_loop *create(struct controllers *ctl, char *errmsg, size_t len)
{
	struct sts_controller *c = calloc(1, sizeof *c);

	if (c == NULL) {
		snprintf(errmsg, len, "out of memory");
		return NULL;
	}
	c->ctl = ctl;
	if (ctrl_loop_init(&c->loop, ctl, "statefulset-controller", sync_set, c, errmsg, len) !=
		    MK_OK ||
	    ctrl_watch(ctl, INF_STATEFULSETS, on_set, c) != MK_OK ||
	    ctrl_watch(ctl, INF_PODS, on_pod, c) != MK_OK) {
		ctrl_loop_free(&c->loop);
		free(c);
		return NULL;
	}
	ctrl_want(ctl, INF_CONTROLLERREVISIONS);
	ctrl_want(ctl, INF_PVCS);
	return &c->loop;
}

static void destroy(struct ctrl_loop *loop)
{
	free(loop->self);
}

const struct controller_def statefulset_controller = {"statefulset", create, destroy};
