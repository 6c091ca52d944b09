/*
 * Label and field selectors: every operator against present, absent and
 * odd labels; upstream's error messages for bad syntax and bad keys or
 * values; metav1.LabelSelector objects and their canonical text; field
 * selectors per resource, escapes, missing fields and pinned names.
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
#include "../../core/base/err.h"

#define NAME_RULE                                                                              \
	"must consist of alphanumeric characters, '-', '_' or '.', and must start and end with " \
	"an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used "   \
	"for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
#define VALUE_RULE                                                                             \
	"a valid label must be an empty string or consist of alphanumeric characters, '-', '_' " \
	"or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or "  \
	"'my_value',  or '12345', regex used for validation is "                                \
	"'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"

static json_t *J(const char *text)
{
	json_error_t e;
	json_t *j = json_loads(text, JSON_DECODE_ANY, &e);
	if (j == NULL)
		fail_msg("bad JSON in test: %s: %s", e.text, text);
	return j;
}

/* Parses `sel` (must succeed) and matches it against `labels` (JSON or NULL). */
static bool lmatch(const char *sel, const char *labels)
{
	struct label_selector *s;
	char err[1024];
	if (label_selector_parse(sel, &s, err, sizeof err) != MK_OK)
		fail_msg("parse \"%s\": %s", sel, err);
	json_t *l = labels ? J(labels) : NULL;
	bool m = label_selector_matches(s, l);
	json_decref(l);
	label_selector_free(s);
	return m;
}

/* Parses `sel`, which must fail with MK_EINVAL and leave *out alone;
 * returns the message (static buffer). */
static const char *lerr(const char *sel)
{
	static char err[2048];
	struct label_selector *sentinel = (struct label_selector *)&err, *s = sentinel;
	err[0] = '\0';
	int rv = label_selector_parse(sel, &s, err, sizeof err);
	if (rv != MK_EINVAL)
		fail_msg("parse \"%s\": rv %d, wanted MK_EINVAL", sel, rv);
	assert_ptr_equal(s, sentinel);
	assert_null(strchr(err, '\n'));
	return err;
}

