/* RFC 7386 JSON merge patch, and the helpers every patch format shares. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "../base/err.h"
#include "patch_internal.h"

int patch_fail(char *errmsg, size_t len, int code, const char *fmt, ...)
{
	if (!errmsg || len == 0)
		return code;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(errmsg, len, fmt, ap);
	va_end(ap);
	if (n < 0) {
		errmsg[0] = '\0';
		return code;
	}
	size_t end = (size_t)n < len ? (size_t)n : len - 1;
	if ((size_t)n >= len) {
		/* Truncated: step back over a multi-byte sequence that lost its
		 * tail (continuation bytes, then its lead byte), so the lead can
		 * put the message into a JSON string. */
		size_t i = end;
		while (i > 0 && ((unsigned char)errmsg[i - 1] & 0xC0) == 0x80)
			i--;
		if (i > 0 && ((unsigned char)errmsg[i - 1] & 0xC0) == 0xC0) {
			unsigned char lead = (unsigned char)errmsg[i - 1];
			size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
			if (end - (i - 1) < need)
				end = i - 1;
		}
		errmsg[end] = '\0';
	}
	/* Quoted keys may hold newlines or tabs: keep it one line. */
	for (size_t i = 0; i < end; i++)
		if ((unsigned char)errmsg[i] < 0x20 || errmsg[i] == 0x7f)
			errmsg[i] = '?';
	return code;
}

size_t patch_utf8_prefix(const char *s, size_t n, size_t max)
{
	if (n <= max)
		return n;
	size_t i = max;
	/* s[i] starts the first byte left out: back up to a sequence start. */
	while (i > 0 && ((unsigned char)s[i] & 0xC0) == 0x80)
		i--;
	return i;
}

bool patch_deeper_than(const json_t *v, int limit)
{
	if (limit < 1)
		return true;
	if (json_is_object(v)) {
		const char *key;
		json_t *m;
		json_object_foreach(patch_mut(v), key, m)
			if (patch_deeper_than(m, limit - 1))
				return true;
	} else if (json_is_array(v)) {
		size_t i;
		json_t *m;
		json_array_foreach(v, i, m)
			if (patch_deeper_than(m, limit - 1))
				return true;
	}
	return false;
}

bool patch_equal(const json_t *a, const json_t *b)
{
	if (json_is_number(a) && json_is_number(b)) {
		if (json_is_integer(a) && json_is_integer(b))
			return json_integer_value(a) == json_integer_value(b);
		return json_number_value(a) == json_number_value(b);
	}
	if (!a || !b || json_typeof(a) != json_typeof(b))
		return false;
	const char *key;
	size_t klen, i;
	json_t *m;
	switch (json_typeof(a)) {
	case JSON_OBJECT:
		if (json_object_size(a) != json_object_size(b))
			return false;
		json_object_keylen_foreach(patch_mut(a), key, klen, m)
			if (!patch_equal(m, json_object_getn(b, key, klen)))
				return false;
		return true;
	case JSON_ARRAY:
		if (json_array_size(a) != json_array_size(b))
			return false;
		json_array_foreach(a, i, m)
			if (!patch_equal(m, json_array_get(b, i)))
				return false;
		return true;
	case JSON_STRING:
		return json_string_length(a) == json_string_length(b) &&
		       memcmp(json_string_value(a), json_string_value(b),
			      json_string_length(a)) == 0;
	default: /* true, false, null */
		return true;
	}
}

/* Merges the object `patch` into the object `target`, in place.  The caller
 * bounded the patch's depth, which bounds this recursion. */
static int merge_object(json_t *target, const json_t *patch)
{
	const char *key;
	size_t klen;
	json_t *v;
	json_object_keylen_foreach(patch_mut(patch), key, klen, v) {
		if (json_is_null(v)) {
			json_object_deln(target, key, klen);
			continue;
		}
		if (json_is_object(v)) {
			/* RFC 7386: a non-object target becomes {} first, so nulls
			 * deeper in the patch never reach the result. */
			json_t *cur = json_object_getn(target, key, klen);
			if (!json_is_object(cur)) {
				cur = json_object();
				if (!cur ||
				    json_object_setn_new_nocheck(target, key, klen, cur) != 0)
					return MK_ENOMEM;
			}
			int rc = merge_object(cur, v);
			if (rc != MK_OK)
				return rc;
			continue;
		}
		json_t *copy = json_deep_copy(v);
		if (!copy || json_object_setn_new_nocheck(target, key, klen, copy) != 0)
			return MK_ENOMEM;
	}
	return MK_OK;
}

int patch_merge(json_t **doc, const json_t *patch, char *errmsg, size_t len)
{
	if (len > 0)
		errmsg[0] = '\0';
	if (!doc || !*doc || !patch)
		return patch_fail(errmsg, len, MK_EINVAL, "no document or no patch");
	if (patch_deeper_than(patch, PATCH_MAX_DEPTH))
		return patch_fail(errmsg, len, MK_EINVAL,
				  "merge patch is nested deeper than %d levels", PATCH_MAX_DEPTH);

	/* Work on a copy so that an allocation failure half-way leaves the
	 * caller's document as it was. */
	json_t *out;
	if (!json_is_object(patch)) {
		out = json_deep_copy(patch);
	} else {
		out = json_is_object(*doc) ? json_deep_copy(*doc) : json_object();
		if (out && merge_object(out, patch) != MK_OK) {
			json_decref(out);
			out = NULL;
		}
	}
	if (!out)
		return patch_fail(errmsg, len, MK_ENOMEM, "out of memory applying merge patch");
	json_decref(*doc);
	*doc = out;
	return MK_OK;
}
