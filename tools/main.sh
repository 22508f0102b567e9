#!/usr/bin/env bash
# The main job: build the xiova modules against Debian's 6.1 headers, boot
# Debian's 6.1 kernel in QEMU with an emulated Intel IOMMU and an nvme
# disk, load the allocator, run a burst workload on every vCPU and print
# the domain's statistics; then put the nvme controller's DMA through the
# xiova_dma shim, write and read back a pattern with O_DIRECT, and print
# the device's and its allocator domain's statistics; last, put every
# device's own default domain on xiova with the xiova_live livepatch and
# print the nvme's default domain after verified I/O (tools/xiovastat).
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
	WORK=$(mktemp -d /tmp/xiova-main.XXXXXX)
	trap 'rm -rf "$WORK"' EXIT
	local work=$WORK
	build_module_copy "$work/src" "$HEADERS"
	make -C "$ROOT/tools/testing/selftests/xiova_dma" -s OUTPUT="$work/bin" >&2

	"$ROOT/tools/vm/mkinitramfs.sh" -o "$work/initramfs.cpio.gz" \
		-g "$ROOT/tools/vm/guest-demo.sh" -k nvme \
		-f "$ROOT/tools/vm/guest-io-lib.sh:/lib/xiova/guest-io-lib.sh" \
		-f "$work/bin:/xiova/io" -f "$ROOT/tools/xiovastat:/xiova/xiovastat" \
		"$work/src/xiova.ko" "$work/src/dma/xiova_dma.ko" \
		"$work/src/live/xiova_live.ko"
	truncate -s 64M "$work/nvme.img"
	local vmlog
	vmlog=$(xiova_cache_dir)/logs/main-debian-intel.log
	log "booting Debian $KVER with intel-iommu (TCG, 2 vCPUs)"
	local rc=0
	"$ROOT/tools/vm/run.sh" -k "$KERNEL" -i "$work/initramfs.cpio.gz" \
		--iommu intel --name debian-intel -l "$vmlog" -t 300 -- \
		-drive "file=$work/nvme.img,if=none,id=nvm,format=raw,cache=unsafe" \
		-device nvme,serial=xiova,drive=nvm || rc=$?
	print_stats "$vmlog"
	log "serial log: $vmlog"
	return "$rc"
}

# The stats blocks the guest printed, without the serial log's noise.
print_stats() {
	tr -d '\r' <"$1" | awk '
		/^cpu[0-9]+ size / { print; next }
		/^XIOVA-STATS-BEGIN/ { sub(/^XIOVA-STATS-BEGIN /, ""); printf "\n== xiova statistics, %s ==\n", $0; on = 1; next }
		/^XIOVA-STATS-END/ { on = 0; next }
		on { print }'
}

main "$@"
