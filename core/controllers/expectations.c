/*
 * Expectations (controllers_internal.h).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../base/clock.h"
#include "controllers_internal.h"

/* kube-controller-manager waits 5 minutes; our informers resync faster. */
#define EXPECTATION_TIMEOUT_MS 30000

void expect_init(struct expectations *e)
{
	pthread_mutex_init(&e->lock, NULL);
	e->pending = json_object();
}

void expect_free(struct expectations *e)
{
	json_decref(e->pending);
	pthread_mutex_destroy(&e->lock);
}

void expect_set(struct expectations *e, const char *key, int adds, int dels)
{
	pthread_mutex_lock(&e->lock);
	json_object_set_new(e->pending, key, json_pack("{s:i, s:i, s:I}", "adds", adds, "dels",
						       dels, "at", (json_int_t)mk_monotonic_ms()));
	pthread_mutex_unlock(&e->lock);
}

void expect_observed(struct expectations *e, const char *key, bool added)
{
	pthread_mutex_lock(&e->lock);
	json_t *p = json_object_get(e->pending, key);
	if (p != NULL) {
		const char *field = added ? "adds" : "dels";
		json_int_t n = json_integer_value(json_object_get(p, field));
		if (n > 0)
			json_object_set_new(p, field, json_integer(n - 1));
	}
	pthread_mutex_unlock(&e->lock);
}

bool expect_satisfied(struct expectations *e, const char *key)
{
	pthread_mutex_lock(&e->lock);
	json_t *p = json_object_get(e->pending, key);
	bool ok = p == NULL ||
		  (json_integer_value(json_object_get(p, "adds")) <= 0 &&
		   json_integer_value(json_object_get(p, "dels")) <= 0) ||
		  mk_monotonic_ms() - json_integer_value(json_object_get(p, "at")) > EXPECTATION_TIMEOUT_MS;
	if (ok && p != NULL)
		json_object_del(e->pending, key);
	pthread_mutex_unlock(&e->lock);
	return ok;
}
