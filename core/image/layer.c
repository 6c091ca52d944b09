/*
 * Layers in the store: unpack a layer tarball while checking its diff_id,
 * then make it visible by rename.
 *
 * Two libarchive readers are chained: the first only decompresses (any
 * filter libarchive knows, "raw" format), the second reads tar from what
 * the first yields; between them every uncompressed byte goes through
 * sha256, which must equal the diff_id the image config names.  One pass,
 * no temporary copy of the uncompressed tar.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "../base/err.h"
#include "image_internal.h"

#define BLOCK (64 * 1024)
#define PROGRESS_STEP (1u << 20)

struct chain {
	struct archive *raw;
	EVP_MD_CTX *sha;
	char buf[BLOCK];
	bool eof;
	char raw_err[256];
	uint64_t reported;
	const char *what;
	uint64_t total;
	image_progress_fn progress;
	void *arg;
};

static void report(struct chain *c, bool last)
{
	uint64_t done = (uint64_t)archive_filter_bytes(c->raw, -1);
	if (c->progress == NULL || (!last && done < c->reported + PROGRESS_STEP))
		return;
	c->reported = done;
	if (last) /* compressed input may end before its last bytes were read */
		done = c->total ? c->total : done;
	c->progress(c->arg, c->what, done, last && c->total == 0 ? done : c->total);
}

static la_ssize_t chain_read(struct archive *tar, void *arg, const void **buf)
{
	struct chain *c = arg;
	if (c->eof)
		return 0;
	la_ssize_t n = archive_read_data(c->raw, c->buf, sizeof c->buf);
	if (n < 0) {
		snprintf(c->raw_err, sizeof c->raw_err, "%s",
			 archive_error_string(c->raw) ? archive_error_string(c->raw)
						      : "cannot decompress");
		if (tar != NULL)
			archive_set_error(tar, EIO, "%s", c->raw_err);
		return -1;
	}
	if (n == 0)
		c->eof = true;
	EVP_DigestUpdate(c->sha, c->buf, (size_t)n);
	report(c, false);
	*buf = c->buf;
	return n;
}

/* Reads what the tar reader left (padding after the end blocks) into the
 * digest: the diff_id covers the whole stream. */
static int chain_drain(struct chain *c)
{
	const void *b;
	while (!c->eof)
		if (chain_read(NULL, c, &b) < 0)
			return -1;
	return 0;
}

static const char *arch_err(struct archive *a, struct chain *c)
{
	if (c->raw_err[0])
		return c->raw_err;
	return archive_error_string(a) ? archive_error_string(a) : "unreadable tar data";
}

int img_layer_unpack(int fd, const char *dir, const char *diff_id, const char *what, uint64_t total,
		 image_progress_fn progress, void *arg, uint64_t *size, char *errmsg,
		 size_t len)
{
	struct chain *c = calloc(1, sizeof *c);
	struct archive *tar = NULL;
	struct archive_entry *e;
	struct unpacker *u = NULL;
	int rv = MK_EINVAL, r;
	char hex[65];

	if (c == NULL || (c->sha = img_sha_new()) == NULL || (c->raw = archive_read_new()) == NULL ||
	    (tar = archive_read_new()) == NULL) {
		snprintf(errmsg, len, "out of memory");
		rv = MK_ENOMEM;
		goto out;
	}
	c->what = what;
	c->total = total;
	c->progress = progress;
	c->arg = arg;
	archive_read_support_filter_all(c->raw);
	archive_read_support_format_raw(c->raw);
	archive_read_support_format_empty(c->raw);
	if (archive_read_open_fd(c->raw, fd, BLOCK) != ARCHIVE_OK) {
		snprintf(errmsg, len, "%s: %s", what, archive_error_string(c->raw));
		goto out;
	}
	r = archive_read_next_header(c->raw, &e);
	if (r == ARCHIVE_EOF) {
		c->eof = true; /* empty input: an empty layer */
	} else if (r != ARCHIVE_OK) {
		snprintf(errmsg, len, "%s: %s", what, archive_error_string(c->raw));
		goto out;
	}
	if ((rv = img_unpacker_new(dir, &u, errmsg, len)) != 0)
		goto out;
	rv = MK_EINVAL;
	if (!c->eof) {
		archive_read_support_format_tar(tar);
		archive_read_support_format_empty(tar);
		if (archive_read_open(tar, c, NULL, chain_read, NULL) != ARCHIVE_OK) {
			snprintf(errmsg, len, "%s: not a tar archive: %s", what, arch_err(tar, c));
			goto out;
		}
		while ((r = archive_read_next_header(tar, &e)) == ARCHIVE_OK ||
		       r == ARCHIVE_WARN) {
			rv = img_unpacker_entry(u, tar, e, errmsg, len);
			if (rv != 0)
				goto out;
			rv = MK_EINVAL;
		}
		if (r != ARCHIVE_EOF || chain_drain(c) != 0) {
			snprintf(errmsg, len, "%s: %s", what, arch_err(tar, c));
			goto out;
		}
	}
	report(c, true);
	img_sha_done(c->sha, hex);
	c->sha = NULL;
	if (diff_id != NULL && strcmp(diff_id + 7, hex) != 0) {
		snprintf(errmsg, len,
			 "%s: content does not match its digest %.19s... (got sha256:%.12s...)",
			 what, diff_id, hex);
		goto out;
	}
	rv = img_unpacker_finish(u, size, errmsg, len);
out:
	img_unpacker_free(u);
	if (tar != NULL)
		archive_read_free(tar);
	if (c != NULL) {
		if (c->raw != NULL)
			archive_read_free(c->raw);
		if (c->sha != NULL)
			EVP_MD_CTX_free(c->sha);
	}
	free(c);
	return rv;
}

