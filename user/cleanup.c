// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * cleanup.c - the tc filters a killed synprobe left on clsact hooks: find them (RTM_GETTFILTER
 * dumps, as `tc filter show`), tell whether a live process still holds their program (/proc/PID/
 * fdinfo), remove them (RTM_DELTFILTER) and then the clsact qdisc if nothing is left on it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/socket.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <libmnl/libmnl.h>
#include <bpf/bpf.h>
#include "cleanup.h"

/* The program name prefixes of bpf/synprobe.bpf.c and bpf/conn.bpf.c. */
static const char *const our_prefixes[] = { "sp_tc_", "sp_conn_" };

/* PROC_PID_INIT_INO (include/linux/proc_ns.h): the initial PID namespace, since Linux 3.8. */
#define INIT_PID_NS "pid:[4026531836]"

bool sp_prog_name_is_ours(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(our_prefixes) / sizeof(our_prefixes[0]); i++)
		if (!strncmp(name, our_prefixes[i], strlen(our_prefixes[i])))
			return true;
	return false;
}

__u32 sp_fdinfo_prog_id(const char *text)
{
	static const char key[] = "prog_id:";
	const char *line = text;
	unsigned long v;
	char *end;

	while (line && *line) {
		if (!strncmp(line, key, sizeof(key) - 1)) {
			line += sizeof(key) - 1;
			line += strspn(line, " \t");
			if (*line < '0' || *line > '9')
				return 0;
			errno = 0;
			v = strtoul(line, &end, 10);
			if (errno || v > 0xffffffffUL || (*end && *end != '\n'))
				return 0;
			return (__u32)v;
		}
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	return 0;
}

static __u32 hook_parent(enum sp_tc_hook hook)
{
	return TC_H_MAKE(TC_H_CLSACT, hook == SP_TC_INGRESS ? TC_H_MIN_INGRESS : TC_H_MIN_EGRESS);
}

/* One rtnetlink socket and its sequence numbers. */
struct nl {
	struct mnl_socket *sock;
	unsigned int seq, portid;
};

static int nl_open(struct nl *nl)
{
	nl->sock = mnl_socket_open(NETLINK_ROUTE);
	if (!nl->sock)
		return -errno;
	if (mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID)) {
		int err = -errno;

		mnl_socket_close(nl->sock);
		return err;
	}
	nl->portid = mnl_socket_get_portid(nl->sock);
	nl->seq = 0;
	return 0;
}

static void nl_close(struct nl *nl)
{
	if (nl->sock)
		mnl_socket_close(nl->sock);
	nl->sock = NULL;
}

/* A tcmsg request of @type with @flags for @ifindex, @parent, @handle and @info. */
static struct nlmsghdr *tc_msg(char *buf, struct nl *nl, __u16 type, __u16 flags, int ifindex,
			       __u32 parent, __u32 handle, __u32 info)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct tcmsg *tcm;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	nlh->nlmsg_seq = ++nl->seq;
	tcm = mnl_nlmsg_put_extra_header(nlh, sizeof(*tcm));
	tcm->tcm_family = AF_UNSPEC;
	tcm->tcm_ifindex = ifindex;
	tcm->tcm_parent = parent;
	tcm->tcm_handle = handle;
	tcm->tcm_info = info;
	return nlh;
}

/* Sends @nlh and runs @cb on each answer until the end of the dump or the ACK. 0 or -errno. */
static int nl_talk(struct nl *nl, struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	unsigned int seq = nlh->nlmsg_seq;
	ssize_t n;
	int ret;

	if (mnl_socket_sendto(nl->sock, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		n = mnl_socket_recvfrom(nl->sock, buf, sizeof(buf));
		if (n < 0)
			return -errno;
		errno = 0;
		ret = mnl_cb_run(buf, n, seq, nl->portid, cb, data);
		if (ret < 0)
			return errno ? -errno : -EIO; /* an NLMSG_ERROR answer sets errno */
		if (ret == MNL_CB_STOP)
			return 0;
	}
}

static int tc_attr_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;

	if (mnl_attr_type_valid(attr, TCA_MAX) > 0)
		tb[mnl_attr_get_type(attr)] = attr;
	return MNL_CB_OK;
}

