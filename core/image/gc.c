/*
 * Garbage collection: layers and blobs no image record and no live lease
 * needs, leases whose process died, scratch and trash leftovers.  Always
 * inside a metadata transaction, so it never crosses an operation that
 * is adding content (see image_internal.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "../base/err.h"
#include "../base/log.h"
#include "image_internal.h"

static int keep_add(json_t *keep, const char *kind, const char *digest)
{
	char key[96], hex[65];
	if (!img_digest_hex(digest, hex))
		return 0;
	snprintf(key, sizeof key, "%s:%s", kind, hex);
	return json_object_set_new(keep, key, json_true());
}

/* Adds the keys of every live lease to keep; deletes dead leases and
 * their scratch directories. */
static void keep_leased(struct image_store *s, json_t *keep)
{
	char path[PATH_MAX], line[128];
	DIR *d;
	struct dirent *e;
	snprintf(path, sizeof path, "%s/leases", s->root);
	if ((d = opendir(path)) == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "%s/leases/%s", s->root, e->d_name);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
			/* Nobody holds it: its process died mid-operation. */
			mk_debug("image", "removing the leftovers of an interrupted operation (%s)",
				e->d_name);
			snprintf(path, sizeof path, "%s/tmp/%s", s->root, e->d_name);
			mk_remove_tree(path);
			snprintf(path, sizeof path, "%s/leases/%s", s->root, e->d_name);
			unlink(path);
			close(fd);
			continue;
		}
		FILE *f = fdopen(fd, "r");
		while (f != NULL && fgets(line, sizeof line, f) != NULL) {
			line[strcspn(line, "\n")] = '\0';
			json_object_set_new(keep, line, json_true());
		}
		if (f != NULL)
			fclose(f);
		else
			close(fd);
	}
	closedir(d);
}

/* Deletes the entries of ROOT/sub (named <64 hex>) not kept as kind:hex;
 * directories go through ROOT/trash first, so none is ever seen half
 * deleted under its real name. */
static void sweep(struct image_store *s, const char *sub, const char *kind, json_t *keep)
{
	char dir[PATH_MAX], path[PATH_MAX], trash[PATH_MAX + 80], key[96], uniq[64];
	DIR *d;
	struct dirent *e;
	snprintf(dir, sizeof dir, "%s/%s", s->root, sub);
	if ((d = opendir(dir)) == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.' || strlen(e->d_name) != 64)
			continue;
		snprintf(key, sizeof key, "%s:%s", kind, e->d_name);
		if (json_object_get(keep, key) != NULL)
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		img_unique(s, uniq, sizeof uniq);
		snprintf(trash, sizeof trash, "%s/trash/%s-%s", s->root, e->d_name, uniq);
		if (rename(path, trash) == 0 && mk_remove_tree(trash) != 0)
			mk_warn("image", "cannot delete %s: %s", trash, strerror(errno));
	}
	closedir(d);
}

int img_gc_locked(struct image_store *s, json_t *meta, char *errmsg, size_t len)
{
	json_t *keep = json_object(), *v, *l;
	const char *k;
	size_t i;
	char path[PATH_MAX];
	if (keep == NULL) {
		snprintf(errmsg, len, "out of memory");
		return MK_ENOMEM;
	}
	json_object_foreach(json_object_get(meta, "images"), k, v) {
		keep_add(keep, "blob", k);
		json_array_foreach(json_object_get(v, "layers"), i, l)
			keep_add(keep, "layer", json_string_value(l));
	}
	json_object_foreach(json_object_get(meta, "refs"), k, v)
		keep_add(keep, "blob", json_string_value(json_object_get(v, "manifest")));
	keep_leased(s, keep);
	sweep(s, "layers", "layer", keep);
	sweep(s, "blobs/sha256", "blob", keep);
	json_decref(keep);
	/* Whatever is in trash or tmp without a live lease is a leftover of a
	 * crash: trash entries are already invisible; tmp/ID dirs whose lease
	 * is gone were dropped by keep_leased, or lost their lease file. */
	snprintf(path, sizeof path, "%s/trash", s->root);
	DIR *d = opendir(path);
	struct dirent *e;
	while (d != NULL && (e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof path, "%s/trash/%s", s->root, e->d_name);
		mk_remove_tree(path);
	}
	if (d != NULL)
		closedir(d);
	snprintf(path, sizeof path, "%s/tmp", s->root);
	d = opendir(path);
	while (d != NULL && (e = readdir(d)) != NULL) {
		char lease[PATH_MAX];
		if (e->d_name[0] == '.')
			continue;
		snprintf(lease, sizeof lease, "%s/leases/%s", s->root, e->d_name);
		if (img_exists(lease))
			continue;
		snprintf(path, sizeof path, "%s/tmp/%s", s->root, e->d_name);
		mk_remove_tree(path);
	}
	if (d != NULL)
		closedir(d);
	return 0;
}

int image_gc(struct image_store *s, char *errmsg, size_t len)
{
	json_t *meta;
	int rv = img_meta_begin(s, &meta, errmsg, len);
	if (rv != 0)
		return rv;
	rv = img_gc_locked(s, meta, errmsg, len);
	img_meta_end(s, meta);
	return rv;
}
