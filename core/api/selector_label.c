/*
 * Label selectors: parsing, matching, and the text form of a
 * metav1.LabelSelector (contract in selector.h).
 */
#include "selector.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/err.h"

enum op { OP_EQ, OP_NEQ, OP_IN, OP_NOTIN, OP_EXISTS, OP_NOT_EXISTS, OP_GT, OP_LT };

struct requirement {
	char *key;
	enum op op;
	char **values;
	size_t n_values;
};

struct label_selector {
	struct requirement *reqs;
	size_t n;
};

/* --- label selectors -------------------------------------------------------- */

static bool key_char(int c)
{
	return isalnum(c) || c == '.' || c == '_' || c == '-' || c == '/';
}

static bool value_char(int c)
{
	return isalnum(c) || c == '.' || c == '_' || c == '-';
}

/* Validates a label key: [prefix/]name, name <= 63, alnum at both ends. */
static const char *check_key(const char *k)
{
	const char *slash = strchr(k, '/');
	const char *name = slash ? slash + 1 : k;
	if (slash && (slash == k || slash - k > 253 || strchr(name, '/')))
		return "prefix part must be a DNS-1123 subdomain";
	size_t n = strlen(name);
	if (n == 0 || n > 63)
		return "name part must be 1 to 63 characters";
	if (!isalnum((unsigned char)name[0]) || !isalnum((unsigned char)name[n - 1]))
		return "name part must start and end with an alphanumeric character";
	return NULL;
}

