/*
 * libFuzzer target: the CRI log format that `kubectl logs` reads from the
 * files containers write (records, RFC 3339 timestamps), and the sinceTime
 * parser that sees the query's bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/api/cri_log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A copy of exactly `size` bytes, so that reading past the line is
	 * caught by the sanitizer. */
	char *s = malloc(size ? size : 1);
	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	struct cri_record r;
	const char *why;
	if (cri_record_parse(s, size, &r, &why) == 0) {
		if (r.content < s || r.content + r.len > s + size)
			abort();
		/* A record's timestamp prints and parses back to itself. */
		char out[CRI_TIME_MAX];
		struct cri_time back;
		size_t n = cri_time_format(&r.time, out);
		if (cri_time_parse(out, n, &back) != 0 || cri_time_cmp(&back, &r.time) != 0 ||
		    back.offset != r.time.offset)
			abort();
		if (cri_line_ends_line(s, size) == r.partial)
			abort();
	} else if (why == NULL) {
		abort();
	}
	struct cri_time t;
	cri_time_parse(s, size, &t);
	free(s);
	return 0;
}
