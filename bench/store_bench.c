/*
 * store-bench: durable 1 KiB puts against mk's store and against etcd 3.4,
 * measured the same way in the same run (bench/run.sh starts the servers).
 *
 *   store-bench put --mk ADDR[,ADDR...]  --clients N [--seconds S] [--warmup W]
 *   store-bench put --etcd URL[,URL...] --clients N [--seconds S] [--warmup W]
 *   store-bench assign ADDR...
 *
 * `put` runs N client threads for W + S seconds.  Client t writes keys
 * bench/<tag>/<t>/<i % 100> (i counts its operations) with the same 1 KiB
 * value, one operation at a time, and times each one.  Operations that
 * complete inside the last S seconds count; it prints one line
 *
 *   ops=<per second> p50_ms=.. p90_ms=.. p99_ms=.. max_ms=.. n=<ops> errors=<n>
 *
 * mk side: one store_open() on the dqlite members (no local node, so this
 * process is a pure client, like the API server of a worker node), shared
 * by the N threads, which call store_create() the first time they write a
 * key and store_update(expected_rev 0) afterwards -- what an unconditional
 * PUT costs mk.  Concurrent writes are grouped by the store's writer
 * thread; that is part of what is measured.
 *
 * etcd side: the same keys and value through etcd's JSON gRPC gateway,
 * POST /v3/kv/put with base64 key and value, one libcurl easy handle (one
 * keep-alive connection) per thread, sent to the raft leader (mk's store
 * also always writes on the dqlite leader).
 *
 * Why the comparison is fair: both sides acknowledge a put only once it is
 * committed by a raft quorum and fsynced (etcd with its default fsync, mk
 * through dqlite's raft log), both run on the same loopback, disk and CPUs
 * (run.sh runs one system at a time), both clients live in this process
 * and block on one outstanding request per thread.  etcd pays for JSON and
 * its gateway's internal gRPC hop; mk pays for its SQL revision log (two
 * tables and a trigger per write) and its own wire client.  Neither is
 * given a shortcut the other lacks.
 *
 * `assign` makes every member of the dqlite cluster reached through ADDR...
 * a voter (wire protocol ASSIGN), waiting until all listed addresses are
 * voters: mkd joiners ADD themselves as spares and role placement is not
 * the joiner's job.
 */
#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../core/base/err.h"
#include "../core/store/dq_client.h"
#include "../core/store/store.h"

#define VALUE_LEN 1024
#define KEYS_PER_CLIENT 100
#define MAX_CLIENTS 256
#define MAX_ENDPOINTS 16
/* A client gives up after this many failed operations. */
#define MAX_ERRORS 100

enum system { SYS_MK, SYS_ETCD };

struct bench {
	enum system sys;
	int clients;
	const char *tag;
	struct store *store; /* mk */
	char url[256];       /* etcd: the leader's .../v3/kv/put */
	char value[VALUE_LEN];
	char *value_b64;
	/* CLOCK_MONOTONIC ns; written by main between the two barriers. */
	int64_t t_warm, t_end;
	pthread_barrier_t ready, go;
};

struct client {
	struct bench *b;
	int idx;
	pthread_t thread;
	bool started;
	uint32_t *lat_us; /* latencies of the measured operations */
	size_t n, cap;
	int errors;
	char first_error[256];
	/* etcd */
	CURL *curl;
	struct curl_slist *headers;
	char resp[4096];
	size_t resp_len;
};

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* Standard base64 with padding; `out` holds 4 * ceil(n / 3) + 1 bytes. */
static void base64(const unsigned char *in, size_t n, char *out)
{
	static const char tbl[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i, o = 0;
	for (i = 0; i + 2 < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		out[o++] = tbl[v >> 18 & 63];
		out[o++] = tbl[v >> 12 & 63];
		out[o++] = tbl[v >> 6 & 63];
		out[o++] = tbl[v & 63];
	}
	if (i < n) {
		uint32_t v = (uint32_t)in[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)in[i + 1] << 8;
		out[o++] = tbl[v >> 18 & 63];
		out[o++] = tbl[v >> 12 & 63];
		out[o++] = i + 1 < n ? tbl[v >> 6 & 63] : '=';
		out[o++] = '=';
	}
	out[o] = '\0';
}

static size_t b64_size(size_t n)
{
	return (n + 2) / 3 * 4 + 1;
}

/* Splits a comma-separated list in place. */
static size_t split_list(char *s, char **out, size_t max)
{
	size_t n = 0;
	char *save = NULL;
	for (char *tok = strtok_r(s, ",", &save); tok && n < max;
	     tok = strtok_r(NULL, ",", &save))
		out[n++] = tok;
	return n;
}

/* ---- etcd over the JSON gateway ---- */

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct client *c = arg;
	size_t len = size * nmemb;
	size_t room = sizeof c->resp - 1 - c->resp_len;
	size_t take = len < room ? len : room;
	memcpy(c->resp + c->resp_len, data, take);
	c->resp_len += take;
	c->resp[c->resp_len] = '\0';
	return len;
}

