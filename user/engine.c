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
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <linux/magic.h>
#include <sys/timerfd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>
#include "libsynprobe.h"
#include "synprobe.skel.h"
#include "attach.h"
#include "outcome.h"
#include "route.h"
#include "tcp_opts.h"
#include "timer_heap.h"
#include "token_bucket.h"

#ifndef SO_COOKIE
#define SO_COOKIE 57
#endif
#ifndef SO_BINDTOIFINDEX
#define SO_BINDTOIFINDEX 62
#endif

#define NSEC_PER_MSEC 1000000ULL
#define NSEC_PER_SEC 1000000000ULL
#define SLOT_NONE ((unsigned int)-1)

/* epoll_event.data.u64: a tag, or for a socket (method connect) SOCKET_EVENT | gen << 32 | slot. */
enum epoll_tag {
	TAG_RINGBUF = 1,
	TAG_TIMER = 2,
	TAG_ROUTES = 3, /* the rtnetlink monitor: a route or a link changed */
};
#define SOCKET_EVENT (1ULL << 63)

/* A FIFO of slots linked through sp_check.next. */
struct sp_queue {
	unsigned int head;
	unsigned int tail;
	unsigned int len;
};

/* Where a check is in its life. */
enum check_state {
	CHECK_FREE,    /* the slot is on the free list */
	CHECK_QUEUED,  /* waiting for a limit, the rate or a local port: no socket yet */
	CHECK_RUNNING, /* socket open, SYN sent (or failed at once), deadline armed */
};

/* One check. A slot's number is its check_id for the BPF side. */
struct sp_check {
	enum check_state state;
	int fd;
	__u64 cookie;
	__u64 start_ns; /* CLOCK_MONOTONIC, just before connect() */
	__u32 timeout_ms;
	unsigned int next;    /* next slot in the free list or in a queue */
	unsigned int dest;    /* index in the destination table */
	int connect_err;      /* errno of a socket()/connect() that failed at once, else 0 */
	int route_err;	      /* method bpf: no route to attach by (ENETUNREACH...): no connect() */
	bool registered;      /* the cookie is in sp_socks */
	bool polled;	      /* the socket is in epoll (method connect, or untracked) */
	bool replied;	      /* a ring-buffer event came; the close waits for close_delay_ms */
	bool have_event;
	struct sp_flow event; /* the ring-buffer record */
	__u32 gen;	      /* tells a stale epoll event from this slot's current check */
	__u64 writable_ns;    /* when epoll said the socket is writable */
	struct sockaddr_storage addr;
	socklen_t addrlen;
	void *user;
	struct synprobe_check_opts copts; /* where it leaves from: mark, bound interface */
};

/* A destination address and port: how many checks run to it, and who waits for it. */
struct sp_dest {
	bool used;
	__u8 family;
	__be16 port;
	__u8 addr[16];
	__u32 running;
	struct sp_queue waiting;
	bool routed; /* its route's interface is attached (asked once per destination) */
	struct synprobe_check_opts routed_for; /* the mark and bound interface it was asked with */
	bool keep;   /* dests_rehash(): a check refers to it */
};

struct synprobe {
	struct synprobe_opts opts;
	bool use_bpf; /* method bpf: programs loaded; else method connect */
	__u32 gen;
	struct synprobe_bpf *skel;
	struct ring_buffer *rb;
	struct mnl_socket *nl;
	unsigned int nl_seq;
	struct mnl_socket *nl_mon; /* RTMGRP_LINK and route groups: routes and links followed */
	int epfd;
	int timerfd;
	int socks_fd;
	int flows_fd;
	__u64 armed_ns; /* the deadline the timerfd is set to, 0 when disarmed */

	struct sp_check *checks;
	unsigned int n_checks; /* slots allocated */
	unsigned int free_head;
	unsigned int in_flight; /* queued + running */
	unsigned int running;
	struct sp_timer_heap timers; /* deadlines of running checks */
	struct sp_queue pending;     /* queued checks, first in first out */
	struct sp_queue port_wait;   /* checks that met EADDRNOTAVAIL or EMFILE: retried when one ends */
	struct sp_dest *dests;	     /* open addressing, dest_cap a power of two */
	unsigned int dest_cap;
	unsigned int dest_used;
	struct sp_token_bucket rate;
	__u64 rate_wake_ns; /* when the bucket has a token for the queue head; 0: not waiting */
	struct synprobe_engine_stats stats;

	struct sp_attachment *attached;
	size_t n_attached;
	int delivered; /* results given during the current synprobe_poll() */
	bool have_sigmask;
	sigset_t wait_sigmask;
	char *pin_dir; /* our copy of opts.pin_dir, or NULL */
	int pin_lock_fd; /* pin_dir, flock()ed while we own it; -1 */
	__u64 *done_cookies; /* sp_socks keys of replied checks, deleted in one batch per poll */
	unsigned int n_done, done_cap;
};

/*
 * Takes @dir for this run: an exclusive flock on the directory itself (a bpffs holds no regular
 * file), held until synprobe_close(), so that a second run on the same directory fails with
 * -EBUSY instead of unpinning the first's maps. Then sets a pin path in @dir for every map and
 * removes what a crashed run left there, so that libbpf pins fresh maps at load instead of
 * reusing stale ones. Sets *@lock_fd.
 */
