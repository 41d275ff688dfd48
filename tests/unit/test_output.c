// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_output.c - what `synprobe check` prints: JSON Lines parsed back with json-c, aligned
 * human lines through open_memstream(), and sp_err()/sp_warn() with stdout and stderr captured.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <json-c/json.h>
#include "kind_l7.h"
#include "output.h"

static void set_addr(struct sockaddr_storage *ss, const char *addr, __u16 port)
{
	memset(ss, 0, sizeof(*ss));
	if (strchr(addr, ':')) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		assert_int_equal(inet_pton(AF_INET6, addr, &sin6->sin6_addr), 1);
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		assert_int_equal(inet_pton(AF_INET, addr, &sin->sin_addr), 1);
	}
}

static void set_raw(__u8 raw[16], const char *addr)
{
	memset(raw, 0, 16);
	assert_int_equal(inet_pton(strchr(addr, ':') ? AF_INET6 : AF_INET, addr, raw), 1);
}

/* The BPF records of the results below, as the tc ingress program fills them. */
static struct sp_flow flow_syn_ack4 = {
	.state = SP_FLOW_REPLIED, .reply = SP_REPLY_SYN_ACK, .syn_retransmits = 1,
	.reply_ttl = 52, .reply_ip_id = 0, .reply_window = 65160, .reply_mss = 1460,
	.reply_wscale = 7, .reply_tcp_flags = 0x12,
	.reply_opts = SP_OPT_MSS | SP_OPT_WSCALE | SP_OPT_SACK_PERM | SP_OPT_TIMESTAMPS | SP_OPT_DF,
};
static struct sp_flow flow_rst4 = {
	.state = SP_FLOW_REPLIED, .reply = SP_REPLY_RST, .reply_ttl = 63, .reply_window = 0,
	.reply_tcp_flags = 0x14, .reply_opts = SP_OPT_DF, .spoofed = 2,
};
static struct sp_flow flow_syn_ack6 = {
	.state = SP_FLOW_REPLIED, .reply = SP_REPLY_SYN_ACK, .syn_retransmits = 1,
	.reply_ttl = 60, .reply_tos = 0x02, .reply_window = 64800, .reply_mss = 1440,
	.reply_tcp_flags = 0x52, .reply_opts = SP_OPT_MSS | SP_OPT_SACK_PERM | SP_OPT_TIMESTAMPS,
};
static struct sp_flow flow_icmp4 = {
	.state = SP_FLOW_REPLIED, .reply = SP_REPLY_ICMP, .reply_ttl = 254, .reply_ip_id = 4321,
	.reply_tos = 0xc0, .icmp_type = 3, .icmp_code = 13,
};
static struct sp_flow flow_syn_sent = {
	.state = SP_FLOW_SYN_SENT, .syn_retransmits = 3,
};

static int setup_flows(void **state)
{
	set_raw(flow_syn_ack4.reply_from, "192.0.2.1");
	set_raw(flow_rst4.reply_from, "192.0.2.1");
	set_raw(flow_syn_ack6.reply_from, "2001:db8::1");
	set_raw(flow_icmp4.reply_from, "10.0.0.1");
	return 0;
}

static struct synprobe_result res_open(void)
{
	struct synprobe_result r = {
		.outcome = SYNPROBE_OPEN, .evidence = SYNPROBE_EVIDENCE_BPF, .has_rtt = true,
		.rtt_ns = 41200, .syn_retransmits = 1, .timeout_ms = 1000, .flow = &flow_syn_ack4,
	};

	set_addr(&r.addr, "192.0.2.1", 80);
	set_addr(&r.local, "10.0.0.2", 40000);
	return r;
}

/* A TLS check of the l7 kind: the TCP part as res_open(), then the kind's fields. */
static struct sp_l7_result l7_tls = {
	.tls = true,
	.info = { .handshake_ns = 1500000, .version = "TLS1.3", .cipher = "TLS_AES_256_GCM_SHA384",
		  .has_cert = true, .not_after = 1798637400, .earliest_not_after = 1797773400,
		  .chain_len = 2, .subject = "CN=web", .issuer = "CN=CA", .verified = true },
};
static struct synprobe_result res_l7_tls(void)
{
	struct synprobe_result r = res_open();

	r.kind = &sp_kind_l7;
	r.kind_result = &l7_tls;
	return r;
}

/* A banner check of the l7 kind that did not match. */
static struct sp_l7_result l7_steps = { .steps = true, .expect_matched = 0,
					 .first_byte_ns = 300000 };
static struct synprobe_result res_l7_mismatch(void)
{
	struct synprobe_result r = res_open();

