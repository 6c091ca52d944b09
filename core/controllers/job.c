/*
 * The Job controller, as kube-controller-manager's job_controller and
 * ttlafterfinished controllers: runs a Job's pods until enough succeed
 * (Complete) or too many fail, the deadline passes (Failed), counts them
 * with the tracking finalizer (job_internal.h), suspends and resumes, and
 * deletes a finished Job once its ttlSecondsAfterFinished has passed.
 *
 * This file: the handlers, finished, deleted and orphaned Jobs and pods,
 * TTL; job_sync.c: one sync of a running Job (upstream's syncJob);
 * job_pods.c makes and removes pods, job_status.c counts and writes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/err.h"
#include "../base/log.h"
#include "../kube/client.h"
#include "../kube/events.h"
#include "../kube/informer.h"
#include "job_internal.h"

/* Pod events come in bursts (every status change of every pod): one sync
 * for those of the next moment, as upstream's batching does. */
#define POD_BATCH_MS 300

/* --- small helpers (job_internal.h) ------------------------------------------------ */

bool job_has_finalizer(const json_t *pod)
{
	size_t i;
	json_t *f;
	json_array_foreach(json_object_get(json_object_get(pod, "metadata"), "finalizers"), i, f)
		if (json_string_value(f) && strcmp(json_string_value(f), JOB_FINALIZER) == 0)
			return true;
	return false;
}

static const char *phase(const json_t *pod)
{
	const char *p = ctrl_str(json_object_get(pod, "status"), "phase");
	return p ? p : "";
}

bool job_pod_failed(const json_t *pod)
{
	if (strcmp(phase(pod), "Failed") == 0)
		return true;
	return ctrl_meta(pod, "deletionTimestamp") != NULL && strcmp(phase(pod), "Succeeded") != 0;
}

json_t *job_condition(const json_t *status, const char *type)
{
	size_t i;
	json_t *cond;
	json_array_foreach(json_object_get(status, "conditions"), i, cond)
		if (ctrl_str(cond, "type") && strcmp(ctrl_str(cond, "type"), type) == 0)
			return cond;
	return NULL;
}

static bool condition_true(const json_t *status, const char *type)
{
	json_t *cond = job_condition(status, type);
	return cond != NULL && ctrl_str(cond, "status") && strcmp(ctrl_str(cond, "status"), "True") == 0;
}

static json_t *new_condition(const char *type, const char *cstatus, const char *reason,
			     const char *message)
{
	char now[32];
	ctrl_now(now, sizeof now);
	json_t *c = json_pack("{s:s, s:s, s:s, s:s}", "type", type, "status", cstatus,
			      "lastProbeTime", now, "lastTransitionTime", now);
	if (c != NULL && reason && reason[0])
		json_object_set_new(c, "reason", json_string(reason));
	if (c != NULL && message && message[0])
		json_object_set_new(c, "message", json_string(message));
	return c;
}

static bool same_text(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") == 0;
}

bool job_ensure_condition(json_t *status, const char *type, const char *cstatus,
			  const char *reason, const char *message)
{
	json_t *conds = json_object_get(status, "conditions");
	size_t i;
	json_t *cond;

	json_array_foreach(conds, i, cond) {
		if (!same_text(ctrl_str(cond, "type"), type))
			continue;
		if (same_text(ctrl_str(cond, "status"), cstatus) &&
		    same_text(ctrl_str(cond, "reason"), reason) &&
		    same_text(ctrl_str(cond, "message"), message))
			return false;
		json_array_set_new(conds, i, new_condition(type, cstatus, reason, message));
		return true;
	}
	if (strcmp(cstatus, "False") == 0)
		return false;
	if (!json_is_array(conds)) {
		conds = json_array();
		json_object_set_new(status, "conditions", conds);
	}
	json_array_append_new(conds, new_condition(type, cstatus, reason, message));
	return true;
}

static bool job_finished(const json_t *job)
{
	const json_t *status = json_object_get(job, "status");
	return condition_true(status, "Complete") || condition_true(status, "Failed");
}

/* --- handlers ------------------------------------------------------------------------ */

static void on_job(void *arg, enum kube_event type, json_t *job)
{
	struct job_controller *c = arg;
	char key[600];

	(void)type;
	object_key(job, key, sizeof key);
	wq_add(c->loop.queue, key);
}