static void label_operators(void **state)
{
	(void)state;
	const char *web = "{\"app\":\"web\",\"tier\":\"fe\",\"n\":\"5\",\"empty\":\"\"}";
	struct {
		const char *sel;
		bool want;
	} cases[] = {
		{"", true},
		{"   ", true},
		{"app=web", true},
		{"app==web", true},
		{"app=db", false},
		{"missing=web", false},
		{"app!=db", true},
		{"app!=web", false},
		{"missing!=x", true}, /* != matches objects without the label */
		{"app", true},
		{"missing", false},
		{"!app", false},
		{"!missing", true},
		{"tier in (fe,be)", true},
		{"tier in (be)", false},
		{"missing in (fe)", false},
		{"tier notin (fe)", false},
		{"tier notin (be,x)", true},
		{"missing notin (fe)", true},
		{"n>3", true},
		{"n>5", false},
		{"n<6", true},
		{"n<5", false},
		{"app>1", false},     /* a label that is not a number never compares */
		{"missing<10", false}, /* nor does a missing one */
		{"empty=", true},
		{"empty", true},
		{"empty in ()", true}, /* "()" is the one empty value */
		{"app in (,web)", true},
		{"app=web,tier=fe,n", true},
		{"app=web,tier=be", false},
		{" app = web ,\ttier in ( fe , be )\n", true},
		{"example.com/role", false},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		if (lmatch(cases[i].sel, web) != cases[i].want)
			fail_msg("\"%s\" should %smatch", cases[i].sel, cases[i].want ? "" : "not ");
	/* "in" and "notin" are values where a value is expected. */
	assert_true(lmatch("x in (in,notin)", "{\"x\":\"notin\"}"));
	assert_true(lmatch("in=notin", "{\"in\":\"notin\"}"));
	assert_true(lmatch("example.com/role=x", "{\"example.com/role\":\"x\"}"));
	/* No labels at all, or labels that are not strings. */
	assert_true(lmatch("!app,app!=x,app notin (a)", NULL));
	assert_false(lmatch("app", NULL));
	assert_false(lmatch("app", "{\"app\":5}"));
	assert_false(lmatch("app=web", "[\"app\",\"web\"]"));
	/* A NULL selector selects everything. */
	assert_true(label_selector_matches(NULL, NULL));
}

static void label_syntax_errors(void **state)
{
	(void)state;
	struct {
		const char *sel, *msg;
	} cases[] = {
		{"=x", "found '=', expected: !, identifier, or 'end of string'"},
		{",a", "found ',', expected: !, identifier, or 'end of string'"},
		{"app=web,", "found '', expected: identifier after ','"},
		{"a,,b", "found ',', expected: identifier after ','"},
		{"a=b c", "found 'c', expected: ',' or 'end of string'"},
		{"!a=b", "found '=', expected: ',' or 'end of string'"},
		{"app in (a", "unable to parse requirement: found '', expected: ',' or ')'"},
		{"app in (a b)", "unable to parse requirement: found 'b', expected: ',' or ')'"},
		{"k in x", "unable to parse requirement: found 'x' expected: '('"},
		{"k in (=)", "unable to parse requirement: found '=', expected: ',', ')' or identifier"},
		{"k in (a,=)", "unable to parse requirement: found '=', expected: ',', or identifier"},
		{"app ~ x", "unable to parse requirement: found '~', expected: in, notin, =, ==, !=, "
			    "gt, lt"},
		{"env IN (a)", "unable to parse requirement: found 'IN', expected: in, notin, =, ==, "
			       "!=, gt, lt"},
		{"test-label=====name1", "unable to parse requirement: found '==', expected: "
					 "identifier"},
		{"!", "unable to parse requirement: found '', expected: identifier"},
		{"!=a", "found '!=', expected: !, identifier, or 'end of string'"},
		{"! =a", "unable to parse requirement: found '=', expected: identifier"},
		{"n>x", "unable to parse requirement: values[0]: Invalid value: \"x\": for 'Gt', "
			"'Lt' operators, the value must be an integer"},
		{"n<", "unable to parse requirement: values[0]: Invalid value: \"\": for 'Gt', "
		       "'Lt' operators, the value must be an integer"},
		{"n>99999999999999999999", "unable to parse requirement: values[0]: Invalid value: "
					   "\"99999999999999999999\": for 'Gt', 'Lt' operators, "
					   "the value must be an integer"},
		{"app=-x", "unable to parse requirement: values[0][app]: Invalid value: \"-x\": "
			   VALUE_RULE},
		{"app in (ok,b@d)", "unable to parse requirement: values[0][app]: Invalid value: "
				    "\"b@d\": " VALUE_RULE},
		{"-bad=x", "unable to parse requirement: <nil>: Invalid value: \"-bad\": name part "
			   NAME_RULE},
		{"app:monolith", "unable to parse requirement: <nil>: Invalid value: "
				 "\"app:monolith\": name part " NAME_RULE},
		{"a/b/c=x", "unable to parse requirement: <nil>: Invalid value: \"a/b/c\": a "
			    "qualified name " NAME_RULE " with an optional DNS subdomain prefix and "
			    "'/' (e.g. 'example.com/MyName')"},
		{"/x", "unable to parse requirement: <nil>: Invalid value: \"/x\": prefix part must "
		       "be non-empty"},
		{"x/", "unable to parse requirement: <nil>: Invalid value: \"x/\": name part must be "
		       "non-empty; name part " NAME_RULE},
		{"Example.com/x", "unable to parse requirement: <nil>: Invalid value: "
				  "\"Example.com/x\": prefix part a lowercase RFC 1123 subdomain "
				  "must consist of lower case alphanumeric characters, '-' or '.', "
				  "and must start and end with an alphanumeric character (e.g. "
				  "'example.com', regex used for validation is "
				  "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const char *got = lerr(cases[i].sel);
		if (strcmp(got, cases[i].msg) != 0)
			fail_msg("\"%s\":\n got  %s\n want %s", cases[i].sel, got, cases[i].msg);
	}
	/* Other malformed prefixes. */
	const char *bad_prefix[] = {"a..b/x", "-a/x", "a-/x", "a_b/x", "a.b./x"};
	for (size_t i = 0; i < sizeof bad_prefix / sizeof bad_prefix[0]; i++)
		assert_non_null(strstr(lerr(bad_prefix[i]), "prefix part a lowercase RFC 1123"));
	/* Bytes that are not ASCII are not label characters. */
	assert_non_null(strstr(lerr("app=\xc3\xa9t\xc3\xa9"), "values[0][app]: Invalid value"));
	/* Whatever bytes a client sends, the message is one line of valid
	 * UTF-8 (it goes into a JSON Status). */
	const char *nasty[] = {"a\x01b=c", "a=b\x02c", "\xff=x", "a in (\xc3", "a=\xe2\x82",
			       "a\x7f", "x=\xed\xa0\x80"};
	for (size_t i = 0; i < sizeof nasty / sizeof nasty[0]; i++) {
		const char *m = lerr(nasty[i]);
		json_t *j = json_string(m);
		if (j == NULL)
			fail_msg("message for case %zu is not UTF-8: %s", i, m);
		json_decref(j);
		for (const char *c = m; *c; c++)
			assert_true((unsigned char)*c >= 0x20 && *c != 0x7f);
	}
	/* No error buffer: still an error, still no crash. */
	struct label_selector *s = NULL;
	assert_int_equal(label_selector_parse("a in (", &s, NULL, 0), MK_EINVAL);
	assert_null(s);
}

static void label_limits(void **state)
{
	(void)state;
	char sel[1024], name[80], value[80], prefix[300];
	memset(name, 'n', 63);
	name[63] = '\0';
	memset(value, 'v', 63);
	value[63] = '\0';
	/* 253 characters: three 63-character labels and a 61-character one. */
	snprintf(prefix, sizeof prefix, "%.63s.%.63s.%.63s.%.61s", name, name, name, name);
	assert_int_equal(strlen(prefix), 253);
	for (char *p = prefix; *p; p++)
		if (*p == 'n')
			*p = 'p';
	snprintf(sel, sizeof sel, "%s/%s=%s", prefix, name, value);
	char labels[1024];
	snprintf(labels, sizeof labels, "{\"%s/%s\":\"%s\"}", prefix, name, value);
	assert_true(lmatch(sel, labels));
	/* One more character anywhere is one too many. */
	snprintf(sel, sizeof sel, "%sn=x", name);
	assert_non_null(strstr(lerr(sel), "name part must be no more than 63 characters"));
	snprintf(sel, sizeof sel, "x=%sv", value);
	assert_non_null(strstr(lerr(sel), "\": must be no more than 63 characters"));
	snprintf(sel, sizeof sel, "p%s/x", prefix);
	assert_non_null(strstr(lerr(sel), "prefix part must be no more than 253 characters"));
	/* A very long selector is only slow to read, not a problem. */
	size_t n = 20000;
	char *big = malloc(n * 8), *p = big;
	for (size_t i = 0; i < n; i++)
		p += sprintf(p, "%sa%zu", i ? "," : "", i % 1000);
	struct label_selector *s;
	char err[256];
	assert_int_equal(label_selector_parse(big, &s, err, sizeof err), MK_OK);
	label_selector_free(s);
	free(big);
}

static void label_from_json(void **state)
{
	(void)state;
	json_t *sel = J("{\"matchLabels\":{\"tier\":\"fe\",\"app\":\"web\"},\"matchExpressions\":["
			"{\"key\":\"env\",\"operator\":\"In\",\"values\":[\"prod\",\"dev\"]},"
			"{\"key\":\"old\",\"operator\":\"DoesNotExist\"},"
			"{\"key\":\"zone\",\"operator\":\"NotIn\",\"values\":[\"b\",\"a\"]},"
			"{\"key\":\"gpu\",\"operator\":\"Exists\",\"values\":[]}]}");
	struct label_selector *s;
	char err[1024];
	assert_int_equal(label_selector_from_json(sel, &s, err, sizeof err), MK_OK);
	json_t *l = J("{\"app\":\"web\",\"tier\":\"fe\",\"env\":\"dev\",\"gpu\":\"1\"}");
	assert_true(label_selector_matches(s, l));
	json_object_set_new(l, "old", json_string("x"));
	assert_false(label_selector_matches(s, l));
	json_decref(l);
	label_selector_free(s);
	/* The text the API server prints: sorted by key, set values sorted. */
	char *text = label_selector_string(sel);
	assert_string_equal(text, "app=web,env in (dev,prod),gpu,!old,tier=fe,zone notin (a,b)");
	free(text);
	json_decref(sel);

	/* nil selects nothing, {} selects everything; both print as "". */
	assert_int_equal(label_selector_from_json(NULL, &s, err, sizeof err), MK_OK);
	assert_false(label_selector_matches(s, NULL));
	label_selector_free(s);
	sel = J("{}");
	assert_int_equal(label_selector_from_json(sel, &s, err, sizeof err), MK_OK);
	assert_true(label_selector_matches(s, NULL));
	label_selector_free(s);
	text = label_selector_string(sel);
	assert_string_equal(text, "");
	free(text);
	json_decref(sel);
	text = label_selector_string(NULL);
	assert_string_equal(text, "");
	free(text);

	struct {
		const char *json, *msg;
	} bad[] = {
		{"{\"matchExpressions\":[{\"key\":\"x\",\"operator\":\"Sometimes\"}]}",
		 "\"Sometimes\" is not a valid label selector operator"},
		{"{\"matchExpressions\":[{\"key\":\"x\",\"operator\":\"In\",\"values\":[]}]}",
		 "values: Invalid value: []: for 'in', 'notin' operators, values set can't be "
		 "empty"},
		{"{\"matchExpressions\":[{\"key\":\"x\",\"operator\":\"Exists\",\"values\":[\"a\"]}]}",
		 "values: Invalid value: [a]: values set must be empty for exists and does not "
		 "exist"},
		{"{\"matchLabels\":{\"-x\":\"a\"}}", "key: Invalid value: \"-x\": name part " NAME_RULE},
		{"{\"matchLabels\":{\"-x\":\"-a\"}}", "[key: Invalid value: \"-x\": name part "
		 NAME_RULE ", values[0][-x]: Invalid value: \"-a\": " VALUE_RULE "]"},
		{"{\"matchLabels\":{\"app\":5}}", "matchLabels: the value of \"app\" must be a string"},
		{"{\"matchLabels\":[]}", "matchLabels must be an object and matchExpressions a list"},
		{"{\"matchExpressions\":{}}", "matchLabels must be an object and matchExpressions a "
		 "list"},
		{"{\"matchExpressions\":[5]}", "matchExpressions: each entry needs a string key and "
		 "operator"},
		{"{\"matchExpressions\":[{\"key\":\"x\",\"operator\":\"In\",\"values\":[1]}]}",
		 "matchExpressions: values must be a list of strings"},
		{"{\"matchExpressions\":[{\"key\":\"x\",\"operator\":\"In\",\"values\":\"a\"}]}",
		 "matchExpressions: values must be a list of strings"},
		{"\"app=web\"", "a label selector must be an object"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		sel = J(bad[i].json);
		s = (struct label_selector *)err;
		assert_int_equal(label_selector_from_json(sel, &s, err, sizeof err), MK_EINVAL);
		assert_ptr_equal(s, (struct label_selector *)err);
		if (strcmp(err, bad[i].msg) != 0)
			fail_msg("%s:\n got  %s\n want %s", bad[i].json, err, bad[i].msg);
		assert_null(label_selector_string(sel));
		json_decref(sel);
	}
}

/* --- field selectors -------------------------------------------------------- */

static bool fmatch(const char *sel, const char *resource, const char *obj)
{
	struct field_selector *s;
	char err[512];
	if (field_selector_parse(sel, resource, &s, err, sizeof err) != MK_OK)
		fail_msg("parse \"%s\" for %s: %s", sel, resource, err);
	json_t *o = J(obj);
	bool m = field_selector_matches(s, o);
	json_decref(o);
	field_selector_free(s);
	return m;
}

static const char *ferr(const char *sel, const char *resource)
{
	static char err[512];
	struct field_selector *sentinel = (struct field_selector *)&err, *s = sentinel;
	err[0] = '\0';
	if (field_selector_parse(sel, resource, &s, err, sizeof err) != MK_EINVAL)
		fail_msg("\"%s\" for %s parsed", sel, resource);
	assert_ptr_equal(s, sentinel);
	return err;
}

static void field_matching(void **state)
{
	(void)state;
	const char *pod = "{\"metadata\":{\"name\":\"web\",\"namespace\":\"default\"},"
			  "\"spec\":{\"nodeName\":\"n1\",\"hostNetwork\":true,\"restartPolicy\":"
			  "\"Always\"},\"status\":{\"phase\":\"Running\",\"podIP\":\"10.1.0.5\","
			  "\"podIPs\":[{\"ip\":\"10.1.0.5\"},{\"ip\":\"fd00::5\"}]}}";
	assert_true(fmatch("", "pods", pod));
	assert_true(fmatch("metadata.name=web", "pods", pod));
	assert_true(fmatch("metadata.name==web,metadata.namespace=default", "pods", pod));
	assert_false(fmatch("metadata.name=db", "pods", pod));
	assert_false(fmatch("metadata.name!=web", "pods", pod));
	/* What kubectl describe node sends. */
	assert_true(fmatch("spec.nodeName=n1,status.phase!=Succeeded,status.phase!=Failed",
			   "pods", pod));
	assert_true(fmatch("spec.hostNetwork=true,status.podIP=10.1.0.5", "pods", pod));
	assert_true(fmatch("spec.restartPolicy=Always", "pods", pod));
	/* Empty terms are skipped. */
	assert_true(fmatch(",metadata.name=web,,", "pods", pod));
	/* Missing fields compare as "" (bools as false, counts as 0). */
	const char *bare = "{\"metadata\":{\"name\":\"x\"}}";
	assert_true(fmatch("spec.nodeName=", "pods", bare));
	assert_false(fmatch("spec.nodeName!=", "pods", bare));
	assert_true(fmatch("metadata.namespace=", "nodes", bare));
	assert_true(fmatch("spec.hostNetwork=false,status.podIP=", "pods", bare));
	assert_true(fmatch("spec.unschedulable=false", "nodes", bare));
	assert_true(fmatch("spec.unschedulable=true", "nodes",
			   "{\"spec\":{\"unschedulable\":true}}"));
	assert_true(fmatch("status.replicas=0", "replicasets", bare));
	assert_true(fmatch("status.replicas=3", "replicationcontrollers",
			   "{\"status\":{\"replicas\":3}}"));
	assert_true(fmatch("status.successful=2", "jobs", "{\"status\":{\"succeeded\":2}}"));
	assert_true(fmatch("status.successful=0", "jobs", bare));
	assert_true(fmatch("type=kubernetes.io/tls", "secrets", "{\"type\":\"kubernetes.io/tls\"}"));
	assert_true(fmatch("status.phase=Terminating", "namespaces",
			   "{\"status\":{\"phase\":\"Terminating\"}}"));
	/* podIP comes from podIPs first, as the server's field set has it. */
	assert_true(fmatch("status.podIP=10.1.0.9", "pods",
			   "{\"status\":{\"podIP\":\"10.1.0.9\"}}"));
	assert_false(fmatch("status.podIP=fd00::5", "pods", pod));
	/* Odd types: no crash, no match on garbage. */
	assert_false(fmatch("spec.nodeName=5", "pods", "{\"spec\":{\"nodeName\":5}}"));
	assert_true(fmatch("metadata.name=", "pods", "{\"metadata\":7}"));
	assert_true(fmatch("metadata.name=", "pods", "[]"));
	assert_true(field_selector_matches(NULL, NULL));
}

static void field_events(void **state)
{
	(void)state;
	const char *ev = "{\"involvedObject\":{\"kind\":\"Pod\",\"namespace\":\"default\","
			 "\"name\":\"web\",\"uid\":\"u-1\",\"apiVersion\":\"v1\","
			 "\"resourceVersion\":\"42\",\"fieldPath\":\"spec.containers{c}\"},"
			 "\"reason\":\"Pulled\",\"type\":\"Normal\",\"reportingComponent\":\"kubelet\"}";
	/* What kubectl describe pod sends. */
	assert_true(fmatch("involvedObject.name=web,involvedObject.namespace=default,"
			   "involvedObject.uid=u-1", "events", ev));
	assert_true(fmatch("involvedObject.kind=Pod,involvedObject.apiVersion=v1,"
			   "involvedObject.resourceVersion=42", "events", ev));
	assert_true(fmatch("involvedObject.fieldPath=spec.containers{c}", "events", ev));
	assert_true(fmatch("reason=Pulled,type=Normal,reportingComponent=kubelet", "events", ev));
	/* source is source.component, else the reporting component. */
	assert_true(fmatch("source=kubelet", "events", ev));
	assert_true(fmatch("source=scheduler", "events",
			   "{\"source\":{\"component\":\"scheduler\"},\"reportingComponent\":\"x\"}"));
	assert_true(fmatch("source=", "events", "{}"));
}

static void field_escapes_and_errors(void **state)
{
	(void)state;
	assert_true(fmatch("metadata.name=a\\,b", "configmaps", "{\"metadata\":{\"name\":\"a,b\"}}"));
	assert_true(fmatch("metadata.name=a\\=b\\\\c", "configmaps",
			   "{\"metadata\":{\"name\":\"a=b\\\\c\"}}"));
	assert_true(fmatch("metadata.name!=a\\,b,metadata.namespace=x", "configmaps",
			   "{\"metadata\":{\"name\":\"a\",\"namespace\":\"x\"}}"));
	struct {
		const char *sel, *resource, *msg;
	} cases[] = {
		{"spec.nodeName=x", "configmaps", "field label not supported: spec.nodeName"},
		{"spec.unschedulable=true", "pods", "field label not supported: spec.unschedulable"},
		{"status.phase=x", "services", "field label not supported: status.phase"},
		{"metadata.labels=x", "pods", "field label not supported: metadata.labels"},
		{"metadata.name =x", "pods", "field label not supported: metadata.name "},
		{"=x", "pods", "field label not supported: "},
		{"source=x", "pods", "field label not supported: source"},
		{"nonsense", "pods", "invalid selector: 'nonsense'; can't understand 'nonsense'"},
		{"metadata.name=a,bad", "pods",
		 "invalid selector: 'metadata.name=a,bad'; can't understand 'bad'"},
		{"metadata.name=x\\y", "pods", "invalid field selector: invalid escape sequence: \\y"},
		{"metadata.name=x\\", "pods", "invalid field selector: invalid escape sequence: \\"},
		{"metadata.name=a=b", "pods",
		 "invalid field selector: unescapedRune character in value: 61"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const char *got = ferr(cases[i].sel, cases[i].resource);
		if (strcmp(got, cases[i].msg) != 0)
			fail_msg("\"%s\":\n got  %s\n want %s", cases[i].sel, got, cases[i].msg);
	}
	const char *nasty[] = {"metadata.name=\\\xc3\xa9", "\xff\n=x", "a\x01"};
	for (size_t i = 0; i < sizeof nasty / sizeof nasty[0]; i++) {
		const char *m = ferr(nasty[i], "pods");
		json_t *j = json_string(m);
		if (j == NULL)
			fail_msg("message for case %zu is not UTF-8: %s", i, m);
		json_decref(j);
		assert_null(strchr(m, '\n'));
	}
	/* Every resource has the two metadata fields, custom ones included. */
	assert_true(fmatch("metadata.name=w", "widgets", "{\"metadata\":{\"name\":\"w\"}}"));
	struct field_selector *s = NULL;
	assert_int_equal(field_selector_parse("x=y", "pods", &s, NULL, 0), MK_EINVAL);
	assert_null(s);
}

static void field_pinned(void **state)
{
	(void)state;
	struct field_selector *s;
	char err[256];
	assert_int_equal(field_selector_parse("metadata.namespace!=kube-system,metadata.name==web",
					      "pods", &s, err, sizeof err),
			 MK_OK);
	assert_string_equal(field_selector_pinned(s, "metadata.name"), "web");
	assert_null(field_selector_pinned(s, "metadata.namespace")); /* != pins nothing */
	assert_null(field_selector_pinned(s, "spec.nodeName"));
	assert_null(field_selector_pinned(s, NULL));
	field_selector_free(s);
	assert_int_equal(field_selector_parse("metadata.name=a\\,b", "pods", &s, err, sizeof err),
			 MK_OK);
	assert_string_equal(field_selector_pinned(s, "metadata.name"), "a,b");
	field_selector_free(s);
	assert_null(field_selector_pinned(NULL, "metadata.name"));
	field_selector_free(NULL);
	label_selector_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(label_operators),   cmocka_unit_test(label_syntax_errors),
		cmocka_unit_test(label_limits),	     cmocka_unit_test(label_from_json),
		cmocka_unit_test(field_matching),    cmocka_unit_test(field_events),
		cmocka_unit_test(field_escapes_and_errors), cmocka_unit_test(field_pinned),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
