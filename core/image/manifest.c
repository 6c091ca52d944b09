/*
 * Image JSON documents: parse and check.  See manifest.h.
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

bool mf_good_digest(const char *d)
{
	if (d == NULL || strncmp(d, "sha256:", 7) != 0 || strlen(d) != 7 + 64)
		return false;
	for (const char *p = d + 7; *p; p++)
		if (!isdigit((unsigned char)*p) && !(*p >= 'a' && *p <= 'f'))
			return false;
	return true;
}

json_t *mf_load(const char *body, size_t n, const char *doc, char *errmsg, size_t len)
{
	json_error_t je;
	json_t *j = json_loadb(body, n, JSON_REJECT_DUPLICATES, &je);
	if (j == NULL) {
		snprintf(errmsg, len, "%s: not valid JSON: %s", doc, je.text);
		return NULL;
	}
	if (!json_is_object(j)) {
		snprintf(errmsg, len, "%s: not a JSON object", doc);
		json_decref(j);
		return NULL;
	}
	return j;
}

const char *mf_opt_str(json_t *o, const char *key, bool *bad)
{
	json_t *v = json_object_get(o, key);
	if (v == NULL || json_is_null(v))
		return NULL;
	if (!json_is_string(v)) {
		*bad = true;
		return NULL;
	}
	return json_string_value(v);
}

char *mf_dup_or(const char *s, const char *dflt)
{
	return strdup(s != NULL ? s : dflt);
}

void mf_free_strv(char **v, size_t n)
{
	for (size_t i = 0; i < n && v != NULL; i++)
		free(v[i]);
	free(v);
}

int mf_strv(json_t *a, char ***out, size_t *n)
{
	*out = NULL;
	*n = 0;
	if (a == NULL || json_is_null(a))
		return 0;
	if (!json_is_array(a) || json_array_size(a) > MF_MAX_ITEMS)
		return MK_EINVAL;
	size_t k = json_array_size(a);
	char **v = calloc(k + 1, sizeof *v);
	if (v == NULL)
		return MK_ENOMEM;
	for (size_t i = 0; i < k; i++) {
		json_t *e = json_array_get(a, i);
		if (!json_is_string(e) || (v[i] = strdup(json_string_value(e))) == NULL) {
			mf_free_strv(v, i);
			return json_is_string(e) ? MK_ENOMEM : MK_EINVAL;
		}
	}
	*out = v;
	*n = k;
	return 0;
}

enum mf_kind mf_kind_of(const char *ct, const char *body, size_t n)
{
	if (ct != NULL) {
		if (strncmp(ct, MT_OCI_INDEX, strlen(MT_OCI_INDEX)) == 0 ||
		    strncmp(ct, MT_DOCKER_LIST, strlen(MT_DOCKER_LIST)) == 0)
			return MF_INDEX;
		if (strncmp(ct, MT_OCI_MANIFEST, strlen(MT_OCI_MANIFEST)) == 0 ||
		    strncmp(ct, MT_DOCKER_MANIFEST, strlen(MT_DOCKER_MANIFEST)) == 0)
			return MF_MANIFEST;
		if (strstr(ct, "distribution.manifest.v1") != NULL)
			return MF_SCHEMA1;
	}
	/* OCI documents may leave mediaType out: look inside. */
	json_t *j = json_loadb(body, n, 0, NULL);
	enum mf_kind k = MF_UNKNOWN;
	if (json_is_object(j)) {
		const char *mt = json_string_value(json_object_get(j, "mediaType"));
		json_t *sv = json_object_get(j, "schemaVersion");
		if (mt != NULL && (strcmp(mt, MT_OCI_INDEX) == 0 || strcmp(mt, MT_DOCKER_LIST) == 0))
			k = MF_INDEX;
		else if (mt != NULL &&
			 (strcmp(mt, MT_OCI_MANIFEST) == 0 || strcmp(mt, MT_DOCKER_MANIFEST) == 0))
			k = MF_MANIFEST;
		else if (json_integer_value(sv) == 1)
			k = MF_SCHEMA1;
		else if (json_is_array(json_object_get(j, "manifests")))
			k = MF_INDEX;
		else if (json_is_object(json_object_get(j, "config")) &&
			 json_is_array(json_object_get(j, "layers")))
			k = MF_MANIFEST;
	}
	json_decref(j);
	return k;
}

