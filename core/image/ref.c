/*
 * Image reference grammar and normalization.  See ref.h.
 */
#include "ref.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "../base/err.h"
#include "image.h"

#define NAME_MAX_TOTAL 255  /* Docker's limit for DOMAIN/PATH */

static bool lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* One path component: [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)* */
static bool good_component(const char *p, size_t n)
{
	size_t i = 0;
	if (n == 0 || !lower_alnum(p[0]) || !lower_alnum(p[n - 1]))
		return false;
	while (i < n) {
		if (lower_alnum(p[i])) {
			i++;
			continue;
		}
		size_t sep = i;
		if (p[i] == '.') {
			i++;
		} else if (p[i] == '_') {
			i++;
			if (i < n && p[i] == '_')
				i++;
		} else if (p[i] == '-') {
			while (i < n && p[i] == '-')
				i++;
		} else {
			return false;
		}
		if (i == sep || i >= n || !lower_alnum(p[i]))
			return false;
	}
	return true;
}

static bool good_host_label(const char *p, size_t n)
{
	if (n == 0 || !isalnum((unsigned char)p[0]) || !isalnum((unsigned char)p[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)p[i]) && p[i] != '-')
			return false;
	return true;
}

static bool good_port(const char *p)
{
	size_t n = strlen(p);
	if (n == 0 || n > 5)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)p[i]))
			return false;
	return true;
}

/* host[:port], host a DNS name, or [IPv6][:port]. */
static bool good_domain(const char *d)
{
	char host[256];
	const char *colon;
	if (d[0] == '[') {
		const char *end = strchr(d, ']');
		struct in6_addr a6;
		if (end == NULL || (size_t)(end - d - 1) >= sizeof host)
			return false;
		snprintf(host, sizeof host, "%.*s", (int)(end - d - 1), d + 1);
		if (inet_pton(AF_INET6, host, &a6) != 1)
			return false;
		return end[1] == '\0' || (end[1] == ':' && good_port(end + 2));
	}
	colon = strchr(d, ':');
	if (colon != NULL && !good_port(colon + 1))
		return false;
	size_t n = colon ? (size_t)(colon - d) : strlen(d);
	const char *p = d, *end = d + n;
	while (p < end) {
		const char *dot = memchr(p, '.', (size_t)(end - p));
		size_t ln = dot ? (size_t)(dot - p) : (size_t)(end - p);
		if (!good_host_label(p, ln))
			return false;
		p += ln + (dot ? 1 : 0);
		if (dot && p == end)
			return false;
	}
	return n > 0;
}

static bool good_tag(const char *t)
{
	size_t n = strlen(t);
	if (n == 0 || n > 128 || !(isalnum((unsigned char)t[0]) || t[0] == '_'))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)t[i]) && t[i] != '_' && t[i] != '.' && t[i] != '-')
			return false;
	return true;
}

static bool is_hex64(const char *p)
{
	if (strlen(p) != 64)
		return false;
	for (; *p; p++)
		if (!isdigit((unsigned char)*p) && !(*p >= 'a' && *p <= 'f'))
			return false;
	return true;
}

static int bad(char *errmsg, size_t len, const char *ref, const char *why)
{
	snprintf(errmsg, len, "invalid reference \"%.200s\": %s", ref, why);
	for (char *p = errmsg; len > 0 && *p; p++) /* one printable line */
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return MK_EINVAL;
}

