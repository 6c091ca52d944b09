/*
 * ControllerRevisions of StatefulSets and DaemonSets (revisions.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/err.h"
#include "../base/log.h"
#include "../kube/client.h"
#include "../kube/informer.h"
#include "revisions.h"

static json_t *revision_data(const json_t *owner)
{
	json_t *tmpl = json_deep_copy(json_object_get(json_object_get(owner, "spec"), "template"));

	if (tmpl == NULL)
		return NULL;
	ctrl_normalize(tmpl);
	json_object_set_new(tmpl, "$patch", json_string("replace"));
	return json_pack("{s:{s:o}}", "spec", "template", tmpl);
}

const json_t *revision_template(const json_t *revision)
{
	return json_object_get(json_object_get(json_object_get(revision, "data"), "spec"),
			       "template");
}

static bool same_data(const json_t *revision, const json_t *data)
{
	json_t *have = json_deep_copy(json_object_get(revision, "data"));
	bool same;

	ctrl_normalize(have);
	same = have != NULL && json_equal(have, data);
	json_decref(have);
	return same;
}

static int by_number(const void *a, const void *b)
{
	json_int_t x = json_integer_value(json_object_get(*(json_t *const *)a, "revision"));
	json_int_t y = json_integer_value(json_object_get(*(json_t *const *)b, "revision"));

	return x < y ? -1 : x > y;
}

json_t *revisions_find(const struct revisions *r, const char *name)
{
	size_t i;
	json_t *rev;

	json_array_foreach(r->owned, i, rev)
		if (name != NULL && ctrl_meta(rev, "name") && strcmp(ctrl_meta(rev, "name"), name) == 0)
			return rev;
	return NULL;
}

static void collection_path(const json_t *owner, char *path, size_t len)
{
	char ns[300];

	kube_escape(ctrl_meta(owner, "namespace") ? ctrl_meta(owner, "namespace") : "", ns,
		    sizeof ns);
	snprintf(path, len, "/apis/apps/v1/namespaces/%s/controllerrevisions", ns);
}

static int renumber(struct controllers *c, const json_t *owner, json_t *rev, json_int_t number)
{
	char path[1024], name[300], err[512];

	collection_path(owner, path, sizeof path);
	kube_escape(ctrl_meta(rev, "name"), name, sizeof name);
	snprintf(path + strlen(path), sizeof path - strlen(path), "/%s", name);
	json_t *patch = json_pack("{s:I}", "revision", number);
	int rv = kube_merge_patch(c->client, path, patch, NULL, err, sizeof err);
	json_decref(patch);
	if (rv == MK_OK)
		json_object_set_new(rev, "revision", json_integer(number));
	else
		mk_debug(CTRL_LOG, "revision %s not renumbered: %s", ctrl_meta(rev, "name"), err);
	return rv;
}

static int create_revision(struct controllers *c, const json_t *owner, const char *kind,
			   json_t *data, json_int_t number, struct revisions *out)
{
	json_int_t collisions = json_integer_value(
		json_object_get(json_object_get(owner, "status"), "collisionCount"));
	char hash[32], name[320], path[1024], err[512];
	json_t *labels = json_deep_copy(json_object_get(
		json_object_get(json_object_get(owner, "spec"), "selector"), "matchLabels"));

	ctrl_hash(data, collisions, hash, sizeof hash);
	snprintf(name, sizeof name, "%.240s-%s", ctrl_meta(owner, "name"), hash);
	if (labels == NULL)
		labels = json_object();
	json_object_set_new(labels, REVISION_HASH_LABEL, json_string(hash));
	json_t *obj = json_pack("{s:s, s:s, s:{s:s, s:s, s:o, s:[{s:s, s:s, s:s, s:s, s:b, s:b}]}, "
				"s:O, s:I}",
				"apiVersion", "apps/v1", "kind", "ControllerRevision", "metadata",
				"name", name, "namespace", ctrl_meta(owner, "namespace"), "labels",
				labels, "ownerReferences", "apiVersion", "apps/v1", "kind", kind,
				"name", ctrl_meta(owner, "name"), "uid", ctrl_meta(owner, "uid"),
				"controller", 1, "blockOwnerDeletion", 1, "data", data, "revision",
				number);
	json_t *made = NULL;
	collection_path(owner, path, sizeof path);
	int rv = obj ? kube_create(c->client, path, obj, &made, err, sizeof err) : MK_ENOMEM;
	json_decref(obj);
	if (rv != MK_OK) {
		/* A name taken by another template is a hash collision: count
		 * it, so the next attempt hashes differently (upstream). */
		if (rv == MK_ECONFLICT)
			ctrl_patch_status(c->client, "/apis/apps/v1",
					  strcmp(kind, "StatefulSet") == 0 ? "statefulsets"
									  : "daemonsets",
					  owner, json_pack("{s:I}", "collisionCount", collisions + 1));
		mk_debug(CTRL_LOG, "%s %s: revision not created: %s", kind, ctrl_meta(owner, "name"),
			 err);
		return rv;
	}
	json_array_append_new(out->owned, made);
	out->update = made;
	return MK_OK;
}

