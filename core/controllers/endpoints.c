/*
 * The Endpoints controller, as kube-controller-manager's: for every
 * Service with a selector, an Endpoints object of the same name listing
 * the pods it selects that have an address and a node and are not
 * terminating (unless publishNotReadyAddresses): ready ones in
 * subsets[].addresses, the others in notReadyAddresses, with the port
 * each Service port reaches on them (a named targetPort is looked up per
 * pod; a pod without it is left out for that port).  Subsets are packed
 * as upstream's RepackSubsets: ports served by the same set of addresses
 * share a subset.  Services without a selector are left to their owner;
 * a Service that goes takes its Endpoints with it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/err.h"
#include "../base/log.h"
#include "../kube/client.h"
#include "controllers_internal.h"
#include "endpoints_common.h"

struct endpoints_controller {
	struct ctrl_loop loop;
	struct controllers *ctl;
	struct svc_index index;
};

static void on_service(void *arg, enum kube_event type, json_t *svc)
{
	struct endpoints_controller *c = arg;
	char key[600];
	svc_index_service_event(&c->index, type, svc);
	object_key(svc, key, sizeof key);
	wq_add(c->loop.queue, key);
}

static void on_pod(void *arg, enum kube_event type, json_t *pod)
{
	struct endpoints_controller *c = arg;
	svc_index_pod_event(&c->index, c->loop.queue, type, pod);
}

/* Someone deleted an Endpoints we own: write it again. */
static void on_endpoints(void *arg, enum kube_event type, json_t *ep)
{
	struct endpoints_controller *c = arg;
	char key[600];
	if (type != KUBE_DELETED)
		return;
	object_key(ep, key, sizeof key);
	wq_add(c->loop.queue, key);
}

/* --- computing the subsets -------------------------------------------------- */

static json_t *address_of(const json_t *pod, const json_t *svc)
{
	const char *host = pod_hostname_for(pod, svc);
	json_t *a = json_pack("{s:s, s:s?, s:{s:s, s:s?, s:s?, s:s?}}", "ip", pod_ip(pod), "nodeName",
			      ctrl_str(json_object_get(pod, "spec"), "nodeName"), "targetRef", "kind",
			      "Pod", "namespace", ctrl_meta(pod, "namespace"), "name",
			      ctrl_meta(pod, "name"), "uid", ctrl_meta(pod, "uid"));
	if (a && host)
		json_object_set_new(a, "hostname", json_string(host));
	return a;
}

static json_t *endpoint_port(const json_t *sp, int num)
{
	const char *name = ctrl_str(sp, "name"), *app = ctrl_str(sp, "appProtocol");
	json_t *p = json_pack("{s:i, s:s}", "port", num, "protocol",
			      ctrl_str(sp, "protocol") ? ctrl_str(sp, "protocol") : "TCP");
	if (p && name && name[0])
		json_object_set_new(p, "name", json_string(name));
	if (p && app)
		json_object_set_new(p, "appProtocol", json_string(app));
	return p;
}

/* Adds address `addr` (keyed by IP, then pod uid, so keys sort as
 * upstream's LessEndpointAddress) to the address set of `port` (json
 * null: the "no port" of a headless Service without ports). */
static void add(json_t *ports, json_t *sets, json_t *addrs, json_t *port, const char *akey,
		json_t *addr, bool ready)
{
	size_t i, at = json_array_size(ports);
	json_t *p;
	json_array_foreach(ports, i, p)
		if (json_equal(p, port) || (json_is_null(p) && json_is_null(port))) {
			at = i;
			break;
		}
	if (at == json_array_size(ports)) {
		json_array_append(ports, port);
		json_array_append_new(sets, json_object());
	}
	json_object_set_new(json_array_get(sets, at), akey, json_boolean(ready));
	json_object_set(addrs, akey, addr);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The addresses of one set, ready or not, in key order; NULL when none. */
static json_t *addresses(const json_t *set, const json_t *addrs, bool ready)
{
	const char *keys[json_object_size(set) + 1];
	size_t n = 0;
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)set, k, v)
		if (json_is_true(v) == ready)
			keys[n++] = k;
	if (n == 0)
		return NULL;
	qsort(keys, n, sizeof *keys, cmp_str);
	json_t *out = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append(out, json_object_get(addrs, keys[i]));
	return out;
}

