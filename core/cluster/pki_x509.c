/*
 * Keys and certificates with OpenSSL 3: generation, PEM in and out.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "../base/err.h"
#include "pki_internal.h"

/* ECDSA P-256: generated in a millisecond (fast first start), accepted by
 * kubectl, Go and Python clients. */
EVP_PKEY *pki_new_key(void)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	ERR_clear_error();
	return k;
}

static int add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (ext == NULL)
		return -1;
	int ok = X509_add_ext(cert, ext, -1);
	X509_EXTENSION_free(ext);
	return ok ? 0 : -1;
}

static int add_name(X509_NAME *name, const char *field, const char *value)
{
	return X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8,
					  (const unsigned char *)value, -1, -1, 0)
		       ? 0
		       : -1;
}

/* 128 random bits (RFC 5280 allows up to 20 octets; a positive INTEGER
 * needs at most 17 here): unique without a serial database, as Go's
 * crypto/x509 users do. */
static int set_random_serial(X509 *cert)
{
	BIGNUM *serial = BN_new();
	int rc = -1;
	if (serial != NULL && BN_rand(serial, 128, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) &&
	    !BN_is_zero(serial) && BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(cert)))
		rc = 0;
	BN_free(serial);
	return rc;
}

X509 *pki_new_cert(const struct pki_subject *subject, EVP_PKEY *key, X509 *issuer,
		   EVP_PKEY *issuer_key, int days, const char *sans, bool client)
{
	X509 *cert = X509_new();
	if (cert == NULL || !X509_set_version(cert, 2) || set_random_serial(cert) != 0)
		goto fail;
	/* An hour of slack for peers whose clocks are a little behind. */
	if (!X509_gmtime_adj(X509_getm_notBefore(cert), -3600) ||
	    !X509_gmtime_adj(X509_getm_notAfter(cert), (long)days * 86400))
		goto fail;
	X509_NAME *name = X509_get_subject_name(cert);
	/* O before CN, the order openssl and kubeadm print. */
	if ((subject->o != NULL && add_name(name, "O", subject->o) != 0) ||
	    add_name(name, "CN", subject->cn) != 0)
		goto fail;
	if (!X509_set_issuer_name(cert, issuer ? X509_get_subject_name(issuer) : name) ||
	    !X509_set_pubkey(cert, key))
		goto fail;
	X509 *iss = issuer ? issuer : cert;
	if (issuer == NULL) {
		if (add_ext(cert, iss, NID_basic_constraints, "critical,CA:TRUE") ||
		    add_ext(cert, iss, NID_key_usage, "critical,keyCertSign,cRLSign") ||
		    add_ext(cert, iss, NID_subject_key_identifier, "hash"))
			goto fail;
	} else {
		/* digitalSignature only: keyEncipherment is meaningless for
		 * EC keys (RFC 5480 §3) and TLS 1.2/1.3 ECDHE never needs it. */
		if (add_ext(cert, iss, NID_basic_constraints, "critical,CA:FALSE") ||
		    add_ext(cert, iss, NID_key_usage, "critical,digitalSignature") ||
		    add_ext(cert, iss, NID_ext_key_usage, client ? "clientAuth" : "serverAuth") ||
		    add_ext(cert, iss, NID_subject_key_identifier, "hash") ||
		    add_ext(cert, iss, NID_authority_key_identifier, "keyid:always"))
			goto fail;
		if (sans != NULL && add_ext(cert, iss, NID_subject_alt_name, sans))
			goto fail;
	}
	if (!X509_sign(cert, issuer_key ? issuer_key : key, EVP_sha256()))
		goto fail;
	return cert;
fail:
	ERR_clear_error();
	X509_free(cert);
	return NULL;
}

/* The text of the first `nid` entry of `name`, or "" (truncated to len). */
static void name_entry(X509_NAME *name, int nid, char *buf, int len)
{
	if (X509_NAME_get_text_by_NID(name, nid, buf, len) < 0)
		buf[0] = '\0';
}

