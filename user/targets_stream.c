// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * targets_stream.c - a reader thread fills a ring of items, the event loop takes them. The
 * stream is shared by its owner and its threads, and freed by the last of them to let go (as in
 * resolver.c), so that sp_targets_stream_free() never waits for a pipe that sends nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "targets_stream.h"

struct sp_targets_stream {
	pthread_mutex_t lock;
	pthread_cond_t room;	     /* an item was taken, or stopping */
	struct sp_stream_item *ring; /* cap items, head is the oldest */
	unsigned int cap, head, n;
	bool ended; /* the reader is done: end of file or a read error */
	bool stopping;
	unsigned int refs; /* the owner, the reader, the counter */
	long total;	   /* target lines counted, -1 while unknown */
	FILE *f;
	char name[256];
	__u16 default_port;
	char *count_path;
	void (*notify)(void *ctx);
	void *ctx;
};

/* Drops one reference; the last frees the stream and what it still holds. Lock held. */
static void stream_put_locked(struct sp_targets_stream *s)
{
	unsigned int i;

	if (--s->refs) {
		pthread_mutex_unlock(&s->lock);
		return;
	}
	pthread_mutex_unlock(&s->lock);
	for (i = 0; i < s->n; i++)
		free(s->ring[(s->head + i) % s->cap].t.text);
	free(s->ring);
	free(s->count_path);
	if (s->f && s->f != stdin)
		fclose(s->f);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->room);
	free(s);
}

static void *reader_thread(void *arg)
{
	struct sp_targets_stream *s = arg;
	struct sp_stream_item item;
	unsigned int line = 0;
	bool wake;

	for (;;) {
		memset(&item, 0, sizeof(item));
		item.rc = sp_targets_file_next(s->f, s->name, s->default_port, &line, &item.t,
					       item.err, sizeof(item.err));
		pthread_mutex_lock(&s->lock);
		while (s->n == s->cap && !s->stopping)
			pthread_cond_wait(&s->room, &s->lock);
		if (s->stopping) {
			free(item.t.text);
			break;
		}
		if (item.rc) {
			s->ring[(s->head + s->n) % s->cap] = item;
			s->n++;
		}
		/* The end, a read error or no memory: nothing more comes. */
		if (item.rc == 0 || item.rc == -EIO || item.rc == -ENOMEM)
			s->ended = true;
		wake = s->n == 1 || s->n == s->cap || s->ended;
		if (wake && s->notify)
			s->notify(s->ctx);
		if (s->ended)
			break;
		pthread_mutex_unlock(&s->lock);
	}
	stream_put_locked(s);
	return NULL;
}

/*
 * Counts the lines of @fd that hold something besides blanks and a comment: the lines
 * sp_targets_file_next() returns, good or bad (a '#' inside a line is not looked for).
 */
static long count_target_lines(int fd)
{
	char buf[65536];
	bool at_start = true, counted = false;
	long total = 0;
	ssize_t len, i;
	char c;

	while ((len = read(fd, buf, sizeof(buf))) > 0) {
		for (i = 0; i < len; i++) {
			c = buf[i];
			if (c == '\n') {
				at_start = true;
				counted = false;
			} else if (at_start && c != ' ' && c != '\t' && c != '\r' && c != '\v' &&
				   c != '\f') {
				at_start = false;
				if (c != '#' && !counted) {
					total++;
					counted = true;
				}
			}
		}
	}
	return len < 0 ? -1 : total;
}

static void *counter_thread(void *arg)
{
	struct sp_targets_stream *s = arg;
	long total = -1;
	int fd;

	fd = open(s->count_path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		total = count_target_lines(fd);
		close(fd);
	}
	pthread_mutex_lock(&s->lock);
	s->total = total;
	stream_put_locked(s);
	return NULL;
}

struct sp_targets_stream *sp_targets_stream_open(FILE *f, const char *name, __u16 default_port,
						 unsigned int ahead, const char *count_path,
						 void (*notify)(void *ctx), void *ctx)
{
	struct sp_targets_stream *s;
	pthread_attr_t attr;
	pthread_t th;
	int err;

	if (!ahead || ahead > 65536) {
		errno = EINVAL;
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		goto nomem;
	s->ring = calloc(ahead, sizeof(*s->ring));
	s->count_path = count_path ? strdup(count_path) : NULL;
	if (!s->ring || (count_path && !s->count_path)) {
		free(s->ring);
		free(s->count_path);
		free(s);
		goto nomem;
	}
	s->f = f;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->room, NULL);
	s->cap = ahead;
	s->total = -1;
	snprintf(s->name, sizeof(s->name), "%s", name);
	s->default_port = default_port;
	s->notify = notify;
	s->ctx = ctx;
	s->refs = 1;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	s->refs++;
	err = pthread_create(&th, &attr, reader_thread, s);
	if (err) {
		s->refs--;
		goto fail;
	}
	if (count_path) {
		pthread_mutex_lock(&s->lock);
		s->refs++;
		pthread_mutex_unlock(&s->lock);
		err = pthread_create(&th, &attr, counter_thread, s);
		if (err) {
			pthread_mutex_lock(&s->lock);
			s->refs--;
			pthread_mutex_unlock(&s->lock);
			err = 0; /* no ETA, nothing worse */
		}
	}
	pthread_attr_destroy(&attr);
	return s;

fail:
	pthread_attr_destroy(&attr);
	sp_targets_stream_free(s);
	errno = err;
	return NULL;
nomem:
	if (f != stdin)
		fclose(f);
	errno = ENOMEM;
	return NULL;
}

const struct sp_stream_item *sp_targets_stream_peek(struct sp_targets_stream *s)
{
	const struct sp_stream_item *item = NULL;

	pthread_mutex_lock(&s->lock);
	if (s->n)
		item = &s->ring[s->head];
	pthread_mutex_unlock(&s->lock);
	return item;
}

void sp_targets_stream_pop(struct sp_targets_stream *s)
{
	pthread_mutex_lock(&s->lock);
	if (s->n) {
		s->head = (s->head + 1) % s->cap;
		s->n--;
		pthread_cond_signal(&s->room);
	}
	pthread_mutex_unlock(&s->lock);
}

void sp_targets_stream_scan(struct sp_targets_stream *s,
			    void (*fn)(const struct sp_stream_item *item, void *ctx), void *ctx)
{
	unsigned int i;

	pthread_mutex_lock(&s->lock);
	for (i = 0; i < s->n; i++)
		fn(&s->ring[(s->head + i) % s->cap], ctx);
	pthread_mutex_unlock(&s->lock);
}

unsigned int sp_targets_stream_queued(struct sp_targets_stream *s, bool *ended)
{
	unsigned int n;

	pthread_mutex_lock(&s->lock);
	n = s->n;
	*ended = s->ended;
	pthread_mutex_unlock(&s->lock);
	return n;
}

long sp_targets_stream_total(struct sp_targets_stream *s)
{
	long total;

	pthread_mutex_lock(&s->lock);
	total = s->total;
	pthread_mutex_unlock(&s->lock);
	return total;
}

void sp_targets_stream_free(struct sp_targets_stream *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->lock);
	s->stopping = true;
	pthread_cond_broadcast(&s->room);
	stream_put_locked(s);
}
