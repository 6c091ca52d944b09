/*
 * The DaemonSet controller, as upstream's: one pod on every node that the
 * template's node selector, required node affinity and tolerations admit
 * (a node being cordoned does not matter), none elsewhere.
 *
 * The pod names its node through required node affinity on
 * metadata.name, and the scheduler binds it (upstream's way since 1.12),
 * so resources and host ports are still checked.  DaemonSet pods tolerate
 * what a node-level agent must survive: not-ready, unreachable, pressure
 * and cordoned nodes.  A new template reaches the nodes by deleting old
 * pods, at most maxUnavailable of them unavailable at a time
 * (RollingUpdate), or when users delete them (OnDelete).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../api/selector.h"
#include "../base/err.h"
#include "../base/log.h"
#include "../kube/client.h"
#include "../kube/events.h"
#include "../kube/informer.h"
#include "../scheduler/node_match.h"
#include "revisions.h"

struct daemonset_controller {
	struct ctrl_loop loop;
	struct controllers *ctl;
	struct expectations expect;
};

static void on_set(void *arg, enum kube_event type, json_t *ds)
{
	struct daemonset_controller *c = arg;
	char key[600];

	(void)type;
	object_key(ds, key, sizeof key);
	wq_add(c->loop.queue, key);
}

static void on_pod(void *arg, enum kube_event type, json_t *pod)
{
	struct daemonset_controller *c = arg;
	char key[600];

	if (!controller_key(pod, "DaemonSet", key, sizeof key))
		return;
	if (type == KUBE_ADDED)
		expect_observed(&c->expect, key, true);
	wq_add(c->loop.queue, key);
}

/* A node came, went or changed labels or taints: every DaemonSet looks. */
static void on_node(void *arg, enum kube_event type, json_t *node)
{
	struct daemonset_controller *c = arg;
	json_t *sets = kube_informer_list(ctrl_informer(c->ctl, INF_DAEMONSETS)), *ds;
	size_t i;
	char key[600];

	(void)type;
	(void)node;
	json_array_foreach(sets, i, ds) {
		object_key(ds, key, sizeof key);
		wq_add(c->loop.queue, key);
	}
	json_decref(sets);
}

/* The tolerations every DaemonSet pod gets (upstream's
 * AddOrUpdateDaemonPodTolerations). */
static void add_daemon_tolerations(json_t *spec)
{
	static const struct {
		const char *key, *effect;
	} tols[] = {
		{"node.kubernetes.io/not-ready", "NoExecute"},
		{"node.kubernetes.io/unreachable", "NoExecute"},
		{"node.kubernetes.io/disk-pressure", "NoSchedule"},
		{"node.kubernetes.io/memory-pressure", "NoSchedule"},
		{"node.kubernetes.io/pid-pressure", "NoSchedule"},
		{"node.kubernetes.io/unschedulable", "NoSchedule"},
		{"node.kubernetes.io/network-unavailable", "NoSchedule"},
	};
	json_t *list = json_object_get(spec, "tolerations");
	bool host_network = json_is_true(json_object_get(spec, "hostNetwork"));

	if (!json_is_array(list)) {
		list = json_array();
		json_object_set_new(spec, "tolerations", list);
	}
	for (size_t i = 0; i < sizeof tols / sizeof tols[0]; i++) {
		if (strcmp(tols[i].key, "node.kubernetes.io/network-unavailable") == 0 && !host_network)
			continue;
		json_t *taint = json_pack("{s:s, s:s}", "key", tols[i].key, "effect", tols[i].effect);
		bool have = sched_tolerated(list, taint);
		json_decref(taint);
		if (!have)
			json_array_append_new(list, json_pack("{s:s, s:s, s:s}", "key", tols[i].key,
							       "operator", "Exists", "effect",
							       tols[i].effect));
	}
}

/* Does the DaemonSet want a pod on node?  pod_spec: the template's spec
 * with the daemon tolerations added.  A new pod needs the NoSchedule and
 * NoExecute taints tolerated; a running one only the NoExecute ones
 * (upstream's shouldRun and shouldContinueRunning). */
