// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * engine.c - the synprobe engine: a scheduler in the caller's thread and N event loops that run
 * the checks it grants them. Each loop owns its sockets, a BPF ring buffer (sp_events[loop]), a
 * timerfd and a binary min-heap of its checks' deadlines (O(log n) per check).
 *
 * The scheduler (the pending queue, the per-destination counts, the rate's token bucket, route
 * lookups and attaching) runs only in the thread that calls synprobe_start() and
 * synprobe_poll(), so the limits stay exact without a lock: a check counts against them from its
 * grant until its result is delivered, which is after its socket is closed and its flow left the
 * maps. Loop 0 runs inline in that thread (threads == 1 is the engine as it always was: no other
 * thread and no hand-over); loops 1..N-1 are threads. Checks go to a loop, and results come back,
 * through lock-free lists (a single consumer takes the whole list at once, as the kernel's llist
 * does), with an eventfd written only when a list was empty: one wake-up per batch.
 *
 * How a check makes its TCP handshake is its method's row (struct sp_method, user/kind.h, from
 * the one table in user/kind.c): the half-open check (kind_halfopen.c: the tc programs report the
 * reply through the loop's ring buffer, the deadline covers everything else) or a plain connect()
 * (kind_connect.c: epoll says when the socket turns writable). The engine makes the socket with
 * the options every row shares and calls the row's hooks from the same loops; a completing kind
 * (struct synprobe_kind, e.g. kind_l7.c) then takes the connected socket on that loop.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>
#include "libsynprobe.h"
#include "engine.h"
#include "kind.h"
#include "synprobe.skel.h"
#include "attach.h"
#include "opts.h"
#include "outcome.h"
#include "route.h"
#include "timer_heap.h"
#include "token_bucket.h"

#ifndef SO_BINDTOIFINDEX
#define SO_BINDTOIFINDEX 62
#endif


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
	/*
	 * The loop that runs every check of this destination, chosen (the least busy) at its first
	 * check. A 4-tuple can only be used again by a check of the same destination: in one thread,
	 * the RST that close() sends for the last check on a local port leaves before the next SYN
	 * from that port. From two threads on two CPUs, the SYN can overtake the RST (each CPU has
	 * its own backlog, a NIC its own queue per CPU); the server then still holds the half-open
	 * connection, answers the new SYN in its window with RST (Linux: tcp_check_req(), a SYN on
	 * a request socket is an "embryonic reset"), and the check would read "closed".
	 */
	struct sp_loop *loop;
};


static inline struct sp_check *check_at(const struct synprobe *sp, unsigned int slot)
{
	return &sp->chunks[slot >> CHUNK_SHIFT][slot & (CHUNK_SLOTS - 1)];
}

/* --- queues --- */

static void queue_init(struct sp_queue *q)
{
	q->head = q->tail = SLOT_NONE;
	q->len = 0;
}

static void queue_push(struct synprobe *sp, struct sp_queue *q, unsigned int slot)
{
	check_at(sp, slot)->next = SLOT_NONE;
	if (q->tail == SLOT_NONE)
		q->head = slot;
	else
		check_at(sp, q->tail)->next = slot;
	q->tail = slot;
	q->len++;
}

static void queue_push_front(struct synprobe *sp, struct sp_queue *q, unsigned int slot)
{
	check_at(sp, slot)->next = q->head;
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
	q->head = check_at(sp, slot)->next;
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
	check_at(sp, from->tail)->next = to->head;
	if (to->tail == SLOT_NONE)
		to->tail = from->tail;
	to->head = from->head;
	to->len += from->len;
	queue_init(from);
}

/*
 * Hand-over lists: any thread pushes a chain (@first..@last, linked through ll_next), the owner
 * takes the whole list at once; an ABA cannot happen since nothing is ever popped alone. Returns
 * true when the list was empty: the pusher then wakes the owner, once per batch.
 */
static bool ll_push(_Atomic(struct sp_check *) *list, struct sp_check *first, struct sp_check *last)
{
	struct sp_check *old = atomic_load_explicit(list, memory_order_relaxed);

	do
		last->ll_next = old;
	while (!atomic_compare_exchange_weak_explicit(list, &old, first, memory_order_release,
						      memory_order_relaxed));
	return old == NULL;
}

/* Takes the whole list, and turns it around: what was pushed first comes first. */
static struct sp_check *ll_take(_Atomic(struct sp_check *) *list)
{
	struct sp_check *c, *rev = NULL, *next;

	c = atomic_exchange_explicit(list, NULL, memory_order_acquire);
	for (; c; c = next) {
		next = c->ll_next;
		c->ll_next = rev;
		rev = c;
	}
	return rev;
}

static void eventfd_kick(int fd)
{
	__u64 one = 1;

	(void)!write(fd, &one, sizeof(one));
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
		if (check_at(sp, i)->state != CHECK_FREE)
			sp->dests[check_at(sp, i)->dest].keep = true;
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
		struct sp_check *c = check_at(sp, i);

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
		sp->dests[i].loop = NULL;
		sp->dest_used++;
	}
	*index = i;
	return 0;
}

/* --- slots --- */

static void check_reset(struct sp_check *c, unsigned int next)
{
	memset(c, 0, sizeof(*c));
	c->state = CHECK_FREE;
	c->fd = -1;
	c->next = next;
}

