/*
 * The ReplicaSet controller, as kube-controller-manager's: keeps
 * spec.replicas pods that match the selector and are controlled by the
 * ReplicaSet (ownerReference with controller: true), creating them from
 * the template or deleting the least useful ones, and reports the counts
 * in status (availability honours spec.minReadySeconds).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../api/selector.h"
#include "../base/err.h"
#include "../base/log.h"
#include "../kube/client.h"
#include "../kube/events.h"
#include "../kube/informer.h"
#include "controllers_internal.h"

/* At most this many creations per pass (upstream's burst is 500; a small
 * node would drown in that many at once). */
#define MAX_BURST 100

struct replicaset_controller {
	struct ctrl_loop loop;
	struct controllers *ctl;
	struct expectations expect;
};

static void on_set(void *arg, enum kube_event type, json_t *rs)
{
	struct replicaset_controller *c = arg;
	char key[600];

	(void)type;
	object_key(rs, key, sizeof key);
	wq_add(c->loop.queue, key);
}

static void on_pod(void *arg, enum kube_event type, json_t *pod)
{
	struct replicaset_controller *c = arg;
	char key[600];

	if (!controller_key(pod, "ReplicaSet", key, sizeof key))
		return;
	if (type == KUBE_ADDED)
		expect_observed(&c->expect, key, true);
	else if (type == KUBE_DELETED)
		expect_observed(&c->expect, key, false);
	wq_add(c->loop.queue, key);
}

static int create_pods(struct replicaset_controller *c, json_t *rs, const char *key, int n)
{
	char err[512], name[300];
	int failed = 0;
	json_t *tmpl = json_object_get(json_object_get(rs, "spec"), "template");

	expect_set(&c->expect, key, n, 0);
	for (int i = 0; i < n; i++) {
		json_t *pod = pod_from_template(rs, "apps/v1", "ReplicaSet", tmpl, NULL);
		int rv = pod ? pod_create(c->ctl->client, pod, name, sizeof name, err, sizeof err)
			     : MK_ENOMEM;
		json_decref(pod);
		if (rv == MK_OK) {
			kube_event(c->loop.events, rs, "Normal", "SuccessfulCreate", NULL,
				   "Created pod: %s", name);
			continue;
		}
		/* This creation will never be observed. */
		expect_observed(&c->expect, key, true);
		if (failed++ == 0) {
			mk_warn(CTRL_LOG, "replicaset %s: cannot create a pod: %s", key, err);
			kube_event(c->loop.events, rs, "Warning", "FailedCreate", NULL,
				   "Error creating: %s", err);
		}
	}
	return failed ? MK_EIO : MK_OK;
}

static int delete_pods(struct replicaset_controller *c, json_t *rs, json_t **pods, size_t n,
		       const char *key)
{
	char err[512];
	int failed = 0;

	expect_set(&c->expect, key, 0, (int)n);
	for (size_t i = 0; i < n; i++) {
		const char *ns = ctrl_meta(pods[i], "namespace"), *name = ctrl_meta(pods[i], "name");
		if (pod_delete(c->ctl->client, ns ? ns : "", name ? name : "", err, sizeof err) ==
		    MK_OK) {
			kube_event(c->loop.events, rs, "Normal", "SuccessfulDelete", NULL,
				   "Deleted pod: %s", name);
			continue;
		}
		expect_observed(&c->expect, key, false);
		failed++;
		mk_warn(CTRL_LOG, "replicaset %s: cannot delete pod %s: %s", key, name, err);
	}
	return failed ? MK_EIO : MK_OK;
}

