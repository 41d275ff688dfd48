// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * opts.c - the size rule of the structs a caller fills (struct synprobe_opts, synprobe_check_opts,
 * synprobe_kind, and the size of synprobe_load_error), libbpf's for its opts structs:
 * OPTS_VALID() and libbpf_validate_opts() in libbpf's src/libbpf_internal.h. sz is the struct's
 * size as the caller's header knows it. Below sizeof(size_t) (0: not set) it is refused. A larger
 * one than this library's is accepted when every byte beyond the last field this library knows is
 * zero (the caller set none of the fields it does not know), and refused otherwise: silently
 * ignoring an option the caller asked for would be a wrong answer. A smaller one is an older
 * caller: the fields beyond it read as zero (the struct is copied into a zeroed one of ours).
 * Checked from the end of the last field this library knows, not from sizeof: a field appended
 * later may sit in what is tail padding here. That is why these structs end without padding (a
 * field named reserved takes it, and must be 0 as a field not known): a caller's padding is not
 * set by an initializer, nor kept by a copy, and garbage there would be refused. libbpf asks its
 * callers to zero the whole struct first (its LIBBPF_OPTS() macro) instead.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "opts.h"

#define offsetofend(type, field) (offsetof(type, field) + sizeof(((type *)0)->field))

/* A field appended with padding after it fails the build here: add it, or a reserved field. */
_Static_assert(sizeof(struct synprobe_opts) == offsetofend(struct synprobe_opts, reserved),
	       "struct synprobe_opts ends in padding");
_Static_assert(sizeof(struct synprobe_check_opts) ==
	       offsetofend(struct synprobe_check_opts, reserved),
	       "struct synprobe_check_opts ends in padding");
_Static_assert(sizeof(struct synprobe_kind) == offsetofend(struct synprobe_kind, free),
	       "struct synprobe_kind ends in padding");

static bool mem_zeroed(const char *p, size_t len)
{
	while (len--)
		if (*p++)
			return false;
	return true;
}

/*
 * sz_valid - libbpf_validate_opts(): @user_sz is what the caller set, @known_sz the end of the
 * last field this library knows. Returns 0 or -EINVAL.
 */
static int sz_valid(const void *src, size_t user_sz, size_t known_sz)
{
	if (user_sz < sizeof(size_t))
		return -EINVAL;
	if (user_sz > known_sz && !mem_zeroed((const char *)src + known_sz, user_sz - known_sz))
		return -EINVAL;
	return 0;
}

/* opts_copy - check @src's size and copy what of it this library knows into @dst, zeroed first. */
static int opts_copy(void *dst, size_t dst_sz, const void *src, size_t known_sz)
{
	size_t user_sz = *(const size_t *)src;
	int err;

	memset(dst, 0, dst_sz);
	err = sz_valid(src, user_sz, known_sz);
	if (err)
		return err;
	memcpy(dst, src, user_sz < dst_sz ? user_sz : dst_sz);
	*(size_t *)dst = dst_sz;
	return 0;
}

/*
 * sp_opts_copy - the caller's synprobe_opts @src into @dst (this library's size), as the rule
 * above. Returns 0 or -EINVAL.
 */
int sp_opts_copy(struct synprobe_opts *dst, const struct synprobe_opts *src)
{
	return opts_copy(dst, sizeof(*dst), src, offsetofend(struct synprobe_opts, threads));
}

/*
 * sp_check_opts_copy - as sp_opts_copy(), for synprobe_check_opts; also checks the kind it names
 * (sp_kind_valid()). Returns 0 or -EINVAL.
 */
int sp_check_opts_copy(struct synprobe_check_opts *dst, const struct synprobe_check_opts *src)
{
	int err;

	err = opts_copy(dst, sizeof(*dst), src, offsetofend(struct synprobe_check_opts, close_fin));
	if (!err && dst->kind)
		err = sp_kind_valid(dst->kind);
	return err;
}

/*
 * sp_kind_valid - a kind is not copied (the engine keeps the caller's pointer), so its sz must
 * cover at least the first version's callbacks (up to free); a callback appended later is to be
 * called only when the kind's sz covers it. Returns 0 or -EINVAL.
 */
int sp_kind_valid(const struct synprobe_kind *kind)
{
	if (kind->sz < offsetofend(struct synprobe_kind, free))
		return -EINVAL;
	return sz_valid(kind, kind->sz, offsetofend(struct synprobe_kind, free));
}

/* sp_load_error_valid - the caller's synprobe_load_error has an sz. Returns 0 or -EINVAL. */
int sp_load_error_valid(const struct synprobe_load_error *le)
{
	return le->sz < sizeof(size_t) ? -EINVAL : 0;
}

/*
 * sp_load_error_out - @src (this library's, filled) into the caller's @dst, within dst->sz: the
 * fields that fit, zeroes after them. A log whose pointer does not fit is freed (the caller could
 * not free it).
 */
void sp_load_error_out(struct synprobe_load_error *dst, struct synprobe_load_error *src)
{
	size_t sz = dst->sz;

	if (sz < offsetofend(struct synprobe_load_error, log)) {
		free(src->log);
		src->log = NULL;
	}
	src->sz = sz;
	sp_copy_out(dst, sz, src, sizeof(*src));
}

/*
 * sp_copy_out - a struct the library filled (@src, @src_sz: this library's sizeof) into the
 * caller's @dst of @dst_sz bytes: what fits, then zeroes up to @dst_sz.
 */
void sp_copy_out(void *dst, size_t dst_sz, const void *src, size_t src_sz)
{
	memcpy(dst, src, dst_sz < src_sz ? dst_sz : src_sz);
	if (dst_sz > src_sz)
		memset((char *)dst + src_sz, 0, dst_sz - src_sz);
}
