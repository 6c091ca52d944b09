/*
 * What the controllers share (controllers.h is the public face).
 */
#ifndef MK_CONTROLLERS_INTERNAL_H
#define MK_CONTROLLERS_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "controllers.h"
#include "workqueue.h"

struct kube_informer;

#define CTRL_LOG "controllers"

/* Creations and deletions a controller made and has not yet seen come
 * back through its informer (client-go's "expectations"): until they do,
 * the cache undercounts or overcounts, and scaling again would overshoot. */
struct expectations {
	pthread_mutex_t lock;
	json_t *pending; /* key -> {"adds": n, "dels": n, "at": ms} */
};

void expect_init(struct expectations *e);
void expect_free(struct expectations *e);
void expect_set(struct expectations *e, const char *key, int adds, int dels);
void expect_observed(struct expectations *e, const char *key, bool added);
/* True when nothing is pending for key (or what is pending is older than
 * the timeout, so a lost event cannot stall the controller forever). */
bool expect_satisfied(struct expectations *e, const char *key);

struct replicaset_controller {
	struct kube_client *client;
	struct kube_informer *pods, *sets;
	struct workqueue *queue;
	struct expectations expect;
	pthread_t *workers;
	int n_workers;
};

struct controllers {
	struct kube_client *client;
	struct replicaset_controller rs;
};

int replicaset_start(struct controllers *c, int workers, char *errmsg, size_t len);
void replicaset_stop(struct controllers *c);

/* The controller ownerReference of obj (the one with controller: true),
 * or NULL. */
json_t *controller_ref(json_t *obj);
/* "namespace/name" of obj into out. */
void object_key(json_t *obj, char *out, size_t len);

#endif
