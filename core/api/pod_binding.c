/*
 * POST pods/NAME/binding: assigns a pod to a node, as the scheduler (and,
 * until mk has one, the node agent of a single-node cluster) does.
 *
 * Like kube-apiserver's BindingREST: the pod must exist, must not have a
 * node yet and must not be being deleted (409 otherwise), the Binding's
 * metadata.uid, when given, must be the pod's; spec.nodeName is set and
 * the PodScheduled condition turns True in one compare-and-swap write, so
 * two binders racing cannot both win.  The answer is a Success Status.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../base/err.h"
#include "../store/store.h"
#include "api_internal.h"
#include "object.h"

#define MAX_RETRIES 5

static void set_scheduled(json_t *pod)
{
	char now[32];
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(now, sizeof now, "%Y-%m-%dT%H:%M:%SZ", &tm);
	json_t *status = json_object_get(pod, "status");
	if (!json_is_object(status)) {
		status = json_object();
		json_object_set_new(pod, "status", status);
	}
	json_t *conds = json_object_get(status, "conditions");
	if (!json_is_array(conds)) {
		conds = json_array();
		json_object_set_new(status, "conditions", conds);
	}
	size_t i;
	json_t *c;
	json_array_foreach(conds, i, c) {
		const char *type = json_string_value(json_object_get(c, "type"));
		if (type != NULL && strcmp(type, "PodScheduled") == 0) {
			json_array_remove(conds, i);
			break;
		}
	}
	json_array_append_new(conds, json_pack("{s:s, s:s, s:n, s:s}", "type", "PodScheduled",
					       "status", "True", "lastProbeTime",
					       "lastTransitionTime", now));
}

void api_do_bind(struct api_call *c)
{
	json_t *binding = NULL;

	if (api_parse_body(c, false, &binding) != MK_OK)
		return;
	json_t *target = json_object_get(binding, "target");
	const char *node = json_string_value(json_object_get(target, "name"));
	const char *kind = json_string_value(json_object_get(target, "kind"));
	const char *uid = json_string_value(
		json_object_get(json_object_get(binding, "metadata"), "uid"));
	if (!json_is_object(binding) || node == NULL || node[0] == '\0') {
		api_fail(c, 400, "BadRequest", "a Binding needs target.name, the node to bind to");
		goto out;
	}
	if (kind != NULL && kind[0] && strcmp(kind, "Node") != 0) {
		api_fail(c, 400, "BadRequest", "a pod can only be bound to a Node, not a %s", kind);
		goto out;
	}
	for (int attempt = 0; attempt < MAX_RETRIES; attempt++) {
		json_t *pod;
		int64_t rev;
		int rv = api_load(c, c->name, &pod, &rev);
		if (rv != MK_OK) {
			api_fail_store(c, rv);
			goto out;
		}
		json_t *meta = json_object_get(pod, "metadata");
		json_t *spec = json_object_get(pod, "spec");
		const char *have = json_string_value(json_object_get(spec, "nodeName"));
		const char *pod_uid = json_string_value(json_object_get(meta, "uid"));
		if (uid != NULL && uid[0] && (pod_uid == NULL || strcmp(uid, pod_uid) != 0)) {
			api_fail(c, 409, "Conflict", "Operation cannot be fulfilled on pods/binding "
				 "\"%s\": the UID in the precondition (%s) does not match the UID in "
				 "record (%s). The object might have been deleted and then recreated",
				 c->name, uid, pod_uid ? pod_uid : "");
			json_decref(pod);
			goto out;
		}
		if (json_object_get(meta, "deletionTimestamp") != NULL) {
			api_fail(c, 409, "Conflict", "Operation cannot be fulfilled on pods/binding "
				 "\"%s\": pod %s is being deleted, cannot be assigned to a host",
				 c->name, c->name);
			json_decref(pod);
			goto out;
		}
		if (have != NULL && have[0]) {
			api_fail(c, 409, "Conflict", "Operation cannot be fulfilled on pods/binding "
				 "\"%s\": pod %s is already assigned to node \"%s\"", c->name, c->name,
				 have);
			json_decref(pod);
			goto out;
		}
		json_object_set_new(spec, "nodeName", json_string(node));
		set_scheduled(pod);
		char key[STORE_MAX_KEY + 1];
		api_object_key(c, c->ns, c->name, key, sizeof key);
		size_t len;
		char *value = object_to_store(pod, &len);
		int64_t new_rev;
		rv = value ? store_update(c->store, key, value, len, 0, rev, &new_rev) : MK_ENOMEM;
		free(value);
		json_decref(pod);
		if (rv == MK_ECONFLICT)
			continue;
		if (rv != MK_OK) {
			api_fail_store(c, rv);
			goto out;
		}
		c->status = 201;
		c->body = json_pack("{s:s, s:s, s:{}, s:s, s:i}", "kind", "Status", "apiVersion",
				    "v1", "metadata", "status", "Success", "code", 201);
		goto out;
	}
	api_fail_store(c, MK_ECONFLICT);
out:
	json_decref(binding);
}
