/*
 * The scheduler's insides (scheduler.h is the public face).
 *
 *   pod_info.c      a pod as the scheduler sees it, parsed once: requests,
 *                   host ports, pod (anti-)affinity terms, owner
 *   node_info.c     a node and the pods on it (bound or assumed), with the
 *                   sums the filters need
 *   node_filters.c  NodeUnschedulable, NodeName, TaintToleration,
 *                   NodeAffinity (nodeSelector and required terms)
 *   fit.c           NodeResourcesFit, NodePorts
 *   interpod.c      InterPodAffinity, filter and score
 *   spread.c        PodTopologySpread: DoNotSchedule constraints as a
 *                   filter, the others and the default constraints (same
 *                   controller, same Service) as a score
 *   score.c         the other scores, their weights, the choice of a node
 *   cycle.c         one pod through the filters and scores
 *   message.c       upstream's "0/3 nodes are available: ..." text
 *   queue.c         the pods waiting to be placed, with back-off
 *   cache.c         nodes and the pods on them, assume / forget
 *   scheduler.c, bind.c   informers, the scheduling thread, the binders
 *
 * Everything but scheduler.c and bind.c is single-threaded: the caller
 * holds the scheduler's lock.  The filters, scores, cycle and message are
 * pure functions of JSON objects, so unit tests drive them directly.
 *
 * Filter order, reasons and status codes are kube-scheduler 1.32's (the
 * codes decide the preemption half of the message: an "unresolvable" node
 * is one where "Preemption is not helpful for scheduling").
 */
#ifndef MK_SCHED_INTERNAL_H
#define MK_SCHED_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "node_match.h"

#define SCHED_LOG "scheduler"
#define SCHED_NAME "default-scheduler"

struct label_selector;

/* --- pods -------------------------------------------------------------------- */

struct sched_resources {
	int64_t milli_cpu;
	int64_t memory;    /* bytes */
	int64_t ephemeral; /* bytes */
};

struct sched_port {
	char ip[48];       /* "0.0.0.0" when the pod names none */
	char protocol[8];  /* TCP when the pod names none */
	int port;
};

/* A pod (anti-)affinity term.  Borrowed strings point into the pod. */
struct sched_term {
	struct label_selector *selector;    /* NULL: selects no pod */
	const char *topology_key;
	const json_t *namespaces;           /* the term's list, or NULL */
	struct label_selector *ns_selector; /* namespaceSelector, or NULL */
	int weight;                         /* preferred terms; 1 for required */
};

struct sched_terms {
	struct sched_term *v;
	size_t n;
};

/* What the scheduler needs of a pod, parsed once when it is seen. */
struct sched_pod {
	json_t *obj; /* a reference */
	const char *ns, *name, *uid;
	const json_t *labels;
	struct sched_resources req;     /* max(containers + sidecars, init) + overhead */
	struct sched_resources nonzero; /* the same with 100m / 200Mi for unset cpu / memory */
	struct sched_port *ports;
	size_t n_ports;
	const char *owner_uid; /* the controller ownerReference's uid, or NULL */
	struct sched_terms affinity, anti_affinity;           /* required */
	struct sched_terms pref_affinity, pref_anti_affinity; /* preferred, weighted */
	char node[254];  /* the node it is bound or assumed on, "" for neither */
	bool assumed;    /* placed by us, not yet seen bound */
	bool bound;      /* the binding call succeeded (assumed pods) */
	char error[256]; /* why a term did not parse (it then selects nothing), or "" */
};

/* Parses obj (kept with a reference).  MK_OK (a term whose selector does
 * not parse is noted in p->error), or MK_ENOMEM with errmsg. */
int sched_pod_new(json_t *obj, struct sched_pod **out, char *errmsg, size_t len);
void sched_pod_free(struct sched_pod *p);
/* Requests of a pod spec as the scheduler counts them (nonzero: 100m cpu
 * and 200 MiB memory stand in for unset ones, for scoring only). */
void sched_pod_requests(const json_t *spec, struct sched_resources *req,
			struct sched_resources *nonzero);
/* The pod has any pod (anti-)affinity term. */
bool sched_pod_has_terms(const struct sched_pod *p);
/* The term selects pod p (namespace and labels); owner_ns is the namespace
 * of the pod the term belongs to. */
typedef const json_t *(*sched_ns_labels_fn)(void *arg, const char *ns);
bool sched_term_matches(const struct sched_term *t, const char *owner_ns,
			const struct sched_pod *p, sched_ns_labels_fn ns_labels, void *ns_arg);

