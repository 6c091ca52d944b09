/*
 * storectl: drives the store and the dqlite client from the command line,
 * for process-level tests and for operators poking at a node.
 *
 *   storectl -s ADDR[,ADDR...] COMMAND [ARGS]
 *
 * Store commands (leader found through the addresses):
 *   create KEY VALUE [TTL_MS]     update KEY VALUE [REV]     delete KEY [REV]
 *                                 (VALUE "-": read it from standard input)
 *   get KEY                       list PREFIX [LIMIT]        rev
 *   watch PREFIX AFTER_REV COUNT [TIMEOUT_MS]   (AFTER_REV -1: from now)
 *   writeloop PREFIX N            creates PREFIX<i>=v<i>, printing
 *                                 "ack <i> <rev> <ms>" per acknowledged write
 *                                 and "err <i> <message>" per failed one
 *   verify PREFIX FILE            every "ack" line of FILE is stored intact
 *   compact REV
 * dqlite commands:
 *   exec SQL | query SQL          raw SQL through the leader
 *   leader | cluster | add ID ADDR | assign ID ROLE | remove ID | transfer ID
 *   describe | weight N           (these two: direct to the first address)
 *   dumpcount DB SQL              DUMP DB from the first address (any role),
 *                                 open it with SQLite, print SQL's result
 *
 * Exit status: 0 success, 1 the operation failed (one line on stderr),
 * 2 bad usage.
 */
#include <errno.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../core/base/err.h"
#include "../../core/store/dq_client.h"
#include "../../core/store/store.h"

#define MAX_ADDRS 16

static const char *addrs[MAX_ADDRS];
static size_t n_addrs;

static int usage(void)
{
	fprintf(stderr, "usage: storectl -s ADDR[,ADDR...] COMMAND [ARGS] (see the source header)\n");
	return 2;
}

static int die(const char *what, int rv, const char *msg)
{
	fprintf(stderr, "storectl: %s: %s (%s)\n", what, msg && *msg ? msg : mk_strerror(rv),
		mk_strerror(rv));
	return 1;
}

static int parse_i64(const char *s, int64_t *out)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || *s == '\0' || *end)
		return -1;
	*out = v;
	return 0;
}

/* dqlite node ids are unsigned 64-bit and never 0. */
static int parse_id(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *s == '\0' || *s == '-' || *end || v == 0)
		return -1;
	*out = v;
	return 0;
}

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int open_store(struct store **s)
{
	struct store_config cfg = {.members = addrs, .n_members = n_addrs,
				   .poll_interval_ms = 100, .op_timeout_ms = 15000};
	int rv = store_open(&cfg, s);
	return rv == MK_OK ? 0 : die("open", rv, store_last_error());
}

static int open_client(bool direct, struct dq_client **c)
{
	struct dq_client_config cfg = {.members = addrs, .n_members = n_addrs,
				       .direct = direct};
	int rv = dq_client_open(&cfg, c);
	return rv == MK_OK ? 0 : die("client", rv, NULL);
}

static void print_rows(const struct dq_rows *r)
{
	for (size_t i = 0; i < r->nrows; i++) {
		for (unsigned j = 0; j < r->ncols; j++) {
			const struct dq_value *v = dq_rows_at(r, i, j);
			if (j)
				putchar('|');
			switch (v->type) {
			case DQ_INTEGER:
			case DQ_UNIXTIME:
			case DQ_BOOLEAN:
				printf("%" PRId64, v->integer);
				break;
			case DQ_FLOAT:
				printf("%.17g", v->real);
				break;
			case DQ_TEXT:
			case DQ_ISO8601:
				fwrite(v->text, 1, v->len, stdout);
				break;
			case DQ_BLOB:
				fwrite(v->blob, 1, v->len, stdout);
				break;
			default:
				break;
			}
		}
		putchar('\n');
	}
}

/* VALUE "-" is read from standard input: values up to the store's cap
 * are larger than one command-line argument may be. */
static char *value_arg(const char *arg, size_t *len)
{
	if (strcmp(arg, "-") != 0) {
		*len = strlen(arg);
		return strdup(arg);
	}
	size_t cap = 1 << 16, n = 0;
	char *buf = malloc(cap);
	while (buf) {
		size_t got = fread(buf + n, 1, cap - n, stdin);
		n += got;
		if (got == 0)
			break;
		if (n == cap) {
			char *bigger = realloc(buf, cap * 2);
			if (bigger == NULL) {
				free(buf);
				return NULL;
			}
			buf = bigger;
			cap *= 2;
		}
	}
	*len = n;
	return buf;
}

