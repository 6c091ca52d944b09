/*
 * The resource table: every kind the API serves, built in or defined by a
 * CustomResourceDefinition.  Discovery, OpenAPI, routing and the handlers
 * all read it, so a resource is described exactly once.
 *
 * Built-in resources are static.  Custom resources come from CRDs in the
 * store: the registry keeps a snapshot that a watch on CRDs refreshes;
 * lookups return a reference-counted snapshot so handlers on worker
 * threads never see it change under them.
 */
#ifndef MK_API_RESOURCE_H
#define MK_API_RESOURCE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

enum {
	RES_SUB_STATUS = 1 << 0, /* <name>/status: status kept apart from spec */
	RES_SUB_SCALE = 1 << 1,  /* <name>/scale: autoscaling/v1 Scale */
	RES_SUB_FINALIZE = 1 << 2,
};

enum {
	RES_GENERATION = 1 << 0, /* metadata.generation bumps on spec changes */
	RES_NO_STATUS_SPLIT = 1 << 1,
};

struct api_resource {
	const char *group;    /* "" for the core group */
	const char *version;
	const char *plural;
	const char *singular;
	const char *kind;
	bool namespaced;
	const char *short_names[3];
	bool in_all;          /* category "all" */
	unsigned subresources;
	unsigned flags;
	/* Custom resources: the CRD version's additionalPrinterColumns (may be
	 * NULL) and whether the version is served/stored. */
	json_t *printer_columns;
	json_t *crd_schema;   /* openAPIV3Schema of this version, or NULL */
	bool custom;
};

/* The store key's group segment: "core" for the core group. */
const char *resource_store_group(const struct api_resource *r);
/* "apps/v1" or "v1". */
void resource_group_version(const struct api_resource *r, char *out, size_t len);

struct resource_set; /* immutable snapshot */

const struct api_resource *resource_set_find(const struct resource_set *s, const char *group,
					     const char *version, const char *plural);
/* By kind (for discovery of owners, CRD names): first match. */
const struct api_resource *resource_set_find_kind(const struct resource_set *s,
						  const char *group, const char *kind);
size_t resource_set_count(const struct resource_set *s);
const struct api_resource *resource_set_at(const struct resource_set *s, size_t i);

struct resource_registry;

int resource_registry_new(struct resource_registry **out);
void resource_registry_free(struct resource_registry *r);
/* Current snapshot, with a reference the caller drops with
 * resource_set_release().  Thread-safe. */
struct resource_set *resource_registry_get(struct resource_registry *r);
void resource_set_release(struct resource_set *s);
/* Replaces the custom resources with those of `crds` (an array of
 * CustomResourceDefinition objects; established or not).  Thread-safe. */
int resource_registry_set_crds(struct resource_registry *r, const json_t *crds);

#endif
