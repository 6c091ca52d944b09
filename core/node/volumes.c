/*
 * Pod volumes: emptyDir (disk or memory), hostPath with its type checks,
 * configMap, secret, downwardAPI and projected (written atomically, kept
 * up to date), and persistentVolumeClaim bound to a hostPath or local
 * PersistentVolume.  Each resolves to a host path that the container's
 * volumeMounts bind.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../base/err.h"
#include "../base/log.h"
#include "../kube/client.h"
#include "../kube/quantity.h"
#include "atomic_writer.h"
#include "node_internal.h"

/* configMap/secret/downwardAPI content changes reach the files within
 * this (kubelet: about a minute; the test users' patience is shorter). */
#define REFRESH_MS 2000
#define MAX_FILES 256

struct payload {
	struct atomic_file f[MAX_FILES];
	char *owned[MAX_FILES];
	size_t n;
};

static void payload_free(struct payload *p)
{
	for (size_t i = 0; i < p->n; i++) {
		free(p->owned[i]);
		free((char *)p->f[i].path);
	}
	p->n = 0;
}

static int payload_add(struct payload *p, const char *path, char *data, size_t len, int mode)
{
	if (p->n >= MAX_FILES) {
		free(data);
		return MK_ETOOBIG;
	}
	p->owned[p->n] = data;
	p->f[p->n] = (struct atomic_file){ strdup(path), data, len, (mode_t)mode };
	p->n++;
	return MK_OK;
}

static int mode_of(json_t *item, json_t *source, int dflt)
{
	return (int)ji(item, "mode", ji(source, "defaultMode", dflt));
}

/* configMap or secret into p: every key, or only items. */
static int add_keys(struct pod_worker *w, const char *kind, const char *name, json_t *src_spec,
		    int dflt_mode, struct payload *p, char *errmsg, size_t len)
{
	bool missing;
	json_t *src = pod_fetch_source(w, kind, name ? name : "", &missing, errmsg, len);
	size_t i;
	json_t *it;

	if (src == NULL)
		return missing && jb(src_spec, "optional", false) ? MK_OK : MK_ENOTFOUND;
	json_t *items = jo(src_spec, "items");
	if (json_array_size(items) > 0) {
		json_array_foreach(items, i, it) {
			char *data;
			size_t n;
			const char *key = js(it, "key"), *path = js(it, "path");
			if (key == NULL || path == NULL)
				continue;
			if (source_value(src, key, &data, &n) != MK_OK) {
				if (jb(src_spec, "optional", false))
					continue;
				snprintf(errmsg, len, "configmap references non-existent config key: %s",
					 key);
				json_decref(src);
				return MK_ENOTFOUND;
			}
			payload_add(p, path, data, n, mode_of(it, src_spec, dflt_mode));
		}
	} else {
		const char *key;
		json_t *v;
		json_t *all = json_object();
		json_object_update(all, jo(src, "data"));
		json_object_update(all, jo(src, "binaryData"));
		json_object_foreach(all, key, v) {
			char *data;
			size_t n;
			if (source_value(src, key, &data, &n) == MK_OK)
				payload_add(p, key, data, n, dflt_mode);
		}
		json_decref(all);
	}
	json_decref(src);
	return MK_OK;
}

