#include "dq_client.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../base/err.h"
#include "../base/log.h"

/* Responses above this size are refused as garbage.  The largest legitimate
 * ones are DUMPs of the whole database, which we keep far below it. */
#define DQ_MAX_BODY ((size_t)1 << 30)
#define DQ_STMT_CACHE 48

/* SQLite extended codes that dqlite uses for cluster conditions. */
#define SQLITE_IOERR_NOT_LEADER 10250
#define SQLITE_IOERR_LEADERSHIP_LOST 10506

struct cached_stmt {
	char *sql;
	struct dq_stmt stmt;
};

struct dq_client {
	char **members;
	size_t n_members;
	char *database;
	bool direct;
	int connect_timeout_ms;
	int request_timeout_ms;
	int discovery_timeout_ms;

	int fd; /* -1 while disconnected */
	char address[64];
	uint64_t generation;
	bool db_open;
	uint32_t db_id;

	struct mk_buf out;
	struct mk_buf in;
	struct cached_stmt cache[DQ_STMT_CACHE];
	size_t n_cache;

	uint64_t last_code;
	char errmsg[512];
	int fault_type;       /* tests: lose the answer to the nth request */
	int fault_nth;        /* of this type (see dq_client_fault_lose_answer) */
};

static int fail(struct dq_client *c, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct dq_client *c, int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->errmsg, sizeof c->errmsg, fmt, ap);
	va_end(ap);
	return err;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* ---- transport ---- */

static int split_address(const char *address, char *host, size_t hostlen,
			 char *port, size_t portlen)
{
	const char *colon = strrchr(address, ':');
	if (colon == NULL || colon == address || colon[1] == '\0')
		return MK_EINVAL;
	size_t n = (size_t)(colon - address);
	if (n >= hostlen || strlen(colon + 1) >= portlen)
		return MK_EINVAL;
	memcpy(host, address, n);
	host[n] = '\0';
	strcpy(port, colon + 1);
	return MK_OK;
}

/* Connects to "IP:PORT" within timeout_ms and sends the protocol version.
 * Returns the socket or a negative error with `why` filled in. */
static int dial(const char *address, int timeout_ms, int io_timeout_ms, char *why,
		size_t whylen)
{
	char host[64], port[16];
	if (split_address(address, host, sizeof host, port, sizeof port) != MK_OK) {
		snprintf(why, whylen, "bad address \"%s\" (want IP:PORT)", address);
		return MK_EINVAL;
	}
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_NUMERICSERV};
	struct addrinfo *ai = NULL;
	int gai = getaddrinfo(host, port, &hints, &ai);
	if (gai != 0) {
		snprintf(why, whylen, "%s: %s", address, gai_strerror(gai));
		return MK_EUNAVAILABLE;
	}
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(why, whylen, "%s: socket: %s", address, strerror(errno));
		freeaddrinfo(ai);
		return MK_EIO;
	}
	int rv = connect(fd, ai->ai_addr, ai->ai_addrlen);
	freeaddrinfo(ai);
	if (rv != 0 && errno != EINPROGRESS)
		goto err_connect;
	if (rv != 0) {
		struct pollfd pfd = {.fd = fd, .events = POLLOUT};
		rv = poll(&pfd, 1, timeout_ms);
		if (rv == 0) {
			snprintf(why, whylen, "%s: connect timed out after %d ms", address,
				 timeout_ms);
			close(fd);
			return MK_EUNAVAILABLE;
		}
		int soerr = 0;
		socklen_t slen = sizeof soerr;
		getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &slen);
		if (rv < 0 || soerr != 0) {
			errno = soerr ? soerr : errno;
			goto err_connect;
		}
	}
	/* Back to blocking with per-call timeouts: a peer that stops
	 * answering turns into MK_EIO instead of a hang. */
	int one = 1;
	struct timeval tv = {io_timeout_ms / 1000, (io_timeout_ms % 1000) * 1000};
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0) {
		snprintf(why, whylen, "%s: fcntl: %s", address, strerror(errno));
		close(fd);
		return MK_EIO;
	}
	uint8_t hello[8] = {DQ_PROTOCOL_VERSION, 0, 0, 0, 0, 0, 0, 0};
	if (send(fd, hello, sizeof hello, MSG_NOSIGNAL) != (ssize_t)sizeof hello) {
		snprintf(why, whylen, "%s: handshake: %s", address, strerror(errno));
		close(fd);
		return MK_EUNAVAILABLE;
	}
	return fd;

