// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* outcome.c - the belief rules of a check, kept apart from the event loop to be unit-tested. */
#include <errno.h>
#include <stdio.h>
#include <netinet/in.h>
#include "outcome.h"

void sp_decide_outcome(const struct sp_observed *obs, struct synprobe_result *res)
{
	const struct sp_flow *rec = obs->rec;

	res->evidence = SYNPROBE_EVIDENCE_NONE;
	res->has_rtt = false;
	res->rtt_user_space = false;
	res->rtt_ns = 0;
	res->reply_ts_ns = 0;
	res->error = 0;
	res->syn_ts_ns = rec && rec->state != SP_FLOW_REGISTERED ? rec->syn_ts_ns : 0;
	res->syn_retransmits = rec ? rec->syn_retransmits : 0;

	if (rec && rec->state == SP_FLOW_REPLIED && rec->reply != SP_REPLY_NONE &&
	    rec->reply_ts_ns >= rec->syn_ts_ns && rec->reply_ts_ns <= obs->reply_by_ns) {
		if (rec->reply == SP_REPLY_ICMP)
			res->outcome = SYNPROBE_UNREACHABLE;
		else if (rec->reply == SP_REPLY_RST)
			res->outcome = SYNPROBE_CLOSED;
		else
			res->outcome = SYNPROBE_OPEN;
		res->evidence = SYNPROBE_EVIDENCE_BPF;
		res->reply_ts_ns = rec->reply_ts_ns;
		res->rtt_ns = rec->reply_ts_ns - rec->syn_ts_ns;
		res->has_rtt = true;
	} else if (obs->connect_err) {
		res->outcome = SYNPROBE_ERROR;
		res->error = obs->connect_err;
	} else if (obs->sock_connected || obs->sock_err == ECONNREFUSED) {
		res->outcome = obs->sock_connected ? SYNPROBE_OPEN : SYNPROBE_CLOSED;
		res->evidence = SYNPROBE_EVIDENCE_SOCKET;
		if (obs->user_rtt_ns) {
			res->rtt_ns = obs->user_rtt_ns;
			res->has_rtt = true;
			res->rtt_user_space = true;
		}
	} else if (obs->sock_err == EHOSTUNREACH || obs->sock_err == ENETUNREACH) {
		/* After connect() returned EINPROGRESS: an ICMP error (or no neighbour) came back. */
		res->outcome = SYNPROBE_UNREACHABLE;
		res->evidence = SYNPROBE_EVIDENCE_SOCKET;
		res->error = obs->sock_err;
	} else if (obs->sock_err) {
		res->outcome = SYNPROBE_ERROR;
		res->evidence = SYNPROBE_EVIDENCE_SOCKET;
		res->error = obs->sock_err;
	} else {
		res->outcome = SYNPROBE_TIMEOUT;
	}
}

/* ICMP destination unreachable codes (RFC 792, RFC 1812), by nft's names where it has them. */
static const char *const icmp_unreach[] = {
	"net-unreachable",	"host-unreachable",	  "prot-unreachable",
	"port-unreachable",	"frag-needed",		  "source-route-failed",
	"net-unknown",		"host-unknown",		  "host-isolated",
	"net-prohibited",	"host-prohibited",	  "net-tos-unreachable",
	"host-tos-unreachable", "admin-prohibited",	  "host-precedence-violation",
	"precedence-cutoff",
};

/* ICMPv6 destination unreachable codes (RFC 4443, 3.1). */
static const char *const icmp6_unreach[] = {
	"no-route",	       "admin-prohibited", "beyond-scope", "addr-unreachable",
	"port-unreachable",    "policy-fail",	   "reject-route", "source-routing-header-error",
};

const char *synprobe_icmp_name(int family, __u8 type, __u8 code)
{
	static char other[24];

	if (family == AF_INET) {
		if (type == 3 && code < sizeof(icmp_unreach) / sizeof(icmp_unreach[0]))
			return icmp_unreach[code];
		if (type == 11)
			return code == 0 ? "ttl-exceeded" : "reassembly-time-exceeded";
	} else if (family == AF_INET6) {
		if (type == 1 && code < sizeof(icmp6_unreach) / sizeof(icmp6_unreach[0]))
			return icmp6_unreach[code];
		if (type == 2)
			return "packet-too-big";
		if (type == 3)
			return code == 0 ? "hop-limit-exceeded" : "reassembly-time-exceeded";
	}
	snprintf(other, sizeof(other), "icmp%s-%u-%u", family == AF_INET6 ? "v6" : "", type, code);
	return other;
}

__u8 synprobe_initial_ttl(__u8 ttl)
{
	if (ttl <= 32)
		return 32;
	if (ttl <= 64)
		return 64;
	if (ttl <= 128)
		return 128;
	return 255;
}
