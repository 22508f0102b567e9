#!/bin/bash
# End-to-end check of the VM runner: builds a hello module against the
# installed headers, packs it with smoke-guest.sh and boots each flavour with
# QEMU's edu device. Exit status is non-zero if any flavour fails.
#
# Usage: smoke.sh [FLAVOUR...]      (default: intel; also virtio, none)
# Environment: as run.sh (XIOVA_CACHE, XIOVA_TRY_KVM, XIOVA_VM_VERBOSE, ...).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly HERE
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
source "$HERE/../lib/common.sh"
WORK=''

main() {
	local flavours=("$@")
	((${#flavours[@]})) || flavours=(intel)
	local paths
	paths=$("$HERE/debian-kernel.sh")
	eval "$paths" # KVER KERNEL MODDIR HEADERS ...

	WORK=$(mktemp -d /tmp/xiova-smoke.XXXXXX)
	trap 'rm -rf "$WORK"' EXIT
	local work=$WORK
	build_hello "$work/hello"

	local start
	start=$(date +%s.%N)
	"$HERE/mkinitramfs.sh" -o "$work/initramfs.cpio.gz" -g "$HERE/smoke-guest.sh" \
		"$work/hello/hello.ko"
	echo "smoke: initramfs built in $(elapsed "$start")s" >&2

	local flavour failed=0
	for flavour in "${flavours[@]}"; do
		start=$(date +%s.%N)
		"$HERE/run.sh" -k "$KERNEL" -i "$work/initramfs.cpio.gz" --iommu "$flavour" \
			-l "${XIOVA_CACHE:-/var/cache/xiova}/logs/smoke-$flavour.log" \
			-- -device edu,dma_mask=0xfffffff || failed=1
		echo "smoke: $flavour done in $(elapsed "$start")s" >&2
	done
	return "$failed"
}

build_hello() {
	local dir=$1
	mkdir -p "$dir"
	cat >"$dir/hello.c" <<'EOF'
#include <linux/init.h>
#include <linux/module.h>

static int __init hello_init(void)
{
	pr_info("xiova-hello: loaded\n");
	return 0;
}

static void __exit hello_exit(void)
{
	pr_info("xiova-hello: unloaded\n");
}

module_init(hello_init);
module_exit(hello_exit);
MODULE_LICENSE("GPL");
EOF
	echo 'obj-m := hello.o' >"$dir/Kbuild"
	make -s -C "$HEADERS" M="$dir" modules >&2
}

main "$@"
