// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* attach.c - TCX links where the kernel has them (NOTES-kernel.md item 6), clsact otherwise. */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "attach.h"
#include "cleanup.h"

/*
 * enum bpf_attach_type values from kernel 6.6's UAPI (include/uapi/linux/bpf.h); Debian 12's
 * linux-libc-dev 6.1 does not have them yet.
 */
#define SP_BPF_TCX_INGRESS 46
#define SP_BPF_TCX_EGRESS 47

/* In <linux/if_arp.h> but not in glibc's <net/if_arp.h>. */
#ifndef ARPHRD_IP6GRE
#define ARPHRD_IP6GRE 823
#endif

static int attach_tcx(int ifindex, int ingress_fd, int egress_fd, struct sp_attachment *a)
{
	int fd, err;

	fd = bpf_link_create(ingress_fd, ifindex, SP_BPF_TCX_INGRESS, NULL);
	if (fd < 0)
		return -errno;
	a->link_fd[0] = fd;

	fd = bpf_link_create(egress_fd, ifindex, SP_BPF_TCX_EGRESS, NULL);
	if (fd < 0) {
		err = -errno;
		close(a->link_fd[0]);
		a->link_fd[0] = -1;
		return err;
	}
	a->link_fd[1] = fd;
	a->mode = SYNPROBE_ATTACH_TCX;
	return 0;
}

static int attach_clsact(int ifindex, int ingress_fd, int egress_fd, struct sp_attachment *a)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
		    .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);
	LIBBPF_OPTS(bpf_tc_opts, in_opts, .prog_fd = ingress_fd);
	LIBBPF_OPTS(bpf_tc_opts, eg_opts, .prog_fd = egress_fd);
	int err;

	err = bpf_tc_hook_create(&hook);
	if (err && err != -EEXIST)
		return err;
	a->qdisc_created = err == 0;
	a->mode = SYNPROBE_ATTACH_CLSACT;

	hook.attach_point = BPF_TC_INGRESS;
	err = bpf_tc_attach(&hook, &in_opts);
	if (err)
		goto cleanup;
	a->handle[0] = in_opts.handle;
	a->priority[0] = in_opts.priority;

	hook.attach_point = BPF_TC_EGRESS;
	err = bpf_tc_attach(&hook, &eg_opts);
	if (err)
		goto cleanup;
	a->handle[1] = eg_opts.handle;
	a->priority[1] = eg_opts.priority;
	return 0;

cleanup:
	sp_detach(a);
	return err;
}

int sp_link_type(int ifindex)
{
	struct ifreq ifr = {};
	int fd, err = 0;

	if (!if_indextoname(ifindex, ifr.ifr_name))
		return -ENODEV;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (ioctl(fd, SIOCGIFHWADDR, &ifr))
		err = -errno;
	close(fd);
	return err ? err : ifr.ifr_hwaddr.sa_family;
}

int sp_link_kind(int ifindex)
{
	int type = sp_link_type(ifindex);

	if (type < 0)
		return type;
	switch (type) {
	case ARPHRD_ETHER: /* Ethernet, veth, bridges, VLAN sub-interfaces, gretap, vxlan */
	case ARPHRD_LOOPBACK:
		return SP_LINK_ETHERNET;
	case ARPHRD_NONE: /* tun (IFF_TUN), WireGuard */
	case ARPHRD_TUNNEL: /* ipip */
	case ARPHRD_TUNNEL6: /* ip6tnl */
	case ARPHRD_SIT:
	case ARPHRD_IPGRE: /* gre with a remote address */
	case ARPHRD_IP6GRE:
	case ARPHRD_RAWIP:
	case ARPHRD_PPP:
		return SP_LINK_L3;
	default:
		return -EPFNOSUPPORT;
	}
}

int sp_attach(int ifindex, int ingress_fd, int egress_fd, bool force_clsact,
	      struct sp_attachment *out)
{
	int err;

	memset(out, 0, sizeof(*out));
	out->ifindex = ifindex;
	out->link_fd[0] = out->link_fd[1] = -1;
	/*
	 * A SIGKILLed clsact run's filters (no process holds their programs) go first, in either
	 * mode: left, they would see our checks' packets too. One netlink dump when there are none.
	 */
	sp_cleanup_dead(ifindex);

	if (!force_clsact) {
		err = attach_tcx(ifindex, ingress_fd, egress_fd, out);
		if (!err || err == -EPERM || err == -ENODEV)
			return err;
	}
	/* A kernel older than 6.6 rejects the TCX attach type (EINVAL): use clsact. */
	return attach_clsact(ifindex, ingress_fd, egress_fd, out);
}

static void detach_clsact_filter(int ifindex, enum bpf_tc_attach_point point, __u32 handle,
				 __u32 priority)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = point);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = handle, .priority = priority);

	if (handle)
		bpf_tc_detach(&hook, &opts);
}

void sp_detach(struct sp_attachment *a)
{
	int i;

	if (a->mode == SYNPROBE_ATTACH_TCX) {
		for (i = 0; i < 2; i++) {
			if (a->link_fd[i] >= 0)
				close(a->link_fd[i]);
			a->link_fd[i] = -1;
		}
		return;
	}
	detach_clsact_filter(a->ifindex, BPF_TC_INGRESS, a->handle[0], a->priority[0]);
	detach_clsact_filter(a->ifindex, BPF_TC_EGRESS, a->handle[1], a->priority[1]);
	a->handle[0] = a->handle[1] = 0;
	/*
	 * Only a qdisc we made goes, and only when it is empty: someone else (another synprobe)
	 * may have attached to it since, and destroying it would take their filters too.
	 */
	if (a->qdisc_created)
		sp_clsact_del_if_empty(a->ifindex);
	a->qdisc_created = false;
}
