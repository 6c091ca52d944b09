/*
 * Kubernetes protobuf request bodies to JSON (the mapping is in schema.h),
 * table-driven from the generated schema.  Nesting is bounded by
 * MAX_DEPTH, so the recursion is too.
 */
#include "schema_wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/err.h"

#define MAX_DEPTH 64
#define MAX_TYPE_NAME 256 /* apiVersion and kind in the envelope */

/* The fields numbered 1 to 3 of a special message, raw: varints in v[],
 * payloads in s[].  Other numbers are skipped. */
struct flat {
	uint64_t v[4];
	struct pb_rd s[4];
	bool seen[4];
};

static int read_flat(struct pb_dec *d, const struct schema_msg *t, struct pb_rd r, struct flat *fl)
{
	memset(fl, 0, sizeof(*fl));
	while (r.p < r.end) {
		const uint8_t *at = r.p;
		uint32_t num;
		int wt, rc;
		if ((rc = pb_key(d, &r, &num, &wt)) != MK_OK)
			return rc;
		const struct schema_field *f = num < 4 ? schema_field_by_number(t, num) : NULL;
		if (!f) {
			rc = pb_skip(d, &r, wt);
		} else if (wt != pb_wire_type(f->type)) {
			return pb_fail(d, at, "wrong wire type %d for field %s of %s", wt,
				       schema_str(f->name), schema_msg_name(t));
		} else {
			rc = wt == WT_LEN ? pb_len(d, &r, &fl->s[num]) : pb_varint(d, &r, &fl->v[num]);
			fl->seen[num] = true;
		}
		if (rc != MK_OK)
			return rc;
	}
	return MK_OK;
}

static int decode_msg(struct pb_dec *d, const struct schema_msg *t, struct pb_rd r, json_t *obj);

/* The JSON of one message of type `t`.  A zero value that Go would write
 * as null or that JSON omitempty would drop gives *out = NULL unless
 * `keep_zero` (list elements, map values, pointers that were set). */
static int message_value(struct pb_dec *d, const struct schema_msg *t, struct pb_rd body,
			 bool keep_zero, json_t **out)
{
	const uint8_t *at = body.p;
	struct flat fl;
	char text[SCHEMA_TIME_MAX > SCHEMA_DURATION_MAX ? SCHEMA_TIME_MAX : SCHEMA_DURATION_MAX];
	int rc;

	*out = NULL;
	if (t->special == SCHEMA_PLAIN || t->special == SCHEMA_WRAPPER) {
		json_t *obj = json_object();
		if (!obj)
			return MK_ENOMEM;
		if ((rc = decode_msg(d, t, body, obj)) != MK_OK) {
			json_decref(obj);
			return rc;
		}
		if (t->special == SCHEMA_PLAIN) {
			*out = obj;
			return MK_OK;
		}
		/* A Go named slice: its JSON is the list itself. */
		json_t *items = json_object_get(obj, "items");
		if (items)
			*out = json_incref(items);
		else if (keep_zero)
			*out = json_array();
		json_decref(obj);
		return *out || !keep_zero ? MK_OK : MK_ENOMEM;
	}
	if ((rc = read_flat(d, t, body, &fl)) != MK_OK)
		return rc;
	switch (t->special) {
	case SCHEMA_TIME:
	case SCHEMA_MICROTIME:
		/* metav1.Time writes nothing for the zero time and reads
		 * nothing as the zero time, whose JSON is null. */
		if (body.p == body.end) {
			*out = keep_zero ? json_null() : NULL;
			return MK_OK;
		}
		if (schema_format_time((int64_t)fl.v[1], (int32_t)fl.v[2],
				       t->special == SCHEMA_MICROTIME, text, sizeof(text)) != MK_OK)
			return pb_fail(d, at, "time outside years 0 to 9999");
		*out = json_string(text);
		break;
	case SCHEMA_DURATION:
		if (fl.v[1] == 0 && !keep_zero)
			return MK_OK;
		schema_format_duration((int64_t)fl.v[1], text, sizeof(text));
		*out = json_string(text);
		break;
	case SCHEMA_INTORSTRING:
		if (fl.v[1] == 0) {
			if ((int32_t)fl.v[2] == 0 && !keep_zero)
				return MK_OK;
			*out = json_integer((int32_t)fl.v[2]);
		} else if (fl.v[1] == 1) {
			size_t n = (size_t)(fl.s[3].end - fl.s[3].p);
			if (!pb_utf8_valid(fl.s[3].p, n))
				return pb_fail(d, at, "IntOrString is not UTF-8");
			*out = json_stringn_nocheck(n ? (const char *)fl.s[3].p : "", n);
		} else {
			return pb_fail(d, at, "IntOrString type %llu", (unsigned long long)fl.v[1]);
		}
		break;
	case SCHEMA_QUANTITY: {
		size_t n = (size_t)(fl.s[1].end - fl.s[1].p);
		if (!fl.seen[1]) { /* Go's zero Quantity */
			if (keep_zero)
				*out = json_string("0");
			return keep_zero && !*out ? MK_ENOMEM : MK_OK;
		}
		if (n >= 128 || memchr(fl.s[1].p, 0, n))
			return pb_fail(d, at, "invalid quantity");
		char q[128];
		memcpy(q, fl.s[1].p, n);
		q[n] = '\0';
		if (!schema_valid_quantity(q))
			return pb_fail(d, at, "invalid quantity \"%s\"", q);
		*out = json_string(q);
		break;
	}
	case SCHEMA_RAWEXT: {
		size_t n = (size_t)(fl.s[1].end - fl.s[1].p);
		if (n == 0) {
			*out = keep_zero ? json_null() : NULL;
			return MK_OK;
		}
		json_error_t jerr;
		*out = json_loadb((const char *)fl.s[1].p, n, JSON_DECODE_ANY, &jerr);
		if (!*out)
			return pb_fail(d, at, "embedded object is not JSON (%s)", jerr.text);
		break;
	}
	default:
		return pb_fail(d, at, "special type %d", t->special);
	}
	return *out ? MK_OK : MK_ENOMEM;
}

