/*
 * CREATE, UPDATE (PUT) and PATCH, including the status and scale
 * subresources (worker threads).
 *
 * Every write is a compare-and-swap on the revision the handler read, so
 * concurrent writers never lose each other's changes: a client that sent a
 * resourceVersion gets 409 on a race, one that did not is retried against
 * the new state (the API server's GuaranteedUpdate).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/err.h"
#include "../store/store.h"
#include "api_internal.h"
#include "object.h"
#include "patch.h"
#include "selector.h"
#include "service.h"

#define MAX_RETRIES 8

static bool dry_run(struct api_call *c)
{
	const char *d = api_query_get(&c->query, "dryRun");
	return d != NULL && strcmp(d, "All") == 0;
}

/* Services get addresses and ports on the way in (service.h). */
static bool is_service(const struct api_call *c)
{
	return !c->res->custom && c->res->group[0] == '\0' && strcmp(c->res->kind, "Service") == 0 &&
	       c->sub == NULL;
}

/* Server-owned metadata of a new object. */
static void set_create_metadata(struct api_call *c, json_t *obj)
{
	json_t *meta = object_meta(obj);
	char uid[37], ts[32];
	object_new_uid(uid);
	object_timestamp(ts, object_now());
	json_object_set_new(meta, "uid", json_string(uid));
	json_object_set_new(meta, "creationTimestamp", json_string(ts));
	json_object_del(meta, "resourceVersion");
	json_object_del(meta, "deletionTimestamp");
	json_object_del(meta, "deletionGracePeriodSeconds");
	json_object_del(meta, "selfLink");
	json_object_del(meta, "managedFields");
	if (c->res->flags & RES_GENERATION)
		json_object_set_new(meta, "generation", json_integer(1));
	else
		json_object_del(meta, "generation");
	if (c->res->namespaced)
		json_object_set_new(meta, "namespace", json_string(c->ns));
	else
		json_object_del(meta, "namespace");
}

/* The namespace must exist and not be terminating (the real server's
 * NamespaceLifecycle admission). */
static int check_namespace(struct api_call *c)
{
	if (!c->res->namespaced)
		return MK_OK;
	char key[STORE_MAX_KEY + 1];
	if (store_key(key, sizeof key, "core", "namespaces", NULL, c->ns) != MK_OK) {
		api_fail(c, 404, "NotFound", "namespaces \"%s\" not found", c->ns);
		return MK_ENOTFOUND;
	}
	struct store_kv kv;
	int rv = store_get(c->store, key, &kv);
	if (rv == MK_ENOTFOUND) {
		api_fail_details(c, 404, "NotFound", c->ns, NULL, "namespaces \"%s\" not found",
				 c->ns);
		return rv;
	}
	if (rv != MK_OK) {
		api_fail_store(c, rv);
		return rv;
	}
	json_t *ns = object_from_store(kv.value, kv.len, kv.rev);
	store_kv_free(&kv);
	bool terminating = json_object_get(json_object_get(ns, "metadata"), "deletionTimestamp");
	json_decref(ns);
	if (terminating) {
		api_fail(c, 403, "Forbidden",
			 "%s \"%s\" is forbidden: unable to create new content in namespace %s "
			 "because it is being terminated",
			 c->res->plural, c->name ? c->name : "", c->ns);
		return MK_EINVAL;
	}
	return MK_OK;
}

