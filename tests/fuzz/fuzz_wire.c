/*
 * libFuzzer target: everything a dqlite peer can send us goes through these
 * decoders, so arbitrary bytes must never read out of bounds or crash.
 * The first byte picks the decoder; the rest is the message body.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/store/dq_wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	uint8_t which = data[0];
	struct dq_cursor c = dq_cursor_init(data + 1, size - 1);
	switch (which % 4) {
	case 0: { /* ROWS pages */
		static const char *names[DQ_MAX_COLUMNS];
		static struct dq_value vals[DQ_MAX_COLUMNS];
		unsigned ncols;
		enum dq_rows_step step;
		if (dq_rows_begin(&c, &ncols, names) != 0)
			break;
		while (dq_rows_next(&c, ncols, vals, &step) == 0 && step == DQ_ROWS_ROW)
			for (unsigned i = 0; i < ncols; i++)
				if (vals[i].type == DQ_TEXT && vals[i].len != strlen(vals[i].text))
					abort(); /* decoded text must end at its NUL */
		break;
	}
	case 1: { /* FAILURE */
		uint64_t code;
		const char *msg;
		dq_decode_failure(&c, &code, &msg);
		break;
	}
	case 2: { /* SERVERS-like sequences of words, texts and blobs */
		uint64_t v;
		const char *s;
		const void *p;
		size_t n;
		while (dq_get_u64(&c, &v) == 0 && dq_get_text(&c, &s, &n) == 0 &&
		       dq_get_blob(&c, &p, &n) == 0)
			;
		break;
	}
	default: { /* the QUERY guard on arbitrary SQL text */
		char *sql = malloc(size);
		memcpy(sql, data + 1, size - 1);
		sql[size - 1] = '\0';
		dq_sql_is_read_only(sql);
		free(sql);
		break;
	}
	}
	return 0;
}
