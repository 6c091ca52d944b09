/*
 * The pods waiting to be placed (sched_internal.h).  One FIFO of pods
 * whose turn it is (upstream's activeQ: every pod has priority 0 in mk,
 * so first come, first served) and a list of pods backing off after a
 * failed attempt.  A key index (tsearch) finds a pod again when its
 * informer reports a change.  Single-threaded: the scheduler's lock.
 */
#include <search.h>
#include <stdlib.h>
#include <string.h>

#include "../base/err.h"
#include "sched_internal.h"

#define BACKOFF_INITIAL_MS 1000
#define BACKOFF_MAX_MS 10000

struct list {
	struct sched_qentry *head, *tail;
};

struct sched_queue {
	void *index; /* tsearch tree of entries by key */
	struct list active, backoff;
	size_t n;
};

static int by_key(const void *a, const void *b)
{
	return strcmp(((const struct sched_qentry *)a)->key, ((const struct sched_qentry *)b)->key);
}

static void push(struct list *l, struct sched_qentry *e)
{
	e->next = NULL;
	e->prev = l->tail;
	if (l->tail != NULL)
		l->tail->next = e;
	else
		l->head = e;
	l->tail = e;
}

static void unlink_from(struct list *l, struct sched_qentry *e)
{
	if (e->prev != NULL)
		e->prev->next = e->next;
	else
		l->head = e->next;
	if (e->next != NULL)
		e->next->prev = e->prev;
	else
		l->tail = e->prev;
	e->prev = e->next = NULL;
}

/* The list an entry is on, or NULL when in flight. */
static struct list *list_of(struct sched_queue *q, struct sched_qentry *e)
{
	return e->state == Q_ACTIVE ? &q->active : e->state == Q_BACKOFF ? &q->backoff : NULL;
}

static struct sched_qentry *find(struct sched_queue *q, const char *key)
{
	struct sched_qentry probe = {.key = (char *)key};
	void *found = tfind(&probe, &q->index, by_key);

	return found != NULL ? *(struct sched_qentry **)found : NULL;
}

static void entry_free(struct sched_qentry *e)
{
	json_decref(e->pod);
	free(e->key);
	free(e);
}

struct sched_queue *sched_queue_new(void)
{
	return calloc(1, sizeof(struct sched_queue));
}

static void free_node(void *p)
{
	entry_free(p);
}

void sched_queue_free(struct sched_queue *q)
{
	if (q == NULL)
		return;
	tdestroy(q->index, free_node);
	free(q);
}

int64_t sched_backoff_ms(int attempts)
{
	int64_t ms = BACKOFF_INITIAL_MS;

	for (int i = 1; i < attempts && ms < BACKOFF_MAX_MS; i++)
		ms *= 2;
	return ms < BACKOFF_MAX_MS ? ms : BACKOFF_MAX_MS;
}

/* json_equal, with two absent values equal too. */
static bool same(const json_t *a, const json_t *b)
{
	return (a == NULL && b == NULL) || json_equal(a, b);
}

/* What makes a pod worth another try at once: its spec or its labels
 * changed (not its status, which the scheduler itself writes). */
static bool changed(const json_t *a, const json_t *b)
{
	return !same(json_object_get(a, "spec"), json_object_get(b, "spec")) ||
	       !same(json_object_get(json_object_get(a, "metadata"), "labels"),
			   json_object_get(json_object_get(b, "metadata"), "labels"));
}

int sched_queue_upsert(struct sched_queue *q, const char *key, json_t *pod)
{
	struct sched_qentry *e = find(q, key);

	if (e != NULL) {
		bool moved = changed(e->pod, pod);
		json_decref(e->pod);
		e->pod = json_incref(pod);
		if (moved && e->state == Q_BACKOFF) {
			unlink_from(&q->backoff, e);
			e->state = Q_ACTIVE;
			push(&q->active, e);
		}
		return MK_OK;
	}
	e = calloc(1, sizeof *e);
	if (e == NULL || (e->key = strdup(key)) == NULL) {
		free(e);
		return MK_ENOMEM;
	}
	if (tsearch(e, &q->index, by_key) == NULL) {
		free(e->key);
		free(e);
		return MK_ENOMEM;
	}
	e->pod = json_incref(pod);
	e->state = Q_ACTIVE;
	push(&q->active, e);
	q->n++;
	return MK_OK;
}

static void drop(struct sched_queue *q, struct sched_qentry *e)
{
	struct list *l = list_of(q, e);

	if (l != NULL)
		unlink_from(l, e);
	tdelete(e, &q->index, by_key);
	q->n--;
	entry_free(e);
}

void sched_queue_remove(struct sched_queue *q, const char *key)
{
	struct sched_qentry *e = find(q, key);

	if (e != NULL && e->state != Q_INFLIGHT)
		drop(q, e);
}

struct sched_qentry *sched_queue_pop(struct sched_queue *q, int64_t now, int64_t *wait_ms)
{
	struct sched_qentry *e, *next;
	int64_t soonest = -1;

	for (e = q->backoff.head; e != NULL; e = next) {
		next = e->next;
		if (e->backoff_until <= now) {
			unlink_from(&q->backoff, e);
			e->state = Q_ACTIVE;
			push(&q->active, e);
		} else if (soonest < 0 || e->backoff_until - now < soonest) {
			soonest = e->backoff_until - now;
		}
	}
	*wait_ms = soonest;
	e = q->active.head;
	if (e == NULL)
		return NULL;
	unlink_from(&q->active, e);
	e->state = Q_INFLIGHT;
	return e;
}

void sched_queue_done(struct sched_queue *q, struct sched_qentry *e)
{
	drop(q, e); /* in flight: on no list */
}

void sched_queue_failed(struct sched_queue *q, struct sched_qentry *e, int64_t now)
{
	e->attempts++;
	e->backoff_until = now + sched_backoff_ms(e->attempts);
	e->state = Q_BACKOFF;
	push(&q->backoff, e);
}

int sched_queue_delay(struct sched_queue *q, const char *key, json_t *pod, int64_t now)
{
	int rv = sched_queue_upsert(q, key, pod);
	struct sched_qentry *e = find(q, key);

	if (rv != MK_OK || e == NULL || e->state != Q_ACTIVE)
		return rv;
	unlink_from(&q->active, e);
	sched_queue_failed(q, e, now);
	return MK_OK;
}

void sched_queue_move_all(struct sched_queue *q)
{
	struct sched_qentry *e;

	while ((e = q->backoff.head) != NULL) {
		unlink_from(&q->backoff, e);
		e->state = Q_ACTIVE;
		push(&q->active, e);
	}
}

size_t sched_queue_len(const struct sched_queue *q)
{
	return q->n;
}
