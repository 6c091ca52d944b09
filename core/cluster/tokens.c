#include "tokens.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "../base/err.h"

struct token_table {
	struct token_entry *entries;
	size_t n;
};

static void free_entry(struct token_entry *e)
{
	if (e->token)
		OPENSSL_cleanse(e->token, strlen(e->token));
	free(e->token);
	free(e->user);
	free(e->uid);
	for (size_t i = 0; i < e->n_groups; i++)
		free(e->groups[i]);
	free(e->groups);
}

/* Splits one CSV line into at most 4 fields; a field may be quoted ("..."
 * with "" for a quote).  Returns the number of fields or -1. */
static int split_csv(char *line, char **fields, int max)
{
	int n = 0;
	char *p = line;
	for (;;) {
		if (n == max)
			return -1;
		if (*p == '"') {
			char *out = ++p, *start = out;
			for (;;) {
				if (*p == '\0')
					return -1; /* unterminated quote */
				if (*p == '"' && p[1] == '"') {
					*out++ = '"';
					p += 2;
				} else if (*p == '"') {
					p++;
					break;
				} else {
					*out++ = *p++;
				}
			}
			*out = '\0';
			fields[n++] = start;
			if (*p == '\0')
				return n;
			if (*p != ',')
				return -1;
			p++;
		} else {
			fields[n++] = p;
			char *comma = strchr(p, ',');
			if (comma == NULL)
				return n;
			*comma = '\0';
			p = comma + 1;
		}
	}
}

static int add_groups(struct token_entry *e, const char *list)
{
	const char *p = list;
	while (*p) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		if (n > 0) {
			char **g = realloc(e->groups, (e->n_groups + 1) * sizeof *g);
			if (g == NULL)
				return MK_ENOMEM;
			e->groups = g;
			if ((g[e->n_groups] = strndup(p, n)) == NULL)
				return MK_ENOMEM;
			e->n_groups++;
		}
		p += n + (comma != NULL);
	}
	return MK_OK;
}

int tokens_load(const char *path, struct token_table **out, char *errmsg, size_t len)
{
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		snprintf(errmsg, len, "%s: %s", base, strerror(errno));
		return MK_EIO;
	}
	struct token_table *t = calloc(1, sizeof *t);
	char *line = NULL;
	size_t cap = 0;
	ssize_t got;
	int rv = t ? MK_OK : MK_ENOMEM, lineno = 0;
	while (rv == MK_OK && (got = getline(&line, &cap, f)) >= 0) {
		lineno++;
		while (got > 0 && (line[got - 1] == '\n' || line[got - 1] == '\r'))
			line[--got] = '\0';
		if (got == 0 || line[0] == '#')
			continue;
		char *fields[4];
		int n = split_csv(line, fields, 4);
		const char *why = n < 0 ? "malformed CSV (unterminated quote or extra field)"
				  : n < 3 ? "want token,user,uid[,\"groups\"]"
				  : fields[0][0] == '\0' ? "empty token"
				  : fields[1][0] == '\0' ? "empty user" : NULL;
		if (why != NULL) {
			snprintf(errmsg, len, "%s:%d: %s", base, lineno, why);
			rv = MK_EINVAL;
			break;
		}
		struct token_entry *g = realloc(t->entries, (t->n + 1) * sizeof *g);
		if (g == NULL) {
			rv = MK_ENOMEM;
			break;
		}
		t->entries = g;
		struct token_entry *e = &t->entries[t->n];
		memset(e, 0, sizeof *e);
		t->n++;
		e->token = strdup(fields[0]);
		e->user = strdup(fields[1]);
		e->uid = strdup(fields[2]);
		if (!e->token || !e->user || !e->uid ||
		    (n == 4 && add_groups(e, fields[3]) != MK_OK))
			rv = MK_ENOMEM;
	}
	if (line) {
		OPENSSL_cleanse(line, cap);
		free(line);
	}
	fclose(f);
	if (rv != MK_OK) {
		if (rv == MK_ENOMEM)
			snprintf(errmsg, len, "%s: out of memory", base);
		tokens_free(t);
		return rv;
	}
	*out = t;
	return MK_OK;
}

const struct token_entry *tokens_find(const struct token_table *t, const char *token)
{
	size_t n = strlen(token);
	const struct token_entry *found = NULL;
	/* Every entry is compared, and each comparison takes the same time
	 * whatever the bytes: the answer's timing tells nothing. */
	for (size_t i = 0; i < t->n; i++) {
		const struct token_entry *e = &t->entries[i];
		if (strlen(e->token) == n && CRYPTO_memcmp(e->token, token, n) == 0)
			found = e;
	}
	return found;
}

size_t tokens_count(const struct token_table *t)
{
	return t->n;
}

void tokens_free(struct token_table *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->n; i++)
		free_entry(&t->entries[i]);
	free(t->entries);
	free(t);
}
