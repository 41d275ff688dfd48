// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* route.c - RTM_GETROUTE for one destination, as iproute2's `ip route get` asks it. */
#include <errno.h>
#include <string.h>
#include <netinet/in.h>
#include <linux/rtnetlink.h>
#include <libmnl/libmnl.h>
#include "route.h"

static int route_attr_cb(const struct nlattr *attr, void *data)
{
	int *oif = data;

	if (mnl_attr_get_type(attr) == RTA_OIF && !mnl_attr_validate(attr, MNL_TYPE_U32))
		*oif = (int)mnl_attr_get_u32(attr);
	return MNL_CB_OK;
}

static int route_msg_cb(const struct nlmsghdr *nlh, void *data)
{
	mnl_attr_parse(nlh, sizeof(struct rtmsg), route_attr_cb, data);
	return MNL_CB_OK;
}

int sp_route_oif(struct mnl_socket *nl, unsigned int *seq, const struct sockaddr *dst)
{
	return sp_route_oif_from(nl, seq, dst, 0, 0);
}

int sp_route_oif_from(struct mnl_socket *nl, unsigned int *seq, const struct sockaddr *dst,
		      __u32 mark, int oif_in)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;
	unsigned int portid = mnl_socket_get_portid(nl);
	int oif = 0;
	ssize_t n;

	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETROUTE;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	nlh->nlmsg_seq = ++*seq;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = dst->sa_family;
	if (dst->sa_family == AF_INET) {
		rtm->rtm_dst_len = 32;
		mnl_attr_put(nlh, RTA_DST, 4, &((const struct sockaddr_in *)dst)->sin_addr);
	} else if (dst->sa_family == AF_INET6) {
		rtm->rtm_dst_len = 128;
		mnl_attr_put(nlh, RTA_DST, 16, &((const struct sockaddr_in6 *)dst)->sin6_addr);
	} else {
		return -EAFNOSUPPORT;
	}
	if (mark)
		mnl_attr_put_u32(nlh, RTA_MARK, mark);
	if (oif_in > 0)
		mnl_attr_put_u32(nlh, RTA_OIF, (__u32)oif_in);

	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
	if (n < 0)
		return -errno;
	/* An NLMSG_ERROR answer (no route) comes back as -1 with errno set. */
	if (mnl_cb_run(buf, n, *seq, portid, route_msg_cb, &oif) < 0)
		return -errno;
	return oif > 0 ? oif : -ENETUNREACH;
}
