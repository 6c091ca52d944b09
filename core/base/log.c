#include "log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "err.h"

/* Process-wide threshold; atomic because every thread reads it. */
static _Atomic int log_threshold = MK_LOG_INFO;

static const char *const level_names[] = {"DEBUG", "INFO", "WARN", "ERROR"};

int mk_log_parse_level(const char *name, enum mk_log_level *out)
{
	static const char *const lower[] = {"debug", "info", "warn", "error"};
	for (int i = 0; i < 4; i++) {
		if (strcmp(name, lower[i]) == 0) {
			*out = (enum mk_log_level)i;
			return MK_OK;
		}
	}
	return MK_EINVAL;
}

void mk_log_set_level(enum mk_log_level level)
{
	atomic_store(&log_threshold, (int)level);
}

enum mk_log_level mk_log_get_level(void)
{
	return (enum mk_log_level)atomic_load(&log_threshold);
}

void mk_log(enum mk_log_level level, const char *subsystem, const char *fmt, ...)
{
	if ((int)level < atomic_load(&log_threshold))
		return;

	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	for (char *p = msg; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';

	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	char when[32];
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);

	/* A single fprintf keeps concurrent lines from interleaving: stdio
	 * locks the stream for the duration of the call. */
	fprintf(stderr, "%s.%03ldZ %s %s: %s\n", when, ts.tv_nsec / 1000000,
		level_names[level], subsystem, msg);
}
