// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * fuzz_cescape.c - libFuzzer harness for sp_cescape_parse() (user/cescape.c), the C escapes of
 * --send. Input: byte 0 picks the output capacity (0..255), the rest is the text (cut at its
 * first NUL). The output buffer is a heap block of exactly that capacity, so ASan sees a write
 * past it. Invariants: on success at most cap bytes and never more than the text's length; on
 * failure length 0 and a one-line message; text without a backslash comes out unchanged.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "cescape.h"

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			abort();                                                                   \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256], *text;
	size_t cap, len = 7, tlen;
	__u8 *out;
	int rc;

	if (size < 1)
		return 0;
	cap = data[0];
	text = malloc(size);
	CHECK(text);
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	tlen = strlen(text);
	out = malloc(cap ? cap : 1);
	CHECK(out);
	err[0] = '\0';
	rc = sp_cescape_parse(text, out, cap, &len, err, sizeof(err));
	if (rc == 0) {
		CHECK(len <= cap && len <= tlen);
		if (!strchr(text, '\\'))
			CHECK(len == tlen && !memcmp(out, text, len));
	} else {
		CHECK(rc == -EINVAL || rc == -E2BIG);
		CHECK(len == 0 && err[0] && !strchr(err, '\n'));
	}
	free(out);
	free(text);
	return 0;
}
