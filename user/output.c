// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* output.c - what `synprobe check` prints. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <string.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <net/if.h>
#include <netinet/in.h>
#include "check_kind.h"
#include "output.h"
#include "target.h"
#include "util.h"

bool sp_json_output;
const char *sp_fallback_reason;

void sp_err(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (sp_json_output) {
		json_object *obj = json_object_new_object();

		json_object_object_add(obj, "error", json_object_new_string(msg));
		printf("%s\n", json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN |
									  JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(obj);
		fflush(stdout);
	} else {
		fprintf(stderr, "Error: %s\n", msg);
	}
}

int sp_option_error(int opt, char **argv, const char *command)
{
	if (opt == ':')
		sp_err("option '%s' needs a value: see 'synprobe %s --help'", argv[optind - 1], command);
	else if (optopt) /* a short option: argv[optind - 1] may be a whole cluster */
		sp_err("unknown option '-%c': see 'synprobe %s --help'", optopt, command);
	else
		sp_err("unknown option '%s': see 'synprobe %s --help'", argv[optind - 1], command);
	return -EINVAL;
}

void sp_warn(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "Warning: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
}

/* The reply's source (the target, or the router of an ICMP error) as text. */
static const char *reply_from_str(const struct synprobe_result *res, char *buf, size_t len)
{
	int family = res->addr.ss_family;

	if (!inet_ntop(family, res->flow->reply_from, buf, len))
		snprintf(buf, len, "?");
	return buf;
}

static bool has_reply(const struct synprobe_result *res)
{
	return res->flow && res->flow->state == SP_FLOW_REPLIED && res->evidence == SYNPROBE_EVIDENCE_BPF;
}

static json_object *json_bool_or_null(bool known, bool value)
{
	return known ? json_object_new_boolean(value) : NULL;
}

static json_object *json_int_or_null(bool known, int64_t value)
{
	return known ? json_object_new_int64(value) : NULL;
}

/* The reply's details: what answered, from the packet itself. Null where there is no reply. */
static void add_reply_json(json_object *obj, const struct synprobe_result *res)
{
	const struct sp_flow *f = res->flow;
	bool reply = has_reply(res);
	bool tcp = reply && f->reply != SP_REPLY_ICMP;
	bool icmp = reply && f->reply == SP_REPLY_ICMP;
	char from[INET6_ADDRSTRLEN];
	__u8 initial = reply ? synprobe_initial_ttl(f->reply_ttl) : 0;

	json_object_object_add(obj, "reply_from",
			       reply ? json_object_new_string(reply_from_str(res, from, sizeof(from))) : NULL);
	json_object_object_add(obj, "reply_ttl", json_int_or_null(reply, reply ? f->reply_ttl : 0));
	json_object_object_add(obj, "reply_initial_ttl", json_int_or_null(reply, initial));
	json_object_object_add(obj, "reply_hops",
			       json_int_or_null(reply, reply ? initial - f->reply_ttl : 0));
	json_object_object_add(obj, "reply_ip_id",
			       json_int_or_null(reply && res->addr.ss_family == AF_INET,
						reply ? f->reply_ip_id : 0));
	json_object_object_add(obj, "reply_df",
			       json_bool_or_null(reply && res->addr.ss_family == AF_INET,
						 reply && (f->reply_opts & SP_OPT_DF)));
	json_object_object_add(obj, "reply_ip_ecn", json_int_or_null(reply, reply ? f->reply_tos & 3 : 0));
	json_object_object_add(obj, "reply_window", json_int_or_null(tcp, tcp ? f->reply_window : 0));
	json_object_object_add(obj, "reply_mss",
			       json_int_or_null(tcp && (f->reply_opts & SP_OPT_MSS), tcp ? f->reply_mss : 0));
	json_object_object_add(obj, "reply_wscale",
			       json_int_or_null(tcp && (f->reply_opts & SP_OPT_WSCALE),
						tcp ? f->reply_wscale : 0));
	json_object_object_add(obj, "reply_sack_permitted",
			       json_bool_or_null(tcp, tcp && (f->reply_opts & SP_OPT_SACK_PERM)));
	json_object_object_add(obj, "reply_timestamps",
			       json_bool_or_null(tcp, tcp && (f->reply_opts & SP_OPT_TIMESTAMPS)));
	/* RFC 3168, 6.1.1: an ECN-setup SYN-ACK has ECE set and CWR clear. */
	json_object_object_add(obj, "reply_ecn_setup",
			       json_bool_or_null(tcp, tcp && (f->reply_tcp_flags & 0xc0) == 0x40));
	json_object_object_add(obj, "reply_options_malformed",
			       json_bool_or_null(tcp, tcp && (f->reply_opts & SP_OPT_MALFORMED)));
	json_object_object_add(obj, "icmp_type", json_int_or_null(icmp, icmp ? f->icmp_type : 0));
	json_object_object_add(obj, "icmp_code", json_int_or_null(icmp, icmp ? f->icmp_code : 0));
	json_object_object_add(obj, "icmp_name",
			       icmp ? json_object_new_string(synprobe_icmp_name(res->addr.ss_family,
										f->icmp_type, f->icmp_code)) :
				      NULL);
	json_object_object_add(obj, "spoofed_replies", json_object_new_int64(f ? f->spoofed : 0));
}

json_object *sp_result_json(const char *target, const struct synprobe_result *res,
			    const char *method)
{
	json_object *obj = json_object_new_object();
	char addr[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
	__u16 port;

	sp_address_str(&res->addr, addr, sizeof(addr), &port);
	json_object_object_add(obj, "target", json_object_new_string(target));
	json_object_object_add(obj, "address", json_object_new_string(addr));
	json_object_object_add(obj, "port", json_object_new_int(port));
	json_object_object_add(obj, "family",
			       json_object_new_string(res->addr.ss_family == AF_INET6 ? "ipv6" : "ipv4"));
	json_object_object_add(obj, "outcome",
			       json_object_new_string(synprobe_outcome_str(res->outcome)));
	json_object_object_add(obj, "rtt_ns",
			       res->has_rtt ? json_object_new_int64((int64_t)res->rtt_ns) : NULL);
	json_object_object_add(obj, "rtt_timing",
			       !res->has_rtt ? NULL :
			       json_object_new_string(res->rtt_user_space ? "user-space" : "kernel"));
	json_object_object_add(obj, "method", json_object_new_string(method));
	json_object_object_add(obj, "fallback_reason",
			       sp_fallback_reason ? json_object_new_string(sp_fallback_reason) : NULL);
	json_object_object_add(obj, "evidence",
			       json_object_new_string(synprobe_evidence_str(res->evidence)));
	if (res->detail)
		json_object_object_add(obj, "error", json_object_new_string(res->detail));
	else
		json_object_object_add(obj, "error", res->error ?
				       json_object_new_string(strerror(res->error)) : NULL);
	json_object_object_add(obj, "syn_retransmits", json_object_new_int64(res->syn_retransmits));
	if (res->local.ss_family) {
		sp_address_str(&res->local, addr, sizeof(addr), &port);
		json_object_object_add(obj, "source_address", json_object_new_string(addr));
		json_object_object_add(obj, "source_port", json_object_new_int(port));
	} else {
		json_object_object_add(obj, "source_address", NULL);
		json_object_object_add(obj, "source_port", NULL);
	}
	json_object_object_add(obj, "timeout_ms", json_object_new_int64(res->timeout_ms));
	add_reply_json(obj, res);
	if (res->kind) {
		/* A completing kind's keys (its row's), then how its connection closed. */
		const struct sp_kind_row *row = sp_kind_row_of(res->kind);

		if (row && row->json)
			row->json(obj, res);
		json_object_object_add(obj, "connect_close",
				       json_object_new_string(res->connect_close_fin ? "fin" : "rst"));
	}
	return obj;
}

void sp_print_json(FILE *f, const char *target, const struct synprobe_result *res,
		   const char *method)
{
	json_object *obj = sp_result_json(target, res, method);

	fprintf(f, "%s\n", json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN |
								       JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(obj);
}

/* -v: what answered, from the packet itself. */
static void print_reply_details(FILE *f, const struct synprobe_result *res)
{
	const struct sp_flow *fl = res->flow;
	__u8 initial = synprobe_initial_ttl(fl->reply_ttl);

	fprintf(f, ", ttl %u (initial %u, %u hops)", fl->reply_ttl, initial, initial - fl->reply_ttl);
	if (res->addr.ss_family == AF_INET)
		fprintf(f, ", ip id %u%s", fl->reply_ip_id, fl->reply_opts & SP_OPT_DF ? " DF" : "");
	if (fl->reply == SP_REPLY_ICMP)
		return;
	fprintf(f, ", window %u", fl->reply_window);
	if (fl->reply != SP_REPLY_SYN_ACK)
		return;
	if (fl->reply_opts & SP_OPT_MSS)
		fprintf(f, ", mss %u", fl->reply_mss);
	if (fl->reply_opts & SP_OPT_WSCALE)
		fprintf(f, ", wscale %u", fl->reply_wscale);
	fprintf(f, ", sack %s, timestamps %s, ecn %s",
		fl->reply_opts & SP_OPT_SACK_PERM ? "yes" : "no",
		fl->reply_opts & SP_OPT_TIMESTAMPS ? "yes" : "no",
		(fl->reply_tcp_flags & 0xc0) == 0x40 ? "yes" : "no");
	if (fl->reply_opts & SP_OPT_MALFORMED)
		fprintf(f, ", malformed options");
}

void sp_print_human(FILE *f, const char *target, const struct synprobe_result *res,
		    const char *method, int target_width, int addr_width, bool verbose)
{
	char addr[INET6_ADDRSTRLEN + IF_NAMESIZE + 2], rtt[32], src[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
	__u16 sport;
	const struct sp_kind_row *row = sp_kind_row_of(res->kind);

	sp_address_str(&res->addr, addr, sizeof(addr), NULL);
	fprintf(f, "%-*s  %-*s  %-11s  %-7s", target_width, target, addr_width, addr,
		synprobe_outcome_str(res->outcome), method);
	if (res->has_rtt)
		fprintf(f, "  %s%s", sp_format_ns(res->rtt_ns, rtt, sizeof(rtt)),
			res->rtt_user_space ? " (user space)" : "");
	else if (res->error)
		fprintf(f, "  %s", strerror(res->error));
	else if (res->outcome == SYNPROBE_TIMEOUT)
		fprintf(f, "  no reply in %u ms", res->timeout_ms);
	else
		fprintf(f, "  -");
	/* A completing kind: why it failed, or what it ran (its row's text, e.g. the TLS). */
	if (res->detail)
		fprintf(f, "  %s", res->detail);
	else if (res->kind && res->error && res->has_rtt)
		fprintf(f, "  %s", strerror(res->error));
	else if (row && row->text)
		row->text(f, res);
	if (res->outcome == SYNPROBE_UNREACHABLE && has_reply(res))
		fprintf(f, "  (%s from %s)",
			synprobe_icmp_name(res->addr.ss_family, res->flow->icmp_type,
					   res->flow->icmp_code),
			reply_from_str(res, src, sizeof(src)));
	if (verbose) {
		fprintf(f, "  [evidence %s", synprobe_evidence_str(res->evidence));
		if (res->local.ss_family) {
			sp_address_str(&res->local, src, sizeof(src), &sport);
			fprintf(f, res->local.ss_family == AF_INET6 ? ", from [%s]:%u" : ", from %s:%u",
				src, sport);
		}
		fprintf(f, ", syn_retransmits %u", res->syn_retransmits);
		if (has_reply(res))
			print_reply_details(f, res);
		if (res->flow && res->flow->spoofed)
			fprintf(f, ", spoofed replies %u", res->flow->spoofed);
		fprintf(f, "]");
	}
	fprintf(f, "\n");
}
