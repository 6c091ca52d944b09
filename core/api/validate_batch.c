/*
 * Jobs and CronJobs (batch/v1): upstream's ValidateJob, ValidateJobUpdate
 * and ValidateCronJob rules and messages, for what mk's controllers rely
 * on and what users get wrong (validate_internal.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../base/err.h"
#include "../controllers/cron_schedule.h"
#include "selector.h"
#include "validate_internal.h"

static const char *str(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* base.key must be an integer >= 0 when present. */
static void nonnegative(struct problems *p, const json_t *spec, const char *base, const char *key)
{
	const json_t *v = json_object_get(spec, key);
	char field[128];
	if (json_is_integer(v) && json_integer_value(v) < 0) {
		snprintf(field, sizeof field, "%s.%s", base, key);
		problem_invalid(p, field, v, "must be greater than or equal to 0");
	}
}

/* What a Job spec and a CronJob's jobTemplate.spec share (upstream's
 * validateJobSpec). */
static void check_job_spec(struct problems *p, const json_t *spec, const char *base)
{
	char field[160];
	nonnegative(p, spec, base, "parallelism");
	nonnegative(p, spec, base, "completions");
	nonnegative(p, spec, base, "backoffLimit");
	nonnegative(p, spec, base, "ttlSecondsAfterFinished");
	/* Upstream: ValidateNonnegativeField (0 fails the Job at once). */
	nonnegative(p, spec, base, "activeDeadlineSeconds");
	const char *mode = str(spec, "completionMode");
	snprintf(field, sizeof field, "%s.completionMode", base);
	if (mode != NULL && strcmp(mode, "NonIndexed") && strcmp(mode, "Indexed"))
		problem_add(p, "FieldValueNotSupported", field, "Unsupported value: \"%s\": supported "
			    "values: \"NonIndexed\", \"Indexed\"", mode);
	if (mode != NULL && strcmp(mode, "Indexed") == 0) {
		const json_t *completions = json_object_get(spec, "completions");
		snprintf(field, sizeof field, "%s.completions", base);
		if (!json_is_integer(completions))
			problem_add(p, "FieldValueRequired", field,
				    "Required value: when completion mode is Indexed");
		const json_t *par = json_object_get(spec, "parallelism");
		snprintf(field, sizeof field, "%s.parallelism", base);
		if (json_is_integer(par) && json_integer_value(par) > 100000)
			problem_invalid(p, field, par, "must be less than or equal to 100000 when "
				"completion mode is Indexed");
	}
	const json_t *tmpl = json_object_get(spec, "template");
	const json_t *pod_spec = json_object_get(tmpl, "spec");
	const char *restart = str(pod_spec, "restartPolicy");
	snprintf(field, sizeof field, "%s.template.spec.restartPolicy", base);
	/* The pod default is Always: unset and Always read the same. */
	if (restart == NULL || restart[0] == '\0' || strcmp(restart, "Always") == 0)
		problem_add(p, "FieldValueRequired", field,
			    "Required value: valid values: \"OnFailure\", \"Never\"");
	else if (strcmp(restart, "OnFailure") && strcmp(restart, "Never"))
		problem_add(p, "FieldValueNotSupported", field, "Unsupported value: \"%s\": supported "
			    "values: \"OnFailure\", \"Never\"", restart);
	snprintf(field, sizeof field, "%s.template.spec", base);
	if (tmpl == NULL) {
		snprintf(field, sizeof field, "%s.template", base);
		problem_required(p, field);
	} else {
		check_containers(p, pod_spec, field);
	}
}

static bool label_is(const json_t *labels, const char *key, const char *want)
{
	const char *v = str(labels, key);
	return v != NULL && want != NULL && strcmp(v, want) == 0;
}

/* The selector must select the template's pods; a generated one must be
 * what the API server generated (upstream's ValidateGeneratedSelector). */
