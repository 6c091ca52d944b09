/*
 * The CRI log writer of mk-shim: records, partial lines, rotation.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../core/node/log_writer.h"

static char dir[64];

static int setup(void **state)
{
	snprintf(dir, sizeof dir, "/tmp/mk-logw.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	static char buf[1 << 20];
	size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
	if (f)
		fclose(f);
	buf[n] = '\0';
	return buf;
}

/* Each line "TS STREAM TAG CONTENT": checks all but the timestamp. */
static void expect_records(const char *text, const char *const *want, size_t n)
{
	size_t i = 0;
	const char *p = text;
	while (*p) {
		const char *nl = strchr(p, '\n');
		assert_non_null(nl);
		const char *sp = strchr(p, ' ');
		assert_non_null(sp);
		/* 2026-11-28T09:41:25.123456789Z */
		assert_int_equal(sp - p, 30);
		assert_int_equal(p[10], 'T');
		assert_int_equal(p[29], 'Z');
		assert_true(i < n);
		assert_int_equal((size_t)(nl - sp - 1), strlen(want[i]));
		assert_memory_equal(sp + 1, want[i], strlen(want[i]));
		i++;
		p = nl + 1;
	}
	assert_int_equal(i, n);
}

static void test_lines_and_streams(void **state)
{
	struct log_writer w;
	char path[128];
	snprintf(path, sizeof path, "%s/0.log", dir);
	assert_int_equal(log_writer_open(&w, path, 0, 1), 0);
	log_writer_feed(&w, LOG_STDOUT, "hel", 3);
	log_writer_feed(&w, LOG_STDERR, "oops\n", 5);
	log_writer_feed(&w, LOG_STDOUT, "lo\n\nworld", 9);
	log_writer_flush(&w, LOG_STDOUT);
	log_writer_flush(&w, LOG_STDERR); /* nothing pending: no record */
	log_writer_close(&w);
	const char *want[] = { "stderr F oops", "stdout F hello", "stdout F ", "stdout F world" };
	expect_records(slurp(path), want, 4);
}

static void test_long_line_is_partial(void **state)
{
	struct log_writer w;
	char path[128];
	snprintf(path, sizeof path, "%s/long.log", dir);
	assert_int_equal(log_writer_open(&w, path, 0, 1), 0);
	size_t n = LOG_WRITER_MAX_LINE + 10;
	char *big = malloc(n + 1);
	memset(big, 'x', n);
	big[n] = '\n';
	log_writer_feed(&w, LOG_STDOUT, big, n + 1);
	log_writer_close(&w);
	free(big);
	const char *text = slurp(path);
	assert_non_null(strstr(text, " stdout P xxxx"));
	assert_non_null(strstr(text, " stdout F xxxxxxxxxx\n"));
}

static void test_rotation_keeps_max_files(void **state)
{
	struct log_writer w;
	char path[128], p1[140], p2[140], p3[140];
	snprintf(path, sizeof path, "%s/3.log", dir);
	snprintf(p1, sizeof p1, "%s.1", path);
	snprintf(p2, sizeof p2, "%s.2", path);
	snprintf(p3, sizeof p3, "%s.3", path);
	/* Records are ~50 bytes: a 120-byte file holds two. */
	assert_int_equal(log_writer_open(&w, path, 120, 3), 0);
	for (int i = 0; i < 10; i++) {
		char line[32];
		int k = snprintf(line, sizeof line, "line %d\n", i);
		log_writer_feed(&w, LOG_STDOUT, line, (size_t)k);
	}
	log_writer_close(&w);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_true(st.st_size <= 120);
	assert_int_equal(stat(p1, &st), 0);
	assert_int_equal(stat(p2, &st), 0);
	assert_int_not_equal(stat(p3, &st), 0); /* max_files 3: current + .1 + .2 */
	assert_non_null(strstr(slurp(path), "line 9"));
	assert_non_null(strstr(slurp(p1), "line 7"));
	assert_null(strstr(slurp(p2), "line 0")); /* the oldest were dropped */
}

static void test_reopen_appends(void **state)
{
	struct log_writer w;
	char path[128];
	snprintf(path, sizeof path, "%s/a.log", dir);
	assert_int_equal(log_writer_open(&w, path, 0, 1), 0);
	log_writer_feed(&w, LOG_STDOUT, "one\n", 4);
	log_writer_close(&w);
	assert_int_equal(log_writer_open(&w, path, 0, 1), 0);
	assert_true(w.size > 0);
	log_writer_feed(&w, LOG_STDOUT, "two\n", 4);
	log_writer_close(&w);
	const char *want[] = { "stdout F one", "stdout F two" };
	expect_records(slurp(path), want, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_lines_and_streams, setup, teardown),
		cmocka_unit_test_setup_teardown(test_long_line_is_partial, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rotation_keeps_max_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reopen_appends, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
