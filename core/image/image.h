/*
 * The node's image store: OCI/Docker images pulled from registries or
 * imported from `docker save` / `skopeo ... oci-archive:` tarballs, each
 * layer unpacked into its own directory ready to be an overlayfs lowerdir.
 * The layout under DATA_DIR/images is described in core/image/README.md.
 *
 * References are normalized as Docker does (image_ref_normalize):
 * "busybox" is "docker.io/library/busybox:latest".  An image is known by
 * its id, "sha256:<hex of its config blob>", and by any number of
 * references; a local lookup (image_resolve) also accepts the id, a hex
 * prefix of it, or "REPO@sha256:<manifest digest>".
 *
 * Integrity: every blob is checked against its sha256 digest while it is
 * read (registry blobs, archive blobs), and every layer's uncompressed tar
 * stream against the diff_id its config names, before it becomes visible.
 * Everything becomes visible by rename, so a crash leaves complete layers
 * or none.  Layers are unpacked with owners, modes, times, xattrs, device
 * nodes, symlinks and hard links; OCI whiteouts become overlayfs whiteouts
 * (".wh.NAME" a 0/0 character device, ".wh..wh..opq" the xattr
 * trusted.overlay.opaque=y).  Entries that would land outside the layer
 * (absolute paths, "..", a path through a symlink) are refused.  Unpacking
 * needs root (device nodes, owners, trusted.* xattrs).
 *
 * In use: the node agent holds an image for each container that uses it
 * (image_hold / image_release); holds are stored on disk, so they survive
 * restarts and every process sees them.  A held image is never removed.
 * Content (layers, blobs) that no image references any more is deleted
 * when an image goes away.
 *
 * Errors: 0, or MK_EINVAL (malformed reference or archive, digest
 * mismatch), MK_ENOTFOUND (no such image, tag or repository), MK_EBUSY
 * (image in use), MK_EIO (disk, network), MK_EPROTO (a registry answer
 * that makes no sense), MK_ETIMEDOUT, MK_ENOMEM; errmsg gets one line,
 * e.g. "pull docker.io/library/nosuch:latest: manifest unknown (404)".
 *
 * Threading: every function may be called from several threads at once on
 * one store, and from several processes on one data directory (the store
 * takes an flock for metadata updates and per-operation leases protect
 * content in the making from garbage collection).  Two threads pulling the
 * same layer share one download.  Callbacks run on the calling thread.
 * libcurl's global initialisation is done once, on the first open.
 */
#ifndef MK_IMAGE_IMAGE_H
#define MK_IMAGE_IMAGE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct image_store;

/* Opens (creating what is missing) DATA_DIR/images.  *out is freed with
 * image_store_close, which must not race other calls on the store. */
int image_store_open(const char *data_dir, struct image_store **out, char *errmsg, size_t len);
/* NULL-safe. */
void image_store_close(struct image_store *s);

/* Docker-style normalization into out (room for 512 bytes is always
 * enough): "nginx" -> "docker.io/library/nginx:latest", "foo/bar" ->
 * "docker.io/foo/bar:latest", "host:5000/x" keeps its host, a digest
 * ("@sha256:<64 hex>") is kept (and no ":latest" added).  MK_EINVAL with a
 * message for malformed references (uppercase repository, bad tag, ...). */
int image_ref_normalize(const char *ref, char *out, size_t len, char *errmsg, size_t errlen);

struct image_info {                       /* image_info_free() */
	char *ref;                        /* normalized reference it was found by; NULL by id */
	char *id;                         /* "sha256:<config digest>" */
	char *repo_digest;                /* "REPO@sha256:<manifest digest>", NULL if unknown */
	char **entrypoint; size_t n_entrypoint;  /* from the image config */
	char **cmd; size_t n_cmd;
	char **env; size_t n_env;         /* "K=V" */
	char *working_dir;                /* "" when unset */
	char *user;                       /* "" when unset */
	char **layer_dirs; size_t n_layers;  /* absolute, TOPMOST FIRST (overlayfs lowerdir order) */
	uint64_t size;                    /* bytes of regular files in the unpacked layers */
};
/* NULL-safe. */
void image_info_free(struct image_info *i);

