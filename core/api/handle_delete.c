/*
 * DELETE and DELETECOLLECTION (worker threads): preconditions, finalizers
 * and deletionTimestamp, namespaces that empty themselves before they go,
 * and graceful deletion of pods.
 *
 * A pod bound to a node and not finished is not removed by a DELETE with a
 * grace period: it gets deletionTimestamp = now + grace and
 * deletionGracePeriodSeconds = grace (watchers see MODIFIED), and the node
 * agent deletes it with grace 0 once its containers are stopped (DELETED).
 * A later DELETE may only shorten the grace period; grace 0 (kubectl
 * --force --grace-period=0) removes it at once.  This is kube-apiserver's
 * rest.BeforeDelete with the pod strategy's CheckGracefulDelete.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/err.h"
#include "../store/store.h"
#include "api_internal.h"
#include "cri_log.h"
#include "object.h"
#include "selector.h"

#define MAX_RETRIES 8

struct delete_options {
	const char *propagation; /* Background (default), Foreground, Orphan */
	bool grace_given;
	int64_t grace;           /* gracePeriodSeconds when given, else -1 */
	const char *pre_uid;
	const char *pre_rv;
	bool dry_run;
};

/* DeleteOptions from `b` (NULL: none) and the query; the strings in `o`
 * point into b. */
static int parse_options(struct api_call *c, const json_t *b, struct delete_options *o)
{
	memset(o, 0, sizeof *o);
	o->grace = -1;
	if (b != NULL && !json_is_object(b)) {
		api_fail(c, 400, "BadRequest", "DeleteOptions must be a JSON object");
		return MK_EINVAL;
	}
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
	const char *gq = api_query_get(&c->query, "gracePeriodSeconds");
	if (json_is_integer(g)) {
		o->grace = json_integer_value(g);
		o->grace_given = true;
	} else if (g != NULL && !json_is_null(g)) {
		api_fail(c, 400, "BadRequest", "gracePeriodSeconds must be an integer");
		return MK_EINVAL;
	} else if (api_query_int(&c->query, "gracePeriodSeconds", -1, &o->grace) != MK_OK) {
		api_fail(c, 400, "BadRequest", "gracePeriodSeconds must be an integer");
		return MK_EINVAL;
	} else {
		o->grace_given = gq != NULL && gq[0] != '\0';
	}
	const json_t *pre = json_object_get(b, "preconditions");
	o->pre_uid = json_string_value(json_object_get(pre, "uid"));
	o->pre_rv = json_string_value(json_object_get(pre, "resourceVersion"));
	const json_t *dr = json_object_get(b, "dryRun");
	o->dry_run = (json_is_array(dr) && json_array_size(dr) > 0) ||
		     strcmp(api_query_get(&c->query, "dryRun") ?: "", "All") == 0;
	return MK_OK;
}

/* DeleteOptions come in the body (kubectl, Python) or the query. */
static int read_options(struct api_call *c, json_t **body, struct delete_options *o)
{
	*body = NULL;
	if (c->req->body_len > 0 && api_parse_body(c, false, body) != MK_OK) {
		memset(o, 0, sizeof *o);
		return MK_EINVAL;
	}
	return parse_options(c, *body, o);
}

/* --- graceful deletion of pods ------------------------------------------------ */

enum grace_action {
	GRACE_NONE,    /* no grace period: delete now, unless finalizers hold it */
	GRACE_PENDING, /* being deleted gracefully already: nothing changes */
	GRACE_MARK,    /* set deletionTimestamp and deletionGracePeriodSeconds */
};

static bool is_pod(const struct api_resource *r)
{
	return !r->custom && r->group[0] == '\0' && strcmp(r->plural, "pods") == 0;
}

/* CheckGracefulDelete: the request's grace period, else the pod's
 * terminationGracePeriodSeconds; none for a pod no node runs or that
 * finished; a negative one means 1 s. */
static int64_t pod_grace_period(const json_t *pod, const struct delete_options *o)
{
	int64_t period = 0;
	const json_t *tgps = object_at(pod, "spec.terminationGracePeriodSeconds");
	if (o->grace_given)
		period = o->grace;
	else if (json_is_integer(tgps))
		period = json_integer_value(tgps);
	const char *node = object_str(pod, "spec.nodeName");
	const char *phase = object_str(pod, "status.phase");
	if (node == NULL || node[0] == '\0')
		period = 0;
	if (phase != NULL && (strcmp(phase, "Succeeded") == 0 || strcmp(phase, "Failed") == 0))
		period = 0;
	return period < 0 ? 1 : period;
}

