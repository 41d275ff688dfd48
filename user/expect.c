// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* expect.c - send/expect steps with PCRE2 on a bounded buffer (expect.h). */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pcre2.h>
#include "expect.h"

struct sp_step {
	__u8 *send;
	size_t send_len;
	pcre2_code *re; /* NULL: nothing expected */
	char *pattern;	/* as given, for messages */
};

/* Read-only once built: compiled patterns and the match context are shared by every run. */
struct sp_steps {
	struct sp_step steps[SP_EXPECT_STEPS_MAX];
	size_t n_steps;
	pcre2_match_context *mc; /* the match limit */
};

struct sp_exchange {
	const struct sp_steps *s;
	size_t step; /* the current one */
	size_t sent; /* bytes of its send written */
	bool mismatch;
	bool timed_out; /* sp_exchange_deadline() found the steps unfinished */
	unsigned int matched;
	pcre2_match_data *md; /* written by each match: one per run */
	__u8 buf[SP_EXPECT_BUF_MAX];
	size_t len;
	char reason[512];
};

static void escape(const __u8 *p, size_t n, char *out, size_t size);

struct sp_steps *sp_steps_new(void)
{
	struct sp_steps *s = calloc(1, sizeof(*s));

	if (!s) {
		errno = ENOMEM;
		return NULL;
	}
	s->mc = pcre2_match_context_create(NULL);
	if (!s->mc) {
		free(s);
		errno = ENOMEM;
		return NULL;
	}
	/* A pattern that backtracks without end fails the step, not the thread. */
	pcre2_set_match_limit(s->mc, SP_EXPECT_MATCH_LIMIT);
	pcre2_set_depth_limit(s->mc, SP_EXPECT_MATCH_LIMIT / 10);
	return s;
}

void sp_steps_free(struct sp_steps *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->n_steps; i++) {
		free(s->steps[i].send);
		free(s->steps[i].pattern);
		pcre2_code_free(s->steps[i].re);
	}
	pcre2_match_context_free(s->mc);
	free(s);
}

unsigned int sp_steps_count(const struct sp_steps *s)
{
	return (unsigned int)s->n_steps;
}

int sp_steps_add(struct sp_steps *x, const __u8 *send, size_t send_len, const char *pattern,
		 char *err, size_t errlen)
{
	struct sp_step *s;
	PCRE2_UCHAR msg[160];
	char shown[160];
	PCRE2_SIZE off;
	int code;

	if (x->n_steps == SP_EXPECT_STEPS_MAX) {
		snprintf(err, errlen, "more than %d send/expect steps: use fewer",
			 SP_EXPECT_STEPS_MAX);
		return -E2BIG;
	}
	if (pattern && strlen(pattern) > SP_EXPECT_PATTERN_MAX) {
		snprintf(err, errlen, "expect pattern longer than %d characters: shorten it",
			 SP_EXPECT_PATTERN_MAX);
		return -E2BIG;
	}
	if (send_len > SP_EXPECT_SEND_MAX) {
		snprintf(err, errlen, "send of %zu bytes: at most %d", send_len,
			 SP_EXPECT_SEND_MAX);
		return -E2BIG;
	}
	s = &x->steps[x->n_steps];
	memset(s, 0, sizeof(*s));
	if (pattern) {
		s->re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, PCRE2_MULTILINE,
				      &code, &off, NULL);
		if (!s->re) {
			pcre2_get_error_message(code, msg, sizeof(msg));
			escape((const __u8 *)pattern, strlen(pattern) > 64 ? 64 : strlen(pattern),
			       shown, sizeof(shown));
			snprintf(err, errlen,
				 "expect '%s%s': %s at offset %zu: fix the regular expression "
				 "(PCRE2 syntax)",
				 shown, strlen(pattern) > 64 ? "..." : "", (char *)msg,
				 (size_t)off);
			return -EINVAL;
		}
		s->pattern = strdup(pattern);
		if (!s->pattern)
			goto nomem;
	}
	if (send_len) {
		s->send = malloc(send_len);
		if (!s->send)
			goto nomem;
		memcpy(s->send, send, send_len);
		s->send_len = send_len;
	}
	x->n_steps++;
	return 0;

