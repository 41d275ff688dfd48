# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Test builds, included by the top-level Makefile. `make test` runs everything as root and ends
# with one line "N passed, N failed, N skipped" (tests/run.sh).
CMOCKA_LIBS := $(shell $(PKG_CONFIG) --libs cmocka)
NFQ_LIBS := $(shell $(PKG_CONFIG) --libs libnetfilter_queue 2>/dev/null)
# -Werror=unused-function: a test written but not registered in its table breaks the build.
TEST_CFLAGS := $(ALL_CFLAGS) -Werror=unused-function $(shell $(PKG_CONFIG) --cflags cmocka)

# Everything of the CLI but main(): what the unit tests link against.
CLI_LIB_OBJS := $(filter-out $(OUTPUT)/main.o,$(CLI_OBJS))
$(OUTPUT)/libsynprobe-cli.a: $(CLI_LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

UNIT_TESTS := $(patsubst tests/unit/%.c,$(OUTPUT)/tests/%,$(wildcard tests/unit/test_*.c))
BPF_TESTS := $(patsubst tests/bpf/%.c,$(OUTPUT)/tests/%,$(wildcard tests/bpf/test_*.c))
TEST_HELPERS := $(patsubst tests/helpers/%.c,$(OUTPUT)/tests/%,$(wildcard tests/helpers/*.c))
# Helpers that drive modules of user/: linked with them (the rest are one file each).
MODULE_HELPERS := $(OUTPUT)/tests/sp_l7_client

$(OUTPUT)/tests:
	$(Q)mkdir -p $@

$(UNIT_TESTS): $(OUTPUT)/tests/%: tests/unit/%.c $(wildcard tests/unit/*.h) $(OUTPUT)/libsynprobe-cli.a $(OUTPUT)/libsynprobe.a | $(OUTPUT)/tests
	$(call msg,TEST-CC,$@)
	$(Q)$(CC) $(TEST_CFLAGS) -Itests/unit $< $(OUTPUT)/libsynprobe-cli.a $(OUTPUT)/libsynprobe.a $(LIBS) $(CMOCKA_LIBS) -o $@

$(BPF_TESTS): $(OUTPUT)/tests/%: tests/bpf/%.c $(wildcard tests/bpf/*.h) $(SKELS) $(OUTPUT)/libsynprobe.a | $(OUTPUT)/tests
	$(call msg,TEST-CC,$@)
	$(Q)$(CC) $(TEST_CFLAGS) -Itests/bpf $< $(OUTPUT)/libsynprobe.a $(LIBS) $(CMOCKA_LIBS) -o $@

$(filter-out $(MODULE_HELPERS),$(TEST_HELPERS)): $(OUTPUT)/tests/%: tests/helpers/%.c | $(OUTPUT)/tests
	$(call msg,TEST-CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $< $(NFQ_LIBS) -o $@

$(MODULE_HELPERS): $(OUTPUT)/tests/%: tests/helpers/%.c $(OUTPUT)/libsynprobe-cli.a | $(OUTPUT)/tests
	$(call msg,TEST-CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $< $(OUTPUT)/libsynprobe-cli.a $(LIBS) -o $@

tests-build: $(OUTPUT)/synprobe $(UNIT_TESTS) $(BPF_TESTS) $(TEST_HELPERS)

# One group at a time: make test-unit / test-bpf / test-integration (the last two need root).
test: tests-build
	$(Q)tests/run.sh $(OUTPUT) all
test-unit: tests-build
	$(Q)tests/run.sh $(OUTPUT) unit
test-bpf: tests-build
	$(Q)tests/run.sh $(OUTPUT) bpf
test-integration: tests-build
	$(Q)tests/run.sh $(OUTPUT) integration

demo: $(OUTPUT)/synprobe $(TEST_HELPERS)
	$(Q)scripts/demo.sh $(OUTPUT)

.PHONY: tests-build

# The suite under other kernels, each booted under QEMU with this machine's userland (tests/vm/):
# `make test-kernels KERNELS="6.1 6.12"` (the default: Debian 12's stock kernel and bookworm's 6.12;
# a linux-image-...-unsigned package name or an unpacked kernel's directory work too). Builds here,
# then runs tests/run.sh $(OUTPUT) all in each guest. Logs: $(OUTPUT)/test-kernels/.
KERNELS ?= 6.1 6.12
test-kernels: tests-build
	$(Q)tests/vm/matrix.sh $(OUTPUT) $(KERNELS)

.PHONY: test-kernels

# libFuzzer harnesses: make fuzz [FUZZ_SECONDS=30] (tests/fuzz/fuzz.mk).
include tests/fuzz/fuzz.mk