/* One more chunk of slots; the chunks already there stay where they are. */
static int slots_grow(struct synprobe *sp)
{
	unsigned int n = sp->n_checks + CHUNK_SLOTS, i;
	struct sp_check **chunks, *chunk;

	chunks = realloc(sp->chunks, (n >> CHUNK_SHIFT) * sizeof(*chunks));
	if (!chunks)
		return -ENOMEM;
	sp->chunks = chunks;
	chunk = malloc(CHUNK_SLOTS * sizeof(*chunk));
	if (!chunk)
		return -ENOMEM;
	chunks[sp->n_checks >> CHUNK_SHIFT] = chunk;
	for (i = 0; i < CHUNK_SLOTS; i++)
		check_reset(&chunk[i], i + 1 < CHUNK_SLOTS ? sp->n_checks + i + 1 : sp->free_head);
	sp->free_head = sp->n_checks;
	sp->n_checks = n;
	return 0;
}

static int slot_alloc(struct synprobe *sp, unsigned int *slot)
{
	int err;

	if (sp->free_head == SLOT_NONE) {
		err = slots_grow(sp);
		if (err)
			return err;
	}
	*slot = sp->free_head;
	sp->free_head = check_at(sp, *slot)->next;
	return 0;
}

static void slot_free(struct synprobe *sp, unsigned int slot)
{
	check_reset(check_at(sp, slot), sp->free_head);
	sp->free_head = slot;
}

/* A loop slot for @c: its check_id for the BPF side, and its place in the loop's timer heap. */
static int lslot_alloc(struct sp_loop *l, struct sp_check *c)
{
	unsigned int n, i;
	struct sp_check **slots;
	unsigned int *free_slots;
	int err;

	if (!l->n_free) {
		n = l->n_slots ? l->n_slots * 2 : 64;
		err = sp_timer_heap_reserve(&l->timers, n);
		if (err)
			return err;
		slots = realloc(l->slots, n * sizeof(*slots));
		if (!slots)
			return -ENOMEM;
		l->slots = slots;
		free_slots = realloc(l->free_slots, n * sizeof(*free_slots));
		if (!free_slots)
			return -ENOMEM;
		l->free_slots = free_slots;
		/* Lowest slots on top: they are taken first. */
		for (i = n; i > l->n_slots; i--) {
			slots[i - 1] = NULL;
			free_slots[l->n_free++] = i - 1;
		}
		l->n_slots = n;
	}
	c->lslot = l->free_slots[--l->n_free];
	l->slots[c->lslot] = c;
	return 0;
}

static void lslot_free(struct sp_loop *l, struct sp_check *c)
{
	sp_timer_heap_remove(&l->timers, c->lslot);
	l->slots[c->lslot] = NULL;
	l->free_slots[l->n_free++] = c->lslot;
}

/* --- a loop: the end of a check --- */

void sp_check_read_socket(struct sp_check *c)
{
	struct sockaddr_storage peer;
	socklen_t len = sizeof(c->sock_err);

	getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &c->sock_err, &len);
	len = sizeof(peer);
	if (!c->sock_err)
		c->sock_connected = getpeername(c->fd, (struct sockaddr *)&peer, &len) == 0;
	len = sizeof(c->local);
	getsockname(c->fd, (struct sockaddr *)&c->local, &len);
}

/*
 * Ends the check @c of loop @l: the method reads what it needs from the socket, the socket is
 * closed (SO_LINGER {1, 0}: the kernel sends RST), the method forgets the check (its flow out of
 * the BPF maps). Its outcome is decided and delivered by the scheduler, after loop_hand_back().
 */
void sp_loop_finish(struct sp_loop *l, struct sp_check *c)
{
	const struct sp_method *m = l->sp->method;

	struct linger linger = { .l_onoff = !c->copts.close_fin, .l_linger = 0 };

	if (c->kind_running && !c->kind_done) {
		c->kind_done = true;
		if (c->copts.kind->on_deadline)
			c->copts.kind->on_deadline(c->kstate);
	}
	/* A completing kind closes with RST (SO_LINGER {1, 0}) unless told FIN, whatever the method. */
	if (c->copts.kind && c->fd >= 0)
		setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &linger, sizeof(linger));
	if (m->end)
		m->end(l, c);
	if (c->fd >= 0)
		close(c->fd); /* also leaves epoll */
	c->fd = -1;
	c->have_rec = m->forget ? m->forget(l, c) : false;
	lslot_free(l, c);
	l->running--;
	c->ll_next = l->finished;
	l->finished = c;
}

/* Undoes a check's socket set-up (engine closing, or the check goes back to the queue). */
static void check_unrun(struct sp_loop *l, struct sp_check *c)
{
	if (c->kstate && c->copts.kind->free)
		c->copts.kind->free(c->kstate);
	c->kstate = NULL;
	c->kind_running = false;
	if (c->fd >= 0)
		close(c->fd); /* also leaves epoll */
	c->fd = -1;
	c->polled = false;
	if (l->sp->method->forget)
		l->sp->method->forget(l, c);
}

int sp_loop_poll_socket(struct sp_loop *l, struct sp_check *c)
{
	struct epoll_event ev = {
		.events = EPOLLOUT,
		.data.u64 = SOCKET_EVENT | (__u64)c->gen << 32 | c->lslot,
	};

	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, c->fd, &ev))
		return errno;
	c->polled = true;
	return 0;
}

