#include "object.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

json_t *object_from_store(const void *value, size_t len, int64_t rev)
{
	json_t *obj = json_loadb(value, len, 0, NULL);
	if (!json_is_object(obj)) {
		json_decref(obj);
		return NULL;
	}
	object_set_rv(obj, rev);
	return obj;
}

char *object_to_store(const json_t *obj, size_t *len)
{
	json_t *meta = json_object_get(obj, "metadata");
	json_t *rv = json_object_get(meta, "resourceVersion");
	/* Drop the rv temporarily rather than copying the whole object. */
	if (rv != NULL) {
		json_incref(rv);
		json_object_del(meta, "resourceVersion");
	}
	char *text = json_dumps(obj, JSON_COMPACT);
	if (rv != NULL)
		json_object_set_new(meta, "resourceVersion", rv);
	*len = text ? strlen(text) : 0;
	return text;
}

json_t *object_meta(json_t *obj)
{
	json_t *m = json_object_get(obj, "metadata");
	if (!json_is_object(m)) {
		m = json_object();
		json_object_set_new(obj, "metadata", m);
	}
	return m;
}

const char *object_name(const json_t *obj)
{
	return json_string_value(json_object_get(json_object_get(obj, "metadata"), "name"));
}

const char *object_namespace(const json_t *obj)
{
	return json_string_value(json_object_get(json_object_get(obj, "metadata"), "namespace"));
}

const json_t *object_at(const json_t *obj, const char *path)
{
	char part[128];
	const json_t *cur = obj;
	while (cur != NULL && *path) {
		const char *dot = strchr(path, '.');
		size_t n = dot ? (size_t)(dot - path) : strlen(path);
		if (n >= sizeof part)
			return NULL;
		memcpy(part, path, n);
		part[n] = '\0';
		cur = json_object_get(cur, part);
		path += n + (dot != NULL);
	}
	return cur;
}

const char *object_str(const json_t *obj, const char *path)
{
	return json_string_value(object_at(obj, path));
}

int64_t object_rv(const json_t *obj)
{
	const char *s = json_string_value(
		json_object_get(json_object_get(obj, "metadata"), "resourceVersion"));
	if (s == NULL || *s == '\0')
		return 0;
	char *end;
	long long v = strtoll(s, &end, 10);
	return *end == '\0' && v > 0 ? v : -1;
}

void object_set_rv(json_t *obj, int64_t rev)
{
	char buf[32];
	snprintf(buf, sizeof buf, "%lld", (long long)rev);
	json_object_set_new(object_meta(obj), "resourceVersion", json_string(buf));
}

void object_new_uid(char out[37])
{
	unsigned char b[16];
	if (RAND_bytes(b, sizeof b) != 1) {
		/* OpenSSL's CSPRNG failing is fatal elsewhere too; keep going
		 * with time-derived bytes rather than a fixed uid. */
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		memcpy(b, &ts, sizeof ts < sizeof b ? sizeof ts : sizeof b);
	}
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
		 b[13], b[14], b[15]);
}

int64_t object_now(void)
{
	return (int64_t)time(NULL);
}

void object_timestamp(char out[32], int64_t unix_seconds)
{
	time_t t = (time_t)unix_seconds;
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void object_generate_name(char *out, size_t len, const char *prefix)
{
	/* k8s.io/apimachinery/pkg/util/rand: no vowels, no confusable digits. */
	static const char alphabet[] = "bcdfghjklmnpqrstvwxz2456789";
	unsigned char r[5];
	RAND_bytes(r, sizeof r);
	char suffix[6];
	for (int i = 0; i < 5; i++)
		suffix[i] = alphabet[r[i] % (sizeof alphabet - 1)];
	suffix[5] = '\0';
	snprintf(out, len, "%s%s", prefix, suffix);
}

static bool alnum_lower(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

const char *object_check_label(const char *name)
{
	size_t n = strlen(name);
	if (n == 0)
		return "must be non-empty";
	if (n > 63)
		return "must be no more than 63 characters";
	for (size_t i = 0; i < n; i++)
		if (!alnum_lower((unsigned char)name[i]) && name[i] != '-')
			goto bad;
	if (!alnum_lower((unsigned char)name[0]) || !alnum_lower((unsigned char)name[n - 1]))
		goto bad;
	return NULL;
bad:
	return "a lowercase RFC 1123 label must consist of lower case alphanumeric characters "
	       "or '-', and must start and end with an alphanumeric character (e.g. "
	       "'my-name',  or '123-abc', regex used for validation is "
	       "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
}

const char *object_check_subdomain(const char *name)
{
	size_t n = strlen(name);
	if (n == 0)
		return "must be non-empty";
	if (n > 253)
		return "must be no more than 253 characters";
	const char *p = name;
	while (*p) {
		const char *dot = strchr(p, '.');
		size_t len = dot ? (size_t)(dot - p) : strlen(p);
		if (len == 0)
			goto bad;
		for (size_t i = 0; i < len; i++)
			if (!alnum_lower((unsigned char)p[i]) && p[i] != '-')
				goto bad;
		if (!alnum_lower((unsigned char)p[0]) || !alnum_lower((unsigned char)p[len - 1]))
			goto bad;
		p += len + (dot != NULL);
		if (dot != NULL && *p == '\0')
			goto bad;
	}
	return NULL;
bad:
	return "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
	       "characters, '-' or '.', and must start and end with an alphanumeric character "
	       "(e.g. 'example.com', regex used for validation is "
	       "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
}

const char *object_check_path_segment(const char *name)
{
	if (name[0] == '\0')
		return "must be non-empty";
	if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return "may not be '.' or '..'";
	if (strchr(name, '/') != NULL || strchr(name, '%') != NULL)
		return "may not contain '/' or '%'";
	return NULL;
}
