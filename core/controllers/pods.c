/*
 * What the workload controllers need to know about pods and how they make
 * and remove them (controllers_internal.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/err.h"
#include "../kube/client.h"
#include "controllers_internal.h"

static json_t *ready_condition(const json_t *pod)
{
	size_t i;
	json_t *cond;

	json_array_foreach(json_object_get(json_object_get(pod, "status"), "conditions"), i, cond)
		if (ctrl_str(cond, "type") && strcmp(ctrl_str(cond, "type"), "Ready") == 0)
			return cond;
	return NULL;
}

bool pod_active(const json_t *pod)
{
	const char *phase = ctrl_str(json_object_get(pod, "status"), "phase");

	return json_object_get(json_object_get(pod, "metadata"), "deletionTimestamp") == NULL &&
	       !(phase && (strcmp(phase, "Succeeded") == 0 || strcmp(phase, "Failed") == 0));
}

bool pod_ready(const json_t *pod)
{
	json_t *cond = ready_condition(pod);

	return cond != NULL && ctrl_str(cond, "status") && strcmp(ctrl_str(cond, "status"), "True") == 0;
}

bool pod_available(const json_t *pod, int64_t min_ready_s, int64_t now_ms)
{
	if (!pod_ready(pod))
		return false;
	if (min_ready_s <= 0)
		return true;
	int64_t since = ctrl_parse_time(ctrl_str(ready_condition(pod), "lastTransitionTime"));
	return since > 0 && now_ms - since >= min_ready_s * 1000;
}

static int deletion_rank(const json_t *pod)
{
	const char *node = ctrl_str(json_object_get(pod, "spec"), "nodeName");
	const char *phase = ctrl_str(json_object_get(pod, "status"), "phase");

	if (node == NULL || node[0] == '\0')
		return 0;
	if (phase == NULL || strcmp(phase, "Running") != 0)
		return 1;
	return pod_ready(pod) ? 3 : 2;
}

int pod_compare_for_deletion(const void *a, const void *b)
{
	const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	int rx = deletion_rank(x), ry = deletion_rank(y);

	if (rx != ry)
		return rx - ry;
	/* Newer first: creationTimestamps are RFC 3339, comparable as text. */
	const char *tx = ctrl_meta(x, "creationTimestamp");
	const char *ty = ctrl_meta(y, "creationTimestamp");
	return -strcmp(tx ? tx : "", ty ? ty : "");
}

json_t *pod_from_template(const json_t *owner, const char *api_version, const char *kind,
			  const json_t *template_, const char *name)
{
	const json_t *tmeta = json_object_get(template_, "metadata");
	const char *owner_name = ctrl_meta(owner, "name") ? ctrl_meta(owner, "name") : "";
	const char *uid = ctrl_meta(owner, "uid") ? ctrl_meta(owner, "uid") : "";
	char prefix[300];

	json_t *pm = json_pack("{s:s, s:[{s:s, s:s, s:s, s:s, s:b, s:b}]}", "namespace",
			       ctrl_meta(owner, "namespace") ? ctrl_meta(owner, "namespace") : "",
			       "ownerReferences", "apiVersion", api_version, "kind", kind, "name",
			       owner_name, "uid", uid, "controller", 1, "blockOwnerDeletion", 1);
	if (pm == NULL)
		return NULL;
	if (name != NULL) {
		json_object_set_new(pm, "name", json_string(name));
	} else {
		snprintf(prefix, sizeof prefix, "%.240s-", owner_name);
		json_object_set_new(pm, "generateName", json_string(prefix));
	}
	if (json_object_get(tmeta, "labels"))
		json_object_set_new(pm, "labels", json_deep_copy(json_object_get(tmeta, "labels")));
	if (json_object_get(tmeta, "annotations"))
		json_object_set_new(pm, "annotations",
				    json_deep_copy(json_object_get(tmeta, "annotations")));
	if (json_object_get(tmeta, "finalizers"))
		json_object_set_new(pm, "finalizers",
				    json_deep_copy(json_object_get(tmeta, "finalizers")));
	json_t *spec = json_deep_copy(json_object_get(template_, "spec"));
	return json_pack("{s:s, s:s, s:o, s:o}", "apiVersion", "v1", "kind", "Pod", "metadata", pm,
			 "spec", spec ? spec : json_object());
}

int pod_create(struct kube_client *client, const json_t *pod, char *name_out, size_t name_len,
	       char *errmsg, size_t len)
{
	char path[600], ns[300];
	const char *namespace_ = ctrl_meta(pod, "namespace");
	json_t *made = NULL;

	kube_escape(namespace_ ? namespace_ : "", ns, sizeof ns);
	snprintf(path, sizeof path, "/api/v1/namespaces/%s/pods", ns);
	int rv = kube_create(client, path, pod, name_out ? &made : NULL, errmsg, len);
	if (rv == MK_OK && name_out != NULL)
		snprintf(name_out, name_len, "%s", ctrl_meta(made, "name") ? ctrl_meta(made, "name") : "");
	json_decref(made);
	return rv;
}

int pod_delete(struct kube_client *client, const char *namespace_, const char *pod_name,
	       char *errmsg, size_t len)
{
	char path[900], ns[300], name[300];

	kube_escape(namespace_, ns, sizeof ns);
	kube_escape(pod_name, name, sizeof name);
	snprintf(path, sizeof path, "/api/v1/namespaces/%s/pods/%s", ns, name);
	int rv = kube_request(client, "DELETE", path, NULL, NULL, NULL, NULL, errmsg, len);
	return rv == MK_ENOTFOUND ? MK_OK : rv;
}