/*
 * A completing kind waits for @want (enum synprobe_kind_wait) or a negative errno: the socket's
 * epoll events follow it, and DONE or an error ends the check.
 */
static void kind_wait(struct sp_loop *l, struct sp_check *c, int want)
{
	struct epoll_event ev = {
		.data.u64 = SOCKET_EVENT | (__u64)c->gen << 32 | c->lslot,
	};

	if (want > 0) {
		ev.events = (want & SYNPROBE_KIND_READ ? EPOLLIN : 0) |
			    (want & SYNPROBE_KIND_WRITE ? EPOLLOUT : 0);
		if (!epoll_ctl(l->epfd, c->polled ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, c->fd, &ev)) {
			c->polled = true;
			return;
		}
		want = -errno;
	}
	if (want < 0)
		c->kind_err = -want;
	c->kind_done = true;
	sp_loop_finish(l, c);
}

/* The handshake of a completing kind's check is done: the kind takes the socket. */
static void kind_start(struct sp_loop *l, struct sp_check *c)
{
	int want;

	c->kind_running = true;
	want = c->copts.kind->start(c->copts.kind_arg, c->fd, (const struct sockaddr *)&c->addr,
				    c->start_ns, sp_now_ns(), &c->kstate);
	kind_wait(l, c, want);
}

void sp_loop_connected(struct sp_loop *l, struct sp_check *c)
{
	socklen_t len = sizeof(int);
	int err = 0;

	if (!getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) && !err) {
		kind_start(l, c);
		return;
	}
	c->sock_err = err;
	sp_loop_finish(l, c);
}

/*
 * The socket of the check in @data is ready: a completing kind's socket belongs to the kind (its
 * events go to it); before that, the handshake ended, which the method's row handles.
 */
static void socket_event(struct sp_loop *l, __u64 data, unsigned int events)
{
	unsigned int lslot = (unsigned int)data;
	__u32 gen = (data >> 32) & 0x7fffffff;
	struct sp_check *c;

	if (lslot >= l->n_slots || !l->slots[lslot] || l->slots[lslot]->gen != gen)
		return;
	c = l->slots[lslot];
	if (c->kind_running) {
		if (!c->kind_done)
			kind_wait(l, c, c->copts.kind->on_event(c->kstate, events));
		return;
	}
	l->sp->method->on_socket_event(l, c, events);
}

/* Ends every check of @l whose deadline has passed. */
static void expire_checks(struct sp_loop *l)
{
	__u64 now = sp_now_ns(), deadline;
	unsigned int lslot;

	while (sp_timer_heap_peek(&l->timers, &lslot, &deadline) && deadline <= now)
		sp_loop_finish(l, l->slots[lslot]);
}

/* Sets @fd to fire at @next (CLOCK_MONOTONIC ns, 0: never), if it is not set so already. */
static int timerfd_arm(int fd, __u64 *armed_ns, __u64 next)
{
	struct itimerspec its = {};

	if (next == *armed_ns)
		return 0;
	/* An absolute time of 0 would disarm the timer: a deadline is never 0. */
	its.it_value.tv_sec = next / NSEC_PER_SEC;
	its.it_value.tv_nsec = next % NSEC_PER_SEC;
	if (timerfd_settime(fd, TFD_TIMER_ABSTIME, &its, NULL))
		return -errno;
	*armed_ns = next;
	return 0;
}

/* A loop's timerfd fires at its earliest deadline. */
static int loop_timer_rearm(struct sp_loop *l)
{
	__u64 deadline = 0;
	unsigned int lslot;

	sp_timer_heap_peek(&l->timers, &lslot, &deadline);
	return timerfd_arm(l->timerfd, &l->armed_ns, deadline);
}

/* --- a loop: the start of a check --- */

/*
 * Socket set-up of a check, up to its registration: the options every method shares, then the
 * method's own (sp_method.prepare). Returns 0 or a positive errno for the result; *@reg is set
 * when the method wants @flow registered (sp_method.register_batch) before the connect().
 */
static int check_socket(struct sp_loop *l, struct sp_check *c, struct sp_flow *flow, bool *reg)
{
	const struct sockaddr_storage *src = &l->sp->opts.source;
	int one = 1;

	*reg = false;
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
	return l->sp->method->prepare(l, c, flow, reg);
}

/* Gives @c back to the scheduler unrun: no local port or file descriptor (it decides). */
static void check_requeue(struct sp_loop *l, struct sp_check *c, int err)
{
	check_unrun(l, c);
	lslot_free(l, c);
	c->requeue = err;
	c->ll_next = l->finished;
	l->finished = c;
}

/*
 * Runs up to RUN_BATCH granted checks, @batch[0..@n-1], in their order: sockets set up, the
 * method's registrations in one batch (half-open: the sp_socks records in one batched update,
 * each before its connect(): NOTES-kernel.md item 5, the SYN cannot outrun the map entry), then
 * the connect()s and the deadlines. A check with no local port (EADDRNOTAVAIL at connect()) or
 * no file descriptor goes back to the scheduler, which holds it until a running check ends.
 */
