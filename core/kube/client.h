/*
 * A Kubernetes API client for mk's own components (node agent, later the
 * controllers), over HTTPS with libcurl.
 *
 * Why through the API and not straight into the store: the agent must see
 * exactly what kubectl sees (defaults, validation, status subresource
 * rules, resourceVersion conflicts), and a worker node that joins later has
 * no store of its own, only the API.
 *
 * Threading: a client may be used by any number of threads at once; each
 * request borrows a curl handle from a small pool, so keep-alive
 * connections are reused.  kube_client_free() only after every user has
 * stopped.
 *
 * Errors: every function returns 0 or a negative mk error code and writes
 * one line into errmsg:
 *   MK_EUNAVAILABLE  no HTTP answer (connection refused, TLS, timeout)
 *   MK_ENOTFOUND     404          MK_ECONFLICT  409 (conflict or exists)
 *   MK_EINVAL        other 4xx    MK_EIO        5xx or an unreadable reply
 * errmsg is the Status message the server sent when there is one.
 */
#ifndef MK_KUBE_CLIENT_H
#define MK_KUBE_CLIENT_H

#include <stddef.h>

#include <jansson.h>

struct kube_client;

struct kube_client_config {
	const char *server;     /* "https://127.0.0.1:16443" */
	const char *ca_file;    /* trusted CA (PEM) */
	const char *cert_file;  /* client certificate and key (PEM) */
	const char *key_file;
	const char *user_agent; /* e.g. "mk-node/0.1.0" */
	long timeout_ms;        /* per request; 0: 30 s */
};

int kube_client_new(const struct kube_client_config *cfg, struct kube_client **out, char *errmsg,
		    size_t len);
void kube_client_free(struct kube_client *c);

/* One request.  body may be NULL; content_type defaults to
 * application/json.  On 2xx *out (if out != NULL) receives the decoded JSON
 * reply (caller json_decref), else NULL.  *status (if non-NULL) receives the
 * HTTP status, 0 when there was none. */
int kube_request(struct kube_client *c, const char *method, const char *path,
		 const char *content_type, const json_t *body, json_t **out, long *status,
		 char *errmsg, size_t len);

/* Conveniences over kube_request. */
int kube_get(struct kube_client *c, const char *path, json_t **out, char *errmsg, size_t len);
int kube_create(struct kube_client *c, const char *path, const json_t *obj, json_t **out,
		char *errmsg, size_t len);
int kube_merge_patch(struct kube_client *c, const char *path, const json_t *patch, json_t **out,
		     char *errmsg, size_t len);

/* A path segment (name, namespace, selector value) escaped for a URL. */
int kube_escape(const char *in, char *out, size_t len);

/* Streams a watch (or any newline-delimited JSON reply): on_line gets each
 * complete line; returning non-zero from it, or *stop becoming non-zero,
 * ends the stream.  Returns 0 when the server closed the stream normally,
 * else an error as above.  Blocks the calling thread. */
int kube_stream(struct kube_client *c, const char *path,
		int (*on_line)(void *arg, const char *line, size_t n), void *arg,
		const volatile int *stop, long *status, char *errmsg, size_t len);

#endif