bool pki_cert_matches(X509 *cert, const struct pki_subject *subject, bool client)
{
	char cn[128], o[128];
	X509_NAME *name = X509_get_subject_name(cert);
	name_entry(name, NID_commonName, cn, sizeof cn);
	name_entry(name, NID_organizationName, o, sizeof o);
	if (strcmp(cn, subject->cn) != 0 || strcmp(o, subject->o ? subject->o : "") != 0)
		return false;
	uint32_t xku = X509_get_extended_key_usage(cert);
	ERR_clear_error();
	return (xku & (client ? XKU_SSL_CLIENT : XKU_SSL_SERVER)) != 0;
}

static int write_bio(const char *dir, enum pki_file f, BIO *bio, mode_t mode, char *errmsg,
		     size_t len)
{
	char *data;
	long n = BIO_get_mem_data(bio, &data);
	if (n <= 0)
		return MK_ENOMEM;
	return pki_write(dir, f, data, (size_t)n, mode, errmsg, len);
}

int pki_write_cert(const char *dir, enum pki_file f, X509 *cert, char *errmsg, size_t len)
{
	BIO *bio = BIO_new(BIO_s_mem());
	int rv = MK_ENOMEM;
	if (bio != NULL && PEM_write_bio_X509(bio, cert))
		rv = write_bio(dir, f, bio, 0644, errmsg, len);
	if (rv == MK_ENOMEM)
		snprintf(errmsg, len, "%s: cannot encode: out of memory", pki_name(f));
	BIO_free(bio);
	ERR_clear_error();
	return rv;
}

int pki_write_key(const char *dir, enum pki_file f, EVP_PKEY *key, char *errmsg, size_t len)
{
	/* Secure-heap BIO: the PEM of the key is wiped when freed. */
	BIO *bio = BIO_new(BIO_s_secmem());
	int rv = MK_ENOMEM;
	if (bio != NULL && PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL))
		rv = write_bio(dir, f, bio, 0600, errmsg, len);
	if (rv == MK_ENOMEM)
		snprintf(errmsg, len, "%s: cannot encode: out of memory", pki_name(f));
	BIO_free(bio);
	ERR_clear_error();
	return rv;
}

/* An encrypted key is refused instead of OpenSSL's default callback
 * prompting on the terminal, which would hang a daemon at start-up. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

static void *decode_cert(BIO *bio)
{
	return PEM_read_bio_X509(bio, NULL, no_passphrase, NULL);
}

static void *decode_key(BIO *bio)
{
	return PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
}

/* Reads file `f` and decodes it with `decode`.  The file's bytes are wiped
 * after use (they may be a private key). */
static int load_pem(const char *dir, enum pki_file f, void *(*decode)(BIO *), void **out,
		    const char *what, char *errmsg, size_t len)
{
	char *data;
	size_t n;
	*out = NULL;
	int rv = pki_read(dir, f, &data, &n);
	if (rv == MK_ENOTFOUND)
		return rv;
	if (rv != MK_OK) {
		snprintf(errmsg, len, "%s: cannot read: %s", pki_name(f),
			 rv == MK_ETOOBIG ? "file too large" : mk_strerror(rv));
		return MK_EINVAL;
	}
	BIO *bio = BIO_new_mem_buf(data, (int)n);
	*out = bio ? decode(bio) : NULL;
	BIO_free(bio);
	pki_free_secret(data, n);
	ERR_clear_error();
	if (*out == NULL) {
		snprintf(errmsg, len, "%s: not a PEM %s", pki_name(f), what);
		return MK_EINVAL;
	}
	return MK_OK;
}

int pki_load_cert(const char *dir, enum pki_file f, X509 **out, char *errmsg, size_t len)
{
	return load_pem(dir, f, decode_cert, (void **)out, "certificate", errmsg, len);
}

int pki_load_key(const char *dir, enum pki_file f, EVP_PKEY **out, char *errmsg, size_t len)
{
	return load_pem(dir, f, decode_key, (void **)out, "private key", errmsg, len);
}
