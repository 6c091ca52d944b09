/*
 * mk start: runs mkd for the data directory in the background, outside a
 * snap's service manager, and waits until its API says it is ready.
 *
 * mkd becomes its own session leader (setsid), so closing the terminal or
 * ^C on mk leaves it running; its stdout and stderr go to DIR/mkd.log.
 * While waiting, mk watches its child (an early exit is reported with the
 * end of the log) and never probes the pid-file lock: a probe at the moment
 * mkd takes the lock would make mkd believe another one runs.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../core/base/datadir.h"
#include "../core/base/err.h"
#include "cli.h"

#define TAIL_LINES 10
#define TAIL_BYTES (64 * 1024)

static const char usage[] =
	"usage: mk start [--timeout SECONDS] [-- MKD OPTIONS...]\n\n"
	"Starts mkd for this data directory in the background and waits until its\n"
	"API is ready; says so and exits 0 if it already runs.  mkd's output is\n"
	"appended to DIR/mkd.log.  Options after -- go to mkd unchanged (see\n"
	"mkd --help), e.g.  mk start -- --address 10.0.0.5 --api-port 16443\n\n"
	"  --timeout N   wait at most N seconds (default 60); mkd goes on starting\n"
	"                in the background after that, and mk exits 1\n\n"
	"mkd is $MK_MKD if set, else mkd beside mk, else $SNAP/bin/mkd, else the\n"
	"first mkd on PATH.\n";

/* The last lines mkd wrote since `from` (this start's part of the log),
 * on stderr, indented and cut to a sane width. */
static void show_log_tail(const char *log, off_t from)
{
	char *buf = malloc(TAIL_BYTES + 1);
	int fd = open(log, O_RDONLY | O_CLOEXEC);
	ssize_t n = 0;
	if (buf != NULL && fd >= 0) {
		off_t end = lseek(fd, 0, SEEK_END);
		if (end - from > TAIL_BYTES)
			from = end - TAIL_BYTES;
		n = end > from ? pread(fd, buf, (size_t)(end - from), from) : 0;
	}
	if (fd >= 0)
		close(fd);
	if (n <= 0) {
		fprintf(stderr, "  (mkd wrote nothing)\n");
		free(buf);
		return;
	}
	buf[n] = '\0';
	/* Walk back over TAIL_LINES line ends (ignoring a final one). */
	char *p = buf + n;
	if (p > buf && p[-1] == '\n')
		*--p = '\0';
	int lines = 0;
	while (p > buf && lines < TAIL_LINES)
		if (*--p == '\n' && ++lines == TAIL_LINES)
			p++;
	for (char *line = p; line != NULL;) {
		char *nl = strchr(line, '\n');
		int w = nl != NULL ? (int)(nl - line) : (int)strlen(line);
		fprintf(stderr, "  %.*s%s\n", w > 300 ? 300 : w, line, w > 300 ? "..." : "");
		line = nl != NULL ? nl + 1 : NULL;
	}
	free(buf);
}

/* Runs in the child: becomes mkd.  Never returns. */
static void exec_mkd(const char *mkd, const char *dir, int logfd, int argc, char **argv)
{
	setsid();
	int null = open("/dev/null", O_RDONLY);
	if (null < 0 || dup2(null, 0) < 0 || dup2(logfd, 1) < 0 || dup2(logfd, 2) < 0)
		_exit(126);
	if (null > 2)
		close(null);
	char **args = calloc((size_t)argc + 4, sizeof *args);
	if (args == NULL)
		_exit(126);
	args[0] = (char *)mkd;
	args[1] = "--data-dir";
	args[2] = (char *)dir;
	memcpy(args + 3, argv, (size_t)argc * sizeof *argv);
	execv(mkd, args);
	fprintf(stderr, "mk start: cannot run %s: %s\n", mkd, strerror(errno));
	_exit(127);
}

