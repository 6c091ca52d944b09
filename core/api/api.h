/*
 * The Kubernetes API server (reference/kubectl-api.md): HTTPS on the API
 * port, authentication, discovery, OpenAPI, and the resources of
 * resource.c stored in the object store.  mk's own endpoints (/mk/v1/...)
 * are served on the same port.
 *
 * Threading: api_server_start/stop run on the loop thread that owns the
 * HTTP server.  Requests are parsed on the loop; anything that touches the
 * store runs on libuv's worker threads (size the pool with
 * UV_THREADPOOL_SIZE before the loop starts: watches and slow store round
 * trips would otherwise starve each other).
 */
#ifndef MK_API_API_H
#define MK_API_API_H

#include <stdint.h>
#include <uv.h>

struct store;
struct api_server;

/* How the API runs `kubectl exec` commands: the node agent builds the command line that runs cmd inside the container
 * (e.g. runc exec ...), the API spawns and streams it.  prepare() is called on a worker thread. */
struct api_exec_hook {
	int (*prepare)(void *ctx, const char *namespace_, const char *pod, const char *pod_uid, const char *container,
		       int tty, const char *console_socket /* NULL unless tty */, char *const *cmd,
		       char ***argv_out /* NULL-terminated, malloc'd strings + array; caller frees */,
		       char *errmsg, size_t len);
	void *ctx;
};

struct api_config {
	const char *bind_address; /* "0.0.0.0" */
	int port;                 /* 16443 */
	const char *cert_file, *key_file, *client_ca_file;
	const char *token_file;   /* static tokens (known_tokens.csv); may be NULL */
	struct store *store;      /* may be NULL while the store is starting: 503 */
	/* Facts for /mk/v1/status. */
	const char *node_name;
	const char *node_address;
	/* Returns JSON {"voters":[...],"standbys":[...],"spares":[...]} on a
	 * worker thread, or NULL. */
	char *(*datastore_members)(void *arg);
	void *datastore_arg;
	/* The node agent's exec hook (core/api/pod_exec.h); prepare NULL:
	 * exec answers 503 until api_server_set_exec_hook installs one. */
	struct api_exec_hook exec_hook;
	/* Where the node agent writes container logs (DATA_DIR/logs/pods/...),
	 * read by pods/log; NULL: pods/log answers 503. */
	const char *data_dir;
	/* Services' cluster IPs ("10.152.183.0/24") and node ports
	 * ("30000-32767"); NULL: those defaults.  A malformed value fails
	 * api_server_start.  Every API server of a cluster must use the same. */
	const char *service_cidr;
	const char *node_port_range;
	/* How long new pods tolerate their node being not-ready or
	 * unreachable before they are evicted (DefaultTolerationSeconds);
	 * 0: 300. */
	int default_toleration_seconds;
};

int api_server_start(uv_loop_t *loop, const struct api_config *cfg, struct api_server **out,
		     char *errmsg, size_t len);
/* Attaches the store once it is open (readyz turns 200).  Loop thread. */
void api_server_set_store(struct api_server *s, struct store *store);
/* Closes connections and stops background work; `done` runs once all is
 * released.  Call before closing the store. */
void api_server_stop(struct api_server *s, void (*done)(void *arg), void *arg);

/* Installs (or, with NULL or a NULL prepare, removes) the exec hook; the
 * struct is copied.  Sessions already running keep the hook they started
 * with.  prepare() returns 0 and *argv_out, or a negative MK_E* code with
 * one line in errmsg (e.g. "container web is not running"), which the
 * client gets as the exec's failure Status. */
void api_server_set_exec_hook(struct api_server *s, const struct api_exec_hook *hook); /* loop thread, before or after start */

#endif
