/*
 * pods/{name}/exec and /attach in the API server: the checks answered as
 * plain HTTP Status errors, the pod lookup and the node agent's hook on a
 * worker thread, then the session (pod_exec_session.c).  See pod_exec.h.
 *
 * What is answered before the upgrade (as kube-apiserver does, so kubectl
 * prints "Error from server (...)"): no WebSocket upgrade, a bad
 * handshake, bad options, the pod missing (404), a completed pod, an
 * unknown container, no node agent (503).  What comes after it, on the
 * error channel: the hook failing (container not running ...), the
 * command's exit status.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../base/err.h"
#include "../base/log.h"
#include "../store/store.h"
#include "object.h"
#include "pod_exec.h"

const char *const pod_exec_protocols[] = {"v5.channel.k8s.io", "v4.channel.k8s.io",
					  "channel.k8s.io", NULL};

enum exec_proto pod_exec_proto(const char *protocol)
{
	if (protocol != NULL && strcmp(protocol, "v5.channel.k8s.io") == 0)
		return EXEC_PROTO_V5;
	if (protocol != NULL && strcmp(protocol, "v4.channel.k8s.io") == 0)
		return EXEC_PROTO_V4;
	return EXEC_PROTO_V1;
}

void api_server_set_exec_hook(struct api_server *s, const struct api_exec_hook *hook)
{
	/* The config is the hook's home: it may also come with it at start. */
	if (hook != NULL && hook->prepare != NULL)
		s->cfg.exec_hook = *hook;
	else
		memset(&s->cfg.exec_hook, 0, sizeof s->cfg.exec_hook);
}

/* --- routing -------------------------------------------------------------- */

bool pod_exec_subresource(const struct api_resource *r, const char *sub)
{
	return r->group[0] == '\0' && strcmp(r->plural, "pods") == 0 &&
	       (strcmp(sub, "exec") == 0 || strcmp(sub, "attach") == 0);
}

int pod_exec_route(struct api_call *c, const char *ns, const char *name, const char *sub)
{
	const char *m = c->req->method;
	if (ns == NULL || name == NULL) {
		c->res = NULL; /* no details for a path that names nothing */
		api_fail(c, 404, "NotFound", "the server could not find the requested resource");
		return 404;
	}
	if (strcmp(m, "GET") != 0 && strcmp(m, "POST") != 0) {
		api_fail(c, 405, "MethodNotAllowed",
			 "the server does not allow this method on the requested resource");
		return 405;
	}
	/* A read as far as the rest of the server is concerned: nothing in
	 * the store changes. */
	c->verb = VERB_GET;
	if ((c->ns = strdup(ns)) == NULL || (c->name = strdup(name)) == NULL ||
	    (c->sub = strdup(sub)) == NULL) {
		api_fail(c, 500, "InternalError", "out of memory");
		return 500;
	}
	return 0;
}

/* --- one request ------------------------------------------------------------ */

/* How the client asked: only a WebSocket gets further than the checks. */
enum transport { VIA_WEBSOCKET, VIA_SPDY, VIA_NOTHING };

#define SPDY_MESSAGE                                                                     \
	"mk serves exec and attach over WebSocket only (v5.channel.k8s.io); SPDY is not " \
	"supported: use kubectl 1.30 or newer without KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false"

struct exec_request {
	struct api_server *srv;
	enum transport transport;
	struct http_exchange *x; /* NULL once the client left */
	struct store *store;
	struct api_exec_hook hook;
	char *ns, *name;
	bool attach;
	struct exec_options opt;
	const char *protocol; /* one of pod_exec_protocols, or NULL */
	uv_work_t work;
	/* Worker results. */
	int status;            /* an HTTP error to answer, or 0 */
	const char *reason;
	char message[1024];    /* its message, or the failure after upgrading */
	bool failed;           /* upgrade, then report `message` */
	char **argv;
	struct exec_console *console;
};