static bool should_run(const json_t *pod_spec, const json_t *node, bool running)
{
	size_t i;
	json_t *taint;

	if (!sched_node_fits_selector(pod_spec, node))
		return false;
	json_array_foreach(json_object_get(json_object_get(node, "spec"), "taints"), i, taint) {
		const char *effect = ctrl_str(taint, "effect") ?: "";
		if ((strcmp(effect, "NoExecute") == 0 ||
		     (!running && strcmp(effect, "NoSchedule") == 0)) &&
		    !sched_tolerated(json_object_get(pod_spec, "tolerations"), taint))
			return false;
	}
	return true;
}

static int create_pod(struct daemonset_controller *c, const json_t *ds, const json_t *tmpl,
		      const char *revision, const char *node)
{
	char err[512], name[300];
	json_t *pod = pod_from_template(ds, "apps/v1", "DaemonSet", tmpl, NULL);

	if (pod == NULL)
		return MK_ENOMEM;
	json_t *meta = json_object_get(pod, "metadata");
	if (!json_is_object(json_object_get(meta, "labels")))
		json_object_set_new(meta, "labels", json_object());
	json_object_set_new(json_object_get(meta, "labels"), REVISION_HASH_LABEL,
			    json_string(revision));
	json_t *spec = json_object_get(pod, "spec");
	/* The node, by required affinity on its name (replacing the
	 * template's required terms: the node was chosen by them). */
	json_t *affinity = json_object_get(spec, "affinity");
	if (!json_is_object(affinity)) {
		affinity = json_object();
		json_object_set_new(spec, "affinity", affinity);
	}
	json_t *na = json_object_get(affinity, "nodeAffinity");
	if (!json_is_object(na)) {
		na = json_object();
		json_object_set_new(affinity, "nodeAffinity", na);
	}
	json_object_set_new(na, "requiredDuringSchedulingIgnoredDuringExecution",
			    json_pack("{s:[{s:[{s:s, s:s, s:[s]}]}]}", "nodeSelectorTerms",
				      "matchFields", "key", "metadata.name", "operator", "In",
				      "values", node));
	add_daemon_tolerations(spec);
	int rv = pod_create(c->ctl->client, pod, name, sizeof name, err, sizeof err);
	json_decref(pod);
	if (rv == MK_OK)
		kube_event(c->loop.events, ds, "Normal", "SuccessfulCreate", NULL,
			   "Created pod: %s", name);
	else
		kube_event(c->loop.events, ds, "Warning", "FailedCreate", NULL,
			   "Error creating: %s", err);
	return rv;
}

static int delete_pod(struct daemonset_controller *c, const json_t *ds, const json_t *pod)
{
	char err[512];
	int rv = pod_delete(c->ctl->client, ctrl_meta(pod, "namespace") ?: "",
			    ctrl_meta(pod, "name") ?: "", err, sizeof err);

	if (rv == MK_OK)
		kube_event(c->loop.events, ds, "Normal", "SuccessfulDelete", NULL,
			   "Deleted pod: %s", ctrl_meta(pod, "name"));
	return rv;
}

/* The node a DaemonSet pod is for: where it is bound, or the one its
 * affinity names. */
static const char *pod_node(const json_t *pod)
{
	const json_t *spec = json_object_get(pod, "spec");
	const char *bound = ctrl_str(spec, "nodeName");

	if (bound != NULL && bound[0])
		return bound;
	const json_t *terms = json_object_get(
		json_object_get(json_object_get(json_object_get(spec, "affinity"), "nodeAffinity"),
				"requiredDuringSchedulingIgnoredDuringExecution"),
		"nodeSelectorTerms");
	const json_t *f = json_array_get(json_object_get(json_array_get(terms, 0), "matchFields"), 0);
	return json_string_value(json_array_get(json_object_get(f, "values"), 0));
}

struct ds_counts {
	int64_t desired, scheduled, misscheduled, ready, updated, available;
};

