/*
 * WebSocket frames (RFC 6455 §5): reading a byte stream into messages and
 * control frames, writing frame headers.  Pure: no I/O, no libuv, so the
 * fuzz target and the tests drive it directly.  See websocket.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/err.h"
#include "websocket.h"

/* A buffer this big that is empty again goes back to the allocator: one
 * large message must not pin memory for the rest of a long session. */
#define KEEP_CAP (64 * 1024)

void ws_reader_init(struct ws_reader *r, size_t max_message, bool require_mask)
{
	memset(r, 0, sizeof *r);
	r->max_message = max_message ? max_message : WS_DEFAULT_MAX_MESSAGE;
	r->require_mask = require_mask;
}

void ws_reader_free(struct ws_reader *r)
{
	mk_buf_free(&r->in);
	mk_buf_free(&r->msg);
}

int ws_reader_error(const struct ws_reader *r, const char **reason)
{
	if (reason != NULL)
		*reason = r->error;
	return r->error_code;
}

static int fail(struct ws_reader *r, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct ws_reader *r, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->error, sizeof r->error, fmt, ap);
	va_end(ap);
	r->error_code = code;
	return MK_EPROTO;
}

/* Drops consumed bytes.  Only between calls: events point into `in`. */
static void compact(struct ws_reader *r)
{
	if (r->off == 0)
		return;
	size_t left = r->in.len - r->off;
	if (left == 0 && r->in.cap > KEEP_CAP)
		mk_buf_free(&r->in);
	else
		memmove(r->in.data, r->in.data + r->off, left);
	r->in.len = left;
	r->off = 0;
}

int ws_reader_feed(struct ws_reader *r, const void *data, size_t len)
{
	compact(r);
	return mk_buf_append(&r->in, data, len);
}

void ws_mask(uint8_t *data, size_t len, const uint8_t mask[4], size_t offset)
{
	for (size_t i = 0; i < len; i++)
		data[i] ^= mask[(offset + i) & 3];
}

