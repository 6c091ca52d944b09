/*
 * Tables of the core kinds other than Pod and the volumes, as kubernetes
 * pkg/printers/internalversion (v1.32) prints them.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/buf.h"
#include "table.h"
#include "table_internal.h"

#define NAME {"Name", NULL, "name", 0}
#define AGE {"Age", NULL, NULL, 0}
#define END {NULL, NULL, NULL, 0}

/* --- Service ------------------------------------------------------------------- */

static const struct table_column service_columns[] = {
	NAME, {"Type", NULL, NULL, 0}, {"Cluster-IP", NULL, NULL, 0},
	{"External-IP", NULL, NULL, 0}, {"Port(s)", NULL, NULL, 0}, AGE,
	{"Selector", NULL, NULL, 1}, END,
};

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The load balancer's addresses (IP, else hostname), sorted, once each. */
static void lb_ingress(struct mk_buf *b, const json_t *svc)
{
	const json_t *ingress = tc_at(svc, "status.loadBalancer.ingress");
	size_t n = json_array_size(ingress), k = 0, i;
	const char **v = n ? calloc(n, sizeof *v) : NULL;
	json_t *e;
	if (v == NULL)
		return;
	json_array_foreach(ingress, i, e) {
		const char *ip = tc_str(e, "ip"), *host = tc_str(e, "hostname");
		const char *a = ip && *ip ? ip : host && *host ? host : NULL;
		if (a != NULL)
			v[k++] = a;
	}
	qsort(v, k, sizeof *v, cmp_str);
	for (i = 0; i < k; i++)
		if (i == 0 || strcmp(v[i], v[i - 1]) != 0)
			tc_cat(b, ",", v[i]);
	free(v);
}

static void external_ips(struct mk_buf *b, const json_t *svc)
{
	size_t i;
	json_t *e;
	json_array_foreach(tc_at(svc, "spec.externalIPs"), i, e)
		tc_cat(b, ",", json_string_value(e) ?: "");
}

static void service_cells(const json_t *s, time_t now, json_t *cells)
{
	const char *type = tc_str(s, "spec.type") ?: "";
	struct mk_buf b = MK_BUF_INIT;
	tc_name(cells, s);
	tc_text(cells, type);
	/* clusterIPs[0]; clusterIP for objects written without the list. */
	const char *ip = json_string_value(json_array_get(tc_at(s, "spec.clusterIPs"), 0));
	tc_text_or(cells, ip && *ip ? ip : tc_str(s, "spec.clusterIP"), "<none>");
	if (strcmp(type, "ClusterIP") == 0 || strcmp(type, "NodePort") == 0) {
		external_ips(&b, s);
		tc_buf_cell(cells, &b, "<none>");
	} else if (strcmp(type, "LoadBalancer") == 0) {
		lb_ingress(&b, s);
		external_ips(&b, s);
		tc_buf_cell(cells, &b, "<pending>");
	} else if (strcmp(type, "ExternalName") == 0) {
		tc_text(cells, tc_str(s, "spec.externalName"));
	} else {
		tc_text(cells, "<unknown>");
	}
	size_t i;
	json_t *p;
	json_array_foreach(tc_at(s, "spec.ports"), i, p) {
		const char *proto = tc_str(p, "protocol") ?: "";
		if (tc_int(p, "nodePort") > 0)
			tc_catf(&b, "%s%lld:%lld/%.32s", i ? "," : "", tc_int(p, "port"),
				tc_int(p, "nodePort"), proto);
		else
			tc_catf(&b, "%s%lld/%.32s", i ? "," : "", tc_int(p, "port"), proto);
	}
	tc_buf_cell(cells, &b, "<none>");
	tc_age(cells, s, now);
	tc_labels(cells, tc_at(s, "spec.selector"));
}

/* --- Node ------------------------------------------------------------------------ */

static const struct table_column node_columns[] = {
	NAME, {"Status", NULL, NULL, 0}, {"Roles", NULL, NULL, 0}, AGE,
	{"Version", NULL, NULL, 0}, {"Internal-IP", NULL, NULL, 1},
	{"External-IP", NULL, NULL, 1}, {"OS-Image", NULL, NULL, 1},
	{"Kernel-Version", NULL, NULL, 1}, {"Container-Runtime", NULL, NULL, 1}, END,
};

static void node_address(json_t *cells, const json_t *n, const char *type)
{
	size_t i;
	json_t *a;
	json_array_foreach(tc_at(n, "status.addresses"), i, a)
		if (strcmp(tc_str(a, "type") ?: "", type) == 0) {
			tc_text(cells, tc_str(a, "address"));
			return;
		}
	tc_text(cells, "<none>");
}

/* node-role.kubernetes.io/<role> labels and kubernetes.io/role=<role>,
 * sorted, once each. */
