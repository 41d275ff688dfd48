/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * resolver.h - names resolved off the event loop: a few threads run getaddrinfo() (through
 * sp_target_resolve()) for queued lookups, and the loop collects what they found. A resolver
 * that hangs holds up its own lookup and nothing else. Shared by serve and `check -f`.
 */
#ifndef __SP_RESOLVER_H
#define __SP_RESOLVER_H

#include <stdbool.h>
#include "target.h"

struct sp_resolver;

/* Addresses one lookup keeps at most (-A: all of them, up to this many). */
#define SP_RESOLVE_ADDRS_MAX 16

/* One lookup: what to resolve, and, once collected, what came of it. */
struct sp_resolve_job {
	struct sp_target_spec spec;
	int family;		  /* AF_UNSPEC, AF_INET or AF_INET6 */
	bool all;		  /* keep every address (up to SP_RESOLVE_ADDRS_MAX), not the first */
	void *user;		  /* the submitter's */
	int n;			  /* result: addresses in addrs (> 0), or a negative errno (err says
				   * why) */
	struct sp_address addrs[SP_RESOLVE_ADDRS_MAX]; /* in RFC 6724 order, duplicates removed */
	char err[SP_ERR_MAX];
	struct sp_resolve_job *next;
};

/*
 * sp_resolver_new - @threads lookup threads (1 to 64), at most @max_queued lookups waiting
 * beyond those running. @notify(@ctx) is called from a lookup thread each time a lookup ends
 * (e.g. to wake the event loop); it must be async-safe enough for that (pthread_kill() is).
 * Returns the resolver, or NULL with errno (EINVAL, ENOMEM, or pthread_create()'s error).
 */
struct sp_resolver *sp_resolver_new(unsigned int threads, unsigned int max_queued,
				    void (*notify)(void *ctx), void *ctx);

/*
 * sp_resolver_submit - queue a lookup of @spec (copied) for @family, with @user handed back;
 * @all keeps every address (sp_target_resolve()'s @all), else only the first. Lookups run at most
 * `threads` at once; the rest wait in order. Returns 0, -EAGAIN when max_queued lookups already
 * wait, or -ENOMEM.
 */
int sp_resolver_submit(struct sp_resolver *r, const struct sp_target_spec *spec, int family,
		       bool all, void *user);

/*
 * sp_resolver_collect - the lookups that ended since the last call, oldest first, as a list
 * through ->next; the caller owns them and frees each with free(). NULL when none.
 */
struct sp_resolve_job *sp_resolver_collect(struct sp_resolver *r);

/*
 * sp_resolver_free - stop: queued lookups are dropped, and lookups still running are not waited
 * for (getaddrinfo() cannot be interrupted): their threads free what they hold when it returns,
 * and nothing is handed back any more. NULL is accepted.
 */
void sp_resolver_free(struct sp_resolver *r);

#endif
