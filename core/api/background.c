/*
 * The API server's own background work, on one thread:
 *   - the custom resource registry follows the CRDs in the store, and new
 *     CRDs are marked Established (addons `kubectl wait` for that);
 *   - objects deleted with Background/Foreground propagation take their
 *     dependents (ownerReferences) with them;
 *   - a namespace being deleted is emptied, then removed;
 *   - the namespaces every cluster has exist;
 *   - the `kubernetes` Service and its endpoints are kept up to date, and
 *     Service allocations are repaired (kubernetes_service.c,
 *     service_repair.c).
 * Every step is idempotent and re-derived from the store, so a crash or a
 * second API server doing the same work only repeats it.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../base/err.h"
#include "../base/log.h"
#include "../store/store.h"
#include "api_internal.h"
#include "object.h"
#include "service.h"

#define TICK_MS 200
#define NAMESPACE_SCAN_MS 5000
#define KUBERNETES_SERVICE_MS 10000 /* upstream's endpoint reconcile interval */
#define SERVICE_REPAIR_MS 180000    /* upstream's repair interval */
#define MAX_GC_QUEUE 4096

struct gc_item {
	enum gc_mode mode;
	char *uid;
	char *ns;  /* namespace of the owner, NULL for cluster-scoped owners */
	char *key; /* the owner's key (foreground: finished when dependents are gone) */
};

struct api_background {
	struct api_server *srv;
	struct store *store;
	pthread_t thread;
	pthread_mutex_t lock;
	bool stop, kicked;
	struct gc_item *queue;
	size_t n_queue;
};

static void queue_item(struct api_background *b, struct gc_item *it);

static const char *const default_namespaces[] = {"default", "kube-system", "kube-public",
						 "kube-node-lease"};

static void ensure_namespaces(struct api_background *b)
{
	for (size_t i = 0; i < sizeof default_namespaces / sizeof default_namespaces[0]; i++) {
		char key[STORE_MAX_KEY + 1], uid[37], ts[32];
		store_key(key, sizeof key, "core", "namespaces", NULL, default_namespaces[i]);
		object_new_uid(uid);
		object_timestamp(ts, object_now());
		json_t *ns = json_pack("{s:s, s:s, s:{s:s, s:s, s:s, s:{s:s}}, s:{s:[s]}, s:{s:s}}",
				       "apiVersion", "v1", "kind", "Namespace", "metadata", "name",
				       default_namespaces[i], "uid", uid, "creationTimestamp", ts,
				       "labels", "kubernetes.io/metadata.name", default_namespaces[i],
				       "spec", "finalizers", "kubernetes", "status", "phase", "Active");
		size_t len;
		char *value = ns ? object_to_store(ns, &len) : NULL;
		if (value != NULL) {
			int rv = store_create(b->store, key, value, len, 0, NULL);
			if (rv != MK_OK && rv != MK_EEXISTS)
				mk_warn("api", "cannot create namespace %s: %s", default_namespaces[i],
					store_last_error());
		}
		free(value);
		json_decref(ns);
	}
}

/* --- CRDs ------------------------------------------------------------- */

static bool has_condition(const json_t *obj, const char *type)
{
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(json_object_get(obj, "status"), "conditions"), i, c) {
		const char *t = json_string_value(json_object_get(c, "type"));
		const char *s = json_string_value(json_object_get(c, "status"));
		if (t && s && strcmp(t, type) == 0 && strcmp(s, "True") == 0)
			return true;
	}
	return false;
}

