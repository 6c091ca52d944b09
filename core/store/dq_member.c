/* dqlite client: node and membership requests (see dq_client.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/err.h"
#include "dq_client_internal.h"

/* ---- node and membership ---- */

/* A request whose body is the given u64 words, expecting `expect`. */
static int simple(struct dq_client *c, enum dq_request type, const uint64_t *words,
		  size_t n, uint8_t expect)
{
	int rv = dq_client_connect(c);
	if (rv != MK_OK)
		return rv;
	rv = dq_msg_begin(&c->out);
	for (size_t i = 0; rv == MK_OK && i < n; i++)
		rv = dq_put_u64(&c->out, words[i]);
	if (rv != MK_OK)
		return dq_fail(c, rv, "out of memory");
	dq_msg_end(&c->out, type);
	return dq_roundtrip(c, expect);
}

int dq_hello(struct dq_client *c, uint64_t client_id, uint64_t *heartbeat_ms)
{
	int rv = simple(c, DQ_REQ_CLIENT, &client_id, 1, DQ_RESP_WELCOME);
	if (rv != MK_OK)
		return rv;
	struct dq_cursor cur = dq_cursor_init(c->in.data, c->in.len);
	uint64_t hb;
	if (dq_get_u64(&cur, &hb) != MK_OK) {
		dq_client_disconnect(c);
		return dq_fail(c, MK_EPROTO, "malformed WELCOME response");
	}
	if (heartbeat_ms)
		*heartbeat_ms = hb;
	return MK_OK;
}

int dq_leader(struct dq_client *c, uint64_t *id, char *address, size_t len)
{
	int rv = dq_client_connect(c);
	return rv == MK_OK ? dq_ask_leader(c, id, address, len) : rv;
}

int dq_cluster(struct dq_client *c, struct dq_server **servers, size_t *n)
{
	uint64_t format = 1;
	int rv = simple(c, DQ_REQ_CLUSTER, &format, 1, DQ_RESP_SERVERS);
	if (rv != MK_OK)
		return rv;
	struct dq_cursor cur = dq_cursor_init(c->in.data, c->in.len);
	uint64_t count;
	if (dq_get_u64(&cur, &count) != MK_OK || count > c->in.len / 24)
		goto err_proto;
	struct dq_server *s = calloc(count ? count : 1, sizeof *s);
	if (s == NULL)
		return dq_fail(c, MK_ENOMEM, "out of memory");
	for (uint64_t i = 0; i < count; i++) {
		const char *addr;
		uint64_t role;
		if (dq_get_u64(&cur, &s[i].id) != MK_OK ||
		    dq_get_text(&cur, &addr, NULL) != MK_OK ||
		    dq_get_u64(&cur, &role) != MK_OK || role > DQ_SPARE) {
			free(s);
			goto err_proto;
		}
		snprintf(s[i].address, sizeof s[i].address, "%s", addr);
		s[i].role = (enum dq_role)role;
	}
	*servers = s;
	*n = (size_t)count;
	return MK_OK;

err_proto:
	dq_client_disconnect(c);
	return dq_fail(c, MK_EPROTO, "malformed SERVERS response");
}

int dq_add(struct dq_client *c, uint64_t id, const char *address)
{
	int rv = dq_client_connect(c);
	if (rv != MK_OK)
		return rv;
	rv = dq_msg_begin(&c->out);
	if (rv == MK_OK)
		rv = dq_put_u64(&c->out, id);
	if (rv == MK_OK)
		rv = dq_put_text(&c->out, address);
	if (rv != MK_OK)
		return dq_fail(c, rv, "out of memory");
	dq_msg_end(&c->out, DQ_REQ_ADD);
	return dq_roundtrip(c, DQ_RESP_EMPTY);
}

int dq_assign(struct dq_client *c, uint64_t id, enum dq_role role)
{
	uint64_t w[2] = {id, (uint64_t)role};
	return simple(c, DQ_REQ_ASSIGN, w, 2, DQ_RESP_EMPTY);
}

