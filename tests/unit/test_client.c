/*
 * The dqlite client against real libdqlite nodes running in this process,
 * and against fake servers that misbehave.
 */
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../core/base/err.h"
#include "../../core/store/dq_client.h"
#include "support.h"

static struct dq_client *client_for(const char *address, bool direct)
{
	const char *members[] = {address};
	struct dq_client_config cfg = {.members = members, .n_members = 1, .direct = direct,
				       .database = "test", .discovery_timeout_ms = 2000,
				       .request_timeout_ms = 3000};
	struct dq_client *c;
	assert_int_equal(dq_client_open(&cfg, &c), MK_OK);
	return c;
}

static int setup_node(void **state)
{
	struct test_node *n = malloc(sizeof *n);
	test_node_start(n, DQ_BOOTSTRAP_ID);
	*state = n;
	return 0;
}

static int teardown_node(void **state)
{
	test_node_stop(*state);
	free(*state);
	return 0;
}

static void test_every_type_roundtrips(void **state)
{
	struct test_node *n = *state;
	struct dq_client *c = client_for(n->address, false);
	assert_int_equal(dq_exec_sql(c,
				     "CREATE TABLE t (i INTEGER, f REAL, s TEXT, b BLOB, z TEXT,"
				     " d DATETIME, ok BOOLEAN)",
				     NULL, 0, NULL),
			 MK_OK);
	struct dq_value p[7] = {dq_int(-42),
				{.type = DQ_FLOAT, .real = 2.5},
				dq_text("héllo"),
				dq_blob("\0\1\2", 3),
				dq_null(),
				{.type = DQ_ISO8601, .text = "2026-11-28 05:00:00"},
				{.type = DQ_BOOLEAN, .integer = 1}};
	struct dq_result res;
	assert_int_equal(dq_exec(c, "INSERT INTO t VALUES (?, ?, ?, ?, ?, ?, ?)", p, 7, &res),
			 MK_OK);
	assert_int_equal(res.rows_affected, 1);
	assert_int_equal(res.last_insert_id, 1);

	struct dq_rows r;
	assert_int_equal(dq_query(c, "SELECT i, f, s, b, z, d, ok FROM t", NULL, 0, 0, &r), MK_OK);
	assert_int_equal(r.nrows, 1);
	assert_int_equal(r.ncols, 7);
	assert_string_equal(r.columns[2], "s");
	assert_int_equal(dq_rows_at(&r, 0, 0)->integer, -42);
	assert_true(dq_rows_at(&r, 0, 1)->real == 2.5);
	assert_string_equal(dq_rows_at(&r, 0, 2)->text, "héllo");
	assert_int_equal(dq_rows_at(&r, 0, 3)->type, DQ_BLOB);
	assert_int_equal(dq_rows_at(&r, 0, 3)->len, 3);
	assert_memory_equal(dq_rows_at(&r, 0, 3)->blob, "\0\1\2", 3);
	assert_int_equal(dq_rows_at(&r, 0, 4)->type, DQ_NULL);
	/* The server types DATETIME and BOOLEAN columns itself. */
	assert_int_equal(dq_rows_at(&r, 0, 5)->type, DQ_ISO8601);
	assert_int_equal(dq_rows_at(&r, 0, 6)->type, DQ_BOOLEAN);
	assert_int_equal(dq_rows_at(&r, 0, 6)->integer, 1);
	dq_rows_free(&r);

	/* QUERY_SQL with parameters; UNIXTIME comes back for integer dates. */
	struct dq_value q = dq_int(-42);
	assert_int_equal(dq_exec_sql(c, "CREATE TABLE u (d DATETIME); INSERT INTO u VALUES (1700000000)",
				     NULL, 0, NULL),
			 MK_OK);
	assert_int_equal(dq_query_sql(c, "SELECT count(*) FROM t WHERE i = ?", &q, 1, 0, &r), MK_OK);
	assert_int_equal(dq_rows_at(&r, 0, 0)->integer, 1);
	dq_rows_free(&r);
	assert_int_equal(dq_query_sql(c, "SELECT d FROM u", NULL, 0, 0, &r), MK_OK);
	assert_int_equal(dq_rows_at(&r, 0, 0)->type, DQ_UNIXTIME);
	assert_int_equal(dq_rows_at(&r, 0, 0)->integer, 1700000000);
	dq_rows_free(&r);
	dq_client_close(c);
}

