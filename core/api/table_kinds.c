/*
 * Which kinds have their own columns, and the tables of the few kinds not
 * covered elsewhere: Lease, the RBAC bindings (printers.go, v1.32), and
 * the kinds the real server prints with its default table convertor
 * (k8s.io/apiserver rest.defaultTableConvertor: Name, Created At) --
 * Role, ClusterRole, CustomResourceDefinition.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../base/buf.h"
#include "table.h"
#include "table_internal.h"

#define NAME {"Name", NULL, "name", 0}
#define AGE {"Age", NULL, NULL, 0}
#define END {NULL, NULL, NULL, 0}

static const struct table_column lease_columns[] = {
	NAME, {"Holder", NULL, NULL, 0}, AGE, END,
};

static void lease_cells(const json_t *o, time_t now, json_t *cells)
{
	tc_name(cells, o);
	tc_text(cells, tc_str(o, "spec.holderIdentity"));
	tc_age(cells, o, now);
}

static const struct table_column binding_columns[] = {
	NAME, {"Role", NULL, NULL, 0}, AGE, {"Users", NULL, NULL, 1},
	{"Groups", NULL, NULL, 1}, {"ServiceAccounts", NULL, NULL, 1}, END,
};

/* rbac.SubjectsStrings: users, groups and namespace/name of service
 * accounts, each list joined with ", ". */
static void subjects(json_t *cells, const json_t *o, const char *kind)
{
	struct mk_buf b = MK_BUF_INIT;
	size_t i, n = 0;
	json_t *s;
	json_array_foreach(tc_at(o, "subjects"), i, s) {
		if (strcmp(tc_str(s, "kind") ?: "", kind) != 0)
			continue;
		tc_cat(&b, NULL, n++ ? ", " : "");
		if (strcmp(kind, "ServiceAccount") == 0) {
			tc_cat(&b, NULL, tc_str(s, "namespace"));
			tc_cat(&b, NULL, "/");
		}
		tc_cat(&b, NULL, tc_str(s, "name"));
	}
	tc_buf_cell(cells, &b, "");
}

static void binding_cells(const json_t *o, time_t now, json_t *cells)
{
	struct mk_buf role = MK_BUF_INIT;
	tc_cat(&role, NULL, tc_str(o, "roleRef.kind"));
	tc_cat(&role, NULL, "/");
	tc_cat(&role, NULL, tc_str(o, "roleRef.name"));
	tc_name(cells, o);
	tc_buf_cell(cells, &role, "");
	tc_age(cells, o, now);
	subjects(cells, o, "User");
	subjects(cells, o, "Group");
	subjects(cells, o, "ServiceAccount");
}

static const struct table_column created_columns[] = {
	NAME, {"Created At", "date", NULL, 0}, END,
};

/* The creation time in RFC 3339, UTC; Go's zero time when unset. */
static void created_cells(const json_t *o, time_t now, json_t *cells)
{
	char text[64] = "0001-01-01T00:00:00Z";
	time_t t;
	struct tm tm;
	(void)now;
	if (table_time(tc_str(o, "metadata.creationTimestamp"), &t) && gmtime_r(&t, &tm))
		strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
	tc_name(cells, o);
	tc_text(cells, text);
}

static const struct table_kind other_kinds[] = {
	{"coordination.k8s.io", "Lease", lease_columns, lease_cells, NULL},
	{"rbac.authorization.k8s.io", "RoleBinding", binding_columns, binding_cells, NULL},
	{"rbac.authorization.k8s.io", "ClusterRoleBinding", binding_columns, binding_cells, NULL},
	{"rbac.authorization.k8s.io", "Role", created_columns, created_cells, NULL},
	{"rbac.authorization.k8s.io", "ClusterRole", created_columns, created_cells, NULL},
	{"apiextensions.k8s.io", "CustomResourceDefinition", created_columns, created_cells, NULL},
	{NULL, NULL, NULL, NULL, NULL},
};

const struct table_kind *table_kind_find(const char *group, const char *kind)
{
	const struct table_kind *const lists[] = {table_pod_kinds, table_workload_kinds,
						  table_core_kinds, table_storage_kinds,
						  other_kinds};
	if (group == NULL || kind == NULL)
		return NULL;
	for (size_t l = 0; l < sizeof lists / sizeof lists[0]; l++)
		for (const struct table_kind *k = lists[l]; k->kind; k++)
			if (strcmp(k->kind, kind) == 0 && strcmp(k->group, group) == 0)
				return k;
	return NULL;
}
