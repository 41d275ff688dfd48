// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_cleanup.c - what `synprobe cleanup` and the clsact attach judge by: the program name
 * test (and that every tc program of both BPF objects passes it, cut to the kernel's 15
 * characters), and the "prog_id:" line of /proc/PID/fdinfo texts.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include <bpf/libbpf.h>
#include "cleanup.h"
#include "synprobe.skel.h"
#include "conn.skel.h"

struct name_case {
	const char *name;
	bool ours;
};

static const struct name_case name_cases[] = {
	{ "sp_tc_ingress", true },
	{ "sp_tc_egress", true },
	{ "sp_conn_ingress", true },
	{ "sp_conn_egress", true },
	{ "sp_tc_in_l3", true },
	/* cut by the kernel to 15 characters */
	{ "sp_tc_ingress_v", true },
	{ "sp_conn_ingres", true },
	/* not ours */
	{ "", false },
	{ "sp_", false },
	{ "sp_tc", false },
	{ "sp_conn", false },
	{ "sp_other", false },
	{ "tc_ingress", false },
	{ "cil_from_conta", false },
	{ "SP_TC_INGRESS", false },
	{ "xsp_tc_ingress", false },
	{ "pping_tc_egress", false },
};

static void test_name_cases(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(name_cases) / sizeof(name_cases[0]); i++) {
		if (sp_prog_name_is_ours(name_cases[i].name) != name_cases[i].ours)
			fail_msg("'%s': expected %s", name_cases[i].name,
				 name_cases[i].ours ? "ours" : "not ours");
	}
}

/* Every tc program of @obj passes the name test as the kernel names it (15 characters). */
static void expect_tc_programs_ours(struct bpf_object *obj)
{
	char kname[SP_PROG_NAME_LEN];
	struct bpf_program *prog;
	int n = 0;

	bpf_object__for_each_program(prog, obj) {
		if (bpf_program__type(prog) != BPF_PROG_TYPE_SCHED_CLS)
			continue;
		snprintf(kname, sizeof(kname), "%s", bpf_program__name(prog));
		if (!sp_prog_name_is_ours(kname))
			fail_msg("program '%s' (kernel name '%s') of %s is not recognised by "
				 "sp_prog_name_is_ours(): cleanup would never remove its filters",
				 bpf_program__name(prog), kname, bpf_object__name(obj));
		n++;
	}
	assert_true(n >= 2);
}

static void test_skeleton_programs_are_ours(void **state)
{
	struct synprobe_bpf *sp = synprobe_bpf__open();
	struct conn_bpf *conn = conn_bpf__open();

	assert_non_null(sp);
	assert_non_null(conn);
	expect_tc_programs_ours(sp->obj);
	expect_tc_programs_ours(conn->obj);
	synprobe_bpf__destroy(sp);
	conn_bpf__destroy(conn);
}

struct fdinfo_case {
	const char *what;
	const char *text;
	__u32 id;
};

static const struct fdinfo_case fdinfo_cases[] = {
	{ "bpf-prog fd (kernel 6.18)",
	  "pos:\t0\nflags:\t02000002\nmnt_id:\t17\nino:\t1038\nprog_type:\t3\nprog_jited:\t1\n"
	  "prog_tag:\tf744003e4d6197bb\nmemlock:\t8192\nprog_id:\t104\nrun_time_ns:\t0\n"
	  "run_cnt:\t0\nrecursion_misses:\t0\nverified_insns:\t28009\n",
	  104 },
	{ "bpf_link fd, TCX",
	  "pos:\t0\nflags:\t02000000\nmnt_id:\t17\nino:\t1038\nlink_type:\ttcx\nlink_id:\t89\n"
	  "prog_tag:\t7359004ca77fb93e\nprog_id:\t105\nifindex:\t1\nattach_type:\t46 (ingress)\n",
	  105 },
	{ "the line last, without a newline", "prog_type:\t3\nprog_id:\t4294967295", 4294967295U },
	{ "spaces instead of a tab", "prog_id: 7\n", 7 },
	{ "bpf-map fd: no prog_id", "pos:\t0\nmap_type:\t27\nmap_id:\t36\nfrozen:\t0\n", 0 },
	{ "owner_prog_type is not prog_id", "owner_prog_type:\t3\nowner_jited:\t1\n", 0 },
	{ "xprog_id is not prog_id", "xprog_id:\t9\n", 0 },
	{ "empty", "", 0 },
	{ "no value", "prog_id:\t\n", 0 },
	{ "not a number", "prog_id:\tabc\n", 0 },
	{ "negative", "prog_id:\t-1\n", 0 },
	{ "trailing junk", "prog_id:\t12x\n", 0 },
	{ "too large for __u32", "prog_id:\t4294967296\n", 0 },
};

static void test_fdinfo_cases(void **state)
{
	size_t i;
	__u32 id;

	for (i = 0; i < sizeof(fdinfo_cases) / sizeof(fdinfo_cases[0]); i++) {
		id = sp_fdinfo_prog_id(fdinfo_cases[i].text);
		if (id != fdinfo_cases[i].id)
			fail_msg("%s: got %u, expected %u", fdinfo_cases[i].what, id,
				 fdinfo_cases[i].id);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_name_cases),
		cmocka_unit_test(test_skeleton_programs_are_ours),
		cmocka_unit_test(test_fdinfo_cases),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
