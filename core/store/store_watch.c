/*
 * Watch hub: one thread per store tails the revision log and hands each
 * event to the watchers whose prefix it matches.
 *
 * It learns of new revisions two ways: a local write kicks it the moment it
 * commits (store_hub_kick), and otherwise it asks the leader for rows after
 * the last revision it saw every poll_interval_ms, which is how writes made
 * through other nodes arrive.  Revisions are assigned under dqlite's single
 * write lock and committed in order, so "rev > last seen" never skips one.
 *
 * A watcher that starts in the past is first fed the history it missed,
 * under the hub lock so that nothing is delivered twice or out of order.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "../base/err.h"
#include "../base/log.h"
#include "store_internal.h"

#define WATCH_QUEUE_MAX 10000
#define HUB_PAGE 500

struct queued_event {
	struct store_event ev;
	struct queued_event *next;
};

struct store_watch {
	struct store *store;
	char *prefix;
	size_t prefix_len;
	int64_t after_rev;

	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct queued_event *head, *tail;
	size_t queued;
	int err; /* MK_EOVERFLOW or MK_ECLOSED once the stream ended */
	int efd;

	struct store_watch *next; /* in the store's list (hub_lock) */
};

static const char sql_events[] =
	"SELECT l.rev, l.key, l.op,"
	" CASE l.create_rev WHEN 0 THEN l.rev ELSE l.create_rev END,"
	" l.prev_rev, l.expires, l.value, p.value"
	" FROM log l LEFT JOIN log p ON p.rev = l.prev_rev"
	" WHERE l.rev > ?1 ORDER BY l.rev LIMIT ?2";

static const char sql_events_prefix[] =
	"SELECT l.rev, l.key, l.op,"
	" CASE l.create_rev WHEN 0 THEN l.rev ELSE l.create_rev END,"
	" l.prev_rev, l.expires, l.value, p.value"
	" FROM log l LEFT JOIN log p ON p.rev = l.prev_rev"
	" WHERE l.rev > ?1 AND l.rev <= ?2 AND l.key >= ?3 AND l.key < ?4"
	" ORDER BY l.rev LIMIT ?5";

static int event_from_row(const struct dq_rows *r, size_t i, struct store_event *ev)
{
	memset(ev, 0, sizeof *ev);
	ev->kv.rev = dq_rows_at(r, i, 0)->integer;
	int64_t op = dq_rows_at(r, i, 2)->integer;
	if (op < STORE_ADDED || op > STORE_DELETED)
		return MK_EPROTO;
	ev->type = (enum store_event_type)op;
	ev->kv.create_rev = dq_rows_at(r, i, 3)->integer;
	ev->prev_rev = dq_rows_at(r, i, 4)->integer;
	ev->kv.expires_ms = dq_rows_at(r, i, 5)->integer;
	int rv = store_dup_text(dq_rows_at(r, i, 1), &ev->kv.key);
	if (rv == MK_OK)
		rv = store_dup_blob(dq_rows_at(r, i, 6), &ev->kv.value, &ev->kv.len);
	if (rv == MK_OK)
		rv = store_dup_blob(dq_rows_at(r, i, 7), &ev->old_value, &ev->old_len);
	if (rv != MK_OK)
		store_event_free(ev);
	return rv;
}

static int copy_event(const struct store_event *src, struct store_event *dst)
{
	memset(dst, 0, sizeof *dst);
	*dst = *src;
	dst->kv.key = strdup(src->kv.key);
	dst->kv.value = NULL;
	dst->old_value = NULL;
	if (dst->kv.key == NULL)
		goto err;
	if (src->kv.value) {
		if ((dst->kv.value = malloc(src->kv.len + 1)) == NULL)
			goto err;
		memcpy(dst->kv.value, src->kv.value, src->kv.len + 1);
	}
	if (src->old_value) {
		if ((dst->old_value = malloc(src->old_len + 1)) == NULL)
			goto err;
		memcpy(dst->old_value, src->old_value, src->old_len + 1);
	}
	return MK_OK;
err:
	store_event_free(dst);
	return MK_ENOMEM;
}

static void signal_fd(int efd)
{
	uint64_t one = 1;
	ssize_t w = write(efd, &one, sizeof one);
	(void)w; /* a full counter is still readable, which is all we need */
}

/* Hands a copy of `ev` to `w` if it matches.  Called with hub_lock held. */
static void deliver(struct store_watch *w, const struct store_event *ev)
{
	if (ev->kv.rev <= w->after_rev ||
	    strncmp(ev->kv.key, w->prefix, w->prefix_len) != 0)
		return;
	pthread_mutex_lock(&w->lock);
	if (w->err == MK_OK) {
		struct queued_event *q = NULL;
		if (w->queued >= WATCH_QUEUE_MAX) {
			w->err = MK_EOVERFLOW;
		} else if ((q = calloc(1, sizeof *q)) == NULL || copy_event(ev, &q->ev) != MK_OK) {
			free(q);
			w->err = MK_EOVERFLOW;
		} else {
			if (w->tail)
				w->tail->next = q;
			else
				w->head = q;
			w->tail = q;
			w->queued++;
		}
		signal_fd(w->efd);
		pthread_cond_broadcast(&w->cond);
	}
	pthread_mutex_unlock(&w->lock);
}