static void on_pod(void *arg, enum kube_event type, json_t *pod)
{
	struct job_controller *c = arg;
	char key[600];
	const char *uid = ctrl_meta(pod, "uid");

	if (!controller_key(pod, "Job", key, sizeof key)) {
		if (type != KUBE_DELETED && controller_ref(pod) == NULL && job_has_finalizer(pod)) {
			snprintf(key, sizeof key, "%s%s/%s", ORPHAN_PREFIX,
				 ctrl_meta(pod, "namespace") ?: "", ctrl_meta(pod, "name") ?: "");
			wq_add(c->loop.queue, key);
		}
		return;
	}
	bool deleting = ctrl_meta(pod, "deletionTimestamp") != NULL;
	/* A pod being deleted no longer counts as active: its deletion is
	 * observed as soon as it is marked (as upstream does). */
	if (type == KUBE_ADDED && !deleting)
		expect_observed(&c->expect, key, true);
	else if (type == KUBE_DELETED || deleting)
		expect_observed(&c->expect, key, false);
	if (uid != NULL && (type == KUBE_DELETED || !job_has_finalizer(pod))) {
		pthread_mutex_lock(&c->lock);
		json_object_del(c->rm_pending, uid);
		pthread_mutex_unlock(&c->lock);
	}
	if (type == KUBE_MODIFIED)
		wq_add_after(c->loop.queue, key, POD_BATCH_MS);
	else
		wq_add(c->loop.queue, key);
}

/* --- finished, deleted and orphaned Jobs ----------------------------------------------- */

/* Removes the tracking finalizer from the pods in ns whose controller is
 * a Job called `name`: with same_uid, those of Job `uid` (it finished:
 * they were counted); without, those of any other uid (NULL: all; that
 * Job is gone and nobody else would ever release them). */
static int release_pods(struct job_controller *c, const char *ns, const char *name,
			const char *uid, bool same_uid)
{
	json_t *all = kube_informer_list(ctrl_informer(c->ctl, INF_PODS));
	size_t i;
	json_t *pod;
	int rv = MK_OK;

	json_array_foreach(all, i, pod) {
		json_t *ref = controller_ref(pod);
		const char *pns = ctrl_meta(pod, "namespace");
		if (ref == NULL || !job_has_finalizer(pod) || pns == NULL || strcmp(pns, ns) != 0 ||
		    !same_text(ctrl_str(ref, "kind"), "Job") || !same_text(ctrl_str(ref, "name"), name))
			continue;
		bool mine = uid != NULL && same_text(ctrl_str(ref, "uid"), uid);
		if (mine != same_uid)
			continue;
		int r = job_remove_finalizer(c, pod);
		if (r != MK_OK)
			rv = r;
	}
	json_decref(all);
	return rv;
}

/* ttlSecondsAfterFinished: delete the Job (and its pods, in the
 * background) that long after it finished; until then, look again then. */
static int expire(struct job_controller *c, const char *key, const json_t *job)
{
	const json_t *ttl = json_object_get(json_object_get(job, "spec"), "ttlSecondsAfterFinished");
	const json_t *status = json_object_get(job, "status");
	char path[900], ns[300], name[300], err[256];

	if (!json_is_integer(ttl) || ctrl_meta(job, "deletionTimestamp") != NULL)
		return MK_OK;
	int64_t at = ctrl_parse_time(ctrl_str(status, "completionTime"));
	json_t *cond = job_condition(status, condition_true(status, "Complete") ? "Complete" : "Failed");
	if (at == 0)
		at = ctrl_parse_time(ctrl_str(cond, "lastTransitionTime"));
	if (at == 0)
		return MK_OK;
	int64_t due = at + json_integer_value(ttl) * 1000, now = ctrl_now_ms();
	if (now < due) {
		wq_add_after(c->loop.queue, key, due - now + 100);
		return MK_OK;
	}
	kube_escape(ctrl_meta(job, "namespace"), ns, sizeof ns);
	kube_escape(ctrl_meta(job, "name"), name, sizeof name);
	snprintf(path, sizeof path, "/apis/batch/v1/namespaces/%s/jobs/%s", ns, name);
	/* The preconditions make sure it is the Job that expired, unchanged
	 * (its TTL may just have been raised). */
	json_t *opts = json_pack("{s:s, s:s, s:s, s:{s:s, s:s}}", "kind", "DeleteOptions",
				 "apiVersion", "v1", "propagationPolicy", "Background",
				 "preconditions", "uid", ctrl_meta(job, "uid"), "resourceVersion",
				 ctrl_meta(job, "resourceVersion") ? ctrl_meta(job, "resourceVersion") : "");
	int rv = kube_request(c->ctl->client, "DELETE", path, NULL, opts, NULL, NULL, err, sizeof err);
	json_decref(opts);
	if (rv == MK_ENOTFOUND)
		return MK_OK;
	if (rv != MK_OK)
		mk_debug(CTRL_LOG, "job %s: cannot delete it after its TTL: %s", key, err);
	else
		mk_info(CTRL_LOG, "job %s deleted %lld s after it finished", key,
			(long long)json_integer_value(ttl));
	return rv;
}

