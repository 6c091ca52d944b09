/*
 * Table assembly: column definitions, rows, row objects, Age cells.  The
 * per-kind columns live in table_kinds.c.
 */
#include "table.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/err.h"
#include "table_internal.h"

/* k8s.io/apimachinery/pkg/util/duration.HumanDuration. */
void table_duration(char *out, size_t len, long long s)
{
	if (s < -1) {
		snprintf(out, len, "<invalid>");
		return;
	}
	if (s < 0)
		s = 0;
	long long m = s / 60, h = s / 3600, d = h / 24;
	if (s < 120)
		snprintf(out, len, "%llds", s);
	else if (m < 10)
		s % 60 ? snprintf(out, len, "%lldm%llds", m, s % 60) : snprintf(out, len, "%lldm", m);
	else if (m < 180)
		snprintf(out, len, "%lldm", m);
	else if (h < 8)
		m % 60 ? snprintf(out, len, "%lldh%lldm", h, m % 60) : snprintf(out, len, "%lldh", h);
	else if (h < 48)
		snprintf(out, len, "%lldh", h);
	else if (h < 24 * 8)
		h % 24 ? snprintf(out, len, "%lldd%lldh", d, h % 24) : snprintf(out, len, "%lldd", d);
	else if (h < 24 * 365 * 2)
		snprintf(out, len, "%lldd", d);
	else if (h < 24 * 365 * 8)
		d % 365 ? snprintf(out, len, "%lldy%lldd", d / 365, d % 365)
			: snprintf(out, len, "%lldy", d / 365);
	else
		snprintf(out, len, "%lldy", d / 365);
}

time_t table_parse_time(const char *t)
{
	struct tm tm;
	memset(&tm, 0, sizeof tm);
	if (t == NULL)
		return (time_t)-1;
	const char *end = strptime(t, "%Y-%m-%dT%H:%M:%S", &tm);
	if (end == NULL)
		return (time_t)-1;
	return timegm(&tm);
}

void table_age(char *out, size_t len, const char *rfc3339, time_t now)
{
	time_t t = table_parse_time(rfc3339);
	if (t == (time_t)-1) {
		snprintf(out, len, "<unknown>");
		return;
	}
	table_duration(out, len, (long long)(now - t));
}

static json_t *column(const struct table_column *c)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:i}", "name", c->name, "type",
			 c->type ? c->type : "string", "format", c->format ? c->format : "",
			 "description", "", "priority", c->priority);
}

json_t *table_new(const char *group, const char *kind, const json_t *printer_columns)
{
	json_t *defs = json_array();
	const struct table_kind *k = table_kind_find(group, kind);
	if (k != NULL) {
		for (const struct table_column *c = k->columns; c->name; c++)
			json_array_append_new(defs, column(c));
	} else {
		table_custom_columns(defs, printer_columns);
	}
	return json_pack("{s:s, s:s, s:{}, s:o, s:[]}", "kind", "Table", "apiVersion",
			 "meta.k8s.io/v1", "metadata", "columnDefinitions", defs, "rows");
}

int table_add_row(json_t *table, const char *group, const char *kind,
		  const json_t *printer_columns, const json_t *obj, enum table_include inc,
		  time_t now)
{
	json_t *cells = json_array();
	if (cells == NULL)
		return MK_ENOMEM;
	const struct table_kind *k = table_kind_find(group, kind);
	if (k != NULL)
		k->cells(obj, now, cells);
	else
		table_custom_cells(obj, printer_columns, now, cells);
	json_t *row = json_pack("{s:o}", "cells", cells);
	if (row == NULL)
		return MK_ENOMEM;
	if (inc == TABLE_INCLUDE_OBJECT) {
		json_object_set(row, "object", (json_t *)obj);
	} else if (inc == TABLE_INCLUDE_METADATA) {
		json_t *meta = json_object_get(obj, "metadata");
		meta = json_is_object(meta) ? json_incref(meta) : json_object();
		json_object_set_new(row, "object",
				    json_pack("{s:s, s:s, s:o}", "kind", "PartialObjectMetadata",
					      "apiVersion", "meta.k8s.io/v1", "metadata", meta));
	}
	json_array_append_new(json_object_get(table, "rows"), row);
	return MK_OK;
}
