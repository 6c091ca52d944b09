/*
 * Files of the PKI: paths, atomic writes with the right mode, reading PEM.
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

const char *pki_name(enum pki_file f)
{
	return names[f];
}

void pki_path(char *buf, size_t len, const char *data_dir, enum pki_file f)
{
	snprintf(buf, len, "%s/%s", data_dir, names[f]);
}

int pki_mkdirs(const char *data_dir, char *errmsg, size_t len)
{
	const char *dirs[] = {"certs", "credentials"};
	for (size_t i = 0; i < 2; i++) {
		char path[4200];
		snprintf(path, sizeof path, "%s/%s", data_dir, dirs[i]);
		if (mkdir(path, 0700) != 0 && errno != EEXIST) {
			snprintf(errmsg, len, "%s: %s", path, strerror(errno));
			return MK_EIO;
		}
	}
	return MK_OK;
}

int pki_write(const char *data_dir, enum pki_file f, const void *data, size_t n, mode_t mode,
	      char *errmsg, size_t len)
{
	char path[4200], tmp[4300];
	pki_path(path, sizeof path, data_dir, f);
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	/* Created with its final mode: a secret is never readable by others,
	 * not even for a moment. */
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		goto fail;
	if (fchmod(fd, mode) != 0 || write(fd, data, n) != (ssize_t)n || fsync(fd) != 0) {
		close(fd);
		unlink(tmp);
		goto fail;
	}
	if (close(fd) != 0 || rename(tmp, path) != 0) {
		unlink(tmp);
		goto fail;
	}
	return MK_OK;
fail:
	snprintf(errmsg, len, "%s: %s", names[f], strerror(errno));
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
	for (;;) {
		if (used + 4096 + 1 > cap) {
			cap = cap ? cap * 2 : 8192;
			char *g = realloc(buf, cap);
			if (g == NULL) {
				free(buf);
				fclose(fp);
				return MK_ENOMEM;
			}
			buf = g;
		}
		size_t r = fread(buf + used, 1, 4096, fp);
		used += r;
		if (r < 4096)
			break;
	}
	int err = ferror(fp);
	fclose(fp);
	if (err) {
		free(buf);
		return MK_EIO;
	}
	buf[used] = '\0';
	*out = buf;
	*n = used;
	return MK_OK;
}
