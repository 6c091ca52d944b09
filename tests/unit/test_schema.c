/*
 * Unit tests of the Kubernetes type tables and strict JSON checking
 * (core/schema/schema.c, schema_check.c, schema_format.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "../../core/schema/schema.h"
#include "../../core/schema/schema_internal.h"

static json_t *parse(const char *text)
{
	json_error_t err;
	json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, &err);
	if (!j)
		fail_msg("bad test JSON: %s: %s", err.text, text);
	return j;
}

/* Checks `doc` as group/version/kind and asserts the exact problem list. */
static void expect(const char *group, const char *version, const char *kind, const char *doc,
		   const char *problems)
{
	const struct schema_msg *t = schema_kind(group, version, kind);
	assert_non_null(t);
	json_t *obj = parse(doc);
	json_t *got = json_array();
	json_t *want = parse(problems);
	size_t n = schema_check(t, obj, got);
	if (!json_equal(got, want) || n != json_array_size(want)) {
		char *g = json_dumps(got, 0);
		print_error("doc:  %s\ngot:  %s (%zu)\nwant: %s\n", doc, g, n, problems);
		free(g);
		fail();
	}
	json_decref(obj);
	json_decref(got);
	json_decref(want);
}

static void test_kind_lookup(void **state)
{
	const struct schema_msg *t = schema_kind("apps", "v1", "Deployment");
	assert_non_null(t);
	assert_string_equal(schema_msg_name(t), "k8s.io.api.apps.v1.Deployment");
	assert_string_equal(schema_msg_name(schema_kind("", "v1", "Pod")), "k8s.io.api.core.v1.Pod");
	assert_string_equal(schema_msg_name(schema_kind("", "v1", "PodList")),
			    "k8s.io.api.core.v1.PodList");
	assert_string_equal(schema_msg_name(schema_kind("rbac.authorization.k8s.io", "v1", "ClusterRole")),
			    "k8s.io.api.rbac.v1.ClusterRole");
	assert_string_equal(schema_msg_name(schema_kind("policy", "v1", "Eviction")),
			    "k8s.io.api.policy.v1.Eviction");
	/* meta/v1 kinds are found under every served group/version. */
	assert_string_equal(schema_msg_name(schema_kind("apps", "v1", "DeleteOptions")),
			    "k8s.io.apimachinery.pkg.apis.meta.v1.DeleteOptions");
	assert_string_equal(schema_msg_name(schema_kind("", "v1", "Status")),
			    "k8s.io.apimachinery.pkg.apis.meta.v1.Status");
	assert_non_null(schema_kind("meta.k8s.io", "v1", "DeleteOptions"));
	/* Not kinds, not served, not known. */
	assert_null(schema_kind("", "v1", "PodTemplateSpec"));
	assert_null(schema_kind("batch", "v1", "JobTemplateSpec"));
	assert_null(schema_kind("", "v1", "Container"));
	assert_null(schema_kind("apps", "v1beta1", "Deployment"));
	assert_null(schema_kind("apps", "v2", "DeleteOptions"));
	assert_null(schema_kind("example.com", "v1", "DeleteOptions"));
	assert_null(schema_kind("apiextensions.k8s.io", "v1", "CustomResourceDefinition"));
	assert_null(schema_kind("apps", "v1", "deployment"));
	assert_null(schema_kind(NULL, "v1", "Pod"));
	assert_null(schema_type("k8s.io.api.core.v1.Nope"));
	assert_non_null(schema_type("k8s.io.api.core.v1.Container"));
	/* Every generated kind is found again through its own names. */
	for (size_t i = 0; i < schema_n_kinds; i++) {
		const struct schema_kind *k = &schema_kinds[i];
		assert_ptr_equal(schema_kind(schema_str(k->group), schema_str(k->version),
					     schema_str(k->kind)),
				 &schema_msgs[k->msg]);
	}
}