int revisions_sync(struct controllers *c, const json_t *owner, const char *kind,
		   struct revisions *out)
{
	json_t *all = kube_informer_list(ctrl_informer(c, INF_CONTROLLERREVISIONS)), *rev;
	json_t *data = revision_data(owner);
	const char *ns = ctrl_meta(owner, "namespace");
	size_t i;
	int rv = MK_OK;

	memset(out, 0, sizeof *out);
	out->owned = json_array();
	if (all == NULL || data == NULL || out->owned == NULL) {
		rv = MK_ENOMEM;
		goto done;
	}
	json_array_foreach(all, i, rev)
		if (ctrl_meta(rev, "namespace") && ns && strcmp(ctrl_meta(rev, "namespace"), ns) == 0 &&
		    controlled_by(rev, kind, ctrl_meta(owner, "uid")))
			json_array_append_new(out->owned, json_deep_copy(rev));
	size_t n = json_array_size(out->owned);
	json_t **v = calloc(n + 1, sizeof *v);
	if (v == NULL) {
		rv = MK_ENOMEM;
		goto done;
	}
	for (i = 0; i < n; i++)
		v[i] = json_incref(json_array_get(out->owned, i));
	qsort(v, n, sizeof *v, by_number);
	json_array_clear(out->owned);
	for (i = 0; i < n; i++)
		json_array_append_new(out->owned, v[i]);
	free(v);
	json_array_foreach(out->owned, i, rev) {
		json_int_t num = json_integer_value(json_object_get(rev, "revision"));
		if (num > out->max)
			out->max = num;
		if (same_data(rev, data))
			out->update = rev;
	}
	if (out->update == NULL)
		rv = create_revision(c, owner, kind, data, out->max + 1, out);
	else if (json_integer_value(json_object_get(out->update, "revision")) < out->max)
		rv = renumber(c, owner, out->update, out->max + 1);
	if (rv == MK_OK) {
		out->max = json_integer_value(json_object_get(out->update, "revision"));
		out->update_name = ctrl_meta(out->update, "name");
	}
done:
	json_decref(data);
	json_decref(all);
	return rv;
}

static bool in_use(const struct revisions *r, const json_t *rev, const json_t *live)
{
	size_t j;
	json_t *l;

	if (rev == r->update)
		return true;
	json_array_foreach(live, j, l)
		if (strcmp(json_string_value(l) ?: "", ctrl_meta(rev, "name") ?: "") == 0)
			return true;
	return false;
}

void revisions_trim(struct controllers *c, const json_t *owner, struct revisions *r,
		    const json_t *live)
{
	json_t *limit_j = json_object_get(json_object_get(owner, "spec"), "revisionHistoryLimit");
	size_t limit = json_is_integer(limit_j) && json_integer_value(limit_j) >= 0
			       ? (size_t)json_integer_value(limit_j) : 10;
	size_t n = json_array_size(r->owned), extra = 0, i;
	char path[1024], name[300], err[512];
	json_t *rev;

	/* History is what is neither the update revision nor in use. */
	json_array_foreach(r->owned, i, rev)
		extra += !in_use(r, rev, live);
	for (i = 0; i < n && extra > limit; i++) {
		rev = json_array_get(r->owned, i);
		if (in_use(r, rev, live))
			continue;
		collection_path(owner, path, sizeof path);
		kube_escape(ctrl_meta(rev, "name"), name, sizeof name);
		snprintf(path + strlen(path), sizeof path - strlen(path), "/%s", name);
		if (kube_request(c->client, "DELETE", path, NULL, NULL, NULL, NULL, err, sizeof err) !=
		    MK_OK)
			mk_debug(CTRL_LOG, "old revision %s not deleted: %s", name, err);
		extra--;
	}
}

void revisions_free(struct revisions *r)
{
	json_decref(r->owned);
	memset(r, 0, sizeof *r);
}
