# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# libFuzzer harnesses (tests/fuzz/fuzz_*.c), included by tests/tests.mk. `make fuzz` builds each
# with clang's libFuzzer, ASan and UBSan and runs it for FUZZ_SECONDS (default 30), starting from
# its checked-in corpus tests/fuzz/corpus/NAME/ (NAME: the harness without "fuzz_"). New inputs
# go to $(OUTPUT)/fuzz/corpus-NAME, crashes to $(OUTPUT)/fuzz/; the checked-in corpus is only read.
# Debian 12: clang-14's libFuzzer is in libclang-rt-14-dev (a dependency of clang-14).
#
# A harness lists the sources it links in FUZZ_SRCS_<harness>, the libraries in FUZZ_LIBS_<harness>,
# and may set FUZZ_ARGS_<harness>.
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 30
FUZZ_CFLAGS := -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	-std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wno-unused-parameter -Ibpf -Iuser

FUZZ_SRCS_fuzz_tcp_opts := user/tcp_opts.c
FUZZ_ARGS_fuzz_tcp_opts := -max_len=64 -dict=tests/fuzz/tcp_opts.dict

# TARGET syntax: byte 0 picks -p, the rest is the TARGET. Never resolves (no DNS).
FUZZ_SRCS_fuzz_target := user/target.c user/util.c
FUZZ_ARGS_fuzz_target := -max_len=300 -dict=tests/fuzz/target.dict

# Durations, counts, ports, sizes, seconds and shards: util.c, halfclose.c, keepalive.c,
# serve_config.c, serve_shard.c (the harness stubs the messages of output.c that their option
# parsers use).
FUZZ_SRCS_fuzz_duration := user/util.c user/halfclose.c user/keepalive.c user/serve_config.c user/yaml_util.c \
	user/target.c user/cidr.c user/serve_shard.c \
	user/serve_l7.c user/tls_client.c user/expect.c user/cescape.c user/proxy_proto.c
FUZZ_LIBS_fuzz_duration := $(shell $(PKG_CONFIG) --libs yaml-0.1 nettle gnutls libpcre2-8) -lpthread
FUZZ_ARGS_fuzz_duration := -max_len=64 -dict=tests/fuzz/duration.dict

# The targets file (check -f), read through fmemopen().
FUZZ_SRCS_fuzz_targets_file := user/targets_file.c user/target.c user/util.c
FUZZ_ARGS_fuzz_targets_file := -max_len=4096 -dict=tests/fuzz/target.dict

# The YAML config of serve, parsed from memory (serve_config_parse()).
FUZZ_SRCS_fuzz_serve_config := user/serve_config.c user/yaml_util.c user/target.c user/util.c user/cidr.c \
	user/serve_shard.c \
	user/serve_l7.c user/tls_client.c user/expect.c user/cescape.c user/proxy_proto.c
FUZZ_LIBS_fuzz_serve_config := $(shell $(PKG_CONFIG) --libs yaml-0.1 nettle gnutls libpcre2-8) -lpthread
FUZZ_ARGS_fuzz_serve_config := -max_len=4096 -dict=tests/fuzz/serve_config.dict

# A file_sd file (JSON or YAML, byte 0 picks), parsed from memory (file_sd_parse()).
FUZZ_SRCS_fuzz_file_sd := user/file_sd.c user/serve_config.c user/yaml_util.c user/serve_shard.c user/target.c user/util.c \
	user/cidr.c \
	user/serve_l7.c user/tls_client.c user/expect.c user/cescape.c user/proxy_proto.c
FUZZ_LIBS_fuzz_file_sd := $(shell $(PKG_CONFIG) --libs yaml-0.1 json-c nettle gnutls libpcre2-8) -lpthread
FUZZ_ARGS_fuzz_file_sd := -max_len=4096 -dict=tests/fuzz/file_sd.dict

# The C escapes of --send: byte 0 the output capacity, the rest the text.
FUZZ_SRCS_fuzz_cescape := user/cescape.c
FUZZ_ARGS_fuzz_cescape := -max_len=512

# serve's --web.config.file (exporter-toolkit's format), parsed from memory (web_config_parse()).
FUZZ_SRCS_fuzz_web_config := user/web_config.c user/yaml_util.c user/util.c
FUZZ_LIBS_fuzz_web_config := $(shell $(PKG_CONFIG) --libs yaml-0.1)
FUZZ_ARGS_fuzz_web_config := -max_len=4096 -dict=tests/fuzz/web_config.dict

# serve's HTTP request logic apart from the connection: method, path, /probe's parameters.
FUZZ_SRCS_fuzz_serve_request := user/serve_request.c user/target.c user/util.c
FUZZ_LIBS_fuzz_serve_request := -lm
FUZZ_ARGS_fuzz_serve_request := -max_len=1024 -dict=tests/fuzz/serve_request.dict

# --expect patterns (PCRE2) and hostile replies, cut into reads.
FUZZ_SRCS_fuzz_expect := user/expect.c
FUZZ_LIBS_fuzz_expect := $(shell $(PKG_CONFIG) --libs libpcre2-8)
FUZZ_ARGS_fuzz_expect := -max_len=2048

FUZZ_HARNESSES := $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS := $(patsubst %,$(OUTPUT)/fuzz/%,$(FUZZ_HARNESSES))

$(OUTPUT)/fuzz:
	$(Q)mkdir -p $@

# One build rule per harness, with its own sources.
define fuzz_rule
$(OUTPUT)/fuzz/$(1): tests/fuzz/$(1).c $(FUZZ_SRCS_$(1)) $(wildcard user/*.h) $(wildcard bpf/*.h) | $(OUTPUT)/fuzz
	$$(call msg,FUZZ-CC,$$@)
	$$(Q)$$(FUZZ_CC) $$(FUZZ_CFLAGS) $(PKG_CFLAGS) $$< $(FUZZ_SRCS_$(1)) $(FUZZ_LIBS_$(1)) -o $$@
endef
$(foreach h,$(FUZZ_HARNESSES),$(eval $(call fuzz_rule,$(h))))

fuzz-build: $(FUZZ_BINS)

# One harness after the other (without -j), each for FUZZ_SECONDS; a crash stops make.
fuzz: $(patsubst %,fuzz-run-%,$(FUZZ_HARNESSES))

fuzz-run-%: $(OUTPUT)/fuzz/%
	$(Q)mkdir -p $(OUTPUT)/fuzz/corpus-$(*:fuzz_%=%)
	@echo "# --- $*: $(FUZZ_SECONDS) s"
	$(Q)$< -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 -artifact_prefix=$(OUTPUT)/fuzz/$*- \
		$(FUZZ_ARGS_$*) $(OUTPUT)/fuzz/corpus-$(*:fuzz_%=%) tests/fuzz/corpus/$(*:fuzz_%=%)

.PHONY: fuzz fuzz-build
