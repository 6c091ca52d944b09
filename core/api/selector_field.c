/*
 * Field selectors: the fields the real API server supports per resource,
 * parsing with upstream's escapes, matching (contract in selector.h).
 */
#include "selector.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/err.h"
#include "object.h"

/* --- field selectors -------------------------------------------------------- */

struct field_term {
	char *field;
	char *value;
	bool negated;
};

struct field_selector {
	struct field_term *terms;
	size_t n;
};

/* Fields the real API server accepts per resource (besides metadata.name
 * and metadata.namespace, which every resource has). */
static const char *const *supported(const char *resource)
{
	static const char *const pods[] = {"spec.nodeName", "spec.restartPolicy",
					   "spec.schedulerName", "spec.serviceAccountName",
					   "spec.hostNetwork", "status.phase", "status.podIP",
					   "status.nominatedNodeName", NULL};
	static const char *const events[] = {
		"involvedObject.kind", "involvedObject.namespace", "involvedObject.name",
		"involvedObject.uid", "involvedObject.apiVersion", "involvedObject.resourceVersion",
		"involvedObject.fieldPath", "reason", "reportingComponent", "source", "type", NULL};
	static const char *const secrets[] = {"type", NULL};
	static const char *const namespaces[] = {"status.phase", NULL};
	static const char *const nodes[] = {"spec.unschedulable", NULL};
	static const char *const replicas[] = {"status.replicas", NULL};
	static const char *const jobs[] = {"status.successful", NULL};
	static const char *const none[] = {NULL};
	if (strcmp(resource, "pods") == 0)
		return pods;
	if (strcmp(resource, "events") == 0)
		return events;
	if (strcmp(resource, "secrets") == 0)
		return secrets;
	if (strcmp(resource, "namespaces") == 0)
		return namespaces;
	if (strcmp(resource, "nodes") == 0)
		return nodes;
	if (strcmp(resource, "replicasets") == 0 || strcmp(resource, "replicationcontrollers") == 0)
		return replicas;
	if (strcmp(resource, "jobs") == 0)
		return jobs;
	return none;
}

static bool field_supported(const char *resource, const char *field)
{
	if (strcmp(field, "metadata.name") == 0 || strcmp(field, "metadata.namespace") == 0)
		return true;
	for (const char *const *f = supported(resource); *f; f++)
		if (strcmp(*f, field) == 0)
			return true;
	return false;
}

void field_selector_free(struct field_selector *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->n; i++) {
		free(s->terms[i].field);
		free(s->terms[i].value);
	}
	free(s->terms);
	free(s);
}

/* Unescapes the upstream escapes \, \= \\ ; NULL on a bad escape. */
static char *unescape(const char *s, size_t n)
{
	char *out = malloc(n + 1), *o = out;
	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\\') {
			if (i + 1 >= n || (s[i + 1] != ',' && s[i + 1] != '=' && s[i + 1] != '\\')) {
				free(out);
				return NULL;
			}
			i++;
		}
		*o++ = s[i];
	}
	*o = '\0';
	return out;
}

static char *trimmed(const char *s, size_t n)
{
	while (n > 0 && isspace((unsigned char)*s)) {
		s++;
		n--;
	}
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		n--;
	return strndup(s, n);
}

int field_selector_parse(const char *text, const char *resource, struct field_selector **out,
			 char *err, size_t len)
{
	struct field_selector *s = calloc(1, sizeof *s);
	if (s == NULL)
		return MK_ENOMEM;
	const char *p = text;
	int rv = MK_OK;
	while (*p && rv == MK_OK) {
		/* One term runs to the next unescaped comma. */
		const char *end = p;
		while (*end && *end != ',') {
			if (*end == '\\' && end[1])
				end++;
			end++;
		}
		size_t n = (size_t)(end - p);
		const char *op = NULL;
		size_t op_len = 0;
		for (size_t i = 0; i < n; i++) {
			if (p[i] == '\\') {
				i++;
				continue;
			}
			if (p[i] == '!' && i + 1 < n && p[i + 1] == '=') {
				op = p + i;
				op_len = 2;
				break;
			}
			if (p[i] == '=') {
				op = p + i;
				op_len = i + 1 < n && p[i + 1] == '=' ? 2 : 1;
				break;
			}
		}
		if (op == NULL) {
			snprintf(err, len, "invalid selector: '%.*s'; can't understand '%.*s'", (int)strlen(text),
				 text, (int)n, p);
			rv = MK_EINVAL;
			break;
		}
		struct field_term *g = realloc(s->terms, (s->n + 1) * sizeof *g);
		if (g == NULL) {
			rv = MK_ENOMEM;
			break;
		}
		s->terms = g;
		struct field_term *t = &g[s->n];
		t->field = trimmed(p, (size_t)(op - p));
		t->value = unescape(op + op_len, n - (size_t)(op - p) - op_len);
		t->negated = op[0] == '!';
		s->n++;
		if (t->field == NULL || t->value == NULL) {
			snprintf(err, len, "invalid selector: '%s': bad escape", text);
			rv = MK_EINVAL;
			break;
		}
		if (!field_supported(resource, t->field)) {
			snprintf(err, len, "field label not supported: %s", t->field);
			rv = MK_EINVAL;
			break;
		}
		p = *end ? end + 1 : end;
	}
	if (rv != MK_OK) {
		if (rv == MK_ENOMEM)
			snprintf(err, len, "out of memory");
		field_selector_free(s);
		return rv;
	}
	*out = s;
	return MK_OK;
}

/* The object's value for a field as text; "" when absent. */
static void field_value(const json_t *obj, const char *field, char *out, size_t len)
{
	const json_t *cur = obj;
	const char *p = field;
	if (strcmp(field, "source") == 0) {
		const char *c = json_string_value(
			json_object_get(json_object_get(obj, "source"), "component"));
		if (c == NULL || !*c)
			c = json_string_value(json_object_get(obj, "reportingComponent"));
		snprintf(out, len, "%s", c ? c : "");
		return;
	}
	cur = object_at(obj, p);
	if (json_is_string(cur))
		snprintf(out, len, "%s", json_string_value(cur));
	else if (json_is_true(cur))
		snprintf(out, len, "true");
	else if (json_is_false(cur))
		snprintf(out, len, "false");
	else if (json_is_integer(cur))
		snprintf(out, len, "%lld", (long long)json_integer_value(cur));
	else if (cur == NULL && (strcmp(field, "spec.unschedulable") == 0 ||
				 strcmp(field, "spec.hostNetwork") == 0))
		snprintf(out, len, "false"); /* Go's zero value */
	else
		out[0] = '\0';
}

bool field_selector_matches(const struct field_selector *s, const json_t *obj)
{
	if (s == NULL)
		return true;
	char value[1024];
	for (size_t i = 0; i < s->n; i++) {
		field_value(obj, s->terms[i].field, value, sizeof value);
		bool eq = strcmp(value, s->terms[i].value) == 0;
		if (eq == s->terms[i].negated)
			return false;
	}
	return true;
}

const char *field_selector_pinned(const struct field_selector *s, const char *field)
{
	if (s == NULL)
		return NULL;
	for (size_t i = 0; i < s->n; i++)
		if (!s->terms[i].negated && strcmp(s->terms[i].field, field) == 0)
			return s->terms[i].value;
	return NULL;
}
