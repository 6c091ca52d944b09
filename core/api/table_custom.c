/*
 * Tables of custom resources and of kinds without columns of their own:
 * Name, Age (unless a printer column is named so), then the CRD version's
 * additionalPrinterColumns.  Cells follow apiextensions-apiserver's
 * tableconvertor: the simple JSONPath CRDs allow is evaluated, the value
 * converted to the column's type, and a missing or mistyped value is a
 * null cell (kubectl shows it as empty).
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "table.h"
#include "table_internal.h"

static bool names_age(const json_t *cols)
{
	size_t i;
	json_t *c;
	json_array_foreach(cols, i, c)
		if (strcasecmp(tc_str(c, "name") ?: "", "Age") == 0)
			return true;
	return false;
}

size_t table_custom_count(const json_t *cols)
{
	return 1 + !names_age(cols) + json_array_size(cols);
}

void table_custom_columns(json_t *defs, const json_t *cols)
{
	json_array_append_new(defs, json_pack("{s:s, s:s, s:s, s:s, s:i}", "name", "Name", "type",
					      "string", "format", "name", "description", "",
					      "priority", 0));
	if (!names_age(cols))
		json_array_append_new(defs, json_pack("{s:s, s:s, s:s, s:s, s:i}", "name", "Age",
						      "type", "date", "format", "", "description",
						      "", "priority", 0));
	size_t i;
	json_t *c;
	json_array_foreach(cols, i, c) {
		char desc[512];
		const char *d = tc_str(c, "description");
		if (d == NULL || *d == '\0') {
			snprintf(desc, sizeof desc,
				 "Custom resource definition column (in JSONPath format): %s",
				 tc_str(c, "jsonPath") ?: "");
			d = desc;
		}
		json_int_t priority = (json_int_t)tc_int(c, "priority");
		json_array_append_new(defs, json_pack("{s:s, s:s, s:s, s:s, s:I}", "name",
						      tc_str(c, "name") ?: "", "type",
						      tc_str(c, "type") ?: "string", "format",
						      tc_str(c, "format") ?: "", "description", d,
						      "priority", priority));
	}
}

/* One key of a path: up to the next unescaped '.' or '[', "\." is a dot. */
static const char *path_key(const char *p, char *key, size_t len)
{
	size_t n = 0;
	while (*p && *p != '.' && *p != '[' && *p != '}') {
		if (*p == '\\' && p[1])
			p++;
		if (n + 1 >= len)
			return NULL;
		key[n++] = *p++;
	}
	key[n] = '\0';
	return n ? p : NULL;
}

/*
 * The JSONPath subset CRD columns use: .a.b, .a[0].b, .a[-1],
 * .metadata.labels.app\.kubernetes\.io/name, .a['key.with.dots'], with an
 * optional "{}" around and "$" in front.  NULL when the value is missing
 * or the path uses more (wildcards, filters, slices).
 */
static const json_t *json_path(const json_t *obj, const char *p)
{
	char key[256];
	const json_t *cur = obj;
	bool braced = *p == '{';
	p += braced;
	p += *p == '$';
	if (*p != '.' && *p != '[')
		return NULL; /* "" would be the whole object */
	while (cur != NULL && *p && !(braced && *p == '}')) {
		if (*p == '.') {
			if ((p = path_key(p + 1, key, sizeof key)) == NULL)
				return NULL;
			cur = json_object_get(cur, key);
		} else if (p[0] == '[' && (p[1] == '\'' || p[1] == '"')) {
			const char *end = strchr(p + 2, p[1]);
			size_t n = end ? (size_t)(end - p - 2) : 0;
			if (end == NULL || end[1] != ']' || n >= sizeof key)
				return NULL;
			memcpy(key, p + 2, n);
			key[n] = '\0';
			cur = json_object_get(cur, key);
			p = end + 2;
		} else if (*p == '[') {
			char *end;
			long idx = strtol(p + 1, &end, 10);
			if (end == p + 1 || *end != ']' || !json_is_array(cur))
				return NULL;
			if (idx < 0)
				idx += (long)json_array_size(cur);
			cur = idx < 0 ? NULL : json_array_get(cur, (size_t)idx);
			p = end + 1;
		} else {
			return NULL;
		}
	}
	return braced && *p != '}' ? NULL : cur;
}

/* A float as Go's fmt prints it (%v: shortest digits, exponent form
 * when the exponent is below -4 or at least 6). */
static json_t *go_float(double d)
{
	char buf[64];
	if (!isfinite(d))
		return json_string(isnan(d) ? "NaN" : d > 0 ? "+Inf" : "-Inf");
	int prec = 1;
	for (; prec < 17; prec++) {
		snprintf(buf, sizeof buf, "%.*e", prec - 1, d);
		if (strtod(buf, NULL) == d)
			break;
	}
	snprintf(buf, sizeof buf, "%.*e", prec - 1, d);
	int exp = atoi(strchr(buf, 'e') + 1);
	if (d != 0 && (exp < -4 || exp >= 6))
		return json_string(buf);
	snprintf(buf, sizeof buf, "%.*f", prec - 1 - exp > 0 ? prec - 1 - exp : 0, d);
	return json_string(buf);
}

/* cellForJSONValue, and the text a "string" column prints any value as. */
static json_t *cell(const json_t *v, const char *type, time_t now)
{
	if (v == NULL || json_is_null(v))
		return json_null();
	if (strcmp(type, "string") == 0) {
		if (json_is_string(v))
			return json_copy((json_t *)v);
		if (json_is_integer(v)) {
			char buf[32];
			snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(v));
			return json_string(buf);
		}
		if (json_is_real(v))
			return go_float(json_real_value(v));
		if (json_is_boolean(v))
			return json_string(json_is_true(v) ? "true" : "false");
		char *text = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
		json_t *s = json_string(text ? text : "");
		free(text);
		return s;
	}
	if (strcmp(type, "integer") == 0) {
		if (json_is_integer(v))
			return json_integer(json_integer_value(v));
		double d = json_real_value(v);
		if (json_is_real(v) && d > -9.2e18 && d < 9.2e18)
			return json_integer((json_int_t)d);
	} else if (strcmp(type, "number") == 0) {
		if (json_is_number(v))
			return json_real(json_number_value(v));
	} else if (strcmp(type, "boolean") == 0) {
		if (json_is_boolean(v))
			return json_boolean(json_is_true(v));
	} else if (strcmp(type, "date") == 0 && json_is_string(v)) {
		char age[32];
		time_t t;
		if (!table_time(json_string_value(v), &t))
			return json_string(strncmp(json_string_value(v), "0001-01-01T00:00:00", 19)
						   ? "<invalid>"
						   : "<unknown>");
		table_age(age, sizeof age, json_string_value(v), now);
		return json_string(age);
	}
	return json_null();
}

void table_custom_cells(const json_t *obj, const json_t *cols, time_t now, json_t *cells)
{
	tc_name(cells, obj);
	if (!names_age(cols))
		tc_age(cells, obj, now);
	size_t i;
	json_t *c;
	json_array_foreach(cols, i, c) {
		const json_t *v = json_path(obj, tc_str(c, "jsonPath") ?: "");
		json_array_append_new(cells, cell(v, tc_str(c, "type") ?: "string", now));
	}
}
