/*
 * Internals shared by the files of core/http: the server, its connections
 * and the exchanges in flight.  Not for use outside core/http.
 */
#ifndef MK_HTTP_INTERNAL_H
#define MK_HTTP_INTERNAL_H

#include <http_parser.h>
#include <openssl/ssl.h>

#include "../base/buf.h"
#include "http.h"

enum conn_state {
	CONN_IDLE,     /* keep-alive, waiting for the first byte of a request */
	CONN_HEADERS,  /* reading the request line and headers */
	CONN_BODY,     /* reading the body */
	CONN_HANDLING, /* request complete, the handler owns it */
	CONN_CLOSING,  /* flushing the last bytes, then closing */
};

struct http_server {
	uv_loop_t *loop;
	uv_tcp_t listener;
	struct http_server_config cfg;
	SSL_CTX *tls;
	struct conn *conns; /* doubly linked list of open connections */
	size_t n_conns;
	int open_handles;   /* listener + connections still closing */
	bool stopping;
	void (*stop_done)(void *arg);
	void *stop_arg;
};

struct http_exchange {
	struct conn *conn; /* NULL once the connection is gone */
	struct http_request req;
	struct http_peer *peer; /* copy owned by the exchange */
	void (*close_cb)(void *arg);
	void *close_arg;
	bool streaming;
	bool answered; /* answered on a connection that was closing */
	bool keep_alive;
	bool head; /* HEAD request: no body on the wire */
};

struct conn {
	struct http_server *server;
	struct conn *prev, *next;
	uv_tcp_t tcp;
	uv_timer_t timer;
	SSL *ssl;
	BIO *rbio, *wbio; /* network side of the TLS engine */
	bool handshake_done;
	struct http_peer peer;

	http_parser parser;
	enum conn_state state;
	size_t header_bytes;
	bool header_too_large;
	bool body_too_large;
	bool in_value;        /* last header callback was a value */
	struct mk_buf url;
	struct mk_buf field;  /* header field being read */
	struct mk_buf value;
	char **names, **values;
	size_t n_headers, cap_headers;
	struct mk_buf body;
	bool message_done;

	struct mk_buf pending; /* decrypted bytes not parsed yet */
	struct http_exchange *exchange;
	size_t backlog;        /* bytes handed to uv_write, not yet written */
	/* When set (a connection taken over, websocket.c), called after each
	 * successful write instead of the HTTP close-when-flushed logic. */
	void (*written)(void *arg);
	void *written_arg;
	int closing_handles;
	bool closed;           /* uv_close called */
};

/* tls.c */
SSL_CTX *http_tls_context(const struct http_server_config *cfg, char *errmsg, size_t len);
/* Fills the peer's certificate fields once the handshake is done. */
void http_tls_peer(SSL *ssl, struct http_peer *peer);
void http_peer_clear(struct http_peer *peer);
int http_peer_copy(const struct http_peer *from, struct http_peer **out);

/* conn.c */
void http_conn_accept(struct http_server *s);
void http_conn_close(struct conn *c);
/* Moves whatever TLS produced for the network onto the socket (0, or
 * MK_ENOMEM / MK_EIO: the caller closes). */
int http_conn_flush(struct conn *c);
/* Queues plaintext for the client (through TLS).  0 or MK_ECLOSED. */
int http_conn_send(struct conn *c, const void *data, size_t len);
/* The answer of the current exchange is complete. */
void http_conn_exchange_done(struct conn *c, bool keep_alive);

/* exchange.c */
void http_exchange_free(struct http_exchange *x);

/* server.c */
void http_server_handle_closed(struct http_server *s);

#endif