/* What the real apiextensions server reports once a CRD serves. */
static void establish(struct api_background *b, const struct store_kv *kv, json_t *crd)
{
	char ts[32];
	object_timestamp(ts, object_now());
	json_t *spec = json_object_get(crd, "spec");
	json_t *stored = json_array();
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(spec, "versions"), i, v)
		if (json_is_true(json_object_get(v, "storage")))
			json_array_append(stored, json_object_get(v, "name"));
	json_t *status = json_pack(
		"{s:[{s:s, s:s, s:s, s:s, s:s}, {s:s, s:s, s:s, s:s, s:s}], s:O, s:o}", "conditions",
		"type", "NamesAccepted", "status", "True", "lastTransitionTime", ts, "reason",
		"NoConflicts", "message", "no conflicts found", "type", "Established", "status",
		"True", "lastTransitionTime", ts, "reason", "InitialNamesAccepted", "message",
		"the initial names have been accepted", "acceptedNames", json_object_get(spec, "names"),
		"storedVersions", stored);
	if (status == NULL)
		return;
	json_object_set_new(crd, "status", status);
	size_t len;
	char *value = object_to_store(crd, &len);
	if (value != NULL)
		store_update(b->store, kv->key, value, len, 0, kv->rev, NULL); /* a race retries */
	free(value);
}

static void refresh_crds(struct api_background *b)
{
	char prefix[STORE_MAX_KEY + 1];
	store_key(prefix, sizeof prefix, "apiextensions.k8s.io", "customresourcedefinitions", NULL,
		  NULL);
	struct store_list l;
	if (store_list(b->store, prefix, NULL, 0, 0, &l) != MK_OK)
		return;
	json_t *crds = json_array();
	for (size_t i = 0; i < l.n; i++) {
		json_t *crd = object_from_store(l.items[i].value, l.items[i].len, l.items[i].rev);
		if (crd == NULL)
			continue;
		if (!has_condition(crd, "Established"))
			establish(b, &l.items[i], crd);
		json_array_append_new(crds, crd);
	}
	store_list_free(&l);
	resource_registry_set_crds(b->srv->resources, crds);
	json_decref(crds);
}

/* --- dependents and namespaces ---------------------------------------------- */

static bool owned_by(const json_t *obj, const char *uid)
{
	size_t i;
	json_t *ref;
	json_array_foreach(json_object_get(json_object_get(obj, "metadata"), "ownerReferences"), i,
			   ref) {
		const char *u = json_string_value(json_object_get(ref, "uid"));
		if (u && strcmp(u, uid) == 0)
			return true;
	}
	return false;
}

/* The grace period a pod gets when its namespace or owner goes: a pod a
 * node runs is stopped by that node first, as for any DELETE (0: none). */
static int64_t pod_grace(const struct api_resource *r, const json_t *pod)
{
	if (r->custom || r->group[0] != '\0' || strcmp(r->plural, "pods") != 0)
		return 0;
	const char *node = object_str(pod, "spec.nodeName");
	const char *phase = object_str(pod, "status.phase");
	if (node == NULL || node[0] == '\0' ||
	    (phase != NULL && (strcmp(phase, "Succeeded") == 0 || strcmp(phase, "Failed") == 0)))
		return 0;
	const json_t *tgps = object_at(pod, "spec.terminationGracePeriodSeconds");
	int64_t grace = json_is_integer(tgps) ? json_integer_value(tgps) : 30;
	return grace < 0 ? 1 : grace;
}

/* Deletes `kv` (or marks it when finalizers or a pod's grace period hold
 * it). */
static void delete_kv(struct api_background *b, const struct store_kv *kv, json_t *obj,
		      const struct api_resource *r)
{
	json_t *meta = object_meta(obj);
	int64_t grace = pod_grace(r, obj);
	if (grace > 0) {
		/* Already terminating: its node finishes it. */
		if (json_object_get(meta, "deletionTimestamp") != NULL)
			return;
		char ts[32];
		object_timestamp(ts, object_now() + grace);
		json_object_set_new(meta, "deletionTimestamp", json_string(ts));
		json_object_set_new(meta, "deletionGracePeriodSeconds", json_integer(grace));
		size_t len;
		char *value = object_to_store(obj, &len);
		if (value != NULL)
			store_update(b->store, kv->key, value, len, 0, kv->rev, NULL);
		free(value);
		return;
	}
	if (json_array_size(json_object_get(meta, "finalizers")) == 0) {
		if (store_delete(b->store, kv->key, kv->rev, NULL) == MK_OK)
			api_background_deleted(b->srv, r, obj, GC_DELETE, NULL);
		return;
	}
	if (json_object_get(meta, "deletionTimestamp") != NULL)
		return;
	char ts[32];
	object_timestamp(ts, object_now());
	json_object_set_new(meta, "deletionTimestamp", json_string(ts));
	json_object_set_new(meta, "deletionGracePeriodSeconds", json_integer(0));
	size_t len;
	char *value = object_to_store(obj, &len);
	if (value != NULL)
		store_update(b->store, kv->key, value, len, 0, kv->rev, NULL);
	free(value);
}

