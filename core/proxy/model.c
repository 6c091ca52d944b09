/*
 * Services, checked and sorted, and the model built from them and their
 * EndpointSlices (slice.c) (proxy_internal.h).
 *
 * Everything that reaches render.c has been validated here: names are DNS
 * labels (they become parts of nftables chain names), addresses parse,
 * ports are in range.  Whatever does not is reported and left out whole,
 * so one bad object never costs the others their rules.
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/err.h"
#include "proxy_internal.h"

const char *proxy_meta(json_t *obj, const char *field)
{
	return json_string_value(json_object_get(json_object_get(obj, "metadata"), field));
}

void proxy_report(const struct proxy_report *r, const char *kind, json_t *obj, const char *fmt,
		  ...)
{
	char key[256], why[512], msg[900];
	const char *ns = proxy_meta(obj, "namespace"), *name = proxy_meta(obj, "name");
	const char *rv = proxy_meta(obj, "resourceVersion");
	va_list ap;

	if (r->fn == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	snprintf(key, sizeof key, "%s %s/%s@%s", kind, ns ? ns : "", name ? name : "", rv ? rv : "");
	snprintf(msg, sizeof msg, "%s %s/%s: %s; ignored", kind, ns ? ns : "?", name ? name : "?",
		 why);
	r->fn(r->arg, key, msg);
}

/* A DNS label of at most max characters (namespace, Service name; a port
 * name when it also has a letter). */
static bool dns_label(const char *s, size_t max)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		bool alnum = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
		if (!alnum && (ch != '-' || i == 0 || i == n - 1))
			return false;
	}
	return true;
}

/* "" (absent or null) or a DNS label: a Service port's name (kubectl
 * names them "80-8080"; IANA service names are for container ports). */
static bool port_name_ok(const char *s)
{
	return s[0] == '\0' || dns_label(s, 63);
}

/* NULL when the protocol is not one nftables can match on. */
const char *proxy_proto(json_t *v)
{
	const char *s = json_string_value(v);

	if (v == NULL || json_is_null(v))
		return "tcp";
	if (s == NULL)
		return NULL;
	if (strcmp(s, "TCP") == 0)
		return "tcp";
	if (strcmp(s, "UDP") == 0)
		return "udp";
	if (strcmp(s, "SCTP") == 0)
		return "sctp";
	return NULL;
}

/* 1-65535 (or 0 when zero_ok), else -1. */
int proxy_port_num(json_t *v, bool zero_ok)
{
	if (!json_is_integer(v))
		return -1;
	json_int_t p = json_integer_value(v);
	if (p < (zero_ok ? 0 : 1) || p > 65535)
		return -1;
	return (int)p;
}

bool proxy_ipv4(const char *s, uint32_t *out)
{
	struct in_addr a;

	if (s == NULL || inet_pton(AF_INET, s, &a) != 1)
		return false;
	*out = ntohl(a.s_addr);
	return true;
}

/* --- Services ------------------------------------------------------------------ */