static int bpf_attr_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;

	if (mnl_attr_type_valid(attr, TCA_BPF_MAX) > 0)
		tb[mnl_attr_get_type(attr)] = attr;
	return MNL_CB_OK;
}

/*
 * The program's kernel name into @name: from the program itself, or else from the filter's
 * TCA_BPF_NAME, which libbpf sets to "name:[id]".
 */
static void prog_name(__u32 id, const struct nlattr *tca_name, char *name)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);
	const char *s, *colon;
	int fd;

	name[0] = '\0';
	fd = bpf_prog_get_fd_by_id(id);
	if (fd >= 0) {
		if (!bpf_obj_get_info_by_fd(fd, &info, &len))
			snprintf(name, SP_PROG_NAME_LEN, "%s", info.name);
		close(fd); /* before any /proc scan: our own fd would count as a holder */
		if (name[0])
			return;
	}
	if (!tca_name || mnl_attr_validate(tca_name, MNL_TYPE_NUL_STRING))
		return;
	s = mnl_attr_get_str(tca_name);
	colon = strstr(s, ":[");
	snprintf(name, SP_PROG_NAME_LEN, "%.*s", colon ? (int)(colon - s) : (int)strlen(s), s);
}

/* A growing array of filters. */
struct filter_list {
	int ifindex;
	enum sp_tc_hook hook;
	struct sp_tc_filter *v;
	size_t n, cap;
	int err;
};

static int filter_msg_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[TCA_MAX + 1] = {}, *btb[TCA_BPF_MAX + 1] = {};
	struct tcmsg *tcm = mnl_nlmsg_get_payload(nlh);
	struct filter_list *l = data;
	struct sp_tc_filter f = {};

	if (nlh->nlmsg_type != RTM_NEWTFILTER || tcm->tcm_ifindex != l->ifindex)
		return MNL_CB_OK;
	/* Each priority has a message of its own with handle 0 and no options: skip it. */
	if (!tcm->tcm_handle)
		return MNL_CB_OK;
	mnl_attr_parse(nlh, sizeof(*tcm), tc_attr_cb, tb);
	if (!tb[TCA_KIND] || mnl_attr_validate(tb[TCA_KIND], MNL_TYPE_NUL_STRING) ||
	    strcmp(mnl_attr_get_str(tb[TCA_KIND]), "bpf") || !tb[TCA_OPTIONS])
		return MNL_CB_OK;
	mnl_attr_parse_nested(tb[TCA_OPTIONS], bpf_attr_cb, btb);
	if (!btb[TCA_BPF_ID] || mnl_attr_validate(btb[TCA_BPF_ID], MNL_TYPE_U32))
		return MNL_CB_OK; /* a classic BPF filter (TCA_BPF_OPS) has no program ID */

	f.ifindex = l->ifindex;
	f.hook = l->hook;
	f.handle = tcm->tcm_handle;
	f.priority = TC_H_MAJ(tcm->tcm_info) >> 16;
	f.protocol = TC_H_MIN(tcm->tcm_info);
	f.prog_id = mnl_attr_get_u32(btb[TCA_BPF_ID]);
	prog_name(f.prog_id, btb[TCA_BPF_NAME], f.prog_name);
	if (!sp_prog_name_is_ours(f.prog_name))
		return MNL_CB_OK;

	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 8;
		struct sp_tc_filter *v = realloc(l->v, cap * sizeof(*v));

		if (!v) {
			l->err = -ENOMEM;
			return MNL_CB_ERROR;
		}
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = f;
	return MNL_CB_OK;
}

