/*
 * The scheduler's life cycle, its informers and its scheduling thread
 * (scheduler.h, sched_run.h).
 *
 * Informer events, under the lock:
 *   a pod with a node      counted on it (an assumed pod is confirmed);
 *                          finished (Succeeded/Failed) or deleted: gone,
 *                          and every backing-off pod tries again;
 *   a pod without a node   queued, if it is ours (schedulerName absent or
 *                          default-scheduler), alive and not assumed;
 *   a node                 added or changed in what filters read: every
 *                          backing-off pod tries again;
 *   a Service              the default spreading reads them again.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../base/clock.h"
#include "../base/err.h"
#include "../base/log.h"
#include "../kube/client.h"
#include "sched_run.h"

#define DEFAULT_BINDERS 4
#define SYNC_POLL_MS 100

static const char *str(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static void key_of(const json_t *obj, char *out, size_t len)
{
	const json_t *m = json_object_get(obj, "metadata");

	snprintf(out, len, "%s/%s", str(m, "namespace") ?: "", str(m, "name") ?: "");
}

static bool finished(const json_t *pod)
{
	const char *phase = str(json_object_get(pod, "status"), "phase");

	return phase != NULL && (strcmp(phase, "Succeeded") == 0 || strcmp(phase, "Failed") == 0);
}

static bool ours(const json_t *pod)
{
	const char *name = str(json_object_get(pod, "spec"), "schedulerName");

	return name == NULL || name[0] == '\0' || strcmp(name, SCHED_NAME) == 0;
}

static void on_pod(void *arg, enum kube_event type, json_t *pod)
{
	struct scheduler *s = arg;
	const char *node = str(json_object_get(pod, "spec"), "nodeName");
	bool bound = node != NULL && node[0] != '\0';
	char key[600];

	key_of(pod, key, sizeof key);
	pthread_mutex_lock(&s->lock);
	if (type == KUBE_DELETED || (bound && finished(pod))) {
		sched_queue_remove(s->queue, key);
		if (sched_cache_has_pod(s->cache, key)) {
			sched_cache_remove_pod(s->cache, key);
			sched_queue_move_all(s->queue);
		}
	} else if (bound) {
		sched_queue_remove(s->queue, key);
		if (sched_cache_set_pod(s->cache, key, pod) != MK_OK)
			mk_warn(SCHED_LOG, "pod %s: out of memory, not counted on %s", key, node);
	} else if (json_object_get(json_object_get(pod, "metadata"), "deletionTimestamp") ||
		   !ours(pod)) {
		sched_queue_remove(s->queue, key);
	} else if (!sched_cache_has_pod(s->cache, key)) {
		if (sched_queue_upsert(s->queue, key, pod) != MK_OK)
			mk_warn(SCHED_LOG, "pod %s: out of memory, not queued", key);
	}
	pthread_cond_signal(&s->wake);
	pthread_mutex_unlock(&s->lock);
}

static void on_node(void *arg, enum kube_event type, json_t *node)
{
	struct scheduler *s = arg;
	const char *name = str(json_object_get(node, "metadata"), "name");
	bool changed = false;

	pthread_mutex_lock(&s->lock);
	if (type == KUBE_DELETED)
		sched_cache_remove_node(s->cache, name ?: "");
	else if (sched_cache_set_node(s->cache, node, &changed) != MK_OK)
		mk_warn(SCHED_LOG, "node %s: not cached", name ?: "?");
	if (changed) {
		sched_queue_move_all(s->queue);
		pthread_cond_signal(&s->wake);
	}
	pthread_mutex_unlock(&s->lock);
}

static void on_service(void *arg, enum kube_event type, json_t *svc)
{
	struct scheduler *s = arg;

	pthread_mutex_lock(&s->lock);
	s->services_dirty = true;
	pthread_mutex_unlock(&s->lock);
}

static void on_namespace(void *arg, enum kube_event type, json_t *ns)
{
	/* Read on demand (namespaceSelector of affinity terms). */
}

