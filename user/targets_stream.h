/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * targets_stream.h - the targets file of `synprobe check -f`, read by a thread a bounded number
 * of lines ahead of the event loop: a file of any length, or an endless pipe, costs memory for
 * what is read ahead only, and a slow pipe never blocks the loop.
 */
#ifndef __SP_TARGETS_STREAM_H
#define __SP_TARGETS_STREAM_H

#include <stdbool.h>
#include <stdio.h>
#include "targets_file.h"

struct sp_targets_stream;

/* One line read: a target (rc 1), or a bad line or read error (rc < 0, err says which). */
struct sp_stream_item {
	int rc;			 /* sp_targets_file_next()'s: 1, -EINVAL, -ENOMEM or -EIO */
	struct sp_target_line t; /* rc 1: the target; t.text is the taker's to free */
	char err[SP_ERR_MAX];	 /* rc < 0: "NAME:LINE: reason" */
};

/*
 * sp_targets_stream_open - start a thread that reads @f (named @name in messages; the stream
 * owns @f from now on, also when this fails, and closes it unless it is stdin) with
 * sp_targets_file_next() and @default_port, at most @ahead items (1 to 65536) beyond those taken.
 * @notify(@ctx) is called from that thread when an item arrives in an empty queue, when the queue
 * fills up, and at the end (e.g. to wake the event loop). @count_path: a regular file whose target
 * lines are counted by another thread (sp_targets_stream_total()), or NULL. Returns the stream, or
 * NULL with errno.
 */
struct sp_targets_stream *sp_targets_stream_open(FILE *f, const char *name, __u16 default_port,
						 unsigned int ahead, const char *count_path,
						 void (*notify)(void *ctx), void *ctx);

/* sp_targets_stream_peek - the oldest item not taken yet, or NULL; valid until the next pop. */
const struct sp_stream_item *sp_targets_stream_peek(struct sp_targets_stream *s);

/* sp_targets_stream_pop - drop the oldest item (after peek; its t.text is now the caller's). */
void sp_targets_stream_pop(struct sp_targets_stream *s);

/* sp_targets_stream_scan - @fn(@item, @ctx) for each item not taken yet, oldest first. */
void sp_targets_stream_scan(struct sp_targets_stream *s,
			    void (*fn)(const struct sp_stream_item *item, void *ctx), void *ctx);

/* sp_targets_stream_queued - items waiting; sets *@ended when the reader is done (end or error). */
unsigned int sp_targets_stream_queued(struct sp_targets_stream *s, bool *ended);

/*
 * sp_targets_stream_total - lines with a target in count_path (a cheap pass that skips blank and
 * comment lines, for a progress ETA), or -1 while not known (still counting, no count_path, or
 * the file could not be read).
 */
long sp_targets_stream_total(struct sp_targets_stream *s);

/*
 * sp_targets_stream_free - stop: items not taken are freed; a reader blocked in a read (a pipe
 * that sends nothing) is not waited for, and frees what it holds when the read returns. NULL is
 * accepted.
 */
void sp_targets_stream_free(struct sp_targets_stream *s);

#endif
