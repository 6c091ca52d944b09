/*
 * The scheduler's filters, scores and message as pure functions over JSON
 * nodes and pods (core/scheduler/sched_internal.h), and its queue and
 * cache.  Expected strings are kube-scheduler 1.32's.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/base/err.h"
#include "../../core/scheduler/sched_internal.h"

/* JSON written with ' for " so that fixtures stay readable. */
static json_t *J(const char *text)
{
	char *s = strdup(text);
	json_error_t e;

	for (char *p = s; *p; p++)
		if (*p == '\'')
			*p = '"';
	json_t *v = json_loads(s, 0, &e);
	if (v == NULL)
		fail_msg("bad fixture (%s): %s", e.text, s);
	free(s);
	return v;
}

#define MAX_NODES 8
#define MAX_PODS 32

/* A small cluster: nodes with pods on them. */
struct world {
	struct sched_node *nodes[MAX_NODES];
	size_t n_nodes;
	struct sched_pod *pods[MAX_PODS];
	size_t n_pods;
	struct sched_cluster c;
};

static struct sched_pod *pod(const char *text)
{
	json_t *obj = J(text);
	struct sched_pod *p;
	char err[128];

	assert_int_equal(sched_pod_new(obj, &p, err, sizeof err), MK_OK);
	json_decref(obj);
	return p;
}

static struct sched_node *add_node(struct world *w, const char *text)
{
	json_t *obj = J(text);
	struct sched_node *n;

	assert_int_equal(sched_node_new(obj, &n), MK_OK);
	json_decref(obj);
	w->nodes[w->n_nodes++] = n;
	w->c.nodes = w->nodes;
	w->c.n_nodes = w->n_nodes;
	return n;
}

/* A node with room for 10 pods, 4 cpus and 8 GiB, these labels and spec. */
static struct sched_node *node_l(struct world *w, const char *name, const char *labels,
				 const char *spec)
{
	char text[2048];

	snprintf(text, sizeof text,
		 "{'metadata': {'name': '%s', 'labels': %s}, 'spec': %s, 'status': "
		 "{'allocatable': {'cpu': '4', 'memory': '8Gi', 'pods': '10', "
		 "'ephemeral-storage': '10Gi'}}}",
		 name, labels ? labels : "{}", spec ? spec : "{}");
	return add_node(w, text);
}

static void place(struct world *w, struct sched_node *n, const char *text)
{
	struct sched_pod *p = pod(text);

	snprintf(p->node, sizeof p->node, "%s", n->name);
	assert_int_equal(sched_node_add_pod(n, p), MK_OK);
	w->pods[w->n_pods++] = p;
	w->c.n_pods_with_terms += sched_pod_has_terms(p);
}

static void world_free(struct world *w)
{
	for (size_t i = 0; i < w->n_nodes; i++)
		sched_node_free(w->nodes[i]);
	for (size_t i = 0; i < w->n_pods; i++)
		sched_pod_free(w->pods[i]);
	memset(w, 0, sizeof *w);
}

/* --- node filters ---------------------------------------------------------------- */

static void test_unschedulable(void **state)
{
	struct world w = {0};
	struct sched_status st;
	struct sched_node *cordoned = node_l(&w, "a", NULL, "{'unschedulable': true}");
	struct sched_node *open = node_l(&w, "b", NULL, NULL);
	struct sched_pod *plain = pod("{'metadata': {'name': 'p', 'namespace': 'ns'}, 'spec': {}}");
	struct sched_pod *tolerant = pod(
		"{'metadata': {'name': 't', 'namespace': 'ns'}, 'spec': {'tolerations': "
		"[{'key': 'node.kubernetes.io/unschedulable', 'operator': 'Exists', "
		"'effect': 'NoSchedule'}]}}");

	assert_int_equal(sched_filter_unschedulable(plain, cordoned, &st), SCHED_UNRESOLVABLE);
	assert_string_equal(st.reason[0], "node(s) were unschedulable");
	assert_int_equal(sched_filter_unschedulable(plain, open, &st), SCHED_FIT);
	assert_int_equal(sched_filter_unschedulable(tolerant, cordoned, &st), SCHED_FIT);
	sched_pod_free(plain);
	sched_pod_free(tolerant);
	world_free(&w);
}

static void test_node_name(void **state)
{
	struct world w = {0};
	struct sched_status st;
	struct sched_node *a = node_l(&w, "a", NULL, NULL), *b = node_l(&w, "b", NULL, NULL);
	struct sched_pod *p = pod("{'metadata': {'name': 'p'}, 'spec': {'nodeName': 'a'}}");

	assert_int_equal(sched_filter_node_name(p, a, &st), SCHED_FIT);
	assert_int_equal(sched_filter_node_name(p, b, &st), SCHED_UNRESOLVABLE);
	assert_string_equal(st.reason[0], "node(s) didn't match the requested node name");
	sched_pod_free(p);
	world_free(&w);
}

