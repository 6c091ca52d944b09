/*
 * pods/{name}/log: routing, options and the choice of container instance,
 * worded as kube-apiserver (PodLogOptions validation, validateContainer in
 * pkg/registry/core/pod/strategy.go) and kubelet
 * (validateContainerLogStatus) word them.  See pod_log.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../base/buf.h"
#include "../base/err.h"
#include "pod_log.h"

/* --- routing -------------------------------------------------------------- */

bool pod_log_subresource(const struct api_resource *r, const char *sub)
{
	return r->group[0] == '\0' && strcmp(r->plural, "pods") == 0 && strcmp(sub, "log") == 0;
}

int pod_log_route(struct api_call *c, const char *ns, const char *name)
{
	if (ns == NULL || name == NULL) {
		c->res = NULL; /* no details for a path that names nothing */
		api_fail(c, 404, "NotFound", "the server could not find the requested resource");
		return 404;
	}
	if (strcmp(c->req->method, "GET") != 0) {
		api_fail(c, 405, "MethodNotAllowed",
			 "the server does not allow this method on the requested resource");
		return 405;
	}
	c->verb = VERB_GET;
	if ((c->ns = strdup(ns)) == NULL || (c->name = strdup(name)) == NULL ||
	    (c->sub = strdup("log")) == NULL) {
		api_fail(c, 500, "InternalError", "out of memory");
		return 500;
	}
	return 0;
}

/* --- options -------------------------------------------------------------- */

