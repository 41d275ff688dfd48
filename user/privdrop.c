// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * privdrop.c - least privilege for `synprobe serve` (see privdrop.h). The order follows
 * capabilities(7): the bounding set shrinks while CAP_SETPCAP is still effective, the uid
 * changes under PR_SET_KEEPCAPS (else the kernel clears the permitted set with it), then the
 * permitted and effective sets are cut to what is kept.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include "privdrop.h"

int sp_user_lookup(const char *name, struct sp_user *u)
{
	struct passwd *pw;

	if (strlen(name) >= sizeof(u->name))
		return -ENAMETOOLONG;
	errno = 0;
	pw = getpwnam(name);
	if (!pw)
		return errno && errno != ENOENT && errno != ESRCH ? -errno : -ENOENT;
	snprintf(u->name, sizeof(u->name), "%s", name);
	u->uid = pw->pw_uid;
	u->gid = pw->pw_gid;
	return 0;
}

int sp_listen_socket(const struct sockaddr *addr, socklen_t addrlen)
{
	int fd, moved, on = 1, err;

	fd = socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
	if (fd < 0)
		return -errno;
	if (fd <= 2) {
		/* Started with stdin, stdout or stderr closed: keep those numbers free. */
		moved = fcntl(fd, F_DUPFD_CLOEXEC, 3);
		err = -errno;
		close(fd);
		if (moved < 0)
			return err;
		fd = moved;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) ||
	    (addr->sa_family == AF_INET6 &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on))) ||
	    bind(fd, addr, addrlen) || listen(fd, SOMAXCONN)) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

int sp_pin_dir_give(const char *dir, const struct sp_user *u)
{
	/* Root stays owner: a later run as root without CAP_DAC_OVERRIDE can pin there again. */
	if (chown(dir, (uid_t)-1, u->gid) || chmod(dir, 0770))
		return -errno;
	return 0;
}

/* The kept capabilities of @keep (@n) that the permitted set of @cur holds, into @out; returns
 * how many. */
static int held(cap_t cur, const cap_value_t *keep, int n, cap_value_t *out)
{
	cap_flag_value_t v;
	int i, m = 0;

	for (i = 0; i < n; i++)
		if (!cap_get_flag(cur, keep[i], CAP_PERMITTED, &v) && v == CAP_SET)
			out[m++] = keep[i];
	return m;
}

int sp_privdrop(const struct sp_user *u, bool keep_attach, bool keep_mark, const char **step)
{
	cap_value_t attach_caps[3], have[3];
	int n_keep = 0, n_held, err = 0;
	cap_t caps = NULL;
	cap_value_t cap;
	unsigned int i;
	bool kept;

	*step = NULL;
	if (keep_attach) {
		attach_caps[n_keep++] = CAP_BPF;
		attach_caps[n_keep++] = CAP_NET_ADMIN;
	}
	if (keep_mark)
		attach_caps[n_keep++] = CAP_NET_RAW;
	/* 1. The bounding set: EPERM without CAP_SETPCAP, which leaves it as it is. */
	for (cap = 0; cap < (cap_value_t)cap_max_bits(); cap++) {
		kept = false;
		for (i = 0; i < (unsigned int)n_keep; i++)
			kept |= attach_caps[i] == cap;
		if (!kept && CAP_IS_SUPPORTED(cap))
			cap_drop_bound(cap);
	}

	/* 2. The user. */
	if (u && (getuid() != u->uid || geteuid() != u->uid || getgid() != u->gid)) {
		if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0)) {
			*step = "keepcaps";
			return -errno;
		}
		if (setgroups(0, NULL)) {
			*step = "setgroups";
			return -errno;
		}
		if (setresgid(u->gid, u->gid, u->gid)) {
			*step = "setresgid";
			return -errno;
		}
		if (setresuid(u->uid, u->uid, u->uid)) {
			*step = "setresuid";
			return -errno;
		}
		prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
	}

	/* 3. Permitted and effective: the kept ones we hold; inheritable and ambient: none. */
	caps = cap_get_proc();
	if (!caps) {
		*step = "cap_get_proc";
		return -errno;
	}
	n_held = held(caps, attach_caps, n_keep, have);
	if (cap_clear(caps) ||
	    (n_held && (cap_set_flag(caps, CAP_PERMITTED, n_held, have, CAP_SET) ||
			cap_set_flag(caps, CAP_EFFECTIVE, n_held, have, CAP_SET))) ||
	    cap_set_proc(caps)) {
		*step = "cap_set_proc";
		err = -errno;
		goto cleanup;
	}
	/* Ambient capabilities cannot outlive the permitted set; cleared for a clear reading. */
	cap_reset_ambient();

	/* After a switch away from root, root must be out of reach (CERT POS37-C). */
	if (u && u->uid != 0 && (setuid(0) == 0 || seteuid(0) == 0)) {
		*step = "uid 0 still reachable";
		err = -EPERM;
		goto cleanup;
	}

	/* 4. Nothing exec'd later gains privileges (setuid binaries, file capabilities). */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) {
		*step = "no_new_privs";
		err = -errno;
		goto cleanup;
	}
cleanup:
	cap_free(caps);
	return err;
}