static void test_toleration_matching(void **state)
{
	static const struct {
		const char *toleration, *taint;
		bool tolerates;
	} cases[] = {
		{"{'key': 'k', 'operator': 'Equal', 'value': 'v', 'effect': 'NoSchedule'}",
		 "{'key': 'k', 'value': 'v', 'effect': 'NoSchedule'}", true},
		{"{'key': 'k', 'value': 'v'}", "{'key': 'k', 'value': 'v', 'effect': 'NoExecute'}",
		 true}, /* no operator is Equal, no effect is any */
		{"{'key': 'k', 'value': 'w'}", "{'key': 'k', 'value': 'v', 'effect': 'NoSchedule'}",
		 false},
		{"{'key': 'k', 'operator': 'Exists'}", "{'key': 'k', 'value': 'v', 'effect': 'NoSchedule'}",
		 true},
		{"{'key': 'j', 'operator': 'Exists'}", "{'key': 'k', 'effect': 'NoSchedule'}", false},
		{"{'operator': 'Exists'}", "{'key': 'anything', 'value': 'x', 'effect': 'NoExecute'}",
		 true}, /* empty key with Exists tolerates every taint */
		{"{'key': 'k', 'operator': 'Exists', 'effect': 'NoSchedule'}",
		 "{'key': 'k', 'effect': 'NoExecute'}", false},
		{"{'key': 'k', 'operator': 'Exists', 'effect': 'PreferNoSchedule'}",
		 "{'key': 'k', 'effect': 'PreferNoSchedule'}", true},
		{"{'key': 'k', 'operator': 'Bogus'}", "{'key': 'k', 'effect': 'NoSchedule'}", false},
		{"{'key': 'k'}", "{'key': 'k', 'effect': 'NoSchedule'}", true}, /* "" == "" */
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		json_t *t = J(cases[i].toleration), *taint = J(cases[i].taint);
		if (sched_toleration_matches(t, taint) != cases[i].tolerates)
			fail_msg("case %zu: %s vs %s", i, cases[i].toleration, cases[i].taint);
		json_decref(t);
		json_decref(taint);
	}
}

static void test_taints_filter(void **state)
{
	struct world w = {0};
	struct sched_status st;
	struct sched_node *cp = node_l(&w, "cp", NULL,
				       "{'taints': [{'key': 'node-role.kubernetes.io/control-plane', "
				       "'effect': 'NoSchedule'}]}");
	struct sched_node *gpu = node_l(&w, "gpu", NULL,
					"{'taints': [{'key': 'soft', 'effect': 'PreferNoSchedule'}, "
					"{'key': 'gpu', 'value': 'yes', 'effect': 'NoExecute'}]}");
	struct sched_node *soft = node_l(&w, "soft", NULL,
					 "{'taints': [{'key': 'soft', 'effect': 'PreferNoSchedule'}]}");
	struct sched_pod *plain = pod("{'metadata': {'name': 'p'}, 'spec': {}}");
	struct sched_pod *gpu_pod = pod("{'metadata': {'name': 'g'}, 'spec': {'tolerations': "
					"[{'key': 'gpu', 'operator': 'Equal', 'value': 'yes'}]}}");

	assert_int_equal(sched_filter_taints(plain, cp, &st), SCHED_UNRESOLVABLE);
	assert_string_equal(st.reason[0],
			    "node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }");
	assert_int_equal(sched_filter_taints(plain, gpu, &st), SCHED_UNRESOLVABLE);
	assert_string_equal(st.reason[0], "node(s) had untolerated taint {gpu: yes}");
	assert_int_equal(sched_filter_taints(gpu_pod, gpu, &st), SCHED_FIT);
	/* PreferNoSchedule only scores. */
	assert_int_equal(sched_filter_taints(plain, soft, &st), SCHED_FIT);
	struct sched_node *v[] = {soft, gpu};
	int64_t s[2];
	sched_score_taints(gpu_pod, v, 2, s);
	assert_int_equal(s[0], 0); /* 1 intolerable PreferNoSchedule taint each: max */
	struct sched_node *v2[] = {soft, cp};
	sched_score_taints(plain, v2, 2, s);
	assert_int_equal(s[0], 0);
	assert_int_equal(s[1], 100);
	sched_pod_free(plain);
	sched_pod_free(gpu_pod);
	world_free(&w);
}

static void test_node_selector(void **state)
{
	struct world w = {0};
	struct sched_status st;
	struct sched_node *ssd = node_l(&w, "ssd", "{'disk': 'ssd', 'zone': 'a'}", NULL);
	struct sched_node *hdd = node_l(&w, "hdd", "{'disk': 'hdd'}", NULL);
	struct sched_pod *p = pod("{'metadata': {'name': 'p'}, 'spec': {'nodeSelector': "
				  "{'disk': 'ssd'}}}");

	assert_int_equal(sched_filter_node_affinity(p, ssd, &st), SCHED_FIT);
	assert_int_equal(sched_filter_node_affinity(p, hdd, &st), SCHED_UNRESOLVABLE);
	assert_string_equal(st.reason[0], "node(s) didn't match Pod's node affinity/selector");
	sched_pod_free(p);
	world_free(&w);
}

/* One required term with one expression against labels. */
static bool expr_matches(const char *expr, const char *labels)
{
	char spec[1024], node[512];

	snprintf(spec, sizeof spec,
		 "{'affinity': {'nodeAffinity': {'requiredDuringSchedulingIgnoredDuringExecution': "
		 "{'nodeSelectorTerms': [{'matchExpressions': [%s]}]}}}}", expr);
	snprintf(node, sizeof node, "{'metadata': {'name': 'n1', 'labels': %s}}", labels);
	json_t *s = J(spec), *n = J(node);
	bool ok = sched_node_fits_selector(s, n);
	json_decref(s);
	json_decref(n);
	return ok;
}