/* obj[name] as a container of type `want` (JSON_ARRAY or JSON_OBJECT),
 * created if absent; NULL on ENOMEM. */
static json_t *container(json_t *obj, const char *name, json_type want)
{
	json_t *c = json_object_get(obj, name);
	if (c && json_typeof(c) == want)
		return c;
	c = want == JSON_ARRAY ? json_array() : json_object();
	if (!c || json_object_set_new(obj, name, c) != 0)
		return NULL;
	return c;
}

static int append(json_t *obj, const char *name, json_t *v)
{
	json_t *arr = container(obj, name, JSON_ARRAY);
	if (!arr) {
		json_decref(v);
		return MK_ENOMEM;
	}
	return json_array_append_new(arr, v) == 0 ? MK_OK : MK_ENOMEM;
}

/* One map<K,V> entry {1 key, 2 value} into the JSON object `map`. */
static int decode_entry(struct pb_dec *d, const struct schema_msg *t, struct pb_rd r, json_t *map)
{
	const struct schema_field *kf = schema_field_by_number(t, 1);
	const struct schema_field *vf = schema_field_by_number(t, 2);
	const uint8_t *start = r.p;
	json_t *key = NULL, *val = NULL;
	int rc = MK_OK;

	if (!kf || !vf || kf->type == PB_MESSAGE)
		return pb_fail(d, start, "malformed map type %s", schema_msg_name(t));
	while (r.p < r.end) {
		const uint8_t *at = r.p;
		uint32_t num;
		int wt;
		bool zero;
		json_t *v = NULL;
		if ((rc = pb_key(d, &r, &num, &wt)) != MK_OK)
			goto out;
		const struct schema_field *f = num == 1 ? kf : num == 2 ? vf : NULL;
		if (!f) {
			rc = pb_skip(d, &r, wt);
		} else if (wt != pb_wire_type(f->type)) {
			rc = pb_fail(d, at, "wrong wire type %d in map entry %s", wt,
				     schema_msg_name(t));
		} else if (f->type == PB_MESSAGE) {
			struct pb_rd body;
			if ((rc = pb_len(d, &r, &body)) == MK_OK)
				rc = message_value(d, schema_msg_of(f), body, true, &v);
		} else {
			rc = pb_scalar(d, &r, f->type, &v, &zero);
		}
		if (rc != MK_OK)
			goto out;
		if (f == kf) {
			json_decref(key);
			key = v;
		} else if (f == vf) {
			json_decref(val);
			val = v;
		}
	}
	if (!val) {
		struct pb_rd empty = {r.end, r.end};
		if (vf->type == PB_MESSAGE)
			rc = message_value(d, schema_msg_of(vf), empty, true, &val);
		else if (!(val = pb_scalar_zero(vf->type)))
			rc = MK_ENOMEM;
		if (rc != MK_OK)
			goto out;
	}
	/* Kubernetes map keys are strings; Go writes other keys in decimal. */
	char num[32];
	const char *k = "";
	size_t klen = 0;
	if (json_is_string(key)) {
		k = json_string_value(key);
		klen = json_string_length(key);
	} else if (json_is_integer(key)) {
		snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(key));
		k = num;
		klen = strlen(num);
	} else if (key) {
		rc = pb_fail(d, start, "unsupported map key type in %s", schema_msg_name(t));
		goto out;
	}
	if (strlen(k) != klen) {
		rc = pb_fail(d, start, "map key contains NUL");
		goto out;
	}
	rc = json_object_set_new(map, k, val) == 0 ? MK_OK : MK_ENOMEM;
	val = NULL;
