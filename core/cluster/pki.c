/*
 * pki_ensure: the node's CA, certificates, kubeconfig and token file.
 *
 * Order matters: CA first (everything hangs on it), then the leaves it
 * signs, then the kubeconfig that embeds the CA and admin files, then the
 * token file.  Each step reuses what is valid, so a restart rewrites
 * nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "../base/err.h"
#include "../base/log.h"
#include "pki_internal.h"
#include "tokens.h"

#define CA_DAYS 3650
#define LEAF_DAYS 365
#define RENEW_BEFORE_DAYS 30
#define TOKEN_LEN 32

/* Whether `cert` is still valid RENEW_BEFORE_DAYS from now. */
static bool expires_soon(X509 *cert)
{
	time_t soon = time(NULL) + (time_t)RENEW_BEFORE_DAYS * 86400;
	return X509_cmp_time(X509_get0_notAfter(cert), &soon) < 0;
}

/* Loads the CA, or makes one when neither file exists.  Never replaces
 * a CA that is there: every client trusts it. */
static int ensure_ca(const char *dir, X509 **ca, EVP_PKEY **key, char *errmsg, size_t len)
{
	int rc = pki_load_cert(dir, PKI_CA_CERT, ca, errmsg, len);
	if (rc != MK_OK && rc != MK_ENOTFOUND)
		return rc; /* errmsg names certs/ca.crt */
	int rk = pki_load_key(dir, PKI_CA_KEY, key, errmsg, len);
	if (rk != MK_OK && rk != MK_ENOTFOUND)
		return rk;
	if (rc == MK_OK && rk == MK_OK) {
		if (X509_check_ca(*ca) == 0) {
			snprintf(errmsg, len, "%s: not a CA certificate", pki_name(PKI_CA_CERT));
			return MK_EINVAL;
		}
		if (X509_check_private_key(*ca, *key) != 1) {
			ERR_clear_error();
			snprintf(errmsg, len, "%s does not belong to %s", pki_name(PKI_CA_KEY),
				 pki_name(PKI_CA_CERT));
			return MK_EINVAL;
		}
		if (expires_soon(*ca))
			mk_warn("pki", "%s expires within %d days: clients will stop trusting "
				"this cluster", pki_name(PKI_CA_CERT), RENEW_BEFORE_DAYS);
		return MK_OK;
	}
	if (rc != rk) {
		enum pki_file missing = rc == MK_OK ? PKI_CA_KEY : PKI_CA_CERT;
		enum pki_file present = rc == MK_OK ? PKI_CA_CERT : PKI_CA_KEY;
		snprintf(errmsg, len, "%s is missing but %s exists; refusing to make a new CA",
			 pki_name(missing), pki_name(present));
		return MK_EINVAL;
	}
	*key = pki_new_key();
	struct pki_subject s = {"mk-ca", NULL};
	*ca = *key ? pki_new_cert(&s, *key, NULL, NULL, CA_DAYS, NULL, false) : NULL;
	if (*ca == NULL) {
		snprintf(errmsg, len, "cannot make the cluster CA (OpenSSL failed)");
		return MK_EIO;
	}
	/* Key first: a crash in between leaves a key without a certificate,
	 * which the next start reports instead of silently re-keying. */
	int rv = pki_write_key(dir, PKI_CA_KEY, *key, errmsg, len);
	if (rv == MK_OK)
		rv = pki_write_cert(dir, PKI_CA_CERT, *ca, errmsg, len);
	if (rv == MK_OK)
		mk_info("pki", "created the cluster CA");
	return rv;
}

/* What a leaf certificate must be. */
struct leaf {
	enum pki_file cert, key;
	struct pki_subject subject;
	bool client;
	const struct pki_sans *sans; /* NULL for the admin certificate */
};

/* Why `cert` must be reissued, or NULL if it is fine. */
static const char *stale_reason(const struct leaf *l, X509 *cert, EVP_PKEY *key, X509 *ca)
{
	if (X509_check_issued(ca, cert) != X509_V_OK ||
	    X509_verify(cert, X509_get0_pubkey(ca)) != 1) {
		ERR_clear_error();
		return "it is not signed by the cluster CA";
	}
	if (X509_check_private_key(cert, key) != 1) {
		ERR_clear_error();
		return "its key does not match";
	}
	if (expires_soon(cert))
		return "it expires within 30 days";
	if (!pki_cert_matches(cert, &l->subject, l->client))
		return "its subject or usage is not the one wanted";
	if (l->sans == NULL)
		return NULL;
	for (size_t i = 0; i < l->sans->n_dns; i++)
		if (X509_check_host(cert, l->sans->dns[i], 0, X509_CHECK_FLAG_NO_WILDCARDS,
				    NULL) != 1)
			return "a DNS name is missing";
	for (size_t i = 0; i < l->sans->n_ips; i++)
		if (X509_check_ip_asc(cert, l->sans->ips[i], 0) != 1)
			return "an address is missing";
	return NULL;
}

