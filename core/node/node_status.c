/*
 * This node's Node object and its heartbeats: the Lease in
 * kube-node-lease renewed every 10 s (what the node lifecycle controller
 * watches), and the Node's conditions refreshed every minute or when they
 * change, as kubelet does.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "../base/err.h"
#include "../base/log.h"
#include "../base/version.h"
#include "../kube/client.h"
#include "../kube/informer.h"
#include "node_internal.h"

#define LEASE_RENEW_S 10
#define LEASE_DURATION_S 40
#define STATUS_EVERY_S 60
#define MAX_PODS 110

static void read_line(const char *path, char *out, size_t len)
{
	FILE *f = fopen(path, "r");

	out[0] = '\0';
	if (f == NULL)
		return;
	if (fgets(out, (int)len, f) == NULL)
		out[0] = '\0';
	out[strcspn(out, "\n")] = '\0';
	fclose(f);
}

static void os_image(char *out, size_t len)
{
	char line[512];
	FILE *f = fopen("/etc/os-release", "r");

	snprintf(out, len, "Linux");
	while (f && fgets(line, sizeof line, f)) {
		if (strncmp(line, "PRETTY_NAME=", 12) != 0)
			continue;
		char *v = line + 12;
		v += *v == '"';
		v[strcspn(v, "\"\n")] = '\0';
		snprintf(out, len, "%s", v);
	}
	if (f)
		fclose(f);
}

static const char *go_arch(const char *machine)
{
	if (strcmp(machine, "x86_64") == 0)
		return "amd64";
	if (strcmp(machine, "aarch64") == 0)
		return "arm64";
	if (strncmp(machine, "armv7", 5) == 0)
		return "arm";
	return machine;
}

static json_t *capacity(struct node_agent *a)
{
	char mem[64] = "0Ki", storage[64] = "0Ki", cpu[16], pods[16];
	char line[256];
	FILE *f = fopen("/proc/meminfo", "r");
	long long kb;
	struct statvfs vfs;

	while (f && fgets(line, sizeof line, f))
		if (sscanf(line, "MemTotal: %lld kB", &kb) == 1)
			snprintf(mem, sizeof mem, "%lldKi", kb);
	if (f)
		fclose(f);
	if (statvfs(a->cfg.data_dir, &vfs) == 0)
		snprintf(storage, sizeof storage, "%lluKi",
			 (unsigned long long)vfs.f_blocks * vfs.f_frsize / 1024);
	snprintf(cpu, sizeof cpu, "%ld", sysconf(_SC_NPROCESSORS_ONLN));
	snprintf(pods, sizeof pods, "%d", MAX_PODS);
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "cpu", cpu, "memory", mem, "pods", pods,
			 "ephemeral-storage", storage, "hugepages-1Gi", "0", "hugepages-2Mi", "0");
}

static json_t *conditions(struct node_agent *a)
{
	char now[40];

	node_rfc3339(now, sizeof now);
	/* Ready says the runtime answers and the pod network is configured;
	 * that is what kubelet's runtime and network checks amount to. */
	bool ready = strcmp(a->runtime_version, "unknown") != 0;
	return json_pack(
		"[{s:s, s:s, s:s, s:s, s:s, s:s}, {s:s, s:s, s:s, s:s, s:s, s:s},"
		" {s:s, s:s, s:s, s:s, s:s, s:s}, {s:s, s:s, s:s, s:s, s:s, s:s}]",
		"type", "MemoryPressure", "status", "False", "lastHeartbeatTime", now,
		"lastTransitionTime", now, "reason", "KubeletHasSufficientMemory", "message",
		"kubelet has sufficient memory available",
		"type", "DiskPressure", "status", "False", "lastHeartbeatTime", now,
		"lastTransitionTime", now, "reason", "KubeletHasNoDiskPressure", "message",
		"kubelet has no disk pressure",
		"type", "PIDPressure", "status", "False", "lastHeartbeatTime", now,
		"lastTransitionTime", now, "reason", "KubeletHasSufficientPID", "message",
		"kubelet has sufficient PID available",
		"type", "Ready", "status", ready ? "True" : "False", "lastHeartbeatTime", now,
		"lastTransitionTime", now, "reason", ready ? "KubeletReady" : "KubeletNotReady",
		"message", ready ? "kubelet is posting ready status" :
				   "container runtime is not working");
}

/* A condition's lastTransitionTime changes only when its status does:
 * keep the one the Node already has (the nodes informer's copy). */
static void keep_transition_times(struct node_agent *a, json_t *conds)
{
	json_t *node = a->nodes ? kube_informer_get(a->nodes, "", a->cfg.node_name) : NULL;
	size_t i, k;
	json_t *c, *o;

	json_array_foreach(conds, i, c) {
		json_array_foreach(jo(jo(node, "status"), "conditions"), k, o) {
			if (js(o, "type") && strcmp(js(o, "type"), js(c, "type")) == 0 &&
			    js(o, "status") && strcmp(js(o, "status"), js(c, "status")) == 0 &&
			    jo(o, "lastTransitionTime"))
				json_object_set(c, "lastTransitionTime", jo(o, "lastTransitionTime"));
		}
	}
	json_decref(node);
}

