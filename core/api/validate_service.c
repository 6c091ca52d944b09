/*
 * Validation of Services (validate_internal.h): upstream's ValidateService
 * and ValidateServiceUpdate, with their wording.  Where upstream prints a
 * Go value with %#v (a []string, a ServicePort) the text is built the same
 * way, since that is what users see from kubectl.
 *
 * Runs after service_prepare_* and defaults; whether an address or port
 * is in range and free is the allocator's question (service_alloc.c).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "object.h"
#include "selector_internal.h"
#include "service_range.h"
#include "validate_internal.h"

#define MAX_CLIENT_IP_TIMEOUT 86400

static const char *str(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static bool is(const char *s, const char *want)
{
	return s != NULL && strcmp(s, want) == 0;
}

static bool empty(const char *s)
{
	return s == NULL || s[0] == '\0';
}

static bool valid_ip(const char *s)
{
	unsigned char buf[16];
	uint32_t v4;
	return s && (ipv4_parse(s, &v4) || inet_pton(AF_INET6, s, buf) == 1);
}

/* Go's %#v of a []string: []string{"a", "b"}, []string(nil). */
static void go_strings(const json_t *a, char *out, size_t len)
{
	size_t used = 0, i;
	json_t *v;
	if (!json_is_array(a)) {
		snprintf(out, len, "[]string(nil)");
		return;
	}
	used = (size_t)snprintf(out, len, "[]string{");
	json_array_foreach(a, i, v) {
		if (used < len)
			used += (size_t)snprintf(out + used, len - used, "%s\"%s\"", i ? ", " : "",
						 json_string_value(v) ?: "");
	}
	if (used < len)
		snprintf(out + used, len - used, "}");
}

static void forbidden(struct problems *p, const char *field, const char *why)
{
	problem_add(p, "FieldValueForbidden", field, "Forbidden: %s", why);
}

/* "Unsupported value: "X": supported values: "A", "B"" (values sorted). */
static void not_supported(struct problems *p, const char *field, const json_t *value,
			  const char *supported)
{
	char *v = json_dumps(value, JSON_ENCODE_ANY);
	problem_add(p, "FieldValueNotSupported", field, "Unsupported value: %s: supported values: %s",
		    v ? v : "null", supported);
	free(v);
}

/* Each "; "-joined reason of a label key or value check is a cause. */
static void invalid_reasons(struct problems *p, const char *field, const char *value,
			    const char *why)
{
	json_t *jv = json_string(value);
	char copy[1024];
	snprintf(copy, sizeof copy, "%s", why);
	for (char *save = NULL, *r = strtok_r(copy, ";", &save); r; r = strtok_r(NULL, ";", &save))
		problem_invalid(p, field, jv, r[0] == ' ' ? r + 1 : r);
	json_decref(jv);
}

