/*
 * mkd's command line (options.h).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <dqlite.h>
#include <uv.h>

#include "../base/err.h"
#include "../base/log.h"
#include "../base/version.h"
#include "../api/service_range.h"
#include "options.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: mkd [options]\n"
		"  --data-dir DIR        node state (default: $MK_DATA, $SNAP_DATA, /var/lib/mk)\n"
		"  --address IP          address this node serves on and advertises\n"
		"  --dqlite-port PORT    dqlite port (default %d)\n"
		"  --api-port PORT       Kubernetes API port, HTTPS (default %d)\n"
		"  --api-bind IP         address the API listens on (default 0.0.0.0)\n"
		"  --join IP:PORT[,...]  join the cluster these dqlite members belong to\n"
		"  --failure-domain N    failure domain tag for role placement\n"
		"  --log-level LEVEL     debug, info, warn or error (default info)\n"
		"  --watch-poll-ms N     how often to look for other nodes' writes (500)\n"
		"  --compact-interval-ms N  history compaction period (300000)\n"
		"  --node-name NAME      this node's name (default: the hostname)\n"
		"  --no-node-agent       do not run pods on this node\n"
		"  --no-controllers      do not run the controllers (ReplicaSet, ...)\n"
		"  --no-scheduler        do not place pods on nodes (another scheduler does)\n"
		"  --runtime PATH        OCI runtime (default /usr/sbin/runc)\n"
		"  --pod-cidr CIDR       this node's pod addresses (default 10.1.0.0/16)\n"
		"  --cni-bridge NAME     the pod network's bridge (default mk0)\n"
		"  --cni-plugin-dir DIR  CNI plugins (default /usr/lib/cni)\n"
		"  --service-cidr CIDR   Services' cluster IPs (default 10.152.183.0/24)\n"
		"  --service-node-port-range A-B  NodePorts (default 30000-32767)\n"
		"  --node-monitor-grace-period S  seconds without heartbeats before a node\n"
		"                        is unreachable (default 40)\n"
		"  --default-toleration-seconds S  how long pods stay on a not-ready or\n"
		"                        unreachable node (default 300)\n"
		"  --version, --help\n",
		DEFAULT_DQLITE_PORT, DEFAULT_API_PORT);
}

static int parse_int(const char *flag, const char *s, long lo, long hi, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || *s == '\0' || *end || v < lo || v > hi) {
		fprintf(stderr, "mkd: %s wants a number from %ld to %ld, got \"%s\"\n", flag, lo,
			hi, s);
		return -1;
	}
	*out = v;
	return 0;
}

static bool valid_ipv4(const char *ip)
{
	struct sockaddr_in sa;
	return uv_ip4_addr(ip, 0, &sa) == 0;
}

/* A Node name: a lower-case RFC 1123 subdomain. */
static bool valid_node_name(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 253 || s[0] == '-' || s[0] == '.' || s[n - 1] == '-' || s[n - 1] == '.')
		return false;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' || *p == '.'))
			return false;
	return true;
}

/* "A.B.C.D/N" with N from 8 to 30. */
static bool valid_cidr4(const char *s)
{
	char ip[32], *end;
	const char *slash = strchr(s, '/');
	if (slash == NULL || (size_t)(slash - s) >= sizeof ip)
		return false;
	snprintf(ip, sizeof ip, "%.*s", (int)(slash - s), s);
	long bits = strtol(slash + 1, &end, 10);
	return valid_ipv4(ip) && *end == '\0' && end != slash + 1 && bits >= 8 && bits <= 30;
}

/* "IP:PORT[,IP:PORT...]" with IPv4 addresses and ports 1-65535. */
static bool valid_members(const char *list)
{
	char copy[1024], *save = NULL;
	if (strlen(list) >= sizeof copy || list[0] == '\0')
		return false;
	strcpy(copy, list);
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *colon = strrchr(tok, ':'), *end;
		if (colon == NULL)
			return false;
		*colon = '\0';
		long port = strtol(colon + 1, &end, 10);
		if (!valid_ipv4(tok) || *end || end == colon + 1 || port < 1 || port > 65535)
			return false;
	}
	return true;
}

