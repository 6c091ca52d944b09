/*
 * Image references, parsed the way Docker's reference grammar does:
 *
 *   [DOMAIN/]PATH[:TAG][@sha256:HEX]
 *
 * DOMAIN is the first component when it has a '.' or a ':', is
 * "localhost", or has an uppercase letter; otherwise it is docker.io
 * ("index.docker.io" is docker.io too), whose single-component paths live
 * under "library/".  PATH components are lowercase [a-z0-9] separated by
 * '.', '_', "__" or dashes; TAG is [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}.
 * Without a tag or digest the tag is "latest".  Pure and reentrant.
 */
#ifndef MK_IMAGE_REF_H
#define MK_IMAGE_REF_H

#include <stdbool.h>
#include <stddef.h>

struct img_ref {
	char domain[256];  /* "docker.io", "127.0.0.1:5000", "[::1]:5000" */
	char path[256];    /* "library/busybox" */
	char tag[129];     /* "" when only a digest was given */
	char digest[72];   /* "sha256:<hex>" or "" */
};

/* MK_EINVAL with a one-line errmsg ("invalid reference \"X\": ...") */
int img_ref_parse(const char *ref, struct img_ref *out, char *errmsg, size_t len);
/* DOMAIN/PATH[:TAG][@DIGEST] into out (512 bytes is enough). */
void img_ref_format(const struct img_ref *r, char *out, size_t len);
/* DOMAIN/PATH: the repository, for "REPO@sha256:..." digests. */
void img_ref_repo(const struct img_ref *r, char *out, size_t len);
/* The host a registry API is reached at: registry-1.docker.io for
 * docker.io, else the domain. */
const char *img_ref_api_host(const struct img_ref *r);
/* Loopback registries (localhost, 127.0.0.0/8, ::1) are spoken to over
 * plain HTTP, as Docker treats them as insecure by default. */
bool img_ref_insecure(const struct img_ref *r);

#endif
