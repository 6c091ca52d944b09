/*
 * Label and field selectors, as the API server parses and matches them
 * (k8s.io/apimachinery labels and fields; reference/kubectl-api.md §8).
 *
 * A parsed selector is immutable and may be shared between threads.
 * Objects are jansson objects as the API returns them.
 */
#ifndef MK_API_SELECTOR_H
#define MK_API_SELECTOR_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct label_selector;

/* "app=web,tier in (a,b),!legacy": comma is AND; =, ==, !=, in, notin,
 * exists, !exists, > and < (integers).  An empty string selects all. */
int label_selector_parse(const char *text, struct label_selector **out, char *err, size_t len);
/* From a metav1.LabelSelector {matchLabels, matchExpressions}. */
int label_selector_from_json(const json_t *sel, struct label_selector **out, char *err,
			     size_t len);
bool label_selector_matches(const struct label_selector *s, const json_t *labels);
/* The text form of a metav1.LabelSelector ("app=web,tier in (a,b)"),
 * malloc'd; "<none>"-free: "" for an empty selector. */
char *label_selector_string(const json_t *sel);
void label_selector_free(struct label_selector *s);

struct field_selector;

/* "metadata.name=web,status.phase!=Failed" for `resource` (plural): only
 * the fields the real server supports for it; anything else is an error
 * "field label not supported: X". */
int field_selector_parse(const char *text, const char *resource, struct field_selector **out,
			 char *err, size_t len);
bool field_selector_matches(const struct field_selector *s, const json_t *obj);
/* The value `field` is pinned to with '=' (e.g. metadata.name), or NULL. */
const char *field_selector_pinned(const struct field_selector *s, const char *field);
void field_selector_free(struct field_selector *s);

#endif
