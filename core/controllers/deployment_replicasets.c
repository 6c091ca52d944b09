/*
 * The ReplicaSets of a Deployment (deployment.h): which are its, which one
 * is new, revisions, scaling, history.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/err.h"
#include "../base/log.h"
#include "../kube/client.h"
#include "../kube/events.h"
#include "../kube/informer.h"
#include "deployment.h"

int64_t rs_replicas(const json_t *rs)
{
	return json_integer_value(json_object_get(json_object_get(rs, "spec"), "replicas"));
}

int64_t rs_status(const json_t *rs, const char *field)
{
	return json_integer_value(json_object_get(json_object_get(rs, "status"), field));
}

int64_t rs_revision(const json_t *rs)
{
	const char *v = ctrl_str(json_object_get(json_object_get(rs, "metadata"), "annotations"),
				 REVISION_ANNOTATION);
	return v ? strtoll(v, NULL, 10) : 0;
}

int rollout_collect(struct rollout *r)
{
	json_t *all = kube_informer_list(ctrl_informer(r->c->ctl, INF_REPLICASETS)), *rs;
	size_t i;

	r->sets = json_array();
	if (all == NULL || r->sets == NULL) {
		json_decref(all);
		return MK_ENOMEM;
	}
	json_array_foreach(all, i, rs) {
		const char *ns = ctrl_meta(rs, "namespace");
		/* Copies: the cache's objects are shared and never changed. */
		if (ns != NULL && strcmp(ns, r->ns) == 0 && controlled_by(rs, "Deployment", r->uid))
			json_array_append_new(r->sets, json_deep_copy(rs));
	}
	json_decref(all);
	return MK_OK;
}

/* The template as compared and hashed: without the hash label, normalized. */
static json_t *template_without_hash(const json_t *tmpl)
{
	json_t *t = json_deep_copy(tmpl);

	json_object_del(json_object_get(json_object_get(t, "metadata"), "labels"),
			TEMPLATE_HASH_LABEL);
	ctrl_normalize(t);
	return t;
}

static bool same_template(const json_t *rs, const json_t *d)
{
	json_t *a = template_without_hash(json_object_get(json_object_get(rs, "spec"), "template"));
	json_t *b = template_without_hash(json_object_get(json_object_get(d, "spec"), "template"));
	bool same = a && b && json_equal(a, b);

	json_decref(a);
	json_decref(b);
	return same;
}

/* Annotations a ReplicaSet inherits from its Deployment: all but kubectl's
 * and the controller's own (upstream's skipCopyAnnotation). */
static bool copied_annotation(const char *k)
{
	return strcmp(k, "kubectl.kubernetes.io/last-applied-configuration") != 0 &&
	       strcmp(k, REVISION_ANNOTATION) != 0 && strcmp(k, REVISION_HISTORY_ANNOTATION) != 0 &&
	       strcmp(k, DESIRED_REPLICAS_ANNOTATION) != 0 &&
	       strcmp(k, MAX_REPLICAS_ANNOTATION) != 0 &&
	       strcmp(k, "deprecated.deployment.rollback.to") != 0;
}

static json_t *inherited_annotations(const struct rollout *r, int64_t revision)
{
	json_t *out = json_object();
	const char *k;
	json_t *v;
	char num[32];

	json_object_foreach(json_object_get(json_object_get(r->d, "metadata"), "annotations"), k, v)
		if (copied_annotation(k))
			json_object_set(out, k, v);
	snprintf(num, sizeof num, "%" PRId64, revision);
	json_object_set_new(out, REVISION_ANNOTATION, json_string(num));
	snprintf(num, sizeof num, "%" PRId64, r->replicas);
	json_object_set_new(out, DESIRED_REPLICAS_ANNOTATION, json_string(num));
	snprintf(num, sizeof num, "%" PRId64, r->replicas + r->max_surge);
	json_object_set_new(out, MAX_REPLICAS_ANNOTATION, json_string(num));
	return out;
}

static int64_t max_old_revision(const struct rollout *r)
{
	int64_t max = 0;
	size_t i;
	json_t *rs;

	json_array_foreach(r->sets, i, rs)
		if (rs != r->new_rs && rs_revision(rs) > max)
			max = rs_revision(rs);
	return max;
}

