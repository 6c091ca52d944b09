/*
 * Pod networking: netns.h and cni.h against Debian's real CNI plugins
 * (bridge, host-local, loopback, portmap) and against fake plugins that
 * record what the runtime side sent them.
 *
 * Everything the real-plugin tests make is private to this run: a bridge
 * "mkt<pid%1000>", the pod CIDR 10.250.<pid%250>.0/24, container IDs
 * "mktest-<pid>-*", and a temp dir for namespaces, conflist and leases.
 * The teardown removes what is left (listener, CNI state, namespaces, the
 * bridge, the portmap chains if this run created them) even when a test
 * failed.  Needs root and /usr/lib/cni; skipped otherwise.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "../../core/base/err.h"
#include "../../core/node/cni.h"
#include "../../core/node/netns.h"
#include "support.h"

#define PLUGINS "/usr/lib/cni"

static char tmp[64], conf_dir[128], state_dir[128], bridge[16], cidr[32], prefix[32];
static char ns_a[128], ns_b[128], id_a[64], id_b[64];
static struct cni_network net;
static pid_t listener = -1;
static int hostport_chains_existed;
static int host_port;

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof cmd, fmt, ap);
	va_end(ap);
	int rc = system(cmd);
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

/* stdout of a command (static buffer). */
static const char *capture(const char *cmd)
{
	static char buf[1 << 16];
	FILE *p = popen(cmd, "r");
	size_t n = p ? fread(buf, 1, sizeof buf - 1, p) : 0;
	if (p)
		pclose(p);
	buf[n] = '\0';
	return buf;
}

static int can_run(void)
{
	return geteuid() == 0 && access(PLUGINS "/bridge", X_OK) == 0 &&
	       access("/bin/busybox", X_OK) == 0 && access("/usr/bin/nsenter", X_OK) == 0;
}

/* cmocka's skip, saying why. */
#define NEED_NET()                                                                   \
	do {                                                                         \
		if (!can_run()) {                                                    \
			print_message("skipped: needs root, " PLUGINS "/bridge, "    \
				      "/bin/busybox and /usr/bin/nsenter\n");       \
			skip();                                                      \
		}                                                                    \
	} while (0)

static int setup(void **state)
{
	int id = (int)getpid();
	snprintf(tmp, sizeof tmp, "/tmp/mk-cni.XXXXXX");
	if (mkdtemp(tmp) == NULL)
		return -1;
	snprintf(conf_dir, sizeof conf_dir, "%s/args/cni-network", tmp);
	snprintf(state_dir, sizeof state_dir, "%s/var/lib/cni", tmp);
	snprintf(bridge, sizeof bridge, "mkt%d", id % 1000);
	snprintf(prefix, sizeof prefix, "10.250.%d.", id % 250);
	snprintf(cidr, sizeof cidr, "%s0/24", prefix);
	snprintf(ns_a, sizeof ns_a, "%s/pods/a/netns", tmp);
	snprintf(ns_b, sizeof ns_b, "%s/pods/b/netns", tmp);
	snprintf(id_a, sizeof id_a, "mktest-%d-a", id);
	snprintf(id_b, sizeof id_b, "mktest-%d-b", id);
	net = (struct cni_network){PLUGINS, conf_dir, state_dir, bridge, cidr, 0};
	hostport_chains_existed = sh("iptables -t nat -S CNI-HOSTPORT-DNAT >/dev/null 2>&1") == 0;
	return 0;
}

