/*
 * Defaults the real API server fills in, for the fields clients read back
 * (kubectl's describe and tables, rollout status, the Python models).
 * Only fields a user would otherwise see missing are defaulted.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "api_internal.h"

static json_t *child(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	if (!json_is_object(v)) {
		v = json_object();
		json_object_set_new(obj, key, v);
	}
	return v;
}

static void set_default(json_t *obj, const char *key, json_t *value)
{
	if (json_object_get(obj, key) == NULL || json_is_null(json_object_get(obj, key)))
		json_object_set_new(obj, key, value);
	else
		json_decref(value);
}

/* imagePullPolicy: Always for :latest or untagged images, else IfNotPresent. */
static const char *pull_policy(const char *image)
{
	if (image == NULL)
		return "IfNotPresent";
	if (strchr(image, '@') != NULL)
		return "IfNotPresent";
	const char *slash = strrchr(image, '/');
	const char *colon = strrchr(slash ? slash : image, ':');
	if (colon == NULL || strcmp(colon, ":latest") == 0)
		return "Always";
	return "IfNotPresent";
}

/* SetDefaults_Probe, and the httpGet path and scheme. */
static void default_probe(json_t *p)
{
	if (!json_is_object(p))
		return;
	set_default(p, "timeoutSeconds", json_integer(1));
	set_default(p, "periodSeconds", json_integer(10));
	set_default(p, "successThreshold", json_integer(1));
	set_default(p, "failureThreshold", json_integer(3));
	json_t *h = json_object_get(p, "httpGet");
	if (json_is_object(h)) {
		set_default(h, "path", json_string("/"));
		set_default(h, "scheme", json_string("HTTP"));
	}
}

static void default_containers(json_t *spec, const char *list)
{
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(spec, list), i, c) {
		if (!json_is_object(c))
			continue;
		set_default(c, "imagePullPolicy",
			    json_string(pull_policy(json_string_value(json_object_get(c, "image")))));
		set_default(c, "terminationMessagePath", json_string("/dev/termination-log"));
		set_default(c, "terminationMessagePolicy", json_string("File"));
		set_default(c, "resources", json_object());
		default_probe(json_object_get(c, "livenessProbe"));
		default_probe(json_object_get(c, "readinessProbe"));
		default_probe(json_object_get(c, "startupProbe"));
		size_t k;
		json_t *port;
		json_array_foreach(json_object_get(c, "ports"), k, port)
			if (json_is_object(port))
				set_default(port, "protocol", json_string("TCP"));
	}
}

static void default_pod_spec(json_t *spec)
{
	if (!json_is_object(spec))
		return;
	set_default(spec, "restartPolicy", json_string("Always"));
	set_default(spec, "terminationGracePeriodSeconds", json_integer(30));
	set_default(spec, "dnsPolicy", json_string("ClusterFirst"));
	set_default(spec, "securityContext", json_object());
	set_default(spec, "schedulerName", json_string("default-scheduler"));
	set_default(spec, "enableServiceLinks", json_true());
	default_containers(spec, "initContainers");
	default_containers(spec, "containers");
}

static void default_template(json_t *spec)
{
	json_t *tmpl = json_object_get(spec, "template");
	if (json_is_object(tmpl))
		default_pod_spec(json_object_get(tmpl, "spec"));
}

/* A new Job's selector and its pods' labels (upstream's generateSelector),
 * unless spec.manualSelector: the controller-uid label alone makes the
 * selector unique; the job-name labels are for people.  Labels the user
 * set are kept (validation then refuses a conflicting one).  The Job's own
 * labels default to its template's, as upstream's defaulting does. */
static void default_job_selector(json_t *job, json_t *spec)
{
	json_t *meta = json_object_get(job, "metadata");
	const char *uid = json_string_value(json_object_get(meta, "uid"));
	const char *name = json_string_value(json_object_get(meta, "name"));
	if (json_is_true(json_object_get(spec, "manualSelector")) || uid == NULL)
		return;
	json_t *tmeta = child(child(spec, "template"), "metadata");
	json_t *labels = child(tmeta, "labels");
	static const char *const name_keys[] = {"job-name", "batch.kubernetes.io/job-name"};
	static const char *const uid_keys[] = {"controller-uid", "batch.kubernetes.io/controller-uid"};
	for (size_t i = 0; i < 2; i++) {
		if (name != NULL)
			set_default(labels, name_keys[i], json_string(name));
		set_default(labels, uid_keys[i], json_string(uid));
	}
	json_t *match = child(child(spec, "selector"), "matchLabels");
	set_default(match, "batch.kubernetes.io/controller-uid", json_string(uid));
	if (json_object_size(json_object_get(meta, "labels")) == 0)
		json_object_set_new(meta, "labels", json_deep_copy(labels));
}

