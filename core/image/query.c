/*
 * Looking images up, listing, removing, and the holds of running
 * containers.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/err.h"
#include "image_internal.h"
#include "ref.h"

#define HOLDER_MAX 256

/* What `arg` names in meta: *id (pointing into meta) and, when found by
 * reference, the normalized reference in ref (else ref[0] = 0). */
static int find(json_t *meta, const char *arg, const char **id, char *ref, size_t reflen,
		char *errmsg, size_t len)
{
	json_t *refs = json_object_get(meta, "refs"), *v;
	char norm[600], ignored[256];
	const char *k;
	ref[0] = '\0';
	if (image_ref_normalize(arg, norm, sizeof norm, ignored, sizeof ignored) == 0) {
		json_t *e = json_object_get(refs, norm);
		if (e != NULL) {
			*id = json_string_value(json_object_get(e, "id"));
			snprintf(ref, reflen, "%s", norm);
			return 0;
		}
		/* REPO[:TAG]@sha256:X also names an image pulled by tag
		 * whose manifest is X. */
		char *at = strchr(norm, '@'), want[700];
		if (at != NULL) {
			struct img_ref r;
			img_ref_parse(norm, &r, ignored, sizeof ignored);
			img_ref_repo(&r, want, sizeof want);
			strncat(want, at, sizeof want - strlen(want) - 1);
			json_object_foreach(refs, k, v) {
				const char *rd = json_string_value(json_object_get(v, "repo_digest"));
				if (rd != NULL && strcmp(rd, want) == 0) {
					*id = json_string_value(json_object_get(v, "id"));
					snprintf(ref, reflen, "%s", k);
					return 0;
				}
			}
		}
	}
	/* An id, or a prefix of one, with or without "sha256:". */
	const char *hex = strncmp(arg, "sha256:", 7) == 0 ? arg + 7 : arg;
	size_t n = strlen(hex), matches = 0;
	bool is_hex = n > 0 && n <= 64;
	for (size_t i = 0; i < n && is_hex; i++)
		is_hex = isdigit((unsigned char)hex[i]) || (hex[i] >= 'a' && hex[i] <= 'f');
	if (is_hex) {
		json_object_foreach(json_object_get(meta, "images"), k, v) {
			if (strncmp(k + 7, hex, n) == 0) {
				*id = k;
				matches++;
			}
		}
	}
	if (matches == 1)
		return 0;
	if (matches > 1) {
		snprintf(errmsg, len, "\"%.100s\" matches %zu images; give more of the id", arg,
			 matches);
		img_one_line(errmsg, len);
		return MK_EINVAL;
	}
	snprintf(errmsg, len, "image \"%.200s\" not found", arg);
	img_one_line(errmsg, len);
	return MK_ENOTFOUND;
}

int image_resolve(struct image_store *s, const char *ref, struct image_info **out, char *errmsg,
		  size_t len)
{
	json_t *meta;
	const char *id;
	char found[600];
	*out = NULL;
	if (ref == NULL || ref[0] == '\0') {
		snprintf(errmsg, len, "no image given");
		return MK_EINVAL;
	}
	int rv = img_meta_snapshot(s, &meta, errmsg, len);
	if (rv != 0)
		return rv;
	rv = find(meta, ref, &id, found, sizeof found, errmsg, len);
	if (rv == 0)
		rv = img_records_info(s, meta, id, found[0] ? found : NULL, out, errmsg, len);
	json_decref(meta);
	return rv;
}

static int cmp_summary(const void *a, const void *b)
{
	const struct image_summary *x = a, *y = b;
	if (x->ref == NULL || y->ref == NULL)
		return x->ref ? -1 : y->ref ? 1 : strcmp(x->id, y->id);
	return strcmp(x->ref, y->ref);
}

int image_list(struct image_store *s, struct image_summary **out, size_t *n, char *errmsg,
	       size_t len)
{
	json_t *meta, *v, *images;
	const char *k;
	*out = NULL;
	*n = 0;
	int rv = img_meta_snapshot(s, &meta, errmsg, len);
	if (rv != 0)
		return rv;
	images = json_object_get(meta, "images");
	size_t cap = json_object_size(json_object_get(meta, "refs")) + json_object_size(images);
	struct image_summary *list = calloc(cap + 1, sizeof *list);
	size_t cnt = 0;
	if (list == NULL)
		goto oom;
	json_object_foreach(json_object_get(meta, "refs"), k, v) {
		const char *id = json_string_value(json_object_get(v, "id"));
		json_t *rec = json_object_get(images, id ? id : "");
		if (rec == NULL)
			continue;
		struct image_summary *e = &list[cnt++];
		e->ref = strdup(k);
		e->id = strdup(id);
		e->size = (uint64_t)json_integer_value(json_object_get(rec, "size"));
		e->created = (time_t)json_integer_value(json_object_get(rec, "created"));
		if (!e->ref || !e->id)
			goto oom;
	}
	json_object_foreach(images, k, v) {
		bool named = false;
		json_t *r;
		const char *rk;
		json_object_foreach(json_object_get(meta, "refs"), rk, r)
			named |= strcmp(json_string_value(json_object_get(r, "id")), k) == 0;
		if (named)
			continue;
		struct image_summary *e = &list[cnt++];
		e->id = strdup(k);
		e->size = (uint64_t)json_integer_value(json_object_get(v, "size"));
		e->created = (time_t)json_integer_value(json_object_get(v, "created"));
		if (!e->id)
			goto oom;
	}
	json_decref(meta);
	qsort(list, cnt, sizeof *list, cmp_summary);
	*out = list;
	*n = cnt;
	return 0;
oom:
	json_decref(meta);
	image_summaries_free(list, cnt);
	snprintf(errmsg, len, "out of memory");
	return MK_ENOMEM;
}

