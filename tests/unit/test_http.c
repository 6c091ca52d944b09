/*
 * The HTTPS server of core/http on a real loop thread, driven by libcurl
 * and raw OpenSSL clients: keep-alive, chunked streams, limits, timeouts,
 * ALPN, client certificates and close callbacks.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <openssl/ssl.h>

#include "../../core/base/err.h"
#include "../../core/http/http.h"
#include "support.h"

struct fixture {
	char dir[256];
	char ca[300], cert[300], key[300], ccert[300], ckey[300], other_cert[300], other_key[300];
	int port;
	uv_loop_t loop;
	uv_async_t wake;
	pthread_t thread;
	struct http_server *server;
	/* What the handler saw (loop thread; read after requests finish). */
	char last_cn[64];
	bool last_verified, last_presented;
	int close_callbacks;
	int streams_started;
	bool stop;
};

static void count_close(void *arg)
{
	__atomic_add_fetch(&((struct fixture *)arg)->close_callbacks, 1, __ATOMIC_SEQ_CST);
}

static void handler(void *ctx, struct http_exchange *x)
{
	struct fixture *f = ctx;
	const struct http_request *r = http_exchange_request(x);
	f->last_presented = r->peer->cert_presented;
	f->last_verified = r->peer->cert_verified;
	snprintf(f->last_cn, sizeof f->last_cn, "%s", r->peer->cert_cn ? r->peer->cert_cn : "");
	if (strcmp(r->path, "/stream") == 0) {
		/* Three chunks, then the end. */
		http_stream_start(x, 200, "application/json", NULL, 0);
		http_stream_write(x, "{\"a\":1}\n", 8);
		http_stream_write(x, "{\"b\":2}\n", 8);
		http_stream_end(x);
		return;
	}
	if (strcmp(r->path, "/hang") == 0) {
		/* Never answers: only the client going away ends it. */
		f->streams_started++;
		http_stream_start(x, 200, "application/json", NULL, 0);
		http_exchange_on_close(x, count_close, f);
		return;
	}
	char body[256];
	int n = snprintf(body, sizeof body, "%s %s %zu", r->method, r->path, r->body_len);
	http_respond(x, 200, "text/plain", NULL, 0, body, (size_t)n);
}

static void on_wake(uv_async_t *a)
{
	struct fixture *f = a->data;
	if (f->stop) {
		http_server_stop(f->server, NULL, NULL);
		uv_close((uv_handle_t *)&f->wake, NULL);
	}
}

static void *loop_main(void *arg)
{
	struct fixture *f = arg;
	uv_run(&f->loop, UV_RUN_DEFAULT);
	return NULL;
}

static void make_certs(struct fixture *f)
{
	char cmd[4096];
	snprintf(cmd, sizeof cmd,
		 "cd %s && "
		 "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 "
		 "-keyout ca.key -out ca.crt -subj /CN=test-ca >/dev/null 2>&1 && "
		 "openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout server.key "
		 "-out s.csr -subj /CN=server >/dev/null 2>&1 && "
		 "printf 'subjectAltName=IP:127.0.0.1\\nextendedKeyUsage=serverAuth\\n' > s.ext && "
		 "openssl x509 -req -in s.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 1 "
		 "-out server.crt -extfile s.ext >/dev/null 2>&1 && "
		 "openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout client.key "
		 "-out c.csr -subj '/O=team/CN=alice' >/dev/null 2>&1 && "
		 "printf 'extendedKeyUsage=clientAuth\\n' > c.ext && "
		 "openssl x509 -req -in c.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 1 "
		 "-out client.crt -extfile c.ext >/dev/null 2>&1 && "
		 "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 "
		 "-keyout other.key -out other.crt -subj /CN=alice "
		 "-addext extendedKeyUsage=clientAuth >/dev/null 2>&1",
		 f->dir);
	assert_int_equal(system(cmd), 0);
	snprintf(f->ca, sizeof f->ca, "%s/ca.crt", f->dir);
	snprintf(f->cert, sizeof f->cert, "%s/server.crt", f->dir);
	snprintf(f->key, sizeof f->key, "%s/server.key", f->dir);
	snprintf(f->ccert, sizeof f->ccert, "%s/client.crt", f->dir);
	snprintf(f->ckey, sizeof f->ckey, "%s/client.key", f->dir);
	snprintf(f->other_cert, sizeof f->other_cert, "%s/other.crt", f->dir);
	snprintf(f->other_key, sizeof f->other_key, "%s/other.key", f->dir);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	snprintf(f->dir, sizeof f->dir, "/tmp/mk-test-http.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	make_certs(f);
	f->port = test_free_port();
	uv_loop_init(&f->loop);
	uv_async_init(&f->loop, &f->wake, on_wake);
	f->wake.data = f;
	struct http_server_config cfg;
	http_server_config_defaults(&cfg);
	cfg.bind_address = "127.0.0.1";
	cfg.port = f->port;
	cfg.cert_file = f->cert;
	cfg.key_file = f->key;
	cfg.client_ca_file = f->ca;
	cfg.max_body_bytes = 1000;
	cfg.max_header_bytes = 2000;
	cfg.header_timeout_ms = 300;
	cfg.handler = handler;
	cfg.handler_ctx = f;
	char err[256];
	assert_int_equal(http_server_start(&f->loop, &cfg, &f->server, err, sizeof err), MK_OK);
	pthread_create(&f->thread, NULL, loop_main, f);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	f->stop = true;
	uv_async_send(&f->wake);
	pthread_join(f->thread, NULL);
	uv_loop_close(&f->loop);
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

struct answer {
	char body[4096];
	size_t len;
	long code;
	long connects;
};

static size_t collect(char *p, size_t size, size_t n, void *arg)
{
	struct answer *a = arg;
	size_t len = size * n;
	if (a->len + len < sizeof a->body) {
		memcpy(a->body + a->len, p, len);
		a->len += len;
		a->body[a->len] = '\0';
	}
	return len;
}

/* One request; `cert` selects the client certificate (NULL: none). */
static CURLcode request(struct fixture *f, CURL *c, const char *path, const char *cert,
			const char *key, const char *body, size_t body_len, struct answer *a)
{
	char url[256];
	snprintf(url, sizeof url, "https://127.0.0.1:%d%s", f->port, path);
	memset(a, 0, sizeof *a);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CAINFO, f->ca);
	curl_easy_setopt(c, CURLOPT_SSLCERT, cert);
	curl_easy_setopt(c, CURLOPT_SSLKEY, key);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, a);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
	if (body != NULL) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)body_len);
	} else {
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	}
	CURLcode rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &a->code);
	curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &a->connects);
	return rc;
}

