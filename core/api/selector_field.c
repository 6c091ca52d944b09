/*
 * Field selectors (contract in selector.h): upstream's term splitting,
 * escapes and messages (k8s.io/apimachinery/pkg/fields), and the fields
 * each resource offers, with the values the real API server derives from
 * an object for them (the *ToSelectableFields functions of
 * kubernetes/pkg/registry).
 */
#include "selector.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/err.h"
#include "object.h"
#include "selector_internal.h"

/* How a field's value is read from the object. */
enum field_kind {
	F_STRING, /* string at `path`; missing: "" */
	F_BOOL,	  /* bool at `path`; missing: "false" (Go's zero value) */
	F_COUNT,  /* integer at `path`; missing: "0" */
	F_POD_IP, /* status.podIPs[0].ip, else status.podIP */
	F_SOURCE, /* source.component, else reportingComponent */
};

struct field_def {
	const char *label; /* as the client writes it */
	const char *path;  /* where the value lives in the JSON object */
	enum field_kind kind;
};

struct field_term {
	const struct field_def *def;
	char *value;
	bool negated;
};

struct field_selector {
	struct field_term *terms;
	size_t n;
};

static const struct field_def meta_fields[] = {
	{"metadata.name", "metadata.name", F_STRING},
	{"metadata.namespace", "metadata.namespace", F_STRING},
	{NULL, NULL, F_STRING},
};

static const struct field_def pod_fields[] = {
	{"spec.nodeName", "spec.nodeName", F_STRING},
	{"spec.restartPolicy", "spec.restartPolicy", F_STRING},
	{"spec.schedulerName", "spec.schedulerName", F_STRING},
	{"spec.serviceAccountName", "spec.serviceAccountName", F_STRING},
	{"spec.hostNetwork", "spec.hostNetwork", F_BOOL},
	{"status.phase", "status.phase", F_STRING},
	{"status.podIP", "status.podIP", F_POD_IP},
	{"status.nominatedNodeName", "status.nominatedNodeName", F_STRING},
	{NULL, NULL, F_STRING},
};

static const struct field_def event_fields[] = {
	{"involvedObject.kind", "involvedObject.kind", F_STRING},
	{"involvedObject.namespace", "involvedObject.namespace", F_STRING},
	{"involvedObject.name", "involvedObject.name", F_STRING},
	{"involvedObject.uid", "involvedObject.uid", F_STRING},
	{"involvedObject.apiVersion", "involvedObject.apiVersion", F_STRING},
	{"involvedObject.resourceVersion", "involvedObject.resourceVersion", F_STRING},
	{"involvedObject.fieldPath", "involvedObject.fieldPath", F_STRING},
	{"reason", "reason", F_STRING},
	/* The JSON name of the Go field ReportingController. */
	{"reportingComponent", "reportingComponent", F_STRING},
	{"source", "source.component", F_SOURCE},
	{"type", "type", F_STRING},
	{NULL, NULL, F_STRING},
};

static const struct field_def secret_fields[] = {
	{"type", "type", F_STRING},
	{NULL, NULL, F_STRING},
};

static const struct field_def namespace_fields[] = {
	{"status.phase", "status.phase", F_STRING},
	{NULL, NULL, F_STRING},
};

static const struct field_def node_fields[] = {
	{"spec.unschedulable", "spec.unschedulable", F_BOOL},
	{NULL, NULL, F_STRING},
};

static const struct field_def replica_fields[] = {
	{"status.replicas", "status.replicas", F_COUNT},
	{NULL, NULL, F_STRING},
};

static const struct field_def job_fields[] = {
	/* The label says "successful", the field is status.succeeded. */
	{"status.successful", "status.succeeded", F_COUNT},
	{NULL, NULL, F_STRING},
};

static const struct {
	const char *resource;
	const struct field_def *fields;
} resource_fields[] = {
	{"pods", pod_fields},
	{"events", event_fields},
	{"secrets", secret_fields},
	{"namespaces", namespace_fields},
	{"nodes", node_fields},
	{"replicasets", replica_fields},
	{"replicationcontrollers", replica_fields},
	{"jobs", job_fields},
};

static const struct field_def *find_def(const char *resource, const char *label, size_t n)
{
	for (const struct field_def *d = meta_fields; d->label; d++)
		if (strlen(d->label) == n && memcmp(d->label, label, n) == 0)
			return d;
	for (size_t i = 0; resource && i < sizeof resource_fields / sizeof resource_fields[0];
	     i++) {
		if (strcmp(resource_fields[i].resource, resource) != 0)
			continue;
		for (const struct field_def *d = resource_fields[i].fields; d->label; d++)
			if (strlen(d->label) == n && memcmp(d->label, label, n) == 0)
				return d;
	}
	return NULL;
}

void field_selector_free(struct field_selector *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->n; i++)
		free(s->terms[i].value);
	free(s->terms);
	free(s);
}

/* fields.UnescapeValue: "\\" "\," "\=" stand for the character; any
 * other escape, and a bare ',' or '=', is an error. */
static int unescape(const char *s, size_t n, char **out, char *err, size_t len)
{
	char *v = malloc(n + 1), *o = v;
	if (v == NULL)
		return MK_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == ',' || s[i] == '=') {
			/* Go prints the rune with %v: its number. */
			snprintf(err, len, "invalid field selector: unescapedRune character in "
				 "value: %d", s[i]);
			free(v);
			return MK_EINVAL;
		}
		if (s[i] == '\\') {
			char next = i + 1 < n ? s[i + 1] : '\0';
			if (next != '\\' && next != ',' && next != '=') {
				snprintf(err, len, "invalid field selector: invalid escape "
					 "sequence: \\%.*s", i + 1 < n, s + i + 1);
				free(v);
				return MK_EINVAL;
			}
			i++;
		}
		*o++ = s[i];
	}
	*o = '\0';
	*out = v;
	return MK_OK;
}

