/*
 * Store: opening, the schema, the read connection pool and the reads.
 * Writes live in store_write.c, watches in store_watch.c, expiry and
 * compaction in store_maintain.c.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../base/err.h"
#include "../base/log.h"
#include "store_internal.h"

/*
 * Schema.  `log` is the append-only revision log (rev = revision); `live`
 * maps each existing key to its newest log row and is kept by a trigger in
 * the same statement as the log insert, so the two can never disagree.
 * Column types are plain INTEGER/TEXT/BLOB: dqlite rewrites DATETIME and
 * BOOLEAN columns (reference §2).  `create_rev` is 0 on a create row, which
 * means "this row's own rev" (a row cannot know its rev before insert).
 *
 * Every index and every extra table a write touches is another 4 KiB page
 * that raft replicates and fsyncs on each node, so there are as few as the
 * reads need: no AUTOINCREMENT (its sqlite_sequence row would be one more
 * page per write) and no index on `nonce` (only read after a failure, and
 * then within a small range of recent revisions).  Without AUTOINCREMENT a
 * new rev is MAX(rev) + 1, which stays monotonic because compaction never
 * deletes the newest row.
 */
static const char schema_sql[] =
	"CREATE TABLE IF NOT EXISTS log ("
	"  rev INTEGER PRIMARY KEY,"
	"  key TEXT NOT NULL,"
	"  op INTEGER NOT NULL," /* 1 create, 2 update, 3 delete */
	"  create_rev INTEGER NOT NULL,"
	"  prev_rev INTEGER NOT NULL,"
	"  expires INTEGER NOT NULL,"
	"  nonce INTEGER NOT NULL,"
	"  value BLOB);"
	"CREATE INDEX IF NOT EXISTS log_key_rev ON log(key, rev);"
	"CREATE TABLE IF NOT EXISTS live ("
	"  key TEXT PRIMARY KEY,"
	"  rev INTEGER NOT NULL,"
	"  create_rev INTEGER NOT NULL,"
	"  expires INTEGER NOT NULL) WITHOUT ROWID;"
	"CREATE INDEX IF NOT EXISTS live_expires ON live(expires) WHERE expires != 0;"
	"CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL)"
	"  WITHOUT ROWID;"
	"INSERT OR IGNORE INTO meta VALUES ('schema', 1), ('compact_rev', 0);"
	"CREATE TRIGGER IF NOT EXISTS log_to_live AFTER INSERT ON log BEGIN"
	"  DELETE FROM live WHERE NEW.op = 3 AND key = NEW.key;"
	"  INSERT OR REPLACE INTO live (key, rev, create_rev, expires)"
	"    SELECT NEW.key, NEW.rev,"
	"      CASE NEW.create_rev WHEN 0 THEN NEW.rev ELSE NEW.create_rev END,"
	"      NEW.expires WHERE NEW.op != 3;"
	"END;";

const char store_sql_revision[] =
	"SELECT COALESCE((SELECT MAX(rev) FROM log), 0),"
	" (SELECT value FROM meta WHERE name = 'compact_rev')";

static const char sql_get[] =
	"SELECT l.rev, live.create_rev, live.expires, l.value"
	" FROM live JOIN log l ON l.rev = live.rev"
	" WHERE live.key = ?1 AND (live.expires = 0 OR live.expires > ?2)";

/* First page: live rows and the revision in one statement, so the listing
 * is consistent with the revision it reports.  The LEFT JOIN yields one row
 * with NULL columns when the range is empty. */
static const char sql_list_live[] =
	"WITH r AS (SELECT COALESCE((SELECT MAX(rev) FROM log), 0) AS rev)"
	" SELECT r.rev, x.key, x.rev, x.create_rev, x.expires, x.value FROM r LEFT JOIN ("
	"  SELECT live.key AS key, l.rev AS rev, live.create_rev AS create_rev,"
	"         live.expires AS expires, l.value AS value"
	"  FROM live JOIN log l ON l.rev = live.rev"
	"  WHERE live.key >= ?1 AND live.key > ?2 AND live.key < ?3"
	"    AND (live.expires = 0 OR live.expires > ?4)"
	"  ORDER BY live.key LIMIT ?5) x ORDER BY x.key";

