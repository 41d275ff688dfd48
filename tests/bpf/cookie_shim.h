/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * cookie_shim.h - for BPF_PROG_TEST_RUN of a program that looks its socket up by cookie.
 *
 * Each test run gets a fresh dummy socket whose cookie cannot be known beforehand, so a tracked
 * socket cannot be registered from user space. The shim is a tiny SCHED_CLS program that does it
 * in the run itself: it reads its skb's socket cookie, writes it into the first 8 bytes of the
 * template in @template_fd[0] (an ARRAY of one value whose first field is the cookie), stores
 * that template in @socks_fd under the cookie, and tail-calls @jmp_fd[0], the program under test.
 * Its return code is that program's, or SHIM_FAILED when one of its own steps failed.
 */
#ifndef __SP_COOKIE_SHIM_H
#define __SP_COOKIE_SHIM_H

#include <errno.h>
#include <stdio.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#define SHIM_FAILED 0x5350

static inline struct bpf_insn shim_insn(__u8 code, __u8 dst, __u8 src, __s16 off, __s32 imm)
{
	struct bpf_insn i = {
		.code = code, .dst_reg = dst, .src_reg = src, .off = off, .imm = imm,
	};

	return i;
}

/*
 * shim_load - the shim for the maps above, named @name. Returns its fd, or a negative errno
 * after printing the verifier's log on stderr.
 */
static inline int shim_load(const char *name, int template_fd, int socks_fd, int jmp_fd)
{
	__u8 ld_map = BPF_LD | BPF_DW | BPF_IMM;
	struct bpf_insn prog[] = {
		/* 0: r6 = skb */
		shim_insn(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_6, BPF_REG_1, 0, 0),
		/* 1: r0 = bpf_get_socket_cookie(skb); fp[-8] = r0 */
		shim_insn(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_get_socket_cookie),
		shim_insn(BPF_STX | BPF_MEM | BPF_DW, BPF_REG_10, BPF_REG_0, -8, 0),
		/* 3: fp[-16] = 0; r0 = bpf_map_lookup_elem(template_fd, fp - 16) */
		shim_insn(BPF_ST | BPF_MEM | BPF_W, BPF_REG_10, 0, -16, 0),
		shim_insn(ld_map, BPF_REG_1, BPF_PSEUDO_MAP_FD, 0, template_fd),
		shim_insn(0, 0, 0, 0, 0),
		shim_insn(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_2, BPF_REG_10, 0, 0),
		shim_insn(BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_2, 0, 0, -16),
		shim_insn(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_map_lookup_elem),
		/* 9: if (!r0) goto fail (insn 25) */
		shim_insn(BPF_JMP | BPF_JEQ | BPF_K, BPF_REG_0, 0, 15, 0),
		/* 10: template->cookie = fp[-8] */
		shim_insn(BPF_LDX | BPF_MEM | BPF_DW, BPF_REG_1, BPF_REG_10, -8, 0),
		shim_insn(BPF_STX | BPF_MEM | BPF_DW, BPF_REG_0, BPF_REG_1, 0, 0),
		/* 12: r0 = bpf_map_update_elem(socks_fd, fp - 8, template, BPF_ANY) */
		shim_insn(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_3, BPF_REG_0, 0, 0),
		shim_insn(ld_map, BPF_REG_1, BPF_PSEUDO_MAP_FD, 0, socks_fd),
		shim_insn(0, 0, 0, 0, 0),
		shim_insn(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_2, BPF_REG_10, 0, 0),
		shim_insn(BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_2, 0, 0, -8),
		shim_insn(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_4, 0, 0, BPF_ANY),
		shim_insn(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_map_update_elem),
		/* 19: if (r0) goto fail (insn 25) */
		shim_insn(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_0, 0, 5, 0),
		/* 20: bpf_tail_call(skb, jmp_fd, 0): does not come back when it works */
		shim_insn(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_1, BPF_REG_6, 0, 0),
		shim_insn(ld_map, BPF_REG_2, BPF_PSEUDO_MAP_FD, 0, jmp_fd),
		shim_insn(0, 0, 0, 0, 0),
		shim_insn(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_3, 0, 0, 0),
		shim_insn(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_tail_call),
		/* 25: fail: return SHIM_FAILED */
		shim_insn(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, SHIM_FAILED),
		shim_insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
	};
	static char log[65536];
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .log_buf = log, .log_size = sizeof(log),
		    .log_level = 1);
	int fd;

	fd = bpf_prog_load(BPF_PROG_TYPE_SCHED_CLS, name, "Dual BSD/GPL", prog,
			   sizeof(prog) / sizeof(prog[0]), &opts);
	if (fd < 0) {
		fd = -errno;
		fprintf(stderr, "the cookie shim was rejected by the verifier:\n%s\n", log);
	}
	return fd;
}

#endif
