/*
 * The console socket of `runc exec --tty --console-socket PATH` (runc
 * docs/terminals.md): runc connects to PATH and sends the pty master it
 * made as SCM_RIGHTS in one message whose bytes are the pty's name.  We
 * listen in a directory of our own (mode 0700, so no other user can even
 * reach the socket), accept one connection from our own uid and take the
 * first fd it sends.  See pod_exec.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "../base/err.h"
#include "../base/log.h"
#include "pod_exec.h"

struct exec_console {
	char dir[200];
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int listen_fd;
	int conn_fd; /* the accepted runtime, or -1 */
	uv_poll_t listen_poll, conn_poll;
	bool conn_poll_init;
	int open_handles;
	bool done; /* got() ran */
	void (*got)(void *arg, int fd);
	void *got_arg;
	void (*closed)(void *arg);
	void *closed_arg;
};

const char *exec_console_path(const struct exec_console *c)
{
	return c->path;
}

static void remove_files(struct exec_console *c)
{
	unlink(c->path);
	rmdir(c->dir);
}

int exec_console_open(struct exec_console **out, char *errmsg, size_t len)
{
	struct exec_console *c = calloc(1, sizeof *c);
	if (c == NULL) {
		snprintf(errmsg, len, "out of memory");
		return MK_ENOMEM;
	}
	c->listen_fd = c->conn_fd = -1;
	const char *tmp = getenv("TMPDIR");
	if (tmp == NULL || tmp[0] != '/' || strlen(tmp) > 64)
		tmp = "/tmp";
	snprintf(c->dir, sizeof c->dir, "%s/mk-exec-XXXXXX", tmp);
	if (mkdtemp(c->dir) == NULL) { /* mkdtemp makes it 0700 */
		snprintf(errmsg, len, "cannot create a console directory in %s: %s", tmp,
			 strerror(errno));
		free(c);
		return MK_EIO;
	}
	snprintf(c->path, sizeof c->path, "%s/console.sock", c->dir);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	memcpy(sa.sun_path, c->path, strlen(c->path) + 1);
	c->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->listen_fd < 0 || bind(c->listen_fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
	    listen(c->listen_fd, 4) != 0) {
		snprintf(errmsg, len, "cannot listen on the console socket %s: %s", c->path,
			 strerror(errno));
		exec_console_discard(c);
		return MK_EIO;
	}
	*out = c;
	return MK_OK;
}

void exec_console_discard(struct exec_console *c)
{
	if (c == NULL)
		return;
	if (c->listen_fd >= 0)
		close(c->listen_fd);
	remove_files(c);
	free(c);
}

static void deliver(struct exec_console *c, int fd)
{
	if (c->done) {
		if (fd >= 0)
			close(fd);
		return;
	}
	c->done = true;
	uv_poll_stop(&c->listen_poll);
	if (c->conn_poll_init)
		uv_poll_stop(&c->conn_poll);
	c->got(c->got_arg, fd);
}

/* The runtime's message: the pty's name, and the master as SCM_RIGHTS. */
static void on_message(uv_poll_t *p, int status, int events)
{
	struct exec_console *c = p->data;
	(void)events;
	if (status < 0) {
		deliver(c, -1);
		return;
	}
	char name[4096];
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(4 * sizeof(int))];
	} control;
	struct iovec iov = {.iov_base = name, .iov_len = sizeof name};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
			     .msg_controllen = sizeof control.buf};
	ssize_t n = recvmsg(c->conn_fd, &msg, MSG_CMSG_CLOEXEC);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	int fd = -1;
	for (struct cmsghdr *cm = n >= 0 ? CMSG_FIRSTHDR(&msg) : NULL; cm != NULL;
	     cm = CMSG_NXTHDR(&msg, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		size_t nfd = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		int fds[4];
		if (nfd > 4)
			nfd = 4; /* cannot be: the control buffer holds 4 */
		memcpy(fds, CMSG_DATA(cm), nfd * sizeof(int));
		for (size_t i = 0; i < nfd; i++) {
			if (fd < 0)
				fd = fds[i];
			else
				close(fds[i]); /* only one is ours to take */
		}
	}
	if (fd >= 0 && (!isatty(fd) || fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) != 0)) {
		mk_warn("api", "exec: the console socket got a file that is not a terminal");
		close(fd);
		fd = -1;
	}
	if (fd < 0 && n > 0 && !(msg.msg_flags & MSG_CTRUNC))
		return; /* bytes without a descriptor yet: wait for more */
	deliver(c, fd);
}

static void on_connection(uv_poll_t *p, int status, int events)
{
	struct exec_console *c = p->data;
	(void)events;
	if (status < 0) {
		deliver(c, -1);
		return;
	}
	int fd = accept4(c->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return; /* EAGAIN, or the peer gave up: keep listening */
	struct ucred cred;
	socklen_t cl = sizeof cred;
	if (c->conn_fd >= 0 || getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) != 0 ||
	    cred.uid != getuid()) {
		close(fd);
		return;
	}
	c->conn_fd = fd;
	if (uv_poll_init(c->listen_poll.loop, &c->conn_poll, fd) != 0) {
		deliver(c, -1);
		return;
	}
	c->conn_poll_init = true;
	c->open_handles++;
	c->conn_poll.data = c;
	uv_poll_stop(&c->listen_poll);
	if (uv_poll_start(&c->conn_poll, UV_READABLE, on_message) != 0)
		deliver(c, -1);
}

int exec_console_listen(struct exec_console *c, uv_loop_t *loop,
			void (*got)(void *arg, int fd), void *arg)
{
	c->got = got;
	c->got_arg = arg;
	if (uv_poll_init(loop, &c->listen_poll, c->listen_fd) != 0)
		return MK_EIO;
	c->listen_poll.data = c;
	c->open_handles = 1;
	/* epoll_ctl on a fresh socket fails only without memory; the
	 * command then runs without a terminal reader. */
	if (uv_poll_start(&c->listen_poll, UV_READABLE, on_connection) != 0)
		mk_warn("api", "exec: cannot watch the console socket %s", c->path);
	return MK_OK;
}

static void on_closed(uv_handle_t *h)
{
	struct exec_console *c = h->data;
	if (--c->open_handles > 0)
		return;
	/* Descriptors go after their poll handles: never close one that
	 * epoll still watches. */
	if (c->conn_fd >= 0)
		close(c->conn_fd);
	close(c->listen_fd);
	remove_files(c);
	void (*closed)(void *) = c->closed;
	void *arg = c->closed_arg;
	free(c);
	if (closed != NULL)
		closed(arg);
}

void exec_console_close(struct exec_console *c, void (*closed)(void *arg), void *arg)
{
	c->done = true;
	c->closed = closed;
	c->closed_arg = arg;
	/* Nothing connects any more once the name is gone. */
	remove_files(c);
	uv_close((uv_handle_t *)&c->listen_poll, on_closed);
	if (c->conn_poll_init)
		uv_close((uv_handle_t *)&c->conn_poll, on_closed);
}
