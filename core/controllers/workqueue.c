/*
 * The work queue (workqueue.h).
 *
 * Sets of keys are jansson objects (hash tables we already link); the
 * ready keys are a FIFO list; delayed keys a small array scanned when a
 * worker looks for work (controllers keep few timers at once).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "../base/clock.h"
#include "workqueue.h"

#define RETRY_BASE_MS 5
#define RETRY_MAX_MS 60000

struct item {
	char *key;
	struct item *next;
};

struct delayed {
	char *key;
	int64_t due_ms;
};

struct workqueue {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct item *head, *tail;
	json_t *queued;     /* keys in the FIFO */
	json_t *processing; /* keys a worker holds */
	json_t *dirty;      /* added while processing: queue again when done */
	json_t *failures;   /* key -> failures in a row */
	struct delayed *later;
	size_t n_later, cap_later;
	bool shut;
};

struct workqueue *wq_new(void)
{
	struct workqueue *q = calloc(1, sizeof *q);

	if (q == NULL)
		return NULL;
	q->queued = json_object();
	q->processing = json_object();
	q->dirty = json_object();
	q->failures = json_object();
	if (!q->queued || !q->processing || !q->dirty || !q->failures) {
		wq_free(q);
		return NULL;
	}
	pthread_mutex_init(&q->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&q->cond, &ca);
	pthread_condattr_destroy(&ca);
	return q;
}

void wq_shutdown(struct workqueue *q)
{
	pthread_mutex_lock(&q->lock);
	q->shut = true;
	pthread_cond_broadcast(&q->cond);
	pthread_mutex_unlock(&q->lock);
}

void wq_free(struct workqueue *q)
{
	if (q == NULL)
		return;
	while (q->head != NULL) {
		struct item *it = q->head;
		q->head = it->next;
		free(it->key);
		free(it);
	}
	for (size_t i = 0; i < q->n_later; i++)
		free(q->later[i].key);
	free(q->later);
	json_decref(q->queued);
	json_decref(q->processing);
	json_decref(q->dirty);
	json_decref(q->failures);
	free(q);
}

/* Lock held. */
static void add_locked(struct workqueue *q, const char *key)
{
	if (q->shut || json_object_get(q->queued, key) != NULL)
		return;
	if (json_object_get(q->processing, key) != NULL) {
		json_object_set_new(q->dirty, key, json_true());
		return;
	}
	struct item *it = malloc(sizeof *it);
	char *copy = strdup(key);
	if (it == NULL || copy == NULL) {
		free(it);
		free(copy);
		return;
	}
	it->key = copy;
	it->next = NULL;
	if (q->tail != NULL)
		q->tail->next = it;
	else
		q->head = it;
	q->tail = it;
	json_object_set_new(q->queued, key, json_true());
	pthread_cond_signal(&q->cond);
}

void wq_add(struct workqueue *q, const char *key)
{
	pthread_mutex_lock(&q->lock);
	add_locked(q, key);
	pthread_mutex_unlock(&q->lock);
}

void wq_add_after(struct workqueue *q, const char *key, int64_t delay_ms)
{
	if (delay_ms <= 0) {
		wq_add(q, key);
		return;
	}
	pthread_mutex_lock(&q->lock);
	int64_t due = mk_monotonic_ms() + delay_ms;
	/* One timer per key: the earlier wins. */
	for (size_t i = 0; i < q->n_later; i++) {
		if (strcmp(q->later[i].key, key) == 0) {
			if (due < q->later[i].due_ms)
				q->later[i].due_ms = due;
			goto out;
		}
	}
	if (q->n_later == q->cap_later) {
		size_t cap = q->cap_later ? q->cap_later * 2 : 16;
		struct delayed *d = realloc(q->later, cap * sizeof *d);
		if (d == NULL)
			goto out;
		q->later = d;
		q->cap_later = cap;
	}
	q->later[q->n_later].key = strdup(key);
	if (q->later[q->n_later].key != NULL) {
		q->later[q->n_later].due_ms = due;
		q->n_later++;
	}
	pthread_cond_signal(&q->cond);
out:
	pthread_mutex_unlock(&q->lock);
}

/* Moves due timers into the FIFO; returns ms until the next one, or -1. */
static int64_t promote_due(struct workqueue *q)
{
	int64_t now = mk_monotonic_ms(), next = -1;

	for (size_t i = 0; i < q->n_later;) {
		if (q->later[i].due_ms <= now) {
			add_locked(q, q->later[i].key);
			free(q->later[i].key);
			q->later[i] = q->later[--q->n_later];
			continue;
		}
		int64_t left = q->later[i].due_ms - now;
		if (next < 0 || left < next)
			next = left;
		i++;
	}
	return next;
}

bool wq_get(struct workqueue *q, char **key)
{
	pthread_mutex_lock(&q->lock);
	for (;;) {
		if (q->shut) {
			pthread_mutex_unlock(&q->lock);
			return false;
		}
		int64_t next = promote_due(q);
		if (q->head != NULL)
			break;
		if (next < 0) {
			pthread_cond_wait(&q->cond, &q->lock);
		} else {
			struct timespec ts;
			clock_gettime(CLOCK_MONOTONIC, &ts);
			ts.tv_sec += next / 1000;
			ts.tv_nsec += (next % 1000) * 1000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&q->cond, &q->lock, &ts);
		}
	}
	struct item *it = q->head;
	q->head = it->next;
	if (q->head == NULL)
		q->tail = NULL;
	json_object_del(q->queued, it->key);
	json_object_set_new(q->processing, it->key, json_true());
	*key = it->key;
	free(it);
	pthread_mutex_unlock(&q->lock);
	return true;
}

void wq_done(struct workqueue *q, const char *key)
{
	pthread_mutex_lock(&q->lock);
	json_object_del(q->processing, key);
	if (json_object_get(q->dirty, key) != NULL) {
		json_object_del(q->dirty, key);
		add_locked(q, key);
	}
	pthread_mutex_unlock(&q->lock);
}

void wq_retry(struct workqueue *q, const char *key)
{
	pthread_mutex_lock(&q->lock);
	json_int_t n = json_integer_value(json_object_get(q->failures, key));
	json_object_set_new(q->failures, key, json_integer(n + 1));
	pthread_mutex_unlock(&q->lock);
	int64_t delay = RETRY_BASE_MS;
	for (json_int_t i = 0; i < n && delay < RETRY_MAX_MS; i++)
		delay *= 2;
	wq_add_after(q, key, delay < RETRY_MAX_MS ? delay : RETRY_MAX_MS);
}

void wq_forget(struct workqueue *q, const char *key)
{
	pthread_mutex_lock(&q->lock);
	json_object_del(q->failures, key);
	pthread_mutex_unlock(&q->lock);
}
