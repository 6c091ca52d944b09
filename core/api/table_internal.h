/*
 * Shared by the table files: how a kind describes its columns and cells,
 * the kinds each file defines, and helpers that read odd JSON safely and
 * append cells formatted as the upstream printers format them.
 *
 * Cell helpers append to a jansson array and never fail loudly: without
 * memory a cell goes missing, which table_add_row notices and reports.
 * Everything is a pure function of its arguments; thread-safe.
 */
#ifndef MK_API_TABLE_INTERNAL_H
#define MK_API_TABLE_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <time.h>

struct mk_buf;

struct table_column {
	const char *name;
	const char *type;   /* "string" when NULL */
	const char *format; /* "name" on the Name column, else "" */
	int priority;       /* 1: only with -o wide */
};

struct table_kind {
	const char *group; /* "" for the core group */
	const char *kind;
	const struct table_column *columns; /* ends with {NULL} */
	/* Appends one cell per column for `obj` (any JSON value). */
	void (*cells)(const json_t *obj, time_t now, json_t *cells);
	/* Optional: sets row.conditions (upstream marks finished pods). */
	void (*conditions)(const json_t *obj, json_t *row);
};

/* The kinds of each file, each array ending with a {NULL} kind
 * (table_kinds.c has the rest and looks them all up). */
extern const struct table_kind table_pod_kinds[];
extern const struct table_kind table_workload_kinds[];
extern const struct table_kind table_core_kinds[];
extern const struct table_kind table_storage_kinds[];

/* The built-in kind, or NULL (then: custom resource or generic columns). */
const struct table_kind *table_kind_find(const char *group, const char *kind);
void table_custom_columns(json_t *defs, const json_t *printer_columns);
size_t table_custom_count(const json_t *printer_columns); /* cells per row */
void table_custom_cells(const json_t *obj, const json_t *printer_columns, time_t now,
			json_t *cells);

/* An RFC 3339 time ("2026-01-02T03:04:05Z", fraction and offset allowed)
 * as unix seconds, rounded up to the second.  False when absent,
 * malformed or Go's zero time (which kubectl treats as unset). */
bool table_time(const char *rfc3339, time_t *out);

/* --- reading objects: any path may be missing or of the wrong type ------- */

const json_t *tc_at(const json_t *obj, const char *dotted_path);
const char *tc_str(const json_t *obj, const char *dotted_path); /* NULL unless a string */
/* An integer (a real is truncated, a numeric string read); 0 otherwise. */
long long tc_int(const json_t *obj, const char *dotted_path);
bool tc_true(const json_t *obj, const char *dotted_path);
/* Status of the first condition of `type` in the array at `path` is "True". */
bool tc_condition(const json_t *obj, const char *path, const char *type);

/* --- appending cells --------------------------------------------------------- */

void tc_text(json_t *cells, const char *s);			 /* NULL as "" */
void tc_text_or(json_t *cells, const char *s, const char *empty); /* "" or NULL as `empty` */
void tc_int_cell(json_t *cells, long long v);
void tc_bool_cell(json_t *cells, bool v);
void tc_name(json_t *cells, const json_t *obj);
/* translateTimestampSince: the age of a time, "<unknown>" when unset. */
void tc_since(json_t *cells, const char *rfc3339, time_t now);
void tc_age(json_t *cells, const json_t *obj, time_t now); /* of metadata.creationTimestamp */
/* labels.FormatLabels: "k=v,k2=v2" sorted by key, "<none>" when empty. */
void tc_labels(json_t *cells, const json_t *map);
/* metav1.FormatLabelSelector: canonical text, "<none>" when it selects
 * everything or nothing, "<error>" when invalid. */
void tc_selector(json_t *cells, const json_t *selector);
/* layoutContainerCells: the names and the images of spec.containers. */
void tc_containers(json_t *cells, const json_t *pod_spec);

/* Text of a cell under construction: appends `s`, preceded by `sep` unless
 * the buffer is empty.  tc_buf_cell adds the text (or `empty` if there is
 * none) as a cell and frees the buffer. */
void tc_cat(struct mk_buf *b, const char *sep, const char *s);
void tc_catf(struct mk_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void tc_buf_cell(json_t *cells, struct mk_buf *b, const char *empty);

#endif
