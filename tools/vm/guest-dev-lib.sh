#!/bin/sh
# shellcheck shell=sh
# PCI device helpers for guest scripts (busybox sh): drivers, binding, the
# block and network devices a driver exposes, IOMMU groups. Installed in
# the image as /lib/xiova/guest-dev-lib.sh; source it after guest-lib.sh.
#
#   dev_write_err FILE DATA   the write's error text on stdout if it fails
#   dev_driver_of BDF         the bound driver's name, status 1 if none
#   dev_unbind BDF            unbind its driver, if any
#   dev_bind BDF DRIVER       bind, then wait up to 10 s until usable
#   dev_nvme_disk BDF         the /dev node of an nvme controller's namespace
#   dev_net_if BDF            a NIC's interface name
#   dev_group BDF             its IOMMU group's sysfs directory
#   dev_group_type BDF        that group's type (DMA, DMA-FQ, identity)

dev_write_err() {
	_dev_e=$({ echo "$2" >"$1"; } 2>&1) && return 0
	echo "${_dev_e#*: write error: }"
	return 1
}

dev_driver_of() {
	[ -e "/sys/bus/pci/devices/$1/driver" ] || return 1
	_dev_d=$(readlink "/sys/bus/pci/devices/$1/driver")
	echo "${_dev_d##*/}"
}

dev_unbind() {
	[ -e "/sys/bus/pci/devices/$1/driver" ] &&
		echo "$1" >"/sys/bus/pci/devices/$1/driver/unbind"
	return 0
}

dev_ready() {
	case $2 in
	nvme) [ -n "$(dev_nvme_disk "$1")" ] ;;
	e1000) [ -n "$(dev_net_if "$1")" ] ;;
	*) [ -e "/sys/bus/pci/devices/$1/driver" ] ;;
	esac
}

dev_bind() {
	echo "$1" >"/sys/bus/pci/drivers/$2/bind" || return 1
	_dev_n=0
	while ! dev_ready "$1" "$2"; do
		_dev_n=$((_dev_n + 1))
		[ "$_dev_n" -ge 1000 ] && return 1
		usleep 10000
	done
}

dev_nvme_disk() {
	for _dev_b in /sys/bus/pci/devices/"$1"/nvme/nvme*/nvme*n1; do
		[ -e "$_dev_b" ] && [ -b "/dev/${_dev_b##*/}" ] &&
			echo "/dev/${_dev_b##*/}"
	done
}

dev_net_if() {
	for _dev_i in /sys/bus/pci/devices/"$1"/net/*; do
		[ -e "$_dev_i" ] && echo "${_dev_i##*/}"
	done
}

dev_group() {
	_dev_g=$(readlink "/sys/bus/pci/devices/$1/iommu_group") || return 1
	echo "/sys/kernel/iommu_groups/${_dev_g##*/}"
}

dev_group_type() {
	_dev_g=$(dev_group "$1") || return 1
	cat "$_dev_g/type"
}