/* Later pages: the state at revision ?4 rebuilt from history. */
static const char sql_list_at[] =
	"SELECT (SELECT value FROM meta WHERE name = 'compact_rev'), l.key, l.rev,"
	" CASE l.create_rev WHEN 0 THEN l.rev ELSE l.create_rev END, l.expires, l.value"
	" FROM log l WHERE l.rev IN ("
	"   SELECT MAX(rev) FROM log WHERE key >= ?1 AND key > ?2 AND key < ?3"
	"   AND rev <= ?4 GROUP BY key)"
	" AND l.op != 3 AND (l.expires = 0 OR l.expires > ?5)"
	" ORDER BY l.key LIMIT ?6";

/* ---- errors and time ---- */

static __thread char last_error[512];

const char *store_last_error(void)
{
	return last_error;
}

int store_fail(int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(last_error, sizeof last_error, fmt, ap);
	va_end(ap);
	return err;
}

int64_t store_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t store_monotonic_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void store_sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

bool store_wait_stop(struct store *s, int ms)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&s->stop_lock);
	while (!s->stopping &&
	       pthread_cond_timedwait(&s->stop_cond, &s->stop_lock, &until) == 0)
		;
	bool stopping = s->stopping;
	pthread_mutex_unlock(&s->stop_lock);
	return stopping;
}

bool store_err_retryable(int err)
{
	return err == MK_ENOTLEADER || err == MK_EMAYBE || err == MK_EIO ||
	       err == MK_EPROTO || err == MK_EUNAVAILABLE || err == MK_EBUSY;
}

/* ---- connections ---- */

int store_client_new(struct store *s, struct dq_client **out)
{
	struct dq_client_config cc = {
		.members = (const char *const *)s->members,
		.n_members = s->cfg.n_members,
		.database = s->database,
		/* Discovery gives up well inside the operation budget so
		 * that the caller's retry loop stays in charge. */
		.discovery_timeout_ms = s->cfg.op_timeout_ms < 5000 ? s->cfg.op_timeout_ms : 5000,
		.request_timeout_ms = s->cfg.op_timeout_ms,
	};
	return dq_client_open(&cc, out);
}

struct dq_client *store_pool_get(struct store *s)
{
	struct dq_client *c = NULL;
	pthread_mutex_lock(&s->pool_lock);
	for (;;) {
		if (s->n_idle > 0) {
			c = s->idle[--s->n_idle];
			break;
		}
		if (s->n_open < (size_t)s->cfg.max_pool) {
			s->n_open++;
			break;
		}
		pthread_cond_wait(&s->pool_cond, &s->pool_lock);
	}
	pthread_mutex_unlock(&s->pool_lock);
	if (c == NULL && store_client_new(s, &c) != MK_OK) {
		pthread_mutex_lock(&s->pool_lock);
		s->n_open--;
		pthread_cond_signal(&s->pool_cond);
		pthread_mutex_unlock(&s->pool_lock);
		return NULL;
	}
	return c;
}

void store_pool_put(struct store *s, struct dq_client *c)
{
	pthread_mutex_lock(&s->pool_lock);
	s->idle[s->n_idle++] = c;
	pthread_cond_signal(&s->pool_cond);
	pthread_mutex_unlock(&s->pool_lock);
}

int store_read(struct store *s, const char *sql, const struct dq_value *params,
	       size_t n, size_t max_rows, struct dq_rows *rows)
{
	struct dq_client *c = store_pool_get(s);
	if (c == NULL)
		return store_fail(MK_ENOMEM, "out of memory");
	int64_t deadline = store_monotonic_ms() + s->cfg.op_timeout_ms;
	int backoff = 20;
	int rv;
	for (;;) {
		rv = dq_query(c, sql, params, n, max_rows, rows);
		if (rv == MK_OK)
			break;
		if (!store_err_retryable(rv)) {
			store_fail(rv, "%s", dq_client_errmsg(c));
			break;
		}
		if (store_monotonic_ms() >= deadline) {
			store_fail(rv, "gave up after %d ms: %s", s->cfg.op_timeout_ms,
				   dq_client_errmsg(c));
			break;
		}
		store_sleep_ms(backoff);
		backoff = backoff * 2 > 500 ? 500 : backoff * 2;
	}
	store_pool_put(s, c);
	return rv;
}

