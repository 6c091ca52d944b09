/*
 * The binders (sched_run.h): threads that carry the scheduling thread's
 * decisions to the API, so that placing the next pod never waits for a
 * round trip (upstream binds in a goroutine for the same reason).
 *
 *   bind: POST pods/NAME/binding.  Done: the pod stays assumed until its
 *         informer shows it bound, and a Scheduled Event says where.  409
 *         (someone else placed it, or it is going) or 404: forgotten, the
 *         informer tells the truth.  Anything else: forgotten and retried
 *         after a back-off.
 *   fail: PodScheduled=False with upstream's reason and message on the
 *         pod's status (only when that changes), and a FailedScheduling
 *         Event (the recorder counts repeats on one Event).
 *
 * All the jobs of one pod go to one binder, so its "failed" status can
 * never overtake a later binding.
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

#define QUEUE_MAX 100000

struct bind_job {
	enum bind_job_type type;
	char *key, *reason, *text;
	json_t *pod;
	struct bind_job *next;
};

struct binder {
	struct scheduler *s;
	pthread_t thread;
	bool started;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct bind_job *head, *tail;
	int queued;
	bool stop;
};

static const char *str(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static void job_free(struct bind_job *j)
{
	free(j->key);
	free(j->reason);
	free(j->text);
	json_decref(j->pod);
	free(j);
}

/* What an Event needs to name the pod (informer items carry no kind). */
static json_t *pod_ref(const json_t *pod)
{
	const json_t *m = json_object_get(pod, "metadata");

	return json_pack("{s:s, s:s, s:{s:s, s:s, s:s}}", "apiVersion", "v1", "kind", "Pod",
			 "metadata", "name", str(m, "name") ?: "", "namespace",
			 str(m, "namespace") ?: "", "uid", str(m, "uid") ?: "");
}

static void pod_path(const json_t *pod, const char *sub, char *out, size_t len)
{
	const json_t *m = json_object_get(pod, "metadata");
	char ns[300], name[300];

	kube_escape(str(m, "namespace") ?: "", ns, sizeof ns);
	kube_escape(str(m, "name") ?: "", name, sizeof name);
	snprintf(out, len, "/api/v1/namespaces/%s/pods/%s/%s", ns, name, sub);
}

/* The pod again, as the scheduler should see it after a failed binding:
 * queued when the informer still shows it unbound and alive. */
static void requeue(struct scheduler *s, const char *key, bool delay)
{
	char ns[300], name[300];
	const char *slash = strchr(key, '/');

	if (slash == NULL)
		return;
	snprintf(ns, sizeof ns, "%.*s", (int)(slash - key), key);
	snprintf(name, sizeof name, "%s", slash + 1);
	json_t *now = kube_informer_get(s->pods, ns, name);
	const json_t *spec = json_object_get(now, "spec");
	pthread_mutex_lock(&s->lock);
	sched_cache_forget(s->cache, key);
	if (now != NULL && (str(spec, "nodeName") ?: "")[0] == '\0' &&
	    json_object_get(json_object_get(now, "metadata"), "deletionTimestamp") == NULL) {
		if (delay)
			sched_queue_delay(s->queue, key, now, mk_monotonic_ms());
		else
			sched_queue_upsert(s->queue, key, now);
		pthread_cond_signal(&s->wake);
	}
	pthread_mutex_unlock(&s->lock);
	json_decref(now);
}