int img_ref_parse(const char *ref, struct img_ref *out, char *errmsg, size_t len)
{
	char name[512];
	memset(out, 0, sizeof *out);
	if (ref == NULL || ref[0] == '\0')
		return bad(errmsg, len, "", "empty");
	if (strlen(ref) >= sizeof name)
		return bad(errmsg, len, ref, "too long");
	for (const char *p = ref; *p; p++)
		if (!isgraph((unsigned char)*p))
			return bad(errmsg, len, ref, "contains a space or control character");
	snprintf(name, sizeof name, "%s", ref);

	char *at = strchr(name, '@');
	if (at != NULL) {
		*at = '\0';
		if (strncmp(at + 1, "sha256:", 7) != 0)
			return bad(errmsg, len, ref, "only sha256 digests are supported");
		if (!is_hex64(at + 8))
			return bad(errmsg, len, ref, "the digest is not 64 lowercase hex digits");
		snprintf(out->digest, sizeof out->digest, "%s", at + 1);
	}
	char *slash = strrchr(name, '/');
	char *colon = strrchr(name, ':');
	if (colon != NULL && (slash == NULL || colon > slash)) {
		*colon = '\0';
		if (!good_tag(colon + 1))
			return bad(errmsg, len, ref, "bad tag");
		snprintf(out->tag, sizeof out->tag, "%s", colon + 1);
	}
	if (name[0] == '\0')
		return bad(errmsg, len, ref, "no repository name");

	char *first = strchr(name, '/');
	const char *path = name;
	bool implicit = true;
	if (first != NULL) {
		*first = '\0';
		bool upper = false;
		for (const char *p = name; *p; p++)
			upper |= isupper((unsigned char)*p) != 0;
		if (strpbrk(name, ".:[") != NULL || strcmp(name, "localhost") == 0 || upper) {
			if (!good_domain(name))
				return bad(errmsg, len, ref, "bad registry host");
			snprintf(out->domain, sizeof out->domain, "%s", name);
			path = first + 1;
			implicit = false;
		} else {
			*first = '/';
		}
	}
	if (implicit || strcmp(out->domain, "index.docker.io") == 0)
		snprintf(out->domain, sizeof out->domain, "docker.io");
	for (const char *p = path; *p; p++)
		if (isupper((unsigned char)*p))
			return bad(errmsg, len, ref, "repository name must be lowercase");
	if (implicit && is_hex64(path))
		return bad(errmsg, len, ref,
			   "a 64-digit hexadecimal string is an image id, not a name");
	for (const char *p = path;;) {
		const char *s = strchr(p, '/');
		size_t n = s ? (size_t)(s - p) : strlen(p);
		if (!good_component(p, n))
			return bad(errmsg, len, ref, "bad repository name");
		if (s == NULL)
			break;
		p = s + 1;
	}
	bool library = strcmp(out->domain, "docker.io") == 0 && strchr(path, '/') == NULL;
	int n = snprintf(out->path, sizeof out->path, "%s%s", library ? "library/" : "", path);
	if (n < 0 || (size_t)n >= sizeof out->path ||
	    strlen(out->domain) + 1 + strlen(out->path) > NAME_MAX_TOTAL)
		return bad(errmsg, len, ref, "repository name longer than 255 characters");
	if (out->tag[0] == '\0' && out->digest[0] == '\0')
		snprintf(out->tag, sizeof out->tag, "latest");
	return 0;
}

void img_ref_format(const struct img_ref *r, char *out, size_t len)
{
	snprintf(out, len, "%s/%s%s%s%s%s", r->domain, r->path, r->tag[0] ? ":" : "", r->tag,
		 r->digest[0] ? "@" : "", r->digest);
}

void img_ref_repo(const struct img_ref *r, char *out, size_t len)
{
	snprintf(out, len, "%s/%s", r->domain, r->path);
}

const char *img_ref_api_host(const struct img_ref *r)
{
	return strcmp(r->domain, "docker.io") == 0 ? "registry-1.docker.io" : r->domain;
}

bool img_ref_insecure(const struct img_ref *r)
{
	char host[256];
	struct in_addr a4;
	if (strncmp(r->domain, "[::1]", 5) == 0)
		return r->domain[5] == '\0' || r->domain[5] == ':';
	snprintf(host, sizeof host, "%s", r->domain);
	char *colon = strchr(host, ':');
	if (colon != NULL)
		*colon = '\0';
	if (strcmp(host, "localhost") == 0)
		return true;
	return inet_pton(AF_INET, host, &a4) == 1 && (ntohl(a4.s_addr) >> 24) == 127;
}

int image_ref_normalize(const char *ref, char *out, size_t len, char *errmsg, size_t errlen)
{
	struct img_ref r;
	int rv = img_ref_parse(ref, &r, errmsg, errlen);
	if (rv != 0)
		return rv;
	char buf[600];
	img_ref_format(&r, buf, sizeof buf);
	if (strlen(buf) >= len) {
		snprintf(errmsg, errlen, "normalized reference too long for its buffer");
		return MK_EINVAL;
	}
	snprintf(out, len, "%s", buf);
	return 0;
}
