/*
 * A pods/{name}/log request (see pod_log.h): options are checked on the
 * loop; a worker reads the pod, picks the container instance and opens its
 * files; then the answer streams from the loop, each piece read by a
 * worker (file reads block), one piece in flight at a time:
 *
 *   step (worker): read up to CHUNK bytes of output; while following and
 *     at the end of the file, look at the pod about once a second and,
 *     once the instance is over, read to the end and finish;
 *   stepped (loop): send the piece; then the next step at once, after a
 *     pause while the client's backlog is high, or after POLL_MS when the
 *     file had nothing new.
 *
 * Memory per request: one piece, the reader's buffers (cri_log.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../base/err.h"
#include "../base/log.h"
#include "../store/store.h"
#include "object.h"
#include "pod_log.h"

#define CHUNK (64 * 1024)
#define HIGH_WATER (1024 * 1024) /* pause output above this client backlog */
#define BACKLOG_WAIT_MS 20
#define POLL_MS 200         /* a followed file with nothing new */
#define POD_CHECK_MS 1000   /* a followed instance: is it still running? */

struct log_request {
	struct api_server *srv;
	struct http_exchange *x; /* NULL once the client left or the answer is complete */
	struct store *store;
	char *ns, *name;
	struct pod_log_options opt;
	uv_work_t work;
	uv_timer_t timer;
	bool working, releasing;
	/* Worker results. */
	json_t *error; /* a Status to answer instead of the log */
	char uid[128];
	struct pod_log_target target;
	char container[256];
	struct cri_reader *reader; /* NULL: an empty log */
	struct mk_buf out;         /* the piece to send */
	bool over;                 /* the followed instance ended: read to the end */
	bool end;                  /* after `out`, the log is complete */
	int64_t checked_ms;        /* when the pod was last looked at */
};

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* --- worker side ------------------------------------------------------------ */

/* The pod, or NULL with *err (MK_ENOTFOUND: no such pod) and, when
 * status is given, *status (404, 503, 500). */
static json_t *load_pod(struct log_request *r, int *err, json_t **status)
{
	char key[STORE_MAX_KEY + 1];
	struct store_kv kv;
	char msg[600];
	int rv = store_key(key, sizeof key, "core", "pods", r->ns, r->name);
	if (rv == MK_OK)
		rv = store_get(r->store, key, &kv);
	*err = rv == MK_EINVAL ? MK_ENOTFOUND : rv;
	if (rv != MK_OK) {
		if (status == NULL)
			return NULL;
		if (rv == MK_EINVAL || rv == MK_ENOTFOUND) {
			snprintf(msg, sizeof msg, "pods \"%s\" not found", r->name);
			*status = api_status(404, "NotFound", msg);
			json_object_set_new(*status, "details", json_pack("{s:s, s:s}", "name",
							  r->name, "kind", "pods"));
		} else {
			snprintf(msg, sizeof msg, "the datastore is unavailable: %s",
				 store_last_error());
			*status = api_status(503, "ServiceUnavailable", msg);
		}
		return NULL;
	}
	json_t *pod = object_from_store(kv.value, kv.len, kv.rev);
	store_kv_free(&kv);
	if (pod == NULL)
		*err = MK_EIO;
	if (pod == NULL && status != NULL) {
		snprintf(msg, sizeof msg, "the stored pod \"%s\" cannot be read", r->name);
		*status = api_status(500, "InternalError", msg);
	}
	return pod;
}

static void finish(struct log_request *r)
{
	if (cri_reader_finish(r->reader, &r->out) != MK_OK)
		mk_warn("api", "pods/log %s/%s: out of memory", r->ns, r->name);
	r->end = true;
}

