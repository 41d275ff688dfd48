/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * kind_l7.h - the "l7" check kind: past the TCP handshake, an optional PROXY header, an optional
 * TLS handshake and send/expect steps, on the check's event loop (struct synprobe_kind).
 */
#ifndef __SP_KIND_L7_H
#define __SP_KIND_L7_H

#include <stdbool.h>
#include <linux/types.h>
#include "libsynprobe.h"
#include "expect.h"
#include "proxy_proto.h"
#include "tls_client.h"

/* The kind's options (synprobe_check_opts.kind_arg): the caller's, shared by its checks. */
struct sp_l7_opts {
	const struct sp_tls_config *tls; /* NULL: no TLS */
	const struct sp_steps *steps;	 /* NULL or no steps: none */
	enum sp_proxy_version proxy;	 /* SP_PROXY_NONE: no PROXY header */
};

/* One check's kind_arg: the shared options and the name to send as SNI and verify. */
struct sp_l7_arg {
	const struct sp_l7_opts *opts;
	const char *host; /* the target's host as written (a name or an address literal) */
};

/* What a check of this kind found (synprobe_result.kind_result). */
struct sp_l7_result {
	bool tls;		/* a TLS handshake was attempted: info is set */
	struct sp_tls_info info;
	bool steps;		/* steps were configured: expect_matched is set */
	unsigned int expect_matched; /* steps whose expect matched */
	bool expect_failed;	/* a reply was read to its end (the peer closed, or the reply
				 * buffer filled) without a match: MISMATCH, and blackbox's
				 * probe_failed_due_to_regex; not on a timeout or a read error */
	__u64 first_byte_ns;	/* from the handshake's end (TCP, and TLS) to the reply's first
				 * byte, CLOCK_MONOTONIC; 0: nothing received */
};

extern const struct synprobe_kind sp_kind_l7;

#endif /* __SP_KIND_L7_H */
