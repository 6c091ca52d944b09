/*
 * The columns of each built-in kind, as kubernetes' printers
 * (pkg/printers/internalversion/printers.go, v1.32) define them, and the
 * cells computed the same way.  Objects may lack any field: a missing one
 * prints as the real server prints it (usually "<none>").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "object.h"
#include "selector.h"
#include "table.h"
#include "table_internal.h"

#define NAME_COL {"Name", "string", "name", 0}
#define AGE_COL {"Age", "string", "", 0}

/* --- helpers ---------------------------------------------------------- */

static const json_t *at(const json_t *obj, const char *path)
{
	return object_at(obj, path);
}

static const char *str(const json_t *obj, const char *path)
{
	return json_string_value(at(obj, path));
}

static long long num(const json_t *obj, const char *path)
{
	const json_t *v = at(obj, path);
	if (json_is_integer(v))
		return json_integer_value(v);
	if (json_is_string(v))
		return strtoll(json_string_value(v), NULL, 10);
	return 0;
}

static void add_s(json_t *cells, const char *s)
{
	json_array_append_new(cells, json_string(s != NULL && s[0] ? s : "<none>"));
}

static void add_raw(json_t *cells, const char *s)
{
	json_array_append_new(cells, json_string(s ? s : ""));
}

static void add_i(json_t *cells, long long v)
{
	json_array_append_new(cells, json_integer(v));
}

static void add_age(json_t *cells, const json_t *obj, time_t now)
{
	char age[32];
	table_age(age, sizeof age, str(obj, "metadata.creationTimestamp"), now);
	add_raw(cells, age);
}

static void add_name(json_t *cells, const json_t *obj)
{
	add_raw(cells, str(obj, "metadata.name"));
}

/* Joins a field of each element of `arr` with commas ("<none>" if empty). */
static void add_join(json_t *cells, const json_t *arr, const char *field)
{
	char buf[1024] = "";
	size_t i, used = 0;
	json_t *e;
	json_array_foreach(arr, i, e) {
		const char *v = field ? str(e, field) : json_string_value(e);
		if (v == NULL)
			continue;
		int n = snprintf(buf + used, sizeof buf - used, "%s%s", used ? "," : "", v);
		if (n < 0 || (size_t)n >= sizeof buf - used)
			break;
		used += (size_t)n;
	}
	add_s(cells, buf);
}

/* "k=v,k2=v2" of a string map. */
static void add_map(json_t *cells, const json_t *map)
{
	char buf[1024] = "";
	size_t used = 0;
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)map, k, v) {
		int n = snprintf(buf + used, sizeof buf - used, "%s%s=%s", used ? "," : "", k,
				 json_string_value(v) ? json_string_value(v) : "");
		if (n < 0 || (size_t)n >= sizeof buf - used)
			break;
		used += (size_t)n;
	}
	add_s(cells, buf);
}

static void add_selector(json_t *cells, const json_t *sel)
{
	char *text = sel ? label_selector_string(sel) : NULL;
	add_s(cells, text);
	free(text);
}

/* Containers*, Images* and Selector* of workloads. */
static void add_template(json_t *cells, const json_t *obj, const char *spec_path, bool selector)
{
	const json_t *cs = at(at(obj, spec_path), "containers");
	add_join(cells, cs, "name");
	add_join(cells, cs, "image");
	if (selector)
		add_selector(cells, at(obj, "spec.selector"));
}

/* --- Pod ---------------------------------------------------------------- */

static const struct table_column pod_cols[] = {
	NAME_COL, {"Ready", NULL, NULL, 0}, {"Status", NULL, NULL, 0},
	{"Restarts", NULL, NULL, 0}, AGE_COL, {"IP", NULL, NULL, 1}, {"Node", NULL, NULL, 1},
	{"Nominated Node", NULL, NULL, 1}, {"Readiness Gates", NULL, NULL, 1}, {NULL, NULL, NULL, 0}};

