/*
 * dqlite client: one blocking connection to a dqlite cluster, speaking wire
 * protocol v1 / schema 0 (reference/dqlite.md §2).  libdqlite 1.11 has no
 * client API, so mk speaks the protocol itself.
 *
 * Two modes:
 *   - leader mode (default): the client knows a list of members and finds
 *     the leader itself (go-dqlite's algorithm: ask each member LEADER, use
 *     the connection if the member names itself, else dial the answer),
 *     backing off from 50 ms to 1 s until the discovery deadline;
 *   - direct mode: talk to exactly one node, whatever its role (DESCRIBE,
 *     WEIGHT, DUMP and LEADER are answered by any node).
 *
 * Threading: a client is NOT thread-safe; give each thread its own (the
 * store keeps a pool).  One request is in flight at a time, which is also
 * what the server requires.
 *
 * Errors: functions return 0 or a negative MK_E* code, and leave a one-line
 * explanation in dq_client_errmsg().  FAILURE responses are mapped:
 *   10250 not leader         -> MK_ENOTLEADER (connection dropped; the next
 *                               call rediscovers the leader)
 *   10506 leadership lost    -> MK_EMAYBE (the write may or may not have
 *                               committed; connection dropped)
 *   5/6 busy, locked         -> MK_EBUSY (retry later)
 *   anything else            -> MK_ESQL (dq_client_last_code() has the code)
 * Transport failures give MK_EIO, garbage from the peer MK_EPROTO, and no
 * reachable leader MK_EUNAVAILABLE; all three drop the connection.  The
 * client never retries a request by itself: only its caller knows whether
 * a request is safe to repeat.
 */
#ifndef MK_STORE_DQ_CLIENT_H
#define MK_STORE_DQ_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dq_wire.h"

struct dq_client;

struct dq_client_config {
	const char *const *members; /* "IP:PORT" addresses; copied */
	size_t n_members;
	const char *database;  /* database OPENed for SQL; NULL: "mk" */
	bool direct;           /* talk to members[0] only, never discover */
	int connect_timeout_ms;   /* per dial; default 1000 */
	int request_timeout_ms;   /* per request; default 10000 */
	int discovery_timeout_ms; /* leader search; default 10000 */
};

/* Result of EXEC / EXEC_SQL. */
struct dq_result {
	uint64_t last_insert_id;
	uint64_t rows_affected;
};

/* Rows of a QUERY, all pages gathered.  Values point into memory owned by
 * the struct; release with dq_rows_free(). */
struct dq_rows {
	unsigned ncols;
	char **columns;
	size_t nrows;
	struct dq_value *values; /* row-major: values[row * ncols + col] */
	bool interrupted;        /* max_rows was reached and the rest skipped */
	struct mk_buf *pages_;   /* private */
	size_t npages_;
};

static inline const struct dq_value *dq_rows_at(const struct dq_rows *r, size_t row,
						 unsigned col)
{
	return &r->values[row * r->ncols + col];
}
void dq_rows_free(struct dq_rows *r);

/* A statement prepared on the current connection. */
struct dq_stmt {
	uint32_t db_id;
	uint32_t id;
	uint64_t n_params;
	bool read_only;
	uint64_t generation; /* connection it belongs to */
};

struct dq_server {
	uint64_t id;
	char address[64];
	enum dq_role role;
};

struct dq_file {
	char name[256];
	void *data; /* owned, free() */
	size_t len;
};

int dq_client_open(const struct dq_client_config *config, struct dq_client **out);
void dq_client_close(struct dq_client *c);

/* Connects now (finding the leader in leader mode). Other calls connect on
 * demand, so this is only needed to fail early. */
int dq_client_connect(struct dq_client *c);
void dq_client_disconnect(struct dq_client *c);
bool dq_client_connected(const struct dq_client *c);

const char *dq_client_errmsg(const struct dq_client *c);
/* SQLite extended code of the last FAILURE response (0 if none). */
uint64_t dq_client_last_code(const struct dq_client *c);
/* Address of the node this client is connected to ("" if none). */
const char *dq_client_address(const struct dq_client *c);
/* Increases every time a new connection is made. */
uint64_t dq_client_generation(const struct dq_client *c);

/* Fault injection for tests: the server answers the nth request of `type`
 * from now on, but the answer is lost and the connection dropped (the
 * client reports MK_EIO), as when a leader dies right after committing.
 * nth 0 disables. */
void dq_client_fault_lose_answer(struct dq_client *c, enum dq_request type, int nth);

/* ---- SQL ---- */

/* One statement, prepared once per connection and cached by its text, then
 * EXEC / QUERY.  dq_query refuses anything but a read-only statement
 * (dq_sql_is_read_only) with MK_EINVAL.  max_rows == 0 means no limit;
 * otherwise the rest of a longer result is INTERRUPTed. */
int dq_exec(struct dq_client *c, const char *sql, const struct dq_value *params,
	    size_t n, struct dq_result *res);
int dq_query(struct dq_client *c, const char *sql, const struct dq_value *params,
	     size_t n, size_t max_rows, struct dq_rows *rows);

/* One-shot EXEC_SQL (may hold several statements; params bind to the first)
 * and QUERY_SQL (read-only only). */
int dq_exec_sql(struct dq_client *c, const char *sql, const struct dq_value *params,
		size_t n, struct dq_result *res);
int dq_query_sql(struct dq_client *c, const char *sql, const struct dq_value *params,
		 size_t n, size_t max_rows, struct dq_rows *rows);

/* Explicit statements (dq_exec/dq_query use these through the cache). */
int dq_prepare(struct dq_client *c, const char *sql, struct dq_stmt *stmt);
int dq_exec_stmt(struct dq_client *c, const struct dq_stmt *stmt,
		 const struct dq_value *params, size_t n, struct dq_result *res);
int dq_query_stmt(struct dq_client *c, const struct dq_stmt *stmt,
		  const struct dq_value *params, size_t n, size_t max_rows,
		  struct dq_rows *rows);
int dq_finalize(struct dq_client *c, const struct dq_stmt *stmt);

/* ---- node and membership ---- */

/* CLIENT: registers a client id; returns the server's heartbeat timeout. */
int dq_hello(struct dq_client *c, uint64_t client_id, uint64_t *heartbeat_ms);
/* LEADER as seen by the connected node; id 0 and "" when it knows none. */
int dq_leader(struct dq_client *c, uint64_t *id, char *address, size_t len);
/* CLUSTER (format 1, with roles).  *servers is malloc'd: free() it. */
int dq_cluster(struct dq_client *c, struct dq_server **servers, size_t *n);
int dq_add(struct dq_client *c, uint64_t id, const char *address);
int dq_assign(struct dq_client *c, uint64_t id, enum dq_role role);
int dq_remove(struct dq_client *c, uint64_t id);
int dq_transfer(struct dq_client *c, uint64_t id);
int dq_describe(struct dq_client *c, uint64_t *failure_domain, uint64_t *weight);
int dq_weight(struct dq_client *c, uint64_t weight);
/* DUMP of a database: its file and WAL.  Free with dq_files_free(). */
int dq_dump(struct dq_client *c, const char *database, struct dq_file **files,
	    size_t *n);
void dq_files_free(struct dq_file *files, size_t n);

const char *dq_role_name(enum dq_role role);
int dq_role_parse(const char *name, enum dq_role *role);

#endif