int store_dup_blob(const struct dq_value *v, void **out, size_t *len)
{
	*out = NULL;
	*len = 0;
	if (v->type == DQ_NULL)
		return MK_OK;
	const void *src = v->type == DQ_BLOB ? v->blob : v->text;
	if (v->type != DQ_BLOB && v->type != DQ_TEXT)
		return MK_EPROTO;
	/* One spare NUL byte so that callers may treat JSON as a string. */
	char *p = malloc(v->len + 1);
	if (p == NULL)
		return MK_ENOMEM;
	memcpy(p, src, v->len);
	p[v->len] = '\0';
	*out = p;
	*len = v->len;
	return MK_OK;
}

int store_dup_text(const struct dq_value *v, char **out)
{
	if (v->type != DQ_TEXT)
		return MK_EPROTO;
	*out = strndup(v->text, v->len);
	return *out ? MK_OK : MK_ENOMEM;
}

/* ---- open / close ---- */

static int create_schema(struct store *s)
{
	struct dq_client *c = store_pool_get(s);
	if (c == NULL)
		return store_fail(MK_ENOMEM, "out of memory");
	int64_t deadline = store_monotonic_ms() + s->cfg.op_timeout_ms;
	int rv;
	for (;;) {
		rv = dq_exec_sql(c, schema_sql, NULL, 0, NULL);
		if (rv == MK_OK || !store_err_retryable(rv) ||
		    store_monotonic_ms() >= deadline)
			break;
		store_sleep_ms(100);
	}
	if (rv != MK_OK)
		store_fail(rv, "creating the schema: %s", dq_client_errmsg(c));
	store_pool_put(s, c);
	return rv;
}

static void free_store(struct store *s)
{
	for (size_t i = 0; i < s->n_idle; i++)
		dq_client_close(s->idle[i]);
	free(s->idle);
	for (size_t i = 0; s->members && i < s->cfg.n_members; i++)
		free(s->members[i]);
	free(s->members);
	free(s->database);
	free(s->local_address);
	pthread_mutex_destroy(&s->pool_lock);
	pthread_cond_destroy(&s->pool_cond);
	pthread_mutex_destroy(&s->write_lock);
	pthread_cond_destroy(&s->write_cond);
	pthread_cond_destroy(&s->done_cond);
	pthread_mutex_destroy(&s->hub_lock);
	pthread_cond_destroy(&s->hub_cond);
	pthread_mutex_destroy(&s->stop_lock);
	pthread_cond_destroy(&s->stop_cond);
	free(s);
}

int store_open(const struct store_config *config, struct store **out)
{
	if (config->n_members == 0)
		return store_fail(MK_EINVAL, "no dqlite members given");
	struct store *s = calloc(1, sizeof *s);
	if (s == NULL)
		return store_fail(MK_ENOMEM, "out of memory");
	s->cfg = *config;
	if (s->cfg.poll_interval_ms <= 0)
		s->cfg.poll_interval_ms = 500;
	if (s->cfg.compact_interval_ms <= 0)
		s->cfg.compact_interval_ms = 300000;
	if (s->cfg.compact_retain <= 0)
		s->cfg.compact_retain = 1000;
	if (s->cfg.op_timeout_ms <= 0)
		s->cfg.op_timeout_ms = 15000;
	if (s->cfg.max_pool <= 0)
		s->cfg.max_pool = 8;
	pthread_mutex_init(&s->pool_lock, NULL);
	pthread_cond_init(&s->pool_cond, NULL);
	pthread_mutex_init(&s->write_lock, NULL);
	pthread_cond_init(&s->write_cond, NULL);
	pthread_cond_init(&s->done_cond, NULL);
	pthread_mutex_init(&s->hub_lock, NULL);
	pthread_cond_init(&s->hub_cond, NULL);
	pthread_mutex_init(&s->stop_lock, NULL);
	pthread_cond_init(&s->stop_cond, NULL);

	s->members = calloc(config->n_members, sizeof *s->members);
	s->idle = calloc((size_t)s->cfg.max_pool, sizeof *s->idle);
	s->database = strdup(config->database ? config->database : "mk");
	if (s->members == NULL || s->idle == NULL || s->database == NULL)
		goto err_nomem;
	for (size_t i = 0; i < config->n_members; i++)
		if ((s->members[i] = strdup(config->members[i])) == NULL)
			goto err_nomem;
	if (config->local_address &&
	    (s->local_address = strdup(config->local_address)) == NULL)
		goto err_nomem;
	s->cfg.members = (const char *const *)s->members;
	s->cfg.database = s->database;
	s->cfg.local_address = s->local_address;

	int rv = create_schema(s);
	if (rv != MK_OK)
		goto err_free;
	int64_t rev, compacted;
	if ((rv = store_revision(s, &rev, &compacted)) != MK_OK)
		goto err_free;
	s->writer_seen_rev = rev;
	if ((rv = store_writer_start(s)) != MK_OK)
		goto err_free;
	if ((rv = store_hub_start(s, rev)) != MK_OK)
		goto err_after_writer;
	if ((rv = store_maintainer_start(s)) != MK_OK)
		goto err_after_hub;
	mk_debug("store", "opened database \"%s\" at revision %lld", s->database,
		 (long long)rev);
	*out = s;
	return MK_OK;

err_after_hub:
	pthread_mutex_lock(&s->stop_lock);
	s->stopping = true;
	pthread_cond_broadcast(&s->stop_cond);
	pthread_mutex_unlock(&s->stop_lock);
	store_hub_stop(s);
err_after_writer:
	store_writer_stop(s);
err_free:
	free_store(s);
	return rv;
err_nomem:
	free_store(s);
	return store_fail(MK_ENOMEM, "out of memory");
}