/* The server or admin certificate and key: reused when valid, else
 * reissued by the CA with a new key and one log line saying why. */
static int ensure_leaf(const char *dir, const struct leaf *l, X509 *ca, EVP_PKEY *ca_key,
		       char *errmsg, size_t len)
{
	X509 *cert = NULL;
	EVP_PKEY *key = NULL;
	char ignored[256];
	const char *why;
	int rv = pki_load_cert(dir, l->cert, &cert, ignored, sizeof ignored);
	if (rv == MK_ENOTFOUND) {
		why = "it does not exist";
	} else if (rv != MK_OK) {
		why = "it cannot be parsed";
	} else if (pki_load_key(dir, l->key, &key, ignored, sizeof ignored) != MK_OK) {
		why = "its key cannot be read";
	} else if ((why = stale_reason(l, cert, key, ca)) == NULL) {
		X509_free(cert);
		EVP_PKEY_free(key);
		return MK_OK;
	}
	X509_free(cert);
	EVP_PKEY_free(key);
	key = pki_new_key();
	cert = key ? pki_new_cert(&l->subject, key, ca, ca_key, LEAF_DAYS,
				  l->sans ? l->sans->conf : NULL, l->client)
		   : NULL;
	rv = MK_EIO;
	if (cert == NULL)
		snprintf(errmsg, len, "%s: cannot make it (OpenSSL failed)", pki_name(l->cert));
	else if ((rv = pki_write_key(dir, l->key, key, errmsg, len)) == MK_OK &&
		 (rv = pki_write_cert(dir, l->cert, cert, errmsg, len)) == MK_OK)
		mk_info("pki", "issued %s: %s", pki_name(l->cert), why);
	X509_free(cert);
	EVP_PKEY_free(key);
	return rv;
}

/* Base64 without line breaks, as kubeconfig's *-data fields want. */
static char *base64_of(const char *data, size_t n)
{
	char *out = malloc(4 * ((n + 2) / 3) + 1);
	if (out != NULL)
		EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)data, (int)n);
	return out;
}

/* The admin kubeconfig; rewritten only when its content would change.
 * Every value is base64 or a fixed word, so plain text is valid YAML. */
static int ensure_kubeconfig(const char *dir, int port, char *errmsg, size_t len)
{
	const enum pki_file files[3] = {PKI_CA_CERT, PKI_ADMIN_CERT, PKI_ADMIN_KEY};
	char *pem[3] = {NULL, NULL, NULL}, *b64[3] = {NULL, NULL, NULL};
	size_t pem_n[3] = {0, 0, 0}, text_n = 0, old_n = 0;
	char *text = NULL, *old = NULL;
	int rv = MK_EIO;
	for (int i = 0; i < 3; i++) {
		if (pki_read(dir, files[i], &pem[i], &pem_n[i]) != MK_OK ||
		    (b64[i] = base64_of(pem[i], pem_n[i])) == NULL) {
			snprintf(errmsg, len, "%s: cannot read it for the kubeconfig",
				 pki_name(files[i]));
			goto out;
		}
	}
	int n = asprintf(&text,
			 "apiVersion: v1\n"
			 "kind: Config\n"
			 "clusters:\n"
			 "- name: mk-cluster\n"
			 "  cluster:\n"
			 "    certificate-authority-data: %s\n"
			 "    server: https://127.0.0.1:%d\n"
			 "users:\n"
			 "- name: admin\n"
			 "  user:\n"
			 "    client-certificate-data: %s\n"
			 "    client-key-data: %s\n"
			 "contexts:\n"
			 "- name: mk\n"
			 "  context:\n"
			 "    cluster: mk-cluster\n"
			 "    user: admin\n"
			 "current-context: mk\n",
			 b64[0], port, b64[1], b64[2]);
	if (n < 0) {
		text = NULL;
		snprintf(errmsg, len, "%s: out of memory", pki_name(PKI_KUBECONFIG));
		rv = MK_ENOMEM;
		goto out;
	}
	text_n = (size_t)n;
	if (pki_read(dir, PKI_KUBECONFIG, &old, &old_n) == MK_OK && old_n == text_n &&
	    memcmp(old, text, text_n) == 0) {
		rv = MK_OK;
		goto out;
	}
	rv = pki_write(dir, PKI_KUBECONFIG, text, text_n, 0600, errmsg, len);
	if (rv == MK_OK)
		mk_info("pki", "wrote %s (server https://127.0.0.1:%d)", pki_name(PKI_KUBECONFIG),
			port);
out:
	for (int i = 0; i < 3; i++) {
		pki_free_secret(pem[i], pem_n[i]);
		pki_free_secret(b64[i], b64[i] ? strlen(b64[i]) : 0);
	}
	pki_free_secret(text, text_n);
	pki_free_secret(old, old_n);
	return rv;
}

