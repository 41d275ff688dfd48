// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* test_halfclose.c - `synprobe halfclose`: option parsing, sizes, log levels, and the verdict. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>
#include "halfclose.h"
#include "output.h"

#define ARGS_MAX 16

static int argc_of(const char *const *argv)
{
	int n = 0;

	while (argv[n])
		n++;
	return n;
}

struct size_case {
	const char *in;
	int rc;
	__u64 bytes;
};

static const struct size_case size_cases[] = {
	{ "1", 0, 1 },
	{ "1024", 0, 1024 },
	{ "64k", 0, 64 << 10 },
	{ "64K", 0, 64 << 10 },
	{ "20M", 0, 20 << 20 },
	{ "20MB", 0, 20 << 20 },
	{ "20MiB", 0, 20 << 20 },
	{ "1G", 0, 1ull << 30 },
	{ "0", -ERANGE, 0 },
	{ "0M", -ERANGE, 0 },
	{ "99999999999G", -ERANGE, 0 },
	{ "", -EINVAL, 0 },
	{ "M", -EINVAL, 0 },
	{ "-1", -EINVAL, 0 },
	{ "1.5M", -EINVAL, 0 },
	{ "10T", -EINVAL, 0 },
	{ "10Mx", -EINVAL, 0 },
};

static void test_parse_size(void **state)
{
	__u64 b;
	size_t i;

	for (i = 0; i < sizeof(size_cases) / sizeof(size_cases[0]); i++) {
		b = 42;
		if (sp_parse_size_bytes(size_cases[i].in, &b) != size_cases[i].rc)
			fail_msg("'%s': rc %d, expected %d", size_cases[i].in,
				 sp_parse_size_bytes(size_cases[i].in, &b), size_cases[i].rc);
		assert_true(b == (size_cases[i].rc ? 42 : size_cases[i].bytes));
	}
}

static void test_log_level(void **state)
{
	int l = -1;

	assert_int_equal(sp_parse_log_level("debug", &l), 0);
	assert_int_equal(l, SP_LOG_DEBUG);
	assert_int_equal(sp_parse_log_level("WARN", &l), 0);
	assert_int_equal(l, SP_LOG_WARN);
	assert_int_equal(sp_parse_log_level("error", &l), 0);
	assert_int_equal(l, SP_LOG_ERROR);
	assert_int_equal(sp_parse_log_level("verbose", &l), -EINVAL);
	assert_int_equal(l, SP_LOG_ERROR);
}

static void test_parse_server(void **state)
{
	const char *defaults[ARGS_MAX] = { "server" };
	const char *full[ARGS_MAX] = { "server", "-l", "10.0.0.1:5000", "--size", "20M", "-c",
				       "10", "--rate", "10M", "--log-level", "debug" };
	const char *file[ARGS_MAX] = { "server", "--file", "./data", "--chunk", "16k" };
	const char *const bad[][ARGS_MAX] = {
		{ "server", "--file", "x", "--size", "1M" },
		{ "server", "--chunk", "0" },
		{ "server", "--chunk", "17M" },
		{ "server", "--size", "lots" },
		{ "server", "--rate" },
		{ "server", "--log-level", "loud" },
		{ "server", "extra" },
		{ "server", "--bogus" },
	};
	struct sp_hc_server_args a;
	size_t i;

	assert_int_equal(sp_hc_parse_server(argc_of(defaults), (char **)defaults, &a), 0);
	assert_string_equal(a.listen, "0.0.0.0:4000");
	assert_null(a.file);
	assert_true(a.size_bytes == 100ull << 20);
	assert_int_equal(a.chunk_bytes, 1024);
	assert_true(a.rate_bytes_s == 0);
	assert_int_equal(a.log_level, SP_LOG_INFO);

	assert_int_equal(sp_hc_parse_server(argc_of(full), (char **)full, &a), 0);
	assert_string_equal(a.listen, "10.0.0.1:5000");
	assert_true(a.size_bytes == 20ull << 20);
	assert_int_equal(a.chunk_bytes, 10);
	assert_true(a.rate_bytes_s == 10ull << 20);
	assert_int_equal(a.log_level, SP_LOG_DEBUG);

	assert_int_equal(sp_hc_parse_server(argc_of(file), (char **)file, &a), 0);
	assert_string_equal(a.file, "./data");
	assert_int_equal(a.chunk_bytes, 16384);

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (sp_hc_parse_server(argc_of(bad[i]), (char **)bad[i], &a) != -EINVAL)
			fail_msg("bad server case %zu (%s) accepted", i, bad[i][1]);
}

