/*
 * Where the output of a log starts (see cri_log.h): the last tail_lines
 * lines, found by reading the files backwards from their end, then past
 * rotated files that end before `since`.  A short tail of a long log reads
 * a block or two, not the log.
 */
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../base/err.h"
#include "cri_log.h"

#define BLOCK (64 * 1024)
/* Enough of a line to read its timestamp, stream and tag. */
#define HEAD 128

/* Calls fn for each complete line of fd[0, size), last first, with the
 * line's first bytes, until fn returns true; returns that line's end
 * (the offset after its "\n"), or -1 if fn never did, or -2 on error. */
typedef bool (*line_fn)(void *arg, const char *head, size_t len);

static off_t scan_back(int fd, off_t size, line_fn fn, void *arg)
{
	char *blk = malloc(BLOCK);
	if (blk == NULL)
		return -2;
	off_t hi = size, line_end = -1, found = -1;
	while (found == -1) {
		off_t lo = hi > BLOCK ? hi - BLOCK : 0;
		size_t got = 0;
		if (hi > lo) {
			ssize_t n = pread(fd, blk, (size_t)(hi - lo), lo);
			if (n != hi - lo) {
				found = -2;
				break;
			}
			got = (size_t)n;
		}
		/* Newlines in this block, last first; at the file's start, the
		 * first line begins at offset 0 (a virtual newline at -1). */
		for (off_t i = (off_t)got - 1; i >= (lo == 0 ? -1 : 0); i--) {
			if (i >= 0 && blk[i] != '\n')
				continue;
			off_t q = lo + i; /* the newline before the line [q+1, line_end] */
			if (line_end >= 0) {
				off_t ls = q + 1;
				size_t hl = line_end - ls < HEAD ? (size_t)(line_end - ls) : HEAD;
				char head[HEAD];
				const char *h = blk + (ls - lo);
				/* A line that starts at the end of the block has its
				 * head in the block read before (later in the file). */
				if (ls + (off_t)hl > lo + (off_t)got) {
					if (pread(fd, head, hl, ls) != (ssize_t)hl) {
						found = -2;
						break;
					}
					h = head;
				}
				if (fn(arg, h, hl)) {
					found = line_end + 1;
					break;
				}
			}
			line_end = q;
		}
		if (lo == 0)
			break;
		hi = lo;
	}
	free(blk);
	return found;
}

struct tail_count {
	int64_t want, seen;
};

static bool count_line(void *arg, const char *head, size_t len)
{
	struct tail_count *t = arg;
	if (cri_line_ends_line(head, len))
		t->seen++;
	return t->seen == t->want;
}

static bool record_time(void *arg, const char *head, size_t len)
{
	struct cri_time *t = arg;
	struct cri_record rec;
	const char *why;
	if (cri_record_parse(head, len, &rec, &why) != MK_OK)
		return false;
	*t = rec.time;
	return true;
}

static off_t file_size(int fd)
{
	struct stat st;
	return fstat(fd, &st) == 0 ? st.st_size : -1;
}

int cri_log_start(const int *fds, int n, const struct cri_read_options *o, int *file,
		  int64_t *off)
{
	*file = 0;
	*off = 0;
	/* The line before the last tail_lines ends with the (tail_lines+1)th
	 * line-ending record from the end: output starts right after it. */
	if (o->tail_lines >= 0 && o->tail_lines < INT64_MAX) {
		struct tail_count tc = {o->tail_lines + 1, 0};
		for (int i = n - 1; i >= 0; i--) {
			off_t size = file_size(fds[i]);
			off_t at = size < 0 ? -2 : scan_back(fds[i], size, count_line, &tc);
			if (at == -2)
				return MK_EIO;
			if (at >= 0) {
				*file = i;
				*off = at;
				break;
			}
		}
	}
	if (o->has_since) {
		while (*file < n - 1) {
			struct cri_time last;
			off_t size = file_size(fds[*file]);
			off_t at = size < 0 ? -2 : scan_back(fds[*file], size, record_time, &last);
			if (at == -2)
				return MK_EIO;
			if (at >= 0 && cri_time_cmp(&last, &o->since) >= 0)
				break;
			++*file; /* everything in it is older */
			*off = 0;
		}
	}
	return MK_OK;
}
