/*
 * sched-bench: pods bound per second on a running mkd.
 *
 *   sched-bench --server URL --data-dir DIR --mode scheduler|binder
 *               [--nodes N] [--pods N] [--threads N] [--binders N]
 *
 * Creates N fake Ready nodes (allocatable for 110 pods each; a thread
 * renews their heartbeats as kubelets do, so the node lifecycle controller
 * leaves them alone), then creates the pods from several threads at once
 * (a small spec with requests) and times, through a watch, from the first
 * create to the last pod seen with spec.nodeName.
 *
 *   scheduler  mkd's scheduler places them (filters, scores, Events);
 *   binder     mkd runs with --no-scheduler and this tool binds every pod
 *              it sees unbound on the watch, round-robin over the nodes,
 *              with no filtering, from --binders threads (the scheduler's
 *              default count): the API's own ceiling for the same bindings.
 *
 * Prints one line "MODE: N pods in S s, R pods/s" on stdout; exit 1 if
 * not every pod was bound within 300 s.  Talks to the API with the node's
 * admin credentials.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "../core/base/err.h"
#include "../core/cluster/pki.h"
#include "../core/kube/client.h"

#define DEADLINE_MS 300000
#define HEARTBEAT_S 10

struct bench {
	struct kube_client *client;
	bool self_bind;
	int nodes, pods, threads, binders;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	char *bound;     /* per pod: seen with a node */
	int n_bound;
	double first_create, last_bound;
	int *todo;       /* binder mode: pods seen unbound, not yet bound */
	int todo_head, todo_tail;
	int next_node, next_pod;
	volatile int stop;
	int errors;
};

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void rfc3339(char *out, size_t len)
{
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int node_status(struct bench *b, int i, char *err, size_t len)
{
	char path[128], now[32];

	rfc3339(now, sizeof now);
	snprintf(path, sizeof path, "/api/v1/nodes/bench-node-%03d/status", i);
	json_t *alloc = json_pack("{s:s, s:s, s:s, s:s}", "cpu", "32", "memory", "128Gi", "pods",
				  "110", "ephemeral-storage", "100Gi");
	json_t *patch = json_pack("{s:{s:O, s:o, s:[{s:s, s:s, s:s, s:s, s:s, s:s}]}}", "status",
				  "capacity", alloc, "allocatable", alloc, "conditions", "type",
				  "Ready", "status", "True", "reason", "KubeletReady", "message",
				  "sched-bench", "lastHeartbeatTime", now, "lastTransitionTime", now);
	int rv = kube_merge_patch(b->client, path, patch, NULL, err, len);
	json_decref(patch);
	return rv;
}

static int make_nodes(struct bench *b)
{
	char err[512], name[64];

	for (int i = 0; i < b->nodes; i++) {
		snprintf(name, sizeof name, "bench-node-%03d", i);
		json_t *n = json_pack("{s:s, s:s, s:{s:s, s:{s:s, s:s}}}", "apiVersion", "v1", "kind",
				      "Node", "metadata", "name", name, "labels",
				      "kubernetes.io/hostname", name, "topology.kubernetes.io/zone",
				      i % 2 ? "zone-b" : "zone-a");
		int rv = kube_create(b->client, "/api/v1/nodes", n, NULL, err, sizeof err);
		json_decref(n);
		if ((rv != MK_OK && rv != MK_ECONFLICT) || node_status(b, i, err, sizeof err)) {
			fprintf(stderr, "sched-bench: node %s: %s\n", name, err);
			return -1;
		}
	}
	return 0;
}

static void *heartbeat_main(void *arg)
{
	struct bench *b = arg;
	char err[512];

	while (!b->stop) {
		for (int s = 0; s < HEARTBEAT_S * 10 && !b->stop; s++)
			usleep(100 * 1000);
		for (int i = 0; i < b->nodes && !b->stop; i++)
			node_status(b, i, err, sizeof err);
	}
	return NULL;
}

static int on_event(void *arg, const char *line, size_t n)
{
	struct bench *b = arg;
	json_t *ev = json_loadb(line, n, 0, NULL);
	json_t *obj = json_object_get(ev, "object");
	const char *type = json_string_value(json_object_get(ev, "type"));
	const char *name = json_string_value(json_object_get(json_object_get(obj, "metadata"), "name"));
	const char *node = json_string_value(json_object_get(json_object_get(obj, "spec"), "nodeName"));
	int idx;

	if (type && name && sscanf(name, "sb-%d", &idx) == 1 && idx >= 0 && idx < b->pods) {
		pthread_mutex_lock(&b->lock);
		if (node != NULL && node[0] && !b->bound[idx]) {
			b->bound[idx] = 1;
			b->n_bound++;
			b->last_bound = now_ms();
			pthread_cond_broadcast(&b->cond);
		} else if (b->self_bind && strcmp(type, "ADDED") == 0 && (node == NULL || !node[0])) {
			b->todo[b->todo_tail++] = idx;
			pthread_cond_broadcast(&b->cond);
		}
		pthread_mutex_unlock(&b->lock);
	}
	json_decref(ev);
	return b->stop;
}

struct watch_arg {
	struct bench *b;
	char rv[64];
};

static void *watch_main(void *arg)
{
	struct watch_arg *w = arg;
	char path[256], err[512];
	long status;

	while (!w->b->stop) {
		snprintf(path, sizeof path, "/api/v1/namespaces/default/pods?watch=1&resourceVersion=%s",
			 w->rv);
		kube_stream(w->b->client, path, on_event, w->b, &w->b->stop, &status, err, sizeof err);
		if (!w->b->stop)
			fprintf(stderr, "sched-bench: the watch ended (%s); pods seen since are missed\n",
				err);
		break;
	}
	return NULL;
}

static json_t *pod_spec(int i)
{
	char name[32];

	snprintf(name, sizeof name, "sb-%d", i);
	return json_pack("{s:s, s:s, s:{s:s, s:{s:s}}, s:{s:i, s:[{s:s, s:s, s:{s:{s:s, s:s}}}]}}",
			 "apiVersion", "v1", "kind", "Pod", "metadata", "name", name, "labels",
			 "app", "sched-bench", "spec", "terminationGracePeriodSeconds", 0,
			 "containers", "name", "main", "image", "busybox", "resources", "requests",
			 "cpu", "10m", "memory", "16Mi");
}

static void *create_main(void *arg)
{
	struct bench *b = arg;
	char err[512];

	for (;;) {
		pthread_mutex_lock(&b->lock);
		int i = b->next_pod++;
		if (i == 0)
			b->first_create = now_ms();
		pthread_mutex_unlock(&b->lock);
		if (i >= b->pods)
			return NULL;
		json_t *p = pod_spec(i);
		if (kube_create(b->client, "/api/v1/namespaces/default/pods", p, NULL, err,
				sizeof err) != MK_OK) {
			pthread_mutex_lock(&b->lock);
			if (b->errors++ < 5)
				fprintf(stderr, "sched-bench: create sb-%d: %s\n", i, err);
			pthread_mutex_unlock(&b->lock);
		}
		json_decref(p);
	}
}

/* The trivial binder: any pod seen unbound goes to the next node. */
static void *bind_main(void *arg)
{
	struct bench *b = arg;
	char path[128], node[64], name[32], err[512];

	for (;;) {
		pthread_mutex_lock(&b->lock);
		while (b->todo_head == b->todo_tail && !b->stop)
			pthread_cond_wait(&b->cond, &b->lock);
		if (b->stop) {
			pthread_mutex_unlock(&b->lock);
			return NULL;
		}
		int i = b->todo[b->todo_head++];
		int n = b->next_node++ % b->nodes;
		pthread_mutex_unlock(&b->lock);
		snprintf(name, sizeof name, "sb-%d", i);
		snprintf(node, sizeof node, "bench-node-%03d", n);
		snprintf(path, sizeof path, "/api/v1/namespaces/default/pods/%s/binding", name);
		json_t *bd = json_pack("{s:s, s:s, s:{s:s}, s:{s:s, s:s, s:s}}", "apiVersion", "v1",
				       "kind", "Binding", "metadata", "name", name, "target",
				       "apiVersion", "v1", "kind", "Node", "name", node);
		if (kube_create(b->client, path, bd, NULL, err, sizeof err) != MK_OK) {
			pthread_mutex_lock(&b->lock);
			if (b->errors++ < 5)
				fprintf(stderr, "sched-bench: bind %s: %s\n", name, err);
			pthread_mutex_unlock(&b->lock);
		}
		json_decref(bd);
	}
}

static void usage(void)
{
	fprintf(stderr, "usage: sched-bench --server URL --data-dir DIR --mode scheduler|binder "
			"[--nodes 100] [--pods 3000] [--threads 8] [--binders 4]\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"server", required_argument, NULL, 's'}, {"data-dir", required_argument, NULL, 'd'},
		{"mode", required_argument, NULL, 'm'},	  {"nodes", required_argument, NULL, 'n'},
		{"pods", required_argument, NULL, 'p'},	  {"threads", required_argument, NULL, 't'},
		{"binders", required_argument, NULL, 'b'}, {NULL, 0, NULL, 0},
	};
	struct bench b = {.nodes = 100, .pods = 3000, .threads = 8, .binders = 4};
	const char *server = NULL, *data = NULL, *mode = NULL;
	char ca[4096], cert[4096], key[4096], err[512];
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's': server = optarg; break;
		case 'd': data = optarg; break;
		case 'm': mode = optarg; break;
		case 'n': b.nodes = atoi(optarg); break;
		case 'p': b.pods = atoi(optarg); break;
		case 't': b.threads = atoi(optarg); break;
		case 'b': b.binders = atoi(optarg); break;
		default: usage(); return 2;
		}
	}
	if (!server || !data || !mode || (strcmp(mode, "scheduler") && strcmp(mode, "binder")) ||
	    b.nodes < 1 || b.pods < 1 || b.threads < 1 || b.binders < 1) {
		usage();
		return 2;
	}
	b.self_bind = strcmp(mode, "binder") == 0;
	pki_path(ca, sizeof ca, data, PKI_CA_CERT);
	pki_path(cert, sizeof cert, data, PKI_ADMIN_CERT);
	pki_path(key, sizeof key, data, PKI_ADMIN_KEY);
	struct kube_client_config kc = {.server = server, .ca_file = ca, .cert_file = cert,
					.key_file = key, .user_agent = "sched-bench"};
	if (kube_client_new(&kc, &b.client, err, sizeof err) != MK_OK) {
		fprintf(stderr, "sched-bench: %s\n", err);
		return 1;
	}
	pthread_mutex_init(&b.lock, NULL);
	pthread_cond_init(&b.cond, NULL);
	b.bound = calloc((size_t)b.pods, 1);
	b.todo = calloc((size_t)b.pods * 2, sizeof *b.todo);
	if (b.bound == NULL || b.todo == NULL || make_nodes(&b) != 0)
		return 1;

	pthread_t hb, watch, *creators = calloc((size_t)b.threads, sizeof *creators);
	pthread_t *binders = calloc((size_t)b.binders, sizeof *binders);
	struct watch_arg wa = {.b = &b};
	json_t *list = NULL;
	if (kube_get(b.client, "/api/v1/namespaces/default/pods?limit=1", &list, err, sizeof err)) {
		fprintf(stderr, "sched-bench: list: %s\n", err);
		return 1;
	}
	snprintf(wa.rv, sizeof wa.rv, "%s",
		 json_string_value(json_object_get(json_object_get(list, "metadata"),
						   "resourceVersion")) ?: "0");
	json_decref(list);
	pthread_create(&hb, NULL, heartbeat_main, &b);
	pthread_create(&watch, NULL, watch_main, &wa);
	for (int i = 0; b.self_bind && i < b.binders; i++)
		pthread_create(&binders[i], NULL, bind_main, &b);
	for (int i = 0; i < b.threads; i++)
		pthread_create(&creators[i], NULL, create_main, &b);
	for (int i = 0; i < b.threads; i++)
		pthread_join(creators[i], NULL);

	double deadline = now_ms() + DEADLINE_MS;
	pthread_mutex_lock(&b.lock);
	while (b.n_bound < b.pods && now_ms() < deadline) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		pthread_cond_timedwait(&b.cond, &b.lock, &ts);
	}
	int bound = b.n_bound;
	double secs = (b.last_bound - b.first_create) / 1e3;
	b.stop = 1;
	pthread_cond_broadcast(&b.cond);
	pthread_mutex_unlock(&b.lock);
	for (int i = 0; b.self_bind && i < b.binders; i++)
		pthread_join(binders[i], NULL);
	pthread_join(hb, NULL);
	pthread_join(watch, NULL);
	if (bound < b.pods) {
		fprintf(stderr, "sched-bench: %s: only %d of %d pods bound within %d s\n", mode, bound,
			b.pods, DEADLINE_MS / 1000);
		return 1;
	}
	printf("%s: %d pods in %.2f s, %.0f pods/s\n", mode, bound, secs, bound / secs);
	kube_client_free(b.client);
	free(b.bound);
	free(b.todo);
	free(creators);
	free(binders);
	return 0;
}