static int cmd_store(int argc, char **argv)
{
	const char *cmd = argv[0];
	struct store *s;
	int64_t rev = 0, n;
	int rv, status = 0;
	if ((strcmp(cmd, "create") == 0 || strcmp(cmd, "update") == 0) &&
	    (argc == 3 || argc == 4)) {
		/* The optional number is the TTL of a create, the expected
		 * revision of an update. */
		int64_t num = 0;
		if (argc == 4 && parse_i64(argv[3], &num) != 0)
			return usage();
		size_t len;
		char *value = value_arg(argv[2], &len);
		if (value == NULL)
			return die(cmd, MK_ENOMEM, NULL);
		if (open_store(&s)) {
			free(value);
			return 1;
		}
		rv = cmd[0] == 'c' ? store_create(s, argv[1], value, len, num, &rev)
				   : store_update(s, argv[1], value, len, 0, num, &rev);
		free(value);
		status = rv ? die(cmd, rv, store_last_error()) : (printf("%" PRId64 "\n", rev), 0);
	} else if (strcmp(cmd, "delete") == 0 && (argc == 2 || argc == 3)) {
		int64_t expect = 0;
		if (argc == 3 && parse_i64(argv[2], &expect) != 0)
			return usage();
		if (open_store(&s))
			return 1;
		rv = store_delete(s, argv[1], expect, &rev);
		status = rv ? die("delete", rv, store_last_error()) : (printf("%" PRId64 "\n", rev), 0);
	} else if (strcmp(cmd, "get") == 0 && argc == 2) {
		if (open_store(&s))
			return 1;
		struct store_kv kv;
		rv = store_get(s, argv[1], &kv);
		if (rv) {
			status = die("get", rv, store_last_error());
		} else {
			printf("%" PRId64 " %.*s\n", kv.rev, (int)kv.len, (char *)kv.value);
			store_kv_free(&kv);
		}
	} else if (strcmp(cmd, "list") == 0 && (argc == 2 || argc == 3)) {
		int64_t limit = 0;
		if (argc == 3 && parse_i64(argv[2], &limit) != 0)
			return usage();
		if (open_store(&s))
			return 1;
		struct store_list l;
		rv = store_list(s, argv[1], NULL, 0, (size_t)limit, &l);
		if (rv) {
			status = die("list", rv, store_last_error());
		} else {
			for (size_t i = 0; i < l.n; i++)
				printf("%s %" PRId64 " %.*s\n", l.items[i].key, l.items[i].rev,
				       (int)l.items[i].len, (char *)l.items[i].value);
			store_list_free(&l);
		}
	} else if (strcmp(cmd, "rev") == 0 && argc == 1) {
		if (open_store(&s))
			return 1;
		int64_t compacted;
		rv = store_revision(s, &rev, &compacted);
		status = rv ? die("rev", rv, store_last_error())
			    : (printf("%" PRId64 " %" PRId64 "\n", rev, compacted), 0);
	} else if (strcmp(cmd, "compact") == 0 && argc == 2) {
		if (parse_i64(argv[1], &rev) != 0)
			return usage();
		if (open_store(&s))
			return 1;
		rv = store_compact(s, rev);
		status = rv ? die("compact", rv, store_last_error()) : 0;
	} else if (strcmp(cmd, "watch") == 0 && (argc == 4 || argc == 5)) {
		int64_t timeout = 10000;
		if (parse_i64(argv[2], &rev) || parse_i64(argv[3], &n) ||
		    (argc == 5 && parse_i64(argv[4], &timeout)))
			return usage();
		if (open_store(&s))
			return 1;
		struct store_watch *w;
		rv = store_watch(s, argv[1], rev, &w);
		if (rv) {
			status = die("watch", rv, store_last_error());
		} else {
			static const char *const names[] = {"", "ADDED", "MODIFIED", "DELETED"};
			for (int64_t i = 0; i < n; i++) {
				struct store_event ev;
				rv = store_watch_next(w, (int)timeout, &ev);
				if (rv) {
					status = die("watch", rv, store_last_error());
					break;
				}
				printf("%s %s %" PRId64 " %.*s\n", names[ev.type], ev.kv.key, ev.kv.rev,
				       (int)(ev.kv.value ? ev.kv.len : ev.old_len),
				       (char *)(ev.kv.value ? ev.kv.value : ev.old_value));
				fflush(stdout);
				store_event_free(&ev);
			}
			store_watch_close(w);
		}
	} else if (strcmp(cmd, "writeloop") == 0 && argc == 3) {
		if (parse_i64(argv[2], &n) != 0)
			return usage();
		if (open_store(&s))
			return 1;
		int64_t t0 = mono_ms();
		setvbuf(stdout, NULL, _IOLBF, 0);
		for (int64_t i = 0; i < n; i++) {
			char key[256], val[64];
			snprintf(key, sizeof key, "%s%" PRId64, argv[1], i);
			snprintf(val, sizeof val, "v%" PRId64, i);
			rv = store_create(s, key, val, strlen(val), 0, &rev);
			if (rv == MK_OK)
				printf("ack %" PRId64 " %" PRId64 " %" PRId64 "\n", i, rev, mono_ms() - t0);
			else
				printf("err %" PRId64 " %s\n", i, store_last_error());
		}
	} else if (strcmp(cmd, "verify") == 0 && argc == 3) {
		FILE *f = fopen(argv[2], "r");
		if (f == NULL)
			return die("verify", MK_EIO, strerror(errno));
		if (open_store(&s)) {
			fclose(f);
			return 1;
		}
		char line[512];
		long acked = 0, bad = 0;
		while (fgets(line, sizeof line, f)) {
			long long i, r;
			if (sscanf(line, "ack %lld %lld", &i, &r) != 2)
				continue;
			acked++;
			char key[256], val[64];
			snprintf(key, sizeof key, "%s%lld", argv[1], i);
			snprintf(val, sizeof val, "v%lld", i);
			struct store_kv kv;
			rv = store_get(s, key, &kv);
			if (rv != MK_OK || kv.rev != r || kv.len != strlen(val) ||
			    memcmp(kv.value, val, kv.len) != 0) {
				fprintf(stderr, "storectl: acknowledged %s (rev %lld) is %s\n", key, r,
					rv ? store_last_error() : "changed");
				bad++;
			}
			if (rv == MK_OK)
				store_kv_free(&kv);
		}
		fclose(f);
		printf("%ld acknowledged, %ld missing or wrong\n", acked, bad);
		status = bad ? 1 : 0;
	} else {
		return usage();
	}
	store_close(s);
	return status;
}

