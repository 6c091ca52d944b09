/*
 * Handing the rendered table to the kernel with libnftables
 * (proxy_internal.h).
 *
 * Everything one nft_run_cmd_from_buffer() is given goes to the kernel as
 * one batch, and a batch is one transaction: it commits whole or not at
 * all, and packets see the old ruleset or the new one, never a mix.
 *
 * The usual update keeps the table and rewrites its contents (flush table
 * drops rules but not set members), so ClientIP affinity survives changes
 * to unrelated services and mkd restarts; what the new text no longer
 * declares is deleted in the same batch, sets and maps before chains
 * (their elements hold references to chains).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <nftables/libnftables.h>

#include "../base/err.h"
#include "../base/log.h"
#include "proxy_internal.h"

struct proxy_nft {
	struct nft_ctx *ctx;
};

int proxy_nft_new(struct proxy_nft **out, char *errmsg, size_t len)
{
	struct proxy_nft *n = calloc(1, sizeof *n);

	if (n == NULL || (n->ctx = nft_ctx_new(NFT_CTX_DEFAULT)) == NULL) {
		free(n);
		snprintf(errmsg, len, "nftables: cannot create a context (out of memory)");
		return MK_ENOMEM;
	}
	/* Our own buffers: nothing goes to mkd's stdout or stderr. */
	if (nft_ctx_buffer_output(n->ctx) != 0 || nft_ctx_buffer_error(n->ctx) != 0) {
		nft_ctx_free(n->ctx);
		free(n);
		snprintf(errmsg, len, "nftables: cannot buffer output");
		return MK_ENOMEM;
	}
	*out = n;
	return MK_OK;
}

void proxy_nft_free(struct proxy_nft *n)
{
	if (n == NULL)
		return;
	nft_ctx_free(n->ctx);
	free(n);
}

/* nft's error text as one line: each "Error: ..." with where it is and
 * the input line it points at, e.g. "line 5: Error: syntax error,
 * unexpected random [numgem random mod 2 vmap { ... }]". */
static void condense(const char *err, char *out, size_t len)
{
	size_t w = 0;

	out[0] = '\0';
	while (err != NULL && *err != '\0' && w + 1 < len) {
		const char *eol = strchr(err, '\n');
		size_t n = eol ? (size_t)(eol - err) : strlen(err);
		const char *e = memmem(err, n, "Error:", 6);
		if (e != NULL) {
			/* "/proc/self/fd/7:5:10-15: Error: ..." */
			unsigned line = 0;
			const char *colon = memchr(err, ':', (size_t)(e - err));
			if (colon != NULL && sscanf(colon, ":%u:", &line) != 1)
				line = 0;
			w += (size_t)snprintf(out + w, len - w, "%s", w ? "; " : "");
			if (line > 0 && w + 1 < len)
				w += (size_t)snprintf(out + w, len - w, "line %u: ", line);
			int en = (int)(n - (size_t)(e - err));
			if (w + 1 < len)
				w += (size_t)snprintf(out + w, len - w, "%.*s", en, e);
			/* The next line is the input nft complains about. */
			const char *src = eol ? eol + 1 : "";
			const char *src_end = strchr(src, '\n');
			size_t sn = src_end ? (size_t)(src_end - src) : strlen(src);
			while (sn > 0 && (*src == '\t' || *src == ' ')) {
				src++;
				sn--;
			}
			if (sn > 0 && memmem(src, sn, "Error:", 6) == NULL && w + 1 < len)
				w += (size_t)snprintf(out + w, len - w, " [%.*s]",
						      (int)(sn > 160 ? 160 : sn), src);
		}
		if (w >= len)
			w = len - 1;
		err = eol ? eol + 1 : err + n;
	}
	if (out[0] == '\0')
		snprintf(out, len, "nft failed without saying why");
}

/* Runs cmds as one batch.  MK_EUNAVAILABLE: nftables cannot be used at
 * all (no permission, no nf_tables); MK_EINVAL: nft refused cmds.
 *
 * From a memfd rather than nft_run_cmd_from_buffer: nft 1.0.6 quotes the
 * wrong input line in errors about a buffer, and the log must show the
 * line it refused. */
