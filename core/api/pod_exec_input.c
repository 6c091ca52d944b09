/*
 * What an exec session receives: stdin (to the child's pipe or the
 * terminal), resize messages, v5's close signal, and the terminal itself
 * arriving over the console socket.  See pod_exec.h and
 * pod_exec_session.h.
 *
 * Input that comes before the terminal waits (64 KiB at most, then the
 * client is paused); so does its size, applied before any input.
 */
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "../base/err.h"
#include "../base/log.h"
#include "pod_exec_session.h"

struct in_write {
	uv_write_t req;
	struct exec_session *s;
	size_t len;
	char data[];
};

static uv_stream_t *stdin_stream(struct exec_session *s)
{
	if (s->cfg.tty)
		return s->src[SRC_PTY].open ? (uv_stream_t *)&s->src[SRC_PTY].pipe : NULL;
	return s->in_open ? (uv_stream_t *)&s->in : NULL;
}

static void pause_client(struct exec_session *s, bool pause)
{
	if (s->ws == NULL || s->ws_paused == pause)
		return;
	s->ws_paused = pause;
	ws_pause_reading(s->ws, pause);
}

static void on_in_written(uv_write_t *req, int status)
{
	struct in_write *w = (struct in_write *)req;
	struct exec_session *s = w->s;
	s->stdin_queued -= w->len;
	free(w);
	if (status < 0 && status != UV_ECANCELED && !s->cfg.tty)
		exec_stdin_close(s); /* the child closed its stdin */
	if (s->stdin_queued <= STDIN_LOW && s->early_in.len <= EARLY_STDIN_MAX)
		pause_client(s, false);
}

static void write_stdin(struct exec_session *s, const void *data, size_t len)
{
	uv_stream_t *dst = stdin_stream(s);
	if (len == 0 || dst == NULL)
		return;
	struct in_write *w = malloc(sizeof *w + len);
	if (w == NULL)
		return;
	w->s = s;
	w->len = len;
	memcpy(w->data, data, len);
	uv_buf_t b = uv_buf_init(w->data, (unsigned)len);
	if (uv_write(&w->req, dst, &b, 1, on_in_written) != 0) {
		free(w);
		return;
	}
	s->stdin_queued += len;
	if (s->stdin_queued > STDIN_HIGH)
		pause_client(s, true);
}

/* End of stdin: EOF on the pipe, or the terminal's EOF character. */
static void on_stdin_shutdown(uv_shutdown_t *req, int status)
{
	struct exec_session *s = req->data;
	(void)status;
	free(req);
	exec_stdin_close(s);
}

static void pty_eof(struct exec_session *s)
{
	struct termios t;
	int fd;
	if (uv_fileno((uv_handle_t *)&s->src[SRC_PTY].pipe, &fd) != 0)
		return;
	char eof = tcgetattr(fd, &t) == 0 ? (char)t.c_cc[VEOF] : 4;
	write_stdin(s, &eof, 1);
}

static void end_stdin(struct exec_session *s)
{
	if (s->stdin_closed)
		return;
	s->stdin_closed = true;
	if (s->cfg.tty) {
		if (s->src[SRC_PTY].open)
			pty_eof(s);
		else
			s->eof_pending = true;
		return;
	}
	if (!s->in_open)
		return;
	/* Queued writes go first, then the child reads EOF. */
	uv_shutdown_t *req = malloc(sizeof *req);
	if (req != NULL) {
		req->data = s;
		if (uv_shutdown(req, (uv_stream_t *)&s->in, on_stdin_shutdown) == 0)
			return;
		free(req);
	}
	exec_stdin_close(s);
}

static void apply_size(struct exec_session *s)
{
	int fd;
	if (s->have_size && s->src[SRC_PTY].open &&
	    uv_fileno((uv_handle_t *)&s->src[SRC_PTY].pipe, &fd) == 0)
		ioctl(fd, TIOCSWINSZ, &s->size);
}

static void resize(struct exec_session *s, const uint8_t *data, size_t len)
{
	json_t *j = json_loadb((const char *)data, len, 0, NULL);
	json_int_t w = json_integer_value(json_object_get(j, "Width"));
	json_int_t h = json_integer_value(json_object_get(j, "Height"));
	json_decref(j);
	if (!s->cfg.tty || w <= 0 || h <= 0 || w > 0xFFFF || h > 0xFFFF)
		return;
	s->size = (struct winsize){.ws_col = (unsigned short)w, .ws_row = (unsigned short)h};
	s->have_size = true;
	apply_size(s);
}

void exec_input_message(void *arg, enum ws_opcode op, const uint8_t *data, size_t len)
{
	struct exec_session *s = arg;
	(void)op; /* python sends stdin as text messages: same layout */
	if (len == 0 || s->finished)
		return;
	uint8_t ch = data[0];
	data++;
	len--;
	switch (ch) {
	case CH_STDIN:
		if (!s->cfg.in || s->stdin_closed)
			break;
		if (s->cfg.tty && !s->src[SRC_PTY].open) {
			if (s->src[SRC_PTY].eof)
				break; /* the terminal is gone already */
			/* The terminal is on its way through the console
			 * socket; hold (a little of) what the user typed. */
			mk_buf_append(&s->early_in, data, len);
			if (s->early_in.len > EARLY_STDIN_MAX)
				pause_client(s, true);
			break;
		}
		write_stdin(s, data, len);
		break;
	case CH_RESIZE:
		resize(s, data, len);
		break;
	case CH_CLOSE:
		if (s->cfg.proto == EXEC_PROTO_V5 && len >= 1 && data[0] == CH_STDIN)
			end_stdin(s);
		break;
	default:
		break; /* not a channel a client writes */
	}
}

/* --- the terminal --------------------------------------------------------- */

void exec_input_terminal(void *arg, int fd)
{
	struct exec_session *s = arg;
	exec_console_drop(s);
	if (fd < 0) {
		mk_warn("api", "exec: the runtime sent no terminal on the console socket");
		return;
	}
	struct source *src = &s->src[SRC_PTY];
	if (s->finished || exec_src_open(s, SRC_PTY, CH_STDOUT, s->cfg.out) != MK_OK) {
		close(fd);
		return;
	}
	if (uv_pipe_open(&src->pipe, fd) != 0) {
		close(fd);
		exec_src_close(src);
		return;
	}
	apply_size(s);
	write_stdin(s, s->early_in.data, s->early_in.len);
	mk_buf_free(&s->early_in);
	if (s->eof_pending)
		pty_eof(s);
	exec_src_start(s, src);
	pause_client(s, s->stdin_queued > STDIN_HIGH);
}
