/*
 * The pure part of Service allocation (core/api/service_range.h): ranges
 * parsed and refused, offsets, the dynamic pick with its static band and
 * the reserved first address, release, exhaustion.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "../../core/api/service_range.h"
#include "../../core/base/err.h"

static void test_default_cidr(void **state)
{
	struct ip_range r;
	char err[200], ip[16];
	assert_int_equal(ip_range_parse(SERVICE_CIDR_DEFAULT, &r, err, sizeof err), MK_OK);
	assert_string_equal(r.cidr, "10.152.183.0/24");
	assert_int_equal(r.size, 254); /* no network, no broadcast address */
	assert_int_equal(r.band, 16);  /* upstream: min(max(16, 256/16), 256) */
	ip_range_addr(&r, 0, ip);
	assert_string_equal(ip, "10.152.183.1");
	ip_range_addr(&r, r.size - 1, ip);
	assert_string_equal(ip, "10.152.183.254");
}

static void test_bad_cidrs(void **state)
{
	static const char *const bad[] = {
		"10.152.183.1/24", /* host bits */
		"10.0.0.0/8",      /* larger than upstream allows */
		"10.0.0.0/31",     /* no host address */
		"10.0.0.0",        "abc",     "300.1.1.0/24", "010.1.1.0/24",
		"10.0.0.0/24 ",    "10.0.0.0/", "10.0.0.0/124", "",
	};
	struct ip_range r;
	char err[200];
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		err[0] = '\0';
		assert_int_equal(ip_range_parse(bad[i], &r, err, sizeof err), MK_EINVAL);
		assert_true(strlen(err) > 10);
	}
	assert_int_equal(ip_range_parse(NULL, &r, err, sizeof err), MK_EINVAL);
	assert_non_null(strstr(err, "service CIDR"));
}

static void test_offsets(void **state)
{
	struct ip_range r;
	char err[200];
	uint32_t ip;
	assert_int_equal(ip_range_parse("10.152.183.0/24", &r, err, sizeof err), MK_OK);
	assert_true(ipv4_parse("10.152.183.1", &ip));
	assert_int_equal(ip_range_offset(&r, ip), 0);
	assert_true(ipv4_parse("10.152.183.254", &ip));
	assert_int_equal(ip_range_offset(&r, ip), 253);
	static const char *const outside[] = {"10.152.183.0", "10.152.183.255", "10.152.184.1",
					      "10.0.0.1", "0.0.0.0"};
	for (size_t i = 0; i < sizeof outside / sizeof outside[0]; i++) {
		assert_true(ipv4_parse(outside[i], &ip));
		assert_int_equal(ip_range_offset(&r, ip), -1);
	}
	static const char *const not_ips[] = {"10.152.183", "10.152.183.1.1", "10.152.183.01",
					      "10.152.183.256", "::1", " 10.0.0.1", "a.b.c.d", ""};
	for (size_t i = 0; i < sizeof not_ips / sizeof not_ips[0]; i++)
		assert_false(ipv4_parse(not_ips[i], &ip));
	assert_false(ipv4_parse(NULL, &ip));
}

/* Dynamic allocation starts in the upper band, scans forward and wraps
 * inside it. */
static void test_next_free(void **state)
{
	struct ip_range r;
	struct alloc_map m;
	char err[200];
	assert_int_equal(ip_range_parse("10.152.183.0/24", &r, err, sizeof err), MK_OK);
	assert_int_equal(alloc_map_init(&m, r.size, r.band, 1), MK_OK);
	assert_int_equal(alloc_map_next(&m, 0), 16);
	alloc_map_set(&m, 16);
	assert_int_equal(alloc_map_next(&m, 0), 17);
	/* rnd picks the last offset; taken, the scan wraps to the band's start. */
	uint64_t last = r.size - r.band - 1;
	assert_int_equal(alloc_map_next(&m, last), 253);
	alloc_map_set(&m, 253);
	assert_int_equal(alloc_map_next(&m, last), 17);
	/* The pick depends on rnd: two different draws, two different offsets. */
	assert_int_not_equal(alloc_map_next(&m, 5), alloc_map_next(&m, 100));
	assert_int_equal(m.used, 2);
	alloc_map_free(&m);
}