static const char *check_value(const char *v)
{
	size_t n = strlen(v);
	if (n > 63)
		return "values must be no more than 63 characters";
	if (n > 0 && (!isalnum((unsigned char)v[0]) || !isalnum((unsigned char)v[n - 1])))
		return "values must start and end with an alphanumeric character";
	return NULL;
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

static struct requirement *add_req(struct label_selector *s, const char *key, size_t key_len,
				   enum op op)
{
	struct requirement *g = realloc(s->reqs, (s->n + 1) * sizeof *g);
	if (g == NULL)
		return NULL;
	s->reqs = g;
	struct requirement *r = &g[s->n];
	memset(r, 0, sizeof *r);
	r->key = strndup(key, key_len);
	if (r->key == NULL)
		return NULL;
	r->op = op;
	s->n++;
	return r;
}

static int add_value(struct requirement *r, const char *v, size_t n)
{
	char **g = realloc(r->values, (r->n_values + 1) * sizeof *g);
	if (g == NULL)
		return MK_ENOMEM;
	r->values = g;
	if ((g[r->n_values] = strndup(v, n)) == NULL)
		return MK_ENOMEM;
	r->n_values++;
	return MK_OK;
}

static void skip_ws(const char **p)
{
	while (**p == ' ' || **p == '\t')
		(*p)++;
}

static int fail(char *err, size_t len, const char *fmt, const char *what)
{
	snprintf(err, len, fmt, what);
	return MK_EINVAL;
}

int label_selector_parse(const char *text, struct label_selector **out, char *err, size_t len)
{
	struct label_selector *s = calloc(1, sizeof *s);
	if (s == NULL)
		return MK_ENOMEM;
	const char *p = text;
	int rv = MK_OK;
	skip_ws(&p);
	while (*p && rv == MK_OK) {
		bool negated = false;
		if (*p == '!') {
			negated = true;
			p++;
			skip_ws(&p);
		}
		const char *k = p;
		while (key_char((unsigned char)*p))
			p++;
		size_t klen = (size_t)(p - k);
		if (klen == 0) {
			rv = fail(err, len, "found '%s', expected: identifier", *p ? p : "end of string");
			break;
		}
		char key[320];
		if (klen >= sizeof key) {
			rv = fail(err, len, "key too long: %s", "");
			break;
		}
		memcpy(key, k, klen);
		key[klen] = '\0';
		const char *why = check_key(key);
		if (why != NULL) {
			snprintf(err, len, "invalid label key \"%s\": %s", key, why);
			rv = MK_EINVAL;
			break;
		}
		skip_ws(&p);
		struct requirement *r;
		if (negated || *p == ',' || *p == '\0') {
			r = add_req(s, key, klen, negated ? OP_NOT_EXISTS : OP_EXISTS);
			if (r == NULL)
				rv = MK_ENOMEM;
		} else {
			enum op op;
			bool set = false;
			if (strncmp(p, "==", 2) == 0) {
				op = OP_EQ;
				p += 2;
			} else if (strncmp(p, "!=", 2) == 0) {
				op = OP_NEQ;
				p += 2;
			} else if (*p == '=') {
				op = OP_EQ;
				p++;
			} else if (*p == '>' || *p == '<') {
				op = *p == '>' ? OP_GT : OP_LT;
				p++;
			} else if (strncmp(p, "in", 2) == 0 && !key_char((unsigned char)p[2])) {
				op = OP_IN;
				set = true;
				p += 2;
			} else if (strncmp(p, "notin", 5) == 0 && !key_char((unsigned char)p[5])) {
				op = OP_NOTIN;
				set = true;
				p += 5;
			} else {
				rv = fail(err, len, "found '%s', expected: in, notin, =, ==, !=, gt, lt",
					  p);
				break;
			}
			if ((r = add_req(s, key, klen, op)) == NULL) {
				rv = MK_ENOMEM;
				break;
			}
			skip_ws(&p);
			if (set) {
				if (*p != '(') {
					rv = fail(err, len, "found '%s', expected: '('",
						  *p ? p : "end of string");
					break;
				}
				p++;
				for (;;) {
					skip_ws(&p);
					const char *v = p;
					while (value_char((unsigned char)*p))
						p++;
					if ((rv = add_value(r, v, (size_t)(p - v))) != MK_OK)
						break;
					skip_ws(&p);
					if (*p == ',') {
						p++;
						continue;
					}
					if (*p == ')') {
						p++;
						break;
					}
					rv = fail(err, len, "found '%s', expected: ',' or ')'",
						  *p ? p : "end of string");
					break;
				}
			} else {
				const char *v = p;
				while (value_char((unsigned char)*p))
					p++;
				rv = add_value(r, v, (size_t)(p - v));
				if (rv == MK_OK && (op == OP_GT || op == OP_LT)) {
					char *end;
					strtoll(r->values[0], &end, 10);
					if (r->values[0][0] == '\0' || *end != '\0')
						rv = fail(err, len, "for 'gt', 'lt' operators, the value "
							  "must be an integer: %s", r->values[0]);
				}
			}
			for (size_t i = 0; rv == MK_OK && i < r->n_values; i++) {
				const char *vw = check_value(r->values[i]);
				if (vw != NULL) {
					snprintf(err, len, "invalid label value \"%s\": %s",
						 r->values[i], vw);
					rv = MK_EINVAL;
				}
			}
		}
		if (rv != MK_OK)
			break;
		skip_ws(&p);
		if (*p == ',') {
			p++;
			skip_ws(&p);
			if (*p == '\0')
				rv = fail(err, len, "found '%s', expected: identifier", "end of string");
		} else if (*p != '\0') {
			rv = fail(err, len, "found '%s', expected: ',' or 'end of string'", p);
		}
	}
	if (rv != MK_OK) {
		if (rv == MK_ENOMEM)
			snprintf(err, len, "out of memory");
		label_selector_free(s);
		return rv;
	}
	*out = s;
	return MK_OK;
}

int label_selector_from_json(const json_t *sel, struct label_selector **out, char *err,
			     size_t len)
{
	if (sel != NULL && !json_is_object(sel))
		return fail(err, len, "a label selector must be an object%s", "");
	char *text = label_selector_string(sel);
	if (text == NULL)
		return fail(err, len, "invalid label selector%s", "");
	int rv = label_selector_parse(text, out, err, len);
	free(text);
	return rv;
}

static bool has_value(const struct requirement *r, const char *v)
{
	for (size_t i = 0; i < r->n_values; i++)
		if (strcmp(r->values[i], v) == 0)
			return true;
	return false;
}

bool label_selector_matches(const struct label_selector *s, const json_t *labels)
{
	if (s == NULL)
		return true;
	for (size_t i = 0; i < s->n; i++) {
		const struct requirement *r = &s->reqs[i];
		const json_t *jv = json_object_get(labels, r->key);
		const char *v = json_string_value(jv);
		switch (r->op) {
		case OP_EQ:
			if (v == NULL || strcmp(v, r->values[0]) != 0)
				return false;
			break;
		case OP_NEQ: /* absent labels match != */
			if (v != NULL && strcmp(v, r->values[0]) == 0)
				return false;
			break;
		case OP_IN:
			if (v == NULL || !has_value(r, v))
				return false;
			break;
		case OP_NOTIN:
			if (v != NULL && has_value(r, v))
				return false;
			break;
		case OP_EXISTS:
			if (jv == NULL)
				return false;
			break;
		case OP_NOT_EXISTS:
			if (jv != NULL)
				return false;
			break;
		case OP_GT:
		case OP_LT: {
			char *end;
			if (v == NULL)
				return false;
			long long have = strtoll(v, &end, 10);
			if (*end != '\0' || *v == '\0')
				return false;
			long long want = strtoll(r->values[0], NULL, 10);
			if (r->op == OP_GT ? have <= want : have >= want)
				return false;
			break;
		}
		}
	}
	return true;
}

/* Appends to a growing string; false on failure (then *buf is freed). */
static bool append(char **buf, size_t *used, size_t *cap, const char *s)
{
	size_t n = strlen(s);
	if (*used + n + 1 > *cap) {
		size_t ncap = (*used + n + 1) * 2;
		char *g = realloc(*buf, ncap);
		if (g == NULL) {
			free(*buf);
			*buf = NULL;
			return false;
		}
		*buf = g;
		*cap = ncap;
	}
	memcpy(*buf + *used, s, n + 1);
	*used += n;
	return true;
}

char *label_selector_string(const json_t *sel)
{
	char *buf = NULL;
	size_t used = 0, cap = 0;
	if (!append(&buf, &used, &cap, ""))
		return NULL;
	const char *k;
	json_t *v;
	bool first = true;
	json_object_foreach((json_t *)json_object_get(sel, "matchLabels"), k, v) {
		if (!json_is_string(v)) {
			free(buf);
			return NULL;
		}
		if ((!first && !append(&buf, &used, &cap, ",")) || !append(&buf, &used, &cap, k) ||
		    !append(&buf, &used, &cap, "=") ||
		    !append(&buf, &used, &cap, json_string_value(v)))
			return NULL;
		first = false;
	}
	size_t i;
	json_t *e;
	json_array_foreach(json_object_get(sel, "matchExpressions"), i, e) {
		const char *key = json_string_value(json_object_get(e, "key"));
		const char *op = json_string_value(json_object_get(e, "operator"));
		const json_t *vals = json_object_get(e, "values");
		if (key == NULL || op == NULL) {
			free(buf);
			return NULL;
		}
		if (!first && !append(&buf, &used, &cap, ","))
			return NULL;
		first = false;
		if (strcmp(op, "Exists") == 0) {
			if (!append(&buf, &used, &cap, key))
				return NULL;
			continue;
		}
		if (strcmp(op, "DoesNotExist") == 0) {
			if (!append(&buf, &used, &cap, "!") || !append(&buf, &used, &cap, key))
				return NULL;
			continue;
		}
		const char *word = strcmp(op, "In") == 0 ? " in (" : strcmp(op, "NotIn") == 0 ? " notin (" : NULL;
		if (word == NULL || json_array_size(vals) == 0) {
			free(buf);
			return NULL;
		}
		if (!append(&buf, &used, &cap, key) || !append(&buf, &used, &cap, word))
			return NULL;
		size_t vi;
		json_t *val;
		json_array_foreach(vals, vi, val) {
			if (!json_is_string(val)) {
				free(buf);
				return NULL;
			}
			if ((vi && !append(&buf, &used, &cap, ",")) ||
			    !append(&buf, &used, &cap, json_string_value(val)))
				return NULL;
		}
		if (!append(&buf, &used, &cap, ")"))
			return NULL;
	}
	return buf;
}

