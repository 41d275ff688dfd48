/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * expect.h - the send/expect steps of a check (--send STR --expect REGEX, serve's
 * query_response: list), as a state machine that does no I/O itself: the caller writes what it
 * is told to send and hands in what it reads, over a plain socket or a TLS session alike.
 *
 * Each step sends its bytes (may be none), then waits until its pattern (may be none) matches
 * what has been read since the previous step's match. Patterns are PCRE2 (Perl-compatible,
 * Debian's libpcre2-8) with PCRE2_MULTILINE, so ^ and $ match at line starts and ends (as
 * blackbox_exporter's query_response matches a line); they run on the bytes as read (NUL bytes
 * included), of which at most SP_EXPECT_BUF_MAX are kept: a reply that fills them without a match
 * is a mismatch, and so is a pattern that backtracks beyond SP_EXPECT_MATCH_LIMIT (the reason
 * says so). The pattern runs on what has been read at each read: a match there passes the step
 * at once (a greedy end such as "\s*" takes what has come); no match waits for more, and is a
 * mismatch at the end of the reply (EOF), a timeout at the deadline. While more may come, $
 * matches before a newline but not at the end of what was read (PCRE2_NOTEOL); at the end it
 * does.
 */
#ifndef __SP_EXPECT_H
#define __SP_EXPECT_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#define SP_EXPECT_BUF_MAX     4096 /* bytes of reply a pattern is matched against */
#define SP_EXPECT_STEPS_MAX   16   /* steps of one check */
#define SP_EXPECT_PATTERN_MAX 1024
#define SP_EXPECT_SEND_MAX    4096    /* bytes one step sends */
#define SP_EXPECT_MATCH_LIMIT 1000000 /* pcre2_set_match_limit(): backtracking steps per match */

/*
 * struct sp_steps: the steps as configured, compiled once; read-only after the last
 * sp_steps_add(), so any number of runs (checks, threads) may share them.
 * struct sp_exchange: one run of the steps on one connection: where it is, what it read.
 */
struct sp_steps;
struct sp_exchange;

/* What the caller does next (sp_exchange_next()). */
enum sp_xchg_state {
	SP_XCHG_SEND,	  /* write the bytes given, then sp_exchange_sent() */
	SP_XCHG_RECV,	  /* read, then sp_exchange_received() */
	SP_XCHG_DONE,	  /* every step passed */
	SP_XCHG_MISMATCH, /* a reply did not match: sp_exchange_reason() says how */
	SP_XCHG_TIMEOUT,  /* sp_exchange_deadline() came first: sp_exchange_reason() says where */
};

/* sp_steps_new - no steps yet (a run of none is DONE at once). NULL with errno ENOMEM. */
struct sp_steps *sp_steps_new(void);

/* sp_steps_free - frees @s and its compiled patterns (after every run of them); NULL ok. */
void sp_steps_free(struct sp_steps *s);

/*
 * sp_steps_add - append a step: send @send_len bytes of @send (may be 0; copied), then expect
 * @pattern (NULL: none). Returns 0, or -EINVAL (the pattern does not compile: one line in @err
 * with PCRE2's message and the offset), -E2BIG (more than SP_EXPECT_STEPS_MAX steps, a pattern
 * longer than SP_EXPECT_PATTERN_MAX, a send longer than SP_EXPECT_SEND_MAX), -ENOMEM.
 */
int sp_steps_add(struct sp_steps *s, const __u8 *send, size_t send_len, const char *pattern,
		 char *err, size_t errlen);

/* sp_steps_count - how many steps @s has. */
unsigned int sp_steps_count(const struct sp_steps *s);

/*
 * sp_exchange_new - a run of @steps (not copied: they must outlive it), at its start. NULL with
 * errno ENOMEM. About 4.5 KiB (the reply buffer).
 */
struct sp_exchange *sp_exchange_new(const struct sp_steps *steps);

/* sp_exchange_free - frees the run @x (not its steps); NULL is accepted. */
void sp_exchange_free(struct sp_exchange *x);

/*
 * sp_exchange_next - what to do now. For SP_XCHG_SEND, *@data and *@len are the bytes still to
 * write (valid until the next call).
 */
enum sp_xchg_state sp_exchange_next(struct sp_exchange *x, const __u8 **data, size_t *len);

/* sp_exchange_sent - @n of the bytes sp_exchange_next() gave were written. */
void sp_exchange_sent(struct sp_exchange *x, size_t n);

/*
 * sp_exchange_received - @len bytes were read (@eof: the peer closed, or a read failed: the
 * reply ended). Returns the new state: the current step's pattern matched (the
 * bytes up to the match's end are consumed, the rest stay for the next step) and the next step
 * is due; or RECV for more; or MISMATCH at EOF, or when SP_EXPECT_BUF_MAX bytes hold no match.
 */
enum sp_xchg_state sp_exchange_received(struct sp_exchange *x, const __u8 *data, size_t len,
					bool eof);

/* sp_exchange_matched - how many patterns matched so far. */
unsigned int sp_exchange_matched(const struct sp_exchange *x);

/*
 * sp_exchange_deadline - the check's time is up. What was read is matched one last time as at
 * a reply's end ($ matches there); then a step still waiting for its reply or still sending
 * makes it TIMEOUT (not MISMATCH: the reply did not come, it was not wrong), and
 * sp_exchange_reason() says "step 1: expect '^220 ' not matched before the deadline; 0 bytes
 * read" (with the start of what was read, if any) or "step 2: send not written before the
 * deadline; 0 of 6 bytes written". Returns DONE if the last match ended the steps, or
 * MISMATCH if the run had already ended so (or the last match failed: match limit).
 */
enum sp_xchg_state sp_exchange_deadline(struct sp_exchange *x);

/*
 * sp_exchange_reason - one line on a mismatch or a timeout: the step, its pattern, and the
 * start of what was read, escaped (e.g. "step 1: expect '^220' did not match the 19 bytes read
 * before the end: 'SSH-2.0-OpenSSH_9.2\r\n'"). "" otherwise.
 */
const char *sp_exchange_reason(const struct sp_exchange *x);

#endif