static int etcd_setup(struct client *c)
{
	if ((c->curl = curl_easy_init()) == NULL)
		return -1;
	/* No "Expect: 100-continue" round trip for the ~1.4 KB body. */
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
	if (h == NULL)
		return -1;
	c->headers = h;
	if ((h = curl_slist_append(c->headers, "Expect:")) == NULL)
		return -1;
	c->headers = h;
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, c->headers);
	curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, c);
	curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c->curl, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(c->curl, CURLOPT_TIMEOUT_MS, 15000L);
	curl_easy_setopt(c->curl, CURLOPT_NOPROXY, "*");
	return 0;
}

/* POSTs `body` to `url` on the client's handle; 0 with c->resp on 200. */
static int etcd_post(struct client *c, const char *url, const char *body)
{
	c->resp_len = 0;
	c->resp[0] = '\0';
	curl_easy_setopt(c->curl, CURLOPT_URL, url);
	curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, body);
	CURLcode rc = curl_easy_perform(c->curl);
	if (rc != CURLE_OK) {
		snprintf(c->first_error, sizeof c->first_error, "%s: %s", url,
			 curl_easy_strerror(rc));
		return -1;
	}
	long code = 0;
	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &code);
	if (code != 200 || strstr(c->resp, "\"header\"") == NULL) {
		snprintf(c->first_error, sizeof c->first_error, "%s: HTTP %ld: %.150s", url,
			 code, c->resp);
		return -1;
	}
	return 0;
}

static int etcd_put(struct client *c, const char *key)
{
	char kb[b64_size(64)];
	char body[64 + b64_size(64) + b64_size(VALUE_LEN)];
	base64((const unsigned char *)key, strlen(key), kb);
	snprintf(body, sizeof body, "{\"key\":\"%s\",\"value\":\"%s\"}", kb, c->b->value_b64);
	return etcd_post(c, c->b->url, body);
}

/* Copies the string value of "name":"..." in a flat JSON text. */
static bool json_string(const char *json, const char *name, char *out, size_t len)
{
	char pat[64];
	snprintf(pat, sizeof pat, "\"%s\":\"", name);
	const char *p = strstr(json, pat);
	if (p == NULL)
		return false;
	p += strlen(pat);
	const char *e = strchr(p, '"');
	if (e == NULL || (size_t)(e - p) >= len)
		return false;
	memcpy(out, p, (size_t)(e - p));
	out[e - p] = '\0';
	return true;
}

/* Finds the endpoint whose member id is the leader's (maintenance/status),
 * waiting up to 20 s for an election. */
static int etcd_find_leader(char **urls, size_t n, char *out, size_t len)
{
	struct client probe = {0};
	int rv = -1;
	if (etcd_setup(&probe) != 0) {
		fprintf(stderr, "store-bench: cannot set up libcurl\n");
		goto out;
	}
	int64_t deadline = now_ns() + 20 * 1000000000LL;
	do {
		for (size_t i = 0; i < n; i++) {
			char url[300], member[32], leader[32];
			snprintf(url, sizeof url, "%s/v3/maintenance/status", urls[i]);
			if (etcd_post(&probe, url, "{}") != 0)
				continue;
			if (json_string(probe.resp, "member_id", member, sizeof member) &&
			    json_string(probe.resp, "leader", leader, sizeof leader) &&
			    strcmp(member, leader) == 0) {
				snprintf(out, len, "%s/v3/kv/put", urls[i]);
				rv = 0;
				goto out;
			}
		}
		sleep_ms(100);
	} while (now_ns() < deadline);
	fprintf(stderr, "store-bench: no etcd leader among the endpoints (%s)\n",
		probe.first_error[0] ? probe.first_error : "no answer");
out:
	curl_slist_free_all(probe.headers);
	if (probe.curl)
		curl_easy_cleanup(probe.curl);
	return rv;
}

