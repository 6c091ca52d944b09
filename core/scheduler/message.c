/*
 * kube-scheduler's FitError text, which people grep for and tools parse:
 *
 *   0/3 nodes are available: 1 Insufficient cpu, 2 node(s) had untolerated
 *   taint {node-role.kubernetes.io/control-plane: }. preemption: 0/3 nodes
 *   are available: 1 No preemption victims found for incoming pod, 2
 *   Preemption is not helpful for scheduling.
 *
 * Each reason is counted over the nodes, "COUNT REASON" strings are sorted
 * as strings (so "10 x" comes before "2 y", as Go's sort.Strings does),
 * and joined with ", ".  The second half is what DefaultPreemption says
 * when no pod has a lower priority than the incoming one, which is always
 * so in mk (no PriorityClasses): a node that failed with an "unresolvable"
 * status cannot be helped, the others have no victims.  A pod with
 * preemptionPolicy Never is "not eligible" instead.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sched_internal.h"

struct histogram {
	const char **reason;
	size_t *count;
	size_t n;
};

static void count(struct histogram *h, const char *reason, size_t by)
{
	for (size_t i = 0; i < h->n; i++)
		if (strcmp(h->reason[i], reason) == 0) {
			h->count[i] += by;
			return;
		}
	h->reason[h->n] = reason;
	h->count[h->n++] = by;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* "0/N nodes are available: A, B." appended to out. */
static void append_histogram(char **out, size_t *len, size_t n_nodes, struct histogram *h)
{
	char **parts = calloc(h->n ? h->n : 1, sizeof *parts);
	bool all = true;
	FILE *f;
	size_t i;

	if (parts == NULL)
		return;
	for (i = 0; i < h->n; i++)
		if (asprintf(&parts[i], "%zu %s", h->count[i], h->reason[i]) < 0) {
			parts[i] = NULL;
			all = false;
		}
	if (all)
		qsort(parts, h->n, sizeof *parts, cmp_str);
	f = open_memstream(out, len);
	if (f != NULL) {
		fprintf(f, "0/%zu nodes are available:", n_nodes);
		for (i = 0; i < h->n; i++)
			fprintf(f, "%s%s", i ? ", " : " ", parts[i] ? parts[i] : "?");
		fputs(h->n ? "." : "", f);
		fclose(f);
	}
	for (i = 0; i < h->n; i++)
		free(parts[i]);
	free(parts);
}

char *sched_fit_message(size_t n_nodes, const struct sched_status *st, size_t n,
			bool may_preempt)
{
	size_t max = n * SCHED_REASONS + 2;
	struct histogram filters = {calloc(max, sizeof(char *)), calloc(max, sizeof(size_t)), 0};
	struct histogram preempt = {calloc(2, sizeof(char *)), calloc(2, sizeof(size_t)), 0};
	char *first = NULL, *second = NULL, *msg = NULL;
	size_t l1 = 0, l2 = 0;
	size_t unresolvable = 0;

	if (!filters.reason || !filters.count || !preempt.reason || !preempt.count)
		goto out;
	for (size_t i = 0; i < n; i++) {
		for (int r = 0; r < st[i].n; r++)
			count(&filters, st[i].reason[r], 1);
		unresolvable += st[i].code == SCHED_UNRESOLVABLE;
	}
	if (n - unresolvable > 0)
		count(&preempt, "No preemption victims found for incoming pod", n - unresolvable);
	if (unresolvable > 0)
		count(&preempt, "Preemption is not helpful for scheduling", unresolvable);
	append_histogram(&first, &l1, n_nodes, &filters);
	if (may_preempt)
		append_histogram(&second, &l2, n_nodes, &preempt);
	else
		second = strdup("not eligible due to preemptionPolicy=Never.");
	if (first != NULL && second != NULL && asprintf(&msg, "%s preemption: %s", first, second) < 0)
		msg = NULL;
out:
	free(filters.reason);
	free(filters.count);
	free(preempt.reason);
	free(preempt.count);
	free(first);
	free(second);
	return msg;
}
