/*
 * Which lists of the built-in kinds a strategic merge patch merges instead
 * of replacing (patch_field_lookup() in patch.h).
 *
 * The rows are the patchStrategy/patchMergeKey struct tags of k8s.io/api
 * v0.32 that kubectl and client libraries rely on
 * (reference/kubectl-api.md §9).  A pod spec sits at a different place in
 * each kind that carries one, so its rows are written once, relative to
 * the pod spec, and pod_specs says where each kind keeps it.
 */
#include <string.h>

#include "patch_internal.h"

#define MERGE PATCH_FIELD_MERGE
#define RETAIN PATCH_FIELD_RETAIN_KEYS

/* Pseudo-kinds in rules[].kind. */
#define ANY "*"            /* every kind of a built-in group */
#define POD_SPEC "PodSpec" /* path relative to a pod spec */

struct rule {
	const char *group; /* NULL for ANY and POD_SPEC */
	const char *kind;
	const char *path;
	const char *merge_key; /* NULL: a set of scalars, or a map */
	unsigned flags;
};

static const struct rule rules[] = {
	/* group  kind              path                       merge key       flags */
	{NULL, ANY, "metadata.ownerReferences", "uid", MERGE},
	{NULL, ANY, "metadata.finalizers", NULL, MERGE},
	{NULL, ANY, "status.conditions", "type", MERGE},
	{"", "Pod", "status.podIPs", "ip", MERGE},
	{"", "Pod", "status.hostIPs", "ip", MERGE},
	{"", "Service", "spec.ports", "port", MERGE},
	{"", "ServiceAccount", "secrets", "name", MERGE},
	{"", "Node", "spec.podCIDRs", NULL, MERGE},
	{"", "Node", "status.addresses", "type", MERGE},
	{"apps", "Deployment", "spec.strategy", NULL, RETAIN},

	{NULL, POD_SPEC, "containers", "name", MERGE},
	{NULL, POD_SPEC, "containers[].ports", "containerPort", MERGE},
	{NULL, POD_SPEC, "containers[].env", "name", MERGE},
	{NULL, POD_SPEC, "containers[].volumeMounts", "mountPath", MERGE},
	{NULL, POD_SPEC, "containers[].volumeDevices", "devicePath", MERGE},
	{NULL, POD_SPEC, "initContainers", "name", MERGE},
	{NULL, POD_SPEC, "initContainers[].ports", "containerPort", MERGE},
	{NULL, POD_SPEC, "initContainers[].env", "name", MERGE},
	{NULL, POD_SPEC, "initContainers[].volumeMounts", "mountPath", MERGE},
	{NULL, POD_SPEC, "initContainers[].volumeDevices", "devicePath", MERGE},
	{NULL, POD_SPEC, "ephemeralContainers", "name", MERGE},
	{NULL, POD_SPEC, "ephemeralContainers[].ports", "containerPort", MERGE},
	{NULL, POD_SPEC, "ephemeralContainers[].env", "name", MERGE},
	{NULL, POD_SPEC, "ephemeralContainers[].volumeMounts", "mountPath", MERGE},
	{NULL, POD_SPEC, "ephemeralContainers[].volumeDevices", "devicePath", MERGE},
	{NULL, POD_SPEC, "volumes", "name", MERGE | RETAIN},
	{NULL, POD_SPEC, "imagePullSecrets", "name", MERGE},
	{NULL, POD_SPEC, "hostAliases", "ip", MERGE},
	{NULL, POD_SPEC, "topologySpreadConstraints", "topologyKey", MERGE},
	{NULL, POD_SPEC, "schedulingGates", "name", MERGE},
	{NULL, POD_SPEC, "resourceClaims", "name", MERGE},
};

static const struct {
	const char *group, *kind, *at;
} pod_specs[] = {
	{"", "Pod", "spec"},
	{"", "PodTemplate", "template.spec"},
	{"", "ReplicationController", "spec.template.spec"},
	{"apps", "Deployment", "spec.template.spec"},
	{"apps", "ReplicaSet", "spec.template.spec"},
	{"apps", "DaemonSet", "spec.template.spec"},
	{"apps", "StatefulSet", "spec.template.spec"},
	{"batch", "Job", "spec.template.spec"},
	{"batch", "CronJob", "spec.jobTemplate.spec.template.spec"},
};

/* Groups served by kube-apiserver itself; anything else is a custom
 * resource, whose lists a strategic merge patch replaces. */
static const char *const builtin_groups[] = {
	"",
	"admissionregistration.k8s.io",
	"apiextensions.k8s.io",
	"apiregistration.k8s.io",
	"apps",
	"authentication.k8s.io",
	"authorization.k8s.io",
	"autoscaling",
	"batch",
	"certificates.k8s.io",
	"coordination.k8s.io",
	"discovery.k8s.io",
	"events.k8s.io",
	"flowcontrol.apiserver.k8s.io",
	"internal.apiserver.k8s.io",
	"networking.k8s.io",
	"node.k8s.io",
	"policy",
	"rbac.authorization.k8s.io",
	"resource.k8s.io",
	"scheduling.k8s.io",
	"storage.k8s.io",
	"storagemigration.k8s.io",
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

bool patch_group_is_builtin(const char *group)
{
	if (!group)
		group = "";
	for (size_t i = 0; i < COUNT(builtin_groups); i++)
		if (strcmp(group, builtin_groups[i]) == 0)
			return true;
	return false;
}

bool patch_field_lookup(const char *group, const char *kind, const char *path,
			struct patch_field *out)
{
	if (!group)
		group = "";
	if (!kind || !path || !patch_group_is_builtin(group))
		return false;

	/* The path relative to this kind's pod spec, if it is inside it. */
	const char *in_pod = NULL;
	for (size_t i = 0; i < COUNT(pod_specs); i++) {
		size_t n = strlen(pod_specs[i].at);
		if (strcmp(pod_specs[i].group, group) == 0 &&
		    strcmp(pod_specs[i].kind, kind) == 0 && strncmp(path, pod_specs[i].at, n) == 0 &&
		    path[n] == '.') {
			in_pod = path + n + 1;
			break;
		}
	}

	for (size_t i = 0; i < COUNT(rules); i++) {
		const struct rule *r = &rules[i];
		bool hit;
		if (strcmp(r->kind, POD_SPEC) == 0)
			hit = in_pod && strcmp(in_pod, r->path) == 0;
		else if (strcmp(r->kind, ANY) == 0)
			hit = strcmp(path, r->path) == 0;
		else
			hit = strcmp(r->group, group) == 0 && strcmp(r->kind, kind) == 0 &&
			      strcmp(path, r->path) == 0;
		if (hit) {
			out->merge_key = r->merge_key;
			out->flags = r->flags;
			return true;
		}
	}
	return false;
}