void store_close(struct store *s)
{
	if (s == NULL)
		return;
	pthread_mutex_lock(&s->stop_lock);
	s->stopping = true;
	pthread_cond_broadcast(&s->stop_cond);
	pthread_mutex_unlock(&s->stop_lock);
	store_maintainer_stop(s);
	store_hub_stop(s);
	store_writer_stop(s);
	free_store(s);
}

/* ---- reads ---- */

static int kv_from_row(const struct dq_rows *r, size_t row, unsigned key_col,
		       struct store_kv *kv)
{
	memset(kv, 0, sizeof *kv);
	const struct dq_value *v = dq_rows_at(r, row, key_col);
	int rv = store_dup_text(v, &kv->key);
	if (rv == MK_OK) {
		kv->rev = dq_rows_at(r, row, key_col + 1)->integer;
		kv->create_rev = dq_rows_at(r, row, key_col + 2)->integer;
		kv->expires_ms = dq_rows_at(r, row, key_col + 3)->integer;
		rv = store_dup_blob(dq_rows_at(r, row, key_col + 4), &kv->value, &kv->len);
	}
	if (rv != MK_OK)
		store_kv_free(kv);
	return rv;
}

static int check_key(const char *key)
{
	size_t n = key ? strlen(key) : 0;
	if (n == 0)
		return store_fail(MK_EINVAL, "empty key");
	if (n > STORE_MAX_KEY)
		return store_fail(MK_EINVAL, "key of %zu bytes exceeds the %d-byte limit", n,
				  STORE_MAX_KEY);
	return MK_OK;
}

int store_get(struct store *s, const char *key, struct store_kv *kv)
{
	int rv = check_key(key);
	if (rv != MK_OK)
		return rv;
	struct dq_value p[2] = {dq_text(key), dq_int(store_now_ms())};
	struct dq_rows r;
	if ((rv = store_read(s, sql_get, p, 2, 0, &r)) != MK_OK)
		return rv;
	if (r.nrows == 0) {
		dq_rows_free(&r);
		return store_fail(MK_ENOTFOUND, "key \"%s\" not found", key);
	}
	memset(kv, 0, sizeof *kv);
	if ((kv->key = strdup(key)) == NULL) {
		rv = MK_ENOMEM;
	} else {
		kv->rev = dq_rows_at(&r, 0, 0)->integer;
		kv->create_rev = dq_rows_at(&r, 0, 1)->integer;
		kv->expires_ms = dq_rows_at(&r, 0, 2)->integer;
		rv = store_dup_blob(dq_rows_at(&r, 0, 3), &kv->value, &kv->len);
	}
	dq_rows_free(&r);
	if (rv != MK_OK) {
		store_kv_free(kv);
		return store_fail(rv, "reading key \"%s\": %s", key, mk_strerror(rv));
	}
	return MK_OK;
}

/* The smallest string greater than every string starting with `prefix`. */
char *store_prefix_end(const char *prefix)
{
	size_t n = strlen(prefix);
	char *end = strdup(prefix);
	if (end == NULL)
		return NULL;
	while (n > 0 && (unsigned char)end[n - 1] == 0xff)
		end[--n] = '\0';
	if (n == 0) {
		/* Everything: no byte string sorts after this in a valid
		 * UTF-8 key. */
		free(end);
		return strdup("\xf4\x90");
	}
	end[n - 1]++;
	return end;
}