out:
	json_decref(key);
	json_decref(val);
	return rc;
}

static int decode_field(struct pb_dec *d, const struct schema_msg *t, const struct schema_field *f,
			int wt, const uint8_t *at, struct pb_rd *r, json_t *obj)
{
	const char *name = schema_str(f->name);
	int want = pb_wire_type(f->type);
	bool repeated = f->flags & SCHEMA_F_REPEATED;
	json_t *v = NULL;
	bool zero;
	int rc;

	if (repeated && want != WT_LEN && wt == WT_LEN) {
		/* Packed repeated scalars: proto2 parsers accept them too. */
		struct pb_rd s;
		if ((rc = pb_len(d, r, &s)) != MK_OK)
			return rc;
		if (!container(obj, name, JSON_ARRAY))
			return MK_ENOMEM;
		while (s.p < s.end) {
			if ((rc = pb_scalar(d, &s, f->type, &v, &zero)) != MK_OK)
				return rc;
			if ((rc = append(obj, name, v)) != MK_OK)
				return rc;
		}
		return MK_OK;
	}
	if (wt != want)
		return pb_fail(d, at, "wrong wire type %d for field %s of %s", wt, name,
			       schema_msg_name(t));
	if (f->type != PB_MESSAGE) {
		if ((rc = pb_scalar(d, r, f->type, &v, &zero)) != MK_OK)
			return rc;
		if (repeated)
			return append(obj, name, v);
		/* A non-pointer Go field is always on the wire; JSON omitempty
		 * leaves a zero one out.  Later occurrences win. */
		if (zero && !(f->flags & SCHEMA_F_NULLABLE)) {
			json_decref(v);
			json_object_del(obj, name);
			return MK_OK;
		}
		return json_object_set_new(obj, name, v) == 0 ? MK_OK : MK_ENOMEM;
	}

	struct pb_rd body;
	if ((rc = pb_len(d, r, &body)) != MK_OK)
		return rc;
	const struct schema_msg *sub = schema_msg_of(f);
	if (f->flags & SCHEMA_F_INLINE)
		return decode_msg(d, sub, body, obj);
	if (sub->flags & SCHEMA_M_MAP_ENTRY) {
		json_t *map = container(obj, name, JSON_OBJECT);
		if (!map)
			return MK_ENOMEM;
		if (++d->depth > MAX_DEPTH)
			rc = pb_fail(d, at, "nesting deeper than %d", MAX_DEPTH);
		else
			rc = decode_entry(d, sub, body, map);
		d->depth--;
		return rc;
	}
	if (repeated) {
		if ((rc = message_value(d, sub, body, true, &v)) != MK_OK)
			return rc;
		return append(obj, name, v);
	}
	/* A message field seen twice merges, as protobuf does. */
	json_t *cur = json_object_get(obj, name);
	if (sub->special == SCHEMA_PLAIN && json_is_object(cur))
		return decode_msg(d, sub, body, cur);
	if ((rc = message_value(d, sub, body, f->flags & SCHEMA_F_NULLABLE, &v)) != MK_OK)
		return rc;
	if (!v || json_is_null(v)) {
		json_decref(v);
		json_object_del(obj, name);
		return MK_OK;
	}
	return json_object_set_new(obj, name, v) == 0 ? MK_OK : MK_ENOMEM;
}

static int decode_msg(struct pb_dec *d, const struct schema_msg *t, struct pb_rd r, json_t *obj)
{
	int rc = MK_OK;
	if (++d->depth > MAX_DEPTH) {
		rc = pb_fail(d, r.p, "nesting deeper than %d", MAX_DEPTH);
		goto out;
	}
	while (r.p < r.end) {
		const uint8_t *at = r.p;
		uint32_t num;
		int wt;
		if ((rc = pb_key(d, &r, &num, &wt)) != MK_OK)
			break;
		const struct schema_field *f = schema_field_by_number(t, num);
		/* Unknown numbers are newer fields: skip them, as Go does. */
		rc = f ? decode_field(d, t, f, wt, at, &r, obj) : pb_skip(d, &r, wt);
		if (rc != MK_OK)
			break;
	}
out:
	d->depth--;
	return rc;
}

