/*
 * Answers: status line and headers, Content-Length bodies and chunked
 * streams, and the exchange's lifetime (see http.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/buf.h"
#include "../base/err.h"
#include "http_internal.h"

const char *http_status_text(int status)
{
	switch (status) {
	case 101: return "Switching Protocols";
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 406: return "Not Acceptable";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 410: return "Gone";
	case 413: return "Request Entity Too Large";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Entity";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	case 505: return "HTTP Version Not Supported";
	default: return "Unknown";
	}
}

const struct http_request *http_exchange_request(const struct http_exchange *x)
{
	return &x->req;
}

const char *http_request_header(const struct http_request *r, const char *name)
{
	for (size_t i = 0; i < r->n_headers; i++)
		if (strcmp(r->header_names[i], name) == 0)
			return r->header_values[i];
	return NULL;
}

void http_exchange_on_close(struct http_exchange *x, void (*cb)(void *arg), void *arg)
{
	x->close_cb = cb;
	x->close_arg = arg;
}

void http_exchange_free(struct http_exchange *x)
{
	struct http_request *r = &x->req;
	free(r->target);
	free(r->path);
	free(r->query);
	for (size_t i = 0; i < r->n_headers; i++) {
		free(r->header_names[i]);
		free(r->header_values[i]);
	}
	free(r->header_names);
	free(r->header_values);
	free(r->body);
	if (x->peer != NULL) {
		http_peer_clear(x->peer);
		free(x->peer);
	}
	free(x);
}

static int format_head(struct mk_buf *b, struct http_exchange *x, int status,
		       const char *content_type, const struct http_header *extra, size_t n_extra,
		       const char *framing)
{
	char line[256];
	int n = snprintf(line, sizeof line, "HTTP/1.1 %d %s\r\n", status, http_status_text(status));
	if (mk_buf_append(b, line, (size_t)n) != MK_OK)
		return MK_ENOMEM;
	if (content_type != NULL) {
		n = snprintf(line, sizeof line, "Content-Type: %s\r\n", content_type);
		if (mk_buf_append(b, line, (size_t)n) != MK_OK)
			return MK_ENOMEM;
	}
	for (size_t i = 0; i < n_extra; i++) {
		/* Header values come from our own code, but never let one
		 * split the response. */
		if (strpbrk(extra[i].name, "\r\n:") || strpbrk(extra[i].value, "\r\n"))
			continue;
		if (mk_buf_append(b, extra[i].name, strlen(extra[i].name)) != MK_OK ||
		    mk_buf_append(b, ": ", 2) != MK_OK ||
		    mk_buf_append(b, extra[i].value, strlen(extra[i].value)) != MK_OK ||
		    mk_buf_append(b, "\r\n", 2) != MK_OK)
			return MK_ENOMEM;
	}
	if (mk_buf_append(b, framing, strlen(framing)) != MK_OK)
		return MK_ENOMEM;
	if (!x->keep_alive && mk_buf_append(b, "Connection: close\r\n", 19) != MK_OK)
		return MK_ENOMEM;
	return mk_buf_append(b, "\r\n", 2);
}

/* The answer is complete (or abandoned). */
static void finish(struct http_exchange *x)
{
	struct conn *c = x->conn;
	if (c != NULL && c->closed) {
		/* The connection's close path frees it, without the close
		 * callback: the handler is done with it. */
		x->answered = true;
		x->close_cb = NULL;
		return;
	}
	bool keep_alive = x->keep_alive;
	http_exchange_free(x);
	if (c != NULL)
		http_conn_exchange_done(c, keep_alive);
}

void http_respond(struct http_exchange *x, int status, const char *content_type,
		  const struct http_header *extra, size_t n_extra, const void *body, size_t len)
{
	struct conn *c = x->conn;
	if (c == NULL) {
		finish(x);
		return;
	}
	struct mk_buf b = MK_BUF_INIT;
	char framing[64];
	snprintf(framing, sizeof framing, "Content-Length: %zu\r\n", len);
	bool no_body = x->head || status == 304 || status == 204;
	if (status == 304 || status == 204)
		framing[0] = '\0';
	if (format_head(&b, x, status, content_type, extra, n_extra, framing) != MK_OK ||
	    (!no_body && len > 0 && mk_buf_append(&b, body, len) != MK_OK)) {
		mk_buf_free(&b);
		x->keep_alive = false;
		finish(x);
		return;
	}
	http_conn_send(c, b.data, b.len); /* on failure the connection closes */
	mk_buf_free(&b);
	finish(x);
}

int http_stream_start(struct http_exchange *x, int status, const char *content_type,
		      const struct http_header *extra, size_t n_extra)
{
	if (x->conn == NULL)
		return MK_ECLOSED;
	struct mk_buf b = MK_BUF_INIT;
	x->streaming = true;
	int rv = format_head(&b, x, status, content_type, extra, n_extra,
			     "Transfer-Encoding: chunked\r\n");
	if (rv == MK_OK)
		rv = http_conn_send(x->conn, b.data, b.len);
	mk_buf_free(&b);
	return rv;
}

int http_stream_write(struct http_exchange *x, const void *data, size_t len)
{
	struct conn *c = x->conn;
	if (c == NULL || c->closed)
		return MK_ECLOSED;
	if (len == 0)
		return MK_OK; /* a zero-length chunk would end the stream */
	if (c->backlog > c->server->cfg.max_backlog_bytes) {
		http_conn_close(c);
		return MK_EOVERFLOW;
	}
	char size[32];
	int n = snprintf(size, sizeof size, "%zx\r\n", len);
	struct mk_buf b = MK_BUF_INIT;
	int rv = MK_ENOMEM;
	if (mk_buf_reserve(&b, (size_t)n + len + 2) == MK_OK) {
		mk_buf_append(&b, size, (size_t)n);
		mk_buf_append(&b, data, len);
		mk_buf_append(&b, "\r\n", 2);
		rv = http_conn_send(c, b.data, b.len);
	}
	mk_buf_free(&b);
	return rv;
}

size_t http_stream_backlog(const struct http_exchange *x)
{
	return x->conn != NULL && !x->conn->closed ? x->conn->backlog : 0;
}

void http_stream_end(struct http_exchange *x)
{
	struct conn *c = x->conn;
	if (c != NULL && !c->closed)
		http_conn_send(c, "0\r\n\r\n", 5);
	finish(x);
}
