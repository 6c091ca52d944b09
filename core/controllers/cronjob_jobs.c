/*
 * A CronJob's Jobs (cronjob_internal.h): creating the run of a scheduled
 * time, following them in status.active, deleting the old ones, writing
 * the status.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../base/err.h"
#include "../base/log.h"
#include "../kube/client.h"
#include "../kube/events.h"
#include "../kube/informer.h"
#include "cronjob_internal.h"

static bool same(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") == 0;
}

int cj_sync_init(struct cj_sync *s, struct cronjob_controller *c, const char *key,
		 const json_t *cj)
{
	size_t i;
	json_t *job;

	memset(s, 0, sizeof *s);
	s->c = c;
	s->key = key;
	s->cj = json_deep_copy(cj);
	s->all = kube_informer_list(ctrl_informer(c->ctl, INF_JOBS));
	s->jobs = calloc(json_array_size(s->all) + 1, sizeof *s->jobs);
	if (s->cj == NULL || s->all == NULL || s->jobs == NULL)
		return MK_ENOMEM;
	json_object_set_new(s->cj, "apiVersion", json_string("batch/v1"));
	json_object_set_new(s->cj, "kind", json_string("CronJob"));
	s->status = json_deep_copy(json_object_get(cj, "status"));
	if (!json_is_object(s->status)) {
		json_decref(s->status);
		s->status = json_object();
	}
	snprintf(s->rv, sizeof s->rv, "%s", ctrl_meta(cj, "resourceVersion") ?: "");
	json_array_foreach(s->all, i, job)
		if (same(ctrl_meta(job, "namespace"), ctrl_meta(cj, "namespace")) &&
		    controlled_by(job, "CronJob", ctrl_meta(cj, "uid")))
			s->jobs[s->n_jobs++] = job;
	return MK_OK;
}

void cj_sync_free(struct cj_sync *s)
{
	json_decref(s->cj);
	json_decref(s->status);
	json_decref(s->all);
	free(s->jobs);
}

int64_t cj_earliest(const struct cj_sync *s, int64_t now, bool with_deadline)
{
	const char *last = ctrl_str(s->status, "lastScheduleTime");
	int64_t t = ctrl_parse_time(last ? last : ctrl_meta(s->cj, "creationTimestamp")) / 1000;
	const json_t *sds = json_object_get(json_object_get(s->cj, "spec"), "startingDeadlineSeconds");
	if (with_deadline && json_is_integer(sds) && now - json_integer_value(sds) > t)
		t = now - json_integer_value(sds);
	return t;
}

void cj_job_name(const struct cj_sync *s, int64_t t, char *out, size_t len)
{
	snprintf(out, len, "%s-%" PRId64, ctrl_meta(s->cj, "name") ?: "", t / 60);
}

void cj_time(int64_t t, char *out, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Go's RFC 3339 of t in tz: "Z" for a zero offset, else "+hh:mm". */
static void zoned_time(int64_t t, const struct cron_tz *tz, char *out, size_t len)
{
	struct cron_civil c;
	cron_tz_civil(tz, t, &c);
	int n = snprintf(out, len, "%04d-%02d-%02dT%02d:%02d:%02d", c.year, c.month, c.day, c.hour,
			 c.minute, c.second);
	int32_t off = c.offset < 0 ? -c.offset : c.offset;
	if (c.offset == 0)
		snprintf(out + n, len - (size_t)n, "Z");
	else
		snprintf(out + n, len - (size_t)n, "%c%02d:%02d", c.offset < 0 ? '-' : '+',
			 (int)(off / 3600), (int)(off / 60 % 60));
}

static bool in_active(const json_t *status, const char *uid, const char *name)
{
	size_t i;
	json_t *ref;
	json_array_foreach(json_object_get(status, "active"), i, ref)
		if ((uid && same(ctrl_str(ref, "uid"), uid)) || (name && same(ctrl_str(ref, "name"), name)))
			return true;
	return false;
}

bool cj_active_by_name(const struct cj_sync *s, const char *name)
{
	return in_active(s->status, NULL, name);
}

static void drop_active(struct cj_sync *s, const char *uid)
{
	json_t *active = json_object_get(s->status, "active");
	for (size_t i = json_array_size(active); i-- > 0;)
		if (same(ctrl_str(json_array_get(active, i), "uid"), uid)) {
			json_array_remove(active, i);
			s->update = true;
		}
}

