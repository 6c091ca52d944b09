/* Unit tests of the dqlite wire codec (core/store/dq_wire.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../core/base/err.h"
#include "../../core/store/dq_wire.h"

static void test_text_is_nul_terminated_and_padded(void **state)
{
	struct mk_buf b = MK_BUF_INIT;
	const char *cases[] = {"", "1234567", "12345678"};
	size_t sizes[] = {8, 8, 16};
	for (int i = 0; i < 3; i++) {
		mk_buf_reset(&b);
		assert_int_equal(dq_put_text(&b, cases[i]), MK_OK);
		assert_int_equal(b.len, sizes[i]);
		struct dq_cursor c = dq_cursor_init(b.data, b.len);
		const char *s;
		size_t n;
		assert_int_equal(dq_get_text(&c, &s, &n), MK_OK);
		assert_string_equal(s, cases[i]);
		assert_int_equal(n, strlen(cases[i]));
		assert_int_equal(c.off, b.len);
	}
	mk_buf_free(&b);
}

static void test_message_header(void **state)
{
	struct mk_buf b = MK_BUF_INIT;
	assert_int_equal(dq_msg_begin(&b), MK_OK);
	dq_put_u64(&b, 42);
	dq_put_text(&b, "mk");
	dq_msg_end(&b, DQ_REQ_OPEN);
	struct dq_header h;
	dq_header_decode(b.data, &h);
	assert_int_equal(h.words, 2);
	assert_int_equal(h.type, DQ_REQ_OPEN);
	assert_int_equal(h.schema, 0);
	/* little-endian u64 */
	assert_int_equal(b.data[8], 42);
	assert_int_equal(b.data[15], 0);
	mk_buf_free(&b);
}

static void test_params_layout(void **state)
{
	struct mk_buf b = MK_BUF_INIT;
	struct dq_value v[8];
	for (int i = 0; i < 8; i++)
		v[i] = dq_int(i);
	/* 7 params: count + 7 types = one word of header. */
	assert_int_equal(dq_put_params(&b, v, 7), MK_OK);
	assert_int_equal(b.len, 8 + 7 * 8);
	assert_int_equal(b.data[0], 7);
	assert_int_equal(b.data[1], DQ_INTEGER);
	mk_buf_reset(&b);
	/* 8 params: 9 header bytes round up to two words. */
	assert_int_equal(dq_put_params(&b, v, 8), MK_OK);
	assert_int_equal(b.len, 16 + 8 * 8);
	mk_buf_reset(&b);
	/* No params: nothing at all. */
	assert_int_equal(dq_put_params(&b, v, 0), MK_OK);
	assert_int_equal(b.len, 0);
	/* UNIXTIME is not accepted by 1.11 as a parameter. */
	struct dq_value bad = {.type = DQ_UNIXTIME};
	assert_int_equal(dq_put_params(&b, &bad, 1), MK_EINVAL);
	assert_int_equal(b.len, 0);
	struct dq_value many[256];
	for (int i = 0; i < 256; i++)
		many[i] = dq_null();
	assert_int_equal(dq_put_params(&b, many, 256), MK_EINVAL);
	mk_buf_free(&b);
}

static void test_blob_roundtrip_and_bounds(void **state)
{
	struct mk_buf b = MK_BUF_INIT;
	assert_int_equal(dq_put_blob(&b, "abc", 3), MK_OK);
	assert_int_equal(b.len, 16);
	struct dq_cursor c = dq_cursor_init(b.data, b.len);
	const void *p;
	size_t n;
	assert_int_equal(dq_get_blob(&c, &p, &n), MK_OK);
	assert_int_equal(n, 3);
	assert_memory_equal(p, "abc", 3);
	/* A length beyond the message. */
	uint8_t huge[16] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f};
	c = dq_cursor_init(huge, sizeof huge);
	assert_int_equal(dq_get_blob(&c, &p, &n), MK_EPROTO);
	uint8_t nine[16] = {9};
	c = dq_cursor_init(nine, sizeof nine);
	assert_int_equal(dq_get_blob(&c, &p, &n), MK_EPROTO);
	mk_buf_free(&b);
}

