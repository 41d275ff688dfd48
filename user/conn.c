// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* conn.c - the conn BPF object: load, attach per interface, register connections, read events. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <stdio.h>
#include <unistd.h>
#include <poll.h>
#include <net/if.h>
#include <netinet/in.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <libmnl/libmnl.h>
#include "conn.h"
#include "conn.skel.h"
#include "attach.h"
#include "route.h"
#include "target.h"

#define CONN_IFACES_MAX 16
#define CONN_FOLLOWED_MAX 256

struct sp_conn_obs {
	struct conn_bpf *skel;
	struct ring_buffer *rb;
	struct mnl_socket *nl;
	unsigned int nl_seq;
	sp_conn_event_fn fn;
	void *ctx;
	struct sp_attachment att[CONN_IFACES_MAX];
	size_t n_att;
	__u64 cookies[CONN_FOLLOWED_MAX]; /* registered, 0 for a free slot */
};

__u64 sp_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ull + (__u64)ts.tv_nsec;
}

const char *sp_conn_event_name(int type)
{
	switch (type) {
	case SP_CONN_EV_PROBE_OUT:
		return "probe-out";
	case SP_CONN_EV_ACK_IN:
		return "ack-in";
	case SP_CONN_EV_PROBE_IN:
		return "probe-in";
	case SP_CONN_EV_ACK_OUT:
		return "ack-out";
	case SP_CONN_EV_FIN_OUT:
		return "fin-out";
	case SP_CONN_EV_FIN_IN:
		return "fin-in";
	case SP_CONN_EV_RST_OUT:
		return "rst-out";
	case SP_CONN_EV_RST_IN:
		return "rst-in";
	case SP_CONN_EV_DATA_AFTER_FIN:
		return "data-after-fin";
	}
	return "unknown";
}

static int on_event(void *ctx, void *data, size_t len)
{
	struct sp_conn_obs *o = ctx;

	if (len < sizeof(struct sp_conn_event))
		return 0;
	o->fn(data, o->ctx);
	return 0;
}

struct sp_conn_obs *sp_conn_open(sp_conn_event_fn fn, void *ctx)
{
	struct sp_conn_obs *o;
	int err;

	o = calloc(1, sizeof(*o));
	if (!o)
		return NULL;
	o->fn = fn;
	o->ctx = ctx;
	o->skel = conn_bpf__open_and_load();
	if (!o->skel) {
		err = errno ? errno : EINVAL;
		goto cleanup;
	}
	o->rb = ring_buffer__new(bpf_map__fd(o->skel->maps.sp_conn_events), on_event, o, NULL);
	if (!o->rb) {
		err = errno ? errno : ENOMEM;
		goto cleanup;
	}
	o->nl = mnl_socket_open(NETLINK_ROUTE);
	if (!o->nl || mnl_socket_bind(o->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		err = errno ? errno : EIO;
		goto cleanup;
	}
	return o;

cleanup:
	sp_conn_close(o);
	errno = err;
	return NULL;
}

int sp_conn_attach_for(struct sp_conn_obs *o, const struct sockaddr *peer)
{
	struct bpf_program *in, *eg;
	int ifindex, kind, err;
	size_t i;

	ifindex = sp_route_oif(o->nl, &o->nl_seq, peer);
	if (ifindex < 0)
		return ifindex;
	for (i = 0; i < o->n_att; i++)
		if (o->att[i].ifindex == ifindex)
			return 0;
	if (o->n_att == CONN_IFACES_MAX)
		return -E2BIG;
	/* The program pair that suits the interface: from the Ethernet or from the IP header. */
	kind = sp_link_kind(ifindex);
	if (kind < 0)
		return kind;
	in = kind == SP_LINK_L3 ? o->skel->progs.sp_conn_in_l3 : o->skel->progs.sp_conn_ingress;
	eg = kind == SP_LINK_L3 ? o->skel->progs.sp_conn_eg_l3 : o->skel->progs.sp_conn_egress;
	err = sp_attach(ifindex, bpf_program__fd(in), bpf_program__fd(eg), false, &o->att[o->n_att]);
	if (err)
		return err;
	o->n_att++;
	return 0;
}

char *sp_conn_attach_strerror(int err, const char *where, char *buf, size_t len)
{
	if (err == -EPERM || err == -EACCES)
		snprintf(buf, len,
			 "attaching the BPF programs for %s was refused: run synprobe as root", where);
	else if (err == -EPFNOSUPPORT)
		snprintf(buf, len,
			 "the route to %s leaves by an interface of a link type synprobe cannot parse: it follows Ethernet, veth, VLAN, loopback and L3 devices (tun, WireGuard, GRE, IPIP)",
			 where);
	else
		snprintf(buf, len,
			 "cannot attach the BPF programs to the interface of the route to %s (%s): check it with 'ip route get'",
			 where, strerror(-err));
	return buf;
}

/* Fills @t (our view: saddr local) from a socket address pair; v4-mapped IPv6 becomes IPv4. */
static int tuple_from(const struct sockaddr_storage *local, const struct sockaddr_storage *peer,
		      struct sp_tuple *t)
{
	const struct sockaddr_storage *ss[2] = { local, peer };
	__u8 *addr[2] = { t->saddr, t->daddr };
	__be16 *port[2] = { &t->sport, &t->dport };
	int i;

