/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * libsynprobe.h - the synprobe engine: half-open TCP checks observed by tc BPF programs.
 *
 * A check opens a non-blocking socket (TCP_QUICKACK 0, SO_LINGER {1, 0}), registers its socket
 * cookie with the BPF side, and connect()s. The tc egress program learns the SYN (4-tuple, ISN,
 * time) and drops the handshake-completing ACK; the tc ingress program reports the first SYN-ACK
 * or RST that acknowledges ISN + 1 through a ring buffer. The engine then closes the socket, and
 * SO_LINGER {1, 0} makes the kernel send RST: the wire shows SYN, SYN-ACK, RST and the target's
 * accept() never returns.
 *
 * Use: synprobe_open(), synprobe_start() for each target, synprobe_poll() until
 * synprobe_in_flight() is 0 (each finished check is given to opts.on_result), synprobe_close().
 * Errors follow libbpf: functions returning int give a negative errno; functions returning a
 * pointer give NULL and set errno.
 *
 * Threads: an engine is used from one thread at a time. The functions that take a
 * struct synprobe * are not thread-safe and take no lock: call them from one thread (the
 * caller's), or lock around them yourself. Separate engines are independent.
 * synprobe_outcome_str(), synprobe_evidence_str(), synprobe_attach_mode_str() and
 * synprobe_initial_ttl() are thread-safe; synprobe_icmp_name() is not for unknown codes (a
 * static buffer). With opts.threads > 1 the engine runs event loops 1..N-1 in threads of its
 * own (started by the first synprobe_start(), with every signal blocked; joined by
 * synprobe_close()); on_result is still called only from synprobe_poll(), in the caller's
 * thread, so a caller written for one loop needs no lock for more.
 *
 * ABI: the structs only ever grow at their end; no field is removed, moved or changed in meaning.
 * - Structs the caller fills (struct synprobe_opts, synprobe_check_opts, synprobe_kind) start
 *   with size_t sz, which the caller sets to sizeof the struct as its header knows it:
 *	struct synprobe_opts opts = { .sz = sizeof(opts), .on_result = on_result };
 *   As libbpf does for its opts structs (OPTS_VALID() in libbpf's libbpf_internal.h): a smaller
 *   sz (a caller built against an older header) is accepted and the fields beyond it read as 0;
 *   a larger sz (a newer header) is accepted when its bytes beyond the fields this library knows
 *   are all zero; sz below sizeof(size_t) (0: forgotten), or non-zero bytes the library does not
 *   know, give -EINVAL (errno EINVAL from synprobe_open()). These structs have no padding at
 *   their end (a field named reserved fills it, and must be 0): an initializer as above zeroes
 *   every byte the check looks at, also when the struct is then copied or passed by value.
 * - struct synprobe_load_error, which the caller allocates and the library fills, also starts
 *   with sz, set by the caller: the library writes no byte beyond it.
 * - Structs the library fills and hands out (struct synprobe_result, given to on_result; the
 *   stats) may gain fields at their end in a later version: never allocate one by value for the
 *   library to fill unless the call takes its size (synprobe_engine_stats() and
 *   synprobe_read_stats() do); reading the fields of a result you were given is always safe.
 */
#ifndef __LIBSYNPROBE_H
#define __LIBSYNPROBE_H

#include <signal.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <linux/types.h>
#include "synprobe.h"

struct synprobe;

enum synprobe_outcome {
	SYNPROBE_OPEN,	  /* a SYN-ACK acknowledging our ISN arrived */
	SYNPROBE_CLOSED,  /* a RST acknowledging our ISN arrived */
	SYNPROBE_TIMEOUT, /* nothing believable within the timeout */
	SYNPROBE_ERROR,	  /* a local error; synprobe_result.error says which */
	SYNPROBE_UNREACHABLE, /* an ICMP/ICMPv6 error quoting our SYN: flow->icmp_type/code, reply_from */
	SYNPROBE_MISMATCH,    /* a completing kind: connected, but a reply did not match (detail) */
	SYNPROBE_TLS_ERROR,   /* a completing kind: the TLS handshake or verification failed (detail) */
};
#define SYNPROBE_OUTCOMES (SYNPROBE_TLS_ERROR + 1)

/* Where the outcome comes from. */
enum synprobe_evidence {
	SYNPROBE_EVIDENCE_NONE,	  /* timeout, or an error before any packet */
	SYNPROBE_EVIDENCE_BPF,	  /* the reply as seen by the tc ingress program: kernel RTT */
	SYNPROBE_EVIDENCE_SOCKET, /* the socket's own state (SO_ERROR): no kernel RTT */
};

/* How checks are made. */
enum synprobe_method {
	SYNPROBE_METHOD_BPF,	 /* half-open, observed by the tc programs: kernel RTT (root) */
	SYNPROBE_METHOD_CONNECT, /* full connect() and close(), timed in user space: no privileges */
};

/*
 * The result of one check, given to synprobe_opts.on_result. Valid during the callback only.
 * Allocated by the library; fields are only appended (see ABI above).
 */
struct synprobe_result {
	struct sockaddr_storage addr;  /* the target, as given to synprobe_start() */
	struct sockaddr_storage local; /* our side of the 4-tuple (family 0 if none was learned) */
	enum synprobe_outcome outcome;
	enum synprobe_evidence evidence;
	bool has_rtt;	      /* rtt_ns is meaningful */
	bool rtt_user_space;  /* rtt_ns was timed in user space (method connect) */
	__u64 rtt_ns;	      /* bpf: reply at tc ingress minus first SYN at tc egress, ns;
			       * connect: connect() to the socket turning writable, ns */
	__u64 syn_ts_ns;      /* first SYN at tc egress, CLOCK_MONOTONIC ns (0 if not seen) */
	__u64 reply_ts_ns;    /* reply at tc ingress, CLOCK_MONOTONIC ns (0 if none) */
	__u32 syn_retransmits; /* SYNs sent after the first */
	__u32 timeout_ms;     /* the timeout the check ran with */
	int error;	      /* positive errno for SYNPROBE_ERROR, else 0 */
	const struct sp_flow *flow; /* the BPF side's record (NULL if none): reply TTL, window, ... */
	void *user;		    /* as passed to synprobe_start() */
	/* A completing kind (synprobe_check_opts.kind): NULL for a plain half-open or connect check */
	const struct synprobe_kind *kind;
	const void *kind_result; /* what the kind's result() gave: its own struct, or NULL */
	const char *detail;	 /* MISMATCH, TLS_ERROR, or a kind's ERROR: why, one line */
	bool connect_close_fin;	 /* the socket was closed with FIN (else RST, SO_LINGER {1, 0}) */
};

typedef void (*synprobe_result_fn)(const struct synprobe_result *res, void *ctx);

/* Why synprobe_open() could not set up the BPF side (struct synprobe_load_error.failure). */
enum synprobe_load_failure {
	SYNPROBE_LOAD_OK = 0,
	SYNPROBE_LOAD_NO_PRIVILEGE,   /* EPERM: not root, nor CAP_BPF + CAP_NET_ADMIN + CAP_PERFMON */
	SYNPROBE_LOAD_KERNEL_TOO_OLD, /* the kernel lacks a feature of synprobe's floor: what */
	SYNPROBE_LOAD_VERIFIER,	      /* the verifier rejected the program named in what */
	SYNPROBE_LOAD_OTHER,	      /* anything else (errno in error) */
};

/*
 * What went wrong loading the BPF programs, filled by synprobe_open() when it fails and
 * opts.load_error points here. log is the verifier's whole log (VERIFIER only), malloc()ed:
 * the caller frees it. Without BPF the rest of synprobe still works (method connect).
 * The caller allocates it and sets sz (sizeof, as for the opts structs): synprobe_open() fills
 * the fields that fit in sz (a log that does not fit is freed), zeroes the rest of sz, and fails
 * with EINVAL for an sz below sizeof(size_t).
 */
struct synprobe_load_error {
	size_t sz; /* set by the caller: sizeof(struct synprobe_load_error) */
	enum synprobe_load_failure failure;
	int error;	     /* positive errno */
	char what[96];	     /* TOO_OLD: the missing feature and its kernel ("BPF ring buffer
			      * (5.8)"); VERIFIER: the program's name */
	char log_tail[1024]; /* VERIFIER: the verifier log's last lines */
	char *log;	     /* VERIFIER: the whole log, or NULL */
};

/*
 * Options for synprobe_open(). Zero means the default for every field but sz.
 *	struct synprobe_opts opts = { .sz = sizeof(opts), .on_result = on_result };
 * Fields are only appended (see ABI above).
 */
struct synprobe_opts {
	size_t sz; /* sizeof(struct synprobe_opts), set by the caller */
	/*
	 * SYNPROBE_METHOD_BPF (0) loads the BPF programs; SYNPROBE_METHOD_CONNECT loads nothing and
	 * completes each handshake (the target's accept() returns), timing it in user space.
	 */
	enum synprobe_method method;
	/*
	 * Interfaces to attach to, by index. NULL: each check attaches to the interface its route
	 * leaves by (the route lookup that `ip route get` does), once per interface.
	 */
	const int *ifindexes;
	size_t n_ifindexes;
	__u32 max_flows;	 /* checks tracked in flight (BPF map size); default max_in_flight,
				  * or 65536 without one (and at most 65536) */
	synprobe_result_fn on_result; /* called once per finished check; required */
	void *ctx;		      /* passed to on_result */
	/*
	 * Test hook: keep a socket open this long after its reply before closing it, to show that
	 * a slow user side does not complete the handshake (the tc egress program drops the ACK).
	 */
	__u32 close_delay_ms;
	bool force_clsact; /* attach through a clsact qdisc even where TCX links exist */
	/*
	 * The signal mask while synprobe_poll() waits (epoll_pwait()), NULL for the thread's own.
	 * A caller that blocks SIGINT/SIGTERM and passes its old mask here cannot lose a signal
	 * that arrives between its flag test and the wait. Copied.
	 */
	const sigset_t *wait_sigmask;
	/*
	 * Pin the maps (sp_socks, sp_flows, sp_events, sp_stats) in this bpffs directory, e.g.
	 * /sys/fs/bpf/synprobe, for `bpftool map dump pinned DIR/sp_flows`; NULL: no pins. Stale
	 * pins left by a crashed run are replaced; synprobe_close() removes them. The directory is
	 * held (flock) while the engine runs: another engine on it fails with EBUSY. Copied.
	 */
	const char *pin_dir;
	/*
	 * Scheduling. Checks started beyond a limit wait in a queue, first in first out, and their
	 * timeout runs from the moment their SYN is sent.
	 */
	__u32 max_in_flight;  /* sockets open at once; 0: no limit */
	__u32 per_target_max; /* sockets open at once to one address and port; 0: no limit */
	__u32 rate_per_sec;   /* new SYNs a second (token bucket, burst rate/100 + 1); 0: no limit */
	/* Bind every check to this source address (port 0); family 0: the kernel chooses. Copied. */
	struct sockaddr_storage source;
	/* Filled when synprobe_open() fails to set up the BPF side; NULL: not wanted. */
	struct synprobe_load_error *load_error;
	/*
	 * Where every check leaves from (synprobe_start_ex() sets them per check instead).
	 * mark: SO_MARK of each socket (0: none), which policy routing (`ip rule fwmark`) and tc
	 * programs see; setting it needs CAP_NET_ADMIN (or CAP_NET_RAW, kernel 5.17 on), else the
	 * check ends with EPERM. bind_ifindex: SO_BINDTOIFINDEX (SO_BINDTODEVICE by index) to this
	 * interface (0: none); a VRF device puts the check in that VRF. The interface the programs
	 * attach to comes from the route lookup the kernel makes for such a socket (RTA_MARK and
	 * RTA_OIF, as `ip route get ADDR mark N oif IF`): in a VRF, the VRF's table gives the
	 * slave device the SYN leaves by, which is where the tc programs see it.
	 */
	__u32 mark;
	int bind_ifindex;
	/*
	 * Event loops, each with its own sockets and BPF ring buffer, 1 to SP_MAX_LOOPS (64); 0: one.
	 * Loop 0 runs in the caller's thread, inside synprobe_poll(); the others in threads of
	 * their own, started by the first synprobe_start() and joined by synprobe_close(). The
	 * limits above stay global and exact whatever the number (the caller's thread grants every
	 * check).
	 */
	unsigned int threads;
	__u32 reserved; /* 0 (ABI above: no tail padding) */
	/* New fields go here, at the end; then update sp_opts_copy() (user/opts.c). */
};

/*
 * A check kind. Every check makes its TCP handshake by its method (synprobe_opts.method), a row
 * of the engine's one table of TCP phases (user/kind.c; one file per row: kind_halfopen.c for
 * SYNPROBE_METHOD_BPF, kind_connect.c for SYNPROBE_METHOD_CONNECT), run by the same event loops,
 * threads and limits. With kind NULL that is the whole check. A kind given here is a
 * "completing" one, composed with either row: its check runs as the row's up to the TCP
 * handshake (timed by the tc programs with method bpf: its egress program lets this check's ACK
 * out, SP_FLOW_F_COMPLETE), then the kind takes the connected socket on the same event loop (its
 * epoll, its deadline, its limits) until it says it is done or the deadline passes; the engine
 * then closes the socket (RST, or FIN with close_fin).
 * The callbacks run in the check's loop thread (result() and free() in the caller's, from
 * synprobe_poll()); a kind's arg is read-only there and may be shared by many checks.
 * Adding a kind is one file with one of these (user/kind_l7.c is the TLS and send/expect one);
 * the synprobe CLI and serve show and configure it through a row of their own table
 * (user/check_kind.h, not part of the library); README "How it works" has the steps.
 * sz is set to sizeof(struct synprobe_kind) as for the opts structs: a kind defines all the
 * callbacks below it knows of (at least these, the first version's); callbacks appended later
 * are called only when the kind's sz covers them. synprobe_start_ex() gives -EINVAL for an sz
 * below this first version's or with non-zero bytes beyond the fields the library knows.
 */
enum synprobe_kind_wait {
	SYNPROBE_KIND_DONE = 0,	 /* finished: the engine closes the socket and delivers */
	SYNPROBE_KIND_READ = 1,	 /* call on_event when the socket is readable */
	SYNPROBE_KIND_WRITE = 2, /* ... writable (both may be set) */
};

struct synprobe_kind {
	size_t sz; /* sizeof(struct synprobe_kind), set by the kind's author */
	const char *name;
	/*
	 * start - the handshake is done: @fd is connected and non-blocking (@target its peer),
	 * @connected_ns (CLOCK_MONOTONIC) when the loop learnt it, @start_ns when connect() was
	 * called. Sets *@state (the kind's, per check; NULL allowed) and returns what to wait for
	 * (enum synprobe_kind_wait), or a negative errno (the check ends as SYNPROBE_ERROR).
	 */
	int (*start)(const void *arg, int fd, const struct sockaddr *target, __u64 start_ns,
		     __u64 connected_ns, void **state);
	/* on_event - the socket is ready (@epoll_events: EPOLLIN, EPOLLOUT...): as start. */
	int (*on_event)(void *state, unsigned int epoll_events);
	/* on_deadline - the check's time is up, before the engine closes the socket. */
	void (*on_deadline)(void *state);
	/*
	 * result - fill the kind's part of @res (outcome is the TCP one: the kind may turn OPEN into
	 * MISMATCH, TLS_ERROR, TIMEOUT or ERROR; kind_result, detail). What it points to lives
	 * until free().
	 */
	void (*result)(void *state, struct synprobe_result *res);
	void (*free)(void *state); /* after on_result returned, or when the engine closes */
	/* New callbacks go here, at the end, called only when sz covers them (user/opts.c). */
};

/*
 * Per-check options of synprobe_start_ex(). Zero means none for every field but sz.
 *	struct synprobe_check_opts copts = { .sz = sizeof(copts), .mark = 42 };
 * Fields are only appended (see ABI above).
 */
struct synprobe_check_opts {
	size_t sz; /* sizeof(struct synprobe_check_opts), set by the caller */
	__u32 mark;	  /* SO_MARK, as synprobe_opts.mark */
	int bind_ifindex; /* SO_BINDTOIFINDEX, as synprobe_opts.bind_ifindex */
	const struct synprobe_kind *kind; /* NULL: half-open (bpf) or connect, per opts.method */
	const void *kind_arg;		  /* the kind's options; the caller's, kept until delivered */
	bool close_fin; /* a completing kind: close with FIN (the default is RST, SO_LINGER {1,0},
			 * which leaves no TIME_WAIT behind) */
	__u8 reserved[7]; /* 0 (ABI above: no tail padding) */
	/* New fields go here, at the end; then update sp_check_opts_copy() (user/opts.c). */
};

/*
 * What the engine itself counts (the BPF programs count in struct sp_stats), filled by
 * synprobe_engine_stats(). Fields are only appended (see ABI above).
 */
struct synprobe_engine_stats {
	__u64 started;	      /* checks whose SYN was sent (connect() called) */
	__u64 delivered;      /* results given to on_result */
	__u64 port_waits;     /* times a check waited for a local port (EADDRNOTAVAIL) */
	__u64 fd_waits;	      /* times a check waited for a file descriptor (EMFILE, ENFILE) */
	__u64 untracked;      /* checks the BPF map had no room for: answered from the socket */
	__u32 queued;	      /* checks waiting now (limits, rate, ports) */
	__u32 running;	      /* checks with an open socket now */
	__u32 destinations;   /* addresses and ports in the per-target table now (idle ones are
			       * dropped as it fills: it follows what is in flight) */
	__u32 threads;	      /* event loops (opts.threads) */
};

/* How the programs are attached to one interface. */
enum synprobe_attach_mode {
	SYNPROBE_ATTACH_TCX,	/* bpf_link (kernel >= 6.6): gone when the process exits */
	SYNPROBE_ATTACH_CLSACT, /* tc filter on a clsact qdisc: removed by synprobe_close() */
};

/*
 * synprobe_open - load the BPF programs and set up the event loop.
 * @opts: options (required: sz and on_result). Copied; the caller keeps ownership of its arrays.
 *
 * Method bpf: probes the kernel for what the programs need (libbpf_probe_bpf_map_type() and
 * libbpf_probe_bpf_helper(), as libbpf-tools do), loads them, and attaches to opts->ifindexes
 * now, if given. Returns the engine (free with synprobe_close()), or NULL with errno: EPERM
 * without CAP_BPF/CAP_NET_ADMIN/CAP_PERFMON, EOPNOTSUPP for a kernel below the floor (5.8),
 * EACCES or EINVAL when the verifier rejected a program, ENODEV for an interface that does not
 * exist, ENOTDIR for a pin_dir not on a bpffs, EBUSY for a pin_dir another engine holds, EINVAL
 * for bad options (also a bad opts->sz or load_error->sz: see ABI above), or what libbpf returned;
 * opts->load_error, if set, says which of these and why.
 */
struct synprobe *synprobe_open(const struct synprobe_opts *opts);

/*
 * synprobe_start - start one half-open check of @addr (IPv4 or IPv6, port set).
 * @addr/@addrlen: the target; copied.
 * @timeout_ms: how long to wait for a believable reply, from its SYN (> 0).
 * @user: handed back in the result.
 *
 * The check is queued; the next synprobe_poll() (or the end of the current one, when called
 * from on_result) hands the checks queued meanwhile to the event loops, in one batch, and sends
 * their SYNs. The check may wait in the engine's queue (max_in_flight, per_target_max, rate_per_sec, or no
 * free local port or file descriptor: EADDRNOTAVAIL or EMFILE holds it until a running check
 * ends). The result always comes
 * through on_result, from a later synprobe_poll() (also for local errors such as ENETUNREACH, as
 * SYNPROBE_ERROR). Returns 0, or -EINVAL for a bad address or timeout, -ENOMEM, or -errno when
 * attaching to the route's interface failed.
 */
int synprobe_start(struct synprobe *sp, const struct sockaddr *addr, socklen_t addrlen,
		   __u32 timeout_ms, void *user);

/*
 * synprobe_start_ex - synprobe_start() with this check's own options (@copts; NULL: those of
 * synprobe_opts). Copied (copts->kind is not: it must live until the check is delivered).
 * Returns as synprobe_start(), and -EINVAL for a bad copts->sz or copts->kind->sz (ABI above).
 */
int synprobe_start_ex(struct synprobe *sp, const struct sockaddr *addr, socklen_t addrlen,
		      __u32 timeout_ms, const struct synprobe_check_opts *copts, void *user);

/*
 * synprobe_attach_route - attach now to the interface @addr's route leaves by, as
 * synprobe_start() would on its first check of @addr: lets a caller attach everything it will
 * need before dropping CAP_NET_ADMIN and CAP_BPF (with synprobe_opts' mark and bind_ifindex).
 * Returns 0 (also with method connect or fixed
 * interfaces, where there is nothing to do), -ENETUNREACH/-EHOSTUNREACH without a route, or the
 * attach error.
 */
int synprobe_attach_route(struct synprobe *sp, const struct sockaddr *addr, socklen_t addrlen);

/*
 * synprobe_poll - wait up to @timeout_ms (-1: until something happens) for replies and deadlines,
 * and deliver the finished checks to on_result. Returns the number of results delivered (0 on a
 * plain timeout), -EINTR when a signal interrupted the wait, or another negative errno.
 */
int synprobe_poll(struct synprobe *sp, int timeout_ms);

/* synprobe_in_flight - checks started and not yet delivered (queued or running). */
unsigned int synprobe_in_flight(const struct synprobe *sp);

/*
 * synprobe_engine_stats - the engine's own counters into @stats, which is @stats_sz bytes
 * (sizeof(*stats) as the caller's header knows it): the library writes that many bytes, the
 * fields it knows and zeroes beyond them.
 */
void synprobe_engine_stats(const struct synprobe *sp, struct synprobe_engine_stats *stats,
			   size_t stats_sz);

/*
 * synprobe_read_stats - the BPF programs' counters, summed over CPUs, into @stats, which is
 * @stats_sz bytes (sizeof(*stats) as the caller's synprobe.h knows it): written as
 * synprobe_engine_stats() does. Returns 0, -EOPNOTSUPP with method connect, or a negative errno.
 */
int synprobe_read_stats(struct synprobe *sp, struct sp_stats *stats, size_t stats_sz);

/*
 * synprobe_count_flows - entries now in the BPF maps sp_socks and sp_flows (each >= 0), for
 * checking that nothing leaks. Returns 0 or a negative errno.
 */
int synprobe_count_flows(struct synprobe *sp, unsigned int *socks, unsigned int *flows);

/*
 * synprobe_attached - the interfaces the programs are attached to: fills up to @max indexes and
 * modes (either may be NULL) and returns how many there are.
 */
size_t synprobe_attached(const struct synprobe *sp, int *ifindexes,
			 enum synprobe_attach_mode *modes, size_t max);

/*
 * synprobe_close - end every check still in flight (socket closed, flow removed from the maps,
 * no result delivered), detach from every interface, free the engine. NULL is accepted.
 */
void synprobe_close(struct synprobe *sp);

/*
 * synprobe_icmp_name - the name of an ICMP (@family AF_INET) or ICMPv6 (AF_INET6) error as nft's
 * `reject with` writes it where it can: "admin-prohibited", "host-unreachable", "port-unreachable",
 * "ttl-exceeded", "packet-too-big", ... A static string; "icmp-TYPE-CODE" for unknown ones (in a
 * static buffer, overwritten by the next call).
 */
const char *synprobe_icmp_name(int family, __u8 type, __u8 code);

/*
 * synprobe_initial_ttl - the initial TTL (hop limit) a reply most likely left with, from the one
 * it arrived with: the smallest of 32, 64, 128 and 255 that is >= @ttl. The hops travelled are
 * the difference.
 */
__u8 synprobe_initial_ttl(__u8 ttl);

/*
 * Names: "open", "closed", "timeout", "error", "unreachable", "mismatch", "tls_error"; "none",
 * "bpf", "socket"; "tcx", "clsact".
 */
const char *synprobe_outcome_str(enum synprobe_outcome outcome);
const char *synprobe_evidence_str(enum synprobe_evidence evidence);
const char *synprobe_attach_mode_str(enum synprobe_attach_mode mode);

#endif /* __LIBSYNPROBE_H */
