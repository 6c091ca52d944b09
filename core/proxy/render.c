/*
 * The model as one nftables table (proxy_internal.h), laid out like
 * kube-proxy's nftables mode (KEP-3866) so that people who know that one
 * can read this one:
 *
 *   nat prerouting/output (dstnat) -> services:
 *       ip daddr . l4proto . dport vmap @service-ips       ClusterIPs
 *       fib daddr type local, l4proto . dport vmap @service-nodeports
 *   svc-NS/NAME/PROTO/PORT     mark for masquerade when not from a pod;
 *                              ClientIP affinity; numgen random mod N vmap
 *   ext-...                    NodePorts: always masquerade, then svc-...
 *   ep-...__IP/PORT            hairpin masquerade; affinity update; dnat
 *   filter input/forward/output: new connections to services without
 *       endpoints (@no-endpoint-*) and to ClusterIP ports that do not
 *       exist (@cluster-ips) are rejected, so clients fail at once
 *   nat postrouting (srcnat): masquerade what was marked
 *
 * Chain names carry namespace/name/protocol/port, all checked DNS labels,
 * so they are valid nftables identifiers and unique without hashes.
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/err.h"
#include "proxy_internal.h"

/* kube-proxy's bit; CNI's portmap uses 0x2000. */
#define MASQ_MARK "0x4000"

