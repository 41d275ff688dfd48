/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * engine.h - the engine's own structs (a check, an event loop, the engine), private to the
 * library: engine.c (the scheduler and the loops) and the check kinds' files (kind_halfopen.c,
 * kind_connect.c, through the rows of kind.h) share them. Nothing here is public ABI.
 */
#ifndef __SP_ENGINE_H
#define __SP_ENGINE_H

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <time.h>
#include <sys/socket.h>
#include "libsynprobe.h"
#include "timer_heap.h"
#include "token_bucket.h"

struct sp_method;
struct sp_dest;
struct sp_attachment;
struct synprobe_bpf;
struct mnl_socket;
struct ring_buffer;

#define NSEC_PER_MSEC 1000000ULL
#define NSEC_PER_SEC 1000000000ULL
#define SLOT_NONE ((unsigned int)-1)
/* Check slots come in chunks that never move: a loop holds pointers to the checks it runs. */
#define CHUNK_SHIFT 10
#define CHUNK_SLOTS (1U << CHUNK_SHIFT)
/* Sockets a loop sets up before one batched sp_socks update and their connect()s. */
#define RUN_BATCH 64

/*
 * epoll_event.data.u64: a tag, or for a socket (method connect, or untracked)
 * SOCKET_EVENT | gen << 32 | loop slot.
 */
enum epoll_tag {
	TAG_RINGBUF = 1,  /* loop 0's ring buffer (in a loop thread: its own) */
	TAG_TIMER = 2,	  /* the engine's timerfd: loop 0's deadline, or the rate's next SYN */
	TAG_ROUTES = 3,	  /* the rtnetlink monitor: a route or a link changed */
	TAG_LOOP_TIMER = 4, /* a loop thread's timerfd: a deadline */
	TAG_RESULTS = 5,  /* the scheduler's eventfd: a loop thread has results */
	TAG_WAKE = 6,	  /* a loop thread's eventfd: checks granted, or stop */
};
#define SOCKET_EVENT (1ULL << 63)

/* A FIFO of slots linked through sp_check.next. */
struct sp_queue {
	unsigned int head;
	unsigned int tail;
	unsigned int len;
};

/* Where a check is in its life, as the scheduler sees it. */
enum check_state {
	CHECK_FREE,    /* the slot is on the free list */
	CHECK_QUEUED,  /* waiting for a limit, the rate or a local port: no socket yet */
	CHECK_RUNNING, /* granted to a loop: counts against the limits until it is delivered */
};

struct sp_loop;

/*
 * One check. The scheduler's fields are only touched in the caller's thread; while the check is
 * granted, the loop's fields belong to the loop, and the hand-over lists order the two.
 */
struct sp_check {
	/* the scheduler's */
	enum check_state state;
	unsigned int slot;    /* its own number */
	unsigned int next;    /* next slot in the free list or in a queue */
	unsigned int dest;    /* index in the destination table */
	__u32 timeout_ms;
	int route_err;	      /* method bpf: no route to attach by (ENETUNREACH...): no connect() */
	struct sockaddr_storage addr;
	socklen_t addrlen;
	void *user;
	struct synprobe_check_opts copts; /* where it leaves from: mark, bound interface */
	struct sp_loop *loop; /* the loop it is granted to */
	/* hand-over: the link in a loop's list of granted or of finished checks */
	struct sp_check *ll_next;
	int requeue;	      /* from the loop: -EADDRNOTAVAIL, -EMFILE: it never ran; else 0 */
	/* the loop's */
	unsigned int lslot;   /* slot in the loop's table: check_id for the BPF side */
	int fd;
	__u64 cookie;	      /* half-open: the socket's cookie, its sp_socks key */
	__u64 start_ns;	      /* CLOCK_MONOTONIC, just before connect() */
	int connect_err;      /* errno of a socket()/connect() that failed at once, else 0 */
	bool registered;      /* half-open: the cookie is in sp_socks */
	bool polled;	      /* the socket is in its loop's epoll (method connect, untracked) */
	bool replied;	      /* half-open: an event came; close() waits for close_delay_ms */
	bool have_event;      /* half-open: rec is the ring-buffer record */
	bool have_rec;	      /* rec holds the BPF side's record (event or map) */
	bool sock_connected;  /* what the socket said at the end, without a BPF reply */
	int sock_err;
	__u32 gen;	      /* tells a stale epoll event from this slot's current check */
	__u64 writable_ns;    /* when epoll said the socket is writable */
	/* a completing kind (copts.kind): its state once the handshake is done */
	void *kstate;
	bool kind_running;    /* start() was called: the kind owns the socket's epoll events */
	bool kind_done;	      /* it said DONE, failed, or its deadline passed */
	int kind_err;	      /* a negative errno from start()/on_event(), as positive, else 0 */
	struct sockaddr_storage local;
	struct sp_flow rec;
};

