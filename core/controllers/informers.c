/*
 * Shared informers and the controllers' work loops
 * (controllers_internal.h).
 *
 * Why shared: kube-controller-manager runs one list + watch per kind for
 * all its controllers; a watch per controller would multiply the API
 * server's work and the memory of the caches by the number of
 * controllers (pods are read by six of them).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/err.h"
#include "../base/log.h"
#include "../kube/events.h"
#include "controllers_internal.h"

static const struct {
	const char *path, *name;
} informer_paths[N_CTRL_INFORMERS] = {
	[INF_PODS] = {"/api/v1/pods", "pods (controllers)"},
	[INF_NODES] = {"/api/v1/nodes", "nodes (controllers)"},
	[INF_NAMESPACES] = {"/api/v1/namespaces", "namespaces"},
	[INF_SERVICEACCOUNTS] = {"/api/v1/serviceaccounts", "serviceaccounts"},
	[INF_REPLICASETS] = {"/apis/apps/v1/replicasets", "replicasets"},
	[INF_DEPLOYMENTS] = {"/apis/apps/v1/deployments", "deployments"},
	[INF_DAEMONSETS] = {"/apis/apps/v1/daemonsets", "daemonsets"},
	[INF_STATEFULSETS] = {"/apis/apps/v1/statefulsets", "statefulsets"},
	[INF_CONTROLLERREVISIONS] = {"/apis/apps/v1/controllerrevisions", "controllerrevisions"},
	[INF_JOBS] = {"/apis/batch/v1/jobs", "jobs"},
	[INF_CRONJOBS] = {"/apis/batch/v1/cronjobs", "cronjobs"},
	[INF_SERVICES] = {"/api/v1/services", "services (controllers)"},
	[INF_ENDPOINTS] = {"/api/v1/endpoints", "endpoints"},
	[INF_ENDPOINTSLICES] = {"/apis/discovery.k8s.io/v1/endpointslices", "endpointslices"},
	[INF_PVCS] = {"/api/v1/persistentvolumeclaims", "persistentvolumeclaims"},
	[INF_NODE_LEASES] = {"/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases",
			     "node leases"},
	[INF_PVS] = {"/api/v1/persistentvolumes", "persistentvolumes"},
};

int ctrl_watch(struct controllers *c, enum ctrl_informer_id id, kube_informer_fn fn, void *arg)
{
	struct shared_informer *s = &c->informers[id];

	if (s->n_handlers >= CTRL_MAX_HANDLERS)
		return MK_ETOOBIG;
	s->handlers[s->n_handlers++] = (struct ctrl_handler){fn, arg};
	s->wanted = true;
	return MK_OK;
}

void ctrl_want(struct controllers *c, enum ctrl_informer_id id)
{
	c->informers[id].wanted = true;
}

struct kube_informer *ctrl_informer(struct controllers *c, enum ctrl_informer_id id)
{
	return c->informers[id].inf;
}

/* Fans one informer's events out to every handler, in registration order. */
static void dispatch(void *arg, enum kube_event type, json_t *obj)
{
	struct shared_informer *s = arg;

	for (int i = 0; i < s->n_handlers; i++)
		s->handlers[i].fn(s->handlers[i].arg, type, obj);
}

int ctrl_informers_start(struct controllers *c, char *errmsg, size_t len)
{
	for (int id = 0; id < N_CTRL_INFORMERS; id++) {
		struct shared_informer *s = &c->informers[id];
		if (!s->wanted)
			continue;
		struct kube_informer_config cfg = {
			.client = c->client, .path = informer_paths[id].path,
			.on_event = dispatch, .arg = s, .name = informer_paths[id].name,
		};
		int rv = kube_informer_start(&cfg, &s->inf, errmsg, len);
		if (rv != MK_OK)
			return rv;
	}
	return MK_OK;
}

void ctrl_informers_cancel(struct controllers *c)
{
	for (int id = 0; id < N_CTRL_INFORMERS; id++)
		kube_informer_cancel(c->informers[id].inf);
}

void ctrl_informers_stop(struct controllers *c)
{
	ctrl_informers_cancel(c);
	for (int id = 0; id < N_CTRL_INFORMERS; id++) {
		kube_informer_stop(c->informers[id].inf);
		c->informers[id].inf = NULL;
	}
}

static void *loop_worker(void *arg)
{
	struct ctrl_loop *l = arg;
	char *key;

	while (wq_get(l->queue, &key)) {
		if (l->sync(l->self, key) == MK_OK)
			wq_forget(l->queue, key);
		else
			wq_retry(l->queue, key);
		wq_done(l->queue, key);
		free(key);
	}
	return NULL;
}

int ctrl_loop_init(struct ctrl_loop *l, struct controllers *c, const char *name,
		   int (*sync)(void *self, const char *key), void *self, char *errmsg, size_t len)
{
	memset(l, 0, sizeof *l);
	l->name = name;
	l->sync = sync;
	l->self = self;
	l->queue = wq_new();
	if (l->queue == NULL) {
		snprintf(errmsg, len, "out of memory");
		return MK_ENOMEM;
	}
	return kube_events_start(c->client, name, NULL, &l->events, errmsg, len);
}

int ctrl_loop_start(struct ctrl_loop *l, int threads, char *errmsg, size_t len)
{
	if (l->n_threads > 0)
		threads = l->n_threads;
	l->workers = calloc((size_t)threads, sizeof *l->workers);
	for (int i = 0; l->workers != NULL && i < threads; i++)
		if (pthread_create(&l->workers[i], NULL, loop_worker, l) == 0)
			l->n_workers++;
	if (l->n_workers == 0) {
		snprintf(errmsg, len, "cannot start the %s workers", l->name);
		return MK_ENOMEM;
	}
	return MK_OK;
}

void ctrl_loop_stop(struct ctrl_loop *l)
{
	if (l == NULL || l->queue == NULL)
		return;
	wq_shutdown(l->queue);
	for (int i = 0; i < l->n_workers; i++)
		pthread_join(l->workers[i], NULL);
	free(l->workers);
	l->workers = NULL;
	l->n_workers = 0;
}

void ctrl_loop_free(struct ctrl_loop *l)
{
	if (l == NULL)
		return;
	kube_events_stop(l->events);
	l->events = NULL;
	wq_free(l->queue);
	l->queue = NULL;
}
