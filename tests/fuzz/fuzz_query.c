/*
 * libFuzzer target: the API's query strings and name rules, which see
 * every request's raw bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/api/api_internal.h"
#include "../../core/api/object.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	struct api_query q;
	if (api_query_parse(s, &q) == 0) {
		int64_t n;
		api_query_get(&q, "limit");
		api_query_bool(&q, "watch");
		api_query_int(&q, "timeoutSeconds", -1, &n);
		api_query_free(&q);
	}
	object_check_label(s);
	object_check_subdomain(s);
	object_check_path_segment(s);
	free(s);
	return 0;
}
