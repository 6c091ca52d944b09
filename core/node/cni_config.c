/*
 * The pod network's conflist: validation, generation, atomic write, and
 * the per-plugin stdin the spec asks the runtime to build from it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "../base/err.h"
#include "../base/fs.h"
#include "cni.h"

#define CNI_VERSION "1.0.0"
#define CNI_ALNUM "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
#define CNI_ID_CHARS CNI_ALNUM "_.-"

/* mk_mkdir_p with the error as one line. */
static int mkdirs(const char *dir, char *errmsg, size_t len)
{
	if (mk_mkdir_p(dir, 0700) == 0)
		return MK_OK;
	snprintf(errmsg, len, "cni: cannot create %s: %s", dir, strerror(errno));
	return MK_EIO;
}

static int check_dir(const char *what, const char *dir, char *errmsg, size_t len)
{
	if (dir == NULL || dir[0] != '/' || strlen(dir) > PATH_MAX - 128) {
		snprintf(errmsg, len, "cni: %s must be an absolute path: \"%s\"", what,
			 dir ? dir : "");
		return MK_EINVAL;
	}
	return MK_OK;
}

/* "a.b.c.d/p" or "x::y/p" with room for a gateway and at least one pod. */
static int check_cidr(const char *cidr, char *errmsg, size_t len)
{
	char addr[64];
	unsigned char bin[16];
	const char *slash = cidr ? strchr(cidr, '/') : NULL;
	char *end;

	if (slash == NULL || (size_t)(slash - cidr) >= sizeof addr)
		goto bad;
	memcpy(addr, cidr, (size_t)(slash - cidr));
	addr[slash - cidr] = '\0';
	int v6 = strchr(addr, ':') != NULL;
	if (inet_pton(v6 ? AF_INET6 : AF_INET, addr, bin) != 1)
		goto bad;
	errno = 0;
	long prefix = strtol(slash + 1, &end, 10);
	if (slash[1] < '0' || slash[1] > '9' || *end != '\0' || errno != 0 || prefix < 0 ||
	    prefix > (v6 ? 126 : 30))
		goto bad;
	return MK_OK;
bad:
	snprintf(errmsg, len, "cni: pod CIDR \"%s\" is not an IPv4 (prefix 0-30) or IPv6 "
		 "(prefix 0-126) network", cidr ? cidr : "");
	return MK_EINVAL;
}

int cni_network_check(const struct cni_network *n, char *errmsg, size_t len)
{
	int rv;
	if (n == NULL) {
		snprintf(errmsg, len, "cni: no network");
		return MK_EINVAL;
	}
	if ((rv = check_dir("plugin_dir", n->plugin_dir, errmsg, len)) != MK_OK ||
	    (rv = check_dir("conf_dir", n->conf_dir, errmsg, len)) != MK_OK ||
	    (rv = check_dir("state_dir", n->state_dir, errmsg, len)) != MK_OK)
		return rv;
	/* A Linux interface name: IFNAMSIZ-1 characters, none that ip(8) or
	 * the JSON would trip on. */
	size_t bl = n->bridge ? strlen(n->bridge) : 0;
	if (bl == 0 || bl > 15 || strspn(n->bridge, CNI_ID_CHARS) != bl) {
		snprintf(errmsg, len, "cni: bridge name \"%s\" must be 1-15 of [A-Za-z0-9_.-]",
			 n->bridge ? n->bridge : "");
		return MK_EINVAL;
	}
	if ((rv = check_cidr(n->pod_cidr, errmsg, len)) != MK_OK)
		return rv;
	if (n->mtu != 0 && (n->mtu < 68 || n->mtu > 65535)) {
		snprintf(errmsg, len, "cni: MTU %d is not 0 (default) or 68-65535", n->mtu);
		return MK_EINVAL;
	}
	return MK_OK;
}