/* Appends the filters of ours on both clsact hooks of @ifindex to @l. 0 or -errno. */
static int list_ifindex(struct nl *nl, int ifindex, struct filter_list *l)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	int hook, err;

	l->ifindex = ifindex;
	for (hook = SP_TC_INGRESS; hook <= SP_TC_EGRESS; hook++) {
		l->hook = hook;
		nlh = tc_msg(buf, nl, RTM_GETTFILTER, NLM_F_DUMP, ifindex, hook_parent(hook), 0, 0);
		err = nl_talk(nl, nlh, filter_msg_cb, l);
		if (l->err)
			return l->err;
		/* An interface that went away during the walk has nothing left to clean. */
		if (err && err != -ENODEV)
			return err;
	}
	return 0;
}

int sp_tc_filters_ours(int ifindex, struct sp_tc_filter **out, size_t *n)
{
	struct filter_list l = {};
	struct if_nameindex *ifs = NULL, *i;
	struct nl nl = {};
	char name[IF_NAMESIZE];
	int err;

	*out = NULL;
	*n = 0;
	if (ifindex && !if_indextoname(ifindex, name))
		return -ENODEV;
	err = nl_open(&nl);
	if (err)
		return err;
	if (ifindex) {
		err = list_ifindex(&nl, ifindex, &l);
		goto cleanup;
	}
	ifs = if_nameindex();
	if (!ifs) {
		err = -errno;
		goto cleanup;
	}
	for (i = ifs; i->if_index && !err; i++)
		err = list_ifindex(&nl, i->if_index, &l);

cleanup:
	if (ifs)
		if_freenameindex(ifs);
	nl_close(&nl);
	if (err) {
		free(l.v);
		return err;
	}
	*out = l.v;
	*n = l.n;
	return 0;
}

/* Reads the small text file @name in @dirfd into @buf (NUL-terminated). Bytes read or -errno. */
static ssize_t read_small(int dirfd, const char *name, char *buf, size_t len)
{
	ssize_t n;
	int fd;

	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	if (n < 0)
		n = -errno;
	else
		buf[n] = '\0';
	close(fd);
	return n;
}

/* Whether @err says that another process's fds may not be read (ptrace access). */
static bool denied(int err)
{
	return err == EACCES || err == EPERM;
}

/*
 * The BPF fds of process @pid: each one whose program is that of a filter without a holder yet
 * makes @pid its holder (*@left counts those still without). 0; 1 when its fds cannot be read
 * (it is more privileged than we are); a process that exits meanwhile is not an error.
 */
static int scan_pid(pid_t pid, struct sp_tc_filter *f, size_t n, size_t *left)
{
	char path[64], link[32], text[1024];
	struct dirent *de;
	int info_fd, ret = 0;
	__u32 id;
	ssize_t len;
	DIR *fds;
	size_t i;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	fds = opendir(path);
	if (!fds)
		return denied(errno);
	snprintf(path, sizeof(path), "/proc/%d/fdinfo", (int)pid);
	info_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (info_fd < 0) {
		ret = denied(errno);
		goto cleanup;
	}
	while (*left && (de = readdir(fds))) {
		if (de->d_name[0] == '.')
			continue;
		/* A readlink() tells the BPF fds apart without opening every fdinfo. */
		len = readlinkat(dirfd(fds), de->d_name, link, sizeof(link) - 1);
		if (len < 0) {
			if (denied(errno)) {
				ret = 1;
				break;
			}
			continue; /* closed meanwhile */
		}
		link[len] = '\0';
		if (strcmp(link, "anon_inode:bpf-prog") && strcmp(link, "anon_inode:bpf_link"))
			continue;
		if (read_small(info_fd, de->d_name, text, sizeof(text)) < 0)
			continue;
		id = sp_fdinfo_prog_id(text);
		for (i = 0; id && i < n; i++) {
			if (f[i].prog_id == id && !f[i].holder) {
				f[i].holder = pid;
				(*left)--;
			}
		}
	}
	close(info_fd);
cleanup:
	closedir(fds);
	return ret;
}

/*
 * Whether process @pid may run synprobe, by its command name (readable without ptrace access):
 * also when that cannot be read either (/proc mounted with hidepid=1), but not once it exited.
 */
static bool may_run_synprobe(pid_t pid)
{
	char path[64], comm[32];
	int dirfd;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return errno != ENOENT && errno != ESRCH;
	n = read_small(dirfd, "comm", comm, sizeof(comm));
	close(dirfd);
	if (n < 0)
		return n != -ENOENT && n != -ESRCH;
	return !strcmp(comm, "synprobe\n");
}