/* The STATUS cell: the phase, or the reason a container gives (printPod). */
static void pod_status(const json_t *pod, char *out, size_t len)
{
	const char *reason = str(pod, "status.reason");
	snprintf(out, len, "%s", reason ? reason : str(pod, "status.phase") ?: "Pending");
	const json_t *inits = at(pod, "status.initContainerStatuses");
	size_t n_init = json_array_size(at(pod, "spec.initContainers"));
	bool initializing = false;
	size_t i;
	json_t *cs;
	json_array_foreach(inits, i, cs) {
		const json_t *term = at(cs, "state.terminated");
		const json_t *wait = at(cs, "state.waiting");
		if (term != NULL && num(term, "exitCode") == 0)
			continue;
		initializing = true;
		if (term != NULL) {
			if (str(term, "reason"))
				snprintf(out, len, "Init:%s", str(term, "reason"));
			else if (num(term, "signal"))
				snprintf(out, len, "Init:Signal:%lld", num(term, "signal"));
			else
				snprintf(out, len, "Init:ExitCode:%lld", num(term, "exitCode"));
		} else if (wait != NULL && str(wait, "reason") &&
			   strcmp(str(wait, "reason"), "PodInitializing") != 0) {
			snprintf(out, len, "Init:%s", str(wait, "reason"));
		} else {
			snprintf(out, len, "Init:%zu/%zu", i, n_init);
		}
		break;
	}
	if (!initializing) {
		bool running = false;
		const json_t *list = at(pod, "status.containerStatuses");
		for (size_t k = json_array_size(list); k-- > 0;) {
			cs = json_array_get(list, k);
			const json_t *term = at(cs, "state.terminated");
			const char *wr = str(cs, "state.waiting.reason");
			if (wr != NULL && *wr)
				snprintf(out, len, "%s", wr);
			else if (term != NULL && str(term, "reason"))
				snprintf(out, len, "%s", str(term, "reason"));
			else if (term != NULL && num(term, "signal"))
				snprintf(out, len, "Signal:%lld", num(term, "signal"));
			else if (term != NULL)
				snprintf(out, len, "ExitCode:%lld", num(term, "exitCode"));
			else if (at(cs, "state.running") && json_is_true(at(cs, "ready")))
				running = true;
		}
		if (strcmp(out, "Completed") == 0 && running)
			snprintf(out, len, "Running");
	}
	if (at(pod, "metadata.deletionTimestamp") != NULL)
		snprintf(out, len, "%s", reason && strcmp(reason, "NodeLost") == 0 ? "Unknown"
									  : "Terminating");
}

static void pod_cells(const json_t *pod, time_t now, json_t *cells)
{
	const json_t *statuses = at(pod, "status.containerStatuses");
	long long ready = 0, restarts = 0;
	time_t last_restart = 0;
	size_t i;
	json_t *cs;
	json_array_foreach(statuses, i, cs) {
		ready += json_is_true(json_object_get(cs, "ready"));
		restarts += num(cs, "restartCount");
		time_t t = table_parse_time(str(cs, "lastState.terminated.finishedAt"));
		if (t != (time_t)-1 && t > last_restart)
			last_restart = t;
	}
	char buf[160];
	add_name(cells, pod);
	snprintf(buf, sizeof buf, "%lld/%zu", ready, json_array_size(at(pod, "spec.containers")));
	add_raw(cells, buf);
	pod_status(pod, buf, sizeof buf);
	add_raw(cells, buf);
	if (restarts > 0 && last_restart > 0) {
		char ago[32];
		table_duration(ago, sizeof ago, (long long)(now - last_restart));
		snprintf(buf, sizeof buf, "%lld (%s ago)", restarts, ago);
		add_raw(cells, buf);
	} else {
		snprintf(buf, sizeof buf, "%lld", restarts);
		add_raw(cells, buf);
	}
	add_age(cells, pod, now);
	add_s(cells, str(pod, "status.podIP"));
	add_s(cells, str(pod, "spec.nodeName"));
	add_s(cells, str(pod, "status.nominatedNodeName"));
	size_t gates = json_array_size(at(pod, "spec.readinessGates"));
	if (gates == 0) {
		add_s(cells, NULL);
	} else {
		size_t ok = 0, k;
		json_t *g, *c;
		json_array_foreach(at(pod, "spec.readinessGates"), i, g)
			json_array_foreach(at(pod, "status.conditions"), k, c)
				if (str(c, "type") && str(g, "conditionType") &&
				    strcmp(str(c, "type"), str(g, "conditionType")) == 0 &&
				    strcmp(str(c, "status") ?: "", "True") == 0)
					ok++;
		snprintf(buf, sizeof buf, "%zu/%zu", ok, gates);
		add_raw(cells, buf);
	}
}