static void test_multi_page_rows_and_interrupt(void **state)
{
	struct test_node *n = *state;
	struct dq_client *c = client_for(n->address, false);
	assert_int_equal(dq_exec_sql(c,
				     "CREATE TABLE big (n INTEGER, pad TEXT);"
				     "WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s"
				     " WHERE n < 5000) INSERT INTO big SELECT n, 'padding-padding' FROM s",
				     NULL, 0, NULL),
			 MK_OK);
	struct dq_rows r;
	assert_int_equal(dq_query(c, "SELECT n, pad FROM big ORDER BY n", NULL, 0, 0, &r), MK_OK);
	assert_int_equal(r.nrows, 5000);
	assert_false(r.interrupted);
	assert_true(r.npages_ > 1); /* really spanned several ROWS messages */
	for (size_t i = 0; i < r.nrows; i++)
		assert_int_equal(dq_rows_at(&r, i, 0)->integer, (int64_t)i + 1);
	dq_rows_free(&r);

	/* A capped read INTERRUPTs the rest and the connection stays usable. */
	assert_int_equal(dq_query(c, "SELECT n FROM big ORDER BY n", NULL, 0, 10, &r), MK_OK);
	assert_int_equal(r.nrows, 10);
	assert_true(r.interrupted);
	dq_rows_free(&r);
	assert_int_equal(dq_query(c, "SELECT count(*) FROM big", NULL, 0, 0, &r), MK_OK);
	assert_int_equal(dq_rows_at(&r, 0, 0)->integer, 5000);
	dq_rows_free(&r);
	dq_client_close(c);
}

static void test_statements_and_errors(void **state)
{
	struct test_node *n = *state;
	struct dq_client *c = client_for(n->address, false);
	assert_int_equal(dq_exec_sql(c, "CREATE TABLE kv (k TEXT PRIMARY KEY, v INTEGER)", NULL, 0,
				     NULL),
			 MK_OK);
	struct dq_stmt st;
	assert_int_equal(dq_prepare(c, "INSERT INTO kv VALUES (?, ?)", &st), MK_OK);
	assert_int_equal(st.n_params, 2);
	assert_false(st.read_only);
	struct dq_value p[2] = {dq_text("a"), dq_int(1)};
	assert_int_equal(dq_exec_stmt(c, &st, p, 2, NULL), MK_OK);
	/* Wrong parameter count is caught before sending. */
	assert_int_equal(dq_exec_stmt(c, &st, p, 1, NULL), MK_EINVAL);
	/* A constraint violation is an SQL error with its code. */
	assert_int_equal(dq_exec_stmt(c, &st, p, 2, NULL), MK_ESQL);
	assert_int_equal(dq_client_last_code(c) & 0xff, 19);
	assert_non_null(strstr(dq_client_errmsg(c), "UNIQUE"));
	/* A write statement is never sent as QUERY. */
	struct dq_rows r;
	assert_int_equal(dq_query_stmt(c, &st, p, 2, 0, &r), MK_EINVAL);
	assert_int_equal(dq_query(c, "DELETE FROM kv", NULL, 0, 0, &r), MK_EINVAL);
	assert_int_equal(dq_query_sql(c, "INSERT INTO kv VALUES ('b', 2) RETURNING k", NULL, 0, 0, &r),
			 MK_EINVAL);
	assert_int_equal(dq_finalize(c, &st), MK_OK);
	assert_int_equal(dq_exec_stmt(c, &st, p, 2, NULL), MK_ESQL); /* gone */
	assert_int_equal(dq_exec_sql(c, "SELEKT nonsense", NULL, 0, NULL), MK_ESQL);
	assert_int_equal(dq_exec_sql(c, "SELECT * FROM missing", NULL, 0, NULL), MK_ESQL);
	assert_non_null(strstr(dq_client_errmsg(c), "no such table"));
	/* Nothing of the refused or failed requests was written. */
	assert_int_equal(dq_query(c, "SELECT count(*) FROM kv", NULL, 0, 0, &r), MK_OK);
	assert_int_equal(dq_rows_at(&r, 0, 0)->integer, 1);
	dq_rows_free(&r);
	/* The connection survived all of that; CLIENT is answered too. */
	uint64_t hb = 0;
	assert_int_equal(dq_hello(c, 7, &hb), MK_OK);
	assert_true(hb > 0);
	dq_client_close(c);
}

static void test_unreachable_member(void **state)
{
	char address[32];
	snprintf(address, sizeof address, "127.0.0.1:%d", test_free_port());
	struct dq_client *c = client_for(address, false);
	int64_t t0 = test_now_ms();
	struct dq_rows r;
	assert_int_equal(dq_query(c, "SELECT 1", NULL, 0, 0, &r), MK_EUNAVAILABLE);
	assert_true(test_now_ms() - t0 < 5000);
	assert_non_null(strstr(dq_client_errmsg(c), "refused"));
	dq_client_close(c);

	const char *bad[] = {"no-port"};
	struct dq_client_config cfg = {.members = bad, .n_members = 1, .discovery_timeout_ms = 100};
	assert_int_equal(dq_client_open(&cfg, &c), MK_OK);
	assert_int_equal(dq_client_connect(c), MK_EUNAVAILABLE);
	assert_non_null(strstr(dq_client_errmsg(c), "IP:PORT"));
	dq_client_close(c);
	cfg.n_members = 0;
	assert_int_equal(dq_client_open(&cfg, &c), MK_EINVAL);
}

