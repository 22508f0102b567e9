# SPDX-License-Identifier: GPL-2.0-only
#
# Out-of-tree build. KDIR defaults to the running kernel's build tree, and
# to the newest installed Debian linux-headers-*-amd64 when that is absent.

KDIR ?= $(firstword $(wildcard /lib/modules/$(shell uname -r)/build) \
	$(lastword $(sort $(wildcard /usr/src/linux-headers-*-amd64))))

# The KUnit module is built only for kernels that can run it, the live
# patch only for kernels that can be live patched and describe themselves
# in BTF.
KUNIT := $(shell grep -qs '^CONFIG_KUNIT=[ym]' $(KDIR)/.config && echo m)
LIVE := $(shell grep -qs '^CONFIG_LIVEPATCH=y' $(KDIR)/.config && \
	grep -qs '^CONFIG_DEBUG_INFO_BTF=y' $(KDIR)/.config && echo m)

# The test interface (Documentation/testctl.rst) is for test builds only:
# "make TESTCTL=y".
TESTCTL ?=

MAKEFLAGS += --no-print-directory
KBUILD_ARGS := -C $(KDIR) M=$(CURDIR) CONFIG_XIOVA=m CONFIG_XIOVA_DMA=m \
	CONFIG_XIOVA_KUNIT_TEST=$(KUNIT) CONFIG_XIOVA_TESTCTL=$(TESTCTL) \
	CONFIG_XIOVA_LIVE=$(LIVE)

# make install: kbuild's modules_install into
# $(INSTALL_MOD_PATH)/lib/modules/$(KVER)/$(INSTALL_MOD_DIR), then depmod.
# DESTDIR is taken as INSTALL_MOD_PATH too, as packaging tools expect; it is
# made absolute because kbuild runs from $(KDIR).
MODROOT := $(abspath $(or $(INSTALL_MOD_PATH),$(DESTDIR)))
INSTALL_MOD_DIR ?= extra
# The release the headers were built for, as in the module's vermagic. Not
# include/config/kernel.release: Debian's headers ship "6.1.192" there and
# override KERNELRELEASE to "6.1.0-N-amd64" in .kernelvariables.
KVER := $(shell sed -n 's/^\#define UTS_RELEASE "\(.*\)"$$/\1/p' \
	$(KDIR)/include/generated/utsrelease.h 2>/dev/null)
# Debian's headers name a signing key they do not ship: kbuild's SIGN step
# would only print OpenSSL errors and leave the module unsigned. Sign when
# the key is there (a self-built kernel); DKMS signs with a key of its own.
SIG_KEY := $(shell sed -n 's/^CONFIG_MODULE_SIG_KEY="\(.*\)"$$/\1/p' $(KDIR)/.config 2>/dev/null)
NO_SIGN := $(if $(filter pkcs11:%,$(SIG_KEY))$(wildcard $(if $(filter /%,$(SIG_KEY)),,$(KDIR)/)$(SIG_KEY)),,CONFIG_MODULE_SIG_ALL=)
DEPMOD_ARGS := $(if $(MODROOT),-b $(MODROOT)) $(KVER)

.PHONY: all modules clean check demo bench install uninstall sources

all modules:
	@test -n "$(KDIR)" || { echo "no kernel build tree: install linux-headers-amd64 or set KDIR" >&2; exit 1; }
	$(MAKE) $(KBUILD_ARGS) modules

install: all
	@test -n "$(KVER)" || { echo "cannot read the kernel release from $(KDIR)" >&2; exit 1; }
	$(MAKE) $(KBUILD_ARGS) KERNELRELEASE=$(KVER) INSTALL_MOD_PATH=$(MODROOT) \
		INSTALL_MOD_DIR=$(INSTALL_MOD_DIR) $(NO_SIGN) modules_install
	depmod $(DEPMOD_ARGS)

uninstall:
	@test -n "$(KVER)" || { echo "cannot read the kernel release from $(KDIR)" >&2; exit 1; }
	rm -f $(addprefix $(MODROOT)/lib/modules/$(KVER)/$(INSTALL_MOD_DIR)/,xiova.ko dma/xiova_dma.ko live/xiova_live.ko xiova_kunit.ko)
	depmod $(DEPMOD_ARGS)

clean:
	$(MAKE) $(KBUILD_ARGS) clean

# The one list of sources: every C file the Kbuild files build (with every
# option on) and every header beside them, one path per line. The style
# checks, the KUnit tree, DKMS and the packaging test all read it.
sources:
	@$(MAKE) -s -f tools/lib/sources.mk

check:
	./tools/test.sh

demo:
	./tools/main.sh

bench:
	./tools/bench/run.sh
