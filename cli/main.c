/*
 * mk: the command-line tool of mk (MicroK8s' `microk8s` for mk).
 *
 *   mk [--data-dir DIR] COMMAND [ARGS...]
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/base/datadir.h"
#include "cli.h"

static const struct cli_command *const commands[] = {
	&cli_status, &cli_start, &cli_stop, &cli_config, &cli_kubectl, &cli_version,
};
#define N_COMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *f)
{
	fprintf(f, "usage: mk [--data-dir DIR] COMMAND [ARGS...]\n\n"
		   "The mk Kubernetes node: the local mkd daemon and its API.\n\n"
		   "Commands:\n");
	for (size_t i = 0; i < N_COMMANDS; i++)
		fprintf(f, "  %-10s %s\n", commands[i]->name, commands[i]->summary);
	fprintf(f, "  %-10s %s\n", "help", "this text, or `mk help COMMAND`");
	fprintf(f, "\nGlobal options:\n"
		   "  --data-dir DIR   the node's data directory (default: $MK_DATA, else\n"
		   "                   $SNAP_DATA, else /var/lib/mk)\n"
		   "  -h, --help       this text\n\n"
		   "`mk COMMAND --help` describes a command.\n");
}

int cli_fail(int status, const char *fmt, ...)
{
	va_list ap;
	fputs("mk: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return status;
}

int cli_flag(int argc, char **argv, int *i, const char *name, const char **value)
{
	const char *a = argv[*i];
	size_t n = strlen(name);
	if (strncmp(a, name, n) != 0 || (a[n] != '\0' && a[n] != '='))
		return 0;
	if (value == NULL) {
		if (a[n] == '=') {
			cli_fail(EXIT_USAGE, "%s takes no value; see 'mk --help'", name);
			return -1;
		}
		return 1;
	}
	if (a[n] == '=') {
		*value = a + n + 1;
		return 1;
	}
	if (*i + 1 >= argc) {
		cli_fail(EXIT_USAGE, "%s needs a value", name);
		return -1;
	}
	*value = argv[++*i];
	return 1;
}

int cli_int(const char *flag, const char *text, long lo, long hi, long *out)
{
	char *end;
	long v = strtol(text, &end, 10);
	if (*text == '\0' || *end != '\0' || v < lo || v > hi) {
		cli_fail(EXIT_USAGE, "%s wants a number from %ld to %ld, got \"%s\"", flag, lo, hi,
			 text);
		return -1;
	}
	*out = v;
	return 0;
}

bool cli_wants_help(const char *arg, const char *text)
{
	if (strcmp(arg, "--help") != 0 && strcmp(arg, "-h") != 0)
		return false;
	fputs(text, stdout);
	return true;
}

static const struct cli_command *find(const char *name)
{
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (strcmp(commands[i]->name, name) == 0)
			return commands[i];
	return NULL;
}

int main(int argc, char **argv)
{
	const char *data_flag = NULL;
	int i = 1;
	/* Global options come before the command. */
	for (; i < argc && argv[i][0] == '-'; i++) {
		int r = cli_flag(argc, argv, &i, "--data-dir", &data_flag);
		if (r < 0)
			return EXIT_USAGE;
		if (r == 1) {
			if (data_flag[0] == '\0')
				return cli_fail(EXIT_USAGE, "--data-dir needs a directory");
			continue;
		}
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		}
		return cli_fail(EXIT_USAGE, "unknown option \"%s\"; see 'mk --help'", argv[i]);
	}
	if (i >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	const char *name = argv[i];
	if (strcmp(name, "help") == 0) {
		if (i + 1 >= argc) {
			usage(stdout);
			return 0;
		}
		const struct cli_command *c = find(argv[i + 1]);
		if (c == NULL)
			return cli_fail(EXIT_USAGE, "unknown command \"%s\"; see 'mk --help'",
					argv[i + 1]);
		fputs(c->usage, stdout);
		return 0;
	}
	const struct cli_command *c = find(name);
	if (c == NULL)
		return cli_fail(EXIT_USAGE, "unknown command \"%s\"; see 'mk --help'", name);
	/* --data-dir may also follow the command (not for kubectl, whose
	 * arguments pass through untouched). */
	int n = 0;
	char **args = calloc((size_t)argc + 1, sizeof *args);
	if (args == NULL)
		return cli_fail(1, "out of memory");
	for (int k = i + 1; k < argc; k++) {
		if (c != &cli_kubectl && strcmp(argv[k], "--") != 0) {
			int r = cli_flag(argc, argv, &k, "--data-dir", &data_flag);
			if (r < 0) {
				free(args);
				return EXIT_USAGE;
			}
			if (r == 1)
				continue;
		}
		if (c != &cli_kubectl && strcmp(argv[k], "--") == 0) {
			/* everything after -- belongs to the command */
			for (; k < argc; k++)
				args[n++] = argv[k];
			break;
		}
		args[n++] = argv[k];
	}
	int rv = c->run(datadir_resolve(data_flag), n, args);
	free(args);
	return rv;
}
