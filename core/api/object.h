/*
 * Kubernetes objects as the API server stores and returns them.
 *
 * Stored form: the object's JSON without metadata.resourceVersion (the
 * store's revision of the key is the resourceVersion, set on the way out).
 * All functions are pure and thread-safe.
 */
#ifndef MK_API_OBJECT_H
#define MK_API_OBJECT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

struct store_kv;
struct api_resource;

/* Parses a stored value and sets metadata.resourceVersion to `rev`.  NULL
 * if the stored bytes are not a JSON object (never expected). */
json_t *object_from_store(const void *value, size_t len, int64_t rev);
/* The stored form: compact JSON without metadata.resourceVersion; malloc'd. */
char *object_to_store(const json_t *obj, size_t *len);

/* metadata (created if missing) and its fields. */
json_t *object_meta(json_t *obj);
const char *object_name(const json_t *obj);
const char *object_namespace(const json_t *obj);
/* The value at a dotted path ("spec.nodeName"), or NULL. */
const json_t *object_at(const json_t *obj, const char *dotted_path);
const char *object_str(const json_t *obj, const char *dotted_path);
int64_t object_rv(const json_t *obj); /* 0 if absent or malformed */
void object_set_rv(json_t *obj, int64_t rev);

/* Server-set fields. */
void object_new_uid(char out[37]);
void object_timestamp(char out[32], int64_t unix_seconds); /* RFC 3339, UTC, "Z" */
int64_t object_now(void);
/* generateName + 5 characters of the alphabet the real API server uses. */
void object_generate_name(char *out, size_t len, const char *prefix);

/* Name rules of the API server: DNS-1123 subdomain (most kinds), DNS-1123
 * label (namespaces, services), path segment (RBAC, a few others).  NULL
 * when valid, else the message for details.causes. */
const char *object_check_subdomain(const char *name);
const char *object_check_label(const char *name);
const char *object_check_path_segment(const char *name);

#endif