static int teardown(void **state)
{
	char err[256];
	struct cni_port_mapping pm = {host_port, 8080, "tcp", NULL};
	if (listener > 0) {
		kill(listener, SIGKILL);
		waitpid(listener, NULL, 0);
		listener = -1;
	}
	if (can_run()) {
		cni_del(&net, id_a, ns_a, "default", "a", id_a, NULL, 0, err, sizeof err);
		cni_del(&net, id_b, ns_b, "default", "b", id_b, &pm, host_port ? 1 : 0, err,
			sizeof err);
		netns_remove(ns_a, err, sizeof err);
		netns_remove(ns_b, err, sizeof err);
		sh("ip link del %s >/dev/null 2>&1", bridge);
		/* portmap's shared chains stay for the next pod; drop them only if
		 * this run made them and no other pod uses them. */
		if (!hostport_chains_existed &&
		    sh("[ $(iptables -t nat -S CNI-HOSTPORT-DNAT 2>/dev/null | wc -l) = 1 ]") == 0) {
			sh("(iptables -t nat -D PREROUTING -m addrtype --dst-type LOCAL -j "
			   "CNI-HOSTPORT-DNAT; iptables -t nat -D OUTPUT -m addrtype --dst-type "
			   "LOCAL -j CNI-HOSTPORT-DNAT; iptables -t nat -D POSTROUTING -m comment "
			   "--comment 'CNI portfwd requiring masquerade' -j CNI-HOSTPORT-MASQ; "
			   "for c in DNAT MASQ SETMARK; do iptables -t nat -F CNI-HOSTPORT-$c; "
			   "iptables -t nat -X CNI-HOSTPORT-$c; done) >/dev/null 2>&1");
		}
	}
	return sh("rm -rf '%s'", tmp) == 0 ? 0 : -1;
}

/* ---- the conflist (no root needed) ---- */

static void test_network_write(void **state)
{
	char path[256], err[256];
	struct stat st1, st2;
	snprintf(path, sizeof path, "%s/" CNI_CONFLIST_FILE, conf_dir);

	assert_int_equal(cni_network_write(&net, err, sizeof err), 0);
	json_t *j = json_load_file(path, 0, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "name")), CNI_NETWORK_NAME);
	assert_string_equal(json_string_value(json_object_get(j, "cniVersion")), "1.0.0");
	json_t *br = json_array_get(json_object_get(j, "plugins"), 0);
	json_t *pm = json_array_get(json_object_get(j, "plugins"), 1);
	assert_string_equal(json_string_value(json_object_get(br, "type")), "bridge");
	assert_string_equal(json_string_value(json_object_get(br, "bridge")), bridge);
	assert_true(json_is_true(json_object_get(br, "isGateway")));
	assert_true(json_is_true(json_object_get(br, "ipMasq")));
	assert_true(json_is_true(json_object_get(br, "hairpinMode")));
	assert_null(json_object_get(br, "mtu"));
	json_t *ipam = json_object_get(br, "ipam");
	assert_string_equal(json_string_value(json_object_get(ipam, "type")), "host-local");
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_array_get(
				    json_object_get(ipam, "ranges"), 0), 0), "subnet")), cidr);
	assert_non_null(strstr(json_string_value(json_object_get(ipam, "dataDir")), state_dir));
	assert_string_equal(json_string_value(json_object_get(pm, "type")), "portmap");
	assert_true(json_is_true(json_object_get(json_object_get(pm, "capabilities"),
						 "portMappings")));
	assert_true(json_is_true(json_object_get(pm, "snat")));
	json_decref(j);

	/* Unchanged: the file is not touched at all. */
	assert_int_equal(stat(path, &st1), 0);
	assert_int_equal(cni_network_write(&net, err, sizeof err), 0);
	assert_int_equal(stat(path, &st2), 0);
	assert_int_equal(st1.st_ino, st2.st_ino);
	assert_int_equal(st1.st_mtim.tv_nsec, st2.st_mtim.tv_nsec);

	/* Changed: replaced (new inode: rename, never rewritten in place). */
	struct cni_network n2 = net;
	n2.mtu = 1400;
	assert_int_equal(cni_network_write(&n2, err, sizeof err), 0);
	assert_int_equal(stat(path, &st2), 0);
	assert_int_not_equal(st1.st_ino, st2.st_ino);
	j = json_load_file(path, 0, NULL);
	assert_int_equal(json_integer_value(json_object_get(
		json_array_get(json_object_get(j, "plugins"), 0), "mtu")), 1400);
	json_decref(j);
	assert_int_equal(cni_network_write(&net, err, sizeof err), 0);

	/* Bad input: a clear error and the file stays as it was. */
	assert_int_equal(stat(path, &st1), 0);
	struct { const char *field; struct cni_network n; const char *msg; } bad[] = {
		{"bridge", {PLUGINS, conf_dir, state_dir, "has space", cidr, 0}, "bridge name"},
		{"bridge", {PLUGINS, conf_dir, state_dir, "waytoolongbridge0", cidr, 0}, "bridge name"},
		{"cidr", {PLUGINS, conf_dir, state_dir, bridge, "10.1.0.0", 0}, "pod CIDR"},
		{"cidr", {PLUGINS, conf_dir, state_dir, bridge, "10.1.0.0/31", 0}, "pod CIDR"},
		{"cidr", {PLUGINS, conf_dir, state_dir, bridge, "10.1.300.0/16", 0}, "pod CIDR"},
		{"mtu", {PLUGINS, conf_dir, state_dir, bridge, cidr, 20}, "MTU"},
		{"dir", {PLUGINS, "relative", state_dir, bridge, cidr, 0}, "conf_dir"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		err[0] = '\0';
		assert_int_equal(cni_network_write(&bad[i].n, err, sizeof err), MK_EINVAL);
		if (strstr(err, bad[i].msg) == NULL)
			fail_msg("%s: \"%s\" lacks \"%s\"", bad[i].field, err, bad[i].msg);
	}
	assert_int_equal(stat(path, &st2), 0);
	assert_int_equal(st1.st_ino, st2.st_ino);
}

