/*
 * Cluster IPs and node ports for Services (service.h).
 *
 * Why one store row per allocated address or port, created if absent,
 * rather than one allocation bitmap updated with compare-and-swap (what
 * upstream kept in etcd until its IPAddress objects): the row's key *is*
 * the address, so the store's create-if-absent decides every race, among
 * workers and among API servers alike, with no retry loop; concurrent
 * creates of different Services touch different rows and never conflict
 * (a shared bitmap makes all of them retry against each other, and 20
 * Services created at once would cost up to 20 rounds each); and freeing
 * an address is deleting its row, conditional on the row still naming the
 * Service that goes.  Finding a free address reads the rows under one
 * prefix (one store round trip) and tries a free one; losing a race just
 * marks that one taken and tries another.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "../base/err.h"
#include "../store/store.h"
#include "api_internal.h"
#include "object.h"
#include "service.h"
#include "validate_internal.h"

static const char *spec_str(const json_t *svc, const char *k)
{
	return json_string_value(json_object_get(json_object_get(svc, "spec"), k));
}

/* --- answers --------------------------------------------------------------------- */

/* 422 with one FieldValueInvalid cause, worded like upstream. */
static int fail_invalid(struct api_call *c, const json_t *svc, const char *field,
			const json_t *value, const char *why)
{
	struct problems p = {.causes = json_array()};
	const char *name = object_name(svc) ?: "";
	problem_invalid(&p, field, value, why);
	api_fail_details(c, 422, "Invalid", name, p.causes, "Service \"%s\" is invalid: %s", name,
			 p.text);
	return MK_EINVAL;
}

static int fail_full(struct api_call *c, enum service_rec k)
{
	api_fail(c, 500, "InternalError", "Internal error occurred: failed to allocate a %s: "
		 "range is full", k == SERVICE_REC_IP ? "serviceIP" : "nodePort");
	return MK_ETOOBIG;
}

/* --- taking one ------------------------------------------------------------------------ */

/* Takes offset `want` (>= 0) or, with want < 0, a free one, recording it
 * for svc; *got receives the offset.  MK_EEXISTS when `want` is taken by
 * another Service; MK_ETOOBIG when the range is full; store errors. */
static int take(struct api_call *c, enum service_rec k, const json_t *svc, long want, bool dry_run,
		size_t *got)
{
	const struct service_ranges *r = &c->srv->svc_ranges;
	const char *uid = json_string_value(object_at(svc, "metadata.uid"));
	char key[STORE_MAX_KEY + 1];
	size_t len;
	char *value = service_record(svc, &len);
	struct alloc_map m = {0};
	int rv = value ? MK_OK : MK_ENOMEM;
	if (rv == MK_OK && want >= 0) {
		service_rec_key(r, k, (size_t)want, key, sizeof key);
		if (dry_run) {
			struct store_kv kv;
			rv = store_get(c->store, key, &kv);
			if (rv == MK_OK)
				store_kv_free(&kv);
			rv = rv == MK_ENOTFOUND ? MK_OK : rv == MK_OK ? MK_EEXISTS : rv;
		} else {
			rv = store_create(c->store, key, value, len, 0, NULL);
		}
		/* Already ours: a retried write. */
		if (rv == MK_EEXISTS && service_record_owned(c->store, key, uid, NULL))
			rv = MK_OK;
		*got = (size_t)want;
		goto out;
	}
	if (rv == MK_OK)
		rv = service_load_map(c->store, r, k, &m);
	for (int attempt = 0; rv == MK_OK; attempt++) {
		uint64_t rnd = 0;
		if (getrandom(&rnd, sizeof rnd, GRND_NONBLOCK) != sizeof rnd)
			rnd = (uint64_t)object_now() * 2654435761u + (uint64_t)attempt;
		long off = alloc_map_next(&m, rnd);
		/* Each race lost marks one more offset taken: this ends. */
		if (off < 0) {
			rv = MK_ETOOBIG;
			break;
		}
		*got = (size_t)off;
		if (dry_run)
			break;
		service_rec_key(r, k, (size_t)off, key, sizeof key);
		rv = store_create(c->store, key, value, len, 0, NULL);
		if (rv == MK_EEXISTS) { /* lost a race for it: another one */
			alloc_map_set(&m, (size_t)off);
			rv = MK_OK;
			continue;
		}
		break;
	}
out:
	alloc_map_free(&m);
	free(value);
	return rv;
}