static int run(struct proxy_nft *n, const char *cmds, bool dry, char *errmsg, size_t len)
{
	char path[64];
	size_t left = strlen(cmds);
	int fd = memfd_create("mk-proxy-batch", MFD_CLOEXEC);

	if (fd < 0) {
		snprintf(errmsg, len, "nftables: memfd_create: %s", strerror(errno));
		return MK_EIO;
	}
	for (const char *p = cmds; left > 0;) {
		ssize_t w = write(fd, p, left);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			snprintf(errmsg, len, "nftables: writing the batch: %s", strerror(errno));
			close(fd);
			return MK_EIO;
		}
		p += w;
		left -= (size_t)w;
	}
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	nft_ctx_set_dry_run(n->ctx, dry);
	int rc = nft_run_cmd_from_filename(n->ctx, path);
	nft_ctx_set_dry_run(n->ctx, false);
	close(fd);
	/* Reading a buffer also empties it for the next command. */
	const char *err = nft_ctx_get_error_buffer(n->ctx);
	(void)nft_ctx_get_output_buffer(n->ctx);
	if (rc == 0)
		return MK_OK;
	condense(err, errmsg, len);
	if (strstr(errmsg, "Operation not permitted") != NULL ||
	    strstr(errmsg, "Protocol not supported") != NULL)
		return MK_EUNAVAILABLE;
	return MK_EINVAL;
}

int proxy_nft_check(struct proxy_nft *n, const char *table, const char *text, char *errmsg,
		    size_t len)
{
	size_t cap = strlen(text) + 2 * strlen(table) + 64;
	char *cmds = malloc(cap);

	if (cmds == NULL) {
		snprintf(errmsg, len, "out of memory");
		return MK_ENOMEM;
	}
	snprintf(cmds, cap, "add table ip %s\ndelete table ip %s\n%s", table, table, text);
	int rv = run(n, cmds, true, errmsg, len);
	free(cmds);
	return rv;
}

/* What the kernel has in table: the same keys as proxy_render's objects
 * ("chain NAME", "set NAME", "map NAME" -> timeout), and "table NAME"
 * when the table is there at all.  Terse JSON, so set members are not
 * listed. */
static int existing(struct proxy_nft *n, const char *table, json_t *have, char *errmsg,
		    size_t len)
{
	static const char *const what[] = {"table", "chain", "set", "map"};
	unsigned flags = nft_ctx_output_get_flags(n->ctx);
	int rv = MK_OK;

	nft_ctx_output_set_flags(n->ctx, flags | NFT_CTX_OUTPUT_JSON | NFT_CTX_OUTPUT_TERSE);
	for (size_t w = 0; w < 4 && rv == MK_OK; w++) {
		char cmd[32];
		snprintf(cmd, sizeof cmd, "list %ss ip", what[w]);
		int rc = nft_run_cmd_from_buffer(n->ctx, cmd);
		const char *text = nft_ctx_get_output_buffer(n->ctx);
		const char *err = nft_ctx_get_error_buffer(n->ctx);
		if (rc != 0) {
			condense(err, errmsg, len);
			rv = strstr(errmsg, "Operation not permitted") ? MK_EUNAVAILABLE : MK_EIO;
			break;
		}
		json_t *doc = json_loads(text, 0, NULL), *it;
		size_t i;
		json_array_foreach(json_object_get(doc, "nftables"), i, it) {
			json_t *o = json_object_get(it, what[w]);
			const char *t = json_string_value(json_object_get(o, w == 0 ? "name"
									     : "table"));
			const char *name = json_string_value(json_object_get(o, "name"));
			if (t == NULL || name == NULL || strcmp(t, table) != 0)
				continue;
			char key[320];
			snprintf(key, sizeof key, "%s %s", what[w], name);
			json_int_t timeout = json_integer_value(json_object_get(o, "timeout"));
			json_object_set_new(have, key, json_integer(timeout));
		}
		if (doc == NULL && text != NULL && text[0] != '\0') {
			snprintf(errmsg, len, "nftables: cannot parse the JSON of \"%s\"", cmd);
			rv = MK_EIO;
		}
		json_decref(doc);
	}
	nft_ctx_output_set_flags(n->ctx, flags);
	return rv;
}

