/*
 * Shared by the selector files: building label selectors (selector_label.c)
 * for the parser (selector_label_parse.c), and the label key and value
 * rules of k8s.io/apimachinery/pkg/util/validation with their messages
 * (selector_check.c).  A selector under construction belongs to the one
 * thread building it; everything else is pure.
 */
#ifndef MK_API_SELECTOR_INTERNAL_H
#define MK_API_SELECTOR_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

struct mk_buf;
struct label_selector;

enum label_op {
	LABEL_EQ,
	LABEL_DEQ, /* "==": matches as "=", prints as "==" */
	LABEL_NEQ,
	LABEL_IN,
	LABEL_NOTIN,
	LABEL_EXISTS,
	LABEL_NOT_EXISTS,
	LABEL_GT,
	LABEL_LT,
};

/* A requirement's values while it is being built; owns the strings. */
struct label_values {
	char **v;
	size_t n;
};

int label_values_add(struct label_values *vs, const char *s, size_t n); /* MK_ENOMEM */
void label_values_set(struct label_values *vs); /* sorted, duplicates dropped */
void label_values_free(struct label_values *vs);

/* An empty selector (selects everything), or NULL without memory. */
struct label_selector *label_selector_new(void);
/* Checks key, operator and values as upstream's NewRequirement and appends
 * the requirement, taking the values (vs is left empty).  `key_path` names
 * the key in a message.  MK_EINVAL with the reasons in err, MK_ENOMEM. */
int label_selector_add(struct label_selector *s, const char *key, enum label_op op,
		       struct label_values *vs, const char *key_path, char *err, size_t len);
/* Sorts the requirements by key, as upstream keeps them; call once built. */
void label_selector_finish(struct label_selector *s);

/* A qualified name: [DNS-1123 subdomain "/"] name, name at most 63
 * characters of [A-Za-z0-9._-], alphanumeric at both ends.  MK_OK, or
 * MK_EINVAL with upstream's reasons ("; "-joined) in `why`. */
int selector_check_key(const char *key, char *why, size_t len);
/* A label value: empty, or at most 63 characters as a name part. */
int selector_check_value(const char *value, char *why, size_t len);
/* Makes a message one line of valid UTF-8, whatever bytes of the input it
 * quotes: control characters become ' ', invalid UTF-8 '?' (the caller
 * puts it in a JSON Status). */
void selector_clean_message(char *s);
/* strconv.ParseInt(s, 10, 64): optional sign, digits, nothing else. */
bool selector_parse_int(const char *s, long long *out);
/* Appends one formatted problem to a ", "-joined list (a Go error
 * aggregate) and counts it; without memory the list just stays shorter. */
void selector_note(struct mk_buf *b, int *count, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