static void test_affinity_operators(void **state)
{
	const char *L = "{'zone': 'a', 'cores': '8'}";

	assert_true(expr_matches("{'key': 'zone', 'operator': 'In', 'values': ['a', 'b']}", L));
	assert_false(expr_matches("{'key': 'zone', 'operator': 'In', 'values': ['c']}", L));
	assert_false(expr_matches("{'key': 'x', 'operator': 'In', 'values': ['a']}", L));
	assert_false(expr_matches("{'key': 'zone', 'operator': 'In', 'values': []}", L));
	assert_true(expr_matches("{'key': 'zone', 'operator': 'NotIn', 'values': ['c']}", L));
	assert_false(expr_matches("{'key': 'zone', 'operator': 'NotIn', 'values': ['a']}", L));
	assert_true(expr_matches("{'key': 'x', 'operator': 'NotIn', 'values': ['a']}", L));
	assert_true(expr_matches("{'key': 'zone', 'operator': 'Exists'}", L));
	assert_false(expr_matches("{'key': 'x', 'operator': 'Exists'}", L));
	assert_true(expr_matches("{'key': 'x', 'operator': 'DoesNotExist'}", L));
	assert_false(expr_matches("{'key': 'zone', 'operator': 'DoesNotExist'}", L));
	assert_true(expr_matches("{'key': 'cores', 'operator': 'Gt', 'values': ['4']}", L));
	assert_false(expr_matches("{'key': 'cores', 'operator': 'Gt', 'values': ['8']}", L));
	assert_true(expr_matches("{'key': 'cores', 'operator': 'Lt', 'values': ['9']}", L));
	assert_false(expr_matches("{'key': 'zone', 'operator': 'Lt', 'values': ['9']}", L));
	assert_false(expr_matches("{'key': 'cores', 'operator': 'Gt', 'values': ['1', '2']}", L));
	assert_false(expr_matches("{'key': 'zone', 'operator': 'Near', 'values': ['a']}", L));
	/* Expressions are ANDed. */
	assert_false(expr_matches("{'key': 'zone', 'operator': 'In', 'values': ['a']}, "
				  "{'key': 'cores', 'operator': 'Lt', 'values': ['2']}", L));

	/* Terms are ORed; matchFields names the node; an empty term matches nothing. */
	json_t *n = J("{'metadata': {'name': 'n1', 'labels': {'zone': 'a'}}}");
	json_t *s = J("{'affinity': {'nodeAffinity': {'requiredDuringSchedulingIgnoredDuringExecution':"
		      " {'nodeSelectorTerms': [{'matchExpressions': [{'key': 'zone', 'operator': "
		      "'In', 'values': ['z']}]}, {'matchFields': [{'key': 'metadata.name', "
		      "'operator': 'In', 'values': ['n1']}]}]}}}}");
	assert_true(sched_node_fits_selector(s, n));
	json_decref(s);
	s = J("{'affinity': {'nodeAffinity': {'requiredDuringSchedulingIgnoredDuringExecution':"
	      " {'nodeSelectorTerms': [{'matchFields': [{'key': 'metadata.name', "
	      "'operator': 'NotIn', 'values': ['n1']}]}, {}]}}}}");
	assert_false(sched_node_fits_selector(s, n));
	json_decref(s);
	/* nodeSelector and affinity must both hold. */
	s = J("{'nodeSelector': {'zone': 'b'}, 'affinity': {'nodeAffinity': "
	      "{'requiredDuringSchedulingIgnoredDuringExecution': {'nodeSelectorTerms': "
	      "[{'matchExpressions': [{'key': 'zone', 'operator': 'Exists'}]}]}}}}");
	assert_false(sched_node_fits_selector(s, n));
	json_decref(s);
	json_decref(n);
}

static void test_preferred_node_affinity_score(void **state)
{
	struct world w = {0};
	struct sched_node *a = node_l(&w, "a", "{'zone': 'a'}", NULL);
	struct sched_node *b = node_l(&w, "b", "{'zone': 'b'}", NULL);
	struct sched_pod *p = pod(
		"{'metadata': {'name': 'p'}, 'spec': {'affinity': {'nodeAffinity': "
		"{'preferredDuringSchedulingIgnoredDuringExecution': [{'weight': 20, 'preference': "
		"{'matchExpressions': [{'key': 'zone', 'operator': 'In', 'values': ['b']}]}}, "
		"{'weight': 5, 'preference': {'matchExpressions': [{'key': 'zone', 'operator': "
		"'Exists'}]}}]}}}}");
	struct sched_node *v[] = {a, b};
	int64_t s[2];

	sched_score_node_affinity(p, v, 2, s);
	assert_int_equal(s[0], 20); /* 5 of 25 */
	assert_int_equal(s[1], 100);
	sched_pod_free(p);
	world_free(&w);
}

/* --- resources and ports ------------------------------------------------------------- */

static void test_requests_with_init_containers(void **state)
{
	struct sched_resources r, nz;
	/* containers 3 cpu / 2Gi; init max 4 cpu / 1Gi; overhead 100m */
	json_t *spec = J("{'containers': [{'resources': {'requests': {'cpu': '2', 'memory': '1Gi'}}},"
			 " {'resources': {'requests': {'cpu': '1', 'memory': '1Gi'}}}],"
			 " 'initContainers': [{'resources': {'requests': {'cpu': '4'}}},"
			 " {'resources': {'requests': {'cpu': '500m', 'memory': '1Gi'}}}],"
			 " 'overhead': {'cpu': '100m'}}");

	sched_pod_requests(spec, &r, &nz);
	assert_int_equal(r.milli_cpu, 4100);
	assert_int_equal(r.memory, 2LL << 30);
	json_decref(spec);

	/* A sidecar runs beside everything after it; limits stand for
	 * missing requests; nothing requested counts 100m / 200Mi for scores. */
	spec = J("{'initContainers': [{'restartPolicy': 'Always', 'resources': {'requests': "
		 "{'cpu': '1'}}}, {'resources': {'requests': {'cpu': '2'}}}],"
		 " 'containers': [{'resources': {'limits': {'cpu': '500m', 'memory': '64Mi'}}},"
		 " {'name': 'bare'}]}");
	sched_pod_requests(spec, &r, &nz);
	assert_int_equal(r.milli_cpu, 3000); /* max(0.5 + 1, 2 + 1) */
	assert_int_equal(r.memory, 64LL << 20);
	assert_int_equal(nz.milli_cpu, 3000);
	assert_int_equal(nz.memory, (64LL << 20) + (200LL << 20) + (200LL << 20));
	json_decref(spec);
}

