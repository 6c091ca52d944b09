#include "members_json.h"

#include <jansson.h>
#include <stdlib.h>

#include "../base/err.h"
#include "../store/dq_client.h"

char *cluster_members_json(const char *self_address)
{
	struct dq_client_config cc = {.members = (const char *const[]){self_address},
				      .n_members = 1, .direct = true};
	struct dq_client *c;
	if (dq_client_open(&cc, &c) != MK_OK)
		return NULL;
	struct dq_server *servers;
	size_t n;
	char *text = NULL;
	if (dq_cluster(c, &servers, &n) == MK_OK) {
		json_t *voters = json_array(), *standbys = json_array(), *spares = json_array();
		for (size_t i = 0; i < n; i++) {
			json_t *list = servers[i].role == DQ_VOTER     ? voters
				       : servers[i].role == DQ_STANDBY ? standbys
								       : spares;
			json_array_append_new(list, json_string(servers[i].address));
		}
		json_t *j = json_pack("{s:o, s:o, s:o}", "voters", voters, "standbys", standbys,
				      "spares", spares);
		text = j ? json_dumps(j, JSON_COMPACT) : NULL;
		json_decref(j);
		free(servers);
	}
	dq_client_close(c);
	return text;
}
