/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * conn.h - load and attach the conn BPF object (bpf/conn.bpf.c), register live connections with
 * it and read its events. Used by `synprobe keepalive` and `synprobe halfclose`.
 */
#ifndef __SP_USER_CONN_H
#define __SP_USER_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <json-c/json.h>
#include <sys/socket.h>
#include <linux/types.h>
#include "../bpf/conn.h" /* the BPF side's shared header (not this file) */

struct sp_conn_obs;

/* Called for each ring-buffer event; @ev is only valid during the call. */
typedef void (*sp_conn_event_fn)(const struct sp_conn_event *ev, void *ctx);

/*
 * sp_conn_open - load the conn programs (nothing is attached yet). @fn gets every event with
 * @ctx. Returns the observer (free with sp_conn_close()), or NULL with errno set (EPERM: not
 * root, or a libbpf error).
 */
struct sp_conn_obs *sp_conn_open(sp_conn_event_fn fn, void *ctx);

/*
 * sp_conn_attach_for - attach the programs (TCX first, else clsact) to the interface the route
 * to @peer leaves by (`lo` for a local address), once per interface. Returns 0 or a negative
 * errno (-ENETUNREACH: no route, -EPFNOSUPPORT: a link type the programs cannot parse, -EPERM, ...).
 */
int sp_conn_attach_for(struct sp_conn_obs *o, const struct sockaddr *peer);

/*
 * sp_conn_attach_strerror - one line for the user saying why sp_conn_attach_for() failed with
 * @err for the route to @where, and what to do, into @buf of @len bytes. Returns @buf.
 */
char *sp_conn_attach_strerror(int err, const char *where, char *buf, size_t len);

/*
 * sp_conn_register - follow the TCP socket @fd under the handle @conn_id. A connecting socket
 * (@accepted false) must be registered before connect(): its 4-tuple is learned from its first
 * packet. An accepted socket (@accepted true) is registered with its 4-tuple from getsockname()
 * and getpeername(). Sets *@cookie (SO_COOKIE) for the other calls. Returns 0 or a negative
 * errno (-ENOSPC: too many connections followed).
 */
int sp_conn_register(struct sp_conn_obs *o, int fd, __u32 conn_id, bool accepted, __u64 *cookie);

/* sp_conn_lookup - copy the BPF side's state of @cookie into @out. 0 or -ENOENT. */
int sp_conn_lookup(struct sp_conn_obs *o, __u64 cookie, struct sp_conn *out);

/* sp_conn_unregister - stop following @cookie: its entries leave both maps. */
void sp_conn_unregister(struct sp_conn_obs *o, __u64 cookie);

/* sp_conn_poll_fd - an fd that polls readable when events are waiting (for poll()). */
int sp_conn_poll_fd(struct sp_conn_obs *o);

/* sp_conn_consume - hand every waiting event to the callback. Returns the count or -errno. */
int sp_conn_consume(struct sp_conn_obs *o);

/* sp_conn_read_stats - the per-CPU counters summed into @out. 0 or a negative errno. */
int sp_conn_read_stats(struct sp_conn_obs *o, struct sp_conn_stats *out);

/*
 * sp_conn_close - unregister every connection still followed, detach from every interface,
 * unload. NULL is accepted.
 */
void sp_conn_close(struct sp_conn_obs *o);

/* sp_mono_ns - CLOCK_MONOTONIC now in ns: the clock of bpf_ktime_get_ns(). */
__u64 sp_mono_ns(void);

/* sp_conn_event_name - "probe-out", "ack-in", ... for an enum sp_conn_event_type. */
const char *sp_conn_event_name(int type);

/* sp_addr_port_str - "10.0.0.1:80" or "[fd00::1]:80" for @ss into @buf (@len bytes); @buf. */
char *sp_addr_port_str(const struct sockaddr_storage *ss, char *buf, size_t len);

/*
 * sp_connect_timeout - connect() the non-blocking socket @fd to @addr, waiting at most
 * @timeout_ms. Returns 0, or a negative errno (-ETIMEDOUT, -ECONNREFUSED, -EINTR on a signal, ...).
 */
int sp_connect_timeout(int fd, const struct sockaddr *addr, socklen_t addrlen, __u32 timeout_ms);

/* sp_json_line - write @obj as one JSON line to stdout, flush, and free @obj (json_object_put). */
void sp_json_line(json_object *obj);

#endif
