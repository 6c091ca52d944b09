/*
 * CronJob schedules: robfig/cron's syntax and messages, next times, the
 * day-of-month/day-of-week rule, leap days, time zones and their DST
 * changes (Europe/Berlin, America/New_York from the system's zoneinfo).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../../core/base/err.h"
#include "../../core/controllers/cron_schedule.h"

/* A UTC time as unix seconds (timegm: independent of the code tested). */
static int64_t utc(int y, int mo, int d, int h, int mi)
{
	struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h,
			.tm_min = mi};
	return (int64_t)timegm(&tm);
}

static void parse_ok(const char *spec, struct cron_schedule *s)
{
	char err[256] = "";
	int rv = cron_parse(spec, s, err, sizeof err);
	if (rv != MK_OK)
		fail_msg("%s: %s", spec, err);
}

/* next of spec after `after` in zone (NULL: UTC). */
static int64_t next_in(const char *spec, const struct cron_tz *tz, int64_t after)
{
	struct cron_schedule s;
	parse_ok(spec, &s);
	return cron_next(&s, tz, after);
}

static void expect_next(const char *spec, int64_t after, int64_t want)
{
	int64_t got = next_in(spec, NULL, after);
	if (got != want)
		fail_msg("%s after %lld: got %lld, want %lld", spec, (long long)after,
			 (long long)got, (long long)want);
}

static void test_calendar(void **state)
{
	assert_int_equal(cron_days_from_civil(1970, 1, 1), 0);
	assert_int_equal(cron_days_from_civil(2024, 2, 29), 19782);
	assert_int_equal(cron_days_from_civil(2024, 13, 1), cron_days_from_civil(2025, 1, 1));
	assert_int_equal(cron_days_from_civil(2024, 3, 0), cron_days_from_civil(2024, 2, 29));
	assert_int_equal(cron_days_from_civil(1969, 12, 31), -1);
}

static void test_fields(void **state)
{
	int64_t t0 = utc(2024, 1, 1, 0, 0); /* a Monday */

	expect_next("* * * * *", t0, utc(2024, 1, 1, 0, 1));
	expect_next("* * * * *", t0 + 59, utc(2024, 1, 1, 0, 1));
	expect_next("*/15 * * * *", utc(2024, 1, 1, 0, 7) + 30, utc(2024, 1, 1, 0, 15));
	expect_next("15/20 * * * *", utc(2024, 1, 1, 0, 36), utc(2024, 1, 1, 0, 55));
	expect_next("5,10-12 * * * *", utc(2024, 1, 1, 0, 5), utc(2024, 1, 1, 0, 10));
	expect_next("5,10-12 * * * *", utc(2024, 1, 1, 0, 12), utc(2024, 1, 1, 1, 5));
	expect_next("0 9-17/4 * * *", utc(2024, 1, 1, 9, 0), utc(2024, 1, 1, 13, 0));
	expect_next("0 9-17/4 * * *", utc(2024, 1, 1, 17, 0), utc(2024, 1, 2, 9, 0));
	expect_next("30 2 1 jan,JUL *", t0, utc(2024, 1, 1, 2, 30));
	expect_next("30 2 1 jan,JUL *", utc(2024, 1, 1, 2, 30), utc(2024, 7, 1, 2, 30));
	expect_next("0 0 * * sat,sun", t0, utc(2024, 1, 6, 0, 0));
	expect_next("0 0 * * mon-wed", utc(2024, 1, 3, 0, 0), utc(2024, 1, 8, 0, 0));
	expect_next("0 12 * * Fri", t0, utc(2024, 1, 5, 12, 0));
	expect_next("0 0 1 ? *", t0, utc(2024, 2, 1, 0, 0));
	expect_next("*-5 0 * * *", t0, utc(2024, 1, 1, 0, 1)); /* robfig: "*-5" is "*" */
	expect_next("  0   0  *  *  *  ", t0, utc(2024, 1, 2, 0, 0));

	struct cron_schedule s;
	parse_ok("5,10-12 1 * * *", &s);
	assert_int_equal(s.minute, (1ull << 5) | (1ull << 10) | (1ull << 11) | (1ull << 12));
	assert_int_equal(s.hour, 1ull << 1);
	assert_true(s.dom & CRON_STAR);
	parse_ok("*/1 * * * *", &s);
	assert_true(s.minute & CRON_STAR);
	parse_ok("*/2 * * * *", &s);
	assert_false(s.minute & CRON_STAR);
}

