/*
 * Events about a pod, as kubelet records them (source component
 * "kubelet", the node as host), so `kubectl describe pod` and
 * `kubectl get events` tell the story.  Recording, aggregation and the
 * queue are core/kube/events.h's; this file names the pod.
 */
#include <stdarg.h>
#include <stdio.h>

#include "../base/err.h"
#include "../kube/events.h"
#include "node_internal.h"

int event_recorder_start(struct node_agent *a, char *errmsg, size_t len)
{
	return kube_events_start(a->client, "kubelet", a->cfg.node_name, &a->events, errmsg, len);
}

void event_recorder_stop(struct node_agent *a)
{
	kube_events_stop(a->events);
	a->events = NULL;
}

void pod_event(struct pod_worker *w, const char *type, const char *reason, const char *fieldpath,
	       const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (w->agent->events == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	/* The pod as the Event names it: the version this worker acts on. */
	json_t *meta = json_pack("{s:s, s:s, s:s}", "name", w->name, "namespace", w->ns, "uid",
				 w->uid);
	const char *rv = js(jo(w->cur ? w->cur : w->pod, "metadata"), "resourceVersion");
	if (meta != NULL && rv != NULL)
		json_object_set_new(meta, "resourceVersion", json_string(rv));
	json_t *ref = json_pack("{s:s, s:s, s:o}", "apiVersion", "v1", "kind", "Pod", "metadata",
				meta);
	if (ref != NULL)
		kube_event(w->agent->events, ref, type, reason, fieldpath, "%s", msg);
	json_decref(ref);
}