static void desc_free(struct mf_desc *d)
{
	free(d->media_type);
	free(d->digest);
	free(d->os);
	free(d->arch);
	free(d->variant);
	free(d->ref_name);
	memset(d, 0, sizeof *d);
}

static int desc_parse(json_t *o, struct mf_desc *d, const char *doc, const char *where,
		      char *errmsg, size_t len)
{
	bool bad = false;
	memset(d, 0, sizeof *d);
	if (!json_is_object(o)) {
		snprintf(errmsg, len, "%s: %s: not an object", doc, where);
		return MK_EINVAL;
	}
	const char *mt = mf_opt_str(o, "mediaType", &bad);
	const char *dg = mf_opt_str(o, "digest", &bad);
	json_t *size = json_object_get(o, "size");
	if (bad || !mf_good_digest(dg)) {
		snprintf(errmsg, len, "%s: %s: %s", doc, where,
			 bad ? "a field is not a string" : "bad or missing sha256 digest");
		return MK_EINVAL;
	}
	if (size != NULL && (!json_is_integer(size) || json_integer_value(size) < 0)) {
		snprintf(errmsg, len, "%s: %s: bad size", doc, where);
		return MK_EINVAL;
	}
	d->size = size != NULL ? json_integer_value(size) : -1;
	json_t *pf = json_object_get(o, "platform");
	const char *os = NULL, *arch = NULL, *variant = NULL;
	if (json_is_object(pf)) {
		os = mf_opt_str(pf, "os", &bad);
		arch = mf_opt_str(pf, "architecture", &bad);
		variant = mf_opt_str(pf, "variant", &bad);
	}
	json_t *ann = json_object_get(o, "annotations");
	const char *name = NULL;
	if (json_is_object(ann)) {
		name = mf_opt_str(ann, "io.containerd.image.name", &bad);
		if (name == NULL)
			name = mf_opt_str(ann, "org.opencontainers.image.ref.name", &bad);
	}
	if (bad) {
		snprintf(errmsg, len, "%s: %s: a field is not a string", doc, where);
		return MK_EINVAL;
	}
	d->media_type = mf_dup_or(mt, "");
	d->digest = strdup(dg);
	d->os = os ? strdup(os) : NULL;
	d->arch = arch ? strdup(arch) : NULL;
	d->variant = variant ? strdup(variant) : NULL;
	d->ref_name = name ? strdup(name) : NULL;
	if (d->media_type == NULL || d->digest == NULL || (os && !d->os) || (arch && !d->arch) ||
	    (variant && !d->variant) || (name && !d->ref_name)) {
		desc_free(d);
		snprintf(errmsg, len, "out of memory");
		return MK_ENOMEM;
	}
	return 0;
}

static int desc_array(json_t *a, struct mf_desc **out, size_t *n, const char *doc,
		      const char *field, char *errmsg, size_t len)
{
	*out = NULL;
	*n = 0;
	if (!json_is_array(a) || json_array_size(a) > MF_MAX_ITEMS) {
		snprintf(errmsg, len, "%s: %s: missing or not a list", doc, field);
		return MK_EINVAL;
	}
	size_t k = json_array_size(a);
	struct mf_desc *v = calloc(k + 1, sizeof *v);
	if (v == NULL) {
		snprintf(errmsg, len, "out of memory");
		return MK_ENOMEM;
	}
	for (size_t i = 0; i < k; i++) {
		char where[64];
		snprintf(where, sizeof where, "%s[%zu]", field, i);
		int rv = desc_parse(json_array_get(a, i), &v[i], doc, where, errmsg, len);
		if (rv != 0) {
			for (size_t j = 0; j < i; j++)
				desc_free(&v[j]);
			free(v);
			return rv;
		}
	}
	*out = v;
	*n = k;
	return 0;
}

int mf_parse_index(const char *body, size_t n, struct mf_index *out, char *errmsg, size_t len)
{
	memset(out, 0, sizeof *out);
	json_t *j = mf_load(body, n, "index", errmsg, len);
	if (j == NULL)
		return MK_EINVAL;
	int rv = desc_array(json_object_get(j, "manifests"), &out->manifests, &out->n, "index",
			    "manifests", errmsg, len);
	json_decref(j);
	return rv;
}

