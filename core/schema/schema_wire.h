/*
 * Reading the protobuf wire format, shared by the decoder's files.
 *
 * A reader never trusts a length: every varint is at most 10 bytes and
 * every length is checked against what is left of its enclosing message
 * before use, so a truncated or hostile body ends in MK_EINVAL with a
 * one-line reason (with the byte offset) in the context's errmsg, never in
 * a read past the buffer.  No state beyond the caller's structs.
 */
#ifndef MK_SCHEMA_SCHEMA_WIRE_H
#define MK_SCHEMA_SCHEMA_WIRE_H

#include "schema_internal.h"

enum { WT_VARINT = 0, WT_FIXED64 = 1, WT_LEN = 2, WT_FIXED32 = 5 };

/* One decoding: where errors go. */
struct pb_dec {
	const uint8_t *base; /* start of the body: errors give offsets from it */
	int depth;
	char *errmsg;
	size_t errlen;
};

/* The unread rest of one message. */
struct pb_rd {
	const uint8_t *p, *end;
};

/* Writes "protobuf: <what> at byte N" to d->errmsg; returns MK_EINVAL. */
int pb_fail(struct pb_dec *d, const uint8_t *at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

int pb_varint(struct pb_dec *d, struct pb_rd *r, uint64_t *v);
int pb_fixed(struct pb_dec *d, struct pb_rd *r, size_t n, uint64_t *v);
/* A length-delimited payload: *sub spans it and r moves past it. */
int pb_len(struct pb_dec *d, struct pb_rd *r, struct pb_rd *sub);
/* A field key; field number 0 is an error. */
int pb_key(struct pb_dec *d, struct pb_rd *r, uint32_t *num, int *wt);
/* Skips one value of wire type `wt` (groups are an error). */
int pb_skip(struct pb_dec *d, struct pb_rd *r, int wt);
/* The wire type a field of proto type `type` (PB_*) is written with. */
int pb_wire_type(uint8_t type);
bool pb_utf8_valid(const uint8_t *s, size_t n);

/* One scalar of `type` (its wire type already checked) as a new JSON
 * value in *out; *zero says whether it is Go's zero value.  Strings must
 * be UTF-8; bytes become base64; uint64 above INT64_MAX and non-finite
 * floats are errors (JSON cannot hold them). */
int pb_scalar(struct pb_dec *d, struct pb_rd *r, uint8_t type, json_t **out, bool *zero);
/* The JSON zero value of a scalar type. */
json_t *pb_scalar_zero(uint8_t type);

#endif
