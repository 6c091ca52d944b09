/*
 * api-bench: mk's Kubernetes API beside etcd's JSON gateway, both over
 * HTTPS/1.1 with keep-alive and a client certificate, driven by the same
 * libcurl code (bench/api_run.sh starts the servers and prints ratios).
 *
 *   api-bench SYSTEM URL CA CERT KEY CASE [A [B]]
 *     SYSTEM  mk | etcd
 *     CASE    create THREADS SECONDS   1 KiB creates; ops/s p50 p99
 *             get THREADS SECONDS      reads of one object; ops/s p50 p99
 *             fill N                   N objects for the list case (16 threads)
 *             list PAGE [MIN]          a full listing (PAGE 0: one request); ms;
 *                                      fails if fewer than MIN objects came
 *             watch WATCHERS WRITES    write -> delivery latency; p50 p99
 *
 * Output: one line "CASE system=SYSTEM key=value ..." on stdout; exit 1 if
 * the case could not be measured (every request failed, a list came back
 * short of objects, a watch missed deliveries).
 *
 * This file: the argument handling and the load, fill and list cases;
 * api_client.c the HTTP client, api_watch.c the watch case.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/evp.h>

#include "api_bench.h"

#define FILL_THREADS 16
#define MAX_PAGES 100000

/* --- create / get load ------------------------------------------------ */

struct load {
	const struct target *t;
	int id;
	bool get;
	double seconds;
	struct samples lat;
	long errors;
};

static void *load_thread(void *arg)
{
	struct load *l = arg;
	struct client cl;
	char name[128];
	double end = now_ms() + l->seconds * 1000;

	client_init(&cl, l->t);
	for (long i = 0; now_ms() < end; i++) {
		double t0 = now_ms();
		long code;

		if (l->get) {
			code = get_one(&cl, l->t);
		} else {
			/* The pid keeps names unique across runs on one server. */
			snprintf(name, sizeof name, "c%d-%ld-%d", l->id, i, (int)getpid());
			code = create(&cl, l->t, name);
		}
		if (code != 200 && code != 201) {
			l->errors++;
			continue;
		}
		samples_add(&l->lat, now_ms() - t0);
	}
	client_free(&cl);
	return NULL;
}

static int run_load(const struct target *t, bool get, int threads, double seconds)
{
	pthread_t tid[MAX_THREADS];
	struct load l[MAX_THREADS];
	struct samples all = {0};
	long errors = 0;

	if (threads < 1 || threads > MAX_THREADS || seconds <= 0) {
		fprintf(stderr, "api-bench: 1..%d threads and seconds > 0\n", MAX_THREADS);
		return 2;
	}
	if (get) {
		struct client cl;
		long code;

		client_init(&cl, t);
		code = create(&cl, t, "get-target");
		client_free(&cl);
		/* 409: a second get run on the same server. */
		if (code != 200 && code != 201 && code != 409) {
			fprintf(stderr, "api-bench: creating get-target: HTTP %ld\n", code);
			return 1;
		}
	}
	memset(l, 0, sizeof l);
	for (int i = 0; i < threads; i++) {
		l[i] = (struct load){.t = t, .id = i, .get = get, .seconds = seconds};
		thread_start(&tid[i], load_thread, &l[i]);
	}
	for (int i = 0; i < threads; i++) {
		pthread_join(tid[i], NULL);
		for (size_t j = 0; j < l[i].lat.n; j++)
			samples_add(&all, l[i].lat.v[j]);
		errors += l[i].errors;
		free(l[i].lat.v);
	}
	printf("%s-c%d system=%s ops=%.0f p50_ms=%.3f p99_ms=%.3f errors=%ld\n",
	       get ? "get" : "create", threads, t->sys, (double)all.n / seconds,
	       pct(all.v, all.n, 0.5), pct(all.v, all.n, 0.99), errors);
	free(all.v);
	return all.n == 0;
}

/* --- fill and list ----------------------------------------------------- */

struct fill {
	const struct target *t;
	int id, count;
	long errors;
};

static void *fill_thread(void *arg)
{
	struct fill *f = arg;
	struct client cl;
	char name[64];

	client_init(&cl, f->t);
	for (int i = 0; i < f->count; i++) {
		long code;

		snprintf(name, sizeof name, "fill-%02d-%05d", f->id, i);
		code = create(&cl, f->t, name);
		f->errors += code != 200 && code != 201;
	}
	client_free(&cl);
	return NULL;
}

static int run_fill(const struct target *t, int n)
{
	pthread_t tid[FILL_THREADS];
	struct fill f[FILL_THREADS];
	long errors = 0;
	double t0 = now_ms();

	for (int i = 0; i < FILL_THREADS; i++) {
		f[i] = (struct fill){t, i, n / FILL_THREADS + (i < n % FILL_THREADS), 0};
		thread_start(&tid[i], fill_thread, &f[i]);
	}
	for (int i = 0; i < FILL_THREADS; i++) {
		pthread_join(tid[i], NULL);
		errors += f[i].errors;
	}
	printf("fill system=%s n=%d errors=%ld s=%.1f\n", t->sys, n, errors,
	       (now_ms() - t0) / 1000);
	return errors > 0;
}

/* The next occurrence of marker in [p, end), or NULL.  memmem, not
 * strstr: sanitizer builds check the whole rest of the string on every
 * strstr call, which turns a 15 MB listing quadratic. */
static const char *find(const char *p, const char *end, const char *marker)
{
	if (p == NULL || p >= end)
		return NULL;
	return memmem(p, (size_t)(end - p), marker, strlen(marker));
}

/* Counts occurrences of marker: one per object, no JSON parse on the
 * clock (both sides would pay it; it would blur the servers' figures). */
