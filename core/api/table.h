/*
 * Server-side Tables: what `kubectl get` prints (reference/kubectl-api.md
 * §4).  Built-in kinds get the columns and cells of the real API server's
 * printers (kubernetes pkg/printers/internalversion, v1.32); custom
 * resources get Name, Age and their CRD version's additionalPrinterColumns;
 * any other kind gets Name and Age.
 *
 * Ownership: table_new returns a new reference the caller owns;
 * table_add_row only reads `obj` (INCLUDE_OBJECT takes a reference to it).
 * Threading: pure functions of their arguments, safe from any thread
 * (distinct tables).
 */
#ifndef MK_API_TABLE_H
#define MK_API_TABLE_H

#include <jansson.h>
#include <stddef.h>
#include <time.h>

enum table_include {
	TABLE_INCLUDE_METADATA, /* row.object = PartialObjectMetadata (default) */
	TABLE_INCLUDE_OBJECT,   /* row.object = the full object (kubectl --sort-by) */
	TABLE_INCLUDE_NONE,     /* no row.object */
};

/* {"kind":"Table","apiVersion":"meta.k8s.io/v1","metadata":{},
 *  "columnDefinitions":[...],"rows":[]} for objects of group/kind ("" is
 * the core group).  `printer_columns`: a CRD version's
 * additionalPrinterColumns, or NULL.  NULL without memory. */
json_t *table_new(const char *group, const char *kind, const json_t *printer_columns);

/* Appends the row for `obj`: {"cells":[...], "object":...}, one cell per
 * column (with -o wide columns; kubectl hides those of priority 1).  Any
 * JSON object works: missing or mistyped fields print as the real server
 * prints zero values.  `now` is the unix time the Age cells count to.
 * MK_OK; MK_EINVAL if `table` is not a Table or `obj` not an object;
 * MK_ENOMEM (the table is then unchanged). */
int table_add_row(json_t *table, const char *group, const char *kind,
		  const json_t *printer_columns, const json_t *obj, enum table_include inc,
		  time_t now);

/* An age as kubectl shows it (duration.HumanDuration: "59s", "119s",
 * "5m30s", "3h7m", "3d4h", "2y70d"), from an RFC 3339 time to `now`;
 * "<unknown>" when absent or malformed. */
void table_age(char *out, size_t len, const char *rfc3339, time_t now);
/* The same for a number of seconds ("<invalid>" below -1). */
void table_duration(char *out, size_t len, long long seconds);

#endif