err_connect:
	snprintf(why, whylen, "%s: %s", address, strerror(errno));
	close(fd);
	return MK_EUNAVAILABLE;
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

static int send_request(struct dq_client *c)
{
	if (send_all(c->fd, c->out.data, c->out.len) != 0) {
		int e = errno;
		char where[64];
		snprintf(where, sizeof where, "%s", c->address);
		dq_client_disconnect(c);
		return fail(c, MK_EIO, "%s: send: %s", where, strerror(e));
	}
	return MK_OK;
}

void dq_client_fault_lose_answer(struct dq_client *c, enum dq_request type, int nth)
{
	c->fault_type = (int)type;
	c->fault_nth = nth;
}

/* Receives one message body into `in`; *type is its response type. */
static int recv_message(struct dq_client *c, struct mk_buf *in, uint8_t *type)
{
	uint8_t raw[DQ_HEADER_SIZE];
	struct dq_header h;
	char where[64];
	snprintf(where, sizeof where, "%s", c->address);
	if (recv_all(c->fd, raw, sizeof raw) != 0) {
		int e = errno;
		dq_client_disconnect(c);
		if (e == EAGAIN || e == EWOULDBLOCK)
			return fail(c, MK_EIO, "%s: no answer within %d ms", where,
				    c->request_timeout_ms);
		return fail(c, MK_EIO, "%s: receive: %s", where, strerror(e));
	}
	dq_header_decode(raw, &h);
	size_t len = (size_t)h.words * 8;
	if (len > DQ_MAX_BODY) {
		dq_client_disconnect(c);
		return fail(c, MK_EPROTO, "%s: response of %zu bytes refused", where, len);
	}
	mk_buf_reset(in);
	if (mk_buf_reserve(in, len) != MK_OK) {
		dq_client_disconnect(c);
		return fail(c, MK_ENOMEM, "no memory for a %zu-byte response", len);
	}
	if (recv_all(c->fd, in->data, len) != 0) {
		int e = errno;
		dq_client_disconnect(c);
		return fail(c, MK_EIO, "%s: receive: %s", where, strerror(e));
	}
	in->len = len;
	*type = h.type;
	return MK_OK;
}

/* Maps a FAILURE body to an error; drops the connection when the failure
 * means this node can no longer serve us. */
