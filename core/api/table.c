/*
 * Table assembly (contract in table.h): column definitions, rows and the
 * objects they carry, and the durations kubectl shows.  The columns and
 * cells of each kind live in the other table_*.c files.
 */
#include "table.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/err.h"
#include "table_internal.h"

/*
 * k8s.io/apimachinery/pkg/util/duration.HumanDuration, which Age cells use
 * (printers' translateTimestampSince): exact seconds below 2 minutes,
 * then minutes (with seconds below 10 minutes), hours (with minutes below
 * 8 hours), days (with hours below 8 days), years (with days below 8
 * years).  A time up to a second ahead of `now` counts as now.
 */
void table_duration(char *out, size_t len, long long s)
{
	long long m = s / 60, h = s / 3600, d = h / 24;
	if (s < -1)
		snprintf(out, len, "<invalid>");
	else if (s < 0)
		snprintf(out, len, "0s");
	else if (s < 120)
		snprintf(out, len, "%llds", s);
	else if (m < 10 && s % 60)
		snprintf(out, len, "%lldm%llds", m, s % 60);
	else if (m < 180)
		snprintf(out, len, "%lldm", m);
	else if (h < 8 && m % 60)
		snprintf(out, len, "%lldh%lldm", h, m % 60);
	else if (h < 48)
		snprintf(out, len, "%lldh", h);
	else if (h < 24 * 8 && h % 24)
		snprintf(out, len, "%lldd%lldh", d, h % 24);
	else if (h < 24 * 365 * 2)
		snprintf(out, len, "%lldd", d);
	else if (h < 24 * 365 * 8 && d % 365)
		snprintf(out, len, "%lldy%lldd", d / 365, d % 365);
	else
		snprintf(out, len, "%lldy", d / 365);
}

/* n decimal digits at p, or -1. */
static int digits(const char *p, int n)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)p[i]))
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	return v;
}

bool table_time(const char *t, time_t *out)
{
	/* 2006-01-02T15:04:05[.999999999](Z|+07:00) */
	if (t == NULL || strlen(t) < 20 || t[4] != '-' || t[7] != '-' || t[10] != 'T' ||
	    t[13] != ':' || t[16] != ':')
		return false;
	struct tm tm = {0};
	tm.tm_year = digits(t, 4) - 1900;
	tm.tm_mon = digits(t + 5, 2) - 1;
	tm.tm_mday = digits(t + 8, 2);
	tm.tm_hour = digits(t + 11, 2);
	tm.tm_min = digits(t + 14, 2);
	tm.tm_sec = digits(t + 17, 2);
	if (tm.tm_year < -1899 || tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 ||
	    tm.tm_mday > 31 || tm.tm_hour < 0 || tm.tm_hour > 23 || tm.tm_min < 0 ||
	    tm.tm_min > 59 || tm.tm_sec < 0 || tm.tm_sec > 60)
		return false;
	const char *p = t + 19;
	bool fraction = false;
	if (*p == '.') {
		if (!isdigit((unsigned char)p[1]))
			return false;
		for (p++; isdigit((unsigned char)*p); p++)
			fraction = fraction || *p != '0';
	}
	long offset = 0;
	if (*p == 'Z') {
		p++;
	} else if ((*p == '+' || *p == '-') && digits(p + 1, 2) >= 0 && p[3] == ':' &&
		   digits(p + 4, 2) >= 0) {
		offset = (digits(p + 1, 2) * 60L + digits(p + 4, 2)) * 60 * (*p == '-' ? -1 : 1);
		p += 6;
	} else {
		return false;
	}
	if (*p != '\0')
		return false;
	/* Go's zero time means "never set". */
	if (tm.tm_year == 1 - 1900 && tm.tm_mon == 0 && tm.tm_mday == 1 && tm.tm_hour == 0 &&
	    tm.tm_min == 0 && tm.tm_sec == 0 && offset == 0 && !fraction)
		return false;
	/* Rounded up: an age is truncated from the exact difference. */
	*out = timegm(&tm) - offset + fraction;
	return true;
}

void table_age(char *out, size_t len, const char *rfc3339, time_t now)
{
	time_t t;
	if (!table_time(rfc3339, &t))
		snprintf(out, len, "<unknown>");
	else
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
	if (defs == NULL)
		return NULL;
	const struct table_kind *k = table_kind_find(group, kind);
	if (k != NULL) {
		for (const struct table_column *c = k->columns; c->name; c++)
			json_array_append_new(defs, column(c));
	} else {
		table_custom_columns(defs, printer_columns);
	}
	/* "o" steals defs even when packing fails. */
	return json_pack("{s:s, s:s, s:{}, s:o, s:[]}", "kind", "Table", "apiVersion",
			 "meta.k8s.io/v1", "metadata", "columnDefinitions", defs, "rows");
}

static size_t n_columns(const struct table_kind *k, const json_t *printer_columns)
{
	if (k == NULL)
		return table_custom_count(printer_columns);
	size_t n = 0;
	while (k->columns[n].name)
		n++;
	return n;
}

int table_add_row(json_t *table, const char *group, const char *kind,
		  const json_t *printer_columns, const json_t *obj, enum table_include inc,
		  time_t now)
{
	json_t *rows = json_object_get(table, "rows");
	if (!json_is_array(rows) || !json_is_object(obj) || group == NULL || kind == NULL)
		return MK_EINVAL;
	const struct table_kind *k = table_kind_find(group, kind);
	json_t *cells = json_array();
	json_t *row = json_object();
	if (cells == NULL || row == NULL)
		goto nomem;
	if (k != NULL)
		k->cells(obj, now, cells);
	else
		table_custom_cells(obj, printer_columns, now, cells);
	/* A helper that ran out of memory left a cell out. */
	if (json_array_size(cells) != n_columns(k, printer_columns))
		goto nomem;
	if (json_object_set_new(row, "cells", cells) != 0) {
		cells = NULL;
		goto nomem;
	}
	cells = NULL;
	if (k != NULL && k->conditions != NULL)
		k->conditions(obj, row);
	json_t *o = NULL;
	if (inc == TABLE_INCLUDE_OBJECT) {
		o = json_incref((json_t *)obj);
	} else if (inc == TABLE_INCLUDE_METADATA) {
		json_t *meta = json_object_get(obj, "metadata");
		meta = json_is_object(meta) ? json_incref(meta) : json_object();
		o = json_pack("{s:s, s:s, s:o}", "kind", "PartialObjectMetadata", "apiVersion",
			      "meta.k8s.io/v1", "metadata", meta);
	}
	if (inc != TABLE_INCLUDE_NONE && json_object_set_new(row, "object", o) != 0)
		goto nomem;
	if (json_array_append_new(rows, row) != 0)
		return MK_ENOMEM;
	return MK_OK;
nomem:
	json_decref(cells);
	json_decref(row);
	return MK_ENOMEM;
}
