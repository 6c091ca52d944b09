/*
 * One sync of a Job that has not finished (job_internal.h): upstream's
 * syncJob from listing its pods to deciding what to do with them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/err.h"
#include "../base/log.h"
#include "../kube/events.h"
#include "../kube/informer.h"
#include "job_internal.h"

static bool same_text(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") == 0;
}

static const char *phase(const json_t *pod)
{
	const char *p = ctrl_str(json_object_get(pod, "status"), "phase");
	return p ? p : "";
}

/* obj[key] is the integer v (absent is not 0: upstream always sets it). */
static bool int_is(const json_t *obj, const char *key, int64_t v)
{
	const json_t *x = json_object_get(obj, key);
	return json_is_integer(x) && json_integer_value(x) == v;
}

static int64_t spec_int(const json_t *job, const char *key, int64_t dflt)
{
	const json_t *v = json_object_get(json_object_get(job, "spec"), key);
	return json_is_integer(v) ? json_integer_value(v) : dflt;
}

static void ctx_free(struct job_ctx *x)
{
	json_decref(x->job);
	json_decref(x->status);
	json_decref(x->all);
	free(x->pods);
	free(x->active);
	json_decref(x->unc_succeeded);
	json_decref(x->unc_failed);
	json_decref(x->expected_rm);
	free(x->done_idx);
	free(x->prev_idx);
}

static json_t *uid_set(const json_t *list)
{
	json_t *set = json_object();
	size_t i;
	json_t *v;
	json_array_foreach(list, i, v)
		if (json_string_value(v))
			json_object_set_new(set, json_string_value(v), json_true());
	return set;
}

/* Gathers the Job's pods and counts them (the first half of syncJob). */
static int ctx_load(struct job_ctx *x, struct job_controller *c, const char *key, json_t *job)
{
	const char *uid = ctrl_meta(job, "uid"), *ns = ctrl_meta(job, "namespace");
	const json_t *spec = json_object_get(job, "spec");
	size_t i;
	json_t *pod;

	memset(x, 0, sizeof *x);
	x->c = c;
	x->key = key;
	x->job = job;
	json_object_set_new(job, "apiVersion", json_string("batch/v1"));
	json_object_set_new(job, "kind", json_string("Job"));
	x->status = json_deep_copy(json_object_get(job, "status"));
	if (!json_is_object(x->status)) {
		json_decref(x->status);
		x->status = json_object();
	}
	snprintf(x->rv, sizeof x->rv, "%s", ctrl_meta(job, "resourceVersion") ?: "");
	x->indexed = same_text(ctrl_str(spec, "completionMode"), "Indexed");
	x->suspended = json_is_true(json_object_get(spec, "suspend"));
	x->deleting = ctrl_meta(job, "deletionTimestamp") != NULL;
	x->completions = spec_int(job, "completions", -1);
	x->parallelism = spec_int(job, "parallelism", 1);
	json_t *unc = json_object_get(x->status, "uncountedTerminatedPods");
	x->unc_succeeded = uid_set(json_object_get(unc, "succeeded"));
	x->unc_failed = uid_set(json_object_get(unc, "failed"));
	x->expected_rm = json_object();
	pthread_mutex_lock(&c->lock);
	const char *puid;
	json_t *pkey;
	json_object_foreach(c->rm_pending, puid, pkey)
		if (same_text(json_string_value(pkey), key))
			json_object_set_new(x->expected_rm, puid, json_true());
	pthread_mutex_unlock(&c->lock);

	x->all = kube_informer_list(ctrl_informer(c->ctl, INF_PODS));
	size_t n = json_array_size(x->all);
	x->pods = calloc(n + 1, sizeof *x->pods);
	x->active = calloc(n + 1, sizeof *x->active);
	if (x->all == NULL || x->pods == NULL || x->active == NULL || x->unc_succeeded == NULL ||
	    x->unc_failed == NULL || x->expected_rm == NULL)
		return MK_ENOMEM;
	json_array_foreach(x->all, i, pod) {
		if (!same_text(ctrl_meta(pod, "namespace"), ns) || !controlled_by(pod, "Job", uid))
			continue;
		x->pods[x->n_pods++] = pod;
		bool terminal = strcmp(phase(pod), "Succeeded") == 0 || strcmp(phase(pod), "Failed") == 0;
		if (pod_active(pod)) {
			x->active[x->n_active++] = pod;
			x->ready += pod_ready(pod);
		} else if (!terminal) {
			x->terminating++;
		}
	}
	/* Finished pods not counted yet, plus those counted as uncounted. */
	int64_t new_ok = 0, new_failed = 0;
	for (i = 0; i < x->n_pods; i++) {
		pod = x->pods[i];
		const char *pu = ctrl_meta(pod, "uid");
		if (pu == NULL || !job_has_finalizer(pod) || json_object_get(x->expected_rm, pu))
			continue;
		int64_t ix = job_pod_index(pod);
		if (x->indexed && (ix < 0 || ix >= x->completions))
			continue;
		if (strcmp(phase(pod), "Succeeded") == 0 && !json_object_get(x->unc_succeeded, pu))
			new_ok++;
		else if (job_pod_failed(pod) && !json_object_get(x->unc_failed, pu))
			new_failed++;
	}
	x->succeeded = json_integer_value(json_object_get(x->status, "succeeded")) + new_ok +
		       (int64_t)json_object_size(x->unc_succeeded);
	x->failed = json_integer_value(json_object_get(x->status, "failed")) + new_failed +
		    (int64_t)json_object_size(x->unc_failed);
	return MK_OK;
}

