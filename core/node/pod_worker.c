/*
 * One thread per pod, as kubelet has one goroutine per pod: the pod's
 * changes, its containers' exits and its timers (probes, back-off) all
 * end up as "sync again", and syncs of one pod never overlap.
 *
 * The worker sleeps in poll() on an eventfd (the informer saw a change)
 * and on a pidfd per running container shim (a container ended), with a
 * timeout for the next timer that pod_sync asked for.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "../base/err.h"
#include "../base/log.h"
#include "node_internal.h"

void pod_worker_wake(struct pod_worker *w)
{
	uint64_t one = 1;

	if (write(w->wake_fd, &one, sizeof one) < 0 && errno != EAGAIN)
		mk_warn(NODE_LOG, "pod %s/%s: cannot wake its worker: %s", w->ns, w->name,
			strerror(errno));
}

static void worker_free(struct pod_worker *w)
{
	for (size_t i = 0; i < w->n_ctrs; i++)
		if (w->ctrs[i].pidfd >= 0)
			close(w->ctrs[i].pidfd);
	free(w->ctrs);
	json_decref(w->pod);
	json_decref(w->cur);
	json_decref(w->volume_paths);
	free(w->pushed_status);
	close(w->wake_fd);
	pthread_mutex_destroy(&w->lock);
	free(w);
}

static void *worker_main(void *arg)
{
	struct pod_worker *w = arg;

	mk_debug(NODE_LOG, "pod %s/%s: worker started", w->ns, w->name);
	pod_adopt(w);
	for (;;) {
		pthread_mutex_lock(&w->lock);
		bool stop = w->stop;
		pthread_mutex_unlock(&w->lock);
		if (stop)
			break;
		int64_t delay = pod_sync(w);
		if (delay < 0)
			break;
		struct pollfd p[64];
		nfds_t n = 0;
		p[n++] = (struct pollfd){ .fd = w->wake_fd, .events = POLLIN };
		for (size_t i = 0; i < w->n_ctrs && n < 64; i++)
			if (w->ctrs[i].pidfd >= 0)
				p[n++] = (struct pollfd){ .fd = w->ctrs[i].pidfd, .events = POLLIN };
		if (delay > 60000)
			delay = 60000;
		if (poll(p, n, (int)delay) > 0 && (p[0].revents & POLLIN)) {
			uint64_t v;
			if (read(w->wake_fd, &v, sizeof v) < 0 && errno != EAGAIN)
				mk_warn(NODE_LOG, "pod %s/%s: eventfd: %s", w->ns, w->name,
					strerror(errno));
		}
	}
	pthread_mutex_lock(&w->lock);
	w->finished = true;
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

/* Joins and frees workers that ended; the agent's lock is held. */
static void reap_finished(struct node_agent *a)
{
	struct pod_worker **pp = &a->workers;

	while (*pp != NULL) {
		struct pod_worker *w = *pp;
		pthread_mutex_lock(&w->lock);
		bool done = w->finished;
		pthread_mutex_unlock(&w->lock);
		if (done) {
			*pp = w->next;
			pthread_join(w->thread, NULL);
			worker_free(w);
		} else {
			pp = &w->next;
		}
	}
}

void pod_worker_notify(struct node_agent *a, json_t *pod, bool gone)
{
	json_t *meta = jo(pod, "metadata");
	const char *uid = js(meta, "uid");

	if (uid == NULL)
		return;
	pthread_mutex_lock(&a->lock);
	reap_finished(a);
	struct pod_worker *w;
	for (w = a->workers; w != NULL; w = w->next)
		if (strcmp(w->uid, uid) == 0)
			break;
	if (w == NULL && !gone && !a->stopping) {
		w = calloc(1, sizeof *w);
		if (w == NULL)
			goto out;
		w->agent = a;
		snprintf(w->uid, sizeof w->uid, "%s", uid);
		snprintf(w->ns, sizeof w->ns, "%s", js(meta, "namespace"));
		snprintf(w->name, sizeof w->name, "%s", js(meta, "name"));
		snprintf(w->dir, sizeof w->dir, "%s/%s", a->pods_dir, uid);
		w->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		pthread_mutex_init(&w->lock, NULL);
		w->pod = json_incref(pod);
		if (w->wake_fd < 0 || pthread_create(&w->thread, NULL, worker_main, w) != 0) {
			mk_error(NODE_LOG, "pod %s/%s: cannot start its worker", w->ns, w->name);
			if (w->wake_fd >= 0)
				close(w->wake_fd);
			json_decref(w->pod);
					free(w);
			goto out;
		}
		w->next = a->workers;
		a->workers = w;
		goto out;
	}
	if (w != NULL) {
		pthread_mutex_lock(&w->lock);
		json_decref(w->pod);
		w->pod = json_incref(pod);
		w->gone = w->gone || gone;
		pthread_mutex_unlock(&w->lock);
		pod_worker_wake(w);
	}
out:
	pthread_mutex_unlock(&a->lock);
}

void pod_workers_stop(struct node_agent *a)
{
	pthread_mutex_lock(&a->lock);
	for (struct pod_worker *w = a->workers; w != NULL; w = w->next) {
		pthread_mutex_lock(&w->lock);
		w->stop = true;
		pthread_mutex_unlock(&w->lock);
		pod_worker_wake(w);
	}
	while (a->workers != NULL) {
		struct pod_worker *w = a->workers;
		a->workers = w->next;
		pthread_join(w->thread, NULL);
		worker_free(w);
	}
	pthread_mutex_unlock(&a->lock);
}
