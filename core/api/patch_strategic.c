/*
 * Kubernetes strategic merge patch (see patch_strategic() in patch.h):
 * the entry point, maps and their directives.  Lists are in
 * patch_strategic_list.c.
 *
 * The patch is walked once, together with a deep copy of the document that
 * it edits in place; the copy replaces the caller's document only if the
 * whole walk succeeded.  The walk tracks the field path
 * ("spec.containers[].env") to ask patch_field_lookup() how a list merges.
 *
 * Patch content never enters the result as is: every object of the patch
 * is merged into a (possibly new, empty) object by merge_map(), which
 * consumes the directives, so none can leak however the patch nests them.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/err.h"
#include "patch_internal.h"

#define ORDER_PREFIX "$setElementOrder/"
#define DELETE_PREFIX "$deleteFromPrimitiveList/"

int smp_fail(struct smp *s, const char *fmt, ...)
{
	char what[320];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return patch_fail(s->errmsg, s->len, MK_EINVAL, "strategic merge patch: %s%s: %s",
			  s->path_len ? s->path : "(top level)", s->path_lost ? "..." : "",
			  what);
}

struct smp_mark smp_path_push(struct smp *s, const char *seg, size_t n)
{
	struct smp_mark m = {s->path_len, s->path_lost};
	if (s->path_lost)
		return m;
	size_t need = seg ? n + (s->path_len > 0) : 2;
	/* A key holding path syntax could forge a position in the table, so
	 * nothing below it gets a merge strategy (nor does a path too long
	 * for any row). */
	if (s->path_len + need >= sizeof(s->path) ||
	    (seg && (memchr(seg, '.', n) || memchr(seg, '[', n) || memchr(seg, ']', n) ||
		     memchr(seg, '\0', n)))) {
		s->path_lost = true;
		return m;
	}
	if (!seg) {
		memcpy(s->path + s->path_len, "[]", 2);
		s->path_len += 2;
	} else {
		if (s->path_len > 0)
			s->path[s->path_len++] = '.';
		memcpy(s->path + s->path_len, seg, n);
		s->path_len += n;
	}
	s->path[s->path_len] = '\0';
	return m;
}

void smp_path_pop(struct smp *s, struct smp_mark m)
{
	s->path_len = m.len;
	s->path_lost = m.lost;
	s->path[m.len] = '\0';
}

bool smp_str_is(const json_t *v, const char *str)
{
	return json_is_string(v) && json_string_length(v) == strlen(str) &&
	       strcmp(json_string_value(v), str) == 0;
}

/* The strategy of the list at the current path, if it merges. */
static bool merging_list(struct smp *s, struct patch_field *f)
{
	return s->builtin && !s->path_lost && patch_field_lookup(s->group, s->kind, s->path, f) &&
	       (f->flags & PATCH_FIELD_MERGE);
}

enum directive { D_NONE, D_PATCH, D_RETAIN, D_ORDER, D_DELETE, D_UNKNOWN };

/* Classifies an object key; for D_ORDER and D_DELETE, *field is the list
 * the directive is about. */
static enum directive directive(const char *k, size_t n, const char **field, size_t *flen)
{
	if (n == 0 || k[0] != '$')
		return D_NONE;
	if (n == 6 && memcmp(k, "$patch", 6) == 0)
		return D_PATCH;
	if (n == 11 && memcmp(k, "$retainKeys", 11) == 0)
		return D_RETAIN;
	/* JSON-Schema keywords inside CustomResourceDefinitions are data. */
	if ((n == 4 && memcmp(k, "$ref", 4) == 0) || (n == 7 && memcmp(k, "$schema", 7) == 0))
		return D_NONE;
	size_t po = strlen(ORDER_PREFIX), pd = strlen(DELETE_PREFIX);
	if (n > po && memcmp(k, ORDER_PREFIX, po) == 0) {
		*field = k + po;
		*flen = n - po;
		return D_ORDER;
	}
	if (n > pd && memcmp(k, DELETE_PREFIX, pd) == 0) {
		*field = k + pd;
		*flen = n - pd;
		return D_DELETE;
	}
	return D_UNKNOWN;
}

