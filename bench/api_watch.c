/*
 * api-bench's watch case: WATCHERS streams (mk: ?watch=true from the
 * current resourceVersion; etcd: POST /v3/watch on the key prefix), then
 * WRITES creates one at a time; every delivery is timed from just before
 * its write's request.  Prints
 *   watch system=S watchers=N writes=W delivered=D/N*W p50_ms p99_ms max_ms
 *         first_p50_ms first_p99_ms write_errors
 * where first_* is, per write, its earliest delivery.
 *
 * Threads: the writer is the calling thread; the streams are spread over
 * client threads, WATCHERS_PER_THREAD each, one curl multi handle per
 * thread.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "api_bench.h"

/* Watch streams per client thread: TLS decryption of 100 streams on one
 * thread would put up to 100 decrypts in front of the last watcher's
 * timestamp; a few threads keep the client out of the figure. */
#define WATCHERS_PER_THREAD 25
#define WATCH_READY_MS 10000
#define DELIVERY_WAIT_MS 2000

struct watch_run;

struct watcher {
	struct watch_run *run;
	struct client cl; /* its body sink stays unused: the stream goes to buf */
	struct sink buf; /* bytes of the stream not yet split into lines */
	size_t consumed;
	bool ready;
	double *arrive; /* per write index, ms; 0 until delivered */
};

/* Shared by the writer (main) and the watcher threads.  start[] is written
 * by the writer and arrive[] by the watchers; both are read only after the
 * threads are joined.  mu guards ready and delivered[]. */
struct watch_run {
	const struct target *t;
	int watchers, writes;
	char tag[32]; /* object names are TAG + write index */
	double *start;
	struct watcher *w;
	pthread_mutex_t mu;
	pthread_cond_t cond;
	int ready;
	int *delivered;
	atomic_bool stop;
};

/* Notes the delivery of the object called name; false if that is not one
 * of this run's writes. */
static bool record(struct watcher *w, const char *name, double t)
{
	struct watch_run *r = w->run;
	size_t tl = strlen(r->tag);
	long i;

	if (strncmp(name, r->tag, tl) != 0)
		return false;
	i = strtol(name + tl, NULL, 10);
	if (i < 0 || i >= r->writes)
		return false;
	if (w->arrive[i] != 0)
		return true;
	w->arrive[i] = t;
	pthread_mutex_lock(&r->mu);
	if (++r->delivered[i] == r->watchers)
		pthread_cond_broadcast(&r->cond);
	pthread_mutex_unlock(&r->mu);
	return true;
}

/* One complete line of a stream: mk sends one event per line, etcd's
 * gateway one watch response (possibly several events) per line. */
static void watch_line(struct watcher *w, const char *line, double t)
{
	const char *p;

	if (w->run->t->mk) {
		if (strstr(line, "\"type\":\"ADDED\"") == NULL)
			return;
		for (p = line; (p = strstr(p, "\"name\":\"")) != NULL; p += 8)
			if (record(w, p + 8, t))
				return;
		return;
	}
	if (strstr(line, "\"created\":true"))
		w->ready = true;
	for (p = line; (p = strstr(p, "\"key\":\"")) != NULL;) {
		char kb[300];
		unsigned char raw[240];
		size_t n = strcspn(p += 7, "\"");
		int len;

		if (n >= sizeof kb || n % 4 || n / 4 * 3 >= sizeof raw)
			continue;
		memcpy(kb, p, n);
		kb[n] = '\0';
		len = EVP_DecodeBlock(raw, (unsigned char *)kb, (int)n);
		if (len <= 0)
			continue;
		raw[len] = '\0';
		if (strncmp((char *)raw, KEY_PREFIX, strlen(KEY_PREFIX)) == 0)
			record(w, (char *)raw + strlen(KEY_PREFIX), t);
	}
}

/* The timestamp is taken as the bytes come off the connection, before the
 * line is parsed: the event is complete once its newline is in. */
static size_t watch_write(char *p, size_t s, size_t n, void *arg)
{
	struct watcher *w = arg;
	double t = now_ms();
	char *nl;

	sink_write(p, s, n, &w->buf);
	while ((nl = memchr(w->buf.data + w->consumed, '\n', w->buf.len - w->consumed))) {
		*nl = '\0';
		watch_line(w, w->buf.data + w->consumed, t);
		w->consumed = (size_t)(nl - w->buf.data) + 1;
	}
	/* Keep only the unfinished line. */
	memmove(w->buf.data, w->buf.data + w->consumed, w->buf.len - w->consumed);
	w->buf.len -= w->consumed;
	w->consumed = 0;
	return s * n;
}

