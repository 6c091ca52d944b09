/*
 * Store writes: one writer thread owns the write connection and commits
 * queued operations in groups (group commit).  dqlite has a single writer
 * per database anyway, so concurrent callers would otherwise take turns
 * paying a full raft round trip each; grouped, they share one.
 *
 * A group is ONE statement, INSERT INTO log ... SELECT, with one
 * compare-and-swap arm per operation (reference §6, build_group_sql); the
 * trigger in the schema keeps `live` in step.  So a group costs one round
 * trip and one raft commit whatever its size, plus one query to learn the
 * revisions.  Every operation carries a nonce stored with its row.  When
 * a commit ends
 * in a way that leaves its outcome unknown (leadership lost, connection
 * dropped) the writer first looks the nonces up on the new leader: found
 * means committed, and only the others are applied again.
 */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "../base/err.h"
#include "../base/log.h"
#include "store_internal.h"

enum op_kind { OP_CREATE, OP_UPDATE, OP_DELETE };

/* Largest group: keeps transactions short (reference §5 item 5). */
#define GROUP_MAX_OPS 64
#define GROUP_MAX_BYTES (4 * 1024 * 1024)

struct write_op {
	enum op_kind kind;
	const char *key;
	const void *value;
	size_t len;
	int64_t expires;
	int64_t expected_rev;
	bool check_expiry; /* false for expiry itself: deletes expired keys */
	int64_t nonce;
	int64_t expire_nonce; /* for the tombstone of an expired key */

	/* Results, written by the writer thread.  `done` is its working
	 * state; `finished` (under write_lock) releases the waiting caller. */
	bool done;
	bool resolved; /* found committed by its nonce: final */
	bool finished;
	int rv;
	int64_t rev;
	bool needs_diagnosis; /* CAS found nothing: not found or conflict? */
	char errmsg[256];
	struct write_op *next;
};

static void op_fail(struct write_op *op, int rv, const char *msg)
{
	op->done = true;
	op->rv = rv;
	snprintf(op->errmsg, sizeof op->errmsg, "%s", msg);
}

static const char sql_diagnose[] =
	"SELECT rev FROM live WHERE key = ?1 AND (expires = 0 OR expires > ?2)";

/* Appends printf-style text to the statement being built. */
static int sql_append(struct mk_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int sql_append(struct mk_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || mk_buf_reserve(b, (size_t)n + 1) != MK_OK)
		return MK_ENOMEM;
	va_start(ap, fmt);
	vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return MK_OK;
}

/*
 * Builds ONE statement that applies every pending operation of the group:
 *
 *   INSERT INTO log (...) SELECT <op 1> UNION ALL SELECT <op 2> ...
 *
 * Each arm is a compare-and-swap: it yields its row only if its
 * precondition holds.  Because the schema has a trigger on log, SQLite
 * evaluates the whole SELECT before inserting anything, so every arm sees
 * the state before the group; the writer never puts two operations on the
 * same key into one group, which makes that equal to applying them in order.
 * Keys and values travel as parameters (two per operation); the integers
 * are ours and are written into the text.  A create first turns an
 * expired-but-unswept key into a tombstone, so watchers see it go.
 */