static void check_job_selector(struct problems *p, const json_t *job)
{
	const json_t *meta = json_object_get(job, "metadata");
	const json_t *spec = json_object_get(job, "spec");
	const json_t *sel = json_object_get(spec, "selector");
	const json_t *labels = json_object_get(json_object_get(json_object_get(spec, "template"),
							       "metadata"), "labels");
	struct label_selector *ls = NULL;
	char err[256];

	if (sel == NULL || json_is_null(sel)) {
		problem_required(p, "spec.selector");
		return;
	}
	if (label_selector_from_json(sel, &ls, err, sizeof err) != MK_OK) {
		problem_invalid(p, "spec.selector", sel, err);
		return;
	}
	if (!label_selector_matches(ls, labels))
		problem_invalid(p, "spec.template.metadata.labels", labels,
				"`selector` does not match template `labels`");
	if (!json_is_true(json_object_get(spec, "manualSelector"))) {
		const char *uid = str(meta, "uid"), *name = str(meta, "name");
		static const struct {
			const char *key;
			bool by_uid;
		} want[] = {{"batch.kubernetes.io/controller-uid", true},
			    {"batch.kubernetes.io/job-name", false}};
		for (size_t i = 0; i < 2; i++) {
			const char *v = want[i].by_uid ? uid : name;
			char field[160];
			snprintf(field, sizeof field, "spec.template.metadata.labels[%s]", want[i].key);
			if (str(labels, want[i].key) == NULL)
				problem_add(p, "FieldValueRequired", field, "Required value: %s",
					    v ? v : "");
			else if (!label_is(labels, want[i].key, v))
				problem_invalid(p, field, json_object_get(labels, want[i].key), v ? v : "");
		}
		json_t *expected = json_pack("{s:s, s:s}", "batch.kubernetes.io/controller-uid",
					     uid ? uid : "", "controller-uid", uid ? uid : "");
		if (!label_selector_matches(ls, expected))
			problem_invalid(p, "spec.selector", sel, "`selector` not auto-generated");
		json_decref(expected);
	}
	label_selector_free(ls);
}

/* A copy of a template without what a suspended Job that never started
 * may change (upstream's mutable scheduling directives). */
static json_t *template_fixed_part(const json_t *tmpl)
{
	json_t *t = json_deep_copy(tmpl);
	json_t *meta = json_object_get(t, "metadata"), *spec = json_object_get(t, "spec");
	json_object_del(meta, "labels");
	json_object_del(meta, "annotations");
	json_object_del(spec, "nodeSelector");
	json_object_del(spec, "tolerations");
	json_object_del(spec, "schedulingGates");
	json_object_del(spec, "affinity");
	return t;
}

static void immutable(struct problems *p, const json_t *spec, const json_t *old_spec,
		      const char *key)
{
	const json_t *v = json_object_get(spec, key), *ov = json_object_get(old_spec, key);
	char field[64];
	if ((v == NULL) != (ov == NULL) || (v != NULL && !json_equal(v, ov))) {
		snprintf(field, sizeof field, "spec.%s", key);
		problem_invalid(p, field, v, "field is immutable");
	}
}

/* ValidateJobSpecUpdate: the selector, the template (but scheduling
 * directives of a suspended Job never started), the completion mode, and
 * completions (but an Indexed Job scaled in tandem with parallelism). */
static void check_job_update(struct problems *p, const json_t *job, const json_t *old)
{
	const json_t *spec = json_object_get(job, "spec"), *old_spec = json_object_get(old, "spec");

	immutable(p, spec, old_spec, "selector");
	immutable(p, spec, old_spec, "completionMode");
	bool never_started = json_is_true(json_object_get(old_spec, "suspend")) &&
			     json_object_get(json_object_get(old, "status"), "startTime") == NULL;
	const json_t *t = json_object_get(spec, "template"), *ot = json_object_get(old_spec, "template");
	if (never_started) {
		json_t *a = template_fixed_part(t), *b = template_fixed_part(ot);
		if (!json_equal(a, b))
			problem_invalid(p, "spec.template", t, "field is immutable");
		json_decref(a);
		json_decref(b);
	} else if (!json_equal(t, ot)) {
		problem_invalid(p, "spec.template", t, "field is immutable");
	}
	const json_t *c = json_object_get(spec, "completions"), *oc = json_object_get(old_spec, "completions");
	if (json_equal(c, oc) || (c == NULL && oc == NULL))
		return;
	const char *mode = str(spec, "completionMode");
	if (mode == NULL || strcmp(mode, "Indexed") != 0) {
		problem_invalid(p, "spec.completions", c, "field is immutable");
		return;
	}
	if (!json_equal(c, json_object_get(spec, "parallelism")) ||
	    !json_equal(oc, json_object_get(old_spec, "parallelism")))
		problem_invalid(p, "spec.completions", c,
				"can only be modified in tandem with spec.parallelism");
}