	r.outcome = SYNPROBE_MISMATCH;
	r.kind = &sp_kind_l7;
	r.kind_result = &l7_steps;
	r.detail = "step 1: expect '^220 ' did not match";
	r.connect_close_fin = true;
	return r;
}

static struct synprobe_result res_closed(void)
{
	struct synprobe_result r = {
		.outcome = SYNPROBE_CLOSED, .evidence = SYNPROBE_EVIDENCE_BPF, .has_rtt = true,
		.rtt_ns = 30000, .timeout_ms = 1000, .flow = &flow_rst4,
	};

	set_addr(&r.addr, "192.0.2.1", 81);
	set_addr(&r.local, "10.0.0.2", 40001);
	return r;
}

static struct synprobe_result res_timeout(void)
{
	struct synprobe_result r = {
		.outcome = SYNPROBE_TIMEOUT, .evidence = SYNPROBE_EVIDENCE_NONE,
		.syn_retransmits = 3, .timeout_ms = 1000, .flow = &flow_syn_sent,
	};

	set_addr(&r.addr, "198.51.100.7", 443);
	set_addr(&r.local, "10.0.0.2", 40002);
	return r;
}

static struct synprobe_result res_error(void)
{
	struct synprobe_result r = {
		.outcome = SYNPROBE_ERROR, .evidence = SYNPROBE_EVIDENCE_NONE,
		.error = ENETUNREACH, .timeout_ms = 1000,
	};

	set_addr(&r.addr, "203.0.113.9", 22);
	return r;
}

static struct synprobe_result res_ipv6_open(void)
{
	struct synprobe_result r = {
		.outcome = SYNPROBE_OPEN, .evidence = SYNPROBE_EVIDENCE_BPF, .has_rtt = true,
		.rtt_ns = 1503000, .syn_retransmits = 1, .timeout_ms = 2500,
		.flow = &flow_syn_ack6,
	};

	set_addr(&r.addr, "2001:db8::1", 443);
	set_addr(&r.local, "2001:db8::2", 50000);
	return r;
}

static struct synprobe_result res_ipv6_timeout(void)
{
	struct synprobe_result r = {
		.outcome = SYNPROBE_TIMEOUT, .evidence = SYNPROBE_EVIDENCE_NONE,
		.syn_retransmits = 3, .timeout_ms = 1000, .flow = &flow_syn_sent,
	};

	set_addr(&r.addr, "2001:db8::1", 8443);
	set_addr(&r.local, "2001:db8::2", 50001);
	return r;
}

static struct synprobe_result res_socket_open(void)
{
	struct synprobe_result r = {
		.outcome = SYNPROBE_OPEN, .evidence = SYNPROBE_EVIDENCE_SOCKET, .timeout_ms = 1000,
	};

	set_addr(&r.addr, "192.0.2.1", 80);
	return r;
}

static struct synprobe_result res_unreachable(void)
{
	struct synprobe_result r = {
		.outcome = SYNPROBE_UNREACHABLE, .evidence = SYNPROBE_EVIDENCE_BPF, .has_rtt = true,
		.rtt_ns = 2000000, .timeout_ms = 1000, .flow = &flow_icmp4,
	};

	set_addr(&r.addr, "203.0.113.25", 25);
	set_addr(&r.local, "10.0.0.2", 40003);
	return r;
}

/* Method connect: a full handshake timed in user space, no BPF record. */
static struct synprobe_result res_connect_open(void)
{
	struct synprobe_result r = {
		.outcome = SYNPROBE_OPEN, .evidence = SYNPROBE_EVIDENCE_SOCKET, .has_rtt = true,
		.rtt_user_space = true, .rtt_ns = 52000, .timeout_ms = 1000,
	};

	set_addr(&r.addr, "192.0.2.1", 80);
	set_addr(&r.local, "10.0.0.2", 40004);
	return r;
}

/* Where there is no reply, every reply_ and icmp_ key is null. */
#define NO_REPLY_KEYS                                                                              \
	" \"reply_from\": null, \"reply_ttl\": null, \"reply_initial_ttl\": null,"                 \
	" \"reply_hops\": null, \"reply_ip_id\": null, \"reply_df\": null,"                        \
	" \"reply_ip_ecn\": null, \"reply_window\": null, \"reply_mss\": null,"                    \
	" \"reply_wscale\": null, \"reply_sack_permitted\": null, \"reply_timestamps\": null,"     \
	" \"reply_ecn_setup\": null, \"reply_options_malformed\": null, \"icmp_type\": null,"      \
	" \"icmp_code\": null, \"icmp_name\": null, \"spoofed_replies\": 0"