/* One event loop: loop 0 in the caller's thread, the others each in a thread of their own. */
struct sp_loop {
	struct synprobe *sp;
	unsigned int index;
	bool threaded;
	bool thread_started;
	pthread_t thread;
	int epfd;   /* loop 0: the engine's */
	int timerfd; /* loop 0: -1 (the engine's timerfd serves it) */
	int wakefd; /* threads: an eventfd the scheduler writes */
	int ring_fd;		/* half-open: this loop's ring buffer (sp_events[index]), or -1 */
	struct ring_buffer *rb; /* half-open: its reader, or NULL */
	__u64 armed_ns;
	__u32 gen;
	/* checks running here, by loop slot; the deadlines of the same slots */
	struct sp_check **slots;
	unsigned int *free_slots;
	unsigned int n_slots, n_free, running;
	struct sp_timer_heap timers;
	/* half-open: sp_socks keys of replied checks, deleted in one batch before the hand-back */
	__u64 *done_cookies;
	unsigned int n_done, done_cap;
	/* half-open: replied checks of this round, in order; SYN-ACK ones close once writable */
	struct sp_check **synack;
	struct pollfd *synack_pfds;
	unsigned int n_synack, n_synack_fds, synack_cap;
	/* finished checks, last first, until the next hand-back */
	struct sp_check *finished;
	/* hand-over lists, last first: granted checks in, finished ones out */
	_Atomic(struct sp_check *) inbox;
	_Atomic(struct sp_check *) outbox;
	atomic_bool stop;
	atomic_ullong untracked; /* checks the BPF map had no room for */
	/* the scheduler's: checks granted here and not yet delivered */
	unsigned int granted;
	struct sp_check *grant_head, *grant_tail; /* granted in this dispatch(), first first */
};

struct synprobe {
	struct synprobe_opts opts;
	const struct sp_method *method; /* the TCP phase's row (kind.c): half-open or connect */
	struct synprobe_bpf *skel;
	struct mnl_socket *nl;
	unsigned int nl_seq;
	struct mnl_socket *nl_mon; /* RTMGRP_LINK and route groups: routes and links followed */
	int epfd;
	int timerfd;   /* loop 0's deadlines and the rate's wake-up */
	int resultfd;  /* eventfd: loop threads have results */
	int socks_fd;
	int flows_fd;
	__u64 armed_ns; /* what the timerfd is set to, 0 when disarmed */

	struct sp_loop *loops;
	unsigned int n_loops;
	unsigned int next_loop; /* where the search for the least busy loop starts */
	bool loops_started;	/* the loop threads run (from the first synprobe_start()) */

	struct sp_check **chunks;
	unsigned int n_checks; /* slots allocated */
	unsigned int free_head;
	unsigned int in_flight; /* queued + running */
	unsigned int running;
	struct sp_queue pending;     /* queued checks, first in first out */
	struct sp_queue port_wait;   /* checks that met EADDRNOTAVAIL or EMFILE: retried when one ends */
	bool port_short;	     /* port_wait not through: a grant for each check that ends */
	unsigned int port_credits;   /* grants allowed meanwhile */
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
};

/* CLOCK_MONOTONIC now, in ns: the clock of every deadline and of the BPF side's stamps. */
static inline __u64 sp_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
}

/*
 * The engine's calls for the kinds (engine.c). Each runs in @l's thread, on a check @c of @l.
 *
 * sp_loop_finish - @c ends now: the method reads what it needs from the socket (sp_method.end),
 * the socket is closed (RST, or FIN), the method forgets it (sp_method.forget), and it goes on
 * @l's list of finished checks, for the scheduler to decide and deliver. @c's socket and loop
 * slot are gone after it.
 */
void sp_loop_finish(struct sp_loop *l, struct sp_check *c);

/*
 * sp_loop_poll_socket - @l's epoll tells when @c's socket turns writable (the handshake ended,
 * connected or failed): the method's on_socket is then called. Returns 0 or a positive errno
 * (epoll_ctl()).
 */
int sp_loop_poll_socket(struct sp_loop *l, struct sp_check *c);

/*
 * sp_loop_connected - @c's socket turned writable after its handshake: with a completing kind
 * (copts.kind), the kind takes the connected socket (its start()), or the check ends with the
 * socket's SO_ERROR if it failed; without one, the check ends (sp_loop_finish()).
 */
void sp_loop_connected(struct sp_loop *l, struct sp_check *c);

/*
 * sp_check_read_socket - what @c's own socket says, when nothing else does: SO_ERROR into
 * c->sock_err, c->sock_connected (a peer name), and our side of the 4-tuple into c->local.
 * Two or three getsockopt()-class syscalls; errors leave the fields as they were.
 */
void sp_check_read_socket(struct sp_check *c);

#endif /* __SP_ENGINE_H */
