/*
 * atomic_writer.h: kubelet's ..data layout, updates readers never see
 * half-done, stale keys, subdirectories, modes, owners, bad paths.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../../core/base/err.h"
#include "../../core/node/atomic_writer.h"

static char dir[64];

static int setup(void **state)
{
	snprintf(dir, sizeof dir, "/tmp/mk-aw.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

#define F(p, s, m) {(p), (s), sizeof(s) - 1, (m)}

static const char *slurp(const char *rel)
{
	static char buf[4096];
	char p[256];
	snprintf(p, sizeof p, "%s/%s", dir, rel);
	FILE *f = fopen(p, "r");
	if (f == NULL)
		return NULL;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	return buf;
}

static const char *link_of(const char *rel)
{
	static char buf[256];
	char p[256];
	snprintf(p, sizeof p, "%s/%s", dir, rel);
	ssize_t r = readlink(p, buf, sizeof buf - 1);
	buf[r > 0 ? r : 0] = '\0';
	return buf;
}

static mode_t mode_of(const char *rel)
{
	struct stat st;
	char p[256];
	snprintf(p, sizeof p, "%s/%s", dir, rel);
	assert_int_equal(stat(p, &st), 0);
	return st.st_mode & 07777;
}

/* Every top-level name of dir, sorted, joined with ','. */
static const char *listing(void)
{
	static char out[2048];
	struct dirent **names;
	int n = scandir(dir, &names, NULL, alphasort);
	out[0] = '\0';
	for (int i = 0; i < n; i++) {
		if (strcmp(names[i]->d_name, ".") && strcmp(names[i]->d_name, "..")) {
			strcat(out, names[i]->d_name[0] == '.' && names[i]->d_name[1] == '.' &&
					    names[i]->d_name[2] >= '0' && names[i]->d_name[2] <= '9'
				    ? "..TS" : names[i]->d_name);
			strcat(out, ",");
		}
		free(names[i]);
	}
	free(names);
	return out;
}

/* Makes every timestamped dir but the current one look retired an hour
 * ago, so the next call collects it (instead of waiting out the grace). */
static int age_retired(void)
{
	char cur[128], p[256];
	struct dirent **names;
	int aged = 0, n = scandir(dir, &names, NULL, alphasort);
	snprintf(cur, sizeof cur, "%s", link_of("..data"));
	for (int i = 0; i < n; i++) {
		const char *s = names[i]->d_name;
		if (s[0] == '.' && s[1] == '.' && s[2] >= '0' && s[2] <= '9' && strcmp(s, cur) != 0) {
			struct timespec t[2] = {{time(NULL) - 3600, 0}, {time(NULL) - 3600, 0}};
			snprintf(p, sizeof p, "%s/%s", dir, s);
			assert_int_equal(utimensat(AT_FDCWD, p, t, 0), 0);
			aged++;
		}
		free(names[i]);
	}
	free(names);
	return aged;
}

static void write_ok(const struct atomic_file *f, size_t n, int want_changed)
{
	char err[256];
	int changed = -1;
	int rv = atomic_write(dir, f, n, (uid_t)-1, (gid_t)-1, &changed, err, sizeof err);
	if (rv != 0)
		fail_msg("atomic_write: %s", err);
	assert_int_equal(changed, want_changed);
}

static void test_create_and_layout(void **state)
{
	struct atomic_file f[] = {F("key", "value-1", 0644), F("conf/app.yaml", "a: 1\n", 0600),
				  F("conf/deep/x", "", 0400)};
	write_ok(f, 3, 1);
	assert_string_equal(slurp("key"), "value-1");
	assert_string_equal(slurp("conf/app.yaml"), "a: 1\n");
	assert_string_equal(slurp("conf/deep/x"), "");
	assert_string_equal(link_of("key"), "..data/key");
	assert_string_equal(link_of("conf"), "..data/conf");
	assert_memory_equal(link_of("..data"), "..20", 4); /* ..YYYY_... */
	assert_string_equal(listing(), "..TS,..data,conf,key,");
	assert_int_equal(mode_of("key"), 0644);
	assert_int_equal(mode_of("conf/app.yaml"), 0600);
	assert_int_equal(mode_of("conf/deep/x"), 0400);
	assert_int_equal(mode_of("conf/deep"), 0755);
	assert_int_equal(mode_of("..data"), 0755);
}

static void test_unchanged_writes_nothing(void **state)
{
	struct atomic_file f[] = {F("key", "v", 0644), F("sub/k2", "w", 0644)};
	struct stat st1, st2;
	char p[128], ts[128];
	write_ok(f, 2, 1);
	snprintf(p, sizeof p, "%s/key", dir);
	assert_int_equal(stat(p, &st1), 0);
	snprintf(ts, sizeof ts, "%s", link_of("..data"));
	write_ok(f, 2, 0);
	assert_int_equal(stat(p, &st2), 0);
	assert_int_equal(st1.st_ino, st2.st_ino);
	assert_string_equal(link_of("..data"), ts);

	/* A mode change alone is a change. */
	f[0].mode = 0640;
	write_ok(f, 2, 1);
	assert_int_equal(mode_of("key"), 0640);
	assert_string_not_equal(link_of("..data"), ts);
	/* So is a deleted symlink: it is put back. */
	unlink(p);
	write_ok(f, 2, 1);
	assert_string_equal(slurp("key"), "v");
	write_ok(f, 2, 0);
}