static json_t *new_rs_object(const struct rollout *r, const char *hash, int64_t replicas,
			     int64_t revision)
{
	json_t *spec = json_object_get(r->d, "spec");
	json_t *tmpl = json_deep_copy(json_object_get(spec, "template"));
	json_t *selector = json_deep_copy(json_object_get(spec, "selector"));
	char name[320];

	if (tmpl == NULL || selector == NULL) {
		json_decref(tmpl);
		json_decref(selector);
		return NULL;
	}
	if (!json_is_object(json_object_get(tmpl, "metadata")))
		json_object_set_new(tmpl, "metadata", json_object());
	json_t *tmeta = json_object_get(tmpl, "metadata");
	if (!json_is_object(json_object_get(tmeta, "labels")))
		json_object_set_new(tmeta, "labels", json_object());
	json_object_set_new(json_object_get(tmeta, "labels"), TEMPLATE_HASH_LABEL,
			    json_string(hash));
	if (!json_is_object(json_object_get(selector, "matchLabels")))
		json_object_set_new(selector, "matchLabels", json_object());
	json_object_set_new(json_object_get(selector, "matchLabels"), TEMPLATE_HASH_LABEL,
			    json_string(hash));
	snprintf(name, sizeof name, "%.240s-%s", r->name, hash);
	json_t *rs = json_pack(
		"{s:s, s:s, s:{s:s, s:s, s:O, s:o, s:[{s:s, s:s, s:s, s:s, s:b, s:b}]}, "
		"s:{s:I, s:I, s:o, s:o}}",
		"apiVersion", "apps/v1", "kind", "ReplicaSet", "metadata", "name", name, "namespace",
		r->ns, "labels", json_object_get(tmeta, "labels"), "annotations",
		inherited_annotations(r, revision), "ownerReferences", "apiVersion", "apps/v1",
		"kind", "Deployment", "name", r->name, "uid", r->uid, "controller", 1,
		"blockOwnerDeletion", 1, "spec", "replicas", (json_int_t)replicas,
		"minReadySeconds", json_integer_value(json_object_get(spec, "minReadySeconds")),
		"selector", selector, "template", tmpl);
	return rs;
}

static int set_collision_count(struct rollout *r, int64_t count)
{
	json_t *st = json_pack("{s:I}", "collisionCount", (json_int_t)count);

	return ctrl_patch_status(r->c->ctl->client, "/apis/apps/v1", "deployments", r->d, st);
}

/* Brings an old ReplicaSet back as the new one (`rollout undo`, or a
 * template changed back): it takes the next revision, and remembers the
 * ones it had. */
static int bump_revision(struct rollout *r, json_t *rs, int64_t revision)
{
	char path[1024], err[512], num[32];
	json_t *ann = json_object_get(json_object_get(rs, "metadata"), "annotations");
	const char *old = ctrl_str(ann, REVISION_ANNOTATION);
	const char *hist = ctrl_str(ann, REVISION_HISTORY_ANNOTATION);
	char history[512];

	if (old != NULL && hist != NULL && hist[0])
		snprintf(history, sizeof history, "%s,%s", hist, old);
	else
		snprintf(history, sizeof history, "%s", old ? old : "");
	json_t *annotations = inherited_annotations(r, revision);
	if (history[0])
		json_object_set_new(annotations, REVISION_HISTORY_ANNOTATION, json_string(history));
	json_t *patch = json_pack("{s:{s:o}}", "metadata", "annotations", annotations);
	ctrl_object_path("/apis/apps/v1", "replicasets", r->ns, ctrl_meta(rs, "name"), path,
			 sizeof path);
	int rv = kube_merge_patch(r->c->ctl->client, path, patch, NULL, err, sizeof err);
	json_decref(patch);
	if (rv != MK_OK) {
		mk_debug(CTRL_LOG, "deployment %s/%s: cannot update the revision of %s: %s", r->ns,
			 r->name, ctrl_meta(rs, "name"), err);
		return rv;
	}
	snprintf(num, sizeof num, "%" PRId64, revision);
	json_object_set_new(ann, REVISION_ANNOTATION, json_string(num));
	return MK_OK;
}

