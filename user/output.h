/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* output.h - results as aligned human lines or JSON Lines (json-c), and error messages. */
#ifndef __SP_OUTPUT_H
#define __SP_OUTPUT_H

#include <stdbool.h>
#include <stdio.h>
#include <json-c/json.h>
#include "libsynprobe.h"

/* Set by the CLI from -j/--json: errors then go to stdout as {"error": "..."}, as bpftool does. */
extern bool sp_json_output;

/*
 * Why --method auto fell back to method connect (one line, static), or NULL: set by
 * sp_open_engine(), given as "fallback_reason" in every JSON result.
 */
extern const char *sp_fallback_reason;

/* sp_err - one error line: "Error: <msg>" on stderr, or {"error":"<msg>"} on stdout with JSON. */
void sp_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * sp_option_error - the one error line for what getopt_long() returned as @opt (':' for a
 * missing value, '?' for an unknown option), naming the option as the user wrote it (also inside
 * a cluster such as -xv) and the help of @command ("check", "halfclose client"). Returns -EINVAL.
 */
int sp_option_error(int opt, char **argv, const char *command);

/* sp_warn - one "Warning: <msg>" line on stderr (never in the JSON stream). */
void sp_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * sp_result_json - a new JSON object for one check (caller frees with json_object_put()).
 * Keys (stable, snake_case, units in the names): target, address, port, family ("ipv4"/"ipv6"),
 * outcome, rtt_ns (null without an RTT), method, fallback_reason (null, or why --method auto
 * did not use BPF), evidence, error (null or the message),
 * rtt_timing ("kernel", "user-space" or null), syn_retransmits, source_address and source_port
 * (null when unknown), timeout_ms, then what answered (null without a BPF-observed reply):
 * reply_from, reply_ttl, reply_initial_ttl, reply_hops, reply_ip_id, reply_df, reply_ip_ecn,
 * reply_window, reply_mss, reply_wscale, reply_sack_permitted, reply_timestamps,
 * reply_ecn_setup, reply_options_malformed, icmp_type, icmp_code, icmp_name; and
 * spoofed_replies. @target is the argument as the user wrote it.
 */
json_object *sp_result_json(const char *target, const struct synprobe_result *res,
			    const char *method);

/* sp_print_json - sp_result_json() written as one line to @f. */
void sp_print_json(FILE *f, const char *target, const struct synprobe_result *res,
		   const char *method);

/*
 * sp_print_human - one line: target, address, outcome, method, then the RTT ("(user space)" after
 * it for method connect) or the error, the first two columns padded to @target_width and @addr_width. @verbose adds the evidence, the 4-tuple's
 * source, SYN retransmissions and the reply's TTL and window.
 */
void sp_print_human(FILE *f, const char *target, const struct synprobe_result *res,
		    const char *method, int target_width, int addr_width, bool verbose);

#endif
