/*
 * pki_ensure: the node's CA, certificates, kubeconfig and token file.
 */
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "../base/err.h"
#include "../base/log.h"
#include "pki_internal.h"

#define CA_DAYS 3650
#define LEAF_DAYS 365
#define RENEW_BEFORE_DAYS 30

static const char *const service_names[] = {"localhost", "kubernetes", "kubernetes.default",
					     "kubernetes.default.svc",
					     "kubernetes.default.svc.cluster.local"};
/* 10.152.183.1: the `kubernetes` Service's cluster IP in MicroK8s' range. */
static const char *const fixed_ips[] = {"127.0.0.1", "::1", "10.152.183.1"};

/* Loads the CA, or makes one when neither file exists. */
static int ensure_ca(const char *dir, X509 **ca, EVP_PKEY **key, char *errmsg, size_t len)
{
	int rc = pki_load_cert(dir, PKI_CA_CERT, ca, errmsg, len);
	int rk = pki_load_key(dir, PKI_CA_KEY, key, errmsg, len);
	if (rc == MK_OK && rk == MK_OK) {
		if (X509_check_private_key(*ca, *key) != 1) {
			ERR_clear_error();
			snprintf(errmsg, len, "certs/ca.key does not belong to certs/ca.crt");
			return MK_EINVAL;
		}
		return MK_OK;
	}
	if (rc != MK_ENOTFOUND || rk != MK_ENOTFOUND) {
		if (rc == MK_ENOTFOUND || rk == MK_ENOTFOUND)
			snprintf(errmsg, len, "%s exists without %s; refusing to make a new CA",
				 rc == MK_OK ? "certs/ca.crt" : "certs/ca.key",
				 rc == MK_OK ? "certs/ca.key" : "certs/ca.crt");
		return MK_EINVAL; /* errmsg names the unreadable file */
	}
	*key = pki_new_key();
	struct pki_subject s = {"mk-ca", NULL};
	*ca = *key ? pki_new_cert(&s, *key, NULL, NULL, CA_DAYS, NULL, false) : NULL;
	if (*ca == NULL) {
		snprintf(errmsg, len, "cannot make the cluster CA");
		return MK_EIO;
	}
	int rv = pki_write_key(dir, PKI_CA_KEY, *key, errmsg, len);
	if (rv == MK_OK)
		rv = pki_write_cert(dir, PKI_CA_CERT, *ca, errmsg, len);
	if (rv == MK_OK)
		mk_info("pki", "created the cluster CA");
	return rv;
}

/* Why `cert` must be reissued, or NULL if it is fine. */
static const char *stale_reason(X509 *cert, EVP_PKEY *key, EVP_PKEY *ca_key,
				const char *const *dns, size_t n_dns, const char *const *ips,
				size_t n_ips)
{
	if (X509_verify(cert, ca_key) != 1) {
		ERR_clear_error();
		return "not signed by the cluster CA";
	}
	if (X509_check_private_key(cert, key) != 1) {
		ERR_clear_error();
		return "its key does not match";
	}
	time_t soon = time(NULL) + (time_t)RENEW_BEFORE_DAYS * 86400;
	if (X509_cmp_time(X509_get0_notAfter(cert), &soon) < 0)
		return "it expires within 30 days";
	for (size_t i = 0; i < n_dns; i++)
		if (X509_check_host(cert, dns[i], 0, X509_CHECK_FLAG_NO_WILDCARDS, NULL) != 1)
			return "a DNS name is missing";
	for (size_t i = 0; i < n_ips; i++)
		if (X509_check_ip_asc(cert, ips[i], 0) != 1)
			return "an address is missing";
	return NULL;
}

