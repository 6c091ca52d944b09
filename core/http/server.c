/*
 * The listening side of the HTTP server and its lifecycle.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/err.h"
#include "../base/log.h"
#include "http_internal.h"

void http_server_config_defaults(struct http_server_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->bind_address = "0.0.0.0";
	cfg->port = 16443;
	cfg->max_header_bytes = 64 * 1024;
	cfg->max_body_bytes = 3 * 1024 * 1024; /* the kube-apiserver's limit */
	cfg->header_timeout_ms = 10000;
	cfg->body_timeout_ms = 60000;
	cfg->idle_timeout_ms = 120000;
	cfg->max_backlog_bytes = 16 * 1024 * 1024;
}

static void maybe_done(struct http_server *s)
{
	if (!s->stopping || s->open_handles > 0)
		return;
	void (*done)(void *) = s->stop_done;
	void *arg = s->stop_arg;
	SSL_CTX_free(s->tls);
	free(s);
	if (done != NULL)
		done(arg);
}

void http_server_handle_closed(struct http_server *s)
{
	s->open_handles--;
	maybe_done(s);
}

static void on_listener_closed(uv_handle_t *h)
{
	http_server_handle_closed(h->data);
}

static void on_connection(uv_stream_t *listener, int status)
{
	struct http_server *s = listener->data;
	if (status < 0 || s->stopping)
		return;
	http_conn_accept(s);
}

int http_server_start(uv_loop_t *loop, const struct http_server_config *cfg,
		      struct http_server **out, char *errmsg, size_t len)
{
	struct http_server *s = calloc(1, sizeof *s);
	if (s == NULL)
		return MK_ENOMEM;
	s->loop = loop;
	s->cfg = *cfg;
	s->tls = http_tls_context(cfg, errmsg, len);
	if (s->tls == NULL) {
		free(s);
		return MK_EIO;
	}
	struct sockaddr_storage addr;
	int rv = strchr(cfg->bind_address, ':') != NULL
			 ? uv_ip6_addr(cfg->bind_address, cfg->port, (struct sockaddr_in6 *)&addr)
			 : uv_ip4_addr(cfg->bind_address, cfg->port, (struct sockaddr_in *)&addr);
	if (rv != 0) {
		snprintf(errmsg, len, "bad listen address %s", cfg->bind_address);
		SSL_CTX_free(s->tls);
		free(s);
		return MK_EINVAL;
	}
	uv_tcp_init(loop, &s->listener);
	s->listener.data = s;
	s->open_handles = 1;
	rv = uv_tcp_bind(&s->listener, (struct sockaddr *)&addr, 0);
	if (rv == 0)
		rv = uv_listen((uv_stream_t *)&s->listener, 511, on_connection);
	if (rv != 0) {
		snprintf(errmsg, len, "cannot listen on %s:%d: %s", cfg->bind_address, cfg->port,
			 uv_strerror(rv));
		s->stopping = true;
		uv_close((uv_handle_t *)&s->listener, on_listener_closed);
		return MK_EIO;
	}
	*out = s;
	return MK_OK;
}

void http_server_stop(struct http_server *s, void (*done)(void *arg), void *arg)
{
	s->stopping = true;
	s->stop_done = done;
	s->stop_arg = arg;
	uv_close((uv_handle_t *)&s->listener, on_listener_closed);
	while (s->conns != NULL)
		http_conn_close(s->conns); /* unlinks it */
}

size_t http_server_connections(const struct http_server *s)
{
	return s->n_conns;
}