/* "Complete" or "Failed" when the Job finished, else NULL. */
static const char *finished(const json_t *job)
{
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(json_object_get(job, "status"), "conditions"), i, c) {
		const char *type = ctrl_str(c, "type");
		if (same(ctrl_str(c, "status"), "True") && (same(type, "Complete") || same(type, "Failed")))
			return same(type, "Complete") ? "Complete" : "Failed";
	}
	return NULL;
}

static int delete_job(struct cj_sync *s, const char *name)
{
	char path[900], ns[300], esc[300], err[256];

	kube_escape(ctrl_meta(s->cj, "namespace") ?: "", ns, sizeof ns);
	kube_escape(name, esc, sizeof esc);
	snprintf(path, sizeof path, "/apis/batch/v1/namespaces/%s/jobs/%s", ns, esc);
	json_t *opts = json_pack("{s:s, s:s, s:s}", "kind", "DeleteOptions", "apiVersion", "v1",
				 "propagationPolicy", "Background");
	int rv = kube_request(s->c->ctl->client, "DELETE", path, NULL, opts, NULL, NULL, err,
			      sizeof err);
	json_decref(opts);
	if (rv == MK_ENOTFOUND)
		rv = MK_OK;
	if (rv != MK_OK) {
		kube_event(s->c->loop.events, s->cj, "Warning", "FailedDelete", NULL,
			   "Deleted job: %s", err);
		return rv;
	}
	kube_event(s->c->loop.events, s->cj, "Normal", "SuccessfulDelete", NULL, "Deleted job %s",
		   name);
	return MK_OK;
}

/* Oldest first by status.startTime (unstarted last), then name. */
static int by_start(const void *a, const void *b)
{
	const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	const char *sx = ctrl_str(json_object_get(x, "status"), "startTime");
	const char *sy = ctrl_str(json_object_get(y, "status"), "startTime");
	if ((sx == NULL) != (sy == NULL))
		return sx == NULL ? 1 : -1;
	int64_t tx = ctrl_parse_time(sx), ty = ctrl_parse_time(sy);
	if (tx != ty)
		return tx < ty ? -1 : 1;
	return strcmp(ctrl_meta(x, "name") ?: "", ctrl_meta(y, "name") ?: "");
}

void cj_cleanup_finished(struct cj_sync *s)
{
	const json_t *spec = json_object_get(s->cj, "spec");
	const char *kinds[2] = {"Complete", "Failed"};
	const char *limits[2] = {"successfulJobsHistoryLimit", "failedJobsHistoryLimit"};
	json_t **list = calloc(s->n_jobs + 1, sizeof *list);

	for (int k = 0; list != NULL && k < 2; k++) {
		const json_t *limit = json_object_get(spec, limits[k]);
		size_t n = 0;
		if (!json_is_integer(limit))
			continue;
		for (size_t i = 0; i < s->n_jobs; i++)
			if (same(finished(s->jobs[i]), kinds[k]))
				list[n++] = s->jobs[i];
		if ((json_int_t)n <= json_integer_value(limit))
			continue;
		qsort(list, n, sizeof *list, by_start);
		for (size_t i = 0; i < n - (size_t)json_integer_value(limit); i++)
			if (delete_job(s, ctrl_meta(list[i], "name") ?: "") == MK_OK)
				drop_active(s, ctrl_meta(list[i], "uid"));
	}
	free(list);
}

/* A fresh read of the CronJob: the cache may not show the Job this
 * controller just recorded in its status. */
static bool fresh_has(struct cj_sync *s, const char *uid)
{
	char path[900], ns[300], name[300], err[256];
	json_t *fresh = NULL;

	kube_escape(ctrl_meta(s->cj, "namespace") ?: "", ns, sizeof ns);
	kube_escape(ctrl_meta(s->cj, "name") ?: "", name, sizeof name);
	snprintf(path, sizeof path, "/apis/batch/v1/namespaces/%s/cronjobs/%s", ns, name);
	if (kube_get(s->c->ctl->client, path, &fresh, err, sizeof err) != MK_OK)
		return false;
	bool has = in_active(json_object_get(fresh, "status"), uid, NULL);
	if (has && !s->update) {
		/* Work on the newer state. */
		json_decref(s->status);
		s->status = json_deep_copy(json_object_get(fresh, "status"));
		snprintf(s->rv, sizeof s->rv, "%s", ctrl_meta(fresh, "resourceVersion") ?: "");
	}
	json_decref(fresh);
	return has;
}

