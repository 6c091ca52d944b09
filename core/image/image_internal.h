/*
 * What the files of core/image share: the store handle, metadata
 * transactions, leases, content claims, digests and file helpers.
 *
 * Metadata (meta.json, see README.md) changes only inside a transaction:
 * img_meta_begin takes the in-process mutex and then the flock on
 * images/lock (an flock belongs to an open file, so threads of one
 * process would not exclude each other with it alone), and loads the
 * document; img_meta_commit writes it atomically; img_meta_end releases both.
 * Readers that only look (resolve, list) use img_meta_snapshot, which needs
 * no lock because meta.json is only ever replaced by rename.
 *
 * Leases: an operation that creates content (pull, import) holds a lease:
 * images/leases/ID, a file it keeps flock'ed while it lives, listing the
 * content keys ("layer:<hex>", "blob:<hex>") it needs; the collector
 * keeps everything a live lease lists and deletes the leases (and their
 * images/tmp/ID scratch directories) nobody holds any more, i.e. whose
 * process died.  Keys are added inside a metadata transaction, before
 * the content is looked for, so collection and creation never cross.
 *
 * Claims: within one process, one thread at a time produces a given key;
 * the others wait, then find it present (img_content_claim).
 */
#ifndef MK_IMAGE_INTERNAL_H
#define MK_IMAGE_INTERNAL_H

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "../base/fs.h"
#include "image.h"

#define IMG_HEX_LEN 64
/* Upper bounds for what is read into memory whole. */
#define IMG_MAX_MANIFEST (4u << 20)
#define IMG_MAX_CONFIG (8u << 20)
#define IMG_MAX_META (64u << 20)

struct img_claim;

struct image_store {
	char *root;        /* DATA_DIR/images */
	int lock_fd;       /* root/lock */
	pthread_mutex_t meta_mu;
	pthread_mutex_t claim_mu;
	pthread_cond_t claim_cv;
	struct img_claim *claims;
	uint64_t seq;      /* unique names, under claim_mu */
};

/* ---- store.c: paths, metadata, leases, claims ---- */

/* ROOT/layers/<hex> (the layer; its unpacked tree is .../fs), and
 * ROOT/blobs/sha256/<hex>. */
void img_layer_path(const struct image_store *s, const char *hex, char *out, size_t len);
void img_blob_path(const struct image_store *s, const char *hex, char *out, size_t len);
/* A name no other thread or process uses: "<pid>-<seq>-<random>". */
void img_unique(struct image_store *s, char *out, size_t len);

int img_meta_begin(struct image_store *s, json_t **meta, char *errmsg, size_t len);
int img_meta_commit(struct image_store *s, json_t *meta, char *errmsg, size_t len);
void img_meta_end(struct image_store *s, json_t *meta);
/* The current document without locking (a new reference: json_decref). */
int img_meta_snapshot(struct image_store *s, json_t **meta, char *errmsg, size_t len);

struct img_lease {
	struct image_store *s;
	int fd;
	char id[64];
	char tmp[PATH_MAX];  /* ROOT/tmp/ID: this operation's scratch space */
};
int img_lease_begin(struct image_store *s, struct img_lease *l, char *errmsg, size_t len);
/* Adds "layer:<hex>" / "blob:<hex>" to the lease (a metadata transaction). */
int img_lease_add(struct img_lease *l, const char *kind, const char *hex, char *errmsg, size_t len);
/* Deletes the scratch space and the lease; NULL-safe on a zeroed lease. */
void img_lease_end(struct img_lease *l);

/* For key `kind:hex`, already in lease l: returns 1 if the content at
 * `path` exists (nothing to do), 0 if this thread must produce it and
 * then call img_content_unclaim, <0 on error. */
int img_content_claim(struct img_lease *l, const char *kind, const char *hex, const char *path);
void img_content_unclaim(struct img_lease *l, const char *kind, const char *hex);

/* Adds blob hex (already verified) to the lease and stores it if absent. */
int img_blob_put(struct img_lease *l, const char *hex, const void *data, size_t n, char *errmsg,
	     size_t len);

/* Collection of unreferenced content; caller inside a transaction. */
int img_gc_locked(struct image_store *s, json_t *meta, char *errmsg, size_t len);

/* ---- records.c: image records inside meta.json ---- */

struct img_new {            /* an image ready to be recorded */
	char *id;           /* "sha256:<hex>" */
	json_t *diff_ids;   /* array of "sha256:<hex>", bottom layer first */
	time_t created;
	char **refs;        /* normalized */
	size_t n_refs;
	char *manifest;     /* "sha256:<hex>" stored in blobs, or NULL */
	char *top_digest;   /* what a registry knows the image by (the index's
			       digest for a multi-platform image); NULL: manifest */
	bool registry;      /* refs get a repo digest (REPO@top_digest) */
};
void img_new_free(struct img_new *n);
/* Records the images and their references (moving references that named
 * another image; an image left with no reference and no hold goes), then
 * collects garbage if something went.  One transaction. */
int img_records_commit(struct image_store *s, struct img_new *v, size_t n, char *errmsg, size_t len);
/* Deletes the record of image id if no reference names it and nobody
 * holds it; true if it did (content may now be collectable). */