int dq_remove(struct dq_client *c, uint64_t id)
{
	return simple(c, DQ_REQ_REMOVE, &id, 1, DQ_RESP_EMPTY);
}

int dq_transfer(struct dq_client *c, uint64_t id)
{
	return simple(c, DQ_REQ_TRANSFER, &id, 1, DQ_RESP_EMPTY);
}

int dq_describe(struct dq_client *c, uint64_t *failure_domain, uint64_t *weight)
{
	uint64_t format = 0;
	int rv = simple(c, DQ_REQ_DESCRIBE, &format, 1, DQ_RESP_METADATA);
	if (rv != MK_OK)
		return rv;
	struct dq_cursor cur = dq_cursor_init(c->in.data, c->in.len);
	if (dq_get_u64(&cur, failure_domain) != MK_OK || dq_get_u64(&cur, weight) != MK_OK) {
		dq_client_disconnect(c);
		return dq_fail(c, MK_EPROTO, "malformed METADATA response");
	}
	return MK_OK;
}

int dq_weight(struct dq_client *c, uint64_t weight)
{
	return simple(c, DQ_REQ_WEIGHT, &weight, 1, DQ_RESP_EMPTY);
}

void dq_files_free(struct dq_file *files, size_t n)
{
	for (size_t i = 0; files && i < n; i++)
		free(files[i].data);
	free(files);
}

int dq_dump(struct dq_client *c, const char *database, struct dq_file **files, size_t *n)
{
	int rv = dq_client_connect(c);
	if (rv != MK_OK)
		return rv;
	rv = dq_msg_begin(&c->out);
	if (rv == MK_OK)
		rv = dq_put_text(&c->out, database);
	if (rv != MK_OK)
		return dq_fail(c, rv, "out of memory");
	dq_msg_end(&c->out, DQ_REQ_DUMP);
	if ((rv = dq_roundtrip(c, DQ_RESP_FILES)) != MK_OK)
		return rv;
	struct dq_cursor cur = dq_cursor_init(c->in.data, c->in.len);
	uint64_t count;
	if (dq_get_u64(&cur, &count) != MK_OK || count > 16)
		goto err_proto;
	struct dq_file *f = calloc(count ? count : 1, sizeof *f);
	if (f == NULL)
		return dq_fail(c, MK_ENOMEM, "out of memory");
	for (uint64_t i = 0; i < count; i++) {
		const char *name;
		uint64_t len;
		if (dq_get_text(&cur, &name, NULL) != MK_OK || dq_get_u64(&cur, &len) != MK_OK ||
		    len > cur.len - cur.off) {
			dq_files_free(f, (size_t)count);
			goto err_proto;
		}
		snprintf(f[i].name, sizeof f[i].name, "%s", name);
		f[i].len = (size_t)len;
		f[i].data = malloc(f[i].len ? f[i].len : 1);
		if (f[i].data == NULL) {
			dq_files_free(f, (size_t)count);
			return dq_fail(c, MK_ENOMEM, "out of memory");
		}
		memcpy(f[i].data, cur.p + cur.off, f[i].len);
		cur.off += f[i].len;
	}
	*files = f;
	*n = (size_t)count;
	return MK_OK;

err_proto:
	dq_client_disconnect(c);
	return dq_fail(c, MK_EPROTO, "malformed FILES response");
}

const char *dq_role_name(enum dq_role role)
{
	switch (role) {
	case DQ_VOTER:
		return "voter";
	case DQ_STANDBY:
		return "standby";
	case DQ_SPARE:
		return "spare";
	}
	return "unknown";
}

int dq_role_parse(const char *name, enum dq_role *role)
{
	for (int r = DQ_VOTER; r <= DQ_SPARE; r++) {
		if (strcmp(name, dq_role_name((enum dq_role)r)) == 0) {
			*role = (enum dq_role)r;
			return MK_OK;
		}
	}
	return MK_EINVAL;
}
