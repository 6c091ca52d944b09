/*
 * Store maintenance, on the leader only: deleting expired keys (so that
 * watchers see them go) and compacting history in small batches.
 *
 * Every process with an embedded node runs this thread, and each checks on
 * every round whether its own node is the leader, so exactly one process
 * does the work and it moves with leadership.  A process without a node
 * (a plain client) never maintains.
 */
#include <stdlib.h>
#include <string.h>

#include "../base/err.h"
#include "../base/log.h"
#include "store_internal.h"

#define EXPIRY_INTERVAL_MS 1000
#define EXPIRY_BATCH 100
#define COMPACT_BATCH 500

static const char sql_expired[] =
	"SELECT key, rev FROM live WHERE expires != 0 AND expires <= ?1"
	" ORDER BY expires LIMIT ?2";

/* A batch (lo, hi]: rows superseded inside it are gone for every revision
 * >= hi, and so are its tombstones.  An event after hi always finds its
 * previous row, because that row is superseded only after hi. */
static const char sql_compact_superseded[] =
	"DELETE FROM log WHERE rev IN (SELECT prev_rev FROM log"
	" WHERE rev > ?1 AND rev <= ?2 AND prev_rev != 0)";
static const char sql_compact_tombstones[] =
	"DELETE FROM log WHERE rev > ?1 AND rev <= ?2 AND op = 3";
/* Conditional on the old value: two compactors cannot interleave. */
static const char sql_compact_mark[] =
	"UPDATE meta SET value = ?2 WHERE name = 'compact_rev' AND value = ?1";

int store_expire_now(struct store *s)
{
	for (;;) {
		int done = 0;
		struct dq_value p[2] = {dq_int(store_now_ms()), dq_int(EXPIRY_BATCH)};
		struct dq_rows r;
		int rv = store_read(s, sql_expired, p, 2, 0, &r);
		if (rv != MK_OK)
			return rv;
		size_t got = r.nrows;
		for (size_t i = 0; i < got; i++) {
			const struct dq_value *key = dq_rows_at(&r, i, 0);
			char *k = strndup(key->text, key->len);
			if (k == NULL)
				continue;
			/* CAS on the row we saw: a key refreshed meanwhile
			 * stays. */
			if (store_delete_expired(s, k, dq_rows_at(&r, i, 1)->integer) == MK_OK) {
				mk_debug("store", "expired \"%s\"", k);
				done++;
			}
			free(k);
		}
		dq_rows_free(&r);
		/* A full batch means more may wait, unless this one made no
		 * progress (deletes failing): then try again next round. */
		if (got < EXPIRY_BATCH || done == 0)
			break;
	}
	return MK_OK;
}

static int compact_batch(struct dq_client *c, int64_t lo, int64_t hi)
{
	struct dq_value p[2] = {dq_int(lo), dq_int(hi)};
	struct dq_result res;
	int rv = dq_exec_sql(c, "BEGIN", NULL, 0, NULL);
	if (rv != MK_OK)
		return rv;
	if ((rv = dq_exec(c, sql_compact_superseded, p, 2, NULL)) != MK_OK ||
	    (rv = dq_exec(c, sql_compact_tombstones, p, 2, NULL)) != MK_OK ||
	    (rv = dq_exec(c, sql_compact_mark, p, 2, &res)) != MK_OK)
		goto err_rollback;
	if (res.rows_affected != 1) {
		rv = MK_ECONFLICT; /* someone else compacted meanwhile */
		goto err_rollback;
	}
	return dq_exec_sql(c, "COMMIT", NULL, 0, NULL);

err_rollback:
	if (dq_client_connected(c))
		dq_exec_sql(c, "ROLLBACK", NULL, 0, NULL);
	return rv;
}

int store_compact(struct store *s, int64_t target)
{
	int64_t rev, compacted;
	int rv = store_revision(s, &rev, &compacted);
	if (rv != MK_OK)
		return rv;
	/* Never the newest row: MAX(rev) is the current revision. */
	if (target > rev - 1)
		target = rev - 1;
	struct dq_client *c = store_pool_get(s);
	if (c == NULL)
		return store_fail(MK_ENOMEM, "out of memory");
	int64_t deadline = store_monotonic_ms() + s->cfg.op_timeout_ms;
	int64_t lo = compacted;
	while (lo < target) {
		int64_t hi = lo + COMPACT_BATCH < target ? lo + COMPACT_BATCH : target;
		rv = compact_batch(c, lo, hi);
		if (rv == MK_OK) {
			lo = hi;
			continue;
		}
		if (rv == MK_ECONFLICT || rv == MK_EMAYBE) {
			/* Re-read where compaction stands and go on from
			 * there: the batch is idempotent. */
			int64_t now_compacted;
			if (store_revision(s, NULL, &now_compacted) == MK_OK && now_compacted > lo)
				lo = now_compacted;
		}
		if (!store_err_retryable(rv) && rv != MK_ECONFLICT) {
			store_fail(rv, "compaction: %s", dq_client_errmsg(c));
			break;
		}
		if (store_monotonic_ms() >= deadline) {
			store_fail(rv, "compaction: %s", dq_client_errmsg(c));
			break;
		}
		rv = MK_OK;
		store_sleep_ms(20);
	}
	store_pool_put(s, c);
	if (rv == MK_OK && lo > compacted)
		mk_debug("store", "compacted revisions %lld..%lld", (long long)compacted,
			 (long long)lo);
	return rv;
}

/* True when this process's own node is the leader right now. */
static bool local_is_leader(struct store *s)
{
	struct dq_client *c = s->maintain_conn;
	uint64_t id;
	char leader[64];
	if (dq_leader(c, &id, leader, sizeof leader) != MK_OK)
		return false;
	return strcmp(leader, s->local_address) == 0;
}

static void *maintainer_main(void *arg)
{
	struct store *s = arg;
	int64_t next_compact = store_monotonic_ms() + s->cfg.compact_interval_ms;
	while (!store_wait_stop(s, EXPIRY_INTERVAL_MS)) {
		if (!local_is_leader(s))
			continue;
		if (store_expire_now(s) != MK_OK)
			mk_debug("store", "expiry: %s", store_last_error());
		if (store_monotonic_ms() < next_compact)
			continue;
		next_compact = store_monotonic_ms() + s->cfg.compact_interval_ms;
		int64_t rev;
		if (store_revision(s, &rev, NULL) != MK_OK)
			continue;
		if (rev - s->cfg.compact_retain > 0 &&
		    store_compact(s, rev - s->cfg.compact_retain) != MK_OK)
			mk_warn("store", "%s", store_last_error());
	}
	return NULL;
}

int store_maintainer_start(struct store *s)
{
	if (s->local_address == NULL)
		return MK_OK;
	/* Direct to our own node: LEADER is answered by any node. */
	const char *self = s->local_address;
	struct dq_client_config cc = {.members = &self, .n_members = 1, .direct = true,
				      .database = s->database};
	int rv = dq_client_open(&cc, &s->maintain_conn);
	if (rv != MK_OK)
		return store_fail(rv, "out of memory");
	if (pthread_create(&s->maintainer, NULL, maintainer_main, s) != 0) {
		dq_client_close(s->maintain_conn);
		s->maintain_conn = NULL;
		return store_fail(MK_ENOMEM, "cannot start the maintenance thread");
	}
	return MK_OK;
}

void store_maintainer_stop(struct store *s)
{
	if (s->maintain_conn == NULL)
		return;
	pthread_join(s->maintainer, NULL);
	dq_client_close(s->maintain_conn);
	s->maintain_conn = NULL;
}
