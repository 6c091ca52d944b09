/*
 * Until mk has a scheduler, a pod that names no node is bound to this one
 * when it is the cluster's only node (a single-node mk must run what
 * kubectl creates).  With more nodes, unbound pods wait for the
 * scheduler.  Binding goes through the pods/binding subresource, exactly
 * as the scheduler will do it, so the API decides races.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../base/err.h"
#include "../base/log.h"
#include "../kube/client.h"
#include "../kube/informer.h"
#include "node_internal.h"

void binder_consider(struct node_agent *a, json_t *pod)
{
	json_t *meta = jo(pod, "metadata");
	char path[1024], ns[300], name[300], err[512];

	if (js(jo(pod, "spec"), "nodeName") != NULL && js(jo(pod, "spec"), "nodeName")[0])
		return;
	if (jo(meta, "deletionTimestamp") != NULL)
		return;
	/* A pod for another scheduler is not ours to place. */
	const char *sched = js(jo(pod, "spec"), "schedulerName");
	if (sched != NULL && strcmp(sched, "default-scheduler") != 0)
		return;
	/* The nodes informer starts first; give it a moment to list. */
	for (int i = 0; i < 100 && a->nodes != NULL && !kube_informer_synced(a->nodes); i++)
		usleep(50 * 1000);
	if (a->nodes == NULL || !kube_informer_synced(a->nodes) || kube_informer_size(a->nodes) != 1)
		return;
	json_t *me = kube_informer_get(a->nodes, "", a->cfg.node_name);
	if (me == NULL)
		return;
	json_decref(me);
	kube_escape(js(meta, "namespace") ? js(meta, "namespace") : "", ns, sizeof ns);
	kube_escape(js(meta, "name") ? js(meta, "name") : "", name, sizeof name);
	snprintf(path, sizeof path, "/api/v1/namespaces/%s/pods/%s/binding", ns, name);
	json_t *b = json_pack("{s:s, s:s, s:{s:s, s:s}, s:{s:s, s:s, s:s}}", "apiVersion", "v1",
			      "kind", "Binding", "metadata", "name", js(meta, "name"), "uid",
			      js(meta, "uid") ? js(meta, "uid") : "", "target", "apiVersion", "v1",
			      "kind", "Node", "name", a->cfg.node_name);
	int rv = kube_create(a->client, path, b, NULL, err, sizeof err);
	json_decref(b);
	if (rv != MK_OK && rv != MK_ECONFLICT)
		mk_warn(NODE_LOG, "cannot bind pod %s/%s to %s: %s", js(meta, "namespace"),
			js(meta, "name"), a->cfg.node_name, err);
}

void binder_sweep(struct node_agent *a)
{
	if (a->pods_unbound == NULL)
		return;
	json_t *pods = kube_informer_list(a->pods_unbound);
	size_t i;
	json_t *p;

	json_array_foreach(pods, i, p)
		binder_consider(a, p);
	json_decref(pods);
}
