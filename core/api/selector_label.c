/*
 * Label selectors (contract in selector.h): requirements checked as
 * upstream's NewRequirement checks them, built from a metav1.LabelSelector
 * (the text form is parsed in selector_label_parse.c), matching, and the
 * canonical text form.
 */
#include "selector.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/buf.h"
#include "../base/err.h"
#include "selector_internal.h"

struct requirement {
	char *key;
	enum label_op op;
	char **values; /* sorted, no duplicates for set operators */
	size_t n_values;
	size_t order; /* input position: keeps the sort by key stable */
};

struct label_selector {
	struct requirement *reqs; /* sorted by key, as upstream keeps them */
	size_t n;
	bool nothing; /* from a nil metav1.LabelSelector: matches no object */
};

/* --- building ------------------------------------------------------------- */

struct label_selector *label_selector_new(void)
{
	return calloc(1, sizeof(struct label_selector));
}

void label_selector_free(struct label_selector *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->n; i++) {
		free(s->reqs[i].key);
		for (size_t k = 0; k < s->reqs[i].n_values; k++)
			free(s->reqs[i].values[k]);
		free(s->reqs[i].values);
	}
	free(s->reqs);
	free(s);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_req(const void *a, const void *b)
{
	const struct requirement *x = a, *y = b;
	int c = strcmp(x->key, y->key);
	if (c != 0)
		return c;
	return x->order < y->order ? -1 : x->order > y->order;
}

void label_values_free(struct label_values *vs)
{
	for (size_t i = 0; i < vs->n; i++)
		free(vs->v[i]);
	free(vs->v);
	vs->v = NULL;
	vs->n = 0;
}

int label_values_add(struct label_values *vs, const char *s, size_t n)
{
	char **g = realloc(vs->v, (vs->n + 1) * sizeof *g);
	if (g == NULL)
		return MK_ENOMEM;
	vs->v = g;
	if ((g[vs->n] = strndup(s, n)) == NULL)
		return MK_ENOMEM;
	vs->n++;
	return MK_OK;
}

/* Sorts and drops duplicates: set operators take a set of values. */
void label_values_set(struct label_values *vs)
{
	if (vs->n < 2)
		return;
	qsort(vs->v, vs->n, sizeof *vs->v, cmp_str);
	size_t out = 1;
	for (size_t i = 1; i < vs->n; i++) {
		if (strcmp(vs->v[i], vs->v[out - 1]) == 0)
			free(vs->v[i]);
		else
			vs->v[out++] = vs->v[i];
	}
	vs->n = out;
}

/*
 * Checks a requirement as upstream's NewRequirement does and, when valid,
 * appends it to `s`, taking the values.  `key_path` names the key in the
 * message ("key" for a metav1.LabelSelector).  Several problems are
 * reported together, bracketed, like a Go error aggregate.
 */
int label_selector_add(struct label_selector *s, const char *key, enum label_op op,
		       struct label_values *vs, const char *key_path, char *err, size_t len)
{
	struct mk_buf why = MK_BUF_INIT;
	int problems = 0;
	char msg[1024];
	if (selector_check_key(key, msg, sizeof msg) != MK_OK)
		selector_note(&why, &problems, "%s: Invalid value: \"%s\": %s", key_path, key, msg);
	if ((op == LABEL_IN || op == LABEL_NOTIN) && vs->n == 0)
		selector_note(&why, &problems, "values: Invalid value: []: for 'in', 'notin' "
					  "operators, values set can't be empty");
	if ((op == LABEL_EXISTS || op == LABEL_NOT_EXISTS) && vs->n != 0)
		selector_note(&why, &problems, "values: Invalid value: [%s]: values set must be "
					  "empty for exists and does not exist", vs->v[0]);
	if ((op == LABEL_GT || op == LABEL_LT) && vs->n != 1)
		selector_note(&why, &problems, "values: Invalid value: []: for 'Gt', 'Lt' "
					  "operators, exactly one value is required");
	for (size_t i = 0; (op == LABEL_GT || op == LABEL_LT) && i < vs->n; i++) {
		long long v;
		if (!selector_parse_int(vs->v[i], &v))
			selector_note(&why, &problems, "values[%zu]: Invalid value: \"%s\": for "
						  "'Gt', 'Lt' operators, the value must be an "
						  "integer", i, vs->v[i]);
	}
	for (size_t i = 0; i < vs->n; i++)
		if (selector_check_value(vs->v[i], msg, sizeof msg) != MK_OK)
			selector_note(&why, &problems, "values[%zu][%s]: Invalid value: \"%s\": %s",
						  i, key, vs->v[i], msg);
	if (problems > 0) {
		if (why.len == 0) /* a note failed for lack of memory */
			snprintf(err, len, "out of memory");
		else
			snprintf(err, len, problems > 1 ? "[%.*s]" : "%.*s", (int)why.len,
				 (const char *)why.data);
		mk_buf_free(&why);
		return MK_EINVAL;
	}
	struct requirement *g = realloc(s->reqs, (s->n + 1) * sizeof *g);
	if (g == NULL)
		return MK_ENOMEM;
	s->reqs = g;
	char *k = strdup(key);
	if (k == NULL)
		return MK_ENOMEM;
	g[s->n] = (struct requirement){k, op, vs->v, vs->n, s->n};
	s->n++;
	vs->v = NULL;
	vs->n = 0;
	return MK_OK;
}

