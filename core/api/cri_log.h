/*
 * Reading container logs in the CRI format (what `kubectl logs` shows).
 *
 * A log file holds one record per line (core/node/log_writer.h writes them):
 *
 *   2026-11-28T09:41:25.123456789Z stdout F hello world
 *
 * timestamp (RFC 3339, fraction optional), stream (stdout|stderr), tag
 * ("P" partial: the line goes on in the next record of the same stream;
 * anything else ends the line, like kubelet, which only looks for "P"
 * before an optional ":"), then the content.  A container instance's log
 * is N.log plus its rotated predecessors N.log.1 (newest) .. N.log.K
 * (oldest); the reader presents them as one log, oldest first.
 *
 * Output is what kubelet serves: each line's content and "\n", partial
 * records of a stream joined back into one line (per stream, so that a
 * stderr line written between the pieces of a long stdout line does not
 * cut it), with `timestamps` every line prefixed by the timestamp of its
 * first record in kubelet's fixed RFC3339Nano form and a space
 * (2026-11-28T09:41:25.120000000Z).  `since` drops lines whose first
 * record is older; `limit_bytes` cuts the output, prefixes included;
 * `tail_lines` keeps the last N lines (counted as records that end a
 * line), found by reading the files backwards from their end.  Records
 * that do not parse are skipped and counted.
 *
 * Memory is bounded: a line being joined is flushed unfinished past
 * CRI_MAX_PENDING bytes, a record longer than CRI_MAX_RECORD is skipped.
 *
 * Threading: pure functions are thread-safe; a reader does blocking file
 * I/O (call it on a worker thread) and belongs to one thread at a time.
 * Errors: 0 or a negative MK_E* code (core/base/err.h); functions that
 * take errmsg fill it with one line on failure.
 */
#ifndef MK_API_CRI_LOG_H
#define MK_API_CRI_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../base/buf.h"

#define CRI_MAX_PENDING (256 * 1024)
#define CRI_MAX_RECORD (1024 * 1024)
/* Rotated files looked for: N.log.1 .. N.log.CRI_MAX_ROTATED. */
#define CRI_MAX_ROTATED 16
/* "2026-11-28T09:41:25.123456789+05:30" and a NUL. */
#define CRI_TIME_MAX 40

enum cri_stream { CRI_STDOUT = 0, CRI_STDERR = 1 };

/* An instant as written in a log (or a sinceTime): Unix seconds and
 * nanoseconds, plus the zone offset it was written with, which output
 * keeps (Go formats a parsed time in its own zone). */
struct cri_time {
	int64_t sec;
	int32_t nsec;   /* 0 .. 999999999 */
	int32_t offset; /* seconds east of UTC */
};

/* One parsed record; `content` points into the parsed line. */
struct cri_record {
	struct cri_time time;
	enum cri_stream stream;
	bool partial;
	const char *content; /* without the record's "\n" */
	size_t len;
};

/* --- the format (pod_log_cri.c): pure ----------------------------------- */

/* RFC 3339: YYYY-MM-DDTHH:MM:SS[.fraction](Z|+hh:mm|-hh:mm), the whole of
 * s[0..len).  MK_EINVAL if it is anything else (or out of range). */
int cri_time_parse(const char *s, size_t len, struct cri_time *t);
/* <0, 0, >0 as a is before, at, after b (offsets do not matter). */
int cri_time_cmp(const struct cri_time *a, const struct cri_time *b);
/* kubelet's RFC3339NanoFixed in t's own zone ("Z" for UTC); returns the
 * length written to out (NUL-terminated). */
size_t cri_time_format(const struct cri_time *t, char out[CRI_TIME_MAX]);
/* Parses one line (without its "\n").  MK_EINVAL with *why set to a
 * static reason ("bad timestamp", ...) if it is not a record. */
int cri_record_parse(const char *line, size_t len, struct cri_record *r, const char **why);
/* Whether a line is a record that ends a line (tag not "P"), reading only
 * its head: what tail counting needs.  Malformed lines say false. */
bool cri_line_ends_line(const char *head, size_t len);

/* --- a container instance's log (pod_log_reader.c, pod_log_tail.c) ------- */

struct cri_read_options {
	bool timestamps;
	int64_t tail_lines;  /* < 0: everything */
	bool has_since;
	struct cri_time since;
	int64_t limit_bytes; /* <= 0: no limit */
	bool follow;         /* keep N.log open across rotations (see below) */
};

enum cri_read_result {
	CRI_READ_MORE = 1, /* `max` bytes produced: call again for more */
	CRI_READ_EOF = 2,  /* nothing more to read now */
	CRI_READ_DONE = 3, /* limit_bytes reached: the output is complete */
};

struct cri_reader;

/* Opens the log whose current file is `path` (".../N.log") with its
 * rotated files, and positions it (tail_lines, since).  A missing N.log is
 * an empty log, not an error (the instance may not have written yet).
 * MK_EIO if a file exists but cannot be read, MK_ENOMEM. */
int cri_reader_open(const char *path, const struct cri_read_options *o, struct cri_reader **out,
		    char *errmsg, size_t len);
/* Appends output to `out` until about `max` bytes were added (a line may
 * go over), the files are exhausted, or the limit is reached.  Complete
 * records only: a record still being written at the end of N.log waits.
 * With `follow`, at the end of N.log the reader checks whether the writer
 * rotated it (N.log now names another file): it then finishes the old file
 * and goes on with the new one, so a later call sees new records.  Returns
 * a cri_read_result, or MK_EIO / MK_ENOMEM. */
int cri_reader_read(struct cri_reader *r, struct mk_buf *out, size_t max);
/* The log is over (not following, or the instance ended and was read to
 * the end): emits what is left, an unfinished last record and lines still
 * being joined, without a final "\n", as kubelet does.  The reader is
 * then at its end.  0 or MK_ENOMEM. */
int cri_reader_finish(struct cri_reader *r, struct mk_buf *out);
/* Records skipped because they did not parse. */
uint64_t cri_reader_skipped(const struct cri_reader *r);
void cri_reader_close(struct cri_reader *r);

/* Where the output of a log starts, given its files oldest first (open
 * descriptors, read with pread only): right after the record that ends the
 * line before the last o->tail_lines lines (tail_lines < 0: at the start),
 * then past whole files whose last record is older than o->since.  Reads
 * backwards from the end, so that a short tail of a long log reads a block
 * or two.  0 and *file, *off; MK_EIO. */
int cri_log_start(const int *fds, int n, const struct cri_read_options *o, int *file,
		  int64_t *off);

#endif
