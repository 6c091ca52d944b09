/*
 * Cron schedules (cron_schedule.h): robfig/cron v3's standard parser and
 * SpecSchedule.Next, with their error messages, over the time zones of
 * cron_tz.c.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../base/err.h"
#include "cron_schedule.h"

struct bounds {
	unsigned min, max;
	const char *const *names; /* names[i] is value min + i, or NULL */
};

static const char *const month_names[] = {"jan", "feb", "mar", "apr", "may", "jun",
					  "jul", "aug", "sep", "oct", "nov", "dec", NULL};
static const char *const dow_names[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat", NULL};

static const struct bounds minutes = {0, 59, NULL}, hours = {0, 23, NULL},
			   doms = {1, 31, NULL}, months = {1, 12, month_names},
			   dows = {0, 6, dow_names};

/* Go's strconv.Atoi, with robfig's wrapping of its errors. */
static int parse_uint(const char *s, unsigned long long *out, char *errmsg, size_t len)
{
	const char *p = s;
	bool neg = false;
	unsigned long long v = 0;

	if (*p == '+' || *p == '-')
		neg = *p++ == '-';
	if (*p == '\0')
		goto syntax;
	for (; *p; p++) {
		if (*p < '0' || *p > '9')
			goto syntax;
		if (v > (INT64_MAX - 9) / 10) {
			snprintf(errmsg, len, "failed to parse int from %s: strconv.Atoi: parsing "
				 "\"%s\": value out of range", s, s);
			return MK_EINVAL;
		}
		v = v * 10 + (unsigned)(*p - '0');
	}
	if (neg && v != 0) {
		snprintf(errmsg, len, "negative number (-%llu) not allowed: %s", v, s);
		return MK_EINVAL;
	}
	*out = v;
	return MK_OK;
syntax:
	snprintf(errmsg, len, "failed to parse int from %s: strconv.Atoi: parsing \"%s\": invalid "
		 "syntax", s, s);
	return MK_EINVAL;
}

static int parse_int_or_name(const char *s, const struct bounds *r, unsigned long long *out,
			     char *errmsg, size_t len)
{
	for (size_t i = 0; r->names && r->names[i]; i++)
		if (strcasecmp(s, r->names[i]) == 0) {
			*out = r->min + i;
			return MK_OK;
		}
	return parse_uint(s, out, errmsg, len);
}

/* One range: `*`, `?`, N, N-M, each with an optional /STEP.  As in robfig,
 * a star ignores what follows its hyphen ("*-5" is "*"). */
static int parse_range(char *expr, const struct bounds *r, uint64_t *bits, char *errmsg,
		       size_t len)
{
	char orig[128];
	unsigned long long start, end, step = 1;
	uint64_t extra = 0;

	snprintf(orig, sizeof orig, "%s", expr);
	char *slash = strchr(expr, '/');
	if (slash != NULL) {
		*slash = '\0';
		if (strchr(slash + 1, '/') != NULL) {
			snprintf(errmsg, len, "too many slashes: %s", orig);
			return MK_EINVAL;
		}
	}
	char *hyphen = strchr(expr, '-');
	bool single = hyphen == NULL;
	if (hyphen != NULL)
		*hyphen = '\0';
	if (strcmp(expr, "*") == 0 || strcmp(expr, "?") == 0) {
		start = r->min;
		end = r->max;
		extra = CRON_STAR;
	} else {
		if (hyphen != NULL && strchr(hyphen + 1, '-') != NULL) {
			snprintf(errmsg, len, "too many hyphens: %s", orig);
			return MK_EINVAL;
		}
		if (parse_int_or_name(expr, r, &start, errmsg, len) != MK_OK)
			return MK_EINVAL;
		end = start;
		if (hyphen != NULL && parse_int_or_name(hyphen + 1, r, &end, errmsg, len) != MK_OK)
			return MK_EINVAL;
	}
	if (slash != NULL) {
		if (parse_uint(slash + 1, &step, errmsg, len) != MK_OK)
			return MK_EINVAL;
		if (single) /* "N/step" means "N-max/step" */
			end = r->max;
		if (step > 1)
			extra = 0;
	}
	if (start < r->min) {
		snprintf(errmsg, len, "beginning of range (%llu) below minimum (%u): %s", start,
			 r->min, orig);
		return MK_EINVAL;
	}
	if (end > r->max) {
		snprintf(errmsg, len, "end of range (%llu) above maximum (%u): %s", end, r->max, orig);
		return MK_EINVAL;
	}
	if (start > end) {
		snprintf(errmsg, len, "beginning of range (%llu) beyond end of range (%llu): %s",
			 start, end, orig);
		return MK_EINVAL;
	}
	if (step == 0) {
		snprintf(errmsg, len, "step of range should be a positive number: %s", orig);
		return MK_EINVAL;
	}
	for (unsigned long long v = start; v <= end; v += step)
		*bits |= UINT64_C(1) << v;
	*bits |= extra;
	return MK_OK;
}

/* A field: ranges separated by commas (empty ones skipped, as Go's
 * strings.FieldsFunc does). */
static int parse_field(const char *field, const struct bounds *r, uint64_t *bits,
		       char *errmsg, size_t len)
{
	char buf[128];
	const char *p = field;

	*bits = 0;
	while (*p) {
		size_t n = strcspn(p, ",");
		if (n > 0) {
			if (n >= sizeof buf) {
				snprintf(errmsg, len, "failed to parse int from %.*s: value too long",
					 (int)(n > 60 ? 60 : n), p);
				return MK_EINVAL;
			}
			memcpy(buf, p, n);
			buf[n] = '\0';
			if (parse_range(buf, r, bits, errmsg, len) != MK_OK)
				return MK_EINVAL;
		}
		p += n;
		if (*p == ',')
			p++;
	}
	return MK_OK;
}

/* Go's time.ParseDuration for @every, in whole seconds. */
static int parse_every(const char *s, int64_t *out, char *errmsg, size_t len)
{
	static const struct {
		const char *unit;
		double seconds;
	} units[] = {{"ns", 1e-9}, {"us", 1e-6}, {"\xc2\xb5s", 1e-6}, {"\xce\xbcs", 1e-6},
		     {"ms", 1e-3}, {"s", 1}, {"m", 60}, {"h", 3600}};
	const char *p = s;
	double total = 0;
	int sign = 1;

	if (*p == '+' || *p == '-')
		sign = *p++ == '-' ? -1 : 1;
	if (strcmp(p, "0") == 0) {
		*out = 1;
		return MK_OK;
	}
	if (*p == '\0')
		goto invalid;
	while (*p) {
		if (!(isdigit((unsigned char)*p) || (*p == '.' && isdigit((unsigned char)p[1]))))
			goto invalid;
		char *num_end;
		double v = strtod(p, &num_end);
		p = num_end;
		const char *u = p;
		while (*p && *p != '.' && !isdigit((unsigned char)*p))
			p++;
		if (u == p) {
			snprintf(errmsg, len, "failed to parse duration @every %s: time: missing unit "
				 "in duration \"%s\"", s, s);
			return MK_EINVAL;
		}
		size_t k;
		for (k = 0; k < sizeof units / sizeof units[0]; k++)
			if (strlen(units[k].unit) == (size_t)(p - u) &&
			    strncmp(u, units[k].unit, (size_t)(p - u)) == 0)
				break;
		if (k == sizeof units / sizeof units[0]) {
			snprintf(errmsg, len, "failed to parse duration @every %s: time: unknown unit "
				 "\"%.*s\" in duration \"%s\"", s, (int)(p - u), u, s);
			return MK_EINVAL;
		}
		total += v * units[k].seconds;
		if (total > 9.2e9)
			goto invalid;
	}
	/* robfig: at least a second, sub-second parts dropped. */
	*out = sign < 0 || total < 1 ? 1 : (int64_t)total;
	return MK_OK;
invalid:
	snprintf(errmsg, len, "failed to parse duration @every %s: time: invalid duration \"%s\"",
		 s, s);
	return MK_EINVAL;
}

static int parse_descriptor(const char *spec, struct cron_schedule *s, char *errmsg,
			    size_t len)
{
	uint64_t all_dom = UINT64_C(0xfffffffe) | CRON_STAR, all_month = UINT64_C(0x1ffe) | CRON_STAR,
		 all_dow = UINT64_C(0x7f) | CRON_STAR, all_hour = UINT64_C(0xffffff) | CRON_STAR;

	memset(s, 0, sizeof *s);
	s->minute = 1;
	s->hour = 1;
	s->dom = all_dom;
	s->month = all_month;
	s->dow = all_dow;
	if (strcmp(spec, "@yearly") == 0 || strcmp(spec, "@annually") == 0) {
		s->dom = 1 << 1;
		s->month = 1 << 1;
	} else if (strcmp(spec, "@monthly") == 0) {
		s->dom = 1 << 1;
	} else if (strcmp(spec, "@weekly") == 0) {
		s->dow = 1;
	} else if (strcmp(spec, "@daily") == 0 || strcmp(spec, "@midnight") == 0) {
		/* the defaults */
	} else if (strcmp(spec, "@hourly") == 0) {
		s->hour = all_hour;
	} else if (strncmp(spec, "@every ", 7) == 0) {
		return parse_every(spec + 7, &s->every, errmsg, len);
	} else {
		snprintf(errmsg, len, "unrecognized descriptor: %s", spec);
		return MK_EINVAL;
	}
	return MK_OK;
}

int cron_parse(const char *spec, struct cron_schedule *out, char *errmsg, size_t len)
{
	char fields[5][128], list[600];
	int n = 0;
	const char *p = spec;

	memset(out, 0, sizeof *out);
	if (spec[0] == '\0') {
		snprintf(errmsg, len, "empty spec string");
		return MK_EINVAL;
	}
	if (strstr(spec, "TZ") != NULL) {
		snprintf(errmsg, len, "cannot use TZ or CRON_TZ in schedule, use timeZone field instead");
		return MK_EINVAL;
	}
	if (spec[0] == '@')
		return parse_descriptor(spec, out, errmsg, len);
	/* Go's strings.Fields, and "[a b c]" as fmt prints the fields. */
	size_t used = snprintf(list, sizeof list, "[");
	int total = 0;
	while (*p) {
		while (*p && isspace((unsigned char)*p))
			p++;
		if (*p == '\0')
			break;
		size_t k = 0;
		const char *start = p;
		while (*p && !isspace((unsigned char)*p))
			p++, k++;
		if (used < sizeof list)
			used += snprintf(list + used, sizeof list - used, "%s%.*s", total ? " " : "",
					 (int)k, start);
		if (total < 5) {
			if (k >= sizeof fields[0]) {
				snprintf(errmsg, len, "field too long: %.60s...", start);
				return MK_EINVAL;
			}
			memcpy(fields[total], start, k);
			fields[total][k] = '\0';
		}
		total++;
	}
	if (used < sizeof list)
		snprintf(list + used, sizeof list - used, "]");
	if (total != 5) {
		snprintf(errmsg, len, "expected exactly 5 fields, found %d: %s", total, list);
		return MK_EINVAL;
	}
	const struct bounds *b[5] = {&minutes, &hours, &doms, &months, &dows};
	uint64_t *dst[5] = {&out->minute, &out->hour, &out->dom, &out->month, &out->dow};
	for (n = 0; n < 5; n++)
		if (parse_field(fields[n], b[n], dst[n], errmsg, len) != MK_OK)
			return MK_EINVAL;
	return MK_OK;
}

/* --- next time ---------------------------------------------------------------- */

static bool has(uint64_t bits, int v)
{
	return (bits >> v) & 1;
}

/* Both restricted: either matches (cron's rule); a star in one: both. */
static bool day_matches(const struct cron_schedule *s, const struct cron_civil *c)
{
	bool dom = has(s->dom, c->day), dow = has(s->dow, c->wday);
	if ((s->dom & CRON_STAR) || (s->dow & CRON_STAR))
		return dom && dow;
	return dom || dow;
}

int64_t cron_next(const struct cron_schedule *s, const struct cron_tz *tz, int64_t after)
{
	struct cron_civil c;
	bool added = false;

	if (s->every > 0)
		return after + s->every;
	int64_t t = after + 1; /* the upcoming second */
	cron_tz_civil(tz, t, &c);
	int year_limit = c.year + 5;
wrap:
	cron_tz_civil(tz, t, &c);
	if (c.year > year_limit)
		return 0;
	while (!has(s->month, c.month)) {
		if (!added) {
			added = true;
			t = cron_tz_date(tz, c.year, c.month, 1, 0, 0, 0);
			cron_tz_civil(tz, t, &c);
		}
		t = cron_tz_date(tz, c.year, c.month + 1, c.day, c.hour, c.minute, c.second);
		cron_tz_civil(tz, t, &c);
		if (c.month == 1)
			goto wrap;
	}
	while (!day_matches(s, &c)) {
		if (!added) {
			added = true;
			t = cron_tz_date(tz, c.year, c.month, c.day, 0, 0, 0);
			cron_tz_civil(tz, t, &c);
		}
		t = cron_tz_date(tz, c.year, c.month, c.day + 1, c.hour, c.minute, c.second);
		cron_tz_civil(tz, t, &c);
		/* Where midnight does not exist (a DST change at 00:00), the
		 * day starts at 01:00 or the previous day's 23:00: back to
		 * midnight, as robfig/cron does. */
		if (c.hour != 0) {
			t += c.hour > 12 ? (int64_t)(24 - c.hour) * 3600 : -(int64_t)c.hour * 3600;
			cron_tz_civil(tz, t, &c);
		}
		if (c.day == 1)
			goto wrap;
	}
	while (!has(s->hour, c.hour)) {
		if (!added) {
			added = true;
			t = cron_tz_date(tz, c.year, c.month, c.day, c.hour, 0, 0);
		}
		t += 3600; /* absolute hours: a skipped wall-clock hour never matches */
		cron_tz_civil(tz, t, &c);
		if (c.hour == 0)
			goto wrap;
	}
	while (!has(s->minute, c.minute)) {
		if (!added) {
			added = true;
			t -= ((t % 60) + 60) % 60;
		}
		t += 60;
		cron_tz_civil(tz, t, &c);
		if (c.minute == 0)
			goto wrap;
	}
	while (c.second != 0) {
		added = true;
		t++;
		cron_tz_civil(tz, t, &c);
		if (c.second == 0)
			goto wrap;
	}
	return t;
}

int cron_most_recent(const struct cron_schedule *s, const struct cron_tz *tz, int64_t earliest,
		     int64_t now, int64_t *most, int64_t *missed)
{
	int64_t t1 = cron_next(s, tz, earliest), t2 = t1 ? cron_next(s, tz, t1) : 0;

	*most = 0;
	*missed = 0;
	if (t1 != 0 && now < t1)
		return MK_OK;
	if (t2 != 0 && now < t2) {
		*most = t1;
		return MK_OK;
	}
	if (t1 == 0 || t2 - t1 < 1)
		return MK_EINVAL;
	/* Rough count from one interval; then the exact latest time, found
	 * from one interval before where the count says it is (schedules
	 * with uneven intervals, "30 6-16/4 * * 1-5", land right too). */
	int64_t interval = t2 - t1;
	*missed = (now - t1) / interval + 1;
	for (int64_t t = cron_next(s, tz, t1 + (*missed - 2) * interval); t != 0 && t <= now;
	     t = cron_next(s, tz, t))
		*most = t;
	return MK_OK;
}