static int pin_prepare(struct bpf_object *obj, const char *dir, int *lock_fd)
{
	char path[PATH_MAX];
	struct bpf_map *map;
	struct statfs fs;
	int err;

	if (mkdir(dir, 0700) && errno != EEXIST)
		return -errno;
	/* Pins live only on a bpffs: elsewhere libbpf fails, and late. */
	if (statfs(dir, &fs))
		return -errno;
	if (fs.f_type != BPF_FS_MAGIC)
		return -ENOTDIR;
	*lock_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (*lock_fd < 0)
		return -errno;
	if (flock(*lock_fd, LOCK_EX | LOCK_NB)) {
		err = errno == EWOULDBLOCK ? -EBUSY : -errno;
		close(*lock_fd);
		*lock_fd = -1;
		return err;
	}
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

/* --- queues --- */

static void queue_init(struct sp_queue *q)
{
	q->head = q->tail = SLOT_NONE;
	q->len = 0;
}

static void queue_push(struct synprobe *sp, struct sp_queue *q, unsigned int slot)
{
	sp->checks[slot].next = SLOT_NONE;
	if (q->tail == SLOT_NONE)
		q->head = slot;
	else
		sp->checks[q->tail].next = slot;
	q->tail = slot;
	q->len++;
}

static void queue_push_front(struct synprobe *sp, struct sp_queue *q, unsigned int slot)
{
	sp->checks[slot].next = q->head;
	q->head = slot;
	if (q->tail == SLOT_NONE)
		q->tail = slot;
	q->len++;
}

static unsigned int queue_pop(struct synprobe *sp, struct sp_queue *q)
{
	unsigned int slot = q->head;

	if (slot == SLOT_NONE)
		return SLOT_NONE;
	q->head = sp->checks[slot].next;
	if (q->head == SLOT_NONE)
		q->tail = SLOT_NONE;
	q->len--;
	return slot;
}

/* Moves every check of @from to the front of @to, in order. */
static void queue_splice_front(struct synprobe *sp, struct sp_queue *from, struct sp_queue *to)
{
	if (from->head == SLOT_NONE)
		return;
	sp->checks[from->tail].next = to->head;
	if (to->tail == SLOT_NONE)
		to->tail = from->tail;
	to->head = from->head;
	to->len += from->len;
	queue_init(from);
}

/* --- destinations (per_target_max) --- */

static void dest_key(const struct sockaddr_storage *ss, __u8 *family, __be16 *port, __u8 *addr)
{
	memset(addr, 0, 16);
	*family = ss->ss_family == AF_INET6 ? 6 : 4;
	if (ss->ss_family == AF_INET6) {
		*port = ((const struct sockaddr_in6 *)ss)->sin6_port;
		memcpy(addr, &((const struct sockaddr_in6 *)ss)->sin6_addr, 16);
	} else {
		*port = ((const struct sockaddr_in *)ss)->sin_port;
		memcpy(addr, &((const struct sockaddr_in *)ss)->sin_addr, 4);
	}
}

/* FNV-1a over the key. */
static unsigned int dest_hash(__u8 family, __be16 port, const __u8 *addr)
{
	__u32 h = 2166136261u;
	int i;

	h = (h ^ family) * 16777619u;
	h = (h ^ (port & 0xff)) * 16777619u;
	h = (h ^ (port >> 8)) * 16777619u;
	for (i = 0; i < 16; i++)
		h = (h ^ addr[i]) * 16777619u;
	return h;
}

static unsigned int dest_probe(const struct sp_dest *table, unsigned int cap, __u8 family,
			       __be16 port, const __u8 *addr)
{
	unsigned int i = dest_hash(family, port, addr) & (cap - 1);

	while (table[i].used && !(table[i].family == family && table[i].port == port &&
				  !memcmp(table[i].addr, addr, 16)))
		i = (i + 1) & (cap - 1);
	return i;
}

/*
 * Idle destinations (no check refers to them) kept at most: each remembers that its route's
 * interface is attached, which saves two syscalls at its next check. Beyond this many entries
 * a rebuild drops them, so the table follows what is in flight, not every address ever checked
 * (a /probe of many addresses would otherwise grow it for good).
 */
#define DEST_IDLE_MAX 16384

/*
 * Rebuilds the table at the size that suits what it keeps: every destination some check still
 * refers to (queued, waiting or running), and the idle ones too while the table is below
 * DEST_IDLE_MAX entries. Called when an insert would fill half of it; amortised O(1) per insert.
 */
static int dests_rehash(struct synprobe *sp)
{
	bool drop_idle = sp->dest_used >= DEST_IDLE_MAX;
	unsigned int cap = 64, kept = 0, i, j;
	struct sp_dest *table;
	__u8 family, addr[16];
	__be16 port;

	for (i = 0; i < sp->dest_cap; i++)
		sp->dests[i].keep = sp->dests[i].used && !drop_idle;
	for (i = 0; i < sp->n_checks; i++)
		if (sp->checks[i].state != CHECK_FREE)
			sp->dests[sp->checks[i].dest].keep = true;
	for (i = 0; i < sp->dest_cap; i++)
		kept += sp->dests[i].keep;
	/* Room for as many again before the next rebuild. */
	while (cap < 4 * (kept + 1))
		cap *= 2;
	table = calloc(cap, sizeof(*table));
	if (!table)
		return -ENOMEM;
	for (i = 0; i < sp->dest_cap; i++) {
		if (!sp->dests[i].keep)
			continue;
		j = dest_probe(table, cap, sp->dests[i].family, sp->dests[i].port, sp->dests[i].addr);
		table[j] = sp->dests[i];
	}
	/* Checks keep their destination's index: move them along. */
	for (i = 0; i < sp->n_checks; i++) {
		struct sp_check *c = &sp->checks[i];

		if (c->state == CHECK_FREE)
			continue;
		dest_key(&c->addr, &family, &port, addr);
		c->dest = dest_probe(table, cap, family, port, addr);
	}
	free(sp->dests);
	sp->dests = table;
	sp->dest_cap = cap;
	sp->dest_used = kept;
	return 0;
}

/* The index of @ss's destination, made if new. Idle entries go at the next rehash. */
static int dest_get(struct synprobe *sp, const struct sockaddr_storage *ss, unsigned int *index)
{
	__u8 family, addr[16];
	__be16 port;
	unsigned int i;
	int err;

	if (2 * (sp->dest_used + 1) > sp->dest_cap) {
		err = dests_rehash(sp);
		if (err)
			return err;
	}
	dest_key(ss, &family, &port, addr);
	i = dest_probe(sp->dests, sp->dest_cap, family, port, addr);
	if (!sp->dests[i].used) {
		sp->dests[i].used = true;
		sp->dests[i].family = family;
		sp->dests[i].port = port;
		memcpy(sp->dests[i].addr, addr, 16);
		queue_init(&sp->dests[i].waiting);
		sp->dest_used++;
	}
	*index = i;
	return 0;
}

/* --- slots --- */

static int slots_grow(struct synprobe *sp)
{
	unsigned int n = sp->n_checks ? sp->n_checks * 2 : 64;
	struct sp_check *checks;
	unsigned int i;
	int err;

	err = sp_timer_heap_reserve(&sp->timers, n);
	if (err)
		return err;
	checks = realloc(sp->checks, n * sizeof(*checks));
	if (!checks)
		return -ENOMEM;
	sp->checks = checks;

	for (i = sp->n_checks; i < n; i++) {
		memset(&checks[i], 0, sizeof(checks[i]));
		checks[i].state = CHECK_FREE;
		checks[i].fd = -1;
		checks[i].next = i + 1 < n ? i + 1 : sp->free_head;
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
	sp->free_head = sp->checks[*slot].next;
	return 0;
}

static void slot_free(struct synprobe *sp, unsigned int slot)
{
	struct sp_check *c = &sp->checks[slot];

	memset(c, 0, sizeof(*c));
	c->state = CHECK_FREE;
	c->fd = -1;
	c->next = sp->free_head;
	sp->free_head = slot;
}

/* --- the end of a check --- */

/* Deletes the sp_socks entries of the replied checks gathered since the last flush. */
static void flush_done(struct synprobe *sp)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	__u32 count = sp->n_done;
	unsigned int i;

	if (!sp->n_done)
		return;
	/* One syscall for many; on a partial failure (a key already gone), the rest one by one. */
	if (bpf_map_delete_batch(sp->socks_fd, sp->done_cookies, &count, &opts))
		for (i = count; i < sp->n_done; i++)
			bpf_map_delete_elem(sp->socks_fd, &sp->done_cookies[i]);
	sp->n_done = 0;
}

/*
 * Takes the check's record out of the BPF maps; fills @rec and returns true if there was one.
 * A check whose ring-buffer event came has its whole record already: its sp_socks entry is only
 * deleted, with the others of this poll, in one batch.
 */
static bool flow_forget(struct synprobe *sp, struct sp_check *c, struct sp_flow *rec)
{
	__u64 *grown;

	if (!c->registered)
		return false;
	c->registered = false;
	if (c->have_event) {
		if (sp->n_done == sp->done_cap) {
			grown = realloc(sp->done_cookies, (sp->done_cap * 2 + 64) * sizeof(*grown));
			if (!grown) {
				bpf_map_delete_elem(sp->socks_fd, &c->cookie);
				*rec = c->event;
				return true;
			}
			sp->done_cookies = grown;
			sp->done_cap = sp->done_cap * 2 + 64;
		}
		sp->done_cookies[sp->n_done++] = c->cookie;
		*rec = c->event;
		return true;
	}
	if (bpf_map_lookup_and_delete_elem(sp->socks_fd, &c->cookie, rec)) {
		/*
		 * Hash maps have lookup-and-delete from kernel 5.14 on; before, a lookup then a
		 * delete (a reply between the two is lost to this check: it ends at its deadline).
		 */
		if (errno == ENOENT || bpf_map_lookup_elem(sp->socks_fd, &c->cookie, rec))
			return false;
		bpf_map_delete_elem(sp->socks_fd, &c->cookie);
	}
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
 * A running check ends: its destination has room for one more, and a local port is free again,
 * so the checks waiting for either go back to the front of the queue.
 */
static void check_release(struct synprobe *sp, struct sp_check *c)
{
	struct sp_dest *d = &sp->dests[c->dest];
	unsigned int slot;

	if (c->state != CHECK_RUNNING)
		return;
	sp->running--;
	d->running--;
	slot = queue_pop(sp, &d->waiting);
	if (slot != SLOT_NONE)
		queue_push_front(sp, &sp->pending, slot);
	queue_splice_front(sp, &sp->port_wait, &sp->pending);
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
		sp_flow_parse_tcp_opts(&rec);
		res.flow = &rec;
		if (rec.state != SP_FLOW_REGISTERED)
			tuple_to_sockaddr(&rec.tuple, &res.local);
	}
	obs.rec = have_rec ? &rec : NULL;
	obs.reply_by_ns = c->start_ns + c->timeout_ms * NSEC_PER_MSEC;
	obs.connect_err = c->connect_err;
	obs.user_rtt_ns = c->writable_ns ? c->writable_ns - c->start_ns : 0;
	sp_decide_outcome(&obs, &res);

	sp_timer_heap_remove(&sp->timers, slot);
	check_release(sp, c);
	slot_free(sp, slot);
	sp->in_flight--;
	sp->delivered++;
	sp->stats.delivered++;
	sp->opts.on_result(&res, sp->opts.ctx);
}

static int socket_poll(struct synprobe *sp, struct sp_check *c, unsigned int slot);

static int handle_event(void *ctx, void *data, size_t size)
{
	struct synprobe *sp = ctx;
	const struct sp_flow *e = data;
	struct sp_check *c;

	if (size < sizeof(*e) || e->check_id >= sp->n_checks)
		return 0;
	c = &sp->checks[e->check_id];
	/* A late event for a check that already ended (its slot may be reused): ignore it. */
	if (c->state != CHECK_RUNNING || !c->registered || c->cookie != e->cookie || c->have_event)
		return 0;
	c->event = *e;
	c->have_event = true;
	if (sp->opts.close_delay_ms) {
		c->replied = true;
		sp_timer_heap_set(&sp->timers, e->check_id,
				  now_ns() + sp->opts.close_delay_ms * NSEC_PER_MSEC);
		return 0;
	}
	/*
	 * tc ingress runs before TCP does: the event can come while the kernel has yet to move the
	 * socket to ESTABLISHED. Closed in SYN-SENT, the socket sends nothing, and the SYN-ACK then
	 * meets no socket (a bare RST) or a closing one (dropped: no RST at all, and the server keeps
	 * its half-open entry). So after a SYN-ACK the close waits for the socket to turn writable
	 * (one poll() that almost always says it is); the deadline stays armed should TCP drop it.
	 */
	if (e->reply == SP_REPLY_SYN_ACK && c->fd >= 0 && !c->polled) {
		struct pollfd pfd = { .fd = c->fd, .events = POLLOUT };

		if (poll(&pfd, 1, 0) == 0 && !socket_poll(sp, c, e->check_id))
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

	if (slot >= sp->n_checks || sp->checks[slot].state != CHECK_RUNNING ||
	    sp->checks[slot].gen != gen)
		return;
	sp->checks[slot].writable_ns = now_ns();
	check_finish(sp, slot);
}

/* Ends every check whose deadline has passed. */
static void expire_checks(struct synprobe *sp)
{
	__u64 now = now_ns(), deadline;
	unsigned int slot;

	while (sp_timer_heap_peek(&sp->timers, &slot, &deadline) && deadline <= now)
		check_finish(sp, slot);
}

/* The timerfd fires at the earliest deadline, or when the rate allows the next SYN. */
static int timer_rearm(struct synprobe *sp)
{
	struct itimerspec its = {};
	__u64 next = 0, deadline;
	unsigned int slot;

	if (sp_timer_heap_peek(&sp->timers, &slot, &deadline))
		next = deadline;
	if (sp->rate_wake_ns && (!next || sp->rate_wake_ns < next))
		next = sp->rate_wake_ns;
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

/* Attaches the program pair that suits @ifindex's link kind, once per interface. */
static int ensure_attached(struct synprobe *sp, int ifindex)
{
	struct sp_attachment *list;
	struct bpf_program *in, *eg;
	int err, kind;
	size_t i;

	for (i = 0; i < sp->n_attached; i++)
		if (sp->attached[i].ifindex == ifindex)
			return 0;
	kind = sp_link_kind(ifindex);
	if (kind < 0)
		return kind;
	in = kind == SP_LINK_L3 ? sp->skel->progs.sp_tc_in_l3 : sp->skel->progs.sp_tc_ingress;
	eg = kind == SP_LINK_L3 ? sp->skel->progs.sp_tc_eg_l3 : sp->skel->progs.sp_tc_egress;
	list = realloc(sp->attached, (sp->n_attached + 1) * sizeof(*list));
	if (!list)
		return -ENOMEM;
	sp->attached = list;
	err = sp_attach(ifindex, bpf_program__fd(in), bpf_program__fd(eg), sp->opts.force_clsact,
			&list[sp->n_attached]);
	if (err)
		return err;
	sp->n_attached++;
	return 0;
}

/* --- loading --- */

/* Each program's verifier log, when it is rejected; the kernel keeps what fits (its start). */
#define VERIFIER_LOG_BYTES (16U << 20)
#define VERIFIER_TAIL_LINES 12

static int load_fail(struct synprobe_load_error *le, enum synprobe_load_failure failure, int err,
		     const char *what)
{
	if (le) {
		le->failure = failure;
		le->error = err;
		snprintf(le->what, sizeof(le->what), "%s", what ? what : "");
	}
	return -err;
}

/*
 * What the programs need of the kernel, probed before loading them, as libbpf-tools' compat.c
 * does (never by the kernel's version): the privilege to use BPF at all, BPF ring buffers and
 * their helpers (5.8, synprobe's floor), the socket cookie of an skb (4.12). Each probe loads a
 * two-instruction program or makes a one-page map: well under a millisecond. TCX is not probed:
 * sp_attach() tries a link and falls back to clsact.
 */
static int probe_kernel(struct synprobe_load_error *le)
{
	static const struct {
		enum bpf_func_id helper;
		const char *what;
	} helpers[] = {
		{ BPF_FUNC_ringbuf_reserve, "the bpf_ringbuf_reserve() helper in tc programs (5.8)" },
		{ BPF_FUNC_get_socket_cookie, "bpf_get_socket_cookie() in tc programs (4.12)" },
		{ BPF_FUNC_skb_load_bytes, "bpf_skb_load_bytes() in tc programs (4.5)" },
	};
	size_t i;
	int fd;

	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, NULL, 4, 4, 1, NULL);
	if (fd < 0)
		return load_fail(le, errno == EPERM ? SYNPROBE_LOAD_NO_PRIVILEGE : SYNPROBE_LOAD_OTHER,
				 errno, "using BPF");
	close(fd);
	if (libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, NULL) != 1)
		return load_fail(le, SYNPROBE_LOAD_KERNEL_TOO_OLD, EOPNOTSUPP,
				 "BPF ring buffers (5.8)");
	for (i = 0; i < sizeof(helpers) / sizeof(helpers[0]); i++)
		if (libbpf_probe_bpf_helper(BPF_PROG_TYPE_SCHED_CLS, helpers[i].helper, NULL) == 0)
			return load_fail(le, SYNPROBE_LOAD_KERNEL_TOO_OLD, EOPNOTSUPP,
					 helpers[i].what);
	return 0;
}

/* The last @lines lines of @log into @out (their end, if they do not fit). */
static void log_tail(const char *log, size_t lines, char *out, size_t size)
{
	const char *end = log + strlen(log), *p;

	while (end > log && (end[-1] == '\n' || end[-1] == ' '))
		end--;
	p = end;
	while (p > log && lines) {
		if (p[-1] == '\n' && --lines == 0)
			break;
		p--;
	}
	if ((size_t)(end - p) >= size)
		p = end - (size - 1);
	snprintf(out, size, "%.*s", (int)(end - p), p);
}

/*
 * Loads the skeleton with a log buffer per program, so that a program the verifier rejects is
 * named and its log kept (libbpf then does not print it). @le may be NULL.
 * SYNPROBE_TEST_REJECT_PROGRAM=NAME (a test hook) loads program NAME as XDP, which the verifier
 * rejects at its first __sk_buff access.
 */
static int load_programs(struct synprobe *sp, struct synprobe_load_error *le)
{
	const char *reject = getenv("SYNPROBE_TEST_REJECT_PROGRAM");
	struct bpf_program *prog;
	char *logs[8] = {};
	size_t n = 0, i;
	int err;

	bpf_object__for_each_program(prog, sp->skel->obj) {
		if (n == sizeof(logs) / sizeof(logs[0]))
			break;
		/* Address space only: the pages are touched when a log is written. */
		logs[n] = malloc(VERIFIER_LOG_BYTES);
		if (!logs[n]) {
			err = -ENOMEM;
			goto cleanup;
		}
		logs[n][0] = '\0';
		err = bpf_program__set_log_buf(prog, logs[n], VERIFIER_LOG_BYTES);
		if (err)
			goto cleanup;
		if (reject && !strcmp(reject, bpf_program__name(prog)))
			bpf_program__set_type(prog, BPF_PROG_TYPE_XDP);
		n++;
	}
	err = synprobe_bpf__load(sp->skel);
	if (!err)
		goto cleanup;
	if (err == -EPERM) {
		load_fail(le, SYNPROBE_LOAD_NO_PRIVILEGE, EPERM, "loading the tc programs");
		goto cleanup;
	}
	i = 0;
	bpf_object__for_each_program(prog, sp->skel->obj) {
		if (i == n)
			break;
		if (logs[i][0]) {
			load_fail(le, SYNPROBE_LOAD_VERIFIER, -err, bpf_program__name(prog));
			if (le) {
				log_tail(logs[i], VERIFIER_TAIL_LINES, le->log_tail,
					 sizeof(le->log_tail));
				le->log = strdup(logs[i]);
			}
			goto cleanup;
		}
		i++;
	}
	load_fail(le, SYNPROBE_LOAD_OTHER, -err, "loading the BPF object");

cleanup:
	for (i = 0; i < n; i++)
		free(logs[i]);
	return err;
}

/* --- routes and links followed --- */

static int link_msg_cb(const struct nlmsghdr *nlh, void *data)
{
	struct synprobe *sp = data;
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	size_t i;

	if (nlh->nlmsg_type != RTM_DELLINK)
		return MNL_CB_OK;
	/* The interface is gone, and our TCX links or clsact filters with it: forget them. */
	for (i = 0; i < sp->n_attached; i++) {
		if (sp->attached[i].ifindex != ifi->ifi_index)
			continue;
		sp_detach(&sp->attached[i]);
		sp->attached[i] = sp->attached[--sp->n_attached];
		break;
	}
	return MNL_CB_OK;
}

/*
 * A route or a link changed (or the monitor overflowed, which may hide a change): every
 * destination's interface is asked of the kernel again at its next check, and attached to if
 * new. A check started between the change and this wake-up may still leave by an interface not
 * yet attached; its SYN is then unobserved, and it is answered from its socket.
 */
static void routes_changed(struct synprobe *sp)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	bool changed = false;
	unsigned int i;
	ssize_t n;

	while ((n = mnl_socket_recvfrom(sp->nl_mon, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			changed = true; /* ENOBUFS: messages were lost */
			continue;
		}
		changed = true;
		mnl_cb_run(buf, n, 0, 0, link_msg_cb, sp);
	}
	if (!changed)
		return;
	for (i = 0; i < sp->dest_cap; i++)
		sp->dests[i].routed = false;
}

static int routes_monitor_open(struct synprobe *sp)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = TAG_ROUTES };

	sp->nl_mon = mnl_socket_open2(NETLINK_ROUTE, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (!sp->nl_mon)
		return -errno;
	if (mnl_socket_bind(sp->nl_mon, RTMGRP_LINK | RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE,
			    MNL_SOCKET_AUTOPID) < 0)
		return -errno;
	if (epoll_ctl(sp->epfd, EPOLL_CTL_ADD, mnl_socket_get_fd(sp->nl_mon), &ev))
		return -errno;
	return 0;
}

