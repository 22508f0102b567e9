# SPDX-License-Identifier: GPL-2.0-only
#
# make -f tools/lib/sources.mk [DIR=dir]: the C files DIR/Kbuild builds
# with every option on, the headers beside them, then the same for every
# directory that Kbuild descends into. Paths are relative to the top.
# This reads the Kbuild files the way kbuild does, so it cannot drift from
# what gets compiled.

self := $(lastword $(MAKEFILE_LIST))
DIR ?= .
src := $(DIR)
CONFIG_XIOVA := m
CONFIG_XIOVA_DMA := m
CONFIG_XIOVA_LIVE := m
CONFIG_XIOVA_KUNIT_TEST := m
CONFIG_XIOVA_TESTCTL := y

include $(DIR)/Kbuild

prefix = $(patsubst ./%,%,$(DIR)/$(1))
mods := $(filter %.o,$(obj-m) $(obj-y))
subdirs := $(patsubst %/,%,$(filter %/,$(obj-m) $(obj-y)))
objs := $(foreach m,$(mods),$(or $($(m:.o=-y)),$(m)))
cfiles := $(sort $(foreach o,$(objs),$(call prefix,$(o:.o=.c))))
hfiles := $(sort $(patsubst ./%,%,$(wildcard $(DIR)/*.h)))

.PHONY: list
list:
	@printf '%s\n' $(cfiles) $(hfiles) $(if $(wildcard $(DIR)/Kbuild),$(call prefix,Kbuild))
	@$(foreach d,$(subdirs),$(MAKE) -s -f $(self) DIR=$(call prefix,$(d)) &&) true
