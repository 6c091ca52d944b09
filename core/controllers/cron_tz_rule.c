/*
 * The calendar and POSIX TZ rules ("CET-1CEST,M3.5.0,M10.5.0/3", the
 * footer of a TZif file, for times after its last transition) under the
 * time zones of cron_tz.c (cron_tz_internal.h).
 */
#include <stdlib.h>
#include <string.h>

#include "cron_schedule.h"
#include "cron_tz_internal.h"

/* --- calendar -------------------------------------------------------------- */

int64_t cron_floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

int64_t cron_days_from_civil(int64_t y, int64_t m, int64_t d)
{
	/* Months carry into years first, then days are plain offsets. */
	y += cron_floor_div(m - 1, 12);
	m = m - 1 - cron_floor_div(m - 1, 12) * 12 + 1;
	/* Count from March so that February's leap day is the year's last. */
	if (m <= 2)
		y--;
	int64_t era = cron_floor_div(y, 400);
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468 + (d - 1);
}

void cron_civil_from_days(int64_t z, int *year, int *month, int *day)
{
	z += 719468;
	int64_t era = cron_floor_div(z, 146097);
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	int64_t m = mp < 10 ? mp + 3 : mp - 9;
	*day = (int)(doy - (153 * mp + 2) / 5 + 1);
	*month = (int)m;
	*year = (int)(yoe + era * 400 + (m <= 2));
}

bool cron_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int month_days(int64_t y, int m)
{
	static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	return m == 2 && cron_leap(y) ? 29 : days[m - 1];
}

/* --- POSIX TZ rules ---------------------------------------------------------- */

/* Seconds after the start of year y (UTC) at which date r happens, r's
 * time being local with offset off. */
static int64_t rule_time(int64_t y, const struct tz_date *r, int32_t off)
{
	int64_t day;
	if (r->kind == 'J')
		day = r->n - 1 + (cron_leap(y) && r->n >= 60);
	else if (r->kind == 'N')
		day = r->n;
	else {
		int64_t first = cron_days_from_civil(y, r->m, 1);
		int wday_first = (int)(((first + 4) % 7 + 7) % 7);
		int d = (r->d - wday_first + 7) % 7 + 1;
		for (int i = 1; i < r->w && d + 7 <= month_days(y, r->m); i++)
			d += 7;
		day = cron_days_from_civil(y, r->m, d) - cron_days_from_civil(y, 1, 1);
	}
	return day * DAY + r->time - off;
}

/* Offset at t by the rule, and the span [*start, *end) it holds for (exact
 * near transitions, else the year's bounds: all time.Date needs). */
int32_t tz_rule_lookup(const struct tz_rule *r, int64_t t, int64_t *start, int64_t *end)
{
	int y, mo, d;
	cron_civil_from_days(cron_floor_div(t, DAY), &y, &mo, &d);
	int64_t year_start = cron_days_from_civil(y, 1, 1) * DAY;
	int64_t ysec = t - year_start;
	if (!r->has_dst) {
		*start = INT64_MIN;
		*end = INT64_MAX;
		return r->std_off;
	}
	int64_t s = rule_time(y, &r->start, r->std_off), e = rule_time(y, &r->end, r->dst_off);
	int32_t std = r->std_off, dst = r->dst_off;
	if (e < s) { /* southern hemisphere: "DST" spans the new year */
		int64_t x = s;
		s = e;
		e = x;
		std = r->dst_off;
		dst = r->std_off;
	}
	if (ysec < s) {
		*start = year_start;
		*end = year_start + s;
		return std;
	}
	if (ysec >= e) {
		*start = year_start + e;
		*end = year_start + 365 * (int64_t)DAY;
		return std;
	}
	*start = year_start + s;
	*end = year_start + e;
	return dst;
}

/* [+-]hh[:mm[:ss]] into seconds; NULL when malformed. */
static const char *parse_hms(const char *p, int max_h, int32_t *out)
{
	int sign = 1, part[3] = {0, 0, 0}, n = 0;
	if (*p == '+' || *p == '-')
		sign = *p++ == '-' ? -1 : 1;
	for (;;) {
		if (*p < '0' || *p > '9')
			return NULL;
		int v = 0;
		while (*p >= '0' && *p <= '9' && v <= max_h)
			v = v * 10 + (*p++ - '0');
		part[n++] = v;
		if (*p != ':' || n == 3)
			break;
		p++;
	}
	if (part[0] > max_h || part[1] > 59 || part[2] > 59)
		return NULL;
	*out = sign * (part[0] * 3600 + part[1] * 60 + part[2]);
	return p;
}

static const char *parse_name(const char *p)
{
	if (*p == '<') {
		const char *q = strchr(p, '>');
		return q && q - p >= 4 ? q + 1 : NULL;
	}
	const char *q = p;
	while ((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z'))
		q++;
	return q - p >= 3 ? q : NULL;
}

static const char *parse_date(const char *p, struct tz_date *out)
{
	char *end;
	memset(out, 0, sizeof *out);
	out->time = 2 * 3600;
	if (*p == 'M') {
		out->kind = 'M';
		out->m = (int)strtol(p + 1, &end, 10);
		if (*end != '.' || out->m < 1 || out->m > 12)
			return NULL;
		out->w = (int)strtol(end + 1, &end, 10);
		if (*end != '.' || out->w < 1 || out->w > 5)
			return NULL;
		out->d = (int)strtol(end + 1, &end, 10);
		if (out->d < 0 || out->d > 6)
			return NULL;
	} else if (*p == 'J') {
		out->kind = 'J';
		out->n = (int)strtol(p + 1, &end, 10);
		if (out->n < 1 || out->n > 365)
			return NULL;
	} else if (*p >= '0' && *p <= '9') {
		out->kind = 'N';
		out->n = (int)strtol(p, &end, 10);
		if (out->n > 365)
			return NULL;
	} else {
		return NULL;
	}
	p = end;
	if (*p == '/')
		p = parse_hms(p + 1, 167, &out->time);
	return p;
}

/* A POSIX TZ string ("CET-1CEST,M3.5.0,M10.5.0/3"); false when this code
 * cannot read it (the zone then uses its transitions only). */
bool tz_rule_parse(const char *s, struct tz_rule *r)
{
	int32_t off;
	memset(r, 0, sizeof *r);
	const char *p = parse_name(s);
	if (p == NULL || (p = parse_hms(p, 24, &off)) == NULL)
		return false;
	r->std_off = -off;
	if (*p == '\0')
		return true;
	if ((p = parse_name(p)) == NULL)
		return false;
	r->has_dst = true;
	r->dst_off = r->std_off + 3600;
	if (*p != ',' && *p != '\0') {
		if ((p = parse_hms(p, 24, &off)) == NULL)
			return false;
		r->dst_off = -off;
	}
	if (*p == '\0') /* no dates: the US rules, as Go assumes */
		p = ",M3.2.0,M11.1.0";
	if (*p != ',' || (p = parse_date(p + 1, &r->start)) == NULL || *p != ',' ||
	    (p = parse_date(p + 1, &r->end)) == NULL)
		return false;
	return *p == '\0';
}

