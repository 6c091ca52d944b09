/*
 * A jansson value printed as YAML through libyaml's emitter, which takes
 * care of indentation and of escaping whatever the strings hold.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <yaml.h>

#include "../core/base/err.h"
#include "cli.h"

static int write_out(void *data, unsigned char *buf, size_t size)
{
	return fwrite(buf, 1, size, (FILE *)data) == size;
}

/* Whether `s` can be written unquoted and read back as the same string.
 * YAML 1.1 readers (PyYAML) turn yes/no/on/off/y/n into booleans, ~ and
 * null into null, and digits into numbers, so anything that is not a
 * plain word is quoted. */
static bool plain_safe(const char *s)
{
	static const char *const words[] = {"y", "n", "yes", "no", "true", "false",
					    "on", "off", "null"};
	if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_'))
		return false;
	for (const char *p = s; *p != '\0'; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || strchr("._/-", *p) != NULL))
			return false;
	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
		if (strcasecmp(s, words[i]) == 0)
			return false;
	return true;
}

static int scalar(yaml_emitter_t *e, const char *text, size_t len, bool quoted)
{
	yaml_event_t ev;
	if (!yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)text, (int)len, 1, 1,
					  quoted ? YAML_DOUBLE_QUOTED_SCALAR_STYLE
						 : YAML_PLAIN_SCALAR_STYLE))
		return MK_ENOMEM;
	return yaml_emitter_emit(e, &ev) ? MK_OK : MK_EIO;
}

static int string(yaml_emitter_t *e, const char *s, size_t len)
{
	/* A string with a NUL inside is not plain-safe: strlen stops early. */
	return scalar(e, s, len, strlen(s) != len || !plain_safe(s));
}

static int emit(yaml_emitter_t *e, const json_t *v)
{
	yaml_event_t ev;
	char num[64];
	int rv = MK_OK;

	switch (json_typeof(v)) {
	case JSON_OBJECT: {
		const char *key;
		json_t *item;
		yaml_mapping_style_t style = json_object_size(v) == 0 ? YAML_FLOW_MAPPING_STYLE
								       : YAML_BLOCK_MAPPING_STYLE;
		if (!yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, style) ||
		    !yaml_emitter_emit(e, &ev))
			return MK_EIO;
		json_object_foreach((json_t *)v, key, item) {
			if ((rv = string(e, key, strlen(key))) != MK_OK)
				return rv;
			if ((rv = emit(e, item)) != MK_OK)
				return rv;
		}
		if (!yaml_mapping_end_event_initialize(&ev) || !yaml_emitter_emit(e, &ev))
			return MK_EIO;
		return MK_OK;
	}
	case JSON_ARRAY: {
		size_t i;
		json_t *item;
		yaml_sequence_style_t style = json_array_size(v) == 0 ? YAML_FLOW_SEQUENCE_STYLE
								      : YAML_BLOCK_SEQUENCE_STYLE;
		if (!yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1, style) ||
		    !yaml_emitter_emit(e, &ev))
			return MK_EIO;
		json_array_foreach(v, i, item) {
			if ((rv = emit(e, item)) != MK_OK)
				return rv;
		}
		if (!yaml_sequence_end_event_initialize(&ev) || !yaml_emitter_emit(e, &ev))
			return MK_EIO;
		return MK_OK;
	}
	case JSON_STRING:
		return string(e, json_string_value(v), json_string_length(v));
	case JSON_INTEGER:
		snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return scalar(e, num, strlen(num), false);
	case JSON_REAL:
		snprintf(num, sizeof num, "%.17g", json_real_value(v));
		return scalar(e, num, strlen(num), false);
	case JSON_TRUE:
		return scalar(e, "true", 4, false);
	case JSON_FALSE:
		return scalar(e, "false", 5, false);
	case JSON_NULL:
		return scalar(e, "null", 4, false);
	}
	return MK_EINVAL;
}

int cli_print_yaml(const json_t *doc)
{
	yaml_emitter_t e;
	yaml_event_t ev;
	int rv = MK_EIO;

	if (!yaml_emitter_initialize(&e))
		return MK_ENOMEM;
	yaml_emitter_set_output(&e, write_out, stdout);
	yaml_emitter_set_unicode(&e, 1);
	yaml_emitter_set_width(&e, -1); /* one line per value, however long */
	if (!yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING) ||
	    !yaml_emitter_emit(&e, &ev))
		goto out;
	if (!yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1) ||
	    !yaml_emitter_emit(&e, &ev))
		goto out;
	if ((rv = emit(&e, doc)) != MK_OK)
		goto out;
	rv = MK_EIO;
	if (!yaml_document_end_event_initialize(&ev, 1) || !yaml_emitter_emit(&e, &ev) ||
	    !yaml_stream_end_event_initialize(&ev) || !yaml_emitter_emit(&e, &ev) ||
	    !yaml_emitter_flush(&e))
		goto out;
	rv = MK_OK;
out:
	yaml_emitter_delete(&e);
	return rv;
}
