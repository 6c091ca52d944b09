/*
 * RFC 6902 JSON patch (see patch_json() in patch.h).
 *
 * Every operation is checked for shape before any is applied, so a
 * malformed patch is always MK_EINVAL (400) whatever the document holds;
 * then the operations run in order on a deep copy of the document, which
 * replaces the caller's only once all of them succeeded.
 */
#include <stdint.h>
#include <string.h>

#include "../base/buf.h"
#include "../base/err.h"
#include "patch_internal.h"

enum op_kind { OP_ADD, OP_REMOVE, OP_REPLACE, OP_MOVE, OP_COPY, OP_TEST };

static const char *const op_names[] = {"add", "remove", "replace", "move", "copy", "test"};

struct op {
	enum op_kind kind;
	const char *path, *from; /* JSON pointers; from: move and copy only */
	size_t path_len, from_len;
	const json_t *value; /* add, replace and test only */
};

struct jp {
	json_t *root;  /* the working copy */
	size_t budget; /* values "copy" and deeper "move" may still touch */
	struct mk_buf tok;
	size_t index; /* of the operation being applied, for messages */
	const char *name;
	char *errmsg;
	size_t len;
};

#define QUOTE PATCH_QUOTE

/* RFC 6901 syntax: empty, or '/'-separated tokens where '~' is only ever
 * followed by '0' or '1'. */
static bool pointer_valid(const char *p, size_t n)
{
	if (n == 0)
		return true;
	if (p[0] != '/')
		return false;
	for (size_t i = 0; i < n; i++)
		if (p[i] == '~' && (i + 1 == n || (p[i + 1] != '0' && p[i + 1] != '1')))
			return false;
	return true;
}

static size_t pointer_depth(const char *p, size_t n)
{
	size_t d = 0;
	for (size_t i = 0; i < n; i++)
		d += p[i] == '/';
	return d;
}

/* Decodes the token that starts at p[*off] (just past its '/') into j->tok
 * and moves *off to the next '/' or to n. */
static int decode_token(struct jp *j, const char *p, size_t n, size_t *off)
{
	mk_buf_reset(&j->tok);
	/* An empty token is the key "": the buffer must exist even then. */
	if (mk_buf_reserve(&j->tok, 1) != 0)
		return MK_ENOMEM;
	size_t i = *off;
	while (i < n && p[i] != '/') {
		char c = p[i];
		if (c == '~') {
			c = p[i + 1] == '0' ? '~' : '/'; /* pointer_valid() vouched */
			i++;
		}
		if (mk_buf_append(&j->tok, &c, 1) != 0)
			return MK_ENOMEM;
		i++;
	}
	*off = i;
	return MK_OK;
}

/* An array index token: "0" or digits without a leading zero. */
static bool token_index(const struct mk_buf *tok, size_t *out)
{
	const uint8_t *s = tok->data;
	size_t n = tok->len;
	if (n == 0 || n > 18 || (n > 1 && s[0] == '0'))
		return false;
	size_t v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (size_t)(s[i] - '0');
	}
	*out = v;
	return true;
}

static bool token_is(const struct mk_buf *tok, const char *s)
{
	return tok->len == strlen(s) && memcmp(tok->data, s, tok->len) == 0;
}

/* The value at pointer p, or NULL (*rc = MK_OK) if there is none. */
static json_t *lookup(struct jp *j, const char *p, size_t n, int *rc)
{
	json_t *cur = j->root;
	size_t off = 0;
	*rc = MK_OK;
	while (cur && off < n) {
		off++; /* the '/' */
		if ((*rc = decode_token(j, p, n, &off)) != MK_OK)
			return NULL;
		size_t idx;
		if (json_is_object(cur))
			cur = json_object_getn(cur, (const char *)j->tok.data, j->tok.len);
		else if (json_is_array(cur) && token_index(&j->tok, &idx))
			cur = json_array_get(cur, idx); /* NULL when out of range */
		else
			cur = NULL;
	}
	return cur;
}

