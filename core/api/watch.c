/*
 * Watch streams: chunked JSON lines, one event each (reference
 * kubectl-api.md §5).
 *
 * A worker thread sets the watch up (selectors, the initial ADDED events
 * when no resourceVersion is given, the store watch from the right
 * revision); the loop thread then streams: the store watch's eventfd is
 * polled on the loop, events are filtered and encoded there, and timers
 * end the stream (timeoutSeconds) and send bookmarks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/buf.h"
#include "../base/err.h"
#include "../base/log.h"
#include "../store/store.h"
#include "api_internal.h"
#include "object.h"
#include "selector.h"
#include "table.h"

#define BOOKMARK_INTERVAL_MS 60000
/* Without timeoutSeconds the real server ends a watch after 30-60 min. */
#define DEFAULT_TIMEOUT_MS (1800 * 1000)

struct api_watch {
	struct api_server *srv;
	struct http_exchange *x;
	struct store_watch *sw;
	struct resource_set *rs;
	const struct api_resource *res;
	struct label_selector *ls;
	struct field_selector *fs;
	enum api_output output;
	int include;
	bool bookmarks;
	int64_t timeout_ms;
	int64_t last_rev;
	struct mk_buf initial; /* encoded events sent first */
	uv_poll_t poll;
	uv_timer_t timeout, bookmark;
	int open_handles;
	bool ending;  /* no more events */
	bool closing; /* handles are closing */
};

void api_watch_free(struct api_watch *w)
{
	if (w == NULL)
		return;
	if (w->sw)
		store_watch_close(w->sw);
	resource_set_release(w->rs);
	label_selector_free(w->ls);
	field_selector_free(w->fs);
	mk_buf_free(&w->initial);
	free(w);
}

/* Appends {"type":T,"object":OBJ}\n for `obj` (a Table row when asked). */
static int encode_event(struct api_watch *w, struct mk_buf *out, const char *type, json_t *obj)
{
	json_t *payload = obj;
	json_incref(obj);
	if (w->output == OUTPUT_TABLE && strcmp(type, "BOOKMARK") != 0 &&
	    strcmp(type, "ERROR") != 0) {
		json_t *t = table_new(w->res->group, w->res->kind, w->res->printer_columns);
		table_add_row(t, w->res->group, w->res->kind, w->res->printer_columns, obj,
			      w->include, object_now());
		json_object_set(json_object_get(t, "metadata"), "resourceVersion",
				json_object_get(json_object_get(obj, "metadata"), "resourceVersion"));
		json_decref(payload);
		payload = t;
	}
	json_t *ev = json_pack("{s:s, s:o}", "type", type, "object", payload);
	char *text = ev ? json_dumps(ev, JSON_COMPACT) : NULL;
	json_decref(ev);
	if (text == NULL)
		return MK_ENOMEM;
	int rv = mk_buf_append(out, text, strlen(text));
	if (rv == MK_OK)
		rv = mk_buf_append(out, "\n", 1);
	free(text);
	return rv;
}

static int encode_error(struct api_watch *w, struct mk_buf *out, int code, const char *msg)
{
	json_t *st = api_status(code, api_reason_for(code), msg);
	int rv = encode_event(w, out, "ERROR", st);
	json_decref(st);
	return rv;
}

/* --- setup (worker thread) ---------------------------------------------- */

