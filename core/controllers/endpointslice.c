/*
 * The EndpointSlice controller, as kube-controller-manager's: for every
 * Service with a selector, EndpointSlices (addressType IPv4, at most 100
 * endpoints each, one set per list of ports) naming its pods with their
 * conditions, node, zone and ports, labelled kubernetes.io/service-name
 * and managed-by endpointslice-controller.k8s.io, owned by the Service
 * (the garbage collector removes them with it).  What to write is
 * endpointslice_plan.c's; this file runs the loop and writes.
 *
 * Slices are created with generateName, so a second sync that ran on a
 * cache still missing the first one's writes would create them twice.
 * As upstream's endpointSliceTracker, the controller remembers the
 * resourceVersion of every slice it wrote (or that it deleted one) and
 * syncs a Service only once its cache has caught up with them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/err.h"
#include "../base/log.h"
#include "../kube/client.h"
#include "controllers_internal.h"
#include "endpoints_common.h"
#include "endpointslice.h"

/* A write whose echo never comes stops holding its Service back after this. */
#define TRACK_TIMEOUT_MS 30000

struct slice_controller {
	struct ctrl_loop loop;
	struct controllers *ctl;
	struct svc_index index;
	pthread_mutex_t lock;
	json_t *written; /* "ns/svc" -> {"at": ms, "slices": {name: rv, or -1 once deleted}} */
	json_t *zones;   /* node name -> topology.kubernetes.io/zone */
};

static void on_service(void *arg, enum kube_event type, json_t *svc)
{
	struct slice_controller *c = arg;
	char key[600];
	svc_index_service_event(&c->index, type, svc);
	object_key(svc, key, sizeof key);
	wq_add(c->loop.queue, key);
}

static void on_pod(void *arg, enum kube_event type, json_t *pod)
{
	struct slice_controller *c = arg;
	svc_index_pod_event(&c->index, c->loop.queue, type, pod);
}

static const json_t *label_of(const json_t *obj, const char *key)
{
	return json_object_get(json_object_get(json_object_get(obj, "metadata"), "labels"), key);
}

static bool managed(const json_t *slice)
{
	const json_t *labels = json_object_get(json_object_get(slice, "metadata"), "labels");
	const char *by = json_string_value(json_object_get(labels, LABEL_MANAGED_BY));
	return by && strcmp(by, SLICE_CONTROLLER) == 0 &&
	       json_string_value(json_object_get(labels, LABEL_SERVICE_NAME));
}

/* A slice changed (by us: the echo the tracker waits for; by someone
 * else: put it right). */
static void on_slice(void *arg, enum kube_event type, json_t *slice)
{
	struct slice_controller *c = arg;
	char key[600];
	(void)type;
	if (!managed(slice))
		return;
	snprintf(key, sizeof key, "%s/%s", ctrl_meta(slice, "namespace") ?: "",
		 json_string_value(label_of(slice, LABEL_SERVICE_NAME)));
	wq_add(c->loop.queue, key);
}

/* A node's zone changed: every Service may list pods on it. */
static void on_node(void *arg, enum kube_event type, json_t *node)
{
	struct slice_controller *c = arg;
	const char *name = ctrl_meta(node, "name");
	const json_t *zone = type == KUBE_DELETED ? NULL : label_of(node, LABEL_ZONE);
	if (name == NULL)
		return;
	pthread_mutex_lock(&c->lock);
	bool changed = !json_equal(json_object_get(c->zones, name), zone) &&
		       (zone != NULL || json_object_get(c->zones, name) != NULL);
	if (zone != NULL)
		json_object_set(c->zones, name, (json_t *)zone);
	else
		json_object_del(c->zones, name);
	pthread_mutex_unlock(&c->lock);
	if (!changed)
		return;
	pthread_mutex_lock(&c->index.lock);
	const char *key;
	json_t *svc;
	json_object_foreach(c->index.services, key, svc)
		wq_add(c->loop.queue, key);
	pthread_mutex_unlock(&c->index.lock);
}

/* --- what the cache has seen of our writes ----------------------------------------- */

static void track(struct slice_controller *c, const char *key, const char *name, int64_t rv)
{
	pthread_mutex_lock(&c->lock);
	json_t *e = json_object_get(c->written, key);
	if (e == NULL) {
		e = json_pack("{s:{}}", "slices");
		json_object_set_new(c->written, key, e);
	}
	json_object_set_new(e, "at", json_integer(ctrl_now_ms()));
	json_object_set_new(json_object_get(e, "slices"), name, json_integer(rv));
	pthread_mutex_unlock(&c->lock);
}

/* True while the cache (`mine`: the Service's slices in it) lacks one of
 * our writes; forgets them once it has them all. */
