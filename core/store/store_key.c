/* Kubernetes object keys (see store_key() in store.h). */
#include <stdio.h>
#include <string.h>

#include "../base/err.h"
#include "store.h"

static bool part_ok(const char *p)
{
	return p && p[0] != '\0' && strchr(p, '/') == NULL;
}

int store_key(char *out, size_t len, const char *group, const char *resource,
	      const char *ns, const char *name)
{
	if (!part_ok(group) || !part_ok(resource) || (ns && !part_ok(ns)) ||
	    (name && !part_ok(name)))
		return MK_EINVAL;
	int n = snprintf(out, len, "/registry/%s/%s/%s%s%s", group, resource, ns ? ns : "",
			 ns ? "/" : "", name ? name : "");
	if (n < 0 || (size_t)n >= len || n > STORE_MAX_KEY)
		return MK_EINVAL;
	return MK_OK;
}