int rollout_new_rs(struct rollout *r, bool create, int64_t initial)
{
	size_t i;
	json_t *rs;
	char hash[32], err[512], path[600], ns[300];

	r->new_rs = NULL;
	/* The oldest with the same template wins, as upstream (two can exist
	 * after a hash collision or a crash). */
	json_array_foreach(r->sets, i, rs) {
		if (!same_template(rs, r->d))
			continue;
		if (r->new_rs == NULL || strcmp(ctrl_meta(rs, "creationTimestamp") ?: "",
						ctrl_meta(r->new_rs, "creationTimestamp") ?: "") < 0)
			r->new_rs = rs;
	}
	int64_t max_old = max_old_revision(r);
	if (r->new_rs != NULL) {
		if (create && rs_revision(r->new_rs) <= max_old)
			return bump_revision(r, r->new_rs, max_old + 1);
		return MK_OK;
	}
	if (!create)
		return MK_OK;
	int64_t collisions = json_integer_value(
		json_object_get(json_object_get(r->d, "status"), "collisionCount"));
	json_t *canonical =
		template_without_hash(json_object_get(json_object_get(r->d, "spec"), "template"));
	ctrl_hash(canonical, collisions, hash, sizeof hash);
	json_decref(canonical);
	json_t *obj = new_rs_object(r, hash, initial, max_old + 1);
	if (obj == NULL)
		return MK_ENOMEM;
	json_t *made = NULL;
	kube_escape(r->ns, ns, sizeof ns);
	snprintf(path, sizeof path, "/apis/apps/v1/namespaces/%s/replicasets", ns);
	int rv = kube_create(r->c->ctl->client, path, obj, &made, err, sizeof err);
	json_decref(obj);
	if (rv == MK_ECONFLICT) {
		/* A ReplicaSet of that name exists and is not ours with this
		 * template (ours would have been found above unless the cache
		 * lags: then the retry finds it).  Upstream's answer to a hash
		 * collision: count it, and the next hash differs. */
		set_collision_count(r, collisions + 1);
		return MK_ECONFLICT;
	}
	if (rv != MK_OK) {
		mk_warn(CTRL_LOG, "deployment %s/%s: cannot create a ReplicaSet: %s", r->ns, r->name,
			err);
		kube_event(r->c->loop.events, r->d, "Warning", "FailedCreate", NULL,
			   "Failed to create new replica set \"%s-%s\": %s", r->name, hash, err);
		return rv;
	}
	json_array_append_new(r->sets, made);
	r->new_rs = made;
	r->new_rs_created = true;
	kube_event(r->c->loop.events, r->d, "Normal", "ScalingReplicaSet", NULL,
		   "Scaled up replica set %s from 0 to %" PRId64, ctrl_meta(made, "name"), initial);
	return MK_OK;
}

int rollout_scale(struct rollout *r, json_t *rs, int64_t to)
{
	char path[1024], err[512], desired[32], max[32];
	int64_t from = rs_replicas(rs);
	json_t *ann = json_object_get(json_object_get(rs, "metadata"), "annotations");

	snprintf(desired, sizeof desired, "%" PRId64, r->replicas);
	snprintf(max, sizeof max, "%" PRId64, r->replicas + r->max_surge);
	if (from == to && ctrl_str(ann, DESIRED_REPLICAS_ANNOTATION) &&
	    strcmp(ctrl_str(ann, DESIRED_REPLICAS_ANNOTATION), desired) == 0 &&
	    ctrl_str(ann, MAX_REPLICAS_ANNOTATION) &&
	    strcmp(ctrl_str(ann, MAX_REPLICAS_ANNOTATION), max) == 0)
		return MK_OK;
	json_t *patch = json_pack("{s:{s:{s:s, s:s}}, s:{s:I}}", "metadata", "annotations",
				  DESIRED_REPLICAS_ANNOTATION, desired, MAX_REPLICAS_ANNOTATION, max,
				  "spec", "replicas", (json_int_t)to);
	ctrl_object_path("/apis/apps/v1", "replicasets", r->ns, ctrl_meta(rs, "name"), path,
			 sizeof path);
	int rv = kube_merge_patch(r->c->ctl->client, path, patch, NULL, err, sizeof err);
	json_decref(patch);
	if (rv != MK_OK) {
		mk_debug(CTRL_LOG, "deployment %s/%s: cannot scale %s: %s", r->ns, r->name,
			 ctrl_meta(rs, "name"),
			 err);
		return rv;
	}
	json_object_set_new(json_object_get(rs, "spec"), "replicas", json_integer(to));
	if (from != to)
		kube_event(r->c->loop.events, r->d, "Normal", "ScalingReplicaSet", NULL,
			   "Scaled %s replica set %s from %" PRId64 " to %" PRId64,
			   to > from ? "up" : "down", ctrl_meta(rs, "name"), from, to);
	return MK_OK;
}

