/*
 * Running a helper program with a deadline (proc.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "clock.h"
#include "proc.h"

/* After the child exited, how long a descendant may still hold its
 * stdout/stderr open before we stop reading. */
#define DRAIN_GRACE_MS 2000

static int read_into(int fd, struct mk_buf *b, size_t cap)
{
	char chunk[16384];
	ssize_t r = read(fd, chunk, sizeof chunk);
	if (r < 0)
		return errno == EINTR || errno == EAGAIN ? 1 : 0;
	if (r == 0)
		return 0;
	if (b->len < cap)
		mk_buf_append(b, chunk, (size_t)r < cap - b->len ? (size_t)r : cap - b->len);
	return 1;
}

int mk_proc_run(char *const argv[], char **env, const char *in, size_t in_len, int timeout_ms,
		struct mk_buf *out, size_t out_max, struct mk_buf *err, size_t err_max, int *status,
		char *errmsg, size_t len)
{
	int sv[2] = {-1, -1}, po[2] = {-1, -1}, pe[2] = {-1, -1}, pidfd = -1, rv;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t mask, defaults;
	pid_t pid;

	/* stdin is a socket, not a pipe: send(MSG_NOSIGNAL) cannot raise
	 * SIGPIPE in a process that did not ignore it. */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0 ||
	    pipe2(po, O_CLOEXEC) != 0 || pipe2(pe, O_CLOEXEC) != 0) {
		snprintf(errmsg, len, "pipe: %s", strerror(errno));
		rv = MK_EIO;
		goto out;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, sv[1], 0);
	posix_spawn_file_actions_adddup2(&fa, po[1], 1);
	posix_spawn_file_actions_adddup2(&fa, pe[1], 2);
	/* mkd's sockets and files opened without O_CLOEXEC by other threads
	 * must not leak into the child (and what it runs). */
	posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	posix_spawnattr_init(&attr);
	sigemptyset(&mask);
	sigemptyset(&defaults);
	sigaddset(&defaults, SIGPIPE);
	sigaddset(&defaults, SIGCHLD);
	sigaddset(&defaults, SIGTERM);
	sigaddset(&defaults, SIGINT);
	sigaddset(&defaults, SIGHUP);
	posix_spawnattr_setsigmask(&attr, &mask);
	posix_spawnattr_setsigdefault(&attr, &defaults);
	/* Own process group: a timeout kills the child and what it started. */
	posix_spawnattr_setpgroup(&attr, 0);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
						POSIX_SPAWN_SETSIGDEF);
	rv = posix_spawnp(&pid, argv[0], &fa, &attr, argv, env);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	if (rv != 0) {
		snprintf(errmsg, len, "cannot run %s: %s", argv[0], strerror(rv));
		rv = MK_EIO;
		goto out;
	}
	close(sv[1]);
	close(po[1]);
	close(pe[1]);
	sv[1] = po[1] = pe[1] = -1;
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);

	int64_t deadline = mk_monotonic_ms() + timeout_ms;
	size_t sent = 0;
	bool exited = false, timed_out = false, out_open = true, err_open = true;
	if (in_len == 0)
		shutdown(sv[0], SHUT_WR);
	while (out_open || err_open || !exited) {
		struct pollfd p[4];
		int np = 0, i_in = -1, i_out = -1, i_err = -1, i_pid = -1;
		if (sent < in_len)
			p[i_in = np++] = (struct pollfd){.fd = sv[0], .events = POLLOUT};
		if (out_open)
			p[i_out = np++] = (struct pollfd){.fd = po[0], .events = POLLIN};
		if (err_open)
			p[i_err = np++] = (struct pollfd){.fd = pe[0], .events = POLLIN};
		if (!exited && pidfd >= 0)
			p[i_pid = np++] = (struct pollfd){.fd = pidfd, .events = POLLIN};
		int64_t left = deadline - mk_monotonic_ms();
		if (left <= 0) {
			if (exited)
				break; /* a descendant holds the pipes: stop reading */
			timed_out = true;
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			waitpid(pid, status, 0);
			exited = true;
			break;
		}
		/* Without a pidfd (kernel < 5.3), look at the child now and then. */
		int wait = pidfd < 0 && !exited && left > 50 ? 50 : (int)left;
		if (poll(p, (nfds_t)np, wait) < 0 && errno != EINTR) {
			snprintf(errmsg, len, "poll: %s", strerror(errno));
			kill(-pid, SIGKILL);
			waitpid(pid, status, 0);
			rv = MK_EIO;
			goto out;
		}
		if (i_in >= 0 && p[i_in].revents) {
			ssize_t w = send(sv[0], in + sent, in_len - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
			if (w > 0)
				sent += (size_t)w;
			else if (w < 0 && errno != EAGAIN && errno != EINTR)
				sent = in_len; /* the child stopped reading: its problem */
			if (sent == in_len)
				shutdown(sv[0], SHUT_WR);
		}
		if (i_out >= 0 && p[i_out].revents)
			out_open = read_into(po[0], out, out_max);
		if (i_err >= 0 && p[i_err].revents)
			err_open = read_into(pe[0], err, err_max);
		if (!exited && (pidfd < 0 || (i_pid >= 0 && p[i_pid].revents)) &&
		    waitpid(pid, status, WNOHANG) == pid) {
			exited = true;
			if (deadline - mk_monotonic_ms() > DRAIN_GRACE_MS)
				deadline = mk_monotonic_ms() + DRAIN_GRACE_MS;
		}
	}
	if (timed_out) {
		snprintf(errmsg, len, "timed out after %d ms (killed)", timeout_ms);
		rv = MK_ETIMEDOUT;
	} else {
		rv = MK_OK;
	}
out:
	for (int i = 0; i < 2; i++) {
		if (sv[i] >= 0)
			close(sv[i]);
		if (po[i] >= 0)
			close(po[i]);
		if (pe[i] >= 0)
			close(pe[i]);
	}
	if (pidfd >= 0)
		close(pidfd);
	return rv;
}