static void loop_run_batch(struct sp_loop *l, struct sp_check **batch, unsigned int n)
{
	struct sp_flow flows[RUN_BATCH];
	struct sp_check *regs[RUN_BATCH];
	unsigned int idx[RUN_BATCH], n_reg = 0, i;
	int errs[RUN_BATCH], reg_errs[RUN_BATCH];
	bool reg;

	for (i = 0; i < n; i++) {
		struct sp_check *c = batch[i];

		errs[i] = 0;
		c->gen = ++l->gen & 0x7fffffff;
		if (lslot_alloc(l, c)) {
			errs[i] = ENOMEM;
			c->lslot = SLOT_NONE;
			continue;
		}
		if (c->route_err) {
			errs[i] = c->route_err;
			continue;
		}
		errs[i] = check_socket(l, c, &flows[n_reg], &reg);
		if (errs[i] == EMFILE || errs[i] == ENFILE) {
			check_requeue(l, c, -EMFILE);
			batch[i] = NULL;
			continue;
		}
		if (!errs[i] && reg) {
			regs[n_reg] = c;
			idx[n_reg++] = i;
		}
	}
	if (n_reg) {
		l->sp->method->register_batch(l, regs, flows, n_reg, reg_errs);
		for (i = 0; i < n_reg; i++)
			errs[idx[i]] = reg_errs[i];
	}
	for (i = 0; i < n; i++) {
		struct sp_check *c = batch[i];
		int err = errs[i];

		if (!c)
			continue;
		if (c->lslot == SLOT_NONE) {
			/* No loop slot for it: it fails at once, from the scheduler. */
			c->connect_err = err;
			c->requeue = -ENOMEM;
			c->ll_next = l->finished;
			l->finished = c;
			continue;
		}
		c->start_ns = sp_now_ns();
		if (!err && connect(c->fd, (const struct sockaddr *)&c->addr, c->addrlen) &&
		    errno != EINPROGRESS) {
			err = errno;
			/* From connect() (not bind()), EADDRNOTAVAIL means every local port is taken. */
			if (err == EADDRNOTAVAIL) {
				check_requeue(l, c, -EADDRNOTAVAIL);
				continue;
			}
		}
		c->connect_err = err;
		l->running++;
		/* A check that failed at once ends at the next round. */
		sp_timer_heap_set(&l->timers, c->lslot,
				  err ? c->start_ns : c->start_ns + c->timeout_ms * NSEC_PER_MSEC);
	}
}

/* Runs the granted checks of the list @c (first first), RUN_BATCH at a time. */
static void loop_run(struct sp_loop *l, struct sp_check *c)
{
	struct sp_check *batch[RUN_BATCH], *next;
	unsigned int n = 0;

	/* ll_next is read first: a check that goes back is linked into another list. */
	for (; c; c = next) {
		next = c->ll_next;
		batch[n++] = c;
		if (n == RUN_BATCH) {
			loop_run_batch(l, batch, n);
			n = 0;
		}
	}
	if (n)
		loop_run_batch(l, batch, n);
}

static void check_complete(struct synprobe *sp, struct sp_check *c);

/*
 * Hands the finished checks back to the scheduler, after their sp_socks entries are deleted, so
 * that a check the scheduler grants next always finds room in the map: loop 0 delivers them at
 * once, a thread pushes them to its out-list and wakes the scheduler when it was empty.
 */
static void loop_hand_back(struct sp_loop *l)
{
	struct sp_check *c, *next, *last;

	if (l->sp->method->flush)
		l->sp->method->flush(l);
	c = l->finished;
	if (!c)
		return;
	l->finished = NULL;
	if (!l->threaded) {
		/* Last first: turned around, so results come in the order the checks ended. */
		struct sp_check *rev = NULL;

		for (; c; c = next) {
			next = c->ll_next;
			c->ll_next = rev;
			rev = c;
		}
		for (c = rev; c; c = next) {
			next = c->ll_next;
			check_complete(l->sp, c);
		}
		return;
	}
	for (last = c; last->ll_next; last = last->ll_next)
		;
	if (ll_push(&l->outbox, c, last))
		eventfd_kick(l->sp->resultfd);
}

/* One round of a loop after a wake-up: new checks, replies, deadlines, results back. */
static void loop_round(struct sp_loop *l)
{
	if (l->threaded)
		loop_run(l, ll_take(&l->inbox));
	/* Replies first: a reply and its check's deadline in one wake-up count as a reply. */
	if (l->sp->method->on_ring_event)
		l->sp->method->on_ring_event(l);
	expire_checks(l);
	loop_hand_back(l);
}

static void *loop_thread(void *arg)
{
	struct sp_loop *l = arg;
	struct epoll_event events[64];
	__u64 ticks;
	int i, n;

	while (!atomic_load_explicit(&l->stop, memory_order_acquire)) {
		if (loop_timer_rearm(l))
			break;
		n = epoll_wait(l->epfd, events, 64, -1);
		if (n < 0 && errno != EINTR)
			break;
		for (i = 0; i < n; i++) {
			if (events[i].data.u64 == TAG_WAKE)
				(void)!read(l->wakefd, &ticks, sizeof(ticks));
			else if (events[i].data.u64 == TAG_LOOP_TIMER)
				(void)!read(l->timerfd, &ticks, sizeof(ticks));
			else if (events[i].data.u64 & SOCKET_EVENT)
				socket_event(l, events[i].data.u64, events[i].events);
		}
		loop_round(l);
	}
	return NULL;
}

