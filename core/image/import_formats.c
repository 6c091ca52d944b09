/*
 * The two archive formats image_import reads, once spooled (import.c):
 *
 *   docker save:  manifest.json [{Config, RepoTags, Layers}], the config
 *                 file (named by its digest) and one tar per layer; layers
 *                 are checked against the config's rootfs.diff_ids.
 *   OCI layout:   oci-layout, index.json, blobs/sha256/<hex> (skopeo's
 *                 oci-archive, and Docker 25+ docker save, which has
 *                 both); the reference comes from the index entry's
 *                 io.containerd.image.name or org.opencontainers.image.
 *                 ref.name annotation, as containerd takes it.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../base/err.h"
#include "image_internal.h"
#include "manifest.h"
#include "ref.h"

#define MAX_NESTING 4

static int read_entry(const struct spool *sp, const struct spool_entry *e, size_t max,
		      char **data, size_t *n, char *errmsg, size_t len)
{
	if (e->size > max) {
		snprintf(errmsg, len, "%s: %s is larger than %zu bytes", sp->name, e->name, max);
		return MK_EINVAL;
	}
	return img_file_read(e->file, max, data, n, errmsg, len);
}

/* Unpacks layer i from files[i] unless present. */
static int put_layers(struct spool *sp, char **diff_ids, const struct spool_entry **files,
		      size_t n, char *errmsg, size_t len)
{
	char what[96], msg[1024];
	for (size_t i = 0; i < n; i++) {
		snprintf(what, sizeof what, "sha256:%.12s layer", diff_ids[i] + 7);
		int rv = img_layer_claim(sp->lease, diff_ids[i], errmsg, len);
		if (rv == 1) {
			if (sp->progress != NULL) {
				strcat(what, " exists");
				sp->progress(sp->arg, what, 0, 0);
			}
			continue;
		}
		if (rv < 0)
			return rv;
		int fd = open(files[i]->file, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			img_layer_unclaim(sp->lease, diff_ids[i]);
			snprintf(errmsg, len, "cannot open %s: %m", files[i]->file);
			return MK_EIO;
		}
		rv = img_layer_commit(sp->lease, fd, diff_ids[i], what, files[i]->size, sp->progress,
				  sp->arg, msg, sizeof msg);
		close(fd);
		img_layer_unclaim(sp->lease, diff_ids[i]);
		if (rv != 0) {
			snprintf(errmsg, len, "%s: %s", sp->name, msg);
			return rv;
		}
	}
	return 0;
}

/* Reads, parses and checks a config; the caller frees cfg. */
static int load_config(struct spool *sp, const struct spool_entry *e, struct mf_config *cfg,
		       size_t n_layers, char *errmsg, size_t len)
{
	char *data, msg[512];
	size_t n;
	int rv = read_entry(sp, e, IMG_MAX_CONFIG, &data, &n, errmsg, len);
	if (rv != 0)
		return rv;
	rv = mf_parse_config(data, n, cfg, msg, sizeof msg);
	if (rv != 0) {
		snprintf(errmsg, len, "%s: %s: %s", sp->name, e->name, msg);
	} else if (cfg->os[0] != '\0' && strcmp(cfg->os, "linux") != 0) {
		snprintf(errmsg, len, "%s: the image is for %.40s, not linux", sp->name, cfg->os);
		rv = MK_EINVAL;
	} else if (cfg->n_diff_ids != n_layers) {
		snprintf(errmsg, len, "%s: the config lists %zu layers, the manifest %zu", sp->name,
			 cfg->n_diff_ids, n_layers);
		rv = MK_EINVAL;
	} else {
		rv = img_blob_put(sp->lease, e->hex, data, n, errmsg, len);
	}
	free(data);
	return rv;
}

/* The image record for what was loaded; takes nothing from cfg. */
static int fill_new(struct img_new *img, const char *config_hex, const struct mf_config *cfg,
		    char *errmsg, size_t len)
{
	if (asprintf(&img->id, "sha256:%s", config_hex) < 0) {
		img->id = NULL;
		goto oom;
	}
	img->created = cfg->created;
	img->diff_ids = json_array();
	if (img->diff_ids == NULL)
		goto oom;
	for (size_t i = 0; i < cfg->n_diff_ids; i++)
		if (json_array_append_new(img->diff_ids, json_string(cfg->diff_ids[i])) != 0)
			goto oom;
	return 0;
oom:
	snprintf(errmsg, len, "out of memory");
	return MK_ENOMEM;
}

