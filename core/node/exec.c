/*
 * `kubectl exec`: the runtime command line that runs a command inside a
 * running container (the API server spawns and streams it).
 *
 * This runs on the API's worker threads, not the pod's: it reads the
 * container's current attempt from disk, where every file is replaced
 * atomically, and so needs no lock with the pod worker.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../base/err.h"
#include "node_internal.h"

static int current_attempt(const char *base)
{
	DIR *d = opendir(base);
	struct dirent *de;
	int highest = -1;

	while (d != NULL && (de = readdir(d)) != NULL) {
		char *end;
		long v = strtol(de->d_name, &end, 10);
		if (de->d_name[0] != '.' && *end == '\0' && v > highest)
			highest = (int)v;
	}
	if (d)
		closedir(d);
	return highest;
}

int node_agent_exec_prepare(void *agent, const char *ns, const char *pod, const char *uid,
			    const char *container, int tty, const char *console_socket,
			    char *const *cmd, char ***argv_out, char *errmsg, size_t len)
{
	struct node_agent *a = agent;
	char base[PATH_MAX], dir[PATH_MAX + 32], file[PATH_MAX + 64];
	struct stat st;

	*argv_out = NULL;
	if (strchr(uid, '/') || strchr(container, '/') || uid[0] == '.' || container[0] == '.') {
		snprintf(errmsg, len, "invalid pod or container name");
		return MK_EINVAL;
	}
	snprintf(base, sizeof base, "%s/%s/containers/%s", a->pods_dir, uid, container);
	int attempt = current_attempt(base);
	snprintf(dir, sizeof dir, "%s/%d", base, attempt);
	snprintf(file, sizeof file, "%s/exit.json", dir);
	bool exited = stat(file, &st) == 0;
	snprintf(file, sizeof file, "%s/state.json", dir);
	if (attempt < 0 || exited || stat(file, &st) != 0) {
		snprintf(errmsg, len, "container %s is not running in pod %s/%s", container, ns, pod);
		return MK_ENOTFOUND;
	}
	json_t *state = json_load_file(file, 0, NULL);
	const char *id = js(state, "id");
	if (id == NULL) {
		json_decref(state);
		snprintf(errmsg, len, "container %s of pod %s/%s has no runtime state", container, ns,
			 pod);
		return MK_EIO;
	}
	size_t n = 0;
	while (cmd[n] != NULL)
		n++;
	char **argv = calloc(n + 12, sizeof *argv);
	size_t k = 0;
	if (argv == NULL)
		goto oom;
	if (tty) {
		/* runc gives a terminal's master away only when it detaches;
		 * mk-shim's exec mode waits in its place (see core/shim). */
		const char *v[] = { a->cfg.shim, "exec", "--runtime", a->cfg.runtime, "--root",
				    a->runc_root, "--id", id, "--console-socket",
				    console_socket ? console_socket : "", "--" };
		for (size_t i = 0; i < sizeof v / sizeof *v; i++)
			argv[k++] = strdup(v[i]);
	} else {
		const char *v[] = { a->cfg.runtime, "--root", a->runc_root, "exec", id };
		for (size_t i = 0; i < sizeof v / sizeof *v; i++)
			argv[k++] = strdup(v[i]);
	}
	for (size_t i = 0; i < n; i++)
		argv[k++] = strdup(cmd[i]);
	for (size_t i = 0; i < k; i++)
		if (argv[i] == NULL)
			goto oom;
	json_decref(state);
	*argv_out = argv;
	return MK_OK;
oom:
	if (argv != NULL)
		for (size_t i = 0; i < k; i++)
			free(argv[i]);
	free(argv);
	json_decref(state);
	snprintf(errmsg, len, "out of memory");
	return MK_ENOMEM;
}