/* ---- fake servers ---- */

enum fake_mode { FAKE_SILENT, FAKE_HUGE, FAKE_WRONG_TYPE, FAKE_BAD_FAILURE, FAKE_CLOSE,
		 FAKE_RANDOM };

struct fake {
	int listen_fd;
	int port;
	enum fake_mode mode;
	pthread_t thread;
};

static void *fake_main(void *arg)
{
	struct fake *f = arg;
	int fd = accept(f->listen_fd, NULL, NULL);
	if (fd < 0)
		return NULL;
	uint8_t in[4096];
	ssize_t got = recv(fd, in, sizeof in, 0); /* handshake and maybe more */
	(void)got;
	uint8_t out[64] = {0};
	size_t n = 0;
	switch (f->mode) {
	case FAKE_SILENT: /* answer nothing; wait for the client to give up */
		while (recv(fd, in, sizeof in, 0) > 0)
			;
		break;
	case FAKE_HUGE: /* header claims 32 GiB */
		out[0] = out[1] = out[2] = out[3] = 0xff;
		out[4] = DQ_RESP_SERVER;
		n = 8;
		break;
	case FAKE_WRONG_TYPE: /* a well-formed EMPTY where SERVER is due */
		out[0] = 1;
		out[4] = DQ_RESP_EMPTY;
		n = 16;
		break;
	case FAKE_BAD_FAILURE: /* FAILURE whose text has no NUL */
		out[0] = 2;
		out[4] = DQ_RESP_FAILURE;
		memset(out + 16, 'x', 8);
		n = 24;
		break;
	case FAKE_CLOSE:
		break;
	case FAKE_RANDOM:
		for (size_t i = 0; i < sizeof out; i++)
			out[i] = (uint8_t)(i * 37 + 11);
		n = sizeof out;
		break;
	}
	if (n && send(fd, out, n, MSG_NOSIGNAL) < 0)
		perror("fake send");
	close(fd);
	return NULL;
}

