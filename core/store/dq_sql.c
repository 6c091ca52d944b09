/* dqlite client: SQL requests (see dq_client.h). */
#include <stdlib.h>
#include <string.h>

#include "../base/err.h"
#include "dq_client_internal.h"

/* ---- SQL ---- */

static int decode_result(struct dq_client *c, struct dq_result *res)
{
	struct dq_cursor cur = dq_cursor_init(c->in.data, c->in.len);
	struct dq_result tmp;
	if (dq_get_u64(&cur, &tmp.last_insert_id) != MK_OK ||
	    dq_get_u64(&cur, &tmp.rows_affected) != MK_OK) {
		dq_client_disconnect(c);
		return dq_fail(c, MK_EPROTO, "malformed RESULT response");
	}
	if (res)
		*res = tmp;
	return MK_OK;
}

void dq_rows_free(struct dq_rows *r)
{
	if (r == NULL)
		return;
	if (r->columns)
		for (unsigned i = 0; i < r->ncols; i++)
			free(r->columns[i]);
	free(r->columns);
	free(r->values);
	for (size_t i = 0; i < r->npages_; i++)
		mk_buf_free(&r->pages_[i]);
	free(r->pages_);
	memset(r, 0, sizeof *r);
}

/* Takes ownership of `page` as the rows' newest page. */
static int rows_keep_page(struct dq_rows *r, struct mk_buf *page)
{
	struct mk_buf *p = realloc(r->pages_, (r->npages_ + 1) * sizeof *p);
	if (p == NULL)
		return MK_ENOMEM;
	r->pages_ = p;
	p[r->npages_++] = *page;
	*page = (struct mk_buf)MK_BUF_INIT;
	return MK_OK;
}

static int rows_push(struct dq_rows *r, const struct dq_value *vals, size_t *cap)
{
	if (r->nrows == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		struct dq_value *v = realloc(r->values, ncap * r->ncols * sizeof *v);
		if (v == NULL)
			return MK_ENOMEM;
		r->values = v;
		*cap = ncap;
	}
	memcpy(&r->values[r->nrows * r->ncols], vals, r->ncols * sizeof *vals);
	r->nrows++;
	return MK_OK;
}

/* After a QUERY was sent: gathers every ROWS page.  When max_rows is
 * reached with pages still to come, sends INTERRUPT and drains until the
 * server's EMPTY so that the connection stays in step. */
static int receive_rows(struct dq_client *c, size_t max_rows, struct dq_rows *r)
{
	memset(r, 0, sizeof *r);
	const char **names = malloc(DQ_MAX_COLUMNS * sizeof *names);
	struct dq_value *row = malloc(DQ_MAX_COLUMNS * sizeof *row);
	struct mk_buf page = MK_BUF_INIT;
	size_t cap = 0;
	int rv = MK_ENOMEM;
	if (names == NULL || row == NULL)
		goto out;
	for (;;) {
		uint8_t type;
		rv = dq_recv_message(c, &page, &type);
		if (rv != MK_OK)
			goto out;
		if (type == DQ_RESP_FAILURE) {
			rv = dq_failure(c, &page);
			goto out;
		}
		if (type != DQ_RESP_ROWS) {
			dq_client_disconnect(c);
			rv = dq_fail(c, MK_EPROTO, "response type %u, expected ROWS", type);
			goto out;
		}
		struct dq_cursor cur = dq_cursor_init(page.data, page.len);
		unsigned ncols;
		if (dq_rows_begin(&cur, &ncols, names) != MK_OK ||
		    (r->columns != NULL && ncols != r->ncols))
			goto err_proto;
		if (r->columns == NULL) {
			r->ncols = ncols;
			r->columns = calloc(ncols, sizeof *r->columns);
			if (r->columns == NULL) {
				rv = MK_ENOMEM;
				goto out;
			}
			for (unsigned i = 0; i < ncols; i++)
				if ((r->columns[i] = strdup(names[i])) == NULL) {
					rv = MK_ENOMEM;
					goto out;
				}
		}
		enum dq_rows_step step;
		for (;;) {
			if (dq_rows_next(&cur, ncols, row, &step) != MK_OK)
				goto err_proto;
			if (step != DQ_ROWS_ROW)
				break;
			if (max_rows && r->nrows >= max_rows) {
				r->interrupted = true;
				continue;
			}
			if ((rv = rows_push(r, row, &cap)) != MK_OK)
				goto out;
		}
		if ((rv = rows_keep_page(r, &page)) != MK_OK)
			goto out;
		if (step == DQ_ROWS_DONE)
			break;
		if (max_rows && r->nrows >= max_rows) {
			r->interrupted = true;
			rv = dq_msg_begin(&c->out);
			if (rv == MK_OK)
				rv = dq_put_u64(&c->out, c->db_id);
			if (rv != MK_OK)
				goto out;
			dq_msg_end(&c->out, DQ_REQ_INTERRUPT);
			if ((rv = dq_send_request(c)) != MK_OK)
				goto out;
			do {
				if ((rv = dq_recv_message(c, &page, &type)) != MK_OK)
					goto out;
			} while (type == DQ_RESP_ROWS);
			if (type != DQ_RESP_EMPTY)
				goto err_proto;
			break;
		}
	}
	rv = MK_OK;
	goto out;

err_proto:
	dq_client_disconnect(c);
	rv = dq_fail(c, MK_EPROTO, "malformed ROWS response");
out:
	mk_buf_free(&page);
	free(names);
	free(row);
	if (rv != MK_OK)
		dq_rows_free(r);
	return rv;
}

