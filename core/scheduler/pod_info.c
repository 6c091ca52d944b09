/*
 * A pod as the scheduler sees it (sched_internal.h): parsed once when it
 * is seen, so that a cycle over a hundred nodes and thousands of pods
 * never reparses quantities or selectors.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../api/selector.h"
#include "../base/err.h"
#include "../kube/quantity.h"
#include "sched_internal.h"

/* kube-scheduler's stand-ins for unset requests when scoring
 * (DefaultMilliCPURequest, DefaultMemoryRequest). */
#define DEFAULT_MILLI_CPU 100
#define DEFAULT_MEMORY (200LL * 1024 * 1024)

static const char *str(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static int64_t quantity_of(const json_t *list, const char *name, bool milli)
{
	const char *q = str(list, name);
	int64_t v = 0;

	if (q == NULL || (milli ? quantity_milli(q, &v) : quantity_value(q, &v)) != MK_OK || v < 0)
		return 0;
	return v;
}

/* One resource of a container: its request, else its limit (the API
 * server defaults requests from limits; a pod written past that still
 * counts what it will get). */
static int64_t container_quantity(const json_t *resources, const char *name, bool milli)
{
	const json_t *req = json_object_get(resources, "requests");

	if (json_object_get(req, name) != NULL)
		return quantity_of(req, name, milli);
	return quantity_of(json_object_get(resources, "limits"), name, milli);
}

static void container_requests(const json_t *c, struct sched_resources *r, bool nonzero)
{
	const json_t *res = json_object_get(c, "resources");

	r->milli_cpu = container_quantity(res, "cpu", true);
	r->memory = container_quantity(res, "memory", false);
	r->ephemeral = container_quantity(res, "ephemeral-storage", false);
	if (nonzero) {
		const json_t *req = json_object_get(res, "requests");
		const json_t *lim = json_object_get(res, "limits");
		if (!json_object_get(req, "cpu") && !json_object_get(lim, "cpu"))
			r->milli_cpu = DEFAULT_MILLI_CPU;
		if (!json_object_get(req, "memory") && !json_object_get(lim, "memory"))
			r->memory = DEFAULT_MEMORY;
	}
}

static void add(struct sched_resources *a, const struct sched_resources *b)
{
	a->milli_cpu += b->milli_cpu;
	a->memory += b->memory;
	a->ephemeral += b->ephemeral;
}

static void max_into(struct sched_resources *a, const struct sched_resources *b)
{
	if (b->milli_cpu > a->milli_cpu)
		a->milli_cpu = b->milli_cpu;
	if (b->memory > a->memory)
		a->memory = b->memory;
	if (b->ephemeral > a->ephemeral)
		a->ephemeral = b->ephemeral;
}

static bool restartable(const json_t *c)
{
	const char *rp = str(c, "restartPolicy");
	return rp != NULL && strcmp(rp, "Always") == 0;
}

/* component-helpers' PodRequests: containers run together, init
 * containers one at a time, each beside the sidecars (restartable init
 * containers) started before it; then the overhead. */
static void requests(const json_t *spec, struct sched_resources *out, bool nonzero)
{
	struct sched_resources sum = {0}, sidecars = {0}, init_max = {0}, r;
	size_t i;
	json_t *c;

	json_array_foreach(json_object_get(spec, "containers"), i, c) {
		container_requests(c, &r, nonzero);
		add(&sum, &r);
	}
	json_array_foreach(json_object_get(spec, "initContainers"), i, c) {
		container_requests(c, &r, nonzero);
		if (restartable(c)) {
			add(&sum, &r);
			add(&sidecars, &r);
			r = sidecars;
		} else {
			add(&r, &sidecars);
		}
		max_into(&init_max, &r);
	}
	max_into(&sum, &init_max);
	const json_t *overhead = json_object_get(spec, "overhead");
	r.milli_cpu = quantity_of(overhead, "cpu", true);
	r.memory = quantity_of(overhead, "memory", false);
	r.ephemeral = quantity_of(overhead, "ephemeral-storage", false);
	add(&sum, &r);
	*out = sum;
}

void sched_pod_requests(const json_t *spec, struct sched_resources *req,
			struct sched_resources *nonzero)
{
	requests(spec, req, false);
	if (nonzero != NULL)
		requests(spec, nonzero, true);
}

static int add_ports(struct sched_pod *p, const json_t *c)
{
	size_t i;
	json_t *port;

	json_array_foreach(json_object_get(c, "ports"), i, port) {
		json_int_t hp = json_integer_value(json_object_get(port, "hostPort"));
		if (hp <= 0)
			continue;
		struct sched_port *np = realloc(p->ports, (p->n_ports + 1) * sizeof *np);
		if (np == NULL)
			return MK_ENOMEM;
		p->ports = np;
		struct sched_port *sp = &p->ports[p->n_ports++];
		const char *ip = str(port, "hostIP"), *proto = str(port, "protocol");
		snprintf(sp->ip, sizeof sp->ip, "%s", ip && ip[0] ? ip : "0.0.0.0");
		snprintf(sp->protocol, sizeof sp->protocol, "%s", proto && proto[0] ? proto : "TCP");
		sp->port = (int)hp;
	}
	return MK_OK;
}

/* The host ports of the containers and of the sidecars (kube-scheduler's
 * NodePorts counts both: they run for the pod's whole life). */
static int parse_ports(struct sched_pod *p, const json_t *spec)
{
	size_t i;
	json_t *c;

	json_array_foreach(json_object_get(spec, "containers"), i, c)
		if (add_ports(p, c) != MK_OK)
			return MK_ENOMEM;
	json_array_foreach(json_object_get(spec, "initContainers"), i, c)
		if (restartable(c) && add_ports(p, c) != MK_OK)
			return MK_ENOMEM;
	return MK_OK;
}

static void terms_free(struct sched_terms *t)
{
	for (size_t i = 0; i < t->n; i++) {
		label_selector_free(t->v[i].selector);
		label_selector_free(t->v[i].ns_selector);
	}
	free(t->v);
	t->v = NULL;
	t->n = 0;
}

/* A PodAffinityTerm into out. */
static int parse_term(const json_t *term, int weight, struct sched_term *out, char *errmsg,
		      size_t len)
{
	const json_t *sel = json_object_get(term, "labelSelector");
	const json_t *nss = json_object_get(term, "namespaceSelector");
	char err[256] = "";

	memset(out, 0, sizeof *out);
	out->weight = weight;
	out->topology_key = str(term, "topologyKey");
	if (out->topology_key == NULL)
		out->topology_key = "";
	out->namespaces = json_object_get(term, "namespaces");
	if (sel != NULL && !json_is_null(sel) &&
	    label_selector_from_json(sel, &out->selector, err, sizeof err) != MK_OK)
		goto bad;
	if (nss != NULL && !json_is_null(nss) &&
	    label_selector_from_json(nss, &out->ns_selector, err, sizeof err) != MK_OK)
		goto bad;
	return MK_OK;
bad:
	label_selector_free(out->selector);
	out->selector = NULL;
	snprintf(errmsg, len, "a pod affinity term's selector: %s", err);
	return MK_EINVAL;
}

/* required: a list of PodAffinityTerms; else WeightedPodAffinityTerms.
 * A term that does not parse stays, selecting nothing: MK_EINVAL at the
 * end, with the first error in errmsg. */
static int parse_terms(const json_t *list, bool required, struct sched_terms *out, char *errmsg,
		       size_t len)
{
	size_t n = json_array_size(list), i;
	json_t *it;
	int rv = MK_OK;

	if (n == 0)
		return MK_OK;
	out->v = calloc(n, sizeof *out->v);
	if (out->v == NULL)
		return MK_ENOMEM;
	json_array_foreach(list, i, it) {
		const json_t *term = required ? it : json_object_get(it, "podAffinityTerm");
		int w = required ? 1 : (int)json_integer_value(json_object_get(it, "weight"));
		if (parse_term(term, w, &out->v[out->n], errmsg, rv == MK_OK ? len : 0) != MK_OK)
			rv = MK_EINVAL;
		out->n++;
	}
	return rv;
}

static int parse_affinity(struct sched_pod *p, const json_t *affinity, char *errmsg, size_t len)
{
	const json_t *pa = json_object_get(affinity, "podAffinity");
	const json_t *paa = json_object_get(affinity, "podAntiAffinity");
	const char *req = "requiredDuringSchedulingIgnoredDuringExecution";
	const char *pref = "preferredDuringSchedulingIgnoredDuringExecution";
	struct {
		const json_t *list;
		bool required;
		struct sched_terms *out;
	} all[] = {
		{json_object_get(pa, req), true, &p->affinity},
		{json_object_get(paa, req), true, &p->anti_affinity},
		{json_object_get(pa, pref), false, &p->pref_affinity},
		{json_object_get(paa, pref), false, &p->pref_anti_affinity},
	};
	int rv = MK_OK;

	for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
		int r = parse_terms(all[i].list, all[i].required, all[i].out, errmsg,
				    rv == MK_OK ? len : 0);
		if (r == MK_ENOMEM)
			return r;
		if (r != MK_OK)
			rv = r;
	}
	return rv;
}

