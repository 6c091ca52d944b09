/*
 * Registry HTTP: requests, authentication, error answers.  See registry.h.
 */
#include "registry.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "../base/err.h"
#include "image_internal.h"
#include "manifest.h"
#include "registry_internal.h"

#define PROGRESS_STEP (1u << 20)

int reg_open(const struct img_ref *ref, const char *user, const char *pass, struct reg **out,
	     char *errmsg, size_t len)
{
	struct reg *r = calloc(1, sizeof *r);
	*out = NULL;
	if (r == NULL || (r->curl = curl_easy_init()) == NULL) {
		free(r);
		snprintf(errmsg, len, "cannot initialise libcurl");
		return MK_ENOMEM;
	}
	r->insecure = img_ref_insecure(ref);
	snprintf(r->path, sizeof r->path, "%s", ref->path);
	snprintf(r->base, sizeof r->base, "%s://%s/v2/%s", r->insecure ? "http" : "https",
		 img_ref_api_host(ref), ref->path);
	if ((user && !(r->user = strdup(user))) || (pass && !(r->pass = strdup(pass)))) {
		reg_close(r);
		snprintf(errmsg, len, "out of memory");
		return MK_ENOMEM;
	}
	*out = r;
	return 0;
}

void reg_close(struct reg *r)
{
	if (r == NULL)
		return;
	curl_easy_cleanup(r->curl);
	free(r->user);
	if (r->pass)
		OPENSSL_cleanse(r->pass, strlen(r->pass));
	free(r->pass);
	if (r->auth)
		OPENSSL_cleanse(r->auth, strlen(r->auth));
	free(r->auth);
	free(r);
}

static bool ok_status(struct xfer *x)
{
	long code = 0;
	curl_easy_getinfo(x->r->curl, CURLINFO_RESPONSE_CODE, &code);
	return code >= 200 && code < 300;
}

static void report(struct xfer *x, bool last)
{
	if (x->progress == NULL || (!last && x->done < x->reported + PROGRESS_STEP))
		return;
	x->reported = x->done;
	x->progress(x->arg, x->what, x->done, last && x->total == 0 ? x->done : x->total);
}

static size_t on_body(char *p, size_t size, size_t nmemb, void *arg)
{
	struct xfer *x = arg;
	size_t n = size * nmemb;
	if (!ok_status(x)) { /* an error answer: keep its start for the message */
		size_t k = n < sizeof x->err - 1 - x->err_n ? n : sizeof x->err - 1 - x->err_n;
		memcpy(x->err + x->err_n, p, k);
		x->err_n += k;
		x->err[x->err_n] = '\0';
		return n;
	}
	if (x->fd >= 0) {
		if (x->total > 0 && x->done + n > x->total) {
			x->too_big = true;
			return 0;
		}
		EVP_DigestUpdate(x->sha, p, n);
		for (size_t off = 0; off < n;) {
			ssize_t w = write(x->fd, p + off, n - off);
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0) {
				x->write_err = errno;
				return 0;
			}
			off += (size_t)w;
		}
		x->done += n;
		report(x, false);
		return n;
	}
	if (x->n + n > x->max) {
		x->too_big = true;
		return 0;
	}
	char *m = realloc(x->mem, x->n + n + 1);
	if (m == NULL)
		return 0;
	x->mem = m;
	memcpy(x->mem + x->n, p, n);
	x->n += n;
	x->mem[x->n] = '\0';
	return n;
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *arg)
{
	struct xfer *x = arg;
	size_t n = size * nmemb;
	char line[1100];
	if (strncmp(p, "HTTP/", 5) == 0) { /* a new answer (after a redirect) */
		x->challenge[0] = x->ctype[0] = '\0';
		return n;
	}
	snprintf(line, sizeof line, "%.*s", (int)(n < sizeof line - 1 ? n : sizeof line - 1), p);
	line[strcspn(line, "\r\n")] = '\0';
	char *colon = strchr(line, ':');
	if (colon == NULL)
		return n;
	*colon = '\0';
	char *v = colon + 1;
	while (*v == ' ' || *v == '\t')
		v++;
	if (strcasecmp(line, "WWW-Authenticate") == 0)
		snprintf(x->challenge, sizeof x->challenge, "%s", v);
	else if (strcasecmp(line, "Content-Type") == 0)
		snprintf(x->ctype, sizeof x->ctype, "%s", v);
	return n;
}

