/*
 * Kubernetes Status errors: the body of every failed API call, with the
 * reason kubectl prints (reference/kubectl-api.md §6).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/err.h"
#include "../store/store.h"
#include "api_internal.h"

const char *api_reason_for(int code)
{
	switch (code) {
	case 400: return "BadRequest";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "NotFound";
	case 405: return "MethodNotAllowed";
	case 406: return "NotAcceptable";
	case 408: return "Timeout";
	case 409: return "Conflict";
	case 410: return "Expired";
	case 413: return "RequestEntityTooLarge";
	case 415: return "UnsupportedMediaType";
	case 422: return "Invalid";
	case 429: return "TooManyRequests";
	case 500: return "InternalError";
	case 503: return "ServiceUnavailable";
	case 504: return "Timeout";
	default: return "Unknown";
	}
}

json_t *api_status(int code, const char *reason, const char *message)
{
	return json_pack("{s:s, s:s, s:{}, s:s, s:s, s:s, s:i}", "kind", "Status", "apiVersion",
			 "v1", "metadata", "status", code < 400 ? "Success" : "Failure", "message",
			 message, "reason", reason ? reason : api_reason_for(code), "code", code);
}

static void set_status(struct api_call *c, int code, const char *reason, const char *name,
		       json_t *causes, const char *message)
{
	json_decref(c->body);
	c->status = code;
	c->body = api_status(code, reason, message);
	if (c->body == NULL) {
		json_decref(causes);
		return;
	}
	json_t *details = json_object();
	if (name != NULL)
		json_object_set_new(details, "name", json_string(name));
	if (c->res != NULL) {
		if (c->res->group[0])
			json_object_set_new(details, "group", json_string(c->res->group));
		/* Invalid names the kind (kubectl prints `The Service "a" is
		 * invalid`), the other reasons the resource (errors.NewInvalid
		 * takes a GroupKind, NewNotFound a GroupResource). */
		json_object_set_new(details, "kind",
				    json_string(strcmp(reason, "Invalid") == 0 ? c->res->kind
									   : c->res->plural));
	}
	if (causes != NULL)
		json_object_set_new(details, "causes", causes);
	if (json_object_size(details) > 0 && code != 401)
		json_object_set_new(c->body, "details", details);
	else
		json_decref(details);
}

void api_fail(struct api_call *c, int code, const char *reason, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	set_status(c, code, reason, c->name, NULL, msg);
}

void api_fail_details(struct api_call *c, int code, const char *reason, const char *name,
		      json_t *causes, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	set_status(c, code, reason, name, causes, msg);
}

/* What the real API server says for each store outcome, with the resource
 * written as kubectl expects (`pods "web" not found`). */
void api_fail_store(struct api_call *c, int err)
{
	const char *plural = c->res ? c->res->plural : "objects";
	char what[512];
	if (c->res && c->res->group[0])
		snprintf(what, sizeof what, "%s.%s \"%s\"", plural, c->res->group,
			 c->name ? c->name : "");
	else
		snprintf(what, sizeof what, "%s \"%s\"", plural, c->name ? c->name : "");
	switch (err) {
	case MK_ENOTFOUND:
		api_fail(c, 404, "NotFound", "%s not found", what);
		break;
	case MK_EEXISTS:
		api_fail(c, 409, "AlreadyExists", "%s already exists", what);
		break;
	case MK_ECONFLICT:
		api_fail(c, 409, "Conflict",
			 "Operation cannot be fulfilled on %s: the object has been modified; "
			 "please apply your changes to the latest version and try again",
			 what);
		break;
	case MK_ETOOBIG:
		api_fail(c, 413, "RequestEntityTooLarge",
			 "%s is too large to store (limit %d bytes)", what, STORE_MAX_VALUE);
		break;
	case MK_ECOMPACTED:
		api_fail(c, 410, "Expired", "The provided continue parameter is too old to "
					    "display a consistent list result. You can start a new "
					    "list without the continue parameter.");
		break;
	case MK_ETIMEDOUT:
	case MK_EUNAVAILABLE:
	case MK_ENOTLEADER:
		api_fail(c, 503, "ServiceUnavailable", "the datastore is unavailable: %s",
			 store_last_error());
		break;
	default:
		api_fail(c, 500, "InternalError", "datastore error: %s", store_last_error());
	}
}
