/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * cleanup.h - find the tc filters of synprobe's programs on clsact hooks, tell whether a live
 * process still holds their program, and remove those of dead runs.
 *
 * A clsact filter holds its program in the kernel: when synprobe is killed (SIGKILL, OOM) before
 * it detaches, its filters (and the clsact qdisc it made) stay, and keep running on every packet.
 * A TCX link has no such leftover: it goes with the process (NOTES-kernel.md item 6).
 *
 * A filter is ours when its program's kernel name starts with one of synprobe's prefixes. It
 * belongs to a dead run when, in addition, no process has an fd on its program: synprobe holds
 * its programs' fds (and TCX links, whose fdinfo also names the program) for as long as it runs.
 */
#ifndef __SP_CLEANUP_H
#define __SP_CLEANUP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <linux/types.h>

/* BPF_OBJ_NAME_LEN: the kernel keeps the first 15 characters of a program's name, and a NUL. */
#define SP_PROG_NAME_LEN 16

enum sp_tc_hook {
	SP_TC_INGRESS,
	SP_TC_EGRESS,
};

/* One BPF tc filter of ours on a clsact hook, as the RTM_GETTFILTER dump shows it. */
struct sp_tc_filter {
	int ifindex;
	enum sp_tc_hook hook;
	__u32 handle;	/* tc's "handle", never 0 */
	__u16 priority; /* tc's "pref" */
	__u16 protocol; /* the filter's protocol, network byte order (ETH_P_ALL for ours) */
	__u32 prog_id;
	char prog_name[SP_PROG_NAME_LEN];
	pid_t holder; /* a live process with an fd on the program (the first found), or 0 */
};

/*
 * sp_prog_name_is_ours - whether @name (a kernel program name, possibly cut to 15 characters)
 * is one of synprobe's tc programs: it starts with "sp_tc_" (bpf/synprobe.bpf.c) or "sp_conn_"
 * (bpf/conn.bpf.c). A BPF program added to either file must keep to these prefixes.
 */
bool sp_prog_name_is_ours(const char *name);

/*
 * sp_fdinfo_prog_id - the "prog_id:" line of a /proc/PID/fdinfo/FD text (NUL-terminated @text):
 * bpf-prog fds and bpf_link fds have one. Returns the ID, or 0 when there is no such line or
 * its value is not a decimal number.
 */
__u32 sp_fdinfo_prog_id(const char *text);

/*
 * sp_tc_filters_ours - every BPF filter of ours on the clsact ingress and egress hooks of
 * @ifindex, or of every interface of the current network namespace when @ifindex is 0. Sets
 * *@out to a malloc()ed array (free() it; NULL when empty) of *@n filters, with holder 0.
 * A program's name is read from the kernel (bpf_prog_get_fd_by_id, CAP_SYS_ADMIN); without the
 * privilege, from the filter's TCA_BPF_NAME ("name:[id]", as libbpf sets it).
 * Returns 0, or a negative errno (-ENODEV: no such interface, netlink errors, -ENOMEM).
 */
int sp_tc_filters_ours(int ifindex, struct sp_tc_filter **out, size_t *n);

/*
 * sp_prog_holders - fill in the holder of each of the @n filters: a process whose fds (seen in
 * /proc/PID/fd and /proc/PID/fdinfo) include the filter's program or a link to it.
 * Returns 0 when holder 0 means "no live process holds it": every process that could was seen.
 * A process whose fds we may not read (more privileged than we are) counts only when it runs
 * synprobe, or its comm cannot be read either: then -EACCES, as when /proc hides processes
 * (hidepid=2). -EXDEV when /proc is not the initial PID namespace's (a container: processes
 * outside it are not seen). In both cases the holders found are set, but
 * holder 0 proves nothing. Other negative errnos: /proc unreadable.
 */
int sp_prog_holders(struct sp_tc_filter *f, size_t n);

/*
 * sp_tc_filter_del - remove the filter @f (RTM_DELTFILTER by hook, priority, protocol and
 * handle). Returns 0, also when it was already gone; else a negative errno (-EPERM: no
 * CAP_NET_ADMIN).
 */
int sp_tc_filter_del(const struct sp_tc_filter *f);

/*
 * sp_clsact_filters - the number of tc filters (of any kind, ours or not, those with a handle)
 * on the ingress and egress hooks of @ifindex's clsact qdisc; 0 also when there is no clsact
 * qdisc. Negative errno on failure.
 */
int sp_clsact_filters(int ifindex);

/*
 * sp_clsact_exists - 1 when @ifindex has a clsact qdisc, 0 when not, or a negative errno.
 */
int sp_clsact_exists(int ifindex);

/*
 * sp_clsact_del_if_empty - remove @ifindex's clsact qdisc if no filter at all is left on it.
 * Returns 1 when removed, 0 when it has filters or there is none, or a negative errno.
 */
int sp_clsact_del_if_empty(int ifindex);

/*
 * sp_cleanup_dead - remove from @ifindex's clsact hooks the filters of ours that no live process
 * holds, and then the clsact qdisc if that left it without any filter. Does nothing unless it can
 * tell for certain (every process seen, see sp_prog_holders()). Prints nothing. Meant for the
 * start of a clsact attach: the new run's own programs are held by the caller, so never removed.
 * Returns the number of filters removed, or a negative errno.
 */
int sp_cleanup_dead(int ifindex);

#endif
