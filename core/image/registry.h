/*
 * A conversation with one OCI distribution (Docker registry v2) endpoint,
 * for one repository, over libcurl.
 *
 * Authentication as Docker does it: anonymous first; on 401 the
 * WWW-Authenticate challenge decides.  Bearer (realm, service, scope): a
 * token is fetched from the realm (with the caller's username/password
 * as Basic credentials there, if given) and sent from then on; Basic:
 * the credentials go to the registry itself.  HTTPS with the system CAs;
 * plain HTTP for loopback registries only (img_ref_insecure).  Connect
 * timeout 10 s; a transfer slower than 1 KiB/s for 30 s is abandoned;
 * small requests end after 60 s.
 *
 * Errors: MK_ENOTFOUND (404), MK_EIO (network, other statuses),
 * MK_ETIMEDOUT, MK_EPROTO (answers that make no sense), MK_EINVAL (digest
 * mismatch); errmsg is the reason alone ("manifest unknown (404)",
 * "connection refused", "unauthorized"): the caller adds what it was doing.
 *
 * Threading: one struct reg per thread.
 */
#ifndef MK_IMAGE_REGISTRY_H
#define MK_IMAGE_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#include "image.h"
#include "ref.h"

struct reg;

int reg_open(const struct img_ref *ref, const char *user, const char *pass, struct reg **out,
	     char *errmsg, size_t len);
void reg_close(struct reg *r);

/* GET /v2/PATH/manifests/REFERENCE (a tag or a digest) with the Accept
 * header for OCI and Docker v2 indexes and manifests.  *body (at most 4
 * MiB, NUL-terminated) and *ctype (may be NULL) are malloc'd. */
int reg_manifest(struct reg *r, const char *reference, char **body, size_t *n, char **ctype,
		 char *errmsg, size_t len);

/* GET /v2/PATH/blobs/DIGEST into fd (from its current offset), checking
 * the sha256 while it arrives and that it is `size` bytes (size < 0: not
 * known).  MK_EINVAL on a mismatch; the caller discards fd's content on
 * any error. */
int reg_blob(struct reg *r, const char *digest, int64_t size, int fd, const char *what,
	     image_progress_fn progress, void *arg, char *errmsg, size_t len);

/* Parses a WWW-Authenticate value: *scheme ("bearer", "basic",
 * lowercased) and the realm/service/scope parameters (empty if absent)
 * into the caller's buffers of `n` bytes each.  Exposed for tests. */
void reg_parse_challenge(const char *h, char *scheme, char *realm, char *service, char *scope,
			 size_t n);

#endif
