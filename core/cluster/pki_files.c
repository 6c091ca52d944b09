/*
 * Files of the PKI: names, directories, atomic writes with the right mode
 * from the first byte, bounded reads.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../base/err.h"
#include "pki.h"
#include "pki_internal.h"

static const char *const names[] = {
	[PKI_CA_CERT] = "certs/ca.crt",
	[PKI_CA_KEY] = "certs/ca.key",
	[PKI_SERVER_CERT] = "certs/server.crt",
	[PKI_SERVER_KEY] = "certs/server.key",
	[PKI_ADMIN_CERT] = "certs/admin.crt",
	[PKI_ADMIN_KEY] = "certs/admin.key",
	[PKI_KUBECONFIG] = "credentials/client.config",
	[PKI_TOKENS] = "credentials/known_tokens.csv",
};

static const char *const dirs[] = {"certs", "credentials"};

const char *pki_name(enum pki_file f)
{
	if ((unsigned)f >= sizeof names / sizeof names[0])
		return "?";
	return names[f];
}

void pki_path(char *buf, size_t len, const char *data_dir, enum pki_file f)
{
	snprintf(buf, len, "%s/%s", data_dir, pki_name(f));
}

static int make_dir(const char *path, char *errmsg, size_t len)
{
	struct stat st;
	if (mkdir(path, 0700) != 0 && errno != EEXIST) {
		snprintf(errmsg, len, "cannot create %s: %s", path, strerror(errno));
		return MK_EIO;
	}
	if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
		snprintf(errmsg, len, "%s exists and is not a directory", path);
		return MK_EIO;
	}
	return MK_OK;
}

int pki_mkdirs(const char *data_dir, char *errmsg, size_t len)
{
	char path[4200];
	/* Usually made by datadir_prepare already; made here too (0700) so
	 * that the PKI does not depend on who ran first. */
	int rv = make_dir(data_dir, errmsg, len);
	for (size_t i = 0; rv == MK_OK && i < sizeof dirs / sizeof dirs[0]; i++) {
		snprintf(path, sizeof path, "%s/%s", data_dir, dirs[i]);
		rv = make_dir(path, errmsg, len);
	}
	return rv;
}

/* fsync of the directory holding `path`: makes the rename durable. */
static int sync_parent(const char *path)
{
	char dir[4200];
	snprintf(dir, sizeof dir, "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash == NULL)
		return 0;
	*slash = '\0';
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = fsync(fd);
	close(fd);
	return rc;
}

int pki_write(const char *data_dir, enum pki_file f, const void *data, size_t n, mode_t mode,
	      char *errmsg, size_t len)
{
	char path[4200], tmp[4300];
	const char *p = data;
	size_t left = n;
	pki_path(path, sizeof path, data_dir, f);
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	/* A temp file left by a crash may carry another mode: start afresh.
	 * O_EXCL and `mode` at creation mean a secret is never readable by
	 * anyone else, not even for a moment. */
	unlink(tmp);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd < 0)
		goto fail;
	/* The umask may have taken bits away from a certificate's 0644;
	 * fchmod runs before any byte is written. */
	if (fchmod(fd, mode) != 0)
		goto fail_fd;
	while (left > 0) {
		ssize_t w = write(fd, p, left);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			goto fail_fd;
		p += w;
		left -= (size_t)w;
	}
	if (fsync(fd) != 0)
		goto fail_fd;
	if (close(fd) != 0) {
		fd = -1;
		goto fail_fd;
	}
	if (rename(tmp, path) != 0) {
		fd = -1;
		goto fail_fd;
	}
	if (sync_parent(path) != 0)
		goto fail;
	return MK_OK;
fail_fd:;
	int saved = errno;
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	errno = saved;
fail:
	snprintf(errmsg, len, "%s: cannot write: %s", pki_name(f), strerror(errno));
	return MK_EIO;
}

int pki_read(const char *data_dir, enum pki_file f, char **out, size_t *n)
{
	char path[4200];
	pki_path(path, sizeof path, data_dir, f);
	FILE *fp = fopen(path, "rb");
	if (fp == NULL)
		return errno == ENOENT ? MK_ENOTFOUND : MK_EIO;
	char *buf = NULL;
	size_t cap = 0, used = 0;
	int rv = MK_OK;
	for (;;) {
		if (used + 4096 + 1 > cap) {
			/* Every file here is a few KiB; a huge one is not
			 * ours and must not eat memory. */
			if (cap >= PKI_MAX_FILE) {
				rv = MK_ETOOBIG;
				break;
			}
			cap = cap ? cap * 2 : 8192;
			char *g = realloc(buf, cap);
			if (g == NULL) {
				rv = MK_ENOMEM;
				break;
			}
			buf = g;
		}
		size_t r = fread(buf + used, 1, 4096, fp);
		used += r;
		if (r < 4096)
			break;
	}
	if (rv == MK_OK && ferror(fp))
		rv = MK_EIO;
	fclose(fp);
	if (rv != MK_OK) {
		if (buf != NULL)
			OPENSSL_cleanse(buf, used);
		free(buf);
		return rv;
	}
	buf[used] = '\0';
	*out = buf;
	*n = used;
	return MK_OK;
}

void pki_free_secret(char *s, size_t n)
{
	if (s != NULL)
		OPENSSL_cleanse(s, n);
	free(s);
}
