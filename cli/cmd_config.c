/*
 * mk config, mk kubectl, mk version: the admin credentials and the API.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/base/err.h"
#include "../core/base/version.h"
#include "cli.h"

static const char config_usage[] =
	"usage: mk config\n\n"
	"Prints the admin kubeconfig of this node (DIR/credentials/client.config),\n"
	"for kubectl or any Kubernetes client:  mk config > ~/.kube/config\n";

static int config_run(const char *data_dir, int argc, char **argv)
{
	if (argc > 0 && cli_wants_help(argv[0], config_usage))
		return 0;
	if (argc > 0)
		return cli_fail(EXIT_USAGE, "config: unexpected argument \"%s\"", argv[0]);
	char path[4200];
	snprintf(path, sizeof path, "%s/credentials/client.config", data_dir);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return cli_fail(1, "%s: %s; has mkd ever started here? (mk start)", path,
				strerror(errno));
	char buf[4096];
	size_t n;
	while ((n = fread(buf, 1, sizeof buf, f)) > 0)
		fwrite(buf, 1, n, stdout);
	fclose(f);
	return 0;
}

const struct cli_command cli_config = {"config", "print the admin kubeconfig", config_usage,
				       config_run};

static const char kubectl_usage[] =
	"usage: mk kubectl [KUBECTL ARGS...]\n\n"
	"Runs kubectl with this node's admin kubeconfig.  Every argument goes to\n"
	"kubectl unchanged (so `mk kubectl --help` is kubectl's help).  kubectl is\n"
	"$MK_KUBECTL if set, else the first kubectl on PATH.\n";

static int kubectl_run(const char *data_dir, int argc, char **argv)
{
	char cfg[4200];
	snprintf(cfg, sizeof cfg, "%s/credentials/client.config", data_dir);
	if (access(cfg, R_OK) != 0)
		return cli_fail(1, "%s: %s; has mkd ever started here? (mk start)", cfg,
				strerror(errno));
	const char *kubectl = getenv("MK_KUBECTL");
	if (kubectl == NULL || kubectl[0] == '\0')
		kubectl = "kubectl";
	char **args = calloc((size_t)argc + 4, sizeof *args);
	if (args == NULL)
		return cli_fail(1, "out of memory");
	args[0] = (char *)kubectl;
	args[1] = "--kubeconfig";
	args[2] = cfg;
	for (int i = 0; i < argc; i++)
		args[3 + i] = argv[i];
	execvp(kubectl, args);
	int e = errno;
	free(args);
	if (e == ENOENT)
		return cli_fail(127, "%s not found; install kubectl (apt install kubernetes-client) "
				     "or set MK_KUBECTL",
				kubectl);
	return cli_fail(126, "cannot run %s: %s", kubectl, strerror(e));
}

const struct cli_command cli_kubectl = {"kubectl", "run kubectl against this node",
					kubectl_usage, kubectl_run};

static const char version_usage[] =
	"usage: mk version\n\n"
	"Prints mk's version and, when mkd runs, the Kubernetes version it serves.\n";

static int version_run(const char *data_dir, int argc, char **argv)
{
	if (argc > 0 && cli_wants_help(argv[0], version_usage))
		return 0;
	if (argc > 0)
		return cli_fail(EXIT_USAGE, "version: unexpected argument \"%s\"", argv[0]);
	printf("mk %s\n", MK_VERSION);
	long code;
	char *body = NULL, err[256];
	if (cli_mkd_running(data_dir, NULL) &&
	    cli_get(data_dir, "/version", 3000, &code, &body, err, sizeof err) == MK_OK &&
	    code == 200) {
		json_t *v = json_loads(body, 0, NULL);
		const char *git = json_string_value(json_object_get(v, "gitVersion"));
		if (git)
			printf("Kubernetes %s\n", git);
		json_decref(v);
	}
	free(body);
	return 0;
}

const struct cli_command cli_version = {"version", "print the versions", version_usage,
					version_run};
