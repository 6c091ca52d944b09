/*
 * The Pod table: kubernetes pkg/printers/internalversion printPod (v1.32),
 * the one printer with real logic.  READY counts ready containers (and
 * started sidecars), STATUS is the phase unless a container or the
 * scheduler has a better word for it, RESTARTS says when the last one was.
 */
#include <stdio.h>
#include <string.h>

#include "../base/buf.h"
#include "table.h"
#include "table_internal.h"

static const struct table_column pod_columns[] = {
	{"Name", NULL, "name", 0},
	{"Ready", NULL, NULL, 0},
	{"Status", NULL, NULL, 0},
	{"Restarts", NULL, NULL, 0},
	{"Age", NULL, NULL, 0},
	{"IP", NULL, NULL, 1},
	{"Node", NULL, NULL, 1},
	{"Nominated Node", NULL, NULL, 1},
	{"Readiness Gates", NULL, NULL, 1},
	{NULL, NULL, NULL, 0},
};

/* A sidecar: an init container with restartPolicy Always. */
static bool restartable_init(const json_t *pod, const char *name)
{
	size_t i;
	json_t *c;
	json_array_foreach(tc_at(pod, "spec.initContainers"), i, c) {
		const char *n = tc_str(c, "name");
		if (name != NULL && n != NULL && strcmp(n, name) == 0)
			return strcmp(tc_str(c, "restartPolicy") ?: "", "Always") == 0;
	}
	return false;
}

struct pod_counts {
	long long restarts;
	time_t last_restart; /* 0: never */
};

static void count_restart(struct pod_counts *pc, const json_t *status)
{
	time_t t;
	pc->restarts += tc_int(status, "restartCount");
	if (table_time(tc_str(status, "lastState.terminated.finishedAt"), &t) &&
	    t > pc->last_restart)
		pc->last_restart = t;
}

/* A terminated state's word: its reason, else the signal or exit code. */
static void terminated_reason(const json_t *term, const char *prefix, char *out, size_t len)
{
	const char *r = tc_str(term, "reason");
	if (r != NULL && *r)
		snprintf(out, len, "%s%s", prefix, r);
	else if (tc_int(term, "signal") != 0)
		snprintf(out, len, "%sSignal:%lld", prefix, tc_int(term, "signal"));
	else
		snprintf(out, len, "%sExitCode:%lld", prefix, tc_int(term, "exitCode"));
}

