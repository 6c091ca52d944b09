/*
 * pod-bench: pod start latency on a running mkd, beside bare `runc run`.
 *
 *   pod-bench --data-dir DIR --image REF --runtime PATH [--rounds N] [--burst N]
 *             [--deployment N]
 *
 * Pods: from the POST that creates a pod to the watch event that shows it
 * Running (the image is present: imagePullPolicy Never), one pod at a time
 * (N rounds), then a burst of B pods created at once (time until all run).
 * Then a Deployment of D replicas: from its POST until its status says
 * every replica is available (controllers, scheduler and node agent in
 * the path), beside the burst of bare pods measured just before.
 * Floor: `runc run -d` of the same container, on an overlay root over the
 * same unpacked layers, with the same command.  Prints p50/p99 of each and
 * the ratios.  Talks to the API with the node's admin credentials.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "../core/base/err.h"
#include "../core/cluster/pki.h"
#include "../core/image/image.h"
#include "../core/kube/client.h"

#define MAX_PODS 256

struct bench {
	struct kube_client *client;
	const char *data_dir, *image, *runtime, *tag;
	int rounds, burst, deployment;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	double running_at[MAX_PODS]; /* ms, 0 until seen Running */
	volatile int stop;
};

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double pct(double *v, int n, double p)
{
	qsort(v, (size_t)n, sizeof *v, cmp_double);
	return n ? v[(int)(p * (n - 1) + 0.5)] : 0;
}

static int on_event(void *arg, const char *line, size_t n)
{
	struct bench *b = arg;
	json_t *ev = json_loadb(line, n, 0, NULL);
	json_t *obj = json_object_get(ev, "object");
	const char *name = json_string_value(json_object_get(json_object_get(obj, "metadata"), "name"));
	const char *phase = json_string_value(json_object_get(json_object_get(obj, "status"), "phase"));
	int idx;

	if (name && phase && strcmp(phase, "Running") == 0 &&
	    sscanf(name, "bench-%*[a-z0-9]-%d", &idx) == 1 && idx >= 0 && idx < MAX_PODS) {
		pthread_mutex_lock(&b->lock);
		if (b->running_at[idx] == 0)
			b->running_at[idx] = now_ms();
		pthread_cond_broadcast(&b->cond);
		pthread_mutex_unlock(&b->lock);
	}
	json_decref(ev);
	return 0;
}

static void *watcher(void *arg)
{
	struct bench *b = arg;
	char path[512], err[256];

	snprintf(path, sizeof path,
		 "/api/v1/namespaces/default/pods?watch=1&labelSelector=bench%%3D%s", b->tag);
	while (!b->stop)
		kube_stream(b->client, path, on_event, b, &b->stop, NULL, err, sizeof err);
	return NULL;
}

static int create_pod(struct bench *b, int idx)
{
	char name[64], err[256];
	snprintf(name, sizeof name, "bench-%s-%d", b->tag, idx);
	json_t *pod = json_pack(
		"{s:s, s:s, s:{s:s, s:{s:s}}, s:{s:i, s:[{s:s, s:s, s:s, s:[s, s]}]}}", "apiVersion",
		"v1", "kind", "Pod", "metadata", "name", name, "labels", "bench", b->tag, "spec",
		"terminationGracePeriodSeconds", 0, "containers", "name", "main", "image", b->image,
		"imagePullPolicy", "Never", "command", "sleep", "3600");
	int rv = kube_create(b->client, "/api/v1/namespaces/default/pods", pod, NULL, err,
			     sizeof err);
	json_decref(pod);
	if (rv != MK_OK)
		fprintf(stderr, "pod-bench: create %s: %s\n", name, err);
	return rv;
}

static void delete_all(struct bench *b)
{
	char path[512], err[256];
	snprintf(path, sizeof path, "/api/v1/namespaces/default/pods?labelSelector=bench%%3D%s",
		 b->tag);
	kube_request(b->client, "DELETE", path, NULL, NULL, NULL, NULL, err, sizeof err);
}

/* Waits until pod idx runs; returns the time it was seen, or 0. */
static double wait_running(struct bench *b, int idx, double deadline_ms)
{
	double t = 0;
	pthread_mutex_lock(&b->lock);
	while ((t = b->running_at[idx]) == 0 && now_ms() < deadline_ms) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 50 * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&b->cond, &b->lock, &ts);
	}
	pthread_mutex_unlock(&b->lock);
	return t;
}

/* ---- the floor: bare runc ---------------------------------------------- */

