/*
 * The CronJob controller, as kube-controller-manager's cronjob_controllerv2:
 * at each time of spec.schedule (in spec.timeZone) it creates a Job from
 * spec.jobTemplate named <cronjob>-<scheduled time in minutes since the
 * epoch>, so that a retry or a second controller can never make the same
 * run twice; it honours concurrencyPolicy, suspend and
 * startingDeadlineSeconds, keeps status.active, lastScheduleTime and
 * lastSuccessfulTime, deletes finished Jobs beyond the history limits, and
 * sleeps until the next time (a delayed requeue, no polling).
 *
 * cronjob_jobs.c has what it does to Jobs; this file decides when.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../base/err.h"
#include "../base/log.h"
#include "../kube/client.h"
#include "../kube/events.h"
#include "../kube/informer.h"
#include "cron_schedule.h"
#include "cronjob_internal.h"

/* Upstream requeues 100 ms after the time, so that the sync sees it due. */
#define NEXT_DELTA_MS 100

static void on_cronjob(void *arg, enum kube_event type, json_t *cj)
{
	struct cronjob_controller *c = arg;
	char key[600];

	(void)type;
	object_key(cj, key, sizeof key);
	wq_add(c->loop.queue, key);
}

static void on_job(void *arg, enum kube_event type, json_t *job)
{
	struct cronjob_controller *c = arg;
	char key[600];

	(void)type;
	if (controller_key(job, "CronJob", key, sizeof key))
		wq_add(c->loop.queue, key);
}

/* When to look again: just after the schedule's next time after the last
 * one (or now, when times were missed). -1: never. */
static int64_t next_in_ms(struct cj_sync *s, const struct cron_schedule *sched,
			  const struct cron_tz *tz, int64_t now)
{
	int64_t earliest = cj_earliest(s, now, false), most, missed;
	int rv = cron_most_recent(sched, tz, earliest, now, &most, &missed);
	if (rv != MK_OK)
		most = now;
	else if (most == 0)
		most = missed == 0 ? earliest : now;
	int64_t next = cron_next(sched, tz, most);
	if (next == 0)
		return -1;
	return (next - now) * 1000 + NEXT_DELTA_MS;
}

/* upstream's syncCronJob, after the Jobs were looked at: maybe start the
 * run that is due.  *requeue_ms: when to look again (-1: only on change). */
