/*
 * A Job's pods (job_internal.h): how many should run and which, making
 * them from the template (with the tracking finalizer, and for Indexed
 * Jobs their index), removing the extra ones.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/err.h"
#include "../base/log.h"
#include "../kube/client.h"
#include "../kube/events.h"
#include "job_internal.h"

/* --- removing pods ----------------------------------------------------------------------- */

int job_remove_finalizer(struct job_controller *c, const json_t *pod)
{
	char path[900], ns[300], name[300], err[256];

	kube_escape(ctrl_meta(pod, "namespace") ?: "", ns, sizeof ns);
	kube_escape(ctrl_meta(pod, "name") ?: "", name, sizeof name);
	snprintf(path, sizeof path, "/api/v1/namespaces/%s/pods/%s", ns, name);
	/* Strategic merge: only this finalizer goes, whatever else is there. */
	json_t *patch = json_pack("{s:{s:[s]}}", "metadata", "$deleteFromPrimitiveList/finalizers",
				  JOB_FINALIZER);
	int rv = kube_request(c->ctl->client, "PATCH", path, "application/strategic-merge-patch+json",
			      patch, NULL, NULL, err, sizeof err);
	json_decref(patch);
	if (rv == MK_ENOTFOUND)
		return MK_OK;
	if (rv != MK_OK)
		mk_debug(CTRL_LOG, "pod %s/%s: cannot remove the job-tracking finalizer: %s",
			 ctrl_meta(pod, "namespace"), ctrl_meta(pod, "name"), err);
	return rv;
}

/* Deletes pods[0..n); with strip, their finalizer goes first (pods the
 * Job no longer wants are not failures).  Returns how many went. */
static int64_t delete_pods(struct job_ctx *x, json_t **pods, size_t n, bool strip,
			   bool expected, int64_t *ready_gone, int *err)
{
	char msg[512];
	int64_t gone = 0;

	if (expected)
		expect_set(&x->c->expect, x->key, 0, (int)n);
	for (size_t i = 0; i < n; i++) {
		const char *name = ctrl_meta(pods[i], "name") ?: "";
		int rv = strip && job_has_finalizer(pods[i]) ? job_remove_finalizer(x->c, pods[i])
							       : MK_OK;
		if (rv == MK_OK)
			rv = pod_delete(x->c->ctl->client, ctrl_meta(pods[i], "namespace") ?: "", name,
					msg, sizeof msg);
		if (rv != MK_OK) {
			if (expected)
				expect_observed(&x->c->expect, x->key, false);
			if (*err == MK_OK) {
				*err = rv;
				mk_warn(CTRL_LOG, "job %s: cannot delete pod %s: %s", x->key, name, msg);
			}
			continue;
		}
		gone++;
		*ready_gone += pod_ready(pods[i]);
		kube_event(x->c->loop.events, x->job, "Normal", "SuccessfulDelete", NULL,
			   "Deleted pod: %s", name);
	}
	return gone;
}

int64_t job_delete_active(struct job_ctx *x, int64_t *ready_gone, int *err)
{
	return delete_pods(x, x->active, x->n_active, false, false, ready_gone, err);
}

static int by_index(const void *a, const void *b)
{
	int64_t ia = job_pod_index(*(json_t *const *)a), ib = job_pod_index(*(json_t *const *)b);
	if (ia != ib)
		return ia < ib ? -1 : 1;
	return pod_compare_for_deletion(a, b);
}

/* Active pods to remove, most expendable first, into rm (at least
 * `at_least`; for Indexed Jobs also every duplicate of an index and every
 * pod whose index is not one of the Job's). */
