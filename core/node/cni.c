/*
 * Running CNI plugins (see cni.h): one child process per plugin call,
 * environment and stdin as the spec says, stdout/stderr collected under a
 * deadline, errors turned into one line.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "../base/buf.h"
#include "../base/err.h"
#include "../base/proc.h"
#include "cni.h"
#include "netns.h"

#define PLUGIN_TIMEOUT_MS 60000
#define MAX_STDOUT (4u << 20)
#define MAX_STDERR (64u << 10)
#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

extern char **environ;

/* What stays the same for every plugin of one ADD or DEL. */
struct call {
	const struct cni_network *n;
	const char *command;      /* "ADD" / "DEL" */
	const char *container_id;
	const char *netns;        /* "" when gone (DEL only) */
	const char *args;         /* CNI_ARGS */
};

/* Newlines and tabs to spaces, trailing blanks dropped: errmsg is one line. */
static void one_line(char *s)
{
	size_t n = strlen(s);
	for (size_t i = 0; i < n; i++)
		if (s[i] == '\n' || s[i] == '\r' || s[i] == '\t')
			s[i] = ' ';
	while (n > 0 && s[n - 1] == ' ')
		s[--n] = '\0';
}

/* The plugin's complaint: {code,msg,details} on stdout (spec), else the
 * last line of stderr, else how it ended. */
static void plugin_error(const char *type, const struct call *c, struct mk_buf *out,
			 struct mk_buf *err, const char *how, char *errmsg, size_t len)
{
	json_t *j = out->len ? json_loadb((const char *)out->data, out->len, 0, NULL) : NULL;
	const char *msg = json_string_value(json_object_get(j, "msg"));
	const char *details = json_string_value(json_object_get(j, "details"));
	if (msg != NULL && details != NULL && details[0] != '\0' && !strstr(msg, details))
		snprintf(errmsg, len, "cni %s %s: %s: %s", type, c->command, msg, details);
	else if (msg != NULL)
		snprintf(errmsg, len, "cni %s %s: %s", type, c->command, msg);
	else if (err->len > 0 && mk_buf_append_zeros(err, 1) == MK_OK) {
		char *s = (char *)err->data, *end = s + strlen(s);
		while (end > s && (end[-1] == '\n' || end[-1] == ' '))
			*--end = '\0';
		char *nl = strrchr(s, '\n');
		snprintf(errmsg, len, "cni %s %s: %s (%s)", type, c->command, nl ? nl + 1 : s, how);
	} else
		snprintf(errmsg, len, "cni %s %s: %s", type, c->command, how);
	json_decref(j);
	one_line(errmsg);
}

/* Runs one plugin.  *result (may be NULL: not wanted) gets its parsed
 * stdout, or NULL if it printed nothing. */