static int cmp_keys(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int add_downward(struct pod_worker *w, json_t *items, int dflt_mode, struct payload *p,
			char *errmsg, size_t len)
{
	size_t i;
	json_t *it;
	json_t *meta = jo(w->cur, "metadata");

	json_array_foreach(items, i, it) {
		const char *path = js(it, "path");
		const char *fp = js(jo(it, "fieldRef"), "fieldPath");
		char *text = NULL;
		size_t n = 0;
		if (path == NULL)
			continue;
		if (fp != NULL && (strcmp(fp, "metadata.labels") == 0 ||
				   strcmp(fp, "metadata.annotations") == 0)) {
			/* key="value" lines, sorted, as kubelet writes them. */
			json_t *m = jo(meta, strcmp(fp, "metadata.labels") == 0 ? "labels" :
						      "annotations");
			FILE *f = open_memstream(&text, &n);
			const char **keys = calloc(json_object_size(m) + 1, sizeof *keys);
			size_t k = 0;
			const char *key;
			json_t *v;
			json_object_foreach(m, key, v)
				keys[k++] = key;
			qsort(keys, k, sizeof *keys, cmp_keys);
			for (size_t j = 0; j < k; j++) {
				json_t *s = json_string(js(m, keys[j]));
				char *q = json_dumps(s, JSON_ENCODE_ANY);
				fprintf(f, "%s%s=%s", j ? "\n" : "", keys[j], q ? q : "\"\"");
				free(q);
				json_decref(s);
			}
			free(keys);
			fclose(f);
		} else if (fp != NULL) {
			json_t *c = json_pack("{s:[{s:s, s:{s:{s:s}}}]}", "env", "name", "V",
					      "valueFrom", "fieldRef", "fieldPath", fp);
			json_t *env = pod_env_build(w, c, NULL, 0, errmsg, len);
			json_decref(c);
			text = strdup(js(env, "V") ? js(env, "V") : "");
			n = strlen(text);
			json_decref(env);
		} else {
			text = strdup("");
		}
		payload_add(p, path, text, n, mode_of(it, NULL, dflt_mode));
	}
	return MK_OK;
}

static int check_host_path(const char *path, const char *type, char *errmsg, size_t len)
{
	struct stat st;
	int have = stat(path, &st) == 0;

	if (type == NULL || type[0] == '\0')
		return MK_OK;
	if (strcmp(type, "DirectoryOrCreate") == 0) {
		if (!have && mkdir(path, 0755) != 0) {
			snprintf(errmsg, len, "cannot create directory %s: %s", path, strerror(errno));
			return MK_EIO;
		}
		if (have && !S_ISDIR(st.st_mode))
			goto wrong;
		return MK_OK;
	}
	if (strcmp(type, "FileOrCreate") == 0) {
		if (!have) {
			FILE *f = fopen(path, "a");
			if (f == NULL) {
				snprintf(errmsg, len, "cannot create file %s: %s", path,
					 strerror(errno));
				return MK_EIO;
			}
			fclose(f);
			return MK_OK;
		}
		if (!S_ISREG(st.st_mode))
			goto wrong;
		return MK_OK;
	}
	struct { const char *type, *what; mode_t fmt; } kinds[] = {
		{ "Directory", "directory", S_IFDIR }, { "File", "file", S_IFREG },
		{ "Socket", "socket", S_IFSOCK }, { "CharDevice", "character device", S_IFCHR },
		{ "BlockDevice", "block device", S_IFBLK },
	};
	for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++) {
		if (strcmp(type, kinds[i].type) != 0)
			continue;
		if (!have || (st.st_mode & S_IFMT) != kinds[i].fmt) {
			snprintf(errmsg, len, "hostPath type check failed: %s is not a %s", path,
				 kinds[i].what);
			return MK_EINVAL;
		}
		return MK_OK;
	}
	snprintf(errmsg, len, "hostPath type %s is not a known type", type);
	return MK_EINVAL;
wrong:
	snprintf(errmsg, len, "hostPath type check failed: %s exists and is not a %s", path,
		 strcmp(type, "DirectoryOrCreate") == 0 ? "directory" : "file");
	return MK_EINVAL;
}

