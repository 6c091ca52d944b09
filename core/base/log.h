/*
 * Logging: one line per event on stderr,
 *
 *   2026-11-28T04:41:25.123Z INFO store: opened database "mk"
 *
 * The threshold is process-wide (the only global state of this module): it is
 * set once at start-up from --log-level and read by every thread.
 */
#ifndef MK_BASE_LOG_H
#define MK_BASE_LOG_H

enum mk_log_level { MK_LOG_DEBUG, MK_LOG_INFO, MK_LOG_WARN, MK_LOG_ERROR };

/* Parse "debug", "info", "warn" or "error".  Returns 0 or MK_EINVAL. */
int mk_log_parse_level(const char *name, enum mk_log_level *out);

void mk_log_set_level(enum mk_log_level level);
enum mk_log_level mk_log_get_level(void);

/* Emit one line if `level` is at or above the threshold.  `subsystem` is a
 * short tag such as "store"; newlines in the message are replaced so that an
 * event is always exactly one line. */
void mk_log(enum mk_log_level level, const char *subsystem, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define mk_debug(sub, ...) mk_log(MK_LOG_DEBUG, sub, __VA_ARGS__)
#define mk_info(sub, ...) mk_log(MK_LOG_INFO, sub, __VA_ARGS__)
#define mk_warn(sub, ...) mk_log(MK_LOG_WARN, sub, __VA_ARGS__)
#define mk_error(sub, ...) mk_log(MK_LOG_ERROR, sub, __VA_ARGS__)

#endif