static int run_plugin(const struct call *c, const char *type, const char *ifname,
		      json_t *config, json_t **result, char *errmsg, size_t len)
{
	char path[PATH_MAX + 256], how[64], spawn_err[PATH_MAX + 128];
	char e_cmd[32], e_id[160], e_ns[PATH_MAX + 16], e_if[32], e_args[1200],
		e_path[PATH_MAX + 16], e_syspath[1024];
	struct mk_buf out = MK_BUF_INIT, err = MK_BUF_INIT;
	int status = 0, rv;

	if (result != NULL)
		*result = NULL;
	snprintf(path, sizeof path, "%s/%s", c->n->plugin_dir, type);
	if (access(path, X_OK) != 0) {
		snprintf(errmsg, len, "cni %s %s: plugin %s not found: %s", type, c->command, path,
			 strerror(errno));
		return MK_ENOTFOUND;
	}
	char *in = json_dumps(config, JSON_COMPACT);
	if (in == NULL) {
		snprintf(errmsg, len, "cni %s %s: out of memory", type, c->command);
		return MK_ENOMEM;
	}
	const char *sys_path = getenv("PATH");
	snprintf(e_cmd, sizeof e_cmd, "CNI_COMMAND=%s", c->command);
	snprintf(e_id, sizeof e_id, "CNI_CONTAINERID=%s", c->container_id);
	snprintf(e_ns, sizeof e_ns, "CNI_NETNS=%s", c->netns);
	snprintf(e_if, sizeof e_if, "CNI_IFNAME=%s", ifname);
	snprintf(e_args, sizeof e_args, "CNI_ARGS=%s", c->args);
	snprintf(e_path, sizeof e_path, "CNI_PATH=%s", c->n->plugin_dir);
	/* The plugins run iptables, ip6tables and sysctl by name. */
	snprintf(e_syspath, sizeof e_syspath, "PATH=%s", sys_path ? sys_path : DEFAULT_PATH);
	char *env[] = {e_cmd, e_id, e_ns, e_if, e_args, e_path, e_syspath, NULL};

	char *argv[] = {path, NULL};
	rv = mk_proc_run(argv, env, in, strlen(in), PLUGIN_TIMEOUT_MS, &out, MAX_STDOUT, &err, MAX_STDERR,
			 &status, spawn_err,
			   sizeof spawn_err);
	free(in);
	if (rv != MK_OK) {
		snprintf(errmsg, len, "cni %s %s: %s", type, c->command, spawn_err);
		goto out;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		if (WIFSIGNALED(status))
			snprintf(how, sizeof how, "killed by signal %d", WTERMSIG(status));
		else
			snprintf(how, sizeof how, "exit status %d", WEXITSTATUS(status));
		plugin_error(type, c, &out, &err, how, errmsg, len);
		rv = MK_EIO;
		goto out;
	}
	if (result != NULL && out.len > 0) {
		json_error_t jerr;
		*result = json_loadb((const char *)out.data, out.len, 0, &jerr);
		if (*result == NULL || !json_is_object(*result)) {
			json_decref(*result);
			*result = NULL;
			snprintf(errmsg, len, "cni %s %s: result is not a JSON object: %s", type,
				 c->command, jerr.text);
			one_line(errmsg);
			rv = MK_EIO;
		}
	}
out:
	mk_buf_free(&out);
	mk_buf_free(&err);
	return rv;
}

static json_t *loopback_config(void)
{
	return json_pack("{s:s, s:s, s:s}", "cniVersion", "1.0.0", "name", "cni-loopback",
			 "type", "loopback");
}

/* DEL of every plugin of the list, last first, then loopback.  stop:
 * return at the first failure (a real DEL, as the spec says); otherwise
 * carry on (undoing a failed ADD, where every step is best effort). */
static int del_all(const struct call *add, json_t *list, json_t *prev,
		   const struct cni_port_mapping *ports, size_t n_ports, bool stop,
		   char *errmsg, size_t len)
{
	struct call del = *add, *c = &del;
	json_t *plugins = json_object_get(list, "plugins");
	char scratch[256];
	int rv = MK_OK;

	del.command = "DEL";
	for (size_t i = json_array_size(plugins); i-- > 0;) {
		json_t *p = json_array_get(plugins, i);
		json_t *cfg = cni_plugin_config(list, p, prev, ports, n_ports);
		const char *type = json_string_value(json_object_get(p, "type"));
		int r = cfg ? run_plugin(c, type, "eth0", cfg, NULL, stop ? errmsg : scratch,
					 stop ? len : sizeof scratch)
			    : MK_ENOMEM;
		json_decref(cfg);
		if (r != MK_OK && stop) {
			if (r == MK_ENOMEM)
				snprintf(errmsg, len, "cni %s DEL: out of memory", type);
			return r;
		}
	}
	if (c->netns[0] != '\0') {
		json_t *lo = loopback_config();
		rv = lo ? run_plugin(c, "loopback", "lo", lo, NULL, stop ? errmsg : scratch,
				     stop ? len : sizeof scratch)
			: MK_ENOMEM;
		json_decref(lo);
		if (rv == MK_ENOMEM && stop)
			snprintf(errmsg, len, "cni loopback DEL: out of memory");
	}
	return stop ? rv : MK_OK;
}

/* Runs "TOOL --wait -t nat ARGS..." quietly: a rule or chain that is
 * already gone is what we want anyway. */
