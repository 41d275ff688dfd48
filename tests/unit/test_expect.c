// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_expect.c - send/expect steps (expect.c): the order of sends and receives, a match split
 * over reads, a reply carried over to the next step, NUL bytes in a reply, a match that reaches
 * the end of what was read ($ only at the end of the reply), mismatch at EOF and when the bounded
 * buffer fills, a timeout (not a mismatch) at the deadline, a bad pattern, too many steps, the
 * mismatch's one-line reason.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>
#include "expect.h"

#define S(str) (const __u8 *)(str), sizeof(str) - 1

static void test_send_then_expect(void **state)
{
	struct sp_steps *st = sp_steps_new();
	struct sp_exchange *x;
	const __u8 *data;
	char err[256];
	size_t len;

	assert_non_null(st);
	assert_int_equal(sp_steps_add(st, S("PING\r\n"), "^\\+PONG\\r$", err, sizeof(err)), 0);
	x = sp_exchange_new(st);
	assert_non_null(x);
	assert_int_equal(sp_exchange_next(x, &data, &len), SP_XCHG_SEND);
	assert_int_equal(len, 6);
	assert_memory_equal(data, "PING\r\n", 6);
	sp_exchange_sent(x, 2); /* a short write */
	assert_int_equal(sp_exchange_next(x, &data, &len), SP_XCHG_SEND);
	assert_int_equal(len, 4);
	assert_memory_equal(data, "NG\r\n", 4);
	sp_exchange_sent(x, 4);
	assert_int_equal(sp_exchange_next(x, &data, &len), SP_XCHG_RECV);
	/* The match comes in three reads. */
	assert_int_equal(sp_exchange_received(x, S("+PO"), false), SP_XCHG_RECV);
	assert_int_equal(sp_exchange_received(x, S("NG\r"), false), SP_XCHG_RECV);
	assert_int_equal(sp_exchange_matched(x), 0);
	assert_int_equal(sp_exchange_received(x, S("\n"), false), SP_XCHG_DONE);
	assert_int_equal(sp_exchange_matched(x), 1);
	assert_string_equal(sp_exchange_reason(x), "");
	sp_exchange_free(x);
	sp_steps_free(st);
}

/* A banner first (no send), then a command; the second reply came with the first read. */
static void test_banner_and_carry_over(void **state)
{
	struct sp_steps *st = sp_steps_new();
	struct sp_exchange *x;
	const __u8 *data;
	char err[256];
	size_t len;

	assert_int_equal(sp_steps_add(st, NULL, 0, "^220 ", err, sizeof(err)), 0);
	assert_int_equal(sp_steps_add(st, S("QUIT\r\n"), "^221", err, sizeof(err)), 0);
	x = sp_exchange_new(st);
	assert_int_equal(sp_exchange_next(x, &data, &len), SP_XCHG_RECV);
	/* "220 " matches; "hi\r\n221 bye" stays for step 2, which has to send first. */
	assert_int_equal(sp_exchange_received(x, S("220 hi\r\n221 bye\r\n"), false), SP_XCHG_SEND);
	assert_int_equal(sp_exchange_next(x, &data, &len), SP_XCHG_SEND);
	assert_memory_equal(data, "QUIT\r\n", 6);
	sp_exchange_sent(x, len);
	assert_int_equal(sp_exchange_received(x, NULL, 0, false), SP_XCHG_DONE);
	assert_int_equal(sp_exchange_matched(x), 2);
	sp_exchange_free(x);
	sp_steps_free(st);
}

/* Binary replies: a NUL byte before the match does not end the subject. */
static void test_binary(void **state)
{
	struct sp_steps *st = sp_steps_new();
	struct sp_exchange *x;
	char err[256];

	assert_int_equal(sp_steps_add(st, S("\x00\x01"), "\\x00\\xffOK", err, sizeof(err)), 0);
	x = sp_exchange_new(st);
	sp_exchange_sent(x, 2);
	assert_int_equal(sp_exchange_received(x, S("\x00\x00\xffO"), false), SP_XCHG_RECV);
	assert_int_equal(sp_exchange_received(x, S("K"), false), SP_XCHG_DONE);
	sp_exchange_free(x);
	sp_steps_free(st);
}

