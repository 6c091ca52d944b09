/*
 * Services, their pods and ports, for the Endpoints and EndpointSlice
 * controllers (endpoints_common.h).
 */
#include <stdlib.h>
#include <string.h>

#include "controllers_internal.h"
#include "endpoints_common.h"

void svc_index_init(struct svc_index *ix)
{
	pthread_mutex_init(&ix->lock, NULL);
	ix->pods = json_object();
	ix->services = json_object();
}

void svc_index_free(struct svc_index *ix)
{
	json_decref(ix->pods);
	json_decref(ix->services);
	pthread_mutex_destroy(&ix->lock);
}

void svc_index_service_event(struct svc_index *ix, enum kube_event type, json_t *svc)
{
	char key[600];
	object_key(svc, key, sizeof key);
	pthread_mutex_lock(&ix->lock);
	if (type == KUBE_DELETED || !service_selects(svc))
		json_object_del(ix->services, key);
	else
		json_object_set(ix->services, key, svc);
	pthread_mutex_unlock(&ix->lock);
}

bool service_selects(const json_t *svc)
{
	const json_t *spec = json_object_get(svc, "spec");
	const char *type = ctrl_str(spec, "type");
	return json_object_size(json_object_get(spec, "selector")) > 0 &&
	       !(type && strcmp(type, "ExternalName") == 0);
}

bool service_matches_pod(const json_t *svc, const json_t *pod)
{
	const char *ns = ctrl_meta(svc, "namespace"), *pns = ctrl_meta(pod, "namespace");
	const json_t *labels = json_object_get(json_object_get(pod, "metadata"), "labels");
	const char *k;
	json_t *v;
	if (!service_selects(svc) || ns == NULL || pns == NULL || strcmp(ns, pns) != 0)
		return false;
	json_object_foreach(json_object_get(json_object_get(svc, "spec"), "selector"), k, v)
		if (!json_equal(json_object_get(labels, k), v))
			return false;
	return true;
}

void svc_index_pod_event(struct svc_index *ix, struct workqueue *q, enum kube_event type,
			 const json_t *pod)
{
	char pkey[600];
	json_t *now = json_array(), *svc, *k;
	const char *skey;
	size_t i;
	object_key((json_t *)pod, pkey, sizeof pkey);
	pthread_mutex_lock(&ix->lock);
	json_object_foreach(ix->services, skey, svc) {
		if (type != KUBE_DELETED && service_matches_pod(svc, pod)) {
			json_array_append_new(now, json_string(skey));
			wq_add(q, skey);
		}
	}
	json_array_foreach(json_object_get(ix->pods, pkey), i, k)
		wq_add(q, json_string_value(k));
	if (type == KUBE_DELETED || json_array_size(now) == 0)
		json_object_del(ix->pods, pkey);
	else
		json_object_set(ix->pods, pkey, now);
	pthread_mutex_unlock(&ix->lock);
	json_decref(now);
}

static int by_name(const void *a, const void *b)
{
	const char *x = ctrl_meta(*(json_t *const *)a, "name");
	const char *y = ctrl_meta(*(json_t *const *)b, "name");
	return strcmp(x ? x : "", y ? y : "");
}

json_t *service_pods(struct kube_informer *pods, const json_t *svc)
{
	json_t *all = kube_informer_list(pods), *pod, *out = json_array();
	size_t i, n = 0;
	json_t **v = calloc(json_array_size(all) + 1, sizeof *v);
	if (v == NULL) {
		json_decref(all);
		return out;
	}
	json_array_foreach(all, i, pod)
		if (service_matches_pod(svc, pod))
			v[n++] = pod;
	qsort(v, n, sizeof *v, by_name);
	for (i = 0; i < n; i++)
		json_array_append(out, v[i]);
	free(v);
	json_decref(all);
	return out;
}

const char *pod_ip(const json_t *pod)
{
	const char *ip = ctrl_str(json_object_get(pod, "status"), "podIP");
	return ip && ip[0] ? ip : NULL;
}

bool pod_in_endpoints(const json_t *pod, bool include_terminating)
{
	const char *phase = ctrl_str(json_object_get(pod, "status"), "phase");
	const char *node = ctrl_str(json_object_get(pod, "spec"), "nodeName");
	if (phase && (strcmp(phase, "Succeeded") == 0 || strcmp(phase, "Failed") == 0))
		return false;
	if (pod_ip(pod) == NULL || node == NULL || node[0] == '\0')
		return false;
	return include_terminating || ctrl_meta(pod, "deletionTimestamp") == NULL;
}

int service_target_port(const json_t *pod, const json_t *svc_port)
{
	const json_t *tp = json_object_get(svc_port, "targetPort");
	const char *proto = ctrl_str(svc_port, "protocol");
	if (json_is_integer(tp))
		return (int)json_integer_value(tp);
	if (!json_is_string(tp)) /* defaulted to port by the API */
		return (int)json_integer_value(json_object_get(svc_port, "port"));
	const char *name = json_string_value(tp);
	size_t i, k;
	json_t *c, *p;
	json_array_foreach(json_object_get(json_object_get(pod, "spec"), "containers"), i, c)
		json_array_foreach(json_object_get(c, "ports"), k, p) {
			const char *pname = ctrl_str(p, "name"), *pproto = ctrl_str(p, "protocol");
			if (pname && strcmp(pname, name) == 0 &&
			    strcmp(pproto ? pproto : "TCP", proto ? proto : "TCP") == 0)
				return (int)json_integer_value(json_object_get(p, "containerPort"));
		}
	return -1;
}

const char *pod_hostname_for(const json_t *pod, const json_t *svc)
{
	const json_t *spec = json_object_get(pod, "spec");
	const char *host = ctrl_str(spec, "hostname"), *sub = ctrl_str(spec, "subdomain");
	const char *name = ctrl_meta(svc, "name");
	if (host && host[0] && sub && name && strcmp(sub, name) == 0)
		return host;
	return NULL;
}

static void newer(char out[32], const char *ts)
{
	if (ts != NULL && strlen(ts) < 32 && strcmp(ts, out) > 0)
		strcpy(out, ts);
}

void endpoints_trigger_time(const json_t *svc, const json_t *pods, char out[32])
{
	size_t i, k;
	json_t *pod, *cond;
	out[0] = '\0';
	/* RFC 3339 times in UTC compare as text. */
	newer(out, ctrl_meta(svc, "creationTimestamp"));
	json_array_foreach(pods, i, pod) {
		newer(out, ctrl_meta(pod, "creationTimestamp"));
		json_array_foreach(json_object_get(json_object_get(pod, "status"), "conditions"), k, cond)
			if (ctrl_str(cond, "type") && strcmp(ctrl_str(cond, "type"), "Ready") == 0)
				newer(out, ctrl_str(cond, "lastTransitionTime"));
	}
}