static void run_nat(const char *tool, const char *const *args)
{
	char *argv[16] = {(char *)tool, "--wait", "-t", "nat"};
	char e_path[1024], why[PATH_MAX + 128];
	const char *sys_path = getenv("PATH");
	struct mk_buf out = MK_BUF_INIT, err = MK_BUF_INIT;
	int status, n = 4;

	for (; args[n - 4] != NULL && n < 15; n++)
		argv[n] = (char *)args[n - 4];
	argv[n] = NULL;
	snprintf(e_path, sizeof e_path, "PATH=%s", sys_path ? sys_path : DEFAULT_PATH);
	char *env[] = {e_path, NULL};
	mk_proc_run(argv, env, "", 0, PLUGIN_TIMEOUT_MS, &out, MAX_STDOUT, &err, MAX_STDERR, &status,
		    why, sizeof why);
	mk_buf_free(&out);
	mk_buf_free(&err);
}

/* The bridge plugin finds its ipMasq rules through the addresses on eth0
 * inside the namespace: with the namespace gone its DEL leaves them.  So
 * we remove them as the plugin would (plugins/pkg/ip TeardownIPMasq),
 * from the cached ADD result: a POSTROUTING jump per address to the chain
 * "CNI-" + sha512(network name + container ID)[:24 hex], then the chain. */
static void masq_teardown(const struct call *c, json_t *list, json_t *prev)
{
	const char *name = json_string_value(json_object_get(list, "name"));
	unsigned char md[EVP_MAX_MD_SIZE];
	char chain[32], comment[512], addr[64];
	bool masq = false, v4 = false, v6 = false;
	size_t i;
	json_t *p, *ip;

	json_array_foreach(json_object_get(list, "plugins"), i, p) {
		const char *type = json_string_value(json_object_get(p, "type"));
		if (type != NULL && strcmp(type, "bridge") == 0 &&
		    json_is_true(json_object_get(p, "ipMasq")))
			masq = true;
	}
	snprintf(comment, sizeof comment, "%s%s", name, c->container_id);
	if (!masq || prev == NULL ||
	    !EVP_Digest(comment, strlen(comment), md, NULL, EVP_sha512(), NULL))
		return;
	snprintf(chain, sizeof chain, "CNI-");
	for (int k = 0; k < 12; k++)
		snprintf(chain + 4 + 2 * k, 3, "%02x", md[k]);
	snprintf(comment, sizeof comment, "name: \"%s\" id: \"%s\"", name, c->container_id);
	json_array_foreach(json_object_get(prev, "ips"), i, ip) {
		snprintf(addr, sizeof addr, "%s",
			 json_string_value(json_object_get(ip, "address")) ?: "");
		char *slash = strchr(addr, '/');
		if (slash == NULL)
			continue;
		*slash = '\0';
		bool six = strchr(addr, ':') != NULL;
		v6 |= six;
		v4 |= !six;
		run_nat(six ? "ip6tables" : "iptables",
			(const char *const[]){"-D", "POSTROUTING", "-s", addr, "-j", chain, "-m",
					      "comment", "--comment", comment, NULL});
	}
	for (int k = 0; k < 2; k++) {
		const char *tool = k == 0 ? "iptables" : "ip6tables";
		if (k == 0 ? !v4 : !v6)
			continue;
		run_nat(tool, (const char *const[]){"-F", chain, NULL});
		run_nat(tool, (const char *const[]){"-X", chain, NULL});
	}
}

/* Everything cni_add and cni_del check before running anything. */
static int prepare(struct call *c, const struct cni_network *n, const char *command,
		   const char *container_id, const char *netns_path, const char *pod_namespace,
		   const char *pod_name, const char *pod_uid, const struct cni_port_mapping *ports,
		   size_t n_ports, char *args, size_t args_len, json_t **list, char *errmsg,
		   size_t len)
{
	int rv = cni_network_check(n, errmsg, len);
	if (rv == MK_OK)
		rv = cni_call_check(container_id, pod_namespace, pod_name, pod_uid, ports, n_ports,
				    args, args_len, errmsg, len);
	if (rv == MK_OK && (netns_path == NULL || netns_path[0] != '/')) {
		snprintf(errmsg, len, "cni: netns path must be absolute: \"%s\"",
			 netns_path ? netns_path : "");
		rv = MK_EINVAL;
	}
	if (rv == MK_OK)
		rv = cni_conflist_load(n, list, errmsg, len);
	*c = (struct call){.n = n, .command = command, .container_id = container_id,
			   .netns = netns_path, .args = args};
	return rv;
}