/* --- public API --- */

/*
 * The ring buffer holds one event for every check that can be in flight, so that a burst of
 * replies (all of them, on a fast network) never overflows it: sizeof(struct sp_flow) plus the
 * 8-byte record header each, rounded up to a power of two, at least 64 KiB, at most 64 MiB.
 */
static __u32 ringbuf_bytes(const struct synprobe_opts *opts, __u32 max_flows)
{
	__u64 in_flight = opts->max_in_flight && opts->max_in_flight < max_flows ?
				  opts->max_in_flight : max_flows;
	__u64 need = in_flight * (sizeof(struct sp_flow) + 8), size = 64 * 1024;

	while (size < need && size < 64ULL * 1024 * 1024)
		size *= 2;
	return (__u32)size;
}

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
	sp->opts.load_error = NULL;
	if (opts->wait_sigmask) {
		sp->wait_sigmask = *opts->wait_sigmask;
		sp->have_sigmask = true;
	}
	sp->epfd = sp->timerfd = sp->pin_lock_fd = -1;
	sp->free_head = SLOT_NONE;
	queue_init(&sp->pending);
	queue_init(&sp->port_wait);
	sp_token_bucket_init(&sp->rate, opts->rate_per_sec, opts->rate_per_sec / 100 + 1, now_ns());

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

	if (opts->load_error)
		memset(opts->load_error, 0, sizeof(*opts->load_error));
	err = probe_kernel(opts->load_error);
	if (err)
		goto cleanup;
	sp->skel = synprobe_bpf__open();
	if (!sp->skel) {
		err = load_fail(opts->load_error, SYNPROBE_LOAD_OTHER, errno, "opening the BPF object");
		goto cleanup;
	}
	/*
	 * No more checks than max_in_flight are ever tracked at once: maps sized beyond that are
	 * memory the kernel preallocates and clears for nothing, at every start.
	 */
	max_flows = opts->max_flows ? opts->max_flows : SP_MAX_FLOWS_DEFAULT;
	if (!opts->max_flows && opts->max_in_flight && opts->max_in_flight < max_flows)
		max_flows = opts->max_in_flight;
	err = bpf_map__set_max_entries(sp->skel->maps.sp_socks, max_flows);
	if (!err)
		err = bpf_map__set_max_entries(sp->skel->maps.sp_flows, max_flows);
	if (!err)
		err = bpf_map__set_max_entries(sp->skel->maps.sp_events, ringbuf_bytes(opts, max_flows));
	if (err)
		goto cleanup;
	if (opts->pin_dir) {
		sp->pin_dir = strdup(opts->pin_dir);
		if (!sp->pin_dir) {
			err = -ENOMEM;
			goto cleanup;
		}
		err = pin_prepare(sp->skel->obj, sp->pin_dir, &sp->pin_lock_fd);
		if (err)
			goto cleanup;
	}
	err = load_programs(sp, opts->load_error);
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
		err = routes_monitor_open(sp);
		if (err)
			goto cleanup;
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