/* --- workloads ---------------------------------------------------------- */

#define WIDE_TEMPLATE {"Containers", NULL, NULL, 1}, {"Images", NULL, NULL, 1}
static const struct table_column deploy_cols[] = {
	NAME_COL, {"Ready", NULL, NULL, 0}, {"Up-to-date", "integer", NULL, 0},
	{"Available", "integer", NULL, 0}, AGE_COL, WIDE_TEMPLATE, {"Selector", NULL, NULL, 1},
	{NULL, NULL, NULL, 0}};

static void deploy_cells(const json_t *d, time_t now, json_t *cells)
{
	char buf[64];
	add_name(cells, d);
	snprintf(buf, sizeof buf, "%lld/%lld", num(d, "status.readyReplicas"),
		 num(d, "spec.replicas"));
	add_raw(cells, buf);
	add_i(cells, num(d, "status.updatedReplicas"));
	add_i(cells, num(d, "status.availableReplicas"));
	add_age(cells, d, now);
	add_template(cells, d, "spec.template.spec", true);
}

static const struct table_column rs_cols[] = {
	NAME_COL, {"Desired", "integer", NULL, 0}, {"Current", "integer", NULL, 0},
	{"Ready", "integer", NULL, 0}, AGE_COL, WIDE_TEMPLATE, {"Selector", NULL, NULL, 1},
	{NULL, NULL, NULL, 0}};

static void rs_cells(const json_t *r, time_t now, json_t *cells)
{
	add_name(cells, r);
	add_i(cells, num(r, "spec.replicas"));
	add_i(cells, num(r, "status.replicas"));
	add_i(cells, num(r, "status.readyReplicas"));
	add_age(cells, r, now);
	add_template(cells, r, "spec.template.spec", true);
}

static const struct table_column ds_cols[] = {
	NAME_COL, {"Desired", "integer", NULL, 0}, {"Current", "integer", NULL, 0},
	{"Ready", "integer", NULL, 0}, {"Up-to-date", "integer", NULL, 0},
	{"Available", "integer", NULL, 0}, {"Node Selector", NULL, NULL, 0}, AGE_COL,
	WIDE_TEMPLATE, {"Selector", NULL, NULL, 1}, {NULL, NULL, NULL, 0}};

static void ds_cells(const json_t *d, time_t now, json_t *cells)
{
	add_name(cells, d);
	add_i(cells, num(d, "status.desiredNumberScheduled"));
	add_i(cells, num(d, "status.currentNumberScheduled"));
	add_i(cells, num(d, "status.numberReady"));
	add_i(cells, num(d, "status.updatedNumberScheduled"));
	add_i(cells, num(d, "status.numberAvailable"));
	add_map(cells, at(d, "spec.template.spec.nodeSelector"));
	add_age(cells, d, now);
	add_template(cells, d, "spec.template.spec", true);
}

static const struct table_column sts_cols[] = {
	NAME_COL, {"Ready", NULL, NULL, 0}, AGE_COL, WIDE_TEMPLATE, {NULL, NULL, NULL, 0}};

static void sts_cells(const json_t *s, time_t now, json_t *cells)
{
	char buf[64];
	add_name(cells, s);
	snprintf(buf, sizeof buf, "%lld/%lld", num(s, "status.readyReplicas"),
		 num(s, "spec.replicas"));
	add_raw(cells, buf);
	add_age(cells, s, now);
	add_template(cells, s, "spec.template.spec", false);
}

static const struct table_column job_cols[] = {
	NAME_COL, {"Status", NULL, NULL, 0}, {"Completions", NULL, NULL, 0},
	{"Duration", NULL, NULL, 0}, AGE_COL, WIDE_TEMPLATE, {"Selector", NULL, NULL, 1},
	{NULL, NULL, NULL, 0}};

static bool has_condition(const json_t *obj, const char *type)
{
	size_t i;
	json_t *c;
	json_array_foreach(at(obj, "status.conditions"), i, c)
		if (strcmp(str(c, "type") ?: "", type) == 0 &&
		    strcmp(str(c, "status") ?: "", "True") == 0)
			return true;
	return false;
}

