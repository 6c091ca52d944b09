/*
 * Server-side Tables: what `kubectl get` prints (reference/kubectl-api.md
 * §4), with the columns of the real API server's printers for every
 * built-in kind and a CRD's additionalPrinterColumns for custom resources.
 * Pure functions of their arguments; thread-safe.
 */
#ifndef MK_API_TABLE_H
#define MK_API_TABLE_H

#include <jansson.h>
#include <stddef.h>
#include <time.h>

enum table_include {
	TABLE_INCLUDE_METADATA, /* row.object = PartialObjectMetadata (default) */
	TABLE_INCLUDE_OBJECT,   /* the full object (kubectl --sort-by) */
	TABLE_INCLUDE_NONE,
};

/* A new, empty Table for objects of group/kind ("" = core).
 * `printer_columns`: a CRD version's additionalPrinterColumns, or NULL. */
json_t *table_new(const char *group, const char *kind, const json_t *printer_columns);
/* Appends the row for `obj`; `now` for the Age cells. */
int table_add_row(json_t *table, const char *group, const char *kind,
		  const json_t *printer_columns, const json_t *obj, enum table_include inc,
		  time_t now);
/* An age as kubectl shows it ("5m30s", "3d4h"), from an RFC 3339 time;
 * "<unknown>" when absent or malformed. */
void table_age(char *out, size_t len, const char *rfc3339, time_t now);
/* The same for a duration in seconds. */
void table_duration(char *out, size_t len, long long seconds);

#endif
