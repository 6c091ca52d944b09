/*
 * What the validation files share (validate.c dispatches by kind; kinds
 * with many rules have a file of their own, validate_<kind>.c).
 *
 * Each check appends the problems it finds; the caller turns them into one
 * 422 Invalid Status with details.causes, worded like the real API server.
 */
#ifndef MK_API_VALIDATE_INTERNAL_H
#define MK_API_VALIDATE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

struct problems {
	json_t *causes;
	char text[2048];
	size_t used;
	size_t n;
};

void problem_add(struct problems *p, const char *reason, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* "field: Required value" */
void problem_required(struct problems *p, const char *field);
/* "field: Invalid value: <value as JSON>: why" */
void problem_invalid(struct problems *p, const char *field, const json_t *value, const char *why);

/* Services (validate_service.c): ValidateService, and with `old` (NULL on
 * create) ValidateServiceUpdate's rules for what may not change. */
void check_service(struct problems *p, const json_t *svc, const json_t *old);

/* A pod spec's containers, fields named from base ("spec.template.spec"). */
void check_containers(struct problems *p, const json_t *spec, const char *base);

/* Jobs and CronJobs (validate_batch.c); `old` NULL on create.  A write of
 * the status subresource (status_only) changes no spec: nothing to check. */
void check_job(struct problems *p, const json_t *job, const json_t *old, bool status_only);
void check_cronjob(struct problems *p, const json_t *cj, const json_t *old, bool status_only);

#endif
