/*
 * Internals of the API server shared by the files of core/api.
 */
#ifndef MK_API_INTERNAL_H
#define MK_API_INTERNAL_H

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "../http/http.h"
#include "api.h"
#include "resource.h"
#include "service.h"

struct token_table;

/* One encoded watch event, shared by every watcher without selectors:
 * a revision names exactly one change, so (rev, output, include) names
 * exactly one line. */
struct watch_line {
	int64_t rev;
	int output, include;
	char *data;
	size_t len;
};
#define WATCH_LINES 64

struct api_server {
	uv_loop_t *loop;
	struct api_config cfg;
	_Atomic(struct store *) store;
	struct http_server *http;
	struct resource_registry *resources;
	struct api_auth *auth;
	struct api_background *background; /* CRD registry and namespace cleanup */
	struct service_ranges svc_ranges;  /* parsed from cfg, immutable */
	/* kubernetes_service.c, background thread: the datastore had one
	 * member; this server's lease was renewed at the last pass. */
	bool kubernetes_alone, kubernetes_leased;
	void (*stop_done)(void *arg);
	void *stop_arg;
	int watches; /* open watch streams (loop thread) */
	int calls;   /* calls queued on worker threads (loop thread) */
	/* Recently encoded watch events (loop thread): 100 watchers of one
	 * resource decode and encode each change once, not 100 times. */
	struct watch_line watch_lines[WATCH_LINES];
	unsigned watch_next;
	bool stopping, http_stopped;
	uv_work_t join_work;
};

struct api_user {
	char *name;
	char **groups;
	size_t n_groups;
};

enum api_verb {
	VERB_GET,
	VERB_LIST,
	VERB_WATCH,
	VERB_CREATE,
	VERB_UPDATE,
	VERB_PATCH,
	VERB_DELETE,
	VERB_DELETECOLLECTION,
};

enum api_output { OUTPUT_JSON, OUTPUT_TABLE };

struct api_query {
	char **keys, **values; /* percent-decoded */
	size_t n;
};

/* One API request against a resource, from routing to the answer.  The
 * worker thread fills the answer fields; the loop thread sends them. */
struct api_call {
	struct api_server *srv;
	struct http_exchange *x;
	const struct http_request *req;
	struct store *store;
	struct resource_set *rs;
	struct api_user user;
	const struct api_resource *res;
	char *ns;   /* NULL for cluster-scoped requests or all namespaces */
	char *name; /* NULL for collections */
	char *sub;  /* subresource or NULL */
	enum api_verb verb;
	struct api_query query;
	enum api_output output;
	int include; /* enum table_include */
	uv_work_t work;

	/* The answer. */
	int status;
	json_t *body;         /* object to send as JSON (owned) */
	char *raw;            /* or raw bytes with raw_type (owned) */
	size_t raw_len;
	const char *raw_type;
	char *warning;        /* Warning: 299 header text, or NULL */
	struct api_watch *watch; /* set by a watch call that starts streaming */
};

/* query.c */
int api_query_parse(const char *raw, struct api_query *q);
void api_query_free(struct api_query *q);
const char *api_query_get(const struct api_query *q, const char *key);
bool api_query_bool(const struct api_query *q, const char *key); /* true/True/1 */
/* Integer parameter; `def` if absent; MK_EINVAL if malformed. */
int api_query_int(const struct api_query *q, const char *key, int64_t def, int64_t *out);