static int pvc_path(struct pod_worker *w, const char *claim, char *out, size_t olen,
		    char *errmsg, size_t len)
{
	char path[1024], ns[300], n[300];
	json_t *pvc = NULL, *pv = NULL;
	int rv;

	kube_escape(w->ns, ns, sizeof ns);
	kube_escape(claim, n, sizeof n);
	snprintf(path, sizeof path, "/api/v1/namespaces/%s/persistentvolumeclaims/%s", ns, n);
	rv = kube_get(w->agent->client, path, &pvc, errmsg, len);
	if (rv != MK_OK) {
		snprintf(errmsg, len, "persistentvolumeclaim \"%s\" not found", claim);
		return rv;
	}
	const char *vol = js(jo(pvc, "spec"), "volumeName");
	if (vol == NULL || vol[0] == '\0') {
		snprintf(errmsg, len, "persistentvolumeclaim \"%s\" is not bound", claim);
		json_decref(pvc);
		return MK_EINVAL;
	}
	kube_escape(vol, n, sizeof n);
	snprintf(path, sizeof path, "/api/v1/persistentvolumes/%s", n);
	rv = kube_get(w->agent->client, path, &pv, errmsg, len);
	json_decref(pvc);
	if (rv != MK_OK) {
		snprintf(errmsg, len, "persistentvolume \"%s\" not found", vol);
		return rv;
	}
	json_t *spec = jo(pv, "spec");
	const char *hp = js(jo(spec, "hostPath"), "path");
	if (hp == NULL)
		hp = js(jo(spec, "local"), "path");
	if (hp == NULL) {
		snprintf(errmsg, len, "persistentvolume \"%s\" is neither hostPath nor local", vol);
		json_decref(pv);
		return MK_EINVAL;
	}
	rv = check_host_path(hp, js(jo(spec, "hostPath"), "type"), errmsg, len);
	snprintf(out, olen, "%s", hp);
	json_decref(pv);
	return rv;
}

/* One volume: resolves its host path, writes its content. */
static int setup_one(struct pod_worker *w, json_t *vol, bool content_only, char *errmsg,
		     size_t len)
{
	const char *name = js(vol, "name");
	char dir[PATH_MAX];
	struct payload p = { .n = 0 };
	int rv = MK_OK;

	snprintf(dir, sizeof dir, "%s/volumes/%s", w->dir, name);
	json_t *hp = jo(vol, "hostPath"), *ed = jo(vol, "emptyDir");
	json_t *cm = jo(vol, "configMap"), *sec = jo(vol, "secret");
	json_t *dw = jo(vol, "downwardAPI"), *pj = jo(vol, "projected");
	json_t *pvc = jo(vol, "persistentVolumeClaim");

	if (hp != NULL) {
		if (content_only)
			return MK_OK;
		const char *path = js(hp, "path");
		if (path == NULL || path[0] != '/') {
			snprintf(errmsg, len, "hostPath %s: must be an absolute path",
				 path ? path : "");
			return MK_EINVAL;
		}
		rv = check_host_path(path, js(hp, "type"), errmsg, len);
		if (rv == MK_OK)
			json_object_set_new(w->volume_paths, name, json_string(path));
		return rv;
	}
	if (pvc != NULL) {
		if (content_only)
			return MK_OK;
		char path[PATH_MAX];
		rv = pvc_path(w, js(pvc, "claimName") ? js(pvc, "claimName") : "", path, sizeof path,
			      errmsg, len);
		if (rv == MK_OK)
			json_object_set_new(w->volume_paths, name, json_string(path));
		return rv;
	}
	if (!content_only) {
		char vols[PATH_MAX];
		snprintf(vols, sizeof vols, "%s/volumes", w->dir);
		mkdir(vols, 0750);
		if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
			snprintf(errmsg, len, "cannot create %s: %s", dir, strerror(errno));
			return MK_EIO;
		}
		json_object_set_new(w->volume_paths, name, json_string(dir));
	}
	if (ed != NULL) {
		if (content_only)
			return MK_OK;
		/* emptyDir is world-writable like kubelet's (0777). */
		chmod(dir, 0777);
		const char *medium = js(ed, "medium");
		if (medium != NULL && strcmp(medium, "Memory") == 0) {
			char opts[64] = "mode=1777";
			int64_t size;
			if (js(ed, "sizeLimit") && quantity_value(js(ed, "sizeLimit"), &size) == MK_OK)
				snprintf(opts, sizeof opts, "mode=1777,size=%lld", (long long)size);
			if (mount("tmpfs", dir, "tmpfs", MS_NOSUID | MS_NODEV, opts) != 0 &&
			    errno != EBUSY) {
				snprintf(errmsg, len, "cannot mount tmpfs for emptyDir %s: %s", name,
					 strerror(errno));
				return MK_EIO;
			}
		}
		return MK_OK;
	}
	if (cm != NULL)
		rv = add_keys(w, "configmaps", js(cm, "name"), cm, 0644, &p, errmsg, len);
	else if (sec != NULL)
		rv = add_keys(w, "secrets", js(sec, "secretName"), sec, 0644, &p, errmsg, len);
	else if (dw != NULL)
		rv = add_downward(w, jo(dw, "items"), (int)ji(dw, "defaultMode", 0644), &p, errmsg,
				  len);
	else if (pj != NULL) {
		size_t i;
		json_t *s;
		int dflt = (int)ji(pj, "defaultMode", 0644);
		json_array_foreach(jo(pj, "sources"), i, s) {
			if (jo(s, "configMap"))
				rv = add_keys(w, "configmaps", js(jo(s, "configMap"), "name"),
					      jo(s, "configMap"), dflt, &p, errmsg, len);
			else if (jo(s, "secret"))
				rv = add_keys(w, "secrets", js(jo(s, "secret"), "name"),
					      jo(s, "secret"), dflt, &p, errmsg, len);
			else if (jo(s, "downwardAPI"))
				rv = add_downward(w, jo(jo(s, "downwardAPI"), "items"), dflt, &p,
						  errmsg, len);
			if (rv != MK_OK)
				break;
		}
	} else if (!content_only) {
		snprintf(errmsg, len, "volume %s: this volume type is not supported by mk", name);
		return MK_EINVAL;
	}
	if (rv == MK_OK && (cm || sec || dw || pj)) {
		int changed = 0;
		int64_t fs_group = ji(jo(jo(w->cur, "spec"), "securityContext"), "fsGroup", -1);
		rv = atomic_write(dir, p.f, p.n, (uid_t)-1, (gid_t)fs_group, &changed, errmsg, len);
	}
	payload_free(&p);
	return rv;
}

