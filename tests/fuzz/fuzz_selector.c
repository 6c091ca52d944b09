/*
 * libFuzzer target: label and field selector parsers (query parameters
 * every client controls), and matching what they parse.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/api/selector.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	char err[256];
	json_t *obj = json_pack("{s:{s:s, s:{s:s}}, s:{s:s}}", "metadata", "name", "web", "labels",
				"app", "web", "spec", "nodeName", "n1");
	struct label_selector *ls;
	if (label_selector_parse(s, &ls, err, sizeof err) == 0) {
		label_selector_matches(ls, json_object_get(json_object_get(obj, "metadata"), "labels"));
		label_selector_free(ls);
	}
	struct field_selector *fs;
	if (field_selector_parse(s, "pods", &fs, err, sizeof err) == 0) {
		field_selector_matches(fs, obj);
		field_selector_pinned(fs, "metadata.name");
		field_selector_free(fs);
	}
	json_decref(obj);
	free(s);
	return 0;
}
