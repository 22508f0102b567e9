#!/bin/sh
# shellcheck shell=sh source-path=SCRIPTDIR
# Guest script of io-check.sh (busybox sh): finds the nvme namespace, the
# virtio-blk disk and the two e1000 NICs, checks each sits in an IOMMU
# group, then runs the data checks of guest-io-lib.sh on them, in rounds
# (every round with new data). One marker per check.
#
# Environment (run.sh -a KEY=value): XIOVA_IO_ROUNDS (default 2),
# XIOVA_IO_MIB per disk region (default 16), XIOVA_IO_FRAMES per
# direction (default 2000).

# shellcheck source=guest-lib.sh
. /lib/xiova/guest-lib.sh
# shellcheck source=guest-io-lib.sh
. /lib/xiova/guest-io-lib.sh

ROUNDS=${XIOVA_IO_ROUNDS:-2}
MIB=${XIOVA_IO_MIB:-16}
FRAMES=${XIOVA_IO_FRAMES:-2000}

NVME='' VIRTIO='' IFA='' IFB=''

# iommu_group NAME BDF: the device is behind the IOMMU.
iommu_group() {
	d=/sys/bus/pci/devices/$2
	if [ ! -e "$d/iommu_group" ]; then
		xt_fail "$1" "$2 has no iommu_group"
		return 1
	fi
	g=$(readlink -f "$d/iommu_group")
	echo "io: $2 ($(cat "$d/vendor"):$(cat "$d/device"), driver $(readlink -f "$d/driver" | sed 's|.*/||')): iommu group ${g##*/}, type $(cat "$g/type")"
	xt_pass "$1"
}

find_disk() {
	if ! dev=$(io_blk_find "$1"); then
		xt_fail "find-$1" "no $1 disk after ${IO_WAIT}s"
		return 1
	fi
	if ! pci=$(io_blk_pci "$1"); then
		xt_fail "find-$1" "no PCI address for $dev"
		return 1
	fi
	echo "io: $1: $dev at $pci, $(($(cat "/sys/class/block/${dev##*/}/size") / 2048)) MiB"
	xt_pass "find-$1"
	iommu_group "iommu-$1" "$pci"
}

find_nics() {
	if ! nics=$(io_net_find e1000); then
		xt_fail find-e1000 "fewer than two e1000 interfaces after ${IO_WAIT}s"
		return 1
	fi
	# shellcheck disable=SC2086 # "IFNAME BDF" lines to words
	set -- $nics
	IFA=$1 IFB=$3
	echo "io: e1000: $1 at $2, $3 at $4"
	xt_pass find-e1000
	iommu_group iommu-e1000-a "$2"
	iommu_group iommu-e1000-b "$4"
}

main() {
	echo "flavour=$XIOVA_FLAVOUR kernel=$(uname -r) cpus=$(cat /sys/devices/system/cpu/online)"
	find_disk nvme && NVME=$dev
	find_disk virtio && VIRTIO=$dev
	find_nics

	r=1
	while [ "$r" -le "$ROUNDS" ]; do
		echo "io: round $r of $ROUNDS"
		[ -z "$NVME" ] || io_blk_verify "blk-nvme-$r" "$NVME" "$MIB"
		[ -z "$VIRTIO" ] || io_blk_verify "blk-virtio-$r" "$VIRTIO" "$MIB"
		[ -z "$IFA" ] || io_net_verify "net-e1000-$r" "$IFA" "$IFB" "$FRAMES"
		r=$((r + 1))
	done
	return 0
}

main