int parse_options(int argc, char **argv, struct options *o)
{
	enum { O_DATA = 1, O_ADDR, O_PORT, O_JOIN, O_FD, O_LOG, O_POLL, O_COMPACT, O_VER, O_HELP,
	       O_API_PORT, O_API_BIND, O_NODE_NAME, O_NO_AGENT, O_RUNTIME, O_POD_CIDR, O_BRIDGE,
	       O_CNI_DIR, O_NO_CTRL, O_NO_SCHED, O_SVC_CIDR, O_NODE_PORTS, O_GRACE, O_TOLERATION };
	static const struct option longs[] = {
		{"data-dir", required_argument, NULL, O_DATA},
		{"address", required_argument, NULL, O_ADDR},
		{"dqlite-port", required_argument, NULL, O_PORT},
		{"join", required_argument, NULL, O_JOIN},
		{"failure-domain", required_argument, NULL, O_FD},
		{"log-level", required_argument, NULL, O_LOG},
		{"watch-poll-ms", required_argument, NULL, O_POLL},
		{"compact-interval-ms", required_argument, NULL, O_COMPACT},
		{"api-port", required_argument, NULL, O_API_PORT},
		{"api-bind", required_argument, NULL, O_API_BIND},
		{"node-name", required_argument, NULL, O_NODE_NAME},
		{"no-node-agent", no_argument, NULL, O_NO_AGENT},
		{"no-controllers", no_argument, NULL, O_NO_CTRL},
		{"no-scheduler", no_argument, NULL, O_NO_SCHED},
		{"runtime", required_argument, NULL, O_RUNTIME},
		{"pod-cidr", required_argument, NULL, O_POD_CIDR},
		{"cni-bridge", required_argument, NULL, O_BRIDGE},
		{"cni-plugin-dir", required_argument, NULL, O_CNI_DIR},
		{"service-cidr", required_argument, NULL, O_SVC_CIDR},
		{"service-node-port-range", required_argument, NULL, O_NODE_PORTS},
		{"node-monitor-grace-period", required_argument, NULL, O_GRACE},
		{"default-toleration-seconds", required_argument, NULL, O_TOLERATION},
		{"version", no_argument, NULL, O_VER},
		{"help", no_argument, NULL, O_HELP},
		{NULL, 0, NULL, 0},
	};
	memset(o, 0, sizeof *o);
	o->ip = "127.0.0.1";
	o->port = DEFAULT_DQLITE_PORT;
	o->api_port = DEFAULT_API_PORT;
	o->api_bind = "0.0.0.0";
	o->pod_cidr = "10.1.0.0/16";
	o->cni_bridge = "mk0";
	o->cni_plugin_dir = "/usr/lib/cni";
	o->runtime = "/usr/sbin/runc";
	opterr = 0;
	int c;
	long v;
	/* Leading ':' makes getopt tell a missing value (':') from an
	 * unknown option ('?'). */
	while ((c = getopt_long(argc, argv, ":", longs, NULL)) != -1) {
		switch (c) {
		case O_DATA:
			o->data_dir = optarg;
			break;
		case O_ADDR:
			if (!valid_ipv4(optarg)) {
				fprintf(stderr, "mkd: --address wants an IPv4 address, got \"%s\"\n",
					optarg);
				return -1;
			}
			o->ip = optarg;
			break;
		case O_PORT:
			if (parse_int("--dqlite-port", optarg, 1, 65535, &v) != 0)
				return -1;
			o->port = (int)v;
			break;
		case O_API_PORT:
			if (parse_int("--api-port", optarg, 1, 65535, &v) != 0)
				return -1;
			o->api_port = (int)v;
			break;
		case O_API_BIND:
			if (!valid_ipv4(optarg)) {
				fprintf(stderr, "mkd: --api-bind wants an IPv4 address, got \"%s\"\n",
					optarg);
				return -1;
			}
			o->api_bind = optarg;
			break;
		case O_JOIN:
			if (!valid_members(optarg)) {
				fprintf(stderr,
					"mkd: --join wants IPv4:PORT[,IPv4:PORT...], got \"%s\"\n",
					optarg);
				return -1;
			}
			o->join = optarg;
			break;
		case O_FD:
			if (parse_int("--failure-domain", optarg, 0, INT32_MAX, &v) != 0)
				return -1;
			o->failure_domain = (uint64_t)v;
			break;
		case O_LOG: {
			enum mk_log_level level;
			if (mk_log_parse_level(optarg, &level) != MK_OK) {
				fprintf(stderr,
					"mkd: --log-level wants debug, info, warn or error, got \"%s\"\n",
					optarg);
				return -1;
			}
			mk_log_set_level(level);
			break;
		}
		case O_POLL:
			if (parse_int("--watch-poll-ms", optarg, 10, 60000, &v) != 0)
				return -1;
			o->poll_interval_ms = (int)v;
			break;
		case O_COMPACT:
			if (parse_int("--compact-interval-ms", optarg, 100, 86400000, &v) != 0)
				return -1;
			o->compact_interval_ms = (int)v;
			break;
		case O_NODE_NAME:
			if (!valid_node_name(optarg)) {
				fprintf(stderr, "mkd: --node-name wants a lower-case DNS name, got "
						"\"%s\"\n", optarg);
				return -1;
			}
			o->node_name = optarg;
			break;
		case O_NO_AGENT:
			o->no_node_agent = true;
			break;
		case O_NO_CTRL:
			o->no_controllers = true;
			break;
		case O_NO_SCHED:
			o->no_scheduler = true;
			break;
		case O_RUNTIME:
			if (optarg[0] != '/') {
				fprintf(stderr, "mkd: --runtime wants an absolute path, got \"%s\"\n",
					optarg);
				return -1;
			}
			o->runtime = optarg;
			break;
		case O_POD_CIDR:
			if (!valid_cidr4(optarg)) {
				fprintf(stderr, "mkd: --pod-cidr wants an IPv4 CIDR such as "
						"10.1.0.0/16, got \"%s\"\n", optarg);
				return -1;
			}
			o->pod_cidr = optarg;
			break;
		case O_BRIDGE:
			if (optarg[0] == '\0' || strlen(optarg) > 15 || strchr(optarg, '/') ||
			    strchr(optarg, ' ')) {
				fprintf(stderr, "mkd: --cni-bridge wants an interface name of at most "
						"15 characters, got \"%s\"\n", optarg);
				return -1;
			}
			o->cni_bridge = optarg;
			break;
		case O_CNI_DIR:
			o->cni_plugin_dir = optarg;
			break;
		case O_SVC_CIDR: {
			/* The API server's own parser, so both say the same. */
			struct ip_range r;
			char err[256];
			if (ip_range_parse(optarg, &r, err, sizeof err) != MK_OK) {
				fprintf(stderr, "mkd: --service-cidr: %s\n", err);
				return -1;
			}
			o->service_cidr = optarg;
			break;
		}
		case O_NODE_PORTS: {
			struct port_range r;
			char err[256];
			if (port_range_parse(optarg, &r, err, sizeof err) != MK_OK) {
				fprintf(stderr, "mkd: --service-node-port-range: %s\n", err);
				return -1;
			}
			o->node_port_range = optarg;
			break;
		}
		case O_GRACE:
			if (parse_int("--node-monitor-grace-period", optarg, 1, 3600, &v) != 0)
				return -1;
			o->node_monitor_grace_s = (int)v;
			break;
		case O_TOLERATION:
			if (parse_int("--default-toleration-seconds", optarg, 1, 86400, &v) != 0)
				return -1;
			o->default_toleration_s = (int)v;
			break;
		case O_VER:
			printf("mkd %s (dqlite %d)\n", MK_VERSION, dqlite_version_number());
			return 1;
		case O_HELP:
			usage(stdout);
			return 1;
		case ':':
			fprintf(stderr, "mkd: option %s needs a value\n", argv[optind - 1]);
			return -1;
		default:
			fprintf(stderr, "mkd: unknown option %s (see mkd --help)\n", argv[optind - 1]);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "mkd: unexpected argument \"%s\" (see mkd --help)\n", argv[optind]);
		return -1;
	}
	return 0;
}

