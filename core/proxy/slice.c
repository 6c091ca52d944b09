/*
 * EndpointSlices joined to the Services they belong to
 * (proxy_internal.h): per service port, the slices' endpoints with the
 * number each slice gives the port's name.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/err.h"
#include "proxy_internal.h"

#define SERVICE_NAME_LABEL "kubernetes.io/service-name"

struct slice_port {
	const char *name;
	const char *proto;
	int port;              /* -1: none given (all ports), unusable here */
};

static int backend_add(struct proxy_port *p, const struct proxy_backend *b)
{
	if (p->n_backends == p->cap_backends) {
		size_t cap = p->cap_backends ? 2 * p->cap_backends : 8;
		void *nb = realloc(p->backends, cap * sizeof *p->backends);
		if (nb == NULL)
			return MK_ENOMEM;
		p->backends = nb;
		p->cap_backends = cap;
	}
	p->backends[p->n_backends++] = *b;
	return MK_OK;
}

static bool cond_of(json_t *conds, const char *name, bool unknown)
{
	json_t *v = json_object_get(conds, name);
	return json_is_boolean(v) ? json_is_true(v) : unknown;
}

/* Adds the slice's endpoints to the ports of the Service it belongs to,
 * after checking all of it. */
int proxy_slice_attach(const struct proxy_report *r, json_t *obj, struct proxy_model *m)
{
	static const char K[] = "EndpointSlice";
	const char *ns = proxy_meta(obj, "namespace");
	const char *svc = json_string_value(json_object_get(json_object_get(
		json_object_get(obj, "metadata"), "labels"), SERVICE_NAME_LABEL));
	const char *type = json_string_value(json_object_get(obj, "addressType"));
	json_t *ports = json_object_get(obj, "ports"), *eps = json_object_get(obj, "endpoints");
	size_t n_ports = json_array_size(ports), n_eps = json_array_size(eps);

	if (ns == NULL || svc == NULL || type == NULL || strcmp(type, "IPv4") != 0)
		return MK_OK;
	struct proxy_service key = {0};
	snprintf(key.ns, sizeof key.ns, "%s", ns);
	snprintf(key.name, sizeof key.name, "%s", svc);
	struct proxy_service *s = bsearch(&key, m->services, m->n_services, sizeof key,
					  proxy_service_cmp);
	if (s == NULL)
		return MK_OK;

	struct slice_port *sp = calloc(n_ports + 1, sizeof *sp);
	uint32_t *ips = calloc(n_eps + 1, sizeof *ips);
	int rv = MK_OK;
	if (sp == NULL || ips == NULL) {
		rv = MK_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n_ports; i++) {
		json_t *p = json_array_get(ports, i), *pn = json_object_get(p, "name");
		sp[i].name = json_is_null(pn) || pn == NULL ? "" : json_string_value(pn);
		sp[i].proto = proxy_proto(json_object_get(p, "protocol"));
		json_t *num = json_object_get(p, "port");
		sp[i].port = num == NULL || json_is_null(num) ? -1 : proxy_port_num(num, false);
		if (sp[i].name == NULL || sp[i].proto == NULL ||
		    (sp[i].port < 0 && num != NULL && !json_is_null(num))) {
			proxy_report(r, K, obj, "ports[%zu] has a bad name, protocol or port", i);
			goto out;
		}
	}
	for (size_t i = 0; i < n_eps; i++) {
		json_t *addrs = json_object_get(json_array_get(eps, i), "addresses");
		const char *a = json_string_value(json_array_get(addrs, 0));
		if (!proxy_ipv4(a, &ips[i])) {
			proxy_report(r, K, obj, "endpoints[%zu].addresses[0] \"%s\" is not an "
				     "IPv4 address", i, a ? a : "");
			goto out;
		}
	}
	for (size_t k = 0; k < s->n_ports; k++) {
		struct proxy_port *p = &s->ports[k];
		const struct slice_port *match = NULL;
		for (size_t i = 0; i < n_ports && match == NULL; i++)
			if (sp[i].port > 0 && sp[i].proto == p->proto &&
			    strcmp(sp[i].name, p->name) == 0)
				match = &sp[i];
		for (size_t i = 0; match != NULL && i < n_eps; i++) {
			json_t *c = json_object_get(json_array_get(eps, i), "conditions");
			/* discovery/v1: an unknown ready or serving is true. */
			struct proxy_backend b = {
				.ip = ips[i], .port = match->port, .ready = cond_of(c, "ready", true),
				.serving = cond_of(c, "serving", true),
				.terminating = cond_of(c, "terminating", false),
			};
			if ((rv = backend_add(p, &b)) != MK_OK)
				goto out;
		}
	}
out:
	free(sp);
	free(ips);
	return rv;
}

static int backend_cmp(const void *a, const void *b)
{
	const struct proxy_backend *x = a, *y = b;
	if (x->ip != y->ip)
		return x->ip < y->ip ? -1 : 1;
	return x->port - y->port;
}

/* Sorted and unique; one address in two slices (a move between slices)
 * is ready if either says so. */
void proxy_backends_tidy(struct proxy_port *p)
{
	size_t w = 0;

	if (p->n_backends == 0)
		return;
	qsort(p->backends, p->n_backends, sizeof *p->backends, backend_cmp);
	for (size_t i = 1; i < p->n_backends; i++) {
		struct proxy_backend *last = &p->backends[w];
		if (backend_cmp(last, &p->backends[i]) == 0) {
			last->ready |= p->backends[i].ready;
			last->serving |= p->backends[i].serving;
			last->terminating &= p->backends[i].terminating;
		} else {
			p->backends[++w] = p->backends[i];
		}
	}
	p->n_backends = w + 1;
}

size_t proxy_usable_backends(const struct proxy_port *port, const struct proxy_backend **out)
{
	size_t n = 0;

	for (size_t i = 0; i < port->n_backends; i++)
		if (port->backends[i].ready)
			out[n++] = &port->backends[i];
	if (n > 0)
		return n;
	for (size_t i = 0; i < port->n_backends; i++)
		if (port->backends[i].serving && port->backends[i].terminating)
			out[n++] = &port->backends[i];
	return n;
}
