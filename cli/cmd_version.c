/*
 * mk version: mk's own version and, when mkd answers, the Kubernetes version
 * its API serves (GET /version).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/base/err.h"
#include "../core/base/version.h"
#include "cli.h"

static const char usage[] =
	"usage: mk version\n\n"
	"Prints mk's version (\"mk 0.1.0\") and, when mkd runs on this node, the\n"
	"Kubernetes version its API serves (\"Kubernetes v1.32.0+mk.0.1.0\").\n"
	"Exits 0 even when mkd does not answer (a line on stderr says so).\n";

static int run(const char *data_dir, int argc, char **argv)
{
	if (argc > 0 && cli_wants_help(argv[0], usage))
		return 0;
	if (argc > 0)
		return cli_unexpected("version", argv[0]);
	printf("mk %s\n", MK_VERSION);
	if (!cli_mkd_running(data_dir, NULL))
		return 0;
	struct cli_reply r;
	char err[768];
	if (cli_get(data_dir, "/version", 5000, &r, err, sizeof err) != MK_OK) {
		fprintf(stderr, "mk: the server's version is unknown: %s\n", err);
		return 0;
	}
	json_t *v = r.code == 200 ? json_loadb(r.body, r.len, 0, NULL) : NULL;
	const char *git = json_string_value(json_object_get(v, "gitVersion"));
	if (git != NULL && strcspn(git, "\r\n") == strlen(git))
		printf("Kubernetes %s\n", git);
	else
		fprintf(stderr,
			"mk: the server's version is unknown: GET /version answered HTTP %ld%s\n",
			r.code, r.code == 200 ? " without a usable gitVersion" : "");
	json_decref(v);
	cli_reply_free(&r);
	return 0;
}

const struct cli_command cli_version = {"version", "print mk's and the server's versions", usage,
					run};
