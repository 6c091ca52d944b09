/*
 * What the Endpoints and EndpointSlice controllers share: which pods back
 * a Service, which port a Service port reaches on each of them, and which
 * Services a pod event concerns (k8s.io/kubernetes pkg/controller/util/
 * endpoint and endpointslice/util).
 *
 * Threading: svc_index is locked inside; the rest is pure over the
 * objects it is given (informer copies).
 */
#ifndef MK_CONTROLLERS_ENDPOINTS_COMMON_H
#define MK_CONTROLLERS_ENDPOINTS_COMMON_H

#include <pthread.h>
#include <stdbool.h>

#include <jansson.h>

#include "../kube/informer.h"
#include "workqueue.h"

#define LABEL_SERVICE_NAME "kubernetes.io/service-name"
#define LABEL_HEADLESS "service.kubernetes.io/headless"
#define ANNOTATION_TRIGGER_TIME "endpoints.kubernetes.io/last-change-trigger-time"

/* The Services that select pods, and which of them each pod matched
 * when last seen, so that a pod whose labels changed also wakes the
 * Services it no longer matches (informers hand over the new object
 * only).  Fed by the controller's own handlers: a handler must not read
 * another informer, which may not have started yet. */
struct svc_index {
	pthread_mutex_t lock;
	json_t *services; /* "ns/service" -> the Service, if it selects */
	json_t *pods;     /* "ns/pod" -> ["ns/service", ...] */
};

void svc_index_init(struct svc_index *ix);
void svc_index_free(struct svc_index *ix);
/* A Service event (call before queueing the Service). */
void svc_index_service_event(struct svc_index *ix, enum kube_event type, json_t *svc);
/* Queues every Service that selects `pod` now or did at its previous
 * event; a DELETED pod is forgotten. */
void svc_index_pod_event(struct svc_index *ix, struct workqueue *q, enum kube_event type,
			 const json_t *pod);

/* A Service whose endpoints a controller writes: it has a non-empty
 * selector and is not of type ExternalName. */
bool service_selects(const json_t *svc);
/* True when every selector label of svc is on pod, in svc's namespace. */
bool service_matches_pod(const json_t *svc, const json_t *pod);
/* The pods (from the `pods` cache) that svc selects, sorted by name; a new
 * array. */
json_t *service_pods(struct kube_informer *pods, const json_t *svc);

/* ShouldPodBeInEndpoints: not Succeeded/Failed, has an IP and a node,
 * and, unless include_terminating, no deletionTimestamp. */
bool pod_in_endpoints(const json_t *pod, bool include_terminating);
/* podutil.FindPort: the number a Service port's targetPort reaches on
 * pod (a name is looked up in its containers' ports with the same
 * protocol); -1 when the pod has no such port. */
int service_target_port(const json_t *pod, const json_t *svc_port);
/* ShouldSetHostname: pod.spec.hostname when pod.spec.subdomain names
 * this Service, else NULL. */
const char *pod_hostname_for(const json_t *pod, const json_t *svc);
/* A pod's IPv4 address (status.podIP). */
const char *pod_ip(const json_t *pod);

/* The newest change among svc and its pods (creation, Ready transition),
 * RFC 3339, for ANNOTATION_TRIGGER_TIME; "" when none. */
void endpoints_trigger_time(const json_t *svc, const json_t *pods, char out[32]);

#endif