void api_do_watch_setup(struct api_call *c)
{
	struct api_watch *w = calloc(1, sizeof *w);
	if (w == NULL) {
		api_fail(c, 500, "InternalError", "out of memory");
		return;
	}
	w->srv = c->srv;
	w->res = c->res;
	w->output = c->output;
	w->include = c->include;
	w->bookmarks = api_query_bool(&c->query, "allowWatchBookmarks");
	int64_t timeout_s;
	if (api_query_int(&c->query, "timeoutSeconds", -1, &timeout_s) != MK_OK) {
		api_fail(c, 400, "BadRequest", "timeoutSeconds must be an integer");
		goto fail;
	}
	w->timeout_ms = timeout_s > 0 ? timeout_s * 1000 : DEFAULT_TIMEOUT_MS;
	if (api_selectors(c, &w->ls, &w->fs) != MK_OK)
		goto fail;
	char prefix[STORE_MAX_KEY + 1];
	if (api_object_key(c, c->ns, NULL, prefix, sizeof prefix) != MK_OK) {
		api_fail(c, 404, "NotFound", "the server could not find the requested resource");
		goto fail;
	}
	const char *rvq = api_query_get(&c->query, "resourceVersion");
	int64_t from;
	if (rvq == NULL || rvq[0] == '\0' || strcmp(rvq, "0") == 0) {
		/* No starting point: the current state as ADDED events, then
		 * changes after it. */
		struct store_list l;
		int rv = store_list(c->store, prefix, NULL, 0, 0, &l);
		if (rv != MK_OK) {
			api_fail_store(c, rv);
			goto fail;
		}
		for (size_t i = 0; i < l.n; i++) {
			json_t *obj = object_from_store(l.items[i].value, l.items[i].len,
							l.items[i].rev);
			if (obj != NULL && api_matches(w->ls, w->fs, obj))
				encode_event(w, &w->initial, "ADDED", obj);
			json_decref(obj);
		}
		from = l.rev;
		store_list_free(&l);
	} else {
		char *end;
		from = strtoll(rvq, &end, 10);
		if (*end != '\0' || from <= 0) {
			api_fail(c, 400, "BadRequest", "invalid resourceVersion: %s", rvq);
			goto fail;
		}
	}
	w->last_rev = from;
	int rv = store_watch(c->store, prefix, from, &w->sw);
	if (rv == MK_ECOMPACTED) {
		/* Informers re-list on this (reference §5): an ERROR event
		 * with 410 Expired, then the end of the stream. */
		char msg[128];
		snprintf(msg, sizeof msg, "too old resource version: %lld", (long long)from);
		encode_error(w, &w->initial, 410, msg);
		w->sw = NULL;
		w->ending = true;
	} else if (rv != MK_OK) {
		api_fail_store(c, rv);
		goto fail;
	}
	w->rs = c->rs;
	c->rs = NULL; /* the watch keeps the snapshot its resource lives in */
	c->watch = w;
	return;
fail:
	api_watch_free(w);
}

/* --- streaming (loop thread) ---------------------------------------------- */

static void handle_closed(uv_handle_t *h)
{
	struct api_watch *w = h->data;
	if (--w->open_handles > 0)
		return;
	struct api_server *srv = w->srv;
	api_watch_free(w);
	api_server_watch_closed(srv);
}

static void end_watch(struct api_watch *w)
{
	w->ending = true;
	if (w->x != NULL) {
		http_stream_end(w->x);
		w->x = NULL;
	}
	if (!w->closing) {
		w->closing = true;
		if (w->sw != NULL)
			uv_close((uv_handle_t *)&w->poll, handle_closed);
		uv_close((uv_handle_t *)&w->timeout, handle_closed);
		uv_close((uv_handle_t *)&w->bookmark, handle_closed);
	}
}

static void client_gone(void *arg)
{
	struct api_watch *w = arg;
	w->x = NULL; /* freed by the HTTP server right after this */
	end_watch(w);
}

static void send_buf(struct api_watch *w, struct mk_buf *b)
{
	if (b->len == 0 || w->x == NULL)
		return;
	if (http_stream_write(w->x, b->data, b->len) != MK_OK)
		end_watch(w);
}

static const struct watch_line *cached_line(struct api_server *s, int64_t rev, int output,
					    int include)
{
	for (unsigned i = 0; i < WATCH_LINES; i++) {
		const struct watch_line *l = &s->watch_lines[i];
		if (l->data != NULL && l->rev == rev && l->output == output && l->include == include)
			return l;
	}
	return NULL;
}

static void cache_line(struct api_server *s, int64_t rev, int output, int include,
		       const void *data, size_t len)
{
	struct watch_line *l = &s->watch_lines[s->watch_next++ % WATCH_LINES];
	char *copy = malloc(len);
	if (copy == NULL)
		return;
	memcpy(copy, data, len);
	free(l->data);
	*l = (struct watch_line){rev, output, include, copy, len};
}

void api_watch_lines_free(struct api_server *s)
{
	for (unsigned i = 0; i < WATCH_LINES; i++) {
		free(s->watch_lines[i].data);
		s->watch_lines[i].data = NULL;
	}
}

/* Without selectors an event passes unchanged: encode it once for every
 * watcher (the cache), instead of once per watcher. */
static void deliver_shared(struct api_watch *w, struct store_event *ev, struct mk_buf *out)
{
	const struct watch_line *l = cached_line(w->srv, ev->kv.rev, w->output, w->include);
	if (l != NULL) {
		mk_buf_append(out, l->data, l->len);
		return;
	}
	bool deleted = ev->type == STORE_DELETED;
	json_t *obj = deleted ? object_from_store(ev->old_value, ev->old_len, ev->kv.rev)
			      : object_from_store(ev->kv.value, ev->kv.len, ev->kv.rev);
	if (obj == NULL)
		return;
	struct mk_buf line = MK_BUF_INIT;
	const char *type = ev->type == STORE_ADDED ? "ADDED" : deleted ? "DELETED" : "MODIFIED";
	if (encode_event(w, &line, type, obj) == MK_OK) {
		cache_line(w->srv, ev->kv.rev, w->output, w->include, line.data, line.len);
		mk_buf_append(out, line.data, line.len);
	}
	mk_buf_free(&line);
	json_decref(obj);
}