/* The $setElementOrder/<field> list of patch object p, or NULL. */
static const json_t *order_of(const json_t *p, const char *field, size_t flen)
{
	size_t po = strlen(ORDER_PREFIX);
	char small[128];
	char *name = po + flen <= sizeof(small) ? small : malloc(po + flen);
	if (!name)
		return NULL;
	memcpy(name, ORDER_PREFIX, po);
	memcpy(name + po, field, flen);
	const json_t *v = json_object_getn(p, name, po + flen);
	if (name != small)
		free(name);
	return v;
}

/* $retainKeys: keep only the listed keys of t.  Every key the patch sets
 * must be listed, as the API server requires. */
static int retain_keys(struct smp *s, json_t *t, const json_t *p, const json_t *keep)
{
	if (!json_is_array(keep))
		return smp_fail(s, "$retainKeys must be a list of field names");
	int rc = MK_ENOMEM;
	json_t *set = json_object(), *v;
	const char *key, *f;
	size_t klen, flen, i;
	void *tmp;
	if (!set)
		return MK_ENOMEM;
	json_array_foreach(keep, i, v) {
		if (!json_is_string(v)) {
			rc = smp_fail(s, "$retainKeys must be a list of field names");
			goto out;
		}
		if (json_object_setn_new_nocheck(set, json_string_value(v), json_string_length(v),
						 json_null()) != 0)
			goto out;
	}
	json_object_keylen_foreach(patch_mut(p), key, klen, v) {
		if (directive(key, klen, &f, &flen) == D_NONE && !json_is_null(v) &&
		    !json_object_getn(set, key, klen)) {
			rc = smp_fail(s, "$retainKeys does not list \"%.*s\", which the patch sets",
				      PATCH_QUOTE(key, klen));
			goto out;
		}
	}
	json_object_keylen_foreach_safe(t, tmp, key, klen, v) {
		if (!json_object_getn(set, key, klen))
			json_object_deln(t, key, klen);
	}
	rc = MK_OK;
out:
	json_decref(set);
	return rc;
}

/* Merges patch object p into object t in place.  *drop is set when p says
 * "$patch": "delete": the caller removes t. */
static int merge_map(struct smp *s, json_t *t, const json_t *p, bool *drop)
{
	const char *key, *f;
	size_t klen, flen;
	json_t *v;
	int rc;

	*drop = false;
	const json_t *d = json_object_get(p, "$patch");
	if (d) {
		if (smp_str_is(d, "delete")) {
			*drop = true;
			return MK_OK;
		} else if (smp_str_is(d, "replace")) {
			json_object_clear(t); /* then filled with the rest of p */
		} else if (!smp_str_is(d, "merge")) {
			return smp_fail(s, "unknown $patch directive (replace, delete or merge)");
		}
	}

	/* Directives that prepare t, before any field is merged. */
	json_object_keylen_foreach(patch_mut(p), key, klen, v) {
		switch (directive(key, klen, &f, &flen)) {
		case D_NONE:
		case D_PATCH:
			break;
		case D_RETAIN:
			if ((rc = retain_keys(s, t, p, v)) != MK_OK)
				return rc;
			break;
		case D_ORDER:
			if (!json_is_array(v))
				return smp_fail(s, ORDER_PREFIX "%.*s must be a list",
						PATCH_QUOTE(f, flen));
			break;
		case D_DELETE:
			if ((rc = smp_delete_scalars(s, t, f, flen, v)) != MK_OK)
				return rc;
			break;
		case D_UNKNOWN:
			return smp_fail(s, "unknown directive \"%.*s\"", PATCH_QUOTE(key, klen));
		}
	}

	/* The fields. */
	json_object_keylen_foreach(patch_mut(p), key, klen, v) {
		if (directive(key, klen, &f, &flen) != D_NONE)
			continue;
		if (json_is_null(v)) {
			json_object_deln(t, key, klen);
			continue;
		}
		json_t *nv;
		struct smp_mark m = smp_path_push(s, key, klen);
		rc = smp_merge_value(s, json_object_getn(t, key, klen), v, order_of(p, key, klen),
				     &nv);
		smp_path_pop(s, m);
		if (rc != MK_OK)
			return rc;
		if (!nv)
			json_object_deln(t, key, klen);
		else if (json_object_setn_new_nocheck(t, key, klen, nv) != 0)
			return MK_ENOMEM;
	}

	/* $setElementOrder of lists the patch does not otherwise touch. */
	json_object_keylen_foreach(patch_mut(p), key, klen, v) {
		json_t *list, *sorted = NULL;
		struct patch_field fm;
		if (directive(key, klen, &f, &flen) != D_ORDER || json_object_getn(p, f, flen) ||
		    !json_is_array(list = json_object_getn(t, f, flen)))
			continue;
		struct smp_mark m = smp_path_push(s, f, flen);
		rc = MK_OK;
		if (merging_list(s, &fm))
			rc = smp_list_order(s, list, NULL, v, true, fm.merge_key, &sorted);
		smp_path_pop(s, m);
		if (rc != MK_OK)
			return rc;
		if (sorted && json_object_setn_new_nocheck(t, f, flen, sorted) != 0)
			return MK_ENOMEM;
	}
	return MK_OK;
}

