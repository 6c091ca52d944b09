/*
 * The running scheduler, shared by scheduler.c (informers, the scheduling
 * thread) and bind.c (the threads that talk to the API about a decision).
 *
 * Locking: `lock` guards the queue, the cache, services and ns_seen; the
 * scheduling thread holds it for a whole cycle (a cycle is pure CPU work,
 * well under a millisecond for a hundred nodes), informer handlers and
 * binders for a few operations.  No HTTP call is ever made under it.
 */
#ifndef MK_SCHED_RUN_H
#define MK_SCHED_RUN_H

#include <pthread.h>
#include <stdbool.h>

#include "../kube/events.h"
#include "../kube/informer.h"
#include "sched_internal.h"
#include "scheduler.h"

struct binder;

struct scheduler {
	struct kube_client *client;
	struct kube_events *events;
	struct kube_informer *nodes, *pods, *services, *namespaces;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool stop;
	struct sched_queue *queue;
	struct sched_cache *cache;
	json_t *service_list;  /* the Services, refreshed when one changes */
	bool services_dirty;
	json_t *ns_seen;       /* a cycle's namespaces (name -> object), kept alive */
	uint64_t rng;
	pthread_t thread;
	bool thread_started;
	struct binder *binders;
	int n_binders;
};

enum bind_job_type { JOB_BIND, JOB_FAIL };

/* bind.c */
int binders_start(struct scheduler *s, int n, char *errmsg, size_t len);
/* Lets each binder finish the request in hand, drops the rest, joins. */
void binders_stop(struct scheduler *s);
/* Queues a job (jobs for one pod go to one binder, in order); the caller
 * holds s->lock.  For JOB_BIND `text` is the node; for JOB_FAIL the
 * message, with `reason` the condition's reason.  Copies what it keeps;
 * takes a reference on pod.  When it cannot be queued (out of memory, a
 * full queue) a binding is undone and the pod backs off. */
void binders_post(struct scheduler *s, enum bind_job_type type, const char *key, json_t *pod,
		  const char *reason, const char *text);

#endif