	memset(t, 0, sizeof(*t));
	for (i = 0; i < 2; i++) {
		if (ss[i]->ss_family == AF_INET) {
			const struct sockaddr_in *sin = (const void *)ss[i];

			memcpy(addr[i], &sin->sin_addr, 4);
			*port[i] = sin->sin_port;
			t->family = SP_FAMILY_IPV4;
		} else if (ss[i]->ss_family == AF_INET6) {
			const struct sockaddr_in6 *sin6 = (const void *)ss[i];

			if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
				memcpy(addr[i], &sin6->sin6_addr.s6_addr[12], 4);
				t->family = SP_FAMILY_IPV4;
			} else {
				memcpy(addr[i], &sin6->sin6_addr, 16);
				t->family = SP_FAMILY_IPV6;
			}
			*port[i] = sin6->sin6_port;
		} else {
			return -EAFNOSUPPORT;
		}
	}
	return 0;
}

int sp_conn_register(struct sp_conn_obs *o, int fd, __u32 conn_id, bool accepted, __u64 *cookie)
{
	struct sockaddr_storage local, peer;
	socklen_t len = sizeof(*cookie);
	struct sp_conn c = {};
	size_t slot;
	int err;

	for (slot = 0; slot < CONN_FOLLOWED_MAX && o->cookies[slot]; slot++)
		;
	if (slot == CONN_FOLLOWED_MAX)
		return -ENOSPC;
	if (getsockopt(fd, SOL_SOCKET, SO_COOKIE, cookie, &len))
		return -errno;
	c.cookie = *cookie;
	c.conn_id = conn_id;
	if (accepted) {
		len = sizeof(local);
		if (getsockname(fd, (struct sockaddr *)&local, &len))
			return -errno;
		len = sizeof(peer);
		if (getpeername(fd, (struct sockaddr *)&peer, &len))
			return -errno;
		err = tuple_from(&local, &peer, &c.tuple);
		if (err)
			return err;
		c.flags = SP_CONN_TUPLE_KNOWN;
	}
	/* The cookie entry first: the ingress program looks it up through the tuple entry. */
	if (bpf_map_update_elem(bpf_map__fd(o->skel->maps.sp_conn_socks), cookie, &c, BPF_NOEXIST))
		return -errno;
	if (accepted && bpf_map_update_elem(bpf_map__fd(o->skel->maps.sp_conn_tuples), &c.tuple,
					    cookie, BPF_ANY)) {
		err = -errno;
		bpf_map_delete_elem(bpf_map__fd(o->skel->maps.sp_conn_socks), cookie);
		return err;
	}
	o->cookies[slot] = *cookie;
	return 0;
}

