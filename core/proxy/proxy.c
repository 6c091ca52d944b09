/*
 * The proxy thread (proxy.h): informers say something changed, the thread
 * waits for the burst to settle, renders everything the caches hold and
 * hands it to nftables; every 30 s it does so anyway.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../base/clock.h"
#include "../base/err.h"
#include "../base/log.h"
#include "../kube/informer.h"
#include "proxy.h"
#include "proxy_internal.h"

/* A change waits SETTLE_MS for the rest of its burst, and applies are
 * MIN_GAP_MS apart at least: a hundred endpoint changes in a row cost one
 * or two rewrites, not a hundred (kube-proxy's minSyncPeriod). */
#define SETTLE_MS 100
#define MIN_GAP_MS 200
#define RESYNC_MS 30000
#define RETRY_MS 5000
#define POLL_MS 100

struct service_proxy {
	char *node_name, *pod_cidr, *bridge, *table;
	struct kube_informer *services, *slices;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;     /* CLOCK_MONOTONIC */
	bool stop, dirty;        /* lock */
	int64_t dirty_since;     /* lock */

	/* The proxy thread's own. */
	struct proxy_nft *nft;
	bool masquerade_all, failed, applied;
	int64_t last_sync;       /* when the last render (and apply) ended */
	char *last_text;
	json_t *reported;        /* problem keys the last render reported */
	char last_err[1024];
};

static void on_change(void *arg, enum kube_event type, json_t *obj)
{
	struct service_proxy *p = arg;

	(void)type;
	(void)obj;
	pthread_mutex_lock(&p->lock);
	if (!p->dirty) {
		p->dirty = true;
		p->dirty_since = mk_monotonic_ms();
	}
	pthread_cond_signal(&p->wake);
	pthread_mutex_unlock(&p->lock);
}

struct problems {
	json_t *before, *now;
};

/* Each malformed object is logged once per version: a resync or a change
 * elsewhere says nothing new. */
static void on_problem(void *arg, const char *key, const char *msg)
{
	struct problems *pr = arg;

	if (json_object_get(pr->before, key) == NULL)
		mk_warn(PROXY_LOG, "%s", msg);
	json_object_set_new(pr->now, key, json_true());
}

static size_t count_backends(const struct proxy_model *m)
{
	size_t n = 0;
	for (size_t i = 0; i < m->n_services; i++)
		for (size_t k = 0; k < m->services[i].n_ports; k++)
			n += m->services[i].ports[k].n_backends;
	return n;
}

/* One render and, unless nothing changed and this is no resync, one
 * apply.  Returns false when the table could not be brought up to date. */
static bool sync_once(struct service_proxy *p, bool resync)
{
	struct proxy_node node = {
		.table = p->table, .node_name = p->node_name, .pod_cidr = p->pod_cidr,
		.masquerade_all = p->masquerade_all,
	};
	struct problems pr = {p->reported, json_object()};
	json_t *svcs = kube_informer_list(p->services), *slices = kube_informer_list(p->slices);
	json_t *objects = json_object();
	struct proxy_model m = {0};
	struct mk_buf text = MK_BUF_INIT;
	char err[1024];
	int rv = MK_ENOMEM;

	if (pr.now == NULL || objects == NULL ||
	    (rv = proxy_model_build(svcs, slices, &m, on_problem, &pr)) != MK_OK) {
		mk_error(PROXY_LOG, "cannot build the service model: %s", mk_strerror(rv));
		goto out;
	}
	json_decref(p->reported);
	p->reported = json_incref(pr.now);
	if ((rv = proxy_render(&node, &m, &text, objects, err, sizeof err)) != MK_OK ||
	    (rv = mk_buf_append(&text, "", 1)) != MK_OK) {
		mk_error(PROXY_LOG, "%s", rv == MK_ENOMEM ? "out of memory" : err);
		goto out;
	}
	/* CNI makes the bridge with the first pod: check on every pass. */
	proxy_host_route_localnet(p->bridge);
	const char *t = (const char *)text.data;
	if (!resync && !p->failed && p->last_text != NULL && strcmp(p->last_text, t) == 0)
		goto out;
	int64_t t0 = mk_monotonic_ms();
	rv = proxy_nft_apply(p->nft, p->table, t, objects, err, sizeof err);
	long long ms = (long long)(mk_monotonic_ms() - t0);
	if (rv != MK_OK) {
		/* The exact refusal once; the previous table stays in force. */
		if (strcmp(err, p->last_err) != 0)
			mk_error(PROXY_LOG, "nftables refused table ip %s, keeping the previous one: %s",
				 p->table, err);
		snprintf(p->last_err, sizeof p->last_err, "%s", err);
		goto out;
	}
	p->last_err[0] = '\0';
	free(p->last_text);
	p->last_text = strdup(t);
	if (!p->applied)
		mk_info(PROXY_LOG, "table ip %s in place: %zu services, %zu endpoints (%lld ms)",
			p->table, m.n_services, count_backends(&m), ms);
	else
		mk_debug(PROXY_LOG, "table ip %s %s: %zu services, %zu endpoints (%lld ms)", p->table,
			 resync ? "resynced" : "updated", m.n_services, count_backends(&m), ms);
	p->applied = true;
out:
	proxy_model_free(&m);
	mk_buf_free(&text);
	json_decref(objects);
	json_decref(pr.now);
	json_decref(svcs);
	json_decref(slices);
	return rv == MK_OK;
}

