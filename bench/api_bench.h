/*
 * api-bench's shared pieces: the system under test (struct target), one
 * HTTPS client connection (struct client), latency samples and timing.
 *
 * A client is one libcurl easy handle, i.e. one keep-alive TLS connection
 * with the client certificate; it belongs to one thread.  struct target is
 * filled by main and read-only afterwards, so threads share it freely.
 * mk objects are ConfigMaps in namespace default with one 1 KiB data value;
 * etcd keys are KEY_PREFIX + NAME with the same 1 KiB value (base64 on the
 * gateway, as its JSON mapping requires).  Running out of memory or
 * threads ends the process: a benchmark has nothing to fall back to.
 */
#ifndef MK_BENCH_API_BENCH_H
#define MK_BENCH_API_BENCH_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include <curl/curl.h>

#define VALUE_LEN 1024
#define MAX_THREADS 64
#define KEY_PREFIX "/registry/configmaps/default/"

struct target {
	bool mk; /* else etcd */
	const char *sys, *url, *ca, *cert, *key;
	char value[VALUE_LEN + 1];
	char value_b64[(VALUE_LEN + 2) / 3 * 4 + 1];
};

/* Growable sample array of latencies in ms. */
struct samples {
	double *v;
	size_t n, cap;
};

/* Response body, NUL-terminated; reset len to reuse. */
struct sink {
	char *data;
	size_t len, cap;
};

/* A client: one easy handle = one keep-alive connection. */
struct client {
	CURL *c;
	struct curl_slist *hdr;
	struct sink body;
};

/* CLOCK_MONOTONIC in ms. */
double now_ms(void);
/* Nearest-rank percentile p (0..1) of v; sorts v; 0 when n is 0. */
double pct(double *v, size_t n, double p);
void die_oom(void);
void *xrealloc(void *p, size_t n);
void samples_add(struct samples *s, double x);
/* pthread_create, ending the process if it fails. */
void thread_start(pthread_t *tid, void *(*fn)(void *), void *arg);
/* A CURLOPT_WRITEFUNCTION appending to the struct sink in arg. */
size_t sink_write(char *p, size_t s, size_t n, void *arg);
/* Base64 of the string in into out (4/3 of its length + 1). */
void b64(const char *in, char *out);

void client_init(struct client *cl, const struct target *t);
void client_free(struct client *cl);
/* One request to t->url + path, POST when body is set; the response goes
 * to cl->body.  Returns the HTTP status, 0 when there was none. */
long request(struct client *cl, const struct target *t, const char *path, const char *body);
/* Creates object name with the 1 KiB value; the HTTP status. */
long create(struct client *cl, const struct target *t, const char *name);
/* Reads object "get-target"; the HTTP status. */
long get_one(struct client *cl, const struct target *t);

/* The watch case (api_watch.c): prints its line; 0, 1 (not measured), 2 (bad
 * arguments). */
int run_watch(const struct target *t, int watchers, int writes);

#endif
