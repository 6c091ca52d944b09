/*
 * mkd's own API client (admin_client.h).
 */
#include <limits.h>
#include <stdio.h>

#include "../cluster/pki.h"
#include "../kube/client.h"
#include "admin_client.h"

int mkd_admin_client(const char *data_dir, const char *host, int port, const char *user_agent,
		     struct kube_client **out, char *errmsg, size_t len)
{
	char server[300], ca[PATH_MAX], cert[PATH_MAX], key[PATH_MAX];

	snprintf(server, sizeof server, "https://%s:%d", host, port);
	pki_path(ca, sizeof ca, data_dir, PKI_CA_CERT);
	pki_path(cert, sizeof cert, data_dir, PKI_ADMIN_CERT);
	pki_path(key, sizeof key, data_dir, PKI_ADMIN_KEY);
	struct kube_client_config kc = {
		.server = server, .ca_file = ca, .cert_file = cert, .key_file = key,
		.user_agent = user_agent,
	};
	return kube_client_new(&kc, out, errmsg, len);
}
