/*
 * Unit tests of the three patch formats (core/api/patch*.c).
 *
 * Cases are tables of JSON strings written with single quotes for
 * readability (J() turns them into double quotes): document, patch, and
 * either the expected result (compared with json_equal, so list order
 * counts) or the expected error.  Every error case also checks that the
 * document was left alone, pointer and content, and that the message is
 * one non-empty line of valid UTF-8.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "../../core/api/patch.h"
#include "../../core/base/err.h"

enum fmt { MERGE, JSONP, SMP };

struct pcase {
	const char *name;
	const char *doc, *patch;
	const char *want; /* NULL: expect `err` */
	int err;
};

static json_t *J(const char *s)
{
	char *q = strdup(s);
	assert_non_null(q);
	for (char *p = q; *p; p++)
		if (*p == '\'')
			*p = '"';
	json_error_t e;
	json_t *v = json_loads(q, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &e);
	if (!v)
		fail_msg("bad test JSON (%s): %s", e.text, q);
	free(q);
	return v;
}

/* True if an object key in v starts with '$' (a leaked directive; "$ref"
 * and "$schema" are JSON-Schema data). */
static bool has_directive(const json_t *v)
{
	const char *key;
	json_t *m;
	size_t i;
	if (json_is_object(v)) {
		json_object_foreach((json_t *)v, key, m)
			if ((key[0] == '$' && strcmp(key, "$ref") && strcmp(key, "$schema")) ||
			    has_directive(m))
				return true;
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, m)
			if (has_directive(m))
				return true;
	}
	return false;
}

static void check_message(const char *msg)
{
	assert_true(msg[0] != '\0');
	for (const char *p = msg; *p; p++)
		assert_true((unsigned char)*p >= 0x20 && *p != 0x7f);
	json_t *s = json_string(msg); /* NULL unless valid UTF-8 */
	assert_non_null(s);
	json_decref(s);
}

static int apply(enum fmt f, json_t **doc, const json_t *patch, const char *group,
		 const char *kind, char *msg, size_t len)
{
	switch (f) {
	case MERGE:
		return patch_merge(doc, patch, msg, len);
	case JSONP:
		return patch_json(doc, patch, msg, len);
	default:
		return patch_strategic(doc, patch, group, kind, msg, len);
	}
}

static void run(enum fmt f, const char *group, const char *kind, const struct pcase *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		json_t *doc = J(c[i].doc), *patch = J(c[i].patch);
		json_t *before = json_deep_copy(doc), *patch_before = json_deep_copy(patch);
		json_t *ptr = doc;
		size_t patch_refs = patch->refcount;
		char msg[256] = "";
		int rc = apply(f, &doc, patch, group, kind, msg, sizeof(msg));
		if (c[i].want) {
			json_t *want = J(c[i].want);
			if (rc != MK_OK || !json_equal(doc, want)) {
				char *got = json_dumps(doc, JSON_COMPACT | JSON_ENCODE_ANY);
				fail_msg("%s: rc %d (%s)\n  got  %s\n  want %s", c[i].name, rc, msg,
					 got, c[i].want);
			}
			if (f == SMP && has_directive(doc))
				fail_msg("%s: a directive leaked into the result", c[i].name);
			json_decref(want);
		} else {
			if (rc != c[i].err)
				fail_msg("%s: rc %d, want %d (%s)", c[i].name, rc, c[i].err, msg);
			assert_ptr_equal(doc, ptr);
			assert_true(json_equal(doc, before));
			check_message(msg);
		}
		/* The patch is only read: neither content nor reference count
		 * changed. */
		assert_true(json_equal(patch, patch_before));
		assert_int_equal(patch->refcount, patch_refs);
		json_decref(doc);
		json_decref(before);
		json_decref(patch);
		json_decref(patch_before);
	}
}

#define OK(name, doc, patch, want) {name, doc, patch, want, MK_OK}
#define ERR(name, doc, patch, err) {name, doc, patch, NULL, err}
#define RUN(f, g, k, cases) run(f, g, k, cases, sizeof(cases) / sizeof(cases[0]))

/* ---- RFC 7386 ---------------------------------------------------------- */

static void test_merge_rfc7386(void **state)
{
	static const struct pcase cases[] = {
		/* Appendix A, every row. */
		OK("A1", "{'a':'b'}", "{'a':'c'}", "{'a':'c'}"),
		OK("A2", "{'a':'b'}", "{'b':'c'}", "{'a':'b','b':'c'}"),
		OK("A3", "{'a':'b'}", "{'a':null}", "{}"),
		OK("A4", "{'a':'b','b':'c'}", "{'a':null}", "{'b':'c'}"),
		OK("A5", "{'a':['b']}", "{'a':'c'}", "{'a':'c'}"),
		OK("A6", "{'a':'c'}", "{'a':['b']}", "{'a':['b']}"),
		OK("A7", "{'a':{'b':'c'}}", "{'a':{'b':'d','c':null}}", "{'a':{'b':'d'}}"),
		OK("A8", "{'a':[{'b':'c'}]}", "{'a':[1]}", "{'a':[1]}"),
		OK("A9", "['a','b']", "['c','d']", "['c','d']"),
		OK("A10", "{'a':'b'}", "['c']", "['c']"),
		OK("A11", "{'a':'foo'}", "null", "null"),
		OK("A12", "{'a':'foo'}", "'bar'", "'bar'"),
		OK("A13", "{'e':null}", "{'a':1}", "{'e':null,'a':1}"),
		OK("A14", "[1,2]", "{'a':'b','c':null}", "{'a':'b'}"),
		OK("A15", "{}", "{'a':{'bb':{'ccc':null}}}", "{'a':{'bb':{}}}"),
		/* Section 3's example. */
		OK("sec3",
		 "{'title':'Goodbye!','author':{'givenName':'John','familyName':'Doe'},"
		 "'tags':['example','sample'],'content':'This will be unchanged'}",
		 "{'title':'Hello!','phoneNumber':'+01-123-456-7890','author':{'familyName':null},"
		 "'tags':['example']}",
		 "{'title':'Hello!','author':{'givenName':'John'},'tags':['example'],"
		 "'content':'This will be unchanged','phoneNumber':'+01-123-456-7890'}"),
		/* kubectl label / annotate / scale. */
		OK("label", "{'metadata':{'labels':{'a':'1','b':'2'}}}",
		 "{'metadata':{'labels':{'a':null,'c':'3'}}}", "{'metadata':{'labels':{'b':'2','c':'3'}}}"),
		OK("scale", "{'spec':{'replicas':1}}", "{'spec':{'replicas':3}}", "{'spec':{'replicas':3}}"),
		/* Directives mean nothing to a plain merge patch. */
		OK("no directives", "{}", "{'a':{'$patch':'delete'}}", "{'a':{'$patch':'delete'}}"),
	};
	RUN(MERGE, NULL, NULL, cases);
}