/* Fetches and dispatches everything after hub_rev.  hub_lock held. */
static int hub_catch_up(struct store *s)
{
	for (;;) {
		struct dq_value p[2] = {dq_int(s->hub_rev), dq_int(HUB_PAGE)};
		struct dq_rows r;
		int rv = dq_query(s->hub_conn, sql_events, p, 2, 0, &r);
		if (rv != MK_OK)
			return rv;
		for (size_t i = 0; i < r.nrows; i++) {
			struct store_event ev;
			if (event_from_row(&r, i, &ev) != MK_OK)
				continue;
			for (struct store_watch *w = s->watchers; w; w = w->next)
				deliver(w, &ev);
			s->hub_rev = ev.kv.rev;
			store_event_free(&ev);
		}
		size_t got = r.nrows;
		dq_rows_free(&r);
		if (got < HUB_PAGE)
			return MK_OK;
	}
}

static void *hub_main(void *arg)
{
	struct store *s = arg;
	pthread_mutex_lock(&s->hub_lock);
	while (!s->hub_stopping) {
		if (!s->hub_kick) {
			struct timespec until;
			clock_gettime(CLOCK_REALTIME, &until);
			long ns = until.tv_nsec + (long)(s->cfg.poll_interval_ms % 1000) * 1000000L;
			until.tv_sec += s->cfg.poll_interval_ms / 1000 + ns / 1000000000L;
			until.tv_nsec = ns % 1000000000L;
			pthread_cond_timedwait(&s->hub_cond, &s->hub_lock, &until);
		}
		if (s->hub_stopping)
			break;
		s->hub_kick = false;
		/* Only fetch when someone listens: an idle node should not
		 * poll the leader. */
		if (s->watchers == NULL)
			continue;
		int rv = hub_catch_up(s);
		if (rv != MK_OK)
			mk_debug("store", "watch poll failed: %s", dq_client_errmsg(s->hub_conn));
	}
	/* Wake every consumer: the stream is over. */
	for (struct store_watch *w = s->watchers; w; w = w->next) {
		pthread_mutex_lock(&w->lock);
		if (w->err == MK_OK)
			w->err = MK_ECLOSED;
		signal_fd(w->efd);
		pthread_cond_broadcast(&w->cond);
		pthread_mutex_unlock(&w->lock);
	}
	pthread_mutex_unlock(&s->hub_lock);
	return NULL;
}

int store_hub_start(struct store *s, int64_t from_rev)
{
	s->hub_rev = from_rev;
	int rv = store_client_new(s, &s->hub_conn);
	if (rv != MK_OK)
		return store_fail(rv, "out of memory");
	if (pthread_create(&s->hub, NULL, hub_main, s) != 0) {
		dq_client_close(s->hub_conn);
		return store_fail(MK_ENOMEM, "cannot start the watch thread");
	}
	return MK_OK;
}

void store_hub_stop(struct store *s)
{
	pthread_mutex_lock(&s->hub_lock);
	s->hub_stopping = true;
	pthread_cond_broadcast(&s->hub_cond);
	pthread_mutex_unlock(&s->hub_lock);
	pthread_join(s->hub, NULL);
	dq_client_close(s->hub_conn);
	s->hub_conn = NULL;
}

void store_hub_kick(struct store *s)
{
	pthread_mutex_lock(&s->hub_lock);
	s->hub_kick = true;
	pthread_cond_broadcast(&s->hub_cond);
	pthread_mutex_unlock(&s->hub_lock);
}

/* Feeds `w` the events in (w->after_rev, s->hub_rev].  hub_lock held. */
static int replay(struct store *s, struct store_watch *w)
{
	int64_t from = w->after_rev;
	char *end = store_prefix_end(w->prefix);
	if (end == NULL)
		return store_fail(MK_ENOMEM, "out of memory");
	for (;;) {
		struct dq_value p[5] = {dq_int(from), dq_int(s->hub_rev), dq_text(w->prefix),
					dq_text(end), dq_int(HUB_PAGE)};
		struct dq_rows r;
		int rv = dq_query(s->hub_conn, sql_events_prefix, p, 5, 0, &r);
		if (rv != MK_OK) {
			free(end);
			return store_fail(rv, "%s", dq_client_errmsg(s->hub_conn));
		}
		for (size_t i = 0; i < r.nrows; i++) {
			struct store_event ev;
			if (event_from_row(&r, i, &ev) != MK_OK)
				continue;
			deliver(w, &ev);
			from = ev.kv.rev;
			store_event_free(&ev);
		}
		size_t got = r.nrows;
		dq_rows_free(&r);
		if (got < HUB_PAGE) {
			free(end);
			return MK_OK;
		}
	}
}

