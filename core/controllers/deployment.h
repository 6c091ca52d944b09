/*
 * The Deployment controller's parts (deployment*.c), as upstream's
 * pkg/controller/deployment:
 *
 *   deployment.c             the controller: handlers, one sync per key,
 *                            RollingUpdate and Recreate, history cleanup
 *   deployment_replicasets.c the ReplicaSets of a Deployment: template hash,
 *                            the new one (created or adopted), revisions,
 *                            scaling
 *   deployment_status.c      status counts and the Available / Progressing
 *                            conditions `kubectl rollout status` reads
 *
 * A sync sees the Deployment and its ReplicaSets as the informers hold
 * them and works on borrowed references; every write goes through the API
 * (a conflict is retried by the queue with the next, fresher, cache).
 */
#ifndef MK_CONTROLLERS_DEPLOYMENT_H
#define MK_CONTROLLERS_DEPLOYMENT_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "controllers_internal.h"

#define REVISION_ANNOTATION "deployment.kubernetes.io/revision"
#define REVISION_HISTORY_ANNOTATION "deployment.kubernetes.io/revision-history"
#define DESIRED_REPLICAS_ANNOTATION "deployment.kubernetes.io/desired-replicas"
#define MAX_REPLICAS_ANNOTATION "deployment.kubernetes.io/max-replicas"
#define TEMPLATE_HASH_LABEL "pod-template-hash"

struct deployment_controller {
	struct ctrl_loop loop;
	struct controllers *ctl;
};

/* One Deployment being synced and its ReplicaSets. */
struct rollout {
	struct deployment_controller *c;
	json_t *d;        /* the Deployment (borrowed from the sync) */
	const char *ns, *name, *uid;
	json_t *sets;     /* array of its ReplicaSets (owned) */
	json_t *new_rs;   /* the one whose template is the Deployment's, or NULL (borrowed) */
	int64_t replicas; /* spec.replicas */
	int64_t max_surge, max_unavailable;
	bool new_rs_created; /* in this sync */
};

int64_t rs_replicas(const json_t *rs);    /* spec.replicas */
int64_t rs_status(const json_t *rs, const char *field); /* status.<field> */
int64_t rs_revision(const json_t *rs);

/* deployment_replicasets.c */
/* Fills r->sets with the ReplicaSets controlled by the Deployment. */
int rollout_collect(struct rollout *r);
/* Finds the new ReplicaSet (template equal to the Deployment's, ignoring
 * the hash label); with create, makes it (revision max+1) when missing and
 * bumps an old one brought back by `rollout undo` to max+1.  A new one
 * starts with initial replicas. */
int rollout_new_rs(struct rollout *r, bool create, int64_t initial);
/* Sets rs's spec.replicas (and the desired/max annotations); records a
 * ScalingReplicaSet Event.  MK_OK or an error for a retry. */
int rollout_scale(struct rollout *r, json_t *rs, int64_t to);
/* Deletes the oldest ReplicaSets that have no pods left, beyond
 * spec.revisionHistoryLimit. */
void rollout_cleanup(struct rollout *r);
/* The new ReplicaSet carries the Deployment's annotations, and the
 * Deployment the new ReplicaSet's revision. */
void rollout_sync_annotations(struct rollout *r);

/* deployment_status.c */
/* Writes status and conditions; returns a delay (ms) after which the
 * Deployment must be looked at again (progress deadline), or 0. */
int64_t rollout_update_status(struct rollout *r);
/* Old ReplicaSets' replicas, and whether every pod is updated and available. */
bool rollout_complete(const struct rollout *r);

#endif