/* The reason of a failed transfer, in few words. */
int reg_curl_reason(CURLcode c, struct reg *r, const char *errbuf, char *errmsg, size_t len)
{
	long oserr = 0;
	curl_easy_getinfo(r->curl, CURLINFO_OS_ERRNO, &oserr);
	switch (c) {
	case CURLE_COULDNT_CONNECT:
		if (oserr != 0) {
			snprintf(errmsg, len, "%s", strerror((int)oserr));
			errmsg[0] = (char)tolower((unsigned char)errmsg[0]);
		} else {
			snprintf(errmsg, len, "cannot connect: %s", errbuf);
		}
		return MK_EIO;
	case CURLE_COULDNT_RESOLVE_HOST:
		snprintf(errmsg, len, "cannot resolve the registry's host name");
		return MK_EIO;
	case CURLE_OPERATION_TIMEDOUT:
		snprintf(errmsg, len, "timed out (%s)", errbuf[0] ? errbuf : "no progress");
		return MK_ETIMEDOUT;
	default:
		snprintf(errmsg, len, "%s", errbuf[0] ? errbuf : curl_easy_strerror(c));
		return MK_EIO;
	}
}

/* "manifest unknown (404)" from a registry's {"errors":[{code,message}]}. */
int reg_status_reason(long code, struct xfer *x, char *errmsg, size_t len)
{
	json_t *j = json_loadb(x->err, x->err_n, 0, NULL);
	json_t *e0 = json_array_get(json_object_get(j, "errors"), 0);
	const char *msg = json_string_value(json_object_get(e0, "message"));
	const char *ecode = json_string_value(json_object_get(e0, "code"));
	char text[200];
	snprintf(text, sizeof text, "%s", msg ? msg : ecode ? ecode : "");
	for (char *p = text; *p; p++)
		if (!isprint((unsigned char)*p))
			*p = ' ';
	json_decref(j);
	if (code == 401)
		snprintf(errmsg, len, "unauthorized%s%s",
			 text[0] && strcasecmp(text, "unauthorized") ? ": " : "",
			 strcasecmp(text, "unauthorized") ? text : "");
	else if (text[0])
		snprintf(errmsg, len, "%s (%ld)", text, code);
	else
		snprintf(errmsg, len, "HTTP status %ld", code);
	return code == 404 ? MK_ENOTFOUND : MK_EIO;
}

void reg_common_opts(struct reg *r, struct xfer *x, const char *url, char *errbuf,
			bool small)
{
	CURL *c = r->curl;
	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "mk/0.1");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1024L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 30L);
	if (small)
		curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, x);
	errbuf[0] = '\0';
}

