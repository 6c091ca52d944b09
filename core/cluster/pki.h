/*
 * The node's certificates and credentials, made on first start and reused
 * afterwards (MicroK8s' layout under the data directory DIR):
 *
 *   DIR/certs/ca.crt, ca.key          cluster CA (ECDSA P-256, 10 years)
 *   DIR/certs/server.crt, server.key  API server certificate: SANs for
 *       localhost, the hostname, kubernetes[.default[.svc[.cluster.local]]],
 *       127.0.0.1, ::1, 10.152.183.1 and every address given (1 year)
 *   DIR/certs/admin.crt, admin.key    admin client certificate, CN admin,
 *       O system:masters (1 year)
 *   DIR/credentials/client.config     admin kubeconfig (https://127.0.0.1:PORT)
 *   DIR/credentials/known_tokens.csv  static tokens, one admin token
 *
 * Secrets are created mode 0600 (directories 0700) and every file is
 * written atomically.  A server or admin certificate that is missing a
 * SAN now required, is not signed by the CA, or expires within 30 days is
 * reissued with the same CA.  A CA that exists but cannot be read, or whose
 * key does not match, is an error: a new CA would break every client's
 * trust, so it is never made silently.
 *
 * Not thread-safe (mkd calls it once at start-up).
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

/* DIR/<relative path of f>. */
void pki_path(char *buf, size_t len, const char *data_dir, enum pki_file f);

/* Creates what is missing, reuses what is valid.  MK_EIO / MK_EINVAL with
 * a one-line errmsg naming the file. */
int pki_ensure(const struct pki_config *cfg, char *errmsg, size_t len);

/* Every non-loopback, non-link-local address of this host's interfaces. */
int pki_local_addresses(char ***out, size_t *n);
void pki_free_addresses(char **a, size_t n);

#endif
