/*
 * What the CronJob controller's files share (cronjob.c decides when a run
 * is due, cronjob_jobs.c creates, reconciles and deletes its Jobs and
 * writes the status).
 *
 * One sync works on a copy of the CronJob's status and writes it once, at
 * the end, with the resourceVersion it started from (a stale cache gets
 * 409 and a retry, never a second Job for the same time: the Job's name is
 * derived from the time, so a repeat gets AlreadyExists).
 *
 * Threading: one sync per CronJob at a time (the work queue's rule).
 */
#ifndef MK_CONTROLLERS_CRONJOB_INTERNAL_H
#define MK_CONTROLLERS_CRONJOB_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "controllers_internal.h"
#include "cron_schedule.h"

#define CRONJOB_SCHEDULED_ANNOTATION "batch.kubernetes.io/cronjob-scheduled-timestamp"

struct cronjob_controller {
	struct ctrl_loop loop;
	struct controllers *ctl;
};

struct cj_sync {
	struct cronjob_controller *c;
	const char *key;
	json_t *cj;     /* own copy, kind and apiVersion set (Events need them) */
	json_t *status; /* own copy of cj.status, edited */
	char rv[32];    /* the resourceVersion the status write expects */
	json_t *all;    /* the Job cache's list (owns jobs[]) */
	json_t **jobs;  /* Jobs the CronJob controls */
	size_t n_jobs;
	bool update; /* status changed: write it */
};

int cj_sync_init(struct cj_sync *s, struct cronjob_controller *c, const char *key,
		 const json_t *cj);
void cj_sync_free(struct cj_sync *s);

/* Unix seconds from which due times count: the last scheduled time, else
 * the creation; with the deadline, not before now - startingDeadlineSeconds. */
int64_t cj_earliest(const struct cj_sync *s, int64_t now, bool with_deadline);
/* "<cronjob>-<t / 60>" */
void cj_job_name(const struct cj_sync *s, int64_t t, char *out, size_t len);
/* t as RFC 3339 UTC, into out[32]. */
void cj_time(int64_t t, char *out, size_t len);
bool cj_active_by_name(const struct cj_sync *s, const char *name);

/* Finished Jobs beyond successfulJobsHistoryLimit/failedJobsHistoryLimit
 * go, oldest first. */
void cj_cleanup_finished(struct cj_sync *s);
/* status.active against the Jobs as they are: finished ones leave it
 * (SawCompletedJob), vanished ones too (MissingJob), lastSuccessfulTime
 * follows.  MK_OK or an error to retry. */
int cj_reconcile_jobs(struct cj_sync *s);
/* concurrencyPolicy Replace: the active Jobs go. */
int cj_replace_active(struct cj_sync *s);
/* Creates the Job of scheduled time t (a unix time) and records it. */
int cj_start(struct cj_sync *s, int64_t t, const struct cron_tz *tz);
int cj_write_status(struct cj_sync *s);

#endif