/* sp_print_json() into a string: exactly one line, then parsed back. */
static json_object *print_and_parse(const char *target, const struct synprobe_result *res)
{
	json_object *obj;
	size_t len = 0;
	char *buf = NULL;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	sp_print_json(f, target, res, "bpf");
	assert_int_equal(fclose(f), 0);
	assert_true(len > 1);
	assert_int_equal(buf[len - 1], '\n');
	assert_ptr_equal(strchr(buf, '\n'), buf + len - 1);
	obj = json_tokener_parse(buf);
	free(buf);
	assert_non_null(obj);
	assert_true(json_object_is_type(obj, json_type_object));
	return obj;
}

/* Every key of @want is in @got with an equal value (type included), and nothing more. */
static void assert_json_keys(json_object *got, const char *want_text)
{
	json_object *want = json_tokener_parse(want_text);
	int bad = 0;

	assert_non_null(want);
	json_object_object_foreach(want, key, want_val) {
		json_object *got_val;

		if (!json_object_object_get_ex(got, key, &got_val)) {
			print_error("# key \"%s\" missing\n", key);
			bad++;
		} else if (!json_object_equal(got_val, want_val)) {
			print_error("# key \"%s\": %s, expected %s\n", key,
				    json_object_to_json_string(got_val),
				    json_object_to_json_string(want_val));
			bad++;
		}
	}
	json_object_object_foreach(got, gkey, gval) {
		(void)gval;
		if (!json_object_object_get_ex(want, gkey, NULL)) {
			print_error("# unexpected key \"%s\"\n", gkey);
			bad++;
		}
	}
	json_object_put(want);
	assert_int_equal(bad, 0);
}

static void test_json_open(void **state)
{
	struct synprobe_result r = res_open();
	json_object *obj = print_and_parse("web:80", &r);
	json_object *v;

	assert_json_keys(obj, "{\"target\": \"web:80\", \"address\": \"192.0.2.1\", \"port\": 80,"
			      " \"family\": \"ipv4\", \"outcome\": \"open\", \"rtt_ns\": 41200,"
			      " \"rtt_timing\": \"kernel\","
			      " \"method\": \"bpf\", \"fallback_reason\": null, \"evidence\": \"bpf\", \"error\": null,"
			      " \"syn_retransmits\": 1, \"source_address\": \"10.0.0.2\","
			      " \"source_port\": 40000, \"timeout_ms\": 1000,"
			      " \"reply_from\": \"192.0.2.1\", \"reply_ttl\": 52,"
			      " \"reply_initial_ttl\": 64, \"reply_hops\": 12, \"reply_ip_id\": 0,"
			      " \"reply_df\": true, \"reply_ip_ecn\": 0, \"reply_window\": 65160,"
			      " \"reply_mss\": 1460, \"reply_wscale\": 7,"
			      " \"reply_sack_permitted\": true, \"reply_timestamps\": true,"
			      " \"reply_ecn_setup\": false, \"reply_options_malformed\": false,"
			      " \"icmp_type\": null, \"icmp_code\": null, \"icmp_name\": null,"
			      " \"spoofed_replies\": 0}");
	/* numbers are JSON integers, not strings */
	assert_true(json_object_object_get_ex(obj, "rtt_ns", &v));
	assert_true(json_object_is_type(v, json_type_int));
	assert_int_equal(json_object_get_int64(v), 41200);
	json_object_put(obj);
}

static void test_json_closed(void **state)
{
	struct synprobe_result r = res_closed();
	json_object *obj = print_and_parse("192.0.2.1:81", &r);

	assert_json_keys(obj, "{\"target\": \"192.0.2.1:81\", \"address\": \"192.0.2.1\","
			      " \"port\": 81, \"family\": \"ipv4\", \"outcome\": \"closed\","
			      " \"rtt_ns\": 30000, \"rtt_timing\": \"kernel\", \"method\": \"bpf\", \"fallback_reason\": null,"
			      " \"evidence\": \"bpf\","
			      " \"error\": null, \"syn_retransmits\": 0,"
			      " \"source_address\": \"10.0.0.2\", \"source_port\": 40001,"
			      " \"timeout_ms\": 1000, \"reply_from\": \"192.0.2.1\","
			      " \"reply_ttl\": 63, \"reply_initial_ttl\": 64, \"reply_hops\": 1,"
			      " \"reply_ip_id\": 0, \"reply_df\": true, \"reply_ip_ecn\": 0,"
			      " \"reply_window\": 0, \"reply_mss\": null, \"reply_wscale\": null,"
			      " \"reply_sack_permitted\": false, \"reply_timestamps\": false,"
			      " \"reply_ecn_setup\": false, \"reply_options_malformed\": false,"
			      " \"icmp_type\": null, \"icmp_code\": null, \"icmp_name\": null,"
			      " \"spoofed_replies\": 2}");
	json_object_put(obj);
}