static void job_cells(const json_t *j, time_t now, json_t *cells)
{
	char buf[64];
	add_name(cells, j);
	const char *status = has_condition(j, "Complete")       ? "Complete"
			     : has_condition(j, "Failed")       ? "Failed"
			     : has_condition(j, "FailureTarget") ? "FailureTarget"
			     : has_condition(j, "Suspended")    ? "Suspended"
			     : json_is_true(at(j, "spec.suspend")) ? "Suspended"
								   : "Running";
	add_raw(cells, status);
	const json_t *completions = at(j, "spec.completions");
	if (json_is_integer(completions))
		snprintf(buf, sizeof buf, "%lld/%lld", num(j, "status.succeeded"),
			 (long long)json_integer_value(completions));
	else
		snprintf(buf, sizeof buf, "%lld/1 of %lld", num(j, "status.succeeded"),
			 num(j, "spec.parallelism"));
	add_raw(cells, buf);
	time_t start = table_parse_time(str(j, "status.startTime"));
	time_t end = table_parse_time(str(j, "status.completionTime"));
	if (start == (time_t)-1)
		buf[0] = '\0';
	else
		table_duration(buf, sizeof buf, (long long)((end != (time_t)-1 ? end : now) - start));
	add_raw(cells, buf);
	add_age(cells, j, now);
	add_template(cells, j, "spec.template.spec", true);
}

static const struct table_column cj_cols[] = {
	NAME_COL, {"Schedule", NULL, NULL, 0}, {"Timezone", NULL, NULL, 0},
	{"Suspend", "boolean", NULL, 0}, {"Active", "integer", NULL, 0},
	{"Last Schedule", NULL, NULL, 0}, AGE_COL, WIDE_TEMPLATE, {"Selector", NULL, NULL, 1},
	{NULL, NULL, NULL, 0}};

static void cj_cells(const json_t *c, time_t now, json_t *cells)
{
	add_name(cells, c);
	add_raw(cells, str(c, "spec.schedule"));
	add_s(cells, str(c, "spec.timeZone"));
	add_raw(cells, json_is_true(at(c, "spec.suspend")) ? "True" : "False");
	add_i(cells, (long long)json_array_size(at(c, "status.active")));
	const char *last = str(c, "status.lastScheduleTime");
	char buf[32];
	if (last != NULL) {
		table_age(buf, sizeof buf, last, now);
		add_raw(cells, buf);
	} else {
		add_s(cells, NULL);
	}
	add_age(cells, c, now);
	add_template(cells, c, "spec.jobTemplate.spec.template.spec", false);
	add_selector(cells, at(c, "spec.jobTemplate.spec.selector"));
}

/* --- core ------------------------------------------------------------------ */

static const struct table_column svc_cols[] = {
	NAME_COL, {"Type", NULL, NULL, 0}, {"Cluster-IP", NULL, NULL, 0},
	{"External-IP", NULL, NULL, 0}, {"Port(s)", NULL, NULL, 0}, AGE_COL,
	{"Selector", NULL, NULL, 1}, {NULL, NULL, NULL, 0}};

static void svc_cells(const json_t *s, time_t now, json_t *cells)
{
	const char *type = str(s, "spec.type") ?: "ClusterIP";
	add_name(cells, s);
	add_raw(cells, type);
	add_s(cells, str(s, "spec.clusterIP"));
	char buf[1024] = "";
	size_t used = 0, i;
	json_t *e;
	if (strcmp(type, "ExternalName") == 0) {
		add_s(cells, str(s, "spec.externalName"));
	} else {
		json_array_foreach(at(s, "status.loadBalancer.ingress"), i, e) {
			const char *v = str(e, "ip") ?: str(e, "hostname");
			if (v)
				used += (size_t)snprintf(buf + used, sizeof buf - used, "%s%s",
							 used ? "," : "", v);
		}
		json_array_foreach(at(s, "spec.externalIPs"), i, e)
			if (json_string_value(e) && used < sizeof buf - 64)
				used += (size_t)snprintf(buf + used, sizeof buf - used, "%s%s",
							 used ? "," : "", json_string_value(e));
		if (used == 0 && strcmp(type, "LoadBalancer") == 0)
			add_raw(cells, "<pending>");
		else
			add_s(cells, buf);
	}
	buf[0] = '\0';
	used = 0;
	json_array_foreach(at(s, "spec.ports"), i, e) {
		char one[64];
		if (num(e, "nodePort"))
			snprintf(one, sizeof one, "%lld:%lld/%s", num(e, "port"), num(e, "nodePort"),
				 str(e, "protocol") ?: "TCP");
		else
			snprintf(one, sizeof one, "%lld/%s", num(e, "port"), str(e, "protocol") ?: "TCP");
		if (used + strlen(one) + 2 >= sizeof buf)
			break;
		used += (size_t)snprintf(buf + used, sizeof buf - used, "%s%s", used ? "," : "", one);
	}
	add_s(cells, buf);
	add_age(cells, s, now);
	add_map(cells, at(s, "spec.selector"));
}

