/*
 * A container's environment, as kubelet makes it: the image's variables,
 * then envFrom sources in order, then env entries in order (later wins),
 * with $(VAR) references expanded against what is defined before them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "../base/buf.h"
#include "../base/err.h"
#include "../kube/client.h"
#include "../kube/quantity.h"
#include "node_internal.h"

json_t *pod_fetch_source(struct pod_worker *w, const char *kind, const char *name,
			 bool *missing, char *errmsg, size_t len)
{
	char path[1024], ns[300], n[300];
	json_t *obj = NULL;

	*missing = false;
	kube_escape(w->ns, ns, sizeof ns);
	kube_escape(name, n, sizeof n);
	snprintf(path, sizeof path, "/api/v1/namespaces/%s/%s/%s", ns, kind, n);
	int rv = kube_get(w->agent->client, path, &obj, errmsg, len);
	if (rv == MK_ENOTFOUND) {
		*missing = true;
		snprintf(errmsg, len, "%s \"%s\" not found", strcmp(kind, "secrets") == 0 ?
			 "secret" : "configmap", name);
	}
	return rv == MK_OK ? obj : NULL;
}

int source_value(json_t *src, const char *key, char **out, size_t *n)
{
	const char *kind = js(src, "kind");
	json_t *data = jo(src, "data");
	const char *v = js(data, key);

	if (kind != NULL && strcmp(kind, "Secret") == 0) {
		if (v == NULL)
			return MK_ENOTFOUND;
		size_t l = strlen(v);
		unsigned char *buf = malloc(l / 4 * 3 + 4);
		if (buf == NULL)
			return MK_ENOMEM;
		int k = EVP_DecodeBlock(buf, (const unsigned char *)v, (int)l);
		if (k < 0) {
			free(buf);
			return MK_EINVAL;
		}
		/* EVP_DecodeBlock counts the padding as data. */
		for (size_t i = l; i > 0 && v[i - 1] == '='; i--)
			k--;
		buf[k] = '\0';
		*out = (char *)buf;
		*n = (size_t)k;
		return MK_OK;
	}
	if (v == NULL) {
		v = js(jo(src, "binaryData"), key);
		if (v == NULL)
			return MK_ENOTFOUND;
		json_t *fake = json_pack("{s:s, s:{s:s}}", "kind", "Secret", "data", key, v);
		int rv = source_value(fake, key, out, n);
		json_decref(fake);
		return rv;
	}
	*out = strdup(v);
	*n = strlen(v);
	return *out ? MK_OK : MK_ENOMEM;
}

char *pod_env_expand(const char *s, json_t *env)
{
	struct mk_buf b = MK_BUF_INIT;

	for (const char *p = s; *p;) {
		if (p[0] == '$' && p[1] == '$') {
			/* $$ escapes: "$$(VAR)" stays "$(VAR)". */
			mk_buf_append(&b, "$", 1);
			p += 2;
		} else if (p[0] == '$' && p[1] == '(') {
			const char *end = strchr(p + 2, ')');
			if (end == NULL) {
				mk_buf_append(&b, p, strlen(p));
				break;
			}
			char name[256];
			size_t n = (size_t)(end - p - 2);
			snprintf(name, sizeof name, "%.*s", (int)n, p + 2);
			const char *v = n < sizeof name ? js(env, name) : NULL;
			if (v != NULL)
				mk_buf_append(&b, v, strlen(v));
			else /* unknown references stay as written */
				mk_buf_append(&b, p, (size_t)(end - p + 1));
			p = end + 1;
		} else {
			mk_buf_append(&b, p++, 1);
		}
	}
	mk_buf_append(&b, "", 1);
	return (char *)b.data;
}

/* metadata.labels['key'] and friends. */
static const char *field_value(struct pod_worker *w, const char *path, char *buf, size_t len)
{
	json_t *pod = w->cur, *meta = jo(pod, "metadata");
	char key[256];

	if (strcmp(path, "metadata.name") == 0)
		return js(meta, "name");
	if (strcmp(path, "metadata.namespace") == 0)
		return js(meta, "namespace");
	if (strcmp(path, "metadata.uid") == 0)
		return js(meta, "uid");
	if (strcmp(path, "spec.nodeName") == 0)
		return js(jo(pod, "spec"), "nodeName");
	if (strcmp(path, "spec.serviceAccountName") == 0)
		return js(jo(pod, "spec"), "serviceAccountName");
	if (strcmp(path, "status.hostIP") == 0 || strcmp(path, "status.hostIPs") == 0)
		return w->agent->cfg.node_ip;
	if (strcmp(path, "status.podIP") == 0 || strcmp(path, "status.podIPs") == 0) {
		snprintf(buf, len, "%s", w->pod_ip);
		return buf;
	}
	if (sscanf(path, "metadata.labels['%255[^']']", key) == 1)
		return js(jo(meta, "labels"), key);
	if (sscanf(path, "metadata.annotations['%255[^']']", key) == 1)
		return js(jo(meta, "annotations"), key);
	return NULL;
}

