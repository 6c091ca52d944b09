/*
 * Tables of the workload kinds (apps and batch), as kubernetes
 * pkg/printers/internalversion (v1.32) prints them.  Column types are
 * upstream's even where they disagree with the cells (Deployment's
 * "Up-to-date" is declared a string and carries an integer).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/buf.h"
#include "selector.h"
#include "table.h"
#include "table_internal.h"

#define NAME {"Name", NULL, "name", 0}
#define AGE {"Age", NULL, NULL, 0}
#define CONTAINERS {"Containers", NULL, NULL, 1}, {"Images", NULL, NULL, 1}
#define SELECTOR {"Selector", NULL, NULL, 1}
#define END {NULL, NULL, NULL, 0}

/* "ready/desired" of a workload with replicas. */
static void ready_of(json_t *cells, const json_t *obj)
{
	char buf[64];
	snprintf(buf, sizeof buf, "%lld/%lld", tc_int(obj, "status.readyReplicas"),
		 tc_int(obj, "spec.replicas"));
	tc_text(cells, buf);
}

static const struct table_column deployment_columns[] = {
	NAME, {"Ready", NULL, NULL, 0}, {"Up-to-date", NULL, NULL, 0},
	{"Available", NULL, NULL, 0}, AGE, CONTAINERS, SELECTOR, END,
};

static void deployment_cells(const json_t *d, time_t now, json_t *cells)
{
	tc_name(cells, d);
	ready_of(cells, d);
	tc_int_cell(cells, tc_int(d, "status.updatedReplicas"));
	tc_int_cell(cells, tc_int(d, "status.availableReplicas"));
	tc_age(cells, d, now);
	tc_containers(cells, tc_at(d, "spec.template.spec"));
	/* Unlike the other kinds: selector.String(), so no "<none>". */
	char *text = label_selector_string(tc_at(d, "spec.selector"));
	tc_text(cells, text ? text : "<invalid>");
	free(text);
}

static const struct table_column replicaset_columns[] = {
	NAME, {"Desired", "integer", NULL, 0}, {"Current", "integer", NULL, 0},
	{"Ready", "integer", NULL, 0}, AGE, CONTAINERS, SELECTOR, END,
};

static void replicaset_cells(const json_t *r, time_t now, json_t *cells)
{
	tc_name(cells, r);
	tc_int_cell(cells, tc_int(r, "spec.replicas"));
	tc_int_cell(cells, tc_int(r, "status.replicas"));
	tc_int_cell(cells, tc_int(r, "status.readyReplicas"));
	tc_age(cells, r, now);
	tc_containers(cells, tc_at(r, "spec.template.spec"));
	tc_selector(cells, tc_at(r, "spec.selector"));
}

static const struct table_column daemonset_columns[] = {
	NAME, {"Desired", "integer", NULL, 0}, {"Current", "integer", NULL, 0},
	{"Ready", "integer", NULL, 0}, {"Up-to-date", "integer", NULL, 0},
	{"Available", "integer", NULL, 0}, {"Node Selector", NULL, NULL, 0}, AGE, CONTAINERS,
	SELECTOR, END,
};

static void daemonset_cells(const json_t *d, time_t now, json_t *cells)
{
	tc_name(cells, d);
	tc_int_cell(cells, tc_int(d, "status.desiredNumberScheduled"));
	tc_int_cell(cells, tc_int(d, "status.currentNumberScheduled"));
	tc_int_cell(cells, tc_int(d, "status.numberReady"));
	tc_int_cell(cells, tc_int(d, "status.updatedNumberScheduled"));
	tc_int_cell(cells, tc_int(d, "status.numberAvailable"));
	tc_labels(cells, tc_at(d, "spec.template.spec.nodeSelector"));
	tc_age(cells, d, now);
	tc_containers(cells, tc_at(d, "spec.template.spec"));
	tc_selector(cells, tc_at(d, "spec.selector"));
}

static const struct table_column statefulset_columns[] = {
	NAME, {"Ready", NULL, NULL, 0}, AGE, CONTAINERS, END,
};

static void statefulset_cells(const json_t *s, time_t now, json_t *cells)
{
	tc_name(cells, s);
	ready_of(cells, s);
	tc_age(cells, s, now);
	tc_containers(cells, tc_at(s, "spec.template.spec"));
}