/* --- nodes --------------------------------------------------------------------- */

struct sched_node {
	json_t *obj; /* a reference */
	const char *name;
	const json_t *labels;
	struct sched_resources alloc;
	int64_t alloc_pods;
	struct sched_resources requested, nonzero_requested;
	struct sched_pod **pods; /* borrowed: the cache owns them */
	size_t n_pods, cap_pods;
};

int sched_node_new(json_t *obj, struct sched_node **out);
/* A new version of the Node object; the pods stay. */
void sched_node_update(struct sched_node *n, json_t *obj);
void sched_node_free(struct sched_node *n);
int sched_node_add_pod(struct sched_node *n, struct sched_pod *p);
void sched_node_remove_pod(struct sched_node *n, struct sched_pod *p);

/* --- one scheduling cycle -------------------------------------------------------- */

/* What a cycle sees. */
struct sched_cluster {
	struct sched_node **nodes;
	size_t n_nodes;
	const json_t *services;     /* Service objects for default spreading, or NULL */
	sched_ns_labels_fn ns_labels; /* labels of a namespace, or NULL */
	void *ns_arg;
	size_t n_pods_with_terms;   /* pods on nodes with pod (anti-)affinity terms */
};

enum sched_code { SCHED_FIT = 0, SCHED_UNSCHEDULABLE, SCHED_UNRESOLVABLE };

#define SCHED_REASONS 4
#define SCHED_REASON_LEN 336

/* Why a node does not fit: upstream's plugin status, code and reasons. */
struct sched_status {
	enum sched_code code;
	int n;
	char reason[SCHED_REASONS][SCHED_REASON_LEN];
};

/* node_filters.c, fit.c: each returns the code it also stores in st. */
enum sched_code sched_filter_unschedulable(const struct sched_pod *p, const struct sched_node *n,
					   struct sched_status *st);
enum sched_code sched_filter_node_name(const struct sched_pod *p, const struct sched_node *n,
				       struct sched_status *st);
enum sched_code sched_filter_taints(const struct sched_pod *p, const struct sched_node *n,
				    struct sched_status *st);
enum sched_code sched_filter_node_affinity(const struct sched_pod *p, const struct sched_node *n,
					   struct sched_status *st);
enum sched_code sched_filter_ports(const struct sched_pod *p, const struct sched_node *n,
				   struct sched_status *st);
enum sched_code sched_filter_resources(const struct sched_pod *p, const struct sched_node *n,
				       struct sched_status *st);

/* Tolerations and node selectors (node_filters.c; node_match.h has the
 * ones the controllers share). */
/* One nodeSelectorTerm (matchExpressions and matchFields, ANDed; an empty
 * term matches nothing). */
bool sched_node_term_matches(const json_t *term, const json_t *node);

/* interpod.c: state computed once per cycle from every pod on a node. */
struct sched_interpod;
int sched_interpod_prepare(const struct sched_cluster *c, const struct sched_pod *p,
			   struct sched_interpod **out);
enum sched_code sched_filter_interpod(const struct sched_interpod *ip, const struct sched_node *n,
				      struct sched_status *st);
/* Scores (0-100) of the feasible nodes. */
void sched_score_interpod(const struct sched_interpod *ip, struct sched_node **nodes, size_t n,
			  int64_t *out);
void sched_interpod_free(struct sched_interpod *ip);

/* spread.c: topologySpreadConstraints of the pod, or the default ones. */
struct sched_spread;
int sched_spread_prepare(const struct sched_cluster *c, const struct sched_pod *p,
			 struct sched_spread **out);
enum sched_code sched_filter_spread(const struct sched_spread *sp, const struct sched_node *n,
				    struct sched_status *st);
/* Scores (0-100) of the feasible nodes. */
void sched_score_spread(const struct sched_spread *sp, struct sched_node **nodes, size_t n,
			int64_t *out);
void sched_spread_free(struct sched_spread *sp);

/* score.c: scores (0-100) of the feasible nodes, each plugin's own
 * normalisation applied. */
void sched_score_node_affinity(const struct sched_pod *p, struct sched_node **nodes, size_t n,
			       int64_t *out);
void sched_score_taints(const struct sched_pod *p, struct sched_node **nodes, size_t n,
			int64_t *out);
void sched_score_least_allocated(const struct sched_pod *p, struct sched_node **nodes, size_t n,
				 int64_t *out);
void sched_score_balanced(const struct sched_pod *p, struct sched_node **nodes, size_t n,
			  int64_t *out);