/* ---- fake plugins: what the runtime side sends ---- */

static const char fake_plugin[] =
	"#!/bin/sh\n"
	"me=$(basename \"$0\")\n"
	"d=$(dirname \"$0\")\n"
	"echo \"$CNI_COMMAND $me $CNI_IFNAME $CNI_CONTAINERID [$CNI_NETNS] $CNI_ARGS "
	"$CNI_PATH\" >> \"$d/calls\"\n"
	"cat > \"$d/$me.$CNI_COMMAND.json\"\n"
	"case \"$(cat \"$d/fail\" 2>/dev/null)\" in\n"
	"\"$me.$CNI_COMMAND json\") printf '{\"cniVersion\":\"1.0.0\",\"code\":11,"
	"\"msg\":\"failed to frobnicate\",\"details\":\"eth0\\\\nbusy\"}'; exit 1;;\n"
	"\"$me.$CNI_COMMAND stderr\") echo 'noise' >&2; echo 'it broke here' >&2; exit 3;;\n"
	"esac\n"
	"[ \"$me.$CNI_COMMAND\" = bridge.ADD ] && printf '{\"cniVersion\":\"1.0.0\","
	"\"interfaces\":[{\"name\":\"br\",\"mac\":\"11:11:11:11:11:11\"},{\"name\":\"eth0\","
	"\"mac\":\"aa:bb:cc:dd:ee:ff\",\"sandbox\":\"%s\"}],\"ips\":[{\"interface\":1,"
	"\"address\":\"10.9.9.9/24\",\"gateway\":\"10.9.9.1\"}]}' \"$CNI_NETNS\"\n"
	"exit 0\n";

static void fake_dir(char *dir, size_t len)
{
	snprintf(dir, len, "%s/fake", tmp);
	mkdir(dir, 0700);
	const char *names[] = {"loopback", "bridge", "portmap"};
	for (size_t i = 0; i < 3; i++) {
		char p[256];
		snprintf(p, sizeof p, "%s/%s", dir, names[i]);
		FILE *f = fopen(p, "w");
		assert_non_null(f);
		fputs(fake_plugin, f);
		fclose(f);
		chmod(p, 0755);
	}
}

