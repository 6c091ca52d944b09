/*
 * DELETE and DELETECOLLECTION (worker threads): preconditions, finalizers
 * and deletionTimestamp, namespaces that empty themselves before they go.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/err.h"
#include "../store/store.h"
#include "api_internal.h"
#include "object.h"
#include "selector.h"

#define MAX_RETRIES 8

struct delete_options {
	const char *propagation; /* Background (default), Foreground, Orphan */
	int64_t grace;           /* -1: not given */
	const char *pre_uid;
	const char *pre_rv;
	bool dry_run;
};

/* DeleteOptions come in the body (kubectl, Python) or the query. */
static int read_options(struct api_call *c, json_t **body, struct delete_options *o)
{
	memset(o, 0, sizeof *o);
	o->grace = -1;
	*body = NULL;
	if (c->req->body_len > 0) {
		if (api_parse_body(c, false, body) != MK_OK)
			return MK_EINVAL;
		if (!json_is_object(*body)) {
			api_fail(c, 400, "BadRequest", "DeleteOptions must be a JSON object");
			return MK_EINVAL;
		}
	}
	const json_t *b = *body;
	o->propagation = json_string_value(json_object_get(b, "propagationPolicy"));
	if (o->propagation == NULL)
		o->propagation = api_query_get(&c->query, "propagationPolicy");
	if (o->propagation == NULL || o->propagation[0] == '\0')
		o->propagation = "Background";
	if (strcmp(o->propagation, "Background") && strcmp(o->propagation, "Foreground") &&
	    strcmp(o->propagation, "Orphan")) {
		api_fail(c, 400, "BadRequest", "propagationPolicy: Unsupported value: \"%s\": "
			 "supported values: \"Foreground\", \"Background\", \"Orphan\"",
			 o->propagation);
		return MK_EINVAL;
	}
	const json_t *g = json_object_get(b, "gracePeriodSeconds");
	if (json_is_integer(g))
		o->grace = json_integer_value(g);
	else if (api_query_int(&c->query, "gracePeriodSeconds", -1, &o->grace) != MK_OK) {
		api_fail(c, 400, "BadRequest", "gracePeriodSeconds must be an integer");
		return MK_EINVAL;
	}
	const json_t *pre = json_object_get(b, "preconditions");
	o->pre_uid = json_string_value(json_object_get(pre, "uid"));
	o->pre_rv = json_string_value(json_object_get(pre, "resourceVersion"));
	const json_t *dr = json_object_get(b, "dryRun");
	o->dry_run = (json_is_array(dr) && json_array_size(dr) > 0) ||
		     strcmp(api_query_get(&c->query, "dryRun") ?: "", "All") == 0;
	return MK_OK;
}

/* Deletes `name`: 0 and the answer (the object as it was or now is), or an
 * error with the answer set. */
