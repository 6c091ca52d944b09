/*
 * The static token file parser (core/cluster/tokens.c): the format, its
 * malformed variants, and lookups.
 */
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
#include "../../core/cluster/tokens.h"

struct fixture {
	char dir[64];
	char path[128];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	snprintf(f->dir, sizeof f->dir, "/tmp/mk-test-tokens.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof f->path, "%s/known_tokens.csv", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	unlink(f->path);
	assert_int_equal(rmdir(f->dir), 0);
	free(f);
	return 0;
}

/* Writes `n` bytes of `text` as the token file and loads it. */
static int load_n(struct fixture *f, const char *text, size_t n, struct token_table **t,
		  char *err, size_t len)
{
	FILE *fp = fopen(f->path, "w");
	assert_non_null(fp);
	assert_int_equal(fwrite(text, 1, n, fp), n);
	assert_int_equal(fclose(fp), 0);
	err[0] = '\0';
	return tokens_load(f->path, t, err, len);
}

static int load(struct fixture *f, const char *text, struct token_table **t, char *err,
		size_t len)
{
	return load_n(f, text, strlen(text), t, err, len);
}

static void good_file(void **state)
{
	struct fixture *f = *state;
	struct token_table *t = NULL;
	char err[256];
	const char *text = "# mk static tokens\n"
			   "\n"
			   "abc123,admin,admin,\"system:masters,ops\"\n"
			   "xyz,bob,42\n"
			   "\"q-tok\",\"carol, jr\",\"u\"\"1\"\r\n"
			   "sp,dave,7,\" g1 , ,g2 \"\n"
			   "e,eve,9,\n"
			   "   \n"
			   "# trailing comment";
	assert_int_equal(load(f, text, &t, err, sizeof err), MK_OK);
	assert_int_equal(tokens_count(t), 5);

	const struct token_entry *e = tokens_find(t, "abc123");
	assert_non_null(e);
	assert_string_equal(e->user, "admin");
	assert_string_equal(e->uid, "admin");
	assert_int_equal(e->n_groups, 2);
	assert_string_equal(e->groups[0], "system:masters");
	assert_string_equal(e->groups[1], "ops");

	e = tokens_find(t, "xyz");
	assert_non_null(e);
	assert_string_equal(e->user, "bob");
	assert_string_equal(e->uid, "42");
	assert_int_equal(e->n_groups, 0);

	/* Quoted fields, an escaped quote, CRLF. */
	e = tokens_find(t, "q-tok");
	assert_non_null(e);
	assert_string_equal(e->user, "carol, jr");
	assert_string_equal(e->uid, "u\"1");

	/* Group names are trimmed and empty ones dropped. */
	e = tokens_find(t, "sp");
	assert_non_null(e);
	assert_int_equal(e->n_groups, 2);
	assert_string_equal(e->groups[0], "g1");
	assert_string_equal(e->groups[1], "g2");

	e = tokens_find(t, "e");
	assert_non_null(e);
	assert_int_equal(e->n_groups, 0);
	tokens_free(t);
}

static void lookups_miss(void **state)
{
	struct fixture *f = *state;
	struct token_table *t = NULL;
	char err[256];
	assert_int_equal(load(f, "abc123,admin,admin\n", &t, err, sizeof err), MK_OK);
	assert_non_null(tokens_find(t, "abc123"));
	assert_null(tokens_find(t, "abc12"));
	assert_null(tokens_find(t, "abc1234"));
	assert_null(tokens_find(t, "ABC123"));
	assert_null(tokens_find(t, "abc124"));
	assert_null(tokens_find(t, ""));
	assert_null(tokens_find(t, NULL));
	assert_null(tokens_find(NULL, "abc123"));
	assert_int_equal(tokens_count(NULL), 0);
	tokens_free(t);
	tokens_free(NULL);
}

static void duplicate_token_later_line_wins(void **state)
{
	struct fixture *f = *state;
	struct token_table *t = NULL;
	char err[256];
	assert_int_equal(load(f, "dup,first,1\ndup,second,2\n", &t, err, sizeof err), MK_OK);
	const struct token_entry *e = tokens_find(t, "dup");
	assert_non_null(e);
	assert_string_equal(e->user, "second");
	tokens_free(t);
}

static void empty_file_has_no_tokens(void **state)
{
	struct fixture *f = *state;
	struct token_table *t = NULL;
	char err[256];
	assert_int_equal(load(f, "", &t, err, sizeof err), MK_OK);
	assert_int_equal(tokens_count(t), 0);
	assert_null(tokens_find(t, "x"));
	tokens_free(t);
	assert_int_equal(load(f, "# only\n\n# comments\n", &t, err, sizeof err), MK_OK);
	assert_int_equal(tokens_count(t), 0);
	tokens_free(t);
}

static void malformed_lines(void **state)
{
	struct fixture *f = *state;
	static const struct {
		const char *text;
		const char *want; /* expected errmsg */
	} cases[] = {
		{"justatoken\n", "known_tokens.csv:1: want token,user,uid"},
		{"a,b\n", "known_tokens.csv:1: want token,user,uid"},
		{"# c\n\nok,u,1\n,user,uid\n", "known_tokens.csv:4: empty token"},
		{"\"\",user,uid\n", "known_tokens.csv:1: empty token"},
		{"t,,uid\n", "known_tokens.csv:1: empty user"},
		{"t,u,i,\"unterminated\n", "known_tokens.csv:1: unterminated quote"},
		{"t,u,i,\"g1,g2\n", "known_tokens.csv:1: unterminated quote"},
		{"t,u,i,g,extra\n", "known_tokens.csv:1: more than 4 fields"},
		{"t,u\"x,i\n", "known_tokens.csv:1: quote inside an unquoted field"},
		{"t,\"u\"x,i\n", "known_tokens.csv:1: text after a closing quote"},
		{"to ken,u,i\n", "known_tokens.csv:1: token has spaces"},
		{"tok\xc3\xa9,u,i\n", "known_tokens.csv:1: token has spaces"},
		{"ok,u,1\nok2,u,2\nbad\n", "known_tokens.csv:3: want token,user,uid"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct token_table *t = (struct token_table *)&t; /* must be reset */
		char err[256];
		int rv = load(f, cases[i].text, &t, err, sizeof err);
		if (rv != MK_EINVAL || strncmp(err, cases[i].want, strlen(cases[i].want)) != 0)
			fail_msg("case %zu: rv %d, err \"%s\", want \"%s\"", i, rv, err,
				 cases[i].want);
		assert_null(t);
	}
}

static void nul_byte_and_long_line(void **state)
{
	struct fixture *f = *state;
	struct token_table *t = NULL;
	char err[256];
	static const char nul[] = "tok\0en,u,i\n";
	assert_int_equal(load_n(f, nul, sizeof nul - 1, &t, err, sizeof err), MK_EINVAL);
	assert_string_equal(err, "known_tokens.csv:1: NUL byte in line");
	assert_null(t);

	size_t n = TOKENS_MAX_LINE + 100;
	char *big = malloc(n + 1);
	assert_non_null(big);
	memset(big, 'a', n);
	memcpy(big + n - 6, ",u,i\n", 6);
	assert_int_equal(load(f, big, &t, err, sizeof err), MK_EINVAL);
	assert_string_equal(err, "known_tokens.csv:1: line too long");
	assert_null(t);
	/* Just under the limit is fine. */
	memset(big, 'a', n);
	memcpy(big + TOKENS_MAX_LINE - 6, ",u,i\n", 6);
	assert_int_equal(load(f, big, &t, err, sizeof err), MK_OK);
	assert_int_equal(tokens_count(t), 1);
	tokens_free(t);
	free(big);
}

static void missing_or_unreadable_file(void **state)
{
	struct fixture *f = *state;
	struct token_table *t = NULL;
	char err[256];
	assert_int_equal(tokens_load(f->path, &t, err, sizeof err), MK_ENOTFOUND);
	assert_non_null(strstr(err, "known_tokens.csv"));
	assert_null(t);
	/* A directory opens but cannot be read. */
	assert_int_equal(tokens_load(f->dir, &t, err, sizeof err), MK_EIO);
	assert_null(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(good_file, setup, teardown),
		cmocka_unit_test_setup_teardown(lookups_miss, setup, teardown),
		cmocka_unit_test_setup_teardown(duplicate_token_later_line_wins, setup, teardown),
		cmocka_unit_test_setup_teardown(empty_file_has_no_tokens, setup, teardown),
		cmocka_unit_test_setup_teardown(malformed_lines, setup, teardown),
		cmocka_unit_test_setup_teardown(nul_byte_and_long_line, setup, teardown),
		cmocka_unit_test_setup_teardown(missing_or_unreadable_file, setup, teardown),
	};
	return cmocka_run_group_tests_name("tokens", tests, NULL, NULL);
}
