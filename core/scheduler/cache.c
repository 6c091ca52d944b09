/*
 * What runs where (sched_internal.h): the nodes, and every pod bound to a
 * node or assumed on one, by "namespace/name".  A pod whose node the
 * cache does not know yet (informers deliver in any order) waits, detached,
 * and is attached when the node arrives.  Single-threaded: the scheduler's
 * lock.
 */
#include <search.h>
#include <stdlib.h>
#include <string.h>

#include "../base/err.h"
#include "sched_internal.h"

struct cached_pod {
	char *key;
	struct sched_pod *p;
	struct sched_node *on; /* the node it is counted on, or NULL */
};

struct sched_cache {
	struct sched_node **nodes;
	size_t n_nodes, cap_nodes;
	void *pods; /* tsearch tree of cached_pod by key */
	size_t n_pods_with_terms;
};

static int by_key(const void *a, const void *b)
{
	return strcmp(((const struct cached_pod *)a)->key, ((const struct cached_pod *)b)->key);
}

static struct cached_pod *find_pod(struct sched_cache *c, const char *key)
{
	struct cached_pod probe = {.key = (char *)key};
	void *found = tfind(&probe, &c->pods, by_key);

	return found != NULL ? *(struct cached_pod **)found : NULL;
}

static struct sched_node *find_node(struct sched_cache *c, const char *name, size_t *at)
{
	for (size_t i = 0; i < c->n_nodes; i++)
		if (strcmp(c->nodes[i]->name, name) == 0) {
			if (at != NULL)
				*at = i;
			return c->nodes[i];
		}
	return NULL;
}

struct sched_cache *sched_cache_new(void)
{
	return calloc(1, sizeof(struct sched_cache));
}

static void pod_entry_free(void *v)
{
	struct cached_pod *e = v;

	sched_pod_free(e->p);
	free(e->key);
	free(e);
}

void sched_cache_free(struct sched_cache *c)
{
	if (c == NULL)
		return;
	tdestroy(c->pods, pod_entry_free);
	for (size_t i = 0; i < c->n_nodes; i++)
		sched_node_free(c->nodes[i]);
	free(c->nodes);
	free(c);
}

/* Counts e on the node its pod names, when the cache knows that node. */
static void attach(struct sched_cache *c, struct cached_pod *e)
{
	struct sched_node *n = find_node(c, e->p->node, NULL);

	if (n != NULL && sched_node_add_pod(n, e->p) == MK_OK)
		e->on = n;
}

static void detach(struct cached_pod *e)
{
	if (e->on != NULL)
		sched_node_remove_pod(e->on, e->p);
	e->on = NULL;
}

/* twalk_r's visitor: attaches the waiting pods of one new node. */
static void attach_waiting(const void *nodep, VISIT which, void *arg)
{
	struct cached_pod *e = *(struct cached_pod *const *)nodep;
	void **ctx = arg;
	struct sched_node *n = ctx[1];

	if ((which == postorder || which == leaf) && e->on == NULL &&
	    strcmp(e->p->node, n->name) == 0 && sched_node_add_pod(n, e->p) == MK_OK)
		e->on = n;
}

/* json_equal, with two absent values equal too. */
static bool same(const json_t *a, const json_t *b)
{
	return (a == NULL && b == NULL) || json_equal(a, b);
}

/* What a filter or score reads of a node. */
static bool node_changed(const json_t *a, const json_t *b)
{
	const json_t *sa = json_object_get(a, "status"), *sb = json_object_get(b, "status");

	return !same(json_object_get(a, "spec"), json_object_get(b, "spec")) ||
	       !same(json_object_get(json_object_get(a, "metadata"), "labels"),
			   json_object_get(json_object_get(b, "metadata"), "labels")) ||
	       !same(json_object_get(sa, "allocatable"), json_object_get(sb, "allocatable"));
}