static int delete_one(struct api_call *c, const char *name, const struct delete_options *o)
{
	char key[STORE_MAX_KEY + 1];
	for (int attempt = 0; attempt < MAX_RETRIES; attempt++) {
		json_t *obj;
		int64_t rev;
		int rv = api_load(c, name, &obj, &rev);
		if (rv != MK_OK) {
			api_fail_store(c, rv);
			return rv;
		}
		json_t *meta = object_meta(obj);
		const char *uid = json_string_value(json_object_get(meta, "uid"));
		if ((o->pre_uid && strcmp(o->pre_uid, uid ? uid : "") != 0) ||
		    (o->pre_rv && strtoll(o->pre_rv, NULL, 10) != rev)) {
			api_fail(c, 409, "Conflict",
				 "Operation cannot be fulfilled on %s \"%s\": Precondition failed: "
				 "UID in precondition: %s, UID in object meta: %s",
				 c->res->plural, name, o->pre_uid ? o->pre_uid : "", uid ? uid : "");
			json_decref(obj);
			return MK_ECONFLICT;
		}
		api_object_key(c, c->ns, name, key, sizeof key);
		bool is_namespace = !c->res->namespaced && strcmp(c->res->kind, "Namespace") == 0 &&
				    !c->res->custom;
		json_t *fins = json_object_get(meta, "finalizers");
		/* Foreground: the owner stays, marked, until its dependents
		 * are gone (the background work then removes it). */
		bool foreground = strcmp(o->propagation, "Foreground") == 0 && !is_namespace;
		if (foreground && json_object_get(meta, "deletionTimestamp") == NULL) {
			if (!json_is_array(fins)) {
				fins = json_array();
				json_object_set_new(meta, "finalizers", fins);
			}
			json_array_append_new(fins, json_string("foregroundDeletion"));
		}
		bool graceful = json_array_size(fins) > 0 || is_namespace;
		if (!graceful) {
			if (o->dry_run) {
				api_answer_object(c, 200, obj);
				return MK_OK;
			}
			int64_t drev;
			rv = store_delete(c->store, key, rev, &drev);
			if (rv == MK_ECONFLICT) {
				json_decref(obj);
				continue;
			}
			if (rv != MK_OK) {
				json_decref(obj);
				api_fail_store(c, rv);
				return rv;
			}
			api_background_deleted(c->srv, c->res, obj,
					       strcmp(o->propagation, "Orphan") == 0 ? GC_ORPHAN
										 : GC_DELETE,
					       NULL);
			object_set_rv(obj, drev);
			api_answer_object(c, 200, obj);
			return MK_OK;
		}
		/* Finalizers (or a namespace's content) hold it: mark it. */
		if (json_object_get(meta, "deletionTimestamp") != NULL) {
			api_answer_object(c, 202, obj); /* already being deleted */
			return MK_OK;
		}
		char ts[32];
		object_timestamp(ts, object_now());
		json_object_set_new(meta, "deletionTimestamp", json_string(ts));
		json_object_set_new(meta, "deletionGracePeriodSeconds",
				    json_integer(o->grace >= 0 ? o->grace : 0));
		if (is_namespace) {
			json_t *status = json_object_get(obj, "status");
			if (!json_is_object(status)) {
				status = json_object();
				json_object_set_new(obj, "status", status);
			}
			json_object_set_new(status, "phase", json_string("Terminating"));
		}
		if (o->dry_run) {
			api_answer_object(c, 202, obj);
			return MK_OK;
		}
		size_t len;
		char *value = object_to_store(obj, &len);
		int64_t nrev;
		rv = value ? store_update(c->store, key, value, len, 0, rev, &nrev) : MK_ENOMEM;
		free(value);
		if (rv == MK_ECONFLICT) {
			json_decref(obj);
			continue;
		}
		if (rv != MK_OK) {
			json_decref(obj);
			api_fail_store(c, rv);
			return rv;
		}
		object_set_rv(obj, nrev);
		if (is_namespace)
			api_background_kick(c->srv);
		if (foreground)
			api_background_deleted(c->srv, c->res, obj, GC_FOREGROUND, key);
		api_answer_object(c, 202, obj);
		return MK_OK;
	}
	api_fail_store(c, MK_ECONFLICT);
	return MK_ECONFLICT;
}

void api_do_delete(struct api_call *c)
{
	json_t *body;
	struct delete_options o;
	if (read_options(c, &body, &o) == MK_OK)
		delete_one(c, c->name, &o);
	json_decref(body);
}

void api_do_deletecollection(struct api_call *c)
{
	json_t *body;
	struct delete_options o;
	struct label_selector *ls = NULL;
	struct field_selector *fs = NULL;
	if (read_options(c, &body, &o) != MK_OK || api_selectors(c, &ls, &fs) != MK_OK) {
		json_decref(body);
		return;
	}
	char prefix[STORE_MAX_KEY + 1];
	struct store_list l = {0};
	int rv = MK_EINVAL;
	if (api_object_key(c, c->ns, NULL, prefix, sizeof prefix) == MK_OK)
		rv = store_list(c->store, prefix, NULL, 0, 0, &l);
	if (rv != MK_OK) {
		api_fail_store(c, rv);
		goto out;
	}
	json_t *deleted = json_array();
	for (size_t i = 0; i < l.n; i++) {
		json_t *obj = object_from_store(l.items[i].value, l.items[i].len, l.items[i].rev);
		if (obj == NULL || !api_matches(ls, fs, obj)) {
			json_decref(obj);
			continue;
		}
		/* Across namespaces, each object is deleted in its own. */
		char *saved_ns = c->ns;
		const char *ns = object_namespace(obj);
		c->ns = c->res->namespaced && ns ? strdup(ns) : NULL;
		rv = delete_one(c, object_name(obj), &o);
		free(c->ns);
		c->ns = saved_ns;
		json_decref(obj);
		if (rv == MK_OK) {
			json_array_append(deleted, c->body);
		} else if (rv != MK_ENOTFOUND) {
			json_decref(deleted);
			goto out; /* the answer is that error */
		}
		json_decref(c->body);
		c->body = NULL;
	}
	char gv[128], kind[160];
	resource_group_version(c->res, gv, sizeof gv);
	snprintf(kind, sizeof kind, "%sList", c->res->kind);
	c->status = 200;
	c->body = json_pack("{s:s, s:s, s:{}, s:o}", "kind", kind, "apiVersion", gv, "metadata",
			    "items", deleted);
out:
	store_list_free(&l);
	label_selector_free(ls);
	field_selector_free(fs);
	json_decref(body);
}
