/*
 * WebSocket (core/http/websocket*.c) and `kubectl exec` streaming
 * (core/api/pod_exec*.c).
 *
 * The frame reader and the handshake checks are tested as pure functions.
 * The rest runs the real HTTP server on a loop thread with a handler that
 * does what the API server does for a resource call: api_route(), then
 * api_pod_exec_take(); pods live in a real store on an in-process dqlite
 * node, and a fake node-agent hook turns the command into `sh -c ...`
 * (with a terminal: a python helper that speaks runc's console-socket
 * protocol).  Clients: a small WebSocket client written here (it can
 * break the protocol on purpose), python3-kubernetes' own WSClient, and
 * kubectl 1.32.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "../../core/api/api_internal.h"
#include "../../core/api/pod_exec.h"
#include "../../core/base/err.h"
#include "../../core/http/websocket.h"
#include "../../core/store/store.h"
#include "support.h"

/* ======================================================================
 * Frame reader (pure)
 * ==================================================================== */

/* Appends one client frame (masked with a fixed key) to `out`. */
static void put_frame(struct mk_buf *out, int op, bool fin, const void *data, size_t len,
		      bool masked)
{
	static const uint8_t key[4] = {0x37, 0xfa, 0x21, 0x3d};
	uint8_t hdr[WS_MAX_HEADER];
	size_t h = ws_frame_header(hdr, (enum ws_opcode)op, fin, len, masked ? key : NULL);
	assert_int_equal(mk_buf_append(out, hdr, h), MK_OK);
	size_t at = out->len;
	assert_int_equal(mk_buf_append(out, data, len), MK_OK);
	if (masked)
		ws_mask(out->data + at, len, key, 0);
}

/* Feeds `b` and expects exactly one event. */
static struct ws_event one_event(struct ws_reader *r, const struct mk_buf *b)
{
	struct ws_event ev;
	assert_int_equal(ws_reader_feed(r, b->data, b->len), MK_OK);
	assert_int_equal(ws_reader_next(r, &ev), 1);
	return ev;
}

/* Feeds `b` and expects the protocol error `code`. */
static void expect_error(size_t max, const struct mk_buf *b, int code)
{
	struct ws_reader r;
	struct ws_event ev;
	ws_reader_init(&r, max, true);
	assert_int_equal(ws_reader_feed(&r, b->data, b->len), MK_OK);
	int rv;
	while ((rv = ws_reader_next(&r, &ev)) == 1)
		;
	assert_int_equal(rv, MK_EPROTO);
	assert_int_equal(ws_reader_error(&r, NULL), code);
	assert_int_equal(ws_reader_next(&r, &ev), MK_EPROTO); /* and stays so */
	ws_reader_free(&r);
}