static int not_found(struct jp *j, const char *p, size_t n)
{
	return patch_fail(j->errmsg, j->len, MK_ENOTFOUND,
			  "operation %zu (%s): path \"%.*s\" does not exist", j->index, j->name,
			  QUOTE(p, n));
}

/* For a non-empty pointer: the container its last token lives in, with that
 * token decoded in j->tok.  MK_ENOTFOUND if the container does not exist. */
static int parent_of(struct jp *j, const char *p, size_t n, json_t **parent)
{
	size_t last = n;
	while (p[last - 1] != '/')
		last--;
	last--; /* at the final '/' */
	int rc;
	*parent = lookup(j, p, last, &rc);
	if (rc != MK_OK)
		return rc;
	if (!json_is_object(*parent) && !json_is_array(*parent))
		return not_found(j, p, n);
	last++;
	return decode_token(j, p, n, &last);
}

/* Walks v: false if it nests deeper than `depth` or holds more than *budget
 * values (stopping there); otherwise takes its values off *budget. */
static bool fits(const json_t *v, int depth, size_t *budget)
{
	if (depth < 1 || *budget == 0)
		return false;
	(*budget)--;
	size_t i;
	const char *key;
	json_t *m;
	if (json_is_object(v)) {
		json_object_foreach(patch_mut(v), key, m)
			if (!fits(m, depth - 1, budget))
				return false;
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, m)
			if (!fits(m, depth - 1, budget))
				return false;
	}
	return true;
}

/* Puts `v` (a reference the callee consumes) at the place `p` names: an
 * add (replace == false) or a replace. */
static int put(struct jp *j, const char *p, size_t n, json_t *v, bool replace)
{
	if (n == 0) {
		json_decref(j->root);
		j->root = v;
		return MK_OK;
	}
	json_t *parent;
	int rc = parent_of(j, p, n, &parent);
	if (rc != MK_OK)
		goto err;
	const char *key = (const char *)j->tok.data;
	size_t idx, size = json_array_size(parent);
	if (json_is_object(parent)) {
		if (replace && !json_object_getn(parent, key, j->tok.len)) {
			rc = not_found(j, p, n);
			goto err;
		}
		/* Keys come from valid JSON strings and '~' decoding keeps them
		 * valid UTF-8. */
		if (json_object_setn_new_nocheck(parent, key, j->tok.len, v) != 0)
			return MK_ENOMEM;
	} else if (!replace && token_is(&j->tok, "-")) {
		if (json_array_append_new(parent, v) != 0)
			return MK_ENOMEM;
	} else if (token_index(&j->tok, &idx) && (idx < size || (!replace && idx == size))) {
		if ((replace ? json_array_set_new(parent, idx, v)
			     : json_array_insert_new(parent, idx, v)) != 0)
			return MK_ENOMEM;
	} else {
		rc = not_found(j, p, n);
		goto err;
	}
	return MK_OK;
err:
	json_decref(v);
	return rc;
}

static int remove_at(struct jp *j, const char *p, size_t n)
{
	json_t *parent;
	int rc = parent_of(j, p, n, &parent);
	if (rc != MK_OK)
		return rc;
	size_t idx;
	if (json_is_object(parent)) {
		if (json_object_deln(parent, (const char *)j->tok.data, j->tok.len) != 0)
			return not_found(j, p, n);
	} else if (!token_index(&j->tok, &idx) || json_array_remove(parent, idx) != 0) {
		return not_found(j, p, n);
	}
	return MK_OK;
}

/* Values placed deeper than they were may push the document past
 * PATCH_MAX_DOC_DEPTH, and copies may multiply it: both are bounded. */
static int check_growth(struct jp *j, const char *p, size_t n, const json_t *v, bool charge)
{
	size_t at = pointer_depth(p, n);
	size_t unlimited = SIZE_MAX;
	size_t *budget = charge ? &j->budget : &unlimited;
	if (at < PATCH_MAX_DOC_DEPTH && fits(v, PATCH_MAX_DOC_DEPTH - (int)at, budget))
		return MK_OK;
	if (charge && j->budget == 0)
		return patch_fail(j->errmsg, j->len, MK_ETOOBIG,
				  "operation %zu (%s): the patch copies more than %d values",
				  j->index, j->name, PATCH_MAX_COPY_NODES);
	return patch_fail(j->errmsg, j->len, MK_ETOOBIG,
			  "operation %zu (%s): the result would nest deeper than %d levels",
			  j->index, j->name, PATCH_MAX_DOC_DEPTH);
}

