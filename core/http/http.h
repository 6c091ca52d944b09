/*
 * HTTPS/1.1 server on the libuv loop: TLS (OpenSSL, memory BIOs), request
 * parsing (http-parser), keep-alive, chunked streaming, limits and timeouts.
 * It knows nothing of Kubernetes: the API server plugs in a handler.
 *
 * Threading: everything here runs on the loop thread that started the
 * server, and every function must be called from it.  Handlers that block
 * hand their work to threads (uv_queue_work) and answer from the loop.
 *
 * Exchange lifecycle: for each complete request the server calls the
 * handler with a `struct http_exchange`.  The handler answers exactly once,
 * with http_respond() or http_stream_start() ... http_stream_end(); the
 * exchange is freed when the answer is complete.  If the client goes away
 * before that:
 *   - with a close callback set (http_exchange_on_close), the callback runs
 *     and the exchange is freed right after it: the handler must forget it;
 *   - without one, the exchange stays valid until the handler answers, and
 *     the answer is discarded.
 * One request is handled at a time per connection (no pipelining); the next
 * request on a keep-alive connection is read once the answer is complete.
 *
 * Limits (defaults in http_server_config_defaults): request headers
 * (431), body (413), a client must finish its headers and body within a
 * deadline (else the connection is closed), idle keep-alive connections
 * are closed, a streaming client that stops reading is disconnected once
 * its backlog passes max_backlog_bytes.  ALPN offers only http/1.1: kubectl
 * offers h2 and must never get it (reference/kubectl-api.md §0.5).
 */
#ifndef MK_HTTP_HTTP_H
#define MK_HTTP_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct http_server;
struct http_exchange;

struct http_header {
	const char *name;
	const char *value;
};

/* Who is on the other end, as the TLS handshake established it. */
struct http_peer {
	char address[64];     /* "ip:port" */
	bool cert_presented;  /* the client sent a certificate */
	bool cert_verified;   /* ... and it chains to the client CA */
	char *cert_cn;        /* subject CN of a verified certificate, or NULL */
	char **cert_orgs;     /* subject O values of a verified certificate */
	size_t n_cert_orgs;
};

struct http_request {
	const char *method;  /* "GET", "POST", ... */
	char *target;        /* the raw request-target */
	char *path;          /* percent-decoded path, without the query */
	char *query;         /* raw query string without '?', "" if none */
	char **header_names; /* lower-cased */
	char **header_values;
	size_t n_headers;
	uint8_t *body;       /* NUL-terminated for convenience; body_len excludes it */
	size_t body_len;
	bool upgrade;        /* "Connection: Upgrade" request */
	const struct http_peer *peer;
};

typedef void (*http_handler_fn)(void *ctx, struct http_exchange *x);

/* Formats the body of an error the server itself produces (400, 408, 413,
 * 431, 505): fills `out` (malloc'd) and its content type.  NULL: text. */
typedef void (*http_error_body_fn)(int status, const char *message, char **out, size_t *len,
				   const char **content_type);

struct http_server_config {
	const char *bind_address; /* "0.0.0.0", "127.0.0.1", "::" */
	int port;
	const char *cert_file;      /* PEM server certificate (chain) */
	const char *key_file;       /* PEM private key */
	const char *client_ca_file; /* CA that client certificates must chain to */
	size_t max_header_bytes;    /* request line + headers */
	size_t max_body_bytes;
	int header_timeout_ms;      /* first byte of a request to end of headers */
	int body_timeout_ms;        /* end of headers to end of body */
	int idle_timeout_ms;        /* keep-alive connection with no request */
	size_t max_backlog_bytes;   /* unsent response bytes before disconnecting */
	http_handler_fn handler;
	void *handler_ctx;
	http_error_body_fn error_body;
};

void http_server_config_defaults(struct http_server_config *cfg);

/* Binds and listens.  MK_EIO with errmsg (e.g. address in use, bad cert). */
int http_server_start(uv_loop_t *loop, const struct http_server_config *cfg,
		      struct http_server **out, char *errmsg, size_t len);
/* Stops listening and closes every connection (close callbacks run).  The
 * server is freed once all handles closed; `done` (may be NULL) then runs. */
void http_server_stop(struct http_server *s, void (*done)(void *arg), void *arg);
/* Number of open connections (tests, metrics). */
size_t http_server_connections(const struct http_server *s);

/* The request of an exchange; valid until the exchange is freed. */
const struct http_request *http_exchange_request(const struct http_exchange *x);
/* First value of header `name` (lower-case), or NULL. */
const char *http_request_header(const struct http_request *r, const char *name);

void http_exchange_on_close(struct http_exchange *x, void (*cb)(void *arg), void *arg);

/* A complete answer with Content-Length.  `extra` headers are added as
 * given.  Frees the exchange once queued. */
void http_respond(struct http_exchange *x, int status, const char *content_type,
		  const struct http_header *extra, size_t n_extra, const void *body, size_t len);

/* A chunked answer: start, any number of writes (each one chunk), end.
 * http_stream_write returns MK_ECLOSED once the client is gone (then call
 * http_stream_end anyway, or rely on the close callback), MK_EOVERFLOW if
 * the client fell behind by more than max_backlog_bytes (the connection is
 * then being closed). */
int http_stream_start(struct http_exchange *x, int status, const char *content_type,
		      const struct http_header *extra, size_t n_extra);
int http_stream_write(struct http_exchange *x, const void *data, size_t len);
void http_stream_end(struct http_exchange *x);
/* Bytes of the answer queued for the client but not written yet (0 once the
 * client is gone): a handler that streams a lot pauses while this is high
 * instead of running into max_backlog_bytes. */
size_t http_stream_backlog(const struct http_exchange *x);

const char *http_status_text(int status);

#endif
