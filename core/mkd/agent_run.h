/*
 * mkd's side of the node agent and the service proxy (core/proxy) beside
 * it: starting them once the API answers, stopping them before the API
 * goes, and forwarding `kubectl exec` to the agent.  The proxy's nftables
 * table outlives mkd, as the pods do.
 *
 * The agent talks to this very mkd's API over HTTPS, so it must never be
 * started or stopped on the loop thread (the loop serves those requests):
 * mkd_agent_launch starts a thread that retries until the API is ready,
 * mkd_agent_halt blocks and belongs on a worker thread.
 */
#ifndef MK_MKD_AGENT_RUN_H
#define MK_MKD_AGENT_RUN_H

#include <stddef.h>

struct mkd_agent;

struct mkd_agent_config {
	const char *data_dir;
	const char *node_name;
	const char *node_ip;
	const char *api_host;     /* where the API listens, as the agent dials it */
	int api_port;
	const char *runtime;
	const char *cni_plugin_dir, *cni_bridge, *pod_cidr;
};

int mkd_agent_launch(const struct mkd_agent_config *cfg, struct mkd_agent **out, char *errmsg,
		     size_t len);
void mkd_agent_halt(struct mkd_agent *m);

/* The API's exec hook; ctx is the struct mkd_agent (may be NULL: the agent
 * is off). */
int mkd_agent_exec_prepare(void *ctx, const char *ns, const char *pod, const char *uid,
			   const char *container, int tty, const char *console_socket,
			   char *const *cmd, char ***argv_out, char *errmsg, size_t len);

#endif
