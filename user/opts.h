/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * opts.h - the sizes of the structs libsynprobe.h shares with its callers: what the library
 * accepts from a caller built against an older or newer header (the ABI note of libsynprobe.h).
 */
#ifndef __SP_OPTS_H
#define __SP_OPTS_H

#include "libsynprobe.h"

int sp_opts_copy(struct synprobe_opts *dst, const struct synprobe_opts *src);
int sp_check_opts_copy(struct synprobe_check_opts *dst, const struct synprobe_check_opts *src);
int sp_kind_valid(const struct synprobe_kind *kind);
int sp_load_error_valid(const struct synprobe_load_error *le);
void sp_load_error_out(struct synprobe_load_error *dst, struct synprobe_load_error *src);
void sp_copy_out(void *dst, size_t dst_sz, const void *src, size_t src_sz);

#endif /* __SP_OPTS_H */
