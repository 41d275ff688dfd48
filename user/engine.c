// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * engine.c - the synprobe engine: one epoll loop over the BPF ring buffer and a timerfd, a slot
 * per check in flight, and a binary min-heap of deadlines (O(log n) per check).
 *
 * A check's socket is never polled: the tc ingress program tells us about the reply through the
 * ring buffer, and the deadline covers everything else. Only when the BPF side has no record of a
 * reply does the engine read the socket's own state (SO_ERROR), at the deadline.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <libmnl/libmnl.h>
#include "libsynprobe.h"
#include "synprobe.skel.h"
#include "attach.h"
#include "outcome.h"
#include "route.h"

#ifndef SO_COOKIE
#define SO_COOKIE 57
#endif

#define NSEC_PER_MSEC 1000000ULL
#define NSEC_PER_SEC 1000000000ULL
#define SLOT_NONE ((unsigned int)-1)

/* epoll_event.data.u64: a tag, or for a socket (method connect) SOCKET_EVENT | gen << 32 | slot. */
enum epoll_tag {
	TAG_RINGBUF = 1,
	TAG_TIMER = 2,
};
#define SOCKET_EVENT (1ULL << 63)

/* One check in flight. A free slot has fd == -1 and sits on the free list. */
struct sp_check {
	int fd;
	__u64 cookie;
	__u64 start_ns;	   /* CLOCK_MONOTONIC, just before connect() */
	__u64 deadline_ns; /* when the check ends if nothing else ends it first */
	__u32 timeout_ms;
	unsigned int heap_idx;
	unsigned int next_free;
	int connect_err;  /* errno of a socket()/connect() that failed at once, else 0 */
	bool registered;  /* the cookie is in sp_socks */
	bool replied;	  /* a ring-buffer event came; the close waits for close_delay_ms */
	bool have_event;
	struct sp_flow event; /* the ring-buffer record */
	__u32 gen;	      /* tells a stale epoll event from this slot's current check */
	__u64 writable_ns;    /* method connect: when epoll said the socket is writable */
	struct sockaddr_storage addr;
	void *user;
};

struct synprobe {
	struct synprobe_opts opts;
	bool use_bpf; /* method bpf: programs loaded; else method connect */
	__u32 gen;
	struct synprobe_bpf *skel;
	struct ring_buffer *rb;
	struct mnl_socket *nl;
	unsigned int nl_seq;
	int epfd;
	int timerfd;
	int socks_fd;
	int flows_fd;
	__u64 armed_ns; /* the deadline the timerfd is set to, 0 when disarmed */

	struct sp_check *checks;
	unsigned int n_checks; /* slots allocated */
	unsigned int free_head;
	unsigned int in_flight;
	unsigned int *heap; /* slot indexes, ordered by deadline_ns */
	unsigned int heap_len;

	struct sp_attachment *attached;
	size_t n_attached;
	int delivered; /* results given during the current synprobe_poll() */
	bool have_sigmask;
	sigset_t wait_sigmask;
	char *pin_dir; /* our copy of opts.pin_dir, or NULL */
};

/*
 * Sets a pin path in @dir for every map and removes what a crashed run left there, so that
 * libbpf pins fresh maps at load instead of reusing stale ones.
 */
static int pin_prepare(struct bpf_object *obj, const char *dir)
{
	char path[PATH_MAX];
	struct bpf_map *map;
	int err;

	if (mkdir(dir, 0700) && errno != EEXIST)
		return -errno;
	bpf_object__for_each_map(map, obj) {
		if (snprintf(path, sizeof(path), "%s/%s", dir, bpf_map__name(map)) >= (int)sizeof(path))
			return -ENAMETOOLONG;
		if (unlink(path) && errno != ENOENT)
			return -errno;
		err = bpf_map__set_pin_path(map, path);
		if (err)
			return err;
	}
	return 0;
}

static __u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
}

/* --- deadline heap --- */

static __u64 heap_key(const struct synprobe *sp, unsigned int pos)
{
	return sp->checks[sp->heap[pos]].deadline_ns;
}

static void heap_set(struct synprobe *sp, unsigned int pos, unsigned int slot)
{
	sp->heap[pos] = slot;
	sp->checks[slot].heap_idx = pos;
}

static void heap_swap(struct synprobe *sp, unsigned int a, unsigned int b)
{
	unsigned int slot_a = sp->heap[a];

	heap_set(sp, a, sp->heap[b]);
	heap_set(sp, b, slot_a);
}