/* Drops the ownerReference to `uid` from a dependent (orphaning). */
static void orphan_kv(struct api_background *b, const struct store_kv *kv, json_t *obj,
		      const char *uid)
{
	json_t *refs = json_object_get(object_meta(obj), "ownerReferences");
	for (size_t i = json_array_size(refs); i-- > 0;) {
		const char *u = json_string_value(json_object_get(json_array_get(refs, i), "uid"));
		if (u && strcmp(u, uid) == 0)
			json_array_remove(refs, i);
	}
	if (json_array_size(refs) == 0)
		json_object_del(object_meta(obj), "ownerReferences");
	size_t len;
	char *value = object_to_store(obj, &len);
	if (value != NULL)
		store_update(b->store, kv->key, value, len, 0, kv->rev, NULL);
	free(value);
}

/* Visits every object of every namespaced resource in `ns` (NULL: all),
 * or those owned by `owner_uid`, deleting (or orphaning) them; returns how
 * many there were. */
static size_t sweep(struct api_background *b, const char *ns, const char *owner_uid,
		    enum gc_mode mode)
{
	struct resource_set *rs = resource_registry_get(b->srv->resources);
	size_t found = 0, n = resource_set_count(rs);
	for (size_t i = 0; i < n; i++) {
		const struct api_resource *r = resource_set_at(rs, i);
		if (!r->namespaced && (ns != NULL || owner_uid == NULL))
			continue;
		char prefix[STORE_MAX_KEY + 1];
		if (store_key(prefix, sizeof prefix, resource_store_group(r), r->plural,
			      r->namespaced ? ns : NULL, NULL) != MK_OK)
			continue;
		struct store_list l;
		if (store_list(b->store, prefix, NULL, 0, 0, &l) != MK_OK)
			continue;
		for (size_t k = 0; k < l.n; k++) {
			json_t *obj = object_from_store(l.items[k].value, l.items[k].len,
							l.items[k].rev);
			if (obj == NULL)
				continue;
			if (owner_uid == NULL || owned_by(obj, owner_uid)) {
				found++;
				if (mode == GC_ORPHAN)
					orphan_kv(b, &l.items[k], obj, owner_uid);
				else
					delete_kv(b, &l.items[k], obj, r);
			}
			json_decref(obj);
		}
		store_list_free(&l);
	}
	resource_set_release(rs);
	return found;
}

static void finish_namespaces(struct api_background *b)
{
	char prefix[STORE_MAX_KEY + 1];
	store_key(prefix, sizeof prefix, "core", "namespaces", NULL, NULL);
	struct store_list l;
	if (store_list(b->store, prefix, NULL, 0, 0, &l) != MK_OK)
		return;
	for (size_t i = 0; i < l.n; i++) {
		json_t *ns = object_from_store(l.items[i].value, l.items[i].len, l.items[i].rev);
		json_t *meta = ns ? object_meta(ns) : NULL;
		if (ns == NULL || json_object_get(meta, "deletionTimestamp") == NULL) {
			json_decref(ns);
			continue;
		}
		const char *name = object_name(ns);
		if (name != NULL && sweep(b, name, NULL, GC_DELETE) == 0) {
			/* Empty: the "kubernetes" finalizer is done; the
			 * namespace goes once nothing else holds it. */
			json_object_set_new(json_object_get(ns, "spec"), "finalizers", json_array());
			if (json_array_size(json_object_get(meta, "finalizers")) == 0) {
				store_delete(b->store, l.items[i].key, l.items[i].rev, NULL);
				mk_info("api", "namespace %s deleted", name);
			} else {
				size_t len;
				char *value = object_to_store(ns, &len);
				if (value)
					store_update(b->store, l.items[i].key, value, len, 0,
						     l.items[i].rev, NULL);
				free(value);
			}
		} else {
			b->kicked = true; /* look again soon */
		}
		json_decref(ns);
	}
	store_list_free(&l);
}