static void keep_alive_and_client_cert(void **state)
{
	struct fixture *f = *state;
	CURL *c = curl_easy_init();
	struct answer a;
	assert_int_equal(request(f, c, "/one", f->ccert, f->ckey, NULL, 0, &a), CURLE_OK);
	assert_int_equal(a.code, 200);
	assert_string_equal(a.body, "GET /one 0");
	assert_true(f->last_verified);
	assert_string_equal(f->last_cn, "alice");
	/* Same connection for the second request (keep-alive), with a body. */
	assert_int_equal(request(f, c, "/two%20x", f->ccert, f->ckey, "hello", 5, &a), CURLE_OK);
	assert_string_equal(a.body, "POST /two x 5");
	assert_int_equal(a.connects, 0);
	curl_easy_cleanup(c);
}

static void certificates_from_elsewhere_are_not_trusted(void **state)
{
	struct fixture *f = *state;
	CURL *c = curl_easy_init();
	struct answer a;
	/* The handshake succeeds (so the API can answer 401) but the peer is
	 * not verified. */
	assert_int_equal(request(f, c, "/x", f->other_cert, f->other_key, NULL, 0, &a), CURLE_OK);
	assert_int_equal(a.code, 200);
	assert_true(f->last_presented);
	assert_false(f->last_verified);
	assert_string_equal(f->last_cn, "");
	curl_easy_cleanup(c);
	c = curl_easy_init();
	assert_int_equal(request(f, c, "/x", NULL, NULL, NULL, 0, &a), CURLE_OK);
	assert_false(f->last_presented);
	curl_easy_cleanup(c);
}

static void chunked_stream(void **state)
{
	struct fixture *f = *state;
	CURL *c = curl_easy_init();
	struct answer a;
	assert_int_equal(request(f, c, "/stream", NULL, NULL, NULL, 0, &a), CURLE_OK);
	assert_int_equal(a.code, 200);
	assert_string_equal(a.body, "{\"a\":1}\n{\"b\":2}\n");
	/* The connection is still usable after the stream ended. */
	assert_int_equal(request(f, c, "/after", NULL, NULL, NULL, 0, &a), CURLE_OK);
	assert_string_equal(a.body, "GET /after 0");
	assert_int_equal(a.connects, 0);
	curl_easy_cleanup(c);
}