static void test_malformed_text_and_words(void **state)
{
	const char *s;
	uint64_t v;
	uint8_t no_nul[8] = {'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'};
	struct dq_cursor c = dq_cursor_init(no_nul, sizeof no_nul);
	assert_int_equal(dq_get_text(&c, &s, NULL), MK_EPROTO);
	/* NUL present but the padding runs past the end. */
	uint8_t short_pad[4] = {'a', 0, 0, 0};
	c = dq_cursor_init(short_pad, sizeof short_pad);
	assert_int_equal(dq_get_text(&c, &s, NULL), MK_EPROTO);
	c = dq_cursor_init(short_pad, sizeof short_pad);
	assert_int_equal(dq_get_u64(&c, &v), MK_EPROTO);
	c = dq_cursor_init(NULL, 0);
	assert_int_equal(dq_get_u64(&c, &v), MK_EPROTO);
}

static void test_failure_decode(void **state)
{
	struct mk_buf b = MK_BUF_INIT;
	dq_put_u64(&b, 10250);
	dq_put_text(&b, "not leader");
	struct dq_cursor c = dq_cursor_init(b.data, b.len);
	uint64_t code;
	const char *msg;
	assert_int_equal(dq_decode_failure(&c, &code, &msg), MK_OK);
	assert_int_equal(code, 10250);
	assert_string_equal(msg, "not leader");
	c = dq_cursor_init(b.data, 8);
	assert_int_equal(dq_decode_failure(&c, &code, &msg), MK_EPROTO);
	mk_buf_free(&b);
}

/* Builds a ROWS page with columns (i INTEGER, t TEXT, n NULL, f FLOAT). */
static void build_rows(struct mk_buf *b, int nrows, uint64_t marker)
{
	dq_put_u64(b, 4);
	dq_put_text(b, "i");
	dq_put_text(b, "t");
	dq_put_text(b, "n");
	dq_put_text(b, "f");
	for (int r = 0; r < nrows; r++) {
		uint8_t header[8] = {DQ_INTEGER | DQ_TEXT << 4, DQ_NULL | DQ_FLOAT << 4};
		mk_buf_append(b, header, 8);
		dq_put_u64(b, (uint64_t)(r * 10));
		dq_put_text(b, "row");
		dq_put_u64(b, 0);
		double d = r + 0.5;
		uint64_t bits;
		memcpy(&bits, &d, 8);
		dq_put_u64(b, bits);
	}
	dq_put_u64(b, marker);
}

static void test_rows_decode(void **state)
{
	struct mk_buf b = MK_BUF_INIT;
	build_rows(&b, 2, 0xffffffffffffffffULL);
	struct dq_cursor c = dq_cursor_init(b.data, b.len);
	const char *names[DQ_MAX_COLUMNS];
	unsigned ncols;
	assert_int_equal(dq_rows_begin(&c, &ncols, names), MK_OK);
	assert_int_equal(ncols, 4);
	assert_string_equal(names[3], "f");
	struct dq_value v[4];
	enum dq_rows_step step;
	for (int r = 0; r < 2; r++) {
		assert_int_equal(dq_rows_next(&c, ncols, v, &step), MK_OK);
		assert_int_equal(step, DQ_ROWS_ROW);
		assert_int_equal(v[0].integer, r * 10);
		assert_string_equal(v[1].text, "row");
		assert_int_equal(v[2].type, DQ_NULL);
		assert_true(v[3].real == r + 0.5);
	}
	assert_int_equal(dq_rows_next(&c, ncols, v, &step), MK_OK);
	assert_int_equal(step, DQ_ROWS_DONE);

	mk_buf_reset(&b);
	build_rows(&b, 1, 0xeeeeeeeeeeeeeeeeULL);
	c = dq_cursor_init(b.data, b.len);
	assert_int_equal(dq_rows_begin(&c, &ncols, names), MK_OK);
	assert_int_equal(dq_rows_next(&c, ncols, v, &step), MK_OK);
	assert_int_equal(dq_rows_next(&c, ncols, v, &step), MK_OK);
	assert_int_equal(step, DQ_ROWS_PART);
	mk_buf_free(&b);
}

