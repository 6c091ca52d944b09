/*
 * Discovery: legacy (/api, /apis, /api/v1, /apis/G, /apis/G/V) and
 * aggregated (apidiscovery.k8s.io/v2), with ETags so kubectl's HTTP cache
 * revalidates with a 304 (reference/kubectl-api.md §1).  Everything comes
 * from the resource table, on the loop thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "../base/err.h"
#include "api_internal.h"

#define AGGREGATED_TYPE "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"

static json_t *verbs_all(void)
{
	return json_pack("[s,s,s,s,s,s,s,s]", "create", "delete", "deletecollection", "get",
			 "list", "patch", "update", "watch");
}

static void add_names(json_t *entry, const struct api_resource *r)
{
	if (r->short_names[0] != NULL) {
		json_t *sn = json_array();
		for (size_t i = 0; i < 3 && r->short_names[i]; i++)
			json_array_append_new(sn, json_string(r->short_names[i]));
		json_object_set_new(entry, "shortNames", sn);
	}
	if (r->in_all)
		json_object_set_new(entry, "categories", json_pack("[s]", "all"));
}

struct sub_desc {
	unsigned flag;  /* SUB_POD: every built-in pods resource */
	const char *name;
	const char *group, *version, *kind; /* NULL: the resource's own */
	bool create_only;                   /* verbs [create], else [get, patch, update] */
};

#define SUB_POD (1u << 31)

/* kubectl drain looks for pods/eviction, kind Eviction in group policy. */
static const struct sub_desc subs[] = {
	{RES_SUB_STATUS, "status", NULL, NULL, NULL, false},
	{RES_SUB_SCALE, "scale", "autoscaling", "v1", "Scale", false},
	{RES_SUB_FINALIZE, "finalize", NULL, NULL, NULL, false},
	{SUB_POD, "binding", NULL, NULL, "Binding", true},
	{SUB_POD, "eviction", "policy", "v1", "Eviction", true},
};

static bool has_sub(const struct api_resource *r, const struct sub_desc *d)
{
	if (d->flag == SUB_POD)
		return !r->custom && r->group[0] == '\0' && strcmp(r->plural, "pods") == 0;
	return r->subresources & d->flag;
}

static json_t *sub_verbs(const struct sub_desc *d)
{
	return d->create_only ? json_pack("[s]", "create")
			      : json_pack("[s,s,s]", "get", "patch", "update");
}

/* APIResourceList for one group version. */
static json_t *resource_list(struct resource_set *rs, const char *group, const char *version)
{
	json_t *items = json_array();
	char gv[128];
	size_t n = resource_set_count(rs);
	for (size_t i = 0; i < n; i++) {
		const struct api_resource *r = resource_set_at(rs, i);
		if (strcmp(r->group, group) || strcmp(r->version, version))
			continue;
		resource_group_version(r, gv, sizeof gv);
		json_t *e = json_pack("{s:s, s:s, s:b, s:s, s:o}", "name", r->plural, "singularName",
				      r->singular, "namespaced", r->namespaced, "kind", r->kind,
				      "verbs", verbs_all());
		add_names(e, r);
		json_array_append_new(items, e);
		for (size_t k = 0; k < sizeof subs / sizeof subs[0]; k++) {
			if (!has_sub(r, &subs[k]))
				continue;
			char name[256];
			snprintf(name, sizeof name, "%s/%s", r->plural, subs[k].name);
			json_t *s = json_pack("{s:s, s:s, s:b, s:s, s:o}", "name", name,
					      "singularName", "", "namespaced", r->namespaced, "kind",
					      subs[k].kind ? subs[k].kind : r->kind, "verbs",
					      sub_verbs(&subs[k]));
			if (subs[k].group != NULL) {
				json_object_set_new(s, "group", json_string(subs[k].group));
				json_object_set_new(s, "version", json_string(subs[k].version));
			}
			json_array_append_new(items, s);
		}
	}
	if (json_array_size(items) == 0) {
		json_decref(items);
		return NULL;
	}
	snprintf(gv, sizeof gv, "%s%s%s", group, group[0] ? "/" : "", version);
	return json_pack("{s:s, s:s, s:s, s:o}", "kind", "APIResourceList", "apiVersion", "v1",
			 "groupVersion", gv, "resources", items);
}