static int apply(struct jp *j, const struct op *o)
{
	int rc = MK_OK;
	json_t *v, *copy;
	switch (o->kind) {
	case OP_ADD:
	case OP_REPLACE:
		if ((rc = check_growth(j, o->path, o->path_len, o->value, false)) != MK_OK)
			return rc;
		if (!(copy = json_deep_copy(o->value)))
			return MK_ENOMEM;
		return put(j, o->path, o->path_len, copy, o->kind == OP_REPLACE);
	case OP_REMOVE:
		return remove_at(j, o->path, o->path_len);
	case OP_TEST:
		v = lookup(j, o->path, o->path_len, &rc);
		if (rc != MK_OK)
			return rc;
		if (!v)
			return patch_fail(j->errmsg, j->len, MK_ECONFLICT,
					  "operation %zu (test): path \"%.*s\" does not exist",
					  j->index, QUOTE(o->path, o->path_len));
		if (!patch_equal(v, o->value))
			return patch_fail(j->errmsg, j->len, MK_ECONFLICT,
					  "operation %zu (test): value at \"%.*s\" differs",
					  j->index, QUOTE(o->path, o->path_len));
		return MK_OK;
	case OP_MOVE:
	case OP_COPY:
		v = lookup(j, o->from, o->from_len, &rc);
		if (rc != MK_OK)
			return rc;
		if (!v)
			return not_found(j, o->from, o->from_len);
		if (o->kind == OP_MOVE && o->path_len == o->from_len &&
		    memcmp(o->path, o->from, o->path_len) == 0)
			return MK_OK;
		/* A move to the same depth or shallower cannot deepen the
		 * document, and costs nothing to check. */
		if ((o->kind == OP_COPY ||
		     pointer_depth(o->path, o->path_len) > pointer_depth(o->from, o->from_len)) &&
		    (rc = check_growth(j, o->path, o->path_len, v, true)) != MK_OK)
			return rc;
		if (o->kind == OP_COPY) {
			if (!(copy = json_deep_copy(v)))
				return MK_ENOMEM;
			return put(j, o->path, o->path_len, copy, false);
		}
		json_incref(v);
		if ((rc = remove_at(j, o->from, o->from_len)) != MK_OK) {
			json_decref(v);
			return rc;
		}
		return put(j, o->path, o->path_len, v, false);
	}
	return MK_EINVAL;
}