static const struct table_column node_cols[] = {
	NAME_COL, {"Status", NULL, NULL, 0}, {"Roles", NULL, NULL, 0}, AGE_COL,
	{"Version", NULL, NULL, 0}, {"Internal-IP", NULL, NULL, 1},
	{"External-IP", NULL, NULL, 1}, {"OS-Image", NULL, NULL, 1},
	{"Kernel-Version", NULL, NULL, 1}, {"Container-Runtime", NULL, NULL, 1},
	{NULL, NULL, NULL, 0}};

static void node_address(json_t *cells, const json_t *n, const char *type)
{
	size_t i;
	json_t *a;
	json_array_foreach(at(n, "status.addresses"), i, a)
		if (strcmp(str(a, "type") ?: "", type) == 0) {
			add_s(cells, str(a, "address"));
			return;
		}
	add_s(cells, NULL);
}

static void node_cells(const json_t *n, time_t now, json_t *cells)
{
	char status[64] = "Unknown", roles[512] = "";
	size_t i, used = 0;
	json_t *c;
	json_array_foreach(at(n, "status.conditions"), i, c)
		if (strcmp(str(c, "type") ?: "", "Ready") == 0) {
			const char *s = str(c, "status") ?: "";
			snprintf(status, sizeof status, "%s",
				 strcmp(s, "True") == 0 ? "Ready" : strcmp(s, "False") == 0 ? "NotReady"
											: "Unknown");
		}
	if (json_is_true(at(n, "spec.unschedulable")))
		strncat(status, ",SchedulingDisabled", sizeof status - strlen(status) - 1);
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)at(n, "metadata.labels"), k, v) {
		const char *role = NULL;
		if (strncmp(k, "node-role.kubernetes.io/", 24) == 0)
			role = k + 24;
		else if (strcmp(k, "kubernetes.io/role") == 0)
			role = json_string_value(v);
		if (role && *role && used < sizeof roles - 64)
			used += (size_t)snprintf(roles + used, sizeof roles - used, "%s%s",
						 used ? "," : "", role);
	}
	add_name(cells, n);
	add_raw(cells, status);
	add_s(cells, roles);
	add_age(cells, n, now);
	add_raw(cells, str(n, "status.nodeInfo.kubeletVersion"));
	node_address(cells, n, "InternalIP");
	node_address(cells, n, "ExternalIP");
	add_s(cells, str(n, "status.nodeInfo.osImage"));
	add_s(cells, str(n, "status.nodeInfo.kernelVersion"));
	add_s(cells, str(n, "status.nodeInfo.containerRuntimeVersion"));
}

static const struct table_column ns_cols[] = {
	NAME_COL, {"Status", NULL, NULL, 0}, AGE_COL, {NULL, NULL, NULL, 0}};

static void ns_cells(const json_t *o, time_t now, json_t *cells)
{
	add_name(cells, o);
	add_raw(cells, str(o, "status.phase"));
	add_age(cells, o, now);
}

static const struct table_column cm_cols[] = {
	NAME_COL, {"Data", "integer", NULL, 0}, AGE_COL, {NULL, NULL, NULL, 0}};

static void cm_cells(const json_t *o, time_t now, json_t *cells)
{
	add_name(cells, o);
	add_i(cells, (long long)(json_object_size(at(o, "data")) +
				 json_object_size(at(o, "binaryData"))));
	add_age(cells, o, now);
}

static const struct table_column secret_cols[] = {
	NAME_COL, {"Type", NULL, NULL, 0}, {"Data", "integer", NULL, 0}, AGE_COL,
	{NULL, NULL, NULL, 0}};