static void test_mismatch_at_eof(void **state)
{
	struct sp_steps *st = sp_steps_new();
	struct sp_exchange *x;
	char err[256];

	assert_int_equal(sp_steps_add(st, NULL, 0, "^220", err, sizeof(err)), 0);
	x = sp_exchange_new(st);
	assert_int_equal(sp_exchange_received(x, S("SSH-2.0-OpenSSH_9.2\r\n"), false),
			 SP_XCHG_RECV);
	assert_int_equal(sp_exchange_received(x, NULL, 0, true), SP_XCHG_MISMATCH);
	assert_string_equal(sp_exchange_reason(x),
			    "step 1: expect '^220' did not match the 21 bytes read before the end: "
			    "'SSH-2.0-OpenSSH_9.2\\r\\n'");
	/* It stays a mismatch. */
	assert_int_equal(sp_exchange_received(x, S("220 late\r\n"), false), SP_XCHG_MISMATCH);
	assert_int_equal(sp_exchange_matched(x), 0);
	sp_exchange_free(x);
	sp_steps_free(st);
}

/*
 * The deadline while a reply is awaited: a timeout naming the step, its pattern and what was
 * read, not a mismatch; what was read still matches as a reply's end ($ there); a step still
 * sending is a timeout too; a run already ended keeps its state.
 */
static void test_deadline(void **state)
{
	struct sp_steps *st = sp_steps_new();
	struct sp_exchange *x;
	const __u8 *data;
	char err[256];
	size_t len;

	assert_int_equal(sp_steps_add(st, NULL, 0, "^220 ", err, sizeof(err)), 0);
	assert_int_equal(sp_steps_add(st, S("QUIT\r\n"), "^\\+OK$", err, sizeof(err)), 0);
	/* Nothing came. */
	x = sp_exchange_new(st);
	assert_int_equal(sp_exchange_deadline(x), SP_XCHG_TIMEOUT);
	assert_string_equal(sp_exchange_reason(x),
			    "step 1: expect '^220 ' not matched before the deadline; 0 bytes read");
	assert_int_equal(sp_exchange_next(x, &data, &len), SP_XCHG_TIMEOUT);
	assert_int_equal(sp_exchange_received(x, S("220 late\r\n"), false), SP_XCHG_TIMEOUT);
	assert_int_equal(sp_exchange_matched(x), 0);
	sp_exchange_free(x);
	/* Not enough came. */
	x = sp_exchange_new(st);
	assert_int_equal(sp_exchange_received(x, S("22"), false), SP_XCHG_RECV);
	assert_int_equal(sp_exchange_deadline(x), SP_XCHG_TIMEOUT);
	assert_string_equal(sp_exchange_reason(x),
			    "step 1: expect '^220 ' not matched before the deadline; 2 bytes read: "
			    "'22'");
	sp_exchange_free(x);
	/* Step 1 matched, step 2's send did not go out. */
	x = sp_exchange_new(st);
	assert_int_equal(sp_exchange_received(x, S("220 hi\r\n"), false), SP_XCHG_SEND);
	sp_exchange_sent(x, 2);
	assert_int_equal(sp_exchange_deadline(x), SP_XCHG_TIMEOUT);
	assert_string_equal(sp_exchange_reason(x),
			    "step 2: send not written before the deadline; 2 of 6 bytes written");
	assert_int_equal(sp_exchange_matched(x), 1);
	sp_exchange_free(x);
	/* "+OK" with no newline: $ matches at the deadline, the run is done. */
	x = sp_exchange_new(st);
	assert_int_equal(sp_exchange_received(x, S("220 hi\r\n"), false), SP_XCHG_SEND);
	sp_exchange_sent(x, 6);
	assert_int_equal(sp_exchange_received(x, S("+OK"), false), SP_XCHG_RECV);
	assert_int_equal(sp_exchange_deadline(x), SP_XCHG_DONE);
	assert_int_equal(sp_exchange_matched(x), 2);
	sp_exchange_free(x);
	/* A mismatch stays one. */
	x = sp_exchange_new(st);
	assert_int_equal(sp_exchange_received(x, S("SSH-2.0-x\r\n"), true), SP_XCHG_MISMATCH);
	assert_int_equal(sp_exchange_deadline(x), SP_XCHG_MISMATCH);
	sp_exchange_free(x);
	sp_steps_free(st);
}

