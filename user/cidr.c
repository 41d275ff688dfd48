// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* cidr.c - IPv4 and IPv6 networks in CIDR notation, parsed and matched (see cidr.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include "cidr.h"

static const __u8 v4mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

/* Input echoed in messages: at most this many characters, then "...". */
#define ECHO_MAX 64

#define QUOTE(s)                                                                                   \
	(int)(strlen(s) > ECHO_MAX ? ECHO_MAX : strlen(s)), (s), strlen(s) > ECHO_MAX ? "..." : ""

/* Zeroes the bits of @addr (@bytes long) beyond @prefix; returns whether any was set. */
static bool clear_host_bits(__u8 *addr, unsigned int bytes, unsigned int prefix)
{
	bool had = false;
	unsigned int i;
	__u8 mask;

	for (i = 0; i < bytes; i++) {
		if (prefix >= 8 * (i + 1))
			continue;
		mask = prefix > 8 * i ? (__u8)(0xff << (8 - (prefix - 8 * i))) : 0;
		if (addr[i] & ~mask)
			had = true;
		addr[i] &= mask;
	}
	return had;
}

static bool prefix_match(const __u8 *a, const __u8 *net, unsigned int prefix)
{
	unsigned int full = prefix / 8, rest = prefix % 8;
	__u8 mask;

	if (memcmp(a, net, full))
		return false;
	if (!rest)
		return true;
	mask = (__u8)(0xff << (8 - rest));
	return (a[full] & mask) == (net[full] & mask);
}

int sp_cidr_parse(const char *s, struct sp_cidr *out, char *msg, size_t len)
{
	char host[SP_CIDR_STR_MAX], fixed[SP_CIDR_STR_MAX];
	const char *slash, *p;
	unsigned int max, prefix = 0;
	struct sp_cidr c = {};
	size_t hlen;

	if (!*s) {
		snprintf(msg, len, "empty network: write a CIDR such as 10.0.0.0/8 or fd00::/8");
		return -EINVAL;
	}
	slash = strchr(s, '/');
	hlen = slash ? (size_t)(slash - s) : strlen(s);
	if (hlen >= sizeof(host)) {
		snprintf(msg, len,
			 "'%.*s%s' is too long for a network: write a CIDR such as "
			 "10.0.0.0/8 or fd00::/8",
			 QUOTE(s));
		return -EINVAL;
	}
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	if (!hlen) {
		snprintf(msg, len,
			 "'%.*s%s' has no address before '/': write a CIDR such as "
			 "10.0.0.0/8 or fd00::/8",
			 QUOTE(s));
		return -EINVAL;
	}
	if (inet_pton(AF_INET, host, c.addr) == 1) {
		c.family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, host, c.addr) == 1) {
		c.family = AF_INET6;
		max = 128;
	} else {
		snprintf(msg, len,
			 "'%.*s%s': '%.*s%s' is not an IPv4 or IPv6 address: write a CIDR "
			 "such as 10.0.0.0/8 or fd00::/8 (no names, no zone ids)",
			 QUOTE(s), QUOTE(host));
		return -EINVAL;
	}
	if (slash) {
		p = slash + 1;
		for (prefix = 0; *p >= '0' && *p <= '9' && prefix <= max; p++)
			prefix = prefix * 10 + (unsigned int)(*p - '0');
		if (p == slash + 1 || *p || prefix > max) {
			snprintf(msg, len,
				 "'%.*s%s': the prefix length of an %s network is a number "
				 "from 0 to %u, as in %s",
				 QUOTE(s), c.family == AF_INET ? "IPv4" : "IPv6", max,
				 c.family == AF_INET ? "10.0.0.0/8" : "fd00::/8");
			return -EINVAL;
		}
	} else {
		prefix = max;
	}
	c.prefix = (__u8)prefix;
	if (clear_host_bits(c.addr, max / 8, prefix)) {
		sp_cidr_format(&c, fixed, sizeof(fixed));
		snprintf(msg, len,
			 "'%.*s%s' has host bits set: write the network %s (or %s/%u for "
			 "the host alone)",
			 QUOTE(s), fixed, host, max);
		return -EINVAL;
	}
	/* A mapped IPv4 network is the IPv4 network, as the addresses it is matched against. */
	if (c.family == AF_INET6 && prefix >= 96 && !memcmp(c.addr, v4mapped_prefix, 12)) {
		memmove(c.addr, c.addr + 12, 4);
		memset(c.addr + 4, 0, 12);
		c.family = AF_INET;
		c.prefix = (__u8)(prefix - 96);
	}
	*out = c;
	return 0;
}