static int build_group_sql(struct mk_buf *sql, struct dq_value *params, size_t *np,
			   struct write_op **ops, size_t n, int64_t now)
{
	int rv = sql_append(sql, "INSERT INTO log (key, op, create_rev, prev_rev, expires,"
				 " nonce, value) ");
	size_t arms = 0;
	*np = 0;
	for (size_t i = 0; rv == MK_OK && i < n; i++) {
		struct write_op *op = ops[i];
		if (op->done)
			continue;
		size_t k = *np + 1, v = *np + 2; /* ?k key, ?v value */
		params[(*np)++] = dq_text(op->key);
		params[(*np)++] = op->kind == OP_DELETE ? dq_null() : dq_blob(op->value, op->len);
		const char *sep = arms++ ? " UNION ALL " : "";
		switch (op->kind) {
		case OP_CREATE:
			rv = sql_append(sql,
					"%sSELECT key, 3, create_rev, rev, 0, %lld, NULL FROM live"
					" WHERE key = ?%zu AND expires != 0 AND expires <= %lld"
					" UNION ALL SELECT ?%zu, 1, 0, 0, %lld, %lld, ?%zu"
					" WHERE NOT EXISTS (SELECT 1 FROM live WHERE key = ?%zu"
					" AND (expires = 0 OR expires > %lld))",
					sep, (long long)op->expire_nonce, k, (long long)now, k,
					(long long)op->expires, (long long)op->nonce, v, k,
					(long long)now);
			break;
		case OP_UPDATE:
			rv = sql_append(sql,
					"%sSELECT key, 2, create_rev, rev, %lld, %lld, ?%zu FROM live"
					" WHERE key = ?%zu AND (%lld = 0 OR rev = %lld)"
					" AND (expires = 0 OR expires > %lld)",
					sep, (long long)op->expires, (long long)op->nonce, v, k,
					(long long)op->expected_rev, (long long)op->expected_rev,
					(long long)now);
			break;
		default:
			rv = sql_append(sql,
					"%sSELECT key, 3, create_rev, rev, 0, %lld, ?%zu FROM live"
					" WHERE key = ?%zu AND (%lld = 0 OR rev = %lld)"
					" AND (%lld = 0 OR expires = 0 OR expires > %lld)",
					sep, (long long)op->nonce, v, k, (long long)op->expected_rev,
					(long long)op->expected_rev,
					(long long)(op->check_expiry ? now : 0),
					(long long)(op->check_expiry ? now : 0));
			break;
		}
	}
	if (rv == MK_OK)
		rv = mk_buf_append(sql, "", 1); /* NUL */
	return rv;
}

/* Records the revision of every pending operation whose nonce is among
 * the log rows with revisions in (from, to]; `final` marks those as
 * resolved for good (a retry after an unknown outcome).  The others stay
 * pending.  to <= 0: no upper bound.  The range keeps this cheap without
 * an index on nonce. */
static int lookup_nonces(struct dq_client *c, struct write_op **ops, size_t n, int64_t from,
			 int64_t to, bool final)
{
	struct mk_buf sql = MK_BUF_INIT;
	size_t asked = 0;
	int rv = sql_append(&sql, "SELECT nonce, rev FROM log WHERE rev > %lld", (long long)from);
	if (rv == MK_OK && to > 0)
		rv = sql_append(&sql, " AND rev <= %lld", (long long)to);
	if (rv == MK_OK)
		rv = sql_append(&sql, " AND nonce IN (");
	for (size_t i = 0; rv == MK_OK && i < n; i++) {
		if (ops[i]->done)
			continue;
		rv = sql_append(&sql, "%s%lld", asked++ ? "," : "", (long long)ops[i]->nonce);
	}
	if (rv == MK_OK)
		rv = sql_append(&sql, ")");
	if (rv != MK_OK || asked == 0) {
		mk_buf_free(&sql);
		return rv;
	}
	struct dq_rows r;
	rv = dq_query_sql(c, (const char *)sql.data, NULL, 0, 0, &r);
	mk_buf_free(&sql);
	if (rv != MK_OK)
		return rv;
	for (size_t j = 0; j < r.nrows; j++) {
		int64_t nonce = dq_rows_at(&r, j, 0)->integer;
		for (size_t i = 0; i < n; i++) {
			if (ops[i]->done || ops[i]->nonce != nonce)
				continue;
			ops[i]->rev = dq_rows_at(&r, j, 1)->integer;
			ops[i]->done = true;
			ops[i]->rv = MK_OK;
			if (final) {
				ops[i]->resolved = true;
				mk_info("store", "write to \"%s\" had committed before the leader changed",
					ops[i]->key);
			}
		}
	}
	dq_rows_free(&r);
	return MK_OK;
}

/* One attempt at the pending operations of a group: one INSERT statement
 * (atomic on its own), then, for more than one operation, one query to
 * learn each one's revision. */
