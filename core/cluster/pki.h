/*
 * The node's certificates and credentials, made on first start and reused
 * afterwards (MicroK8s' layout under the data directory DIR):
 *
 *   DIR/certs/ca.crt, ca.key          cluster CA, CN mk-ca (10 years)
 *   DIR/certs/server.crt, server.key  API server certificate, CN
 *       kube-apiserver, serverAuth; SANs localhost, the hostname,
 *       kubernetes[.default[.svc[.cluster.local]]], 127.0.0.1, ::1,
 *       10.152.183.1 and every address given (1 year)
 *   DIR/certs/admin.crt, admin.key    admin client certificate, CN admin,
 *       O system:masters, clientAuth (1 year)
 *   DIR/credentials/client.config     admin kubeconfig: cluster mk-cluster,
 *       user admin, context mk, server https://127.0.0.1:<api_port>
 *   DIR/credentials/known_tokens.csv  static tokens (tokens.h), created
 *       with one admin token in group system:masters
 *
 * Keys are ECDSA P-256, signatures SHA-256, serials 128 random bits.
 * Keys, the kubeconfig and the token file are created mode 0600 (the
 * directories 0700, certificates 0644); every file is written atomically
 * (temp file, fsync, rename), so a crash leaves the old or the new file.
 *
 * Reuse and renewal: a file that is valid is never rewritten, so a
 * restart leaves every file byte-identical.  The server or admin
 * certificate is reissued (new key, same CA, one "pki" log line saying
 * why) when it is missing or unreadable, lacks a SAN now required (e.g. a
 * new node address), is not signed by the CA, does not match its key or
 * its subject, or expires within 30 days.  The kubeconfig is rewritten
 * when its content would differ (new API port, reissued admin certificate).
 *
 * Never silently: a CA that exists but cannot be read or parsed, is not a
 * CA, has a key that does not match, or is half there is an error (a new
 * CA would break every client's trust); so is a token file that does not
 * parse.  Nothing is written before the inputs are checked.
 *
 * Errors: 0, or MK_EINVAL (bad input or files), MK_EIO, MK_ENOMEM, with a
 * one-line errmsg naming the file relative to DIR, e.g.
 * "certs/ca.key: not a PEM private key".
 *
 * Threading: not thread-safe with itself on one DIR (mkd calls it once at
 * start-up, before serving).  pki_path is pure.
 */
#ifndef MK_CLUSTER_PKI_H
#define MK_CLUSTER_PKI_H

#include <stddef.h>

struct pki_config {
	const char *data_dir;
	const char *hostname;          /* NULL: gethostname() */
	const char *const *addresses;  /* extra IP SANs (IPv4/IPv6 text) */
	size_t n_addresses;
	int api_port;                  /* for the kubeconfig's server URL */
};

enum pki_file {
	PKI_CA_CERT,
	PKI_CA_KEY,
	PKI_SERVER_CERT,
	PKI_SERVER_KEY,
	PKI_ADMIN_CERT,
	PKI_ADMIN_KEY,
	PKI_KUBECONFIG,
	PKI_TOKENS,
};

/* DIR/<relative path of f> into buf (truncated to len), so that mkd and mk
 * agree on names. */
void pki_path(char *buf, size_t len, const char *data_dir, enum pki_file f);

/* Creates what is missing, reuses what is valid (see above).  The
 * hostname, when given, must be a DNS name and every address an IPv4 or
 * IPv6 address (MK_EINVAL otherwise); api_port is 1-65535. */
int pki_ensure(const struct pki_config *cfg, char *errmsg, size_t len);

/* Every address of this host's interfaces but loopback and link-local
 * (169.254/16, fe80::/10), as text, without duplicates.  *out is malloc'd:
 * pki_free_addresses(*out, *n).  MK_EIO if getifaddrs fails, MK_ENOMEM. */
int pki_local_addresses(char ***out, size_t *n);
/* NULL-safe. */
void pki_free_addresses(char **a, size_t n);

#endif
