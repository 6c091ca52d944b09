#include "dqlite_proxy.h"

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "../base/err.h"
#include "../base/log.h"
#include "../store/dq_wire.h"

/* A side whose peer has this much unsent data waiting stops reading until
 * it drains: a slow reader cannot make the proxy buffer without bound. */
#define BACKLOG_LIMIT (4u * 1024 * 1024)
#define READ_CHUNK 65536
#define DQ_REQ_CONNECT 11 /* raft peers; never sent by clients */
#define LEGACY_PROTOCOL 0x86104dd760433fe5ULL

enum parse_state { IN_HANDSHAKE, IN_HEADER, IN_BODY, PASS_THROUGH };

struct link;

/* One direction's endpoint. */
struct side {
	union {
		uv_handle_t handle;
		uv_stream_t stream;
		uv_tcp_t tcp;
		uv_pipe_t pipe;
	} h;
	struct link *link;
	struct side *peer;
	bool reading;
	bool open;
};

struct link {
	struct dqlite_proxy *proxy;
	struct side client;
	struct side node;
	enum parse_state state;
	enum parse_state after_body;
	uint8_t word[8]; /* bytes of the handshake or header gathered so far */
	size_t have;
	uint64_t body_left;
	bool closing;
	int open_handles;
	struct link *prev, *next;
};

struct dqlite_proxy {
	uv_loop_t *loop;
	uv_tcp_t listener;
	char backend[108];
	struct link *links;
	bool stopping;
	bool listener_closed;
};

struct write_req {
	uv_write_t req;
	struct side *to;
	char *data;
};

static void link_close(struct link *l, const char *why);

static bool known_request(uint8_t type)
{
	/* 0..19 without 2 (HEARTBEAT, never answered by 1.11). */
	return type <= DQ_REQ_WEIGHT && type != 2;
}

/* Feeds client bytes through the rule checker.  Returns false (and a
 * reason) at the first byte that breaks a rule. */
static bool check_client_bytes(struct link *l, const uint8_t *p, size_t n, const char **why)
{
	while (n > 0 && l->state != PASS_THROUGH) {
		if (l->state == IN_BODY) {
			size_t take = n < l->body_left ? n : (size_t)l->body_left;
			l->body_left -= take;
			p += take;
			n -= take;
			if (l->body_left == 0)
				l->state = l->after_body;
			continue;
		}
		size_t take = 8 - l->have < n ? 8 - l->have : n;
		memcpy(l->word + l->have, p, take);
		l->have += take;
		p += take;
		n -= take;
		if (l->have < 8)
			break;
		l->have = 0;
		if (l->state == IN_HANDSHAKE) {
			uint64_t v = 0;
			for (int i = 7; i >= 0; i--)
				v = (v << 8) | l->word[i];
			if (v != DQ_PROTOCOL_VERSION && v != LEGACY_PROTOCOL) {
				*why = "unknown protocol version";
				return false;
			}
			l->state = IN_HEADER;
			continue;
		}
		struct dq_header h;
		dq_header_decode(l->word, &h);
		if (!known_request(h.type)) {
			*why = "unknown request type";
			return false;
		}
		if ((uint64_t)h.words * 8 > DQLITE_PROXY_MAX_BODY) {
			*why = "request body over the size limit";
			return false;
		}
		/* After CONNECT's body the stream is raft between two nodes. */
		l->after_body = h.type == DQ_REQ_CONNECT ? PASS_THROUGH : IN_HEADER;
		l->body_left = (uint64_t)h.words * 8;
		l->state = l->body_left ? IN_BODY : l->after_body;
	}
	return true;
}

static void on_close(uv_handle_t *h)
{
	struct side *s = h->data;
	struct link *l = s->link;
	if (--l->open_handles > 0)
		return;
	struct dqlite_proxy *p = l->proxy;
	if (l->prev)
		l->prev->next = l->next;
	else
		p->links = l->next;
	if (l->next)
		l->next->prev = l->prev;
	free(l);
	/* Close callbacks run in no promised order: the last one out frees
	 * the proxy. */
	if (p->listener_closed && p->links == NULL)
		free(p);
}

static void link_close(struct link *l, const char *why)
{
	if (l->closing)
		return;
	l->closing = true;
	if (why)
		mk_warn("proxy", "closing a dqlite connection: %s", why);
	struct side *sides[2] = {&l->client, &l->node};
	for (int i = 0; i < 2; i++) {
		if (sides[i]->open && !uv_is_closing(&sides[i]->h.handle))
			uv_close(&sides[i]->h.handle, on_close);
	}
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	(void)suggested;
	buf->base = malloc(READ_CHUNK);
	buf->len = buf->base ? READ_CHUNK : 0;
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf);

