// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * kind_halfopen.c - the half-open check's TCP phase (--method bpf, SYNPROBE_METHOD_BPF), a row
 * of kind.h: SYN, SYN-ACK (or RST, or an ICMP error), RST, observed and timed by the tc programs
 * (bpf/synprobe.bpf.c).
 *
 * open:	  probe the kernel, load the programs, one ring buffer per loop (sp_events[loop]).
 * prepare:	  TCP_QUICKACK 0 (not for a completing kind), SO_LINGER {1, 0}, the socket cookie:
 *		  the sp_socks record {check_id, loop, flags}.
 * register:	  one bpf_map_update_batch() for a batch of checks, before their connect()s; a
 *		  check the map has no room for is "untracked": its socket is polled instead.
 * on ring event: the tc ingress program's record of the first believable reply; the check ends
 *		  (a SYN-ACK one once its socket is writable, one poll() per round).
 * on socket:	  an untracked check's (or a SYN-ACK check's not yet writable) socket is ready.
 * end, forget:	  without a record, the socket's own state (SO_ERROR); the sp_socks entry out
 *		  (batched, one bpf_map_delete_batch() per round) and the sp_flows one.
 * result:	  the record: kernel RTT (reply at tc ingress minus first SYN at tc egress),
 *		  evidence "bpf", TTL, window, TCP options.
 *
 * A check's socket is never polled otherwise: the ring buffer tells its loop about the reply,
 * and the deadline covers everything else.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <linux/magic.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "synprobe.skel.h"
#include "kind.h"
#include "tcp_opts.h"

#ifndef SO_COOKIE
#define SO_COOKIE 57
#endif

/* Each program's verifier log, when it is rejected; the kernel keeps what fits (its start). */
#define VERIFIER_LOG_BYTES (16U << 20)
#define VERIFIER_TAIL_LINES 12

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

/* Deletes the sp_socks entries of the replied checks gathered since the last flush. */
static void flush_done(struct sp_loop *l)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	__u32 count = l->n_done;
	unsigned int i;

	if (!l->n_done)
		return;
	/* One syscall for many; on a partial failure (a key already gone), the rest one by one. */
	if (bpf_map_delete_batch(l->sp->socks_fd, l->done_cookies, &count, &opts))
		for (i = count; i < l->n_done; i++)
			bpf_map_delete_elem(l->sp->socks_fd, &l->done_cookies[i]);
	l->n_done = 0;
}

/*
 * Takes the check's record out of the BPF maps into c->rec; returns true if there was one. A
 * check whose ring-buffer event came has its whole record already: its sp_socks entry is only
 * deleted, with the others of this round, in one batch (before its result goes back).
 */
static bool flow_forget(struct sp_loop *l, struct sp_check *c)
{
	int socks_fd = l->sp->socks_fd;
	__u64 *grown;

	if (!c->registered)
		return false;
	c->registered = false;
	if (c->have_event) {
		if (l->n_done == l->done_cap) {
			grown = realloc(l->done_cookies, (l->done_cap * 2 + 64) * sizeof(*grown));
			if (!grown) {
				bpf_map_delete_elem(socks_fd, &c->cookie);
				return true;
			}
			l->done_cookies = grown;
			l->done_cap = l->done_cap * 2 + 64;
		}
		l->done_cookies[l->n_done++] = c->cookie;
		return true;
	}
	if (bpf_map_lookup_and_delete_elem(socks_fd, &c->cookie, &c->rec)) {
		/*
		 * Hash maps have lookup-and-delete from kernel 5.14 on; before, a lookup then a
		 * delete (a reply between the two is lost to this check: it ends at its deadline).
		 */
		if (errno == ENOENT || bpf_map_lookup_elem(socks_fd, &c->cookie, &c->rec))
			return false;
		bpf_map_delete_elem(socks_fd, &c->cookie);
	}
	/* After a believed reply the ingress program has already removed the 4-tuple. */
	if (c->rec.state == SP_FLOW_SYN_SENT)
		bpf_map_delete_elem(l->sp->flows_fd, &c->rec.tuple);
	return true;
}

/*
 * ring_buffer__consume() callback: one record of the tc ingress program (struct sp_flow) for a
 * check of loop @ctx. Stale and foreign records are ignored; a replied check waits in the
 * round's list (synack_close()). Returns 0 (never stops the consumer).
 */