static json_t *fake_stdin(const char *dir, const char *name)
{
	char p[256];
	snprintf(p, sizeof p, "%s/%s.json", dir, name);
	json_t *j = json_load_file(p, 0, NULL);
	if (j == NULL)
		fail_msg("%s: no stdin recorded", p);
	return j;
}

static void test_protocol(void **state)
{
	char dir[128], err[256], calls[256], want[2048];
	struct cni_attachment att;
	struct cni_port_mapping pm[] = {{8081, 80, "tcp", NULL}, {5353, 53, "udp", "127.0.0.1"}};
	NEED_NET();
	fake_dir(dir, sizeof dir);
	struct cni_network n = net;
	n.plugin_dir = dir;
	snprintf(calls, sizeof calls, "%s/calls", dir);
	assert_int_equal(cni_network_write(&n, err, sizeof err), 0);
	assert_int_equal(netns_create(ns_a, err, sizeof err), 0);

	int rv = cni_add(&n, id_a, ns_a, "kube-system", "web-0", "uid-1", pm, 2, &att, err,
			 sizeof err);
	if (rv != 0)
		fail_msg("cni_add: %s", err);
	assert_string_equal(att.ip, "10.9.9.9");
	assert_string_equal(att.gateway, "10.9.9.1");
	assert_string_equal(att.mac, "aa:bb:cc:dd:ee:ff");
	const char *args = "IgnoreUnknown=1;K8S_POD_NAMESPACE=kube-system;K8S_POD_NAME=web-0;"
			   "K8S_POD_INFRA_CONTAINER_ID=";
	snprintf(want, sizeof want,
		 "ADD loopback lo %1$s [%2$s] %3$s%1$s;K8S_POD_UID=uid-1 %4$s\n"
		 "ADD bridge eth0 %1$s [%2$s] %3$s%1$s;K8S_POD_UID=uid-1 %4$s\n"
		 "ADD portmap eth0 %1$s [%2$s] %3$s%1$s;K8S_POD_UID=uid-1 %4$s\n",
		 id_a, ns_a, args, dir);
	snprintf(err, sizeof err, "cat '%s'", calls);
	assert_string_equal(capture(err), want);

	/* name and cniVersion from the list; runtimeConfig only where the
	 * capability is declared; prevResult from the previous plugin. */
	json_t *b = fake_stdin(dir, "bridge.ADD"), *p = fake_stdin(dir, "portmap.ADD");
	assert_string_equal(json_string_value(json_object_get(b, "name")), CNI_NETWORK_NAME);
	assert_string_equal(json_string_value(json_object_get(b, "cniVersion")), "1.0.0");
	assert_null(json_object_get(b, "runtimeConfig"));
	assert_null(json_object_get(b, "prevResult"));
	assert_string_equal(json_string_value(json_object_get(p, "name")), CNI_NETWORK_NAME);
	json_t *maps = json_object_get(json_object_get(p, "runtimeConfig"), "portMappings");
	assert_int_equal(json_array_size(maps), 2);
	json_t *m1 = json_array_get(maps, 1);
	assert_int_equal(json_integer_value(json_object_get(m1, "hostPort")), 5353);
	assert_int_equal(json_integer_value(json_object_get(m1, "containerPort")), 53);
	assert_string_equal(json_string_value(json_object_get(m1, "protocol")), "udp");
	assert_string_equal(json_string_value(json_object_get(m1, "hostIP")), "127.0.0.1");
	assert_null(json_object_get(json_array_get(maps, 0), "hostIP"));
	json_t *prev = json_object_get(p, "prevResult");
	assert_string_equal(json_string_value(json_object_get(json_array_get(
				    json_object_get(prev, "ips"), 0), "address")), "10.9.9.9/24");
	json_decref(b);
	json_decref(p);

	/* DEL: reverse order, loopback last, the cached ADD result as
	 * prevResult (portmap printed nothing: bridge's result carried on). */
	unlink(calls);
	assert_int_equal(cni_del(&n, id_a, ns_a, "kube-system", "web-0", "uid-1", pm, 2, err,
				 sizeof err), 0);
	snprintf(err, sizeof err, "cut -d' ' -f1-3 '%s' | tr '\\n' ,", calls);
	assert_string_equal(capture(err), "DEL portmap eth0,DEL bridge eth0,DEL loopback lo,");
	p = fake_stdin(dir, "portmap.DEL");
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(
		json_object_get(p, "prevResult"), "ips"), 0), "gateway")), "10.9.9.1");
	assert_int_equal(json_array_size(json_object_get(json_object_get(p, "runtimeConfig"),
							 "portMappings")), 2);
	json_decref(p);

	/* A namespace that is gone: empty CNI_NETNS, loopback not called. */
	unlink(calls);
	assert_int_equal(netns_remove(ns_a, err, sizeof err), 0);
	assert_int_equal(cni_del(&n, id_a, ns_a, "kube-system", "web-0", "uid-1", NULL, 0, err,
				 sizeof err), 0);
	snprintf(err, sizeof err, "cut -d' ' -f1-5 '%s' | tr '\\n' ,", calls);
	snprintf(want, sizeof want, "DEL portmap eth0 %1$s [],DEL bridge eth0 %1$s [],", id_a);
	assert_string_equal(capture(err), want);
}

