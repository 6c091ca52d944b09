/* Lookups in the generated type tables (see schema_internal.h). */
#include "schema_internal.h"

#include <string.h>

static int kind_cmp(const struct schema_kind *k, const char *group, const char *version,
		    const char *kind)
{
	int c = strcmp(group, schema_str(k->group));
	if (c == 0)
		c = strcmp(version, schema_str(k->version));
	if (c == 0)
		c = strcmp(kind, schema_str(k->kind));
	return c;
}

static const struct schema_kind *find_kind(const char *group, const char *version,
					   const char *kind, bool gv_only)
{
	size_t lo = 0, hi = schema_n_kinds;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = kind_cmp(&schema_kinds[mid], group, version, kind);
		if (c == 0)
			return &schema_kinds[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	/* `lo` is where the kind would sit: a neighbour with the same group
	 * and version says the group/version is served. */
	if (gv_only) {
		for (size_t i = lo > 0 ? lo - 1 : 0; i < schema_n_kinds && i <= lo; i++) {
			const struct schema_kind *k = &schema_kinds[i];
			if (!strcmp(group, schema_str(k->group)) &&
			    !strcmp(version, schema_str(k->version)))
				return k;
		}
	}
	return NULL;
}

const struct schema_msg *schema_kind(const char *group, const char *version, const char *kind)
{
	if (!group || !version || !kind)
		return NULL;
	const struct schema_kind *k = find_kind(group, version, kind, false);
	if (k)
		return &schema_msgs[k->msg];
	/* The API server registers the meta/v1 kinds (options, Status) in
	 * every group version. */
	if (!find_kind(group, version, kind, true))
		return NULL;
	k = find_kind("meta.k8s.io", "v1", kind, false);
	return k ? &schema_msgs[k->msg] : NULL;
}

const struct schema_msg *schema_type(const char *full_name)
{
	for (size_t i = 0; full_name && i < schema_n_msgs; i++)
		if (!strcmp(full_name, schema_str(schema_msgs[i].name)))
			return &schema_msgs[i];
	return NULL;
}

const char *schema_msg_name(const struct schema_msg *t)
{
	return schema_str(t->name);
}

const struct schema_field *schema_field_by_number(const struct schema_msg *t, uint32_t number)
{
	const struct schema_field *f = &schema_fields[t->first];
	size_t lo = 0, hi = t->n_fields;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (f[mid].number == number)
			return &f[mid];
		if (f[mid].number < number)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Inline fields nest at most a few levels (RuleWithOperations.rule); the
 * bound only guards against a cycle in a malformed table. */
static const struct schema_field *by_name(const struct schema_msg *t, const char *name, int depth)
{
	const struct schema_field *f = &schema_fields[t->first];
	const uint8_t *order = &schema_by_name[t->first];
	size_t lo = 0, hi = t->n_fields;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct schema_field *m = &f[order[mid]];
		int c = strcmp(name, schema_str(m->name));
		if (c == 0) {
			/* An inline field's own proto name is not a JSON key. */
			if (!(m->flags & SCHEMA_F_INLINE))
				return m;
			break;
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	if (depth >= 4)
		return NULL;
	for (size_t i = 0; i < t->n_fields; i++) {
		if (!(f[i].flags & SCHEMA_F_INLINE))
			continue;
		const struct schema_field *r = by_name(schema_msg_of(&f[i]), name, depth + 1);
		if (r)
			return r;
	}
	return NULL;
}

const struct schema_field *schema_field_by_name(const struct schema_msg *t, const char *name)
{
	return by_name(t, name, 0);
}
