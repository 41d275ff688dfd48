/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* route.h - which interface a route leaves by (RTM_GETROUTE over rtnetlink, with libmnl). */
#ifndef __SP_ROUTE_H
#define __SP_ROUTE_H

#include <sys/socket.h>

struct mnl_socket;

/*
 * sp_route_oif - the output interface of the main routing decision for @dst (AF_INET or
 * AF_INET6), as `ip route get` prints it: `lo` for local addresses.
 * @nl: an open, bound NETLINK_ROUTE socket; @seq: sequence counter, advanced.
 * Returns the ifindex (> 0), or a negative errno: -ENETUNREACH, -EHOSTUNREACH, -EAFNOSUPPORT, ...
 */
int sp_route_oif(struct mnl_socket *nl, unsigned int *seq, const struct sockaddr *dst);

/*
 * sp_route_oif_from - as sp_route_oif(), for a socket with SO_MARK @mark and bound to interface
 * @oif (0: either unset), as `ip route get DST mark MARK oif IF` asks it: policy routing sees
 * the mark, and a VRF device as @oif makes the lookup in the VRF's table, whose answer is the
 * slave device the packets leave by.
 */
int sp_route_oif_from(struct mnl_socket *nl, unsigned int *seq, const struct sockaddr *dst,
		      __u32 mark, int oif);

#endif
