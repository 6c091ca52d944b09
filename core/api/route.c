/*
 * Resource paths:
 *   /api/v1[/namespaces/NS]/RESOURCE[/NAME[/SUB]]
 *   /apis/GROUP/VERSION[/namespaces/NS]/RESOURCE[/NAME[/SUB]]
 * plus the legacy /watch/ prefix after the group version.
 */
#include <stdlib.h>
#include <string.h>

#include "../base/err.h"
#include "api_internal.h"
#include "pod_exec.h"
#include "pod_log.h"

#define MAX_SEGMENTS 10

void api_path_normalize(char *path)
{
	size_t n = strlen(path);
	while (n > 1 && path[n - 1] == '/')
		path[--n] = '\0';
}

/* Splits at '/', skipping the leading one.  Empty segments (a//b) are an
 * error: no real client sends them. */
static int split(char *path, char **seg, int max)
{
	int n = 0;
	char *p = path + 1;
	while (*p) {
		if (n == max)
			return -1;
		char *slash = strchr(p, '/');
		if (slash == p)
			return -1;
		seg[n++] = p;
		if (slash == NULL)
			break;
		*slash = '\0';
		p = slash + 1;
	}
	return n;
}

static int not_found(struct api_call *c)
{
	const struct api_resource *res = c->res;
	c->res = NULL; /* no details for a path that names nothing */
	api_fail(c, 404, "NotFound", "the server could not find the requested resource");
	c->res = res;
	return 404;
}

static bool sub_allowed(const struct api_resource *r, const char *sub)
{
	if (strcmp(sub, "status") == 0)
		return r->subresources & RES_SUB_STATUS;
	if (strcmp(sub, "scale") == 0)
		return r->subresources & RES_SUB_SCALE;
	if (strcmp(sub, "finalize") == 0)
		return r->subresources & RES_SUB_FINALIZE;
	/* pods/NAME/binding: how a pod gets its node (pod_binding.c);
	 * pods/NAME/eviction: kubectl drain (pod_eviction.c). */
	if (strcmp(sub, "binding") == 0 || strcmp(sub, "eviction") == 0)
		return !r->custom && r->group[0] == '\0' && strcmp(r->plural, "pods") == 0;
	return false;
}

int api_route(struct api_call *c)
{
	char *path = strdup(c->req->path);
	char *seg[MAX_SEGMENTS];
	int rv = 404;
	if (path == NULL)
		return not_found(c);
	int n = split(path, seg, MAX_SEGMENTS);
	const char *group, *version;
	int i;
	if (n >= 2 && strcmp(seg[0], "api") == 0) {
		group = "";
		version = seg[1];
		i = 2;
	} else if (n >= 3 && strcmp(seg[0], "apis") == 0) {
		group = seg[1];
		version = seg[2];
		i = 3;
	} else {
		rv = not_found(c);
		goto out;
	}
	bool watch_prefix = false;
	if (i < n && strcmp(seg[i], "watch") == 0) {
		watch_prefix = true;
		i++;
	}
	const char *resource = NULL, *ns = NULL, *name = NULL, *sub = NULL;
	int left = n - i;
	if (left >= 3 && strcmp(seg[i], "namespaces") == 0 &&
	    !(left == 3 && (strcmp(seg[i + 2], "status") == 0 ||
			    strcmp(seg[i + 2], "finalize") == 0))) {
		ns = seg[i + 1];
		i += 2;
		left -= 2;
	}
	if (left < 1 || left > 3) {
		rv = not_found(c);
		goto out;
	}
	resource = seg[i];
	name = left >= 2 ? seg[i + 1] : NULL;
	sub = left == 3 ? seg[i + 2] : NULL;
	const struct api_resource *r = resource_set_find(c->rs, group, version, resource);
	if (r == NULL || (ns != NULL && !r->namespaced)) {
		rv = not_found(c);
		goto out;
	}
	c->res = r;
	/* pods/NAME/exec and /attach: pod_exec.c takes them after routing. */
	if (sub != NULL && pod_exec_subresource(r, sub)) {
		rv = pod_exec_route(c, ns, name, sub);
		goto out;
	}
	/* pods/NAME/log: pod_log.c takes it after routing. */
	if (sub != NULL && pod_log_subresource(r, sub)) {
		rv = pod_log_route(c, ns, name);
		goto out;
	}
	if (sub != NULL && !sub_allowed(r, sub)) {
		rv = not_found(c);
		goto out;
	}
	/* A namespaced object is always addressed in its namespace. */
	if (r->namespaced && ns == NULL && name != NULL) {
		rv = not_found(c);
		goto out;
	}
	const char *m = c->req->method;
	bool collection = name == NULL;
	/* Create-only subresources. */
	if (sub != NULL && (strcmp(sub, "binding") == 0 || strcmp(sub, "eviction") == 0) &&
	    strcmp(m, "POST") != 0)
		goto bad_method;
	if (strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0) {
		if (collection)
			c->verb = watch_prefix || api_query_bool(&c->query, "watch") ? VERB_WATCH
										    : VERB_LIST;
		else
			c->verb = VERB_GET;
	} else if (watch_prefix) {
		goto bad_method;
	} else if (strcmp(m, "POST") == 0 &&
		   (collection || (sub && (strcmp(sub, "binding") == 0 ||
					   strcmp(sub, "eviction") == 0)))) {
		c->verb = VERB_CREATE;
	} else if (strcmp(m, "PUT") == 0 && !collection) {
		c->verb = VERB_UPDATE;
	} else if (strcmp(m, "PATCH") == 0 && !collection) {
		c->verb = VERB_PATCH;
	} else if (strcmp(m, "DELETE") == 0) {
		c->verb = collection ? VERB_DELETECOLLECTION : VERB_DELETE;
		if (sub != NULL)
			goto bad_method;
	} else {
		goto bad_method;
	}
	if ((c->ns = ns ? strdup(ns) : NULL, ns && !c->ns) ||
	    (c->name = name ? strdup(name) : NULL, name && !c->name) ||
	    (c->sub = sub ? strdup(sub) : NULL, sub && !c->sub)) {
		api_fail(c, 500, "InternalError", "out of memory");
		rv = 500;
		goto out;
	}
	rv = 0;
	goto out;
bad_method:
	api_fail(c, 405, "MethodNotAllowed", "the server does not allow this method on the "
					     "requested resource");
	rv = 405;
out:
	free(path);
	return rv;
}