/* The server or admin certificate and key: reused when valid. */
static int ensure_leaf(const char *dir, enum pki_file cf, enum pki_file kf,
		       const struct pki_subject *subj, bool client, const char *sans,
		       const char *const *dns, size_t n_dns, const char *const *ips, size_t n_ips,
		       X509 *ca, EVP_PKEY *ca_key, bool *changed, char *errmsg, size_t len)
{
	X509 *cert = NULL;
	EVP_PKEY *key = NULL;
	char ignored[256];
	const char *why = "it does not exist";
	if (pki_load_cert(dir, cf, &cert, ignored, sizeof ignored) == MK_OK &&
	    pki_load_key(dir, kf, &key, ignored, sizeof ignored) == MK_OK) {
		why = stale_reason(cert, key, ca_key, dns, n_dns, ips, n_ips);
		if (why == NULL) {
			X509_free(cert);
			EVP_PKEY_free(key);
			return MK_OK;
		}
	} else if (cert != NULL) {
		why = "its key cannot be read";
	}
	X509_free(cert);
	EVP_PKEY_free(key);
	key = pki_new_key();
	cert = key ? pki_new_cert(subj, key, ca, ca_key, LEAF_DAYS, sans, client) : NULL;
	int rv = MK_EIO;
	if (cert == NULL)
		snprintf(errmsg, len, "cannot make %s", pki_name(cf));
	else if ((rv = pki_write_key(dir, kf, key, errmsg, len)) == MK_OK &&
		 (rv = pki_write_cert(dir, cf, cert, errmsg, len)) == MK_OK) {
		mk_info("pki", "issued %s: %s", pki_name(cf), why);
		*changed = true;
	}
	X509_free(cert);
	EVP_PKEY_free(key);
	return rv;
}

static char *base64_of(const char *data, size_t n)
{
	char *out = malloc(4 * ((n + 2) / 3) + 1);
	if (out != NULL)
		EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)data, (int)n);
	return out;
}

/* The admin kubeconfig; rewritten only when its content would change. */
static int ensure_kubeconfig(const char *dir, int port, char *errmsg, size_t len)
{
	char *pem[3] = {NULL, NULL, NULL}, *b64[3] = {NULL, NULL, NULL}, *text = NULL, *old = NULL;
	const enum pki_file files[3] = {PKI_CA_CERT, PKI_ADMIN_CERT, PKI_ADMIN_KEY};
	int rv = MK_EIO;
	size_t n, old_n;
	for (int i = 0; i < 3; i++) {
		if (pki_read(dir, files[i], &pem[i], &n) != MK_OK ||
		    (b64[i] = base64_of(pem[i], n)) == NULL) {
			snprintf(errmsg, len, "%s: cannot read", pki_name(files[i]));
			goto out;
		}
	}
	if (asprintf(&text,
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
		     b64[0], port, b64[1], b64[2]) < 0) {
		text = NULL;
		rv = MK_ENOMEM;
		goto out;
	}
	if (pki_read(dir, PKI_KUBECONFIG, &old, &old_n) == MK_OK && strcmp(old, text) == 0) {
		rv = MK_OK;
		goto out;
	}
	rv = pki_write(dir, PKI_KUBECONFIG, text, strlen(text), 0600, errmsg, len);
out:
	for (int i = 0; i < 3; i++) {
		if (pem[i])
			OPENSSL_cleanse(pem[i], strlen(pem[i]));
		free(pem[i]);
		free(b64[i]);
	}
	free(text);
	free(old);
	return rv;
}

static int ensure_tokens(const char *dir, char *errmsg, size_t len)
{
	char *old;
	size_t n;
	int rv = pki_read(dir, PKI_TOKENS, &old, &n);
	if (rv == MK_OK) {
		free(old);
		return MK_OK;
	}
	if (rv != MK_ENOTFOUND) {
		snprintf(errmsg, len, "%s: cannot read", pki_name(PKI_TOKENS));
		return MK_EIO;
	}
	/* 32 characters from a 62-letter alphabet: ~190 bits. */
	static const char alphabet[] =
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	unsigned char r[32];
	char token[33], line[128];
	if (RAND_bytes(r, sizeof r) != 1) {
		snprintf(errmsg, len, "no randomness for the admin token");
		return MK_EIO;
	}
	for (int i = 0; i < 32; i++)
		token[i] = alphabet[r[i] % (sizeof alphabet - 1)];
	token[32] = '\0';
	int m = snprintf(line, sizeof line, "%s,admin,admin,\"system:masters\"\n", token);
	rv = pki_write(dir, PKI_TOKENS, line, (size_t)m, 0600, errmsg, len);
	OPENSSL_cleanse(line, sizeof line);
	return rv;
}