int volumes_setup(struct pod_worker *w, char *errmsg, size_t len)
{
	size_t i;
	json_t *v;
	char msg[1024];

	if (w->volume_paths == NULL)
		w->volume_paths = json_object();
	json_array_foreach(jo(jo(w->cur, "spec"), "volumes"), i, v) {
		int rv = setup_one(w, v, false, msg, sizeof msg);
		if (rv != MK_OK) {
			snprintf(errmsg, len, "MountVolume.SetUp failed for volume \"%s\" : %s",
				 js(v, "name"), msg);
			return rv;
		}
	}
	w->volumes_refreshed_ms = mk_monotonic_ms();
	return MK_OK;
}

void volumes_refresh(struct pod_worker *w)
{
	size_t i;
	json_t *v;
	char msg[1024];

	if (mk_monotonic_ms() - w->volumes_refreshed_ms < REFRESH_MS)
		return;
	w->volumes_refreshed_ms = mk_monotonic_ms();
	json_array_foreach(jo(jo(w->cur, "spec"), "volumes"), i, v)
		if (setup_one(w, v, true, msg, sizeof msg) != MK_OK)
			mk_debug(NODE_LOG, "pod %s/%s: volume %s: %s", w->ns, w->name,
				 js(v, "name"), msg);
}

int volume_host_path(struct pod_worker *w, const char *name, char *out, size_t len)
{
	const char *p = js(w->volume_paths, name);

	if (p == NULL)
		return MK_ENOTFOUND;
	snprintf(out, len, "%s", p);
	return MK_OK;
}

void volumes_teardown(struct pod_worker *w)
{
	size_t i;
	json_t *v;
	char dir[PATH_MAX];

	json_array_foreach(jo(jo(w->cur, "spec"), "volumes"), i, v) {
		if (jo(v, "emptyDir") == NULL)
			continue;
		snprintf(dir, sizeof dir, "%s/volumes/%s", w->dir, js(v, "name"));
		umount2(dir, MNT_DETACH);
	}
}
