/*
 * The EndpointSlice controller's reckoning (core/controllers/
 * endpointslice.h): what a Service's pods make, and the fewest writes
 * that bring its slices there (nothing when nothing changed, in place
 * when something did, 100 endpoints a slice, one empty placeholder).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "../../core/base/err.h"
#include "../../core/controllers/endpointslice.h"

static json_t *service(void)
{
	return json_pack("{s:{s:s, s:s, s:s}, s:{s:{s:s}, s:[{s:s, s:i, s:s, s:s}]}}", "metadata",
			 "name", "web", "namespace", "default", "uid", "svc-uid", "spec", "selector",
			 "app", "web", "ports", "name", "http", "port", 80, "protocol", "TCP",
			 "targetPort", "http");
}

/* Pod i: 10.0.<i/250>.<i%250+1>, ready or not, serving container port 8080 as "http". */
static json_t *pod(int i, bool ready)
{
	char name[32], uid[32], ip[32];
	snprintf(name, sizeof name, "web-%04d", i);
	snprintf(uid, sizeof uid, "uid-%04d", i);
	snprintf(ip, sizeof ip, "10.0.%d.%d", i / 250, i % 250 + 1);
	return json_pack("{s:{s:s, s:s, s:s, s:{s:s}}, s:{s:s, s:[{s:s, s:[{s:s, s:i}]}]}, "
			 "s:{s:s, s:s, s:[{s:s, s:s}]}}",
			 "metadata", "name", name, "namespace", "default", "uid", uid, "labels", "app",
			 "web", "spec", "nodeName", "n1", "containers", "name", "c", "ports", "name",
			 "http", "containerPort", 8080, "status", "phase", "Running", "podIP", ip,
			 "conditions", "type", "Ready", "status", ready ? "True" : "False");
}

static json_t *pods(int n)
{
	json_t *a = json_array();
	for (int i = 0; i < n; i++)
		json_array_append_new(a, pod(i, true));
	return a;
}

static json_t *meta(void)
{
	return json_pack("{s:{s:s}, s:[{s:s}]}", "labels", "kubernetes.io/service-name", "web",
			 "ownerReferences", "uid", "svc-uid");
}

/* A slice as the API would return it for a planned change. */
static json_t *as_slice(const struct slice_change *ch, const json_t *m, const char *name)
{
	json_t *s = json_pack("{s:{s:s, s:O, s:O}, s:s, s:O}", "metadata", "name", name, "labels",
			      json_object_get(m, "labels"), "ownerReferences",
			      json_object_get(m, "ownerReferences"), "addressType", "IPv4",
			      "endpoints", ch->endpoints);
	if (json_array_size(ch->ports) > 0)
		json_object_set(s, "ports", ch->ports);
	return s;
}

static size_t count(const struct slice_plan *p, enum slice_action a)
{
	size_t n = 0;
	for (size_t i = 0; i < p->n; i++)
		n += p->v[i].action == a;
	return n;
}

/* Plans svc over `ps` against `have`; returns the slices as written. */
static json_t *plan(const json_t *ps, const json_t *have, struct slice_plan *p)
{
	json_t *svc = service(), *m = meta(), *zones = json_pack("{s:s}", "n1", "zone-a");
	json_t *desired = slice_desired(svc, ps, zones), *out = json_array();
	assert_int_equal(slice_plan(desired, have, m, p), MK_OK);
	for (size_t i = 0; i < p->n; i++) {
		char name[16];
		snprintf(name, sizeof name, "web-%zu", i);
		if (p->v[i].action != SLICE_DELETE)
			json_array_append_new(out, as_slice(&p->v[i], m, name));
	}
	json_decref(desired);
	json_decref(zones);
	json_decref(m);
	json_decref(svc);
	return out;
}

static void test_first_slice(void **state)
{
	struct slice_plan p;
	json_t *ps = json_pack("[o, o, o]", pod(2, true), pod(0, false), pod(1, true));
	json_t *have = json_array(), *made = plan(ps, have, &p);
	assert_int_equal(p.n, 1);
	assert_int_equal(p.v[0].action, SLICE_CREATE);
	json_t *eps = p.v[0].endpoints;
	assert_int_equal(json_array_size(eps), 3);
	/* In address order, with upstream's conditions, node, zone and pod. */
	const json_t *e0 = json_array_get(eps, 0);
	assert_string_equal(json_string_value(json_array_get(json_object_get(e0, "addresses"), 0)),
			    "10.0.0.1");
	assert_true(json_is_false(json_object_get(json_object_get(e0, "conditions"), "ready")));
	assert_true(json_is_false(json_object_get(json_object_get(e0, "conditions"), "terminating")));
	assert_string_equal(json_string_value(json_object_get(e0, "nodeName")), "n1");
	assert_string_equal(json_string_value(json_object_get(e0, "zone")), "zone-a");
	assert_string_equal(json_string_value(json_object_get(json_object_get(e0, "targetRef"), "name")),
			    "web-0000");
	/* The named targetPort resolved on the pods. */
	const json_t *port = json_array_get(p.v[0].ports, 0);
	assert_int_equal(json_integer_value(json_object_get(port, "port")), 8080);
	assert_string_equal(json_string_value(json_object_get(port, "name")), "http");
	slice_plan_free(&p);

	/* Planned again over what was written: nothing to do. */
	json_t *again = plan(ps, made, &p);
	assert_int_equal(p.n, 1);
	assert_int_equal(p.v[0].action, SLICE_KEEP);
	slice_plan_free(&p);
	json_decref(again);
	json_decref(made);
	json_decref(have);
	json_decref(ps);
}

