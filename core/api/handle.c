/*
 * Dispatch of a routed resource call to its verb (worker thread).
 */
#include <string.h>

#include "api_internal.h"

void api_handle(struct api_call *c)
{
	bool scale = c->sub != NULL && strcmp(c->sub, "scale") == 0;
	switch (c->verb) {
	case VERB_GET:
		if (scale)
			api_do_get_scale(c);
		else
			api_do_get(c);
		break;
	case VERB_LIST:
		api_do_list(c);
		break;
	case VERB_WATCH:
		api_do_watch_setup(c);
		break;
	case VERB_CREATE:
		if (c->sub != NULL && strcmp(c->sub, "eviction") == 0)
			api_do_evict(c);
		else
			api_do_create(c);
		break;
	case VERB_UPDATE:
		api_do_update(c);
		break;
	case VERB_PATCH:
		api_do_patch(c);
		break;
	case VERB_DELETE:
		api_do_delete(c);
		break;
	case VERB_DELETECOLLECTION:
		api_do_deletecollection(c);
		break;
	}
}
