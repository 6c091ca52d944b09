/*
 * Label and field selectors, and server-side Table cells, against
 * realistic objects.
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

#include "../../core/api/selector.h"
#include "../../core/api/table.h"
#include "../../core/base/err.h"

static json_t *J(const char *text)
{
	json_error_t e;
	json_t *j = json_loads(text, 0, &e);
	if (j == NULL)
		fail_msg("bad JSON in test: %s", e.text);
	return j;
}

static bool lmatch(const char *sel, const char *labels)
{
	struct label_selector *s;
	char err[256];
	if (label_selector_parse(sel, &s, err, sizeof err) != MK_OK)
		fail_msg("parse %s: %s", sel, err);
	json_t *l = J(labels);
	bool m = label_selector_matches(s, l);
	json_decref(l);
	label_selector_free(s);
	return m;
}

static void label_operators(void **state)
{
	(void)state;
	const char *web = "{\"app\":\"web\",\"tier\":\"fe\",\"n\":\"5\"}";
	assert_true(lmatch("", web));
	assert_true(lmatch("app=web", web));
	assert_true(lmatch("app==web", web));
	assert_false(lmatch("app=db", web));
	assert_true(lmatch("app!=db", web));
	assert_true(lmatch("missing!=x", web)); /* != matches absent labels */
	assert_true(lmatch("app", web));
	assert_false(lmatch("!app", web));
	assert_true(lmatch("!missing", web));
	assert_true(lmatch("tier in (fe, be)", web));
	assert_false(lmatch("tier notin (fe)", web));
	assert_true(lmatch("missing notin (fe)", web));
	assert_true(lmatch("n>3,n<6", web));
	assert_false(lmatch("n>5", web));
	assert_true(lmatch(" app = web , tier in (fe) ", web));
	assert_false(lmatch("app=web,tier=be", web));
	assert_true(lmatch("example.com/role=x", "{\"example.com/role\":\"x\"}"));
}

static void label_errors(void **state)
{
	(void)state;
	const char *bad[] = {"app in (a", "=x", "app=web,", "app ~ x", "-bad=x", "a=b c",
			     "n>x", "app=-x", "k in x", ",a"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct label_selector *s = NULL;
		char err[256] = "";
		assert_int_equal(label_selector_parse(bad[i], &s, err, sizeof err), MK_EINVAL);
		assert_null(s);
		assert_true(err[0] != '\0');
	}
	char long_key[80];
	memset(long_key, 'a', 64);
	strcpy(long_key + 64, "=x");
	struct label_selector *s = NULL;
	char err[256];
	assert_int_equal(label_selector_parse(long_key, &s, err, sizeof err), MK_EINVAL);
}

static void label_from_json(void **state)
{
	(void)state;
	json_t *sel = J("{\"matchLabels\":{\"app\":\"web\"},\"matchExpressions\":["
			"{\"key\":\"tier\",\"operator\":\"In\",\"values\":[\"a\",\"b\"]},"
			"{\"key\":\"old\",\"operator\":\"DoesNotExist\"}]}");
	char *text = label_selector_string(sel);
	assert_string_equal(text, "app=web,tier in (a,b),!old");
	free(text);
	struct label_selector *s;
	char err[256];
	assert_int_equal(label_selector_from_json(sel, &s, err, sizeof err), MK_OK);
	json_t *l = J("{\"app\":\"web\",\"tier\":\"b\"}");
	assert_true(label_selector_matches(s, l));
	json_decref(l);
	label_selector_free(s);
	json_decref(sel);
	sel = J("{\"matchExpressions\":[{\"key\":\"x\",\"operator\":\"Sometimes\"}]}");
	assert_int_equal(label_selector_from_json(sel, &s, err, sizeof err), MK_EINVAL);
	json_decref(sel);
}

static bool fmatch(const char *sel, const char *resource, const char *obj)
{
	struct field_selector *s;
	char err[256];
	if (field_selector_parse(sel, resource, &s, err, sizeof err) != MK_OK)
		fail_msg("parse %s: %s", sel, err);
	json_t *o = J(obj);
	bool m = field_selector_matches(s, o);
	json_decref(o);
	field_selector_free(s);
	return m;
}