static int attempt(struct dq_client *c, struct write_op **ops, size_t n)
{
	size_t pending = 0, last = 0;
	for (size_t i = 0; i < n; i++) {
		if (ops[i]->resolved)
			continue;
		ops[i]->done = false;
		ops[i]->needs_diagnosis = false;
		ops[i]->rev = 0;
		pending++;
		last = i;
	}
	if (pending == 0)
		return MK_OK;
	struct dq_value params[2 * GROUP_MAX_OPS];
	size_t np;
	struct mk_buf sql = MK_BUF_INIT;
	int rv = build_group_sql(&sql, params, &np, ops, n, store_now_ms());
	struct dq_result res;
	if (rv == MK_OK)
		rv = dq_exec_sql(c, (const char *)sql.data, params, np, &res);
	mk_buf_free(&sql);
	if (rv != MK_OK)
		return rv;
	if (pending == 1 && res.rows_affected > 0) {
		/* The operation's own row is the statement's last. */
		ops[last]->rev = (int64_t)res.last_insert_id;
		ops[last]->done = true;
		ops[last]->rv = MK_OK;
	} else if (res.rows_affected > 0) {
		/* One statement's rows take consecutive revisions. */
		int64_t last_rev = (int64_t)res.last_insert_id;
		rv = lookup_nonces(c, ops, n, last_rev - (int64_t)res.rows_affected, last_rev,
				   false);
		if (rv != MK_OK)
			return rv;
	}
	/* Whatever did not land failed its precondition. */
	for (size_t i = 0; i < n; i++) {
		if (ops[i]->done)
			continue;
		if (ops[i]->kind == OP_CREATE) {
			char msg[160];
			snprintf(msg, sizeof msg, "key \"%s\" already exists", ops[i]->key);
			op_fail(ops[i], MK_EEXISTS, msg);
		} else {
			ops[i]->needs_diagnosis = true;
		}
	}
	return MK_OK;
}

/* After commit: a CAS that matched nothing is "not found" or "conflict". */
static void diagnose(struct dq_client *c, struct write_op *op)
{
	char msg[200];
	struct dq_value p[2] = {dq_text(op->key), dq_int(store_now_ms())};
	struct dq_rows r;
	int rv = dq_query(c, sql_diagnose, p, 2, 0, &r);
	if (rv != MK_OK) {
		op_fail(op, MK_ECONFLICT, "key changed or vanished (could not tell which)");
		return;
	}
	if (r.nrows == 0) {
		snprintf(msg, sizeof msg, "key \"%s\" not found", op->key);
		op_fail(op, MK_ENOTFOUND, msg);
	} else {
		snprintf(msg, sizeof msg,
			 "key \"%s\" is at revision %lld, not the expected %lld", op->key,
			 (long long)dq_rows_at(&r, 0, 0)->integer, (long long)op->expected_rev);
		op_fail(op, MK_ECONFLICT, msg);
	}
	dq_rows_free(&r);
}

