/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * serve_shard.h - `synprobe serve --shard K/N`: N probers split one config with no coordinator,
 * each running the checks whose name hashes to K modulo N.
 *
 * The hash is Prometheus' hashmod relabel action (prometheus/prometheus model/relabel/relabel.go):
 * the MD5 digest of the value (here the check's name, its bytes as written), its last 8 bytes read
 * as a big-endian unsigned 64-bit integer, modulo N. A relabel rule with `action: hashmod`,
 * `source_labels: [check]` and `modulus: N` thus puts each check on the same shard. MD5 (RFC 1321)
 * comes from nettle. Pure functions: no allocation, no system state.
 */
#ifndef __SP_SERVE_SHARD_H
#define __SP_SERVE_SHARD_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

/* One message line of serve_shard_parse() fits in this, the input echoed (cut) included. */
#define SERVE_SHARD_ERR_MAX 160

/* Shard @index of @count (0 <= index < count); {0, 1} runs every check. */
struct serve_shard {
	__u32 index;
	__u32 count;
};

/*
 * serve_shard_parse - "K/N" (decimal digits only, 1 <= N <= UINT32_MAX, K < N) into @out. Returns
 * 0, or -EINVAL with one line in @msg (@len bytes) that quotes @s (cut at 32 characters, control
 * characters shown as '?') and says how to write it. @out is only written on success.
 */
int serve_shard_parse(const char *s, struct serve_shard *out, char *msg, size_t len);

/* serve_hashmod - Prometheus' hashmod of @value: the last 8 MD5 bytes, big-endian, % @modulus. */
__u64 serve_hashmod(const char *value, __u64 modulus);

/* serve_shard_owns - whether the check named @name belongs to shard @sh. */
bool serve_shard_owns(const struct serve_shard *sh, const char *name);

#endif
