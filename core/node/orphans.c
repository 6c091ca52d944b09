/*
 * Pods that exist on disk but no longer in the API: deleted while mkd was
 * down, or force-deleted while their worker was busy.  Their containers
 * are killed, their network and files released.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/fs.h"
#include "../base/log.h"
#include "../kube/informer.h"
#include "node_internal.h"

static void kill_containers(struct pod_worker *w)
{
	char base[PATH_MAX + 16];
	struct dirent *de, *ae;

	snprintf(base, sizeof base, "%s/containers", w->dir);
	DIR *d = opendir(base);
	while (d != NULL && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		char cdir[PATH_MAX + 300];
		snprintf(cdir, sizeof cdir, "%s/%s", base, de->d_name);
		DIR *ad = opendir(cdir);
		while (ad != NULL && (ae = readdir(ad)) != NULL) {
			char *end;
			long attempt = strtol(ae->d_name, &end, 10);
			if (ae->d_name[0] != '.' && *end == '\0')
				ctr_remove_attempt(w, de->d_name, (int)attempt);
		}
		if (ad)
			closedir(ad);
	}
	if (d)
		closedir(d);
}

static void clean_one(struct node_agent *a, const char *uid)
{
	struct pod_worker w = { .agent = a };
	char who[PATH_MAX + 16], logs[PATH_MAX + 600];

	snprintf(w.uid, sizeof w.uid, "%s", uid);
	snprintf(w.dir, sizeof w.dir, "%s/%s", a->pods_dir, uid);
	snprintf(who, sizeof who, "%s/pod.json", w.dir);
	json_t *id = json_load_file(who, 0, NULL);
	snprintf(w.ns, sizeof w.ns, "%s", js(id, "namespace") ? js(id, "namespace") : "");
	snprintf(w.name, sizeof w.name, "%s", js(id, "name") ? js(id, "name") : "");
	json_decref(id);
	kill_containers(&w);
	sandbox_teardown(&w);
	mk_remove_tree(w.dir);
	if (w.ns[0] && w.name[0]) {
		snprintf(logs, sizeof logs, "%s/%s_%s_%s", a->logs_dir, w.ns, w.name, uid);
		mk_remove_tree(logs);
	}
	mk_info(NODE_LOG, "removed pod %s/%s (%s): no longer in the API", w.ns, w.name, uid);
}

void pod_orphans_cleanup(struct node_agent *a)
{
	if (a->pods_mine == NULL || !kube_informer_synced(a->pods_mine))
		return;
	DIR *d = opendir(a->pods_dir);
	struct dirent *de;
	char orphans[16][64];
	int n = 0;

	while (d != NULL && (de = readdir(d)) != NULL && n < 16) {
		if (de->d_name[0] == '.' || strlen(de->d_name) >= 64)
			continue;
		bool known = false;
		pthread_mutex_lock(&a->lock);
		for (struct pod_worker *w = a->workers; w != NULL; w = w->next)
			if (strcmp(w->uid, de->d_name) == 0)
				known = true;
		pthread_mutex_unlock(&a->lock);
		if (!known)
			snprintf(orphans[n++], sizeof orphans[0], "%s", de->d_name);
	}
	if (d)
		closedir(d);
	for (int i = 0; i < n; i++)
		clean_one(a, orphans[i]);
}
