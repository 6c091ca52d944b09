/*
 * mk-shim: the process that owns one running container.
 *
 *   mk-shim --runtime PATH --root DIR --id ID --bundle DIR --log FILE
 *           --exit-file FILE [--log-max-size BYTES] [--log-max-files N]
 *           [--sync-fd FD]
 *
 * Why a process of its own (containerd-shim and conmon do the same): the
 * container's stdout and stderr are pipes that somebody must drain for as
 * long as it runs, and its exit status can only be collected by a parent.
 * If mkd held them, restarting mkd would kill or orphan every container.
 * The shim is small, lives in its own session, outlives mkd, and leaves
 * everything mkd needs to adopt the container in files:
 *
 *   1. `RUNTIME run --detach` with the container's stdio wired to two
 *      pipes (runc hands its own stdio through to the container process).
 *      The shim is a child subreaper, so the container's init process
 *      becomes its child once runc exits.
 *   2. On FD (--sync-fd), one line for whoever started us:
 *        "ok <init pid>\n"     the container runs
 *        "error <message>\n"   it does not (the runtime's own words); the
 *                              shim then cleans up and exits 1
 *   3. Copies both pipes into --log as CRI records (log_writer.h) until the
 *      container's init exits and the pipes are drained.
 *   4. Writes --exit-file atomically: {"exitCode":N,"signal":S,
 *      "finishedAt":"RFC3339Nano"} (exitCode is 128+S for a signal, as a
 *      shell reports it), and exits 0.  The runtime's state is left for the
 *      agent to delete.
 *
 * The shim ignores SIGINT, SIGTERM and SIGHUP: containers are stopped
 * through the runtime (`runc kill`), never by killing their shim.
 *
 *   mk-shim exec --runtime PATH --root DIR --id ID --console-socket SOCK
 *           -- COMMAND [ARGS...]
 *
 * `kubectl exec -t`: runc hands a terminal's master over a console socket
 * only when it detaches, and then nobody could learn the command's exit
 * code.  In this mode the shim is the subreaper that `runc exec --detach`
 * leaves the command to: it waits for it and exits with its status (128+N
 * for a signal), so the API server sees the exit code as if runc had
 * stayed.  stdin/stdout/stderr pass through (runc's own errors arrive on
 * stderr).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "../node/log_writer.h"

/* After init exits, the pipes normally reach EOF at once (the kernel kills
 * the rest of the container's PID namespace); a process that kept a copy of
 * the pipe elsewhere must not keep the shim alive forever. */
#define DRAIN_AFTER_EXIT_MS 2000

struct shim_args {
	const char *runtime, *root, *id, *bundle, *log, *exit_file;
	unsigned long long log_max_size;
	int log_max_files;
	int sync_fd;
};

static void usage_fail(const char *fmt, ...)
{
	va_list ap;

	fputs("mk-shim: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

static void parse_args(int argc, char **argv, struct shim_args *a)
{
	memset(a, 0, sizeof *a);
	a->log_max_size = 10ULL << 20;
	a->log_max_files = 5;
	a->sync_fd = -1;
	for (int i = 1; i < argc; i++) {
		const char *f = argv[i];
		if (i + 1 >= argc)
			usage_fail("%s needs a value", f);
		const char *v = argv[++i];
		char *end;
		if (strcmp(f, "--runtime") == 0)
			a->runtime = v;
		else if (strcmp(f, "--root") == 0)
			a->root = v;
		else if (strcmp(f, "--id") == 0)
			a->id = v;
		else if (strcmp(f, "--bundle") == 0)
			a->bundle = v;
		else if (strcmp(f, "--log") == 0)
			a->log = v;
		else if (strcmp(f, "--exit-file") == 0)
			a->exit_file = v;
		else if (strcmp(f, "--log-max-size") == 0) {
			a->log_max_size = strtoull(v, &end, 10);
			if (*v == '\0' || *end != '\0')
				usage_fail("--log-max-size needs a number of bytes");
		} else if (strcmp(f, "--log-max-files") == 0) {
			a->log_max_files = (int)strtol(v, &end, 10);
			if (*v == '\0' || *end != '\0' || a->log_max_files < 1)
				usage_fail("--log-max-files needs a number >= 1");
		} else if (strcmp(f, "--sync-fd") == 0) {
			a->sync_fd = (int)strtol(v, &end, 10);
			if (*v == '\0' || *end != '\0' || a->sync_fd < 0)
				usage_fail("--sync-fd needs a file descriptor");
		} else
			usage_fail("unknown flag %s", f);
	}
	if (!a->runtime || !a->root || !a->id || !a->bundle || !a->log || !a->exit_file)
		usage_fail("--runtime, --root, --id, --bundle, --log and --exit-file are required");
}

static void report(int fd, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	if (fd < 0)
		return;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof line - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof line - 2)
		n = sizeof line - 2;
	/* The message is one line whatever the runtime said. */
	for (int i = 0; i < n; i++)
		if (line[i] == '\n' || line[i] == '\r')
			line[i] = ' ';
	line[n++] = '\n';
	if (write(fd, line, (size_t)n) < 0)
		fprintf(stderr, "mk-shim: cannot report to the agent: %s\n", strerror(errno));
}

/* Runs the runtime with the given verb and waits for it.  stdout/stderr of
 * the runtime (and so of the container, for `create`) go to out_fd/err_fd.
 * Returns its exit status, or -1 if it could not be started. */
static int run_runtime(const struct shim_args *a, char *const *verb_args, int out_fd, int err_fd)
{
	char runtime_log[4200];
	const char *argv[32];
	int n = 0;

	snprintf(runtime_log, sizeof runtime_log, "%s/runtime.log", a->bundle);
	argv[n++] = a->runtime;
	argv[n++] = "--root";
	argv[n++] = a->root;
	argv[n++] = "--log";
	argv[n++] = runtime_log;
	argv[n++] = "--log-format";
	argv[n++] = "json";
	for (int i = 0; verb_args[i] != NULL && n < 31; i++)
		argv[n++] = verb_args[i];
	argv[n] = NULL;

	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDWR);
		dup2(devnull, 0);
		dup2(out_fd, 1);
		dup2(err_fd, 2);
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		execv(a->runtime, (char *const *)argv);
		_exit(127);
	}
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* The runtime's last error message from its JSON log, or a fallback. */
static void runtime_error(const struct shim_args *a, const char *what, int status, char *out,
			  size_t len)
{
	char path[4200], line[8192];

	snprintf(out, len, "%s %s exited %d", a->runtime, what, status);
	snprintf(path, sizeof path, "%s/runtime.log", a->bundle);
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return;
	while (fgets(line, sizeof line, f) != NULL) {
		json_t *j = json_loads(line, 0, NULL);
		const char *level = json_string_value(json_object_get(j, "level"));
		const char *msg = json_string_value(json_object_get(j, "msg"));
		if (level != NULL && msg != NULL &&
		    (strcmp(level, "error") == 0 || strcmp(level, "fatal") == 0))
			snprintf(out, len, "%s", msg);
		json_decref(j);
	}
	fclose(f);
}

