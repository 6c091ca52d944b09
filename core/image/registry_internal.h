/*
 * What registry.c and registry_auth.c share: the conversation and one
 * transfer.  See registry.h for the contract.
 */
#ifndef MK_IMAGE_REGISTRY_INTERNAL_H
#define MK_IMAGE_REGISTRY_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>
#include <openssl/evp.h>

#include "image.h"

#define ERR_BODY_MAX (64 * 1024)

struct reg {
	CURL *curl;
	char base[600];      /* scheme://host/v2/PATH */
	char path[256];
	char *user, *pass;
	char *auth;          /* the Authorization header once known */
	bool insecure;
};

/* What one request collects. */
struct xfer {
	struct reg *r;
	/* memory sink */
	char *mem;
	size_t n, max;
	/* fd sink */
	int fd;
	EVP_MD_CTX *sha;
	uint64_t done, total, reported;
	const char *what;
	image_progress_fn progress;
	void *arg;
	bool too_big;
	int write_err;
	/* answer */
	char err[ERR_BODY_MAX];
	size_t err_n;
	char challenge[1024];
	char ctype[256];
};

/* Resets the handle and sets what every request has: URL, sinks,
 * timeouts, redirects (http/https only), the error buffer. */
void reg_common_opts(struct reg *r, struct xfer *x, const char *url, char *errbuf, bool small);
/* The reason of a failed transfer in few words ("connection refused"). */
int reg_curl_reason(CURLcode c, struct reg *r, const char *errbuf, char *errmsg, size_t len);
/* "manifest unknown (404)" from a registry's {"errors":[{code,message}]}. */
int reg_status_reason(long code, struct xfer *x, char *errmsg, size_t len);
/* Answers a WWW-Authenticate challenge: a bearer token from its realm
 * (into r->auth), or 1 for Basic (the caller sends the credentials). */
int reg_authenticate(struct reg *r, const char *challenge, char *errmsg, size_t len);

#endif
