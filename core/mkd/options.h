/*
 * mkd's command line: the flags, their defaults and their checks.
 *
 * parse_options never exits: it prints one line to stderr for bad usage,
 * help or version to stdout, and says which happened.  The strings in
 * struct options point into argv (or are static defaults).
 */
#ifndef MK_MKD_OPTIONS_H
#define MK_MKD_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>

#define DEFAULT_DQLITE_PORT 19001
#define DEFAULT_API_PORT 16443

struct options {
	const char *data_dir;
	const char *ip;
	int port;
	char *join; /* comma-separated seeds */
	uint64_t failure_domain;
	int poll_interval_ms;
	int compact_interval_ms;
	int api_port;
	const char *api_bind;
	/* The node agent. */
	bool no_node_agent;
	bool no_controllers;
	bool no_scheduler;
	const char *node_name, *pod_cidr, *cni_bridge, *cni_plugin_dir, *runtime;
	/* Services and the control plane's timings. */
	const char *service_cidr, *node_port_range; /* NULL: the API's defaults */
	int node_monitor_grace_s;                   /* 0: the controllers' default */
	int default_toleration_s;                   /* 0: the API's default */
};

/* 0 to run, 1 to exit successfully (help/version), -1 on bad usage. */
int parse_options(int argc, char **argv, struct options *o);

#endif