/* 1: *s filled; 0: nothing to do for it (said nothing); -1: reported. */
static int service_parse(const struct proxy_report *r, json_t *obj, struct proxy_service *s)
{
	static const char K[] = "Service";
	json_t *spec = json_object_get(obj, "spec");
	const char *ns = proxy_meta(obj, "namespace"), *name = proxy_meta(obj, "name");
	const char *type = json_string_value(json_object_get(spec, "type"));
	const char *ip = json_string_value(json_object_get(spec, "clusterIP"));
	const char *aff = json_string_value(json_object_get(spec, "sessionAffinity"));
	json_t *ports = json_object_get(spec, "ports");

	memset(s, 0, sizeof *s);
	if (!dns_label(ns, 63) || !dns_label(name, 63)) {
		proxy_report(r, K, obj, "namespace and name must be DNS labels");
		return -1;
	}
	snprintf(s->ns, sizeof s->ns, "%s", ns);
	snprintf(s->name, sizeof s->name, "%s", name);
	if (type == NULL || strcmp(type, "ClusterIP") == 0)
		s->node_ports = false;
	else if (strcmp(type, "NodePort") == 0 || strcmp(type, "LoadBalancer") == 0)
		s->node_ports = true;
	else if (strcmp(type, "ExternalName") == 0)
		return 0;
	else {
		proxy_report(r, K, obj, "spec.type \"%s\" is not ClusterIP, NodePort, LoadBalancer "
			     "or ExternalName", type);
		return -1;
	}
	/* Headless, not allocated yet, or IPv6 (not proxied yet). */
	if (ip == NULL || ip[0] == '\0' || strcmp(ip, "None") == 0 || strchr(ip, ':') != NULL)
		return 0;
	if (!proxy_ipv4(ip, &s->cluster_ip)) {
		proxy_report(r, K, obj, "spec.clusterIP \"%s\" is not an IPv4 address", ip);
		return -1;
	}
	if (aff != NULL && strcmp(aff, "ClientIP") == 0) {
		json_t *t = json_object_get(json_object_get(json_object_get(spec,
			"sessionAffinityConfig"), "clientIP"), "timeoutSeconds");
		json_int_t secs = t == NULL ? PROXY_AFFINITY_DEFAULT_S
			: json_is_integer(t) ? json_integer_value(t) : -1;
		if (secs < 1 || secs > PROXY_AFFINITY_MAX_S) {
			proxy_report(r, K, obj, "sessionAffinityConfig.clientIP.timeoutSeconds "
				     "must be 1-%d", PROXY_AFFINITY_MAX_S);
			return -1;
		}
		s->affinity_s = (int)secs;
	} else if (aff != NULL && strcmp(aff, "None") != 0) {
		proxy_report(r, K, obj, "spec.sessionAffinity \"%s\" is not None or ClientIP", aff);
		return -1;
	}
	size_t n = json_array_size(ports);
	if (n == 0)
		return 0;
	s->ports = calloc(n, sizeof *s->ports);
	if (s->ports == NULL)
		return MK_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		json_t *p = json_array_get(ports, i);
		struct proxy_port *pp = &s->ports[i];
		const char *pname = json_string_value(json_object_get(p, "name"));
		pp->proto = proxy_proto(json_object_get(p, "protocol"));
		pp->port = proxy_port_num(json_object_get(p, "port"), false);
		json_t *np = json_object_get(p, "nodePort");
		pp->node_port = !s->node_ports || np == NULL ? 0 : proxy_port_num(np, true);
		if (pname == NULL)
			pname = "";
		if (!port_name_ok(pname) || (pname[0] == '\0' && n > 1)) {
			proxy_report(r, K, obj, "spec.ports[%zu].name \"%s\" is not a port name", i,
				     pname);
			goto bad;
		}
		if (pp->proto == NULL || pp->port < 0 || pp->node_port < 0) {
			proxy_report(r, K, obj, "spec.ports[%zu]: bad protocol, port or nodePort", i);
			goto bad;
		}
		snprintf(pp->name, sizeof pp->name, "%s", pname);
		for (size_t j = 0; j < i; j++) {
			if (strcmp(s->ports[j].name, pp->name) == 0 ||
			    (s->ports[j].proto == pp->proto && s->ports[j].port == pp->port)) {
				proxy_report(r, K, obj, "spec.ports[%zu] repeats the name or port "
					     "of [%zu]", i, j);
				goto bad;
			}
		}
	}
	s->n_ports = n;
	return 1;
bad:
	free(s->ports);
	s->ports = NULL;
	return -1;
}

static void service_free(struct proxy_service *s)
{
	for (size_t i = 0; i < s->n_ports; i++)
		free(s->ports[i].backends);
	free(s->ports);
	s->ports = NULL;
	s->n_ports = 0;
}

int proxy_service_cmp(const void *a, const void *b)
{
	const struct proxy_service *x = a, *y = b;
	int c = strcmp(x->ns, y->ns);
	return c != 0 ? c : strcmp(x->name, y->name);
}

/* The map key port i of s takes: its ClusterIP port (nodeport false) or
 * its NodePort. */
