/*
 * Label and field selectors, parsed and matched the way the API server
 * does it (k8s.io/apimachinery pkg/labels and pkg/fields;
 * reference/kubectl-api.md §8).
 *
 * Ownership: *out of a successful parse belongs to the caller, who frees
 * it with the matching _free (NULL-safe).  On failure *out is untouched,
 * nothing is allocated, and `err` (when len > 0) holds one line saying
 * why, worded like upstream's message.
 *
 * Threading: a parsed selector is immutable; matching only reads it, so
 * one selector may be shared by any number of threads.  Objects are
 * jansson objects as the API returns them; nothing here modifies them.
 */
#ifndef MK_API_SELECTOR_H
#define MK_API_SELECTOR_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* --- label selectors ----------------------------------------------------- */

struct label_selector;

/*
 * "app=web,tier in (a,b),!legacy": comma is AND; =, ==, !=, in, notin,
 * exists (a bare key), !key, and > / < (integer comparison).  Whitespace
 * between tokens is ignored.  The empty string selects everything.  Keys
 * are qualified names ([DNS-1123 subdomain "/"] name of at most 63
 * characters), values are label values (at most 63 characters, may be
 * empty).  Errors: MK_EINVAL with e.g. "unable to parse requirement:
 * found '(', expected: identifier"; MK_ENOMEM.
 */
int label_selector_parse(const char *text, struct label_selector **out, char *err, size_t len);

/*
 * From a metav1.LabelSelector {matchLabels, matchExpressions[{key,
 * operator: In|NotIn|Exists|DoesNotExist, values}]}, as controllers use
 * it.  As upstream: NULL or JSON null selects nothing, {} selects
 * everything.
 */
int label_selector_from_json(const json_t *sel, struct label_selector **out, char *err,
			     size_t len);

/* True if `labels` (an object of strings, or NULL for "no labels")
 * satisfies every requirement.  != and notin match a missing label. */
bool label_selector_matches(const struct label_selector *s, const json_t *labels);

/*
 * The canonical text of a metav1.LabelSelector, as the API server prints
 * it (requirements sorted by key, set values sorted): "app=web,tier in
 * (a,b)".  "" when it selects everything or nothing; NULL when `sel` is
 * invalid or memory runs out.  malloc'd; the caller frees it.
 */
char *label_selector_string(const json_t *sel);

void label_selector_free(struct label_selector *s);

/* --- field selectors ----------------------------------------------------- */

struct field_selector;

/*
 * "metadata.name=web,status.phase!=Failed": terms joined by commas, each
 * field=value, field==value or field!=value.  In a value, "\," "\=" and
 * "\\" stand for the character; an unescaped ',' or '=' is an error.
 * `resource` is the plural resource name ("pods", "events", ...): every
 * resource has metadata.name and metadata.namespace, and some have more,
 * exactly as on the real API server.  Any other field fails with
 * "field label not supported: <field>" (the caller answers 400).
 */
int field_selector_parse(const char *text, const char *resource, struct field_selector **out,
			 char *err, size_t len);

/* A field missing from the object compares as "" (booleans and counts as
 * their Go zero value "false" / "0"). */
bool field_selector_matches(const struct field_selector *s, const json_t *obj);

/* The value `field` is pinned to by an = or == term (e.g. metadata.name,
 * to turn a list into a get), or NULL.  Valid as long as `s` is. */
const char *field_selector_pinned(const struct field_selector *s, const char *field);

void field_selector_free(struct field_selector *s);

#endif