/* Has epoll tell when @c's handshake ends (method connect, or a check BPF cannot follow). */
static int socket_poll(struct synprobe *sp, struct sp_check *c, unsigned int slot)
{
	struct epoll_event ev = {
		.events = EPOLLOUT,
		.data.u64 = SOCKET_EVENT | (__u64)c->gen << 32 | slot,
	};

	if (epoll_ctl(sp->epfd, EPOLL_CTL_ADD, c->fd, &ev))
		return errno;
	c->polled = true;
	return 0;
}

/* Socket set-up of a check; returns 0 or a positive errno for the result. */
static int check_socket(struct synprobe *sp, struct sp_check *c, unsigned int slot)
{
	const struct sockaddr_storage *src = &sp->opts.source;
	struct linger linger = { .l_onoff = 1, .l_linger = 0 };
	struct sp_flow flow = {};
	socklen_t len = sizeof(c->cookie);
	int zero = 0, one = 1;

	c->fd = socket(c->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
	if (c->fd < 0)
		return errno;
	/* Before bind() and connect(): the route of the SYN is looked up with both. */
	if (c->copts.mark &&
	    setsockopt(c->fd, SOL_SOCKET, SO_MARK, &c->copts.mark, sizeof(c->copts.mark)))
		return errno;
	if (c->copts.bind_ifindex && setsockopt(c->fd, SOL_SOCKET, SO_BINDTOIFINDEX,
						&c->copts.bind_ifindex, sizeof(int)))
		return errno;
	if (src->ss_family) {
		if (src->ss_family != c->addr.ss_family)
			return EAFNOSUPPORT;
		/* The port is chosen at connect(), for the whole 4-tuple: more checks per address. */
		setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
		if (bind(c->fd, (const struct sockaddr *)src,
			 src->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) :
						      sizeof(struct sockaddr_in)))
			return errno;
	}
	if (!sp->use_bpf)
		return socket_poll(sp, c, slot); /* close() will send FIN */

	/* NOTES-kernel.md item 1: no quick ACK, and close() aborts with RST instead of FIN. */
	if (setsockopt(c->fd, IPPROTO_TCP, TCP_QUICKACK, &zero, sizeof(zero)) ||
	    setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &linger, sizeof(linger)) ||
	    getsockopt(c->fd, SOL_SOCKET, SO_COOKIE, &c->cookie, &len))
		return errno;

	/* Registered before connect(): the SYN cannot outrun the map entry (item 5). */
	flow.cookie = c->cookie;
	flow.check_id = slot;
	if (!bpf_map_update_elem(sp->socks_fd, &c->cookie, &flow, BPF_NOEXIST)) {
		c->registered = true;
		return 0;
	}
	/* Finished checks may still hold entries, waiting for their batched delete: free them. */
	if (sp->n_done) {
		flush_done(sp);
		if (!bpf_map_update_elem(sp->socks_fd, &c->cookie, &flow, BPF_NOEXIST)) {
			c->registered = true;
			return 0;
		}
	}
	/* No room in the map: the socket's own state answers, as soon as it changes. */
	sp->stats.untracked++;
	return socket_poll(sp, c, slot);
}

