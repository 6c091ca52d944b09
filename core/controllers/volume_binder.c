/*
 * The PersistentVolume binder, as kube-controller-manager's
 * persistentvolume-binder for pre-provisioned volumes: a pending claim is
 * bound to the smallest Available volume that satisfies it (same storage
 * class, every access mode asked for, enough capacity, same volume mode),
 * or to the one it names in spec.volumeName.  The volume is claimed first
 * (its claimRef, a conditional write), then the claim points at it, so
 * two claims racing for one volume cannot both win.  A volume whose
 * claim is gone becomes Released (its data is kept: reclaim policy
 * Retain; deleting data is a provisioner's business).
 *
 * Claims of a class with volumeBindingMode WaitForFirstConsumer, or left
 * to a dynamic provisioner, are not touched here.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/err.h"
#include "../base/log.h"
#include "../kube/client.h"
#include "../kube/events.h"
#include "../kube/informer.h"
#include "../kube/quantity.h"
#include "controllers_internal.h"

struct volume_binder {
	struct ctrl_loop loop;
	struct controllers *ctl;
};

static void on_claim(void *arg, enum kube_event type, json_t *pvc)
{
	struct volume_binder *c = arg;
	char key[600];

	const char *volume = ctrl_str(json_object_get(pvc, "spec"), "volumeName");

	object_key(pvc, key, sizeof key);
	wq_add(c->loop.queue, key);
	/* Its volume is released. */
	if (type == KUBE_DELETED && volume != NULL && volume[0]) {
		snprintf(key, sizeof key, "/%s", volume);
		wq_add(c->loop.queue, key);
	}
}

/* A volume changed: pending claims may now find one, and a volume's own
 * claim may be gone (key "/<volume>"). */
static void on_volume(void *arg, enum kube_event type, json_t *pv)
{
	struct volume_binder *c = arg;
	json_t *claims = kube_informer_list(ctrl_informer(c->ctl, INF_PVCS)), *pvc;
	size_t i;
	char key[600];

	json_array_foreach(claims, i, pvc)
		if (strcmp(ctrl_str(json_object_get(pvc, "status"), "phase") ?: "Pending", "Bound")) {
			object_key(pvc, key, sizeof key);
			wq_add(c->loop.queue, key);
		}
	json_decref(claims);
	if (type != KUBE_DELETED) {
		snprintf(key, sizeof key, "/%s", ctrl_meta(pv, "name") ?: "");
		wq_add(c->loop.queue, key);
	}
}

static int64_t storage_of(const json_t *resources_or_capacity, bool requests)
{
	const json_t *q = requests
		? json_object_get(json_object_get(resources_or_capacity, "requests"), "storage")
		: json_object_get(resources_or_capacity, "storage");
	int64_t v = 0;

	if (json_string_value(q) == NULL ||
	    quantity_value(json_string_value(q), &v) != MK_OK)
		return -1;
	return v;
}

static const char *class_of(const json_t *spec)
{
	return ctrl_str(spec, "storageClassName") ?: "";
}

static bool modes_cover(const json_t *have, const json_t *want)
{
	size_t i, j;
	json_t *w, *h;

	json_array_foreach(want, i, w) {
		bool found = false;
		json_array_foreach(have, j, h)
			found |= json_equal(h, w);
		if (!found)
			return false;
	}
	return true;
}

/* Can pv hold pvc (ignoring who has it)? */
static bool fits(const json_t *pv, const json_t *pvc)
{
	const json_t *vs = json_object_get(pv, "spec"), *cs = json_object_get(pvc, "spec");
	int64_t want = storage_of(json_object_get(cs, "resources"), true);
	int64_t have = storage_of(json_object_get(vs, "capacity"), false);

	return strcmp(class_of(vs), class_of(cs)) == 0 &&
	       strcmp(ctrl_str(vs, "volumeMode") ?: "Filesystem",
		      ctrl_str(cs, "volumeMode") ?: "Filesystem") == 0 &&
	       modes_cover(json_object_get(vs, "accessModes"), json_object_get(cs, "accessModes")) &&
	       have >= 0 && want >= 0 && have >= want &&
	       ctrl_meta(pv, "deletionTimestamp") == NULL;
}