/* Group versions in table order, core first. */
struct gv {
	const char *group, *version;
};

static size_t group_versions(struct resource_set *rs, struct gv *out, size_t max)
{
	size_t n = 0, count = resource_set_count(rs);
	for (size_t i = 0; i < count; i++) {
		const struct api_resource *r = resource_set_at(rs, i);
		size_t k;
		for (k = 0; k < n; k++)
			if (!strcmp(out[k].group, r->group) && !strcmp(out[k].version, r->version))
				break;
		if (k == n && n < max)
			out[n++] = (struct gv){r->group, r->version};
	}
	return n;
}

static json_t *aggregated_group(struct resource_set *rs, const char *group, const struct gv *gvs,
				size_t n_gv)
{
	json_t *versions = json_array();
	for (size_t g = 0; g < n_gv; g++) {
		if (strcmp(gvs[g].group, group) != 0)
			continue;
		json_t *resources = json_array();
		size_t count = resource_set_count(rs);
		for (size_t i = 0; i < count; i++) {
			const struct api_resource *r = resource_set_at(rs, i);
			if (strcmp(r->group, group) || strcmp(r->version, gvs[g].version))
				continue;
			json_t *e = json_pack("{s:s, s:{s:s, s:s, s:s}, s:s, s:s, s:o}", "resource",
					      r->plural, "responseKind", "group", r->group, "version",
					      r->version, "kind", r->kind, "scope",
					      r->namespaced ? "Namespaced" : "Cluster",
					      "singularResource", r->singular, "verbs", verbs_all());
			add_names(e, r);
			json_t *sa = json_array();
			for (size_t k = 0; k < sizeof subs / sizeof subs[0]; k++) {
				if (!has_sub(r, &subs[k]))
					continue;
				json_array_append_new(
					sa, json_pack("{s:s, s:{s:s, s:s, s:s}, s:o}", "subresource",
						      subs[k].name, "responseKind", "group",
						      subs[k].group ? subs[k].group : r->group, "version",
						      subs[k].version ? subs[k].version : r->version,
						      "kind", subs[k].kind ? subs[k].kind : r->kind,
						      "verbs", sub_verbs(&subs[k])));
			}
			if (json_array_size(sa) > 0)
				json_object_set_new(e, "subresources", sa);
			else
				json_decref(sa);
			json_array_append_new(resources, e);
		}
		json_array_append_new(versions, json_pack("{s:s, s:s, s:o}", "version",
							  gvs[g].version, "freshness", "Current",
							  "resources", resources));
	}
	return json_pack("{s:{s:s}, s:o}", "metadata", "name", group, "versions", versions);
}

static json_t *group_entry(const char *group, const struct gv *gvs, size_t n_gv)
{
	json_t *versions = json_array();
	json_t *preferred = NULL;
	for (size_t g = 0; g < n_gv; g++) {
		if (strcmp(gvs[g].group, group) != 0)
			continue;
		char gv[128];
		snprintf(gv, sizeof gv, "%s/%s", group, gvs[g].version);
		json_t *v = json_pack("{s:s, s:s}", "groupVersion", gv, "version", gvs[g].version);
		if (preferred == NULL)
			preferred = json_deep_copy(v);
		json_array_append_new(versions, v);
	}
	return json_pack("{s:s, s:o, s:o}", "name", group, "versions", versions,
			 "preferredVersion", preferred ? preferred : json_object());
}

/* Sends `body` with an ETag; 304 when the client's copy is current. */
static void send_cached(struct http_exchange *x, json_t *body, const char *ctype)
{
	char *text = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	if (text == NULL) {
		api_send_status(x, 500, "InternalError", "out of memory");
		return;
	}
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_Digest(text, strlen(text), md, &mdlen, EVP_sha256(), NULL);
	char etag[40] = "\"";
	for (int i = 0; i < 16; i++)
		snprintf(etag + 1 + 2 * i, 3, "%02x", md[i]);
	strcat(etag, "\"");
	struct http_header h[] = {{"ETag", etag}, {"Vary", "Accept"}};
	const char *inm = http_request_header(http_exchange_request(x), "if-none-match");
	if (inm != NULL && strcmp(inm, etag) == 0)
		http_respond(x, 304, NULL, h, 2, NULL, 0);
	else
		http_respond(x, 200, ctype, h, 2, text, strlen(text));
	free(text);
}