static void run_group(struct store *s, struct write_op **ops, size_t n)
{
	struct dq_client *c = s->write_conn;
	int64_t deadline = store_monotonic_ms() + s->cfg.op_timeout_ms;
	int backoff = 5;
	bool maybe = false;
	int rv;
	for (;;) {
		/* Anything this group wrote came after the newest revision
		 * the writer had seen committed. */
		rv = maybe ? lookup_nonces(c, ops, n, s->writer_seen_rev, 0, true) : MK_OK;
		if (rv == MK_OK)
			rv = attempt(c, ops, n);
		if (rv == MK_OK)
			break;
		if (rv == MK_ESQL && n > 1) {
			/* Not a cluster problem: some operation is bad.  Run
			 * them one by one so it fails alone. */
			for (size_t i = 0; i < n; i++)
				if (!ops[i]->resolved)
					run_group(s, &ops[i], 1);
			return;
		}
		/* After a lost answer or a lost leader the statement may
		 * have committed: look before applying it again. */
		if (rv != MK_EBUSY)
			maybe = true;
		if (!store_err_retryable(rv) || store_monotonic_ms() >= deadline)
			break;
		mk_debug("store", "write group of %zu retrying: %s", n, dq_client_errmsg(c));
		store_sleep_ms(backoff);
		backoff = backoff * 2 > 500 ? 500 : backoff * 2;
	}
	for (size_t i = 0; i < n; i++) {
		struct write_op *op = ops[i];
		if (op->done)
			continue;
		if (rv != MK_OK) {
			op_fail(op, rv, dq_client_errmsg(c));
		} else if (op->needs_diagnosis) {
			diagnose(c, op);
		} else {
			op->done = true;
			op->rv = MK_OK;
		}
	}
	for (size_t i = 0; i < n; i++)
		if (ops[i]->rv == MK_OK && ops[i]->rev > s->writer_seen_rev)
			s->writer_seen_rev = ops[i]->rev;
	if (rv == MK_OK)
		store_hub_kick(s);
}

/* Two operations on one key never share a group: each must see the
 * other's result (see build_group_sql). */
static bool group_has_key(struct write_op **group, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(group[i]->key, key) == 0)
			return true;
	return false;
}

static void *writer_main(void *arg)
{
	struct store *s = arg;
	struct write_op *group[GROUP_MAX_OPS];
	pthread_mutex_lock(&s->write_lock);
	for (;;) {
		while (s->queue_head == NULL && !s->writer_stopping)
			pthread_cond_wait(&s->write_cond, &s->write_lock);
		if (s->queue_head == NULL)
			break; /* stopping with nothing left to do */
		size_t n = 0, bytes = 0;
		while (s->queue_head && n < GROUP_MAX_OPS &&
		       (n == 0 || bytes + s->queue_head->len <= GROUP_MAX_BYTES) &&
		       !group_has_key(group, n, s->queue_head->key)) {
			struct write_op *op = s->queue_head;
			s->queue_head = op->next;
			bytes += op->len;
			group[n++] = op;
		}
		if (s->queue_head == NULL)
			s->queue_tail = NULL;
		if (s->fault_nth) {
			dq_client_fault_lose_answer(s->write_conn, s->fault_type, s->fault_nth);
			s->fault_nth = 0;
		}
		pthread_mutex_unlock(&s->write_lock);

		run_group(s, group, n);

		pthread_mutex_lock(&s->write_lock);
		for (size_t i = 0; i < n; i++)
			group[i]->finished = true;
		pthread_cond_broadcast(&s->done_cond);
	}
	pthread_mutex_unlock(&s->write_lock);
	return NULL;
}

int store_writer_start(struct store *s)
{
	uint32_t prefix = 0;
	while (getrandom(&prefix, sizeof prefix, 0) != sizeof prefix)
		;
	s->nonce_prefix = prefix >> 1; /* 31 bits: nonces stay positive */
	int rv = store_client_new(s, &s->write_conn);
	if (rv != MK_OK)
		return store_fail(rv, "out of memory");
	if (pthread_create(&s->writer, NULL, writer_main, s) != 0) {
		dq_client_close(s->write_conn);
		return store_fail(MK_ENOMEM, "cannot start the writer thread");
	}
	return MK_OK;
}

void store_writer_stop(struct store *s)
{
	pthread_mutex_lock(&s->write_lock);
	s->writer_stopping = true; /* the writer drains its queue, then exits */
	pthread_cond_broadcast(&s->write_cond);
	pthread_mutex_unlock(&s->write_lock);
	pthread_join(s->writer, NULL);
	dq_client_close(s->write_conn);
	s->write_conn = NULL;
}

void store_fault_lose_write_answer(struct store *s, enum dq_request type, int nth)
{
	pthread_mutex_lock(&s->write_lock);
	s->fault_type = (int)type;
	s->fault_nth = nth;
	pthread_mutex_unlock(&s->write_lock);
}