static void field_selectors(void **state)
{
	(void)state;
	const char *pod = "{\"metadata\":{\"name\":\"web\",\"namespace\":\"default\"},"
			  "\"spec\":{\"nodeName\":\"n1\"},\"status\":{\"phase\":\"Running\"}}";
	assert_true(fmatch("metadata.name=web", "pods", pod));
	assert_true(fmatch("metadata.name==web,metadata.namespace=default", "pods", pod));
	assert_false(fmatch("metadata.name=db", "pods", pod));
	assert_true(fmatch("spec.nodeName=n1,status.phase!=Succeeded,status.phase!=Failed", "pods",
			   pod));
	assert_true(fmatch("spec.nodeName=", "pods", "{\"metadata\":{\"name\":\"x\"}}"));
	assert_true(fmatch("involvedObject.name=web,involvedObject.kind=Pod", "events",
			   "{\"involvedObject\":{\"name\":\"web\",\"kind\":\"Pod\"}}"));
	assert_true(fmatch("spec.unschedulable=false", "nodes", "{\"spec\":{}}"));
	assert_true(fmatch("metadata.name=a\\,b", "configmaps", "{\"metadata\":{\"name\":\"a,b\"}}"));
	struct field_selector *s;
	char err[256];
	assert_int_equal(field_selector_parse("spec.nodeName=x", "configmaps", &s, err, sizeof err),
			 MK_EINVAL);
	assert_string_equal(err, "field label not supported: spec.nodeName");
	assert_int_equal(field_selector_parse("nonsense", "pods", &s, err, sizeof err), MK_EINVAL);
	assert_int_equal(field_selector_parse("metadata.name=x\\y", "pods", &s, err, sizeof err),
			 MK_EINVAL);
	assert_int_equal(field_selector_parse("metadata.name=web", "pods", &s, err, sizeof err),
			 MK_OK);
	assert_string_equal(field_selector_pinned(s, "metadata.name"), "web");
	assert_null(field_selector_pinned(s, "metadata.namespace"));
	field_selector_free(s);
}

static void ages(void **state)
{
	(void)state;
	struct {
		long long s;
		const char *want;
	} cases[] = {{-5, "<invalid>"}, {0, "0s"}, {59, "59s"}, {119, "119s"}, {120, "2m"},
		     {330, "5m30s"}, {600, "10m"}, {10799, "179m"}, {3 * 3600, "3h"},
		     {3 * 3600 + 60 * 7, "3h7m"}, {30 * 3600, "30h"}, {3 * 86400 + 4 * 3600, "3d4h"},
		     {20 * 86400, "20d"}, {800 * 86400, "2y70d"}, {3000 * 86400, "8y"}};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char out[32];
		table_duration(out, sizeof out, cases[i].s);
		assert_string_equal(out, cases[i].want);
	}
	char out[32];
	table_age(out, sizeof out, "2026-01-01T00:00:00Z", 1767225600 + 90);
	assert_string_equal(out, "90s");
	table_age(out, sizeof out, "garbage", 0);
	assert_string_equal(out, "<unknown>");
	table_age(out, sizeof out, NULL, 0);
	assert_string_equal(out, "<unknown>");
}

/* The cells of the one row for `obj`, as compact JSON. */
static char *row(const char *group, const char *kind, const char *obj, const char *cols,
		 json_t **table_out)
{
	json_t *o = J(obj), *pc = cols ? J(cols) : NULL;
	json_t *t = table_new(group, kind, pc);
	assert_int_equal(table_add_row(t, group, kind, pc, o, TABLE_INCLUDE_METADATA,
				       1767225600 + 300),
			 MK_OK);
	char *cells = json_dumps(json_object_get(json_array_get(json_object_get(t, "rows"), 0),
						 "cells"),
				 JSON_COMPACT);
	json_decref(o);
	json_decref(pc);
	if (table_out)
		*table_out = t;
	else
		json_decref(t);
	return cells;
}

#define T0 "\"creationTimestamp\":\"2026-01-01T00:00:00Z\""

