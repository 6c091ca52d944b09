/*
 * The node lifecycle controller, as kube-controller-manager's (node
 * lifecycle, taint eviction and pod GC in one):
 *
 *   - a node whose heartbeats stop (neither its Ready condition's
 *     lastHeartbeatTime nor its Lease's renewTime move) for the grace
 *     period gets its conditions set to Unknown, and its pods are marked
 *     not Ready (so Services stop sending them traffic);
 *   - conditions become taints: Ready Unknown → node.kubernetes.io/
 *     unreachable, Ready False → not-ready (NoSchedule and NoExecute),
 *     spec.unschedulable and the pressure conditions → NoSchedule;
 *   - a NoExecute taint evicts the node's pods that do not tolerate it,
 *     at once, or after the tolerationSeconds of the toleration that
 *     matches it (the API gives every pod 300 s for not-ready and
 *     unreachable), counted from the taint's timeAdded; their controllers
 *     then make replacements, which the scheduler keeps off the node;
 *   - pods bound to a node that no longer exists are deleted;
 *   - when no node at all sends heartbeats, nothing is marked or evicted
 *     (upstream's full disruption: the fault is the control plane's).
 *
 * Why heartbeats are judged by when this controller saw them change, not
 * by their timestamps: the node's clock may be off (upstream does the same).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/err.h"
#include "../base/log.h"
#include "../kube/client.h"
#include "../kube/events.h"
#include "../kube/informer.h"
#include "node_lifecycle.h"

#define MONITOR_PERIOD_MS 5000
#define UNREACHABLE_TAINT "node.kubernetes.io/unreachable"
#define NOT_READY_TAINT "node.kubernetes.io/not-ready"

/* Taints this controller owns: kept in step with the node's state. */
static const struct {
	const char *key, *effect;
} managed[] = {
	{NOT_READY_TAINT, "NoSchedule"},
	{NOT_READY_TAINT, "NoExecute"},
	{UNREACHABLE_TAINT, "NoSchedule"},
	{UNREACHABLE_TAINT, "NoExecute"},
	{"node.kubernetes.io/unschedulable", "NoSchedule"},
	{"node.kubernetes.io/memory-pressure", "NoSchedule"},
	{"node.kubernetes.io/disk-pressure", "NoSchedule"},
	{"node.kubernetes.io/pid-pressure", "NoSchedule"},
};
#define N_MANAGED (sizeof managed / sizeof managed[0])

static void enqueue_node(struct node_lifecycle *c, const char *name)
{
	char key[300];

	snprintf(key, sizeof key, "/%s", name);
	wq_add(c->loop.queue, key);
}

static void on_node(void *arg, enum kube_event type, json_t *node)
{
	(void)type;
	enqueue_node(arg, ctrl_meta(node, "name") ?: "");
}

static void on_lease(void *arg, enum kube_event type, json_t *lease)
{
	(void)type;
	enqueue_node(arg, ctrl_meta(lease, "name") ?: "");
}

/* A pod landing on a node with NoExecute taints may have to go. */
static void on_pod(void *arg, enum kube_event type, json_t *pod)
{
	struct node_lifecycle *c = arg;
	const char *node_name = ctrl_str(json_object_get(pod, "spec"), "nodeName");

	if (type == KUBE_DELETED || node_name == NULL || node_name[0] == '\0')
		return;
	json_t *node = kube_informer_get(ctrl_informer(c->ctl, INF_NODES), "", node_name);
	size_t i;
	json_t *t;
	bool tainted = node == NULL; /* bound to a node that is not there */
	json_array_foreach(json_object_get(json_object_get(node, "spec"), "taints"), i, t)
		if (ctrl_str(t, "effect") && strcmp(ctrl_str(t, "effect"), "NoExecute") == 0)
			tainted = true;
	json_decref(node);
	if (tainted)
		enqueue_node(c, node_name);
}

static json_t *condition_of(const json_t *node, const char *type)
{
	size_t i;
	json_t *cond;

	json_array_foreach(json_object_get(json_object_get(node, "status"), "conditions"), i, cond)
		if (ctrl_str(cond, "type") && strcmp(ctrl_str(cond, "type"), type) == 0)
			return cond;
	return NULL;
}

