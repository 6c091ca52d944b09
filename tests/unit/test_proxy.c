/*
 * The service proxy's renderer (Services + EndpointSlices -> nftables
 * text) read as text, and the text given to the kernel: nft --check of
 * everything the renderer writes, and real applies (incremental update,
 * stale chains deleted, affinity members kept, whole replacement of a
 * foreign layout) inside a network namespace of this test's own, so the
 * host's ruleset is never touched.  The kernel parts need root; skipped
 * otherwise.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <nftables/libnftables.h>

#include "../../core/base/err.h"
#include "../../core/proxy/proxy_internal.h"

#define CIDR "10.1.0.0/16"

static json_t *problems; /* keys reported by the last render */

/* JSON with ' for " so that the fixtures stay readable. */
static json_t *J(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static json_t *J(const char *fmt, ...)
{
	char text[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	for (char *p = text; *p; p++)
		if (*p == '\'')
			*p = '"';
	json_error_t e;
	json_t *v = json_loads(text, 0, &e);
	if (v == NULL)
		fail_msg("fixture does not parse: %s: %s", e.text, text);
	return v;
}

/* A Service "default/NAME" whose spec is `spec` (JSON members). */
static json_t *svc(const char *name, const char *spec)
{
	return J("{'metadata':{'namespace':'default','name':'%s','resourceVersion':'7'},"
		 "'spec':{%s}}", name, spec);
}

#define HTTP "'ports':[{'name':'http','port':80,'protocol':'TCP'}]"

/* A slice of Service SVC with one port (name, number) and endpoints. */
static json_t *slice(const char *name, const char *svc_name, const char *port, int num,
		     const char *endpoints)
{
	return J("{'metadata':{'namespace':'default','name':'%s','resourceVersion':'9',"
		 "'labels':{'kubernetes.io/service-name':'%s'}},'addressType':'IPv4',"
		 "'ports':[{'name':'%s','port':%d,'protocol':'TCP'}],'endpoints':[%s]}",
		 name, svc_name, port, num, endpoints);
}

#define EP(ip) "{'addresses':['" ip "'],'conditions':{'ready':true}}"

static void on_problem(void *arg, const char *key, const char *msg)
{
	(void)arg;
	assert_non_null(strstr(msg, "ignored"));
	json_array_append_new(problems, json_string(key));
}

/* Renders; takes the arrays.  Returns the text (caller frees). */
static char *render_opts(json_t *svcs, json_t *slices, bool masq_all, json_t *objects)
{
	struct proxy_model m;
	struct proxy_node node = {.table = "mk-proxy-test", .node_name = "n1", .pod_cidr = CIDR,
				  .masquerade_all = masq_all};
	struct mk_buf b = MK_BUF_INIT;
	char err[256];
	json_t *own = objects ? NULL : json_object();

	json_decref(problems);
	problems = json_array();
	assert_int_equal(proxy_model_build(svcs, slices, &m, on_problem, NULL), MK_OK);
	assert_int_equal(proxy_render(&node, &m, &b, objects ? objects : own, err, sizeof err), MK_OK);
	assert_int_equal(mk_buf_append(&b, "", 1), MK_OK);
	proxy_model_free(&m);
	json_decref(svcs);
	json_decref(slices);
	json_decref(own);
	return (char *)b.data;
}

static char *render(json_t *svcs, json_t *slices)
{
	return render_opts(svcs, slices, false, NULL);
}

static json_t *arr(json_t *a, json_t *b, json_t *c)
{
	json_t *v = json_array();
	if (a)
		json_array_append_new(v, a);
	if (b)
		json_array_append_new(v, b);
	if (c)
		json_array_append_new(v, c);
	return v;
}

static int count(const char *hay, const char *needle)
{
	int n = 0;
	for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

#define HAS(t, s) assert_non_null(strstr((t), (s)))
#define HASNT(t, s) assert_null(strstr((t), (s)))

static void test_cluster_ip_three_endpoints(void **state)
{
	char *t = render(arr(svc("web", "'clusterIP':'10.152.183.50'," HTTP), NULL, NULL),
			 arr(slice("web-1", "web", "http", 80,
				   EP("10.1.0.7") "," EP("10.1.0.5") "," EP("10.1.0.6")), NULL, NULL));
	HAS(t, "table ip mk-proxy-test {");
	HAS(t, "10.152.183.50 . tcp . 80 : goto svc-default/web/tcp/http,");
	HAS(t, "chain svc-default/web/tcp/http {\n"
	       "\t\tip daddr 10.152.183.50 ip saddr != 10.1.0.0/16 jump mark-for-masquerade\n"
	       "\t\tnumgen random mod 3 vmap { 0 : goto ep-default/web/tcp/http__10.1.0.5/80, "
	       "1 : goto ep-default/web/tcp/http__10.1.0.6/80, "
	       "2 : goto ep-default/web/tcp/http__10.1.0.7/80 }\n");
	HAS(t, "chain ep-default/web/tcp/http__10.1.0.6/80 {\n"
	       "\t\tip saddr 10.1.0.6 jump mark-for-masquerade\n"
	       "\t\tmeta l4proto tcp dnat to 10.1.0.6:80\n");
	HAS(t, "type nat hook prerouting priority dstnat;");
	HAS(t, "type nat hook output priority -100;");
	HAS(t, "masquerade fully-random");
	assert_int_equal(count(t, "\tchain ep-"), 3);
	HASNT(t, "no-endpoint-services {\n\t\ttype ipv4_addr . inet_proto . inet_service : verdict\n"
		 "\t\telements");
	assert_int_equal(json_array_size(problems), 0);
	free(t);
}

static void test_named_target_port(void **state)
{
	/* Two slices give "http" different numbers (pods whose containerPort
	 * named http differs); a port of another name is not ours. */
	json_t *s2 = slice("web-2", "web", "http", 9090, EP("10.1.0.9"));
	json_array_append_new(json_object_get(s2, "ports"),
			      J("{'name':'metrics','port':9100,'protocol':'TCP'}"));
	char *t = render(arr(svc("web", "'clusterIP':'10.152.183.50'," HTTP), NULL, NULL),
			 arr(slice("web-1", "web", "http", 8080, EP("10.1.0.5")), s2,
			     slice("web-3", "web", "other", 7000, EP("10.1.0.10"))));
	HAS(t, "dnat to 10.1.0.5:8080");
	HAS(t, "dnat to 10.1.0.9:9090");
	HASNT(t, ":9100");
	HASNT(t, "10.1.0.10");
	HAS(t, "numgen random mod 2 vmap");
	free(t);
}

static void test_node_port(void **state)
{
	char *t = render(arr(svc("np", "'type':'NodePort','clusterIP':'10.152.183.51',"
				 "'ports':[{'name':'http','port':80,'nodePort':30080}]"), NULL, NULL),
			 arr(slice("np-1", "np", "http", 8080, EP("10.1.0.5")), NULL, NULL));
	HAS(t, "fib daddr type local meta l4proto . th dport vmap @service-nodeports");
	HAS(t, "\t\t\ttcp . 30080 : goto ext-default/np/tcp/http,\n");
	HAS(t, "chain ext-default/np/tcp/http {\n\t\tjump mark-for-masquerade\n"
	       "\t\tgoto svc-default/np/tcp/http\n");
	HAS(t, "10.152.183.51 . tcp . 80 : goto svc-default/np/tcp/http");
	free(t);
	/* LoadBalancer is a NodePort here; a ClusterIP's nodePort is not. */
	t = render(arr(svc("lb", "'type':'LoadBalancer','clusterIP':'10.152.183.52',"
			   "'ports':[{'port':443,'nodePort':30443}]"),
		       svc("ci", "'clusterIP':'10.152.183.53','ports':[{'port':53,'protocol':'UDP',"
			   "'nodePort':30053}]"), NULL),
		   arr(slice("lb-1", "lb", "", 8443, EP("10.1.0.6")),
		       J("{'metadata':{'namespace':'default','name':'ci-1','labels':"
			 "{'kubernetes.io/service-name':'ci'}},'addressType':'IPv4','ports':"
			 "[{'port':5353,'protocol':'UDP'}],'endpoints':[" EP("10.1.0.7") "]}"), NULL));
	HAS(t, "tcp . 30443 : goto ext-default/lb/tcp/443,");
	HAS(t, "meta l4proto tcp dnat to 10.1.0.6:8443");
	HAS(t, "10.152.183.53 . udp . 53 : goto svc-default/ci/udp/53,");
	HAS(t, "meta l4proto udp dnat to 10.1.0.7:5353");
	HASNT(t, "30053");
	free(t);
}

static void test_client_ip_affinity(void **state)
{
	char *t = render(arr(svc("sticky", "'clusterIP':'10.152.183.54','sessionAffinity':'ClientIP',"
				 HTTP), svc("short", "'clusterIP':'10.152.183.55','sessionAffinity':"
				 "'ClientIP','sessionAffinityConfig':{'clientIP':{'timeoutSeconds':60}},"
				 HTTP), NULL),
			 arr(slice("s-1", "sticky", "http", 80, EP("10.1.0.5") "," EP("10.1.0.6")),
			     slice("s-2", "short", "http", 80, EP("10.1.0.7")), NULL));
	const char *b = "default/sticky/tcp/http__10.1.0.5/80";
	char want[512];
	snprintf(want, sizeof want, "\tset affinity-%s {\n\t\ttype ipv4_addr\n"
		 "\t\tflags dynamic,timeout\n\t\ttimeout 10800s\n", b);
	HAS(t, want);
	snprintf(want, sizeof want, "\t\tip saddr @affinity-%s goto ep-%s\n", b, b);
	HAS(t, want);
	snprintf(want, sizeof want, "\t\tupdate @affinity-%s { ip saddr }\n"
		 "\t\tmeta l4proto tcp dnat to 10.1.0.5:80", b);
	HAS(t, want);
	/* The affinity check comes before the random choice. */
	assert_true(strstr(t, "ip saddr @affinity-default/sticky") <
		    strstr(t, "numgen random mod 2"));
	HAS(t, "timeout 60s");
	assert_int_equal(count(t, "\tset affinity-"), 3);
	free(t);

	t = render(arr(svc("bad", "'clusterIP':'10.152.183.56','sessionAffinity':'ClientIP',"
			   "'sessionAffinityConfig':{'clientIP':{'timeoutSeconds':0}}," HTTP), NULL, NULL),
		   NULL);
	assert_int_equal(json_array_size(problems), 1);
	HASNT(t, "10.152.183.56");
	free(t);
}

static void test_no_endpoints_reject(void **state)
{
	char *t = render(arr(svc("empty", "'type':'NodePort','clusterIP':'10.152.183.57',"
				 "'ports':[{'name':'http','port':80,'nodePort':30081}]"), NULL, NULL),
			 arr(slice("e-1", "empty", "http", 80, ""), NULL, NULL));
	HAS(t, "\t\t\t10.152.183.57 . tcp . 80 : goto reject-chain,\n");
	HAS(t, "\t\t\ttcp . 30081 : goto reject-chain,\n");
	HAS(t, "chain reject-chain {\n\t\treject\n");
	HAS(t, "ct state new jump service-endpoints-check");
	HAS(t, "ip daddr @cluster-ips reject");
	HASNT(t, "chain svc-default/empty");
	HASNT(t, "goto svc-default/empty");
	free(t);
}

static void test_ready_then_terminating(void **state)
{
	const char *eps =
		"{'addresses':['10.1.0.5'],'conditions':{'ready':false,'serving':true,'terminating':true}},"
		"{'addresses':['10.1.0.6'],'conditions':{'ready':true}},"
		"{'addresses':['10.1.0.7'],'conditions':{'ready':false}},"
		"{'addresses':['10.1.0.8']}"; /* unknown: ready */
	char *t = render(arr(svc("web", "'clusterIP':'10.152.183.50'," HTTP), NULL, NULL),
			 arr(slice("w", "web", "http", 80, eps), NULL, NULL));
	HAS(t, "numgen random mod 2 vmap");
	HAS(t, "dnat to 10.1.0.6:80");
	HAS(t, "dnat to 10.1.0.8:80");
	HASNT(t, "10.1.0.5");
	HASNT(t, "10.1.0.7");
	free(t);
	/* None ready: the serving terminating ones still answer. */
	eps = "{'addresses':['10.1.0.5'],'conditions':{'ready':false,'serving':true,'terminating':true}},"
	      "{'addresses':['10.1.0.7'],'conditions':{'ready':false,'serving':false,'terminating':true}}";
	t = render(arr(svc("web", "'clusterIP':'10.152.183.50'," HTTP), NULL, NULL),
		   arr(slice("w", "web", "http", 80, eps), NULL, NULL));
	HAS(t, "numgen random mod 1 vmap { 0 : goto ep-default/web/tcp/http__10.1.0.5/80 }");
	HASNT(t, "10.1.0.7");
	free(t);
}

static void test_skipped_silently(void **state)
{
	json_t *svcs = arr(svc("headless", "'clusterIP':'None'," HTTP),
			   svc("ext", "'type':'ExternalName','externalName':'example.com'"),
			   svc("pending", HTTP));
	json_array_append_new(svcs, svc("six", "'clusterIP':'fd00::10'," HTTP));
	json_t *slices = arr(slice("h-1", "headless", "http", 80, EP("10.1.0.5")),
			     slice("orphan", "nosuch", "http", 80, EP("10.1.0.6")), NULL);
	json_t *v6 = slice("v6", "headless", "http", 80, "");
	json_object_set_new(v6, "addressType", json_string("IPv6"));
	json_array_append_new(slices, v6);
	char *t = render(svcs, slices);
	assert_int_equal(json_array_size(problems), 0);
	HASNT(t, "chain svc-");
	HASNT(t, "chain ep-");
	HASNT(t, "10.1.0.");
	free(t);
}

static void test_malformed_skipped(void **state)
{
	json_t *svcs = arr(svc("good", "'clusterIP':'10.152.183.50'," HTTP),
			   svc("badip", "'clusterIP':'10.152.183.300'," HTTP),
			   svc("badport", "'clusterIP':'10.152.183.60','ports':[{'port':70000}]"));
	json_array_append_new(svcs, svc("Bad_Name", "'clusterIP':'10.152.183.61'," HTTP));
	json_array_append_new(svcs, svc("badproto", "'clusterIP':'10.152.183.62',"
					"'ports':[{'port':80,'protocol':'ICMP'}]"));
	/* "zdup" comes after "good": the clusterIP port is good's. */
	json_array_append_new(svcs, svc("zdup", "'clusterIP':'10.152.183.50'," HTTP));
	json_array_append_new(svcs, svc("twoports", "'clusterIP':'10.152.183.63','ports':"
					"[{'port':80},{'port':81}]"));
	json_t *slices = arr(slice("good-1", "good", "http", 80, EP("10.1.0.5")),
			     slice("good-bad", "good", "http", 80,
				   EP("10.1.0.6") ",{'addresses':['10.1.0.999']}"),
			     slice("good-badport", "good", "http", 0, EP("10.1.0.7")));
	char *t = render(svcs, slices);
	const char *want[] = {
		"Service default/badip@7", "Service default/badport@7", "Service default/Bad_Name@7",
		"Service default/badproto@7", "Service default/zdup@7", "Service default/twoports@7",
		"EndpointSlice default/good-bad@9", "EndpointSlice default/good-badport@9",
	};
	assert_int_equal(json_array_size(problems), sizeof want / sizeof want[0]);
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		bool found = false;
		for (size_t k = 0; k < json_array_size(problems); k++)
			found |= strcmp(json_string_value(json_array_get(problems, k)), want[i]) == 0;
		if (!found)
			fail_msg("not reported: %s", want[i]);
	}
	/* The good service keeps its good slice, and only that. */
	HAS(t, "numgen random mod 1 vmap { 0 : goto ep-default/good/tcp/http__10.1.0.5/80 }");
	HASNT(t, "10.1.0.6");
	HASNT(t, "10.1.0.7");
	HASNT(t, "zdup");
	HASNT(t, "10.152.183.6");
	free(t);
}

static void test_masquerade_all_and_bad_facts(void **state)
{
	char *t = render_opts(arr(svc("web", "'clusterIP':'10.152.183.50'," HTTP), NULL, NULL),
			      arr(slice("w", "web", "http", 80, EP("10.1.0.5")), NULL, NULL), true, NULL);
	HAS(t, "chain svc-default/web/tcp/http {\n\t\tjump mark-for-masquerade\n");
	HASNT(t, "ip saddr != 10.1.0.0/16");
	free(t);

	struct proxy_model none = {0};
	struct mk_buf b = MK_BUF_INIT;
	json_t *objects = json_object();
	char err[256];
	struct proxy_node bad = {.pod_cidr = "10.1.0.0"};
	assert_int_equal(proxy_render(&bad, &none, &b, objects, err, sizeof err), MK_EINVAL);
	HAS(err, "pod CIDR");
	bad = (struct proxy_node){.pod_cidr = "fd00::/64"};
	assert_int_equal(proxy_render(&bad, &none, &b, objects, err, sizeof err), MK_EINVAL);
	bad = (struct proxy_node){.pod_cidr = CIDR, .table = "mk proxy; flush ruleset"};
	assert_int_equal(proxy_render(&bad, &none, &b, objects, err, sizeof err), MK_EINVAL);
	HAS(err, "table name");
	assert_int_equal(b.len, 0);
	json_decref(objects);
}

/* --- with the kernel ---------------------------------------------------------------- */

/* A ruleset with one of everything. */
static char *everything(json_t *objects)
{
	json_t *svcs = arr(svc("web", "'clusterIP':'10.152.183.50'," HTTP),
			   svc("np", "'type':'NodePort','clusterIP':'10.152.183.51','sessionAffinity':"
			       "'ClientIP','ports':[{'name':'http','port':80,'nodePort':30080},"
			       "{'name':'dns','port':53,'protocol':'UDP','nodePort':30053}]"),
			   svc("empty", "'type':'NodePort','clusterIP':'10.152.183.52',"
			       "'ports':[{'port':80,'nodePort':30081}]"));
	json_t *np = slice("np-1", "np", "http", 8080, EP("10.1.0.7") "," EP("10.1.0.8"));
	json_array_append_new(json_object_get(np, "ports"),
			      J("{'name':'dns','port':5353,'protocol':'UDP'}"));
	json_t *slices = arr(slice("web-1", "web", "http", 80,
				   EP("10.1.0.5") "," EP("10.1.0.6") "," EP("10.1.0.9")), np, NULL);
	return render_opts(svcs, slices, false, objects);
}

static bool is_root(void)
{
	return geteuid() == 0;
}

static void test_nft_check(void **state)
{
	if (!is_root())
		skip();
	struct proxy_nft *n;
	char err[1024];
	assert_int_equal(proxy_nft_new(&n, err, sizeof err), MK_OK);
	char *t = everything(NULL);
	int rv = proxy_nft_check(n, "mk-proxy-test", t, err, sizeof err);
	if (rv != MK_OK)
		fail_msg("nft refuses the rendered ruleset: %s\n%s", err, t);
	/* And the check can fail: a typo is refused with nft's words. */
	char *typo = strstr(t, "numgen random");
	memcpy(typo, "numgem", 6);
	assert_int_equal(proxy_nft_check(n, "mk-proxy-test", t, err, sizeof err), MK_EINVAL);
	HAS(err, "Error:");
	HAS(err, "numgem");
	free(t);
	proxy_nft_free(n);
}

/* stdout of one nft command, in our netns. */
static char *nft_out(const char *cmd)
{
	struct nft_ctx *c = nft_ctx_new(NFT_CTX_DEFAULT);
	nft_ctx_buffer_output(c);
	nft_ctx_buffer_error(c);
	int rc = nft_run_cmd_from_buffer(c, cmd);
	char *out = strdup(rc == 0 ? nft_ctx_get_output_buffer(c) : "");
	nft_ctx_free(c);
	return out;
}

#define T "mk-proxy-test" /* render_opts's table */

static void test_nft_apply(void **state)
{
	if (!is_root())
		skip();
	/* Everything below happens in a network namespace of our own. */
	if (unshare(CLONE_NEWNET) != 0)
		skip();
	struct proxy_nft *n;
	char err[1024];
	assert_int_equal(proxy_nft_new(&n, err, sizeof err), MK_OK);

	json_t *objects = json_object();
	char *t = everything(objects);
	assert_int_equal(proxy_nft_apply(n, T, t, objects, err, sizeof err), MK_OK);
	free(t);
	json_decref(objects);
	char *list = nft_out("list table ip " T);
	HAS(list, "chain ep-default/web/tcp/http__10.1.0.9/80");
	HAS(list, "10.152.183.50 . tcp . 80 : goto svc-default/web/tcp/http");
	free(list);
	/* A client of np is remembered, as traffic would have it. */
	const char *aff = "affinity-default/np/tcp/http__10.1.0.7/8080";
	char cmd[256];
	snprintf(cmd, sizeof cmd, "add element ip " T " %s { 10.1.0.200 }", aff);
	free(nft_out(cmd));

	/* web loses an endpoint, empty goes: their chains go, the affinity
	 * member stays; applied twice, the second changes nothing. */
	for (int round = 0; round < 2; round++) {
		json_t *svcs = arr(svc("web", "'clusterIP':'10.152.183.50'," HTTP),
				   svc("np", "'type':'NodePort','clusterIP':'10.152.183.51',"
				       "'sessionAffinity':'ClientIP','ports':[{'name':'http','port':80,"
				       "'nodePort':30080}]"), NULL);
		json_t *slices = arr(slice("web-1", "web", "http", 80, EP("10.1.0.5")),
				     slice("np-1", "np", "http", 8080, EP("10.1.0.7")), NULL);
		objects = json_object();
		t = render_opts(svcs, slices, false, objects);
		int rv = proxy_nft_apply(n, T, t, objects, err, sizeof err);
		if (rv != MK_OK)
			fail_msg("apply: %s", err);
		free(t);
		json_decref(objects);
	}
	list = nft_out("list table ip " T);
	HASNT(list, "10.1.0.9");
	HASNT(list, "10.1.0.8");
	HASNT(list, "empty");
	HASNT(list, "udp");
	HAS(list, "numgen random mod 1 vmap { 0 : goto ep-default/web/tcp/http__10.1.0.5/80 }");
	snprintf(cmd, sizeof cmd, "list set ip " T " %s", aff);
	free(list);
	list = nft_out(cmd);
	HAS(list, "10.1.0.200");
	free(list);

	/* Someone flushes the ruleset: the next apply brings it all back. */
	free(nft_out("flush ruleset"));
	objects = json_object();
	t = everything(objects);
	assert_int_equal(proxy_nft_apply(n, T, t, objects, err, sizeof err), MK_OK);
	list = nft_out("list table ip " T);
	HAS(list, "chain ep-default/web/tcp/http__10.1.0.9/80");
	free(list);

	/* A table of another layout (a base chain elsewhere) is replaced whole. */
	free(nft_out("delete chain ip " T " nat-output; add chain ip " T " nat-output "
		     "{ type nat hook output priority 50; }"));
	assert_int_equal(proxy_nft_apply(n, T, t, objects, err, sizeof err), MK_OK);
	list = nft_out("list chain ip " T " nat-output");
	HAS(list, "priority -100");
	free(list);

	/* nft refusing the text leaves the table as it was. */
	char *typo = strstr(t, "numgen random");
	memcpy(typo, "numgem", 6);
	assert_int_equal(proxy_nft_apply(n, T, t, objects, err, sizeof err), MK_EINVAL);
	HAS(err, "numgem");
	list = nft_out("list table ip " T);
	HAS(list, "chain ep-default/web/tcp/http__10.1.0.9/80");
	free(list);
	free(t);
	json_decref(objects);
	proxy_nft_free(n);
}

static int teardown(void **state)
{
	json_decref(problems);
	problems = NULL;
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_cluster_ip_three_endpoints, teardown),
		cmocka_unit_test_teardown(test_named_target_port, teardown),
		cmocka_unit_test_teardown(test_node_port, teardown),
		cmocka_unit_test_teardown(test_client_ip_affinity, teardown),
		cmocka_unit_test_teardown(test_no_endpoints_reject, teardown),
		cmocka_unit_test_teardown(test_ready_then_terminating, teardown),
		cmocka_unit_test_teardown(test_skipped_silently, teardown),
		cmocka_unit_test_teardown(test_malformed_skipped, teardown),
		cmocka_unit_test_teardown(test_masquerade_all_and_bad_facts, teardown),
		cmocka_unit_test_teardown(test_nft_check, teardown),
		cmocka_unit_test_teardown(test_nft_apply, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
