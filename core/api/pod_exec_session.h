/*
 * Internals of an exec session shared by pod_exec_session.c (the process,
 * its output, the end) and pod_exec_input.c (stdin, resize, the terminal).
 * Loop thread only.  Not for use outside those two files.
 */
#ifndef MK_API_POD_EXEC_SESSION_H
#define MK_API_POD_EXEC_SESSION_H

#include <sys/ioctl.h>

#include "../base/buf.h"
#include "pod_exec.h"

#define OUT_CHUNK 32768
#define STDIN_HIGH (1024 * 1024)
#define STDIN_LOW (256 * 1024)
#define EARLY_STDIN_MAX (64 * 1024)
#define DRAIN_MS 2000

enum { CH_STDIN = 0, CH_STDOUT = 1, CH_STDERR = 2, CH_ERROR = 3, CH_RESIZE = 4, CH_CLOSE = 255 };
enum { SRC_OUT, SRC_ERR, SRC_PTY, N_SRC };

struct exec_session;

/* One output of the child: a pipe, or the pty master. */
struct source {
	struct exec_session *s;
	uv_pipe_t pipe;
	uint8_t channel;
	bool send;    /* the client asked for this channel */
	bool open;    /* initialised, not closing */
	bool eof;
};

struct exec_session {
	uv_loop_t *loop;
	struct ws *ws; /* NULL once the WebSocket is gone */
	struct exec_session_config cfg;
	uv_process_t proc;
	bool spawned, exited;
	int64_t exit_status;
	int term_signal;
	uv_pipe_t in;
	bool in_open;
	struct source src[N_SRC];
	struct exec_console *console; /* until the pty came or the end */
	uv_timer_t drain;
	int handles;      /* handles (and the console) not closed yet */
	bool finished;    /* no more output: Status sent or client gone */
	bool stdin_closed;
	bool eof_pending; /* stdin closed before the pty came */
	size_t stdin_queued;
	bool ws_paused;   /* we stopped reading the client */
	bool out_paused;  /* we stopped reading the child: client is slow */
	struct mk_buf early_in; /* tty stdin that came before the pty */
	bool have_size;
	struct winsize size;
};


/* pod_exec_session.c */
int exec_src_open(struct exec_session *s, int which, uint8_t channel, bool send);
void exec_src_start(struct exec_session *s, struct source *src);
void exec_src_close(struct source *src); /* also marks it at EOF */
void exec_stdin_close(struct exec_session *s);   /* the pipe, at once */
void exec_console_drop(struct exec_session *s);  /* the console socket */

/* pod_exec_input.c: the WebSocket's on_message, and the console's got. */
void exec_input_message(void *arg, enum ws_opcode op, const uint8_t *data, size_t len);
void exec_input_terminal(void *arg, int fd);

#endif
