/*
 * Shared by table.c and table_kinds.c.
 */
#ifndef MK_API_TABLE_INTERNAL_H
#define MK_API_TABLE_INTERNAL_H

#include <jansson.h>
#include <time.h>

struct table_column {
	const char *name;
	const char *type;   /* NULL: string */
	const char *format; /* "name" for the Name column */
	int priority;       /* 1: only with -o wide */
};

struct table_kind {
	const char *group;
	const char *kind;
	const struct table_column *columns; /* ends with {NULL} */
	void (*cells)(const json_t *obj, time_t now, json_t *cells);
};

const struct table_kind *table_kind_find(const char *group, const char *kind);
void table_custom_columns(json_t *defs, const json_t *printer_columns);
void table_custom_cells(const json_t *obj, const json_t *printer_columns, time_t now,
			json_t *cells);
time_t table_parse_time(const char *rfc3339);

#endif