/* A pod with the tracking finalizer and no controller at all (its Job
 * orphaned it): nobody else would ever release it. */
static int sync_orphan(struct job_controller *c, const char *pod_key)
{
	char ns[300], name[300];

	if (!split_key(pod_key, ns, sizeof ns, name, sizeof name))
		return MK_OK;
	json_t *pod = kube_informer_get(ctrl_informer(c->ctl, INF_PODS), ns, name);
	int rv = pod != NULL && controller_ref(pod) == NULL && job_has_finalizer(pod)
			 ? job_remove_finalizer(c, pod)
			 : MK_OK;
	json_decref(pod);
	return rv;
}

static int sync_job(void *self, const char *key)
{
	struct job_controller *c = self;
	char ns[300], name[300];

	if (strncmp(key, ORPHAN_PREFIX, strlen(ORPHAN_PREFIX)) == 0)
		return sync_orphan(c, key + strlen(ORPHAN_PREFIX));
	if (!split_key(key, ns, sizeof ns, name, sizeof name))
		return MK_OK;
	json_t *cached = kube_informer_get(ctrl_informer(c->ctl, INF_JOBS), ns, name);
	if (cached == NULL) {
		job_backoff_forget(c, key);
		return release_pods(c, ns, name, NULL, false);
	}
	json_t *job = json_deep_copy(cached);
	json_decref(cached);
	if (job == NULL)
		return MK_ENOMEM;
	const char *uid = ctrl_meta(job, "uid");
	/* spec.managedBy names another controller: the Job and its pods are
	 * its business (only the TTL still applies, as upstream). */
	const char *manager = ctrl_str(json_object_get(job, "spec"), "managedBy");
	bool ours = manager == NULL || strcmp(manager, "kubernetes.io/job-controller") == 0;
	int rv = ours ? release_pods(c, ns, name, uid, false) : MK_OK; /* a former Job of that name */
	if (job_finished(job)) {
		/* Counted before it finished: what is left holds nothing. */
		job_backoff_forget(c, key);
		int r = ours ? release_pods(c, ns, name, uid, true) : MK_OK;
		int e = expire(c, key, job);
		json_decref(job);
		return rv != MK_OK ? rv : r != MK_OK ? r : e;
	}
	if (!ours) {
		json_decref(job);
		return MK_OK;
	}
	int r = job_sync_live(c, key, job); /* takes job */
	return rv != MK_OK ? rv : r;
}

static struct ctrl_loop *create(struct controllers *ctl, char *errmsg, size_t len)
{
	struct job_controller *c = calloc(1, sizeof *c);

	if (c == NULL) {
		snprintf(errmsg, len, "out of memory");
		return NULL;
	}
	c->ctl = ctl;
	expect_init(&c->expect);
	pthread_mutex_init(&c->lock, NULL);
	c->rm_pending = json_object();
	c->backoff = json_object();
	if (c->rm_pending == NULL || c->backoff == NULL ||
	    ctrl_loop_init(&c->loop, ctl, "job-controller", sync_job, c, errmsg, len) != MK_OK ||
	    ctrl_watch(ctl, INF_JOBS, on_job, c) != MK_OK ||
	    ctrl_watch(ctl, INF_PODS, on_pod, c) != MK_OK) {
		if (errmsg[0] == '\0')
			snprintf(errmsg, len, "cannot start the job controller");
		ctrl_loop_free(&c->loop);
		json_decref(c->rm_pending);
		json_decref(c->backoff);
		pthread_mutex_destroy(&c->lock);
		expect_free(&c->expect);
		free(c);
		return NULL;
	}
	return &c->loop;
}

static void destroy(struct ctrl_loop *loop)
{
	struct job_controller *c = loop->self;

	json_decref(c->rm_pending);
	json_decref(c->backoff);
	pthread_mutex_destroy(&c->lock);
	expect_free(&c->expect);
	free(c);
}

const struct controller_def job_controller = {"job", create, destroy};
