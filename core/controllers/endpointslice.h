/*
 * The EndpointSlice controller's reckoning (endpointslice_plan.c), apart
 * from its loop and writes (endpointslice.c) so it can be read and tested
 * on its own: which endpoints a Service wants, grouped by the ports they
 * serve, and what to create, update and delete among the slices it has
 * so that they say that with the fewest writes (upstream's reconciler:
 * endpoints stay in the slice they are in, a slice is rewritten only when
 * something in it changed, new endpoints fill slices being rewritten
 * anyway before new slices are made).
 *
 * Pure: nothing here talks to the API.
 */
#ifndef MK_CONTROLLERS_ENDPOINTSLICE_H
#define MK_CONTROLLERS_ENDPOINTSLICE_H

#include <stddef.h>

#include <jansson.h>

#define SLICE_MAX_ENDPOINTS 100
#define LABEL_MANAGED_BY "endpointslice.kubernetes.io/managed-by"
#define SLICE_CONTROLLER "endpointslice-controller.k8s.io"
#define LABEL_ZONE "topology.kubernetes.io/zone"

/* What svc's endpoints are: {"<ports as JSON>": {"ports": [...],
 * "endpoints": {"<pod uid>": endpoint}}}, one entry per distinct list of
 * ports (a named targetPort can resolve differently per pod).  Every pod
 * with an address and a node is in, terminating ones too (ready false,
 * serving as Ready says, terminating true).  zones: node name -> zone.
 * A new object. */
json_t *slice_desired(const json_t *svc, const json_t *pods, const json_t *zones);

enum slice_action { SLICE_KEEP, SLICE_CREATE, SLICE_UPDATE, SLICE_DELETE };

struct slice_change {
	enum slice_action action;
	const json_t *have;  /* the existing slice (not for CREATE), borrowed */
	json_t *ports;       /* its ports: [] for none (owned) */
	json_t *endpoints;   /* its endpoints (owned) */
};

struct slice_plan {
	struct slice_change *v;
	size_t n;
};

/* From the slices svc has (`have`, an array) to `desired` (consumed:
 * endpoints are taken out of it).  `meta` holds the labels and
 * ownerReferences every slice must carry: a slice that differs is
 * updated.  With no endpoints at all, one empty slice without ports
 * stays (upstream's placeholder).  MK_OK or MK_ENOMEM. */
int slice_plan(json_t *desired, const json_t *have, const json_t *meta, struct slice_plan *out);
void slice_plan_free(struct slice_plan *p);

#endif
