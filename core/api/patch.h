/*
 * The three Kubernetes patch formats (reference/kubectl-api.md §9):
 *
 *   application/merge-patch+json           patch_merge()      RFC 7386
 *   application/json-patch+json            patch_json()       RFC 6902
 *   application/strategic-merge-patch+json patch_strategic()  Kubernetes
 *
 * Contract shared by the three functions: they apply `patch` to `*doc`.
 * On success *doc is the patched document: possibly a different json_t, in
 * which case the old one has been released (the caller's reference to it is
 * consumed).  On failure *doc is untouched, pointer and content, and
 * `errmsg` (if len > 0) holds one line of valid UTF-8 suitable for a
 * Kubernetes Status message.  Failure codes:
 *
 *   MK_EINVAL     malformed patch: not JSON of the right shape, bad op, bad
 *                 JSON pointer, bad or unknown directive, list element
 *                 without its merge key, nested deeper than
 *                 PATCH_MAX_DEPTH                          -> 400 BadRequest
 *   MK_ECONFLICT  a JSON-patch "test" op failed (value differs or its
 *                 path does not exist)                     -> 422
 *   MK_ENOTFOUND  a JSON-patch path does not exist: remove, replace,
 *                 move/copy "from", the parent of an add, an array index
 *                 out of bounds                            -> 422
 *   MK_ETOOBIG    a JSON patch would copy/move more than PATCH_MAX_COPY_NODES
 *                 values or nest the result deeper than
 *                 PATCH_MAX_DOC_DEPTH                      -> 413 (or 422)
 *   MK_ENOMEM     allocation failure                       -> 500
 *
 * Ownership: `patch` is only read, never modified or retained (not even
 * its reference counts), so one parsed patch may be shared between threads.
 * Nothing in the result aliases `patch`.
 *
 * Threading: no global state; calls on different documents may run
 * concurrently.
 *
 * Parse request bodies with JSON_REJECT_DUPLICATES: RFC 6902 §A.13 says a
 * patch object with a repeated member is invalid, and jansson would
 * otherwise silently keep the last one.
 */
#ifndef MK_API_PATCH_H
#define MK_API_PATCH_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

/* Deepest nesting of a merge/strategic patch, or of a JSON-patch value. */
#define PATCH_MAX_DEPTH 100
/* A JSON patch may not nest its result deeper than this (jansson's parser
 * stops at 2048: a deeper stored object could never be read back). */
#define PATCH_MAX_DOC_DEPTH 1000
/* Operations in one JSON patch (the Kubernetes API server's limit). */
#define PATCH_MAX_OPS 10000
/* Values a JSON patch may duplicate with "copy" or relocate deeper with
 * "move", in total: one copy of the root per op doubles the document. */
#define PATCH_MAX_COPY_NODES (1 << 18)

/* RFC 7386 JSON merge patch: null deletes, objects merge recursively,
 * anything else (arrays included) replaces.  A non-object patch replaces
 * the whole document, as the RFC says (the API server refuses that itself). */
int patch_merge(json_t **doc, const json_t *patch, char *errmsg, size_t len);

/* RFC 6902 JSON patch: `ops` is an array of add, remove, replace, move,
 * copy and test operations, applied all or nothing.  "test" compares with
 * JSON equality, numbers by value (1 equals 1.0). */
int patch_json(json_t **doc, const json_t *ops, char *errmsg, size_t len);

/*
 * Kubernetes strategic merge patch: a merge patch in which some lists of
 * built-in kinds merge by key (or as sets of scalars) instead of being
 * replaced, plus the directives kubectl sends: $patch (replace, delete,
 * merge), $retainKeys, $setElementOrder/<f>, $deleteFromPrimitiveList/<f>.
 * No directive is ever copied into the result; an unknown $-key is
 * MK_EINVAL (except "$ref" and "$schema", which are JSON-Schema data in
 * CustomResourceDefinitions).  `patch` must be an object.
 *
 * `group` is the API group ("" or NULL for core), `kind` the object's kind.
 * For a kind outside the built-in groups (a custom resource) every list is
 * replaced whole, as in a merge patch, but directives are still honoured
 * and stripped.
 *
 * Order of merged lists follows the Kubernetes API server: items named by
 * $setElementOrder (or, without it, by the patch list) take that order;
 * items only the server has keep their place relative to them; new items
 * the live list cannot place come first.
 */
int patch_strategic(json_t **doc, const json_t *patch, const char *group, const char *kind,
		    char *errmsg, size_t len);

/* How one field of a built-in kind behaves under a strategic merge patch
 * (the struct tags of k8s.io/api, v0.32).  Fields without a row replace. */
#define PATCH_FIELD_MERGE 0x1       /* list merges: by merge_key, or as a set of scalars */
#define PATCH_FIELD_RETAIN_KEYS 0x2 /* clients send $retainKeys for this map */

struct patch_field {
	const char *merge_key; /* NULL for a set of scalars or a non-list */
	unsigned flags;
};

/* Looks up the field at `path` of an object of (group, kind).  `path` names
 * fields with dots and list elements with "[]", e.g.
 * "spec.template.spec.containers[].ports".  Returns true and fills *out if
 * the field has a strategy other than "replace".  The result is static.
 * Also what an OpenAPI document needs for x-kubernetes-patch-merge-key and
 * x-kubernetes-patch-strategy. */
bool patch_field_lookup(const char *group, const char *kind, const char *path,
			struct patch_field *out);

/* True if `group` ("" = core) is one of Kubernetes' built-in API groups,
 * whose kinds get strategic (not plain merge) list semantics. */
bool patch_group_is_builtin(const char *group);

#endif