/* IsValidPortName, one cause per rule broken. */
static void check_port_name(struct problems *p, const char *field, const json_t *value)
{
	const char *s = json_string_value(value);
	size_t n = strlen(s);
	bool charset = n > 0, letter = false;
	for (size_t i = 0; i < n; i++) {
		charset &= (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-';
		letter |= s[i] >= 'a' && s[i] <= 'z';
	}
	if (n > 15)
		problem_invalid(p, field, value, "must be no more than 15 characters");
	if (!charset)
		problem_invalid(p, field, value, "must contain only alpha-numeric characters (a-z, "
				"0-9), and hyphens (-)");
	if (!letter)
		problem_invalid(p, field, value, "must contain at least one letter (a-z)");
	if (strstr(s, "--"))
		problem_invalid(p, field, value, "must not contain consecutive hyphens");
	if (n > 0 && (s[0] == '-' || s[n - 1] == '-'))
		problem_invalid(p, field, value, "must not begin or end with a hyphen");
}

static void check_port_number(struct problems *p, const char *field, const json_t *v)
{
	json_int_t n = json_integer_value(v);
	if (n < 1 || n > 65535) {
		json_t *shown = json_integer(n);
		problem_invalid(p, field, shown, "must be between 1 and 65535, inclusive");
		json_decref(shown);
	}
}

static void check_ports(struct problems *p, const json_t *spec, const char *type)
{
	const json_t *ports = json_object_get(spec, "ports");
	size_t n = json_array_size(ports), i, k;
	json_t *port, *other;
	char field[96];
	json_array_foreach(ports, i, port) {
		const char *name = str(port, "name"), *proto = str(port, "protocol");
		snprintf(field, sizeof field, "spec.ports[%zu].name", i);
		if (n > 1 && empty(name)) {
			problem_required(p, field);
		} else if (!empty(name)) {
			if (object_check_label(name))
				problem_invalid(p, field, json_object_get(port, "name"),
						object_check_label(name));
			for (k = 0; k < i; k++)
				if (is(str(json_array_get(ports, k), "name"), name)) {
					problem_add(p, "FieldValueDuplicate", field,
						    "Duplicate value: \"%s\"", name);
					break;
				}
		}
		snprintf(field, sizeof field, "spec.ports[%zu].port", i);
		check_port_number(p, field, json_object_get(port, "port"));
		snprintf(field, sizeof field, "spec.ports[%zu].protocol", i);
		if (empty(proto))
			problem_required(p, field);
		else if (!is(proto, "TCP") && !is(proto, "UDP") && !is(proto, "SCTP"))
			not_supported(p, field, json_object_get(port, "protocol"),
				      "\"SCTP\", \"TCP\", \"UDP\"");
		snprintf(field, sizeof field, "spec.ports[%zu].targetPort", i);
		const json_t *tp = json_object_get(port, "targetPort");
		if (json_is_string(tp))
			check_port_name(p, field, tp);
		else
			check_port_number(p, field, tp);
		json_int_t np = json_integer_value(json_object_get(port, "nodePort"));
		if (np != 0 && is(type, "ClusterIP")) {
			snprintf(field, sizeof field, "spec.ports[%zu].nodePort", i);
			forbidden(p, field, "may not be used when `type` is 'ClusterIP'");
		}
		/* Duplicates: (protocol, nodePort), then (protocol, port). */
		for (k = 0; np != 0 && k < i; k++) {
			other = json_array_get(ports, k);
			if (json_integer_value(json_object_get(other, "nodePort")) == np &&
			    is(str(other, "protocol"), proto ? proto : "")) {
				snprintf(field, sizeof field, "spec.ports[%zu].nodePort", i);
				problem_add(p, "FieldValueDuplicate", field, "Duplicate value: %lld",
					    (long long)np);
				break;
			}
		}
		json_int_t num = json_integer_value(json_object_get(port, "port"));
		for (k = 0; k < i; k++) {
			other = json_array_get(ports, k);
			if (json_integer_value(json_object_get(other, "port")) == num &&
			    is(str(other, "protocol") ?: "", proto ? proto : "")) {
				snprintf(field, sizeof field, "spec.ports[%zu]", i);
				problem_add(p, "FieldValueDuplicate", field,
					    "Duplicate value: core.ServicePort{Name:\"\", Protocol:\"%s\", "
					    "AppProtocol:(*string)(nil), Port:%lld, TargetPort:intstr."
					    "IntOrString{Type:0, IntVal:0, StrVal:\"\"}, NodePort:0}",
					    proto ? proto : "", (long long)num);
				break;
			}
		}
	}
}

static void check_selector(struct problems *p, const json_t *spec)
{
	const char *k;
	json_t *v;
	char why[1024];
	json_object_foreach(json_object_get(spec, "selector"), k, v) {
		if (selector_check_key(k, why, sizeof why) != 0)
			invalid_reasons(p, "spec.selector", k, why);
		if (json_is_string(v) && selector_check_value(json_string_value(v), why, sizeof why) != 0)
			invalid_reasons(p, "spec.selector", json_string_value(v), why);
	}
}

static void check_affinity(struct problems *p, const json_t *spec)
{
	const json_t *sa = json_object_get(spec, "sessionAffinity");
	const json_t *cfg = json_object_get(spec, "sessionAffinityConfig");
	const char *s = json_string_value(sa);
	if (empty(s)) {
		problem_required(p, "spec.sessionAffinity");
	} else if (!is(s, "ClientIP") && !is(s, "None")) {
		not_supported(p, "spec.sessionAffinity", sa, "\"ClientIP\", \"None\"");
	} else if (is(s, "None") && cfg != NULL && !json_is_null(cfg)) {
		forbidden(p, "spec.sessionAffinityConfig", "must not be set when session affinity is None");
	} else if (is(s, "ClientIP")) {
		const json_t *cip = json_object_get(cfg, "clientIP");
		const json_t *t = json_object_get(cip, "timeoutSeconds");
		const char *when = "Required value: when session affinity type is ClientIP";
		if (!json_is_object(cfg))
			problem_add(p, "FieldValueRequired", "spec.sessionAffinityConfig", "%s", when);
		else if (!json_is_object(cip))
			problem_add(p, "FieldValueRequired", "spec.sessionAffinityConfig.clientIP", "%s",
				    when);
		else if (!json_is_integer(t))
			problem_add(p, "FieldValueRequired",
				    "spec.sessionAffinityConfig.clientIP.timeoutSeconds", "%s", when);
		else if (json_integer_value(t) <= 0 || json_integer_value(t) > MAX_CLIENT_IP_TIMEOUT)
			problem_invalid(p, "spec.sessionAffinityConfig.clientIP.timeoutSeconds", t,
					"must be greater than 0 and less than 86400");
	}
}

/* ValidateServiceClusterIPsRelatedFields, for types with a cluster IP. */
static void check_cluster_ips(struct problems *p, const json_t *spec)
{
	const char *ip = str(spec, "clusterIP");
	const json_t *ips = json_object_get(spec, "clusterIPs");
	char shown[300];
	size_t i;
	json_t *v;
	go_strings(ips, shown, sizeof shown);
	if (!empty(ip) && json_array_size(ips) == 0)
		problem_required(p, "spec.clusterIPs");
	else if (!empty(ip) && !is(json_string_value(json_array_get(ips, 0)), ip))
		problem_add(p, "FieldValueInvalid", "spec.clusterIPs", "Invalid value: %s: first value "
			    "must match `clusterIP`", shown);
	else if (empty(ip) && json_array_size(ips) > 0)
		problem_add(p, "FieldValueInvalid", "spec.clusterIPs", "Invalid value: %s: must be "
			    "empty when `clusterIP` is not specified", shown);
	json_array_foreach(json_object_get(spec, "ipFamilies"), i, v) {
		char field[64];
		snprintf(field, sizeof field, "spec.ipFamilies[%zu]", i);
		if (!is(json_string_value(v), "IPv4") && !is(json_string_value(v), "IPv6"))
			not_supported(p, field, v, "\"IPv4\", \"IPv6\"");
	}
	const char *policy = str(spec, "ipFamilyPolicy");
	if (policy && !is(policy, "SingleStack") && !is(policy, "PreferDualStack") &&
	    !is(policy, "RequireDualStack"))
		not_supported(p, "spec.ipFamilyPolicy", json_object_get(spec, "ipFamilyPolicy"),
			      "\"PreferDualStack\", \"RequireDualStack\", \"SingleStack\"");
	json_array_foreach(ips, i, v) {
		char field[64];
		const char *s = json_string_value(v);
		snprintf(field, sizeof field, "spec.clusterIPs[%zu]", i);
		if (i == 0 && is(s, "None")) {
			if (json_array_size(ips) > 1)
				problem_add(p, "FieldValueInvalid", "spec.clusterIPs", "Invalid value: %s: "
					    "'None' must be the first and only value", shown);
			continue;
		}
		if (!valid_ip(s))
			problem_invalid(p, field, v, "must be a valid IP address, (e.g. 10.9.8.7 or "
					"2001:db8::ffff)");
	}
	if (json_array_size(ips) > 2)
		problem_add(p, "FieldValueInvalid", "spec.clusterIPs", "Invalid value: %s: may only "
			    "hold up to 2 values", shown);
}

static void check_type(struct problems *p, const json_t *svc, const json_t *spec, const char *type)
{
	bool headless = is(str(spec, "clusterIP"), "None");
	if (empty(type)) {
		problem_required(p, "spec.type");
	} else if (!is(type, "ClusterIP") && !is(type, "NodePort") && !is(type, "LoadBalancer") &&
		   !is(type, "ExternalName")) {
		not_supported(p, "spec.type", json_object_get(spec, "type"),
			      "\"ClusterIP\", \"ExternalName\", \"LoadBalancer\", \"NodePort\"");
	} else if ((is(type, "NodePort") || is(type, "LoadBalancer")) && headless) {
		char why[80];
		snprintf(why, sizeof why, "may not be set to 'None' for %s services", type);
		problem_invalid(p, "spec.clusterIPs[0]", json_object_get(spec, "clusterIP"), why);
	} else if (is(type, "ExternalName")) {
		if (json_array_size(json_object_get(spec, "clusterIPs")) > 0 || !empty(str(spec, "clusterIP")))
			forbidden(p, "spec.clusterIPs", "may not be set for ExternalName services");
		if (json_array_size(json_object_get(spec, "ipFamilies")) > 0)
			forbidden(p, "spec.ipFamilies", "may not be set for ExternalName services");
		if (str(spec, "ipFamilyPolicy"))
			forbidden(p, "spec.ipFamilyPolicy", "may not be set for ExternalName services");
		char cname[300];
		snprintf(cname, sizeof cname, "%s", str(spec, "externalName") ?: "");
		size_t n = strlen(cname);
		if (n > 0 && cname[n - 1] == '.') /* a fully qualified name */
			cname[--n] = '\0';
		if (n == 0)
			problem_required(p, "spec.externalName");
		else if (object_check_subdomain(cname))
			invalid_reasons(p, "spec.externalName", cname, object_check_subdomain(cname));
	}
	if (json_array_size(json_object_get(spec, "ports")) == 0 && !headless &&
	    !is(type, "ExternalName"))
		problem_required(p, "spec.ports");
	(void)svc;
}

static void check_traffic_policies(struct problems *p, const json_t *spec, const char *type)
{
	const json_t *etp = json_object_get(spec, "externalTrafficPolicy");
	bool external = is(type, "NodePort") || is(type, "LoadBalancer") ||
			(is(type, "ClusterIP") && json_array_size(json_object_get(spec, "externalIPs")));
	if (!external && !empty(json_string_value(etp)))
		problem_invalid(p, "spec.externalTrafficPolicy", etp,
				"may only be set for externally-accessible services");
	else if (external && empty(json_string_value(etp)))
		problem_required(p, "spec.externalTrafficPolicy");
	else if (external && !is(json_string_value(etp), "Cluster") && !is(json_string_value(etp), "Local"))
		not_supported(p, "spec.externalTrafficPolicy", etp, "\"Cluster\", \"Local\"");
	const json_t *hc = json_object_get(spec, "healthCheckNodePort");
	if (json_integer_value(hc) != 0 &&
	    !(is(type, "LoadBalancer") && is(json_string_value(etp), "Local")))
		problem_invalid(p, "spec.healthCheckNodePort", hc, "may only be set when `type` is "
				"'LoadBalancer' and `externalTrafficPolicy` is 'Local'");
	const json_t *itp = json_object_get(spec, "internalTrafficPolicy");
	if ((itp == NULL || json_is_null(itp)) && !is(type, "ExternalName")) {
		problem_add(p, "FieldValueRequired", "spec.internalTrafficPolicy",
			    "Required value: must be specified when `type` is '%s'", type ? type : "");
	} else if (itp && !json_is_null(itp) && !is(json_string_value(itp), "Cluster") &&
		   !is(json_string_value(itp), "Local")) {
		not_supported(p, "spec.internalTrafficPolicy", itp, "\"Cluster\", \"Local\"");
	}
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(spec, "externalIPs"), i, v) {
		char field[64];
		snprintf(field, sizeof field, "spec.externalIPs[%zu]", i);
		if (!valid_ip(json_string_value(v)))
			problem_invalid(p, field, v, "must be a valid IP address, (e.g. 10.9.8.7 or "
					"2001:db8::ffff)");
	}
}