static const char *condition_status(const json_t *node, const char *type)
{
	return ctrl_str(condition_of(node, type), "status");
}

/* True when the node's heartbeats stopped more than the grace period ago. */
static bool heartbeats_stopped(struct node_lifecycle *c, const json_t *node, const char *name)
{
	json_t *lease = kube_informer_get(ctrl_informer(c->ctl, INF_NODE_LEASES),
					  "kube-node-lease", name);
	char hb[200];
	int64_t now = ctrl_now_ms();
	bool stopped;

	snprintf(hb, sizeof hb, "%s|%s",
		 ctrl_str(condition_of(node, "Ready"), "lastHeartbeatTime") ?: "",
		 ctrl_str(json_object_get(lease, "spec"), "renewTime") ?: "");
	json_decref(lease);
	pthread_mutex_lock(&c->lock);
	json_t *s = json_object_get(c->seen, name);
	if (s == NULL || strcmp(ctrl_str(s, "hb") ?: "", hb) != 0) {
		json_object_set_new(c->seen, name, json_pack("{s:s, s:I}", "hb", hb, "at", now));
		stopped = false;
	} else {
		stopped = now - json_integer_value(json_object_get(s, "at")) > c->ctl->node_grace_ms;
	}
	pthread_mutex_unlock(&c->lock);
	return stopped;
}

/* True when no node at all has sent a heartbeat within the grace period
 * (upstream's full disruption): then the fault is most likely the
 * control plane's or its network's, not the nodes', and marking them all
 * unreachable would evict every pod in the cluster for nothing.  A
 * single-node cluster is always in this case when its node is silent. */
static bool all_silent(struct node_lifecycle *c)
{
	int64_t now = ctrl_now_ms();
	const char *name;
	json_t *s;
	bool silent = true;

	pthread_mutex_lock(&c->lock);
	json_object_foreach(c->seen, name, s)
		if (now - json_integer_value(json_object_get(s, "at")) <= c->ctl->node_grace_ms)
			silent = false;
	pthread_mutex_unlock(&c->lock);
	return silent;
}

void node_path(const char *name, char *path, size_t len)
{
	char e[300];

	kube_escape(name, e, sizeof e);
	snprintf(path, len, "/api/v1/nodes/%s", e);
}

/* Every condition Unknown, as upstream words it; the write is conditional
 * on the node not having moved (a heartbeat arriving now wins). */
static int mark_unknown(struct node_lifecycle *c, const json_t *node, const char *name)
{
	static const char *const types[] = {"Ready", "MemoryPressure", "DiskPressure", "PIDPressure"};
	json_t *conds = json_deep_copy(json_object_get(json_object_get(node, "status"), "conditions"));
	char now[40], path[400], err[512];

	ctrl_now(now, sizeof now);
	if (!json_is_array(conds)) {
		json_decref(conds);
		conds = json_array();
	}
	for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
		json_t *cond = NULL, *x;
		size_t i;
		json_array_foreach(conds, i, x)
			if (strcmp(ctrl_str(x, "type") ?: "", types[t]) == 0)
				cond = x;
		if (cond == NULL) {
			cond = json_pack("{s:s, s:s}", "type", types[t], "message",
					 "Kubelet never posted node status.");
			json_array_append_new(conds, cond);
		} else {
			json_object_set_new(cond, "message",
					    json_string("Kubelet stopped posting node status."));
		}
		if (strcmp(ctrl_str(cond, "status") ?: "", "Unknown") != 0)
			json_object_set_new(cond, "lastTransitionTime", json_string(now));
		json_object_set_new(cond, "status", json_string("Unknown"));
		json_object_set_new(cond, "reason", json_string("NodeStatusUnknown"));
	}
	node_path(name, path, sizeof path);
	strcat(path, "/status");
	json_t *patch = json_pack("{s:{s:s}, s:{s:o}}", "metadata", "resourceVersion",
				  ctrl_meta(node, "resourceVersion") ?: "", "status", "conditions",
				  conds);
	int rv = kube_merge_patch(c->ctl->client, path, patch, NULL, err, sizeof err);
	json_decref(patch);
	if (rv != MK_OK) {
		mk_debug(CTRL_LOG, "node %s: conditions not set to Unknown: %s", name, err);
		return rv;
	}
	mk_warn(CTRL_LOG, "node %s stopped posting its status: marked Unknown", name);
	kube_event(c->loop.events, node, "Normal", "NodeNotReady", NULL,
		   "Node %s status is now: NodeNotReady", name);
	return MK_OK;
}

