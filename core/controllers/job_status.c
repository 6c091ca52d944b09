/*
 * Counting a Job's finished pods and writing its status (job_internal.h
 * tells the protocol): upstream's trackJobStatusAndRemoveFinalizers,
 * flushUncountedAndRemoveFinalizers and enactJobFinished.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/err.h"
#include "../base/log.h"
#include "../kube/client.h"
#include "../kube/events.h"
#include "job_internal.h"

static bool is_phase(const json_t *pod, const char *want)
{
	const char *ph = ctrl_str(json_object_get(pod, "status"), "phase");
	return ph != NULL && strcmp(ph, want) == 0;
}

static json_t *set_as_list(const json_t *set)
{
	const char *uid;
	json_t *v;
	if (json_object_size(set) == 0)
		return json_null();
	json_t *list = json_array();
	json_object_foreach((json_t *)set, uid, v)
		json_array_append_new(list, json_string(uid));
	return list;
}

int job_write_status(struct job_ctx *x)
{
	char path[900], ns[300], name[300], err[512];
	json_t *st = json_deep_copy(x->status), *out = NULL;

	if (st == NULL)
		return MK_ENOMEM;
	/* What upstream omits when zero or empty goes (null removes it in a
	 * merge patch); the rest is written whole. */
	static const char *const omit_zero[] = {"active", "succeeded", "failed"};
	for (size_t i = 0; i < 3; i++)
		if (json_integer_value(json_object_get(st, omit_zero[i])) == 0)
			json_object_set_new(st, omit_zero[i], json_null());
	json_object_set_new(st, "uncountedTerminatedPods",
			    json_pack("{s:o, s:o}", "succeeded", set_as_list(x->unc_succeeded),
				      "failed", set_as_list(x->unc_failed)));
	kube_escape(ctrl_meta(x->job, "namespace") ?: "", ns, sizeof ns);
	kube_escape(ctrl_meta(x->job, "name") ?: "", name, sizeof name);
	snprintf(path, sizeof path, "/apis/batch/v1/namespaces/%s/jobs/%s/status", ns, name);
	/* The resourceVersion makes it a compare-and-swap: counts computed
	 * from a stale cache are refused (409), not added twice. */
	json_t *patch = json_pack("{s:{s:s}, s:o}", "metadata", "resourceVersion", x->rv, "status", st);
	int rv = patch ? kube_merge_patch(x->c->ctl->client, path, patch, &out, err, sizeof err)
		       : MK_ENOMEM;
	json_decref(patch);
	if (rv == MK_OK)
		snprintf(x->rv, sizeof x->rv, "%s", ctrl_meta(out, "resourceVersion") ?: "");
	else if (rv != MK_ECONFLICT && rv != MK_ENOTFOUND)
		mk_warn(CTRL_LOG, "job %s: cannot write its status: %s", x->key, err);
	json_decref(out);
	return rv;
}

/* Uncounted pods whose finalizer is gone (or that are gone) are counted:
 * out of uncountedTerminatedPods, into succeeded/failed.  True when the
 * status changed. */
static bool count_released(struct job_ctx *x, const json_t *with_finalizer)
{
	json_t *sets[2] = {x->unc_succeeded, x->unc_failed};
	const char *fields[2] = {"succeeded", "failed"};
	bool changed = false;

	for (int k = 0; k < 2; k++) {
		const char *uid;
		json_t *v;
		void *tmp;
		int64_t moved = 0;
		json_object_foreach_safe(sets[k], tmp, uid, v) {
			if (json_object_get(with_finalizer, uid))
				continue;
			json_object_del(sets[k], uid);
			moved++;
		}
		if (moved == 0)
			continue;
		changed = true;
		/* Indexed Jobs count successes by index, not here. */
		if (k == 0 && x->indexed)
			continue;
		json_object_set_new(x->status, fields[k],
				    json_integer(json_integer_value(json_object_get(x->status, fields[k])) + moved));
	}
	return changed;
}

/* Removes the finalizers of pods[0..n); each removal is remembered until
 * the pod informer shows it.  Those that went leave with_finalizer. */
static int release(struct job_ctx *x, json_t **pods, size_t n, json_t *with_finalizer)
{
	int err = MK_OK;

	pthread_mutex_lock(&x->c->lock);
	for (size_t i = 0; i < n; i++)
		json_object_set_new(x->c->rm_pending, ctrl_meta(pods[i], "uid"), json_string(x->key));
	pthread_mutex_unlock(&x->c->lock);
	for (size_t i = 0; i < n; i++) {
		const char *uid = ctrl_meta(pods[i], "uid");
		int rv = job_remove_finalizer(x->c, pods[i]);
		if (rv == MK_OK) {
			json_object_del(with_finalizer, uid);
			continue;
		}
		pthread_mutex_lock(&x->c->lock);
		json_object_del(x->c->rm_pending, uid);
		pthread_mutex_unlock(&x->c->lock);
		if (err == MK_OK)
			err = rv;
	}
	return err;
}

/* The terminal condition, once every pod is counted and none is still
 * terminating (1.31+: no Complete or Failed while pods may still run). */
