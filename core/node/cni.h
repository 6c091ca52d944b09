/*
 * The pod network through CNI plugins (spec 1.0.0; Debian's
 * containernetworking-plugins in /usr/lib/cni).
 *
 * A node has one pod network, the conflist "mk-pod-network" written by
 * cni_network_write into conf_dir/10-mk-pod-network.conflist:
 *
 *   bridge   (bridge, isGateway, ipMasq, hairpinMode, mtu) with host-local
 *            IPAM on pod_cidr, leases under state_dir/networks
 *   portmap  (capabilities portMappings, snat): hostPort DNAT, including
 *            from the host itself to 127.0.0.1:hostPort
 *
 * cni_add and cni_del read that file back, so what runs is what an admin
 * sees.  A pod gets the loopback plugin on "lo", then the conflist on
 * "eth0".  Plugins are executed as the spec says: CNI_COMMAND,
 * CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME, CNI_ARGS ("IgnoreUnknown=1;
 * K8S_POD_NAMESPACE=..;K8S_POD_NAME=..;K8S_POD_INFRA_CONTAINER_ID=..;
 * K8S_POD_UID=.."), CNI_PATH=plugin_dir and PATH in the environment (the
 * plugins run iptables), the network config on stdin with name, cniVersion,
 * prevResult and runtimeConfig (portMappings only for plugins declaring
 * that capability) filled in.  No shell; each plugin is killed (with its
 * process group) after 60 s.  The ADD result is cached in
 * state_dir/results/ and given back as prevResult on DEL.
 *
 * Errors: 0 or a negative mk code with one line in errmsg, naming the
 * plugin and command, e.g. "cni bridge ADD: failed to set bridge addr:
 * ...".  MK_EINVAL: bad argument (container id, names, CIDR, bridge
 * name); MK_ENOTFOUND: a plugin or the conflist is missing; MK_ETIMEDOUT:
 * a plugin ran past the timeout; MK_EIO: a plugin failed or an I/O error.
 *
 * Threading: every function may run in several threads at once (each call
 * owns its buffers and child processes; host-local locks its dataDir).
 * cni_network_write racing itself on one conf_dir is safe (atomic rename)
 * but pointless.  Nothing here changes signal dispositions.
 */
#ifndef MK_NODE_CNI_H
#define MK_NODE_CNI_H

#include <stddef.h>

#define CNI_NETWORK_NAME "mk-pod-network"
#define CNI_CONFLIST_FILE "10-mk-pod-network.conflist"

struct cni_port_mapping {
	int host_port;         /* 1-65535 */
	int container_port;    /* 1-65535 */
	const char *protocol;  /* "tcp" or "udp"; NULL: tcp */
	const char *host_ip;   /* may be NULL: every host address */
};

struct cni_network {          /* the pod network of a node; strings borrowed */
	const char *plugin_dir;   /* "/usr/lib/cni" */
	const char *conf_dir;     /* where the conflist lives, e.g. DATA/args/cni-network */
	const char *state_dir;    /* host-local leases and cached results, e.g. DATA/var/lib/cni */
	const char *bridge;       /* e.g. "mk0": 1-15 of [A-Za-z0-9_.-] */
	const char *pod_cidr;     /* e.g. "10.1.0.0/16": the node's podCIDR (IPv4 or IPv6) */
	int mtu;                  /* 0: plugin default, else 68-65535 */
};

struct cni_attachment {
	char ip[64];          /* the pod's address on eth0, without prefix */
	char gateway[64];     /* "" if the result names none */
	char mac[32];         /* eth0's MAC, "" if the result names none */
};

/* Writes the conflist (see above) and creates conf_dir and state_dir
 * (0700) if needed.  Idempotent: an identical file is not touched; a
 * different one is replaced atomically (temp file, fsync, rename). */
int cni_network_write(const struct cni_network *n, char *errmsg, size_t len);

/* ADD: loopback on "lo", then the conflist on "eth0" of the namespace at
 * netns_path (netns.h).  container_id: 1-128 of [A-Za-z0-9_.-], first
 * alphanumeric (the pod UID will do); pod names must not contain ';' or
 * '='.  ports (n_ports may be 0) go to portmap.  On success *out holds the
 * address.  On failure DEL has been run for every plugin, so nothing
 * (address lease, veth, iptables chain) is left half-made. */
int cni_add(const struct cni_network *n, const char *container_id, const char *netns_path,
	    const char *pod_namespace, const char *pod_name, const char *pod_uid,
	    const struct cni_port_mapping *ports, size_t n_ports, struct cni_attachment *out,
	    char *errmsg, size_t len);

/* DEL: the conflist in reverse order, then loopback, with the same
 * arguments (and port mappings) as the ADD.  Succeeds when there is
 * nothing left to delete: a namespace that is gone is passed as an empty
 * CNI_NETNS (the plugins then release the address and rules they can),
 * and a second DEL is 0.  Call it before netns_remove: the bridge plugin
 * finds the ipMasq rules through the namespace's addresses. */
int cni_del(const struct cni_network *n, const char *container_id, const char *netns_path,
	    const char *pod_namespace, const char *pod_name, const char *pod_uid,
	    const struct cni_port_mapping *ports, size_t n_ports, char *errmsg, size_t len);

/* ---- between cni.c and cni_config.c only ---- */

struct json_t;

/* Validates n (MK_EINVAL with the field named).  Pure. */
int cni_network_check(const struct cni_network *n, char *errmsg, size_t len);

/* The conflist as written by cni_network_write, read back from conf_dir
 * (new reference). */
int cni_conflist_load(const struct cni_network *n, struct json_t **out, char *errmsg,
		      size_t len);

/* Checks the per-pod arguments of cni_add/cni_del (MK_EINVAL naming the
 * bad one) and writes CNI_ARGS into args. */
int cni_call_check(const char *container_id, const char *pod_namespace, const char *pod_name,
		   const char *pod_uid, const struct cni_port_mapping *ports, size_t n_ports,
		   char *args, size_t args_len, char *errmsg, size_t len);

/* The eth0 address of a (final) ADD result; MK_EIO if it has none. */
int cni_result_attachment(struct json_t *result, struct cni_attachment *out, char *errmsg,
			  size_t len);

/* The ADD result cache, state_dir/results/<network>-<container_id>-eth0:
 * save (0 or -1), load (new reference, NULL if absent or unreadable),
 * remove. */
int cni_result_save(const struct cni_network *n, const char *container_id,
		    struct json_t *result);
struct json_t *cni_result_load(const struct cni_network *n, const char *container_id);
void cni_result_remove(const struct cni_network *n, const char *container_id);

/* The stdin of one plugin of the list: a copy of plugin with name and
 * cniVersion from the list, runtimeConfig.portMappings if the plugin has
 * the capability and ports are given, prevResult if non-NULL. */
struct json_t *cni_plugin_config(struct json_t *list, struct json_t *plugin,
				 struct json_t *prev_result, const struct cni_port_mapping *ports,
				 size_t n_ports);

#endif
