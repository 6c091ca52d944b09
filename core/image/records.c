/*
 * Image records in meta.json: adding images and references, and turning
 * a record into the image_info the node agent runs a container from.
 *
 *   images: { "sha256:<config>": { "layers": [diff_id...], "size": N,
 *                                  "created": T } }
 *   refs:   { "<normalized ref>": { "id": "sha256:<config>",
 *             "manifest": "sha256:<digest>"?, "repo_digest": "R@sha256:..."? } }
 *   holds:  { "<holder>": "sha256:<config>" }
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../base/err.h"
#include "image_internal.h"
#include "manifest.h"
#include "ref.h"

void img_new_free(struct img_new *n)
{
	if (n == NULL)
		return;
	free(n->id);
	json_decref(n->diff_ids);
	image_refs_free(n->refs, n->n_refs);
	free(n->manifest);
	free(n->top_digest);
	memset(n, 0, sizeof *n);
}

/* Whether anything still names image id. */
static bool image_wanted(json_t *meta, const char *id)
{
	const char *k;
	json_t *v;
	json_object_foreach(json_object_get(meta, "refs"), k, v)
		if (strcmp(json_string_value(json_object_get(v, "id")), id) == 0)
			return true;
	json_object_foreach(json_object_get(meta, "holds"), k, v)
		if (strcmp(json_string_value(v), id) == 0)
			return true;
	return false;
}

bool img_records_drop_orphan(json_t *meta, const char *id)
{
	if (id == NULL || image_wanted(meta, id))
		return false;
	return json_object_del(json_object_get(meta, "images"), id) == 0;
}

static json_t *ref_entry(const struct img_new *n, const char *ref)
{
	json_t *e = json_pack("{s:s}", "id", n->id);
	if (e == NULL || n->manifest == NULL)
		return e;
	json_object_set_new(e, "manifest", json_string(n->manifest));
	struct img_ref r;
	char repo[600], rd[700], ignored[256];
	if (n->registry && img_ref_parse(ref, &r, ignored, sizeof ignored) == 0) {
		img_ref_repo(&r, repo, sizeof repo);
		snprintf(rd, sizeof rd, "%s@%s", repo, n->top_digest ? n->top_digest : n->manifest);
		json_object_set_new(e, "repo_digest", json_string(rd));
	}
	return e;
}

int img_records_commit(struct image_store *s, struct img_new *v, size_t n, char *errmsg, size_t len)
{
	json_t *meta;
	bool collect = false;
	int rv = img_meta_begin(s, &meta, errmsg, len);
	if (rv != 0)
		return rv;
	json_t *images = json_object_get(meta, "images"), *refs = json_object_get(meta, "refs");
	for (size_t i = 0; i < n; i++) {
		uint64_t size = 0;
		size_t k;
		json_t *d;
		json_array_foreach(v[i].diff_ids, k, d)
			size += img_layer_size(s, json_string_value(d) + 7);
		json_t *rec = json_pack("{s:O, s:I, s:I}", "layers", v[i].diff_ids, "size",
					(json_int_t)size, "created", (json_int_t)v[i].created);
		if (rec == NULL || json_object_set_new(images, v[i].id, rec) != 0)
			goto oom;
		for (size_t j = 0; j < v[i].n_refs; j++) {
			json_t *old = json_object_get(refs, v[i].refs[j]);
			char *old_id = NULL;
			if (old != NULL) {
				const char *m = json_string_value(json_object_get(old, "manifest"));
				old_id = strdup(json_string_value(json_object_get(old, "id")));
				if (old_id == NULL)
					goto oom;
				collect |= m != NULL &&
					   (v[i].manifest == NULL || strcmp(m, v[i].manifest) != 0);
			}
			json_t *e = ref_entry(&v[i], v[i].refs[j]);
			if (e == NULL || json_object_set_new(refs, v[i].refs[j], e) != 0) {
				free(old_id);
				goto oom;
			}
			/* The reference moved: the image it named may be left
			 * with no reason to stay. */
			if (old_id != NULL && strcmp(old_id, v[i].id) != 0)
				collect |= img_records_drop_orphan(meta, old_id);
			free(old_id);
		}
	}
	rv = img_meta_commit(s, meta, errmsg, len);
	if (rv == 0 && collect)
		img_gc_locked(s, meta, errmsg, len);
	img_meta_end(s, meta);
	return rv;
oom:
	img_meta_end(s, meta);
	snprintf(errmsg, len, "out of memory");
	return MK_ENOMEM;
}

static char **strv_take(char **v, size_t n, size_t *out_n)
{
	*out_n = n;
	return v != NULL ? v : calloc(1, sizeof(char *));
}

