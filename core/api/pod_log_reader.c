/*
 * A container instance's log, N.log and its rotated files read as one
 * (see cri_log.h): joining partial records, `since`, output limits, and
 * following N.log across rotations.  Where reading starts (tail, and
 * rotated files that end before `since`) is pod_log_tail.c's.
 *
 * Every file is opened when the reader is, newest name first, so that a
 * rotation racing with the opening shows up as the same file under two
 * names (dropped by inode) rather than as a gap.  Open descriptors keep
 * reading a file the writer renamed or deleted meanwhile.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../base/err.h"
#include "cri_log.h"

#define MAX_FILES (CRI_MAX_ROTATED + 2)
#define BLOCK (64 * 1024)

struct src {
	int fd;
	dev_t dev;
	ino_t ino;
};

struct cri_reader {
	char *path; /* N.log */
	struct cri_read_options o;
	struct src files[MAX_FILES]; /* oldest first; those before `cur` are closed */
	int n, cur;
	/* Bytes of files[cur] read but not consumed: buf[start..end). */
	char *buf;
	size_t cap, start, end;
	bool skipping; /* dropping the rest of a record over CRI_MAX_RECORD */
	/* The line being assembled, per stream. */
	struct mk_buf pending[2];
	struct cri_time line_time[2];
	bool in_line[2], line_dropped[2], line_prefixed[2];
	int64_t remaining; /* of limit_bytes; -1: no limit */
	bool done;
	uint64_t skipped;
};

/* --- output ------------------------------------------------------------- */

static int put(struct cri_reader *r, struct mk_buf *out, const void *p, size_t n)
{
	if (r->done)
		return MK_OK;
	if (r->remaining >= 0 && (int64_t)n >= r->remaining) {
		n = (size_t)r->remaining;
		r->done = true;
	}
	if (r->remaining >= 0)
		r->remaining -= (int64_t)n;
	return mk_buf_append(out, p, n);
}

/* Writes the line of stream s so far (its prefix first), then `tail`. */
static int emit(struct cri_reader *r, struct mk_buf *out, int s, const char *tail, size_t n,
		bool newline)
{
	int rv = MK_OK;
	if (r->o.timestamps && !r->line_prefixed[s]) {
		char ts[CRI_TIME_MAX + 1];
		size_t tn = cri_time_format(&r->line_time[s], ts);
		ts[tn++] = ' ';
		rv = put(r, out, ts, tn);
		r->line_prefixed[s] = true;
	}
	if (rv == MK_OK && r->pending[s].len > 0)
		rv = put(r, out, r->pending[s].data, r->pending[s].len);
	if (rv == MK_OK && n > 0)
		rv = put(r, out, tail, n);
	if (rv == MK_OK && newline)
		rv = put(r, out, "\n", 1);
	mk_buf_reset(&r->pending[s]);
	return rv;
}

/* One record; `ended`: it had its newline (the last bytes of a file that
 * will not grow may lack it, and then so does their output, as kubelet's). */
static int handle_line(struct cri_reader *r, struct mk_buf *out, const char *line, size_t len,
		       bool ended)
{
	struct cri_record rec;
	const char *why;
	if (cri_record_parse(line, len, &rec, &why) != MK_OK) {
		r->skipped++;
		return MK_OK;
	}
	int s = rec.stream;
	if (!r->in_line[s]) {
		r->in_line[s] = true;
		r->line_prefixed[s] = false;
		r->line_time[s] = rec.time;
		r->line_dropped[s] = r->o.has_since && cri_time_cmp(&rec.time, &r->o.since) < 0;
	}
	if (!rec.partial)
		r->in_line[s] = false;
	if (r->line_dropped[s])
		return MK_OK;
	if (!rec.partial)
		return emit(r, out, s, rec.content, rec.len, ended);
	if (mk_buf_append(&r->pending[s], rec.content, rec.len) != MK_OK)
		return MK_ENOMEM;
	/* A line without end must not hold unbounded memory: what we have
	 * goes out, the rest follows without a second prefix. */
	if (r->pending[s].len >= CRI_MAX_PENDING)
		return emit(r, out, s, NULL, 0, false);
	return MK_OK;
}

/* --- files ---------------------------------------------------------------- */

