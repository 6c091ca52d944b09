/*
 * What a Job remembers of its pods (job_internal.h): the completed
 * indexes of an Indexed Job, and the back-off after pod failures
 * (upstream's: 10 s after the first, doubling, at most 6 min; a success
 * resets it).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "job_internal.h"

#define BACKOFF_FIRST_MS 10000
#define BACKOFF_MAX_MS 360000

/* --- indexes ------------------------------------------------------------------------ */

int64_t job_pod_index(const json_t *pod)
{
	const char *v = ctrl_str(json_object_get(json_object_get(pod, "metadata"), "annotations"),
				 JOB_INDEX_KEY);
	char *end;
	if (v == NULL || v[0] < '0' || v[0] > '9')
		return -1;
	long long ix = strtoll(v, &end, 10);
	return *end == '\0' && ix >= 0 && ix <= INT32_MAX ? ix : -1;
}

/* "1,3-5" into idx (out-of-range and malformed parts skipped, as upstream
 * parses what it can). */
static void parse_indexes(const char *s, unsigned char *idx, int64_t n)
{
	while (s != NULL && *s) {
		char *end;
		long long a = strtoll(s, &end, 10), b = a;
		if (end == s)
			return;
		if (*end == '-') {
			const char *q = end + 1;
			b = strtoll(q, &end, 10);
			if (end == q)
				return;
		}
		for (long long i = a < 0 ? 0 : a; i <= b && i < n; i++)
			idx[i] = 1;
		s = *end == ',' ? end + 1 : NULL;
	}
}

void job_indexes_load(struct job_ctx *x)
{
	int64_t n = x->completions;
	if (n <= 0)
		return;
	x->done_idx = calloc((size_t)n, 1);
	x->prev_idx = calloc((size_t)n, 1);
	if (x->done_idx == NULL || x->prev_idx == NULL)
		return;
	parse_indexes(ctrl_str(x->status, "completedIndexes"), x->prev_idx, n);
	memcpy(x->done_idx, x->prev_idx, (size_t)n);
	for (size_t i = 0; i < x->n_pods; i++) {
		const char *ph = ctrl_str(json_object_get(x->pods[i], "status"), "phase");
		int64_t ix = job_pod_index(x->pods[i]);
		if (ph && strcmp(ph, "Succeeded") == 0 && job_has_finalizer(x->pods[i]) && ix >= 0 &&
		    ix < n)
			x->done_idx[ix] = 1;
	}
	x->succeeded = 0;
	for (int64_t i = 0; i < n; i++)
		x->succeeded += x->done_idx[i];
}

char *job_indexes_string(const unsigned char *idx, int64_t n)
{
	size_t cap = 64, used = 0;
	char *out = malloc(cap);

	if (out == NULL)
		return NULL;
	out[0] = '\0';
	for (int64_t i = 0; idx != NULL && i < n; i++) {
		if (!idx[i])
			continue;
		int64_t j = i;
		while (j + 1 < n && idx[j + 1])
			j++;
		char part[48];
		int k = j == i ? snprintf(part, sizeof part, "%s%" PRId64, used ? "," : "", i)
			       : snprintf(part, sizeof part, "%s%" PRId64 "-%" PRId64, used ? "," : "",
					  i, j);
		if (used + (size_t)k + 1 > cap) {
			cap = (used + (size_t)k + 1) * 2;
			char *bigger = realloc(out, cap);
			if (bigger == NULL) {
				free(out);
				return NULL;
			}
			out = bigger;
		}
		memcpy(out + used, part, (size_t)k + 1);
		used += (size_t)k;
		i = j;
	}
	return out;
}

/* --- back-off ------------------------------------------------------------------------- */

/* When the pod finished: its containers' last finishedAt, else when it
 * was deleted, else now. */