static char *nested(const char *open, const char *leaf, const char *close, int depth)
{
	size_t lo = strlen(open), lc = strlen(close), ll = strlen(leaf);
	char *s = malloc((lo + lc) * (size_t)depth + ll + 1), *p = s;
	assert_non_null(s);
	for (int i = 0; i < depth; i++, p += lo)
		memcpy(p, open, lo);
	memcpy(p, leaf, ll);
	p += ll;
	for (int i = 0; i < depth; i++, p += lc)
		memcpy(p, close, lc);
	*p = '\0';
	return s;
}

/* A patch nested past PATCH_MAX_DEPTH fails cleanly in every format;
 * one just within it applies. */
static void test_depth_bombs(void **state)
{
	char msg[128];
	struct {
		const char *open, *close;
	} shapes[] = {{"{'a':", "}"}, {"[", "]"}, {"{'a':[", "]}"}};
	for (size_t k = 0; k < 3; k++) {
		char *deep = nested(shapes[k].open, "1", shapes[k].close, 1000);
		char *body = malloc(strlen(deep) + 64);
		sprintf(body, "{'spec':%s}", deep);
		json_t *patch = J(body), *doc = J("{'spec':{'x':1}}"), *ptr = doc;
		json_t *before = json_deep_copy(doc);
		assert_int_equal(patch_merge(&doc, patch, msg, sizeof(msg)), MK_EINVAL);
		check_message(msg);
		assert_int_equal(patch_strategic(&doc, patch, "", "Pod", msg, sizeof(msg)), MK_EINVAL);
		check_message(msg);
		assert_int_equal(patch_strategic(&doc, patch, "x.io", "Crd", msg, sizeof(msg)),
				 MK_EINVAL);
		assert_ptr_equal(doc, ptr);
		assert_true(json_equal(doc, before));
		json_decref(patch);
		sprintf(body, "[{'op':'add','path':'/x','value':%s}]", deep);
		patch = J(body);
		assert_int_equal(patch_json(&doc, patch, msg, sizeof(msg)), MK_EINVAL);
		check_message(msg);
		assert_ptr_equal(doc, ptr);
		assert_true(json_equal(doc, before));
		json_decref(patch);
		json_decref(before);
		json_decref(doc);
		free(body);
		free(deep);
	}
	/* 99 objects around a scalar: exactly the limit; one more is too many. */
	for (int extra = 0; extra < 2; extra++) {
		char *text = nested("{'a':", "1", "}", PATCH_MAX_DEPTH - 1 + extra);
		json_t *patch = J(text), *doc = J("{}");
		int want = extra ? MK_EINVAL : MK_OK;
		assert_int_equal(patch_merge(&doc, patch, msg, sizeof(msg)), want);
		assert_int_equal(patch_strategic(&doc, patch, "", "Pod", msg, sizeof(msg)), want);
		json_decref(patch);
		json_decref(doc);
		free(text);
	}
}

/* ---- RFC 6902 ---------------------------------------------------------- */