static void heap_up(struct synprobe *sp, unsigned int pos)
{
	while (pos > 0 && heap_key(sp, (pos - 1) / 2) > heap_key(sp, pos)) {
		heap_swap(sp, pos, (pos - 1) / 2);
		pos = (pos - 1) / 2;
	}
}

static void heap_down(struct synprobe *sp, unsigned int pos)
{
	unsigned int child;

	for (;;) {
		child = 2 * pos + 1;
		if (child >= sp->heap_len)
			return;
		if (child + 1 < sp->heap_len && heap_key(sp, child + 1) < heap_key(sp, child))
			child++;
		if (heap_key(sp, pos) <= heap_key(sp, child))
			return;
		heap_swap(sp, pos, child);
		pos = child;
	}
}

static void heap_push(struct synprobe *sp, unsigned int slot)
{
	heap_set(sp, sp->heap_len++, slot);
	heap_up(sp, sp->heap_len - 1);
}

static void heap_remove(struct synprobe *sp, unsigned int slot)
{
	unsigned int pos = sp->checks[slot].heap_idx;

	sp->heap_len--;
	if (pos == sp->heap_len)
		return;
	heap_set(sp, pos, sp->heap[sp->heap_len]);
	heap_down(sp, pos);
	heap_up(sp, pos);
}

/* Moves @slot to a new deadline. */
static void heap_update(struct synprobe *sp, unsigned int slot, __u64 deadline_ns)
{
	sp->checks[slot].deadline_ns = deadline_ns;
	heap_down(sp, sp->checks[slot].heap_idx);
	heap_up(sp, sp->checks[slot].heap_idx);
}

/* --- slots --- */

static int slots_grow(struct synprobe *sp)
{
	unsigned int n = sp->n_checks ? sp->n_checks * 2 : 64;
	struct sp_check *checks;
	unsigned int *heap;
	unsigned int i;

	checks = realloc(sp->checks, n * sizeof(*checks));
	if (!checks)
		return -ENOMEM;
	sp->checks = checks;
	heap = realloc(sp->heap, n * sizeof(*heap));
	if (!heap)
		return -ENOMEM;
	sp->heap = heap;

	for (i = sp->n_checks; i < n; i++) {
		memset(&checks[i], 0, sizeof(checks[i]));
		checks[i].fd = -1;
		checks[i].next_free = i + 1 < n ? i + 1 : sp->free_head;
	}
	sp->free_head = sp->n_checks;
	sp->n_checks = n;
	return 0;
}

static int slot_alloc(struct synprobe *sp, unsigned int *slot)
{
	int err;

	if (sp->free_head == SLOT_NONE || sp->free_head >= sp->n_checks) {
		err = slots_grow(sp);
		if (err)
			return err;
	}
	*slot = sp->free_head;
	sp->free_head = sp->checks[*slot].next_free;
	return 0;
}

static void slot_free(struct synprobe *sp, unsigned int slot)
{
	struct sp_check *c = &sp->checks[slot];

	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->next_free = sp->free_head;
	sp->free_head = slot;
}

/* --- the end of a check --- */

/* Takes the check's record out of the BPF maps; fills @rec and returns true if there was one. */
static bool flow_forget(struct synprobe *sp, struct sp_check *c, struct sp_flow *rec)
{
	if (!c->registered)
		return false;
	c->registered = false;
	if (bpf_map_lookup_and_delete_elem(sp->socks_fd, &c->cookie, rec))
		return false;
	/* After a believed reply the ingress program has already removed the 4-tuple. */
	if (rec->state == SP_FLOW_SYN_SENT)
		bpf_map_delete_elem(sp->flows_fd, &rec->tuple);
	return true;
}

static void tuple_to_sockaddr(const struct sp_tuple *t, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (t->family == SP_FAMILY_IPV4) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		sin->sin_port = t->sport;
		memcpy(&sin->sin_addr, t->saddr, 4);
	} else if (t->family == SP_FAMILY_IPV6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = t->sport;
		memcpy(&sin6->sin6_addr, t->saddr, 16);
	}
}

/*
 * Ends the check in @slot: close the socket (the kernel sends RST), take its flow out of the
 * BPF maps, decide the outcome, deliver it.
 */