static int open_src(const char *path, struct src *f)
{
	f->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (f->fd < 0)
		return errno == ENOENT ? MK_ENOTFOUND : MK_EIO;
	struct stat st;
	if (fstat(f->fd, &st) != 0) {
		close(f->fd);
		f->fd = -1;
		return MK_EIO;
	}
	f->dev = st.st_dev;
	f->ino = st.st_ino;
	return MK_OK;
}

static bool known(const struct cri_reader *r, const struct src *f)
{
	for (int i = 0; i < r->n; i++)
		if (r->files[i].dev == f->dev && r->files[i].ino == f->ino)
			return true;
	return false;
}

/* Appends a newer file, dropping closed entries when the table is full
 * (following across many rotations). */
static void add_newest(struct cri_reader *r, const struct src *f)
{
	if (r->n == MAX_FILES) {
		memmove(r->files, r->files + r->cur, (size_t)(r->n - r->cur) * sizeof *r->files);
		r->n -= r->cur;
		r->cur = 0;
	}
	r->files[r->n++] = *f;
}

int cri_reader_open(const char *path, const struct cri_read_options *o, struct cri_reader **out,
		    char *errmsg, size_t len)
{
	struct cri_reader *r = calloc(1, sizeof *r);
	if (r == NULL || (r->path = strdup(path)) == NULL ||
	    (r->buf = malloc(BLOCK)) == NULL) {
		if (r)
			free(r->path);
		free(r);
		snprintf(errmsg, len, "out of memory");
		return MK_ENOMEM;
	}
	r->cap = BLOCK;
	r->o = *o;
	r->remaining = o->limit_bytes > 0 ? o->limit_bytes : -1;
	/* Newest first (see the top of the file), then reversed. */
	struct src found[MAX_FILES];
	int n = 0, rv = MK_OK;
	char name[4200];
	for (int k = 0; k <= CRI_MAX_ROTATED; k++) {
		if (k == 0)
			snprintf(name, sizeof name, "%s", path);
		else
			snprintf(name, sizeof name, "%s.%d", path, k);
		struct src f;
		rv = open_src(name, &f);
		if (rv == MK_ENOTFOUND) {
			rv = MK_OK;
			if (k == 0)
				continue; /* no current file: the rotated ones may exist */
			break;
		}
		if (rv != MK_OK) {
			snprintf(errmsg, len, "cannot read %s: %s", name, strerror(errno));
			goto fail;
		}
		bool dup = false;
		for (int i = 0; i < n; i++)
			dup |= found[i].dev == f.dev && found[i].ino == f.ino;
		if (dup)
			close(f.fd);
		else
			found[n++] = f;
	}
	for (int i = 0; i < n; i++)
		r->files[i] = found[n - 1 - i];
	r->n = n;
	n = 0;
	int file, fds[MAX_FILES];
	int64_t off;
	for (int i = 0; i < r->n; i++)
		fds[i] = r->files[i].fd;
	if ((rv = cri_log_start(fds, r->n, &r->o, &file, &off)) != MK_OK) {
		snprintf(errmsg, len, "cannot read %s: %s", path, strerror(errno));
		goto fail;
	}
	for (int i = 0; i < file; i++) {
		close(r->files[i].fd);
		r->files[i].fd = -1;
	}
	r->cur = file;
	if (r->n > 0 && lseek(r->files[file].fd, (off_t)off, SEEK_SET) < 0) {
		rv = MK_EIO;
		snprintf(errmsg, len, "cannot read %s: %s", path, strerror(errno));
		goto fail;
	}
	*out = r;
	return MK_OK;
fail:
	for (int i = 0; i < n; i++)
		close(found[i].fd);
	cri_reader_close(r);
	return rv;
}

/* --- reading forwards -------------------------------------------------------- */

/* Follow: N.log names a file we do not read yet (created, or the writer
 * rotated the one we read).  Then it becomes the newest file, and the one
 * we read is read to its end first. */
static int pick_up_new(struct cri_reader *r, bool *got)
{
	struct src f;
	struct stat st;
	*got = false;
	if (stat(r->path, &st) != 0)
		return errno == ENOENT ? MK_OK : MK_EIO;
	f.dev = st.st_dev;
	f.ino = st.st_ino;
	if (known(r, &f))
		return MK_OK; /* the usual case, checked without opening */
	int rv = open_src(r->path, &f);
	if (rv == MK_ENOTFOUND)
		return MK_OK; /* between the rename and the new file */
	if (rv != MK_OK)
		return rv;
	if (known(r, &f)) {
		close(f.fd);
		return MK_OK;
	}
	add_newest(r, &f);
	*got = true;
	return MK_OK;
}