static int cmp_term(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The terms of `text`: split at commas not escaped with '\', sorted as
 * upstream sorts them (that order decides which error is reported). */
static int split_terms(const char *text, char ***out, size_t *n_out)
{
	size_t n = 1;
	for (const char *p = text; *p; p++) {
		if (*p == '\\' && p[1])
			p++;
		else if (*p == ',')
			n++;
	}
	char **terms = calloc(n, sizeof *terms);
	if (terms == NULL)
		return MK_ENOMEM;
	const char *start = text;
	size_t k = 0;
	for (const char *p = text;; p++) {
		if (*p == '\\' && p[1]) {
			p++;
			continue;
		}
		if (*p != ',' && *p != '\0')
			continue;
		if ((terms[k++] = strndup(start, (size_t)(p - start))) == NULL) {
			for (size_t i = 0; i < k; i++)
				free(terms[i]);
			free(terms);
			return MK_ENOMEM;
		}
		if (*p == '\0')
			break;
		start = p + 1;
	}
	qsort(terms, n, sizeof *terms, cmp_term);
	*out = terms;
	*n_out = n;
	return MK_OK;
}

static void free_terms(char **terms, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(terms[i]);
	free(terms);
}

/* One "field<op>value" term into `t`; the first "!=", "==" or "=" splits
 * it (no escapes on the left). */
static int parse_term(const char *text, const char *term, const char *resource,
		      struct field_term *t, char *err, size_t len)
{
	const char *op = term;
	while (*op && *op != '=' && !(op[0] == '!' && op[1] == '='))
		op++;
	if (*op == '\0') {
		snprintf(err, len, "invalid selector: '%s'; can't understand '%s'", text, term);
		return MK_EINVAL;
	}
	size_t op_len = op[0] == '!' || op[1] == '=' ? 2 : 1;
	t->negated = op[0] == '!';
	const char *rhs = op + op_len;
	int rv = unescape(rhs, strlen(rhs), &t->value, err, len);
	if (rv != MK_OK)
		return rv;
	if ((t->def = find_def(resource, term, (size_t)(op - term))) == NULL) {
		snprintf(err, len, "field label not supported: %.*s", (int)(op - term), term);
		free(t->value);
		t->value = NULL;
		return MK_EINVAL;
	}
	return MK_OK;
}

int field_selector_parse(const char *text, const char *resource, struct field_selector **out,
			 char *err, size_t len)
{
	char scratch[1];
	if (len == 0) {
		err = scratch;
		len = sizeof scratch;
	}
	if (text == NULL)
		text = "";
	char **terms = NULL;
	size_t n = 0;
	struct field_selector *s = calloc(1, sizeof *s);
	int rv = s ? split_terms(text, &terms, &n) : MK_ENOMEM;
	if (rv == MK_OK && (s->terms = calloc(n, sizeof *s->terms)) == NULL)
		rv = MK_ENOMEM;
	for (size_t i = 0; rv == MK_OK && i < n; i++) {
		if (terms[i][0] == '\0') /* "a=b,,c=d" and "" are fine */
			continue;
		rv = parse_term(text, terms[i], resource, &s->terms[s->n], err, len);
		if (rv == MK_OK)
			s->n++;
	}
	free_terms(terms, n);
	if (rv != MK_OK) {
		if (rv == MK_ENOMEM)
			snprintf(err, len, "out of memory");
		selector_clean_message(err);
		field_selector_free(s);
		return rv;
	}
	*out = s;
	return MK_OK;
}

/* The object's value for a term's field, as the server's field set has
 * it: a string, or a bool or count in `buf`. */
static const char *field_value(const json_t *obj, const struct field_def *d, char *buf,
			       size_t len)
{
	const json_t *v = object_at(obj, d->path);
	switch (d->kind) {
	case F_STRING:
		break;
	case F_BOOL:
		if (json_is_boolean(v))
			return json_is_true(v) ? "true" : "false";
		return json_is_string(v) ? json_string_value(v) : "false";
	case F_COUNT:
		if (json_is_number(v)) {
			snprintf(buf, len, "%lld", (long long)json_number_value(v));
			return buf;
		}
		return json_is_string(v) ? json_string_value(v) : "0";
	case F_POD_IP: {
		const json_t *ips = object_at(obj, "status.podIPs");
		const char *ip = object_str(json_array_get(ips, 0), "ip");
		if (ip != NULL && *ip)
			return ip;
		break;
	}
	case F_SOURCE:
		if (json_string_value(v) != NULL && *json_string_value(v))
			return json_string_value(v);
		v = json_object_get(obj, "reportingComponent");
		break;
	}
	return json_is_string(v) ? json_string_value(v) : "";
}

bool field_selector_matches(const struct field_selector *s, const json_t *obj)
{
	if (s == NULL)
		return true;
	for (size_t i = 0; i < s->n; i++) {
		char buf[32];
		const char *have = field_value(obj, s->terms[i].def, buf, sizeof buf);
		if ((strcmp(have, s->terms[i].value) == 0) == s->terms[i].negated)
			return false;
	}
	return true;
}

const char *field_selector_pinned(const struct field_selector *s, const char *field)
{
	for (size_t i = 0; s != NULL && field != NULL && i < s->n; i++)
		if (!s->terms[i].negated && strcmp(s->terms[i].def->label, field) == 0)
			return s->terms[i].value;
	return NULL;
}