/*
 * A pattern whose match reaches the end of what was read matches at once, not only at the end
 * of the reply: a server that then waits (SMTP, for a command) must not turn it into a mismatch
 * at the deadline. Its $ waits for a newline, or for the end.
 */
static void test_match_at_the_end(void **state)
{
	struct sp_steps *st = sp_steps_new();
	struct sp_exchange *x;
	char err[256];

	assert_int_equal(sp_steps_add(st, NULL, 0, "ESMTP\\s*", err, sizeof(err)), 0);
	x = sp_exchange_new(st);
	assert_int_equal(sp_exchange_received(x, S("220 sptest ESMTP\r\n"), false), SP_XCHG_DONE);
	assert_int_equal(sp_exchange_matched(x), 1);
	sp_exchange_free(x);
	/* Nothing read before the end: a mismatch. */
	x = sp_exchange_new(st);
	assert_int_equal(sp_exchange_received(x, NULL, 0, true), SP_XCHG_MISMATCH);
	sp_exchange_free(x);
	sp_steps_free(st);

	st = sp_steps_new();
	assert_int_equal(sp_steps_add(st, NULL, 0, "^\\+PONG$", err, sizeof(err)), 0);
	/* "+PONG" then "G": the end of a read is not the end of a line. */
	x = sp_exchange_new(st);
	assert_int_equal(sp_exchange_received(x, S("+PONG"), false), SP_XCHG_RECV);
	assert_int_equal(sp_exchange_received(x, S("G\n"), false), SP_XCHG_RECV);
	assert_int_equal(sp_exchange_received(x, NULL, 0, true), SP_XCHG_MISMATCH);
	sp_exchange_free(x);
	/* "+PONG" then the end (EOF): $ matches there. */
	x = sp_exchange_new(st);
	assert_int_equal(sp_exchange_received(x, S("+PONG"), false), SP_XCHG_RECV);
	assert_int_equal(sp_exchange_received(x, NULL, 0, true), SP_XCHG_DONE);
	sp_exchange_free(x);
	/* "+PONG\n": $ before the newline. */
	x = sp_exchange_new(st);
	assert_int_equal(sp_exchange_received(x, S("+PONG\n"), false), SP_XCHG_DONE);
	sp_exchange_free(x);
	sp_steps_free(st);
}

/* A reply that fills the buffer with no match is a mismatch, whatever follows. */
static void test_bounded(void **state)
{
	struct sp_steps *st = sp_steps_new();
	struct sp_exchange *x;
	static __u8 junk[SP_EXPECT_BUF_MAX + 100];
	char err[256];

	memset(junk, 'a', sizeof(junk));
	assert_int_equal(sp_steps_add(st, NULL, 0, "OK", err, sizeof(err)), 0);
	x = sp_exchange_new(st);
	assert_int_equal(sp_exchange_received(x, junk, SP_EXPECT_BUF_MAX - 1, false), SP_XCHG_RECV);
	assert_int_equal(sp_exchange_received(x, junk, 100, false), SP_XCHG_MISMATCH);
	assert_non_null(strstr(sp_exchange_reason(x), "in the first 4096 bytes read: 'aaaa"));
	assert_null(strchr(sp_exchange_reason(x), '\n'));
	sp_exchange_free(x);
	sp_steps_free(st);
}

/* A pattern that backtracks without end meets the match limit: a mismatch that says so. */
static void test_match_limit(void **state)
{
	struct sp_steps *st = sp_steps_new();
	struct sp_exchange *x;
	static __u8 as[64];
	char err[256];

	memset(as, 'a', sizeof(as));
	assert_int_equal(sp_steps_add(st, NULL, 0, "^(a+)+$", err, sizeof(err)), 0);
	x = sp_exchange_new(st);
	assert_int_equal(sp_exchange_received(x, as, sizeof(as), false), SP_XCHG_MISMATCH);
	assert_non_null(strstr(sp_exchange_reason(x), "limit"));
	sp_exchange_free(x);
	sp_steps_free(st);
}

