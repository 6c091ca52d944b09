/*
 * Startup, liveness and readiness probes (exec, httpGet, tcpSocket), run
 * by the pod's worker when they are due, with kubelet's timing and
 * thresholds: nothing before initialDelaySeconds, then every
 * periodSeconds; failureThreshold failures in a row fail the probe,
 * successThreshold successes pass it.  Liveness and readiness wait for the
 * startup probe.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <curl/curl.h>

#include "../base/err.h"
#include "node_internal.h"

enum probe_kind { PROBE_STARTUP, PROBE_LIVENESS, PROBE_READINESS };

static const char *const probe_field[] = { "startupProbe", "livenessProbe", "readinessProbe" };
static const char *const probe_word[] = { "Startup", "Liveness", "Readiness" };

void probes_reset(struct ctr *c)
{
	memset(&c->startup, 0, sizeof c->startup);
	memset(&c->liveness, 0, sizeof c->liveness);
	memset(&c->readiness, 0, sizeof c->readiness);
	c->started = jo(c->spec, "startupProbe") == NULL;
	/* Without a readiness probe a started container is ready at once: the
	 * first status already says so (one write, not two). */
	c->ready = c->started && jo(c->spec, "readinessProbe") == NULL;
}

/* A named port ("http") is looked up in the container's ports. */
static int port_of(json_t *container, json_t *port)
{
	if (json_is_integer(port))
		return (int)json_integer_value(port);
	const char *name = json_string_value(port);
	size_t i;
	json_t *p;

	if (name == NULL)
		return -1;
	char *end;
	long v = strtol(name, &end, 10);
	if (*end == '\0' && name[0])
		return (int)v;
	json_array_foreach(jo(container, "ports"), i, p)
		if (js(p, "name") && strcmp(js(p, "name"), name) == 0)
			return (int)ji(p, "containerPort", -1);
	return -1;
}

static size_t discard(char *p, size_t s, size_t n, void *arg)
{
	return s * n;
}

static bool probe_http(struct pod_worker *w, struct ctr *c, json_t *h, int timeout_s, char *msg,
		       size_t len)
{
	int port = port_of(c->spec, jo(h, "port"));
	const char *host = js(h, "host") ? js(h, "host") : w->pod_ip;
	const char *path = js(h, "path") ? js(h, "path") : "/";
	const char *scheme = js(h, "scheme");
	bool https = scheme != NULL && strcasecmp(scheme, "HTTPS") == 0;
	char url[1024];
	struct curl_slist *hdr = NULL;
	size_t i;
	json_t *x;

	if (port <= 0) {
		snprintf(msg, len, "invalid port");
		return false;
	}
	snprintf(url, sizeof url, "%s://%s:%d%s%s", https ? "https" : "http", host, port,
		 path[0] == '/' ? "" : "/", path);
	CURL *e = curl_easy_init();
	if (e == NULL) {
		snprintf(msg, len, "out of memory");
		return false;
	}
	json_array_foreach(jo(h, "httpHeaders"), i, x) {
		char line[1024];
		snprintf(line, sizeof line, "%s: %s", js(x, "name") ?: "", js(x, "value") ?: "");
		hdr = curl_slist_append(hdr, line);
	}
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "kube-probe/1.32");
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)timeout_s * 1000);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	/* kubelet does not verify probe certificates either. */
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
	CURLcode rc = curl_easy_perform(e);
	long status = 0;
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(e);
	curl_slist_free_all(hdr);
	if (rc != CURLE_OK) {
		snprintf(msg, len, "Get \"%s\": %s", url, curl_easy_strerror(rc));
		return false;
	}
	if (status < 200 || status >= 400) {
		snprintf(msg, len, "HTTP probe failed with statuscode: %ld", status);
		return false;
	}
	return true;
}

static bool probe_tcp(struct pod_worker *w, struct ctr *c, json_t *t, int timeout_s, char *msg,
		      size_t len)
{
	int port = port_of(c->spec, jo(t, "port"));
	const char *host = js(t, "host") ? js(t, "host") : w->pod_ip;
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai = NULL;
	char ports[16];
	bool ok = false;

	snprintf(ports, sizeof ports, "%d", port);
	if (port <= 0 || getaddrinfo(host, ports, &hints, &ai) != 0 || ai == NULL) {
		snprintf(msg, len, "dial tcp %s:%d: invalid address", host, port);
		return false;
	}
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd >= 0 && (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 || errno == EINPROGRESS)) {
		struct pollfd pf = { .fd = fd, .events = POLLOUT };
		int err = 0;
		socklen_t el = sizeof err;
		if (poll(&pf, 1, timeout_s * 1000) == 1 &&
		    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) == 0 && err == 0)
			ok = true;
		else
			snprintf(msg, len, "dial tcp %s:%d: %s", host, port,
				 err ? strerror(err) : "i/o timeout");
	} else {
		snprintf(msg, len, "dial tcp %s:%d: %s", host, port, strerror(errno));
	}
	if (fd >= 0)
		close(fd);
	freeaddrinfo(ai);
	return ok;
}

