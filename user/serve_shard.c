// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* serve_shard.c - which checks a `serve --shard K/N` runs: Prometheus' hashmod of the name. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <nettle/md5.h>
#include "serve_shard.h"
#include "util.h"

/* A whole number of decimal digits only (no sign, no space), at most UINT32_MAX. */
static int parse_u32(const char *s, const char *end, __u32 *out)
{
	__u64 v = 0;

	if (s == end)
		return -EINVAL;
	for (; s < end; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		v = v * 10 + (__u64)(*s - '0');
		if (v > UINT32_MAX)
			return -ERANGE;
	}
	*out = (__u32)v;
	return 0;
}

int serve_shard_parse(const char *s, struct serve_shard *out, char *msg, size_t len)
{
	char shown[40];
	const char *slash;
	__u32 k, n;

	snprintf(shown, sizeof(shown), "%.32s%s", s, strlen(s) > 32 ? "..." : "");
	sp_one_line(shown);
	slash = strchr(s, '/');
	if (!slash || parse_u32(s, slash, &k) || parse_u32(slash + 1, slash + strlen(slash), &n)) {
		snprintf(msg, len,
			 "'%s' is not K/N: give this prober's shard K and the number of shards N, "
			 "e.g. 0/3",
			 shown);
		return -EINVAL;
	}
	if (!n) {
		snprintf(msg, len, "'%s': N is 0: give at least 1 shard, e.g. 0/1", shown);
		return -EINVAL;
	}
	if (k >= n) {
		snprintf(msg, len, "'%s': K must be less than N (shards are 0 to %u), e.g. %u/%u",
			 shown, n - 1, n - 1, n);
		return -EINVAL;
	}
	out->index = k;
	out->count = n;
	return 0;
}

__u64 serve_hashmod(const char *value, __u64 modulus)
{
	__u8 digest[MD5_DIGEST_SIZE];
	struct md5_ctx ctx;
	__u64 v = 0;
	int i;

	md5_init(&ctx);
	md5_update(&ctx, strlen(value), (const __u8 *)value);
	md5_digest(&ctx, sizeof(digest), digest);
	/* relabel.go: binary.BigEndian.Uint64(hash[8:]) % cfg.Modulus */
	for (i = 8; i < MD5_DIGEST_SIZE; i++)
		v = v << 8 | digest[i];
	return v % modulus;
}

bool serve_shard_owns(const struct serve_shard *sh, const char *name)
{
	if (sh->count <= 1)
		return true;
	return serve_hashmod(name, sh->count) == sh->index;
}
