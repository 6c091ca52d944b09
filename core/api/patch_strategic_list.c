/*
 * Strategic merge patch: lists (see patch_strategic.c for the walk).
 *
 * A list merged by key keeps an index from each merge-key value to its
 * position, so a patch of n elements on a list of m costs O(n + m), not
 * O(n * m).  As in the Kubernetes API server, all "$patch": "delete"
 * elements apply first (to every live element with that key), then the
 * other elements merge into the first live element with their key or are
 * appended.
 *
 * Order (Kubernetes' normalizeElementOrder): the items the order list
 * names ($setElementOrder, else the patch list itself) are sorted by it;
 * the others ("server-only") keep their live order and are interleaved:
 * a server-only item goes before a named item if it came before it in the
 * live list.  A new item has no live position, so it goes before the
 * server-only items that follow it in the merge - which is why a container
 * added by a patch comes first, as kubectl users see it.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/err.h"
#include "patch_internal.h"

/* Encodes a string, number or boolean as a hash key into s->key (numbers
 * by value: a merge key 80 matches 80.0).  False for anything else. */
static bool scalar_key(struct smp *s, const json_t *v)
{
	char num[40];
	int n = -1;
	mk_buf_reset(&s->key);
	if (json_is_string(v))
		return mk_buf_append(&s->key, "s", 1) == 0 &&
		       mk_buf_append(&s->key, json_string_value(v), json_string_length(v)) == 0;
	if (json_is_integer(v)) {
		n = snprintf(num, sizeof(num), "i%lld", (long long)json_integer_value(v));
	} else if (json_is_real(v)) {
		double d = json_real_value(v);
		if (d >= -9.2e18 && d <= 9.2e18 && d == (double)(long long)d)
			n = snprintf(num, sizeof(num), "i%lld", (long long)d);
		else
			n = snprintf(num, sizeof(num), "r%.17g", d);
	} else if (json_is_boolean(v)) {
		n = snprintf(num, sizeof(num), "%s", json_is_true(v) ? "T" : "F");
	}
	return n > 0 && mk_buf_append(&s->key, num, (size_t)n) == 0;
}

static json_t *key_get(struct smp *s, const json_t *set)
{
	return json_object_getn(set, (const char *)s->key.data, s->key.len);
}

static int key_put(struct smp *s, json_t *set, json_int_t value)
{
	/* Encoded keys are hash keys only, never output: no UTF-8 check. */
	return json_object_setn_new_nocheck(set, (const char *)s->key.data, s->key.len,
					    json_integer(value)) == 0
		       ? MK_OK
		       : MK_ENOMEM;
}

/* {"$patch": ...} alone: a marker about the list it sits in. */
static bool is_marker(const json_t *e)
{
	return json_is_object(e) && json_object_size(e) == 1 && json_object_get(e, "$patch");
}

static bool marker_ok(const json_t *e)
{
	const json_t *d = json_object_get(e, "$patch");
	return smp_str_is(d, "replace") || smp_str_is(d, "merge") || smp_str_is(d, "delete");
}

int smp_delete_scalars(struct smp *s, json_t *t, const char *field, size_t flen,
		       const json_t *gone)
{
	if (!json_is_array(gone))
		return smp_fail(s, "$deleteFromPrimitiveList/%.*s must be a list",
				PATCH_QUOTE(field, flen));
	json_t *cur = json_object_getn(t, field, flen);
	json_t *set = json_object(), *kept = json_array(), *v;
	size_t i;
	int rc = MK_ENOMEM;
	if (!set || !kept)
		goto out;
	json_array_foreach(gone, i, v) {
		if (!scalar_key(s, v)) {
			rc = smp_fail(s, "$deleteFromPrimitiveList/%.*s must hold strings, "
					 "numbers or booleans",
				      PATCH_QUOTE(field, flen));
			goto out;
		}
		if (key_put(s, set, 0) != MK_OK)
			goto out;
	}
	rc = MK_OK;
	if (!json_is_array(cur))
		goto out;
	json_array_foreach(cur, i, v) {
		if (scalar_key(s, v) && key_get(s, set))
			continue;
		if (json_array_append(kept, v) != 0) {
			rc = MK_ENOMEM;
			goto out;
		}
	}
	if (json_object_setn_new_nocheck(t, field, flen, kept) != 0)
		rc = MK_ENOMEM;
	kept = NULL; /* consumed either way */
out:
	json_decref(set);
	json_decref(kept);
	return rc;
}

