#include "pidfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "err.h"

static pid_t read_pid(int fd)
{
	char buf[32] = {0};
	ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
	return n > 0 ? (pid_t)strtol(buf, NULL, 10) : 0;
}

int pidfile_lock(const char *path, int *fd_out, char *errmsg, size_t len)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) {
		snprintf(errmsg, len, "%s: %s", path, strerror(errno));
		return MK_EIO;
	}
	/* A checker (pidfile_running, e.g. `mk status`) holds a shared lock
	 * for a moment while it tests: retry for a while before deciding
	 * another mkd owns the directory. */
	int rc;
	for (int tries = 0;; tries++) {
		rc = flock(fd, LOCK_EX | LOCK_NB);
		if (rc == 0 || errno != EWOULDBLOCK || tries == 19)
			break;
		struct timespec ts = {0, 10 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	if (rc != 0) {
		int e = errno;
		pid_t other = read_pid(fd);
		close(fd);
		if (e == EWOULDBLOCK) {
			snprintf(errmsg, len, "another mkd (pid %d) is running on this data directory",
				 (int)other);
			return MK_EBUSY;
		}
		snprintf(errmsg, len, "%s: %s", path, strerror(e));
		return MK_EIO;
	}
	char buf[32];
	int n = snprintf(buf, sizeof buf, "%d\n", (int)getpid());
	if (ftruncate(fd, 0) != 0 || pwrite(fd, buf, (size_t)n, 0) != n) {
		snprintf(errmsg, len, "%s: %s", path, strerror(errno));
		close(fd);
		return MK_EIO;
	}
	*fd_out = fd;
	return MK_OK;
}

bool pidfile_running(const char *path, pid_t *pid)
{
	if (pid)
		*pid = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	bool running = flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
	if (running && pid)
		*pid = read_pid(fd);
	close(fd); /* also drops the shared lock we may have taken */
	return running;
}