static bool wants_aggregated(struct http_exchange *x)
{
	const char *accept = http_request_header(http_exchange_request(x), "accept");
	return accept != NULL && strstr(accept, "as=APIGroupDiscoveryList") != NULL &&
	       strstr(accept, "v=v2;") != NULL;
}

bool api_discovery(struct api_server *s, struct http_exchange *x, const char *path)
{
	if (strcmp(path, "/api") != 0 && strcmp(path, "/apis") != 0 &&
	    strncmp(path, "/api/", 5) != 0 && strncmp(path, "/apis/", 6) != 0)
		return false;
	struct resource_set *rs = resource_registry_get(s->resources);
	struct gv gvs[64];
	size_t n_gv = group_versions(rs, gvs, 64);
	bool handled = true;
	json_t *body = NULL;
	const char *ctype = "application/json";
	if (strcmp(path, "/api") == 0) {
		if (wants_aggregated(x)) {
			json_t *items = json_array();
			json_array_append_new(items, aggregated_group(rs, "", gvs, n_gv));
			body = json_pack("{s:s, s:s, s:{}, s:o}", "kind", "APIGroupDiscoveryList",
					 "apiVersion", "apidiscovery.k8s.io/v2", "metadata", "items",
					 items);
			ctype = AGGREGATED_TYPE;
		} else {
			body = json_pack("{s:s, s:[s], s:[{s:s, s:s}]}", "kind", "APIVersions",
					 "versions", "v1", "serverAddressByClientCIDRs", "clientCIDR",
					 "0.0.0.0/0", "serverAddress", s->cfg.node_address ?: "127.0.0.1");
		}
	} else if (strcmp(path, "/apis") == 0) {
		bool agg = wants_aggregated(x);
		json_t *items = json_array();
		for (size_t g = 0; g < n_gv; g++) {
			const char *group = gvs[g].group;
			bool seen = group[0] == '\0';
			for (size_t k = 0; k < g && !seen; k++)
				seen = strcmp(gvs[k].group, group) == 0;
			if (seen)
				continue;
			json_array_append_new(items, agg ? aggregated_group(rs, group, gvs, n_gv)
							 : group_entry(group, gvs, n_gv));
		}
		if (agg) {
			body = json_pack("{s:s, s:s, s:{}, s:o}", "kind", "APIGroupDiscoveryList",
					 "apiVersion", "apidiscovery.k8s.io/v2", "metadata", "items",
					 items);
			ctype = AGGREGATED_TYPE;
		} else {
			body = json_pack("{s:s, s:s, s:o}", "kind", "APIGroupList", "apiVersion", "v1",
					 "groups", items);
		}
	} else if (strcmp(path, "/api/v1") == 0) {
		body = resource_list(rs, "", "v1");
	} else if (strncmp(path, "/apis/", 6) == 0) {
		char group[256], version[64];
		int n = 0;
		if (sscanf(path + 6, "%255[^/]%n/%63[^/]%n", group, &n, version, &n) >= 1) {
			if (path[6 + n] != '\0')
				handled = false; /* a resource path */
			else if (strchr(path + 6, '/') == NULL) {
				bool known = false;
				for (size_t g = 0; g < n_gv; g++)
					known |= strcmp(gvs[g].group, group) == 0;
				if (known) {
					body = group_entry(group, gvs, n_gv);
					json_object_set_new(body, "kind", json_string("APIGroup"));
					json_object_set_new(body, "apiVersion", json_string("v1"));
				}
			} else {
				body = resource_list(rs, group, version);
			}
		} else {
			handled = false;
		}
	} else {
		handled = false;
	}
	resource_set_release(rs);
	if (!handled)
		return false;
	if (body == NULL)
		api_send_status(x, 404, "NotFound", "the server could not find the requested resource");
	else
		send_cached(x, body, ctype);
	return true;
}

