/*
 * Shared by the pki_*.c files.
 */
#ifndef MK_CLUSTER_PKI_INTERNAL_H
#define MK_CLUSTER_PKI_INTERNAL_H

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <sys/types.h>

#include "pki.h"

/* pki_files.c */
const char *pki_name(enum pki_file f);
int pki_mkdirs(const char *data_dir, char *errmsg, size_t len);
int pki_write(const char *data_dir, enum pki_file f, const void *data, size_t n, mode_t mode,
	      char *errmsg, size_t len);
/* MK_ENOTFOUND if absent; *out NUL-terminated, malloc'd. */
int pki_read(const char *data_dir, enum pki_file f, char **out, size_t *n);

/* pki_x509.c */
struct pki_subject {
	const char *cn;
	const char *o;  /* may be NULL */
};
EVP_PKEY *pki_new_key(void);
/* A CA certificate when `issuer` is NULL (self-signed with `key`). `sans`
 * is an X509v3 subjectAltName value ("DNS:a,IP:1.2.3.4") or NULL;
 * `client` selects clientAuth (else serverAuth) for leaves. */
X509 *pki_new_cert(const struct pki_subject *subject, EVP_PKEY *key, X509 *issuer,
		   EVP_PKEY *issuer_key, int days, const char *sans, bool client);
int pki_write_cert(const char *dir, enum pki_file f, X509 *cert, char *errmsg, size_t len);
int pki_write_key(const char *dir, enum pki_file f, EVP_PKEY *key, char *errmsg, size_t len);
/* MK_ENOTFOUND if absent, MK_EINVAL (errmsg) if unreadable. */
int pki_load_cert(const char *dir, enum pki_file f, X509 **out, char *errmsg, size_t len);
int pki_load_key(const char *dir, enum pki_file f, EVP_PKEY **out, char *errmsg, size_t len);

#endif