/* ---- mk ---- */

static int mk_put(struct client *c, const char *key, uint64_t i)
{
	struct bench *b = c->b;
	int rv;
	if (i < KEYS_PER_CLIENT) {
		rv = store_create(b->store, key, b->value, VALUE_LEN, 0, NULL);
		if (rv != MK_EEXISTS)
			goto out;
		/* Left over from an earlier run on the same cluster. */
	}
	rv = store_update(b->store, key, b->value, VALUE_LEN, 0, 0, NULL);
out:
	if (rv != MK_OK)
		snprintf(c->first_error, sizeof c->first_error, "%s: %s", key,
			 store_last_error());
	return rv == MK_OK ? 0 : -1;
}

/* ---- the run ---- */

static int record(struct client *c, uint32_t us)
{
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 4096;
		uint32_t *p = realloc(c->lat_us, cap * sizeof *p);
		if (p == NULL)
			return -1;
		c->lat_us = p;
		c->cap = cap;
	}
	c->lat_us[c->n++] = us;
	return 0;
}

static void *client_main(void *arg)
{
	struct client *c = arg;
	struct bench *b = c->b;
	bool ok = b->sys == SYS_MK || etcd_setup(c) == 0;
	if (!ok)
		snprintf(c->first_error, sizeof c->first_error, "cannot set up libcurl");
	pthread_barrier_wait(&b->ready);
	pthread_barrier_wait(&b->go);
	if (!ok) {
		c->errors = MAX_ERRORS;
		return NULL;
	}
	char key[128];
	for (uint64_t i = 0;; i++) {
		int64_t t0 = now_ns();
		if (t0 >= b->t_end)
			break;
		snprintf(key, sizeof key, "bench/%s/%d/%" PRIu64, b->tag, c->idx,
			 i % KEYS_PER_CLIENT);
		int rv = b->sys == SYS_MK ? mk_put(c, key, i) : etcd_put(c, key);
		int64_t t1 = now_ns();
		if (rv != 0) {
			if (++c->errors >= MAX_ERRORS)
				break;
			continue;
		}
		if (t1 > b->t_warm && t1 <= b->t_end &&
		    record(c, (uint32_t)((t1 - t0 + 500) / 1000)) != 0) {
			snprintf(c->first_error, sizeof c->first_error, "out of memory");
			c->errors = MAX_ERRORS;
			break;
		}
	}
	return NULL;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted v[0..n). */
static double percentile_ms(const uint32_t *v, size_t n, double p)
{
	size_t rank = (size_t)(p * (double)n + 0.999999);
	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return v[rank - 1] / 1000.0;
}

static int run_put(struct bench *b, double seconds, double warmup)
{
	struct client *cl = calloc((size_t)b->clients, sizeof *cl);
	uint32_t *all = NULL;
	int rv = 1, started = 0;
	bool barriers = false;
	if (cl == NULL)
		goto out;
	if (pthread_barrier_init(&b->ready, NULL, (unsigned)b->clients + 1) != 0)
		goto out;
	if (pthread_barrier_init(&b->go, NULL, (unsigned)b->clients + 1) != 0) {
		pthread_barrier_destroy(&b->ready);
		goto out;
	}
	barriers = true;
	for (int i = 0; i < b->clients; i++) {
		cl[i].b = b;
		cl[i].idx = i;
		if (pthread_create(&cl[i].thread, NULL, client_main, &cl[i]) != 0) {
			fprintf(stderr, "store-bench: cannot start client threads\n");
			/* The barriers need every party: fail hard. */
			exit(1);
		}
		cl[i].started = true;
		started++;
	}
	pthread_barrier_wait(&b->ready);
	int64_t t0 = now_ns();
	b->t_warm = t0 + (int64_t)(warmup * 1e9);
	b->t_end = b->t_warm + (int64_t)(seconds * 1e9);
	pthread_barrier_wait(&b->go);

	size_t total = 0;
	int errors = 0;
	const char *first_error = NULL;
	for (int i = 0; i < started; i++) {
		pthread_join(cl[i].thread, NULL);
		total += cl[i].n;
		errors += cl[i].errors;
		if (first_error == NULL && cl[i].first_error[0])
			first_error = cl[i].first_error;
	}
	if (first_error)
		fprintf(stderr, "store-bench: %d failed operations, first: %s\n", errors,
			first_error);
	if (total == 0) {
		fprintf(stderr, "store-bench: no operation completed\n");
		goto out;
	}
	if ((all = malloc(total * sizeof *all)) == NULL)
		goto out;
	size_t k = 0;
	for (int i = 0; i < started; i++) {
		memcpy(all + k, cl[i].lat_us, cl[i].n * sizeof *all);
		k += cl[i].n;
	}
	qsort(all, total, sizeof *all, cmp_u32);
	printf("ops=%.1f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f n=%zu errors=%d\n",
	       (double)total / seconds, percentile_ms(all, total, 0.50),
	       percentile_ms(all, total, 0.90), percentile_ms(all, total, 0.99),
	       all[total - 1] / 1000.0, total, errors);
	fflush(stdout);
	rv = 0;
out:
	free(all);
	for (int i = 0; cl && i < b->clients; i++) {
		free(cl[i].lat_us);
		curl_slist_free_all(cl[i].headers);
		if (cl[i].curl)
			curl_easy_cleanup(cl[i].curl);
	}
	if (barriers) {
		pthread_barrier_destroy(&b->ready);
		pthread_barrier_destroy(&b->go);
	}
	free(cl);
	return rv;
}

static int parse_num(const char *flag, const char *s, double lo, double hi, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || *s == '\0' || *end || v < lo || v > hi) {
		fprintf(stderr, "store-bench: %s wants a number from %g to %g, got \"%s\"\n",
			flag, lo, hi, s);
		return -1;
	}
	*out = v;
	return 0;
}