/* Nonces identify each write in the log (UNIQUE index).  A random
 * per-store prefix keeps stores apart; a counter below it makes one
 * store's nonces ascend, so the index grows at its end instead of dirtying
 * a random page (and a replicated 4 KiB WAL frame) on every write. */
static int64_t next_nonce(struct store *s)
{
	uint64_t count = atomic_fetch_add(&s->nonce_counter, 1);
	return (int64_t)((s->nonce_prefix << 32) | (count & 0xffffffffu));
}

/* Queues `op` and waits for the writer to finish it. */
static int submit(struct store *s, struct write_op *op, int64_t *rev)
{
	op->nonce = next_nonce(s);
	op->expire_nonce = next_nonce(s);
	pthread_mutex_lock(&s->write_lock);
	if (s->writer_stopping) {
		pthread_mutex_unlock(&s->write_lock);
		return store_fail(MK_ECLOSED, "store is closing");
	}
	if (s->queue_tail)
		s->queue_tail->next = op;
	else
		s->queue_head = op;
	s->queue_tail = op;
	pthread_cond_signal(&s->write_cond);
	while (!op->finished)
		pthread_cond_wait(&s->done_cond, &s->write_lock);
	pthread_mutex_unlock(&s->write_lock);
	if (op->rv != MK_OK)
		return store_fail(op->rv, "%s", op->errmsg);
	if (rev)
		*rev = op->rev;
	return MK_OK;
}

static int check_write(const char *key, size_t len, int64_t ttl_ms)
{
	size_t klen = key ? strlen(key) : 0;
	if (klen == 0)
		return store_fail(MK_EINVAL, "empty key");
	if (klen > STORE_MAX_KEY)
		return store_fail(MK_EINVAL, "key of %zu bytes exceeds the %d-byte limit",
				  klen, STORE_MAX_KEY);
	if (len > STORE_MAX_VALUE)
		return store_fail(MK_ETOOBIG, "value of %zu bytes exceeds the %d-byte limit",
				  len, STORE_MAX_VALUE);
	if (ttl_ms < 0)
		return store_fail(MK_EINVAL, "negative TTL");
	return MK_OK;
}

int store_create(struct store *s, const char *key, const void *value, size_t len,
		 int64_t ttl_ms, int64_t *rev)
{
	int rv = check_write(key, len, ttl_ms);
	if (rv != MK_OK)
		return rv;
	struct write_op op = {.kind = OP_CREATE, .key = key, .value = value ? value : "",
			      .len = len, .expires = ttl_ms ? store_now_ms() + ttl_ms : 0};
	return submit(s, &op, rev);
}

int store_update(struct store *s, const char *key, const void *value, size_t len,
		 int64_t ttl_ms, int64_t expected_rev, int64_t *rev)
{
	int rv = check_write(key, len, ttl_ms);
	if (rv != MK_OK)
		return rv;
	if (expected_rev < 0)
		return store_fail(MK_EINVAL, "negative revision");
	struct write_op op = {.kind = OP_UPDATE, .key = key, .value = value ? value : "",
			      .len = len, .expected_rev = expected_rev,
			      .expires = ttl_ms ? store_now_ms() + ttl_ms : 0};
	return submit(s, &op, rev);
}

/* Shared by store_delete and expiry (which deletes keys already expired). */
static int delete_op(struct store *s, const char *key, int64_t expected_rev,
		     bool check_expiry, int64_t *rev)
{
	int rv = check_write(key, 0, 0);
	if (rv != MK_OK)
		return rv;
	if (expected_rev < 0)
		return store_fail(MK_EINVAL, "negative revision");
	struct write_op op = {.kind = OP_DELETE, .key = key, .expected_rev = expected_rev,
			      .check_expiry = check_expiry};
	return submit(s, &op, rev);
}

int store_delete(struct store *s, const char *key, int64_t expected_rev, int64_t *rev)
{
	return delete_op(s, key, expected_rev, true, rev);
}

int store_delete_expired(struct store *s, const char *key, int64_t rev)
{
	return delete_op(s, key, rev, false, NULL);
}