static void pod_cells(const json_t *pod, time_t now, json_t *cells)
{
	char reason[256], buf[300];
	const char *phase = tc_str(pod, "status.phase") ?: "";
	const char *status_reason = tc_str(pod, "status.reason") ?: "";
	snprintf(reason, sizeof reason, "%s", *status_reason ? status_reason : phase);
	size_t i;
	json_t *c;
	json_array_foreach(tc_at(pod, "status.conditions"), i, c)
		if (strcmp(tc_str(c, "type") ?: "", "PodScheduled") == 0 &&
		    strcmp(tc_str(c, "reason") ?: "", "SchedulingGated") == 0)
			snprintf(reason, sizeof reason, "SchedulingGated");

	long long total = (long long)json_array_size(tc_at(pod, "spec.containers")), ready = 0;
	json_array_foreach(tc_at(pod, "spec.initContainers"), i, c)
		total += strcmp(tc_str(c, "restartPolicy") ?: "", "Always") == 0;

	struct pod_counts all = {0, 0}, sidecars = {0, 0};
	bool initializing = false;
	const json_t *inits = tc_at(pod, "status.initContainerStatuses");
	json_array_foreach(inits, i, c) {
		bool sidecar = restartable_init(pod, tc_str(c, "name"));
		const json_t *term = tc_at(c, "state.terminated");
		const char *waiting = tc_str(c, "state.waiting.reason");
		count_restart(&all, c);
		if (sidecar)
			count_restart(&sidecars, c);
		if (json_is_object(term) && tc_int(term, "exitCode") == 0)
			continue;
		if (sidecar && tc_true(c, "started")) {
			ready += tc_true(c, "ready");
			continue;
		}
		initializing = true;
		if (json_is_object(term))
			terminated_reason(term, "Init:", reason, sizeof reason);
		else if (waiting != NULL && *waiting && strcmp(waiting, "PodInitializing") != 0)
			snprintf(reason, sizeof reason, "Init:%s", waiting);
		else
			snprintf(reason, sizeof reason, "Init:%zu/%zu", i,
				 json_array_size(tc_at(pod, "spec.initContainers")));
		break;
	}

	if (!initializing || tc_condition(pod, "status.conditions", "Initialized")) {
		/* Only sidecar restarts count once the pod has initialized. */
		all = sidecars;
		bool running = false;
		const json_t *list = tc_at(pod, "status.containerStatuses");
		for (size_t k = json_array_size(list); k-- > 0;) {
			c = json_array_get(list, k);
			const json_t *term = tc_at(c, "state.terminated");
			const char *waiting = tc_str(c, "state.waiting.reason");
			count_restart(&all, c);
			if (waiting != NULL && *waiting) {
				snprintf(reason, sizeof reason, "%s", waiting);
			} else if (json_is_object(term)) {
				terminated_reason(term, "", reason, sizeof reason);
			} else if (tc_true(c, "ready") &&
				   json_is_object(tc_at(c, "state.running"))) {
				running = true;
				ready++;
			}
		}
		/* One container finished, another still runs: not completed. */
		if (strcmp(reason, "Completed") == 0 && running)
			snprintf(reason, sizeof reason, "%s",
				 tc_condition(pod, "status.conditions", "Ready") ? "Running"
										 : "NotReady");
	}

	bool deleting = tc_at(pod, "metadata.deletionTimestamp") != NULL &&
			!json_is_null(tc_at(pod, "metadata.deletionTimestamp"));
	bool terminal = strcmp(phase, "Succeeded") == 0 || strcmp(phase, "Failed") == 0;
	if (deleting && strcmp(status_reason, "NodeLost") == 0)
		snprintf(reason, sizeof reason, "Unknown");
	else if (deleting && !terminal)
		snprintf(reason, sizeof reason, "Terminating");

	tc_name(cells, pod);
	snprintf(buf, sizeof buf, "%lld/%lld", ready, total);
	tc_text(cells, buf);
	tc_text(cells, reason);
	if (all.restarts != 0 && all.last_restart != 0) {
		char ago[32];
		table_duration(ago, sizeof ago, (long long)(now - all.last_restart));
		snprintf(buf, sizeof buf, "%lld (%s ago)", all.restarts, ago);
	} else {
		snprintf(buf, sizeof buf, "%lld", all.restarts);
	}
	tc_text(cells, buf);
	tc_age(cells, pod, now);

	/* Wide: the first pod IP (podIPs; podIP for objects written without it). */
	const char *ip = tc_str(json_array_get(tc_at(pod, "status.podIPs"), 0), "ip");
	tc_text_or(cells, ip && *ip ? ip : tc_str(pod, "status.podIP"), "<none>");
	tc_text_or(cells, tc_str(pod, "spec.nodeName"), "<none>");
	tc_text_or(cells, tc_str(pod, "status.nominatedNodeName"), "<none>");
	const json_t *gates = tc_at(pod, "spec.readinessGates");
	if (json_array_size(gates) == 0) {
		tc_text(cells, "<none>");
		return;
	}
	size_t ok = 0;
	json_t *g;
	json_array_foreach(gates, i, g)
		ok += tc_condition(pod, "status.conditions", tc_str(g, "conditionType") ?: "");
	snprintf(buf, sizeof buf, "%zu/%zu", ok, json_array_size(gates));
	tc_text(cells, buf);
}

/* Finished pods are marked so a client may hide them. */
static void pod_conditions(const json_t *pod, json_t *row)
{
	const char *phase = tc_str(pod, "status.phase") ?: "";
	const char *message = NULL;
	if (strcmp(phase, "Succeeded") == 0)
		message = "The pod has completed successfully.";
	else if (strcmp(phase, "Failed") == 0)
		message = "The pod failed.";
	if (message != NULL)
		json_object_set_new(row, "conditions",
				    json_pack("[{s:s, s:s, s:s, s:s}]", "type", "Completed",
					      "status", "True", "reason", phase, "message",
					      message));
}

const struct table_kind table_pod_kinds[] = {
	{"", "Pod", pod_columns, pod_cells, pod_conditions},
	{NULL, NULL, NULL, NULL, NULL},
};
