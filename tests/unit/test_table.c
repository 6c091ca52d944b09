/*
 * Server-side Tables: for each kind a realistic object and the exact cells
 * the real API server prints for it (kubernetes printers.go v1.32), the
 * -o wide columns, the Age rule, CRD printer columns, the include modes,
 * and garbage objects that must never crash or lose a cell.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../core/api/table.h"
#include "../../core/base/err.h"

/* Every object is created at T0 and tables are printed 5 minutes later. */
#define T0 "2026-01-01T00:00:00Z"
#define T0_UNIX 1767225600
#define NOW (T0_UNIX + 300)
#define META(name) "\"metadata\":{\"name\":\"" name "\",\"creationTimestamp\":\"" T0 "\"}"

static json_t *J(const char *text)
{
	json_error_t e;
	json_t *j = json_loads(text, JSON_DECODE_ANY, &e);
	if (j == NULL)
		fail_msg("bad JSON in test (%s): %s", e.text, text);
	return j;
}

/* A one-row table for `obj`; checks its shape. */
static json_t *table_for(const char *group, const char *kind, const char *obj,
			 const char *printer_columns, enum table_include inc)
{
	json_t *o = J(obj), *pc = printer_columns ? J(printer_columns) : NULL;
	json_t *t = table_new(group, kind, pc);
	assert_non_null(t);
	assert_string_equal(json_string_value(json_object_get(t, "kind")), "Table");
	assert_string_equal(json_string_value(json_object_get(t, "apiVersion")), "meta.k8s.io/v1");
	assert_int_equal(table_add_row(t, group, kind, pc, o, inc, NOW), MK_OK);
	json_t *rows = json_object_get(t, "rows");
	assert_int_equal(json_array_size(rows), 1);
	/* One cell per column, and only the types a Table may carry. */
	json_t *cells = json_object_get(json_array_get(rows, 0), "cells");
	assert_int_equal(json_array_size(cells),
			 json_array_size(json_object_get(t, "columnDefinitions")));
	size_t i;
	json_t *c;
	json_array_foreach(cells, i, c)
		assert_true(json_is_string(c) || json_is_integer(c) || json_is_boolean(c) ||
			    json_is_null(c) || json_is_real(c));
	json_decref(o);
	json_decref(pc);
	return t;
}

/* Asserts the cells of the row for `obj` equal the JSON array `want`. */
static void check_cells(const char *group, const char *kind, const char *obj,
			const char *printer_columns, const char *want)
{
	json_t *t = table_for(group, kind, obj, printer_columns, TABLE_INCLUDE_METADATA);
	json_t *cells = json_object_get(json_array_get(json_object_get(t, "rows"), 0), "cells");
	json_t *w = J(want);
	if (!json_equal(cells, w)) {
		char *got = json_dumps(cells, JSON_COMPACT);
		fail_msg("%s cells:\n got  %s\n want %s", kind, got, want);
	}
	json_decref(w);
	json_decref(t);
}

/* The "name:priority" list of a kind's columns, e.g. "Name:0,IP:1". */
static void check_columns(const char *group, const char *kind, const char *want)
{
	json_t *t = table_new(group, kind, NULL);
	char got[1024] = "";
	size_t i, used = 0;
	json_t *c;
	json_array_foreach(json_object_get(t, "columnDefinitions"), i, c) {
		used += (size_t)snprintf(got + used, sizeof got - used, "%s%s:%lld", i ? "," : "",
					 json_string_value(json_object_get(c, "name")),
					 (long long)json_integer_value(json_object_get(c, "priority")));
		/* kubectl finds the Name column by its format. */
		const char *format = json_string_value(json_object_get(c, "format"));
		bool is_name = strcmp(json_string_value(json_object_get(c, "name")), "Name") == 0;
		assert_string_equal(format, is_name ? "name" : "");
		assert_non_null(json_string_value(json_object_get(c, "type")));
		assert_non_null(json_string_value(json_object_get(c, "description")));
	}
	if (strcmp(got, want) != 0)
		fail_msg("%s columns:\n got  %s\n want %s", kind, got, want);
	json_decref(t);
}

/* --- Age ------------------------------------------------------------------------ */

