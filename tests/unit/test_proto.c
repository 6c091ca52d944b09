/*
 * Unit tests of protobuf request decoding (core/schema/schema_proto.c):
 * the wire sample of reference/kubectl-api.md §12, bodies captured from
 * the real kubectl (tests/unit/fixtures/proto, see capture.py there),
 * each special type, and malformed input.
 */
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "../../core/base/buf.h"
#include "../../core/base/err.h"
#include "../../core/schema/schema.h"

static const char *const fixtures[] = {
	"namespace", "configmap", "secret", "deployment", "deployment_zero", "service",
	"serviceaccount", "job", "cronjob", "selfsubjectaccessreview",
};
#define N_FIXTURES (sizeof(fixtures) / sizeof(fixtures[0]))

/* Fixtures live beside this file; MK_TEST_FIXTURES overrides (tests run
 * from the repository root). */
static void fixture_path(char *out, size_t cap, const char *name, const char *ext)
{
	const char *dir = getenv("MK_TEST_FIXTURES");
	if (dir)
		snprintf(out, cap, "%s/proto/%s.%s", dir, name, ext);
	else
		snprintf(out, cap, "tests/unit/fixtures/proto/%s.%s", name, ext);
}

static uint8_t *read_fixture(const char *name, size_t *len)
{
	char path[512];
	fixture_path(path, sizeof(path), name, "pb");
	FILE *f = fopen(path, "rb");
	if (!f)
		fail_msg("cannot open %s (run from the repository root)", path);
	uint8_t *buf = malloc(65536);
	*len = fread(buf, 1, 65536, f);
	fclose(f);
	return buf;
}

static json_t *expected_json(const char *name)
{
	char path[512];
	json_error_t err;
	fixture_path(path, sizeof(path), name, "json");
	json_t *j = json_load_file(path, 0, &err);
	if (!j)
		fail_msg("%s: %s", path, err.text);
	return j;
}

static void assert_json_equal(json_t *got, json_t *want)
{
	if (!json_equal(got, want)) {
		char *g = json_dumps(got, JSON_SORT_KEYS);
		char *w = json_dumps(want, JSON_SORT_KEYS);
		print_error("got:  %s\nwant: %s\n", g, w);
		free(g);
		free(w);
		fail();
	}
}

/* --- A tiny protobuf writer for hand-made bodies ------------------------ */

static void put_varint(struct mk_buf *b, uint64_t v)
{
	uint8_t c;
	do {
		c = (uint8_t)(v & 0x7f);
		v >>= 7;
		if (v)
			c |= 0x80;
		assert_int_equal(mk_buf_append(b, &c, 1), MK_OK);
	} while (v);
}

static void put_key(struct mk_buf *b, uint32_t field, int wt)
{
	put_varint(b, (uint64_t)field << 3 | (uint64_t)wt);
}

static void put_uint(struct mk_buf *b, uint32_t field, uint64_t v)
{
	put_key(b, field, 0);
	put_varint(b, v);
}

static void put_bytes(struct mk_buf *b, uint32_t field, const void *p, size_t n)
{
	put_key(b, field, 2);
	put_varint(b, n);
	assert_int_equal(mk_buf_append(b, p, n), MK_OK);
}

static void put_str(struct mk_buf *b, uint32_t field, const char *s)
{
	put_bytes(b, field, s, strlen(s));
}

/* Appends `msg` as a sub-message and frees it. */
static void put_msg(struct mk_buf *b, uint32_t field, struct mk_buf *msg)
{
	put_bytes(b, field, msg->data, msg->len);
	mk_buf_free(msg);
}

/* "k8s\0" + Unknown{typeMeta{apiVersion, kind}, raw}. */
static void envelope(struct mk_buf *out, const char *api_version, const char *kind,
		     struct mk_buf *raw)
{
	struct mk_buf tm = MK_BUF_INIT;
	mk_buf_append(out, "k8s\0", 4);
	put_str(&tm, 1, api_version);
	put_str(&tm, 2, kind);
	put_msg(out, 1, &tm);
	put_msg(out, 2, raw);
}

static json_t *decode_ok(const struct mk_buf *b)
{
	json_t *out = NULL;
	char err[256] = "";
	int rc = schema_decode_protobuf(b->data, b->len, &out, err, sizeof(err));
	if (rc != MK_OK)
		fail_msg("decode failed: %d %s", rc, err);
	return out;
}

