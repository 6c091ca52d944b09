/*
 * Events about a pod, as kubelet records them (source component
 * "kubelet", the node as host), so `kubectl describe pod` and
 * `kubectl get events` tell the story.  A repeat of the same reason and
 * message bumps the existing Event's count instead of making a new one,
 * the way client-go's event correlator aggregates.
 *
 * Events are best effort: a failure to record one is logged and never
 * stops the pod's work.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../base/err.h"
#include "../base/log.h"
#include "../kube/client.h"
#include "node_internal.h"

void pod_event(struct pod_worker *w, const char *type, const char *reason, const char *fieldpath,
	       const char *fmt, ...)
{
	char msg[1024], key[1400], now[40], path[1024], ns[300], err[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	node_rfc3339(now, sizeof now);
	kube_escape(w->ns, ns, sizeof ns);
	snprintf(key, sizeof key, "%s\n%s\n%s", reason, fieldpath ? fieldpath : "", msg);
	json_t *seen = jo(w->events_seen, key);
	if (seen != NULL) {
		json_int_t count = json_integer_value(jo(seen, "count")) + 1;
		json_object_set_new(seen, "count", json_integer(count));
		snprintf(path, sizeof path, "/api/v1/namespaces/%s/events/%s", ns, js(seen, "name"));
		json_t *patch = json_pack("{s:I, s:s}", "count", count, "lastTimestamp", now);
		if (kube_merge_patch(w->agent->client, path, patch, NULL, err, sizeof err) == MK_OK) {
			json_decref(patch);
			return;
		}
		json_decref(patch);
		/* Gone (events expire): record it anew. */
		json_object_del(w->events_seen, key);
	}
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	char name[400];
	snprintf(name, sizeof name, "%s.%llx", w->name,
		 (unsigned long long)ts.tv_sec * 1000000000ULL + (unsigned long long)ts.tv_nsec);
	json_t *ref = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "apiVersion", "v1", "kind", "Pod",
				"namespace", w->ns, "name", w->name, "uid", w->uid,
				"resourceVersion", js(jo(w->cur ? w->cur : w->pod, "metadata"),
						      "resourceVersion") ?: "");
	if (fieldpath != NULL)
		json_object_set_new(ref, "fieldPath", json_string(fieldpath));
	json_t *ev = json_pack("{s:s, s:s, s:{s:s, s:s}, s:o, s:s, s:s, s:s, s:{s:s, s:s}, "
			       "s:s, s:s, s:i, s:s, s:s}",
			       "apiVersion", "v1", "kind", "Event", "metadata", "name", name,
			       "namespace", w->ns, "involvedObject", ref, "reason", reason,
			       "message", msg, "type", type, "source", "component", "kubelet", "host",
			       w->agent->cfg.node_name, "firstTimestamp", now, "lastTimestamp", now,
			       "count", 1, "reportingComponent", "kubelet", "reportingInstance",
			       w->agent->cfg.node_name);
	snprintf(path, sizeof path, "/api/v1/namespaces/%s/events", ns);
	if (ev != NULL && kube_create(w->agent->client, path, ev, NULL, err, sizeof err) == MK_OK)
		json_object_set_new(w->events_seen, key, json_pack("{s:s, s:i}", "name", name,
								    "count", 1));
	else
		mk_debug(NODE_LOG, "pod %s/%s: event %s not recorded: %s", w->ns, w->name, reason,
			 err);
	json_decref(ev);
}
