/*
 * libFuzzer target: the three patch formats (core/api/patch*.c) on
 * arbitrary documents and patches.
 *
 * Input: byte 0 picks the (group, kind) of the strategic merge patch and
 * how to read the rest:
 *   - high bit set: "TARGET\nPATCH", two JSON texts (without a newline the
 *     whole rest is the patch, applied to a small Pod);
 *   - high bit clear: bytes that build the target and then the patch from
 *     a small grammar over Kubernetes and directive words (see gen()), so
 *     that even a fuzzer starting from nothing makes meaningful patches.
 * Beyond "no crash, no leak", it aborts if:
 *   - a failed patch changed the document (pointer or content), or left
 *     an empty or multi-line or non-UTF-8 message;
 *   - a patch changed the patch;
 *   - a strategic merge patch left a directive in a result whose target
 *     had none;
 *   - a result cannot be serialized and parsed back (nesting bounds).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../../core/api/patch.h"
#include "../../core/base/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const kinds[][2] = {
	{"", "Pod"},	 {"apps", "Deployment"}, {"batch", "CronJob"},
	{"", "Service"}, {"", "Node"},		 {"example.com", "Widget"},
};

static const char default_target[] =
	"{\"metadata\":{\"name\":\"p\",\"labels\":{\"a\":\"b\"},\"finalizers\":[\"x\",\"y\"]},"
	"\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"i\",\"env\":[{\"name\":\"E\"}],"
	"\"ports\":[{\"containerPort\":80}]}],\"volumes\":[{\"name\":\"v\",\"emptyDir\":{}}]}}";

/* Words the generator builds keys and strings from. */
static const char *const words[] = {
	"$patch", "replace", "delete", "merge", "$retainKeys", "$setElementOrder/containers",
	"$setElementOrder/finalizers", "$setElementOrder/env", "$setElementOrder/ports",
	"$deleteFromPrimitiveList/finalizers", "$deleteFromPrimitiveList/args", "$ref", "$bogus",
	"spec", "metadata", "status", "template", "jobTemplate", "containers", "initContainers",
	"env", "ports", "volumes", "finalizers", "labels", "conditions", "podCIDRs", "addresses",
	"strategy", "rollingUpdate", "hostPath", "emptyDir", "name", "containerPort", "port",
	"type", "uid", "args", "image", "a", "b", "op", "path", "from", "value", "add",
	"remove", "copy", "move", "test", "", "/spec", "/spec/containers/0", "/spec/containers/-",
	"/metadata/labels/a", "/a", "/a/0", "/a/b", "/a/-", "/~0", "/~1", "/a~", "/0", "/-",
};

struct gen {
	const uint8_t *p, *end;
	int nodes;
};

static unsigned next(struct gen *g)
{
	return g->p < g->end ? *g->p++ : 0;
}

/* One JSON value from the bytes: small numbers, words, and containers of
 * up to 7 members, nested up to 150 levels (past PATCH_MAX_DEPTH). */
static json_t *gen(struct gen *g, int depth)
{
	unsigned b = next(g);
	size_t nwords = sizeof(words) / sizeof(words[0]);
	if (++g->nodes > 3000 || depth > 150 || g->p >= g->end)
		b = 3;
	switch (b % 7) {
	case 0:
		return json_null();
	case 1:
		return json_boolean(b & 8);
	case 2:
		return json_integer((json_int_t)next(g) - 8);
	case 3:
		return json_string(words[next(g) % nwords]);
	case 4: {
		json_t *o = json_object();
		for (unsigned n = (b >> 3) % 8; n > 0 && o; n--)
			json_object_set_new(o, words[next(g) % nwords], gen(g, depth + 1));
		return o;
	}
	case 5: {
		json_t *a = json_array();
		for (unsigned n = (b >> 3) % 8; n > 0 && a; n--)
			json_array_append_new(a, gen(g, depth + 1));
		return a;
	}
	default:
		return json_real((double)next(g) / 2);
	}
}

static bool has_directive(const json_t *v)
{
	const char *key;
	json_t *m;
	size_t i;
	if (json_is_object(v)) {
		json_object_foreach((json_t *)v, key, m)
			if ((key[0] == '$' && strcmp(key, "$ref") != 0 &&
			     strcmp(key, "$schema") != 0) ||
			    has_directive(m))
				return true;
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, m)
			if (has_directive(m))
				return true;
	}
	return false;
}

static void check_message(const char *msg)
{
	if (msg[0] == '\0' || strchr(msg, '\n'))
		abort();
	json_t *s = json_string(msg);
	if (!s)
		abort();
	json_decref(s);
}

static void check_readable(const json_t *doc)
{
	char *text = json_dumps(doc, JSON_ENCODE_ANY | JSON_COMPACT);
	if (!text)
		return; /* out of memory: nothing to check */
	json_error_t e;
	json_t *back = json_loads(text, JSON_DECODE_ANY, &e);
	if (!back || !json_equal(back, doc))
		abort();
	json_decref(back);
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const char *const *kind = kinds[(data[0] & 0x7f) % (sizeof(kinds) / sizeof(kinds[0]))];
	const char *text = (const char *)data + 1;
	size_t n = size - 1;
	const char *nl = memchr(text, '\n', n);

	json_error_t e;
	size_t flags = JSON_DECODE_ANY | JSON_REJECT_DUPLICATES;
	json_t *target, *patch;
	if (!(data[0] & 0x80)) {
		struct gen g = {data + 1, data + size, 0};
		target = gen(&g, 0);
		patch = gen(&g, 0);
	} else if (nl) {
		target = json_loadb(text, (size_t)(nl - text), flags, &e);
		patch = json_loadb(nl + 1, n - (size_t)(nl - text) - 1, flags, &e);
	} else {
		target = json_loads(default_target, 0, &e);
		patch = json_loadb(text, n, flags, &e);
	}
	json_t *patch_copy = patch ? json_deep_copy(patch) : NULL;
	if (!target || !patch || !patch_copy)
		goto out;

	for (int f = 0; f < 3; f++) {
		json_t *doc = json_deep_copy(target), *ptr = doc;
		char msg[200] = "";
		int rc;
		if (!doc)
			break;
		if (f == 0)
			rc = patch_merge(&doc, patch, msg, sizeof(msg));
		else if (f == 1)
			rc = patch_json(&doc, patch, msg, sizeof(msg));
		else
			rc = patch_strategic(&doc, patch, kind[0], kind[1], msg, sizeof(msg));
		if (rc != MK_OK) {
			if (doc != ptr || !json_equal(doc, target))
				abort();
			check_message(msg);
		} else {
			if (f == 2 && has_directive(doc) && !has_directive(target))
				abort();
			check_readable(doc);
		}
		json_decref(doc);
	}
	if (!json_equal(patch, patch_copy))
		abort();
out:
	json_decref(target);
	json_decref(patch);
	json_decref(patch_copy);
	return 0;
}