static int cmd_dumpcount(struct dq_client *c, const char *db, const char *sql)
{
	struct dq_file *files;
	size_t n;
	int rv = dq_dump(c, db, &files, &n);
	if (rv)
		return die("dump", rv, dq_client_errmsg(c));
	char dir[] = "/tmp/storectl-dump-XXXXXX";
	int status = 1;
	if (mkdtemp(dir) == NULL) {
		dq_files_free(files, n);
		return die("dump", MK_EIO, strerror(errno));
	}
	char path[512], main_path[512] = "";
	for (size_t i = 0; i < n; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, files[i].name);
		if (i == 0)
			snprintf(main_path, sizeof main_path, "%s", path);
		FILE *f = fopen(path, "w");
		if (f) {
			fwrite(files[i].data, 1, files[i].len, f);
			fclose(f);
		}
	}
	sqlite3 *sdb;
	sqlite3_stmt *st;
	if (sqlite3_open(main_path, &sdb) == SQLITE_OK &&
	    sqlite3_prepare_v2(sdb, sql, -1, &st, NULL) == SQLITE_OK) {
		while (sqlite3_step(st) == SQLITE_ROW)
			printf("%s\n", (const char *)sqlite3_column_text(st, 0));
		sqlite3_finalize(st);
		status = 0;
	} else {
		fprintf(stderr, "storectl: dumpcount: %s\n", sqlite3_errmsg(sdb));
	}
	sqlite3_close(sdb);
	for (size_t i = 0; i < n; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, files[i].name);
		unlink(path);
	}
	rmdir(dir);
	dq_files_free(files, n);
	return status;
}

