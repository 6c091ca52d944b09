/*
 * Evictions by the node lifecycle controller (node_lifecycle.h): pods a
 * NoExecute taint no longer allows on their node, after the
 * tolerationSeconds they have; pods of nodes that are gone.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/err.h"
#include "../base/log.h"
#include "../kube/client.h"
#include "../kube/events.h"
#include "../kube/informer.h"
#include "../scheduler/node_match.h"
#include "node_lifecycle.h"

/* When pod must leave a node with these NoExecute taints: 0 now, -1
 * never, else the time in ms since the epoch. */
static int64_t eviction_time(const json_t *pod, const json_t *taints)
{
	const json_t *tols = json_object_get(json_object_get(pod, "spec"), "tolerations");
	int64_t when = -1;
	size_t i, j;
	json_t *taint, *tol;

	json_array_foreach(taints, i, taint) {
		if (strcmp(ctrl_str(taint, "effect") ?: "", "NoExecute") != 0)
			continue;
		if (!sched_tolerated(tols, taint))
			return 0;
		/* The shortest tolerationSeconds among the tolerations that
		 * match; one without it tolerates forever. */
		int64_t secs = -1;
		bool forever = false;
		json_array_foreach(tols, j, tol) {
			if (!sched_toleration_matches(tol, taint))
				continue;
			json_t *s = json_object_get(tol, "tolerationSeconds");
			if (!json_is_integer(s))
				forever = true;
			else if (secs < 0 || json_integer_value(s) < secs)
				secs = json_integer_value(s);
		}
		if (forever || secs < 0)
			continue;
		int64_t added = ctrl_parse_time(ctrl_str(taint, "timeAdded"));
		int64_t at = (added > 0 ? added : ctrl_now_ms()) + (secs > 0 ? secs : 0) * 1000;
		if (when < 0 || at < when)
			when = at;
	}
	return when;
}

/* Evicts what must go now; returns ms until the next eviction, or -1. */
int64_t node_evict(struct node_lifecycle *c, const json_t *node, const json_t *pods)
{
	const json_t *taints = json_object_get(json_object_get(node, "spec"), "taints");
	int64_t now = ctrl_now_ms(), next = -1;
	char err[512];
	size_t i;
	json_t *pod;

	json_array_foreach(pods, i, pod) {
		int64_t at = eviction_time(pod, taints);
		if (at < 0)
			continue;
		if (at > now) {
			if (next < 0 || at - now < next)
				next = at - now;
			continue;
		}
		kube_event(c->loop.events, pod, "Normal", "TaintManagerEviction", NULL,
			   "Marking for deletion Pod %s/%s", ctrl_meta(pod, "namespace"),
			   ctrl_meta(pod, "name"));
		if (pod_delete(c->ctl->client, ctrl_meta(pod, "namespace") ?: "",
			       ctrl_meta(pod, "name") ?: "", err, sizeof err) != MK_OK)
			mk_warn(CTRL_LOG, "cannot evict pod %s/%s: %s", ctrl_meta(pod, "namespace"),
				ctrl_meta(pod, "name"), err);
		else
			mk_info(CTRL_LOG, "evicted pod %s/%s from node %s (NoExecute taint)",
				ctrl_meta(pod, "namespace"), ctrl_meta(pod, "name"),
				ctrl_meta(node, "name"));
	}
	return next;
}

/* Pods bound to name (a new array): the active ones, or all of them (a
 * pod terminating on a node that is gone would wait forever). */
json_t *node_pods(struct node_lifecycle *c, const char *name, bool all_of_them)
{
	json_t *all = kube_informer_list(ctrl_informer(c->ctl, INF_PODS)), *out = json_array(), *pod;
	size_t i;

	json_array_foreach(all, i, pod)
		if (strcmp(ctrl_str(json_object_get(pod, "spec"), "nodeName") ?: "", name) == 0 &&
		    (all_of_them || pod_active(pod)))
			json_array_append(out, pod);
	json_decref(all);
	return out;
}

/* The node is gone: so are its pods (upstream's pod GC of orphans, after
 * asking the API, not only the cache, that the node is really gone). */
void node_collect_orphans(struct node_lifecycle *c, const char *name)
{
	char path[400], err[512], pns[300], pname[300], ppath[900];
	json_t *pods = node_pods(c, name, true), *pod;
	size_t i;

	node_path(name, path, sizeof path);
	if (json_array_size(pods) == 0 || kube_get(c->ctl->client, path, NULL, err, sizeof err) !=
						  MK_ENOTFOUND) {
		json_decref(pods);
		return;
	}
	json_t *body = json_pack("{s:s, s:s, s:i}", "kind", "DeleteOptions", "apiVersion", "v1",
				 "gracePeriodSeconds", 0);
	json_array_foreach(pods, i, pod) {
		kube_escape(ctrl_meta(pod, "namespace") ?: "", pns, sizeof pns);
		kube_escape(ctrl_meta(pod, "name") ?: "", pname, sizeof pname);
		snprintf(ppath, sizeof ppath, "/api/v1/namespaces/%s/pods/%s", pns, pname);
		if (kube_request(c->ctl->client, "DELETE", ppath, NULL, body, NULL, NULL, err,
				 sizeof err) == MK_OK)
			mk_info(CTRL_LOG, "deleted pod %s/%s: its node %s no longer exists",
				ctrl_meta(pod, "namespace"), ctrl_meta(pod, "name"), name);
	}
	json_decref(body);
	json_decref(pods);
}

