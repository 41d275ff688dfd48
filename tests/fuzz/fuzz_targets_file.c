// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * fuzz_targets_file.c - libFuzzer harness for sp_targets_file_read() (user/targets_file.c), the
 * file of `synprobe check -f`: one TARGET a line, '#' comments, blank lines, white space trimmed.
 *
 * Input: byte 0 picks the -p port as in fuzz_target.c ('0': none, '1': 80, '2': 1, '3': 65535),
 * the rest is the file, read through fmemopen() from a heap copy of exactly its size. The error
 * goes to a heap buffer of exactly ERR_LEN bytes.
 *
 * Invariants. Success: every target is the text of its line as the header describes it (cut at
 * '#' and at a NUL, white space trimmed), non-empty, without a space or a tab; lines rise
 * strictly and exist in the file, and no line with a target is left out; the spec is what sp_target_parse() makes of the text, its port
 * 1..65535 and its host shorter than SP_HOST_MAX. Failure: -EINVAL with "targets.txt:LINE: ..."
 * on one line, NUL-terminated within ERR_LEN (-ENOMEM and -EIO cannot happen here). LeakSanitizer
 * checks that sp_target_list_free() frees everything, also after an error.
 *
 * Build and run: make fuzz (tests/fuzz/fuzz.mk).
 */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "targets_file.h"

#define CHECK(cond)                \
	do {                       \
		if (!(cond))       \
			abort();   \
	} while (0)

#define NAME "targets.txt"
#define ERR_LEN 512

static const __u16 default_ports[4] = { 0, 80, 1, 65535 };

/* Line @no (1-based) of @buf (@size bytes) as the reader sees it: to its first NUL and '#',
 * trimmed, into @out (@cap bytes; NULL if the line is not there). */
static const char *line_text(const char *buf, size_t size, unsigned int no, char *out, size_t cap)
{
	const char *p = buf, *end = buf + size, *nl;
	size_t len;
	char *s, *e;

	while (--no) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			return NULL;
		p = nl + 1;
	}
	if (p == end)
		return NULL; /* nothing after the last '\n': no such line */
	nl = memchr(p, '\n', (size_t)(end - p));
	len = (size_t)((nl ? nl : end) - p);
	CHECK(len < cap);
	memcpy(out, p, len);
	out[len] = '\0';
	s = strchr(out, '#');
	if (s)
		*s = '\0';
	s = out;
	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sp_target_list list;
	struct sp_target_spec spec;
	char reason[SP_ERR_MAX];
	unsigned int prev = 0;
	const char *want;
	char *buf, *err, *line;
	__u16 dport;
	size_t i;
	FILE *f;
	int rc;

	if (size < 1)
		return 0;
	dport = default_ports[data[0] & 3];
	data++;
	size--;
	buf = malloc(size ? size : 1);
	CHECK(buf);
	memcpy(buf, data, size);
	f = fmemopen(buf, size, "r");
	CHECK(f);
	err = malloc(ERR_LEN);
	CHECK(err);
	memset(err, 0x5a, ERR_LEN);
	line = malloc(size + 1);
	CHECK(line);

	rc = sp_targets_file_read(f, NAME, dport, &list, err, ERR_LEN);
	CHECK(rc == 0 || rc == -EINVAL);
	CHECK(list.n == 0 || list.items);
	if (rc) {
		const char *nul = memchr(err, '\0', ERR_LEN);

		CHECK(nul);
		CHECK(!strncmp(err, NAME ":", strlen(NAME ":")));
		CHECK(!memchr(err, '\n', (size_t)(nul - err)) && !memchr(err, '\r', (size_t)(nul - err)));
	}
	for (i = 0; i < list.n; i++) {
		const struct sp_target_line *t = &list.items[i];

		CHECK(t->text && *t->text);
		CHECK(!strpbrk(t->text, " \t#\n"));
		CHECK(!isspace((unsigned char)t->text[0]));
		CHECK(!isspace((unsigned char)t->text[strlen(t->text) - 1]));
		CHECK(t->line > prev);
		prev = t->line;
		want = line_text(buf, size, t->line, line, size + 1);
		CHECK(want && !strcmp(want, t->text));
		CHECK(t->spec.port >= 1);
		CHECK(strnlen(t->spec.host, sizeof(t->spec.host)) < SP_HOST_MAX);
		CHECK(sp_target_parse(t->text, dport, &spec, reason, sizeof(reason)) == 0);
		CHECK(!memcmp(&spec, &t->spec, sizeof(spec)));
	}
	/* Success: every line with a target is there, none left out. */
	if (rc == 0) {
		unsigned int no;
		size_t n = 0;

		for (no = 1; (want = line_text(buf, size, no, line, size + 1)); no++)
			n += *want != '\0';
		CHECK(n == list.n);
	}
	sp_target_list_free(&list);
	CHECK(list.n == 0 && !list.items);

	free(line);
	free(err);
	fclose(f);
	free(buf);
	return 0;
}