static void secret_cells(const json_t *o, time_t now, json_t *cells)
{
	add_name(cells, o);
	add_raw(cells, str(o, "type"));
	add_i(cells, (long long)json_object_size(at(o, "data")));
	add_age(cells, o, now);
}

static const struct table_column sa_cols[] = {
	NAME_COL, {"Secrets", "integer", NULL, 0}, AGE_COL, {NULL, NULL, NULL, 0}};

static void sa_cells(const json_t *o, time_t now, json_t *cells)
{
	add_name(cells, o);
	add_i(cells, (long long)json_array_size(at(o, "secrets")));
	add_age(cells, o, now);
}

static const struct table_column ep_cols[] = {
	NAME_COL, {"Endpoints", NULL, NULL, 0}, AGE_COL, {NULL, NULL, NULL, 0}};

static void ep_cells(const json_t *o, time_t now, json_t *cells)
{
	char buf[256] = "";
	size_t used = 0, shown = 0, total = 0, i, k, m;
	json_t *subset, *addr, *port;
	json_array_foreach(at(o, "subsets"), i, subset) {
		json_array_foreach(json_object_get(subset, "addresses"), k, addr) {
			const json_t *ports = json_object_get(subset, "ports");
			size_t np = json_array_size(ports) ? json_array_size(ports) : 1;
			for (m = 0; m < np; m++) {
				total++;
				if (shown == 3)
					continue;
				port = json_array_get(ports, m);
				if (port)
					used += (size_t)snprintf(buf + used, sizeof buf - used, "%s%s:%lld",
								 used ? "," : "", str(addr, "ip") ?: "",
								 num(port, "port"));
				else
					used += (size_t)snprintf(buf + used, sizeof buf - used, "%s%s",
								 used ? "," : "", str(addr, "ip") ?: "");
				shown++;
			}
		}
	}
	if (total > shown)
		snprintf(buf + used, sizeof buf - used, " + %zu more...", total - shown);
	add_name(cells, o);
	add_s(cells, buf);
	add_age(cells, o, now);
}

static const struct table_column event_cols[] = {
	{"Last Seen", NULL, NULL, 0}, {"Type", NULL, NULL, 0}, {"Reason", NULL, NULL, 0},
	{"Object", NULL, NULL, 0}, {"Subobject", NULL, NULL, 1}, {"Source", NULL, NULL, 1},
	{"Message", NULL, NULL, 0}, {"First Seen", NULL, NULL, 1}, {"Count", "integer", NULL, 1},
	{"Name", "string", "name", 1}, {NULL, NULL, NULL, 0}};

static void event_cells(const json_t *e, time_t now, json_t *cells)
{
	char buf[512];
	const char *last = str(e, "lastTimestamp") ?: str(e, "eventTime") ?: str(e, "metadata.creationTimestamp");
	const char *first = str(e, "firstTimestamp") ?: str(e, "eventTime") ?: last;
	table_age(buf, sizeof buf, last, now);
	add_raw(cells, buf);
	add_raw(cells, str(e, "type"));
	add_raw(cells, str(e, "reason"));
	char kind[64];
	snprintf(kind, sizeof kind, "%s", str(e, "involvedObject.kind") ?: "");
	for (char *p = kind; *p; p++)
		*p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
	snprintf(buf, sizeof buf, "%s/%s", kind, str(e, "involvedObject.name") ?: "");
	add_raw(cells, buf);
	add_raw(cells, str(e, "involvedObject.fieldPath"));
	const char *comp = str(e, "source.component") ?: str(e, "reportingComponent") ?: "";
	const char *host = str(e, "source.host");
	if (host && *host)
		snprintf(buf, sizeof buf, "%s, %s", comp, host);
	else
		snprintf(buf, sizeof buf, "%s", comp);
	add_raw(cells, buf);
	add_raw(cells, str(e, "message"));
	table_age(buf, sizeof buf, first, now);
	add_raw(cells, buf);
	add_i(cells, num(e, "count") ? num(e, "count") : 1);
	add_name(cells, e);
}

static const char *access_short(const char *m)
{
	return strcmp(m, "ReadWriteOnce") == 0      ? "RWO"
	       : strcmp(m, "ReadOnlyMany") == 0     ? "ROX"
	       : strcmp(m, "ReadWriteMany") == 0    ? "RWX"
	       : strcmp(m, "ReadWriteOncePod") == 0 ? "RWOP"
						    : m;
}

