/*
 * One pod's reconcile pass (kubelet's SyncPod), level-triggered: look at
 * the pod as the API has it now and at what runs, and take the next steps
 * towards what the spec asks: sandbox, volumes, init containers in order,
 * then the containers, restarts with back-off, probes, status.  Deletion:
 * stop everything within the grace period, clean up, then remove the pod
 * from the API.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../base/err.h"
#include "../base/fs.h"
#include "../base/log.h"
#include "../kube/client.h"
#include "node_internal.h"

#define RETRY_MS 5000
#define IDLE_MS 30000
#define BACKOFF_START_S 10
#define BACKOFF_MAX_S 300
/* A container that ran this long without trouble starts its back-off
 * afresh (kubelet: 10 minutes, twice the maximum back-off). */
#define BACKOFF_RESET_MS (600 * 1000)

/* (Re)binds each struct ctr to its spec in the current pod object; the
 * first time, creates them. */
static void bind_specs(struct pod_worker *w)
{
	json_t *spec = jo(w->cur, "spec");
	json_t *inits = jo(spec, "initContainers"), *ctrs = jo(spec, "containers");
	size_t ni = json_array_size(inits), nc = json_array_size(ctrs);

	if (w->ctrs == NULL) {
		w->ctrs = calloc(ni + nc ? ni + nc : 1, sizeof *w->ctrs);
		if (w->ctrs == NULL)
			return;
		w->n_init = ni;
		w->n_ctrs = ni + nc;
		for (size_t i = 0; i < w->n_ctrs; i++) {
			struct ctr *c = &w->ctrs[i];
			json_t *s = i < ni ? json_array_get(inits, i) : json_array_get(ctrs, i - ni);
			c->init = i < ni;
			c->pidfd = -1;
			snprintf(c->name, sizeof c->name, "%s", js(s, "name") ? js(s, "name") : "");
		}
	}
	/* The container list of a pod cannot change; only fields like image
	 * can, and those are read from spec when used. */
	for (size_t i = 0; i < w->n_ctrs; i++)
		w->ctrs[i].spec = i < w->n_init ? json_array_get(inits, i) :
						  json_array_get(ctrs, i - w->n_init);
}

static bool take_pod(struct pod_worker *w)
{
	pthread_mutex_lock(&w->lock);
	json_t *pod = json_incref(w->pod);
	bool gone = w->gone;
	pthread_mutex_unlock(&w->lock);
	json_decref(w->cur);
	w->cur = pod;
	bind_specs(w);
	return gone;
}

void pod_adopt(struct pod_worker *w)
{
	take_pod(w);
	for (size_t i = 0; i < w->n_ctrs; i++) {
		struct ctr *c = &w->ctrs[i];
		if (ctr_load(w, c) == MK_OK) {
			probes_reset(c);
			/* An adopted container passed its probes before; don't
			 * flip the pod to unready while they run again. */
			c->started = true;
			c->ready = c->phase == CTR_RUNNING &&
				   jo(c->spec, "readinessProbe") == NULL;
			if (c->phase == CTR_RUNNING)
				mk_info(NODE_LOG, "pod %s/%s: adopted container %s (%s)", w->ns,
					w->name, c->name, c->id);
		}
	}
}

static void stop_all(struct pod_worker *w, int grace_s, const char *why_fmt)
{
	char why[512];

	for (size_t i = 0; i < w->n_ctrs; i++) {
		struct ctr *c = &w->ctrs[i];
		ctr_refresh(w, c);
		if (c->phase != CTR_RUNNING)
			continue;
		snprintf(why, sizeof why, why_fmt, c->name);
		ctr_stop(w, c, grace_s, why);
	}
}

static void remove_everything(struct pod_worker *w)
{
	char logs[PATH_MAX + 512];

	for (size_t i = 0; i < w->n_ctrs; i++)
		for (int k = w->ctrs[i].attempt; k >= 0 && k >= w->ctrs[i].attempt - 1; k--)
			ctr_remove_attempt(w, w->ctrs[i].name, k);
	volumes_teardown(w);
	sandbox_teardown(w);
	mk_remove_tree(w->dir);
	snprintf(logs, sizeof logs, "%s/%s_%s_%s", w->agent->logs_dir, w->ns, w->name, w->uid);
	mk_remove_tree(logs);
}

