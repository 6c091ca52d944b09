/*
 * The object store on a real dqlite node running in this process.
 */
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../core/base/err.h"
#include "../../core/store/store.h"
#include "../../core/store/store_internal.h"
#include "support.h"

struct fixture {
	struct test_node node;
	struct store *store;
};

static struct store *open_store(struct test_node *n, bool maintain, int poll_ms)
{
	const char *members[] = {n->address};
	struct store_config cfg = {.members = members, .n_members = 1,
				   .local_address = maintain ? n->address : NULL,
				   .poll_interval_ms = poll_ms, .op_timeout_ms = 5000};
	struct store *s;
	int rv = store_open(&cfg, &s);
	if (rv != MK_OK)
		fail_msg("store_open: %s", store_last_error());
	return s;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	test_node_start(&f->node, DQ_BOOTSTRAP_ID);
	f->store = open_store(&f->node, true, 100);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	store_close(f->store);
	test_node_stop(&f->node);
	free(f);
	return 0;
}

static void put(struct store *s, const char *key, const char *value, int64_t *rev)
{
	int rv = store_create(s, key, value, strlen(value), 0, rev);
	if (rv != MK_OK)
		fail_msg("create %s: %s", key, store_last_error());
}

static void check_value(struct store *s, const char *key, const char *value)
{
	struct store_kv kv;
	int rv = store_get(s, key, &kv);
	if (rv != MK_OK)
		fail_msg("get %s: %s", key, store_last_error());
	assert_int_equal(kv.len, strlen(value));
	assert_memory_equal(kv.value, value, kv.len);
	store_kv_free(&kv);
}

static void test_create_update_delete(void **state)
{
	struct store *s = ((struct fixture *)*state)->store;
	int64_t r1, r2, r3, r4, rev, compacted;
	put(s, "/registry/core/pods/default/a", "v1", &r1);
	assert_true(r1 > 0);
	assert_int_equal(store_create(s, "/registry/core/pods/default/a", "x", 1, 0, NULL),
			 MK_EEXISTS);
	assert_non_null(strstr(store_last_error(), "already exists"));

	struct store_kv kv;
	assert_int_equal(store_get(s, "/registry/core/pods/default/a", &kv), MK_OK);
	assert_int_equal(kv.rev, r1);
	assert_int_equal(kv.create_rev, r1);
	assert_string_equal(kv.value, "v1");
	store_kv_free(&kv);

	assert_int_equal(store_update(s, "/registry/core/pods/default/a", "v2", 2, 0, r1, &r2), MK_OK);
	assert_true(r2 > r1);
	/* A stale revision is a conflict and changes nothing. */
	assert_int_equal(store_update(s, "/registry/core/pods/default/a", "v3", 2, 0, r1, NULL),
			 MK_ECONFLICT);
	assert_non_null(strstr(store_last_error(), "not the expected"));
	assert_int_equal(store_delete(s, "/registry/core/pods/default/a", r1, NULL), MK_ECONFLICT);
	check_value(s, "/registry/core/pods/default/a", "v2");
	/* Unconditional update keeps create_rev. */
	assert_int_equal(store_update(s, "/registry/core/pods/default/a", "v4", 2, 0, 0, &r3), MK_OK);
	assert_int_equal(store_get(s, "/registry/core/pods/default/a", &kv), MK_OK);
	assert_int_equal(kv.rev, r3);
	assert_int_equal(kv.create_rev, r1);
	store_kv_free(&kv);

	assert_int_equal(store_delete(s, "/registry/core/pods/default/a", r3, &r4), MK_OK);
	assert_true(r4 > r3);
	assert_int_equal(store_get(s, "/registry/core/pods/default/a", &kv), MK_ENOTFOUND);
	assert_int_equal(store_delete(s, "/registry/core/pods/default/a", 0, NULL), MK_ENOTFOUND);
	assert_int_equal(store_update(s, "/registry/core/pods/default/a", "x", 1, 0, 0, NULL),
			 MK_ENOTFOUND);
	/* Re-creating after delete starts a new lifetime. */
	put(s, "/registry/core/pods/default/a", "again", &rev);
	assert_int_equal(store_get(s, "/registry/core/pods/default/a", &kv), MK_OK);
	assert_int_equal(kv.create_rev, rev);
	store_kv_free(&kv);
	assert_int_equal(store_revision(s, &rev, &compacted), MK_OK);
	assert_int_equal(rev, r4 + 1);
	assert_int_equal(compacted, 0);
}