static void test_descriptors(void **state)
{
	int64_t t = utc(2024, 5, 15, 10, 20); /* a Wednesday */

	expect_next("@yearly", t, utc(2025, 1, 1, 0, 0));
	expect_next("@annually", t, utc(2025, 1, 1, 0, 0));
	expect_next("@monthly", t, utc(2024, 6, 1, 0, 0));
	expect_next("@weekly", t, utc(2024, 5, 19, 0, 0));
	expect_next("@daily", t, utc(2024, 5, 16, 0, 0));
	expect_next("@midnight", t, utc(2024, 5, 16, 0, 0));
	expect_next("@hourly", t, utc(2024, 5, 15, 11, 0));
	expect_next("@every 90m", t, t + 5400);
	expect_next("@every 1h0.5m", t, t + 3630);
	expect_next("@every 200ms", t, t + 1);
}

static void test_day_rules(void **state)
{
	int64_t t0 = utc(2024, 1, 1, 0, 0);
	int64_t fri13[] = {utc(2024, 1, 5, 0, 0), utc(2024, 1, 12, 0, 0), utc(2024, 1, 13, 0, 0),
			   utc(2024, 1, 19, 0, 0)};

	/* Both restricted: the 13th or a Friday. */
	int64_t t = t0;
	for (size_t i = 0; i < 4; i++) {
		t = next_in("0 0 13 * fri", NULL, t);
		assert_int_equal(t, fri13[i]);
	}
	/* A star in one of them: both must match. */
	expect_next("0 0 13 * *", t0, utc(2024, 1, 13, 0, 0));
	expect_next("0 0 * * fri", utc(2024, 1, 5, 0, 0), utc(2024, 1, 12, 0, 0));
	expect_next("0 0 13 * ?", t0, utc(2024, 1, 13, 0, 0));
	/* "*" with a step is no star (robfig): OR again. */
	expect_next("0 0 */10 * fri", utc(2024, 1, 1, 0, 0), utc(2024, 1, 5, 0, 0));
	expect_next("0 0 */10 * fri", utc(2024, 1, 19, 0, 0), utc(2024, 1, 21, 0, 0));
}

static void test_leap_day(void **state)
{
	expect_next("0 0 29 2 *", utc(2024, 3, 1, 0, 0), utc(2028, 2, 29, 0, 0));
	expect_next("0 0 29 2 *", utc(2024, 1, 1, 0, 0), utc(2024, 2, 29, 0, 0));
	expect_next("0 0 29 feb *", utc(2027, 12, 31, 23, 59), utc(2028, 2, 29, 0, 0));
	expect_next("59 23 28-29 2 *", utc(2023, 2, 28, 23, 59), utc(2024, 2, 28, 23, 59));
	/* Never: 0 ("within five years" is robfig's limit). */
	expect_next("0 0 30 2 *", utc(2024, 1, 1, 0, 0), 0);
	expect_next("0 0 31 4,6,9,11 *", utc(2024, 1, 1, 0, 0), 0);
}

/* Upstream's mostRecentScheduleTime: the run that is due, and how many
 * were missed. */
static void test_most_recent(void **state)
{
	struct cron_schedule s;
	int64_t t0 = utc(2024, 1, 1, 0, 0), most, missed;

	parse_ok("* * * * *", &s);
	assert_int_equal(cron_most_recent(&s, NULL, t0, t0 + 30, &most, &missed), MK_OK);
	assert_int_equal(most, 0);
	assert_int_equal(cron_most_recent(&s, NULL, t0, t0 + 90, &most, &missed), MK_OK);
	assert_int_equal(most, t0 + 60);
	assert_int_equal(missed, 0);
	assert_int_equal(cron_most_recent(&s, NULL, t0, t0 + 10805, &most, &missed), MK_OK);
	assert_int_equal(most, t0 + 10800);
	assert_int_equal(missed, 180); /* > 100: "too many missed start times" */
	parse_ok("30 6-16/4 * * 1-5", &s); /* uneven intervals */
	assert_int_equal(cron_most_recent(&s, NULL, t0, utc(2024, 1, 3, 12, 0), &most, &missed),
			 MK_OK);
	assert_int_equal(most, utc(2024, 1, 3, 10, 30));
	parse_ok("0 0 30 2 *", &s);
	assert_int_equal(cron_most_recent(&s, NULL, t0, t0 + 86400, &most, &missed), MK_EINVAL);
}