/* The elements of pl merged into nothing, each on its own; with
 * `skip_special`, elements holding "$patch" are left out entirely (the
 * elements of a list that "$patch": "replace" replaces). */
static int copy_list(struct smp *s, const json_t *pl, bool skip_special, json_t **out)
{
	json_t *a = json_array(), *e, *ne;
	size_t i;
	int rc = a ? MK_OK : MK_ENOMEM;
	struct smp_mark m = smp_path_push(s, NULL, 0);
	json_array_foreach(pl, i, e) {
		if (rc != MK_OK)
			break;
		if (skip_special && json_object_get(e, "$patch"))
			continue;
		if (is_marker(e)) {
			if (!marker_ok(e))
				rc = smp_fail(s, "unknown $patch directive in element %zu", i);
			continue;
		}
		if ((rc = smp_merge_value(s, NULL, e, NULL, &ne)) == MK_OK && ne &&
		    json_array_append_new(a, ne) != 0)
			rc = MK_ENOMEM;
	}
	smp_path_pop(s, m);
	if (rc != MK_OK) {
		json_decref(a);
		return rc;
	}
	*out = a;
	return MK_OK;
}

int smp_replace_list(struct smp *s, const json_t *pl, json_t **out)
{
	return copy_list(s, pl, false, out);
}

struct slot {
	json_t *item;
	long pos;    /* in the live list; -1 for a new item */
	size_t rank; /* in the order list; SIZE_MAX if it is not named there */
	size_t seq;  /* in the merged list */
};

