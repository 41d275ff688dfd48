// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_targets_file.c - sp_targets_file_read() on files in memory (fmemopen): comments, blank
 * lines, CRLF and white space, errors that name FILE:LINE, empty files, the -p default port.
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
#include "targets_file.h"

#define NAME "targets.txt"
#define MAX_EXPECT 8

struct expect_target {
	const char *text;
	const char *host;
	__u16 port;
	unsigned int line;
	bool ipv6_literal;
};

struct file_case {
	const char *what;
	const char *content;
	__u16 default_port;
	int rc;
	/* rc 0: the targets, in order */
	size_t n;
	struct expect_target t[MAX_EXPECT];
	/* rc != 0: the start of the message ("targets.txt:3: ") and a part of the rest */
	const char *err_prefix;
	const char *err_part;
};

static const struct file_case cases[] = {
	{ "one target", "10.0.0.1:80\n", 0, 0, 1,
	  { { "10.0.0.1:80", "10.0.0.1", 80, 1, false } }, NULL, NULL },
	{ "no newline at the end", "10.0.0.1:80\n10.0.0.2:81", 0, 0, 2,
	  { { "10.0.0.1:80", "10.0.0.1", 80, 1, false },
	    { "10.0.0.2:81", "10.0.0.2", 81, 2, false } }, NULL, NULL },
	{ "comments: whole lines, after a target, with spaces and '#' in them",
	  "# my targets\n#10.9.9.9:1\n10.0.0.1:80 # the web server\n  # indented comment\n"
	  "10.0.0.2:22# no space before\n###\n",
	  0, 0, 2,
	  { { "10.0.0.1:80", "10.0.0.1", 80, 3, false },
	    { "10.0.0.2:22", "10.0.0.2", 22, 5, false } }, NULL, NULL },
	{ "blank lines and white-space lines count as lines",
	  "\n\n   \n\t\n10.0.0.1:80\n\n\n[fd00::1]:443\n \t \n", 0, 0, 2,
	  { { "10.0.0.1:80", "10.0.0.1", 80, 5, false },
	    { "[fd00::1]:443", "fd00::1", 443, 8, true } }, NULL, NULL },
	{ "CRLF line ends, leading and trailing spaces and tabs",
	  "10.0.0.1:80\r\n   10.0.0.2:81   \r\n\t[fd00::1]:443\t\r\n\r\nhost.example:8080 \t\r\n", 0,
	  0, 4,
	  { { "10.0.0.1:80", "10.0.0.1", 80, 1, false },
	    { "10.0.0.2:81", "10.0.0.2", 81, 2, false },
	    { "[fd00::1]:443", "fd00::1", 443, 3, true },
	    { "host.example:8080", "host.example", 8080, 5, false } }, NULL, NULL },
	{ "CRLF before a comment", "10.0.0.1:80 #c\r\n#x\r\n10.0.0.3:83\r\n", 0, 0, 2,
	  { { "10.0.0.1:80", "10.0.0.1", 80, 1, false },
	    { "10.0.0.3:83", "10.0.0.3", 83, 3, false } }, NULL, NULL },
	{ "the -p default port applies to targets without one, a written port wins",
	  "10.0.0.1\n10.0.0.2:81\n[fd00::1]\nfd00::2\n[fd00::3]:8443\nname.example\n", 443, 0, 6,
	  { { "10.0.0.1", "10.0.0.1", 443, 1, false },
	    { "10.0.0.2:81", "10.0.0.2", 81, 2, false },
	    { "[fd00::1]", "fd00::1", 443, 3, true },
	    { "fd00::2", "fd00::2", 443, 4, true },
	    { "[fd00::3]:8443", "fd00::3", 8443, 5, true },
	    { "name.example", "name.example", 443, 6, false } }, NULL, NULL },
	{ "empty file", "", 0, 0, 0, {}, NULL, NULL },
	{ "only comments and blank lines", "# nothing here\n\n   # still nothing\r\n\t\n", 0, 0, 0,
	  {}, NULL, NULL },
	{ "the same target twice is two checks", "10.0.0.1:80\n10.0.0.1:80\n", 0, 0, 2,
	  { { "10.0.0.1:80", "10.0.0.1", 80, 1, false },
	    { "10.0.0.1:80", "10.0.0.1", 80, 2, false } }, NULL, NULL },

	/* errors: each names the file and the line */
	{ "two targets on a line (space)", "10.0.0.1:80\n# c\n10.0.0.2:80 10.0.0.3:80\n", 0,
	  -EINVAL, 0, {}, NAME ":3: ", "one target per line" },
	{ "two targets on a line (tab)", "\n10.0.0.2:80\t10.0.0.3:80 # c\n", 0, -EINVAL, 0, {},
	  NAME ":2: ", "one target per line" },
	{ "two targets on a CRLF line", "10.0.0.1:80\r\n10.0.0.2:80 10.0.0.3:80\r\n", 0, -EINVAL, 0,
	  {}, NAME ":2: ", "one target per line" },
	{ "port out of range", "10.0.0.1:80\n\n10.0.0.2:99999\n10.0.0.3:80\n", 0, -EINVAL, 0, {},
	  NAME ":3: ", "99999" },
	{ "port 0", "10.0.0.1:0\n", 0, -EINVAL, 0, {}, NAME ":1: ", "port" },
	{ "port not a number", "#\n#\n#\n#\nhost.example:http\n", 0, -EINVAL, 0, {}, NAME ":5: ",
	  "http" },
	{ "empty port", "10.0.0.1:\n", 0, -EINVAL, 0, {}, NAME ":1: ", "port" },
	{ "bad port with CRLF", "10.0.0.1:80\r\n10.0.0.2:8o\r\n", 0, -EINVAL, 0, {}, NAME ":2: ",
	  "8o" },
	{ "no port and no -p", "10.0.0.1:80\n10.0.0.2\n", 0, -EINVAL, 0, {}, NAME ":2: ", "-p" },
	{ "bare IPv6 and no -p", "fd00::1\n", 0, -EINVAL, 0, {}, NAME ":1: ", "-p" },
	{ "bad IPv6 literal", "\n[fd00::zz]:80\n", 0, -EINVAL, 0, {}, NAME ":2: ", "IPv6" },
	{ "the error comes at the first bad line", "10.0.0.1:99999\n10.0.0.2:80 10.0.0.3:80\n", 0,
	  -EINVAL, 0, {}, NAME ":1: ", "99999" },
};