static int resource_value(json_t *container, json_t *ref, char *buf, size_t len)
{
	const char *res = js(ref, "resource");
	const char *divisor = js(ref, "divisor");
	char where[32], what[64];

	if (res == NULL || sscanf(res, "%31[^.].%63s", where, what) != 2)
		return MK_EINVAL;
	const char *q = js(jo(jo(container, "resources"), where), what);
	int64_t v = 0, d = 1000;
	if (divisor != NULL && quantity_milli(divisor, &d) != MK_OK)
		return MK_EINVAL;
	if (q != NULL && quantity_milli(q, &v) != MK_OK)
		return MK_EINVAL;
	if (d <= 0)
		d = 1000;
	/* Rounded up, as the downward API does. */
	snprintf(buf, len, "%lld", (long long)((v + d - 1) / d));
	return MK_OK;
}

static int add_from_source(struct pod_worker *w, json_t *env, const char *kind, json_t *ref,
			   const char *prefix, char *errmsg, size_t len)
{
	bool missing;
	json_t *src = pod_fetch_source(w, kind, js(ref, "name") ? js(ref, "name") : "", &missing,
				       errmsg, len);
	if (src == NULL)
		return missing && jb(ref, "optional", false) ? MK_OK : MK_ENOTFOUND;
	const char *key;
	json_t *v;
	json_t *data = jo(src, "data");
	json_object_foreach(data, key, v) {
		char *val;
		size_t n;
		char name[512];
		if (source_value(src, key, &val, &n) != MK_OK)
			continue;
		snprintf(name, sizeof name, "%s%s", prefix ? prefix : "", key);
		json_object_set_new(env, name, json_stringn(val, n));
		free(val);
	}
	json_decref(src);
	return MK_OK;
}

static int key_ref(struct pod_worker *w, const char *kind, json_t *ref, json_t **out,
		   char *errmsg, size_t len)
{
	bool missing;
	const char *key = js(ref, "key");
	json_t *src = pod_fetch_source(w, kind, js(ref, "name") ? js(ref, "name") : "", &missing,
				       errmsg, len);
	*out = NULL;
	if (src == NULL)
		return missing && jb(ref, "optional", false) ? MK_OK : MK_ENOTFOUND;
	char *val = NULL;
	size_t n;
	int rv = key ? source_value(src, key, &val, &n) : MK_ENOTFOUND;
	json_decref(src);
	if (rv == MK_OK) {
		*out = json_stringn(val, n);
		free(val);
		return MK_OK;
	}
	if (jb(ref, "optional", false))
		return MK_OK;
	snprintf(errmsg, len, "couldn't find key %s in %s %s/%s", key ? key : "",
		 strcmp(kind, "secrets") == 0 ? "Secret" : "ConfigMap", w->ns, js(ref, "name"));
	return MK_ENOTFOUND;
}

json_t *pod_env_build(struct pod_worker *w, json_t *container, char *const *image_env,
		      size_t n_env, char *errmsg, size_t len)
{
	json_t *env = json_object(), *defined = json_object();
	size_t i;
	json_t *e;

	for (i = 0; i < n_env; i++) {
		const char *eq = strchr(image_env[i], '=');
		if (eq == NULL)
			continue;
		char name[512];
		snprintf(name, sizeof name, "%.*s", (int)(eq - image_env[i]), image_env[i]);
		json_object_set_new(env, name, json_string(eq + 1));
	}
	json_array_foreach(jo(container, "envFrom"), i, e) {
		json_t *cm = jo(e, "configMapRef"), *sec = jo(e, "secretRef");
		int rv = add_from_source(w, defined, cm ? "configmaps" : "secrets", cm ? cm : sec,
					 js(e, "prefix"), errmsg, len);
		if (rv != MK_OK)
			goto fail;
	}
	json_array_foreach(jo(container, "env"), i, e) {
		const char *name = js(e, "name");
		json_t *from = jo(e, "valueFrom");
		json_t *val = NULL;
		char buf[512];
		if (name == NULL)
			continue;
		if (from == NULL) {
			char *x = pod_env_expand(js(e, "value") ? js(e, "value") : "", defined);
			val = json_string(x ? x : "");
			free(x);
		} else if (jo(from, "fieldRef") != NULL) {
			const char *v = field_value(w, js(jo(from, "fieldRef"), "fieldPath") ?: "",
						    buf, sizeof buf);
			val = json_string(v ? v : "");
		} else if (jo(from, "resourceFieldRef") != NULL) {
			if (resource_value(container, jo(from, "resourceFieldRef"), buf,
					   sizeof buf) != MK_OK) {
				snprintf(errmsg, len, "env %s: unsupported resourceFieldRef", name);
				goto fail;
			}
			val = json_string(buf);
		} else if (jo(from, "configMapKeyRef") != NULL) {
			if (key_ref(w, "configmaps", jo(from, "configMapKeyRef"), &val, errmsg,
				    len) != MK_OK)
				goto fail;
		} else if (jo(from, "secretKeyRef") != NULL) {
			if (key_ref(w, "secrets", jo(from, "secretKeyRef"), &val, errmsg, len) !=
			    MK_OK)
				goto fail;
		}
		if (val != NULL)
			json_object_set_new(defined, name, val);
	}
	json_object_update(env, defined);
	json_decref(defined);
	return env;
fail:
	json_decref(env);
	json_decref(defined);
	return NULL;
}