int cni_add(const struct cni_network *n, const char *container_id, const char *netns_path,
	    const char *pod_namespace, const char *pod_name, const char *pod_uid,
	    const struct cni_port_mapping *ports, size_t n_ports, struct cni_attachment *out,
	    char *errmsg, size_t len)
{
	char args[1024];
	struct call c;
	json_t *list = NULL, *prev = NULL, *res = NULL;
	int rv = prepare(&c, n, "ADD", container_id, netns_path, pod_namespace, pod_name,
			 pod_uid, ports, n_ports, args, sizeof args, &list, errmsg, len);
	if (rv != MK_OK)
		return rv;
	if (!netns_exists(netns_path)) {
		snprintf(errmsg, len, "cni: %s is not a network namespace", netns_path);
		rv = MK_EINVAL;
		goto out;
	}
	json_t *lo = loopback_config();
	rv = lo ? run_plugin(&c, "loopback", "lo", lo, NULL, errmsg, len) : MK_ENOMEM;
	json_decref(lo);
	if (rv != MK_OK)
		goto err_undo;
	size_t i;
	json_t *p;
	json_array_foreach(json_object_get(list, "plugins"), i, p) {
		json_t *cfg = cni_plugin_config(list, p, prev, ports, n_ports);
		const char *type = json_string_value(json_object_get(p, "type"));
		rv = cfg ? run_plugin(&c, type, "eth0", cfg, &res, errmsg, len) : MK_ENOMEM;
		json_decref(cfg);
		if (rv != MK_OK)
			goto err_undo;
		/* A plugin that prints nothing passes the previous result on. */
		if (res != NULL) {
			json_decref(prev);
			prev = res;
			res = NULL;
		}
	}
	rv = cni_result_attachment(prev, out, errmsg, len);
	if (rv != MK_OK)
		goto err_undo;
	/* Without the cache a later DEL still works, only without
	 * prevResult: not worth failing the pod for. */
	cni_result_save(n, container_id, prev);
	goto out;

err_undo:
	if (rv == MK_ENOMEM)
		snprintf(errmsg, len, "cni ADD: out of memory");
	/* The spec's answer to a failed ADD: DEL everything, so no lease,
	 * veth or iptables chain is left behind. */
	del_all(&c, list, prev, ports, n_ports, false, NULL, 0);
out:
	json_decref(prev);
	json_decref(list);
	return rv;
}

int cni_del(const struct cni_network *n, const char *container_id, const char *netns_path,
	    const char *pod_namespace, const char *pod_name, const char *pod_uid,
	    const struct cni_port_mapping *ports, size_t n_ports, char *errmsg, size_t len)
{
	char args[1024];
	struct call c;
	json_t *list = NULL;
	int rv = prepare(&c, n, "DEL", container_id, netns_path, pod_namespace, pod_name,
			 pod_uid, ports, n_ports, args, sizeof args, &list, errmsg, len);
	if (rv != MK_OK)
		return rv;
	/* A namespace that is gone (or never was) is an empty CNI_NETNS:
	 * the plugins then release what lives outside it (the address lease,
	 * the port mappings) instead of failing on the path. */
	if (!netns_exists(netns_path))
		c.netns = "";
	json_t *prev = cni_result_load(n, container_id);
	rv = del_all(&c, list, prev, ports, n_ports, true, errmsg, len);
	if (rv == MK_OK && c.netns[0] == '\0')
		masq_teardown(&c, list, prev);
	if (rv == MK_OK)
		cni_result_remove(n, container_id);
	json_decref(prev);
	json_decref(list);
	return rv;
}
