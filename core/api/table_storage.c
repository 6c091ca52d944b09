/*
 * Tables of the storage kinds: PersistentVolume, PersistentVolumeClaim and
 * StorageClass, as kubernetes pkg/printers/internalversion (v1.32) prints
 * them.
 */
#include <stdio.h>
#include <string.h>

#include "../base/buf.h"
#include "table.h"
#include "table_internal.h"

#define NAME {"Name", NULL, "name", 0}
#define AGE {"Age", NULL, NULL, 0}
#define END {NULL, NULL, NULL, 0}

static bool has_mode(const json_t *modes, const char *mode)
{
	size_t i;
	json_t *m;
	json_array_foreach(modes, i, m)
		if (strcmp(json_string_value(m) ?: "", mode) == 0)
			return true;
	return false;
}

/* GetAccessModesAsString: a fixed order, unknown modes left out. */
static void access_modes(json_t *cells, const json_t *modes)
{
	static const char *const known[][2] = {{"ReadWriteOnce", "RWO"},
					       {"ReadOnlyMany", "ROX"},
					       {"ReadWriteMany", "RWX"},
					       {"ReadWriteOncePod", "RWOP"}};
	struct mk_buf b = MK_BUF_INIT;
	for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
		if (has_mode(modes, known[i][0]))
			tc_cat(&b, ",", known[i][1]);
	tc_buf_cell(cells, &b, "");
}

static bool deleting(const json_t *o)
{
	const json_t *d = tc_at(o, "metadata.deletionTimestamp");
	return d != NULL && !json_is_null(d);
}

/* The beta annotation still wins over the field, as upstream's helper. */
static const char *class_of(const json_t *o)
{
	const char *beta = json_string_value(json_object_get(
		tc_at(o, "metadata.annotations"), "volume.beta.kubernetes.io/storage-class"));
	return beta ? beta : tc_str(o, "spec.storageClassName");
}

static const struct table_column pv_columns[] = {
	NAME, {"Capacity", NULL, NULL, 0}, {"Access Modes", NULL, NULL, 0},
	{"Reclaim Policy", NULL, NULL, 0}, {"Status", NULL, NULL, 0}, {"Claim", NULL, NULL, 0},
	{"StorageClass", NULL, NULL, 0}, {"VolumeAttributesClass", NULL, NULL, 0},
	{"Reason", NULL, NULL, 0}, AGE, {"VolumeMode", NULL, NULL, 1}, END,
};

static void pv_cells(const json_t *o, time_t now, json_t *cells)
{
	struct mk_buf claim = MK_BUF_INIT;
	const json_t *ref = tc_at(o, "spec.claimRef");
	if (ref != NULL && !json_is_null(ref)) {
		tc_cat(&claim, NULL, tc_str(ref, "namespace"));
		tc_cat(&claim, NULL, "/");
		tc_cat(&claim, NULL, tc_str(ref, "name"));
	}
	tc_name(cells, o);
	/* A zero quantity prints as "0". */
	tc_text_or(cells, tc_str(o, "spec.capacity.storage"), "0");
	access_modes(cells, tc_at(o, "spec.accessModes"));
	tc_text(cells, tc_str(o, "spec.persistentVolumeReclaimPolicy"));
	tc_text(cells, deleting(o) ? "Terminating" : tc_str(o, "status.phase"));
	tc_buf_cell(cells, &claim, "");
	tc_text(cells, class_of(o));
	tc_text(cells, tc_str(o, "spec.volumeAttributesClassName") ?: "<unset>");
	tc_text(cells, tc_str(o, "status.reason"));
	tc_age(cells, o, now);
	tc_text(cells, tc_str(o, "spec.volumeMode") ?: "<unset>");
}

static const struct table_column pvc_columns[] = {
	NAME, {"Status", NULL, NULL, 0}, {"Volume", NULL, NULL, 0},
	{"Capacity", NULL, NULL, 0}, {"Access Modes", NULL, NULL, 0},
	{"StorageClass", NULL, NULL, 0}, {"VolumeAttributesClass", NULL, NULL, 0}, AGE,
	{"VolumeMode", NULL, NULL, 1}, END,
};

static void pvc_cells(const json_t *o, time_t now, json_t *cells)
{
	const char *volume = tc_str(o, "spec.volumeName");
	bool bound = volume != NULL && *volume;
	tc_name(cells, o);
	tc_text(cells, deleting(o) ? "Terminating" : tc_str(o, "status.phase"));
	tc_text(cells, volume);
	/* Capacity and modes are the volume's, so only once bound. */
	if (bound)
		tc_text_or(cells, tc_str(o, "status.capacity.storage"), "0");
	else
		tc_text(cells, "");
	access_modes(cells, bound ? tc_at(o, "status.accessModes") : NULL);
	tc_text(cells, class_of(o));
	tc_text(cells, tc_str(o, "spec.volumeAttributesClassName") ?: "<unset>");
	tc_age(cells, o, now);
	tc_text(cells, tc_str(o, "spec.volumeMode") ?: "<unset>");
}

static const struct table_column storageclass_columns[] = {
	NAME, {"Provisioner", NULL, NULL, 0}, {"ReclaimPolicy", NULL, NULL, 0},
	{"VolumeBindingMode", NULL, NULL, 0}, {"AllowVolumeExpansion", NULL, NULL, 0}, AGE, END,
};

static void storageclass_cells(const json_t *o, time_t now, json_t *cells)
{
	const json_t *ann = tc_at(o, "metadata.annotations");
	const char *def = json_string_value(
		json_object_get(ann, "storageclass.kubernetes.io/is-default-class"));
	const char *beta = json_string_value(
		json_object_get(ann, "storageclass.beta.kubernetes.io/is-default-class"));
	struct mk_buf name = MK_BUF_INIT;
	tc_cat(&name, NULL, tc_str(o, "metadata.name"));
	if (strcmp(def ?: "", "true") == 0 || strcmp(beta ?: "", "true") == 0)
		tc_cat(&name, NULL, " (default)");
	tc_buf_cell(cells, &name, "");
	tc_text(cells, tc_str(o, "provisioner"));
	tc_text(cells, tc_str(o, "reclaimPolicy") ?: "Delete");
	tc_text(cells, tc_str(o, "volumeBindingMode") ?: "Immediate");
	tc_bool_cell(cells, tc_true(o, "allowVolumeExpansion"));
	tc_age(cells, o, now);
}

const struct table_kind table_storage_kinds[] = {
	{"", "PersistentVolume", pv_columns, pv_cells, NULL},
	{"", "PersistentVolumeClaim", pvc_columns, pvc_cells, NULL},
	{"storage.k8s.io", "StorageClass", storageclass_columns, storageclass_cells, NULL},
	{NULL, NULL, NULL, NULL, NULL},
};