static void test_valid_objects_pass(void **state)
{
	expect("apps", "v1", "Deployment",
	       "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"web\","
	       "\"namespace\":\"default\",\"labels\":{\"app\":\"web\"},\"annotations\":{\"a\":\"b\"},"
	       "\"creationTimestamp\":\"2025-01-01T00:00:00Z\",\"generation\":3,"
	       "\"ownerReferences\":[{\"apiVersion\":\"v1\",\"kind\":\"X\",\"name\":\"x\",\"uid\":\"u\","
	       "\"controller\":true}]},"
	       "\"spec\":{\"replicas\":2,\"selector\":{\"matchLabels\":{\"app\":\"web\"},"
	       "\"matchExpressions\":[{\"key\":\"k\",\"operator\":\"In\",\"values\":[\"a\"]}]},"
	       "\"strategy\":{\"type\":\"RollingUpdate\",\"rollingUpdate\":{\"maxSurge\":\"25%\","
	       "\"maxUnavailable\":1}},\"template\":{\"metadata\":{\"labels\":{\"app\":\"web\"}},"
	       "\"spec\":{\"containers\":[{\"name\":\"nginx\",\"image\":\"nginx\",\"args\":[\"-v\"],"
	       "\"ports\":[{\"containerPort\":80,\"protocol\":\"TCP\"}],"
	       "\"env\":[{\"name\":\"A\",\"value\":\"1\"},{\"name\":\"B\",\"valueFrom\":"
	       "{\"secretKeyRef\":{\"name\":\"s\",\"key\":\"k\",\"optional\":true}}}],"
	       "\"resources\":{\"limits\":{\"cpu\":\"500m\",\"memory\":\"128Mi\"},"
	       "\"requests\":{\"cpu\":0.25,\"memory\":1000000}},"
	       "\"livenessProbe\":{\"httpGet\":{\"path\":\"/\",\"port\":\"http\"},\"periodSeconds\":5},"
	       "\"readinessProbe\":{\"exec\":{\"command\":[\"true\"]}},"
	       "\"volumeMounts\":[{\"name\":\"cfg\",\"mountPath\":\"/etc/cfg\"}]}],"
	       "\"volumes\":[{\"name\":\"cfg\",\"configMap\":{\"name\":\"cfg\",\"defaultMode\":420}},"
	       "{\"name\":\"tmp\",\"emptyDir\":{}}],"
	       "\"nodeSelector\":{\"disk\":\"ssd\"},\"terminationGracePeriodSeconds\":30}}},"
	       "\"status\":{\"replicas\":2,\"conditions\":[{\"type\":\"Available\",\"status\":\"True\","
	       "\"lastUpdateTime\":\"2025-01-01T00:00:00+02:00\"}]}}",
	       "[]");
	expect("", "v1", "Pod",
	       "{\"metadata\":{\"name\":\"p\"},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"i\","
	       "\"securityContext\":{\"runAsUser\":1000,\"privileged\":false,"
	       "\"capabilities\":{\"add\":[\"NET_ADMIN\"]}}}],\"restartPolicy\":\"Never\","
	       "\"tolerations\":[{\"key\":\"k\",\"operator\":\"Exists\",\"tolerationSeconds\":60}]},"
	       "\"status\":{\"phase\":\"Running\",\"podIP\":\"10.0.0.1\","
	       "\"startTime\":\"2025-01-01T00:00:00.123Z\"}}",
	       "[]");
	expect("", "v1", "Service",
	       "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"s\"},\"spec\":{"
	       "\"type\":\"NodePort\",\"selector\":{\"app\":\"web\"},\"ports\":[{\"name\":\"http\","
	       "\"port\":80,\"targetPort\":8080,\"nodePort\":30080},{\"port\":443,\"targetPort\":\"https\"}],"
	       "\"clusterIPs\":[\"10.0.0.1\"]},\"status\":{\"loadBalancer\":{}}}",
	       "[]");
	expect("", "v1", "ConfigMap",
	       "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"c\"},"
	       "\"data\":{\"a\":\"1\",\"b\":\"\"},\"binaryData\":{\"bin\":\"AP8=\"},\"immutable\":true}",
	       "[]");
	expect("", "v1", "Secret",
	       "{\"metadata\":{\"name\":\"s\"},\"type\":\"Opaque\",\"data\":{\"k\":\"aGk=\",\"e\":\"\"},"
	       "\"stringData\":{\"p\":\"plain\"}}",
	       "[]");
	/* RawExtension holds anything; List items keep their TypeMeta. */
	expect("", "v1", "List",
	       "{\"apiVersion\":\"v1\",\"kind\":\"List\",\"items\":[{\"anything\":[1,{\"x\":null}]},3]}",
	       "[]");
	expect("", "v1", "PodList",
	       "{\"apiVersion\":\"v1\",\"kind\":\"PodList\",\"metadata\":{\"resourceVersion\":\"1\"},"
	       "\"items\":[{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\"}}]}",
	       "[]");
	expect("events.k8s.io", "v1", "Event",
	       "{\"metadata\":{\"name\":\"e\"},\"eventTime\":\"2025-01-01T00:00:00.000001Z\","
	       "\"regarding\":{\"kind\":\"Pod\",\"name\":\"p\"},\"reason\":\"R\"}",
	       "[]");
	expect("authentication.k8s.io", "v1", "TokenReview",
	       "{\"spec\":{\"token\":\"t\"},\"status\":{\"user\":{\"username\":\"u\","
	       "\"extra\":{\"scopes\":[\"a\",\"b\"]}}}}",
	       "[]");
}

