/*
 * NodeResourcesFit and NodePorts: what the pods already on a node (bound
 * or assumed) leave for one more.  Both are "unschedulable" rather than
 * "unresolvable" in kube-scheduler 1.32: removing pods could help.
 */
#include <stdio.h>
#include <string.h>

#include "sched_internal.h"

static void add_reason(struct sched_status *st, const char *reason)
{
	if (st->n < SCHED_REASONS)
		snprintf(st->reason[st->n++], SCHED_REASON_LEN, "%s", reason);
	st->code = SCHED_UNSCHEDULABLE;
}

enum sched_code sched_filter_resources(const struct sched_pod *p, const struct sched_node *n,
				       struct sched_status *st)
{
	const struct sched_resources *want = &p->req, *used = &n->requested, *alloc = &n->alloc;

	st->code = SCHED_FIT;
	st->n = 0;
	if ((int64_t)n->n_pods + 1 > n->alloc_pods)
		add_reason(st, "Too many pods");
	if (want->milli_cpu > 0 && want->milli_cpu > alloc->milli_cpu - used->milli_cpu)
		add_reason(st, "Insufficient cpu");
	if (want->memory > 0 && want->memory > alloc->memory - used->memory)
		add_reason(st, "Insufficient memory");
	if (want->ephemeral > 0 && want->ephemeral > alloc->ephemeral - used->ephemeral)
		add_reason(st, "Insufficient ephemeral-storage");
	return st->code;
}

/* Two host ports clash on the same protocol and port when either listens
 * on every address or both on the same one. */
static bool ports_clash(const struct sched_port *a, const struct sched_port *b)
{
	if (a->port != b->port || strcmp(a->protocol, b->protocol) != 0)
		return false;
	return strcmp(a->ip, "0.0.0.0") == 0 || strcmp(b->ip, "0.0.0.0") == 0 ||
	       strcmp(a->ip, b->ip) == 0;
}

enum sched_code sched_filter_ports(const struct sched_pod *p, const struct sched_node *n,
				   struct sched_status *st)
{
	st->code = SCHED_FIT;
	st->n = 0;
	for (size_t i = 0; i < p->n_ports; i++)
		for (size_t k = 0; k < n->n_pods; k++)
			for (size_t j = 0; j < n->pods[k]->n_ports; j++)
				if (ports_clash(&p->ports[i], &n->pods[k]->ports[j])) {
					add_reason(st, "node(s) didn't have free ports for the "
						       "requested pod ports");
					return st->code;
				}
	return st->code;
}
