/*
 * The API server's front: health, version, authentication, then either a
 * loop-thread answer (discovery, OpenAPI) or a resource call run on a
 * worker thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/err.h"
#include "../base/log.h"
#include "../base/version.h"
#include "../store/store.h"
#include "api_internal.h"
#include "pod_exec.h"
#include "pod_log.h"
#include "table.h"

static bool is_health_path(const char *p)
{
	return strcmp(p, "/healthz") == 0 || strcmp(p, "/livez") == 0 ||
	       strcmp(p, "/readyz") == 0;
}

static void send_health(struct api_server *s, struct http_exchange *x)
{
	/* Live as long as we answer; ready once the store is open. */
	const char *path = http_exchange_request(x)->path;
	bool ok = strcmp(path, "/livez") == 0 || atomic_load(&s->store) != NULL;
	const char *body = ok ? "ok" : "store not ready";
	http_respond(x, ok ? 200 : 503, "text/plain; charset=utf-8", NULL, 0, body, strlen(body));
}

static void send_version(struct http_exchange *x)
{
	json_t *v = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "major", MK_KUBE_MAJOR,
			      "minor", MK_KUBE_MINOR, "gitVersion", MK_KUBE_GIT_VERSION,
			      "gitCommit", "", "gitTreeState", "clean", "buildDate",
			      "2026-11-28T00:00:00Z", "goVersion", "", "compiler", "gcc", "platform",
#if defined(__x86_64__)
			      "linux/amd64"
#elif defined(__aarch64__)
			      "linux/arm64"
#else
			      "linux/unknown"
#endif
	);
	api_send_json(x, 200, v, NULL, 0);
	json_decref(v);
}

/* --- resource calls on worker threads ----------------------------------- */

static void call_free(struct api_call *c)
{
	api_user_clear(&c->user);
	api_query_free(&c->query);
	resource_set_release(c->rs);
	free(c->ns);
	free(c->name);
	free(c->sub);
	json_decref(c->body);
	free(c->raw);
	free(c->warning);
	free(c);
}

static void maybe_free_server(struct api_server *s);

static void run_call(uv_work_t *w)
{
	struct api_call *c = w->data;
	api_handle(c);
}

static void call_done(uv_work_t *w, int status)
{
	struct api_call *c = w->data;
	struct api_server *s = c->srv;
	(void)status;
	s->calls--;
	if (s->stopping && c->watch != NULL) {
		api_watch_free(c->watch);
		c->watch = NULL;
		api_fail(c, 503, "ServiceUnavailable", "the API server is stopping");
	}
	if (c->watch != NULL) {
		api_watch_start(c); /* takes the exchange */
		c->watch = NULL;
		call_free(c);
		return;
	}
	struct http_header extra[2];
	size_t n_extra = 0;
	char warn[600];
	if (c->warning != NULL) {
		snprintf(warn, sizeof warn, "299 - \"%s\"", c->warning);
		extra[n_extra++] = (struct http_header){"Warning", warn};
	}
	if (c->raw != NULL)
		http_respond(c->x, c->status, c->raw_type, extra, n_extra, c->raw, c->raw_len);
	else
		api_send_json(c->x, c->status ? c->status : 500, c->body, extra, n_extra);
	call_free(c);
	maybe_free_server(s);
}

static int output_of(const struct http_request *r)
{
	const char *accept = http_request_header(r, "accept");
	return accept != NULL && strstr(accept, "as=Table") != NULL ? OUTPUT_TABLE : OUTPUT_JSON;
}

static void start_call(struct api_server *s, struct http_exchange *x, struct api_user *user,
		       struct api_query *q)
{
	struct api_call *c = calloc(1, sizeof *c);
	if (c == NULL) {
		api_user_clear(user);
		api_query_free(q);
		api_send_status(x, 500, "InternalError", "out of memory");
		return;
	}
	c->srv = s;
	c->x = x;
	c->req = http_exchange_request(x);
	c->user = *user;
	c->query = *q;
	c->store = atomic_load(&s->store);
	c->rs = resource_registry_get(s->resources);
	c->output = output_of(c->req);
	const char *inc = api_query_get(&c->query, "includeObject");
	c->include = inc && strcmp(inc, "Object") == 0 ? TABLE_INCLUDE_OBJECT
		     : inc && strcmp(inc, "None") == 0 ? TABLE_INCLUDE_NONE
							 : TABLE_INCLUDE_METADATA;
	if (api_route(c) != 0) {
		api_send_json(x, c->status, c->body, NULL, 0);
		call_free(c);
		return;
	}
	if (c->store == NULL) {
		api_send_status(x, 503, "ServiceUnavailable", "the datastore is starting");
		call_free(c);
		return;
	}
	if (api_pod_exec_take(c)) { /* exec/attach: pod_exec.c answers or streams */
		call_free(c);
		return;
	}
	if (api_pod_log_take(c)) { /* pods/NAME/log: pod_log.c answers or streams */
		call_free(c);
		return;
	}
	c->work.data = c;
	if (uv_queue_work(s->loop, &c->work, run_call, call_done) != 0) {
		api_send_status(x, 500, "InternalError", "cannot queue the request");
		call_free(c);
		return;
	}
	s->calls++;
}