int img_records_info(struct image_store *s, json_t *meta, const char *id, const char *ref,
		 struct image_info **out, char *errmsg, size_t len)
{
	json_t *rec = json_object_get(json_object_get(meta, "images"), id);
	json_t *layers = json_object_get(rec, "layers");
	char hex[65], path[PATH_MAX];
	struct mf_config cfg;
	char *data = NULL;
	size_t n;
	int rv;

	*out = NULL;
	if (!json_is_array(layers) || !img_digest_hex(id, hex)) {
		snprintf(errmsg, len, "image %.80s: damaged record", id);
		return MK_EIO;
	}
	img_blob_path(s, hex, path, sizeof path);
	rv = img_file_read(path, IMG_MAX_CONFIG, &data, &n, errmsg, len);
	if (rv == MK_ENOTFOUND)
		snprintf(errmsg, len, "image %.80s is incomplete: its config is missing", id);
	if (rv != 0)
		return rv;
	rv = mf_parse_config(data, n, &cfg, errmsg, len);
	free(data);
	if (rv != 0)
		return rv;
	struct image_info *i = calloc(1, sizeof *i);
	size_t nl = json_array_size(layers);
	if (i == NULL || (i->layer_dirs = calloc(nl + 1, sizeof(char *))) == NULL)
		goto oom;
	for (size_t k = 0; k < nl; k++) {
		/* overlayfs wants the topmost lowerdir first. */
		const char *d = json_string_value(json_array_get(layers, nl - 1 - k));
		struct stat st;
		if (!img_digest_hex(d, hex)) {
			snprintf(errmsg, len, "image %.80s: damaged record", id);
			rv = MK_EIO;
			goto fail;
		}
		img_layer_path(s, hex, path, sizeof path);
		if (asprintf(&i->layer_dirs[k], "%s/fs", path) < 0) {
			i->layer_dirs[k] = NULL;
			goto oom;
		}
		i->n_layers = k + 1;
		if (stat(i->layer_dirs[k], &st) != 0) {
			snprintf(errmsg, len, "image %.80s is incomplete: layer %.19s... is missing",
				 id, d);
			rv = MK_ENOTFOUND;
			goto fail;
		}
	}
	const char *rd = NULL;
	json_t *r = ref ? json_object_get(json_object_get(meta, "refs"), ref) : NULL;
	if (r != NULL) {
		rd = json_string_value(json_object_get(r, "repo_digest"));
	} else {
		const char *k;
		json_t *v;
		json_object_foreach(json_object_get(meta, "refs"), k, v)
			if (rd == NULL && strcmp(json_string_value(json_object_get(v, "id")), id) == 0)
				rd = json_string_value(json_object_get(v, "repo_digest"));
	}
	i->id = strdup(id);
	i->ref = ref ? strdup(ref) : NULL;
	i->repo_digest = rd ? strdup(rd) : NULL;
	if (i->id == NULL || (ref && !i->ref) || (rd && !i->repo_digest))
		goto oom;
	i->entrypoint = strv_take(cfg.entrypoint, cfg.n_entrypoint, &i->n_entrypoint);
	i->cmd = strv_take(cfg.cmd, cfg.n_cmd, &i->n_cmd);
	i->env = strv_take(cfg.env, cfg.n_env, &i->n_env);
	i->working_dir = cfg.working_dir;
	i->user = cfg.user;
	cfg.entrypoint = cfg.cmd = cfg.env = NULL;
	cfg.n_entrypoint = cfg.n_cmd = cfg.n_env = 0;
	cfg.working_dir = cfg.user = NULL;
	i->size = (uint64_t)json_integer_value(json_object_get(rec, "size"));
	mf_config_free(&cfg);
	if (!i->entrypoint || !i->cmd || !i->env)
		goto oom;
	*out = i;
	return 0;
oom:
	snprintf(errmsg, len, "out of memory");
	rv = MK_ENOMEM;
fail:
	mf_config_free(&cfg);
	image_info_free(i);
	return rv;
}

static void free_strv(char **v, size_t n)
{
	for (size_t k = 0; k < n && v != NULL; k++)
		free(v[k]);
	free(v);
}

void image_info_free(struct image_info *i)
{
	if (i == NULL)
		return;
	free(i->ref);
	free(i->id);
	free(i->repo_digest);
	free_strv(i->entrypoint, i->n_entrypoint);
	free_strv(i->cmd, i->n_cmd);
	free_strv(i->env, i->n_env);
	free(i->working_dir);
	free(i->user);
	free_strv(i->layer_dirs, i->n_layers);
	free(i);
}

void image_refs_free(char **refs, size_t n)
{
	free_strv(refs, n);
}