void api_do_create(struct api_call *c)
{
	if (c->sub != NULL && strcmp(c->sub, "binding") == 0) {
		api_do_bind(c);
		return;
	}
	json_t *obj = NULL;
	if (api_decode_object(c, &obj) != MK_OK)
		return;
	json_t *meta = object_meta(obj);
	const char *body_ns = json_string_value(json_object_get(meta, "namespace"));
	if (c->res->namespaced) {
		if (c->ns == NULL) {
			api_fail(c, 404, "NotFound", "the server could not find the requested resource");
			goto out;
		}
		if (body_ns != NULL && body_ns[0] && strcmp(body_ns, c->ns) != 0) {
			api_fail(c, 400, "BadRequest", "the namespace of the provided object does "
				 "not match the namespace sent on the request");
			goto out;
		}
	}
	const char *gen = json_string_value(json_object_get(meta, "generateName"));
	const char *name = json_string_value(json_object_get(meta, "name"));
	bool generated = (name == NULL || name[0] == '\0') && gen != NULL && gen[0] != '\0';
	if (name != NULL && name[0]) {
		free(c->name);
		c->name = strdup(name);
	}
	set_create_metadata(c, obj);
	/* The generated name is validated like a given one (it is the
	 * prefix that could be too long or malformed); defaults may use it
	 * (a Job's job-name label). */
	if (generated) {
		char generated_name[300];
		object_generate_name(generated_name, sizeof generated_name, gen);
		json_object_set_new(meta, "name", json_string(generated_name));
		free(c->name);
		c->name = strdup(generated_name);
	}
	if (is_service(c))
		service_prepare_create(obj);
	api_apply_defaults(c, obj, NULL);
	struct service_txn txn = {0};
	if (api_validate(c, obj, NULL) != MK_OK || check_namespace(c) != MK_OK ||
	    (is_service(c) && service_allocate(c, obj, NULL, dry_run(c), &txn) != MK_OK))
		goto out;
	for (int attempt = 0;; attempt++) {
		if (generated && attempt > 0) {
			char generated_name[300];
			object_generate_name(generated_name, sizeof generated_name, gen);
			json_object_set_new(meta, "name", json_string(generated_name));
			free(c->name);
			c->name = strdup(generated_name);
		}
		if (dry_run(c)) {
			api_answer_object(c, 201, obj);
			return;
		}
		char key[STORE_MAX_KEY + 1];
		if (api_object_key(c, c->ns, c->name, key, sizeof key) != MK_OK) {
			service_rollback(c->store, obj, &txn);
			api_fail(c, 422, "Invalid", "name \"%s\" is too long", c->name);
			goto out;
		}
		size_t len;
		char *value = object_to_store(obj, &len);
		int64_t rev;
		int rv = value ? store_create(c->store, key, value, len, 0, &rev) : MK_ENOMEM;
		free(value);
		if (rv == MK_EEXISTS && generated && attempt < 3)
			continue; /* a fresh suffix, like the real server */
		if (rv != MK_OK) {
			service_rollback(c->store, obj, &txn);
			api_fail_store(c, rv);
			goto out;
		}
		object_set_rv(obj, rev);
		api_answer_object(c, 201, obj);
		return;
	}
out:
	json_decref(obj);
}

/* --- updates ---------------------------------------------------------- */

static bool spec_changed(const struct api_resource *r, const json_t *old, const json_t *obj)
{
	if (!r->custom)
		return !json_equal(json_object_get(old, "spec"), json_object_get(obj, "spec"));
	/* Custom resources: everything but metadata and status is "spec". */
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)obj, k, v) {
		if (strcmp(k, "metadata") && strcmp(k, "status") && !json_equal(v, json_object_get(old, k)))
			return true;
	}
	json_object_foreach((json_t *)old, k, v) {
		if (strcmp(k, "metadata") && strcmp(k, "status") && json_object_get(obj, k) == NULL)
			return true;
	}
	return false;
}

/* Carries over what a client cannot change with a PUT of the main
 * resource, or takes only the status for the status subresource. */
static json_t *merge_for_update(struct api_call *c, json_t *old, json_t *obj)
{
	json_t *merged;
	if (c->sub != NULL && strcmp(c->sub, "status") == 0) {
		merged = json_deep_copy(old);
		json_t *st = json_object_get(obj, "status");
		if (st != NULL)
			json_object_set(merged, "status", st);
		else
			json_object_del(merged, "status");
		json_decref(obj);
		return merged;
	}
	merged = obj;
	json_t *meta = object_meta(merged), *old_meta = object_meta(old);
	static const char *const keep[] = {"uid", "creationTimestamp", "deletionTimestamp",
					   "deletionGracePeriodSeconds", "generation", "namespace"};
	for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++) {
		json_t *v = json_object_get(old_meta, keep[i]);
		if (v)
			json_object_set(meta, keep[i], v);
		else
			json_object_del(meta, keep[i]);
	}
	json_object_del(meta, "selfLink");
	json_object_del(meta, "managedFields");
	if ((c->res->subresources & RES_SUB_STATUS) && strcmp(c->res->kind, "Namespace") != 0) {
		json_t *st = json_object_get(old, "status");
		if (st)
			json_object_set(merged, "status", st);
		else
			json_object_del(merged, "status");
	}
	if ((c->res->flags & RES_GENERATION) && spec_changed(c->res, old, merged)) {
		json_int_t g = json_integer_value(json_object_get(old_meta, "generation"));
		json_object_set_new(meta, "generation", json_integer(g > 0 ? g + 1 : 1));
	}
	return merged;
}