static void test_time_zones(void **state)
{
	struct cron_tz *berlin, *ny, *utc_tz;
	struct cron_civil c;
	char err[256];

	assert_int_equal(cron_tz_load("Europe/Berlin", &berlin, err, sizeof err), MK_OK);
	assert_int_equal(cron_tz_load("America/New_York", &ny, err, sizeof err), MK_OK);
	assert_int_equal(cron_tz_load("", &utc_tz, err, sizeof err), MK_OK);

	cron_tz_civil(berlin, utc(2024, 7, 1, 12, 0), &c);
	assert_int_equal(c.hour, 14);
	assert_int_equal(c.offset, 7200);
	cron_tz_civil(berlin, utc(2024, 1, 1, 12, 0), &c);
	assert_int_equal(c.hour, 13);
	cron_tz_civil(utc_tz, utc(2024, 1, 1, 12, 0), &c);
	assert_int_equal(c.hour, 12);
	assert_int_equal(c.wday, 1);
	/* Beyond the file's transitions (2037): its POSIX rule. */
	cron_tz_civil(berlin, utc(2040, 7, 1, 12, 0), &c);
	assert_int_equal(c.offset, 7200);
	cron_tz_civil(berlin, utc(2040, 12, 1, 12, 0), &c);
	assert_int_equal(c.offset, 3600);

	/* A wall-clock time in the gap resolves as Go's time.Date does. */
	assert_int_equal(cron_tz_date(berlin, 2024, 3, 31, 2, 30, 0), utc(2024, 3, 31, 1, 30));
	assert_int_equal(cron_tz_date(berlin, 2024, 3, 31, 12, 0, 0), utc(2024, 3, 31, 10, 0));

	/* Midday in Berlin is 11:00 UTC in winter, 10:00 in summer. */
	assert_int_equal(next_in("0 12 * * *", berlin, utc(2024, 1, 10, 0, 0)),
			 utc(2024, 1, 10, 11, 0));
	assert_int_equal(next_in("0 12 * * *", berlin, utc(2024, 7, 10, 0, 0)),
			 utc(2024, 7, 10, 10, 0));
	/* The DST gap: 02:30 does not exist on 2024-03-31; it runs again
	 * the next day (robfig/cron, hence upstream). */
	assert_int_equal(next_in("30 2 * * *", berlin, utc(2024, 3, 30, 11, 0)),
			 utc(2024, 4, 1, 0, 30));
	assert_int_equal(next_in("0 * * * *", berlin, utc(2024, 3, 31, 0, 30)),
			 utc(2024, 3, 31, 1, 0)); /* 01:30 CET -> 03:00 CEST */
	/* The overlap on 2024-10-27: 02:30 happens twice. */
	int64_t first = next_in("30 2 * * *", berlin, utc(2024, 10, 27, 0, 0));
	assert_int_equal(first, utc(2024, 10, 27, 0, 30));
	assert_int_equal(next_in("30 2 * * *", berlin, first), utc(2024, 10, 27, 1, 30));
	/* Far future, from the rule: 2040-03-25 is the last Sunday of March. */
	assert_int_equal(next_in("30 2 * * *", berlin, utc(2040, 3, 24, 12, 0)),
			 utc(2040, 3, 26, 0, 30));
	/* New York springs forward at 02:00 on 2024-03-10. */
	assert_int_equal(next_in("0 2 * * *", ny, utc(2024, 3, 9, 17, 0)),
			 utc(2024, 3, 11, 6, 0));
	cron_tz_free(berlin);
	cron_tz_free(ny);
	cron_tz_free(utc_tz);
}