int img_layer_claim(struct img_lease *l, const char *diff_id, char *errmsg, size_t len)
{
	char hex[65], path[PATH_MAX];
	if (!img_digest_hex(diff_id, hex)) {
		snprintf(errmsg, len, "bad layer digest %.80s", diff_id);
		return MK_EINVAL;
	}
	int rv = img_lease_add(l, "layer", hex, errmsg, len);
	if (rv != 0)
		return rv;
	img_layer_path(l->s, hex, path, sizeof path);
	rv = img_content_claim(l, "layer", hex, path);
	if (rv < 0)
		snprintf(errmsg, len, "out of memory");
	return rv;
}

void img_layer_unclaim(struct img_lease *l, const char *diff_id)
{
	img_content_unclaim(l, "layer", diff_id + 7);
}

int img_layer_commit(struct img_lease *l, int fd, const char *diff_id, const char *what,
		 uint64_t total, image_progress_fn progress, void *arg, char *errmsg,
		 size_t len)
{
	char tmp[PATH_MAX], fs[PATH_MAX + 8], path[PATH_MAX], uniq[64], num[32];
	uint64_t size = 0;
	int rv;

	img_unique(l->s, uniq, sizeof uniq);
	snprintf(tmp, sizeof tmp, "%s/layer-%s", l->tmp, uniq);
	snprintf(fs, sizeof fs, "%s/fs", tmp);
	if (mkdir(tmp, 0700) != 0 || mkdir(fs, 0755) != 0) {
		snprintf(errmsg, len, "cannot create %s: %s", fs, strerror(errno));
		return MK_EIO;
	}
	rv = img_layer_unpack(fd, fs, diff_id, what, total, progress, arg, &size, errmsg, len);
	if (rv != 0)
		goto out;
	snprintf(path, sizeof path, "%s/size", tmp);
	snprintf(num, sizeof num, "%" PRIu64 "\n", size);
	int sfd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	bool ok = sfd >= 0 && write(sfd, num, strlen(num)) == (ssize_t)strlen(num);
	/* Everything under tmp reaches the disk before the name that makes
	 * it complete: one syncfs rather than an fsync per file. */
	if (!ok || syncfs(sfd) != 0) {
		snprintf(errmsg, len, "cannot write %s: %s", path, strerror(errno));
		if (sfd >= 0)
			close(sfd);
		rv = MK_EIO;
		goto out;
	}
	close(sfd);
	img_layer_path(l->s, diff_id + 7, path, sizeof path);
	if (rename(tmp, path) != 0) {
		/* Another process made the same layer first: keep theirs. */
		if (errno != ENOTEMPTY && errno != EEXIST) {
			snprintf(errmsg, len, "cannot rename %s to %s: %s", tmp, path,
				 strerror(errno));
			rv = MK_EIO;
		}
		goto out;
	}
	snprintf(path, sizeof path, "%s/layers", l->s->root);
	img_fsync_dir(path);
	return 0;
out:
	mk_remove_tree(tmp);
	return rv;
}

uint64_t img_layer_size(const struct image_store *s, const char *hex)
{
	char path[PATH_MAX + 8];
	unsigned long long n = 0;
	img_layer_path(s, hex, path, sizeof path - 8);
	strcat(path, "/size");
	FILE *f = fopen(path, "re");
	if (f == NULL)
		return 0;
	if (fscanf(f, "%llu", &n) != 1)
		n = 0;
	fclose(f);
	return n;
}
