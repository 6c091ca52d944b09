/*
 * What a layer entry carries besides its name: data (sparse too), owner,
 * xattrs, times.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "image_internal.h"

int img_unpack_owner(bool privileged, int pfd, const char *base, int fd,
		     struct archive_entry *e)
{
	uid_t uid = (uid_t)archive_entry_uid(e);
	gid_t gid = (gid_t)archive_entry_gid(e);
	int rv = fd >= 0 ? fchown(fd, uid, gid) : fchownat(pfd, base, uid, gid, AT_SYMLINK_NOFOLLOW);
	/* Unprivileged (tests, tools): the files stay ours. */
	return rv != 0 && (privileged || errno != EPERM) ? -1 : 0;
}

int img_unpack_xattrs(int pfd, const char *base, int fd, const char *abs,
		      struct archive_entry *e)
{
	const char *name;
	const void *value;
	size_t size;
	(void)pfd;
	(void)base;
	archive_entry_xattr_reset(e);
	while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
		if (strncmp(name, "trusted.", 8) == 0 || strcmp(name, "security.selinux") == 0)
			continue;
		int rv = fd >= 0 ? fsetxattr(fd, name, value, size, 0)
				 : lsetxattr(abs, name, value, size, 0);
		if (rv != 0 && errno != ENOTSUP && errno != EOPNOTSUPP && errno != EPERM)
			return -1;
	}
	return 0;
}

void img_unpack_times(struct archive_entry *e, struct timespec ts[2])
{
	ts[1].tv_sec = archive_entry_mtime(e);
	ts[1].tv_nsec = archive_entry_mtime_nsec(e);
	if (archive_entry_atime_is_set(e)) {
		ts[0].tv_sec = archive_entry_atime(e);
		ts[0].tv_nsec = archive_entry_atime_nsec(e);
	} else {
		ts[0] = ts[1];
	}
}

int img_unpack_data(struct archive *a, int fd, struct archive_entry *e)
{
	const void *buf;
	size_t n;
	la_int64_t off;
	int r;
	off_t end = 0;
	while ((r = archive_read_data_block(a, &buf, &n, &off)) == ARCHIVE_OK) {
		const char *p = buf;
		while (n > 0) {
			ssize_t w = pwrite(fd, p, n, (off_t)off);
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0)
				return -1;
			p += w;
			off += w;
			n -= (size_t)w;
		}
		if ((off_t)off > end)
			end = (off_t)off;
	}
	if (r != ARCHIVE_EOF) {
		errno = 0;
		return -2;
	}
	/* A sparse file may end in a hole. */
	if (archive_entry_size_is_set(e) && archive_entry_size(e) > end)
		end = (off_t)archive_entry_size(e);
	return ftruncate(fd, end);
}