/* --- the scheduler --- */

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
	c->loop->granted--;
	slot = queue_pop(sp, &d->waiting);
	if (slot != SLOT_NONE)
		queue_push_front(sp, &sp->pending, slot);
	/*
	 * One port and one descriptor are free: one waiting check tries again (all of them would
	 * mostly fail again, each a socket() and a connect()), and all once nothing else runs.
	 */
	if (sp->running == 0) {
		queue_splice_front(sp, &sp->port_wait, &sp->pending);
		sp->port_short = false;
	} else if (sp->port_short) {
		slot = queue_pop(sp, &sp->port_wait);
		if (slot != SLOT_NONE)
			queue_push_front(sp, &sp->pending, slot);
		sp->port_credits++;
		if (sp->port_wait.head == SLOT_NONE)
			sp->port_short = false;
	}
}

/*
 * A check comes back from its loop: decide its outcome and deliver it; or, when it never ran for
 * want of a local port or a file descriptor while other checks run (one will free both), queue
 * it again.
 */
static void check_complete(struct synprobe *sp, struct sp_check *c)
{
	unsigned int slot = c->slot;
	struct synprobe_result res = {};
	struct sp_observed obs = {};

	if (c->requeue) {
		bool ports = c->requeue == -EADDRNOTAVAIL;

		sp->running--;
		sp->dests[c->dest].running--;
		c->loop->granted--;
		sp->stats.started--;
		if (c->requeue != -ENOMEM && sp->running > 0) {
			if (ports)
				sp->stats.port_waits++;
			else
				sp->stats.fd_waits++;
			c->state = CHECK_QUEUED;
			c->requeue = 0;
			queue_push(sp, &sp->port_wait, slot);
			/* No more grants than checks end, until the waiting ones are through. */
			if (!sp->port_short)
				sp->port_credits = 0;
			sp->port_short = true;
			return;
		}
		/* Nothing runs that could free one: the error is the result. */
		if (c->requeue != -ENOMEM)
			c->connect_err = -c->requeue;
		c->requeue = 0;
		sp->running++;
		sp->dests[c->dest].running++;
		c->loop->granted++;
		sp->stats.started++;
	}

	res.addr = c->addr;
	res.timeout_ms = c->timeout_ms;
	res.user = c->user;
	res.local = c->local;
	obs.reply_by_ns = c->start_ns + c->timeout_ms * NSEC_PER_MSEC;
	obs.connect_err = c->connect_err;
	obs.sock_connected = c->sock_connected;
	obs.sock_err = c->sock_err;
	obs.user_rtt_ns = c->writable_ns ? c->writable_ns - c->start_ns : 0;
	if (sp->method->result)
		sp->method->result(c, &obs, &res);
	sp_decide_outcome(&obs, &res);
	if (c->copts.kind) {
		res.kind = c->copts.kind;
		res.connect_close_fin = c->copts.close_fin;
		if (c->kind_err) {
			res.outcome = SYNPROBE_ERROR;
			res.error = c->kind_err;
		} else if (c->kind_running) {
			if (c->copts.kind->result)
				c->copts.kind->result(c->kstate, &res);
		} else if (res.outcome == SYNPROBE_OPEN) {
			/* A SYN-ACK, but the socket never said connected before the deadline. */
			res.outcome = SYNPROBE_TIMEOUT;
			res.detail = "the connection was not established before the deadline";
		}
	}

	check_release(sp, c);
	sp->in_flight--;
	sp->delivered++;
	sp->stats.delivered++;
	sp->opts.on_result(&res, sp->opts.ctx);
	if (c->kstate && c->copts.kind->free)
		c->copts.kind->free(c->kstate);
	slot_free(sp, slot);
}

/* Delivers what the loop threads handed back. */
static void collect_results(struct synprobe *sp)
{
	struct sp_check *c, *next;
	unsigned int i;

	for (i = 1; i < sp->n_loops; i++) {
		if (!atomic_load_explicit(&sp->loops[i].outbox, memory_order_relaxed))
			continue;
		for (c = ll_take(&sp->loops[i].outbox); c; c = next) {
			next = c->ll_next;
			check_complete(sp, c);
		}
	}
}

/* The loop with the fewest checks granted, looked for from a turning start (ties take turns). */
static struct sp_loop *pick_loop(struct synprobe *sp)
{
	unsigned int i, best = sp->next_loop, n = sp->n_loops;

	for (i = 1; i < n; i++) {
		unsigned int j = (sp->next_loop + i) % n;

		if (sp->loops[j].granted < sp->loops[best].granted)
			best = j;
	}
	sp->next_loop = (best + 1) % n;
	return &sp->loops[best];
}

/* Hands the checks granted in this dispatch() to their loops: loop 0 runs its own at once. */
static void grants_flush(struct synprobe *sp)
{
	struct sp_check *c, *rev, *next;
	unsigned int i;

	for (i = 0; i < sp->n_loops; i++) {
		struct sp_loop *l = &sp->loops[i];

		if (!l->grant_head)
			continue;
		c = l->grant_head;
		if (l->threaded) {
			if (ll_push(&l->inbox, c, l->grant_tail))
				eventfd_kick(l->wakefd);
		} else {
			for (rev = NULL; c; c = next) {
				next = c->ll_next;
				c->ll_next = rev;
				rev = c;
			}
			l->grant_head = l->grant_tail = NULL;
			loop_run(l, rev);
			continue;
		}
		l->grant_head = l->grant_tail = NULL;
	}
}