/* The labels of namespace ns for this cycle: the object is kept in
 * ns_seen until the cycle ends, so the informer may replace it meanwhile. */
static const json_t *ns_labels(void *arg, const char *ns)
{
	struct scheduler *s = arg;
	json_t *obj = json_object_get(s->ns_seen, ns);

	if (obj == NULL) {
		obj = kube_informer_get(s->namespaces, "", ns);
		if (obj == NULL)
			return NULL;
		json_object_set_new(s->ns_seen, ns, obj);
	}
	return json_object_get(json_object_get(obj, "metadata"), "labels");
}

/* One pod through a cycle; the lock is held. */
static void schedule(struct scheduler *s, struct sched_qentry *e)
{
	char key[600], err[128];
	json_t *pod = json_incref(e->pod);
	struct sched_pod *p = NULL;
	struct sched_node *chosen = NULL;
	char *message = NULL;
	const char *reason = NULL;
	int rv;

	snprintf(key, sizeof key, "%s", e->key);
	if (sched_pod_new(pod, &p, err, sizeof err) != MK_OK) {
		sched_queue_failed(s->queue, e, mk_monotonic_ms());
		goto out;
	}
	if (p->error[0] != '\0') {
		/* Upstream fails such a pod in PreFilter, as an error. */
		sched_queue_failed(s->queue, e, mk_monotonic_ms());
		binders_post(s, JOB_FAIL, key, pod, "SchedulerError", p->error);
		goto out;
	}
	if (s->services_dirty) {
		json_decref(s->service_list);
		s->service_list = kube_informer_list(s->services);
		s->services_dirty = false;
	}
	struct sched_cluster c;
	sched_cache_cluster(s->cache, &c);
	c.services = s->service_list;
	c.ns_labels = ns_labels;
	c.ns_arg = s;
	rv = sched_schedule_one(&c, p, &s->rng, &chosen, &message, &reason);
	json_object_clear(s->ns_seen);
	if (rv != MK_OK) {
		mk_warn(SCHED_LOG, "pod %s: out of memory while scheduling", key);
		sched_queue_failed(s->queue, e, mk_monotonic_ms());
		goto out;
	}
	if (chosen == NULL) {
		mk_debug(SCHED_LOG, "pod %s: %s", key, message);
		sched_queue_failed(s->queue, e, mk_monotonic_ms());
		binders_post(s, JOB_FAIL, key, pod, reason, message);
		goto out;
	}
	char node[254];
	snprintf(node, sizeof node, "%s", chosen->name);
	sched_queue_done(s->queue, e);
	if (sched_cache_assume(s->cache, key, p, node) != MK_OK) {
		/* The cache frees nothing it could not take. */
		sched_queue_delay(s->queue, key, pod, mk_monotonic_ms());
		goto out;
	}
	p = NULL; /* the cache's now */
	binders_post(s, JOB_BIND, key, pod, NULL, node);
out:
	sched_pod_free(p);
	free(message);
	json_decref(pod);
}

static bool synced(struct scheduler *s)
{
	return kube_informer_synced(s->nodes) && kube_informer_synced(s->pods) &&
	       kube_informer_synced(s->services);
}

