/*
 * Tar entries of a layer onto disk, the overlayfs way.
 *
 * Every path is resolved one component at a time from the layer's root
 * with O_NOFOLLOW, so no entry can reach outside the layer: not with
 * "..", not with an absolute name, not through a symlink an earlier
 * entry planted (which libarchive's own writer would resolve against the
 * process's working directory, shared by every thread).  Whiteouts become
 * what overlayfs reads: ".wh.NAME" a 0/0 character device NAME,
 * ".wh..wh..opq" the xattr trusted.overlay.opaque=y on its directory.
 * A layer's own trusted.* xattrs are dropped: they would let an image
 * forge overlay metadata.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "../base/err.h"
#include "image_internal.h"

#define MAX_DEPTH 256  /* path components; also bounds mk_remove_tree's open fds */
#define WH ".wh."
#define WH_OPAQUE ".wh..wh..opq"
#define WH_META ".wh..wh."

struct dir_time {
	char *path;
	struct timespec ts[2];
};

struct unpacker {
	int root;
	char *dir;
	bool privileged;
	uint64_t size;
	struct dir_time *dirs;
	size_t n_dirs, cap_dirs;
};

int img_unpacker_new(const char *dir, struct unpacker **out, char *errmsg, size_t len)
{
	struct unpacker *u = calloc(1, sizeof *u);
	*out = NULL;
	if (u == NULL || (u->dir = strdup(dir)) == NULL) {
		free(u);
		snprintf(errmsg, len, "out of memory");
		return MK_ENOMEM;
	}
	u->root = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (u->root < 0) {
		snprintf(errmsg, len, "cannot open %s: %s", dir, strerror(errno));
		free(u->dir);
		free(u);
		return MK_EIO;
	}
	u->privileged = geteuid() == 0;
	*out = u;
	return 0;
}

void img_unpacker_free(struct unpacker *u)
{
	if (u == NULL)
		return;
	for (size_t i = 0; i < u->n_dirs; i++)
		free(u->dirs[i].path);
	free(u->dirs);
	close(u->root);
	free(u->dir);
	free(u);
}

/* The archive name as clean components "a/b/c" in out ("" for the root):
 * "./" and empty components dropped, ".." and absolute names refused. */
static int clean_path(const char *in, char *out, size_t len, const char **why)
{
	size_t o = 0, depth = 0;
	if (in == NULL || in[0] == '\0') {
		*why = "empty name";
		return -1;
	}
	if (in[0] == '/') {
		*why = "absolute path";
		return -1;
	}
	for (const char *p = in; *p;) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);
		if (n == 2 && p[0] == '.' && p[1] == '.') {
			*why = "path leaves the layer (\"..\")";
			return -1;
		}
		if (n > 0 && !(n == 1 && p[0] == '.')) {
			if (o + n + 2 > len || ++depth > MAX_DEPTH) {
				*why = "path too long";
				return -1;
			}
			if (o > 0)
				out[o++] = '/';
			memcpy(out + o, p, n);
			o += n;
		}
		p += n + (slash ? 1 : 0);
	}
	out[o] = '\0';
	return 0;
}

static int fail(char *errmsg, size_t len, const char *name, const char *what, int err)
{
	snprintf(errmsg, len, "layer entry \"%.300s\": %s%s%s", name, what, err ? ": " : "",
		 err ? strerror(err) : "");
	return err == 0 ? MK_EINVAL : MK_EIO;
}

/* Opens the directory holding rel's last component; *base points into
 * rel at that component.  Missing directories are made (tar files need
 * not list parents) unless `create` is false; a symlink or a file on the
 * way is refused.  Returns the fd or a negative error. */
static int open_parent(struct unpacker *u, char *rel, const char **base, bool create,
		       const char *name, char *errmsg, size_t len)
{
	int fd = dup(u->root);
	char *p = rel, *slash;
	if (fd < 0)
		return fail(errmsg, len, name, "dup", errno);
	while ((slash = strchr(p, '/')) != NULL) {
		*slash = '\0';
		int next = openat(fd, p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0 && errno == ENOENT && create) {
			if (mkdirat(fd, p, 0755) != 0 && errno != EEXIST) {
				*slash = '/';
				close(fd);
				return fail(errmsg, len, name, "cannot create its directory", errno);
			}
			next = openat(fd, p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		}
		int e = errno;
		struct stat st;
		bool link = next < 0 && fstatat(fd, p, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
			    S_ISLNK(st.st_mode);
		*slash = '/';
		close(fd);
		if (next < 0) {
			if (link)
				return fail(errmsg, len, name,
					    "path goes through a symlink (it could leave the layer)",
					    0);
			if (e == ENOTDIR)
				return fail(errmsg, len, name, "a parent is not a directory", 0);
			return fail(errmsg, len, name, "cannot open its directory", e);
		}
		fd = next;
		p = slash + 1;
	}
	*base = p;
	return fd;
}

/* Removes base from pfd if present (a later entry replaces an earlier
 * one), except a directory that a directory entry merely updates. */
static int replace(int pfd, const char *base, bool keep_dir)
{
	struct stat st;
	if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) != 0)
		return errno == ENOENT ? 0 : -1;
	if (S_ISDIR(st.st_mode))
		return keep_dir ? 0 : mk_remove_at(pfd, base);
	return unlinkat(pfd, base, 0);
}