static void node_roles(json_t *cells, const json_t *n)
{
	static const char prefix[] = "node-role.kubernetes.io/";
	const json_t *labels = tc_at(n, "metadata.labels");
	size_t count = json_is_object(labels) ? json_object_size(labels) : 0, k = 0;
	const char **roles = count ? calloc(count, sizeof *roles) : NULL;
	struct mk_buf b = MK_BUF_INIT;
	const char *key;
	json_t *v;
	if (roles != NULL) {
		json_object_foreach((json_t *)labels, key, v) {
			const char *role = NULL;
			if (strncmp(key, prefix, sizeof prefix - 1) == 0)
				role = key + sizeof prefix - 1;
			else if (strcmp(key, "kubernetes.io/role") == 0)
				role = json_string_value(v);
			if (role != NULL && *role)
				roles[k++] = role;
		}
		qsort(roles, k, sizeof *roles, cmp_str);
	}
	for (size_t i = 0; i < k; i++)
		if (i == 0 || strcmp(roles[i], roles[i - 1]) != 0)
			tc_cat(&b, ",", roles[i]);
	free(roles);
	tc_buf_cell(cells, &b, "<none>");
}

static void node_cells(const json_t *n, time_t now, json_t *cells)
{
	struct mk_buf status = MK_BUF_INIT;
	size_t i;
	json_t *c;
	const json_t *ready = NULL;
	/* The last Ready condition wins, as in upstream's map. */
	json_array_foreach(tc_at(n, "status.conditions"), i, c)
		if (strcmp(tc_str(c, "type") ?: "", "Ready") == 0)
			ready = c;
	if (ready == NULL)
		tc_cat(&status, NULL, "Unknown");
	else
		tc_cat(&status, NULL,
		       strcmp(tc_str(ready, "status") ?: "", "True") == 0 ? "Ready" : "NotReady");
	if (tc_true(n, "spec.unschedulable"))
		tc_cat(&status, ",", "SchedulingDisabled");
	tc_name(cells, n);
	tc_buf_cell(cells, &status, "");
	node_roles(cells, n);
	tc_age(cells, n, now);
	tc_text(cells, tc_str(n, "status.nodeInfo.kubeletVersion"));
	node_address(cells, n, "InternalIP");
	node_address(cells, n, "ExternalIP");
	tc_text_or(cells, tc_str(n, "status.nodeInfo.osImage"), "<unknown>");
	tc_text_or(cells, tc_str(n, "status.nodeInfo.kernelVersion"), "<unknown>");
	tc_text_or(cells, tc_str(n, "status.nodeInfo.containerRuntimeVersion"), "<unknown>");
}

/* --- small kinds -------------------------------------------------------------------- */

static const struct table_column namespace_columns[] = {
	NAME, {"Status", NULL, NULL, 0}, AGE, END,
};

static void namespace_cells(const json_t *o, time_t now, json_t *cells)
{
	tc_name(cells, o);
	tc_text(cells, tc_str(o, "status.phase"));
	tc_age(cells, o, now);
}

static const struct table_column configmap_columns[] = {
	NAME, {"Data", NULL, NULL, 0}, AGE, END,
};

static size_t object_size(const json_t *v)
{
	return json_is_object(v) ? json_object_size(v) : 0;
}

static void configmap_cells(const json_t *o, time_t now, json_t *cells)
{
	tc_name(cells, o);
	tc_int_cell(cells, (long long)(object_size(tc_at(o, "data")) +
				       object_size(tc_at(o, "binaryData"))));
	tc_age(cells, o, now);
}

static const struct table_column secret_columns[] = {
	NAME, {"Type", NULL, NULL, 0}, {"Data", NULL, NULL, 0}, AGE, END,
};

static void secret_cells(const json_t *o, time_t now, json_t *cells)
{
	tc_name(cells, o);
	tc_text(cells, tc_str(o, "type"));
	tc_int_cell(cells, (long long)object_size(tc_at(o, "data")));
	tc_age(cells, o, now);
}

static const struct table_column serviceaccount_columns[] = {
	NAME, {"Secrets", NULL, NULL, 0}, AGE, END,
};

static void serviceaccount_cells(const json_t *o, time_t now, json_t *cells)
{
	tc_name(cells, o);
	tc_int_cell(cells, (long long)json_array_size(tc_at(o, "secrets")));
	tc_age(cells, o, now);
}

/* --- Endpoints ------------------------------------------------------------------------ */

static const struct table_column endpoints_columns[] = {
	NAME, {"Endpoints", NULL, NULL, 0}, AGE, END,
};

/* One address (IPv6 in brackets when a port follows, as net.JoinHostPort). */
static void endpoint(struct mk_buf *b, const char *ip, const json_t *port)
{
	ip = ip ? ip : "";
	if (port == NULL)
		tc_cat(b, ",", ip);
	else if (strchr(ip, ':') != NULL)
		tc_catf(b, "%s[%.64s]:%lld", b->len ? "," : "", ip, tc_int(port, "port"));
	else
		tc_catf(b, "%s%.64s:%lld", b->len ? "," : "", ip, tc_int(port, "port"));
}

/* formatEndpoints: the first three addresses (with each port), then
 * " + N more...". */
