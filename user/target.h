/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* target.h - parsing TARGET arguments and resolving them to socket addresses. */
#ifndef __SP_TARGET_H
#define __SP_TARGET_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <linux/types.h>

#define SP_HOST_MAX 256
#define SP_ERR_MAX 320

/* A TARGET as written: host (a name, an IPv4 or an IPv6 literal without brackets) and port. */
struct sp_target_spec {
	char host[SP_HOST_MAX];
	__u16 port;
	bool ipv6_literal; /* written as [v6]:port or a bare IPv6 literal */
};

/*
 * sp_target_parse - split @arg into host and port. Accepted: "host:port", "[ipv6]:port", and
 * "host", "ipv6" or "[ipv6]" when @default_port (from -p) is non-zero; a port in @arg wins over
 * @default_port. Returns 0, or -EINVAL with a one-line reason in @err (@errlen bytes) that names
 * the input and the fix.
 */
int sp_target_parse(const char *arg, __u16 default_port, struct sp_target_spec *out, char *err,
		    size_t errlen);

/* One resolved address of a target. */
struct sp_address {
	struct sockaddr_storage addr;
	socklen_t addrlen;
};

/*
 * sp_target_resolve - resolve @t with getaddrinfo() (@family: AF_UNSPEC, AF_INET or AF_INET6)
 * into @out (@max entries), duplicates removed, in getaddrinfo's order (RFC 6724). With @all false
 * only the first address is kept. Returns the number of addresses (> 0), or a negative errno
 * (-ENOENT: no address of that family, -EAGAIN: temporary resolver failure) with a one-line
 * reason in @err.
 */
int sp_target_resolve(const struct sp_target_spec *t, int family, bool all, struct sp_address *out,
		      size_t max, char *err, size_t errlen);

/*
 * sp_address_str - the numeric host of @addr ("10.0.0.1", "fd00::1", "fe80::1%veth0") into @buf;
 * and its port in host order through @port (may be NULL). Returns @buf.
 */
char *sp_address_str(const struct sockaddr_storage *addr, char *buf, size_t len, __u16 *port);

#endif