int sched_pod_new(json_t *obj, struct sched_pod **out, char *errmsg, size_t len)
{
	const json_t *meta = json_object_get(obj, "metadata");
	const json_t *spec = json_object_get(obj, "spec");
	struct sched_pod *p = calloc(1, sizeof *p);
	int rv = MK_ENOMEM;
	size_t i;
	json_t *ref;

	(void)len;
	if (p == NULL)
		goto fail;
	p->obj = json_incref(obj);
	p->ns = str(meta, "namespace") ? str(meta, "namespace") : "";
	p->name = str(meta, "name") ? str(meta, "name") : "";
	p->uid = str(meta, "uid") ? str(meta, "uid") : "";
	p->labels = json_object_get(meta, "labels");
	json_array_foreach(json_object_get(meta, "ownerReferences"), i, ref)
		if (json_is_true(json_object_get(ref, "controller")))
			p->owner_uid = str(ref, "uid");
	sched_pod_requests(spec, &p->req, &p->nonzero);
	if (parse_ports(p, spec) != MK_OK)
		goto fail;
	/* A term that does not parse selects nothing; the pod says why, and
	 * is not placed (upstream fails its PreFilter), but still counts
	 * where it runs. */
	rv = parse_affinity(p, json_object_get(spec, "affinity"), p->error, sizeof p->error);
	if (rv == MK_ENOMEM)
		goto fail;
	const char *node = str(spec, "nodeName");
	snprintf(p->node, sizeof p->node, "%s", node ? node : "");
	*out = p;
	return MK_OK;
fail:
	snprintf(errmsg, len, "out of memory");
	sched_pod_free(p);
	return rv;
}

