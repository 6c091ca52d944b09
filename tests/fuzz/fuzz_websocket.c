/*
 * libFuzzer target: the WebSocket frame reader, which sees every byte an
 * exec client sends.  The first input byte picks the mode (server or
 * client reader, message limit) and how the rest is cut into reads; every
 * event must stay inside what was fed and within its limit (the message
 * limit, 125 bytes for control frames).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/base/err.h"
#include "../../core/http/websocket.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint8_t mode = data[0];
	data++;
	size--;
	size_t max = (mode & 0x3) == 0 ? 16 : (mode & 0x3) == 1 ? 200 : 70000;
	size_t chunk = 1 + ((mode >> 2) & 0x1F) * 7;
	struct ws_reader r;
	ws_reader_init(&r, max, mode & 0x80);
	size_t total = 0;
	for (size_t off = 0; off < size; off += chunk) {
		size_t n = size - off < chunk ? size - off : chunk;
		if (ws_reader_feed(&r, data + off, n) != MK_OK)
			break;
		struct ws_event ev;
		int rv;
		while ((rv = ws_reader_next(&r, &ev)) == 1) {
			bool control = ev.opcode & 0x8;
			if (ev.len > (control ? 125 : max))
				abort();
			if (ev.opcode == WS_OP_TEXT && !ws_utf8_valid(ev.data, ev.len))
				abort();
			total += ev.len;
			for (size_t i = 0; i < ev.len; i++) /* touch every byte (ASan) */
				total += ev.data[i] & 1;
		}
		if (rv < 0) {
			const char *reason;
			int code = ws_reader_error(&r, &reason);
			if (code < 1000 || reason[0] == '\0')
				abort();
			break;
		}
	}
	ws_reader_free(&r);
	(void)total;
	return 0;
}
