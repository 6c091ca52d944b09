/*
 * GET and LIST (worker threads): the stored objects, filtered by
 * selectors, paginated with limit/continue, as JSON or as a Table.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "../base/err.h"
#include "../store/store.h"
#include "api_internal.h"
#include "object.h"
#include "selector.h"
#include "table.h"

int api_object_key(const struct api_call *c, const char *ns, const char *name, char *out,
		   size_t len)
{
	return store_key(out, len, resource_store_group(c->res), c->res->plural,
			 c->res->namespaced ? ns : NULL, name);
}

int api_load(struct api_call *c, const char *name, json_t **obj, int64_t *rev)
{
	char key[STORE_MAX_KEY + 1];
	if (api_object_key(c, c->ns, name, key, sizeof key) != MK_OK)
		return MK_ENOTFOUND; /* a name that cannot be a key names nothing */
	struct store_kv kv;
	int rv = store_get(c->store, key, &kv);
	if (rv != MK_OK)
		return rv;
	*obj = object_from_store(kv.value, kv.len, kv.rev);
	if (rev)
		*rev = kv.rev;
	store_kv_free(&kv);
	return *obj ? MK_OK : MK_EIO;
}

/* The answer for one object: itself, or a one-row Table. */
void api_answer_object(struct api_call *c, int status, json_t *obj)
{
	json_decref(c->body);
	c->status = status;
	if (c->output == OUTPUT_TABLE && c->verb == VERB_GET && c->sub == NULL) {
		json_t *t = table_new(c->res->group, c->res->kind, c->res->printer_columns);
		table_add_row(t, c->res->group, c->res->kind, c->res->printer_columns, obj,
			      c->include, object_now());
		json_object_set(json_object_get(t, "metadata"), "resourceVersion",
				json_object_get(json_object_get(obj, "metadata"), "resourceVersion"));
		json_decref(obj);
		c->body = t;
		return;
	}
	c->body = obj;
}

void api_do_get(struct api_call *c)
{
	json_t *obj;
	int rv = api_load(c, c->name, &obj, NULL);
	if (rv != MK_OK) {
		api_fail_store(c, rv);
		return;
	}
	api_answer_object(c, 200, obj);
}

/* --- selectors -------------------------------------------------------- */

int api_selectors(struct api_call *c, struct label_selector **ls, struct field_selector **fs)
{
	char err[512];
	*ls = NULL;
	*fs = NULL;
	const char *l = api_query_get(&c->query, "labelSelector");
	const char *f = api_query_get(&c->query, "fieldSelector");
	if (l != NULL && l[0] && label_selector_parse(l, ls, err, sizeof err) != MK_OK) {
		api_fail(c, 400, "BadRequest", "%s", err);
		return MK_EINVAL;
	}
	if (f != NULL && f[0] &&
	    field_selector_parse(f, c->res->plural, fs, err, sizeof err) != MK_OK) {
		label_selector_free(*ls);
		*ls = NULL;
		api_fail(c, 400, "BadRequest", "%s", err);
		return MK_EINVAL;
	}
	return MK_OK;
}

bool api_matches(const struct label_selector *ls, const struct field_selector *fs,
		 const json_t *obj)
{
	if (ls != NULL &&
	    !label_selector_matches(ls, json_object_get(json_object_get(obj, "metadata"), "labels")))
		return false;
	return fs == NULL || field_selector_matches(fs, obj);
}

/* --- continue tokens ---------------------------------------------------- */

/* Opaque to clients (like the real server's): base64 of {"rv":N,"start":KEY}. */
static char *encode_continue(int64_t rev, const char *key)
{
	json_t *j = json_pack("{s:I, s:s}", "rv", (json_int_t)rev, "start", key);
	char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (text == NULL)
		return NULL;
	size_t n = strlen(text);
	char *out = malloc(4 * ((n + 2) / 3) + 1);
	if (out != NULL)
		EVP_EncodeBlock((unsigned char *)out, (unsigned char *)text, (int)n);
	free(text);
	return out;
}

static int decode_continue(const char *token, int64_t *rev, char **key)
{
	size_t n = strlen(token);
	if (n == 0 || n % 4 != 0 || n > 8192)
		return MK_EINVAL;
	unsigned char *buf = malloc(n);
	if (buf == NULL)
		return MK_ENOMEM;
	int len = EVP_DecodeBlock(buf, (const unsigned char *)token, (int)n);
	int rv = MK_EINVAL;
	if (len > 0) {
		while (len > 0 && buf[len - 1] == '\0') /* padding decodes to NULs */
			len--;
		json_t *j = json_loadb((char *)buf, (size_t)len, 0, NULL);
		json_int_t r;
		const char *k;
		if (j && json_unpack(j, "{s:I, s:s}", "rv", &r, "start", &k) == 0 && r > 0) {
			*rev = r;
			*key = strdup(k);
			rv = *key ? MK_OK : MK_ENOMEM;
		}
		json_decref(j);
	}
	free(buf);
	return rv;
}

/* --- LIST ------------------------------------------------------------- */