/* Undoes check_socket() for a check that goes back to the queue. */
static void check_unrun(struct synprobe *sp, struct sp_check *c)
{
	struct sp_flow rec;

	if (c->fd >= 0)
		close(c->fd); /* also leaves epoll */
	c->fd = -1;
	c->polled = false;
	flow_forget(sp, c, &rec);
}

/*
 * Sends the SYN of the queued check in @slot and arms its deadline. Returns -EADDRNOTAVAIL when
 * no local port is free, or -EMFILE when no file descriptor is, while other checks run (one will
 * free a port and a descriptor: the check waits for it); otherwise 0, a local error being the
 * check's result.
 */
static int check_run(struct synprobe *sp, unsigned int slot)
{
	struct sp_check *c = &sp->checks[slot];
	int err;

	c->gen = ++sp->gen & 0x7fffffff;
	err = c->route_err ? c->route_err : check_socket(sp, c, slot);
	if ((err == EMFILE || err == ENFILE) && sp->running > 0) {
		/* Out of file descriptors: a running check will give one back. */
		check_unrun(sp, c);
		return -EMFILE;
	}
	c->start_ns = now_ns();
	if (!err && connect(c->fd, (const struct sockaddr *)&c->addr, c->addrlen) &&
	    errno != EINPROGRESS) {
		err = errno;
		/* From connect() (not bind()), EADDRNOTAVAIL means every local port is taken. */
		if (err == EADDRNOTAVAIL && sp->running > 0) {
			check_unrun(sp, c);
			return -EADDRNOTAVAIL;
		}
	}
	c->connect_err = err;
	c->state = CHECK_RUNNING;
	sp->running++;
	sp->dests[c->dest].running++;
	sp->stats.started++;
	/* A check that failed at once ends at the next synprobe_poll(). */
	sp_timer_heap_set(&sp->timers, slot,
			  err ? c->start_ns : c->start_ns + c->timeout_ms * NSEC_PER_MSEC);
	return 0;
}