int sp_conn_lookup(struct sp_conn_obs *o, __u64 cookie, struct sp_conn *out)
{
	if (bpf_map_lookup_elem(bpf_map__fd(o->skel->maps.sp_conn_socks), &cookie, out))
		return -errno;
	return 0;
}

void sp_conn_unregister(struct sp_conn_obs *o, __u64 cookie)
{
	struct sp_conn c;
	size_t i;

	if (!sp_conn_lookup(o, cookie, &c) && (c.flags & SP_CONN_TUPLE_KNOWN))
		bpf_map_delete_elem(bpf_map__fd(o->skel->maps.sp_conn_tuples), &c.tuple);
	bpf_map_delete_elem(bpf_map__fd(o->skel->maps.sp_conn_socks), &cookie);
	for (i = 0; i < CONN_FOLLOWED_MAX; i++)
		if (o->cookies[i] == cookie)
			o->cookies[i] = 0;
}

int sp_conn_poll_fd(struct sp_conn_obs *o)
{
	return ring_buffer__epoll_fd(o->rb);
}

int sp_conn_consume(struct sp_conn_obs *o)
{
	return ring_buffer__consume(o->rb);
}

int sp_conn_read_stats(struct sp_conn_obs *o, struct sp_conn_stats *out)
{
	int ncpu = libbpf_num_possible_cpus(), i;
	struct sp_conn_stats *per_cpu;
	__u64 *sum = (__u64 *)out, *one;
	__u32 zero = 0;
	size_t f;

	if (ncpu < 0)
		return ncpu;
	per_cpu = calloc(ncpu, sizeof(*per_cpu));
	if (!per_cpu)
		return -ENOMEM;
	if (bpf_map_lookup_elem(bpf_map__fd(o->skel->maps.sp_conn_stats), &zero, per_cpu)) {
		free(per_cpu);
		return -errno;
	}
	memset(out, 0, sizeof(*out));
	for (i = 0; i < ncpu; i++) {
		one = (__u64 *)&per_cpu[i];
		for (f = 0; f < sizeof(*out) / sizeof(__u64); f++)
			sum[f] += one[f];
	}
	free(per_cpu);
	return 0;
}

void sp_conn_close(struct sp_conn_obs *o)
{
	size_t i;

	if (!o)
		return;
	if (o->skel)
		for (i = 0; i < CONN_FOLLOWED_MAX; i++)
			if (o->cookies[i])
				sp_conn_unregister(o, o->cookies[i]);
	for (i = o->n_att; i > 0; i--)
		sp_detach(&o->att[i - 1]);
	if (o->nl)
		mnl_socket_close(o->nl);
	ring_buffer__free(o->rb);
	conn_bpf__destroy(o->skel);
	free(o);
}

char *sp_addr_port_str(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
	__u16 port = 0;

	sp_address_str(ss, host, sizeof(host), &port);
	if (ss->ss_family == AF_INET6)
		snprintf(buf, len, "[%s]:%u", host, port);
	else
		snprintf(buf, len, "%s:%u", host, port);
	return buf;
}

int sp_connect_timeout(int fd, const struct sockaddr *addr, socklen_t addrlen, __u32 timeout_ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };
	socklen_t len = sizeof(int);
	int rc, so_err = 0;

	if (!connect(fd, addr, addrlen))
		return 0;
	if (errno != EINPROGRESS)
		return -errno;
	rc = poll(&pfd, 1, (int)timeout_ms);
	if (rc < 0)
		return -errno;
	if (rc == 0)
		return -ETIMEDOUT;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_err, &len))
		return -errno;
	return -so_err;
}

void sp_json_line(json_object *obj)
{
	printf("%s\n", json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN |
							       JSON_C_TO_STRING_NOSLASHESCAPE));
	fflush(stdout);
	json_object_put(obj);
}
