#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# The module under the debug test kernel (KASAN, lockdep, kmemleak; see
# test-kernel.sh), once with intel-iommu and once with virtio-iommu: the
# KUnit suites loaded as modules, the Debian guest suite, and a kmemleak
# scan at the end.
#
# Usage: test-testkernel.sh [FLAVOUR...]   (default: intel virtio)
# Environment: XIOVA_CACHE (default /var/cache/xiova).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
readonly HERE REPO
readonly SELFTEST_DIR=$REPO/tools/testing/selftests/xiova
WORK=''

# shellcheck source=../lib/common.sh
source "$REPO/tools/lib/common.sh"

main() {
	local flavours=("$@")
	((${#flavours[@]})) || flavours=(intel virtio)
	eval "$("$HERE/test-kernel.sh")" # KVER KERNEL MODDIR BUILD

	WORK=$(mktemp -d "${TMPDIR:-/tmp}/xiova-test-kernel.XXXXXX")
	trap 'rm -rf "$WORK"' EXIT
	build_module_copy "$WORK/src" "$BUILD"
	[[ -f $WORK/src/xiova_kunit.ko ]] || die "xiova_kunit.ko was not built"
	make -C "$SELFTEST_DIR" -j2 OUTPUT="$WORK/selftests" >&2 ||
		die "selftest build failed"
	"$HERE/mkinitramfs.sh" -o "$WORK/initramfs.cpio.gz" \
		--kver "$KVER" --moddir "$MODDIR" -k kunit \
		-g "$HERE/guest-testkernel.sh" -t 1500 \
		-f "$HERE/guest-xiova.sh:/xiova/guest-xiova.sh" \
		-f "$WORK/selftests:/xiova/selftests" \
		"$WORK/src/xiova.ko" "$WORK/src/xiova_kunit.ko"

	# Both at once: under TCG each VM leaves much of the host idle.
	at_once boot_flavour "${flavours[@]}"
}

boot_flavour() {
	"$HERE/run.sh" -k "$KERNEL" -i "$WORK/initramfs.cpio.gz" \
		--iommu "$1" --name "testkernel-$1" -t 1800 \
		-a 'slub_debug=FZPU,xiova_*' -a XIOVA_CYCLES=10 \
		-- -device edu,dma_mask=0xfffffff
}

# A copy of the sources, so that the Debian build in the repo stays intact.
main "$@"
