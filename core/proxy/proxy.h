/*
 * The service proxy: mk's kube-proxy, inside mkd, on every node that runs
 * the node agent.
 *
 * It watches Services and EndpointSlices through the API and keeps one
 * nftables table of its own (`table ip mk-proxy`, IPv4) equal to what they
 * say, the way kube-proxy's nftables mode does: ClusterIPs and NodePorts
 * (on every local address, kube-proxy's default) are DNATed to ready
 * endpoints chosen at random (ClientIP affinity honoured), traffic that
 * needs it is masqueraded, and services without endpoints reject
 * connections instead of letting them time out.  Each change rewrites the
 * table in one nftables transaction (no packet ever sees half a ruleset),
 * at most every 200 ms however many changes come, and the table is
 * rewritten every 30 s anyway in case someone flushed it.  The table name
 * is the caller's (mkd uses mk-proxy-BRIDGE for a bridge other than mk0).
 *
 * On stop the table stays: pods outlive mkd, and so must the paths to
 * them; the next start replaces the table once its caches are filled.
 *
 * Host settings it makes (kube-proxy's): net.bridge.bridge-nf-call-iptables
 * = 1 where br_netfilter is there (so replies between pods on one bridge
 * are un-DNATed; without it, service traffic is masqueraded instead), and
 * route_localnet = 1 on the pod bridge (NodePorts on 127.0.0.1, guarded
 * by a rule dropping outside packets to 127.0.0.0/8).
 *
 * Threading: start and stop from one thread; the proxy has threads of its
 * own (two informers and the one that owns the nftables context).
 *
 * Errors: service_proxy_start returns 0, MK_EINVAL (bad configuration),
 * MK_EUNAVAILABLE (nftables refuses us: not root, no nf_tables) or
 * MK_ENOMEM, with one line in errmsg.  Later failures (the API, nft
 * refusing a ruleset) are logged and retried; the last good table stays.
 */
#ifndef MK_PROXY_PROXY_H
#define MK_PROXY_PROXY_H

#include <stddef.h>

struct kube_client;
struct service_proxy;

struct service_proxy_config {
	struct kube_client *client; /* borrowed; must outlive the proxy */
	const char *node_name;      /* for log lines and the table's comment */
	const char *pod_cidr;       /* "10.1.0.0/16": traffic from elsewhere is masqueraded */
	const char *bridge;         /* "mk0": the pod bridge */
	const char *table;          /* NULL: "mk-proxy" */
};

int service_proxy_start(const struct service_proxy_config *cfg, struct service_proxy **out,
			char *errmsg, size_t len);
/* NULL-safe; returns within about a second; leaves the table in place. */
void service_proxy_stop(struct service_proxy *p);

#endif
