/*
 * Static bearer tokens: the Kubernetes token file format MicroK8s uses
 * (credentials/known_tokens.csv), one CSV record per line:
 *
 *   token,user,uid[,"group1,group2"]
 *
 * Fields may be quoted ("..." with "" for a quote); the groups field is
 * one field holding a comma-separated list.  Blank lines and lines whose
 * first character is '#' are ignored.  A token is printable ASCII without
 * spaces; user may not be empty.  If a token appears twice the later line
 * wins (as in kube-apiserver), with a warning.
 *
 * Ownership and threading: a table is immutable once loaded; it may be
 * read from any number of threads; tokens_free releases it and every entry.
 * Entries point into the table and live as long as it does.
 *
 * Reloading: this module keeps no state about the file.  A caller that
 * wants to pick up edits stats the path and loads again when st_mtim
 * changed (core/api/auth.c does, at most once a second), keeping the old
 * table if the new load fails.
 */
#ifndef MK_CLUSTER_TOKENS_H
#define MK_CLUSTER_TOKENS_H

#include <stddef.h>

/* Longest line accepted (a token file line is well under 1 KiB). */
#define TOKENS_MAX_LINE 8192

struct token_entry {
	char *token;
	char *user;
	char *uid;
	char **groups;
	size_t n_groups;
};

struct token_table;

/* Parses the file at `path` into *out.  Errors, with a one-line errmsg
 * prefixed by the file's base name:
 *   MK_ENOTFOUND  the file does not exist
 *   MK_EINVAL     "known_tokens.csv:3: unterminated quote" (nothing loaded)
 *   MK_EIO        it cannot be read
 *   MK_ENOMEM */
int tokens_load(const char *path, struct token_table **out, char *errmsg, size_t len);
/* The entry for `token`, or NULL (also for a NULL table or token).  Every
 * entry of equal length is compared with CRYPTO_memcmp, so the time taken
 * does not depend on how much of a guess was right. */
const struct token_entry *tokens_find(const struct token_table *t, const char *token);
size_t tokens_count(const struct token_table *t);
/* NULL-safe.  Token bytes are wiped before they are freed. */
void tokens_free(struct token_table *t);

#endif
