// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* proxy_proto.c - PROXY protocol v1 and v2 headers (proxy_proto.h; HAProxy proxy-protocol.txt). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include "proxy_proto.h"

/* An address and port, IPv4-mapped IPv6 turned into IPv4. */
struct endpoint {
	int family;
	__u8 addr[16];
	__be16 port;
};

static int endpoint_of(const struct sockaddr *sa, struct endpoint *e)
{
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;
	const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;

	memset(e, 0, sizeof(*e));
	if (!sa)
		return -EAFNOSUPPORT;
	if (sa->sa_family == AF_INET) {
		e->family = AF_INET;
		memcpy(e->addr, &sin->sin_addr, 4);
		e->port = sin->sin_port;
	} else if (sa->sa_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
		e->family = AF_INET;
		memcpy(e->addr, &sin6->sin6_addr.s6_addr[12], 4);
		e->port = sin6->sin6_port;
	} else if (sa->sa_family == AF_INET6) {
		e->family = AF_INET6;
		memcpy(e->addr, &sin6->sin6_addr, 16);
		e->port = sin6->sin6_port;
	} else {
		return -EAFNOSUPPORT;
	}
	return 0;
}

int sp_proxy_header(enum sp_proxy_version version, const struct sockaddr *src,
		    const struct sockaddr *dst, __u8 *buf, size_t cap)
{
	char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];
	struct endpoint es, ed;
	size_t alen, n;
	int len;

	if (version != SP_PROXY_V1 && version != SP_PROXY_V2)
		return -EINVAL;
	if (endpoint_of(src, &es) || endpoint_of(dst, &ed) || es.family != ed.family)
		return -EAFNOSUPPORT;
	if (version == SP_PROXY_V1) {
		/* 2.1: "PROXY" SP ("TCP4" | "TCP6") SP src SP dst SP sport SP dport CRLF. */
		inet_ntop(es.family, es.addr, s, sizeof(s));
		inet_ntop(ed.family, ed.addr, d, sizeof(d));
		len = snprintf((char *)buf, cap, "PROXY %s %s %s %u %u\r\n",
			       es.family == AF_INET ? "TCP4" : "TCP6", s, d, ntohs(es.port),
			       ntohs(ed.port));
		if (len < 0 || (size_t)len >= cap)
			return -ENOSPC;
		return len;
	}
	/* 2.2: signature, ver_cmd, fam, len (network order), then the addresses and ports. */
	alen = es.family == AF_INET ? 4 : 16;
	n = SP_PROXY_V2_SIG_LEN + 4 + 2 * alen + 4;
	if (cap < n)
		return -ENOSPC;
	memcpy(buf, SP_PROXY_V2_SIG, SP_PROXY_V2_SIG_LEN);
	buf[12] = 0x21;				      /* version 2, command PROXY */
	buf[13] = es.family == AF_INET ? 0x11 : 0x21; /* TCP over IPv4 / IPv6 */
	buf[14] = (__u8)((2 * alen + 4) >> 8);
	buf[15] = (__u8)((2 * alen + 4) & 0xff);
	memcpy(buf + 16, es.addr, alen);
	memcpy(buf + 16 + alen, ed.addr, alen);
	memcpy(buf + 16 + 2 * alen, &es.port, 2);
	memcpy(buf + 18 + 2 * alen, &ed.port, 2);
	return (int)n;
}

int sp_proxy_version_parse(const char *s, enum sp_proxy_version *version)
{
	if (!strcmp(s, "v1") || !strcmp(s, "1"))
		*version = SP_PROXY_V1;
	else if (!strcmp(s, "v2") || !strcmp(s, "2"))
		*version = SP_PROXY_V2;
	else
		return -EINVAL;
	return 0;
}