static int64_t finished_at(const json_t *pod)
{
	const json_t *status = json_object_get(pod, "status");
	const char *lists[] = {"initContainerStatuses", "containerStatuses"};
	int64_t last = 0;
	for (int l = 0; l < 2; l++) {
		size_t i;
		json_t *cs;
		json_array_foreach(json_object_get(status, lists[l]), i, cs) {
			int64_t t = ctrl_parse_time(ctrl_str(json_object_get(json_object_get(cs, "state"),
									     "terminated"),
							     "finishedAt"));
			last = t > last ? t : last;
		}
	}
	if (last == 0)
		last = ctrl_parse_time(ctrl_meta(pod, "deletionTimestamp"));
	return last ? last : ctrl_now_ms();
}

void job_backoff_update(struct job_ctx *x)
{
	int64_t last_ok = 0, n_ok = 0, n_failed = 0, last_failed = 0;

	pthread_mutex_lock(&x->c->lock);
	json_t *rec = json_object_get(x->c->backoff, x->key);
	x->bo_failures = json_integer_value(json_object_get(rec, "failures"));
	x->bo_last_ms = json_integer_value(json_object_get(rec, "last"));
	pthread_mutex_unlock(&x->c->lock);
	for (size_t i = 0; i < x->n_pods; i++) {
		const json_t *pod = x->pods[i];
		const char *uid = ctrl_meta(pod, "uid");
		const char *ph = ctrl_str(json_object_get(pod, "status"), "phase");
		if (uid == NULL || !job_has_finalizer(pod) || json_object_get(x->expected_rm, uid))
			continue;
		if (ph && strcmp(ph, "Succeeded") == 0 && !json_object_get(x->unc_succeeded, uid)) {
			int64_t t = finished_at(pod);
			last_ok = t > last_ok ? t : last_ok;
			n_ok++;
		}
	}
	for (size_t i = 0; i < x->n_pods; i++) {
		const json_t *pod = x->pods[i];
		const char *uid = ctrl_meta(pod, "uid");
		if (uid == NULL || !job_has_finalizer(pod) || json_object_get(x->expected_rm, uid) ||
		    !job_pod_failed(pod) || json_object_get(x->unc_failed, uid))
			continue;
		int64_t t = finished_at(pod);
		/* After a success only the failures since count. */
		if (n_ok > 0 && t <= last_ok)
			continue;
		n_failed++;
		last_failed = t > last_failed ? t : last_failed;
	}
	if (n_ok > 0) {
		x->bo_failures = n_failed;
		x->bo_last_ms = last_failed;
	} else if (n_failed > 0) {
		x->bo_failures += n_failed;
		x->bo_last_ms = last_failed > x->bo_last_ms ? last_failed : x->bo_last_ms;
	}
}

void job_backoff_store(struct job_ctx *x)
{
	pthread_mutex_lock(&x->c->lock);
	if (x->bo_failures == 0)
		json_object_del(x->c->backoff, x->key);
	else
		json_object_set_new(x->c->backoff, x->key,
				    json_pack("{s:I, s:I}", "failures", (json_int_t)x->bo_failures,
					      "last", (json_int_t)x->bo_last_ms));
	pthread_mutex_unlock(&x->c->lock);
}

void job_backoff_forget(struct job_controller *c, const char *key)
{
	pthread_mutex_lock(&c->lock);
	json_object_del(c->backoff, key);
	pthread_mutex_unlock(&c->lock);
}

/* How long new pods must still wait after the last failures. */
int64_t job_backoff_left(const struct job_ctx *x)
{
	if (x->bo_failures <= 0)
		return 0;
	int64_t d = BACKOFF_FIRST_MS;
	for (int64_t i = 1; i < x->bo_failures && d < BACKOFF_MAX_MS; i++)
		d *= 2;
	if (d > BACKOFF_MAX_MS)
		d = BACKOFF_MAX_MS;
	int64_t left = x->bo_last_ms + d - ctrl_now_ms();
	return left > 0 ? left : 0;
}

