/*
 * image_pull: manifest (through an index to this platform's manifest),
 * config, then each missing layer downloaded to a scratch file (its
 * digest checked as it arrives) and unpacked (its diff_id checked), then
 * one metadata transaction tags the image.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../base/err.h"
#include "image_internal.h"
#include "manifest.h"
#include "ref.h"
#include "registry.h"

#define MAX_NESTING 4

struct pull {
	struct image_store *s;
	struct img_lease lease;
	struct reg *reg;
	struct img_ref ref;
	char name[600];       /* normalized reference */
	char top[80];         /* digest of the first document (repo digest) */
	char digest[80];      /* digest of the image manifest */
	char *body;           /* the image manifest */
	size_t n;
	image_progress_fn progress;
	void *arg;
};

/* The manifest for this platform: by tag or digest, then through indexes. */
static int fetch_manifest(struct pull *p, char *errmsg, size_t len)
{
	const char *want = p->ref.digest[0] ? p->ref.digest : p->ref.tag;
	char hex[65], *ctype = NULL;
	struct mf_index ix = { 0 };
	int rv;
	for (int depth = 0;; depth++) {
		free(p->body);
		p->body = NULL;
		free(ctype);
		ctype = NULL;
		if (p->progress)
			p->progress(p->arg, "manifest", 0, 0);
		rv = reg_manifest(p->reg, want, &p->body, &p->n, &ctype, errmsg, len);
		if (rv != 0)
			goto out;
		img_sha_of(p->body, p->n, hex);
		snprintf(p->digest, sizeof p->digest, "sha256:%s", hex);
		if (depth == 0)
			snprintf(p->top, sizeof p->top, "%s", p->digest);
		/* A document asked for by digest must be that document. */
		if (strncmp(want, "sha256:", 7) == 0 && strcmp(want, p->digest) != 0) {
			snprintf(errmsg, len, "manifest %.19s... does not match its digest", want);
			rv = MK_EINVAL;
			goto out;
		}
		enum mf_kind k = mf_kind_of(ctype, p->body, p->n);
		rv = MK_EPROTO;
		if (k == MF_MANIFEST)
			break;
		if (k == MF_SCHEMA1) {
			snprintf(errmsg, len, "the registry only has a schema 1 manifest, "
					      "which mk does not support");
			goto out;
		}
		if (k != MF_INDEX || depth == MAX_NESTING) {
			snprintf(errmsg, len, "the registry answered with an unknown document (%.80s)",
				 ctype && ctype[0] ? ctype : "no content type");
			goto out;
		}
		mf_index_free(&ix);
		if ((rv = mf_parse_index(p->body, p->n, &ix, errmsg, len)) != 0)
			goto out;
		int i = mf_pick(&ix, mf_host_arch(), mf_host_variant());
		if (i < 0) {
			snprintf(errmsg, len, "no image for linux/%s%s%s", mf_host_arch(),
				 mf_host_variant()[0] ? "/" : "", mf_host_variant());
			rv = MK_ENOTFOUND;
			goto out;
		}
		snprintf(p->digest, sizeof p->digest, "%s", ix.manifests[i].digest);
		want = p->digest;
	}
	rv = 0;
out:
	free(ctype);
	mf_index_free(&ix);
	return rv;
}

/* Downloads a blob into a new scratch file; returns its fd at offset 0. */
static int fetch_blob(struct pull *p, const struct mf_desc *d, const char *what, int *fd,
		      char *errmsg, size_t len)
{
	char path[PATH_MAX], uniq[64];
	img_unique(p->s, uniq, sizeof uniq);
	snprintf(path, sizeof path, "%s/blob-%s", p->lease.tmp, uniq);
	*fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (*fd < 0) {
		snprintf(errmsg, len, "cannot create %s: %s", path, strerror(errno));
		return MK_EIO;
	}
	unlink(path); /* the fd is all we need; nothing to clean up */
	int rv = reg_blob(p->reg, d->digest, d->size, *fd, what, p->progress, p->arg, errmsg, len);
	if (rv == 0 && lseek(*fd, 0, SEEK_SET) != 0) {
		snprintf(errmsg, len, "cannot rewind %s: %s", path, strerror(errno));
		rv = MK_EIO;
	}
	if (rv != 0) {
		close(*fd);
		*fd = -1;
	}
	return rv;
}

static int get_config(struct pull *p, const struct mf_desc *d, struct mf_config *cfg,
		      char *errmsg, size_t len)
{
	char hex[65], path[PATH_MAX], what[96], *data = NULL;
	size_t n = 0;
	int fd = -1, rv;
	img_digest_hex(d->digest, hex);
	img_blob_path(p->s, hex, path, sizeof path);
	snprintf(what, sizeof what, "sha256:%.12s config", hex);
	if (d->size < 0 || d->size > (int64_t)IMG_MAX_CONFIG) {
		snprintf(errmsg, len, "config size %lld out of range", (long long)d->size);
		return MK_EPROTO;
	}
	if (img_lease_add(&p->lease, "blob", hex, errmsg, len) != 0)
		return MK_EIO;
	rv = img_file_read(path, IMG_MAX_CONFIG, &data, &n, errmsg, len);
	if (rv == MK_ENOTFOUND) {
		if ((rv = fetch_blob(p, d, what, &fd, errmsg, len)) != 0)
			return rv;
		data = malloc((size_t)d->size + 1);
		if (data == NULL || read(fd, data, (size_t)d->size) != (ssize_t)d->size) {
			snprintf(errmsg, len, "cannot read back the config");
			close(fd);
			free(data);
			return MK_EIO;
		}
		close(fd);
		n = (size_t)d->size;
		data[n] = '\0';
		rv = img_blob_put(&p->lease, hex, data, n, errmsg, len);
	} else if (rv == 0 && p->progress) {
		strcat(what, " exists");
		p->progress(p->arg, what, 0, 0);
	}
	if (rv == 0)
		rv = mf_parse_config(data, n, cfg, errmsg, len);
	free(data);
	return rv;
}

