#include "dq_wire.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "../base/err.h"

/* Sizes are small integers on every path below; 8-byte alignment is the
 * protocol's unit. */
static size_t pad8(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

static void put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

int dq_msg_begin(struct mk_buf *b)
{
	mk_buf_reset(b);
	return mk_buf_append_zeros(b, DQ_HEADER_SIZE);
}

void dq_msg_end(struct mk_buf *b, enum dq_request type)
{
	uint32_t words = (uint32_t)((b->len - DQ_HEADER_SIZE) / 8);
	b->data[0] = (uint8_t)words;
	b->data[1] = (uint8_t)(words >> 8);
	b->data[2] = (uint8_t)(words >> 16);
	b->data[3] = (uint8_t)(words >> 24);
	b->data[4] = (uint8_t)type;
	b->data[5] = 0; /* schema 0: understood by 1.11 and every later server */
	b->data[6] = 0;
	b->data[7] = 0;
}

int dq_put_u64(struct mk_buf *b, uint64_t v)
{
	uint8_t w[8];
	put_le64(w, v);
	return mk_buf_append(b, w, 8);
}

int dq_put_u32_pair(struct mk_buf *b, uint32_t a, uint32_t c)
{
	return dq_put_u64(b, (uint64_t)a | ((uint64_t)c << 32));
}

int dq_put_text(struct mk_buf *b, const char *s)
{
	size_t n = strlen(s) + 1;
	int rv = mk_buf_reserve(b, pad8(n));
	if (rv != MK_OK)
		return rv;
	mk_buf_append(b, s, n);
	return mk_buf_append_zeros(b, pad8(n) - n);
}

int dq_put_blob(struct mk_buf *b, const void *p, size_t n)
{
	int rv = mk_buf_reserve(b, 8 + pad8(n));
	if (rv != MK_OK)
		return rv;
	dq_put_u64(b, n);
	mk_buf_append(b, p, n);
	return mk_buf_append_zeros(b, pad8(n) - n);
}

int dq_put_params(struct mk_buf *b, const struct dq_value *v, size_t n)
{
	if (n == 0)
		return MK_OK;
	if (n > 255)
		return MK_EINVAL;
	size_t start = b->len;
	uint8_t head[256];
	head[0] = (uint8_t)n;
	for (size_t i = 0; i < n; i++) {
		switch (v[i].type) {
		case DQ_INTEGER:
		case DQ_FLOAT:
		case DQ_TEXT:
		case DQ_BLOB:
		case DQ_NULL:
		case DQ_ISO8601:
		case DQ_BOOLEAN:
			head[i + 1] = (uint8_t)v[i].type;
			break;
		default:
			return MK_EINVAL;
		}
	}
	int rv = mk_buf_append(b, head, n + 1);
	if (rv == MK_OK)
		rv = mk_buf_append_zeros(b, pad8(n + 1) - (n + 1));
	for (size_t i = 0; rv == MK_OK && i < n; i++) {
		switch (v[i].type) {
		case DQ_INTEGER:
			rv = dq_put_u64(b, (uint64_t)v[i].integer);
			break;
		case DQ_BOOLEAN:
			rv = dq_put_u64(b, v[i].integer != 0);
			break;
		case DQ_FLOAT: {
			uint64_t bits;
			memcpy(&bits, &v[i].real, 8);
			rv = dq_put_u64(b, bits);
			break;
		}
		case DQ_TEXT:
		case DQ_ISO8601:
			rv = dq_put_text(b, v[i].text ? v[i].text : "");
			break;
		case DQ_BLOB:
			rv = dq_put_blob(b, v[i].blob, v[i].len);
			break;
		default: /* DQ_NULL */
			rv = dq_put_u64(b, 0);
			break;
		}
	}
	if (rv != MK_OK)
		b->len = start;
	return rv;
}

void dq_header_decode(const uint8_t raw[DQ_HEADER_SIZE], struct dq_header *h)
{
	h->words = (uint32_t)raw[0] | (uint32_t)raw[1] << 8 |
		   (uint32_t)raw[2] << 16 | (uint32_t)raw[3] << 24;
	h->type = raw[4];
	h->schema = raw[5];
}

int dq_get_u64(struct dq_cursor *c, uint64_t *v)
{
	if (c->len - c->off < 8)
		return MK_EPROTO;
	*v = get_le64(c->p + c->off);
	c->off += 8;
	return MK_OK;
}

int dq_get_u32_pair(struct dq_cursor *c, uint32_t *a, uint32_t *b)
{
	uint64_t w;
	if (dq_get_u64(c, &w) != MK_OK)
		return MK_EPROTO;
	*a = (uint32_t)w;
	*b = (uint32_t)(w >> 32);
	return MK_OK;
}

int dq_get_text(struct dq_cursor *c, const char **s, size_t *len)
{
	const uint8_t *start = c->p + c->off;
	size_t avail = c->len - c->off;
	const uint8_t *nul = memchr(start, 0, avail);
	if (nul == NULL)
		return MK_EPROTO;
	size_t n = (size_t)(nul - start);
	if (pad8(n + 1) > avail)
		return MK_EPROTO;
	*s = (const char *)start;
	if (len)
		*len = n;
	c->off += pad8(n + 1);
	return MK_OK;
}

int dq_get_blob(struct dq_cursor *c, const void **p, size_t *len)
{
	uint64_t n;
	if (dq_get_u64(c, &n) != MK_OK)
		return MK_EPROTO;
	size_t avail = c->len - c->off;
	if (n > avail || pad8((size_t)n) > avail)
		return MK_EPROTO;
	*p = c->p + c->off;
	*len = (size_t)n;
	c->off += pad8((size_t)n);
	return MK_OK;
}

int dq_decode_failure(struct dq_cursor *c, uint64_t *code, const char **msg)
{
	if (dq_get_u64(c, code) != MK_OK)
		return MK_EPROTO;
	return dq_get_text(c, msg, NULL);
}

int dq_rows_begin(struct dq_cursor *c, unsigned *ncols, const char **names)
{
	uint64_t n;
	if (dq_get_u64(c, &n) != MK_OK || n == 0 || n > DQ_MAX_COLUMNS)
		return MK_EPROTO;
	for (uint64_t i = 0; i < n; i++)
		if (dq_get_text(c, &names[i], NULL) != MK_OK)
			return MK_EPROTO;
	*ncols = (unsigned)n;
	return MK_OK;
}

#define DQ_ROWS_DONE_MARKER 0xffffffffffffffffULL
#define DQ_ROWS_PART_MARKER 0xeeeeeeeeeeeeeeeeULL

int dq_rows_next(struct dq_cursor *c, unsigned ncols, struct dq_value *vals,
		 enum dq_rows_step *step)
{
	if (c->len - c->off < 8)
		return MK_EPROTO;
	uint64_t first = get_le64(c->p + c->off);
	if (first == DQ_ROWS_DONE_MARKER || first == DQ_ROWS_PART_MARKER) {
		c->off += 8;
		*step = first == DQ_ROWS_DONE_MARKER ? DQ_ROWS_DONE : DQ_ROWS_PART;
		return MK_OK;
	}
	/* Row header: one 4-bit type per column, low nibble first, padded to
	 * whole words. */
	size_t header = pad8((ncols + 1) / 2);
	if (c->len - c->off < header)
		return MK_EPROTO;
	const uint8_t *types = c->p + c->off;
	c->off += header;
	for (unsigned i = 0; i < ncols; i++) {
		struct dq_value *v = &vals[i];
		memset(v, 0, sizeof *v);
		v->type = (enum dq_type)((types[i / 2] >> (4 * (i % 2))) & 0xf);
		uint64_t w = 0;
		int rv = MK_OK;
		switch (v->type) {
		case DQ_INTEGER:
		case DQ_UNIXTIME:
		case DQ_BOOLEAN:
			rv = dq_get_u64(c, &w);
			v->integer = (int64_t)w;
			break;
		case DQ_FLOAT:
			rv = dq_get_u64(c, &w);
			memcpy(&v->real, &w, 8);
			break;
		case DQ_TEXT:
		case DQ_ISO8601:
			rv = dq_get_text(c, &v->text, &v->len);
			break;
		case DQ_BLOB:
			rv = dq_get_blob(c, &v->blob, &v->len);
			break;
		case DQ_NULL:
			rv = dq_get_u64(c, &w);
			break;
		default:
			return MK_EPROTO;
		}
		if (rv != MK_OK)
			return MK_EPROTO;
	}
	*step = DQ_ROWS_ROW;
	return MK_OK;
}

/* ---- read-only statement check ---- */

/* Advances past whitespace and comments. */
static const char *skip_space(const char *p)
{
	for (;;) {
		while (isspace((unsigned char)*p))
			p++;
		if (p[0] == '-' && p[1] == '-') {
			while (*p && *p != '\n')
				p++;
		} else if (p[0] == '/' && p[1] == '*') {
			const char *end = strstr(p + 2, "*/");
			if (end == NULL)
				return p + strlen(p);
			p = end + 2;
		} else {
			return p;
		}
	}
}

static bool word_is(const char *w, size_t n, const char *kw)
{
	return strlen(kw) == n && strncasecmp(w, kw, n) == 0;
}

bool dq_sql_is_read_only(const char *sql)
{
	static const char *const writers[] = {
		"INSERT", "UPDATE", "DELETE",  "REPLACE", "RETURNING", "CREATE",
		"DROP",   "ALTER",  "PRAGMA",  "ATTACH",  "DETACH",    "VACUUM",
		"BEGIN",  "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE", "REINDEX",
		"ANALYZE", "UPSERT", "CONFLICT"};
	const char *p = skip_space(sql);
	bool first = true;
	while (*p) {
		if (*p == '\'' || *p == '"' || *p == '`' || *p == '[') {
			char close = *p == '[' ? ']' : *p;
			p++;
			while (*p && *p != close)
				p++;
			if (*p == '\0')
				return false; /* unterminated literal */
			p++;
		} else if (isalpha((unsigned char)*p) || *p == '_') {
			const char *w = p;
			while (isalnum((unsigned char)*p) || *p == '_' || *p == '$')
				p++;
			size_t n = (size_t)(p - w);
			if (first) {
				if (!word_is(w, n, "SELECT") && !word_is(w, n, "WITH") &&
				    !word_is(w, n, "VALUES"))
					return false;
				first = false;
			}
			for (size_t i = 0; i < sizeof writers / sizeof *writers; i++) {
				if (!word_is(w, n, writers[i]))
					continue;
				/* replace(x, a, b) is a scalar function, not
				 * REPLACE INTO. */
				if (word_is(w, n, "REPLACE") && *skip_space(p) == '(')
					break;
				return false;
			}
		} else if (*p == ';') {
			return *skip_space(p + 1) == '\0' && !first;
		} else if ((p[0] == '-' && p[1] == '-') || (p[0] == '/' && p[1] == '*')) {
			p = skip_space(p);
		} else {
			p++;
		}
	}
	return !first;
}
