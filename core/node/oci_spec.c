/*
 * The OCI runtime configuration (config.json) of a container, from its pod
 * spec and image, the way kubelet + containerd's CRI plugin build it:
 * process (command, env, cwd, user, capabilities, rlimits), root, mounts
 * (the usual /proc /dev /sys, the pod's hosts files, volumeMounts),
 * namespaces (the pod's network namespace, new pid/ipc/uts/mount), and
 * cgroup limits from resources.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "../base/err.h"
#include "../kube/quantity.h"
#include "node_internal.h"

/* What Docker and containerd give an unprivileged container. */
static const char *const default_caps[] = {
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
	"CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
	"CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE", NULL,
};

static const char *const all_caps[] = {
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
	"CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
	"CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW",
	"CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT",
	"CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
	"CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
	"CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE",
	"CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",
	"CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE", NULL,
};

/* "NET_ADMIN" or "CAP_NET_ADMIN" -> "CAP_NET_ADMIN". */
static void cap_name(const char *in, char *out, size_t len)
{
	snprintf(out, len, "%s%s", strncmp(in, "CAP_", 4) == 0 ? "" : "CAP_", in);
	for (char *p = out; *p; p++)
		if (*p >= 'a' && *p <= 'z')
			*p = (char)(*p - 'a' + 'A');
}

static json_t *capabilities(json_t *sc, bool privileged)
{
	json_t *set = json_array();
	json_t *add = jo(jo(sc, "capabilities"), "add"), *drop = jo(jo(sc, "capabilities"), "drop");
	size_t i;
	json_t *v;
	char name[64];
	bool drop_all = false;

	json_array_foreach(drop, i, v)
		if (json_string_value(v) && strcasecmp(json_string_value(v), "ALL") == 0)
			drop_all = true;
	const char *const *base = privileged ? all_caps : default_caps;
	for (i = 0; base[i] != NULL && !drop_all; i++) {
		bool dropped = false;
		size_t k;
		json_array_foreach(drop, k, v) {
			cap_name(json_string_value(v) ? json_string_value(v) : "", name, sizeof name);
			if (strcmp(name, base[i]) == 0)
				dropped = true;
		}
		if (!dropped || privileged)
			json_array_append_new(set, json_string(base[i]));
	}
	json_array_foreach(add, i, v) {
		const char *c = json_string_value(v);
		if (c == NULL)
			continue;
		if (strcasecmp(c, "ALL") == 0) {
			json_array_clear(set);
			for (size_t k = 0; all_caps[k]; k++)
				json_array_append_new(set, json_string(all_caps[k]));
			break;
		}
		cap_name(c, name, sizeof name);
		json_array_append_new(set, json_string(name));
	}
	json_t *caps = json_pack("{s:O, s:O, s:O, s:[]}", "bounding", set, "effective", set,
				 "permitted", set, "inheritable");
	json_decref(set);
	return caps;
}

