// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * bpf_load.c - what loading synprobe's BPF object costs, per program: each program is loaded
 * alone (the others' autoload off), and its load time (median of N loads: wall, and the CPU time
 * of the loading thread, which the verifier runs in and which other processes on the machine
 * do not inflate), its verified instruction count (bpf_prog_info.verified_insns, kernel 5.16+)
 * and its translated size are printed. The maps are created on every load: "maps" is the load of
 * the object with no program, "all" that of the whole object as `synprobe check` loads it
 * (counts and sizes summed). The rows are interleaved (one load of each row, N times), after one
 * warm-up round that is not counted (libbpf's feature probes, caches).
 *
 * Usage: bpf_load [N]   (N loads per row, default 7). Root.
 * Output: one line per row: "name wall_ms cpu_ms verified_insns xlated_bytes" ("-" for none).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "synprobe.skel.h"

#define PROGS_MAX 16
#define REPS_MAX 64

struct row {
	const char *name;	/* a program, or "maps" / "all" */
	bool none, all;
	double wall[REPS_MAX], cpu[REPS_MAX];
	__u32 insns, xlated;
};

static double ms_of(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, n, sizeof(v[0]), cmp_double);
	return v[n / 2];
}

static int silent(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return 0;
}

/* One load of the object with row @r's programs autoloaded; @rep < 0: not recorded. */
static int load_one(struct row *r, int rep)
{
	struct synprobe_bpf *skel = synprobe_bpf__open();
	struct bpf_program *prog;
	double w0, c0, w, c;
	int err;

	if (!skel)
		return -errno;
	bpf_object__for_each_program(prog, skel->obj)
		bpf_program__set_autoload(prog, r->all ||
					  (!r->none && !strcmp(bpf_program__name(prog), r->name)));
	w0 = ms_of(CLOCK_MONOTONIC);
	c0 = ms_of(CLOCK_THREAD_CPUTIME_ID);
	err = synprobe_bpf__load(skel);
	c = ms_of(CLOCK_THREAD_CPUTIME_ID) - c0;
	w = ms_of(CLOCK_MONOTONIC) - w0;
	r->insns = r->xlated = 0;
	bpf_object__for_each_program(prog, skel->obj) {
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);

		if (err || !bpf_program__autoload(prog))
			continue;
		err = bpf_obj_get_info_by_fd(bpf_program__fd(prog), &info, &len);
		r->insns += info.verified_insns;
		r->xlated += info.xlated_prog_len;
	}
	synprobe_bpf__destroy(skel);
	if (!err && rep >= 0) {
		r->wall[rep] = w;
		r->cpu[rep] = c;
	}
	return err;
}

int main(int argc, char **argv)
{
	static struct row rows[PROGS_MAX + 2];
	int reps = argc > 1 ? atoi(argv[1]) : 7;
	struct synprobe_bpf *skel;
	struct bpf_program *prog;
	size_t n = 0, i;
	int rep, err;

	if (reps < 1 || reps > REPS_MAX) {
		fprintf(stderr, "usage: bpf_load [N: 1 to %d]\n", REPS_MAX);
		return 2;
	}
	libbpf_set_print(silent);
	rows[n].name = "maps";
	rows[n++].none = true;
	/* The programs, in the object's order. */
	skel = synprobe_bpf__open();
	if (!skel) {
		fprintf(stderr, "Error: opening the BPF object: %s\n", strerror(errno));
		return 1;
	}
	bpf_object__for_each_program(prog, skel->obj) {
		if (n < PROGS_MAX + 1)
			rows[n++].name = strdup(bpf_program__name(prog));
	}
	synprobe_bpf__destroy(skel);
	rows[n].name = "all";
	rows[n++].all = true;

	for (rep = -1; rep < reps; rep++) {
		for (i = 0; i < n; i++) {
			if (!rows[i].name)
				return 1;
			err = load_one(&rows[i], rep);
			if (err) {
				fprintf(stderr, "Error: loading %s: %s\n", rows[i].name, strerror(-err));
				return 1;
			}
		}
	}
	for (i = 0; i < n; i++) {
		printf("%s %.2f %.2f", rows[i].name, median(rows[i].wall, reps),
		       median(rows[i].cpu, reps));
		if (rows[i].none)
			printf(" - -\n");
		else
			printf(" %u %u\n", rows[i].insns, rows[i].xlated);
	}
	return 0;
}
