/*
 * Shared between the store's files (store.c, store_write.c, store_watch.c,
 * store_maintain.c); not part of the store's interface.
 */
#ifndef MK_STORE_STORE_INTERNAL_H
#define MK_STORE_STORE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "dq_client.h"
#include "store.h"

struct write_op;
struct store_watch;

struct store {
	struct store_config cfg;
	char **members;
	char *database;
	char *local_address;

	/* Read connections, handed out one per call. */
	pthread_mutex_t pool_lock;
	pthread_cond_t pool_cond;
	struct dq_client **idle;
	size_t n_idle;
	size_t n_open;

	/* Writer: a queue of operations drained by one thread that owns the
	 * write connection (group commit). */
	pthread_mutex_t write_lock;
	pthread_cond_t write_cond; /* queue non-empty, or stopping */
	pthread_cond_t done_cond;  /* some operation finished */
	struct write_op *queue_head;
	struct write_op *queue_tail;
	bool writer_stopping;
	uint64_t nonce_prefix;
	int64_t writer_seen_rev; /* writer thread only: newest own revision */
	_Atomic uint64_t nonce_counter;
	int fault_type, fault_nth; /* tests: armed on write_conn by the next group */
	pthread_t writer;
	struct dq_client *write_conn;

	/* Watch hub. */
	pthread_mutex_t hub_lock;
	pthread_cond_t hub_cond;
	bool hub_kick;
	int64_t hub_rev; /* every event up to here was dispatched */
	struct store_watch *watchers;
	bool hub_stopping;
	pthread_t hub;
	struct dq_client *hub_conn;

	/* Maintenance: expiry and compaction on the leader. */
	pthread_t maintainer;
	struct dq_client *maintain_conn;
	pthread_mutex_t stop_lock;
	pthread_cond_t stop_cond;
	bool stopping;
};

/* Error message for the calling thread (store_last_error). */
int store_fail(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

int64_t store_now_ms(void);        /* unix ms */
int64_t store_monotonic_ms(void);  /* for deadlines */
void store_sleep_ms(int ms);
/* Sleeps up to ms unless the store is stopping; true if stopping. */
bool store_wait_stop(struct store *s, int ms);

/* A new client on the store's members. */
int store_client_new(struct store *s, struct dq_client **out);
/* Errors after which retrying on a new connection may succeed. */
bool store_err_retryable(int err);

/* Read connection pool. */
struct dq_client *store_pool_get(struct store *s);
void store_pool_put(struct store *s, struct dq_client *c);

/* Runs a read query with retries across leader changes. */
int store_read(struct store *s, const char *sql, const struct dq_value *params,
	       size_t n, size_t max_rows, struct dq_rows *rows);

/* The smallest string above every key that starts with `prefix`
 * (malloc'd). */
char *store_prefix_end(const char *prefix);

/* Copies a row's column into freshly allocated memory. */
int store_dup_blob(const struct dq_value *v, void **out, size_t *len);
int store_dup_text(const struct dq_value *v, char **out);

/* store_write.c */
int store_writer_start(struct store *s);
void store_writer_stop(struct store *s);

/* Tests: the answer to the next write group's nth request of `type` is
 * lost (see dq_client_fault_lose_answer). */
void store_fault_lose_write_answer(struct store *s, enum dq_request type, int nth);

/* Deletes `key` at revision `rev` although it has expired (expiry). */
int store_delete_expired(struct store *s, const char *key, int64_t rev);

/* store_watch.c */
int store_hub_start(struct store *s, int64_t from_rev);
void store_hub_stop(struct store *s);
void store_hub_kick(struct store *s); /* a local write committed */

/* store_maintain.c */
int store_maintainer_start(struct store *s);
void store_maintainer_stop(struct store *s);
/* Deletes the keys whose TTL has passed. */
int store_expire_now(struct store *s);

/* SQL text shared between files. */
extern const char store_sql_revision[];

#endif