static void test_plugin_errors(void **state)
{
	char dir[128], err[256], path[256], calls[256];
	struct cni_attachment att;
	NEED_NET();
	fake_dir(dir, sizeof dir);
	struct cni_network n = net;
	n.plugin_dir = dir;
	snprintf(calls, sizeof calls, "%s/calls", dir);
	snprintf(path, sizeof path, "%s/fail", dir);
	assert_int_equal(cni_network_write(&n, err, sizeof err), 0);
	assert_int_equal(netns_create(ns_a, err, sizeof err), 0);

	/* The spec's error JSON becomes one line; the failed ADD is undone
	 * with DEL of every plugin, in reverse. */
	FILE *f = fopen(path, "w");
	fputs("portmap.ADD json", f);
	fclose(f);
	assert_int_equal(cni_add(&n, id_a, ns_a, "default", "a", "u", NULL, 0, &att, err,
				 sizeof err), MK_EIO);
	assert_string_equal(err, "cni portmap ADD: failed to frobnicate: eth0 busy");
	snprintf(path, sizeof path, "cut -d' ' -f1,2 '%s' | tr '\\n' ,", calls);
	assert_string_equal(capture(path), "ADD loopback,ADD bridge,ADD portmap,DEL portmap,"
					   "DEL bridge,DEL loopback,");

	/* No JSON: the last line of stderr and the exit status. */
	snprintf(path, sizeof path, "%s/fail", dir);
	f = fopen(path, "w");
	fputs("bridge.DEL stderr", f);
	fclose(f);
	assert_int_equal(cni_del(&n, id_a, ns_a, "default", "a", "u", NULL, 0, err, sizeof err),
			 MK_EIO);
	assert_string_equal(err, "cni bridge DEL: it broke here (exit status 3)");

	/* Bad arguments are refused before any plugin runs. */
	unlink(calls);
	struct cni_port_mapping bad_port = {0, 80, "tcp", NULL};
	struct cni_port_mapping bad_proto = {80, 80, "icmp", NULL};
	assert_int_equal(cni_add(&n, "-bad", ns_a, "default", "a", "u", NULL, 0, &att, err,
				 sizeof err), MK_EINVAL);
	assert_non_null(strstr(err, "container ID"));
	assert_int_equal(cni_add(&n, id_a, ns_a, "default", "a;b", "u", NULL, 0, &att, err,
				 sizeof err), MK_EINVAL);
	assert_non_null(strstr(err, "pod name"));
	assert_int_equal(cni_add(&n, id_a, ns_a, "default", "a", "u", &bad_port, 1, &att, err,
				 sizeof err), MK_EINVAL);
	assert_int_equal(cni_add(&n, id_a, ns_a, "default", "a", "u", &bad_proto, 1, &att, err,
				 sizeof err), MK_EINVAL);
	assert_non_null(strstr(err, "icmp"));
	assert_int_equal(cni_add(&n, id_a, "/nonexistent/netns", "default", "a", "u", NULL, 0,
				 &att, err, sizeof err), MK_EINVAL);
	assert_non_null(strstr(err, "not a network namespace"));
	assert_int_equal(access(calls, F_OK), -1);

	/* A missing plugin directory: a clear error, nothing run. */
	n.plugin_dir = "/nonexistent/cni";
	assert_int_equal(cni_add(&n, id_a, ns_a, "default", "a", "u", NULL, 0, &att, err,
				 sizeof err), MK_ENOTFOUND);
	assert_non_null(strstr(err, "cni loopback ADD: plugin /nonexistent/cni/loopback not found"));
	/* And a conf dir never written. */
	n = net;
	n.conf_dir = "/nonexistent/conf";
	assert_int_equal(cni_add(&n, id_a, ns_a, "default", "a", "u", NULL, 0, &att, err,
				 sizeof err), MK_ENOTFOUND);
	assert_non_null(strstr(err, "never written"));
	assert_int_equal(netns_remove(ns_a, err, sizeof err), 0);
}

