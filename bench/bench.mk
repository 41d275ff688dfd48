# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# `make bench` (root): synprobe against a plain half-open loop and a full-connect loop, in
# network namespaces made for the purpose; the table goes to bench/results/RESULTS.md.
# Knobs (environment or make command line, see bench/run.sh): BENCH_N, BENCH_REPS, BENCH_CONC,
# BENCH_RTT_N1, BENCH_RTT_N1000, BENCH_WIRE_N, BENCH_WIRE_CONC, BENCH_IPERF_S, BENCH_MAX_FLOWS,
# BENCH_POLITE_N, BENCH_POLITE_CONC, BENCH_POLITE_BACKLOG, BENCH_POLITE_PER_TARGET, BENCH_ONLY
# (=polite: section 6 alone; =startup: section 7; =syscalls: section 8; =memory: section 9;
# =threads: section 10), BENCH_STARTUP_N, BENCH_SYSCALL_N, BENCH_SYSCALL_CONC, BENCH_MEM_LINES,
# BENCH_MEM_CONC, BENCH_THREADS, BENCH_THREADS_CONC, BENCH_THREADS_N, BENCH_KEEP.
BENCH_BIN := $(OUTPUT)/bench/bench
# Section 7: each BPF program's load time, verified instructions and size.
BPF_LOAD_BIN := $(OUTPUT)/bench/bpf_load

$(OUTPUT)/bench:
	$(Q)mkdir -p $@

$(BENCH_BIN): bench/bench.c $(wildcard user/*.h) $(wildcard bpf/*.h) $(OUTPUT)/libsynprobe.a \
	      | $(OUTPUT)/bench
	$(call msg,BENCH-CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $< $(OUTPUT)/libsynprobe.a $(LIBS) -o $@

$(BPF_LOAD_BIN): bench/bpf_load.c $(OUTPUT)/synprobe.skel.h | $(OUTPUT)/bench
	$(call msg,BENCH-CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $< $(LIBS) -o $@

bench: $(BENCH_BIN) $(BPF_LOAD_BIN) $(OUTPUT)/synprobe $(OUTPUT)/tests/sp_listen \
       $(OUTPUT)/tests/sp_delay
	$(Q)bench/run.sh $(OUTPUT)