static void check_finish(struct synprobe *sp, unsigned int slot)
{
	struct sp_check *c = &sp->checks[slot];
	struct synprobe_result res = {};
	struct sp_observed obs = {};
	struct sp_flow rec = {};
	bool have_rec;

	if (c->fd >= 0 && !c->have_event && !c->connect_err) {
		/* No word from BPF: what does the socket itself say? */
		struct sockaddr_storage peer;
		socklen_t len = sizeof(obs.sock_err);

		getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &obs.sock_err, &len);
		len = sizeof(peer);
		if (!obs.sock_err)
			obs.sock_connected =
				getpeername(c->fd, (struct sockaddr *)&peer, &len) == 0;
		len = sizeof(res.local);
		getsockname(c->fd, (struct sockaddr *)&res.local, &len);
	}
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;

	have_rec = flow_forget(sp, c, &rec);
	if (!have_rec && c->have_event) {
		rec = c->event;
		have_rec = true;
	}

	res.addr = c->addr;
	res.timeout_ms = c->timeout_ms;
	res.user = c->user;
	if (have_rec) {
		res.flow = &rec;
		if (rec.state != SP_FLOW_REGISTERED)
			tuple_to_sockaddr(&rec.tuple, &res.local);
	}
	obs.rec = have_rec ? &rec : NULL;
	obs.reply_by_ns = c->start_ns + c->timeout_ms * NSEC_PER_MSEC;
	obs.connect_err = c->connect_err;
	obs.user_rtt_ns = c->writable_ns ? c->writable_ns - c->start_ns : 0;
	sp_decide_outcome(&obs, &res);

	heap_remove(sp, slot);
	slot_free(sp, slot);
	sp->in_flight--;
	sp->delivered++;
	sp->opts.on_result(&res, sp->opts.ctx);
}

static int handle_event(void *ctx, void *data, size_t size)
{
	struct synprobe *sp = ctx;
	const struct sp_flow *e = data;
	struct sp_check *c;

	if (size < sizeof(*e) || e->check_id >= sp->n_checks)
		return 0;
	c = &sp->checks[e->check_id];
	/* A late event for a check that already ended (its slot may be reused): ignore it. */
	if (c->fd < 0 || !c->registered || c->cookie != e->cookie || c->have_event)
		return 0;
	c->event = *e;
	c->have_event = true;
	if (sp->opts.close_delay_ms) {
		c->replied = true;
		heap_update(sp, e->check_id, now_ns() + sp->opts.close_delay_ms * NSEC_PER_MSEC);
		return 0;
	}
	check_finish(sp, e->check_id);
	return 0;
}

/* Method connect: the socket of the check in @data turned writable (connected or failed). */
static void socket_event(struct synprobe *sp, __u64 data)
{
	unsigned int slot = (unsigned int)data;
	__u32 gen = (data >> 32) & 0x7fffffff;

	if (slot >= sp->n_checks || sp->checks[slot].fd < 0 || sp->checks[slot].gen != gen)
		return;
	sp->checks[slot].writable_ns = now_ns();
	check_finish(sp, slot);
}

/* Ends every check whose deadline has passed. */
static void expire_checks(struct synprobe *sp)
{
	__u64 now = now_ns();

	while (sp->heap_len && heap_key(sp, 0) <= now)
		check_finish(sp, sp->heap[0]);
}

static int timer_rearm(struct synprobe *sp)
{
	struct itimerspec its = {};
	__u64 next = sp->heap_len ? heap_key(sp, 0) : 0;

	if (next == sp->armed_ns)
		return 0;
	/* An absolute time of 0 would disarm the timer: a deadline is never 0. */
	its.it_value.tv_sec = next / NSEC_PER_SEC;
	its.it_value.tv_nsec = next % NSEC_PER_SEC;
	if (timerfd_settime(sp->timerfd, TFD_TIMER_ABSTIME, &its, NULL))
		return -errno;
	sp->armed_ns = next;
	return 0;
}

/* --- interfaces --- */

static int ensure_attached(struct synprobe *sp, int ifindex)
{
	struct sp_attachment *list;
	size_t i;
	int err;

	for (i = 0; i < sp->n_attached; i++)
		if (sp->attached[i].ifindex == ifindex)
			return 0;
	list = realloc(sp->attached, (sp->n_attached + 1) * sizeof(*list));
	if (!list)
		return -ENOMEM;
	sp->attached = list;
	err = sp_attach(ifindex, bpf_program__fd(sp->skel->progs.sp_tc_ingress),
			bpf_program__fd(sp->skel->progs.sp_tc_egress), sp->opts.force_clsact,
			&list[sp->n_attached]);
	if (err)
		return err;
	sp->n_attached++;
	return 0;
}