static void claim_key(const struct proxy_service *s, size_t i, bool nodeport, char *out,
		      size_t len)
{
	const struct proxy_port *p = &s->ports[i];

	if (nodeport)
		snprintf(out, len, "nodePort %s/%d", p->proto, p->node_port);
	else
		snprintf(out, len, "clusterIP port %u %s/%d", s->cluster_ip, p->proto, p->port);
}

/* Two Services cannot own one ClusterIP port or NodePort: the first (by
 * namespace/name) keeps it, the other is left out.  used maps each key to
 * its owner.  Returns true when s may stay. */
static bool service_claim(const struct proxy_report *r, json_t *obj, const struct proxy_service *s,
			  json_t *used)
{
	char key[64], owner[130];

	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < s->n_ports; i++) {
			for (int np = 0; np < 2; np++) {
				if (np && s->ports[i].node_port == 0)
					continue;
				claim_key(s, i, np, key, sizeof key);
				const char *other = json_string_value(json_object_get(used, key));
				if (pass == 0 && other != NULL) {
					proxy_report(r, "Service", obj, "its %s is %s's already",
					       np ? "nodePort" : "clusterIP and port", other);
					return false;
				}
				snprintf(owner, sizeof owner, "%s/%s", s->ns, s->name);
				if (pass == 1)
					json_object_set_new(used, key, json_string(owner));
			}
		}
	}
	return true;
}

struct parsed {
	struct proxy_service s;
	json_t *obj;
};

static int parsed_cmp(const void *a, const void *b)
{
	return proxy_service_cmp(&((const struct parsed *)a)->s, &((const struct parsed *)b)->s);
}

int proxy_model_build(json_t *services, json_t *slices, struct proxy_model *m,
		      proxy_problem_fn problem, void *arg)
{
	struct proxy_report r = {problem, arg};
	size_t n = json_array_size(services), i;
	json_t *obj, *used = json_object();
	int rv = MK_OK;

	memset(m, 0, sizeof *m);
	m->services = calloc(n + 1, sizeof *m->services);
	json_t **objs = calloc(n + 1, sizeof *objs);
	if (m->services == NULL || objs == NULL || used == NULL) {
		rv = MK_ENOMEM;
		goto out;
	}
	json_array_foreach(services, i, obj) {
		int got = service_parse(&r, obj, &m->services[m->n_services]);
		if (got < -1) {
			rv = got;
			goto out;
		}
		if (got == 1)
			objs[m->n_services++] = obj;
	}
	/* Sorted with their objects (a claim's report names the object). */
	struct parsed *ps = calloc(m->n_services + 1, sizeof *ps);
	if (ps == NULL) {
		rv = MK_ENOMEM;
		goto out;
	}
	for (size_t k = 0; k < m->n_services; k++)
		ps[k] = (struct parsed){m->services[k], objs[k]};
	qsort(ps, m->n_services, sizeof *ps, parsed_cmp);
	for (size_t k = 0; k < m->n_services; k++) {
		m->services[k] = ps[k].s;
		objs[k] = ps[k].obj;
	}
	free(ps);
	size_t w = 0;
	for (size_t k = 0; k < m->n_services; k++) {
		bool dup = w > 0 && proxy_service_cmp(&m->services[w - 1], &m->services[k]) == 0;
		if (!dup && service_claim(&r, objs[k], &m->services[k], used))
			m->services[w++] = m->services[k];
		else
			service_free(&m->services[k]);
	}
	m->n_services = w;
	json_array_foreach(slices, i, obj) {
		if ((rv = proxy_slice_attach(&r, obj, m)) != MK_OK)
			goto out;
	}
	for (size_t k = 0; k < m->n_services; k++)
		for (size_t p = 0; p < m->services[k].n_ports; p++)
			proxy_backends_tidy(&m->services[k].ports[p]);
out:
	free(objs);
	json_decref(used);
	if (rv != MK_OK)
		proxy_model_free(m);
	return rv;
}

void proxy_model_free(struct proxy_model *m)
{
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->n_services; i++)
		service_free(&m->services[i]);
	free(m->services);
	memset(m, 0, sizeof *m);
}
