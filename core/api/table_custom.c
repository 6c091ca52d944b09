/*
 * Tables of custom resources: Name, Age unless a column is named so, then
 * the CRD version's additionalPrinterColumns with the JSONPath subset CRDs
 * use (.a.b, .a[0].b).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "object.h"
#include "table.h"
#include "table_internal.h"

static const char *str(const json_t *obj, const char *path)
{
	return object_str(obj, path);
}

static long long num(const json_t *obj, const char *path)
{
	return json_integer_value(object_at(obj, path));
}

/* --- custom resources -------------------------------------------------------- */

static bool names_age(const json_t *cols)
{
	size_t i;
	json_t *c;
	json_array_foreach(cols, i, c)
		if (strcasecmp(str(c, "name") ?: "", "Age") == 0)
			return true;
	return false;
}

void table_custom_columns(json_t *defs, const json_t *cols)
{
	static const struct table_column name = {"Name", "string", "name", 0};
	static const struct table_column age = {"Age", "string", "", 0};
	const struct table_column *fixed[] = {&name, &age};
	for (int k = 0; k < 2; k++) {
		if (k == 1 && names_age(cols))
			break;
		json_array_append_new(defs, json_pack("{s:s, s:s, s:s, s:s, s:i}", "name",
						      fixed[k]->name, "type", fixed[k]->type,
						      "format", fixed[k]->format, "description", "",
						      "priority", 0));
	}
	size_t i;
	json_t *c;
	json_array_foreach(cols, i, c)
		json_array_append_new(defs, json_pack("{s:s, s:s, s:s, s:s, s:I}", "name",
						      str(c, "name") ?: "", "type",
						      str(c, "type") ?: "string", "format",
						      str(c, "format") ?: "", "description",
						      str(c, "description") ?: "", "priority",
						      (json_int_t)num(c, "priority")));
}

/* The subset of JSONPath CRDs use: .a.b, .a[0].b, .metadata.labels.x */
static const json_t *json_path(const json_t *obj, const char *path)
{
	const json_t *cur = obj;
	const char *p = path;
	if (*p == '{')
		p++;
	while (cur != NULL && *p && *p != '}') {
		if (*p == '.') {
			p++;
			const char *e = p;
			while (*e && *e != '.' && *e != '[' && *e != '}')
				e++;
			char key[256];
			size_t n = (size_t)(e - p);
			if (n == 0 || n >= sizeof key)
				return NULL;
			memcpy(key, p, n);
			key[n] = '\0';
			cur = json_object_get(cur, key);
			p = e;
		} else if (*p == '[') {
			char *end;
			long idx = strtol(p + 1, &end, 10);
			if (*end != ']' || idx < 0)
				return NULL;
			cur = json_array_get(cur, (size_t)idx);
			p = end + 1;
		} else {
			return NULL;
		}
	}
	return cur;
}

void table_custom_cells(const json_t *obj, const json_t *cols, time_t now, json_t *cells)
{
	json_array_append_new(cells, json_string(str(obj, "metadata.name") ?: ""));
	if (!names_age(cols)) {
		char age[32];
		table_age(age, sizeof age, str(obj, "metadata.creationTimestamp"), now);
		json_array_append_new(cells, json_string(age));
	}
	size_t i;
	json_t *c;
	json_array_foreach(cols, i, c) {
		const json_t *v = json_path(obj, str(c, "jsonPath") ?: "");
		const char *type = str(c, "type") ?: "string";
		if (v == NULL || json_is_null(v)) {
			json_array_append_new(cells, json_null());
		} else if (strcmp(type, "date") == 0 && json_is_string(v)) {
			char age[32];
			table_age(age, sizeof age, json_string_value(v), now);
			json_array_append_new(cells, json_string(age));
		} else if (json_is_string(v) || json_is_number(v) || json_is_boolean(v)) {
			json_array_append(cells, (json_t *)v);
		} else {
			char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
			json_array_append_new(cells, json_string(text ? text : ""));
			free(text);
		}
	}
}