int pki_ensure(const struct pki_config *cfg, char *errmsg, size_t len)
{
	const char *dir = cfg->data_dir;
	X509 *ca = NULL;
	EVP_PKEY *ca_key = NULL;
	char host[256], *sans = NULL;
	const char *dns[8], *ips[80];
	size_t n_dns = 0, n_ips = 0;
	bool changed = false;
	int rv = pki_mkdirs(dir, errmsg, len);
	if (rv != MK_OK)
		return rv;
	if ((rv = ensure_ca(dir, &ca, &ca_key, errmsg, len)) != MK_OK)
		goto out;
	if (cfg->hostname != NULL)
		snprintf(host, sizeof host, "%s", cfg->hostname);
	else if (gethostname(host, sizeof host) != 0)
		host[0] = '\0';
	for (size_t i = 0; i < sizeof service_names / sizeof service_names[0]; i++)
		dns[n_dns++] = service_names[i];
	if (host[0] && strcmp(host, "localhost") != 0)
		dns[n_dns++] = host;
	for (size_t i = 0; i < sizeof fixed_ips / sizeof fixed_ips[0]; i++)
		ips[n_ips++] = fixed_ips[i];
	for (size_t i = 0; i < cfg->n_addresses && n_ips < 80; i++) {
		bool dup = false;
		for (size_t k = 0; k < n_ips; k++)
			dup |= strcmp(ips[k], cfg->addresses[i]) == 0;
		if (!dup)
			ips[n_ips++] = cfg->addresses[i];
	}
	size_t cap = 64;
	for (size_t i = 0; i < n_dns; i++)
		cap += strlen(dns[i]) + 6;
	for (size_t i = 0; i < n_ips; i++)
		cap += strlen(ips[i]) + 5;
	sans = calloc(1, cap);
	if (sans == NULL) {
		rv = MK_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n_dns; i++)
		snprintf(sans + strlen(sans), cap - strlen(sans), "%sDNS:%s", i ? "," : "", dns[i]);
	for (size_t i = 0; i < n_ips; i++)
		snprintf(sans + strlen(sans), cap - strlen(sans), ",IP:%s", ips[i]);
	struct pki_subject server = {"kube-apiserver", NULL};
	struct pki_subject admin = {"admin", "system:masters"};
	rv = ensure_leaf(dir, PKI_SERVER_CERT, PKI_SERVER_KEY, &server, false, sans, dns, n_dns,
			 ips, n_ips, ca, ca_key, &changed, errmsg, len);
	if (rv == MK_OK)
		rv = ensure_leaf(dir, PKI_ADMIN_CERT, PKI_ADMIN_KEY, &admin, true, NULL, NULL, 0,
				 NULL, 0, ca, ca_key, &changed, errmsg, len);
	if (rv == MK_OK)
		rv = ensure_kubeconfig(dir, cfg->api_port, errmsg, len);
	if (rv == MK_OK)
		rv = ensure_tokens(dir, errmsg, len);
out:
	free(sans);
	X509_free(ca);
	EVP_PKEY_free(ca_key);
	return rv;
}

int pki_local_addresses(char ***out, size_t *n)
{
	struct ifaddrs *ifs, *i;
	*out = NULL;
	*n = 0;
	if (getifaddrs(&ifs) != 0)
		return MK_EIO;
	for (i = ifs; i != NULL; i = i->ifa_next) {
		if (i->ifa_addr == NULL || (i->ifa_flags & IFF_LOOPBACK))
			continue;
		char text[INET6_ADDRSTRLEN];
		if (i->ifa_addr->sa_family == AF_INET) {
			inet_ntop(AF_INET, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, text,
				  sizeof text);
		} else if (i->ifa_addr->sa_family == AF_INET6) {
			struct in6_addr *a = &((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr;
			if (IN6_IS_ADDR_LINKLOCAL(a))
				continue;
			inet_ntop(AF_INET6, a, text, sizeof text);
		} else {
			continue;
		}
		char **grown = realloc(*out, (*n + 1) * sizeof *grown);
		if (grown == NULL)
			break;
		*out = grown;
		if (((*out)[*n] = strdup(text)) != NULL)
			(*n)++;
	}
	freeifaddrs(ifs);
	return MK_OK;
}

void pki_free_addresses(char **a, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(a[i]);
	free(a);
}
