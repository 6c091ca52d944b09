/*
 * The `mk` command-line tool: shared pieces of the commands.
 *
 * Every command gets the resolved data directory (--data-dir, $MK_DATA,
 * $SNAP_DATA, /var/lib/mk, like mkd) and its own arguments; it returns the
 * process exit status: 0 success, 1 failure (one line on stderr), 2 bad
 * usage.
 */
#ifndef MK_CLI_CLI_H
#define MK_CLI_CLI_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define EXIT_USAGE 2

struct cli_command {
	const char *name;
	const char *summary;
	const char *usage; /* full help text */
	int (*run)(const char *data_dir, int argc, char **argv);
};

extern const struct cli_command cli_status, cli_config, cli_kubectl, cli_version, cli_start,
	cli_stop;

/* "mk: <message>" on stderr; returns `status`. */
int cli_fail(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Parses --flag VALUE / --flag=VALUE / --flag.  Returns 1 if argv[*i]
 * matches `name` (value in *value when wanted), 0 if not, -1 if a wanted
 * value is missing (message printed). */
int cli_flag(int argc, char **argv, int *i, const char *name, const char **value);
/* Strictly a decimal in [lo, hi]; else a usage error message, -1. */
int cli_int(const char *flag, const char *text, long lo, long hi, long *out);
/* Prints `usage` if argv[i] is --help/-h; returns true then. */
bool cli_wants_help(const char *arg, const char *usage);

/* --- talking to mkd (api_client.c) --- */

/* The API server URL from DIR/credentials/client.config
 * ("https://127.0.0.1:16443"); MK_ENOTFOUND if there is none yet. */
int cli_api_url(const char *data_dir, char *out, size_t len);
/* GET `path` with the admin certificate.  *code the HTTP status (0 if no
 * answer), *body the body (malloc'd, may be NULL); errmsg for transport
 * failures.  Returns 0 if an answer came. */
int cli_get(const char *data_dir, const char *path, long timeout_ms, long *code, char **body,
	    char *errmsg, size_t len);

/* --- the daemon (cmd_daemon.c) --- */
bool cli_mkd_running(const char *data_dir, int *pid);

#endif
