/*
 * The service proxy's parts (proxy.h is the public face):
 *
 *   model.c   Services + EndpointSlices (JSON, as the API serves them)
 *   slice.c   -> a checked, sorted model: per service port, its backends
 *   render.c  model + node facts -> the text of one nftables table
 *   nft.c     that text -> the kernel, in one transaction (libnftables)
 *   host.c    the sysctls the dataplane needs
 *   proxy.c   informers, coalescing, periodic resync: the proxy thread
 *
 * model and render are pure (no kernel, no clock, no globals), so the unit
 * tests drive them with JSON and read the text.
 */
#ifndef MK_PROXY_INTERNAL_H
#define MK_PROXY_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "../base/buf.h"

#define PROXY_LOG "proxy"
#define PROXY_DEFAULT_TABLE "mk-proxy"
/* kube-proxy's: "ClientIP" affinity without a timeout lasts 3 hours. */
#define PROXY_AFFINITY_DEFAULT_S 10800
#define PROXY_AFFINITY_MAX_S 86400

/* An object that cannot be used is skipped and reported: key names the
 * object's version ("Service default/web@42"), so a caller can say it
 * once; msg is one line for the log. */
typedef void (*proxy_problem_fn)(void *arg, const char *key, const char *msg);

/* --- model ----------------------------------------------------------------- */

struct proxy_backend {
	uint32_t ip;           /* host byte order */
	int port;              /* the slice's port for the service port's name */
	bool ready, serving, terminating;
};

struct proxy_port {
	char name[16];         /* "" for a service's only, unnamed port */
	const char *proto;     /* "tcp", "udp" or "sctp" (static) */
	int port;
	int node_port;         /* 0: none */
	struct proxy_backend *backends; /* sorted by address, then port; unique */
	size_t n_backends, cap_backends;
};

struct proxy_service {
	char ns[64], name[64];
	uint32_t cluster_ip;   /* host byte order */
	bool node_ports;       /* NodePort or LoadBalancer (no external LB here) */
	int affinity_s;        /* ClientIP affinity timeout; 0: none */
	struct proxy_port *ports;
	size_t n_ports;
};

struct proxy_model {
	struct proxy_service *services; /* sorted by namespace, then name */
	size_t n_services;
};

/* Fills m from two JSON arrays (either may be NULL).  Headless,
 * ExternalName, IPv6 and not yet allocated Services, and slices of other
 * address types or for no Service, are left out silently; malformed ones
 * are left out and reported through problem (may be NULL).  A ClusterIP
 * port or a NodePort that an earlier Service (by namespace/name) already
 * uses is reported and left out.  Returns MK_OK or MK_ENOMEM. */
int proxy_model_build(json_t *services, json_t *slices, struct proxy_model *m,
		      proxy_problem_fn problem, void *arg);
void proxy_model_free(struct proxy_model *m);

/* The backends traffic goes to: the ready ones, or when none is ready the
 * serving and terminating ones (kube-proxy's fallback).  Writes up to
 * port->n_backends pointers into out and returns how many. */
size_t proxy_usable_backends(const struct proxy_port *port, const struct proxy_backend **out);

/* model.c's checks, shared with slice.c.  Reports go through a
 * proxy_report: key "KIND NS/NAME@RESOURCEVERSION", message "KIND NS/NAME:
 * WHY; ignored". */
struct proxy_report {
	proxy_problem_fn fn; /* may be NULL */
	void *arg;
};

void proxy_report(const struct proxy_report *r, const char *kind, json_t *obj, const char *fmt,
		  ...) __attribute__((format(printf, 4, 5)));
const char *proxy_meta(json_t *obj, const char *field);  /* metadata.FIELD, a string */
const char *proxy_proto(json_t *v);      /* "TCP" or absent -> "tcp"...; NULL: not one */
int proxy_port_num(json_t *v, bool zero_ok); /* 1-65535 (0 if zero_ok), else -1 */
bool proxy_ipv4(const char *s, uint32_t *out); /* host byte order */
int proxy_service_cmp(const void *a, const void *b); /* by namespace, then name */

/* slice.c: adds a slice's endpoints to the Service it names in m (sorted),
 * once all of the slice checks out.  MK_OK or MK_ENOMEM. */
int proxy_slice_attach(const struct proxy_report *r, json_t *slice, struct proxy_model *m);
/* Sorts a port's backends and merges repeats. */
void proxy_backends_tidy(struct proxy_port *p);

/* --- render ------------------------------------------------------------------ */

struct proxy_node {
	const char *table;     /* NULL: PROXY_DEFAULT_TABLE */
	const char *node_name; /* only in the table's comment; may be NULL */
	const char *pod_cidr;  /* IPv4 "a.b.c.d/n" */
	/* Masquerade all service traffic: when the bridge does not pass
	 * bridged packets through iptables/nftables (no br_netfilter), a reply
	 * from a pod to a pod on the same bridge never meets conntrack to be
	 * un-DNATed, unless the request came from the host's address. */
	bool masquerade_all;
};

/* The whole table as nftables text ("table ip NAME { ... }"), appended to
 * out, and what it declares into objects (an empty JSON object): keys
 * "chain NAME", "set NAME", "map NAME"; values the set's timeout in
 * seconds (json integer, 0 for none), which nft.c compares with the
 * kernel's.  Returns MK_OK, MK_EINVAL (bad node facts; errmsg says which)
 * or MK_ENOMEM. */
int proxy_render(const struct proxy_node *node, const struct proxy_model *m, struct mk_buf *out,
		 json_t *objects, char *errmsg, size_t len);

/* --- nft ----------------------------------------------------------------------- */

/* One libnftables context, used by one thread at a time. */
struct proxy_nft;

int proxy_nft_new(struct proxy_nft **out, char *errmsg, size_t len);
void proxy_nft_free(struct proxy_nft *n);

/* Validates text (proxy_render's) with the kernel, changing nothing (nft
 * --check): MK_OK or MK_EINVAL with nft's error. */
int proxy_nft_check(struct proxy_nft *n, const char *table, const char *text, char *errmsg,
		    size_t len);

/* Makes table what text says in one transaction: rules and static
 * sets/maps are replaced, chains and sets that text no longer declares are
 * deleted, affinity sets (timeouts) keep their members.  When that fails
 * (a table of another layout), the table is deleted and created whole in
 * one transaction.  MK_OK; MK_EINVAL with nft's error when nft refuses
 * both (the table is then as it was); MK_EUNAVAILABLE when nftables
 * cannot be reached at all; MK_ENOMEM. */
int proxy_nft_apply(struct proxy_nft *n, const char *table, const char *text, json_t *objects,
		    char *errmsg, size_t len);

/* --- host ----------------------------------------------------------------------- */

/* net.bridge.bridge-nf-call-iptables = 1.  false: br_netfilter is not
 * there (or the setting cannot be made), so render with masquerade_all. */
bool proxy_host_bridge_nf(void);
/* net.ipv4.conf.BRIDGE.route_localnet = 1 when the bridge exists (CNI
 * creates it with the first pod, so this is called on every apply).
 * Returns true when it is set. */
bool proxy_host_route_localnet(const char *bridge);

#endif
