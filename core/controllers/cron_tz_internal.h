/*
 * What cron_tz.c (zoneinfo files) and cron_tz_rule.c (the calendar, POSIX
 * TZ rules) share.  Pure functions; no state.
 */
#ifndef MK_CONTROLLERS_CRON_TZ_INTERNAL_H
#define MK_CONTROLLERS_CRON_TZ_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#define DAY 86400

/* A POSIX TZ date: Jn (1-365, Feb 29 never counted), n (0-365), or
 * Mm.w.d (day d of week w of month m, w 5 = the last). */
struct tz_date {
	char kind; /* 'J', 'N' or 'M' */
	int n, m, w, d;
	int32_t time; /* seconds after local midnight; may be negative or > 24 h */
};

struct tz_rule {
	int32_t std_off, dst_off; /* seconds east of UTC */
	bool has_dst;
	struct tz_date start, end;
};


/* a / b rounded toward minus infinity. */
int64_t cron_floor_div(int64_t a, int64_t b);
/* The date of a day number (days since 1970-01-01). */
void cron_civil_from_days(int64_t z, int *year, int *month, int *day);
bool cron_leap(int64_t year);

/* Parses a POSIX TZ string; false when this code cannot read it (the zone
 * then uses its transitions only). */
bool tz_rule_parse(const char *s, struct tz_rule *r);
/* The offset (seconds east of UTC) the rule gives at unix time t, and the
 * span [*start, *end) it holds for: exact near transitions, else the
 * year's bounds (all that time.Date's resolution needs). */
int32_t tz_rule_lookup(const struct tz_rule *r, int64_t t, int64_t *start, int64_t *end);

#endif
