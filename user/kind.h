/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * kind.h - the check kinds' TCP phase inside the engine: one row (struct sp_method) per way of
 * making the handshake, one file per row, and one table (kind.c) that the engine and the CLI
 * pick rows from by enum synprobe_method or by name (--method bpf|connect).
 *
 *	row			file			TCP phase			timing
 *	sp_method_halfopen	kind_halfopen.c		SYN, SYN-ACK, RST (tc programs)	kernel (tc)
 *	sp_method_connect	kind_connect.c		connect(), close()		user space
 *
 * Every row runs on the same event loops, threads, limits, deadlines and delivery path
 * (engine.c): the engine makes the socket (options every row shares: SO_MARK,
 * SO_BINDTOIFINDEX, the source address), then calls the row's hooks. What comes after the
 * handshake is a completing kind (public struct synprobe_kind, e.g. kind_l7.c), which composes
 * with either row: the row's handshake, then the kind's start()/on_event(). What shows and
 * configures a completing kind (options, JSON keys, lines, serve's metrics) is its row in the
 * CLI's and serve's table of completing kinds (check_kind.h), outside the library.
 *
 * A new TCP phase: a file kind_NAME.c with a `const struct sp_method sp_method_NAME`, its
 * extern below, a row in kind.c's table, an enum synprobe_method value, and the file in the
 * Makefile's LIB_SRCS. Hooks run in the check's loop thread unless said otherwise; a NULL hook
 * does nothing. A hook on a check's path adds no allocation (beyond amortised per-loop arrays)
 * and no system call the check did not already make.
 */
#ifndef __SP_KIND_H
#define __SP_KIND_H

#include <stdbool.h>
#include "engine.h"
#include "outcome.h"

struct sp_method {
	const char *name;	     /* --method NAME, and in the results' "method" */
	enum synprobe_method method; /* synprobe_opts.method */
	/*
	 * The checks' SYNs must be seen by the tc programs: synprobe_start() looks up the route
	 * of each new destination and attaches to its interface (engine.c, ensure_attached()).
	 */
	bool attach;
	/*
	 * open - at synprobe_open(), after the loops' descriptors exist (caller's thread): load
	 * what the row needs (the BPF programs and maps, each loop's ring buffer). Returns 0 or a
	 * negative errno; fills @opts->load_error when set. synprobe_close() undoes it.
	 */
	int (*open)(struct synprobe *sp, const struct synprobe_opts *opts);
	/*
	 * prepare - @c's socket (c->fd) is made, with the shared options: set the row's own. Either
	 * fills @flow and sets *@reg (the engine then calls register_batch before the connect()),
	 * or arranges its own way to learn the handshake's end (sp_loop_poll_socket()). Returns 0
	 * or a positive errno (the check's result; EMFILE/ENFILE hold it in the queue).
	 */
	int (*prepare)(struct sp_loop *l, struct sp_check *c, struct sp_flow *flow, bool *reg);
	/*
	 * register_batch - registers @n checks prepared with *reg set, @checks[i] with @flows[i],
	 * before their connect()s (at most RUN_BATCH). Sets @errs[i] to 0 or a positive errno.
	 */
	void (*register_batch)(struct sp_loop *l, struct sp_check **checks,
			       const struct sp_flow *flows, unsigned int n, int *errs);
	/* on_ring_event - a loop round: read the replies the BPF side reported (ring buffer). */
	void (*on_ring_event)(struct sp_loop *l);
	/*
	 * on_socket_event - @c's socket, polled by sp_loop_poll_socket(), is ready (@events:
	 * EPOLLOUT...), and no completing kind runs on it yet: the handshake ended.
	 */
	void (*on_socket_event)(struct sp_loop *l, struct sp_check *c, unsigned int events);
	/*
	 * end - @c ends (a reply, its socket's event, or its deadline) with its socket still open
	 * (c->fd may be -1 if it never opened): read what the result needs from it.
	 */
	void (*end)(struct sp_loop *l, struct sp_check *c);
	/*
	 * forget - after @c's socket is closed, or when it is undone unrun: take it out of the
	 * row's tables. Returns true when c->rec holds the BPF side's record of the check.
	 */
	bool (*forget)(struct sp_loop *l, struct sp_check *c);
	/* flush - before a loop hands its finished checks back: batched work of the round. */
	void (*flush)(struct sp_loop *l);
	/*
	 * loop_close - at synprobe_close() (caller's thread, loop threads joined), after @l's
	 * checks are undone: the row's batched work, then its per-loop tables and descriptors.
	 */
	void (*loop_close)(struct sp_loop *l);
	/*
	 * result - the row's result fields (caller's thread, from synprobe_poll()): the engine
	 * has filled @obs from the socket (connect_err, sock_*, user_rtt_ns); the row adds its
	 * record (obs->rec, res->flow, res->local). @c is not freed before on_result returns.
	 */
	void (*result)(const struct sp_check *c, struct sp_observed *obs,
		       struct synprobe_result *res);
};

extern const struct sp_method sp_method_halfopen;
extern const struct sp_method sp_method_connect;

/* sp_method_by_id - the row of @method, or NULL for a value no row has. */
const struct sp_method *sp_method_by_id(enum synprobe_method method);

/* sp_method_by_name - the row named @name ("bpf", "connect"), or NULL. */
const struct sp_method *sp_method_by_name(const char *name);

#endif /* __SP_KIND_H */
