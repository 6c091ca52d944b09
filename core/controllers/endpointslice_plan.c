/*
 * Which endpoints a Service wants and how its EndpointSlices get there
 * (endpointslice.h).
 */
#include <stdlib.h>
#include <string.h>

#include "../base/err.h"
#include "controllers_internal.h"
#include "endpoints_common.h"
#include "endpointslice.h"

/* --- what is wanted ------------------------------------------------------------ */

static json_t *endpoint_of(const json_t *pod, const json_t *svc, bool publish, const json_t *zones)
{
	bool serving = pod_ready(pod), terminating = ctrl_meta(pod, "deletionTimestamp") != NULL;
	/* Never ready while terminating, unless the Service publishes
	 * everything. */
	bool ready = publish || (serving && !terminating);
	const char *node = ctrl_str(json_object_get(pod, "spec"), "nodeName");
	const char *zone = json_string_value(json_object_get(zones, node ? node : ""));
	const char *host = pod_hostname_for(pod, svc);
	json_t *ep = json_pack("{s:[s], s:{s:b, s:b, s:b}, s:s, s:{s:s, s:s?, s:s?, s:s?}}",
			       "addresses", pod_ip(pod), "conditions", "ready", ready, "serving",
			       serving, "terminating", terminating, "nodeName", node, "targetRef",
			       "kind", "Pod", "namespace", ctrl_meta(pod, "namespace"), "name",
			       ctrl_meta(pod, "name"), "uid", ctrl_meta(pod, "uid"));
	if (ep && zone && zone[0])
		json_object_set_new(ep, "zone", json_string(zone));
	if (ep && host)
		json_object_set_new(ep, "hostname", json_string(host));
	return ep;
}

static json_t *ports_of(const json_t *pod, const json_t *svc)
{
	json_t *ports = json_array(), *sp;
	size_t i;
	json_array_foreach(json_object_get(json_object_get(svc, "spec"), "ports"), i, sp) {
		int num = service_target_port(pod, sp);
		if (num <= 0)
			continue;
		const char *name = ctrl_str(sp, "name"), *proto = ctrl_str(sp, "protocol");
		const char *app = ctrl_str(sp, "appProtocol");
		json_t *p = json_pack("{s:s, s:i, s:s}", "name", name ? name : "", "port", num,
				      "protocol", proto ? proto : "TCP");
		if (p && app)
			json_object_set_new(p, "appProtocol", json_string(app));
		json_array_append_new(ports, p);
	}
	return ports;
}

static char *signature(const json_t *ports)
{
	json_t *none = ports ? NULL : json_array();
	char *sig = json_dumps(ports ? ports : none, JSON_SORT_KEYS | JSON_COMPACT);
	json_decref(none);
	return sig;
}

json_t *slice_desired(const json_t *svc, const json_t *pods, const json_t *zones)
{
	bool publish = json_is_true(json_object_get(json_object_get(svc, "spec"),
						    "publishNotReadyAddresses"));
	json_t *out = json_object(), *pod;
	size_t i;
	json_array_foreach(pods, i, pod) {
		const char *uid = ctrl_meta(pod, "uid");
		if (uid == NULL || !pod_in_endpoints(pod, true))
			continue;
		json_t *ports = ports_of(pod, svc);
		char *sig = signature(ports);
		json_t *group = sig ? json_object_get(out, sig) : NULL;
		if (sig && group == NULL) {
			group = json_pack("{s:O, s:{}}", "ports", ports, "endpoints");
			json_object_set_new(out, sig, group);
		}
		if (group)
			json_object_set_new(json_object_get(group, "endpoints"), uid,
					    endpoint_of(pod, svc, publish, zones));
		free(sig);
		json_decref(ports);
	}
	return out;
}

/* --- the plan ---------------------------------------------------------------------- */

static bool meta_differs(const json_t *slice, const json_t *meta)
{
	const json_t *m = json_object_get(slice, "metadata");
	const char *at = ctrl_str(slice, "addressType");
	return !json_equal(json_object_get(m, "labels"), json_object_get(meta, "labels")) ||
	       !json_equal(json_object_get(m, "ownerReferences"),
			   json_object_get(meta, "ownerReferences")) ||
	       at == NULL || strcmp(at, "IPv4") != 0;
}

static const char *ep_uid(const json_t *ep)
{
	return ctrl_str(json_object_get(ep, "targetRef"), "uid");
}

static int by_address(const void *a, const void *b)
{
	const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	const char *ax = json_string_value(json_array_get(json_object_get(x, "addresses"), 0));
	const char *ay = json_string_value(json_array_get(json_object_get(y, "addresses"), 0));
	int c = strcmp(ax ? ax : "", ay ? ay : "");
	return c ? c : strcmp(ep_uid(x) ?: "", ep_uid(y) ?: "");
}

/* Takes svc's slices as they are: endpoints still wanted stay where
 * they are (in their new form), the others go. */
