/*
 * List + watch into a cache (informer.h).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../base/err.h"
#include "../base/log.h"
#include "informer.h"

/* Watches end on their own now and then so that a connection that died
 * silently (a NAT, a peer that vanished) is noticed; 5 minutes, as
 * client-go picks between 5 and 10. */
#define WATCH_TIMEOUT_S 300
#define RETRY_MS 1000

struct kube_informer {
	struct kube_informer_config cfg;
	char *path, *query, *name;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	volatile int stop;
	bool synced;
	json_t *cache;        /* "ns/name" -> object */
	char rv[64];          /* last resourceVersion seen */
	bool gone;            /* the watch said 410: list again */
};

static void key_of(json_t *obj, char *out, size_t len)
{
	json_t *m = json_object_get(obj, "metadata");
	const char *ns = json_string_value(json_object_get(m, "namespace"));
	const char *name = json_string_value(json_object_get(m, "name"));

	snprintf(out, len, "%s/%s", ns ? ns : "", name ? name : "");
}

static const char *rv_of(json_t *obj)
{
	return json_string_value(json_object_get(json_object_get(obj, "metadata"),
						 "resourceVersion"));
}

/* Records obj in the cache and tells the consumer, unless nothing changed. */
static void apply(struct kube_informer *inf, enum kube_event type, json_t *obj)
{
	char key[512];

	key_of(obj, key, sizeof key);
	pthread_mutex_lock(&inf->lock);
	json_t *old = json_object_get(inf->cache, key);
	const char *old_rv = rv_of(old), *new_rv = rv_of(obj);
	bool same = old != NULL && old_rv && new_rv && strcmp(old_rv, new_rv) == 0;
	if (type == KUBE_DELETED) {
		if (old == NULL) {
			pthread_mutex_unlock(&inf->lock);
			return;
		}
		json_object_del(inf->cache, key);
	} else {
		if (same) {
			pthread_mutex_unlock(&inf->lock);
			return;
		}
		type = old != NULL ? KUBE_MODIFIED : KUBE_ADDED;
		json_object_set(inf->cache, key, obj);
	}
	pthread_mutex_unlock(&inf->lock);
	inf->cfg.on_event(inf->cfg.arg, type, obj);
}

static int relist(struct kube_informer *inf)
{
	char path[2048], err[512];
	json_t *list = NULL;

	snprintf(path, sizeof path, "%s%s%s", inf->path, inf->query ? "?" : "",
		 inf->query ? inf->query : "");
	int rv = kube_get(inf->cfg.client, path, &list, err, sizeof err);
	if (rv != MK_OK) {
		mk_warn("informer", "%s: list: %s", inf->name, err);
		return rv;
	}
	json_t *items = json_object_get(list, "items");
	json_t *seen = json_object();
	size_t i;
	json_t *it;
	json_array_foreach(items, i, it) {
		char key[512];
		key_of(it, key, sizeof key);
		json_object_set_new(seen, key, json_true());
		apply(inf, KUBE_ADDED, it);
	}
	/* Whatever the cache holds that the list does not was deleted while
	 * we were not watching. */
	pthread_mutex_lock(&inf->lock);
	json_t *gone = json_array();
	const char *key;
	json_t *obj;
	json_object_foreach(inf->cache, key, obj) {
		if (json_object_get(seen, key) == NULL)
			json_array_append(gone, obj);
	}
	pthread_mutex_unlock(&inf->lock);
	json_array_foreach(gone, i, it)
		apply(inf, KUBE_DELETED, it);
	json_decref(gone);
	json_decref(seen);
	const char *lrv = rv_of(list);
	snprintf(inf->rv, sizeof inf->rv, "%s", lrv ? lrv : "0");
	json_decref(list);
	pthread_mutex_lock(&inf->lock);
	inf->synced = true;
	pthread_mutex_unlock(&inf->lock);
	return MK_OK;
}

static int on_watch_line(void *arg, const char *line, size_t n)
{
	struct kube_informer *inf = arg;
	json_t *ev = json_loadb(line, n, 0, NULL);
	const char *type = json_string_value(json_object_get(ev, "type"));
	json_t *obj = json_object_get(ev, "object");

	if (type == NULL || !json_is_object(obj)) {
		json_decref(ev);
		return 0;
	}
	const char *orv = rv_of(obj);
	if (strcmp(type, "ERROR") == 0) {
		json_int_t code = json_integer_value(json_object_get(obj, "code"));
		if (code == 410)
			inf->gone = true;
		json_decref(ev);
		return 1;
	}
	if (orv != NULL)
		snprintf(inf->rv, sizeof inf->rv, "%s", orv);
	if (strcmp(type, "ADDED") == 0)
		apply(inf, KUBE_ADDED, obj);
	else if (strcmp(type, "MODIFIED") == 0)
		apply(inf, KUBE_MODIFIED, obj);
	else if (strcmp(type, "DELETED") == 0)
		apply(inf, KUBE_DELETED, obj);
	/* BOOKMARK: only the resourceVersion matters. */
	json_decref(ev);
	return 0;
}