/* Builds a request on SQL text: u64 db, text sql, then the parameters
 * (PREPARE has none). */
static int sql_request(struct dq_client *c, const char *sql, const struct dq_value *params,
		       size_t n, enum dq_request type)
{
	int rv = dq_ensure_db(c);
	if (rv != MK_OK)
		return rv;
	rv = dq_msg_begin(&c->out);
	if (rv == MK_OK)
		rv = dq_put_u64(&c->out, c->db_id);
	if (rv == MK_OK)
		rv = dq_put_text(&c->out, sql);
	if (rv == MK_OK)
		rv = dq_put_params(&c->out, params, n);
	if (rv != MK_OK)
		return dq_fail(c, rv, "cannot encode request");
	dq_msg_end(&c->out, type);
	return MK_OK;
}

int dq_prepare(struct dq_client *c, const char *sql, struct dq_stmt *stmt)
{
	int rv = sql_request(c, sql, NULL, 0, DQ_REQ_PREPARE);
	if (rv == MK_OK)
		rv = dq_roundtrip(c, DQ_RESP_STMT);
	if (rv != MK_OK)
		return rv;
	struct dq_cursor cur = dq_cursor_init(c->in.data, c->in.len);
	if (dq_get_u32_pair(&cur, &stmt->db_id, &stmt->id) != MK_OK ||
	    dq_get_u64(&cur, &stmt->n_params) != MK_OK || stmt->n_params > 255) {
		dq_client_disconnect(c);
		return dq_fail(c, MK_EPROTO, "malformed STMT response");
	}
	stmt->read_only = dq_sql_is_read_only(sql);
	stmt->generation = c->generation;
	return MK_OK;
}

static int stmt_request(struct dq_client *c, const struct dq_stmt *stmt,
			const struct dq_value *params, size_t n, enum dq_request type)
{
	if (c->fd < 0 || stmt->generation != c->generation)
		return dq_fail(c, MK_EINVAL, "statement belongs to a closed connection");
	if (n != stmt->n_params)
		return dq_fail(c, MK_EINVAL, "statement takes %llu parameters, %zu given",
			    (unsigned long long)stmt->n_params, n);
	int rv = dq_msg_begin(&c->out);
	if (rv == MK_OK)
		rv = dq_put_u32_pair(&c->out, stmt->db_id, stmt->id);
	if (rv == MK_OK)
		rv = dq_put_params(&c->out, params, n);
	if (rv != MK_OK)
		return dq_fail(c, rv, "cannot encode parameters");
	dq_msg_end(&c->out, type);
	return MK_OK;
}

int dq_exec_stmt(struct dq_client *c, const struct dq_stmt *stmt,
		 const struct dq_value *params, size_t n, struct dq_result *res)
{
	int rv = stmt_request(c, stmt, params, n, DQ_REQ_EXEC);
	if (rv == MK_OK)
		rv = dq_roundtrip(c, DQ_RESP_RESULT);
	return rv == MK_OK ? decode_result(c, res) : rv;
}

