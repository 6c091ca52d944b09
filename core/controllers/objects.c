/*
 * Small helpers over Kubernetes objects as JSON (controllers_internal.h).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../base/err.h"
#include "../base/log.h"
#include "../kube/client.h"
#include "controllers_internal.h"

const char *ctrl_str(const json_t *obj, const char *k)
{
	return json_string_value(json_object_get(obj, k));
}

const char *ctrl_meta(const json_t *obj, const char *k)
{
	return ctrl_str(json_object_get(obj, "metadata"), k);
}

json_t *controller_ref(json_t *obj)
{
	size_t i;
	json_t *r;

	json_array_foreach(json_object_get(json_object_get(obj, "metadata"), "ownerReferences"), i,
			   r)
		if (json_is_true(json_object_get(r, "controller")))
			return r;
	return NULL;
}

bool controlled_by(json_t *obj, const char *kind, const char *uid)
{
	json_t *ref = controller_ref(obj);

	return ref != NULL && uid != NULL && ctrl_str(ref, "kind") != NULL &&
	       strcmp(ctrl_str(ref, "kind"), kind) == 0 && ctrl_str(ref, "uid") != NULL &&
	       strcmp(ctrl_str(ref, "uid"), uid) == 0;
}

bool controller_key(json_t *obj, const char *kind, char *out, size_t len)
{
	json_t *ref = controller_ref(obj);
	const char *ns = ctrl_meta(obj, "namespace");

	if (ref == NULL || ctrl_str(ref, "kind") == NULL || strcmp(ctrl_str(ref, "kind"), kind) != 0 ||
	    ctrl_str(ref, "name") == NULL)
		return false;
	snprintf(out, len, "%s/%s", ns ? ns : "", ctrl_str(ref, "name"));
	return true;
}

void object_key(json_t *obj, char *out, size_t len)
{
	const char *ns = ctrl_meta(obj, "namespace");
	const char *name = ctrl_meta(obj, "name");

	snprintf(out, len, "%s/%s", ns ? ns : "", name ? name : "");
}

bool split_key(const char *key, char *ns, size_t ns_len, char *name, size_t name_len)
{
	const char *slash = strchr(key, '/');

	if (slash == NULL || (size_t)(slash - key) >= ns_len || strlen(slash + 1) >= name_len ||
	    slash[1] == '\0')
		return false;
	memcpy(ns, key, (size_t)(slash - key));
	ns[slash - key] = '\0';
	strcpy(name, slash + 1);
	return true;
}

int64_t ctrl_parse_time(const char *s)
{
	struct tm tm;

	if (s == NULL)
		return 0;
	memset(&tm, 0, sizeof tm);
	const char *end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (end == NULL)
		return 0;
	int64_t ms = (int64_t)timegm(&tm) * 1000;
	if (*end == '.') {
		/* Fractions (MicroTime): milliseconds are enough. */
		int digits = 0, frac = 0;
		for (end++; *end >= '0' && *end <= '9'; end++)
			if (digits < 3) {
				frac = frac * 10 + (*end - '0');
				digits++;
			}
		while (digits++ < 3)
			frac *= 10;
		ms += frac;
	}
	return ms;
}

int64_t ctrl_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void ctrl_now(char *out, size_t len)
{
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void ctrl_object_path(const char *group_version, const char *resource, const char *ns,
		      const char *name, char *out, size_t len)
{
	char ens[300], ename[300];

	kube_escape(name ? name : "", ename, sizeof ename);
	if (ns != NULL) {
		kube_escape(ns, ens, sizeof ens);
		snprintf(out, len, "%s/namespaces/%s/%s/%s", group_version, ens, resource, ename);
	} else {
		snprintf(out, len, "%s/%s/%s", group_version, resource, ename);
	}
}

/* True when every field of want has the same value in have (recursively
 * for objects; arrays and scalars compared whole). */
static bool covers(const json_t *have, const json_t *want)
{
	const char *k;
	json_t *v;

	json_object_foreach((json_t *)want, k, v) {
		json_t *h = json_object_get(have, k);
		if (json_is_object(v) ? !(json_is_object(h) && covers(h, v)) : !json_equal(h, v))
			return false;
	}
	return true;
}

int ctrl_patch_status(struct kube_client *client, const char *group_version,
		      const char *resource, const json_t *obj, json_t *status)
{
	char path[1024], err[512];
	int rv = MK_OK;

	if (status == NULL)
		return MK_ENOMEM;
	if (covers(json_object_get(obj, "status"), status))
		goto out;
	ctrl_object_path(group_version, resource, ctrl_meta(obj, "namespace"),
			 ctrl_meta(obj, "name"), path, sizeof path);
	strncat(path, "/status", sizeof path - strlen(path) - 1);
	json_t *patch = json_pack("{s:O}", "status", status);
	rv = kube_merge_patch(client, path, patch, NULL, err, sizeof err);
	json_decref(patch);
	if (rv != MK_OK)
		mk_debug(CTRL_LOG, "%s %s/%s: status not updated: %s", resource,
			 ctrl_meta(obj, "namespace"), ctrl_meta(obj, "name"), err);
out:
	json_decref(status);
	return rv;
}

void ctrl_normalize(json_t *v)
{
	const char *k;
	json_t *x;
	void *tmp;
	size_t i;

	if (json_is_object(v)) {
		json_object_foreach_safe(v, tmp, k, x) {
			ctrl_normalize(x);
			if (json_is_null(x) || (json_is_object(x) && json_object_size(x) == 0) ||
			    (json_is_array(x) && json_array_size(x) == 0))
				json_object_del(v, k);
		}
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, x)
			ctrl_normalize(x);
	}
}

void ctrl_hash(const json_t *v, int64_t collisions, char *out, size_t len)
{
	static const char alphabet[] = "bcdfghjklmnpqrstvwxz2456789";
	char *text = json_dumps(v, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENCODE_ANY);
	uint32_t h = 2166136261u;
	char digits[32], extra[32];
	size_t i;

	for (const char *p = text ? text : ""; *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	if (collisions > 0) {
		snprintf(extra, sizeof extra, "%" PRId64, collisions);
		for (const char *p = extra; *p; p++)
			h = (h ^ (uint8_t)*p) * 16777619u;
	}
	free(text);
	snprintf(digits, sizeof digits, "%" PRIu32, h);
	for (i = 0; digits[i] && i + 1 < len; i++)
		out[i] = alphabet[(unsigned char)digits[i] % (sizeof alphabet - 1)];
	out[i] = '\0';
}
