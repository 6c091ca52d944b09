/*
 * The WebSocket opening handshake (RFC 6455 §4.2): recognising and checking
 * an upgrade request, choosing a subprotocol, the accept key.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "../base/err.h"
#include "http_internal.h"
#include "websocket.h"

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

/* Calls `fn` for each comma-separated, space-trimmed token of `list`;
 * stops when it returns true (and returns true). */
static bool each_token(const char *list, bool (*fn)(const char *tok, size_t n, void *arg),
		       void *arg)
{
	const char *p = list;
	while (p != NULL && *p) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		const char *end = p;
		while (*end && *end != ',')
			end++;
		const char *last = end;
		while (last > p && (last[-1] == ' ' || last[-1] == '\t'))
			last--;
		if (last > p && fn(p, (size_t)(last - p), arg))
			return true;
		p = end;
	}
	return false;
}

static bool token_is(const char *tok, size_t n, void *arg)
{
	const char *want = arg;
	return strlen(want) == n && strncasecmp(tok, want, n) == 0;
}

static bool header_has_token(const struct http_request *r, const char *name, const char *token)
{
	for (size_t i = 0; i < r->n_headers; i++)
		if (strcmp(r->header_names[i], name) == 0 &&
		    each_token(r->header_values[i], token_is, (void *)token))
			return true;
	return false;
}

bool ws_is_upgrade(const struct http_request *r)
{
	return header_has_token(r, "upgrade", "websocket");
}

static bool key_valid(const char *key)
{
	/* 16 random bytes in base64: 22 characters and "==". */
	if (key == NULL || strlen(key) != 24 || strcmp(key + 22, "==") != 0)
		return false;
	for (int i = 0; i < 22; i++)
		if (!isalnum((unsigned char)key[i]) && key[i] != '+' && key[i] != '/')
			return false;
	return true;
}

struct pick {
	const char *const *supported;
	const char *chosen;
	char offered[256]; /* for the error message */
};

static bool pick_protocol(const char *tok, size_t n, void *arg)
{
	struct pick *p = arg;
	size_t used = strlen(p->offered);
	snprintf(p->offered + used, sizeof p->offered - used, "%s%.*s", used ? ", " : "", (int)n,
		 tok);
	for (const char *const *s = p->supported; *s; s++)
		if (strlen(*s) == n && strncmp(*s, tok, n) == 0) {
			p->chosen = *s;
			return true;
		}
	return false;
}

int ws_handshake_check(const struct http_request *r, const char *const *supported,
		       const char **chosen, bool *bad_version, char *errmsg, size_t len)
{
	*chosen = NULL;
	*bad_version = false;
	if (strcmp(r->method, "GET") != 0) {
		snprintf(errmsg, len, "a WebSocket upgrade must be a GET request, not %s", r->method);
		return MK_EINVAL;
	}
	if (!header_has_token(r, "connection", "upgrade")) {
		snprintf(errmsg, len, "a WebSocket upgrade needs the header Connection: Upgrade");
		return MK_EINVAL;
	}
	const char *version = http_request_header(r, "sec-websocket-version");
	if (version == NULL || strcmp(version, "13") != 0) {
		*bad_version = true;
		if (version == NULL)
			snprintf(errmsg, len, "missing Sec-WebSocket-Version header (13 is supported)");
		else
			snprintf(errmsg, len,
				 "unsupported WebSocket version \"%.32s\": only 13 is supported",
				 version);
		return MK_EINVAL;
	}
	if (!key_valid(http_request_header(r, "sec-websocket-key"))) {
		snprintf(errmsg, len, "missing or malformed Sec-WebSocket-Key header");
		return MK_EINVAL;
	}
	struct pick p = {.supported = supported};
	for (size_t i = 0; i < r->n_headers; i++)
		if (strcmp(r->header_names[i], "sec-websocket-protocol") == 0 &&
		    each_token(r->header_values[i], pick_protocol, &p))
			break;
	if (p.chosen == NULL && p.offered[0]) {
		char all[256] = "";
		for (const char *const *s = supported; *s; s++) {
			size_t used = strlen(all);
			snprintf(all + used, sizeof all - used, "%s%s", used ? ", " : "", *s);
		}
		snprintf(errmsg, len,
			 "requested WebSocket subprotocols are not supported: %s; supported: %s",
			 p.offered, all);
		return MK_EINVAL;
	}
	*chosen = p.chosen;
	return MK_OK;
}

int ws_accept_key(const char *key, char out[29])
{
	char buf[128];
	int n = snprintf(buf, sizeof buf, "%s%s", key, WS_GUID);
	if (n < 0 || (size_t)n >= sizeof buf)
		return MK_EINVAL;
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned int dlen = 0;
	if (EVP_Digest(buf, (size_t)n, digest, &dlen, EVP_sha1(), NULL) != 1 || dlen != 20)
		return MK_EIO;
	EVP_EncodeBlock((unsigned char *)out, digest, 20); /* 28 chars and a NUL */
	return MK_OK;
}

void ws_refuse(struct http_exchange *x)
{
	struct conn *c = x->conn;
	if (c == NULL)
		return;
	/* The parser still holds this request's version: the next request
	 * is not read before this answer is complete. */
	bool http11 = c->parser.http_major == 1 && c->parser.http_minor >= 1;
	x->keep_alive = http11 && !header_has_token(&x->req, "connection", "close");
}
