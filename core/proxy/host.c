/*
 * The host settings the service dataplane relies on (proxy_internal.h).
 * Each is read first and written only when it differs, so a host (or a
 * container) where /proc/sys is read-only but already right is fine.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../base/log.h"
#include "proxy_internal.h"

/* 1: the file says "1" (or now does); 0: it cannot be made so; -1: absent. */
static int ensure_one(const char *path)
{
	char v[8] = "";
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return errno == ENOENT ? -1 : 0;
	ssize_t n = read(fd, v, sizeof v - 1);
	close(fd);
	if (n > 0 && v[0] == '1')
		return 1;
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		mk_warn(PROXY_LOG, "cannot set %s to 1: %s", path, strerror(errno));
		return 0;
	}
	n = write(fd, "1\n", 2);
	int e = errno;
	close(fd);
	if (n != 2) {
		mk_warn(PROXY_LOG, "cannot set %s to 1: %s", path, strerror(e));
		return 0;
	}
	mk_info(PROXY_LOG, "%s set to 1", path);
	return 1;
}

bool proxy_host_bridge_nf(void)
{
	/* kube-proxy's requirement (kubeadm checks it too): a pod's reply to
	 * a pod on the same bridge is switched, not routed, and only
	 * br_netfilter shows it to conntrack to be un-DNATed.  mkd does not
	 * load kernel modules; without the module the proxy masquerades
	 * service traffic instead, so replies are routed back through the
	 * host. */
	int r = ensure_one("/proc/sys/net/bridge/bridge-nf-call-iptables");
	if (r < 0)
		mk_warn(PROXY_LOG, "br_netfilter is not loaded (no /proc/sys/net/bridge): service "
			"traffic is masqueraded, so pods see the node's address as the client's");
	return r == 1;
}

bool proxy_host_route_localnet(const char *bridge)
{
	char path[128];

	/* NodePorts on 127.0.0.1, as kube-proxy's iptables mode offers them:
	 * a packet from 127.0.0.1 DNATed to a pod leaves through the bridge,
	 * and its reply comes back to 127.0.0.1 through it, which the kernel
	 * drops as martian unless route_localnet is set on that interface.
	 * Only on the pod bridge, not "all" (kube-proxy's choice), so no other
	 * interface routes 127/8; the table's filter-input rule drops what
	 * arrives for 127/8 from elsewhere (CVE-2020-8558). */
	snprintf(path, sizeof path, "/proc/sys/net/ipv4/conf/%s/route_localnet", bridge);
	return ensure_one(path) == 1;
}