static void test_update_and_stale_keys(void **state)
{
	struct atomic_file v1[] = {F("a", "1", 0644), F("b", "1", 0644), F("dir/c", "1", 0644)};
	struct atomic_file v2[] = {F("a", "2", 0644), F("new", "2", 0644)};
	char ts1[128];
	write_ok(v1, 3, 1);
	snprintf(ts1, sizeof ts1, "%s", link_of("..data"));
	/* A file of the user's (not a link into ..data) is not ours to remove. */
	char p[128];
	snprintf(p, sizeof p, "%s/user-file", dir);
	FILE *uf = fopen(p, "w");
	fclose(uf);

	write_ok(v2, 2, 1);
	assert_string_equal(slurp("a"), "2");
	assert_string_equal(slurp("new"), "2");
	assert_null(slurp("b"));
	assert_null(slurp("dir/c"));
	/* The old payload is retired, still there for late readers... */
	snprintf(p, sizeof p, "%s/%s/b", dir, ts1);
	assert_int_equal(access(p, F_OK), 0);
	assert_string_equal(listing(), "..TS,..TS,..data,a,new,user-file,");
	write_ok(v2, 2, 0);
	assert_int_equal(access(p, F_OK), 0);
	/* ...and collected by the first call after the grace. */
	assert_int_equal(age_retired(), 1);
	write_ok(v2, 2, 0);
	assert_string_equal(listing(), "..TS,..data,a,new,user-file,");
	assert_int_equal(access(p, F_OK), -1);

	/* Empty payload: every key goes. */
	write_ok(NULL, 0, 1);
	age_retired();
	write_ok(NULL, 0, 0);
	assert_string_equal(listing(), "..TS,..data,user-file,");
	write_ok(NULL, 0, 0);
}

static void test_paths_normalised(void **state)
{
	struct atomic_file f[] = {F("./k", "1", 0644), F("s//t/./u", "2", 0644),
				  F(".hidden", "3", 0644)};
	write_ok(f, 3, 1);
	assert_string_equal(slurp("k"), "1");
	assert_string_equal(slurp("s/t/u"), "2");
	assert_string_equal(slurp(".hidden"), "3");
	/* A dot-name that leaves the payload goes too. */
	write_ok(f, 2, 1);
	assert_null(slurp(".hidden"));
}

static void test_bad_paths_change_nothing(void **state)
{
	struct atomic_file good[] = {F("key", "v", 0644)};
	write_ok(good, 1, 1);
	char before[2048], ts[128];
	snprintf(before, sizeof before, "%s", listing());
	snprintf(ts, sizeof ts, "%s", link_of("..data"));
	struct { const char *path, *path2, *msg; } bad[] = {
		{"/etc/passwd", NULL, "must be relative"},
		{"../escape", NULL, "must not contain \"..\""},
		{"a/../../b", NULL, "must not contain \"..\""},
		{"a/..", NULL, "must not contain \"..\""},
		{"..data", NULL, "must not start with \"..\""},
		{"..2020_01_01/x", NULL, "must not start with \"..\""},
		{"", NULL, "is empty"},
		{NULL, NULL, "is empty"},
		{"./", NULL, "names no file"},
		{"k", "./k", "given twice"},
		{"a", "a/b", "both a file and the directory"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct atomic_file f[] = {F("key", "changed!", 0644), {bad[i].path, "x", 1, 0644},
					  {bad[i].path2, "y", 1, 0644}};
		char err[256] = "";
		int changed = -1;
		int rv = atomic_write(dir, f, bad[i].path2 ? 3 : 2, (uid_t)-1, (gid_t)-1, &changed,
				      err, sizeof err);
		assert_int_equal(rv, MK_EINVAL);
		assert_int_equal(changed, 0);
		if (strstr(err, bad[i].msg) == NULL || strchr(err, '\n') != NULL)
			fail_msg("path \"%s\": \"%s\" lacks \"%s\"", bad[i].path ? bad[i].path : "(null)",
				 err, bad[i].msg);
		assert_string_equal(listing(), before);
		assert_string_equal(link_of("..data"), ts);
		assert_string_equal(slurp("key"), "v");
	}
}

static void test_owner_and_leftovers(void **state)
{
	struct atomic_file f[] = {F("k", "v", 0440), F("d/k2", "w", 0640)};
	char p[160], err[256];
	struct stat st;
	int changed;
	if (geteuid() != 0)
		skip();
	/* What a crash between steps leaves: swept by the next write. */
	snprintf(p, sizeof p, "%s/..2020_01_01_00_00_00.000000001", dir);
	assert_int_equal(mkdir(p, 0755), 0);
	snprintf(p, sizeof p, "%s/..data_tmp", dir);
	assert_int_equal(symlink("nowhere", p), 0);

	age_retired();
	assert_int_equal(atomic_write(dir, f, 2, 1234, 5678, &changed, err, sizeof err), 0);
	assert_string_equal(listing(), "..TS,..data,d,k,");
	const char *owned[] = {"k", "d/k2", "d", "..data"};
	for (size_t i = 0; i < 4; i++) {
		snprintf(p, sizeof p, "%s/%s", dir, owned[i]);
		assert_int_equal(stat(p, &st), 0);
		assert_int_equal(st.st_uid, 1234);
		assert_int_equal(st.st_gid, 5678);
	}
	assert_int_equal(mode_of("k"), 0440);
	/* Same owner: unchanged; another fsGroup: rewritten. */
	assert_int_equal(atomic_write(dir, f, 2, 1234, 5678, &changed, err, sizeof err), 0);
	assert_int_equal(changed, 0);
	assert_int_equal(atomic_write(dir, f, 2, (uid_t)-1, 42, &changed, err, sizeof err), 0);
	assert_int_equal(changed, 1);
	snprintf(p, sizeof p, "%s/k", dir);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_gid, 42);
}