/* What a DELETE does to `pod` as far as its grace period goes (BeforeDelete);
 * GRACE_MARK fills the new deletionTimestamp and grace period. */
static enum grace_action pod_grace(const json_t *pod, const struct delete_options *o, int64_t now,
				   int64_t *mark_at, int64_t *period)
{
	const char *ts = object_str(pod, "metadata.deletionTimestamp");
	if (ts == NULL) {
		*period = pod_grace_period(pod, o);
		*mark_at = now + *period;
		return *period > 0 ? GRACE_MARK : GRACE_NONE;
	}
	/* A graceful deletion is under way: only a shorter grace period
	 * changes it (and 0 ends it). */
	int64_t cur = json_integer_value(object_at(pod, "metadata.deletionGracePeriodSeconds"));
	if (cur <= 0)
		return GRACE_NONE;
	if (!o->grace_given)
		return GRACE_PENDING;
	int64_t p = o->grace < 0 ? 1 : o->grace;
	if (p >= cur)
		return GRACE_PENDING;
	struct cri_time when;
	int64_t at = cri_time_parse(ts, strlen(ts), &when) == MK_OK ? when.sec - cur + p : now;
	if (at < now) {
		/* The grace period is over already: a graceful request stays
		 * graceful with the least period, someone else deletes. */
		at = now;
		if (p != 0)
			p = 1;
	}
	*mark_at = at;
	*period = p;
	return GRACE_MARK;
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
		bool foreground = strcmp(o->propagation, "Foreground") == 0 && !is_namespace &&
				  json_object_get(meta, "deletionTimestamp") == NULL;
		if (foreground) {
			if (!json_is_array(fins)) {
				fins = json_array();
				json_object_set_new(meta, "finalizers", fins);
			}
			json_array_append_new(fins, json_string("foregroundDeletion"));
		}
		int64_t mark_at = 0, period = 0;
		enum grace_action ga = is_pod(c->res) ? pod_grace(obj, o, object_now(), &mark_at,
								  &period)
						      : GRACE_NONE;
		if (ga == GRACE_PENDING) {
			api_answer_object(c, 200, obj);
			return MK_OK;
		}
		/* Grace cut to 0: the pod goes now unless finalizers hold it. */
		if (ga == GRACE_MARK && period == 0 && json_array_size(fins) == 0)
			ga = GRACE_NONE;
		bool graceful = json_array_size(fins) > 0 || is_namespace || ga == GRACE_MARK;
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
		/* Finalizers (or a namespace's content, or a pod's grace
		 * period) hold it: mark it. */
		int answer = ga == GRACE_MARK ? 200 : 202;
		if (ga != GRACE_MARK && json_object_get(meta, "deletionTimestamp") != NULL) {
			api_answer_object(c, 202, obj); /* already being deleted */
			return MK_OK;
		}
		char ts[32];
		if (ga == GRACE_MARK) {
			/* The first mark bumps the generation, as upstream. */
			json_t *gen = json_object_get(meta, "generation");
			if (json_object_get(meta, "deletionTimestamp") == NULL &&
			    json_is_integer(gen) && json_integer_value(gen) > 0)
				json_object_set_new(meta, "generation",
						    json_integer(json_integer_value(gen) + 1));
		} else {
			/* Held by finalizers: marked as deleting now, grace 0,
			 * so that the last finalizer gone removes it. */
			mark_at = object_now();
			period = 0;
		}
		object_timestamp(ts, mark_at);
		json_object_set_new(meta, "deletionTimestamp", json_string(ts));
		json_object_set_new(meta, "deletionGracePeriodSeconds", json_integer(period));
		if (is_namespace) {
			json_t *status = json_object_get(obj, "status");
			if (!json_is_object(status)) {
				status = json_object();
				json_object_set_new(obj, "status", status);
			}
			json_object_set_new(status, "phase", json_string("Terminating"));
		}
		if (o->dry_run) {
			api_answer_object(c, answer, obj);
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
		api_answer_object(c, answer, obj);
		return MK_OK;
	}
	api_fail_store(c, MK_ECONFLICT);
	return MK_ECONFLICT;
}

int api_delete_named(struct api_call *c, const char *name, const json_t *options)
{
	struct delete_options o;
	int rv = parse_options(c, options, &o);

	return rv == MK_OK ? delete_one(c, name, &o) : rv;
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
