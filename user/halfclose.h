/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* halfclose.h - the testable parts of `synprobe halfclose` (user/cmd_halfclose.c). */
#ifndef __SP_HALFCLOSE_H
#define __SP_HALFCLOSE_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

/* Log levels of --log-level, in increasing severity. */
enum sp_log_level {
	SP_LOG_DEBUG,
	SP_LOG_INFO,
	SP_LOG_WARN,
	SP_LOG_ERROR,
};

struct sp_hc_server_args {
	const char *listen;  /* ADDR:PORT, default 0.0.0.0:4000 */
	const char *file;    /* file to stream, or NULL for generated data */
	__u64 size_bytes;    /* generated data: how many bytes (default 100 MiB) */
	__u32 chunk_bytes;   /* bytes per write() (default 1024) */
	__u64 rate_bytes_s;  /* pace the stream at this many bytes/s; 0: as fast as possible */
	int log_level;	     /* enum sp_log_level */
};

struct sp_hc_client_args {
	const char *server;	 /* HOST:PORT, default 127.0.0.1:4000 */
	__u32 buf_size;		 /* bytes per read() (default 1024) */
	__u32 read_timeout_ms;	 /* give up reading after this (default 10 min) */
	__u32 write_timeout_ms;	 /* shutdown(SHUT_WR) after this (default 10 min) */
	__u64 expect_bytes;	 /* what the server streams, when known; 0: unknown */
	__u64 peer_buffer;	 /* the most the peer can hold unsent (default 4 MiB) */
	int log_level;		 /* enum sp_log_level */
	bool json;		 /* the verdict as one JSON object */
};

/*
 * sp_hc_parse_server / sp_hc_parse_client - parse `halfclose server|client` arguments
 * (@argv[0] is the role) into @a, defaults filled in. Return 0, 1 when --help was printed
 * (exit 0), or -EINVAL after one error line (exit 2).
 */
int sp_hc_parse_server(int argc, char **argv, struct sp_hc_server_args *a);
int sp_hc_parse_client(int argc, char **argv, struct sp_hc_client_args *a);

/*
 * sp_parse_size_bytes - a byte count with an optional binary unit: "512", "64k", "20M", "1G"
 * (k/K = 1024, m/M = 1024^2, g/G = 1024^3). Returns 0 and sets *@bytes (> 0), or -EINVAL (not
 * a size) or -ERANGE (0 or more than 2^62).
 */
int sp_parse_size_bytes(const char *s, __u64 *bytes);

/* sp_parse_log_level - "debug", "info", "warn" or "error". 0 and *@level set, or -EINVAL. */
int sp_parse_log_level(const char *s, int *level);

/* The verdict of `halfclose client`. */
enum sp_hc_verdict {
	SP_HC_HONOURED,	    /* the peer kept sending after our FIN, every byte came before its FIN */
	SP_HC_NOT_HONOURED, /* the peer closed or reset on our FIN */
	SP_HC_INCONCLUSIVE, /* the run cannot tell (our FIN never went out, the peer was done...) */
};

/* What one client run saw: the application's side and the BPF programs' (wire) side. */
struct sp_hc_figures {
	bool fin_out;		/* our FIN went out (seen at tc egress) */
	bool fin_in;		/* the peer's FIN came in (tc ingress) */
	bool rst_in;		/* the peer sent a RST */
	bool eof;		/* read() returned 0 */
	int read_error;		/* errno of a failed read(), 0 if none */
	__u64 fin_out_ns;	/* CLOCK_MONOTONIC of our FIN */
	__u64 fin_in_ns;	/* CLOCK_MONOTONIC of the peer's FIN */
	__u64 bytes_read;	/* bytes the application read */
	__u64 bytes_after_fin;	/* payload bytes that came in after our FIN (wire) */
	__u64 expect_bytes;	/* --expect-bytes, 0 if not given */
	__u64 peer_buffer;	/* --peer-buffer: the most the peer can have had queued, unsent */
	__u64 rcvbuf_bytes;	/* our receive buffer (SO_RCVBUF) at the end: bounds what was in
				 * flight towards us when our FIN went out */
};

/*
 * sp_hc_queue_bound - the most the peer can have sent after our FIN without writing anything
 * after it: what was in its send buffer (peer_buffer) and in flight (at most our receive
 * window, at most rcvbuf_bytes) when our FIN reached it.
 */
__u64 sp_hc_queue_bound(const struct sp_hc_figures *f);

/*
 * sp_hc_verdict - the verdict for @f, and a one-line reason in @why (@len bytes).
 * Reset, or fewer bytes than expected, or nothing after our FIN: not honoured. Our FIN never
 * out, the peer's FIN before ours, no EOF, a read error: inconclusive. Without expect_bytes,
 * bytes after our FIN count only beyond sp_hc_queue_bound(): a peer that closes on our FIN still
 * sends what it had queued, and its FIN follows ours by the time that takes to drain (3.3 MB in
 * 7 ms over a veth): up to the bound, inconclusive, never honoured.
 */
enum sp_hc_verdict sp_hc_verdict(const struct sp_hc_figures *f, char *why, size_t len);

/* sp_hc_verdict_str - "half-close honoured", "half-close not honoured", "inconclusive". */
const char *sp_hc_verdict_str(enum sp_hc_verdict v);

#endif
