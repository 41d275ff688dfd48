/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * cidr.h - IPv4 and IPv6 networks in CIDR notation ("10.0.0.0/8", "fd00::/8"), for the allow list
 * of serve's /probe. Pure functions: no allocation, no system state.
 *
 * An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is an IPv4 address here, in networks (a mapped
 * network of prefix 96 or more becomes the IPv4 network it maps) as in the addresses matched, so
 * that 10.0.0.0/8 allows ::ffff:10.1.2.3 and ::/0 does not allow ::ffff:10.1.2.3.
 */
#ifndef __SP_CIDR_H
#define __SP_CIDR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <linux/types.h>

/* One message line of sp_cidr_parse() fits in this, the input echoed included. */
#define SP_CIDR_ERR_MAX 256
/* The text of a network: an IPv6 address, '/' and 3 digits. */
#define SP_CIDR_STR_MAX 64

struct sp_cidr {
	sa_family_t family; /* AF_INET or AF_INET6 */
	__u8 prefix;	    /* 0..32 or 0..128 */
	__u8 addr[16];	    /* network address bytes (4 used for IPv4), host bits zero */
};

/*
 * sp_cidr_parse - "ADDR/LEN" or a bare "ADDR" (a single host: /32 or /128) into @out. The host
 * bits must be zero ("10.0.0.1/8" is refused, naming 10.0.0.0/8). Returns 0, or -EINVAL with one
 * line in @msg (@len bytes) that quotes @s and says how to write it.
 */
int sp_cidr_parse(const char *s, struct sp_cidr *out, char *msg, size_t len);

/*
 * sp_cidr_parse_list - comma-separated networks of @s appended to @list, which holds *@n of @max.
 * Empty items ("a,,b", a trailing comma) are errors. Returns 0, or -EINVAL / -E2BIG (more than
 * @max) with one line in @msg; *@n is then as it was.
 */
int sp_cidr_parse_list(const char *s, struct sp_cidr *list, size_t max, size_t *n, char *msg,
		       size_t len);

/*
 * sp_cidr_match - whether the address of @sa (AF_INET or AF_INET6; a v4-mapped IPv6 address is
 * taken as IPv4) lies in @c. False for any other family.
 */
bool sp_cidr_match(const struct sp_cidr *c, const struct sockaddr *sa);

/* sp_cidr_list_match - whether @sa lies in one of the @n networks of @list. */
bool sp_cidr_list_match(const struct sp_cidr *list, size_t n, const struct sockaddr *sa);

/* sp_addr_is_loopback - @sa is in 127.0.0.0/8 (also v4-mapped) or is ::1. */
bool sp_addr_is_loopback(const struct sockaddr *sa);

/* sp_cidr_format - @c as "ADDR/LEN" into @buf (@len bytes, SP_CIDR_STR_MAX is enough). */
char *sp_cidr_format(const struct sp_cidr *c, char *buf, size_t len);

/*
 * sp_addr_format - the address of @sa (v4-mapped shown as IPv4) into @buf (@len bytes, 64 is
 * enough); "?" for another family.
 */
char *sp_addr_format(const struct sockaddr *sa, char *buf, size_t len);

#endif
