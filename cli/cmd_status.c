/*
 * mk status: is the node running and ready, its datastore members and its
 * addons, in MicroK8s' words (`microk8s status`).
 *
 * One source of truth: mkd's GET /mk/v1/status.  Its answer is checked
 * field by field, so a member list that is not a list of strings shows as
 * "none" rather than as garbage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/base/err.h"
#include "cli.h"

static const char usage[] =
	"usage: mk status [--format short|yaml] [--wait-ready [--timeout SECONDS]]\n\n"
	"Shows whether mkd runs on this node and is ready, its datastore members\n"
	"and its addons.  Exits 0 when ready, 1 when not running or not ready.\n\n"
	"  --format short    text for people (default)\n"
	"  --format yaml     the same facts as YAML, also when not running\n"
	"  --wait-ready      wait until the node is ready\n"
	"  --timeout N       with --wait-ready: give up after N seconds (default 60)\n";

/* The strings of a JSON array (other items skipped), as a new array. */
static json_t *strings_of(const json_t *list)
{
	json_t *out = json_array(), *v;
	size_t i;
	json_array_foreach(list, i, v)
		if (json_is_string(v))
			json_array_append(out, v);
	return out;
}

static const char *str_or(const json_t *v, const char *dflt)
{
	return json_is_string(v) ? json_string_value(v) : dflt;
}

/* What `mk status` shows, built from mkd's answer (NULL: not reached). */
static json_t *view_of(const json_t *st, bool running, bool ready, const char *message)
{
	const json_t *ds = json_object_get(st, "datastore");
	const json_t *addons = json_object_get(st, "addons");
	json_t *mk = json_pack("{s:b, s:b}", "running", running, "ready", ready);
	if (message != NULL)
		json_object_set_new(mk, "message", json_string(message));
	if (st == NULL)
		return json_pack("{s:o}", "mk", mk);
	json_object_set_new(mk, "version", json_string(str_or(json_object_get(st, "version"), "")));
	return json_pack(
		"{s:o, s:{s:s, s:s}, s:{s:b}, s:{s:o, s:o, s:o}, s:I, s:{s:o, s:o}}", "mk", mk,
		"node", "name", str_or(json_object_get(json_object_get(st, "node"), "name"), ""),
		"address", str_or(json_object_get(json_object_get(st, "node"), "address"), ""),
		"high-availability", "enabled",
		json_is_true(json_object_get(st, "highAvailability")), "datastore", "voters",
		strings_of(json_object_get(ds, "voters")), "standbys",
		strings_of(json_object_get(ds, "standbys")), "spares",
		strings_of(json_object_get(ds, "spares")), "revision",
		json_integer_value(json_object_get(st, "revision")), "addons", "enabled",
		strings_of(json_object_get(addons, "enabled")), "disabled",
		strings_of(json_object_get(addons, "disabled")));
}

/* Asks mkd once.  Returns the view; *ready says whether to stop waiting. */
static json_t *probe(const char *data_dir, long timeout_ms, bool *ready)
{
	struct cli_reply r;
	char err[768], msg[1024];
	json_t *st = NULL, *view = NULL;
	pid_t pid;

	*ready = false;
	if (!cli_mkd_running(data_dir, &pid)) {
		snprintf(msg, sizeof msg,
			 "mk is not running. Use 'mk start' to start it (its log: %s/mkd.log)",
			 data_dir);
		return view_of(NULL, false, false, msg);
	}
	if (cli_get(data_dir, "/mk/v1/status", timeout_ms, &r, err, sizeof err) != MK_OK) {
		snprintf(msg, sizeof msg, "mk is running (mkd pid %d) but not ready: %s", (int)pid,
			 err);
		return view_of(NULL, true, false, msg);
	}
	if (r.code == 401 || r.code == 403)
		snprintf(msg, sizeof msg,
			 "mkd (pid %d) refused the admin certificate in %s/certs (HTTP %ld)",
			 (int)pid, data_dir, r.code);
	else if (r.code != 200)
		snprintf(msg, sizeof msg, "mk is running (mkd pid %d) but not ready: HTTP %ld",
			 (int)pid, r.code);
	else if ((st = json_loadb(r.body, r.len, 0, NULL)) == NULL || !json_is_object(st))
		snprintf(msg, sizeof msg,
			 "mk is running (mkd pid %d) but its status answer is not a JSON object",
			 (int)pid);
	/* mkd answers 200 with ready=false while its store is not up. */
	else if (json_is_false(json_object_get(st, "ready")))
		snprintf(msg, sizeof msg,
			 "mk is running (mkd pid %d) but not ready: "
			 "its datastore is not available yet",
			 (int)pid);
	else
		*ready = true;
	view = view_of(json_is_object(st) ? st : NULL, true, *ready, *ready ? NULL : msg);
	json_decref(st);
	cli_reply_free(&r);
	return view;
}

