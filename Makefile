# SPDX-License-Identifier: GPL-2.0-only
#
# Out-of-tree build. KDIR defaults to the running kernel's build tree, and
# to the newest installed Debian linux-headers-*-amd64 when that is absent.

KDIR ?= $(firstword $(wildcard /lib/modules/$(shell uname -r)/build) \
	$(lastword $(sort $(wildcard /usr/src/linux-headers-*-amd64))))

# The KUnit module is built only for kernels that can run it.
KUNIT := $(shell grep -qs '^CONFIG_KUNIT=[ym]' $(KDIR)/.config && echo m)

MAKEFLAGS += --no-print-directory
KBUILD_ARGS := -C $(KDIR) M=$(CURDIR) CONFIG_XIOVA=m CONFIG_XIOVA_KUNIT_TEST=$(KUNIT)

.PHONY: all modules clean check demo

all modules:
	@test -n "$(KDIR)" || { echo "no kernel build tree: install linux-headers-amd64 or set KDIR" >&2; exit 1; }
	$(MAKE) $(KBUILD_ARGS) modules

clean:
	$(MAKE) $(KBUILD_ARGS) clean

check:
	./tools/test.sh

demo:
	./tools/main.sh
