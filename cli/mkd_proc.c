/*
 * The local mkd as a process: is it running, which pid, which program.
 *
 * mkd holds an exclusive flock on DIR/mkd.pid while it runs
 * (core/base/pidfile.h); the kernel drops it with the process, so
 * "running" never depends on a stale pid.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/base/err.h"
#include "../core/base/pidfile.h"
#include "cli.h"

bool cli_mkd_running(const char *data_dir, pid_t *pid)
{
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/mkd.pid", data_dir);
	return pidfile_running(path, pid);
}

bool cli_mkd_holds_lock(const char *data_dir, pid_t pid)
{
	char path[PATH_MAX], line[256];
	struct stat st;
	if (pid <= 1)
		return false;
	snprintf(path, sizeof path, "%s/mkd.pid", data_dir);
	if (stat(path, &st) != 0)
		return false;
	FILE *f = fopen("/proc/locks", "r");
	if (f == NULL)
		return true; /* no way to tell; pid > 1 at least */
	bool found = false;
	/* "1: FLOCK  ADVISORY  WRITE 1234 fe:00:10954576 0 EOF"; waiters
	 * have "->" before FLOCK and are skipped by the type check.  Only
	 * the inode is compared: the device numbers shown for overlay file
	 * systems need not match stat's. */
	while (!found && fgets(line, sizeof line, f) != NULL) {
		char type[16], mode[16];
		int holder;
		unsigned long ino;
		if (sscanf(line, "%*d: %15s %*s %15s %d %*x:%*x:%lu", type, mode, &holder,
			   &ino) != 4)
			continue;
		found = strcmp(type, "FLOCK") == 0 && strcmp(mode, "WRITE") == 0 &&
			(pid_t)holder == pid && ino == (unsigned long)st.st_ino;
	}
	fclose(f);
	return found;
}

static bool executable(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

/* `name` on $PATH, as execvp would find it. */
static bool on_path(const char *name, char *out, size_t len)
{
	const char *path = getenv("PATH");
	if (path == NULL || *path == '\0')
		path = "/usr/local/bin:/usr/bin:/bin";
	while (*path != '\0') {
		size_t n = strcspn(path, ":");
		/* An empty PATH element means the current directory. */
		int w = n == 0 ? snprintf(out, len, "./%s", name)
			       : snprintf(out, len, "%.*s/%s", (int)n, path, name);
		if (w > 0 && (size_t)w < len && executable(out))
			return true;
		path += n;
		if (*path == ':')
			path++;
	}
	return false;
}

int cli_find_mkd(char *out, size_t len, char *errmsg, size_t errlen)
{
	const char *env = getenv("MK_MKD");
	if (env != NULL && *env != '\0') {
		/* An explicit choice is never silently replaced by another mkd. */
		if (strchr(env, '/') == NULL) {
			if (on_path(env, out, len))
				return MK_OK;
		} else if (executable(env) && strlen(env) < len) {
			memcpy(out, env, strlen(env) + 1);
			return MK_OK;
		}
		snprintf(errmsg, errlen, "MK_MKD=%.200s is not an executable program", env);
		return MK_ENOTFOUND;
	}
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n > 0) {
		self[n] = '\0';
		char *slash = strrchr(self, '/');
		if (slash != NULL) {
			*slash = '\0';
			if (snprintf(out, len, "%s/mkd", self) < (int)len && executable(out))
				return MK_OK;
		}
	}
	const char *snap = getenv("SNAP");
	if (snap != NULL && *snap != '\0' && snprintf(out, len, "%s/bin/mkd", snap) < (int)len &&
	    executable(out))
		return MK_OK;
	if (on_path("mkd", out, len))
		return MK_OK;
	snprintf(errmsg, errlen, "mkd not found (looked beside mk, in $SNAP/bin and on PATH); "
				 "set MK_MKD to its path");
	return MK_ENOTFOUND;
}