/* Whether the /proc mount hides processes (hidepid=2 or "invisible": not even listed). */
static bool proc_hides_pids(void)
{
	char line[1024], *opt;
	bool hides = false;
	FILE *f;

	f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return true;
	while (fgets(line, sizeof(line), f)) {
		/* "ID PARENT MAJ:MIN ROOT /proc OPTS ... - proc proc SUPER_OPTS" */
		if (!strstr(line, " /proc ") || !strstr(line, " - proc "))
			continue;
		opt = strstr(line, "hidepid=");
		if (opt && (!strncmp(opt + 8, "2", 1) || !strncmp(opt + 8, "invisible", 9)))
			hides = true;
	}
	fclose(f);
	return hides;
}

/* Whether /proc shows every process of the system: the initial PID namespace's, unhidden. */
static int proc_sees_all(void)
{
	char link[64];
	ssize_t len;

	/* /proc/self resolves only in a /proc of our PID namespace or an ancestor of it. */
	len = readlink("/proc/self/ns/pid", link, sizeof(link) - 1);
	if (len < 0)
		return -errno;
	link[len] = '\0';
	if (strcmp(link, INIT_PID_NS))
		return -EXDEV;
	return proc_hides_pids() ? -EACCES : 0;
}

int sp_prog_holders(struct sp_tc_filter *f, size_t n)
{
	size_t i, left = n;
	struct dirent *de;
	int err = 0;
	DIR *proc;
	char *end;
	long pid;

	for (i = 0; i < n; i++)
		f[i].holder = 0;
	if (!n)
		return 0;
	proc = opendir("/proc");
	if (!proc)
		return -errno;
	while (left && (de = readdir(proc))) {
		errno = 0;
		pid = strtol(de->d_name, &end, 10);
		if (errno || *end || pid <= 0)
			continue;
		/*
		 * A process more privileged than we are hides its fds. One that runs synprobe may
		 * hold our programs; any other could only by fd passing or by program ID, as bpftool
		 * does for a moment (a sandbox's init is such a process).
		 */
		if (scan_pid((pid_t)pid, f, n, &left) && may_run_synprobe((pid_t)pid) && !err)
			err = -EACCES;
	}
	closedir(proc);
	if (!err && left) /* when every filter has a holder, there is nothing left to prove */
		err = proc_sees_all();
	return err;
}

static int ack_cb(const struct nlmsghdr *nlh, void *data)
{
	return MNL_CB_OK;
}

int sp_tc_filter_del(const struct sp_tc_filter *f)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	struct nl nl = {};
	int err;

	err = nl_open(&nl);
	if (err)
		return err;
	/*
	 * Priority, protocol and handle name one filter; the kind guards against a filter of
	 * another kind that took the place of ours since the dump.
	 */
	nlh = tc_msg(buf, &nl, RTM_DELTFILTER, NLM_F_ACK, f->ifindex, hook_parent(f->hook),
		     f->handle, TC_H_MAKE((__u32)f->priority << 16, f->protocol));
	mnl_attr_put_strz(nlh, TCA_KIND, "bpf");
	err = nl_talk(&nl, nlh, ack_cb, NULL);
	nl_close(&nl);
	/* Gone already: its run ended and detached meanwhile, or its interface went. */
	if (err == -ENOENT || err == -ENODEV)
		err = 0;
	return err;
}

struct filter_count {
	int all;     /* every message: filters, and each priority's own (handle 0) */
	int handles; /* the filters themselves */
};

static int count_cb(const struct nlmsghdr *nlh, void *data)
{
	struct tcmsg *tcm = mnl_nlmsg_get_payload(nlh);
	struct filter_count *c = data;

	if (nlh->nlmsg_type == RTM_NEWTFILTER) {
		c->all++;
		c->handles += tcm->tcm_handle != 0;
	}
	return MNL_CB_OK;
}