nomem:
	free(s->send);
	free(s->pattern);
	pcre2_code_free(s->re);
	memset(s, 0, sizeof(*s));
	snprintf(err, errlen, "out of memory");
	return -ENOMEM;
}

struct sp_exchange *sp_exchange_new(const struct sp_steps *steps)
{
	struct sp_exchange *x = calloc(1, sizeof(*x));

	if (!x) {
		errno = ENOMEM;
		return NULL;
	}
	x->s = steps;
	x->md = pcre2_match_data_create(1, NULL);
	if (!x->md) {
		free(x);
		errno = ENOMEM;
		return NULL;
	}
	return x;
}

void sp_exchange_free(struct sp_exchange *x)
{
	if (!x)
		return;
	pcre2_match_data_free(x->md);
	free(x);
}

/* The current step has been sent and needs nothing (more): on to the next. */
static void skip_done_steps(struct sp_exchange *x)
{
	while (x->step < x->s->n_steps && x->sent == x->s->steps[x->step].send_len &&
	       !x->s->steps[x->step].re) {
		x->step++;
		x->sent = 0;
	}
}

enum sp_xchg_state sp_exchange_next(struct sp_exchange *x, const __u8 **data, size_t *len)
{
	const struct sp_step *s;

	if (x->mismatch)
		return SP_XCHG_MISMATCH;
	if (x->timed_out)
		return SP_XCHG_TIMEOUT;
	skip_done_steps(x);
	if (x->step == x->s->n_steps)
		return SP_XCHG_DONE;
	s = &x->s->steps[x->step];
	if (x->sent < s->send_len) {
		*data = s->send + x->sent;
		*len = s->send_len - x->sent;
		return SP_XCHG_SEND;
	}
	return SP_XCHG_RECV;
}

void sp_exchange_sent(struct sp_exchange *x, size_t n)
{
	const struct sp_step *s;

	if (x->step == x->s->n_steps)
		return;
	s = &x->s->steps[x->step];
	x->sent = x->sent + n > s->send_len ? s->send_len : x->sent + n;
}

/* @n bytes of @p, C-escaped and cut, into @out. */
static void escape(const __u8 *p, size_t n, char *out, size_t size)
{
	size_t i, o = 0;
	int w;

	for (i = 0; i < n && o + 8 < size; i++) {
		if (p[i] == '\r')
			w = snprintf(out + o, size - o, "\\r");
		else if (p[i] == '\n')
			w = snprintf(out + o, size - o, "\\n");
		else if (p[i] == '\\' || p[i] == '\'')
			w = snprintf(out + o, size - o, "\\%c", p[i]);
		else if (p[i] < 0x20 || p[i] >= 0x7f)
			w = snprintf(out + o, size - o, "\\x%02x", p[i]);
		else
			w = snprintf(out + o, size - o, "%c", p[i]);
		o += (size_t)w;
	}
	if (i < n && o + 4 < size)
		snprintf(out + o, size - o, "...");
}

/* The current step's pattern and what was read, both escaped and cut, for a reason. */
static void shown_step(const struct sp_exchange *x, char *shown, size_t shown_len, char *seen,
		       size_t seen_len)
{
	const char *pat = x->s->steps[x->step].pattern;
	size_t plen = strlen(pat);

	/* Both escaped: a pattern or a reply with a newline must not break the line. */
	escape(x->buf, x->len > 48 ? 48 : x->len, seen, seen_len);
	if (x->len > 48)
		snprintf(seen + strlen(seen), seen_len - strlen(seen), "...");
	escape((const __u8 *)pat, plen > 64 ? 64 : plen, shown, shown_len);
	if (plen > 64)
		snprintf(shown + strlen(shown), shown_len - strlen(shown), "...");
}

static enum sp_xchg_state mismatch(struct sp_exchange *x, const char *why)
{
	char seen[160], shown[160];

	shown_step(x, shown, sizeof(shown), seen, sizeof(seen));
	snprintf(x->reason, sizeof(x->reason), "step %zu: expect '%s' did not match %s: '%s'",
		 x->step + 1, shown, why, seen);
	x->mismatch = true;
	return SP_XCHG_MISMATCH;
}

