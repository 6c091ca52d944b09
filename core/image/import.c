/*
 * image_import: an image tarball from a stream.
 *
 * The input may be a pipe, and the files of a `docker save` tarball come
 * in any order (manifest.json last), so the archive is first spooled:
 * each regular file copied into the operation's scratch directory under a
 * number (never under its archive name, which could be anything) and
 * hashed on the way.  Blobs named blobs/sha256/<hex> must hash to their
 * name.  Then the format's own code (import_formats.c) unpacks layers and
 * stores blobs under the lease, and one metadata transaction records
 * every image; a failure anywhere leaves the records untouched and the
 * collector removes what was unpacked.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "../base/err.h"
#include "image_internal.h"

#define MAX_ENTRIES 100000
#define MAX_LINK_HOPS 8
#define BLOCK (64 * 1024)
/* libarchive's code for "not this format" (its archive_private.h, not
 * public): EILSEQ on Linux. */
#define FORMAT_ERRNO EILSEQ

/* "./a//b/" -> "a/b"; false for names that cannot be a file's. */
static bool norm_name(const char *in, char *out, size_t len)
{
	size_t o = 0;
	for (const char *p = in; *p;) {
		const char *s = strchr(p, '/');
		size_t n = s ? (size_t)(s - p) : strlen(p);
		if (n > 0 && !(n == 1 && p[0] == '.')) {
			if (o + n + 2 > len)
				return false;
			if (o > 0)
				out[o++] = '/';
			memcpy(out + o, p, n);
			o += n;
		}
		p += n + (s ? 1 : 0);
	}
	out[o] = '\0';
	return o > 0;
}

/* A symlink target relative to the link's directory, as an archive name;
 * ".." steps up (within the archive's names only: nothing is opened). */
static bool resolve_link(const char *from, const char *to, char *out, size_t len)
{
	char buf[PATH_MAX * 2];
	if (to[0] == '/')
		return norm_name(to, out, len);
	snprintf(buf, sizeof buf, "%s", from);
	char *slash = strrchr(buf, '/');
	size_t o = slash ? (size_t)(slash - buf) : 0;
	buf[o] = '\0';
	for (const char *p = to; *p;) {
		const char *s = strchr(p, '/');
		size_t n = s ? (size_t)(s - p) : strlen(p);
		if (n == 2 && p[0] == '.' && p[1] == '.') {
			char *up = strrchr(buf, '/');
			o = up ? (size_t)(up - buf) : 0;
			buf[o] = '\0';
		} else if (n > 0 && !(n == 1 && p[0] == '.')) {
			if (o + n + 2 > sizeof buf)
				return false;
			o += (size_t)snprintf(buf + o, sizeof buf - o, "%s%.*s", o ? "/" : "",
					      (int)n, p);
		}
		p += n + (s ? 1 : 0);
	}
	return norm_name(buf, out, len);
}

const struct spool_entry *img_spool_find(const struct spool *sp, const char *name)
{
	char want[PATH_MAX];
	if (!norm_name(name, want, sizeof want))
		return NULL;
	for (int hop = 0; hop <= MAX_LINK_HOPS; hop++) {
		const struct spool_entry *e = NULL;
		for (size_t i = sp->n; i-- > 0;) /* the last of duplicates wins */
			if (strcmp(sp->v[i].name, want) == 0) {
				e = &sp->v[i];
				break;
			}
		if (e == NULL || e->link == NULL)
			return e != NULL && e->file != NULL ? e : NULL;
		snprintf(want, sizeof want, "%s", e->link);
	}
	return NULL;
}

static void spool_free(struct spool *sp)
{
	for (size_t i = 0; i < sp->n; i++) {
		free(sp->v[i].name);
		free(sp->v[i].file);
		free(sp->v[i].link);
	}
	free(sp->v);
}

static struct spool_entry *spool_add(struct spool *sp, const char *name)
{
	if (sp->n == sp->cap) {
		size_t cap = sp->cap ? sp->cap * 2 : 32;
		struct spool_entry *v = realloc(sp->v, cap * sizeof *v);
		if (v == NULL)
			return NULL;
		sp->v = v;
		sp->cap = cap;
	}
	struct spool_entry *e = &sp->v[sp->n];
	memset(e, 0, sizeof *e);
	if ((e->name = strdup(name)) == NULL)
		return NULL;
	sp->n++;
	return e;
}