static void pause_ms(struct kube_informer *inf, long ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&inf->lock);
	if (!inf->stop)
		pthread_cond_timedwait(&inf->wake, &inf->lock, &ts);
	pthread_mutex_unlock(&inf->lock);
}

static void *run(void *arg)
{
	struct kube_informer *inf = arg;
	bool listed = false;

	while (!inf->stop) {
		if (!listed || inf->gone) {
			inf->gone = false;
			if (relist(inf) != MK_OK) {
				pause_ms(inf, RETRY_MS);
				continue;
			}
			listed = true;
		}
		char path[2048], err[512];
		snprintf(path, sizeof path,
			 "%s?watch=1&allowWatchBookmarks=true&timeoutSeconds=%d&resourceVersion=%s%s%s",
			 inf->path, WATCH_TIMEOUT_S, inf->rv, inf->query ? "&" : "",
			 inf->query ? inf->query : "");
		long status = 0;
		int rv = kube_stream(inf->cfg.client, path, on_watch_line, inf, &inf->stop, &status,
				     err, sizeof err);
		if (status == 410)
			inf->gone = true;
		if (rv != MK_OK && !inf->stop) {
			mk_warn("informer", "%s: watch: %s", inf->name, err);
			/* The server may have lost our history (restart): a
			 * fresh list is the safe way back. */
			inf->gone = true;
			pause_ms(inf, RETRY_MS);
		}
	}
	return NULL;
}

int kube_informer_start(const struct kube_informer_config *cfg, struct kube_informer **out,
			char *errmsg, size_t len)
{
	struct kube_informer *inf = calloc(1, sizeof *inf);

	if (inf == NULL)
		goto oom;
	inf->cfg = *cfg;
	inf->path = strdup(cfg->path);
	inf->query = cfg->query ? strdup(cfg->query) : NULL;
	inf->name = strdup(cfg->name ? cfg->name : cfg->path);
	inf->cache = json_object();
	if (!inf->path || (cfg->query && !inf->query) || !inf->name || !inf->cache)
		goto oom;
	pthread_mutex_init(&inf->lock, NULL);
	pthread_cond_init(&inf->wake, NULL);
	if (pthread_create(&inf->thread, NULL, run, inf) != 0) {
		snprintf(errmsg, len, "cannot start the %s informer thread", inf->name);
		json_decref(inf->cache);
		free(inf->path);
		free(inf->query);
		free(inf->name);
		free(inf);
		return MK_ENOMEM;
	}
	*out = inf;
	return MK_OK;
oom:
	if (inf != NULL) {
		json_decref(inf->cache);
		free(inf->path);
		free(inf->query);
		free(inf->name);
		free(inf);
	}
	snprintf(errmsg, len, "out of memory");
	return MK_ENOMEM;
}

void kube_informer_cancel(struct kube_informer *inf)
{
	if (inf == NULL)
		return;
	pthread_mutex_lock(&inf->lock);
	inf->stop = 1;
	pthread_cond_broadcast(&inf->wake);
	pthread_mutex_unlock(&inf->lock);
}

void kube_informer_stop(struct kube_informer *inf)
{
	if (inf == NULL)
		return;
	kube_informer_cancel(inf);
	pthread_join(inf->thread, NULL);
	json_decref(inf->cache);
	free(inf->path);
	free(inf->query);
	free(inf->name);
	free(inf);
}

json_t *kube_informer_get(struct kube_informer *inf, const char *ns, const char *name)
{
	char key[512];

	snprintf(key, sizeof key, "%s/%s", ns ? ns : "", name);
	pthread_mutex_lock(&inf->lock);
	json_t *o = json_incref(json_object_get(inf->cache, key));
	pthread_mutex_unlock(&inf->lock);
	return o;
}

bool kube_informer_synced(struct kube_informer *inf)
{
	pthread_mutex_lock(&inf->lock);
	bool s = inf->synced;
	pthread_mutex_unlock(&inf->lock);
	return s;
}

size_t kube_informer_size(struct kube_informer *inf)
{
	pthread_mutex_lock(&inf->lock);
	size_t n = json_object_size(inf->cache);
	pthread_mutex_unlock(&inf->lock);
	return n;
}

json_t *kube_informer_list(struct kube_informer *inf)
{
	json_t *out = json_array();
	const char *key;
	json_t *obj;

	pthread_mutex_lock(&inf->lock);
	json_object_foreach(inf->cache, key, obj)
		json_array_append(out, obj);
	pthread_mutex_unlock(&inf->lock);
	return out;
}
