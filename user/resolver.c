// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * resolver.c - a small pool of threads that run getaddrinfo() for the event loop. Lookups wait
 * in a FIFO; a thread takes one, resolves it, puts it on the done list and calls notify(). The
 * resolver is shared by its owner and its threads, and freed by the last of them to let go, so
 * that sp_resolver_free() never waits for a lookup that hangs.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "resolver.h"

struct sp_resolver {
	pthread_mutex_t lock;
	pthread_cond_t cond;	       /* a lookup was queued, or stopping */
	struct sp_resolve_job *head;   /* queued, oldest first */
	struct sp_resolve_job *tail;
	unsigned int queued;
	unsigned int max_queued;
	struct sp_resolve_job *done;   /* ended, oldest first */
	struct sp_resolve_job *done_tail;
	unsigned int refs;	       /* the owner and each thread */
	bool stopping;
	void (*notify)(void *ctx);
	void *ctx;
};

/* Drops one reference; the last frees the resolver and what it still holds. Lock held. */
static void resolver_put_locked(struct sp_resolver *r)
{
	struct sp_resolve_job *j;

	if (--r->refs) {
		pthread_mutex_unlock(&r->lock);
		return;
	}
	pthread_mutex_unlock(&r->lock);
	while ((j = r->head)) {
		r->head = j->next;
		free(j);
	}
	while ((j = r->done)) {
		r->done = j->next;
		free(j);
	}
	pthread_mutex_destroy(&r->lock);
	pthread_cond_destroy(&r->cond);
	free(r);
}

static void *lookup_thread(void *arg)
{
	struct sp_resolver *r = arg;
	struct sp_resolve_job *j;

	pthread_mutex_lock(&r->lock);
	for (;;) {
		while (!r->head && !r->stopping)
			pthread_cond_wait(&r->cond, &r->lock);
		if (r->stopping)
			break;
		j = r->head;
		r->head = j->next;
		if (!r->head)
			r->tail = NULL;
		r->queued--;
		pthread_mutex_unlock(&r->lock);

		j->next = NULL;
		j->n = sp_target_resolve(&j->spec, j->family, j->all, j->addrs,
					 SP_RESOLVE_ADDRS_MAX, j->err, sizeof(j->err));

		pthread_mutex_lock(&r->lock);
		if (r->stopping) {
			free(j);
			break;
		}
		if (r->done_tail)
			r->done_tail->next = j;
		else
			r->done = j;
		r->done_tail = j;
		if (r->notify)
			r->notify(r->ctx);
	}
	resolver_put_locked(r);
	return NULL;
}

struct sp_resolver *sp_resolver_new(unsigned int threads, unsigned int max_queued,
				    void (*notify)(void *ctx), void *ctx)
{
	struct sp_resolver *r;
	pthread_attr_t attr;
	pthread_t th;
	unsigned int i;
	int err = 0;

	if (!threads || threads > 64) {
		errno = EINVAL;
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		errno = ENOMEM;
		return NULL;
	}
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->cond, NULL);
	r->max_queued = max_queued;
	r->notify = notify;
	r->ctx = ctx;
	r->refs = 1;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	for (i = 0; i < threads; i++) {
		pthread_mutex_lock(&r->lock);
		r->refs++;
		pthread_mutex_unlock(&r->lock);
		err = pthread_create(&th, &attr, lookup_thread, r);
		if (err) {
			pthread_mutex_lock(&r->lock);
			r->refs--;
			pthread_mutex_unlock(&r->lock);
			break;
		}
	}
	pthread_attr_destroy(&attr);
	if (err) {
		sp_resolver_free(r);
		errno = err;
		return NULL;
	}
	return r;
}

int sp_resolver_submit(struct sp_resolver *r, const struct sp_target_spec *spec, int family,
		       bool all, void *user)
{
	struct sp_resolve_job *j;

	j = calloc(1, sizeof(*j));
	if (!j)
		return -ENOMEM;
	j->spec = *spec;
	j->family = family;
	j->all = all;
	j->user = user;
	pthread_mutex_lock(&r->lock);
	if (r->queued >= r->max_queued) {
		pthread_mutex_unlock(&r->lock);
		free(j);
		return -EAGAIN;
	}
	if (r->tail)
		r->tail->next = j;
	else
		r->head = j;
	r->tail = j;
	r->queued++;
	pthread_cond_signal(&r->cond);
	pthread_mutex_unlock(&r->lock);
	return 0;
}

struct sp_resolve_job *sp_resolver_collect(struct sp_resolver *r)
{
	struct sp_resolve_job *list;

	pthread_mutex_lock(&r->lock);
	list = r->done;
	r->done = r->done_tail = NULL;
	pthread_mutex_unlock(&r->lock);
	return list;
}

void sp_resolver_free(struct sp_resolver *r)
{
	if (!r)
		return;
	pthread_mutex_lock(&r->lock);
	r->stopping = true;
	pthread_cond_broadcast(&r->cond);
	resolver_put_locked(r);
}