static int failure(struct dq_client *c, const struct mk_buf *in)
{
	struct dq_cursor cur = dq_cursor_init(in->data, in->len);
	uint64_t code;
	const char *msg;
	char where[64];
	snprintf(where, sizeof where, "%s", c->address);
	if (dq_decode_failure(&cur, &code, &msg) != MK_OK) {
		dq_client_disconnect(c);
		return fail(c, MK_EPROTO, "%s: malformed FAILURE response", where);
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
	fail(c, err, "%s: %s (sqlite code %llu)", where, msg, (unsigned long long)code);
	if (err == MK_ENOTLEADER || err == MK_EMAYBE)
		dq_client_disconnect(c);
	return err;
}

/* Sends c->out and receives a response that must be of type `expect`. */
static int roundtrip(struct dq_client *c, uint8_t expect)
{
	uint8_t type;
	c->last_code = 0;
	int rv = send_request(c);
	if (rv == MK_OK)
		rv = recv_message(c, &c->in, &type);
	if (rv != MK_OK)
		return rv;
	if (c->fault_nth > 0 && c->out.data[4] == c->fault_type && --c->fault_nth == 0) {
		/* The server did the work; its answer is lost on the way. */
		dq_client_disconnect(c);
		return fail(c, MK_EIO, "injected fault: answer lost");
	}
	if (type == DQ_RESP_FAILURE)
		return failure(c, &c->in);
	if (type != expect) {
		char where[64];
		snprintf(where, sizeof where, "%s", c->address);
		dq_client_disconnect(c);
		return fail(c, MK_EPROTO, "%s: response type %u, expected %u", where,
			    type, expect);
	}
	return MK_OK;
}

/* ---- connecting ---- */

/* Asks the node on `fd` whom it believes to be leader. */
static int ask_leader(struct dq_client *c, uint64_t *id, char *addr, size_t len)
{
	int rv = dq_msg_begin(&c->out);
	if (rv == MK_OK)
		rv = dq_put_u64(&c->out, 0);
	if (rv != MK_OK)
		return fail(c, rv, "out of memory");
	dq_msg_end(&c->out, DQ_REQ_LEADER);
	rv = roundtrip(c, DQ_RESP_SERVER);
	if (rv != MK_OK)
		return rv;
	struct dq_cursor cur = dq_cursor_init(c->in.data, c->in.len);
	const char *a;
	if (dq_get_u64(&cur, id) != MK_OK || dq_get_text(&cur, &a, NULL) != MK_OK) {
		dq_client_disconnect(c);
		return fail(c, MK_EPROTO, "malformed SERVER response");
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
			int rv = ask_leader(c, &id, leader, sizeof leader);
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
					rv = ask_leader(c, &id, again, sizeof again);
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
			return fail(c, fd, "%s", why);
		return attach(c, fd, c->members[0]);
	}
	int64_t deadline = now_ms() + c->discovery_timeout_ms;
	int backoff = 50;
	for (;;) {
		if (discover_once(c, why, sizeof why) == MK_OK)
			return MK_OK;
		int64_t left = deadline - now_ms();
		if (left <= 0)
			break;
		sleep_ms((int)(backoff < left ? backoff : left));
		backoff = backoff * 2 > 1000 ? 1000 : backoff * 2;
	}
	return fail(c, MK_EUNAVAILABLE, "no leader found within %d ms: %s",
		    c->discovery_timeout_ms, why);
}

/* Connects and OPENs the database; SQL requests need both. */
static int ensure_db(struct dq_client *c)
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
		return fail(c, rv, "out of memory");
	dq_msg_end(&c->out, DQ_REQ_OPEN);
	rv = roundtrip(c, DQ_RESP_DB);
	if (rv != MK_OK)
		return rv;
	struct dq_cursor cur = dq_cursor_init(c->in.data, c->in.len);
	uint32_t pad;
	if (dq_get_u32_pair(&cur, &c->db_id, &pad) != MK_OK) {
		dq_client_disconnect(c);
		return fail(c, MK_EPROTO, "malformed DB response");
	}
	c->db_open = true;
	return MK_OK;
}

