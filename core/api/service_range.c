/*
 * Service address and node port ranges, and picking free offsets
 * (service_range.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/err.h"
#include "service_range.h"

/* upstream's calculateRangeOffset: min(max(lo, size/step), hi), and no
 * band at all for ranges of `lo` or fewer. */
static size_t band_of(size_t size, size_t lo, size_t step, size_t hi)
{
	if (size <= lo)
		return 0;
	size_t b = size / step;
	return b < lo ? lo : b > hi ? hi : b;
}

/* A decimal number of 1..max_digits digits without a leading zero;
 * returns the character after it, or NULL. */
static const char *number(const char *s, int max_digits, long *out)
{
	long v = 0;
	int n = 0;
	if (s[0] == '0' && s[1] >= '0' && s[1] <= '9')
		return NULL;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (++n > max_digits)
			return NULL;
		v = v * 10 + (*s - '0');
	}
	if (n == 0)
		return NULL;
	*out = v;
	return s;
}

/* Parses a dotted quad at the start of s; returns what follows, or NULL. */
static const char *quad(const char *s, uint32_t *out)
{
	uint32_t v = 0;
	for (int i = 0; i < 4; i++) {
		long part;
		if (i > 0 && *s++ != '.')
			return NULL;
		if ((s = number(s, 3, &part)) == NULL || part > 255)
			return NULL;
		v = (v << 8) | (uint32_t)part;
	}
	*out = v;
	return s;
}

bool ipv4_parse(const char *ip, uint32_t *out)
{
	const char *end = ip ? quad(ip, out) : NULL;
	return end != NULL && *end == '\0';
}

int ip_range_parse(const char *cidr, struct ip_range *r, char *errmsg, size_t len)
{
	uint32_t net;
	long prefix;
	const char *p = cidr ? quad(cidr, &net) : NULL;
	memset(r, 0, sizeof *r);
	if (p == NULL || *p != '/' || (p = number(p + 1, 2, &prefix)) == NULL || *p != '\0' ||
	    prefix > 32) {
		snprintf(errmsg, len, "service CIDR \"%s\" is not an IPv4 network such as %s",
			 cidr ? cidr : "", SERVICE_CIDR_DEFAULT);
		return MK_EINVAL;
	}
	if (prefix < 12 || prefix > 30) {
		snprintf(errmsg, len, "service CIDR %s: the prefix must be between /12 and /30",
			 cidr);
		return MK_EINVAL;
	}
	uint32_t mask = ~(uint32_t)0 << (32 - prefix);
	if ((net & ~mask) != 0) {
		snprintf(errmsg, len, "service CIDR %s has host bits set (the network is %u.%u.%u.%u/%ld)",
			 cidr, (net & mask) >> 24, ((net & mask) >> 16) & 255,
			 ((net & mask) >> 8) & 255, (net & mask) & 255, prefix);
		return MK_EINVAL;
	}
	size_t total = (size_t)1 << (32 - prefix);
	r->network = net;
	r->prefix = (int)prefix;
	r->first = net + 1;
	r->size = total - 2;
	r->band = band_of(total, 16, 16, 256);
	snprintf(r->cidr, sizeof r->cidr, "%u.%u.%u.%u/%d", net >> 24, (net >> 16) & 255,
		 (net >> 8) & 255, net & 255, r->prefix);
	return MK_OK;
}

int port_range_parse(const char *text, struct port_range *r, char *errmsg, size_t len)
{
	long first, last;
	const char *p = text ? number(text, 5, &first) : NULL;
	memset(r, 0, sizeof *r);
	if (p != NULL && *p == '-')
		p = number(p + 1, 5, &last);
	else
		last = first;
	if (p == NULL || *p != '\0') {
		snprintf(errmsg, len, "node port range \"%s\" is not FIRST-LAST such as %s",
			 text ? text : "", NODE_PORT_RANGE_DEFAULT);
		return MK_EINVAL;
	}
	if (first < 1 || last > 65535 || first > last) {
		snprintf(errmsg, len, "node port range %s: ports must be 1-65535, the first not "
			 "above the last", text);
		return MK_EINVAL;
	}
	r->first = (int)first;
	r->last = (int)last;
	r->size = (size_t)(last - first + 1);
	r->band = band_of(r->size, 16, 32, 128);
	snprintf(r->text, sizeof r->text, "%d-%d", r->first, r->last);
	return MK_OK;
}

long ip_range_offset(const struct ip_range *r, uint32_t ip)
{
	if (ip < r->first || (uint64_t)ip - r->first >= r->size)
		return -1;
	return (long)(ip - r->first);
}

void ip_range_addr(const struct ip_range *r, size_t off, char out[16])
{
	uint32_t ip = r->first + (uint32_t)off;
	snprintf(out, 16, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
}

long port_range_offset(const struct port_range *r, int port)
{
	if (port < r->first || port > r->last)
		return -1;
	return port - r->first;
}

/* --- the bitmap ------------------------------------------------------------ */

int alloc_map_init(struct alloc_map *m, size_t size, size_t band, size_t reserved)
{
	memset(m, 0, sizeof *m);
	m->bits = calloc(size / 8 + 1, 1);
	if (m->bits == NULL)
		return MK_ENOMEM;
	m->size = size;
	m->band = band < size ? band : 0;
	m->reserved = reserved < size ? reserved : size;
	return MK_OK;
}

void alloc_map_free(struct alloc_map *m)
{
	free(m->bits);
	memset(m, 0, sizeof *m);
}

bool alloc_map_test(const struct alloc_map *m, size_t off)
{
	return off < m->size && (m->bits[off / 8] >> (off % 8)) & 1;
}

void alloc_map_set(struct alloc_map *m, size_t off)
{
	if (off >= m->size || alloc_map_test(m, off))
		return;
	m->bits[off / 8] |= (uint8_t)(1u << (off % 8));
	m->used++;
}

void alloc_map_clear(struct alloc_map *m, size_t off)
{
	if (!alloc_map_test(m, off))
		return;
	m->bits[off / 8] &= (uint8_t)~(1u << (off % 8));
	m->used--;
}

/* The first free offset in [lo, hi) at or after lo + rnd % (hi - lo),
 * wrapping inside the interval; -1 if none. */
static long scan(const struct alloc_map *m, size_t lo, size_t hi, uint64_t rnd)
{
	if (lo >= hi)
		return -1;
	size_t n = hi - lo, start = (size_t)(rnd % n);
	for (size_t i = 0; i < n; i++) {
		size_t off = lo + (start + i) % n;
		if (!alloc_map_test(m, off))
			return (long)off;
	}
	return -1;
}

long alloc_map_next(const struct alloc_map *m, uint64_t rnd)
{
	size_t lo = m->reserved, band = m->band > lo ? m->band : lo;
	long off = scan(m, band, m->size, rnd);
	return off >= 0 ? off : scan(m, lo, band, rnd);
}