void label_selector_finish(struct label_selector *s)
{
	if (s->n > 1)
		qsort(s->reqs, s->n, sizeof *s->reqs, cmp_req);
}

/* --- from a metav1.LabelSelector ------------------------------------------- */

static int from_expression(struct label_selector *s, const json_t *e, char *err, size_t len)
{
	static const struct {
		const char *name;
		enum label_op op;
	} ops[] = {{"In", LABEL_IN}, {"NotIn", LABEL_NOTIN}, {"Exists", LABEL_EXISTS},
		   {"DoesNotExist", LABEL_NOT_EXISTS}};
	const char *key = json_string_value(json_object_get(e, "key"));
	const json_t *op_j = json_object_get(e, "operator");
	const json_t *vals = json_object_get(e, "values");
	if (!json_is_object(e) || key == NULL || !json_is_string(op_j)) {
		snprintf(err, len, "matchExpressions: each entry needs a string key and operator");
		return MK_EINVAL;
	}
	size_t k;
	for (k = 0; k < sizeof ops / sizeof ops[0]; k++)
		if (strcmp(json_string_value(op_j), ops[k].name) == 0)
			break;
	if (k == sizeof ops / sizeof ops[0]) {
		snprintf(err, len, "\"%s\" is not a valid label selector operator",
			 json_string_value(op_j));
		return MK_EINVAL;
	}
	if (vals != NULL && !json_is_null(vals) && !json_is_array(vals)) {
		snprintf(err, len, "matchExpressions: values must be a list of strings");
		return MK_EINVAL;
	}
	struct label_values vs = {NULL, 0};
	size_t i;
	json_t *v;
	int rv = MK_OK;
	json_array_foreach(vals, i, v) {
		if (!json_is_string(v)) {
			snprintf(err, len, "matchExpressions: values must be a list of strings");
			rv = MK_EINVAL;
		} else {
			rv = label_values_add(&vs, json_string_value(v), json_string_length(v));
		}
		if (rv != MK_OK)
			break;
	}
	if (rv == MK_OK) {
		label_values_set(&vs);
		rv = label_selector_add(s, key, ops[k].op, &vs, "key", err, len);
	}
	label_values_free(&vs);
	return rv;
}

int label_selector_from_json(const json_t *sel, struct label_selector **out, char *err,
			     size_t len)
{
	char scratch[1];
	if (len == 0) {
		err = scratch;
		len = sizeof scratch;
	}
	if (sel != NULL && !json_is_null(sel) && !json_is_object(sel)) {
		snprintf(err, len, "a label selector must be an object");
		return MK_EINVAL;
	}
	const json_t *ml = json_object_get(sel, "matchLabels");
	const json_t *me = json_object_get(sel, "matchExpressions");
	if ((ml != NULL && !json_is_null(ml) && !json_is_object(ml)) ||
	    (me != NULL && !json_is_null(me) && !json_is_array(me))) {
		snprintf(err, len, "matchLabels must be an object and matchExpressions a list");
		return MK_EINVAL;
	}
	struct label_selector *s = label_selector_new();
	if (s == NULL)
		return MK_ENOMEM;
	/* A nil selector selects nothing (LabelSelectorAsSelector). */
	s->nothing = sel == NULL || json_is_null(sel);
	int rv = MK_OK;
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)ml, k, v) {
		struct label_values vs = {NULL, 0};
		if (!json_is_string(v)) {
			snprintf(err, len, "matchLabels: the value of \"%s\" must be a string", k);
			rv = MK_EINVAL;
		} else {
			rv = label_values_add(&vs, json_string_value(v), json_string_length(v));
			if (rv == MK_OK)
				rv = label_selector_add(s, k, LABEL_EQ, &vs, "key", err, len);
		}
		label_values_free(&vs);
		if (rv != MK_OK)
			goto fail;
	}
	size_t i;
	json_array_foreach(me, i, v)
		if ((rv = from_expression(s, v, err, len)) != MK_OK)
			goto fail;
	label_selector_finish(s);
	*out = s;
	return MK_OK;
