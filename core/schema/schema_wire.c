/*
 * The protobuf wire format, read defensively (see schema_wire.h).
 */
#include "schema_wire.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/err.h"

int pb_fail(struct pb_dec *d, const uint8_t *at, const char *fmt, ...)
{
	if (!d->errmsg || d->errlen == 0)
		return MK_EINVAL;
	char what[200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(d->errmsg, d->errlen, "protobuf: %s at byte %zu", what, (size_t)(at - d->base));
	return MK_EINVAL;
}

int pb_varint(struct pb_dec *d, struct pb_rd *r, uint64_t *v)
{
	const uint8_t *at = r->p;
	uint64_t x = 0;
	for (int i = 0; i < 10; i++) {
		if (r->p >= r->end)
			return pb_fail(d, at, "truncated varint");
		uint8_t b = *r->p++;
		/* The 10th byte may only carry the 64th bit. */
		if (i == 9 && b > 1)
			return pb_fail(d, at, "varint longer than 64 bits");
		x |= (uint64_t)(b & 0x7f) << (7 * i);
		if (!(b & 0x80)) {
			*v = x;
			return MK_OK;
		}
	}
	/* Not reached: the 10th byte ends the varint or fails above. */
	return pb_fail(d, at, "varint longer than 10 bytes");
}

int pb_fixed(struct pb_dec *d, struct pb_rd *r, size_t n, uint64_t *v)
{
	if ((size_t)(r->end - r->p) < n)
		return pb_fail(d, r->p, "truncated fixed%zu", n * 8);
	uint64_t x = 0;
	for (size_t i = n; i-- > 0;)
		x = (x << 8) | r->p[i];
	r->p += n;
	*v = x;
	return MK_OK;
}

int pb_len(struct pb_dec *d, struct pb_rd *r, struct pb_rd *sub)
{
	const uint8_t *at = r->p;
	uint64_t n;
	int rc = pb_varint(d, r, &n);
	if (rc != MK_OK)
		return rc;
	if (n > (uint64_t)(r->end - r->p))
		return pb_fail(d, at, "length %llu beyond the end of its message",
			       (unsigned long long)n);
	sub->p = r->p;
	sub->end = r->p + n;
	r->p += n;
	return MK_OK;
}

int pb_key(struct pb_dec *d, struct pb_rd *r, uint32_t *num, int *wt)
{
	const uint8_t *at = r->p;
	uint64_t key;
	int rc = pb_varint(d, r, &key);
	if (rc != MK_OK)
		return rc;
	if (key >> 3 == 0 || key >> 3 > 0x1fffffff)
		return pb_fail(d, at, "field number %llu", (unsigned long long)(key >> 3));
	*num = (uint32_t)(key >> 3);
	*wt = (int)(key & 7);
	return MK_OK;
}

int pb_skip(struct pb_dec *d, struct pb_rd *r, int wt)
{
	uint64_t v;
	struct pb_rd s;
	switch (wt) {
	case WT_VARINT:
		return pb_varint(d, r, &v);
	case WT_FIXED64:
		return pb_fixed(d, r, 8, &v);
	case WT_FIXED32:
		return pb_fixed(d, r, 4, &v);
	case WT_LEN:
		return pb_len(d, r, &s);
	default:
		/* Groups (3, 4) are not used by any Kubernetes type. */
		return pb_fail(d, r->p, "unsupported wire type %d", wt);
	}
}

int pb_wire_type(uint8_t type)
{
	switch (type) {
	case PB_DOUBLE:
	case PB_FIXED64:
	case PB_SFIXED64:
		return WT_FIXED64;
	case PB_FLOAT:
	case PB_FIXED32:
	case PB_SFIXED32:
		return WT_FIXED32;
	case PB_STRING:
	case PB_BYTES:
	case PB_MESSAGE:
		return WT_LEN;
	default:
		return WT_VARINT;
	}
}

bool pb_utf8_valid(const uint8_t *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		uint8_t c = s[i];
		size_t len;
		uint32_t cp;
		if (c < 0x80) {
			i++;
			continue;
		} else if (c >= 0xc2 && c <= 0xdf) {
			len = 2, cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			len = 3, cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			len = 4, cp = c & 0x07;
		} else {
			return false;
		}
		if (n - i < len)
			return false;
		for (size_t k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		/* No overlong forms, surrogates or code points past U+10FFFF. */
		if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += len;
	}
	return true;
}

int pb_scalar(struct pb_dec *d, struct pb_rd *r, uint8_t type, json_t **out, bool *zero)
{
	const uint8_t *at = r->p;
	int wt = pb_wire_type(type);
	uint64_t v = 0;
	int rc;

	*out = NULL;
	if (wt == WT_LEN) {
		struct pb_rd s;
		if ((rc = pb_len(d, r, &s)) != MK_OK)
			return rc;
		size_t n = (size_t)(s.end - s.p);
		*zero = n == 0;
		if (type == PB_STRING) {
			/* gogo does not check UTF-8; JSON cannot carry anything else. */
			if (!pb_utf8_valid(s.p, n))
				return pb_fail(d, at, "string is not UTF-8");
			*out = json_stringn_nocheck((const char *)s.p, n);
		} else {
			char *b64 = schema_base64(s.p, n);
			if (b64)
				*out = json_string_nocheck(b64);
			free(b64);
		}
		return *out ? MK_OK : MK_ENOMEM;
	}
	rc = wt == WT_VARINT ? pb_varint(d, r, &v) : pb_fixed(d, r, wt == WT_FIXED64 ? 8 : 4, &v);
	if (rc != MK_OK)
		return rc;
	int64_t i = 0;
	double f = 0;
	bool real = false;
	switch (type) {
	case PB_BOOL:
		*zero = v == 0;
		*out = json_boolean(v != 0);
		return *out ? MK_OK : MK_ENOMEM;
	case PB_INT32:
	case PB_ENUM:
	case PB_SFIXED32:
		i = (int32_t)(uint32_t)v; /* int32 is sign-extended on the wire */
		break;
	case PB_UINT32:
	case PB_FIXED32:
		i = (uint32_t)v;
		break;
	case PB_INT64:
	case PB_SFIXED64:
		i = (int64_t)v;
		break;
	case PB_UINT64:
	case PB_FIXED64:
		if (v > INT64_MAX)
			return pb_fail(d, at, "uint64 %llu too large for JSON", (unsigned long long)v);
		i = (int64_t)v;
		break;
	case PB_SINT32:
		i = (int32_t)((uint32_t)v >> 1) ^ -(int32_t)(v & 1);
		break;
	case PB_SINT64:
		i = (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
		break;
	case PB_FLOAT: {
		uint32_t bits = (uint32_t)v;
		float x;
		memcpy(&x, &bits, 4);
		f = x, real = true;
		break;
	}
	case PB_DOUBLE:
		memcpy(&f, &v, 8);
		real = true;
		break;
	default:
		return pb_fail(d, at, "proto type %d", type);
	}
	if (real) {
		if (!isfinite(f))
			return pb_fail(d, at, "non-finite number");
		*zero = f == 0;
		*out = json_real(f);
	} else {
		*zero = i == 0;
		*out = json_integer(i);
	}
	return *out ? MK_OK : MK_ENOMEM;
}

json_t *pb_scalar_zero(uint8_t type)
{
	switch (type) {
	case PB_STRING:
	case PB_BYTES:
		return json_string("");
	case PB_BOOL:
		return json_false();
	case PB_FLOAT:
	case PB_DOUBLE:
		return json_real(0);
	default:
		return json_integer(0);
	}
}
