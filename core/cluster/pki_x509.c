/*
 * Keys and certificates with OpenSSL 3.
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
	return EVP_EC_gen("P-256");
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

X509 *pki_new_cert(const struct pki_subject *subject, EVP_PKEY *key, X509 *issuer,
		   EVP_PKEY *issuer_key, int days, const char *sans, bool client)
{
	X509 *cert = X509_new();
	BIGNUM *serial = BN_new();
	if (cert == NULL || serial == NULL)
		goto fail;
	X509_set_version(cert, 2);
	/* 127 random bits: positive, unique without a serial database. */
	if (!BN_rand(serial, 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) ||
	    !BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(cert)))
		goto fail;
	/* An hour of slack for clocks a little behind ours. */
	X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
	X509_gmtime_adj(X509_getm_notAfter(cert), (long)days * 86400);
	X509_NAME *name = X509_get_subject_name(cert);
	if (subject->o != NULL &&
	    !X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
					(const unsigned char *)subject->o, -1, -1, 0))
		goto fail;
	if (!X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
					(const unsigned char *)subject->cn, -1, -1, 0))
		goto fail;
	X509_set_issuer_name(cert, issuer ? X509_get_subject_name(issuer) : name);
	X509_set_pubkey(cert, key);
	X509 *iss = issuer ? issuer : cert;
	if (issuer == NULL) {
		if (add_ext(cert, iss, NID_basic_constraints, "critical,CA:TRUE") ||
		    add_ext(cert, iss, NID_key_usage, "critical,keyCertSign,cRLSign") ||
		    add_ext(cert, iss, NID_subject_key_identifier, "hash"))
			goto fail;
	} else {
		if (add_ext(cert, iss, NID_basic_constraints, "critical,CA:FALSE") ||
		    add_ext(cert, iss, NID_key_usage, "critical,digitalSignature,keyEncipherment") ||
		    add_ext(cert, iss, NID_ext_key_usage, client ? "clientAuth" : "serverAuth") ||
		    add_ext(cert, iss, NID_authority_key_identifier, "keyid:always"))
			goto fail;
		if (sans != NULL && add_ext(cert, iss, NID_subject_alt_name, sans))
			goto fail;
	}
	if (!X509_sign(cert, issuer_key ? issuer_key : key, EVP_sha256()))
		goto fail;
	BN_free(serial);
	return cert;
fail:
	ERR_clear_error();
	BN_free(serial);
	X509_free(cert);
	return NULL;
}

static int write_bio(const char *dir, enum pki_file f, BIO *bio, mode_t mode, char *errmsg,
		     size_t len)
{
	char *data;
	long n = BIO_get_mem_data(bio, &data);
	return pki_write(dir, f, data, (size_t)n, mode, errmsg, len);
}

int pki_write_cert(const char *dir, enum pki_file f, X509 *cert, char *errmsg, size_t len)
{
	BIO *bio = BIO_new(BIO_s_mem());
	int rv = MK_ENOMEM;
	if (bio != NULL && PEM_write_bio_X509(bio, cert))
		rv = write_bio(dir, f, bio, 0644, errmsg, len);
	BIO_free(bio);
	return rv;
}

int pki_write_key(const char *dir, enum pki_file f, EVP_PKEY *key, char *errmsg, size_t len)
{
	BIO *bio = BIO_new(BIO_s_mem());
	int rv = MK_ENOMEM;
	if (bio != NULL && PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL))
		rv = write_bio(dir, f, bio, 0600, errmsg, len);
	BIO_free(bio);
	return rv;
}

/* Reads file `f` and decodes it with `decode` (a PEM reader on a BIO).
 * Key material is wiped from the buffer after use. */
static int load_pem(const char *dir, enum pki_file f, void *(*decode)(BIO *), void **out,
		    const char *what, char *errmsg, size_t len)
{
	char *data;
	size_t n;
	int rv = pki_read(dir, f, &data, &n);
	if (rv == MK_ENOTFOUND)
		return rv;
	if (rv != MK_OK) {
		snprintf(errmsg, len, "%s: cannot read", pki_name(f));
		return MK_EINVAL;
	}
	BIO *bio = BIO_new_mem_buf(data, (int)n);
	*out = bio ? decode(bio) : NULL;
	BIO_free(bio);
	OPENSSL_cleanse(data, n);
	free(data);
	ERR_clear_error();
	if (*out == NULL) {
		snprintf(errmsg, len, "%s: not a PEM %s", pki_name(f), what);
		return MK_EINVAL;
	}
	return MK_OK;
}

static void *decode_cert(BIO *bio)
{
	return PEM_read_bio_X509(bio, NULL, NULL, NULL);
}

static void *decode_key(BIO *bio)
{
	return PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
}

int pki_load_cert(const char *dir, enum pki_file f, X509 **out, char *errmsg, size_t len)
{
	return load_pem(dir, f, decode_cert, (void **)out, "certificate", errmsg, len);
}

int pki_load_key(const char *dir, enum pki_file f, EVP_PKEY **out, char *errmsg, size_t len)
{
	return load_pem(dir, f, decode_key, (void **)out, "private key", errmsg, len);
}