static void test_unknown_fields_at_depth(void **state)
{
	expect("apps", "v1", "Deployment",
	       "{\"metadata\":{\"name\":\"d\",\"labelz\":{}},\"spec\":{\"template\":{\"spec\":{"
	       "\"containers\":[{\"name\":\"a\"},{\"name\":\"b\",\"foo\":1,"
	       "\"ports\":[{\"containerPort\":1,\"hostPortt\":2}]}]}},\"replica\":1},\"extra\":true}",
	       "[{\"field\":\"metadata.labelz\",\"kind\":\"unknown\"},"
	       "{\"field\":\"spec.template.spec.containers[1].foo\",\"kind\":\"unknown\"},"
	       "{\"field\":\"spec.template.spec.containers[1].ports[0].hostPortt\",\"kind\":\"unknown\"},"
	       "{\"field\":\"spec.replica\",\"kind\":\"unknown\"},"
	       "{\"field\":\"extra\",\"kind\":\"unknown\"}]");
	/* Inside maps of messages: ResourceList values are quantities, and
	 * TokenReview extra values are lists. */
	expect("authentication.k8s.io", "v1", "TokenReview",
	       "{\"status\":{\"user\":{\"extra\":{\"scopes\":[\"a\",1]}}}}",
	       "[{\"field\":\"status.user.extra.scopes[1]\",\"kind\":\"type\",\"expected\":\"string\","
	       "\"got\":\"integer\"}]");
	/* TypeMeta is not allowed inside a template, and an inline field's
	 * own proto name is not a JSON key. */
	expect("apps", "v1", "Deployment",
	       "{\"spec\":{\"template\":{\"apiVersion\":\"v1\",\"spec\":{\"volumes\":[{\"name\":\"v\","
	       "\"volumeSource\":{}}],\"containers\":[{\"name\":\"c\",\"livenessProbe\":{\"handler\":{}}}]}}}}",
	       "[{\"field\":\"spec.template.apiVersion\",\"kind\":\"unknown\"},"
	       "{\"field\":\"spec.template.spec.volumes[0].volumeSource\",\"kind\":\"unknown\"},"
	       "{\"field\":\"spec.template.spec.containers[0].livenessProbe.handler\",\"kind\":\"unknown\"}]");
	/* Case matters, as in the API server's decoder. */
	expect("", "v1", "ConfigMap", "{\"Data\":{}}",
	       "[{\"field\":\"Data\",\"kind\":\"unknown\"}]");
}

