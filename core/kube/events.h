/*
 * An Event recorder for mk's components (node agent, controllers,
 * scheduler), as client-go's: `kubectl describe` and `kubectl get events`
 * tell the story of an object.
 *
 * A repeat of the same reason and message about the same object bumps the
 * existing Event's count instead of making a new one (client-go's event
 * correlator aggregates the same way).
 *
 * Recording is off the caller's path: kube_event queues, one recorder
 * thread talks to the API, so reconciling never waits for its Events.
 * Events are best effort: a full queue drops (and counts) them, a failure
 * to record one is logged at debug level and forgotten.
 *
 * Threading: kube_event may be called from any thread, also while
 * kube_events_stop runs (then the Event is dropped).
 */
#ifndef MK_KUBE_EVENTS_H
#define MK_KUBE_EVENTS_H

#include <stddef.h>

#include <jansson.h>

struct kube_client;
struct kube_events;

/* component: source.component and reportingComponent ("kubelet",
 * "deployment-controller", "default-scheduler"); host: source.host and
 * reportingInstance, or NULL.  Both are copied. */
int kube_events_start(struct kube_client *client, const char *component, const char *host,
		      struct kube_events **out, char *errmsg, size_t len);
/* Gives queued Events up to two seconds to be written, then frees (NULL-safe). */
void kube_events_stop(struct kube_events *r);

/* Queues an Event about obj (any object with metadata; its apiVersion and
 * kind name it).  type "Normal" or "Warning"; fieldpath may be NULL. */
void kube_event(struct kube_events *r, const json_t *obj, const char *type, const char *reason,
		const char *fieldpath, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

#endif