/* Turns a store event into the API event the selectors call for. */
static void deliver(struct api_watch *w, struct store_event *ev, struct mk_buf *out)
{
	if (w->ls == NULL && w->fs == NULL) {
		if ((ev->type == STORE_DELETED ? ev->old_value : ev->kv.value) != NULL)
			deliver_shared(w, ev, out);
		w->last_rev = ev->kv.rev;
		return;
	}
	json_t *cur = ev->kv.value ? object_from_store(ev->kv.value, ev->kv.len, ev->kv.rev) : NULL;
	json_t *old = ev->old_value ? object_from_store(ev->old_value, ev->old_len, ev->kv.rev)
				    : NULL;
	bool now = cur && api_matches(w->ls, w->fs, cur);
	bool before = old && api_matches(w->ls, w->fs, old);
	switch (ev->type) {
	case STORE_ADDED:
		if (now)
			encode_event(w, out, "ADDED", cur);
		break;
	case STORE_MODIFIED:
		if (now && before)
			encode_event(w, out, "MODIFIED", cur);
		else if (now)
			encode_event(w, out, "ADDED", cur);
		else if (before)
			encode_event(w, out, "DELETED", cur);
		break;
	case STORE_DELETED:
		if (before)
			encode_event(w, out, "DELETED", old);
		break;
	}
	json_decref(cur);
	json_decref(old);
	w->last_rev = ev->kv.rev;
}

static void on_events(uv_poll_t *p, int status, int events)
{
	struct api_watch *w = p->data;
	(void)events;
	if (w->ending)
		return;
	struct mk_buf out = MK_BUF_INIT;
	for (int i = 0; i < 256 && status >= 0; i++) {
		struct store_event ev;
		int rv = store_watch_next(w->sw, 0, &ev);
		if (rv == MK_ETIMEDOUT)
			break;
		if (rv != MK_OK) {
			/* Fell behind or the store closes: the client re-watches
			 * from its last resourceVersion. */
			send_buf(w, &out);
			mk_buf_free(&out);
			end_watch(w);
			return;
		}
		deliver(w, &ev, &out);
		store_event_free(&ev);
	}
	send_buf(w, &out);
	mk_buf_free(&out);
}

static void on_timeout(uv_timer_t *t)
{
	end_watch(t->data);
}

static void on_bookmark(uv_timer_t *t)
{
	struct api_watch *w = t->data;
	if (!w->bookmarks || w->ending)
		return;
	char gv[128], rv[32];
	resource_group_version(w->res, gv, sizeof gv);
	snprintf(rv, sizeof rv, "%lld", (long long)w->last_rev);
	json_t *obj = json_pack("{s:s, s:s, s:{s:s}}", "kind", w->res->kind, "apiVersion", gv,
				"metadata", "resourceVersion", rv);
	struct mk_buf out = MK_BUF_INIT;
	enum api_output o = w->output;
	w->output = OUTPUT_JSON; /* bookmarks are never Table rows */
	encode_event(w, &out, "BOOKMARK", obj);
	w->output = o;
	json_decref(obj);
	send_buf(w, &out);
	mk_buf_free(&out);
}

void api_watch_start(struct api_call *c)
{
	struct api_watch *w = c->watch;
	struct api_server *s = c->srv;
	w->x = c->x;
	s->watches++;
	uv_timer_init(s->loop, &w->timeout);
	uv_timer_init(s->loop, &w->bookmark);
	w->timeout.data = w->bookmark.data = w;
	w->open_handles = 2;
	if (w->sw != NULL) {
		uv_poll_init(s->loop, &w->poll, store_watch_fd(w->sw));
		w->poll.data = w;
		w->open_handles++;
	}
	const char *ctype = w->output == OUTPUT_TABLE
				    ? "application/json;as=Table;v=v1;g=meta.k8s.io"
				    : "application/json";
	if (http_stream_start(w->x, 200, ctype, NULL, 0) != MK_OK) {
		end_watch(w);
		return;
	}
	http_exchange_on_close(w->x, client_gone, w);
	send_buf(w, &w->initial);
	mk_buf_free(&w->initial);
	if (w->ending || w->x == NULL) {
		end_watch(w);
		return;
	}
	uv_poll_start(&w->poll, UV_READABLE, on_events);
	uv_timer_start(&w->timeout, on_timeout, (uint64_t)w->timeout_ms, 0);
	if (w->bookmarks)
		uv_timer_start(&w->bookmark, on_bookmark, BOOKMARK_INTERVAL_MS,
			       BOOKMARK_INTERVAL_MS);
}