struct watch_thread {
	struct watch_run *run;
	int first, n;
};

static void *watch_thread(void *arg)
{
	struct watch_thread *wt = arg;
	struct watch_run *r = wt->run;
	CURLM *m = curl_multi_init();
	bool counted = false;
	int running;

	if (m == NULL)
		die_oom();
	for (int i = wt->first; i < wt->first + wt->n; i++)
		curl_multi_add_handle(m, r->w[i].cl.c);
	while (!atomic_load(&r->stop)) {
		curl_multi_perform(m, &running);
		if (!counted) {
			int ready = 0;

			for (int i = wt->first; i < wt->first + wt->n; i++) {
				long code = 0;

				/* mk's stream is set up once its headers are sent (a
				 * resourceVersion replays anything written before);
				 * etcd's once it says created. */
				curl_easy_getinfo(r->w[i].cl.c, CURLINFO_RESPONSE_CODE, &code);
				if (r->t->mk && code == 200)
					r->w[i].ready = true;
				ready += r->w[i].ready;
			}
			if (ready == wt->n) {
				counted = true;
				pthread_mutex_lock(&r->mu);
				r->ready += wt->n;
				pthread_cond_broadcast(&r->cond);
				pthread_mutex_unlock(&r->mu);
			}
		}
		curl_multi_poll(m, NULL, 0, 20, NULL);
	}
	for (int i = wt->first; i < wt->first + wt->n; i++)
		curl_multi_remove_handle(m, r->w[i].cl.c);
	curl_multi_cleanup(m);
	return NULL;
}

/* Waits until *v reaches goal or ms pass; mu held.  False on timeout. */
static bool wait_count(struct watch_run *r, const int *v, int goal, int ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	while (*v < goal)
		if (pthread_cond_timedwait(&r->cond, &r->mu, &ts) != 0)
			return *v >= goal;
	return true;
}

/* Current revision for mk's resourceVersion (etcd's watch starts at now). */
static void mk_revision(struct client *cl, const struct target *t, char *rv, size_t cap)
{
	const char *p;

	snprintf(rv, cap, "0");
	if (request(cl, t, "/api/v1/namespaces/default/configmaps?limit=1", NULL) == 200 &&
	    (p = strstr(cl->body.data, "\"resourceVersion\":\"")) != NULL)
		snprintf(rv, cap, "%.*s", (int)strcspn(p + 19, "\""), p + 19);
}

