#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# The kernel's own DMA domains on xiova through the xiova_live livepatch, in
# a VM: nvme, two e1000 NICs wired only to each other and two edu devices
# under the kernel's default domains, no shim (guest-live.sh). Prints the
# judge's verdicts and "vm-NAME: N passed, N failed, N skipped" last;
# exits non-zero if any check failed.
#
# Usage: test-live.sh [options]
#   -k, --kernel debian|debian612|test
#                              Debian's 6.1 (default), Debian 12's 6.12
#                              (debian_612_kver) or the debug test
#                              kernel of test-kernel.sh
#   -i, --iommu intel|virtio   emulated IOMMU (default intel; virtio needs
#                              the test kernel)
#   -s, --strict               boot with iommu.strict=1 (default: lazy, the
#                              kernel's DMA-FQ default domains)
#   -c, --cycles N             enable/disable cycles under load (default 10)
#   -T, --type-cycles N        unbind/type/bind cycles (default 30)
#   -l, --log FILE             serial log (default $XIOVA_CACHE/logs/vm-NAME.log)
#   -t, --timeout SECS         wall-clock limit for the VM (default 900)
#   -a, --append ARG           extra kernel command line word (KEY=value
#                              words reach guest-live.sh)
#
# Environment: XIOVA_CACHE (default /var/cache/xiova), and run.sh's.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
readonly HERE REPO
# shellcheck source=../lib/common.sh
source "$REPO/tools/lib/common.sh"

KERNEL_KIND=debian IOMMU=intel STRICT=0 CYCLES=10 TYPE_CYCLES=30 LOG=''
TIMEOUT=900 APPEND=()
WORK=''

usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit "${1:-0}"; }

main() {
	parse_args "$@"
	WORK=$(mktemp -d "${TMPDIR:-/tmp}/xiova-test-live.XXXXXX")
	trap 'rm -rf "$WORK"' EXIT

	local KVER='' KERNEL='' MODDIR='' KDIR='' INITRAMFS_ARGS=()
	vm_kernel "$KERNEL_KIND" e1000 nvme
	local kdir=$KDIR initramfs_args=("${INITRAMFS_ARGS[@]}")
	build_module_copy "$WORK/src" "$kdir"
	[[ -f $WORK/src/live/xiova_live.ko ]] ||
		die "no live/xiova_live.ko: $kdir lacks CONFIG_LIVEPATCH or CONFIG_DEBUG_INFO_BTF"
	cp -r "$REPO/tools/edu" "$WORK/edu"
	make -C "$WORK/edu" KDIR="$kdir" >&2 || die "xiova_edu build failed"
	make -C "$REPO/tools/testing/selftests/xiova_dma" OUTPUT="$WORK/bin" >&2 ||
		die "netpair build failed"

	"$HERE/mkinitramfs.sh" -o "$WORK/initramfs.cpio.gz" "${initramfs_args[@]}" \
		-g "$HERE/guest-live.sh" -t $((TIMEOUT - 60)) \
		-f "$HERE/guest-edu-lib.sh:/lib/xiova/guest-edu-lib.sh" \
		-f "$HERE/guest-io-lib.sh:/lib/xiova/guest-io-lib.sh" \
		-f "$HERE/guest-dev-lib.sh:/lib/xiova/guest-dev-lib.sh" \
		-f "$WORK/bin:/xiova/io" -f "$REPO/tools/xiovastat:/xiova/xiovastat" \
		"$WORK/src/xiova.ko" "$WORK/src/live/xiova_live.ko" "$WORK/edu/xiova_edu.ko"
	truncate -s 64M "$WORK/nvme.img"
	devices

	local mode=lazy
	((STRICT)) && mode=strict
	local name=live-$KERNEL_KIND-$IOMMU-$mode
	local args=(-k "$KERNEL" -i "$WORK/initramfs.cpio.gz" --iommu "$IOMMU"
		--name "$name" -t "$TIMEOUT" -a "LIVE_CYCLES=$CYCLES"
		-a "LIVE_TYPE_CYCLES=$TYPE_CYCLES" -a 'slub_debug=FZPUA,xiova_*')
	((STRICT)) && args+=(-a iommu.strict=1)
	[[ -n $LOG ]] && args+=(-l "$LOG")
	local word
	for word in "${APPEND[@]}"; do args+=(-a "$word"); done
	"$HERE/run.sh" "${args[@]}" -- "${DEVICES[@]}"
}

# nvme for block I/O, two edu devices, two e1000 on a private hub.
devices() {
	# shellcheck disable=SC2054 # commas separate QEMU's suboptions
	DEVICES=(
		-drive "file=$WORK/nvme.img,if=none,id=nvm,format=raw,cache=unsafe"
		-device nvme,serial=xiova,drive=nvm
		-device edu,dma_mask=0xfffffff -device edu,dma_mask=0xfffffff
		-netdev hubport,id=h0,hubid=0 -device e1000,netdev=h0,mac=52:54:00:78:00:01
		-netdev hubport,id=h1,hubid=0 -device e1000,netdev=h1,mac=52:54:00:78:00:02
	)
}

# vm_parse_args's SUITE_OPT.
live_opt() {
	case $1 in
	-k | --kernel) KERNEL_KIND=$2 ;;
	-i | --iommu) IOMMU=$2 ;;
	-s | --strict) STRICT=1; return 1 ;;
	-c | --cycles) CYCLES=$2 ;;
	-T | --type-cycles) TYPE_CYCLES=$2 ;;
	*) return 2 ;;
	esac
}

parse_args() {
	vm_parse_args live_opt "$@"
	check_vm_kernel_iommu "$KERNEL_KIND" "$IOMMU"
	[[ $CYCLES =~ ^[0-9]+$ && $TYPE_CYCLES =~ ^[0-9]+$ ]] || die "--cycles and --type-cycles want numbers"
	check_vm_timeout
}

main "$@"