static void test_json_rfc6902(void **state)
{
	static const struct pcase cases[] = {
		/* Appendix A, every example (A.13 is test_json_duplicate_member). */
		OK("A1", "{'foo':'bar'}", "[{'op':'add','path':'/baz','value':'qux'}]",
		 "{'baz':'qux','foo':'bar'}"),
		OK("A2", "{'foo':['bar','baz']}", "[{'op':'add','path':'/foo/1','value':'qux'}]",
		 "{'foo':['bar','qux','baz']}"),
		OK("A3", "{'baz':'qux','foo':'bar'}", "[{'op':'remove','path':'/baz'}]", "{'foo':'bar'}"),
		OK("A4", "{'foo':['bar','qux','baz']}", "[{'op':'remove','path':'/foo/1'}]",
		 "{'foo':['bar','baz']}"),
		OK("A5", "{'baz':'qux','foo':'bar'}", "[{'op':'replace','path':'/baz','value':'boo'}]",
		 "{'baz':'boo','foo':'bar'}"),
		OK("A6", "{'foo':{'bar':'baz','waldo':'fred'},'qux':{'corge':'grault'}}",
		 "[{'op':'move','from':'/foo/waldo','path':'/qux/thud'}]",
		 "{'foo':{'bar':'baz'},'qux':{'corge':'grault','thud':'fred'}}"),
		OK("A7", "{'foo':['all','grass','cows','eat']}",
		 "[{'op':'move','from':'/foo/1','path':'/foo/3'}]",
		 "{'foo':['all','cows','eat','grass']}"),
		OK("A8", "{'baz':'qux','foo':['a',2,'c']}",
		 "[{'op':'test','path':'/baz','value':'qux'},{'op':'test','path':'/foo/1','value':2}]",
		 "{'baz':'qux','foo':['a',2,'c']}"),
		ERR("A9", "{'baz':'qux'}", "[{'op':'test','path':'/baz','value':'bar'}]",
		 MK_ECONFLICT),
		OK("A10", "{'foo':'bar'}", "[{'op':'add','path':'/child','value':{'grandchild':{}}}]",
		 "{'foo':'bar','child':{'grandchild':{}}}"),
		OK("A11", "{'foo':'bar'}", "[{'op':'add','path':'/baz','value':'qux','xyz':123}]",
		 "{'foo':'bar','baz':'qux'}"),
		ERR("A12", "{'foo':'bar'}", "[{'op':'add','path':'/baz/bat','value':'qux'}]",
		 MK_ENOTFOUND),
		OK("A14", "{'/':9,'~1':10}", "[{'op':'test','path':'/~01','value':10}]",
		 "{'/':9,'~1':10}"),
		ERR("A15", "{'/':9,'~1':10}", "[{'op':'test','path':'/~01','value':'10'}]",
		 MK_ECONFLICT),
		OK("A16", "{'foo':['bar']}", "[{'op':'add','path':'/foo/-','value':['abc','def']}]",
		 "{'foo':['bar',['abc','def']]}"),

		/* Pointers, indexes, roots. */
		OK("slash key", "{}", "[{'op':'add','path':'/a~1b','value':1}]", "{'a/b':1}"),
		OK("empty key", "{}", "[{'op':'add','path':'/','value':1}]", "{'':1}"),
		OK("append at size", "{'a':[1]}", "[{'op':'add','path':'/a/1','value':2}]", "{'a':[1,2]}"),
		OK("null value", "{}", "[{'op':'add','path':'/a','value':null}]", "{'a':null}"),
		OK("replace root", "{'a':1}", "[{'op':'replace','path':'','value':{'b':2}}]", "{'b':2}"),
		OK("add root", "{'a':1}", "[{'op':'add','path':'','value':{'c':3}}]", "{'c':3}"),
		OK("copy is deep", "{'a':{'b':1}}",
		 "[{'op':'copy','from':'/a','path':'/c'},{'op':'replace','path':'/c/b','value':2}]",
		 "{'a':{'b':1},'c':{'b':2}}"),
		OK("copy root", "{'a':1}", "[{'op':'copy','from':'','path':'/b'}]", "{'a':1,'b':{'a':1}}"),
		OK("move to itself", "{'a':1}", "[{'op':'move','from':'/a','path':'/a'}]", "{'a':1}"),
		OK("test 1 == 1.0", "{'a':1}", "[{'op':'test','path':'/a','value':1.0}]", "{'a':1}"),
		OK("test deep", "{'a':{'b':[1,{'c':null}]}}",
		 "[{'op':'test','path':'/a','value':{'b':[1,{'c':null}]}}]",
		 "{'a':{'b':[1,{'c':null}]}}"),
		OK("kubectl json patch", "{'spec':{'containers':[{'name':'a','image':'x'}]}}",
		 "[{'op':'replace','path':'/spec/containers/0/image','value':'y'}]",
		 "{'spec':{'containers':[{'name':'a','image':'y'}]}}"),

		/* Errors; all or nothing. */
		ERR("atomic", "{'a':1}",
		 "[{'op':'add','path':'/b','value':2},{'op':'remove','path':'/zz'}]",
		 MK_ENOTFOUND),
		ERR("atomic test", "{'a':1}",
		 "[{'op':'remove','path':'/a'},{'op':'test','path':'/a','value':1}]",
		 MK_ECONFLICT),
		ERR("not array", "{}", "{'op':'add','path':'/a','value':1}", MK_EINVAL),
		ERR("op not object", "{}", "[1]", MK_EINVAL),
		ERR("no op", "{}", "[{'path':'/a','value':1}]", MK_EINVAL),
		ERR("unknown op", "{}", "[{'op':'merge','path':'/a','value':1}]", MK_EINVAL),
		ERR("op not string", "{}", "[{'op':1,'path':'/a'}]", MK_EINVAL),
		ERR("no path", "{}", "[{'op':'add','value':1}]", MK_EINVAL),
		ERR("path not string", "{}", "[{'op':'add','path':3,'value':1}]", MK_EINVAL),
		ERR("no value", "{}", "[{'op':'add','path':'/a'}]", MK_EINVAL),
		ERR("no from", "{'a':1}", "[{'op':'copy','path':'/b'}]", MK_EINVAL),
		ERR("bad pointer", "{'a':1}", "[{'op':'remove','path':'a'}]", MK_EINVAL),
		ERR("bad escape", "{'a':1}", "[{'op':'remove','path':'/~2'}]", MK_EINVAL),
		ERR("trailing tilde", "{'a':1}", "[{'op':'remove','path':'/a~'}]", MK_EINVAL),
		ERR("bad from", "{'a':1}", "[{'op':'move','from':'a','path':'/b'}]", MK_EINVAL),
		ERR("malformed after valid", "{'a':1}",
		 "[{'op':'remove','path':'/zz'},{'op':'bogus','path':'/a'}]", MK_EINVAL),
		ERR("move into child", "{'a':{'b':1}}", "[{'op':'move','from':'/a','path':'/a/b/c'}]", MK_EINVAL),
		ERR("remove root", "{'a':1}", "[{'op':'remove','path':''}]", MK_EINVAL),
		ERR("remove missing", "{'a':1}", "[{'op':'remove','path':'/b'}]", MK_ENOTFOUND),
		ERR("replace missing", "{'a':1}", "[{'op':'replace','path':'/b','value':1}]",
		 MK_ENOTFOUND),
		ERR("move missing", "{'a':1}", "[{'op':'move','from':'/b','path':'/c'}]",
		 MK_ENOTFOUND),
		ERR("copy missing", "{'a':1}", "[{'op':'copy','from':'/b/c','path':'/c'}]",
		 MK_ENOTFOUND),
		ERR("test missing", "{'a':1}", "[{'op':'test','path':'/b','value':null}]",
		 MK_ECONFLICT),
		ERR("index too big", "{'a':[1,2]}", "[{'op':'add','path':'/a/3','value':0}]",
		 MK_ENOTFOUND),
		ERR("index leading zero", "{'a':[1,2]}", "[{'op':'remove','path':'/a/01'}]",
		 MK_ENOTFOUND),
		ERR("index negative", "{'a':[1,2]}", "[{'op':'remove','path':'/a/-1'}]",
		 MK_ENOTFOUND),
		ERR("index huge", "{'a':[1]}", "[{'op':'remove','path':'/a/99999999999999999999999'}]", MK_ENOTFOUND),
		ERR("dash remove", "{'a':[1]}", "[{'op':'remove','path':'/a/-'}]", MK_ENOTFOUND),
		ERR("dash replace", "{'a':[1]}", "[{'op':'replace','path':'/a/-','value':2}]",
		 MK_ENOTFOUND),
		ERR("through scalar", "{'a':1}", "[{'op':'add','path':'/a/b','value':2}]",
		 MK_ENOTFOUND),
		ERR("replace past end", "{'a':[1]}", "[{'op':'replace','path':'/a/1','value':2}]",
		 MK_ENOTFOUND),
	};
	RUN(JSONP, NULL, NULL, cases);
}

/* RFC 6902 A.13: a repeated member makes the patch invalid.  Parsed as
 * the lead should (JSON_REJECT_DUPLICATES) it never gets here; parsed
 * without, jansson keeps the last "op" and the patch still fails. */
