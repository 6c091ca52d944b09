/*
 * mkd: the mk node daemon.
 *
 * This file wires the node together: flags, the data directory, the
 * embedded dqlite node, the object store, and orderly shutdown.  The libuv
 * loop owns signals and timers; blocking work (opening the store, joining,
 * refreshing the member list) runs on libuv's worker threads.
 */
#include <dqlite.h>
#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "../base/datadir.h"
#include "../base/err.h"
#include "../base/log.h"
#include "../cluster/dqlite_proxy.h"
#include "../cluster/identity.h"
#include "../cluster/join.h"
#include "../store/dq_node.h"
#include "../store/store.h"

#include "../base/version.h"
#include "../base/pidfile.h"
#include "../api/api.h"
#include "../cluster/members_json.h"
#include "../cluster/pki.h"
#include "../controllers/controllers.h"
#include "../kube/client.h"
#include "../scheduler/scheduler.h"
#include "admin_client.h"
#include "agent_run.h"
#include "options.h"
/* Worker threads for API calls: each blocks on one store round trip, and
 * libuv's default of 4 would queue the 5th client behind the others. */
#define API_THREADS "32"
#define MAX_MEMBERS 16
/* How often cluster.yaml is refreshed from the live configuration. */
#define MEMBERS_REFRESH_MS 5000
/* Retry cadence while the store (a leader) cannot be reached. */
#define STORE_RETRY_MS 2000



struct daemon {
	struct options opt;
	char dqlite_dir[4096];
	struct node_identity self;
	struct dq_node *node;
	struct dqlite_proxy *proxy;
	struct api_server *api;
	bool api_has_store;
	struct mkd_agent *agent;
	struct controllers *controllers;
	struct kube_client *controllers_client;
	struct scheduler *scheduler;
	struct kube_client *scheduler_client;
	char node_name[256];
	char api_cert[4200], api_key[4200], api_ca[4200], api_tokens[4200], hostname[256];
	int pid_fd;

	uv_loop_t loop;
	uv_signal_t sigterm, sigint;
	uv_timer_t tick;
	bool stopping;

	/* Background job state; written by a worker, read on the loop after
	 * its after_work callback. */
	/* A node starting for the first time writes its identity only once
	 * its dqlite node is up, so a failed start leaves nothing behind. */
	bool fresh;
	struct dq_server seeds[MAX_MEMBERS];
	size_t n_seeds;

	/* The membership last written to cluster.yaml (job thread only). */
	struct dq_server saved[MAX_MEMBERS];
	size_t n_saved;

	uv_work_t job;
	bool job_running;
	bool joined;
	struct store *store;
	char members[MAX_MEMBERS][64];
	size_t n_members;
};

/* Adds `address` to the member list unless present. */
static void add_member(struct daemon *d, const char *address)
{
	for (size_t i = 0; i < d->n_members; i++)
		if (strcmp(d->members[i], address) == 0)
			return;
	if (d->n_members < MAX_MEMBERS)
		snprintf(d->members[d->n_members++], sizeof d->members[0], "%s", address);
}

static bool join_pending(const struct daemon *d)
{
	char path[4200];
	snprintf(path, sizeof path, "%s/join", d->dqlite_dir);
	return access(path, F_OK) == 0;
}

/* Decides who this node is: its saved identity, or a new one. */
static int load_identity(struct daemon *d)
{
	char errmsg[512], address[64];
	snprintf(address, sizeof address, "%s:%d", d->opt.ip, d->opt.port);
	int rv = identity_load(d->dqlite_dir, &d->self, errmsg, sizeof errmsg);
	if (rv == MK_OK) {
		if (strcmp(d->self.address, address) != 0) {
			mk_error("mkd", "%s belongs to the node at %s, not %s", d->opt.data_dir,
				 d->self.address, address);
			return -1;
		}
		if (d->opt.join && !join_pending(d))
			mk_warn("mkd", "already a cluster member: --join ignored");
		return 0;
	}
	if (rv != MK_ENOTFOUND) {
		mk_error("mkd", "%s", errmsg);
		return -1;
	}
	snprintf(d->self.address, sizeof d->self.address, "%s", address);
	d->self.role = DQ_VOTER;
	d->self.id = DQ_BOOTSTRAP_ID;
	if (d->opt.join) {
		/* A joiner starts with no configuration and waits to be
		 * ADDed; it must not bootstrap a cluster of its own. */
		d->self.id = dqlite_generate_node_id(address);
		d->self.role = DQ_SPARE;
		size_t n = 0;
		char *copy = strdup(d->opt.join), *save = NULL;
		for (char *tok = strtok_r(copy, ",", &save); tok && n < MAX_MEMBERS;
		     tok = strtok_r(NULL, ",", &save)) {
			if (strchr(tok, ':') == NULL || strlen(tok) >= sizeof d->seeds[0].address) {
				mk_error("mkd", "--join wants IP:PORT members, got \"%s\"", tok);
				free(copy);
				return -1;
			}
			d->seeds[n] = (struct dq_server){.id = 0, .role = DQ_VOTER};
			strcpy(d->seeds[n++].address, tok);
		}
		free(copy);
		d->n_seeds = n;
	}
	d->fresh = true;
	return 0;
}