/* --- public API --- */

struct synprobe *synprobe_open(const struct synprobe_opts *opts)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct synprobe *sp;
	__u32 max_flows;
	size_t i;
	int err;

	if (!opts || !opts->on_result || (opts->n_ifindexes && !opts->ifindexes)) {
		errno = EINVAL;
		return NULL;
	}
	sp = calloc(1, sizeof(*sp));
	if (!sp) {
		errno = ENOMEM;
		return NULL;
	}
	sp->opts = *opts;
	sp->opts.ifindexes = NULL; /* the caller's array is not kept */
	sp->opts.wait_sigmask = NULL;
	sp->opts.pin_dir = NULL;
	if (opts->wait_sigmask) {
		sp->wait_sigmask = *opts->wait_sigmask;
		sp->have_sigmask = true;
	}
	sp->epfd = sp->timerfd = -1;
	sp->free_head = SLOT_NONE;

	sp->epfd = epoll_create1(EPOLL_CLOEXEC);
	sp->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (sp->epfd < 0 || sp->timerfd < 0) {
		err = -errno;
		goto cleanup;
	}
	ev.data.u64 = TAG_TIMER;
	if (epoll_ctl(sp->epfd, EPOLL_CTL_ADD, sp->timerfd, &ev)) {
		err = -errno;
		goto cleanup;
	}
	sp->use_bpf = opts->method == SYNPROBE_METHOD_BPF;
	if (!sp->use_bpf)
		return sp;

	sp->skel = synprobe_bpf__open();
	if (!sp->skel) {
		err = -errno;
		goto cleanup;
	}
	max_flows = opts->max_flows ? opts->max_flows : SP_MAX_FLOWS_DEFAULT;
	err = bpf_map__set_max_entries(sp->skel->maps.sp_socks, max_flows);
	if (!err)
		err = bpf_map__set_max_entries(sp->skel->maps.sp_flows, max_flows);
	if (err)
		goto cleanup;
	if (opts->pin_dir) {
		sp->pin_dir = strdup(opts->pin_dir);
		if (!sp->pin_dir) {
			err = -ENOMEM;
			goto cleanup;
		}
		err = pin_prepare(sp->skel->obj, sp->pin_dir);
		if (err)
			goto cleanup;
	}
	err = synprobe_bpf__load(sp->skel);
	if (err)
		goto cleanup;
	sp->socks_fd = bpf_map__fd(sp->skel->maps.sp_socks);
	sp->flows_fd = bpf_map__fd(sp->skel->maps.sp_flows);

	sp->rb = ring_buffer__new(bpf_map__fd(sp->skel->maps.sp_events), handle_event, sp, NULL);
	if (!sp->rb) {
		err = -errno;
		goto cleanup;
	}
	ev.data.u64 = TAG_RINGBUF;
	if (epoll_ctl(sp->epfd, EPOLL_CTL_ADD, bpf_map__fd(sp->skel->maps.sp_events), &ev)) {
		err = -errno;
		goto cleanup;
	}

	if (opts->n_ifindexes) {
		for (i = 0; i < opts->n_ifindexes; i++) {
			err = ensure_attached(sp, opts->ifindexes[i]);
			if (err)
				goto cleanup;
		}
	} else {
		sp->nl = mnl_socket_open(NETLINK_ROUTE);
		if (!sp->nl || mnl_socket_bind(sp->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
			err = -errno;
			goto cleanup;
		}
	}
	return sp;

cleanup:
	synprobe_close(sp);
	errno = -err;
	return NULL;
}

static int sockaddr_check(const struct sockaddr *addr, socklen_t addrlen)
{
	if (!addr)
		return -EINVAL;
	if (addr->sa_family == AF_INET && addrlen >= sizeof(struct sockaddr_in))
		return ((const struct sockaddr_in *)addr)->sin_port ? 0 : -EINVAL;
	if (addr->sa_family == AF_INET6 && addrlen >= sizeof(struct sockaddr_in6))
		return ((const struct sockaddr_in6 *)addr)->sin6_port ? 0 : -EINVAL;
	return -EINVAL;
}

