/*
 * Strict checking of JSON against the generated types: what the API
 * server's strict decoder reports as unknown fields and type errors.
 */
#include "schema_internal.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#define MAX_DEPTH 64
#define MAX_PATH 512

struct chk {
	json_t *problems; /* may be NULL */
	size_t count;
	int depth;
	size_t len; /* of path */
	char path[MAX_PATH];
};

static const char *json_kind(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "object";
	case JSON_ARRAY:
		return "array";
	case JSON_STRING:
		return "string";
	case JSON_INTEGER:
		return "integer";
	case JSON_REAL:
		return "number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "boolean";
	default:
		return "null";
	}
}

/* Appends one problem; `expected` and `got` may be NULL. */
static void report(struct chk *c, const char *kind, const char *expected, const char *got)
{
	c->count++;
	if (!c->problems || json_array_size(c->problems) >= SCHEMA_MAX_PROBLEMS)
		return;
	json_t *p = json_pack("{s:s, s:s}", "field", c->path, "kind", kind);
	if (!p)
		return; /* out of memory: the count still tells the caller */
	if (expected)
		json_object_set_new(p, "expected", json_string(expected));
	if (got)
		json_object_set_new(p, "got", json_string(got));
	json_array_append_new(c->problems, p);
}

static void type_error(struct chk *c, const char *expected, const json_t *v)
{
	report(c, "type", expected, json_kind(v));
}

/* Path steps: each returns the length to restore afterwards.  A path that
 * does not fit is cut; the problem is still reported. */
static size_t push(struct chk *c, const char *fmt, const char *s, size_t i)
{
	size_t saved = c->len;
	int n;
	if (s)
		n = snprintf(c->path + c->len, MAX_PATH - c->len, c->len ? ".%s" : "%s", s);
	else
		n = snprintf(c->path + c->len, MAX_PATH - c->len, fmt, i);
	if (n > 0)
		c->len = c->len + (size_t)n < MAX_PATH ? c->len + (size_t)n : MAX_PATH - 1;
	return saved;
}

static void pop(struct chk *c, size_t saved)
{
	c->len = saved;
	c->path[saved] = '\0';
}

static void check_int(struct chk *c, const json_t *v, json_int_t lo, json_int_t hi, const char *range)
{
	if (!json_is_integer(v)) {
		/* encoding/json rejects 1.5 and 1.0 alike for an int. */
		type_error(c, "integer", v);
		return;
	}
	json_int_t i = json_integer_value(v);
	if (i < lo || i > hi)
		report(c, "range", range, NULL);
}

static void check_scalar(struct chk *c, uint8_t type, const json_t *v)
{
	switch (type) {
	case PB_STRING:
		if (!json_is_string(v))
			type_error(c, "string", v);
		break;
	case PB_BYTES:
		if (!json_is_string(v))
			type_error(c, "string", v);
		else if (!schema_valid_base64(json_string_value(v), json_string_length(v)))
			report(c, "format", "base64", NULL);
		break;
	case PB_BOOL:
		if (!json_is_boolean(v))
			type_error(c, "boolean", v);
		break;
	case PB_INT32:
	case PB_SINT32:
	case PB_SFIXED32:
	case PB_ENUM:
		check_int(c, v, INT32_MIN, INT32_MAX, "int32");
		break;
	case PB_UINT32:
	case PB_FIXED32:
		check_int(c, v, 0, UINT32_MAX, "uint32");
		break;
	case PB_UINT64:
	case PB_FIXED64:
		check_int(c, v, 0, LLONG_MAX, "uint64");
		break;
	case PB_FLOAT:
	case PB_DOUBLE:
		if (!json_is_number(v))
			type_error(c, "number", v);
		break;
	default: /* int64, sint64, sfixed64 */
		check_int(c, v, LLONG_MIN, LLONG_MAX, "int64");
		break;
	}
}

static void check_msg(struct chk *c, const struct schema_msg *t, const json_t *v);

/* One value of field `f` that is not a whole list or map: a singular
 * field, a list element or a map value. */
static void check_one(struct chk *c, const struct schema_field *f, const json_t *v)
{
	if (json_is_null(v))
		return; /* Go leaves the field (element) at its zero value */
	if (f->type == PB_MESSAGE)
		check_msg(c, schema_msg_of(f), v);
	else
		check_scalar(c, f->type, v);
}