static void test_json_timeout(void **state)
{
	struct synprobe_result r = res_timeout();
	json_object *obj = print_and_parse("slow.example:443", &r);

	/* no RTT: rtt_ns is null, and without a reply every reply_ key is null */
	assert_json_keys(obj, "{\"target\": \"slow.example:443\", \"address\": \"198.51.100.7\","
			      " \"port\": 443, \"family\": \"ipv4\", \"outcome\": \"timeout\","
			      " \"rtt_ns\": null, \"rtt_timing\": null, \"method\": \"bpf\", \"fallback_reason\": null,"
			      " \"evidence\": \"none\","
			      " \"error\": null, \"syn_retransmits\": 3,"
			      " \"source_address\": \"10.0.0.2\", \"source_port\": 40002,"
			      " \"timeout_ms\": 1000," NO_REPLY_KEYS "}");
	json_object_put(obj);
}

static void test_json_error(void **state)
{
	struct synprobe_result r = res_error();
	json_object *obj = print_and_parse("203.0.113.9:22", &r);

	/* no 4-tuple learned: source_address and source_port are null */
	assert_json_keys(obj, "{\"target\": \"203.0.113.9:22\", \"address\": \"203.0.113.9\","
			      " \"port\": 22, \"family\": \"ipv4\", \"outcome\": \"error\","
			      " \"rtt_ns\": null, \"rtt_timing\": null, \"method\": \"bpf\", \"fallback_reason\": null,"
			      " \"evidence\": \"none\","
			      " \"error\": \"Network is unreachable\", \"syn_retransmits\": 0,"
			      " \"source_address\": null, \"source_port\": null,"
			      " \"timeout_ms\": 1000," NO_REPLY_KEYS "}");
	json_object_put(obj);
}

static void test_json_ipv6_with_source(void **state)
{
	struct synprobe_result r = res_ipv6_open();
	json_object *obj = print_and_parse("[2001:db8::1]:443", &r);

	assert_json_keys(obj, "{\"target\": \"[2001:db8::1]:443\", \"address\": \"2001:db8::1\","
			      " \"port\": 443, \"family\": \"ipv6\", \"outcome\": \"open\","
			      " \"rtt_ns\": 1503000, \"rtt_timing\": \"kernel\","
			      " \"method\": \"bpf\", \"fallback_reason\": null, \"evidence\": \"bpf\","
			      " \"error\": null, \"syn_retransmits\": 1,"
			      " \"source_address\": \"2001:db8::2\", \"source_port\": 50000,"
			      " \"timeout_ms\": 2500, \"reply_from\": \"2001:db8::1\","
			      " \"reply_ttl\": 60, \"reply_initial_ttl\": 64, \"reply_hops\": 4,"
			      " \"reply_ip_id\": null, \"reply_df\": null, \"reply_ip_ecn\": 2,"
			      " \"reply_window\": 64800, \"reply_mss\": 1440,"
			      " \"reply_wscale\": null,"
			      " \"reply_sack_permitted\": true, \"reply_timestamps\": true,"
			      " \"reply_ecn_setup\": true, \"reply_options_malformed\": false,"
			      " \"icmp_type\": null, \"icmp_code\": null, \"icmp_name\": null,"
			      " \"spoofed_replies\": 0}");
	json_object_put(obj);
}

/* An ICMP error quoting our SYN: the router that sent it, its type, code and name; no TCP keys. */
static void test_json_unreachable(void **state)
{
	struct synprobe_result r = res_unreachable();
	json_object *obj = print_and_parse("fw.example:25", &r);

	assert_json_keys(obj, "{\"target\": \"fw.example:25\", \"address\": \"203.0.113.25\","
			      " \"port\": 25, \"family\": \"ipv4\", \"outcome\": \"unreachable\","
			      " \"rtt_ns\": 2000000, \"rtt_timing\": \"kernel\","
			      " \"method\": \"bpf\", \"fallback_reason\": null, \"evidence\": \"bpf\","
			      " \"error\": null, \"syn_retransmits\": 0,"
			      " \"source_address\": \"10.0.0.2\", \"source_port\": 40003,"
			      " \"timeout_ms\": 1000, \"reply_from\": \"10.0.0.1\","
			      " \"reply_ttl\": 254, \"reply_initial_ttl\": 255, \"reply_hops\": 1,"
			      " \"reply_ip_id\": 4321, \"reply_df\": false, \"reply_ip_ecn\": 0,"
			      " \"reply_window\": null, \"reply_mss\": null,"
			      " \"reply_wscale\": null,"
			      " \"reply_sack_permitted\": null, \"reply_timestamps\": null,"
			      " \"reply_ecn_setup\": null, \"reply_options_malformed\": null,"
			      " \"icmp_type\": 3, \"icmp_code\": 13,"
			      " \"icmp_name\": \"admin-prohibited\","
			      " \"spoofed_replies\": 0}");
	json_object_put(obj);
}