/* Hands in @len bytes of @data; @eof: nothing more will come (the end of the reply). */
static enum sp_xchg_state feed(struct sp_exchange *x, const __u8 *data, size_t len, bool eof,
			       bool deadline)
{
	const __u8 *dummy;
	size_t room, dummy_len, end;
	PCRE2_SIZE *ov;
	const struct sp_step *s;
	char why[128];
	int rc;

	if (x->mismatch || x->timed_out)
		return sp_exchange_next(x, &dummy, &dummy_len);
	room = sizeof(x->buf) - x->len;
	if (len > room)
		len = room; /* what does not fit is never looked at: the buffer is full below */
	if (len) /* data is NULL at the deadline (kind_l7.c): memcpy's arguments must not be */
		memcpy(x->buf + x->len, data, len);
	x->len += len;
	for (;;) {
		if (sp_exchange_next(x, &dummy, &dummy_len) != SP_XCHG_RECV)
			return sp_exchange_next(x, &dummy, &dummy_len);
		s = &x->s->steps[x->step];
		/*
		 * A complete match in what has been read counts now, even one that reaches its end
		 * ("ESMTP\s*" on "220 ESMTP\r\n"): with PCRE2_PARTIAL_HARD, PCRE2 prefers "more
		 * might come" to such a match, and a server that then waits (for a command) turned
		 * a matching reply into a mismatch at the deadline. While more may come, the end of
		 * what was read is not a line's end (PCRE2_NOTEOL): "OK$" waits for "\n" or the end.
		 */
		rc = pcre2_match(s->re, x->buf, x->len, 0, eof ? 0 : PCRE2_NOTEOL, x->md,
				 x->s->mc);
		if (rc >= 0) {
			ov = pcre2_get_ovector_pointer(x->md);
			end = ov[1] > x->len ? x->len : ov[1];
			memmove(x->buf, x->buf + end, x->len - end);
			x->len -= end;
			x->matched++;
			x->step++;
			x->sent = 0;
			continue;
		}
		if (rc != PCRE2_ERROR_NOMATCH) {
			PCRE2_UCHAR msg[64];

			pcre2_get_error_message(rc, msg, sizeof(msg));
			snprintf(why, sizeof(why), "(%s) in the %zu bytes read", (char *)msg,
				 x->len);
			return mismatch(x, why);
		}
		if (x->len == sizeof(x->buf)) {
			snprintf(why, sizeof(why), "in the first %zu bytes read", sizeof(x->buf));
			return mismatch(x, why);
		}
		if (deadline)
			return SP_XCHG_RECV; /* sp_exchange_deadline() says it */
		if (eof) {
			snprintf(why, sizeof(why), "the %zu bytes read before the end", x->len);
			return mismatch(x, why);
		}
		return SP_XCHG_RECV;
	}
}

enum sp_xchg_state sp_exchange_received(struct sp_exchange *x, const __u8 *data, size_t len,
					bool eof)
{
	return feed(x, data, len, eof, false);
}

enum sp_xchg_state sp_exchange_deadline(struct sp_exchange *x)
{
	char seen[160], shown[160];
	enum sp_xchg_state st;
	const __u8 *data;
	size_t len;

	/* What was read is matched once more as a reply's end: "OK$" matches "OK" now. */
	st = feed(x, NULL, 0, true, true);
	if (st == SP_XCHG_SEND) {
		sp_exchange_next(x, &data, &len);
		snprintf(x->reason, sizeof(x->reason),
			 "step %zu: send not written before the deadline; %zu of %zu bytes written",
			 x->step + 1, x->sent, x->s->steps[x->step].send_len);
		x->timed_out = true;
		return SP_XCHG_TIMEOUT;
	}
	if (st != SP_XCHG_RECV)
		return st;
	shown_step(x, shown, sizeof(shown), seen, sizeof(seen));
	snprintf(x->reason, sizeof(x->reason),
		 "step %zu: expect '%s' not matched before the deadline; %zu bytes read%s%s%s",
		 x->step + 1, shown, x->len, x->len ? ": '" : "", x->len ? seen : "",
		 x->len ? "'" : "");
	x->timed_out = true;
	return SP_XCHG_TIMEOUT;
}

unsigned int sp_exchange_matched(const struct sp_exchange *x)
{
	return x->matched;
}

const char *sp_exchange_reason(const struct sp_exchange *x)
{
	return x->mismatch || x->timed_out ? x->reason : "";
}