static int cmd_put(int argc, char **argv)
{
	enum { O_MK = 1, O_ETCD, O_CLIENTS, O_SECONDS, O_WARMUP, O_TAG };
	static const struct option longs[] = {
		{"mk", required_argument, NULL, O_MK},
		{"etcd", required_argument, NULL, O_ETCD},
		{"clients", required_argument, NULL, O_CLIENTS},
		{"seconds", required_argument, NULL, O_SECONDS},
		{"warmup", required_argument, NULL, O_WARMUP},
		{"tag", required_argument, NULL, O_TAG},
		{NULL, 0, NULL, 0},
	};
	struct bench *b = calloc(1, sizeof *b);
	char *list = NULL, *eps[MAX_ENDPOINTS];
	char tag[32];
	double clients = 1, seconds = 3, warmup = 1;
	int have = 0, rv = 2, c;
	if (b == NULL)
		return 1;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
		switch (c) {
		case O_MK:
		case O_ETCD:
			b->sys = c == O_MK ? SYS_MK : SYS_ETCD;
			free(list);
			list = strdup(optarg);
			have++;
			break;
		case O_CLIENTS:
			if (parse_num("--clients", optarg, 1, MAX_CLIENTS, &clients) != 0)
				goto out;
			break;
		case O_SECONDS:
			if (parse_num("--seconds", optarg, 0.1, 3600, &seconds) != 0)
				goto out;
			break;
		case O_WARMUP:
			if (parse_num("--warmup", optarg, 0, 3600, &warmup) != 0)
				goto out;
			break;
		case O_TAG:
			b->tag = optarg;
			break;
		default:
			fprintf(stderr, "store-bench put: bad option %s\n", argv[optind - 1]);
			goto out;
		}
	}
	if (have != 1 || list == NULL || optind < argc) {
		fprintf(stderr, "store-bench put: give exactly one of --mk or --etcd\n");
		goto out;
	}
	b->clients = (int)clients;
	if (b->tag == NULL) {
		snprintf(tag, sizeof tag, "c%d", b->clients);
		b->tag = tag;
	}
	size_t n = split_list(list, eps, MAX_ENDPOINTS);
	if (n == 0) {
		fprintf(stderr, "store-bench put: empty endpoint list\n");
		goto out;
	}
	/* Incompressible-looking but reproducible value bytes. */
	uint32_t x = 2463534242u;
	for (size_t i = 0; i < VALUE_LEN; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		b->value[i] = (char)x;
	}
	rv = 1;
	if (b->sys == SYS_MK) {
		struct store_config cfg = {.members = (const char *const *)eps, .n_members = n};
		if (store_open(&cfg, &b->store) != MK_OK) {
			fprintf(stderr, "store-bench: store_open: %s\n", store_last_error());
			goto out;
		}
	} else {
		if ((b->value_b64 = malloc(b64_size(VALUE_LEN))) == NULL)
			goto out;
		base64((const unsigned char *)b->value, VALUE_LEN, b->value_b64);
		if (etcd_find_leader(eps, n, b->url, sizeof b->url) != 0)
			goto out;
	}
	rv = run_put(b, seconds, warmup);
