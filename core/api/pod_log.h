/*
 * pods/{name}/log: `kubectl logs` (reference/kubectl-api.md §11), served
 * from the log files the node agent writes under the data directory:
 *
 *   DATA_DIR/logs/pods/<ns>_<pod>_<uid>/<container>/<N>.log[.1 .. .K]
 *
 * N is the container instance: its restartCount while it runs.
 *
 *   pod_log_check.c   routing, the query's options, which container
 *                     instance a request means and whether it still runs
 *                     (pure: unit-tested)
 *   pod_log.c         a request: options checked on the loop, the pod read
 *                     and the files opened on a worker, the text streamed
 *                     from the loop, file reads on workers
 *   pod_log_reader.c, pod_log_cri.c   the files and their format (cri_log.h)
 *
 * Answers and errors are kube-apiserver's and kubelet's: 422 for invalid
 * options (PodLogOptions "p" is invalid: ...), 404 for a missing pod, 400
 * with kubelet's sentences for a container that is unknown, not started
 * or has no previous instance; otherwise 200 text/plain, streamed.  An
 * unscheduled pod (no spec.nodeName) has an empty log, as upstream.
 *
 * follow=true streams records as they are appended, across rotations,
 * until the client leaves, or the instance is over (the pod is gone, or
 * its status no longer shows the container running as instance N) and the
 * file is read to its end.  A slow client is not fed faster than it reads:
 * output pauses while the connection's send backlog is high.
 *
 * Threading: the loop thread, except where marked pure.
 */
#ifndef MK_API_POD_LOG_H
#define MK_API_POD_LOG_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "api_internal.h"
#include "cri_log.h"

/* --- routing and dispatch ------------------------------------------------ */

/* route.c: `sub` of `r` is pods/log. */
bool pod_log_subresource(const struct api_resource *r, const char *sub);
/* route.c: sets the call for GET pods/NAME/log in NS.  0, or 404 / 405
 * with the answer set. */
int pod_log_route(struct api_call *c, const char *ns, const char *name);
/* The API's dispatch after routing (pod_log.c): answers a pods/log call or
 * takes its exchange, and returns true; the caller then frees the call and
 * must not touch the exchange.  False for any other call.  A taken call
 * counts in srv->calls until its answer is complete. */
bool api_pod_log_take(struct api_call *c);

/* --- options (pure) --------------------------------------------------------- */

struct pod_log_options {
	char *container; /* NULL: the pod's only container */
	bool follow, previous;
	struct cri_read_options read; /* timestamps, tail_lines, since, limit_bytes */
};

/* From the query of a log request for pod `pod`: container, follow,
 * previous, timestamps, sinceSeconds (from `now`), sinceTime (RFC 3339),
 * tailLines, limitBytes; pretty, insecureSkipTLSVerifyBackend and stream
 * are accepted and ignored.  Booleans read as upstream reads query
 * booleans (anything but "", "false" and "0" is true).  MK_EINVAL with
 * *status set to the Status to answer (400 for a malformed value, 422 for
 * a value PodLogOptions validation refuses), or MK_ENOMEM. */
int pod_log_options_parse(const struct api_query *q, const char *pod, const struct cri_time *now,
			  struct pod_log_options *o, json_t **status);
void pod_log_options_free(struct pod_log_options *o);

/* --- which instance (pure) ---------------------------------------------------- */

struct pod_log_target {
	const char *container; /* points into the pod */
	int64_t instance;      /* N of N.log */
	bool running;          /* N is the container's current, running instance */
	bool unscheduled;      /* no spec.nodeName: an empty log */
};

/* The log a request means in `pod` (named `name`), as kube-apiserver picks
 * the container and kubelet the instance: MK_OK, or MK_EINVAL and the
 * message of a 400 (e.g. `container "web" in pod "p" is waiting to start:
 * ContainerCreating`).  The instance comes from the status entry's
 * containerID when the node agent wrote it ("mk://<uid>-<name>-<N>"),
 * else from restartCount (the previous instance: restartCount - 1). */
int pod_log_target(const json_t *pod, const char *name, const char *container, bool previous,
		   struct pod_log_target *t, char *errmsg, size_t len);
/* Follow: `pod` (NULL: gone) still has uid `uid` and runs `container` as
 * instance `instance`. */
bool pod_log_still_running(const json_t *pod, const char *uid, const char *container,
			   int64_t instance);
/* DATA_DIR/logs/pods/<ns>_<pod>_<uid>/<container>/<N>.log.  MK_EINVAL if
 * a part is empty or could leave the directory ("/", ".."), or the path
 * does not fit. */
int pod_log_path(char *out, size_t len, const char *data_dir, const char *ns, const char *pod,
		 const char *uid, const char *container, int64_t instance);

#endif