static int cmd_dqlite(int argc, char **argv)
{
	const char *cmd = argv[0];
	bool direct = strcmp(cmd, "describe") == 0 || strcmp(cmd, "weight") == 0 ||
		      strcmp(cmd, "dumpcount") == 0;
	struct dq_client *c;
	int64_t a = 0;
	uint64_t id = 0;
	int rv;
	if (open_client(direct, &c))
		return 1;
	int status = 0;
	if (strcmp(cmd, "exec") == 0 && argc == 2) {
		struct dq_result res;
		/* A busy timeout, as sqlite3's shell would have one: mkd's own
		 * writes (default namespaces at start-up) hold the database
		 * for a moment. */
		for (int tries = 0;; tries++) {
			rv = dq_exec_sql(c, argv[1], NULL, 0, &res);
			if (rv != MK_EBUSY || tries >= 100)
				break;
			usleep(20 * 1000);
		}
		if (rv == MK_OK)
			printf("%" PRIu64 " %" PRIu64 "\n", res.last_insert_id, res.rows_affected);
	} else if (strcmp(cmd, "query") == 0 && argc == 2) {
		struct dq_rows r;
		rv = dq_query_sql(c, argv[1], NULL, 0, 0, &r);
		if (rv == MK_OK) {
			print_rows(&r);
			dq_rows_free(&r);
		}
	} else if (strcmp(cmd, "leader") == 0 && argc == 1) {
		char addr[64];
		rv = dq_leader(c, &id, addr, sizeof addr);
		if (rv == MK_OK)
			printf("%" PRIu64 " %s\n", id, addr);
	} else if (strcmp(cmd, "cluster") == 0 && argc == 1) {
		struct dq_server *sv;
		size_t n;
		rv = dq_cluster(c, &sv, &n);
		for (size_t i = 0; rv == MK_OK && i < n; i++)
			printf("%" PRIu64 " %s %s\n", sv[i].id, sv[i].address, dq_role_name(sv[i].role));
		if (rv == MK_OK)
			free(sv);
	} else if (strcmp(cmd, "add") == 0 && argc == 3 && parse_i64(argv[1], &a) == 0) {
		rv = dq_add(c, (uint64_t)a, argv[2]);
	} else if (strcmp(cmd, "assign") == 0 && argc == 3 && parse_id(argv[1], &id) == 0) {
		enum dq_role role;
		if (dq_role_parse(argv[2], &role) != MK_OK) {
			dq_client_close(c);
			return usage();
		}
		rv = dq_assign(c, id, role);
	} else if (strcmp(cmd, "remove") == 0 && argc == 2 && parse_id(argv[1], &id) == 0) {
		rv = dq_remove(c, id);
	} else if (strcmp(cmd, "transfer") == 0 && argc == 2 && parse_id(argv[1], &id) == 0) {
		rv = dq_transfer(c, id);
	} else if (strcmp(cmd, "describe") == 0 && argc == 1) {
		uint64_t fd, w;
		rv = dq_describe(c, &fd, &w);
		if (rv == MK_OK)
			printf("failure-domain=%" PRIu64 " weight=%" PRIu64 "\n", fd, w);
	} else if (strcmp(cmd, "weight") == 0 && argc == 2 && parse_i64(argv[1], &a) == 0) {
		rv = dq_weight(c, (uint64_t)a);
	} else if (strcmp(cmd, "dumpcount") == 0 && argc == 3) {
		status = cmd_dumpcount(c, argv[1], argv[2]);
		dq_client_close(c);
		return status;
	} else {
		dq_client_close(c);
		return usage();
	}
	if (rv != MK_OK)
		status = die(cmd, rv, dq_client_errmsg(c));
	dq_client_close(c);
	return status;
}

int main(int argc, char **argv)
{
	if (argc < 4 || strcmp(argv[1], "-s") != 0)
		return usage();
	static char list[1024];
	snprintf(list, sizeof list, "%s", argv[2]);
	char *save = NULL;
	for (char *t = strtok_r(list, ",", &save); t && n_addrs < MAX_ADDRS;
	     t = strtok_r(NULL, ",", &save))
		addrs[n_addrs++] = t;
	if (n_addrs == 0)
		return usage();
	static const char *const store_cmds[] = {"create", "update",    "delete", "get",
						 "list",   "rev",       "watch",  "writeloop",
						 "verify", "compact"};
	for (size_t i = 0; i < sizeof store_cmds / sizeof *store_cmds; i++)
		if (strcmp(argv[3], store_cmds[i]) == 0)
			return cmd_store(argc - 3, argv + 3);
	return cmd_dqlite(argc - 3, argv + 3);
}
