/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* outcome.h - from what the BPF side and the socket saw, to a check's outcome. */
#ifndef __SP_OUTCOME_H
#define __SP_OUTCOME_H

#include <stdbool.h>
#include "libsynprobe.h"

/* What the engine knows when a check ends. */
struct sp_observed {
	const struct sp_flow *rec; /* the BPF record of the check, or NULL if there is none */
	__u64 reply_by_ns;	   /* a reply stamped later than this (start + timeout) is too late */
	int connect_err;	   /* errno of socket()/connect() that failed at once, else 0 */
	bool sock_connected;	   /* the socket reached ESTABLISHED (read only without a reply) */
	int sock_err;		   /* SO_ERROR of the socket (read only without a reply), else 0 */
	__u64 user_rtt_ns;	   /* method connect: connect() to writable, ns; 0 when not timed */
};

/*
 * sp_decide_outcome - fill res->outcome, evidence, has_rtt, rtt_ns, reply_ts_ns, syn_ts_ns,
 * syn_retransmits and error from @obs. The order of belief: a BPF-observed reply that
 * acknowledged our ISN, in time (kernel RTT); a local connect() error; the socket's own state
 * (ESTABLISHED: open, ECONNREFUSED: closed, EHOSTUNREACH or ENETUNREACH after the SYN left:
 * unreachable, another SO_ERROR: error); else timeout. With @user_rtt_ns, the socket's open and
 * closed carry that user-space RTT.
 */
void sp_decide_outcome(const struct sp_observed *obs, struct synprobe_result *res);

#endif