static void test_json_duplicate_member(void **state)
{
	const char *text = "[{\"op\":\"add\",\"path\":\"/baz\",\"value\":\"qux\",\"op\":\"remove\"}]";
	json_error_t e;
	assert_null(json_loads(text, JSON_REJECT_DUPLICATES, &e));
	json_t *patch = json_loads(text, 0, &e), *doc = J("{'foo':'bar'}"), *ptr = doc;
	char msg[128];
	assert_int_equal(patch_json(&doc, patch, msg, sizeof(msg)), MK_ENOTFOUND);
	assert_ptr_equal(doc, ptr);
	json_decref(patch);
	json_decref(doc);
}

static void test_json_limits(void **state)
{
	char msg[256];
	/* Too many operations. */
	json_t *ops = json_array(), *doc = J("{'a':[1,2,3,4,5,6,7,8,9,10]}"), *ptr = doc;
	for (int i = 0; i <= PATCH_MAX_OPS; i++)
		json_array_append_new(ops, J("{'op':'test','path':'/a/0','value':1}"));
	assert_int_equal(patch_json(&doc, ops, msg, sizeof(msg)), MK_EINVAL);
	json_array_remove(ops, 0);
	assert_int_equal(patch_json(&doc, ops, msg, sizeof(msg)), MK_OK);
	json_decref(ops);

	/* Copy bomb: every copy of the root doubles the document. */
	ops = json_array();
	for (int i = 0; i < 40; i++) {
		char op[96];
		snprintf(op, sizeof(op), "{'op':'copy','from':'','path':'/c%d'}", i);
		json_array_append_new(ops, J(op));
	}
	ptr = doc;
	assert_int_equal(patch_json(&doc, ops, msg, sizeof(msg)), MK_ETOOBIG);
	check_message(msg);
	assert_ptr_equal(doc, ptr);
	assert_int_equal(json_object_size(doc), 1);
	json_decref(ops);
	json_decref(doc);

	/* Moving or copying a deep value deeper would pass PATCH_MAX_DOC_DEPTH. */
	json_t *chain = json_integer(1);
	for (int i = 1; i < PATCH_MAX_DOC_DEPTH - 1; i++) {
		json_t *o = json_object();
		json_object_set_new(o, "a", chain);
		chain = o;
	}
	doc = J("{'b':{'c':{}}}");
	json_object_set_new(doc, "a", chain); /* depth of the document: 1000 */
	ptr = doc;
	json_t *deeper = J("[{'op':'move','from':'/a','path':'/b/c/d'}]");
	assert_int_equal(patch_json(&doc, deeper, msg, sizeof(msg)), MK_ETOOBIG);
	check_message(msg);
	json_decref(deeper);
	deeper = J("[{'op':'copy','from':'/a','path':'/b/c/d'}]");
	assert_int_equal(patch_json(&doc, deeper, msg, sizeof(msg)), MK_ETOOBIG);
	json_decref(deeper);
	assert_ptr_equal(doc, ptr);
	/* The same depth is fine. */
	deeper = J("[{'op':'move','from':'/a','path':'/z'}]");
	assert_int_equal(patch_json(&doc, deeper, msg, sizeof(msg)), MK_OK);
	json_decref(deeper);
	json_decref(doc);
}

/* ---- Strategic merge patch ---------------------------------------------- */

/* reference/kubectl-api.md §9: what kubectl apply sends when a re-applied
 * manifest dropped an env var, a port, a container, a finalizer and the
 * labels, and moved a volume from emptyDir to hostPath. */