static json_t *node_status(struct node_agent *a)
{
	struct utsname u;
	char machine_id[128], boot_id[128], uuid[128], osimg[256], runtime[96];

	uname(&u);
	read_line("/etc/machine-id", machine_id, sizeof machine_id);
	read_line("/proc/sys/kernel/random/boot_id", boot_id, sizeof boot_id);
	read_line("/sys/class/dmi/id/product_uuid", uuid, sizeof uuid);
	if (uuid[0] == '\0')
		snprintf(uuid, sizeof uuid, "%s", machine_id);
	os_image(osimg, sizeof osimg);
	snprintf(runtime, sizeof runtime, "runc://%s", a->runtime_version);
	json_t *cap = capacity(a);
	json_t *conds = conditions(a);
	keep_transition_times(a, conds);
	return json_pack(
		"{s:O, s:o, s:o, s:[{s:s, s:s}, {s:s, s:s}], s:{s:{s:i}}, s:{s:s, s:s, s:s, s:s,"
		" s:s, s:s, s:s, s:s, s:s, s:s}}",
		"capacity", cap, "allocatable", cap, "conditions", conds, "addresses",
		"type", "InternalIP", "address", a->cfg.node_ip, "type", "Hostname", "address",
		a->cfg.node_name, "daemonEndpoints", "kubeletEndpoint", "Port", 10250, "nodeInfo",
		"machineID", machine_id, "systemUUID", uuid, "bootID", boot_id, "kernelVersion",
		u.release, "osImage", osimg, "containerRuntimeVersion", runtime, "kubeletVersion",
		MK_KUBE_GIT_VERSION, "kubeProxyVersion", MK_KUBE_GIT_VERSION, "operatingSystem",
		"linux", "architecture", go_arch(u.machine));
}

static void node_path(struct node_agent *a, char *out, size_t len)
{
	char n[300];

	kube_escape(a->cfg.node_name, n, sizeof n);
	snprintf(out, len, "/api/v1/nodes/%s", n);
}

int node_register(struct node_agent *a, char *errmsg, size_t len)
{
	struct utsname u;
	char path[512], status_path[600];
	json_t *node = NULL;

	uname(&u);
	node_path(a, path, sizeof path);
	snprintf(status_path, sizeof status_path, "%s/status", path);
	int rv = kube_get(a->client, path, &node, errmsg, len);
	if (rv == MK_ENOTFOUND) {
		const char *arch = go_arch(u.machine);
		json_t *obj = json_pack(
			"{s:s, s:s, s:{s:s, s:{s:s, s:s, s:s, s:s, s:s}}, s:{s:s, s:[s]}}",
			"apiVersion", "v1", "kind", "Node", "metadata", "name", a->cfg.node_name,
			"labels", "kubernetes.io/hostname", a->cfg.node_name, "kubernetes.io/os",
			"linux", "kubernetes.io/arch", arch, "beta.kubernetes.io/os", "linux",
			"beta.kubernetes.io/arch", arch, "spec", "podCIDR", a->cfg.pod_cidr,
			"podCIDRs", a->cfg.pod_cidr);
		rv = kube_create(a->client, "/api/v1/nodes", obj, NULL, errmsg, len);
		json_decref(obj);
		if (rv != MK_OK && rv != MK_ECONFLICT)
			return rv;
		mk_info(NODE_LOG, "registered node %s", a->cfg.node_name);
	} else if (rv != MK_OK) {
		return rv;
	}
	json_decref(node);
	json_t *patch = json_pack("{s:o}", "status", node_status(a));
	rv = kube_merge_patch(a->client, status_path, patch, NULL, errmsg, len);
	json_decref(patch);
	return rv;
}

/* true when the Lease is renewed. */
static bool renew_lease(struct node_agent *a)
{
	char path[512], n[300], now[64], err[512];
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	size_t k = strftime(now, sizeof now, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(now + k, sizeof now - k, ".%06ldZ", ts.tv_nsec / 1000);
	kube_escape(a->cfg.node_name, n, sizeof n);
	snprintf(path, sizeof path, "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/%s",
		 n);
	json_t *patch = json_pack("{s:{s:s, s:i, s:s}}", "spec", "holderIdentity", a->cfg.node_name,
				  "leaseDurationSeconds", LEASE_DURATION_S, "renewTime", now);
	int rv = kube_merge_patch(a->client, path, patch, NULL, err, sizeof err);
	if (rv == MK_ENOTFOUND) {
		json_t *lease = json_pack("{s:s, s:s, s:{s:s, s:s}, s:O}", "apiVersion",
					  "coordination.k8s.io/v1", "kind", "Lease", "metadata",
					  "name", a->cfg.node_name, "namespace", "kube-node-lease",
					  "spec", jo(patch, "spec"));
		rv = kube_create(a->client,
				 "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases",
				 lease, NULL, err, sizeof err);
		json_decref(lease);
	}
	if (rv != MK_OK)
		mk_debug(NODE_LOG, "lease not renewed: %s", err);
	json_decref(patch);
	return rv == MK_OK;
}

void *node_heartbeat_main(void *arg)
{
	struct node_agent *a = arg;
	int64_t last_status = mk_monotonic_ms();
	char err[512];

	pthread_mutex_lock(&a->lock);
	while (!a->stopping) {
		pthread_mutex_unlock(&a->lock);
		bool renewed = renew_lease(a);
		if (mk_monotonic_ms() - last_status >= STATUS_EVERY_S * 1000) {
			if (node_register(a, err, sizeof err) != MK_OK)
				mk_warn(NODE_LOG, "node status not updated: %s", err);
			last_status = mk_monotonic_ms();
		}
		pod_orphans_cleanup(a);
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		/* A failed renewal (the API starting, kube-node-lease not made
		 * yet) is retried within a second, as kubelet's lease
		 * controller does, so the node does not look gone. */
		ts.tv_sec += renewed ? LEASE_RENEW_S : 1;
		pthread_mutex_lock(&a->lock);
		if (!a->stopping)
			pthread_cond_timedwait(&a->wake, &a->lock, &ts);
	}
	pthread_mutex_unlock(&a->lock);
	return NULL;
}