int store_watch(struct store *s, const char *prefix, int64_t after_rev,
		struct store_watch **out)
{
	if (after_rev < 0 && after_rev != STORE_WATCH_NOW)
		return store_fail(MK_EINVAL, "negative revision");
	struct store_watch *w = calloc(1, sizeof *w);
	if (w == NULL)
		return store_fail(MK_ENOMEM, "out of memory");
	w->store = s;
	w->prefix = strdup(prefix ? prefix : "");
	w->prefix_len = w->prefix ? strlen(w->prefix) : 0;
	w->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	if (w->prefix == NULL || w->efd < 0) {
		store_watch_close(w);
		return store_fail(MK_ENOMEM, "cannot create a watcher");
	}

	int64_t rev, compacted;
	pthread_mutex_lock(&s->hub_lock);
	int rv = store_revision(s, &rev, &compacted);
	if (rv != MK_OK)
		goto err_unlock;
	/* Bring the hub up to date first: a watcher from "now" must not be
	 * handed events that precede it.  With nobody listening the hub has
	 * not been following, and jumping to the current revision is enough. */
	if (s->watchers == NULL && rev > s->hub_rev)
		s->hub_rev = rev;
	rv = hub_catch_up(s);
	if (rv != MK_OK) {
		store_fail(rv, "%s", dq_client_errmsg(s->hub_conn));
		goto err_unlock;
	}
	if (after_rev == STORE_WATCH_NOW)
		after_rev = s->hub_rev;
	w->after_rev = after_rev;
	if (after_rev < s->hub_rev) {
		if (after_rev < compacted) {
			rv = store_fail(MK_ECOMPACTED,
					"revision %lld is compacted (oldest kept: %lld)",
					(long long)after_rev, (long long)compacted);
			goto err_unlock;
		}
		if ((rv = replay(s, w)) != MK_OK)
			goto err_unlock;
		/* Compaction may have run during the replay and taken
		 * rows we needed: then the history is incomplete. */
		int64_t again;
		if ((rv = store_revision(s, NULL, &again)) != MK_OK)
			goto err_unlock;
		if (after_rev < again) {
			rv = store_fail(MK_ECOMPACTED, "revision %lld was compacted meanwhile",
					(long long)after_rev);
			goto err_unlock;
		}
	}
	w->after_rev = after_rev;
	w->next = s->watchers;
	s->watchers = w;
	pthread_mutex_unlock(&s->hub_lock);
	*out = w;
	return MK_OK;

err_unlock:
	pthread_mutex_unlock(&s->hub_lock);
	w->store = NULL;
	store_watch_close(w);
	return rv;
}

int store_watch_next(struct store_watch *w, int timeout_ms, struct store_event *ev)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	if (timeout_ms >= 0) {
		long ns = until.tv_nsec + (long)(timeout_ms % 1000) * 1000000L;
		until.tv_sec += timeout_ms / 1000 + ns / 1000000000L;
		until.tv_nsec = ns % 1000000000L;
	}
	int rv = MK_OK;
	pthread_mutex_lock(&w->lock);
	while (w->head == NULL && w->err == MK_OK) {
		if (timeout_ms < 0) {
			pthread_cond_wait(&w->cond, &w->lock);
		} else if (pthread_cond_timedwait(&w->cond, &w->lock, &until) == ETIMEDOUT) {
			break;
		}
	}
	if (w->head) {
		struct queued_event *q = w->head;
		w->head = q->next;
		if (w->head == NULL)
			w->tail = NULL;
		w->queued--;
		*ev = q->ev;
		free(q);
	} else {
		rv = w->err != MK_OK ? w->err : MK_ETIMEDOUT;
	}
	if (w->head == NULL && w->err == MK_OK) {
		uint64_t drain;
		ssize_t r = read(w->efd, &drain, sizeof drain);
		(void)r;
	}
	pthread_mutex_unlock(&w->lock);
	if (rv == MK_EOVERFLOW)
		return store_fail(rv, "watcher fell more than %d events behind", WATCH_QUEUE_MAX);
	if (rv == MK_ECLOSED)
		return store_fail(rv, "store is closing");
	return rv;
}

int store_watch_fd(const struct store_watch *w)
{
	return w->efd;
}

void store_watch_close(struct store_watch *w)
{
	if (w == NULL)
		return;
	struct store *s = w->store;
	if (s) {
		pthread_mutex_lock(&s->hub_lock);
		for (struct store_watch **pp = &s->watchers; *pp; pp = &(*pp)->next) {
			if (*pp == w) {
				*pp = w->next;
				break;
			}
		}
		pthread_mutex_unlock(&s->hub_lock);
	}
	while (w->head) {
		struct queued_event *q = w->head;
		w->head = q->next;
		store_event_free(&q->ev);
		free(q);
	}
	if (w->efd >= 0)
		close(w->efd);
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->cond);
	free(w->prefix);
	free(w);
}
