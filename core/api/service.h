/*
 * What the API server does for Services beyond storing them, as
 * upstream's Service REST storage does: cluster IPs and node ports
 * allocated on create and update and given back on delete, the fields a
 * client may omit on update kept (service_prepare.c), a repair pass over
 * the allocation records (service_repair.c), and the `kubernetes` Service
 * with its Endpoints and EndpointSlice (kubernetes_service.c).
 *
 * Where allocations live: one store row per allocated address or port,
 * /registry/ranges/serviceips/<ip> and /registry/ranges/servicenodeports/
 * <port>, holding the owning Service's namespace, name and uid.  Taking
 * one is a create-if-absent of its row, so two API servers (or two
 * workers) racing for the same address cannot both win, and they never
 * contend on one shared record; see service_alloc.c for why this and not a
 * compare-and-swapped bitmap.
 *
 * Order of a write (handle_write.c): service_prepare_* before defaults and
 * validation, service_allocate after validation and before the object is
 * written, service_rollback if the write then fails, service_release once
 * it succeeded (and after any delete, from api_background_deleted).  A
 * crash between two of these steps leaves a row without its Service or a
 * Service without its row; the repair pass mends both.
 *
 * Threading: everything runs on worker threads or the background thread
 * and blocks on store round trips.  Errors: a failing allocation sets the
 * call's answer (422 with upstream's wording, 500 when a range is full,
 * or the store's error) and returns its code.
 */
#ifndef MK_API_SERVICE_H
#define MK_API_SERVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "service_range.h"

struct api_call;
struct api_server;
struct store;

/* The ranges of one API server (api_config's service_cidr and
 * node_port_range, parsed once at start). */
struct service_ranges {
	struct ip_range ips;
	struct port_range ports;
};

int service_ranges_parse(struct service_ranges *r, const char *cidr, const char *node_ports,
			 char *errmsg, size_t len);

/* --- before defaults and validation (service_prepare.c) ------------------------ */

/* Create: clusterIP and clusterIPs made consistent (either may be given). */
void service_prepare_create(json_t *svc);
/* Update: what the client omitted and the old object had allocated is
 * kept (upstream's patchAllocatedValues, so `kubectl apply` and `replace`
 * of a manifest without clusterIP work), clusterIP/clusterIPs synced, and
 * fields the new type does not use dropped when the client left them as
 * they were (dropTypeDependentFields: NodePort -> ClusterIP releases the
 * node ports). */
void service_prepare_update(json_t *svc, const json_t *old);

/* True for types that have a cluster IP (all but ExternalName). */
bool service_needs_cluster_ip(const json_t *svc);
/* NodePort, or LoadBalancer unless allocateLoadBalancerNodePorts is false. */
bool service_needs_node_ports(const json_t *svc);
/* LoadBalancer with externalTrafficPolicy Local. */
bool service_needs_health_check(const json_t *svc);
/* The cluster IP svc holds (not "None", not for ExternalName), or NULL. */
const char *service_held_ip(const json_t *svc);
/* True when svc's type uses node ports and `port` is one of them (a
 * port's nodePort or the healthCheckNodePort). */
bool service_holds_port(const json_t *svc, int port);

/* --- allocation (service_alloc.c) ------------------------------------------- */

#define SERVICE_MAX_PORTS 128

/* What one write took, so a failed write can give it back. */
struct service_txn {
	char ip[16];                   /* "" when no address was taken */
	int ports[SERVICE_MAX_PORTS];  /* node ports taken */
	size_t n_ports;
	bool dry_run;                  /* nothing was written */
};

/* Allocates what `svc` needs and `old` (NULL on create) does not hold:
 * its cluster IP (fills spec.clusterIP, clusterIPs, ipFamilies,
 * ipFamilyPolicy) and node ports (fills spec.ports[].nodePort and
 * healthCheckNodePort).  dry_run checks without recording.  MK_OK, or an
 * error with the call's answer set and nothing kept. */
int service_allocate(struct api_call *c, json_t *svc, const json_t *old, bool dry_run,
		     struct service_txn *t);
/* Gives back what service_allocate took (the write failed). */
void service_rollback(struct store *st, const json_t *svc, struct service_txn *t);
/* After `old` was replaced by `svc` (NULL: deleted): frees what old held
 * and svc does not, if the records still name old's uid. */
void service_release(struct store *st, const json_t *old, const json_t *svc);

/* --- records (service_records.c) ------------------------------------------------ */

enum service_rec { SERVICE_REC_IP, SERVICE_REC_PORT };

/* The record keys (store.h's key rules); MK_EINVAL if too long. */
int service_ip_key(char *out, size_t len, const char *ip);
int service_port_key(char *out, size_t len, int port);
/* The key of offset `off` of the address (or port) range. */
int service_rec_key(const struct service_ranges *r, enum service_rec k, size_t off, char *out,
		    size_t len);
/* A record's value for `svc` (malloc'd JSON text); NULL without memory. */
char *service_record(const json_t *svc, size_t *len);
/* True when the record at key names `uid` (*rev, if not NULL, gets its
 * revision); false when absent, another's or unreadable. */
bool service_record_owned(struct store *st, const char *key, const char *uid, int64_t *rev);
/* Initialises m for the range of kind k and marks every recorded offset
 * (one store listing).  MK_OK (the caller alloc_map_free's m) or an error
 * (m freed). */
int service_load_map(struct store *st, const struct service_ranges *r, enum service_rec k,
		     struct alloc_map *m);

/* --- repair (service_repair.c) --------------------------------------------------- */

/* Records whose Service is gone (for longer than a grace period, so an
 * allocation whose Service is being written is never taken away) are
 * dropped; Services whose addresses or ports have no record get one.
 * Idempotent; safe with other API servers doing the same. */
void service_repair(struct store *st, const struct service_ranges *r);

/* --- the `kubernetes` Service (kubernetes_service.c) -------------------------------- */

/* Renews this API server's lease (its advertised address and port), makes
 * sure the `kubernetes` Service exists in `default` with the range's
 * first address, and writes its Endpoints and EndpointSlice with the
 * addresses of every API server whose lease is alive. */
void kubernetes_service_sync(struct api_server *s, struct store *st);
/* On shutdown: drops this server's lease and its address from the
 * endpoints (so clients stop being sent to it). */
void kubernetes_service_leave(struct api_server *s, struct store *st);

#endif
