/*
 * The `kubernetes` Service in `default` and its Endpoints and
 * EndpointSlice, which tell pods where the API servers are (service.h).
 * The API server writes them itself, as upstream's does (no controller
 * manages them: no managed-by label).
 *
 * Which API servers are alive: each renews a lease of its own in the
 * store, /registry/masterleases/<ip>:<port>, with a TTL, and lists the
 * live ones (upstream's "lease" endpoint reconciler, with the same key
 * space).  A server that stops cleanly removes its lease and itself;
 * one that dies drops out when its lease expires.  The endpoints list
 * the servers that serve on the Service's targetPort: one port for all,
 * as upstream assumes.
 *
 * A cluster of one (the datastore has a single member) needs no lease:
 * the one server lists itself, and an idle single node writes nothing at
 * all in steady state (every write moves the cluster's resourceVersion,
 * which clients watch).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/err.h"
#include "../base/log.h"
#include "../store/store.h"
#include "api_internal.h"
#include "object.h"
#include "service.h"

#define LEASE_PREFIX "/registry/masterleases/"
/* Renewed every background pass (10 s): three missed renewals and it goes. */
#define LEASE_TTL_MS 30000

static const char *advertised(const struct api_server *s)
{
	const char *a = s->cfg.node_address;
	if (a == NULL || a[0] == '\0' || strcmp(a, "0.0.0.0") == 0)
		a = s->cfg.bind_address;
	uint32_t ip;
	return a && ipv4_parse(a, &ip) && ip != 0 ? a : NULL;
}

static void lease_key(const struct api_server *s, char *out, size_t len)
{
	snprintf(out, len, LEASE_PREFIX "%s:%d", advertised(s), s->cfg.port);
}

/* True when the lease is renewed. */
static bool renew_lease(struct api_server *s, struct store *st)
{
	int rv = MK_ENOMEM;
	char key[200];
	lease_key(s, key, sizeof key);
	json_t *v = json_pack("{s:s, s:i}", "ip", advertised(s), "port", s->cfg.port);
	char *text = v ? json_dumps(v, JSON_COMPACT) : NULL;
	if (text != NULL) {
		rv = store_update(st, key, text, strlen(text), LEASE_TTL_MS, 0, NULL);
		if (rv == MK_ENOTFOUND)
			rv = store_create(st, key, text, strlen(text), LEASE_TTL_MS, NULL);
		if (rv != MK_OK && rv != MK_EEXISTS)
			mk_warn("api", "cannot renew the API server lease: %s", store_last_error());
	}
	free(text);
	json_decref(v);
	return rv == MK_OK || rv == MK_EEXISTS;
}

/* True when the datastore's only member is this node.  When that cannot
 * be told (the local node does not know the membership, as a spare that
 * just joined), the answer of last time, or "not alone": a lease too many
 * costs a write, a lease too few hides a server. */
static bool alone(struct api_server *s)
{
	bool *last = &s->kubernetes_alone;
	if (s->cfg.datastore_members == NULL) {
		*last = true;
		return true;
	}
	char *text = s->cfg.datastore_members(s->cfg.datastore_arg);
	json_t *m = text ? json_loads(text, 0, NULL) : NULL, *all = json_array();
	static const char *const roles[] = {"voters", "standbys", "spares"};
	for (size_t r = 0; r < 3; r++)
		json_array_extend(all, json_object_get(m, roles[r]));
	const char *only = json_string_value(json_array_get(all, 0));
	size_t n = strlen(advertised(s));
	if (json_array_size(all) > 1)
		*last = false;
	else if (only && strncmp(only, advertised(s), n) == 0 && only[n] == ':')
		*last = true;
	json_decref(all);
	json_decref(m);
	free(text);
	return *last;
}

/* The addresses of live API servers serving on `port`, sorted, each once;
 * `skip` (an "ip:port" lease name, or NULL) left out.  Alone: this one. */
static json_t *live_servers(struct api_server *s, struct store *st, int port, const char *skip,
			    bool by_itself)
{
	struct store_list l;
	json_t *ips = json_array();
	if (by_itself) {
		if (port == s->cfg.port && skip == NULL)
			json_array_append_new(ips, json_string(advertised(s)));
		return ips;
	}
	if (store_list(st, LEASE_PREFIX, NULL, 0, 0, &l) != MK_OK)
		return ips;
	for (size_t i = 0; i < l.n; i++) {
		json_t *v = json_loadb(l.items[i].value, l.items[i].len, 0, NULL);
		const char *ip = json_string_value(json_object_get(v, "ip"));
		bool skipped = skip && strcmp(l.items[i].key + strlen(LEASE_PREFIX), skip) == 0;
		size_t k, at = json_array_size(ips);
		json_t *have;
		if (ip && !skipped && json_integer_value(json_object_get(v, "port")) == port) {
			json_array_foreach(ips, k, have)
				if (strcmp(json_string_value(have), ip) >= 0) {
					at = k;
					break;
				}
			if (at == json_array_size(ips) || strcmp(json_string_value(json_array_get(ips, at)), ip))
				json_array_insert_new(ips, at, json_string(ip));
		}
		json_decref(v);
	}
	store_list_free(&l);
	return ips;
}