/* --- the cluster IP ----------------------------------------------------------------- */

/* upstream's initIPFamilyFields on a single-stack IPv4 cluster. */
static int init_families(struct api_call *c, json_t *svc)
{
	json_t *spec = json_object_get(svc, "spec");
	const char *policy = spec_str(svc, "ipFamilyPolicy");
	const char *ip = spec_str(svc, "clusterIP");
	bool headless = ip && strcmp(ip, "None") == 0;
	bool selectorless = json_object_size(json_object_get(spec, "selector")) == 0;
	size_t i;
	json_t *f;
	json_array_foreach(json_object_get(spec, "ipFamilies"), i, f) {
		char field[64];
		snprintf(field, sizeof field, "spec.ipFamilies[%zu]", i);
		if (i > 0 || strcmp(json_string_value(f) ?: "", "IPv4") != 0)
			return fail_invalid(c, svc, field, f, "not configured on this cluster");
	}
	/* Headless Services without a selector list whatever endpoints
	 * their owner writes, of any family: upstream requires dual stack
	 * for them and quietly keeps the families the cluster has. */
	if (policy == NULL)
		policy = headless && selectorless ? "RequireDualStack" : "SingleStack";
	else if (strcmp(policy, "RequireDualStack") == 0 && !(headless && selectorless))
		return fail_invalid(c, svc, "spec.ipFamilyPolicy", json_object_get(spec, "ipFamilyPolicy"),
				    "this cluster is not configured for dual-stack services");
	json_object_set_new(spec, "ipFamilyPolicy", json_string(policy));
	json_object_set_new(spec, "ipFamilies", json_pack("[s]", "IPv4"));
	return MK_OK;
}

static void set_cluster_ip(json_t *svc, const char *ip)
{
	json_t *spec = json_object_get(svc, "spec");
	json_object_set_new(spec, "clusterIP", json_string(ip));
	json_object_set_new(spec, "clusterIPs", json_pack("[s]", ip));
}

static int allocate_ip(struct api_call *c, json_t *svc, const json_t *old, struct service_txn *t)
{
	const struct ip_range *r = &c->srv->svc_ranges.ips;
	const char *ip = spec_str(svc, "clusterIP");
	int rv = init_families(c, svc);
	if (rv != MK_OK)
		return rv;
	if (ip && strcmp(ip, "None") == 0) {
		set_cluster_ip(svc, "None");
		return MK_OK;
	}
	const char *had = old ? service_held_ip(old) : NULL;
	if (ip && ip[0] && had && strcmp(ip, had) == 0)
		return MK_OK; /* kept: validation refused any change */
	long want = -1;
	json_t *jip = ip && ip[0] ? json_string(ip) : NULL;
	if (jip != NULL) {
		uint32_t addr;
		char why[300];
		want = ipv4_parse(ip, &addr) ? ip_range_offset(r, addr) : -1;
		if (want < 0) {
			snprintf(why, sizeof why, "failed to allocate IP %s: the provided IP (%s) is not "
				 "in the valid range. The range of valid IPs is %s", ip, ip, r->cidr);
			rv = fail_invalid(c, svc, "spec.clusterIPs[0]", jip, why);
			json_decref(jip);
			return rv;
		}
	}
	size_t off;
	rv = take(c, SERVICE_REC_IP, svc, want, t->dry_run, &off);
	if (rv == MK_EEXISTS) {
		char why[300];
		snprintf(why, sizeof why, "failed to allocate IP %s: provided IP is already allocated",
			 ip);
		rv = fail_invalid(c, svc, "spec.clusterIPs[0]", jip, why);
	} else if (rv == MK_ETOOBIG) {
		rv = fail_full(c, SERVICE_REC_IP);
	} else if (rv != MK_OK) {
		api_fail_store(c, rv);
	} else {
		ip_range_addr(r, off, t->ip);
		set_cluster_ip(svc, t->ip);
		if (t->dry_run)
			t->ip[0] = '\0';
	}
	json_decref(jip);
	return rv;
}

