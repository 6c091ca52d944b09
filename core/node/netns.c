/*
 * Network namespaces pinned by bind mounts (see netns.h for the contract
 * and for why the parent directory may be made a shared mount).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <linux/nsfs.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "../base/err.h"
#include "../base/fs.h"
#include "netns.h"

/* Serialises "is the parent shared? if not, bind it onto itself" and its
 * undo: two pod workers doing it at once would stack two self mounts, and
 * a remove racing a create in the same directory could detach the parent
 * under a namespace being mounted.  Process-wide because mounts are. */
static pthread_mutex_t propagation_lock = PTHREAD_MUTEX_INITIALIZER;

/* ---- /proc/self/mountinfo ---- */

struct mnt {
	int id, parent;
	unsigned major, minor;
	bool shared;
	char root[PATH_MAX], point[PATH_MAX];
};

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape(char *s)
{
	char *w = s;
	for (char *r = s; *r; r++) {
		if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' &&
		    r[3] >= '0' && r[3] <= '7') {
			*w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
			r += 3;
		} else {
			*w++ = *r;
		}
	}
	*w = '\0';
}

static bool parse_mountinfo(char *line, struct mnt *m)
{
	int off = 0;
	if (sscanf(line, "%d %d %u:%u %4095s %4095s %*s%n", &m->id, &m->parent, &m->major,
		   &m->minor, m->root, m->point, &off) != 6 || off == 0)
		return false;
	unescape(m->root);
	unescape(m->point);
	m->shared = false;
	/* Optional fields ("shared:N", "master:N", ...) end at " - ". */
	for (char *save, *tok = strtok_r(line + off, " \n", &save); tok != NULL;
	     tok = strtok_r(NULL, " \n", &save)) {
		if (strcmp(tok, "-") == 0)
			break;
		if (strncmp(tok, "shared:", 7) == 0)
			m->shared = true;
	}
	return true;
}

/* Calls fn for every mount, in the kernel's order (a later entry on the
 * same mount point is on top).  fn returns false to stop.  -1 if the
 * table cannot be read. */
static int mountinfo_each(bool (*fn)(const struct mnt *, void *), void *arg)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	if (f == NULL)
		return -1;
	struct mnt *m = malloc(sizeof *m);
	char *line = NULL;
	size_t cap = 0;
	int rv = m != NULL ? 0 : -1;
	while (rv == 0 && getline(&line, &cap, f) > 0) {
		if (parse_mountinfo(line, m) && !fn(m, arg))
			break;
	}
	free(line);
	free(m);
	fclose(f);
	return rv;
}

/* Is `dir` at or below mount point `point`? */
static size_t covers(const char *point, const char *dir)
{
	size_t n = strlen(point);
	if (strcmp(point, "/") == 0)
		return 1;
	if (strncmp(point, dir, n) == 0 && (dir[n] == '\0' || dir[n] == '/'))
		return n;
	return 0;
}

struct find {
	const char *dir;
	size_t best_len;
	int id, parent;         /* of the holder */
	bool found, shared, is_point, has_child, self_bind;
	unsigned major, minor;
	char root[PATH_MAX];
};

/* The mount that holds dir: longest covering mount point, topmost. */
static bool find_holder(const struct mnt *m, void *arg)
{
	struct find *f = arg;
	size_t n = covers(m->point, f->dir);
	if (n > 0 && n >= f->best_len) {
		f->best_len = n;
		f->found = true;
		f->shared = m->shared;
		f->id = m->id;
		f->parent = m->parent;
		f->major = m->major;
		f->minor = m->minor;
		snprintf(f->root, sizeof f->root, "%s", m->root);
		f->is_point = strcmp(m->point, f->dir) == 0;
	}
	return true;
}

/* Second pass for netns_remove: is the mount on dir (f->id) a bind of dir
 * onto itself (same device, root = parent's root + dir's place in it), and
 * does anything remain mounted below it? */
static bool inspect_parent(const struct mnt *m, void *arg)
{
	struct find *f = arg;
	if (m->parent == f->id)
		f->has_child = true;
	if (m->id == f->parent) {
		const char *rel = strcmp(m->point, "/") == 0 ? f->dir : f->dir + strlen(m->point);
		char want[PATH_MAX];
		if (strcmp(m->root, "/") == 0)
			snprintf(want, sizeof want, "%s", rel);
		else
			snprintf(want, sizeof want, "%s%s", m->root, rel);
		f->self_bind = m->major == f->major && m->minor == f->minor &&
			       strcmp(want, f->root) == 0;
	}
	return true;
}

/* ---- helpers ---- */

static int split_parent(const char *path, char *parent, size_t plen, char *errmsg,
			size_t len)
{
	if (path == NULL || path[0] != '/' || strlen(path) >= PATH_MAX - 1) {
		snprintf(errmsg, len, "netns: path must be absolute: \"%s\"", path ? path : "");
		return MK_EINVAL;
	}
	snprintf(parent, plen, "%s", path);
	char *slash = strrchr(parent, '/');
	if (slash[1] == '\0' || strcmp(slash + 1, ".") == 0 || strcmp(slash + 1, "..") == 0) {
		snprintf(errmsg, len, "netns: path must name a file: \"%s\"", path);
		return MK_EINVAL;
	}
	if (slash == parent)
		slash++; /* "/x": parent is "/" */
	*slash = '\0';
	return MK_OK;
}