/*
 * Grants queued checks to the loops while the limits and the rate allow. A granted check counts
 * as running from now until its result is delivered (after its socket is closed and its flow
 * forgotten), so that the limits are never exceeded.
 */
static void dispatch(struct synprobe *sp)
{
	struct sp_check *c;
	struct sp_loop *l;
	unsigned int slot;
	__u64 now;

	sp->rate_wake_ns = 0;
	while (sp->pending.head != SLOT_NONE) {
		if (sp->opts.max_in_flight && sp->running >= sp->opts.max_in_flight)
			break;
		slot = sp->pending.head;
		c = check_at(sp, slot);
		if (sp->opts.per_target_max &&
		    sp->dests[c->dest].running >= sp->opts.per_target_max) {
			/* Its destination is busy: it waits there, and the others go on. */
			queue_pop(sp, &sp->pending);
			queue_push(sp, &sp->dests[c->dest].waiting, slot);
			continue;
		}
		if (sp->port_short && !sp->port_credits)
			break;
		now = sp_now_ns();
		if (!sp_token_bucket_take(&sp->rate, now)) {
			sp->rate_wake_ns = now + sp_token_bucket_wait_ns(&sp->rate, now);
			break;
		}
		queue_pop(sp, &sp->pending);
		if (sp->port_short)
			sp->port_credits--;
		if (!sp->dests[c->dest].loop)
			sp->dests[c->dest].loop = pick_loop(sp);
		l = sp->dests[c->dest].loop;
		c->state = CHECK_RUNNING;
		c->loop = l;
		sp->running++;
		sp->dests[c->dest].running++;
		sp->stats.started++;
		l->granted++;
		/* Last first, as the hand-over lists want. */
		c->ll_next = l->grant_head;
		l->grant_head = c;
		if (!l->grant_tail)
			l->grant_tail = c;
	}
	grants_flush(sp);
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
 * A loop thread's own descriptors: its timerfd, epoll and wake-up eventfd. Loop 0 uses the
 * engine's epoll and timerfd, which fires at the earlier of its first deadline and the rate's
 * next token: one timer, as with one loop before threads.
 */
static int loop_init(struct synprobe *sp, unsigned int i)
{
	struct sp_loop *l = &sp->loops[i];
	struct epoll_event ev = { .events = EPOLLIN };

	l->epfd = sp->epfd;
	if (!l->threaded)
		return 0;
	l->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	l->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (l->timerfd < 0 || l->epfd < 0 || l->wakefd < 0)
		return -errno;
	ev.data.u64 = TAG_WAKE;
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->wakefd, &ev))
		return -errno;
	ev.data.u64 = TAG_LOOP_TIMER;
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->timerfd, &ev))
		return -errno;
	return 0;
}

/*
 * Starts loops 1..N-1, each in a thread that takes no signal: they stay the caller's. Threads
 * started already (a failure half-way) are left as they are: synprobe_close() joins them.
 */
static int loops_start(struct synprobe *sp)
{
	sigset_t all, old;
	unsigned int i;
	int err = 0;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (i = 1; i < sp->n_loops && !err; i++) {
		if (sp->loops[i].thread_started)
			continue;
		err = -pthread_create(&sp->loops[i].thread, NULL, loop_thread, &sp->loops[i]);
		sp->loops[i].thread_started = !err;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return err;
}

/* Event loops when opts.threads is 0: one. */
#define THREADS_DEFAULT 1

static struct synprobe *engine_open(const struct synprobe_opts *opts)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct synprobe *sp;
	unsigned int i;
	int err;

	if (!opts || !opts->on_result || (opts->n_ifindexes && !opts->ifindexes) ||
	    opts->threads > SP_MAX_LOOPS || !sp_method_by_id(opts->method)) {
		errno = EINVAL;
		return NULL;
	}
	sp = calloc(1, sizeof(*sp));
	if (!sp) {
		errno = ENOMEM;
		return NULL;
	}
	sp->opts = *opts;
	sp->method = sp_method_by_id(opts->method);
	sp->opts.ifindexes = NULL; /* the caller's array is not kept */
	sp->opts.wait_sigmask = NULL;
	sp->opts.pin_dir = NULL;
	sp->opts.load_error = NULL;
	if (opts->wait_sigmask) {
		sp->wait_sigmask = *opts->wait_sigmask;
		sp->have_sigmask = true;
	}
	sp->epfd = sp->timerfd = sp->resultfd = sp->pin_lock_fd = -1;
	sp->free_head = SLOT_NONE;
	queue_init(&sp->pending);
	queue_init(&sp->port_wait);
	sp_token_bucket_init(&sp->rate, opts->rate_per_sec, opts->rate_per_sec / 100 + 1, sp_now_ns());

	sp->epfd = epoll_create1(EPOLL_CLOEXEC);
	sp->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	sp->resultfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (sp->epfd < 0 || sp->timerfd < 0 || sp->resultfd < 0) {
		err = -errno;
		goto cleanup;
	}
	ev.data.u64 = TAG_TIMER;
	if (epoll_ctl(sp->epfd, EPOLL_CTL_ADD, sp->timerfd, &ev)) {
		err = -errno;
		goto cleanup;
	}
	ev.data.u64 = TAG_RESULTS;
	if (epoll_ctl(sp->epfd, EPOLL_CTL_ADD, sp->resultfd, &ev)) {
		err = -errno;
		goto cleanup;
	}
	sp->n_loops = opts->threads ? opts->threads : THREADS_DEFAULT;
	sp->loops = calloc(sp->n_loops, sizeof(*sp->loops));
	if (!sp->loops) {
		err = -ENOMEM;
		goto cleanup;
	}
	for (i = 0; i < sp->n_loops; i++) {
		sp->loops[i].sp = sp;
		sp->loops[i].index = i;
		sp->loops[i].threaded = i > 0;
		sp->loops[i].epfd = sp->loops[i].timerfd = sp->loops[i].wakefd = -1;
		sp->loops[i].ring_fd = -1;
	}
	for (i = 0; i < sp->n_loops; i++) {
		err = loop_init(sp, i);
		if (err)
			goto cleanup;
	}
	if (sp->method->open) {
		err = sp->method->open(sp, opts);
		if (err)
			goto cleanup;
	}
	if (!sp->method->attach)
		goto start;

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
start:
	return sp;

cleanup:
	synprobe_close(sp);
	errno = -err;
	return NULL;
}