/* Method connect: the RTT is there, timed in user space, and says so. */
static void test_json_connect_method(void **state)
{
	struct synprobe_result r = res_connect_open();
	json_object *obj = sp_result_json("web:80", &r, "connect");

	assert_non_null(obj);
	assert_json_keys(obj, "{\"target\": \"web:80\", \"address\": \"192.0.2.1\", \"port\": 80,"
			      " \"family\": \"ipv4\", \"outcome\": \"open\", \"rtt_ns\": 52000,"
			      " \"rtt_timing\": \"user-space\", \"method\": \"connect\", \"fallback_reason\": null,"
			      " \"evidence\": \"socket\", \"error\": null, \"syn_retransmits\": 0,"
			      " \"source_address\": \"10.0.0.2\", \"source_port\": 40004,"
			      " \"timeout_ms\": 1000," NO_REPLY_KEYS "}");
	json_object_put(obj);
}

/* A check past the handshake: the half-open keys, then the kind's. */
static void test_json_l7(void **state)
{
	struct synprobe_result r = res_l7_tls();
	json_object *obj = print_and_parse("web:443", &r);

	assert_json_keys(obj, "{\"target\": \"web:443\", \"address\": \"192.0.2.1\", \"port\": 80,"
			      " \"family\": \"ipv4\", \"outcome\": \"open\", \"rtt_ns\": 41200,"
			      " \"rtt_timing\": \"kernel\","
			      " \"method\": \"bpf\", \"fallback_reason\": null, \"evidence\": \"bpf\", \"error\": null,"
			      " \"syn_retransmits\": 1, \"source_address\": \"10.0.0.2\","
			      " \"source_port\": 40000, \"timeout_ms\": 1000,"
			      " \"reply_from\": \"192.0.2.1\", \"reply_ttl\": 52,"
			      " \"reply_initial_ttl\": 64, \"reply_hops\": 12, \"reply_ip_id\": 0,"
			      " \"reply_df\": true, \"reply_ip_ecn\": 0, \"reply_window\": 65160,"
			      " \"reply_mss\": 1460, \"reply_wscale\": 7,"
			      " \"reply_sack_permitted\": true, \"reply_timestamps\": true,"
			      " \"reply_ecn_setup\": false, \"reply_options_malformed\": false,"
			      " \"icmp_type\": null, \"icmp_code\": null, \"icmp_name\": null,"
			      " \"spoofed_replies\": 0,"
			      " \"tls_handshake_ns\": 1500000, \"tls_version\": \"TLS1.3\","
			      " \"tls_cipher\": \"TLS_AES_256_GCM_SHA384\", \"tls_alpn\": null,"
			      " \"tls_cert_not_after\": \"2026-12-30T13:30:00Z\","
			      " \"tls_cert_earliest_not_after\": \"2026-12-20T13:30:00Z\","
			      " \"tls_cert_subject\": \"CN=web\", \"tls_cert_issuer\": \"CN=CA\","
			      " \"tls_verified\": true, \"expect_matched\": null, \"first_byte_ns\": null,"
			      " \"connect_close\": \"rst\"}");
	json_object_put(obj);

	r = res_l7_mismatch();
	obj = print_and_parse("mail:25", &r);
	assert_json_keys(obj, "{\"target\": \"mail:25\", \"address\": \"192.0.2.1\", \"port\": 80,"
			      " \"family\": \"ipv4\", \"outcome\": \"mismatch\", \"rtt_ns\": 41200,"
			      " \"rtt_timing\": \"kernel\","
			      " \"method\": \"bpf\", \"fallback_reason\": null, \"evidence\": \"bpf\","
			      " \"error\": \"step 1: expect '^220 ' did not match\","
			      " \"syn_retransmits\": 1, \"source_address\": \"10.0.0.2\","
			      " \"source_port\": 40000, \"timeout_ms\": 1000,"
			      " \"reply_from\": \"192.0.2.1\", \"reply_ttl\": 52,"
			      " \"reply_initial_ttl\": 64, \"reply_hops\": 12, \"reply_ip_id\": 0,"
			      " \"reply_df\": true, \"reply_ip_ecn\": 0, \"reply_window\": 65160,"
			      " \"reply_mss\": 1460, \"reply_wscale\": 7,"
			      " \"reply_sack_permitted\": true, \"reply_timestamps\": true,"
			      " \"reply_ecn_setup\": false, \"reply_options_malformed\": false,"
			      " \"icmp_type\": null, \"icmp_code\": null, \"icmp_name\": null,"
			      " \"spoofed_replies\": 0,"
			      " \"tls_handshake_ns\": null, \"tls_version\": null, \"tls_cipher\": null,"
			      " \"tls_alpn\": null, \"tls_cert_not_after\": null,"
			      " \"tls_cert_earliest_not_after\": null, \"tls_cert_subject\": null,"
			      " \"tls_cert_issuer\": null, \"tls_verified\": null, \"expect_matched\": 0,"
			      " \"first_byte_ns\": 300000, \"connect_close\": \"fin\"}");
	json_object_put(obj);
}

