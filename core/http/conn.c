/*
 * One client connection: TCP -> TLS (memory BIOs) -> http-parser -> one
 * exchange at a time -> answer -> TLS -> TCP.  See http.h for the contract.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

#include "../base/err.h"
#include "../base/log.h"
#include "http_internal.h"

#define READ_CHUNK 16384
/* Decrypted bytes we hold while a request is being handled.  kubectl does
 * not pipeline, so anything beyond this is a misbehaving client. */
#define MAX_PENDING (1024 * 1024)

static void conn_parse(struct conn *c);
static void send_error(struct conn *c, int status, const char *message);

/* --- timers ------------------------------------------------------------ */

static void on_timeout(uv_timer_t *t)
{
	struct conn *c = t->data;
	if (c->state == CONN_IDLE)
		mk_debug("http", "%s: idle connection closed", c->peer.address);
	else
		mk_info("http", "%s: closed: request not complete in time", c->peer.address);
	http_conn_close(c);
}

static void arm_timer(struct conn *c, int ms)
{
	if (c->closed)
		return;
	if (ms > 0)
		uv_timer_start(&c->timer, on_timeout, (uint64_t)ms, 0);
	else
		uv_timer_stop(&c->timer);
}

/* --- writing ----------------------------------------------------------- */

struct write_req {
	uv_write_t req;
	struct conn *conn;
	size_t len;
	char data[];
};

static void maybe_finish_close(struct conn *c);

static void on_written(uv_write_t *req, int status)
{
	struct write_req *w = (struct write_req *)req;
	struct conn *c = w->conn;
	c->backlog -= w->len;
	free(w);
	if (status < 0 && !c->closed)
		http_conn_close(c);
	else if (c->written != NULL && !c->closed)
		c->written(c->written_arg);
	else if (c->state == CONN_CLOSING && c->backlog == 0)
		maybe_finish_close(c);
}

int http_conn_flush(struct conn *c)
{
	int pending;
	while ((pending = BIO_pending(c->wbio)) > 0) {
		struct write_req *w = malloc(sizeof *w + (size_t)pending);
		if (w == NULL)
			return MK_ENOMEM;
		int n = BIO_read(c->wbio, w->data, pending);
		if (n <= 0) {
			free(w);
			break;
		}
		w->conn = c;
		w->len = (size_t)n;
		uv_buf_t b = uv_buf_init(w->data, (unsigned)n);
		if (uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_written) != 0) {
			free(w);
			return MK_EIO;
		}
		c->backlog += (size_t)n;
	}
	return MK_OK;
}

