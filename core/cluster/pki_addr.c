/*
 * The names and addresses the API server certificate covers, and this
 * host's own addresses.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../base/err.h"
#include "../base/log.h"
#include "pki_internal.h"

static const char *const service_names[] = {
	"localhost",
	"kubernetes",
	"kubernetes.default",
	"kubernetes.default.svc",
	"kubernetes.default.svc.cluster.local",
};
/* 10.152.183.1: the `kubernetes` Service's cluster IP in MicroK8s' range. */
static const char *const fixed_ips[] = {"127.0.0.1", "::1", "10.152.183.1"};

#define N_ELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* A DNS name we can put in a SAN: letters, digits, '-', '_' and dots
 * between non-empty labels.  Anything else (a ',' in particular) would
 * change the meaning of the subjectAltName value handed to OpenSSL. */
static bool valid_dns_name(const char *s)
{
	size_t n = strlen(s), label = 0;
	if (n == 0 || n > 253)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '.') {
			if (label == 0)
				return false;
			label = 0;
		} else if (isalnum(c) || c == '-' || c == '_') {
			if (++label > 63)
				return false;
		} else {
			return false;
		}
	}
	return label > 0;
}

/* `text` as the canonical form of an IPv4 or IPv6 address, or -1. */
static int canonical_ip(const char *text, char out[INET6_ADDRSTRLEN])
{
	unsigned char bin[sizeof(struct in6_addr)];
	if (inet_pton(AF_INET, text, bin) == 1)
		return inet_ntop(AF_INET, bin, out, INET6_ADDRSTRLEN) ? 0 : -1;
	if (inet_pton(AF_INET6, text, bin) == 1)
		return inet_ntop(AF_INET6, bin, out, INET6_ADDRSTRLEN) ? 0 : -1;
	return -1;
}

/* Appends a copy of `v` to list unless it is already there. */
static int add_unique(char ***list, size_t *n, const char *v)
{
	for (size_t i = 0; i < *n; i++)
		if (strcmp((*list)[i], v) == 0)
			return MK_OK;
	char **g = realloc(*list, (*n + 1) * sizeof *g);
	if (g == NULL)
		return MK_ENOMEM;
	*list = g;
	if ((g[*n] = strdup(v)) == NULL)
		return MK_ENOMEM;
	(*n)++;
	return MK_OK;
}

static int add_hostname(const struct pki_config *cfg, struct pki_sans *s, char *errmsg,
			size_t len)
{
	char host[256];
	if (cfg->hostname != NULL) {
		if (!valid_dns_name(cfg->hostname) || strlen(cfg->hostname) >= sizeof host) {
			snprintf(errmsg, len, "hostname \"%.64s\" is not a DNS name", cfg->hostname);
			return MK_EINVAL;
		}
		snprintf(host, sizeof host, "%s", cfg->hostname);
	} else {
		if (gethostname(host, sizeof host) != 0)
			host[0] = '\0';
		host[sizeof host - 1] = '\0';
		/* The certificate still serves every IP: a strange host
		 * name is not worth refusing to start for. */
		if (!valid_dns_name(host)) {
			mk_warn("pki", "host name \"%.64s\" is not a DNS name; left out of the "
				"server certificate", host);
			return MK_OK;
		}
	}
	/* DNS names compare case-insensitively; store one form so a SAN
	 * check never reissues over case alone. */
	for (char *p = host; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return add_unique(&s->dns, &s->n_dns, host);
}

static int build_conf(struct pki_sans *s)
{
	size_t cap = 1;
	for (size_t i = 0; i < s->n_dns; i++)
		cap += strlen(s->dns[i]) + 5;
	for (size_t i = 0; i < s->n_ips; i++)
		cap += strlen(s->ips[i]) + 4;
	if ((s->conf = malloc(cap)) == NULL)
		return MK_ENOMEM;
	size_t used = 0;
	s->conf[0] = '\0';
	for (size_t i = 0; i < s->n_dns; i++)
		used += (size_t)snprintf(s->conf + used, cap - used, "%sDNS:%s", used ? "," : "",
					 s->dns[i]);
	for (size_t i = 0; i < s->n_ips; i++)
		used += (size_t)snprintf(s->conf + used, cap - used, "%sIP:%s", used ? "," : "",
					 s->ips[i]);
	return MK_OK;
}

int pki_sans_build(const struct pki_config *cfg, struct pki_sans *s, char *errmsg, size_t len)
{
	char ip[INET6_ADDRSTRLEN];
	int rv = MK_OK;
	memset(s, 0, sizeof *s);
	for (size_t i = 0; rv == MK_OK && i < N_ELEMS(service_names); i++)
		rv = add_unique(&s->dns, &s->n_dns, service_names[i]);
	if (rv == MK_OK)
		rv = add_hostname(cfg, s, errmsg, len);
	for (size_t i = 0; rv == MK_OK && i < N_ELEMS(fixed_ips); i++)
		rv = add_unique(&s->ips, &s->n_ips, fixed_ips[i]);
	for (size_t i = 0; rv == MK_OK && i < cfg->n_addresses; i++) {
		const char *a = cfg->addresses[i];
		if (a == NULL || canonical_ip(a, ip) != 0) {
			snprintf(errmsg, len, "address \"%.64s\" is not an IPv4 or IPv6 address",
				 a ? a : "(null)");
			rv = MK_EINVAL;
			break;
		}
		rv = add_unique(&s->ips, &s->n_ips, ip);
	}
	if (rv == MK_OK)
		rv = build_conf(s);
	if (rv == MK_ENOMEM)
		snprintf(errmsg, len, "server certificate names: out of memory");
	if (rv != MK_OK)
		pki_sans_free(s);
	return rv;
}

void pki_sans_free(struct pki_sans *s)
{
	pki_free_addresses(s->dns, s->n_dns);
	pki_free_addresses(s->ips, s->n_ips);
	free(s->conf);
	memset(s, 0, sizeof *s);
}

/* fe80::/10 and 169.254.0.0/16 change with every boot or cable and no
 * client dials them by address. */
static bool skip_address(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET) {
		uint32_t a = ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr);
		return (a >> 16) == 0xa9fe;
	}
	if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
		return IN6_IS_ADDR_LINKLOCAL(a) || IN6_IS_ADDR_LOOPBACK(a);
	}
	return true;
}

int pki_local_addresses(char ***out, size_t *n)
{
	struct ifaddrs *ifs;
	char **list = NULL;
	size_t count = 0;
	int rv = MK_OK;
	*out = NULL;
	*n = 0;
	if (getifaddrs(&ifs) != 0)
		return MK_EIO;
	for (struct ifaddrs *i = ifs; i != NULL && rv == MK_OK; i = i->ifa_next) {
		char text[INET6_ADDRSTRLEN];
		if (i->ifa_addr == NULL || (i->ifa_flags & IFF_LOOPBACK) ||
		    skip_address(i->ifa_addr))
			continue;
		const void *bin = i->ifa_addr->sa_family == AF_INET
					  ? (const void *)&((struct sockaddr_in *)i->ifa_addr)->sin_addr
					  : (const void *)&((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr;
		if (inet_ntop(i->ifa_addr->sa_family, bin, text, sizeof text) == NULL)
			continue;
		rv = add_unique(&list, &count, text);
	}
	freeifaddrs(ifs);
	if (rv != MK_OK) {
		pki_free_addresses(list, count);
		return rv;
	}
	*out = list;
	*n = count;
	return MK_OK;
}

void pki_free_addresses(char **a, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(a[i]);
	free(a);
}