static int remember_dir(struct unpacker *u, const char *rel, struct archive_entry *e)
{
	if (u->n_dirs == u->cap_dirs) {
		size_t cap = u->cap_dirs ? u->cap_dirs * 2 : 64;
		struct dir_time *d = realloc(u->dirs, cap * sizeof *d);
		if (d == NULL)
			return -1;
		u->dirs = d;
		u->cap_dirs = cap;
	}
	struct dir_time *d = &u->dirs[u->n_dirs];
	if ((d->path = strdup(rel)) == NULL)
		return -1;
	img_unpack_times(e, d->ts);
	u->n_dirs++;
	return 0;
}

/* AUFS bookkeeping (.wh..wh.plnk/..., .wh..wh.aufs): not content,
 * wherever it sits; the opaque marker is the one such name that counts. */
static bool aufs_meta(const char *rel)
{
	for (const char *p = rel; p != NULL; p = strchr(p, '/') ? strchr(p, '/') + 1 : NULL) {
		size_t n = strcspn(p, "/");
		if (strncmp(p, WH_META, strlen(WH_META)) == 0 &&
		    !(n == strlen(WH_OPAQUE) && strncmp(p, WH_OPAQUE, n) == 0 && p[n] == '\0'))
			return true;
	}
	return false;
}

/* Whiteouts.  Returns 1 if the entry was one (handled), 0 if not. */
static int whiteout(struct unpacker *u, int pfd, const char *base, const char *name,
		    char *errmsg, size_t len, int *rv)
{
	*rv = 0;
	if (strcmp(base, WH_OPAQUE) == 0) {
		if (fsetxattr(pfd, "trusted.overlay.opaque", "y", 1, 0) != 0)
			*rv = fail(errmsg, len, name, "cannot mark the directory opaque", errno);
		return 1;
	}
	if (strncmp(base, WH, strlen(WH)) != 0)
		return 0;
	const char *target = base + strlen(WH);
	if (target[0] == '\0' || strcmp(target, ".") == 0 || strcmp(target, "..") == 0) {
		*rv = fail(errmsg, len, name, "whiteout without a name", 0);
		return 1;
	}
	if (replace(pfd, target, false) != 0 ||
	    mknodat(pfd, target, S_IFCHR | 0000, makedev(0, 0)) != 0)
		*rv = fail(errmsg, len, name,
			   u->privileged ? "cannot create the whiteout"
					 : "cannot create the whiteout (needs root)",
			   errno);
	return 1;
}