static int handle_event(void *ctx, void *data, size_t size)
{
	struct sp_loop *l = ctx;
	const struct sp_flow *e = data;
	struct sp_check *c, **grown_c;
	struct pollfd *grown_p;
	unsigned int cap;

	if (size < sizeof(*e) || e->check_id >= l->n_slots)
		return 0;
	c = l->slots[e->check_id];
	/* A late event for a check that already ended (its slot may be reused): ignore it. */
	if (!c || !c->registered || c->cookie != e->cookie || c->have_event)
		return 0;
	c->rec = *e;
	c->have_event = true;
	if (l->sp->opts.close_delay_ms) {
		c->replied = true;
		sp_timer_heap_set(&l->timers, c->lslot,
				  sp_now_ns() + l->sp->opts.close_delay_ms * NSEC_PER_MSEC);
		return 0;
	}
	/*
	 * tc ingress runs before TCP does: the event can come while the kernel has yet to move the
	 * socket to ESTABLISHED. Closed in SYN-SENT, the socket sends nothing, and the SYN-ACK then
	 * meets no socket (a bare RST) or a closing one (dropped: no RST at all, and the server keeps
	 * its half-open entry). So after a SYN-ACK the close waits for the socket to turn writable:
	 * one poll() for every SYN-ACK of this round (synack_close()), which almost always says it
	 * is; the deadline stays armed should TCP drop it.
	 */
	if (l->n_synack == l->synack_cap) {
		cap = l->synack_cap ? l->synack_cap * 2 : 64;
		grown_c = realloc(l->synack, cap * sizeof(*grown_c));
		if (grown_c)
			l->synack = grown_c;
		grown_p = realloc(l->synack_pfds, cap * sizeof(*grown_p));
		if (grown_p)
			l->synack_pfds = grown_p;
		if (!grown_c || !grown_p) {
			if (e->reply != SP_REPLY_SYN_ACK)
				sp_loop_finish(l, c);
			return 0; /* a SYN-ACK check ends at its deadline */
		}
		l->synack_cap = cap;
	}
	/* Every replied check waits in the list, so that they end in the order of their replies. */
	l->synack_pfds[l->n_synack] = (struct pollfd){ .fd = -1, .events = POLLOUT };
	if (e->reply == SP_REPLY_SYN_ACK && c->fd >= 0 && !c->polled) {
		l->synack_pfds[l->n_synack].fd = c->fd;
		l->n_synack_fds++;
	}
	l->synack[l->n_synack++] = c;
	return 0;
}

/*
 * The replied checks of this round end, in the order of their replies; a SYN-ACK one only when
 * its socket is writable (one poll() for all of them), else it is left to epoll.
 */
static void synack_close(struct sp_loop *l)
{
	unsigned int i;

	if (!l->n_synack)
		return;
	/* poll() skips the negative descriptors: the checks replied to by RST or ICMP. */
	if (l->n_synack_fds && poll(l->synack_pfds, l->n_synack, 0) < 0)
		for (i = 0; i < l->n_synack; i++)
			l->synack_pfds[i].revents = POLLOUT; /* as before: close them */
	for (i = 0; i < l->n_synack; i++) {
		struct sp_check *c = l->synack[i];

		if (l->synack_pfds[i].fd >= 0 && !l->synack_pfds[i].revents &&
		    !sp_loop_poll_socket(l, c))
			continue;
		if (c->copts.kind && c->rec.reply == SP_REPLY_SYN_ACK && c->fd >= 0 &&
		    l->synack_pfds[i].fd >= 0) {
			sp_loop_connected(l, c);
			continue;
		}
		sp_loop_finish(l, c);
	}
	l->n_synack = l->n_synack_fds = 0;
}

/* Registers one check that the batch could not: after freeing finished entries, or untracked. */
static int check_register_one(struct sp_loop *l, struct sp_check *c, const struct sp_flow *flow)
{
	int socks_fd = l->sp->socks_fd;

	if (!bpf_map_update_elem(socks_fd, &c->cookie, flow, BPF_NOEXIST)) {
		c->registered = true;
		return 0;
	}
	/* Finished checks may still hold entries, waiting for their batched delete: free them. */
	if (l->n_done) {
		flush_done(l);
		if (!bpf_map_update_elem(socks_fd, &c->cookie, flow, BPF_NOEXIST)) {
			c->registered = true;
			return 0;
		}
	}
	/* No room in the map: the socket's own state answers, as soon as it changes. */
	atomic_fetch_add_explicit(&l->untracked, 1, memory_order_relaxed);
	return sp_loop_poll_socket(l, c);
}

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

/*
 * Each loop's ring buffer holds one event for every check the loop can have in flight, so that
 * a burst of replies (all of them, on a fast network) never overflows it. All the checks of one
 * destination run on one loop (struct sp_dest.loop), so one loop can have them all: each ring
 * is sized for every check in flight. sizeof(struct sp_flow) plus the 8-byte record header
 * each, rounded up to a power of two, at least 64 KiB, at most 64 MiB.
 */