/* Starts queued checks while the limits, the rate and the local ports allow. */
static void dispatch(struct synprobe *sp)
{
	struct sp_check *c;
	unsigned int slot;
	__u64 now;
	int err;

	sp->rate_wake_ns = 0;
	while (sp->pending.head != SLOT_NONE) {
		if (sp->opts.max_in_flight && sp->running >= sp->opts.max_in_flight)
			return;
		slot = sp->pending.head;
		c = &sp->checks[slot];
		if (sp->opts.per_target_max &&
		    sp->dests[c->dest].running >= sp->opts.per_target_max) {
			/* Its destination is busy: it waits there, and the others go on. */
			queue_pop(sp, &sp->pending);
			queue_push(sp, &sp->dests[c->dest].waiting, slot);
			continue;
		}
		now = now_ns();
		if (!sp_token_bucket_take(&sp->rate, now)) {
			sp->rate_wake_ns = now + sp_token_bucket_wait_ns(&sp->rate, now);
			return;
		}
		queue_pop(sp, &sp->pending);
		err = check_run(sp, slot);
		if (err == -EADDRNOTAVAIL || err == -EMFILE) {
			if (err == -EADDRNOTAVAIL)
				sp->stats.port_waits++;
			else
				sp->stats.fd_waits++;
			queue_push(sp, &sp->port_wait, slot);
			return;
		}
	}
}