static void test_smp_reapply(void **state)
{
	static const struct pcase cases[] = {
		OK("kubectl apply, §9",
		 "{'apiVersion':'v1','kind':'Pod','metadata':{'name':'web',"
		 "'finalizers':['a.example/x','b.example/y'],'labels':{'app':'web'}},"
		 "'spec':{'containers':[{'name':'nginx','image':'nginx',"
		 "'env':[{'name':'A','value':'1'},{'name':'B','value':'2'}],"
		 "'ports':[{'containerPort':80},{'containerPort':443}]},"
		 "{'name':'side','image':'busybox'}],"
		 "'volumes':[{'name':'v1','emptyDir':{}}]}}",
		 "{'metadata':{'$deleteFromPrimitiveList/finalizers':['a.example/x'],"
		 "'$setElementOrder/finalizers':['b.example/y'],'labels':null},"
		 "'spec':{'$setElementOrder/containers':[{'name':'nginx'}],"
		 "'containers':[{'name':'nginx','$setElementOrder/env':[{'name':'B'}],"
		 "'env':[{'$patch':'delete','name':'A'}],"
		 "'$setElementOrder/ports':[{'containerPort':443}],"
		 "'ports':[{'$patch':'delete','containerPort':80}]},"
		 "{'$patch':'delete','name':'side'}],"
		 "'volumes':[{'$retainKeys':['hostPath','name'],'emptyDir':null,"
		 "'hostPath':{'path':'/tmp'},'name':'v1'}]}}",
		 "{'apiVersion':'v1','kind':'Pod','metadata':{'name':'web',"
		 "'finalizers':['b.example/y']},"
		 "'spec':{'containers':[{'name':'nginx','image':'nginx',"
		 "'env':[{'name':'B','value':'2'}],'ports':[{'containerPort':443}]}],"
		 "'volumes':[{'name':'v1','hostPath':{'path':'/tmp'}}]}}"),
		OK("status merges by type and ip",
		 "{'status':{'conditions':[{'type':'Ready','status':'False'},"
		 "{'type':'PodScheduled','status':'True'}],'podIPs':[{'ip':'10.0.0.1'}]}}",
		 "{'status':{'conditions':[{'type':'Ready','status':'True'}],"
		 "'podIPs':[{'ip':'fd00::1'}]}}",
		 "{'status':{'conditions':[{'type':'Ready','status':'True'},"
		 "{'type':'PodScheduled','status':'True'}],"
		 "'podIPs':[{'ip':'fd00::1'},{'ip':'10.0.0.1'}]}}"),
		OK("new container comes first, as in Kubernetes",
		 "{'spec':{'containers':[{'name':'a','image':'x'}]}}",
		 "{'spec':{'containers':[{'name':'b','image':'y'}]}}",
		 "{'spec':{'containers':[{'name':'b','image':'y'},{'name':'a','image':'x'}]}}"),
		OK("delete every item with the key (53/TCP and 53/UDP)",
		 "{'spec':{'containers':[{'name':'dns','ports':[{'containerPort':53,'protocol':'TCP'},"
		 "{'containerPort':53,'protocol':'UDP'},{'containerPort':9153}]}]}}",
		 "{'spec':{'containers':[{'name':'dns','ports':[{'$patch':'delete','containerPort':53}]}]}}",
		 "{'spec':{'containers':[{'name':'dns','ports':[{'containerPort':9153}]}]}}"),
		OK("merge keys match by value", "{'spec':{'containers':[{'name':'a','ports':[{'containerPort':80}]}]}}",
		 "{'spec':{'containers':[{'name':'a','ports':[{'containerPort':80.0,'name':'http'}]}]}}",
		 "{'spec':{'containers':[{'name':'a','ports':[{'containerPort':80.0,'name':'http'}]}]}}"),
		OK("new list: deletions vanish, directives stripped", "{'spec':{'containers':[{'name':'a'}]}}",
		 "{'spec':{'containers':[{'name':'a','env':[{'$patch':'delete','name':'X'},{'name':'Y','value':'1'}]}]}}",
		 "{'spec':{'containers':[{'name':'a','env':[{'name':'Y','value':'1'}]}]}}"),
		OK("$setElementOrder reorders",
		 "{'spec':{'containers':[{'name':'a'},{'name':'b'},{'name':'c'}]}}",
		 "{'spec':{'$setElementOrder/containers':[{'name':'c'},{'name':'a'},{'name':'b'}]}}",
		 "{'spec':{'containers':[{'name':'c'},{'name':'a'},{'name':'b'}]}}"),
		OK("$setElementOrder keeps server-only items in place",
		 "{'spec':{'containers':[{'name':'a'},{'name':'b'},{'name':'c'}]}}",
		 "{'spec':{'$setElementOrder/containers':[{'name':'c'},{'name':'a'}],"
		 "'containers':[{'name':'c','image':'z'}]}}",
		 "{'spec':{'containers':[{'name':'b'},{'name':'c','image':'z'},{'name':'a'}]}}"),
		OK("$setElementOrder of scalars", "{'metadata':{'finalizers':['x','y','z']}}",
		 "{'metadata':{'$setElementOrder/finalizers':['z','y','x']}}",
		 "{'metadata':{'finalizers':['z','y','x']}}"),
		OK("$setElementOrder of an empty list", "{'metadata':{'finalizers':[]}}",
		   "{'metadata':{'$setElementOrder/finalizers':['a']}}",
		   "{'metadata':{'finalizers':[]}}"),
		OK("finalizers merge as a set", "{'metadata':{'finalizers':['a','b']}}",
		 "{'metadata':{'finalizers':['b','c']}}", "{'metadata':{'finalizers':['a','b','c']}}"),
		OK("$deleteFromPrimitiveList", "{'metadata':{'finalizers':['a','b','c']}}",
		 "{'metadata':{'$deleteFromPrimitiveList/finalizers':['a','c','q']}}",
		 "{'metadata':{'finalizers':['b']}}"),
		OK("$deleteFromPrimitiveList on a replaced list",
		 "{'spec':{'containers':[{'name':'a','args':['-v','-x']}]}}",
		 "{'spec':{'containers':[{'name':'a','$deleteFromPrimitiveList/args':['-x']}]}}",
		 "{'spec':{'containers':[{'name':'a','args':['-v']}]}}"),
		OK("ownerReferences by uid",
		 "{'metadata':{'ownerReferences':[{'uid':'1','name':'rs'}]}}",
		 "{'metadata':{'ownerReferences':[{'uid':'1','controller':true}]}}",
		 "{'metadata':{'ownerReferences':[{'uid':'1','name':'rs','controller':true}]}}"),
		OK("other lists replace", "{'spec':{'tolerations':[{'key':'a'}],"
		 "'containers':[{'name':'c','args':['1','2']}]}}",
		 "{'spec':{'tolerations':[{'key':'b'}],'containers':[{'name':'c','args':['3']}]}}",
		 "{'spec':{'tolerations':[{'key':'b'}],'containers':[{'name':'c','args':['3']}]}}"),
		OK("initContainers volumeMounts by mountPath",
		 "{'spec':{'initContainers':[{'name':'i','volumeMounts':[{'mountPath':'/a','name':'x'}]}]}}",
		 "{'spec':{'initContainers':[{'name':'i','volumeMounts':[{'mountPath':'/a','readOnly':true}]}]}}",
		 "{'spec':{'initContainers':[{'name':'i','volumeMounts':[{'mountPath':'/a','name':'x','readOnly':true}]}]}}"),
		OK("$patch replace on a map", "{'metadata':{'labels':{'a':'1','b':'2'}}}",
		 "{'metadata':{'labels':{'$patch':'replace','c':'3'}}}",
		 "{'metadata':{'labels':{'c':'3'}}}"),
		OK("$patch delete on a map", "{'spec':{'nodeSelector':{'a':'1'},'x':1}}",
		 "{'spec':{'nodeSelector':{'$patch':'delete'}}}", "{'spec':{'x':1}}"),
		OK("$patch replace in a list",
		 "{'spec':{'containers':[{'name':'a','image':'1'},{'name':'b'}]}}",
		 "{'spec':{'containers':[{'name':'c','image':'2','env':[{'$patch':'delete','name':'Q'}]},"
		 "{'$patch':'replace'}]}}",
		 "{'spec':{'containers':[{'name':'c','image':'2','env':[]}]}}"),
		OK("$patch merge is a no-op", "{'spec':{'containers':[{'name':'a','image':'1'}]}}",
		 "{'spec':{'$patch':'merge','containers':[{'$patch':'merge'},"
		 "{'name':'a','$patch':'merge','image':'2'}]}}",
		 "{'spec':{'containers':[{'name':'a','image':'2'}]}}"),
		OK("top-level $patch delete", "{'a':1}", "{'$patch':'delete'}", "{}"),
		OK("top-level $patch replace", "{'a':1}", "{'$patch':'replace','b':{'c':null,'d':1}}",
		 "{'b':{'d':1}}"),
		OK("cordon", "{'spec':{'podCIDRs':['10.1.0.0/24']}}", "{'spec':{'unschedulable':true}}",
		 "{'spec':{'podCIDRs':['10.1.0.0/24'],'unschedulable':true}}"),
		OK("JSON-Schema $ref is data", "{}", "{'spec':{'$ref':'#/x','$schema':'y'}}",
		 "{'spec':{'$ref':'#/x','$schema':'y'}}"),
	};
	RUN(SMP, "", "Pod", cases);
}

