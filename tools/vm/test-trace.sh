#!/bin/bash
# The xiova and xiova_dma tracepoints on Debian's own kernel behind an
# emulated Intel IOMMU: builds both modules and the block I/O helper,
# boots QEMU with an nvme disk and runs guest-trace.sh, which enables
# every event, runs a known workload (test domains, then nvme I/O through
# xiova_dma) and checks the trace with trace-check.awk. Prints the judge's
# verdicts, "vm-trace: N passed, N failed, N skipped" last; exits non-zero
# if any check failed.
#
# Usage: test-trace.sh [-l LOG] [-t SECS] [-d FILE] [-a KEY=value]...
#   -l, --log FILE      serial log (default $XIOVA_CACHE/logs/vm-trace.log)
#   -t, --timeout SECS  wall-clock limit for the VM (default 600)
#   -d, --dump FILE     also save the guest's trace to FILE, to run
#                       "awk -f tools/vm/trace-check.awk FILE FILE" on it
#   -a, --append ARG    extra kernel command line word, e.g. TRACE_IO_MIB=8
#
# Environment: XIOVA_CACHE (default /var/cache/xiova), and run.sh's.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
readonly HERE REPO
readonly NAME=trace
readonly HELPER_DIR=$REPO/tools/testing/selftests/xiova_dma
# shellcheck source=../lib/common.sh
source "$REPO/tools/lib/common.sh"

usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit "${1:-0}"; }

LOG='' TIMEOUT=600 DUMP='' APPEND=()
WORK=''

main() {
	parse_args "$@"
	local paths
	paths=$("$HERE/debian-kernel.sh")
	eval "$paths" # KVER KERNEL HEADERS ...

	WORK=$(mktemp -d "${TMPDIR:-/tmp}/xiova-test-trace.XXXXXX")
	trap 'rm -rf "$WORK"' EXIT

	local start
	start=$(date +%s.%N)
	build_module_copy "$WORK/src" "$HEADERS"
	make -s -C "$HELPER_DIR" OUTPUT="$WORK/io" >&2 || die "helper build failed"
	"$HERE/mkinitramfs.sh" -o "$WORK/initramfs.cpio.gz" \
		-g "$HERE/guest-trace.sh" -t $((TIMEOUT - 60)) -k nvme \
		-f "$HERE/guest-io-lib.sh:/lib/xiova/guest-io-lib.sh" \
		-f "$HERE/trace-check.awk:/xiova/trace-check.awk" \
		-f "$WORK/io:/xiova/io" "$WORK/src/xiova.ko" "$WORK/src/dma/xiova_dma.ko"
	# Sparse: only what the guest writes takes space.
	truncate -s 16M "$WORK/nvme.img"
	log "built in $(elapsed "$start")s"

	[[ -n $LOG ]] || LOG=$(xiova_cache_dir)/logs/vm-$NAME.log
	local args=(-k "$KERNEL" -i "$WORK/initramfs.cpio.gz" --iommu intel
		--name "$NAME" -t "$TIMEOUT" -l "$LOG")
	[[ -n $DUMP ]] && args+=(-a TRACE_DUMP=1)
	local word
	for word in "${APPEND[@]}"; do args+=(-a "$word"); done

	local rc=0
	start=$(date +%s.%N)
	"$HERE/run.sh" "${args[@]}" -- \
		-drive "file=$WORK/nvme.img,if=none,id=nvm,format=raw,cache=unsafe" \
		-device nvme,serial=xiova,drive=nvm || rc=$?
	log "VM wall time $(elapsed "$start")s (rc=$rc)"
	[[ -z $DUMP ]] || save_dump
	return "$rc"
}

# The trace the guest printed as hex of its gzip'ed text.
save_dump() {
	if tr -d '\r' <"$LOG" |
		sed -n '/^XIOVA-TRACE-BEGIN$/,/^XIOVA-TRACE-END$/{/^XIOVA-TRACE-/d;p}' |
		xxd -r -p | gunzip >"$DUMP" 2>/dev/null && [[ -s $DUMP ]]; then
		log "trace saved in $DUMP"
	else
		log "no trace in $LOG"
	fi
}

# vm_parse_args's SUITE_OPT.
trace_opt() {
	case $1 in
	-d | --dump) DUMP=$2 ;;
	*) return 2 ;;
	esac
}

parse_args() {
	vm_parse_args trace_opt "$@"
	check_vm_timeout
}

main "$@"