/* The pods on an unreachable node are not Ready any more (upstream's
 * MarkPodsNotReady): Services stop sending them traffic. */
static void mark_pods_not_ready(struct node_lifecycle *c, const json_t *pods)
{
	char now[40], path[900], ns[300], name[300], err[512];
	size_t i, j;
	json_t *pod, *cond;

	ctrl_now(now, sizeof now);
	json_array_foreach(pods, i, pod) {
		if (!pod_ready(pod))
			continue;
		json_t *conds = json_deep_copy(json_object_get(json_object_get(pod, "status"),
							       "conditions"));
		json_array_foreach(conds, j, cond)
			if (strcmp(ctrl_str(cond, "type") ?: "", "Ready") == 0) {
				json_object_set_new(cond, "status", json_string("False"));
				json_object_set_new(cond, "lastTransitionTime", json_string(now));
			}
		kube_escape(ctrl_meta(pod, "namespace") ?: "", ns, sizeof ns);
		kube_escape(ctrl_meta(pod, "name") ?: "", name, sizeof name);
		snprintf(path, sizeof path, "/api/v1/namespaces/%s/pods/%s/status", ns, name);
		json_t *patch = json_pack("{s:{s:o}}", "status", "conditions", conds);
		if (kube_merge_patch(c->ctl->client, path, patch, NULL, err, sizeof err) != MK_OK)
			mk_debug(CTRL_LOG, "pod %s/%s not marked not ready: %s",
				 ctrl_meta(pod, "namespace"), ctrl_meta(pod, "name"), err);
		json_decref(patch);
	}
}

static bool wants_taint(const json_t *node, size_t m)
{
	const char *ready = condition_status(node, "Ready");
	const char *key = managed[m].key;

	if (strcmp(key, UNREACHABLE_TAINT) == 0)
		return ready != NULL && strcmp(ready, "Unknown") == 0;
	if (strcmp(key, NOT_READY_TAINT) == 0)
		return ready != NULL && strcmp(ready, "False") == 0;
	if (strcmp(key, "node.kubernetes.io/unschedulable") == 0)
		return json_is_true(json_object_get(json_object_get(node, "spec"), "unschedulable"));
	const char *type = strcmp(key, "node.kubernetes.io/memory-pressure") == 0 ? "MemoryPressure"
			   : strcmp(key, "node.kubernetes.io/disk-pressure") == 0 ? "DiskPressure"
										  : "PIDPressure";
	const char *st = condition_status(node, type);
	return st != NULL && strcmp(st, "True") == 0;
}

static bool is_managed(const json_t *taint, size_t *which)
{
	for (size_t m = 0; m < N_MANAGED; m++)
		if (strcmp(ctrl_str(taint, "key") ?: "", managed[m].key) == 0 &&
		    strcmp(ctrl_str(taint, "effect") ?: "", managed[m].effect) == 0) {
			*which = m;
			return true;
		}
	return false;
}

/* Brings the managed taints in step with the node; the others are the
 * user's and stay as they are. */
