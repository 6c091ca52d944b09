/*
 * The ReplicaSet controller, as kube-controller-manager's: keeps
 * spec.replicas pods that match the selector and are controlled by the
 * ReplicaSet (ownerReference with controller: true), creating them from
 * the template or deleting the least useful ones, and reports the counts
 * in status.
 *
 * Which pods go first when scaling down (upstream's ranking, simplified):
 * not yet on a node, then not running, then not ready, then the newest.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/err.h"
#include "../base/log.h"
#include "../kube/client.h"
#include "../kube/informer.h"
#include "../api/selector.h"
#include "controllers_internal.h"

/* At most this many creations per pass (upstream's burst is 500; a small
 * node would drown in that many at once). */
#define MAX_BURST 100

json_t *controller_ref(json_t *obj)
{
	size_t i;
	json_t *r;

	json_array_foreach(json_object_get(json_object_get(obj, "metadata"), "ownerReferences"), i,
			   r)
		if (json_is_true(json_object_get(r, "controller")))
			return r;
	return NULL;
}

void object_key(json_t *obj, char *out, size_t len)
{
	json_t *m = json_object_get(obj, "metadata");
	const char *ns = json_string_value(json_object_get(m, "namespace"));
	const char *name = json_string_value(json_object_get(m, "name"));

	snprintf(out, len, "%s/%s", ns ? ns : "", name ? name : "");
}