/* ---- the real plugins ---- */

static int in_cidr(const char *ip)
{
	struct in_addr a;
	size_t n = strlen(prefix);
	if (inet_pton(AF_INET, ip, &a) != 1 || strncmp(ip, prefix, n) != 0)
		return 0;
	int last = atoi(ip + n);
	return last >= 2 && last <= 254; /* .1 is the bridge, host-local's gateway */
}

static int ping_from(const char *ns, const char *ip)
{
	int64_t deadline = test_now_ms() + 10000;
	do {
		if (sh("nsenter --net=%s /bin/busybox ping -c1 -W1 %s >/dev/null 2>&1", ns, ip) == 0)
			return 1;
	} while (test_now_ms() < deadline);
	return 0;
}

/* Connects to ip:port until the listener answers (it may still be
 * starting) or 10 s passed; returns what it said. */
static const char *fetch(const char *ip, int port)
{
	static char buf[128];
	int64_t deadline = test_now_ms() + 10000;
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	inet_pton(AF_INET, ip, &sa.sin_addr);
	do {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		struct timeval tv = {2, 0};
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
		size_t n = 0;
		if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0) {
			ssize_t r;
			while (n < sizeof buf - 1 && (r = read(fd, buf + n, sizeof buf - 1 - n)) > 0)
				n += (size_t)r;
		}
		close(fd);
		buf[n] = '\0';
		if (n > 0)
			return buf;
	} while (test_now_ms() < deadline);
	return "";
}

static int nat_mentions(const char *id)
{
	char cmd[256];
	/* Comments read name: \"mk-pod-network\" id: \"<id>\" */
	snprintf(cmd, sizeof cmd, "iptables -t nat -S 2>/dev/null | grep -cF '%s'", id);
	return atoi(capture(cmd));
}

static int lease_exists(const char *ip)
{
	char p[256];
	snprintf(p, sizeof p, "%s/networks/%s/%s", state_dir, CNI_NETWORK_NAME, ip);
	return access(p, F_OK) == 0;
}

struct add_job {
	const char *id, *ns, *name;
	const struct cni_port_mapping *ports;
	size_t n_ports;
	struct cni_attachment att;
	int rv;
	char err[256];
};

static void *add_thread(void *arg)
{
	struct add_job *j = arg;
	j->rv = cni_add(&net, j->id, j->ns, "default", j->name, j->id, j->ports, j->n_ports,
			&j->att, j->err, sizeof j->err);
	return NULL;
}