static void test_smp_kinds(void **state)
{
	static const struct pcase deploy[] = {
		OK("$retainKeys: Recreate drops rollingUpdate",
		 "{'spec':{'replicas':2,'strategy':{'type':'RollingUpdate',"
		 "'rollingUpdate':{'maxSurge':'25%','maxUnavailable':'25%'}}}}",
		 "{'spec':{'strategy':{'$retainKeys':['type'],'type':'Recreate'}}}",
		 "{'spec':{'replicas':2,'strategy':{'type':'Recreate'}}}"),
		OK("kubectl set image",
		 "{'spec':{'template':{'spec':{'containers':[{'name':'nginx','image':'nginx:1.25'},"
		 "{'name':'side','image':'busybox'}]}}}}",
		 "{'spec':{'template':{'spec':{'containers':[{'image':'nginx:1.27','name':'nginx'}]}}}}",
		 "{'spec':{'template':{'spec':{'containers':[{'name':'nginx','image':'nginx:1.27'},"
		 "{'name':'side','image':'busybox'}]}}}}"),
		OK("kubectl rollout restart",
		 "{'spec':{'template':{'metadata':{'annotations':{'a':'b'}},'spec':{}}}}",
		 "{'spec':{'template':{'metadata':{'annotations':"
		 "{'kubectl.kubernetes.io/restartedAt':'2025-01-01T00:00:00Z'}}}}}",
		 "{'spec':{'template':{'metadata':{'annotations':{'a':'b',"
		 "'kubectl.kubernetes.io/restartedAt':'2025-01-01T00:00:00Z'}},'spec':{}}}}"),
		OK("volumes: emptyDir -> hostPath with $retainKeys",
		 "{'spec':{'template':{'spec':{'volumes':[{'name':'v','emptyDir':{}},"
		 "{'name':'w','configMap':{'name':'c'}}]}}}}",
		 "{'spec':{'template':{'spec':{'volumes':[{'$retainKeys':['hostPath','name'],"
		 "'name':'v','hostPath':{'path':'/srv'}}]}}}}",
		 "{'spec':{'template':{'spec':{'volumes':[{'name':'v','hostPath':{'path':'/srv'}},"
		 "{'name':'w','configMap':{'name':'c'}}]}}}}"),
		OK("Deployment conditions by type",
		 "{'status':{'conditions':[{'type':'Available','status':'False'},"
		 "{'type':'Progressing','status':'True'}]}}",
		 "{'status':{'conditions':[{'type':'Available','status':'True'}]}}",
		 "{'status':{'conditions':[{'type':'Available','status':'True'},"
		 "{'type':'Progressing','status':'True'}]}}"),
		OK("labels set to null", "{'metadata':{'labels':{'app':'web'},'name':'d'}}",
		 "{'metadata':{'labels':null}}", "{'metadata':{'name':'d'}}"),
		OK("pod-spec rows do not apply at the Pod's place",
		 "{'spec':{'containers':[{'name':'a'}]}}", "{'spec':{'containers':[{'name':'b'}]}}",
		 "{'spec':{'containers':[{'name':'b'}]}}"),
	};
	RUN(SMP, "apps", "Deployment", deploy);

	static const struct pcase cronjob[] = {
		OK("CronJob pod spec", "{'spec':{'jobTemplate':{'spec':{'template':{'spec':"
		 "{'containers':[{'name':'a','env':[{'name':'X','value':'1'}]}]}}}}}}",
		 "{'spec':{'jobTemplate':{'spec':{'template':{'spec':"
		 "{'containers':[{'name':'a','env':[{'name':'Y','value':'2'}]}]}}}}}}",
		 "{'spec':{'jobTemplate':{'spec':{'template':{'spec':{'containers':[{'name':'a',"
		 "'env':[{'name':'Y','value':'2'},{'name':'X','value':'1'}]}]}}}}}}"),
	};
	RUN(SMP, "batch", "CronJob", cronjob);

	static const struct pcase service[] = {
		OK("service ports by port",
		 "{'spec':{'ports':[{'port':80,'name':'http','targetPort':8080},"
		 "{'port':443,'name':'https'}]}}",
		 "{'spec':{'ports':[{'port':80,'targetPort':9090}]}}",
		 "{'spec':{'ports':[{'port':80,'name':'http','targetPort':9090},"
		 "{'port':443,'name':'https'}]}}"),
	};
	RUN(SMP, "", "Service", service);

	static const struct pcase node[] = {
		OK("node addresses, podCIDRs, taints",
		 "{'spec':{'podCIDRs':['10.1.0.0/24'],'taints':[{'key':'a','effect':'NoSchedule'}]},"
		 "'status':{'addresses':[{'type':'InternalIP','address':'10.0.0.1'},"
		 "{'type':'Hostname','address':'n1'}]}}",
		 "{'spec':{'podCIDRs':['fd00::/64'],'taints':[{'key':'b','effect':'NoExecute'}]},"
		 "'status':{'addresses':[{'type':'InternalIP','address':'10.0.0.2'}]}}",
		 "{'spec':{'podCIDRs':['fd00::/64','10.1.0.0/24'],'taints':[{'key':'b','effect':'NoExecute'}]},"
		 "'status':{'addresses':[{'type':'InternalIP','address':'10.0.0.2'},"
		 "{'type':'Hostname','address':'n1'}]}}"),
	};
	RUN(SMP, "", "Node", node);

	static const struct pcase sa[] = {
		OK("service account secrets by name", "{'secrets':[{'name':'a'}]}",
		 "{'secrets':[{'name':'b'}]}", "{'secrets':[{'name':'b'},{'name':'a'}]}"),
	};
	RUN(SMP, NULL, "ServiceAccount", sa);

	/* A custom resource: merge patch semantics, directives still honoured
	 * and stripped; the same kind name in another group is not a Pod. */
	static const struct pcase crd[] = {
		OK("lists replace", "{'spec':{'containers':[{'name':'a'}],'metadata':{}}}",
		 "{'spec':{'containers':[{'name':'b'}]}}", "{'spec':{'containers':[{'name':'b'}],'metadata':{}}}"),
		OK("conditions replace", "{'status':{'conditions':[{'type':'A'}]}}",
		 "{'status':{'conditions':[{'type':'B'}]}}", "{'status':{'conditions':[{'type':'B'}]}}"),
		OK("directives stripped",
		 "{'spec':{'m':{'x':1}}}",
		 "{'spec':{'items':[{'$patch':'delete','name':'x'},{'name':'y','$patch':'merge'},"
		 "{'$patch':'replace'}],'m':{'$patch':'replace','k':1},"
		 "'$setElementOrder/items':[{'name':'y'}]}}",
		 "{'spec':{'items':[{'name':'y'}],'m':{'k':1}}}"),
	};
	RUN(SMP, "example.com", "Pod", crd);
}