static void table_cells(void **state)
{
	(void)state;
	json_t *t;
	char *c = row("", "Pod",
		      "{\"metadata\":{\"name\":\"web\"," T0 "},\"spec\":{\"nodeName\":\"n1\","
		      "\"containers\":[{\"name\":\"a\"},{\"name\":\"b\"}]},\"status\":{\"phase\":"
		      "\"Running\",\"podIP\":\"10.1.0.5\",\"containerStatuses\":[{\"ready\":true,"
		      "\"restartCount\":0,\"state\":{\"running\":{}}},{\"ready\":false,"
		      "\"restartCount\":2,\"state\":{\"waiting\":{\"reason\":\"CrashLoopBackOff\"}}}]}}",
		      NULL, &t);
	assert_string_equal(c, "[\"web\",\"1/2\",\"CrashLoopBackOff\",\"2\",\"5m\",\"10.1.0.5\","
			       "\"n1\",\"<none>\",\"<none>\"]");
	json_t *defs = json_object_get(t, "columnDefinitions");
	assert_string_equal(json_string_value(json_object_get(json_array_get(defs, 0), "format")),
			    "name");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(defs, 5), "priority")), 1);
	json_t *o = json_object_get(json_array_get(json_object_get(t, "rows"), 0), "object");
	assert_string_equal(json_string_value(json_object_get(o, "kind")), "PartialObjectMetadata");
	json_decref(t);
	free(c);
	c = row("apps", "Deployment",
		"{\"metadata\":{\"name\":\"d\"," T0 "},\"spec\":{\"replicas\":3,\"selector\":"
		"{\"matchLabels\":{\"app\":\"d\"}},\"template\":{\"spec\":{\"containers\":[{\"name\":"
		"\"nginx\",\"image\":\"nginx:1.27\"}]}}},\"status\":{\"readyReplicas\":2,"
		"\"updatedReplicas\":3,\"availableReplicas\":2}}",
		NULL, NULL);
	assert_string_equal(c, "[\"d\",\"2/3\",3,2,\"5m\",\"nginx\",\"nginx:1.27\",\"app=d\"]");
	free(c);
	c = row("", "Service",
		"{\"metadata\":{\"name\":\"s\"," T0 "},\"spec\":{\"type\":\"NodePort\",\"clusterIP\":"
		"\"10.152.183.7\",\"ports\":[{\"port\":80,\"nodePort\":30080,\"protocol\":\"TCP\"},"
		"{\"port\":53,\"protocol\":\"UDP\"}],\"selector\":{\"app\":\"s\"}}}",
		NULL, NULL);
	assert_string_equal(c, "[\"s\",\"NodePort\",\"10.152.183.7\",\"<none>\","
			       "\"80:30080/TCP,53/UDP\",\"5m\",\"app=s\"]");
	free(c);
	c = row("", "Node",
		"{\"metadata\":{\"name\":\"n1\"," T0 ",\"labels\":{\"node-role.kubernetes.io/"
		"control-plane\":\"\"}},\"spec\":{\"unschedulable\":true},\"status\":{\"conditions\":"
		"[{\"type\":\"Ready\",\"status\":\"True\"}],\"nodeInfo\":{\"kubeletVersion\":"
		"\"v1.32.0\"}}}",
		NULL, NULL);
	assert_string_equal(c, "[\"n1\",\"Ready,SchedulingDisabled\",\"control-plane\",\"5m\","
			       "\"v1.32.0\",\"<none>\",\"<none>\",\"<none>\",\"<none>\",\"<none>\"]");
	free(c);
	c = row("", "ConfigMap", "{\"metadata\":{\"name\":\"c\"," T0 "},\"data\":{\"a\":\"1\"},"
		"\"binaryData\":{\"b\":\"AA==\"}}", NULL, NULL);
	assert_string_equal(c, "[\"c\",2,\"5m\"]");
	free(c);
	/* A custom resource with printer columns. */
	c = row("example.com", "Widget",
		"{\"metadata\":{\"name\":\"w\"," T0 "},\"spec\":{\"size\":3,\"parts\":[{\"n\":\"x\"}]}}",
		"[{\"name\":\"Size\",\"type\":\"integer\",\"jsonPath\":\".spec.size\"},"
		"{\"name\":\"Part\",\"type\":\"string\",\"jsonPath\":\".spec.parts[0].n\"},"
		"{\"name\":\"Missing\",\"type\":\"string\",\"jsonPath\":\".status.x\"}]",
		&t);
	assert_string_equal(c, "[\"w\",\"5m\",3,\"x\",null]");
	assert_int_equal(json_array_size(json_object_get(t, "columnDefinitions")), 5);
	json_decref(t);
	free(c);
	/* Garbage never crashes. */
	const char *odd[] = {"{}", "{\"metadata\":5}", "{\"spec\":[],\"status\":\"x\"}",
			     "{\"metadata\":{\"name\":3},\"status\":{\"containerStatuses\":{}}}"};
	const char *kinds[] = {"Pod", "Service", "Node", "Event", "Deployment", "Job", "CronJob",
			       "PersistentVolume", "Endpoints", "RoleBinding", "StorageClass"};
	for (size_t i = 0; i < 4; i++)
		for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
			const char *g = k == 4 ? "apps" : k == 5 || k == 6 ? "batch" :
					k == 9 ? "rbac.authorization.k8s.io" : k == 10 ? "storage.k8s.io" : "";
			free(row(g, kinds[k], odd[i], NULL, NULL));
		}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(label_operators), cmocka_unit_test(label_errors),
		cmocka_unit_test(label_from_json), cmocka_unit_test(field_selectors),
		cmocka_unit_test(ages),		   cmocka_unit_test(table_cells),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
