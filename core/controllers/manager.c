/*
 * Starting and stopping the controllers (controllers.h).
 */
#include <stdio.h>
#include <stdlib.h>

#include "../base/err.h"
#include "../base/log.h"
#include "controllers_internal.h"

int controllers_start(const struct controllers_config *cfg, struct controllers **out,
		      char *errmsg, size_t len)
{
	struct controllers *c = calloc(1, sizeof *c);

	if (c == NULL) {
		snprintf(errmsg, len, "out of memory");
		return MK_ENOMEM;
	}
	c->client = cfg->client;
	int rv = replicaset_start(c, cfg->workers > 0 ? cfg->workers : 2, errmsg, len);
	if (rv != MK_OK) {
		controllers_stop(c);
		return rv;
	}
	mk_info(CTRL_LOG, "controllers started: replicaset");
	*out = c;
	return MK_OK;
}

void controllers_stop(struct controllers *c)
{
	if (c == NULL)
		return;
	replicaset_stop(c);
	free(c);
}