/*
 * An IPv4-mapped IPv6 address (::ffff:a.b.c.d) becomes the IPv4 address it maps: the kernel sends
 * IPv4 for it, and its route, 4-tuple and destination are IPv4's.
 */
static void unmap_v4(struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_in sin = { .sin_family = AF_INET };

	if (ss->ss_family != AF_INET6 || !IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr))
		return;
	sin.sin_port = sin6->sin6_port;
	memcpy(&sin.sin_addr, &sin6->sin6_addr.s6_addr[12], 4);
	memset(ss, 0, sizeof(*ss));
	memcpy(ss, &sin, sizeof(sin));
	*len = sizeof(sin);
}

int synprobe_attach_route(struct synprobe *sp, const struct sockaddr *addr, socklen_t addrlen)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int err, oif;

	err = sockaddr_check(addr, addrlen);
	if (err)
		return err;
	if (!sp->use_bpf || !sp->nl)
		return 0;
	len = addr->sa_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
	memcpy(&ss, addr, len);
	unmap_v4(&ss, &len);
	oif = sp_route_oif_from(sp->nl, &sp->nl_seq, (struct sockaddr *)&ss, sp->opts.mark,
				sp->opts.bind_ifindex);
	return oif > 0 ? ensure_attached(sp, oif) : oif;
}

int synprobe_start(struct synprobe *sp, const struct sockaddr *addr, socklen_t addrlen,
		   __u32 timeout_ms, void *user)
{
	return synprobe_start_ex(sp, addr, addrlen, timeout_ms, NULL, user);
}