/* Writes `want` at key: created (with server metadata) when absent,
 * updated (keeping the stored metadata) when one of `fields` differs. */
static void put(struct store *st, const char *key, json_t *want, const char *const *fields)
{
	struct store_kv kv;
	int rv = store_get(st, key, &kv);
	size_t len;
	char *text = NULL;
	if (rv == MK_ENOTFOUND) {
		char uid[37], ts[32];
		object_new_uid(uid);
		object_timestamp(ts, object_now());
		json_object_set_new(object_meta(want), "uid", json_string(uid));
		json_object_set_new(object_meta(want), "creationTimestamp", json_string(ts));
		if ((text = object_to_store(want, &len)) != NULL)
			store_create(st, key, text, len, 0, NULL); /* a racing server made it: fine */
		free(text);
		return;
	}
	if (rv != MK_OK)
		return;
	json_t *have = object_from_store(kv.value, kv.len, kv.rev);
	bool changed = false;
	for (size_t i = 0; have && fields[i]; i++) {
		json_t *w = json_object_get(want, fields[i]);
		if (!json_equal(w, json_object_get(have, fields[i]))) {
			changed = true;
			if (w)
				json_object_set(have, fields[i], w);
			else
				json_object_del(have, fields[i]);
		}
	}
	json_t *labels = json_object_get(object_meta(want), "labels");
	if (have && !json_equal(labels, json_object_get(object_meta(have), "labels"))) {
		changed = true;
		json_object_set(object_meta(have), "labels", labels);
	}
	if (changed && (text = object_to_store(have, &len)) != NULL)
		store_update(st, key, text, len, 0, kv.rev, NULL); /* a race: next pass */
	free(text);
	json_decref(have);
	store_kv_free(&kv);
}

static void write_endpoints(struct store *st, const json_t *ips, int port)
{
	char key[STORE_MAX_KEY + 1];
	size_t i;
	json_t *ip;
	json_t *addresses = json_array(), *endpoints = json_array();
	json_array_foreach(ips, i, ip) {
		json_array_append_new(addresses, json_pack("{s:O}", "ip", ip));
		json_array_append_new(endpoints, json_pack("{s:[O], s:{s:b}}", "addresses", ip,
							   "conditions", "ready", 1));
	}
	json_t *ep = json_pack("{s:s, s:s, s:{s:s, s:s, s:{s:s}}}", "apiVersion", "v1", "kind",
			       "Endpoints", "metadata", "name", "kubernetes", "namespace", "default",
			       "labels", "endpointslice.kubernetes.io/skip-mirror", "true");
	if (ep && json_array_size(addresses) > 0)
		json_object_set_new(ep, "subsets", json_pack("[{s:O, s:[{s:s, s:i, s:s}]}]", "addresses",
							     addresses, "ports", "name", "https",
							     "port", port, "protocol", "TCP"));
	static const char *const ep_fields[] = {"subsets", NULL};
	if (ep && store_key(key, sizeof key, "core", "endpoints", "default", "kubernetes") == MK_OK)
		put(st, key, ep, ep_fields);
	json_t *slice = json_pack("{s:s, s:s, s:{s:s, s:s, s:{s:s}}, s:s, s:O, s:[{s:s, s:i, s:s}]}",
				  "apiVersion", "discovery.k8s.io/v1", "kind", "EndpointSlice",
				  "metadata", "name", "kubernetes", "namespace", "default", "labels",
				  "kubernetes.io/service-name", "kubernetes", "addressType", "IPv4",
				  "endpoints", endpoints, "ports", "name", "https", "port", port,
				  "protocol", "TCP");
	static const char *const slice_fields[] = {"addressType", "endpoints", "ports", NULL};
	if (slice && store_key(key, sizeof key, "discovery.k8s.io", "endpointslices", "default",
			       "kubernetes") == MK_OK)
		put(st, key, slice, slice_fields);
	json_decref(ep);
	json_decref(slice);
	json_decref(addresses);
	json_decref(endpoints);
}

/* Creates the Service with the range's first address (recorded first,
 * as any Service's); nothing if another server was quicker. */