static void limits(void **state)
{
	struct fixture *f = *state;
	CURL *c = curl_easy_init();
	struct answer a;
	char big[2000];
	memset(big, 'x', sizeof big);
	assert_int_equal(request(f, c, "/big", NULL, NULL, big, sizeof big, &a), CURLE_OK);
	assert_int_equal(a.code, 413);
	struct curl_slist *h = NULL;
	char header[3000] = "X-Big: ";
	memset(header + 7, 'y', 2500);
	header[2507] = '\0';
	h = curl_slist_append(h, header);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	assert_int_equal(request(f, c, "/hdr", NULL, NULL, NULL, 0, &a), CURLE_OK);
	assert_int_equal(a.code, 431);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(h);
	/* The server still serves. */
	assert_int_equal(request(f, c, "/ok", NULL, NULL, NULL, 0, &a), CURLE_OK);
	assert_int_equal(a.code, 200);
	curl_easy_cleanup(c);
}

/* A raw TLS client offering `alpn`; returns the connected SSL, whose
 * BIO chain *bio_out owns the socket. */
static SSL *raw_client(struct fixture *f, SSL_CTX **ctx_out, BIO **bio_out,
		       const unsigned char *alpn, unsigned alpn_len)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	if (alpn)
		SSL_CTX_set_alpn_protos(ctx, alpn, alpn_len);
	BIO *bio = BIO_new_ssl_connect(ctx);
	char host[64];
	snprintf(host, sizeof host, "127.0.0.1:%d", f->port);
	BIO_set_conn_hostname(bio, host);
	assert_int_equal(BIO_do_connect(bio), 1);
	SSL *ssl;
	BIO_get_ssl(bio, &ssl);
	*ctx_out = ctx;
	*bio_out = bio;
	return ssl;
}

static void alpn_never_h2(void **state)
{
	struct fixture *f = *state;
	static const unsigned char both[] = "\x02h2\x08http/1.1";
	static const unsigned char h2[] = "\x02h2";
	SSL_CTX *ctx;
	BIO *bio;
	SSL *ssl = raw_client(f, &ctx, &bio, both, sizeof both - 1);
	const unsigned char *sel;
	unsigned len;
	SSL_get0_alpn_selected(ssl, &sel, &len);
	assert_int_equal(len, 8);
	assert_memory_equal(sel, "http/1.1", 8);
	BIO_free_all(bio);
	SSL_CTX_free(ctx);
	ssl = raw_client(f, &ctx, &bio, h2, sizeof h2 - 1);
	SSL_get0_alpn_selected(ssl, &sel, &len);
	assert_int_equal(len, 0);
	BIO_free_all(bio);
	SSL_CTX_free(ctx);
}

static void slow_client_is_cut_off(void **state)
{
	struct fixture *f = *state;
	SSL_CTX *ctx;
	BIO *bio;
	SSL *ssl = raw_client(f, &ctx, &bio, NULL, 0);
	const char partial[] = "GET / HTTP/1.1\r\nHost: x\r\n";
	assert_int_equal(SSL_write(ssl, partial, sizeof partial - 1), (int)sizeof partial - 1);
	int64_t t0 = test_now_ms();
	char buf[64];
	int n = SSL_read(ssl, buf, sizeof buf); /* blocks until the server closes */
	int64_t waited = test_now_ms() - t0;
	assert_true(n <= 0);
	assert_in_range(waited, 200, 3000);
	BIO_free_all(bio);
	SSL_CTX_free(ctx);
}

static void close_callback_when_client_leaves(void **state)
{
	struct fixture *f = *state;
	SSL_CTX *ctx;
	BIO *bio;
	SSL *ssl = raw_client(f, &ctx, &bio, NULL, 0);
	const char req[] = "GET /hang HTTP/1.1\r\nHost: x\r\n\r\n";
	SSL_write(ssl, req, sizeof req - 1);
	char buf[256];
	assert_true(SSL_read(ssl, buf, sizeof buf) > 0); /* the stream's head */
	BIO_free_all(bio);
	SSL_CTX_free(ctx);
	int64_t deadline = test_now_ms() + 3000;
	while (__atomic_load_n(&f->close_callbacks, __ATOMIC_SEQ_CST) == 0 &&
	       test_now_ms() < deadline)
		usleep(10000);
	assert_int_equal(f->close_callbacks, 1);
	assert_int_equal(f->streams_started, 1);
}

int main(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(keep_alive_and_client_cert, setup, teardown),
		cmocka_unit_test_setup_teardown(certificates_from_elsewhere_are_not_trusted, setup,
						teardown),
		cmocka_unit_test_setup_teardown(chunked_stream, setup, teardown),
		cmocka_unit_test_setup_teardown(limits, setup, teardown),
		cmocka_unit_test_setup_teardown(alpn_never_h2, setup, teardown),
		cmocka_unit_test_setup_teardown(slow_client_is_cut_off, setup, teardown),
		cmocka_unit_test_setup_teardown(close_callback_when_client_leaves, setup, teardown),
	};
	int rv = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return rv;
}