struct out {
	struct mk_buf *buf;
	json_t *objects;
	int rv;
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct out *o, const char *fmt, ...)
{
	char small[512];
	va_list ap;

	if (o->rv != MK_OK)
		return;
	va_start(ap, fmt);
	int n = vsnprintf(small, sizeof small, fmt, ap);
	va_end(ap);
	if (n < 0) {
		o->rv = MK_EINVAL;
		return;
	}
	if ((size_t)n < sizeof small) {
		o->rv = mk_buf_append(o->buf, small, (size_t)n);
		return;
	}
	char *big = malloc((size_t)n + 1);
	if (big == NULL) {
		o->rv = MK_ENOMEM;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	o->rv = mk_buf_append(o->buf, big, (size_t)n);
	free(big);
}

static void declared(struct out *o, const char *kind, const char *name, int timeout)
{
	char key[300];

	snprintf(key, sizeof key, "%s %s", kind, name);
	if (o->rv == MK_OK && json_object_set_new(o->objects, key, json_integer(timeout)) != 0)
		o->rv = MK_ENOMEM;
}

static void chain_open(struct out *o, const char *name)
{
	declared(o, "chain", name, 0);
	put(o, "\n\tchain %s {\n", name);
}

static void ip_text(uint32_t ip, char *out)
{
	struct in_addr a = {.s_addr = htonl(ip)};
	inet_ntop(AF_INET, &a, out, INET_ADDRSTRLEN);
}

/* "default/web/tcp/http" ("/tcp/80" for an unnamed port). */
static void port_id(const struct proxy_service *s, const struct proxy_port *p, char *out,
		    size_t len)
{
	if (p->name[0] != '\0')
		snprintf(out, len, "%s/%s/%s/%s", s->ns, s->name, p->proto, p->name);
	else
		snprintf(out, len, "%s/%s/%s/%d", s->ns, s->name, p->proto, p->port);
}

static void backend_id(const char *pid, const struct proxy_backend *b, char *out, size_t len)
{
	char ip[INET_ADDRSTRLEN];

	ip_text(b->ip, ip);
	snprintf(out, len, "%s__%s/%d", pid, ip, b->port);
}

/* --- the fixed part ------------------------------------------------------------- */

static void base_chains(struct out *o)
{
	static const char *const chains[][2] = {
		{"nat-prerouting", "type nat hook prerouting priority dstnat; policy accept;\n"
				   "\t\tjump services"},
		/* nft 1.0.6 knows "dstnat" only for prerouting: -100 is it. */
		{"nat-output", "type nat hook output priority -100; policy accept;\n"
			       "\t\tjump services"},
		{"nat-postrouting", "type nat hook postrouting priority srcnat; policy accept;\n"
				    "\t\tjump masquerading"},
		/* route_localnet (host.c) makes 127.0.0.0/8 routable on the pod
		 * bridge for NodePorts on localhost; like kube-proxy, drop
		 * what arrives for it from elsewhere unless it is a reply or
		 * was DNATed (CVE-2020-8558). */
		{"filter-input", "type filter hook input priority filter; policy accept;\n"
				 "\t\tct state new jump nodeport-endpoints-check\n"
				 "\t\tct state new jump service-endpoints-check\n"
				 "\t\tip daddr 127.0.0.0/8 ip saddr != 127.0.0.0/8 "
				 "ct state != { established, related } ct status & dnat != dnat drop"},
		{"filter-forward", "type filter hook forward priority filter; policy accept;\n"
				   "\t\tct state new jump service-endpoints-check\n"
				   "\t\tct state new jump cluster-ips-check"},
		{"filter-output", "type filter hook output priority filter; policy accept;\n"
				  "\t\tct state new jump service-endpoints-check\n"
				  "\t\tct state new jump cluster-ips-check"},
		{"services", "ip daddr . meta l4proto . th dport vmap @service-ips\n"
			     "\t\tfib daddr type local meta l4proto . th dport vmap @service-nodeports"},
		{"service-endpoints-check",
		 "ip daddr . meta l4proto . th dport vmap @no-endpoint-services"},
		{"nodeport-endpoints-check",
		 "fib daddr type local meta l4proto . th dport vmap @no-endpoint-nodeports"},
		{"cluster-ips-check", "ip daddr @cluster-ips reject"},
		{"reject-chain", "reject"},
		{"mark-for-masquerade", "meta mark set meta mark or " MASQ_MARK},
		{"masquerading", "meta mark & " MASQ_MARK " == 0 return\n"
				 "\t\tmeta mark set meta mark xor " MASQ_MARK "\n"
				 "\t\tmasquerade fully-random"},
	};
	for (size_t i = 0; i < sizeof chains / sizeof chains[0]; i++) {
		chain_open(o, chains[i][0]);
		put(o, "\t\t%s\n\t}\n", chains[i][1]);
	}
}

/* proxy_usable_backends would find some. */
static bool usable(const struct proxy_port *p)
{
	for (size_t i = 0; i < p->n_backends; i++)
		if (p->backends[i].ready || (p->backends[i].serving && p->backends[i].terminating))
			return true;
	return false;
}

enum elem_map { SERVICE_IPS, SERVICE_NODEPORTS, NO_EP_SERVICES, NO_EP_NODEPORTS, CLUSTER_IPS };

static const char *const map_names[] = {"service-ips", "service-nodeports", "no-endpoint-services",
					"no-endpoint-nodeports", "cluster-ips"};

/* Port p's element in map which, if it has one there. */
static void element(struct out *o, enum elem_map which, const struct proxy_service *s,
		    const struct proxy_port *p, bool *any)
{
	char ip[INET_ADDRSTRLEN], pid[200], key[64], verdict[240];
	bool has = usable(p), nodeport = which == SERVICE_NODEPORTS || which == NO_EP_NODEPORTS;

	if ((nodeport && p->node_port == 0) || has != (which == SERVICE_IPS ||
						       which == SERVICE_NODEPORTS))
		return;
	ip_text(s->cluster_ip, ip);
	port_id(s, p, pid, sizeof pid);
	if (nodeport)
		snprintf(key, sizeof key, "%s . %d", p->proto, p->node_port);
	else
		snprintf(key, sizeof key, "%s . %s . %d", ip, p->proto, p->port);
	if (!has)
		snprintf(verdict, sizeof verdict, "goto reject-chain");
	else
		snprintf(verdict, sizeof verdict, "goto %s-%s", nodeport ? "ext" : "svc", pid);
	put(o, "%s\t\t\t%s : %s,\n", *any ? "" : "\t\telements = {\n", key, verdict);
	*any = true;
}

/* The elements of one map (or the cluster-ips set), one a line. */
static void elements(struct out *o, const struct proxy_model *m, enum elem_map which)
{
	bool any = false;

	for (size_t i = 0; i < m->n_services; i++) {
		const struct proxy_service *s = &m->services[i];
		if (which == CLUSTER_IPS) {
			char ip[INET_ADDRSTRLEN];
			ip_text(s->cluster_ip, ip);
			put(o, "%s\t\t\t%s,\n", any ? "" : "\t\telements = {\n", ip);
			any = true;
			continue;
		}
		for (size_t k = 0; k < s->n_ports; k++)
			element(o, which, s, &s->ports[k], &any);
	}
	if (any)
		put(o, "\t\t}\n");
}

static void maps(struct out *o, const struct proxy_model *m)
{
	static const char *const types[] = {
		"ipv4_addr . inet_proto . inet_service : verdict", "inet_proto . inet_service : verdict",
		"ipv4_addr . inet_proto . inet_service : verdict", "inet_proto . inet_service : verdict",
		"ipv4_addr",
	};
	for (int i = SERVICE_IPS; i <= CLUSTER_IPS; i++) {
		bool set = i == CLUSTER_IPS;
		declared(o, set ? "set" : "map", map_names[i], 0);
		put(o, "\n\t%s %s {\n\t\ttype %s\n", set ? "set" : "map", map_names[i], types[i]);
		elements(o, m, (enum elem_map)i);
		put(o, "\t}\n");
	}
}

/* --- one service port ------------------------------------------------------------ */

static void service_port(struct out *o, const struct proxy_node *node, const char *cidr,
			 const struct proxy_service *s, const struct proxy_port *p,
			 const struct proxy_backend **use)
{
	char pid[200], bid[260], ip[INET_ADDRSTRLEN], bip[INET_ADDRSTRLEN], name[300];
	size_t n = proxy_usable_backends(p, use);

	if (n == 0)
		return; /* the no-endpoint maps have it */
	port_id(s, p, pid, sizeof pid);
	ip_text(s->cluster_ip, ip);
	for (size_t i = 0; i < n && s->affinity_s > 0; i++) {
		backend_id(pid, use[i], bid, sizeof bid);
		snprintf(name, sizeof name, "affinity-%s", bid);
		declared(o, "set", name, s->affinity_s);
		put(o, "\n\tset %s {\n\t\ttype ipv4_addr\n\t\tflags dynamic,timeout\n"
		       "\t\ttimeout %ds\n\t}\n", name, s->affinity_s);
	}

	snprintf(name, sizeof name, "svc-%s", pid);
	chain_open(o, name);
	/* Traffic from outside the pod network (the host, other nodes) must
	 * come back through us to be un-DNATed. */
	if (node->masquerade_all)
		put(o, "\t\tjump mark-for-masquerade\n");
	else
		put(o, "\t\tip daddr %s ip saddr != %s jump mark-for-masquerade\n", ip, cidr);
	for (size_t i = 0; i < n && s->affinity_s > 0; i++) {
		backend_id(pid, use[i], bid, sizeof bid);
		put(o, "\t\tip saddr @affinity-%s goto ep-%s\n", bid, bid);
	}
	put(o, "\t\tnumgen random mod %zu vmap {", n);
	for (size_t i = 0; i < n; i++) {
		backend_id(pid, use[i], bid, sizeof bid);
		put(o, "%s %zu : goto ep-%s", i ? "," : "", i, bid);
	}
	put(o, " }\n\t}\n");

	if (s->node_ports && p->node_port > 0) {
		snprintf(name, sizeof name, "ext-%s", pid);
		chain_open(o, name);
		put(o, "\t\tjump mark-for-masquerade\n\t\tgoto svc-%s\n\t}\n", pid);
	}

	for (size_t i = 0; i < n; i++) {
		backend_id(pid, use[i], bid, sizeof bid);
		ip_text(use[i]->ip, bip);
		snprintf(name, sizeof name, "ep-%s", bid);
		chain_open(o, name);
		/* Hairpin: a pod reaching itself through its Service must
		 * see the reply come from the Service, not from itself. */
		put(o, "\t\tip saddr %s jump mark-for-masquerade\n", bip);
		if (s->affinity_s > 0)
			put(o, "\t\tupdate @affinity-%s { ip saddr }\n", bid);
		put(o, "\t\tmeta l4proto %s dnat to %s:%d\n\t}\n", p->proto, bip, use[i]->port);
	}
}

/* --- node facts --------------------------------------------------------------------- */

static bool cidr_ok(const char *cidr, char *out, size_t len)
{
	char addr[INET_ADDRSTRLEN];
	struct in_addr a;
	const char *slash = cidr ? strchr(cidr, '/') : NULL;
	char *end;

	if (slash == NULL || (size_t)(slash - cidr) >= sizeof addr)
		return false;
	memcpy(addr, cidr, (size_t)(slash - cidr));
	addr[slash - cidr] = '\0';
	long prefix = strtol(slash + 1, &end, 10);
	if (inet_pton(AF_INET, addr, &a) != 1 || slash[1] < '0' || slash[1] > '9' || *end != '\0' ||
	    prefix > 32)
		return false;
	snprintf(out, len, "%s/%ld", addr, prefix);
	return true;
}

/* Only characters that cannot end the comment's string. */
static void comment_safe(const char *in, char *out, size_t len)
{
	size_t i = 0;

	for (; in != NULL && *in != '\0' && i + 1 < len; in++)
		out[i++] = strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_:",
				  *in) ? *in : '_';
	out[i] = '\0';
}

