#include "dq_client_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../base/err.h"
#include "../base/net.h"
#include "../base/clock.h"
#include "../base/log.h"

int dq_fail(struct dq_client *c, int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->errmsg, sizeof c->errmsg, fmt, ap);
	va_end(ap);
	return err;
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* ---- transport ---- */

/* Connects to `address` and sends the protocol version (the server does
 * not answer it).  Returns the socket or a negative error with `why`. */
static int dial(const char *address, int timeout_ms, int io_timeout_ms, char *why,
		size_t whylen)
{
	int fd = net_dial(address, timeout_ms, why, whylen);
	if (fd < 0)
		return fd;
	/* Per-call timeouts: a peer that stops answering turns into
	 * MK_EIO instead of a hang. */
	struct timeval tv = {io_timeout_ms / 1000, (io_timeout_ms % 1000) * 1000};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	uint8_t hello[8] = {DQ_PROTOCOL_VERSION, 0, 0, 0, 0, 0, 0, 0};
	if (send(fd, hello, sizeof hello, MSG_NOSIGNAL) != (ssize_t)sizeof hello) {
		snprintf(why, whylen, "%s: handshake: %s", address, strerror(errno));
		close(fd);
		return MK_EUNAVAILABLE;
	}
	return fd;
}

static int send_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int recv_all(int fd, uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t r = recv(fd, p, n, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0)
			errno = ECONNRESET;
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

void dq_client_disconnect(struct dq_client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->address[0] = '\0';
	c->db_open = false;
	/* Prepared statements die with the connection. */
	for (size_t i = 0; i < c->n_cache; i++)
		free(c->cache[i].sql);
	c->n_cache = 0;
}

int dq_send_request(struct dq_client *c)
{
	if (send_all(c->fd, c->out.data, c->out.len) != 0) {
		int e = errno;
		char where[64];
		snprintf(where, sizeof where, "%s", c->address);
		dq_client_disconnect(c);
		return dq_fail(c, MK_EIO, "%s: send: %s", where, strerror(e));
	}
	return MK_OK;
}

void dq_client_fault_lose_answer(struct dq_client *c, enum dq_request type, int nth)
{
	c->fault_type = (int)type;
	c->fault_nth = nth;
}

/* Receives one message body into `in`; *type is its response type. */
int dq_recv_message(struct dq_client *c, struct mk_buf *in, uint8_t *type)
{
	uint8_t raw[DQ_HEADER_SIZE];
	struct dq_header h;
	char where[64];
	snprintf(where, sizeof where, "%s", c->address);
	if (recv_all(c->fd, raw, sizeof raw) != 0) {
		int e = errno;
		dq_client_disconnect(c);
		if (e == EAGAIN || e == EWOULDBLOCK)
			return dq_fail(c, MK_EIO, "%s: no answer within %d ms", where,
				    c->request_timeout_ms);
		return dq_fail(c, MK_EIO, "%s: receive: %s", where, strerror(e));
	}
	dq_header_decode(raw, &h);
	size_t len = (size_t)h.words * 8;
	if (len > DQ_MAX_BODY) {
		dq_client_disconnect(c);
		return dq_fail(c, MK_EPROTO, "%s: response of %zu bytes refused", where, len);
	}
	mk_buf_reset(in);
	if (mk_buf_reserve(in, len) != MK_OK) {
		dq_client_disconnect(c);
		return dq_fail(c, MK_ENOMEM, "no memory for a %zu-byte response", len);
	}
	if (recv_all(c->fd, in->data, len) != 0) {
		int e = errno;
		dq_client_disconnect(c);
		return dq_fail(c, MK_EIO, "%s: receive: %s", where, strerror(e));
	}
	in->len = len;
	*type = h.type;
	return MK_OK;
}

/* Maps a FAILURE body to an error; drops the connection when the failure
 * means this node can no longer serve us. */
int dq_failure(struct dq_client *c, const struct mk_buf *in)
{
	struct dq_cursor cur = dq_cursor_init(in->data, in->len);
	uint64_t code;
	const char *msg;
	char where[64];
	snprintf(where, sizeof where, "%s", c->address);
	if (dq_decode_failure(&cur, &code, &msg) != MK_OK) {
		dq_client_disconnect(c);
		return dq_fail(c, MK_EPROTO, "%s: malformed FAILURE response", where);
	}
	c->last_code = code;
	int err;
	switch (code) {
	case SQLITE_IOERR_NOT_LEADER:
		err = MK_ENOTLEADER;
		break;
	case SQLITE_IOERR_LEADERSHIP_LOST:
		err = MK_EMAYBE;
		break;
	default:
		err = ((code & 0xff) == 5 || (code & 0xff) == 6) ? MK_EBUSY : MK_ESQL;
	}
	dq_fail(c, err, "%s: %s (sqlite code %llu)", where, msg, (unsigned long long)code);
	if (err == MK_ENOTLEADER || err == MK_EMAYBE)
		dq_client_disconnect(c);
	return err;
}

/* Sends c->out and receives a response that must be of type `expect`. */
int dq_roundtrip(struct dq_client *c, uint8_t expect)
{
	uint8_t type;
	c->last_code = 0;
	int rv = dq_send_request(c);
	if (rv == MK_OK)
		rv = dq_recv_message(c, &c->in, &type);
	if (rv != MK_OK)
		return rv;
	if (c->fault_nth > 0 && c->out.data[4] == c->fault_type && --c->fault_nth == 0) {
		/* The server did the work; its answer is lost on the way. */
		dq_client_disconnect(c);
		return dq_fail(c, MK_EIO, "injected fault: answer lost");
	}
	if (type == DQ_RESP_FAILURE)
		return dq_failure(c, &c->in);
	if (type != expect) {
		char where[64];
		snprintf(where, sizeof where, "%s", c->address);
		dq_client_disconnect(c);
		return dq_fail(c, MK_EPROTO, "%s: response type %u, expected %u", where,
			    type, expect);
	}
	return MK_OK;
}

/* ---- connecting ---- */

/* Asks the node on `fd` whom it believes to be leader. */
int dq_ask_leader(struct dq_client *c, uint64_t *id, char *addr, size_t len)
{
	int rv = dq_msg_begin(&c->out);
	if (rv == MK_OK)
		rv = dq_put_u64(&c->out, 0);
	if (rv != MK_OK)
		return dq_fail(c, rv, "out of memory");
	dq_msg_end(&c->out, DQ_REQ_LEADER);
	rv = dq_roundtrip(c, DQ_RESP_SERVER);
	if (rv != MK_OK)
		return rv;
	struct dq_cursor cur = dq_cursor_init(c->in.data, c->in.len);
	const char *a;
	if (dq_get_u64(&cur, id) != MK_OK || dq_get_text(&cur, &a, NULL) != MK_OK) {
		char where[64];
		snprintf(where, sizeof where, "%s", c->address);
		dq_client_disconnect(c);
		return dq_fail(c, MK_EPROTO, "%s: malformed SERVER response", where);
	}
	snprintf(addr, len, "%s", a);
	return MK_OK;
}

static int attach(struct dq_client *c, int fd, const char *address)
{
	c->fd = fd;
	snprintf(c->address, sizeof c->address, "%s", address);
	c->generation++;
	return MK_OK;
}

/* One pass over the members: 0 when connected to the leader, else an error
 * with the reason per member appended to `why`. */
static int discover_once(struct dq_client *c, char *why, size_t whylen)
{
	size_t used = 0;
	why[0] = '\0';
	for (size_t i = 0; i < c->n_members; i++) {
		char reason[256];
		const char *member = c->members[i];
		int fd = dial(member, c->connect_timeout_ms, c->request_timeout_ms, reason,
			      sizeof reason);
		if (fd >= 0) {
			attach(c, fd, member);
			uint64_t id;
			char leader[64];
			int rv = dq_ask_leader(c, &id, leader, sizeof leader);
			if (rv != MK_OK) {
				snprintf(reason, sizeof reason, "%s", c->errmsg);
			} else if (leader[0] == '\0') {
				snprintf(reason, sizeof reason, "%s: knows no leader", member);
			} else if (strcmp(leader, member) == 0) {
				return MK_OK;
			} else {
				/* Dial the leader it names, and check that the
				 * leader agrees: a removed node keeps answering
				 * with a stale leader (reference §3). */
				dq_client_disconnect(c);
				fd = dial(leader, c->connect_timeout_ms, c->request_timeout_ms,
					  reason, sizeof reason);
				if (fd >= 0) {
					attach(c, fd, leader);
					char again[64];
					rv = dq_ask_leader(c, &id, again, sizeof again);
					if (rv == MK_OK && strcmp(again, leader) == 0)
						return MK_OK;
					snprintf(reason, sizeof reason,
						 "%s: named by %s but not leader", leader, member);
				}
			}
			dq_client_disconnect(c);
		}
		if (used < whylen) {
			int n = snprintf(why + used, whylen - used, "%s%s", used ? "; " : "",
					 reason);
			if (n > 0)
				used += (size_t)n;
		}
	}
	return MK_EUNAVAILABLE;
}

int dq_client_connect(struct dq_client *c)
{
	if (c->fd >= 0)
		return MK_OK;
	char why[400];
	if (c->direct) {
		int fd = dial(c->members[0], c->connect_timeout_ms, c->request_timeout_ms,
			      why, sizeof why);
		if (fd < 0)
			return dq_fail(c, fd, "%s", why);
		return attach(c, fd, c->members[0]);
	}
	int64_t deadline = mk_monotonic_ms() + c->discovery_timeout_ms;
	int backoff = 50;
	for (;;) {
		if (discover_once(c, why, sizeof why) == MK_OK)
			return MK_OK;
		int64_t left = deadline - mk_monotonic_ms();
		if (left <= 0)
			break;
		sleep_ms((int)(backoff < left ? backoff : left));
		backoff = backoff * 2 > 1000 ? 1000 : backoff * 2;
	}
	return dq_fail(c, MK_EUNAVAILABLE, "no leader found within %d ms: %s",
		    c->discovery_timeout_ms, why);
}

/* Connects and OPENs the database; SQL requests need both. */
int dq_ensure_db(struct dq_client *c)
{
	int rv = dq_client_connect(c);
	if (rv != MK_OK || c->db_open)
		return rv;
	rv = dq_msg_begin(&c->out);
	if (rv == MK_OK)
		rv = dq_put_text(&c->out, c->database);
	if (rv == MK_OK)
		rv = dq_put_u64(&c->out, 0);
	if (rv == MK_OK)
		rv = dq_put_text(&c->out, "volatile");
	if (rv != MK_OK)
		return dq_fail(c, rv, "out of memory");
	dq_msg_end(&c->out, DQ_REQ_OPEN);
	rv = dq_roundtrip(c, DQ_RESP_DB);
	if (rv != MK_OK)
		return rv;
	struct dq_cursor cur = dq_cursor_init(c->in.data, c->in.len);
	uint32_t pad;
	if (dq_get_u32_pair(&cur, &c->db_id, &pad) != MK_OK) {
		dq_client_disconnect(c);
		return dq_fail(c, MK_EPROTO, "malformed DB response");
	}
	c->db_open = true;
	return MK_OK;
}

int dq_client_open(const struct dq_client_config *config, struct dq_client **out)
{
	if (config->n_members == 0 || config->members == NULL)
		return MK_EINVAL;
	struct dq_client *c = calloc(1, sizeof *c);
	if (c == NULL)
		return MK_ENOMEM;
	c->fd = -1;
	c->members = calloc(config->n_members, sizeof *c->members);
	if (c->members == NULL)
		goto err_after_alloc;
	for (size_t i = 0; i < config->n_members; i++) {
		c->members[i] = strdup(config->members[i]);
		if (c->members[i] == NULL)
			goto err_after_alloc;
		c->n_members++;
	}
	c->database = strdup(config->database ? config->database : "mk");
	if (c->database == NULL)
		goto err_after_alloc;
	c->direct = config->direct;
	c->connect_timeout_ms = config->connect_timeout_ms > 0 ? config->connect_timeout_ms : 1000;
	c->request_timeout_ms = config->request_timeout_ms > 0 ? config->request_timeout_ms : 10000;
	c->discovery_timeout_ms =
		config->discovery_timeout_ms > 0 ? config->discovery_timeout_ms : 10000;
	*out = c;
	return MK_OK;

err_after_alloc:
	dq_client_close(c);
	return MK_ENOMEM;
}

void dq_client_close(struct dq_client *c)
{
	if (c == NULL)
		return;
	dq_client_disconnect(c);
	for (size_t i = 0; i < c->n_members; i++)
		free(c->members[i]);
	free(c->members);
	free(c->database);
	mk_buf_free(&c->out);
	mk_buf_free(&c->in);
	free(c);
}

bool dq_client_connected(const struct dq_client *c)
{
	return c->fd >= 0;
}

const char *dq_client_errmsg(const struct dq_client *c)
{
	return c->errmsg;
}

uint64_t dq_client_last_code(const struct dq_client *c)
{
	return c->last_code;
}

const char *dq_client_address(const struct dq_client *c)
{
	return c->address;
}

uint64_t dq_client_generation(const struct dq_client *c)
{
	return c->generation;
}
