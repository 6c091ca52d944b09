/*
 * A StatefulSet replica's identity and storage (statefulset.h).
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
#include "revisions.h"
#include "statefulset.h"

int64_t sts_ordinal(const char *set, const char *name)
{
	size_t n = strlen(set);
	char *end;

	if (name == NULL || strncmp(name, set, n) != 0 || name[n] != '-' || name[n + 1] < '0' ||
	    name[n + 1] > '9')
		return -1;
	long long v = strtoll(name + n + 1, &end, 10);
	/* "web-01" is not replica 1: only the canonical spelling counts. */
	if (*end != '\0' || (name[n + 1] == '0' && name[n + 2] != '\0'))
		return -1;
	return v;
}

static void claim_name(const json_t *claim_template, const char *pod, char *out, size_t len)
{
	snprintf(out, len, "%s-%s", ctrl_meta(claim_template, "name") ?: "", pod);
}

/* The pod's volumes: the template's, with each claim template's volume
 * pointing at this replica's claim (replacing a volume of the same name). */
static void attach_claims(const json_t *set, json_t *spec, const char *pod)
{
	json_t *claims = json_object_get(json_object_get(set, "spec"), "volumeClaimTemplates");
	json_t *volumes = json_object_get(spec, "volumes"), *ct, *v;
	size_t i, j;
	char name[600];

	if (json_array_size(claims) == 0)
		return;
	if (!json_is_array(volumes)) {
		volumes = json_array();
		json_object_set_new(spec, "volumes", volumes);
	}
	json_array_foreach(claims, i, ct) {
		const char *vol = ctrl_meta(ct, "name");
		if (vol == NULL)
			continue;
		claim_name(ct, pod, name, sizeof name);
		for (j = json_array_size(volumes); j-- > 0;) {
			v = json_array_get(volumes, j);
			if (ctrl_str(v, "name") && strcmp(ctrl_str(v, "name"), vol) == 0)
				json_array_remove(volumes, j);
		}
		json_array_append_new(volumes, json_pack("{s:s, s:{s:s}}", "name", vol,
							 "persistentVolumeClaim", "claimName",
							 name));
	}
}

json_t *sts_pod(const json_t *set, const json_t *template_, const char *revision, int64_t ordinal)
{
	char name[400], index[32];
	const char *service = ctrl_str(json_object_get(set, "spec"), "serviceName");

	snprintf(name, sizeof name, "%.300s-%" PRId64, ctrl_meta(set, "name") ?: "", ordinal);
	snprintf(index, sizeof index, "%" PRId64, ordinal);
	json_t *pod = pod_from_template(set, "apps/v1", "StatefulSet", template_, name);
	if (pod == NULL)
		return NULL;
	json_t *meta = json_object_get(pod, "metadata");
	json_t *labels = json_object_get(meta, "labels");
	if (!json_is_object(labels)) {
		labels = json_object();
		json_object_set_new(meta, "labels", labels);
	}
	json_object_set_new(labels, STS_POD_NAME_LABEL, json_string(name));
	json_object_set_new(labels, STS_POD_INDEX_LABEL, json_string(index));
	json_object_set_new(labels, REVISION_HASH_LABEL, json_string(revision));
	json_t *spec = json_object_get(pod, "spec");
	/* The stable network identity: <pod>.<service>.<ns>.svc. */
	json_object_set_new(spec, "hostname", json_string(name));
	if (service != NULL && service[0])
		json_object_set_new(spec, "subdomain", json_string(service));
	attach_claims(set, spec, name);
	return pod;
}

int sts_claims(struct controllers *c, struct kube_events *events, const json_t *set,
	       int64_t ordinal)
{
	json_t *claims = json_object_get(json_object_get(set, "spec"), "volumeClaimTemplates"), *ct;
	const char *ns = ctrl_meta(set, "namespace") ?: "";
	char pod[400], name[600], path[700], ens[300], err[512];
	size_t i;
	int rv = MK_OK;

	snprintf(pod, sizeof pod, "%.300s-%" PRId64, ctrl_meta(set, "name") ?: "", ordinal);
	kube_escape(ns, ens, sizeof ens);
	snprintf(path, sizeof path, "/api/v1/namespaces/%s/persistentvolumeclaims", ens);
	json_array_foreach(claims, i, ct) {
		claim_name(ct, pod, name, sizeof name);
		json_t *have = kube_informer_get(ctrl_informer(c, INF_PVCS), ns, name);
		if (have != NULL) {
			json_decref(have);
			continue;
		}
		/* Labels: the set's selector, so the claims can be found. */
		json_t *labels = json_deep_copy(json_object_get(
			json_object_get(json_object_get(set, "spec"), "selector"), "matchLabels"));
		const json_t *tlabels = json_object_get(json_object_get(ct, "metadata"), "labels");
		if (labels == NULL)
			labels = json_object();
		if (json_is_object(tlabels))
			json_object_update(labels, (json_t *)tlabels);
		json_t *pvc = json_pack("{s:s, s:s, s:{s:s, s:s, s:o}, s:O}", "apiVersion", "v1",
					"kind", "PersistentVolumeClaim", "metadata", "name", name,
					"namespace", ns, "labels", labels, "spec",
					json_object_get(ct, "spec"));
		int r = pvc ? kube_create(c->client, path, pvc, NULL, err, sizeof err) : MK_ENOMEM;
		json_decref(pvc);
		if (r == MK_OK) {
			kube_event(events, set, "Normal", "SuccessfulCreate", NULL,
				   "create Claim %s Pod %s in StatefulSet %s success", name, pod,
				   ctrl_meta(set, "name"));
		} else if (r != MK_ECONFLICT) {
			kube_event(events, set, "Warning", "FailedCreate", NULL,
				   "create Claim %s for Pod %s in StatefulSet %s failed error: %s",
				   name, pod, ctrl_meta(set, "name"), err);
			rv = r;
		}
	}
	return rv;
}