/* Two runs of the same steps at once: each keeps its own place and bytes. */
static void test_shared_steps(void **state)
{
	struct sp_steps *st = sp_steps_new();
	struct sp_exchange *a, *b;
	const __u8 *data;
	char err[256];
	size_t len;

	assert_int_equal(sp_steps_add(st, S("HELO\r\n"), "^250 ", err, sizeof(err)), 0);
	a = sp_exchange_new(st);
	b = sp_exchange_new(st);
	assert_non_null(a);
	assert_non_null(b);
	assert_int_equal(sp_exchange_next(a, &data, &len), SP_XCHG_SEND);
	sp_exchange_sent(a, len);
	assert_int_equal(sp_exchange_received(a, S("25"), false), SP_XCHG_RECV);
	/* b has sent nothing yet, whatever a did. */
	assert_int_equal(sp_exchange_next(b, &data, &len), SP_XCHG_SEND);
	assert_int_equal(len, 6);
	sp_exchange_sent(b, len);
	assert_int_equal(sp_exchange_received(b, S("550 no\r\n"), true), SP_XCHG_MISMATCH);
	assert_int_equal(sp_exchange_received(a, S("0 ok\r\n"), false), SP_XCHG_DONE);
	assert_int_equal(sp_exchange_matched(a), 1);
	assert_int_equal(sp_exchange_matched(b), 0);
	sp_exchange_free(a);
	sp_exchange_free(b);
	sp_steps_free(st);
}

static void test_bad_input(void **state)
{
	struct sp_steps *st = sp_steps_new();
	struct sp_exchange *x;
	char err[256] = "", big[SP_EXPECT_PATTERN_MAX + 2];
	const __u8 *data;
	size_t len;
	int i;

	assert_int_equal(sp_steps_add(st, NULL, 0, "(unclosed", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "expect '(unclosed': missing closing parenthesis at offset 9"));
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(sp_steps_add(st, NULL, 0, big, err, sizeof(err)), -E2BIG);
	assert_int_equal(sp_steps_add(st, NULL, SP_EXPECT_SEND_MAX + 1, NULL, err, sizeof(err)),
			 -E2BIG);
	/* No steps: done at once. */
	x = sp_exchange_new(st);
	assert_int_equal(sp_exchange_next(x, &data, &len), SP_XCHG_DONE);
	sp_exchange_free(x);
	for (i = 0; i < SP_EXPECT_STEPS_MAX; i++)
		assert_int_equal(sp_steps_add(st, S("x"), NULL, err, sizeof(err)), 0);
	assert_int_equal(sp_steps_add(st, S("x"), NULL, err, sizeof(err)), -E2BIG);
	assert_int_equal(sp_steps_count(st), SP_EXPECT_STEPS_MAX);
	x = sp_exchange_new(st);
	/* Sends only: one after the other, then done without reading. */
	for (i = 0; i < SP_EXPECT_STEPS_MAX; i++) {
		assert_int_equal(sp_exchange_next(x, &data, &len), SP_XCHG_SEND);
		sp_exchange_sent(x, len);
	}
	assert_int_equal(sp_exchange_next(x, &data, &len), SP_XCHG_DONE);
	sp_exchange_free(x);
	sp_steps_free(st);
	sp_exchange_free(NULL);
	sp_steps_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_send_then_expect), cmocka_unit_test(test_banner_and_carry_over),
	    cmocka_unit_test(test_binary),	     cmocka_unit_test(test_mismatch_at_eof),
	    cmocka_unit_test(test_bounded),	     cmocka_unit_test(test_bad_input),
	    cmocka_unit_test(test_match_limit),	     cmocka_unit_test(test_shared_steps),
	    cmocka_unit_test(test_match_at_the_end), cmocka_unit_test(test_deadline),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
