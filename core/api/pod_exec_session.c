/*
 * One exec session on the loop: the command line the node agent built runs
 * as our child, in its own process group, and its stdio travels over the
 * WebSocket channels (see pod_exec.h for the protocol).
 *
 * Without a terminal the child gets socketpairs (libuv's pipes) for the
 * streams the client asked for.  With one, the runtime (runc exec --tty
 * --console-socket) sends the pty master over the console socket; the
 * terminal's output goes to stdout, the runtime's own stdout and stderr
 * (its error messages) too.
 *
 * Flow control both ways: reading the child's output stops while the
 * WebSocket holds more than its high-water mark for a slow client, and
 * reading the client stops while the child has not taken 1 MiB of stdin.
 *
 * The end: once the child exited and its output reached EOF (or stayed
 * silent for DRAIN_MS: a background process may hold the pipe), the
 * Status goes on the error channel and the WebSocket closes.  If the
 * client goes first, stdin and the terminal are closed (the shell gets
 * SIGHUP) and the process group gets SIGKILL; the child is reaped before
 * the session is freed.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../base/err.h"
#include "../base/log.h"
#include "pod_exec_session.h"

void exec_argv_free(char **argv)
{
	if (argv == NULL)
		return;
	for (char **p = argv; *p; p++)
		free(*p);
	free(argv);
}

static void maybe_free(struct exec_session *s)
{
	if (s->handles > 0 || s->ws != NULL)
		return;
	void (*done)(void *) = s->cfg.done;
	void *arg = s->cfg.done_arg;
	mk_buf_free(&s->early_in);
	free(s);
	if (done != NULL)
		done(arg);
}

static void on_closed(uv_handle_t *h)
{
	struct exec_session *s = h->data;
	s->handles--;
	maybe_free(s);
}

static void on_src_closed(uv_handle_t *h)
{
	struct source *src = h->data;
	src->s->handles--;
	maybe_free(src->s);
}

static void on_console_closed(void *arg)
{
	struct exec_session *s = arg;
	s->handles--;
	maybe_free(s);
}

void exec_console_drop(struct exec_session *s)
{
	if (s->console == NULL)
		return;
	exec_console_close(s->console, on_console_closed, s);
	s->console = NULL;
}

void exec_src_close(struct source *src)
{
	if (!src->open)
		return;
	src->open = false;
	src->eof = true;
	uv_close((uv_handle_t *)&src->pipe, on_src_closed);
}

/* --- the end ----------------------------------------------------------- */

void exec_stdin_close(struct exec_session *s)
{
	if (!s->in_open)
		return;
	s->in_open = false;
	uv_close((uv_handle_t *)&s->in, on_closed);
}

/* Closes what is left of the child's side.  The process handle waits for
 * the exit callback: closing it earlier would leave a zombie. */
static void close_all(struct exec_session *s)
{
	uv_timer_stop(&s->drain);
	exec_stdin_close(s);
	for (int i = 0; i < N_SRC; i++)
		exec_src_close(&s->src[i]);
	exec_console_drop(s);
	if (!uv_is_closing((uv_handle_t *)&s->drain))
		uv_close((uv_handle_t *)&s->drain, on_closed);
}

/* The error channel's last word, then the close frame. */
static void send_status(struct exec_session *s, const char *failure)
{
	char *text = exec_status_text(s->cfg.proto, failure, (int)s->exit_status, s->term_signal);
	size_t n = text ? strlen(text) : 0;
	uint8_t *msg = text ? malloc(n + 1) : NULL;
	if (msg != NULL) {
		msg[0] = CH_ERROR;
		memcpy(msg + 1, text, n);
		ws_send(s->ws, WS_OP_BINARY, msg, n + 1);
	}
	free(msg);
	free(text);
	ws_close(s->ws, WS_CLOSE_NORMAL, NULL);
}

static void finish(struct exec_session *s, const char *failure)
{
	if (s->finished)
		return;
	s->finished = true;
	if (s->ws != NULL)
		send_status(s, failure);
	close_all(s);
}