static int add_ref(struct img_new *img, const char *ref, const char *archive, char *errmsg,
		   size_t len)
{
	char norm[600], msg[300];
	if (image_ref_normalize(ref, norm, sizeof norm, msg, sizeof msg) != 0) {
		snprintf(errmsg, len, "%s: %s", archive, msg);
		return MK_EINVAL;
	}
	for (size_t i = 0; i < img->n_refs; i++)
		if (strcmp(img->refs[i], norm) == 0)
			return 0;
	char **v = realloc(img->refs, (img->n_refs + 1) * sizeof *v);
	if (v == NULL || (v[img->n_refs] = strdup(norm)) == NULL) {
		if (v != NULL)
			img->refs = v;
		snprintf(errmsg, len, "out of memory");
		return MK_ENOMEM;
	}
	img->refs = v;
	img->n_refs++;
	return 0;
}

static const struct spool_entry *must_find(const struct spool *sp, const char *name,
					   const char *by, char *errmsg, size_t len)
{
	const struct spool_entry *e = img_spool_find(sp, name);
	if (e == NULL)
		snprintf(errmsg, len, "%s: %.200s, named by %s, is not in the archive", sp->name,
			 name, by);
	return e;
}

static int docker_one(struct spool *sp, const struct mf_docker_image *di, struct img_new *img,
		      char *errmsg, size_t len)
{
	struct mf_config cfg = { 0 };
	const struct spool_entry **files = NULL;
	char hex[65];
	const struct spool_entry *ce = must_find(sp, di->config, "manifest.json", errmsg, len);
	if (ce == NULL)
		return MK_EINVAL;
	/* The config is named by its digest ("<hex>.json" or
	 * "blobs/sha256/<hex>"): the name is the image id it claims. */
	const char *base = strrchr(di->config, '/') ? strrchr(di->config, '/') + 1 : di->config;
	char claimed[80];
	snprintf(claimed, sizeof claimed, "sha256:%.64s", base);
	if (img_digest_hex(claimed, hex) && strcmp(hex, ce->hex) != 0) {
		snprintf(errmsg, len, "%s: config %.100s does not match its digest", sp->name,
			 di->config);
		return MK_EINVAL;
	}
	int rv = load_config(sp, ce, &cfg, di->n_layers, errmsg, len);
	if (rv != 0)
		goto out;
	files = calloc(di->n_layers + 1, sizeof *files);
	if (files == NULL) {
		snprintf(errmsg, len, "out of memory");
		rv = MK_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < di->n_layers; i++)
		if ((files[i] = must_find(sp, di->layers[i], "manifest.json", errmsg, len)) == NULL) {
			rv = MK_EINVAL;
			goto out;
		}
	rv = put_layers(sp, cfg.diff_ids, files, di->n_layers, errmsg, len);
	if (rv == 0)
		rv = fill_new(img, ce->hex, &cfg, errmsg, len);
	for (size_t i = 0; rv == 0 && i < di->n_repo_tags; i++)
		rv = add_ref(img, di->repo_tags[i], sp->name, errmsg, len);
out:
	free(files);
	mf_config_free(&cfg);
	return rv;
}

int img_import_docker(struct spool *sp, struct img_new **out, size_t *n, char *errmsg, size_t len)
{
	struct mf_docker_image *v = NULL;
	size_t count = 0;
	char *data, msg[512];
	size_t dn;
	int rv = read_entry(sp, img_spool_find(sp, "manifest.json"), IMG_MAX_MANIFEST, &data, &dn,
			    errmsg, len);
	if (rv != 0)
		return rv;
	rv = mf_parse_docker(data, dn, &v, &count, msg, sizeof msg);
	free(data);
	if (rv != 0) {
		snprintf(errmsg, len, "%s: %s", sp->name, msg);
		return rv;
	}
	*out = calloc(count, sizeof **out);
	*n = count;
	if (*out == NULL) {
		*n = 0;
		snprintf(errmsg, len, "out of memory");
		rv = MK_ENOMEM;
	}
	for (size_t i = 0; rv == 0 && i < count; i++)
		rv = docker_one(sp, &v[i], &(*out)[i], errmsg, len);
	mf_docker_free(v, count);
	return rv;
}

/* The blob a descriptor names, checked for size; read when body != NULL. */
static const struct spool_entry *oci_blob(struct spool *sp, const struct mf_desc *d,
					  const char *by, char *errmsg, size_t len)
{
	char name[96];
	snprintf(name, sizeof name, "blobs/sha256/%s", d->digest + 7);
	const struct spool_entry *e = must_find(sp, name, by, errmsg, len);
	if (e != NULL && d->size >= 0 && e->size != (uint64_t)d->size) {
		snprintf(errmsg, len, "%s: %s is %llu bytes, %s says %lld", sp->name, name,
			 (unsigned long long)e->size, by, (long long)d->size);
		return NULL;
	}
	return e;
}