static void decode_fails(const struct mk_buf *b, const char *reason)
{
	json_t *out = (json_t *)1;
	char err[256] = "";
	assert_int_equal(schema_decode_protobuf(b->data, b->len, &out, err, sizeof(err)),
			 MK_EINVAL);
	assert_null(out);
	if (!strstr(err, reason))
		fail_msg("error \"%s\" does not mention \"%s\"", err, reason);
	assert_null(strchr(err, '\n'));
}

static json_t *decode_type(const char *type, const struct mk_buf *b)
{
	const struct schema_msg *t = schema_type(type);
	assert_non_null(t);
	json_t *out = NULL;
	char err[256] = "";
	if (schema_decode_message(t, b->data, b->len, &out, err, sizeof(err)) != MK_OK)
		fail_msg("decode %s failed: %s", type, err);
	return out;
}

/* --- Real bodies ------------------------------------------------------- */

static void test_namespace_wire_sample(void **state)
{
	/* reference/kubectl-api.md §12, `kubectl create namespace foo` */
	static const uint8_t body[] = {
		0x6b, 0x38, 0x73, 0x00, 0x0a, 0x0f, 0x0a, 0x02, 'v', '1', 0x12, 0x09,
		'N', 'a', 'm', 'e', 's', 'p', 'a', 'c', 'e', 0x12, 0x1b, 0x0a, 0x13, 0x0a,
		0x03, 'f', 'o', 'o', 0x12, 0x00, 0x1a, 0x00, 0x22, 0x00, 0x2a, 0x00, 0x32,
		0x00, 0x38, 0x00, 0x42, 0x00, 0x12, 0x00, 0x1a, 0x02, 0x0a, 0x00, 0x1a, 0x00,
		0x22, 0x00,
	};
	json_t *out = NULL;
	char err[128];
	assert_int_equal(schema_decode_protobuf(body, sizeof(body), &out, err, sizeof(err)), MK_OK);
	json_t *want = json_loads("{\"apiVersion\":\"v1\",\"kind\":\"Namespace\","
				  "\"metadata\":{\"name\":\"foo\"},\"spec\":{},\"status\":{}}",
				  0, NULL);
	assert_json_equal(out, want);
	/* apiVersion and kind lead, as kubectl writes them. */
	void *it = json_object_iter(out);
	assert_string_equal(json_object_iter_key(it), "apiVersion");
	assert_string_equal(json_object_iter_key(json_object_iter_next(out, it)), "kind");
	json_decref(out);
	json_decref(want);
}

static void test_kubectl_captures(void **state)
{
	for (size_t i = 0; i < N_FIXTURES; i++) {
		size_t len;
		uint8_t *body = read_fixture(fixtures[i], &len);
		json_t *want = expected_json(fixtures[i]);
		json_t *out = NULL;
		char err[256] = "";
		int rc = schema_decode_protobuf(body, len, &out, err, sizeof(err));
		if (rc != MK_OK)
			fail_msg("%s: %s", fixtures[i], err);
		print_message("%s\n", fixtures[i]);
		assert_json_equal(out, want);

		/* What we decode passes the strict check of its own type. */
		json_t *problems = json_array();
		const char *api = json_string_value(json_object_get(out, "apiVersion"));
		const char *slash = strchr(api, '/');
		char group[64] = "";
		if (slash)
			snprintf(group, sizeof(group), "%.*s", (int)(slash - api), api);
		const struct schema_msg *t = schema_kind(
			group, slash ? slash + 1 : api, json_string_value(json_object_get(out, "kind")));
		assert_non_null(t);
		assert_int_equal(schema_check(t, out, problems), 0);
		json_decref(problems);
		json_decref(out);
		json_decref(want);
		free(body);
	}
}

/* Top-level envelope field boundaries at or after the end of typeMeta:
 * the only prefixes of a body that are themselves well-formed. */
static bool is_envelope_boundary(const uint8_t *b, size_t len, size_t cut)
{
	size_t p = 4;
	bool typemeta_seen = false;
	while (p < len) {
		if (p == cut)
			return typemeta_seen;
		uint8_t key = b[p++];
		uint64_t n = 0;
		for (int s = 0; p < len; s += 7) {
			n |= (uint64_t)(b[p] & 0x7f) << s;
			if (!(b[p++] & 0x80))
				break;
		}
		p += n;
		typemeta_seen = typemeta_seen || key == 0x0a;
	}
	return false;
}