/* Makes sure the mount holding dir (a real path) propagates: see netns.h. */
static int make_shared(const char *dir, char *errmsg, size_t len)
{
	struct find f = {.dir = dir};
	if (mountinfo_each(find_holder, &f) != 0 || !f.found) {
		snprintf(errmsg, len, "netns: cannot read /proc/self/mountinfo");
		return MK_EIO;
	}
	if (f.shared)
		return MK_OK;
	if (!f.is_point && mount(dir, dir, NULL, MS_BIND | MS_REC, NULL) != 0) {
		snprintf(errmsg, len, "netns: cannot bind mount %s onto itself: %s", dir,
			 strerror(errno));
		return MK_EIO;
	}
	if (mount(NULL, dir, NULL, MS_SHARED, NULL) != 0) {
		int e = errno;
		if (!f.is_point)
			umount2(dir, MNT_DETACH);
		snprintf(errmsg, len, "netns: cannot make %s a shared mount: %s", dir, strerror(e));
		return MK_EIO;
	}
	return MK_OK;
}

/* Undoes make_shared's self bind once nothing is mounted below it. */
static void unshare_parent(const char *dir)
{
	struct find f = {.dir = dir};
	if (mountinfo_each(find_holder, &f) != 0 || !f.found || !f.is_point)
		return;
	if (mountinfo_each(inspect_parent, &f) != 0 || f.has_child || !f.self_bind)
		return;
	umount2(dir, MNT_DETACH | UMOUNT_NOFOLLOW);
}

/* ---- the namespace ---- */

struct ns_job {
	const char *path;
	const char *step;
	int err;
};

/* Runs in its own thread: unshare() moves only this thread into the new
 * namespace, and the thread ends right after pinning it. */
static void *ns_thread(void *arg)
{
	struct ns_job *j = arg;
	char self[64];
	if (unshare(CLONE_NEWNET) != 0) {
		j->err = errno;
		j->step = "unshare(CLONE_NEWNET)";
		return NULL;
	}
	snprintf(self, sizeof self, "/proc/self/task/%d/ns/net", (int)gettid());
	if (mount(self, j->path, NULL, MS_BIND, NULL) != 0) {
		j->err = errno;
		j->step = "bind mount";
	}
	return NULL;
}

int netns_create(const char *path, char *errmsg, size_t len)
{
	char parent[PATH_MAX], real[PATH_MAX];
	struct ns_job job = {.path = path};
	pthread_attr_t attr;
	pthread_t t;
	int rv, fd;

	rv = split_parent(path, parent, sizeof parent, errmsg, len);
	if (rv != MK_OK)
		return rv;
	if (mk_mkdir_p(parent, 0700) != 0) {
		snprintf(errmsg, len, "netns: cannot create %s: %s", parent, strerror(errno));
		return MK_EIO;
	}
	if (realpath(parent, real) == NULL) {
		snprintf(errmsg, len, "netns: cannot resolve %s: %s", parent, strerror(errno));
		return MK_EIO;
	}
	pthread_mutex_lock(&propagation_lock);
	fd = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0444);
	if (fd < 0) {
		rv = errno == EEXIST ? MK_EEXISTS : MK_EIO;
		snprintf(errmsg, len, "netns: cannot create %s: %s", path, strerror(errno));
		goto out;
	}
	close(fd);
	rv = make_shared(real, errmsg, len);
	if (rv != MK_OK)
		goto err_after_file;
	pthread_attr_init(&attr);
	rv = pthread_create(&t, &attr, ns_thread, &job);
	pthread_attr_destroy(&attr);
	if (rv != 0) {
		snprintf(errmsg, len, "netns: cannot start a thread: %s", strerror(rv));
		rv = MK_EIO;
		goto err_after_shared;
	}
	pthread_join(t, NULL);
	if (job.err != 0) {
		snprintf(errmsg, len, "netns: %s for %s: %s", job.step, path, strerror(job.err));
		rv = MK_EIO;
		goto err_after_shared;
	}
	rv = MK_OK;
	goto out;

err_after_shared:
	unlink(path);
	unshare_parent(real);
	goto out;
err_after_file:
	unlink(path);
out:
	pthread_mutex_unlock(&propagation_lock);
	return rv;
}

int netns_remove(const char *path, char *errmsg, size_t len)
{
	char parent[PATH_MAX], real[PATH_MAX];
	int rv = split_parent(path, parent, sizeof parent, errmsg, len);
	if (rv != MK_OK)
		return rv;
	pthread_mutex_lock(&propagation_lock);
	/* Several mounts may be stacked on the file (a crash between mount and
	 * bookkeeping, or an outside `mount --bind`): peel them all. */
	for (int i = 0; i < 16; i++) {
		if (umount2(path, MNT_DETACH | UMOUNT_NOFOLLOW) == 0)
			continue;
		if (errno == EINVAL || errno == ENOENT || errno == ENOTDIR)
			break;
		snprintf(errmsg, len, "netns: cannot unmount %s: %s", path, strerror(errno));
		rv = MK_EIO;
		goto out;
	}
	if (unlink(path) != 0 && errno != ENOENT && errno != ENOTDIR) {
		snprintf(errmsg, len, "netns: cannot remove %s: %s", path, strerror(errno));
		rv = MK_EIO;
		goto out;
	}
	if (realpath(parent, real) != NULL)
		unshare_parent(real);
out:
	pthread_mutex_unlock(&propagation_lock);
	return rv;
}

int netns_exists(const char *path)
{
	struct statfs sfs;
	if (path == NULL || statfs(path, &sfs) != 0 || sfs.f_type != NSFS_MAGIC)
		return 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	int type = ioctl(fd, NS_GET_NSTYPE);
	int e = errno;
	close(fd);
	/* Kernels before 4.11 lack NS_GET_NSTYPE: an nsfs mount is all we
	 * can tell there. */
	if (type < 0)
		return e == ENOTTY ? 1 : 0;
	return type == CLONE_NEWNET;
}