static bool cache_stale(struct slice_controller *c, const char *key, const json_t *mine)
{
	bool stale = false;
	pthread_mutex_lock(&c->lock);
	json_t *e = json_object_get(c->written, key), *rv;
	const char *name;
	json_object_foreach(json_object_get(e, "slices"), name, rv) {
		const json_t *seen = NULL, *s;
		size_t i;
		json_array_foreach(mine, i, s)
			if (strcmp(ctrl_meta(s, "name") ?: "", name) == 0)
				seen = s;
		int64_t want = json_integer_value(rv);
		const char *srv = seen ? ctrl_meta(seen, "resourceVersion") : NULL;
		if (want < 0 ? seen != NULL : seen == NULL || strtoll(srv ? srv : "0", NULL, 10) < want)
			stale = true;
	}
	if (e && (!stale || ctrl_now_ms() - json_integer_value(json_object_get(e, "at")) >
				    TRACK_TIMEOUT_MS)) {
		json_object_del(c->written, key);
		stale = false;
	}
	pthread_mutex_unlock(&c->lock);
	return stale;
}

/* --- writing --------------------------------------------------------------------------- */

/* The labels and ownerReferences every slice of svc carries. */
static json_t *slice_meta(const json_t *svc)
{
	json_t *labels = json_deep_copy(json_object_get(json_object_get(svc, "metadata"), "labels"));
	const char *cip = ctrl_str(json_object_get(svc, "spec"), "clusterIP");
	if (!json_is_object(labels)) {
		json_decref(labels);
		labels = json_object();
	}
	json_object_set_new(labels, LABEL_SERVICE_NAME, json_string(ctrl_meta(svc, "name") ?: ""));
	json_object_set_new(labels, LABEL_MANAGED_BY, json_string(SLICE_CONTROLLER));
	if (cip && strcmp(cip, "None") == 0)
		json_object_set_new(labels, LABEL_HEADLESS, json_string(""));
	else
		json_object_del(labels, LABEL_HEADLESS);
	return json_pack("{s:o, s:[{s:s, s:s, s:s?, s:s?, s:b, s:b}]}", "labels", labels,
			 "ownerReferences", "apiVersion", "v1", "kind", "Service", "name",
			 ctrl_meta(svc, "name"), "uid", ctrl_meta(svc, "uid"), "controller", 1,
			 "blockOwnerDeletion", 1);
}

static int write_change(struct slice_controller *c, const char *key, const json_t *svc,
			const struct slice_change *ch, const json_t *meta, const char *trigger)
{
	char path[1024], ens[300], ename[300], err[512], prefix[300];
	const char *ns = ctrl_meta(svc, "namespace") ?: "";
	json_t *obj, *made = NULL;
	int rv;
	kube_escape(ns, ens, sizeof ens);
	if (ch->action == SLICE_DELETE) {
		kube_escape(ctrl_meta(ch->have, "name") ?: "", ename, sizeof ename);
		snprintf(path, sizeof path, "/apis/discovery.k8s.io/v1/namespaces/%s/endpointslices/%s",
			 ens, ename);
		rv = kube_request(c->ctl->client, "DELETE", path, NULL, NULL, NULL, NULL, err, sizeof err);
		if (rv == MK_OK || rv == MK_ENOTFOUND)
			track(c, key, ctrl_meta(ch->have, "name") ?: "", -1);
		return rv == MK_ENOTFOUND ? MK_OK : rv;
	}
	if (ch->action == SLICE_CREATE) {
		snprintf(prefix, sizeof prefix, "%.240s-", ctrl_meta(svc, "name") ?: "");
		obj = json_pack("{s:s, s:s, s:{s:s, s:s}, s:s}", "apiVersion", "discovery.k8s.io/v1",
				"kind", "EndpointSlice", "metadata", "generateName", prefix,
				"namespace", ns, "addressType", "IPv4");
	} else {
		obj = json_deep_copy(ch->have);
	}
	if (obj == NULL)
		return MK_ENOMEM;
	json_t *m = json_object_get(obj, "metadata");
	json_object_set(m, "labels", json_object_get(meta, "labels"));
	json_object_set(m, "ownerReferences", json_object_get(meta, "ownerReferences"));
	json_t *ann = json_object_get(m, "annotations");
	if (!json_is_object(ann)) {
		ann = json_object();
		json_object_set_new(m, "annotations", ann);
	}
	if (trigger[0])
		json_object_set_new(ann, ANNOTATION_TRIGGER_TIME, json_string(trigger));
	if (json_object_size(ann) == 0)
		json_object_del(m, "annotations");
	json_object_set_new(obj, "addressType", json_string("IPv4"));
	json_object_set(obj, "endpoints", ch->endpoints);
	if (json_array_size(ch->ports) > 0)
		json_object_set(obj, "ports", ch->ports);
	else
		json_object_del(obj, "ports");
	snprintf(path, sizeof path, "/apis/discovery.k8s.io/v1/namespaces/%s/endpointslices", ens);
	if (ch->action == SLICE_CREATE) {
		rv = kube_create(c->ctl->client, path, obj, &made, err, sizeof err);
	} else {
		kube_escape(ctrl_meta(ch->have, "name") ?: "", ename, sizeof ename);
		snprintf(path + strlen(path), sizeof path - strlen(path), "/%s", ename);
		rv = kube_request(c->ctl->client, "PUT", path, NULL, obj, &made, NULL, err, sizeof err);
	}
	if (rv == MK_OK && made != NULL)
		track(c, key, ctrl_meta(made, "name") ?: "",
		      strtoll(ctrl_meta(made, "resourceVersion") ?: "0", NULL, 10));
	else if (rv != MK_OK)
		mk_debug(CTRL_LOG, "endpointslices of %s: not written: %s", key, err);
	json_decref(made);
	json_decref(obj);
	return rv;
}

