/*
 * Shared fixtures for the unit tests: temporary directories, free loopback
 * ports and real dqlite nodes running inside the test process.
 */
#ifndef MK_TESTS_SUPPORT_H
#define MK_TESTS_SUPPORT_H

#include <stdint.h>

#include "../../core/store/dq_node.h"

struct test_node {
	struct dq_node *node;
	uint64_t id;
	char dir[256];
	char address[32];
};

/* A TCP port on 127.0.0.1 that nothing listens on right now. */
int test_free_port(void);

/* Starts a node with `id` (DQ_BOOTSTRAP_ID bootstraps a one-voter cluster,
 * anything else waits to be ADDed) in a fresh temp dir. Asserts success. */
void test_node_start(struct test_node *n, uint64_t id);
/* Stops it and removes its directory. */
void test_node_stop(struct test_node *n);

/* Milliseconds on the monotonic clock. */
int64_t test_now_ms(void);

#endif
