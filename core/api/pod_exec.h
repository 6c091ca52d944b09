/*
 * pods/{name}/exec and pods/{name}/attach: the Kubernetes remote-command
 * protocol over a WebSocket (reference/kubectl-api.md §11).
 *
 *   pod_exec.c          routing hooks, request checks, the pod lookup and
 *                       the node agent's hook on a worker, then the session
 *   pod_exec_check.c    query options, pod rules, the final Status (pure)
 *   pod_exec_session.c  one running command: the process, its output,
 *                       backpressure, the end (pod_exec_session.h)
 *   pod_exec_input.c    its stdin, resizes, the terminal's arrival
 *   pod_exec_console.c  the console socket a runtime sends a pty master on
 *
 * Subprotocols, in the client's order of preference: v5.channel.k8s.io
 * (kubectl 1.30+: only this one), v4.channel.k8s.io (python3-kubernetes)
 * and channel.k8s.io (or none).  Every message is binary (text accepted
 * from clients, as python sends stdin that way) and starts with its
 * channel: 0 stdin, 1 stdout, 2 stderr, 3 error, 4 resize ({"Width":W,
 * "Height":H}); v5 adds 255 = close signal, `ff 00` ending stdin.  At the
 * end the error channel carries a metav1.Status (v4/v5; channel.k8s.io:
 * the failure message only), then a close frame.
 *
 * Threading: the loop thread, except where marked "worker".
 */
#ifndef MK_API_POD_EXEC_H
#define MK_API_POD_EXEC_H

#include <jansson.h>
#include <stdbool.h>

#include "../http/websocket.h"
#include "api_internal.h"

enum exec_proto {
	EXEC_PROTO_V1, /* channel.k8s.io or no subprotocol */
	EXEC_PROTO_V4,
	EXEC_PROTO_V5,
};

/* The subprotocols served, NULL-terminated (for ws_handshake_check). */
extern const char *const pod_exec_protocols[];
/* NULL (none offered) is EXEC_PROTO_V1. */
enum exec_proto pod_exec_proto(const char *protocol);

/* --- routing and dispatch (pod_exec.c) -------------------------------- */

/* route.c: `sub` of resource `r` is exec or attach of pods. */
bool pod_exec_subresource(const struct api_resource *r, const char *sub);
/* route.c: sets the call for GET/POST pods/NAME/exec|attach in NS.  0, or
 * 405 with the answer set. */
int pod_exec_route(struct api_call *c, const char *ns, const char *name, const char *sub);
/* The API's dispatch, after routing, on the loop: answers exec/attach
 * calls or takes their exchange, and returns true; then the caller frees
 * the call and must not touch the exchange.  False for any other call.
 * A taken call counts in srv->calls until its session ends. */
bool api_pod_exec_take(struct api_call *c);

/* --- options, pod rules, Status (pod_exec_check.c) ------------------------ */

struct exec_options {
	char **command; /* NULL-terminated; empty for attach */
	size_t n_command;
	char *container; /* NULL: the pod's default container */
	bool in, out, err, tty;
};

/* From the query (repeated `command`, `container`, `stdin`, `stdout`,
 * `stderr`, `tty`).  MK_EINVAL with the message for a 400, MK_ENOMEM. */
int exec_options_parse(const struct api_query *q, bool attach, struct exec_options *o,
		       char *errmsg, size_t len);
void exec_options_free(struct exec_options *o);
/* Whether `pod` (named `name`) can run an exec or attach in `container`
 * (NULL: the kubectl.kubernetes.io/default-container annotation if it
 * names a container, else the first one).  0 and *chosen (`container` or
 * a string inside `pod`), or MK_EINVAL and the message of a 400. */
int exec_pod_check(const json_t *pod, const char *name, const char *container, bool attach,
		   const char **chosen, char *errmsg, size_t len);

/* The error channel's payload at the end: a metav1.Status (v4, v5: Success,
 * NonZeroExitCode with an ExitCode cause, or InternalError for `failure`),
 * with channel.k8s.io a failure's message only.  `failure` non-NULL: the
 * command never ran; else it ended with `exit_code`, or died of `signal`
 * (reported as 128 + signal).  malloc'd; NULL: nothing to send. */
char *exec_status_text(enum exec_proto proto, const char *failure, int exit_code, int signal);

/* --- the console socket (pod_exec_console.c) ---------------------------- */

/* A unix socket in a fresh mode-0700 directory that a runtime started
 * with --console-socket connects to, sending the pty master (SCM_RIGHTS,
 * runc docs/terminals.md).  Only peers with our uid are accepted. */
struct exec_console;

/* Worker or loop: creates the directory and the listening socket. */
int exec_console_open(struct exec_console **out, char *errmsg, size_t len);
const char *exec_console_path(const struct exec_console *c);
/* Loop: waits for one pty master; got(arg, fd) runs once with the fd
 * (O_NONBLOCK, O_CLOEXEC, now the caller's), or -1 if the sender broke the
 * protocol.  MK_EIO if the socket cannot be watched: then discard it. */
int exec_console_listen(struct exec_console *c, uv_loop_t *loop,
			void (*got)(void *arg, int fd), void *arg);
/* Loop, after exec_console_listen: stops, removes the socket and its
 * directory; closed(arg) runs from the loop once the handles are gone. */
void exec_console_close(struct exec_console *c, void (*closed)(void *arg), void *arg);
/* Worker or loop, for a console never listened on: removes it at once. */
void exec_console_discard(struct exec_console *c);

/* --- the session (pod_exec_session.c) ----------------------------------- */

struct exec_session_config {
	enum exec_proto proto;
	bool in, out, err, tty;
	/* Runs once the session is over and freed (process reaped, every
	 * handle closed, the WebSocket gone). */
	void (*done)(void *arg);
	void *done_arg;
};

/* Upgrades `x` (whose request passed ws_handshake_check; `protocol` as
 * chosen) and runs `argv` (taken; its own process group), streaming its
 * stdio over the channels; with tty, `console` (taken) must be the socket
 * whose path argv passed to the runtime.  With `failure` non-NULL nothing
 * runs: the client gets that message as a Failure Status.  Returns 0:
 * the exchange belongs to the session and done() will run; MK_ECLOSED
 * (client gone) or MK_ENOMEM: nothing was taken. */
int exec_session_start(uv_loop_t *loop, struct http_exchange *x, const char *protocol,
		       const struct exec_session_config *cfg, char **argv,
		       struct exec_console *console, const char *failure);
/* Frees a NULL-terminated argv. */
void exec_argv_free(char **argv);

#endif