int http_conn_send(struct conn *c, const void *data, size_t len)
{
	if (c->closed)
		return MK_ECLOSED;
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

/* --- closing ----------------------------------------------------------- */

static void on_handle_closed(uv_handle_t *h)
{
	struct conn *c = h->data;
	if (--c->closing_handles > 0)
		return;
	struct http_server *s = c->server;
	/* Close callbacks run here, from the loop and never from inside a
	 * call the handler is making (see http.h). */
	struct http_exchange *x = c->exchange;
	if (x != NULL) {
		x->conn = NULL;
		if (x->answered) {
			http_exchange_free(x);
		} else if (x->close_cb != NULL) {
			x->close_cb(x->close_arg);
			http_exchange_free(x);
		}
		/* else the handler still owns it and answers into the void */
	}
	SSL_free(c->ssl); /* frees both BIOs */
	http_peer_clear(&c->peer);
	mk_buf_free(&c->url);
	mk_buf_free(&c->field);
	mk_buf_free(&c->value);
	mk_buf_free(&c->body);
	mk_buf_free(&c->pending);
	for (size_t i = 0; i < c->n_headers; i++) {
		free(c->names[i]);
		free(c->values[i]);
	}
	free(c->names);
	free(c->values);
	free(c);
	http_server_handle_closed(s);
}

static void maybe_finish_close(struct conn *c)
{
	if (c->closed)
		return;
	c->closed = true;
	/* Unlink now so the server never hands this connection out again. */
	if (c->prev)
		c->prev->next = c->next;
	else
		c->server->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->server->n_conns--;
	c->closing_handles = 2;
	uv_close((uv_handle_t *)&c->timer, on_handle_closed);
	uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
}

void http_conn_close(struct conn *c)
{
	if (c->closed)
		return;
	uv_read_stop((uv_stream_t *)&c->tcp);
	c->state = CONN_CLOSING;
	maybe_finish_close(c);
}

/* Closes once what was queued has been written (a final answer). */
static void close_after_flush(struct conn *c)
{
	if (c->closed)
		return;
	uv_read_stop((uv_stream_t *)&c->tcp);
	uv_timer_stop(&c->timer);
	c->state = CONN_CLOSING;
	if (SSL_is_init_finished(c->ssl)) {
		SSL_shutdown(c->ssl);
		http_conn_flush(c);
	}
	if (c->backlog == 0)
		maybe_finish_close(c);
}

/* --- parsing ----------------------------------------------------------- */

static int count_header_bytes(struct conn *c, size_t n)
{
	c->header_bytes += n;
	if (c->header_bytes > c->server->cfg.max_header_bytes) {
		c->header_too_large = true;
		return -1;
	}
	return 0;
}

static int on_message_begin(http_parser *p)
{
	struct conn *c = p->data;
	c->state = CONN_HEADERS;
	c->header_bytes = 0;
	arm_timer(c, c->server->cfg.header_timeout_ms);
	return 0;
}

static int on_url(http_parser *p, const char *at, size_t n)
{
	struct conn *c = p->data;
	if (count_header_bytes(c, n) != 0)
		return -1;
	return mk_buf_append(&c->url, at, n) == MK_OK ? 0 : -1;
}

static int store_header(struct conn *c)
{
	if (c->field.len == 0)
		return 0;
	if (c->n_headers == c->cap_headers) {
		size_t cap = c->cap_headers ? c->cap_headers * 2 : 16;
		char **n = realloc(c->names, cap * sizeof *n);
		if (n == NULL)
			return -1;
		c->names = n;
		char **v = realloc(c->values, cap * sizeof *v);
		if (v == NULL)
			return -1;
		c->values = v;
		c->cap_headers = cap;
	}
	char *name = strndup((char *)c->field.data, c->field.len);
	char *value = strndup(c->value.len ? (char *)c->value.data : "", c->value.len);
	if (name == NULL || value == NULL) {
		free(name);
		free(value);
		return -1;
	}
	for (char *q = name; *q; q++)
		*q = (char)tolower((unsigned char)*q);
	c->names[c->n_headers] = name;
	c->values[c->n_headers] = value;
	c->n_headers++;
	mk_buf_reset(&c->field);
	mk_buf_reset(&c->value);
	return 0;
}

static int on_header_field(http_parser *p, const char *at, size_t n)
{
	struct conn *c = p->data;
	if (count_header_bytes(c, n) != 0)
		return -1;
	if (c->in_value && store_header(c) != 0)
		return -1;
	c->in_value = false;
	return mk_buf_append(&c->field, at, n) == MK_OK ? 0 : -1;
}

static int on_header_value(http_parser *p, const char *at, size_t n)
{
	struct conn *c = p->data;
	if (count_header_bytes(c, n) != 0)
		return -1;
	c->in_value = true;
	return mk_buf_append(&c->value, at, n) == MK_OK ? 0 : -1;
}

static int on_headers_complete(http_parser *p)
{
	struct conn *c = p->data;
	if (c->in_value && store_header(c) != 0)
		return -1;
	c->in_value = false;
	if (p->content_length != ULLONG_MAX && p->content_length > 0 &&
	    p->content_length > c->server->cfg.max_body_bytes) {
		c->body_too_large = true;
		return -1;
	}
	c->state = CONN_BODY;
	arm_timer(c, c->server->cfg.body_timeout_ms);
	return 0;
}

static int on_body(http_parser *p, const char *at, size_t n)
{
	struct conn *c = p->data;
	if (c->body.len + n > c->server->cfg.max_body_bytes) {
		c->body_too_large = true;
		return -1;
	}
	return mk_buf_append(&c->body, at, n) == MK_OK ? 0 : -1;
}

static int on_message_complete(http_parser *p)
{
	struct conn *c = p->data;
	c->message_done = true;
	/* Stop here: the rest of the input belongs to the next request. */
	http_parser_pause(p, 1);
	return 0;
}

static const http_parser_settings parser_settings = {
	.on_message_begin = on_message_begin,
	.on_url = on_url,
	.on_header_field = on_header_field,
	.on_header_value = on_header_value,
	.on_headers_complete = on_headers_complete,
	.on_body = on_body,
	.on_message_complete = on_message_complete,
};

static void reset_request(struct conn *c)
{
	mk_buf_reset(&c->url);
	mk_buf_reset(&c->field);
	mk_buf_reset(&c->value);
	for (size_t i = 0; i < c->n_headers; i++) {
		free(c->names[i]);
		free(c->values[i]);
	}
	c->n_headers = 0;
	/* Hand big bodies back to the allocator between requests. */
	if (c->body.cap > 65536)
		mk_buf_free(&c->body);
	else
		mk_buf_reset(&c->body);
	c->header_bytes = 0;
	c->in_value = false;
	c->message_done = false;
}

static int hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	ch = tolower(ch);
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	return -1;
}