static void check_field(struct chk *c, const struct schema_field *f, const json_t *v)
{
	if (json_is_null(v) || !(f->flags & SCHEMA_F_REPEATED)) {
		check_one(c, f, v);
		return;
	}
	const struct schema_msg *sub = f->type == PB_MESSAGE ? schema_msg_of(f) : NULL;
	if (sub && (sub->flags & SCHEMA_M_MAP_ENTRY)) {
		const struct schema_field *vf = schema_field_by_number(sub, 2);
		if (!json_is_object(v)) {
			type_error(c, "object", v);
			return;
		}
		const char *key;
		json_t *val;
		json_object_foreach((json_t *)v, key, val) {
			size_t saved = push(c, NULL, key, 0);
			if (vf)
				check_one(c, vf, val);
			pop(c, saved);
		}
		return;
	}
	if (!json_is_array(v)) {
		type_error(c, "array", v);
		return;
	}
	size_t i;
	json_t *el;
	json_array_foreach(v, i, el) {
		size_t saved = push(c, "[%zu]", NULL, i);
		check_one(c, f, el);
		pop(c, saved);
	}
}

static void check_special(struct chk *c, const struct schema_msg *t, const json_t *v)
{
	switch (t->special) {
	case SCHEMA_TIME:
	case SCHEMA_MICROTIME:
		if (!json_is_string(v))
			type_error(c, "string", v);
		else if (!schema_valid_time(json_string_value(v)))
			report(c, "format", "RFC 3339 time", NULL);
		break;
	case SCHEMA_DURATION:
		if (!json_is_string(v))
			type_error(c, "string", v);
		else if (!schema_valid_duration(json_string_value(v)))
			report(c, "format", "duration", NULL);
		break;
	case SCHEMA_INTORSTRING:
		if (json_is_integer(v))
			check_int(c, v, INT32_MIN, INT32_MAX, "int32");
		else if (!json_is_string(v))
			type_error(c, "integer or string", v);
		break;
	case SCHEMA_QUANTITY: {
		if (json_is_number(v))
			break; /* ParseQuantity reads the number's text */
		if (!json_is_string(v)) {
			type_error(c, "string or number", v);
			break;
		}
		/* Go trims the space around the quoted text. */
		char q[128];
		const char *s = json_string_value(v);
		size_t n = json_string_length(v);
		while (n && (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r'))
			s++, n--;
		while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' ||
			     s[n - 1] == '\r'))
			n--;
		if (n >= sizeof(q) || memchr(s, 0, n)) {
			report(c, "format", "quantity", NULL);
			break;
		}
		memcpy(q, s, n);
		q[n] = '\0';
		if (!schema_valid_quantity(q))
			report(c, "format", "quantity", NULL);
		break;
	}
	case SCHEMA_WRAPPER:
		check_field(c, &schema_fields[t->first], v);
		break;
	default: /* RawExtension, FieldsV1: any JSON */
		break;
	}
}

static void check_msg(struct chk *c, const struct schema_msg *t, const json_t *v)
{
	if (t->special != SCHEMA_PLAIN) {
		check_special(c, t, v);
		return;
	}
	if (!json_is_object(v)) {
		type_error(c, "object", v);
		return;
	}
	if (c->depth >= MAX_DEPTH) {
		report(c, "depth", NULL, NULL);
		return;
	}
	c->depth++;
	const char *key;
	json_t *val;
	json_object_foreach((json_t *)v, key, val) {
		size_t saved = push(c, NULL, key, 0);
		const struct schema_field *f = schema_field_by_name(t, key);
		if (f) {
			check_field(c, f, val);
		} else if ((t->flags & SCHEMA_M_TYPEMETA) &&
			   (!strcmp(key, "apiVersion") || !strcmp(key, "kind"))) {
			/* TypeMeta, inlined into every kind. */
			if (!json_is_string(val) && !json_is_null(val))
				type_error(c, "string", val);
		} else {
			report(c, "unknown", NULL, NULL);
		}
		pop(c, saved);
	}
	c->depth--;
}

size_t schema_check(const struct schema_msg *t, const json_t *obj, json_t *problems)
{
	struct chk c = {.problems = json_is_array(problems) ? problems : NULL};
	if (!t || !obj)
		return 0;
	check_msg(&c, t, obj);
	return c.count;
}
