// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* output.c - what `synprobe check` prints. */
#include <stdarg.h>
#include <string.h>
#include <netdb.h>
#include <net/if.h>
#include <netinet/in.h>
#include "output.h"
#include "target.h"
#include "util.h"

bool sp_json_output;

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

void sp_warn(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "Warning: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
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
	json_object_object_add(obj, "method", json_object_new_string(method));
	json_object_object_add(obj, "evidence",
			       json_object_new_string(synprobe_evidence_str(res->evidence)));
	json_object_object_add(obj, "error",
			       res->error ? json_object_new_string(strerror(res->error)) : NULL);
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
	if (res->flow && res->flow->state == SP_FLOW_REPLIED) {
		json_object_object_add(obj, "reply_ttl", json_object_new_int(res->flow->reply_ttl));
		json_object_object_add(obj, "reply_window",
				       json_object_new_int(res->flow->reply_window));
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

void sp_print_human(FILE *f, const char *target, const struct synprobe_result *res,
		    int target_width, int addr_width, bool verbose)
{
	char addr[INET6_ADDRSTRLEN + IF_NAMESIZE + 2], rtt[32], src[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
	__u16 sport;

	sp_address_str(&res->addr, addr, sizeof(addr), NULL);
	fprintf(f, "%-*s  %-*s  %-7s", target_width, target, addr_width, addr,
		synprobe_outcome_str(res->outcome));
	if (res->has_rtt)
		fprintf(f, "  %s", sp_format_ns(res->rtt_ns, rtt, sizeof(rtt)));
	else if (res->error)
		fprintf(f, "  %s", strerror(res->error));
	else if (res->outcome == SYNPROBE_TIMEOUT)
		fprintf(f, "  no reply in %u ms", res->timeout_ms);
	else
		fprintf(f, "  -");
	if (verbose) {
		fprintf(f, "  [evidence %s", synprobe_evidence_str(res->evidence));
		if (res->local.ss_family) {
			sp_address_str(&res->local, src, sizeof(src), &sport);
			fprintf(f, res->local.ss_family == AF_INET6 ? ", from [%s]:%u" : ", from %s:%u",
				src, sport);
		}
		fprintf(f, ", syn_retransmits %u", res->syn_retransmits);
		if (res->flow && res->flow->state == SP_FLOW_REPLIED)
			fprintf(f, ", ttl %u, window %u", res->flow->reply_ttl,
				res->flow->reply_window);
		fprintf(f, "]");
	}
	fprintf(f, "\n");
}