/* --- the HTTP handler ----------------------------------------------------- */

static void handle(void *ctx, struct http_exchange *x)
{
	struct api_server *s = ctx;
	struct http_request *req = (struct http_request *)http_exchange_request(x);
	api_path_normalize(req->path);
	const char *path = req->path;
	bool get = strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0;

	if (get && is_health_path(path)) {
		send_health(s, x);
		return;
	}
	if (get && strcmp(path, "/version") == 0) {
		send_version(x);
		return;
	}
	struct api_user user = {0};
	int rv = api_authenticate(s->auth, req, &user);
	if (rv != MK_OK) {
		api_send_status(x, 401, "Unauthorized", "Unauthorized");
		return;
	}
	struct api_query q;
	if (api_query_parse(req->query, &q) != MK_OK) {
		api_user_clear(&user);
		api_send_status(x, 400, "BadRequest", "malformed query string");
		return;
	}
	if (api_mk_endpoint(s, x, &user, &q))
		return;
	if (get && (api_discovery(s, x, path) || api_openapi(s, x, path))) {
		api_user_clear(&user);
		api_query_free(&q);
		return;
	}
	start_call(s, x, &user, &q);
}

int api_server_start(uv_loop_t *loop, const struct api_config *cfg, struct api_server **out,
		     char *errmsg, size_t len)
{
	struct api_server *s = calloc(1, sizeof *s);
	if (s == NULL)
		return MK_ENOMEM;
	s->loop = loop;
	s->cfg = *cfg;
	atomic_init(&s->store, cfg->store);
	int rv = service_ranges_parse(&s->svc_ranges, cfg->service_cidr, cfg->node_port_range,
				      errmsg, len);
	if (rv != MK_OK) {
		free(s);
		return rv;
	}
	rv = resource_registry_new(&s->resources);
	if (rv != MK_OK)
		goto fail;
	rv = api_auth_new(cfg->token_file, &s->auth, errmsg, len);
	if (rv != MK_OK)
		goto fail;
	struct http_server_config hc;
	http_server_config_defaults(&hc);
	hc.bind_address = cfg->bind_address;
	hc.port = cfg->port;
	hc.cert_file = cfg->cert_file;
	hc.key_file = cfg->key_file;
	hc.client_ca_file = cfg->client_ca_file;
	hc.handler = handle;
	hc.handler_ctx = s;
	hc.error_body = api_http_error_body;
	rv = http_server_start(loop, &hc, &s->http, errmsg, len);
	if (rv != MK_OK)
		goto fail;
	if (cfg->store != NULL && (rv = api_background_start(s)) != MK_OK) {
		snprintf(errmsg, len, "cannot start the API's background work");
		goto fail;
	}
	*out = s;
	return MK_OK;
fail:
	if (s->http)
		http_server_stop(s->http, NULL, NULL);
	api_auth_free(s->auth);
	resource_registry_free(s->resources);
	free(s);
	return rv;
}

void api_server_set_store(struct api_server *s, struct store *store)
{
	atomic_store(&s->store, store);
	if (api_background_start(s) != MK_OK)
		mk_error("api", "cannot start the API's background work");
}

/* The server goes once HTTP is down and no call or watch refers to it. */
static void maybe_free_server(struct api_server *s)
{
	if (!s->stopping || !s->http_stopped || s->calls > 0 || s->watches > 0)
		return;
	void (*done)(void *) = s->stop_done;
	void *done_arg = s->stop_arg;
	api_auth_free(s->auth);
	resource_registry_free(s->resources);
	api_watch_lines_free(s);
	free(s);
	if (done)
		done(done_arg);
}

static void http_stopped(void *arg)
{
	struct api_server *s = arg;
	s->http_stopped = true;
	maybe_free_server(s);
}

void api_server_watch_closed(struct api_server *s)
{
	s->watches--;
	maybe_free_server(s);
}

void api_server_call_done(struct api_server *s)
{
	s->calls--;
	maybe_free_server(s);
}

static void join_background(uv_work_t *w)
{
	api_background_join(w->data);
}

static void background_joined(uv_work_t *w, int status)
{
	(void)status;
	api_server_call_done(w->data);
}

void api_server_stop(struct api_server *s, void (*done)(void *arg), void *arg)
{
	s->stopping = true;
	s->stop_done = done;
	s->stop_arg = arg;
	api_background_signal_stop(s);
	s->join_work.data = s;
	if (uv_queue_work(s->loop, &s->join_work, join_background, background_joined) == 0)
		s->calls++;
	http_server_stop(s->http, http_stopped, s);
}
