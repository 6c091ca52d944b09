/*
 * mk's scheduler: kube-scheduler's job in mkd.  Pods that name no node
 * (and no other scheduler) are placed on one, one pod at a time, through
 * the pods/binding subresource.
 *
 * Informers (core/kube) on nodes, all pods, services and namespaces feed a
 * cache of what runs where; a pod just bound counts on its node at once
 * (upstream's "assumed" pods), before its informer shows it bound.  The
 * filters and scores are upstream's default profile (sched_internal.h
 * lists them); a pod no node fits gets PodScheduled=False with upstream's
 * message and a FailedScheduling Event, and is retried with back-off (1 s
 * doubling to 10 s), and at once when a node is added or changes or a pod
 * goes away.  There is no preemption.
 *
 * Threading: scheduler_start/stop from one thread, never from the API's
 * loop thread (stopping waits for requests that loop serves).  Inside:
 * one scheduling thread, a few binding threads, the informers' threads.
 *
 * Errors: scheduler_start returns 0, or MK_ENOMEM / MK_EINVAL with one
 * line in errmsg.  Everything after start is logged, never fatal.
 */
#ifndef MK_SCHEDULER_H
#define MK_SCHEDULER_H

#include <stddef.h>

struct kube_client;
struct scheduler;

struct scheduler_config {
	struct kube_client *client; /* borrowed; must outlive the scheduler */
	int bind_workers;           /* threads that bind and report; 0: 4 */
};

int scheduler_start(const struct scheduler_config *cfg, struct scheduler **out, char *errmsg,
		    size_t len);
/* Stops every thread and frees everything (NULL-safe).  Bindings in
 * flight finish first (each is bounded by the client's timeout). */
void scheduler_stop(struct scheduler *s);

#endif
