/*
 * The repair pass over Service allocations (service.h), upstream's
 * ipallocator and portallocator repair controllers: the records and the
 * Services are written one after the other, so a crash (or a lost
 * connection) in between leaves one without the other.
 *
 * A record whose Service is gone is dropped only once it is older than
 * REPAIR_GRACE_S: a create records the address first and writes the
 * Service right after, possibly on another API server, and that record
 * must not be taken away in between (upstream waits for several repair
 * runs for the same reason).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/err.h"
#include "../base/log.h"
#include "../store/store.h"
#include "object.h"
#include "service.h"

#define REPAIR_GRACE_S 60

/* What the Services hold: "ip:<address>" / "port:<n>" -> the Service. */
static void add_wanted(json_t *wanted, const char *what, json_t *svc)
{
	json_t *had = json_object_get(wanted, what);
	if (had != NULL) {
		mk_warn("api", "%s is allocated to both %s/%s and %s/%s", what,
			object_namespace(had) ?: "", object_name(had) ?: "",
			object_namespace(svc) ?: "", object_name(svc) ?: "");
		return;
	}
	json_object_set(wanted, what, svc);
}

static json_t *services_holding(struct store *st, const struct service_ranges *r)
{
	char prefix[STORE_MAX_KEY + 1], what[32];
	struct store_list l;
	store_key(prefix, sizeof prefix, "core", "services", NULL, NULL);
	if (store_list(st, prefix, NULL, 0, 0, &l) != MK_OK)
		return NULL;
	json_t *wanted = json_object();
	for (size_t i = 0; i < l.n; i++) {
		json_t *svc = object_from_store(l.items[i].value, l.items[i].len, l.items[i].rev);
		const char *ip = svc ? service_held_ip(svc) : NULL;
		uint32_t addr;
		if (ip && ipv4_parse(ip, &addr) && ip_range_offset(&r->ips, addr) >= 0) {
			snprintf(what, sizeof what, "ip:%s", ip);
			add_wanted(wanted, what, svc);
		} else if (ip) {
			mk_warn("api", "service %s/%s has cluster IP %s outside %s: recreate it",
				object_namespace(svc) ?: "", object_name(svc) ?: "", ip, r->ips.cidr);
		}
		json_t *spec = json_object_get(svc, "spec"), *p;
		size_t k;
		json_array_foreach(json_object_get(spec, "ports"), k, p) {
			int port = (int)json_integer_value(json_object_get(p, "nodePort"));
			snprintf(what, sizeof what, "port:%d", port);
			if (service_holds_port(svc, port) && port_range_offset(&r->ports, port) >= 0 &&
			    json_object_get(wanted, what) != svc)
				add_wanted(wanted, what, svc);
		}
		int hc = (int)json_integer_value(json_object_get(spec, "healthCheckNodePort"));
		snprintf(what, sizeof what, "port:%d", hc);
		if (service_holds_port(svc, hc) && port_range_offset(&r->ports, hc) >= 0 &&
		    json_object_get(wanted, what) != svc)
			add_wanted(wanted, what, svc);
		json_decref(svc);
	}
	store_list_free(&l);
	return wanted;
}

/* Drops stale records under one prefix; marks in `wanted` (by deleting
 * the entry) those that are right. */
static void sweep_records(struct store *st, const char *resource, const char *tag, json_t *wanted)
{
	char prefix[STORE_MAX_KEY + 1], what[300];
	struct store_list l;
	store_key(prefix, sizeof prefix, "ranges", resource, NULL, NULL);
	if (store_list(st, prefix, NULL, 0, 0, &l) != MK_OK)
		return;
	size_t plen = strlen(prefix);
	int64_t now = object_now();
	for (size_t i = 0; i < l.n; i++) {
		json_t *rec = json_loadb(l.items[i].value, l.items[i].len, 0, NULL);
		snprintf(what, sizeof what, "%s:%s", tag, l.items[i].key + plen);
		json_t *svc = json_object_get(wanted, what);
		const char *uid = json_string_value(json_object_get(rec, "uid"));
		const char *suid = json_string_value(object_at(svc, "metadata.uid"));
		if (uid && suid && strcmp(uid, suid) == 0) {
			json_object_del(wanted, what); /* as it should be */
		} else if (now - json_integer_value(json_object_get(rec, "at")) > REPAIR_GRACE_S &&
			   store_delete(st, l.items[i].key, l.items[i].rev, NULL) == MK_OK) {
			mk_info("api", "released %s of the gone service %s/%s", what,
				json_string_value(json_object_get(rec, "namespace")) ?: "",
				json_string_value(json_object_get(rec, "name")) ?: "");
		}
		json_decref(rec);
	}
	store_list_free(&l);
}

void service_repair(struct store *st, const struct service_ranges *r)
{
	json_t *wanted = services_holding(st, r);
	if (wanted == NULL)
		return;
	sweep_records(st, "serviceips", "ip", wanted);
	sweep_records(st, "servicenodeports", "port", wanted);
	/* What is left is held by a Service and has no record of its own. */
	const char *what;
	json_t *svc;
	json_object_foreach(wanted, what, svc) {
		char key[STORE_MAX_KEY + 1];
		int rv = strncmp(what, "ip:", 3) == 0 ? service_ip_key(key, sizeof key, what + 3)
						     : service_port_key(key, sizeof key, atoi(what + 5));
		size_t len;
		char *value = rv == MK_OK ? service_record(svc, &len) : NULL;
		rv = value ? store_create(st, key, value, len, 0, NULL) : MK_ENOMEM;
		if (rv == MK_OK)
			mk_info("api", "recorded %s for service %s/%s", what, object_namespace(svc) ?: "",
				object_name(svc) ?: "");
		else if (rv == MK_EEXISTS)
			mk_warn("api", "%s of service %s/%s is recorded for another service", what,
				object_namespace(svc) ?: "", object_name(svc) ?: "");
		free(value);
	}
	json_decref(wanted);
}
