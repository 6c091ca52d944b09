/*
 * A Kubernetes client for mkd's own components (node agent, controllers),
 * speaking to this mkd's API with the admin credentials under DATA/certs.
 * (A node identity with its own certificate comes with RBAC.)
 */
#ifndef MK_MKD_ADMIN_CLIENT_H
#define MK_MKD_ADMIN_CLIENT_H

#include <stddef.h>

struct kube_client;

/* host: where the API listens as seen from here; user_agent names the
 * component in the API's logs.  0 or an mk error with errmsg. */
int mkd_admin_client(const char *data_dir, const char *host, int port, const char *user_agent,
		     struct kube_client **out, char *errmsg, size_t len);

#endif