static void test_type_mismatches(void **state)
{
	expect("apps", "v1", "Deployment",
	       "{\"apiVersion\":5,\"metadata\":{\"labels\":[]},\"spec\":{\"replicas\":\"3\","
	       "\"paused\":\"true\",\"template\":{\"spec\":{\"containers\":{}}}}}",
	       "[{\"field\":\"apiVersion\",\"kind\":\"type\",\"expected\":\"string\",\"got\":\"integer\"},"
	       "{\"field\":\"metadata.labels\",\"kind\":\"type\",\"expected\":\"object\",\"got\":\"array\"},"
	       "{\"field\":\"spec.replicas\",\"kind\":\"type\",\"expected\":\"integer\",\"got\":\"string\"},"
	       "{\"field\":\"spec.paused\",\"kind\":\"type\",\"expected\":\"boolean\",\"got\":\"string\"},"
	       "{\"field\":\"spec.template.spec.containers\",\"kind\":\"type\",\"expected\":\"array\","
	       "\"got\":\"object\"}]");
	/* encoding/json refuses fractions and out-of-range numbers for ints. */
	expect("apps", "v1", "Deployment",
	       "{\"metadata\":{\"generation\":1.0},\"spec\":{\"replicas\":3000000000,"
	       "\"minReadySeconds\":-2147483648,\"revisionHistoryLimit\":1.5}}",
	       "[{\"field\":\"metadata.generation\",\"kind\":\"type\",\"expected\":\"integer\",\"got\":\"number\"},"
	       "{\"field\":\"spec.replicas\",\"kind\":\"range\",\"expected\":\"int32\"},"
	       "{\"field\":\"spec.revisionHistoryLimit\",\"kind\":\"type\",\"expected\":\"integer\","
	       "\"got\":\"number\"}]");
	/* Maps of strings with other values; a message given as a scalar. */
	expect("", "v1", "ConfigMap",
	       "{\"metadata\":\"cm\",\"data\":{\"a\":1,\"b\":true,\"c\":{},\"d\":\"ok\"}}",
	       "[{\"field\":\"metadata\",\"kind\":\"type\",\"expected\":\"object\",\"got\":\"string\"},"
	       "{\"field\":\"data.a\",\"kind\":\"type\",\"expected\":\"string\",\"got\":\"integer\"},"
	       "{\"field\":\"data.b\",\"kind\":\"type\",\"expected\":\"string\",\"got\":\"boolean\"},"
	       "{\"field\":\"data.c\",\"kind\":\"type\",\"expected\":\"string\",\"got\":\"object\"}]");
	expect("", "v1", "Secret", "{\"data\":{\"k\":\"not base64!\",\"j\":\"aGk\"}}",
	       "[{\"field\":\"data.k\",\"kind\":\"format\",\"expected\":\"base64\"},"
	       "{\"field\":\"data.j\",\"kind\":\"format\",\"expected\":\"base64\"}]");
	expect("", "v1", "Pod", "{\"metadata\":{\"creationTimestamp\":\"yesterday\","
	       "\"deletionTimestamp\":1}}",
	       "[{\"field\":\"metadata.creationTimestamp\",\"kind\":\"format\","
	       "\"expected\":\"RFC 3339 time\"},"
	       "{\"field\":\"metadata.deletionTimestamp\",\"kind\":\"type\",\"expected\":\"string\","
	       "\"got\":\"integer\"}]");
	/* The top level must be an object. */
	expect("", "v1", "Pod", "[]",
	       "[{\"field\":\"\",\"kind\":\"type\",\"expected\":\"object\",\"got\":\"array\"}]");
}

static void test_null_accepted_anywhere(void **state)
{
	expect("apps", "v1", "Deployment",
	       "{\"apiVersion\":null,\"metadata\":{\"labels\":null,\"creationTimestamp\":null,"
	       "\"annotations\":{\"a\":null}},\"spec\":{\"replicas\":null,\"strategy\":null,"
	       "\"template\":{\"spec\":{\"containers\":[null,{\"name\":\"c\",\"args\":[null],"
	       "\"resources\":{\"limits\":{\"cpu\":null}}}]}}},\"status\":null}",
	       "[]");
}

