#include "buf.h"

#include <stdlib.h>
#include <string.h>

#include "err.h"

void mk_buf_free(struct mk_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

void mk_buf_reset(struct mk_buf *b)
{
	b->len = 0;
}

int mk_buf_reserve(struct mk_buf *b, size_t extra)
{
	if (extra > SIZE_MAX - b->len)
		return MK_ENOMEM;
	size_t need = b->len + extra;
	if (need <= b->cap)
		return MK_OK;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	uint8_t *p = realloc(b->data, cap);
	if (p == NULL)
		return MK_ENOMEM;
	b->data = p;
	b->cap = cap;
	return MK_OK;
}

int mk_buf_append(struct mk_buf *b, const void *p, size_t n)
{
	if (n == 0)
		return MK_OK;
	int rv = mk_buf_reserve(b, n);
	if (rv != MK_OK)
		return rv;
	memcpy(b->data + b->len, p, n);
	b->len += n;
	return MK_OK;
}

int mk_buf_append_zeros(struct mk_buf *b, size_t n)
{
	int rv = mk_buf_reserve(b, n);
	if (rv != MK_OK)
		return rv;
	memset(b->data + b->len, 0, n);
	b->len += n;
	return MK_OK;
}
