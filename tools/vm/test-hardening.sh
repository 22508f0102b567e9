#!/bin/bash
# shellcheck source-path=SCRIPTDIR
# Hardening: the allocator and the xiova_dma shim under faults, load,
# CPU hotplug and bad input, on the debug test kernel, with nvme attached
# to the shim and its I/O verified. xiova runs with debug_checks=1, so
# every fast free is checked against the tree and every domain put is
# audited for lost IOVAs. See Documentation/hardening.rst; guest side
# guest-hardening.sh. Prints the judge's verdicts and "vm-NAME: N passed,
# N failed, N skipped" last; exits non-zero if any check failed.
#
# Usage: test-hardening.sh [options]
#   -i, --iommu intel|virtio   emulated IOMMU (default intel)
#   -k, --kernel kasan|kcsan   the test kernel (KASAN, default) or its KCSAN
#                              variant (test-kernel.sh --variant kcsan);
#                              kcsan runs the parts "accounting hotplug
#                              soak" unless --parts says otherwise
#   -p, --parts "PART..."      faults accounting hotplug soak (default all)
#   -s, --soak SECS            soak duration (default 120)
#   -l, --log FILE             serial log (default $XIOVA_CACHE/logs/vm-NAME.log)
#   -t, --timeout SECS         wall-clock limit for the VM (default: from
#                              the parts and the soak, at least 900)
#   -a, --append ARG           extra kernel command line word (KEY=value
#                              words reach guest-hardening.sh, e.g.
#                              HARD_LOAD_SECONDS=30)
#
#   tools/vm/test-hardening.sh                      # the suite's run
#   tools/vm/test-hardening.sh -p soak -s 1200      # a 20-minute soak
#   tools/vm/test-hardening.sh -k kcsan             # data races
#
# Environment: XIOVA_CACHE (default /var/cache/xiova), and run.sh's.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
readonly HERE REPO
# shellcheck source=../lib/common.sh
source "$REPO/tools/lib/common.sh"

IOMMU=intel KERNEL_KIND=kasan PARTS='' SOAK=120 LOG='' TIMEOUT='' APPEND=()
WORK=''

usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit "${1:-0}"; }

main() {
	parse_args "$@"
	WORK=$(mktemp -d "${TMPDIR:-/tmp}/xiova-hardening.XXXXXX")
	trap 'rm -rf "$WORK"' EXIT

	local variant=()
	[[ $KERNEL_KIND == kcsan ]] && variant=(--variant kcsan)
	eval "$("$HERE/test-kernel.sh" "${variant[@]}")" # KVER KERNEL MODDIR BUILD
	build_module_copy "$WORK/src" "$BUILD"
	build_helpers

	"$HERE/mkinitramfs.sh" -o "$WORK/initramfs.cpio.gz" \
		--kver "$KVER" --moddir "$MODDIR" \
		-g "$HERE/guest-hardening.sh" -t $((TIMEOUT - 60)) \
		-f "$HERE/guest-io-lib.sh:/lib/xiova/guest-io-lib.sh" \
		-f "$WORK/io:/xiova/io" -f "$WORK/bin:/xiova/hbin" \
		"$WORK/src/xiova.ko" "$WORK/src/dma/xiova_dma.ko"
	truncate -s 64M "$WORK/nvme.img"

	local name=hardening-$KERNEL_KIND-$IOMMU
	# slub_debug on the module's caches: A marks them for failslab's cache
	# filter (6.1 cannot mark a cache at run time), and any debug flag
	# keeps them from being merged into other caches; FZPU add sanity
	# checks, red zones, poisoning and owner tracking.
	local args=(-k "$KERNEL" -i "$WORK/initramfs.cpio.gz" --iommu "$IOMMU"
		--name "$name" -t "$TIMEOUT" -a 'slub_debug=FZPUA,xiova_*'
		-a "HARD_PARTS=${PARTS// /,}" -a "HARD_SOAK_SECONDS=$SOAK")
	[[ -n $LOG ]] && args+=(-l "$LOG")
	local word
	for word in "${APPEND[@]}"; do args+=(-a "$word"); done
	# shellcheck disable=SC2054 # commas separate QEMU's suboptions
	"$HERE/run.sh" "${args[@]}" -- \
		-drive "file=$WORK/nvme.img,if=none,id=nvm,format=raw,cache=unsafe" \
		-device nvme,serial=xiova,drive=nvm
}

# The kselftests, the fault helpers (not selftests of their own: they need
# the guest script's fault set-up) and blkpattern for guest-io-lib.sh.
build_helpers() {
	local dir=$REPO/tools/testing/selftests/xiova out=$WORK/bin p
	make -C "$dir" -j2 OUTPUT="$out" >&2 || die "selftest build failed"
	for p in fault_load fault_cycles fail_nth; do
		make -C "$dir" OUTPUT="$out" "$out/$p" >&2 || die "$p build failed"
	done
	make -C "$REPO/tools/testing/selftests/xiova_dma" OUTPUT="$WORK/io" >&2 ||
		die "blkpattern build failed"
}

# vm_parse_args's SUITE_OPT.
hardening_opt() {
	case $1 in
	-i | --iommu) IOMMU=$2 ;;
	-k | --kernel) KERNEL_KIND=$2 ;;
	-p | --parts) PARTS=$2 ;;
	-s | --soak) SOAK=$2 ;;
	*) return 2 ;;
	esac
}

parse_args() {
	vm_parse_args hardening_opt "$@"
	[[ $IOMMU == intel || $IOMMU == virtio ]] || die "--iommu: intel or virtio"
	[[ $KERNEL_KIND == kasan || $KERNEL_KIND == kcsan ]] || die "--kernel: kasan or kcsan"
	if [[ -z $PARTS ]]; then
		PARTS="faults accounting hotplug soak"
		[[ $KERNEL_KIND == kcsan ]] && PARTS="accounting hotplug soak"
	fi
	local part
	for part in $PARTS; do
		case $part in
		faults | accounting | hotplug | soak) ;;
		*) die "--parts: faults accounting hotplug soak, not '$part'" ;;
		esac
	done
	if [[ ! $SOAK =~ ^[0-9]+$ ]] || ((SOAK == 0)); then
		die "--soak wants seconds"
	fi
	# Boot and the parts other than the soak take about 5 minutes under
	# TCG with KASAN; KCSAN is slower.
	[[ -n $TIMEOUT ]] || TIMEOUT=$((900 + (2 * SOAK)))
	check_vm_timeout
}

main "$@"