static void test_bad_input_changes_nothing(void **state)
{
	struct store *s = ((struct fixture *)*state)->store;
	int64_t before, after;
	assert_int_equal(store_revision(s, &before, NULL), MK_OK);
	size_t big = STORE_MAX_VALUE + 1;
	char *v = calloc(1, big);
	assert_int_equal(store_create(s, "/big", v, big, 0, NULL), MK_ETOOBIG);
	assert_non_null(strstr(store_last_error(), "1572864"));
	assert_int_equal(store_update(s, "/big", v, big, 0, 0, NULL), MK_ETOOBIG);
	/* Exactly the limit is fine. */
	assert_int_equal(store_create(s, "/limit", v, STORE_MAX_VALUE, 0, NULL), MK_OK);
	free(v);
	assert_int_equal(store_create(s, "", "x", 1, 0, NULL), MK_EINVAL);
	assert_int_equal(store_create(s, NULL, "x", 1, 0, NULL), MK_EINVAL);
	char longkey[STORE_MAX_KEY + 2];
	memset(longkey, 'k', sizeof longkey - 1);
	longkey[sizeof longkey - 1] = '\0';
	assert_int_equal(store_create(s, longkey, "x", 1, 0, NULL), MK_EINVAL);
	assert_int_equal(store_create(s, "/ttl", "x", 1, -5, NULL), MK_EINVAL);
	assert_int_equal(store_update(s, "/limit", "x", 1, 0, -1, NULL), MK_EINVAL);
	struct store_list l;
	assert_int_equal(store_list(s, "/", NULL, -1, 0, &l), MK_EINVAL);
	struct store_watch *w;
	assert_int_equal(store_watch(s, "/", -2, &w), MK_EINVAL);
	assert_int_equal(store_revision(s, &after, NULL), MK_OK);
	assert_int_equal(after, before + 1); /* only the "/limit" create */
	struct store_kv kv;
	assert_int_equal(store_get(s, "/big", &kv), MK_ENOTFOUND);
}

static void test_list_pages_at_one_revision(void **state)
{
	struct store *s = ((struct fixture *)*state)->store;
	char key[64], val[16];
	for (int i = 0; i < 25; i++) {
		snprintf(key, sizeof key, "/registry/core/pods/ns/p%02d", i);
		snprintf(val, sizeof val, "v%d", i);
		put(s, key, val, NULL);
	}
	put(s, "/registry/core/pods/other/x", "x", NULL);
	put(s, "/registry/core/podsx", "not in prefix", NULL);

	struct store_list page;
	assert_int_equal(store_list(s, "/registry/core/pods/ns/", NULL, 0, 10, &page), MK_OK);
	assert_int_equal(page.n, 10);
	assert_true(page.more);
	int64_t at = page.rev;
	char last[64];
	snprintf(last, sizeof last, "%s", page.items[9].key);
	assert_string_equal(page.items[0].key, "/registry/core/pods/ns/p00");
	store_list_free(&page);

	/* Change the next pages' keys after the first page was read. */
	assert_int_equal(store_update(s, "/registry/core/pods/ns/p15", "changed", 7, 0, 0, NULL), MK_OK);
	assert_int_equal(store_delete(s, "/registry/core/pods/ns/p20", 0, NULL), MK_OK);
	put(s, "/registry/core/pods/ns/p99", "new", NULL);

	size_t total = 10;
	bool saw_p20 = false;
	for (;;) {
		assert_int_equal(store_list(s, "/registry/core/pods/ns/", last, at, 10, &page), MK_OK);
		assert_int_equal(page.rev, at);
		for (size_t i = 0; i < page.n; i++) {
			if (strcmp(page.items[i].key, "/registry/core/pods/ns/p15") == 0)
				assert_string_equal(page.items[i].value, "v15");
			if (strcmp(page.items[i].key, "/registry/core/pods/ns/p20") == 0)
				saw_p20 = true;
			assert_string_not_equal(page.items[i].key, "/registry/core/pods/ns/p99");
		}
		total += page.n;
		bool more = page.more;
		if (page.n)
			snprintf(last, sizeof last, "%s", page.items[page.n - 1].key);
		store_list_free(&page);
		if (!more)
			break;
	}
	assert_int_equal(total, 25);
	assert_true(saw_p20);

	/* Now: the current state. */
	assert_int_equal(store_list(s, "/registry/core/pods/ns/", NULL, 0, 0, &page), MK_OK);
	assert_int_equal(page.n, 25); /* 25 - p20 + p99 */
	assert_false(page.more);
	store_list_free(&page);
	assert_int_equal(store_list(s, "/registry/core/pods/", NULL, 0, 0, &page), MK_OK);
	assert_int_equal(page.n, 26);
	store_list_free(&page);
	assert_int_equal(store_list(s, "/nothing/", NULL, 0, 0, &page), MK_OK);
	assert_int_equal(page.n, 0);
	assert_true(page.rev > at);
	store_list_free(&page);

	/* Once compacted past it, the old revision is gone. */
	int64_t rev;
	assert_int_equal(store_revision(s, &rev, NULL), MK_OK);
	assert_int_equal(store_compact(s, rev), MK_OK);
	assert_int_equal(store_list(s, "/registry/core/pods/ns/", last, at, 10, &page),
			 MK_ECOMPACTED);
	assert_non_null(strstr(store_last_error(), "compacted"));
	/* ...but the current state is intact. */
	check_value(s, "/registry/core/pods/ns/p15", "changed");
	assert_int_equal(store_list(s, "/registry/core/pods/ns/", NULL, 0, 0, &page), MK_OK);
	assert_int_equal(page.n, 25);
	store_list_free(&page);
}

