/*
 * A container's log file in the CRI format, with size-based rotation.
 *
 * Every record is one line:
 *
 *   2026-11-28T09:41:25.123456789Z stdout F hello world
 *
 * `F` closes a line, `P` says the content goes on in the next record of the
 * same stream (a line longer than LOG_WRITER_MAX_LINE, or the tail of a
 * stream that ended without a newline is written as F).  This is the format
 * kubelet reads (kubectl logs) and the API server's log reader parses, at
 * DATA/logs/pods/<ns>_<pod>_<uid>/<container>/<restartCount>.log.
 *
 * Rotation: before a record would take the file past max_size, N.log.(k)
 * becomes N.log.(k+1) for k = max_files-2 .. 1 (the oldest is dropped),
 * N.log becomes N.log.1, and a new N.log starts.  A reader that holds the
 * old file open keeps reading it; a reader that follows by name sees the
 * new file.
 *
 * Ownership: one writer per file and per process (the shim).  Not
 * thread-safe.  Write errors (disk full) drop the record: a container must
 * never block on its logs; the count of dropped records is kept.
 */
#ifndef MK_NODE_LOG_WRITER_H
#define MK_NODE_LOG_WRITER_H

#include <stddef.h>
#include <stdint.h>

#define LOG_WRITER_MAX_LINE (16 * 1024)

enum log_stream { LOG_STDOUT, LOG_STDERR };

struct log_writer {
	char path[4096];
	int fd;
	uint64_t size;
	uint64_t max_size;  /* 0: never rotate */
	int max_files;      /* files kept in all, current included (>= 1) */
	uint64_t dropped;
	/* A line not yet ended, per stream. */
	char partial[2][LOG_WRITER_MAX_LINE];
	size_t partial_len[2];
};

/* Opens path for appending (created 0640).  Returns 0 or -errno. */
int log_writer_open(struct log_writer *w, const char *path, uint64_t max_size, int max_files);

/* Feeds bytes read from one stream; complete lines become F records. */
void log_writer_feed(struct log_writer *w, enum log_stream s, const char *data, size_t len);

/* Writes what is left of each stream as an F record (end of stream). */
void log_writer_flush(struct log_writer *w, enum log_stream s);

void log_writer_close(struct log_writer *w);

/* Now as RFC 3339 with nanoseconds, UTC, as containerd writes it
 * ("2026-11-28T09:41:25.123456789Z"); returns its length. */
size_t log_writer_timestamp(char *buf, size_t len);

#endif