/* TOKEN_LEN characters from a 62-letter alphabet (~190 bits).  Bytes of
 * 248 and above are redrawn so that every letter is equally likely. */
static int random_token(char out[TOKEN_LEN + 1])
{
	static const char alphabet[] =
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	const unsigned limit = 256 - 256 % (sizeof alphabet - 1);
	unsigned char r[64];
	size_t got = 0;
	while (got < TOKEN_LEN) {
		if (RAND_bytes(r, sizeof r) != 1)
			return MK_EIO;
		for (size_t i = 0; i < sizeof r && got < TOKEN_LEN; i++)
			if (r[i] < limit)
				out[got++] = alphabet[r[i] % (sizeof alphabet - 1)];
	}
	out[TOKEN_LEN] = '\0';
	OPENSSL_cleanse(r, sizeof r);
	return MK_OK;
}

/* An existing token file is kept as it is (tokens may have been added or
 * revoked) but must parse: the API server relies on it.  Checked before
 * anything is written.  *exists tells whether it is there. */
static int check_tokens(const char *dir, bool *exists, char *errmsg, size_t len)
{
	char path[4200], why[256];
	struct token_table *t = NULL;
	pki_path(path, sizeof path, dir, PKI_TOKENS);
	int rv = tokens_load(path, &t, why, sizeof why);
	tokens_free(t);
	*exists = rv == MK_OK;
	if (rv == MK_OK || rv == MK_ENOTFOUND)
		return MK_OK;
	/* why is "known_tokens.csv:3: ..."; name it as the other files. */
	snprintf(errmsg, len, "credentials/%s", why);
	return rv;
}

static int create_tokens(const char *dir, char *errmsg, size_t len)
{
	char token[TOKEN_LEN + 1], line[128];
	if (random_token(token) != MK_OK) {
		snprintf(errmsg, len, "%s: no randomness for the admin token",
			 pki_name(PKI_TOKENS));
		return MK_EIO;
	}
	int m = snprintf(line, sizeof line, "%s,admin,admin,\"system:masters\"\n", token);
	int rv = pki_write(dir, PKI_TOKENS, line, (size_t)m, 0600, errmsg, len);
	if (rv == MK_OK)
		mk_info("pki", "created %s with the admin token", pki_name(PKI_TOKENS));
	OPENSSL_cleanse(token, sizeof token);
	OPENSSL_cleanse(line, sizeof line);
	return rv;
}

int pki_ensure(const struct pki_config *cfg, char *errmsg, size_t len)
{
	X509 *ca = NULL;
	EVP_PKEY *ca_key = NULL;
	struct pki_sans sans;
	if (cfg == NULL || cfg->data_dir == NULL || cfg->data_dir[0] == '\0' ||
	    (cfg->n_addresses > 0 && cfg->addresses == NULL)) {
		snprintf(errmsg, len, "pki: no data directory or address list");
		return MK_EINVAL;
	}
	if (cfg->api_port < 1 || cfg->api_port > 65535) {
		snprintf(errmsg, len, "pki: API port %d is not in 1-65535", cfg->api_port);
		return MK_EINVAL;
	}
	/* Validated before anything is written: bad input changes nothing. */
	int rv = pki_sans_build(cfg, &sans, errmsg, len);
	if (rv != MK_OK)
		return rv;
	const char *dir = cfg->data_dir;
	const struct leaf server = {PKI_SERVER_CERT, PKI_SERVER_KEY, {"kube-apiserver", NULL},
				    false, &sans};
	const struct leaf admin = {PKI_ADMIN_CERT, PKI_ADMIN_KEY, {"admin", "system:masters"},
				   true, NULL};
	bool have_tokens;
	if ((rv = pki_mkdirs(dir, errmsg, len)) != MK_OK ||
	    (rv = check_tokens(dir, &have_tokens, errmsg, len)) != MK_OK ||
	    (rv = ensure_ca(dir, &ca, &ca_key, errmsg, len)) != MK_OK ||
	    (rv = ensure_leaf(dir, &server, ca, ca_key, errmsg, len)) != MK_OK ||
	    (rv = ensure_leaf(dir, &admin, ca, ca_key, errmsg, len)) != MK_OK ||
	    (rv = ensure_kubeconfig(dir, cfg->api_port, errmsg, len)) != MK_OK)
		goto out;
	if (!have_tokens)
		rv = create_tokens(dir, errmsg, len);
out:
	pki_sans_free(&sans);
	X509_free(ca);
	EVP_PKEY_free(ca_key);
	return rv;
}