/* One GET with authentication: retried once after answering a 401. */
static int get(struct reg *r, const char *url, const char *accept, struct xfer *x,
	       bool small, char **ctype, char *errmsg, size_t len)
{
	char errbuf[CURL_ERROR_SIZE];
	bool basic = false;
	for (int attempt = 0;; attempt++) {
		struct curl_slist *h = NULL, *t;
		reg_common_opts(r, x, url, errbuf, small);
		if (accept != NULL && (t = curl_slist_append(h, accept)) != NULL)
			h = t;
		if (r->auth != NULL && (t = curl_slist_append(h, r->auth)) != NULL)
			h = t;
		curl_easy_setopt(r->curl, CURLOPT_HTTPHEADER, h);
		if (basic) {
			curl_easy_setopt(r->curl, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
			curl_easy_setopt(r->curl, CURLOPT_USERNAME, r->user);
			curl_easy_setopt(r->curl, CURLOPT_PASSWORD, r->pass ? r->pass : "");
		}
		x->err_n = 0;
		x->err[0] = '\0';
		CURLcode c = curl_easy_perform(r->curl);
		curl_slist_free_all(h);
		long code = 0;
		curl_easy_getinfo(r->curl, CURLINFO_RESPONSE_CODE, &code);
		if (c != CURLE_OK) {
			if (x->too_big) {
				snprintf(errmsg, len, "the registry sent more than %s",
					 x->fd >= 0 ? "the blob's size" : "allowed for a manifest");
				return MK_EPROTO;
			}
			if (x->write_err) {
				snprintf(errmsg, len, "cannot write: %s", strerror(x->write_err));
				return MK_EIO;
			}
			return reg_curl_reason(c, r, errbuf, errmsg, len);
		}
		if (code == 401 && attempt == 0 && x->challenge[0] != '\0') {
			int rv = reg_authenticate(r, x->challenge, errmsg, len);
			if (rv < 0)
				return rv;
			basic = rv == 1;
			continue;
		}
		if (code < 200 || code >= 300)
			return reg_status_reason(code, x, errmsg, len);
		if (ctype != NULL && (*ctype = strdup(x->ctype)) == NULL) {
			snprintf(errmsg, len, "out of memory");
			return MK_ENOMEM;
		}
		return 0;
	}
}

int reg_manifest(struct reg *r, const char *reference, char **body, size_t *n, char **ctype,
		 char *errmsg, size_t len)
{
	static const char accept[] = "Accept: " MT_OCI_INDEX ", " MT_OCI_MANIFEST
				     ", " MT_DOCKER_LIST ", " MT_DOCKER_MANIFEST;
	char url[800];
	struct xfer *x = calloc(1, sizeof *x);
	*body = NULL;
	if (ctype)
		*ctype = NULL;
	if (x == NULL) {
		snprintf(errmsg, len, "out of memory");
		return MK_ENOMEM;
	}
	*x = (struct xfer){ .r = r, .fd = -1, .max = IMG_MAX_MANIFEST };
	snprintf(url, sizeof url, "%s/manifests/%s", r->base, reference);
	int rv = get(r, url, accept, x, true, ctype, errmsg, len);
	if (rv == 0 && x->mem == NULL) {
		snprintf(errmsg, len, "empty manifest");
		rv = MK_EPROTO;
	}
	if (rv == 0) {
		*body = x->mem;
		*n = x->n;
	} else {
		free(x->mem);
	}
	free(x);
	return rv;
}

int reg_blob(struct reg *r, const char *digest, int64_t size, int fd, const char *what,
	     image_progress_fn progress, void *arg, char *errmsg, size_t len)
{
	char url[800], hex[65];
	struct xfer *x = calloc(1, sizeof *x);
	if (x == NULL || (x->sha = img_sha_new()) == NULL) {
		free(x);
		snprintf(errmsg, len, "out of memory");
		return MK_ENOMEM;
	}
	x->r = r;
	x->fd = fd;
	x->total = size > 0 ? (uint64_t)size : 0;
	x->what = what;
	x->progress = progress;
	x->arg = arg;
	snprintf(url, sizeof url, "%s/blobs/%s", r->base, digest);
	int rv = get(r, url, NULL, x, false, NULL, errmsg, len);
	img_sha_done(x->sha, hex);
	if (rv == 0 && size >= 0 && x->done != (uint64_t)size) {
		snprintf(errmsg, len, "%s: got %llu bytes, expected %lld", what,
			 (unsigned long long)x->done, (long long)size);
		rv = MK_EINVAL;
	} else if (rv == 0 && strcmp(hex, digest + 7) != 0) {
		snprintf(errmsg, len, "%s: content does not match its digest (got sha256:%.12s...)",
			 what, hex);
		rv = MK_EINVAL;
	}
	if (rv == 0)
		report(x, true);
	free(x);
	return rv;
}
