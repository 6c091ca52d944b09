/*
 * Kubernetes API client over libcurl (client.h).
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "../base/buf.h"
#include "../base/err.h"
#include "client.h"

/* Objects the agent reads are small; a list of every pod of a big cluster
 * is not, but nothing the agent asks for comes near this. */
#define REPLY_MAX (64u << 20)
#define POOL_MAX 8

struct kube_client {
	char *server, *ca, *cert, *key, *agent;
	long timeout_ms;
	pthread_mutex_t lock;
	CURL *pool[POOL_MAX];
	int n_pool;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

int kube_client_new(const struct kube_client_config *cfg, struct kube_client **out, char *errmsg,
		    size_t len)
{
	pthread_once(&curl_once, curl_init_once);
	struct kube_client *c = calloc(1, sizeof *c);
	if (c == NULL)
		goto oom;
	c->server = strdup(cfg->server);
	c->ca = strdup(cfg->ca_file);
	c->cert = strdup(cfg->cert_file);
	c->key = strdup(cfg->key_file);
	c->agent = strdup(cfg->user_agent ? cfg->user_agent : "mk");
	c->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : 30000;
	if (!c->server || !c->ca || !c->cert || !c->key || !c->agent)
		goto oom;
	pthread_mutex_init(&c->lock, NULL);
	*out = c;
	return MK_OK;
oom:
	kube_client_free(c);
	snprintf(errmsg, len, "out of memory");
	return MK_ENOMEM;
}

void kube_client_free(struct kube_client *c)
{
	if (c == NULL)
		return;
	for (int i = 0; i < c->n_pool; i++)
		curl_easy_cleanup(c->pool[i]);
	free(c->server);
	free(c->ca);
	free(c->cert);
	free(c->key);
	free(c->agent);
	free(c);
}

static CURL *borrow(struct kube_client *c)
{
	CURL *h = NULL;

	pthread_mutex_lock(&c->lock);
	if (c->n_pool > 0)
		h = c->pool[--c->n_pool];
	pthread_mutex_unlock(&c->lock);
	if (h == NULL)
		h = curl_easy_init();
	else
		curl_easy_reset(h);
	if (h == NULL)
		return NULL;
	curl_easy_setopt(h, CURLOPT_CAINFO, c->ca);
	curl_easy_setopt(h, CURLOPT_SSLCERT, c->cert);
	curl_easy_setopt(h, CURLOPT_SSLKEY, c->key);
	curl_easy_setopt(h, CURLOPT_USERAGENT, c->agent);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(h, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
	return h;
}

static void give_back(struct kube_client *c, CURL *h)
{
	pthread_mutex_lock(&c->lock);
	if (c->n_pool < POOL_MAX) {
		c->pool[c->n_pool++] = h;
		h = NULL;
	}
	pthread_mutex_unlock(&c->lock);
	if (h != NULL)
		curl_easy_cleanup(h);
}

struct sink {
	struct mk_buf b;
};

static size_t collect(char *p, size_t size, size_t n, void *arg)
{
	struct sink *s = arg;

	if (s->b.len + size * n > REPLY_MAX)
		return 0;
	return mk_buf_append(&s->b, p, size * n) == MK_OK ? size * n : 0;
}

static int code_for_status(long status)
{
	if (status >= 200 && status < 300)
		return MK_OK;
	if (status == 404)
		return MK_ENOTFOUND;
	if (status == 409)
		return MK_ECONFLICT;
	if (status >= 400 && status < 500)
		return MK_EINVAL;
	return MK_EIO;
}

/* The Status message of an error reply, else the HTTP status. */
static void status_message(long status, const struct mk_buf *b, char *errmsg, size_t len)
{
	json_t *j = b->len ? json_loadb((const char *)b->data, b->len, 0, NULL) : NULL;
	const char *m = json_string_value(json_object_get(j, "message"));

	if (m != NULL)
		snprintf(errmsg, len, "%s", m);
	else
		snprintf(errmsg, len, "HTTP %ld", status);
	json_decref(j);
}

int kube_request(struct kube_client *c, const char *method, const char *path,
		 const char *content_type, const json_t *body, json_t **out, long *status_out,
		 char *errmsg, size_t len)
{
	char url[4096], ctype[128];
	struct sink s = { MK_BUF_INIT };
	struct curl_slist *hdr = NULL;
	char *payload = NULL;
	long status = 0;
	int rv;

	if (out != NULL)
		*out = NULL;
	CURL *h = borrow(c);
	if (h == NULL) {
		snprintf(errmsg, len, "out of memory");
		return MK_ENOMEM;
	}
	snprintf(url, sizeof url, "%s%s", c->server, path);
	snprintf(ctype, sizeof ctype, "Content-Type: %s",
		 content_type ? content_type : "application/json");
	hdr = curl_slist_append(hdr, "Accept: application/json");
	if (body != NULL) {
		payload = json_dumps(body, JSON_COMPACT);
		hdr = curl_slist_append(hdr, ctype);
		if (payload == NULL || hdr == NULL) {
			rv = MK_ENOMEM;
			snprintf(errmsg, len, "out of memory");
			goto out;
		}
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, payload);
	}
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	if (strcmp(method, "GET") == 0)
		curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, c->timeout_ms);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &s);
	CURLcode cc = curl_easy_perform(h);
	if (cc != CURLE_OK) {
		snprintf(errmsg, len, "%s %s: %s", method, path, curl_easy_strerror(cc));
		rv = MK_EUNAVAILABLE;
		goto out;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	rv = code_for_status(status);
	if (rv != MK_OK) {
		status_message(status, &s.b, errmsg, len);
		goto out;
	}
	if (out != NULL && s.b.len > 0) {
		json_error_t je;
		*out = json_loadb((const char *)s.b.data, s.b.len, 0, &je);
		if (*out == NULL) {
			snprintf(errmsg, len, "%s %s: unreadable reply: %s", method, path, je.text);
			rv = MK_EIO;
		}
	}
out:
	if (status_out != NULL)
		*status_out = status;
	curl_slist_free_all(hdr);
	free(payload);
	mk_buf_free(&s.b);
	give_back(c, h);
	return rv;
}

