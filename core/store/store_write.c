/*
 * Store writes: one writer thread owns the write connection and commits
 * queued operations in groups (group commit).  dqlite has a single writer
 * per database anyway, so concurrent callers would otherwise take turns
 * paying a full raft round trip each; grouped, they share one.
 *
 * Each operation is one compare-and-swap INSERT ... SELECT into the log
 * (reference §6); the trigger in the schema keeps `live` in step.  Every
 * operation carries a random nonce stored with its row.  When a commit ends
 * in a way that leaves its outcome unknown (leadership lost, connection
 * dropped) the writer first looks the nonces up on the new leader: found
 * means committed, and only the others are applied again.
 */
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

static const char sql_expire_key[] =
	"INSERT INTO log (key, op, create_rev, prev_rev, expires, nonce, value)"
	" SELECT key, 3, create_rev, rev, 0, ?2, NULL FROM live"
	" WHERE key = ?1 AND expires != 0 AND expires <= ?3";

static const char sql_create[] =
	"INSERT INTO log (key, op, create_rev, prev_rev, expires, nonce, value)"
	" SELECT ?1, 1, 0, 0, ?2, ?3, ?4"
	" WHERE NOT EXISTS (SELECT 1 FROM live WHERE key = ?1)";

static const char sql_update[] =
	"INSERT INTO log (key, op, create_rev, prev_rev, expires, nonce, value)"
	" SELECT key, 2, create_rev, rev, ?2, ?3, ?4 FROM live"
	" WHERE key = ?1 AND (?5 = 0 OR rev = ?5)"
	" AND (?6 = 0 OR expires = 0 OR expires > ?6)";

static const char sql_delete[] =
	"INSERT INTO log (key, op, create_rev, prev_rev, expires, nonce, value)"
	" SELECT key, 3, create_rev, rev, 0, ?2, NULL FROM live"
	" WHERE key = ?1 AND (?3 = 0 OR rev = ?3)"
	" AND (?4 = 0 OR expires = 0 OR expires > ?4)";

static const char sql_find_nonce[] = "SELECT rev FROM log WHERE nonce = ?1";

static const char sql_diagnose[] =
	"SELECT rev FROM live WHERE key = ?1 AND (expires = 0 OR expires > ?2)";

static int64_t random_nonce(void)
{
	uint64_t v = 0;
	while (getrandom(&v, sizeof v, 0) != sizeof v)
		;
	return (int64_t)(v >> 1); /* positive: SQLite INTEGER */
}

static void op_fail(struct write_op *op, int rv, const char *msg)
{
	op->done = true;
	op->rv = rv;
	snprintf(op->errmsg, sizeof op->errmsg, "%s", msg);
}

/* Applies one operation inside the open transaction.  Returns a cluster
 * error (abort the group) or 0; the op's own outcome goes into op. */
static int apply_op(struct dq_client *c, struct write_op *op, int64_t now)
{
	struct dq_result res;
	int rv;
	switch (op->kind) {
	case OP_CREATE: {
		struct dq_value ep[3] = {dq_text(op->key), dq_int(op->expire_nonce),
					 dq_int(now)};
		rv = dq_exec(c, sql_expire_key, ep, 3, &res);
		if (rv != MK_OK)
			break;
		struct dq_value p[4] = {dq_text(op->key), dq_int(op->expires),
					dq_int(op->nonce), dq_blob(op->value, op->len)};
		rv = dq_exec(c, sql_create, p, 4, &res);
		if (rv == MK_OK && res.rows_affected == 0) {
			char msg[160];
			snprintf(msg, sizeof msg, "key \"%s\" already exists", op->key);
			op_fail(op, MK_EEXISTS, msg);
			return MK_OK;
		}
		break;
	}
	case OP_UPDATE: {
		struct dq_value p[6] = {dq_text(op->key), dq_int(op->expires),
					dq_int(op->nonce), dq_blob(op->value, op->len),
					dq_int(op->expected_rev), dq_int(now)};
		rv = dq_exec(c, sql_update, p, 6, &res);
		break;
	}
	default: {
		struct dq_value p[4] = {dq_text(op->key), dq_int(op->nonce),
					dq_int(op->expected_rev),
					dq_int(op->check_expiry ? now : 0)};
		rv = dq_exec(c, sql_delete, p, 4, &res);
		break;
	}
	}
	if (rv == MK_ESQL || rv == MK_EINVAL) {
		op_fail(op, rv, dq_client_errmsg(c));
		return MK_OK;
	}
	if (rv != MK_OK)
		return rv;
	if (res.rows_affected == 0) {
		op->needs_diagnosis = true;
	} else {
		op->rev = (int64_t)res.last_insert_id;
	}
	return MK_OK;
}