/* Container restarts of running pods reached backoffLimit (restartPolicy
 * OnFailure: the pods never fail, their containers restart). */
static bool past_backoff_on_failure(const struct job_ctx *x, int64_t limit)
{
	const json_t *tspec = json_object_get(json_object_get(json_object_get(x->job, "spec"),
							      "template"), "spec");
	int64_t restarts = 0;

	if (!same_text(ctrl_str(tspec, "restartPolicy"), "OnFailure"))
		return false;
	for (size_t i = 0; i < x->n_pods; i++) {
		const char *ph = phase(x->pods[i]);
		if (strcmp(ph, "Running") && strcmp(ph, "Pending"))
			continue;
		const char *lists[] = {"initContainerStatuses", "containerStatuses"};
		for (int l = 0; l < 2; l++) {
			size_t k;
			json_t *cs;
			json_array_foreach(json_object_get(json_object_get(x->pods[i], "status"), lists[l]),
					   k, cs)
				restarts += json_integer_value(json_object_get(cs, "restartCount"));
		}
	}
	return limit == 0 ? restarts > 0 : restarts >= limit;
}

static void set_finish(struct job_finish *f, const char *type, const char *reason,
		       const char *message)
{
	f->type = type;
	snprintf(f->reason, sizeof f->reason, "%s", reason ? reason : "");
	snprintf(f->message, sizeof f->message, "%s", message ? message : "");
}

/* Decides whether the Job met its success criteria or failed, from what
 * the status says already and what the pods tell. */
static void decide(struct job_ctx *x)
{
	json_t *scm = job_condition(x->status, "SuccessCriteriaMet");
	json_t *ft = job_condition(x->status, "FailureTarget");
	int64_t limit = spec_int(x->job, "backoffLimit", 6);
	int64_t ads = spec_int(x->job, "activeDeadlineSeconds", -1);

	if (scm != NULL && same_text(ctrl_str(scm, "status"), "True")) {
		set_finish(&x->fin, "SuccessCriteriaMet", ctrl_str(scm, "reason"), ctrl_str(scm, "message"));
		return;
	}
	if (ft != NULL && same_text(ctrl_str(ft, "status"), "True")) {
		set_finish(&x->fin, "Failed", ctrl_str(ft, "reason"), ctrl_str(ft, "message"));
		return;
	}
	if (x->failed > limit || past_backoff_on_failure(x, limit)) {
		set_finish(&x->fin, "FailureTarget", "BackoffLimitExceeded",
			   "Job has reached the specified backoff limit");
		return;
	}
	int64_t start = ctrl_parse_time(ctrl_str(x->status, "startTime"));
	if (ads < 0 || start == 0 || x->suspended)
		return;
	int64_t left = start + ads * 1000 - ctrl_now_ms();
	if (left <= 0)
		set_finish(&x->fin, "FailureTarget", "DeadlineExceeded",
			   "Job was active longer than specified deadline");
	else
		wq_add_after(x->c->loop.queue, x->key, left + 50);
}

