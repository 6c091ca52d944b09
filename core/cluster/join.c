#include "join.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/err.h"
#include "../store/dq_client.h"

/* Is `id` at `address` already a member? */
static int already_member(struct dq_client *c, uint64_t id, const char *address, bool *yes)
{
	struct dq_server *servers;
	size_t n;
	int rv = dq_cluster(c, &servers, &n);
	if (rv != MK_OK)
		return rv;
	*yes = false;
	for (size_t i = 0; i < n; i++)
		if (servers[i].id == id && strcmp(servers[i].address, address) == 0)
			*yes = true;
	free(servers);
	return MK_OK;
}

int join_add_self(const char *const *seeds, size_t n_seeds, uint64_t id,
		  const char *address, int timeout_ms, char *errmsg, size_t len)
{
	struct dq_client_config cc = {.members = seeds, .n_members = n_seeds,
				      .discovery_timeout_ms = timeout_ms};
	struct dq_client *c;
	int rv = dq_client_open(&cc, &c);
	if (rv != MK_OK) {
		snprintf(errmsg, len, "%s", mk_strerror(rv));
		return rv;
	}
	bool member = false;
	rv = already_member(c, id, address, &member);
	if (rv == MK_OK && !member)
		rv = dq_add(c, id, address);
	if (rv != MK_OK)
		snprintf(errmsg, len, "%s", dq_client_errmsg(c));
	dq_client_close(c);
	return rv;
}