static void add_mount(json_t *mounts, const char *dest, const char *type, const char *src,
		      const char *opts_csv)
{
	json_t *opts = json_array();
	char buf[256];

	snprintf(buf, sizeof buf, "%s", opts_csv);
	for (char *save, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
		json_array_append_new(opts, json_string(t));
	json_array_append_new(mounts, json_pack("{s:s, s:s, s:s, s:o}", "destination", dest,
						"type", type, "source", src, "options", opts));
}

/* uid[:gid] of the image's USER, looked up in the image's own /etc/passwd
 * when it is a name. */
static int image_user(const char *rootfs, const char *user, int64_t *uid, int64_t *gid)
{
	char name[256] = "", group[256] = "", path[PATH_MAX], line[1024];

	*uid = 0;
	*gid = -1;
	if (user == NULL || user[0] == '\0')
		return MK_OK;
	sscanf(user, "%255[^:]:%255s", name, group);
	char *end;
	long v = strtol(name, &end, 10);
	if (*end == '\0' && name[0]) {
		*uid = v;
	} else {
		snprintf(path, sizeof path, "%s/etc/passwd", rootfs);
		FILE *f = fopen(path, "r");
		bool found = false;
		while (f && fgets(line, sizeof line, f)) {
			char n[256];
			long u, g;
			if (sscanf(line, "%255[^:]:%*[^:]:%ld:%ld", n, &u, &g) == 3 &&
			    strcmp(n, name) == 0) {
				*uid = u;
				if (*gid < 0)
					*gid = g;
				found = true;
				break;
			}
		}
		if (f)
			fclose(f);
		if (!found)
			return MK_ENOTFOUND;
	}
	if (group[0]) {
		v = strtol(group, &end, 10);
		if (*end == '\0')
			*gid = v;
	}
	return MK_OK;
}

static json_t *resources(json_t *container)
{
	json_t *res = jo(container, "resources");
	json_t *out = json_object();
	const char *mem = js(jo(res, "limits"), "memory");
	const char *cpu = js(jo(res, "limits"), "cpu");
	const char *req = js(jo(res, "requests"), "cpu");
	int64_t v;

	if (mem != NULL && quantity_value(mem, &v) == MK_OK && v > 0)
		json_object_set_new(out, "memory", json_pack("{s:I, s:I}", "limit", (json_int_t)v,
							     "swap", (json_int_t)v));
	json_t *c = json_object();
	/* shares: requests (else limits) in millicores * 1024 / 1000, min 2. */
	if ((req != NULL || cpu != NULL) && quantity_milli(req ? req : cpu, &v) == MK_OK) {
		int64_t shares = v * 1024 / 1000;
		json_object_set_new(c, "shares", json_integer(shares < 2 ? 2 : shares));
	}
	if (cpu != NULL && quantity_milli(cpu, &v) == MK_OK && v > 0) {
		json_object_set_new(c, "quota", json_integer(v * 100000 / 1000));
		json_object_set_new(c, "period", json_integer(100000));
	}
	if (json_object_size(c) > 0)
		json_object_set_new(out, "cpu", c);
	else
		json_decref(c);
	return out;
}

static json_t *process_args(json_t *container, json_t *env, char *const *entry, size_t n_entry,
			    char *const *cmd, size_t n_cmd)
{
	json_t *args = json_array();
	json_t *command = jo(container, "command"), *cargs = jo(container, "args");
	size_t i;
	json_t *v;

	/* Kubernetes' rule: command replaces ENTRYPOINT (and drops CMD),
	 * args replace CMD. */
	if (json_array_size(command) > 0) {
		json_array_foreach(command, i, v) {
			char *x = pod_env_expand(json_string_value(v) ?: "", env);
			json_array_append_new(args, json_string(x ? x : ""));
			free(x);
		}
	} else {
		for (i = 0; i < n_entry; i++)
			json_array_append_new(args, json_string(entry[i]));
	}
	if (json_array_size(cargs) > 0) {
		json_array_foreach(cargs, i, v) {
			char *x = pod_env_expand(json_string_value(v) ?: "", env);
			json_array_append_new(args, json_string(x ? x : ""));
			free(x);
		}
	} else if (json_array_size(command) == 0) {
		for (i = 0; i < n_cmd; i++)
			json_array_append_new(args, json_string(cmd[i]));
	}
	return args;
}

/* Bind mounts for volumeMounts (with subPath) and the pod's files. */
static int volume_mounts(struct pod_worker *w, struct ctr *c, json_t *mounts, char *errmsg,
			 size_t len)
{
	size_t i;
	json_t *vm;
	char src[PATH_MAX], dir[PATH_MAX], path[PATH_MAX + 32];

	json_array_foreach(jo(c->spec, "volumeMounts"), i, vm) {
		const char *name = js(vm, "name"), *dest = js(vm, "mountPath");
		const char *sub = js(vm, "subPath");
		if (name == NULL || dest == NULL)
			continue;
		if (volume_host_path(w, name, src, sizeof src) != MK_OK) {
			snprintf(errmsg, len, "volumeMount %s: no volume named %s", dest, name);
			return MK_EINVAL;
		}
		if (sub != NULL && sub[0]) {
			if (sub[0] == '/' || strstr(sub, "..") != NULL) {
				snprintf(errmsg, len, "subPath %s: must be a relative path without '..'",
					 sub);
				return MK_EINVAL;
			}
			size_t l = strlen(src);
			snprintf(src + l, sizeof src - l, "/%s", sub);
		}
		add_mount(mounts, dest, "bind", src,
			  jb(vm, "readOnly", false) ? "rbind,ro" : "rbind,rw");
	}
	ctr_dir(w, c->name, c->attempt, dir, sizeof dir);
	snprintf(path, sizeof path, "%s/termination-log", dir);
	FILE *f = fopen(path, "a");
	if (f)
		fclose(f);
	const char *tmp = js(c->spec, "terminationMessagePath");
	add_mount(mounts, tmp ? tmp : "/dev/termination-log", "bind", path, "rbind,rw");
	bool host_net = jb(jo(w->cur, "spec"), "hostNetwork", false);
	const char *files[][2] = {
		{ "/etc/hosts", "hosts" }, { "/etc/hostname", "hostname" },
		{ "/etc/resolv.conf", "resolv.conf" },
	};
	for (i = 0; i < 3; i++) {
		snprintf(path, sizeof path, "%s/%s", w->dir, files[i][1]);
		if (host_net && i == 1)
			continue;
		add_mount(mounts, files[i][0], "bind", path, "rbind,rw");
	}
	return MK_OK;
}

json_t *oci_spec_build(struct pod_worker *w, struct ctr *c, const char *rootfs,
		       const char *img_user, char *const *image_env, size_t n_env,
		       char *const *entrypoint, size_t n_entry, char *const *image_cmd,
		       size_t n_cmd, const char *image_workdir, char *errmsg, size_t len)
{
	json_t *pod_spec = jo(w->cur, "spec");
	json_t *psc = jo(pod_spec, "securityContext"), *sc = jo(c->spec, "securityContext");
	bool privileged = jb(sc, "privileged", false);
	bool host_net = jb(pod_spec, "hostNetwork", false);
	json_t *env = pod_env_build(w, c->spec, image_env, n_env, errmsg, len);
	json_t *spec = NULL;

	if (env == NULL)
		return NULL;
	if (json_object_get(env, "HOSTNAME") == NULL)
		json_object_set_new(env, "HOSTNAME", json_string(w->name));
	json_t *args = process_args(c->spec, env, entrypoint, n_entry, image_cmd, n_cmd);
	if (json_array_size(args) == 0) {
		snprintf(errmsg, len, "no command specified");
		json_decref(args);
		json_decref(env);
		return NULL;
	}
	json_t *envl = json_array();
	const char *k;
	json_t *v;
	json_object_foreach(env, k, v) {
		char *kv;
		if (asprintf(&kv, "%s=%s", k, json_string_value(v)) >= 0) {
			json_array_append_new(envl, json_string(kv));
			free(kv);
		}
	}
	int64_t uid, gid;
	if (image_user(rootfs, img_user, &uid, &gid) != MK_OK) {
		snprintf(errmsg, len, "unable to find user %s: no matching entries in passwd file",
			 img_user);
		goto fail;
	}
	uid = ji(sc, "runAsUser", ji(psc, "runAsUser", uid));
	gid = ji(sc, "runAsGroup", ji(psc, "runAsGroup", gid < 0 ? 0 : gid));
	if (jb(sc, "runAsNonRoot", jb(psc, "runAsNonRoot", false)) && uid == 0) {
		snprintf(errmsg, len, "container has runAsNonRoot and image will run as root");
		goto fail;
	}
	json_t *groups = json_array();
	size_t i;
	json_array_foreach(jo(psc, "supplementalGroups"), i, v)
		json_array_append(groups, v);
	if (jo(psc, "fsGroup") != NULL)
		json_array_append(groups, jo(psc, "fsGroup"));
	const char *wd = js(c->spec, "workingDir");
	if (wd == NULL || wd[0] == '\0')
		wd = image_workdir && image_workdir[0] ? image_workdir : "/";
	bool nnp = json_is_false(jo(sc, "allowPrivilegeEscalation"));

	/* Containers get mkd's own open-file limit: raising the hard limit
	 * past it is not allowed, and lowering it would surprise. */
	struct rlimit nofile = { 1024, 1024 };
	getrlimit(RLIMIT_NOFILE, &nofile);
	json_t *process = json_pack(
		"{s:b, s:{s:I, s:I, s:o}, s:o, s:o, s:s, s:o, s:b, s:[{s:s, s:I, s:I}]}",
		"terminal", 0, "user", "uid", (json_int_t)uid, "gid", (json_int_t)gid,
		"additionalGids", groups, "args", args, "env", envl, "cwd", wd, "capabilities",
		capabilities(sc, privileged), "noNewPrivileges", nnp, "rlimits", "type",
		"RLIMIT_NOFILE", "hard", (json_int_t)nofile.rlim_max, "soft",
		(json_int_t)nofile.rlim_max);
	args = envl = NULL;

	json_t *mounts = json_array();
	add_mount(mounts, "/proc", "proc", "proc", "nosuid,noexec,nodev");
	add_mount(mounts, "/dev", "tmpfs", "tmpfs", "nosuid,strictatime,mode=755,size=65536k");
	add_mount(mounts, "/dev/pts", "devpts", "devpts",
		  "nosuid,noexec,newinstance,ptmxmode=0666,mode=0620,gid=5");
	add_mount(mounts, "/dev/shm", "tmpfs", "shm", "nosuid,noexec,nodev,mode=1777,size=65536k");
	add_mount(mounts, "/dev/mqueue", "mqueue", "mqueue", "nosuid,noexec,nodev");
	add_mount(mounts, "/sys", "sysfs", "sysfs",
		  privileged ? "nosuid,noexec,nodev,rw" : "nosuid,noexec,nodev,ro");
	add_mount(mounts, "/sys/fs/cgroup", "cgroup", "cgroup",
		  privileged ? "nosuid,noexec,nodev,relatime,rw" : "nosuid,noexec,nodev,relatime,ro");
	if (volume_mounts(w, c, mounts, errmsg, len) != MK_OK) {
		json_decref(mounts);
		json_decref(process);
		goto fail_env;
	}

	json_t *ns = json_pack("[{s:s}, {s:s}, {s:s}]", "type", "pid", "type", "ipc", "type",
			       "mount");
	if (!host_net) {
		char netns[PATH_MAX + 8];
		pod_netns_path(w, netns, sizeof netns);
		json_array_append_new(ns, json_pack("{s:s, s:s}", "type", "network", "path", netns));
		json_array_append_new(ns, json_pack("{s:s}", "type", "uts"));
	}
	char cgroup[PATH_MAX];
	snprintf(cgroup, sizeof cgroup, "/mk/pod%s/%s", w->uid, c->id);
	const char *hostname = js(pod_spec, "hostname");
	json_t *linux_ = json_pack("{s:o, s:s, s:o}", "namespaces", ns, "cgroupsPath", cgroup,
				   "resources", resources(c->spec));
	if (!privileged) {
		json_object_set_new(linux_, "maskedPaths",
				    json_pack("[s,s,s,s,s,s,s,s,s]", "/proc/acpi", "/proc/kcore",
					      "/proc/keys", "/proc/latency_stats",
					      "/proc/timer_list", "/proc/timer_stats",
					      "/proc/sched_debug", "/sys/firmware", "/proc/scsi"));
		json_object_set_new(linux_, "readonlyPaths",
				    json_pack("[s,s,s,s,s,s]", "/proc/asound", "/proc/bus",
					      "/proc/fs", "/proc/irq", "/proc/sys",
					      "/proc/sysrq-trigger"));
	} else {
		json_object_set_new(jo(linux_, "resources"), "devices",
				    json_pack("[{s:b, s:s}]", "allow", 1, "access", "rwm"));
	}
	spec = json_pack("{s:s, s:o, s:{s:s, s:b}, s:s, s:o, s:o}", "ociVersion", "1.0.2",
			 "process", process, "root", "path", rootfs, "readonly",
			 jb(sc, "readOnlyRootFilesystem", false), "hostname",
			 host_net ? "" : (hostname ? hostname : w->name), "mounts", mounts, "linux",
			 linux_);
	if (host_net)
		json_object_del(spec, "hostname");
	json_decref(env);
	return spec;
fail:
	json_decref(args);
	json_decref(envl);
fail_env:
	json_decref(env);
	return NULL;
}
