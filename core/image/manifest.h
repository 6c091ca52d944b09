/*
 * The JSON documents of an image, parsed and checked: OCI image indexes
 * and Docker manifest lists, OCI and Docker v2 manifests, image configs,
 * and the manifest.json of a `docker save` tarball.  Pure functions over
 * bytes (no store, no I/O), so they can be fuzzed alone.
 *
 * Every digest a document names is checked to be "sha256:<64 lowercase
 * hex>" (other algorithms are refused), every size to be >= 0, and every
 * string field to be a string; a document that fails gets MK_EINVAL and a
 * one-line errmsg such as "manifest: layers[2]: bad digest".
 *
 * Ownership: the parse functions fill a caller's struct whose strings and
 * arrays they allocate; the matching *_free releases them (NULL-safe,
 * zeroes the struct).  Threading: reentrant.
 */
#ifndef MK_IMAGE_MANIFEST_H
#define MK_IMAGE_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>

#define MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"

enum mf_kind { MF_UNKNOWN, MF_INDEX, MF_MANIFEST, MF_SCHEMA1 };

struct mf_desc {
	char *media_type;  /* "" if absent */
	char *digest;      /* "sha256:<hex>" */
	int64_t size;
	char *os, *arch, *variant;  /* platform, NULL if absent */
	char *ref_name;    /* io.containerd.image.name, else org.opencontainers.image.ref.name */
};

struct mf_index {
	struct mf_desc *manifests;
	size_t n;
};

struct mf_manifest {
	struct mf_desc config;
	struct mf_desc *layers;
	size_t n_layers;
};

struct mf_config {
	char **entrypoint; size_t n_entrypoint;
	char **cmd; size_t n_cmd;
	char **env; size_t n_env;
	char *working_dir, *user;  /* "" if unset */
	char *os, *arch;           /* "" if unset */
	char **diff_ids; size_t n_diff_ids;
	time_t created;            /* 0 if absent or unparsable */
};

struct mf_docker_image {  /* one entry of a docker-save manifest.json */
	char *config;      /* path inside the tarball */
	char **repo_tags; size_t n_repo_tags;
	char **layers; size_t n_layers;
};

/* What a registry or archive document is, from its Content-Type (may be
 * NULL or a generic JSON type) and, failing that, its content. */
enum mf_kind mf_kind_of(const char *content_type, const char *body, size_t n);

int mf_parse_index(const char *body, size_t n, struct mf_index *out, char *errmsg, size_t len);
void mf_index_free(struct mf_index *ix);
int mf_parse_manifest(const char *body, size_t n, struct mf_manifest *out, char *errmsg,
		      size_t len);
void mf_manifest_free(struct mf_manifest *m);
int mf_parse_config(const char *body, size_t n, struct mf_config *out, char *errmsg, size_t len);
void mf_config_free(struct mf_config *c);
/* manifest.json of `docker save`: *out is an array of *n entries. */
int mf_parse_docker(const char *body, size_t n, struct mf_docker_image **out, size_t *count,
		    char *errmsg, size_t len);
void mf_docker_free(struct mf_docker_image *v, size_t n);

/* This machine as OCI names it: "amd64", "arm64", "arm", ...; variant
 * "" where none applies ("v7" on 32-bit ARM, "v8" on arm64). */
const char *mf_host_arch(void);
const char *mf_host_variant(void);
/* Index of the manifest for linux/arch[/variant] in ix (a variant-less
 * entry matches any variant; an exact variant wins), or -1. */
int mf_pick(const struct mf_index *ix, const char *arch, const char *variant);
/* Whether a layer media type is one we can unpack (tar, optionally gzip
 * or zstd; "" counts as tar for archives that omit it). */
int mf_layer_type_ok(const char *media_type);

/* ---- shared by manifest.c and manifest_config.c ---- */

/* Arrays in documents are bounded: nothing real comes near, and a hostile
 * document must not make us allocate without limit. */
#define MF_MAX_ITEMS 4096
bool mf_good_digest(const char *d);
/* A JSON object from body, or NULL with "DOC: why" in errmsg. */
json_t *mf_load(const char *body, size_t n, const char *doc, char *errmsg, size_t len);
/* A string member or NULL; *bad set if present but not a string. */
const char *mf_opt_str(json_t *o, const char *key, bool *bad);
char *mf_dup_or(const char *s, const char *dflt);
void mf_free_strv(char **v, size_t n);
/* A JSON array of strings (null/absent: empty) into a malloc'd strv. */
int mf_strv(json_t *a, char ***out, size_t *n);

#endif
