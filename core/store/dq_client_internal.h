/*
 * Internals shared by the dqlite client's files: dq_client.c (connection,
 * transport, leader discovery), dq_sql.c (SQL requests and rows) and
 * dq_member.c (node and membership requests).  Not an interface.
 */
#ifndef MK_STORE_DQ_CLIENT_INTERNAL_H
#define MK_STORE_DQ_CLIENT_INTERNAL_H

#include "dq_client.h"

/* Responses above this size are refused as garbage.  The largest legitimate
 * ones are DUMPs of the whole database, which we keep far below it. */
#define DQ_MAX_BODY ((size_t)1 << 30)
#define DQ_STMT_CACHE 48

/* SQLite extended codes that dqlite uses for cluster conditions. */
#define SQLITE_IOERR_NOT_LEADER 10250
#define SQLITE_IOERR_LEADERSHIP_LOST 10506

struct cached_stmt {
	char *sql;
	struct dq_stmt stmt;
};

struct dq_client {
	char **members;
	size_t n_members;
	char *database;
	bool direct;
	int connect_timeout_ms;
	int request_timeout_ms;
	int discovery_timeout_ms;

	int fd; /* -1 while disconnected */
	char address[64];
	uint64_t generation;
	bool db_open;
	uint32_t db_id;

	struct mk_buf out;
	struct mk_buf in;
	struct cached_stmt cache[DQ_STMT_CACHE];
	size_t n_cache;

	uint64_t last_code;
	char errmsg[512];
	int fault_type;       /* tests: lose the answer to the nth request */
	int fault_nth;        /* of this type (see dq_client_fault_lose_answer) */
};

/* Records a one-line explanation and returns err. */
int dq_fail(struct dq_client *c, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Sends c->out; MK_EIO (connection dropped) on failure. */
int dq_send_request(struct dq_client *c);
/* Receives one message into `in`; *type is its response type. */
int dq_recv_message(struct dq_client *c, struct mk_buf *in, uint8_t *type);
/* Maps a FAILURE body to an MK_E* code. */
int dq_failure(struct dq_client *c, const struct mk_buf *in);
/* Sends c->out, receives a response of type `expect` into c->in. */
int dq_roundtrip(struct dq_client *c, uint8_t expect);
/* LEADER asked of the connected node. */
int dq_ask_leader(struct dq_client *c, uint64_t *id, char *addr, size_t len);
/* Connects on demand and OPENs the database (SQL requests need it). */
int dq_ensure_db(struct dq_client *c);

#endif