static int get_layers(struct pull *p, const struct mf_manifest *m, const struct mf_config *cfg,
		      char *errmsg, size_t len)
{
	char what[96];
	for (size_t i = 0; i < m->n_layers; i++) {
		const char *diff = cfg->diff_ids[i];
		int fd = -1;
		snprintf(what, sizeof what, "sha256:%.12s layer", m->layers[i].digest + 7);
		int rv = img_layer_claim(&p->lease, diff, errmsg, len);
		if (rv == 1) {
			if (p->progress) {
				strcat(what, " exists");
				p->progress(p->arg, what, 0, 0);
			}
			continue;
		}
		if (rv < 0)
			return rv;
		rv = fetch_blob(p, &m->layers[i], what, &fd, errmsg, len);
		if (rv == 0) {
			rv = img_layer_commit(&p->lease, fd, diff, what, 0, NULL, NULL, errmsg, len);
			close(fd);
		}
		img_layer_unclaim(&p->lease, diff);
		if (rv != 0)
			return rv;
	}
	return 0;
}

static int pull_run(struct pull *p, const struct image_pull_opts *o, char *errmsg, size_t len)
{
	struct mf_manifest m = { 0 };
	struct mf_config cfg = { 0 };
	struct img_new img = { 0 };
	char hex[65];
	int rv = reg_open(&p->ref, o ? o->username : NULL, o ? o->password : NULL, &p->reg,
			  errmsg, len);
	if (rv == 0)
		rv = fetch_manifest(p, errmsg, len);
	if (rv == 0)
		rv = mf_parse_manifest(p->body, p->n, &m, errmsg, len);
	if (rv == 0)
		rv = get_config(p, &m.config, &cfg, errmsg, len);
	if (rv != 0)
		goto out;
	rv = MK_EPROTO;
	if (cfg.os[0] != '\0' && strcmp(cfg.os, "linux") != 0) {
		snprintf(errmsg, len, "the image is for %.40s, not linux", cfg.os);
		goto out;
	}
	if (cfg.n_diff_ids != m.n_layers) {
		snprintf(errmsg, len, "the config lists %zu layers, the manifest %zu",
			 cfg.n_diff_ids, m.n_layers);
		goto out;
	}
	if ((rv = get_layers(p, &m, &cfg, errmsg, len)) != 0)
		goto out;
	img_digest_hex(p->digest, hex);
	if ((rv = img_blob_put(&p->lease, hex, p->body, p->n, errmsg, len)) != 0)
		goto out;
	img.refs = calloc(1, sizeof *img.refs);
	img.diff_ids = json_array();
	if (img.refs == NULL || img.diff_ids == NULL || (img.refs[0] = strdup(p->name)) == NULL ||
	    (img.manifest = strdup(p->digest)) == NULL || (img.top_digest = strdup(p->top)) == NULL ||
	    asprintf(&img.id, "%s", m.config.digest) < 0) {
		img.id = NULL;
		snprintf(errmsg, len, "out of memory");
		rv = MK_ENOMEM;
		goto out;
	}
	img.n_refs = 1;
	img.registry = true;
	img.created = cfg.created;
	for (size_t i = 0; i < cfg.n_diff_ids; i++)
		json_array_append_new(img.diff_ids, json_string(cfg.diff_ids[i]));
	rv = img_records_commit(p->s, &img, 1, errmsg, len);
out:
	img_new_free(&img);
	mf_manifest_free(&m);
	mf_config_free(&cfg);
	return rv;
}

int image_pull(struct image_store *s, const char *ref, const struct image_pull_opts *opts,
	       struct image_info **out, char *errmsg, size_t len)
{
	struct pull p = { .s = s };
	char msg[1024];
	int rv;
	if (out != NULL)
		*out = NULL;
	rv = img_ref_parse(ref, &p.ref, errmsg, len);
	if (rv != 0)
		return rv;
	img_ref_format(&p.ref, p.name, sizeof p.name);
	p.progress = opts ? opts->progress : NULL;
	p.arg = opts ? opts->progress_arg : NULL;
	rv = img_lease_begin(s, &p.lease, errmsg, len);
	if (rv != 0)
		return rv;
	msg[0] = '\0';
	rv = pull_run(&p, opts, msg, sizeof msg);
	img_lease_end(&p.lease);
	reg_close(p.reg);
	free(p.body);
	if (rv != 0) {
		snprintf(errmsg, len, "pull %s: %s", p.name, msg);
		img_one_line(errmsg, len);
		return rv;
	}
	if (out != NULL && (rv = image_resolve(s, p.name, out, msg, sizeof msg)) != 0)
		snprintf(errmsg, len, "pull %s: %s", p.name, msg);
	return rv;
}