static void test_pods(void **state)
{
	char err[256], cmd[512];
	NEED_NET();
	host_port = test_free_port();
	struct cni_port_mapping pm = {host_port, 8080, "tcp", NULL};
	assert_int_equal(cni_network_write(&net, err, sizeof err), 0);
	assert_int_equal(netns_create(ns_a, err, sizeof err), 0);
	assert_int_equal(netns_create(ns_b, err, sizeof err), 0);
	assert_int_equal(netns_exists(ns_a), 1);
	assert_int_equal(netns_create(ns_a, err, sizeof err), MK_EEXISTS);

	/* Two pod workers at once. */
	struct add_job a = {.id = id_a, .ns = ns_a, .name = "a"};
	struct add_job b = {.id = id_b, .ns = ns_b, .name = "b", .ports = &pm, .n_ports = 1};
	pthread_t ta, tb;
	assert_int_equal(pthread_create(&ta, NULL, add_thread, &a), 0);
	assert_int_equal(pthread_create(&tb, NULL, add_thread, &b), 0);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	if (a.rv != 0 || b.rv != 0)
		fail_msg("cni_add: a: %s / b: %s", a.rv ? a.err : "ok", b.rv ? b.err : "ok");
	if (!in_cidr(a.att.ip) || !in_cidr(b.att.ip) || strcmp(a.att.ip, b.att.ip) == 0)
		fail_msg("addresses %s and %s: not two distinct addresses of %s", a.att.ip,
			 b.att.ip, cidr);
	char gw[32];
	snprintf(gw, sizeof gw, "%s1", prefix);
	assert_string_equal(a.att.gateway, gw);
	assert_int_equal(strlen(a.att.mac), 17);
	assert_true(lease_exists(a.att.ip) && lease_exists(b.att.ip));
	snprintf(cmd, sizeof cmd, "nsenter --net=%s ip -o -4 addr show dev eth0", ns_a);
	assert_non_null(strstr(capture(cmd), a.att.ip));
	assert_true(nat_mentions(id_a) > 0);  /* ipMasq */
	assert_true(nat_mentions(id_b) > 0);

	/* Pod to pod, pod to the bridge (host). */
	assert_true(ping_from(ns_a, b.att.ip));
	assert_true(ping_from(ns_b, gw));

	/* hostPort: a server in b, reached from the host on 127.0.0.1 and on
	 * the bridge address, and from pod a straight at b's address. */
	listener = fork();
	assert_true(listener >= 0);
	if (listener == 0) {
		char netarg[160];
		snprintf(netarg, sizeof netarg, "--net=%s", ns_b);
		execl("/usr/bin/nsenter", "nsenter", netarg, "/bin/busybox", "nc", "-ll", "-p",
		      "8080", "-e", "/bin/echo", "hello-from-b", (char *)NULL);
		_exit(127);
	}
	assert_string_equal(fetch("127.0.0.1", host_port), "hello-from-b\n");
	assert_string_equal(fetch(gw, host_port), "hello-from-b\n");
	snprintf(cmd, sizeof cmd, "nsenter --net=%s /bin/busybox nc -w 5 %s 8080 </dev/null",
		 ns_a, b.att.ip);
	assert_string_equal(capture(cmd), "hello-from-b\n");
	kill(listener, SIGKILL);
	waitpid(listener, NULL, 0);
	listener = -1;

	/* DEL releases the leases and the rules; a second DEL is fine. */
	assert_int_equal(cni_del(&net, id_a, ns_a, "default", "a", id_a, NULL, 0, err,
				 sizeof err), 0);
	assert_int_equal(cni_del(&net, id_b, ns_b, "default", "b", id_b, &pm, 1, err,
				 sizeof err), 0);
	assert_false(lease_exists(a.att.ip));
	assert_false(lease_exists(b.att.ip));
	assert_int_equal(nat_mentions(id_a), 0);
	assert_int_equal(nat_mentions(id_b), 0);
	snprintf(cmd, sizeof cmd, "iptables -t nat -S | grep -c -- '--dport %d '", host_port);
	assert_int_equal(atoi(capture(cmd)), 0);
	snprintf(cmd, sizeof cmd, "nsenter --net=%s ip -o link show dev eth0 2>&1", ns_a);
	assert_non_null(strstr(capture(cmd), "does not exist"));
	assert_int_equal(cni_del(&net, id_b, ns_b, "default", "b", id_b, &pm, 1, err,
				 sizeof err), 0);

	/* The namespaces go, with every mount this made. */
	assert_int_equal(netns_remove(ns_a, err, sizeof err), 0);
	assert_int_equal(netns_remove(ns_b, err, sizeof err), 0);
	assert_int_equal(netns_exists(ns_a), 0);
	assert_int_equal(netns_remove(ns_b, err, sizeof err), 0);
	assert_int_equal(access(ns_a, F_OK), -1);
	snprintf(cmd, sizeof cmd, "grep -c ' %s' /proc/self/mountinfo", tmp);
	assert_int_equal(atoi(capture(cmd)), 0);
	/* DEL after the namespace is gone still succeeds. */
	assert_int_equal(cni_del(&net, id_a, ns_a, "default", "a", id_a, NULL, 0, err,
				 sizeof err), 0);

	/* A namespace removed before DEL (by hand, or a crash in between):
	 * the lease and the masquerade rules still go. */
	assert_int_equal(netns_create(ns_a, err, sizeof err), 0);
	assert_int_equal(cni_add(&net, id_a, ns_a, "default", "a", id_a, NULL, 0, &a.att, err,
				 sizeof err), 0);
	assert_true(nat_mentions(id_a) > 0);
	assert_int_equal(netns_remove(ns_a, err, sizeof err), 0);
	if (cni_del(&net, id_a, ns_a, "default", "a", id_a, NULL, 0, err, sizeof err) != 0)
		fail_msg("cni_del without namespace: %s", err);
	assert_false(lease_exists(a.att.ip));
	assert_int_equal(nat_mentions(id_a), 0);
}