/* The caller's opts and load error, checked and sized as the ABI note of libsynprobe.h says. */
struct synprobe *synprobe_open(const struct synprobe_opts *opts)
{
	struct synprobe_load_error le = {}, *user_le;
	struct synprobe_opts o;
	struct synprobe *sp;
	int err;

	if (!opts) {
		errno = EINVAL;
		return NULL;
	}
	err = sp_opts_copy(&o, opts);
	if (!err && o.load_error)
		err = sp_load_error_valid(o.load_error);
	if (err) {
		errno = -err;
		return NULL;
	}
	user_le = o.load_error;
	if (user_le)
		o.load_error = &le;
	sp = engine_open(&o);
	if (user_le) {
		err = errno;
		sp_load_error_out(user_le, &le);
		errno = err;
	}
	return sp;
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
	if (!sp->method->attach || !sp->nl)
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
	struct synprobe_check_opts co;
	struct sp_dest *d;
	struct sp_check *c;
	unsigned int slot;
	int err, oif;

	if (!sp || !timeout_ms)
		return -EINVAL;
	if (copts) {
		err = sp_check_opts_copy(&co, copts); /* sz as libsynprobe.h's ABI note says */
		if (err)
			return err;
		copts = &co;
	}
	err = sockaddr_check(addr, addrlen);
	if (err)
		return err;
	if (!sp->loops_started) {
		/*
		 * The loop threads start with the first check, not at synprobe_open(): they get the
		 * capabilities the caller has by then (serve drops its own after opening).
		 */
		err = loops_start(sp);
		if (err)
			return err;
		sp->loops_started = true;
	}

	err = slot_alloc(sp, &slot);
	if (err)
		return err;
	c = check_at(sp, slot);
	c->slot = slot;
	c->addrlen = addr->sa_family == AF_INET ? sizeof(struct sockaddr_in) :
						  sizeof(struct sockaddr_in6);
	memcpy(&c->addr, addr, c->addrlen);
	unmap_v4(&c->addr, &c->addrlen);
	c->user = user;
	c->timeout_ms = timeout_ms;
	c->copts.mark = copts ? copts->mark : sp->opts.mark;
	c->copts.bind_ifindex = copts ? copts->bind_ifindex : sp->opts.bind_ifindex;
	if (copts && copts->kind) {
		if (!copts->kind->start) {
			err = -EINVAL;
			goto cleanup;
		}
		c->copts.kind = copts->kind;
		c->copts.kind_arg = copts->kind_arg;
		c->copts.close_fin = copts->close_fin;
	}
	/* Free until it has a destination: a rehash in dest_get() looks at the others only. */
	err = dest_get(sp, &c->addr, &c->dest);
	if (err)
		goto cleanup;
	c->state = CHECK_QUEUED;