static void test_intorstring_and_quantity(void **state)
{
	expect("", "v1", "Service",
	       "{\"spec\":{\"ports\":[{\"port\":80,\"targetPort\":8080},{\"port\":81,\"targetPort\":\"web\"},"
	       "{\"port\":82,\"targetPort\":1.5},{\"port\":83,\"targetPort\":true},"
	       "{\"port\":84,\"targetPort\":4294967296}]}}",
	       "[{\"field\":\"spec.ports[2].targetPort\",\"kind\":\"type\",\"expected\":\"integer or string\","
	       "\"got\":\"number\"},"
	       "{\"field\":\"spec.ports[3].targetPort\",\"kind\":\"type\",\"expected\":\"integer or string\","
	       "\"got\":\"boolean\"},"
	       "{\"field\":\"spec.ports[4].targetPort\",\"kind\":\"range\",\"expected\":\"int32\"}]");
	expect("", "v1", "Pod",
	       "{\"spec\":{\"containers\":[{\"name\":\"c\",\"resources\":{\"limits\":{"
	       "\"a\":\"100m\",\"b\":\"1Gi\",\"c\":2,\"d\":0.5,\"e\":\" 1e3 \",\"f\":\"-1.5E\","
	       "\"g\":\"abc\",\"h\":\"1Gb\",\"i\":true,\"j\":[],\"k\":\"\",\"l\":\".\"}}}]}}",
	       "[{\"field\":\"spec.containers[0].resources.limits.g\",\"kind\":\"format\","
	       "\"expected\":\"quantity\"},"
	       "{\"field\":\"spec.containers[0].resources.limits.h\",\"kind\":\"format\","
	       "\"expected\":\"quantity\"},"
	       "{\"field\":\"spec.containers[0].resources.limits.i\",\"kind\":\"type\","
	       "\"expected\":\"string or number\",\"got\":\"boolean\"},"
	       "{\"field\":\"spec.containers[0].resources.limits.j\",\"kind\":\"type\","
	       "\"expected\":\"string or number\",\"got\":\"array\"},"
	       "{\"field\":\"spec.containers[0].resources.limits.k\",\"kind\":\"format\","
	       "\"expected\":\"quantity\"},"
	       "{\"field\":\"spec.containers[0].resources.limits.l\",\"kind\":\"format\","
	       "\"expected\":\"quantity\"}]");
}

static void test_problem_cap_and_no_array(void **state)
{
	json_t *obj = json_object();
	char key[16];
	for (int i = 0; i < 100; i++) {
		snprintf(key, sizeof(key), "f%d", i);
		json_object_set_new(obj, key, json_true());
	}
	json_t *problems = json_array();
	const struct schema_msg *t = schema_kind("", "v1", "Pod");
	assert_int_equal(schema_check(t, obj, problems), 100);
	assert_int_equal(json_array_size(problems), SCHEMA_MAX_PROBLEMS);
	/* Without an array the count alone comes back. */
	assert_int_equal(schema_check(t, obj, NULL), 100);
	assert_int_equal(schema_check(NULL, obj, problems), 0);
	json_decref(obj);
	json_decref(problems);

	/* A path longer than the buffer is cut, not overrun. */
	char *big = malloc(2000);
	memset(big, 'x', 1999);
	big[1999] = '\0';
	obj = json_pack("{s:{s:b}}", "metadata", big, 1);
	problems = json_array();
	assert_int_equal(schema_check(t, obj, problems), 1);
	const char *field = json_string_value(json_object_get(json_array_get(problems, 0), "field"));
	assert_true(strlen(field) < 1000 && !strncmp(field, "metadata.xxx", 12));
	json_decref(obj);
	json_decref(problems);
	free(big);
}

