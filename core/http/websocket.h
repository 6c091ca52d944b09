/*
 * Server-side WebSocket (RFC 6455) on an exchange of the HTTP server, and
 * the frame codec under it.
 *
 * Three layers, usable apart:
 *   - the frame reader and writer (websocket_frame.c): pure, no I/O, no
 *     libuv; the fuzz target drives it;
 *   - the handshake (websocket_handshake.c): is a request an upgrade, is it
 *     well formed, which subprotocol, the Sec-WebSocket-Accept value;
 *   - the connection (websocket.c): ws_upgrade() answers 101 and turns the
 *     exchange's connection into a WebSocket: frames in and out through the
 *     same TLS session, ping/pong, the close handshake, backpressure.
 *
 * A handler uses it like this (loop thread):
 *
 *	if (ws_is_upgrade(req)) {
 *		if (ws_handshake_check(req, protocols, &proto, err, sizeof err) != MK_OK) {
 *			ws_refuse(x);              // keep the connection for the next request
 *			http_respond(x, 400, ...); // an ordinary answer
 *			return;
 *		}
 *		ws_upgrade(x, proto, &handlers, &ws);
 *	}
 *
 * Threading: everything runs on the loop thread of the HTTP server, like
 * http.h; the frame codec is pure and thread-compatible.
 *
 * Lifetime: after ws_upgrade() the WebSocket owns the exchange.  Events
 * come through the handlers until on_closed, which is always the last
 * callback and runs exactly once, from the loop (never from inside a ws_*
 * call): the connection is gone then and the `struct ws` is freed right
 * after it returns.  ws_close() starts the close handshake; the peer
 * closing, a protocol error, the network going away or the server
 * stopping end it too.
 *
 * Limits: messages larger than max_message (1 MiB by default) end the
 * connection with 1009, unmasked client frames with 1002, bad UTF-8 in a
 * text message with 1007.  A peer that does not answer our close frame
 * within 5 s is disconnected.  The HTTP server's idle and request timeouts
 * do not apply to an upgraded connection (a shell may sit idle for hours);
 * TCP keepalive finds peers that vanished without a FIN or RST.
 */
#ifndef MK_HTTP_WEBSOCKET_H
#define MK_HTTP_WEBSOCKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../base/buf.h"
#include "http.h"

enum ws_opcode {
	WS_OP_CONT = 0x0,
	WS_OP_TEXT = 0x1,
	WS_OP_BINARY = 0x2,
	WS_OP_CLOSE = 0x8,
	WS_OP_PING = 0x9,
	WS_OP_PONG = 0xA,
};

/* Close codes (RFC 6455 §7.4.1) that mk sends or checks. */
enum ws_close_code {
	WS_CLOSE_NORMAL = 1000,
	WS_CLOSE_GOING_AWAY = 1001,
	WS_CLOSE_PROTOCOL = 1002,
	WS_CLOSE_UNSUPPORTED = 1003,
	WS_CLOSE_NO_STATUS = 1005, /* never on the wire: a close frame without code */
	WS_CLOSE_ABNORMAL = 1006,  /* never on the wire: no close frame at all */
	WS_CLOSE_BAD_DATA = 1007,
	WS_CLOSE_TOO_BIG = 1009,
	WS_CLOSE_INTERNAL = 1011,
};

#define WS_DEFAULT_MAX_MESSAGE (1024 * 1024)
/* Largest frame header: 2 + 8 (64-bit length) + 4 (mask key). */
#define WS_MAX_HEADER 14

/* --- frame codec (websocket_frame.c) ------------------------------------ */

/* One event out of the reader: a complete data message (TEXT or BINARY,
 * fragments joined) or a control frame (CLOSE, PING, PONG).  `data` is
 * unmasked and valid until the next ws_reader_* call.  For CLOSE, `code`
 * is the peer's status code (WS_CLOSE_NO_STATUS if it sent none) and
 * data/len its reason. */
struct ws_event {
	enum ws_opcode opcode;
	const uint8_t *data;
	size_t len;
	int code;
};

/* Reads a byte stream into events.  Initialise with ws_reader_init; the
 * fields are private. */
struct ws_reader {
	size_t max_message;
	bool require_mask;
	struct mk_buf in;  /* bytes received, from `off` on not consumed yet */
	size_t off;
	struct mk_buf msg; /* fragments of the data message being assembled */
	int msg_opcode;    /* its opcode; 0: none in progress, -1: just returned */
	int error_code;    /* close code of the first protocol error, or 0 */
	char error[96];
};

/* `require_mask`: a server must get masked frames (RFC 6455 §5.1); a
 * client reader (tests) must not. */
