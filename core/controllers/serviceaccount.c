/*
 * The ServiceAccount controller, as upstream's: every namespace has a
 * ServiceAccount named "default" (pods that name none run as it), made
 * when the namespace appears and again if someone deletes it.
 * (Upstream's token controller is not needed: since 1.24 tokens are not
 * Secrets; mk's bound tokens come with RBAC.)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/err.h"
#include "../base/log.h"
#include "../kube/client.h"
#include "../kube/informer.h"
#include "controllers_internal.h"

struct serviceaccount_controller {
	struct ctrl_loop loop;
	struct controllers *ctl;
};

static void on_namespace(void *arg, enum kube_event type, json_t *ns)
{
	struct serviceaccount_controller *c = arg;

	if (type != KUBE_DELETED && ctrl_meta(ns, "name") != NULL)
		wq_add(c->loop.queue, ctrl_meta(ns, "name"));
}

static void on_account(void *arg, enum kube_event type, json_t *sa)
{
	struct serviceaccount_controller *c = arg;

	if (type == KUBE_DELETED && strcmp(ctrl_meta(sa, "name") ?: "", "default") == 0)
		wq_add(c->loop.queue, ctrl_meta(sa, "namespace") ?: "");
}

static int sync_namespace(void *self, const char *ns)
{
	struct serviceaccount_controller *c = self;
	char path[400], ens[300], err[512];

	json_t *nsobj = kube_informer_get(ctrl_informer(c->ctl, INF_NAMESPACES), "", ns);
	/* A namespace being deleted takes new objects no more. */
	bool active = nsobj != NULL && ctrl_meta(nsobj, "deletionTimestamp") == NULL;
	json_decref(nsobj);
	if (!active)
		return MK_OK;
	json_t *sa = kube_informer_get(ctrl_informer(c->ctl, INF_SERVICEACCOUNTS), ns, "default");
	if (sa != NULL) {
		json_decref(sa);
		return MK_OK;
	}
	kube_escape(ns, ens, sizeof ens);
	snprintf(path, sizeof path, "/api/v1/namespaces/%s/serviceaccounts", ens);
	json_t *obj = json_pack("{s:s, s:s, s:{s:s, s:s}}", "apiVersion", "v1", "kind",
				"ServiceAccount", "metadata", "name", "default", "namespace", ns);
	int rv = kube_create(c->ctl->client, path, obj, NULL, err, sizeof err);
	json_decref(obj);
	if (rv == MK_ECONFLICT)
		return MK_OK; /* there already: the cache lags */
	if (rv != MK_OK)
		mk_debug(CTRL_LOG, "namespace %s: default ServiceAccount not created: %s", ns, err);
	/* A namespace being deleted refuses it (403/409): not worth retrying. */
	return rv == MK_EINVAL ? MK_OK : rv;
}

static struct ctrl_loop *create(struct controllers *ctl, char *errmsg, size_t len)
{
	struct serviceaccount_controller *c = calloc(1, sizeof *c);

	if (c == NULL) {
		snprintf(errmsg, len, "out of memory");
		return NULL;
	}
	c->ctl = ctl;
	if (ctrl_loop_init(&c->loop, ctl, "service-account-controller", sync_namespace, c, errmsg,
			   len) != MK_OK ||
	    ctrl_watch(ctl, INF_NAMESPACES, on_namespace, c) != MK_OK ||
	    ctrl_watch(ctl, INF_SERVICEACCOUNTS, on_account, c) != MK_OK) {
		ctrl_loop_free(&c->loop);
		free(c);
		return NULL;
	}
	c->loop.n_threads = 1;
	return &c->loop;
}

static void destroy(struct ctrl_loop *loop)
{
	free(loop->self);
}

const struct controller_def serviceaccount_controller = {"serviceaccount", create, destroy};
