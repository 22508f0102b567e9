#!/usr/bin/env bash
# The main job: build the xiova module against Debian's 6.1 headers, boot
# Debian's 6.1 kernel in QEMU with an emulated Intel IOMMU, load the module,
# run a burst workload on every vCPU and print the domain's statistics.
#
# Usage: tools/main.sh           (as root; installs what it needs from apt)
# Environment: XIOVA_CACHE (default /var/cache/xiova).
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
readonly ROOT
# shellcheck source=lib/common.sh
source "$ROOT/tools/lib/common.sh"
WORK=''

main() {
	ensure_packages build-essential linux-headers-amd64 qemu-system-x86 \
		busybox-static kmod cpio
	eval "$("$ROOT/tools/vm/debian-kernel.sh")"
	log "building the module against $HEADERS"
	make -C "$ROOT" -s KDIR="$HEADERS" >&2

	WORK=$(mktemp -d /tmp/xiova-main.XXXXXX)
	trap 'rm -rf "$WORK"' EXIT
	local work=$WORK

	"$ROOT/tools/vm/mkinitramfs.sh" -o "$work/initramfs.cpio.gz" \
		-g "$ROOT/tools/vm/guest-demo.sh" "$ROOT/xiova.ko"
	local vmlog
	vmlog=$(xiova_cache_dir)/logs/main-debian-intel.log
	log "booting Debian $KVER with intel-iommu (TCG, 2 vCPUs)"
	local rc=0
	"$ROOT/tools/vm/run.sh" -k "$KERNEL" -i "$work/initramfs.cpio.gz" \
		--iommu intel --name debian-intel -l "$vmlog" -t 300 || rc=$?
	print_stats "$vmlog"
	log "serial log: $vmlog"
	return "$rc"
}

# The stats blocks the guest printed, without the serial log's noise.
print_stats() {
	tr -d '\r' <"$1" | awk '
		/^cpu[0-9]+ size / { print; next }
		/^XIOVA-STATS-BEGIN/ { printf "\n== xiova statistics, %s ==\n", $2; on = 1; next }
		/^XIOVA-STATS-END/ { on = 0; next }
		on { print }'
}

main "$@"
