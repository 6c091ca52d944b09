/*
 * libFuzzer target: what registries and image archives hand the image
 * store: indexes, manifests, configs, docker-save manifest.json, and
 * image references.  Every parse either fails with a one-line message or
 * yields a value whose digests are well formed.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/image/image.h"
#include "../../core/image/manifest.h"
#include "../../core/image/ref.h"

/* The parsers under test, compiled into this target (instrumented like it)
 * so that it needs no FUZZ_LIB_SRC line: they use only jansson and libc. */
#include "../../core/image/manifest.c"
#include "../../core/image/manifest_config.c"
#include "../../core/image/ref.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void one_line(const char *msg)
{
	for (const char *p = msg; *p; p++)
		if (*p == '\n')
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *body = (const char *)data;
	char err[512], out[512];
	struct mf_index ix;
	struct mf_manifest m;
	struct mf_config c;
	struct mf_docker_image *d;
	size_t n;

	mf_kind_of(size > 0 && data[0] == 'a' ? "application/json" : NULL, body, size);
	err[0] = '\0';
	if (mf_parse_index(body, size, &ix, err, sizeof err) == 0) {
		mf_pick(&ix, "amd64", "");
		mf_pick(&ix, "arm64", "v8");
		for (size_t i = 0; i < ix.n; i++)
			if (!mf_good_digest(ix.manifests[i].digest))
				abort();
		mf_index_free(&ix);
	}
	one_line(err);
	if (mf_parse_manifest(body, size, &m, err, sizeof err) == 0) {
		if (!mf_good_digest(m.config.digest))
			abort();
		mf_manifest_free(&m);
	}
	one_line(err);
	if (mf_parse_config(body, size, &c, err, sizeof err) == 0)
		mf_config_free(&c);
	one_line(err);
	if (mf_parse_docker(body, size, &d, &n, err, sizeof err) == 0)
		mf_docker_free(d, n);
	one_line(err);

	char *s = malloc(size + 1);
	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (image_ref_normalize(s, out, sizeof out, err, sizeof err) == 0) {
		/* Normalizing is idempotent. */
		char again[512];
		if (image_ref_normalize(out, again, sizeof again, err, sizeof err) != 0 ||
		    strcmp(out, again) != 0)
			abort();
	} else {
		one_line(err);
	}
	free(s);
	return 0;
}
