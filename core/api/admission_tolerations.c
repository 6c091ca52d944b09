/*
 * The DefaultTolerationSeconds admission plugin: a new pod that does not
 * say how long it tolerates its node being not-ready or unreachable gets
 * NoExecute tolerations for both, for `seconds` (300 by default, as
 * kube-apiserver's --default-not-ready-toleration-seconds and
 * --default-unreachable-toleration-seconds).  This is what lets pods ride
 * out a short network cut and be evicted (and replaced elsewhere by their
 * controllers) after a long one.
 */
#include <stdbool.h>
#include <string.h>

#include "api_internal.h"

static bool covers(const json_t *tolerations, const char *key)
{
	size_t i;
	json_t *t;

	json_array_foreach(tolerations, i, t) {
		const char *k = json_string_value(json_object_get(t, "key"));
		const char *e = json_string_value(json_object_get(t, "effect"));
		if ((k == NULL || k[0] == '\0' || strcmp(k, key) == 0) &&
		    (e == NULL || e[0] == '\0' || strcmp(e, "NoExecute") == 0))
			return true;
	}
	return false;
}

void admit_default_tolerations(json_t *pod_spec, long long seconds)
{
	static const char *const keys[] = {"node.kubernetes.io/not-ready",
					   "node.kubernetes.io/unreachable"};
	json_t *tolerations;

	if (!json_is_object(pod_spec) || seconds < 0)
		return;
	tolerations = json_object_get(pod_spec, "tolerations");
	if (tolerations != NULL && !json_is_array(tolerations))
		return; /* the decoder refuses that; nothing to add to */
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		if (covers(tolerations, keys[i]))
			continue;
		if (tolerations == NULL) {
			tolerations = json_array();
			json_object_set_new(pod_spec, "tolerations", tolerations);
		}
		json_array_append_new(tolerations,
				      json_pack("{s:s, s:s, s:s, s:I}", "key", keys[i], "operator",
						"Exists", "effect", "NoExecute", "tolerationSeconds",
						(json_int_t)seconds));
	}
}
