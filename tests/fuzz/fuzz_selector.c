/*
 * libFuzzer target: the label selector parser, the field selector parser
 * (for resources with different field sets) and metav1.LabelSelector
 * objects -- all input any client controls -- plus matching what they
 * accept.  Besides crashes and leaks it checks one property: the text
 * form of a valid LabelSelector parses back to a selector that matches
 * exactly the same label sets.
 *
 * Build (the lead wires it into the Makefile):
 *   clang -std=gnu11 -g -O1 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined \
 *     tests/fuzz/fuzz_selector.c core/api/selector_*.c core/api/object.c core/base/[a-z]*.c \
 *     $(pkg-config --cflags --libs jansson openssl)
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/api/selector.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const label_sets[] = {
	"{}",
	"{\"app\":\"web\",\"tier\":\"fe\",\"n\":\"5\",\"empty\":\"\"}",
	"{\"example.com/role\":\"x\",\"a\":\"b\",\"in\":\"notin\",\"n\":\"-3\"}",
	"{\"app\":\"db\",\"n\":\"9223372036854775807\"}",
};
#define N_SETS (sizeof label_sets / sizeof label_sets[0])

static void labels_fuzz(const char *s, json_t *const *sets)
{
	struct label_selector *ls;
	char err[256];
	if (label_selector_parse(s, &ls, err, sizeof err) == 0) {
		for (size_t i = 0; i < N_SETS; i++)
			label_selector_matches(ls, sets[i]);
		label_selector_matches(ls, NULL);
		label_selector_free(ls);
	}
}

static void fields_fuzz(const char *s)
{
	static const char *const resources[] = {"pods", "events", "jobs", "nodes", "configmaps"};
	json_t *obj = json_loads("{\"metadata\":{\"name\":\"web\",\"namespace\":\"default\"},"
				 "\"spec\":{\"nodeName\":\"n1\",\"hostNetwork\":true},"
				 "\"status\":{\"succeeded\":2,\"podIPs\":[{\"ip\":\"10.0.0.1\"}]},"
				 "\"involvedObject\":{\"name\":\"web\"},"
				 "\"reportingComponent\":\"k\"}",
				 0, NULL);
	for (size_t r = 0; r < sizeof resources / sizeof resources[0]; r++) {
		struct field_selector *fs;
		char err[256];
		if (field_selector_parse(s, resources[r], &fs, err, sizeof err) == 0) {
			field_selector_matches(fs, obj);
			field_selector_matches(fs, NULL);
			field_selector_pinned(fs, "metadata.name");
			field_selector_free(fs);
		}
	}
	json_decref(obj);
}

static void object_fuzz(const uint8_t *data, size_t size, json_t *const *sets)
{
	json_t *sel = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
	struct label_selector *ls, *back;
	char err[256];
	if (sel == NULL)
		return;
	if (label_selector_from_json(sel, &ls, err, sizeof err) == 0) {
		char *text = label_selector_string(sel);
		if (text == NULL)
			__builtin_trap(); /* accepted, so it has a text form */
		/* A nil selector matches nothing but prints as "": skip it. */
		if (!json_is_null(sel)) {
			if (label_selector_parse(text, &back, err, sizeof err) != 0)
				__builtin_trap();
			for (size_t i = 0; i < N_SETS; i++)
				if (label_selector_matches(ls, sets[i]) !=
				    label_selector_matches(back, sets[i]))
					__builtin_trap();
			label_selector_free(back);
		}
		free(text);
		label_selector_free(ls);
	}
	json_decref(sel);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	json_t *sets[N_SETS];
	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	for (size_t i = 0; i < N_SETS; i++)
		sets[i] = json_loads(label_sets[i], 0, NULL);
	labels_fuzz(s, sets);
	fields_fuzz(s);
	object_fuzz(data, size, sets);
	for (size_t i = 0; i < N_SETS; i++)
		json_decref(sets[i]);
	free(s);
	return 0;
}
