// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* timer_heap.c - binary min-heap of per-slot deadlines. */
#include <errno.h>
#include <stdlib.h>
#include "timer_heap.h"

static __u64 key(const struct sp_timer_heap *h, unsigned int i)
{
	return h->deadline_ns[h->heap[i]];
}

static void place(struct sp_timer_heap *h, unsigned int i, unsigned int slot)
{
	h->heap[i] = slot;
	h->pos[slot] = i;
}

static void swap(struct sp_timer_heap *h, unsigned int a, unsigned int b)
{
	unsigned int slot_a = h->heap[a];

	place(h, a, h->heap[b]);
	place(h, b, slot_a);
}

static void sift_up(struct sp_timer_heap *h, unsigned int i)
{
	while (i > 0 && key(h, (i - 1) / 2) > key(h, i)) {
		swap(h, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static void sift_down(struct sp_timer_heap *h, unsigned int i)
{
	unsigned int child;

	for (;;) {
		child = 2 * i + 1;
		if (child >= h->len)
			return;
		if (child + 1 < h->len && key(h, child + 1) < key(h, child))
			child++;
		if (key(h, i) <= key(h, child))
			return;
		swap(h, i, child);
		i = child;
	}
}

int sp_timer_heap_reserve(struct sp_timer_heap *h, unsigned int cap)
{
	unsigned int *heap, *pos, i;
	__u64 *deadline_ns;

	if (cap <= h->cap)
		return 0;
	heap = realloc(h->heap, cap * sizeof(*heap));
	if (!heap)
		return -ENOMEM;
	h->heap = heap;
	pos = realloc(h->pos, cap * sizeof(*pos));
	if (!pos)
		return -ENOMEM;
	h->pos = pos;
	deadline_ns = realloc(h->deadline_ns, cap * sizeof(*deadline_ns));
	if (!deadline_ns)
		return -ENOMEM;
	h->deadline_ns = deadline_ns;
	for (i = h->cap; i < cap; i++)
		h->pos[i] = SP_TIMER_NONE;
	h->cap = cap;
	return 0;
}

void sp_timer_heap_free(struct sp_timer_heap *h)
{
	free(h->heap);
	free(h->pos);
	free(h->deadline_ns);
	h->heap = h->pos = NULL;
	h->deadline_ns = NULL;
	h->len = h->cap = 0;
}

void sp_timer_heap_set(struct sp_timer_heap *h, unsigned int slot, __u64 deadline_ns)
{
	unsigned int i = h->pos[slot];

	h->deadline_ns[slot] = deadline_ns;
	if (i == SP_TIMER_NONE) {
		place(h, h->len++, slot);
		sift_up(h, h->len - 1);
		return;
	}
	sift_down(h, i);
	sift_up(h, h->pos[slot]);
}

void sp_timer_heap_remove(struct sp_timer_heap *h, unsigned int slot)
{
	unsigned int i = h->pos[slot], moved;

	if (i == SP_TIMER_NONE)
		return;
	h->pos[slot] = SP_TIMER_NONE;
	h->len--;
	if (i == h->len)
		return;
	/* The last node fills the hole, then finds its place either way. */
	moved = h->heap[h->len];
	place(h, i, moved);
	sift_down(h, i);
	sift_up(h, h->pos[moved]);
}

bool sp_timer_heap_peek(const struct sp_timer_heap *h, unsigned int *slot, __u64 *deadline_ns)
{
	if (!h->len)
		return false;
	*slot = h->heap[0];
	*deadline_ns = h->deadline_ns[h->heap[0]];
	return true;
}