static void create_service(struct api_server *s, struct store *st, const char *key)
{
	char ip[16], uid[37], ts[32], rkey[STORE_MAX_KEY + 1];
	ip_range_addr(&s->svc_ranges.ips, 0, ip);
	object_new_uid(uid);
	object_timestamp(ts, object_now());
	json_t *svc = json_pack(
		"{s:s, s:s, s:{s:s, s:s, s:s, s:s, s:{s:s, s:s}}, s:{s:s, s:[s], s:s, s:[s], s:s, "
		"s:[{s:s, s:i, s:s, s:i}], s:s, s:s}, s:{s:{}}}",
		"apiVersion", "v1", "kind", "Service", "metadata", "name", "kubernetes", "namespace",
		"default", "uid", uid, "creationTimestamp", ts, "labels", "component", "apiserver",
		"provider", "kubernetes", "spec", "clusterIP", ip, "clusterIPs", ip,
		"internalTrafficPolicy", "Cluster", "ipFamilies", "IPv4", "ipFamilyPolicy",
		"SingleStack", "ports", "name", "https", "port", 443, "protocol", "TCP", "targetPort",
		s->cfg.port, "sessionAffinity", "None", "type", "ClusterIP", "status", "loadBalancer");
	size_t len, rlen;
	char *text = svc ? object_to_store(svc, &len) : NULL;
	char *rec = svc ? service_record(svc, &rlen) : NULL;
	if (text && rec && service_ip_key(rkey, sizeof rkey, ip) == MK_OK) {
		int rv = store_create(st, rkey, rec, rlen, 0, NULL);
		if (rv == MK_EEXISTS)
			mk_warn("api", "%s is allocated to another service: the kubernetes service waits "
				"for the repair pass", ip);
		else if (rv == MK_OK && store_create(st, key, text, len, 0, NULL) == MK_OK)
			mk_info("api", "created the kubernetes service at %s", ip);
		else if (rv == MK_OK)
			service_release(st, svc, NULL);
	}
	free(text);
	free(rec);
	json_decref(svc);
}

/* The Service's targetPort, corrected when no live server serves on it
 * any more (this one's port changed); 0 if there is no Service yet. */
static int service_port(struct api_server *s, struct store *st, const char *key, bool by_itself)
{
	struct store_kv kv;
	if (store_get(st, key, &kv) != MK_OK)
		return 0;
	json_t *svc = object_from_store(kv.value, kv.len, kv.rev);
	json_t *port = json_array_get(object_at(svc, "spec.ports"), 0);
	int target = (int)json_integer_value(json_object_get(port, "targetPort"));
	json_t *live = target > 0 ? live_servers(s, st, target, NULL, by_itself) : NULL;
	if (port != NULL && target != s->cfg.port && json_array_size(live) == 0) {
		json_object_set_new(port, "targetPort", json_integer(s->cfg.port));
		size_t len;
		char *text = object_to_store(svc, &len);
		if (text && store_update(st, key, text, len, 0, kv.rev, NULL) == MK_OK)
			target = s->cfg.port;
		free(text);
	}
	json_decref(live);
	json_decref(svc);
	store_kv_free(&kv);
	return target;
}

void kubernetes_service_sync(struct api_server *s, struct store *st)
{
	char key[STORE_MAX_KEY + 1];
	if (advertised(s) == NULL)
		return; /* nothing a pod could reach */
	bool by_itself = alone(s);
	s->kubernetes_leased = !by_itself && renew_lease(s, st);
	store_key(key, sizeof key, "core", "services", "default", "kubernetes");
	int port = service_port(s, st, key, by_itself);
	if (port == 0) {
		create_service(s, st, key);
		port = service_port(s, st, key, by_itself);
	}
	if (port > 0) {
		json_t *ips = live_servers(s, st, port, NULL, by_itself);
		write_endpoints(st, ips, port);
		json_decref(ips);
	}
}

void kubernetes_service_leave(struct api_server *s, struct store *st)
{
	char key[STORE_MAX_KEY + 1], lease[200];
	/* Alone, there is nobody else to send clients to.  Without a lease
	 * renewed last time the store may not answer: stopping must not wait
	 * on it (the lease expires by itself). */
	if (advertised(s) == NULL || !s->kubernetes_leased)
		return;
	lease_key(s, lease, sizeof lease);
	store_delete(st, lease, 0, NULL);
	store_key(key, sizeof key, "core", "services", "default", "kubernetes");
	struct store_kv kv;
	if (store_get(st, key, &kv) != MK_OK)
		return;
	json_t *svc = object_from_store(kv.value, kv.len, kv.rev);
	int port = (int)json_integer_value(object_at(json_array_get(object_at(svc, "spec.ports"), 0),
						     "targetPort"));
	json_t *ips = live_servers(s, st, port, lease + strlen(LEASE_PREFIX), false);
	write_endpoints(st, ips, port);
	json_decref(ips);
	json_decref(svc);
	store_kv_free(&kv);
}