static void next_event(struct store_watch *w, enum store_event_type type, const char *key,
		       const char *value, const char *old)
{
	struct store_event ev;
	int rv = store_watch_next(w, 5000, &ev);
	if (rv != MK_OK)
		fail_msg("waiting for %s: %s", key, mk_strerror(rv));
	assert_int_equal(ev.type, type);
	assert_string_equal(ev.kv.key, key);
	if (value)
		assert_string_equal(ev.kv.value, value);
	else
		assert_null(ev.kv.value);
	if (old)
		assert_string_equal(ev.old_value, old);
	else
		assert_null(ev.old_value);
	store_event_free(&ev);
}

static void test_watch_events(void **state)
{
	struct store *s = ((struct fixture *)*state)->store;
	int64_t start;
	put(s, "/w/before", "b", &start);
	struct store_watch *w;
	assert_int_equal(store_watch(s, "/w/", STORE_WATCH_NOW, &w), MK_OK);
	struct pollfd pfd = {.fd = store_watch_fd(w), .events = POLLIN};
	assert_int_equal(poll(&pfd, 1, 0), 0); /* nothing yet */

	int64_t r1, r2;
	put(s, "/w/a", "1", &r1);
	put(s, "/elsewhere", "ignored", NULL);
	assert_int_equal(store_update(s, "/w/a", "2", 1, 0, r1, &r2), MK_OK);
	assert_int_equal(store_delete(s, "/w/a", r2, NULL), MK_OK);
	/* Readable without waiting for a poll tick: local writes kick. */
	assert_int_equal(poll(&pfd, 1, 2000), 1);
	next_event(w, STORE_ADDED, "/w/a", "1", NULL);
	next_event(w, STORE_MODIFIED, "/w/a", "2", "1");
	next_event(w, STORE_DELETED, "/w/a", NULL, "2");
	struct store_event ev;
	assert_int_equal(store_watch_next(w, 200, &ev), MK_ETIMEDOUT);
	store_watch_close(w);

	/* From a past revision: the history is replayed first, in order. */
	assert_int_equal(store_watch(s, "/w/", start - 1, &w), MK_OK);
	next_event(w, STORE_ADDED, "/w/before", "b", NULL);
	next_event(w, STORE_ADDED, "/w/a", "1", NULL);
	next_event(w, STORE_MODIFIED, "/w/a", "2", "1");
	next_event(w, STORE_DELETED, "/w/a", NULL, "2");
	put(s, "/w/live", "l", NULL);
	next_event(w, STORE_ADDED, "/w/live", "l", NULL);
	store_watch_close(w);

	/* From a compacted revision: refused. */
	int64_t rev;
	assert_int_equal(store_revision(s, &rev, NULL), MK_OK);
	assert_int_equal(store_compact(s, rev - 1), MK_OK);
	assert_int_equal(store_watch(s, "/w/", start, &w), MK_ECOMPACTED);
	/* The newest event survives compaction with its old value. */
	assert_int_equal(store_watch(s, "/", rev - 1, &w), MK_OK);
	next_event(w, STORE_ADDED, "/w/live", "l", NULL);
	store_watch_close(w);
}

