/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* targets_file.h - `synprobe check -f FILE`: one TARGET per line, '#' starts a comment. */
#ifndef __SP_TARGETS_FILE_H
#define __SP_TARGETS_FILE_H

#include <stdio.h>
#include "target.h"

/* One target of the file. */
struct sp_target_line {
	char *text; /* the target as written (trimmed), owned by the list */
	unsigned int line;
	struct sp_target_spec spec;
};

struct sp_target_list {
	struct sp_target_line *items;
	size_t n;
};

/* A line longer than this (without its newline) is an error: every buffer is bounded. */
#define SP_TARGETS_LINE_MAX 4096

/*
 * sp_targets_file_next - the next target of @f (named @name in messages), for reading a file of
 * any length, or an endless stream, one line at a time: lines are counted in *@line (start it at
 * 0). Returns 1 with the target in @out (free out->text), 0 at the end of @f, -EINVAL with
 * "NAME:LINE: reason" in @err for a bad line (the next call goes on after it), -ENOMEM, or -EIO
 * on a read error. The syntax is sp_targets_file_read()'s.
 */
int sp_targets_file_next(FILE *f, const char *name, __u16 default_port, unsigned int *line,
			 struct sp_target_line *out, char *err, size_t errlen);

/*
 * sp_targets_file_read - parse @f (named @name in messages) into @out: one TARGET per line in the
 * syntax of sp_target_parse() with @default_port; blank lines and everything after '#' are
 * skipped, surrounding white space is trimmed; a line is at most SP_TARGETS_LINE_MAX bytes.
 * Stops at the first bad line. Returns 0, or -EINVAL with "NAME:LINE: reason"
 * in @err, -ENOMEM, or -EIO on a read error. Free @out with sp_target_list_free(), also after
 * an error.
 */
int sp_targets_file_read(FILE *f, const char *name, __u16 default_port, struct sp_target_list *out,
			 char *err, size_t errlen);

void sp_target_list_free(struct sp_target_list *list);

#endif