static long count(const struct sink *b, const char *marker)
{
	const char *end = b->data ? b->data + b->len : NULL;
	long n = 0;

	for (const char *p = b->data; (p = find(p, end, marker)) != NULL; p++)
		n++;
	return n;
}

/* etcd's next page starts right after the last key: that key + "\0". */
static bool etcd_next(const struct sink *b, char *next, size_t cap)
{
	const char *end = b->data ? b->data + b->len : NULL, *last = NULL, *p;
	unsigned char raw[600];
	char kb[800];
	size_t n;
	int len;

	if (find(b->data, end, "\"more\":true") == NULL)
		return false;
	for (p = b->data; (p = find(p, end, "\"key\":\"")) != NULL; p += 7)
		last = p + 7;
	if (last == NULL || (n = strcspn(last, "\"")) >= sizeof kb || n % 4)
		return false;
	memcpy(kb, last, n);
	kb[n] = '\0';
	len = EVP_DecodeBlock(raw, (unsigned char *)kb, (int)n);
	/* DecodeBlock counts the padding as zero bytes. */
	while (len > 0 && n >= 1 && kb[n - 1] == '=') {
		len--;
		n--;
	}
	if (len <= 0 || (size_t)len + 1 >= sizeof raw || ((size_t)len + 3) / 3 * 4 >= cap)
		return false;
	raw[len] = '\0';
	EVP_EncodeBlock((unsigned char *)next, raw, len + 1);
	return true;
}

/* Follows `continue` (mk) or more=true (etcd) to the end; PAGE 0 = one request. */
static int run_list(const struct target *t, int page, long min_items)
{
	struct client cl;
	char path[4096], body[4096], next[2048] = "", start[200], end[200];
	long items = 0, requests = 0, code;
	double t0;

	if (page < 0) {
		fprintf(stderr, "api-bench: page size must be >= 0\n");
		return 2;
	}
	client_init(&cl, t);
	b64(KEY_PREFIX, start);
	b64("/registry/configmaps/default0", end); /* '0' follows '/' */
	t0 = now_ms();
	for (;;) {
		if (t->mk) {
			char *esc = next[0] ? curl_easy_escape(cl.c, next, 0) : NULL;

			if (page == 0)
				snprintf(path, sizeof path, "/api/v1/namespaces/default/configmaps");
			else
				snprintf(path, sizeof path,
					 "/api/v1/namespaces/default/configmaps?limit=%d%s%s", page,
					 esc ? "&continue=" : "", esc ? esc : "");
			curl_free(esc);
			code = request(&cl, t, path, NULL);
		} else {
			snprintf(body, sizeof body,
				 "{\"key\":\"%s\",\"range_end\":\"%s\",\"limit\":%d}",
				 next[0] ? next : start, end, page);
			code = request(&cl, t, "/v3/kv/range", body);
		}
		requests++;
		if (code != 200) {
			fprintf(stderr, "api-bench: list: HTTP %ld\n", code);
			client_free(&cl);
			return 1;
		}
		items += count(&cl.body, t->mk ? "\"uid\":\"" : "\"create_revision\"");
		next[0] = '\0';
		if (page > 0 && t->mk) {
			const char *end_of = cl.body.data ? cl.body.data + cl.body.len : NULL;
			const char *c = find(cl.body.data, end_of, "\"continue\":\"");
			size_t n;

			if (c && (n = strcspn(c + 12, "\"")) > 0 && n < sizeof next)
				snprintf(next, sizeof next, "%.*s", (int)n, c + 12);
		} else if (page > 0) {
			etcd_next(&cl.body, next, sizeof next);
		}
		if (next[0] == '\0')
			break;
		/* A server handing out the same token forever would never end. */
		if (requests > MAX_PAGES) {
			fprintf(stderr, "api-bench: list: more than %d pages\n", MAX_PAGES);
			client_free(&cl);
			return 1;
		}
	}
	printf("list system=%s page=%d items=%ld requests=%ld ms=%.1f\n", t->sys, page, items,
	       requests, now_ms() - t0);
	client_free(&cl);
	if (items < min_items) {
		fprintf(stderr, "api-bench: listed %ld objects, expected %ld\n", items, min_items);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct target t = {0};
	const char *what;
	int a, rv;
	double b;

	if (argc < 7) {
		fprintf(stderr, "usage: api-bench mk|etcd URL CA CERT KEY CASE [A [B]]\n");
		return 2;
	}
	t.sys = argv[1];
	t.mk = strcmp(t.sys, "mk") == 0;
	if (!t.mk && strcmp(t.sys, "etcd") != 0) {
		fprintf(stderr, "api-bench: system is mk or etcd\n");
		return 2;
	}
	t.url = argv[2];
	t.ca = argv[3];
	t.cert = argv[4];
	t.key = argv[5];
	what = argv[6];
	memset(t.value, 'x', VALUE_LEN);
	b64(t.value, t.value_b64);
	a = argc > 7 ? atoi(argv[7]) : 1;
	b = argc > 8 ? atof(argv[8]) : 3;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return 1;
	if (strcmp(what, "create") == 0 || strcmp(what, "get") == 0)
		rv = run_load(&t, what[0] == 'g', a, b);
	else if (strcmp(what, "fill") == 0)
		rv = run_fill(&t, a);
	else if (strcmp(what, "list") == 0)
		rv = run_list(&t, a, argc > 8 ? atol(argv[8]) : 0);
	else if (strcmp(what, "watch") == 0)
		rv = run_watch(&t, a, (int)b);
	else {
		fprintf(stderr, "api-bench: unknown case %s\n", what);
		rv = 2;
	}
	curl_global_cleanup();
	return rv;
}
