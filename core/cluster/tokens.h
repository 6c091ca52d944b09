/*
 * Static bearer tokens (the Kubernetes token file format MicroK8s uses,
 * credentials/known_tokens.csv):  token,user,uid,"group1,group2"
 * Blank lines and lines starting with '#' are ignored.  A table is
 * immutable once loaded and may be shared between threads.
 */
#ifndef MK_CLUSTER_TOKENS_H
#define MK_CLUSTER_TOKENS_H

#include <stddef.h>

struct token_entry {
	char *token;
	char *user;
	char *uid;
	char **groups;
	size_t n_groups;
};

struct token_table;

/* MK_EINVAL with "known_tokens.csv:3: ..." for a malformed line, MK_EIO if
 * the file cannot be read. */
int tokens_load(const char *path, struct token_table **out, char *errmsg, size_t len);
/* The entry for `token` (compared in constant time), or NULL. */
const struct token_entry *tokens_find(const struct token_table *t, const char *token);
size_t tokens_count(const struct token_table *t);
void tokens_free(struct token_table *t);

#endif