void mf_index_free(struct mf_index *ix)
{
	if (ix == NULL)
		return;
	for (size_t i = 0; i < ix->n; i++)
		desc_free(&ix->manifests[i]);
	free(ix->manifests);
	memset(ix, 0, sizeof *ix);
}

int mf_parse_manifest(const char *body, size_t n, struct mf_manifest *out, char *errmsg,
		      size_t len)
{
	memset(out, 0, sizeof *out);
	json_t *j = mf_load(body, n, "manifest", errmsg, len);
	if (j == NULL)
		return MK_EINVAL;
	int rv = desc_parse(json_object_get(j, "config"), &out->config, "manifest", "config",
			    errmsg, len);
	if (rv == 0)
		rv = desc_array(json_object_get(j, "layers"), &out->layers, &out->n_layers,
				"manifest", "layers", errmsg, len);
	const char *cmt = out->config.media_type;
	if (rv == 0 && cmt != NULL && cmt[0] != '\0' &&
	    strcmp(cmt, "application/vnd.oci.image.config.v1+json") != 0 &&
	    strcmp(cmt, "application/vnd.docker.container.image.v1+json") != 0) {
		snprintf(errmsg, len, "manifest: not a container image (config type %.100s)", cmt);
		rv = MK_EINVAL;
	}
	for (size_t i = 0; rv == 0 && i < out->n_layers; i++) {
		if (!mf_layer_type_ok(out->layers[i].media_type)) {
			snprintf(errmsg, len, "manifest: layers[%zu]: unsupported media type %.100s",
				 i, out->layers[i].media_type);
			rv = MK_EINVAL;
		}
	}
	json_decref(j);
	if (rv != 0)
		mf_manifest_free(out);
	return rv;
}

void mf_manifest_free(struct mf_manifest *m)
{
	if (m == NULL)
		return;
	desc_free(&m->config);
	for (size_t i = 0; i < m->n_layers; i++)
		desc_free(&m->layers[i]);
	free(m->layers);
	memset(m, 0, sizeof *m);
}

const char *mf_host_arch(void)
{
#if defined(__x86_64__)
	return "amd64";
#elif defined(__aarch64__)
	return "arm64";
#elif defined(__arm__)
	return "arm";
#elif defined(__i386__)
	return "386";
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return "ppc64le";
#elif defined(__s390x__)
	return "s390x";
#elif defined(__riscv) && __riscv_xlen == 64
	return "riscv64";
#elif defined(__mips64) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	return "mips64le";
#else
#error "unknown target architecture: add its OCI name to mf_host_arch"
#endif
}

const char *mf_host_variant(void)
{
#if defined(__aarch64__)
	return "v8";
#elif defined(__arm__) && defined(__ARM_ARCH) && __ARM_ARCH >= 7
	return "v7";
#elif defined(__arm__) && defined(__ARM_ARCH) && __ARM_ARCH == 6
	return "v6";
#elif defined(__arm__)
	return "v5";
#else
	return "";
#endif
}

int mf_pick(const struct mf_index *ix, const char *arch, const char *variant)
{
	int loose = -1;
	for (size_t i = 0; i < ix->n; i++) {
		const struct mf_desc *d = &ix->manifests[i];
		if (d->os == NULL || strcmp(d->os, "linux") != 0 || d->arch == NULL ||
		    strcmp(d->arch, arch) != 0)
			continue;
		const char *v = d->variant ? d->variant : "";
		if (strcmp(v, variant) == 0)
			return (int)i;
		/* arm64 images often say nothing; "v8" is implied. */
		if (v[0] == '\0' && loose < 0)
			loose = (int)i;
	}
	return loose;
}

int mf_layer_type_ok(const char *mt)
{
	const char *const ok[] = {
		"",
		"application/vnd.oci.image.layer.v1.tar",
		"application/vnd.oci.image.layer.v1.tar+gzip",
		"application/vnd.oci.image.layer.v1.tar+zstd",
		"application/vnd.oci.image.layer.nondistributable.v1.tar",
		"application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
		"application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
		"application/vnd.docker.image.rootfs.diff.tar",
		"application/vnd.docker.image.rootfs.diff.tar.gzip",
		"application/vnd.docker.image.rootfs.diff.tar.zstd",
	};
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
		if (strcmp(mt, ok[i]) == 0)
			return 1;
	return 0;
}
