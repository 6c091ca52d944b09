#include "identity.h"

#include <errno.h>
#include <stdbool.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yaml.h>

#include "../base/err.h"

/* Writes `text` to dir/name atomically (temp file, fsync, rename), so a
 * crash leaves either the old or the new file. */
static int write_atomic(const char *dir, const char *name, const char *text)
{
	char path[4096], tmp[4200];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	if (f == NULL)
		return MK_EIO;
	int ok = fputs(text, f) >= 0 && fflush(f) == 0 && fsync(fileno(f)) == 0;
	ok = (fclose(f) == 0) && ok;
	if (!ok || rename(tmp, path) != 0) {
		unlink(tmp);
		return MK_EIO;
	}
	return MK_OK;
}

/* Parses dir/name into a libyaml document.  MK_ENOTFOUND if absent. */
static int load_doc(const char *dir, const char *name, yaml_document_t *doc, char *errmsg,
		    size_t len)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		if (errno == ENOENT)
			return MK_ENOTFOUND;
		snprintf(errmsg, len, "%s: %s", path, strerror(errno));
		return MK_EIO;
	}
	yaml_parser_t p;
	yaml_parser_initialize(&p);
	yaml_parser_set_input_file(&p, f);
	int ok = yaml_parser_load(&p, doc);
	if (!ok)
		snprintf(errmsg, len, "%s: %s at line %zu", path,
			 p.problem ? p.problem : "invalid YAML", p.problem_mark.line + 1);
	yaml_parser_delete(&p);
	fclose(f);
	return ok ? MK_OK : MK_EINVAL;
}

/* Reads {Address, ID, Role} from a mapping node.  ID 0 ("unknown") is
 * only allowed for cluster.yaml's join seeds. */
static int read_server(yaml_document_t *doc, yaml_node_t *map, struct dq_server *out,
		       bool allow_zero_id)
{
	if (map == NULL || map->type != YAML_MAPPING_NODE)
		return MK_EINVAL;
	int seen = 0;
	memset(out, 0, sizeof *out);
	for (yaml_node_pair_t *pr = map->data.mapping.pairs.start;
	     pr < map->data.mapping.pairs.top; pr++) {
		yaml_node_t *k = yaml_document_get_node(doc, pr->key);
		yaml_node_t *v = yaml_document_get_node(doc, pr->value);
		if (k == NULL || v == NULL || k->type != YAML_SCALAR_NODE ||
		    v->type != YAML_SCALAR_NODE)
			return MK_EINVAL;
		const char *key = (const char *)k->data.scalar.value;
		const char *val = (const char *)v->data.scalar.value;
		char *end;
		if (strcmp(key, "Address") == 0) {
			if (strlen(val) >= sizeof out->address || strchr(val, ':') == NULL)
				return MK_EINVAL;
			strcpy(out->address, val);
			seen |= 1;
		} else if (strcmp(key, "ID") == 0) {
			errno = 0;
			out->id = strtoull(val, &end, 10);
			/* strtoull would take "-5" as a huge id */
			if (errno || *end || end == val || val[0] == '-' ||
			    (out->id == 0 && !allow_zero_id))
				return MK_EINVAL;
			seen |= 2;
		} else if (strcmp(key, "Role") == 0) {
			unsigned long r = strtoul(val, &end, 10);
			if (*end || end == val || val[0] == '-' || r > DQ_SPARE)
				return MK_EINVAL;
			out->role = (enum dq_role)r;
		}
	}
	return seen == 3 ? MK_OK : MK_EINVAL;
}

int identity_load(const char *dir, struct node_identity *id, char *errmsg, size_t len)
{
	yaml_document_t doc;
	int rv = load_doc(dir, "info.yaml", &doc, errmsg, len);
	if (rv != MK_OK)
		return rv;
	struct dq_server s;
	rv = read_server(&doc, yaml_document_get_root_node(&doc), &s, false);
	yaml_document_delete(&doc);
	if (rv != MK_OK) {
		snprintf(errmsg, len, "%s/info.yaml: want Address (IP:PORT), a non-zero ID and Role 0-2",
			 dir);
		return rv;
	}
	id->id = s.id;
	id->role = s.role;
	strcpy(id->address, s.address);
	return MK_OK;
}

int identity_save(const char *dir, const struct node_identity *id)
{
	char text[256];
	snprintf(text, sizeof text, "Address: %s\nID: %" PRIu64 "\nRole: %d\n", id->address,
		 id->id, (int)id->role);
	return write_atomic(dir, "info.yaml", text);
}

int cluster_load(const char *dir, struct dq_server **servers, size_t *n, char *errmsg,
		 size_t len)
{
	*servers = NULL;
	*n = 0;
	yaml_document_t doc;
	int rv = load_doc(dir, "cluster.yaml", &doc, errmsg, len);
	if (rv == MK_ENOTFOUND)
		return MK_OK;
	if (rv != MK_OK)
		return rv;
	yaml_node_t *root = yaml_document_get_root_node(&doc);
	if (root == NULL || root->type != YAML_SEQUENCE_NODE) {
		yaml_document_delete(&doc);
		snprintf(errmsg, len, "%s/cluster.yaml: want a list of servers", dir);
		return MK_EINVAL;
	}
	size_t count = (size_t)(root->data.sequence.items.top - root->data.sequence.items.start);
	struct dq_server *s = calloc(count ? count : 1, sizeof *s);
	if (s == NULL) {
		yaml_document_delete(&doc);
		return MK_ENOMEM;
	}
	for (size_t i = 0; i < count; i++) {
		yaml_node_t *item =
			yaml_document_get_node(&doc, root->data.sequence.items.start[i]);
		if (read_server(&doc, item, &s[i], true) != MK_OK) {
			free(s);
			yaml_document_delete(&doc);
			snprintf(errmsg, len, "%s/cluster.yaml: entry %zu wants Address and ID",
				 dir, i + 1);
			return MK_EINVAL;
		}
	}
	yaml_document_delete(&doc);
	*servers = s;
	*n = count;
	return MK_OK;
}

int cluster_save(const char *dir, const struct dq_server *servers, size_t n)
{
	size_t cap = 64 + n * 128;
	char *text = malloc(cap);
	if (text == NULL)
		return MK_ENOMEM;
	size_t used = 0;
	text[0] = '\0';
	for (size_t i = 0; i < n; i++)
		used += (size_t)snprintf(text + used, cap - used,
					 "- Address: %s\n  ID: %" PRIu64 "\n  Role: %d\n",
					 servers[i].address, servers[i].id, (int)servers[i].role);
	int rv = write_atomic(dir, "cluster.yaml", text);
	free(text);
	return rv;
}