static void test_parse_client(void **state)
{
	const char *defaults[ARGS_MAX] = { "client" };
	const char *full[ARGS_MAX] = { "client", "-s", "lb:443", "-b", "4k", "-r", "30s", "-w",
				       "1s", "-e", "20M", "-p", "64M", "--json" };
	const char *const bad[][ARGS_MAX] = {
		{ "client", "--write-timeout", "soon" },
		{ "client", "--read-timeout", "0" },
		{ "client", "--buf-size", "0" },
		{ "client", "--expect-bytes", "x" },
		{ "client", "--peer-buffer", "0" },
		{ "client", "-p", "lots" },
		{ "client", "--server" },
		{ "client", "lb:443" },
		{ "client", "--log-level", "" },
	};
	struct sp_hc_client_args a;
	size_t i;

	assert_int_equal(sp_hc_parse_client(argc_of(defaults), (char **)defaults, &a), 0);
	assert_string_equal(a.server, "127.0.0.1:4000");
	assert_int_equal(a.buf_size, 1024);
	assert_int_equal(a.read_timeout_ms, 600000);
	assert_int_equal(a.write_timeout_ms, 600000);
	assert_true(a.expect_bytes == 0);
	assert_true(a.peer_buffer == 8ull << 20);
	assert_false(a.json);

	assert_int_equal(sp_hc_parse_client(argc_of(full), (char **)full, &a), 0);
	sp_json_output = false;
	assert_string_equal(a.server, "lb:443");
	assert_int_equal(a.buf_size, 4096);
	assert_int_equal(a.read_timeout_ms, 30000);
	assert_int_equal(a.write_timeout_ms, 1000);
	assert_true(a.expect_bytes == 20ull << 20);
	assert_true(a.peer_buffer == 64ull << 20);
	assert_true(a.json);

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (sp_hc_parse_client(argc_of(bad[i]), (char **)bad[i], &a) != -EINVAL)
			fail_msg("bad client case %zu (%s) accepted", i, bad[i][1]);
}

#define MS 1000000ull

struct verdict_case {
	const char *name;
	struct sp_hc_figures f;
	enum sp_hc_verdict v;
	const char *why; /* a part of the reason */
};

