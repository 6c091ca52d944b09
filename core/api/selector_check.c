/*
 * Label key and value rules (selector_internal.h), worded as
 * k8s.io/apimachinery/pkg/util/validation words them so that a client
 * sees the message the real API server would give.
 */
#include "selector_internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/buf.h"
#include "../base/err.h"

#define NAME_MSG                                                                               \
	"must consist of alphanumeric characters, '-', '_' or '.', and must start and end with " \
	"an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used "   \
	"for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
#define SUBDOMAIN_MSG                                                                          \
	"a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "   \
	"'-' or '.', and must start and end with an alphanumeric character (e.g. "              \
	"'example.com', regex used for validation is "                                          \
	"'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
#define VALUE_MSG                                                                              \
	"a valid label must be an empty string or consist of alphanumeric characters, '-', '_' " \
	"or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or "  \
	"'my_value',  or '12345', regex used for validation is "                                \
	"'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"

static bool alnum(char c)
{
	return isascii((unsigned char)c) && isalnum((unsigned char)c);
}

/* ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9], on n bytes */
static bool name_ok(const char *s, size_t n)
{
	if (n == 0 || !alnum(s[0]) || !alnum(s[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!alnum(s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
			return false;
	return true;
}

/* Each dot-separated label is [a-z0-9]([-a-z0-9]*[a-z0-9])? */
static bool subdomain_ok(const char *s, size_t n)
{
	size_t start = 0;
	for (size_t i = 0; i <= n; i++) {
		if (i < n && s[i] != '.') {
			if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) ||
			      s[i] == '-'))
				return false;
			continue;
		}
		if (i == start || s[start] == '-' || s[i - 1] == '-')
			return false;
		start = i + 1;
	}
	return true;
}

/* Appends "; "-joined reasons into a fixed buffer. */
static void reason(char *why, size_t len, size_t *used, const char *fmt, const char *arg)
{
	if (*used >= len)
		return;
	int n = snprintf(why + *used, len - *used, *used ? "; " : "");
	if (n > 0)
		*used += (size_t)n;
	if (*used < len && (n = snprintf(why + *used, len - *used, fmt, arg)) > 0)
		*used += (size_t)n;
	if (*used > len)
		*used = len;
}

int selector_check_key(const char *key, char *why, size_t len)
{
	size_t used = 0;
	if (len > 0)
		why[0] = '\0';
	const char *slash = strchr(key, '/');
	const char *name = key;
	if (slash != NULL && strchr(slash + 1, '/') != NULL) {
		reason(why, len, &used, "a qualified name %s",
		       NAME_MSG " with an optional DNS subdomain prefix and '/' "
				"(e.g. 'example.com/MyName')");
		return MK_EINVAL;
	}
	if (slash != NULL) {
		size_t plen = (size_t)(slash - key);
		name = slash + 1;
		if (plen == 0)
			reason(why, len, &used, "prefix part %s", "must be non-empty");
		else if (plen > 253)
			reason(why, len, &used, "prefix part %s",
			       "must be no more than 253 characters");
		if (plen > 0 && !subdomain_ok(key, plen))
			reason(why, len, &used, "prefix part %s", SUBDOMAIN_MSG);
	}
	size_t n = strlen(name);
	if (n == 0)
		reason(why, len, &used, "name part %s", "must be non-empty");
	else if (n > 63)
		reason(why, len, &used, "name part %s", "must be no more than 63 characters");
	if (!name_ok(name, n))
		reason(why, len, &used, "name part %s", NAME_MSG);
	bool bad = (slash != NULL && (slash == key || slash - key > 253 ||
				 !subdomain_ok(key, (size_t)(slash - key)))) ||
	      n > 63 || !name_ok(name, n);
	return bad ? MK_EINVAL : MK_OK;
}

int selector_check_value(const char *value, char *why, size_t len)
{
	size_t used = 0, n = strlen(value);
	if (len > 0)
		why[0] = '\0';
	bool bad = false;
	if (n > 63) {
		reason(why, len, &used, "%s", "must be no more than 63 characters");
		bad = true;
	}
	if (n > 0 && !name_ok(value, n)) {
		reason(why, len, &used, "%s", VALUE_MSG);
		bad = true;
	}
	return bad ? MK_EINVAL : MK_OK;
}

bool selector_parse_int(const char *s, long long *out)
{
	const char *digits = s + (*s == '+' || *s == '-');
	if (!isdigit((unsigned char)*digits))
		return false; /* strtoll would skip blanks and accept "" */
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return false;
	*out = v;
	return true;
}

void selector_note(struct mk_buf *b, int *count, const char *fmt, ...)
{
	(*count)++;
	char one[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(one, sizeof one, fmt, ap);
	va_end(ap);
	/* On failure the list is only shorter; the caller still counts. */
	if (b->len == 0 || mk_buf_append(b, ", ", 2) == MK_OK)
		mk_buf_append(b, one, strlen(one));
}

/* Length of the valid UTF-8 sequence at p (RFC 3629, as jansson checks
 * it), or 0. */
static size_t utf8_len(const unsigned char *p)
{
	size_t n = p[0] >= 0xf0 ? 4 : p[0] >= 0xe0 ? 3 : 2;
	if (p[0] < 0xc2 || p[0] > 0xf4)
		return 0;
	for (size_t i = 1; i < n; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	if ((p[0] == 0xe0 && p[1] < 0xa0) || (p[0] == 0xed && p[1] > 0x9f) ||
	    (p[0] == 0xf0 && p[1] < 0x90) || (p[0] == 0xf4 && p[1] > 0x8f))
		return 0; /* overlong, surrogate, beyond U+10FFFF */
	return n;
}

void selector_clean_message(char *s)
{
	unsigned char *p = (unsigned char *)s;
	while (*p) {
		if (*p < 0x20 || *p == 0x7f) {
			*p++ = ' ';
		} else if (*p < 0x80) {
			p++;
		} else {
			size_t n = utf8_len(p);
			if (n == 0)
				*p++ = '?';
			else
				p += n;
		}
	}
}