static size_t pods_for_removal(struct job_ctx *x, int64_t at_least, json_t **rm)
{
	size_t n = x->n_active, n_rm = 0, n_left = 0;
	json_t **left = calloc(n + 1, sizeof *left);

	if (left == NULL)
		return 0;
	if (x->indexed) {
		json_t **sorted = calloc(n + 1, sizeof *sorted);
		if (sorted == NULL) {
			free(left);
			return 0;
		}
		memcpy(sorted, x->active, n * sizeof *sorted);
		qsort(sorted, n, sizeof *sorted, by_index);
		for (size_t i = 0; i < n; i++) {
			int64_t ix = job_pod_index(sorted[i]);
			bool dup = i + 1 < n && job_pod_index(sorted[i + 1]) == ix;
			if (ix < 0 || ix >= x->completions || dup)
				rm[n_rm++] = sorted[i]; /* the last of a run is the one kept */
			else
				left[n_left++] = sorted[i];
		}
		free(sorted);
	} else {
		memcpy(left, x->active, n * sizeof *left);
		n_left = n;
	}
	if ((int64_t)n_rm < at_least) {
		qsort(left, n_left, sizeof *left, pod_compare_for_deletion);
		for (size_t i = 0; i < n_left && (int64_t)n_rm < at_least; i++)
			rm[n_rm++] = left[i];
	}
	free(left);
	return n_rm;
}

/* --- making pods ----------------------------------------------------------------------------- */

static void add_index_env(json_t *spec, const char *list)
{
	size_t i, k;
	json_t *c, *e;
	json_array_foreach(json_object_get(spec, list), i, c) {
		json_t *env = json_object_get(c, "env");
		bool found = false;
		json_array_foreach(env, k, e)
			found |= ctrl_str(e, "name") && strcmp(ctrl_str(e, "name"), "JOB_COMPLETION_INDEX") == 0;
		if (found)
			continue;
		if (!json_is_array(env)) {
			env = json_array();
			json_object_set_new(c, "env", env);
		}
		json_array_append_new(env, json_pack("{s:s, s:{s:{s:s}}}", "name", "JOB_COMPLETION_INDEX",
						     "valueFrom", "fieldRef", "fieldPath",
						     "metadata.labels['" JOB_INDEX_KEY "']"));
	}
}

static json_t *child_object(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	if (!json_is_object(v)) {
		v = json_object();
		json_object_set_new(obj, key, v);
	}
	return v;
}

/* The pod for completion index ix (-1: NonIndexed). */
static json_t *make_pod(struct job_ctx *x, int64_t ix)
{
	const json_t *tmpl = json_object_get(json_object_get(x->job, "spec"), "template");
	json_t *pod = pod_from_template(x->job, "batch/v1", "Job", tmpl, NULL);
	if (pod == NULL)
		return NULL;
	json_t *meta = json_object_get(pod, "metadata"), *spec = json_object_get(pod, "spec");
	json_t *fins = json_object_get(meta, "finalizers");
	if (!json_is_array(fins)) {
		fins = json_array();
		json_object_set_new(meta, "finalizers", fins);
	}
	if (!job_has_finalizer(pod))
		json_array_append_new(fins, json_string(JOB_FINALIZER));
	if (ix < 0)
		return pod;
	const char *job_name = ctrl_meta(x->job, "name") ?: "";
	char num[24], prefix[96], host[128];
	snprintf(num, sizeof num, "%" PRId64, ix);
	/* <job>-<index>-, the job name cut so that the random suffix fits
	 * (upstream's podGenerateNameWithIndex, 58 characters at most). */
	int room = 58 - (int)strlen(num) - 2;
	snprintf(prefix, sizeof prefix, "%.*s-%s-", room, job_name, num);
	json_object_set_new(meta, "generateName", json_string(prefix));
	json_object_set_new(child_object(meta, "annotations"), JOB_INDEX_KEY, json_string(num));
	json_object_set_new(child_object(meta, "labels"), JOB_INDEX_KEY, json_string(num));
	snprintf(host, sizeof host, "%s-%s", job_name, num);
	json_object_set_new(spec, "hostname", json_string(host));
	add_index_env(spec, "initContainers");
	add_index_env(spec, "containers");
	return pod;
}

