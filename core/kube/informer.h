/*
 * An informer: list + watch of one kind into a local cache, with change
 * callbacks, the way client-go's shared informers work.
 *
 * A thread of its own lists the objects (with the query, e.g. a field
 * selector), tells on_event about every object that is new, changed or
 * gone since the cache last saw it, then watches from the list's
 * resourceVersion.  When the watch ends it resumes from the last version
 * seen; when the server says that version is too old (410 Gone) it lists
 * again, so no change is ever missed, only coalesced: consumers must be
 * level-triggered (reconcile the object as it is now, not the event).
 *
 * Threading: on_event runs on the informer's thread, one call at a time,
 * and must not block for long (hand work to a queue).  The object passed
 * is borrowed for the call; json_incref it to keep it.  kube_informer_get
 * may be called from any thread.
 */
#ifndef MK_KUBE_INFORMER_H
#define MK_KUBE_INFORMER_H

#include <stdbool.h>

#include <jansson.h>

#include "client.h"

enum kube_event { KUBE_ADDED, KUBE_MODIFIED, KUBE_DELETED };

typedef void (*kube_informer_fn)(void *arg, enum kube_event type, json_t *obj);

struct kube_informer_config {
	struct kube_client *client;
	const char *path;   /* collection path, e.g. "/api/v1/pods" */
	const char *query;  /* extra query without '?', e.g. "fieldSelector=...", or NULL */
	kube_informer_fn on_event;
	void *arg;
	const char *name;   /* for log lines, e.g. "pods" */
};

struct kube_informer;

int kube_informer_start(const struct kube_informer_config *cfg, struct kube_informer **out,
			char *errmsg, size_t len);
/* Asks the thread to stop without waiting (NULL-safe): cancel several
 * informers first, then stop each, and they wind down together. */
void kube_informer_cancel(struct kube_informer *inf);
/* Stops the thread (within about a second) and frees everything. */
void kube_informer_stop(struct kube_informer *inf);

/* The cached object namespace/name (namespace "" for cluster-scoped), as a
 * new reference, or NULL. */
json_t *kube_informer_get(struct kube_informer *inf, const char *ns, const char *name);
/* Every cached object, as a new array (caller json_decref). */
json_t *kube_informer_list(struct kube_informer *inf);
/* How many objects the cache holds. */
size_t kube_informer_size(struct kube_informer *inf);
/* True once the first list has been delivered. */
bool kube_informer_synced(struct kube_informer *inf);

#endif