static bool enact_finished(struct job_ctx *x)
{
	if (x->fin.type == NULL || json_object_size(x->unc_succeeded) + json_object_size(x->unc_failed) > 0 ||
	    x->terminating > 0)
		return false;
	job_ensure_condition(x->status, x->fin.type, "True", x->fin.reason, x->fin.message);
	if (strcmp(x->fin.type, "Complete") == 0) {
		json_t *cond = job_condition(x->status, "Complete");
		json_object_set(x->status, "completionTime", json_object_get(cond, "lastTransitionTime"));
	}
	return true;
}

static void record_finished(struct job_ctx *x)
{
	if (strcmp(x->fin.type, "Complete") == 0) {
		if (x->completions >= 0 &&
		    json_integer_value(json_object_get(x->status, "succeeded")) > x->completions)
			kube_event(x->c->loop.events, x->job, "Warning", "TooManySucceededPods", NULL,
				   "Too many succeeded pods running after completion count reached");
		kube_event(x->c->loop.events, x->job, "Normal", "Completed", NULL, "Job completed");
	} else {
		kube_event(x->c->loop.events, x->job, "Warning", x->fin.reason, NULL, "%s",
			   x->fin.message);
	}
}

int job_track_status(struct job_ctx *x, bool needs_flush)
{
	json_t *with_finalizer = json_object();
	json_t **release_list = calloc(x->n_pods + 1, sizeof *release_list);
	size_t n_release = 0;
	bool reached_max = false, failing = x->fin.type != NULL &&
					   (strcmp(x->fin.type, "FailureTarget") == 0 ||
					    strcmp(x->fin.type, "Failed") == 0);
	int rv = MK_OK;

	if (with_finalizer == NULL || release_list == NULL) {
		rv = MK_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < x->n_pods; i++) {
		const char *uid = ctrl_meta(x->pods[i], "uid");
		if (uid && job_has_finalizer(x->pods[i]) && !json_object_get(x->expected_rm, uid))
			json_object_set_new(with_finalizer, uid, json_true());
	}
	needs_flush |= count_released(x, with_finalizer);
	size_t new_indexes = 0;
	for (size_t i = 0; i < x->n_pods; i++) {
		json_t *pod = x->pods[i];
		const char *uid = ctrl_meta(pod, "uid");
		if (uid == NULL || !json_object_get(with_finalizer, uid))
			continue;
		bool failed = job_pod_failed(pod), ok = is_phase(pod, "Succeeded");
		if (!(x->deleting || x->fin.type != NULL || ok || failed))
			continue; /* still running: it keeps its finalizer */
		release_list[n_release++] = pod;
		int64_t ix = job_pod_index(pod);
		bool valid = !x->indexed || (ix >= 0 && ix < x->completions);
		if (ok && !json_object_get(x->unc_failed, uid)) {
			if (x->indexed) {
				if (valid && x->prev_idx && !x->prev_idx[ix]) {
					new_indexes++;
					needs_flush = true;
				}
			} else if (!json_object_get(x->unc_succeeded, uid)) {
				json_object_set_new(x->unc_succeeded, uid, json_true());
				needs_flush = true;
			}
		} else if ((failed || failing) && valid && !json_object_get(x->unc_failed, uid)) {
			/* When the Job fails, whatever still runs failed too. */
			json_object_set_new(x->unc_failed, uid, json_true());
			needs_flush = true;
		}
		if (new_indexes + json_object_size(x->unc_succeeded) + json_object_size(x->unc_failed) >=
		    JOB_MAX_UNCOUNTED) {
			reached_max = true; /* the rest next time: the status stays small */
			break;
		}
	}
	if (x->indexed) {
		char *s = job_indexes_string(x->done_idx, x->completions);
		const char *old = ctrl_str(x->status, "completedIndexes");
		if (s != NULL && strcmp(s, old ? old : "") != 0) {
			json_object_set_new(x->status, "completedIndexes", json_string(s));
			needs_flush = true;
		}
		free(s);
		json_object_set_new(x->status, "succeeded", json_integer(x->succeeded));
	}
	/* The interim condition goes first: it says why pods are being
	 * released before the Job may be called finished. */
	if (x->fin.type != NULL && strcmp(x->fin.type, "FailureTarget") == 0) {
		needs_flush |= job_ensure_condition(x->status, "FailureTarget", "True", x->fin.reason,
						    x->fin.message);
		x->fin.type = "Failed";
	} else if (x->fin.type != NULL && strcmp(x->fin.type, "SuccessCriteriaMet") == 0) {
		needs_flush |= job_ensure_condition(x->status, "SuccessCriteriaMet", "True",
						    x->fin.reason, x->fin.message);
		x->fin.type = "Complete";
	}
	if (needs_flush) {
		if ((rv = job_write_status(x)) != MK_OK)
			goto out;
		job_backoff_store(x);
		needs_flush = false;
	}
	int rm = n_release ? release(x, release_list, n_release, with_finalizer) : MK_OK;
	needs_flush |= count_released(x, with_finalizer);
	if (rm != MK_OK) {
		if (needs_flush)
			job_write_status(x);
		rv = rm;
		goto out;
	}
	bool finished = !reached_max && enact_finished(x);
	if (needs_flush || finished) {
		if ((rv = job_write_status(x)) != MK_OK)
			goto out;
		if (finished)
			record_finished(x);
	}
	if (reached_max)
		wq_add(x->c->loop.queue, x->key);
out:
	json_decref(with_finalizer);
	free(release_list);
	return rv;
}
