/*
 * One container attempt: image, root filesystem, OCI bundle, start through
 * mk-shim, exit, stop.
 */
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
#include <unistd.h>

#include "../base/err.h"
#include "../base/fs.h"
#include "../base/log.h"
#include "../image/image.h"
#include "node_internal.h"

#define SHIM_START_TIMEOUT_MS 60000

/* The image per imagePullPolicy: local if allowed, else pulled.  Sets the
 * waiting reason (ErrImagePull, ErrImageNeverPull) on failure. */
static int ensure_image(struct pod_worker *w, struct ctr *c, struct image_info **out,
			char *errmsg, size_t len)
{
	struct node_agent *a = w->agent;
	const char *image = js(c->spec, "image");
	const char *policy = js(c->spec, "imagePullPolicy");
	char fieldpath[300], err[1024];
	int rv;

	snprintf(fieldpath, sizeof fieldpath, "spec.%s{%s}", c->init ? "initContainers" : "containers",
		 c->name);
	if (image == NULL || image[0] == '\0') {
		snprintf(errmsg, len, "no image given");
		snprintf(c->waiting_reason, sizeof c->waiting_reason, "InvalidImageName");
		return MK_EINVAL;
	}
	bool always = policy != NULL && strcmp(policy, "Always") == 0;
	bool never = policy != NULL && strcmp(policy, "Never") == 0;
	if (!always) {
		rv = image_resolve(a->images, image, out, err, sizeof err);
		if (rv == MK_OK) {
			pod_event(w, "Normal", "Pulled", fieldpath,
				  "Container image \"%s\" already present on machine", image);
			return MK_OK;
		}
		if (never) {
			snprintf(c->waiting_reason, sizeof c->waiting_reason, "ErrImageNeverPull");
			snprintf(errmsg, len,
				 "Container image \"%s\" is not present with pull policy of Never",
				 image);
			pod_event(w, "Warning", "ErrImageNeverPull", fieldpath, "%s", errmsg);
			return MK_ENOTFOUND;
		}
	}
	pod_event(w, "Normal", "Pulling", fieldpath, "Pulling image \"%s\"", image);
	int64_t t0 = mk_monotonic_ms();
	struct image_pull_opts opts = { 0 };
	rv = image_pull(a->images, image, &opts, out, err, sizeof err);
	if (rv != MK_OK) {
		snprintf(c->waiting_reason, sizeof c->waiting_reason, "ErrImagePull");
		snprintf(errmsg, len, "%s", err);
		pod_event(w, "Warning", "Failed", fieldpath, "Failed to pull image \"%s\": %s",
			  image, err);
		pod_event(w, "Warning", "Failed", fieldpath, "Error: ErrImagePull");
		return rv;
	}
	pod_event(w, "Normal", "Pulled", fieldpath, "Successfully pulled image \"%s\" in %.3fs",
		  image, (double)(mk_monotonic_ms() - t0) / 1000.0);
	return MK_OK;
}

static int mount_rootfs(const struct image_info *img, const char *dir, char *rootfs, size_t rlen,
			char *errmsg, size_t len)
{
	char upper[PATH_MAX], work[PATH_MAX], opts[4096];
	size_t n = 0;

	snprintf(rootfs, rlen, "%s/rootfs", dir);
	snprintf(upper, sizeof upper, "%s/upper", dir);
	snprintf(work, sizeof work, "%s/work", dir);
	if (mk_mkdir_p(rootfs, 0755) || mk_mkdir_p(upper, 0755) || mk_mkdir_p(work, 0700)) {
		snprintf(errmsg, len, "cannot create %s: %s", dir, strerror(errno));
		return MK_EIO;
	}
	n += (size_t)snprintf(opts + n, sizeof opts - n, "lowerdir=");
	for (size_t i = 0; i < img->n_layers && n < sizeof opts; i++)
		n += (size_t)snprintf(opts + n, sizeof opts - n, "%s%s", i ? ":" : "",
				      img->layer_dirs[i]);
	if (n < sizeof opts)
		n += (size_t)snprintf(opts + n, sizeof opts - n, ",upperdir=%s,workdir=%s", upper,
				      work);
	if (n >= sizeof opts) {
		snprintf(errmsg, len, "the image has too many layers for one overlay mount (%zu)",
			 img->n_layers);
		return MK_ETOOBIG;
	}
	if (img->n_layers == 0) {
		snprintf(errmsg, len, "the image has no layers");
		return MK_EINVAL;
	}
	if (mount("overlay", rootfs, "overlay", 0, opts) != 0 && errno != EBUSY) {
		snprintf(errmsg, len, "cannot mount the container's root filesystem: %s",
			 strerror(errno));
		return MK_EIO;
	}
	return MK_OK;
}

