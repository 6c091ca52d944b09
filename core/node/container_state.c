/*
 * Where a container attempt lives on disk, how to read back what it did
 * (adoption after an mkd restart), and running helper programs.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../base/err.h"
#include "../base/fs.h"
#include "../base/proc.h"
#include "../base/log.h"
#include "../image/image.h"
#include "node_internal.h"

extern char **environ;

void ctr_dir(const struct pod_worker *w, const char *name, int attempt, char *out, size_t len)
{
	snprintf(out, len, "%s/containers/%s/%d", w->dir, name, attempt);
}

void ctr_runtime_id(const struct pod_worker *w, const char *name, int attempt, char *out,
		    size_t len)
{
	snprintf(out, len, "%s-%s-%d", w->uid, name, attempt);
}

int node_run(char *const *argv, int timeout_ms, char *out, size_t out_len)
{
	struct mk_buf o = MK_BUF_INIT, e = MK_BUF_INIT;
	char why[256];
	int status = 0;

	if (out_len > 0)
		out[0] = '\0';
	int rv = mk_proc_run(argv, environ, "", 0, timeout_ms, &o, out_len, &e, out_len, &status,
			     why, sizeof why);
	/* Callers show what the program said: its stdout, then its stderr. */
	if (out_len > 0) {
		snprintf(out, out_len, "%.*s%.*s", (int)o.len, o.data ? (char *)o.data : "",
			 (int)e.len, e.data ? (char *)e.data : "");
	}
	mk_buf_free(&o);
	mk_buf_free(&e);
	if (rv != MK_OK)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static json_t *load_json(const char *dir, const char *file)
{
	char path[PATH_MAX + 64];

	snprintf(path, sizeof path, "%s/%s", dir, file);
	return json_load_file(path, 0, NULL);
}

/* Fills e from an attempt's exit.json and state.json; false if it has not
 * ended. */
static bool load_end(const char *dir, struct ctr_end *e)
{
	json_t *x = load_json(dir, "exit.json");
	json_t *s = load_json(dir, "state.json");

	memset(e, 0, sizeof *e);
	if (x == NULL) {
		json_decref(s);
		return false;
	}
	e->exit_code = (int)ji(x, "exitCode", 0);
	e->signal = (int)ji(x, "signal", 0);
	const char *reason = js(x, "reason");
	snprintf(e->reason, sizeof e->reason, "%s",
		 reason ? reason : e->exit_code == 0 ? "Completed" : "Error");
	snprintf(e->message, sizeof e->message, "%s", js(x, "message") ? js(x, "message") : "");
	snprintf(e->finished_at, sizeof e->finished_at, "%.19sZ",
		 js(x, "finishedAt") ? js(x, "finishedAt") : "");
	snprintf(e->started_at, sizeof e->started_at, "%s",
		 js(s, "startedAt") ? js(s, "startedAt") : e->finished_at);
	snprintf(e->id, sizeof e->id, "%s", js(s, "id") ? js(s, "id") : "");
	json_decref(x);
	json_decref(s);
	return true;
}

/* The shim with that pid is alive and is the one for id: pid numbers get
 * reused, so the command line must match too. */
static bool shim_alive(pid_t pid, const char *id)
{
	char path[64], cmd[8192];

	snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t n = read(fd, cmd, sizeof cmd - 1);
	close(fd);
	if (n <= 0)
		return false;
	bool saw_shim = false, saw_id = false;
	for (ssize_t i = 0; i < n; i += (ssize_t)strlen(cmd + i) + 1) {
		cmd[n] = '\0';
		if (strstr(cmd + i, "mk-shim") != NULL)
			saw_shim = true;
		if (strcmp(cmd + i, id) == 0)
			saw_id = true;
	}
	return saw_shim && saw_id;
}

int ctr_load(struct pod_worker *w, struct ctr *c)
{
	char base[PATH_MAX], dir[PATH_MAX];
	int highest = -1;

	snprintf(base, sizeof base, "%s/containers/%s", w->dir, c->name);
	DIR *d = opendir(base);
	if (d == NULL)
		return MK_ENOTFOUND;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		char *end;
		long v = strtol(de->d_name, &end, 10);
		if (de->d_name[0] != '.' && *end == '\0' && v > highest)
			highest = (int)v;
	}
	closedir(d);
	if (highest < 0)
		return MK_ENOTFOUND;
	c->attempt = highest;
	ctr_dir(w, c->name, highest, dir, sizeof dir);
	ctr_runtime_id(w, c->name, highest, c->id, sizeof c->id);
	if (highest > 0) {
		char prev[PATH_MAX];
		ctr_dir(w, c->name, highest - 1, prev, sizeof prev);
		c->has_last = load_end(prev, &c->last);
	}
	json_t *s = load_json(dir, "state.json");
	if (s != NULL) {
		snprintf(c->started_at, sizeof c->started_at, "%s", js(s, "startedAt"));
		snprintf(c->image, sizeof c->image, "%s", js(s, "image") ? js(s, "image") : "");
		snprintf(c->image_id, sizeof c->image_id, "%s",
			 js(s, "imageID") ? js(s, "imageID") : "");
	}
	if (load_end(dir, &c->end)) {
		c->phase = CTR_EXITED;
	} else if (s != NULL && shim_alive((pid_t)ji(s, "shimPid", -1), c->id)) {
		c->shim_pid = (pid_t)ji(s, "shimPid", -1);
		c->pidfd = (int)syscall(SYS_pidfd_open, c->shim_pid, 0);
		c->phase = CTR_RUNNING;
		c->running_since_ms = mk_monotonic_ms();
	} else {
		/* Started but no shim and no exit: mkd or the shim died at
		 * the wrong moment.  Make sure nothing runs, and say so. */
		char *kill_argv[] = { (char *)w->agent->cfg.runtime, "--root",
				      w->agent->runc_root, "delete", "--force", c->id, NULL };
		node_run(kill_argv, 10000, NULL, 0);
		c->phase = CTR_EXITED;
		c->end.exit_code = 255;
		snprintf(c->end.reason, sizeof c->end.reason, "Error");
		snprintf(c->end.message, sizeof c->end.message,
			 "the container's supervisor (mk-shim) ended without its exit status");
		node_rfc3339(c->end.finished_at, sizeof c->end.finished_at);
		snprintf(c->end.started_at, sizeof c->end.started_at, "%s",
			 c->started_at[0] ? c->started_at : c->end.finished_at);
		snprintf(c->end.id, sizeof c->end.id, "%s", c->id);
	}
	json_decref(s);
	return MK_OK;
}

void ctr_remove_attempt(struct pod_worker *w, const char *name, int attempt)
{
	char dir[PATH_MAX], id[160];

	if (attempt < 0)
		return;
	ctr_dir(w, name, attempt, dir, sizeof dir);
	ctr_runtime_id(w, name, attempt, id, sizeof id);
	struct stat st;
	if (stat(dir, &st) != 0)
		return;
	char *del[] = { (char *)w->agent->cfg.runtime, "--root", w->agent->runc_root, "delete",
			"--force", id, NULL };
	node_run(del, 10000, NULL, 0);
	char rootfs[PATH_MAX + 16];
	snprintf(rootfs, sizeof rootfs, "%s/rootfs", dir);
	umount2(rootfs, MNT_DETACH);
	image_release(w->agent->images, id);
	mk_remove_tree(dir);
}
