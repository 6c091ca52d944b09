/*
 * Starting and stopping the node agent inside mkd (agent_run.h).
 */
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../base/err.h"
#include "../base/log.h"
#include "../base/version.h"
#include "../kube/client.h"
#include "../node/agent.h"
#include "../proxy/proxy.h"
#include "admin_client.h"
#include "agent_run.h"

#define RETRY_MS 500

struct mkd_agent {
	struct mkd_agent_config cfg;
	char shim[PATH_MAX];
	struct kube_client *client;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool stop;
	struct node_agent *agent;   /* lock */
	struct service_proxy *proxy; /* set by the launch thread, read after joining it */
};

/* The service proxy beside the agent: both serve the pods of this node.
 * Its table is "mk-proxy" for the default bridge; a second mkd on the
 * same host (tests, development) has a pod bridge of its own and gets a
 * table of its own, so that the two proxies do not keep replacing each
 * other's rules. */
static void proxy_launch(struct mkd_agent *m)
{
	char table[64], err[512];

	if (strcmp(m->cfg.cni_bridge, "mk0") == 0)
		snprintf(table, sizeof table, "mk-proxy");
	else
		snprintf(table, sizeof table, "mk-proxy-%s", m->cfg.cni_bridge);
	struct service_proxy_config pc = {
		.client = m->client, .node_name = m->cfg.node_name, .pod_cidr = m->cfg.pod_cidr,
		.bridge = m->cfg.cni_bridge, .table = table,
	};
	if (service_proxy_start(&pc, &m->proxy, err, sizeof err) != MK_OK)
		mk_error("mkd", "the service proxy cannot run, so Services do not reach pods "
			 "from this node: %s", err);
}

static void *launch_main(void *arg)
{
	struct mkd_agent *m = arg;
	struct node_agent_config ac = {
		.data_dir = m->cfg.data_dir, .node_name = m->cfg.node_name,
		.node_ip = m->cfg.node_ip, .client = m->client, .runtime = m->cfg.runtime,
		.shim = m->shim, .cni_plugin_dir = m->cfg.cni_plugin_dir,
		.cni_bridge = m->cfg.cni_bridge, .pod_cidr = m->cfg.pod_cidr,
	};
	char err[512], last[512] = "";

	pthread_mutex_lock(&m->lock);
	while (!m->stop) {
		pthread_mutex_unlock(&m->lock);
		struct node_agent *a = NULL;
		int rv = node_agent_start(&ac, &a, err, sizeof err);
		pthread_mutex_lock(&m->lock);
		if (rv == MK_OK) {
			m->agent = a;
			pthread_mutex_unlock(&m->lock);
			proxy_launch(m);
			pthread_mutex_lock(&m->lock);
			break;
		}
		/* The API answers 503 until the store is up: say so once. */
		if (strcmp(err, last) != 0)
			mk_warn("mkd", "node agent not started yet: %s", err);
		snprintf(last, sizeof last, "%s", err);
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += RETRY_MS * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		if (!m->stop)
			pthread_cond_timedwait(&m->wake, &m->lock, &ts);
	}
	pthread_mutex_unlock(&m->lock);
	return NULL;
}

int mkd_agent_launch(const struct mkd_agent_config *cfg, struct mkd_agent **out, char *errmsg,
		     size_t len)
{
	struct mkd_agent *m = calloc(1, sizeof *m);
	char self[PATH_MAX];

	if (m == NULL) {
		snprintf(errmsg, len, "out of memory");
		return MK_ENOMEM;
	}
	m->cfg = *cfg;
	/* mk-shim is installed beside mkd (build/, the snap's bin/). */
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	self[n > 0 ? n : 0] = '\0';
	char *slash = strrchr(self, '/');
	if (slash != NULL)
		*slash = '\0';
	snprintf(m->shim, sizeof m->shim, "%s/mk-shim", self);
	if (access(m->shim, X_OK) != 0) {
		snprintf(errmsg, len, "%s: not found or not executable (it belongs beside mkd)",
			 m->shim);
		free(m);
		return MK_ENOTFOUND;
	}
	if (access(cfg->runtime, X_OK) != 0) {
		snprintf(errmsg, len, "the OCI runtime %s is not installed", cfg->runtime);
		free(m);
		return MK_ENOTFOUND;
	}
	int rv = mkd_admin_client(cfg->data_dir, cfg->api_host, cfg->api_port,
				  "mk-node/" MK_VERSION, &m->client, errmsg, len);
	if (rv != MK_OK) {
		free(m);
		return rv;
	}
	pthread_mutex_init(&m->lock, NULL);
	pthread_cond_init(&m->wake, NULL);
	if (pthread_create(&m->thread, NULL, launch_main, m) != 0) {
		kube_client_free(m->client);
		free(m);
		snprintf(errmsg, len, "cannot start the node agent's thread");
		return MK_ENOMEM;
	}
	*out = m;
	return MK_OK;
}

void mkd_agent_halt(struct mkd_agent *m)
{
	if (m == NULL)
		return;
	pthread_mutex_lock(&m->lock);
	m->stop = true;
	pthread_cond_broadcast(&m->wake);
	pthread_mutex_unlock(&m->lock);
	pthread_join(m->thread, NULL);
	/* Its table stays in force while mkd is down (proxy.h). */
	service_proxy_stop(m->proxy);
	pthread_mutex_lock(&m->lock);
	struct node_agent *a = m->agent;
	m->agent = NULL;
	pthread_mutex_unlock(&m->lock);
	node_agent_stop(a);
	kube_client_free(m->client);
	free(m);
}

int mkd_agent_exec_prepare(void *ctx, const char *ns, const char *pod, const char *uid,
			   const char *container, int tty, const char *console_socket,
			   char *const *cmd, char ***argv_out, char *errmsg, size_t len)
{
	struct mkd_agent *m = ctx;
	struct node_agent *a = NULL;

	if (m == NULL) {
		snprintf(errmsg, len, "exec is not available: the node agent is not running on this node");
		return MK_EUNAVAILABLE;
	}
	/* Held across the call (it only reads a few files) so that halting
	 * cannot free the agent under it. */
	pthread_mutex_lock(&m->lock);
	a = m->agent;
	int rv = MK_EUNAVAILABLE;
	if (a == NULL)
		snprintf(errmsg, len, "exec is not available: the node agent is not running yet");
	else
		rv = node_agent_exec_prepare(a, ns, pod, uid, container, tty, console_socket, cmd,
					     argv_out, errmsg, len);
	pthread_mutex_unlock(&m->lock);
	return rv;
}