static void endpoints_cells(const json_t *o, time_t now, json_t *cells)
{
	const json_t *subsets = tc_at(o, "subsets");
	struct mk_buf b = MK_BUF_INIT;
	size_t shown = 0, count = 0, i, k, m;
	json_t *ss, *addr, *port;
	json_array_foreach(subsets, i, ss) {
		const json_t *addrs = json_object_get(ss, "addresses");
		const json_t *ports = json_object_get(ss, "ports");
		/* Headless services may have no ports: addresses alone. */
		size_t n_ports = json_array_size(ports) ? json_array_size(ports) : 1;
		for (m = 0; m < n_ports; m++) {
			port = json_array_get(ports, m);
			count += json_array_size(addrs);
			json_array_foreach(addrs, k, addr) {
				if (shown == 3)
					break;
				endpoint(&b, tc_str(addr, "ip"), port);
				shown++;
			}
		}
	}
	if (count > 3)
		tc_catf(&b, " + %zu more...", count - 3);
	tc_name(cells, o);
	if (json_array_size(subsets) == 0)
		tc_text(cells, "<none>");
	else
		tc_buf_cell(cells, &b, "");
	mk_buf_free(&b);
	tc_age(cells, o, now);
}

/* --- Event ------------------------------------------------------------------------------ */

static const struct table_column event_columns[] = {
	{"Last Seen", NULL, NULL, 0}, {"Type", NULL, NULL, 0}, {"Reason", NULL, NULL, 0},
	{"Object", NULL, NULL, 0}, {"Subobject", NULL, NULL, 1}, {"Source", NULL, NULL, 1},
	{"Message", NULL, NULL, 0}, {"First Seen", NULL, NULL, 1}, {"Count", NULL, NULL, 1},
	{"Name", NULL, "name", 1}, END,
};

static const char *first_non_empty(const char *a, const char *b)
{
	return a != NULL && *a ? a : b != NULL ? b : "";
}

static void event_cells(const json_t *e, time_t now, json_t *cells)
{
	char first[32], last[32];
	const char *ts = tc_str(e, "firstTimestamp");
	time_t t;
	table_age(first, sizeof first, table_time(ts, &t) ? ts : tc_str(e, "eventTime"), now);
	ts = tc_str(e, "lastTimestamp");
	if (table_time(ts, &t))
		table_age(last, sizeof last, ts, now);
	else
		snprintf(last, sizeof last, "%s", first);
	long long count = tc_int(e, "count");
	const json_t *series = tc_at(e, "series");
	if (json_is_object(series)) {
		table_age(last, sizeof last, tc_str(series, "lastObservedTime"), now);
		count = tc_int(series, "count");
	} else if (count == 0) {
		count = 1; /* singleton events of the new API have no count */
	}

	struct mk_buf b = MK_BUF_INIT;
	const char *kind = tc_str(e, "involvedObject.kind") ?: "";
	const char *name = tc_str(e, "involvedObject.name");
	for (const char *p = kind; *p; p++) {
		char lower = (char)tolower((unsigned char)*p);
		mk_buf_append(&b, &lower, 1);
	}
	if (name != NULL && *name)
		tc_cat(&b, "/", name);

	tc_text(cells, last);
	tc_text(cells, tc_str(e, "type"));
	tc_text(cells, tc_str(e, "reason"));
	tc_buf_cell(cells, &b, "");
	tc_text(cells, tc_str(e, "involvedObject.fieldPath"));
	/* formatEventSource: component, host; reporting* when those are empty. */
	tc_cat(&b, NULL, first_non_empty(tc_str(e, "source.component"),
					 tc_str(e, "reportingComponent")));
	const char *host =
		first_non_empty(tc_str(e, "source.host"), tc_str(e, "reportingInstance"));
	if (*host) {
		tc_cat(&b, NULL, ", ");
		tc_cat(&b, NULL, host);
	}
	tc_buf_cell(cells, &b, "");
	const char *msg = tc_str(e, "message") ?: "";
	size_t n = strlen(msg);
	while (n > 0 && isspace((unsigned char)msg[n - 1]))
		n--;
	while (n > 0 && isspace((unsigned char)*msg)) {
		msg++;
		n--;
	}
	json_array_append_new(cells, json_stringn(msg, n));
	tc_text(cells, first);
	tc_int_cell(cells, count);
	tc_name(cells, e);
}

const struct table_kind table_core_kinds[] = {
	{"", "Service", service_columns, service_cells, NULL},
	{"", "Node", node_columns, node_cells, NULL},
	{"", "Namespace", namespace_columns, namespace_cells, NULL},
	{"", "ConfigMap", configmap_columns, configmap_cells, NULL},
	{"", "Secret", secret_columns, secret_cells, NULL},
	{"", "ServiceAccount", serviceaccount_columns, serviceaccount_cells, NULL},
	{"", "Endpoints", endpoints_columns, endpoints_cells, NULL},
	{"", "Event", event_columns, event_cells, NULL},
	{NULL, NULL, NULL, NULL, NULL},
};