static void test_rows_malformed(void **state)
{
	struct mk_buf b = MK_BUF_INIT;
	const char *names[DQ_MAX_COLUMNS];
	unsigned ncols;
	struct dq_value v[4];
	enum dq_rows_step step;

	/* Zero and absurd column counts. */
	dq_put_u64(&b, 0);
	struct dq_cursor c = dq_cursor_init(b.data, b.len);
	assert_int_equal(dq_rows_begin(&c, &ncols, names), MK_EPROTO);
	mk_buf_reset(&b);
	dq_put_u64(&b, 1u << 20);
	c = dq_cursor_init(b.data, b.len);
	assert_int_equal(dq_rows_begin(&c, &ncols, names), MK_EPROTO);

	/* Unknown type nibble. */
	mk_buf_reset(&b);
	build_rows(&b, 1, 0xffffffffffffffffULL);
	c = dq_cursor_init(b.data, b.len);
	assert_int_equal(dq_rows_begin(&c, &ncols, names), MK_OK);
	b.data[c.off] = 0x07; /* type 7 does not exist */
	assert_int_equal(dq_rows_next(&c, ncols, v, &step), MK_EPROTO);

	/* Truncated: every prefix of a valid page fails cleanly. */
	mk_buf_reset(&b);
	build_rows(&b, 2, 0xffffffffffffffffULL);
	for (size_t cut = 0; cut < b.len; cut += 8) {
		c = dq_cursor_init(b.data, cut);
		int rv = dq_rows_begin(&c, &ncols, names);
		while (rv == MK_OK) {
			rv = dq_rows_next(&c, ncols, v, &step);
			if (rv == MK_OK && step != DQ_ROWS_ROW)
				fail_msg("truncated page at %zu decoded to the end", cut);
		}
		assert_int_equal(rv, MK_EPROTO);
	}
	mk_buf_free(&b);
}

static void test_read_only_statements(void **state)
{
	const char *yes[] = {
		"SELECT 1",
		"  select * from t where a = 'INSERT'",
		"WITH x AS (SELECT 1) SELECT * FROM x",
		"SELECT replace(name, 'a', 'b') FROM t",
		"SELECT 1;",
		"SELECT \"delete\" FROM t -- DELETE FROM t",
		"VALUES (1), (2)",
		"SELECT * FROM pragma_integrity_check",
	};
	const char *no[] = {
		"INSERT INTO t VALUES (1)",
		"INSERT INTO t VALUES (1) RETURNING id",
		"WITH x AS (SELECT 1) DELETE FROM t",
		"SELECT 1; DELETE FROM t",
		"UPDATE t SET a = 1",
		"REPLACE INTO t VALUES (1)",
		"PRAGMA user_version = 3",
		"/* SELECT */ DELETE FROM t",
		"SELECT 'unterminated",
		"",
		"   ",
		"BEGIN",
	};
	for (size_t i = 0; i < sizeof yes / sizeof *yes; i++)
		if (!dq_sql_is_read_only(yes[i]))
			fail_msg("refused read-only: %s", yes[i]);
	for (size_t i = 0; i < sizeof no / sizeof *no; i++)
		if (dq_sql_is_read_only(no[i]))
			fail_msg("accepted as read-only: %s", no[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text_is_nul_terminated_and_padded),
		cmocka_unit_test(test_message_header),
		cmocka_unit_test(test_params_layout),
		cmocka_unit_test(test_blob_roundtrip_and_bounds),
		cmocka_unit_test(test_malformed_text_and_words),
		cmocka_unit_test(test_failure_decode),
		cmocka_unit_test(test_rows_decode),
		cmocka_unit_test(test_rows_malformed),
		cmocka_unit_test(test_read_only_statements),
	};
	return cmocka_run_group_tests_name("wire", tests, NULL, NULL);
}
