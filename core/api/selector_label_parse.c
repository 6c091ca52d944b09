/*
 * The label selector language (contract in selector.h): a lexer and a
 * recursive descent parser with the grammar, token rules and messages of
 * k8s.io/apimachinery/pkg/labels (selector.go), e.g.
 *
 *	x in (foo,,baz),y,z notin (),!w,n>3
 *
 * The requirements it finds are checked and kept by selector_label.c.
 */
#include "selector.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/err.h"
#include "selector_internal.h"

/* --- lexer ------------------------------------------------------------------ */

enum tok {
	T_END, T_CPAR, T_COMMA, T_NOT, T_DEQ, T_EQ, T_GT, T_ID, T_IN, T_LT, T_NEQ, T_NOTIN, T_OPAR,
};

struct token {
	enum tok tok;
	const char *lit; /* into the input; T_END has "" */
	size_t len;
};

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool is_special(char c)
{
	return c == '=' || c == '!' || c == '(' || c == ')' || c == ',' || c == '>' || c == '<';
}

/* The whole input as tokens, ending with T_END.  An identifier is any run
 * of characters that are neither blank nor special: what it may contain
 * is checked later, so the message names the offending key or value. */
static int lex(const char *p, struct token **out, size_t *n_out)
{
	struct token *toks = NULL;
	size_t n = 0, cap = 0;
	for (;;) {
		while (is_space(*p))
			p++;
		struct token t = {T_END, p, 0};
		if (*p == '\0') {
			t.lit = "";
		} else if (is_special(*p)) {
			/* Longest match: "!=" and "==" are the only two-character tokens. */
			t.len = p[1] == '=' && (*p == '!' || *p == '=') ? 2 : 1;
			static const enum tok one[128] = {
				['='] = T_EQ,	 ['!'] = T_NOT, ['('] = T_OPAR, [')'] = T_CPAR,
				[','] = T_COMMA, ['>'] = T_GT,	['<'] = T_LT,
			};
			t.tok = t.len == 2 ? (*p == '!' ? T_NEQ : T_DEQ) : one[(unsigned char)*p];
		} else {
			while (p[t.len] && !is_special(p[t.len]) && !is_space(p[t.len]))
				t.len++;
			t.tok = t.len == 2 && memcmp(p, "in", 2) == 0	  ? T_IN
				: t.len == 5 && memcmp(p, "notin", 5) == 0 ? T_NOTIN
									   : T_ID;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			struct token *g = realloc(toks, cap * sizeof *g);
			if (g == NULL) {
				free(toks);
				return MK_ENOMEM;
			}
			toks = g;
		}
		toks[n++] = t;
		if (t.tok == T_END)
			break;
		p += t.len;
	}
	*out = toks;
	*n_out = n;
	return MK_OK;
}

/* --- parser ----------------------------------------------------------------- */

struct parser {
	const struct token *toks;
	size_t pos;
	char *err;
	size_t len;
};

/* In a value position "in" and "notin" are plain identifiers
 * ("x in (in)"); only where an operator is expected are they keywords. */
static struct token peek(const struct parser *p, bool values)
{
	struct token t = p->toks[p->pos];
	if (values && (t.tok == T_IN || t.tok == T_NOTIN))
		t.tok = T_ID;
	return t;
}

static struct token take(struct parser *p, bool values)
{
	struct token t = peek(p, values);
	if (t.tok != T_END) /* T_END is last: stay on it */
		p->pos++;
	return t;
}

static int found(struct parser *p, struct token t, const char *expected)
{
	snprintf(p->err, p->len, "found '%.*s', expected: %s", t.len > 256 ? 256 : (int)t.len,
		 t.lit, expected);
	return MK_EINVAL;
}

/* "(" values ")": "()" is the one empty value, empty items are "". */
static int parse_set(struct parser *p, struct label_values *vs)
{
	struct token t = take(p, true);
	if (t.tok != T_OPAR) {
		snprintf(p->err, p->len, "found '%.*s' expected: '('", (int)t.len, t.lit);
		return MK_EINVAL;
	}
	t = peek(p, true);
	if (t.tok == T_CPAR) {
		take(p, true);
		return label_values_add(vs, "", 0);
	}
	if (t.tok != T_ID && t.tok != T_COMMA)
		return found(p, t, "',', ')' or identifier");
	for (;;) {
		t = take(p, true);
		int rv = MK_OK;
		if (t.tok == T_ID) {
			if ((rv = label_values_add(vs, t.lit, t.len)) != MK_OK)
				return rv;
			struct token next = peek(p, true);
			if (next.tok == T_CPAR)
				break;
			if (next.tok != T_COMMA)
				return found(p, next, "',' or ')'");
		} else if (t.tok == T_COMMA) {
			/* "(,a" "a,,b" "a,)" each stand for an empty value too. */
			struct token next = peek(p, true);
			if (vs->n == 0 || next.tok == T_CPAR || next.tok == T_COMMA)
				rv = label_values_add(vs, "", 0);
			if (rv != MK_OK)
				return rv;
			if (next.tok == T_CPAR)
				break;
		} else {
			return found(p, t, "',', or identifier");
		}
	}
	take(p, true); /* the ')' seen above */
	label_values_set(vs);
	return MK_OK;
}