static void test_netns_paths(void **state)
{
	char err[256], path[160];
	if (geteuid() != 0) {
		print_message("skipped: needs root (mounts)\n");
		skip();
	}
	assert_int_equal(netns_create("relative/ns", err, sizeof err), MK_EINVAL);
	assert_non_null(strstr(err, "absolute"));
	assert_int_equal(netns_remove("relative/ns", err, sizeof err), MK_EINVAL);
	/* Absent: removal is a no-op. */
	snprintf(path, sizeof path, "%s/none/netns", tmp);
	assert_int_equal(netns_remove(path, err, sizeof err), 0);
	assert_int_equal(netns_exists(path), 0);
	/* A plain file is not a namespace, and create will not take it over. */
	snprintf(path, sizeof path, "%s/plain", tmp);
	FILE *f = fopen(path, "w");
	fclose(f);
	assert_int_equal(netns_exists(path), 0);
	assert_int_equal(netns_create(path, err, sizeof err), MK_EEXISTS);
	assert_int_equal(netns_exists(tmp), 0);
	/* Created parents are 0700. */
	snprintf(path, sizeof path, "%s/deep/er/netns", tmp);
	assert_int_equal(netns_create(path, err, sizeof err), 0);
	struct stat st;
	snprintf(path, sizeof path, "%s/deep/er", tmp);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	snprintf(path, sizeof path, "%s/deep/er/netns", tmp);
	assert_int_equal(netns_exists(path), 1);
	assert_int_equal(netns_remove(path, err, sizeof err), 0);
	assert_int_equal(netns_exists(path), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_network_write, setup, teardown),
		cmocka_unit_test_setup_teardown(test_netns_paths, setup, teardown),
		cmocka_unit_test_setup_teardown(test_protocol, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plugin_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pods, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