fail:
	if (rv == MK_ENOMEM)
		snprintf(err, len, "out of memory");
	selector_clean_message(err);
	label_selector_free(s);
	return rv;
}

/* --- matching and text ------------------------------------------------------ */

static bool has_value(const struct requirement *r, const char *v)
{
	for (size_t i = 0; i < r->n_values; i++)
		if (strcmp(r->values[i], v) == 0)
			return true;
	return false;
}

static bool req_matches(const struct requirement *r, const json_t *labels)
{
	/* Labels are strings; anything else counts as no label. */
	const char *v = json_string_value(json_object_get(labels, r->key));
	long long have, want;
	switch (r->op) {
	case LABEL_EQ:
	case LABEL_DEQ:
	case LABEL_IN:
		return v != NULL && has_value(r, v);
	case LABEL_NEQ:
	case LABEL_NOTIN:
		return v == NULL || !has_value(r, v);
	case LABEL_EXISTS:
		return v != NULL;
	case LABEL_NOT_EXISTS:
		return v == NULL;
	case LABEL_GT:
	case LABEL_LT:
		/* A label that is not an integer never compares. */
		if (v == NULL || !selector_parse_int(v, &have) ||
		    !selector_parse_int(r->values[0], &want))
			return false;
		return r->op == LABEL_GT ? have > want : have < want;
	}
	return false;
}

bool label_selector_matches(const struct label_selector *s, const json_t *labels)
{
	if (s == NULL)
		return true;
	if (s->nothing)
		return false;
	for (size_t i = 0; i < s->n; i++)
		if (!req_matches(&s->reqs[i], labels))
			return false;
	return true;
}

/* Requirement.String() of upstream, requirements joined by ','. */
static char *to_text(const struct label_selector *s)
{
	static const char *const sep[] = {[LABEL_EQ] = "=",	  [LABEL_DEQ] = "==",
					  [LABEL_NEQ] = "!=",	  [LABEL_IN] = " in (",
					  [LABEL_NOTIN] = " notin (", [LABEL_EXISTS] = "",
					  [LABEL_NOT_EXISTS] = "",	  [LABEL_GT] = ">",
					  [LABEL_LT] = "<"};
	struct mk_buf b = MK_BUF_INIT;
	int rv = MK_OK;
	for (size_t i = 0; !s->nothing && i < s->n && rv == MK_OK; i++) {
		const struct requirement *r = &s->reqs[i];
		if (i > 0)
			rv |= mk_buf_append(&b, ",", 1);
		if (r->op == LABEL_NOT_EXISTS)
			rv |= mk_buf_append(&b, "!", 1);
		rv |= mk_buf_append(&b, r->key, strlen(r->key));
		rv |= mk_buf_append(&b, sep[r->op], strlen(sep[r->op]));
		for (size_t k = 0; k < r->n_values; k++) {
			if (k > 0)
				rv |= mk_buf_append(&b, ",", 1);
			rv |= mk_buf_append(&b, r->values[k], strlen(r->values[k]));
		}
		if (r->op == LABEL_IN || r->op == LABEL_NOTIN)
			rv |= mk_buf_append(&b, ")", 1);
	}
	rv |= mk_buf_append(&b, "", 1);
	if (rv != MK_OK) {
		mk_buf_free(&b);
		return NULL;
	}
	return (char *)b.data;
}

char *label_selector_string(const json_t *sel)
{
	struct label_selector *s;
	char err[8];
	if (label_selector_from_json(sel, &s, err, sizeof err) != MK_OK)
		return NULL;
	char *text = to_text(s);
	label_selector_free(s);
	return text;
}
