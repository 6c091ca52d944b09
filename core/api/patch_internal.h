/*
 * Shared between the patch files (patch.c, patch_json.c, patch_strategic.c,
 * patch_schema.c); not part of the patch interface.
 */
#ifndef MK_API_PATCH_INTERNAL_H
#define MK_API_PATCH_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "../base/buf.h"
#include "patch.h"

/* Formats a one-line message into errmsg (if len > 0) and returns `code`.
 * Control characters become '?', and a multi-byte UTF-8 sequence cut by
 * truncation is dropped, so the message is always one line of valid UTF-8
 * whatever key or path it quotes. */
int patch_fail(char *errmsg, size_t len, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Length of the longest prefix of s[0..n) that is at most `max` bytes and
 * does not split a UTF-8 sequence: for quoting user strings in messages. */
size_t patch_utf8_prefix(const char *s, size_t n, size_t max);

/* True if `v` nests deeper than `limit` levels (a scalar is one level, a
 * container one more than its deepest member).  Recurses at most `limit`
 * levels, so it is safe on hostile input. */
bool patch_deeper_than(const json_t *v, int limit);

/* JSON equality as RFC 6902 "test" defines it: like json_equal(), but
 * numbers compare by value, so 1 equals 1.0. */
bool patch_equal(const json_t *a, const json_t *b);

/* jansson's iteration API takes non-const objects although it never writes
 * through them; patches are const everywhere else. */
static inline json_t *patch_mut(const json_t *v)
{
	return (json_t *)v;
}

/*
 * The strategic merge patch walker, split between patch_strategic.c (maps,
 * directives, entry point) and patch_strategic_list.c (lists).
 */
struct smp {
	const char *group, *kind;
	bool builtin;   /* group is built in: lists may merge */
	char path[256]; /* field path of the value being merged */
	size_t path_len;
	bool path_lost; /* a segment did not fit, or held '.', '[' or ']' */
	int depth;
	struct mk_buf key; /* scratch of patch_strategic_list.c */
	char *errmsg;
	size_t len;
};

struct smp_mark {
	size_t len;
	bool lost;
};

/* MK_EINVAL with "strategic merge patch: <path>: <message>". */
int smp_fail(struct smp *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends ".seg" (or "[]" when seg is NULL) to the path; pop restores. */
struct smp_mark smp_path_push(struct smp *s, const char *seg, size_t n);
void smp_path_pop(struct smp *s, struct smp_mark m);
bool smp_str_is(const json_t *v, const char *str);

/* Merges patch value pv into cur (borrowed, may be NULL; objects are
 * edited in place) at the current path.  *out is a new reference to the
 * result, or NULL when the patch deletes the value.  `order` is the
 * $setElementOrder list for a list value, or NULL. */
int smp_merge_value(struct smp *s, json_t *cur, const json_t *pv, const json_t *order,
		    json_t **out);

/* A list with merge strategy f (cur may be NULL), into *out. */
int smp_merge_list(struct smp *s, json_t *cur, const json_t *pl, const json_t *order,
		   const struct patch_field *f, json_t **out);
/* A list that replaces: pl with its elements merged into nothing. */
int smp_replace_list(struct smp *s, const json_t *pl, json_t **out);
/* `list` reordered by `order` (see the file comment), into *out; `pos`
 * gives each item's place in the live list (NULL: its index).  With
 * `strict`, malformed entries of `order` are MK_EINVAL, else skipped. */
int smp_list_order(struct smp *s, const json_t *list, const long *pos, const json_t *order,
		   bool strict, const char *merge_key, json_t **out);
/* $deleteFromPrimitiveList/<field>: drops those scalars from t[field]. */
int smp_delete_scalars(struct smp *s, json_t *t, const char *field, size_t flen,
		       const json_t *gone);

#define PATCH_QUOTE_MAX 128
/* printf arguments for "%.*s": a user string cut to PATCH_QUOTE_MAX bytes. */
#define PATCH_QUOTE(p, n) (int)patch_utf8_prefix((p), (n), PATCH_QUOTE_MAX), (p)

#endif