out:
	store_close(b->store);
	free(b->value_b64);
	free(list);
	free(b);
	return rv;
}

/* ---- assign ---- */

static int cmd_assign(int argc, char **argv)
{
	const char **members = (const char **)argv + 1;
	size_t n = (size_t)argc - 1;
	struct dq_client *c = NULL;
	int rv = 1;
	if (n == 0) {
		fprintf(stderr, "usage: store-bench assign ADDR...\n");
		return 2;
	}
	struct dq_client_config cc = {.members = members, .n_members = n};
	if (dq_client_open(&cc, &c) != MK_OK) {
		fprintf(stderr, "store-bench: out of memory\n");
		return 1;
	}
	char last[256] = "";
	int64_t deadline = now_ns() + 30 * 1000000000LL;
	while (now_ns() < deadline) {
		struct dq_server *servers = NULL;
		size_t ns = 0, voters = 0;
		if (dq_cluster(c, &servers, &ns) != MK_OK) {
			snprintf(last, sizeof last, "CLUSTER: %s", dq_client_errmsg(c));
			goto retry;
		}
		for (size_t i = 0; i < n; i++) {
			size_t j;
			for (j = 0; j < ns; j++)
				if (strcmp(servers[j].address, members[i]) == 0)
					break;
			if (j == ns) {
				snprintf(last, sizeof last, "%s is not a member yet", members[i]);
				continue;
			}
			if (servers[j].role == DQ_VOTER) {
				voters++;
				continue;
			}
			if (dq_assign(c, servers[j].id, DQ_VOTER) != MK_OK) {
				snprintf(last, sizeof last, "ASSIGN %s: %s", members[i],
					 dq_client_errmsg(c));
				break; /* one configuration change at a time */
			}
		}
		free(servers);
		if (voters == n) {
			rv = 0;
			goto out;
		}
retry:
		sleep_ms(200);
	}
	fprintf(stderr, "store-bench: not every member became a voter within 30 s (%s)\n",
		last);
out:
	dq_client_close(c);
	return rv;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: store-bench put --mk ADDR[,ADDR...] | --etcd URL[,URL...]\n"
		   "                       [--clients N] [--seconds S] [--warmup S] [--tag T]\n"
		   "       store-bench assign ADDR...\n");
}

int main(int argc, char **argv)
{
	/* The dqlite client writes to sockets a peer may close. */
	signal(SIGPIPE, SIG_IGN);
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "assign") == 0)
		return cmd_assign(argc - 1, argv + 1);
	if (strcmp(argv[1], "put") == 0) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
			fprintf(stderr, "store-bench: cannot initialise libcurl\n");
			return 1;
		}
		int rv = cmd_put(argc - 1, argv + 1);
		curl_global_cleanup();
		return rv;
	}
	if (strcmp(argv[1], "--help") == 0) {
		usage(stdout);
		return 0;
	}
	usage(stderr);
	return 2;
}
