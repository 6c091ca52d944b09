/*
 * The pod's sandbox: its directory, network namespace with CNI, and the
 * /etc/hosts, /etc/hostname and /etc/resolv.conf its containers share.
 *
 * There is no pause container: the namespace is kept alive by a bind
 * mount (netns.h), so containers come and go without the pod losing its
 * address, and mkd restarting loses nothing.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../base/err.h"
#include "../base/log.h"
#include "netns.h"
#include "node_internal.h"

#define MAX_PORTS 64

void pod_netns_path(const struct pod_worker *w, char *out, size_t len)
{
	snprintf(out, len, "%s/%s", w->agent->netns_dir, w->uid);
}

static int write_file(const char *dir, const char *name, const char *text)
{
	char path[PATH_MAX + 64], tmp[PATH_MAX + 80];

	snprintf(path, sizeof path, "%s/%s", dir, name);
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	if (f == NULL)
		return -1;
	fputs(text, f);
	if (fclose(f) != 0)
		return -1;
	chmod(tmp, 0644);
	return rename(tmp, path);
}

static size_t host_ports(struct pod_worker *w, struct cni_port_mapping *out)
{
	size_t n = 0, i, k;
	json_t *c, *p;

	json_array_foreach(jo(jo(w->cur, "spec"), "containers"), i, c) {
		json_array_foreach(jo(c, "ports"), k, p) {
			int hp = (int)ji(p, "hostPort", 0);
			if (hp <= 0 || n >= MAX_PORTS)
				continue;
			const char *proto = js(p, "protocol");
			out[n].host_port = hp;
			out[n].container_port = (int)ji(p, "containerPort", hp);
			out[n].protocol = proto && strcasecmp(proto, "UDP") == 0 ? "udp" : "tcp";
			out[n].host_ip = js(p, "hostIP");
			n++;
		}
	}
	return n;
}

static void write_etc_files(struct pod_worker *w)
{
	json_t *spec = jo(w->cur, "spec");
	const char *hostname = js(spec, "hostname") ? js(spec, "hostname") : w->name;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	size_t i, k;
	json_t *a, *h;

	if (f == NULL)
		return;
	fprintf(f, "# Kubernetes-managed hosts file (mk).\n127.0.0.1\tlocalhost\n"
		   "::1\tlocalhost ip6-localhost ip6-loopback\n");
	if (w->pod_ip[0]) {
		const char *sub = js(spec, "subdomain");
		if (sub != NULL)
			fprintf(f, "%s\t%s.%s.%s.svc.cluster.local\t%s\n", w->pod_ip, hostname, sub,
				w->ns, hostname);
		else
			fprintf(f, "%s\t%s\n", w->pod_ip, hostname);
	}
	json_array_foreach(jo(spec, "hostAliases"), i, a) {
		fprintf(f, "\n# Entries added by HostAliases.\n%s", js(a, "ip") ? js(a, "ip") : "");
		json_array_foreach(jo(a, "hostnames"), k, h)
			fprintf(f, "\t%s", json_string_value(h) ? json_string_value(h) : "");
		fputc('\n', f);
	}
	fclose(f);
	write_file(w->dir, "hosts", text);
	free(text);

	char hn[300];
	snprintf(hn, sizeof hn, "%s\n", hostname);
	write_file(w->dir, "hostname", hn);

	/* No cluster DNS yet (that is the dns addon): pods resolve the way
	 * the host does, plus the pod's own dnsConfig. */
	text = NULL;
	f = open_memstream(&text, &len);
	if (f == NULL)
		return;
	json_t *dns = jo(spec, "dnsConfig");
	const char *policy = js(spec, "dnsPolicy");
	bool none = policy != NULL && strcmp(policy, "None") == 0;
	FILE *host = none ? NULL : fopen("/etc/resolv.conf", "r");
	char line[1024];
	while (host && fgets(line, sizeof line, host))
		fputs(line, f);
	if (host)
		fclose(host);
	json_array_foreach(jo(dns, "nameservers"), i, a)
		fprintf(f, "nameserver %s\n", json_string_value(a) ? json_string_value(a) : "");
	if (json_array_size(jo(dns, "searches")) > 0) {
		fprintf(f, "search");
		json_array_foreach(jo(dns, "searches"), i, a)
			fprintf(f, " %s", json_string_value(a) ? json_string_value(a) : "");
		fputc('\n', f);
	}
	json_array_foreach(jo(dns, "options"), i, a) {
		if (js(a, "value"))
			fprintf(f, "options %s:%s\n", js(a, "name"), js(a, "value"));
		else if (js(a, "name"))
			fprintf(f, "options %s\n", js(a, "name"));
	}
	fclose(f);
	write_file(w->dir, "resolv.conf", text);
	free(text);
}

