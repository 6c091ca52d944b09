/*
 * Argument parsing and the one-line messages every command prints.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

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

const char *cli_quote(const char *arg, char *buf, size_t len)
{
	/* An argument can hold anything (a newline, terminal escapes, 100 kB):
	 * the message about it must stay one short, harmless line. */
	size_t o = 0, shown = 0;
	const unsigned char *p = (const unsigned char *)arg;
	if (len < 96) {
		snprintf(buf, len, "\"?\"");
		return buf;
	}
	buf[o++] = '"';
	for (; *p != '\0' && shown < 64 && o + 8 < len; p++, shown++) {
		if (*p == '"' || *p == '\\')
			o += (size_t)snprintf(buf + o, len - o, "\\%c", *p);
		else if (*p == '\n')
			o += (size_t)snprintf(buf + o, len - o, "\\n");
		else if (*p < 0x20 || *p >= 0x7f)
			o += (size_t)snprintf(buf + o, len - o, "\\x%02x", *p);
		else
			buf[o++] = (char)*p;
	}
	snprintf(buf + o, len - o, "%s\"", *p != '\0' ? "..." : "");
	return buf;
}

int cli_unexpected(const char *cmd, const char *arg)
{
	char q[128];
	return cli_fail(EXIT_USAGE, "%s: unexpected argument %s; see 'mk %s --help'", cmd,
			cli_quote(arg, q, sizeof q), cmd);
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
		cli_fail(EXIT_USAGE, "%s needs a value; see 'mk --help'", name);
		return -1;
	}
	*value = argv[++*i];
	return 1;
}

int cli_int(const char *flag, const char *text, long lo, long hi, long *out)
{
	char *end, q[128];
	long v = strtol(text, &end, 10);
	/* strtol accepts leading blanks and signs; a count of seconds should
	 * look like one. */
	if (text[0] < '0' || text[0] > '9' || *end != '\0' || v < lo || v > hi) {
		cli_fail(EXIT_USAGE, "%s wants a number from %ld to %ld, got %s", flag, lo, hi,
			 cli_quote(text, q, sizeof q));
		return -1;
	}
	*out = v;
	return 0;
}

bool cli_wants_help(const char *arg, const char *usage)
{
	if (strcmp(arg, "--help") != 0 && strcmp(arg, "-h") != 0)
		return false;
	fputs(usage, stdout);
	return true;
}

double cli_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void cli_pause_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}
