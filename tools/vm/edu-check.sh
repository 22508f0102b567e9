#!/bin/bash
# One-command check of tools/edu/xiova_edu.ko: builds it for Debian's
# kernel, packs it with guest-edu-check.sh and guest-edu-lib.sh and boots
# it with an emulated IOMMU and QEMU's edu device (28-bit DMA mask). The
# exit status is the VM judge's.
#
# Usage: edu-check.sh [options]
#   --iommu FLAVOUR   intel (default) or none; virtio needs a kernel with
#                     CONFIG_VIRTIO_IOMMU (-k, --kver, --moddir)
#   -k FILE           kernel image (default: Debian's, debian-kernel.sh)
#   --kver KVER       its release, --moddir DIR its modules tree, --kdir DIR
#   --moddir DIR      its build tree (defaults: Debian's, from
#   --kdir DIR        debian-kernel.sh)
#   -l, --log FILE    serial log (default $XIOVA_CACHE/logs/vm-edu-FLAVOUR.log)
#   -a KEY=value      to the guest script: EDU_ROUNDS (20), EDU_REBINDS (3),
#                     EDU_SEED; repeatable
#
# Environment: as run.sh (XIOVA_CACHE, XIOVA_VM_VERBOSE, XIOVA_KLOG_IGNORE,
# XIOVA_INTEL_IOMMU_OPTS, ...).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
ROOT=$(cd "$HERE/../.." && pwd -P)
readonly HERE ROOT

log() { printf 'edu-check: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 2; }
usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit "${1:-0}"; }

IOMMU=intel LOG='' KERNEL_IMG='' KVER_ARG='' MODDIR_ARG='' KDIR_ARG=''
APPENDS=()
WORK=''

main() {
	parse_args "$@"
	local paths
	paths=$("$HERE/debian-kernel.sh")
	eval "$paths" # KVER KERNEL MODDIR HEADERS ...
	KERNEL=${KERNEL_IMG:-$KERNEL}
	KVER=${KVER_ARG:-$KVER}
	MODDIR=${MODDIR_ARG:-$MODDIR}
	HEADERS=${KDIR_ARG:-$HEADERS}
	LOG=${LOG:-${XIOVA_CACHE:-/var/cache/xiova}/logs/vm-edu-$IOMMU.log}

	log "building xiova_edu.ko against $HEADERS"
	make -s -C "$ROOT/tools/edu" KDIR="$HEADERS" >&2

	WORK=$(mktemp -d "${TMPDIR:-/tmp}/xiova-edu.XXXXXX")
	trap 'rm -rf "$WORK"' EXIT
	"$HERE/mkinitramfs.sh" -o "$WORK/initramfs.cpio.gz" \
		-g "$HERE/guest-edu-check.sh" \
		-f "$HERE/guest-edu-lib.sh:/lib/xiova/guest-edu-lib.sh" \
		--kver "$KVER" --moddir "$MODDIR" \
		"$ROOT/tools/edu/xiova_edu.ko"

	local append=() a
	for a in "${APPENDS[@]}"; do append+=(-a "$a"); done
	"$HERE/run.sh" -k "$KERNEL" -i "$WORK/initramfs.cpio.gz" \
		--iommu "$IOMMU" --name "edu-$IOMMU" -l "$LOG" "${append[@]}" \
		-- -device edu,dma_mask=0xfffffff
}

parse_args() {
	while (($#)); do
		case $1 in
		--iommu) IOMMU=$2; shift ;;
		-k | --kernel) KERNEL_IMG=$2; shift ;;
		--kver) KVER_ARG=$2; shift ;;
		--moddir) MODDIR_ARG=$2; shift ;;
		--kdir) KDIR_ARG=$2; shift ;;
		-l | --log) LOG=$2; shift ;;
		-a | --append) APPENDS+=("$2"); shift ;;
		-h | --help) usage 0 ;;
		*) log "unknown argument $1"; usage 2 >&2 ;;
		esac
		shift
	done
	case $IOMMU in intel | virtio | none) ;; *) die "--iommu is intel, virtio or none" ;; esac
}

main "$@"
