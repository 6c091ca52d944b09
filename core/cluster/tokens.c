/*
 * The static token file parser.  See tokens.h for the format.
 */
#include "tokens.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <openssl/crypto.h>

#include "../base/err.h"
#include "../base/log.h"

#define MAX_FIELDS 4
#define MAX_FILE (16 * 1024 * 1024)

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

/* Splits one CSV record in place into at most MAX_FIELDS fields.  Returns
 * the number of fields, or -1 with the reason in *why. */
static int split_csv(char *line, char **fields, const char **why)
{
	int n = 0;
	char *p = line;
	for (;;) {
		if (n == MAX_FIELDS) {
			*why = "more than 4 fields";
			return -1;
		}
		if (*p != '"') {
			fields[n++] = p;
			char *comma = strchr(p, ',');
			if (strchr(p, '"') != NULL && (comma == NULL || strchr(p, '"') < comma)) {
				*why = "quote inside an unquoted field";
				return -1;
			}
			if (comma == NULL)
				return n;
			*comma = '\0';
			p = comma + 1;
			continue;
		}
		/* Quoted: copy down over the opening quote, "" is one quote. */
		char *out = ++p, *start = out;
		for (;;) {
			if (*p == '\0') {
				*why = "unterminated quote";
				return -1;
			}
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
		fields[n++] = start;
		if (*p == '\0') {
			*out = '\0';
			return n;
		}
		if (*p != ',') {
			*why = "text after a closing quote";
			return -1;
		}
		*out = '\0';
		p++;
	}
}

/* Printable ASCII without spaces: what can follow "Bearer " in a header. */
static bool valid_token(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
			return false;
	return true;
}

static int add_groups(struct token_entry *e, const char *list)
{
	const char *p = list;
	while (*p) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		/* "a, b" means groups a and b: trim spaces, drop empties. */
		const char *s = p;
		size_t k = n;
		while (k > 0 && *s == ' ')
			s++, k--;
		while (k > 0 && s[k - 1] == ' ')
			k--;
		if (k > 0) {
			char **g = realloc(e->groups, (e->n_groups + 1) * sizeof *g);
			if (g == NULL)
				return MK_ENOMEM;
			e->groups = g;
			if ((g[e->n_groups] = strndup(s, k)) == NULL)
				return MK_ENOMEM;
			e->n_groups++;
		}
		p += n + (comma != NULL);
	}
	return MK_OK;
}

/* Adds one record.  MK_EINVAL with *why for a bad one. */
static int add_record(struct token_table *t, char *line, const char **why)
{
	char *fields[MAX_FIELDS];
	int n = split_csv(line, fields, why);
	if (n < 0)
		return MK_EINVAL;
	if (n < 3)
		*why = "want token,user,uid[,\"groups\"]";
	else if (fields[0][0] == '\0')
		*why = "empty token";
	else if (!valid_token(fields[0]))
		*why = "token has spaces or non-ASCII characters";
	else if (fields[1][0] == '\0')
		*why = "empty user";
	else
		*why = NULL;
	if (*why != NULL)
		return MK_EINVAL;
	struct token_entry *g = realloc(t->entries, (t->n + 1) * sizeof *g);
	if (g == NULL)
		return MK_ENOMEM;
	t->entries = g;
	struct token_entry *e = &t->entries[t->n++];
	memset(e, 0, sizeof *e);
	e->token = strdup(fields[0]);
	e->user = strdup(fields[1]);
	e->uid = strdup(fields[2]);
	if (!e->token || !e->user || !e->uid)
		return MK_ENOMEM;
	return n == 4 ? add_groups(e, fields[3]) : MK_OK;
}

int tokens_load(const char *path, struct token_table **out, char *errmsg, size_t len)
{
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	const char *why = NULL;
	char *line = NULL;
	size_t cap = 0;
	ssize_t got;
	int lineno = 0, rv = MK_OK;
	*out = NULL;
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		snprintf(errmsg, len, "%s: %s", base, strerror(errno));
		return errno == ENOENT ? MK_ENOTFOUND : MK_EIO;
	}
	struct token_table *t = calloc(1, sizeof *t);
	struct stat st;
	if (t == NULL)
		rv = MK_ENOMEM;
	/* getline would take a whole huge line into memory before the
	 * length check: bound the file first. */
	else if (fstat(fileno(f), &st) == 0 && st.st_size > MAX_FILE) {
		why = "file larger than 16 MiB";
		rv = MK_EINVAL;
	}
	while (rv == MK_OK && (got = getline(&line, &cap, f)) >= 0) {
		lineno++;
		if (got > TOKENS_MAX_LINE) {
			why = "line too long";
			rv = MK_EINVAL;
			break;
		}
		while (got > 0 && (line[got - 1] == '\n' || line[got - 1] == '\r'))
			line[--got] = '\0';
		if (strlen(line) != (size_t)got) {
			why = "NUL byte in line";
			rv = MK_EINVAL;
			break;
		}
		if (line[strspn(line, " \t")] == '\0' || line[0] == '#')
			continue; /* blank (or only spaces) or a comment */
		rv = add_record(t, line, &why);
	}
	if (rv == MK_OK && ferror(f)) {
		snprintf(errmsg, len, "%s: %s", base, strerror(errno));
		rv = MK_EIO;
	}
	if (line != NULL)
		OPENSSL_cleanse(line, cap);
	free(line);
	fclose(f);
	if (rv == MK_EINVAL && lineno == 0)
		snprintf(errmsg, len, "%s: %s", base, why);
	else if (rv == MK_EINVAL)
		snprintf(errmsg, len, "%s:%d: %s", base, lineno, why);
	else if (rv == MK_ENOMEM)
		snprintf(errmsg, len, "%s: out of memory", base);
	if (rv != MK_OK) {
		tokens_free(t);
		return rv;
	}
	/* Later lines win; say so once per duplicate (no token in the log). */
	for (size_t i = 1; i < t->n; i++)
		for (size_t k = 0; k < i; k++)
			if (strcmp(t->entries[i].token, t->entries[k].token) == 0) {
				mk_warn("tokens", "%s: token of user %s appears again (entry %zu); "
					"the later one counts", base, t->entries[i].user, i + 1);
				break;
			}
	*out = t;
	return MK_OK;
}

const struct token_entry *tokens_find(const struct token_table *t, const char *token)
{
	if (t == NULL || token == NULL)
		return NULL;
	size_t n = strlen(token);
	const struct token_entry *found = NULL;
	/* Every entry is compared and each comparison of equal length takes
	 * the same time whatever the bytes; the last match wins. */
	for (size_t i = 0; i < t->n; i++) {
		const struct token_entry *e = &t->entries[i];
		if (strlen(e->token) == n && CRYPTO_memcmp(e->token, token, n) == 0)
			found = e;
	}
	return found;
}

size_t tokens_count(const struct token_table *t)
{
	return t ? t->n : 0;
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