int img_unpacker_entry(struct unpacker *u, struct archive *a, struct archive_entry *e,
		   char *errmsg, size_t len)
{
	char rel[PATH_MAX], abs[PATH_MAX * 2], target[PATH_MAX];
	const char *name = archive_entry_pathname(e), *why = NULL, *base;
	const char *hardlink = archive_entry_hardlink(e);
	mode_t type = archive_entry_filetype(e);
	mode_t perm = archive_entry_perm(e) & 07777;
	int pfd = -1, fd = -1, rv = 0;
	struct timespec ts[2];

	if (clean_path(name, rel, sizeof rel, &why) != 0)
		return fail(errmsg, len, name ? name : "", why, 0);
	img_unpack_times(e, ts);
	if (rel[0] == '\0') { /* "./": the layer's root directory itself */
		if (type != AE_IFDIR || hardlink != NULL)
			return fail(errmsg, len, name, "the root is not a directory", 0);
		if (img_unpack_owner(u->privileged, -1, NULL, u->root, e) || fchmod(u->root, perm) ||
		    img_unpack_xattrs(-1, NULL, u->root, NULL, e))
			return fail(errmsg, len, name, "cannot set attributes", errno);
		return remember_dir(u, "", e) == 0 ? 0 : fail(errmsg, len, name, "out of memory", 0);
	}
	if (aufs_meta(rel))
		return 0;
	pfd = open_parent(u, rel, &base, true, name, errmsg, len);
	if (pfd < 0)
		return pfd;
	if (whiteout(u, pfd, base, name, errmsg, len, &rv))
		goto out;
	snprintf(abs, sizeof abs, "%s/%s", u->dir, rel);

	if (hardlink != NULL) {
		const char *tbase;
		if (clean_path(hardlink, target, sizeof target, &why) != 0 || target[0] == '\0') {
			rv = fail(errmsg, len, name, why ? why : "bad hard link target", 0);
			goto out;
		}
		int tfd = open_parent(u, target, &tbase, false, name, errmsg, len);
		if (tfd < 0) {
			rv = tfd;
			goto out;
		}
		if (strcmp(target, rel) == 0) { /* a link to itself: nothing to do */
			close(tfd);
			goto out;
		}
		if (replace(pfd, base, false) != 0 || linkat(tfd, tbase, pfd, base, 0) != 0)
			rv = fail(errmsg, len, name,
				  errno == ENOENT ? "hard link target is not in the layer"
						  : "cannot create the hard link",
				  errno == ENOENT ? 0 : errno);
		close(tfd);
		goto out;
	}
	if (replace(pfd, base, type == AE_IFDIR) != 0) {
		rv = fail(errmsg, len, name, "cannot replace an earlier entry", errno);
		goto out;
	}
	switch (type) {
	case AE_IFREG:
		fd = openat(pfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0) {
			rv = fail(errmsg, len, name, "cannot create", errno);
			break;
		}
		int w = img_unpack_data(a, fd, e);
		if (w == -2) {
			snprintf(errmsg, len, "layer entry \"%.300s\": %s", name,
				 archive_error_string(a) ? archive_error_string(a) : "read error");
			rv = MK_EINVAL;
			break;
		}
		if (w != 0 || img_unpack_owner(u->privileged, pfd, base, fd, e) || fchmod(fd, perm) ||
		    img_unpack_xattrs(pfd, base, fd, abs, e) || futimens(fd, ts)) {
			rv = fail(errmsg, len, name, "cannot write", errno);
			break;
		}
		u->size += (uint64_t)archive_entry_size(e);
		break;
	case AE_IFDIR:
		if (mkdirat(pfd, base, 0700) != 0 && errno != EEXIST) {
			rv = fail(errmsg, len, name, "cannot create", errno);
			break;
		}
		fd = openat(pfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 || img_unpack_owner(u->privileged, pfd, base, fd, e) || fchmod(fd, perm) ||
		    img_unpack_xattrs(pfd, base, fd, abs, e)) {
			rv = fail(errmsg, len, name, "cannot set up the directory", errno);
			break;
		}
		if (remember_dir(u, rel, e) != 0)
			rv = fail(errmsg, len, name, "out of memory", 0);
		break;
	case AE_IFLNK: {
		const char *to = archive_entry_symlink(e);
		/* The target is only ever resolved inside the container's
		 * root; we never follow it. */
		if (to == NULL || to[0] == '\0' || symlinkat(to, pfd, base) != 0 ||
		    img_unpack_owner(u->privileged, pfd, base, -1, e) ||
		    img_unpack_xattrs(pfd, base, -1, abs, e) ||
		    utimensat(pfd, base, ts, AT_SYMLINK_NOFOLLOW) != 0)
			rv = fail(errmsg, len, name, "cannot create the symlink", to ? errno : 0);
		break;
	}
	case AE_IFCHR:
	case AE_IFBLK:
	case AE_IFIFO:
		if (mknodat(pfd, base, type | perm, archive_entry_rdev(e)) != 0 ||
		    img_unpack_owner(u->privileged, pfd, base, -1, e) ||
		    fchmodat(pfd, base, perm, 0) != 0 ||
		    utimensat(pfd, base, ts, AT_SYMLINK_NOFOLLOW) != 0)
			rv = fail(errmsg, len, name,
				  u->privileged ? "cannot create the device node"
						: "cannot create the device node (needs root)",
				  errno);
		break;
	case AE_IFSOCK:
		break; /* a socket in a tarball is a leftover, not content */
	default:
		rv = fail(errmsg, len, name, "unsupported entry type", 0);
	}
out:
	if (fd >= 0)
		close(fd);
	close(pfd);
	return rv;
}

int img_unpacker_finish(struct unpacker *u, uint64_t *size, char *errmsg, size_t len)
{
	/* Deepest first is not needed: setting a directory's times does not
	 * touch its parent's. */
	for (size_t i = 0; i < u->n_dirs; i++) {
		struct dir_time *d = &u->dirs[i];
		if (d->path[0] == '\0') {
			futimens(u->root, d->ts);
			continue;
		}
		const char *base;
		char ignored[256];
		int pfd = open_parent(u, d->path, &base, false, d->path, ignored, sizeof ignored);
		if (pfd < 0)
			continue; /* replaced by a later entry: nothing to date */
		utimensat(pfd, base, d->ts, AT_SYMLINK_NOFOLLOW);
		close(pfd);
	}
	*size = u->size;
	return 0;
}