static int append(struct mk_buf *b, const char *fmt, const char *a, const char *c, const char *d)
{
	char line[512];
	int n = snprintf(line, sizeof line, fmt, a, c, d);
	return n < 0 || (size_t)n >= sizeof line ? MK_EINVAL : mk_buf_append(b, line, (size_t)n);
}

/* The incremental batch: see the top of this file. */
static int incremental(const char *table, const char *text, json_t *objects, json_t *have,
		       struct mk_buf *b)
{
	const char *key;
	json_t *v;
	int rv = append(b, "add table ip %s\nflush table ip %s\n%s", table, table, "");

	json_object_foreach(have, key, v) {
		const char *name = strchr(key, ' ') + 1;
		char kind[8];
		snprintf(kind, sizeof kind, "%.*s", (int)(name - 1 - key), key);
		json_t *want = json_object_get(objects, key);
		if (want == NULL || strcmp(kind, "chain") == 0 || strcmp(kind, "table") == 0 ||
		    rv != MK_OK)
			continue;
		if (json_integer_value(want) != json_integer_value(v))
			rv = append(b, "delete %s ip %s %s\n", kind, table, name);
		else if (json_integer_value(v) == 0) /* static: members are rewritten */
			rv = append(b, "flush %s ip %s %s\n", kind, table, name);
	}
	if (rv == MK_OK)
		rv = mk_buf_append(b, text, strlen(text));
	for (int chains = 0; chains < 2 && rv == MK_OK; chains++) {
		json_object_foreach(have, key, v) {
			bool is_chain = strncmp(key, "chain ", 6) == 0;
			if (json_object_get(objects, key) != NULL || is_chain != (chains == 1) ||
			    strncmp(key, "table ", 6) == 0)
				continue;
			const char *name = strchr(key, ' ') + 1;
			char kind[8];
			snprintf(kind, sizeof kind, "%.*s", (int)(name - 1 - key), key);
			if ((rv = append(b, "delete %s ip %s %s\n", kind, table, name)) != MK_OK)
				break;
		}
	}
	if (rv == MK_OK)
		rv = mk_buf_append(b, "", 1);
	return rv;
}

int proxy_nft_apply(struct proxy_nft *n, const char *table, const char *text, json_t *objects,
		    char *errmsg, size_t len)
{
	struct mk_buf b = MK_BUF_INIT;
	json_t *have = json_object();
	char head[128], key[128], first[1024] = "";
	int rv;

	snprintf(head, sizeof head, "table ip %s {", table);
	snprintf(key, sizeof key, "table %s", table);
	if (strncmp(text, head, strlen(head)) != 0) {
		snprintf(errmsg, len, "nftables: the ruleset is not for table ip %s", table);
		rv = MK_EINVAL;
		goto out;
	}
	if (have == NULL) {
		snprintf(errmsg, len, "out of memory");
		rv = MK_ENOMEM;
		goto out;
	}
	rv = existing(n, table, have, errmsg, len);
	if (rv == MK_EUNAVAILABLE)
		goto out;
	if (rv != MK_OK) {
		snprintf(first, sizeof first, "%s", errmsg);
	} else if (json_object_get(have, key) != NULL) {
		if ((rv = incremental(table, text, objects, have, &b)) != MK_OK) {
			snprintf(errmsg, len, "nftables: cannot build the batch: %s", mk_strerror(rv));
			goto out;
		}
		rv = run(n, (const char *)b.data, false, first, sizeof first);
		if (rv != MK_EINVAL) {
			if (rv != MK_OK)
				snprintf(errmsg, len, "%s", first);
			goto out;
		}
	}
	/* A new table (made whole, so it gets its comment), or one of
	 * another layout (an older mk's): created whole, in one batch. */
	mk_buf_reset(&b);
	if ((rv = append(&b, "add table ip %s\ndelete table ip %s\n%s", table, table, "")) != MK_OK ||
	    (rv = mk_buf_append(&b, text, strlen(text) + 1)) != MK_OK) {
		snprintf(errmsg, len, "nftables: cannot build the batch: %s", mk_strerror(rv));
		goto out;
	}
	rv = run(n, (const char *)b.data, false, errmsg, len);
	if (rv == MK_OK && first[0] != '\0')
		mk_info(PROXY_LOG, "table ip %s replaced whole (updating it failed: %s)", table, first);
out:
	mk_buf_free(&b);
	json_decref(have);
	return rv;
}
