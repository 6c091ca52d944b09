/*
 * The node agent's life cycle and wiring (agent.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../base/clock.h"
#include "../base/err.h"
#include "../base/log.h"
#include "../image/image.h"
#include "../kube/client.h"
#include "../kube/informer.h"
#include "node_internal.h"

const char *js(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

json_t *jo(json_t *o, const char *key)
{
	return json_object_get(o, key);
}

int64_t ji(json_t *o, const char *key, int64_t dflt)
{
	json_t *v = json_object_get(o, key);
	return json_is_integer(v) ? (int64_t)json_integer_value(v) : dflt;
}

bool jb(json_t *o, const char *key, bool dflt)
{
	json_t *v = json_object_get(o, key);
	return json_is_boolean(v) ? json_is_true(v) : dflt;
}

void node_rfc3339(char *buf, size_t len)
{
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void on_my_pod(void *arg, enum kube_event type, json_t *pod)
{
	pod_worker_notify(arg, pod, type == KUBE_DELETED);
}

static void on_node(void *arg, enum kube_event type, json_t *node)
{
	/* node_status.c reads this node's cached copy; nothing to do per event. */
}

static int make_dirs(struct node_agent *a, char *errmsg, size_t len)
{
	const char *d = a->cfg.data_dir;
	char logs_root[PATH_MAX];

	snprintf(a->pods_dir, sizeof a->pods_dir, "%s/pods", d);
	snprintf(logs_root, sizeof logs_root, "%s/logs", d);
	snprintf(a->logs_dir, sizeof a->logs_dir, "%s/logs/pods", d);
	snprintf(a->runc_root, sizeof a->runc_root, "%s/run/runc", d);
	snprintf(a->netns_dir, sizeof a->netns_dir, "%s/run/netns", d);
	snprintf(a->cni_dir, sizeof a->cni_dir, "%s/args/cni-network", d);
	snprintf(a->cni_state, sizeof a->cni_state, "%s/var/lib/cni", d);
	const char *dirs[] = { a->pods_dir, logs_root, a->logs_dir, a->runc_root, a->netns_dir };
	char run[PATH_MAX];
	snprintf(run, sizeof run, "%s/run", d);
	if (mkdir(run, 0700) != 0 && errno != EEXIST)
		goto fail;
	for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++)
		if (mkdir(dirs[i], 0700) != 0 && errno != EEXIST)
			goto fail;
	/* kubectl logs reads through the API; the logs are still worth
	 * protecting from other local users. */
	return MK_OK;
fail:
	snprintf(errmsg, len, "cannot create the node agent's directories under %s: %s", d,
		 strerror(errno));
	return MK_EIO;
}

static void runtime_version(struct node_agent *a)
{
	char out[512];
	char *argv[] = { (char *)a->cfg.runtime, "--version", NULL };

	snprintf(a->runtime_version, sizeof a->runtime_version, "unknown");
	if (node_run(argv, 5000, out, sizeof out) != 0)
		return;
	/* "runc version 1.1.5+ds1\ncommit: ..." */
	char *v = strstr(out, "version ");
	if (v != NULL) {
		v += 8;
		v[strcspn(v, " \n")] = '\0';
		snprintf(a->runtime_version, sizeof a->runtime_version, "%s", v);
	}
}

/* The agent and its copies of the configuration strings. */
static void agent_free(struct node_agent *a)
{
	free((char *)a->cfg.data_dir);
	free((char *)a->cfg.node_name);
	free((char *)a->cfg.node_ip);
	free((char *)a->cfg.runtime);
	free((char *)a->cfg.shim);
	free((char *)a->cfg.cni_plugin_dir);
	free((char *)a->cfg.cni_bridge);
	free((char *)a->cfg.pod_cidr);
	free(a);
}

#define DUP(f) (a->cfg.f = cfg->f ? strdup(cfg->f) : NULL)

int node_agent_start(const struct node_agent_config *cfg, struct node_agent **out, char *errmsg,
		     size_t len)
{
	struct node_agent *a = calloc(1, sizeof *a);
	char q[512], sel[300];
	int rv;

	if (a == NULL) {
		snprintf(errmsg, len, "out of memory");
		return MK_ENOMEM;
	}
	a->cfg = *cfg;
	DUP(data_dir);
	DUP(node_name);
	DUP(node_ip);
	DUP(runtime);
	DUP(shim);
	DUP(cni_plugin_dir);
	DUP(cni_bridge);
	DUP(pod_cidr);
	a->client = cfg->client;
	pthread_mutex_init(&a->lock, NULL);
	pthread_cond_init(&a->wake, NULL);
	rv = make_dirs(a, errmsg, len);
	if (rv != MK_OK)
		goto fail;
	rv = image_store_open(a->cfg.data_dir, &a->images, errmsg, len);
	if (rv != MK_OK)
		goto fail;
	a->net.plugin_dir = a->cfg.cni_plugin_dir;
	a->net.conf_dir = a->cni_dir;
	a->net.state_dir = a->cni_state;
	a->net.bridge = a->cfg.cni_bridge;
	a->net.pod_cidr = a->cfg.pod_cidr;
	rv = cni_network_write(&a->net, errmsg, len);
	if (rv != MK_OK)
		goto fail;
	runtime_version(a);
	rv = node_register(a, errmsg, len);
	if (rv != MK_OK)
		goto fail;
	rv = event_recorder_start(a, errmsg, len);
	if (rv != MK_OK)
		goto fail;
	if (pthread_create(&a->heartbeat, NULL, node_heartbeat_main, a) != 0) {
		snprintf(errmsg, len, "cannot start the node heartbeat thread");
		event_recorder_stop(a);
		rv = MK_ENOMEM;
		goto fail;
	}

	kube_escape(a->cfg.node_name, sel, sizeof sel);
	snprintf(q, sizeof q, "fieldSelector=spec.nodeName%%3D%s", sel);
	struct kube_informer_config ic = {
		.client = a->client, .path = "/api/v1/pods", .query = q,
		.on_event = on_my_pod, .arg = a, .name = "pods on this node",
	};
	rv = kube_informer_start(&ic, &a->pods_mine, errmsg, len);
	if (rv == MK_OK) {
		struct kube_informer_config nc = {
			.client = a->client, .path = "/api/v1/nodes", .on_event = on_node,
			.arg = a, .name = "nodes",
		};
		rv = kube_informer_start(&nc, &a->nodes, errmsg, len);
	}
	if (rv != MK_OK) {
		node_agent_stop(a);
		return rv;
	}
	mk_info(NODE_LOG, "node agent for %s started (runtime %s %s, pod network %s on %s)",
		a->cfg.node_name, a->cfg.runtime, a->runtime_version, a->cfg.pod_cidr,
		a->cfg.cni_bridge);
	*out = a;
	return MK_OK;
fail:
	if (a->images != NULL)
		image_store_close(a->images);
	agent_free(a);
	return rv;
}

void node_agent_stop(struct node_agent *a)
{
	if (a == NULL)
		return;
	/* All at once: each may take up to a second to notice. */
	kube_informer_cancel(a->pods_mine);
	kube_informer_cancel(a->nodes);
	kube_informer_stop(a->pods_mine);
	pthread_mutex_lock(&a->lock);
	a->stopping = true;
	pthread_cond_broadcast(&a->wake);
	pthread_mutex_unlock(&a->lock);
	if (a->heartbeat)
		pthread_join(a->heartbeat, NULL);
	pod_workers_stop(a);
	event_recorder_stop(a);
	kube_informer_stop(a->nodes);
	image_store_close(a->images);
	agent_free(a);
}