static unsigned int check_case(const struct file_case *c)
{
	struct sp_target_list list;
	char err[512] = "";
	unsigned int bad = 0;
	size_t i;
	FILE *f;
	int rc;

	if (!*c->content) {
		/* An empty stream: a file of one byte read past first. */
		f = fmemopen((void *)"x", 1, "r");
		if (f)
			(void)fgetc(f);
	} else {
		f = fmemopen((void *)c->content, strlen(c->content), "r");
	}
	if (!f) {
		print_error("# %s: fmemopen failed\n", c->what);
		return 1;
	}
	memset(&list, 0xa5, sizeof(list)); /* garbage: the reader must initialize it */
	rc = sp_targets_file_read(f, NAME, c->default_port, &list, err, sizeof(err));
	fclose(f);
	if (rc != c->rc) {
		print_error("# %s: returned %d, expected %d (%s)\n", c->what, rc, c->rc, err);
		bad++;
	} else if (rc == 0) {
		if (list.n != c->n) {
			print_error("# %s: %zu targets, expected %zu\n", c->what, list.n, c->n);
			bad++;
		}
		for (i = 0; i < list.n && i < c->n; i++) {
			const struct sp_target_line *got = &list.items[i];
			const struct expect_target *e = &c->t[i];

			if (strcmp(got->text, e->text) || strcmp(got->spec.host, e->host) ||
			    got->spec.port != e->port || got->line != e->line ||
			    got->spec.ipv6_literal != e->ipv6_literal) {
				print_error("# %s: target %zu is '%s' host '%s' port %u line %u v6 %d, expected '%s' '%s' %u line %u v6 %d\n",
					    c->what, i, got->text, got->spec.host, got->spec.port,
					    got->line, got->spec.ipv6_literal, e->text, e->host,
					    e->port, e->line, e->ipv6_literal);
				bad++;
			}
		}
	} else {
		if (strncmp(err, c->err_prefix, strlen(c->err_prefix))) {
			print_error("# %s: message '%s' does not start with '%s'\n", c->what, err,
				    c->err_prefix);
			bad++;
		}
		if (c->err_part && !strstr(err, c->err_part)) {
			print_error("# %s: message '%s' does not mention '%s'\n", c->what, err,
				    c->err_part);
			bad++;
		}
		if (strchr(err, '\n') || strchr(err, '\r')) {
			print_error("# %s: message '%s' is not one line\n", c->what, err);
			bad++;
		}
	}
	/* Freed after success and after an error alike (also: no double free, under ASan) */
	sp_target_list_free(&list);
	if (list.n != 0 || list.items != NULL) {
		print_error("# %s: the list is not empty after sp_target_list_free\n", c->what);
		bad++;
	}
	return bad;
}

static void test_file_table(void **state)
{
	unsigned int bad = 0;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		bad += check_case(&cases[i]);
	assert_int_equal(bad, 0);
}

