#!/bin/bash
# Device I/O check: boots Debian's kernel behind an emulated IOMMU with an
# nvme disk, a virtio-blk disk and two e1000 NICs on a private QEMU hub,
# and runs guest-io-check.sh there: O_DIRECT writes and reads verified by
# checksum on both disks, raw Ethernet frames verified both ways between
# the NICs (tools/vm/guest-io-lib.sh has the details and the QEMU wiring).
# Prints the judge's verdicts, "vm-io-FLAVOUR: N passed, ..." last; exits
# non-zero if any check failed.
#
# Usage: io-check.sh [--iommu FLAVOUR] [-l LOG] [-t SECS] [-a KEY=value]...
#       --iommu FLAVOUR  intel (default) or none (run.sh's flavours)
#   -l, --log FILE       serial log (default $XIOVA_CACHE/logs/vm-io-FLAVOUR.log)
#   -t, --timeout SECS   wall-clock limit for the VM (default 600)
#   -a, --append ARG     extra kernel command line word, e.g. XIOVA_IO_ROUNDS=1,
#                        XIOVA_IO_MIB=32, XIOVA_IO_FRAMES=5000
#
# Environment: XIOVA_CACHE (default /var/cache/xiova), and run.sh's.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
readonly HERE REPO
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
source "$REPO/tools/lib/common.sh"
readonly HELPER_DIR=$REPO/tools/testing/selftests/xiova_dma
readonly DISK_SIZE=64M
readonly MAC_A=52:54:00:78:10:01 MAC_B=52:54:00:78:10:02

log() { printf 'io-check: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 2; }
usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit "${1:-0}"; }

IOMMU=intel LOG='' TIMEOUT=600 APPEND=()
WORK=''

main() {
	parse_args "$@"
	local paths
	paths=$("$HERE/debian-kernel.sh")
	eval "$paths" # KVER KERNEL ...

	WORK=$(mktemp -d "${TMPDIR:-/tmp}/xiova-io-check.XXXXXX")
	trap 'rm -rf "$WORK"' EXIT

	local start
	start=$(date +%s.%N)
	make -s -C "$HELPER_DIR" OUTPUT="$WORK/io" >&2 || die "helper build failed"
	"$HERE/mkinitramfs.sh" -o "$WORK/initramfs.cpio.gz" \
		-g "$HERE/guest-io-check.sh" -t $((TIMEOUT - 60)) -k e1000 \
		-f "$HERE/guest-io-lib.sh:/lib/xiova/guest-io-lib.sh" \
		-f "$WORK/io:/xiova/io"
	# Sparse: only what the guest writes takes space.
	truncate -s "$DISK_SIZE" "$WORK/nvme.img" "$WORK/virtio.img"
	log "built in $(elapsed "$start")s"

	local args=(-k "$KERNEL" -i "$WORK/initramfs.cpio.gz" --iommu "$IOMMU"
		--name "io-$IOMMU" -t "$TIMEOUT")
	[[ -n $LOG ]] && args+=(-l "$LOG")
	local word
	for word in "${APPEND[@]}"; do args+=(-a "$word"); done

	local qemu=(
		-drive "file=$WORK/nvme.img,if=none,id=nvm,format=raw,cache=unsafe"
		-device "nvme,serial=xiova,drive=nvm"
		-drive "file=$WORK/virtio.img,if=none,id=vd,format=raw,cache=unsafe"
		-device "virtio-blk-pci,drive=vd,iommu_platform=on,disable-legacy=on"
		-netdev "hubport,id=h0,hubid=0" -device "e1000,netdev=h0,mac=$MAC_A"
		-netdev "hubport,id=h1,hubid=0" -device "e1000,netdev=h1,mac=$MAC_B"
	)
	local rc=0
	start=$(date +%s.%N)
	"$HERE/run.sh" "${args[@]}" -- "${qemu[@]}" || rc=$?
	log "VM wall time $(elapsed "$start")s (rc=$rc)"
	return "$rc"
}

# vm_parse_args's SUITE_OPT.
io_opt() {
	case $1 in
	--iommu) IOMMU=$2 ;;
	*) return 2 ;;
	esac
}

parse_args() {
	vm_parse_args io_opt "$@"
	case $IOMMU in intel | none) ;; *) die "--iommu is intel or none" ;; esac
	check_vm_timeout
}

main "$@"
