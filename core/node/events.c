/*
 * Events about a pod, as kubelet records them (source component
 * "kubelet", the node as host), so `kubectl describe pod` and
 * `kubectl get events` tell the story.  A repeat of the same reason and
 * message for the same pod bumps the existing Event's count instead of
 * making a new one, the way client-go's event correlator aggregates.
 *
 * Recording is off the pod's path: pod_event queues, one recorder thread
 * talks to the API, so starting a container never waits for its Events.
 * Events are best effort: a full queue drops (and counts) them, a failure
 * to record one is logged at debug level and forgotten.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../base/err.h"
#include "../base/log.h"
#include "../kube/client.h"
#include "node_internal.h"

#define QUEUE_MAX 1024
/* Aggregation memory: forgotten wholesale past this many distinct events
 * (a repeat then makes a new Event, which is harmless). */
#define SEEN_MAX 4096
#define DRAIN_MS 2000

struct event_job {
	char *ns, *key;
	json_t *event;
	struct event_job *next;
};

struct event_recorder {
	struct kube_client *client;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct event_job *head, *tail;
	int queued;
	unsigned long dropped;
	bool stop;
	json_t *seen; /* key -> {"name":..., "count":n}; recorder thread only */
};

static void job_free(struct event_job *j)
{
	free(j->ns);
	free(j->key);
	json_decref(j->event);
	free(j);
}

static void record(struct event_recorder *r, struct event_job *j)
{
	char path[1024], ns[300], err[256];
	json_t *seen = jo(r->seen, j->key);

	kube_escape(j->ns, ns, sizeof ns);
	if (seen != NULL) {
		json_int_t count = json_integer_value(jo(seen, "count")) + 1;
		snprintf(path, sizeof path, "/api/v1/namespaces/%s/events/%s", ns, js(seen, "name"));
		json_t *patch = json_pack("{s:I, s:O}", "count", count, "lastTimestamp",
					  jo(j->event, "lastTimestamp"));
		int rv = kube_merge_patch(r->client, path, patch, NULL, err, sizeof err);
		json_decref(patch);
		if (rv == MK_OK) {
			json_object_set_new(seen, "count", json_integer(count));
			return;
		}
		/* Gone (Events expire): record it anew. */
		json_object_del(r->seen, j->key);
	}
	snprintf(path, sizeof path, "/api/v1/namespaces/%s/events", ns);
	if (kube_create(r->client, path, j->event, NULL, err, sizeof err) != MK_OK) {
		mk_debug(NODE_LOG, "event %s not recorded: %s", js(j->event, "reason"), err);
		return;
	}
	if (json_object_size(r->seen) >= SEEN_MAX)
		json_object_clear(r->seen);
	json_object_set_new(r->seen, j->key,
			    json_pack("{s:O, s:i}", "name", jo(jo(j->event, "metadata"), "name"),
				      "count", 1));
}

static void *recorder_main(void *arg)
{
	struct event_recorder *r = arg;
	int64_t drain_until = 0;

	pthread_mutex_lock(&r->lock);
	for (;;) {
		while (r->head == NULL && !r->stop)
			pthread_cond_wait(&r->cond, &r->lock);
		if (r->stop && drain_until == 0)
			drain_until = mk_monotonic_ms() + DRAIN_MS;
		if (r->head == NULL || (r->stop && mk_monotonic_ms() > drain_until))
			break;
		struct event_job *j = r->head;
		r->head = j->next;
		if (r->head == NULL)
			r->tail = NULL;
		r->queued--;
		pthread_mutex_unlock(&r->lock);
		record(r, j);
		job_free(j);
		pthread_mutex_lock(&r->lock);
	}
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

int event_recorder_start(struct node_agent *a, char *errmsg, size_t len)
{
	struct event_recorder *r = calloc(1, sizeof *r);

	if (r == NULL || (r->seen = json_object()) == NULL) {
		free(r);
		snprintf(errmsg, len, "out of memory");
		return MK_ENOMEM;
	}
	r->client = a->client;
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->cond, NULL);
	if (pthread_create(&r->thread, NULL, recorder_main, r) != 0) {
		json_decref(r->seen);
		free(r);
		snprintf(errmsg, len, "cannot start the event recorder thread");
		return MK_ENOMEM;
	}
	a->events = r;
	return MK_OK;
}

void event_recorder_stop(struct node_agent *a)
{
	struct event_recorder *r = a->events;

	if (r == NULL)
		return;
	pthread_mutex_lock(&r->lock);
	r->stop = true;
	pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->lock);
	pthread_join(r->thread, NULL);
	while (r->head != NULL) {
		struct event_job *j = r->head;
		r->head = j->next;
		job_free(j);
	}
	if (r->dropped > 0)
		mk_warn(NODE_LOG, "%lu events were dropped (queue full)", r->dropped);
	json_decref(r->seen);
	free(r);
	a->events = NULL;
}

void pod_event(struct pod_worker *w, const char *type, const char *reason, const char *fieldpath,
	       const char *fmt, ...)
{
	struct event_recorder *r = w->agent->events;
	char msg[1024], key[1600], now[40], name[400];
	va_list ap;
	struct timespec ts;

	if (r == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	node_rfc3339(now, sizeof now);
	snprintf(key, sizeof key, "%s\n%s\n%s\n%s", w->uid, reason, fieldpath ? fieldpath : "", msg);
	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(name, sizeof name, "%s.%llx", w->name,
		 (unsigned long long)ts.tv_sec * 1000000000ULL + (unsigned long long)ts.tv_nsec);
	json_t *ref = json_pack("{s:s, s:s, s:s, s:s, s:s}", "apiVersion", "v1", "kind", "Pod",
				"namespace", w->ns, "name", w->name, "uid", w->uid);
	const char *rv = js(jo(w->cur ? w->cur : w->pod, "metadata"), "resourceVersion");
	if (rv != NULL)
		json_object_set_new(ref, "resourceVersion", json_string(rv));
	if (fieldpath != NULL)
		json_object_set_new(ref, "fieldPath", json_string(fieldpath));
	json_t *ev = json_pack("{s:s, s:s, s:{s:s, s:s}, s:o, s:s, s:s, s:s, s:{s:s, s:s}, "
			       "s:s, s:s, s:i, s:s, s:s}",
			       "apiVersion", "v1", "kind", "Event", "metadata", "name", name,
			       "namespace", w->ns, "involvedObject", ref, "reason", reason,
			       "message", msg, "type", type, "source", "component", "kubelet", "host",
			       w->agent->cfg.node_name, "firstTimestamp", now, "lastTimestamp", now,
			       "count", 1, "reportingComponent", "kubelet", "reportingInstance",
			       w->agent->cfg.node_name);
	struct event_job *j = calloc(1, sizeof *j);
	if (j == NULL || ev == NULL || (j->ns = strdup(w->ns)) == NULL ||
	    (j->key = strdup(key)) == NULL) {
		if (j != NULL) {
			j->event = ev;
			job_free(j);
		} else {
			json_decref(ev);
		}
		return;
	}
	j->event = ev;
	pthread_mutex_lock(&r->lock);
	if (r->queued >= QUEUE_MAX || r->stop) {
		r->dropped++;
		pthread_mutex_unlock(&r->lock);
		job_free(j);
		return;
	}
	if (r->tail != NULL)
		r->tail->next = j;
	else
		r->head = j;
	r->tail = j;
	r->queued++;
	pthread_cond_signal(&r->cond);
	pthread_mutex_unlock(&r->lock);
}