void check_job(struct problems *p, const json_t *job, const json_t *old, bool status_only)
{
	if (status_only)
		return;
	check_job_spec(p, json_object_get(job, "spec"), "spec");
	check_job_selector(p, job);
	if (old != NULL)
		check_job_update(p, job, old);
}

static void check_schedule(struct problems *p, const json_t *spec)
{
	const json_t *v = json_object_get(spec, "schedule");
	const char *schedule = json_string_value(v);
	struct cron_schedule s;
	char err[300];

	if (schedule == NULL || schedule[0] == '\0') {
		problem_required(p, "spec.schedule");
		return;
	}
	if (cron_parse(schedule, &s, err, sizeof err) != MK_OK)
		problem_invalid(p, "spec.schedule", v, err);
	const json_t *tzv = json_object_get(spec, "timeZone");
	if (tzv == NULL || json_is_null(tzv))
		return;
	const char *zone = json_string_value(tzv);
	struct cron_tz *tz;
	if (zone == NULL || zone[0] == '\0')
		problem_invalid(p, "spec.timeZone", tzv, "timeZone must be nil or non-empty string");
	else if (strcasecmp(zone, "Local") == 0)
		problem_invalid(p, "spec.timeZone", tzv, "timeZone must be an explicit time zone as "
				"defined in https://www.iana.org/time-zones");
	else if (cron_tz_load(zone, &tz, err, sizeof err) != MK_OK)
		problem_invalid(p, "spec.timeZone", tzv, err);
	else
		cron_tz_free(tz);
}

void check_cronjob(struct problems *p, const json_t *cj, const json_t *old, bool status_only)
{
	const json_t *spec = json_object_get(cj, "spec");
	const char *name = str(json_object_get(cj, "metadata"), "name");

	if (status_only)
		return;
	/* Its Jobs are named "<name>-<minutes since the epoch>" (11 more). */
	if (old == NULL && name != NULL && strlen(name) > 52)
		problem_invalid(p, "metadata.name", json_object_get(json_object_get(cj, "metadata"), "name"),
				"must be no more than 52 characters");
	check_schedule(p, spec);
	nonnegative(p, spec, "spec", "startingDeadlineSeconds");
	nonnegative(p, spec, "spec", "successfulJobsHistoryLimit");
	nonnegative(p, spec, "spec", "failedJobsHistoryLimit");
	const char *policy = str(spec, "concurrencyPolicy");
	if (policy == NULL || policy[0] == '\0')
		problem_required(p, "spec.concurrencyPolicy");
	else if (strcmp(policy, "Allow") && strcmp(policy, "Forbid") && strcmp(policy, "Replace"))
		problem_add(p, "FieldValueNotSupported", "spec.concurrencyPolicy", "Unsupported value: "
			    "\"%s\": supported values: \"Allow\", \"Forbid\", \"Replace\"", policy);
	const json_t *jt = json_object_get(spec, "jobTemplate");
	const json_t *jspec = json_object_get(jt, "spec");
	if (jspec == NULL) {
		problem_required(p, "spec.jobTemplate.spec");
		return;
	}
	check_job_spec(p, jspec, "spec.jobTemplate.spec");
	const json_t *sel = json_object_get(jspec, "selector");
	if (sel != NULL && !json_is_null(sel))
		problem_invalid(p, "spec.jobTemplate.spec.selector", sel,
				"`selector` will be auto-generated");
	if (json_is_true(json_object_get(jspec, "manualSelector")))
		problem_add(p, "FieldValueNotSupported", "spec.jobTemplate.spec.manualSelector",
			    "Unsupported value: true: supported values: \"nil\", \"false\"");
}
