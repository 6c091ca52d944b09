/*
 * The CRI log format: records and RFC 3339 timestamps (see cri_log.h).
 * Pure functions: no I/O, no allocation, no locale, so the fuzzer and every
 * thread can call them.
 */
#include <stdio.h>
#include <string.h>

#include "../base/err.h"
#include "cri_log.h"

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
 * algorithm): timegm() would do, but it is neither pure nor bounded. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

static bool leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* n decimal digits at s, or -1. */
static int digits(const char *s, int n)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

int cri_time_parse(const char *s, size_t len, struct cri_time *t)
{
	static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	if (len < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
	    s[16] != ':')
		return MK_EINVAL;
	int y = digits(s, 4), mo = digits(s + 5, 2), d = digits(s + 8, 2);
	int h = digits(s + 11, 2), mi = digits(s + 14, 2), se = digits(s + 17, 2);
	if (y < 0 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 ||
	    se < 0 || se > 59)
		return MK_EINVAL;
	if (d > mdays[mo - 1] + (mo == 2 && leap(y)))
		return MK_EINVAL;
	size_t i = 19;
	int32_t nsec = 0;
	if (s[i] == '.') {
		size_t start = ++i;
		int scale = 100000000;
		while (i < len && s[i] >= '0' && s[i] <= '9') {
			/* Go keeps nine digits and ignores the rest. */
			nsec += (s[i] - '0') * scale;
			scale /= 10;
			i++;
		}
		if (i == start)
			return MK_EINVAL;
	}
	int32_t offset;
	if (i + 1 == len && s[i] == 'Z') {
		offset = 0;
	} else if (i + 6 == len && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':') {
		int oh = digits(s + i + 1, 2), om = digits(s + i + 4, 2);
		if (oh < 0 || oh > 23 || om < 0 || om > 59)
			return MK_EINVAL;
		offset = (oh * 3600 + om * 60) * (s[i] == '-' ? -1 : 1);
	} else {
		return MK_EINVAL;
	}
	t->sec = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se - offset;
	t->nsec = nsec;
	t->offset = offset;
	return MK_OK;
}

int cri_time_cmp(const struct cri_time *a, const struct cri_time *b)
{
	if (a->sec != b->sec)
		return a->sec < b->sec ? -1 : 1;
	return (a->nsec > b->nsec) - (a->nsec < b->nsec);
}

size_t cri_time_format(const struct cri_time *t, char out[CRI_TIME_MAX])
{
	int64_t local = t->sec + t->offset;
	int64_t days = local / 86400, rem = local % 86400;
	if (rem < 0) {
		rem += 86400;
		days--;
	}
	int64_t y;
	int m, d;
	civil_from_days(days, &y, &m, &d);
	char zone[8] = "Z";
	if (t->offset != 0) {
		int32_t o = t->offset < 0 ? -t->offset : t->offset;
		snprintf(zone, sizeof zone, "%c%02d:%02d", t->offset < 0 ? '-' : '+',
			 (int)(o / 3600 % 100), (int)(o / 60 % 60));
	}
	int n = snprintf(out, CRI_TIME_MAX, "%04lld-%02d-%02dT%02d:%02d:%02d.%09d%s",
			 (long long)(y % 10000), m, d, (int)(rem / 3600), (int)(rem / 60 % 60),
			 (int)(rem % 60), (int)t->nsec, zone);
	return n < 0 ? 0 : (size_t)n;
}

int cri_record_parse(const char *line, size_t len, struct cri_record *r, const char **why)
{
	const char *end = line + len;
	const char *sp1 = memchr(line, ' ', len);
	if (sp1 == NULL) {
		*why = "no stream after the timestamp";
		return MK_EINVAL;
	}
	if (cri_time_parse(line, (size_t)(sp1 - line), &r->time) != MK_OK) {
		*why = "bad timestamp";
		return MK_EINVAL;
	}
	const char *stream = sp1 + 1;
	const char *sp2 = memchr(stream, ' ', (size_t)(end - stream));
	if (sp2 == NULL) {
		*why = "no tag after the stream";
		return MK_EINVAL;
	}
	size_t slen = (size_t)(sp2 - stream);
	if (slen == 6 && memcmp(stream, "stdout", 6) == 0) {
		r->stream = CRI_STDOUT;
	} else if (slen == 6 && memcmp(stream, "stderr", 6) == 0) {
		r->stream = CRI_STDERR;
	} else {
		*why = "unknown stream";
		return MK_EINVAL;
	}
	/* The tag runs to the next space; a line that stops right after it
	 * is an empty record (writers differ on the trailing space). */
	const char *tag = sp2 + 1;
	const char *sp3 = memchr(tag, ' ', (size_t)(end - tag));
	const char *tag_end = sp3 ? sp3 : end;
	const char *colon = memchr(tag, ':', (size_t)(tag_end - tag));
	const char *first_end = colon ? colon : tag_end;
	r->partial = first_end - tag == 1 && tag[0] == 'P';
	r->content = sp3 ? sp3 + 1 : end;
	r->len = (size_t)(end - r->content);
	return MK_OK;
}

bool cri_line_ends_line(const char *head, size_t len)
{
	struct cri_record r;
	const char *why;
	return cri_record_parse(head, len, &r, &why) == MK_OK && !r.partial;
}