/* A name from mkd's answer on the terminal: one line, no escape codes. */
static void print_name(const char *prefix, const char *s)
{
	fputs(prefix, stdout);
	for (; *s != '\0'; s++)
		putchar((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s);
}

static void print_members(const char *label, const json_t *list)
{
	size_t i;
	json_t *v;
	printf("  %s:", label);
	if (json_array_size(list) == 0)
		printf(" none");
	json_array_foreach(list, i, v)
		print_name(" ", json_string_value(v));
	printf("\n");
}

static void print_text(const json_t *view)
{
	const json_t *ds = json_object_get(view, "datastore");
	const json_t *addons = json_object_get(view, "addons");
	const json_t *ha = json_object_get(json_object_get(view, "high-availability"), "enabled");
	size_t i;
	json_t *v;

	printf("mk is running\n");
	printf("high-availability: %s\n", json_is_true(ha) ? "yes" : "no");
	print_members("datastore master nodes", json_object_get(ds, "voters"));
	print_members("datastore standby nodes", json_object_get(ds, "standbys"));
	printf("addons:\n  enabled:\n");
	json_array_foreach(json_object_get(addons, "enabled"), i, v) {
		print_name("    ", json_string_value(v));
		putchar('\n');
	}
	printf("  disabled:\n");
	json_array_foreach(json_object_get(addons, "disabled"), i, v) {
		print_name("    ", json_string_value(v));
		putchar('\n');
	}
}

static int run(const char *data_dir, int argc, char **argv)
{
	const char *format = "short", *timeout_text = NULL;
	bool wait = false, ready;
	for (int i = 0; i < argc; i++) {
		int r;
		if (cli_wants_help(argv[i], usage))
			return 0;
		r = cli_flag(argc, argv, &i, "--format", &format);
		if (r == 0)
			r = cli_flag(argc, argv, &i, "--timeout", &timeout_text);
		if (r == 0 && (r = cli_flag(argc, argv, &i, "--wait-ready", NULL)) == 1)
			wait = true;
		if (r == 0)
			return cli_unexpected("status", argv[i]);
		if (r < 0)
			return EXIT_USAGE;
	}
	bool yaml = strcmp(format, "yaml") == 0;
	if (!yaml && strcmp(format, "short") != 0) {
		char q[128];
		return cli_fail(EXIT_USAGE, "--format wants short or yaml, got %s",
				cli_quote(format, q, sizeof q));
	}
	long timeout = 60;
	if (timeout_text != NULL) {
		if (!wait)
			return cli_fail(EXIT_USAGE,
					"--timeout goes with --wait-ready; see 'mk status --help'");
		if (cli_int("--timeout", timeout_text, 0, 86400, &timeout) != 0)
			return EXIT_USAGE;
	}

	double deadline = cli_now() + (double)timeout;
	json_t *view;
	for (;;) {
		/* Never wait on one request past the deadline, nor less than
		 * a second (a slow answer is still an answer). */
		double left = wait ? deadline - cli_now() : 5.0;
		long ms = left > 5.0 ? 5000 : left < 1.0 ? 1000 : (long)(left * 1000);
		view = probe(data_dir, ms, &ready);
		if (view == NULL)
			return cli_fail(1, "out of memory");
		if (ready || !wait || cli_now() >= deadline)
			break;
		json_decref(view);
		cli_pause_ms(250); /* the pace of polling mkd */
	}
	int rv = ready ? 0 : 1;
	if (yaml) {
		if (cli_print_yaml(view) != MK_OK)
			rv = cli_fail(1, "cannot write the status as YAML");
	} else if (ready) {
		print_text(view);
	} else {
		fprintf(stderr, "%s\n",
			json_string_value(json_object_get(json_object_get(view, "mk"), "message")));
	}
	json_decref(view);
	return rv;
}

const struct cli_command cli_status = {"status", "show whether mk runs, its datastore and addons",
				       usage, run};