int sandbox_setup(struct pod_worker *w, char *errmsg, size_t len)
{
	struct node_agent *a = w->agent;
	char netns[PATH_MAX + 8], netjson[PATH_MAX + 16];
	struct cni_port_mapping ports[MAX_PORTS];
	int rv;

	if (w->sandbox)
		return MK_OK;
	if (mkdir(w->dir, 0750) != 0 && errno != EEXIST) {
		snprintf(errmsg, len, "cannot create %s: %s", w->dir, strerror(errno));
		return MK_EIO;
	}
	pod_netns_path(w, netns, sizeof netns);
	snprintf(netjson, sizeof netjson, "%s/network.json", w->dir);
	/* Who this directory belongs to, for cleaning up after a pod that
	 * was deleted while mkd was down (orphans.c). */
	json_t *who = json_pack("{s:s, s:s}", "namespace", w->ns, "name", w->name);
	char whop[PATH_MAX + 16];
	snprintf(whop, sizeof whop, "%s/pod.json", w->dir);
	json_dump_file(who, whop, JSON_COMPACT);
	json_decref(who);
	if (jb(jo(w->cur, "spec"), "hostNetwork", false)) {
		snprintf(w->pod_ip, sizeof w->pod_ip, "%s", a->cfg.node_ip);
		goto done;
	}
	json_t *saved = json_load_file(netjson, 0, NULL);
	if (saved != NULL && js(saved, "ip") != NULL && netns_exists(netns)) {
		/* Adopted: the namespace and its address outlived mkd. */
		snprintf(w->pod_ip, sizeof w->pod_ip, "%s", js(saved, "ip"));
		json_decref(saved);
		goto done;
	}
	json_decref(saved);
	if (!netns_exists(netns)) {
		netns_remove(netns, errmsg, len);
		rv = netns_create(netns, errmsg, len);
		if (rv != MK_OK)
			return rv;
	}
	size_t n = host_ports(w, ports);
	struct cni_attachment att;
	int64_t t0 = mk_monotonic_ms();
	rv = cni_add(&a->net, w->uid, netns, w->ns, w->name, w->uid, ports, n, &att, errmsg, len);
	if (rv != MK_OK)
		return rv;
	snprintf(w->pod_ip, sizeof w->pod_ip, "%s", att.ip);
	mk_debug(NODE_LOG, "pod %s/%s: network %s ready in %lld ms", w->ns, w->name, att.ip,
		 (long long)(mk_monotonic_ms() - t0));
	json_t *j = json_pack("{s:s, s:s}", "ip", att.ip, "gateway", att.gateway);
	char tmp[PATH_MAX + 32];
	snprintf(tmp, sizeof tmp, "%s.tmp", netjson);
	if (j == NULL || json_dump_file(j, tmp, JSON_COMPACT) != 0 || rename(tmp, netjson) != 0)
		mk_warn(NODE_LOG, "pod %s/%s: cannot record its address in %s", w->ns, w->name,
			netjson);
	json_decref(j);
done:
	write_etc_files(w);
	w->sandbox = true;
	return MK_OK;
}

void sandbox_teardown(struct pod_worker *w)
{
	struct node_agent *a = w->agent;
	char netns[PATH_MAX + 8], netjson[PATH_MAX + 16], err[512];
	struct cni_port_mapping ports[MAX_PORTS];
	size_t n = w->cur != NULL ? host_ports(w, ports) : 0;

	pod_netns_path(w, netns, sizeof netns);
	snprintf(netjson, sizeof netjson, "%s/network.json", w->dir);
	struct stat st;
	if (stat(netjson, &st) == 0 || netns_exists(netns)) {
		if (cni_del(&a->net, w->uid, netns, w->ns, w->name, w->uid, ports, n, err,
			    sizeof err) != MK_OK)
			mk_warn(NODE_LOG, "pod %s/%s: %s", w->ns, w->name, err);
	}
	if (netns_remove(netns, err, sizeof err) != MK_OK)
		mk_warn(NODE_LOG, "pod %s/%s: %s", w->ns, w->name, err);
	unlink(netjson);
	w->sandbox = false;
}