static void test_resources_filter(void **state)
{
	struct world w = {0};
	struct sched_status st;
	struct sched_node *n = node_l(&w, "n", NULL, NULL); /* 4 cpu, 8Gi, 10 pods */
	struct sched_pod *big = pod("{'metadata': {'name': 'big'}, 'spec': {'containers': "
				    "[{'resources': {'requests': {'cpu': '3', 'memory': '7Gi'}}}]}}");
	struct sched_pod *init = pod("{'metadata': {'name': 'i'}, 'spec': {'containers': "
				     "[{'resources': {'requests': {'cpu': '100m'}}}], 'initContainers': "
				     "[{'resources': {'requests': {'cpu': '2'}}}]}}");

	assert_int_equal(sched_filter_resources(big, n, &st), SCHED_FIT);
	place(&w, n, "{'metadata': {'name': 'q'}, 'spec': {'containers': [{'resources': "
		     "{'requests': {'cpu': '2', 'memory': '2Gi'}}}]}}");
	assert_int_equal(sched_filter_resources(big, n, &st), SCHED_UNSCHEDULABLE);
	assert_int_equal(st.n, 2);
	assert_string_equal(st.reason[0], "Insufficient cpu");
	assert_string_equal(st.reason[1], "Insufficient memory");
	/* The init container's 2 cpus fit in what is left; 2.1 would not. */
	assert_int_equal(sched_filter_resources(init, n, &st), SCHED_FIT);
	place(&w, n, "{'metadata': {'name': 'r'}, 'spec': {'containers': [{'resources': "
		     "{'requests': {'cpu': '100m'}}}]}}");
	assert_int_equal(sched_filter_resources(init, n, &st), SCHED_UNSCHEDULABLE);
	assert_string_equal(st.reason[0], "Insufficient cpu");
	for (int i = 0; i < 8; i++)
		place(&w, n, "{'metadata': {'name': 'x'}, 'spec': {}}");
	struct sched_pod *tiny = pod("{'metadata': {'name': 't'}, 'spec': {}}");
	assert_int_equal(sched_filter_resources(tiny, n, &st), SCHED_UNSCHEDULABLE);
	assert_string_equal(st.reason[0], "Too many pods");
	sched_pod_free(big);
	sched_pod_free(init);
	sched_pod_free(tiny);
	world_free(&w);
}

static void test_host_ports(void **state)
{
	struct world w = {0};
	struct sched_status st;
	struct sched_node *n = node_l(&w, "n", NULL, NULL);
	struct sched_pod *any80 = pod("{'metadata': {'name': 'a'}, 'spec': {'containers': "
				      "[{'ports': [{'containerPort': 80, 'hostPort': 8080}]}]}}");
	struct sched_pod *ip80 = pod("{'metadata': {'name': 'b'}, 'spec': {'containers': "
				     "[{'ports': [{'containerPort': 80, 'hostPort': 8080, "
				     "'hostIP': '10.0.0.2'}]}]}}");
	struct sched_pod *udp = pod("{'metadata': {'name': 'c'}, 'spec': {'containers': "
				    "[{'ports': [{'containerPort': 80, 'hostPort': 8080, "
				    "'protocol': 'UDP'}]}]}}");
	struct sched_pod *other = pod("{'metadata': {'name': 'd'}, 'spec': {'containers': "
				      "[{'ports': [{'containerPort': 80, 'hostPort': 8080, "
				      "'hostIP': '10.0.0.3'}]}]}}");

	assert_int_equal(sched_filter_ports(any80, n, &st), SCHED_FIT);
	place(&w, n, "{'metadata': {'name': 'e'}, 'spec': {'containers': [{'ports': "
		     "[{'containerPort': 80, 'hostPort': 8080, 'hostIP': '10.0.0.2'}]}]}}");
	/* 0.0.0.0 clashes with every address; two addresses do not clash. */
	assert_int_equal(sched_filter_ports(any80, n, &st), SCHED_UNSCHEDULABLE);
	assert_string_equal(st.reason[0],
			    "node(s) didn't have free ports for the requested pod ports");
	assert_int_equal(sched_filter_ports(ip80, n, &st), SCHED_UNSCHEDULABLE);
	assert_int_equal(sched_filter_ports(other, n, &st), SCHED_FIT);
	assert_int_equal(sched_filter_ports(udp, n, &st), SCHED_FIT);
	sched_pod_free(any80);
	sched_pod_free(ip80);
	sched_pod_free(udp);
	sched_pod_free(other);
	world_free(&w);
}

/* --- inter-pod affinity ------------------------------------------------------------- */

static enum sched_code interpod(struct world *w, struct sched_pod *p, struct sched_node *n,
				struct sched_status *st)
{
	struct sched_interpod *ip;

	assert_int_equal(sched_interpod_prepare(&w->c, p, &ip), MK_OK);
	enum sched_code code = sched_filter_interpod(ip, n, st);
	sched_interpod_free(ip);
	return code;
}

#define HOST(n) "{'kubernetes.io/hostname': '" n "', 'topology.kubernetes.io/zone': 'z1'}"

