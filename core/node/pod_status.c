/*
 * The pod's status as kubelet reports it: phase, conditions, addresses,
 * and a containerStatus per init and regular container.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/err.h"
#include "../base/log.h"
#include "../kube/client.h"
#include "node_internal.h"

static json_t *terminated(const struct ctr_end *e)
{
	json_t *t = json_pack("{s:i, s:s, s:s, s:s, s:s}", "exitCode", e->exit_code, "reason",
			      e->reason, "startedAt", e->started_at, "finishedAt", e->finished_at,
			      "containerID", "");
	char id[200];
	snprintf(id, sizeof id, "mk://%s", e->id);
	json_object_set_new(t, "containerID", json_string(id));
	if (e->signal)
		json_object_set_new(t, "signal", json_integer(e->signal));
	if (e->message[0])
		json_object_set_new(t, "message", json_string(e->message));
	return json_pack("{s:o}", "terminated", t);
}

/* Whether an exited container will be started again (restartPolicy). */
bool ctr_will_restart(struct pod_worker *w, const struct ctr *c)
{
	const char *policy = js(jo(w->cur, "spec"), "restartPolicy");

	if (c->phase != CTR_EXITED)
		return false;
	if (policy == NULL || strcmp(policy, "Always") == 0)
		return !c->init || c->end.exit_code != 0;
	if (strcmp(policy, "OnFailure") == 0)
		return c->end.exit_code != 0;
	return false;
}

static json_t *container_status(struct pod_worker *w, struct ctr *c, bool init_done)
{
	json_t *st = json_object();
	json_t *state;

	json_object_set_new(st, "name", json_string(c->name));
	json_object_set_new(st, "image", json_string(c->image[0] ? c->image :
						     (js(c->spec, "image") ?: "")));
	json_object_set_new(st, "imageID", json_string(c->image_id));
	json_object_set_new(st, "restartCount", json_integer(c->attempt));
	json_object_set_new(st, "ready", json_boolean(c->phase == CTR_RUNNING && c->ready));
	json_object_set_new(st, "started", json_boolean(c->phase == CTR_RUNNING && c->started));
	json_t *last = c->has_last ? terminated(&c->last) : json_object();
	if (c->phase == CTR_RUNNING) {
		state = json_pack("{s:{s:s}}", "running", "startedAt", c->started_at);
	} else if (c->phase == CTR_EXITED && ctr_will_restart(w, c)) {
		char msg[600];
		snprintf(msg, sizeof msg, "back-off %ds restarting failed container=%s pod=%s_%s(%s)",
			 c->backoff_s, c->name, w->name, w->ns, w->uid);
		state = json_pack("{s:{s:s, s:s}}", "waiting", "reason", "CrashLoopBackOff",
				  "message", msg);
		json_decref(last);
		last = terminated(&c->end);
	} else if (c->phase == CTR_EXITED) {
		state = terminated(&c->end);
	} else {
		const char *reason = c->waiting_reason[0] ? c->waiting_reason :
				     (!c->init && !init_done) ? "PodInitializing" : "ContainerCreating";
		state = json_pack("{s:{s:s}}", "waiting", "reason", reason);
		if (c->waiting_message[0])
			json_object_set_new(jo(state, "waiting"), "message",
					    json_string(c->waiting_message));
	}
	json_object_set_new(st, "state", state);
	json_object_set_new(st, "lastState", last);
	if (c->phase != CTR_NONE || c->attempt > 0) {
		char id[200];
		snprintf(id, sizeof id, "mk://%s", c->phase != CTR_NONE ? c->id : c->last.id);
		json_object_set_new(st, "containerID", json_string(id));
	}
	return st;
}

/* A condition, keeping its lastTransitionTime when its status did not
 * change since the last report. */
static json_t *condition(json_t *old_status, const char *type, bool ok, const char *reason)
{
	char now[40];
	size_t i;
	json_t *c;
	const char *status = ok ? "True" : "False";

	node_rfc3339(now, sizeof now);
	json_array_foreach(jo(old_status, "conditions"), i, c) {
		if (js(c, "type") && strcmp(js(c, "type"), type) == 0 && js(c, "status") &&
		    strcmp(js(c, "status"), status) == 0 && js(c, "lastTransitionTime")) {
			snprintf(now, sizeof now, "%s", js(c, "lastTransitionTime"));
			break;
		}
	}
	json_t *out = json_pack("{s:s, s:s, s:n, s:s}", "type", type, "status", status,
				"lastProbeTime", "lastTransitionTime", now);
	if (!ok && reason != NULL)
		json_object_set_new(out, "reason", json_string(reason));
	return out;
}