static const struct verdict_case verdict_cases[] = {
	{ "kept sending, all bytes, clean EOF",
	  { .fin_out = true, .fin_in = true, .eof = true, .fin_out_ns = 1000 * MS,
	    .fin_in_ns = 2000 * MS, .bytes_read = 20 << 20, .bytes_after_fin = 10 << 20,
	    .expect_bytes = 20 << 20 },
	  SP_HC_HONOURED, "all expected" },
	/* Without --expect-bytes: only bytes beyond what the peer can have queued count. */
	{ "size unknown, 100 bytes after our FIN, 1 s later: may be its queue",
	  { .fin_out = true, .fin_in = true, .eof = true, .fin_out_ns = 1000 * MS,
	    .fin_in_ns = 2000 * MS, .bytes_read = 5000, .bytes_after_fin = 100,
	    .peer_buffer = 8 << 20, .rcvbuf_bytes = 131072 },
	  SP_HC_INCONCLUSIVE, "may have closed on our FIN" },
	{ "issue 10: closed on EOF at full speed, 3.3 MB of send buffer 7 ms after our FIN",
	  { .fin_out = true, .fin_in = true, .eof = true, .fin_out_ns = 1000 * MS,
	    .fin_in_ns = 1007 * MS, .bytes_read = 400 << 20, .bytes_after_fin = 3300000,
	    .peer_buffer = 8 << 20, .rcvbuf_bytes = 1 << 20 },
	  SP_HC_INCONCLUSIVE, "the peer's FIN came 7.000 ms after ours with 3300000 bytes in between" },
	{ "a send buffer grown past --peer-buffer, within our receive buffer",
	  { .fin_out = true, .fin_in = true, .eof = true, .fin_out_ns = 1000 * MS,
	    .fin_in_ns = 1005 * MS, .bytes_read = 400 << 20, .bytes_after_fin = 5 << 20,
	    .peer_buffer = 4 << 20, .rcvbuf_bytes = 2 << 20 },
	  SP_HC_INCONCLUSIVE, "(6291456: --peer-buffer 4194304 and our receive buffer 2097152)" },
	{ "exactly the bound: still inconclusive",
	  { .fin_out = true, .fin_in = true, .eof = true, .fin_out_ns = 1000 * MS,
	    .fin_in_ns = 1010 * MS, .bytes_read = 400 << 20,
	    .bytes_after_fin = (8 << 20) + (1 << 20), .peer_buffer = 8 << 20,
	    .rcvbuf_bytes = 1 << 20 },
	  SP_HC_INCONCLUSIVE, "no more than the peer can have queued" },
	{ "one byte beyond the bound: it kept writing after our FIN",
	  { .fin_out = true, .fin_in = true, .eof = true, .fin_out_ns = 1000 * MS,
	    .fin_in_ns = 1010 * MS, .bytes_read = 400 << 20,
	    .bytes_after_fin = (8 << 20) + (1 << 20) + 1, .peer_buffer = 8 << 20,
	    .rcvbuf_bytes = 1 << 20 },
	  SP_HC_HONOURED, "9437185 of them after our FIN (more than the 9437184 it can have queued)" },
	{ "full speed, streamed 1 s after EOF: 600 MB after our FIN",
	  { .fin_out = true, .fin_in = true, .eof = true, .fin_out_ns = 1000 * MS,
	    .fin_in_ns = 2000 * MS, .bytes_read = 900000000, .bytes_after_fin = 600000000,
	    .peer_buffer = 8 << 20, .rcvbuf_bytes = 6 << 20 },
	  SP_HC_HONOURED, "600000000 of them after our FIN" },
	{ "paced at 20 MB/s, streamed on 1 s after our FIN",
	  { .fin_out = true, .fin_in = true, .eof = true, .fin_out_ns = 1000 * MS,
	    .fin_in_ns = 2000 * MS, .bytes_read = 40 << 20, .bytes_after_fin = 20 << 20,
	    .peer_buffer = 8 << 20, .rcvbuf_bytes = 1 << 20 },
	  SP_HC_HONOURED, "all before the peer's FIN" },
	{ "paced, closed on EOF: a few segments in flight",
	  { .fin_out = true, .fin_in = true, .eof = true, .fin_out_ns = 1000 * MS,
	    .fin_in_ns = 1000 * MS + 200000, .bytes_read = 10 << 20, .bytes_after_fin = 32768,
	    .peer_buffer = 8 << 20, .rcvbuf_bytes = 131072 },
	  SP_HC_INCONCLUSIVE, "may have closed on our FIN" },
	{ "EOF without the peer's FIN seen, within the bound",
	  { .fin_out = true, .eof = true, .fin_out_ns = 1000 * MS, .bytes_read = 10 << 20,
	    .bytes_after_fin = 1 << 20, .peer_buffer = 8 << 20 },
	  SP_HC_INCONCLUSIVE, "EOF came with 1048576 bytes in between" },
	{ "with --expect-bytes, every byte: honoured whatever the bound",
	  { .fin_out = true, .fin_in = true, .eof = true, .fin_out_ns = 1000 * MS,
	    .fin_in_ns = 1007 * MS, .bytes_read = 20 << 20, .bytes_after_fin = 3300000,
	    .expect_bytes = 20 << 20, .peer_buffer = 8 << 20, .rcvbuf_bytes = 1 << 20 },
	  SP_HC_HONOURED, "all expected" },
	{ "closed on our FIN, short of the size",
	  { .fin_out = true, .fin_in = true, .eof = true, .fin_out_ns = 1000 * MS,
	    .fin_in_ns = 1001 * MS, .bytes_read = 10 << 20, .bytes_after_fin = 65536,
	    .expect_bytes = 20 << 20 },
	  SP_HC_NOT_HONOURED, "10485760 of 20971520" },
	{ "closed on our FIN, nothing after it",
	  { .fin_out = true, .fin_in = true, .eof = true, .fin_out_ns = 1000 * MS,
	    .fin_in_ns = 1001 * MS, .bytes_read = 4096 },
	  SP_HC_NOT_HONOURED, "sent nothing after our FIN" },
	{ "reset on our FIN (RST seen)",
	  { .fin_out = true, .rst_in = true, .fin_out_ns = 1000 * MS, .bytes_read = 4096,
	    .read_error = ECONNRESET },
	  SP_HC_NOT_HONOURED, "reset" },
	{ "reset, seen only by read()",
	  { .fin_out = true, .read_error = ECONNRESET, .fin_out_ns = 1000 * MS },
	  SP_HC_NOT_HONOURED, "reset" },
	{ "our FIN never went out",
	  { .fin_in = true, .eof = true, .fin_in_ns = 500 * MS, .bytes_read = 100,
	    .expect_bytes = 100 },
	  SP_HC_INCONCLUSIVE, "never went out" },
	{ "the peer's FIN before ours",
	  { .fin_out = true, .fin_in = true, .eof = true, .fin_out_ns = 1000 * MS,
	    .fin_in_ns = 999 * MS, .bytes_read = 100 },
	  SP_HC_INCONCLUSIVE, "before ours" },
	{ "no EOF before the read timeout",
	  { .fin_out = true, .fin_out_ns = 1000 * MS, .bytes_read = 100, .bytes_after_fin = 50 },
	  SP_HC_INCONCLUSIVE, "read timeout" },
	{ "another read error",
	  { .fin_out = true, .fin_out_ns = 1000 * MS, .read_error = EIO },
	  SP_HC_INCONCLUSIVE, "read failed" },
	{ "more than expected",
	  { .fin_out = true, .fin_in = true, .eof = true, .fin_out_ns = 1000 * MS,
	    .fin_in_ns = 2000 * MS, .bytes_read = 200, .bytes_after_fin = 100, .expect_bytes = 100 },
	  SP_HC_INCONCLUSIVE, "more than" },
};

static void test_verdict(void **state)
{
	char why[512];
	size_t i;

	for (i = 0; i < sizeof(verdict_cases) / sizeof(verdict_cases[0]); i++) {
		const struct verdict_case *c = &verdict_cases[i];
		enum sp_hc_verdict v = sp_hc_verdict(&c->f, why, sizeof(why));

		if (v != c->v || !strstr(why, c->why))
			fail_msg("%s: verdict '%s' (%s), expected '%s' with '%s'", c->name,
				 sp_hc_verdict_str(v), why, sp_hc_verdict_str(c->v), c->why);
	}
	assert_string_equal(sp_hc_verdict_str(SP_HC_HONOURED), "half-close honoured");
	assert_string_equal(sp_hc_verdict_str(SP_HC_NOT_HONOURED), "half-close not honoured");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_size),
		cmocka_unit_test(test_log_level),
		cmocka_unit_test(test_parse_server),
		cmocka_unit_test(test_parse_client),
		cmocka_unit_test(test_verdict),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