static void test_anti_affinity(void **state)
{
	struct world w = {0};
	struct sched_status st;
	struct sched_node *a = node_l(&w, "a", HOST("a"), NULL);
	struct sched_node *b = node_l(&w, "b", HOST("b"), NULL);
	place(&w, a, "{'metadata': {'name': 'web-1', 'namespace': 'ns', 'labels': {'app': 'web'}}}");
	place(&w, b, "{'metadata': {'name': 'web-x', 'namespace': 'other', 'labels': {'app': 'web'}}}");
	struct sched_pod *p = pod(
		"{'metadata': {'name': 'web-2', 'namespace': 'ns', 'labels': {'app': 'web'}}, "
		"'spec': {'affinity': {'podAntiAffinity': {'requiredDuringSchedulingIgnoredDuringExecution': "
		"[{'labelSelector': {'matchLabels': {'app': 'web'}}, 'topologyKey': "
		"'kubernetes.io/hostname'}]}}}}");

	assert_int_equal(interpod(&w, p, a, &st), SCHED_UNSCHEDULABLE);
	assert_string_equal(st.reason[0], "node(s) didn't match pod anti-affinity rules");
	/* The pod on b is in another namespace: the term covers its own. */
	assert_int_equal(interpod(&w, p, b, &st), SCHED_FIT);
	sched_pod_free(p);
	/* Across zones, both nodes share the zone. */
	p = pod("{'metadata': {'name': 'web-3', 'namespace': 'ns'}, "
		"'spec': {'affinity': {'podAntiAffinity': {'requiredDuringSchedulingIgnoredDuringExecution': "
		"[{'labelSelector': {'matchLabels': {'app': 'web'}}, 'topologyKey': "
		"'topology.kubernetes.io/zone'}]}}}}");
	assert_int_equal(interpod(&w, p, b, &st), SCHED_UNSCHEDULABLE);
	sched_pod_free(p);
	/* namespaces lists others too. */
	p = pod("{'metadata': {'name': 'web-4', 'namespace': 'ns'}, "
		"'spec': {'affinity': {'podAntiAffinity': {'requiredDuringSchedulingIgnoredDuringExecution': "
		"[{'labelSelector': {'matchLabels': {'app': 'web'}}, 'namespaces': ['other'], "
		"'topologyKey': 'kubernetes.io/hostname'}]}}}}");
	assert_int_equal(interpod(&w, p, a, &st), SCHED_FIT);
	assert_int_equal(interpod(&w, p, b, &st), SCHED_UNSCHEDULABLE);
	sched_pod_free(p);
	world_free(&w);
}

static void test_anti_affinity_symmetry(void **state)
{
	struct world w = {0};
	struct sched_status st;
	struct sched_node *a = node_l(&w, "a", HOST("a"), NULL);
	struct sched_node *b = node_l(&w, "b", HOST("b"), NULL);
	/* An existing pod that wants no database beside it. */
	place(&w, a, "{'metadata': {'name': 'cache', 'namespace': 'ns'}, 'spec': {'affinity': "
		     "{'podAntiAffinity': {'requiredDuringSchedulingIgnoredDuringExecution': "
		     "[{'labelSelector': {'matchLabels': {'app': 'db'}}, 'topologyKey': "
		     "'kubernetes.io/hostname'}]}}}}");
	struct sched_pod *db = pod("{'metadata': {'name': 'db', 'namespace': 'ns', 'labels': "
				   "{'app': 'db'}}}");
	struct sched_pod *web = pod("{'metadata': {'name': 'web', 'namespace': 'ns', 'labels': "
				    "{'app': 'web'}}}");

	assert_int_equal(interpod(&w, db, a, &st), SCHED_UNSCHEDULABLE);
	assert_string_equal(st.reason[0], "node(s) didn't satisfy existing pods anti-affinity rules");
	assert_int_equal(interpod(&w, db, b, &st), SCHED_FIT);
	assert_int_equal(interpod(&w, web, a, &st), SCHED_FIT);
	sched_pod_free(db);
	sched_pod_free(web);
	world_free(&w);
}

static void test_affinity(void **state)
{
	struct world w = {0};
	struct sched_status st;
	struct sched_node *a = node_l(&w, "a", "{'topology.kubernetes.io/zone': 'z1'}", NULL);
	struct sched_node *b = node_l(&w, "b", "{'topology.kubernetes.io/zone': 'z2'}", NULL);
	struct sched_node *c = node_l(&w, "c", "{}", NULL);
	const char *term = "'spec': {'affinity': {'podAffinity': "
			   "{'requiredDuringSchedulingIgnoredDuringExecution': [{'labelSelector': "
			   "{'matchLabels': {'app': 'cache'}}, 'topologyKey': "
			   "'topology.kubernetes.io/zone'}]}}}}";
	char text[1024];

	/* No pod matches yet: the first of a group matching its own term may
	 * go wherever the key exists; one that does not match may not. */
	snprintf(text, sizeof text, "{'metadata': {'name': 'c1', 'namespace': 'ns', 'labels': "
		 "{'app': 'cache'}}, %s", term);
	struct sched_pod *first = pod(text);
	assert_int_equal(interpod(&w, first, a, &st), SCHED_FIT);
	assert_int_equal(interpod(&w, first, c, &st), SCHED_UNRESOLVABLE);
	snprintf(text, sizeof text, "{'metadata': {'name': 'w1', 'namespace': 'ns'}, %s", term);
	struct sched_pod *web = pod(text);
	assert_int_equal(interpod(&w, web, a, &st), SCHED_UNRESOLVABLE);
	assert_string_equal(st.reason[0], "node(s) didn't match pod affinity rules");
	place(&w, b, "{'metadata': {'name': 'c0', 'namespace': 'ns', 'labels': {'app': 'cache'}}}");
	assert_int_equal(interpod(&w, web, a, &st), SCHED_UNRESOLVABLE);
	assert_int_equal(interpod(&w, web, b, &st), SCHED_FIT);
	sched_pod_free(first);
	sched_pod_free(web);
	world_free(&w);
}