/* Foreground deletion: once no dependent is left, the owner's
 * foregroundDeletion finalizer goes, and with it the owner if nothing
 * else holds it.  false: dependents remain (or a race): try again. */
static bool finish_foreground(struct api_background *b, const char *key)
{
	struct store_kv kv;
	int rv = store_get(b->store, key, &kv);
	if (rv == MK_ENOTFOUND)
		return true;
	if (rv != MK_OK)
		return false;
	json_t *obj = object_from_store(kv.value, kv.len, kv.rev);
	bool done = false;
	if (obj != NULL) {
		json_t *fins = json_object_get(object_meta(obj), "finalizers");
		for (size_t i = json_array_size(fins); i-- > 0;)
			if (strcmp(json_string_value(json_array_get(fins, i)) ?: "",
				   "foregroundDeletion") == 0)
				json_array_remove(fins, i);
		if (json_array_size(fins) == 0) {
			done = store_delete(b->store, key, kv.rev, NULL) == MK_OK;
			if (done && strncmp(key, "/registry/core/services/", 24) == 0)
				service_release(b->store, obj, NULL);
		} else {
			size_t len;
			char *value = object_to_store(obj, &len);
			done = value && store_update(b->store, key, value, len, 0, kv.rev, NULL) == MK_OK;
			free(value);
		}
	}
	json_decref(obj);
	store_kv_free(&kv);
	return done;
}

static void free_item(struct gc_item *it)
{
	free(it->uid);
	free(it->ns);
	free(it->key);
}

static void collect_garbage(struct api_background *b)
{
	struct gc_item later[64];
	size_t n_later = 0;
	for (;;) {
		pthread_mutex_lock(&b->lock);
		if (b->n_queue == 0) {
			pthread_mutex_unlock(&b->lock);
			break;
		}
		struct gc_item it = b->queue[--b->n_queue];
		pthread_mutex_unlock(&b->lock);
		size_t left = sweep(b, it.ns, it.uid, it.mode);
		if (it.mode == GC_FOREGROUND && !(left == 0 && finish_foreground(b, it.key)) &&
		    n_later < 64) {
			later[n_later++] = it; /* dependents are still going */
			continue;
		}
		free_item(&it);
	}
	for (size_t i = 0; i < n_later; i++)
		queue_item(b, &later[i]);
}

/* Takes ownership of *it (freed if the queue is full). */
static void queue_item(struct api_background *b, struct gc_item *it)
{
	pthread_mutex_lock(&b->lock);
	struct gc_item *q = b->n_queue < MAX_GC_QUEUE
				    ? realloc(b->queue, (b->n_queue + 1) * sizeof *q)
				    : NULL;
	if (q != NULL) {
		b->queue = q;
		q[b->n_queue++] = *it;
	} else {
		free_item(it);
	}
	pthread_mutex_unlock(&b->lock);
}