int schema_decode_message(const struct schema_msg *t, const void *buf, size_t len, json_t **out,
			  char *errmsg, size_t errlen)
{
	struct pb_dec d = {buf, 0, errmsg, errlen};
	struct pb_rd r = {buf, (const uint8_t *)buf + len};
	json_t *obj = json_object();
	*out = NULL;
	if (!obj)
		return MK_ENOMEM;
	int rc = decode_msg(&d, t, r, obj);
	if (rc != MK_OK) {
		json_decref(obj);
		return rc;
	}
	*out = obj;
	return MK_OK;
}

/* A short string of the envelope into `out` (NUL-terminated). */
static int envelope_string(struct pb_dec *d, struct pb_rd s, const char *what, char *out)
{
	size_t n = (size_t)(s.end - s.p);
	if (n >= MAX_TYPE_NAME || memchr(s.p, 0, n) || !pb_utf8_valid(s.p, n))
		return pb_fail(d, s.p, "invalid %s in the envelope", what);
	memcpy(out, s.p, n);
	out[n] = '\0';
	return MK_OK;
}

int schema_decode_protobuf(const void *buf, size_t len, json_t **out, char *errmsg, size_t errlen)
{
	static const uint8_t magic[4] = {'k', '8', 's', 0};
	struct pb_dec d = {buf, 0, errmsg, errlen};
	struct pb_rd r = {buf, (const uint8_t *)buf + len};
	struct pb_rd raw = {r.end, r.end};
	char api_version[MAX_TYPE_NAME] = "", kind[MAX_TYPE_NAME] = "";
	char encoding[MAX_TYPE_NAME] = "", ctype[MAX_TYPE_NAME] = "";
	json_t *obj = NULL;
	int rc;

	*out = NULL;
	if (len < 4 || memcmp(buf, magic, 4) != 0)
		return pb_fail(&d, r.p, "body does not start with the k8s\\0 magic");
	r.p += 4;
	/* runtime.Unknown {1 typeMeta {1 apiVersion, 2 kind}, 2 raw,
	 * 3 contentEncoding, 4 contentType} */
	while (r.p < r.end) {
		const uint8_t *at = r.p;
		uint32_t num;
		int wt;
		struct pb_rd s;
		if ((rc = pb_key(&d, &r, &num, &wt)) != MK_OK)
			return rc;
		if (num > 4) {
			if ((rc = pb_skip(&d, &r, wt)) != MK_OK)
				return rc;
			continue;
		}
		if (wt != WT_LEN)
			return pb_fail(&d, at, "wrong wire type %d for envelope field %u", wt, num);
		if ((rc = pb_len(&d, &r, &s)) != MK_OK)
			return rc;
		if (num == 1) {
			while (s.p < s.end) {
				struct pb_rd v;
				at = s.p;
				if ((rc = pb_key(&d, &s, &num, &wt)) != MK_OK)
					return rc;
				if (num > 2) {
					rc = pb_skip(&d, &s, wt);
				} else if (wt != WT_LEN) {
					rc = pb_fail(&d, at, "wrong wire type %d in typeMeta", wt);
				} else if ((rc = pb_len(&d, &s, &v)) == MK_OK) {
					rc = envelope_string(&d, v, num == 1 ? "apiVersion" : "kind",
							     num == 1 ? api_version : kind);
				}
				if (rc != MK_OK)
					return rc;
			}
		} else if (num == 2) {
			raw = s;
		} else if ((rc = envelope_string(&d, s, num == 3 ? "contentEncoding" : "contentType",
						 num == 3 ? encoding : ctype)) != MK_OK) {
			return rc;
		}
	}
	if (encoding[0])
		return pb_fail(&d, r.end, "content encoding \"%s\" is not supported", encoding);
	if (ctype[0] && strcmp(ctype, "application/vnd.kubernetes.protobuf") != 0)
		return pb_fail(&d, r.end, "content type \"%s\" is not supported", ctype);
	if (!api_version[0] || !kind[0])
		return pb_fail(&d, r.end, "envelope without apiVersion and kind");

	char group[MAX_TYPE_NAME] = "";
	const char *version = api_version;
	const char *slash = strchr(api_version, '/');
	if (slash) {
		memcpy(group, api_version, (size_t)(slash - api_version));
		group[slash - api_version] = '\0';
		version = slash + 1;
	}
	const struct schema_msg *t = schema_kind(group, version, kind);
	if (!t)
		return pb_fail(&d, r.end, "no schema for kind \"%s\" in \"%s\"", kind, api_version);

	obj = json_object();
	if (!obj || json_object_set_new(obj, "apiVersion", json_string(api_version)) != 0 ||
	    json_object_set_new(obj, "kind", json_string(kind)) != 0) {
		json_decref(obj);
		return MK_ENOMEM;
	}
	if ((rc = decode_msg(&d, t, raw, obj)) != MK_OK) {
		json_decref(obj);
		return rc;
	}
	*out = obj;
	return MK_OK;
}