int sched_cache_set_node(struct sched_cache *c, json_t *node, bool *changed)
{
	const char *name = json_string_value(
		json_object_get(json_object_get(node, "metadata"), "name"));
	struct sched_node *n;

	*changed = false;
	if (name == NULL)
		return MK_EINVAL;
	n = find_node(c, name, NULL);
	if (n != NULL) {
		*changed = node_changed(n->obj, node);
		sched_node_update(n, node);
		return MK_OK;
	}
	*changed = true;
	if (c->n_nodes == c->cap_nodes) {
		size_t cap = c->cap_nodes ? 2 * c->cap_nodes : 16;
		struct sched_node **v = realloc(c->nodes, cap * sizeof *v);
		if (v == NULL)
			return MK_ENOMEM;
		c->nodes = v;
		c->cap_nodes = cap;
	}
	if (sched_node_new(node, &n) != MK_OK)
		return MK_ENOMEM;
	c->nodes[c->n_nodes++] = n;
	void *ctx[2] = {c, n};
	twalk_r(c->pods, attach_waiting, ctx);
	return MK_OK;
}

/* twalk_r's visitor: forgets where the pods of a departing node were. */
static void detach_gone(const void *nodep, VISIT which, void *arg)
{
	struct cached_pod *e = *(struct cached_pod *const *)nodep;

	if ((which == postorder || which == leaf) && e->on == arg)
		e->on = NULL;
}

void sched_cache_remove_node(struct sched_cache *c, const char *name)
{
	size_t at;
	struct sched_node *n = find_node(c, name, &at);

	if (n == NULL)
		return;
	twalk_r(c->pods, detach_gone, n);
	c->nodes[at] = c->nodes[--c->n_nodes];
	sched_node_free(n);
}

static void forget_entry(struct sched_cache *c, struct cached_pod *e)
{
	detach(e);
	if (sched_pod_has_terms(e->p))
		c->n_pods_with_terms--;
	tdelete(e, &c->pods, by_key);
	pod_entry_free(e);
}

static int insert(struct sched_cache *c, const char *key, struct sched_pod *p)
{
	struct cached_pod *e = calloc(1, sizeof *e);

	if (e == NULL || (e->key = strdup(key)) == NULL || tsearch(e, &c->pods, by_key) == NULL) {
		if (e != NULL)
			free(e->key);
		free(e);
		return MK_ENOMEM;
	}
	e->p = p;
	if (sched_pod_has_terms(p))
		c->n_pods_with_terms++;
	attach(c, e);
	return MK_OK;
}

int sched_cache_set_pod(struct sched_cache *c, const char *key, json_t *pod)
{
	struct cached_pod *e = find_pod(c, key);
	struct sched_pod *p;
	char err[128];

	if (e != NULL) {
		const char *rv = json_string_value(
			json_object_get(json_object_get(pod, "metadata"), "resourceVersion"));
		const char *had = json_string_value(
			json_object_get(json_object_get(e->p->obj, "metadata"), "resourceVersion"));
		/* The same version of a pod this cache already counts. */
		if (!e->p->assumed && rv != NULL && had != NULL && strcmp(rv, had) == 0)
			return MK_OK;
		forget_entry(c, e);
	}
	if (sched_pod_new(pod, &p, err, sizeof err) != MK_OK)
		return MK_ENOMEM;
	int rv = insert(c, key, p);
	if (rv != MK_OK)
		sched_pod_free(p);
	return rv;
}

void sched_cache_remove_pod(struct sched_cache *c, const char *key)
{
	struct cached_pod *e = find_pod(c, key);

	if (e != NULL)
		forget_entry(c, e);
}

int sched_cache_assume(struct sched_cache *c, const char *key, struct sched_pod *p,
		       const char *node)
{
	struct cached_pod *e = find_pod(c, key);

	if (e != NULL)
		forget_entry(c, e);
	p->assumed = true;
	p->bound = false;
	snprintf(p->node, sizeof p->node, "%s", node);
	return insert(c, key, p);
}

void sched_cache_bound(struct sched_cache *c, const char *key)
{
	struct cached_pod *e = find_pod(c, key);

	if (e != NULL && e->p->assumed)
		e->p->bound = true;
}

void sched_cache_forget(struct sched_cache *c, const char *key)
{
	struct cached_pod *e = find_pod(c, key);

	if (e != NULL && e->p->assumed)
		forget_entry(c, e);
}

bool sched_cache_has_pod(struct sched_cache *c, const char *key)
{
	return find_pod(c, key) != NULL;
}

void sched_cache_cluster(struct sched_cache *c, struct sched_cluster *out)
{
	memset(out, 0, sizeof *out);
	out->nodes = c->nodes;
	out->n_nodes = c->n_nodes;
	out->n_pods_with_terms = c->n_pods_with_terms;
}