static void wait_ms(struct scheduler *s, int64_t ms)
{
	struct timespec ts;

	if (ms < 0) {
		pthread_cond_wait(&s->wake, &s->lock);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_cond_timedwait(&s->wake, &s->lock, &ts);
}

static void *scheduling_main(void *arg)
{
	struct scheduler *s = arg;
	bool was_synced = false;

	pthread_mutex_lock(&s->lock);
	while (!s->stop) {
		/* Placing pods on a half-listed cluster would overfill nodes. */
		if (!was_synced) {
			pthread_mutex_unlock(&s->lock);
			was_synced = synced(s);
			pthread_mutex_lock(&s->lock);
			if (!was_synced) {
				wait_ms(s, SYNC_POLL_MS);
				continue;
			}
			mk_info(SCHED_LOG, "scheduler ready: %zu pods to place",
				sched_queue_len(s->queue));
		}
		int64_t wait = -1;
		struct sched_qentry *e = sched_queue_pop(s->queue, mk_monotonic_ms(), &wait);
		if (e == NULL) {
			wait_ms(s, wait);
			continue;
		}
		schedule(s, e);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

static int start_informer(struct scheduler *s, const char *path, kube_informer_fn fn,
			  const char *name, struct kube_informer **out, char *errmsg, size_t len)
{
	struct kube_informer_config ic = {
		.client = s->client, .path = path, .on_event = fn, .arg = s, .name = name,
	};

	return kube_informer_start(&ic, out, errmsg, len);
}

int scheduler_start(const struct scheduler_config *cfg, struct scheduler **out, char *errmsg,
		    size_t len)
{
	struct scheduler *s = calloc(1, sizeof *s);
	int rv = MK_ENOMEM;

	if (cfg->client == NULL) {
		snprintf(errmsg, len, "the scheduler needs an API client");
		free(s);
		return MK_EINVAL;
	}
	if (s == NULL)
		goto oom;
	s->client = cfg->client;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->wake, NULL);
	s->rng = (uint64_t)time(NULL) * 2654435761u | 1;
	s->queue = sched_queue_new();
	s->cache = sched_cache_new();
	s->ns_seen = json_object();
	s->service_list = json_array();
	s->services_dirty = true;
	if (!s->queue || !s->cache || !s->ns_seen || !s->service_list)
		goto oom;
	rv = kube_events_start(s->client, SCHED_NAME, NULL, &s->events, errmsg, len);
	if (rv == MK_OK)
		rv = binders_start(s, cfg->bind_workers > 0 ? cfg->bind_workers : DEFAULT_BINDERS,
				   errmsg, len);
	if (rv == MK_OK)
		rv = start_informer(s, "/api/v1/nodes", on_node, "scheduler nodes", &s->nodes,
				    errmsg, len);
	if (rv == MK_OK)
		rv = start_informer(s, "/api/v1/pods", on_pod, "scheduler pods", &s->pods, errmsg,
				    len);
	if (rv == MK_OK)
		rv = start_informer(s, "/api/v1/services", on_service, "scheduler services",
				    &s->services, errmsg, len);
	if (rv == MK_OK)
		rv = start_informer(s, "/api/v1/namespaces", on_namespace,
				    "scheduler namespaces", &s->namespaces, errmsg, len);
	if (rv == MK_OK) {
		if (pthread_create(&s->thread, NULL, scheduling_main, s) == 0) {
			s->thread_started = true;
		} else {
			snprintf(errmsg, len, "cannot start the scheduling thread");
			rv = MK_ENOMEM;
		}
	}
	if (rv != MK_OK) {
		scheduler_stop(s);
		return rv;
	}
	mk_info(SCHED_LOG, "scheduler started (%d binding threads)", s->n_binders);
	*out = s;
	return MK_OK;
oom:
	snprintf(errmsg, len, "out of memory");
	scheduler_stop(s);
	return MK_ENOMEM;
}

void scheduler_stop(struct scheduler *s)
{
	if (s == NULL)
		return;
	/* No handler runs after the informers stop; the binders still read
	 * the pods informer, so the informers are freed after them. */
	kube_informer_cancel(s->nodes);
	kube_informer_cancel(s->pods);
	kube_informer_cancel(s->services);
	kube_informer_cancel(s->namespaces);
	pthread_mutex_lock(&s->lock);
	s->stop = true;
	pthread_cond_broadcast(&s->wake);
	pthread_mutex_unlock(&s->lock);
	if (s->thread_started)
		pthread_join(s->thread, NULL);
	if (s->binders != NULL)
		binders_stop(s);
	kube_informer_stop(s->nodes);
	kube_informer_stop(s->pods);
	kube_informer_stop(s->services);
	kube_informer_stop(s->namespaces);
	kube_events_stop(s->events);
	sched_queue_free(s->queue);
	sched_cache_free(s->cache);
	json_decref(s->ns_seen);
	json_decref(s->service_list);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->wake);
	free(s);
}
