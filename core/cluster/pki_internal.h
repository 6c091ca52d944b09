/*
 * Shared by the pki_*.c files; not for other subsystems (they use pki.h).
 *
 * Errors follow pki.h: MK_E* with a one-line errmsg naming the file
 * relative to the data directory ("certs/ca.key: ...").  Returned OpenSSL
 * objects belong to the caller (X509_free, EVP_PKEY_free).
 */
#ifndef MK_CLUSTER_PKI_INTERNAL_H
#define MK_CLUSTER_PKI_INTERNAL_H

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <sys/types.h>

#include "pki.h"

/* Largest PKI file read (certificates and keys are a few KiB). */
#define PKI_MAX_FILE (1024 * 1024)

/* ---- pki_files.c ---- */

/* "certs/ca.crt" etc. */
const char *pki_name(enum pki_file f);
/* DIR, DIR/certs and DIR/credentials, created 0700 when missing. */
int pki_mkdirs(const char *data_dir, char *errmsg, size_t len);
/* Atomically replaces file `f` (temp file created with `mode`, fsync,
 * rename, fsync of the directory). */
int pki_write(const char *data_dir, enum pki_file f, const void *data, size_t n, mode_t mode,
	      char *errmsg, size_t len);
/* The whole file, NUL-terminated, malloc'd (free with pki_free_secret if it
 * may hold a key).  MK_ENOTFOUND if absent, MK_ETOOBIG past PKI_MAX_FILE,
 * MK_EIO otherwise; no errmsg. */
int pki_read(const char *data_dir, enum pki_file f, char **out, size_t *n);
/* Wipes then frees; NULL-safe. */
void pki_free_secret(char *s, size_t n);

/* ---- pki_x509.c ---- */

struct pki_subject {
	const char *cn;
	const char *o; /* may be NULL */
};

EVP_PKEY *pki_new_key(void);
/* A CA certificate when `issuer` is NULL (self-signed with `key`), else a
 * leaf signed by issuer/issuer_key.  `sans` is an X509v3 subjectAltName
 * value ("DNS:a,IP:1.2.3.4") or NULL; `client` selects clientAuth (else
 * serverAuth) for leaves.  NULL on failure. */
X509 *pki_new_cert(const struct pki_subject *subject, EVP_PKEY *key, X509 *issuer,
		   EVP_PKEY *issuer_key, int days, const char *sans, bool client);
/* Whether `cert` has exactly this CN and O and the wanted extended usage. */
bool pki_cert_matches(X509 *cert, const struct pki_subject *subject, bool client);
int pki_write_cert(const char *dir, enum pki_file f, X509 *cert, char *errmsg, size_t len);
int pki_write_key(const char *dir, enum pki_file f, EVP_PKEY *key, char *errmsg, size_t len);
/* MK_ENOTFOUND if absent (errmsg untouched), MK_EINVAL with errmsg if it
 * cannot be read or is not PEM (an encrypted key counts as unreadable). */
int pki_load_cert(const char *dir, enum pki_file f, X509 **out, char *errmsg, size_t len);
int pki_load_key(const char *dir, enum pki_file f, EVP_PKEY **out, char *errmsg, size_t len);

/* ---- pki_addr.c ---- */

/* What the API server certificate must cover. */
struct pki_sans {
	char **dns;   /* lower-case names */
	size_t n_dns;
	char **ips;   /* canonical text (inet_ntop) */
	size_t n_ips;
	char *conf;   /* "DNS:localhost,...,IP:127.0.0.1,..." for pki_new_cert */
};

/* The fixed names and addresses plus cfg's hostname and addresses.  An
 * address that is not an IP, or a hostname given in cfg that is not a DNS
 * name, is MK_EINVAL; a bad gethostname() result is left out with a
 * warning. */
int pki_sans_build(const struct pki_config *cfg, struct pki_sans *s, char *errmsg, size_t len);
void pki_sans_free(struct pki_sans *s);

#endif
