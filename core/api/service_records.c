/*
 * Service allocation records (service.h): one store row per allocated
 * cluster IP or node port, naming the Service that holds it; what a
 * Service holds; giving records back.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/err.h"
#include "../store/store.h"
#include "object.h"
#include "service.h"

int service_ranges_parse(struct service_ranges *r, const char *cidr, const char *node_ports,
			 char *errmsg, size_t len)
{
	int rv = ip_range_parse(cidr ? cidr : SERVICE_CIDR_DEFAULT, &r->ips, errmsg, len);
	if (rv == MK_OK)
		rv = port_range_parse(node_ports ? node_ports : NODE_PORT_RANGE_DEFAULT, &r->ports,
				      errmsg, len);
	return rv;
}

static const char *spec_str(const json_t *svc, const char *k)
{
	return json_string_value(json_object_get(json_object_get(svc, "spec"), k));
}

static bool type_is(const json_t *svc, const char *type)
{
	const char *t = spec_str(svc, "type");
	return strcmp(t ? t : "ClusterIP", type) == 0;
}

bool service_needs_cluster_ip(const json_t *svc)
{
	return svc != NULL && !type_is(svc, "ExternalName");
}

bool service_needs_node_ports(const json_t *svc)
{
	if (svc == NULL)
		return false;
	const json_t *alloc = json_object_get(json_object_get(svc, "spec"),
					      "allocateLoadBalancerNodePorts");
	return type_is(svc, "NodePort") || (type_is(svc, "LoadBalancer") && !json_is_false(alloc));
}

bool service_needs_health_check(const json_t *svc)
{
	const char *etp = spec_str(svc, "externalTrafficPolicy");
	return svc != NULL && type_is(svc, "LoadBalancer") && etp && strcmp(etp, "Local") == 0;
}

const char *service_held_ip(const json_t *svc)
{
	const char *ip = service_needs_cluster_ip(svc) ? spec_str(svc, "clusterIP") : NULL;
	return ip && ip[0] && strcmp(ip, "None") != 0 ? ip : NULL;
}

bool service_holds_port(const json_t *svc, int port)
{
	const json_t *spec = json_object_get(svc, "spec");
	size_t i;
	json_t *p;
	if (port <= 0)
		return false;
	if (service_needs_node_ports(svc))
		json_array_foreach(json_object_get(spec, "ports"), i, p)
			if (json_integer_value(json_object_get(p, "nodePort")) == port)
				return true;
	return service_needs_health_check(svc) &&
	       json_integer_value(json_object_get(spec, "healthCheckNodePort")) == port;
}

/* --- records ------------------------------------------------------------------ */

int service_ip_key(char *out, size_t len, const char *ip)
{
	return store_key(out, len, "ranges", "serviceips", NULL, ip);
}

int service_port_key(char *out, size_t len, int port)
{
	char name[12];
	snprintf(name, sizeof name, "%d", port);
	return store_key(out, len, "ranges", "servicenodeports", NULL, name);
}

char *service_record(const json_t *svc, size_t *len)
{
	json_t *rec = json_pack("{s:s, s:s, s:s, s:I}", "namespace", object_namespace(svc) ?: "",
				"name", object_name(svc) ?: "", "uid",
				json_string_value(object_at(svc, "metadata.uid")) ?: "", "at",
				(json_int_t)object_now());
	char *text = rec ? json_dumps(rec, JSON_COMPACT) : NULL;
	json_decref(rec);
	*len = text ? strlen(text) : 0;
	return text;
}

int service_rec_key(const struct service_ranges *r, enum service_rec k, size_t off, char *out,
		    size_t len)
{
	if (k == SERVICE_REC_PORT)
		return service_port_key(out, len, r->ports.first + (int)off);
	char ip[16];
	ip_range_addr(&r->ips, off, ip);
	return service_ip_key(out, len, ip);
}