/* First start: records who this node is, and for a joiner the seeds and
 * the pending-join flag. */
static int persist_identity(struct daemon *d)
{
	if (d->n_seeds > 0) {
		char path[4200];
		snprintf(path, sizeof path, "%s/join", d->dqlite_dir);
		FILE *f = fopen(path, "w");
		if (f == NULL || fclose(f) != 0 ||
		    cluster_save(d->dqlite_dir, d->seeds, d->n_seeds) != MK_OK) {
			mk_error("mkd", "cannot write %s: %s", d->dqlite_dir, strerror(errno));
			return -1;
		}
	}
	if (identity_save(d->dqlite_dir, &d->self) != MK_OK) {
		mk_error("mkd", "cannot write %s/info.yaml: %s", d->dqlite_dir, strerror(errno));
		return -1;
	}
	return 0;
}

static void load_members(struct daemon *d)
{
	struct dq_server *servers;
	size_t n;
	char errmsg[512];
	d->n_members = 0;
	add_member(d, d->self.address);
	if (d->fresh) {
		for (size_t i = 0; i < d->n_seeds; i++)
			add_member(d, d->seeds[i].address);
		return;
	}
	if (cluster_load(d->dqlite_dir, &servers, &n, errmsg, sizeof errmsg) != MK_OK) {
		mk_warn("mkd", "%s: ignoring it", errmsg);
		return;
	}
	for (size_t i = 0; i < n; i++)
		add_member(d, servers[i].address);
	free(servers);
}

/* ---- background job, one at a time: join, open the store, refresh ---- */

static void job_work(uv_work_t *req)
{
	struct daemon *d = req->data;
	char errmsg[512];
	if (join_pending(d)) {
		const char *seeds[MAX_MEMBERS];
		for (size_t i = 0; i < d->n_members; i++)
			seeds[i] = d->members[i];
		int rv = join_add_self(seeds, d->n_members, d->self.id, d->self.address, 5000,
				       errmsg, sizeof errmsg);
		if (rv != MK_OK) {
			mk_warn("mkd", "joining: %s", errmsg);
			return;
		}
		char path[4200];
		snprintf(path, sizeof path, "%s/join", d->dqlite_dir);
		unlink(path);
		mk_info("mkd", "joined the cluster as node %" PRIx64, d->self.id);
	}
	if (d->store == NULL) {
		const char *members[MAX_MEMBERS];
		for (size_t i = 0; i < d->n_members; i++)
			members[i] = d->members[i];
		struct store_config cfg = {
			.members = members,
			.n_members = d->n_members,
			.local_address = d->self.address,
			.poll_interval_ms = d->opt.poll_interval_ms,
			.compact_interval_ms = d->opt.compact_interval_ms,
			.op_timeout_ms = 5000,
		};
		if (store_open(&cfg, &d->store) != MK_OK) {
			mk_warn("mkd", "store not available yet: %s", store_last_error());
			d->store = NULL;
			return;
		}
		int64_t rev = 0;
		store_revision(d->store, &rev, NULL);
		mk_info("mkd", "ready: store at revision %lld", (long long)rev);
	}
	/* Keep cluster.yaml current: it seeds leader discovery on restart. */
	struct dq_client_config cc = {.members = (const char *const[]){d->self.address},
				      .n_members = 1, .direct = true};
	struct dq_client *c;
	if (dq_client_open(&cc, &c) != MK_OK)
		return;
	struct dq_server *servers;
	size_t n;
	if (dq_cluster(c, &servers, &n) == MK_OK) {
		/* Rewritten (and fsynced) only when membership changed. */
		bool same = n == d->n_saved;
		for (size_t i = 0; same && i < n; i++)
			same = servers[i].id == d->saved[i].id &&
			       servers[i].role == d->saved[i].role &&
			       strcmp(servers[i].address, d->saved[i].address) == 0;
		if (n > 0 && n <= MAX_MEMBERS && !same &&
		    cluster_save(d->dqlite_dir, servers, n) == MK_OK) {
			memcpy(d->saved, servers, n * sizeof *servers);
			d->n_saved = n;
		}
		free(servers);
	}
	dq_client_close(c);
}