static void fake_start(struct fake *f, enum fake_mode mode)
{
	f->mode = mode;
	f->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof sa;
	assert_int_equal(bind(f->listen_fd, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(listen(f->listen_fd, 4), 0);
	getsockname(f->listen_fd, (struct sockaddr *)&sa, &len);
	f->port = ntohs(sa.sin_port);
	assert_int_equal(pthread_create(&f->thread, NULL, fake_main, f), 0);
}

static void fake_stop(struct fake *f)
{
	shutdown(f->listen_fd, SHUT_RDWR);
	pthread_join(f->thread, NULL);
	close(f->listen_fd);
}

static void test_misbehaving_servers(void **state)
{
	static const struct {
		enum fake_mode mode;
		int want;
	} cases[] = {
		{FAKE_HUGE, MK_EPROTO},  {FAKE_WRONG_TYPE, MK_EPROTO}, {FAKE_BAD_FAILURE, MK_EPROTO},
		{FAKE_CLOSE, MK_EIO},    {FAKE_RANDOM, MK_EPROTO},     {FAKE_SILENT, MK_EIO},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		struct fake f;
		fake_start(&f, cases[i].mode);
		char address[32];
		snprintf(address, sizeof address, "127.0.0.1:%d", f.port);
		const char *members[] = {address};
		struct dq_client_config cfg = {.members = members, .n_members = 1, .direct = true,
					       .request_timeout_ms = 300};
		struct dq_client *c;
		assert_int_equal(dq_client_open(&cfg, &c), MK_OK);
		uint64_t id;
		char leader[64];
		int64_t t0 = test_now_ms();
		int rv = dq_leader(c, &id, leader, sizeof leader);
		if (rv != cases[i].want)
			fail_msg("case %zu: got %s (%s), want %s", i, mk_strerror(rv),
				 dq_client_errmsg(c), mk_strerror(cases[i].want));
		assert_true(test_now_ms() - t0 < 3000);
		assert_false(dq_client_connected(c));
		assert_true(strlen(dq_client_errmsg(c)) > 0);
		dq_client_close(c);
		fake_stop(&f);
	}
}

/* ---- membership, with three nodes ---- */

static void wait_leader(const char *address, uint64_t want_id)
{
	struct dq_client *c = client_for(address, true);
	int64_t deadline = test_now_ms() + 15000;
	for (;;) {
		uint64_t id = 0;
		char leader[64];
		if (dq_leader(c, &id, leader, sizeof leader) == MK_OK && id == want_id)
			break;
		if (test_now_ms() > deadline)
			fail_msg("node %llx never became leader", (unsigned long long)want_id);
		usleep(50000);
	}
	dq_client_close(c);
}

static void test_membership(void **state)
{
	struct test_node nodes[3];
	test_node_start(&nodes[0], DQ_BOOTSTRAP_ID);
	test_node_start(&nodes[1], 2);
	test_node_start(&nodes[2], 3);
	const char *members[] = {nodes[0].address, nodes[1].address, nodes[2].address};
	struct dq_client_config cfg = {.members = members, .n_members = 3, .database = "test",
				       .discovery_timeout_ms = 10000};
	struct dq_client *c;
	assert_int_equal(dq_client_open(&cfg, &c), MK_OK);

	/* A node that was never added knows no leader and refuses writes. */
	struct dq_client *lone = client_for(nodes[1].address, true);
	assert_int_equal(dq_exec_sql(lone, "CREATE TABLE x (a)", NULL, 0, NULL), MK_ENOTLEADER);
	assert_false(dq_client_connected(lone));
	dq_client_close(lone);

	assert_int_equal(dq_add(c, 2, nodes[1].address), MK_OK);
	assert_int_equal(dq_assign(c, 2, DQ_VOTER), MK_OK);
	assert_int_equal(dq_add(c, 3, nodes[2].address), MK_OK);
	assert_int_equal(dq_assign(c, 3, DQ_STANDBY), MK_OK);
	assert_int_equal(dq_assign(c, 3, DQ_VOTER), MK_OK);
	struct dq_server *sv;
	size_t n;
	assert_int_equal(dq_cluster(c, &sv, &n), MK_OK);
	assert_int_equal(n, 3);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(sv[i].role, DQ_VOTER);
	free(sv);

	assert_int_equal(dq_exec_sql(c, "CREATE TABLE m (a); INSERT INTO m VALUES (1)", NULL, 0,
				     NULL),
			 MK_OK);

	/* DESCRIBE and WEIGHT are answered by the node asked. */
	struct dq_client *d = client_for(nodes[2].address, true);
	uint64_t fd, weight;
	assert_int_equal(dq_weight(d, 7), MK_OK);
	assert_int_equal(dq_describe(d, &fd, &weight), MK_OK);
	assert_int_equal(weight, 7);
	/* DUMP works on a follower, once the entry is applied there. */
	int64_t deadline = test_now_ms() + 5000;
	for (;;) {
		struct dq_file *files;
		size_t nf;
		assert_int_equal(dq_dump(d, "test", &files, &nf), MK_OK);
		assert_int_equal(nf, 2);
		assert_string_equal(files[0].name, "test");
		bool has_m = false;
		/* The table's name shows up in the database pages or WAL. */
		for (size_t i = 0; i < nf; i++)
			if (files[i].len && memmem(files[i].data, files[i].len, "CREATE TABLE m", 14))
				has_m = true;
		dq_files_free(files, nf);
		if (has_m)
			break;
		if (test_now_ms() > deadline)
			fail_msg("follower never showed the table");
		usleep(50000);
	}
	dq_client_close(d);

	/* TRANSFER leadership; the client notices and rediscovers. */
	assert_int_equal(dq_transfer(c, 2), MK_OK);
	wait_leader(nodes[0].address, 2);
	struct dq_result res;
	int rv = dq_exec_sql(c, "INSERT INTO m VALUES (2)", NULL, 0, &res);
	if (rv == MK_ENOTLEADER || rv == MK_EIO)
		rv = dq_exec_sql(c, "INSERT INTO m VALUES (2)", NULL, 0, &res);
	assert_int_equal(rv, MK_OK);
	assert_string_equal(dq_client_address(c), nodes[1].address);

	/* REMOVE a voter. */
	assert_int_equal(dq_remove(c, 3), MK_OK);
	assert_int_equal(dq_cluster(c, &sv, &n), MK_OK);
	assert_int_equal(n, 2);
	free(sv);
	/* Leader-only requests on a non-leader fail cleanly. */
	struct dq_client *f = client_for(nodes[0].address, true);
	assert_int_equal(dq_add(f, 9, "127.0.0.1:1"), MK_ENOTLEADER);
	dq_client_close(f);

	dq_client_close(c);
	for (int i = 2; i >= 0; i--)
		test_node_stop(&nodes[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_every_type_roundtrips, setup_node, teardown_node),
		cmocka_unit_test_setup_teardown(test_multi_page_rows_and_interrupt, setup_node,
						teardown_node),
		cmocka_unit_test_setup_teardown(test_statements_and_errors, setup_node, teardown_node),
		cmocka_unit_test(test_unreachable_member),
		cmocka_unit_test(test_misbehaving_servers),
		cmocka_unit_test(test_membership),
	};
	return cmocka_run_group_tests_name("client", tests, NULL, NULL);
}