static int ensure_connected(struct dq_client *c)
{
	return dq_client_connect(c);
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

/* ---- SQL ---- */

static int decode_result(struct dq_client *c, struct dq_result *res)
{
	struct dq_cursor cur = dq_cursor_init(c->in.data, c->in.len);
	struct dq_result tmp;
	if (dq_get_u64(&cur, &tmp.last_insert_id) != MK_OK ||
	    dq_get_u64(&cur, &tmp.rows_affected) != MK_OK) {
		dq_client_disconnect(c);
		return fail(c, MK_EPROTO, "malformed RESULT response");
	}
	if (res)
		*res = tmp;
	return MK_OK;
}

void dq_rows_free(struct dq_rows *r)
{
	if (r == NULL)
		return;
	if (r->columns)
		for (unsigned i = 0; i < r->ncols; i++)
			free(r->columns[i]);
	free(r->columns);
	free(r->values);
	for (size_t i = 0; i < r->npages_; i++)
		mk_buf_free(&r->pages_[i]);
	free(r->pages_);
	memset(r, 0, sizeof *r);
}

/* Takes ownership of `page` as the rows' newest page. */
static int rows_keep_page(struct dq_rows *r, struct mk_buf *page)
{
	struct mk_buf *p = realloc(r->pages_, (r->npages_ + 1) * sizeof *p);
	if (p == NULL)
		return MK_ENOMEM;
	r->pages_ = p;
	p[r->npages_++] = *page;
	*page = (struct mk_buf)MK_BUF_INIT;
	return MK_OK;
}

static int rows_push(struct dq_rows *r, const struct dq_value *vals, size_t *cap)
{
	if (r->nrows == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		struct dq_value *v = realloc(r->values, ncap * r->ncols * sizeof *v);
		if (v == NULL)
			return MK_ENOMEM;
		r->values = v;
		*cap = ncap;
	}
	memcpy(&r->values[r->nrows * r->ncols], vals, r->ncols * sizeof *vals);
	r->nrows++;
	return MK_OK;
}

/* After a QUERY was sent: gathers every ROWS page.  When max_rows is
 * reached with pages still to come, sends INTERRUPT and drains until the
 * server's EMPTY so that the connection stays in step. */
static int receive_rows(struct dq_client *c, size_t max_rows, struct dq_rows *r)
{
	memset(r, 0, sizeof *r);
	const char **names = malloc(DQ_MAX_COLUMNS * sizeof *names);
	struct dq_value *row = malloc(DQ_MAX_COLUMNS * sizeof *row);
	struct mk_buf page = MK_BUF_INIT;
	size_t cap = 0;
	int rv = MK_ENOMEM;
	if (names == NULL || row == NULL)
		goto out;
	for (;;) {
		uint8_t type;
		rv = recv_message(c, &page, &type);
		if (rv != MK_OK)
			goto out;
		if (type == DQ_RESP_FAILURE) {
			rv = failure(c, &page);
			goto out;
		}
		if (type != DQ_RESP_ROWS) {
			dq_client_disconnect(c);
			rv = fail(c, MK_EPROTO, "response type %u, expected ROWS", type);
			goto out;
		}
		struct dq_cursor cur = dq_cursor_init(page.data, page.len);
		unsigned ncols;
		if (dq_rows_begin(&cur, &ncols, names) != MK_OK ||
		    (r->columns != NULL && ncols != r->ncols))
			goto err_proto;
		if (r->columns == NULL) {
			r->ncols = ncols;
			r->columns = calloc(ncols, sizeof *r->columns);
			if (r->columns == NULL) {
				rv = MK_ENOMEM;
				goto out;
			}
			for (unsigned i = 0; i < ncols; i++)
				if ((r->columns[i] = strdup(names[i])) == NULL) {
					rv = MK_ENOMEM;
					goto out;
				}
		}
		enum dq_rows_step step;
		for (;;) {
			if (dq_rows_next(&cur, ncols, row, &step) != MK_OK)
				goto err_proto;
			if (step != DQ_ROWS_ROW)
				break;
			if (max_rows && r->nrows >= max_rows) {
				r->interrupted = true;
				continue;
			}
			if ((rv = rows_push(r, row, &cap)) != MK_OK)
				goto out;
		}
		if ((rv = rows_keep_page(r, &page)) != MK_OK)
			goto out;
		if (step == DQ_ROWS_DONE)
			break;
		if (max_rows && r->nrows >= max_rows) {
			r->interrupted = true;
			rv = dq_msg_begin(&c->out);
			if (rv == MK_OK)
				rv = dq_put_u64(&c->out, c->db_id);
			if (rv != MK_OK)
				goto out;
			dq_msg_end(&c->out, DQ_REQ_INTERRUPT);
			if ((rv = send_request(c)) != MK_OK)
				goto out;
			do {
				if ((rv = recv_message(c, &page, &type)) != MK_OK)
					goto out;
			} while (type == DQ_RESP_ROWS);
			if (type != DQ_RESP_EMPTY)
				goto err_proto;
			break;
		}
	}
	rv = MK_OK;
	goto out;

err_proto:
	dq_client_disconnect(c);
	rv = fail(c, MK_EPROTO, "malformed ROWS response");
out:
	mk_buf_free(&page);
	free(names);
	free(row);
	if (rv != MK_OK)
		dq_rows_free(r);
	return rv;
}

int dq_prepare(struct dq_client *c, const char *sql, struct dq_stmt *stmt)
{
	int rv = ensure_db(c);
	if (rv != MK_OK)
		return rv;
	rv = dq_msg_begin(&c->out);
	if (rv == MK_OK)
		rv = dq_put_u64(&c->out, c->db_id);
	if (rv == MK_OK)
		rv = dq_put_text(&c->out, sql);
	if (rv != MK_OK)
		return fail(c, rv, "out of memory");
	dq_msg_end(&c->out, DQ_REQ_PREPARE);
	if ((rv = roundtrip(c, DQ_RESP_STMT)) != MK_OK)
		return rv;
	struct dq_cursor cur = dq_cursor_init(c->in.data, c->in.len);
	if (dq_get_u32_pair(&cur, &stmt->db_id, &stmt->id) != MK_OK ||
	    dq_get_u64(&cur, &stmt->n_params) != MK_OK) {
		dq_client_disconnect(c);
		return fail(c, MK_EPROTO, "malformed STMT response");
	}
	stmt->read_only = dq_sql_is_read_only(sql);
	stmt->generation = c->generation;
	return MK_OK;
}

static int stmt_request(struct dq_client *c, const struct dq_stmt *stmt,
			const struct dq_value *params, size_t n, enum dq_request type)
{
	if (c->fd < 0 || stmt->generation != c->generation)
		return fail(c, MK_EINVAL, "statement belongs to a closed connection");
	if (n != stmt->n_params)
		return fail(c, MK_EINVAL, "statement takes %llu parameters, %zu given",
			    (unsigned long long)stmt->n_params, n);
	int rv = dq_msg_begin(&c->out);
	if (rv == MK_OK)
		rv = dq_put_u32_pair(&c->out, stmt->db_id, stmt->id);
	if (rv == MK_OK)
		rv = dq_put_params(&c->out, params, n);
	if (rv != MK_OK)
		return fail(c, rv, "cannot encode parameters");
	dq_msg_end(&c->out, type);
	return MK_OK;
}

int dq_exec_stmt(struct dq_client *c, const struct dq_stmt *stmt,
		 const struct dq_value *params, size_t n, struct dq_result *res)
{
	int rv = stmt_request(c, stmt, params, n, DQ_REQ_EXEC);
	if (rv == MK_OK)
		rv = roundtrip(c, DQ_RESP_RESULT);
	return rv == MK_OK ? decode_result(c, res) : rv;
}

int dq_query_stmt(struct dq_client *c, const struct dq_stmt *stmt,
		  const struct dq_value *params, size_t n, size_t max_rows,
		  struct dq_rows *rows)
{
	if (!stmt->read_only)
		return fail(c, MK_EINVAL, "only a SELECT may be sent as QUERY");
	int rv = stmt_request(c, stmt, params, n, DQ_REQ_QUERY);
	if (rv == MK_OK)
		rv = send_request(c);
	return rv == MK_OK ? receive_rows(c, max_rows, rows) : rv;
}

int dq_finalize(struct dq_client *c, const struct dq_stmt *stmt)
{
	if (c->fd < 0 || stmt->generation != c->generation)
		return fail(c, MK_EINVAL, "statement belongs to a closed connection");
	int rv = dq_msg_begin(&c->out);
	if (rv == MK_OK)
		rv = dq_put_u32_pair(&c->out, stmt->db_id, stmt->id);
	if (rv != MK_OK)
		return fail(c, rv, "out of memory");
	dq_msg_end(&c->out, DQ_REQ_FINALIZE);
	rv = roundtrip(c, DQ_RESP_EMPTY);
	/* Forget it in the cache too, so it is never EXECuted again. */
	for (size_t i = 0; rv == MK_OK && i < c->n_cache; i++) {
		if (c->cache[i].stmt.id == stmt->id) {
			free(c->cache[i].sql);
			c->cache[i] = c->cache[--c->n_cache];
			break;
		}
	}
	return rv;
}

/* Returns the cached statement for `sql`, preparing it if needed. */
static int cached(struct dq_client *c, const char *sql, struct dq_stmt *out)
{
	int rv = ensure_db(c);
	if (rv != MK_OK)
		return rv;
	for (size_t i = 0; i < c->n_cache; i++) {
		if (strcmp(c->cache[i].sql, sql) == 0) {
			*out = c->cache[i].stmt;
			return MK_OK;
		}
	}
	if ((rv = dq_prepare(c, sql, out)) != MK_OK)
		return rv;
	if (c->n_cache == DQ_STMT_CACHE)
		return MK_OK; /* full: the statement still works, uncached */
	char *copy = strdup(sql);
	if (copy == NULL)
		return MK_OK;
	c->cache[c->n_cache].sql = copy;
	c->cache[c->n_cache].stmt = *out;
	c->n_cache++;
	return MK_OK;
}

int dq_exec(struct dq_client *c, const char *sql, const struct dq_value *params,
	    size_t n, struct dq_result *res)
{
	struct dq_stmt stmt;
	int rv = cached(c, sql, &stmt);
	return rv == MK_OK ? dq_exec_stmt(c, &stmt, params, n, res) : rv;
}

int dq_query(struct dq_client *c, const char *sql, const struct dq_value *params,
	     size_t n, size_t max_rows, struct dq_rows *rows)
{
	if (!dq_sql_is_read_only(sql))
		return fail(c, MK_EINVAL, "only a SELECT may be sent as QUERY");
	struct dq_stmt stmt;
	int rv = cached(c, sql, &stmt);
	return rv == MK_OK ? dq_query_stmt(c, &stmt, params, n, max_rows, rows) : rv;
}

static int sql_request(struct dq_client *c, const char *sql, const struct dq_value *params,
		       size_t n, enum dq_request type)
{
	int rv = ensure_db(c);
	if (rv != MK_OK)
		return rv;
	rv = dq_msg_begin(&c->out);
	if (rv == MK_OK)
		rv = dq_put_u64(&c->out, c->db_id);
	if (rv == MK_OK)
		rv = dq_put_text(&c->out, sql);
	if (rv == MK_OK)
		rv = dq_put_params(&c->out, params, n);
	if (rv != MK_OK)
		return fail(c, rv, "cannot encode request");
	dq_msg_end(&c->out, type);
	return MK_OK;
}

int dq_exec_sql(struct dq_client *c, const char *sql, const struct dq_value *params,
		size_t n, struct dq_result *res)
{
	int rv = sql_request(c, sql, params, n, DQ_REQ_EXEC_SQL);
	if (rv == MK_OK)
		rv = roundtrip(c, DQ_RESP_RESULT);
	return rv == MK_OK ? decode_result(c, res) : rv;
}

int dq_query_sql(struct dq_client *c, const char *sql, const struct dq_value *params,
		 size_t n, size_t max_rows, struct dq_rows *rows)
{
	if (!dq_sql_is_read_only(sql))
		return fail(c, MK_EINVAL, "only a SELECT may be sent as QUERY");
	int rv = sql_request(c, sql, params, n, DQ_REQ_QUERY_SQL);
	if (rv == MK_OK)
		rv = send_request(c);
	return rv == MK_OK ? receive_rows(c, max_rows, rows) : rv;
}

/* ---- node and membership ---- */

/* A request whose body is the given u64 words, expecting `expect`. */
static int simple(struct dq_client *c, enum dq_request type, const uint64_t *words,
		  size_t n, uint8_t expect)
{
	int rv = ensure_connected(c);
	if (rv != MK_OK)
		return rv;
	rv = dq_msg_begin(&c->out);
	for (size_t i = 0; rv == MK_OK && i < n; i++)
		rv = dq_put_u64(&c->out, words[i]);
	if (rv != MK_OK)
		return fail(c, rv, "out of memory");
	dq_msg_end(&c->out, type);
	return roundtrip(c, expect);
}

int dq_hello(struct dq_client *c, uint64_t client_id, uint64_t *heartbeat_ms)
{
	int rv = simple(c, DQ_REQ_CLIENT, &client_id, 1, DQ_RESP_WELCOME);
	if (rv != MK_OK)
		return rv;
	struct dq_cursor cur = dq_cursor_init(c->in.data, c->in.len);
	uint64_t hb;
	if (dq_get_u64(&cur, &hb) != MK_OK) {
		dq_client_disconnect(c);
		return fail(c, MK_EPROTO, "malformed WELCOME response");
	}
	if (heartbeat_ms)
		*heartbeat_ms = hb;
	return MK_OK;
}

int dq_leader(struct dq_client *c, uint64_t *id, char *address, size_t len)
{
	int rv = ensure_connected(c);
	return rv == MK_OK ? ask_leader(c, id, address, len) : rv;
}

int dq_cluster(struct dq_client *c, struct dq_server **servers, size_t *n)
{
	uint64_t format = 1;
	int rv = simple(c, DQ_REQ_CLUSTER, &format, 1, DQ_RESP_SERVERS);
	if (rv != MK_OK)
		return rv;
	struct dq_cursor cur = dq_cursor_init(c->in.data, c->in.len);
	uint64_t count;
	if (dq_get_u64(&cur, &count) != MK_OK || count > c->in.len / 24)
		goto err_proto;
	struct dq_server *s = calloc(count ? count : 1, sizeof *s);
	if (s == NULL)
		return fail(c, MK_ENOMEM, "out of memory");
	for (uint64_t i = 0; i < count; i++) {
		const char *addr;
		uint64_t role;
		if (dq_get_u64(&cur, &s[i].id) != MK_OK ||
		    dq_get_text(&cur, &addr, NULL) != MK_OK ||
		    dq_get_u64(&cur, &role) != MK_OK || role > DQ_SPARE) {
			free(s);
			goto err_proto;
		}
		snprintf(s[i].address, sizeof s[i].address, "%s", addr);
		s[i].role = (enum dq_role)role;
	}
	*servers = s;
	*n = (size_t)count;
	return MK_OK;

err_proto:
	dq_client_disconnect(c);
	return fail(c, MK_EPROTO, "malformed SERVERS response");
}

int dq_add(struct dq_client *c, uint64_t id, const char *address)
{
	int rv = ensure_connected(c);
	if (rv != MK_OK)
		return rv;
	rv = dq_msg_begin(&c->out);
	if (rv == MK_OK)
		rv = dq_put_u64(&c->out, id);
	if (rv == MK_OK)
		rv = dq_put_text(&c->out, address);
	if (rv != MK_OK)
		return fail(c, rv, "out of memory");
	dq_msg_end(&c->out, DQ_REQ_ADD);
	return roundtrip(c, DQ_RESP_EMPTY);
}

int dq_assign(struct dq_client *c, uint64_t id, enum dq_role role)
{
	uint64_t w[2] = {id, (uint64_t)role};
	return simple(c, DQ_REQ_ASSIGN, w, 2, DQ_RESP_EMPTY);
}

int dq_remove(struct dq_client *c, uint64_t id)
{
	return simple(c, DQ_REQ_REMOVE, &id, 1, DQ_RESP_EMPTY);
}

int dq_transfer(struct dq_client *c, uint64_t id)
{
	return simple(c, DQ_REQ_TRANSFER, &id, 1, DQ_RESP_EMPTY);
}

int dq_describe(struct dq_client *c, uint64_t *failure_domain, uint64_t *weight)
{
	uint64_t format = 0;
	int rv = simple(c, DQ_REQ_DESCRIBE, &format, 1, DQ_RESP_METADATA);
	if (rv != MK_OK)
		return rv;
	struct dq_cursor cur = dq_cursor_init(c->in.data, c->in.len);
	if (dq_get_u64(&cur, failure_domain) != MK_OK || dq_get_u64(&cur, weight) != MK_OK) {
		dq_client_disconnect(c);
		return fail(c, MK_EPROTO, "malformed METADATA response");
	}
	return MK_OK;
}

int dq_weight(struct dq_client *c, uint64_t weight)
{
	return simple(c, DQ_REQ_WEIGHT, &weight, 1, DQ_RESP_EMPTY);
}

void dq_files_free(struct dq_file *files, size_t n)
{
	for (size_t i = 0; files && i < n; i++)
		free(files[i].data);
	free(files);
}

int dq_dump(struct dq_client *c, const char *database, struct dq_file **files, size_t *n)
{
	int rv = ensure_connected(c);
	if (rv != MK_OK)
		return rv;
	rv = dq_msg_begin(&c->out);
	if (rv == MK_OK)
		rv = dq_put_text(&c->out, database);
	if (rv != MK_OK)
		return fail(c, rv, "out of memory");
	dq_msg_end(&c->out, DQ_REQ_DUMP);
	if ((rv = roundtrip(c, DQ_RESP_FILES)) != MK_OK)
		return rv;
	struct dq_cursor cur = dq_cursor_init(c->in.data, c->in.len);
	uint64_t count;
	if (dq_get_u64(&cur, &count) != MK_OK || count > 16)
		goto err_proto;
	struct dq_file *f = calloc(count ? count : 1, sizeof *f);
	if (f == NULL)
		return fail(c, MK_ENOMEM, "out of memory");
	for (uint64_t i = 0; i < count; i++) {
		const char *name;
		uint64_t len;
		if (dq_get_text(&cur, &name, NULL) != MK_OK || dq_get_u64(&cur, &len) != MK_OK ||
		    len > cur.len - cur.off) {
			dq_files_free(f, (size_t)count);
			goto err_proto;
		}
		snprintf(f[i].name, sizeof f[i].name, "%s", name);
		f[i].len = (size_t)len;
		f[i].data = malloc(f[i].len ? f[i].len : 1);
		if (f[i].data == NULL) {
			dq_files_free(f, (size_t)count);
			return fail(c, MK_ENOMEM, "out of memory");
		}
		memcpy(f[i].data, cur.p + cur.off, f[i].len);
		cur.off += f[i].len;
	}
	*files = f;
	*n = (size_t)count;
	return MK_OK;

err_proto:
	dq_client_disconnect(c);
	return fail(c, MK_EPROTO, "malformed FILES response");
}

const char *dq_role_name(enum dq_role role)
{
	switch (role) {
	case DQ_VOTER:
		return "voter";
	case DQ_STANDBY:
		return "standby";
	case DQ_SPARE:
		return "spare";
	}
	return "unknown";
}

int dq_role_parse(const char *name, enum dq_role *role)
{
	for (int r = DQ_VOTER; r <= DQ_SPARE; r++) {
		if (strcmp(name, dq_role_name((enum dq_role)r)) == 0) {
			*role = (enum dq_role)r;
			return MK_OK;
		}
	}
	return MK_EINVAL;
}