static json_t *bad_request(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static json_t *bad_request(const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return api_status(400, "BadRequest", msg);
}

/* Upstream's query booleans: absent or empty, "false" and "0" are false. */
static bool query_bool(const struct api_query *q, const char *key)
{
	const char *v = api_query_get(q, key);
	return v != NULL && v[0] != '\0' && strcasecmp(v, "false") != 0 && strcmp(v, "0") != 0;
}

/* An optional integer: 1 and *out, 0 if absent, -1 if malformed. */
static int query_int(const struct api_query *q, const char *key, int64_t *out)
{
	if (api_query_get(q, key) == NULL || api_query_get(q, key)[0] == '\0')
		return 0;
	return api_query_int(q, key, 0, out) == MK_OK ? 1 : -1;
}

/* field.ErrorList of PodLogOptions validation, as NewInvalid words it. */
struct invalid {
	json_t *causes;
	struct mk_buf text;
};

static void invalid_add(struct invalid *v, const char *reason, const char *field,
			const char *detail)
{
	char line[256];
	json_array_append_new(v->causes, json_pack("{s:s, s:s, s:s}", "reason", reason, "message",
						   detail, "field", field));
	int n = snprintf(line, sizeof line, "%s%s: %s", v->text.len ? ", " : "", field, detail);
	mk_buf_append(&v->text, line, (size_t)n);
}

static json_t *invalid_status(struct invalid *v, const char *pod)
{
	char msg[1024];
	size_t n = json_array_size(v->causes);
	/* One error as it is, several as Go prints an aggregate: [a, b]. */
	snprintf(msg, sizeof msg, "PodLogOptions \"%s\" is invalid: %s%.*s%s", pod,
		 n > 1 ? "[" : "", (int)v->text.len, (const char *)v->text.data, n > 1 ? "]" : "");
	json_t *st = api_status(422, "Invalid", msg);
	json_object_set_new(st, "details", json_pack("{s:s, s:s, s:O}", "name", pod, "kind",
						     "PodLogOptions", "causes", v->causes));
	return st;
}

int pod_log_options_parse(const struct api_query *q, const char *pod, const struct cri_time *now,
			  struct pod_log_options *o, json_t **status)
{
	memset(o, 0, sizeof *o);
	*status = NULL;
	const char *c = api_query_get(q, "container");
	if (c != NULL && c[0] != '\0' && (o->container = strdup(c)) == NULL)
		return MK_ENOMEM;
	o->follow = query_bool(q, "follow");
	o->previous = query_bool(q, "previous");
	o->read.timestamps = query_bool(q, "timestamps");
	o->read.follow = o->follow;
	int64_t since_s = 0, tail = 0, limit = 0;
	int has_since_s = query_int(q, "sinceSeconds", &since_s);
	int has_tail = query_int(q, "tailLines", &tail);
	int has_limit = query_int(q, "limitBytes", &limit);
	const char *bad = has_since_s < 0 ? "sinceSeconds" : has_tail < 0 ? "tailLines"
							: has_limit < 0 ? "limitBytes" : NULL;
	if (bad != NULL) {
		*status = bad_request("invalid %s \"%s\": must be an integer", bad,
				      api_query_get(q, bad));
		goto fail;
	}
	const char *st = api_query_get(q, "sinceTime");
	bool has_since_t = st != NULL && st[0] != '\0';
	if (has_since_t && cri_time_parse(st, strlen(st), &o->read.since) != MK_OK) {
		*status = bad_request("invalid sinceTime \"%s\": must be an RFC 3339 time such as "
				      "2006-01-02T15:04:05Z", st);
		goto fail;
	}
	struct invalid v = {json_array(), MK_BUF_INIT};
	char detail[160];
	if (has_tail && tail < 0) {
		snprintf(detail, sizeof detail,
			 "Invalid value: %lld: must be greater than or equal to 0", (long long)tail);
		invalid_add(&v, "FieldValueInvalid", "tailLines", detail);
	}
	if (has_limit && limit < 1) {
		snprintf(detail, sizeof detail, "Invalid value: %lld: must be greater than 0",
			 (long long)limit);
		invalid_add(&v, "FieldValueInvalid", "limitBytes", detail);
	}
	if (has_since_s && has_since_t) {
		invalid_add(&v, "FieldValueForbidden", "", "Forbidden: at most one of `sinceTime` "
			    "or `sinceSeconds` may be specified");
	} else if (has_since_s && since_s < 1) {
		snprintf(detail, sizeof detail, "Invalid value: %lld: must be greater than 0",
			 (long long)since_s);
		invalid_add(&v, "FieldValueInvalid", "sinceSeconds", detail);
	}
	if (json_array_size(v.causes) > 0) {
		*status = invalid_status(&v, pod);
		json_decref(v.causes);
		mk_buf_free(&v.text);
		goto fail;
	}
	json_decref(v.causes);
	mk_buf_free(&v.text);
	o->read.tail_lines = has_tail ? tail : -1;
	o->read.limit_bytes = has_limit ? limit : 0;
	if (has_since_s) {
		o->read.has_since = true;
		o->read.since = *now;
		o->read.since.sec -= since_s;
	} else if (has_since_t) {
		o->read.has_since = true;
	}
	return MK_OK;
fail:
	pod_log_options_free(o);
	return *status != NULL ? MK_EINVAL : MK_ENOMEM;
}

void pod_log_options_free(struct pod_log_options *o)
{
	free(o->container);
	o->container = NULL;
}

/* --- the container and its instance ---------------------------------------- */

static const char *const spec_lists[] = {"initContainers", "containers", "ephemeralContainers"};
static const char *const status_lists[] = {"containerStatuses", "initContainerStatuses",
					   "ephemeralContainerStatuses"};

static const json_t *named(const json_t *list, const char *name)
{
	size_t i;
	const json_t *it;
	json_array_foreach(list, i, it) {
		const char *n = json_string_value(json_object_get(it, "name"));
		if (n != NULL && strcmp(n, name) == 0)
			return it;
	}
	return NULL;
}

/* validateContainer: the container named, or the only one. */
static int pick_container(const json_t *spec, const char *name, const char *container,
			  const char **out, char *errmsg, size_t len)
{
	if (container != NULL) {
		for (size_t k = 0; k < 3; k++) {
			const json_t *c = named(json_object_get(spec, spec_lists[k]), container);
			if (c != NULL) {
				*out = json_string_value(json_object_get(c, "name"));
				return MK_OK;
			}
		}
		snprintf(errmsg, len, "container %s is not valid for pod %s", container, name);
		return MK_EINVAL;
	}
	const json_t *containers = json_object_get(spec, "containers");
	if (json_array_size(containers) == 1) {
		*out = json_string_value(json_object_get(json_array_get(containers, 0), "name"));
		if (*out != NULL)
			return MK_OK;
	}
	if (json_array_size(containers) == 0) {
		snprintf(errmsg, len, "a container name must be specified for pod %s", name);
		return MK_EINVAL;
	}
	/* Go prints the []string of every container, init ones first. */
	int n = snprintf(errmsg, len, "a container name must be specified for pod %s, choose one "
			 "of: [", name);
	const char *sep = "";
	for (size_t k = 0; k < 3; k++) {
		size_t i;
		const json_t *c;
		json_array_foreach(json_object_get(spec, spec_lists[k]), i, c) {
			const char *cn = json_string_value(json_object_get(c, "name"));
			if (n >= 0 && (size_t)n < len)
				n += snprintf(errmsg + n, len - (size_t)n, "%s%s", sep,
					      cn ? cn : "");
			sep = " ";
		}
	}
	if (n >= 0 && (size_t)n < len)
		snprintf(errmsg + n, len - (size_t)n, "]");
	return MK_EINVAL;
}

/* The instance number in the node agent's container IDs, else `fallback`. */
static int64_t instance_of(const json_t *id_holder, int64_t fallback)
{
	const char *id = json_string_value(json_object_get(id_holder, "containerID"));
	if (id == NULL || strncmp(id, "mk://", 5) != 0)
		return fallback;
	const char *dash = strrchr(id, '-');
	if (dash == NULL || dash[1] == '\0' || strlen(dash + 1) > 9)
		return fallback;
	int64_t n = 0;
	for (const char *p = dash + 1; *p; p++) {
		if (*p < '0' || *p > '9')
			return fallback;
		n = n * 10 + (*p - '0');
	}
	return n;
}

static const json_t *status_of(const json_t *pod, const char *container)
{
	const json_t *status = json_object_get(pod, "status");
	for (size_t k = 0; k < 3; k++) {
		const json_t *cs = named(json_object_get(status, status_lists[k]), container);
		if (cs != NULL)
			return cs;
	}
	return NULL;
}

int pod_log_target(const json_t *pod, const char *name, const char *container, bool previous,
		   struct pod_log_target *t, char *errmsg, size_t len)
{
	memset(t, 0, sizeof *t);
	const json_t *spec = json_object_get(pod, "spec");
	if (pick_container(spec, name, container, &t->container, errmsg, len) != MK_OK)
		return MK_EINVAL;
	const char *node = json_string_value(json_object_get(spec, "nodeName"));
	if (node == NULL || node[0] == '\0') {
		t->unscheduled = true;
		return MK_OK;
	}
	const json_t *cs = status_of(pod, t->container);
	if (cs == NULL) {
		snprintf(errmsg, len, "container \"%s\" in pod \"%s\" is not available",
			 t->container, name);
		return MK_EINVAL;
	}
	json_int_t restarts = json_integer_value(json_object_get(cs, "restartCount"));
	const json_t *state = json_object_get(cs, "state");
	const json_t *last = json_object_get(json_object_get(cs, "lastState"), "terminated");
	const json_t *waiting = json_object_get(state, "waiting");
	if (previous) {
		t->instance = json_is_object(last) ? instance_of(last, restarts - 1) : -1;
		if (t->instance < 0) {
			snprintf(errmsg, len, "previous terminated container \"%s\" in pod \"%s\" "
				 "not found", t->container, name);
			return MK_EINVAL;
		}
	} else if (json_is_object(json_object_get(state, "running"))) {
		t->instance = instance_of(cs, restarts);
		t->running = true;
	} else if (json_is_object(json_object_get(state, "terminated"))) {
		t->instance = instance_of(json_object_get(state, "terminated"), restarts);
	} else if (json_is_object(last)) {
		t->instance = instance_of(last, restarts - 1);
	} else if (json_is_object(waiting)) {
		const char *reason = json_string_value(json_object_get(waiting, "reason"));
		reason = reason ? reason : "";
		if (strcmp(reason, "ErrImagePull") == 0)
			reason = "image can't be pulled";
		else if (strcmp(reason, "ImagePullBackOff") == 0)
			reason = "trying and failing to pull image";
		snprintf(errmsg, len, "container \"%s\" in pod \"%s\" is waiting to start: %s",
			 t->container, name, reason);
		return MK_EINVAL;
	} else {
		snprintf(errmsg, len, "container \"%s\" in pod \"%s\" is waiting to start - no "
			 "logs yet", t->container, name);
		return MK_EINVAL;
	}
	if (t->instance < 0)
		t->instance = 0;
	return MK_OK;
}

bool pod_log_still_running(const json_t *pod, const char *uid, const char *container,
			   int64_t instance)
{
	const char *u = json_string_value(json_object_get(json_object_get(pod, "metadata"), "uid"));
	if (pod == NULL || u == NULL || strcmp(u, uid) != 0)
		return false;
	const json_t *cs = status_of(pod, container);
	if (!json_is_object(json_object_get(json_object_get(cs, "state"), "running")))
		return false;
	return instance_of(cs, json_integer_value(json_object_get(cs, "restartCount"))) == instance;
}

static bool safe_part(const char *s)
{
	return s != NULL && s[0] != '\0' && strchr(s, '/') == NULL && strcmp(s, ".") != 0 &&
	       strcmp(s, "..") != 0;
}

int pod_log_path(char *out, size_t len, const char *data_dir, const char *ns, const char *pod,
		 const char *uid, const char *container, int64_t instance)
{
	if (data_dir == NULL || !safe_part(ns) || !safe_part(pod) || !safe_part(uid) ||
	    !safe_part(container) || instance < 0)
		return MK_EINVAL;
	int n = snprintf(out, len, "%s/logs/pods/%s_%s_%s/%s/%lld.log", data_dir, ns, pod, uid,
			 container, (long long)instance);
	return n < 0 || (size_t)n >= len ? MK_EINVAL : MK_OK;
}