/* Graceful deletion: kill, clean up, then let the API drop the pod. */
static int64_t terminate(struct pod_worker *w)
{
	json_t *meta = jo(w->cur, "metadata");
	int grace = (int)ji(meta, "deletionGracePeriodSeconds",
			    ji(jo(w->cur, "spec"), "terminationGracePeriodSeconds", 30));
	char path[1024], ns[300], name[300], err[512];

	stop_all(w, grace, "Stopping container %s");
	volumes_teardown(w);
	sandbox_teardown(w);
	pod_status_push(w);
	kube_escape(w->ns, ns, sizeof ns);
	kube_escape(w->name, name, sizeof name);
	snprintf(path, sizeof path, "/api/v1/namespaces/%s/pods/%s", ns, name);
	json_t *opts = json_pack("{s:s, s:s, s:i, s:{s:s}}", "kind", "DeleteOptions", "apiVersion",
				 "v1", "gracePeriodSeconds", 0, "preconditions", "uid", w->uid);
	int rv = kube_request(w->agent->client, "DELETE", path, NULL, opts, NULL, NULL, err,
			      sizeof err);
	json_decref(opts);
	if (rv != MK_OK && rv != MK_ENOTFOUND && rv != MK_ECONFLICT)
		mk_warn(NODE_LOG, "pod %s/%s: cannot finish its deletion: %s", w->ns, w->name, err);
	return RETRY_MS;
}

/* The container exited: decide when it may start again. */
static void note_exit(struct ctr *c)
{
	int64_t now = mk_monotonic_ms();

	if (c->running_since_ms && now - c->running_since_ms > BACKOFF_RESET_MS)
		c->backoff_s = 0;
	c->backoff_until_ms = now + (int64_t)c->backoff_s * 1000;
	c->running_since_ms = 0;
}

static void next_attempt(struct pod_worker *w, struct ctr *c)
{
	char old_log[PATH_MAX + 600];

	c->has_last = true;
	c->last = c->end;
	if (c->attempt >= 1) {
		ctr_remove_attempt(w, c->name, c->attempt - 1);
		snprintf(old_log, sizeof old_log, "%s/%s_%s_%s/%s/%d.log", w->agent->logs_dir, w->ns,
			 w->name, w->uid, c->name, c->attempt - 1);
		unlink(old_log);
	}
	c->attempt++;
	c->phase = CTR_NONE;
	c->backoff_s = c->backoff_s == 0 ? BACKOFF_START_S :
		       c->backoff_s * 2 > BACKOFF_MAX_S ? BACKOFF_MAX_S : c->backoff_s * 2;
}

/* Starts c unless an image pull is in back-off.  Returns the delay before
 * it is worth looking again. */
static int64_t try_start(struct pod_worker *w, struct ctr *c)
{
	char err[1024], fieldpath[300];
	int64_t now = mk_monotonic_ms();

	if (c->pull_failed && now < c->backoff_until_ms) {
		snprintf(c->waiting_reason, sizeof c->waiting_reason, "ImagePullBackOff");
		snprintf(c->waiting_message, sizeof c->waiting_message,
			 "Back-off pulling image \"%s\"", js(c->spec, "image") ?: "");
		snprintf(fieldpath, sizeof fieldpath, "spec.%s{%s}",
			 c->init ? "initContainers" : "containers", c->name);
		pod_event(w, "Normal", "BackOff", fieldpath, "Back-off pulling image \"%s\"",
			  js(c->spec, "image") ?: "");
		return c->backoff_until_ms - now;
	}
	int rv = ctr_start(w, c, err, sizeof err);
	if (rv != MK_OK && c->phase == CTR_NONE) {
		if (c->pull_failed) {
			c->backoff_s = c->backoff_s == 0 ? BACKOFF_START_S :
				       c->backoff_s * 2 > BACKOFF_MAX_S ? BACKOFF_MAX_S :
				       c->backoff_s * 2;
			c->backoff_until_ms = mk_monotonic_ms() + (int64_t)c->backoff_s * 1000;
			return (int64_t)c->backoff_s * 1000;
		}
		return RETRY_MS;
	}
	if (c->phase == CTR_EXITED)
		note_exit(c);
	return 0;
}

