/*
 * The Event recorder (events.h).
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../base/clock.h"
#include "../base/err.h"
#include "../base/log.h"
#include "client.h"
#include "events.h"

#define EVENTS_LOG "events"
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

struct kube_events {
	struct kube_client *client;
	char *component, *host;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct event_job *head, *tail;
	int queued;
	unsigned long dropped;
	bool stop;
	json_t *seen; /* key -> {"name":..., "count":n}; recorder thread only */
};

static const char *str(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static void job_free(struct event_job *j)
{
	free(j->ns);
	free(j->key);
	json_decref(j->event);
	free(j);
}

static void record(struct kube_events *r, struct event_job *j)
{
	char path[1024], ns[300], err[256];
	json_t *seen = json_object_get(r->seen, j->key);

	kube_escape(j->ns, ns, sizeof ns);
	if (seen != NULL) {
		json_int_t count = json_integer_value(json_object_get(seen, "count")) + 1;
		snprintf(path, sizeof path, "/api/v1/namespaces/%s/events/%s", ns, str(seen, "name"));
		json_t *patch = json_pack("{s:I, s:O}", "count", count, "lastTimestamp",
					  json_object_get(j->event, "lastTimestamp"));
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
		mk_debug(EVENTS_LOG, "event %s not recorded: %s", str(j->event, "reason"), err);
		return;
	}
	if (json_object_size(r->seen) >= SEEN_MAX)
		json_object_clear(r->seen);
	json_object_set_new(r->seen, j->key,
			    json_pack("{s:O, s:i}", "name",
				      json_object_get(json_object_get(j->event, "metadata"), "name"),
				      "count", 1));
}

static void *recorder_main(void *arg)
{
	struct kube_events *r = arg;
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

int kube_events_start(struct kube_client *client, const char *component, const char *host,
		      struct kube_events **out, char *errmsg, size_t len)
{
	struct kube_events *r = calloc(1, sizeof *r);

	if (r == NULL)
		goto oom;
	r->client = client;
	r->component = strdup(component);
	r->host = host ? strdup(host) : NULL;
	r->seen = json_object();
	if (r->component == NULL || (host && r->host == NULL) || r->seen == NULL)
		goto oom;
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->cond, NULL);
	if (pthread_create(&r->thread, NULL, recorder_main, r) != 0) {
		snprintf(errmsg, len, "cannot start the event recorder thread");
		pthread_mutex_destroy(&r->lock);
		pthread_cond_destroy(&r->cond);
		goto fail;
	}
	*out = r;
	return MK_OK;
oom:
	snprintf(errmsg, len, "out of memory");
fail:
	if (r != NULL) {
		json_decref(r->seen);
		free(r->component);
		free(r->host);
		free(r);
	}
	return MK_ENOMEM;
}

void kube_events_stop(struct kube_events *r)
{
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
		mk_warn(EVENTS_LOG, "%s: %lu events were dropped (queue full)", r->component,
			r->dropped);
	pthread_mutex_destroy(&r->lock);
	pthread_cond_destroy(&r->cond);
	json_decref(r->seen);
	free(r->component);
	free(r->host);
	free(r);
}

static void rfc3339_now(char *out, size_t len)
{
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* The Event object; NULL when out of memory. */
static json_t *build_event(struct kube_events *r, const json_t *obj, const char *ns,
			   const char *type, const char *reason, const char *fieldpath,
			   const char *msg)
{
	const json_t *meta = json_object_get(obj, "metadata");
	const char *name = str(meta, "name") ? str(meta, "name") : "";
	char now[40], ev_name[400];
	struct timespec ts;

	rfc3339_now(now, sizeof now);
	clock_gettime(CLOCK_REALTIME, &ts);
	/* client-go's naming: the object's name and a unique suffix. */
	snprintf(ev_name, sizeof ev_name, "%.250s.%llx", name,
		 (unsigned long long)ts.tv_sec * 1000000000ULL + (unsigned long long)ts.tv_nsec);
	json_t *ref = json_pack("{s:s, s:s, s:s}", "apiVersion",
				str(obj, "apiVersion") ? str(obj, "apiVersion") : "v1", "kind",
				str(obj, "kind") ? str(obj, "kind") : "", "name", name);
	if (ref == NULL)
		return NULL;
	if (str(meta, "namespace") != NULL)
		json_object_set_new(ref, "namespace", json_string(str(meta, "namespace")));
	if (str(meta, "uid") != NULL)
		json_object_set_new(ref, "uid", json_string(str(meta, "uid")));
	if (str(meta, "resourceVersion") != NULL)
		json_object_set_new(ref, "resourceVersion",
				    json_string(str(meta, "resourceVersion")));
	if (fieldpath != NULL)
		json_object_set_new(ref, "fieldPath", json_string(fieldpath));
	json_t *source = json_pack("{s:s}", "component", r->component);
	if (source != NULL && r->host != NULL)
		json_object_set_new(source, "host", json_string(r->host));
	json_t *ev = json_pack("{s:s, s:s, s:{s:s, s:s}, s:o, s:s, s:s, s:s, s:o, "
			       "s:s, s:s, s:i, s:s, s:s}",
			       "apiVersion", "v1", "kind", "Event", "metadata", "name", ev_name,
			       "namespace", ns, "involvedObject", ref, "reason", reason, "message",
			       msg, "type", type, "source", source, "firstTimestamp", now,
			       "lastTimestamp", now, "count", 1, "reportingComponent", r->component,
			       "reportingInstance", r->host ? r->host : "");
	return ev;
}

void kube_event(struct kube_events *r, const json_t *obj, const char *type, const char *reason,
		const char *fieldpath, const char *fmt, ...)
{
	const json_t *meta = json_object_get(obj, "metadata");
	/* Events about cluster-scoped objects (Nodes) live in "default". */
	const char *ns = str(meta, "namespace") ? str(meta, "namespace") : "default";
	char msg[1024], key[1800];
	va_list ap;

	if (r == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	snprintf(key, sizeof key, "%s\n%s\n%s\n%s\n%s\n%s", str(obj, "kind") ? str(obj, "kind") : "",
		 str(meta, "uid") ? str(meta, "uid") : str(meta, "name") ? str(meta, "name") : "",
		 reason, fieldpath ? fieldpath : "", type, msg);
	json_t *ev = build_event(r, obj, ns, type, reason, fieldpath, msg);
	struct event_job *j = calloc(1, sizeof *j);
	if (j == NULL || ev == NULL || (j->ns = strdup(ns)) == NULL ||
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
