/*
 * api-bench's client side: timing, samples, and one HTTPS/1.1 connection
 * speaking to mk's API or etcd's JSON gateway (api_bench.h).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "api_bench.h"

double now_ms(void)
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

/* Nearest-rank percentile; sorts v. */
double pct(double *v, size_t n, double p)
{
	if (n == 0)
		return 0;
	qsort(v, n, sizeof *v, cmp_double);
	return v[(size_t)(p * (double)(n - 1) + 0.5)];
}

void die_oom(void)
{
	fputs("api-bench: out of memory\n", stderr);
	exit(1);
}

void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n);
	if (p == NULL)
		die_oom();
	return p;
}

void thread_start(pthread_t *tid, void *(*fn)(void *), void *arg)
{
	if (pthread_create(tid, NULL, fn, arg) != 0) {
		fputs("api-bench: cannot start a thread\n", stderr);
		exit(1);
	}
}

void samples_add(struct samples *s, double x)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 4096;
		s->v = xrealloc(s->v, s->cap * sizeof *s->v);
	}
	s->v[s->n++] = x;
}

size_t sink_write(char *p, size_t s, size_t n, void *arg)
{
	struct sink *k = arg;
	size_t len = s * n;

	if (k->len + len + 1 > k->cap) {
		k->cap = (k->len + len + 1) * 2;
		k->data = xrealloc(k->data, k->cap);
	}
	memcpy(k->data + k->len, p, len);
	k->len += len;
	k->data[k->len] = '\0';
	return len;
}

void client_init(struct client *cl, const struct target *t)
{
	memset(cl, 0, sizeof *cl);
	cl->c = curl_easy_init();
	cl->hdr = curl_slist_append(NULL, "Content-Type: application/json");
	if (cl->c == NULL || cl->hdr == NULL)
		die_oom();
	curl_easy_setopt(cl->c, CURLOPT_CAINFO, t->ca);
	curl_easy_setopt(cl->c, CURLOPT_SSLCERT, t->cert);
	curl_easy_setopt(cl->c, CURLOPT_SSLKEY, t->key);
	curl_easy_setopt(cl->c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(cl->c, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(cl->c, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(cl->c, CURLOPT_HTTPHEADER, cl->hdr);
	curl_easy_setopt(cl->c, CURLOPT_WRITEFUNCTION, sink_write);
	curl_easy_setopt(cl->c, CURLOPT_WRITEDATA, &cl->body);
}

void client_free(struct client *cl)
{
	curl_easy_cleanup(cl->c);
	curl_slist_free_all(cl->hdr);
	free(cl->body.data);
}

/* One request (POST when body is set); the HTTP status, 0 on failure. */
long request(struct client *cl, const struct target *t, const char *path, const char *body)
{
	char url[4096];
	long code = 0;

	snprintf(url, sizeof url, "%s%s", t->url, path);
	cl->body.len = 0;
	if (cl->body.data)
		cl->body.data[0] = '\0';
	curl_easy_setopt(cl->c, CURLOPT_URL, url);
	if (body)
		curl_easy_setopt(cl->c, CURLOPT_POSTFIELDS, body);
	else
		curl_easy_setopt(cl->c, CURLOPT_HTTPGET, 1L);
	if (curl_easy_perform(cl->c) != CURLE_OK)
		return 0;
	curl_easy_getinfo(cl->c, CURLINFO_RESPONSE_CODE, &code);
	return code;
}

void b64(const char *in, char *out)
{
	EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)in, (int)strlen(in));
}

/* Creates object NAME (mk: a ConfigMap; etcd: a key), 1 KiB of data. */
long create(struct client *cl, const struct target *t, const char *name)
{
	char body[4096], k[512], kb[700];

	if (t->mk) {
		snprintf(body, sizeof body,
			 "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":"
			 "{\"name\":\"%s\"},\"data\":{\"v\":\"%s\"}}",
			 name, t->value);
		return request(cl, t, "/api/v1/namespaces/default/configmaps", body);
	}
	snprintf(k, sizeof k, KEY_PREFIX "%s", name);
	b64(k, kb);
	snprintf(body, sizeof body, "{\"key\":\"%s\",\"value\":\"%s\"}", kb, t->value_b64);
	return request(cl, t, "/v3/kv/put", body);
}

long get_one(struct client *cl, const struct target *t)
{
	char kb[200], body[300];

	if (t->mk)
		return request(cl, t, "/api/v1/namespaces/default/configmaps/get-target", NULL);
	b64(KEY_PREFIX "get-target", kb);
	snprintf(body, sizeof body, "{\"key\":\"%s\"}", kb);
	return request(cl, t, "/v3/kv/range", body);
}