/* Socket set-up of a check; returns 0 or a positive errno for the result. */
static int check_socket(struct synprobe *sp, struct sp_check *c, unsigned int slot)
{
	struct linger linger = { .l_onoff = 1, .l_linger = 0 };
	struct sp_flow flow = {};
	socklen_t len = sizeof(c->cookie);
	int zero = 0;

	c->fd = socket(c->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
	if (c->fd < 0)
		return errno;
	if (!sp->use_bpf) {
		/* Method connect: epoll says when the handshake ends; close() sends FIN. */
		struct epoll_event ev = {
			.events = EPOLLOUT,
			.data.u64 = SOCKET_EVENT | (__u64)c->gen << 32 | slot,
		};

		return epoll_ctl(sp->epfd, EPOLL_CTL_ADD, c->fd, &ev) ? errno : 0;
	}
	/* NOTES-kernel.md item 1: no quick ACK, and close() aborts with RST instead of FIN. */
	if (setsockopt(c->fd, IPPROTO_TCP, TCP_QUICKACK, &zero, sizeof(zero)) ||
	    setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &linger, sizeof(linger)) ||
	    getsockopt(c->fd, SOL_SOCKET, SO_COOKIE, &c->cookie, &len))
		return errno;

	/* Registered before connect(): the SYN cannot outrun the map entry (item 5). */
	flow.cookie = c->cookie;
	flow.check_id = slot;
	if (!bpf_map_update_elem(sp->socks_fd, &c->cookie, &flow, BPF_NOEXIST))
		c->registered = true;
	/* A full map leaves the check untracked: its socket's own state decides at the deadline. */
	return 0;
}

int synprobe_start(struct synprobe *sp, const struct sockaddr *addr, socklen_t addrlen,
		   __u32 timeout_ms, void *user)
{
	struct sp_check *c;
	unsigned int slot;
	int err, oif;

	if (!sp || !timeout_ms)
		return -EINVAL;
	err = sockaddr_check(addr, addrlen);
	if (err)
		return err;

	if (sp->use_bpf && sp->nl) {
		/* No route: no interface to attach to, and connect() reports the error itself. */
		oif = sp_route_oif(sp->nl, &sp->nl_seq, addr);
		if (oif > 0) {
			err = ensure_attached(sp, oif);
			if (err)
				return err;
		}
	}

	err = slot_alloc(sp, &slot);
	if (err)
		return err;
	c = &sp->checks[slot];
	memcpy(&c->addr, addr, addr->sa_family == AF_INET ? sizeof(struct sockaddr_in) :
							      sizeof(struct sockaddr_in6));
	c->user = user;
	c->timeout_ms = timeout_ms;
	c->gen = ++sp->gen & 0x7fffffff;

	c->connect_err = check_socket(sp, c, slot);
	c->start_ns = now_ns();
	if (!c->connect_err && connect(c->fd, addr, addrlen) && errno != EINPROGRESS)
		c->connect_err = errno;
	/* A check that failed at once ends at the next synprobe_poll(). */
	c->deadline_ns = c->connect_err ? c->start_ns : c->start_ns + timeout_ms * NSEC_PER_MSEC;
	heap_push(sp, slot);
	sp->in_flight++;
	return 0;
}

int synprobe_poll(struct synprobe *sp, int timeout_ms)
{
	struct epoll_event events[4];
	__u64 ticks;
	int i, n, err;

	sp->delivered = 0;
	if (sp->rb)
		ring_buffer__consume(sp->rb);
	expire_checks(sp);
	if (!sp->delivered) {
		err = timer_rearm(sp);
		if (err)
			return err;
		n = epoll_pwait(sp->epfd, events, 4, timeout_ms,
				sp->have_sigmask ? &sp->wait_sigmask : NULL);
		if (n < 0)
			return -errno;
		for (i = 0; i < n; i++) {
			if (events[i].data.u64 == TAG_TIMER)
				(void)!read(sp->timerfd, &ticks, sizeof(ticks));
			else if (events[i].data.u64 & SOCKET_EVENT)
				socket_event(sp, events[i].data.u64);
		}
		/* Replies first: a reply and its check's deadline in one wake-up count as a reply. */
		if (sp->rb)
			ring_buffer__consume(sp->rb);
		expire_checks(sp);
	}
	err = timer_rearm(sp);
	if (err)
		return err;
	return sp->delivered;
}

unsigned int synprobe_in_flight(const struct synprobe *sp)
{
	return sp->in_flight;
}

