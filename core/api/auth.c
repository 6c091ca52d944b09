/*
 * Authentication: a client certificate signed by the cluster CA (CN is the
 * user, O the groups) or a bearer token from the static token file
 * (MicroK8s' known_tokens.csv).  Runs on the loop thread.
 *
 * The token file is re-read when its modification time changes (checked
 * at most once a second), so `mk` can add tokens without a restart.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "../base/err.h"
#include "../base/log.h"
#include "../cluster/tokens.h"
#include "api_internal.h"

struct api_auth {
	char *token_file;
	struct token_table *tokens;
	struct timespec mtime;
	time_t checked;
};

static int reload(struct api_auth *a, char *errmsg, size_t len)
{
	struct stat st;
	if (stat(a->token_file, &st) != 0) {
		snprintf(errmsg, len, "%s: cannot read", a->token_file);
		return MK_EIO;
	}
	if (a->tokens != NULL && st.st_mtim.tv_sec == a->mtime.tv_sec &&
	    st.st_mtim.tv_nsec == a->mtime.tv_nsec)
		return MK_OK;
	struct token_table *t;
	int rv = tokens_load(a->token_file, &t, errmsg, len);
	if (rv != MK_OK)
		return rv;
	tokens_free(a->tokens);
	a->tokens = t;
	a->mtime = st.st_mtim;
	return MK_OK;
}

int api_auth_new(const char *token_file, struct api_auth **out, char *errmsg, size_t len)
{
	struct api_auth *a = calloc(1, sizeof *a);
	if (a == NULL)
		return MK_ENOMEM;
	if (token_file != NULL) {
		a->token_file = strdup(token_file);
		int rv = a->token_file ? reload(a, errmsg, len) : MK_ENOMEM;
		if (rv != MK_OK) {
			api_auth_free(a);
			return rv;
		}
	}
	*out = a;
	return MK_OK;
}

void api_auth_free(struct api_auth *a)
{
	if (a == NULL)
		return;
	tokens_free(a->tokens);
	free(a->token_file);
	free(a);
}

void api_user_clear(struct api_user *u)
{
	free(u->name);
	for (size_t i = 0; i < u->n_groups; i++)
		free(u->groups[i]);
	free(u->groups);
	memset(u, 0, sizeof *u);
}

static int set_user(struct api_user *u, const char *name, char *const *groups, size_t n)
{
	u->name = strdup(name);
	u->groups = calloc(n + 1, sizeof *u->groups);
	if (u->name == NULL || u->groups == NULL)
		goto oom;
	for (size_t i = 0; i < n; i++) {
		if ((u->groups[i] = strdup(groups[i])) == NULL)
			goto oom;
		u->n_groups++;
	}
	/* Every authenticated user is in system:authenticated. */
	if ((u->groups[u->n_groups] = strdup("system:authenticated")) == NULL)
		goto oom;
	u->n_groups++;
	return MK_OK;
oom:
	api_user_clear(u);
	return MK_ENOMEM;
}

int api_authenticate(struct api_auth *a, const struct http_request *req, struct api_user *user)
{
	const char *authz = http_request_header(req, "authorization");
	if (authz != NULL) {
		if (strncasecmp(authz, "Bearer ", 7) != 0 || a->token_file == NULL)
			return MK_EINVAL;
		const char *token = authz + 7;
		while (*token == ' ')
			token++;
		time_t now = time(NULL);
		if (now != a->checked) {
			char err[256];
			a->checked = now;
			if (reload(a, err, sizeof err) != MK_OK)
				mk_warn("api", "keeping the previous tokens: %s", err);
		}
		const struct token_entry *e = a->tokens ? tokens_find(a->tokens, token) : NULL;
		if (e == NULL)
			return MK_EINVAL;
		return set_user(user, e->user, e->groups, e->n_groups);
	}
	const struct http_peer *p = req->peer;
	if (p != NULL && p->cert_presented) {
		if (!p->cert_verified)
			return MK_EINVAL;
		return set_user(user, p->cert_cn, p->cert_orgs, p->n_cert_orgs);
	}
	return MK_ENOTFOUND;
}
