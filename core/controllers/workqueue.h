/*
 * A work queue of object keys ("namespace/name"), the way client-go's
 * rate-limited queue works:
 *
 *   - a key queued twice before a worker takes it is processed once;
 *   - a key is never processed by two workers at once: added while in
 *     process, it is queued again when the worker is done;
 *   - wq_add_after delays a key (a retry with back-off, a timer).
 *
 * Controllers are level-triggered: the key says what to look at, never
 * what changed.
 *
 * Threading: every function may be called from any thread.  wq_get blocks
 * until a key is ready or the queue is shut down.
 */
#ifndef MK_CONTROLLERS_WORKQUEUE_H
#define MK_CONTROLLERS_WORKQUEUE_H

#include <stdbool.h>
#include <stdint.h>

struct workqueue;

struct workqueue *wq_new(void);
/* Wakes every wq_get (which then return false); frees nothing. */
void wq_shutdown(struct workqueue *q);
/* After every worker returned from wq_get for good. */
void wq_free(struct workqueue *q);

void wq_add(struct workqueue *q, const char *key);
void wq_add_after(struct workqueue *q, const char *key, int64_t delay_ms);

/* Takes the next ready key into *key (malloc'd, the caller frees it after
 * wq_done).  false once the queue is shut down. */
bool wq_get(struct workqueue *q, char **key);
/* The worker is finished with key (re-queues it if it was added meanwhile). */
void wq_done(struct workqueue *q, const char *key);

/* Failures of key in a row: wq_retry delays it 5 ms * 2^n, at most 60 s;
 * wq_forget resets the count after a success. */
void wq_retry(struct workqueue *q, const char *key);
void wq_forget(struct workqueue *q, const char *key);

#endif
