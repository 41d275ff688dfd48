/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * privdrop.h - least privilege for `synprobe serve`: what needs privilege is made first (BPF
 * load, pins, the HTTP listen socket), then serve switches to an unprivileged user and keeps only
 * the capabilities it needs at run time (libcap; capabilities(7), prctl(2) PR_SET_KEEPCAPS,
 * PR_SET_NO_NEW_PRIVS).
 */
#ifndef SYNPROBE_PRIVDROP_H
#define SYNPROBE_PRIVDROP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

#define SP_USER_NAME_MAX 64

/* The user to run as, from the passwd database. */
struct sp_user {
	char name[SP_USER_NAME_MAX];
	uid_t uid;
	gid_t gid; /* the user's primary group: the only group kept */
};

/*
 * sp_user_lookup - @name's uid and primary gid (getpwnam(3)) into *@u. Returns 0, -ENOENT for an
 * unknown user, -ENAMETOOLONG for a name of SP_USER_NAME_MAX bytes or more, or another negative
 * errno from the passwd lookup.
 */
int sp_user_lookup(const char *name, struct sp_user *u);

/*
 * sp_listen_socket - a TCP socket bound to @addr (@addrlen bytes) and listening, made while
 * binding a port below 1024 is still allowed. SO_REUSEADDR as libmicrohttpd sets it; IPv6
 * sockets are IPv6 only. Close-on-exec, non-blocking. Returns the fd (never 0, 1 or 2: a caller
 * may take 0 for "none"), or a negative errno (-EADDRINUSE, -EACCES, ...).
 */
int sp_listen_socket(const struct sockaddr *addr, socklen_t addrlen);

/*
 * sp_pin_dir_give - let @u remove the pins from the pin directory @dir (made by the engine) at
 * exit: group @u's primary group, mode 0770. The owner and the pins (0600) stay root's, so that
 * the next run, as root without CAP_DAC_OVERRIDE, can pin there again. Returns 0 or a negative
 * errno (-EPERM without CAP_CHOWN).
 */
int sp_pin_dir_give(const char *dir, const struct sp_user *u);

/*
 * sp_privdrop - the drop, for the calling thread and every thread it starts after (call it with
 * no other thread running):
 *  1. every capability but CAP_BPF and CAP_NET_ADMIN (@keep_attach) and CAP_NET_RAW (@keep_mark:
 *     SO_MARK needs it, or CAP_NET_ADMIN, from kernel 5.17 on) or all leaves the bounding
 *     set (needs CAP_SETPCAP; without it the bounding set stays as given, e.g. by systemd);
 *  2. with @u (NULL: stay who we are) and a uid other than ours: PR_SET_KEEPCAPS, setgroups(0),
 *     setresgid() and setresuid() to @u, and a check that uid 0 cannot come back;
 *  3. permitted and effective sets reduced to the kept capabilities we hold, inheritable and
 *     ambient sets cleared (cap_set_proc(3), cap_reset_ambient(3));
 *  4. no_new_privs.
 * Started already unprivileged with ambient capabilities (systemd User= with
 * AmbientCapabilities=), steps 1-2 do nothing and 3-4 drop the rest.
 * Returns 0, or a negative errno with *@step naming the step that failed ("setgroups",
 * "setresgid", "setresuid", "uid 0 still reachable", "cap_set_proc", "no_new_privs").
 */
int sp_privdrop(const struct sp_user *u, bool keep_attach, bool keep_mark, const char **step);

#endif /* SYNPROBE_PRIVDROP_H */