/* Percent-decodes `in[0..n)`.  NULL on bad escapes or an encoded NUL. */
static char *decode_path(const char *in, size_t n)
{
	char *out = malloc(n + 1), *o = out;
	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (in[i] != '%') {
			*o++ = in[i];
			continue;
		}
		int h = i + 2 < n ? hexval((unsigned char)in[i + 1]) : -1;
		int l = i + 2 < n ? hexval((unsigned char)in[i + 2]) : -1;
		if (h < 0 || l < 0 || (h == 0 && l == 0)) {
			free(out);
			return NULL;
		}
		*o++ = (char)(h * 16 + l);
		i += 2;
	}
	*o = '\0';
	return out;
}

/* Moves the parsed request into a new exchange and calls the handler. */
static void dispatch(struct conn *c)
{
	struct http_exchange *x = calloc(1, sizeof *x);
	if (x == NULL)
		goto oom;
	struct http_request *r = &x->req;
	r->method = http_method_str(c->parser.method);
	r->target = strndup(c->url.len ? (char *)c->url.data : "", c->url.len);
	if (r->target == NULL)
		goto oom;
	const char *q = strchr(r->target, '?');
	size_t plen = q ? (size_t)(q - r->target) : strlen(r->target);
	r->query = strdup(q ? q + 1 : "");
	if (r->query == NULL)
		goto oom;
	r->path = decode_path(r->target, plen);
	if (r->path == NULL || r->path[0] != '/') {
		http_exchange_free(x);
		send_error(c, 400, "malformed request path");
		return;
	}
	r->header_names = c->names;
	r->header_values = c->values;
	r->n_headers = c->n_headers;
	c->names = c->values = NULL;
	c->n_headers = c->cap_headers = 0;
	/* Keep the body NUL-terminated: parsers downstream rely on it. */
	if (mk_buf_append(&c->body, "", 1) != MK_OK)
		goto oom;
	r->body_len = c->body.len - 1;
	r->body = c->body.data;
	c->body = (struct mk_buf)MK_BUF_INIT;
	r->upgrade = c->parser.upgrade;
	if (http_peer_copy(&c->peer, &x->peer) != MK_OK)
		goto oom;
	r->peer = x->peer;
	x->keep_alive = http_should_keep_alive(&c->parser) && !c->parser.upgrade;
	x->head = c->parser.method == HTTP_HEAD;
	x->conn = c;
	c->exchange = x;
	c->state = CONN_HANDLING;
	arm_timer(c, 0);
	reset_request(c);
	c->server->cfg.handler(c->server->cfg.handler_ctx, x);
	return;
oom:
	if (x != NULL)
		http_exchange_free(x);
	send_error(c, 500, "out of memory");
}

/* Answers a request the server refuses by itself, then closes. */
static void send_error(struct conn *c, int status, const char *message)
{
	char *body = NULL;
	size_t len = 0;
	const char *ctype = "text/plain; charset=utf-8";
	if (c->server->cfg.error_body != NULL)
		c->server->cfg.error_body(status, message, &body, &len, &ctype);
	if (body == NULL) {
		body = strdup(message);
		len = body ? strlen(body) : 0;
	}
	char head[512];
	int n = snprintf(head, sizeof head,
			 "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
			 "Connection: close\r\n\r\n",
			 status, http_status_text(status), ctype, len);
	if (http_conn_send(c, head, (size_t)n) == MK_OK && len > 0)
		http_conn_send(c, body, len);
	free(body);
	close_after_flush(c);
}

/* Feeds decrypted bytes held in `pending` to the parser, dispatching at most
 * one request. */
static void conn_parse(struct conn *c)
{
	while (!c->closed && c->exchange == NULL && c->pending.len > 0) {
		http_parser_pause(&c->parser, 0);
		size_t n = http_parser_execute(&c->parser, &parser_settings,
					       (const char *)c->pending.data, c->pending.len);
		enum http_errno e = HTTP_PARSER_ERRNO(&c->parser);
		if (e != HPE_OK && e != HPE_PAUSED) {
			if (c->header_too_large)
				send_error(c, 431, "request header fields too large");
			else if (c->body_too_large)
				send_error(c, 413, "request entity too large");
			else if (e == HPE_INVALID_VERSION)
				send_error(c, 505, "HTTP version not supported");
			else
				send_error(c, 400, http_errno_description(e));
			return;
		}
		memmove(c->pending.data, c->pending.data + n, c->pending.len - n);
		c->pending.len -= n;
		if (c->message_done) {
			dispatch(c);
			return;
		}
		if (n == 0)
			break;
	}
}