static int sync_taints(struct node_lifecycle *c, const json_t *node, const char *name)
{
	json_t *have = json_object_get(json_object_get(node, "spec"), "taints");
	json_t *want = json_array(), *t;
	bool present[N_MANAGED] = {false}, changed = false;
	char now[40], path[400], err[512];
	size_t i, m;

	ctrl_now(now, sizeof now);
	json_array_foreach(have, i, t) {
		if (is_managed(t, &m)) {
			if (!wants_taint(node, m) || present[m]) {
				changed = true;
				continue;
			}
			present[m] = true;
		}
		json_array_append(want, t);
	}
	for (m = 0; m < N_MANAGED; m++) {
		if (present[m] || !wants_taint(node, m))
			continue;
		json_t *taint = json_pack("{s:s, s:s}", "key", managed[m].key, "effect",
					  managed[m].effect);
		if (strcmp(managed[m].effect, "NoExecute") == 0)
			json_object_set_new(taint, "timeAdded", json_string(now));
		json_array_append_new(want, taint);
		changed = true;
	}
	int rv = MK_OK;
	if (changed) {
		node_path(name, path, sizeof path);
		json_t *patch = json_pack("{s:{s:s}, s:{s:O}}", "metadata", "resourceVersion",
					  ctrl_meta(node, "resourceVersion") ?: "", "spec", "taints",
					  want);
		rv = kube_merge_patch(c->ctl->client, path, patch, NULL, err, sizeof err);
		json_decref(patch);
		if (rv != MK_OK)
			mk_debug(CTRL_LOG, "node %s: taints not updated: %s", name, err);
	}
	json_decref(want);
	return rv;
}

static int sync_node(void *self, const char *key)
{
	struct node_lifecycle *c = self;
	const char *name = key + 1; /* "/<name>" */
	int rv = MK_OK;

	if (key[0] != '/' || name[0] == '\0')
		return MK_OK;
	json_t *node = kube_informer_get(ctrl_informer(c->ctl, INF_NODES), "", name);
	if (node == NULL) {
		pthread_mutex_lock(&c->lock);
		json_object_del(c->seen, name);
		pthread_mutex_unlock(&c->lock);
		node_collect_orphans(c, name);
		return MK_OK;
	}
	json_t *pods = node_pods(c, name, false);
	const char *ready = condition_status(node, "Ready");
	if (heartbeats_stopped(c, node, name) && (ready == NULL || strcmp(ready, "Unknown") != 0)) {
		if (all_silent(c)) {
			if (!c->disrupted)
				mk_warn(CTRL_LOG, "no node has sent a heartbeat for %lld s: the "
					"control plane is cut off, not the nodes; nothing is evicted",
					(long long)(c->ctl->node_grace_ms / 1000));
			c->disrupted = true;
			wq_add_after(c->loop.queue, key, MONITOR_PERIOD_MS);
			goto out;
		}
		c->disrupted = false;
		rv = mark_unknown(c, node, name);
		if (rv == MK_OK)
			mark_pods_not_ready(c, pods);
		goto out; /* the write comes back through the informer */
	}
	rv = sync_taints(c, node, name);
	if (rv != MK_OK)
		goto out;
	int64_t next = node_evict(c, node, pods);
	wq_add_after(c->loop.queue, key,
		     next >= 0 && next < MONITOR_PERIOD_MS ? next + 50 : MONITOR_PERIOD_MS);
out:
	json_decref(pods);
	json_decref(node);
	return rv;
}

static struct ctrl_loop *create(struct controllers *ctl, char *errmsg, size_t len)
{
	struct node_lifecycle *c = calloc(1, sizeof *c);

	if (c == NULL || (c->seen = json_object()) == NULL) {
		free(c);
		snprintf(errmsg, len, "out of memory");
		return NULL;
	}
	c->ctl = ctl;
	pthread_mutex_init(&c->lock, NULL);
	if (ctrl_loop_init(&c->loop, ctl, "node-controller", sync_node, c, errmsg, len) != MK_OK ||
	    ctrl_watch(ctl, INF_NODES, on_node, c) != MK_OK ||
	    ctrl_watch(ctl, INF_NODE_LEASES, on_lease, c) != MK_OK ||
	    ctrl_watch(ctl, INF_PODS, on_pod, c) != MK_OK) {
		ctrl_loop_free(&c->loop);
		pthread_mutex_destroy(&c->lock);
		json_decref(c->seen);
		free(c);
		return NULL;
	}
	/* One worker: a node's state is read and written by one sync at a time anyway. */
	c->loop.n_threads = 1;
	return &c->loop;
}

static void destroy(struct ctrl_loop *loop)
{
	struct node_lifecycle *c = loop->self;

	pthread_mutex_destroy(&c->lock);
	json_decref(c->seen);
	free(c);
}

const struct controller_def node_lifecycle_controller = {"node-lifecycle", create, destroy};