	d = &sp->dests[c->dest];
	if (d->routed && (d->routed_for.mark != c->copts.mark ||
			  d->routed_for.bind_ifindex != c->copts.bind_ifindex))
		d->routed = false; /* another mark or interface may leave by another route */
	if (sp->method->attach && sp->nl && !d->routed) {
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
	/*
	 * Granted by the next synprobe_poll() (or at the end of the current one, from on_result):
	 * the checks started meanwhile go to their loops in one batch, their sp_socks records in
	 * one update.
	 */
	return 0;

cleanup:
	slot_free(sp, slot);
	return err;
}

/*
 * What the loop threads handed back, loop 0's round (results delivered: on_result may start
 * checks, which only queue meanwhile), then the grants, in one batch, and what loop 0 gave back
 * at once (checks that found no local port).
 */
static void poll_round(struct synprobe *sp)
{
	collect_results(sp);
	loop_round(&sp->loops[0]);
	dispatch(sp);
	loop_hand_back(&sp->loops[0]);
}

/* The engine's timerfd fires at loop 0's first deadline, or when the rate allows the next SYN. */
static int timers_rearm(struct synprobe *sp)
{
	__u64 next = 0;
	unsigned int lslot;

	sp_timer_heap_peek(&sp->loops[0].timers, &lslot, &next);
	if (sp->rate_wake_ns && (!next || sp->rate_wake_ns < next))
		next = sp->rate_wake_ns;
	return timerfd_arm(sp->timerfd, &sp->armed_ns, next);
}

static int poll_wait(struct synprobe *sp, int timeout_ms)
{
	struct epoll_event events[64];
	__u64 ticks;
	int i, n, err;

	err = timers_rearm(sp);
	if (err)
		return err;
	n = epoll_pwait(sp->epfd, events, 64, timeout_ms,
			sp->have_sigmask ? &sp->wait_sigmask : NULL);
	if (n < 0)
		return -errno;
	for (i = 0; i < n; i++) {
		if (events[i].data.u64 == TAG_TIMER)
			(void)!read(sp->timerfd, &ticks, sizeof(ticks));
		else if (events[i].data.u64 == TAG_RESULTS)
			(void)!read(sp->resultfd, &ticks, sizeof(ticks));
		else if (events[i].data.u64 == TAG_ROUTES)
			routes_changed(sp);
		else if (events[i].data.u64 & SOCKET_EVENT)
			socket_event(&sp->loops[0], events[i].data.u64, events[i].events);
	}
	return 0;
}

int synprobe_poll(struct synprobe *sp, int timeout_ms)
{
	int err = 0;

	sp->delivered = 0;
	poll_round(sp);
	if (!sp->delivered) {
		err = poll_wait(sp, timeout_ms);
		if (!err)
			poll_round(sp);
	}
	if (err)
		return err;
	/* Checks started by the last results: their SYNs leave now, not at the next call. */
	if (sp->pending.head != SLOT_NONE)
		dispatch(sp);
	err = timers_rearm(sp);
	if (err)
		return err;
	return sp->delivered;
}

unsigned int synprobe_in_flight(const struct synprobe *sp)
{
	return sp->in_flight;
}

static void engine_stats(const struct synprobe *sp, struct synprobe_engine_stats *stats)
{
	unsigned int i;

	*stats = sp->stats;
	for (i = 0; i < sp->n_loops; i++)
		stats->untracked += atomic_load_explicit(&sp->loops[i].untracked,
							 memory_order_relaxed);
	stats->running = sp->running;
	stats->queued = sp->in_flight - sp->running;
	stats->destinations = sp->dest_used;
	stats->threads = sp->n_loops;
}

static int read_stats(struct synprobe *sp, struct sp_stats *stats)
{
	int ncpus = libbpf_num_possible_cpus();
	struct sp_stats *percpu;
	__u32 zero = 0;
	size_t f, nfields = sizeof(*stats) / sizeof(__u64);
	int cpu, err = 0;

	if (!sp->skel)
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

/* The two stats calls fill the caller's struct within its size (libsynprobe.h's ABI note). */
void synprobe_engine_stats(const struct synprobe *sp, struct synprobe_engine_stats *stats,
			   size_t stats_sz)
{
	struct synprobe_engine_stats st;

	engine_stats(sp, &st);
	sp_copy_out(stats, stats_sz, &st, sizeof(st));
}

int synprobe_read_stats(struct synprobe *sp, struct sp_stats *stats, size_t stats_sz)
{
	struct sp_stats st = {};
	int err;

	err = read_stats(sp, &st);
	sp_copy_out(stats, stats_sz, &st, sizeof(st));
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

	if (!sp->skel)
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
	unsigned int i, j;
	struct bpf_map *map;
	size_t k;

	if (!sp)
		return;
	/* The threads first: then every loop's checks are ours to end. */
	for (i = 1; sp->loops && i < sp->n_loops; i++) {
		struct sp_loop *l = &sp->loops[i];

		if (!l->thread_started)
			continue;
		atomic_store_explicit(&l->stop, true, memory_order_release);
		eventfd_kick(l->wakefd);
		pthread_join(l->thread, NULL);
	}
	for (i = 0; sp->loops && i < sp->n_loops; i++) {
		struct sp_loop *l = &sp->loops[i];

		for (j = 0; j < l->n_slots; j++)
			if (l->slots[j])
				check_unrun(l, l->slots[j]);
		if (sp->method->loop_close)
			sp->method->loop_close(l);
		free(l->slots);
		free(l->free_slots);
		sp_timer_heap_free(&l->timers);
		if (l->timerfd >= 0)
			close(l->timerfd);
		if (l->wakefd >= 0)
			close(l->wakefd);
		if (l->threaded && l->epfd >= 0)
			close(l->epfd);
	}
	free(sp->loops);
	for (k = 0; k < sp->n_attached; k++)
		sp_detach(&sp->attached[k]);
	free(sp->attached);
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
	if (sp->resultfd >= 0)
		close(sp->resultfd);
	if (sp->epfd >= 0)
		close(sp->epfd);
	/* Kind states of checks ended but not delivered (in a hand-back list). */
	for (i = 0; i < sp->n_checks; i++) {
		struct sp_check *c = check_at(sp, i);

		if (c->state != CHECK_FREE && c->kstate && c->copts.kind->free)
			c->copts.kind->free(c->kstate);
	}
	for (i = 0; i < sp->n_checks >> CHUNK_SHIFT; i++)
		free(sp->chunks[i]);
	free(sp->chunks);
	free(sp->dests);
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
	case SYNPROBE_MISMATCH:
		return "mismatch";
	case SYNPROBE_TLS_ERROR:
		return "tls_error";
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
