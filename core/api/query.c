/*
 * Query strings: percent-decoded key/value pairs, repeated keys kept.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../base/err.h"
#include "api_internal.h"

static int hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	ch = tolower(ch);
	return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

/* Form decoding: '+' is a space, %XX a byte.  NULL for a bad escape. */
static char *decode(const char *s, size_t n)
{
	char *out = malloc(n + 1), *o = out;
	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '+') {
			*o++ = ' ';
		} else if (s[i] == '%') {
			int h = i + 2 < n ? hexval((unsigned char)s[i + 1]) : -1;
			int l = i + 2 < n ? hexval((unsigned char)s[i + 2]) : -1;
			if (h < 0 || l < 0 || (h == 0 && l == 0)) {
				free(out);
				return NULL;
			}
			*o++ = (char)(h * 16 + l);
			i += 2;
		} else {
			*o++ = s[i];
		}
	}
	*o = '\0';
	return out;
}

int api_query_parse(const char *raw, struct api_query *q)
{
	memset(q, 0, sizeof *q);
	const char *p = raw;
	while (*p) {
		const char *amp = strchr(p, '&');
		size_t n = amp ? (size_t)(amp - p) : strlen(p);
		if (n > 0) {
			const char *eq = memchr(p, '=', n);
			size_t kn = eq ? (size_t)(eq - p) : n;
			char *k = decode(p, kn);
			char *v = eq ? decode(eq + 1, n - kn - 1) : strdup("");
			char **nk = k && v ? realloc(q->keys, (q->n + 1) * sizeof *nk) : NULL;
			if (nk != NULL)
				q->keys = nk;
			char **nv = nk ? realloc(q->values, (q->n + 1) * sizeof *nv) : NULL;
			if (nv == NULL) {
				free(k);
				free(v);
				api_query_free(q);
				return MK_EINVAL;
			}
			q->values = nv;
			q->keys[q->n] = k;
			q->values[q->n] = v;
			q->n++;
		}
		p += n;
		if (*p == '&')
			p++;
	}
	return MK_OK;
}

void api_query_free(struct api_query *q)
{
	for (size_t i = 0; i < q->n; i++) {
		free(q->keys[i]);
		free(q->values[i]);
	}
	free(q->keys);
	free(q->values);
	memset(q, 0, sizeof *q);
}

const char *api_query_get(const struct api_query *q, const char *key)
{
	for (size_t i = 0; i < q->n; i++)
		if (strcmp(q->keys[i], key) == 0)
			return q->values[i];
	return NULL;
}

bool api_query_bool(const struct api_query *q, const char *key)
{
	const char *v = api_query_get(q, key);
	return v != NULL && (strcasecmp(v, "true") == 0 || strcmp(v, "1") == 0);
}

int api_query_int(const struct api_query *q, const char *key, int64_t def, int64_t *out)
{
	const char *v = api_query_get(q, key);
	if (v == NULL || v[0] == '\0') {
		*out = def;
		return MK_OK;
	}
	char *end;
	errno = 0;
	long long n = strtoll(v, &end, 10);
	if (errno != 0 || *end != '\0' || end == v)
		return MK_EINVAL;
	*out = n;
	return MK_OK;
}
