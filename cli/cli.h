/*
 * The `mk` command-line tool: what its commands share.
 *
 * Commands.  Each is a `struct cli_command`; main.c dispatches to its run()
 * with the resolved data directory (--data-dir, else $MK_DATA, else
 * $SNAP_DATA, else /var/lib/mk: exactly how mkd finds it) and the arguments
 * after the command name, --data-dir taken out (except for kubectl, whose
 * arguments pass through untouched).  main() has checked that data_dir is
 * non-empty and at most CLI_DATA_DIR_MAX bytes, so "DIR/<relative path>"
 * always fits a PATH_MAX buffer.  run() returns the exit status:
 *   0  success
 *   1  failure: one line on stderr ("mk: ..."), with a hint where one helps
 *   2  bad usage: one line on stderr pointing at --help (EXIT_USAGE)
 * `mk kubectl` ends in kubectl's own status, or 126/127 as a shell would.
 * Results go to stdout, progress and errors to stderr.
 *
 * Ownership: argv and data_dir belong to main() and live until exit.
 * Helpers that return memory say who frees it.
 *
 * Threading: mk is single-threaded; nothing here is thread-safe.
 */
#ifndef MK_CLI_CLI_H
#define MK_CLI_CLI_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define EXIT_USAGE 2
/* Room left for "/credentials/client.config" and the like. */
#define CLI_DATA_DIR_MAX 3800

struct cli_command {
	const char *name;
	const char *summary; /* one line for `mk --help` */
	const char *usage;   /* full help text, starts with "usage: mk NAME" */
	int (*run)(const char *data_dir, int argc, char **argv);
};

extern const struct cli_command cli_status, cli_config, cli_kubectl, cli_version, cli_start,
	cli_stop;
extern const struct cli_command cli_images;

/* ---- arguments and messages (args.c) ---- */

/* "mk: <message>\n" on stderr; returns `status`. */
int cli_fail(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* `arg` made safe for a one-line message: double-quoted, control and
 * non-ASCII bytes escaped (\n, \xNN), cut to ~64 bytes with "...".
 * Returns `buf` (len >= 96 is enough). */
const char *cli_quote(const char *arg, char *buf, size_t len);
/* The usage error for an argument `cmd` does not take; returns EXIT_USAGE. */
int cli_unexpected(const char *cmd, const char *arg);
/* Matches argv[*i] against option `name` ("--timeout"): "--timeout V",
 * "--timeout=V", or, when value is NULL, a bare "--flag".  Returns 1 on a
 * match (advancing *i past a separate value), 0 if argv[*i] is another
 * argument, -1 after printing a usage error (value missing, or given to a
 * flag that takes none). */
int cli_flag(int argc, char **argv, int *i, const char *name, const char **value);
/* `text` strictly as a decimal in [lo, hi]; else a usage error, -1. */
int cli_int(const char *flag, const char *text, long lo, long hi, long *out);
/* If `arg` is --help or -h: prints `usage` on stdout, returns true. */
bool cli_wants_help(const char *arg, const char *usage);
/* Monotonic seconds, for deadlines. */
double cli_now(void);
/* Sleeps `ms` milliseconds: the pause between two polls of mkd. */
void cli_pause_ms(long ms);

/* ---- talking to mkd over HTTPS (api_client.c) ---- */

struct cli_reply {
	long code;  /* HTTP status */
	char *body; /* NUL-terminated, owned by the reply; may hold NULs itself */
	size_t len;
};

/* The API server URL from DIR/credentials/client.config, the admin
 * kubeconfig mkd writes ("https://127.0.0.1:16443").  MK_ENOTFOUND if the
 * file or its server line is missing, MK_EINVAL if the URL is not https. */
int cli_api_url(const char *data_dir, char *out, size_t len);
/* GET `path` as the admin (client certificate DIR/certs/admin.crt/.key,
 * server verified against DIR/certs/ca.crt), within timeout_ms (connect
 * within min(timeout_ms, 2 s)).  MK_OK when an HTTP answer came (any
 * status; free it with cli_reply_free); otherwise no reply is left to free
 * and errmsg holds one line: "cannot reach mkd at URL: Connection refused".
 * Bodies over 1 MiB are refused (MK_ETOOBIG). */
int cli_get(const char *data_dir, const char *path, long timeout_ms, struct cli_reply *reply,
	    char *errmsg, size_t len);
void cli_reply_free(struct cli_reply *reply);

/* ---- the local mkd process (mkd_proc.c) ---- */

/* True if a live process holds the lock on DIR/mkd.pid; *pid (may be NULL)
 * gets the pid written in the file (0 if unreadable). */
bool cli_mkd_running(const char *data_dir, pid_t *pid);
/* True if `pid` is the process holding the flock on DIR/mkd.pid (per
 * /proc/locks), so a signal meant for mkd cannot hit another process
 * because of a damaged pid file.  Without /proc/locks: pid > 1. */
bool cli_mkd_holds_lock(const char *data_dir, pid_t pid);
/* The mkd program to start: $MK_MKD, else mkd beside this mk binary, else
 * $SNAP/bin/mkd, else mkd on PATH.  MK_ENOTFOUND (errmsg says where it
 * looked) if none is executable. */
int cli_find_mkd(char *out, size_t len, char *errmsg, size_t errlen);

/* ---- output (yaml_out.c) ---- */

/* Writes `doc` (objects, arrays, strings, numbers, booleans, null) to stdout
 * as a YAML document with libyaml: keys in insertion order, strings quoted
 * whenever plain text would read back as something else.  MK_EIO if
 * libyaml fails (nothing useful can be said about partial output). */
int cli_print_yaml(const json_t *doc);

#endif