/* validateUpgradeDowngradeClusterIPs on a single-stack cluster: the
 * primary address never changes once set, unless to or from
 * ExternalName (which has none). */
static void check_update(struct problems *p, const json_t *spec, const json_t *ospec)
{
	const char *type = str(spec, "type"), *otype = str(ospec, "type");
	if (is(type, "ExternalName") || is(otype, "ExternalName"))
		return;
	if (is(str(spec, "clusterIP"), "None") && is(str(ospec, "clusterIP"), "None"))
		return;
	const json_t *ips = json_object_get(spec, "clusterIPs"), *oips = json_object_get(ospec, "clusterIPs");
	char shown[300];
	go_strings(ips, shown, sizeof shown);
	if (json_array_size(oips) == 0)
		return; /* never had one: it is allocated now */
	if (json_array_size(ips) == 0)
		problem_add(p, "FieldValueInvalid", "spec.clusterIPs[0]", "Invalid value: %s: primary "
			    "clusterIP can not be unset", shown);
	else if (!json_equal(json_array_get(ips, 0), json_array_get(oips, 0)))
		problem_add(p, "FieldValueInvalid", "spec.clusterIPs[0]", "Invalid value: %s: may not "
			    "change once set", shown);
}

void check_service(struct problems *p, const json_t *svc, const json_t *old)
{
	const json_t *spec = json_object_get(svc, "spec");
	const char *type = str(spec, "type");
	if (old != NULL)
		check_update(p, spec, json_object_get(old, "spec"));
	check_type(p, svc, spec, type);
	check_ports(p, spec, type);
	check_selector(p, spec);
	check_affinity(p, spec);
	if (!is(type, "ExternalName"))
		check_cluster_ips(p, spec);
	check_traffic_policies(p, spec, type);
}
