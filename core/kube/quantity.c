/*
 * Resource quantities (quantity.h).
 *
 * Parsed into an integer mantissa and a power of ten or two so that
 * "0.1" and "100m" give exactly the same answer: no floating point.
 */
#include <ctype.h>
#include <stdbool.h>
#include <string.h>

#include "../base/err.h"
#include "quantity.h"

struct suffix {
	const char *s;
	int base;  /* 2 or 10 */
	int exp;   /* power of the base */
};

static const struct suffix suffixes[] = {
	{"Ki", 2, 10}, {"Mi", 2, 20}, {"Gi", 2, 30}, {"Ti", 2, 40}, {"Pi", 2, 50}, {"Ei", 2, 60},
	{"n", 10, -9}, {"u", 10, -6}, {"m", 10, -3}, {"k", 10, 3}, {"M", 10, 6},
	{"G", 10, 9}, {"T", 10, 12}, {"P", 10, 15}, {"E", 10, 18}, {"", 10, 0},
};

/* Values are kept below 2^100 so that no product can overflow __int128. */
#define LIMIT ((__int128)1 << 100)

static bool mul_ok(__int128 *v, __int128 by)
{
	*v *= by;
	return *v < LIMIT;
}

/* The quantity in thousandths, rounded up, as a magnitude and a sign. */
static int parse(const char *text, __int128 *milli, bool *negative)
{
	const char *p = text;
	bool neg = false;
	__int128 mant = 0;
	int frac_digits = 0, digits = 0;

	if (*p == '+' || *p == '-')
		neg = *p++ == '-';
	for (; isdigit((unsigned char)*p); p++, digits++) {
		if (digits > 30)
			return MK_ETOOBIG;
		mant = mant * 10 + (*p - '0');
	}
	if (*p == '.') {
		for (p++; isdigit((unsigned char)*p); p++, digits++, frac_digits++) {
			if (digits > 30)
				return MK_ETOOBIG;
			mant = mant * 10 + (*p - '0');
		}
	}
	if (digits == 0)
		return MK_EINVAL;
	int base = 10, exp = 0;
	if ((*p == 'e' || *p == 'E') && (isdigit((unsigned char)p[1]) ||
					 ((p[1] == '-' || p[1] == '+') && isdigit((unsigned char)p[2])))) {
		p++;
		bool eneg = *p == '-';
		if (*p == '-' || *p == '+')
			p++;
		for (; isdigit((unsigned char)*p); p++) {
			exp = exp * 10 + (*p - '0');
			if (exp > 40)
				return MK_ETOOBIG;
		}
		if (eneg)
			exp = -exp;
	} else {
		const struct suffix *s = NULL;
		for (size_t i = 0; i < sizeof suffixes / sizeof *suffixes; i++)
			if (strcmp(p, suffixes[i].s) == 0) {
				s = &suffixes[i];
				break;
			}
		if (s == NULL)
			return MK_EINVAL;
		base = s->base;
		exp = s->exp;
		p += strlen(s->s);
	}
	if (*p != '\0')
		return MK_EINVAL;
	/* Into thousandths: times 1000, then the decimal point and suffix. */
	__int128 v = mant;
	if (!mul_ok(&v, 1000))
		return MK_ETOOBIG;
	int ten = -frac_digits + (base == 10 ? exp : 0);
	for (; ten > 0; ten--)
		if (!mul_ok(&v, 10))
			return MK_ETOOBIG;
	__int128 div = 1;
	for (; ten < 0; ten++) {
		div *= 10;
		if (div > LIMIT)
			return MK_ETOOBIG;
	}
	if (base == 2)
		for (int i = 0; i < exp; i++)
			if (!mul_ok(&v, 2))
				return MK_ETOOBIG;
	*milli = (v + div - 1) / div;
	*negative = neg;
	return MK_OK;
}

int quantity_milli(const char *text, int64_t *out)
{
	__int128 m;
	bool neg;
	int rv = text == NULL ? MK_EINVAL : parse(text, &m, &neg);

	if (rv != MK_OK)
		return rv;
	if (m > INT64_MAX)
		return MK_ETOOBIG;
	*out = neg ? -(int64_t)m : (int64_t)m;
	return MK_OK;
}

int quantity_value(const char *text, int64_t *out)
{
	__int128 m;
	bool neg;
	int rv = text == NULL ? MK_EINVAL : parse(text, &m, &neg);

	if (rv != MK_OK)
		return rv;
	/* Whole units, rounded up (away from zero for negatives' magnitude
	 * down, as resource.Quantity.Value does). */
	__int128 v = neg ? m / 1000 : (m + 999) / 1000;
	if (v > INT64_MAX)
		return MK_ETOOBIG;
	*out = neg ? -(int64_t)v : (int64_t)v;
	return MK_OK;
}
