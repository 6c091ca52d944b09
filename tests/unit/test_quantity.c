/*
 * Kubernetes resource quantities (core/kube/quantity.h).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdint.h>

#include "../../core/base/err.h"
#include "../../core/kube/quantity.h"

static void test_milli(void **state)
{
	struct { const char *in; int64_t milli; } cases[] = {
		{"500m", 500}, {"2", 2000}, {"0.5", 500}, {"0.1", 100}, {"100m", 100},
		{"1Ki", 1024000}, {"1.5", 1500}, {"1k", 1000000}, {"1e3", 1000000},
		{"1E-3", 1}, {"+3", 3000}, {"-2", -2000}, {"1u", 1}, {"0", 0},
		/* Kubernetes rounds up what does not fit in thousandths. */
		{"1n", 1}, {"0.0001", 1},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		int64_t v = -12345;
		assert_int_equal(quantity_milli(cases[i].in, &v), MK_OK);
		if (v != cases[i].milli)
			fail_msg("%s: got %lld, want %lld", cases[i].in, (long long)v,
				 (long long)cases[i].milli);
	}
}

static void test_value(void **state)
{
	struct { const char *in; int64_t value; } cases[] = {
		{"128Mi", 134217728}, {"1.5Gi", 1610612736}, {"1G", 1000000000},
		{"500m", 1}, {"3", 3}, {"64Ki", 65536}, {"2Ei", (int64_t)2 << 60},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		int64_t v = -1;
		assert_int_equal(quantity_value(cases[i].in, &v), MK_OK);
		if (v != cases[i].value)
			fail_msg("%s: got %lld, want %lld", cases[i].in, (long long)v,
				 (long long)cases[i].value);
	}
}

static void test_refuses_garbage(void **state)
{
	const char *bad[] = { "", "Mi", "1.2.3", "12 Mi", "1mi", "1KiB", "abc", "1e", "--1",
			      "1e99", "99999999999999999999999999999999999", "8Ei", ".", NULL };
	for (size_t i = 0; bad[i] != NULL; i++) {
		int64_t v;
		int rv = quantity_milli(bad[i], &v);
		if (rv == MK_OK)
			fail_msg("\"%s\" was accepted as %lld", bad[i], (long long)v);
	}
	int64_t v;
	assert_int_equal(quantity_milli(NULL, &v), MK_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_milli),
		cmocka_unit_test(test_value),
		cmocka_unit_test(test_refuses_garbage),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