int kube_get(struct kube_client *c, const char *path, json_t **out, char *errmsg, size_t len)
{
	return kube_request(c, "GET", path, NULL, NULL, out, NULL, errmsg, len);
}

int kube_create(struct kube_client *c, const char *path, const json_t *obj, json_t **out,
		char *errmsg, size_t len)
{
	return kube_request(c, "POST", path, NULL, obj, out, NULL, errmsg, len);
}

int kube_merge_patch(struct kube_client *c, const char *path, const json_t *patch, json_t **out,
		     char *errmsg, size_t len)
{
	return kube_request(c, "PATCH", path, "application/merge-patch+json", patch, out, NULL,
			    errmsg, len);
}

int kube_escape(const char *in, char *out, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	for (const unsigned char *p = (const unsigned char *)in; *p; p++) {
		bool plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			     (*p >= '0' && *p <= '9') || strchr("-._~", *p) != NULL;
		if (o + (plain ? 1 : 3) >= len)
			return MK_ETOOBIG;
		if (plain) {
			out[o++] = (char)*p;
		} else {
			out[o++] = '%';
			out[o++] = hex[*p >> 4];
			out[o++] = hex[*p & 15];
		}
	}
	if (o >= len)
		return MK_ETOOBIG;
	out[o] = '\0';
	return MK_OK;
}

struct line_sink {
	struct mk_buf b;
	int (*on_line)(void *arg, const char *line, size_t n);
	void *arg;
	bool stopped;
};

static size_t split_lines(char *p, size_t size, size_t n, void *arg)
{
	struct line_sink *s = arg;
	size_t total = size * n;

	if (mk_buf_append(&s->b, p, total) != MK_OK || s->b.len > REPLY_MAX)
		return 0;
	size_t start = 0;
	for (size_t i = 0; i < s->b.len; i++) {
		if (s->b.data[i] != '\n')
			continue;
		if (i > start && s->on_line(s->arg, (const char *)s->b.data + start, i - start)) {
			s->stopped = true;
			return 0;
		}
		start = i + 1;
	}
	memmove(s->b.data, s->b.data + start, s->b.len - start);
	s->b.len -= start;
	return total;
}

static int check_stop(void *arg, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
	const volatile int *stop = arg;

	return stop != NULL && *stop;
}

int kube_stream(struct kube_client *c, const char *path,
		int (*on_line)(void *arg, const char *line, size_t n), void *arg,
		const volatile int *stop, long *status_out, char *errmsg, size_t len)
{
	char url[4096];
	struct line_sink s = { MK_BUF_INIT, on_line, arg, false };
	struct curl_slist *hdr = curl_slist_append(NULL, "Accept: application/json");
	long status = 0;
	int rv;

	CURL *h = borrow(c);
	if (h == NULL || hdr == NULL) {
		curl_slist_free_all(hdr);
		if (h != NULL)
			give_back(c, h);
		snprintf(errmsg, len, "out of memory");
		return MK_ENOMEM;
	}
	snprintf(url, sizeof url, "%s%s", c->server, path);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, split_lines);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &s);
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, check_stop);
	curl_easy_setopt(h, CURLOPT_XFERINFODATA, (void *)stop);
	CURLcode cc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	if (s.stopped || (stop != NULL && *stop)) {
		rv = MK_OK;
	} else if (cc != CURLE_OK) {
		snprintf(errmsg, len, "watch %s: %s", path, curl_easy_strerror(cc));
		rv = MK_EUNAVAILABLE;
	} else {
		rv = code_for_status(status);
		if (rv != MK_OK)
			status_message(status, &s.b, errmsg, len);
	}
	if (status_out != NULL)
		*status_out = status;
	curl_slist_free_all(hdr);
	mk_buf_free(&s.b);
	/* A handle whose transfer was cut short carries a half-read
	 * connection: never hand it to the next request. */
	if (s.stopped || cc != CURLE_OK)
		curl_easy_cleanup(h);
	else
		give_back(c, h);
	return rv;
}