int sp_cidr_parse_list(const char *s, struct sp_cidr *list, size_t max, size_t *n, char *msg,
		       size_t len)
{
	char item[SP_CIDR_STR_MAX + 8];
	size_t got = *n, ilen;
	const char *comma;

	for (;;) {
		comma = strchr(s, ',');
		ilen = comma ? (size_t)(comma - s) : strlen(s);
		if (!ilen) {
			snprintf(msg, len,
				 "an empty item in the list: write networks separated by "
				 "commas, such as 10.0.0.0/8,fd00::/8");
			return -EINVAL;
		}
		if (ilen >= sizeof(item)) {
			snprintf(msg, len,
				 "'%.*s...' is too long for a network: write a CIDR such as "
				 "10.0.0.0/8 or fd00::/8",
				 ECHO_MAX, s);
			return -EINVAL;
		}
		memcpy(item, s, ilen);
		item[ilen] = '\0';
		if (got == max) {
			snprintf(msg, len, "more than %zu networks: merge some into larger ones",
				 max);
			return -E2BIG;
		}
		if (sp_cidr_parse(item, &list[got], msg, len))
			return -EINVAL;
		got++;
		if (!comma)
			break;
		s = comma + 1;
	}
	*n = got;
	return 0;
}

/* The address bytes of @sa and their family, a v4-mapped IPv6 address as IPv4. */
static bool addr_of(const struct sockaddr *sa, sa_family_t *family, const __u8 **addr)
{
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;

	if (sa->sa_family == AF_INET) {
		*family = AF_INET;
		*addr = (const __u8 *)&((const struct sockaddr_in *)sa)->sin_addr;
		return true;
	}
	if (sa->sa_family != AF_INET6)
		return false;
	*addr = sin6->sin6_addr.s6_addr;
	*family = AF_INET6;
	if (!memcmp(*addr, v4mapped_prefix, 12)) {
		*addr += 12;
		*family = AF_INET;
	}
	return true;
}

bool sp_cidr_match(const struct sp_cidr *c, const struct sockaddr *sa)
{
	sa_family_t family;
	const __u8 *addr;

	return addr_of(sa, &family, &addr) && family == c->family &&
	       prefix_match(addr, c->addr, c->prefix);
}

bool sp_cidr_list_match(const struct sp_cidr *list, size_t n, const struct sockaddr *sa)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (sp_cidr_match(&list[i], sa))
			return true;
	return false;
}

bool sp_addr_is_loopback(const struct sockaddr *sa)
{
	static const __u8 v6_loopback[16] = {[15] = 1};
	sa_family_t family;
	const __u8 *addr;

	if (!addr_of(sa, &family, &addr))
		return false;
	return family == AF_INET ? addr[0] == 127 : !memcmp(addr, v6_loopback, 16);
}

char *sp_cidr_format(const struct sp_cidr *c, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	if (!inet_ntop(c->family, c->addr, a, sizeof(a)))
		snprintf(a, sizeof(a), "?");
	snprintf(buf, len, "%s/%u", a, c->prefix);
	return buf;
}

char *sp_addr_format(const struct sockaddr *sa, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];
	sa_family_t family;
	const __u8 *addr;

	if (!addr_of(sa, &family, &addr) || !inet_ntop(family, addr, a, sizeof(a)))
		snprintf(a, sizeof(a), "?");
	snprintf(buf, len, "%s", a);
	return buf;
}