static void begin_shutdown(struct daemon *d);

/* Where mkd's own clients dial the API. */
static const char *api_host(const struct daemon *d)
{
	return strcmp(d->opt.api_bind, "0.0.0.0") == 0 ? "127.0.0.1" : d->opt.api_bind;
}

/* The controllers, once the API has its store.  Their informers retry
 * until the API answers, so starting them never blocks the loop. */
static void launch_controllers(struct daemon *d)
{
	char errmsg[512];
	if (d->opt.no_controllers || d->controllers != NULL)
		return;
	if (mkd_admin_client(d->opt.data_dir, api_host(d), d->opt.api_port,
			     "mk-controllers/" MK_VERSION, &d->controllers_client, errmsg,
			     sizeof errmsg) != MK_OK) {
		mk_error("mkd", "the controllers cannot run: %s", errmsg);
		return;
	}
	struct controllers_config cc = {.client = d->controllers_client,
					.node_monitor_grace_s = d->opt.node_monitor_grace_s};
	if (controllers_start(&cc, &d->controllers, errmsg, sizeof errmsg) != MK_OK) {
		mk_error("mkd", "the controllers cannot run: %s", errmsg);
		kube_client_free(d->controllers_client);
		d->controllers_client = NULL;
	}
}

/* The scheduler, once the API has its store; like the controllers, its
 * informers retry until the API answers. */
static void launch_scheduler(struct daemon *d)
{
	char errmsg[512];
	if (d->opt.no_scheduler || d->scheduler != NULL)
		return;
	if (mkd_admin_client(d->opt.data_dir, api_host(d), d->opt.api_port,
			     "mk-scheduler/" MK_VERSION, &d->scheduler_client, errmsg,
			     sizeof errmsg) != MK_OK) {
		mk_error("mkd", "the scheduler cannot run: %s", errmsg);
		return;
	}
	struct scheduler_config sc = {.client = d->scheduler_client};
	if (scheduler_start(&sc, &d->scheduler, errmsg, sizeof errmsg) != MK_OK) {
		mk_error("mkd", "the scheduler cannot run: %s", errmsg);
		kube_client_free(d->scheduler_client);
		d->scheduler_client = NULL;
	}
}

/* The node agent (and the controllers and the scheduler), once the API
 * has its store.  A node whose agent cannot start (no runtime, say) still
 * serves the API: it says why and runs no pods. */
static void launch_agent(struct daemon *d)
{
	char errmsg[512];
	launch_controllers(d);
	launch_scheduler(d);
	if (d->opt.no_node_agent || d->agent != NULL)
		return;
	struct mkd_agent_config ac = {
		.data_dir = d->opt.data_dir, .node_name = d->node_name, .node_ip = d->opt.ip,
		.api_host = api_host(d),
		.api_port = d->opt.api_port, .runtime = d->opt.runtime,
		.cni_plugin_dir = d->opt.cni_plugin_dir, .cni_bridge = d->opt.cni_bridge,
		.pod_cidr = d->opt.pod_cidr,
	};
	if (mkd_agent_launch(&ac, &d->agent, errmsg, sizeof errmsg) != MK_OK) {
		mk_error("mkd", "the node agent cannot run: %s", errmsg);
		return;
	}
	struct api_exec_hook hook = {.prepare = mkd_agent_exec_prepare, .ctx = d->agent};
	api_server_set_exec_hook(d->api, &hook);
}

static void job_done(uv_work_t *req, int status)
{
	struct daemon *d = req->data;
	d->job_running = false;
	if (d->store != NULL && d->api != NULL && !d->api_has_store && !d->stopping) {
		api_server_set_store(d->api, d->store);
		d->api_has_store = true;
		launch_agent(d);
	}
	if (d->stopping)
		begin_shutdown(d);
}

static void on_tick(uv_timer_t *t)
{
	struct daemon *d = t->data;
	/* Large LISTs and snapshots leave freed memory in glibc's arenas;
	 * hand it back so an idle node stays small. */
	malloc_trim(0);
	if (d->job_running || d->stopping)
		return;
	d->job_running = true;
	d->job.data = d;
	uv_queue_work(&d->loop, &d->job, job_work, job_done);
	/* Until the store is up, retry sooner than the refresh period. */
	uv_timer_set_repeat(&d->tick, d->store ? MEMBERS_REFRESH_MS : STORE_RETRY_MS);
}

