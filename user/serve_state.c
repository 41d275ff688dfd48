// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* serve_state.c - rise/fall state machine, schedule heap and jitter of `synprobe serve`. */
#include <errno.h>
#include <stdlib.h>
#include "serve_state.h"

const char *serve_state_str(enum serve_state state)
{
	switch (state) {
	case SERVE_UP:
		return "up";
	case SERVE_DOWN:
		return "down";
	default:
		return "unknown";
	}
}

bool serve_health_update(struct serve_health *h, bool success, __u32 rise, __u32 fall,
			 enum serve_state *old)
{
	enum serve_state before = h->state;

	if (success) {
		h->failures = 0;
		if (h->successes < rise)
			h->successes++;
		if (h->state != SERVE_UP && h->successes >= rise)
			h->state = SERVE_UP;
	} else {
		h->successes = 0;
		if (h->failures < fall)
			h->failures++;
		if (h->state != SERVE_DOWN && h->failures >= fall)
			h->state = SERVE_DOWN;
	}
	if (h->state == before)
		return false;
	if (old)
		*old = before;
	return true;
}

bool serve_health_changing(const struct serve_health *h)
{
	switch (h->state) {
	case SERVE_UP:
		return h->failures > 0;
	case SERVE_DOWN:
		return h->successes > 0;
	default:
		return true;
	}
}

static bool before(const struct serve_heap_entry *a, const struct serve_heap_entry *b)
{
	return a->due_ms < b->due_ms || (a->due_ms == b->due_ms && a->id < b->id);
}

static void swap(struct serve_heap_entry *a, struct serve_heap_entry *b)
{
	struct serve_heap_entry t = *a;

	*a = *b;
	*b = t;
}

int serve_heap_push(struct serve_heap *h, __u64 due_ms, __u32 id)
{
	struct serve_heap_entry *e;
	size_t i, parent;

	if (h->len == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 64;

		e = realloc(h->e, cap * sizeof(*e));
		if (!e)
			return -ENOMEM;
		h->e = e;
		h->cap = cap;
	}
	i = h->len++;
	h->e[i].due_ms = due_ms;
	h->e[i].id = id;
	while (i > 0) {
		parent = (i - 1) / 2;
		if (!before(&h->e[i], &h->e[parent]))
			break;
		swap(&h->e[i], &h->e[parent]);
		i = parent;
	}
	return 0;
}

const struct serve_heap_entry *serve_heap_peek(const struct serve_heap *h)
{
	return h->len ? &h->e[0] : NULL;
}

bool serve_heap_pop(struct serve_heap *h, struct serve_heap_entry *out)
{
	size_t i = 0, l, r, m;

	if (!h->len)
		return false;
	*out = h->e[0];
	h->e[0] = h->e[--h->len];
	for (;;) {
		l = 2 * i + 1;
		r = l + 1;
		m = i;
		if (l < h->len && before(&h->e[l], &h->e[m]))
			m = l;
		if (r < h->len && before(&h->e[r], &h->e[m]))
			m = r;
		if (m == i)
			break;
		swap(&h->e[i], &h->e[m]);
		i = m;
	}
	return true;
}

void serve_heap_free(struct serve_heap *h)
{
	free(h->e);
	h->e = NULL;
	h->len = h->cap = 0;
}

__u64 serve_rand(__u64 *state)
{
	__u64 x = *state ? *state : 0x9e3779b97f4a7c15ULL;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545f4914f6cdd1dULL;
}

__u32 serve_jitter_ms(__u64 *state, __u32 span_ms)
{
	if (!span_ms)
		return 0;
	return (__u32)(serve_rand(state) % span_ms);
}

__u64 serve_next_due_ms(__u64 *state, __u64 start_ms, __u32 interval_ms, __u64 now_ms)
{
	__u32 span_ms = interval_ms / 20;
	__u64 due;

	if (span_ms > 1000)
		span_ms = 1000;
	due = start_ms + interval_ms - span_ms + serve_jitter_ms(state, 2 * span_ms + 1);
	return due > now_ms ? due : now_ms;
}