static void test_truncated_at_every_offset(void **state)
{
	for (size_t i = 0; i < N_FIXTURES; i++) {
		size_t len;
		uint8_t *body = read_fixture(fixtures[i], &len);
		for (size_t cut = 0; cut < len; cut++) {
			/* A copy of exactly `cut` bytes, so that ASan sees any
			 * read past the end. */
			uint8_t *p = malloc(cut ? cut : 1);
			memcpy(p, body, cut);
			json_t *out = (json_t *)1;
			char err[256] = "";
			int rc = schema_decode_protobuf(p, cut, &out, err, sizeof(err));
			if (is_envelope_boundary(body, len, cut)) {
				assert_int_equal(rc, MK_OK);
				assert_non_null(json_object_get(out, "kind"));
				json_decref(out);
			} else {
				if (rc != MK_EINVAL)
					fail_msg("%s cut at %zu: rc %d", fixtures[i], cut, rc);
				assert_null(out);
				assert_true(strlen(err) > 0);
			}
			free(p);
		}
		free(body);
	}
}

/* --- Special types and mapping rules ---------------------------------- */

static void test_time_and_microtime(void **state)
{
	struct mk_buf ts = MK_BUF_INIT, meta = MK_BUF_INIT, ev = MK_BUF_INIT;
	put_uint(&ts, 1, 1735689600); /* 2025-01-01T00:00:00Z */
	put_uint(&ts, 2, 123456789);
	struct mk_buf ts2 = MK_BUF_INIT;
	mk_buf_append(&ts2, ts.data, ts.len);
	put_str(&meta, 1, "e");
	put_msg(&meta, 8, &ts); /* creationTimestamp: seconds only */
	put_msg(&ev, 1, &meta);
	put_msg(&ev, 2, &ts2); /* eventTime: MicroTime */
	json_t *out = decode_type("k8s.io.api.events.v1.Event", &ev);
	json_t *want = json_loads("{\"metadata\":{\"name\":\"e\",\"creationTimestamp\":"
				  "\"2025-01-01T00:00:00Z\"},\"eventTime\":\"2025-01-01T00:00:00.123456Z\"}",
				  0, NULL);
	assert_json_equal(out, want);
	json_decref(out);
	json_decref(want);
	mk_buf_free(&ev);

	/* An encoded epoch is a time (1970), unlike the empty message. */
	struct mk_buf m = MK_BUF_INIT, t = MK_BUF_INIT;
	put_uint(&t, 1, 0);
	put_msg(&m, 8, &t);
	out = decode_type("k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta", &m);
	assert_string_equal(json_string_value(json_object_get(out, "creationTimestamp")),
			    "1970-01-01T00:00:00Z");
	json_decref(out);
	mk_buf_free(&m);

	/* Unknown fields inside a special type are skipped too (a fuzzer
	 * found this writing past the decoder's 4-slot table). */
	put_uint(&t, 1, 0);
	put_uint(&t, 418, 1);
	put_str(&t, 9, "x");
	put_msg(&m, 8, &t);
	out = decode_type("k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta", &m);
	assert_string_equal(json_string_value(json_object_get(out, "creationTimestamp")),
			    "1970-01-01T00:00:00Z");
	json_decref(out);
	mk_buf_free(&m);

	/* Before 1970, and beyond year 9999 (an error). */
	put_uint(&t, 1, (uint64_t)-86400);
	put_msg(&m, 8, &t);
	out = decode_type("k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta", &m);
	assert_string_equal(json_string_value(json_object_get(out, "creationTimestamp")),
			    "1969-12-31T00:00:00Z");
	json_decref(out);
	mk_buf_free(&m);
	put_uint(&t, 1, 253402300800LL);
	put_msg(&m, 8, &t);
	char err[128];
	assert_int_equal(schema_decode_message(schema_type("k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta"),
					       m.data, m.len, &out, err, sizeof(err)),
			 MK_EINVAL);
	mk_buf_free(&m);
}