static const char *str(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static void on_set(void *arg, enum kube_event type, json_t *rs)
{
	struct replicaset_controller *c = arg;
	char key[600];

	object_key(rs, key, sizeof key);
	wq_add(c->queue, key);
}

static void on_pod(void *arg, enum kube_event type, json_t *pod)
{
	struct replicaset_controller *c = arg;
	json_t *ref = controller_ref(pod);
	char key[600];

	if (ref == NULL || str(ref, "kind") == NULL || strcmp(str(ref, "kind"), "ReplicaSet") != 0)
		return;
	snprintf(key, sizeof key, "%s/%s", str(json_object_get(pod, "metadata"), "namespace"),
		 str(ref, "name") ? str(ref, "name") : "");
	if (type == KUBE_ADDED)
		expect_observed(&c->expect, key, true);
	else if (type == KUBE_DELETED)
		expect_observed(&c->expect, key, false);
	wq_add(c->queue, key);
}

static bool pod_active(json_t *pod)
{
	const char *phase = str(json_object_get(pod, "status"), "phase");

	return json_object_get(json_object_get(pod, "metadata"), "deletionTimestamp") == NULL &&
	       !(phase && (strcmp(phase, "Succeeded") == 0 || strcmp(phase, "Failed") == 0));
}

static bool pod_ready(json_t *pod)
{
	size_t i;
	json_t *cond;

	json_array_foreach(json_object_get(json_object_get(pod, "status"), "conditions"), i, cond)
		if (str(cond, "type") && strcmp(str(cond, "type"), "Ready") == 0)
			return str(cond, "status") && strcmp(str(cond, "status"), "True") == 0;
	return false;
}

/* Lower ranks are deleted first. */
static int rank(json_t *pod)
{
	const char *node = str(json_object_get(pod, "spec"), "nodeName");
	const char *phase = str(json_object_get(pod, "status"), "phase");

	if (node == NULL || node[0] == '\0')
		return 0;
	if (phase == NULL || strcmp(phase, "Running") != 0)
		return 1;
	return pod_ready(pod) ? 3 : 2;
}

static int by_rank(const void *a, const void *b)
{
	json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	int rx = rank(x), ry = rank(y);

	if (rx != ry)
		return rx - ry;
	/* Newer first: creationTimestamps are RFC 3339, comparable as text. */
	const char *tx = str(json_object_get(x, "metadata"), "creationTimestamp");
	const char *ty = str(json_object_get(y, "metadata"), "creationTimestamp");
	return -strcmp(tx ? tx : "", ty ? ty : "");
}

static json_t *pod_from_template(json_t *rs)
{
	json_t *meta = json_object_get(rs, "metadata");
	json_t *tmpl = json_object_get(json_object_get(rs, "spec"), "template");
	json_t *tmeta = json_object_get(tmpl, "metadata");
	char prefix[300];

	snprintf(prefix, sizeof prefix, "%s-", str(meta, "name"));
	json_t *pm = json_pack("{s:s, s:s, s:[{s:s, s:s, s:s, s:s, s:b, s:b}]}", "generateName",
			       prefix, "namespace", str(meta, "namespace"), "ownerReferences",
			       "apiVersion", "apps/v1", "kind", "ReplicaSet", "name",
			       str(meta, "name"), "uid", str(meta, "uid") ? str(meta, "uid") : "",
			       "controller", 1, "blockOwnerDeletion", 1);
	if (json_object_get(tmeta, "labels"))
		json_object_set(pm, "labels", json_object_get(tmeta, "labels"));
	if (json_object_get(tmeta, "annotations"))
		json_object_set(pm, "annotations", json_object_get(tmeta, "annotations"));
	json_t *pod = json_pack("{s:s, s:s, s:o, s:O}", "apiVersion", "v1", "kind", "Pod", "metadata",
				pm, "spec", json_object_get(tmpl, "spec"));
	return pod;
}

static int create_pods(struct replicaset_controller *c, json_t *rs, const char *key, int n)
{
	char path[600], ns[300], err[512];
	const char *namespace_ = str(json_object_get(rs, "metadata"), "namespace");
	int failed = 0;

	kube_escape(namespace_ ? namespace_ : "", ns, sizeof ns);
	snprintf(path, sizeof path, "/api/v1/namespaces/%s/pods", ns);
	expect_set(&c->expect, key, n, 0);
	for (int i = 0; i < n; i++) {
		json_t *pod = pod_from_template(rs);
		int rv = pod ? kube_create(c->client, path, pod, NULL, err, sizeof err) : MK_ENOMEM;
		json_decref(pod);
		if (rv != MK_OK) {
			/* This creation will never be observed. */
			expect_observed(&c->expect, key, true);
			if (failed++ == 0)
				mk_warn(CTRL_LOG, "replicaset %s: cannot create a pod: %s", key, err);
		}
	}
	return failed ? MK_EIO : MK_OK;
}

static int delete_pods(struct replicaset_controller *c, json_t **pods, size_t n,
		       const char *key)
{
	char path[900], ns[300], name[300], err[512];
	int failed = 0;

	expect_set(&c->expect, key, 0, (int)n);
	for (size_t i = 0; i < n; i++) {
		json_t *m = json_object_get(pods[i], "metadata");
		kube_escape(str(m, "namespace") ? str(m, "namespace") : "", ns, sizeof ns);
		kube_escape(str(m, "name") ? str(m, "name") : "", name, sizeof name);
		snprintf(path, sizeof path, "/api/v1/namespaces/%s/pods/%s", ns, name);
		int rv = kube_request(c->client, "DELETE", path, NULL, NULL, NULL, NULL, err,
				      sizeof err);
		if (rv != MK_OK && rv != MK_ENOTFOUND) {
			expect_observed(&c->expect, key, false);
			failed++;
			mk_warn(CTRL_LOG, "replicaset %s: cannot delete pod %s: %s", key,
				str(m, "name"), err);
		}
	}
	return failed ? MK_EIO : MK_OK;
}

static void update_status(struct replicaset_controller *c, json_t *rs, size_t active,
			  size_t ready)
{
	json_t *meta = json_object_get(rs, "metadata");
	json_t *old = json_object_get(rs, "status");
	json_int_t gen = json_integer_value(json_object_get(meta, "generation"));
	char path[900], ns[300], name[300], err[512];

	if (json_integer_value(json_object_get(old, "replicas")) == (json_int_t)active &&
	    json_integer_value(json_object_get(old, "readyReplicas")) == (json_int_t)ready &&
	    json_integer_value(json_object_get(old, "availableReplicas")) == (json_int_t)ready &&
	    json_integer_value(json_object_get(old, "observedGeneration")) == gen)
		return;
	kube_escape(str(meta, "namespace") ? str(meta, "namespace") : "", ns, sizeof ns);
	kube_escape(str(meta, "name") ? str(meta, "name") : "", name, sizeof name);
	snprintf(path, sizeof path, "/apis/apps/v1/namespaces/%s/replicasets/%s/status", ns, name);
	json_t *patch = json_pack("{s:{s:I, s:I, s:I, s:I, s:I}}", "status", "replicas",
				  (json_int_t)active, "fullyLabeledReplicas", (json_int_t)active,
				  "readyReplicas", (json_int_t)ready, "availableReplicas",
				  (json_int_t)ready, "observedGeneration", gen);
	if (kube_merge_patch(c->client, path, patch, NULL, err, sizeof err) != MK_OK)
		mk_debug(CTRL_LOG, "replicaset %s/%s: status not updated: %s", str(meta, "namespace"),
			 str(meta, "name"), err);
	json_decref(patch);
}

/* One reconcile of key; MK_OK or an error worth a retry. */
static int sync_set(struct replicaset_controller *c, const char *key)
{
	char ns[300], name[300];

	if (sscanf(key, "%299[^/]/%299s", ns, name) != 2)
		return MK_OK;
	json_t *rs = kube_informer_get(c->sets, ns, name);
	if (rs == NULL)
		return MK_OK; /* gone: its pods go by garbage collection */
	json_t *meta = json_object_get(rs, "metadata");
	json_t *spec = json_object_get(rs, "spec");
	const char *uid = str(meta, "uid");
	json_t *selector = json_object_get(spec, "selector");
	int rv = MK_OK;

	struct label_selector *ls = NULL;
	char err[256];
	/* The API refuses an empty or malformed selector; an object from
	 * before that rule is left alone. */
	if (json_object_get(meta, "deletionTimestamp") != NULL || uid == NULL ||
	    json_object_size(json_object_get(selector, "matchLabels")) +
			    json_array_size(json_object_get(selector, "matchExpressions")) ==
		    0 ||
	    label_selector_from_json(selector, &ls, err, sizeof err) != MK_OK)
		goto out;
	json_t *all = kube_informer_list(c->pods);
	size_t n_all = json_array_size(all), n = 0, ready = 0, i;
	json_t **mine = calloc(n_all + 1, sizeof *mine), *pod;
	json_array_foreach(all, i, pod) {
		json_t *pm = json_object_get(pod, "metadata");
		json_t *ref = controller_ref(pod);
		if (str(pm, "namespace") == NULL || strcmp(str(pm, "namespace"), ns) != 0 ||
		    ref == NULL || str(ref, "uid") == NULL || strcmp(str(ref, "uid"), uid) != 0 ||
		    !pod_active(pod) || !label_selector_matches(ls, json_object_get(pm, "labels")))
			continue;
		mine[n++] = pod;
		if (pod_ready(pod))
			ready++;
	}
	json_int_t want = json_is_integer(json_object_get(spec, "replicas")) ?
			  json_integer_value(json_object_get(spec, "replicas")) : 1;
	if (expect_satisfied(&c->expect, key)) {
		if ((json_int_t)n < want) {
			int add = (int)(want - (json_int_t)n);
			rv = create_pods(c, rs, key, add > MAX_BURST ? MAX_BURST : add);
		} else if ((json_int_t)n > want) {
			qsort(mine, n, sizeof *mine, by_rank);
			rv = delete_pods(c, mine, n - (size_t)want, key);
		}
	}
	update_status(c, rs, n, ready);
	free(mine);
	json_decref(all);
out:
	label_selector_free(ls);
	json_decref(rs);
	return rv;
}

static void *worker(void *arg)
{
	struct replicaset_controller *c = arg;
	char *key;

	while (wq_get(c->queue, &key)) {
		if (sync_set(c, key) == MK_OK)
			wq_forget(c->queue, key);
		else
			wq_retry(c->queue, key);
		wq_done(c->queue, key);
		free(key);
	}
	return NULL;
}

int replicaset_start(struct controllers *ctl, int workers, char *errmsg, size_t len)
{
	struct replicaset_controller *c = &ctl->rs;
	int rv;

	c->client = ctl->client;
	c->queue = wq_new();
	expect_init(&c->expect);
	if (c->queue == NULL) {
		snprintf(errmsg, len, "out of memory");
		return MK_ENOMEM;
	}
	struct kube_informer_config pc = {
		.client = c->client, .path = "/api/v1/pods", .on_event = on_pod, .arg = c,
		.name = "pods (controllers)",
	};
	struct kube_informer_config sc = {
		.client = c->client, .path = "/apis/apps/v1/replicasets", .on_event = on_set,
		.arg = c, .name = "replicasets",
	};
	rv = kube_informer_start(&pc, &c->pods, errmsg, len);
	if (rv == MK_OK)
		rv = kube_informer_start(&sc, &c->sets, errmsg, len);
	if (rv != MK_OK)
		return rv;
	c->workers = calloc((size_t)workers, sizeof *c->workers);
	for (int i = 0; c->workers && i < workers; i++)
		if (pthread_create(&c->workers[i], NULL, worker, c) == 0)
			c->n_workers++;
	if (c->n_workers == 0) {
		snprintf(errmsg, len, "cannot start the replicaset workers");
		return MK_ENOMEM;
	}
	return MK_OK;
}

void replicaset_stop(struct controllers *ctl)
{
	struct replicaset_controller *c = &ctl->rs;

	kube_informer_cancel(c->sets);
	kube_informer_cancel(c->pods);
	kube_informer_stop(c->sets);
	kube_informer_stop(c->pods);
	if (c->queue != NULL)
		wq_shutdown(c->queue);
	for (int i = 0; i < c->n_workers; i++)
		pthread_join(c->workers[i], NULL);
	free(c->workers);
	wq_free(c->queue);
	if (c->queue != NULL)
		expect_free(&c->expect);
	memset(c, 0, sizeof *c);
}
