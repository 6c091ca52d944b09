/*
 * Container logs for `kubectl logs`: the CRI format, the reader over N.log
 * and its rotated files (joining, tail, since, limits, timestamps,
 * following across rotations), and the pods/log options and container
 * instance rules.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../core/api/cri_log.h"
#include "../../core/api/pod_log.h"
#include "../../core/base/err.h"

static char dir[64];
static char logp[128]; /* dir/0.log */

static int setup(void **state)
{
	snprintf(dir, sizeof dir, "/tmp/mk-crilog.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(logp, sizeof logp, "%s/0.log", dir);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void write_file(const char *path, const char *mode, const char *text)
{
	FILE *f = fopen(path, mode);
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
	fclose(f);
}

/* A record at 10:00:SS on 2026-11-28. */
static void rec(struct mk_buf *b, int sec, const char *stream, const char *tag, const char *text)
{
	char line[2048];
	int n = snprintf(line, sizeof line, "2026-11-28T10:00:%02d.5Z %s %s %s\n", sec, stream,
			 tag, text);
	assert_true(n > 0 && (size_t)n < sizeof line);
	assert_int_equal(mk_buf_append(b, line, (size_t)n), 0);
}

/* Writes (mode "w") or appends ("a") b's bytes to path; empties b. */
static void flush_to(const char *path, const char *mode, struct mk_buf *b)
{
	assert_int_equal(mk_buf_append(b, "", 1), 0);
	write_file(path, mode, (const char *)b->data);
	mk_buf_reset(b);
}

static void put_file(const char *path, struct mk_buf *b)
{
	flush_to(path, "w", b);
}

static struct cri_read_options opts(void)
{
	struct cri_read_options o = {0};
	o.tail_lines = -1;
	return o;
}

/* Everything the reader produces for `o`, finished, NUL-terminated. */
static char *read_all(const struct cri_read_options *o, uint64_t *skipped)
{
	struct cri_reader *r;
	char err[256];
	struct mk_buf out = MK_BUF_INIT;
	assert_int_equal(cri_reader_open(logp, o, &r, err, sizeof err), 0);
	int rv;
	while ((rv = cri_reader_read(r, &out, 7)) == CRI_READ_MORE)
		;
	assert_true(rv == CRI_READ_EOF || rv == CRI_READ_DONE);
	if (rv == CRI_READ_EOF)
		assert_int_equal(cri_reader_finish(r, &out), 0);
	if (skipped)
		*skipped = cri_reader_skipped(r);
	cri_reader_close(r);
	mk_buf_append(&out, "", 1);
	return (char *)out.data;
}

static void expect_log(const struct cri_read_options *o, const char *want)
{
	char *got = read_all(o, NULL);
	assert_string_equal(got, want);
	free(got);
}

/* --- the format ------------------------------------------------------------ */

static void test_time_parse_and_format(void **state)
{
	struct cri_time t;
	char out[CRI_TIME_MAX];
	const char *s = "2026-11-28T09:41:25.123456789Z";
	assert_int_equal(cri_time_parse(s, strlen(s), &t), 0);
	assert_int_equal(t.sec, 1795858885);
	assert_int_equal(t.nsec, 123456789);
	cri_time_format(&t, out);
	assert_string_equal(out, s);
	/* kubelet prints nine digits and keeps the zone it parsed. */
	s = "2026-11-28T09:41:25.12+05:30";
	assert_int_equal(cri_time_parse(s, strlen(s), &t), 0);
	assert_int_equal(t.sec, 1795858885 - 5 * 3600 - 1800);
	cri_time_format(&t, out);
	assert_string_equal(out, "2026-11-28T09:41:25.120000000+05:30");
	s = "2024-02-29T00:00:00-01:00";
	assert_int_equal(cri_time_parse(s, strlen(s), &t), 0);
	cri_time_format(&t, out);
	assert_string_equal(out, "2024-02-29T00:00:00.000000000-01:00");
	/* More than nine digits: the rest is ignored, as Go does. */
	s = "2026-11-28T09:41:25.1234567891Z";
	assert_int_equal(cri_time_parse(s, strlen(s), &t), 0);
	assert_int_equal(t.nsec, 123456789);
	const char *bad[] = {"", "2026-11-28T09:41:25", "2026-11-28 09:41:25Z",
			     "2026-13-28T09:41:25Z", "2026-02-29T09:41:25Z", "2026-11-28T24:00:00Z",
			     "2026-11-28T09:60:00Z", "2026-11-28T09:41:60Z", "2026-11-28T09:41:25.Z",
			     "2026-11-28T09:41:25Zx", "2026-11-28T09:41:25+0530",
			     "2026-11-28T09:41:25+25:00", "2O26-11-28T09:41:25Z"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(cri_time_parse(bad[i], strlen(bad[i]), &t), MK_EINVAL);
	struct cri_time a = {100, 5, 0}, b = {100, 6, 3600}, c = {99, 999999999, 0};
	assert_true(cri_time_cmp(&a, &b) < 0);
	assert_true(cri_time_cmp(&b, &a) > 0);
	assert_true(cri_time_cmp(&c, &a) < 0);
	assert_int_equal(cri_time_cmp(&a, &a), 0);
}

static void test_record_parse(void **state)
{
	struct cri_record r;
	const char *why = NULL;
	const char *l = "2026-11-28T09:41:25.1Z stdout F hello world";
	assert_int_equal(cri_record_parse(l, strlen(l), &r, &why), 0);
	assert_int_equal(r.stream, CRI_STDOUT);
	assert_false(r.partial);
	assert_int_equal(r.len, 11);
	assert_memory_equal(r.content, "hello world", 11);
	l = "2026-11-28T09:41:25.1Z stderr P:more  two spaces ";
	assert_int_equal(cri_record_parse(l, strlen(l), &r, &why), 0);
	assert_int_equal(r.stream, CRI_STDERR);
	assert_true(r.partial);
	assert_int_equal(r.len, strlen(" two spaces "));
	/* An empty line, with or without the space after the tag. */
	l = "2026-11-28T09:41:25.1Z stdout F";
	assert_int_equal(cri_record_parse(l, strlen(l), &r, &why), 0);
	assert_int_equal(r.len, 0);
	l = "2026-11-28T09:41:25.1Z stdout F ";
	assert_int_equal(cri_record_parse(l, strlen(l), &r, &why), 0);
	assert_int_equal(r.len, 0);
	assert_true(cri_line_ends_line("2026-11-28T09:41:25.1Z stdout F x", 33));
	assert_false(cri_line_ends_line("2026-11-28T09:41:25.1Z stdout P x", 33));
	assert_false(cri_line_ends_line("garbage", 7));
	const char *bad[] = {"", "no-spaces", "2026-11-28T09:41:25.1Z", "2026-11-28T09:41:25.1Z stdout",
			     "2026-11-28T09:41:25.1Z stdin F x", "yesterday stdout F x"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		why = NULL;
		assert_int_equal(cri_record_parse(bad[i], strlen(bad[i]), &r, &why), MK_EINVAL);
		assert_non_null(why);
	}
}

/* --- reading ------------------------------------------------------------------ */

static void test_join_partials_per_stream(void **state)
{
	struct mk_buf b = MK_BUF_INIT;
	rec(&b, 1, "stdout", "P", "hel");
	rec(&b, 2, "stderr", "F", "oops");
	rec(&b, 3, "stdout", "P", "lo ");
	rec(&b, 4, "stdout", "F", "world");
	mk_buf_append(&b, "not a record\n", 13);
	rec(&b, 5, "stdout", "F", "");
	rec(&b, 6, "stdout", "F", "end");
	put_file(logp, &b);
	mk_buf_free(&b);
	struct cri_read_options o = opts();
	uint64_t skipped;
	char *got = read_all(&o, &skipped);
	assert_string_equal(got, "oops\nhello world\n\nend\n");
	assert_int_equal(skipped, 1);
	free(got);
	/* The timestamp of a joined line is its first record's. */
	o.timestamps = true;
	expect_log(&o, "2026-11-28T10:00:02.500000000Z oops\n"
		       "2026-11-28T10:00:01.500000000Z hello world\n"
		       "2026-11-28T10:00:05.500000000Z \n"
		       "2026-11-28T10:00:06.500000000Z end\n");
}

static void test_missing_log_is_empty(void **state)
{
	struct cri_read_options o = opts();
	expect_log(&o, "");
	o.tail_lines = 3;
	expect_log(&o, "");
}

/* N.log.2 (oldest), N.log.1, N.log: lines 0-3, 4-7, 8-9. */
static void three_files(void)
{
	struct mk_buf b = MK_BUF_INIT;
	char path[160], text[16];
	for (int i = 0; i < 10; i++) {
		snprintf(text, sizeof text, "line %d", i);
		if (i == 5) {
			rec(&b, i, "stdout", "P", "li"); /* a joined line inside a file */
			rec(&b, i, "stdout", "F", "ne 5");
		} else {
			rec(&b, i, "stdout", "F", text);
		}
		if (i == 3 || i == 7 || i == 9) {
			snprintf(path, sizeof path, "%s%s", logp, i == 3 ? ".2" : i == 7 ? ".1" : "");
			put_file(path, &b);
		}
	}
	mk_buf_free(&b);
}

static void test_rotated_files_in_order(void **state)
{
	three_files();
	struct cri_read_options o = opts();
	expect_log(&o, "line 0\nline 1\nline 2\nline 3\nline 4\nline 5\nline 6\nline 7\n"
		       "line 8\nline 9\n");
}

static void test_tail_across_files(void **state)
{
	three_files();
	struct cri_read_options o = opts();
	o.tail_lines = 0;
	expect_log(&o, "");
	o.tail_lines = 1;
	expect_log(&o, "line 9\n");
	o.tail_lines = 2;
	expect_log(&o, "line 8\nline 9\n");
	o.tail_lines = 5; /* crosses into N.log.1, through a joined line */
	expect_log(&o, "line 5\nline 6\nline 7\nline 8\nline 9\n");
	o.tail_lines = 7;
	expect_log(&o, "line 3\nline 4\nline 5\nline 6\nline 7\nline 8\nline 9\n");
	o.tail_lines = 100;
	expect_log(&o, "line 0\nline 1\nline 2\nline 3\nline 4\nline 5\nline 6\nline 7\n"
		       "line 8\nline 9\n");
	o.tail_lines = INT64_MAX;
	expect_log(&o, "line 0\nline 1\nline 2\nline 3\nline 4\nline 5\nline 6\nline 7\n"
		       "line 8\nline 9\n");
}

/* Tail reads from the end: files older than the lines it needs are never
 * read (here the oldest "file" cannot be read at all). */
static void test_tail_reads_only_what_it_needs(void **state)
{
	three_files();
	char path[160];
	snprintf(path, sizeof path, "%s.3", logp);
	assert_int_equal(mkdir(path, 0700), 0); /* read() would fail: EISDIR */
	struct cri_read_options o = opts();
	o.tail_lines = 3;
	expect_log(&o, "line 7\nline 8\nline 9\n");
	/* A big current file: the tail comes from its last block. */
	struct mk_buf b = MK_BUF_INIT;
	for (int i = 0; i < 40000; i++)
		rec(&b, i % 60, "stdout", "F", "filler filler filler filler filler filler");
	rec(&b, 0, "stderr", "F", "last but one");
	rec(&b, 0, "stdout", "F", "last");
	put_file(logp, &b);
	mk_buf_free(&b);
	o.tail_lines = 2;
	expect_log(&o, "last but one\nlast\n");
}

static void test_since(void **state)
{
	three_files();
	struct cri_read_options o = opts();
	o.has_since = true;
	const char *s = "2026-11-28T10:00:06.5Z";
	assert_int_equal(cri_time_parse(s, strlen(s), &o.since), 0);
	expect_log(&o, "line 6\nline 7\nline 8\nline 9\n");
	/* Since applies to whole lines, by their first record. */
	s = "2026-11-28T10:00:05.5Z";
	assert_int_equal(cri_time_parse(s, strlen(s), &o.since), 0);
	o.tail_lines = 2;
	expect_log(&o, "line 8\nline 9\n");
	o.tail_lines = -1;
	expect_log(&o, "line 5\nline 6\nline 7\nline 8\nline 9\n");
	s = "2030-01-01T00:00:00Z";
	assert_int_equal(cri_time_parse(s, strlen(s), &o.since), 0);
	expect_log(&o, "");
}

static void test_limit_bytes(void **state)
{
	three_files();
	struct cri_read_options o = opts();
	o.limit_bytes = 10;
	expect_log(&o, "line 0\nlin");
	o.limit_bytes = 14;
	expect_log(&o, "line 0\nline 1\n");
	/* Prefixes count. */
	o.timestamps = true;
	o.tail_lines = 1;
	o.limit_bytes = 33;
	expect_log(&o, "2026-11-28T10:00:09.500000000Z li");
}

static void test_unfinished_lines(void **state)
{
	struct mk_buf b = MK_BUF_INIT;
	rec(&b, 1, "stdout", "F", "done");
	rec(&b, 2, "stdout", "P", "half a line");
	mk_buf_append(&b, "2026-11-28T10:00:03.5Z stderr F cut", 35); /* no newline yet */
	put_file(logp, &b);
	mk_buf_free(&b);
	struct cri_read_options o = opts();
	struct cri_reader *r;
	char err[128];
	struct mk_buf out = MK_BUF_INIT;
	assert_int_equal(cri_reader_open(logp, &o, &r, err, sizeof err), 0);
	assert_int_equal(cri_reader_read(r, &out, 1 << 20), CRI_READ_EOF);
	assert_int_equal(out.len, 5); /* only the complete line */
	assert_memory_equal(out.data, "done\n", 5);
	/* The end: the record without newline, then the line never ended,
	 * both without a final newline, as kubelet shows them. */
	assert_int_equal(cri_reader_finish(r, &out), 0);
	mk_buf_append(&out, "", 1);
	assert_string_equal((char *)out.data, "done\ncuthalf a line");
	cri_reader_close(r);
	mk_buf_free(&out);
}

static void test_bounded_memory(void **state)
{
	/* A record over CRI_MAX_RECORD is dropped, the next one is read. */
	size_t big = CRI_MAX_RECORD + 100;
	char *line = malloc(big + 64);
	int n = snprintf(line, 64, "2026-11-28T10:00:01Z stdout F ");
	memset(line + n, 'x', big);
	memcpy(line + n + big, "\n", 2);
	write_file(logp, "w", line);
	free(line);
	struct mk_buf b = MK_BUF_INIT;
	rec(&b, 2, "stdout", "F", "after");
	flush_to(logp, "a", &b);
	struct cri_read_options o = opts();
	uint64_t skipped;
	char *got = read_all(&o, &skipped);
	assert_string_equal(got, "after\n");
	assert_int_equal(skipped, 1);
	free(got);
	/* A line of many partial records goes out in pieces, one prefix. */
	char piece[1025];
	memset(piece, 'y', 1024);
	piece[1024] = '\0';
	size_t pieces = CRI_MAX_PENDING / 1024 + 10;
	for (size_t i = 0; i < pieces; i++)
		rec(&b, 3, "stdout", "P", piece);
	rec(&b, 4, "stdout", "F", "z");
	put_file(logp, &b);
	mk_buf_free(&b);
	o.timestamps = true;
	got = read_all(&o, NULL);
	const char *prefix = "2026-11-28T10:00:03.500000000Z ";
	assert_int_equal(strlen(got), strlen(prefix) + pieces * 1024 + 2);
	assert_memory_equal(got, prefix, strlen(prefix));
	assert_null(strstr(got + 1, "2026-"));
	assert_string_equal(got + strlen(got) - 3, "yz\n");
	free(got);
}

static void test_follow_growth_and_rotation(void **state)
{
	struct cri_read_options o = opts();
	o.follow = true;
	struct cri_reader *r;
	char err[128], rotated[160];
	struct mk_buf out = MK_BUF_INIT, b = MK_BUF_INIT;
	/* Not written yet: an empty log that the reader picks up. */
	assert_int_equal(cri_reader_open(logp, &o, &r, err, sizeof err), 0);
	assert_int_equal(cri_reader_read(r, &out, 1 << 20), CRI_READ_EOF);
	assert_int_equal(out.len, 0);
	rec(&b, 1, "stdout", "F", "one");
	put_file(logp, &b);
	assert_int_equal(cri_reader_read(r, &out, 1 << 20), CRI_READ_EOF);
	/* Growth, a record in two writes. */
	write_file(logp, "a", "2026-11-28T10:00:02Z stdout F tw");
	assert_int_equal(cri_reader_read(r, &out, 1 << 20), CRI_READ_EOF);
	write_file(logp, "a", "o\n");
	assert_int_equal(cri_reader_read(r, &out, 1 << 20), CRI_READ_EOF);
	/* Rotation: a last record lands in the old file after we read it,
	 * then the writer renames it and starts a new N.log. */
	rec(&b, 3, "stdout", "F", "three");
	flush_to(logp, "a", &b);
	snprintf(rotated, sizeof rotated, "%s.1", logp);
	assert_int_equal(rename(logp, rotated), 0);
	rec(&b, 4, "stdout", "F", "four");
	put_file(logp, &b);
	assert_int_equal(cri_reader_read(r, &out, 1 << 20), CRI_READ_EOF);
	rec(&b, 5, "stdout", "F", "five");
	flush_to(logp, "a", &b);
	mk_buf_free(&b);
	assert_int_equal(cri_reader_read(r, &out, 1 << 20), CRI_READ_EOF);
	assert_int_equal(cri_reader_finish(r, &out), 0);
	mk_buf_append(&out, "", 1);
	assert_string_equal((char *)out.data, "one\ntwo\nthree\nfour\nfive\n");
	cri_reader_close(r);
	mk_buf_free(&out);
}

static void test_follow_tail_zero_sees_only_new(void **state)
{
	three_files();
	struct cri_read_options o = opts();
	o.follow = true;
	o.tail_lines = 0;
	struct cri_reader *r;
	char err[128];
	struct mk_buf out = MK_BUF_INIT, b = MK_BUF_INIT;
	assert_int_equal(cri_reader_open(logp, &o, &r, err, sizeof err), 0);
	assert_int_equal(cri_reader_read(r, &out, 1 << 20), CRI_READ_EOF);
	assert_int_equal(out.len, 0);
	rec(&b, 10, "stdout", "F", "new");
	flush_to(logp, "a", &b);
	mk_buf_free(&b);
	assert_int_equal(cri_reader_read(r, &out, 1 << 20), CRI_READ_EOF);
	mk_buf_append(&out, "", 1);
	assert_string_equal((char *)out.data, "new\n");
	cri_reader_close(r);
	mk_buf_free(&out);
}

/* --- pods/log options and instances ----------------------------------------- */

static json_t *parse_opts(const char *query, struct pod_log_options *o)
{
	struct api_query q;
	struct cri_time now = {1000000, 0, 0};
	json_t *status = NULL;
	assert_int_equal(api_query_parse(query, &q), 0);
	int rv = pod_log_options_parse(&q, "web", &now, o, &status);
	api_query_free(&q);
	assert_true(rv == MK_OK ? status == NULL : status != NULL);
	return status;
}

static void expect_refused(const char *query, int code, const char *message)
{
	struct pod_log_options o;
	json_t *st = parse_opts(query, &o);
	assert_non_null(st);
	assert_int_equal(json_integer_value(json_object_get(st, "code")), code);
	assert_string_equal(json_string_value(json_object_get(st, "message")), message);
	json_decref(st);
}

static void test_options(void **state)
{
	struct pod_log_options o;
	assert_null(parse_opts("container=b&follow=true&previous=True&timestamps=1&tailLines=10&"
			       "limitBytes=500&sinceSeconds=60&pretty=true&"
			       "insecureSkipTLSVerifyBackend=true", &o));
	assert_string_equal(o.container, "b");
	assert_true(o.follow && o.previous && o.read.timestamps && o.read.follow);
	assert_int_equal(o.read.tail_lines, 10);
	assert_int_equal(o.read.limit_bytes, 500);
	assert_true(o.read.has_since);
	assert_int_equal(o.read.since.sec, 1000000 - 60);
	pod_log_options_free(&o);
	assert_null(parse_opts("follow=false&previous=0&sinceTime=2026-11-28T10:00:00Z", &o));
	assert_null(o.container);
	assert_false(o.follow || o.previous || o.read.timestamps);
	assert_int_equal(o.read.tail_lines, -1);
	assert_int_equal(o.read.limit_bytes, 0);
	assert_true(o.read.has_since);
	assert_int_equal(o.read.since.sec, 1795860000);
	pod_log_options_free(&o);
	expect_refused("tailLines=-1", 422, "PodLogOptions \"web\" is invalid: tailLines: Invalid "
		       "value: -1: must be greater than or equal to 0");
	expect_refused("limitBytes=0&tailLines=-2", 422, "PodLogOptions \"web\" is invalid: "
		       "[tailLines: Invalid value: -2: must be greater than or equal to 0, "
		       "limitBytes: Invalid value: 0: must be greater than 0]");
	expect_refused("sinceSeconds=0", 422, "PodLogOptions \"web\" is invalid: sinceSeconds: "
		       "Invalid value: 0: must be greater than 0");
	expect_refused("sinceSeconds=5&sinceTime=2026-11-28T10:00:00Z", 422,
		       "PodLogOptions \"web\" is invalid: : Forbidden: at most one of `sinceTime` "
		       "or `sinceSeconds` may be specified");
	expect_refused("tailLines=ten", 400, "invalid tailLines \"ten\": must be an integer");
	expect_refused("limitBytes=1e3", 400, "invalid limitBytes \"1e3\": must be an integer");
	expect_refused("sinceTime=yesterday", 400, "invalid sinceTime \"yesterday\": must be an "
		       "RFC 3339 time such as 2006-01-02T15:04:05Z");
	json_t *st = parse_opts("tailLines=-1", &o);
	json_t *details = json_object_get(st, "details");
	assert_string_equal(json_string_value(json_object_get(details, "kind")), "PodLogOptions");
	assert_string_equal(json_string_value(json_object_get(json_array_get(
				    json_object_get(details, "causes"), 0), "field")), "tailLines");
	assert_string_equal(json_string_value(json_object_get(st, "reason")), "Invalid");
	json_decref(st);
}

static json_t *pod(const char *json)
{
	json_error_t e;
	json_t *p = json_loads(json, 0, &e);
	assert_non_null(p);
	return p;
}

#define TWO_CONTAINERS \
	"{\"metadata\":{\"uid\":\"u1\"},\"spec\":{\"nodeName\":\"n\",\"initContainers\":" \
	"[{\"name\":\"init\"}],\"containers\":[{\"name\":\"a\"},{\"name\":\"b\"}]},"

static void expect_target_error(const char *json, const char *container, bool previous,
				const char *message)
{
	json_t *p = pod(json);
	struct pod_log_target t;
	char err[512];
	assert_int_equal(pod_log_target(p, "web", container, previous, &t, err, sizeof err),
			 MK_EINVAL);
	assert_string_equal(err, message);
	json_decref(p);
}

static void expect_target(const char *json, const char *container, bool previous,
			  const char *want_container, int64_t instance, bool running)
{
	json_t *p = pod(json);
	struct pod_log_target t;
	char err[512];
	assert_int_equal(pod_log_target(p, "web", container, previous, &t, err, sizeof err), 0);
	assert_string_equal(t.container, want_container);
	assert_int_equal(t.instance, instance);
	assert_int_equal(t.running, running);
	json_decref(p);
}

static void test_targets(void **state)
{
	const char *none = TWO_CONTAINERS "\"status\":{}}";
	expect_target_error(none, NULL, false, "a container name must be specified for pod web, "
			    "choose one of: [init a b]");
	expect_target_error(none, "c", false, "container c is not valid for pod web");
	expect_target_error(none, "a", false, "container \"a\" in pod \"web\" is not available");
	const char *st = TWO_CONTAINERS "\"status\":{\"initContainerStatuses\":[{\"name\":\"init\","
		"\"restartCount\":0,\"state\":{\"terminated\":{\"exitCode\":0}}}],"
		"\"containerStatuses\":["
		"{\"name\":\"a\",\"restartCount\":2,\"state\":{\"running\":{}},"
		"\"lastState\":{\"terminated\":{\"exitCode\":1}}},"
		"{\"name\":\"b\",\"restartCount\":0,\"state\":{\"waiting\":{\"reason\":"
		"\"ContainerCreating\"}}}]}}";
	expect_target(st, "a", false, "a", 2, true);
	expect_target(st, "a", true, "a", 1, false);
	expect_target(st, "init", false, "init", 0, false);
	expect_target_error(st, "init", true, "previous terminated container \"init\" in pod "
			    "\"web\" not found");
	expect_target_error(st, "b", false, "container \"b\" in pod \"web\" is waiting to start: "
			    "ContainerCreating");
	expect_target_error(TWO_CONTAINERS "\"status\":{\"containerStatuses\":[{\"name\":\"b\","
			    "\"state\":{\"waiting\":{\"reason\":\"ImagePullBackOff\"}}}]}}", "b",
			    false, "container \"b\" in pod \"web\" is waiting to start: trying and "
			    "failing to pull image");
	expect_target_error(TWO_CONTAINERS "\"status\":{\"containerStatuses\":[{\"name\":\"b\","
			    "\"state\":{}}]}}", "b", false,
			    "container \"b\" in pod \"web\" is waiting to start - no logs yet");
	/* Crash loop: waiting, the last instance's log is shown; the node
	 * agent's container IDs name the instance exactly. */
	const char *crash = TWO_CONTAINERS "\"status\":{\"containerStatuses\":[{\"name\":\"a\","
		"\"restartCount\":3,\"state\":{\"waiting\":{\"reason\":\"CrashLoopBackOff\"}},"
		"\"lastState\":{\"terminated\":{\"containerID\":\"mk://u1-a-3\"}}}]}}";
	expect_target(crash, "a", false, "a", 3, false);
	expect_target(crash, "a", true, "a", 3, false);
	/* One container: no name needed; unscheduled: an empty log. */
	json_t *p = pod("{\"metadata\":{\"uid\":\"u\"},\"spec\":{\"containers\":[{\"name\":\"x\"}]}}");
	struct pod_log_target t;
	char err[256];
	assert_int_equal(pod_log_target(p, "web", NULL, false, &t, err, sizeof err), 0);
	assert_string_equal(t.container, "x");
	assert_true(t.unscheduled);
	json_decref(p);
	expect_target_error("{\"spec\":{\"nodeName\":\"n\",\"containers\":[]}}", NULL, false,
			    "a container name must be specified for pod web");
}

static void test_still_running_and_path(void **state)
{
	json_t *p = pod(TWO_CONTAINERS "\"status\":{\"containerStatuses\":[{\"name\":\"a\","
			"\"restartCount\":2,\"state\":{\"running\":{}}}]}}");
	assert_true(pod_log_still_running(p, "u1", "a", 2));
	assert_false(pod_log_still_running(p, "u1", "a", 1)); /* restarted since */
	assert_false(pod_log_still_running(p, "u2", "a", 2)); /* another pod, same name */
	assert_false(pod_log_still_running(p, "u1", "b", 0));
	assert_false(pod_log_still_running(NULL, "u1", "a", 2));
	json_decref(p);
	char path[256];
	assert_int_equal(pod_log_path(path, sizeof path, "/d", "ns", "web", "u1", "a", 3), 0);
	assert_string_equal(path, "/d/logs/pods/ns_web_u1/a/3.log");
	assert_int_equal(pod_log_path(path, sizeof path, "/d", "ns", "web", "u1", "..", 3),
			 MK_EINVAL);
	assert_int_equal(pod_log_path(path, sizeof path, "/d", "ns", "a/b", "u1", "a", 3),
			 MK_EINVAL);
	assert_int_equal(pod_log_path(path, sizeof path, "/d", "", "web", "u1", "a", 3), MK_EINVAL);
	assert_int_equal(pod_log_path(path, 10, "/d", "ns", "web", "u1", "a", 3), MK_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_time_parse_and_format),
		cmocka_unit_test(test_record_parse),
		cmocka_unit_test_setup_teardown(test_join_partials_per_stream, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_log_is_empty, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rotated_files_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tail_across_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tail_reads_only_what_it_needs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_since, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limit_bytes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unfinished_lines, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bounded_memory, setup, teardown),
		cmocka_unit_test_setup_teardown(test_follow_growth_and_rotation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_follow_tail_zero_sees_only_new, setup, teardown),
		cmocka_unit_test(test_options),
		cmocka_unit_test(test_targets),
		cmocka_unit_test(test_still_running_and_path),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
