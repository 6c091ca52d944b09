/*
 * sha256 digests and the file helpers of the image store: atomic writes,
 * directory creation and a removal that never follows symlinks.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../base/err.h"
#include "image_internal.h"

bool img_digest_hex(const char *digest, char *hex)
{
	if (digest == NULL || strncmp(digest, "sha256:", 7) != 0 || strlen(digest) != 7 + 64)
		return false;
	for (const char *p = digest + 7; *p; p++)
		if (!isdigit((unsigned char)*p) && !(*p >= 'a' && *p <= 'f'))
			return false;
	memcpy(hex, digest + 7, 65);
	return true;
}

EVP_MD_CTX *img_sha_new(void)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	if (c != NULL && EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(c);
		return NULL;
	}
	return c;
}

void img_sha_done(EVP_MD_CTX *ctx, char *hex)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	EVP_DigestFinal_ex(ctx, md, &n);
	EVP_MD_CTX_free(ctx);
	for (unsigned int i = 0; i < n && i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	hex[64] = '\0';
}

void img_sha_of(const void *p, size_t n, char *hex)
{
	unsigned char md[32];
	unsigned int mdlen = 0;
	EVP_Digest(p, n, md, &mdlen, EVP_sha256(), NULL);
	for (unsigned int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	hex[64] = '\0';
}

int img_file_read(const char *path, size_t max, char **data, size_t *n, char *errmsg, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	*data = NULL;
	if (fd < 0) {
		snprintf(errmsg, len, "cannot open %s: %s", path, strerror(errno));
		return errno == ENOENT ? MK_ENOTFOUND : MK_EIO;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > max) {
		snprintf(errmsg, len, "%s: not a regular file of at most %zu bytes", path, max);
		close(fd);
		return MK_EINVAL;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL) {
		close(fd);
		snprintf(errmsg, len, "out of memory");
		return MK_ENOMEM;
	}
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			snprintf(errmsg, len, "cannot read %s: %s", path,
				 r < 0 ? strerror(errno) : "file shrank");
			free(buf);
			close(fd);
			return MK_EIO;
		}
		got += (size_t)r;
	}
	close(fd);
	buf[got] = '\0';
	*data = buf;
	*n = got;
	return 0;
}

int img_fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rv = fsync(fd);
	close(fd);
	return rv;
}

static int write_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n > 0) {
		ssize_t w = write(fd, c, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

int img_write_atomic(struct image_store *s, const char *path, const void *data, size_t n,
		      char *errmsg, size_t len)
{
	char tmp[PATH_MAX + 80], uniq[64], dir[PATH_MAX];
	img_unique(s, uniq, sizeof uniq);
	snprintf(tmp, sizeof tmp, "%s.tmp-%s", path, uniq);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0) {
		snprintf(errmsg, len, "cannot create %s: %s", tmp, strerror(errno));
		return MK_EIO;
	}
	if (write_all(fd, data, n) != 0 || fsync(fd) != 0) {
		snprintf(errmsg, len, "cannot write %s: %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		return MK_EIO;
	}
	close(fd);
	if (rename(tmp, path) != 0) {
		snprintf(errmsg, len, "cannot rename %s into place: %s", tmp, strerror(errno));
		unlink(tmp);
		return MK_EIO;
	}
	snprintf(dir, sizeof dir, "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash != NULL) {
		*slash = '\0';
		img_fsync_dir(dir);
	}
	return 0;
}

bool img_exists(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0;
}

void img_one_line(char *msg, size_t len)
{
	/* Messages quote archive entry names and registry answers, which can
	 * hold anything; the contract is one printable line. */
	for (size_t i = 0; i < len && msg[i] != '\0'; i++)
		if ((unsigned char)msg[i] < 0x20 || msg[i] == 0x7f)
			msg[i] = '?';
}