static bool probe_exec(struct pod_worker *w, struct ctr *c, json_t *e, int timeout_s, char *msg,
		       size_t len)
{
	struct node_agent *a = w->agent;
	json_t *cmd = jo(e, "command");
	size_t n = json_array_size(cmd), i;
	json_t *v;

	if (n == 0 || n > 200) {
		snprintf(msg, len, "exec probe has no command");
		return false;
	}
	char **argv = calloc(n + 6, sizeof *argv);
	if (argv == NULL)
		return false;
	argv[0] = (char *)a->cfg.runtime;
	argv[1] = "--root";
	argv[2] = a->runc_root;
	argv[3] = "exec";
	argv[4] = c->id;
	json_array_foreach(cmd, i, v)
		argv[5 + i] = (char *)(json_string_value(v) ? json_string_value(v) : "");
	char out[1024];
	int st = node_run(argv, timeout_s * 1000, out, sizeof out);
	free(argv);
	if (st != 0) {
		out[strcspn(out, "\n")] = '\0';
		snprintf(msg, len, "%s%scommand exited %d", out, out[0] ? ": " : "", st);
		return false;
	}
	return true;
}

static bool probe_once(struct pod_worker *w, struct ctr *c, json_t *p, char *msg, size_t len)
{
	int timeout = (int)ji(p, "timeoutSeconds", 1);

	if (timeout < 1)
		timeout = 1;
	if (jo(p, "exec"))
		return probe_exec(w, c, jo(p, "exec"), timeout, msg, len);
	if (jo(p, "httpGet"))
		return probe_http(w, c, jo(p, "httpGet"), timeout, msg, len);
	if (jo(p, "tcpSocket"))
		return probe_tcp(w, c, jo(p, "tcpSocket"), timeout, msg, len);
	snprintf(msg, len, "probe type not supported by mk");
	return false;
}

/* Runs probe k if due; returns true when its verdict changed. */
static bool run_kind(struct pod_worker *w, struct ctr *c, enum probe_kind k, int64_t now,
		     int64_t *next)
{
	json_t *p = jo(c->spec, probe_field[k]);
	struct probe_state *s = k == PROBE_STARTUP ? &c->startup :
				k == PROBE_LIVENESS ? &c->liveness : &c->readiness;
	char msg[1024] = "", fieldpath[300];

	if (p == NULL)
		return false;
	if (s->next_ms == 0)
		s->next_ms = c->running_since_ms + ji(p, "initialDelaySeconds", 0) * 1000;
	if (now < s->next_ms) {
		if (s->next_ms - now < *next)
			*next = s->next_ms - now;
		return false;
	}
	int64_t period = ji(p, "periodSeconds", 10) * 1000;
	bool ok = probe_once(w, c, p, msg, sizeof msg);
	s->next_ms = mk_monotonic_ms() + (period > 0 ? period : 10000);
	if (period < *next)
		*next = period;
	bool before = s->result;
	if (ok) {
		s->failures = 0;
		if (++s->successes >= ji(p, "successThreshold", 1))
			s->result = true;
	} else {
		s->successes = 0;
		snprintf(fieldpath, sizeof fieldpath, "spec.containers{%s}", c->name);
		pod_event(w, "Warning", "Unhealthy", fieldpath, "%s probe failed: %s",
			  probe_word[k], msg);
		if (++s->failures >= ji(p, "failureThreshold", 3))
			s->result = false;
	}
	return before != s->result || (!ok && s->failures >= ji(p, "failureThreshold", 3));
}

int64_t probes_run(struct pod_worker *w, struct ctr *c)
{
	int64_t now = mk_monotonic_ms(), next = INT64_MAX;
	int grace = (int)ji(jo(w->cur, "spec"), "terminationGracePeriodSeconds", 30);
	char why[512];

	if (c->phase != CTR_RUNNING || c->init)
		return next;
	if (!c->started) {
		if (run_kind(w, c, PROBE_STARTUP, now, &next)) {
			if (c->startup.result) {
				c->started = true;
			} else {
				snprintf(why, sizeof why,
					 "Container %s failed startup probe, will be restarted",
					 c->name);
				ctr_stop(w, c, grace, why);
				return 0;
			}
		}
		if (!c->started)
			return next;
	}
	if (run_kind(w, c, PROBE_LIVENESS, now, &next) && !c->liveness.result) {
		snprintf(why, sizeof why, "Container %s failed liveness probe, will be restarted",
			 c->name);
		ctr_stop(w, c, (int)ji(jo(c->spec, "livenessProbe"), "terminationGracePeriodSeconds",
				       grace), why);
		return 0;
	}
	if (jo(c->spec, "readinessProbe") == NULL) {
		c->ready = true;
	} else {
		run_kind(w, c, PROBE_READINESS, now, &next);
		c->ready = c->readiness.result;
	}
	return next;
}
