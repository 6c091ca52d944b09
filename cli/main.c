/*
 * mk: the command-line tool of mk, MicroK8s' `microk8s` for mk.
 *
 *   mk [--data-dir DIR] COMMAND [ARGS...]
 *
 * main() finds the command, takes --data-dir out wherever it stands (before
 * or after the command; not inside `mk kubectl ...` nor after `--`),
 * resolves the data directory and hands over.  Every usage error is one
 * line on stderr and exit status 2.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "../core/base/datadir.h"
#include "cli.h"

static const struct cli_command *const commands[] = {
	&cli_status, &cli_start, &cli_stop, &cli_config, &cli_kubectl, &cli_version,
	&cli_images,
};
#define N_COMMANDS (sizeof commands / sizeof commands[0])

static void usage(void)
{
	printf("usage: mk [--data-dir DIR] COMMAND [ARGS...]\n\n"
	       "mk runs a Kubernetes node: the mkd daemon, its API and datastore.\n\n"
	       "Commands:\n");
	for (size_t i = 0; i < N_COMMANDS; i++)
		printf("  %-10s %s\n", commands[i]->name, commands[i]->summary);
	printf("  %-10s %s\n", "help", "this text; `mk help COMMAND` describes a command");
	printf("\nGlobal options (before or after the command):\n"
	       "  --data-dir DIR   the node's data directory (default: $MK_DATA, else\n"
	       "                   $SNAP_DATA, else /var/lib/mk), as for mkd\n"
	       "  -h, --help       this text; `mk COMMAND --help` describes a command\n\n"
	       "Exit status: 0 success, 1 failure (one line on stderr says why),\n"
	       "2 bad usage; `mk kubectl` exits with kubectl's status.\n");
}

static const struct cli_command *find(const char *name)
{
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (strcmp(commands[i]->name, name) == 0)
			return commands[i];
	return NULL;
}

static int unknown_command(const char *name)
{
	char q[128];
	return cli_fail(EXIT_USAGE, "unknown command %s; see 'mk --help'",
			cli_quote(name, q, sizeof q));
}

/* `mk help [COMMAND]` */
static int help(int argc, char **argv)
{
	if (argc == 0) {
		usage();
		return 0;
	}
	if (argc > 1)
		return cli_unexpected("help", argv[1]);
	const struct cli_command *c = find(argv[0]);
	if (c == NULL)
		return unknown_command(argv[0]);
	fputs(c->usage, stdout);
	return 0;
}

/* Takes --data-dir out of the command's arguments (into *data_flag);
 * what is left goes to args[] (room for argc entries), *n of them. */
static int split_args(const struct cli_command *c, int argc, char **argv, const char **data_flag,
		      char **args, int *n)
{
	*n = 0;
	for (int k = 0; k < argc; k++) {
		/* kubectl's arguments are kubectl's, and after `--` they
		 * belong to the command (mk start passes them to mkd). */
		if (c == &cli_kubectl || strcmp(argv[k], "--") == 0) {
			for (; k < argc; k++)
				args[(*n)++] = argv[k];
			break;
		}
		int r = cli_flag(argc, argv, &k, "--data-dir", data_flag);
		if (r < 0)
			return EXIT_USAGE;
		if (r == 0)
			args[(*n)++] = argv[k];
	}
	return 0;
}

static int run(int argc, char **argv)
{
	const char *data_flag = NULL;
	int i = 1;
	/* Global options before the command. */
	for (; i < argc && argv[i][0] == '-' && argv[i][1] != '\0'; i++) {
		int r = cli_flag(argc, argv, &i, "--data-dir", &data_flag);
		if (r < 0)
			return EXIT_USAGE;
		if (r == 1)
			continue;
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage();
			return 0;
		}
		char q[128];
		return cli_fail(EXIT_USAGE, "unknown option %s; see 'mk --help'",
				cli_quote(argv[i], q, sizeof q));
	}
	if (i >= argc)
		return cli_fail(EXIT_USAGE, "no command given; see 'mk --help'");
	if (strcmp(argv[i], "help") == 0)
		return help(argc - i - 1, argv + i + 1);
	const struct cli_command *c = find(argv[i]);
	if (c == NULL)
		return unknown_command(argv[i]);

	char **args = calloc((size_t)argc + 1, sizeof *args);
	if (args == NULL)
		return cli_fail(1, "out of memory");
	int n, rv = split_args(c, argc - i - 1, argv + i + 1, &data_flag, args, &n);
	if (rv != 0)
		goto out;
	if (data_flag != NULL && data_flag[0] == '\0') {
		rv = cli_fail(EXIT_USAGE, "--data-dir needs a directory");
		goto out;
	}
	const char *dir = datadir_resolve(data_flag);
	if (strlen(dir) > CLI_DATA_DIR_MAX) {
		rv = cli_fail(EXIT_USAGE, "the data directory path is longer than %d bytes",
			      CLI_DATA_DIR_MAX);
		goto out;
	}
	rv = c->run(dir, n, args);
out:
	free(args);
	return rv;
}

int main(int argc, char **argv)
{
	/* Once, before any thread or handle exists (libcurl's rule). */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return cli_fail(1, "cannot initialise libcurl");
	int rv = run(argc, argv);
	curl_global_cleanup();
	/* Output that never reached its file (`mk config > /dev/full`) is a
	 * failure, not a silent truncation. */
	if (fflush(stdout) != 0 || ferror(stdout)) {
		int e = errno;
		if (rv == 0)
			rv = cli_fail(1, "cannot write the output: %s", strerror(e));
	}
	return rv;
}