static void *run(void *arg)
{
	struct api_background *b = arg;
	char prefix[STORE_MAX_KEY + 1];
	store_key(prefix, sizeof prefix, "apiextensions.k8s.io", "customresourcedefinitions", NULL,
		  NULL);
	struct store_watch *crd_watch = NULL;
	/* Before the namespaces: once `default` exists clients write, and
	 * the first writes of a new cluster are better over by then. */
	kubernetes_service_sync(b->srv, b->store);
	ensure_namespaces(b);
	bool crds_dirty = true;
	int64_t since_scan = NAMESPACE_SCAN_MS, since_kubernetes = 0;
	int64_t since_repair = SERVICE_REPAIR_MS;
	for (;;) {
		pthread_mutex_lock(&b->lock);
		bool stop = b->stop, kicked = b->kicked;
		b->kicked = false;
		pthread_mutex_unlock(&b->lock);
		if (stop)
			break;
		if (crd_watch == NULL && store_watch(b->store, prefix, STORE_WATCH_NOW, &crd_watch) == MK_OK)
			crds_dirty = true;
		if (crds_dirty) {
			refresh_crds(b);
			crds_dirty = false;
		}
		collect_garbage(b);
		if (kicked || since_scan >= NAMESPACE_SCAN_MS) {
			finish_namespaces(b);
			since_scan = 0;
		}
		if (since_kubernetes >= KUBERNETES_SERVICE_MS) {
			kubernetes_service_sync(b->srv, b->store);
			since_kubernetes = 0;
		}
		if (since_repair >= SERVICE_REPAIR_MS) {
			service_repair(b->store, &b->srv->svc_ranges);
			since_repair = 0;
		}
		if (crd_watch != NULL) {
			struct store_event ev;
			int rv = store_watch_next(crd_watch, TICK_MS, &ev);
			if (rv == MK_OK) {
				crds_dirty = true;
				store_event_free(&ev);
				while (store_watch_next(crd_watch, 0, &ev) == MK_OK)
					store_event_free(&ev);
			} else if (rv != MK_ETIMEDOUT) {
				store_watch_close(crd_watch);
				crd_watch = NULL;
			}
		} else {
			struct timespec ts = {0, TICK_MS * 1000000L};
			nanosleep(&ts, NULL);
		}
		since_scan += TICK_MS;
		since_kubernetes += TICK_MS;
		since_repair += TICK_MS;
	}
	if (crd_watch)
		store_watch_close(crd_watch);
	kubernetes_service_leave(b->srv, b->store);
	return NULL;
}

int api_background_start(struct api_server *s)
{
	struct store *store = atomic_load(&s->store);
	if (s->background != NULL || store == NULL)
		return MK_OK;
	struct api_background *b = calloc(1, sizeof *b);
	if (b == NULL)
		return MK_ENOMEM;
	b->srv = s;
	b->store = store;
	pthread_mutex_init(&b->lock, NULL);
	if (pthread_create(&b->thread, NULL, run, b) != 0) {
		pthread_mutex_destroy(&b->lock);
		free(b);
		return MK_ENOMEM;
	}
	s->background = b;
	return MK_OK;
}

void api_background_signal_stop(struct api_server *s)
{
	struct api_background *b = s->background;
	if (b == NULL)
		return;
	pthread_mutex_lock(&b->lock);
	b->stop = true;
	pthread_mutex_unlock(&b->lock);
}

void api_background_join(struct api_server *s)
{
	struct api_background *b = s->background;
	if (b == NULL)
		return;
	pthread_join(b->thread, NULL);
	for (size_t i = 0; i < b->n_queue; i++)
		free_item(&b->queue[i]);
	free(b->queue);
	pthread_mutex_destroy(&b->lock);
	free(b);
	s->background = NULL;
}

void api_background_kick(struct api_server *s)
{
	struct api_background *b = s->background;
	if (b == NULL)
		return;
	pthread_mutex_lock(&b->lock);
	b->kicked = true;
	pthread_mutex_unlock(&b->lock);
}

void api_background_deleted(struct api_server *s, const struct api_resource *r, const json_t *obj,
			    enum gc_mode mode, const char *key)
{
	struct api_background *b = s->background;
	const char *uid = json_string_value(json_object_get(json_object_get(obj, "metadata"), "uid"));
	/* A deleted Service gives its address and ports back now, so they
	 * can be taken again at once. */
	if (!r->custom && r->group[0] == '\0' && strcmp(r->kind, "Service") == 0 &&
	    mode != GC_FOREGROUND && atomic_load(&s->store) != NULL)
		service_release(atomic_load(&s->store), obj, NULL);
	if (b == NULL || uid == NULL)
		return;
	/* Namespaces are emptied by their own path. */
	if (!r->custom && strcmp(r->kind, "Namespace") == 0)
		return;
	const char *ns = r->namespaced ? object_namespace(obj) : NULL;
	struct gc_item it = {.mode = mode, .uid = strdup(uid), .ns = ns ? strdup(ns) : NULL,
			     .key = key ? strdup(key) : NULL};
	if (it.uid == NULL || (ns && it.ns == NULL) || (key && it.key == NULL)) {
		free_item(&it);
		return;
	}
	queue_item(b, &it);
}
