/*
 * What the controllers share (controllers.h is the public face).
 *
 * Life of a controller (manager.c drives it, in this order):
 *   1. its def's create() allocates it, registers its handlers on the
 *      shared informers it needs (ctrl_watch) and fills in its loop;
 *   2. the manager starts every informer somebody watches (one list +
 *      watch per collection, however many controllers read it);
 *   3. the manager starts each loop's workers;
 *   4. on stop: informers are cancelled, loops are shut down and their
 *      workers joined (a sync in progress still reads the caches), then
 *      the informers are stopped and freed (no handler runs after that),
 *      then the loops freed and destroy() called.
 * So a handler may use its queue, and a sync may read any informer it
 * registered for, without further checks.
 */
#ifndef MK_CONTROLLERS_INTERNAL_H
#define MK_CONTROLLERS_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "../kube/events.h"
#include "../kube/informer.h"
#include "controllers.h"
#include "workqueue.h"

#define CTRL_LOG "controllers"

/* --- shared informers ---------------------------------------------------- */

enum ctrl_informer_id {
	INF_PODS,
	INF_NODES,
	INF_NAMESPACES,
	INF_SERVICEACCOUNTS,
	INF_REPLICASETS,
	INF_DEPLOYMENTS,
	INF_DAEMONSETS,
	INF_STATEFULSETS,
	INF_CONTROLLERREVISIONS,
	INF_JOBS,
	INF_CRONJOBS,
	INF_SERVICES,
	INF_ENDPOINTS,
	INF_ENDPOINTSLICES,
	INF_PVCS,
	INF_NODE_LEASES,
	INF_PVS,
	N_CTRL_INFORMERS
};

#define CTRL_MAX_HANDLERS 16

struct ctrl_handler {
	kube_informer_fn fn;
	void *arg;
};

struct shared_informer {
	struct kube_informer *inf; /* NULL until started, or when nobody watches */
	struct ctrl_handler handlers[CTRL_MAX_HANDLERS];
	int n_handlers;
	bool wanted; /* read by a controller, even without a handler */
};

/* --- a controller's work loop ---------------------------------------------- */

/* A queue of keys and the workers that sync them.  sync returns MK_OK (the
 * key is forgotten) or an error (the key is retried with back-off); it may
 * also wq_add_after its own key to look again later (a timer). */
struct ctrl_loop {
	const char *name;          /* "deployment-controller": also the Events' component */
	struct workqueue *queue;
	struct kube_events *events;
	int (*sync)(void *self, const char *key);
	void *self;
	int n_threads; /* wanted; 0: the manager's default */
	pthread_t *workers;
	int n_workers;
};

struct controllers;

struct controller_def {
	const char *name;
	/* Allocates the controller, registers its handlers, returns its loop
	 * (owned by the controller) or NULL with errmsg. */
	struct ctrl_loop *(*create)(struct controllers *c, char *errmsg, size_t len);
	/* Frees what create made; the loop is stopped by then. */
	void (*destroy)(struct ctrl_loop *loop);
};

struct controllers {
	struct kube_client *client;
	int workers;
	int64_t node_grace_ms; /* heartbeats missing this long: the node is unreachable */
	struct shared_informer informers[N_CTRL_INFORMERS];
	const struct controller_def **defs;
	struct ctrl_loop **loops;
	size_t n_loops;
};

/* Registers fn on informer id (before the informers start; at most
 * CTRL_MAX_HANDLERS each).  MK_OK or MK_ETOOBIG. */
int ctrl_watch(struct controllers *c, enum ctrl_informer_id id, kube_informer_fn fn, void *arg);
/* Marks informer id as read without a handler. */
void ctrl_want(struct controllers *c, enum ctrl_informer_id id);
/* The started informer (NULL before start or if nobody asked for it). */
struct kube_informer *ctrl_informer(struct controllers *c, enum ctrl_informer_id id);

int ctrl_informers_start(struct controllers *c, char *errmsg, size_t len);
/* Asks every informer to stop, without waiting: their caches stay
 * readable until ctrl_informers_stop, which joins and frees them. */
void ctrl_informers_cancel(struct controllers *c);
void ctrl_informers_stop(struct controllers *c);

/* Makes the queue and the Event recorder.  MK_OK or an error with errmsg
 * (then ctrl_loop_free cleans up). */
int ctrl_loop_init(struct ctrl_loop *l, struct controllers *c, const char *name,
		   int (*sync)(void *self, const char *key), void *self, char *errmsg, size_t len);
int ctrl_loop_start(struct ctrl_loop *l, int threads, char *errmsg, size_t len);
/* Shuts the queue down and joins the workers (NULL-safe, idempotent). */
void ctrl_loop_stop(struct ctrl_loop *l);
/* Frees the queue and the recorder; after ctrl_loop_stop (NULL-safe). */
void ctrl_loop_free(struct ctrl_loop *l);