static int parse_requirement(struct parser *p, struct label_selector *s)
{
	enum label_op op = LABEL_EXISTS;
	bool negated = false;
	struct token t = take(p, true);
	if (t.tok == T_NOT) {
		negated = true;
		t = take(p, true);
	}
	if (t.tok != T_ID)
		return found(p, t, "identifier");
	char msg[1024];
	char *key = strndup(t.lit, t.len);
	if (key == NULL)
		return MK_ENOMEM;
	if (selector_check_key(key, msg, sizeof msg) != MK_OK) {
		/* Upstream checks the key before the requirement exists: no path. */
		snprintf(p->err, p->len, "<nil>: Invalid value: \"%s\": %s", key, msg);
		free(key);
		return MK_EINVAL;
	}
	struct label_values vs = {NULL, 0};
	int rv = MK_OK;
	struct token next = peek(p, true);
	if (negated) {
		op = LABEL_NOT_EXISTS; /* "!a=b" fails on the '=' afterwards */
	} else if (next.tok != T_END && next.tok != T_COMMA) {
		t = take(p, false);
		switch (t.tok) {
		case T_IN:
			op = LABEL_IN;
			break;
		case T_NOTIN:
			op = LABEL_NOTIN;
			break;
		case T_EQ:
			op = LABEL_EQ;
			break;
		case T_DEQ:
			op = LABEL_DEQ;
			break;
		case T_NEQ:
			op = LABEL_NEQ;
			break;
		case T_GT:
			op = LABEL_GT;
			break;
		case T_LT:
			op = LABEL_LT;
			break;
		default:
			free(key);
			return found(p, t, "in, notin, =, ==, !=, gt, lt");
		}
		if (op == LABEL_IN || op == LABEL_NOTIN) {
			rv = parse_set(p, &vs);
		} else {
			next = peek(p, true);
			if (next.tok == T_END || next.tok == T_COMMA) {
				rv = label_values_add(&vs, "", 0); /* "a=" : the empty value */
			} else {
				t = take(p, true);
				rv = t.tok == T_ID ? label_values_add(&vs, t.lit, t.len)
						   : found(p, t, "identifier");
			}
		}
	}
	if (rv == MK_OK)
		rv = label_selector_add(s, key, op, &vs, "key", p->err, p->len);
	label_values_free(&vs);
	free(key);
	return rv;
}

int label_selector_parse(const char *text, struct label_selector **out, char *err, size_t len)
{
	char scratch[1];
	if (len == 0) {
		err = scratch;
		len = sizeof scratch;
	}
	struct token *toks = NULL;
	size_t n_toks;
	struct label_selector *s = label_selector_new();
	int rv = s ? lex(text ? text : "", &toks, &n_toks) : MK_ENOMEM;
	if (rv != MK_OK)
		goto fail;
	struct parser p = {toks, 0, err, len};
	for (;;) {
		struct token t = peek(&p, true);
		if (t.tok == T_END)
			break;
		if (t.tok != T_ID && t.tok != T_NOT) {
			rv = found(&p, t, "!, identifier, or 'end of string'");
			goto fail;
		}
		if ((rv = parse_requirement(&p, s)) != MK_OK) {
			if (rv == MK_EINVAL) {
				/* Upstream prefixes what went wrong inside a requirement. */
				char inner[1024];
				snprintf(inner, sizeof inner, "%s", err);
				snprintf(err, len, "unable to parse requirement: %s", inner);
			}
			goto fail;
		}
		t = take(&p, true);
		if (t.tok == T_END)
			break;
		if (t.tok != T_COMMA) {
			rv = found(&p, t, "',' or 'end of string'");
			goto fail;
		}
		t = peek(&p, true);
		if (t.tok != T_ID && t.tok != T_NOT) {
			rv = found(&p, t, "identifier after ','");
			goto fail;
		}
	}
	free(toks);
	label_selector_finish(s);
	*out = s;
	return MK_OK;
fail:
	if (rv == MK_ENOMEM)
		snprintf(err, len, "out of memory");
	selector_clean_message(err);
	free(toks);
	label_selector_free(s);
	return rv;
}

