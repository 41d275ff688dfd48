// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * fuzz_target.c - libFuzzer harness for sp_target_parse() (user/target.c), the TARGET syntax:
 * host:port, [ipv6]:port, and a host, bare IPv6 or [ipv6] with the port from -p.
 *
 * Input: byte 0 picks the -p port (its low two bits: 0, 80, 1, 65535; '0' is 0 and '1' is 80,
 * so seeds stay readable), the rest is the TARGET (cut at a NUL, as argv would). The TARGET is
 * copied into a heap buffer of exactly its length + 1 and the error goes to a heap buffer of
 * exactly errlen bytes, so ASan sees any access past either. sp_target_resolve() is never called:
 * no DNS (only the numeric getaddrinfo() of the IPv6 check, as the parser itself does).
 *
 * Invariants. Success: 0; the port is 1..65535, and -p's when the TARGET has none; the host is
 * non-empty, NUL-terminated, shorter than SP_HOST_MAX and the part of the TARGET before the port
 * (inside the brackets for [v6]); an IPv6 literal has a ':' in its host, another host none.
 * Failure: -EINVAL and an error that is non-empty, NUL-terminated within errlen, and one line
 * (no line break, whatever the TARGET holds: echoed control characters are '?'). The same
 * answer with a small error buffer (truncation only), and twice (deterministic).
 *
 * Build and run: make fuzz (tests/fuzz/fuzz.mk).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "target.h"

#define CHECK(cond)                \
	do {                       \
		if (!(cond))       \
			abort();   \
	} while (0)

static const __u16 default_ports[4] = { 0, 80, 1, 65535 };

/* The error in @err (@errlen bytes): terminated within them, non-empty, one line if @arg is. */
static void check_err(const char *arg, const char *err, size_t errlen)
{
	const char *nul = memchr(err, '\0', errlen);

	CHECK(nul);
	if (errlen > 1)
		CHECK(nul > err);
	/* One line, whatever the TARGET holds: echoed control characters are '?'. */
	CHECK(!memchr(err, '\n', (size_t)(nul - err)) && !memchr(err, '\r', (size_t)(nul - err)));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sp_target_spec spec, again;
	size_t len, errlen_small, hl;
	char *arg, *err, *small;
	const char *host_in, *colon;
	__u16 dport;
	int rc, rc2;

	if (size < 1)
		return 0;
	dport = default_ports[data[0] & 3];
	data++;
	size--;
	len = strnlen((const char *)data, size);
	arg = malloc(len + 1);
	CHECK(arg);
	memcpy(arg, data, len);
	arg[len] = '\0';

	err = malloc(SP_ERR_MAX);
	CHECK(err);
	memset(err, 0x5a, SP_ERR_MAX);
	memset(&spec, 0x5a, sizeof(spec));
	rc = sp_target_parse(arg, dport, &spec, err, SP_ERR_MAX);
	CHECK(rc == 0 || rc == -EINVAL);

	if (rc == 0) {
		CHECK(spec.port >= 1);
		hl = strnlen(spec.host, sizeof(spec.host));
		CHECK(hl > 0 && hl < SP_HOST_MAX);
		/* The host is what the TARGET holds before the port, inside the brackets. */
		host_in = arg[0] == '[' ? arg + 1 : arg;
		CHECK(strlen(host_in) >= hl && !memcmp(host_in, spec.host, hl));
		if (arg[0] == '[')
			CHECK(host_in[hl] == ']' && spec.ipv6_literal);
		else
			CHECK(host_in[hl] == '\0' || host_in[hl] == ':');
		if (spec.ipv6_literal)
			CHECK(strchr(spec.host, ':'));
		else
			CHECK(!strchr(spec.host, ':'));
		/* No port written (a bare v6 has none: every ':' is the address's): -p's. One
		 * written: it wins. */
		colon = strchr(arg + (arg[0] == '[' ? hl + 2 : hl), ':');
		if (!colon)
			CHECK(dport && spec.port == dport);
		else
			CHECK(spec.port == strtoul(colon + 1, NULL, 10));
	} else {
		check_err(arg, err, SP_ERR_MAX);
	}

	/* Deterministic, and the error buffer's size only truncates. */
	errlen_small = 1 + len % 48;
	small = malloc(errlen_small);
	CHECK(small);
	rc2 = sp_target_parse(arg, dport, &again, small, errlen_small);
	CHECK(rc2 == rc);
	CHECK(memcmp(&again, &spec, sizeof(spec)) == 0);
	if (rc) {
		check_err(arg, small, errlen_small);
		CHECK(!strncmp(small, err, errlen_small - 1));
	}

	free(small);
	free(err);
	free(arg);
	return 0;
}
