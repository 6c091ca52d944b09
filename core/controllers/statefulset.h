/*
 * The StatefulSet controller's parts:
 *
 *   statefulset.c       the controller: ordered (or parallel) creation and
 *                       scale-down, rolling updates from the highest
 *                       ordinal down to the partition, status
 *   statefulset_pods.c  a replica's identity: its name <set>-<ordinal>,
 *                       hostname and subdomain, labels, and the
 *                       PersistentVolumeClaims of volumeClaimTemplates
 */
#ifndef MK_CONTROLLERS_STATEFULSET_H
#define MK_CONTROLLERS_STATEFULSET_H

#include <stdint.h>

#include <jansson.h>

#include "controllers_internal.h"

#define STS_POD_NAME_LABEL "statefulset.kubernetes.io/pod-name"
#define STS_POD_INDEX_LABEL "apps.kubernetes.io/pod-index"

/* The ordinal in a pod name "<set>-<n>", or -1 when name is not one of set's. */
int64_t sts_ordinal(const char *set, const char *name);

/* The pod for ordinal made from template (the one of its revision),
 * labelled with the revision; a new reference. */
json_t *sts_pod(const json_t *set, const json_t *template_, const char *revision, int64_t ordinal);

/* Creates the replica's PersistentVolumeClaims that do not exist yet.
 * MK_OK or an error for a retry. */
int sts_claims(struct controllers *c, struct kube_events *events, const json_t *set,
	       int64_t ordinal);

#endif