/* Upstream's DefaultNormalizeScore: scaled to 0-100 by the maximum,
 * reversed (100 - x) when asked. */
void sched_normalize(int64_t *scores, size_t n, bool reverse);
/* Index of the highest total; ties broken at random (reservoir sampling
 * with *rng, an xorshift state that must not be 0). */
size_t sched_select(const int64_t *totals, size_t n, uint64_t *rng);

/* cycle.c: filters then scores.  On success *chosen is the node and
 * *message NULL; when no node fits, *chosen is NULL and *message
 * (malloc'd) the FitError text for the PodScheduled condition; *reason
 * then says "Unschedulable" or, with no nodes at all, "SchedulerError".
 * MK_OK, or MK_ENOMEM. */
int sched_schedule_one(const struct sched_cluster *c, const struct sched_pod *p, uint64_t *rng,
		       struct sched_node **chosen, char **message, const char **reason);

/* message.c: upstream's FitError text from every node's status, with the
 * preemption half for a pod that may (or, preemptionPolicy Never, may
 * not) preempt.  malloc'd; NULL when out of memory. */
char *sched_fit_message(size_t n_nodes, const struct sched_status *st, size_t n,
			bool may_preempt);

/* --- the queue (queue.c) ------------------------------------------------------------ */

enum sched_qstate { Q_ACTIVE, Q_BACKOFF, Q_INFLIGHT };

struct sched_qentry {
	char *key;   /* "namespace/name" */
	json_t *pod; /* the latest version seen */
	int attempts;
	int64_t backoff_until; /* monotonic ms */
	enum sched_qstate state;
	struct sched_qentry *prev, *next; /* the active FIFO */
};

struct sched_queue;

struct sched_queue *sched_queue_new(void);
void sched_queue_free(struct sched_queue *q);
/* A pod to place, new or changed.  A changed spec or labels moves a
 * backing-off pod to the front of the line.  MK_OK or MK_ENOMEM. */
int sched_queue_upsert(struct sched_queue *q, const char *key, json_t *pod);
void sched_queue_remove(struct sched_queue *q, const char *key);
/* The next pod whose turn it is (now: monotonic ms), marked in flight, or
 * NULL; *wait_ms then says how long until a back-off ends (-1: none). */
struct sched_qentry *sched_queue_pop(struct sched_queue *q, int64_t now, int64_t *wait_ms);
/* The pod in flight was placed: forgotten. */
void sched_queue_done(struct sched_queue *q, struct sched_qentry *e);
/* The pod in flight did not fit: back off 1 s doubling to 10 s (or
 * until sched_queue_move_all). */
void sched_queue_failed(struct sched_queue *q, struct sched_qentry *e, int64_t now);
/* A pod whose binding failed: back off before the next try (it is added
 * when missing). */
int sched_queue_delay(struct sched_queue *q, const char *key, json_t *pod, int64_t now);
/* A node came or changed, a pod went: everyone backing off tries again. */
void sched_queue_move_all(struct sched_queue *q);
size_t sched_queue_len(const struct sched_queue *q);
/* The back-off after `attempts` failures, in ms. */
int64_t sched_backoff_ms(int attempts);

/* --- the cache (cache.c) ------------------------------------------------------------- */

struct sched_cache;

struct sched_cache *sched_cache_new(void);
void sched_cache_free(struct sched_cache *c);
/* *changed: the node is new, or what the filters read of it changed. */
int sched_cache_set_node(struct sched_cache *c, json_t *node, bool *changed);
void sched_cache_remove_node(struct sched_cache *c, const char *name);
/* A pod the informer shows on a node (not finished): added or updated;
 * an assumed pod is confirmed. */
int sched_cache_set_pod(struct sched_cache *c, const char *key, json_t *pod);
void sched_cache_remove_pod(struct sched_cache *c, const char *key);
/* Counts p (now owned by the cache) on node at once. */
int sched_cache_assume(struct sched_cache *c, const char *key, struct sched_pod *p,
		       const char *node);
/* The binding of key finished (it stays assumed until seen bound). */
void sched_cache_bound(struct sched_cache *c, const char *key);
/* Drops an assumed pod whose binding failed. */
void sched_cache_forget(struct sched_cache *c, const char *key);
/* Assumed or seen on a node. */
bool sched_cache_has_pod(struct sched_cache *c, const char *key);
/* The cycle's view; valid until the cache changes. */
void sched_cache_cluster(struct sched_cache *c, struct sched_cluster *out);

#endif