static void test_intorstring_quantity_inline(void **state)
{
	/* Container{name, ports, resources{limits{cpu: 100m}},
	 * livenessProbe{handler{httpGet{port: "http"}}, periodSeconds 0}} */
	struct mk_buf c = MK_BUF_INIT, q = MK_BUF_INIT, entry = MK_BUF_INIT, res = MK_BUF_INIT;
	struct mk_buf ios = MK_BUF_INIT, get = MK_BUF_INIT, handler = MK_BUF_INIT, probe = MK_BUF_INIT;
	put_str(&c, 1, "web");
	put_str(&q, 1, "100m");
	put_str(&entry, 1, "cpu");
	put_msg(&entry, 2, &q);
	put_msg(&res, 1, &entry);
	put_str(&entry, 1, "memory"); /* an entry without value: zero Quantity */
	put_msg(&res, 2, &entry);
	put_msg(&c, 8, &res);
	put_uint(&ios, 1, 1);
	put_str(&ios, 3, "http");
	put_msg(&get, 2, &ios);
	put_msg(&handler, 2, &get);
	put_msg(&probe, 1, &handler);
	put_uint(&probe, 4, 0); /* periodSeconds: non-pointer zero, omitted */
	put_msg(&c, 10, &probe);
	json_t *out = decode_type("k8s.io.api.core.v1.Container", &c);
	json_t *want = json_loads(
		"{\"name\":\"web\",\"resources\":{\"limits\":{\"cpu\":\"100m\"},"
		"\"requests\":{\"memory\":\"0\"}},\"livenessProbe\":{\"httpGet\":{\"port\":\"http\"}}}",
		0, NULL);
	assert_json_equal(out, want);
	json_decref(out);
	json_decref(want);
	mk_buf_free(&c);

	/* Pointer IntOrString set to 0 stays; non-pointer zero goes. */
	struct mk_buf ru = MK_BUF_INIT, zero = MK_BUF_INIT;
	put_uint(&zero, 1, 0);
	put_uint(&zero, 2, 0);
	put_msg(&ru, 1, &zero); /* maxUnavailable (pointer) */
	out = decode_type("k8s.io.api.apps.v1.RollingUpdateDeployment", &ru);
	want = json_loads("{\"maxUnavailable\":0}", 0, NULL);
	assert_json_equal(out, want);
	json_decref(out);
	json_decref(want);
	mk_buf_free(&ru);

	struct mk_buf port = MK_BUF_INIT;
	put_uint(&port, 3, 80);
	put_uint(&zero, 1, 0);
	put_uint(&zero, 2, 0);
	put_msg(&port, 4, &zero); /* targetPort (not a pointer) */
	out = decode_type("k8s.io.api.core.v1.ServicePort", &port);
	want = json_loads("{\"port\":80}", 0, NULL);
	assert_json_equal(out, want);
	json_decref(out);
	json_decref(want);
	mk_buf_free(&port);

	/* A quantity that does not parse is refused, as Go does. */
	struct mk_buf bad = MK_BUF_INIT;
	put_str(&q, 1, "lots");
	put_str(&entry, 1, "cpu");
	put_msg(&entry, 2, &q);
	put_msg(&res, 1, &entry);
	put_msg(&bad, 8, &res);
	char err[128];
	assert_int_equal(schema_decode_message(schema_type("k8s.io.api.core.v1.Container"), bad.data,
					       bad.len, &out, err, sizeof(err)),
			 MK_EINVAL);
	assert_non_null(strstr(err, "quantity"));
	mk_buf_free(&bad);
}