static void test_smp_errors(void **state)
{
	static const struct pcase cases[] = {
		ERR("element without merge key", "{'spec':{'containers':[{'name':'a'}]}}",
		 "{'spec':{'containers':[{'image':'x'}]}}", MK_EINVAL),
		ERR("delete without merge key", "{'spec':{'containers':[{'name':'a'}]}}",
		 "{'spec':{'containers':[{'$patch':'delete','image':'x'}]}}", MK_EINVAL),
		ERR("element not an object", "{'spec':{'containers':[{'name':'a'}]}}",
		 "{'spec':{'containers':['a']}}", MK_EINVAL),
		ERR("merge key not scalar", "{'spec':{'containers':[{'name':'a'}]}}",
		 "{'spec':{'containers':[{'name':{'x':1}}]}}", MK_EINVAL),
		ERR("merge key null", "{'spec':{'containers':[{'name':'a'}]}}",
		 "{'spec':{'containers':[{'name':null,'image':'i'}]}}", MK_EINVAL),
		ERR("non-object patch", "{'a':1}", "['a']", MK_EINVAL),
		ERR("null patch", "{'a':1}", "null", MK_EINVAL),
		ERR("unknown directive", "{'a':1}", "{'metadata':{'$bogus':1}}", MK_EINVAL),
		ERR("bare directive prefix", "{'a':1}", "{'$setElementOrder/':[]}", MK_EINVAL),
		ERR("unknown $patch", "{'a':{}}", "{'a':{'$patch':'explode'}}", MK_EINVAL),
		ERR("$patch not a string", "{'a':{}}", "{'a':{'$patch':1}}", MK_EINVAL),
		ERR("unknown $patch in list", "{'spec':{'containers':[]}}",
		 "{'spec':{'containers':[{'$patch':'nope','name':'a'}]}}", MK_EINVAL),
		ERR("$retainKeys not a list", "{'a':{}}", "{'a':{'$retainKeys':'x'}}", MK_EINVAL),
		ERR("$retainKeys of non-strings", "{'a':{}}", "{'a':{'$retainKeys':[1]}}", MK_EINVAL),
		ERR("$retainKeys misses a set key", "{'a':{'x':1}}",
		 "{'a':{'$retainKeys':['x'],'x':2,'y':3}}", MK_EINVAL),
		ERR("$setElementOrder not a list", "{'metadata':{'finalizers':['a']}}",
		 "{'metadata':{'$setElementOrder/finalizers':'a'}}", MK_EINVAL),
		ERR("$setElementOrder entry without key", "{'spec':{'containers':[{'name':'a'}]}}",
		 "{'spec':{'$setElementOrder/containers':[{'image':'a'}]}}", MK_EINVAL),
		ERR("$setElementOrder entry not scalar", "{'metadata':{'finalizers':['a']}}",
		 "{'metadata':{'$setElementOrder/finalizers':[['a']]}}", MK_EINVAL),
		ERR("$deleteFromPrimitiveList not a list", "{'metadata':{'finalizers':['a']}}",
		 "{'metadata':{'$deleteFromPrimitiveList/finalizers':'a'}}", MK_EINVAL),
		ERR("$deleteFromPrimitiveList of objects", "{'metadata':{'finalizers':['a']}}",
		 "{'metadata':{'$deleteFromPrimitiveList/finalizers':[{'a':1}]}}", MK_EINVAL),
		ERR("object in a set", "{'metadata':{'finalizers':['a']}}",
		 "{'metadata':{'finalizers':[{'a':1}]}}", MK_EINVAL),
		ERR("error deep inside", "{'spec':{'containers':[{'name':'a','env':[]}]}}",
		 "{'spec':{'containers':[{'name':'a','env':[{'value':'v'}]}]}}", MK_EINVAL),
	};
	RUN(SMP, "", "Pod", cases);
}

/* No directive ever reaches the result, however the patch nests them,
 * for known and unknown kinds. */
static void test_smp_no_leak(void **state)
{
	static const struct pcase cases[] = {
		OK("directives in new content", "{'spec':{'containers':[{'name':'old'}]}}",
		 "{'metadata':{'annotations':{'$patch':'replace','a':'1'},"
		 "'$setElementOrder/finalizers':['x'],'$deleteFromPrimitiveList/finalizers':['y']},"
		 "'spec':{'$setElementOrder/containers':[{'name':'new'},{'name':'old'}],"
		 "'containers':[{'name':'new','$setElementOrder/env':[{'name':'E'}],"
		 "'env':[{'name':'E','value':'v','$patch':'merge'},{'$patch':'delete','name':'Z'}],"
		 "'securityContext':{'$retainKeys':['runAsUser'],'runAsUser':1,'capabilities':null},"
		 "'args':[{'$patch':'replace'},'x']}],"
		 "'extra':{'deep':{'$patch':'merge','list':[{'$patch':'delete'},"
		 "{'k':{'$patch':'replace','v':1}},{'gone':{'$patch':'delete'}}]}}}}",
		 "{'metadata':{'annotations':{'a':'1'}},"
		 "'spec':{'containers':[{'name':'new','env':[{'name':'E','value':'v'}],"
		 "'securityContext':{'runAsUser':1},'args':['x']},{'name':'old'}],"
		 "'extra':{'deep':{'list':[{'k':{'v':1}},{}]}}}}"),
	};
	RUN(SMP, "", "Pod", cases);
	static const struct pcase crd_cases[] = {
		OK("directives in a custom resource", "{}",
		 "{'spec':{'$setElementOrder/x':[],'a':{'$retainKeys':['b'],'b':{'$patch':'replace'}},"
		 "'l':[{'$patch':'replace'},{'$patch':'delete','n':1},{'n':2,'$patch':'merge'}]}}",
		 "{'spec':{'a':{'b':{}},'l':[{'n':2}]}}"),
	};
	RUN(SMP, "example.com", "Widget", crd_cases);
}

/* Failure leaves the caller's document alone (pointer and content) in
 * every format, even when earlier parts of the patch already applied to
 * the working copy. */