static json_t *build_subsets(const json_t *svc, const json_t *pods)
{
	const json_t *spec = json_object_get(svc, "spec");
	bool publish = json_is_true(json_object_get(spec, "publishNotReadyAddresses"));
	const char *cip = ctrl_str(spec, "clusterIP");
	bool headless = cip && strcmp(cip, "None") == 0;
	json_t *ports = json_array(), *sets = json_array(), *addrs = json_object(), *pod, *sp;
	size_t i, k;
	char akey[600];
	json_array_foreach(pods, i, pod) {
		if (!pod_in_endpoints(pod, publish))
			continue;
		json_t *addr = address_of(pod, svc);
		bool ready = publish || pod_ready(pod);
		snprintf(akey, sizeof akey, "%s\001%s", pod_ip(pod), ctrl_meta(pod, "uid") ?: "");
		if (json_array_size(json_object_get(spec, "ports")) == 0 && headless)
			add(ports, sets, addrs, json_null(), akey, addr, ready);
		json_array_foreach(json_object_get(spec, "ports"), k, sp) {
			int num = service_target_port(pod, sp);
			json_t *ep = num > 0 ? endpoint_port(sp, num) : NULL;
			if (ep != NULL)
				add(ports, sets, addrs, ep, akey, addr, ready);
			json_decref(ep);
		}
		json_decref(addr);
	}
	/* RepackSubsets: ports with the same address set share a subset. */
	json_t *subsets = json_array();
	size_t n = json_array_size(ports);
	char *sig[n + 1];
	bool used[n + 1];
	for (i = 0; i < n; i++) {
		sig[i] = json_dumps(json_array_get(sets, i), JSON_SORT_KEYS | JSON_COMPACT);
		used[i] = false;
	}
	for (i = 0; i < n; i++) {
		if (used[i])
			continue;
		json_t *set = json_array_get(sets, i), *sub = json_object(), *sports = json_array();
		for (k = i; k < n; k++) {
			if (used[k] || !sig[i] || !sig[k] || strcmp(sig[i], sig[k]) != 0)
				continue;
			used[k] = true;
			if (!json_is_null(json_array_get(ports, k)))
				json_array_append(sports, json_array_get(ports, k));
		}
		json_t *ready = addresses(set, addrs, true), *not_ready = addresses(set, addrs, false);
		if (ready)
			json_object_set_new(sub, "addresses", ready);
		if (not_ready)
			json_object_set_new(sub, "notReadyAddresses", not_ready);
		if (json_array_size(sports) > 0)
			json_object_set(sub, "ports", sports);
		json_decref(sports);
		json_array_append_new(subsets, sub);
	}
	for (i = 0; i < n; i++)
		free(sig[i]);
	json_decref(ports);
	json_decref(sets);
	json_decref(addrs);
	return subsets;
}

/* --- writing ------------------------------------------------------------------- */

/* The Service's labels, and the headless marker upstream adds. */
static json_t *labels_for(const json_t *svc)
{
	json_t *l = json_deep_copy(json_object_get(json_object_get(svc, "metadata"), "labels"));
	const char *cip = ctrl_str(json_object_get(svc, "spec"), "clusterIP");
	if (!json_is_object(l)) {
		json_decref(l);
		l = json_object();
	}
	if (cip && strcmp(cip, "None") == 0)
		json_object_set_new(l, LABEL_HEADLESS, json_string(""));
	else
		json_object_del(l, LABEL_HEADLESS);
	return l;
}

static bool same_labels(const json_t *obj, const json_t *labels)
{
	const json_t *have = json_object_get(json_object_get(obj, "metadata"), "labels");
	return have == NULL ? json_object_size(labels) == 0 : json_equal(have, labels);
}