static int maybe_start(struct cj_sync *s, int64_t now, int64_t *requeue_ms)
{
	const json_t *spec = json_object_get(s->cj, "spec");
	const char *schedule = ctrl_str(spec, "schedule") ?: "";
	const json_t *zone = json_object_get(spec, "timeZone");
	struct cron_schedule sched;
	struct cron_tz *tz = NULL;
	char err[300];
	int rv = MK_OK;

	*requeue_ms = -1;
	if (ctrl_meta(s->cj, "deletionTimestamp") != NULL)
		return MK_OK;
	if (json_is_string(zone) &&
	    cron_tz_load(json_string_value(zone), &tz, err, sizeof err) != MK_OK) {
		kube_event(s->c->loop.events, s->cj, "Warning", "UnknownTimeZone", NULL,
			   "invalid timeZone: \"%s\": %s", json_string_value(zone), err);
		return MK_OK;
	}
	if (json_is_true(json_object_get(spec, "suspend")))
		goto out;
	if (cron_parse(schedule, &sched, err, sizeof err) != MK_OK) {
		kube_event(s->c->loop.events, s->cj, "Warning", "UnparseableSchedule", NULL,
			   "unparseable schedule: \"%s\" : %s", schedule, err);
		goto out;
	}
	int64_t most, missed;
	if (cron_most_recent(&sched, tz, cj_earliest(s, now, true), now, &most, &missed) != MK_OK) {
		kube_event(s->c->loop.events, s->cj, "Warning", "InvalidSchedule", NULL,
			   "invalid schedule: %s : time difference between two schedules is less "
			   "than 1 second", schedule);
		goto out;
	}
	*requeue_ms = next_in_ms(s, &sched, tz, now);
	if (most == 0)
		goto out; /* nothing due */
	if (missed > 100)
		kube_event(s->c->loop.events, s->cj, "Warning", "TooManyMissedTimes", NULL,
			   "too many missed start times. Set or decrease .spec.startingDeadlineSeconds "
			   "or check clock skew");
	const json_t *sds = json_object_get(spec, "startingDeadlineSeconds");
	if (json_is_integer(sds) && most + json_integer_value(sds) < now) {
		char when[64];
		time_t t = (time_t)most;
		struct tm tm;
		gmtime_r(&t, &tm);
		strftime(when, sizeof when, "%a, %d %b %Y %H:%M:%S +0000", &tm);
		kube_event(s->c->loop.events, s->cj, "Warning", "MissSchedule", NULL,
			   "Missed scheduled time to start a job: %s", when);
		goto out;
	}
	char name[320];
	cj_job_name(s, most, name, sizeof name);
	const char *last = ctrl_str(s->status, "lastScheduleTime");
	if (cj_active_by_name(s, name) || (last != NULL && ctrl_parse_time(last) == most * 1000))
		goto out; /* this run was started already */
	const char *policy = ctrl_str(spec, "concurrencyPolicy") ?: "Allow";
	if (strcmp(policy, "Forbid") == 0 && json_array_size(json_object_get(s->status, "active")) > 0) {
		kube_event(s->c->loop.events, s->cj, "Normal", "JobAlreadyActive", NULL,
			   "Not starting job because prior execution is running and concurrency "
			   "policy is Forbid");
		goto out;
	}
	if (strcmp(policy, "Replace") == 0 && (rv = cj_replace_active(s)) != MK_OK)
		goto out;
	rv = cj_start(s, most, tz);
out:
	cron_tz_free(tz);
	return rv;
}

static int sync_cronjob(void *self, const char *key)
{
	struct cronjob_controller *c = self;
	char ns[300], name[300];
	struct cj_sync s;
	int64_t requeue_ms = -1;

	if (!split_key(key, ns, sizeof ns, name, sizeof name))
		return MK_OK;
	json_t *cj = kube_informer_get(ctrl_informer(c->ctl, INF_CRONJOBS), ns, name);
	if (cj == NULL)
		return MK_OK; /* deleted: its Jobs go by garbage collection */
	int rv = cj_sync_init(&s, c, key, cj);
	json_decref(cj);
	if (rv != MK_OK) {
		cj_sync_free(&s);
		return rv;
	}
	int64_t now = (int64_t)time(NULL);
	cj_cleanup_finished(&s);
	rv = cj_reconcile_jobs(&s);
	if (rv == MK_OK)
		rv = maybe_start(&s, now, &requeue_ms);
	if (s.update) {
		int w = cj_write_status(&s);
		if (w != MK_OK) {
			cj_sync_free(&s);
			return w;
		}
	}
	if (requeue_ms >= 0)
		wq_add_after(c->loop.queue, key, requeue_ms);
	cj_sync_free(&s);
	return rv;
}

static struct ctrl_loop *create(struct controllers *ctl, char *errmsg, size_t len)
{
	struct cronjob_controller *c = calloc(1, sizeof *c);

	if (c == NULL) {
		snprintf(errmsg, len, "out of memory");
		return NULL;
	}
	c->ctl = ctl;
	if (ctrl_loop_init(&c->loop, ctl, "cronjob-controller", sync_cronjob, c, errmsg, len) !=
		    MK_OK ||
	    ctrl_watch(ctl, INF_CRONJOBS, on_cronjob, c) != MK_OK ||
	    ctrl_watch(ctl, INF_JOBS, on_job, c) != MK_OK) {
		if (errmsg[0] == '\0')
			snprintf(errmsg, len, "cannot start the cronjob controller");
		ctrl_loop_free(&c->loop);
		free(c);
		return NULL;
	}
	return &c->loop;
}

static void destroy(struct ctrl_loop *loop)
{
	free(loop->self);
}

const struct controller_def cronjob_controller = {"cronjob", create, destroy};