static void test_formats(void **state)
{
	char buf[64];
	static const struct {
		int64_t ns;
		const char *s;
	} durations[] = {
		{0, "0s"},
		{1, "1ns"},
		{999, "999ns"},
		{1500, "1.5\xc2\xb5s"},
		{1500000, "1.5ms"},
		{1000000000, "1s"},
		{1100000000, "1.1s"},
		{90000000000LL, "1m30s"},
		{3600000000000LL, "1h0m0s"},
		{-1500000, "-1.5ms"},
		{INT64_MIN, "-2562047h47m16.854775808s"},
		{INT64_MAX, "2562047h47m16.854775807s"},
	};
	for (size_t i = 0; i < sizeof(durations) / sizeof(durations[0]); i++) {
		schema_format_duration(durations[i].ns, buf, sizeof(buf));
		assert_string_equal(buf, durations[i].s);
		assert_true(schema_valid_duration(buf));
	}
	assert_false(schema_valid_duration(""));
	assert_false(schema_valid_duration("5"));
	assert_false(schema_valid_duration("5x"));
	assert_false(schema_valid_duration(".s"));
	assert_true(schema_valid_duration("0"));
	assert_true(schema_valid_duration("1h5m.5s"));
	assert_true(schema_valid_duration("+3us"));

	assert_int_equal(schema_format_time(0, 0, false, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "1970-01-01T00:00:00Z");
	assert_int_equal(schema_format_time(951782400, 5000, true, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "2000-02-29T00:00:00.000005Z");
	assert_int_equal(schema_format_time(-62135596800LL, 0, false, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "0001-01-01T00:00:00Z");
	assert_int_equal(schema_format_time(253402300799LL, 999999999, true, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "9999-12-31T23:59:59.999999Z");
	assert_int_equal(schema_format_time(0, -1, false, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "1969-12-31T23:59:59Z");
	assert_int_not_equal(schema_format_time(253402300800LL, 0, false, buf, sizeof(buf)), 0);
	assert_int_not_equal(schema_format_time(INT64_MIN, INT32_MIN, false, buf, sizeof(buf)), 0);

	assert_true(schema_valid_time("2024-02-29T23:59:59Z"));
	assert_true(schema_valid_time("2025-01-01T00:00:00.5-07:30"));
	assert_false(schema_valid_time("2023-02-29T00:00:00Z"));
	assert_false(schema_valid_time("2025-01-01 00:00:00Z"));
	assert_false(schema_valid_time("2025-01-01T24:00:00Z"));
	assert_false(schema_valid_time("2025-01-01T00:00:00"));
	assert_false(schema_valid_time("2025-01-01T00:00:00Zjunk"));
	assert_false(schema_valid_time(""));

	const char *good_q[] = {"0", "1", "-1", "+1.5", ".5", "5.", "100m", "1Ki", "2Ei", "3E", "1e3",
				"1E-3", "12n", "7u", "9k"};
	for (size_t i = 0; i < sizeof(good_q) / sizeof(good_q[0]); i++)
		assert_true(schema_valid_quantity(good_q[i]));
	const char *bad_q[] = {"", ".", "-", "1 m", "1KiB", "1e", "1e+", "k", "1.2.3", "0x10"};
	for (size_t i = 0; i < sizeof(bad_q) / sizeof(bad_q[0]); i++)
		if (schema_valid_quantity(bad_q[i]))
			fail_msg("quantity \"%s\" accepted", bad_q[i]);

	char *b = schema_base64((const uint8_t *)"hello", 5);
	assert_string_equal(b, "aGVsbG8=");
	free(b);
	b = schema_base64((const uint8_t *)"", 0);
	assert_string_equal(b, "");
	free(b);
	assert_true(schema_valid_base64("aGVsbG8=", 8));
	assert_true(schema_valid_base64("aGVs\nbG8=", 9));
	assert_true(schema_valid_base64("", 0));
	assert_false(schema_valid_base64("aGVsbG8", 7));
	assert_false(schema_valid_base64("aG=sbG8=", 8));
	assert_false(schema_valid_base64("a===", 4));
	assert_false(schema_valid_base64("aGVs-G8=", 8));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kind_lookup),
		cmocka_unit_test(test_valid_objects_pass),
		cmocka_unit_test(test_unknown_fields_at_depth),
		cmocka_unit_test(test_type_mismatches),
		cmocka_unit_test(test_null_accepted_anywhere),
		cmocka_unit_test(test_intorstring_and_quantity),
		cmocka_unit_test(test_problem_cap_and_no_array),
		cmocka_unit_test(test_formats),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