/* Produces the next piece of output into r->out. */
static void step(uv_work_t *w)
{
	struct log_request *r = w->data;
	mk_buf_reset(&r->out);
	for (;;) {
		int rv = cri_reader_read(r->reader, &r->out, CHUNK);
		if (rv < 0) {
			mk_warn("api", "pods/log %s/%s: %s", r->ns, r->name, mk_strerror(rv));
			r->end = true;
			return;
		}
		if (rv == CRI_READ_DONE) {
			r->end = true;
			return;
		}
		if (rv == CRI_READ_MORE)
			return;
		if (!r->opt.read.follow || r->over) {
			finish(r);
			return;
		}
		int64_t now = mono_ms();
		if (now - r->checked_ms < POD_CHECK_MS)
			return;
		r->checked_ms = now;
		int err;
		json_t *pod = load_pod(r, &err, NULL);
		/* The store not answering says nothing: ask again later. */
		bool running = pod != NULL ? pod_log_still_running(pod, r->uid, r->container,
								   r->target.instance)
					   : err != MK_ENOTFOUND;
		json_decref(pod);
		if (running)
			return;
		/* Over: what it wrote last is still to be read. */
		r->over = true;
	}
}

/* The pod, its container instance, its files; then the first piece. */
static void prepare(uv_work_t *w)
{
	struct log_request *r = w->data;
	int load_err;
	json_t *pod = load_pod(r, &load_err, &r->error);
	if (pod == NULL)
		return;
	char err[1024], path[4096];
	struct pod_log_target *t = &r->target;
	if (pod_log_target(pod, r->name, r->opt.container, r->opt.previous, t, err,
			   sizeof err) != MK_OK) {
		r->error = api_status(400, "BadRequest", err);
		goto out;
	}
	snprintf(r->container, sizeof r->container, "%s", t->container);
	t->container = r->container; /* the pod goes */
	const char *uid = json_string_value(json_object_get(object_meta(pod), "uid"));
	snprintf(r->uid, sizeof r->uid, "%s", uid ? uid : "");
	if (t->unscheduled) {
		r->end = true; /* kube-apiserver: no node, no log */
		goto out;
	}
	const char *data_dir = r->srv->cfg.data_dir;
	if (data_dir == NULL) {
		r->error = api_status(503, "ServiceUnavailable",
				      "container logs are not available on this server");
		goto out;
	}
	if (pod_log_path(path, sizeof path, data_dir, r->ns, r->name, r->uid, r->container,
			 t->instance) != MK_OK) {
		snprintf(err, sizeof err, "no log path for container \"%s\" in pod \"%s\"",
			 r->container, r->name);
		r->error = api_status(500, "InternalError", err);
		goto out;
	}
	/* Only the running instance can grow. */
	r->opt.read.follow = r->opt.follow && t->running;
	if (cri_reader_open(path, &r->opt.read, &r->reader, err, sizeof err) != MK_OK) {
		r->error = api_status(500, "InternalError", err);
		goto out;
	}
	r->checked_ms = mono_ms();
	json_decref(pod);
	step(w);
	return;
out:
	json_decref(pod);
}

/* --- loop side ---------------------------------------------------------------- */

static void request_free(struct log_request *r)
{
	struct api_server *srv = r->srv;
	if (r->reader != NULL && cri_reader_skipped(r->reader) > 0)
		mk_debug("api", "pods/log %s/%s: %llu malformed records skipped", r->ns, r->name,
			 (unsigned long long)cri_reader_skipped(r->reader));
	cri_reader_close(r->reader);
	pod_log_options_free(&r->opt);
	json_decref(r->error);
	mk_buf_free(&r->out);
	free(r->ns);
	free(r->name);
	free(r);
	api_server_call_done(srv);
}

static void timer_closed(uv_handle_t *h)
{
	request_free(h->data);
}

/* Frees the request once no worker holds it. */
static void release(struct log_request *r)
{
	r->releasing = true;
	if (r->working)
		return; /* stepped() comes back here */
	if (uv_is_closing((uv_handle_t *)&r->timer))
		return;
	if (r->x != NULL) {
		http_exchange_on_close(r->x, NULL, NULL);
		http_stream_end(r->x);
		r->x = NULL;
	}
	uv_close((uv_handle_t *)&r->timer, timer_closed);
}

static void client_gone(void *arg)
{
	struct log_request *r = arg;
	r->x = NULL; /* the exchange is freed right after this */
	release(r);
}

static void stepped(uv_work_t *w, int status);