static void close_handle(uv_handle_t *h, void *arg)
{
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

/* The store finishes its queued writes (through the proxy, so the loop
 * must keep running), then the proxy and every handle close and the loop
 * ends; main() stops the node last. */
static void shutdown_work(uv_work_t *req)
{
	struct daemon *d = req->data;
	store_close(d->store);
	d->store = NULL;
}

static void shutdown_done(uv_work_t *req, int status)
{
	struct daemon *d = req->data;
	dqlite_proxy_stop(d->proxy);
	d->proxy = NULL;
	uv_walk(&d->loop, close_handle, NULL);
}

static void close_store(void *arg)
{
	struct daemon *d = arg;
	d->api = NULL;
	d->job.data = d;
	uv_queue_work(&d->loop, &d->job, shutdown_work, shutdown_done);
}

static void agent_halt_work(uv_work_t *req)
{
	struct daemon *d = req->data;
	mkd_agent_halt(d->agent);
	d->agent = NULL;
	controllers_stop(d->controllers);
	d->controllers = NULL;
	kube_client_free(d->controllers_client);
	d->controllers_client = NULL;
	scheduler_stop(d->scheduler);
	d->scheduler = NULL;
	kube_client_free(d->scheduler_client);
	d->scheduler_client = NULL;
}

static void agent_halt_done(uv_work_t *req, int status)
{
	begin_shutdown(req->data);
}

/* The node agent, the controllers and the scheduler first (they talk to
 * the API, so the loop keeps serving while they stop; containers keep
 * running), then the API (its calls and watches use the store), then the
 * store. */
static void begin_shutdown(struct daemon *d)
{
	if (d->agent != NULL || d->controllers != NULL || d->scheduler != NULL) {
		if (d->api != NULL && d->agent != NULL)
			api_server_set_exec_hook(d->api, NULL);
		d->job.data = d;
		uv_queue_work(&d->loop, &d->job, agent_halt_work, agent_halt_done);
		return;
	}
	if (d->api != NULL)
		api_server_stop(d->api, close_store, d);
	else
		close_store(d);
}

/* ---- the API server and its certificates ---- */

static int ensure_pki(struct daemon *d, char *errmsg, size_t len)
{
	char **local = NULL;
	size_t n_local = 0;
	pki_local_addresses(&local, &n_local);
	const char *addresses[65];
	size_t n = 0;
	addresses[n++] = d->opt.ip;
	for (size_t i = 0; i < n_local && n < 65; i++)
		addresses[n++] = local[i];
	struct pki_config pc = {.data_dir = d->opt.data_dir, .addresses = addresses,
				.n_addresses = n, .api_port = d->opt.api_port};
	int rv = pki_ensure(&pc, errmsg, len);
	pki_free_addresses(local, n_local);
	return rv;
}

static char *members_json(void *arg)
{
	struct daemon *d = arg;
	return cluster_members_json(d->self.address);
}

static int start_api(struct daemon *d, char *errmsg, size_t len)
{
	/* The API server keeps pointers to these: they live in the daemon. */
	char *cert = d->api_cert, *key = d->api_key, *ca = d->api_ca, *tokens = d->api_tokens;
	char *host = d->hostname;
	pki_path(cert, sizeof d->api_cert, d->opt.data_dir, PKI_SERVER_CERT);
	pki_path(key, sizeof d->api_key, d->opt.data_dir, PKI_SERVER_KEY);
	pki_path(ca, sizeof d->api_ca, d->opt.data_dir, PKI_CA_CERT);
	pki_path(tokens, sizeof d->api_tokens, d->opt.data_dir, PKI_TOKENS);
	if (gethostname(host, sizeof d->hostname) != 0)
		snprintf(host, sizeof d->hostname, "localhost");
	/* Node names are lower-case; hostnames need not be. */
	snprintf(d->node_name, sizeof d->node_name, "%s", d->opt.node_name ? d->opt.node_name : host);
	for (char *p = d->node_name; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	struct api_config ac = {.bind_address = d->opt.api_bind, .port = d->opt.api_port,
				.cert_file = cert, .key_file = key, .client_ca_file = ca,
				.token_file = tokens, .node_name = host, .node_address = d->opt.ip,
				.datastore_members = members_json, .datastore_arg = d,
				.data_dir = d->opt.data_dir, .service_cidr = d->opt.service_cidr,
				.node_port_range = d->opt.node_port_range,
				.default_toleration_seconds = d->opt.default_toleration_s};
	return api_server_start(&d->loop, &ac, &d->api, errmsg, len);
}

static void on_signal(uv_signal_t *sig, int signum)
{
	struct daemon *d = sig->data;
	if (d->stopping)
		return;
	mk_info("mkd", "%s received: shutting down", strsignal(signum));
	d->stopping = true;
	uv_timer_stop(&d->tick);
	if (!d->job_running)
		begin_shutdown(d);
	/* else job_done starts it once the worker is finished */
}

int main(int argc, char **argv)
{
	/* Mandatory for dqlite: without it a peer dying makes libuv's write
	 * kill the surviving nodes (reference/dqlite.md §4.3). */
	signal(SIGPIPE, SIG_IGN);

	struct daemon d;
	memset(&d, 0, sizeof d);
	int pr = parse_options(argc, argv, &d.opt);
	if (pr != 0)
		return pr > 0 ? 0 : 2;
	d.opt.data_dir = datadir_resolve(d.opt.data_dir);

	char errmsg[512];
	if (datadir_prepare(d.opt.data_dir, errmsg, sizeof errmsg) != MK_OK) {
		mk_error("mkd", "%s", errmsg);
		return 1;
	}
	char path[4200];
	snprintf(path, sizeof path, "%s/mkd.pid", d.opt.data_dir);
	if (pidfile_lock(path, &d.pid_fd, errmsg, sizeof errmsg) != MK_OK) {
		mk_error("mkd", "%s", errmsg);
		return 1;
	}
	snprintf(d.dqlite_dir, sizeof d.dqlite_dir, "%s/dqlite", d.opt.data_dir);
	if (ensure_pki(&d, errmsg, sizeof errmsg) != MK_OK) {
		mk_error("mkd", "%s", errmsg);
		return 1;
	}
	setenv("UV_THREADPOOL_SIZE", API_THREADS, 0);
	/* 32 API worker threads would otherwise get up to 16 malloc arenas,
	 * each keeping its own freed memory. */
	mallopt(M_ARENA_MAX, 4);
	if (load_identity(&d) != 0)
		return 1;
	load_members(&d);

	/* The node listens where only this process can reach it; the proxy
	 * owns the advertised address (see core/cluster/dqlite_proxy.h). */
	char backend[64], bind_address[80];
	snprintf(backend, sizeof backend, "mk-dqlite-%d-%d", (int)getpid(), d.opt.port);
	snprintf(bind_address, sizeof bind_address, "@%s", backend);
	struct dq_node_config nc = {.id = d.self.id, .address = d.self.address,
				    .bind_address = bind_address, .dir = d.dqlite_dir,
				    .failure_domain = d.opt.failure_domain};
	uv_loop_init(&d.loop);
	if (dq_node_start(&nc, &d.node, errmsg, sizeof errmsg) != MK_OK) {
		mk_error("mkd", "%s", errmsg);
		return 1;
	}
	if (dqlite_proxy_start(&d.loop, d.self.address, backend, &d.proxy, errmsg,
			       sizeof errmsg) != MK_OK) {
		mk_error("mkd", "%s", errmsg);
		goto err_after_node;
	}
	if (d.fresh && persist_identity(&d) != 0)
		goto err_after_proxy;
	if (start_api(&d, errmsg, sizeof errmsg) != MK_OK) {
		mk_error("mkd", "%s", errmsg);
		goto err_after_proxy;
	}

	uv_signal_init(&d.loop, &d.sigterm);
	uv_signal_init(&d.loop, &d.sigint);
	d.sigterm.data = d.sigint.data = &d;
	uv_signal_start(&d.sigterm, on_signal, SIGTERM);
	uv_signal_start(&d.sigint, on_signal, SIGINT);
	uv_timer_init(&d.loop, &d.tick);
	d.tick.data = &d;
	uv_timer_start(&d.tick, on_tick, 0, STORE_RETRY_MS);

	/* Returns once shutdown_done closed every handle. */
	uv_run(&d.loop, UV_RUN_DEFAULT);
	dq_node_stop(d.node);
	uv_loop_close(&d.loop);
	mk_info("mkd", "stopped");
	return 0;

err_after_proxy:
	dqlite_proxy_stop(d.proxy);
err_after_node:
	uv_walk(&d.loop, close_handle, NULL);
	uv_run(&d.loop, UV_RUN_DEFAULT);
	dq_node_stop(d.node);
	uv_loop_close(&d.loop);
	return 1;
}