static void test_writes_of_another_process_arrive_by_polling(void **state)
{
	struct fixture *f = *state;
	struct store *other = open_store(&f->node, false, 100);
	struct store_watch *w;
	assert_int_equal(store_watch(f->store, "/x/", STORE_WATCH_NOW, &w), MK_OK);
	int64_t t0 = test_now_ms();
	put(other, "/x/remote", "r", NULL);
	next_event(w, STORE_ADDED, "/x/remote", "r", NULL);
	assert_true(test_now_ms() - t0 < 2000);
	store_watch_close(w);
	store_close(other);
}

static void test_ttl_expiry(void **state)
{
	struct store *s = ((struct fixture *)*state)->store;
	struct store_watch *w;
	assert_int_equal(store_watch(s, "/lease/", STORE_WATCH_NOW, &w), MK_OK);
	assert_int_equal(store_create(s, "/lease/a", "x", 1, 300, NULL), MK_OK);
	assert_int_equal(store_create(s, "/lease/keep", "k", 1, 0, NULL), MK_OK);
	struct store_kv kv;
	assert_int_equal(store_get(s, "/lease/a", &kv), MK_OK);
	assert_true(kv.expires_ms > 0);
	store_kv_free(&kv);
	next_event(w, STORE_ADDED, "/lease/a", "x", NULL);
	next_event(w, STORE_ADDED, "/lease/keep", "k", NULL);
	usleep(350 * 1000);
	/* Past its TTL the key is gone for readers at once... */
	assert_int_equal(store_get(s, "/lease/a", &kv), MK_ENOTFOUND);
	/* ...and may be created anew; the expiry shows up as a delete. */
	assert_int_equal(store_create(s, "/lease/a", "y", 1, 0, NULL), MK_OK);
	next_event(w, STORE_DELETED, "/lease/a", NULL, "x");
	next_event(w, STORE_ADDED, "/lease/a", "y", NULL);
	/* The leader's sweeper deletes expired keys nobody touches. */
	assert_int_equal(store_create(s, "/lease/b", "z", 1, 200, NULL), MK_OK);
	next_event(w, STORE_ADDED, "/lease/b", "z", NULL);
	next_event(w, STORE_DELETED, "/lease/b", NULL, "z");
	check_value(s, "/lease/keep", "k");
	store_watch_close(w);
}

struct writer_arg {
	struct store *s;
	int id;
	int64_t revs[50];
};