/* Waits for the child's API to be ready.  0 ready, 1 failed (said why). */
static int wait_ready(const char *dir, pid_t child, const char *log, off_t log_from, long timeout)
{
	enum { STARTING, API, DATASTORE } state = STARTING;
	double deadline = cli_now() + (double)timeout;
	char cfg[PATH_MAX], err[768] = "";
	snprintf(cfg, sizeof cfg, "%s/credentials/client.config", dir);
	for (;;) {
		int status;
		if (waitpid(child, &status, WNOHANG) == child) {
			char how[64];
			if (WIFEXITED(status))
				snprintf(how, sizeof how, "exited with status %d",
					 WEXITSTATUS(status));
			else
				snprintf(how, sizeof how, "was killed by signal %d",
					 WTERMSIG(status));
			cli_fail(1, "mkd %s while starting; the end of %s:", how, log);
			show_log_tail(log, log_from);
			return 1;
		}
		double left = deadline - cli_now();
		/* The kubeconfig names the API port; it exists once mkd has
		 * made its certificates.  (One from an earlier run may name an
		 * old port: then the probe fails until mkd rewrites it.) */
		if (access(cfg, R_OK) == 0) {
			if (state == STARTING) {
				fprintf(stderr, "Waiting for the API server...\n");
				state = API;
			}
			struct cli_reply r;
			long ms = left > 2.0 ? 2000 : left > 0.2 ? (long)(left * 1000) : 200;
			if (cli_get(dir, "/readyz", ms, &r, err, sizeof err) == MK_OK) {
				long code = r.code;
				cli_reply_free(&r);
				if (code == 200) {
					fprintf(stderr, "mk is ready\n");
					return 0;
				}
				if (state == API) {
					fprintf(stderr, "Waiting for the datastore...\n");
					state = DATASTORE;
				}
			}
		}
		if (cli_now() >= deadline) {
			const char *why = state == STARTING ? "no kubeconfig yet"
					  : state == API    ? err
							    : "its datastore is not ready";
			cli_fail(1,
				 "mkd (pid %d) is not ready after %ld s (%s); it goes on starting "
				 "in the background ('mk status --wait-ready' waits for it, "
				 "'mk stop' stops it); the end of %s:",
				 (int)child, timeout, why, log);
			show_log_tail(log, log_from);
			return 1;
		}
		cli_pause_ms(100); /* the pace of polling a starting mkd */
	}
}

static bool names_data_dir(const char *arg)
{
	return strcmp(arg, "--data-dir") == 0 || strncmp(arg, "--data-dir=", 11) == 0;
}

static int run(const char *data_dir, int argc, char **argv)
{
	const char *timeout_text = NULL;
	int extra = argc;
	for (int i = 0; i < argc; i++) {
		int r;
		if (strcmp(argv[i], "--") == 0) {
			extra = i + 1;
			break;
		}
		if (cli_wants_help(argv[i], usage))
			return 0;
		if ((r = cli_flag(argc, argv, &i, "--timeout", &timeout_text)) < 0)
			return EXIT_USAGE;
		if (r == 0)
			return cli_unexpected("start", argv[i]);
	}
	for (int i = extra; i < argc; i++)
		if (names_data_dir(argv[i]))
			return cli_fail(EXIT_USAGE, "give --data-dir to mk, not to mkd after --");
	long timeout = 60;
	if (timeout_text != NULL && cli_int("--timeout", timeout_text, 1, 86400, &timeout) != 0)
		return EXIT_USAGE;

	pid_t pid;
	if (cli_mkd_running(data_dir, &pid)) {
		printf("mk is already running (mkd pid %d)\n", (int)pid);
		return 0;
	}
	char err[768], mkd[PATH_MAX], dir[PATH_MAX], log[PATH_MAX];
	if (datadir_prepare(data_dir, err, sizeof err) != MK_OK)
		return cli_fail(1, "%s", err);
	/* mkd gets an absolute path: it must not depend on our cwd. */
	if (realpath(data_dir, dir) == NULL)
		return cli_fail(1, "%s: %s", data_dir, strerror(errno));
	if (cli_find_mkd(mkd, sizeof mkd, err, sizeof err) != MK_OK)
		return cli_fail(1, "%s", err);
	snprintf(log, sizeof log, "%s/mkd.log", dir);
	int logfd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (logfd < 0)
		return cli_fail(1, "%s: %s", log, strerror(errno));
	time_t now = time(NULL);
	char when[64] = "";
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S%z", localtime(&now));
	dprintf(logfd, "---- %s mk start: %s ----\n", when, mkd);
	off_t log_from = lseek(logfd, 0, SEEK_END);

	fprintf(stderr, "Starting mkd...\n");
	fflush(NULL); /* the child must not inherit unwritten output */
	pid_t child = fork();
	if (child < 0) {
		close(logfd);
		return cli_fail(1, "fork: %s", strerror(errno));
	}
	if (child == 0)
		exec_mkd(mkd, dir, logfd, argc - extra, argv + extra);
	close(logfd);
	return wait_ready(dir, child, log, log_from, timeout);
}

const struct cli_command cli_start = {"start", "start mkd and wait until it is ready", usage,
				      run};
