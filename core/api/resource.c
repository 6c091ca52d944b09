/*
 * The built-in resources and the registry of custom ones.
 */
#include "resource.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/err.h"

#define STD_SUBS (RES_SUB_STATUS)

/* The kinds of the 1.32 API that mk serves (issue #3).  Short names and
 * categories are those of the real API server: kubectl needs them for
 * `get po` and `get all` (reference/kubectl-api.md §1). */
static const struct api_resource builtin[] = {
	{"", "v1", "namespaces", "namespace", "Namespace", false, {"ns"}, false,
	 RES_SUB_STATUS | RES_SUB_FINALIZE, 0, NULL, NULL, false},
	{"", "v1", "nodes", "node", "Node", false, {"no"}, false, STD_SUBS, 0, NULL, NULL, false},
	{"", "v1", "pods", "pod", "Pod", true, {"po"}, true, STD_SUBS, 0, NULL, NULL, false},
	{"", "v1", "services", "service", "Service", true, {"svc"}, true, STD_SUBS, 0, NULL, NULL,
	 false},
	{"", "v1", "endpoints", "endpoints", "Endpoints", true, {"ep"}, false, 0, 0, NULL, NULL,
	 false},
	{"", "v1", "configmaps", "configmap", "ConfigMap", true, {"cm"}, false, 0, 0, NULL, NULL,
	 false},
	{"", "v1", "secrets", "secret", "Secret", true, {NULL}, false, 0, 0, NULL, NULL, false},
	{"", "v1", "serviceaccounts", "serviceaccount", "ServiceAccount", true, {"sa"}, false, 0, 0,
	 NULL, NULL, false},
	{"", "v1", "events", "event", "Event", true, {"ev"}, false, 0, 0, NULL, NULL, false},
	{"", "v1", "persistentvolumes", "persistentvolume", "PersistentVolume", false, {"pv"},
	 false, STD_SUBS, 0, NULL, NULL, false},
	{"", "v1", "persistentvolumeclaims", "persistentvolumeclaim", "PersistentVolumeClaim", true,
	 {"pvc"}, false, STD_SUBS, 0, NULL, NULL, false},
	{"apps", "v1", "deployments", "deployment", "Deployment", true, {"deploy"}, true,
	 STD_SUBS | RES_SUB_SCALE, RES_GENERATION, NULL, NULL, false},
	{"apps", "v1", "replicasets", "replicaset", "ReplicaSet", true, {"rs"}, true,
	 STD_SUBS | RES_SUB_SCALE, RES_GENERATION, NULL, NULL, false},
	{"apps", "v1", "daemonsets", "daemonset", "DaemonSet", true, {"ds"}, true, STD_SUBS,
	 RES_GENERATION, NULL, NULL, false},
	{"apps", "v1", "statefulsets", "statefulset", "StatefulSet", true, {"sts"}, true,
	 STD_SUBS | RES_SUB_SCALE, RES_GENERATION, NULL, NULL, false},
	{"apps", "v1", "controllerrevisions", "controllerrevision", "ControllerRevision", true,
	 {NULL}, false, 0, 0, NULL, NULL, false},
	{"batch", "v1", "jobs", "job", "Job", true, {NULL}, true, STD_SUBS, RES_GENERATION, NULL,
	 NULL, false},
	{"batch", "v1", "cronjobs", "cronjob", "CronJob", true, {"cj"}, true, STD_SUBS,
	 RES_GENERATION, NULL, NULL, false},
	{"discovery.k8s.io", "v1", "endpointslices", "endpointslice", "EndpointSlice", true,
	 {NULL}, false, 0, 0, NULL, NULL, false},
	{"policy", "v1", "poddisruptionbudgets", "poddisruptionbudget", "PodDisruptionBudget",
	 true, {"pdb"}, false, STD_SUBS, RES_GENERATION, NULL, NULL, false},
	{"coordination.k8s.io", "v1", "leases", "lease", "Lease", true, {NULL}, false, 0, 0, NULL,
	 NULL, false},
	{"storage.k8s.io", "v1", "storageclasses", "storageclass", "StorageClass", false, {"sc"},
	 false, 0, 0, NULL, NULL, false},
	{"rbac.authorization.k8s.io", "v1", "roles", "role", "Role", true, {NULL}, false, 0, 0,
	 NULL, NULL, false},
	{"rbac.authorization.k8s.io", "v1", "rolebindings", "rolebinding", "RoleBinding", true,
	 {NULL}, false, 0, 0, NULL, NULL, false},
	{"rbac.authorization.k8s.io", "v1", "clusterroles", "clusterrole", "ClusterRole", false,
	 {NULL}, false, 0, 0, NULL, NULL, false},
	{"rbac.authorization.k8s.io", "v1", "clusterrolebindings", "clusterrolebinding",
	 "ClusterRoleBinding", false, {NULL}, false, 0, 0, NULL, NULL, false},
	{"apiextensions.k8s.io", "v1", "customresourcedefinitions", "customresourcedefinition",
	 "CustomResourceDefinition", false, {"crd", "crds"}, false, STD_SUBS, RES_GENERATION,
	 NULL, NULL, false},
};
#define N_BUILTIN (sizeof builtin / sizeof builtin[0])

