/*
 * The daemon's pid file, DIR/mkd.pid: mkd holds an exclusive flock on it
 * for as long as it runs, so "is mkd running on DIR?" has an answer that
 * a crash cannot leave stale (the kernel drops the lock with the process).
 */
#ifndef MK_BASE_PIDFILE_H
#define MK_BASE_PIDFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Takes the lock and writes our pid; *fd stays open (and locked) until
 * exit.  MK_EBUSY if another process holds it (errmsg names its pid),
 * MK_EIO on other failures. */
int pidfile_lock(const char *path, int *fd, char *errmsg, size_t len);

/* True if a live process holds the lock; *pid (may be NULL) gets the pid
 * written in the file (0 if unreadable). */
bool pidfile_running(const char *path, pid_t *pid);

#endif