static void test_maps_bytes_rawext_packed(void **state)
{
	/* ConfigMap: data{"a": "", "b" without value}, binaryData{"bin": 00 ff} */
	struct mk_buf cm = MK_BUF_INIT, e = MK_BUF_INIT;
	put_str(&e, 1, "a");
	put_str(&e, 2, "");
	put_msg(&cm, 2, &e);
	put_str(&e, 1, "b");
	put_msg(&cm, 2, &e);
	put_str(&e, 1, "bin");
	put_bytes(&e, 2, "\x00\xff", 2);
	put_msg(&cm, 3, &e);
	json_t *out = decode_type("k8s.io.api.core.v1.ConfigMap", &cm);
	json_t *want = json_loads("{\"data\":{\"a\":\"\",\"b\":\"\"},\"binaryData\":{\"bin\":\"AP8=\"}}",
				  0, NULL);
	assert_json_equal(out, want);
	json_decref(out);
	json_decref(want);
	mk_buf_free(&cm);

	/* core/v1 List: items are RawExtension holding JSON. */
	struct mk_buf list = MK_BUF_INIT, raw = MK_BUF_INIT;
	put_str(&raw, 1, "{\"kind\":\"Pod\",\"x\":[1,null]}");
	put_msg(&list, 2, &raw);
	out = decode_type("k8s.io.api.core.v1.List", &list);
	want = json_loads("{\"items\":[{\"kind\":\"Pod\",\"x\":[1,null]}]}", 0, NULL);
	assert_json_equal(out, want);
	json_decref(out);
	json_decref(want);
	mk_buf_free(&list);

	/* Repeated int64 packed and unpacked: supplementalGroups. */
	struct mk_buf psc = MK_BUF_INIT, packed = MK_BUF_INIT;
	put_varint(&packed, 1);
	put_varint(&packed, 300);
	put_msg(&psc, 4, &packed);
	put_uint(&psc, 4, 7);
	out = decode_type("k8s.io.api.core.v1.PodSecurityContext", &psc);
	want = json_loads("{\"supplementalGroups\":[1,300,7]}", 0, NULL);
	assert_json_equal(out, want);
	json_decref(out);
	json_decref(want);
	mk_buf_free(&psc);

	/* A pointer bool set to false stays; int32 -1 is sign-extended. */
	struct mk_buf sc = MK_BUF_INIT;
	put_uint(&sc, 3, 0);                        /* runAsNonRoot *bool */
	put_uint(&sc, 2, (uint64_t)(int64_t)-1);    /* runAsUser *int64 */
	out = decode_type("k8s.io.api.core.v1.PodSecurityContext", &sc);
	want = json_loads("{\"runAsNonRoot\":false,\"runAsUser\":-1}", 0, NULL);
	assert_json_equal(out, want);
	json_decref(out);
	json_decref(want);
	mk_buf_free(&sc);
}

static void test_unknown_fields_skipped_and_merge(void **state)
{
	/* ObjectMeta{name "a", 99: varint, 98: bytes, 97: fixed32, 96: fixed64}
	 * then a second metadata{namespace "ns"}: merged. */
	struct mk_buf pod = MK_BUF_INIT, meta = MK_BUF_INIT, raw = MK_BUF_INIT, body = MK_BUF_INIT;
	put_str(&meta, 1, "a");
	put_uint(&meta, 99, 12345);
	put_str(&meta, 98, "future");
	put_key(&meta, 97, 5);
	mk_buf_append(&meta, "\1\2\3\4", 4);
	put_key(&meta, 96, 1);
	mk_buf_append(&meta, "\1\2\3\4\5\6\7\10", 8);
	put_msg(&pod, 1, &meta);
	put_str(&meta, 3, "ns");
	put_msg(&pod, 1, &meta);
	put_uint(&pod, 77, 1); /* unknown field of Pod itself */
	mk_buf_append(&raw, pod.data, pod.len);
	mk_buf_free(&pod);
	envelope(&body, "v1", "Pod", &raw);
	json_t *out = decode_ok(&body);
	json_t *want = json_loads("{\"apiVersion\":\"v1\",\"kind\":\"Pod\","
				  "\"metadata\":{\"name\":\"a\",\"namespace\":\"ns\"}}",
				  0, NULL);
	assert_json_equal(out, want);
	json_decref(out);
	json_decref(want);
	mk_buf_free(&body);
}

/* --- Malformed input ------------------------------------------------- */

static void test_bad_envelopes(void **state)
{
	struct mk_buf b = MK_BUF_INIT, raw = MK_BUF_INIT;
	json_t *out = (json_t *)1;
	char err[128] = "";

	assert_int_equal(schema_decode_protobuf("", 0, &out, err, sizeof(err)), MK_EINVAL);
	assert_null(out);
	mk_buf_append(&b, "k8s\1", 4);
	decode_fails(&b, "magic");
	mk_buf_free(&b);
	mk_buf_append(&b, "{\"kind\":\"Pod\"}", 14);
	decode_fails(&b, "magic");
	mk_buf_free(&b);

	envelope(&b, "v1", "NoSuchKind", &raw);
	decode_fails(&b, "no schema for kind \"NoSuchKind\"");
	mk_buf_free(&b);
	envelope(&b, "example.com/v1", "Widget", &raw);
	decode_fails(&b, "no schema");
	mk_buf_free(&b);
	envelope(&b, "", "", &raw);
	decode_fails(&b, "without apiVersion");
	mk_buf_free(&b);

	envelope(&b, "v1", "Namespace", &raw);
	put_str(&b, 3, "gzip");
	decode_fails(&b, "content encoding \"gzip\"");
	mk_buf_free(&b);
	envelope(&b, "v1", "Namespace", &raw);
	put_str(&b, 4, "application/json");
	decode_fails(&b, "content type");
	mk_buf_free(&b);

	/* Envelope field with the wrong wire type. */
	mk_buf_append(&b, "k8s\0", 4);
	put_uint(&b, 1, 5);
	decode_fails(&b, "wrong wire type");
	mk_buf_free(&b);
}

