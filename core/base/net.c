#include "net.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "err.h"

static int split_address(const char *address, char *host, size_t hostlen, char *port,
			 size_t portlen)
{
	const char *colon = strrchr(address, ':');
	if (colon == NULL || colon == address || colon[1] == '\0')
		return MK_EINVAL;
	size_t n = (size_t)(colon - address);
	if (n >= hostlen || strlen(colon + 1) >= portlen)
		return MK_EINVAL;
	memcpy(host, address, n);
	host[n] = '\0';
	strcpy(port, colon + 1);
	return MK_OK;
}

int net_dial(const char *address, int timeout_ms, char *why, size_t whylen)
{
	char host[64], port[16];
	if (split_address(address, host, sizeof host, port, sizeof port) != MK_OK) {
		snprintf(why, whylen, "bad address \"%s\" (want IP:PORT)", address);
		return MK_EINVAL;
	}
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_NUMERICSERV};
	struct addrinfo *ai = NULL;
	int gai = getaddrinfo(host, port, &hints, &ai);
	if (gai != 0) {
		snprintf(why, whylen, "%s: %s", address, gai_strerror(gai));
		return MK_EUNAVAILABLE;
	}
	int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(why, whylen, "%s: socket: %s", address, strerror(errno));
		freeaddrinfo(ai);
		return MK_EIO;
	}
	/* Non-blocking connect bounded by poll: a dead host must not hold
	 * the caller for the kernel's two-minute SYN timeout. */
	int rv = connect(fd, ai->ai_addr, ai->ai_addrlen);
	freeaddrinfo(ai);
	if (rv != 0 && errno != EINPROGRESS)
		goto err_connect;
	if (rv != 0) {
		struct pollfd pfd = {.fd = fd, .events = POLLOUT};
		rv = poll(&pfd, 1, timeout_ms);
		if (rv == 0) {
			snprintf(why, whylen, "%s: connect timed out after %d ms", address,
				 timeout_ms);
			close(fd);
			return MK_EUNAVAILABLE;
		}
		int soerr = 0;
		socklen_t slen = sizeof soerr;
		getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &slen);
		if (rv < 0 || soerr != 0) {
			errno = soerr ? soerr : errno;
			goto err_connect;
		}
	}
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0) {
		snprintf(why, whylen, "%s: fcntl: %s", address, strerror(errno));
		close(fd);
		return MK_EIO;
	}
	return fd;

err_connect:
	snprintf(why, whylen, "%s: %s", address, strerror(errno));
	close(fd);
	return MK_EUNAVAILABLE;
}
