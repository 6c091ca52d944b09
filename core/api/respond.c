/*
 * Sending JSON answers and Status errors on the loop thread.
 */
#include <stdlib.h>
#include <string.h>

#include "api_internal.h"

void api_send_json(struct http_exchange *x, int status, json_t *body,
		   const struct http_header *extra, size_t n_extra)
{
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	if (text == NULL) {
		static const char oom[] = "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},"
					  "\"status\":\"Failure\",\"message\":\"out of memory\","
					  "\"reason\":\"InternalError\",\"code\":500}";
		http_respond(x, 500, "application/json", NULL, 0, oom, sizeof oom - 1);
		return;
	}
	http_respond(x, status, "application/json", extra, n_extra, text, strlen(text));
	free(text);
}

void api_send_status(struct http_exchange *x, int code, const char *reason, const char *message)
{
	json_t *st = api_status(code, reason, message);
	api_send_json(x, code, st, NULL, 0);
	json_decref(st);
}

void api_http_error_body(int status, const char *message, char **out, size_t *len,
			 const char **content_type)
{
	json_t *st = api_status(status, api_reason_for(status), message);
	*out = st ? json_dumps(st, JSON_COMPACT) : NULL;
	*len = *out ? strlen(*out) : 0;
	*content_type = "application/json";
	json_decref(st);
}