int dq_query_stmt(struct dq_client *c, const struct dq_stmt *stmt,
		  const struct dq_value *params, size_t n, size_t max_rows,
		  struct dq_rows *rows)
{
	if (!stmt->read_only)
		return dq_fail(c, MK_EINVAL, "only a SELECT may be sent as QUERY");
	int rv = stmt_request(c, stmt, params, n, DQ_REQ_QUERY);
	if (rv == MK_OK)
		rv = dq_send_request(c);
	return rv == MK_OK ? receive_rows(c, max_rows, rows) : rv;
}

int dq_finalize(struct dq_client *c, const struct dq_stmt *stmt)
{
	if (c->fd < 0 || stmt->generation != c->generation)
		return dq_fail(c, MK_EINVAL, "statement belongs to a closed connection");
	int rv = dq_msg_begin(&c->out);
	if (rv == MK_OK)
		rv = dq_put_u32_pair(&c->out, stmt->db_id, stmt->id);
	if (rv != MK_OK)
		return dq_fail(c, rv, "out of memory");
	dq_msg_end(&c->out, DQ_REQ_FINALIZE);
	rv = dq_roundtrip(c, DQ_RESP_EMPTY);
	/* Forget it in the cache too, so it is never EXECuted again. */
	for (size_t i = 0; rv == MK_OK && i < c->n_cache; i++) {
		if (c->cache[i].stmt.id == stmt->id) {
			free(c->cache[i].sql);
			c->cache[i] = c->cache[--c->n_cache];
			break;
		}
	}
	return rv;
}

/* Returns the cached statement for `sql`, preparing it if needed. */
static int cached(struct dq_client *c, const char *sql, struct dq_stmt *out)
{
	int rv = dq_ensure_db(c);
	if (rv != MK_OK)
		return rv;
	for (size_t i = 0; i < c->n_cache; i++) {
		if (strcmp(c->cache[i].sql, sql) == 0) {
			*out = c->cache[i].stmt;
			return MK_OK;
		}
	}
	if ((rv = dq_prepare(c, sql, out)) != MK_OK)
		return rv;
	if (c->n_cache == DQ_STMT_CACHE)
		return MK_OK; /* full: the statement still works, uncached */
	char *copy = strdup(sql);
	if (copy == NULL)
		return MK_OK;
	c->cache[c->n_cache].sql = copy;
	c->cache[c->n_cache].stmt = *out;
	c->n_cache++;
	return MK_OK;
}

int dq_exec(struct dq_client *c, const char *sql, const struct dq_value *params,
	    size_t n, struct dq_result *res)
{
	struct dq_stmt stmt;
	int rv = cached(c, sql, &stmt);
	return rv == MK_OK ? dq_exec_stmt(c, &stmt, params, n, res) : rv;
}

int dq_query(struct dq_client *c, const char *sql, const struct dq_value *params,
	     size_t n, size_t max_rows, struct dq_rows *rows)
{
	if (!dq_sql_is_read_only(sql))
		return dq_fail(c, MK_EINVAL, "only a SELECT may be sent as QUERY");
	struct dq_stmt stmt;
	int rv = cached(c, sql, &stmt);
	return rv == MK_OK ? dq_query_stmt(c, &stmt, params, n, max_rows, rows) : rv;
}


int dq_exec_sql(struct dq_client *c, const char *sql, const struct dq_value *params,
		size_t n, struct dq_result *res)
{
	int rv = sql_request(c, sql, params, n, DQ_REQ_EXEC_SQL);
	if (rv == MK_OK)
		rv = dq_roundtrip(c, DQ_RESP_RESULT);
	return rv == MK_OK ? decode_result(c, res) : rv;
}

int dq_query_sql(struct dq_client *c, const char *sql, const struct dq_value *params,
		 size_t n, size_t max_rows, struct dq_rows *rows)
{
	if (!dq_sql_is_read_only(sql))
		return dq_fail(c, MK_EINVAL, "only a SELECT may be sent as QUERY");
	int rv = sql_request(c, sql, params, n, DQ_REQ_QUERY_SQL);
	if (rv == MK_OK)
		rv = dq_send_request(c);
	return rv == MK_OK ? receive_rows(c, max_rows, rows) : rv;
}