/* Looks up operations whose earlier attempt may have committed. */
static int resolve_maybe(struct dq_client *c, struct write_op **ops, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (ops[i]->done)
			continue;
		struct dq_value p = dq_int(ops[i]->nonce);
		struct dq_rows r;
		int rv = dq_query(c, sql_find_nonce, &p, 1, 0, &r);
		if (rv != MK_OK)
			return rv;
		if (r.nrows == 1) {
			ops[i]->rev = dq_rows_at(&r, 0, 0)->integer;
			ops[i]->done = true;
			ops[i]->resolved = true;
			ops[i]->rv = MK_OK;
			mk_info("store", "write to \"%s\" had committed before the leader changed",
				ops[i]->key);
		}
		dq_rows_free(&r);
	}
	return MK_OK;
}

/* One attempt at the pending operations of a group. */
static int attempt(struct dq_client *c, struct write_op **ops, size_t n)
{
	/* Outcomes of an earlier attempt died with its transaction. */
	size_t pending = 0;
	for (size_t i = 0; i < n; i++) {
		if (ops[i]->resolved)
			continue;
		ops[i]->done = false;
		ops[i]->needs_diagnosis = false;
		ops[i]->rev = 0;
		pending++;
	}
	if (pending == 0)
		return MK_OK;
	int64_t now = store_now_ms();
	/* A lone update or delete is a single statement: autocommit saves
	 * two round trips.  Anything else needs a transaction. */
	bool txn = pending > 1;
	for (size_t i = 0; !txn && i < n; i++)
		if (!ops[i]->done && ops[i]->kind == OP_CREATE)
			txn = true;
	int rv;
	if (txn && (rv = dq_exec_sql(c, "BEGIN", NULL, 0, NULL)) != MK_OK)
		return rv;
	for (size_t i = 0; i < n; i++) {
		if (ops[i]->done)
			continue;
		if ((rv = apply_op(c, ops[i], now)) != MK_OK)
			goto err_rollback;
	}
	if (txn && (rv = dq_exec_sql(c, "COMMIT", NULL, 0, NULL)) != MK_OK)
		goto err_rollback;
	return MK_OK;

err_rollback:
	/* A dropped connection already rolled back on the server. */
	if (txn && dq_client_connected(c))
		dq_exec_sql(c, "ROLLBACK", NULL, 0, NULL);
	return rv;
}

/* After commit: a CAS that matched nothing is "not found" or "conflict". */
static void diagnose(struct store *s, struct dq_client *c, struct write_op *op)
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
	(void)s;
}

static void run_group(struct store *s, struct write_op **ops, size_t n)
{
	struct dq_client *c = s->write_conn;
	int64_t deadline = store_monotonic_ms() + s->cfg.op_timeout_ms;
	int backoff = 5;
	bool maybe = false;
	int rv;
	for (;;) {
		rv = maybe ? resolve_maybe(c, ops, n) : MK_OK;
		if (rv == MK_OK)
			rv = attempt(c, ops, n);
		if (rv == MK_OK)
			break;
		/* Only a failure during the commit itself (or a lost
		 * connection) can leave writes half-known; a constraint
		 * violation on the nonce also means "already there". */
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
			diagnose(s, c, op);
		} else {
			op->done = true;
			op->rv = MK_OK;
		}
	}
	if (rv == MK_OK)
		store_hub_kick(s);
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
		       (n == 0 || bytes + s->queue_head->len <= GROUP_MAX_BYTES)) {
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

/* Queues `op` and waits for the writer to finish it. */
static int submit(struct store *s, struct write_op *op, int64_t *rev)
{
	op->nonce = random_nonce();
	op->expire_nonce = random_nonce();
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