void ws_reader_init(struct ws_reader *r, size_t max_message, bool require_mask);
void ws_reader_free(struct ws_reader *r);
/* Appends received bytes.  MK_ENOMEM leaves the reader unchanged. */
int ws_reader_feed(struct ws_reader *r, const void *data, size_t len);
/* The next event: 1 and *ev filled, 0 when more bytes are needed, or
 * MK_EPROTO once the peer broke the protocol (then and on every later
 * call; ws_reader_error gives the close code to answer with and a reason
 * such as "unmasked client frame"). */
int ws_reader_next(struct ws_reader *r, struct ws_event *ev);
int ws_reader_error(const struct ws_reader *r, const char **reason);

/* Writes a frame header for a payload of `len` into `out`; returns its
 * length.  `mask` (4 bytes) marks the frame masked (clients only); the
 * caller masks the payload with ws_mask. */
size_t ws_frame_header(uint8_t out[WS_MAX_HEADER], enum ws_opcode opcode, bool fin, uint64_t len,
		       const uint8_t *mask);
/* XORs data with the mask key, `offset` bytes into the payload. */
void ws_mask(uint8_t *data, size_t len, const uint8_t mask[4], size_t offset);
/* RFC 3629 UTF-8, no overlongs, no surrogates. */
bool ws_utf8_valid(const uint8_t *s, size_t len);

/* --- handshake (websocket_handshake.c) ---------------------------------- */

/* The request asks for a WebSocket (an Upgrade header naming websocket). */
bool ws_is_upgrade(const struct http_request *r);
/* Checks a WebSocket opening handshake (RFC 6455 §4.2.1): GET, Connection:
 * Upgrade, Sec-WebSocket-Version 13, a Sec-WebSocket-Key of 16 bytes.
 * Picks the first subprotocol the client offered that is in `supported`
 * (NULL-terminated); *chosen is NULL when the client offered none.
 * MK_EINVAL with one line in errmsg (e.g. "requested WebSocket
 * subprotocols are not supported: x; supported: a, b"); *bad_version says
 * the answer should carry Sec-WebSocket-Version: 13. */
int ws_handshake_check(const struct http_request *r, const char *const *supported,
		       const char **chosen, bool *bad_version, char *errmsg, size_t len);
/* Sec-WebSocket-Accept for a key: base64(SHA-1(key + GUID)), 28 chars. */
int ws_accept_key(const char *key, char out[29]);
/* The handler answers this upgrade request as an ordinary one (e.g. 400):
 * the connection then stays open for the next request, as RFC 6455 §4.2.2
 * allows, instead of closing as upgrade requests otherwise do. */
void ws_refuse(struct http_exchange *x);

/* --- the connection (websocket.c) --------------------------------------- */

struct ws;

struct ws_handlers {
	/* A complete TEXT or BINARY message; `data` is valid during the
	 * call only.  ws_* calls are allowed from here. */
	void (*on_message)(void *arg, enum ws_opcode opcode, const uint8_t *data, size_t len);
	/* The send backlog fell back under the low-water mark after
	 * ws_congested() said true.  May be NULL. */
	void (*on_drain)(void *arg);
	/* The end: `code` is the peer's close code, WS_CLOSE_ABNORMAL if the
	 * connection dropped, or the code we closed with.  The ws is freed
	 * after this returns. */
	void (*on_closed)(void *arg, int code);
	void *arg;
};

/* Answers 101 (with Sec-WebSocket-Protocol: `protocol` unless NULL) on an
 * exchange whose request passed ws_handshake_check, and takes the exchange
 * and its connection.  `max_message` 0 means WS_DEFAULT_MAX_MESSAGE.
 * MK_ECLOSED if the client already went away, MK_EINVAL without a
 * Sec-WebSocket-Key, MK_ENOMEM: the exchange is then the caller's as
 * before. */
int ws_upgrade(struct http_exchange *x, const char *protocol, size_t max_message,
	       const struct ws_handlers *h, struct ws **out);
/* Queues one unfragmented message (TEXT, BINARY) or control frame.
 * MK_ECLOSED once closing or closed; MK_EOVERFLOW if the peer fell more
 * than the server's max_backlog_bytes behind (the connection is then being
 * cut).  Callers that produce a lot watch ws_congested() instead. */
int ws_send(struct ws *ws, enum ws_opcode opcode, const void *data, size_t len);
/* More than the high-water mark (1 MiB) queued for the peer: stop
 * producing until on_drain. */
bool ws_congested(struct ws *ws);
/* Stops (true) or resumes reading from the peer: the producer of what we
 * receive is then held back by TCP.  Control frames wait too.  Messages
 * already read are delivered after resuming, from the loop. */
void ws_pause_reading(struct ws *ws, bool pause);
/* Sends a close frame (code, reason of at most 123 bytes) and finishes the
 * close handshake; on_closed follows.  Idempotent. */
void ws_close(struct ws *ws, int code, const char *reason);
/* The negotiated subprotocol, or NULL. */
const char *ws_protocol(const struct ws *ws);

#endif
