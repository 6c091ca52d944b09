/*
 * Time zones from the system's zoneinfo (cron_schedule.h): TZif files
 * (RFC 8536, versions 1-4), their POSIX TZ footer (cron_tz_rule.c) for
 * times after the last transition, and wall-clock conversions following
 * Go's time package where the answer is a matter of convention (what
 * time.Date makes of a wall-clock time a DST change skips or repeats), so
 * that schedules fire when upstream's do.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../base/err.h"
#include "cron_schedule.h"
#include "cron_tz_internal.h"

#define ZONEINFO "/usr/share/zoneinfo"
#define MAX_TZIF (256 * 1024)

struct tz_type {
	int32_t off;
	bool dst;
};

struct cron_tz {
	int64_t *when; /* transition times, ascending */
	uint8_t *type; /* the type each transition switches to */
	size_t n;
	struct tz_type *types;
	size_t n_types;
	size_t first; /* the type before the first transition */
	bool has_rule;
	struct tz_rule rule;
};

/* --- TZif ------------------------------------------------------------------ */

static int64_t be(const unsigned char *p, int n)
{
	uint64_t v = 0;
	for (int i = 0; i < n; i++)
		v = v << 8 | p[i];
	return n == 4 ? (int64_t)(int32_t)v : (int64_t)v;
}

/* Parses a TZif image into tz.  MK_OK or MK_EINVAL. */
static int parse_tzif(const unsigned char *b, size_t len, struct cron_tz *tz)
{
	const unsigned char *p = b, *end = b + len;
	int tsize = 4;
	for (int pass = 0;; pass++) {
		if (end - p < 44 || memcmp(p, "TZif", 4) != 0)
			return MK_EINVAL;
		int64_t isut = be(p + 20, 4), isstd = be(p + 24, 4), leaps = be(p + 28, 4);
		int64_t timecnt = be(p + 32, 4), typecnt = be(p + 36, 4), charcnt = be(p + 40, 4);
		if (isut < 0 || isstd < 0 || leaps < 0 || timecnt < 0 || typecnt < 1 ||
		    typecnt > 256 || charcnt < 0 || timecnt > 100000 || charcnt > 100000 ||
		    leaps > 100000 || isut > 256 || isstd > 256)
			return MK_EINVAL;
		size_t body = (size_t)(timecnt * tsize + timecnt + typecnt * 6 + charcnt +
				       leaps * (tsize + 4) + isstd + isut);
		p += 44;
		if ((size_t)(end - p) < body)
			return MK_EINVAL;
		/* Version 2+: the 64-bit block that follows supersedes this one. */
		if (pass == 0 && b[4] >= '2') {
			p += body;
			tsize = 8;
			continue;
		}
		tz->n = (size_t)timecnt;
		tz->n_types = (size_t)typecnt;
		tz->when = calloc(tz->n + 1, sizeof *tz->when);
		tz->type = calloc(tz->n + 1, 1);
		tz->types = calloc(tz->n_types, sizeof *tz->types);
		if (tz->when == NULL || tz->type == NULL || tz->types == NULL)
			return MK_ENOMEM;
		for (size_t i = 0; i < tz->n; i++) {
			tz->when[i] = be(p + i * (size_t)tsize, tsize);
			if (i > 0 && tz->when[i] <= tz->when[i - 1])
				return MK_EINVAL;
		}
		p += tz->n * (size_t)tsize;
		for (size_t i = 0; i < tz->n; i++)
			if ((tz->type[i] = p[i]) >= tz->n_types)
				return MK_EINVAL;
		p += tz->n;
		for (size_t i = 0; i < tz->n_types; i++, p += 6) {
			tz->types[i].off = (int32_t)be(p, 4);
			tz->types[i].dst = p[4] != 0;
			if (tz->types[i].off < -25 * 3600 || tz->types[i].off > 26 * 3600)
				return MK_EINVAL;
		}
		/* Before the first transition: the first standard-time type. */
		for (size_t i = 0; i < tz->n_types; i++)
			if (!tz->types[i].dst) {
				tz->first = i;
				break;
			}
		p += body - (size_t)(timecnt * tsize + timecnt + typecnt * 6);
		if (tsize == 8 && p < end && *p == '\n') {
			const unsigned char *nl = memchr(p + 1, '\n', (size_t)(end - p - 1));
			if (nl != NULL && nl - p < 128) {
				char footer[128];
				memcpy(footer, p + 1, (size_t)(nl - p - 1));
				footer[nl - p - 1] = '\0';
				tz->has_rule = footer[0] != '\0' && tz_rule_parse(footer, &tz->rule);
			}
		}
		return MK_OK;
	}
}

static bool name_part_ok(const char *s, size_t n)
{
	if (n == 0 || n > 14 || s[0] == '-' || (n == 1 && s[0] == '.') ||
	    (n == 2 && s[0] == '.' && s[1] == '.'))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '.' || s[i] == '-' || s[i] == '_' ||
		      s[i] == '+'))
			return false;
	return true;
}

