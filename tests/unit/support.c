#include "support.h"

#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

int test_free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof sa;
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	close(fd);
	return ntohs(sa.sin_port);
}

void test_node_start(struct test_node *n, uint64_t id)
{
	memset(n, 0, sizeof *n);
	snprintf(n->dir, sizeof n->dir, "/tmp/mk-unit-XXXXXX");
	assert_non_null(mkdtemp(n->dir));
	snprintf(n->address, sizeof n->address, "127.0.0.1:%d", test_free_port());
	n->id = id;
	struct dq_node_config cfg = {.id = id, .address = n->address, .dir = n->dir};
	char err[256];
	int rv = dq_node_start(&cfg, &n->node, err, sizeof err);
	if (rv != 0)
		fail_msg("node start: %s", err);
}

void test_node_stop(struct test_node *n)
{
	if (n->node == NULL)
		return;
	dq_node_stop(n->node);
	n->node = NULL;
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", n->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", n->dir);
}

int64_t test_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