static pid_t read_pid(const char *path)
{
	char buf[32] = "";
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	long v = strtol(buf, NULL, 10);
	return v > 0 ? (pid_t)v : -1;
}

static int write_exit_file(const char *path, int status)
{
	char tmp[4200], finished[64];
	int code = 0, sig = 0;

	if (WIFEXITED(status))
		code = WEXITSTATUS(status);
	else if (WIFSIGNALED(status)) {
		sig = WTERMSIG(status);
		code = 128 + sig;
	}
	log_writer_timestamp(finished, sizeof finished);
	json_t *j = json_pack("{s:i, s:i, s:s}", "exitCode", code, "signal", sig, "finishedAt",
			      finished);
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	int rc = j != NULL ? json_dump_file(j, tmp, JSON_COMPACT) : -1;
	json_decref(j);
	if (rc == 0)
		rc = rename(tmp, path);
	return rc;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Copies the container's output into the log until init has exited and the
 * pipes are drained (or DRAIN_AFTER_EXIT_MS passed).  Returns init's wait
 * status. */
static int supervise(int sigfd, int pipes[2], pid_t init_pid, struct log_writer *w)
{
	int init_status = 0;
	bool init_done = false;
	long long exited_at = 0;
	char buf[65536];

	for (;;) {
		struct pollfd p[3] = {
			{ .fd = sigfd, .events = POLLIN },
			{ .fd = pipes[0], .events = POLLIN },
			{ .fd = pipes[1], .events = POLLIN },
		};
		if (init_done && pipes[0] < 0 && pipes[1] < 0)
			break;
		int timeout = -1;
		if (init_done) {
			long long left = exited_at + DRAIN_AFTER_EXIT_MS - now_ms();
			if (left <= 0)
				break;
			timeout = (int)left;
		}
		if (poll(p, 3, timeout) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[0].revents & POLLIN) {
			struct signalfd_siginfo si;
			while (read(sigfd, &si, sizeof si) == sizeof si)
				;
			int st;
			pid_t pid;
			/* Reap every child: init and whatever else a subreaper
			 * inherits (runc's helpers, re-parented grandchildren). */
			while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
				if (pid == init_pid) {
					init_status = st;
					init_done = true;
					exited_at = now_ms();
				}
			}
		}
		for (int s = 0; s < 2; s++) {
			if (pipes[s] < 0 || !(p[s + 1].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			ssize_t n = read(pipes[s], buf, sizeof buf);
			if (n > 0) {
				log_writer_feed(w, (enum log_stream)s, buf, (size_t)n);
			} else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
				log_writer_flush(w, (enum log_stream)s);
				close(pipes[s]);
				pipes[s] = -1;
			}
		}
	}
	log_writer_flush(w, LOG_STDOUT);
	log_writer_flush(w, LOG_STDERR);
	return init_status;
}

static int exec_mode(int argc, char **argv)
{
	const char *runtime = NULL, *root = NULL, *id = NULL, *sock = NULL;
	int i;

	for (i = 2; i < argc && strcmp(argv[i], "--") != 0; i += 2) {
		if (i + 1 >= argc)
			usage_fail("%s needs a value", argv[i]);
		if (strcmp(argv[i], "--runtime") == 0)
			runtime = argv[i + 1];
		else if (strcmp(argv[i], "--root") == 0)
			root = argv[i + 1];
		else if (strcmp(argv[i], "--id") == 0)
			id = argv[i + 1];
		else if (strcmp(argv[i], "--console-socket") == 0)
			sock = argv[i + 1];
		else
			usage_fail("unknown flag %s", argv[i]);
	}
	if (!runtime || !root || !id || !sock || i + 1 >= argc)
		usage_fail("exec needs --runtime, --root, --id, --console-socket and -- COMMAND");
	char dir[] = "/tmp/mk-exec.XXXXXX", pid_file[64];
	if (mkdtemp(dir) == NULL) {
		fprintf(stderr, "mk-shim: cannot make a temporary directory: %s\n", strerror(errno));
		return 255;
	}
	snprintf(pid_file, sizeof pid_file, "%s/pid", dir);
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	const char *args[256];
	int n = 0;
	const char *fixed[] = { runtime, "--root", root, "exec", "--detach", "--tty",
				"--console-socket", sock, "--pid-file", pid_file, "--env",
				"TERM=xterm", id };
	for (size_t k = 0; k < sizeof fixed / sizeof *fixed; k++)
		args[n++] = fixed[k];
	for (i++; i < argc && n < 255; i++)
		args[n++] = argv[i];
	args[n] = NULL;
	pid_t runc = fork();
	if (runc == 0) {
		execv(runtime, (char *const *)args);
		_exit(127);
	}
	int st = 0;
	while (runc > 0 && waitpid(runc, &st, 0) < 0 && errno == EINTR)
		;
	pid_t target = -1;
	if (runc > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0)
		target = read_pid(pid_file);
	unlink(pid_file);
	rmdir(dir);
	if (target < 0)
		return runc < 0 ? 255 : WIFEXITED(st) ? WEXITSTATUS(st) : 255;
	/* The command is ours now (subreaper); anything else that lands here
	 * is reaped and forgotten. */
	for (;;) {
		pid_t p = waitpid(-1, &st, 0);
		if (p < 0 && errno == EINTR)
			continue;
		if (p < 0)
			return 255;
		if (p == target)
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	}
}

int main(int argc, char **argv)
{
	struct shim_args a;

	if (argc > 1 && strcmp(argv[1], "exec") == 0)
		return exec_mode(argc, argv);
	struct log_writer w;
	int out[2] = { -1, -1 }, err[2] = { -1, -1 };
	char pid_file[4200], msg[2048];

	parse_args(argc, argv, &a);
	setsid();
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	/* Children must become ours when runc exits, or nobody could wait for
	 * the container's init and learn its exit code. */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) {
		report(a.sync_fd, "error cannot become a subreaper: %s", strerror(errno));
		return 1;
	}
	sigset_t chld;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, NULL);
	int sigfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
	int rc = log_writer_open(&w, a.log, a.log_max_size, a.log_max_files);
	if (sigfd < 0 || rc != 0) {
		report(a.sync_fd, "error cannot open %s: %s", a.log, strerror(rc ? -rc : errno));
		return 1;
	}
	if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) {
		report(a.sync_fd, "error cannot make pipes: %s", strerror(errno));
		return 1;
	}

	snprintf(pid_file, sizeof pid_file, "%s/init.pid", a.bundle);
	/* One `run --detach` rather than `create` then `start`: the same
	 * container, one runtime process less on every start (runc is a Go
	 * program; starting it is most of what a container start costs). */
	char *run[] = { "run", "--detach", "--bundle", (char *)a.bundle, "--pid-file", pid_file,
			(char *)a.id, NULL };
	int st = run_runtime(&a, run, out[1], err[1]);
	/* Only the container keeps the write ends now: EOF means it is gone. */
	close(out[1]);
	close(err[1]);
	pid_t init_pid = st == 0 ? read_pid(pid_file) : -1;
	if (st != 0 || init_pid < 0) {
		runtime_error(&a, "run", st, msg, sizeof msg);
		goto fail;
	}
	report(a.sync_fd, "ok %d", (int)init_pid);
	if (a.sync_fd >= 0)
		close(a.sync_fd);

	fcntl(out[0], F_SETFL, O_NONBLOCK);
	fcntl(err[0], F_SETFL, O_NONBLOCK);
	int pipes[2] = { out[0], err[0] };
	int status = supervise(sigfd, pipes, init_pid, &w);
	log_writer_close(&w);
	if (write_exit_file(a.exit_file, status) != 0) {
		fprintf(stderr, "mk-shim: cannot write %s: %s\n", a.exit_file, strerror(errno));
		return 1;
	}
	return 0;

fail:
	report(a.sync_fd, "error %s", msg);
	{
		char *del[] = { "delete", "--force", (char *)a.id, NULL };
		int devnull2 = open("/dev/null", O_WRONLY | O_CLOEXEC);
		run_runtime(&a, del, devnull2, devnull2);
		close(devnull2);
	}
	log_writer_close(&w);
	return 1;
}
