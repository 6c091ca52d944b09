/*
 * The controllers' work queue: dedupe, one worker per key, delays,
 * retries, shutdown.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../core/controllers/workqueue.h"

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void test_dedupe_and_order(void **state)
{
	struct workqueue *q = wq_new();
	char *k;
	wq_add(q, "ns/a");
	wq_add(q, "ns/b");
	wq_add(q, "ns/a"); /* already queued: once */
	assert_true(wq_get(q, &k));
	assert_string_equal(k, "ns/a");
	wq_done(q, k);
	free(k);
	assert_true(wq_get(q, &k));
	assert_string_equal(k, "ns/b");
	wq_done(q, k);
	free(k);
	wq_add_after(q, "ns/late", 10000);
	wq_shutdown(q);
	assert_false(wq_get(q, &k));
	wq_free(q);
}

static void test_added_while_processing_comes_back_after(void **state)
{
	struct workqueue *q = wq_new();
	char *k, *k2;
	wq_add(q, "x");
	assert_true(wq_get(q, &k));
	wq_add(q, "x"); /* while a worker holds it: not handed to another */
	wq_add(q, "y");
	assert_true(wq_get(q, &k2));
	assert_string_equal(k2, "y");
	wq_done(q, k2);
	free(k2);
	wq_done(q, k); /* now it is queued again */
	free(k);
	assert_true(wq_get(q, &k));
	assert_string_equal(k, "x");
	wq_done(q, k);
	free(k);
	wq_shutdown(q);
	wq_free(q);
}

static void test_delay_and_retry(void **state)
{
	struct workqueue *q = wq_new();
	char *k;
	int64_t t0 = now_ms();
	wq_add_after(q, "slow", 150);
	wq_add_after(q, "fast", 20);
	assert_true(wq_get(q, &k));
	assert_string_equal(k, "fast");
	assert_true(now_ms() - t0 >= 20);
	wq_done(q, k);
	free(k);
	assert_true(wq_get(q, &k));
	assert_string_equal(k, "slow");
	assert_true(now_ms() - t0 >= 150);
	/* Retries back off: 5, 10, 20 ms ... */
	wq_retry(q, k);
	wq_done(q, k);
	free(k);
	t0 = now_ms();
	assert_true(wq_get(q, &k));
	wq_retry(q, k);
	wq_done(q, k);
	free(k);
	assert_true(wq_get(q, &k));
	assert_true(now_ms() - t0 >= 15);
	wq_forget(q, k);
	wq_done(q, k);
	free(k);
	wq_shutdown(q);
	wq_free(q);
}

static void *blocked_get(void *arg)
{
	char *k;
	return wq_get(arg, &k) ? (void *)1 : NULL;
}

static void test_shutdown_wakes_workers(void **state)
{
	struct workqueue *q = wq_new();
	pthread_t t;
	pthread_create(&t, NULL, blocked_get, q);
	wq_shutdown(q);
	void *got;
	pthread_join(t, &got);
	assert_null(got);
	wq_free(q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dedupe_and_order),
		cmocka_unit_test(test_added_while_processing_comes_back_after),
		cmocka_unit_test(test_delay_and_retry),
		cmocka_unit_test(test_shutdown_wakes_workers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
