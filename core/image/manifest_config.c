/*
 * Image configs and the manifest.json of `docker save`: parse and check.
 * See manifest.h.
 */
#include "manifest.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "../base/err.h"

/* RFC 3339 ("2024-01-02T03:04:05.123Z", "...+02:00") to seconds. */
static time_t parse_time(const char *s)
{
	struct tm tm = { 0 };
	const char *p = s ? strptime(s, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
	if (p == NULL)
		return 0;
	if (*p == '.')
		for (p++; isdigit((unsigned char)*p); p++)
			;
	long off = 0;
	if ((*p == '+' || *p == '-') && isdigit((unsigned char)p[1])) {
		int hh = 0, mm = 0;
		if (sscanf(p + 1, "%2d:%2d", &hh, &mm) != 2)
			return 0;
		off = (hh * 3600L + mm * 60L) * (*p == '-' ? -1 : 1);
	} else if (*p != 'Z' && *p != 'z') {
		return 0;
	}
	time_t t = timegm(&tm);
	return t == (time_t)-1 ? 0 : t - off;
}

int mf_parse_config(const char *body, size_t n, struct mf_config *out, char *errmsg, size_t len)
{
	bool bad = false;
	int rv = MK_EINVAL;
	memset(out, 0, sizeof *out);
	json_t *j = mf_load(body, n, "image config", errmsg, len);
	if (j == NULL)
		return MK_EINVAL;
	json_t *cfg = json_object_get(j, "config");
	if (cfg != NULL && !json_is_null(cfg) && !json_is_object(cfg)) {
		snprintf(errmsg, len, "image config: config is not an object");
		goto out;
	}
	if (mf_strv(json_object_get(cfg, "Entrypoint"), &out->entrypoint, &out->n_entrypoint) ||
	    mf_strv(json_object_get(cfg, "Cmd"), &out->cmd, &out->n_cmd) ||
	    mf_strv(json_object_get(cfg, "Env"), &out->env, &out->n_env)) {
		snprintf(errmsg, len, "image config: Entrypoint, Cmd and Env must be string lists");
		goto out;
	}
	const char *wd = mf_opt_str(cfg, "WorkingDir", &bad);
	const char *user = mf_opt_str(cfg, "User", &bad);
	const char *os = mf_opt_str(j, "os", &bad);
	const char *arch = mf_opt_str(j, "architecture", &bad);
	const char *created = mf_opt_str(j, "created", &bad);
	if (bad) {
		snprintf(errmsg, len, "image config: a field is not a string");
		goto out;
	}
	json_t *rootfs = json_object_get(j, "rootfs");
	if (!json_is_object(rootfs) ||
	    mf_strv(json_object_get(rootfs, "diff_ids"), &out->diff_ids, &out->n_diff_ids)) {
		snprintf(errmsg, len, "image config: rootfs.diff_ids missing or not a list");
		goto out;
	}
	for (size_t i = 0; i < out->n_diff_ids; i++) {
		if (!mf_good_digest(out->diff_ids[i])) {
			snprintf(errmsg, len, "image config: rootfs.diff_ids[%zu]: bad digest", i);
			goto out;
		}
	}
	out->working_dir = mf_dup_or(wd, "");
	out->user = mf_dup_or(user, "");
	out->os = mf_dup_or(os, "");
	out->arch = mf_dup_or(arch, "");
	out->created = parse_time(created);
	if (!out->working_dir || !out->user || !out->os || !out->arch) {
		snprintf(errmsg, len, "out of memory");
		rv = MK_ENOMEM;
		goto out;
	}
	rv = 0;
out:
	json_decref(j);
	if (rv != 0)
		mf_config_free(out);
	return rv;
}

void mf_config_free(struct mf_config *c)
{
	if (c == NULL)
		return;
	mf_free_strv(c->entrypoint, c->n_entrypoint);
	mf_free_strv(c->cmd, c->n_cmd);
	mf_free_strv(c->env, c->n_env);
	mf_free_strv(c->diff_ids, c->n_diff_ids);
	free(c->working_dir);
	free(c->user);
	free(c->os);
	free(c->arch);
	memset(c, 0, sizeof *c);
}

int mf_parse_docker(const char *body, size_t n, struct mf_docker_image **out, size_t *count,
		    char *errmsg, size_t len)
{
	json_error_t je;
	*out = NULL;
	*count = 0;
	json_t *j = json_loadb(body, n, JSON_REJECT_DUPLICATES, &je);
	if (!json_is_array(j) || json_array_size(j) == 0 || json_array_size(j) > MF_MAX_ITEMS) {
		snprintf(errmsg, len, "manifest.json: %s",
			 j == NULL ? je.text : "not a non-empty list of images");
		json_decref(j);
		return MK_EINVAL;
	}
	size_t k = json_array_size(j);
	struct mf_docker_image *v = calloc(k, sizeof *v);
	int rv = v ? 0 : MK_ENOMEM;
	for (size_t i = 0; rv == 0 && i < k; i++) {
		json_t *e = json_array_get(j, i);
		const char *cfg = json_string_value(json_object_get(e, "Config"));
		if (cfg == NULL ||
		    mf_strv(json_object_get(e, "RepoTags"), &v[i].repo_tags, &v[i].n_repo_tags) ||
		    mf_strv(json_object_get(e, "Layers"), &v[i].layers, &v[i].n_layers)) {
			snprintf(errmsg, len,
				 "manifest.json: image %zu: Config, RepoTags or Layers malformed", i);
			rv = MK_EINVAL;
		} else if ((v[i].config = strdup(cfg)) == NULL) {
			rv = MK_ENOMEM;
		}
	}
	json_decref(j);
	if (rv != 0) {
		if (rv == MK_ENOMEM)
			snprintf(errmsg, len, "out of memory");
		mf_docker_free(v, k);
		return rv;
	}
	*out = v;
	*count = k;
	return 0;
}

void mf_docker_free(struct mf_docker_image *v, size_t n)
{
	for (size_t i = 0; i < n && v != NULL; i++) {
		free(v[i].config);
		mf_free_strv(v[i].repo_tags, v[i].n_repo_tags);
		mf_free_strv(v[i].layers, v[i].n_layers);
	}
	free(v);
}