static json_t *conflist_build(const struct cni_network *n)
{
	char data_dir[PATH_MAX];
	snprintf(data_dir, sizeof data_dir, "%s/networks", n->state_dir);
	const char *default_route = strchr(n->pod_cidr, ':') ? "::/0" : "0.0.0.0/0";
	json_t *bridge = json_pack(
		"{s:s, s:s, s:b, s:b, s:b, s:{s:s, s:[[{s:s}]], s:[{s:s}], s:s}}",
		"type", "bridge", "bridge", n->bridge, "isGateway", 1, "ipMasq", 1, "hairpinMode", 1,
		"ipam", "type", "host-local", "ranges", "subnet", n->pod_cidr, "routes", "dst",
		default_route, "dataDir", data_dir);
	if (bridge != NULL && n->mtu > 0)
		json_object_set_new(bridge, "mtu", json_integer(n->mtu));
	/* snat: hostPort traffic from the host itself (127.0.0.1) and hairpin
	 * traffic from pods is masqueraded, so replies come back through us. */
	return json_pack("{s:s, s:s, s:[o, {s:s, s:{s:b}, s:b}]}", "cniVersion", CNI_VERSION,
			 "name", CNI_NETWORK_NAME, "plugins", bridge, "type", "portmap",
			 "capabilities", "portMappings", 1, "snat", 1);
}

static void conflist_path(const struct cni_network *n, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", n->conf_dir, CNI_CONFLIST_FILE);
}

/* 1 if path holds exactly text. */
static int same_content(const char *path, const char *text, size_t n)
{
	FILE *f = fopen(path, "re");
	if (f == NULL)
		return 0;
	char *buf = malloc(n + 1);
	size_t got = buf ? fread(buf, 1, n + 1, f) : 0;
	int same = buf != NULL && got == n && memcmp(buf, text, n) == 0;
	free(buf);
	fclose(f);
	return same;
}

