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
	} else if (strcmp(k, "Pod") == 0) {
		default_pod_spec(spec);
		if (create) {
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
	} else if (strcmp(k, "ReplicaSet") == 0 || strcmp(k, "StatefulSet") == 0) {
		spec = child(obj, "spec");
		set_default(spec, "replicas", json_integer(1));
		default_template(spec);
	} else if (strcmp(k, "DaemonSet") == 0) {
		default_template(spec);
	} else if (strcmp(k, "Job") == 0) {
		spec = child(obj, "spec");
		if (create) {
			set_default(spec, "completions", json_integer(1));
			set_default(spec, "parallelism", json_integer(1));
		}
		set_default(spec, "backoffLimit", json_integer(6));
		json_t *tmpl_spec = json_object_get(json_object_get(spec, "template"), "spec");
		if (json_is_object(tmpl_spec))
			set_default(tmpl_spec, "restartPolicy", json_string("Never"));
		default_template(spec);
	} else if (strcmp(k, "CronJob") == 0) {
		spec = child(obj, "spec");
		set_default(spec, "concurrencyPolicy", json_string("Allow"));
		set_default(spec, "suspend", json_false());
		set_default(spec, "successfulJobsHistoryLimit", json_integer(3));
		set_default(spec, "failedJobsHistoryLimit", json_integer(1));
	} else if (strcmp(k, "Service") == 0) {
		spec = child(obj, "spec");
		set_default(spec, "type", json_string("ClusterIP"));
		set_default(spec, "sessionAffinity", json_string("None"));
		size_t i;
		json_t *port;
		json_array_foreach(json_object_get(spec, "ports"), i, port) {
			if (!json_is_object(port))
				continue;
			set_default(port, "protocol", json_string("TCP"));
			json_t *p = json_object_get(port, "port");
			if (json_is_integer(p))
				set_default(port, "targetPort", json_integer(json_integer_value(p)));
		}
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
