/*
 * CRI log records with rotation (log_writer.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "log_writer.h"

int log_writer_open(struct log_writer *w, const char *path, uint64_t max_size, int max_files)
{
	struct stat st;

	memset(w, 0, sizeof *w);
	if (strlen(path) >= sizeof w->path)
		return -ENAMETOOLONG;
	strcpy(w->path, path);
	w->max_size = max_size;
	w->max_files = max_files < 1 ? 1 : max_files;
	w->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (w->fd < 0)
		return -errno;
	w->size = fstat(w->fd, &st) == 0 ? (uint64_t)st.st_size : 0;
	return 0;
}

static void rotate(struct log_writer *w)
{
	char from[4200], to[4200];

	for (int k = w->max_files - 2; k >= 1; k--) {
		snprintf(from, sizeof from, "%s.%d", w->path, k);
		snprintf(to, sizeof to, "%s.%d", w->path, k + 1);
		rename(from, to); /* absent files are fine */
	}
	if (w->max_files > 1) {
		snprintf(to, sizeof to, "%s.1", w->path);
		rename(w->path, to);
	} else {
		unlink(w->path);
	}
	close(w->fd);
	w->fd = open(w->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	w->size = 0;
}

size_t log_writer_timestamp(char *buf, size_t len)
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	n += (size_t)snprintf(buf + n, len - n, ".%09ldZ", ts.tv_nsec);
	return n;
}

static void write_record(struct log_writer *w, enum log_stream s, char tag, const char *data,
			 size_t len)
{
	char head[64];
	size_t hn = log_writer_timestamp(head, sizeof head);

	hn += (size_t)snprintf(head + hn, sizeof head - hn, " %s %c ",
			       s == LOG_STDOUT ? "stdout" : "stderr", tag);
	uint64_t total = hn + len + 1;
	if (w->max_size > 0 && w->size > 0 && w->size + total > w->max_size)
		rotate(w);
	if (w->fd < 0) {
		w->dropped++;
		return;
	}
	struct iovec iov[3] = {
		{ head, hn },
		{ (void *)data, len },
		{ "\n", 1 },
	};
	/* One writev per record: O_APPEND keeps a record whole even when a
	 * reader races with us, and a short write is only possible on a full
	 * disk, where the record is counted as dropped. */
	ssize_t n = writev(w->fd, iov, 3);
	if (n == (ssize_t)total)
		w->size += total;
	else
		w->dropped++;
}

void log_writer_feed(struct log_writer *w, enum log_stream s, const char *data, size_t len)
{
	while (len > 0) {
		const char *nl = memchr(data, '\n', len);
		size_t take = nl != NULL ? (size_t)(nl - data) : len;
		size_t room = LOG_WRITER_MAX_LINE - w->partial_len[s];

		if (take > room)
			take = room;
		memcpy(w->partial[s] + w->partial_len[s], data, take);
		w->partial_len[s] += take;
		data += take;
		len -= take;
		if (nl != NULL && data == nl) {
			write_record(w, s, 'F', w->partial[s], w->partial_len[s]);
			w->partial_len[s] = 0;
			data++;
			len--;
		} else if (w->partial_len[s] == LOG_WRITER_MAX_LINE) {
			write_record(w, s, 'P', w->partial[s], w->partial_len[s]);
			w->partial_len[s] = 0;
		}
	}
}

void log_writer_flush(struct log_writer *w, enum log_stream s)
{
	if (w->partial_len[s] > 0)
		write_record(w, s, 'F', w->partial[s], w->partial_len[s]);
	w->partial_len[s] = 0;
}

void log_writer_close(struct log_writer *w)
{
	if (w->fd >= 0)
		close(w->fd);
	w->fd = -1;
}