struct resource_set {
	atomic_int refs;
	struct api_resource *custom; /* owned strings, see free_set */
	size_t n_custom;
	json_t *crds; /* keeps the strings the custom entries point into */
};

struct resource_registry {
	pthread_mutex_t lock;
	struct resource_set *current;
};

const char *resource_store_group(const struct api_resource *r)
{
	return r->group[0] ? r->group : "core";
}

void resource_group_version(const struct api_resource *r, char *out, size_t len)
{
	if (r->group[0])
		snprintf(out, len, "%s/%s", r->group, r->version);
	else
		snprintf(out, len, "%s", r->version);
}

size_t resource_set_count(const struct resource_set *s)
{
	return N_BUILTIN + s->n_custom;
}

const struct api_resource *resource_set_at(const struct resource_set *s, size_t i)
{
	if (i < N_BUILTIN)
		return &builtin[i];
	i -= N_BUILTIN;
	return i < s->n_custom ? &s->custom[i] : NULL;
}

const struct api_resource *resource_set_find(const struct resource_set *s, const char *group,
					     const char *version, const char *plural)
{
	size_t n = resource_set_count(s);
	for (size_t i = 0; i < n; i++) {
		const struct api_resource *r = resource_set_at(s, i);
		if (strcmp(r->plural, plural) == 0 && strcmp(r->group, group) == 0 &&
		    strcmp(r->version, version) == 0)
			return r;
	}
	return NULL;
}

const struct api_resource *resource_set_find_kind(const struct resource_set *s,
						  const char *group, const char *kind)
{
	size_t n = resource_set_count(s);
	for (size_t i = 0; i < n; i++) {
		const struct api_resource *r = resource_set_at(s, i);
		if (strcmp(r->kind, kind) == 0 && strcmp(r->group, group) == 0)
			return r;
	}
	return NULL;
}

static void free_set(struct resource_set *s)
{
	free(s->custom);
	json_decref(s->crds);
	free(s);
}

void resource_set_release(struct resource_set *s)
{
	if (s != NULL && atomic_fetch_sub(&s->refs, 1) == 1)
		free_set(s);
}

int resource_registry_new(struct resource_registry **out)
{
	struct resource_registry *r = calloc(1, sizeof *r);
	if (r == NULL)
		return MK_ENOMEM;
	r->current = calloc(1, sizeof *r->current);
	if (r->current == NULL) {
		free(r);
		return MK_ENOMEM;
	}
	atomic_init(&r->current->refs, 1);
	pthread_mutex_init(&r->lock, NULL);
	*out = r;
	return MK_OK;
}

