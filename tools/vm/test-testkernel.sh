#!/usr/bin/env bash
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

log() { printf 'test-testkernel: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 2; }

main() {
	local flavours=("$@") flavour rc=0
	((${#flavours[@]})) || flavours=(intel virtio)
	eval "$("$HERE/test-kernel.sh")" # KVER KERNEL MODDIR BUILD

	WORK=$(mktemp -d "${TMPDIR:-/tmp}/xiova-test-kernel.XXXXXX")
	trap 'rm -rf "$WORK"' EXIT
	build_modules "$WORK/src"
	make -C "$SELFTEST_DIR" -j2 OUTPUT="$WORK/selftests" >&2 ||
		die "selftest build failed"
	"$HERE/mkinitramfs.sh" -o "$WORK/initramfs.cpio.gz" \
		--kver "$KVER" --moddir "$MODDIR" -k kunit \
		-g "$HERE/guest-testkernel.sh" -t 1500 \
		-f "$HERE/guest-xiova.sh:/xiova/guest-xiova.sh" \
		-f "$WORK/selftests:/xiova/selftests" \
		"$WORK/src/xiova.ko" "$WORK/src/xiova_kunit.ko"

	for flavour in "${flavours[@]}"; do
		"$HERE/run.sh" -k "$KERNEL" -i "$WORK/initramfs.cpio.gz" \
			--iommu "$flavour" --name "testkernel-$flavour" -t 1800 \
			-a 'slub_debug=FZPU,xiova_*' -a XIOVA_CYCLES=10 \
			-- -device edu,dma_mask=0xfffffff || rc=1
	done
	return "$rc"
}

# A copy of the sources, so that the Debian build in the repo stays intact.
build_modules() {
	local src=$1
	mkdir -p "$src"
	cp "$REPO"/Kbuild "$REPO"/Makefile "$REPO"/*.h "$src/"
	find "$REPO" -maxdepth 1 -name '*.c' ! -name '*.mod.c' -exec cp {} "$src/" \;
	log "building xiova.ko and xiova_kunit.ko against $BUILD"
	make -C "$src" -j2 KDIR="$BUILD" >&2 || die "module build failed"
	[[ -f $src/xiova_kunit.ko ]] || die "xiova_kunit.ko was not built"
}

main "$@"