static void request_free(struct exec_request *r)
{
	struct api_server *srv = r->srv;
	exec_options_free(&r->opt);
	exec_argv_free(r->argv);
	exec_console_discard(r->console);
	free(r->ns);
	free(r->name);
	free(r);
	api_server_call_done(srv);
}

static void client_gone(void *arg)
{
	struct exec_request *r = arg;
	r->x = NULL; /* the exchange is freed right after this */
}

static void answer(struct exec_request *r, int code, const char *reason, const char *message)
{
	http_exchange_on_close(r->x, NULL, NULL);
	ws_refuse(r->x);
	api_send_status(r->x, code, reason, message);
	r->x = NULL;
}

static void fail(struct exec_request *r, int code, const char *reason, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void fail(struct exec_request *r, int code, const char *reason, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->message, sizeof r->message, fmt, ap);
	va_end(ap);
	r->status = code;
	r->reason = reason;
}

/* Worker: the pod, its container, the command line. */
static void prepare(uv_work_t *w)
{
	struct exec_request *r = w->data;
	char key[STORE_MAX_KEY + 1];
	struct store_kv kv;
	int rv = store_key(key, sizeof key, "core", "pods", r->ns, r->name);
	if (rv == MK_OK)
		rv = store_get(r->store, key, &kv);
	if (rv == MK_EINVAL || rv == MK_ENOTFOUND) {
		fail(r, 404, "NotFound", "pods \"%s\" not found", r->name);
		return;
	}
	if (rv != MK_OK) {
		fail(r, 503, "ServiceUnavailable", "the datastore is unavailable: %s",
		     store_last_error());
		return;
	}
	json_t *pod = object_from_store(kv.value, kv.len, kv.rev);
	store_kv_free(&kv);
	if (pod == NULL) {
		fail(r, 500, "InternalError", "the stored pod \"%s\" cannot be read", r->name);
		return;
	}
	const char *container;
	char err[1024];
	if (exec_pod_check(pod, r->name, r->opt.container, r->attach, &container, err,
			   sizeof err) != MK_OK) {
		fail(r, 400, "BadRequest", "%s", err);
		goto out;
	}
	if (r->attach) {
		fail(r, 400, "BadRequest", "attach is not supported");
		goto out;
	}
	/* kubectl falls back to SPDY when the WebSocket answer is not 101:
	 * the errors above reach the user from whichever request came. */
	if (r->transport != VIA_WEBSOCKET) {
		fail(r, 400, "BadRequest", "%s",
		     r->transport == VIA_SPDY ? SPDY_MESSAGE : "Upgrade request required");
		goto out;
	}
	if (r->hook.prepare == NULL) {
		fail(r, 503, "ServiceUnavailable",
		     "exec is not available: the node agent is not running on this node");
		goto out;
	}
	/* From here failures reach the client after the upgrade, on the
	 * error channel, like the kubelet's. */
	r->failed = true;
	if (r->opt.tty && exec_console_open(&r->console, r->message, sizeof r->message) != MK_OK)
		goto out;
	const char *uid =
		json_string_value(json_object_get(json_object_get(pod, "metadata"), "uid"));
	err[0] = '\0';
	rv = r->hook.prepare(r->hook.ctx, r->ns, r->name, uid ? uid : "", container,
			     r->opt.tty, r->console ? exec_console_path(r->console) : NULL,
			     r->opt.command, &r->argv, err, sizeof err);
	if (rv != MK_OK || r->argv == NULL || r->argv[0] == NULL) {
		snprintf(r->message, sizeof r->message, "%s",
			 err[0] ? err : "the node agent cannot run the command");
		goto out;
	}
	r->failed = false;
out:
	json_decref(pod);
}

static void session_done(void *arg)
{
	request_free(arg);
}

