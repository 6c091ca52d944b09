/*
 * api-bench: the Kubernetes API of mk beside etcd's JSON gateway, both over
 * HTTPS/1.1 with keep-alive and a client certificate, driven by the same
 * libcurl code (bench/api_run.sh starts the servers and prints ratios).
 *
 *   api-bench SYSTEM URL CA CERT KEY CASE [ARGS]
 *     SYSTEM  mk | etcd
 *     CASE    create THREADS SECONDS   1 KiB creates; ops/s p50 p99
 *             fill N                   N objects for the list case (16 threads)
 *             get THREADS SECONDS      reads of one object; ops/s
 *             list PAGE                a full listing (PAGE 0: one request); ms
 *             watch WATCHERS WRITES    write -> delivery latency; p50 p99
 *
 * Output: one line "key=value ..." on stdout.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/evp.h>

static const char *sys_name, *base_url, *ca, *cert, *key;
static bool is_mk;
static char value_1k[1025];

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double pct(double *v, size_t n, double p)
{
	if (n == 0)
		return 0;
	qsort(v, n, sizeof *v, cmp_double);
	size_t i = (size_t)(p * (double)(n - 1) + 0.5);
	return v[i];
}

struct sink {
	char *data;
	size_t len, cap;
};

static size_t sink_write(char *p, size_t s, size_t n, void *arg)
{
	struct sink *k = arg;
	size_t len = s * n;
	if (k->len + len + 1 > k->cap) {
		k->cap = (k->len + len + 1) * 2;
		k->data = realloc(k->data, k->cap);
	}
	memcpy(k->data + k->len, p, len);
	k->len += len;
	k->data[k->len] = '\0';
	return len;
}

static CURL *handle(struct sink *k)
{
	CURL *c = curl_easy_init();
	curl_easy_setopt(c, CURLOPT_CAINFO, ca);
	curl_easy_setopt(c, CURLOPT_SSLCERT, cert);
	curl_easy_setopt(c, CURLOPT_SSLKEY, key);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, k);
	curl_easy_setopt(c, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
	return c;
}

static void b64(const char *in, char *out)
{
	EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)in, (int)strlen(in));
}

/* One request; returns the HTTP status. */
static long request(CURL *c, struct curl_slist *hdr, const char *path, const char *body)
{
	char url[1024];
	snprintf(url, sizeof url, "%s%s", base_url, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	if (body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	} else {
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	}
	long code = 0;
	if (curl_easy_perform(c) != CURLE_OK)
		return 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	return code;
}

/* Creates object `name` (mk: a ConfigMap; etcd: a key) with 1 KiB. */
static long create(CURL *c, struct curl_slist *hdr, const char *name)
{
	char bodybuf[4096];
	if (is_mk) {
		snprintf(bodybuf, sizeof bodybuf,
			 "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"%s\"},"
			 "\"data\":{\"v\":\"%s\"}}",
			 name, value_1k);
		return request(c, hdr, "/api/v1/namespaces/default/configmaps", bodybuf);
	}
	char k[512], kb[700], vb[1500];
	snprintf(k, sizeof k, "/registry/configmaps/default/%s", name);
	b64(k, kb);
	b64(value_1k, vb);
	snprintf(bodybuf, sizeof bodybuf, "{\"key\":\"%s\",\"value\":\"%s\"}", kb, vb);
	return request(c, hdr, "/v3/kv/put", bodybuf);
}

static struct curl_slist *json_headers(void)
{
	return curl_slist_append(NULL, "Content-Type: application/json");
}

/* --- create / get load ------------------------------------------------ */

struct load {
	int id;
	bool get;
	double seconds;
	double *lat;
	size_t n, cap;
	long errors;
};

static void *load_thread(void *arg)
{
	struct load *l = arg;
	struct sink k = {0};
	CURL *c = handle(&k);
	struct curl_slist *hdr = json_headers();
	double end = now_ms() + l->seconds * 1000;
	char name[128];
	for (long i = 0; now_ms() < end; i++) {
		k.len = 0;
		double t0 = now_ms();
		long code;
		if (l->get) {
			if (is_mk) {
				code = request(c, hdr, "/api/v1/namespaces/default/configmaps/get-target", NULL);
			} else {
				char kb[200], body[300];
				b64("/registry/configmaps/default/get-target", kb);
				snprintf(body, sizeof body, "{\"key\":\"%s\"}", kb);
				code = request(c, hdr, "/v3/kv/range", body);
			}
		} else {
			snprintf(name, sizeof name, "c%d-%ld-%d", l->id, i, getpid());
			code = create(c, hdr, name);
		}
		double t = now_ms() - t0;
		if (code != 200 && code != 201) {
			l->errors++;
			continue;
		}
		if (l->n == l->cap) {
			l->cap = l->cap ? l->cap * 2 : 4096;
			l->lat = realloc(l->lat, l->cap * sizeof *l->lat);
		}
		l->lat[l->n++] = t;
	}
	curl_slist_free_all(hdr);
	curl_easy_cleanup(c);
	free(k.data);
	return NULL;
}

static int run_load(bool get, int threads, double seconds, const char *label)
{
	if (get) {
		struct sink k = {0};
		CURL *c = handle(&k);
		struct curl_slist *hdr = json_headers();
		create(c, hdr, "get-target");
		curl_slist_free_all(hdr);
		curl_easy_cleanup(c);
		free(k.data);
	}
	pthread_t t[64];
	struct load l[64];
	memset(l, 0, sizeof l);
	for (int i = 0; i < threads; i++) {
		l[i].id = i;
		l[i].get = get;
		l[i].seconds = seconds;
		pthread_create(&t[i], NULL, load_thread, &l[i]);
	}
	size_t total = 0;
	long errors = 0;
	for (int i = 0; i < threads; i++) {
		pthread_join(t[i], NULL);
		total += l[i].n;
		errors += l[i].errors;
	}
	double *all = malloc((total + 1) * sizeof *all);
	size_t n = 0;
	for (int i = 0; i < threads; i++) {
		memcpy(all + n, l[i].lat, l[i].n * sizeof *all);
		n += l[i].n;
		free(l[i].lat);
	}
	printf("%s system=%s ops=%.0f p50_ms=%.3f p99_ms=%.3f errors=%ld\n", label, sys_name,
	       (double)n / seconds, pct(all, n, 0.5), pct(all, n, 0.99), errors);
	free(all);
	return errors > 0 && n == 0;
}

/* --- fill and list ----------------------------------------------------- */

struct fill {
	int id, per;
};

static void *fill_thread(void *arg)
{
	struct fill *f = arg;
	struct sink k = {0};
	CURL *c = handle(&k);
	struct curl_slist *hdr = json_headers();
	char name[64];
	for (int i = 0; i < f->per; i++) {
		snprintf(name, sizeof name, "fill-%02d-%05d", f->id, i);
		k.len = 0;
		create(c, hdr, name);
	}
	curl_slist_free_all(hdr);
	curl_easy_cleanup(c);
	free(k.data);
	return NULL;
}

static int run_fill(int n)
{
	pthread_t t[16];
	struct fill f[16];
	for (int i = 0; i < 16; i++) {
		f[i] = (struct fill){i, n / 16 + (i < n % 16)};
		pthread_create(&t[i], NULL, fill_thread, &f[i]);
	}
	for (int i = 0; i < 16; i++)
		pthread_join(t[i], NULL);
	printf("fill system=%s n=%d\n", sys_name, n);
	return 0;
}

/* Follows `continue` / etcd's more=true until the end. */
static int run_list(int page)
{
	struct sink k = {0};
	CURL *c = handle(&k);
	struct curl_slist *hdr = json_headers();
	double t0 = now_ms();
	long items = 0;
	char path[4096], next[2048] = "", body[2048];
	char start[600], end_b64[600];
	b64("/registry/configmaps/default/", start);
	b64("/registry/configmaps/default0", end_b64);
	for (;;) {
		k.len = 0;
		long code;
		if (is_mk) {
			snprintf(path, sizeof path, "/api/v1/namespaces/default/configmaps?limit=%d%s%s",
				 page, next[0] ? "&continue=" : "", next);
			code = request(c, hdr, path, NULL);
		} else {
			snprintf(body, sizeof body, "{\"key\":\"%s\",\"range_end\":\"%s\",\"limit\":%d}",
				 next[0] ? next : start, end_b64, page);
			code = request(c, hdr, "/v3/kv/range", body);
		}
		if (code != 200) {
			fprintf(stderr, "list: HTTP %ld\n", code);
			return 1;
		}
		/* Count objects without a JSON library: each carries one marker. */
		const char *marker = is_mk ? "\"kind\":\"ConfigMap\"" : "\"create_revision\"";
		for (const char *p = k.data; (p = strstr(p, marker)) != NULL; p++)
			items++;
		next[0] = '\0';
		if (page > 0 && is_mk) {
			const char *cont = strstr(k.data, "\"continue\":\"");
			if (cont) {
				cont += 12;
				size_t n = strcspn(cont, "\"");
				/* URL-encode the token's base64 characters. */
				size_t o = 0;
				for (size_t i = 0; i < n && o + 4 < sizeof next; i++) {
					char ch = cont[i];
					if (ch == '+' || ch == '/' || ch == '=')
						o += (size_t)snprintf(next + o, sizeof next - o, "%%%02X", ch);
					else
						next[o++] = ch;
				}
				next[o] = '\0';
			}
		} else if (page > 0 && strstr(k.data, "\"more\":true")) {
			/* Next page starts after the last key: key + "\0". */
			const char *last = NULL;
			for (const char *p = k.data; (p = strstr(p, "\"key\":\"")) != NULL; p += 7)
				last = p + 7;
			if (last) {
				char kb[600], kraw[600];
				size_t n = strcspn(last, "\"");
				snprintf(kb, sizeof kb, "%.*s", (int)n, last);
				int len = EVP_DecodeBlock((unsigned char *)kraw, (unsigned char *)kb,
							  (int)strlen(kb));
				while (len > 0 && kraw[len - 1] == '\0')
					len--;
				kraw[len] = '\0';
				kraw[len + 1] = '\0';
				EVP_EncodeBlock((unsigned char *)next, (unsigned char *)kraw, len + 1);
			}
		}
		if (next[0] == '\0')
			break;
	}
	printf("list system=%s page=%d items=%ld ms=%.1f\n", sys_name, page, items, now_ms() - t0);
	curl_slist_free_all(hdr);
	curl_easy_cleanup(c);
	free(k.data);
	return 0;
}

/* --- watch latency -------------------------------------------------------- */

struct watcher {
	struct sink k;
	size_t consumed;
	int events;
	double *arrive; /* per write */
	int writes;
};

static double *write_start;
static volatile int writes_done;

static size_t watch_write(char *p, size_t s, size_t n, void *arg)
{
	struct watcher *w = arg;
	size_t len = s * n;
	double t = now_ms();
	sink_write(p, s, n, &w->k);
	/* Complete lines are events (mk); etcd's gateway sends one JSON
	 * object per message, also newline-terminated. */
	char *line;
	while ((line = memchr(w->k.data + w->consumed, '\n', w->k.len - w->consumed)) != NULL) {
		size_t start = w->consumed;
		w->consumed = (size_t)(line - w->k.data) + 1;
		*line = '\0';
		const char *l = w->k.data + start;
		bool event = is_mk ? strstr(l, "\"ADDED\"") != NULL : strstr(l, "\"events\"") != NULL;
		if (event && w->events < w->writes)
			w->arrive[w->events++] = t;
	}
	return len;
}

static int run_watch(int watchers, int writes)
{
	CURLM *m = curl_multi_init();
	struct watcher *w = calloc((size_t)watchers, sizeof *w);
	CURL **hs = calloc((size_t)watchers, sizeof *hs);
	struct curl_slist *hdr = json_headers();
	write_start = calloc((size_t)writes, sizeof *write_start);
	/* Start from now: a listing's revision (mk) / the current revision. */
	struct sink k = {0};
	CURL *c = handle(&k);
	char rv[32] = "0";
	if (is_mk) {
		request(c, hdr, "/api/v1/namespaces/default/configmaps?limit=1", NULL);
		const char *p = strstr(k.data, "\"resourceVersion\":\"");
		if (p)
			snprintf(rv, sizeof rv, "%.*s", (int)strcspn(p + 19, "\""), p + 19);
	}
	char url[1024], body[512], kb[200], eb[200];
	b64("/registry/configmaps/default/w-", kb);
	b64("/registry/configmaps/default/w.", eb);
	snprintf(body, sizeof body, "{\"create_request\":{\"key\":\"%s\",\"range_end\":\"%s\"}}", kb,
		 eb);
	for (int i = 0; i < watchers; i++) {
		w[i].writes = writes;
		w[i].arrive = calloc((size_t)writes, sizeof(double));
		hs[i] = handle(&w[i].k);
		curl_easy_setopt(hs[i], CURLOPT_WRITEFUNCTION, watch_write);
		curl_easy_setopt(hs[i], CURLOPT_WRITEDATA, &w[i]);
		if (is_mk) {
			snprintf(url, sizeof url,
				 "%s/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=%s"
				 "&timeoutSeconds=120",
				 base_url, rv);
		} else {
			snprintf(url, sizeof url, "%s/v3/watch", base_url);
			curl_easy_setopt(hs[i], CURLOPT_POSTFIELDS, body);
			curl_easy_setopt(hs[i], CURLOPT_HTTPHEADER, hdr);
		}
		curl_easy_setopt(hs[i], CURLOPT_URL, url);
		curl_multi_add_handle(m, hs[i]);
	}
	/* Let every watch get established (its response headers in). */
	int running = 0;
	double ready_by = now_ms() + 5000;
	while (now_ms() < ready_by) {
		curl_multi_perform(m, &running);
		curl_multi_poll(m, NULL, 0, 10, NULL);
		int established = 0;
		for (int i = 0; i < watchers; i++) {
			long code = 0;
			curl_easy_getinfo(hs[i], CURLINFO_RESPONSE_CODE, &code);
			established += code == 200;
		}
		if (established == watchers)
			break;
	}
	/* Writes one at a time from this thread, between polls: the write's
	 * start time is taken right before its request. */
	char name[64];
	for (int n = 0; n < writes; n++) {
		snprintf(name, sizeof name, "w-%05d-%d", n, getpid());
		write_start[n] = now_ms();
		k.len = 0;
		create(c, hdr, name);
		/* Deliver to every watcher before the next write. */
		double until = now_ms() + 2000;
		for (;;) {
			curl_multi_perform(m, &running);
			int done = 0;
			for (int i = 0; i < watchers; i++)
				done += w[i].events > n;
			if (done == watchers || now_ms() > until)
				break;
			curl_multi_poll(m, NULL, 0, 1, NULL);
		}
	}
	size_t total = (size_t)watchers * (size_t)writes, got = 0;
	double *lat = malloc(total * sizeof *lat);
	for (int i = 0; i < watchers; i++)
		for (int n = 0; n < w[i].events; n++)
			lat[got++] = w[i].arrive[n] - write_start[n];
	printf("watch system=%s watchers=%d writes=%d delivered=%zu/%zu p50_ms=%.3f p99_ms=%.3f\n",
	       sys_name, watchers, writes, got, total, pct(lat, got, 0.5), pct(lat, got, 0.99));
	for (int i = 0; i < watchers; i++) {
		curl_multi_remove_handle(m, hs[i]);
		curl_easy_cleanup(hs[i]);
		free(w[i].arrive);
		free(w[i].k.data);
	}
	curl_multi_cleanup(m);
	curl_easy_cleanup(c);
	curl_slist_free_all(hdr);
	free(k.data);
	free(lat);
	free(w);
	free(hs);
	return got < total;
}

int main(int argc, char **argv)
{
	if (argc < 7) {
		fprintf(stderr, "usage: api-bench mk|etcd URL CA CERT KEY CASE [ARGS]\n");
		return 2;
	}
	sys_name = argv[1];
	is_mk = strcmp(sys_name, "mk") == 0;
	base_url = argv[2];
	ca = argv[3];
	cert = argv[4];
	key = argv[5];
	const char *what = argv[6];
	memset(value_1k, 'x', 1024);
	value_1k[1024] = '\0';
	curl_global_init(CURL_GLOBAL_DEFAULT);
	int a = argc > 7 ? atoi(argv[7]) : 1;
	double b = argc > 8 ? atof(argv[8]) : 3;
	int rv;
	if (strcmp(what, "create") == 0)
		rv = run_load(false, a, b, a == 1 ? "create-c1" : "create-c16");
	else if (strcmp(what, "get") == 0)
		rv = run_load(true, a, b, "get-c16");
	else if (strcmp(what, "fill") == 0)
		rv = run_fill(a);
	else if (strcmp(what, "list") == 0)
		rv = run_list(a);
	else if (strcmp(what, "watch") == 0)
		rv = run_watch(a, (int)b);
	else {
		fprintf(stderr, "api-bench: unknown case %s\n", what);
		rv = 2;
	}
	curl_global_cleanup();
	return rv;
}
