/*
 * A Deployment's status (deployment.h): the counts kubectl shows and the
 * two conditions `kubectl rollout status` decides by, with upstream's
 * reasons and messages.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/err.h"
#include "../kube/events.h"
#include "deployment.h"

struct counts {
	int64_t replicas, updated, ready, available, desired_total;
};

static struct counts count(const struct rollout *r)
{
	struct counts n = {0};
	size_t i;
	json_t *rs;

	json_array_foreach(r->sets, i, rs) {
		n.replicas += rs_status(rs, "replicas");
		n.ready += rs_status(rs, "readyReplicas");
		n.available += rs_status(rs, "availableReplicas");
		n.desired_total += rs_replicas(rs);
	}
	if (r->new_rs != NULL)
		n.updated = rs_status(r->new_rs, "replicas");
	return n;
}

bool rollout_complete(const struct rollout *r)
{
	struct counts n = count(r);

	return r->new_rs != NULL && n.updated == r->replicas && n.replicas == r->replicas &&
	       n.available == r->replicas &&
	       rs_status(r->new_rs, "observedGeneration") >=
		       json_integer_value(json_object_get(json_object_get(r->new_rs, "metadata"),
							  "generation"));
}

static json_t *find_condition(const json_t *status, const char *type)
{
	size_t i;
	json_t *c;

	json_array_foreach(json_object_get(status, "conditions"), i, c)
		if (ctrl_str(c, "type") && strcmp(ctrl_str(c, "type"), type) == 0)
			return c;
	return NULL;
}

/* The condition as it should now be: transition time kept while the status
 * does not change, update time kept unless touch. */
static json_t *condition(const json_t *old_status, const char *type, const char *status,
			 const char *reason, const char *message, bool touch, const char *now)
{
	json_t *old = find_condition(old_status, type);
	const char *transition = now, *update = now;

	if (old != NULL && ctrl_str(old, "status") && strcmp(ctrl_str(old, "status"), status) == 0) {
		transition = ctrl_str(old, "lastTransitionTime") ?: now;
		bool same = ctrl_str(old, "reason") && strcmp(ctrl_str(old, "reason"), reason) == 0 &&
			    ctrl_str(old, "message") && strcmp(ctrl_str(old, "message"), message) == 0;
		if (same && !touch)
			update = ctrl_str(old, "lastUpdateTime") ?: now;
	}
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "type", type, "status", status,
			 "lastUpdateTime", update, "lastTransitionTime", transition, "reason",
			 reason, "message", message);
}

/* Did anything move forward since the status was last written? */
static bool progressed(const json_t *old, const struct counts *n)
{
	return n->updated > json_integer_value(json_object_get(old, "updatedReplicas")) ||
	       n->available > json_integer_value(json_object_get(old, "availableReplicas")) ||
	       n->ready > json_integer_value(json_object_get(old, "readyReplicas")) ||
	       n->replicas < json_integer_value(json_object_get(old, "replicas"));
}

int64_t rollout_update_status(struct rollout *r)
{
	json_t *old = json_object_get(r->d, "status");
	json_t *spec = json_object_get(r->d, "spec");
	struct counts n = count(r);
	char now[40], msg[512];
	int64_t requeue_ms = 0;
	const char *rs_name = r->new_rs ? ctrl_meta(r->new_rs, "name") : NULL;

	ctrl_now(now, sizeof now);
	int64_t unavailable = n.desired_total - n.available;
	json_t *status = json_pack(
		"{s:I, s:I, s:I, s:I, s:I, s:I}", "observedGeneration",
		json_integer_value(json_object_get(json_object_get(r->d, "metadata"), "generation")),
		"replicas", (json_int_t)n.replicas, "updatedReplicas", (json_int_t)n.updated,
		"readyReplicas", (json_int_t)n.ready, "availableReplicas", (json_int_t)n.available,
		"unavailableReplicas", (json_int_t)(unavailable > 0 ? unavailable : 0));
	if (status == NULL)
		return 0;
	json_t *conds = json_array();
	bool available = n.available >= r->replicas - r->max_unavailable;
	json_array_append_new(
		conds, condition(old, "Available", available ? "True" : "False",
				 available ? "MinimumReplicasAvailable" : "MinimumReplicasUnavailable",
				 available ? "Deployment has minimum availability."
					   : "Deployment does not have minimum availability.",
				 false, now));

	json_t *deadline_j = json_object_get(spec, "progressDeadlineSeconds");
	json_t *prog_old = find_condition(old, "Progressing");
	json_t *prog = NULL;
	bool paused = json_is_true(json_object_get(spec, "paused"));
	if (rollout_complete(r)) {
		snprintf(msg, sizeof msg, "ReplicaSet \"%s\" has successfully progressed.", rs_name);
		prog = condition(old, "Progressing", "True", "NewReplicaSetAvailable", msg, false,
				 now);
	} else if (paused) {
		prog = condition(old, "Progressing", "Unknown", "DeploymentPaused",
				 "Deployment is paused", false, now);
	} else if (r->new_rs_created && rs_name != NULL) {
		snprintf(msg, sizeof msg, "Created new replica set \"%s\"", rs_name);
		prog = condition(old, "Progressing", "True", "NewReplicaSetCreated", msg, true, now);
	} else if (rs_name != NULL && (progressed(old, &n) || prog_old == NULL ||
				       strcmp(ctrl_str(prog_old, "reason") ?: "",
					      "DeploymentPaused") == 0)) {
		snprintf(msg, sizeof msg, "ReplicaSet \"%s\" is progressing.", rs_name);
		prog = condition(old, "Progressing", "True", "ReplicaSetUpdated", msg, true, now);
	} else if (prog_old != NULL && json_is_integer(deadline_j) && rs_name != NULL) {
		int64_t last = ctrl_parse_time(ctrl_str(prog_old, "lastUpdateTime"));
		int64_t due = last + json_integer_value(deadline_j) * 1000;
		if (last > 0 && ctrl_now_ms() > due) {
			snprintf(msg, sizeof msg, "ReplicaSet \"%s\" has timed out progressing.",
				 rs_name);
			if (strcmp(ctrl_str(prog_old, "reason") ?: "", "ProgressDeadlineExceeded"))
				kube_event(r->c->loop.events, r->d, "Warning",
					   "ProgressDeadlineExceeded", NULL, "%s", msg);
			prog = condition(old, "Progressing", "False", "ProgressDeadlineExceeded",
					 msg, false, now);
		} else {
			prog = json_deep_copy(prog_old);
			requeue_ms = due - ctrl_now_ms() + 1000;
		}
	} else if (prog_old != NULL) {
		prog = json_deep_copy(prog_old);
	}
	/* A rollout still moving is looked at again when its deadline passes
	 * (nothing else would wake the controller then). */
	if (prog != NULL && requeue_ms == 0 && !rollout_complete(r) && !paused &&
	    json_is_integer(deadline_j) &&
	    strcmp(ctrl_str(prog, "reason") ?: "", "ProgressDeadlineExceeded"))
		requeue_ms = json_integer_value(deadline_j) * 1000 + 1000;
	if (prog != NULL)
		json_array_append_new(conds, prog);
	json_object_set_new(status, "conditions", conds);
	ctrl_patch_status(r->c->ctl->client, "/apis/apps/v1", "deployments", r->d, status);
	return requeue_ms;
}
