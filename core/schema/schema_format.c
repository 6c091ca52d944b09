/*
 * The text forms Go gives the special Kubernetes types, and validators for
 * the ones the API server parses (see schema_internal.h).
 */
#include "schema_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/err.h"

/* Days since 1970-01-01 to a proleptic Gregorian date (the usual era
 * arithmetic: 400-year eras of 146097 days, years starting in March). */
static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;                                     /* [0, 146096] */
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* [0, 399] */
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);              /* [0, 365] */
	int64_t mp = (5 * doy + 2) / 153;                                   /* [0, 11] */
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

/* Year 0 to 9999: what RFC 3339 can write.  Bounds in Unix seconds. */
#define TIME_MIN_SEC (-62167219200LL)
#define TIME_MAX_SEC (253402300799LL)

int schema_format_time(int64_t seconds, int32_t nanos, bool micro, char *out, size_t cap)
{
	/* time.Unix(sec, nsec) normalises nsec outside [0, 1e9). */
	int64_t ns = nanos;
	if (ns < 0 || ns >= 1000000000) {
		int64_t carry = ns >= 0 ? ns / 1000000000 : (ns - 999999999) / 1000000000;
		if ((carry > 0 && seconds > TIME_MAX_SEC) || (carry < 0 && seconds < TIME_MIN_SEC))
			return MK_EINVAL;
		seconds += carry;
		ns -= carry * 1000000000;
	}
	if (seconds < TIME_MIN_SEC || seconds > TIME_MAX_SEC)
		return MK_EINVAL;
	int64_t days = seconds >= 0 ? seconds / 86400 : (seconds - 86399) / 86400;
	int64_t sod = seconds - days * 86400;
	int64_t y;
	int mo, d;
	civil_from_days(days, &y, &mo, &d);
	int n;
	if (micro)
		n = snprintf(out, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", (int)y, mo, d,
			     (int)(sod / 3600), (int)(sod / 60 % 60), (int)(sod % 60),
			     (int)(ns / 1000));
	else
		n = snprintf(out, cap, "%04d-%02d-%02dT%02d:%02d:%02dZ", (int)y, mo, d,
			     (int)(sod / 3600), (int)(sod / 60 % 60), (int)(sod % 60));
	return n > 0 && (size_t)n < cap ? MK_OK : MK_EINVAL;
}

/* Writes `v` in decimal ending just before `end`; returns the new start. */
static char *put_uint(char *end, uint64_t v)
{
	do {
		*--end = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	return end;
}

/* `v` with `prec` fractional digits: writes ".ddd" (trailing zeros dropped,
 * nothing if all zero) before `end`, returns the new start and v/10^prec. */
static char *put_frac(char *end, uint64_t *v, int prec)
{
	bool print = false;
	for (int i = 0; i < prec; i++) {
		int digit = (int)(*v % 10);
		print = print || digit != 0;
		if (print)
			*--end = (char)('0' + digit);
		*v /= 10;
	}
	if (print)
		*--end = '.';
	return end;
}

/* Go's time.Duration.String(): "1h2m3.5s", "1.5ms", "0s". */
void schema_format_duration(int64_t ns, char *out, size_t cap)
{
	char buf[SCHEMA_DURATION_MAX];
	char *end = buf + sizeof(buf) - 1, *p;
	*end = '\0';
	uint64_t u = ns < 0 ? -(uint64_t)ns : (uint64_t)ns;
	if (u < 1000000000) {
		/* Below a second: one unit, with a fraction. */
		const char *unit;
		int prec;
		if (u == 0) {
			snprintf(out, cap, "0s");
			return;
		} else if (u < 1000) {
			unit = "ns";
			prec = 0;
		} else if (u < 1000000) {
			unit = "\xc2\xb5s"; /* U+00B5 micro sign, as Go writes it */
			prec = 3;
		} else {
			unit = "ms";
			prec = 6;
		}
		end -= strlen(unit);
		memcpy(end, unit, strlen(unit));
		p = put_frac(end, &u, prec);
		p = put_uint(p, u);
	} else {
		*--end = 's';
		p = put_frac(end, &u, 9);
		p = put_uint(p, u % 60);
		u /= 60;
		if (u > 0) {
			*--p = 'm';
			p = put_uint(p, u % 60);
			u /= 60;
			if (u > 0) {
				*--p = 'h';
				p = put_uint(p, u);
			}
		}
	}
	if (ns < 0)
		*--p = '-';
	snprintf(out, cap, "%s", p);
}

static bool digits(const char **s, int n, int *v)
{
	*v = 0;
	for (int i = 0; i < n; i++) {
		if ((*s)[i] < '0' || (*s)[i] > '9')
			return false;
		*v = *v * 10 + ((*s)[i] - '0');
	}
	*s += n;
	return true;
}

static bool lit(const char **s, char c)
{
	if (**s != c)
		return false;
	(*s)++;
	return true;
}

bool schema_valid_time(const char *s)
{
	static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int y, mo, d, h, mi, se;
	if (!digits(&s, 4, &y) || !lit(&s, '-') || !digits(&s, 2, &mo) || !lit(&s, '-') ||
	    !digits(&s, 2, &d) || !lit(&s, 'T') || !digits(&s, 2, &h) || !lit(&s, ':') ||
	    !digits(&s, 2, &mi) || !lit(&s, ':') || !digits(&s, 2, &se))
		return false;
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || (mo == 2 && d == 29 && !leap) ||
	    h > 23 || mi > 59 || se > 59)
		return false;
	if (*s == '.') { /* Go reads a fraction even where the layout has none */
		s++;
		if (*s < '0' || *s > '9')
			return false;
		while (*s >= '0' && *s <= '9')
			s++;
	}
	if (lit(&s, 'Z'))
		return *s == '\0';
	if (*s != '+' && *s != '-')
		return false;
	s++;
	int zh, zm;
	return digits(&s, 2, &zh) && lit(&s, ':') && digits(&s, 2, &zm) && zh < 24 && zm < 60 &&
	       *s == '\0';
}