static int sync_set(void *self, const char *key)
{
	struct daemonset_controller *c = self;
	struct revisions revs = {0};
	struct label_selector *ls = NULL;
	struct ds_counts n = {0};
	char ns[300], name[300], err[256];
	json_t *nodes = NULL, *all = NULL, *mine = NULL, *missing = NULL, *pod_spec = NULL, *node,
	       *pod;
	size_t i, j;
	int rv = MK_OK;

	if (!split_key(key, ns, sizeof ns, name, sizeof name))
		return MK_OK;
	json_t *ds = kube_informer_get(ctrl_informer(c->ctl, INF_DAEMONSETS), ns, name);
	if (ds == NULL)
		return MK_OK;
	json_t *spec = json_object_get(ds, "spec");
	json_t *tmpl = json_object_get(spec, "template");
	const char *uid = ctrl_meta(ds, "uid");
	if (ctrl_meta(ds, "deletionTimestamp") != NULL || uid == NULL ||
	    label_selector_from_json(json_object_get(spec, "selector"), &ls, err, sizeof err) != MK_OK)
		goto out;
	if ((rv = revisions_sync(c->ctl, ds, "DaemonSet", &revs)) != MK_OK)
		goto out;
	int64_t min_ready = json_integer_value(json_object_get(spec, "minReadySeconds"));
	int64_t now = ctrl_now_ms();
	json_t *strategy = json_object_get(spec, "updateStrategy");
	bool rolling = !(ctrl_str(strategy, "type") && strcmp(ctrl_str(strategy, "type"), "OnDelete") == 0);
	pod_spec = json_deep_copy(json_object_get(tmpl, "spec"));
	if (pod_spec == NULL) {
		rv = MK_ENOMEM;
		goto out;
	}
	add_daemon_tolerations(pod_spec);
	nodes = kube_informer_list(ctrl_informer(c->ctl, INF_NODES));
	all = kube_informer_list(ctrl_informer(c->ctl, INF_PODS));
	mine = json_array();
	missing = json_array();
	json_array_foreach(all, i, pod)
		if (strcmp(ctrl_meta(pod, "namespace") ?: "", ns) == 0 &&
		    controlled_by(pod, "DaemonSet", uid) && !ctrl_meta(pod, "deletionTimestamp"))
			json_array_append(mine, pod);
	/* Old-revision pods that may go now, as the availability budget allows. */
	json_t *unavailable_old = json_array(), *available_old = json_array();
	int64_t unavailable = 0;
	json_array_foreach(nodes, i, node) {
		const char *node_name = ctrl_meta(node, "name") ?: "";
		json_t *here = json_array();
		json_array_foreach(mine, j, pod)
			if (strcmp(pod_node(pod) ?: "", node_name) == 0)
				json_array_append(here, pod);
		bool want = should_run(pod_spec, node, json_array_size(here) > 0);
		n.desired += want;
		if (!want) {
			n.misscheduled += json_array_size(here) > 0;
			json_array_foreach(here, j, pod)
				if (rv == MK_OK)
					rv = delete_pod(c, ds, pod);
		} else if (json_array_size(here) == 0) {
			unavailable++;
			json_array_append_new(missing, json_string(node_name));
		} else {
			/* One pod per node: a failed one is replaced, extras go. */
			json_t *keep = json_array_get(here, 0);
			const char *phase = ctrl_str(json_object_get(keep, "status"), "phase") ?: "";
			for (j = 1; j < json_array_size(here) && rv == MK_OK; j++)
				rv = delete_pod(c, ds, json_array_get(here, j));
			if (strcmp(phase, "Failed") == 0 || strcmp(phase, "Succeeded") == 0) {
				if (rv == MK_OK)
					rv = delete_pod(c, ds, keep);
				json_decref(here);
				unavailable++;
				continue;
			}
			n.scheduled++;
			bool avail = pod_available(keep, min_ready, now);
			n.ready += pod_ready(keep);
			n.available += avail;
			unavailable += !avail;
			const char *rev = ctrl_str(json_object_get(json_object_get(keep, "metadata"),
							   "labels"), REVISION_HASH_LABEL);
			bool updated = rev && strcmp(rev, revs.update_name) == 0;
			n.updated += updated;
			if (!updated)
				json_array_append(avail ? available_old : unavailable_old, keep);
		}
		json_decref(here);
	}
	/* Pods created and not yet in the cache would be created twice. */
	if (rv == MK_OK && json_array_size(missing) > 0 && expect_satisfied(&c->expect, key)) {
		expect_set(&c->expect, key, (int)json_array_size(missing), 0);
		json_t *nn;
		json_array_foreach(missing, i, nn) {
			int r = create_pod(c, ds, tmpl, revs.update_name, json_string_value(nn));
			if (r != MK_OK) {
				expect_observed(&c->expect, key, true);
				rv = r;
			}
		}
	}
	if (rolling && rv == MK_OK) {
		json_t *mu = json_object_get(json_object_get(strategy, "rollingUpdate"),
					     "maxUnavailable");
		int64_t max_unavailable = 1;
		if (json_is_integer(mu))
			max_unavailable = json_integer_value(mu);
		else if (json_string_value(mu) != NULL)
			max_unavailable = n.desired * strtoll(json_string_value(mu), NULL, 10) / 100;
		if (max_unavailable < 1)
			max_unavailable = 1;
		/* Unavailable old pods cost nothing; available ones as budget allows. */
		json_array_foreach(unavailable_old, i, pod)
			if (rv == MK_OK)
				rv = delete_pod(c, ds, pod);
		json_array_foreach(available_old, i, pod) {
			if (rv != MK_OK || unavailable >= max_unavailable)
				break;
			rv = delete_pod(c, ds, pod);
			unavailable++;
		}
	}
	json_decref(unavailable_old);
	json_decref(available_old);
	ctrl_patch_status(
		c->ctl->client, "/apis/apps/v1", "daemonsets", ds,
		json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "observedGeneration",
			  json_integer_value(json_object_get(json_object_get(ds, "metadata"),
							     "generation")),
			  "desiredNumberScheduled", (json_int_t)n.desired, "currentNumberScheduled",
			  (json_int_t)n.scheduled, "numberMisscheduled", (json_int_t)n.misscheduled,
			  "numberReady", (json_int_t)n.ready, "updatedNumberScheduled",
			  (json_int_t)n.updated, "numberAvailable", (json_int_t)n.available,
			  "numberUnavailable",
			  (json_int_t)(n.desired - n.available > 0 ? n.desired - n.available : 0)));
	json_t *live = json_array();
	json_array_foreach(mine, i, pod) {
		const char *rev = ctrl_str(json_object_get(json_object_get(pod, "metadata"), "labels"),
					   REVISION_HASH_LABEL);
		if (rev != NULL)
			json_array_append_new(live, json_string(rev));
	}
	revisions_trim(c->ctl, ds, &revs, live);
	json_decref(live);
	if (min_ready > 0)
		wq_add_after(c->loop.queue, key, min_ready * 1000 / 2 + 500);