/* Loop: answer, or upgrade and hand over to the session. */
static void prepared(uv_work_t *w, int status)
{
	struct exec_request *r = w->data;
	(void)status;
	if (r->x == NULL) {
		request_free(r); /* the client left while we prepared */
		return;
	}
	if (r->status != 0) {
		answer(r, r->status, r->reason, r->message);
		request_free(r);
		return;
	}
	http_exchange_on_close(r->x, NULL, NULL);
	struct exec_session_config cfg = {
		.proto = pod_exec_proto(r->protocol),
		.in = r->opt.in,
		.out = r->opt.out,
		.err = r->opt.err,
		.tty = r->opt.tty,
		.done = session_done,
		.done_arg = r,
	};
	int rv = exec_session_start(r->srv->loop, r->x, r->protocol, &cfg, r->argv, r->console,
				    r->failed ? r->message : NULL);
	if (rv != MK_OK) {
		if (rv != MK_ECLOSED)
			answer(r, 500, "InternalError", "cannot start the exec session");
		request_free(r);
		return;
	}
	r->argv = NULL; /* the session's now */
	r->console = NULL;
	r->x = NULL;
}

/* --- the dispatch ------------------------------------------------------------- */

static bool refuse(struct api_call *c, int code, const char *reason, const char *message,
		   bool version_header)
{
	ws_refuse(c->x);
	json_t *st = api_status(code, reason, message);
	struct http_header h = {"Sec-WebSocket-Version", "13"};
	api_send_json(c->x, code, st, &h, version_header ? 1 : 0);
	json_decref(st);
	return true;
}

bool api_pod_exec_take(struct api_call *c)
{
	if (c->res == NULL || c->sub == NULL || !pod_exec_subresource(c->res, c->sub))
		return false;
	const struct http_request *req = c->req;
	bool attach = strcmp(c->sub, "attach") == 0;
	char err[1024];
	const char *protocol = NULL, *up = http_request_header(req, "upgrade");
	bool bad_version;
	enum transport transport = VIA_WEBSOCKET;
	if (ws_is_upgrade(req)) {
		if (ws_handshake_check(req, pod_exec_protocols, &protocol, &bad_version, err,
				       sizeof err) != MK_OK)
			return refuse(c, 400, "BadRequest", err, bad_version);
	} else {
		transport = up != NULL && strncasecmp(up, "SPDY/", 5) == 0 ? VIA_SPDY : VIA_NOTHING;
	}
	struct exec_options opt;
	int rv = exec_options_parse(&c->query, attach, &opt, err, sizeof err);
	if (rv != MK_OK)
		return refuse(c, rv == MK_EINVAL ? 400 : 500, NULL, err, false);
	if (c->store == NULL) {
		exec_options_free(&opt);
		return refuse(c, 503, "ServiceUnavailable", "the datastore is starting", false);
	}
	if (c->srv->stopping) {
		exec_options_free(&opt);
		return refuse(c, 503, "ServiceUnavailable", "the API server is stopping", false);
	}
	struct exec_request *r = calloc(1, sizeof *r);
	if (r == NULL || (r->ns = strdup(c->ns)) == NULL || (r->name = strdup(c->name)) == NULL) {
		if (r != NULL)
			free(r->ns);
		free(r);
		exec_options_free(&opt);
		return refuse(c, 500, "InternalError", "out of memory", false);
	}
	r->srv = c->srv;
	r->transport = transport;
	r->x = c->x;
	r->store = c->store;
	r->hook = c->srv->cfg.exec_hook;
	r->attach = attach;
	r->opt = opt;
	r->protocol = protocol;
	r->work.data = r;
	c->srv->calls++; /* the server waits for us when it stops */
	if (uv_queue_work(c->srv->loop, &r->work, prepare, prepared) != 0) {
		r->x = NULL;
		request_free(r);
		return refuse(c, 500, "InternalError", "cannot queue the request", false);
	}
	http_exchange_on_close(c->x, client_gone, r);
	return true;
}