/* What a floor run needs: the image's layers and the OCI config mk wrote
 * for a pod of the same spec, so that runc starts exactly the container mk
 * starts (mounts, capabilities, cgroup, rlimits), minus mk's own work. */
struct floor {
	struct image_store *store;
	struct image_info *img;
	json_t *config;
	char base[PATH_MAX];
	int n;
};

static int floor_open(struct bench *b, struct floor *f, const char *pod_uid)
{
	char err[512], path[PATH_MAX];

	memset(f, 0, sizeof *f);
	if (image_store_open(b->data_dir, &f->store, err, sizeof err) != MK_OK ||
	    image_resolve(f->store, b->image, &f->img, err, sizeof err) != MK_OK) {
		fprintf(stderr, "pod-bench: %s\n", err);
		return -1;
	}
	snprintf(path, sizeof path, "%s/pods/%s/containers/main/0/config.json", b->data_dir,
		 pod_uid);
	f->config = json_load_file(path, 0, NULL);
	if (f->config == NULL) {
		fprintf(stderr, "pod-bench: cannot read %s\n", path);
		return -1;
	}
	/* A fresh network namespace instead of the pod's, a cgroup of its own. */
	size_t i;
	json_t *ns;
	json_array_foreach(json_object_get(json_object_get(f->config, "linux"), "namespaces"), i, ns)
		json_object_del(ns, "path");
	snprintf(f->base, sizeof f->base, "/tmp/mk-pod-bench.%d", (int)getpid());
	mkdir(f->base, 0700);
	snprintf(path, sizeof path, "%s/runc", f->base);
	mkdir(path, 0700);
	return 0;
}

static void floor_close(struct floor *f)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof cmd, "rm -rf %s", f->base);
	if (f->base[0] && system(cmd) != 0)
		fprintf(stderr, "pod-bench: cannot remove %s\n", f->base);
	json_decref(f->config);
	image_info_free(f->img);
	image_store_close(f->store);
}

static int run_wait(char *const *argv)
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		int devnull = open("/dev/null", O_RDWR);
		dup2(devnull, 0);
		dup2(devnull, 1);
		dup2(devnull, 2);
		execv(argv[0], argv);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* One `runc run -d`; returns its time in ms, or -1. */
static double floor_sample(struct bench *b, struct floor *f)
{
	char dir[PATH_MAX + 32], rootfs[PATH_MAX + 64], up[PATH_MAX + 64], wk[PATH_MAX + 64];
	char id[64], cfg[PATH_MAX + 64], root[PATH_MAX + 16], opts[4096], cgroup[96];
	int i = f->n++;

	snprintf(root, sizeof root, "%s/runc", f->base);
	snprintf(dir, sizeof dir, "%s/%d", f->base, i);
	snprintf(rootfs, sizeof rootfs, "%s/rootfs", dir);
	snprintf(up, sizeof up, "%s/upper", dir);
	snprintf(wk, sizeof wk, "%s/work", dir);
	mkdir(dir, 0700);
	mkdir(rootfs, 0755);
	mkdir(up, 0755);
	mkdir(wk, 0700);
	size_t k = (size_t)snprintf(opts, sizeof opts, "lowerdir=");
	for (size_t l = 0; l < f->img->n_layers; l++)
		k += (size_t)snprintf(opts + k, sizeof opts - k, "%s%s", l ? ":" : "",
				      f->img->layer_dirs[l]);
	snprintf(opts + k, sizeof opts - k, ",upperdir=%s,workdir=%s", up, wk);
	if (mount("overlay", rootfs, "overlay", 0, opts) != 0) {
		fprintf(stderr, "pod-bench: overlay: %s\n", strerror(errno));
		return -1;
	}
	json_t *spec = json_deep_copy(f->config);
	json_object_set_new(json_object_get(spec, "root"), "path", json_string(rootfs));
	snprintf(cgroup, sizeof cgroup, "/mk-bench/%d-%d", (int)getpid(), i);
	json_object_set_new(json_object_get(spec, "linux"), "cgroupsPath", json_string(cgroup));
	snprintf(cfg, sizeof cfg, "%s/config.json", dir);
	json_dump_file(spec, cfg, 0);
	json_decref(spec);
	snprintf(id, sizeof id, "bench-%d-%d", (int)getpid(), i);
	char *run[] = { (char *)b->runtime, "--root", root, "run", "-d", "--bundle", dir, id, NULL };
	char *del[] = { (char *)b->runtime, "--root", root, "delete", "--force", id, NULL };
	double t0 = now_ms();
	int rc = run_wait(run);
	double t = now_ms() - t0;
	run_wait(del);
	umount2(rootfs, MNT_DETACH);
	if (rc != 0) {
		fprintf(stderr, "pod-bench: runc run failed (%d)\n", rc);
		return -1;
	}
	return t;
}

