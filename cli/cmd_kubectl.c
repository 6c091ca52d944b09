/*
 * mk kubectl: the system's kubectl with this node's admin kubeconfig.
 * mk execs it, so the terminal, signals and the exit status are kubectl's.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static const char usage[] =
	"usage: mk kubectl [KUBECTL ARGS...]\n\n"
	"Runs kubectl with this node's admin kubeconfig:\n"
	"  kubectl --kubeconfig DIR/credentials/client.config KUBECTL ARGS...\n"
	"Every argument goes to kubectl unchanged (`mk kubectl --help` is kubectl's\n"
	"help; a --kubeconfig of yours comes later and wins).  kubectl is\n"
	"$MK_KUBECTL if set, else the first kubectl on PATH.\n\n"
	"Exit status: kubectl's; 127 if kubectl is not found, 126 if it cannot be\n"
	"run, 1 if this node has no kubeconfig yet.\n";

static int run(const char *data_dir, int argc, char **argv)
{
	char cfg[PATH_MAX];
	snprintf(cfg, sizeof cfg, "%s/credentials/client.config", data_dir);
	/* kubectl would say "stat ...: no such file"; say what to do. */
	if (access(cfg, R_OK) != 0 && errno == ENOENT)
		return cli_fail(1, "%s does not exist; mkd writes it when it starts (mk start)",
				cfg);
	const char *env = getenv("MK_KUBECTL");
	const char *kubectl = env != NULL && env[0] != '\0' ? env : "kubectl";
	char **args = calloc((size_t)argc + 4, sizeof *args);
	if (args == NULL)
		return cli_fail(1, "out of memory");
	args[0] = (char *)kubectl;
	args[1] = "--kubeconfig";
	args[2] = cfg;
	memcpy(args + 3, argv, (size_t)argc * sizeof *argv);
	/* stdout is still empty here, so nothing buffered is lost. */
	execvp(kubectl, args);
	int e = errno;
	free(args);
	int status = e == ENOENT ? 127 : 126;
	if (kubectl != env && e == ENOENT)
		return cli_fail(status, "kubectl not found on PATH; install it (apt install "
					"kubernetes-client) or set MK_KUBECTL");
	if (kubectl != env)
		return cli_fail(status, "cannot run kubectl: %s", strerror(e));
	char q[128];
	return cli_fail(status, "cannot run MK_KUBECTL=%s: %s",
			cli_quote(kubectl, q, sizeof q), strerror(e));
}

const struct cli_command cli_kubectl = {"kubectl", "run kubectl against this node", usage, run};