static void test_preferred_anti_affinity_score(void **state)
{
	struct world w = {0};
	struct sched_node *a = node_l(&w, "a", HOST("a"), NULL);
	struct sched_node *b = node_l(&w, "b", HOST("b"), NULL);
	place(&w, a, "{'metadata': {'name': 'w', 'namespace': 'ns', 'labels': {'app': 'web'}}}");
	struct sched_pod *p = pod(
		"{'metadata': {'name': 'p', 'namespace': 'ns'}, 'spec': {'affinity': "
		"{'podAntiAffinity': {'preferredDuringSchedulingIgnoredDuringExecution': "
		"[{'weight': 50, 'podAffinityTerm': {'labelSelector': {'matchLabels': "
		"{'app': 'web'}}, 'topologyKey': 'kubernetes.io/hostname'}}]}}}}");
	struct sched_interpod *ip;
	struct sched_node *v[] = {a, b};
	int64_t s[2];

	assert_int_equal(sched_interpod_prepare(&w.c, p, &ip), MK_OK);
	sched_score_interpod(ip, v, 2, s);
	assert_int_equal(s[0], 0);
	assert_int_equal(s[1], 100);
	sched_interpod_free(ip);
	sched_pod_free(p);
	world_free(&w);
}

/* --- topology spread --------------------------------------------------------------- */

static void test_topology_spread_filter(void **state)
{
	struct world w = {0};
	struct sched_status st;
	struct sched_node *a = node_l(&w, "a", "{'zone': 'z1'}", NULL);
	struct sched_node *b = node_l(&w, "b", "{'zone': 'z2'}", NULL);
	struct sched_node *c = node_l(&w, "c", "{}", NULL);
	place(&w, a, "{'metadata': {'name': 'w1', 'namespace': 'ns', 'labels': {'app': 'web'}}}");
	struct sched_pod *p = pod(
		"{'metadata': {'name': 'w2', 'namespace': 'ns', 'labels': {'app': 'web'}}, 'spec': "
		"{'topologySpreadConstraints': [{'maxSkew': 1, 'topologyKey': 'zone', "
		"'whenUnsatisfiable': 'DoNotSchedule', 'labelSelector': {'matchLabels': "
		"{'app': 'web'}}}]}}");
	struct sched_spread *sp;

	assert_int_equal(sched_spread_prepare(&w.c, p, &sp), MK_OK);
	assert_int_equal(sched_filter_spread(sp, a, &st), SCHED_UNSCHEDULABLE);
	assert_string_equal(st.reason[0], "node(s) didn't match pod topology spread constraints");
	assert_int_equal(sched_filter_spread(sp, b, &st), SCHED_FIT);
	assert_int_equal(sched_filter_spread(sp, c, &st), SCHED_UNRESOLVABLE);
	assert_string_equal(st.reason[0], "node(s) didn't match pod topology spread constraints "
					  "(missing required label)");
	sched_spread_free(sp);
	sched_pod_free(p);
	world_free(&w);
}

static void test_default_spreading_by_owner(void **state)
{
	struct world w = {0};
	struct sched_node *a = node_l(&w, "a", HOST("a"), NULL);
	struct sched_node *b = node_l(&w, "b", HOST("b"), NULL);
	const char *owned = "'ownerReferences': [{'controller': true, 'kind': 'ReplicaSet', "
			    "'name': 'rs', 'uid': 'u-1'}]";
	char text[512];

	snprintf(text, sizeof text, "{'metadata': {'name': 'r1', 'namespace': 'ns', %s}}", owned);
	place(&w, a, text);
	place(&w, b, "{'metadata': {'name': 'stranger', 'namespace': 'ns'}}");
	snprintf(text, sizeof text, "{'metadata': {'name': 'r2', 'namespace': 'ns', %s}}", owned);
	struct sched_pod *p = pod(text);
	struct sched_spread *sp;
	struct sched_node *v[] = {a, b};
	int64_t s[2];

	assert_int_equal(sched_spread_prepare(&w.c, p, &sp), MK_OK);
	sched_score_spread(sp, v, 2, s);
	assert_true(s[1] > s[0]); /* the node without a sibling */
	assert_int_equal(s[1], 100);
	sched_spread_free(sp);
	sched_pod_free(p);
	world_free(&w);
}

/* --- the message ---------------------------------------------------------------------- */

static void status(struct sched_status *st, enum sched_code code, const char *r1, const char *r2)
{
	memset(st, 0, sizeof *st);
	st->code = code;
	snprintf(st->reason[st->n++], SCHED_REASON_LEN, "%s", r1);
	if (r2 != NULL)
		snprintf(st->reason[st->n++], SCHED_REASON_LEN, "%s", r2);
}

