/*
 * What the Job controller's files share (job.c: the controller, its
 * handlers, finished/deleted/orphaned Jobs, TTL-after-finished;
 * job_sync.c: one sync of a running Job; job_pods.c: making and removing
 * pods; job_counts.c: completed indexes and the failure back-off;
 * job_status.c: counting finished pods and writing the status).
 *
 * Counting finished pods, as upstream does since 1.26: every pod is made
 * with the batch.kubernetes.io/job-tracking finalizer, so that it cannot
 * vanish before it is counted.  A pod that finished (or is being deleted
 * without having succeeded) goes into status.uncountedTerminatedPods
 * first (status write), then loses its finalizer, then moves from there to
 * status.succeeded/failed (status write).  A pod without the finalizer has
 * been counted, whatever happens to it later; a crash between the steps
 * repeats the remaining ones.  Status writes carry the resourceVersion the
 * sync started from, so a sync working on a stale cache gets 409 and is
 * retried instead of counting twice; the finalizer removals this process
 * sent but has not seen come back through the pod informer are remembered
 * (rm_pending) for the same reason.
 *
 * Threading: handlers run on the informers' threads, syncs on the loop's
 * workers (one per key at a time); rm_pending and backoff are shared by
 * all of them under `lock`.
 */
#ifndef MK_CONTROLLERS_JOB_INTERNAL_H
#define MK_CONTROLLERS_JOB_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "controllers_internal.h"

#define JOB_FINALIZER "batch.kubernetes.io/job-tracking"
#define JOB_INDEX_KEY "batch.kubernetes.io/job-completion-index"
/* Upstream's limits: pods made or removed per sync, UIDs in
 * status.uncountedTerminatedPods. */
#define JOB_MAX_BURST 100
#define JOB_MAX_UNCOUNTED 500

struct job_controller {
	struct ctrl_loop loop;
	struct controllers *ctl;
	struct expectations expect; /* pod creations and deletions per Job key */
	pthread_mutex_t lock;
	json_t *rm_pending; /* pod uid -> Job key: finalizer removal sent, not yet seen */
	json_t *backoff;    /* Job key -> {"failures": n, "last": ms}: pod failure back-off */
};

/* A terminal condition to reach: SuccessCriteriaMet then Complete, or
 * FailureTarget then Failed.  type NULL: not finished. */
struct job_finish {
	const char *type; /* "SuccessCriteriaMet", "Complete", "FailureTarget", "Failed" */
	char reason[64];
	char message[128];
};

/* One sync's view of a Job (upstream's syncJobCtx). */
struct job_ctx {
	struct job_controller *c;
	const char *key;
	json_t *job;    /* own copy; kind and apiVersion set (Events need them) */
	json_t *status; /* own copy of job.status, edited, written as a whole */
	char rv[32];    /* resourceVersion the next status write expects */
	json_t *all;    /* the pod cache's list (owns the pods below) */
	json_t **pods;  /* pods the Job controls */
	size_t n_pods;
	json_t **active; /* not finished, not being deleted */
	size_t n_active;
	int64_t ready, terminating;
	json_t *unc_succeeded, *unc_failed; /* uid -> true */
	json_t *expected_rm;                /* uid -> true: finalizer removal in flight */
	int64_t succeeded, failed;
	bool indexed, suspended, deleting;
	int64_t completions; /* -1: unset */
	int64_t parallelism;
	unsigned char *done_idx, *prev_idx; /* Indexed: succeeded indexes (completions bytes) */
	struct job_finish fin;
	/* The back-off record this sync would store (job_counts.c). */
	int64_t bo_failures, bo_last_ms;
};

/* Queue keys of orphaned pods (a Job key never has a space). */
#define ORPHAN_PREFIX "pod "

/* --- job.c ------------------------------------------------------------------ */

bool job_has_finalizer(const json_t *pod);
/* Upstream's isPodFailed: Failed, or being deleted without having
 * succeeded (an orphan never reaches Failed). */
bool job_pod_failed(const json_t *pod);
/* The condition of that type in status.conditions, or NULL. */
json_t *job_condition(const json_t *status, const char *type);
/* Sets condition type (appending it unless cstatus is "False"); true when
 * the list changed.  Times are now. */
bool job_ensure_condition(json_t *status, const char *type, const char *cstatus,
			  const char *reason, const char *message);

/* --- job_sync.c --------------------------------------------------------------- */

/* Syncs a Job that has not finished (job, a copy, is taken).  MK_OK or an
 * error to retry. */
int job_sync_live(struct job_controller *c, const char *key, json_t *job);

/* --- job_counts.c ------------------------------------------------------------ */

/* The pod's completion index, or -1. */
int64_t job_pod_index(const json_t *pod);
/* Fills done_idx from status.completedIndexes and the succeeded pods. */
void job_indexes_load(struct job_ctx *x);
/* "0-2,5" for done_idx, into a new string (caller frees). */
char *job_indexes_string(const unsigned char *idx, int64_t n);
/* Computes the back-off record this sync's new failures make (not stored
 * until job_backoff_store). */
void job_backoff_update(struct job_ctx *x);
void job_backoff_store(struct job_ctx *x);
void job_backoff_forget(struct job_controller *c, const char *key);
/* How long new pods must still wait after the last failures (ms). */
int64_t job_backoff_left(const struct job_ctx *x);

/* --- job_pods.c -------------------------------------------------------------- */
/* Brings the active pods to what the spec wants (upstream's manageJob);
 * returns the active count after it, *err the first error. */
int64_t job_manage(struct job_ctx *x, int *err);
/* Deletes the active pods (finalizers kept: they are counted as failed).
 * Returns how many went; *ready_gone how many of them were ready. */
int64_t job_delete_active(struct job_ctx *x, int64_t *ready_gone, int *err);
/* Removes the tracking finalizer from a pod (a missing pod is MK_OK). */
int job_remove_finalizer(struct job_controller *c, const json_t *pod);

/* --- job_status.c ------------------------------------------------------------- */

/* Counts finished pods, removes their finalizers, adds the terminal
 * conditions, writes the status (upstream's
 * trackJobStatusAndRemoveFinalizers).  MK_OK or an error to retry. */
int job_track_status(struct job_ctx *x, bool needs_flush);
/* PATCHes status with the resourceVersion precondition; x->rv follows. */
int job_write_status(struct job_ctx *x);

#endif