void resource_registry_free(struct resource_registry *r)
{
	if (r == NULL)
		return;
	resource_set_release(r->current);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

struct resource_set *resource_registry_get(struct resource_registry *r)
{
	pthread_mutex_lock(&r->lock);
	struct resource_set *s = r->current;
	atomic_fetch_add(&s->refs, 1);
	pthread_mutex_unlock(&r->lock);
	return s;
}

static const char *str_at(const json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));
	return s != NULL && s[0] != '\0' ? s : NULL;
}

/* One entry per served version of one CRD.  Entries point into `crd`,
 * which the set keeps alive. */
static int add_crd(struct resource_set *s, size_t *cap, const json_t *crd)
{
	const json_t *spec = json_object_get(crd, "spec");
	const json_t *names = json_object_get(spec, "names");
	const char *group = str_at(spec, "group");
	const char *plural = str_at(names, "plural");
	const char *kind = str_at(names, "kind");
	if (group == NULL || plural == NULL || kind == NULL)
		return MK_OK; /* validation keeps these out; be safe anyway */
	/* A CRD being deleted stops serving at once. */
	if (json_object_get(json_object_get(crd, "metadata"), "deletionTimestamp") != NULL)
		return MK_OK;
	const char *singular = str_at(names, "singular");
	bool namespaced = strcmp(json_string_value(json_object_get(spec, "scope")) ?: "",
				 "Namespaced") == 0;
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(spec, "versions"), i, v) {
		if (!json_is_true(json_object_get(v, "served")) || str_at(v, "name") == NULL)
			continue;
		if (s->n_custom == *cap) {
			size_t ncap = *cap ? *cap * 2 : 8;
			struct api_resource *g = realloc(s->custom, ncap * sizeof *g);
			if (g == NULL)
				return MK_ENOMEM;
			s->custom = g;
			*cap = ncap;
		}
		struct api_resource *r = &s->custom[s->n_custom++];
		memset(r, 0, sizeof *r);
		r->group = group;
		r->version = str_at(v, "name");
		r->plural = plural;
		r->singular = singular ? singular : "";
		r->kind = kind;
		r->namespaced = namespaced;
		const json_t *shorts = json_object_get(names, "shortNames");
		for (size_t k = 0; k < 3 && k < json_array_size(shorts); k++)
			r->short_names[k] = json_string_value(json_array_get(shorts, k));
		size_t ci;
		json_t *cat;
		json_array_foreach(json_object_get(names, "categories"), ci, cat)
			if (strcmp(json_string_value(cat) ?: "", "all") == 0)
				r->in_all = true;
		const json_t *subs = json_object_get(v, "subresources");
		if (json_object_get(subs, "status") != NULL)
			r->subresources |= RES_SUB_STATUS;
		r->flags = RES_GENERATION;
		r->printer_columns = json_object_get(v, "additionalPrinterColumns");
		r->crd_schema = json_object_get(json_object_get(v, "schema"), "openAPIV3Schema");
		r->custom = true;
	}
	return MK_OK;
}

int resource_registry_set_crds(struct resource_registry *reg, const json_t *crds)
{
	struct resource_set *s = calloc(1, sizeof *s);
	if (s == NULL)
		return MK_ENOMEM;
	atomic_init(&s->refs, 1);
	s->crds = json_deep_copy(crds);
	if (s->crds == NULL) {
		free(s);
		return MK_ENOMEM;
	}
	size_t cap = 0, i;
	json_t *crd;
	json_array_foreach(s->crds, i, crd) {
		if (add_crd(s, &cap, crd) != MK_OK) {
			free_set(s);
			return MK_ENOMEM;
		}
	}
	pthread_mutex_lock(&reg->lock);
	struct resource_set *old = reg->current;
	reg->current = s;
	pthread_mutex_unlock(&reg->lock);
	resource_set_release(old);
	return MK_OK;
}