static void test_wrong_wire_types(void **state)
{
	struct mk_buf b = MK_BUF_INIT, raw = MK_BUF_INIT, meta = MK_BUF_INIT;

	put_uint(&raw, 1, 5); /* metadata as a varint */
	envelope(&b, "v1", "Namespace", &raw);
	decode_fails(&b, "wrong wire type 0 for field metadata");
	mk_buf_free(&b);

	put_uint(&meta, 1, 5); /* metadata.name as a varint */
	put_msg(&raw, 1, &meta);
	envelope(&b, "v1", "Namespace", &raw);
	decode_fails(&b, "field name of k8s.io.apimachinery.pkg.apis.meta.v1.ObjectMeta");
	mk_buf_free(&b);

	put_str(&meta, 7, "1"); /* generation (int64) as bytes */
	put_msg(&raw, 1, &meta);
	envelope(&b, "v1", "Namespace", &raw);
	decode_fails(&b, "wrong wire type");
	mk_buf_free(&b);

	/* Groups are not Kubernetes: wire types 3 and 4, also when unknown. */
	put_key(&raw, 50, 3);
	envelope(&b, "v1", "Namespace", &raw);
	decode_fails(&b, "unsupported wire type 3");
	mk_buf_free(&b);
	put_key(&raw, 50, 7);
	envelope(&b, "v1", "Namespace", &raw);
	decode_fails(&b, "unsupported wire type 7");
	mk_buf_free(&b);

	/* Field number 0. */
	put_key(&raw, 0, 0);
	put_varint(&raw, 1);
	envelope(&b, "v1", "Namespace", &raw);
	decode_fails(&b, "field number 0");
	mk_buf_free(&b);
}