bool schema_valid_duration(const char *s)
{
	static const char *const units[] = {"ns", "us", "\xc2\xb5s", "\xce\xbcs", "ms", "s", "m", "h"};
	if (*s == '-' || *s == '+')
		s++;
	if (!strcmp(s, "0"))
		return true;
	if (*s == '\0')
		return false;
	while (*s) {
		bool any = false;
		while (*s >= '0' && *s <= '9')
			s++, any = true;
		if (*s == '.') {
			s++;
			while (*s >= '0' && *s <= '9')
				s++, any = true;
		}
		if (!any)
			return false;
		size_t best = 0;
		for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			size_t n = strlen(units[i]);
			/* Longest match, so that "5ms" is not 5m + "s". */
			if (!strncmp(s, units[i], n) && n > best)
				best = n;
		}
		if (best == 0)
			return false;
		s += best;
	}
	return true;
}

bool schema_valid_quantity(const char *s)
{
	static const char *const suffixes[] = {"Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "n", "u",
					       "m", "k", "M", "G", "T", "P", "E", ""};
	if (*s == '+' || *s == '-')
		s++;
	bool any = false;
	while (*s >= '0' && *s <= '9')
		s++, any = true;
	if (*s == '.') {
		s++;
		while (*s >= '0' && *s <= '9')
			s++, any = true;
	}
	if (!any)
		return false;
	if (*s == 'e' || *s == 'E') {
		const char *e = s + 1;
		if (*e == '+' || *e == '-')
			e++;
		if (*e >= '0' && *e <= '9') {
			while (*e >= '0' && *e <= '9')
				e++;
			if (*e == '\0')
				return true;
		}
		/* "E" alone is the exa suffix: fall through. */
	}
	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++)
		if (!strcmp(s, suffixes[i]))
			return true;
	return false;
}

static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

bool schema_valid_base64(const char *s, size_t len)
{
	/* Go's base64.StdEncoding skips CR and LF and wants padding. */
	size_t n = 0, pad = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\r' || c == '\n')
			continue;
		if (c == '=') {
			pad++;
		} else if (pad > 0 || b64_value(c) < 0) {
			return false;
		}
		n++;
	}
	return n % 4 == 0 && pad <= 2;
}

char *schema_base64(const uint8_t *p, size_t len)
{
	static const char alpha[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *out = malloc((len + 2) / 3 * 4 + 1);
	if (!out)
		return NULL;
	char *o = out;
	size_t i = 0;
	for (; i + 2 < len; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		*o++ = alpha[v >> 18];
		*o++ = alpha[(v >> 12) & 63];
		*o++ = alpha[(v >> 6) & 63];
		*o++ = alpha[v & 63];
	}
	if (i < len) {
		uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < len ? (uint32_t)p[i + 1] << 8 : 0);
		*o++ = alpha[v >> 18];
		*o++ = alpha[(v >> 12) & 63];
		*o++ = i + 1 < len ? alpha[(v >> 6) & 63] : '=';
		*o++ = '=';
	}
	*o = '\0';
	return out;
}
