#!/bin/bash
# Runs the xiova guest test suite on Debian's own kernel behind an emulated
# Intel IOMMU: builds the module and the kselftests, packs them with
# guest-xiova.sh, boots QEMU with the edu device and prints the judge's
# verdicts, "vm-NAME: N passed, N failed, N skipped" last (NAME is
# debian-intel on 6.1, debian612-intel on 6.12).
# Exits non-zero if any check failed.
#
# Usage: test-debian.sh [-k KIND] [-l LOG] [-t SECS] [-a KEY=value]...
#   -k, --kernel debian|debian612
#                       Debian's 6.1 (default, the one matching
#                       linux-headers-amd64) or Debian 12's 6.12
#                       (debian_612_kver in tools/lib/common.sh)
#   -l, --log FILE      serial log (default $XIOVA_CACHE/logs/vm-NAME.log)
#   -t, --timeout SECS  wall-clock limit for the VM (default 1200)
#   -a, --append ARG    extra kernel command line word, e.g. XIOVA_CYCLES=5
#
# The kernel runs with slub_debug=FZPU on the module's caches only: that
# keeps them apart from other caches (so /proc/slabinfo shows them) and
# reports red-zone overwrites, use-after-free and objects left at unload.
#
# Environment: XIOVA_CACHE (default /var/cache/xiova), and run.sh's.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
readonly HERE REPO
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
source "$REPO/tools/lib/common.sh"
readonly SELFTEST_DIR=$REPO/tools/testing/selftests/xiova

log() { printf 'test-debian: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 2; }
usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit "${1:-0}"; }

KERNEL_KIND=debian LOG='' TIMEOUT=1200 APPEND=()
WORK=''

main() {
	parse_args "$@"
	local KVER='' KERNEL='' MODDIR='' KDIR='' INITRAMFS_ARGS=()
	vm_kernel "$KERNEL_KIND"
	local name=$KERNEL_KIND-intel

	WORK=$(mktemp -d "${TMPDIR:-/tmp}/xiova-test-debian.XXXXXX")
	trap 'rm -rf "$WORK"' EXIT

	local start
	start=$(date +%s.%N)
	build_module_copy "$WORK/src" "$KDIR"
	log "building the selftests"
	make -C "$SELFTEST_DIR" -j2 OUTPUT="$WORK/selftests" >&2 ||
		die "selftest build failed"
	"$HERE/mkinitramfs.sh" -o "$WORK/initramfs.cpio.gz" "${INITRAMFS_ARGS[@]}" \
		-g "$HERE/guest-xiova.sh" -t $((TIMEOUT - 60)) \
		-f "$WORK/selftests:/xiova/selftests" "$WORK/src/xiova.ko"
	log "built in $(elapsed "$start")s"

	local args=(-k "$KERNEL" -i "$WORK/initramfs.cpio.gz" --iommu intel
		--name "$name" -t "$TIMEOUT" -a 'slub_debug=FZPU,xiova_*')
	[[ -n $LOG ]] && args+=(-l "$LOG")
	local word
	for word in "${APPEND[@]}"; do args+=(-a "$word"); done

	local rc=0
	start=$(date +%s.%N)
	"$HERE/run.sh" "${args[@]}" -- -device edu,dma_mask=0xfffffff || rc=$?
	log "VM wall time $(elapsed "$start")s (rc=$rc)"
	return "$rc"
}

# vm_parse_args's SUITE_OPT.
debian_opt() {
	case $1 in
	-k | --kernel) KERNEL_KIND=$2 ;;
	*) return 2 ;;
	esac
}

parse_args() {
	vm_parse_args debian_opt "$@"
	check_debian_kind "$KERNEL_KIND"
	check_vm_timeout
}

main "$@"