static void next_step(struct log_request *r)
{
	r->work.data = r;
	if (uv_queue_work(r->srv->loop, &r->work, step, stepped) != 0) {
		release(r);
		return;
	}
	r->working = true;
}

static void on_timer(uv_timer_t *t)
{
	struct log_request *r = t->data;
	if (r->x != NULL && http_stream_backlog(r->x) > HIGH_WATER) {
		uv_timer_start(&r->timer, on_timer, BACKLOG_WAIT_MS, 0);
		return;
	}
	next_step(r);
}

/* Sends the piece a worker made; then the next, or the end. */
static void stepped(uv_work_t *w, int status)
{
	struct log_request *r = w->data;
	(void)status;
	r->working = false;
	if (r->releasing || r->x == NULL) {
		release(r);
		return;
	}
	if (r->out.len > 0 && http_stream_write(r->x, r->out.data, r->out.len) != MK_OK) {
		release(r); /* the client went away or fell too far behind */
		return;
	}
	bool more = r->out.len > 0;
	mk_buf_reset(&r->out);
	if (r->end) {
		release(r);
		return;
	}
	if (more && http_stream_backlog(r->x) <= HIGH_WATER)
		next_step(r);
	else
		uv_timer_start(&r->timer, on_timer, more ? BACKLOG_WAIT_MS : POLL_MS, 0);
}

static void prepared(uv_work_t *w, int status)
{
	struct log_request *r = w->data;
	(void)status;
	r->working = false;
	if (r->releasing || r->x == NULL) {
		release(r);
		return;
	}
	if (r->error != NULL) {
		int code = (int)json_integer_value(json_object_get(r->error, "code"));
		http_exchange_on_close(r->x, NULL, NULL);
		api_send_json(r->x, code, r->error, NULL, 0);
		r->x = NULL;
		release(r);
		return;
	}
	if (http_stream_start(r->x, 200, "text/plain", NULL, 0) != MK_OK) {
		release(r);
		return;
	}
	stepped(w, 0);
}

/* --- the dispatch -------------------------------------------------------------- */

static bool answer(struct api_call *c, json_t *status)
{
	int code = (int)json_integer_value(json_object_get(status, "code"));
	api_send_json(c->x, code ? code : 500, status, NULL, 0);
	json_decref(status);
	return true;
}

bool api_pod_log_take(struct api_call *c)
{
	if (c->res == NULL || c->sub == NULL || !pod_log_subresource(c->res, c->sub))
		return false;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct cri_time now = {ts.tv_sec, (int32_t)ts.tv_nsec, 0};
	struct pod_log_options opt;
	json_t *status;
	int rv = pod_log_options_parse(&c->query, c->name, &now, &opt, &status);
	if (rv != MK_OK && status == NULL)
		status = api_status(500, "InternalError", "out of memory");
	if (rv != MK_OK)
		return answer(c, status);
	if (c->store == NULL || c->srv->stopping) {
		pod_log_options_free(&opt);
		return answer(c, api_status(503, "ServiceUnavailable",
					    c->store == NULL ? "the datastore is starting"
							     : "the API server is stopping"));
	}
	struct log_request *r = calloc(1, sizeof *r);
	if (r == NULL || (r->ns = strdup(c->ns)) == NULL || (r->name = strdup(c->name)) == NULL) {
		if (r != NULL)
			free(r->ns);
		free(r);
		pod_log_options_free(&opt);
		return answer(c, api_status(500, "InternalError", "out of memory"));
	}
	r->srv = c->srv;
	r->x = c->x;
	r->store = c->store;
	r->opt = opt;
	uv_timer_init(c->srv->loop, &r->timer);
	r->timer.data = r;
	r->work.data = r;
	c->srv->calls++; /* the server waits for us when it stops */
	if (uv_queue_work(c->srv->loop, &r->work, prepare, prepared) != 0) {
		r->x = NULL;
		release(r);
		return answer(c, api_status(500, "InternalError", "cannot queue the request"));
	}
	r->working = true;
	http_exchange_on_close(c->x, client_gone, r);
	return true;
}