static int oci_one(struct spool *sp, const struct mf_desc *top, struct img_new *img,
		   char *errmsg, size_t len)
{
	struct mf_index ix = { 0 };
	struct mf_manifest m = { 0 };
	struct mf_config cfg = { 0 };
	const struct spool_entry *e, **files = NULL;
	char *body = NULL, digest[80], mt[160], msg[512];
	size_t n;
	int rv = MK_EINVAL;
	snprintf(digest, sizeof digest, "%s", top->digest);
	snprintf(mt, sizeof mt, "%s", top->media_type);
	for (int depth = 0;; depth++) {
		struct mf_desc d = { .digest = digest, .media_type = mt, .size = -1 };
		if (depth == 0)
			d.size = top->size;
		if ((e = oci_blob(sp, &d, "index.json", errmsg, len)) == NULL)
			goto out;
		free(body);
		body = NULL;
		if ((rv = read_entry(sp, e, IMG_MAX_MANIFEST, &body, &n, errmsg, len)) != 0)
			goto out;
		rv = MK_EINVAL;
		enum mf_kind k = mf_kind_of(mt[0] ? mt : NULL, body, n);
		if (k == MF_MANIFEST)
			break;
		if (k != MF_INDEX || depth == MAX_NESTING) {
			snprintf(errmsg, len, "%s: %s is not an image manifest or index", sp->name,
				 digest);
			goto out;
		}
		mf_index_free(&ix);
		if (mf_parse_index(body, n, &ix, msg, sizeof msg) != 0) {
			snprintf(errmsg, len, "%s: %s", sp->name, msg);
			goto out;
		}
		int pick = mf_pick(&ix, mf_host_arch(), mf_host_variant());
		if (pick < 0) {
			snprintf(errmsg, len, "%s: no linux/%s image in %s", sp->name,
				 mf_host_arch(), digest);
			goto out;
		}
		snprintf(digest, sizeof digest, "%s", ix.manifests[pick].digest);
		snprintf(mt, sizeof mt, "%s", ix.manifests[pick].media_type);
	}
	if (mf_parse_manifest(body, n, &m, msg, sizeof msg) != 0) {
		snprintf(errmsg, len, "%s: %s", sp->name, msg);
		goto out;
	}
	if ((rv = img_blob_put(sp->lease, digest + 7, body, n, errmsg, len)) != 0)
		goto out;
	rv = MK_EINVAL;
	if ((e = oci_blob(sp, &m.config, "the manifest", errmsg, len)) == NULL)
		goto out;
	if ((rv = load_config(sp, e, &cfg, m.n_layers, errmsg, len)) != 0)
		goto out;
	files = calloc(m.n_layers + 1, sizeof *files);
	if (files == NULL) {
		snprintf(errmsg, len, "out of memory");
		rv = MK_ENOMEM;
		goto out;
	}
	rv = MK_EINVAL;
	for (size_t i = 0; i < m.n_layers; i++)
		if ((files[i] = oci_blob(sp, &m.layers[i], "the manifest", errmsg, len)) == NULL)
			goto out;
	if ((rv = put_layers(sp, cfg.diff_ids, files, m.n_layers, errmsg, len)) != 0)
		goto out;
	if ((rv = fill_new(img, e->hex, &cfg, errmsg, len)) != 0)
		goto out;
	img->manifest = strdup(digest);
	img->top_digest = strdup(top->digest);
	img->registry = true;
	if (img->manifest == NULL || img->top_digest == NULL) {
		snprintf(errmsg, len, "out of memory");
		rv = MK_ENOMEM;
		goto out;
	}
	/* A bare tag ("1.35") names no repository: the image comes in
	 * without a reference, as containerd has it without --base-name. */
	const char *name = top->ref_name;
	if (name != NULL && strpbrk(name, "/:@") != NULL)
		rv = add_ref(img, name, sp->name, errmsg, len);
out:
	free(body);
	free(files);
	mf_index_free(&ix);
	mf_manifest_free(&m);
	mf_config_free(&cfg);
	return rv;
}

int img_import_oci(struct spool *sp, struct img_new **out, size_t *n, char *errmsg, size_t len)
{
	struct mf_index ix;
	char *data, msg[512];
	size_t dn;
	int rv = read_entry(sp, img_spool_find(sp, "index.json"), IMG_MAX_MANIFEST, &data, &dn,
			    errmsg, len);
	if (rv != 0)
		return rv;
	rv = mf_parse_index(data, dn, &ix, msg, sizeof msg);
	free(data);
	if (rv != 0) {
		snprintf(errmsg, len, "%s: %s", sp->name, msg);
		return rv;
	}
	if (ix.n == 0) {
		snprintf(errmsg, len, "%s: index.json lists no image", sp->name);
		mf_index_free(&ix);
		return MK_EINVAL;
	}
	*out = calloc(ix.n, sizeof **out);
	*n = *out ? ix.n : 0;
	rv = *out ? 0 : MK_ENOMEM;
	if (rv != 0)
		snprintf(errmsg, len, "out of memory");
	for (size_t i = 0; rv == 0 && i < ix.n; i++)
		rv = oci_one(sp, &ix.manifests[i], &(*out)[i], errmsg, len);
	mf_index_free(&ix);
	return rv;
}