static void maybe_finish(struct exec_session *s)
{
	if (s->finished || !s->exited)
		return;
	for (int i = 0; i < N_SRC; i++)
		if (s->src[i].open && !s->src[i].eof)
			return;
	finish(s, NULL);
}

static void on_drain_timeout(uv_timer_t *t)
{
	struct exec_session *s = t->data;
	/* The child is gone but something it started holds its output
	 * open: stop waiting for EOF. */
	finish(s, NULL);
}

static void arm_drain(struct exec_session *s)
{
	if (s->exited && !s->finished && !s->out_paused)
		uv_timer_start(&s->drain, on_drain_timeout, DRAIN_MS, 0);
}

static void on_exit_cb(uv_process_t *p, int64_t exit_status, int term_signal)
{
	struct exec_session *s = p->data;
	s->exited = true;
	s->exit_status = exit_status;
	s->term_signal = term_signal;
	uv_close((uv_handle_t *)&s->proc, on_closed);
	exec_stdin_close(s); /* nobody reads it any more */
	arm_drain(s);
	maybe_finish(s);
}

/* --- output ------------------------------------------------------------- */

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	(void)h;
	(void)suggested;
	/* One byte of headroom for the channel; consumed before the next
	 * read on this thread. */
	static __thread char scratch[1 + OUT_CHUNK];
	*buf = uv_buf_init(scratch + 1, OUT_CHUNK);
}

static void on_src_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf);

static void set_output_paused(struct exec_session *s, bool pause)
{
	s->out_paused = pause;
	for (int i = 0; i < N_SRC; i++) {
		struct source *src = &s->src[i];
		if (!src->open || src->eof)
			continue;
		if (pause)
			uv_read_stop((uv_stream_t *)&src->pipe);
		else
			uv_read_start((uv_stream_t *)&src->pipe, alloc_cb, on_src_read);
	}
	if (pause)
		uv_timer_stop(&s->drain);
	else
		arm_drain(s);
}

static void on_src_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
	struct source *src = stream->data;
	struct exec_session *s = src->s;
	if (nread == 0)
		return;
	if (nread < 0) {
		/* EOF; EIO on a pty master once the terminal's last user left. */
		exec_src_close(src);
		maybe_finish(s);
		return;
	}
	if (s->ws != NULL && src->send) {
		uint8_t *msg = (uint8_t *)buf->base - 1;
		msg[0] = src->channel;
		ws_send(s->ws, WS_OP_BINARY, msg, (size_t)nread + 1);
		if (s->ws != NULL && ws_congested(s->ws))
			set_output_paused(s, true);
	}
	arm_drain(s);
}

int exec_src_open(struct exec_session *s, int which, uint8_t channel, bool send)
{
	struct source *src = &s->src[which];
	src->s = s;
	src->channel = channel;
	src->send = send;
	if (uv_pipe_init(s->loop, &src->pipe, 0) != 0)
		return MK_EIO;
	src->pipe.data = src;
	src->open = true;
	s->handles++;
	return MK_OK;
}

void exec_src_start(struct exec_session *s, struct source *src)
{
	if (!s->out_paused &&
	    uv_read_start((uv_stream_t *)&src->pipe, alloc_cb, on_src_read) != 0)
		exec_src_close(src);
}

/* --- the WebSocket ----------------------------------------------------------- */

static void on_drain(void *arg)
{
	struct exec_session *s = arg;
	if (s->out_paused && !s->finished)
		set_output_paused(s, false);
}

static void on_ws_closed(void *arg, int code)
{
	struct exec_session *s = arg;
	(void)code;
	s->ws = NULL;
	if (!s->finished) {
		/* The client left first: end the command.  stdin and the
		 * terminal close (a shell gets SIGHUP); the group gets
		 * SIGKILL.  The exit callback still reaps the child. */
		s->finished = true;
		if (s->spawned && !s->exited)
			kill(-s->proc.pid, SIGKILL);
		close_all(s);
	}
	maybe_free(s);
}

/* --- start ----------------------------------------------------------------- */

