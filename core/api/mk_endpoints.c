/*
 * mk's own endpoints on the API port (/mk/v1/...), for the `mk` CLI.
 * Only authenticated callers get here.
 */
#include <stdlib.h>
#include <string.h>

#include "../base/err.h"
#include "../base/version.h"
#include "../store/store.h"
#include "api_internal.h"

struct status_call {
	uv_work_t work;
	struct api_server *srv;
	struct http_exchange *x;
	json_t *body;
	int code;
};

static void status_run(uv_work_t *w)
{
	struct status_call *sc = w->data;
	struct api_server *s = sc->srv;
	struct store *store = atomic_load(&s->store);
	int64_t rev = 0, compacted = 0;
	bool ready = store != NULL && store_revision(store, &rev, &compacted) == MK_OK;
	json_t *members = NULL;
	if (s->cfg.datastore_members != NULL) {
		char *text = s->cfg.datastore_members(s->cfg.datastore_arg);
		members = text ? json_loads(text, 0, NULL) : NULL;
		free(text);
	}
	if (!json_is_object(members)) {
		json_decref(members);
		members = json_pack("{s:[], s:[], s:[]}", "voters", "standbys", "spares");
	}
	bool ha = json_array_size(json_object_get(members, "voters")) >= 3;
	sc->body = json_pack("{s:s, s:b, s:{s:s, s:s}, s:b, s:o, s:I, s:{s:[], s:[]}}", "version",
			     MK_VERSION, "ready", ready, "node", "name",
			     s->cfg.node_name ? s->cfg.node_name : "", "address",
			     s->cfg.node_address ? s->cfg.node_address : "", "highAvailability", ha,
			     "datastore", members, "revision", (json_int_t)rev, "addons", "enabled",
			     "disabled");
	sc->code = 200;
}

static void status_done(uv_work_t *w, int status)
{
	struct status_call *sc = w->data;
	(void)status;
	struct api_server *s = sc->srv;
	api_send_json(sc->x, sc->code, sc->body, NULL, 0);
	json_decref(sc->body);
	free(sc);
	api_server_call_done(s);
}

bool api_mk_endpoint(struct api_server *s, struct http_exchange *x, struct api_user *user,
		     struct api_query *q)
{
	const struct http_request *r = http_exchange_request(x);
	if (strncmp(r->path, "/mk/", 4) != 0)
		return false;
	api_user_clear(user);
	api_query_free(q);
	if (strcmp(r->path, "/mk/v1/status") != 0) {
		api_send_status(x, 404, "NotFound", "the server could not find the requested resource");
		return true;
	}
	if (strcmp(r->method, "GET") != 0) {
		api_send_status(x, 405, "MethodNotAllowed", "only GET is allowed here");
		return true;
	}
	struct status_call *sc = calloc(1, sizeof *sc);
	if (sc == NULL) {
		api_send_status(x, 500, "InternalError", "out of memory");
		return true;
	}
	sc->srv = s;
	sc->x = x;
	sc->work.data = sc;
	if (uv_queue_work(s->loop, &sc->work, status_run, status_done) != 0) {
		free(sc);
		api_send_status(x, 500, "InternalError", "cannot queue the request");
		return true;
	}
	s->calls++;
	return true;
}