/* The data of the current entry into a new scratch file, hashed. */
static int spool_data(struct spool *sp, struct archive *a, struct spool_entry *e, char *errmsg,
		      size_t len)
{
	char path[PATH_MAX + 32], *buf = malloc(BLOCK);
	EVP_MD_CTX *sha = img_sha_new();
	int rv = MK_EIO, fd = -1;
	la_ssize_t r;
	snprintf(path, sizeof path, "%s/in-%zu", sp->lease->tmp, sp->n);
	if (buf == NULL || sha == NULL || (e->file = strdup(path)) == NULL) {
		snprintf(errmsg, len, "out of memory");
		rv = MK_ENOMEM;
		goto out;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(errmsg, len, "cannot create %s: %s", path, strerror(errno));
		goto out;
	}
	while ((r = archive_read_data(a, buf, BLOCK)) > 0) {
		EVP_DigestUpdate(sha, buf, (size_t)r);
		if (write(fd, buf, (size_t)r) != r) {
			snprintf(errmsg, len, "cannot write %s: %s", path, strerror(errno));
			goto out;
		}
		e->size += (uint64_t)r;
		if (sp->progress != NULL && e->size % (BLOCK * 16) == 0)
			sp->progress(sp->arg, "reading", (uint64_t)archive_filter_bytes(a, -1), 0);
	}
	if (r < 0) {
		snprintf(errmsg, len, "%s: truncated or damaged archive: %s", sp->name,
			 archive_error_string(a));
		rv = MK_EINVAL;
		goto out;
	}
	img_sha_done(sha, e->hex);
	sha = NULL;
	rv = 0;
	/* Content addressed by name must be what its name says. */
	if (strncmp(e->name, "blobs/sha256/", 13) == 0 && strlen(e->name) == 13 + 64 &&
	    strcmp(e->name + 13, e->hex) != 0) {
		snprintf(errmsg, len,
			 "%s: blob sha256:%.12s... does not match its digest (got %.12s...)",
			 sp->name, e->name + 13, e->hex);
		rv = MK_EINVAL;
	}
out:
	if (sha != NULL)
		EVP_MD_CTX_free(sha);
	if (fd >= 0)
		close(fd);
	free(buf);
	return rv;
}

