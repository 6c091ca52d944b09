/*
 * The node agent's shared structures (agent.h is the public face).
 *
 * Ownership: the agent owns its pod workers; a worker owns its pod's
 * runtime state (struct ctr) and is the only thread that touches it, except
 * `lock`-protected fields (pod, gone, stop) that the informer thread sets.
 *
 * The pod's network namespace is a bind mount at DATA/run/netns/<uid>: one
 * shared mount point for all of them (as /run/netns for `ip netns`), so
 * that a pod's directory never has to become a mount point itself.
 *
 * On disk, per pod (DATA/pods/<uid>/):
 *   network.json           {"ip": ...} once CNI ADD succeeded
 *   hosts, hostname, resolv.conf
 *   volumes/<name>/        emptyDir, configMap, secret, downwardAPI data
 *   containers/<name>/<attempt>/   one runtime container: config.json,
 *       rootfs/ (overlay mount), upper/, work/, state.json (written when it
 *       started), exit.json (by the shim when it ended), termination-log
 * and the logs at DATA/logs/pods/<ns>_<pod>_<uid>/<name>/<attempt>.log,
 * where attempt is the container's restartCount.
 */
#ifndef MK_NODE_INTERNAL_H
#define MK_NODE_INTERNAL_H

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "../base/clock.h"
#include "agent.h"
#include "cni.h"

struct image_store;
struct kube_informer;
struct kube_events;

#define NODE_LOG "node"

struct node_agent {
	struct node_agent_config cfg; /* strings owned (strdup) */
	struct kube_client *client;
	struct image_store *images;
	struct cni_network net;
	char pods_dir[PATH_MAX], logs_dir[PATH_MAX], runc_root[PATH_MAX], cni_dir[PATH_MAX],
		cni_state[PATH_MAX], netns_dir[PATH_MAX];
	struct kube_informer *pods_mine, *nodes;
	struct kube_events *events; /* source component "kubelet" */
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct pod_worker *workers;
	bool stopping;
	pthread_t heartbeat;
	char runtime_version[64];
};

struct probe_state {
	int successes, failures;
	int64_t next_ms;       /* when it runs next; 0: not scheduled */
	bool result;           /* last verdict after thresholds */
};

enum ctr_phase { CTR_NONE, CTR_RUNNING, CTR_EXITED };

struct ctr_end {               /* how an attempt ended */
	int exit_code, signal;
	char reason[64];       /* Completed, Error, OOMKilled, StartError */
	char message[1024];
	char started_at[40], finished_at[40];
	char id[160];
};

struct ctr {
	json_t *spec;          /* borrowed from the worker's pod */
	char name[256];
	bool init;
	int attempt;           /* the current attempt; == restartCount */
	enum ctr_phase phase;
	char id[160];          /* runtime id of the current attempt */
	pid_t shim_pid;
	int pidfd;             /* -1 when not running */
	char started_at[40];
	struct ctr_end end;    /* valid when phase == CTR_EXITED */
	bool has_last;
	struct ctr_end last;   /* the attempt before */
	char waiting_reason[64], waiting_message[1024];
	char image[512], image_id[512];
	int64_t backoff_until_ms;
	int backoff_s;
	int64_t running_since_ms;
	struct probe_state liveness, readiness, startup;
	bool started;          /* startup probe passed (or none) */
	bool ready;
	bool pull_failed;
};

struct pod_worker {
	struct node_agent *agent;
	char uid[64], ns[256], name[256];
	char dir[PATH_MAX];
	pthread_t thread;
	pthread_mutex_t lock;
	int wake_fd;           /* eventfd: something changed */
	json_t *pod;           /* latest from the informer (lock) */
	bool gone;             /* the API no longer has it (lock) */
	bool stop;             /* agent stopping (lock) */
	json_t *cur;           /* the worker's own reference for this sync */
	bool sandbox;          /* netns + CNI done */
	char pod_ip[64];
	bool volumes_ready;
	json_t *volume_paths;  /* volume name -> host path */
	int64_t volumes_refreshed_ms;
	struct ctr *ctrs;      /* init containers first */
	size_t n_ctrs, n_init;
	char *pushed_status;   /* last status sent, compact JSON */
	bool finished;         /* exited: the agent may reap it */
	struct pod_worker *next;
};

/* RFC 3339 UTC (seconds) now. */
void node_rfc3339(char *buf, size_t len);

