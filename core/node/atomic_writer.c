/*
 * kubelet's AtomicWriter layout for projected volumes (see atomic_writer.h).
 * Every operation is relative to a descriptor of the volume directory, so
 * a symlink planted in the payload can never redirect a write elsewhere.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../base/err.h"
#include "../base/fs.h"
#include "atomic_writer.h"

#define DATA_LINK "..data"
#define DATA_TMP "..data_tmp"
/* How long a replaced payload stays for readers already inside it. */
#define RETIRE_GRACE_S 5

struct item {
	char *rel;                     /* normalised: "a/b", no "." or "" names */
	const struct atomic_file *f;
};

struct job {
	int dfd;                       /* the volume directory */
	const char *dir;
	struct item *items;
	size_t n;
	uid_t uid;
	gid_t gid;
	char *errmsg;
	size_t len;
};

/* ---- paths ---- */

static int normalise(const char *in, char **out, char *errmsg, size_t len)
{
	const char *why = NULL;
	char *buf = NULL;
	size_t n = in ? strlen(in) : 0, w = 0;

	if (n == 0)
		why = "is empty";
	else if (in[0] == '/')
		why = "must be relative";
	else if (n >= PATH_MAX)
		why = "is too long";
	else if ((buf = malloc(n + 1)) == NULL)
		return MK_ENOMEM;
	for (const char *p = in; why == NULL && *p;) {
		size_t k = strcspn(p, "/");
		if (k == 2 && p[0] == '.' && p[1] == '.')
			why = "must not contain \"..\"";
		else if (k > NAME_MAX)
			why = "has a name longer than 255 bytes";
		else if (k > 0 && !(k == 1 && p[0] == '.')) {
			if (w > 0)
				buf[w++] = '/';
			memcpy(buf + w, p, k);
			w += k;
		}
		p += k + (p[k] == '/');
	}
	if (why == NULL && w == 0)
		why = "names no file";
	if (why == NULL && buf[0] == '.' && buf[1] == '.')
		why = "must not start with \"..\"";
	if (why != NULL) {
		snprintf(errmsg, len, "volume file path \"%.200s\" %s", in ? in : "", why);
		free(buf);
		return MK_EINVAL;
	}
	buf[w] = '\0';
	*out = buf;
	return MK_OK;
}

/* strcmp with '/' lowest, so "a/..." sorts right after "a". */
static int path_cmp(const void *x, const void *y)
{
	const unsigned char *a = (const void *)((const struct item *)x)->rel;
	const unsigned char *b = (const void *)((const struct item *)y)->rel;
	for (;; a++, b++) {
		int ca = *a == '/' ? 1 : *a, cb = *b == '/' ? 1 : *b;
		if (ca != cb || ca == 0)
			return ca - cb;
	}
}

static int check_conflicts(struct item *it, size_t n, char *errmsg, size_t len)
{
	qsort(it, n, sizeof *it, path_cmp);
	for (size_t i = 1; i < n; i++) {
		size_t k = strlen(it[i - 1].rel);
		if (strcmp(it[i - 1].rel, it[i].rel) == 0) {
			snprintf(errmsg, len, "volume file path \"%.200s\" is given twice", it[i].rel);
			return MK_EINVAL;
		}
		if (strncmp(it[i - 1].rel, it[i].rel, k) == 0 && it[i].rel[k] == '/') {
			snprintf(errmsg, len, "volume file path \"%.200s\" is both a file and the "
				 "directory of \"%.200s\"", it[i - 1].rel, it[i].rel);
			return MK_EINVAL;
		}
	}
	return MK_OK;
}

/* Length of the first name of a normalised path. */
static size_t top_len(const char *rel)
{
	return strcspn(rel, "/");
}

static bool is_top(const struct job *j, const char *name)
{
	size_t k = strlen(name);
	for (size_t i = 0; i < j->n; i++)
		if (top_len(j->items[i].rel) == k && strncmp(j->items[i].rel, name, k) == 0)
			return true;
	return false;
}

static bool link_is(int dfd, const char *name, const char *target)
{
	char buf[PATH_MAX];
	ssize_t r = readlinkat(dfd, name, buf, sizeof buf - 1);
	if (r < 0)
		return false;
	buf[r] = '\0';
	return strcmp(buf, target) == 0;
}

