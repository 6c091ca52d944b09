/*
 * ControllerRevisions: the template history of a StatefulSet or a
 * DaemonSet, as upstream keeps it (pkg/controller/history), so that
 * `kubectl rollout history|undo` work on them.
 *
 * A revision's data is the strategic merge patch that puts its template
 * back ({"spec": {"template": {..., "$patch": "replace"}}}): `kubectl
 * rollout undo` applies exactly that to the owner.  Its name is the
 * owner's and the data's hash; equal templates share one revision, which
 * takes the next number when a template comes back.
 */
#ifndef MK_CONTROLLERS_REVISIONS_H
#define MK_CONTROLLERS_REVISIONS_H

#include <jansson.h>

#include "controllers_internal.h"

#define REVISION_HASH_LABEL "controller-revision-hash"

struct revisions {
	json_t *owned;   /* the owner's ControllerRevisions, oldest revision first (owned) */
	json_t *update;  /* the revision of the current template (borrowed from owned) */
	const char *update_name;
	json_int_t max;  /* the highest revision number */
};

/* Reads the owner's revisions and makes sure the current template has
 * one (creating it, or renumbering an old one that came back).  kind:
 * "StatefulSet" or "DaemonSet"; the revisions carry the owner's matchLabels.
 * MK_OK or an error for a retry. */
int revisions_sync(struct controllers *c, const json_t *owner, const char *kind,
		   struct revisions *out);
/* The revision named name, or NULL (borrowed). */
json_t *revisions_find(const struct revisions *r, const char *name);
/* The template a revision holds (borrowed), or NULL. */
const json_t *revision_template(const json_t *revision);
/* Deletes the oldest revisions beyond spec.revisionHistoryLimit (default
 * 10) that no live pod uses (live: names of revisions in use). */
void revisions_trim(struct controllers *c, const json_t *owner, struct revisions *r,
		    const json_t *live);
void revisions_free(struct revisions *r);

#endif
