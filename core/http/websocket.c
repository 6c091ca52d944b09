/*
 * A WebSocket on a connection of the HTTP server: after the 101 answer the
 * connection's TCP reads and TLS session belong to this file, which speaks
 * frames instead of HTTP.  See websocket.h for the contract.
 *
 * How it sits on conn.c: the exchange stays the connection's current one
 * until the connection closes, so conn.c runs our close callback (that is
 * on_closed) after every handle is closed and every write callback ran.
 * Reads are taken over with our own uv_read_start callbacks; writes go
 * through the same TLS engine with our own write callbacks, which count
 * towards the connection's backlog like conn.c's and tell us when the
 * peer has caught up.  The connection's timer, idle while an exchange is
 * handled, serves for the close handshake deadline and for deferring work
 * out of callers' stacks.
 */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <openssl/err.h>

#include "../base/err.h"
#include "../base/log.h"
#include "http_internal.h"
#include "websocket.h"

#define READ_CHUNK 16384
#define HIGH_WATER (1024 * 1024)
#define LOW_WATER (256 * 1024)
#define CLOSE_TIMEOUT_MS 5000
/* A peer that vanished without FIN or RST is found after about
 * KEEPIDLE + KEEPCNT * KEEPINTVL seconds of silence. */
#define KEEPIDLE_S 30
#define KEEPINTVL_S 10
#define KEEPCNT 3

struct ws {
	struct conn *c; /* valid until on_closed */
	struct ws_handlers h;
	struct ws_reader rd;
	char *protocol;
	size_t high_water;
	int close_code;      /* what on_closed reports once the handshake ran */
	bool paused;         /* the user paused reading */
	bool congested;      /* ws_congested said true: on_drain is owed */
	bool close_sent;     /* our close frame is queued: no more sends */
	bool close_received; /* the peer's close frame came */
	bool finishing;      /* closing the TCP connection once flushed */
	bool processing;     /* inside process(): events point into the reader */
};

/* The connection's exchange carries the ws as its close argument. */
static struct ws *ws_of(struct conn *c)
{
	return c->exchange ? c->exchange->close_arg : NULL;
}

/* --- writing ------------------------------------------------------------- */

/* After each write the connection made for us (conn.c): a drained backlog
 * resumes a congested sender, or completes the closing handshake. */
static void on_written(void *arg)
{
	struct ws *ws = arg;
	struct conn *c = ws->c;
	if (ws->finishing && c->backlog == 0) {
		http_conn_close(c);
		return;
	}
	if (ws->congested && c->backlog <= LOW_WATER && !ws->close_sent) {
		ws->congested = false;
		if (ws->h.on_drain != NULL)
			ws->h.on_drain(ws->h.arg);
	}
}

static int send_raw(struct ws *ws, const void *data, size_t len)
{
	struct conn *c = ws->c;
	const char *p = data;
	while (len > 0) {
		int chunk = len > 65536 ? 65536 : (int)len;
		int n = SSL_write(c->ssl, p, chunk);
		if (n <= 0) {
			ERR_clear_error();
			http_conn_close(c);
			return MK_ECLOSED;
		}
		p += n;
		len -= (size_t)n;
	}
	if (http_conn_flush(c) != MK_OK) {
		http_conn_close(c);
		return MK_ECLOSED;
	}
	return MK_OK;
}

static int send_frame(struct ws *ws, enum ws_opcode op, const void *data, size_t len)
{
	uint8_t small[1024];
	uint8_t hdr[WS_MAX_HEADER];
	size_t h = ws_frame_header(hdr, op, true, len, NULL);
	/* Small frames go out as one TLS record. */
	if (h + len <= sizeof small) {
		memcpy(small, hdr, h);
		if (len > 0)
			memcpy(small + h, data, len);
		return send_raw(ws, small, h + len);
	}
	int rv = send_raw(ws, hdr, h);
	return rv == MK_OK ? send_raw(ws, data, len) : rv;
}

bool ws_congested(struct ws *ws)
{
	struct conn *c = ws->c;
	if (c->closed || c->backlog <= ws->high_water)
		return false;
	ws->congested = true; /* the caller waits for on_drain */
	return true;
}

int ws_send(struct ws *ws, enum ws_opcode op, const void *data, size_t len)
{
	struct conn *c = ws->c;
	if (op == WS_OP_CLOSE || op == WS_OP_CONT || ((op & 0x8) && len > 125))
		return MK_EINVAL;
	if (c->closed || ws->close_sent)
		return MK_ECLOSED;
	if (c->backlog > c->server->cfg.max_backlog_bytes) {
		mk_info("http", "%s: WebSocket peer fell behind, disconnecting", c->peer.address);
		http_conn_close(c);
		return MK_EOVERFLOW;
	}
	int rv = send_frame(ws, op, data, len);
	if (rv == MK_OK && c->backlog > ws->high_water)
		ws->congested = true;
	return rv;
}