static bool table_name_ok(const char *t)
{
	size_t n = strlen(t);
	return n > 0 && n <= 64 && strspn(t, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				  "0123456789_.-") == n && ((t[0] | 0x20) >= 'a' && (t[0] | 0x20) <= 'z');
}

int proxy_render(const struct proxy_node *node, const struct proxy_model *m, struct mk_buf *buf,
		 json_t *objects, char *errmsg, size_t len)
{
	struct out o = {buf, objects, MK_OK};
	const char *table = node->table ? node->table : PROXY_DEFAULT_TABLE;
	char cidr[32], who[64];
	const struct proxy_backend **use = NULL;
	size_t most = 1;

	if (!table_name_ok(table)) {
		snprintf(errmsg, len, "proxy: table name \"%s\" is not 1-64 of [A-Za-z0-9_.-] "
			 "beginning with a letter", table);
		return MK_EINVAL;
	}
	if (!cidr_ok(node->pod_cidr, cidr, sizeof cidr)) {
		snprintf(errmsg, len, "proxy: pod CIDR \"%s\" is not an IPv4 network",
			 node->pod_cidr ? node->pod_cidr : "");
		return MK_EINVAL;
	}
	for (size_t i = 0; i < m->n_services; i++)
		for (size_t k = 0; k < m->services[i].n_ports; k++)
			if (m->services[i].ports[k].n_backends > most)
				most = m->services[i].ports[k].n_backends;
	use = calloc(most, sizeof *use);
	if (use == NULL) {
		snprintf(errmsg, len, "out of memory");
		return MK_ENOMEM;
	}
	comment_safe(node->node_name ? node->node_name : "?", who, sizeof who);
	/* (An existing table keeps its first comment: say nothing that
	 * could change.) */
	put(&o, "table ip %s {\n\tcomment \"Kubernetes Services on node %s, kept by mkd\"\n",
	    table, who);
	maps(&o, m);
	base_chains(&o);
	for (size_t i = 0; i < m->n_services; i++) {
		const struct proxy_service *s = &m->services[i];
		for (size_t k = 0; k < s->n_ports; k++)
			service_port(&o, node, cidr, s, &s->ports[k], use);
	}
	put(&o, "}\n");
	free(use);
	if (o.rv != MK_OK)
		snprintf(errmsg, len, "proxy: cannot render the ruleset: %s", mk_strerror(o.rv));
	return o.rv;
}