/* Writes `obj` (owned) over `old` read at `old_rev`.  MK_ECONFLICT means
 * the object moved: the caller may retry. Other failures set the answer. */
static int commit(struct api_call *c, json_t *old, int64_t old_rev, json_t *obj)
{
	const char *name = object_name(obj);
	if (name == NULL || strcmp(name, c->name) != 0) {
		api_fail(c, 400, "BadRequest", "the name of the object (%s) does not match the name "
			 "on the URL (%s)", name ? name : "", c->name);
		json_decref(obj);
		return MK_EINVAL;
	}
	const char *ns = object_namespace(obj);
	if (c->res->namespaced && ns != NULL && ns[0] && strcmp(ns, c->ns) != 0) {
		api_fail(c, 400, "BadRequest", "the namespace of the provided object does not match "
			 "the namespace sent on the request");
		json_decref(obj);
		return MK_EINVAL;
	}
	obj = merge_for_update(c, old, obj);
	if (is_service(c))
		service_prepare_update(obj, old);
	api_apply_defaults(c, obj, old);
	struct service_txn txn = {0};
	if (api_validate(c, obj, old) != MK_OK ||
	    (is_service(c) && service_allocate(c, obj, old, dry_run(c), &txn) != MK_OK)) {
		json_decref(obj);
		return MK_EINVAL;
	}
	object_set_rv(obj, old_rev);
	char key[STORE_MAX_KEY + 1];
	api_object_key(c, c->ns, c->name, key, sizeof key);
	json_t *meta = object_meta(obj);
	/* The last finalizer gone from an object being deleted: it goes.  Not
	 * a pod in its grace period (deletionGracePeriodSeconds > 0): the node
	 * agent deletes it once its containers stopped, and updates it until
	 * then (kube-apiserver's shouldDeleteDuringUpdate). */
	const json_t *old_meta = json_object_get(old, "metadata");
	if (json_object_get(meta, "deletionTimestamp") != NULL &&
	    json_array_size(json_object_get(meta, "finalizers")) == 0 &&
	    json_array_size(json_object_get(old_meta, "finalizers")) > 0 &&
	    json_integer_value(json_object_get(old_meta, "deletionGracePeriodSeconds")) == 0 &&
	    !dry_run(c)) {
		int64_t rev;
		int rv = store_delete(c->store, key, old_rev, &rev);
		if (rv != MK_OK) {
			service_rollback(c->store, obj, &txn);
			if (rv != MK_ECONFLICT)
				api_fail_store(c, rv);
			json_decref(obj);
			return rv;
		}
		api_background_deleted(c->srv, c->res, obj, GC_DELETE, NULL);
		object_set_rv(obj, rev);
		api_answer_object(c, 200, obj);
		return MK_OK;
	}
	if (json_equal(obj, old) || dry_run(c)) {
		/* Nothing changed: no write, same resourceVersion (as the real
		 * server, so `kubectl apply` of an unchanged file is free). */
		api_answer_object(c, 200, obj);
		return MK_OK;
	}
	size_t len;
	char *value = object_to_store(obj, &len);
	int64_t rev;
	int rv = value ? store_update(c->store, key, value, len, 0, old_rev, &rev) : MK_ENOMEM;
	free(value);
	if (rv != MK_OK) {
		service_rollback(c->store, obj, &txn);
		if (rv != MK_ECONFLICT)
			api_fail_store(c, rv);
		json_decref(obj);
		return rv;
	}
	if (is_service(c))
		service_release(c->store, old, obj);
	object_set_rv(obj, rev);
	api_answer_object(c, 200, obj);
	return MK_OK;
}