static const char *phase_of(struct pod_worker *w, bool *init_done)
{
	size_t running = 0, waiting = 0, succeeded = 0, failed = 0, restarting = 0;

	*init_done = true;
	for (size_t i = 0; i < w->n_init; i++) {
		struct ctr *c = &w->ctrs[i];
		if (c->phase == CTR_EXITED && c->end.exit_code == 0)
			continue;
		*init_done = false;
		if (c->phase == CTR_EXITED && !ctr_will_restart(w, c))
			return "Failed";
	}
	if (!*init_done)
		return "Pending";
	for (size_t i = w->n_init; i < w->n_ctrs; i++) {
		struct ctr *c = &w->ctrs[i];
		if (c->phase == CTR_RUNNING)
			running++;
		else if (c->phase == CTR_EXITED && ctr_will_restart(w, c))
			restarting++;
		else if (c->phase == CTR_EXITED && c->end.exit_code == 0)
			succeeded++;
		else if (c->phase == CTR_EXITED)
			failed++;
		else if (c->attempt > 0)
			restarting++;
		else
			waiting++;
	}
	if (waiting > 0)
		return running + restarting > 0 ? "Running" : "Pending";
	if (running + restarting > 0)
		return "Running";
	if (failed > 0)
		return "Failed";
	return "Succeeded";
}

json_t *pod_status_build(struct pod_worker *w)
{
	json_t *old = jo(w->cur, "status");
	bool init_done;
	const char *phase = phase_of(w, &init_done);
	json_t *st = json_object();
	json_t *inits = json_array(), *ctrs = json_array();
	bool all_ready = true;

	for (size_t i = 0; i < w->n_ctrs; i++) {
		struct ctr *c = &w->ctrs[i];
		json_array_append_new(c->init ? inits : ctrs, container_status(w, c, init_done));
		if (!c->init && !(c->phase == CTR_RUNNING && c->ready))
			all_ready = false;
	}
	json_object_set_new(st, "phase", json_string(phase));
	json_t *conds = json_array();
	json_array_append_new(conds, condition(old, "PodReadyToStartContainers", w->sandbox, NULL));
	json_array_append_new(conds, condition(old, "Initialized", init_done,
					       "ContainersNotInitialized"));
	json_array_append_new(conds, condition(old, "Ready", all_ready, "ContainersNotReady"));
	json_array_append_new(conds, condition(old, "ContainersReady", all_ready,
					       "ContainersNotReady"));
	json_array_append_new(conds, condition(old, "PodScheduled", true, NULL));
	json_object_set_new(st, "conditions", conds);
	json_object_set_new(st, "hostIP", json_string(w->agent->cfg.node_ip));
	json_object_set_new(st, "hostIPs", json_pack("[{s:s}]", "ip", w->agent->cfg.node_ip));
	if (w->pod_ip[0]) {
		json_object_set_new(st, "podIP", json_string(w->pod_ip));
		json_object_set_new(st, "podIPs", json_pack("[{s:s}]", "ip", w->pod_ip));
	}
	const char *start = js(old, "startTime");
	char now[40];
	node_rfc3339(now, sizeof now);
	json_object_set_new(st, "startTime", json_string(start ? start : now));
	if (w->n_init > 0)
		json_object_set_new(st, "initContainerStatuses", inits);
	else
		json_decref(inits);
	json_object_set_new(st, "containerStatuses", ctrs);
	if (js(old, "qosClass"))
		json_object_set(st, "qosClass", jo(old, "qosClass"));
	return st;
}

void pod_status_push(struct pod_worker *w)
{
	json_t *st = pod_status_build(w);
	/* Unchanged since the last write: nothing to send.  (condition()
	 * keeps transition times, so an unchanged status compares equal.) */
	char *text = json_dumps(st, JSON_COMPACT | JSON_SORT_KEYS);
	char path[1024], ns[300], name[300], err[512];

	if (text == NULL || (w->pushed_status && strcmp(text, w->pushed_status) == 0)) {
		free(text);
		json_decref(st);
		return;
	}
	kube_escape(w->ns, ns, sizeof ns);
	kube_escape(w->name, name, sizeof name);
	snprintf(path, sizeof path, "/api/v1/namespaces/%s/pods/%s/status", ns, name);
	json_t *patch = json_pack("{s:o}", "status", st);
	/* Fields this agent may have set before and no longer does. */
	if (jo(st, "podIP") == NULL) {
		json_object_set_new(st, "podIP", json_null());
		json_object_set_new(st, "podIPs", json_null());
	}
	int64_t t0 = mk_monotonic_ms();
	if (kube_merge_patch(w->agent->client, path, patch, NULL, err, sizeof err) == MK_OK) {
		mk_debug(NODE_LOG, "pod %s/%s: status %s sent in %lld ms", w->ns, w->name,
			 js(st, "phase"), (long long)(mk_monotonic_ms() - t0));
		free(w->pushed_status);
		w->pushed_status = text;
		text = NULL;
	} else {
		mk_debug(NODE_LOG, "pod %s/%s: status not updated: %s", w->ns, w->name, err);
	}
	free(text);
	json_decref(patch);
}