int smp_merge_value(struct smp *s, json_t *cur, const json_t *pv, const json_t *order,
		    json_t **out)
{
	int rc = MK_OK;
	*out = NULL;
	if (++s->depth > PATCH_MAX_DEPTH) {
		rc = smp_fail(s, "nested deeper than %d levels", PATCH_MAX_DEPTH);
	} else if (json_is_object(pv)) {
		json_t *t = json_is_object(cur) ? json_incref(cur) : json_object();
		bool drop = false;
		if (!t)
			rc = MK_ENOMEM;
		else if ((rc = merge_map(s, t, pv, &drop)) != MK_OK || drop)
			json_decref(t);
		else
			*out = t;
	} else if (json_is_array(pv)) {
		struct patch_field f;
		if (merging_list(s, &f))
			rc = smp_merge_list(s, json_is_array(cur) ? cur : NULL, pv, order, &f, out);
		else
			rc = smp_replace_list(s, pv, out);
	} else if (!(*out = json_deep_copy(pv))) {
		rc = MK_ENOMEM;
	}
	s->depth--;
	return rc;
}

int patch_strategic(json_t **doc, const json_t *patch, const char *group, const char *kind,
		    char *errmsg, size_t len)
{
	if (len > 0)
		errmsg[0] = '\0';
	if (!doc || !*doc || !patch)
		return patch_fail(errmsg, len, MK_EINVAL, "no document or no patch");
	if (!json_is_object(patch))
		return patch_fail(errmsg, len, MK_EINVAL,
				  "a strategic merge patch must be a JSON object");

	struct smp s = {
		.group = group ? group : "",
		.kind = kind ? kind : "",
		.key = MK_BUF_INIT,
		.errmsg = errmsg,
		.len = len,
	};
	s.builtin = patch_group_is_builtin(s.group);
	json_t *work = json_is_object(*doc) ? json_deep_copy(*doc) : json_object();
	json_t *out = NULL;
	int rc = work ? smp_merge_value(&s, work, patch, NULL, &out) : MK_ENOMEM;
	json_decref(work); /* out holds its own reference when it is work */
	mk_buf_free(&s.key);
	if (rc == MK_ENOMEM)
		return patch_fail(errmsg, len, rc, "out of memory applying strategic merge patch");
	if (rc != MK_OK)
		return rc;
	/* "$patch": "delete" at the top leaves an empty object, as in
	 * Kubernetes. */
	if (!out && !(out = json_object()))
		return patch_fail(errmsg, len, MK_ENOMEM,
				  "out of memory applying strategic merge patch");
	json_decref(*doc);
	*doc = out;
	return MK_OK;
}