bool ws_utf8_valid(const uint8_t *s, size_t len)
{
	size_t i = 0;
	while (i < len) {
		uint8_t c = s[i];
		if (c < 0x80) {
			i++;
			continue;
		}
		size_t n;
		uint32_t cp, min;
		if ((c & 0xE0) == 0xC0) {
			n = 1, cp = c & 0x1F, min = 0x80;
		} else if ((c & 0xF0) == 0xE0) {
			n = 2, cp = c & 0x0F, min = 0x800;
		} else if ((c & 0xF8) == 0xF0) {
			n = 3, cp = c & 0x07, min = 0x10000;
		} else {
			return false;
		}
		if (n >= len - i)
			return false;
		for (size_t k = 1; k <= n; k++) {
			if ((s[i + k] & 0xC0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3F);
		}
		if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return false;
		i += n + 1;
	}
	return true;
}

static bool close_code_valid(int code)
{
	return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
	       (code >= 3000 && code <= 4999);
}

/* A finished message or control frame: final checks, then the event. */
static int emit(struct ws_reader *r, struct ws_event *ev, enum ws_opcode op, const uint8_t *data,
		size_t len)
{
	ev->opcode = op;
	ev->data = data;
	ev->len = len;
	ev->code = 0;
	if (op == WS_OP_TEXT && !ws_utf8_valid(data, len))
		return fail(r, WS_CLOSE_BAD_DATA, "text message is not valid UTF-8");
	if (op != WS_OP_CLOSE)
		return 1;
	if (len == 1)
		return fail(r, WS_CLOSE_PROTOCOL, "close frame with a 1-byte payload");
	if (len == 0) {
		ev->code = WS_CLOSE_NO_STATUS;
		return 1;
	}
	ev->code = data[0] << 8 | data[1];
	if (!close_code_valid(ev->code))
		return fail(r, WS_CLOSE_PROTOCOL, "invalid close code %d", ev->code);
	ev->data = data + 2;
	ev->len = len - 2;
	if (!ws_utf8_valid(ev->data, ev->len))
		return fail(r, WS_CLOSE_BAD_DATA, "close reason is not valid UTF-8");
	return 1;
}

int ws_reader_next(struct ws_reader *r, struct ws_event *ev)
{
	if (r->error_code != 0)
		return MK_EPROTO;
	if (r->msg_opcode < 0) {
		/* The previous call returned the assembled message. */
		r->msg_opcode = 0;
		if (r->msg.cap > KEEP_CAP)
			mk_buf_free(&r->msg);
		else
			mk_buf_reset(&r->msg);
	}
	for (;;) {
		const uint8_t *p = r->in.data + r->off;
		size_t avail = r->in.len - r->off;
		if (avail < 2)
			return 0;
		bool fin = p[0] & 0x80, masked = p[1] & 0x80;
		int op = p[0] & 0x0F;
		if (p[0] & 0x70)
			return fail(r, WS_CLOSE_PROTOCOL, "reserved bits set without an extension");
		if (op != WS_OP_CONT && op != WS_OP_TEXT && op != WS_OP_BINARY && op != WS_OP_CLOSE &&
		    op != WS_OP_PING && op != WS_OP_PONG)
			return fail(r, WS_CLOSE_PROTOCOL, "unknown opcode %d", op);
		if (masked != r->require_mask)
			return fail(r, WS_CLOSE_PROTOCOL,
				    r->require_mask ? "unmasked client frame" : "masked server frame");
		size_t hdr = 2;
		uint64_t len = p[1] & 0x7F;
		if (len == 126) {
			if (avail < 4)
				return 0;
			len = (uint64_t)p[2] << 8 | p[3];
			hdr = 4;
		} else if (len == 127) {
			if (avail < 10)
				return 0;
			len = 0;
			for (int i = 0; i < 8; i++)
				len = len << 8 | p[2 + i];
			if (len >> 63)
				return fail(r, WS_CLOSE_PROTOCOL, "frame length with the top bit set");
			hdr = 10;
		}
		bool control = op & 0x8;
		if (control) {
			if (!fin)
				return fail(r, WS_CLOSE_PROTOCOL, "fragmented control frame");
			if (len > 125)
				return fail(r, WS_CLOSE_PROTOCOL, "control frame longer than 125 bytes");
		} else {
			if (op == WS_OP_CONT && r->msg_opcode == 0)
				return fail(r, WS_CLOSE_PROTOCOL, "continuation frame without a message");
			if (op != WS_OP_CONT && r->msg_opcode != 0)
				return fail(r, WS_CLOSE_PROTOCOL,
					    "new message before the fragmented one ended");
			/* Checked before buffering the payload: memory stays
			 * bounded by one message. */
			size_t have = op == WS_OP_CONT ? r->msg.len : 0;
			if (len > r->max_message - have)
				return fail(r, WS_CLOSE_TOO_BIG, "message larger than %zu bytes",
					    r->max_message);
		}
		const uint8_t *key = masked ? p + hdr : NULL;
		if (masked)
			hdr += 4;
		if (avail < hdr || avail - hdr < len)
			return 0;
		uint8_t *payload = r->in.data + r->off + hdr;
		if (key != NULL)
			ws_mask(payload, (size_t)len, key, 0);
		r->off += hdr + (size_t)len;
		if (control || (fin && op != WS_OP_CONT))
			return emit(r, ev, op, payload, (size_t)len);
		if (mk_buf_append(&r->msg, payload, (size_t)len) != MK_OK)
			return fail(r, WS_CLOSE_INTERNAL, "out of memory");
		if (op != WS_OP_CONT)
			r->msg_opcode = op;
		if (fin) {
			int msg_op = r->msg_opcode;
			r->msg_opcode = -1; /* reset on the next call */
			return emit(r, ev, msg_op, r->msg.data, r->msg.len);
		}
	}
}

size_t ws_frame_header(uint8_t out[WS_MAX_HEADER], enum ws_opcode opcode, bool fin, uint64_t len,
		       const uint8_t *mask)
{
	size_t n = 0;
	out[n++] = (uint8_t)((fin ? 0x80 : 0) | (opcode & 0x0F));
	uint8_t m = mask ? 0x80 : 0;
	if (len < 126) {
		out[n++] = m | (uint8_t)len;
	} else if (len <= 0xFFFF) {
		out[n++] = m | 126;
		out[n++] = (uint8_t)(len >> 8);
		out[n++] = (uint8_t)len;
	} else {
		out[n++] = m | 127;
		for (int i = 7; i >= 0; i--)
			out[n++] = (uint8_t)(len >> (8 * i));
	}
	if (mask) {
		memcpy(out + n, mask, 4);
		n += 4;
	}
	return n;
}