int synprobe_read_stats(struct synprobe *sp, struct sp_stats *stats)
{
	int ncpus = libbpf_num_possible_cpus();
	struct sp_stats *percpu;
	__u32 zero = 0;
	size_t f, nfields = sizeof(*stats) / sizeof(__u64);
	int cpu, err = 0;

	if (!sp->use_bpf)
		return -EOPNOTSUPP;
	if (ncpus < 0)
		return ncpus;
	percpu = calloc(ncpus, sizeof(*percpu));
	if (!percpu)
		return -ENOMEM;
	if (bpf_map_lookup_elem(bpf_map__fd(sp->skel->maps.sp_stats), &zero, percpu)) {
		err = -errno;
		goto cleanup;
	}
	memset(stats, 0, sizeof(*stats));
	for (cpu = 0; cpu < ncpus; cpu++)
		for (f = 0; f < nfields; f++)
			((__u64 *)stats)[f] += ((__u64 *)&percpu[cpu])[f];
cleanup:
	free(percpu);
	return err;
}

static int map_count(int fd, size_t key_size, unsigned int *count)
{
	char key[sizeof(struct sp_tuple)], next[sizeof(struct sp_tuple)];
	void *prev = NULL;

	*count = 0;
	if (key_size > sizeof(key))
		return -EINVAL;
	while (!bpf_map_get_next_key(fd, prev, next)) {
		memcpy(key, next, key_size);
		prev = key;
		(*count)++;
	}
	return errno == ENOENT ? 0 : -errno;
}

int synprobe_count_flows(struct synprobe *sp, unsigned int *socks, unsigned int *flows)
{
	int err;

	if (!sp->use_bpf)
		return -EOPNOTSUPP;
	err = map_count(sp->socks_fd, sizeof(__u64), socks);
	if (!err)
		err = map_count(sp->flows_fd, sizeof(struct sp_tuple), flows);
	return err;
}

size_t synprobe_attached(const struct synprobe *sp, int *ifindexes,
			 enum synprobe_attach_mode *modes, size_t max)
{
	size_t i;

	for (i = 0; i < sp->n_attached && i < max; i++) {
		if (ifindexes)
			ifindexes[i] = sp->attached[i].ifindex;
		if (modes)
			modes[i] = sp->attached[i].mode;
	}
	return sp->n_attached;
}

void synprobe_close(struct synprobe *sp)
{
	struct sp_flow rec;
	unsigned int i;
	size_t j;

	if (!sp)
		return;
	for (i = 0; i < sp->n_checks; i++) {
		struct sp_check *c = &sp->checks[i];

		if (c->fd < 0 && !c->registered)
			continue;
		if (c->fd >= 0)
			close(c->fd);
		flow_forget(sp, c, &rec);
	}
	for (j = 0; j < sp->n_attached; j++)
		sp_detach(&sp->attached[j]);
	free(sp->attached);
	ring_buffer__free(sp->rb);
	if (sp->skel && sp->pin_dir) {
		bpf_object__unpin_maps(sp->skel->obj, NULL);
		rmdir(sp->pin_dir); /* only if empty: it may hold other pins */
	}
	free(sp->pin_dir);
	synprobe_bpf__destroy(sp->skel);
	if (sp->nl)
		mnl_socket_close(sp->nl);
	if (sp->timerfd >= 0)
		close(sp->timerfd);
	if (sp->epfd >= 0)
		close(sp->epfd);
	free(sp->checks);
	free(sp->heap);
	free(sp);
}

const char *synprobe_outcome_str(enum synprobe_outcome outcome)
{
	switch (outcome) {
	case SYNPROBE_OPEN:
		return "open";
	case SYNPROBE_CLOSED:
		return "closed";
	case SYNPROBE_TIMEOUT:
		return "timeout";
	case SYNPROBE_ERROR:
		return "error";
	case SYNPROBE_UNREACHABLE:
		return "unreachable";
	}
	return "unknown";
}

const char *synprobe_evidence_str(enum synprobe_evidence evidence)
{
	switch (evidence) {
	case SYNPROBE_EVIDENCE_NONE:
		return "none";
	case SYNPROBE_EVIDENCE_BPF:
		return "bpf";
	case SYNPROBE_EVIDENCE_SOCKET:
		return "socket";
	}
	return "unknown";
}

const char *synprobe_attach_mode_str(enum synprobe_attach_mode mode)
{
	return mode == SYNPROBE_ATTACH_TCX ? "tcx" : "clsact";
}