static int by_rank(const void *a, const void *b)
{
	const struct slot *x = a, *y = b;
	if (x->rank != y->rank)
		return x->rank < y->rank ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* The key that places item e: its merge-key value, or e itself. */
static bool item_key(struct smp *s, const json_t *e, const char *merge_key)
{
	if (!merge_key)
		return scalar_key(s, e);
	return json_is_object(e) && scalar_key(s, json_object_get(e, merge_key));
}

int smp_list_order(struct smp *s, const json_t *list, const long *pos, const json_t *order,
		   bool strict, const char *merge_key, json_t **out)
{
	size_t n = json_array_size(list), i, np = 0, ns = 0;
	json_t *rank = json_object(), *res = json_array(), *e, *r;
	struct slot *slots = calloc(2 * n + 1, sizeof(*slots)); /* never NULL + 0 */
	int rc = MK_ENOMEM;
	if (!rank || !res || !slots)
		goto err;

	json_array_foreach(order, i, e) {
		/* Deletions and list markers name no position. */
		const json_t *d = json_object_get(e, "$patch");
		if (merge_key && d && !smp_str_is(d, "merge"))
			continue;
		if (!item_key(s, e, merge_key)) {
			if (!strict || is_marker(e))
				continue;
			rc = merge_key ? smp_fail(s, "$setElementOrder entry %zu has no merge key "
						     "\"%s\"", i, merge_key)
				       : smp_fail(s, "$setElementOrder entry %zu is not a string, "
						     "number or boolean", i);
			goto err;
		}
		if (!key_get(s, rank) && key_put(s, rank, (json_int_t)i) != MK_OK)
			goto err;
	}

	struct slot *named = slots, *rest = slots + n;
	json_array_foreach(list, i, e) {
		struct slot x = {e, pos ? pos[i] : (long)i, SIZE_MAX, i};
		if (item_key(s, e, merge_key) && (r = key_get(s, rank)))
			x.rank = (size_t)json_integer_value(r);
		if (x.rank != SIZE_MAX)
			named[np++] = x;
		else
			rest[ns++] = x;
	}
	if (np > 1)
		qsort(named, np, sizeof(*named), by_rank);

	size_t a = 0, b = 0;
	while (a < ns || b < np) {
		bool take_rest = b == np || (a < ns && rest[a].pos >= 0 && named[b].pos >= 0 &&
					     rest[a].pos < named[b].pos);
		struct slot *x = take_rest ? &rest[a++] : &named[b++];
		if (json_array_append(res, x->item) != 0)
			goto err;
	}
	free(slots);
	json_decref(rank);
	*out = res;
	return MK_OK;
err:
	free(slots);
	json_decref(rank);
	json_decref(res);
	return rc;
}

/* A set of scalars (metadata.finalizers): union, in the patch's order. */
static int merge_set(struct smp *s, json_t *cur, const json_t *pl, const json_t *order,
		     json_t **out)
{
	size_t np = json_array_size(pl), n0 = cur ? json_array_size(cur) : 0, i;
	bool replace = false;
	json_t *e;
	json_array_foreach(pl, i, e) {
		const json_t *d = json_object_get(e, "$patch");
		if (is_marker(e) && (smp_str_is(d, "replace") || smp_str_is(d, "merge")))
			replace |= smp_str_is(d, "replace");
		else if (json_is_object(e) || json_is_array(e) || json_is_null(e))
			return smp_fail(s, "element %zu of a list of scalars is not a string, "
					   "number or boolean", i);
	}

	json_t *seen = json_object(), *items = json_array(), *c;
	long *pos = malloc((n0 + np + 1) * sizeof(*pos));
	int rc = MK_ENOMEM;
	if (!seen || !items || !pos)
		goto out;
	if (!replace && cur) {
		json_array_foreach(cur, i, e) {
			pos[json_array_size(items)] = (long)i;
			if (json_array_append(items, e) != 0 ||
			    (scalar_key(s, e) && key_put(s, seen, 0) != MK_OK))
				goto out;
		}
	}
	json_array_foreach(pl, i, e) {
		if (json_is_object(e) || !scalar_key(s, e) || key_get(s, seen))
			continue;
		pos[json_array_size(items)] = -1;
		if (key_put(s, seen, 0) != MK_OK || !(c = json_deep_copy(e)) ||
		    json_array_append_new(items, c) != 0)
			goto out;
	}
	if (replace) {
		*out = json_incref(items);
		rc = MK_OK;
	} else {
		rc = smp_list_order(s, items, pos, order ? order : pl, order != NULL, NULL, out);
	}
out:
	free(pos);
	json_decref(seen);
	json_decref(items);
	return rc;
}

/* Merges patch element e (not a directive) into the list being built:
 * into the first live item with its merge-key value, else appended. */
static int merge_element(struct smp *s, json_t *items, json_t *index, long *pos,
			 const json_t *e, size_t i, const char *mk)
{
	const json_t *kv = json_object_get(e, mk);
	json_t *hit, *nv;
	size_t p;
	if (!kv)
		return smp_fail(s, "element %zu has no merge key \"%s\"", i, mk);
	if (!scalar_key(s, kv))
		return smp_fail(s, "merge key \"%s\" of element %zu is not a string, number "
				   "or boolean", mk, i);
	if ((hit = key_get(s, index))) {
		p = (size_t)json_integer_value(hit);
	} else {
		/* Index it before merging: the merge reuses s->key.  Later
		 * elements with the same key merge into this one. */
		p = json_array_size(items);
		pos[p] = -1;
		if (key_put(s, index, (json_int_t)p) != MK_OK ||
		    json_array_append_new(items, json_object()) != 0)
			return MK_ENOMEM;
	}
	int rc = smp_merge_value(s, json_array_get(items, p), e, NULL, &nv);
	if (rc == MK_OK && nv && json_array_set_new(items, p, nv) != 0)
		rc = MK_ENOMEM;
	return rc;
}

int smp_merge_list(struct smp *s, json_t *cur, const json_t *pl, const json_t *order,
		   const struct patch_field *f, json_t **out)
{
	const char *mk = f->merge_key;
	if (!mk)
		return merge_set(s, cur, pl, order, out);

	size_t n0 = cur ? json_array_size(cur) : 0, np = json_array_size(pl), i, p;
	bool replace = false;
	json_t *e, *hit;
	const json_t *d;
	json_array_foreach(pl, i, e) {
		if (!json_is_object(e))
			return smp_fail(s, "element %zu is not an object", i);
		if (!(d = json_object_get(e, "$patch")))
			continue;
		if (!marker_ok(e))
			return smp_fail(s, "unknown $patch directive in element %zu", i);
		replace |= smp_str_is(d, "replace");
		if (smp_str_is(d, "delete") && !json_object_get(e, mk))
			return smp_fail(s, "element %zu deletes without its merge key \"%s\"", i,
					mk);
	}
	if (replace)
		return copy_list(s, pl, true, out);

	/* Live items, their positions, and an index: merge-key value -> first
	 * position, with next[] chaining the later ones (built backwards). */
	int rc = MK_ENOMEM;
	json_t *items = json_array(), *index = json_object(), *res = NULL;
	long *pos = malloc((n0 + np + 1) * sizeof(*pos));
	size_t *next = malloc((n0 + 1) * sizeof(*next));
	bool *gone = calloc(n0 + np + 1, sizeof(*gone));
	if (!items || !index || !pos || !next || !gone)
		goto out;
	for (i = 0; i < n0; i++) {
		pos[i] = (long)i;
		next[i] = SIZE_MAX;
		if (json_array_append(items, json_array_get(cur, i)) != 0)
			goto out;
	}
	for (i = n0; i-- > 0;) {
		if (!item_key(s, json_array_get(cur, i), mk))
			continue;
		if ((hit = key_get(s, index)))
			next[i] = (size_t)json_integer_value(hit);
		if (key_put(s, index, (json_int_t)i) != MK_OK)
			goto out;
	}

	/* Deletions first, of every live item with that key. */
	json_array_foreach(pl, i, e) {
		if (!smp_str_is(json_object_get(e, "$patch"), "delete"))
			continue;
		if (!scalar_key(s, json_object_get(e, mk))) {
			rc = smp_fail(s, "merge key \"%s\" of element %zu is not a string, number "
					 "or boolean", mk, i);
			goto out;
		}
		if ((hit = key_get(s, index))) {
			for (p = (size_t)json_integer_value(hit); p != SIZE_MAX; p = next[p])
				gone[p] = true;
			json_object_deln(index, (const char *)s->key.data, s->key.len);
		}
	}

	struct smp_mark m = smp_path_push(s, NULL, 0);
	rc = MK_OK;
	json_array_foreach(pl, i, e) {
		d = json_object_get(e, "$patch");
		if ((d && !smp_str_is(d, "merge")) || is_marker(e))
			continue;
		if ((rc = merge_element(s, items, index, pos, e, i, mk)) != MK_OK)
			break;
	}
	smp_path_pop(s, m);
	if (rc != MK_OK)
		goto out;

	/* Drop deleted items, keeping positions aligned. */
	rc = MK_ENOMEM;
	size_t kept = 0;
	if (!(res = json_array()))
		goto out;
	for (i = 0; i < json_array_size(items); i++) {
		if (gone[i])
			continue;
		pos[kept++] = pos[i];
		if (json_array_append(res, json_array_get(items, i)) != 0)
			goto out;
	}
	rc = smp_list_order(s, res, pos, order ? order : pl, order != NULL, mk, out);
out:
	json_decref(res);
	json_decref(items);
	json_decref(index);
	free(pos);
	free(next);
	free(gone);
	return rc;
}