static int by_revision(const void *a, const void *b)
{
	int64_t x = rs_revision(*(json_t *const *)a), y = rs_revision(*(json_t *const *)b);

	return x < y ? -1 : x > y;
}

void rollout_cleanup(struct rollout *r)
{
	json_t *limit_j = json_object_get(json_object_get(r->d, "spec"), "revisionHistoryLimit");
	int64_t limit = json_is_integer(limit_j) ? json_integer_value(limit_j) : 10;
	size_t n = json_array_size(r->sets), n_old = 0, i;
	json_t **old = calloc(n + 1, sizeof *old), *rs;
	char err[512], path[1024];

	if (old == NULL)
		return;
	json_array_foreach(r->sets, i, rs)
		if (rs != r->new_rs && ctrl_meta(rs, "deletionTimestamp") == NULL)
			old[n_old++] = rs;
	qsort(old, n_old, sizeof *old, by_revision);
	for (i = 0; n_old > (size_t)limit && i < n_old - (size_t)limit; i++) {
		/* Only ReplicaSets that are scaled down and have no pods left. */
		if (rs_replicas(old[i]) != 0 || rs_status(old[i], "replicas") != 0 ||
		    rs_status(old[i], "observedGeneration") <
			    json_integer_value(json_object_get(json_object_get(old[i], "metadata"),
							       "generation")))
			continue;
		ctrl_object_path("/apis/apps/v1", "replicasets", r->ns, ctrl_meta(old[i], "name"),
				 path, sizeof path);
		if (kube_request(r->c->ctl->client, "DELETE", path, NULL, NULL, NULL, NULL, err,
				 sizeof err) != MK_OK)
			mk_debug(CTRL_LOG, "deployment %s/%s: old ReplicaSet %s not deleted: %s",
				 r->ns, r->name, ctrl_meta(old[i], "name"), err);
	}
	free(old);
}

/* PATCHes metadata.annotations of the object at path unless have already
 * holds every one of want (steals want). */
static void patch_annotations(struct rollout *r, const char *path, const json_t *have,
			      json_t *want)
{
	const char *k;
	json_t *v;
	char err[512];
	bool covered = true;

	json_object_foreach(want, k, v)
		if (!json_equal(json_object_get(have, k), v))
			covered = false;
	if (!covered) {
		json_t *patch = json_pack("{s:{s:O}}", "metadata", "annotations", want);
		if (kube_merge_patch(r->c->ctl->client, path, patch, NULL, err, sizeof err) != MK_OK)
			mk_debug(CTRL_LOG, "deployment %s/%s: annotations not updated: %s", r->ns,
				 r->name, err);
		json_decref(patch);
	}
	json_decref(want);
}

void rollout_sync_annotations(struct rollout *r)
{
	char path[1024], num[32];

	if (r->new_rs == NULL)
		return;
	/* The new ReplicaSet follows the Deployment's annotations (a
	 * change-cause written after the change still names this revision). */
	ctrl_object_path("/apis/apps/v1", "replicasets", r->ns, ctrl_meta(r->new_rs, "name"), path,
			 sizeof path);
	patch_annotations(r, path, json_object_get(json_object_get(r->new_rs, "metadata"),
						   "annotations"),
			  inherited_annotations(r, rs_revision(r->new_rs)));
	/* The Deployment's revision is its new ReplicaSet's. */
	snprintf(num, sizeof num, "%" PRId64, rs_revision(r->new_rs));
	ctrl_object_path("/apis/apps/v1", "deployments", r->ns, r->name, path, sizeof path);
	patch_annotations(r, path, json_object_get(json_object_get(r->d, "metadata"), "annotations"),
			  json_pack("{s:s}", REVISION_ANNOTATION, num));
}