/* stringData is write-only: the real server folds it into data (base64)
 * and never stores it. */
static void fold_string_data(json_t *secret)
{
	json_t *sd = json_object_get(secret, "stringData");
	if (!json_is_object(sd)) {
		json_object_del(secret, "stringData");
		return;
	}
	json_t *data = child(secret, "data");
	const char *key;
	json_t *v;
	json_object_foreach(sd, key, v) {
		const char *text = json_string_value(v);
		if (text == NULL)
			continue;
		size_t n = strlen(text);
		char *b64 = malloc(4 * ((n + 2) / 3) + 1);
		if (b64 == NULL)
			continue;
		EVP_EncodeBlock((unsigned char *)b64, (const unsigned char *)text, (int)n);
		json_object_set_new(data, key, json_string(b64));
		free(b64);
	}
	json_object_del(secret, "stringData");
}

/* SetDefaults_Service and SetDefaults_ServicePort.  What the allocator
 * fills (clusterIPs, ipFamilies, ipFamilyPolicy, node ports) is not a
 * default: service_alloc.c sets it. */
static void default_service(json_t *spec)
{
	set_default(spec, "type", json_string("ClusterIP"));
	set_default(spec, "sessionAffinity", json_string("None"));
	const char *type = json_string_value(json_object_get(spec, "type"));
	const char *affinity = json_string_value(json_object_get(spec, "sessionAffinity"));
	if (affinity && strcmp(affinity, "ClientIP") == 0) {
		json_t *cip = child(child(spec, "sessionAffinityConfig"), "clientIP");
		set_default(cip, "timeoutSeconds", json_integer(10800));
	}
	bool external = type && (strcmp(type, "NodePort") == 0 || strcmp(type, "LoadBalancer") == 0 ||
				 (strcmp(type, "ClusterIP") == 0 &&
				  json_array_size(json_object_get(spec, "externalIPs")) > 0));
	if (external)
		set_default(spec, "externalTrafficPolicy", json_string("Cluster"));
	if (type && strcmp(type, "ExternalName") != 0)
		set_default(spec, "internalTrafficPolicy", json_string("Cluster"));
	if (type && strcmp(type, "LoadBalancer") == 0)
		set_default(spec, "allocateLoadBalancerNodePorts", json_true());
	size_t i;
	json_t *port;
	json_array_foreach(json_object_get(spec, "ports"), i, port) {
		if (!json_is_object(port))
			continue;
		set_default(port, "protocol", json_string("TCP"));
		json_t *p = json_object_get(port, "port"), *tp = json_object_get(port, "targetPort");
		/* targetPort 0 or "" means "the same as port". */
		if (json_is_integer(p) && (tp == NULL || json_is_null(tp) ||
					   (json_is_integer(tp) && json_integer_value(tp) == 0) ||
					   (json_is_string(tp) && json_string_length(tp) == 0)))
			json_object_set_new(port, "targetPort", json_integer(json_integer_value(p)));
	}
}

