/*
 * mk status: is the node running, its datastore members and addons, in
 * MicroK8s' words (`microk8s status`).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../core/base/err.h"
#include "cli.h"

static const char usage[] =
	"usage: mk status [--format short|yaml] [--wait-ready [--timeout SECONDS]]\n\n"
	"Shows whether mkd runs on this node, its datastore members and addons.\n"
	"Exits 1 when mk is not running or not ready.\n\n"
	"  --format FORMAT   short (default) or yaml\n"
	"  --wait-ready      wait until the node is ready\n"
	"  --timeout N       with --wait-ready: give up after N seconds (default 60)\n";

static void print_list(const char *label, const json_t *list)
{
	printf("  %s:", label);
	if (json_array_size(list) == 0) {
		printf(" none\n");
		return;
	}
	size_t i;
	json_t *v;
	json_array_foreach(list, i, v)
		printf(" %s", json_string_value(v) ? json_string_value(v) : "?");
	printf("\n");
}

static void print_yaml_list(const char *label, const json_t *list, const char *indent)
{
	printf("%s%s:", indent, label);
	if (json_array_size(list) == 0) {
		printf(" []\n");
		return;
	}
	printf("\n");
	size_t i;
	json_t *v;
	json_array_foreach(list, i, v)
		printf("%s- \"%s\"\n", indent, json_string_value(v) ? json_string_value(v) : "");
}

/* Asks mkd once: 0 ready (st filled), 1 not ready/not running (why set). */
static int probe(const char *data_dir, json_t **st, char *why, size_t len)
{
	int pid;
	if (!cli_mkd_running(data_dir, &pid)) {
		snprintf(why, len, "mk is not running. Use 'mk start' to start it");
		return 1;
	}
	long code;
	char *body;
	char err[512];
	if (cli_get(data_dir, "/mk/v1/status", 5000, &code, &body, err, sizeof err) != MK_OK) {
		snprintf(why, len, "mk is starting (mkd pid %d): %s", pid, err);
		return 1;
	}
	*st = code == 200 && body ? json_loads(body, 0, NULL) : NULL;
	free(body);
	if (*st == NULL) {
		snprintf(why, len, "mk is starting (mkd pid %d): the API answered %ld", pid, code);
		return 1;
	}
	if (!json_is_true(json_object_get(*st, "ready"))) {
		json_decref(*st);
		*st = NULL;
		snprintf(why, len, "mk is running but not ready: its datastore is not available yet");
		return 1;
	}
	return 0;
}

static int run(const char *data_dir, int argc, char **argv)
{
	const char *format = "short", *timeout_text = NULL;
	bool wait = false;
	for (int i = 0; i < argc; i++) {
		int r;
		if (cli_wants_help(argv[i], usage))
			return 0;
		if ((r = cli_flag(argc, argv, &i, "--format", &format)) != 0) {
			if (r < 0)
				return EXIT_USAGE;
			if (strcmp(format, "short") && strcmp(format, "yaml"))
				return cli_fail(EXIT_USAGE, "--format wants short or yaml, got \"%s\"",
						format);
		} else if ((r = cli_flag(argc, argv, &i, "--wait-ready", NULL)) != 0) {
			if (r < 0)
				return EXIT_USAGE;
			wait = true;
		} else if ((r = cli_flag(argc, argv, &i, "--timeout", &timeout_text)) != 0) {
			if (r < 0)
				return EXIT_USAGE;
		} else {
			return cli_fail(EXIT_USAGE, "status: unexpected argument \"%s\"; see 'mk status --help'",
					argv[i]);
		}
	}
	long timeout = 60;
	if (timeout_text != NULL && cli_int("--timeout", timeout_text, 0, 86400, &timeout) != 0)
		return EXIT_USAGE;
	json_t *st = NULL;
	char why[768];
	time_t deadline = time(NULL) + timeout;
	while (probe(data_dir, &st, why, sizeof why) != 0) {
		if (!wait || time(NULL) >= deadline) {
			if (strcmp(format, "yaml") == 0)
				printf("mk:\n  running: false\n  message: \"%s\"\n", why);
			else
				fprintf(stderr, "%s\n", why);
			return 1;
		}
		usleep(250 * 1000); /* polling mkd, not hiding a race */
	}
	const json_t *ds = json_object_get(st, "datastore");
	bool ha = json_is_true(json_object_get(st, "highAvailability"));
	const json_t *addons = json_object_get(st, "addons");
	if (strcmp(format, "yaml") == 0) {
		printf("mk:\n  running: true\n  version: \"%s\"\n",
		       json_string_value(json_object_get(st, "version")) ?: "");
		printf("high-availability:\n  enabled: %s\n", ha ? "true" : "false");
		printf("datastore:\n");
		print_yaml_list("voters", json_object_get(ds, "voters"), "  ");
		print_yaml_list("standbys", json_object_get(ds, "standbys"), "  ");
		print_yaml_list("spares", json_object_get(ds, "spares"), "  ");
		printf("addons:\n");
		print_yaml_list("enabled", json_object_get(addons, "enabled"), "  ");
		print_yaml_list("disabled", json_object_get(addons, "disabled"), "  ");
	} else {
		printf("mk is running\nhigh-availability: %s\n", ha ? "yes" : "no");
		print_list("datastore master nodes", json_object_get(ds, "voters"));
		print_list("datastore standby nodes", json_object_get(ds, "standbys"));
		printf("addons:\n  enabled:\n");
		size_t i;
		json_t *a;
		json_array_foreach(json_object_get(addons, "enabled"), i, a)
			printf("    %s\n", json_string_value(a) ?: "");
		printf("  disabled:\n");
		json_array_foreach(json_object_get(addons, "disabled"), i, a)
			printf("    %s\n", json_string_value(a) ?: "");
	}
	json_decref(st);
	return 0;
}

const struct cli_command cli_status = {"status", "show whether mk runs and how", usage, run};