static void test_huge_lengths_and_varints(void **state)
{
	struct mk_buf b = MK_BUF_INIT;
	/* raw announcing 2^40 bytes. */
	mk_buf_append(&b, "k8s\0", 4);
	put_key(&b, 2, 2);
	put_varint(&b, 1ULL << 40);
	mk_buf_append(&b, "xx", 2);
	decode_fails(&b, "beyond the end");
	mk_buf_free(&b);

	/* A length just one past what is left. */
	struct mk_buf raw = MK_BUF_INIT, meta = MK_BUF_INIT;
	put_str(&meta, 1, "abc");
	meta.data[1] = 4;
	put_msg(&raw, 1, &meta);
	envelope(&b, "v1", "Namespace", &raw);
	decode_fails(&b, "beyond the end");
	mk_buf_free(&b);

	/* An 11-byte varint and a 10-byte one overflowing 64 bits. */
	mk_buf_append(&b, "k8s\0", 4);
	mk_buf_append(&b, "\x48\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 12);
	decode_fails(&b, "varint");
	mk_buf_free(&b);
	mk_buf_append(&b, "k8s\0", 4);
	mk_buf_append(&b, "\x48\xff\xff\xff\xff\xff\xff\xff\xff\xff\x02", 11);
	decode_fails(&b, "longer than 64 bits");
	mk_buf_free(&b);

	/* Oversized apiVersion. */
	char big[400];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	envelope(&b, big, "Pod", &raw);
	decode_fails(&b, "invalid apiVersion");
	mk_buf_free(&b);
}

static void test_bad_strings_and_raw(void **state)
{
	struct mk_buf b = MK_BUF_INIT, raw = MK_BUF_INIT, meta = MK_BUF_INIT;
	put_str(&meta, 1, "bad\xc3\x28");
	put_msg(&raw, 1, &meta);
	envelope(&b, "v1", "Namespace", &raw);
	decode_fails(&b, "not UTF-8");
	mk_buf_free(&b);

	/* A map key with NUL. */
	struct mk_buf e = MK_BUF_INIT;
	put_bytes(&e, 1, "a\0b", 3);
	put_str(&e, 2, "v");
	put_msg(&meta, 11, &e);
	put_msg(&raw, 1, &meta);
	envelope(&b, "v1", "Namespace", &raw);
	decode_fails(&b, "NUL");
	mk_buf_free(&b);

	/* RawExtension bytes that are not JSON, and deeply nested JSON
	 * (past jansson's depth limit). */
	struct mk_buf r = MK_BUF_INIT;
	put_str(&r, 1, "\x0a\x02hi");
	put_msg(&raw, 2, &r);
	envelope(&b, "v1", "List", &raw);
	decode_fails(&b, "not JSON");
	mk_buf_free(&b);
	size_t depth = 5000;
	char *deep = malloc(2 * depth + 1);
	memset(deep, '[', depth);
	memset(deep + depth, ']', depth);
	deep[2 * depth] = '\0';
	put_str(&r, 1, deep);
	free(deep);
	put_msg(&raw, 2, &r);
	envelope(&b, "v1", "List", &raw);
	decode_fails(&b, "not JSON");
	mk_buf_free(&b);

	/* An IntOrString of unknown type. */
	struct mk_buf port = MK_BUF_INIT, ios = MK_BUF_INIT;
	put_uint(&ios, 1, 7);
	put_msg(&port, 4, &ios);
	json_t *out;
	char err[128];
	assert_int_equal(schema_decode_message(schema_type("k8s.io.api.core.v1.ServicePort"), port.data,
					       port.len, &out, err, sizeof(err)),
			 MK_EINVAL);
	assert_non_null(strstr(err, "IntOrString type 7"));
	mk_buf_free(&port);
}

static void test_deepest_real_nesting(void **state)
{
	/* The generated types are not recursive: the deepest chain is ~15
	 * messages (CronJobList), well inside the 64-level guard.  Build a
	 * CronJobList item down to a container's env value source.  Only
	 * what is on the wire appears (gogo would also write the empty
	 * metadata and status structs, which then appear as {}). */
	struct mk_buf ref = MK_BUF_INIT, src = MK_BUF_INIT, env = MK_BUF_INIT, c = MK_BUF_INIT;
	struct mk_buf ps = MK_BUF_INIT, pt = MK_BUF_INIT, js = MK_BUF_INIT, jt = MK_BUF_INIT;
	struct mk_buf cs = MK_BUF_INIT, cj = MK_BUF_INIT, list = MK_BUF_INIT, lor = MK_BUF_INIT;
	put_str(&lor, 1, "cfg");
	put_msg(&ref, 1, &lor); /* inline LocalObjectReference: name */
	put_str(&ref, 2, "key");
	put_msg(&src, 3, &ref); /* configMapKeyRef */
	put_str(&env, 1, "E");
	put_msg(&env, 3, &src);
	put_str(&c, 1, "c");
	put_msg(&c, 7, &env);
	put_msg(&ps, 2, &c);
	put_msg(&pt, 2, &ps);
	put_msg(&js, 6, &pt);
	put_msg(&jt, 2, &js);
	put_str(&cs, 1, "@daily");
	put_msg(&cs, 5, &jt);
	put_msg(&cj, 2, &cs);
	put_msg(&list, 2, &cj);
	json_t *out = decode_type("k8s.io.api.batch.v1.CronJobList", &list);
	json_t *want = json_loads(
		"{\"items\":[{\"spec\":{\"schedule\":\"@daily\","
		"\"jobTemplate\":{\"spec\":{\"template\":{\"spec\":{"
		"\"containers\":[{\"name\":\"c\",\"env\":[{\"name\":\"E\",\"valueFrom\":{"
		"\"configMapKeyRef\":{\"name\":\"cfg\",\"key\":\"key\"}}}]}]}}}}}}]}",
		0, NULL);
	assert_json_equal(out, want);
	json_decref(out);
	json_decref(want);
	mk_buf_free(&list);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_namespace_wire_sample),
		cmocka_unit_test(test_kubectl_captures),
		cmocka_unit_test(test_truncated_at_every_offset),
		cmocka_unit_test(test_time_and_microtime),
		cmocka_unit_test(test_intorstring_quantity_inline),
		cmocka_unit_test(test_maps_bytes_rawext_packed),
		cmocka_unit_test(test_unknown_fields_skipped_and_merge),
		cmocka_unit_test(test_bad_envelopes),
		cmocka_unit_test(test_wrong_wire_types),
		cmocka_unit_test(test_huge_lengths_and_varints),
		cmocka_unit_test(test_bad_strings_and_raw),
		cmocka_unit_test(test_deepest_real_nesting),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