void api_apply_defaults(struct api_call *c, json_t *obj, const json_t *old)
{
	const struct api_resource *r = c->res;
	if (r->custom)
		return;
	const char *k = r->kind;
	bool create = old == NULL;
	json_t *spec = json_object_get(obj, "spec");
	if (strcmp(k, "Namespace") == 0) {
		spec = child(obj, "spec");
		set_default(spec, "finalizers", json_pack("[s]", "kubernetes"));
		json_t *status = child(obj, "status");
		set_default(status, "phase", json_string("Active"));
	} else if (strcmp(k, "PersistentVolume") == 0 || strcmp(k, "PersistentVolumeClaim") == 0) {
		spec = child(obj, "spec");
		set_default(spec, "volumeMode", json_string("Filesystem"));
		if (strcmp(k, "PersistentVolume") == 0)
			set_default(spec, "persistentVolumeReclaimPolicy", json_string("Retain"));
		if (create)
			set_default(child(obj, "status"), "phase", json_string("Pending"));
	} else if (strcmp(k, "Pod") == 0) {
		default_pod_spec(spec);
		if (create) {
			int secs = c->srv->cfg.default_toleration_seconds;
			admit_default_tolerations(spec, secs > 0 ? secs : 300);
			json_t *status = child(obj, "status");
			set_default(status, "phase", json_string("Pending"));
			set_default(status, "qosClass", json_string("BestEffort"));
		}
	} else if (strcmp(k, "Deployment") == 0) {
		spec = child(obj, "spec");
		set_default(spec, "replicas", json_integer(1));
		set_default(spec, "revisionHistoryLimit", json_integer(10));
		set_default(spec, "progressDeadlineSeconds", json_integer(600));
		json_t *strategy = child(spec, "strategy");
		set_default(strategy, "type", json_string("RollingUpdate"));
		const char *type = json_string_value(json_object_get(strategy, "type"));
		if (type && strcmp(type, "RollingUpdate") == 0) {
			json_t *ru = child(strategy, "rollingUpdate");
			set_default(ru, "maxUnavailable", json_string("25%"));
			set_default(ru, "maxSurge", json_string("25%"));
		}
		default_template(spec);
	} else if (strcmp(k, "ReplicaSet") == 0) {
		spec = child(obj, "spec");
		set_default(spec, "replicas", json_integer(1));
		default_template(spec);
	} else if (strcmp(k, "StatefulSet") == 0) {
		spec = child(obj, "spec");
		set_default(spec, "replicas", json_integer(1));
		set_default(spec, "podManagementPolicy", json_string("OrderedReady"));
		set_default(spec, "revisionHistoryLimit", json_integer(10));
		json_t *strategy = child(spec, "updateStrategy");
		set_default(strategy, "type", json_string("RollingUpdate"));
		if (strcmp(json_string_value(json_object_get(strategy, "type")) ?: "",
			   "RollingUpdate") == 0)
			set_default(child(strategy, "rollingUpdate"), "partition", json_integer(0));
		json_t *retention = child(spec, "persistentVolumeClaimRetentionPolicy");
		set_default(retention, "whenDeleted", json_string("Retain"));
		set_default(retention, "whenScaled", json_string("Retain"));
		default_template(spec);
	} else if (strcmp(k, "DaemonSet") == 0) {
		spec = child(obj, "spec");
		set_default(spec, "revisionHistoryLimit", json_integer(10));
		json_t *strategy = child(spec, "updateStrategy");
		set_default(strategy, "type", json_string("RollingUpdate"));
		if (strcmp(json_string_value(json_object_get(strategy, "type")) ?: "",
			   "RollingUpdate") == 0) {
			json_t *ru = child(strategy, "rollingUpdate");
			set_default(ru, "maxUnavailable", json_integer(1));
			set_default(ru, "maxSurge", json_integer(0));
		}
		default_template(spec);
	} else if (strcmp(k, "Job") == 0) {
		spec = child(obj, "spec");
		if (create) {
			/* Both unset: one pod, once; parallelism alone: a work
			 * queue (completions stays unset). */
			if (json_object_get(spec, "parallelism") == NULL ||
			    json_is_null(json_object_get(spec, "parallelism")))
				set_default(spec, "completions", json_integer(1));
			set_default(spec, "parallelism", json_integer(1));
			default_job_selector(obj, spec);
		}
		set_default(spec, "backoffLimit", json_integer(6));
		set_default(spec, "completionMode", json_string("NonIndexed"));
		set_default(spec, "suspend", json_false());
		set_default(spec, "podReplacementPolicy", json_string("TerminatingOrFailed"));
		/* No restartPolicy default here: the pod default (Always) is
		 * what upstream's validation then refuses for Jobs. */
		default_template(spec);
	} else if (strcmp(k, "CronJob") == 0) {
		spec = child(obj, "spec");
		set_default(spec, "concurrencyPolicy", json_string("Allow"));
		set_default(spec, "suspend", json_false());
		set_default(spec, "successfulJobsHistoryLimit", json_integer(3));
		set_default(spec, "failedJobsHistoryLimit", json_integer(1));
		json_t *jt = json_object_get(spec, "jobTemplate");
		if (json_is_object(jt))
			default_template(json_object_get(jt, "spec"));
	} else if (strcmp(k, "Service") == 0) {
		spec = child(obj, "spec");
		default_service(spec);
		if (create)
			set_default(obj, "status", json_pack("{s:{}}", "loadBalancer"));
	} else if (strcmp(k, "Secret") == 0) {
		set_default(obj, "type", json_string("Opaque"));
		fold_string_data(obj);
	}
	/* Status of workloads starts empty: controllers own it. */
	if (create && (r->flags & RES_GENERATION) && strcmp(k, "CustomResourceDefinition") != 0)
		json_object_set_new(obj, "status", json_object());
}
