/*
 * Validation of objects before they are stored: 422 Invalid with
 * details.causes, worded like the real API server so kubectl prints what
 * users know ("The Pod "x" is invalid: spec.containers[0].image: Required
 * value").  Type and unknown-field errors were caught by the decoder.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/err.h"
#include "api_internal.h"
#include "object.h"
#include "selector.h"
#include "validate_internal.h"

void problem_add(struct problems *p, const char *reason, const char *field, const char *fmt, ...)
{
	char msg[768];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	json_array_append_new(p->causes, json_pack("{s:s, s:s, s:s}", "reason", reason, "message",
						  msg, "field", field));
	if (p->used < sizeof p->text) {
		int n = snprintf(p->text + p->used, sizeof p->text - p->used, "%s%s: %s",
				 p->n ? ", " : "", field, msg);
		if (n > 0)
			p->used += (size_t)n;
	}
	p->n++;
}

void problem_required(struct problems *p, const char *field)
{
	problem_add(p, "FieldValueRequired", field, "Required value");
}

void problem_invalid(struct problems *p, const char *field, const json_t *value, const char *why)
{
	char *v = value ? json_dumps(value, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
	problem_add(p, "FieldValueInvalid", field, "Invalid value: %s: %s", v ? v : "null", why);
	free(v);
}

static const char *str(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static bool empty(const char *s)
{
	return s == NULL || s[0] == '\0';
}

static void check_name(struct problems *p, const struct api_resource *r, const json_t *meta)
{
	const char *name = str(meta, "name");
	if (empty(name)) {
		problem_add(p, "FieldValueRequired", "metadata.name",
		    "Required value: name or generateName is required");
		return;
	}
	const char *why;
	if (strcmp(r->kind, "Namespace") == 0 || strcmp(r->kind, "Service") == 0)
		why = object_check_label(name);
	else if (strcmp(r->group, "rbac.authorization.k8s.io") == 0)
		why = object_check_path_segment(name);
	else
		why = object_check_subdomain(name);
	if (strcmp(r->kind, "Service") == 0 && why == NULL && !(name[0] >= 'a' && name[0] <= 'z'))
		why = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', "
		      "start with an alphabetic character, and end with an alphanumeric character";
	if (why != NULL)
		problem_invalid(p, "metadata.name", json_object_get(meta, "name"), why);
}

static void check_string_map(struct problems *p, const json_t *meta, const char *key)
{
	const json_t *m = json_object_get(meta, key);
	if (m == NULL || json_is_null(m))
		return;
	char field[64];
	snprintf(field, sizeof field, "metadata.%s", key);
	if (!json_is_object(m)) {
		problem_invalid(p, field, m, "must be a map of strings");
		return;
	}
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)m, k, v) {
		if (!json_is_string(v)) {
			problem_invalid(p, field, v, "values must be strings");
			return;
		}
		if (k[0] == '\0' || strlen(k) > 316) {
			json_t *jk = json_string(k);
			problem_invalid(p, field, jk, "name part must be non-empty and at most 63 "
				"characters");
			json_decref(jk);
		}
	}
}

void check_containers(struct problems *p, const json_t *spec, const char *base)
{
	const json_t *cs = json_object_get(spec, "containers");
	char field[256];
	snprintf(field, sizeof field, "%s.containers", base);
	if (json_array_size(cs) == 0) {
		problem_required(p, field);
		return;
	}
	const char *lists[] = {"initContainers", "containers"};
	for (size_t l = 0; l < 2; l++) {
		size_t i;
		json_t *c;
		json_array_foreach(json_object_get(spec, lists[l]), i, c) {
			snprintf(field, sizeof field, "%s.%s[%zu].name", base, lists[l], i);
			const char *name = str(c, "name");
			if (empty(name))
				problem_required(p, field);
			else if (object_check_label(name) != NULL)
				problem_invalid(p, field, json_object_get(c, "name"), object_check_label(name));
			snprintf(field, sizeof field, "%s.%s[%zu].image", base, lists[l], i);
			if (empty(str(c, "image")))
				problem_required(p, field);
			size_t k;
			json_t *port;
			json_array_foreach(json_object_get(c, "ports"), k, port) {
				json_int_t cp = json_integer_value(json_object_get(port, "containerPort"));
				if (cp < 1 || cp > 65535) {
					snprintf(field, sizeof field, "%s.%s[%zu].ports[%zu].containerPort",
						 base, lists[l], i, k);
					problem_invalid(p, field, json_object_get(port, "containerPort"),
						"must be between 1 and 65535, inclusive");
				}
			}
		}
	}
}

static void check_workload(struct problems *p, const json_t *obj, bool needs_selector)
{
	const json_t *spec = json_object_get(obj, "spec");
	const json_t *replicas = json_object_get(spec, "replicas");
	if (json_is_integer(replicas) && json_integer_value(replicas) < 0)
		problem_invalid(p, "spec.replicas", replicas, "must be greater than or equal to 0");
	const json_t *tmpl = json_object_get(spec, "template");
	const json_t *sel = json_object_get(spec, "selector");
	if (needs_selector && sel == NULL) {
		problem_required(p, "spec.selector");
	} else if (sel != NULL) {
		struct label_selector *ls;
		char err[256];
		if (label_selector_from_json(sel, &ls, err, sizeof err) != MK_OK) {
			problem_invalid(p, "spec.selector", sel, err);
		} else {
			const json_t *labels =
				json_object_get(json_object_get(tmpl, "metadata"), "labels");
			if (json_object_size(json_object_get(sel, "matchLabels")) +
				    json_array_size(json_object_get(sel, "matchExpressions")) == 0)
				problem_invalid(p, "spec.selector", sel, "empty selector is invalid for "
					"deployment");
			else if (!label_selector_matches(ls, labels))
				problem_invalid(p, "spec.template.metadata.labels", labels,
					"`selector` does not match template `labels`");
			label_selector_free(ls);
		}
	}
	if (tmpl == NULL)
		problem_required(p, "spec.template");
	else
		check_containers(p, json_object_get(tmpl, "spec"), "spec.template.spec");
}

static void check_data_keys(struct problems *p, const json_t *obj, const char *key)
{
	const char *k;
	json_t *v;
	json_object_foreach(json_object_get(obj, key), k, v) {
		bool ok = k[0] != '\0' && strlen(k) <= 253 && strcmp(k, ".") && strcmp(k, "..");
		for (const char *q = k; ok && *q; q++)
			ok = (*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') ||
			     (*q >= '0' && *q <= '9') || *q == '-' || *q == '_' || *q == '.';
		if (!ok) {
			char field[300];
			snprintf(field, sizeof field, "%s[%s]", key, k);
			json_t *jk = json_string(k);
			problem_invalid(p, field, jk, "a valid config key must consist of "
				"alphanumeric characters, '-', '_' or '.'");
			json_decref(jk);
		}
	}
}

static void check_crd(struct problems *p, const json_t *obj)
{
	const json_t *spec = json_object_get(obj, "spec");
	const json_t *names = json_object_get(spec, "names");
	const char *group = str(spec, "group"), *plural = str(names, "plural");
	if (empty(group))
		problem_required(p, "spec.group");
	if (empty(plural))
		problem_required(p, "spec.names.plural");
	if (empty(str(names, "kind")))
		problem_required(p, "spec.names.kind");
	const char *scope = str(spec, "scope");
	if (empty(scope) || (strcmp(scope, "Namespaced") && strcmp(scope, "Cluster")))
		problem_add(p, "FieldValueNotSupported", "spec.scope", "Unsupported value: \"%s\": "
		    "supported values: \"Cluster\", \"Namespaced\"", scope ? scope : "");
	if (json_array_size(json_object_get(spec, "versions")) == 0)
		problem_required(p, "spec.versions");
	if (!empty(group) && !empty(plural)) {
		char want[600];
		snprintf(want, sizeof want, "%s.%s", plural, group);
		const char *name = object_name(obj);
		if (name == NULL || strcmp(name, want) != 0)
			problem_invalid(p, "metadata.name", json_object_get(json_object_get(obj, "metadata"),
								   "name"),
				"must be spec.names.plural+\".\"+spec.group");
	}
}

int api_validate(struct api_call *c, json_t *obj, const json_t *old)
{
	struct problems p = {.causes = json_array()};
	const struct api_resource *r = c->res;
	const json_t *meta = json_object_get(obj, "metadata");
	(void)old;
	check_name(&p, r, meta);
	check_string_map(&p, meta, "labels");
	check_string_map(&p, meta, "annotations");
	if (!r->custom) {
		const char *k = r->kind;
		if (strcmp(k, "Pod") == 0)
			check_containers(&p, json_object_get(obj, "spec"), "spec");
		else if (strcmp(k, "Deployment") == 0 || strcmp(k, "ReplicaSet") == 0 ||
			 strcmp(k, "DaemonSet") == 0 || strcmp(k, "StatefulSet") == 0)
			check_workload(&p, obj, true);
		else if (strcmp(k, "Job") == 0)
			check_job(&p, obj, old, c->sub != NULL && strcmp(c->sub, "status") == 0);
		else if (strcmp(k, "CronJob") == 0)
			check_cronjob(&p, obj, old, c->sub != NULL && strcmp(c->sub, "status") == 0);
		else if (strcmp(k, "Service") == 0)
			check_service(&p, obj, old);
		else if (strcmp(k, "ConfigMap") == 0 || strcmp(k, "Secret") == 0) {
			check_data_keys(&p, obj, "data");
			check_data_keys(&p, obj, strcmp(k, "Secret") ? "binaryData" : "stringData");
		} else if (strcmp(k, "CustomResourceDefinition") == 0)
			check_crd(&p, obj);
	}
	if (p.n == 0) {
		json_decref(p.causes);
		return MK_OK;
	}
	const char *name = str(meta, "name");
	const char *group_suffix = r->group[0] ? "." : "";
	char kind[200];
	snprintf(kind, sizeof kind, "%s%s%s", r->kind, group_suffix,
		 r->group[0] ? r->group : "");
	/* "Deployment.apps" is how the real server names grouped kinds. */
	api_fail_details(c, 422, "Invalid", name ? name : "", p.causes,
			 "%s \"%s\" is invalid: %s%s%s", kind, name ? name : "",
			 p.n > 1 ? "[" : "", p.text, p.n > 1 ? "]" : "");
	return MK_EINVAL;
}
