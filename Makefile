# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# synprobe: build, test, demo. Everything is built in $(OUTPUT). `make V=1` shows the commands.
# make test SANITIZE=1: ASan+UBSan build of user space (BPF objects unchanged) in its own OUTPUT.
ifeq ($(SANITIZE),1)
OUTPUT ?= .output-asan
endif
OUTPUT ?= .output
CLANG ?= clang
BPFTOOL ?= bpftool
CC ?= cc
PKG_CONFIG ?= pkg-config

ARCH := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/' -e 's/ppc64le/powerpc/' \
			 -e 's/riscv64/riscv/' -e 's/s390x/s390/')
VMLINUX := vmlinux/$(ARCH)/vmlinux.h
VERSION := $(shell cat VERSION 2>/dev/null || echo 0.0.0)

LIBS_PKG := libbpf libmnl json-c yaml-0.1 libmicrohttpd nettle libcap gnutls libxcrypt libpcre2-8
LIBS := $(shell $(PKG_CONFIG) --libs $(LIBS_PKG)) -lm
PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(LIBS_PKG))

CFLAGS ?= -g -O2
ifeq ($(SANITIZE),1)
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
override CFLAGS += $(SAN_FLAGS) # links take CFLAGS too
# Leaks reported at exit; a finding fails the program (tests/run.sh counts it); tests may read
# SP_SANITIZE to skip what cannot run under ASan, saying why.
export ASAN_OPTIONS ?= detect_leaks=1:detect_stack_use_after_return=1
export UBSAN_OPTIONS ?= print_stacktrace=1:halt_on_error=1
export SP_SANITIZE := 1
endif
WARN := -Wall -Wextra -Werror -Wno-unused-parameter
INCLUDES := -I$(OUTPUT) -Ibpf -Iuser $(PKG_CFLAGS)
ALL_CFLAGS := $(CPPFLAGS) $(CFLAGS) $(WARN) -std=gnu11 -D_GNU_SOURCE -DSYNPROBE_VERSION='"$(VERSION)"' $(INCLUDES)
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -DBPF_NO_PRESERVE_ACCESS_INDEX -Wall -Werror -I$(dir $(VMLINUX)) -Ibpf

ifeq ($(V),1)
	Q =
	msg =
else
	Q = @
	msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

# The engine (library) and the CLI that is a thin client of it: every other user/*.c.
LIB_SRCS := user/engine.c user/kind.c user/kind_halfopen.c user/kind_connect.c user/opts.c \
	user/outcome.c user/attach.c user/route.c user/timer_heap.c \
	user/token_bucket.c user/tcp_opts.c user/cleanup.c
CLI_SRCS := $(filter-out $(LIB_SRCS),$(wildcard user/*.c))
LIB_OBJS := $(patsubst user/%.c,$(OUTPUT)/%.o,$(LIB_SRCS))
CLI_OBJS := $(patsubst user/%.c,$(OUTPUT)/%.o,$(CLI_SRCS))
# One BPF object (and skeleton) per bpf/*.bpf.c, as libbpf-tools has one per tool.
BPF_NAMES := $(patsubst bpf/%.bpf.c,%,$(wildcard bpf/*.bpf.c))
SKELS := $(patsubst %,$(OUTPUT)/%.skel.h,$(BPF_NAMES))

.DELETE_ON_ERROR:
.SECONDARY:
.PHONY: all lib man clean test test-unit test-bpf test-integration demo vmlinux bench install uninstall

all: $(OUTPUT)/synprobe lib man

$(OUTPUT):
	$(Q)mkdir -p $@

# BPF: compile, link (bpftool gen object), then the skeleton the user side includes.
$(OUTPUT)/%.tmp.bpf.o: bpf/%.bpf.c $(wildcard bpf/*.h) $(VMLINUX) | $(OUTPUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(OUTPUT)/%.bpf.o: $(OUTPUT)/%.tmp.bpf.o
	$(call msg,GEN-OBJ,$@)
	$(Q)$(BPFTOOL) gen object $@ $<

$(OUTPUT)/%.skel.h: $(OUTPUT)/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $*_bpf > $@

$(OUTPUT)/%.o: user/%.c $(wildcard user/*.h) $(wildcard bpf/*.h) $(SKELS) | $(OUTPUT)
	$(call msg,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -c $< -o $@

$(OUTPUT)/libsynprobe.a: $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(OUTPUT)/synprobe: $(CLI_OBJS) $(OUTPUT)/libsynprobe.a
	$(call msg,BINARY,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $^ $(LIBS) -o $@

# The engine as a shared library: position-independent objects of its own, a soname, and a
# version script that exports only the synprobe_* calls of user/libsynprobe.h. The BPF object is
# embedded by the skeleton, so the library needs nothing at run time but libbpf and libmnl.
LIB_SONAME := libsynprobe.so.0
LIB_PIC_OBJS := $(patsubst user/%.c,$(OUTPUT)/pic/%.o,$(LIB_SRCS))
LIB_LIBS := $(shell $(PKG_CONFIG) --libs libbpf libmnl)

$(OUTPUT)/pic:
	$(Q)mkdir -p $@

$(OUTPUT)/pic/%.o: user/%.c $(wildcard user/*.h) $(wildcard bpf/*.h) $(SKELS) | $(OUTPUT)/pic
	$(call msg,CC-PIC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -fPIC -c $< -o $@

$(OUTPUT)/libsynprobe.so.$(VERSION): $(LIB_PIC_OBJS) user/libsynprobe.map
	$(call msg,SHLIB,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -shared -Wl,-soname,$(LIB_SONAME) \
		-Wl,--version-script=user/libsynprobe.map -Wl,--no-undefined \
		$(LIB_PIC_OBJS) $(LIB_LIBS) -o $@

$(OUTPUT)/$(LIB_SONAME) $(OUTPUT)/libsynprobe.so: $(OUTPUT)/libsynprobe.so.$(VERSION)
	$(Q)ln -sf $(notdir $<) $@

lib: $(OUTPUT)/libsynprobe.a $(OUTPUT)/libsynprobe.so.$(VERSION) $(OUTPUT)/$(LIB_SONAME) \
	$(OUTPUT)/libsynprobe.so

# vmlinux.h is checked in per architecture (as bcc's libbpf-tools do); this regenerates it.
vmlinux:
	mkdir -p vmlinux/$(ARCH)
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $(VMLINUX)

include install.mk
include tests/tests.mk
-include bench/bench.mk

clean:
	$(call msg,CLEAN,$(OUTPUT))
	$(Q)rm -rf $(OUTPUT)