/* The last bytes of a file nothing will append to: a record, if complete
 * enough to parse. */
static int flush_leftover(struct cri_reader *r, struct mk_buf *out)
{
	int rv = MK_OK;
	if (!r->skipping && r->end > r->start)
		rv = handle_line(r, out, r->buf + r->start, r->end - r->start, false);
	r->start = r->end = 0;
	r->skipping = false;
	return rv;
}

/* Makes room at the end of buf; false when a record is too long. */
static bool make_room(struct cri_reader *r)
{
	if (r->start > 0) {
		memmove(r->buf, r->buf + r->start, r->end - r->start);
		r->end -= r->start;
		r->start = 0;
	}
	if (r->end < r->cap)
		return true;
	if (r->cap >= CRI_MAX_RECORD)
		return false;
	char *nb = realloc(r->buf, r->cap * 2);
	if (nb == NULL)
		return false;
	r->buf = nb;
	r->cap *= 2;
	return true;
}

int cri_reader_read(struct cri_reader *r, struct mk_buf *out, size_t max)
{
	size_t base = out->len;
	while (!r->done && out->len - base < max) {
		char *nl = r->end > r->start ? memchr(r->buf + r->start, '\n', r->end - r->start)
					     : NULL;
		if (nl != NULL) {
			size_t n = (size_t)(nl - (r->buf + r->start));
			int rv = MK_OK;
			if (r->skipping)
				r->skipping = false;
			else
				rv = handle_line(r, out, r->buf + r->start, n, true);
			r->start += n + 1;
			if (rv != MK_OK)
				return rv;
			continue;
		}
		if (!make_room(r)) {
			/* An over-long record: drop it up to its newline. */
			if (!r->skipping)
				r->skipped++;
			r->skipping = true;
			r->start = r->end = 0;
		}
		ssize_t n = 0;
		if (r->cur < r->n) {
			n = read(r->files[r->cur].fd, r->buf + r->end, r->cap - r->end);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				return MK_EIO;
		}
		if (n > 0) {
			r->end += (size_t)n;
			continue;
		}
		/* The end of files[cur]. */
		if (r->cur < r->n - 1) {
			int rv = flush_leftover(r, out); /* a rotated file is final */
			close(r->files[r->cur].fd);
			r->files[r->cur].fd = -1;
			r->cur++;
			if (rv != MK_OK)
				return rv;
			continue;
		}
		/* The end of the newest file: with follow, N.log may name a
		 * newer one by now (then files[cur] is read to its end first). */
		bool got = false;
		if (r->o.follow) {
			int rv = pick_up_new(r, &got);
			if (rv != MK_OK)
				return rv;
		}
		if (!got)
			return r->done ? CRI_READ_DONE : CRI_READ_EOF;
	}
	return r->done ? CRI_READ_DONE : CRI_READ_MORE;
}

int cri_reader_finish(struct cri_reader *r, struct mk_buf *out)
{
	int rv = flush_leftover(r, out);
	/* Lines never ended, in the order they began. */
	int first = cri_time_cmp(&r->line_time[CRI_STDERR], &r->line_time[CRI_STDOUT]) < 0;
	for (int k = 0; k < 2 && rv == MK_OK; k++) {
		int s = k == 0 ? first : !first;
		if (r->in_line[s] && !r->line_dropped[s] && (r->pending[s].len > 0))
			rv = emit(r, out, s, NULL, 0, false);
		r->in_line[s] = false;
	}
	for (int i = r->cur; i < r->n; i++) {
		if (r->files[i].fd >= 0)
			close(r->files[i].fd);
		r->files[i].fd = -1;
	}
	r->cur = r->n;
	return rv;
}

uint64_t cri_reader_skipped(const struct cri_reader *r)
{
	return r->skipped;
}

void cri_reader_close(struct cri_reader *r)
{
	if (r == NULL)
		return;
	for (int i = 0; i < r->n; i++)
		if (r->files[i].fd >= 0)
			close(r->files[i].fd);
	mk_buf_free(&r->pending[0]);
	mk_buf_free(&r->pending[1]);
	free(r->buf);
	free(r->path);
	free(r);
}
