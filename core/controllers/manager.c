/*
 * Starting and stopping the controllers (controllers.h), in the order
 * controllers_internal.h describes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/err.h"
#include "../base/log.h"
#include "controllers_internal.h"

/* Every controller mkd runs; each lives in its own file. */
extern const struct controller_def replicaset_controller;
extern const struct controller_def deployment_controller;
extern const struct controller_def statefulset_controller;
extern const struct controller_def node_lifecycle_controller;
extern const struct controller_def endpoints_controller;
extern const struct controller_def endpointslice_controller;
extern const struct controller_def job_controller;
extern const struct controller_def cronjob_controller;
extern const struct controller_def daemonset_controller;
extern const struct controller_def serviceaccount_controller;
extern const struct controller_def volume_binder_controller;

static const struct controller_def *const all_controllers[] = {
	&replicaset_controller,
	&deployment_controller,
	&statefulset_controller,
	&node_lifecycle_controller,
	&endpoints_controller,
	&endpointslice_controller,
	&job_controller,
	&cronjob_controller,
	&daemonset_controller,
	&serviceaccount_controller,
	&volume_binder_controller,
};
#define N_CONTROLLERS (sizeof all_controllers / sizeof all_controllers[0])

int controllers_start(const struct controllers_config *cfg, struct controllers **out,
		      char *errmsg, size_t len)
{
	struct controllers *c = calloc(1, sizeof *c);
	char names[512] = "";
	int rv = MK_ENOMEM;

	if (c == NULL || (c->loops = calloc(N_CONTROLLERS, sizeof *c->loops)) == NULL) {
		snprintf(errmsg, len, "out of memory");
		free(c);
		return MK_ENOMEM;
	}
	c->client = cfg->client;
	c->workers = cfg->workers > 0 ? cfg->workers : 2;
	c->node_grace_ms = (cfg->node_monitor_grace_s > 0 ? cfg->node_monitor_grace_s : 40) * 1000LL;
	for (size_t i = 0; i < N_CONTROLLERS; i++) {
		errmsg[0] = '\0';
		struct ctrl_loop *l = all_controllers[i]->create(c, errmsg, len);
		if (l == NULL) {
			if (errmsg[0] == '\0')
				snprintf(errmsg, len, "cannot start the %s controller",
					 all_controllers[i]->name);
			goto fail;
		}
		c->loops[c->n_loops++] = l;
		snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s",
			 i ? ", " : "", all_controllers[i]->name);
	}
	rv = ctrl_informers_start(c, errmsg, len);
	for (size_t i = 0; rv == MK_OK && i < c->n_loops; i++)
		rv = ctrl_loop_start(c->loops[i], c->workers, errmsg, len);
	if (rv != MK_OK)
		goto fail;
	mk_info(CTRL_LOG, "controllers started: %s", names);
	*out = c;
	return MK_OK;
fail:
	controllers_stop(c);
	return rv != MK_OK ? rv : MK_ENOMEM;
}

void controllers_stop(struct controllers *c)
{
	if (c == NULL)
		return;
	/* No new events; then the workers finish the sync they are in (which
	 * may still read the caches); then the informers go, and with them
	 * the last handler that could touch a queue; then the queues. */
	ctrl_informers_cancel(c);
	for (size_t i = 0; i < c->n_loops; i++)
		ctrl_loop_stop(c->loops[i]);
	ctrl_informers_stop(c);
	for (size_t i = 0; i < c->n_loops; i++) {
		ctrl_loop_free(c->loops[i]);
		all_controllers[i]->destroy(c->loops[i]);
	}
	free(c->loops);
	free(c);
}