/* --- node ports ------------------------------------------------------------------------ */

/* Takes `port` (0: any) for the field at `field`; returns the port taken
 * in *got.  Ports already held by old, or taken by this write for another
 * protocol of the same number, are not taken twice. */
static int allocate_port(struct api_call *c, json_t *svc, const json_t *old, struct service_txn *t,
			 const char *field, json_t *value, int *got)
{
	const struct port_range *r = &c->srv->svc_ranges.ports;
	int port = (int)json_integer_value(value);
	*got = port;
	if (port > 0 && old && service_holds_port(old, port))
		return MK_OK;
	for (size_t i = 0; port > 0 && i < t->n_ports; i++)
		if (t->ports[i] == port)
			return MK_OK;
	if (t->n_ports >= SERVICE_MAX_PORTS)
		return fail_invalid(c, svc, field, value, "too many ports");
	long want = port != 0 ? port_range_offset(r, port) : -1;
	char why[200];
	if (port != 0 && want < 0) {
		snprintf(why, sizeof why, "provided port is not in the valid range. The range of valid "
			 "ports is %s", r->text);
		return fail_invalid(c, svc, field, value, why);
	}
	size_t off;
	int rv = take(c, SERVICE_REC_PORT, svc, want, t->dry_run, &off);
	if (rv == MK_EEXISTS)
		return fail_invalid(c, svc, field, value, "provided port is already allocated");
	if (rv == MK_ETOOBIG)
		return fail_full(c, SERVICE_REC_PORT);
	if (rv != MK_OK) {
		api_fail_store(c, rv);
		return rv;
	}
	*got = r->first + (int)off;
	if (!t->dry_run)
		t->ports[t->n_ports++] = *got;
	return MK_OK;
}

static int allocate_node_ports(struct api_call *c, json_t *svc, const json_t *old,
			       struct service_txn *t)
{
	json_t *spec = json_object_get(svc, "spec");
	char field[64];
	int got, rv;
	size_t i;
	json_t *p;
	if (service_needs_node_ports(svc)) {
		json_array_foreach(json_object_get(spec, "ports"), i, p) {
			snprintf(field, sizeof field, "spec.ports[%zu].nodePort", i);
			rv = allocate_port(c, svc, old, t, field, json_object_get(p, "nodePort"), &got);
			if (rv != MK_OK)
				return rv;
			json_object_set_new(p, "nodePort", json_integer(got));
		}
	}
	if (service_needs_health_check(svc)) {
		rv = allocate_port(c, svc, old, t, "spec.healthCheckNodePort",
				   json_object_get(spec, "healthCheckNodePort"), &got);
		if (rv != MK_OK)
			return rv;
		json_object_set_new(spec, "healthCheckNodePort", json_integer(got));
	}
	return MK_OK;
}

int service_allocate(struct api_call *c, json_t *svc, const json_t *old, bool dry_run,
		     struct service_txn *t)
{
	memset(t, 0, sizeof *t);
	t->dry_run = dry_run;
	int rv = MK_OK;
	if (service_needs_cluster_ip(svc))
		rv = allocate_ip(c, svc, old, t);
	if (rv == MK_OK)
		rv = allocate_node_ports(c, svc, old, t);
	if (rv != MK_OK)
		service_rollback(c->store, svc, t);
	return rv;
}