static void test_change_in_place(void **state)
{
	struct slice_plan p;
	json_t *ps = pods(3), *have = json_array(), *made = plan(ps, have, &p);
	slice_plan_free(&p);
	/* Pod 1 stops being ready and pod 2 terminates: the same slice is
	 * rewritten; pod 2 stays in it as terminating. */
	json_array_set_new(ps, 1, pod(1, false));
	json_object_set_new(json_object_get(json_array_get(ps, 2), "metadata"), "deletionTimestamp",
			    json_string("2026-01-01T00:00:00Z"));
	json_t *next = plan(ps, made, &p);
	assert_int_equal(p.n, 1);
	assert_int_equal(p.v[0].action, SLICE_UPDATE);
	assert_ptr_equal(p.v[0].have, json_array_get(made, 0));
	const json_t *c2 = json_object_get(json_array_get(p.v[0].endpoints, 2), "conditions");
	assert_true(json_is_true(json_object_get(c2, "terminating")));
	assert_true(json_is_false(json_object_get(c2, "ready")));
	assert_true(json_is_true(json_object_get(c2, "serving")));
	slice_plan_free(&p);
	/* Pod 0 goes: still the same slice, with two endpoints. */
	json_array_remove(ps, 0);
	json_t *last = plan(ps, next, &p);
	assert_int_equal(p.n, 1);
	assert_int_equal(p.v[0].action, SLICE_UPDATE);
	assert_int_equal(json_array_size(p.v[0].endpoints), 2);
	slice_plan_free(&p);
	json_decref(last);
	json_decref(next);
	json_decref(made);
	json_decref(have);
	json_decref(ps);
}

static void test_hundred_per_slice(void **state)
{
	struct slice_plan p;
	json_t *ps = pods(250), *have = json_array(), *made = plan(ps, have, &p);
	assert_int_equal(count(&p, SLICE_CREATE), 3);
	assert_int_equal(json_array_size(p.v[0].endpoints), 100);
	assert_int_equal(json_array_size(p.v[2].endpoints), 50);
	slice_plan_free(&p);
	/* One more pod fits the slice with room; the full ones stay. */
	json_array_append_new(ps, pod(250, true));
	json_t *next = plan(ps, made, &p);
	assert_int_equal(count(&p, SLICE_KEEP), 2);
	assert_int_equal(count(&p, SLICE_UPDATE), 1);
	assert_int_equal(count(&p, SLICE_CREATE), 0);
	slice_plan_free(&p);
	json_decref(next);
	json_decref(made);
	json_decref(have);
	json_decref(ps);
}

static void test_placeholder(void **state)
{
	struct slice_plan p;
	json_t *none = json_array(), *have = json_array();
	json_t *made = plan(none, have, &p);
	assert_int_equal(p.n, 1);
	assert_int_equal(p.v[0].action, SLICE_CREATE);
	assert_int_equal(json_array_size(p.v[0].endpoints), 0);
	assert_int_equal(json_array_size(p.v[0].ports), 0);
	slice_plan_free(&p);
	json_t *again = plan(none, made, &p);
	assert_int_equal(p.v[0].action, SLICE_KEEP);
	slice_plan_free(&p);
	/* Pods come: the placeholder is reused, not deleted and recreated. */
	json_t *ps = pods(2), *filled = plan(ps, made, &p);
	assert_int_equal(p.n, 1);
	assert_int_equal(p.v[0].action, SLICE_UPDATE);
	assert_int_equal(json_array_size(p.v[0].endpoints), 2);
	assert_int_equal(json_array_size(p.v[0].ports), 1);
	slice_plan_free(&p);
	/* And all gone again, with a second slice: one stays, emptied, the other goes. */
	json_array_append(filled, json_array_get(filled, 0));
	json_t *emptied = plan(none, filled, &p);
	assert_int_equal(count(&p, SLICE_UPDATE), 1);
	assert_int_equal(count(&p, SLICE_DELETE), 1);
	slice_plan_free(&p);
	json_decref(emptied);
	json_decref(filled);
	json_decref(ps);
	json_decref(again);
	json_decref(made);
	json_decref(have);
	json_decref(none);
}

static void test_labels_and_duplicates(void **state)
{
	struct slice_plan p;
	json_t *ps = pods(2), *have = json_array(), *made = plan(ps, have, &p);
	slice_plan_free(&p);
	/* A label someone removed is put back. */
	json_object_del(json_object_get(json_object_get(json_array_get(made, 0), "metadata"), "labels"),
			"kubernetes.io/service-name");
	json_t *next = plan(ps, made, &p);
	assert_int_equal(p.v[0].action, SLICE_UPDATE);
	slice_plan_free(&p);
	/* The same pod in two slices: listed once. */
	json_t *twice = json_pack("[O, O]", json_array_get(next, 0), json_array_get(next, 0));
	json_t *fixed = plan(ps, twice, &p);
	assert_int_equal(count(&p, SLICE_KEEP), 1);
	assert_int_equal(count(&p, SLICE_DELETE), 1);
	slice_plan_free(&p);
	json_decref(fixed);
	json_decref(twice);
	json_decref(next);
	json_decref(made);
	json_decref(have);
	json_decref(ps);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first_slice),
		cmocka_unit_test(test_change_in_place),
		cmocka_unit_test(test_hundred_per_slice),
		cmocka_unit_test(test_placeholder),
		cmocka_unit_test(test_labels_and_duplicates),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
