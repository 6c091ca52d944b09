/*
 * exec/attach: the query's options, the pod's rules and the final Status,
 * with the words kube-apiserver, the kubelet and kubectl use.  Pure
 * functions (see pod_exec.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/err.h"
#include "pod_exec.h"

#define MAX_COMMAND_ARGS 4096

void exec_options_free(struct exec_options *o)
{
	exec_argv_free(o->command);
	free(o->container);
	memset(o, 0, sizeof *o);
}

int exec_options_parse(const struct api_query *q, bool attach, struct exec_options *o,
		       char *errmsg, size_t len)
{
	memset(o, 0, sizeof *o);
	o->in = api_query_bool(q, "stdin");
	o->out = api_query_bool(q, "stdout");
	o->err = api_query_bool(q, "stderr");
	o->tty = api_query_bool(q, "tty");
	/* A terminal has one output stream (the kubelet drops stderr too). */
	if (o->tty)
		o->err = false;
	const char *container = api_query_get(q, "container");
	if (container != NULL && container[0] && (o->container = strdup(container)) == NULL)
		goto oom;
	size_t n = 0;
	for (size_t i = 0; !attach && i < q->n; i++)
		if (strcmp(q->keys[i], "command") == 0)
			n++;
	if (n > MAX_COMMAND_ARGS) {
		snprintf(errmsg, len, "too many command arguments (%zu; at most %d)", n,
			 MAX_COMMAND_ARGS);
		goto invalid;
	}
	if ((o->command = calloc(n + 1, sizeof *o->command)) == NULL)
		goto oom;
	for (size_t i = 0; !attach && i < q->n; i++) {
		if (strcmp(q->keys[i], "command") != 0)
			continue;
		if ((o->command[o->n_command] = strdup(q->values[i])) == NULL)
			goto oom;
		o->n_command++;
	}
	if (!attach && (o->n_command == 0 || o->command[0][0] == '\0')) {
		snprintf(errmsg, len, "you must specify at least one command for the container");
		goto invalid;
	}
	if (!o->in && !o->out && !o->err) {
		snprintf(errmsg, len, "you must specify at least 1 of stdin, stdout, stderr");
		goto invalid;
	}
	return MK_OK;
oom:
	exec_options_free(o);
	snprintf(errmsg, len, "out of memory");
	return MK_ENOMEM;
invalid:
	exec_options_free(o);
	return MK_EINVAL;
}

static bool has_container(const json_t *list, const char *name)
{
	size_t i;
	json_t *c;
	json_array_foreach(list, i, c) {
		const char *n = json_string_value(json_object_get(c, "name"));
		if (n != NULL && strcmp(n, name) == 0)
			return true;
	}
	return false;
}

int exec_pod_check(const json_t *pod, const char *name, const char *container, bool attach,
		   const char **chosen, char *errmsg, size_t len)
{
	const json_t *spec = json_object_get(pod, "spec");
	const char *phase = json_string_value(json_object_get(json_object_get(pod, "status"), "phase"));
	if (phase != NULL && (strcmp(phase, "Succeeded") == 0 || strcmp(phase, "Failed") == 0)) {
		snprintf(errmsg, len, "cannot %s a container in a completed pod; current phase is %s",
			 attach ? "attach to" : "exec into", phase);
		return MK_EINVAL;
	}
	json_t *containers = json_object_get(spec, "containers");
	if (container != NULL) {
		/* Like kube-apiserver: any container of the pod, init and
		 * ephemeral ones included. */
		if (!has_container(containers, container) &&
		    !has_container(json_object_get(spec, "initContainers"), container) &&
		    !has_container(json_object_get(spec, "ephemeralContainers"), container)) {
			snprintf(errmsg, len, "container %s is not valid for pod %s", container, name);
			return MK_EINVAL;
		}
		*chosen = container;
	} else {
		const char *def = json_string_value(json_object_get(
			json_object_get(json_object_get(pod, "metadata"), "annotations"),
			"kubectl.kubernetes.io/default-container"));
		const char *first =
			json_string_value(json_object_get(json_array_get(containers, 0), "name"));
		if (def != NULL && has_container(containers, def))
			*chosen = def;
		else if (first != NULL)
			*chosen = first;
		else {
			snprintf(errmsg, len, "a container name must be specified for pod %s", name);
			return MK_EINVAL;
		}
	}
	const char *node = json_string_value(json_object_get(spec, "nodeName"));
	if (node == NULL || node[0] == '\0') {
		snprintf(errmsg, len, "pod %s does not have a host assigned", name);
		return MK_EINVAL;
	}
	return MK_OK;
}

char *exec_status_text(enum exec_proto proto, const char *failure, int exit_code, int signal)
{
	json_t *st;
	char msg[128], num[16];
	int code = signal ? 128 + signal : exit_code;
	if (failure != NULL) {
		/* The kubelet's InternalError for a command that could not run. */
		st = json_pack("{s:{}, s:s, s:s, s:s, s:{s:[{s:s}]}, s:i}", "metadata", "status",
			       "Failure", "message", failure, "reason", "InternalError", "details",
			       "causes", "message", failure, "code", 500);
	} else if (code == 0) {
		st = json_pack("{s:{}, s:s}", "metadata", "status", "Success");
	} else {
		if (signal)
			snprintf(msg, sizeof msg, "command terminated by signal %d", signal);
		else
			snprintf(msg, sizeof msg,
				 "command terminated with non-zero exit code: exit status %d", code);
		/* kubectl parses the cause as an 8-bit unsigned number. */
		snprintf(num, sizeof num, "%d", code & 0xFF);
		st = json_pack("{s:{}, s:s, s:s, s:s, s:{s:[{s:s, s:s}]}}", "metadata", "status",
			       "Failure", "message", msg, "reason", "NonZeroExitCode", "details",
			       "causes", "reason", "ExitCode", "message", num);
		failure = msg;
	}
	char *text = NULL;
	if (proto != EXEC_PROTO_V1)
		text = st ? json_dumps(st, JSON_COMPACT) : NULL;
	else if (failure != NULL)
		text = strdup(failure); /* channel.k8s.io: a failure's message only */
	json_decref(st);
	return text;
}
