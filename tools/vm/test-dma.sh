#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# Real devices' DMA through the xiova_dma shim in a VM: nvme, QEMU's edu
# device and two e1000 NICs wired only to each other, attached to the shim
# and exercised in each type, plus the refusals, a provoked DMA fault and
# unbind/type/bind cycles (guest-dma.sh). Prints the judge's verdicts and
# "vm-NAME: N passed, N failed, N skipped" last; exits non-zero if any
# check failed.
#
# Usage: test-dma.sh [options]
#   -k, --kernel debian|debian612|test
#                              Debian's 6.1 (default), Debian 12's 6.12
#                              (debian_612_kver) or the debug test
#                              kernel of test-kernel.sh (KASAN, lockdep,
#                              kmemleak)
#   -i, --iommu intel|virtio   emulated IOMMU (default intel; virtio needs
#                              the test kernel)
#   -c, --cycles N             unbind/type/bind cycles (default 1000)
#   -l, --log FILE             serial log (default $XIOVA_CACHE/logs/vm-NAME.log)
#   -t, --timeout SECS         wall-clock limit for the VM (default 1500)
#   -a, --append ARG           extra kernel command line word (KEY=value
#                              words reach guest-dma.sh, e.g. DMA_EDU_ROUNDS=8)
#
# The network is a QEMU hub joining the two NICs and nothing else.
# Environment: XIOVA_CACHE (default /var/cache/xiova), and run.sh's.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
readonly HERE REPO
# shellcheck source=../lib/common.sh
source "$REPO/tools/lib/common.sh"

KERNEL_KIND=debian IOMMU=intel CYCLES=1000 LOG='' TIMEOUT=1500 APPEND=()
WORK=''

usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit "${1:-0}"; }

main() {
	parse_args "$@"
	WORK=$(mktemp -d "${TMPDIR:-/tmp}/xiova-test-dma.XXXXXX")
	trap 'rm -rf "$WORK"' EXIT

	local KVER='' KERNEL='' MODDIR='' KDIR='' INITRAMFS_ARGS=()
	vm_kernel "$KERNEL_KIND" e1000 nvme pci-stub
	local kdir=$KDIR initramfs_args=("${INITRAMFS_ARGS[@]}")
	build_module_copy "$WORK/src" "$kdir"
	cp -r "$REPO/tools/edu" "$WORK/edu"
	make -C "$WORK/edu" KDIR="$kdir" >&2 || die "xiova_edu build failed"
	make -C "$REPO/tools/testing/selftests/xiova_dma" OUTPUT="$WORK/bin" >&2 ||
		die "netpair build failed"

	"$HERE/mkinitramfs.sh" -o "$WORK/initramfs.cpio.gz" "${initramfs_args[@]}" \
		-g "$HERE/guest-dma.sh" -t $((TIMEOUT - 60)) \
		-f "$HERE/guest-edu-lib.sh:/lib/xiova/guest-edu-lib.sh" \
		-f "$HERE/guest-io-lib.sh:/lib/xiova/guest-io-lib.sh" \
		-f "$WORK/bin:/xiova/io" \
		"$WORK/src/xiova.ko" "$WORK/src/dma/xiova_dma.ko" "$WORK/edu/xiova_edu.ko"
	truncate -s 64M "$WORK/nvme.img"
	devices

	local name=dma-$KERNEL_KIND-$IOMMU
	local args=(-k "$KERNEL" -i "$WORK/initramfs.cpio.gz" --iommu "$IOMMU"
		--name "$name" -t "$TIMEOUT" -a "DMA_CYCLES=$CYCLES")
	[[ -n $LOG ]] && args+=(-l "$LOG")
	local word
	for word in "${APPEND[@]}"; do args+=(-a "$word"); done
	"$HERE/run.sh" "${args[@]}" -- "${DEVICES[@]}"
}

# nvme for block I/O, four edu devices for their DMA engines, two e1000 on a private hub,
# and two functions of one test device without ACS, which share an IOMMU
# group.
devices() {
	# shellcheck disable=SC2054 # commas separate QEMU's suboptions
	DEVICES=(
		-drive "file=$WORK/nvme.img,if=none,id=nvm,format=raw,cache=unsafe"
		-device nvme,serial=xiova,drive=nvm
		-device edu,dma_mask=0xfffffff -device edu,dma_mask=0xfffffff
		-device edu,dma_mask=0xfffffff -device edu,dma_mask=0xfffffff
		-netdev hubport,id=h0,hubid=0 -device e1000,netdev=h0,mac=52:54:00:78:00:01
		-netdev hubport,id=h1,hubid=0 -device e1000,netdev=h1,mac=52:54:00:78:00:02
		-device pci-testdev,addr=0x10.0,multifunction=on -device pci-testdev,addr=0x10.1
	)
}

# vm_parse_args's SUITE_OPT.
dma_opt() {
	case $1 in
	-k | --kernel) KERNEL_KIND=$2 ;;
	-i | --iommu) IOMMU=$2 ;;
	-c | --cycles) CYCLES=$2 ;;
	*) return 2 ;;
	esac
}

parse_args() {
	vm_parse_args dma_opt "$@"
	check_vm_kernel_iommu "$KERNEL_KIND" "$IOMMU"
	[[ $CYCLES =~ ^[0-9]+$ ]] || die "--cycles wants a number"
	check_vm_timeout
	devices
}

main "$@"