/* --- reading ----------------------------------------------------------- */

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
	if (nread == 0)
		return;
	if (nread < 0) {
		http_conn_close(c);
		return;
	}
	if (BIO_write(c->rbio, buf->base, (int)nread) != (int)nread) {
		http_conn_close(c);
		return;
	}
	if (!c->handshake_done) {
		int r = SSL_do_handshake(c->ssl);
		http_conn_flush(c);
		if (r != 1) {
			int e = SSL_get_error(c->ssl, r);
			if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
				mk_debug("http", "%s: TLS handshake failed", c->peer.address);
				ERR_clear_error();
				http_conn_close(c);
			}
			return;
		}
		c->handshake_done = true;
		http_tls_peer(c->ssl, &c->peer);
	}
	char plain[READ_CHUNK];
	for (;;) {
		int n = SSL_read(c->ssl, plain, sizeof plain);
		if (n <= 0) {
			int e = SSL_get_error(c->ssl, n);
			ERR_clear_error();
			if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
				break;
			/* close_notify or a TLS error: the client is done. */
			http_conn_close(c);
			return;
		}
		if (c->pending.len + (size_t)n > MAX_PENDING + c->server->cfg.max_body_bytes ||
		    mk_buf_append(&c->pending, plain, (size_t)n) != MK_OK) {
			http_conn_close(c);
			return;
		}
	}
	http_conn_flush(c); /* TLS 1.3 may answer (e.g. key updates) */
	conn_parse(c);
}

/* --- lifecycle --------------------------------------------------------- */

void http_conn_exchange_done(struct conn *c, bool keep_alive)
{
	c->exchange = NULL;
	if (!keep_alive) {
		close_after_flush(c);
		return;
	}
	c->state = CONN_IDLE;
	arm_timer(c, c->server->cfg.idle_timeout_ms);
	conn_parse(c);
}

void http_conn_accept(struct http_server *s)
{
	struct conn *c = calloc(1, sizeof *c);
	if (c == NULL)
		return;
	c->server = s;
	uv_tcp_init(s->loop, &c->tcp);
	uv_timer_init(s->loop, &c->timer);
	c->tcp.data = c->timer.data = c;
	c->closing_handles = 0;
	if (uv_accept((uv_stream_t *)&s->listener, (uv_stream_t *)&c->tcp) != 0)
		goto fail_handles;
	uv_tcp_nodelay(&c->tcp, 1);
	struct sockaddr_storage ss;
	int sl = sizeof ss;
	char ip[48] = "?";
	int port = 0;
	if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &sl) == 0) {
		if (ss.ss_family == AF_INET) {
			uv_ip4_name((struct sockaddr_in *)&ss, ip, sizeof ip);
			port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
		} else {
			uv_ip6_name((struct sockaddr_in6 *)&ss, ip, sizeof ip);
			port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
		}
	}
	snprintf(c->peer.address, sizeof c->peer.address, "%s:%d", ip, port);
	c->ssl = SSL_new(s->tls);
	c->rbio = BIO_new(BIO_s_mem());
	c->wbio = BIO_new(BIO_s_mem());
	if (c->ssl == NULL || c->rbio == NULL || c->wbio == NULL) {
		BIO_free(c->rbio);
		BIO_free(c->wbio);
		goto fail_handles;
	}
	SSL_set_bio(c->ssl, c->rbio, c->wbio);
	SSL_set_accept_state(c->ssl);
	http_parser_init(&c->parser, HTTP_REQUEST);
	c->parser.data = c;
	c->state = CONN_IDLE;
	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
	s->n_conns++;
	s->open_handles++;
	/* The handshake must finish within the header deadline too. */
	arm_timer(c, s->cfg.header_timeout_ms);
	if (uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, on_read) != 0)
		http_conn_close(c);
	return;
fail_handles:
	/* Not linked into the list yet: just close the handles. */
	s->open_handles++;
	c->closed = true;
	c->closing_handles = 2;
	uv_close((uv_handle_t *)&c->timer, on_handle_closed);
	uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
}