int cj_reconcile_jobs(struct cj_sync *s)
{
	for (size_t i = 0; i < s->n_jobs; i++) {
		json_t *job = s->jobs[i];
		const char *uid = ctrl_meta(job, "uid"), *name = ctrl_meta(job, "name") ?: "";
		const char *done = finished(job);
		bool found = in_active(s->status, uid, NULL);
		if (!found && done == NULL) {
			if (!fresh_has(s, uid))
				kube_event(s->c->loop.events, s->cj, "Warning", "UnexpectedJob", NULL,
					   "Saw a job that the controller did not create or forgot: %s",
					   name);
		} else if (found && done != NULL) {
			drop_active(s, uid);
			kube_event(s->c->loop.events, s->cj, "Normal", "SawCompletedJob", NULL,
				   "Saw completed job: %s, status: %s", name, done);
		}
		const char *ct = ctrl_str(json_object_get(job, "status"), "completionTime");
		const char *last = ctrl_str(s->status, "lastSuccessfulTime");
		if (same(done, "Complete") && ct != NULL &&
		    (last == NULL || ctrl_parse_time(ct) > ctrl_parse_time(last))) {
			json_object_set_new(s->status, "lastSuccessfulTime", json_string(ct));
			s->update = true;
		}
	}
	/* Active Jobs the cache does not have: gone, or not seen yet. */
	json_t *active = json_object_get(s->status, "active");
	for (size_t i = json_array_size(active); i-- > 0;) {
		json_t *ref = json_array_get(active, i);
		const char *uid = ctrl_str(ref, "uid");
		bool seen = false;
		for (size_t k = 0; k < s->n_jobs && !seen; k++)
			seen = same(ctrl_meta(s->jobs[k], "uid"), uid);
		if (seen)
			continue;
		char path[900], ns[300], name[300], err[256];
		kube_escape(ctrl_str(ref, "namespace") ?: "", ns, sizeof ns);
		kube_escape(ctrl_str(ref, "name") ?: "", name, sizeof name);
		snprintf(path, sizeof path, "/apis/batch/v1/namespaces/%s/jobs/%s", ns, name);
		int rv = kube_get(s->c->ctl->client, path, NULL, err, sizeof err);
		if (rv == MK_ENOTFOUND) {
			kube_event(s->c->loop.events, s->cj, "Normal", "MissingJob", NULL,
				   "Active job went missing: %s", ctrl_str(ref, "name") ?: "");
			json_array_remove(active, i);
			s->update = true;
		} else if (rv != MK_OK) {
			return rv;
		}
	}
	return MK_OK;
}

int cj_replace_active(struct cj_sync *s)
{
	json_t *active = json_deep_copy(json_object_get(s->status, "active"));
	size_t i;
	json_t *ref;
	int rv = MK_OK;

	json_array_foreach(active, i, ref) {
		if ((rv = delete_job(s, ctrl_str(ref, "name") ?: "")) != MK_OK)
			break;
		drop_active(s, ctrl_str(ref, "uid"));
	}
	json_decref(active);
	return rv;
}

/* upstream's getJobFromTemplate2 */
static json_t *job_for(struct cj_sync *s, int64_t t, const struct cron_tz *tz)
{
	const json_t *tmpl = json_object_get(json_object_get(s->cj, "spec"), "jobTemplate");
	const json_t *tmeta = json_object_get(tmpl, "metadata");
	char name[320], stamp[48];

	cj_job_name(s, t, name, sizeof name);
	zoned_time(t, tz, stamp, sizeof stamp);
	json_t *labels = json_deep_copy(json_object_get(tmeta, "labels"));
	json_t *annotations = json_deep_copy(json_object_get(tmeta, "annotations"));
	if (!json_is_object(annotations)) {
		json_decref(annotations);
		annotations = json_object();
	}
	json_object_set_new(annotations, CRONJOB_SCHEDULED_ANNOTATION, json_string(stamp));
	json_t *meta = json_pack("{s:s, s:s, s:o, s:[{s:s, s:s, s:s, s:s, s:b, s:b}]}", "name", name,
				 "namespace", ctrl_meta(s->cj, "namespace") ?: "", "annotations",
				 annotations, "ownerReferences", "apiVersion", "batch/v1", "kind",
				 "CronJob", "name", ctrl_meta(s->cj, "name") ?: "", "uid",
				 ctrl_meta(s->cj, "uid") ?: "", "controller", 1,
				 "blockOwnerDeletion", 1);
	if (meta != NULL && json_is_object(labels))
		json_object_set(meta, "labels", labels);
	json_decref(labels);
	json_t *spec = json_deep_copy(json_object_get(tmpl, "spec"));
	return json_pack("{s:s, s:s, s:o, s:o}", "apiVersion", "batch/v1", "kind", "Job", "metadata",
			 meta, "spec", spec ? spec : json_object());
}