int run_watch(const struct target *t, int watchers, int writes)
{
	struct watch_run r = {.t = t, .watchers = watchers, .writes = writes};
	int nthreads = (watchers + WATCHERS_PER_THREAD - 1) / WATCHERS_PER_THREAD;
	struct watch_thread wt[MAX_THREADS];
	pthread_t tid[MAX_THREADS];
	pthread_condattr_t ca;
	struct client writer;
	struct samples lat = {0}, firsts = {0};
	char url[1024], body[512], rv[32], kb[200], eb[200];
	long write_errors = 0;
	int rc = 1;

	if (watchers < 1 || writes < 1 || nthreads > MAX_THREADS) {
		fprintf(stderr, "api-bench: 1..%d watchers, writes >= 1\n",
			MAX_THREADS * WATCHERS_PER_THREAD);
		return 2;
	}
	snprintf(r.tag, sizeof r.tag, "w-%d-", (int)getpid());
	r.start = calloc((size_t)writes, sizeof *r.start);
	r.delivered = calloc((size_t)writes, sizeof *r.delivered);
	r.w = calloc((size_t)watchers, sizeof *r.w);
	if (!r.start || !r.delivered || !r.w)
		die_oom();
	pthread_mutex_init(&r.mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&r.cond, &ca);
	pthread_condattr_destroy(&ca);
	atomic_init(&r.stop, false);
	client_init(&writer, t);

	mk_revision(&writer, t, rv, sizeof rv);
	b64(KEY_PREFIX "w-", kb);
	b64(KEY_PREFIX "w.", eb); /* '.' follows '-' */
	snprintf(body, sizeof body,
		 "{\"create_request\":{\"key\":\"%s\",\"range_end\":\"%s\"}}", kb, eb);
	if (t->mk)
		snprintf(url, sizeof url,
			 "%s/api/v1/namespaces/default/configmaps?watch=true"
			 "&resourceVersion=%s&timeoutSeconds=300",
			 t->url, rv);
	else
		snprintf(url, sizeof url, "%s/v3/watch", t->url);
	for (int i = 0; i < watchers; i++) {
		struct watcher *w = &r.w[i];

		w->run = &r;
		w->arrive = calloc((size_t)writes, sizeof *w->arrive);
		if (!w->arrive)
			die_oom();
		client_init(&w->cl, t);
		curl_easy_setopt(w->cl.c, CURLOPT_URL, url);
		curl_easy_setopt(w->cl.c, CURLOPT_WRITEFUNCTION, watch_write);
		curl_easy_setopt(w->cl.c, CURLOPT_WRITEDATA, w);
		if (!t->mk)
			curl_easy_setopt(w->cl.c, CURLOPT_POSTFIELDS, body);
	}
	for (int i = 0; i < nthreads; i++) {
		int first = i * WATCHERS_PER_THREAD;

		wt[i] = (struct watch_thread){&r, first,
					      watchers - first < WATCHERS_PER_THREAD
						      ? watchers - first
						      : WATCHERS_PER_THREAD};
		thread_start(&tid[i], watch_thread, &wt[i]);
	}

	pthread_mutex_lock(&r.mu);
	if (!wait_count(&r, &r.ready, watchers, WATCH_READY_MS)) {
		fprintf(stderr, "api-bench: only %d of %d watches established\n", r.ready,
			watchers);
		pthread_mutex_unlock(&r.mu);
		goto out;
	}
	pthread_mutex_unlock(&r.mu);

	/* One write at a time, the next once every watcher has the last one
	 * (or DELIVERY_WAIT_MS passed): deliveries never queue behind writes. */
	for (int n = 0; n < writes; n++) {
		char name[64];
		long code;

		snprintf(name, sizeof name, "%s%05d", r.tag, n);
		r.start[n] = now_ms();
		code = create(&writer, t, name);
		if (code != 200 && code != 201)
			write_errors++;
		pthread_mutex_lock(&r.mu);
		wait_count(&r, &r.delivered[n], watchers, DELIVERY_WAIT_MS);
		pthread_mutex_unlock(&r.mu);
	}
	rc = 0;
out:
	atomic_store(&r.stop, true);
	for (int i = 0; i < nthreads; i++)
		pthread_join(tid[i], NULL);
	/* Besides every delivery, the first delivery of each write: the
	 * difference between the two is what fanning out to 100 costs. */
	for (int n = 0; n < writes; n++) {
		double first = 0;

		for (int i = 0; i < watchers; i++) {
			double a = r.w[i].arrive[n];

			if (a == 0)
				continue;
			samples_add(&lat, a - r.start[n]);
			if (first == 0 || a < first)
				first = a;
		}
		if (first != 0)
			samples_add(&firsts, first - r.start[n]);
	}
	if (rc == 0) {
		size_t total = (size_t)watchers * (size_t)writes;
		double p50 = pct(lat.v, lat.n, 0.5), p99 = pct(lat.v, lat.n, 0.99);

		printf("watch system=%s watchers=%d writes=%d delivered=%zu/%zu p50_ms=%.3f "
		       "p99_ms=%.3f max_ms=%.3f first_p50_ms=%.3f first_p99_ms=%.3f "
		       "write_errors=%ld\n",
		       t->sys, watchers, writes, lat.n, total, p50, p99,
		       lat.n ? lat.v[lat.n - 1] : 0.0, pct(firsts.v, firsts.n, 0.5),
		       pct(firsts.v, firsts.n, 0.99), write_errors);
		rc = lat.n < total;
	}
	for (int i = 0; i < watchers; i++) {
		client_free(&r.w[i].cl);
		free(r.w[i].arrive);
		free(r.w[i].buf.data);
	}
	client_free(&writer);
	pthread_cond_destroy(&r.cond);
	pthread_mutex_destroy(&r.mu);
	free(lat.v);
	free(firsts.v);
	free(r.w);
	free(r.start);
	free(r.delivered);
	return rc;
}