/* A local image by reference (normalized here), by id or hex prefix of it,
 * or by REPO@sha256:DIGEST.  MK_ENOTFOUND if absent, or if a layer of it
 * is missing from disk (so that a caller pulls it again); MK_EINVAL if a
 * prefix matches several images. */
int image_resolve(struct image_store *s, const char *ref, struct image_info **out, char *errmsg,
		  size_t len);

/* Progress of a download or import step.  `what` names it, e.g.
 * "sha256:0123456789ab layer" (12 hex digits), "sha256:... config",
 * "manifest"; done/total are bytes (total 0 when unknown).  A step ends
 * with a call where done == total; a step that had nothing to do (the
 * layer is already present) is one call with what ending in " exists" and
 * done == total == 0. */
typedef void (*image_progress_fn)(void *arg, const char *what, uint64_t done, uint64_t total);

struct image_pull_opts {
	const char *username, *password;  /* both NULL: anonymous */
	image_progress_fn progress;       /* may be NULL */
	void *progress_arg;
};

/* Pulls `ref` (normalized here) for linux/<this architecture> and tags it;
 * downloads only the blobs and layers that are missing.  *out (may be
 * NULL if not wanted) is as image_resolve would give by that reference.
 * Layers completed by a pull that fails later are kept, so that a retry
 * does not download them again; the next removal collects them if no
 * image needs them.  opts may be NULL. */
int image_pull(struct image_store *s, const char *ref, const struct image_pull_opts *opts,
	       struct image_info **out, char *errmsg, size_t len);

/* Imports every image of a `docker save` or OCI-layout (oci-archive)
 * tarball, possibly gzip-compressed, read from fd (a pipe works: it is
 * read once, front to back; fd stays open).  *refs gets the normalized
 * references imported (an image without any gets its id instead);
 * free with image_refs_free.  On failure nothing of the archive stays in
 * the store.  `name` names the input in messages ("FILE is not an image
 * archive: no manifest.json or index.json"); image_import uses "input". */
int image_import(struct image_store *s, int fd, image_progress_fn progress, void *arg,
		 char ***refs, size_t *n_refs, char *errmsg, size_t len);
int image_import_named(struct image_store *s, int fd, const char *name,
		       image_progress_fn progress, void *arg, char ***refs, size_t *n_refs,
		       char *errmsg, size_t len);
/* NULL-safe. */
void image_refs_free(char **refs, size_t n);

struct image_summary {
	char *ref;       /* NULL for an image no reference names (kept because it is held) */
	char *id;        /* "sha256:<hex>" */
	uint64_t size;   /* as image_info.size */
	time_t created;  /* from the config; 0 if it has none */
};
/* One entry per reference, plus one per image without a reference;
 * sorted by reference.  Free with image_summaries_free. */
int image_list(struct image_store *s, struct image_summary **out, size_t *n, char *errmsg,
	       size_t len);
void image_summaries_free(struct image_summary *v, size_t n);

/* By reference: removes that reference, and the image if no other
 * reference names it.  By id (or prefix): removes the image and every
 * reference to it.  MK_EBUSY "image X is in use by N container(s)" if the
 * image is held; MK_ENOTFOUND if there is no such image.  Then deletes
 * the layers and blobs no image references any more. */
int image_remove(struct image_store *s, const char *ref_or_id, char *errmsg, size_t len);

/* Records that `holder` (a container id: up to 256 printable bytes) uses
 * image `image_id` (an id as in image_info.id; a holder holds one image,
 * holding again moves it).  MK_ENOTFOUND if no such image. */
int image_hold(struct image_store *s, const char *image_id, const char *holder, char *errmsg,
	       size_t len);
/* Drops the hold of `holder`, if any (idempotent); an image that no
 * reference names and nobody holds any more is removed.  0 or MK_EIO. */
int image_release(struct image_store *s, const char *holder);

/* Deletes content no image references and leftovers of operations that
 * died (temp files, abandoned leases).  Runs on its own after removals;
 * exposed for tests and maintenance. */
int image_gc(struct image_store *s, char *errmsg, size_t len);

#endif
