// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * kind_connect.c - the connect check's TCP phase (--method connect, SYNPROBE_METHOD_CONNECT), a
 * row of kind.h: a plain non-blocking connect(), its end learnt from epoll (EPOLLOUT, then
 * SO_ERROR), timed in user space (connect() to the socket turning writable), and close(), which
 * sends FIN (a completing kind's check: RST unless close_fin). Needs no privilege and loads
 * nothing: no open, no registration, no ring buffer.
 */
#include <sys/socket.h>
#include "kind.h"

/* Nothing to set beyond the shared options: epoll says when the handshake ends. */
static int connect_prepare(struct sp_loop *l, struct sp_check *c, struct sp_flow *flow, bool *reg)
{
	*reg = false;
	return sp_loop_poll_socket(l, c);
}

/* Writable: connected or failed. A completing kind takes a connected socket. */
static void connect_on_socket_event(struct sp_loop *l, struct sp_check *c, unsigned int events)
{
	if (!c->writable_ns)
		c->writable_ns = sp_now_ns();
	if (c->copts.kind) {
		sp_loop_connected(l, c);
		return;
	}
	sp_loop_finish(l, c);
}

/* The socket's own state is the result: SO_ERROR, a peer, our side of the 4-tuple. */
static void connect_end(struct sp_loop *l, struct sp_check *c)
{
	if (c->fd >= 0 && !c->connect_err)
		sp_check_read_socket(c);
}

const struct sp_method sp_method_connect = {
	.name = "connect",
	.method = SYNPROBE_METHOD_CONNECT,
	.prepare = connect_prepare,
	.on_socket_event = connect_on_socket_event,
	.end = connect_end,
};
