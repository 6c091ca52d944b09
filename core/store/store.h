/*
 * The object store: a replicated, revisioned key/value store on dqlite that
 * holds every Kubernetes object (kine's idea, reference/dqlite.md §6, done
 * with a table of live rows so that reads never scan history).
 *
 * Model (etcd-like, which is what the API server needs):
 *   - every write appends a row to the revision log; its id is the new
 *     cluster-wide revision; the live table points at each key's newest row;
 *   - create fails if the key exists; update and delete take the revision
 *     the caller last saw (0 = any) and fail with MK_ECONFLICT if it moved;
 *   - a key may carry a TTL: once it passes, reads no longer see the key
 *     and the leader deletes it (watchers get DELETED);
 *   - list is by key prefix, paginated, and every page of one listing is
 *     read at the same revision (MK_ECOMPACTED once that revision is gone);
 *   - watch delivers ADDED / MODIFIED / DELETED events after a revision, in
 *     revision order, with the old and new value;
 *   - compaction drops history older than the newest `compact_retain`
 *     revisions, on the leader, in small transactions.
 *
 * Durability: a write returns once dqlite committed it (raft quorum,
 * fsynced).  Concurrent writes from many threads are grouped into one
 * transaction (group commit); each keeps its own outcome.  If leadership is
 * lost mid-commit the store finds out whether the write landed (each write
 * carries a unique nonce) before retrying it, so a write is never applied
 * twice.  Operations retry across leader changes for up to op_timeout_ms.
 *
 * Threading: every function is thread-safe and blocking; a store runs three
 * threads of its own (writer, watch hub, maintenance).  The API server calls
 * it from worker threads and learns of watch events through
 * store_watch_fd().
 *
 * Errors: 0 or MK_E*; store_last_error() gives the calling thread a one-line
 * explanation of its last failure.
 */
#ifndef MK_STORE_STORE_H
#define MK_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Values are capped like etcd's: dqlite 1.11 fails rewriting rows of a few
 * MB (reference §5 item 2). */
#define STORE_MAX_VALUE (1536 * 1024)
#define STORE_MAX_KEY 1024

struct store;
struct store_watch;

struct store_config {
	const char *const *members; /* dqlite addresses to find the leader */
	size_t n_members;
	const char *database;      /* NULL: "mk" */
	/* Address of the dqlite node embedded in this process, or NULL.
	 * Expiry and compaction run only in the process whose node leads. */
	const char *local_address;
	int poll_interval_ms;    /* how often to look for other nodes' writes; 500 */
	int compact_interval_ms; /* 300000 */
	int64_t compact_retain;  /* revisions kept by periodic compaction; 1000 */
	int op_timeout_ms;       /* retry budget of one operation; 15000 */
	int max_pool;            /* read connections; 8 */
};

struct store_kv {
	char *key;
	void *value; /* NULL for a deleted key in events */
	size_t len;
	int64_t rev;        /* revision of the last change */
	int64_t create_rev; /* revision that created it */
	int64_t expires_ms; /* unix time in ms, 0 = no TTL */
};

struct store_list {
	struct store_kv *items;
	size_t n;
	int64_t rev; /* the revision every page of this listing is read at */
	bool more;   /* further keys after items[n-1] */
};

enum store_event_type { STORE_ADDED = 1, STORE_MODIFIED = 2, STORE_DELETED = 3 };

struct store_event {
	enum store_event_type type;
	struct store_kv kv;  /* value is the new value; NULL for DELETED */
	void *old_value;     /* previous value; NULL for ADDED */
	size_t old_len;
	int64_t prev_rev;
};

int store_open(const struct store_config *config, struct store **out);
void store_close(struct store *s);

const char *store_last_error(void);

/* Writes.  `ttl_ms` 0 = no expiry.  *rev (may be NULL) gets the new
 * revision.  MK_EEXISTS, MK_ENOTFOUND, MK_ECONFLICT, MK_ETOOBIG, MK_EINVAL
 * leave the store unchanged. */
int store_create(struct store *s, const char *key, const void *value, size_t len,
		 int64_t ttl_ms, int64_t *rev);
int store_update(struct store *s, const char *key, const void *value, size_t len,
		 int64_t ttl_ms, int64_t expected_rev, int64_t *rev);
int store_delete(struct store *s, const char *key, int64_t expected_rev, int64_t *rev);

/* Reads, always from the leader (linearizable). */
int store_get(struct store *s, const char *key, struct store_kv *kv);
/* Keys starting with `prefix`, in key order, after `after_key` (NULL: from
 * the start) at revision `at_rev` (0: now).  limit 0 = everything.  To get
 * the next page pass the last key and out->rev. */
int store_list(struct store *s, const char *prefix, const char *after_key,
	       int64_t at_rev, size_t limit, struct store_list *out);
int store_revision(struct store *s, int64_t *rev, int64_t *compacted);

/* Compacts history up to `target` now (clamped below the current revision).
 * Periodic compaction calls this; so may an operator. */
int store_compact(struct store *s, int64_t target);

/* Watch the keys under `prefix` for changes after `after_rev`
 * (STORE_WATCH_NOW: from the current revision; 0: the whole history).
 * MK_ECOMPACTED if after_rev is older than the compacted revision. */
#define STORE_WATCH_NOW (-1)
int store_watch(struct store *s, const char *prefix, int64_t after_rev,
		struct store_watch **out);
/* Next event, waiting up to timeout_ms (-1 forever).  MK_ETIMEDOUT when
 * none came; MK_EOVERFLOW when the watcher fell more than 10000 events
 * behind (its earlier events are still delivered first); MK_ECLOSED once
 * the store is closing. */
int store_watch_next(struct store_watch *w, int timeout_ms, struct store_event *ev);
/* An eventfd that is readable while events are queued (for poll loops). */
int store_watch_fd(const struct store_watch *w);
void store_watch_close(struct store_watch *w);

void store_kv_free(struct store_kv *kv);
void store_list_free(struct store_list *l);
void store_event_free(struct store_event *ev);

/* Kubernetes object keys: /registry/<group>/<resource>/[<namespace>/]<name>,
 * group "core" for the legacy group.  `name` NULL gives the listing prefix
 * (ending in '/').  MK_EINVAL if a part is empty, contains '/', or the key
 * would be too long. */
int store_key(char *out, size_t len, const char *group, const char *resource,
	      const char *ns, const char *name);

#endif