/* --- closing ------------------------------------------------------------- */

static void on_timer(uv_timer_t *t);

/* Closes TCP once what is queued is written (or the deadline passes). */
static void finish(struct ws *ws)
{
	struct conn *c = ws->c;
	if (ws->finishing || c->closed)
		return;
	ws->finishing = true;
	c->state = CONN_CLOSING;
	uv_read_stop((uv_stream_t *)&c->tcp);
	SSL_shutdown(c->ssl);
	http_conn_flush(c);
	if (c->backlog == 0) {
		http_conn_close(c);
		return;
	}
	uv_timer_start(&c->timer, on_timer, CLOSE_TIMEOUT_MS, 0);
}

static int send_close(struct ws *ws, int code, const char *reason)
{
	uint8_t payload[125];
	size_t n = 0;
	if (code != WS_CLOSE_NO_STATUS) {
		payload[0] = (uint8_t)(code >> 8);
		payload[1] = (uint8_t)code;
		n = 2;
		size_t rl = reason ? strlen(reason) : 0;
		if (rl > sizeof payload - 2)
			rl = sizeof payload - 2;
		if (rl > 0)
			memcpy(payload + 2, reason, rl);
		n += rl;
	}
	ws->close_sent = true;
	return send_frame(ws, WS_OP_CLOSE, payload, n);
}

static void process(struct ws *ws);
static void start_reading(struct ws *ws);

void ws_close(struct ws *ws, int code, const char *reason)
{
	struct conn *c = ws->c;
	if (ws->close_sent || c->closed)
		return;
	ws->close_code = code;
	if (send_close(ws, code, reason) != MK_OK)
		return;
	if (ws->close_received) {
		finish(ws);
		return;
	}
	/* Wait for the peer's close frame, reading even if the user had
	 * paused: data messages are dropped from now on. */
	uv_timer_start(&c->timer, on_timer, CLOSE_TIMEOUT_MS, 0);
	if (ws->paused) {
		ws->paused = false;
		start_reading(ws);
	}
	/* The peer's close may be read already.  From inside on_message the
	 * running loop gets to it: the event in hand must stay valid. */
	if (!ws->processing)
		process(ws);
}

/* The exchange's close callback: the connection is gone. */
static void on_conn_closed(void *arg)
{
	struct ws *ws = arg;
	int code = ws->close_received || ws->close_sent ? ws->close_code : WS_CLOSE_ABNORMAL;
	ws->h.on_closed(ws->h.arg, code);
	ws_reader_free(&ws->rd);
	free(ws->protocol);
	free(ws);
}

/* --- reading ------------------------------------------------------------- */

/* Handles the events the reader holds, until it needs more bytes. */
static void process(struct ws *ws)
{
	struct conn *c = ws->c;
	struct ws_event ev;
	int rv = 0;
	ws->processing = true;
	while (!c->closed && !ws->finishing && (!ws->paused || ws->close_sent) &&
	       (rv = ws_reader_next(&ws->rd, &ev)) == 1) {
		switch (ev.opcode) {
		case WS_OP_TEXT:
		case WS_OP_BINARY:
			if (!ws->close_sent)
				ws->h.on_message(ws->h.arg, ev.opcode, ev.data, ev.len);
			break;
		case WS_OP_PING:
			if (!ws->close_sent)
				send_frame(ws, WS_OP_PONG, ev.data, ev.len);
			break;
		case WS_OP_CLOSE:
			ws->close_received = true;
			if (!ws->close_sent) {
				/* Echo the code (RFC 6455 §5.5.1); the peer
				 * started the close. */
				ws->close_code = ev.code;
				send_close(ws, ev.code, NULL);
			}
			finish(ws);
			ws->processing = false;
			return;
		default:
			break; /* PONG: nothing to do */
		}
	}
	ws->processing = false;
	if (rv == MK_EPROTO && !c->closed && !ws->finishing) {
		const char *reason;
		int code = ws_reader_error(&ws->rd, &reason);
		mk_info("http", "%s: WebSocket closed: %s", c->peer.address, reason);
		if (!ws->close_sent) {
			ws->close_code = code;
			send_close(ws, code, reason);
		}
		finish(ws); /* a broken peer gets no close handshake */
	}
}

