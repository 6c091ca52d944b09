/*
 * Kubernetes API types: lookup, strict JSON checking and protobuf decoding.
 *
 * The type tables are generated at build time from the protobuf descriptors
 * that kubectl embeds (core/schema/gen_schema.py, see README.md); they cover
 * the API groups mk serves plus apimachinery's meta/v1 types.  CRDs and
 * other unknown kinds have no schema: schema_kind() returns NULL for them.
 *
 * JSON follows Go's encoding/json on the k8s.io/api structs: proto field
 * names are the JSON names; maps are objects; Time/MicroTime are RFC 3339
 * strings; Duration is a Go duration string; IntOrString is a number or a
 * string; Quantity is a string; RawExtension/FieldsV1 hold any JSON; bytes
 * are base64; `json:",inline"` structs put their fields in the parent.
 *
 * Ownership: the tables are static and read-only; JSON passed in is only
 * read; JSON returned belongs to the caller.  Threading: every function is
 * reentrant and keeps no state, so any thread may call any of them.
 */
#ifndef MK_SCHEMA_SCHEMA_H
#define MK_SCHEMA_SCHEMA_H

#include <stddef.h>

#include <jansson.h>

struct schema_msg; /* one message type (opaque, static) */

/* The top-level type of group/version/kind (group "" is the core group),
 * or NULL if mk has no schema for it.  meta/v1 kinds (DeleteOptions,
 * Status, ...) are found under every served group/version, as in the API
 * server, and under "meta.k8s.io"/"v1". */
const struct schema_msg *schema_kind(const char *group, const char *version, const char *kind);

/* The type with this protobuf full name, e.g. "k8s.io.api.core.v1.Container",
 * or NULL.  A linear search: for tests and tools, not request paths. */
const struct schema_msg *schema_type(const char *full_name);

/* The protobuf full name of a type, e.g. "k8s.io.api.apps.v1.Deployment". */
const char *schema_msg_name(const struct schema_msg *t);

/* At most this many problems are appended by one schema_check(). */
#define SCHEMA_MAX_PROBLEMS 64

/* Checks a decoded JSON value against type `t` the way the API server's
 * strict decoder (fieldValidation=Strict) does: unknown fields at any depth
 * (inside lists and maps too) and values of the wrong JSON type.  `apiVersion`
 * and `kind` are accepted (and must be strings) on kinds, which embed
 * TypeMeta; JSON null is accepted anywhere (Go leaves the field unset).
 * RawExtension and FieldsV1 accept any JSON and are not looked into.
 *
 * Each problem is appended to the JSON array `problems` (if not NULL), up to
 * SCHEMA_MAX_PROBLEMS of them, as one of
 *   {"field":"spec.template.spec.containers[0].foo","kind":"unknown"}
 *   {"field":"spec.replicas","kind":"type","expected":"integer","got":"string"}
 *   {"field":"spec.replicas","kind":"range","expected":"int32"}
 *   {"field":"spec.x","kind":"format","expected":"quantity"}  (also
 *       "RFC 3339 time", "duration", "base64")
 *   {"field":"spec...","kind":"depth"}  (nesting deeper than 64 levels)
 * Paths join fields with ".", list indexes as "[i]", map keys as ".key".
 * Returns the number of problems found (0 = the value decodes cleanly). */
size_t schema_check(const struct schema_msg *t, const json_t *obj, json_t *problems);

/* Decodes a Kubernetes protobuf request body (magic "k8s\0" followed by a
 * runtime.Unknown envelope) into the JSON object the same request would
 * have carried as JSON: `apiVersion` and `kind` come from the envelope,
 * then the object's fields.  Go's JSON `omitempty` is reproduced from what
 * gogo-protobuf encodes: non-pointer scalars are always on the wire, so
 * zero ones ("" / 0 / false / empty bytes) are left out; pointer fields are
 * on the wire only when set and are kept even when zero; structs are always
 * kept (Go never omits them), except a zero Time/MicroTime (JSON null).
 *
 * Returns 0 and sets *out (owned by the caller), or MK_ENOMEM, or
 * MK_EINVAL with a one-line reason in errmsg for anything malformed: bad
 * magic, truncated varint or length, wrong wire type for a known field,
 * unknown kind, non-empty content encoding, nesting deeper than 64, strings
 * that are not UTF-8, RawExtension bytes that are not JSON.  Unknown field
 * numbers are skipped (forward compatibility). */
int schema_decode_protobuf(const void *buf, size_t len, json_t **out, char *errmsg, size_t errlen);

/* The same for the bare serialization of one message of type `t` (no
 * magic, no envelope, no apiVersion/kind added). */
int schema_decode_message(const struct schema_msg *t, const void *buf, size_t len, json_t **out,
			  char *errmsg, size_t errlen);

#endif