int cron_tz_load(const char *name, struct cron_tz **out, char *errmsg, size_t len)
{
	struct cron_tz *tz = calloc(1, sizeof *tz);
	unsigned char *buf = NULL;
	FILE *f = NULL;
	int rv = MK_ENOMEM;

	*out = NULL;
	if (tz == NULL) {
		snprintf(errmsg, len, "out of memory");
		return MK_ENOMEM;
	}
	if (name[0] == '\0' || strcmp(name, "UTC") == 0) {
		tz->types = calloc(1, sizeof *tz->types);
		tz->n_types = 1;
		if (tz->types == NULL)
			goto fail;
		*out = tz;
		return MK_OK;
	}
	for (const char *s = name;;) {
		const char *slash = strchr(s, '/');
		size_t n = slash ? (size_t)(slash - s) : strlen(s);
		if (!name_part_ok(s, n) || strcasecmp(name, "Local") == 0) {
			snprintf(errmsg, len, "unknown time zone %.200s", name);
			rv = MK_EINVAL;
			goto fail;
		}
		if (slash == NULL)
			break;
		s = slash + 1;
	}
	char path[512];
	snprintf(path, sizeof path, "%s/%s", ZONEINFO, name);
	buf = malloc(MAX_TZIF);
	if (buf == NULL)
		goto fail;
	f = fopen(path, "rb");
	size_t n = f ? fread(buf, 1, MAX_TZIF, f) : 0;
	rv = f == NULL ? MK_ENOTFOUND : ferror(f) || n == MAX_TZIF ? MK_EINVAL : MK_OK;
	if (rv == MK_OK)
		rv = parse_tzif(buf, n, tz);
	if (rv != MK_OK) {
		if (rv == MK_ENOMEM)
			snprintf(errmsg, len, "out of memory");
		else
			snprintf(errmsg, len, "unknown time zone %.200s", name);
		goto fail;
	}
	fclose(f);
	free(buf);
	*out = tz;
	return MK_OK;
fail:
	if (f != NULL)
		fclose(f);
	free(buf);
	cron_tz_free(tz);
	return rv;
}

void cron_tz_free(struct cron_tz *tz)
{
	if (tz == NULL)
		return;
	free(tz->when);
	free(tz->type);
	free(tz->types);
	free(tz);
}

/* Go's Location.lookup: the offset at t and the span it holds for. */
static int32_t lookup(const struct cron_tz *tz, int64_t t, int64_t *start, int64_t *end)
{
	*start = INT64_MIN;
	*end = INT64_MAX;
	if (tz == NULL || tz->types == NULL)
		return 0;
	if (tz->n == 0 || t < tz->when[0]) {
		if (tz->n > 0)
			*end = tz->when[0];
		else if (tz->has_rule)
			return tz_rule_lookup(&tz->rule, t, start, end);
		return tz->types[tz->first].off;
	}
	size_t lo = 0, hi = tz->n;
	while (hi - lo > 1) {
		size_t m = (lo + hi) / 2;
		if (t < tz->when[m]) {
			*end = tz->when[m];
			hi = m;
		} else {
			lo = m;
		}
	}
	*start = tz->when[lo];
	if (lo == tz->n - 1 && tz->has_rule) {
		int64_t s, e;
		int32_t off = tz_rule_lookup(&tz->rule, t, &s, &e);
		/* The rule only speaks for times after the last transition. */
		*start = s > *start ? s : *start;
		*end = e;
		return off;
	}
	return tz->types[tz->type[lo]].off;
}

void cron_tz_civil(const struct cron_tz *tz, int64_t t, struct cron_civil *out)
{
	int64_t s, e;
	int32_t off = lookup(tz, t, &s, &e);
	int64_t local = t + off;
	int64_t days = cron_floor_div(local, DAY), secs = local - days * DAY;

	cron_civil_from_days(days, &out->year, &out->month, &out->day);
	out->hour = (int)(secs / 3600);
	out->minute = (int)(secs / 60 % 60);
	out->second = (int)(secs % 60);
	out->wday = (int)(((days + 4) % 7 + 7) % 7);
	out->offset = off;
}

int64_t cron_tz_date(const struct cron_tz *tz, int year, int month, int day, int hour,
		     int minute, int second)
{
	int64_t local = cron_days_from_civil(year, month, day) * DAY + (int64_t)hour * 3600 +
		       (int64_t)minute * 60 + second;
	int64_t s, e;
	/* Go's guess: the offset in force at the wall-clock time read as
	 * UTC, corrected when the result falls outside that offset's span. */
	int32_t off = lookup(tz, local, &s, &e);
	if (off != 0) {
		int64_t utc = local - off;
		if (utc < s || utc >= e)
			off = lookup(tz, utc, &s, &e);
		local -= off;
	}
	return local;
}
