/*
 * Growable byte buffer.
 *
 * A `struct mk_buf` owns `data`; mk_buf_free() releases it and leaves an empty
 * buffer that may be reused.  Append functions return 0 or MK_ENOMEM and
 * leave the buffer unchanged on failure.
 */
#ifndef MK_BASE_BUF_H
#define MK_BASE_BUF_H

#include <stddef.h>
#include <stdint.h>

struct mk_buf {
	uint8_t *data;
	size_t len;
	size_t cap;
};

#define MK_BUF_INIT {NULL, 0, 0}

void mk_buf_free(struct mk_buf *b);
void mk_buf_reset(struct mk_buf *b); /* len = 0, keeps the allocation */
int mk_buf_reserve(struct mk_buf *b, size_t extra);
int mk_buf_append(struct mk_buf *b, const void *p, size_t n);
int mk_buf_append_zeros(struct mk_buf *b, size_t n);

#endif