static void *writer(void *p)
{
	struct writer_arg *a = p;
	for (int i = 0; i < 50; i++) {
		char key[64];
		snprintf(key, sizeof key, "/conc/%d/%d", a->id, i);
		if (store_create(a->s, key, key, strlen(key), 0, &a->revs[i]) != MK_OK)
			a->revs[i] = -1;
	}
	return NULL;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

static void test_concurrent_writers(void **state)
{
	struct store *s = ((struct fixture *)*state)->store;
	struct writer_arg args[16];
	pthread_t t[16];
	for (int i = 0; i < 16; i++) {
		args[i] = (struct writer_arg){.s = s, .id = i};
		pthread_create(&t[i], NULL, writer, &args[i]);
	}
	int64_t all[800];
	for (int i = 0; i < 16; i++) {
		pthread_join(t[i], NULL);
		memcpy(&all[i * 50], args[i].revs, sizeof args[i].revs);
	}
	qsort(all, 800, sizeof *all, cmp_i64);
	assert_true(all[0] > 0);
	for (int i = 1; i < 800; i++)
		assert_true(all[i] > all[i - 1]); /* every write its own revision */
	struct store_list l;
	assert_int_equal(store_list(s, "/conc/", NULL, 0, 0, &l), MK_OK);
	assert_int_equal(l.n, 800);
	store_list_free(&l);
}

struct counter_arg {
	struct store *s;
	int done;
};

/* Read-modify-write with CAS, retried on conflict: the classic way an API
 * server updates an object. */
static void *incrementer(void *p)
{
	struct counter_arg *a = p;
	while (a->done < 20) {
		struct store_kv kv;
		if (store_get(a->s, "/counter", &kv) != MK_OK)
			return NULL;
		char next[32];
		snprintf(next, sizeof next, "%ld", strtol(kv.value, NULL, 10) + 1);
		int rv = store_update(a->s, "/counter", next, strlen(next), 0, kv.rev, NULL);
		store_kv_free(&kv);
		if (rv == MK_OK)
			a->done++;
		else if (rv != MK_ECONFLICT)
			return NULL;
	}
	return NULL;
}

static void test_cas_counter_under_contention(void **state)
{
	struct store *s = ((struct fixture *)*state)->store;
	put(s, "/counter", "0", NULL);
	struct counter_arg args[8];
	pthread_t t[8];
	for (int i = 0; i < 8; i++) {
		args[i] = (struct counter_arg){.s = s};
		pthread_create(&t[i], NULL, incrementer, &args[i]);
	}
	for (int i = 0; i < 8; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(args[i].done, 20);
	}
	/* No increment was lost or applied twice. */
	check_value(s, "/counter", "160");
}

/* The answer to a commit is lost after the server applied it, as when the
 * leader dies mid-commit: the retry must find the write, not repeat it. */
static void test_lost_commit_answer_is_not_applied_twice(void **state)
{
	struct store *s = ((struct fixture *)*state)->store;
	int64_t r1, r2, rev;
	/* A write group is one EXEC_SQL: lose its answer. */
	store_fault_lose_write_answer(s, DQ_REQ_EXEC_SQL, 1);
	assert_int_equal(store_create(s, "/once/a", "1", 1, 0, &r1), MK_OK);
	struct store_kv kv;
	assert_int_equal(store_get(s, "/once/a", &kv), MK_OK);
	assert_int_equal(kv.rev, r1);
	store_kv_free(&kv);
	store_fault_lose_write_answer(s, DQ_REQ_EXEC_SQL, 1);
	assert_int_equal(store_update(s, "/once/a", "2", 1, 0, 0, &r2), MK_OK);
	assert_int_equal(store_revision(s, &rev, NULL), MK_OK);
	assert_int_equal(rev, r2); /* exactly one new revision for it */
	struct store_watch *w;
	assert_int_equal(store_watch(s, "/once/", r1 - 1, &w), MK_OK);
	next_event(w, STORE_ADDED, "/once/a", "1", NULL);
	next_event(w, STORE_MODIFIED, "/once/a", "2", "1");
	struct store_event ev;
	assert_int_equal(store_watch_next(w, 300, &ev), MK_ETIMEDOUT);
	store_watch_close(w);
}

static void test_unreachable_cluster(void **state)
{
	char address[32];
	snprintf(address, sizeof address, "127.0.0.1:%d", test_free_port());
	const char *members[] = {address};
	struct store_config cfg = {.members = members, .n_members = 1, .op_timeout_ms = 500};
	struct store *s;
	int64_t t0 = test_now_ms();
	assert_int_equal(store_open(&cfg, &s), MK_EUNAVAILABLE);
	assert_true(test_now_ms() - t0 < 5000);
	assert_non_null(strstr(store_last_error(), "refused"));
	cfg.n_members = 0;
	assert_int_equal(store_open(&cfg, &s), MK_EINVAL);
}

static void test_keys(void **state)
{
	char k[STORE_MAX_KEY + 64];
	assert_int_equal(store_key(k, sizeof k, "core", "pods", "default", "web"), MK_OK);
	assert_string_equal(k, "/registry/core/pods/default/web");
	assert_int_equal(store_key(k, sizeof k, "core", "nodes", NULL, "n1"), MK_OK);
	assert_string_equal(k, "/registry/core/nodes/n1");
	assert_int_equal(store_key(k, sizeof k, "apps", "deployments", "kube-system", NULL), MK_OK);
	assert_string_equal(k, "/registry/apps/deployments/kube-system/");
	assert_int_equal(store_key(k, sizeof k, "core", "pods", "a/b", "x"), MK_EINVAL);
	assert_int_equal(store_key(k, sizeof k, "core", "", NULL, "x"), MK_EINVAL);
	assert_int_equal(store_key(k, 8, "core", "pods", NULL, "x"), MK_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_create_update_delete, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_input_changes_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list_pages_at_one_revision, setup, teardown),
		cmocka_unit_test_setup_teardown(test_watch_events, setup, teardown),
		cmocka_unit_test_setup_teardown(test_writes_of_another_process_arrive_by_polling,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_ttl_expiry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrent_writers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cas_counter_under_contention, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lost_commit_answer_is_not_applied_twice, setup,
						teardown),
		cmocka_unit_test(test_unreachable_cluster),
		cmocka_unit_test(test_keys),
	};
	return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