static void test_bad_zones(void **state)
{
	struct cron_tz *tz = (struct cron_tz *)1;
	char err[256];

	assert_int_equal(cron_tz_load("Mars/Olympus_Mons", &tz, err, sizeof err), MK_ENOTFOUND);
	assert_null(tz);
	assert_string_equal(err, "unknown time zone Mars/Olympus_Mons");
	assert_int_equal(cron_tz_load("../../etc/passwd", &tz, err, sizeof err), MK_EINVAL);
	assert_string_equal(err, "unknown time zone ../../etc/passwd");
	assert_int_equal(cron_tz_load("Local", &tz, err, sizeof err), MK_EINVAL);
	assert_int_equal(cron_tz_load("/etc/passwd", &tz, err, sizeof err), MK_EINVAL);
	assert_int_equal(cron_tz_load("Europe/Berlinnnnnnnnnnnnn", &tz, err, sizeof err),
			 MK_EINVAL);
	/* A file that is not TZif. */
	assert_int_equal(cron_tz_load("zone1970.tab", &tz, err, sizeof err), MK_EINVAL);
	assert_int_equal(cron_tz_load("UTC", &tz, err, sizeof err), MK_OK);
	cron_tz_free(tz);
}

static void expect_error(const char *spec, const char *want)
{
	struct cron_schedule s;
	char err[256] = "";
	if (cron_parse(spec, &s, err, sizeof err) != MK_EINVAL)
		fail_msg("\"%s\" was accepted", spec);
	if (strcmp(err, want) != 0)
		fail_msg("\"%s\": got \"%s\", want \"%s\"", spec, err, want);
}

static void test_bad_schedules(void **state)
{
	expect_error("bad", "expected exactly 5 fields, found 1: [bad]");
	expect_error("* * * *", "expected exactly 5 fields, found 4: [* * * *]");
	expect_error("0 * * * * *", "expected exactly 5 fields, found 6: [0 * * * * *]");
	expect_error("   ", "expected exactly 5 fields, found 0: []");
	expect_error("", "empty spec string");
	expect_error("60 * * * *", "end of range (60) above maximum (59): 60");
	expect_error("* 24 * * *", "end of range (24) above maximum (23): 24");
	expect_error("* * 0 * *", "beginning of range (0) below minimum (1): 0");
	expect_error("* * * 13 *", "end of range (13) above maximum (12): 13");
	expect_error("* * * * 7", "end of range (7) above maximum (6): 7");
	expect_error("* * * * sat-sun", "beginning of range (6) beyond end of range (0): sat-sun");
	expect_error("5-2 * * * *", "beginning of range (5) beyond end of range (2): 5-2");
	expect_error("*/0 * * * *", "step of range should be a positive number: */0");
	expect_error("a * * * *",
		     "failed to parse int from a: strconv.Atoi: parsing \"a\": invalid syntax");
	expect_error("-5 * * * *",
		     "failed to parse int from : strconv.Atoi: parsing \"\": invalid syntax");
	expect_error("*/-5 * * * *", "negative number (-5) not allowed: -5");
	expect_error("1-2-3 * * * *", "too many hyphens: 1-2-3");
	expect_error("*/2/3 * * * *", "too many slashes: */2/3");
	expect_error("* * * foo *",
		     "failed to parse int from foo: strconv.Atoi: parsing \"foo\": invalid syntax");
	expect_error("@foo", "unrecognized descriptor: @foo");
	expect_error("@daily ", "unrecognized descriptor: @daily ");
	expect_error("@every 1d", "failed to parse duration @every 1d: time: unknown unit \"d\" in "
		     "duration \"1d\"");
	expect_error("@every 5", "failed to parse duration @every 5: time: missing unit in "
		     "duration \"5\"");
	expect_error("TZ=UTC * * * * *",
		     "cannot use TZ or CRON_TZ in schedule, use timeZone field instead");
	expect_error("CRON_TZ=Europe/Berlin 0 * * * *",
		     "cannot use TZ or CRON_TZ in schedule, use timeZone field instead");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_calendar),     cmocka_unit_test(test_fields),
		cmocka_unit_test(test_descriptors),  cmocka_unit_test(test_day_rules),
		cmocka_unit_test(test_leap_day),     cmocka_unit_test(test_most_recent),
		cmocka_unit_test(test_time_zones),
		cmocka_unit_test(test_bad_zones),    cmocka_unit_test(test_bad_schedules),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