/* One container's step; returns the delay before looking again. */
static int64_t step(struct pod_worker *w, struct ctr *c)
{
	bool was_running = c->phase == CTR_RUNNING;

	ctr_refresh(w, c);
	if (was_running && c->phase == CTR_EXITED)
		note_exit(c);
	switch (c->phase) {
	case CTR_NONE:
		return try_start(w, c);
	case CTR_RUNNING:
		return probes_run(w, c);
	case CTR_EXITED:
		if (!ctr_will_restart(w, c))
			return INT64_MAX;
		if (mk_monotonic_ms() < c->backoff_until_ms) {
			char fieldpath[300];
			snprintf(fieldpath, sizeof fieldpath, "spec.%s{%s}",
				 c->init ? "initContainers" : "containers", c->name);
			pod_event(w, "Warning", "BackOff", fieldpath,
				  "Back-off restarting failed container %s in pod %s_%s(%s)",
				  c->name, w->name, w->ns, w->uid);
			return c->backoff_until_ms - mk_monotonic_ms();
		}
		next_attempt(w, c);
		return try_start(w, c);
	}
	return INT64_MAX;
}

/* Every container ended and none will start again. */
static bool pod_done(struct pod_worker *w)
{
	bool init_failed = false;

	for (size_t i = 0; i < w->n_init; i++) {
		struct ctr *c = &w->ctrs[i];
		if (c->phase == CTR_EXITED && c->end.exit_code != 0 && !ctr_will_restart(w, c))
			init_failed = true;
	}
	if (init_failed)
		return true;
	if (w->n_ctrs == w->n_init)
		return false;
	for (size_t i = w->n_init; i < w->n_ctrs; i++)
		if (!(w->ctrs[i].phase == CTR_EXITED && !ctr_will_restart(w, &w->ctrs[i])))
			return false;
	return true;
}

static int64_t min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

int64_t pod_sync(struct pod_worker *w)
{
	char err[1024];
	int64_t next = IDLE_MS;
	bool gone = take_pod(w);

	if (w->cur == NULL)
		return -1;
	if (gone) {
		stop_all(w, 2, "Stopping container %s");
		remove_everything(w);
		mk_info(NODE_LOG, "pod %s/%s: removed", w->ns, w->name);
		return -1;
	}
	if (jo(jo(w->cur, "metadata"), "deletionTimestamp") != NULL)
		return terminate(w);
	const char *phase = js(jo(w->cur, "status"), "phase");
	bool terminal = phase && (strcmp(phase, "Succeeded") == 0 || strcmp(phase, "Failed") == 0);
	if (terminal || pod_done(w)) {
		/* Everything ended for good (or before this mkd started):
		 * nothing runs again; free the address. */
		for (size_t i = 0; i < w->n_ctrs; i++)
			ctr_refresh(w, &w->ctrs[i]);
		if (w->sandbox) {
			volumes_teardown(w);
			sandbox_teardown(w);
		}
		if (w->n_ctrs > 0 && w->ctrs[0].phase != CTR_NONE)
			pod_status_push(w);
		return IDLE_MS;
	}
	if (sandbox_setup(w, err, sizeof err) != MK_OK) {
		pod_event(w, "Warning", "FailedCreatePodSandBox", NULL,
			  "Failed to create pod sandbox: %s", err);
		pod_status_push(w);
		return RETRY_MS;
	}
	if (!w->volumes_ready) {
		if (volumes_setup(w, err, sizeof err) != MK_OK) {
			pod_event(w, "Warning", "FailedMount", NULL, "%s", err);
			pod_status_push(w);
			return RETRY_MS;
		}
		w->volumes_ready = true;
	} else {
		volumes_refresh(w);
		next = 2000;
	}
	bool init_done = true;
	for (size_t i = 0; i < w->n_init && init_done; i++) {
		struct ctr *c = &w->ctrs[i];
		next = min64(next, step(w, c));
		if (!(c->phase == CTR_EXITED && c->end.exit_code == 0))
			init_done = false;
	}
	if (init_done)
		for (size_t i = w->n_init; i < w->n_ctrs; i++)
			next = min64(next, step(w, &w->ctrs[i]));
	pod_status_push(w);
	if (pod_done(w))
		next = 0;
	return next < 0 ? 0 : next;
}
