/*
 * Cron schedules and time zones, as CronJobs use them.
 *
 * Upstream parses spec.schedule with robfig/cron v3's ParseStandard and
 * computes times with its SpecSchedule.Next; both are reproduced here,
 * including their error messages (the API server returns them verbatim:
 * `spec.schedule: Invalid value: "bad": expected exactly 5 fields, found 1:
 * [bad]`) and their quirks:
 *
 *   - five fields: minute hour day-of-month month day-of-week; each a
 *     comma list of `*` or `?`, N, N-M, with an optional /STEP ("N/S" means
 *     N to the maximum); months jan-dec and days sun-sat by name, any case;
 *     day-of-week is 0-6 (7 is refused, as upstream);
 *   - @yearly @annually @monthly @weekly @daily @midnight @hourly, and
 *     @every DURATION (Go syntax, whole seconds, at least one);
 *   - day-of-month and day-of-week: when both are restricted, a day
 *     matching either runs (cron's OR rule); a `*` (or `?`) in either makes
 *     it an AND;
 *   - time zones: the fields are read in the zone's wall-clock time.  A
 *     wall-clock time that a DST change skips never runs that day (a 02:30
 *     job in Europe/Berlin does not run on the last Sunday of March), one
 *     that repeats runs twice; that is robfig/cron's behaviour, so mk's
 *     CronJobs start when upstream's do;
 *   - no matching time within five years: cron_next returns 0.
 *
 * `TZ=` and `CRON_TZ=` inside a schedule are refused (upstream's validation
 * refuses them on create; spec.timeZone is the way to name a zone).
 *
 * Time zones come from the system's zoneinfo files (TZif, RFC 8536),
 * parsed here, with the POSIX TZ rule of their footer for times after the
 * last transition.  Why not localtime_r: it reads the zone from the TZ
 * environment variable, process-wide, and switching it from a controller
 * thread (setenv + tzset) races with every other thread that reads the
 * environment or the time.  A loaded zone is immutable.
 *
 * Threading: everything here is reentrant; a cron_tz may be shared by
 * threads once loaded.
 * Errors: MK_EINVAL (bad schedule or zone name), MK_ENOTFOUND (no such
 * zone), MK_ENOMEM, with one line in errmsg.
 */
#ifndef MK_CONTROLLERS_CRON_SCHEDULE_H
#define MK_CONTROLLERS_CRON_SCHEDULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Set in a field when it was `*` or `?` (the day OR rule needs to know). */
#define CRON_STAR (UINT64_C(1) << 63)

struct cron_schedule {
	uint64_t minute, hour, dom, month, dow; /* bit v set: value v matches */
	int64_t every;                          /* @every: seconds; else 0 */
};

/* Parses spec (robfig/cron ParseStandard).  MK_OK or MK_EINVAL with
 * upstream's message in errmsg. */
int cron_parse(const char *spec, struct cron_schedule *out, char *errmsg, size_t len);

struct cron_tz;

/* Loads the zone `name` from /usr/share/zoneinfo ("" and "UTC" need no
 * file).  Names are checked as upstream does (no "..", no leading '-',
 * parts of [A-Za-z0-9._+-]{1,14}, not "Local"); errmsg then reads
 * "unknown time zone NAME" like Go's time.LoadLocation. */
int cron_tz_load(const char *name, struct cron_tz **out, char *errmsg, size_t len);
void cron_tz_free(struct cron_tz *tz);

/* A wall-clock time. month 1-12, wday 0 (Sunday) - 6. */
struct cron_civil {
	int year, month, day, hour, minute, second, wday;
	int32_t offset; /* seconds east of UTC */
};

/* The wall-clock time in tz (NULL: UTC) at unix time t. */
void cron_tz_civil(const struct cron_tz *tz, int64_t t, struct cron_civil *out);
/* The unix time of a wall-clock time in tz, out-of-range fields carried
 * over (month 13 is January of the next year), as Go's time.Date: a time
 * in a DST gap or overlap resolves the way Go resolves it. */
int64_t cron_tz_date(const struct cron_tz *tz, int year, int month, int day, int hour,
		     int minute, int second);

/* The first time strictly after `after` (unix seconds) the schedule
 * matches in tz (NULL: UTC); 0 when there is none within five years. */
int64_t cron_next(const struct cron_schedule *s, const struct cron_tz *tz, int64_t after);

/* Upstream's mostRecentScheduleTime: *most the latest time in (earliest,
 * now] the schedule matches (0: none), *missed roughly how many times it
 * matched in between (from the interval of its next two times; more than
 * 100 is "too many").  MK_EINVAL when two consecutive times are not a
 * second apart (a schedule that never comes, "0 0 30 2 *"). */
int cron_most_recent(const struct cron_schedule *s, const struct cron_tz *tz, int64_t earliest,
		     int64_t now, int64_t *most, int64_t *missed);

/* Days since 1970-01-01 of a proleptic Gregorian date (any month/day
 * values: they carry over). */
int64_t cron_days_from_civil(int64_t year, int64_t month, int64_t day);

#endif
