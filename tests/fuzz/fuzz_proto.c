/*
 * libFuzzer target for core/schema: protobuf request bodies and strict
 * JSON checking.  Arbitrary bytes must never read out of bounds, leak or
 * crash, and whatever the decoder accepts must pass the strict check of
 * its own type (the decoder only ever produces what Go would accept).
 *
 *   input "k8s\0..."  a whole body (the .pb files of
 *                     tests/unit/fixtures/proto are good seeds)
 *   otherwise         byte 0 picks a mode, byte 1 a kind, the rest is
 *                     0: the raw object inside a valid envelope
 *                     1: the bare message (schema_decode_message)
 *                     2: JSON text for schema_check
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../../core/schema/schema.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const kinds[][3] = {
	{"", "v1", "Pod"},
	{"apps", "v1", "Deployment"},
	{"", "v1", "Service"},
	{"", "v1", "ConfigMap"},
	{"", "v1", "Secret"},
	{"batch", "v1", "CronJob"},
	{"", "v1", "List"},
	{"", "v1", "Node"},
	{"", "v1", "PersistentVolume"},
	{"events.k8s.io", "v1", "Event"},
	{"authentication.k8s.io", "v1", "TokenReview"},
	{"networking.k8s.io", "v1", "Ingress"},
	{"admissionregistration.k8s.io", "v1", "ValidatingWebhookConfiguration"},
	{"meta.k8s.io", "v1", "DeleteOptions"},
};
#define N_KINDS (sizeof(kinds) / sizeof(kinds[0]))

/* Whatever decodes must check clean. */
static void check_clean(const struct schema_msg *t, json_t *obj)
{
	if (schema_check(t, obj, NULL) != 0)
		abort();
}

static void whole_body(const uint8_t *data, size_t size)
{
	json_t *out = NULL;
	char err[256];
	if (schema_decode_protobuf(data, size, &out, err, sizeof(err)) != 0) {
		if (out || !memchr(err, '\0', sizeof(err)))
			abort();
		return;
	}
	const char *api = json_string_value(json_object_get(out, "apiVersion"));
	const char *kind = json_string_value(json_object_get(out, "kind"));
	const char *slash = strchr(api, '/');
	char group[256] = "";
	if (slash)
		memcpy(group, api, (size_t)(slash - api));
	const struct schema_msg *t = schema_kind(group, slash ? slash + 1 : api, kind);
	if (!t)
		abort();
	check_clean(t, out);
	json_decref(out);
}

static void put_varint(uint8_t **p, size_t v)
{
	while (v >= 0x80) {
		*(*p)++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*(*p)++ = (uint8_t)v;
}

static void in_envelope(const char *const k[3], const uint8_t *raw, size_t n)
{
	char api[128];
	size_t alen = (size_t)snprintf(api, sizeof(api), "%s%s%s", k[0], k[0][0] ? "/" : "", k[1]);
	size_t klen = strlen(k[2]);
	uint8_t *buf = malloc(4 + 2 * 4 + alen + klen + 20 + n);
	uint8_t *p = buf;
	memcpy(p, "k8s", 4);
	p += 4;
	*p++ = 0x0a;
	put_varint(&p, 2 + alen + 2 + klen);
	*p++ = 0x0a;
	put_varint(&p, alen);
	memcpy(p, api, alen);
	p += alen;
	*p++ = 0x12;
	put_varint(&p, klen);
	memcpy(p, k[2], klen);
	p += klen;
	*p++ = 0x12;
	put_varint(&p, n);
	memcpy(p, raw, n);
	p += n;
	whole_body(buf, (size_t)(p - buf));
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size >= 4 && !memcmp(data, "k8s", 4)) {
		whole_body(data, size);
		return 0;
	}
	if (size < 2)
		return 0;
	const char *const *k = kinds[data[1] % N_KINDS];
	const struct schema_msg *t = schema_kind(k[0], k[1], k[2]);
	if (!t)
		abort();
	const uint8_t *rest = data + 2;
	size_t n = size - 2;
	switch (data[0] % 3) {
	case 0:
		in_envelope(k, rest, n);
		break;
	case 1: {
		json_t *out = NULL;
		char err[256];
		if (schema_decode_message(t, rest, n, &out, err, sizeof(err)) == 0) {
			check_clean(t, out);
			json_decref(out);
		} else if (out) {
			abort();
		}
		break;
	}
	default: {
		json_t *doc = json_loadb((const char *)rest, n, JSON_DECODE_ANY, NULL);
		if (doc) {
			json_t *problems = json_array();
			size_t count = schema_check(t, doc, problems);
			if (json_array_size(problems) > SCHEMA_MAX_PROBLEMS ||
			    json_array_size(problems) > count)
				abort();
			json_decref(problems);
			json_decref(doc);
		}
		break;
	}
	}
	return 0;
}