static void test_unschedulable_message(void **state)
{
	struct sched_status st[12];
	char *m;

	status(&st[0], SCHED_UNRESOLVABLE, "node(s) didn't match Pod's node affinity/selector", NULL);
	status(&st[1], SCHED_UNRESOLVABLE,
	       "node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }", NULL);
	st[2] = st[1];
	m = sched_fit_message(3, st, 3, true);
	assert_string_equal(m, "0/3 nodes are available: 1 node(s) didn't match Pod's node "
			       "affinity/selector, 2 node(s) had untolerated taint "
			       "{node-role.kubernetes.io/control-plane: }. preemption: 0/3 nodes are "
			       "available: 3 Preemption is not helpful for scheduling.");
	free(m);

	status(&st[0], SCHED_UNSCHEDULABLE, "Insufficient cpu", "Insufficient memory");
	status(&st[1], SCHED_UNSCHEDULABLE, "Insufficient cpu", NULL);
	status(&st[2], SCHED_UNRESOLVABLE, "node(s) were unschedulable", NULL);
	m = sched_fit_message(3, st, 3, true);
	assert_string_equal(m, "0/3 nodes are available: 1 Insufficient memory, 1 node(s) were "
			       "unschedulable, 2 Insufficient cpu. preemption: 0/3 nodes are "
			       "available: 1 Preemption is not helpful for scheduling, 2 No "
			       "preemption victims found for incoming pod.");
	free(m);

	/* Sorted as strings, as Go's sort.Strings: "10 ..." before "2 ...". */
	for (int i = 0; i < 10; i++)
		status(&st[i], SCHED_UNSCHEDULABLE, "Too many pods", NULL);
	status(&st[10], SCHED_UNSCHEDULABLE, "node(s) didn't have free ports for the requested pod "
					     "ports", NULL);
	st[11] = st[10];
	m = sched_fit_message(12, st, 12, false);
	assert_string_equal(m, "0/12 nodes are available: 10 Too many pods, 2 node(s) didn't have "
			       "free ports for the requested pod ports. preemption: not eligible due "
			       "to preemptionPolicy=Never.");
	free(m);
}

/* --- a whole cycle ----------------------------------------------------------------------- */

static void test_cycle(void **state)
{
	struct world w = {0};
	struct sched_node *busy = node_l(&w, "busy", HOST("busy"), NULL);
	struct sched_node *idle = node_l(&w, "idle", HOST("idle"), NULL);
	node_l(&w, "tainted", HOST("tainted"), "{'taints': [{'key': 'k', 'effect': 'NoSchedule'}]}");
	place(&w, busy, "{'metadata': {'name': 'hog'}, 'spec': {'containers': [{'resources': "
			"{'requests': {'cpu': '3', 'memory': '6Gi'}}}]}}");
	struct sched_pod *p = pod("{'metadata': {'name': 'p', 'namespace': 'ns'}, 'spec': "
				  "{'containers': [{'resources': {'requests': {'cpu': '500m'}}}]}}");
	struct sched_node *chosen;
	char *message;
	const char *reason;
	uint64_t rng = 42;

	/* Least allocated: the idle node, every time. */
	for (int i = 0; i < 20; i++) {
		assert_int_equal(sched_schedule_one(&w.c, p, &rng, &chosen, &message, &reason),
				 MK_OK);
		assert_ptr_equal(chosen, idle);
		assert_null(message);
	}
	sched_pod_free(p);
	p = pod("{'metadata': {'name': 'q', 'namespace': 'ns'}, 'spec': {'containers': "
		"[{'resources': {'requests': {'cpu': '5'}}}]}}");
	assert_int_equal(sched_schedule_one(&w.c, p, &rng, &chosen, &message, &reason), MK_OK);
	assert_null(chosen);
	assert_string_equal(reason, "Unschedulable");
	assert_string_equal(message, "0/3 nodes are available: 1 node(s) had untolerated taint "
				     "{k: }, 2 Insufficient cpu. preemption: 0/3 nodes are available: "
				     "1 Preemption is not helpful for scheduling, 2 No preemption "
				     "victims found for incoming pod.");
	free(message);
	sched_pod_free(p);
	world_free(&w);

	/* No nodes at all. */
	p = pod("{'metadata': {'name': 'p'}}");
	assert_int_equal(sched_schedule_one(&w.c, p, &rng, &chosen, &message, &reason), MK_OK);
	assert_string_equal(reason, "SchedulerError");
	assert_string_equal(message, "no nodes available to schedule pods");
	free(message);
	sched_pod_free(p);
}

static void test_ties_are_spread(void **state)
{
	struct world w = {0};
	int hits[3] = {0};
	uint64_t rng = 7;
	struct sched_pod *p = pod("{'metadata': {'name': 'p'}}");

	for (int i = 0; i < 3; i++) {
		char name[8];
		snprintf(name, sizeof name, "n%d", i);
		node_l(&w, name, NULL, NULL);
	}
	for (int i = 0; i < 300; i++) {
		struct sched_node *chosen;
		char *message;
		const char *reason;
		assert_int_equal(sched_schedule_one(&w.c, p, &rng, &chosen, &message, &reason),
				 MK_OK);
		hits[chosen->name[1] - '0']++;
	}
	for (int i = 0; i < 3; i++)
		assert_true(hits[i] > 50);
	sched_pod_free(p);
	world_free(&w);
}

/* --- queue and cache ------------------------------------------------------------------------ */