/* A file of 0 bytes from fmemopen itself (glibc >= 2.22 accepts size 0 in read mode). */
static void test_empty_stream(void **state)
{
	struct sp_target_list list;
	char err[256] = "";
	char buf[1] = "";
	FILE *f = fmemopen(buf, 0, "r");

	if (!f)
		skip();
	assert_int_equal(sp_targets_file_read(f, NAME, 0, &list, err, sizeof(err)), 0);
	fclose(f);
	assert_int_equal(list.n, 0);
	sp_target_list_free(&list);
}

/* Many lines: the list grows past its first allocation and keeps every target and line. */
static void test_many_targets(void **state)
{
	enum { N = 5000 };
	static char content[N * 24];
	struct sp_target_list list;
	char err[256] = "", want[32];
	size_t len = 0, i;
	FILE *f;

	for (i = 0; i < N; i++) {
		if (i % 10 == 0)
			len += sprintf(content + len, "# block %zu\n", i / 10);
		len += sprintf(content + len, "10.%zu.%zu.1:%zu\n", i / 256, i % 256, 1 + i % 65535);
	}
	f = fmemopen(content, len, "r");
	assert_non_null(f);
	assert_int_equal(sp_targets_file_read(f, NAME, 0, &list, err, sizeof(err)), 0);
	fclose(f);
	assert_int_equal(list.n, N);
	for (i = 0; i < N; i++) {
		sprintf(want, "10.%zu.%zu.1:%zu", i / 256, i % 256, 1 + i % 65535);
		assert_string_equal(list.items[i].text, want);
		assert_int_equal(list.items[i].spec.port, 1 + i % 65535);
		/* one comment line before every ten targets */
		assert_int_equal(list.items[i].line, i + 1 + i / 10 + 1);
	}
	sp_target_list_free(&list);
}

/* The error after many good lines names the right line, and the list can still be freed. */
static void test_error_after_many(void **state)
{
	static char content[3000 * 16];
	struct sp_target_list list;
	char err[256] = "";
	size_t len = 0, i;
	FILE *f;

	for (i = 0; i < 3000; i++)
		len += sprintf(content + len, "10.0.%zu.%zu:80\n", i / 256, i % 256);
	len += sprintf(content + len, "10.1.1.1:80 10.1.1.2:80\n");
	f = fmemopen(content, len, "r");
	assert_non_null(f);
	assert_int_equal(sp_targets_file_read(f, "big.txt", 0, &list, err, sizeof(err)), -EINVAL);
	fclose(f);
	assert_true(strncmp(err, "big.txt:3001: ", 14) == 0);
	sp_target_list_free(&list);
	assert_int_equal(list.n, 0);
}

/*
 * sp_targets_file_next(), as `check -f` streams: a bad line and a line beyond
 * SP_TARGETS_LINE_MAX are errors naming their line, and the next call goes on after them.
 */
static void test_next_goes_on(void **state)
{
	static char content[SP_TARGETS_LINE_MAX + 200];
	struct sp_target_line t;
	unsigned int line = 0;
	char err[256] = "";
	size_t len = 0;
	FILE *f;

	len += sprintf(content + len, "10.0.0.1:80\nbad line\n");
	memset(content + len, 'a', SP_TARGETS_LINE_MAX + 1);
	len += SP_TARGETS_LINE_MAX + 1;
	len += sprintf(content + len, "\n# comment\n[::1]:22\n");
	f = fmemopen(content, len, "r");
	assert_non_null(f);
	assert_int_equal(sp_targets_file_next(f, NAME, 0, &line, &t, err, sizeof(err)), 1);
	assert_string_equal(t.text, "10.0.0.1:80");
	free(t.text);
	assert_int_equal(sp_targets_file_next(f, NAME, 0, &line, &t, err, sizeof(err)), -EINVAL);
	assert_true(strncmp(err, NAME ":2: ", strlen(NAME) + 4) == 0);
	assert_int_equal(sp_targets_file_next(f, NAME, 0, &line, &t, err, sizeof(err)), -EINVAL);
	assert_true(strncmp(err, NAME ":3: line longer than", strlen(NAME) + 20) == 0);
	assert_int_equal(sp_targets_file_next(f, NAME, 0, &line, &t, err, sizeof(err)), 1);
	assert_string_equal(t.text, "[::1]:22");
	assert_int_equal(t.line, 5);
	assert_int_equal(t.spec.port, 22);
	free(t.text);
	assert_int_equal(sp_targets_file_next(f, NAME, 0, &line, &t, err, sizeof(err)), 0);
	fclose(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_file_table),
		cmocka_unit_test(test_empty_stream),
		cmocka_unit_test(test_many_targets),
		cmocka_unit_test(test_error_after_many),
		cmocka_unit_test(test_next_goes_on),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
