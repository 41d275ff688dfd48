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

#endif