/* --- scale ------------------------------------------------------------ */

static json_t *scale_of(struct api_call *c, const json_t *obj)
{
	const json_t *meta = json_object_get(obj, "metadata");
	json_t *scale = json_pack("{s:s, s:s, s:{s:O?, s:O?, s:O?, s:O?, s:O?}, s:{s:I}, s:{s:I}}",
				  "kind", "Scale", "apiVersion", "autoscaling/v1", "metadata",
				  "name", json_object_get(meta, "name"), "namespace",
				  json_object_get(meta, "namespace"), "uid", json_object_get(meta, "uid"),
				  "resourceVersion", json_object_get(meta, "resourceVersion"),
				  "creationTimestamp", json_object_get(meta, "creationTimestamp"),
				  "spec", "replicas",
				  json_integer_value(json_object_get(json_object_get(obj, "spec"), "replicas")),
				  "status", "replicas",
				  json_integer_value(json_object_get(json_object_get(obj, "status"), "replicas")));
	const json_t *sel = json_object_get(json_object_get(obj, "spec"), "selector");
	char *text = sel ? label_selector_string(sel) : NULL;
	if (scale && text)
		json_object_set_new(json_object_get(scale, "status"), "selector", json_string(text));
	free(text);
	(void)c;
	return scale;
}

/* Applies a Scale (from a PUT body or a patched Scale) to the object. */
static int apply_scale(struct api_call *c, json_t *obj, const json_t *scale)
{
	const json_t *replicas = json_object_get(json_object_get(scale, "spec"), "replicas");
	if (!json_is_integer(replicas) || json_integer_value(replicas) < 0) {
		api_fail_details(c, 422, "Invalid", c->name,
				 json_pack("[{s:s, s:s, s:s}]", "reason", "FieldValueInvalid",
					   "message", "must be greater than or equal to 0", "field",
					   "spec.replicas"),
				 "Scale.autoscaling \"%s\" is invalid: spec.replicas: Invalid value: "
				 "must be greater than or equal to 0", c->name);
		return MK_EINVAL;
	}
	json_t *spec = json_object_get(obj, "spec");
	if (!json_is_object(spec)) {
		spec = json_object();
		json_object_set_new(obj, "spec", spec);
	}
	json_object_set(spec, "replicas", (json_t *)replicas);
	return MK_OK;
}

/* --- PUT and PATCH --------------------------------------------------------- */

enum change_kind { CHANGE_PUT, CHANGE_PATCH };

static int patch_type(struct api_call *c, int *type)
{
	const char *ct = http_request_header(c->req, "content-type");
	if (ct == NULL)
		ct = "";
	if (strncmp(ct, "application/merge-patch+json", 28) == 0)
		*type = 0;
	else if (strncmp(ct, "application/strategic-merge-patch+json", 38) == 0)
		*type = 1;
	else if (strncmp(ct, "application/json-patch+json", 27) == 0)
		*type = 2;
	else {
		api_fail(c, 415, "UnsupportedMediaType",
			 "the body of the request was in an unknown format - accepted media types "
			 "include: application/json-patch+json, application/merge-patch+json, "
			 "application/strategic-merge-patch+json");
		return MK_EINVAL;
	}
	if (*type == 1 && c->res->custom) {
		api_fail(c, 415, "UnsupportedMediaType",
			 "strategic merge patch is not supported for custom resources; use "
			 "--type=merge");
		return MK_EINVAL;
	}
	return MK_OK;
}