static void on_timer(uv_timer_t *t)
{
	struct conn *c = t->data;
	struct ws *ws = ws_of(c);
	if (ws == NULL || c->closed)
		return;
	if (ws->close_sent || ws->finishing) {
		mk_debug("http", "%s: WebSocket close handshake timed out", c->peer.address);
		http_conn_close(c);
		return;
	}
	process(ws); /* deferred from ws_upgrade or ws_pause_reading */
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	(void)h;
	(void)suggested;
	static __thread char scratch[READ_CHUNK]; /* consumed before the next read */
	*buf = uv_buf_init(scratch, sizeof scratch);
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
	struct conn *c = stream->data;
	struct ws *ws = ws_of(c);
	if (nread == 0 || ws == NULL)
		return;
	if (nread < 0 || BIO_write(c->rbio, buf->base, (int)nread) != (int)nread) {
		http_conn_close(c);
		return;
	}
	char plain[READ_CHUNK];
	for (;;) {
		int n = SSL_read(c->ssl, plain, sizeof plain);
		if (n <= 0) {
			int e = SSL_get_error(c->ssl, n);
			ERR_clear_error();
			if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
				break;
			http_conn_close(c); /* close_notify or a TLS error */
			return;
		}
		if (ws_reader_feed(&ws->rd, plain, (size_t)n) != MK_OK) {
			http_conn_close(c);
			return;
		}
	}
	http_conn_flush(c); /* TLS 1.3 may answer (key updates) */
	process(ws);
}

static void start_reading(struct ws *ws)
{
	struct conn *c = ws->c;
	uv_read_stop((uv_stream_t *)&c->tcp);
	if (uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, on_read) != 0)
		http_conn_close(c);
}

void ws_pause_reading(struct ws *ws, bool pause)
{
	struct conn *c = ws->c;
	if (c->closed || ws->close_sent || ws->finishing || ws->paused == pause)
		return;
	ws->paused = pause;
	if (pause) {
		uv_read_stop((uv_stream_t *)&c->tcp);
		return;
	}
	start_reading(ws);
	/* Events already read wait in the reader: hand them over from the
	 * loop, not from inside this call. */
	uv_timer_start(&c->timer, on_timer, 0, 0);
}

/* --- the upgrade ----------------------------------------------------------- */

static void keepalive(struct conn *c)
{
	uv_os_fd_t fd;
	uv_tcp_keepalive(&c->tcp, 1, KEEPIDLE_S);
	if (uv_fileno((uv_handle_t *)&c->tcp, &fd) == 0) {
		int intvl = KEEPINTVL_S, cnt = KEEPCNT;
		setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof intvl);
		setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof cnt);
	}
}

int ws_upgrade(struct http_exchange *x, const char *protocol, size_t max_message,
	       const struct ws_handlers *h, struct ws **out)
{
	struct conn *c = x->conn;
	if (c == NULL || c->closed)
		return MK_ECLOSED;
	const char *key = http_request_header(&x->req, "sec-websocket-key");
	char accept[29];
	if (key == NULL || ws_accept_key(key, accept) != MK_OK)
		return MK_EINVAL;
	struct ws *ws = calloc(1, sizeof *ws);
	if (ws == NULL)
		return MK_ENOMEM;
	if (protocol != NULL && (ws->protocol = strdup(protocol)) == NULL) {
		free(ws);
		return MK_ENOMEM;
	}
	char head[512];
	int n = snprintf(head, sizeof head,
			 "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
			 "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n%s%s%s\r\n",
			 accept, protocol ? "Sec-WebSocket-Protocol: " : "",
			 protocol ? protocol : "", protocol ? "\r\n" : "");
	if (n < 0 || (size_t)n >= sizeof head) {
		free(ws->protocol);
		free(ws);
		return MK_EINVAL;
	}
	ws->c = c;
	c->written = on_written;
	c->written_arg = ws;
	ws->h = *h;
	ws->close_code = WS_CLOSE_ABNORMAL;
	size_t max_backlog = c->server->cfg.max_backlog_bytes;
	ws->high_water = max_backlog / 2 < HIGH_WATER ? max_backlog / 2 : HIGH_WATER;
	ws_reader_init(&ws->rd, max_message, true);
	x->keep_alive = false;
	x->streaming = true;
	http_exchange_on_close(x, on_conn_closed, ws);
	/* From here the connection is ours: no HTTP timeouts, our reads. */
	uv_timer_stop(&c->timer);
	keepalive(c);
	start_reading(ws);
	send_raw(ws, head, (size_t)n); /* on failure the connection closes */
	/* A client may send frames right behind its handshake; conn.c kept
	 * those bytes. */
	if (c->pending.len > 0 && !c->closed) {
		if (ws_reader_feed(&ws->rd, c->pending.data, c->pending.len) != MK_OK)
			http_conn_close(c);
		mk_buf_free(&c->pending);
		if (!c->closed)
			uv_timer_start(&c->timer, on_timer, 0, 0);
	}
	*out = ws;
	return MK_OK;
}

const char *ws_protocol(const struct ws *ws)
{
	return ws->protocol;
}