/* sp_result_json() itself, the object the line is made from. */
static void test_result_json_object(void **state)
{
	struct synprobe_result r = res_socket_open();
	json_object *obj = sp_result_json("web:80", &r, "bpf");

	assert_non_null(obj);
	assert_json_keys(obj, "{\"target\": \"web:80\", \"address\": \"192.0.2.1\", \"port\": 80,"
			      " \"family\": \"ipv4\", \"outcome\": \"open\", \"rtt_ns\": null,"
			      " \"rtt_timing\": null,"
			      " \"method\": \"bpf\", \"fallback_reason\": null, \"evidence\": \"socket\", \"error\": null,"
			      " \"syn_retransmits\": 0, \"source_address\": null,"
			      " \"source_port\": null, \"timeout_ms\": 1000," NO_REPLY_KEYS "}");
	json_object_put(obj);
}

/* sp_print_human() into a string. */
static char *human(const char *target, const struct synprobe_result *res, const char *method,
		   int target_width, int addr_width, bool verbose)
{
	size_t len = 0;
	char *buf = NULL;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	sp_print_human(f, target, res, method, target_width, addr_width, verbose);
	assert_int_equal(fclose(f), 0);
	return buf;
}

struct human_case {
	const char *name;
	struct synprobe_result (*res)(void);
	const char *target;
	const char *method;
	bool verbose;
	const char *line;
};

/*
 * Columns: target padded to 18, two spaces, address padded to 12, two spaces, outcome to 11, two
 * spaces, method to 7, two spaces, the RTT or what happened.
 */
static const struct human_case human_cases[] = {
	{ "open", res_open, "web:80", "bpf", false,
	  "web:80              192.0.2.1     open         bpf      41.2 us\n" },
	{ "closed", res_closed, "192.0.2.1:81", "bpf", false,
	  "192.0.2.1:81        192.0.2.1     closed       bpf      30.0 us\n" },
	{ "timeout", res_timeout, "slow.example:443", "bpf", false,
	  "slow.example:443    198.51.100.7  timeout      bpf      no reply in 1000 ms\n" },
	{ "error", res_error, "203.0.113.9:22", "bpf", false,
	  "203.0.113.9:22      203.0.113.9   error        bpf      Network is unreachable\n" },
	{ "open from the socket, no rtt", res_socket_open, "web:80", "bpf", false,
	  "web:80              192.0.2.1     open         bpf      -\n" },
	{ "ipv6", res_ipv6_open, "[2001:db8::1]:443", "bpf", false,
	  "[2001:db8::1]:443   2001:db8::1   open         bpf      1.503 ms\n" },
	{ "unreachable", res_unreachable, "fw.example:25", "bpf", false,
	  "fw.example:25       203.0.113.25  unreachable  bpf      2.000 ms"
	  "  (admin-prohibited from 10.0.0.1)\n" },
	{ "l7 TLS: the version and suite", res_l7_tls, "web:443", "bpf", false,
	  "web:443             192.0.2.1     open         bpf      41.2 us"
	  "  TLS1.3 TLS_AES_256_GCM_SHA384\n" },
	{ "l7 mismatch: why", res_l7_mismatch, "mail:25", "bpf", false,
	  "mail:25             192.0.2.1     mismatch     bpf      41.2 us"
	  "  step 1: expect '^220 ' did not match\n" },
	{ "connect method, user-space rtt", res_connect_open, "web:80", "connect", false,
	  "web:80              192.0.2.1     open         connect  52.0 us (user space)\n" },
	{ "verbose open", res_open, "web:80", "bpf", true,
	  "web:80              192.0.2.1     open         bpf      41.2 us  [evidence bpf,"
	  " from 10.0.0.2:40000, syn_retransmits 1, ttl 52 (initial 64, 12 hops), ip id 0 DF,"
	  " window 65160, mss 1460, wscale 7, sack yes, timestamps yes, ecn no]\n" },
	{ "verbose closed", res_closed, "192.0.2.1:81", "bpf", true,
	  "192.0.2.1:81        192.0.2.1     closed       bpf      30.0 us  [evidence bpf,"
	  " from 10.0.0.2:40001, syn_retransmits 0, ttl 63 (initial 64, 1 hops), ip id 0 DF,"
	  " window 0, spoofed replies 2]\n" },
	{ "verbose ipv6 open", res_ipv6_open, "[2001:db8::1]:443", "bpf", true,
	  "[2001:db8::1]:443   2001:db8::1   open         bpf      1.503 ms  [evidence bpf,"
	  " from [2001:db8::2]:50000, syn_retransmits 1, ttl 60 (initial 64, 4 hops),"
	  " window 64800, mss 1440, sack yes, timestamps yes, ecn yes]\n" },
	{ "verbose ipv6 timeout", res_ipv6_timeout, "[2001:db8::1]:8443", "bpf", true,
	  "[2001:db8::1]:8443  2001:db8::1   timeout      bpf      no reply in 1000 ms"
	  "  [evidence none, from [2001:db8::2]:50001, syn_retransmits 3]\n" },
	{ "verbose unreachable", res_unreachable, "fw.example:25", "bpf", true,
	  "fw.example:25       203.0.113.25  unreachable  bpf      2.000 ms"
	  "  (admin-prohibited from 10.0.0.1)  [evidence bpf, from 10.0.0.2:40003,"
	  " syn_retransmits 0, ttl 254 (initial 255, 1 hops), ip id 4321]\n" },
	{ "verbose error, no source", res_error, "203.0.113.9:22", "bpf", true,
	  "203.0.113.9:22      203.0.113.9   error        bpf      Network is unreachable"
	  "  [evidence none, syn_retransmits 0]\n" },
	{ "verbose socket evidence", res_socket_open, "web:80", "bpf", true,
	  "web:80              192.0.2.1     open         bpf      -"
	  "  [evidence socket, syn_retransmits 0]\n" },
};