static void do_bind(struct scheduler *s, struct bind_job *j)
{
	const json_t *m = json_object_get(j->pod, "metadata");
	char path[1024], err[512];
	long status = 0;

	pod_path(j->pod, "binding", path, sizeof path);
	json_t *b = json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:s, s:s, s:s}}", "apiVersion", "v1",
			      "kind", "Binding", "metadata", "name", str(m, "name") ?: "", "uid",
			      str(m, "uid") ?: "", "target", "apiVersion", "v1", "kind", "Node",
			      "name", j->text);
	int rv = kube_request(s->client, "POST", path, NULL, b, NULL, &status, err, sizeof err);
	json_decref(b);
	if (rv == MK_OK) {
		pthread_mutex_lock(&s->lock);
		sched_cache_bound(s->cache, j->key);
		pthread_mutex_unlock(&s->lock);
		json_t *ref = pod_ref(j->pod);
		kube_event(s->events, ref, "Normal", "Scheduled", NULL,
			   "Successfully assigned %s to %s", j->key, j->text);
		json_decref(ref);
		return;
	}
	if (rv == MK_ECONFLICT || rv == MK_ENOTFOUND) {
		mk_debug(SCHED_LOG, "pod %s not bound to %s: %s", j->key, j->text, err);
		requeue(s, j->key, false);
		return;
	}
	mk_warn(SCHED_LOG, "cannot bind pod %s to %s: %s", j->key, j->text, err);
	requeue(s, j->key, true);
}

static const json_t *scheduled_condition(const json_t *pod)
{
	size_t i;
	json_t *c;

	json_array_foreach(json_object_get(json_object_get(pod, "status"), "conditions"), i, c)
		if (strcmp(str(c, "type") ?: "", "PodScheduled") == 0)
			return c;
	return NULL;
}

/* PodScheduled=False on the pod's status: its conditions with that one
 * replaced (a merge patch replaces the list), the transition time kept
 * when the status was False already. */
static void do_fail(struct scheduler *s, struct bind_job *j)
{
	const json_t *old = scheduled_condition(j->pod);
	char path[1024], err[512], now[32];
	bool placed;

	pthread_mutex_lock(&s->lock);
	placed = sched_cache_has_pod(s->cache, j->key);
	pthread_mutex_unlock(&s->lock);
	if (placed)
		return;
	bool same = old != NULL && strcmp(str(old, "status") ?: "", "False") == 0 &&
		    strcmp(str(old, "reason") ?: "", j->reason) == 0 &&
		    strcmp(str(old, "message") ?: "", j->text) == 0;
	if (!same) {
		time_t t = time(NULL);
		struct tm tm;
		gmtime_r(&t, &tm);
		strftime(now, sizeof now, "%Y-%m-%dT%H:%M:%SZ", &tm);
		bool was_false = old != NULL && strcmp(str(old, "status") ?: "", "False") == 0;
		json_t *cond = json_pack("{s:s, s:s, s:s, s:s, s:n, s:s}", "type", "PodScheduled",
					 "status", "False", "reason", j->reason, "message", j->text,
					 "lastProbeTime", "lastTransitionTime",
					 was_false && str(old, "lastTransitionTime")
						 ? str(old, "lastTransitionTime")
						 : now);
		json_t *conds = json_array();
		size_t i;
		json_t *c;
		json_array_foreach(json_object_get(json_object_get(j->pod, "status"), "conditions"),
				   i, c)
			if (c != old)
				json_array_append(conds, c);
		json_array_append_new(conds, cond);
		json_t *patch = json_pack("{s:{s:o}}", "status", "conditions", conds);
		pod_path(j->pod, "status", path, sizeof path);
		if (kube_merge_patch(s->client, path, patch, NULL, err, sizeof err) != MK_OK)
			mk_debug(SCHED_LOG, "pod %s: status not updated: %s", j->key, err);
		json_decref(patch);
	}
	json_t *ref = pod_ref(j->pod);
	kube_event(s->events, ref, "Warning", "FailedScheduling", NULL, "%s", j->text);
	json_decref(ref);
}