static void add_modes(json_t *cells, const json_t *modes)
{
	char buf[64] = "";
	size_t i, used = 0;
	json_t *m;
	json_array_foreach(modes, i, m)
		if (json_string_value(m) && used < sizeof buf - 8)
			used += (size_t)snprintf(buf + used, sizeof buf - used, "%s%s", used ? "," : "",
						 access_short(json_string_value(m)));
	add_raw(cells, buf);
}

static const struct table_column pv_cols[] = {
	NAME_COL, {"Capacity", NULL, NULL, 0}, {"Access Modes", NULL, NULL, 0},
	{"Reclaim Policy", NULL, NULL, 0}, {"Status", NULL, NULL, 0}, {"Claim", NULL, NULL, 0},
	{"StorageClass", NULL, NULL, 0}, {"VolumeAttributesClass", NULL, NULL, 0},
	{"Reason", NULL, NULL, 0}, AGE_COL, {"VolumeMode", NULL, NULL, 1}, {NULL, NULL, NULL, 0}};

static void pv_cells(const json_t *o, time_t now, json_t *cells)
{
	char claim[512] = "";
	if (str(o, "spec.claimRef.name"))
		snprintf(claim, sizeof claim, "%s/%s", str(o, "spec.claimRef.namespace") ?: "",
			 str(o, "spec.claimRef.name"));
	add_name(cells, o);
	add_raw(cells, str(o, "spec.capacity.storage"));
	add_modes(cells, at(o, "spec.accessModes"));
	add_raw(cells, str(o, "spec.persistentVolumeReclaimPolicy") ?: "Retain");
	add_raw(cells, str(o, "status.phase"));
	add_raw(cells, claim);
	add_raw(cells, str(o, "spec.storageClassName"));
	add_raw(cells, str(o, "spec.volumeAttributesClassName") ?: "<unset>");
	add_raw(cells, str(o, "status.reason"));
	add_age(cells, o, now);
	add_raw(cells, str(o, "spec.volumeMode") ?: "Filesystem");
}

static const struct table_column pvc_cols[] = {
	NAME_COL, {"Status", NULL, NULL, 0}, {"Volume", NULL, NULL, 0},
	{"Capacity", NULL, NULL, 0}, {"Access Modes", NULL, NULL, 0},
	{"StorageClass", NULL, NULL, 0}, {"VolumeAttributesClass", NULL, NULL, 0}, AGE_COL,
	{"VolumeMode", NULL, NULL, 1}, {NULL, NULL, NULL, 0}};

static void pvc_cells(const json_t *o, time_t now, json_t *cells)
{
	add_name(cells, o);
	add_raw(cells, str(o, "status.phase") ?: "Pending");
	add_raw(cells, str(o, "spec.volumeName"));
	add_raw(cells, str(o, "status.capacity.storage"));
	add_modes(cells, at(o, "status.accessModes"));
	add_raw(cells, str(o, "spec.storageClassName"));
	add_raw(cells, str(o, "spec.volumeAttributesClassName") ?: "<unset>");
	add_age(cells, o, now);
	add_raw(cells, str(o, "spec.volumeMode") ?: "Filesystem");
}

/* --- other groups ----------------------------------------------------------- */

static const struct table_column lease_cols[] = {
	NAME_COL, {"Holder", NULL, NULL, 0}, AGE_COL, {NULL, NULL, NULL, 0}};

static void lease_cells(const json_t *o, time_t now, json_t *cells)
{
	add_name(cells, o);
	add_raw(cells, str(o, "spec.holderIdentity"));
	add_age(cells, o, now);
}

static const struct table_column sc_cols[] = {
	NAME_COL, {"Provisioner", NULL, NULL, 0}, {"ReclaimPolicy", NULL, NULL, 0},
	{"VolumeBindingMode", NULL, NULL, 0}, {"AllowVolumeExpansion", NULL, NULL, 0}, AGE_COL,
	{NULL, NULL, NULL, 0}};

