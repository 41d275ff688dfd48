// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * sp_tcx_query - test helper: the BPF programs attached to an interface by TCX (kernel >= 6.6).
 *
 * Usage: sp_tcx_query IFNAME
 * Prints two lines, "ingress: ID..." and "egress: ID..." (the program IDs, possibly none), and
 * exits 0; exits 1 with a message on stderr when the interface does not exist or the query
 * fails. Run it inside the interface's network namespace.
 *
 * bpftool 7.1 and iproute2 6.1 (Debian 12) do not show TCX attachments (`bpftool net` skips
 * them, `bpftool link` prints "type 11" without the interface), so the integration tests ask the
 * kernel directly: BPF_PROG_QUERY with the interface index as the target.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/syscall.h>
#include <linux/bpf.h>

/* enum bpf_attach_type values from kernel 6.6 (missing from linux-libc-dev 6.1). */
#define SP_BPF_TCX_INGRESS 46
#define SP_BPF_TCX_EGRESS 47
#define IDS_MAX 64

static int query(unsigned int ifindex, unsigned int type, const char *name)
{
	__u32 ids[IDS_MAX];
	union bpf_attr attr;
	__u32 i;

	memset(&attr, 0, sizeof(attr));
	attr.query.target_fd = ifindex; /* target_ifindex in 6.6's UAPI: the same field */
	attr.query.attach_type = type;
	attr.query.prog_ids = (__u64)(unsigned long)ids;
	attr.query.prog_cnt = IDS_MAX;
	if (syscall(__NR_bpf, BPF_PROG_QUERY, &attr, sizeof(attr))) {
		fprintf(stderr, "sp_tcx_query: BPF_PROG_QUERY %s: %s\n", name, strerror(errno));
		return -1;
	}
	printf("%s:", name);
	for (i = 0; i < attr.query.prog_cnt && i < IDS_MAX; i++)
		printf(" %u", ids[i]);
	printf("\n");
	return 0;
}

int main(int argc, char **argv)
{
	unsigned int ifindex;

	if (argc != 2) {
		fprintf(stderr, "usage: sp_tcx_query IFNAME\n");
		return 2;
	}
	ifindex = if_nametoindex(argv[1]);
	if (!ifindex) {
		fprintf(stderr, "sp_tcx_query: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	if (query(ifindex, SP_BPF_TCX_INGRESS, "ingress") || query(ifindex, SP_BPF_TCX_EGRESS, "egress"))
		return 1;
	return 0;
}