void image_summaries_free(struct image_summary *v, size_t n)
{
	for (size_t i = 0; i < n && v != NULL; i++) {
		free(v[i].ref);
		free(v[i].id);
	}
	free(v);
}

static size_t holds_of(json_t *meta, const char *id)
{
	const char *k;
	json_t *v;
	size_t n = 0;
	json_object_foreach(json_object_get(meta, "holds"), k, v)
		n += strcmp(json_string_value(v), id) == 0;
	return n;
}

int image_remove(struct image_store *s, const char *arg, char *errmsg, size_t len)
{
	json_t *meta, *refs;
	const char *found_id, *k;
	char ref[600], *id = NULL;
	void *tmp;
	if (arg == NULL || arg[0] == '\0') {
		snprintf(errmsg, len, "no image given");
		return MK_EINVAL;
	}
	int rv = img_meta_begin(s, &meta, errmsg, len);
	if (rv != 0)
		return rv;
	refs = json_object_get(meta, "refs");
	rv = find(meta, arg, &found_id, ref, sizeof ref, errmsg, len);
	if (rv != 0)
		goto out;
	if ((id = strdup(found_id)) == NULL) {
		rv = MK_ENOMEM;
		snprintf(errmsg, len, "out of memory");
		goto out;
	}
	size_t held = holds_of(meta, id);
	if (held > 0) {
		snprintf(errmsg, len, "image %.200s is in use by %zu container(s)", arg, held);
		img_one_line(errmsg, len);
		rv = MK_EBUSY;
		goto out;
	}
	if (ref[0] != '\0') {
		json_object_del(refs, ref);
	} else {
		json_t *v;
		json_object_foreach_safe(refs, tmp, k, v)
			if (strcmp(json_string_value(json_object_get(v, "id")), id) == 0)
				json_object_del(refs, k);
	}
	img_records_drop_orphan(meta, id);
	rv = img_meta_commit(s, meta, errmsg, len);
	if (rv == 0)
		img_gc_locked(s, meta, errmsg, len);
out:
	free(id);
	img_meta_end(s, meta);
	return rv;
}

static bool good_holder(const char *h)
{
	size_t n = h ? strlen(h) : 0;
	if (n == 0 || n > HOLDER_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isgraph((unsigned char)h[i]))
			return false;
	return true;
}

int image_hold(struct image_store *s, const char *image_id, const char *holder, char *errmsg,
	       size_t len)
{
	json_t *meta, *holds;
	if (!good_holder(holder)) {
		snprintf(errmsg, len, "bad holder name (1-%d printable characters)", HOLDER_MAX);
		return MK_EINVAL;
	}
	if (image_id == NULL) {
		snprintf(errmsg, len, "no image given");
		return MK_EINVAL;
	}
	int rv = img_meta_begin(s, &meta, errmsg, len);
	if (rv != 0)
		return rv;
	holds = json_object_get(meta, "holds");
	if (json_object_get(json_object_get(meta, "images"), image_id) == NULL) {
		snprintf(errmsg, len, "image %.100s not found", image_id);
		rv = MK_ENOTFOUND;
		goto out;
	}
	const char *prev = json_string_value(json_object_get(holds, holder));
	if (prev != NULL && strcmp(prev, image_id) == 0)
		goto out; /* already so: nothing to write */
	char *prev_id = prev ? strdup(prev) : NULL;
	json_object_set_new(holds, holder, json_string(image_id));
	bool collect = img_records_drop_orphan(meta, prev_id);
	free(prev_id);
	rv = img_meta_commit(s, meta, errmsg, len);
	if (rv == 0 && collect)
		img_gc_locked(s, meta, errmsg, len);
out:
	img_meta_end(s, meta);
	return rv;
}

int image_release(struct image_store *s, const char *holder)
{
	json_t *meta, *holds;
	char errmsg[256];
	if (holder == NULL)
		return 0;
	int rv = img_meta_begin(s, &meta, errmsg, sizeof errmsg);
	if (rv != 0)
		return rv;
	holds = json_object_get(meta, "holds");
	const char *id = json_string_value(json_object_get(holds, holder));
	if (id != NULL) {
		char *copy = strdup(id);
		json_object_del(holds, holder);
		bool collect = img_records_drop_orphan(meta, copy);
		free(copy);
		rv = img_meta_commit(s, meta, errmsg, sizeof errmsg);
		if (rv == 0 && collect)
			img_gc_locked(s, meta, errmsg, sizeof errmsg);
	}
	img_meta_end(s, meta);
	return rv;
}
