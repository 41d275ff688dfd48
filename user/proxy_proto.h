/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * proxy_proto.h - the PROXY protocol header a check sends first (--proxy-protocol v1|v2), as
 * HAProxy's check-send-proxy does, so that a server behind a proxy that speaks it accepts the
 * check. Source: HAProxy's doc/proxy-protocol.txt (version 1: section 2.1, the human-readable
 * line; version 2: section 2.2, the binary header).
 */
#ifndef __SP_PROXY_PROTO_H
#define __SP_PROXY_PROTO_H

#include <stddef.h>
#include <sys/socket.h>
#include <linux/types.h>

enum sp_proxy_version {
	SP_PROXY_NONE = 0,
	SP_PROXY_V1 = 1, /* "PROXY TCP4 src dst sport dport\r\n" */
	SP_PROXY_V2 =
	    2, /* 12-byte signature, version/command, family/protocol, length, addresses */
};

/* The longest header built: v1's 107 bytes (spec 2.1); v2 with IPv6 is 16 + 36 = 52. */
#define SP_PROXY_HEADER_MAX 108

/* The v2 signature (spec 2.2): \r\n\r\n\0\r\nQUIT\n. */
#define SP_PROXY_V2_SIG	    "\x0d\x0a\x0d\x0a\x00\x0d\x0a\x51\x55\x49\x54\x0a"
#define SP_PROXY_V2_SIG_LEN 12

/*
 * sp_proxy_header - the header of @version for a TCP connection from @src to @dst (both AF_INET
 * or both AF_INET6, with ports: the check's own socket's getsockname() and getpeername()), into
 * @buf (@cap bytes). v2 is sent with the PROXY command (0x21) and TCP over IPv4 (0x11) or IPv6
 * (0x21). An IPv4-mapped IPv6 pair is sent as IPv4, as the kernel sends its packets.
 * Returns the header's length, or -EAFNOSUPPORT (another family, or two families), -ENOSPC
 * (@cap too small), -EINVAL (@version).
 */
int sp_proxy_header(enum sp_proxy_version version, const struct sockaddr *src,
		    const struct sockaddr *dst, __u8 *buf, size_t cap);

/* sp_proxy_version_parse - "v1" or "v2" into @version: 0, or -EINVAL. */
int sp_proxy_version_parse(const char *s, enum sp_proxy_version *version);

#endif