int cj_start(struct cj_sync *s, int64_t t, const struct cron_tz *tz)
{
	char path[900], ns[300], err[512], stamp[32];
	json_t *job = job_for(s, t, tz), *made = NULL;
	const char *name = ctrl_meta(job, "name");
	int rv;

	if (job == NULL)
		return MK_ENOMEM;
	kube_escape(ctrl_meta(s->cj, "namespace") ?: "", ns, sizeof ns);
	snprintf(path, sizeof path, "/apis/batch/v1/namespaces/%s/jobs", ns);
	rv = kube_create(s->c->ctl->client, path, job, &made, err, sizeof err);
	if (rv == MK_ECONFLICT) {
		/* Made before, by this controller or another (the name is the
		 * lock): ours and not recorded yet, record it now. */
		char jpath[1200], esc[300];
		kube_escape(name, esc, sizeof esc);
		snprintf(jpath, sizeof jpath, "%s/%s", path, esc);
		rv = kube_get(s->c->ctl->client, jpath, &made, err, sizeof err);
		if (rv != MK_OK || !controlled_by(made, "CronJob", ctrl_meta(s->cj, "uid")) ||
		    in_active(s->status, ctrl_meta(made, "uid"), NULL))
			goto out;
	} else if (rv != MK_OK) {
		kube_event(s->c->loop.events, s->cj, "Warning", "FailedCreate", NULL,
			   "Error creating job: %s", err);
		goto out;
	} else {
		kube_event(s->c->loop.events, s->cj, "Normal", "SuccessfulCreate", NULL,
			   "Created job %s", name);
	}
	json_t *active = json_object_get(s->status, "active");
	if (!json_is_array(active)) {
		active = json_array();
		json_object_set_new(s->status, "active", active);
	}
	json_array_append_new(active, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "kind", "Job",
						"namespace", ctrl_meta(made, "namespace") ?: "", "name",
						ctrl_meta(made, "name") ?: "", "uid",
						ctrl_meta(made, "uid") ?: "", "apiVersion", "batch/v1",
						"resourceVersion",
						ctrl_meta(made, "resourceVersion") ?: ""));
	cj_time(t, stamp, sizeof stamp);
	json_object_set_new(s->status, "lastScheduleTime", json_string(stamp));
	s->update = true;
out:
	json_decref(job);
	json_decref(made);
	return rv;
}

int cj_write_status(struct cj_sync *s)
{
	char path[900], ns[300], name[300], err[512];
	json_t *st = json_pack("{s:O?, s:O?, s:O?}", "active", json_object_get(s->status, "active"),
			       "lastScheduleTime", json_object_get(s->status, "lastScheduleTime"),
			       "lastSuccessfulTime", json_object_get(s->status, "lastSuccessfulTime"));

	if (st == NULL)
		return MK_ENOMEM;
	if (json_array_size(json_object_get(st, "active")) == 0)
		json_object_set_new(st, "active", json_null()); /* upstream omits it */
	kube_escape(ctrl_meta(s->cj, "namespace") ?: "", ns, sizeof ns);
	kube_escape(ctrl_meta(s->cj, "name") ?: "", name, sizeof name);
	snprintf(path, sizeof path, "/apis/batch/v1/namespaces/%s/cronjobs/%s/status", ns, name);
	json_t *patch = json_pack("{s:{s:s}, s:o}", "metadata", "resourceVersion", s->rv, "status", st);
	int rv = patch ? kube_merge_patch(s->c->ctl->client, path, patch, NULL, err, sizeof err)
		       : MK_ENOMEM;
	json_decref(patch);
	if (rv != MK_OK && rv != MK_ECONFLICT && rv != MK_ENOTFOUND)
		mk_warn(CTRL_LOG, "cronjob %s: cannot write its status: %s", s->key, err);
	return rv;
}