/* --- expectations ----------------------------------------------------------- */

/* Creations and deletions a controller made and has not yet seen come
 * back through its informer (client-go's "expectations"): until they do,
 * the cache undercounts or overcounts, and scaling again would overshoot. */
struct expectations {
	pthread_mutex_t lock;
	json_t *pending; /* key -> {"adds": n, "dels": n, "at": ms} */
};

void expect_init(struct expectations *e);
void expect_free(struct expectations *e);
void expect_set(struct expectations *e, const char *key, int adds, int dels);
void expect_observed(struct expectations *e, const char *key, bool added);
/* True when nothing is pending for key (or what is pending is older than
 * the timeout, so a lost event cannot stall the controller forever). */
bool expect_satisfied(struct expectations *e, const char *key);

/* --- object helpers (objects.c) -------------------------------------------- */

/* obj[k] as a string, NULL when absent or not a string. */
const char *ctrl_str(const json_t *obj, const char *k);
/* metadata.k as a string. */
const char *ctrl_meta(const json_t *obj, const char *k);
/* The controller ownerReference of obj (the one with controller: true),
 * or NULL. */
json_t *controller_ref(json_t *obj);
/* True when obj's controller ownerReference has this kind and uid. */
bool controlled_by(json_t *obj, const char *kind, const char *uid);
/* The namespace/name key of the object that controls obj, if it has this
 * kind; false otherwise. */
bool controller_key(json_t *obj, const char *kind, char *out, size_t len);
/* "namespace/name" of obj into out. */
void object_key(json_t *obj, char *out, size_t len);
/* The API path of an object: group_version "/api/v1" or "/apis/apps/v1",
 * resource plural, ns NULL for cluster-scoped; segments escaped. */
void ctrl_object_path(const char *group_version, const char *resource, const char *ns,
		      const char *name, char *out, size_t len);
/* Splits "namespace/name"; false when malformed. */
bool split_key(const char *key, char *ns, size_t ns_len, char *name, size_t name_len);
/* Milliseconds since the epoch of an RFC 3339 time, or 0. */
int64_t ctrl_parse_time(const char *rfc3339);
/* Now as RFC 3339 (seconds), into out[32]. */
void ctrl_now(char *out, size_t len);
int64_t ctrl_now_ms(void);

/* Drops nulls, empty objects and empty arrays, recursively: upstream
 * compares typed objects, where `creationTimestamp: null` (which kubectl
 * sends back on `rollout undo`), {} and absence are all the same. */
void ctrl_normalize(json_t *v);
/* Upstream's template hashes (pod-template-hash, controller-revision-hash):
 * FNV-1a 32 of v (here its canonical JSON) and the collision count, the
 * decimal digits mapped to an alphabet without vowels so that no word is
 * ever spelt. */
void ctrl_hash(const json_t *v, int64_t collisions, char *out, size_t len);

/* --- pods (pods.c) ---------------------------------------------------------- */

/* Not terminating, not Succeeded, not Failed. */
bool pod_active(const json_t *pod);
bool pod_ready(const json_t *pod);
/* Ready for at least min_ready_s seconds at now_ms. */
bool pod_available(const json_t *pod, int64_t min_ready_s, int64_t now_ms);
/* Lower ranks are deleted first when scaling down (upstream's ranking,
 * simplified): not on a node, not running, not ready, then newest. */
int pod_compare_for_deletion(const void *a, const void *b);

/* A pod from a template (spec.template of a workload) controlled by owner
 * (apiVersion/kind as given).  name: the pod's name, or NULL for
 * "<owner name>-" generateName.  A new reference. */
json_t *pod_from_template(const json_t *owner, const char *api_version, const char *kind,
			  const json_t *template_, const char *name);
/* POST the pod into its namespace; *name_out (if not NULL) receives the
 * name it got, in name_len bytes.  MK_OK, or an error with errmsg. */
int pod_create(struct kube_client *client, const json_t *pod, char *name_out, size_t name_len,
	       char *errmsg, size_t len);
/* DELETE ns/name (a missing pod is MK_OK). */
int pod_delete(struct kube_client *client, const char *ns, const char *name, char *errmsg,
	       size_t len);

/* --- status writes -------------------------------------------------------------- */

/* Merge-patches obj's /status subresource with {"status": status} unless
 * obj's status already has every field of status with the same value.
 * collection: e.g. "/apis/apps/v1" + "replicasets".  Steals status. */
int ctrl_patch_status(struct kube_client *client, const char *group_version,
		      const char *resource, const json_t *obj, json_t *status);

#endif