static int spawn(struct exec_session *s, char **argv, char *errmsg, size_t len)
{
	uv_stdio_container_t stdio[3];
	bool tty = s->cfg.tty;
	memset(stdio, 0, sizeof stdio);
	stdio[0].flags = UV_IGNORE;
	stdio[1].flags = UV_IGNORE;
	stdio[2].flags = UV_IGNORE;
	if (!tty && s->cfg.in) {
		if (uv_pipe_init(s->loop, &s->in, 0) != 0)
			goto no_pipe;
		s->in.data = s;
		s->in_open = true;
		s->handles++;
		stdio[0].flags = UV_CREATE_PIPE | UV_READABLE_PIPE;
		stdio[0].data.stream = (uv_stream_t *)&s->in;
	}
	/* With a terminal these carry the runtime's own messages. */
	if (tty || s->cfg.out) {
		if (exec_src_open(s, SRC_OUT, CH_STDOUT, s->cfg.out) != MK_OK)
			goto no_pipe;
		stdio[1].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
		stdio[1].data.stream = (uv_stream_t *)&s->src[SRC_OUT].pipe;
	}
	if (tty || s->cfg.err) {
		uint8_t ch = tty ? CH_STDOUT : CH_STDERR;
		if (exec_src_open(s, SRC_ERR, ch, tty ? s->cfg.out : s->cfg.err) != MK_OK)
			goto no_pipe;
		stdio[2].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
		stdio[2].data.stream = (uv_stream_t *)&s->src[SRC_ERR].pipe;
	}
	uv_process_options_t o = {
		.exit_cb = on_exit_cb,
		.file = argv[0],
		.args = argv,
		/* Its own session and process group: the whole group can be
		 * killed, and the terminal of mkd is not its terminal. */
		.flags = UV_PROCESS_DETACHED,
		.stdio_count = 3,
		.stdio = stdio,
	};
	s->proc.data = s;
	int rv = uv_spawn(s->loop, &s->proc, &o);
	s->handles++; /* uv_spawn initialises the handle even when it fails */
	if (rv != 0) {
		snprintf(errmsg, len, "cannot run %s: %s", argv[0], uv_strerror(rv));
		uv_close((uv_handle_t *)&s->proc, on_closed);
		return MK_EIO;
	}
	s->spawned = true;
	for (int i = 0; i < SRC_PTY; i++)
		if (s->src[i].open)
			exec_src_start(s, &s->src[i]);
	return MK_OK;
no_pipe:
	snprintf(errmsg, len, "cannot create the pipes for the command");
	return MK_EIO;
}

int exec_session_start(uv_loop_t *loop, struct http_exchange *x, const char *protocol,
		       const struct exec_session_config *cfg, char **argv,
		       struct exec_console *console, const char *failure)
{
	struct exec_session *s = calloc(1, sizeof *s);
	if (s == NULL)
		return MK_ENOMEM;
	s->loop = loop;
	s->cfg = *cfg;
	struct ws_handlers h = {.on_message = exec_input_message, .on_drain = on_drain,
				.on_closed = on_ws_closed, .arg = s};
	int rv = ws_upgrade(x, protocol, 0, &h, &s->ws);
	if (rv != MK_OK) {
		free(s);
		return rv;
	}
	/* From here on the session owns everything it was given. */
	uv_timer_init(loop, &s->drain);
	s->drain.data = s;
	s->handles++;
	/* Like the kubelet: an empty message on the first output channel
	 * tells older clients the streams are up. */
	uint8_t first = cfg->out ? CH_STDOUT : cfg->err ? CH_STDERR : CH_ERROR;
	ws_send(s->ws, WS_OP_BINARY, &first, 1);
	char err[512];
	if (failure == NULL && spawn(s, argv, err, sizeof err) != MK_OK)
		failure = err;
	exec_argv_free(argv);
	if (failure != NULL) {
		if (console != NULL)
			exec_console_discard(console);
		finish(s, failure);
		return MK_OK;
	}
	if (console != NULL) {
		if (exec_console_listen(console, loop, exec_input_terminal, s) == MK_OK) {
			s->console = console;
			s->handles++;
		} else {
			exec_console_discard(console);
		}
	}
	return MK_OK;
}
