#!/bin/sh
# shellcheck source-path=SCRIPTDIR
# Guest half of smoke.sh: proves the VM plumbing the real tests rely on.
# shellcheck source=guest-lib.sh
. /lib/xiova/guest-lib.sh

EDU_ID=0x1234:0x11e8

count_entries() {
	set -- "$1"/*
	if [ -e "$1" ]; then echo $#; else echo 0; fi
}

list_entries() {
	for e in "$1"/*; do
		[ -e "$e" ] && printf '%s ' "${e##*/}"
	done
}

check_iommu_present() {
	if [ "$(count_entries /sys/class/iommu)" -gt 0 ]; then
		echo "iommus: $(list_entries /sys/class/iommu)"
		xt_pass iommu-present
	elif [ "$XIOVA_FLAVOUR" = none ]; then
		xt_skip iommu-present "no IOMMU in this flavour"
	elif [ "$XIOVA_FLAVOUR" = virtio ] && [ ! -d /sys/bus/virtio/drivers/virtio_iommu ]; then
		xt_skip iommu-present "kernel has no virtio-iommu driver"
	else
		xt_fail iommu-present "/sys/class/iommu is empty"
	fi
}

check_iommu_groups() {
	if [ "$(count_entries /sys/kernel/iommu_groups)" -gt 0 ]; then
		for g in /sys/kernel/iommu_groups/*; do
			echo "group ${g##*/} type=$(cat "$g/type") devices: $(list_entries "$g/devices")"
		done
		xt_pass iommu-groups
	elif [ "$(count_entries /sys/class/iommu)" -eq 0 ]; then
		xt_skip iommu-groups "no IOMMU driver bound"
	else
		xt_fail iommu-groups "an IOMMU is registered but no group exists"
	fi
}

find_edu() {
	for d in /sys/bus/pci/devices/*; do
		if [ "$(cat "$d/vendor"):$(cat "$d/device")" = "$EDU_ID" ]; then
			echo "$d"
			return 0
		fi
	done
	return 1
}

check_edu() {
	if ! dev=$(find_edu); then
		xt_fail edu-present "no PCI device $EDU_ID (run with -device edu)"
		xt_skip edu-own-group "no edu device"
		return
	fi
	xt_pass edu-present
	if [ ! -e "$dev/iommu_group" ]; then
		if [ "$(count_entries /sys/class/iommu)" -eq 0 ]; then
			xt_skip edu-own-group "no IOMMU driver bound"
		else
			xt_fail edu-own-group "${dev##*/} has no iommu_group"
		fi
		return
	fi
	members=$(list_entries "$dev/iommu_group/devices")
	if [ "$members" = "${dev##*/} " ]; then
		xt_pass edu-own-group
	else
		xt_fail edu-own-group "group holds: $members"
	fi
}

# Debian's kernel has CONFIG_MODULE_SIG without _FORCE: an unsigned module
# must load and only taint the kernel (E = unsigned, O = out of tree).
check_module_cycle() {
	label=$1 load=$2 unload=$3
	if ! $load; then
		xt_fail "hello-load-$label" "$load failed"
		return
	fi
	if [ -d /sys/module/hello ]; then
		xt_pass "hello-load-$label"
	else
		xt_fail "hello-load-$label" "no /sys/module/hello after $load"
	fi
	taint=$(cat /sys/module/hello/taint 2>/dev/null)
	case $taint in
	*E*) xt_pass "hello-unsigned-taints-$label" ;;
	*) xt_fail "hello-unsigned-taints-$label" "module taint '$taint', expected E" ;;
	esac
	if $unload && [ ! -d /sys/module/hello ]; then
		xt_pass "hello-unload-$label"
	else
		xt_fail "hello-unload-$label" "$unload failed or module still present"
	fi
}

main() {
	echo "flavour=$XIOVA_FLAVOUR kernel=$(uname -r)"
	check_iommu_present
	check_iommu_groups
	check_edu
	ko=/lib/modules/$(uname -r)/extra/hello.ko
	check_module_cycle kmod "/sbin/modprobe hello" "/sbin/modprobe -r hello"
	check_module_cycle busybox "busybox insmod $ko" "busybox rmmod hello"
	xt_check debugfs grep -q ' /sys/kernel/debug debugfs ' /proc/mounts
	xt_check tracefs test -e /sys/kernel/tracing/trace
}

main
