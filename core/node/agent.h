/*
 * The node agent: mk's kubelet, inside mkd.
 *
 * It registers this node's Node object and keeps its Lease and conditions
 * fresh, watches the pods bound to this node, and makes each one real:
 * images (core/image), a network namespace with CNI, volumes, containers
 * through an OCI runtime (runc, via one mk-shim per container), probes,
 * restarts with back-off, graceful termination, and the pod's status and
 * Events.  Until the scheduler exists, a pod with no node is bound to this
 * node when it is the cluster's only one.
 *
 * Everything it knows lives in the API (the pods) or on disk under
 * DATA/pods/<uid>/ (what it started), so a restarted mkd adopts running
 * containers instead of killing them.
 *
 * Threading: node_agent_start/stop from one thread (mkd's main thread);
 * the agent runs threads of its own: the informers, one worker per pod, the
 * node heartbeat.  node_agent_exec_prepare may be called from any thread.
 */
#ifndef MK_NODE_AGENT_H
#define MK_NODE_AGENT_H

#include <stddef.h>

struct kube_client;
struct node_agent;

struct node_agent_config {
	const char *data_dir;
	const char *node_name;       /* the Node's name (lower-case DNS label) */
	const char *node_ip;         /* InternalIP */
	struct kube_client *client;  /* the agent's API credentials */
	const char *runtime;         /* OCI runtime binary, e.g. "/usr/sbin/runc" */
	const char *shim;            /* mk-shim binary */
	const char *cni_plugin_dir;  /* "/usr/lib/cni" */
	const char *cni_bridge;      /* "mk0" */
	const char *pod_cidr;        /* "10.1.0.0/16" */
};

int node_agent_start(const struct node_agent_config *cfg, struct node_agent **out, char *errmsg,
		     size_t len);

/* Stops watching and the agent's threads.  Containers keep running: the
 * next mkd adopts them. */
void node_agent_stop(struct node_agent *a);

/* The command line that runs cmd inside a running container of a pod on
 * this node (runc exec ...), for `kubectl exec`; the API's exec hook.
 * *argv_out is a NULL-terminated malloc'd array of malloc'd strings. */
int node_agent_exec_prepare(void *agent, const char *ns, const char *pod, const char *uid,
			    const char *container, int tty, const char *console_socket,
			    char *const *cmd, char ***argv_out, char *errmsg, size_t len);

#endif