/* A new listing of the volume directory (a dup() would share, and move,
 * one directory position between passes). */
static DIR *list_dir(const struct job *j)
{
	int fd = openat(j->dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (d == NULL && fd >= 0)
		close(fd);
	return d;
}

/* Names at the top of the volume that belong to the writer. */
static bool is_hidden(const char *name)
{
	return name[0] == '.' && name[1] == '.';
}

static int io_error(struct job *j, const char *what, const char *name)
{
	snprintf(j->errmsg, j->len, "%s/%s: cannot %s: %s", j->dir, name, what, strerror(errno));
	return MK_EIO;
}

/* ---- is the payload already there? ---- */

static bool file_matches(const struct job *j, int tfd, const struct item *it)
{
	struct stat st;
	int fd = openat(tfd, it->rel, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return false;
	bool same = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
		    (size_t)st.st_size == it->f->len && (st.st_mode & 07777) == (it->f->mode & 07777) &&
		    (j->uid == (uid_t)-1 || st.st_uid == j->uid) &&
		    (j->gid == (gid_t)-1 || st.st_gid == j->gid);
	const char *want = it->f->data;
	char buf[16384];
	for (size_t off = 0; same && off < it->f->len;) {
		ssize_t r = read(fd, buf, sizeof buf);
		same = r > 0 && (size_t)r <= it->f->len - off && memcmp(buf, want + off, (size_t)r) == 0;
		off += r > 0 ? (size_t)r : 0;
	}
	close(fd);
	return same;
}

/* Regular files under fd, recursively; -1 if anything else is there. */
static long count_files(int fd)
{
	DIR *d = fdopendir(fd);
	struct dirent *de;
	long n = 0;
	if (d == NULL) {
		close(fd);
		return -1;
	}
	while (n >= 0 && (de = readdir(d)) != NULL) {
		struct stat st;
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
			n = -1;
		else if (S_ISREG(st.st_mode))
			n++;
		else if (S_ISDIR(st.st_mode)) {
			int sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			long k = sub >= 0 ? count_files(sub) : -1;
			n = k < 0 ? -1 : n + k;
		} else
			n = -1;
	}
	closedir(d);
	return n;
}

/* The i-th item's top-level name and the symlink target it should have. */
static void top_link(const struct job *j, size_t i, char *name, size_t nlen, char *target,
		     size_t tlen)
{
	snprintf(name, nlen, "%.*s", (int)top_len(j->items[i].rel), j->items[i].rel);
	snprintf(target, tlen, DATA_LINK "/%s", name);
}

/* Our symlinks into ..data whose names left the payload: counted, and
 * removed if `remove` (anything else in the directory is not ours). */
static int stale_links(const struct job *j, bool remove)
{
	DIR *d = list_dir(j);
	struct dirent *de;
	int n = 0;
	while (d != NULL && (de = readdir(d)) != NULL) {
		char target[PATH_MAX];
		if (is_hidden(de->d_name) || is_top(j, de->d_name))
			continue;
		ssize_t r = readlinkat(j->dfd, de->d_name, target, sizeof target - 1);
		target[r > 0 ? r : 0] = '\0';
		if (strncmp(target, DATA_LINK "/", 7) != 0)
			continue;
		n++;
		if (remove)
			unlinkat(j->dfd, de->d_name, 0);
	}
	if (d != NULL)
		closedir(d);
	return n;
}

/* True if ..data names a directory holding exactly the payload, and the
 * top-level symlinks are exactly the payload's. */
static bool up_to_date(const struct job *j, const char *old)
{
	char name[NAME_MAX + 1], target[NAME_MAX + 16];
	if (old[0] == '\0')
		return false;
	int tfd = openat(j->dfd, old, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (tfd < 0)
		return false;
	bool same = true;
	for (size_t i = 0; same && i < j->n; i++)
		same = file_matches(j, tfd, &j->items[i]);
	int cfd = same ? dup(tfd) : -1;
	if (same)
		same = cfd >= 0 && count_files(cfd) == (long)j->n;
	close(tfd);
	for (size_t i = 0; same && i < j->n; i++) {
		top_link(j, i, name, sizeof name, target, sizeof target);
		same = link_is(j->dfd, name, target);
	}
	return same && stale_links(j, false) == 0;
}

/* ---- writing ---- */

static int own(const struct job *j, int fd)
{
	if (j->uid == (uid_t)-1 && j->gid == (gid_t)-1)
		return 0;
	return fchown(fd, j->uid, j->gid);
}

/* Creates the directories above rel inside tfd (0755, owned). */
static int make_parents(struct job *j, int tfd, const char *rel)
{
	char p[PATH_MAX];
	snprintf(p, sizeof p, "%s", rel);
	for (char *s = strchr(p, '/'); s != NULL; s = strchr(s + 1, '/')) {
		*s = '\0';
		if (mkdirat(tfd, p, 0755) == 0) {
			int fd = openat(tfd, p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			int bad = fd < 0 || fchmod(fd, 0755) != 0 || own(j, fd) != 0;
			if (fd >= 0)
				close(fd);
			if (bad)
				return io_error(j, "set up directory", p);
		} else if (errno != EEXIST) {
			return io_error(j, "create directory", p);
		}
		*s = '/';
	}
	return MK_OK;
}

static int write_item(struct job *j, int tfd, const char *tname, const struct item *it)
{
	char shown[PATH_MAX + NAME_MAX + 2];
	int rv = make_parents(j, tfd, it->rel);
	if (rv != MK_OK)
		return rv;
	snprintf(shown, sizeof shown, "%s/%s", tname, it->rel);
	/* 0600 until owned: chown clears set-id bits, so the mode comes last. */
	int fd = openat(tfd, it->rel, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return io_error(j, "create", shown);
	const char *p = it->f->data;
	for (size_t off = 0; off < it->f->len;) {
		ssize_t w = write(fd, p + off, it->f->len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (w == 0)
				errno = EIO;
			close(fd);
			return io_error(j, "write", shown);
		}
		off += (size_t)w;
	}
	if (own(j, fd) != 0 || fchmod(fd, it->f->mode & 07777) != 0) {
		close(fd);
		return io_error(j, "set owner and mode of", shown);
	}
	if (close(fd) != 0)
		return io_error(j, "write", shown);
	return MK_OK;
}

/* A fresh "..<UTC timestamp>" directory; *tfd open on it. */
static int make_ts_dir(struct job *j, char *name, size_t nlen, int *tfd)
{
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	for (long bump = 0;; bump++) {
		char when[32];
		strftime(when, sizeof when, "%Y_%m_%d_%H_%M_%S", &tm);
		snprintf(name, nlen, "..%s.%09ld", when, (ts.tv_nsec + bump) % 1000000000L);
		if (mkdirat(j->dfd, name, 0755) == 0)
			break;
		if (errno != EEXIST || bump > 1000)
			return io_error(j, "create", name);
	}
	*tfd = openat(j->dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (*tfd < 0 || fchmod(*tfd, 0755) != 0 || own(j, *tfd) != 0) {
		int rv = io_error(j, "set up", name);
		if (*tfd >= 0)
			close(*tfd);
		mk_remove_at(j->dfd, name);
		return rv;
	}
	return MK_OK;
}

/* Removes timestamped dirs ..data does not name (retired payloads, crash
 * leftovers) once untouched for RETIRE_GRACE_S, and ..data_tmp.  Why
 * wait: a reader that resolved ..data to the old dir a moment before the
 * swap still has to look its file up in there; removing the dir at once
 * (as kubelet does) makes that lookup fail now and then -- the concurrent
 * reader test caught one ENOENT in about a million reads. */
static bool retired_long_ago(time_t mtime, time_t now)
{
	/* A little in the future is normal (file times may be finer than
	 * the clock read here); an hour means the clock was set back. */
	time_t age = now - mtime;
	return age >= RETIRE_GRACE_S || age < -3600;
}

static void sweep(struct job *j, const char *keep)
{
	DIR *d = list_dir(j);
	struct dirent *de;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	while (d != NULL && (de = readdir(d)) != NULL) {
		const char *s = de->d_name;
		struct stat st;
		if (strcmp(s, DATA_TMP) == 0)
			unlinkat(j->dfd, s, 0);
		else if (s[0] == '.' && s[1] == '.' && s[2] >= '0' && s[2] <= '9' &&
			 strcmp(s, keep) != 0 && fstatat(j->dfd, s, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
			 retired_long_ago(st.st_mtime, ts.tv_sec))
			mk_remove_at(j->dfd, s);
	}
	if (d != NULL)
		closedir(d);
}

/* Points name at target with a symlink, atomically replacing a symlink or
 * file of that name (never a directory). */
static int put_link(struct job *j, const char *name, const char *target)
{
	struct stat st;
	if (link_is(j->dfd, name, target))
		return MK_OK;
	if (fstatat(j->dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)) {
		errno = EISDIR;
		return io_error(j, "replace with a symlink", name);
	}
	unlinkat(j->dfd, DATA_TMP, 0);
	if (symlinkat(target, j->dfd, DATA_TMP) != 0 || renameat(j->dfd, DATA_TMP, j->dfd, name) != 0)
		return io_error(j, "create symlink", name);
	return MK_OK;
}

static int write_payload(struct job *j, const char *old, int *changed)
{
	char tname[64], target[NAME_MAX + 16], name[NAME_MAX + 1];
	int tfd, rv;

	if ((rv = make_ts_dir(j, tname, sizeof tname, &tfd)) != MK_OK)
		return rv;
	for (size_t i = 0; rv == MK_OK && i < j->n; i++)
		rv = write_item(j, tfd, tname, &j->items[i]);
	close(tfd);
	if (rv == MK_OK)
		rv = put_link(j, DATA_LINK, tname); /* the swap readers see */
	if (rv != MK_OK) {
		mk_remove_at(j->dfd, tname);
		return rv;
	}
	*changed = 1;
	for (size_t i = 0; rv == MK_OK && i < j->n; i++) {
		top_link(j, i, name, sizeof name, target, sizeof target);
		rv = put_link(j, name, target);
	}
	stale_links(j, true);
	/* Retired now: the sweep of a later call removes it (see sweep). */
	if (old[0] != '\0')
		utimensat(j->dfd, old, NULL, AT_SYMLINK_NOFOLLOW);
	return rv;
}

int atomic_write(const char *dir, const struct atomic_file *files, size_t n, uid_t uid,
		 gid_t gid, int *changed, char *errmsg, size_t len)
{
	struct job j = {.dfd = -1, .dir = dir, .n = n, .uid = uid, .gid = gid, .errmsg = errmsg,
			.len = len};
	char old[NAME_MAX + 1] = "";
	int rv = MK_OK, dummy;

	if (changed == NULL)
		changed = &dummy;
	*changed = 0;
	if (dir == NULL || dir[0] == '\0' || (n > 0 && files == NULL)) {
		snprintf(errmsg, len, "atomic_write: no directory or no files");
		return MK_EINVAL;
	}
	j.items = calloc(n ? n : 1, sizeof *j.items);
	if (j.items == NULL)
		return MK_ENOMEM;
	for (size_t i = 0; rv == MK_OK && i < n; i++) {
		j.items[i].f = &files[i];
		rv = normalise(files[i].path, &j.items[i].rel, errmsg, len);
	}
	if (rv == MK_OK)
		rv = check_conflicts(j.items, n, errmsg, len);
	if (rv != MK_OK)
		goto out;
	if (mk_mkdir_p(dir, 0755) != 0 ||
	    (j.dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		snprintf(errmsg, len, "%s: cannot open directory: %s", dir, strerror(errno));
		rv = MK_EIO;
		goto out;
	}
	ssize_t r = readlinkat(j.dfd, DATA_LINK, old, sizeof old - 1);
	old[r > 0 ? r : 0] = '\0';
	if (old[0] != '.' || old[1] != '.' || strchr(old, '/') != NULL)
		old[0] = '\0'; /* not one of ours: replaced, never followed */
	if (!up_to_date(&j, old))
		rv = write_payload(&j, old, changed);
	if (rv == MK_OK) {
		r = readlinkat(j.dfd, DATA_LINK, old, sizeof old - 1);
		old[r > 0 ? r : 0] = '\0';
		sweep(&j, old);
	}
out:
	for (size_t i = 0; i < n; i++)
		free(j.items[i].rel);
	free(j.items);
	if (j.dfd >= 0)
		close(j.dfd);
	return rv;
}