static void *binder_main(void *arg)
{
	struct binder *b = arg;

	pthread_mutex_lock(&b->lock);
	for (;;) {
		while (b->head == NULL && !b->stop)
			pthread_cond_wait(&b->cond, &b->lock);
		if (b->stop)
			break;
		struct bind_job *j = b->head;
		b->head = j->next;
		if (b->head == NULL)
			b->tail = NULL;
		b->queued--;
		pthread_mutex_unlock(&b->lock);
		if (j->type == JOB_BIND)
			do_bind(b->s, j);
		else
			do_fail(b->s, j);
		job_free(j);
		pthread_mutex_lock(&b->lock);
	}
	pthread_mutex_unlock(&b->lock);
	return NULL;
}

int binders_start(struct scheduler *s, int n, char *errmsg, size_t len)
{
	s->binders = calloc((size_t)n, sizeof *s->binders);
	if (s->binders == NULL) {
		snprintf(errmsg, len, "out of memory");
		return MK_ENOMEM;
	}
	s->n_binders = n;
	for (int i = 0; i < n; i++) {
		struct binder *b = &s->binders[i];
		b->s = s;
		pthread_mutex_init(&b->lock, NULL);
		pthread_cond_init(&b->cond, NULL);
		if (pthread_create(&b->thread, NULL, binder_main, b) != 0) {
			snprintf(errmsg, len, "cannot start the scheduler's binding threads");
			return MK_ENOMEM;
		}
		b->started = true;
	}
	return MK_OK;
}

void binders_stop(struct scheduler *s)
{
	for (int i = 0; i < s->n_binders; i++) {
		struct binder *b = &s->binders[i];
		pthread_mutex_lock(&b->lock);
		b->stop = true;
		pthread_cond_broadcast(&b->cond);
		pthread_mutex_unlock(&b->lock);
	}
	for (int i = 0; i < s->n_binders; i++) {
		struct binder *b = &s->binders[i];
		if (b->started)
			pthread_join(b->thread, NULL);
		while (b->head != NULL) {
			struct bind_job *j = b->head;
			b->head = j->next;
			job_free(j);
		}
		pthread_mutex_destroy(&b->lock);
		pthread_cond_destroy(&b->cond);
	}
	free(s->binders);
	s->binders = NULL;
	s->n_binders = 0;
}

/* FNV-1a: the same pod, the same binder. */
static unsigned hash(const char *k)
{
	unsigned h = 2166136261u;

	for (; *k; k++)
		h = (h ^ (unsigned char)*k) * 16777619u;
	return h;
}

/* A decision that cannot be carried out: an assumed pod is forgotten and
 * tried again later (the caller holds s->lock). */
static void dropped(struct scheduler *s, enum bind_job_type type, const char *key, json_t *pod,
		    const char *why)
{
	mk_warn(SCHED_LOG, "pod %s: %s, decision dropped", key, why);
	if (type == JOB_BIND) {
		sched_cache_forget(s->cache, key);
		sched_queue_delay(s->queue, key, pod, mk_monotonic_ms());
	}
}

void binders_post(struct scheduler *s, enum bind_job_type type, const char *key, json_t *pod,
		  const char *reason, const char *text)
{
	struct bind_job *j = calloc(1, sizeof *j);

	if (j == NULL || (j->key = strdup(key)) == NULL || (j->text = strdup(text)) == NULL ||
	    (reason != NULL && (j->reason = strdup(reason)) == NULL)) {
		if (j != NULL)
			job_free(j);
		dropped(s, type, key, pod, "out of memory");
		return;
	}
	j->type = type;
	j->pod = json_incref(pod);
	struct binder *b = &s->binders[hash(key) % (unsigned)s->n_binders];
	pthread_mutex_lock(&b->lock);
	if (b->queued >= QUEUE_MAX) {
		pthread_mutex_unlock(&b->lock);
		job_free(j);
		dropped(s, type, key, pod, "binder queue full");
		return;
	}
	if (b->tail != NULL)
		b->tail->next = j;
	else
		b->head = j;
	b->tail = j;
	b->queued++;
	pthread_cond_signal(&b->cond);
	pthread_mutex_unlock(&b->lock);
}