static void wait_until(struct service_proxy *p, int64_t at_ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	int64_t ms = at_ms - mk_monotonic_ms();
	if (ms <= 0)
		return;
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_cond_timedwait(&p->wake, &p->lock, &ts);
}

static int64_t max64(int64_t a, int64_t b)
{
	return a > b ? a : b;
}

static void *proxy_main(void *arg)
{
	struct service_proxy *p = arg;

	pthread_mutex_lock(&p->lock);
	while (!p->stop) {
		int64_t now = mk_monotonic_ms(), at;
		/* Never apply half-filled caches: on a restart that would
		 * drop every service the old table still serves. */
		bool synced = kube_informer_synced(p->services) && kube_informer_synced(p->slices);
		if (!synced)
			at = now + POLL_MS;
		else if (p->dirty)
			at = max64(p->dirty_since + SETTLE_MS, p->last_sync + MIN_GAP_MS);
		else if (p->failed)
			at = p->last_sync + RETRY_MS;
		else if (!p->applied)
			at = now;
		else
			at = p->last_sync + RESYNC_MS;
		if (synced && now >= at) {
			bool resync = !p->dirty && p->applied;
			p->dirty = false;
			pthread_mutex_unlock(&p->lock);
			bool done = sync_once(p, resync);
			pthread_mutex_lock(&p->lock);
			p->failed = !done;
			p->last_sync = mk_monotonic_ms();
			continue;
		}
		wait_until(p, at);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

static bool bridge_ok(const char *b)
{
	size_t n = b ? strlen(b) : 0;
	return n > 0 && n <= 15 && strspn(b, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
					  "0123456789_.-") == n && strcmp(b, ".") != 0 &&
	       strcmp(b, "..") != 0;
}

static void proxy_free(struct service_proxy *p)
{
	proxy_nft_free(p->nft);
	json_decref(p->reported);
	free(p->last_text);
	free(p->node_name);
	free(p->pod_cidr);
	free(p->bridge);
	free(p->table);
	free(p);
}

/* The configuration, checked by rendering and nft-checking an empty
 * table: a bad CIDR or table name, or nftables out of reach, is said now
 * rather than on every apply. */
static int preflight(struct service_proxy *p, char *errmsg, size_t len)
{
	struct proxy_model none = {0};
	struct proxy_node node = {.table = p->table, .node_name = p->node_name,
				  .pod_cidr = p->pod_cidr};
	struct mk_buf text = MK_BUF_INIT;
	json_t *objects = json_object();
	char why[1024];

	int rv = objects ? proxy_render(&node, &none, &text, objects, errmsg, len) : MK_ENOMEM;
	if (rv == MK_OK && (rv = mk_buf_append(&text, "", 1)) == MK_OK) {
		rv = proxy_nft_check(p->nft, p->table, (const char *)text.data, why, sizeof why);
		if (rv != MK_OK) {
			snprintf(errmsg, len, "nftables cannot be used (mkd needs root and "
				 "nf_tables): %s", why);
			rv = rv == MK_EINVAL ? MK_EUNAVAILABLE : rv;
		}
	}
	mk_buf_free(&text);
	json_decref(objects);
	return rv;
}

int service_proxy_start(const struct service_proxy_config *cfg, struct service_proxy **out,
			char *errmsg, size_t len)
{
	struct service_proxy *p = calloc(1, sizeof *p);
	pthread_condattr_t ca;
	int rv;

	if (p == NULL)
		goto oom;
	if (cfg->client == NULL || !bridge_ok(cfg->bridge)) {
		snprintf(errmsg, len, "proxy: %s", cfg->client == NULL ? "no API client"
			 : "the bridge name must be 1-15 of [A-Za-z0-9_.-]");
		free(p);
		return MK_EINVAL;
	}
	p->node_name = strdup(cfg->node_name ? cfg->node_name : "");
	p->pod_cidr = strdup(cfg->pod_cidr ? cfg->pod_cidr : "");
	p->bridge = strdup(cfg->bridge);
	p->table = strdup(cfg->table ? cfg->table : PROXY_DEFAULT_TABLE);
	p->reported = json_object();
	if (!p->node_name || !p->pod_cidr || !p->bridge || !p->table || !p->reported)
		goto oom;
	if ((rv = proxy_nft_new(&p->nft, errmsg, len)) != MK_OK ||
	    (rv = preflight(p, errmsg, len)) != MK_OK) {
		proxy_free(p);
		return rv;
	}
	p->masquerade_all = !proxy_host_bridge_nf();

	pthread_mutex_init(&p->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&p->wake, &ca);
	pthread_condattr_destroy(&ca);
	struct kube_informer_config sc = {
		.client = cfg->client, .path = "/api/v1/services", .on_event = on_change, .arg = p,
		.name = "proxy services",
	};
	/* Only slices that belong to a Service (the label's existence). */
	struct kube_informer_config ec = {
		.client = cfg->client, .path = "/apis/discovery.k8s.io/v1/endpointslices",
		.query = "labelSelector=kubernetes.io%2Fservice-name", .on_event = on_change,
		.arg = p, .name = "proxy endpointslices",
	};
	if ((rv = kube_informer_start(&sc, &p->services, errmsg, len)) != MK_OK)
		goto fail;
	if ((rv = kube_informer_start(&ec, &p->slices, errmsg, len)) != MK_OK)
		goto fail;
	if (pthread_create(&p->thread, NULL, proxy_main, p) != 0) {
		snprintf(errmsg, len, "cannot start the service proxy's thread");
		rv = MK_ENOMEM;
		goto fail;
	}
	mk_info(PROXY_LOG, "service proxy on node %s: table ip %s, pods %s on %s%s", p->node_name,
		p->table, p->pod_cidr, p->bridge,
		p->masquerade_all ? ", all service traffic masqueraded" : "");
	*out = p;
	return MK_OK;
fail:
	kube_informer_cancel(p->services);
	kube_informer_cancel(p->slices);
	if (p->services != NULL)
		kube_informer_stop(p->services);
	if (p->slices != NULL)
		kube_informer_stop(p->slices);
	pthread_cond_destroy(&p->wake);
	pthread_mutex_destroy(&p->lock);
	proxy_free(p);
	return rv;
oom:
	if (p != NULL)
		proxy_free(p);
	snprintf(errmsg, len, "out of memory");
	return MK_ENOMEM;
}

void service_proxy_stop(struct service_proxy *p)
{
	if (p == NULL)
		return;
	kube_informer_cancel(p->services);
	kube_informer_cancel(p->slices);
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	pthread_cond_signal(&p->wake);
	pthread_mutex_unlock(&p->lock);
	pthread_join(p->thread, NULL);
	kube_informer_stop(p->services);
	kube_informer_stop(p->slices);
	pthread_cond_destroy(&p->wake);
	pthread_mutex_destroy(&p->lock);
	/* The table stays: see proxy.h. */
	proxy_free(p);
}