/* status.c: Kubernetes Status objects. */
json_t *api_status(int code, const char *reason, const char *message);
/* Sets the call's answer to a Status.  `kind`/`name` fill details. */
void api_fail(struct api_call *c, int code, const char *reason, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void api_fail_details(struct api_call *c, int code, const char *reason, const char *name,
		      json_t *causes, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* Maps a store error for the call's object to its Status. */
void api_fail_store(struct api_call *c, int err);
const char *api_reason_for(int code);

/* respond.c */
void api_send_json(struct http_exchange *x, int status, json_t *body,
		   const struct http_header *extra, size_t n_extra);
void api_send_status(struct http_exchange *x, int code, const char *reason, const char *message);
/* The error body hook of the HTTP server. */
void api_http_error_body(int status, const char *message, char **out, size_t *len,
			 const char **content_type);

/* auth.c */
struct api_auth;
int api_auth_new(const char *token_file, struct api_auth **out, char *errmsg, size_t len);
void api_auth_free(struct api_auth *a);
/* 0 and *user filled, or MK_ENOTFOUND (anonymous), or MK_EINVAL (bad credentials). */
int api_authenticate(struct api_auth *a, const struct http_request *req, struct api_user *user);
void api_user_clear(struct api_user *u);

/* route.c */
/* Parses a resource path into the call (res, ns, name, sub, verb).  Returns
 * 0, or an HTTP status (404 / 405) with the call's answer set. */
int api_route(struct api_call *c);
/* Normalises the path: strips trailing slashes (the Python client sends
 * /api/v1/). Modifies in place. */
void api_path_normalize(char *path);

/* discovery.c, openapi.c: answered on the loop thread. 0 if handled. */
bool api_discovery(struct api_server *s, struct http_exchange *x, const char *path);
bool api_openapi(struct api_server *s, struct http_exchange *x, const char *path);

/* Shared by the handlers (worker threads). */
struct label_selector;
struct field_selector;
int api_object_key(const struct api_call *c, const char *ns, const char *name, char *out,
		   size_t len);
/* Reads one object of the call's resource in c->ns. */
int api_load(struct api_call *c, const char *name, json_t **obj, int64_t *rev);
/* Sets the answer to `obj` (owned), as a Table row when asked for one. */
void api_answer_object(struct api_call *c, int status, json_t *obj);
/* labelSelector/fieldSelector of the query; on error the answer is set. */
int api_selectors(struct api_call *c, struct label_selector **ls, struct field_selector **fs);
bool api_matches(const struct label_selector *ls, const struct field_selector *fs,
		 const json_t *obj);
/* decode.c */
int api_parse_body(struct api_call *c, bool strict_dups, json_t **out);
int api_decode_object(struct api_call *c, json_t **out);
/* validate.c, defaults.c */
int api_validate(struct api_call *c, json_t *obj, const json_t *old);
void api_apply_defaults(struct api_call *c, json_t *obj, const json_t *old);
/* admission_tolerations.c: NoExecute tolerations for not-ready and
 * unreachable nodes, unless the pod spec has its own. */
void admit_default_tolerations(json_t *pod_spec, long long seconds);

/* handlers: run on a worker thread. */
void api_do_get_scale(struct api_call *c);
void api_handle(struct api_call *c);
void api_do_get(struct api_call *c);
void api_do_list(struct api_call *c);
void api_do_create(struct api_call *c);
void api_do_bind(struct api_call *c); /* pods/NAME/binding (pod_binding.c) */
void api_do_evict(struct api_call *c); /* pods/NAME/eviction (pod_eviction.c) */
void api_do_update(struct api_call *c);
void api_do_patch(struct api_call *c);
void api_do_delete(struct api_call *c);
/* A DELETE of `name` (the call's resource, in c->ns) with the DeleteOptions
 * `options` (NULL: none); 0 with the answer set, or an error with it set. */
int api_delete_named(struct api_call *c, const char *name, const json_t *options);
void api_do_deletecollection(struct api_call *c);
void api_do_watch_setup(struct api_call *c);

/* watch.c: the loop side of a watch.  Starts streaming on the call's
 * exchange and owns it from then on. */
void api_watch_start(struct api_call *c);
void api_watch_free(struct api_watch *w);
void api_watch_lines_free(struct api_server *s); /* the shared event cache */

/* api_server.c */
void api_server_watch_closed(struct api_server *s); /* a watch stream ended */
void api_server_call_done(struct api_server *s);    /* a queued call answered */

/* mk_endpoints.c: /mk/v1/...; true if it answered (takes user and q then). */
bool api_mk_endpoint(struct api_server *s, struct http_exchange *x, struct api_user *user,
		     struct api_query *q);

/* background.c */
int api_background_start(struct api_server *s);
/* Stopping is two steps because the thread may be inside a store call that
 * needs the loop (the dqlite proxy) to finish: signal on the loop, join
 * on a worker thread. */
void api_background_signal_stop(struct api_server *s);
void api_background_join(struct api_server *s);
/* An object was deleted (or, GC_FOREGROUND, marked with the
 * foregroundDeletion finalizer at `key`): its dependents (ownerReferences)
 * are deleted, or orphaned. */
enum gc_mode { GC_DELETE, GC_ORPHAN, GC_FOREGROUND };
void api_background_deleted(struct api_server *s, const struct api_resource *r,
			    const json_t *obj, enum gc_mode mode, const char *key);
/* Something changed that background work should look at now (namespaces). */
void api_background_kick(struct api_server *s);

#endif