static int spool_read(struct spool *sp, int fd, char *errmsg, size_t len)
{
	struct archive *a = archive_read_new();
	struct archive_entry *ae;
	char name[PATH_MAX], target[PATH_MAX];
	int rv = 0, r;
	bool first = true;
	if (a == NULL) {
		snprintf(errmsg, len, "out of memory");
		return MK_ENOMEM;
	}
	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	archive_read_support_format_empty(a);
	if (archive_read_open_fd(a, fd, BLOCK) != ARCHIVE_OK) {
		/* The format is detected here, on the first bytes; a read
		 * error has an errno, damaged data libarchive's own code. */
		int e = archive_errno(a);
		snprintf(errmsg, len,
			 e == FORMAT_ERRNO ? "%s is not an image archive: not a tar file (%s)"
			 : e > 0	   ? "cannot read %s: %s"
					   : "%s: truncated or damaged archive: %s",
			 sp->name, archive_error_string(a));
		archive_read_free(a);
		return e > 0 && e != FORMAT_ERRNO ? MK_EIO : MK_EINVAL;
	}
	while ((r = archive_read_next_header(a, &ae)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
		const char *hl = archive_entry_hardlink(ae);
		mode_t type = archive_entry_filetype(ae);
		first = false;
		if (sp->n >= MAX_ENTRIES) {
			snprintf(errmsg, len, "%s: more than %d files: not an image archive",
				 sp->name, MAX_ENTRIES);
			rv = MK_EINVAL;
			break;
		}
		if (!norm_name(archive_entry_pathname(ae) ? archive_entry_pathname(ae) : "",
			       name, sizeof name))
			continue;
		if (hl == NULL && type != AE_IFREG && type != AE_IFLNK)
			continue; /* directories and the like carry nothing */
		struct spool_entry *e = spool_add(sp, name);
		if (e == NULL) {
			snprintf(errmsg, len, "out of memory");
			rv = MK_ENOMEM;
			break;
		}
		if (hl != NULL || type == AE_IFLNK) {
			bool ok = hl ? norm_name(hl, target, sizeof target)
				     : resolve_link(name, archive_entry_symlink(ae) ?: "", target,
						    sizeof target);
			if (ok && (e->link = strdup(target)) == NULL) {
				rv = MK_ENOMEM;
				break;
			}
			continue;
		}
		if ((rv = spool_data(sp, a, e, errmsg, len)) != 0)
			break;
	}
	if (rv == 0 && r != ARCHIVE_EOF) {
		snprintf(errmsg, len, first ? "%s is not an image archive: not a tar file (%s)"
					    : "%s: truncated or damaged archive: %s",
			 sp->name, archive_error_string(a) ?: "unreadable");
		rv = MK_EINVAL;
	}
	archive_read_free(a);
	return rv;
}

int image_import_named(struct image_store *s, int fd, const char *name,
		       image_progress_fn progress, void *arg, char ***refs, size_t *n_refs,
		       char *errmsg, size_t len)
{
	struct img_lease lease;
	struct spool sp = { .name = name ? name : "input", .progress = progress, .arg = arg };
	struct img_new *imgs = NULL;
	size_t n_imgs = 0, total = 0;
	char **out = NULL;
	int rv;

	*refs = NULL;
	*n_refs = 0;
	rv = img_lease_begin(s, &lease, errmsg, len);
	if (rv != 0)
		return rv;
	sp.lease = &lease;
	rv = spool_read(&sp, fd, errmsg, len);
	if (rv != 0)
		goto out;
	if (img_spool_find(&sp, "manifest.json") != NULL) {
		rv = img_import_docker(&sp, &imgs, &n_imgs, errmsg, len);
	} else if (img_spool_find(&sp, "index.json") != NULL) {
		rv = img_import_oci(&sp, &imgs, &n_imgs, errmsg, len);
	} else {
		snprintf(errmsg, len, "%s is not an image archive: no manifest.json or index.json",
			 sp.name);
		rv = MK_EINVAL;
	}
	if (rv != 0)
		goto out;
	for (size_t i = 0; i < n_imgs; i++)
		total += imgs[i].n_refs ? imgs[i].n_refs : 1;
	out = calloc(total + 1, sizeof *out);
	if (out == NULL) {
		snprintf(errmsg, len, "out of memory");
		rv = MK_ENOMEM;
		goto out;
	}
	for (size_t i = 0, k = 0; i < n_imgs; i++) {
		for (size_t j = 0; j < imgs[i].n_refs; j++)
			out[k++] = strdup(imgs[i].refs[j]);
		if (imgs[i].n_refs == 0)
			out[k++] = strdup(imgs[i].id);
	}
	for (size_t k = 0; k < total; k++)
		if (out[k] == NULL) {
			snprintf(errmsg, len, "out of memory");
			rv = MK_ENOMEM;
			goto out;
		}
	rv = img_records_commit(s, imgs, n_imgs, errmsg, len);
out:
	for (size_t i = 0; i < n_imgs; i++)
		img_new_free(&imgs[i]);
	free(imgs);
	spool_free(&sp);
	img_lease_end(&lease);
	if (rv != 0) {
		char ignored[256];
		image_refs_free(out, total);
		/* Layers this import unpacked are referenced by nothing now. */
		image_gc(s, ignored, sizeof ignored);
		img_one_line(errmsg, len);
		return rv;
	}
	*refs = out;
	*n_refs = total;
	return 0;
}

int image_import(struct image_store *s, int fd, image_progress_fn progress, void *arg,
		 char ***refs, size_t *n_refs, char *errmsg, size_t len)
{
	return image_import_named(s, fd, NULL, progress, arg, refs, n_refs, errmsg, len);
}
