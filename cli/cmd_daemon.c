/*
 * mk start, mk stop: the local mkd, outside a snap's service manager.
 * mkd holds a lock on DIR/mkd.pid while it runs (core/base/pidfile.h), so
 * "running" never depends on a stale pid.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../core/base/datadir.h"
#include "../core/base/err.h"
#include "../core/base/pidfile.h"
#include "cli.h"

bool cli_mkd_running(const char *data_dir, int *pid)
{
	char path[4200];
	pid_t p = 0;
	snprintf(path, sizeof path, "%s/mkd.pid", data_dir);
	bool running = pidfile_running(path, &p);
	if (pid)
		*pid = (int)p;
	return running;
}

/* $MK_MKD, else mkd beside this mk, else $SNAP/bin/mkd, else PATH. */
static void find_mkd(char *out, size_t len)
{
	const char *env = getenv("MK_MKD");
	if (env && *env) {
		snprintf(out, len, "%s", env);
		return;
	}
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n > 0) {
		self[n] = '\0';
		char *slash = strrchr(self, '/');
		if (slash) {
			*slash = '\0';
			snprintf(out, len, "%s/mkd", self);
			if (access(out, X_OK) == 0)
				return;
		}
	}
	const char *snap = getenv("SNAP");
	if (snap && *snap) {
		snprintf(out, len, "%s/bin/mkd", snap);
		if (access(out, X_OK) == 0)
			return;
	}
	snprintf(out, len, "mkd");
}