out:
	json_decref(pod_spec);
	json_decref(missing);
	json_decref(mine);
	json_decref(all);
	json_decref(nodes);
	revisions_free(&revs);
	label_selector_free(ls);
	json_decref(ds);
	return rv;
}

static struct ctrl_loop *create(struct controllers *ctl, char *errmsg, size_t len)
{
	struct daemonset_controller *c = calloc(1, sizeof *c);

	if (c == NULL) {
		snprintf(errmsg, len, "out of memory");
		return NULL;
	}
	c->ctl = ctl;
	expect_init(&c->expect);
	if (ctrl_loop_init(&c->loop, ctl, "daemonset-controller", sync_set, c, errmsg, len) !=
		    MK_OK ||
	    ctrl_watch(ctl, INF_DAEMONSETS, on_set, c) != MK_OK ||
	    ctrl_watch(ctl, INF_PODS, on_pod, c) != MK_OK ||
	    ctrl_watch(ctl, INF_NODES, on_node, c) != MK_OK) {
		ctrl_loop_free(&c->loop);
		expect_free(&c->expect);
		free(c);
		return NULL;
	}
	ctrl_want(ctl, INF_CONTROLLERREVISIONS);
	return &c->loop;
}

static void destroy(struct ctrl_loop *loop)
{
	struct daemonset_controller *c = loop->self;

	expect_free(&c->expect);
	free(c);
}

const struct controller_def daemonset_controller = {"daemonset", create, destroy};
