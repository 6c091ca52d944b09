/*
 * Request bodies: JSON or protobuf (kubectl's `create <generator>`), turned
 * into an object of the call's kind and checked the way the real API
 * server's decoder does (fieldValidation Strict / Warn / Ignore).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/err.h"
#include "../schema/schema.h"
#include "api_internal.h"
#include "object.h"

enum field_validation { FV_IGNORE, FV_WARN, FV_STRICT };

static int field_validation(struct api_call *c, enum field_validation *out)
{
	const char *v = api_query_get(&c->query, "fieldValidation");
	/* The server default since 1.27 is Warn. */
	if (v == NULL || v[0] == '\0' || strcmp(v, "Warn") == 0)
		*out = FV_WARN;
	else if (strcmp(v, "Strict") == 0)
		*out = FV_STRICT;
	else if (strcmp(v, "Ignore") == 0)
		*out = FV_IGNORE;
	else {
		api_fail(c, 400, "BadRequest",
			 "fieldValidation must be one of \"Ignore\", \"Warn\" or \"Strict\", not "
			 "\"%s\"", v);
		return MK_EINVAL;
	}
	return MK_OK;
}

static bool media_is(const char *ctype, const char *want)
{
	size_t n = strlen(want);
	return ctype != NULL && strncasecmp(ctype, want, n) == 0 &&
	       (ctype[n] == '\0' || ctype[n] == ';' || ctype[n] == ' ');
}

/* Parses the body as JSON, or protobuf when so labelled.  Anything else is
 * 415. */
int api_parse_body(struct api_call *c, bool strict_dups, json_t **out)
{
	const struct http_request *r = c->req;
	const char *ctype = http_request_header(r, "content-type");
	char err[512];
	if (r->body_len == 0) {
		api_fail(c, 400, "BadRequest", "the request body is empty");
		return MK_EINVAL;
	}
	if (media_is(ctype, "application/vnd.kubernetes.protobuf")) {
		if (schema_decode_protobuf(r->body, r->body_len, out, err, sizeof err) != MK_OK) {
			api_fail(c, 400, "BadRequest", "invalid protobuf body: %s", err);
			return MK_EINVAL;
		}
		return MK_OK;
	}
	if (ctype != NULL && ctype[0] && !media_is(ctype, "application/json") &&
	    !media_is(ctype, "application/merge-patch+json") &&
	    !media_is(ctype, "application/strategic-merge-patch+json") &&
	    !media_is(ctype, "application/json-patch+json") && !media_is(ctype, "*/*")) {
		api_fail(c, 415, "UnsupportedMediaType", "the body of the request was in an unknown "
			 "format - accepted media types include: application/json, "
			 "application/vnd.kubernetes.protobuf");
		return MK_EINVAL;
	}
	json_error_t je;
	json_t *j = json_loadb((const char *)r->body, r->body_len,
			       strict_dups ? JSON_REJECT_DUPLICATES : 0, &je);
	if (j == NULL) {
		api_fail(c, 400, "BadRequest", "the body of the request could not be decoded as "
			 "JSON: %s at line %d column %d", je.text, je.line, je.column);
		return MK_EINVAL;
	}
	*out = j;
	return MK_OK;
}

/* Joins problem paths into the real server's wording. */
static void describe_problems(const json_t *problems, char *out, size_t len)
{
	size_t used = 0, i;
	json_t *p;
	out[0] = '\0';
	json_array_foreach(problems, i, p) {
		const char *field = json_string_value(json_object_get(p, "field"));
		const char *kind = json_string_value(json_object_get(p, "kind"));
		int n;
		if (kind != NULL && strcmp(kind, "unknown") == 0)
			n = snprintf(out + used, len - used, "%sunknown field \"%s\"",
				     i ? ", " : "", field ? field : "");
		else if (kind != NULL && strcmp(kind, "duplicate") == 0)
			n = snprintf(out + used, len - used, "%sduplicate field \"%s\"",
				     i ? ", " : "", field ? field : "");
		else
			n = snprintf(out + used, len - used,
				     "%sfield \"%s\": expected %s, got %s", i ? ", " : "",
				     field ? field : "",
				     json_string_value(json_object_get(p, "expected")) ?: "?",
				     json_string_value(json_object_get(p, "got")) ?: "?");
		if (n < 0 || (size_t)n >= len - used)
			break;
		used += (size_t)n;
	}
}

/* Decodes the body as an object of the call's kind: apiVersion/kind
 * defaulted from the URL (the Python client omits them), checked against
 * it, and field-validated. */
int api_decode_object(struct api_call *c, json_t **out)
{
	enum field_validation fv;
	if (field_validation(c, &fv) != MK_OK)
		return MK_EINVAL;
	json_t *obj;
	/* Strict also refuses duplicate fields, as the real decoder does. */
	if (api_parse_body(c, fv == FV_STRICT, &obj) != MK_OK)
		return MK_EINVAL;
	if (!json_is_object(obj)) {
		json_decref(obj);
		api_fail(c, 400, "BadRequest", "the body must be a JSON object");
		return MK_EINVAL;
	}
	char gv[128];
	resource_group_version(c->res, gv, sizeof gv);
	const json_t *jv = json_object_get(obj, "apiVersion");
	const json_t *jk = json_object_get(obj, "kind");
	if ((jv != NULL && !json_is_string(jv)) || (jk != NULL && !json_is_string(jk))) {
		json_decref(obj);
		api_fail(c, 400, "BadRequest", "apiVersion and kind must be strings");
		return MK_EINVAL;
	}
	const char *v = json_string_value(jv), *k = json_string_value(jk);
	if ((v != NULL && v[0] && strcmp(v, gv) != 0) || (k != NULL && k[0] && strcmp(k, c->res->kind) != 0)) {
		api_fail(c, 400, "BadRequest",
			 "the API version in the data (%s) does not match the expected API version "
			 "(%s), or the kind (%s) does not match %s",
			 v ? v : "", gv, k ? k : "", c->res->kind);
		json_decref(obj);
		return MK_EINVAL;
	}
	json_object_set_new(obj, "apiVersion", json_string(gv));
	json_object_set_new(obj, "kind", json_string(c->res->kind));
	if (!json_is_object(json_object_get(obj, "metadata")) &&
	    json_object_get(obj, "metadata") != NULL && !json_is_null(json_object_get(obj, "metadata"))) {
		json_decref(obj);
		api_fail(c, 400, "BadRequest", "metadata must be an object");
		return MK_EINVAL;
	}
	if (fv != FV_IGNORE && !c->res->custom) {
		const struct schema_msg *t = schema_kind(c->res->group, c->res->version, c->res->kind);
		json_t *problems = json_array();
		if (t != NULL && schema_check(t, obj, problems) > 0) {
			char text[1024];
			describe_problems(problems, text, sizeof text);
			/* A wrong type is an error whatever fieldValidation says:
			 * the real decoder cannot unmarshal it. */
			bool type_error = false;
			size_t i;
			json_t *p;
			json_array_foreach(problems, i, p)
				if (strcmp(json_string_value(json_object_get(p, "kind")) ?: "", "type") == 0)
					type_error = true;
			if (fv == FV_STRICT || type_error) {
				api_fail(c, 400, "BadRequest", "%s in version \"%s\" cannot be handled "
					 "as a %s: strict decoding error: %s", c->res->kind, gv,
					 c->res->kind, text);
				json_decref(problems);
				json_decref(obj);
				return MK_EINVAL;
			}
			free(c->warning);
			c->warning = strdup(text);
		}
		json_decref(problems);
	}
	*out = obj;
	return MK_OK;
}