static void show_log_tail(const char *log)
{
	FILE *f = fopen(log, "r");
	if (f == NULL)
		return;
	char lines[5][512];
	int n = 0;
	while (fgets(lines[n % 5], sizeof lines[0], f))
		n++;
	fclose(f);
	for (int i = n > 5 ? n - 5 : 0; i < n; i++)
		fprintf(stderr, "  %s", lines[i % 5]);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char start_usage[] =
	"usage: mk start [--timeout SECONDS] [-- MKD OPTIONS...]\n\n"
	"Starts mkd for this data directory in the background (its log goes to\n"
	"DIR/mkd.log) and waits until the API answers.  Options after -- go to mkd\n"
	"(see mkd --help), e.g.  mk start -- --address 10.0.0.5\n\n"
	"  --timeout N   give up waiting after N seconds (default 60)\n";

static int start_run(const char *data_dir, int argc, char **argv)
{
	const char *timeout_text = NULL;
	int extra = argc;
	for (int i = 0; i < argc; i++) {
		int r;
		if (strcmp(argv[i], "--") == 0) {
			extra = i + 1;
			break;
		}
		if (cli_wants_help(argv[i], start_usage))
			return 0;
		if ((r = cli_flag(argc, argv, &i, "--timeout", &timeout_text)) != 0) {
			if (r < 0)
				return EXIT_USAGE;
			continue;
		}
		return cli_fail(EXIT_USAGE, "start: unexpected argument \"%s\"; see 'mk start --help'",
				argv[i]);
	}
	long timeout = 60;
	if (timeout_text && cli_int("--timeout", timeout_text, 1, 86400, &timeout) != 0)
		return EXIT_USAGE;
	int pid;
	if (cli_mkd_running(data_dir, &pid)) {
		printf("mk is already running (mkd pid %d)\n", pid);
		return 0;
	}
	char err[512], mkd[PATH_MAX], log[4200];
	if (datadir_prepare(data_dir, err, sizeof err) != MK_OK)
		return cli_fail(1, "%s", err);
	find_mkd(mkd, sizeof mkd);
	snprintf(log, sizeof log, "%s/mkd.log", data_dir);
	int logfd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (logfd < 0)
		return cli_fail(1, "%s: %s", log, strerror(errno));
	fprintf(stderr, "Starting mkd...\n");
	pid_t child = fork();
	if (child < 0)
		return cli_fail(1, "fork: %s", strerror(errno));
	if (child == 0) {
		setsid();
		int null = open("/dev/null", O_RDONLY);
		dup2(null, 0);
		dup2(logfd, 1);
		dup2(logfd, 2);
		char **args = calloc((size_t)(argc - extra) + 4, sizeof *args);
		if (args == NULL)
			_exit(1);
		args[0] = mkd;
		args[1] = "--data-dir";
		args[2] = (char *)data_dir;
		for (int i = extra; i < argc; i++)
			args[3 + i - extra] = argv[i];
		execvp(mkd, args);
		fprintf(stderr, "mk start: cannot run %s: %s\n", mkd, strerror(errno));
		_exit(127);
	}
	close(logfd);
	double deadline = now_s() + (double)timeout;
	bool said_waiting = false;
	for (;;) {
		int status;
		if (waitpid(child, &status, WNOHANG) == child) {
			fprintf(stderr, "mk: mkd exited during start-up; the end of %s:\n", log);
			show_log_tail(log);
			return 1;
		}
		long code;
		char *body;
		if (cli_mkd_running(data_dir, NULL)) {
			if (!said_waiting) {
				fprintf(stderr, "Waiting for the API server...\n");
				said_waiting = true;
			}
			if (cli_get(data_dir, "/readyz", 2000, &code, &body, err, sizeof err) == MK_OK) {
				free(body);
				if (code == 200) {
					fprintf(stderr, "mk is ready\n");
					return 0;
				}
			}
		}
		if (now_s() >= deadline) {
			fprintf(stderr, "mk: mkd (pid %d) is not ready after %ld s; the end of %s:\n",
				(int)child, timeout, log);
			show_log_tail(log);
			return 1;
		}
		usleep(100 * 1000); /* polling the daemon's readiness */
	}
}

const struct cli_command cli_start = {"start", "start mkd and wait until it is ready",
				      start_usage, start_run};

static const char stop_usage[] =
	"usage: mk stop [--timeout SECONDS]\n\n"
	"Stops the mkd of this data directory (SIGTERM: it hands its work over and\n"
	"exits cleanly), waiting for it to exit; after the timeout (default 30 s)\n"
	"it is killed.\n";

static int stop_run(const char *data_dir, int argc, char **argv)
{
	const char *timeout_text = NULL;
	for (int i = 0; i < argc; i++) {
		int r;
		if (cli_wants_help(argv[i], stop_usage))
			return 0;
		if ((r = cli_flag(argc, argv, &i, "--timeout", &timeout_text)) != 0) {
			if (r < 0)
				return EXIT_USAGE;
			continue;
		}
		return cli_fail(EXIT_USAGE, "stop: unexpected argument \"%s\"; see 'mk stop --help'",
				argv[i]);
	}
	long timeout = 30;
	if (timeout_text && cli_int("--timeout", timeout_text, 1, 86400, &timeout) != 0)
		return EXIT_USAGE;
	int pid;
	if (!cli_mkd_running(data_dir, &pid)) {
		printf("mk is not running\n");
		return 0;
	}
	if (pid <= 0 || kill(pid, SIGTERM) != 0)
		return cli_fail(1, "cannot signal mkd (pid %d): %s", pid, strerror(errno));
	fprintf(stderr, "Stopping mkd (pid %d)...\n", pid);
	double deadline = now_s() + (double)timeout;
	while (cli_mkd_running(data_dir, NULL)) {
		if (now_s() >= deadline) {
			fprintf(stderr, "mk: mkd did not stop within %ld s; killing it\n", timeout);
			kill(pid, SIGKILL);
			deadline = now_s() + 10;
			while (cli_mkd_running(data_dir, NULL) && now_s() < deadline)
				usleep(100 * 1000);
			break;
		}
		usleep(100 * 1000); /* polling the lock the daemon holds */
	}
	printf("mk is stopped\n");
	return 0;
}

const struct cli_command cli_stop = {"stop", "stop mkd", stop_usage, stop_run};