static int write_endpoints(struct endpoints_controller *c, const char *ns, const char *name,
			   json_t *ep, json_t *subsets, json_t *labels, const char *trigger)
{
	char path[1024], ens[300], ename[300], err[512];
	json_t *obj = ep ? json_deep_copy(ep)
			 : json_pack("{s:s, s:s, s:{s:s, s:s}}", "apiVersion", "v1", "kind",
				     "Endpoints", "metadata", "name", name, "namespace", ns);
	json_t *meta = json_object_get(obj, "metadata");
	if (json_object_size(labels) > 0)
		json_object_set(meta, "labels", labels);
	else
		json_object_del(meta, "labels");
	json_t *ann = json_object_get(meta, "annotations");
	if (!json_is_object(ann)) {
		ann = json_object();
		json_object_set_new(meta, "annotations", ann);
	}
	if (trigger[0])
		json_object_set_new(ann, ANNOTATION_TRIGGER_TIME, json_string(trigger));
	else
		json_object_del(ann, ANNOTATION_TRIGGER_TIME);
	if (json_object_size(ann) == 0)
		json_object_del(meta, "annotations");
	if (json_array_size(subsets) > 0)
		json_object_set(obj, "subsets", subsets);
	else
		json_object_del(obj, "subsets");
	kube_escape(ns, ens, sizeof ens);
	kube_escape(name, ename, sizeof ename);
	int rv;
	if (ep == NULL) {
		snprintf(path, sizeof path, "/api/v1/namespaces/%s/endpoints", ens);
		rv = kube_create(c->ctl->client, path, obj, NULL, err, sizeof err);
	} else {
		snprintf(path, sizeof path, "/api/v1/namespaces/%s/endpoints/%s", ens, ename);
		rv = kube_request(c->ctl->client, "PUT", path, NULL, obj, NULL, NULL, err, sizeof err);
	}
	if (rv != MK_OK)
		mk_debug(CTRL_LOG, "endpoints %s/%s: not written: %s", ns, name, err);
	json_decref(obj);
	return rv;
}

static int sync_service(void *self, const char *key)
{
	struct endpoints_controller *c = self;
	struct kube_informer *pods = ctrl_informer(c->ctl, INF_PODS);
	struct kube_informer *services = ctrl_informer(c->ctl, INF_SERVICES);
	struct kube_informer *eps = ctrl_informer(c->ctl, INF_ENDPOINTS);
	char ns[300], name[300], path[1024], ens[300], ename[300], err[256];
	int rv = MK_OK;
	/* A cache still filling would make Endpoints shrink for nothing. */
	if (!kube_informer_synced(pods) || !kube_informer_synced(services) ||
	    !kube_informer_synced(eps)) {
		wq_add_after(c->loop.queue, key, 200);
		return MK_OK;
	}
	if (!split_key(key, ns, sizeof ns, name, sizeof name))
		return MK_OK;
	json_t *svc = kube_informer_get(services, ns, name);
	json_t *ep = kube_informer_get(eps, ns, name);
	if (svc == NULL) {
		if (ep != NULL) {
			kube_escape(ns, ens, sizeof ens);
			kube_escape(name, ename, sizeof ename);
			snprintf(path, sizeof path, "/api/v1/namespaces/%s/endpoints/%s", ens, ename);
			rv = kube_request(c->ctl->client, "DELETE", path, NULL, NULL, NULL, NULL, err,
					  sizeof err);
			if (rv == MK_ENOTFOUND)
				rv = MK_OK;
		}
		json_decref(ep);
		return rv;
	}
	if (service_selects(svc)) {
		json_t *selected = service_pods(pods, svc);
		json_t *subsets = build_subsets(svc, selected);
		json_t *labels = labels_for(svc);
		json_t *have = ep ? json_object_get(ep, "subsets") : NULL;
		bool same = ep != NULL && same_labels(ep, labels) &&
			    (json_equal(have, subsets) ||
			     (json_array_size(have) == 0 && json_array_size(subsets) == 0));
		if (!same) {
			char trigger[32];
			endpoints_trigger_time(svc, selected, trigger);
			rv = write_endpoints(c, ns, name, ep, subsets, labels, trigger);
		}
		json_decref(labels);
		json_decref(subsets);
		json_decref(selected);
	}
	json_decref(ep);
	json_decref(svc);
	return rv;
}

static struct ctrl_loop *create(struct controllers *ctl, char *errmsg, size_t len)
{
	struct endpoints_controller *c = calloc(1, sizeof *c);
	if (c == NULL) {
		snprintf(errmsg, len, "out of memory");
		return NULL;
	}
	c->ctl = ctl;
	svc_index_init(&c->index);
	if (ctrl_loop_init(&c->loop, ctl, "endpoint-controller", sync_service, c, errmsg, len) !=
		    MK_OK ||
	    ctrl_watch(ctl, INF_SERVICES, on_service, c) != MK_OK ||
	    ctrl_watch(ctl, INF_PODS, on_pod, c) != MK_OK ||
	    ctrl_watch(ctl, INF_ENDPOINTS, on_endpoints, c) != MK_OK) {
		ctrl_loop_free(&c->loop);
		svc_index_free(&c->index);
		free(c);
		return NULL;
	}
	return &c->loop;
}

static void destroy(struct ctrl_loop *loop)
{
	struct endpoints_controller *c = loop->self;
	svc_index_free(&c->index);
	free(c);
}

const struct controller_def endpoints_controller = {"endpoints", create, destroy};