static void on_written(uv_write_t *req, int status)
{
	struct write_req *w = (struct write_req *)req;
	struct side *to = w->to;
	struct link *l = to->link;
	free(w->data);
	free(w);
	if (status < 0) {
		link_close(l, NULL);
		return;
	}
	/* The destination drained: its source may read again. */
	struct side *from = to->peer;
	if (!l->closing && !from->reading &&
	    uv_stream_get_write_queue_size(&to->h.stream) < BACKLOG_LIMIT / 2) {
		from->reading = true;
		uv_read_start(&from->h.stream, alloc_cb, on_read);
	}
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
	struct side *from = stream->data;
	struct link *l = from->link;
	if (nread <= 0) {
		free(buf->base);
		if (nread < 0) /* EOF or error: the conversation is over */
			link_close(l, NULL);
		return;
	}
	if (l->closing) {
		free(buf->base);
		return;
	}
	const char *why = NULL;
	if (from == &l->client && l->state != PASS_THROUGH &&
	    !check_client_bytes(l, (const uint8_t *)buf->base, (size_t)nread, &why)) {
		free(buf->base);
		link_close(l, why);
		return;
	}
	struct side *to = from->peer;
	struct write_req *w = malloc(sizeof *w);
	if (w == NULL) {
		free(buf->base);
		link_close(l, "out of memory");
		return;
	}
	w->to = to;
	w->data = buf->base;
	uv_buf_t out = uv_buf_init(buf->base, (unsigned)nread);
	if (uv_write(&w->req, &to->h.stream, &out, 1, on_written) != 0) {
		free(w->data);
		free(w);
		link_close(l, NULL);
		return;
	}
	if (uv_stream_get_write_queue_size(&to->h.stream) > BACKLOG_LIMIT) {
		uv_read_stop(&from->h.stream);
		from->reading = false;
	}
}

/* Connects to the node's abstract socket.  libuv 1.44 cannot name an
 * abstract socket, so the fd is made here; a local connect is immediate. */
static int connect_backend(const char *name)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t n = strlen(name);
	memcpy(sa.sun_path + 1, name, n); /* sun_path[0] = 0: abstract */
	socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
	if (connect(fd, (struct sockaddr *)&sa, len) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void on_connection(uv_stream_t *server, int status)
{
	struct dqlite_proxy *p = server->data;
	if (status < 0 || p->stopping)
		return;
	struct link *l = calloc(1, sizeof *l);
	if (l == NULL)
		return;
	l->proxy = p;
	l->client.link = l->node.link = l;
	l->client.peer = &l->node;
	l->node.peer = &l->client;
	uv_tcp_init(p->loop, &l->client.h.tcp);
	l->client.h.handle.data = &l->client;
	l->client.open = true;
	l->open_handles = 1;
	l->next = p->links;
	if (p->links)
		p->links->prev = l;
	p->links = l;
	if (uv_accept(server, &l->client.h.stream) != 0) {
		link_close(l, NULL);
		return;
	}
	uv_tcp_nodelay(&l->client.h.tcp, 1);
	int fd = connect_backend(p->backend);
	if (fd < 0) {
		link_close(l, "the local dqlite node does not answer");
		return;
	}
	uv_pipe_init(p->loop, &l->node.h.pipe, 0);
	l->node.h.handle.data = &l->node;
	l->node.open = true;
	l->open_handles++;
	if (uv_pipe_open(&l->node.h.pipe, fd) != 0) {
		close(fd);
		link_close(l, "cannot use the node's socket");
		return;
	}
	l->client.reading = l->node.reading = true;
	uv_read_start(&l->client.h.stream, alloc_cb, on_read);
	uv_read_start(&l->node.h.stream, alloc_cb, on_read);
}

static void on_listener_close(uv_handle_t *h)
{
	struct dqlite_proxy *p = h->data;
	p->listener_closed = true;
	if (p->links == NULL)
		free(p);
}

int dqlite_proxy_start(uv_loop_t *loop, const char *listen_address, const char *backend,
		       struct dqlite_proxy **out, char *errmsg, size_t errlen)
{
	char host[64];
	const char *colon = strrchr(listen_address, ':');
	struct sockaddr_in sa;
	if (colon == NULL || (size_t)(colon - listen_address) >= sizeof host ||
	    strlen(backend) >= sizeof((struct dqlite_proxy *)0)->backend - 1) {
		snprintf(errmsg, errlen, "bad proxy address %s", listen_address);
		return MK_EINVAL;
	}
	memcpy(host, listen_address, (size_t)(colon - listen_address));
	host[colon - listen_address] = '\0';
	if (uv_ip4_addr(host, atoi(colon + 1), &sa) != 0) {
		snprintf(errmsg, errlen, "bad proxy address %s", listen_address);
		return MK_EINVAL;
	}
	struct dqlite_proxy *p = calloc(1, sizeof *p);
	if (p == NULL) {
		snprintf(errmsg, errlen, "out of memory");
		return MK_ENOMEM;
	}
	p->loop = loop;
	snprintf(p->backend, sizeof p->backend, "%s", backend);
	uv_tcp_init(loop, &p->listener);
	p->listener.data = p;
	int rv = uv_tcp_bind(&p->listener, (const struct sockaddr *)&sa, 0);
	if (rv == 0)
		rv = uv_listen((uv_stream_t *)&p->listener, 128, on_connection);
	if (rv != 0) {
		/* libuv errors are negated errno values. */
		snprintf(errmsg, errlen, "cannot bind %s: %s", listen_address, strerror(-rv));
		uv_close((uv_handle_t *)&p->listener, on_listener_close);
		return MK_EIO;
	}
	*out = p;
	return MK_OK;
}

void dqlite_proxy_stop(struct dqlite_proxy *p)
{
	if (p == NULL)
		return;
	p->stopping = true;
	for (struct link *l = p->links; l; l = l->next)
		link_close(l, NULL);
	uv_close((uv_handle_t *)&p->listener, on_listener_close);
}