int synprobe_start_ex(struct synprobe *sp, const struct sockaddr *addr, socklen_t addrlen,
		      __u32 timeout_ms, const struct synprobe_check_opts *copts, void *user)
{
	struct sp_dest *d;
	struct sp_check *c;
	unsigned int slot;
	int err, oif;

	if (!sp || !timeout_ms)
		return -EINVAL;
	err = sockaddr_check(addr, addrlen);
	if (err)
		return err;

	err = slot_alloc(sp, &slot);
	if (err)
		return err;
	c = &sp->checks[slot];
	c->addrlen = addr->sa_family == AF_INET ? sizeof(struct sockaddr_in) :
						  sizeof(struct sockaddr_in6);
	memcpy(&c->addr, addr, c->addrlen);
	unmap_v4(&c->addr, &c->addrlen);
	c->user = user;
	c->timeout_ms = timeout_ms;
	c->copts.mark = copts ? copts->mark : sp->opts.mark;
	c->copts.bind_ifindex = copts ? copts->bind_ifindex : sp->opts.bind_ifindex;
	/* Free until it has a destination: a rehash in dest_get() looks at the others only. */
	err = dest_get(sp, &c->addr, &c->dest);
	if (err)
		goto cleanup;
	c->state = CHECK_QUEUED;

	d = &sp->dests[c->dest];
	if (d->routed && (d->routed_for.mark != c->copts.mark ||
			  d->routed_for.bind_ifindex != c->copts.bind_ifindex))
		d->routed = false; /* another mark or interface may leave by another route */
	if (sp->use_bpf && sp->nl && !d->routed) {
		/*
		 * Once per destination, not per check: a route lookup is two syscalls. No route: no
		 * interface to attach to, so the check ends with the route's error and never
		 * connects, and the next check asks again: a route that appears between this lookup
		 * and a connect() would otherwise carry a handshake no program sees.
		 */
		oif = sp_route_oif_from(sp->nl, &sp->nl_seq, (const struct sockaddr *)&c->addr,
					c->copts.mark, c->copts.bind_ifindex);
		if (oif > 0) {
			err = ensure_attached(sp, oif);
			if (err)
				goto cleanup;
			d->routed = true;
			d->routed_for = c->copts;
		} else {
			c->route_err = -oif;
		}
	}
	queue_push(sp, &sp->pending, slot);
	sp->in_flight++;
	dispatch(sp);
	return 0;

cleanup:
	slot_free(sp, slot);
	return err;
}

int synprobe_poll(struct synprobe *sp, int timeout_ms)
{
	struct epoll_event events[64];
	__u64 ticks;
	int i, n, err;

	sp->delivered = 0;
	if (sp->rb)
		ring_buffer__consume(sp->rb);
	expire_checks(sp);
	dispatch(sp);
	if (!sp->delivered) {
		err = timer_rearm(sp);
		if (err)
			return err;
		n = epoll_pwait(sp->epfd, events, 64, timeout_ms,
				sp->have_sigmask ? &sp->wait_sigmask : NULL);
		if (n < 0)
			return -errno;
		for (i = 0; i < n; i++) {
			if (events[i].data.u64 == TAG_TIMER)
				(void)!read(sp->timerfd, &ticks, sizeof(ticks));
			else if (events[i].data.u64 == TAG_ROUTES)
				routes_changed(sp);
			else if (events[i].data.u64 & SOCKET_EVENT)
				socket_event(sp, events[i].data.u64);
		}
		/* Replies first: a reply and its check's deadline in one wake-up count as a reply. */
		if (sp->rb)
			ring_buffer__consume(sp->rb);
		expire_checks(sp);
		dispatch(sp);
	}
	flush_done(sp);
	err = timer_rearm(sp);
	if (err)
		return err;
	return sp->delivered;
}

unsigned int synprobe_in_flight(const struct synprobe *sp)
{
	return sp->in_flight;
}

void synprobe_engine_stats(const struct synprobe *sp, struct synprobe_engine_stats *stats)
{
	*stats = sp->stats;
	stats->running = sp->running;
	stats->queued = sp->in_flight - sp->running;
	stats->destinations = sp->dest_used;
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
	unsigned int i;
	struct bpf_map *map;
	size_t j;

	if (!sp)
		return;
	for (i = 0; i < sp->n_checks; i++) {
		struct sp_check *c = &sp->checks[i];

		if (c->state == CHECK_RUNNING)
			check_unrun(sp, c);
	}
	if (sp->skel)
		flush_done(sp);
	free(sp->done_cookies);
	for (j = 0; j < sp->n_attached; j++)
		sp_detach(&sp->attached[j]);
	free(sp->attached);
	ring_buffer__free(sp->rb);
	/*
	 * Only a run that holds the directory removes pins from it, through its fd: after a drop to
	 * another user, the path may pass through a directory that user cannot search (a bpffs
	 * root is mode 0700). The directory goes only if empty and if its parent lets us.
	 */
	if (sp->skel && sp->pin_dir && sp->pin_lock_fd >= 0) {
		bpf_object__for_each_map(map, sp->skel->obj)
			if (bpf_map__pin_path(map))
				unlinkat(sp->pin_lock_fd, bpf_map__name(map), 0);
		rmdir(sp->pin_dir);
	}
	if (sp->pin_lock_fd >= 0)
		close(sp->pin_lock_fd);
	free(sp->pin_dir);
	synprobe_bpf__destroy(sp->skel);
	if (sp->nl)
		mnl_socket_close(sp->nl);
	if (sp->nl_mon)
		mnl_socket_close(sp->nl_mon);
	if (sp->timerfd >= 0)
		close(sp->timerfd);
	if (sp->epfd >= 0)
		close(sp->epfd);
	free(sp->checks);
	free(sp->dests);
	sp_timer_heap_free(&sp->timers);
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
