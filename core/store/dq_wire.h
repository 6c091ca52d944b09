/*
 * dqlite wire protocol, version 1, schema 0: message encoding and decoding.
 *
 * Pure functions over memory buffers, no I/O, so that every parser here can
 * be unit-tested and fuzzed on its own.  Layouts follow
 * shared/reference/dqlite.md §2: little-endian, 8-byte words, every body a
 * multiple of 8 bytes.
 *
 * Decoders never trust the peer: every length is checked against the bytes
 * actually received, and a malformed message yields MK_EPROTO, never a read
 * out of bounds.  Decoded strings and blobs point into the caller's message
 * buffer and live as long as it does.
 */
#ifndef MK_STORE_DQ_WIRE_H
#define MK_STORE_DQ_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../base/buf.h"

#define DQ_PROTOCOL_VERSION 1
#define DQ_HEADER_SIZE 8

/* Request types.  Never send any other value: dqlite 1.11 leaves unknown
 * requests unanswered and the connection hangs (reference §5 item 4). */
enum dq_request {
	DQ_REQ_LEADER = 0,
	DQ_REQ_CLIENT = 1,
	DQ_REQ_OPEN = 3,
	DQ_REQ_PREPARE = 4,
	DQ_REQ_EXEC = 5,
	DQ_REQ_QUERY = 6,
	DQ_REQ_FINALIZE = 7,
	DQ_REQ_EXEC_SQL = 8,
	DQ_REQ_QUERY_SQL = 9,
	DQ_REQ_INTERRUPT = 10,
	DQ_REQ_ADD = 12,
	DQ_REQ_ASSIGN = 13,
	DQ_REQ_REMOVE = 14,
	DQ_REQ_DUMP = 15,
	DQ_REQ_CLUSTER = 16,
	DQ_REQ_TRANSFER = 17,
	DQ_REQ_DESCRIBE = 18,
	DQ_REQ_WEIGHT = 19,
};

enum dq_response {
	DQ_RESP_FAILURE = 0,
	DQ_RESP_SERVER = 1,
	DQ_RESP_WELCOME = 2,
	DQ_RESP_SERVERS = 3,
	DQ_RESP_DB = 4,
	DQ_RESP_STMT = 5,
	DQ_RESP_RESULT = 6,
	DQ_RESP_ROWS = 7,
	DQ_RESP_EMPTY = 8,
	DQ_RESP_FILES = 9,
	DQ_RESP_METADATA = 10,
};

/* Value types of parameters and columns. */
enum dq_type {
	DQ_INTEGER = 1,
	DQ_FLOAT = 2,
	DQ_TEXT = 3,
	DQ_BLOB = 4,
	DQ_NULL = 5,
	DQ_UNIXTIME = 9, /* column only: 1.11 rejects it as a parameter */
	DQ_ISO8601 = 10,
	DQ_BOOLEAN = 11,
};

/* Node roles, as carried by ASSIGN and CLUSTER. */
enum dq_role { DQ_VOTER = 0, DQ_STANDBY = 1, DQ_SPARE = 2 };

/* A parameter or column value.  `text` (TEXT, ISO8601; NUL-terminated) and
 * `blob` are borrowed: from the caller when encoding, from the message when
 * decoding. */
struct dq_value {
	enum dq_type type;
	int64_t integer; /* INTEGER, UNIXTIME, BOOLEAN */
	double real;     /* FLOAT */
	const char *text;
	const void *blob;
	size_t len; /* byte length of text (without NUL) or blob */
};

static inline struct dq_value dq_int(int64_t v)
{
	return (struct dq_value){.type = DQ_INTEGER, .integer = v};
}
static inline struct dq_value dq_text(const char *s)
{
	return (struct dq_value){.type = DQ_TEXT, .text = s};
}
static inline struct dq_value dq_blob(const void *p, size_t n)
{
	return (struct dq_value){.type = DQ_BLOB, .blob = p, .len = n};
}
static inline struct dq_value dq_null(void)
{
	return (struct dq_value){.type = DQ_NULL};
}

/* ---- encoding: all return 0 or MK_ENOMEM / MK_EINVAL ---- */

/* Start a message: appends an 8-byte header placeholder to an empty `b`. */
int dq_msg_begin(struct mk_buf *b);
/* Finish a message begun with dq_msg_begin: fills in the header. */
void dq_msg_end(struct mk_buf *b, enum dq_request type);

int dq_put_u64(struct mk_buf *b, uint64_t v);
int dq_put_u32_pair(struct mk_buf *b, uint32_t a, uint32_t c);
int dq_put_text(struct mk_buf *b, const char *s);
int dq_put_blob(struct mk_buf *b, const void *p, size_t n);
/* Parameter tuple: u8 count, u8 types padded to a word, then the values.
 * Nothing is written for n == 0.  MK_EINVAL for more than 255 parameters or
 * a type the server does not accept as a parameter. */
int dq_put_params(struct mk_buf *b, const struct dq_value *v, size_t n);

/* ---- decoding ---- */

struct dq_header {
	uint32_t words; /* body length in 8-byte words */
	uint8_t type;
	uint8_t schema;
};

void dq_header_decode(const uint8_t raw[DQ_HEADER_SIZE], struct dq_header *h);

/* A read position in a received body. */
struct dq_cursor {
	const uint8_t *p;
	size_t len;
	size_t off;
};

static inline struct dq_cursor dq_cursor_init(const void *p, size_t len)
{
	return (struct dq_cursor){.p = p, .len = len, .off = 0};
}

int dq_get_u64(struct dq_cursor *c, uint64_t *v);
int dq_get_u32_pair(struct dq_cursor *c, uint32_t *a, uint32_t *b);
/* Text must be NUL-terminated inside the body and padded to a word. */
int dq_get_text(struct dq_cursor *c, const char **s, size_t *len);
int dq_get_blob(struct dq_cursor *c, const void **p, size_t *len);

/* FAILURE body: u64 code, text message. */
int dq_decode_failure(struct dq_cursor *c, uint64_t *code, const char **msg);

/* ROWS bodies.  A page starts with the column count and names; rows follow,
 * then a marker that either ends the result or announces another page. */
#define DQ_MAX_COLUMNS 1024

enum dq_rows_step { DQ_ROWS_ROW, DQ_ROWS_DONE, DQ_ROWS_PART };

/* Reads the column count and names; `names` must hold DQ_MAX_COLUMNS. */
int dq_rows_begin(struct dq_cursor *c, unsigned *ncols, const char **names);
/* Reads the next row into `vals[ncols]`, or the end-of-page marker.
 * Returns MK_EPROTO on malformed input, else 0 with *step set. */
int dq_rows_next(struct dq_cursor *c, unsigned ncols, struct dq_value *vals,
		 enum dq_rows_step *step);

/* True if `sql` is a single read-only statement that may be sent as QUERY:
 * SELECT, VALUES, or WITH ... SELECT, without RETURNING and without a
 * second statement.  dqlite 1.11 crashes when a write arrives as QUERY
 * (reference §5 item 1), so the client refuses anything else. */
bool dq_sql_is_read_only(const char *sql);

#endif