static int write_json(const char *dir, const char *file, json_t *j)
{
	char path[PATH_MAX + 64], tmp[PATH_MAX + 80];

	snprintf(path, sizeof path, "%s/%s", dir, file);
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	if (json_dump_file(j, tmp, JSON_COMPACT) != 0)
		return -1;
	return rename(tmp, path);
}

/* Starts mk-shim and reads its one-line verdict. */
static int spawn_shim(struct pod_worker *w, struct ctr *c, const char *dir, const char *log,
		      char *errmsg, size_t len)
{
	struct node_agent *a = w->agent;
	char exit_file[PATH_MAX + 16];
	int p[2];

	snprintf(exit_file, sizeof exit_file, "%s/exit.json", dir);
	if (pipe2(p, O_CLOEXEC) != 0) {
		snprintf(errmsg, len, "cannot make a pipe: %s", strerror(errno));
		return MK_EIO;
	}
	pid_t pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		snprintf(errmsg, len, "cannot fork: %s", strerror(errno));
		return MK_EIO;
	}
	if (pid == 0) {
		/* Its own diagnostics go next to the bundle; everything else
		 * the shim inherits from mkd is closed. */
		char shim_log[PATH_MAX + 16];
		snprintf(shim_log, sizeof shim_log, "%s/shim.log", dir);
		int devnull = open("/dev/null", O_RDWR);
		int lf = open(shim_log, O_WRONLY | O_CREAT | O_APPEND, 0600);
		dup2(devnull, 0);
		dup2(devnull, 1);
		dup2(lf >= 0 ? lf : devnull, 2);
		dup2(p[1], 3);
		syscall(SYS_close_range, 4, ~0U, 0);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		execl(a->cfg.shim, a->cfg.shim, "--runtime", a->cfg.runtime, "--root", a->runc_root,
		      "--id", c->id, "--bundle", dir, "--log", log, "--exit-file", exit_file,
		      "--sync-fd", "3", (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	char line[2048];
	size_t n = 0;
	int64_t deadline = mk_monotonic_ms() + SHIM_START_TIMEOUT_MS;
	while (n < sizeof line - 1) {
		struct pollfd pf = { .fd = p[0], .events = POLLIN };
		int64_t left = deadline - mk_monotonic_ms();
		if (left <= 0 || poll(&pf, 1, (int)left) <= 0)
			break;
		ssize_t k = read(p[0], line + n, sizeof line - 1 - n);
		if (k <= 0)
			break;
		n += (size_t)k;
		if (memchr(line, '\n', n) != NULL)
			break;
	}
	close(p[0]);
	line[n] = '\0';
	line[strcspn(line, "\n")] = '\0';
	if (strncmp(line, "ok ", 3) == 0) {
		c->shim_pid = pid;
		c->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
		return MK_OK;
	}
	int st;
	waitpid(pid, &st, 0);
	if (strncmp(line, "error ", 6) == 0)
		snprintf(errmsg, len, "%s", line + 6);
	else
		snprintf(errmsg, len, "mk-shim (%s) did not start the container", a->cfg.shim);
	return MK_EIO;
}

/* A start that failed is an attempt that ended at once, as kubelet reports
 * it: terminated, reason StartError, exit code 128. */
static void start_failed(struct pod_worker *w, struct ctr *c, const char *dir, const char *msg)
{
	c->phase = CTR_EXITED;
	memset(&c->end, 0, sizeof c->end);
	c->end.exit_code = 128;
	snprintf(c->end.reason, sizeof c->end.reason, "StartError");
	snprintf(c->end.message, sizeof c->end.message, "%s", msg);
	node_rfc3339(c->end.finished_at, sizeof c->end.finished_at);
	snprintf(c->end.started_at, sizeof c->end.started_at, "%s", c->end.finished_at);
	snprintf(c->end.id, sizeof c->end.id, "%s", c->id);
	json_t *x = json_pack("{s:i, s:i, s:s, s:s, s:s}", "exitCode", 128, "signal", 0,
			      "reason", "StartError", "message", msg, "finishedAt",
			      c->end.finished_at);
	write_json(dir, "exit.json", x);
	json_decref(x);
	char rootfs[PATH_MAX + 16];
	snprintf(rootfs, sizeof rootfs, "%s/rootfs", dir);
	umount2(rootfs, MNT_DETACH);
}

int ctr_start(struct pod_worker *w, struct ctr *c, char *errmsg, size_t len)
{
	struct node_agent *a = w->agent;
	struct image_info *img = NULL;
	char dir[PATH_MAX], rootfs[PATH_MAX], log[PATH_MAX + 512], logdir[PATH_MAX + 256];
	char fieldpath[300];
	json_t *spec = NULL;
	int rv;

	snprintf(fieldpath, sizeof fieldpath, "spec.%s{%s}", c->init ? "initContainers" : "containers",
		 c->name);
	c->waiting_reason[0] = c->waiting_message[0] = '\0';
	int64_t t0 = mk_monotonic_ms();
	rv = ensure_image(w, c, &img, errmsg, len);
	if (rv != MK_OK) {
		snprintf(c->waiting_message, sizeof c->waiting_message, "%s", errmsg);
		c->pull_failed = true;
		return rv;
	}
	c->pull_failed = false;
	snprintf(c->image, sizeof c->image, "%s", js(c->spec, "image"));
	snprintf(c->image_id, sizeof c->image_id, "%s", img->repo_digest ? img->repo_digest : img->id);

	ctr_dir(w, c->name, c->attempt, dir, sizeof dir);
	ctr_runtime_id(w, c->name, c->attempt, c->id, sizeof c->id);
	/* A leftover of an attempt with this number (a crash mid-start)
	 * would make the runtime refuse the id. */
	ctr_remove_attempt(w, c->name, c->attempt);
	/* Held before its layers are used, so that `mk images rm` cannot
	 * take them away between here and the container's start. */
	rv = image_hold(a->images, img->id, c->id, errmsg, len);
	if (rv != MK_OK)
		goto out;
	if (mk_mkdir_p(dir, 0700) != 0) {
		snprintf(errmsg, len, "cannot create %s: %s", dir, strerror(errno));
		rv = MK_EIO;
		goto out;
	}
	rv = mount_rootfs(img, dir, rootfs, sizeof rootfs, errmsg, len);
	if (rv != MK_OK) {
		start_failed(w, c, dir, errmsg);
		goto out;
	}
	spec = oci_spec_build(w, c, rootfs, img->user, img->env, img->n_env, img->entrypoint,
			      img->n_entrypoint, img->cmd, img->n_cmd, img->working_dir, errmsg, len);
	if (spec == NULL) {
		snprintf(c->waiting_reason, sizeof c->waiting_reason, "CreateContainerConfigError");
		snprintf(c->waiting_message, sizeof c->waiting_message, "%s", errmsg);
		pod_event(w, "Warning", "Failed", fieldpath, "Error: %s", errmsg);
		umount2(rootfs, MNT_DETACH);
		rv = MK_EINVAL;
		goto out;
	}
	if (write_json(dir, "config.json", spec) != 0) {
		snprintf(errmsg, len, "cannot write %s/config.json: %s", dir, strerror(errno));
		rv = MK_EIO;
		goto out;
	}
	snprintf(logdir, sizeof logdir, "%s/%s_%s_%s/%s", a->logs_dir, w->ns, w->name, w->uid,
		 c->name);
	mk_mkdir_p(logdir, 0755);
	snprintf(log, sizeof log, "%s/%d.log", logdir, c->attempt);
	pod_event(w, "Normal", "Created", fieldpath, "Created container %s", c->name);
	int64_t t1 = mk_monotonic_ms();
	rv = spawn_shim(w, c, dir, log, errmsg, len);
	if (rv != MK_OK) {
		start_failed(w, c, dir, errmsg);
		pod_event(w, "Warning", "Failed", fieldpath, "Error: %s", errmsg);
		goto out;
	}
	node_rfc3339(c->started_at, sizeof c->started_at);
	json_t *state = json_pack("{s:s, s:i, s:s, s:i, s:s, s:s}", "id", c->id, "attempt",
				  c->attempt, "startedAt", c->started_at, "shimPid",
				  (int)c->shim_pid, "image", c->image, "imageID", c->image_id);
	write_json(dir, "state.json", state);
	json_decref(state);
	c->phase = CTR_RUNNING;
	c->running_since_ms = mk_monotonic_ms();
	mk_debug(NODE_LOG, "pod %s/%s: container %s started in %lld ms (runtime %lld ms)", w->ns,
		 w->name, c->name, (long long)(c->running_since_ms - t0),
		 (long long)(c->running_since_ms - t1));
	probes_reset(c);
	pod_event(w, "Normal", "Started", fieldpath, "Started container %s", c->name);
out:
	json_decref(spec);
	image_info_free(img);
	return rv;
}

/* Whether the cgroup saw the OOM killer: the memory cgroup (v1) counts it
 * in memory.oom_control. */
static bool oom_killed(const struct pod_worker *w, const struct ctr *c)
{
	char path[PATH_MAX], line[128];

	snprintf(path, sizeof path, "/sys/fs/cgroup/memory/mk/pod%s/%s/memory.oom_control",
		 w->uid, c->id);
	FILE *f = fopen(path, "r");
	bool oom = false;
	if (f == NULL)
		return false;
	while (fgets(line, sizeof line, f) != NULL) {
		long n;
		if (sscanf(line, "oom_kill %ld", &n) == 1 && n > 0)
			oom = true;
	}
	fclose(f);
	return oom;
}

void ctr_refresh(struct pod_worker *w, struct ctr *c)
{
	char dir[PATH_MAX];

	if (c->phase != CTR_RUNNING)
		return;
	struct pollfd pf = { .fd = c->pidfd, .events = POLLIN };
	bool shim_gone = c->pidfd < 0 || poll(&pf, 1, 0) > 0;
	if (!shim_gone)
		return;
	ctr_dir(w, c->name, c->attempt, dir, sizeof dir);
	waitpid(c->shim_pid, NULL, WNOHANG);
	if (c->pidfd >= 0)
		close(c->pidfd);
	c->pidfd = -1;
	json_t *x = NULL;
	char path[PATH_MAX + 16];
	snprintf(path, sizeof path, "%s/exit.json", dir);
	x = json_load_file(path, 0, NULL);
	memset(&c->end, 0, sizeof c->end);
	if (x != NULL) {
		c->end.exit_code = (int)ji(x, "exitCode", 0);
		c->end.signal = (int)ji(x, "signal", 0);
		snprintf(c->end.finished_at, sizeof c->end.finished_at, "%.19sZ",
			 js(x, "finishedAt") ? js(x, "finishedAt") : "");
		snprintf(c->end.reason, sizeof c->end.reason, "%s",
			 c->end.exit_code == 0 ? "Completed" : "Error");
		if (c->end.signal == SIGKILL && oom_killed(w, c))
			snprintf(c->end.reason, sizeof c->end.reason, "OOMKilled");
	} else {
		c->end.exit_code = 255;
		snprintf(c->end.reason, sizeof c->end.reason, "Error");
		snprintf(c->end.message, sizeof c->end.message,
			 "the container's supervisor (mk-shim) ended without its exit status");
		node_rfc3339(c->end.finished_at, sizeof c->end.finished_at);
	}
	json_decref(x);
	snprintf(c->end.started_at, sizeof c->end.started_at, "%s", c->started_at);
	snprintf(c->end.id, sizeof c->end.id, "%s", c->id);
	/* terminationMessagePath: what the container wrote there. */
	char tl[PATH_MAX + 32];
	snprintf(tl, sizeof tl, "%s/termination-log", dir);
	FILE *f = fopen(tl, "r");
	if (f != NULL) {
		size_t n = fread(c->end.message, 1, sizeof c->end.message - 1, f);
		c->end.message[n] = '\0';
		fclose(f);
	}
	c->phase = CTR_EXITED;
	/* The runtime's record and the mount go now; the directory stays for
	 * lastState and the logs. */
	char *del[] = { (char *)w->agent->cfg.runtime, "--root", w->agent->runc_root, "delete",
			"--force", c->id, NULL };
	node_run(del, 10000, NULL, 0);
	char rootfs[PATH_MAX + 16];
	snprintf(rootfs, sizeof rootfs, "%s/rootfs", dir);
	umount2(rootfs, MNT_DETACH);
}

static bool wait_gone(struct ctr *c, int64_t ms)
{
	struct pollfd pf = { .fd = c->pidfd, .events = POLLIN };

	if (c->pidfd < 0)
		return true;
	return poll(&pf, 1, (int)ms) > 0;
}

void ctr_stop(struct pod_worker *w, struct ctr *c, int grace_s, const char *why)
{
	struct node_agent *a = w->agent;
	char fieldpath[300];

	if (c->phase != CTR_RUNNING)
		return;
	snprintf(fieldpath, sizeof fieldpath, "spec.%s{%s}", c->init ? "initContainers" : "containers",
		 c->name);
	pod_event(w, "Normal", "Killing", fieldpath, "%s", why);
	if (grace_s > 0) {
		char *term[] = { (char *)a->cfg.runtime, "--root", a->runc_root, "kill", c->id,
				 "TERM", NULL };
		node_run(term, 10000, NULL, 0);
		wait_gone(c, (int64_t)grace_s * 1000);
	}
	if (!wait_gone(c, 0)) {
		char *kill9[] = { (char *)a->cfg.runtime, "--root", a->runc_root, "kill", "--all",
				  c->id, "KILL", NULL };
		node_run(kill9, 10000, NULL, 0);
		wait_gone(c, 10000);
	}
	ctr_refresh(w, c);
}
