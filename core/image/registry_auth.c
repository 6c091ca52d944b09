/*
 * Registry authentication: WWW-Authenticate challenges and bearer tokens
 * (the Docker token protocol: GET REALM?service=S&scope=repository:P:pull,
 * with Basic credentials when the caller has some; the answer's "token"
 * or "access_token").
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#include "../base/err.h"
#include "registry.h"
#include "registry_internal.h"

#define TOKEN_MAX (1u << 20)

void reg_parse_challenge(const char *h, char *scheme, char *realm, char *service, char *scope,
			 size_t n)
{
	const char *p = h;
	size_t k = 0;
	scheme[0] = realm[0] = service[0] = scope[0] = '\0';
	while (*p == ' ')
		p++;
	while (*p && *p != ' ' && k + 1 < n)
		scheme[k++] = (char)tolower((unsigned char)*p++);
	scheme[k] = '\0';
	while (*p) {
		char key[32], val[1024];
		size_t kn = 0, vn = 0;
		while (*p == ' ' || *p == ',')
			p++;
		while (*p && *p != '=' && *p != ',' && kn + 1 < sizeof key)
			key[kn++] = (char)tolower((unsigned char)*p++);
		key[kn] = '\0';
		if (*p != '=') {
			while (*p && *p != ',')
				p++;
			continue;
		}
		p++;
		if (*p == '"') {
			for (p++; *p && *p != '"'; p++) {
				if (*p == '\\' && p[1])
					p++;
				if (vn + 1 < sizeof val)
					val[vn++] = *p;
			}
			if (*p == '"')
				p++;
		} else {
			while (*p && *p != ',' && *p != ' ')
				if (vn + 1 < sizeof val)
					val[vn++] = *p++;
				else
					p++;
		}
		val[vn] = '\0';
		char *dst = strcmp(key, "realm") == 0	  ? realm
			    : strcmp(key, "service") == 0 ? service
			    : strcmp(key, "scope") == 0	  ? scope
							  : NULL;
		if (dst != NULL)
			snprintf(dst, n, "%s", val);
	}
}

static char *url_escape(CURL *c, const char *s)
{
	return curl_easy_escape(c, s, 0);
}

/* Answers a challenge: a bearer token from its realm, or Basic. */
int reg_authenticate(struct reg *r, const char *challenge, char *errmsg, size_t len)
{
	char scheme[32], realm[1024], service[1024], scope[1024], errbuf[CURL_ERROR_SIZE];
	reg_parse_challenge(challenge, scheme, realm, service, scope, sizeof realm);
	free(r->auth);
	r->auth = NULL;
	if (strcmp(scheme, "basic") == 0) {
		if (r->user == NULL) {
			snprintf(errmsg, len,
				 "unauthorized: the registry wants a username and password");
			return MK_EIO;
		}
		return 1; /* curl sends them (CURLOPT_USERNAME) */
	}
	if (strcmp(scheme, "bearer") != 0 ||
	    (strncmp(realm, "https://", 8) != 0 && strncmp(realm, "http://", 7) != 0)) {
		snprintf(errmsg, len, "unauthorized: unsupported challenge \"%.100s\"", challenge);
		return MK_EPROTO;
	}
	if (scope[0] == '\0')
		snprintf(scope, sizeof scope, "repository:%s:pull", r->path);
	struct xfer x = { .r = r, .fd = -1, .max = TOKEN_MAX };
	char *esvc = url_escape(r->curl, service), *escope = url_escape(r->curl, scope), *url = NULL;
	int rv = MK_ENOMEM;
	if (esvc == NULL || escope == NULL ||
	    asprintf(&url, "%s%cservice=%s&scope=%s", realm, strchr(realm, '?') ? '&' : '?',
		     esvc, escope) < 0) {
		url = NULL;
		snprintf(errmsg, len, "out of memory");
		goto out;
	}
	reg_common_opts(r, &x, url, errbuf, true);
	if (r->user != NULL) {
		curl_easy_setopt(r->curl, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
		curl_easy_setopt(r->curl, CURLOPT_USERNAME, r->user);
		curl_easy_setopt(r->curl, CURLOPT_PASSWORD, r->pass ? r->pass : "");
	}
	CURLcode c = curl_easy_perform(r->curl);
	long code = 0;
	curl_easy_getinfo(r->curl, CURLINFO_RESPONSE_CODE, &code);
	if (c != CURLE_OK) {
		rv = reg_curl_reason(c, r, errbuf, errmsg, len);
		goto out;
	}
	if (code != 200) {
		rv = reg_status_reason(code, &x, errmsg, len);
		if (code == 401 || code == 403)
			snprintf(errmsg, len, "unauthorized");
		goto out;
	}
	json_t *j = json_loadb(x.mem ? x.mem : "", x.n, 0, NULL);
	const char *tok = json_string_value(json_object_get(j, "token"));
	if (tok == NULL || tok[0] == '\0')
		tok = json_string_value(json_object_get(j, "access_token"));
	if (tok == NULL || tok[0] == '\0' || strpbrk(tok, "\r\n") != NULL) {
		snprintf(errmsg, len, "the token service answered without a token");
		rv = MK_EPROTO;
	} else if (asprintf(&r->auth, "Authorization: Bearer %s", tok) < 0) {
		r->auth = NULL;
		snprintf(errmsg, len, "out of memory");
	} else {
		rv = 0;
	}
	json_decref(j);
out:
	curl_free(esvc);
	curl_free(escope);
	free(url);
	free(x.mem);
	return rv;
}