static void start_from(struct slice_plan *p, json_t *desired, const json_t *have,
		       const json_t *meta)
{
	size_t i, k;
	json_t *slice, *ep;
	json_array_foreach(have, i, slice) {
		struct slice_change *ch = &p->v[p->n++];
		json_t *ports = json_object_get(slice, "ports");
		char *sig = signature(ports);
		json_t *wanted = json_object_get(json_object_get(desired, sig ? sig : ""), "endpoints");
		bool changed = meta_differs(slice, meta);
		ch->have = slice;
		ch->ports = json_is_array(ports) ? json_deep_copy(ports) : json_array();
		ch->endpoints = json_array();
		json_array_foreach(json_object_get(slice, "endpoints"), k, ep) {
			const char *uid = ep_uid(ep);
			json_t *want = uid ? json_object_get(wanted, uid) : NULL;
			if (want == NULL) {
				changed = true;
				continue;
			}
			json_array_append(ch->endpoints, want);
			changed |= !json_equal(want, ep);
			json_object_del(wanted, uid);
		}
		ch->action = changed ? SLICE_UPDATE : SLICE_KEEP;
		free(sig);
	}
}

/* Puts the endpoints nobody has yet into slices with the same ports:
 * those rewritten anyway first, then untouched ones, then emptied ones
 * (of any ports: an update beats a delete and a create), then new ones. */
static void fill(struct slice_plan *p, const json_t *ports, json_t **eps, size_t n)
{
	size_t pos = 0;
	for (int pass = 0; pass < 3 && pos < n; pass++) {
		for (size_t i = 0; i < p->n && pos < n; i++) {
			struct slice_change *ch = &p->v[i];
			size_t have = json_array_size(ch->endpoints);
			bool fits = pass == 2 ? have == 0 && ch->action != SLICE_CREATE
					      : json_equal(ch->ports, ports) &&
						ch->action == (pass == 0 ? SLICE_UPDATE : SLICE_KEEP) &&
						have > 0;
			if (!fits || have >= SLICE_MAX_ENDPOINTS)
				continue;
			if (pass == 2) {
				json_decref(ch->ports);
				ch->ports = json_deep_copy(ports);
			}
			while (pos < n && json_array_size(ch->endpoints) < SLICE_MAX_ENDPOINTS)
				json_array_append(ch->endpoints, eps[pos++]);
			ch->action = SLICE_UPDATE;
		}
	}
	while (pos < n) {
		struct slice_change *ch = &p->v[p->n++];
		ch->action = SLICE_CREATE;
		ch->ports = json_deep_copy(ports);
		ch->endpoints = json_array();
		while (pos < n && json_array_size(ch->endpoints) < SLICE_MAX_ENDPOINTS)
			json_array_append(ch->endpoints, eps[pos++]);
	}
}

int slice_plan(json_t *desired, const json_t *have, const json_t *meta, struct slice_plan *out)
{
	const char *sig;
	json_t *group;
	size_t total = 0, i;
	json_object_foreach(desired, sig, group)
		total += json_object_size(json_object_get(group, "endpoints"));
	size_t cap = json_array_size(have) + total / SLICE_MAX_ENDPOINTS + json_object_size(desired) + 2;
	memset(out, 0, sizeof *out);
	if ((out->v = calloc(cap, sizeof *out->v)) == NULL)
		return MK_ENOMEM;
	start_from(out, desired, have, meta);
	json_object_foreach(desired, sig, group) {
		json_t *left = json_object_get(group, "endpoints"), *ep;
		json_t **eps = calloc(json_object_size(left) + 1, sizeof *eps);
		const char *uid;
		size_t n = 0;
		if (eps == NULL) {
			slice_plan_free(out);
			return MK_ENOMEM;
		}
		json_object_foreach(left, uid, ep)
			eps[n++] = ep;
		qsort(eps, n, sizeof *eps, by_address);
		fill(out, json_object_get(group, "ports"), eps, n);
		free(eps);
	}
	bool placeholder = false;
	for (i = 0; i < out->n; i++) {
		struct slice_change *ch = &out->v[i];
		if (json_array_size(ch->endpoints) > 0)
			continue;
		if (total > 0 || placeholder) {
			ch->action = SLICE_DELETE;
			continue;
		}
		/* Nothing to list: the first slice stays, empty and portless. */
		placeholder = true;
		if (json_array_size(ch->ports) > 0) {
			json_array_clear(ch->ports);
			ch->action = SLICE_UPDATE;
		}
	}
	if (total == 0 && !placeholder) {
		struct slice_change *ch = &out->v[out->n++];
		ch->action = SLICE_CREATE;
		ch->ports = json_array();
		ch->endpoints = json_array();
	}
	return MK_OK;
}

void slice_plan_free(struct slice_plan *p)
{
	for (size_t i = 0; i < p->n; i++) {
		json_decref(p->v[i].ports);
		json_decref(p->v[i].endpoints);
	}
	free(p->v);
	memset(p, 0, sizeof *p);
}