static const struct table_column job_columns[] = {
	NAME, {"Status", NULL, NULL, 0}, {"Completions", NULL, NULL, 0},
	{"Duration", NULL, NULL, 0}, AGE, CONTAINERS, SELECTOR, END,
};

static const char *job_status(const json_t *j)
{
	const json_t *deleted = tc_at(j, "metadata.deletionTimestamp");
	if (tc_condition(j, "status.conditions", "Complete"))
		return "Complete";
	if (tc_condition(j, "status.conditions", "Failed"))
		return "Failed";
	if (deleted != NULL && !json_is_null(deleted))
		return "Terminating";
	if (tc_condition(j, "status.conditions", "Suspended"))
		return "Suspended";
	if (tc_condition(j, "status.conditions", "FailureTarget"))
		return "FailureTarget";
	return "Running";
}

static void job_cells(const json_t *j, time_t now, json_t *cells)
{
	char buf[96];
	tc_name(cells, j);
	tc_text(cells, job_status(j));
	long long succeeded = tc_int(j, "status.succeeded");
	const json_t *completions = tc_at(j, "spec.completions");
	long long parallelism = tc_int(j, "spec.parallelism");
	if (completions != NULL && !json_is_null(completions))
		snprintf(buf, sizeof buf, "%lld/%lld", succeeded, tc_int(j, "spec.completions"));
	else if (parallelism > 1)
		snprintf(buf, sizeof buf, "%lld/1 of %lld", succeeded, parallelism);
	else
		snprintf(buf, sizeof buf, "%lld/1", succeeded);
	tc_text(cells, buf);
	/* Running time so far, or from start to completion. */
	time_t start, end;
	buf[0] = '\0';
	if (table_time(tc_str(j, "status.startTime"), &start)) {
		if (!table_time(tc_str(j, "status.completionTime"), &end))
			end = now;
		table_duration(buf, sizeof buf, (long long)(end - start));
	}
	tc_text(cells, buf);
	tc_age(cells, j, now);
	tc_containers(cells, tc_at(j, "spec.template.spec"));
	tc_selector(cells, tc_at(j, "spec.selector"));
}

static const struct table_column cronjob_columns[] = {
	NAME, {"Schedule", NULL, NULL, 0}, {"Timezone", NULL, NULL, 0},
	{"Suspend", "boolean", NULL, 0}, {"Active", "integer", NULL, 0},
	{"Last Schedule", NULL, NULL, 0}, AGE, CONTAINERS, SELECTOR, END,
};

static void cronjob_cells(const json_t *c, time_t now, json_t *cells)
{
	const json_t *suspend = tc_at(c, "spec.suspend");
	const json_t *last = tc_at(c, "status.lastScheduleTime");
	tc_name(cells, c);
	tc_text(cells, tc_str(c, "spec.schedule"));
	tc_text(cells, tc_str(c, "spec.timeZone") ?: "<none>");
	/* printBoolPtr: "True", "False", "<unset>" (a string, whatever the type says). */
	tc_text(cells, json_is_boolean(suspend) ? (json_is_true(suspend) ? "True" : "False")
						: "<unset>");
	tc_int_cell(cells, (long long)json_array_size(tc_at(c, "status.active")));
	if (last == NULL || json_is_null(last))
		tc_text(cells, "<none>");
	else
		tc_since(cells, json_string_value(last), now);
	tc_age(cells, c, now);
	tc_containers(cells, tc_at(c, "spec.jobTemplate.spec.template.spec"));
	tc_selector(cells, tc_at(c, "spec.jobTemplate.spec.selector"));
}

const struct table_kind table_workload_kinds[] = {
	{"apps", "Deployment", deployment_columns, deployment_cells, NULL},
	{"apps", "ReplicaSet", replicaset_columns, replicaset_cells, NULL},
	{"apps", "DaemonSet", daemonset_columns, daemonset_cells, NULL},
	{"apps", "StatefulSet", statefulset_columns, statefulset_cells, NULL},
	{"batch", "Job", job_columns, job_cells, NULL},
	{"batch", "CronJob", cronjob_columns, cronjob_cells, NULL},
	{NULL, NULL, NULL, NULL, NULL},
};
