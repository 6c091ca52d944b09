/*
 * What upstream's Service strategy does to a Service before it is
 * defaulted and validated (service.h): PrepareForCreate and
 * PrepareForUpdate with patchAllocatedValues, NormalizeClusterIPs and
 * dropTypeDependentFields.  Each rule guesses what a client meant when it
 * sent only some of several linked fields; validation judges the result.
 */
#include <string.h>

#include "service.h"

static json_t *spec_of(const json_t *svc)
{
	return json_object_get(svc, "spec");
}

static const char *str_at(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static bool empty(const char *s)
{
	return s == NULL || s[0] == '\0';
}

static bool same_str(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") == 0;
}

/* Absent, null and an empty list are the same "nothing" for lists. */
static bool same_list(const json_t *a, const json_t *b)
{
	if (json_array_size(a) == 0 && json_array_size(b) == 0)
		return true;
	return json_equal(a, b);
}

static bool externally_accessible(const json_t *svc)
{
	const char *t = str_at(spec_of(svc), "type");
	return (t && (strcmp(t, "LoadBalancer") == 0 || strcmp(t, "NodePort") == 0)) ||
	       ((t == NULL || strcmp(t, "ClusterIP") == 0) &&
		json_array_size(json_object_get(spec_of(svc), "externalIPs")) > 0);
}

static int node_port(const json_t *port)
{
	return (int)json_integer_value(json_object_get(port, "nodePort"));
}

/* The set of non-zero node ports of svc contains port. */
static bool has_node_port(const json_t *svc, int port)
{
	size_t i;
	json_t *p;
	json_array_foreach(json_object_get(spec_of(svc), "ports"), i, p)
		if (node_port(p) == port)
			return true;
	return false;
}

static bool same_node_ports(const json_t *a, const json_t *b)
{
	size_t i;
	json_t *p;
	json_array_foreach(json_object_get(spec_of(a), "ports"), i, p)
		if (node_port(p) != 0 && !has_node_port(b, node_port(p)))
			return false;
	json_array_foreach(json_object_get(spec_of(b), "ports"), i, p)
		if (node_port(p) != 0 && !has_node_port(a, node_port(p)))
			return false;
	return true;
}

void service_prepare_create(json_t *svc)
{
	json_t *spec = spec_of(svc);
	const char *ip = str_at(spec, "clusterIP");
	/* An old client's singular field initialises the plural one. */
	if (!empty(ip) && json_array_size(json_object_get(spec, "clusterIPs")) == 0)
		json_object_set_new(spec, "clusterIPs", json_pack("[s]", ip));
}

/* patchAllocatedValues: a client that omits what the server allocated
 * (kubectl replace, apply of the original manifest) keeps it. */
static void patch_allocated(json_t *svc, const json_t *old)
{
	json_t *spec = spec_of(svc), *ospec = spec_of(old);
	if (service_needs_cluster_ip(old) && service_needs_cluster_ip(svc)) {
		if (empty(str_at(spec, "clusterIP")) && str_at(ospec, "clusterIP"))
			json_object_set(spec, "clusterIP", json_object_get(ospec, "clusterIP"));
		if (json_array_size(json_object_get(spec, "clusterIPs")) == 0 &&
		    json_array_size(json_object_get(ospec, "clusterIPs")) > 0)
			json_object_set_new(spec, "clusterIPs",
					    json_deep_copy(json_object_get(ospec, "clusterIPs")));
	}
	if (service_needs_node_ports(old) && service_needs_node_ports(svc)) {
		/* By port name; a value the new object uses elsewhere is not
		 * patched in twice. */
		size_t i, k;
		json_t *p, *op;
		json_array_foreach(json_object_get(spec, "ports"), i, p) {
			if (node_port(p) != 0)
				continue;
			json_array_foreach(json_object_get(ospec, "ports"), k, op) {
				int v = node_port(op);
				if (same_str(str_at(p, "name"), str_at(op, "name")) && v != 0 &&
				    !has_node_port(svc, v)) {
					json_object_set_new(p, "nodePort", json_integer(v));
					break;
				}
			}
		}
	}
	if (service_needs_health_check(old) && service_needs_health_check(svc) &&
	    json_integer_value(json_object_get(spec, "healthCheckNodePort")) == 0 &&
	    json_object_get(ospec, "healthCheckNodePort"))
		json_object_set(spec, "healthCheckNodePort", json_object_get(ospec, "healthCheckNodePort"));
}

/* NormalizeClusterIPs for an update. */
static void normalize_ips(json_t *svc, const json_t *old)
{
	json_t *spec = spec_of(svc), *ospec = spec_of(old);
	const char *ip = str_at(spec, "clusterIP"), *oip = str_at(ospec, "clusterIP");
	json_t *ips = json_object_get(spec, "clusterIPs"), *oips = json_object_get(ospec, "clusterIPs");
	if (json_array_size(oips) > 0 && json_array_size(ips) == 0 && same_str(ip, oip)) {
		json_object_set_new(spec, "clusterIPs", json_deep_copy(oips));
		ips = json_object_get(spec, "clusterIPs");
	}
	if (same_str(ip, oip))
		return;
	bool same_ips = same_list(ips, oips);
	if (!empty(oip) && empty(ip)) {
		if (same_ips)
			json_object_del(spec, "clusterIPs");
	} else if (same_ips) {
		json_object_set_new(spec, "clusterIPs", json_pack("[s]", ip ? ip : ""));
	}
}

/* dropTypeDependentFields: what the new type does not use goes, if the
 * client did not also change it (then validation says what is wrong). */
static void drop_type_dependent(json_t *svc, const json_t *old)
{
	json_t *spec = spec_of(svc), *ospec = spec_of(old);
	if (service_needs_cluster_ip(old) && !service_needs_cluster_ip(svc)) {
		if (same_str(str_at(spec, "clusterIP"), str_at(ospec, "clusterIP")) &&
		    same_list(json_object_get(spec, "clusterIPs"), json_object_get(ospec, "clusterIPs"))) {
			json_object_del(spec, "clusterIP");
			json_object_del(spec, "clusterIPs");
		}
		if (same_list(json_object_get(spec, "ipFamilies"), json_object_get(ospec, "ipFamilies")))
			json_object_del(spec, "ipFamilies");
		if (same_str(str_at(spec, "ipFamilyPolicy"), str_at(ospec, "ipFamilyPolicy")))
			json_object_del(spec, "ipFamilyPolicy");
	}
	if (service_needs_node_ports(old) && !service_needs_node_ports(svc) &&
	    same_node_ports(old, svc)) {
		size_t i;
		json_t *p;
		json_array_foreach(json_object_get(spec, "ports"), i, p)
			json_object_del(p, "nodePort");
	}
	if (service_needs_health_check(old) && !service_needs_health_check(svc) &&
	    json_equal(json_object_get(spec, "healthCheckNodePort"),
		       json_object_get(ospec, "healthCheckNodePort")))
		json_object_del(spec, "healthCheckNodePort");
	const char *t = str_at(spec, "type"), *ot = str_at(ospec, "type");
	if (same_str(ot, "LoadBalancer") && !same_str(t, "LoadBalancer")) {
		if (json_equal(json_object_get(spec, "allocateLoadBalancerNodePorts"),
			       json_object_get(ospec, "allocateLoadBalancerNodePorts")))
			json_object_del(spec, "allocateLoadBalancerNodePorts");
		if (json_equal(json_object_get(spec, "loadBalancerClass"),
			       json_object_get(ospec, "loadBalancerClass")))
			json_object_del(spec, "loadBalancerClass");
	}
	if (externally_accessible(old) && !externally_accessible(svc) &&
	    same_str(str_at(spec, "externalTrafficPolicy"), str_at(ospec, "externalTrafficPolicy")))
		json_object_del(spec, "externalTrafficPolicy");
	/* A load balancer's status goes with the type. */
	if (!same_str(t, "LoadBalancer") && json_is_object(json_object_get(svc, "status")))
		json_object_set_new(json_object_get(svc, "status"), "loadBalancer", json_object());
}

void service_prepare_update(json_t *svc, const json_t *old)
{
	if (!json_is_object(spec_of(svc)) || !json_is_object(spec_of(old)))
		return;
	patch_allocated(svc, old);
	normalize_ips(svc, old);
	drop_type_dependent(svc, old);
}