int store_list(struct store *s, const char *prefix, const char *after_key,
	       int64_t at_rev, size_t limit, struct store_list *out)
{
	memset(out, 0, sizeof *out);
	if (prefix == NULL)
		prefix = "";
	if (at_rev < 0)
		return store_fail(MK_EINVAL, "negative revision %lld", (long long)at_rev);
	char *end = store_prefix_end(prefix);
	if (end == NULL)
		return store_fail(MK_ENOMEM, "out of memory");
	/* Fetch one extra row to learn whether another page follows. */
	int64_t fetch = limit ? (int64_t)limit + 1 : -1;
	struct dq_rows r;
	int rv;
	int64_t now = store_now_ms();
	if (at_rev == 0) {
		struct dq_value p[5] = {dq_text(prefix), dq_text(after_key ? after_key : ""),
					dq_text(end), dq_int(now), dq_int(fetch)};
		rv = store_read(s, sql_list_live, p, 5, 0, &r);
	} else {
		struct dq_value p[6] = {dq_text(prefix), dq_text(after_key ? after_key : ""),
					dq_text(end),    dq_int(at_rev),
					dq_int(now),     dq_int(fetch)};
		rv = store_read(s, sql_list_at, p, 6, 0, &r);
	}
	free(end);
	if (rv != MK_OK)
		return rv;

	size_t n = r.nrows;
	if (at_rev == 0) {
		out->rev = n ? dq_rows_at(&r, 0, 0)->integer : 0;
		if (n == 1 && dq_rows_at(&r, 0, 1)->type == DQ_NULL)
			n = 0; /* the empty range's single NULL row */
	} else {
		int64_t compacted;
		if (n == 0) {
			/* No row to carry compact_rev: ask separately.
			 * An empty page cannot be inconsistent. */
			int64_t cur;
			dq_rows_free(&r);
			if ((rv = store_revision(s, &cur, &compacted)) != MK_OK)
				return rv;
			if (at_rev > cur)
				return store_fail(MK_EINVAL, "revision %lld is in the future",
						  (long long)at_rev);
		} else {
			compacted = dq_rows_at(&r, 0, 0)->integer;
		}
		if (at_rev < compacted) {
			dq_rows_free(&r);
			return store_fail(MK_ECOMPACTED,
					  "revision %lld is compacted (oldest kept: %lld)",
					  (long long)at_rev, (long long)compacted);
		}
		out->rev = at_rev;
	}
	if (limit && n > limit) {
		out->more = true;
		n = limit;
	}
	if (n > 0 && (out->items = calloc(n, sizeof *out->items)) == NULL) {
		dq_rows_free(&r);
		return store_fail(MK_ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < n; i++) {
		if ((rv = kv_from_row(&r, i, 1, &out->items[i])) != MK_OK) {
			dq_rows_free(&r);
			store_list_free(out);
			return store_fail(rv, "decoding a listed row: %s", mk_strerror(rv));
		}
		out->n++;
	}
	dq_rows_free(&r);
	return MK_OK;
}

int store_revision(struct store *s, int64_t *rev, int64_t *compacted)
{
	struct dq_rows r;
	int rv = store_read(s, store_sql_revision, NULL, 0, 0, &r);
	if (rv != MK_OK)
		return rv;
	if (r.nrows != 1 || r.ncols != 2) {
		dq_rows_free(&r);
		return store_fail(MK_EPROTO, "unexpected revision result");
	}
	if (rev)
		*rev = dq_rows_at(&r, 0, 0)->integer;
	if (compacted)
		*compacted = dq_rows_at(&r, 0, 1)->integer;
	dq_rows_free(&r);
	return MK_OK;
}

void store_kv_free(struct store_kv *kv)
{
	if (kv == NULL)
		return;
	free(kv->key);
	free(kv->value);
	memset(kv, 0, sizeof *kv);
}

void store_list_free(struct store_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		store_kv_free(&l->items[i]);
	free(l->items);
	memset(l, 0, sizeof *l);
}

void store_event_free(struct store_event *ev)
{
	store_kv_free(&ev->kv);
	free(ev->old_value);
	memset(ev, 0, sizeof *ev);
}