static void sc_cells(const json_t *o, time_t now, json_t *cells)
{
	char name[300];
	const json_t *ann = at(o, "metadata.annotations");
	const char *def = json_string_value(json_object_get(ann, "storageclass.kubernetes.io/is-default-class"));
	if (def == NULL)
		def = json_string_value(json_object_get(ann, "storageclass.beta.kubernetes.io/is-default-class"));
	snprintf(name, sizeof name, "%s%s", str(o, "metadata.name") ?: "",
		 def && strcmp(def, "true") == 0 ? " (default)" : "");
	add_raw(cells, name);
	add_raw(cells, str(o, "provisioner"));
	add_raw(cells, str(o, "reclaimPolicy") ?: "Delete");
	add_raw(cells, str(o, "volumeBindingMode") ?: "Immediate");
	add_raw(cells, json_is_true(at(o, "allowVolumeExpansion")) ? "true" : "false");
	add_age(cells, o, now);
}

static const struct table_column created_cols[] = {
	NAME_COL, {"Created At", "date", NULL, 0}, {NULL, NULL, NULL, 0}};

static void created_cells(const json_t *o, time_t now, json_t *cells)
{
	(void)now;
	add_name(cells, o);
	add_raw(cells, str(o, "metadata.creationTimestamp"));
}

static const struct table_column binding_cols[] = {
	NAME_COL, {"Role", NULL, NULL, 0}, AGE_COL, {"Users", NULL, NULL, 1},
	{"Groups", NULL, NULL, 1}, {"ServiceAccounts", NULL, NULL, 1}, {NULL, NULL, NULL, 0}};

static void binding_cells(const json_t *o, time_t now, json_t *cells)
{
	char buf[512];
	snprintf(buf, sizeof buf, "%s/%s", str(o, "roleRef.kind") ?: "", str(o, "roleRef.name") ?: "");
	add_name(cells, o);
	add_raw(cells, buf);
	add_age(cells, o, now);
	const char *kinds[] = {"User", "Group", "ServiceAccount"};
	for (int k = 0; k < 3; k++) {
		char list[1024] = "";
		size_t used = 0, i;
		json_t *s;
		json_array_foreach(at(o, "subjects"), i, s) {
			if (strcmp(str(s, "kind") ?: "", kinds[k]) != 0 || used > sizeof list - 300)
				continue;
			if (k == 2)
				used += (size_t)snprintf(list + used, sizeof list - used, "%s%s/%s",
							 used ? ", " : "", str(s, "namespace") ?: "",
							 str(s, "name") ?: "");
			else
				used += (size_t)snprintf(list + used, sizeof list - used, "%s%s",
							 used ? ", " : "", str(s, "name") ?: "");
		}
		add_raw(cells, list);
	}
}

static const struct table_kind kinds[] = {
	{"", "Pod", pod_cols, pod_cells},
	{"", "Service", svc_cols, svc_cells},
	{"", "Node", node_cols, node_cells},
	{"", "Namespace", ns_cols, ns_cells},
	{"", "ConfigMap", cm_cols, cm_cells},
	{"", "Secret", secret_cols, secret_cells},
	{"", "ServiceAccount", sa_cols, sa_cells},
	{"", "Endpoints", ep_cols, ep_cells},
	{"", "Event", event_cols, event_cells},
	{"", "PersistentVolume", pv_cols, pv_cells},
	{"", "PersistentVolumeClaim", pvc_cols, pvc_cells},
	{"apps", "Deployment", deploy_cols, deploy_cells},
	{"apps", "ReplicaSet", rs_cols, rs_cells},
	{"apps", "DaemonSet", ds_cols, ds_cells},
	{"apps", "StatefulSet", sts_cols, sts_cells},
	{"batch", "Job", job_cols, job_cells},
	{"batch", "CronJob", cj_cols, cj_cells},
	{"coordination.k8s.io", "Lease", lease_cols, lease_cells},
	{"storage.k8s.io", "StorageClass", sc_cols, sc_cells},
	{"rbac.authorization.k8s.io", "Role", created_cols, created_cells},
	{"rbac.authorization.k8s.io", "ClusterRole", created_cols, created_cells},
	{"rbac.authorization.k8s.io", "RoleBinding", binding_cols, binding_cells},
	{"rbac.authorization.k8s.io", "ClusterRoleBinding", binding_cols, binding_cells},
	{"apiextensions.k8s.io", "CustomResourceDefinition", created_cols, created_cells},
};

const struct table_kind *table_kind_find(const char *group, const char *kind)
{
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
		if (strcmp(kinds[i].kind, kind) == 0 && strcmp(kinds[i].group, group) == 0)
			return &kinds[i];
	return NULL;
}