static void test_queue_backoff(void **state)
{
	struct sched_queue *q = sched_queue_new();
	json_t *p1 = J("{'metadata': {'name': 'a'}, 'spec': {'x': 1}}");
	json_t *p2 = J("{'metadata': {'name': 'a'}, 'spec': {'x': 2}}");
	int64_t wait;

	assert_int_equal(sched_backoff_ms(1), 1000);
	assert_int_equal(sched_backoff_ms(2), 2000);
	assert_int_equal(sched_backoff_ms(4), 8000);
	assert_int_equal(sched_backoff_ms(5), 10000);
	assert_int_equal(sched_backoff_ms(50), 10000);
	sched_queue_upsert(q, "ns/a", p1);
	sched_queue_upsert(q, "ns/b", p1);
	struct sched_qentry *e = sched_queue_pop(q, 0, &wait);
	assert_string_equal(e->key, "ns/a");
	sched_queue_failed(q, e, 0);
	e = sched_queue_pop(q, 0, &wait);
	assert_string_equal(e->key, "ns/b");
	sched_queue_done(q, e);
	assert_null(sched_queue_pop(q, 10, &wait));
	assert_int_equal(wait, 990);
	/* A status-only change does not cut the back-off; a spec change does. */
	sched_queue_upsert(q, "ns/a", p1);
	assert_null(sched_queue_pop(q, 10, &wait));
	sched_queue_upsert(q, "ns/a", p2);
	e = sched_queue_pop(q, 10, &wait);
	assert_non_null(e);
	sched_queue_failed(q, e, 10);
	assert_null(sched_queue_pop(q, 20, &wait));
	assert_int_equal(wait, 1990); /* second failure: 2 s */
	sched_queue_move_all(q);
	assert_non_null(e = sched_queue_pop(q, 20, &wait));
	sched_queue_failed(q, e, 20);
	assert_non_null(sched_queue_pop(q, 20 + 4000, &wait));
	assert_int_equal(sched_queue_len(q), 1);
	sched_queue_free(q);
	json_decref(p1);
	json_decref(p2);
}

static void test_cache_assume(void **state)
{
	struct sched_cache *c = sched_cache_new();
	struct sched_cluster cl;
	bool changed;
	json_t *node = J("{'metadata': {'name': 'n', 'resourceVersion': '1'}, 'status': "
			 "{'allocatable': {'cpu': '1', 'memory': '1Gi', 'pods': '5'}}}");
	json_t *bound = J("{'metadata': {'name': 'p', 'namespace': 'ns', 'resourceVersion': '7'}, "
			  "'spec': {'nodeName': 'n', 'containers': [{'resources': {'requests': "
			  "{'cpu': '600m'}}}]}}");
	json_t *early = J("{'metadata': {'name': 'early', 'namespace': 'ns'}, "
			  "'spec': {'nodeName': 'n', 'containers': [{'resources': {'requests': "
			  "{'cpu': '100m'}}}]}}");

	/* A pod seen before its node waits for it. */
	assert_int_equal(sched_cache_set_pod(c, "ns/early", early), MK_OK);
	assert_int_equal(sched_cache_set_node(c, node, &changed), MK_OK);
	assert_true(changed);
	sched_cache_cluster(c, &cl);
	assert_int_equal(cl.n_nodes, 1);
	assert_int_equal(cl.nodes[0]->requested.milli_cpu, 100);
	assert_int_equal(sched_cache_set_node(c, node, &changed), MK_OK);
	assert_false(changed);

	struct sched_pod *p = pod("{'metadata': {'name': 'p', 'namespace': 'ns'}, 'spec': "
				  "{'containers': [{'resources': {'requests': {'cpu': '600m'}}}]}}");
	assert_int_equal(sched_cache_assume(c, "ns/p", p, "n"), MK_OK);
	assert_int_equal(cl.nodes[0]->requested.milli_cpu, 700); /* counted at once */
	assert_true(sched_cache_has_pod(c, "ns/p"));
	sched_cache_forget(c, "ns/p");
	assert_int_equal(cl.nodes[0]->requested.milli_cpu, 100);
	assert_false(sched_cache_has_pod(c, "ns/p"));

	p = pod("{'metadata': {'name': 'p', 'namespace': 'ns'}, 'spec': "
		"{'containers': [{'resources': {'requests': {'cpu': '600m'}}}]}}");
	assert_int_equal(sched_cache_assume(c, "ns/p", p, "n"), MK_OK);
	/* The informer shows it bound: confirmed, counted once. */
	assert_int_equal(sched_cache_set_pod(c, "ns/p", bound), MK_OK);
	sched_cache_forget(c, "ns/p"); /* no longer assumed: stays */
	assert_int_equal(cl.nodes[0]->requested.milli_cpu, 700);
	assert_int_equal(cl.nodes[0]->n_pods, 2);
	sched_cache_remove_pod(c, "ns/p");
	assert_int_equal(cl.nodes[0]->requested.milli_cpu, 100);
	sched_cache_remove_node(c, "n");
	sched_cache_cluster(c, &cl);
	assert_int_equal(cl.n_nodes, 0);
	sched_cache_free(c);
	json_decref(node);
	json_decref(bound);
	json_decref(early);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unschedulable),
		cmocka_unit_test(test_node_name),
		cmocka_unit_test(test_toleration_matching),
		cmocka_unit_test(test_taints_filter),
		cmocka_unit_test(test_node_selector),
		cmocka_unit_test(test_affinity_operators),
		cmocka_unit_test(test_preferred_node_affinity_score),
		cmocka_unit_test(test_requests_with_init_containers),
		cmocka_unit_test(test_resources_filter),
		cmocka_unit_test(test_host_ports),
		cmocka_unit_test(test_anti_affinity),
		cmocka_unit_test(test_anti_affinity_symmetry),
		cmocka_unit_test(test_affinity),
		cmocka_unit_test(test_preferred_anti_affinity_score),
		cmocka_unit_test(test_topology_spread_filter),
		cmocka_unit_test(test_default_spreading_by_owner),
		cmocka_unit_test(test_unschedulable_message),
		cmocka_unit_test(test_cycle),
		cmocka_unit_test(test_ties_are_spread),
		cmocka_unit_test(test_queue_backoff),
		cmocka_unit_test(test_cache_assume),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