static void test_failure_leaves_doc(void **state)
{
	const char *doc_text = "{'metadata':{'labels':{'a':'1'}},'spec':{'containers':[{'name':'c'}]}}";
	json_t *doc = J(doc_text), *ptr = doc, *before = J(doc_text);
	char msg[256];
	json_t *smp = J("{'metadata':{'labels':{'a':null,'b':'2'}},"
			"'spec':{'containers':[{'name':'c','image':'x'},{'image':'nokey'}]}}");
	assert_int_equal(patch_strategic(&doc, smp, "", "Pod", msg, sizeof(msg)), MK_EINVAL);
	assert_ptr_equal(doc, ptr);
	assert_true(json_equal(doc, before));
	assert_non_null(strstr(msg, "spec.containers"));
	json_t *jp = J("[{'op':'remove','path':'/metadata'},{'op':'test','path':'/spec','value':1}]");
	assert_int_equal(patch_json(&doc, jp, msg, sizeof(msg)), MK_ECONFLICT);
	assert_ptr_equal(doc, ptr);
	assert_true(json_equal(doc, before));
	/* Success replaces or edits, and releases the old document. */
	json_t *mp = J("{'spec':null}");
	json_t *want = J("{'metadata':{'labels':{'a':'1'}}}");
	assert_int_equal(patch_merge(&doc, mp, msg, sizeof(msg)), MK_OK);
	assert_true(json_equal(doc, want));
	json_decref(want);
	/* NULL arguments are refused, not dereferenced. */
	assert_int_equal(patch_merge(NULL, mp, msg, sizeof(msg)), MK_EINVAL);
	assert_int_equal(patch_json(&doc, NULL, msg, sizeof(msg)), MK_EINVAL);
	assert_int_equal(patch_strategic(&doc, NULL, "", "Pod", NULL, 0), MK_EINVAL);
	json_decref(mp);
	json_decref(jp);
	json_decref(smp);
	json_decref(before);
	json_decref(doc);
}

/* Messages quote user keys and paths: still one line of valid UTF-8, even
 * cut short by a small buffer in the middle of a multi-byte character. */
static void test_messages(void **state)
{
	json_t *doc = J("{}");
	json_t *p = json_pack("{s:i}", "$bad\nkey\t\xc3\xa9", 1);
	char msg[256];
	assert_int_equal(patch_strategic(&doc, p, "", "Pod", msg, sizeof(msg)), MK_EINVAL);
	check_message(msg);
	assert_non_null(strstr(msg, "$bad?key?\xc3\xa9"));
	json_decref(p);

	p = J("[{'op':'remove','path':'/\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9'}]");
	for (size_t len = 1; len < 64; len++) {
		char small[64];
		memset(small, 'x', sizeof(small));
		assert_int_equal(patch_json(&doc, p, small, len), MK_ENOTFOUND);
		assert_true(strlen(small) < len);
		json_t *s = json_string(small);
		assert_non_null(s);
		json_decref(s);
	}
	/* len 0: no message, and the buffer is not touched. */
	char untouched[4] = "abc";
	assert_int_equal(patch_json(&doc, p, untouched, 0), MK_ENOTFOUND);
	assert_string_equal(untouched, "abc");
	json_decref(p);
	json_decref(doc);
}

static void test_field_lookup(void **state)
{
	struct patch_field f;
	assert_true(patch_field_lookup("", "Pod", "spec.containers", &f));
	assert_string_equal(f.merge_key, "name");
	assert_true(patch_field_lookup("", "Pod", "spec.containers[].ports", &f));
	assert_string_equal(f.merge_key, "containerPort");
	assert_true(patch_field_lookup("", "Service", "spec.ports", &f));
	assert_string_equal(f.merge_key, "port");
	assert_true(patch_field_lookup("apps", "StatefulSet",
				       "spec.template.spec.ephemeralContainers[].volumeDevices", &f));
	assert_string_equal(f.merge_key, "devicePath");
	assert_true(patch_field_lookup("apps", "Deployment", "spec.template.spec.volumes", &f));
	assert_int_equal(f.flags, PATCH_FIELD_MERGE | PATCH_FIELD_RETAIN_KEYS);
	assert_true(patch_field_lookup("apps", "Deployment", "spec.strategy", &f));
	assert_int_equal(f.flags, PATCH_FIELD_RETAIN_KEYS);
	assert_true(patch_field_lookup("", "Node", "spec.podCIDRs", &f));
	assert_null(f.merge_key);
	assert_true(patch_field_lookup("storage.k8s.io", "StorageClass", "metadata.finalizers", &f));
	assert_true(patch_field_lookup(NULL, "Namespace", "status.conditions", &f));
	assert_string_equal(f.merge_key, "type");
	assert_true(patch_field_lookup("", "PodTemplate", "template.spec.hostAliases", &f));
	assert_string_equal(f.merge_key, "ip");

	/* Replace: not in the table, wrong kind, wrong group, wrong place. */
	assert_false(patch_field_lookup("", "Pod", "spec.tolerations", &f));
	assert_false(patch_field_lookup("", "Pod", "spec.containers[].args", &f));
	assert_false(patch_field_lookup("", "Pod", "spec.ports", &f));
	assert_false(patch_field_lookup("", "Deployment", "spec.template.spec.containers", &f));
	assert_false(patch_field_lookup("apps", "Deployment", "spec.containers", &f));
	assert_false(patch_field_lookup("apps", "Deployment", "spec.template.specx.containers", &f));
	assert_false(patch_field_lookup("example.com", "Pod", "spec.containers", &f));
	assert_false(patch_field_lookup("example.com", "Pod", "metadata.finalizers", &f));
	assert_false(patch_field_lookup("", NULL, "spec.containers", &f));
	assert_true(patch_group_is_builtin(""));
	assert_true(patch_group_is_builtin("batch"));
	assert_false(patch_group_is_builtin("cert-manager.io"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_merge_rfc7386),
		cmocka_unit_test(test_depth_bombs),
		cmocka_unit_test(test_json_rfc6902),
		cmocka_unit_test(test_json_duplicate_member),
		cmocka_unit_test(test_json_limits),
		cmocka_unit_test(test_smp_reapply),
		cmocka_unit_test(test_smp_kinds),
		cmocka_unit_test(test_smp_errors),
		cmocka_unit_test(test_smp_no_leak),
		cmocka_unit_test(test_failure_leaves_doc),
		cmocka_unit_test(test_messages),
		cmocka_unit_test(test_field_lookup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