static __u32 ringbuf_bytes(const struct synprobe_opts *opts, __u32 max_flows)
{
	__u64 in_flight = opts->max_in_flight && opts->max_in_flight < max_flows ?
				  opts->max_in_flight : max_flows;
	__u64 need, size = 64 * 1024;

	need = in_flight * (sizeof(struct sp_flow) + 8);

	while (size < need && size < 64ULL * 1024 * 1024)
		size *= 2;
	return (__u32)size;
}

/* Loop @l reads its ring buffer (sp_events[l->index]), woken by its epoll. */
static int loop_ring_open(struct sp_loop *l)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = TAG_RINGBUF };
	__u32 key = l->index;

	if (bpf_map_update_elem(bpf_map__fd(l->sp->skel->maps.sp_events), &key, &l->ring_fd, 0))
		return -errno;
	l->rb = ring_buffer__new(l->ring_fd, handle_event, l, NULL);
	if (!l->rb)
		return -errno;
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->ring_fd, &ev))
		return -errno;
	return 0;
}

/*
 * Loads and sets up the BPF side for @sp (sp_method.open): the kernel probed, the maps sized for
 * the checks in flight, a ring buffer per loop, pins (opts.pin_dir), the programs loaded, each
 * loop reading its ring buffer. Returns 0 or a negative errno, with @opts->load_error filled.
 */
static int halfopen_open(struct synprobe *sp, const struct synprobe_opts *opts)
{
	__u32 max_flows, ring_bytes;
	unsigned int i;
	int err;

	if (opts->load_error)
		memset(opts->load_error, 0, sizeof(*opts->load_error));
	err = probe_kernel(opts->load_error);
	if (err)
		return err;
	sp->skel = synprobe_bpf__open();
	if (!sp->skel) {
		err = load_fail(opts->load_error, SYNPROBE_LOAD_OTHER, errno, "opening the BPF object");
		return err;
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
		err = bpf_map__set_max_entries(sp->skel->maps.sp_events, sp->n_loops);
	if (err)
		return err;
	/* One ring buffer per loop, all of one size; the first is the array's template. */
	ring_bytes = ringbuf_bytes(opts, max_flows);
	for (i = 0; i < sp->n_loops; i++) {
		sp->loops[i].ring_fd = bpf_map_create(BPF_MAP_TYPE_RINGBUF, NULL, 0, 0, ring_bytes,
						      NULL);
		if (sp->loops[i].ring_fd < 0) {
			err = load_fail(opts->load_error, errno == EPERM ? SYNPROBE_LOAD_NO_PRIVILEGE :
					SYNPROBE_LOAD_OTHER, errno, "making the ring buffers");
			return err;
		}
	}
	err = bpf_map__set_inner_map_fd(sp->skel->maps.sp_events, sp->loops[0].ring_fd);
	if (err)
		return err;
	if (opts->pin_dir) {
		sp->pin_dir = strdup(opts->pin_dir);
		if (!sp->pin_dir) {
			err = -ENOMEM;
			return err;
		}
		err = pin_prepare(sp->skel->obj, sp->pin_dir, &sp->pin_lock_fd);
		if (err)
			return err;
	}
	err = load_programs(sp, opts->load_error);
	if (err)
		return err;
	sp->socks_fd = bpf_map__fd(sp->skel->maps.sp_socks);
	sp->flows_fd = bpf_map__fd(sp->skel->maps.sp_flows);
	for (i = 0; i < sp->n_loops; i++) {
		err = loop_ring_open(&sp->loops[i]);
		if (err)
			return err;
	}
	return 0;
}

/*
 * NOTES-kernel.md item 1: no quick ACK, and close() aborts with RST instead of FIN. A completing
 * kind keeps the quick ACK: its handshake's ACK leaves at once (the egress program lets it out),
 * not with its first data nor after the delayed-ACK timer. Fills @flow, the sp_socks record.
 */
static int halfopen_prepare(struct sp_loop *l, struct sp_check *c, struct sp_flow *flow, bool *reg)
{
	struct linger linger = { .l_onoff = 1, .l_linger = 0 };
	socklen_t len = sizeof(c->cookie);
	int zero = 0;

	if ((!c->copts.kind && setsockopt(c->fd, IPPROTO_TCP, TCP_QUICKACK, &zero, sizeof(zero))) ||
	    setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &linger, sizeof(linger)) ||
	    getsockopt(c->fd, SOL_SOCKET, SO_COOKIE, &c->cookie, &len))
		return errno;
	memset(flow, 0, sizeof(*flow));
	flow->cookie = c->cookie;
	flow->check_id = c->lslot;
	flow->loop = l->index;
	if (c->copts.kind)
		flow->flags = SP_FLOW_F_COMPLETE; /* its handshake completes: the ACK goes out */
	*reg = true;
	return 0;
}

