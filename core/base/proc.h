/*
 * Running a helper program (a CNI plugin, runc) and collecting what it
 * says, with a deadline, from any thread.
 *
 * The child gets `in` on stdin (a socket, so a child that stops reading
 * cannot raise SIGPIPE here), its stdout and stderr collected up to a cap
 * each (the rest is read and dropped), signals at their defaults, no file
 * descriptor of ours but 0-2, and a process group of its own: at the
 * deadline the whole group is killed.  After the child exits, descendants
 * that still hold its output get two seconds.
 */
#ifndef MK_BASE_PROC_H
#define MK_BASE_PROC_H

#include <stddef.h>

#include "buf.h"

/* argv[0] is searched in PATH unless it has a '/'; env is the child's
 * environment (environ for ours).  Returns MK_OK with *status the wait
 * status, MK_ETIMEDOUT (killed), or MK_EIO (could not run; errmsg says
 * why). */
int mk_proc_run(char *const argv[], char **env, const char *in, size_t in_len, int timeout_ms,
		struct mk_buf *out, size_t out_max, struct mk_buf *err, size_t err_max, int *status,
		char *errmsg, size_t len);

#endif
