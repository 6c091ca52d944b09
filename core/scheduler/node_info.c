/*
 * A node and the pods on it (sched_internal.h): upstream's NodeInfo, with
 * the requested sums kept as pods come and go so a filter never adds
 * them up again.
 */
#include <stdlib.h>
#include <string.h>

#include "../base/err.h"
#include "../kube/quantity.h"
#include "sched_internal.h"

static int64_t quantity(const json_t *list, const char *name, bool milli)
{
	const char *q = json_string_value(json_object_get(list, name));
	int64_t v = 0;

	if (q == NULL || (milli ? quantity_milli(q, &v) : quantity_value(q, &v)) != MK_OK || v < 0)
		return 0;
	return v;
}

/* status.allocatable, or capacity when a node reports none (the API
 * server defaults one from the other). */
static void parse(struct sched_node *n, json_t *obj)
{
	const json_t *status = json_object_get(obj, "status");
	const json_t *alloc = json_object_get(status, "allocatable");

	if (!json_is_object(alloc))
		alloc = json_object_get(status, "capacity");
	n->obj = obj;
	n->name = json_string_value(json_object_get(json_object_get(obj, "metadata"), "name"));
	if (n->name == NULL)
		n->name = "";
	n->labels = json_object_get(json_object_get(obj, "metadata"), "labels");
	n->alloc.milli_cpu = quantity(alloc, "cpu", true);
	n->alloc.memory = quantity(alloc, "memory", false);
	n->alloc.ephemeral = quantity(alloc, "ephemeral-storage", false);
	n->alloc_pods = quantity(alloc, "pods", false);
}

int sched_node_new(json_t *obj, struct sched_node **out)
{
	struct sched_node *n = calloc(1, sizeof *n);

	if (n == NULL)
		return MK_ENOMEM;
	parse(n, json_incref(obj));
	*out = n;
	return MK_OK;
}

void sched_node_update(struct sched_node *n, json_t *obj)
{
	json_t *old = n->obj;

	parse(n, json_incref(obj));
	json_decref(old);
}

void sched_node_free(struct sched_node *n)
{
	if (n == NULL)
		return;
	json_decref(n->obj);
	free(n->pods);
	free(n);
}

static void account(struct sched_node *n, const struct sched_pod *p, int sign)
{
	n->requested.milli_cpu += sign * p->req.milli_cpu;
	n->requested.memory += sign * p->req.memory;
	n->requested.ephemeral += sign * p->req.ephemeral;
	n->nonzero_requested.milli_cpu += sign * p->nonzero.milli_cpu;
	n->nonzero_requested.memory += sign * p->nonzero.memory;
	n->nonzero_requested.ephemeral += sign * p->nonzero.ephemeral;
}

int sched_node_add_pod(struct sched_node *n, struct sched_pod *p)
{
	if (n->n_pods == n->cap_pods) {
		size_t cap = n->cap_pods ? n->cap_pods * 2 : 16;
		struct sched_pod **v = realloc(n->pods, cap * sizeof *v);
		if (v == NULL)
			return MK_ENOMEM;
		n->pods = v;
		n->cap_pods = cap;
	}
	n->pods[n->n_pods++] = p;
	account(n, p, 1);
	return MK_OK;
}

void sched_node_remove_pod(struct sched_node *n, struct sched_pod *p)
{
	for (size_t i = 0; i < n->n_pods; i++) {
		if (n->pods[i] != p)
			continue;
		n->pods[i] = n->pods[--n->n_pods];
		account(n, p, -1);
		return;
	}
}