static bool claimed_by(const json_t *pv, const json_t *pvc)
{
	const json_t *ref = json_object_get(json_object_get(pv, "spec"), "claimRef");

	return ref != NULL && strcmp(ctrl_str(ref, "name") ?: "", ctrl_meta(pvc, "name") ?: "") == 0 &&
	       strcmp(ctrl_str(ref, "namespace") ?: "", ctrl_meta(pvc, "namespace") ?: "") == 0 &&
	       (ctrl_str(ref, "uid") == NULL ||
		strcmp(ctrl_str(ref, "uid"), ctrl_meta(pvc, "uid") ?: "") == 0);
}

/* The volume for pvc: the one already claimed for it, else the smallest
 * free one that fits (NULL if none).  A new reference. */
static json_t *choose(struct volume_binder *c, const json_t *pvc)
{
	json_t *all = kube_informer_list(ctrl_informer(c->ctl, INF_PVS)), *pv, *best = NULL;
	const char *named = ctrl_str(json_object_get(pvc, "spec"), "volumeName");
	size_t i;

	json_array_foreach(all, i, pv) {
		if (named != NULL && named[0] && strcmp(ctrl_meta(pv, "name") ?: "", named) != 0)
			continue;
		if (claimed_by(pv, pvc)) {
			best = pv;
			break;
		}
		if (json_object_get(json_object_get(pv, "spec"), "claimRef") != NULL ||
		    !fits(pv, pvc))
			continue;
		if (best == NULL || storage_of(json_object_get(json_object_get(pv, "spec"), "capacity"),
					       false) <
					    storage_of(json_object_get(json_object_get(best, "spec"),
								       "capacity"), false))
			best = pv;
	}
	json_incref(best);
	json_decref(all);
	return best;
}

static int patch(struct volume_binder *c, const char *path, json_t *body)
{
	char err[512];
	int rv = kube_merge_patch(c->ctl->client, path, body, NULL, err, sizeof err);

	if (rv != MK_OK)
		mk_debug(CTRL_LOG, "volume binding: %s: %s", path, err);
	json_decref(body);
	return rv;
}

static int bind(struct volume_binder *c, json_t *pv, json_t *pvc)
{
	char pv_path[400], pvc_path[900], ns[300], name[300];

	kube_escape(ctrl_meta(pv, "name") ?: "", name, sizeof name);
	snprintf(pv_path, sizeof pv_path, "/api/v1/persistentvolumes/%s", name);
	kube_escape(ctrl_meta(pvc, "namespace") ?: "", ns, sizeof ns);
	kube_escape(ctrl_meta(pvc, "name") ?: "", name, sizeof name);
	snprintf(pvc_path, sizeof pvc_path, "/api/v1/namespaces/%s/persistentvolumeclaims/%s", ns,
		 name);
	int rv = MK_OK;
	if (!claimed_by(pv, pvc))
		/* Conditional on the volume as seen: a racing claim gets 409. */
		rv = patch(c, pv_path,
			   json_pack("{s:{s:s}, s:{s:{s:s, s:s, s:s, s:s, s:s}}}", "metadata",
				     "resourceVersion", ctrl_meta(pv, "resourceVersion") ?: "",
				     "spec", "claimRef", "apiVersion", "v1", "kind",
				     "PersistentVolumeClaim", "namespace", ctrl_meta(pvc, "namespace"),
				     "name", ctrl_meta(pvc, "name"), "uid", ctrl_meta(pvc, "uid")));
	if (rv == MK_OK)
		rv = patch(c, strcat(pv_path, "/status"),
			   json_pack("{s:{s:s}}", "status", "phase", "Bound"));
	if (rv == MK_OK && strcmp(ctrl_str(json_object_get(pvc, "spec"), "volumeName") ?: "",
				  ctrl_meta(pv, "name") ?: "") != 0)
		rv = patch(c, pvc_path, json_pack("{s:{s:s}}", "spec", "volumeName", ctrl_meta(pv, "name")));
	if (rv == MK_OK) {
		json_t *vs = json_object_get(pv, "spec");
		rv = patch(c, strcat(pvc_path, "/status"),
			   json_pack("{s:{s:s, s:O, s:O}}", "status", "phase", "Bound", "accessModes",
				     json_object_get(vs, "accessModes"), "capacity",
				     json_object_get(vs, "capacity")));
	}
	return rv;
}