static void accept_key_rfc_example(void **state)
{
	(void)state;
	char out[29];
	assert_int_equal(ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", out), MK_OK);
	assert_string_equal(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

static void frames_masked_and_unmasked(void **state)
{
	(void)state;
	/* RFC 6455 §5.7: a masked "Hello". */
	static const uint8_t hello[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f,
					0x9f, 0x4d, 0x51, 0x58};
	struct ws_reader r;
	struct ws_event ev;
	ws_reader_init(&r, 0, true);
	assert_int_equal(ws_reader_feed(&r, hello, sizeof hello), MK_OK);
	assert_int_equal(ws_reader_next(&r, &ev), 1);
	assert_int_equal(ev.opcode, WS_OP_TEXT);
	assert_int_equal(ev.len, 5);
	assert_memory_equal(ev.data, "Hello", 5);
	assert_int_equal(ws_reader_next(&r, &ev), 0);
	ws_reader_free(&r);
	/* The same frame unmasked is a protocol error from a client. */
	struct mk_buf b = MK_BUF_INIT;
	put_frame(&b, WS_OP_TEXT, true, "Hello", 5, false);
	expect_error(0, &b, WS_CLOSE_PROTOCOL);
	/* ... and what a client reader expects. */
	ws_reader_init(&r, 0, false);
	ev = one_event(&r, &b);
	assert_memory_equal(ev.data, "Hello", 5);
	ws_reader_free(&r);
	mk_buf_free(&b);
}

static void fragments_with_control_frames_between(void **state)
{
	(void)state;
	struct mk_buf b = MK_BUF_INIT;
	put_frame(&b, WS_OP_BINARY, false, "\x01Hel", 4, true);
	put_frame(&b, WS_OP_PING, true, "p1", 2, true);
	put_frame(&b, WS_OP_CONT, false, "lo ", 3, true);
	put_frame(&b, WS_OP_PONG, true, "", 0, true);
	put_frame(&b, WS_OP_CONT, true, "world", 5, true);
	put_frame(&b, WS_OP_CLOSE, true, "\x03\xe8" "bye", 5, true);
	/* Byte by byte and all at once give the same events. */
	for (int pass = 0; pass < 2; pass++) {
		struct ws_reader r;
		struct ws_event ev;
		ws_reader_init(&r, 0, true);
		int seen = 0;
		for (size_t i = 0; i < b.len;) {
			size_t n = pass == 0 ? 1 : b.len;
			assert_int_equal(ws_reader_feed(&r, b.data + i, n), MK_OK);
			i += n;
			int rv;
			while ((rv = ws_reader_next(&r, &ev)) == 1) {
				switch (seen++) {
				case 0:
					assert_int_equal(ev.opcode, WS_OP_PING);
					assert_memory_equal(ev.data, "p1", 2);
					break;
				case 1:
					assert_int_equal(ev.opcode, WS_OP_PONG);
					assert_int_equal(ev.len, 0);
					break;
				case 2:
					assert_int_equal(ev.opcode, WS_OP_BINARY);
					assert_int_equal(ev.len, 12);
					assert_memory_equal(ev.data, "\x01Hello world", 12);
					break;
				case 3:
					assert_int_equal(ev.opcode, WS_OP_CLOSE);
					assert_int_equal(ev.code, 1000);
					assert_int_equal(ev.len, 3);
					assert_memory_equal(ev.data, "bye", 3);
					break;
				default:
					fail_msg("unexpected event");
				}
			}
			assert_int_equal(rv, 0);
		}
		assert_int_equal(seen, 4);
		ws_reader_free(&r);
	}
	mk_buf_free(&b);
}

static void lengths_16_and_64_bit(void **state)
{
	(void)state;
	size_t sizes[] = {125, 126, 65535, 65536, 300000};
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		uint8_t *data = malloc(sizes[i]);
		for (size_t k = 0; k < sizes[i]; k++)
			data[k] = (uint8_t)(k * 7 + i);
		struct mk_buf b = MK_BUF_INIT;
		put_frame(&b, WS_OP_BINARY, true, data, sizes[i], true);
		size_t hdr = sizes[i] < 126 ? 6 : sizes[i] <= 65535 ? 8 : 14;
		assert_int_equal(b.len, hdr + sizes[i]);
		struct ws_reader r;
		ws_reader_init(&r, 0, true);
		struct ws_event ev = one_event(&r, &b);
		assert_int_equal(ev.len, sizes[i]);
		assert_memory_equal(ev.data, data, sizes[i]);
		ws_reader_free(&r);
		mk_buf_free(&b);
		free(data);
	}
	/* A 64-bit length with the top bit set. */
	static const uint8_t bad[] = {0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4};
	struct mk_buf b = MK_BUF_INIT;
	mk_buf_append(&b, bad, sizeof bad);
	expect_error(0, &b, WS_CLOSE_PROTOCOL);
	mk_buf_free(&b);
}

static void oversize_messages(void **state)
{
	(void)state;
	char big[1001];
	memset(big, 'x', sizeof big);
	/* One frame over the limit fails on its header alone. */
	struct mk_buf b = MK_BUF_INIT;
	put_frame(&b, WS_OP_BINARY, true, big, 1001, true);
	struct mk_buf head = MK_BUF_INIT;
	mk_buf_append(&head, b.data, 8);
	expect_error(1000, &head, WS_CLOSE_TOO_BIG);
	mk_buf_free(&head);
	mk_buf_free(&b);
	/* Fragments that add up to more. */
	put_frame(&b, WS_OP_BINARY, false, big, 600, true);
	put_frame(&b, WS_OP_CONT, true, big, 600, true);
	expect_error(1000, &b, WS_CLOSE_TOO_BIG);
	mk_buf_free(&b);
	/* Exactly the limit is fine. */
	put_frame(&b, WS_OP_BINARY, false, big, 500, true);
	put_frame(&b, WS_OP_CONT, true, big, 500, true);
	struct ws_reader r;
	ws_reader_init(&r, 1000, true);
	assert_int_equal(one_event(&r, &b).len, 1000);
	ws_reader_free(&r);
	mk_buf_free(&b);
}

static void protocol_errors(void **state)
{
	(void)state;
	struct mk_buf b = MK_BUF_INIT;
	char long_ping[126] = {0};
#define CASE(code, ...)                                \
	do {                                           \
		__VA_ARGS__;                           \
		expect_error(0, &b, code);             \
		mk_buf_reset(&b);                      \
	} while (0)
	CASE(WS_CLOSE_PROTOCOL, put_frame(&b, WS_OP_PING, true, long_ping, 126, true));
	CASE(WS_CLOSE_PROTOCOL, put_frame(&b, WS_OP_PING, false, "x", 1, true));
	CASE(WS_CLOSE_PROTOCOL, put_frame(&b, WS_OP_CONT, true, "x", 1, true));
	CASE(WS_CLOSE_PROTOCOL, put_frame(&b, WS_OP_TEXT, false, "a", 1, true);
	     put_frame(&b, WS_OP_TEXT, true, "b", 1, true));
	CASE(WS_CLOSE_PROTOCOL, put_frame(&b, 3, true, "x", 1, true));
	CASE(WS_CLOSE_PROTOCOL, put_frame(&b, WS_OP_TEXT, true, "x", 1, true); b.data[0] |= 0x40);
	CASE(WS_CLOSE_BAD_DATA, put_frame(&b, WS_OP_TEXT, true, "\xc0\xaf", 2, true));
	CASE(WS_CLOSE_BAD_DATA, put_frame(&b, WS_OP_TEXT, true, "\xed\xa0\x80", 3, true));
	CASE(WS_CLOSE_PROTOCOL, put_frame(&b, WS_OP_CLOSE, true, "\x03", 1, true));
	CASE(WS_CLOSE_PROTOCOL, put_frame(&b, WS_OP_CLOSE, true, "\x03\xed", 2, true)); /* 1005 */
	CASE(WS_CLOSE_BAD_DATA, put_frame(&b, WS_OP_CLOSE, true, "\x03\xe8\xff", 3, true));
#undef CASE
	/* Valid UTF-8 of every length, and a close without a code. */
	put_frame(&b, WS_OP_TEXT, true, "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 10, true);
	put_frame(&b, WS_OP_CLOSE, true, "", 0, true);
	struct ws_reader r;
	struct ws_event ev;
	ws_reader_init(&r, 0, true);
	assert_int_equal(ws_reader_feed(&r, b.data, b.len), MK_OK);
	assert_int_equal(ws_reader_next(&r, &ev), 1);
	assert_int_equal(ev.len, 10);
	assert_int_equal(ws_reader_next(&r, &ev), 1);
	assert_int_equal(ev.code, WS_CLOSE_NO_STATUS);
	ws_reader_free(&r);
	mk_buf_free(&b);
}

/* ======================================================================
 * Handshake and options (pure)
 * ==================================================================== */

static struct http_request make_request(const char *method, char **names, char **values,
					size_t n)
{
	struct http_request r = {.method = method, .header_names = names,
				 .header_values = values, .n_headers = n};
	return r;
}

static void handshake_checks(void **state)
{
	(void)state;
	static const char *const supported[] = {"v5.channel.k8s.io", "v4.channel.k8s.io",
						"channel.k8s.io", NULL};
	char *names[] = {"connection", "upgrade", "sec-websocket-version", "sec-websocket-key",
			 "sec-websocket-protocol"};
	char *values[] = {"keep-alive, Upgrade", "WebSocket", "13", "dGhlIHNhbXBsZSBub25jZQ==",
			  "v5.channel.k8s.io, v4.channel.k8s.io"};
	struct http_request r = make_request("GET", names, values, 5);
	const char *chosen;
	bool bad_version;
	char err[256];
	assert_true(ws_is_upgrade(&r));
	assert_int_equal(ws_handshake_check(&r, supported, &chosen, &bad_version, err, sizeof err),
			 MK_OK);
	assert_string_equal(chosen, "v5.channel.k8s.io");
	/* The client's order wins (python offers only v4). */
	values[4] = "v4.channel.k8s.io,v5.channel.k8s.io";
	assert_int_equal(ws_handshake_check(&r, supported, &chosen, &bad_version, err, sizeof err),
			 MK_OK);
	assert_string_equal(chosen, "v4.channel.k8s.io");
	values[4] = "base64.channel.k8s.io";
	assert_int_equal(ws_handshake_check(&r, supported, &chosen, &bad_version, err, sizeof err),
			 MK_EINVAL);
	assert_non_null(strstr(err, "not supported: base64.channel.k8s.io; supported: "
				    "v5.channel.k8s.io, v4.channel.k8s.io, channel.k8s.io"));
	r.n_headers = 4; /* no protocol offered */
	assert_int_equal(ws_handshake_check(&r, supported, &chosen, &bad_version, err, sizeof err),
			 MK_OK);
	assert_null(chosen);
	values[2] = "8";
	assert_int_equal(ws_handshake_check(&r, supported, &chosen, &bad_version, err, sizeof err),
			 MK_EINVAL);
	assert_true(bad_version);
	values[2] = "13";
	values[3] = "short==";
	assert_int_equal(ws_handshake_check(&r, supported, &chosen, &bad_version, err, sizeof err),
			 MK_EINVAL);
	assert_false(bad_version);
	values[3] = "dGhlIHNhbXBsZSBub25jZQ==";
	values[0] = "keep-alive";
	assert_int_equal(ws_handshake_check(&r, supported, &chosen, &bad_version, err, sizeof err),
			 MK_EINVAL);
	values[0] = "Upgrade";
	r.method = "POST";
	assert_int_equal(ws_handshake_check(&r, supported, &chosen, &bad_version, err, sizeof err),
			 MK_EINVAL);
	assert_string_equal(err, "a WebSocket upgrade must be a GET request, not POST");
	values[1] = "SPDY/3.1";
	assert_false(ws_is_upgrade(&r));
}

static void exec_options_and_pod_rules(void **state)
{
	(void)state;
	struct api_query q;
	struct exec_options o;
	char err[256];
	assert_int_equal(api_query_parse("command=sh&command=-c&command=echo+a%20b&stdin=true&"
					 "stdout=true&stderr=true&tty=true&container=web",
					 &q),
			 MK_OK);
	assert_int_equal(exec_options_parse(&q, false, &o, err, sizeof err), MK_OK);
	assert_int_equal(o.n_command, 3);
	assert_string_equal(o.command[2], "echo a b");
	assert_null(o.command[3]);
	assert_true(o.in && o.out && o.tty);
	assert_false(o.err); /* a terminal has no separate stderr */
	assert_string_equal(o.container, "web");
	exec_options_free(&o);
	/* attach ignores commands */
	assert_int_equal(exec_options_parse(&q, true, &o, err, sizeof err), MK_OK);
	assert_int_equal(o.n_command, 0);
	exec_options_free(&o);
	api_query_free(&q);
	api_query_parse("stdout=true", &q);
	assert_int_equal(exec_options_parse(&q, false, &o, err, sizeof err), MK_EINVAL);
	assert_string_equal(err, "you must specify at least one command for the container");
	api_query_free(&q);
	api_query_parse("command=ls", &q);
	assert_int_equal(exec_options_parse(&q, false, &o, err, sizeof err), MK_EINVAL);
	assert_string_equal(err, "you must specify at least 1 of stdin, stdout, stderr");
	api_query_free(&q);

	json_t *pod = json_loads("{\"metadata\":{\"annotations\":{\"kubectl.kubernetes.io/"
				 "default-container\":\"side\"}},\"spec\":{\"nodeName\":\"n1\","
				 "\"containers\":[{\"name\":\"main\"},{\"name\":\"side\"}],"
				 "\"initContainers\":[{\"name\":\"init\"}]},"
				 "\"status\":{\"phase\":\"Running\"}}",
				 0, NULL);
	const char *c;
	assert_int_equal(exec_pod_check(pod, "p", NULL, false, &c, err, sizeof err), MK_OK);
	assert_string_equal(c, "side");
	assert_int_equal(exec_pod_check(pod, "p", "init", false, &c, err, sizeof err), MK_OK);
	assert_int_equal(exec_pod_check(pod, "p", "nope", false, &c, err, sizeof err), MK_EINVAL);
	assert_string_equal(err, "container nope is not valid for pod p");
	/* An annotation naming no container falls back to the first. */
	json_object_set_new(json_object_get(json_object_get(pod, "metadata"), "annotations"),
			    "kubectl.kubernetes.io/default-container", json_string("gone"));
	assert_int_equal(exec_pod_check(pod, "p", NULL, false, &c, err, sizeof err), MK_OK);
	assert_string_equal(c, "main");
	json_object_set_new(json_object_get(pod, "status"), "phase", json_string("Succeeded"));
	assert_int_equal(exec_pod_check(pod, "p", NULL, false, &c, err, sizeof err), MK_EINVAL);
	assert_string_equal(err, "cannot exec into a container in a completed pod; current phase "
				 "is Succeeded");
	json_object_set_new(json_object_get(pod, "status"), "phase", json_string("Pending"));
	json_object_del(json_object_get(pod, "spec"), "nodeName");
	assert_int_equal(exec_pod_check(pod, "p", NULL, false, &c, err, sizeof err), MK_EINVAL);
	assert_string_equal(err, "pod p does not have a host assigned");
	json_decref(pod);

	/* The error channel's last message. */
	char *t = exec_status_text(EXEC_PROTO_V5, NULL, 0, 0);
	assert_string_equal(t, "{\"metadata\":{},\"status\":\"Success\"}");
	free(t);
	t = exec_status_text(EXEC_PROTO_V4, NULL, 0, 9);
	assert_non_null(strstr(t, "\"reason\":\"NonZeroExitCode\""));
	assert_non_null(strstr(t, "{\"reason\":\"ExitCode\",\"message\":\"137\"}"));
	free(t);
	t = exec_status_text(EXEC_PROTO_V5, "container web is not running", 0, 0);
	assert_non_null(strstr(t, "\"message\":\"container web is not running\""));
	assert_non_null(strstr(t, "\"reason\":\"InternalError\""));
	free(t);
	assert_null(exec_status_text(EXEC_PROTO_V1, NULL, 0, 0)); /* v1: silence is success */
	t = exec_status_text(EXEC_PROTO_V1, NULL, 2, 0);
	assert_string_equal(t, "command terminated with non-zero exit code: exit status 2");
	free(t);
}

/* ======================================================================
 * The server: HTTP server + exec dispatch + a store with pods
 * ==================================================================== */

struct fixture {
	char dir[256], cert[300], key[300];
	int port;
	struct test_node node;
	struct store *store;
	struct resource_registry *registry;
	struct api_server *srv; /* a stand-in: loop, hook, call count */
	uv_loop_t loop;
	uv_async_t wake;
	pthread_t thread;
	struct http_server *server;
	/* Functions run on the loop for the test thread. */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	void (*fn)(struct fixture *f);
	bool fn_done;
	/* What the hook saw (worker threads, under mu). */
	char hook_container[64], hook_uid[64], hook_console[256];
	/* The /echo endpoint (loop thread). */
	struct ws *echo;
	int echo_closed_code;
	int calls; /* srv->calls, copied on the loop */
};

static const char *const pods[] = {
	"{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"web\",\"namespace\":"
	"\"default\",\"uid\":\"uid-web\"},\"spec\":{\"nodeName\":\"n1\",\"containers\":[{\"name\":"
	"\"main\",\"image\":\"busybox\"},{\"name\":\"stopped\",\"image\":\"busybox\"}]},"
	"\"status\":{\"phase\":\"Running\"}}",
	"{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"multi\",\"namespace\":"
	"\"default\",\"uid\":\"uid-multi\",\"annotations\":{\"kubectl.kubernetes.io/default-"
	"container\":\"side\"}},\"spec\":{\"nodeName\":\"n1\",\"containers\":[{\"name\":\"main\","
	"\"image\":\"busybox\"},{\"name\":\"side\",\"image\":\"busybox\"}]},\"status\":{\"phase\":"
	"\"Running\"}}",
	"{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"done\",\"namespace\":"
	"\"default\",\"uid\":\"uid-done\"},\"spec\":{\"nodeName\":\"n1\",\"containers\":[{\"name\":"
	"\"main\",\"image\":\"busybox\"}]},\"status\":{\"phase\":\"Succeeded\"}}",
};

/* With a terminal the fake runtime is this: it makes a pty, sends the
 * master over the console socket like runc, and runs the command on the
 * slave as its controlling terminal. */
static const char tty_helper[] =
	"import fcntl, os, socket, sys, termios\n"
	"m, s = os.openpty()\n"
	"c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)\n"
	"c.connect(sys.argv[1])\n"
	"socket.send_fds(c, [os.ttyname(s).encode()], [m])\n"
	"c.close(); os.close(m)\n"
	"try:\n"
	"    os.setsid()\n"
	"except OSError:\n"
	"    pass\n"
	"fcntl.ioctl(s, termios.TIOCSCTTY, 0)\n"
	"for fd in (0, 1, 2):\n"
	"    os.dup2(s, fd)\n"
	"os.close(s)\n"
	"os.execvp(sys.argv[2], sys.argv[2:])\n";

/* The fake node agent: the container named "stopped" is not running;
 * otherwise the command runs here as it is. */
static int fake_prepare(void *ctx, const char *ns, const char *pod, const char *uid,
			const char *container, int tty, const char *console, char *const *cmd,
			char ***argv_out, char *errmsg, size_t len)
{
	struct fixture *f = ctx;
	(void)ns;
	(void)pod;
	pthread_mutex_lock(&f->mu);
	snprintf(f->hook_container, sizeof f->hook_container, "%s", container);
	snprintf(f->hook_uid, sizeof f->hook_uid, "%s", uid);
	snprintf(f->hook_console, sizeof f->hook_console, "%s", console ? console : "");
	pthread_mutex_unlock(&f->mu);
	if (strcmp(container, "stopped") == 0) {
		snprintf(errmsg, len, "container %s is not running", container);
		return MK_EINVAL;
	}
	size_t n = 0;
	while (cmd[n])
		n++;
	char **argv = calloc(n + 5, sizeof *argv);
	size_t k = 0;
	if (tty) {
		argv[k++] = strdup("/usr/bin/python3");
		argv[k++] = strdup("-c");
		argv[k++] = strdup(tty_helper);
		argv[k++] = strdup(console);
	}
	for (size_t i = 0; i < n; i++)
		argv[k++] = strdup(cmd[i]);
	*argv_out = argv;
	return MK_OK;
}

/* --- /echo: a bare WebSocket for the transport tests -------------------- */

static void echo_message(void *arg, enum ws_opcode op, const uint8_t *data, size_t len)
{
	struct fixture *f = arg;
	if (len == 5 && memcmp(data, "close", 5) == 0)
		ws_close(f->echo, 4000, "bye");
	else
		ws_send(f->echo, op, data, len);
}

static void echo_closed(void *arg, int code)
{
	struct fixture *f = arg;
	f->echo = NULL;
	__atomic_store_n(&f->echo_closed_code, code, __ATOMIC_SEQ_CST);
}

static void echo_start(struct fixture *f, struct http_exchange *x)
{
	static const char *const protos[] = {"echo", NULL};
	const struct http_request *r = http_exchange_request(x);
	const char *proto;
	bool bad_version;
	char err[256];
	if (ws_handshake_check(r, protos, &proto, &bad_version, err, sizeof err) != MK_OK) {
		ws_refuse(x);
		struct http_header h = {"Sec-WebSocket-Version", "13"};
		http_respond(x, 400, "text/plain", &h, bad_version ? 1 : 0, err, strlen(err));
		return;
	}
	struct ws_handlers handlers = {.on_message = echo_message, .on_closed = echo_closed,
				       .arg = f};
	assert_int_equal(ws_upgrade(x, proto, 4096, &handlers, &f->echo), MK_OK);
}

/* --- the handler: what the API server does for a resource call ---------- */

static void handler(void *ctx, struct http_exchange *x)
{
	struct fixture *f = ctx;
	struct http_request *r = (struct http_request *)http_exchange_request(x);
	if (strcmp(r->path, "/echo") == 0) {
		echo_start(f, x);
		return;
	}
	api_path_normalize(r->path);
	if (api_discovery(f->srv, x, r->path)) /* kubectl looks first */
		return;
	struct api_call *c = calloc(1, sizeof *c);
	c->srv = f->srv;
	c->x = x;
	c->req = r;
	c->store = f->store;
	c->rs = resource_registry_get(f->registry);
	assert_int_equal(api_query_parse(r->query, &c->query), MK_OK);
	if (api_route(c) != 0) {
		api_send_json(x, c->status, c->body, NULL, 0);
	} else if (api_pod_exec_take(c)) {
		/* taken or answered */
	} else if (c->verb == VERB_GET && c->sub == NULL) {
		api_do_get(c); /* kubectl reads the pod first */
		api_send_json(x, c->status, c->body, NULL, 0);
	} else {
		api_send_status(x, 404, "NotFound", "not served by this test");
	}
	api_query_free(&c->query);
	resource_set_release(c->rs);
	json_decref(c->body);
	free(c->ns);
	free(c->name);
	free(c->sub);
	free(c);
}

/* --- the loop thread ------------------------------------------------------- */

static void on_wake(uv_async_t *a)
{
	struct fixture *f = a->data;
	pthread_mutex_lock(&f->mu);
	void (*fn)(struct fixture *) = f->fn;
	f->fn = NULL;
	pthread_mutex_unlock(&f->mu);
	if (fn == NULL)
		return;
	fn(f);
	pthread_mutex_lock(&f->mu);
	f->fn_done = true;
	pthread_cond_broadcast(&f->cv);
	pthread_mutex_unlock(&f->mu);
}

/* Runs fn(f) on the loop thread and waits for it. */
static void on_loop(struct fixture *f, void (*fn)(struct fixture *f))
{
	pthread_mutex_lock(&f->mu);
	f->fn = fn;
	f->fn_done = false;
	pthread_mutex_unlock(&f->mu);
	uv_async_send(&f->wake);
	pthread_mutex_lock(&f->mu);
	while (!f->fn_done)
		pthread_cond_wait(&f->cv, &f->mu);
	pthread_mutex_unlock(&f->mu);
}

static void install_hook(struct fixture *f)
{
	struct api_exec_hook h = {.prepare = fake_prepare, .ctx = f};
	api_server_set_exec_hook(f->srv, &h);
}

static void remove_hook(struct fixture *f)
{
	api_server_set_exec_hook(f->srv, NULL);
}

static void read_calls(struct fixture *f)
{
	f->calls = f->srv->calls;
}

static void stop_server(struct fixture *f)
{
	http_server_stop(f->server, NULL, NULL);
	uv_close((uv_handle_t *)&f->wake, NULL);
}

static void *loop_main(void *arg)
{
	struct fixture *f = arg;
	uv_run(&f->loop, UV_RUN_DEFAULT);
	return NULL;
}

static int group_setup(void **state)
{
	signal(SIGPIPE, SIG_IGN); /* as mkd does */
	struct fixture *f = calloc(1, sizeof *f);
	snprintf(f->dir, sizeof f->dir, "/tmp/mk-test-ws.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	char cmd[1024];
	snprintf(cmd, sizeof cmd,
		 "cd %s && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
		 "-days 1 -keyout server.key -out server.crt -subj /CN=server "
		 "-addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1",
		 f->dir);
	assert_int_equal(system(cmd), 0);
	snprintf(f->cert, sizeof f->cert, "%s/server.crt", f->dir);
	snprintf(f->key, sizeof f->key, "%s/server.key", f->dir);
	pthread_mutex_init(&f->mu, NULL);
	pthread_cond_init(&f->cv, NULL);

	test_node_start(&f->node, DQ_BOOTSTRAP_ID);
	const char *members[] = {f->node.address};
	struct store_config sc = {.members = members, .n_members = 1,
				  .local_address = f->node.address, .op_timeout_ms = 5000};
	assert_int_equal(store_open(&sc, &f->store), MK_OK);
	const char *names[] = {"web", "multi", "done"};
	for (size_t i = 0; i < 3; i++) {
		char key[256];
		store_key(key, sizeof key, "core", "pods", "default", names[i]);
		assert_int_equal(store_create(f->store, key, pods[i], strlen(pods[i]), 0, NULL),
				 MK_OK);
	}
	assert_int_equal(resource_registry_new(&f->registry), MK_OK);

	uv_loop_init(&f->loop);
	uv_async_init(&f->loop, &f->wake, on_wake);
	f->wake.data = f;
	f->srv = calloc(1, sizeof *f->srv);
	f->srv->loop = &f->loop;
	f->srv->resources = f->registry;
	install_hook(f);
	f->port = test_free_port();
	struct http_server_config cfg;
	http_server_config_defaults(&cfg);
	cfg.bind_address = "127.0.0.1";
	cfg.port = f->port;
	cfg.cert_file = f->cert;
	cfg.key_file = f->key;
	/* Small, so a producer that ignored backpressure would be cut. */
	cfg.max_backlog_bytes = 4 * 1024 * 1024;
	cfg.handler = handler;
	cfg.handler_ctx = f;
	cfg.error_body = api_http_error_body;
	char err[256];
	assert_int_equal(http_server_start(&f->loop, &cfg, &f->server, err, sizeof err), MK_OK);
	pthread_create(&f->thread, NULL, loop_main, f);
	*state = f;
	return 0;
}

static int group_teardown(void **state)
{
	struct fixture *f = *state;
	on_loop(f, read_calls);
	assert_int_equal(f->calls, 0); /* every exec request was freed */
	on_loop(f, stop_server);
	pthread_join(f->thread, NULL);
	assert_int_equal(uv_loop_close(&f->loop), 0);
	free(f->srv);
	resource_registry_free(f->registry);
	store_close(f->store);
	test_node_stop(&f->node);
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* ======================================================================
 * A WebSocket client (it can break the protocol on purpose)
 * ==================================================================== */

struct client {
	int fd;
	SSL_CTX *ctx;
	SSL *ssl;
	struct ws_reader rd;
	int status;          /* of the last HTTP answer */
	char head[8192];     /* its head */
	char body[4096];     /* and body (Content-Length answers) */
};

static void client_open(struct client *cl, struct fixture *f)
{
	memset(cl, 0, sizeof *cl);
	/* CLOEXEC: the commands the server spawns must not hold our end. */
	cl->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)f->port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	assert_int_equal(connect(cl->fd, (struct sockaddr *)&sa, sizeof sa), 0);
	cl->ctx = SSL_CTX_new(TLS_client_method());
	cl->ssl = SSL_new(cl->ctx);
	SSL_set_fd(cl->ssl, cl->fd);
	assert_int_equal(SSL_connect(cl->ssl), 1);
	ws_reader_init(&cl->rd, 64 * 1024 * 1024, false);
}

static void client_close(struct client *cl)
{
	SSL_free(cl->ssl);
	SSL_CTX_free(cl->ctx);
	close(cl->fd);
	ws_reader_free(&cl->rd);
}

static void client_write(struct client *cl, const void *data, size_t len)
{
	assert_int_equal(SSL_write(cl->ssl, data, (int)len), (int)len);
}

/* Some bytes, or 0 on EOF, -1 after timeout_ms without any. */
static int client_read(struct client *cl, void *buf, size_t cap, int timeout_ms)
{
	int64_t deadline = test_now_ms() + timeout_ms;
	for (;;) {
		if (SSL_pending(cl->ssl) == 0) {
			int64_t left = deadline - test_now_ms();
			struct pollfd p = {.fd = cl->fd, .events = POLLIN};
			if (left <= 0 || poll(&p, 1, (int)left) == 0)
				return -1;
		}
		int n = SSL_read(cl->ssl, buf, (int)cap);
		if (n > 0)
			return n;
		int e = SSL_get_error(cl->ssl, n);
		ERR_clear_error();
		if (e != SSL_ERROR_WANT_READ)
			return 0;
	}
}

/* Sends a request and reads the answer's head and body; bytes after a
 * 101 go to the frame reader.  Returns the status. */
static int client_request(struct client *cl, const char *method, const char *path,
			  const char *headers)
{
	char req[8192];
	int n = snprintf(req, sizeof req, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s\r\n", method,
			 path, headers);
	client_write(cl, req, (size_t)n);
	size_t have = 0;
	char *end = NULL;
	while ((end = strstr(cl->head, "\r\n\r\n")) == NULL) {
		int r = client_read(cl, cl->head + have, sizeof cl->head - 1 - have, 10000);
		assert_true(r > 0);
		have += (size_t)r;
		cl->head[have] = '\0';
	}
	size_t head_len = (size_t)(end + 4 - cl->head);
	cl->status = atoi(cl->head + 9);
	size_t extra = have - head_len;
	const char *clen = strcasestr(cl->head, "Content-Length:");
	cl->body[0] = '\0';
	if (clen != NULL && clen < end) {
		size_t want = (size_t)atoi(clen + 15);
		assert_true(want < sizeof cl->body);
		memcpy(cl->body, cl->head + head_len, extra);
		while (extra < want) {
			int r = client_read(cl, cl->body + extra, want - extra, 10000);
			assert_true(r > 0);
			extra += (size_t)r;
		}
		cl->body[want] = '\0';
	} else if (extra > 0) {
		ws_reader_feed(&cl->rd, cl->head + head_len, extra);
	}
	*end = '\0'; /* keep just the head */
	return cl->status;
}

static const char *upgrade_headers(const char *protocol, char *buf, size_t len)
{
	snprintf(buf, len,
		 "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
		 "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n%s%s%s",
		 protocol ? "Sec-WebSocket-Protocol: " : "", protocol ? protocol : "",
		 protocol ? "\r\n" : "");
	return buf;
}

static void client_send(struct client *cl, int op, bool fin, const void *data, size_t len,
			bool masked)
{
	struct mk_buf b = MK_BUF_INIT;
	put_frame(&b, op, fin, data, len, masked);
	client_write(cl, b.data, b.len);
	mk_buf_free(&b);
}

/* The next event: 1, or 0 on EOF / timeout. */
static int client_next(struct client *cl, struct ws_event *ev, int timeout_ms)
{
	for (;;) {
		int rv = ws_reader_next(&cl->rd, ev);
		assert_true(rv >= 0);
		if (rv == 1)
			return 1;
		char buf[65536];
		int n = client_read(cl, buf, sizeof buf, timeout_ms);
		if (n <= 0)
			return 0;
		assert_int_equal(ws_reader_feed(&cl->rd, buf, (size_t)n), MK_OK);
	}
}

static void wait_echo_closed(struct fixture *f, int code)
{
	int64_t deadline = test_now_ms() + 10000;
	while (__atomic_load_n(&f->echo_closed_code, __ATOMIC_SEQ_CST) == 0 &&
	       test_now_ms() < deadline)
		usleep(1000);
	assert_int_equal(__atomic_exchange_n(&f->echo_closed_code, 0, __ATOMIC_SEQ_CST), code);
}

/* ======================================================================
 * The WebSocket transport, on /echo
 * ==================================================================== */

static void echo_basics(void **state)
{
	struct fixture *f = *state;
	struct client cl;
	char h[512];
	struct ws_event ev;
	client_open(&cl, f);
	assert_int_equal(client_request(&cl, "GET", "/echo", upgrade_headers("x, echo", h, sizeof h)),
			 101);
	assert_non_null(strstr(cl.head, "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo="));
	assert_non_null(strstr(cl.head, "Sec-WebSocket-Protocol: echo"));
	client_send(&cl, WS_OP_TEXT, true, "hi", 2, true);
	assert_int_equal(client_next(&cl, &ev, 10000), 1);
	assert_int_equal(ev.opcode, WS_OP_TEXT);
	assert_memory_equal(ev.data, "hi", 2);
	/* A ping between the fragments of a message is answered first. */
	client_send(&cl, WS_OP_BINARY, false, "frag", 4, true);
	client_send(&cl, WS_OP_PING, true, "abc", 3, true);
	client_send(&cl, WS_OP_CONT, true, "ment", 4, true);
	assert_int_equal(client_next(&cl, &ev, 10000), 1);
	assert_int_equal(ev.opcode, WS_OP_PONG);
	assert_memory_equal(ev.data, "abc", 3);
	assert_int_equal(client_next(&cl, &ev, 10000), 1);
	assert_int_equal(ev.opcode, WS_OP_BINARY);
	assert_int_equal(ev.len, 8);
	assert_memory_equal(ev.data, "fragment", 8);
	/* The client closes: the server echoes the code and hangs up. */
	client_send(&cl, WS_OP_CLOSE, true, "\x03\xe8", 2, true);
	assert_int_equal(client_next(&cl, &ev, 10000), 1);
	assert_int_equal(ev.opcode, WS_OP_CLOSE);
	assert_int_equal(ev.code, 1000);
	char buf[64];
	assert_int_equal(client_read(&cl, buf, sizeof buf, 10000), 0);
	wait_echo_closed(f, 1000);
	client_close(&cl);

	/* The server closes: 4000 "bye". */
	client_open(&cl, f);
	assert_int_equal(client_request(&cl, "GET", "/echo", upgrade_headers("echo", h, sizeof h)),
			 101);
	client_send(&cl, WS_OP_TEXT, true, "close", 5, true);
	assert_int_equal(client_next(&cl, &ev, 10000), 1);
	assert_int_equal(ev.code, 4000);
	assert_memory_equal(ev.data, "bye", 3);
	client_send(&cl, WS_OP_CLOSE, true, "\x0f\xa0", 2, true);
	assert_int_equal(client_read(&cl, buf, sizeof buf, 10000), 0);
	wait_echo_closed(f, 4000);
	client_close(&cl);
}

static void echo_protocol_errors(void **state)
{
	struct fixture *f = *state;
	struct client cl;
	char h[512];
	/* Unmasked: 1002.  Over the 4096-byte limit: 1009 on the header
	 * alone.  Bad UTF-8 in text: 1007. */
	struct {
		int code;
		int op;
		size_t len;
		bool masked;
		const char *data;
	} cases[] = {
		{WS_CLOSE_PROTOCOL, WS_OP_TEXT, 2, false, "hi"},
		{WS_CLOSE_TOO_BIG, WS_OP_BINARY, 0, true, NULL},
		{WS_CLOSE_BAD_DATA, WS_OP_TEXT, 2, true, "\xff\xfe"},
	};
	for (size_t i = 0; i < 3; i++) {
		client_open(&cl, f);
		assert_int_equal(
			client_request(&cl, "GET", "/echo", upgrade_headers("echo", h, sizeof h)),
			101);
		if (cases[i].data != NULL) {
			client_send(&cl, cases[i].op, true, cases[i].data, cases[i].len,
				    cases[i].masked);
		} else {
			uint8_t hdr[WS_MAX_HEADER];
			static const uint8_t key[4] = {1, 2, 3, 4};
			size_t n = ws_frame_header(hdr, WS_OP_BINARY, true, 2 << 20, key);
			client_write(&cl, hdr, n);
		}
		struct ws_event ev;
		assert_int_equal(client_next(&cl, &ev, 10000), 1);
		assert_int_equal(ev.opcode, WS_OP_CLOSE);
		assert_int_equal(ev.code, cases[i].code);
		char buf[64];
		assert_int_equal(client_read(&cl, buf, sizeof buf, 10000), 0);
		wait_echo_closed(f, cases[i].code);
		client_close(&cl);
	}
}

static void bad_handshake_keeps_the_connection(void **state)
{
	struct fixture *f = *state;
	struct client cl;
	client_open(&cl, f);
	assert_int_equal(client_request(&cl, "GET", "/echo",
					"Connection: Upgrade\r\nUpgrade: websocket\r\n"
					"Sec-WebSocket-Version: 8\r\n"
					"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"),
			 400);
	assert_non_null(strstr(cl.head, "Sec-WebSocket-Version: 13"));
	assert_null(strstr(cl.head, "Connection: close"));
	assert_string_equal(cl.body, "unsupported WebSocket version \"8\": only 13 is supported");
	/* The same connection serves the next request. */
	assert_int_equal(client_request(&cl, "GET", "/api/v1/namespaces/default/pods/web", ""), 200);
	assert_non_null(strstr(cl.body, "\"uid\":\"uid-web\""));
	client_close(&cl);
}

/* ======================================================================
 * exec through the remote-command protocol
 * ==================================================================== */

struct exec_result {
	struct mk_buf out, err, status;
	int close_code;
};

static void result_free(struct exec_result *r)
{
	mk_buf_free(&r->out);
	mk_buf_free(&r->err);
	mk_buf_free(&r->status);
}

static const char *text(struct mk_buf *b)
{
	mk_buf_append(b, "", 1);
	b->len--;
	return (const char *)b->data;
}

/* Opens pods/POD/exec?QUERY with `protocol`; returns the HTTP status. */
static int exec_open(struct fixture *f, struct client *cl, const char *pod, const char *query,
		     const char *protocol)
{
	char path[2048], h[512];
	snprintf(path, sizeof path, "/api/v1/namespaces/default/pods/%s/exec?%s", pod, query);
	client_open(cl, f);
	return client_request(cl, "GET", path, upgrade_headers(protocol, h, sizeof h));
}

/* Reads channels until the server's close frame, which it answers. */
static void exec_collect(struct client *cl, struct exec_result *r)
{
	memset(r, 0, sizeof *r);
	struct ws_event ev;
	while (client_next(cl, &ev, 20000) == 1) {
		if (ev.opcode == WS_OP_CLOSE) {
			r->close_code = ev.code;
			client_send(cl, WS_OP_CLOSE, true, "\x03\xe8", 2, true);
			return;
		}
		assert_int_equal(ev.opcode, WS_OP_BINARY);
		assert_true(ev.len >= 1);
		struct mk_buf *to = ev.data[0] == 1 ? &r->out : ev.data[0] == 2 ? &r->err
						   : ev.data[0] == 3 ? &r->status : NULL;
		assert_non_null(to);
		mk_buf_append(to, ev.data + 1, ev.len - 1);
	}
	fail_msg("no close frame from the server");
}

static void exec_stdout_stderr_and_exit_code(void **state)
{
	struct fixture *f = *state;
	struct client cl;
	struct exec_result r;
	assert_int_equal(exec_open(f, &cl, "web",
				   "command=sh&command=-c&command=echo+out%3B+echo+err+%3E%262%3B"
				   "+exit+3&stdout=true&stderr=true",
				   "v5.channel.k8s.io, v4.channel.k8s.io"),
			 101);
	assert_non_null(strstr(cl.head, "Sec-WebSocket-Protocol: v5.channel.k8s.io"));
	exec_collect(&cl, &r);
	assert_string_equal(text(&r.out), "out\n");
	assert_string_equal(text(&r.err), "err\n");
	json_t *st = json_loads(text(&r.status), 0, NULL);
	assert_non_null(st);
	assert_string_equal(json_string_value(json_object_get(st, "status")), "Failure");
	assert_string_equal(json_string_value(json_object_get(st, "reason")), "NonZeroExitCode");
	json_t *cause = json_array_get(json_object_get(json_object_get(st, "details"), "causes"), 0);
	assert_string_equal(json_string_value(json_object_get(cause, "reason")), "ExitCode");
	assert_string_equal(json_string_value(json_object_get(cause, "message")), "3");
	json_decref(st);
	assert_int_equal(r.close_code, 1000);
	/* The pod's first container, and the pod's uid, went to the hook. */
	pthread_mutex_lock(&f->mu);
	assert_string_equal(f->hook_container, "main");
	assert_string_equal(f->hook_uid, "uid-web");
	assert_string_equal(f->hook_console, "");
	pthread_mutex_unlock(&f->mu);
	result_free(&r);
	client_close(&cl);
}

static void exec_stdin_ends_with_the_v5_close_signal(void **state)
{
	struct fixture *f = *state;
	struct client cl;
	struct exec_result r;
	assert_int_equal(exec_open(f, &cl, "multi", "command=cat&stdin=true&stdout=true",
				   "v5.channel.k8s.io"),
			 101);
	client_send(&cl, WS_OP_BINARY, true, "\0hello\n", 7, true);
	client_send(&cl, WS_OP_BINARY, true, "\0world\n", 7, true);
	client_send(&cl, WS_OP_BINARY, true, "\xff\0", 2, true);
	exec_collect(&cl, &r);
	assert_string_equal(text(&r.out), "hello\nworld\n");
	assert_string_equal(text(&r.status), "{\"metadata\":{},\"status\":\"Success\"}");
	/* The pod's default-container annotation chose the container. */
	pthread_mutex_lock(&f->mu);
	assert_string_equal(f->hook_container, "side");
	pthread_mutex_unlock(&f->mu);
	result_free(&r);
	client_close(&cl);
}

static void exec_older_protocols(void **state)
{
	struct fixture *f = *state;
	struct client cl;
	struct exec_result r;
	/* v4: the same Status. */
	assert_int_equal(exec_open(f, &cl, "web", "command=echo&command=v4&stdout=true",
				   "v4.channel.k8s.io"),
			 101);
	exec_collect(&cl, &r);
	assert_string_equal(text(&r.out), "v4\n");
	assert_string_equal(text(&r.status), "{\"metadata\":{},\"status\":\"Success\"}");
	result_free(&r);
	client_close(&cl);
	/* No subprotocol (channel.k8s.io rules): only a failure's message. */
	assert_int_equal(exec_open(f, &cl, "web", "command=false&stdout=true", NULL), 101);
	assert_null(strstr(cl.head, "Sec-WebSocket-Protocol"));
	exec_collect(&cl, &r);
	assert_string_equal(text(&r.status),
			    "command terminated with non-zero exit code: exit status 1");
	result_free(&r);
	client_close(&cl);
}

static void exec_with_a_terminal(void **state)
{
	struct fixture *f = *state;
	struct client cl;
	struct exec_result r;
	assert_int_equal(exec_open(f, &cl, "web",
				   "command=sh&command=-c&command=read+x%3B+stty+size%3B+"
				   "echo+oops+%3E%262&stdin=true&stdout=true&stderr=true&tty=true",
				   "v5.channel.k8s.io"),
			 101);
	/* Sent at once: the terminal may not have come yet; the size
	 * applies before the input is written. */
	client_send(&cl, WS_OP_BINARY, true, "\x04{\"Width\":100,\"Height\":40}", 26, true);
	client_send(&cl, WS_OP_BINARY, true, "\0go\n", 4, true);
	exec_collect(&cl, &r);
	/* Echo of the input, the size, stderr merged into the terminal. */
	assert_non_null(strstr(text(&r.out), "go\r\n"));
	assert_non_null(strstr(text(&r.out), "40 100\r\n"));
	assert_non_null(strstr(text(&r.out), "oops\r\n"));
	assert_int_equal(r.err.len, 0);
	assert_string_equal(text(&r.status), "{\"metadata\":{},\"status\":\"Success\"}");
	char console[256];
	pthread_mutex_lock(&f->mu);
	snprintf(console, sizeof console, "%s", f->hook_console);
	pthread_mutex_unlock(&f->mu);
	assert_non_null(strstr(console, "/mk-exec-"));
	result_free(&r);
	client_close(&cl);
	/* The console socket and its directory are gone once the session
	 * is; poll for it, the client may see the close first. */
	int64_t deadline = test_now_ms() + 10000;
	while (access(console, F_OK) == 0 && test_now_ms() < deadline)
		usleep(1000);
	assert_int_equal(access(console, F_OK), -1);
	*strrchr(console, '/') = '\0';
	assert_int_equal(access(console, F_OK), -1);
}

static void exec_errors_before_the_upgrade(void **state)
{
	struct fixture *f = *state;
	struct client cl;
	struct {
		const char *pod, *query, *message;
		int status;
	} cases[] = {
		{"nope", "command=ls&stdout=true", "pods \"nope\" not found", 404},
		{"web", "command=ls&stdout=true&container=nope", "container nope is not valid for "
		 "pod web", 400},
		{"done", "command=ls&stdout=true", "cannot exec into a container in a completed "
		 "pod; current phase is Succeeded", 400},
		{"web", "stdout=true", "you must specify at least one command for the container",
		 400},
		{"web", "command=ls", "you must specify at least 1 of stdin, stdout, stderr", 400},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		assert_int_equal(exec_open(f, &cl, cases[i].pod, cases[i].query,
					   "v5.channel.k8s.io"),
				 cases[i].status);
		json_t *st = json_loads(cl.body, 0, NULL);
		assert_string_equal(json_string_value(json_object_get(st, "kind")), "Status");
		assert_string_equal(json_string_value(json_object_get(st, "message")),
				    cases[i].message);
		json_decref(st);
		client_close(&cl);
	}
	char h[512];
	/* attach, a plain GET, SPDY (kubectl's fallback), bad subprotocols */
	client_open(&cl, f);
	assert_int_equal(client_request(&cl, "GET",
					"/api/v1/namespaces/default/pods/web/attach?stdout=true",
					upgrade_headers("v5.channel.k8s.io", h, sizeof h)),
			 400);
	assert_non_null(strstr(cl.body, "\"message\":\"attach is not supported\""));
	assert_int_equal(client_request(&cl, "GET",
					"/api/v1/namespaces/default/pods/web/exec?command=ls&"
					"stdout=true", ""),
			 400);
	assert_non_null(strstr(cl.body, "\"message\":\"Upgrade request required\""));
	assert_int_equal(client_request(&cl, "POST",
					"/api/v1/namespaces/default/pods/web/exec?command=ls&"
					"stdout=true",
					"Connection: Upgrade\r\nUpgrade: SPDY/3.1\r\n"
					"X-Stream-Protocol-Version: v4.channel.k8s.io\r\n"
					"Content-Length: 0\r\n"),
			 400);
	assert_non_null(strstr(cl.body, "SPDY is not supported"));
	assert_int_equal(client_request(&cl, "GET",
					"/api/v1/namespaces/default/pods/web/exec?command=ls&"
					"stdout=true",
					upgrade_headers("base64.channel.k8s.io", h, sizeof h)),
			 400);
	assert_non_null(strstr(cl.body, "subprotocols are not supported"));
	assert_int_equal(client_request(&cl, "PUT",
					"/api/v1/namespaces/default/pods/web/exec?command=ls",
					"Content-Length: 0\r\n"),
			 405);
	client_close(&cl);
	/* Without a node agent. */
	on_loop(f, remove_hook);
	assert_int_equal(exec_open(f, &cl, "web", "command=ls&stdout=true", "v5.channel.k8s.io"),
			 503);
	assert_non_null(strstr(cl.body, "exec is not available: the node agent is not running "
					"on this node"));
	client_close(&cl);
	on_loop(f, install_hook);
}

static void exec_hook_failure_comes_on_the_error_channel(void **state)
{
	struct fixture *f = *state;
	struct client cl;
	struct exec_result r;
	assert_int_equal(exec_open(f, &cl, "web", "command=ls&stdout=true&container=stopped",
				   "v5.channel.k8s.io"),
			 101);
	exec_collect(&cl, &r);
	json_t *st = json_loads(text(&r.status), 0, NULL);
	assert_string_equal(json_string_value(json_object_get(st, "status")), "Failure");
	assert_string_equal(json_string_value(json_object_get(st, "message")),
			    "container stopped is not running");
	json_decref(st);
	assert_int_equal(r.out.len, 0);
	result_free(&r);
	client_close(&cl);
}

/* Gone: no process (a reaped child), or a zombie of init's. */
static bool process_gone(pid_t pid, bool zombie_ok)
{
	if (kill(pid, 0) != 0 && errno == ESRCH)
		return true;
	if (!zombie_ok)
		return false;
	char path[64], buf[256];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	FILE *fp = fopen(path, "r");
	if (fp == NULL)
		return true;
	bool z = fgets(buf, sizeof buf, fp) && strstr(buf, ") Z ") != NULL;
	fclose(fp);
	return z;
}

static void exec_client_leaving_kills_the_command(void **state)
{
	struct fixture *f = *state;
	struct client cl;
	assert_int_equal(exec_open(f, &cl, "web",
				   "command=sh&command=-c&command=sleep+600+%26+echo+%24%24+%24%21"
				   "%3B+wait&stdout=true&stdin=true",
				   "v5.channel.k8s.io"),
			 101);
	char line[128] = "";
	struct ws_event ev;
	while (strchr(line, '\n') == NULL) {
		assert_int_equal(client_next(&cl, &ev, 10000), 1);
		if (ev.len > 1 && ev.data[0] == 1)
			strncat(line, (const char *)ev.data + 1,
				ev.len - 1 < sizeof line - strlen(line) - 1 ? ev.len - 1
					: sizeof line - strlen(line) - 1);
	}
	int shell = 0, sleeper = 0;
	assert_int_equal(sscanf(line, "%d %d", &shell, &sleeper), 2);
	assert_true(kill(shell, 0) == 0 && kill(sleeper, 0) == 0);
	/* Gone without a close frame. */
	client_close(&cl);
	int64_t deadline = test_now_ms() + 10000;
	while (test_now_ms() < deadline) {
		on_loop(f, read_calls);
		if (process_gone(shell, false) && process_gone(sleeper, true) && f->calls == 0)
			break;
		usleep(2000);
	}
	assert_true(process_gone(shell, false)); /* reaped, not a zombie */
	assert_true(process_gone(sleeper, true)); /* the whole group died */
	assert_int_equal(f->calls, 0); /* the session is freed */
}

static void exec_slow_client_is_not_cut_off(void **state)
{
	struct fixture *f = *state;
	struct client cl;
	struct exec_result r;
	/* 32 MiB against a 4 MiB backlog limit: only pausing the child
	 * keeps the connection. */
	assert_int_equal(exec_open(f, &cl, "web", "command=head&command=-c&command=33554432&"
				   "command=/dev/zero&stdout=true", "v5.channel.k8s.io"),
			 101);
	usleep(300 * 1000); /* a client busy elsewhere */
	exec_collect(&cl, &r);
	assert_int_equal(r.out.len, 33554432);
	assert_string_equal(text(&r.status), "{\"metadata\":{},\"status\":\"Success\"}");
	result_free(&r);
	client_close(&cl);
}

/* ======================================================================
 * Real clients: python3-kubernetes' WSClient and kubectl 1.32
 * ==================================================================== */

/* Runs `cmd` in the fixture's directory with HOME there; returns its exit
 * status and leaves stdout/stderr in out/err (TEST_VERBOSE=1 prints them). */
static int run(struct fixture *f, const char *cmd, char *out, size_t out_len, char *err,
	       size_t err_len)
{
	char sh[8192];
	snprintf(sh, sizeof sh, "cd %s && HOME=%s timeout 60 sh -c '%s' >out.txt 2>err.txt", f->dir,
		 f->dir, cmd);
	int st = system(sh);
	char path[512];
	snprintf(path, sizeof path, "%s/out.txt", f->dir);
	FILE *fp = fopen(path, "r");
	size_t n = fp ? fread(out, 1, out_len - 1, fp) : 0;
	out[n] = '\0';
	if (fp)
		fclose(fp);
	snprintf(path, sizeof path, "%s/err.txt", f->dir);
	fp = fopen(path, "r");
	n = fp ? fread(err, 1, err_len - 1, fp) : 0;
	err[n] = '\0';
	if (fp)
		fclose(fp);
	if (getenv("TEST_VERBOSE"))
		fprintf(stderr, "$ %s\n[out]\n%s[err]\n%s\n", cmd, out, err);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void python_kubernetes_client(void **state)
{
	struct fixture *f = *state;
	char path[512], out[4096], err[4096], cmd[4096];
	snprintf(path, sizeof path, "%s/client.py", f->dir);
	FILE *fp = fopen(path, "w");
	fputs("import sys\n"
	      "from kubernetes.client import Configuration\n"
	      "from kubernetes.stream.ws_client import WSClient\n"
	      "c = Configuration()\n"
	      "c.verify_ssl = False\n"
	      "ws = WSClient(c, sys.argv[1], {}, True)\n"
	      "if len(sys.argv) > 2:\n"
	      "    ws.write_stdin(sys.argv[2] + \"\\n\")\n"
	      "ws.run_forever(timeout=20)\n"
	      "rc = ws.returncode\n"
	      "print(repr(ws.read_all()), rc)\n",
	      fp);
	fclose(fp);
	/* python sends stdin as text messages, offering v4 only */
	snprintf(cmd, sizeof cmd,
		 "/usr/bin/python3 client.py \"wss://127.0.0.1:%d/api/v1/namespaces/default/pods/"
		 "web/exec?command=head&command=-n&command=1&stdin=true&stdout=true\" hello",
		 f->port);
	assert_int_equal(run(f, cmd, out, sizeof out, err, sizeof err), 0);
	assert_string_equal(out, "'hello\\n' 0\n");
	snprintf(cmd, sizeof cmd,
		 "/usr/bin/python3 client.py \"wss://127.0.0.1:%d/api/v1/namespaces/default/pods/"
		 "web/exec?command=sh&command=-c&command=echo+x%%3Bexit+3&stdout=true&stderr=true\"",
		 f->port);
	assert_int_equal(run(f, cmd, out, sizeof out, err, sizeof err), 0);
	assert_string_equal(out, "'x\\n' 3\n");
}

static void kubectl_exec(void **state)
{
	struct fixture *f = *state;
	char out[4096], err[4096], cmd[4096];
	const char *k = "/usr/bin/kubectl --server=https://127.0.0.1:%d --insecure-skip-tls-verify "
			"--token=t";
	char base[256];
	snprintf(base, sizeof base, k, f->port);
	snprintf(cmd, sizeof cmd, "%s exec web -- sh -c \"echo out; echo err >&2; exit 3\"", base);
	assert_int_equal(run(f, cmd, out, sizeof out, err, sizeof err), 3);
	assert_string_equal(out, "out\n");
	assert_non_null(strstr(err, "err\n"));
	assert_non_null(strstr(err, "command terminated with exit code 3"));
	snprintf(cmd, sizeof cmd, "printf \"hi\\nthere\\n\" | %s exec -i multi -- cat", base);
	assert_int_equal(run(f, cmd, out, sizeof out, err, sizeof err), 0);
	assert_string_equal(out, "hi\nthere\n");
	snprintf(cmd, sizeof cmd, "%s exec web -c nope -- ls", base);
	assert_int_equal(run(f, cmd, out, sizeof out, err, sizeof err), 1);
	assert_non_null(strstr(err, "container nope"));
	snprintf(cmd, sizeof cmd, "%s exec web -c stopped -- ls", base);
	assert_int_equal(run(f, cmd, out, sizeof out, err, sizeof err), 1);
	assert_non_null(strstr(err, "container stopped is not running"));
	/* A kubectl held to SPDY gets a clear answer, not a hang. */
	snprintf(cmd, sizeof cmd, "KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false %s exec web -- ls", base);
	assert_int_equal(run(f, cmd, out, sizeof out, err, sizeof err), 1);
	assert_non_null(strstr(err, "SPDY is not supported"));
}

int main(void)
{
	const struct CMUnitTest pure[] = {
		cmocka_unit_test(accept_key_rfc_example),
		cmocka_unit_test(frames_masked_and_unmasked),
		cmocka_unit_test(fragments_with_control_frames_between),
		cmocka_unit_test(lengths_16_and_64_bit),
		cmocka_unit_test(oversize_messages),
		cmocka_unit_test(protocol_errors),
		cmocka_unit_test(handshake_checks),
		cmocka_unit_test(exec_options_and_pod_rules),
	};
	const struct CMUnitTest served[] = {
		cmocka_unit_test(echo_basics),
		cmocka_unit_test(echo_protocol_errors),
		cmocka_unit_test(bad_handshake_keeps_the_connection),
		cmocka_unit_test(exec_stdout_stderr_and_exit_code),
		cmocka_unit_test(exec_stdin_ends_with_the_v5_close_signal),
		cmocka_unit_test(exec_older_protocols),
		cmocka_unit_test(exec_with_a_terminal),
		cmocka_unit_test(exec_errors_before_the_upgrade),
		cmocka_unit_test(exec_hook_failure_comes_on_the_error_channel),
		cmocka_unit_test(exec_client_leaving_kills_the_command),
		cmocka_unit_test(exec_slow_client_is_not_cut_off),
		cmocka_unit_test(python_kubernetes_client),
		cmocka_unit_test(kubectl_exec),
	};
	int failed = cmocka_run_group_tests_name("websocket", pure, NULL, NULL);
	failed += cmocka_run_group_tests_name("exec", served, group_setup, group_teardown);
	return failed;
}