/* pod_worker.c */
void pod_worker_notify(struct node_agent *a, json_t *pod, bool gone);
void pod_worker_wake(struct pod_worker *w);
void pod_workers_stop(struct node_agent *a);

/* pod_sync.c: one level-triggered pass; returns the delay in ms before the
 * next pass (the worker also wakes on any change), or -1 when the worker
 * is done for good (pod deleted and cleaned up). */
int64_t pod_sync(struct pod_worker *w);
void pod_adopt(struct pod_worker *w);

/* container.c: one attempt of a container. */
int ctr_start(struct pod_worker *w, struct ctr *c, char *errmsg, size_t len);
void ctr_refresh(struct pod_worker *w, struct ctr *c);
void ctr_stop(struct pod_worker *w, struct ctr *c, int grace_s, const char *why);
void ctr_remove_attempt(struct pod_worker *w, const char *name, int attempt);
void ctr_runtime_id(const struct pod_worker *w, const char *name, int attempt, char *out,
		    size_t len);
void ctr_dir(const struct pod_worker *w, const char *name, int attempt, char *out, size_t len);
int ctr_load(struct pod_worker *w, struct ctr *c);
/* Runs argv (no shell), output into out (may be NULL), killed after
 * timeout_ms.  Returns its exit status, 128+signal, or -1. */
int node_run(char *const *argv, int timeout_ms, char *out, size_t out_len);

/* oci_spec.c */
json_t *oci_spec_build(struct pod_worker *w, struct ctr *c, const char *rootfs,
		       const char *image_user, char *const *image_env, size_t n_env,
		       char *const *entrypoint, size_t n_entry, char *const *image_cmd,
		       size_t n_cmd, const char *image_workdir, char *errmsg, size_t len);

/* env.c: the container's environment (image env, env, envFrom), expanded. */
json_t *pod_env_build(struct pod_worker *w, json_t *container, char *const *image_env,
		      size_t n_env, char *errmsg, size_t len);
char *pod_env_expand(const char *s, json_t *env);
/* A ConfigMap or Secret of the pod's namespace (kind "configmaps" or
 * "secrets"), with a Secret's data decoded into "data" as raw strings in
 * "_decoded" (an object key -> json string of the bytes).  NULL and errmsg
 * when absent or unreadable; *missing tells absent from unreadable. */
json_t *pod_fetch_source(struct pod_worker *w, const char *kind, const char *name,
			 bool *missing, char *errmsg, size_t len);
/* The bytes of key in a source fetched above (decoded for Secrets). */
int source_value(json_t *src, const char *key, char **out, size_t *n);

/* volumes.c */
int volumes_setup(struct pod_worker *w, char *errmsg, size_t len);
void volumes_refresh(struct pod_worker *w);
void volumes_teardown(struct pod_worker *w);
int volume_host_path(struct pod_worker *w, const char *name, char *out, size_t len);

/* sandbox.c: netns, CNI, hosts files. */
void pod_netns_path(const struct pod_worker *w, char *out, size_t len);
int sandbox_setup(struct pod_worker *w, char *errmsg, size_t len);
void sandbox_teardown(struct pod_worker *w);

/* probes.c: runs the probes that are due; returns ms until the next. */
int64_t probes_run(struct pod_worker *w, struct ctr *c);
void probes_reset(struct ctr *c);

/* pod_status.c */
bool ctr_will_restart(struct pod_worker *w, const struct ctr *c);
json_t *pod_status_build(struct pod_worker *w);
void pod_status_push(struct pod_worker *w);

/* events.c: pod_event queues; one recorder thread writes the Events. */
int event_recorder_start(struct node_agent *a, char *errmsg, size_t len);
void event_recorder_stop(struct node_agent *a); /* after the workers */
void pod_event(struct pod_worker *w, const char *type, const char *reason, const char *fieldpath,
	       const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* node_status.c */
int node_register(struct node_agent *a, char *errmsg, size_t len);
void *node_heartbeat_main(void *arg);

/* orphans.c: pods on disk that the API no longer has (deleted while mkd
 * was down) are stopped and removed. */
void pod_orphans_cleanup(struct node_agent *a);

/* Small JSON getters that tolerate NULL. */
const char *js(json_t *o, const char *key);
json_t *jo(json_t *o, const char *key);
int64_t ji(json_t *o, const char *key, int64_t dflt);
bool jb(json_t *o, const char *key, bool dflt);

#endif
