/*
 * The address and port ranges Services are given addresses from, and the
 * pure part of allocating from them: which offsets are free and which one
 * a dynamic allocation takes.  Where allocations are recorded (the store)
 * is service_alloc.c's business; nothing here does I/O.
 *
 * A range is a set of offsets 0..size-1:
 *   - the service CIDR (IPv4): offset 0 is the network address + 1, the
 *     last offset the broadcast address - 1 (neither is ever handed out);
 *     offset 0 (10.152.183.1 by default) is reserved for the `kubernetes`
 *     Service and never handed out dynamically;
 *   - the node port range "30000-32767": offset 0 is the first port.
 *
 * Dynamic allocation follows upstream's "static subrange" rule (KEP-3070,
 * ServiceIPStaticSubrange / ServiceNodePortStaticSubrange): the lower band
 * of a range is left for addresses users ask for by value, so a dynamic
 * allocation starts at a random offset in the upper band and only falls
 * back to the lower band when the upper one is full.
 *
 * Threading: everything is pure or touches only the map it is given.
 * Errors: MK_EINVAL (with errmsg) for a malformed range, MK_ENOMEM.
 */
#ifndef MK_API_SERVICE_RANGE_H
#define MK_API_SERVICE_RANGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SERVICE_CIDR_DEFAULT "10.152.183.0/24"
#define NODE_PORT_RANGE_DEFAULT "30000-32767"

struct ip_range {
	uint32_t network;  /* host byte order */
	int prefix;        /* 12..30 */
	uint32_t first;    /* network + 1: offset 0 */
	size_t size;       /* usable addresses: 2^(32-prefix) - 2 */
	size_t band;       /* offsets below this are the static band */
	char cidr[19];     /* canonical "a.b.c.d/n" */
};

struct port_range {
	int first, last;
	size_t size, band;
	char text[12];     /* "30000-32767" */
};

/* "10.152.183.0/24": an IPv4 network, host bits zero, prefix /12 to /30
 * (upstream refuses ranges larger than /12; a /31 has no host address). */
int ip_range_parse(const char *cidr, struct ip_range *r, char *errmsg, size_t len);
/* "30000-32767" (or one port "30000"): 1..65535, first <= last. */
int port_range_parse(const char *text, struct port_range *r, char *errmsg, size_t len);

/* A dotted IPv4 address into host byte order; false if `ip` is not one
 * (no leading zeros, spaces or IPv6, as Go's net.ParseIP for IPv4). */
bool ipv4_parse(const char *ip, uint32_t *out);
/* The offset of `ip` in r, or -1 when it is not a usable address of r. */
long ip_range_offset(const struct ip_range *r, uint32_t ip);
/* The address at `off` as text into out[16]. */
void ip_range_addr(const struct ip_range *r, size_t off, char out[16]);
/* The offset of `port`, or -1 when outside the range. */
long port_range_offset(const struct port_range *r, int port);

/* Which offsets of a range are taken: a bitmap.  `reserved` offsets at the
 * start are never handed out by alloc_map_next (1 for the service CIDR:
 * the `kubernetes` Service's address). */
struct alloc_map {
	uint8_t *bits;
	size_t size, band, reserved, used;
};

int alloc_map_init(struct alloc_map *m, size_t size, size_t band, size_t reserved);
void alloc_map_free(struct alloc_map *m);
bool alloc_map_test(const struct alloc_map *m, size_t off);
/* Marks / clears `off` (out of range is ignored); keeps `used` exact. */
void alloc_map_set(struct alloc_map *m, size_t off);
void alloc_map_clear(struct alloc_map *m, size_t off);
/* A free offset for a dynamic allocation: the first free one at or after
 * a point chosen by `rnd` in the upper band (wrapping inside it), else
 * the same in the lower band.  -1 when every offset a dynamic allocation
 * may take is used. */
long alloc_map_next(const struct alloc_map *m, uint64_t rnd);

#endif
