/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* attach.h - attach the tc ingress/egress programs to one interface: TCX link or clsact. */
#ifndef __SP_ATTACH_H
#define __SP_ATTACH_H

#include <stdbool.h>
#include "libsynprobe.h"

/* One interface the programs are attached to. */
struct sp_attachment {
	int ifindex;
	enum synprobe_attach_mode mode;
	int link_fd[2];	   /* TCX: ingress and egress bpf_link fds */
	__u32 handle[2];   /* clsact: the filters' handles ... */
	__u32 priority[2]; /* ... and priorities, for bpf_tc_detach() */
	bool qdisc_created; /* clsact: we made the qdisc, so we remove it */
};

/*
 * sp_attach - attach @ingress_fd and @egress_fd (SCHED_CLS programs) to @ifindex.
 * Tries a TCX link first (kernel >= 6.6; nothing survives the process), then a clsact qdisc
 * (whose filters outlive a crash and need sp_detach()); with @force_clsact only clsact. The
 * programs must suit the interface's link kind (sp_link_kind()). Fills @out. Returns 0 or a
 * negative errno (-ENODEV: no such interface, -EPERM: no CAP_NET_ADMIN/CAP_BPF).
 */
int sp_attach(int ifindex, int ingress_fd, int egress_fd, bool force_clsact,
	      struct sp_attachment *out);

/* sp_link_type - the ARPHRD_* type of @ifindex (SIOCGIFHWADDR), or a negative errno. */
int sp_link_type(int ifindex);

/* Where a packet starts at tc on an interface: the programs come in one pair for each. */
enum sp_link_kind {
	SP_LINK_ETHERNET = 0, /* at the Ethernet header: Ethernet, veth, VLAN, bridge, lo */
	SP_LINK_L3 = 1,	      /* at the IP header: tun, WireGuard, GRE, IPIP, SIT, PPP */
};

/*
 * sp_link_kind - enum sp_link_kind of @ifindex, from its ARPHRD_* type; -EPFNOSUPPORT for a
 * link type the programs cannot parse (InfiniBand, CAN, ...), -ENODEV, or another negative errno.
 */
int sp_link_kind(int ifindex);

/* sp_detach - undo sp_attach(): close the links, or remove the filters (and our qdisc). */
void sp_detach(struct sp_attachment *a);

#endif