static int apply_patch(struct api_call *c, int type, json_t **doc, const json_t *patch)
{
	char err[512];
	int rv;
	if (type == 0)
		rv = patch_merge(doc, patch, err, sizeof err);
	else if (type == 1)
		rv = patch_strategic(doc, patch, c->sub && strcmp(c->sub, "scale") == 0
						     ? "autoscaling" : c->res->group,
				     c->sub && strcmp(c->sub, "scale") == 0 ? "Scale" : c->res->kind,
				     err, sizeof err);
	else
		rv = patch_json(doc, patch, err, sizeof err);
	if (rv == MK_OK && !json_is_object(*doc)) {
		api_fail(c, 400, "BadRequest", "the patch must leave an object");
		return MK_EINVAL;
	}
	if (rv == MK_EINVAL)
		api_fail(c, 400, "BadRequest", "%s", err);
	else if (rv == MK_ETOOBIG)
		api_fail(c, 413, "RequestEntityTooLarge", "%s", err);
	else if (rv == MK_ENOMEM)
		api_fail(c, 500, "InternalError", "%s", err);
	else if (rv != MK_OK)
		api_fail(c, 422, "Invalid", "%s", err);
	return rv;
}

static void change(struct api_call *c, enum change_kind kind)
{
	json_t *input = NULL; /* PUT: the new object; PATCH: the patch */
	int ptype = 0;
	bool scale = c->sub != NULL && strcmp(c->sub, "scale") == 0;
	if (kind == CHANGE_PUT) {
		if (scale) {
			if (api_parse_body(c, false, &input) != MK_OK)
				return;
		} else if (api_decode_object(c, &input) != MK_OK) {
			return;
		}
	} else {
		/* RFC 6902 §A.13: an operation with a repeated member is
		 * invalid, not "the last one wins". */
		if (patch_type(c, &ptype) != MK_OK || api_parse_body(c, ptype == 2, &input) != MK_OK)
			return;
		if (ptype == 2 ? !json_is_array(input) : !json_is_object(input)) {
			api_fail(c, 400, "BadRequest", ptype == 2 ? "a JSON patch must be an array "
				 "of operations" : "a merge patch must be a JSON object");
			json_decref(input);
			return;
		}
	}
	for (int attempt = 0; attempt < MAX_RETRIES; attempt++) {
		json_t *old;
		int64_t old_rev;
		int rv = api_load(c, c->name, &old, &old_rev);
		if (rv != MK_OK) {
			api_fail_store(c, rv);
			break;
		}
		json_t *obj;
		int64_t want_rev;
		if (kind == CHANGE_PUT && !scale) {
			obj = json_deep_copy(input);
			want_rev = object_rv(obj);
		} else {
			/* Patches (and Scale PUTs) apply to what is stored. */
			json_t *doc = scale ? scale_of(c, old) : json_deep_copy(old);
			if (kind == CHANGE_PATCH) {
				if (apply_patch(c, ptype, &doc, input) != MK_OK) {
					json_decref(doc);
					json_decref(old);
					break;
				}
			} else {
				json_decref(doc);
				doc = json_deep_copy(input);
			}
			want_rev = object_rv(doc);
			if (want_rev == old_rev)
				want_rev = 0; /* unchanged by the patch: no precondition */
			if (scale) {
				obj = json_deep_copy(old);
				if (apply_scale(c, obj, doc) != MK_OK) {
					json_decref(doc);
					json_decref(obj);
					json_decref(old);
					break;
				}
				json_decref(doc);
			} else {
				obj = doc;
			}
		}
		if (want_rev < 0 || (want_rev > 0 && want_rev != old_rev)) {
			json_decref(obj);
			json_decref(old);
			api_fail_store(c, MK_ECONFLICT);
			break;
		}
		rv = commit(c, old, old_rev, obj);
		json_decref(old);
		if (rv == MK_ECONFLICT && want_rev == 0 && attempt + 1 < MAX_RETRIES)
			continue;
		if (rv == MK_ECONFLICT)
			api_fail_store(c, rv);
		if (rv == MK_OK && scale) {
			json_t *s = scale_of(c, c->body);
			json_decref(c->body);
			c->body = s;
		}
		break;
	}
	json_decref(input);
}

void api_do_update(struct api_call *c)
{
	change(c, CHANGE_PUT);
}

void api_do_patch(struct api_call *c)
{
	change(c, CHANGE_PATCH);
}

void api_do_get_scale(struct api_call *c)
{
	json_t *obj;
	int rv = api_load(c, c->name, &obj, NULL);
	if (rv != MK_OK) {
		api_fail_store(c, rv);
		return;
	}
	c->status = 200;
	c->body = scale_of(c, obj);
	json_decref(obj);
}