static int write_atomic(const char *path, const char *text, size_t n, char *errmsg, size_t len)
{
	char tmp[PATH_MAX + 16];
	snprintf(tmp, sizeof tmp, "%s.XXXXXX", path);
	int fd = mkstemp(tmp);
	if (fd < 0) {
		snprintf(errmsg, len, "cni: cannot create a temp file for %s: %s", path,
			 strerror(errno));
		return MK_EIO;
	}
	size_t off = 0;
	while (off < n) {
		ssize_t w = write(fd, text + off, n - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			goto fail;
		off += (size_t)w;
	}
	if (fchmod(fd, 0644) != 0 || fsync(fd) != 0)
		goto fail;
	if (close(fd) != 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) != 0)
		goto fail;
	return MK_OK;
fail:
	snprintf(errmsg, len, "cni: cannot write %s: %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return MK_EIO;
}

int cni_network_write(const struct cni_network *n, char *errmsg, size_t len)
{
	char path[PATH_MAX + 64];
	int rv = cni_network_check(n, errmsg, len);
	if (rv != MK_OK)
		return rv;
	json_t *list = conflist_build(n);
	char *text = list ? json_dumps(list, JSON_INDENT(2)) : NULL;
	json_decref(list);
	if (text == NULL) {
		snprintf(errmsg, len, "cni: out of memory");
		return MK_ENOMEM;
	}
	size_t tl = strlen(text);
	text[tl++] = '\n'; /* json_dumps leaves room: it ended in '\0' */
	if ((rv = mkdirs(n->conf_dir, errmsg, len)) != MK_OK ||
	    (rv = mkdirs(n->state_dir, errmsg, len)) != MK_OK)
		goto out;
	conflist_path(n, path, sizeof path);
	if (!same_content(path, text, tl))
		rv = write_atomic(path, text, tl, errmsg, len);
out:
	free(text);
	return rv;
}

int cni_conflist_load(const struct cni_network *n, json_t **out, char *errmsg, size_t len)
{
	char path[PATH_MAX + 64];
	json_error_t jerr;
	conflist_path(n, path, sizeof path);
	json_t *list = json_load_file(path, 0, &jerr);
	if (list == NULL) {
		int missing = access(path, F_OK) != 0;
		snprintf(errmsg, len, "cni: %s: %s", path,
			 missing ? "missing (the pod network was never written)" : jerr.text);
		return missing ? MK_ENOTFOUND : MK_EINVAL;
	}
	json_t *plugins = json_object_get(list, "plugins");
	const char *name = json_string_value(json_object_get(list, "name"));
	const char *version = json_string_value(json_object_get(list, "cniVersion"));
	size_t i;
	json_t *p;
	if (name == NULL || version == NULL || !json_is_array(plugins) ||
	    json_array_size(plugins) == 0)
		goto bad;
	json_array_foreach(plugins, i, p) {
		const char *type = json_string_value(json_object_get(p, "type"));
		/* type names an executable in plugin_dir: no path tricks. */
		if (type == NULL || type[0] == '\0' || type[0] == '.' || strchr(type, '/'))
			goto bad;
	}
	*out = list;
	return MK_OK;
bad:
	snprintf(errmsg, len, "cni: %s: not a conflist (name, cniVersion, plugins[].type)", path);
	json_decref(list);
	return MK_EINVAL;
}

json_t *cni_plugin_config(json_t *list, json_t *plugin, json_t *prev_result,
			  const struct cni_port_mapping *ports, size_t n_ports)
{
	json_t *c = json_deep_copy(plugin);
	if (c == NULL)
		return NULL;
	json_object_set(c, "name", json_object_get(list, "name"));
	json_object_set(c, "cniVersion", json_object_get(list, "cniVersion"));
	/* Capabilities are the plugin's own declaration; runtimeConfig never
	 * reaches a plugin that did not ask for it. */
	json_object_del(c, "runtimeConfig");
	json_t *caps = json_object_get(plugin, "capabilities");
	if (json_is_true(json_object_get(caps, "portMappings")) && n_ports > 0) {
		json_t *pm = json_array();
		for (size_t i = 0; pm != NULL && i < n_ports; i++) {
			json_t *m = json_pack("{s:i, s:i, s:s}", "hostPort", ports[i].host_port,
					      "containerPort", ports[i].container_port, "protocol",
					      ports[i].protocol ? ports[i].protocol : "tcp");
			if (m != NULL && ports[i].host_ip != NULL && ports[i].host_ip[0] != '\0')
				json_object_set_new(m, "hostIP", json_string(ports[i].host_ip));
			json_array_append_new(pm, m);
		}
		json_object_set_new(c, "runtimeConfig", json_pack("{s:o}", "portMappings", pm));
	}
	json_object_del(c, "prevResult");
	if (prev_result != NULL)
		json_object_set(c, "prevResult", prev_result);
	return c;
}

/* Printable ASCII without the CNI_ARGS separators. */
static int check_arg(const char *what, const char *v, char *errmsg, size_t len)
{
	size_t n = v ? strlen(v) : 0;
	for (size_t i = 0; i < n; i++)
		if (v[i] <= ' ' || v[i] > '~' || v[i] == ';' || v[i] == '=')
			n = 0;
	if (n == 0 || n > 253) {
		snprintf(errmsg, len, "cni: %s \"%s\" must be 1-253 printable characters without "
			 "';' or '='", what, v ? v : "");
		return MK_EINVAL;
	}
	return MK_OK;
}

static int check_port(const struct cni_port_mapping *p, char *errmsg, size_t len)
{
	unsigned char bin[16];
	const char *proto = p->protocol ? p->protocol : "tcp";
	if (p->host_port < 1 || p->host_port > 65535 || p->container_port < 1 ||
	    p->container_port > 65535) {
		snprintf(errmsg, len, "cni: port mapping %d->%d: ports must be 1-65535",
			 p->host_port, p->container_port);
		return MK_EINVAL;
	}
	if (strcmp(proto, "tcp") != 0 && strcmp(proto, "udp") != 0 && strcmp(proto, "sctp") != 0) {
		snprintf(errmsg, len, "cni: port mapping %d: protocol \"%s\" is not tcp, udp or sctp",
			 p->host_port, proto);
		return MK_EINVAL;
	}
	if (p->host_ip != NULL && p->host_ip[0] != '\0' && inet_pton(AF_INET, p->host_ip, bin) != 1 &&
	    inet_pton(AF_INET6, p->host_ip, bin) != 1) {
		snprintf(errmsg, len, "cni: port mapping %d: host IP \"%s\" is not an address",
			 p->host_port, p->host_ip);
		return MK_EINVAL;
	}
	return MK_OK;
}

int cni_call_check(const char *container_id, const char *pod_namespace, const char *pod_name,
		   const char *pod_uid, const struct cni_port_mapping *ports, size_t n_ports,
		   char *args, size_t args_len, char *errmsg, size_t len)
{
	size_t cl = container_id ? strlen(container_id) : 0;
	int rv;

	/* The spec's container ID: it also names files and iptables comments. */
	if (cl == 0 || cl > 128 || strchr(CNI_ALNUM, container_id[0]) == NULL ||
	    strspn(container_id, CNI_ID_CHARS) != cl) {
		snprintf(errmsg, len, "cni: container ID \"%s\" must be 1-128 of [A-Za-z0-9_.-], "
			 "starting alphanumeric", container_id ? container_id : "");
		return MK_EINVAL;
	}
	if ((rv = check_arg("pod namespace", pod_namespace, errmsg, len)) != MK_OK ||
	    (rv = check_arg("pod name", pod_name, errmsg, len)) != MK_OK ||
	    (rv = check_arg("pod UID", pod_uid, errmsg, len)) != MK_OK)
		return rv;
	if (n_ports > 0 && ports == NULL) {
		snprintf(errmsg, len, "cni: %zu port mappings but no array", n_ports);
		return MK_EINVAL;
	}
	for (size_t i = 0; i < n_ports; i++)
		if ((rv = check_port(&ports[i], errmsg, len)) != MK_OK)
			return rv;
	snprintf(args, args_len,
		 "IgnoreUnknown=1;K8S_POD_NAMESPACE=%s;K8S_POD_NAME=%s;"
		 "K8S_POD_INFRA_CONTAINER_ID=%s;K8S_POD_UID=%s",
		 pod_namespace, pod_name, container_id, pod_uid);
	return MK_OK;
}

static void copy_ip(char *dst, size_t n, const char *cidr)
{
	snprintf(dst, n, "%s", cidr ? cidr : "");
	char *slash = strchr(dst, '/');
	if (slash != NULL)
		*slash = '\0';
}

int cni_result_attachment(json_t *result, struct cni_attachment *out, char *errmsg, size_t len)
{
	json_t *ifaces = json_object_get(result, "interfaces"), *ip, *best = NULL;
	size_t i;

	memset(out, 0, sizeof *out);
	/* The pod's address: on the interface inside the sandbox named eth0
	 * (a result may also list the bridge and the host-side veth);
	 * IPv4 first on a dual-stack result. */
	json_array_foreach(json_object_get(result, "ips"), i, ip) {
		json_t *idx = json_object_get(ip, "interface");
		json_t *iface = json_is_integer(idx)
				? json_array_get(ifaces, (size_t)json_integer_value(idx)) : NULL;
		const char *name = json_string_value(json_object_get(iface, "name"));
		const char *addr = json_string_value(json_object_get(ip, "address"));
		if (addr == NULL || (iface != NULL && (name == NULL || strcmp(name, "eth0") != 0)))
			continue;
		if (best == NULL || (strchr(addr, ':') == NULL &&
				     strchr(json_string_value(json_object_get(best, "address")), ':')))
			best = ip;
	}
	if (best == NULL) {
		snprintf(errmsg, len, "cni ADD: the result has no address for eth0");
		return MK_EIO;
	}
	copy_ip(out->ip, sizeof out->ip, json_string_value(json_object_get(best, "address")));
	copy_ip(out->gateway, sizeof out->gateway,
		json_string_value(json_object_get(best, "gateway")));
	json_t *idx = json_object_get(best, "interface");
	if (json_is_integer(idx))
		snprintf(out->mac, sizeof out->mac, "%s", json_string_value(json_object_get(
			json_array_get(ifaces, (size_t)json_integer_value(idx)), "mac")) ?: "");
	return MK_OK;
}

static void result_path(const struct cni_network *n, const char *container_id, char *buf,
			size_t len)
{
	snprintf(buf, len, "%s/results/%s-%s-eth0", n->state_dir, CNI_NETWORK_NAME, container_id);
}

int cni_result_save(const struct cni_network *n, const char *container_id, json_t *result)
{
	char path[PATH_MAX + 256], dir[PATH_MAX + 16], tmp[PATH_MAX + 272], err[64];
	snprintf(dir, sizeof dir, "%s/results", n->state_dir);
	if (mkdirs(dir, err, sizeof err) != MK_OK)
		return -1;
	result_path(n, container_id, path, sizeof path);
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	/* One pod worker per container ID: the temp name cannot collide. */
	if (json_dump_file(result, tmp, JSON_COMPACT) != 0 || rename(tmp, path) != 0) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

json_t *cni_result_load(const struct cni_network *n, const char *container_id)
{
	char path[PATH_MAX + 256];
	result_path(n, container_id, path, sizeof path);
	json_t *r = json_load_file(path, 0, NULL);
	if (r != NULL && !json_is_object(r)) {
		json_decref(r);
		r = NULL;
	}
	return r;
}

void cni_result_remove(const struct cni_network *n, const char *container_id)
{
	char path[PATH_MAX + 256];
	result_path(n, container_id, path, sizeof path);
	unlink(path);
}