static int sync_service(void *self, const char *key)
{
	struct slice_controller *c = self;
	struct kube_informer *pods = ctrl_informer(c->ctl, INF_PODS);
	struct kube_informer *services = ctrl_informer(c->ctl, INF_SERVICES);
	struct kube_informer *slices = ctrl_informer(c->ctl, INF_ENDPOINTSLICES);
	char ns[300], name[300];
	int rv = MK_OK;
	if (!kube_informer_synced(pods) || !kube_informer_synced(services) ||
	    !kube_informer_synced(slices)) {
		wq_add_after(c->loop.queue, key, 200);
		return MK_OK;
	}
	if (!split_key(key, ns, sizeof ns, name, sizeof name))
		return MK_OK;
	json_t *svc = kube_informer_get(services, ns, name);
	/* Gone: the garbage collector takes its slices (ownerReferences). */
	if (svc == NULL || !service_selects(svc) || ctrl_meta(svc, "deletionTimestamp")) {
		json_decref(svc);
		return MK_OK;
	}
	json_t *all = kube_informer_list(slices), *mine = json_array(), *s;
	size_t i;
	json_array_foreach(all, i, s) {
		const char *sns = ctrl_meta(s, "namespace");
		const json_t *sname = label_of(s, LABEL_SERVICE_NAME);
		if (managed(s) && sns && strcmp(sns, ns) == 0 &&
		    strcmp(json_string_value(sname) ?: "", name) == 0)
			json_array_append(mine, s);
	}
	json_decref(all);
	if (cache_stale(c, key, mine)) {
		wq_add_after(c->loop.queue, key, 500);
		json_decref(mine);
		json_decref(svc);
		return MK_OK;
	}
	json_t *selected = service_pods(pods, svc), *meta = slice_meta(svc);
	pthread_mutex_lock(&c->lock);
	json_t *zones = json_deep_copy(c->zones);
	pthread_mutex_unlock(&c->lock);
	json_t *desired = slice_desired(svc, selected, zones);
	struct slice_plan plan;
	char trigger[32];
	endpoints_trigger_time(svc, selected, trigger);
	rv = slice_plan(desired, mine, meta, &plan);
	/* Creates first, then updates, then deletes: no moment without the
	 * endpoints that stay. */
	static const enum slice_action order[] = {SLICE_CREATE, SLICE_UPDATE, SLICE_DELETE};
	for (size_t o = 0; rv == MK_OK && o < 3; o++)
		for (i = 0; i < plan.n; i++)
			if (plan.v[i].action == order[o] &&
			    write_change(c, key, svc, &plan.v[i], meta, trigger) != MK_OK)
				rv = MK_EIO;
	if (plan.v != NULL)
		slice_plan_free(&plan);
	json_decref(desired);
	json_decref(zones);
	json_decref(meta);
	json_decref(selected);
	json_decref(mine);
	json_decref(svc);
	return rv;
}

static void free_controller(struct slice_controller *c)
{
	svc_index_free(&c->index);
	pthread_mutex_destroy(&c->lock);
	json_decref(c->written);
	json_decref(c->zones);
	free(c);
}

static struct ctrl_loop *create(struct controllers *ctl, char *errmsg, size_t len)
{
	struct slice_controller *c = calloc(1, sizeof *c);
	if (c == NULL) {
		snprintf(errmsg, len, "out of memory");
		return NULL;
	}
	c->ctl = ctl;
	svc_index_init(&c->index);
	pthread_mutex_init(&c->lock, NULL);
	c->written = json_object();
	c->zones = json_object();
	if (ctrl_loop_init(&c->loop, ctl, "endpointslice-controller", sync_service, c, errmsg, len) !=
		    MK_OK ||
	    ctrl_watch(ctl, INF_SERVICES, on_service, c) != MK_OK ||
	    ctrl_watch(ctl, INF_PODS, on_pod, c) != MK_OK ||
	    ctrl_watch(ctl, INF_ENDPOINTSLICES, on_slice, c) != MK_OK ||
	    ctrl_watch(ctl, INF_NODES, on_node, c) != MK_OK) {
		ctrl_loop_free(&c->loop);
		free_controller(c);
		return NULL;
	}
	return &c->loop;
}

static void destroy(struct ctrl_loop *loop)
{
	free_controller(loop->self);
}

const struct controller_def endpointslice_controller = {"endpointslice", create, destroy};