/* Suspended and Resumed, when the Job is neither. */
static bool note_suspension(struct job_ctx *x)
{
	char now[32];
	if (x->suspended) {
		if (!job_ensure_condition(x->status, "Suspended", "True", "JobSuspended", "Job suspended"))
			return false;
		kube_event(x->c->loop.events, x->job, "Normal", "Suspended", NULL, "Job suspended");
		return true;
	}
	if (!job_ensure_condition(x->status, "Suspended", "False", "JobResumed", "Job resumed"))
		return false;
	kube_event(x->c->loop.events, x->job, "Normal", "Resumed", NULL, "Job resumed");
	/* activeDeadlineSeconds counts continuous activity: from now. */
	ctrl_now(now, sizeof now);
	json_object_set_new(x->status, "startTime", json_string(now));
	return true;
}

int job_sync_live(struct job_controller *c, const char *key, json_t *job)
{
	struct job_ctx x;
	int err = MK_OK;

	const char *mode = ctrl_str(json_object_get(job, "spec"), "completionMode");
	if (mode != NULL && strcmp(mode, "NonIndexed") && strcmp(mode, "Indexed")) {
		kube_event(c->loop.events, job, "Warning", "UnknownCompletionMode", NULL,
			   "Skipped Job sync because completion mode is unknown");
		json_decref(job);
		return MK_OK;
	}
	/* Before listing pods: a pod created after the list must not make
	 * the expectations look met (upstream's order). */
	bool satisfied = expect_satisfied(&c->expect, key);
	if (ctx_load(&x, c, key, job) != MK_OK) { /* x owns job from here */
		ctx_free(&x);
		return MK_ENOMEM;
	}
	bool changed = false;
	if (json_object_get(x.status, "startTime") == NULL && !x.suspended) {
		char now[32];
		ctrl_now(now, sizeof now);
		json_object_set_new(x.status, "startTime", json_string(now));
		changed = true;
	}
	job_backoff_update(&x);
	decide(&x);
	if (x.indexed) {
		job_indexes_load(&x);
		/* Upstream re-derives the count from the indexes. */
	}
	int64_t active = (int64_t)x.n_active;
	if (x.fin.type != NULL) {
		int64_t ready_gone = 0;
		int64_t gone = job_delete_active(&x, &ready_gone, &err);
		/* Not finished while pods may still be on their way. */
		if (gone != active || !satisfied)
			x.fin.type = NULL;
		active -= gone;
		x.terminating += gone;
		x.ready -= ready_gone;
	} else {
		bool managed = false;
		if (satisfied && !x.deleting) {
			active = job_manage(&x, &err);
			managed = true;
		}
		bool complete = x.completions < 0 ? x.succeeded > 0 && active == 0
						  : x.succeeded >= x.completions && active == 0;
		if (complete)
			set_finish(&x.fin, "SuccessCriteriaMet", "CompletionsReached",
				   "Reached expected number of succeeded pods");
		else if (managed)
			changed |= note_suspension(&x);
	}
	const json_t *st = json_object_get(job, "status");
	changed |= active != json_integer_value(json_object_get(st, "active")) ||
		   !int_is(st, "ready", x.ready) || !int_is(st, "terminating", x.terminating);
	json_object_set_new(x.status, "active", json_integer(active));
	json_object_set_new(x.status, "ready", json_integer(x.ready));
	json_object_set_new(x.status, "terminating", json_integer(x.terminating));
	int r = job_track_status(&x, changed);
	ctx_free(&x);
	return r != MK_OK ? r : err;
}