void sched_pod_free(struct sched_pod *p)
{
	if (p == NULL)
		return;
	terms_free(&p->affinity);
	terms_free(&p->anti_affinity);
	terms_free(&p->pref_affinity);
	terms_free(&p->pref_anti_affinity);
	free(p->ports);
	json_decref(p->obj);
	free(p);
}

bool sched_pod_has_terms(const struct sched_pod *p)
{
	return p->affinity.n || p->anti_affinity.n || p->pref_affinity.n ||
	       p->pref_anti_affinity.n;
}

/* The namespaces a term covers (upstream's AffinityTerm): its list and
 * its namespaceSelector's matches; neither means the owner's namespace,
 * an empty namespaceSelector every namespace. */
static bool term_namespace(const struct sched_term *t, const char *owner_ns, const char *ns,
			   sched_ns_labels_fn ns_labels, void *ns_arg)
{
	size_t i;
	json_t *v;

	if (json_array_size(t->namespaces) == 0 && t->ns_selector == NULL)
		return strcmp(owner_ns, ns) == 0;
	json_array_foreach(t->namespaces, i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), ns) == 0)
			return true;
	if (t->ns_selector == NULL)
		return false;
	const json_t *labels = ns_labels != NULL ? ns_labels(ns_arg, ns) : NULL;
	return label_selector_matches(t->ns_selector, labels);
}

bool sched_term_matches(const struct sched_term *t, const char *owner_ns,
			const struct sched_pod *p, sched_ns_labels_fn ns_labels, void *ns_arg)
{
	if (t->selector == NULL || !label_selector_matches(t->selector, p->labels))
		return false;
	return term_namespace(t, owner_ns, p->ns, ns_labels, ns_arg);
}