/* Checks the shape of operation i and fills *o. */
static int parse_op(const json_t *e, size_t i, struct op *o, char *errmsg, size_t len)
{
	if (!json_is_object(e))
		return patch_fail(errmsg, len, MK_EINVAL, "operation %zu is not an object", i);
	const json_t *op = json_object_get(e, "op");
	if (!json_is_string(op))
		return patch_fail(errmsg, len, MK_EINVAL, "operation %zu has no \"op\" string", i);
	size_t k;
	for (k = 0; k < sizeof(op_names) / sizeof(op_names[0]); k++)
		if (strcmp(json_string_value(op), op_names[k]) == 0)
			break;
	if (k == sizeof(op_names) / sizeof(op_names[0]))
		return patch_fail(errmsg, len, MK_EINVAL, "operation %zu: unknown op \"%.*s\"", i,
				  QUOTE(json_string_value(op), json_string_length(op)));
	*o = (struct op){.kind = (enum op_kind)k};

	const json_t *path = json_object_get(e, "path");
	if (!json_is_string(path))
		return patch_fail(errmsg, len, MK_EINVAL,
				  "operation %zu (%s) has no \"path\" string", i, op_names[k]);
	o->path = json_string_value(path);
	o->path_len = json_string_length(path);
	if (!pointer_valid(o->path, o->path_len))
		return patch_fail(errmsg, len, MK_EINVAL,
				  "operation %zu (%s): path \"%.*s\" is not a JSON pointer", i,
				  op_names[k], QUOTE(o->path, o->path_len));

	if (o->kind == OP_ADD || o->kind == OP_REPLACE || o->kind == OP_TEST) {
		/* A JSON null is a value: only a missing member is an error. */
		if (!(o->value = json_object_get(e, "value")))
			return patch_fail(errmsg, len, MK_EINVAL,
					  "operation %zu (%s) has no \"value\"", i, op_names[k]);
		if (patch_deeper_than(o->value, PATCH_MAX_DEPTH))
			return patch_fail(errmsg, len, MK_EINVAL,
					  "operation %zu (%s): value nests deeper than %d levels", i,
					  op_names[k], PATCH_MAX_DEPTH);
	}
	if (o->kind == OP_REMOVE && o->path_len == 0)
		return patch_fail(errmsg, len, MK_EINVAL,
				  "operation %zu (remove): cannot remove the whole document", i);
	if (o->kind != OP_MOVE && o->kind != OP_COPY)
		return MK_OK;

	const json_t *from = json_object_get(e, "from");
	if (!json_is_string(from))
		return patch_fail(errmsg, len, MK_EINVAL,
				  "operation %zu (%s) has no \"from\" string", i, op_names[k]);
	o->from = json_string_value(from);
	o->from_len = json_string_length(from);
	if (!pointer_valid(o->from, o->from_len))
		return patch_fail(errmsg, len, MK_EINVAL,
				  "operation %zu (%s): from \"%.*s\" is not a JSON pointer", i,
				  op_names[k], QUOTE(o->from, o->from_len));
	/* RFC 6902 §4.4: a value cannot move into one of its own children. */
	if (o->kind == OP_MOVE && o->path_len > o->from_len &&
	    memcmp(o->path, o->from, o->from_len) == 0 && o->path[o->from_len] == '/')
		return patch_fail(errmsg, len, MK_EINVAL,
				  "operation %zu (move): cannot move \"%.*s\" into itself", i,
				  QUOTE(o->from, o->from_len));
	return MK_OK;
}

int patch_json(json_t **doc, const json_t *ops, char *errmsg, size_t len)
{
	if (len > 0)
		errmsg[0] = '\0';
	if (!doc || !*doc || !ops)
		return patch_fail(errmsg, len, MK_EINVAL, "no document or no patch");
	if (!json_is_array(ops))
		return patch_fail(errmsg, len, MK_EINVAL,
				  "a JSON patch must be an array of operations");
	size_t n = json_array_size(ops);
	if (n > PATCH_MAX_OPS)
		return patch_fail(errmsg, len, MK_EINVAL,
				  "a JSON patch may hold at most %d operations, not %zu",
				  PATCH_MAX_OPS, n);

	int rc;
	struct op o;
	for (size_t i = 0; i < n; i++)
		if ((rc = parse_op(json_array_get(ops, i), i, &o, errmsg, len)) != MK_OK)
			return rc;

	struct jp j = {
		.root = json_deep_copy(*doc),
		.budget = PATCH_MAX_COPY_NODES,
		.tok = MK_BUF_INIT,
		.errmsg = errmsg,
		.len = len,
	};
	if (!j.root)
		return patch_fail(errmsg, len, MK_ENOMEM, "out of memory applying JSON patch");
	for (size_t i = 0; i < n; i++) {
		parse_op(json_array_get(ops, i), i, &o, NULL, 0); /* checked above */
		j.index = i;
		j.name = op_names[o.kind];
		if ((rc = apply(&j, &o)) != MK_OK)
			goto err;
	}
	mk_buf_free(&j.tok);
	json_decref(*doc);
	*doc = j.root;
	return MK_OK;
err:
	if (rc == MK_ENOMEM)
		patch_fail(errmsg, len, rc, "out of memory applying JSON patch");
	mk_buf_free(&j.tok);
	json_decref(j.root);
	return rc;
}
