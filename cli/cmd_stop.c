/*
 * mk stop: SIGTERM to the mkd of this data directory (it hands its
 * datastore role over and exits cleanly), then wait until its pid-file lock
 * is released, which happens only when the process is gone.  SIGKILL after
 * the timeout.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char usage[] =
	"usage: mk stop [--timeout SECONDS]\n\n"
	"Stops the mkd of this data directory: SIGTERM, then waits for it to exit.\n"
	"Says so and exits 0 if it is not running.\n\n"
	"  --timeout N   after N seconds (default 30) kill it (SIGKILL), with a\n"
	"                warning\n";

/* Polls the lock until mkd let go of it; false at the deadline. */
static bool wait_gone(const char *data_dir, double seconds)
{
	double deadline = cli_now() + seconds;
	while (cli_mkd_running(data_dir, NULL)) {
		if (cli_now() >= deadline)
			return false;
		cli_pause_ms(100); /* the pace of polling a stopping mkd */
	}
	return true;
}

static int run(const char *data_dir, int argc, char **argv)
{
	const char *timeout_text = NULL;
	for (int i = 0; i < argc; i++) {
		int r;
		if (cli_wants_help(argv[i], usage))
			return 0;
		if ((r = cli_flag(argc, argv, &i, "--timeout", &timeout_text)) < 0)
			return EXIT_USAGE;
		if (r == 0)
			return cli_unexpected("stop", argv[i]);
	}
	long timeout = 30;
	if (timeout_text != NULL && cli_int("--timeout", timeout_text, 1, 86400, &timeout) != 0)
		return EXIT_USAGE;

	pid_t pid;
	if (!cli_mkd_running(data_dir, &pid)) {
		printf("mk is not running\n");
		return 0;
	}
	/* The pid comes from a file: signal it only if it is the process
	 * holding the lock, i.e. really the mkd of this directory. */
	if (!cli_mkd_holds_lock(data_dir, pid)) {
		if (!cli_mkd_running(data_dir, NULL)) { /* it just exited */
			printf("mk is not running\n");
			return 0;
		}
		return cli_fail(1, "%s/mkd.pid names pid %d, which is not the process holding "
				   "its lock; not signalling it",
				data_dir, (int)pid);
	}
	fprintf(stderr, "Stopping mkd (pid %d)...\n", (int)pid);
	if (kill(pid, SIGTERM) != 0 && errno != ESRCH)
		return cli_fail(1, "cannot signal mkd (pid %d): %s", (int)pid, strerror(errno));
	if (!wait_gone(data_dir, (double)timeout)) {
		fprintf(stderr, "mk: warning: mkd (pid %d) did not stop within %ld s; killing it\n",
			(int)pid, timeout);
		if (kill(pid, SIGKILL) != 0 && errno != ESRCH)
			return cli_fail(1, "cannot kill mkd (pid %d): %s", (int)pid,
					strerror(errno));
		/* SIGKILL cannot be ignored; this only waits for the kernel. */
		if (!wait_gone(data_dir, 10.0))
			return cli_fail(1, "mkd (pid %d) is still running after SIGKILL", (int)pid);
	}
	printf("mk is stopped\n");
	return 0;
}

const struct cli_command cli_stop = {"stop", "stop mkd", usage, run};