static void test_human_lines(void **state)
{
	size_t i, bad = 0;

	for (i = 0; i < sizeof(human_cases) / sizeof(human_cases[0]); i++) {
		const struct human_case *c = &human_cases[i];
		struct synprobe_result r = c->res();
		char *line = human(c->target, &r, c->method, 18, 12, c->verbose);

		if (strcmp(line, c->line)) {
			/* both end in a newline */
			print_error("# %s:\n#  got  %s#  want %s", c->name, line, c->line);
			bad++;
		}
		free(line);
	}
	assert_int_equal(bad, 0);
}

/* With the widths of the longest target and address, every column starts at the same offset. */
static void test_human_alignment(void **state)
{
	struct synprobe_result rs[] = { res_open(), res_timeout(), res_ipv6_open(), res_error(),
					res_unreachable() };
	const char *targets[] = { "web:80", "slow.example:443", "[2001:db8::1]:443", "x:22",
				  "fw.example:25" };
	const char *addrs[] = { "192.0.2.1", "198.51.100.7", "2001:db8::1", "203.0.113.9",
				"203.0.113.25" };
	const char *outcomes[] = { "open", "timeout", "open", "error", "unreachable" };
	/* the outcome column is as wide as the widest outcome name */
	int ow = (int)strlen("unreachable");
	int tw = (int)strlen("[2001:db8::1]:443"), aw = (int)strlen("198.51.100.7");
	size_t i;

	for (i = 0; i < sizeof(rs) / sizeof(rs[0]); i++) {
		char *line = human(targets[i], &rs[i], "bpf", tw, aw, false);
		size_t tl = strlen(targets[i]), al = strlen(addrs[i]), ol = strlen(outcomes[i]);

		/* target, padded */
		assert_memory_equal(line, targets[i], tl);
		assert_int_equal(strspn(line + tl, " "), tw + 2 - tl);
		/* address at tw + 2, padded */
		assert_memory_equal(line + tw + 2, addrs[i], al);
		assert_int_equal(strspn(line + tw + 2 + al, " "), aw + 2 - al);
		/* outcome at tw + aw + 4, padded to ow */
		assert_memory_equal(line + tw + aw + 4, outcomes[i], ol);
		assert_int_equal(strspn(line + tw + aw + 4 + ol, " "), ow + 2 - ol);
		/* method at tw + aw + ow + 6, padded to 7, then two spaces and the detail */
		assert_memory_equal(line + tw + aw + ow + 6, "bpf", 3);
		assert_int_equal(strspn(line + tw + aw + ow + 6 + 3, " "), 7 + 2 - 3);
		free(line);
	}
}