static json_t *list_skeleton(struct api_call *c)
{
	char gv[128], kind[160];
	resource_group_version(c->res, gv, sizeof gv);
	snprintf(kind, sizeof kind, "%sList", c->res->kind);
	return json_pack("{s:s, s:s, s:{}, s:[]}", "kind", kind, "apiVersion", gv, "metadata",
			 "items");
}

void api_do_list(struct api_call *c)
{
	struct label_selector *ls = NULL;
	struct field_selector *fs = NULL;
	char *after = NULL;
	json_t *list = NULL, *items;
	int64_t limit, at_rev = 0;
	if (api_query_int(&c->query, "limit", 0, &limit) != MK_OK || limit < 0) {
		api_fail(c, 400, "BadRequest", "invalid limit: %s",
			 api_query_get(&c->query, "limit"));
		return;
	}
	if (api_selectors(c, &ls, &fs) != MK_OK)
		return;
	const char *cont = api_query_get(&c->query, "continue");
	if (cont != NULL && cont[0] && decode_continue(cont, &at_rev, &after) != MK_OK) {
		api_fail(c, 400, "BadRequest", "invalid continue token");
		goto out;
	}
	const char *rvq = api_query_get(&c->query, "resourceVersion");
	const char *match = api_query_get(&c->query, "resourceVersionMatch");
	if (rvq != NULL && rvq[0] && strcmp(rvq, "0") != 0) {
		char *end;
		long long want = strtoll(rvq, &end, 10);
		if (*end != '\0' || want <= 0) {
			api_fail(c, 400, "BadRequest", "invalid resourceVersion: %s", rvq);
			goto out;
		}
		/* Exact means "as of then"; NotOlderThan (the default) is
		 * satisfied by now, which is never older. */
		if (match != NULL && strcmp(match, "Exact") == 0 && after == NULL)
			at_rev = want;
	}
	char prefix[STORE_MAX_KEY + 1];
	if (api_object_key(c, c->ns, NULL, prefix, sizeof prefix) != MK_OK) {
		api_fail(c, 404, "NotFound", "namespace \"%s\" is not valid", c->ns);
		goto out;
	}
	list = list_skeleton(c);
	items = json_object_get(list, "items");
	/* A listing pinned to one name (kubectl's informers for delete/wait
	 * use fieldSelector=metadata.name=x) reads just that key. */
	const char *pinned = fs ? field_selector_pinned(fs, "metadata.name") : NULL;
	int64_t list_rev = 0;
	bool more = false;
	char *last_key = NULL;
	if (pinned != NULL && after == NULL && at_rev == 0) {
		json_t *obj;
		int rv = api_load(c, pinned, &obj, NULL);
		if (rv == MK_OK && api_matches(ls, fs, obj))
			json_array_append_new(items, obj);
		else if (rv == MK_OK)
			json_decref(obj);
		else if (rv != MK_ENOTFOUND) {
			api_fail_store(c, rv);
			goto out;
		}
		int64_t compacted;
		rv = store_revision(c->store, &list_rev, &compacted);
		if (rv != MK_OK) {
			api_fail_store(c, rv);
			goto out;
		}
	} else {
		/* Pages of the store until `limit` objects matched. */
		size_t page = limit > 0 ? (size_t)limit : 0;
		for (;;) {
			struct store_list l;
			int rv = store_list(c->store, prefix, after, at_rev, page, &l);
			if (rv != MK_OK) {
				api_fail_store(c, rv);
				goto out;
			}
			at_rev = list_rev = l.rev;
			for (size_t i = 0; i < l.n; i++) {
				json_t *obj = object_from_store(l.items[i].value, l.items[i].len,
								l.items[i].rev);
				if (obj == NULL || !api_matches(ls, fs, obj)) {
					json_decref(obj);
					continue;
				}
				json_array_append_new(items, obj);
				if (limit > 0 && (int64_t)json_array_size(items) == limit &&
				    (i + 1 < l.n || l.more)) {
					free(last_key);
					last_key = strdup(l.items[i].key);
					more = true;
					break;
				}
			}
			if (!more && l.more && l.n > 0) {
				free(after);
				after = strdup(l.items[l.n - 1].key);
				store_list_free(&l);
				continue;
			}
			store_list_free(&l);
			break;
		}
	}
	json_t *meta = json_object_get(list, "metadata");
	char rvbuf[32];
	snprintf(rvbuf, sizeof rvbuf, "%lld", (long long)list_rev);
	json_object_set_new(meta, "resourceVersion", json_string(rvbuf));
	if (more && last_key != NULL) {
		char *token = encode_continue(list_rev, last_key);
		if (token != NULL)
			json_object_set_new(meta, "continue", json_string(token));
		free(token);
	}
	free(last_key);
	if (c->output == OUTPUT_TABLE) {
		json_t *t = table_new(c->res->group, c->res->kind, c->res->printer_columns);
		size_t i;
		json_t *obj;
		int64_t now = object_now();
		json_array_foreach(items, i, obj)
			table_add_row(t, c->res->group, c->res->kind, c->res->printer_columns, obj,
				      c->include, now);
		json_object_set(t, "metadata", meta);
		json_decref(list);
		list = t;
	}
	c->status = 200;
	c->body = list;
	list = NULL;
out:
	json_decref(list);
	free(after);
	label_selector_free(ls);
	field_selector_free(fs);
}
