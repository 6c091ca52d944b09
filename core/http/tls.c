/*
 * TLS for the HTTP server: one SSL_CTX per server, client certificates
 * requested but not required, ALPN limited to http/1.1.
 */
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>

#include "../base/err.h"
#include "http_internal.h"

/* Client certificates are optional (bearer tokens and anonymous health
 * checks share the port) and a certificate from another CA must not kill
 * the handshake: the API answers 401 instead, which is what kubectl users
 * understand.  So the handshake accepts any certificate and the verdict is
 * read afterwards with SSL_get_verify_result(). */
static int accept_any_cert(int preverify_ok, X509_STORE_CTX *ctx)
{
	(void)preverify_ok;
	(void)ctx;
	return 1;
}

/* Select http/1.1 if offered; never h2 (we do not speak it). */
static int select_alpn(SSL *ssl, const unsigned char **out, unsigned char *outlen,
		       const unsigned char *in, unsigned int inlen, void *arg)
{
	(void)ssl;
	(void)arg;
	for (unsigned int i = 0; i < inlen;) {
		unsigned int n = in[i];
		if (i + 1 + n > inlen)
			break;
		if (n == 8 && memcmp(in + i + 1, "http/1.1", 8) == 0) {
			*out = in + i + 1;
			*outlen = (unsigned char)n;
			return SSL_TLSEXT_ERR_OK;
		}
		i += 1 + n;
	}
	return SSL_TLSEXT_ERR_NOACK;
}

static void openssl_error(char *errmsg, size_t len, const char *what, const char *file)
{
	unsigned long e = ERR_get_error();
	char buf[256] = "unknown error";
	if (e != 0)
		ERR_error_string_n(e, buf, sizeof buf);
	snprintf(errmsg, len, "%s %s: %s", what, file, buf);
	ERR_clear_error();
}

SSL_CTX *http_tls_context(const struct http_server_config *cfg, char *errmsg, size_t len)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	if (ctx == NULL) {
		snprintf(errmsg, len, "cannot create a TLS context");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
	if (SSL_CTX_use_certificate_chain_file(ctx, cfg->cert_file) != 1) {
		openssl_error(errmsg, len, "TLS certificate", cfg->cert_file);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, cfg->key_file, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		openssl_error(errmsg, len, "TLS key", cfg->key_file);
		goto fail;
	}
	if (cfg->client_ca_file != NULL) {
		if (SSL_CTX_load_verify_locations(ctx, cfg->client_ca_file, NULL) != 1) {
			openssl_error(errmsg, len, "client CA", cfg->client_ca_file);
			goto fail;
		}
		STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(cfg->client_ca_file);
		if (names != NULL)
			SSL_CTX_set_client_CA_list(ctx, names);
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, accept_any_cert);
	}
	/* Without a session id context, resuming a session on a context
	 * that asks for client certificates fails with an internal error
	 * alert: every client that caches TLS sessions (curl, Go) would see
	 * its second connection refused. */
	static const unsigned char sid_ctx[] = "mk-api";
	SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof sid_ctx - 1);
	SSL_CTX_set_alpn_select_cb(ctx, select_alpn, NULL);
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

static char *name_entry(X509_NAME *name, int nid, int *pos)
{
	int i = X509_NAME_get_index_by_NID(name, nid, *pos);
	if (i < 0)
		return NULL;
	*pos = i;
	ASN1_STRING *s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
	unsigned char *utf8 = NULL;
	int n = ASN1_STRING_to_UTF8(&utf8, s);
	if (n < 0)
		return NULL;
	char *out = strndup((char *)utf8, (size_t)n);
	OPENSSL_free(utf8);
	return out;
}

void http_tls_peer(SSL *ssl, struct http_peer *peer)
{
	X509 *cert = SSL_get1_peer_certificate(ssl);
	if (cert == NULL)
		return;
	peer->cert_presented = true;
	if (SSL_get_verify_result(ssl) != X509_V_OK)
		goto out;
	/* The certificate must be meant for clients (or say nothing). */
	uint32_t xku = X509_get_extended_key_usage(cert);
	if (!(xku & XKU_SSL_CLIENT))
		goto out;
	X509_NAME *subject = X509_get_subject_name(cert);
	int pos = -1;
	peer->cert_cn = name_entry(subject, NID_commonName, &pos);
	if (peer->cert_cn == NULL)
		goto out;
	pos = -1;
	char *org;
	while ((org = name_entry(subject, NID_organizationName, &pos)) != NULL) {
		char **grown = realloc(peer->cert_orgs, (peer->n_cert_orgs + 1) * sizeof *grown);
		if (grown == NULL) {
			free(org);
			break;
		}
		peer->cert_orgs = grown;
		peer->cert_orgs[peer->n_cert_orgs++] = org;
	}
	peer->cert_verified = true;
out:
	X509_free(cert);
}

void http_peer_clear(struct http_peer *peer)
{
	free(peer->cert_cn);
	for (size_t i = 0; i < peer->n_cert_orgs; i++)
		free(peer->cert_orgs[i]);
	free(peer->cert_orgs);
	peer->cert_cn = NULL;
	peer->cert_orgs = NULL;
	peer->n_cert_orgs = 0;
	peer->cert_verified = peer->cert_presented = false;
}

int http_peer_copy(const struct http_peer *from, struct http_peer **out)
{
	struct http_peer *p = calloc(1, sizeof *p);
	if (p == NULL)
		return MK_ENOMEM;
	memcpy(p->address, from->address, sizeof p->address);
	p->cert_presented = from->cert_presented;
	p->cert_verified = from->cert_verified;
	if (from->cert_cn != NULL && (p->cert_cn = strdup(from->cert_cn)) == NULL)
		goto fail;
	if (from->n_cert_orgs > 0) {
		p->cert_orgs = calloc(from->n_cert_orgs, sizeof *p->cert_orgs);
		if (p->cert_orgs == NULL)
			goto fail;
		for (size_t i = 0; i < from->n_cert_orgs; i++) {
			if ((p->cert_orgs[i] = strdup(from->cert_orgs[i])) == NULL)
				goto fail;
			p->n_cert_orgs++;
		}
	}
	*out = p;
	return MK_OK;
fail:
	http_peer_clear(p);
	free(p);
	return MK_ENOMEM;
}