static void ages(void **state)
{
	(void)state;
	/* duration.HumanDuration: seconds below 2m; m+s below 10m; minutes below
	 * 3h; h+m below 8h; hours below 2d; d+h below 8d; days below 2y; y+d
	 * below 8y; then years.  A clock up to 1s behind is "0s". */
	struct {
		long long s;
		const char *want;
	} cases[] = {
		{-2, "<invalid>"}, {-1, "0s"},	  {0, "0s"},	  {59, "59s"},	  {60, "60s"},
		{119, "119s"},	   {120, "2m"},	  {121, "2m1s"},  {330, "5m30s"}, {599, "9m59s"},
		{600, "10m"},	   {659, "10m"},  {10799, "179m"}, {10800, "3h"}, {11220, "3h7m"},
		{28799, "7h59m"},  {28800, "8h"}, {30 * 3600, "30h"}, {172799, "47h"},
		{172800, "2d"},	   {3 * 86400 + 4 * 3600, "3d4h"}, {8 * 86400, "8d"},
		{20 * 86400, "20d"}, {729 * 86400, "729d"}, {730 * 86400, "2y"},
		{800 * 86400, "2y70d"}, {2920 * 86400, "8y"}, {3000 * 86400, "8y"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char out[32];
		table_duration(out, sizeof out, cases[i].s);
		if (strcmp(out, cases[i].want) != 0)
			fail_msg("%llds: got %s, want %s", cases[i].s, out, cases[i].want);
	}
	struct {
		const char *t, *want;
	} times[] = {
		{T0, "5m"},
		{"2026-01-01T00:04:10Z", "50s"},
		{"2026-01-01T01:04:10+01:00", "50s"},	 /* offsets count */
		{"2025-12-31T19:04:10-05:00", "50s"},
		{"2026-01-01T00:04:09.5Z", "50s"},	 /* 50.5s, truncated */
		{"2026-01-01T00:04:10.000000Z", "50s"}, /* MicroTime */
		{"2026-01-01T00:05:01Z", "0s"},	 /* a second ahead: now */
		{"2026-01-01T00:05:05Z", "<invalid>"},
		{"0001-01-01T00:00:00Z", "<unknown>"}, /* Go's zero time: unset */
		{"2026-01-01", "<unknown>"},
		{"2026-01-01T00:00:00", "<unknown>"},
		{"2026-01-01T00:00:00Zjunk", "<unknown>"},
		{"2026-13-01T00:00:00Z", "<unknown>"},
		{"2026-01-01T00:00:00.Z", "<unknown>"},
		{"yesterday", "<unknown>"},
		{"", "<unknown>"},
		{NULL, "<unknown>"},
	};
	for (size_t i = 0; i < sizeof times / sizeof times[0]; i++) {
		char out[32];
		table_age(out, sizeof out, times[i].t, NOW);
		if (strcmp(out, times[i].want) != 0)
			fail_msg("%s: got %s, want %s", times[i].t, out, times[i].want);
	}
}

/* --- columns -------------------------------------------------------------------- */

static void columns(void **state)
{
	(void)state;
	check_columns("", "Pod", "Name:0,Ready:0,Status:0,Restarts:0,Age:0,IP:1,Node:1,"
				 "Nominated Node:1,Readiness Gates:1");
	check_columns("", "Node", "Name:0,Status:0,Roles:0,Age:0,Version:0,Internal-IP:1,"
				  "External-IP:1,OS-Image:1,Kernel-Version:1,Container-Runtime:1");
	check_columns("", "Service", "Name:0,Type:0,Cluster-IP:0,External-IP:0,Port(s):0,Age:0,"
				     "Selector:1");
	check_columns("", "Event", "Last Seen:0,Type:0,Reason:0,Object:0,Subobject:1,Source:1,"
				   "Message:0,First Seen:1,Count:1,Name:1");
	check_columns("", "Namespace", "Name:0,Status:0,Age:0");
	check_columns("", "ConfigMap", "Name:0,Data:0,Age:0");
	check_columns("", "Secret", "Name:0,Type:0,Data:0,Age:0");
	check_columns("", "ServiceAccount", "Name:0,Secrets:0,Age:0");
	check_columns("", "Endpoints", "Name:0,Endpoints:0,Age:0");
	check_columns("", "PersistentVolume", "Name:0,Capacity:0,Access Modes:0,Reclaim Policy:0,"
					      "Status:0,Claim:0,StorageClass:0,"
					      "VolumeAttributesClass:0,Reason:0,Age:0,VolumeMode:1");
	check_columns("", "PersistentVolumeClaim", "Name:0,Status:0,Volume:0,Capacity:0,"
						   "Access Modes:0,StorageClass:0,"
						   "VolumeAttributesClass:0,Age:0,VolumeMode:1");
	check_columns("apps", "Deployment", "Name:0,Ready:0,Up-to-date:0,Available:0,Age:0,"
					    "Containers:1,Images:1,Selector:1");
	check_columns("apps", "ReplicaSet", "Name:0,Desired:0,Current:0,Ready:0,Age:0,"
					    "Containers:1,Images:1,Selector:1");
	check_columns("apps", "DaemonSet", "Name:0,Desired:0,Current:0,Ready:0,Up-to-date:0,"
					   "Available:0,Node Selector:0,Age:0,Containers:1,"
					   "Images:1,Selector:1");
	check_columns("apps", "StatefulSet", "Name:0,Ready:0,Age:0,Containers:1,Images:1");
	check_columns("batch", "Job", "Name:0,Status:0,Completions:0,Duration:0,Age:0,"
				      "Containers:1,Images:1,Selector:1");
	check_columns("batch", "CronJob", "Name:0,Schedule:0,Timezone:0,Suspend:0,Active:0,"
					  "Last Schedule:0,Age:0,Containers:1,Images:1,Selector:1");
	check_columns("coordination.k8s.io", "Lease", "Name:0,Holder:0,Age:0");
	check_columns("storage.k8s.io", "StorageClass", "Name:0,Provisioner:0,ReclaimPolicy:0,"
							"VolumeBindingMode:0,"
							"AllowVolumeExpansion:0,Age:0");
	check_columns("rbac.authorization.k8s.io", "Role", "Name:0,Created At:0");
	check_columns("rbac.authorization.k8s.io", "ClusterRole", "Name:0,Created At:0");
	check_columns("rbac.authorization.k8s.io", "RoleBinding",
		      "Name:0,Role:0,Age:0,Users:1,Groups:1,ServiceAccounts:1");
	check_columns("rbac.authorization.k8s.io", "ClusterRoleBinding",
		      "Name:0,Role:0,Age:0,Users:1,Groups:1,ServiceAccounts:1");
	check_columns("apiextensions.k8s.io", "CustomResourceDefinition", "Name:0,Created At:0");
	/* Kinds without columns of their own, and a kind in the wrong group. */
	check_columns("networking.k8s.io", "Ingress", "Name:0,Age:0");
	check_columns("apps", "Pod", "Name:0,Age:0");
	/* Upstream's types, even where the cell is an integer. */
	json_t *t = table_new("apps", "Deployment", NULL);
	json_t *defs = json_object_get(t, "columnDefinitions");
	assert_string_equal(json_string_value(json_object_get(json_array_get(defs, 2), "type")),
			    "string");
	json_decref(t);
	t = table_new("apps", "ReplicaSet", NULL);
	defs = json_object_get(t, "columnDefinitions");
	assert_string_equal(json_string_value(json_object_get(json_array_get(defs, 1), "type")),
			    "integer");
	json_decref(t);
	t = table_new("rbac.authorization.k8s.io", "Role", NULL);
	defs = json_object_get(t, "columnDefinitions");
	assert_string_equal(json_string_value(json_object_get(json_array_get(defs, 1), "type")),
			    "date");
	json_decref(t);
}

/* --- Pod ------------------------------------------------------------------------ */

#define CS(name, extra) "{\"name\":\"" name "\"," extra "}"

static void pod_cells(void **state)
{
	(void)state;
	/* Running, one container crash-looping: its restarts say when. */
	check_cells("", "Pod",
		    "{\"metadata\":{\"name\":\"web\",\"namespace\":\"default\",\"creationTimestamp\":"
		    "\"" T0 "\"},\"spec\":{\"nodeName\":\"n1\",\"containers\":[{\"name\":\"app\"},"
		    "{\"name\":\"log\"}]},\"status\":{\"phase\":\"Running\",\"podIP\":\"10.1.0.5\","
		    "\"podIPs\":[{\"ip\":\"10.1.0.5\"},{\"ip\":\"fd00::5\"}],\"containerStatuses\":["
		    CS("app", "\"ready\":true,\"restartCount\":0,\"state\":{\"running\":{}}") ","
		    CS("log", "\"ready\":false,\"restartCount\":3,\"state\":{\"waiting\":{\"reason\":"
			      "\"CrashLoopBackOff\"}},\"lastState\":{\"terminated\":{\"exitCode\":1,"
			      "\"finishedAt\":\"2026-01-01T00:03:00Z\"}}") "]}}",
		    NULL,
		    "[\"web\",\"1/2\",\"CrashLoopBackOff\",\"3 (2m ago)\",\"5m\",\"10.1.0.5\",\"n1\","
		    "\"<none>\",\"<none>\"]");
	/* Just created: Pending, nothing known yet. */
	check_cells("", "Pod",
		    "{" META("box") ",\"spec\":{\"containers\":[{\"name\":\"c\"}]},"
		    "\"status\":{\"phase\":\"Pending\"}}", NULL,
		    "[\"box\",\"0/1\",\"Pending\",\"0\",\"5m\",\"<none>\",\"<none>\",\"<none>\","
		    "\"<none>\"]");
	/* Gated by the scheduler. */
	check_cells("", "Pod",
		    "{" META("g") ",\"spec\":{\"containers\":[{\"name\":\"c\"}]},\"status\":{\"phase\":"
		    "\"Pending\",\"conditions\":[{\"type\":\"PodScheduled\",\"status\":\"False\","
		    "\"reason\":\"SchedulingGated\"}]}}", NULL,
		    "[\"g\",\"0/1\",\"SchedulingGated\",\"0\",\"5m\",\"<none>\",\"<none>\",\"<none>\","
		    "\"<none>\"]");
	/* Init containers: the second of two is running. */
	const char *init = "{" META("i") ",\"spec\":{\"initContainers\":[{\"name\":\"a\"},"
			   "{\"name\":\"b\"}],\"containers\":[{\"name\":\"c\"}]},\"status\":{\"phase\":"
			   "\"Pending\",\"initContainerStatuses\":["
			   CS("a", "\"restartCount\":0,\"state\":{\"terminated\":{\"exitCode\":0}}") ","
			   CS("b", "\"restartCount\":2,\"state\":{\"running\":{}}") "],"
			   "\"containerStatuses\":[" CS("c", "\"restartCount\":0,\"state\":{\"waiting\":"
			   "{\"reason\":\"PodInitializing\"}}") "]}}";
	check_cells("", "Pod", init, NULL,
		    "[\"i\",\"0/1\",\"Init:1/2\",\"2\",\"5m\",\"<none>\",\"<none>\",\"<none>\","
		    "\"<none>\"]");
	/* An init container that failed, with and without a reason. */
	check_cells("", "Pod",
		    "{" META("f") ",\"spec\":{\"initContainers\":[{\"name\":\"a\"}],\"containers\":[]},"
		    "\"status\":{\"phase\":\"Pending\",\"initContainerStatuses\":["
		    CS("a", "\"state\":{\"terminated\":{\"exitCode\":1,\"reason\":\"Error\"}}") "]}}",
		    NULL, "[\"f\",\"0/0\",\"Init:Error\",\"0\",\"5m\",\"<none>\",\"<none>\","
			  "\"<none>\",\"<none>\"]");
	check_cells("", "Pod",
		    "{" META("f") ",\"spec\":{\"initContainers\":[{\"name\":\"a\"}]},\"status\":{"
		    "\"initContainerStatuses\":[" CS("a", "\"state\":{\"terminated\":{\"exitCode\":"
		    "137,\"signal\":9}}") "]}}",
		    NULL, "[\"f\",\"0/0\",\"Init:Signal:9\",\"0\",\"5m\",\"<none>\",\"<none>\","
			  "\"<none>\",\"<none>\"]");
	check_cells("", "Pod",
		    "{" META("f") ",\"status\":{\"initContainerStatuses\":[" CS("a", "\"state\":{"
		    "\"waiting\":{\"reason\":\"CrashLoopBackOff\"}}") "]}}",
		    NULL, "[\"f\",\"0/0\",\"Init:CrashLoopBackOff\",\"0\",\"5m\",\"<none>\","
			  "\"<none>\",\"<none>\",\"<none>\"]");
	/* A sidecar (restartable init container) counts as a container. */
	check_cells("", "Pod",
		    "{" META("s") ",\"spec\":{\"initContainers\":[{\"name\":\"proxy\",\"restartPolicy\":"
		    "\"Always\"}],\"containers\":[{\"name\":\"app\"}]},\"status\":{\"phase\":\"Running\","
		    "\"conditions\":[{\"type\":\"Initialized\",\"status\":\"True\"}],"
		    "\"initContainerStatuses\":[" CS("proxy", "\"started\":true,\"ready\":true,"
		    "\"restartCount\":1,\"state\":{\"running\":{}}") "],\"containerStatuses\":["
		    CS("app", "\"ready\":true,\"restartCount\":0,\"state\":{\"running\":{}}") "]}}",
		    NULL, "[\"s\",\"2/2\",\"Running\",\"1\",\"5m\",\"<none>\",\"<none>\",\"<none>\","
			  "\"<none>\"]");
	/* Finished: Completed; with a container still running: Running or
	 * NotReady, as the Ready condition says. */
	const char *done = "{" META("d") ",\"spec\":{\"containers\":[{\"name\":\"a\"}]},\"status\":"
			   "{\"phase\":\"Succeeded\",\"containerStatuses\":[" CS("a", "\"state\":{"
			   "\"terminated\":{\"exitCode\":0,\"reason\":\"Completed\"}}") "]}}";
	check_cells("", "Pod", done, NULL,
		    "[\"d\",\"0/1\",\"Completed\",\"0\",\"5m\",\"<none>\",\"<none>\",\"<none>\","
		    "\"<none>\"]");
	const char *half = "{" META("h") ",\"status\":{\"phase\":\"Running\",\"conditions\":[{"
			   "\"type\":\"Ready\",\"status\":\"%s\"}],\"containerStatuses\":["
			   CS("a", "\"ready\":true,\"state\":{\"running\":{}}") ","
			   CS("b", "\"state\":{\"terminated\":{\"exitCode\":0,\"reason\":"
			   "\"Completed\"}}") "]}}";
	char buf[1024];
	snprintf(buf, sizeof buf, half, "True");
	check_cells("", "Pod", buf, NULL, "[\"h\",\"1/0\",\"Running\",\"0\",\"5m\",\"<none>\","
					  "\"<none>\",\"<none>\",\"<none>\"]");
	snprintf(buf, sizeof buf, half, "False");
	check_cells("", "Pod", buf, NULL, "[\"h\",\"1/0\",\"NotReady\",\"0\",\"5m\",\"<none>\","
					  "\"<none>\",\"<none>\",\"<none>\"]");
	/* Killed without a reason: the signal, else the exit code. */
	check_cells("", "Pod",
		    "{" META("k") ",\"status\":{\"phase\":\"Running\",\"containerStatuses\":["
		    CS("a", "\"restartCount\":5,\"state\":{\"terminated\":{\"exitCode\":137}}") "]}}",
		    NULL, "[\"k\",\"0/0\",\"ExitCode:137\",\"5\",\"5m\",\"<none>\",\"<none>\","
			  "\"<none>\",\"<none>\"]");
	check_cells("", "Pod",
		    "{" META("k") ",\"status\":{\"containerStatuses\":[" CS("a", "\"state\":{"
		    "\"terminated\":{\"exitCode\":137,\"signal\":9}}") "]}}",
		    NULL, "[\"k\",\"0/0\",\"Signal:9\",\"0\",\"5m\",\"<none>\",\"<none>\",\"<none>\","
			  "\"<none>\"]");
	/* Being deleted: Terminating, unless finished; Unknown when its node
	 * was lost. */
	check_cells("", "Pod",
		    "{\"metadata\":{\"name\":\"t\",\"creationTimestamp\":\"" T0 "\","
		    "\"deletionTimestamp\":\"2026-01-01T00:04:00Z\"},\"status\":{\"phase\":\"Running\"}}",
		    NULL, "[\"t\",\"0/0\",\"Terminating\",\"0\",\"5m\",\"<none>\",\"<none>\","
			  "\"<none>\",\"<none>\"]");
	check_cells("", "Pod",
		    "{\"metadata\":{\"name\":\"t\",\"deletionTimestamp\":\"2026-01-01T00:04:00Z\"},"
		    "\"status\":{\"phase\":\"Succeeded\"}}",
		    NULL, "[\"t\",\"0/0\",\"Succeeded\",\"0\",\"<unknown>\",\"<none>\",\"<none>\","
			  "\"<none>\",\"<none>\"]");
	check_cells("", "Pod",
		    "{\"metadata\":{\"name\":\"t\",\"deletionTimestamp\":\"2026-01-01T00:04:00Z\"},"
		    "\"status\":{\"phase\":\"Running\",\"reason\":\"NodeLost\"}}",
		    NULL, "[\"t\",\"0/0\",\"Unknown\",\"0\",\"<unknown>\",\"<none>\",\"<none>\","
			  "\"<none>\",\"<none>\"]");
	/* Status reason (e.g. Evicted) wins over the phase. */
	check_cells("", "Pod", "{\"metadata\":{\"name\":\"e\"},\"status\":{\"phase\":\"Failed\","
			       "\"reason\":\"Evicted\"}}",
		    NULL, "[\"e\",\"0/0\",\"Evicted\",\"0\",\"<unknown>\",\"<none>\",\"<none>\","
			  "\"<none>\",\"<none>\"]");
	/* Wide: podIP without podIPs, nominated node, readiness gates. */
	check_cells("", "Pod",
		    "{" META("w") ",\"spec\":{\"readinessGates\":[{\"conditionType\":\"x/a\"},"
		    "{\"conditionType\":\"x/b\"}]},\"status\":{\"phase\":\"Pending\",\"podIP\":"
		    "\"10.1.0.9\",\"nominatedNodeName\":\"n2\",\"conditions\":[{\"type\":\"x/a\","
		    "\"status\":\"True\"},{\"type\":\"x/b\",\"status\":\"False\"},{\"type\":\"x/b\","
		    "\"status\":\"True\"}]}}",
		    NULL, "[\"w\",\"0/0\",\"Pending\",\"0\",\"5m\",\"10.1.0.9\",\"<none>\",\"n2\","
			  "\"1/2\"]");
	/* No status at all: an empty status, as upstream. */
	check_cells("", "Pod", "{" META("n") "}", NULL,
		    "[\"n\",\"0/0\",\"\",\"0\",\"5m\",\"<none>\",\"<none>\",\"<none>\",\"<none>\"]");
}

static void pod_row_conditions(void **state)
{
	(void)state;
	json_t *t = table_for("", "Pod", "{\"metadata\":{\"name\":\"d\"},\"status\":{\"phase\":"
					 "\"Succeeded\"}}", NULL, TABLE_INCLUDE_METADATA);
	json_t *want = J("[{\"type\":\"Completed\",\"status\":\"True\",\"reason\":\"Succeeded\","
			 "\"message\":\"The pod has completed successfully.\"}]");
	assert_true(json_equal(json_object_get(json_array_get(json_object_get(t, "rows"), 0),
					       "conditions"), want));
	json_decref(want);
	json_decref(t);
	t = table_for("", "Pod", "{\"metadata\":{\"name\":\"f\"},\"status\":{\"phase\":\"Failed\"}}",
		      NULL, TABLE_INCLUDE_METADATA);
	json_t *c = json_array_get(json_object_get(json_array_get(json_object_get(t, "rows"), 0),
						   "conditions"), 0);
	assert_string_equal(json_string_value(json_object_get(c, "reason")), "Failed");
	json_decref(t);
	t = table_for("", "Pod", "{\"metadata\":{\"name\":\"r\"},\"status\":{\"phase\":\"Running\"}}",
		      NULL, TABLE_INCLUDE_METADATA);
	assert_null(json_object_get(json_array_get(json_object_get(t, "rows"), 0), "conditions"));
	json_decref(t);
}

/* --- core kinds ----------------------------------------------------------------- */

static void node_cells(void **state)
{
	(void)state;
	check_cells("", "Node",
		    "{\"metadata\":{\"name\":\"n1\",\"creationTimestamp\":\"" T0 "\",\"labels\":{"
		    "\"node-role.kubernetes.io/worker\":\"\",\"node-role.kubernetes.io/"
		    "control-plane\":\"\",\"kubernetes.io/role\":\"edge\",\"node-role.kubernetes.io/"
		    "\":\"x\",\"node-role.kubernetes.io/edge\":\"\"}},\"spec\":{\"unschedulable\":true},"
		    "\"status\":{\"conditions\":[{\"type\":\"MemoryPressure\",\"status\":\"False\"},"
		    "{\"type\":\"Ready\",\"status\":\"True\"}],\"addresses\":[{\"type\":\"Hostname\","
		    "\"address\":\"n1\"},{\"type\":\"InternalIP\",\"address\":\"10.0.0.1\"}],"
		    "\"nodeInfo\":{\"kubeletVersion\":\"v1.32.0\",\"osImage\":\"Ubuntu 24.04\","
		    "\"kernelVersion\":\"6.8.0\",\"containerRuntimeVersion\":\"containerd://1.7\"}}}",
		    NULL,
		    "[\"n1\",\"Ready,SchedulingDisabled\",\"control-plane,edge,worker\",\"5m\","
		    "\"v1.32.0\",\"10.0.0.1\",\"<none>\",\"Ubuntu 24.04\",\"6.8.0\","
		    "\"containerd://1.7\"]");
	/* Not True is NotReady, even Unknown; no Ready condition is Unknown. */
	const char *n = "{" META("n2") ",\"status\":{\"conditions\":[{\"type\":\"Ready\","
			"\"status\":\"%s\"}],\"addresses\":[{\"type\":\"ExternalIP\",\"address\":"
			"\"203.0.113.9\"}]}}";
	char buf[512];
	snprintf(buf, sizeof buf, n, "False");
	check_cells("", "Node", buf, NULL,
		    "[\"n2\",\"NotReady\",\"<none>\",\"5m\",\"\",\"<none>\",\"203.0.113.9\","
		    "\"<unknown>\",\"<unknown>\",\"<unknown>\"]");
	snprintf(buf, sizeof buf, n, "Unknown");
	check_cells("", "Node", buf, NULL,
		    "[\"n2\",\"NotReady\",\"<none>\",\"5m\",\"\",\"<none>\",\"203.0.113.9\","
		    "\"<unknown>\",\"<unknown>\",\"<unknown>\"]");
	check_cells("", "Node", "{" META("n3") ",\"spec\":{\"unschedulable\":true}}", NULL,
		    "[\"n3\",\"Unknown,SchedulingDisabled\",\"<none>\",\"5m\",\"\",\"<none>\","
		    "\"<none>\",\"<unknown>\",\"<unknown>\",\"<unknown>\"]");
}

static void service_cells(void **state)
{
	(void)state;
	check_cells("", "Service",
		    "{" META("web") ",\"spec\":{\"type\":\"NodePort\",\"clusterIP\":\"10.152.183.7\","
		    "\"clusterIPs\":[\"10.152.183.7\"],\"ports\":[{\"port\":80,\"nodePort\":30080,"
		    "\"protocol\":\"TCP\"},{\"port\":443,\"nodePort\":30443,\"protocol\":\"TCP\"}],"
		    "\"selector\":{\"tier\":\"fe\",\"app\":\"web\"}}}",
		    NULL,
		    "[\"web\",\"NodePort\",\"10.152.183.7\",\"<none>\",\"80:30080/TCP,443:30443/TCP\","
		    "\"5m\",\"app=web,tier=fe\"]");
	check_cells("", "Service",
		    "{" META("lb") ",\"spec\":{\"type\":\"LoadBalancer\",\"clusterIP\":\"10.152.183.8\","
		    "\"ports\":[{\"port\":53,\"protocol\":\"UDP\"}]}}",
		    NULL, "[\"lb\",\"LoadBalancer\",\"10.152.183.8\",\"<pending>\",\"53/UDP\",\"5m\","
			  "\"<none>\"]");
	check_cells("", "Service",
		    "{" META("lb") ",\"spec\":{\"type\":\"LoadBalancer\",\"clusterIPs\":["
		    "\"10.152.183.8\",\"fd00::8\"],\"externalIPs\":[\"198.51.100.1\"]},\"status\":{"
		    "\"loadBalancer\":{\"ingress\":[{\"hostname\":\"b.example.com\"},{\"ip\":"
		    "\"192.0.2.10\"},{\"ip\":\"192.0.2.10\",\"hostname\":\"x\"}]}}}",
		    NULL, "[\"lb\",\"LoadBalancer\",\"10.152.183.8\","
			  "\"192.0.2.10,b.example.com,198.51.100.1\",\"<none>\",\"5m\",\"<none>\"]");
	check_cells("", "Service",
		    "{" META("db") ",\"spec\":{\"type\":\"ExternalName\",\"externalName\":"
		    "\"db.example.com\"}}",
		    NULL, "[\"db\",\"ExternalName\",\"<none>\",\"db.example.com\",\"<none>\",\"5m\","
			  "\"<none>\"]");
	check_cells("", "Service",
		    "{" META("h") ",\"spec\":{\"type\":\"ClusterIP\",\"clusterIP\":\"None\","
		    "\"externalIPs\":[\"1.2.3.4\",\"5.6.7.8\"],\"ports\":[{\"port\":80,\"protocol\":"
		    "\"TCP\"}],\"selector\":{\"app\":\"h\"}}}",
		    NULL, "[\"h\",\"ClusterIP\",\"None\",\"1.2.3.4,5.6.7.8\",\"80/TCP\",\"5m\","
			  "\"app=h\"]");
	check_cells("", "Service", "{" META("odd") ",\"spec\":{\"type\":\"Mystery\"}}", NULL,
		    "[\"odd\",\"Mystery\",\"<none>\",\"<unknown>\",\"<none>\",\"5m\",\"<none>\"]");
}

static void endpoints_cells(void **state)
{
	(void)state;
	check_cells("", "Endpoints",
		    "{" META("web") ",\"subsets\":[{\"addresses\":[{\"ip\":\"10.0.0.1\"},{\"ip\":"
		    "\"10.0.0.2\"}],\"ports\":[{\"port\":80},{\"port\":443}]}]}",
		    NULL, "[\"web\",\"10.0.0.1:80,10.0.0.2:80,10.0.0.1:443 + 1 more...\",\"5m\"]");
	check_cells("", "Endpoints", "{" META("none") "}", NULL, "[\"none\",\"<none>\",\"5m\"]");
	check_cells("", "Endpoints",
		    "{" META("v6") ",\"subsets\":[{\"addresses\":[{\"ip\":\"fd00::1\"}]},"
		    "{\"addresses\":[{\"ip\":\"fd00::2\"}],\"ports\":[{\"port\":53}]}]}",
		    NULL, "[\"v6\",\"fd00::1,[fd00::2]:53\",\"5m\"]");
	check_cells("", "Endpoints",
		    "{" META("empty") ",\"subsets\":[{\"ports\":[{\"port\":80}]}]}", NULL,
		    "[\"empty\",\"\",\"5m\"]");
}

static void small_core_cells(void **state)
{
	(void)state;
	check_cells("", "Namespace", "{" META("default") ",\"status\":{\"phase\":\"Active\"}}",
		    NULL, "[\"default\",\"Active\",\"5m\"]");
	check_cells("", "ConfigMap",
		    "{" META("c") ",\"data\":{\"a\":\"1\",\"b\":\"2\"},\"binaryData\":{\"c\":\"AA==\"}}",
		    NULL, "[\"c\",3,\"5m\"]");
	check_cells("", "Secret",
		    "{" META("s") ",\"type\":\"Opaque\",\"data\":{\"a\":\"MQ==\",\"b\":\"Mg==\"}}",
		    NULL, "[\"s\",\"Opaque\",2,\"5m\"]");
	check_cells("", "ServiceAccount", "{" META("default") ",\"secrets\":[{\"name\":\"t\"}]}",
		    NULL, "[\"default\",1,\"5m\"]");
	check_cells("", "ServiceAccount", "{" META("bare") "}", NULL, "[\"bare\",0,\"5m\"]");
}

static void event_cells(void **state)
{
	(void)state;
	check_cells("", "Event",
		    "{\"metadata\":{\"name\":\"web.17a\",\"namespace\":\"default\","
		    "\"creationTimestamp\":\"" T0 "\"},\"involvedObject\":{\"kind\":\"Pod\","
		    "\"name\":\"web\",\"fieldPath\":\"spec.containers{app}\"},\"reason\":\"BackOff\","
		    "\"message\":\"  Back-off restarting failed container\\n\",\"type\":\"Warning\","
		    "\"source\":{\"component\":\"kubelet\",\"host\":\"n1\"},\"firstTimestamp\":\"" T0
		    "\",\"lastTimestamp\":\"2026-01-01T00:04:00Z\",\"count\":7}",
		    NULL,
		    "[\"60s\",\"Warning\",\"BackOff\",\"pod/web\",\"spec.containers{app}\","
		    "\"kubelet, n1\",\"Back-off restarting failed container\",\"5m\",7,\"web.17a\"]");
	/* events.k8s.io style: eventTime, a series, reporting fields. */
	check_cells("", "Event",
		    "{\"metadata\":{\"name\":\"e2\"},\"eventTime\":\"2026-01-01T00:04:59.000000Z\","
		    "\"series\":{\"count\":4,\"lastObservedTime\":\"2026-01-01T00:04:30.500000Z\"},"
		    "\"reportingComponent\":\"mk-scheduler\",\"reportingInstance\":\"n2\","
		    "\"involvedObject\":{\"kind\":\"Node\"},\"type\":\"Normal\",\"reason\":\"Ready\","
		    "\"message\":\"ok\"}",
		    NULL,
		    "[\"29s\",\"Normal\",\"Ready\",\"node\",\"\",\"mk-scheduler, n2\",\"ok\",\"1s\",4,"
		    "\"e2\"]");
	check_cells("", "Event", "{}", NULL,
		    "[\"<unknown>\",\"\",\"\",\"\",\"\",\"\",\"\",\"<unknown>\",1,\"\"]");
}

static void storage_cells(void **state)
{
	(void)state;
	check_cells("", "PersistentVolume",
		    "{" META("pv1") ",\"spec\":{\"capacity\":{\"storage\":\"10Gi\"},\"accessModes\":["
		    "\"ReadWriteMany\",\"ReadWriteOnce\",\"Bogus\",\"ReadWriteOnce\"],"
		    "\"persistentVolumeReclaimPolicy\":\"Retain\",\"claimRef\":{\"namespace\":"
		    "\"default\",\"name\":\"data\"},\"storageClassName\":\"fast\",\"volumeMode\":"
		    "\"Filesystem\"},\"status\":{\"phase\":\"Bound\"}}",
		    NULL,
		    "[\"pv1\",\"10Gi\",\"RWO,RWX\",\"Retain\",\"Bound\",\"default/data\",\"fast\","
		    "\"<unset>\",\"\",\"5m\",\"Filesystem\"]");
	check_cells("", "PersistentVolume",
		    "{\"metadata\":{\"name\":\"pv2\",\"deletionTimestamp\":\"" T0 "\","
		    "\"annotations\":{\"volume.beta.kubernetes.io/storage-class\":\"old\"}},\"spec\":{"
		    "\"storageClassName\":\"new\",\"volumeAttributesClassName\":\"gold\"},\"status\":{"
		    "\"phase\":\"Released\",\"reason\":\"why\"}}",
		    NULL,
		    "[\"pv2\",\"0\",\"\",\"\",\"Terminating\",\"\",\"old\",\"gold\",\"why\","
		    "\"<unknown>\",\"<unset>\"]");
	check_cells("", "PersistentVolumeClaim",
		    "{" META("data") ",\"spec\":{\"volumeName\":\"pv1\",\"storageClassName\":\"fast\","
		    "\"accessModes\":[\"ReadWriteOnce\"],\"volumeMode\":\"Filesystem\","
		    "\"volumeAttributesClassName\":\"gold\"},\"status\":{\"phase\":\"Bound\","
		    "\"capacity\":{\"storage\":\"10Gi\"},\"accessModes\":[\"ReadWriteOnce\"]}}",
		    NULL,
		    "[\"data\",\"Bound\",\"pv1\",\"10Gi\",\"RWO\",\"fast\",\"gold\",\"5m\","
		    "\"Filesystem\"]");
	check_cells("", "PersistentVolumeClaim",
		    "{" META("p") ",\"spec\":{\"storageClassName\":\"fast\",\"accessModes\":["
		    "\"ReadWriteOnce\"]},\"status\":{\"phase\":\"Pending\",\"accessModes\":["
		    "\"ReadWriteOnce\"]}}",
		    NULL, "[\"p\",\"Pending\",\"\",\"\",\"\",\"fast\",\"<unset>\",\"5m\",\"<unset>\"]");
	check_cells("storage.k8s.io", "StorageClass",
		    "{\"metadata\":{\"name\":\"microk8s-hostpath\",\"creationTimestamp\":\"" T0 "\","
		    "\"annotations\":{\"storageclass.kubernetes.io/is-default-class\":\"true\"}},"
		    "\"provisioner\":\"microk8s.io/hostpath\",\"reclaimPolicy\":\"Delete\","
		    "\"volumeBindingMode\":\"WaitForFirstConsumer\",\"allowVolumeExpansion\":true}",
		    NULL,
		    "[\"microk8s-hostpath (default)\",\"microk8s.io/hostpath\",\"Delete\","
		    "\"WaitForFirstConsumer\",true,\"5m\"]");
	check_cells("storage.k8s.io", "StorageClass",
		    "{\"metadata\":{\"name\":\"s\",\"annotations\":{"
		    "\"storageclass.kubernetes.io/is-default-class\":\"false\"}},\"provisioner\":\"x\"}",
		    NULL, "[\"s\",\"x\",\"Delete\",\"Immediate\",false,\"<unknown>\"]");
}

/* --- workloads ------------------------------------------------------------------ */

#define TEMPLATE(c) "\"template\":{\"spec\":{\"containers\":[" c "]}}"
#define NGINX "{\"name\":\"nginx\",\"image\":\"nginx:1.27\"}"

static void workload_cells(void **state)
{
	(void)state;
	check_cells("apps", "Deployment",
		    "{" META("web") ",\"spec\":{\"replicas\":3,\"selector\":{\"matchLabels\":{"
		    "\"tier\":\"fe\",\"app\":\"web\"}}," TEMPLATE(NGINX ",{\"name\":\"sidecar\","
		    "\"image\":\"busybox\"}") "},\"status\":{\"readyReplicas\":2,\"updatedReplicas\":3,"
		    "\"availableReplicas\":2}}",
		    NULL, "[\"web\",\"2/3\",3,2,\"5m\",\"nginx,sidecar\",\"nginx:1.27,busybox\","
			  "\"app=web,tier=fe\"]");
	/* A Deployment prints a missing selector as "", the others as <none>. */
	check_cells("apps", "Deployment", "{" META("bare") "}", NULL,
		    "[\"bare\",\"0/0\",0,0,\"5m\",\"\",\"\",\"\"]");
	check_cells("apps", "ReplicaSet",
		    "{" META("web-5d4f") ",\"spec\":{\"replicas\":3,\"selector\":{\"matchLabels\":{"
		    "\"app\":\"web\",\"pod-template-hash\":\"5d4f\"}}," TEMPLATE(NGINX) "},"
		    "\"status\":{\"replicas\":3,\"readyReplicas\":1}}",
		    NULL, "[\"web-5d4f\",3,3,1,\"5m\",\"nginx\",\"nginx:1.27\","
			  "\"app=web,pod-template-hash=5d4f\"]");
	check_cells("apps", "ReplicaSet", "{" META("bare") "}", NULL,
		    "[\"bare\",0,0,0,\"5m\",\"\",\"\",\"<none>\"]");
	check_cells("apps", "ReplicaSet",
		    "{" META("bad") ",\"spec\":{\"selector\":{\"matchExpressions\":[{\"key\":\"a\","
		    "\"operator\":\"Sometimes\"}]}}}",
		    NULL, "[\"bad\",0,0,0,\"5m\",\"\",\"\",\"<error>\"]");
	check_cells("apps", "DaemonSet",
		    "{" META("agent") ",\"spec\":{\"selector\":{\"matchExpressions\":[{\"key\":"
		    "\"app\",\"operator\":\"In\",\"values\":[\"agent\"]}]},\"template\":{\"spec\":{"
		    "\"nodeSelector\":{\"zone\":\"a\",\"kubernetes.io/os\":\"linux\"},\"containers\":["
		    "{\"name\":\"a\",\"image\":\"agent:1\"}]}}},\"status\":{\"desiredNumberScheduled\":3,"
		    "\"currentNumberScheduled\":3,\"numberReady\":2,\"updatedNumberScheduled\":3,"
		    "\"numberAvailable\":2}}",
		    NULL, "[\"agent\",3,3,2,3,2,\"kubernetes.io/os=linux,zone=a\",\"5m\",\"a\","
			  "\"agent:1\",\"app in (agent)\"]");
	check_cells("apps", "StatefulSet",
		    "{" META("db") ",\"spec\":{\"replicas\":3," TEMPLATE("{\"name\":\"pg\",\"image\":"
		    "\"postgres:16\"}") "},\"status\":{\"readyReplicas\":3}}",
		    NULL, "[\"db\",\"3/3\",\"5m\",\"pg\",\"postgres:16\"]");
}

static void job_cells(void **state)
{
	(void)state;
	check_cells("batch", "Job",
		    "{" META("pi") ",\"spec\":{\"completions\":1,\"parallelism\":1,\"selector\":{"
		    "\"matchLabels\":{\"batch.kubernetes.io/controller-uid\":\"u1\"}},"
		    TEMPLATE("{\"name\":\"pi\",\"image\":\"perl:5.34\"}") "},\"status\":{"
		    "\"succeeded\":1,\"startTime\":\"2026-01-01T00:00:05Z\",\"completionTime\":"
		    "\"2026-01-01T00:00:40Z\",\"conditions\":[{\"type\":\"SuccessCriteriaMet\","
		    "\"status\":\"True\"},{\"type\":\"Complete\",\"status\":\"True\"}]}}",
		    NULL, "[\"pi\",\"Complete\",\"1/1\",\"35s\",\"5m\",\"pi\",\"perl:5.34\","
			  "\"batch.kubernetes.io/controller-uid=u1\"]");
	check_cells("batch", "Job",
		    "{" META("work") ",\"spec\":{\"parallelism\":3," TEMPLATE("") "},\"status\":{"
		    "\"succeeded\":1,\"startTime\":\"2026-01-01T00:01:00Z\"}}",
		    NULL, "[\"work\",\"Running\",\"1/1 of 3\",\"4m\",\"5m\",\"\",\"\",\"<none>\"]");
	check_cells("batch", "Job", "{" META("new") "}", NULL,
		    "[\"new\",\"Running\",\"0/1\",\"\",\"5m\",\"\",\"\",\"<none>\"]");
	/* The status word: Complete, Failed, Terminating, Suspended,
	 * FailureTarget, Running -- in that order of precedence. */
	struct {
		const char *conds, *deleted, *want;
	} cases[] = {
		{"{\"type\":\"Failed\",\"status\":\"True\"}", NULL, "Failed"},
		{"{\"type\":\"Complete\",\"status\":\"False\"}", NULL, "Running"},
		{"{\"type\":\"Suspended\",\"status\":\"True\"}", NULL, "Suspended"},
		{"{\"type\":\"Suspended\",\"status\":\"True\"}", T0, "Terminating"},
		{"{\"type\":\"Failed\",\"status\":\"True\"}", T0, "Failed"},
		{"{\"type\":\"FailureTarget\",\"status\":\"True\"},{\"type\":\"Suspended\","
		 "\"status\":\"True\"}", NULL, "Suspended"},
		{"{\"type\":\"FailureTarget\",\"status\":\"True\"}", NULL, "FailureTarget"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char obj[512], want[256];
		snprintf(obj, sizeof obj, "{\"metadata\":{\"name\":\"j\"%s%s%s},\"spec\":{"
			 "\"completions\":2},\"status\":{\"conditions\":[%s]}}",
			 cases[i].deleted ? ",\"deletionTimestamp\":\"" : "",
			 cases[i].deleted ? cases[i].deleted : "", cases[i].deleted ? "\"" : "",
			 cases[i].conds);
		snprintf(want, sizeof want, "[\"j\",\"%s\",\"0/2\",\"\",\"<unknown>\",\"\",\"\","
			 "\"<none>\"]", cases[i].want);
		check_cells("batch", "Job", obj, NULL, want);
	}
	check_cells("batch", "CronJob",
		    "{" META("hello") ",\"spec\":{\"schedule\":\"*/5 * * * *\",\"suspend\":false,"
		    "\"jobTemplate\":{\"spec\":{" TEMPLATE("{\"name\":\"hello\",\"image\":"
		    "\"busybox:1.36\"}") "}}},\"status\":{\"active\":[{\"name\":\"hello-1\"}],"
		    "\"lastScheduleTime\":\"2026-01-01T00:04:00Z\"}}",
		    NULL, "[\"hello\",\"*/5 * * * *\",\"<none>\",\"False\",1,\"60s\",\"5m\",\"hello\","
			  "\"busybox:1.36\",\"<none>\"]");
	check_cells("batch", "CronJob",
		    "{" META("tz") ",\"spec\":{\"schedule\":\"@daily\",\"timeZone\":\"Europe/Paris\","
		    "\"jobTemplate\":{\"spec\":{\"selector\":{\"matchLabels\":{\"a\":\"b\"}}}}}}",
		    NULL, "[\"tz\",\"@daily\",\"Europe/Paris\",\"<unset>\",0,\"<none>\",\"5m\",\"\","
			  "\"\",\"a=b\"]");
}

/* --- other kinds ---------------------------------------------------------------- */

static void other_cells(void **state)
{
	(void)state;
	check_cells("coordination.k8s.io", "Lease",
		    "{" META("n1") ",\"spec\":{\"holderIdentity\":\"n1\"}}", NULL,
		    "[\"n1\",\"n1\",\"5m\"]");
	check_cells("rbac.authorization.k8s.io", "Role",
		    "{\"metadata\":{\"name\":\"reader\",\"creationTimestamp\":"
		    "\"2026-01-01T01:02:03+01:00\"}}",
		    NULL, "[\"reader\",\"2026-01-01T00:02:03Z\"]");
	check_cells("rbac.authorization.k8s.io", "ClusterRole", "{\"metadata\":{\"name\":\"x\"}}",
		    NULL, "[\"x\",\"0001-01-01T00:00:00Z\"]");
	check_cells("apiextensions.k8s.io", "CustomResourceDefinition",
		    "{" META("widgets.example.com") "}", NULL,
		    "[\"widgets.example.com\",\"" T0 "\"]");
	check_cells("rbac.authorization.k8s.io", "RoleBinding",
		    "{" META("rb") ",\"roleRef\":{\"kind\":\"ClusterRole\",\"name\":\"view\"},"
		    "\"subjects\":[{\"kind\":\"User\",\"name\":\"alice\"},{\"kind\":\"Group\","
		    "\"name\":\"devs\"},{\"kind\":\"ServiceAccount\",\"namespace\":\"ci\",\"name\":"
		    "\"bot\"},{\"kind\":\"User\",\"name\":\"bob\"},{\"kind\":\"ServiceAccount\","
		    "\"name\":\"x\"}]}",
		    NULL, "[\"rb\",\"ClusterRole/view\",\"5m\",\"alice, bob\",\"devs\","
			  "\"ci/bot, /x\"]");
	check_cells("rbac.authorization.k8s.io", "ClusterRoleBinding", "{" META("crb") "}", NULL,
		    "[\"crb\",\"/\",\"5m\",\"\",\"\",\"\"]");
	/* Any other kind: Name and Age. */
	check_cells("networking.k8s.io", "Ingress", "{" META("ing") "}", NULL,
		    "[\"ing\",\"5m\"]");
}

/* --- custom resources ----------------------------------------------------------- */

static void custom_columns(void **state)
{
	(void)state;
	const char *cols =
		"[{\"name\":\"Size\",\"type\":\"integer\",\"jsonPath\":\".spec.size\"},"
		"{\"name\":\"Ratio\",\"type\":\"number\",\"jsonPath\":\".spec.ratio\"},"
		"{\"name\":\"Count\",\"type\":\"string\",\"jsonPath\":\".spec.size\"},"
		"{\"name\":\"Big\",\"type\":\"string\",\"jsonPath\":\".spec.big\"},"
		"{\"name\":\"On\",\"type\":\"boolean\",\"jsonPath\":\".spec.on\"},"
		"{\"name\":\"App\",\"type\":\"string\","
		"\"jsonPath\":\".metadata.labels.app\\\\.kubernetes\\\\.io/name\"},"
		"{\"name\":\"First\",\"type\":\"string\",\"jsonPath\":\".spec.parts[0].n\"},"
		"{\"name\":\"Last\",\"type\":\"string\",\"jsonPath\":\".spec.parts[-1].n\"},"
		"{\"name\":\"Parts\",\"type\":\"string\",\"jsonPath\":\".spec.parts\"},"
		"{\"name\":\"Quoted\",\"type\":\"string\","
		"\"jsonPath\":\".metadata.labels['app.kubernetes.io/name']\"},"
		"{\"name\":\"Since\",\"type\":\"date\",\"jsonPath\":\".status.since\"},"
		"{\"name\":\"NumDate\",\"type\":\"date\",\"jsonPath\":\".spec.size\"},"
		"{\"name\":\"BadDate\",\"type\":\"date\",\"jsonPath\":\".status.garbled\"},"
		"{\"name\":\"Missing\",\"type\":\"string\",\"jsonPath\":\".status.x\"},"
		"{\"name\":\"Mistyped\",\"type\":\"integer\",\"jsonPath\":\".spec.on\"},"
		"{\"name\":\"Wild\",\"type\":\"string\",\"jsonPath\":\".spec.parts[*].n\"},"
		"{\"name\":\"Past\",\"type\":\"string\",\"jsonPath\":\".spec.parts[7].n\"},"
		"{\"name\":\"Wide\",\"type\":\"string\",\"jsonPath\":\".spec.size\",\"priority\":1,"
		"\"description\":\"the size\"}]";
	const char *obj = "{\"metadata\":{\"name\":\"w\",\"creationTimestamp\":\"" T0 "\","
			  "\"labels\":{\"app.kubernetes.io/name\":\"w\"}},\"spec\":{\"size\":3,"
			  "\"ratio\":0.5,\"big\":1000000.0,\"on\":true,\"parts\":[{\"n\":\"x\"},"
			  "{\"n\":\"y\"}]},\"status\":{\"since\":\"2026-01-01T00:04:00Z\","
			  "\"garbled\":\"soon\"}}";
	check_cells("example.com", "Widget", obj, cols,
		    "[\"w\",\"5m\",3,0.5,\"3\",\"1e+06\",true,\"w\",\"x\",\"y\","
		    "\"[{\\\"n\\\":\\\"x\\\"},{\\\"n\\\":\\\"y\\\"}]\",\"w\",\"60s\",null,"
		    "\"<invalid>\",null,null,null,null,\"3\"]");
	json_t *pc = J(cols);
	json_t *t = table_new("example.com", "Widget", pc);
	json_t *defs = json_object_get(t, "columnDefinitions");
	assert_int_equal(json_array_size(defs), 2 + json_array_size(pc));
	json_t *size = json_array_get(defs, 2), *wide = json_array_get(defs, 19);
	assert_string_equal(json_string_value(json_object_get(size, "type")), "integer");
	assert_string_equal(json_string_value(json_object_get(size, "description")),
			    "Custom resource definition column (in JSONPath format): .spec.size");
	assert_int_equal(json_integer_value(json_object_get(wide, "priority")), 1);
	assert_string_equal(json_string_value(json_object_get(wide, "description")), "the size");
	json_decref(t);
	json_decref(pc);
	/* Go's %v of floats, for string columns. */
	check_cells("example.com", "Widget",
		    "{\"metadata\":{\"name\":\"f\"},\"spec\":{\"a\":123456.0,\"b\":1234567.0,"
		    "\"c\":0.0001,\"d\":0.00001,\"e\":-2.5}}",
		    "[{\"name\":\"a\",\"type\":\"string\",\"jsonPath\":\".spec.a\"},"
		    "{\"name\":\"b\",\"type\":\"string\",\"jsonPath\":\".spec.b\"},"
		    "{\"name\":\"c\",\"type\":\"string\",\"jsonPath\":\".spec.c\"},"
		    "{\"name\":\"d\",\"type\":\"string\",\"jsonPath\":\".spec.d\"},"
		    "{\"name\":\"e\",\"type\":\"string\",\"jsonPath\":\".spec.e\"}]",
		    "[\"f\",\"<unknown>\",\"123456\",\"1.234567e+06\",\"0.0001\",\"1e-05\","
		    "\"-2.5\"]");
	/* A column named Age replaces the generated one. */
	check_cells("example.com", "Widget", obj,
		    "[{\"name\":\"Age\",\"type\":\"date\",\"jsonPath\":\".status.since\"}]",
		    "[\"w\",\"60s\"]");
	/* No columns, or columns that are not what a CRD allows. */
	check_cells("example.com", "Widget", obj, NULL, "[\"w\",\"5m\"]");
	check_cells("example.com", "Widget", obj, "[]", "[\"w\",\"5m\"]");
	check_cells("example.com", "Widget", obj,
		    "[5,{},{\"name\":3,\"type\":[],\"jsonPath\":{}},{\"jsonPath\":\"spec.size\"},"
		    "{\"jsonPath\":\"\"},{\"jsonPath\":\"{.spec.size}\"},{\"jsonPath\":\".spec.\"},"
		    "{\"jsonPath\":\".spec['size\"},{\"jsonPath\":\".spec.parts[x]\"},"
		    "{\"jsonPath\":\"$.spec.size\",\"type\":\"integer\"}]",
		    "[\"w\",\"5m\",null,null,null,null,null,\"3\",null,null,null,3]");
}

/* --- include modes ------------------------------------------------------------------ */

static void include_modes(void **state)
{
	(void)state;
	const char *obj = "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":"
			  "\"c\",\"namespace\":\"team-a\",\"labels\":{\"tier\":\"backend\"}},"
			  "\"data\":{\"a\":\"1\"}}";
	json_t *o = J(obj);
	json_t *t = table_for("", "ConfigMap", obj, NULL, TABLE_INCLUDE_METADATA);
	json_t *ro = json_object_get(json_array_get(json_object_get(t, "rows"), 0), "object");
	assert_string_equal(json_string_value(json_object_get(ro, "kind")), "PartialObjectMetadata");
	assert_string_equal(json_string_value(json_object_get(ro, "apiVersion")), "meta.k8s.io/v1");
	assert_true(json_equal(json_object_get(ro, "metadata"), json_object_get(o, "metadata")));
	assert_null(json_object_get(ro, "data"));
	json_decref(t);
	t = table_for("", "ConfigMap", obj, NULL, TABLE_INCLUDE_OBJECT);
	ro = json_object_get(json_array_get(json_object_get(t, "rows"), 0), "object");
	assert_true(json_equal(ro, o));
	json_decref(t);
	t = table_for("", "ConfigMap", obj, NULL, TABLE_INCLUDE_NONE);
	assert_null(json_object_get(json_array_get(json_object_get(t, "rows"), 0), "object"));
	json_decref(t);
	/* No metadata: an empty one, never a crash. */
	t = table_for("", "ConfigMap", "{\"metadata\":[1]}", NULL, TABLE_INCLUDE_METADATA);
	ro = json_object_get(json_array_get(json_object_get(t, "rows"), 0), "object");
	assert_int_equal(json_object_size(json_object_get(ro, "metadata")), 0);
	json_decref(t);
	/* Rows accumulate; the table's own fields stay. */
	t = table_new("", "ConfigMap", NULL);
	for (int i = 0; i < 3; i++)
		assert_int_equal(table_add_row(t, "", "ConfigMap", NULL, o, TABLE_INCLUDE_NONE, NOW),
				 MK_OK);
	assert_int_equal(json_array_size(json_object_get(t, "rows")), 3);
	assert_true(json_is_object(json_object_get(t, "metadata")));
	/* Not an object, not a table: refused, nothing added. */
	json_t *arr = J("[1,2]");
	assert_int_equal(table_add_row(t, "", "ConfigMap", NULL, arr, TABLE_INCLUDE_NONE, NOW),
			 MK_EINVAL);
	assert_int_equal(table_add_row(t, "", "ConfigMap", NULL, NULL, TABLE_INCLUDE_NONE, NOW),
			 MK_EINVAL);
	assert_int_equal(table_add_row(arr, "", "ConfigMap", NULL, o, TABLE_INCLUDE_NONE, NOW),
			 MK_EINVAL);
	assert_int_equal(table_add_row(NULL, "", "ConfigMap", NULL, o, TABLE_INCLUDE_NONE, NOW),
			 MK_EINVAL);
	assert_int_equal(json_array_size(json_object_get(t, "rows")), 3);
	json_decref(arr);
	json_decref(t);
	json_decref(o);
}

/* --- garbage ---------------------------------------------------------------------- */

static void garbage_never_crashes(void **state)
{
	(void)state;
	const char *objects[] = {
		"{}",
		"{\"metadata\":5,\"spec\":\"x\",\"status\":[]}",
		"{\"metadata\":{\"name\":3,\"creationTimestamp\":7,\"labels\":[],\"annotations\":\"x\","
		"\"deletionTimestamp\":{}}}",
		"{\"metadata\":{\"labels\":{\"node-role.kubernetes.io/x\":5,\"kubernetes.io/role\":[]},"
		"\"annotations\":{\"storageclass.kubernetes.io/is-default-class\":true}}}",
		"{\"spec\":{\"containers\":{},\"initContainers\":5,\"ports\":\"x\",\"selector\":5,"
		"\"template\":[],\"readinessGates\":[5,{}],\"replicas\":\"7\",\"completions\":\"2\","
		"\"parallelism\":1e300,\"capacity\":{\"storage\":5},\"accessModes\":\"RWO\","
		"\"claimRef\":5,\"externalIPs\":[5,null],\"clusterIPs\":5,\"suspend\":\"yes\","
		"\"jobTemplate\":5,\"unschedulable\":\"true\"},"
		"\"status\":{\"containerStatuses\":{},\"conditions\":{\"a\":1},"
		"\"initContainerStatuses\":[5,null,{\"state\":5},{\"state\":{\"terminated\":5}}],"
		"\"addresses\":[5],\"loadBalancer\":{\"ingress\":[5,{\"ip\":7}]},\"podIPs\":\"x\","
		"\"active\":5,\"startTime\":5,\"readyReplicas\":-1e300}}",
		"{\"spec\":{\"containers\":[5,{\"name\":[],\"image\":{}}],\"ports\":[5,{\"port\":"
		"\"x\",\"nodePort\":-3}],\"selector\":{\"matchLabels\":5},\"template\":{\"spec\":{"
		"\"containers\":[null],\"nodeSelector\":{\"a\":5}}}},\"status\":{"
		"\"containerStatuses\":[null,5,{\"state\":{\"waiting\":5,\"terminated\":{\"exitCode\":"
		"\"x\"}},\"lastState\":{\"terminated\":{\"finishedAt\":\"garbage\"}},"
		"\"restartCount\":\"lots\"}],\"conditions\":[5,{\"type\":5}]}}",
		"{\"subsets\":[5,{\"addresses\":5,\"ports\":[5]},{\"addresses\":[5,{\"ip\":5}]}],"
		"\"involvedObject\":5,\"series\":5,\"count\":\"x\",\"source\":[],\"message\":5,"
		"\"subjects\":[5,{\"kind\":\"User\"}],\"roleRef\":\"x\",\"data\":[],\"secrets\":{}}",
	};
	const char *kinds[][2] = {
		{"", "Pod"}, {"", "Node"}, {"", "Service"}, {"", "Endpoints"}, {"", "Event"},
		{"", "Namespace"}, {"", "ConfigMap"}, {"", "Secret"}, {"", "ServiceAccount"},
		{"", "PersistentVolume"}, {"", "PersistentVolumeClaim"}, {"apps", "Deployment"},
		{"apps", "ReplicaSet"}, {"apps", "DaemonSet"}, {"apps", "StatefulSet"},
		{"batch", "Job"}, {"batch", "CronJob"}, {"coordination.k8s.io", "Lease"},
		{"storage.k8s.io", "StorageClass"}, {"rbac.authorization.k8s.io", "Role"},
		{"rbac.authorization.k8s.io", "RoleBinding"},
		{"apiextensions.k8s.io", "CustomResourceDefinition"}, {"example.com", "Widget"},
	};
	const char *cols = "[{\"name\":\"S\",\"type\":\"integer\",\"jsonPath\":\".spec.replicas\"},"
			   "{\"name\":\"T\",\"type\":\"date\",\"jsonPath\":\".status.startTime\"}]";
	for (size_t i = 0; i < sizeof objects / sizeof objects[0]; i++)
		for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
			for (int inc = TABLE_INCLUDE_METADATA; inc <= TABLE_INCLUDE_NONE; inc++)
				json_decref(table_for(kinds[k][0], kinds[k][1], objects[i],
						      k == 22 ? cols : NULL, inc));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ages),
		cmocka_unit_test(columns),
		cmocka_unit_test(pod_cells),
		cmocka_unit_test(pod_row_conditions),
		cmocka_unit_test(node_cells),
		cmocka_unit_test(service_cells),
		cmocka_unit_test(endpoints_cells),
		cmocka_unit_test(small_core_cells),
		cmocka_unit_test(event_cells),
		cmocka_unit_test(storage_cells),
		cmocka_unit_test(workload_cells),
		cmocka_unit_test(job_cells),
		cmocka_unit_test(other_cells),
		cmocka_unit_test(custom_columns),
		cmocka_unit_test(include_modes),
		cmocka_unit_test(garbage_never_crashes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