bool img_records_drop_orphan(json_t *meta, const char *id);
/* Fills *out from the records for image id (and reference ref, NULL for
 * a lookup by id). */
int img_records_info(struct image_store *s, json_t *meta, const char *id, const char *ref,
		 struct image_info **out, char *errmsg, size_t len);

/* ---- digest.c: sha256 and files ---- */

/* "sha256:<64 lowercase hex>" -> hex (65 bytes); false if malformed. */
bool img_digest_hex(const char *digest, char *hex);
EVP_MD_CTX *img_sha_new(void);
/* Final digest as 64 hex digits; frees ctx. */
void img_sha_done(EVP_MD_CTX *ctx, char *hex);
void img_sha_of(const void *p, size_t n, char *hex);

/* Reads a whole file of at most max bytes (NUL-terminated). */
int img_file_read(const char *path, size_t max, char **data, size_t *n, char *errmsg, size_t len);
/* Writes data to path atomically: temp file beside it, fsync, rename,
 * fsync of the directory. */
int img_write_atomic(struct image_store *s, const char *path, const void *data, size_t n,
		      char *errmsg, size_t len);
int img_fsync_dir(const char *dir);
bool img_exists(const char *path);
/* Control characters in an error message become '?'. */
void img_one_line(char *msg, size_t len);

/* ---- import.c / import_formats.c: archives ---- */

struct spool_entry {
	char *name;         /* as in the archive, "./" dropped */
	char *file;         /* where its bytes are, or NULL for a link */
	char *link;         /* archive name it links to (symlink or hard link) */
	uint64_t size;
	char hex[65];       /* sha256 of the bytes */
};

struct spool {              /* an archive's files, read once from a stream */
	struct spool_entry *v;
	size_t n, cap;
	const char *name;   /* the input, for messages */
	struct img_lease *lease;
	image_progress_fn progress;
	void *arg;
};

/* The entry called name (following links), or NULL. */
const struct spool_entry *img_spool_find(const struct spool *sp, const char *name);
/* Images of a docker-save / OCI-layout archive: their layers unpacked and
 * blobs stored under the spool's lease, *out filled for img_records_commit. */
int img_import_docker(struct spool *sp, struct img_new **out, size_t *n, char *errmsg, size_t len);
int img_import_oci(struct spool *sp, struct img_new **out, size_t *n, char *errmsg, size_t len);

/* ---- unpack.c: tar entries onto disk ---- */

struct archive;
struct archive_entry;
struct unpacker;
/* Writes the entries of one layer under dir (an empty directory). */
int img_unpacker_new(const char *dir, struct unpacker **out, char *errmsg, size_t len);
/* The entry e whose data is next in a: refused if it would land outside
 * dir; whiteouts converted.  Messages name the entry. */
int img_unpacker_entry(struct unpacker *u, struct archive *a, struct archive_entry *e,
		   char *errmsg, size_t len);
/* Sets directory times (last, as entries inside changed them); *size gets
 * the bytes of regular files written. */
int img_unpacker_finish(struct unpacker *u, uint64_t *size, char *errmsg, size_t len);
void img_unpacker_free(struct unpacker *u);

/* ---- unpack_attr.c: an entry's data and attributes ---- */

/* Owner from e (fd >= 0: the open file, else base in pfd, not followed);
 * an unprivileged process keeps its own files (EPERM ignored). */
int img_unpack_owner(bool privileged, int pfd, const char *base, int fd, struct archive_entry *e);
/* e's xattrs but trusted.* (overlay metadata is ours to write) and
 * security.selinux; on fd, else on the symlink at abs.  Unsupported
 * xattrs are skipped. */
int img_unpack_xattrs(int pfd, const char *base, int fd, const char *abs, struct archive_entry *e);
/* atime, mtime of e (atime = mtime if absent). */
void img_unpack_times(struct archive_entry *e, struct timespec ts[2]);
/* The entry's data into fd at its offsets; -2 if the archive failed. */
int img_unpack_data(struct archive *a, int fd, struct archive_entry *e);

/* ---- layer.c: layers in the store ---- */

/* Adds layer diff_id to lease l and claims it: 1 if it is present (done),
 * 0 if the caller must produce it (img_layer_commit) and then img_layer_unclaim,
 * <0 on error. */
int img_layer_claim(struct img_lease *l, const char *diff_id, char *errmsg, size_t len);
void img_layer_unclaim(struct img_lease *l, const char *diff_id);
/* Unpacks the layer tarball read from fd (plain, gzip, zstd, ...) into a
 * scratch directory of l, checks that its uncompressed stream has digest
 * diff_id, and renames it to ROOT/layers/<hex>.  Progress as `what`:
 * bytes of fd read of total. */
int img_layer_commit(struct img_lease *l, int fd, const char *diff_id, const char *what,
		 uint64_t total, image_progress_fn progress, void *arg, char *errmsg,
		 size_t len);
/* Unpacks without the store: into dir, checking diff_id when not NULL. */
int img_layer_unpack(int fd, const char *dir, const char *diff_id, const char *what, uint64_t total,
		 image_progress_fn progress, void *arg, uint64_t *size, char *errmsg,
		 size_t len);
/* Bytes of regular files of a present layer (0 if unknown). */
uint64_t img_layer_size(const struct image_store *s, const char *hex);

#endif