/*
 * The sp_socks records of a batch in one bpf_map_update_batch() (kernel 5.6), each before its
 * check's connect() (NOTES-kernel.md item 5: the SYN cannot outrun the map entry).
 */
static void halfopen_register_batch(struct sp_loop *l, struct sp_check **checks,
				    const struct sp_flow *flows, unsigned int n, int *errs)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts); /* elem_flags: only BPF_F_LOCK is allowed */
	__u64 keys[RUN_BATCH];
	unsigned int i;
	__u32 count;

	if (!n || n > RUN_BATCH)
		return; /* the engine never gives more */
	for (i = 0; i < n; i++) {
		keys[i] = checks[i]->cookie;
		errs[i] = 0;
	}
	/*
	 * Cookies are never reused, so no flag is needed (BPF_ANY). On an error at element k the
	 * kernel says k were put in; an error before the first (count unchanged) put none in.
	 */
	count = n;
	if (bpf_map_update_batch(l->sp->socks_fd, keys, flows, &count, &opts) && count >= n)
		count = 0;
	for (i = 0; i < n; i++) {
		if (i < count)
			checks[i]->registered = true;
		else
			errs[i] = check_register_one(l, checks[i], &flows[i]);
	}
}

/* The replies of this round, from the loop's ring buffer; then the replied checks end. */
static void halfopen_on_ring_event(struct sp_loop *l)
{
	if (l->rb)
		ring_buffer__consume(l->rb);
	synack_close(l);
}

/*
 * The socket of an untracked check, or of a SYN-ACK check that was not yet writable, is ready:
 * a completing kind takes it (after a SYN-ACK, or with no record), else the check ends.
 */
static void halfopen_on_socket_event(struct sp_loop *l, struct sp_check *c, unsigned int events)
{
	if (!c->writable_ns)
		c->writable_ns = sp_now_ns();
	if (c->copts.kind && (!c->have_event || c->rec.reply == SP_REPLY_SYN_ACK)) {
		sp_loop_connected(l, c);
		return;
	}
	sp_loop_finish(l, c);
}

/* No word from BPF: what does the socket itself say? */
static void halfopen_end(struct sp_loop *l, struct sp_check *c)
{
	if (c->fd >= 0 && !c->have_event && !c->connect_err)
		sp_check_read_socket(c);
}

/* The check's record out of the maps into c->rec; its TCP options parsed (user/tcp_opts.c). */
static bool halfopen_forget(struct sp_loop *l, struct sp_check *c)
{
	bool have_rec = flow_forget(l, c) || c->have_event;

	if (have_rec)
		sp_flow_parse_tcp_opts(&c->rec);
	return have_rec;
}

/* Before a hand-back: the SYN-ACK checks of the round, then the batched sp_socks deletes. */
static void halfopen_flush(struct sp_loop *l)
{
	synack_close(l);
	flush_done(l);
}

static void halfopen_loop_close(struct sp_loop *l)
{
	if (l->sp->skel)
		flush_done(l);
	free(l->done_cookies);
	free(l->synack);
	free(l->synack_pfds);
	ring_buffer__free(l->rb);
	if (l->ring_fd >= 0)
		close(l->ring_fd);
}

/* The BPF side's record: kernel RTT, evidence "bpf", and our side of the 4-tuple it saw. */
static void halfopen_result(const struct sp_check *c, struct sp_observed *obs,
			    struct synprobe_result *res)
{
	if (!c->have_rec)
		return;
	obs->rec = &c->rec;
	res->flow = &c->rec;
	if (c->rec.state != SP_FLOW_REGISTERED)
		tuple_to_sockaddr(&c->rec.tuple, &res->local);
}

const struct sp_method sp_method_halfopen = {
	.name = "bpf",
	.method = SYNPROBE_METHOD_BPF,
	.attach = true,
	.open = halfopen_open,
	.prepare = halfopen_prepare,
	.register_batch = halfopen_register_batch,
	.on_ring_event = halfopen_on_ring_event,
	.on_socket_event = halfopen_on_socket_event,
	.end = halfopen_end,
	.forget = halfopen_forget,
	.flush = halfopen_flush,
	.loop_close = halfopen_loop_close,
	.result = halfopen_result,
};