/* The lowest indexes neither succeeded nor held by an active pod. */
static size_t pending_indexes(struct job_ctx *x, int64_t want, int64_t *out)
{
	size_t n = 0;
	unsigned char *held = calloc((size_t)(x->completions > 0 ? x->completions : 1), 1);
	if (held == NULL)
		return 0;
	for (size_t i = 0; i < x->n_active; i++) {
		int64_t ix = job_pod_index(x->active[i]);
		if (ix >= 0 && ix < x->completions)
			held[ix] = 1;
	}
	for (int64_t i = 0; i < x->completions && (int64_t)n < want; i++)
		if (!held[i] && !(x->done_idx && x->done_idx[i]))
			out[n++] = i;
	free(held);
	return n;
}

static int64_t create_pods(struct job_ctx *x, int64_t n, int *err)
{
	int64_t *indexes = calloc((size_t)n, sizeof *indexes), made = 0;
	char name[300], msg[512];

	if (indexes == NULL)
		return 0;
	if (x->indexed)
		n = (int64_t)pending_indexes(x, n, indexes);
	expect_set(&x->c->expect, x->key, (int)n, 0);
	for (int64_t i = 0; i < n; i++) {
		json_t *pod = make_pod(x, x->indexed ? indexes[i] : -1);
		int rv = pod ? pod_create(x->c->ctl->client, pod, name, sizeof name, msg, sizeof msg)
			     : MK_ENOMEM;
		json_decref(pod);
		if (rv == MK_OK) {
			made++;
			kube_event(x->c->loop.events, x->job, "Normal", "SuccessfulCreate", NULL,
				   "Created pod: %s", name);
			continue;
		}
		if (rv == MK_ENOMEM)
			snprintf(msg, sizeof msg, "out of memory");
		mk_warn(CTRL_LOG, "job %s: cannot create a pod: %s", x->key, msg);
		kube_event(x->c->loop.events, x->job, "Warning", "FailedCreate", NULL,
			   "Error creating: %s", msg);
		if (*err == MK_OK)
			*err = rv;
		/* None of the rest is tried (upstream's slow start stops at
		 * the first failure too): none will be observed. */
		for (; i < n; i++)
			expect_observed(&x->c->expect, x->key, true);
		break;
	}
	free(indexes);
	return made;
}

int64_t job_manage(struct job_ctx *x, int *err)
{
	int64_t active = (int64_t)x->n_active, ready_gone = 0;
	json_t **rm = calloc(x->n_active + 1, sizeof *rm);

	if (rm == NULL) {
		*err = MK_ENOMEM;
		return active;
	}
	if (x->suspended) {
		size_t n = pods_for_removal(x, active, rm);
		int64_t gone = delete_pods(x, rm, n, true, true, &ready_gone, err);
		x->terminating += gone;
		x->ready -= ready_gone;
		free(rm);
		return active - gone;
	}
	int64_t want;
	if (x->completions < 0)
		want = x->succeeded > 0 ? active : x->parallelism;
	else
		want = x->completions - x->succeeded < x->parallelism ? x->completions - x->succeeded
								       : x->parallelism;
	if (want < 0)
		want = 0;
	size_t n_rm = pods_for_removal(x, active - want, rm);
	if (n_rm > 0) {
		/* Removal first; creation waits for the next sync. */
		if (n_rm > JOB_MAX_BURST)
			n_rm = JOB_MAX_BURST;
		int64_t gone = delete_pods(x, rm, n_rm, true, true, &ready_gone, err);
		x->terminating += gone;
		x->ready -= ready_gone;
		free(rm);
		return active - gone;
	}
	free(rm);
	int64_t diff = want - active;
	if (diff <= 0)
		return active;
	int64_t wait = job_backoff_left(x);
	if (wait > 0) {
		wq_add_after(x->c->loop.queue, x->key, wait < 1000 ? 1000 : wait);
		return active;
	}
	return active + create_pods(x, diff > JOB_MAX_BURST ? JOB_MAX_BURST : diff, err);
}