/* A target longer than its column is printed whole and pushes the line right. */
static void test_human_long_target(void **state)
{
	struct synprobe_result r = res_open();
	char *line = human("a-very-long-host-name.example:80", &r, "bpf", 6, 9, false);

	assert_string_equal(line, "a-very-long-host-name.example:80  192.0.2.1  open         bpf"
				  "      41.2 us\n");
	free(line);
}

/* stdout and stderr of sp_err()/sp_warn(), captured through temporary files. */
struct capture {
	FILE *file[2];
	int saved[2];
	char text[2][2048];
};

static void capture_begin(struct capture *c)
{
	int i;

	fflush(stdout);
	fflush(stderr);
	for (i = 0; i < 2; i++) {
		c->file[i] = tmpfile();
		assert_non_null(c->file[i]);
		c->saved[i] = dup(STDOUT_FILENO + i);
		assert_true(c->saved[i] >= 0);
		assert_true(dup2(fileno(c->file[i]), STDOUT_FILENO + i) >= 0);
	}
}

/* Restores stdout (text[0]) and stderr (text[1]) before anything is asserted. */
static void capture_end(struct capture *c)
{
	size_t n;
	int i;

	fflush(stdout);
	fflush(stderr);
	for (i = 0; i < 2; i++) {
		dup2(c->saved[i], STDOUT_FILENO + i);
		close(c->saved[i]);
		rewind(c->file[i]);
		n = fread(c->text[i], 1, sizeof(c->text[i]) - 1, c->file[i]);
		c->text[i][n] = '\0';
		fclose(c->file[i]);
	}
}

static int reset_json_output(void **state)
{
	sp_json_output = false;
	return 0;
}

static void test_err_plain(void **state)
{
	struct capture c;

	sp_json_output = false;
	capture_begin(&c);
	sp_err("cannot attach to %s: %s", "eth0", "No such device");
	capture_end(&c);

	assert_string_equal(c.text[0], "");
	assert_string_equal(c.text[1], "Error: cannot attach to eth0: No such device\n");
}

static void test_err_json(void **state)
{
	const char *msg = "target 'a/b:80': bad \"quote\" and \\ backslash";
	json_object *obj, *v;
	struct capture c;

	sp_json_output = true;
	capture_begin(&c);
	sp_err("cannot attach to %s: %s", "eth0", "No such device");
	sp_err("%s", msg);
	capture_end(&c);
	sp_json_output = false;

	/* nothing on stderr; on stdout two JSON lines */
	assert_string_equal(c.text[1], "");
	assert_string_equal(c.text[0], "{\"error\":\"cannot attach to eth0: No such device\"}\n"
				       "{\"error\":\"target 'a/b:80': bad \\\"quote\\\" and \\\\"
				       " backslash\"}\n");

	/* and each parses back to a one-key object holding the message */
	*strchr(c.text[0], '\n') = '\0';
	obj = json_tokener_parse(c.text[0]);
	assert_non_null(obj);
	assert_int_equal(json_object_object_length(obj), 1);
	assert_true(json_object_object_get_ex(obj, "error", &v));
	assert_string_equal(json_object_get_string(v), "cannot attach to eth0: No such device");
	json_object_put(obj);

	obj = json_tokener_parse(c.text[0] + strlen(c.text[0]) + 1);
	assert_non_null(obj);
	assert_true(json_object_object_get_ex(obj, "error", &v));
	assert_string_equal(json_object_get_string(v), msg);
	json_object_put(obj);
}

/* Warnings stay out of the JSON stream. */
static void test_warn_json(void **state)
{
	struct capture c;

	sp_json_output = true;
	capture_begin(&c);
	sp_warn("%s has no IPv6 address", "eth0");
	capture_end(&c);
	sp_json_output = false;

	assert_string_equal(c.text[0], "");
	assert_string_equal(c.text[1], "Warning: eth0 has no IPv6 address\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_open),
		cmocka_unit_test(test_json_closed),
		cmocka_unit_test(test_json_timeout),
		cmocka_unit_test(test_json_error),
		cmocka_unit_test(test_json_ipv6_with_source),
		cmocka_unit_test(test_json_unreachable),
		cmocka_unit_test(test_json_connect_method),
		cmocka_unit_test(test_result_json_object),
		cmocka_unit_test(test_json_l7),
		cmocka_unit_test(test_human_lines),
		cmocka_unit_test(test_human_alignment),
		cmocka_unit_test(test_human_long_target),
		cmocka_unit_test_teardown(test_err_plain, reset_json_output),
		cmocka_unit_test_teardown(test_err_json, reset_json_output),
		cmocka_unit_test_teardown(test_warn_json, reset_json_output),
	};

	return cmocka_run_group_tests(tests, setup_flows, NULL);
}