static int clsact_filters(struct nl *nl, int ifindex, struct filter_count *c)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	int hook, err;

	c->all = c->handles = 0;
	for (hook = SP_TC_INGRESS; hook <= SP_TC_EGRESS; hook++) {
		nlh = tc_msg(buf, nl, RTM_GETTFILTER, NLM_F_DUMP, ifindex, hook_parent(hook), 0, 0);
		err = nl_talk(nl, nlh, count_cb, c);
		if (err)
			return err;
	}
	return 0;
}

int sp_clsact_filters(int ifindex)
{
	struct filter_count c;
	struct nl nl = {};
	int err;

	err = nl_open(&nl);
	if (err)
		return err;
	err = clsact_filters(&nl, ifindex, &c);
	nl_close(&nl);
	return err ? err : c.handles;
}

struct qdisc_find {
	int ifindex;
	bool found;
};

static int qdisc_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[TCA_MAX + 1] = {};
	struct tcmsg *tcm = mnl_nlmsg_get_payload(nlh);
	struct qdisc_find *q = data;

	if (nlh->nlmsg_type != RTM_NEWQDISC || tcm->tcm_ifindex != q->ifindex ||
	    tcm->tcm_parent != TC_H_CLSACT)
		return MNL_CB_OK;
	mnl_attr_parse(nlh, sizeof(*tcm), tc_attr_cb, tb);
	if (tb[TCA_KIND] && !mnl_attr_validate(tb[TCA_KIND], MNL_TYPE_NUL_STRING) &&
	    !strcmp(mnl_attr_get_str(tb[TCA_KIND]), "clsact"))
		q->found = true;
	return MNL_CB_OK;
}

int sp_clsact_exists(int ifindex)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct qdisc_find q = { .ifindex = ifindex };
	struct nlmsghdr *nlh;
	struct nl nl = {};
	int err;

	err = nl_open(&nl);
	if (err)
		return err;
	nlh = tc_msg(buf, &nl, RTM_GETQDISC, NLM_F_DUMP, ifindex, 0, 0, 0);
	err = nl_talk(&nl, nlh, qdisc_cb, &q);
	nl_close(&nl);
	return err ? err : q.found;
}

int sp_clsact_del_if_empty(int ifindex)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct filter_count c;
	struct nlmsghdr *nlh;
	struct nl nl = {};
	int ret;

	ret = nl_open(&nl);
	if (ret)
		return ret;
	/* Any message at all, even a priority's own without a filter, means not empty. */
	ret = clsact_filters(&nl, ifindex, &c);
	if (ret || c.all)
		goto cleanup;
	/* As libbpf's bpf_tc_hook_destroy(): the kind makes the kernel refuse any other qdisc. */
	nlh = tc_msg(buf, &nl, RTM_DELQDISC, NLM_F_ACK, ifindex, TC_H_CLSACT,
		     TC_H_MAKE(TC_H_CLSACT, 0), 0);
	mnl_attr_put_strz(nlh, TCA_KIND, "clsact");
	ret = nl_talk(&nl, nlh, ack_cb, NULL);
	if (!ret)
		ret = 1;
	else if (ret == -ENOENT || ret == -EINVAL || ret == -ENODEV)
		ret = 0; /* no clsact qdisc (EINVAL: an ingress qdisc of another kind) */
cleanup:
	nl_close(&nl);
	return ret;
}

int sp_cleanup_dead(int ifindex)
{
	struct sp_tc_filter *f = NULL;
	size_t n, i;
	int err, removed = 0;

	err = sp_tc_filters_ours(ifindex, &f, &n);
	if (err || !n)
		goto cleanup;
	/* Not certain which programs are held (not root, a container): remove nothing. */
	err = sp_prog_holders(f, n);
	if (err)
		goto cleanup;
	for (i = 0; i < n; i++) {
		if (f[i].holder)
			continue;
		err = sp_tc_filter_del(&f[i]);
		if (err)
			goto cleanup;
		removed++;
	}
	if (removed)
		sp_clsact_del_if_empty(ifindex);

cleanup:
	free(f);
	return err ? err : removed;
}