static void test_release(void **state)
{
	struct alloc_map m;
	assert_int_equal(alloc_map_init(&m, 254, 16, 1), MK_OK);
	alloc_map_set(&m, 40);
	alloc_map_set(&m, 40); /* twice: counted once */
	assert_true(alloc_map_test(&m, 40));
	assert_int_equal(m.used, 1);
	alloc_map_clear(&m, 40);
	assert_false(alloc_map_test(&m, 40));
	assert_int_equal(m.used, 0);
	alloc_map_clear(&m, 40); /* not set: nothing */
	assert_int_equal(m.used, 0);
	alloc_map_set(&m, 9999); /* out of range: ignored */
	assert_int_equal(m.used, 0);
	/* Released, the offset can be handed out again. */
	for (size_t i = 16; i < 254; i++)
		alloc_map_set(&m, i);
	alloc_map_clear(&m, 100);
	assert_int_equal(alloc_map_next(&m, 7), 100);
	alloc_map_free(&m);
}

/* A /29 has 6 usable addresses; the first is the kubernetes Service's:
 * five dynamic allocations, all distinct, then the range is full. */
static void test_exhaust_slash_29(void **state)
{
	struct ip_range r;
	struct alloc_map m;
	char err[200], ip[16];
	bool seen[6] = {false};
	assert_int_equal(ip_range_parse("192.168.7.8/29", &r, err, sizeof err), MK_OK);
	assert_int_equal(r.size, 6);
	assert_int_equal(r.band, 0);
	assert_int_equal(alloc_map_init(&m, r.size, r.band, 1), MK_OK);
	for (int i = 0; i < 5; i++) {
		long off = alloc_map_next(&m, (uint64_t)i * 7919);
		assert_true(off >= 1 && off < 6);
		assert_false(seen[off]);
		seen[off] = true;
		alloc_map_set(&m, (size_t)off);
	}
	assert_int_equal(alloc_map_next(&m, 0), -1);
	assert_int_equal(alloc_map_next(&m, 12345), -1);
	assert_false(alloc_map_test(&m, 0)); /* never handed out */
	ip_range_addr(&r, 0, ip);
	assert_string_equal(ip, "192.168.7.9");
	ip_range_addr(&r, 5, ip);
	assert_string_equal(ip, "192.168.7.14");
	alloc_map_clear(&m, 3);
	assert_int_equal(alloc_map_next(&m, 999), 3);
	alloc_map_free(&m);
}

/* The upper band full, dynamic allocation falls back to the lower one,
 * still skipping the reserved first address. */
static void test_lower_band_fallback(void **state)
{
	struct alloc_map m;
	assert_int_equal(alloc_map_init(&m, 254, 16, 1), MK_OK);
	for (size_t i = 16; i < 254; i++)
		alloc_map_set(&m, i);
	for (int i = 0; i < 15; i++) {
		long off = alloc_map_next(&m, 0);
		assert_true(off >= 1 && off < 16);
		alloc_map_set(&m, (size_t)off);
	}
	assert_int_equal(alloc_map_next(&m, 0), -1);
	assert_false(alloc_map_test(&m, 0));
	alloc_map_free(&m);
}

static void test_node_port_range(void **state)
{
	struct port_range r;
	struct alloc_map m;
	char err[200];
	assert_int_equal(port_range_parse(NODE_PORT_RANGE_DEFAULT, &r, err, sizeof err), MK_OK);
	assert_int_equal(r.first, 30000);
	assert_int_equal(r.last, 32767);
	assert_int_equal(r.size, 2768);
	assert_int_equal(r.band, 86); /* upstream: min(max(16, 2768/32), 128) */
	assert_string_equal(r.text, "30000-32767");
	assert_int_equal(port_range_offset(&r, 30080), 80);
	assert_int_equal(port_range_offset(&r, 29999), -1);
	assert_int_equal(port_range_offset(&r, 32768), -1);
	assert_int_equal(alloc_map_init(&m, r.size, r.band, 0), MK_OK);
	long off = alloc_map_next(&m, 0);
	assert_int_equal(r.first + off, 30086); /* dynamic ports start above the static band */
	alloc_map_free(&m);
	assert_int_equal(port_range_parse("31000", &r, err, sizeof err), MK_OK);
	assert_int_equal(r.size, 1);
	assert_int_equal(r.band, 0);
	static const char *const bad[] = {"0-10", "40000-30000", "70000", "a-b", "30000-",
					  "-1", "30000-32767x", "030000-32767", ""};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(port_range_parse(bad[i], &r, err, sizeof err), MK_EINVAL);
	assert_non_null(strstr(err, "node port range"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_cidr),
		cmocka_unit_test(test_bad_cidrs),
		cmocka_unit_test(test_offsets),
		cmocka_unit_test(test_next_free),
		cmocka_unit_test(test_release),
		cmocka_unit_test(test_exhaust_slash_29),
		cmocka_unit_test(test_lower_band_fallback),
		cmocka_unit_test(test_node_port_range),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