/* --- OpenAPI v3 ----------------------------------------------------------- */

/* A minimal document per group version: each kind's PATCH declares the
 * fieldValidation parameter, which is what kubectl checks before it lets
 * the server validate (reference §2).  No schemas: `kubectl explain` is
 * not served yet. */
static json_t *openapi_doc(struct resource_set *rs, const char *group, const char *version)
{
	json_t *paths = json_object();
	size_t count = resource_set_count(rs);
	for (size_t i = 0; i < count; i++) {
		const struct api_resource *r = resource_set_at(rs, i);
		if (strcmp(r->group, group) || strcmp(r->version, version))
			continue;
		char path[512];
		if (group[0])
			snprintf(path, sizeof path, "/apis/%s/%s/%s%s/{name}", group, version,
				 r->namespaced ? "namespaces/{namespace}/" : "", r->plural);
		else
			snprintf(path, sizeof path, "/api/%s/%s%s/{name}", version,
				 r->namespaced ? "namespaces/{namespace}/" : "", r->plural);
		json_t *op = json_pack(
			"{s:{s:{s:s, s:s, s:s}, s:[{s:s, s:s, s:{s:s}}]}}", "patch",
			"x-kubernetes-group-version-kind", "group", group, "version", version, "kind",
			r->kind, "parameters", "name", "fieldValidation", "in", "query", "schema",
			"type", "string");
		json_object_set_new(paths, path, op);
	}
	return json_pack("{s:s, s:{s:s, s:s}, s:{s:{}}, s:o}", "openapi", "3.0.0", "info", "title",
			 "Kubernetes", "version", "v1.32.0", "components", "schemas", "paths",
			 paths);
}

static void hash_of(json_t *doc, char out[17])
{
	char *text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	EVP_Digest(text ? text : "", text ? strlen(text) : 0, md, &n, EVP_sha256(), NULL);
	for (int i = 0; i < 8; i++)
		snprintf(out + 2 * i, 3, "%02X", md[i]);
	free(text);
}

bool api_openapi(struct api_server *s, struct http_exchange *x, const char *path)
{
	if (strncmp(path, "/openapi/", 9) != 0)
		return false;
	if (strcmp(path, "/openapi/v2") == 0) {
		/* kubectl tolerates a 404 here and uses its compiled-in types. */
		api_send_status(x, 404, "NotFound", "the server could not find the requested resource");
		return true;
	}
	struct resource_set *rs = resource_registry_get(s->resources);
	struct gv gvs[64];
	size_t n_gv = group_versions(rs, gvs, 64);
	json_t *body = NULL;
	if (strcmp(path, "/openapi/v3") == 0) {
		json_t *paths = json_object();
		for (size_t g = 0; g < n_gv; g++) {
			char key[256], url[320], hash[17];
			if (gvs[g].group[0])
				snprintf(key, sizeof key, "apis/%s/%s", gvs[g].group, gvs[g].version);
			else
				snprintf(key, sizeof key, "api/%s", gvs[g].version);
			json_t *doc = openapi_doc(rs, gvs[g].group, gvs[g].version);
			hash_of(doc, hash);
			json_decref(doc);
			snprintf(url, sizeof url, "/openapi/v3/%s?hash=%s", key, hash);
			json_object_set_new(paths, key, json_pack("{s:s}", "serverRelativeURL", url));
		}
		body = json_pack("{s:o}", "paths", paths);
	} else {
		const char *rest = path + strlen("/openapi/v3/");
		if (strncmp(path, "/openapi/v3/", 12) == 0) {
			for (size_t g = 0; g < n_gv && body == NULL; g++) {
				char key[256];
				if (gvs[g].group[0])
					snprintf(key, sizeof key, "apis/%s/%s", gvs[g].group, gvs[g].version);
				else
					snprintf(key, sizeof key, "api/%s", gvs[g].version);
				if (strcmp(rest, key) == 0)
					body = openapi_doc(rs, gvs[g].group, gvs[g].version);
			}
		}
	}
	resource_set_release(rs);
	if (body == NULL)
		api_send_status(x, 404, "NotFound", "the server could not find the requested resource");
	else
		send_cached(x, body, "application/json");
	return true;
}