/* A class that leaves binding to the scheduler or to a provisioner. */
static bool not_ours(struct volume_binder *c, const json_t *pvc)
{
	const json_t *ann = json_object_get(json_object_get(pvc, "metadata"), "annotations");

	(void)c;
	return ctrl_str(ann, "volume.kubernetes.io/storage-provisioner") != NULL ||
	       ctrl_str(ann, "volume.beta.kubernetes.io/storage-provisioner") != NULL;
}

static void set_phase(struct volume_binder *c, const char *name, const char *phase)
{
	char path[400], e[300];

	kube_escape(name, e, sizeof e);
	snprintf(path, sizeof path, "/api/v1/persistentvolumes/%s/status", e);
	patch(c, path, json_pack("{s:{s:s}}", "status", "phase", phase));
}

/* A volume's phase: Available while unclaimed, Released once its claim
 * is gone. */
static void sync_volume(struct volume_binder *c, const char *name)
{
	json_t *pv = kube_informer_get(ctrl_informer(c->ctl, INF_PVS), "", name);
	const json_t *ref = json_object_get(json_object_get(pv, "spec"), "claimRef");
	const char *phase = ctrl_str(json_object_get(pv, "status"), "phase") ?: "";

	if (pv == NULL || ctrl_meta(pv, "deletionTimestamp") != NULL)
		goto out;
	if (ref == NULL) {
		if (strcmp(phase, "Available") != 0)
			set_phase(c, name, "Available");
	} else if (ctrl_str(ref, "uid") != NULL && strcmp(phase, "Bound") == 0) {
		json_t *pvc = kube_informer_get(ctrl_informer(c->ctl, INF_PVCS),
						ctrl_str(ref, "namespace") ?: "", ctrl_str(ref, "name") ?: "");
		if (pvc == NULL || strcmp(ctrl_meta(pvc, "uid") ?: "", ctrl_str(ref, "uid")) != 0)
			set_phase(c, name, "Released");
		json_decref(pvc);
	}
out:
	json_decref(pv);
}

static int sync(void *self, const char *key)
{
	struct volume_binder *c = self;
	char ns[300], name[300];

	if (key[0] == '/') {
		sync_volume(c, key + 1);
		return MK_OK;
	}
	if (!split_key(key, ns, sizeof ns, name, sizeof name))
		return MK_OK;
	json_t *pvc = kube_informer_get(ctrl_informer(c->ctl, INF_PVCS), ns, name);
	int rv = MK_OK;
	if (pvc == NULL || ctrl_meta(pvc, "deletionTimestamp") != NULL || not_ours(c, pvc) ||
	    strcmp(ctrl_str(json_object_get(pvc, "status"), "phase") ?: "Pending", "Bound") == 0)
		goto out;
	json_t *pv = choose(c, pvc);
	if (pv != NULL) {
		rv = bind(c, pv, pvc);
		json_decref(pv);
	} else {
		/* Nothing fits yet: a volume arriving later wakes this claim. */
		kube_event(c->loop.events, pvc, "Normal", "FailedBinding", NULL,
			   "no persistent volumes available for this claim and no storage class "
			   "is set");
	}
out:
	json_decref(pvc);
	return rv;
}

static struct ctrl_loop *create(struct controllers *ctl, char *errmsg, size_t len)
{
	struct volume_binder *c = calloc(1, sizeof *c);

	if (c == NULL) {
		snprintf(errmsg, len, "out of memory");
		return NULL;
	}
	c->ctl = ctl;
	if (ctrl_loop_init(&c->loop, ctl, "persistentvolume-controller", sync, c, errmsg, len) !=
		    MK_OK ||
	    ctrl_watch(ctl, INF_PVCS, on_claim, c) != MK_OK ||
	    ctrl_watch(ctl, INF_PVS, on_volume, c) != MK_OK) {
		ctrl_loop_free(&c->loop);
		free(c);
		return NULL;
	}
	/* One worker: two claims must not pick the same volume at once. */
	c->loop.n_threads = 1;
	return &c->loop;
}

static void destroy(struct ctrl_loop *loop)
{
	free(loop->self);
}

const struct controller_def volume_binder_controller = {"persistentvolume-binder", create, destroy};
