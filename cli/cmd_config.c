/*
 * mk config: the admin kubeconfig mkd wrote, for kubectl or any client.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char usage[] =
	"usage: mk config\n\n"
	"Prints the admin kubeconfig of this node (DIR/credentials/client.config),\n"
	"for kubectl or any Kubernetes client:  mk config > ~/.kube/config\n"
	"It holds the admin's private key: keep the copy private.\n";

static int run(const char *data_dir, int argc, char **argv)
{
	if (argc > 0 && cli_wants_help(argv[0], usage))
		return 0;
	if (argc > 0)
		return cli_unexpected("config", argv[0]);
	char path[PATH_MAX], buf[8192];
	snprintf(path, sizeof path, "%s/credentials/client.config", data_dir);
	FILE *f = fopen(path, "r");
	if (f == NULL && errno == ENOENT)
		return cli_fail(1, "%s does not exist; mkd writes it when it starts (mk start)",
				path);
	if (f == NULL && errno == EACCES)
		return cli_fail(1, "%s: permission denied; it is the admin's credential (try sudo)",
				path);
	if (f == NULL)
		return cli_fail(1, "%s: %s", path, strerror(errno));
	size_t n;
	while ((n = fread(buf, 1, sizeof buf, f)) > 0)
		fwrite(buf, 1, n, stdout);
	int rv = ferror(f) ? cli_fail(1, "%s: read error", path) : 0;
	fclose(f);
	return rv;
}

const struct cli_command cli_config = {"config", "print the admin kubeconfig", usage, run};
