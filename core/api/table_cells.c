/*
 * Reading odd objects safely and appending cells the way the upstream
 * printers format them (contract in table_internal.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/buf.h"
#include "../base/err.h"
#include "object.h"
#include "selector.h"
#include "table.h"
#include "table_internal.h"

/* --- reading ------------------------------------------------------------------ */

const json_t *tc_at(const json_t *obj, const char *path)
{
	return object_at(obj, path);
}

const char *tc_str(const json_t *obj, const char *path)
{
	return json_string_value(object_at(obj, path));
}

long long tc_int(const json_t *obj, const char *path)
{
	const json_t *v = object_at(obj, path);
	if (json_is_integer(v))
		return json_integer_value(v);
	if (json_is_real(v)) {
		double d = json_real_value(v);
		/* Out-of-range doubles would make the cast undefined. */
		return d > -9.2e18 && d < 9.2e18 ? (long long)d : 0;
	}
	if (json_is_string(v))
		return strtoll(json_string_value(v), NULL, 10);
	return 0;
}

bool tc_true(const json_t *obj, const char *path)
{
	return json_is_true(object_at(obj, path));
}

bool tc_condition(const json_t *obj, const char *path, const char *type)
{
	size_t i;
	json_t *c;
	json_array_foreach(object_at(obj, path), i, c) {
		const char *t = tc_str(c, "type");
		if (t != NULL && strcmp(t, type) == 0)
			return strcmp(tc_str(c, "status") ?: "", "True") == 0;
	}
	return false;
}

/* --- cells -------------------------------------------------------------------- */

void tc_text(json_t *cells, const char *s)
{
	json_array_append_new(cells, json_string(s ? s : ""));
}

void tc_text_or(json_t *cells, const char *s, const char *empty)
{
	tc_text(cells, s != NULL && *s ? s : empty);
}

void tc_int_cell(json_t *cells, long long v)
{
	json_array_append_new(cells, json_integer(v));
}

void tc_bool_cell(json_t *cells, bool v)
{
	json_array_append_new(cells, json_boolean(v));
}

void tc_name(json_t *cells, const json_t *obj)
{
	tc_text(cells, tc_str(obj, "metadata.name"));
}

void tc_since(json_t *cells, const char *rfc3339, time_t now)
{
	char age[32];
	table_age(age, sizeof age, rfc3339, now);
	tc_text(cells, age);
}

void tc_age(json_t *cells, const json_t *obj, time_t now)
{
	tc_since(cells, tc_str(obj, "metadata.creationTimestamp"), now);
}

static int cmp_key(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void tc_labels(json_t *cells, const json_t *map)
{
	struct mk_buf b = MK_BUF_INIT;
	size_t n = json_is_object(map) ? json_object_size(map) : 0;
	const char **keys = n ? malloc(n * sizeof *keys) : NULL;
	size_t k = 0;
	const char *key;
	json_t *v;
	if (keys != NULL) {
		json_object_foreach((json_t *)map, key, v)
			keys[k++] = key;
		qsort(keys, k, sizeof *keys, cmp_key);
	}
	for (size_t i = 0; i < k; i++) {
		tc_cat(&b, ",", keys[i]);
		tc_cat(&b, NULL, "=");
		tc_cat(&b, NULL, json_string_value(json_object_get(map, keys[i])));
	}
	free(keys);
	tc_buf_cell(cells, &b, "<none>");
}

void tc_selector(json_t *cells, const json_t *selector)
{
	char *text = label_selector_string(selector);
	tc_text_or(cells, text ? text : "<error>", "<none>");
	free(text);
}

void tc_containers(json_t *cells, const json_t *pod_spec)
{
	const json_t *cs = json_object_get(pod_spec, "containers");
	struct mk_buf names = MK_BUF_INIT, images = MK_BUF_INIT;
	size_t i;
	json_t *c;
	/* Every container counts, even one without a name or image. */
	json_array_foreach(cs, i, c) {
		tc_cat(&names, i ? "," : NULL, tc_str(c, "name") ?: "");
		tc_cat(&images, i ? "," : NULL, tc_str(c, "image") ?: "");
	}
	tc_buf_cell(cells, &names, "");
	tc_buf_cell(cells, &images, "");
}

/* --- text ----------------------------------------------------------------------- */

void tc_cat(struct mk_buf *b, const char *sep, const char *s)
{
	if (sep != NULL && b->len > 0)
		mk_buf_append(b, sep, strlen(sep));
	if (s != NULL)
		mk_buf_append(b, s, strlen(s));
}

void tc_catf(struct mk_buf *b, const char *fmt, ...)
{
	char one[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(one, sizeof one, fmt, ap);
	va_end(ap);
	tc_cat(b, NULL, one);
}

void tc_buf_cell(json_t *cells, struct mk_buf *b, const char *empty)
{
	json_t *v = b->len ? json_stringn((const char *)b->data, b->len) : json_string(empty);
	if (v == NULL && b->len) /* a truncated piece split a UTF-8 sequence */
		v = json_string("");
	json_array_append_new(cells, v);
	mk_buf_free(b);
}