/* Creates a Deployment of n replicas and returns the ms until all are
 * available (its status), or -1. */
static double deployment_sample(struct bench *b, int n)
{
	char path[256], err[256];
	json_t *d = json_pack("{s:s, s:s, s:{s:s, s:{s:s}}, s:{s:i, s:{s:{s:s}}, s:{s:{s:{s:s}}, "
			      "s:{s:i, s:[{s:s, s:s, s:s, s:[s, s]}]}}}}",
			      "apiVersion", "apps/v1", "kind", "Deployment", "metadata", "name",
			      "bench", "labels", "bench", b->tag, "spec", "replicas", n, "selector",
			      "matchLabels", "app", "bench-deploy", "template", "metadata", "labels",
			      "app", "bench-deploy", "spec", "terminationGracePeriodSeconds", 0,
			      "containers", "name", "main", "image", b->image, "imagePullPolicy",
			      "Never", "command", "sleep", "3600");
	double t0 = now_ms(), t = -1;
	int rv = kube_create(b->client, "/apis/apps/v1/namespaces/default/deployments", d, NULL,
			     err, sizeof err);
	json_decref(d);
	if (rv != MK_OK) {
		fprintf(stderr, "pod-bench: cannot create the Deployment: %s\n", err);
		return -1;
	}
	snprintf(path, sizeof path, "/apis/apps/v1/namespaces/default/deployments/bench");
	while (now_ms() < t0 + 120000) {
		json_t *got = NULL;
		if (kube_get(b->client, path, &got, err, sizeof err) == MK_OK &&
		    json_integer_value(json_object_get(json_object_get(got, "status"),
						       "availableReplicas")) == n) {
			t = now_ms() - t0;
			json_decref(got);
			break;
		}
		json_decref(got);
		usleep(20 * 1000);
	}
	kube_request(b->client, "DELETE", path, NULL, NULL, NULL, NULL, err, sizeof err);
	return t;
}

static int pod_uid(struct bench *b, int idx, char *out, size_t len)
{
	char path[256], err[256];
	json_t *pod = NULL;

	snprintf(path, sizeof path, "/api/v1/namespaces/default/pods/bench-%s-%d", b->tag, idx);
	if (kube_get(b->client, path, &pod, err, sizeof err) != MK_OK)
		return -1;
	const char *uid = json_string_value(
		json_object_get(json_object_get(pod, "metadata"), "uid"));
	snprintf(out, len, "%s", uid ? uid : "");
	json_decref(pod);
	return uid ? 0 : -1;
}

