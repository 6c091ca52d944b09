/*
 * The generated type tables ($(BUILD)/gen/k8s_schema.c, written by
 * gen_schema.py) and the helpers the schema_*.c files share.  Nothing
 * outside core/schema includes this.
 *
 * Layout: one string pool; messages point at a contiguous run of fields
 * sorted by field number (binary search while decoding); schema_by_name
 * holds, for the same run, the fields' positions in name order (binary
 * search while checking JSON).  All tables are const: thread-safe.
 */
#ifndef MK_SCHEMA_SCHEMA_INTERNAL_H
#define MK_SCHEMA_SCHEMA_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "schema.h"

/* Messages whose JSON is not a plain object (custom MarshalJSON in Go). */
enum schema_special {
	SCHEMA_PLAIN = 0,
	SCHEMA_TIME,        /* {1 seconds, 2 nanos} -> "2006-01-02T15:04:05Z" */
	SCHEMA_MICROTIME,   /* same -> "2006-01-02T15:04:05.000000Z" */
	SCHEMA_DURATION,    /* {1 ns} -> "1h2m3s" */
	SCHEMA_INTORSTRING, /* {1 type, 2 intVal, 3 strVal} -> 8080 or "http" */
	SCHEMA_QUANTITY,    /* {1 string} -> "100m" */
	SCHEMA_RAWEXT,      /* {1 bytes} holding JSON -> that JSON */
	SCHEMA_WRAPPER,     /* {repeated string items = 1}: a Go named slice -> array */
};

#define SCHEMA_M_MAP_ENTRY 0x01 /* map<K,V> entry: {1 key, 2 value} */
#define SCHEMA_M_TYPEMETA 0x02  /* a kind: apiVersion and kind are allowed */

#define SCHEMA_F_REPEATED 0x01
#define SCHEMA_F_NULLABLE 0x02 /* a Go pointer: on the wire only when set */
#define SCHEMA_F_INLINE 0x04   /* json:",inline": fields go to the parent */

/* FieldDescriptorProto.Type */
enum {
	PB_DOUBLE = 1, PB_FLOAT = 2, PB_INT64 = 3, PB_UINT64 = 4, PB_INT32 = 5,
	PB_FIXED64 = 6, PB_FIXED32 = 7, PB_BOOL = 8, PB_STRING = 9, PB_MESSAGE = 11,
	PB_BYTES = 12, PB_UINT32 = 13, PB_ENUM = 14, PB_SFIXED32 = 15,
	PB_SFIXED64 = 16, PB_SINT32 = 17, PB_SINT64 = 18,
};

struct schema_msg {
	uint32_t name;  /* schema_strings offset of the full proto name */
	uint16_t first; /* index of its first field in schema_fields */
	uint8_t n_fields;
	uint8_t special; /* enum schema_special */
	uint8_t flags;   /* SCHEMA_M_* */
};

struct schema_field {
	uint32_t name;   /* schema_strings offset of the proto (= JSON) name */
	uint32_t number; /* proto field number */
	uint16_t msg;    /* schema_msgs index of the type if PB_MESSAGE */
	uint8_t type;    /* PB_* */
	uint8_t flags;   /* SCHEMA_F_* */
};

struct schema_kind {
	uint32_t group, version, kind; /* schema_strings offsets */
	uint16_t msg;
};

extern const char schema_strings[];
extern const struct schema_msg schema_msgs[];
extern const size_t schema_n_msgs;
extern const struct schema_field schema_fields[];
extern const uint8_t schema_by_name[];
extern const struct schema_kind schema_kinds[];
extern const size_t schema_n_kinds; /* sorted by group, version, kind */

static inline const char *schema_str(uint32_t off)
{
	return schema_strings + off;
}

static inline const struct schema_msg *schema_msg_of(const struct schema_field *f)
{
	return &schema_msgs[f->msg];
}

/* The field of `t` with this number, or NULL. */
const struct schema_field *schema_field_by_number(const struct schema_msg *t, uint32_t number);
/* The field whose JSON key is `name`, looking through inline fields; NULL
 * if `t` has no such key. */
const struct schema_field *schema_field_by_name(const struct schema_msg *t, const char *name);

/* Go-compatible text forms (schema_format.c).  The formatters write at most
 * `cap` bytes including the NUL and return MK_OK or MK_EINVAL. */
#define SCHEMA_TIME_MAX 40
int schema_format_time(int64_t seconds, int32_t nanos, bool micro, char *out, size_t cap);
#define SCHEMA_DURATION_MAX 40
void schema_format_duration(int64_t ns, char *out, size_t cap);
bool schema_valid_time(const char *s);     /* RFC 3339 as Go's time.Parse reads it */
bool schema_valid_duration(const char *s); /* Go's time.ParseDuration */
bool schema_valid_quantity(const char *s); /* resource.ParseQuantity */
bool schema_valid_base64(const char *s, size_t len); /* std alphabet, padded */
/* Base64 (std, padded) of `len` bytes into a new string; NULL on ENOMEM. */
char *schema_base64(const uint8_t *p, size_t len);

#endif