/* ---- readers during updates ---- */

#define GEN_LEN 64
static atomic_int stop_reading;
static atomic_long reads, bad_reads;
static char bad_what[256];

/* Content of generation g: fixed length, so a torn read is visible. */
static void gen_text(char *buf, int g, char tag)
{
	memset(buf, tag, GEN_LEN);
	int n = snprintf(buf, GEN_LEN, "gen-%06d-", g);
	buf[n] = tag;
	buf[GEN_LEN] = '\0';
}

static int valid(const char *s, size_t n, char tag)
{
	char want[GEN_LEN + 1];
	int g;
	if (n != GEN_LEN || sscanf(s, "gen-%06d-", &g) != 1)
		return 0;
	gen_text(want, g, tag);
	return memcmp(s, want, GEN_LEN) == 0;
}

static void *reader(void *arg)
{
	const char *names[] = {"key", "sub/inner"};
	const char tags[] = {'k', 's'};
	while (!atomic_load(&stop_reading)) {
		for (int i = 0; i < 2; i++) {
			char p[128], buf[GEN_LEN * 2];
			snprintf(p, sizeof p, "%s/%s", dir, names[i]);
			int fd = open(p, O_RDONLY);
			ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf) : -1;
			if (fd >= 0)
				close(fd);
			atomic_fetch_add(&reads, 1);
			if (n < 0 || !valid(buf, (size_t)n, tags[i])) {
				if (atomic_fetch_add(&bad_reads, 1) == 0)
					snprintf(bad_what, sizeof bad_what, "%s: %s", names[i],
						 n < 0 ? strerror(errno) : "torn or unknown content");
			}
		}
	}
	return NULL;
}

static void test_readers_never_see_a_gap(void **state)
{
	char k[GEN_LEN + 1], s[GEN_LEN + 1], extra[32];
	pthread_t t;
	gen_text(k, 0, 'k');
	gen_text(s, 0, 's');
	struct atomic_file f[] = {{"key", k, GEN_LEN, 0644}, {"sub/inner", s, GEN_LEN, 0644},
				  {extra, "x", 1, 0644}};
	snprintf(extra, sizeof extra, "extra-0");
	write_ok(f, 3, 1);
	atomic_store(&stop_reading, 0);
	atomic_store(&reads, 0);
	atomic_store(&bad_reads, 0);
	assert_int_equal(pthread_create(&t, NULL, reader, NULL), 0);
	for (int g = 1; g <= 300; g++) {
		gen_text(k, g, 'k');
		gen_text(s, g, 's');
		/* Keys come and go around the ones being read. */
		snprintf(extra, sizeof extra, "extra-%d", g % 7);
		write_ok(f, 3, 1);
	}
	atomic_store(&stop_reading, 1);
	pthread_join(t, NULL);
	if (atomic_load(&bad_reads) != 0)
		fail_msg("%ld of %ld reads failed, first: %s", atomic_load(&bad_reads),
			 atomic_load(&reads), bad_what);
	assert_true(atomic_load(&reads) > 0);
	assert_string_equal(slurp("key"), k);
	assert_true(age_retired() > 0);
	write_ok(f, 3, 0);
	assert_string_equal(listing(), "..TS,..data,extra-6,key,sub,");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_create_and_layout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unchanged_writes_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_update_and_stale_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(test_paths_normalised, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_paths_change_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_owner_and_leftovers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_readers_never_see_a_gap, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