int main(int argc, char **argv)
{
	struct bench b = { .rounds = 20, .burst = 20, .deployment = 20,
			   .runtime = "/usr/sbin/runc" };
	char server[256] = "", ca[PATH_MAX], cert[PATH_MAX], key[PATH_MAX], err[512], tag[16];

	for (int i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--data-dir") == 0)
			b.data_dir = argv[i + 1];
		else if (strcmp(argv[i], "--image") == 0)
			b.image = argv[i + 1];
		else if (strcmp(argv[i], "--runtime") == 0)
			b.runtime = argv[i + 1];
		else if (strcmp(argv[i], "--server") == 0)
			snprintf(server, sizeof server, "%s", argv[i + 1]);
		else if (strcmp(argv[i], "--rounds") == 0)
			b.rounds = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--burst") == 0)
			b.burst = atoi(argv[i + 1]);
		else if (strcmp(argv[i], "--deployment") == 0)
			b.deployment = atoi(argv[i + 1]);
	}
	if (!b.data_dir || !b.image || !server[0] || b.rounds < 1 || b.burst < 1 ||
	    b.rounds > MAX_PODS || b.burst > MAX_PODS || b.deployment < 1) {
		fprintf(stderr, "usage: pod-bench --server URL --data-dir DIR --image REF "
				"[--runtime PATH] [--rounds N] [--burst N] [--deployment N]\n");
		return 2;
	}
	snprintf(tag, sizeof tag, "%x", (unsigned)getpid());
	b.tag = tag;
	pki_path(ca, sizeof ca, b.data_dir, PKI_CA_CERT);
	pki_path(cert, sizeof cert, b.data_dir, PKI_ADMIN_CERT);
	pki_path(key, sizeof key, b.data_dir, PKI_ADMIN_KEY);
	struct kube_client_config kc = { .server = server, .ca_file = ca, .cert_file = cert,
					 .key_file = key, .user_agent = "pod-bench" };
	if (kube_client_new(&kc, &b.client, err, sizeof err) != MK_OK) {
		fprintf(stderr, "pod-bench: %s\n", err);
		return 1;
	}
	pthread_mutex_init(&b.lock, NULL);
	pthread_cond_init(&b.cond, NULL);

	double floor_ms[MAX_PODS], one[MAX_PODS], burst[MAX_PODS], created[MAX_PODS];
	pthread_t w;
	pthread_create(&w, NULL, watcher, &b);
	usleep(300 * 1000); /* the watch is open before the first create */
	/* Pod 0 warms up and gives the floor its config. */
	double t0 = now_ms();
	char uid[64];
	struct floor fl;
	if (create_pod(&b, 0) != MK_OK || wait_running(&b, 0, t0 + 30000) == 0 ||
	    pod_uid(&b, 0, uid, sizeof uid) != 0 || floor_open(&b, &fl, uid) != 0) {
		fprintf(stderr, "pod-bench: the first pod did not run\n");
		b.stop = 1;
		delete_all(&b);
		return 1;
	}
	/* Rounds alternate a bare runc start and a pod, so that whatever the
	 * machine does meanwhile weighs on both alike. */
	int n_one = 0, n_floor = 0;
	for (int i = 1; i <= b.rounds; i++) {
		double f = floor_sample(&b, &fl);
		if (f < 0)
			break;
		floor_ms[n_floor++] = f;
		t0 = now_ms();
		if (create_pod(&b, i) != MK_OK)
			break;
		double t = wait_running(&b, i, t0 + 30000);
		if (t == 0) {
			fprintf(stderr, "pod-bench: pod %d not Running within 30 s\n", i);
			break;
		}
		one[n_one++] = t - t0;
	}
	floor_close(&fl);
	int base = b.rounds + 1, n_burst = 0;
	double b0 = now_ms(), last = 0;
	for (int i = 0; i < b.burst && base + i < MAX_PODS; i++) {
		created[i] = now_ms();
		create_pod(&b, base + i);
	}
	for (int i = 0; i < b.burst && base + i < MAX_PODS; i++) {
		double t = wait_running(&b, base + i, b0 + 60000);
		if (t == 0)
			continue;
		burst[n_burst++] = t - created[i];
		if (t > last)
			last = t;
	}
	double all = last - b0;
	delete_all(&b);
	/* The burst's pods are gone before the Deployment's start. */
	for (int i = 0; i < 600; i++) {
		char path[256], e2[256];
		json_t *list = NULL;
		snprintf(path, sizeof path, "/api/v1/namespaces/default/pods?labelSelector=bench%%3D%s",
			 b.tag);
		bool empty = kube_get(b.client, path, &list, e2, sizeof e2) == MK_OK &&
			     json_array_size(json_object_get(list, "items")) == 0;
		json_decref(list);
		if (empty)
			break;
		usleep(50 * 1000);
	}
	double deploy = deployment_sample(&b, b.deployment);
	b.stop = 1;
	pthread_join(w, NULL);

	double f50 = pct(floor_ms, n_floor, 0.5), f99 = pct(floor_ms, n_floor, 0.99);
	double o50 = pct(one, n_one, 0.5), o99 = pct(one, n_one, 0.99);
	double u50 = pct(burst, n_burst, 0.5), u99 = pct(burst, n_burst, 0.99);
	printf("pod start, image present (%d rounds; burst of %d)\n", b.rounds, b.burst);
	printf("  bare runc run -d        p50 %7.1f ms  p99 %7.1f ms  (mk's config.json for the "
	       "same pod)\n", f50, f99);
	printf("  mk, one at a time       p50 %7.1f ms  p99 %7.1f ms  (%d/%d Running)  "
	       "p50 ratio %.2fx runc (target <= 3x)\n",
	       o50, o99, n_one, b.rounds, f50 > 0 ? o50 / f50 : 0);
	printf("  mk, burst of %-3d        p50 %7.1f ms  p99 %7.1f ms  (%d/%d Running)  "
	       "all Running after %.0f ms (target <= 2000 ms)\n",
	       b.burst, u50, u99, n_burst, b.burst, all);
	if (deploy > 0)
		printf("  mk, Deployment of %-3d   all available after %.0f ms  (burst of bare pods "
		       "%.0f ms: ratio %.2fx)\n", b.deployment, deploy, all,
		       all > 0 ? deploy / all : 0);
	else
		printf("  mk, Deployment of %-3d   not available within 120 s\n", b.deployment);
	kube_client_free(b.client);
	return n_one == b.rounds && n_burst == b.burst ? 0 : 1;
}
