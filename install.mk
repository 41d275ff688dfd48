# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Man pages and `make install` / `make uninstall`, included by the top-level Makefile.
#
#   make install [PREFIX=/usr/local] [DESTDIR=] [SYSCONFDIR=...] [LIBDIR=...] [UNITDIR=...]
#
# PREFIX=/usr (a distribution's layout) keeps the config in /etc/synprobe; any other prefix in
# PREFIX/etc/synprobe, as autotools' sysconfdir does. The zsh completion goes where Debian's zsh
# looks for packages' (share/zsh/vendor-completions) with PREFIX=/usr, else to
# PREFIX/share/zsh/site-functions (in zsh's default fpath for /usr/local). The systemd unit goes to
# PREFIX/lib/systemd/system (systemd also reads /usr/local/lib/systemd/system), with ExecStart
# and the config path rewritten for PREFIX and SYSCONFDIR. An existing config is never
# overwritten; `make uninstall` removes it only when it is still the shipped one.
PREFIX ?= /usr/local
ifeq ($(PREFIX),/usr)
SYSCONFDIR ?= /etc
ZSHCOMPDIR ?= $(PREFIX)/share/zsh/vendor-completions
else
SYSCONFDIR ?= $(PREFIX)/etc
ZSHCOMPDIR ?= $(PREFIX)/share/zsh/site-functions
endif
SBINDIR ?= $(PREFIX)/sbin
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
MANDIR ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
UNITDIR ?= $(PREFIX)/lib/systemd/system
INSTALL ?= install

# Man pages: scdoc sources in man/, one per page (synprobe.8.scd -> synprobe.8).
MAN_SRCS := $(wildcard man/*.scd)
MAN_PAGES := $(patsubst man/%.scd,$(OUTPUT)/man/%,$(MAN_SRCS))

$(OUTPUT)/man:
	$(Q)mkdir -p $@

$(OUTPUT)/man/%: man/%.scd | $(OUTPUT)/man
	$(call msg,SCDOC,$@)
	$(Q)scdoc < $< > $@

man: $(MAN_PAGES)

# The files install puts down, below DESTDIR (uninstall removes exactly these).
INST_BIN := $(SBINDIR)/synprobe
INST_MAN := $(foreach p,$(notdir $(MAN_PAGES)),$(MANDIR)/man$(subst .,,$(suffix $(p)))/$(p))
INST_COMP := $(BASHCOMPDIR)/synprobe $(ZSHCOMPDIR)/_synprobe
INST_UNIT := $(UNITDIR)/synprobe.service
INST_CONF := $(SYSCONFDIR)/synprobe/synprobe.yaml
INST_LIB := $(LIBDIR)/libsynprobe.so.$(VERSION) $(LIBDIR)/$(LIB_SONAME) $(LIBDIR)/libsynprobe.so \
	$(LIBDIR)/libsynprobe.a
INST_HDR := $(INCLUDEDIR)/synprobe/libsynprobe.h $(INCLUDEDIR)/synprobe/synprobe.h
INST_PC := $(PKGCONFIGDIR)/synprobe.pc

install: all
	$(call msg,INSTALL,$(DESTDIR)$(PREFIX))
	$(Q)$(INSTALL) -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR)/synprobe \
		$(DESTDIR)$(PKGCONFIGDIR) $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8 \
		$(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(ZSHCOMPDIR) $(DESTDIR)$(UNITDIR) \
		$(DESTDIR)$(SYSCONFDIR)/synprobe
	$(Q)$(INSTALL) -m 0755 $(OUTPUT)/synprobe $(DESTDIR)$(INST_BIN)
	$(Q)for p in $(notdir $(MAN_PAGES)); do \
		$(INSTALL) -m 0644 $(OUTPUT)/man/$$p \
			$(DESTDIR)$(MANDIR)/man$${p##*.}/$$p || exit 1; \
	done
	$(Q)$(INSTALL) -m 0644 contrib/bash-completion/synprobe $(DESTDIR)$(BASHCOMPDIR)/synprobe
	$(Q)$(INSTALL) -m 0644 contrib/zsh-completion/_synprobe $(DESTDIR)$(ZSHCOMPDIR)/_synprobe
	$(Q)sed -e 's|/usr/sbin/synprobe|$(SBINDIR)/synprobe|g' \
		-e 's|/etc/synprobe/|$(SYSCONFDIR)/synprobe/|g' contrib/synprobe.service \
		> $(DESTDIR)$(INST_UNIT) && chmod 0644 $(DESTDIR)$(INST_UNIT)
	$(Q)[ -e $(DESTDIR)$(INST_CONF) ] || \
		$(INSTALL) -m 0644 contrib/synprobe.etc.yaml $(DESTDIR)$(INST_CONF)
	$(Q)$(INSTALL) -m 0644 $(OUTPUT)/libsynprobe.so.$(VERSION) $(OUTPUT)/libsynprobe.a \
		$(DESTDIR)$(LIBDIR)/
	$(Q)ln -sf libsynprobe.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(LIB_SONAME)
	$(Q)ln -sf $(LIB_SONAME) $(DESTDIR)$(LIBDIR)/libsynprobe.so
	$(Q)$(INSTALL) -m 0644 user/libsynprobe.h bpf/synprobe.h $(DESTDIR)$(INCLUDEDIR)/synprobe/
	$(Q)sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
		-e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' -e 's|@VERSION@|$(VERSION)|' \
		user/synprobe.pc.in > $(DESTDIR)$(INST_PC) && chmod 0644 $(DESTDIR)$(INST_PC)

uninstall:
	$(call msg,UNINSTALL,$(DESTDIR)$(PREFIX))
	$(Q)rm -f $(addprefix $(DESTDIR),$(INST_BIN) $(INST_MAN) $(INST_COMP) $(INST_UNIT) \
		$(INST_LIB) $(INST_HDR) $(INST_PC))
	$(Q)if cmp -s contrib/synprobe.etc.yaml $(DESTDIR)$(INST_CONF); then \
		rm -f $(DESTDIR)$(INST_CONF); \
	elif [ -e $(DESTDIR)$(INST_CONF) ]; then \
		echo "  kept $(DESTDIR)$(INST_CONF): it was changed"; \
	fi
	$(Q)rmdir $(DESTDIR)$(INCLUDEDIR)/synprobe $(DESTDIR)$(SYSCONFDIR)/synprobe 2>/dev/null || true