/* True when the record at key names `uid`; false when absent or another's. */
bool service_record_owned(struct store *st, const char *key, const char *uid, int64_t *rev)
{
	struct store_kv kv;
	if (store_get(st, key, &kv) != MK_OK)
		return false;
	json_t *rec = json_loadb(kv.value, kv.len, 0, NULL);
	const char *owner = json_string_value(json_object_get(rec, "uid"));
	bool mine = owner && uid && strcmp(owner, uid) == 0;
	if (rev)
		*rev = kv.rev;
	json_decref(rec);
	store_kv_free(&kv);
	return mine;
}

/* Deletes the record at key if it names uid (compare-and-swap on the
 * revision read, so a record just taken by another Service stays). */
static void release_key(struct store *st, const char *key, const char *uid)
{
	int64_t rev;
	if (service_record_owned(st, key, uid, &rev))
		store_delete(st, key, rev, NULL);
}

/* Marks every recorded offset of kind k in m. */
int service_load_map(struct store *st, const struct service_ranges *r, enum service_rec k,
		     struct alloc_map *m)
{
	char prefix[STORE_MAX_KEY + 1];
	struct store_list l;
	store_key(prefix, sizeof prefix, "ranges", k == SERVICE_REC_IP ? "serviceips" : "servicenodeports",
		  NULL, NULL);
	int rv = k == SERVICE_REC_IP ? alloc_map_init(m, r->ips.size, r->ips.band, 1)
			     : alloc_map_init(m, r->ports.size, r->ports.band, 0);
	if (rv != MK_OK)
		return rv;
	if ((rv = store_list(st, prefix, NULL, 0, 0, &l)) != MK_OK) {
		alloc_map_free(m);
		return rv;
	}
	size_t plen = strlen(prefix);
	for (size_t i = 0; i < l.n; i++) {
		const char *tail = l.items[i].key + plen;
		uint32_t ip;
		long off = -1;
		if (k == SERVICE_REC_IP && ipv4_parse(tail, &ip))
			off = ip_range_offset(&r->ips, ip);
		else if (k == SERVICE_REC_PORT)
			off = port_range_offset(&r->ports, atoi(tail));
		if (off >= 0)
			alloc_map_set(m, (size_t)off);
	}
	store_list_free(&l);
	return MK_OK;
}

void service_rollback(struct store *st, const json_t *svc, struct service_txn *t)
{
	const char *uid = json_string_value(object_at(svc, "metadata.uid"));
	char key[STORE_MAX_KEY + 1];
	if (t->ip[0] && service_ip_key(key, sizeof key, t->ip) == MK_OK)
		release_key(st, key, uid);
	for (size_t i = 0; i < t->n_ports; i++)
		if (service_port_key(key, sizeof key, t->ports[i]) == MK_OK)
			release_key(st, key, uid);
	t->ip[0] = '\0';
	t->n_ports = 0;
}

void service_release(struct store *st, const json_t *old, const json_t *svc)
{
	const char *uid = json_string_value(object_at(old, "metadata.uid"));
	const char *ip = service_held_ip(old), *now = svc ? service_held_ip(svc) : NULL;
	char key[STORE_MAX_KEY + 1];
	if (ip && !(now && strcmp(ip, now) == 0) && service_ip_key(key, sizeof key, ip) == MK_OK)
		release_key(st, key, uid);
	const json_t *spec = json_object_get(old, "spec");
	size_t i;
	json_t *p;
	json_array_foreach(json_object_get(spec, "ports"), i, p) {
		int port = (int)json_integer_value(json_object_get(p, "nodePort"));
		if (service_holds_port(old, port) && !(svc && service_holds_port(svc, port)) &&
		    service_port_key(key, sizeof key, port) == MK_OK)
			release_key(st, key, uid);
	}
	int hc = (int)json_integer_value(json_object_get(spec, "healthCheckNodePort"));
	if (service_holds_port(old, hc) && !(svc && service_holds_port(svc, hc)) &&
	    service_port_key(key, sizeof key, hc) == MK_OK)
		release_key(st, key, uid);
}