/* One reconcile of key; MK_OK or an error worth a retry. */
static int sync_set(void *self, const char *key)
{
	struct replicaset_controller *c = self;
	struct kube_informer *pods = ctrl_informer(c->ctl, INF_PODS);
	char ns[300], name[300], err[256];
	struct label_selector *ls = NULL;
	int rv = MK_OK;

	if (!split_key(key, ns, sizeof ns, name, sizeof name))
		return MK_OK;
	json_t *rs = kube_informer_get(ctrl_informer(c->ctl, INF_REPLICASETS), ns, name);
	if (rs == NULL)
		return MK_OK; /* gone: its pods go by garbage collection */
	json_t *spec = json_object_get(rs, "spec");
	const char *uid = ctrl_meta(rs, "uid");
	json_t *selector = json_object_get(spec, "selector");
	/* The API refuses an empty or malformed selector; an object from
	 * before that rule is left alone. */
	if (ctrl_meta(rs, "deletionTimestamp") != NULL || uid == NULL ||
	    json_object_size(json_object_get(selector, "matchLabels")) +
			    json_array_size(json_object_get(selector, "matchExpressions")) ==
		    0 ||
	    label_selector_from_json(selector, &ls, err, sizeof err) != MK_OK)
		goto out;
	json_t *all = kube_informer_list(pods);
	size_t n_all = json_array_size(all), n = 0, ready = 0, available = 0, i;
	json_t **mine = calloc(n_all + 1, sizeof *mine), *pod;
	int64_t min_ready = json_integer_value(json_object_get(spec, "minReadySeconds"));
	int64_t now = ctrl_now_ms();
	bool waiting_available = false;
	if (mine == NULL) {
		rv = MK_ENOMEM;
		json_decref(all);
		goto out;
	}
	json_array_foreach(all, i, pod) {
		const char *pns = ctrl_meta(pod, "namespace");
		if (pns == NULL || strcmp(pns, ns) != 0 || !controlled_by(pod, "ReplicaSet", uid) ||
		    !pod_active(pod) ||
		    !label_selector_matches(ls, json_object_get(json_object_get(pod, "metadata"),
								"labels")))
			continue;
		mine[n++] = pod;
		if (pod_ready(pod)) {
			ready++;
			if (pod_available(pod, min_ready, now))
				available++;
			else
				waiting_available = true;
		}
	}
	json_int_t want = json_is_integer(json_object_get(spec, "replicas")) ?
			  json_integer_value(json_object_get(spec, "replicas")) : 1;
	if (expect_satisfied(&c->expect, key)) {
		if ((json_int_t)n < want) {
			int add = (int)(want - (json_int_t)n);
			rv = create_pods(c, rs, key, add > MAX_BURST ? MAX_BURST : add);
		} else if ((json_int_t)n > want) {
			qsort(mine, n, sizeof *mine, pod_compare_for_deletion);
			rv = delete_pods(c, rs, mine, n - (size_t)want, key);
		}
	}
	json_t *tlabels = json_object_get(json_object_get(json_object_get(spec, "template"),
							  "metadata"), "labels");
	size_t labeled = 0;
	for (size_t k = 0; k < n; k++) {
		/* fullyLabeled: the pod carries every label of the template. */
		const char *lk;
		json_t *lv;
		bool all_there = true;
		json_t *pl = json_object_get(json_object_get(mine[k], "metadata"), "labels");
		json_object_foreach(tlabels, lk, lv)
			if (!json_equal(json_object_get(pl, lk), lv))
				all_there = false;
		labeled += all_there;
	}
	ctrl_patch_status(c->ctl->client, "/apis/apps/v1", "replicasets", rs,
			  json_pack("{s:I, s:I, s:I, s:I, s:I}", "replicas", (json_int_t)n,
				    "fullyLabeledReplicas", (json_int_t)labeled, "readyReplicas",
				    (json_int_t)ready, "availableReplicas", (json_int_t)available,
				    "observedGeneration",
				    json_integer_value(json_object_get(json_object_get(rs, "metadata"),
								       "generation"))));
	/* A pod that is ready but not yet for minReadySeconds becomes
	 * available with no event to tell: look again then. */
	if (waiting_available)
		wq_add_after(c->loop.queue, key, min_ready * 1000 / 2 + 500);
	free(mine);
	json_decref(all);
out:
	label_selector_free(ls);
	json_decref(rs);
	return rv;
}

static struct ctrl_loop *create(struct controllers *ctl, char *errmsg, size_t len)
{
	struct replicaset_controller *c = calloc(1, sizeof *c);

	if (c == NULL) {
		snprintf(errmsg, len, "out of memory");
		return NULL;
	}
	c->ctl = ctl;
	expect_init(&c->expect);
	if (ctrl_loop_init(&c->loop, ctl, "replicaset-controller", sync_set, c, errmsg, len) !=
		    MK_OK ||
	    ctrl_watch(ctl, INF_REPLICASETS, on_set, c) != MK_OK ||
	    ctrl_watch(ctl, INF_PODS, on_pod, c) != MK_OK) {
		ctrl_loop_free(&c->loop);
		expect_free(&c->expect);
		free(c);
		return NULL;
	}
	return &c->loop;
}

static void destroy(struct ctrl_loop *loop)
{
	struct replicaset_controller *c = loop->self;

	expect_free(&c->expect);
	free(c);
}

const struct controller_def replicaset_controller = {"replicaset", create, destroy};
