#!/bin/bash
# Build the test VM's initramfs: busybox, kmod, a few kernel modules from the
# kernel's modules tree, the modules under test, extra files and /guest.sh.
#
# Usage: mkinitramfs.sh -o OUT -g GUEST_SCRIPT [options] [MODULE.ko ...]
#   -o, --out FILE          output; .cpio.gz/.gz is gzip'ed, anything else raw cpio
#   -g, --guest SCRIPT      run as /guest.sh by /init, under a time limit
#   -t, --guest-timeout S   that limit in seconds (default 240)
#   -k, --kmod NAME         also include this module (and its deps) from the
#                           modules tree; repeatable. Not loaded automatically
#                           unless a present device's modalias matches.
#   -f, --file SRC[:DEST]   copy a file or directory into the image (default
#                           DEST /xiova/<basename>); ELF programs get their
#                           shared libraries too. Repeatable.
#       --kver KVER         kernel release the image is for
#       --moddir DIR        its modules tree (.../lib/modules/KVER); "none"
#                           for a kernel with everything built in
#       --insmod kmod|busybox
#                           which implementation provides insmod, rmmod, lsmod,
#                           modprobe, modinfo (default kmod; the other stays
#                           reachable as "busybox insmod" / "kmod insmod")
#   MODULE.ko               modules under test, installed in
#                           /lib/modules/KVER/extra/ (so "modprobe NAME" works,
#                           with dependencies between them resolved)
#
# Without --kver/--moddir the Debian kernel from debian-kernel.sh is used.
# Environment: XIOVA_GUEST_KMODS overrides the default module set (device
# drivers a runner may want: virtio, nvme); names absent from the tree or
# built in are skipped silently, unlike those given with --kmod.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly HERE
readonly DEFAULT_KMODS="virtio_pci virtio_blk virtio_console nvme virtio_iommu"

log() { printf 'mkinitramfs: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit "${1:-0}"; }

OUT='' GUEST='' GUEST_TIMEOUT=240 KVER='' MODDIR='' INSMOD=kmod
KMODS=() FILES=() TEST_MODULES=()
ROOT=''

main() {
	parse_args "$@"
	resolve_kernel
	ROOT=$(mktemp -d "${TMPDIR:-/tmp}/xiova-initramfs.XXXXXX")
	trap 'rm -rf "$ROOT"' EXIT

	make_skeleton
	install_busybox
	install_kmod
	install_tree_modules
	install_test_modules
	install_files
	install_init
	run_depmod
	write_archive
}

parse_args() {
	while (($#)); do
		case $1 in
		-o | --out) OUT=$2; shift ;;
		-g | --guest) GUEST=$2; shift ;;
		-t | --guest-timeout) GUEST_TIMEOUT=$2; shift ;;
		-k | --kmod) KMODS+=("$2"); shift ;;
		-f | --file) FILES+=("$2"); shift ;;
		--kver) KVER=$2; shift ;;
		--moddir) MODDIR=$2; shift ;;
		--insmod) INSMOD=$2; shift ;;
		-h | --help) usage 0 ;;
		--) shift; TEST_MODULES+=("$@"); break ;;
		-*) log "unknown option $1"; usage 2 >&2 ;;
		*) TEST_MODULES+=("$1") ;;
		esac
		shift
	done
	[[ -n $OUT ]] || die "--out is required"
	[[ -n $GUEST && -f $GUEST ]] || die "--guest SCRIPT is required and must exist"
	[[ $GUEST_TIMEOUT =~ ^[0-9]+$ ]] || die "--guest-timeout wants seconds"
	[[ $INSMOD == kmod || $INSMOD == busybox ]] || die "--insmod is kmod or busybox"
}

resolve_kernel() {
	if [[ -z $KVER && -z $MODDIR ]]; then
		local paths
		paths=$("$HERE/debian-kernel.sh")
		eval "$paths" # sets KVER and MODDIR, among others
	fi
	[[ -n $KVER ]] || die "--kver is required with --moddir"
	if [[ -z $MODDIR || $MODDIR == none ]]; then
		MODDIR=''
		return
	fi
	# modprobe -d wants the root that holds lib/modules/KVER.
	[[ $MODDIR == */lib/modules/"$KVER" ]] ||
		die "--moddir must end in /lib/modules/$KVER (got $MODDIR)"
	[[ -f $MODDIR/modules.dep ]] || die "$MODDIR has no modules.dep (run depmod)"
}

make_skeleton() {
	mkdir -p "$ROOT"/{bin,sbin,usr/bin,usr/sbin,lib,etc,dev,proc,sys,tmp,run,root,xiova}
	mkdir -p "$ROOT/lib/modules/$KVER/extra" "$ROOT/lib/xiova"
	# The kernel opens /dev/console before /init can mount devtmpfs; without
	# the node, early output of /init is lost (it reopens it later anyway).
	if ((EUID == 0)); then
		mknod -m 600 "$ROOT/dev/console" c 5 1
		mknod -m 666 "$ROOT/dev/null" c 1 3
	fi
}

install_busybox() {
	local bb=/bin/busybox applet
	[[ -x $bb ]] || die "$bb missing (busybox-static)"
	file_is_static "$bb" || die "$bb is not static: install busybox-static"
	put "$bb" "$ROOT/bin/busybox"
	while IFS= read -r applet; do
		[[ $applet == */* ]] || continue # linuxrc lives at the top level
		[[ -e $ROOT/$applet ]] || ln -s /bin/busybox "$ROOT/$applet"
	done < <("$bb" --list-full)
}

# Copies SRC's contents to DEST in the image. DEST may already be one of
# busybox's applet links, which point at the absolute /bin/busybox: copying
# through it would overwrite the host's busybox, so the link goes first.
put() {
	cp -L --remove-destination "$1" "$2"
}

file_is_static() {
	! ldd "$1" >/dev/null 2>&1
}

# Copies an ELF program plus the shared libraries (and loader) it needs, at
# their host paths, which is where the loader and ld.so will look for them.
copy_with_libs() {
	local src=$1 dest=$2
	mkdir -p "$(dirname "$ROOT/$dest")"
	put "$src" "$ROOT/$dest"
	copy_libs "$src"
}

copy_libs() {
	local lib
	file_is_static "$1" && return 0
	while IFS= read -r lib; do
		[[ -e $ROOT/$lib ]] && continue
		mkdir -p "$(dirname "$ROOT/$lib")"
		put "$lib" "$ROOT/$lib"
	done < <(ldd "$1" | grep -o '/[^ ]*' | sort -u)
}

install_kmod() {
	local tool
	copy_with_libs /bin/kmod bin/kmod
	[[ $INSMOD == kmod ]] || return 0
	for tool in insmod rmmod lsmod modprobe modinfo depmod; do
		rm -f "$ROOT/sbin/$tool"
		ln -s /bin/kmod "$ROOT/sbin/$tool"
	done
}

# Resolves names to module files (dependencies and softdeps first) the way
# the guest's modprobe will, then decompresses them: the guest's tools need
# not support every compression the tree might use.
install_tree_modules() {
	local f
	if [[ -z $MODDIR ]]; then
		# depmod wants these even when every driver is built in.
		for f in modules.builtin modules.builtin.modinfo modules.order; do
			: >"$ROOT/lib/modules/$KVER/$f"
		done
		return 0
	fi
	local base=${MODDIR%/lib/modules/"$KVER"} name path optional
	local -A seen=()
	local requests=()
	for name in ${XIOVA_GUEST_KMODS-$DEFAULT_KMODS}; do requests+=("?$name"); done
	for name in "${KMODS[@]}"; do requests+=("$name"); done

	for name in "${requests[@]}"; do
		optional=0
		if [[ $name == \?* ]]; then optional=1; name=${name#\?}; fi
		local deps
		if ! deps=$(modprobe -d "$base" -S "$KVER" --show-depends "$name" 2>/dev/null); then
			((optional)) && continue
			die "module $name not found in $MODDIR"
		fi
		while read -r kind path _; do
			[[ $kind == insmod && -z ${seen[$path]:-} ]] || continue
			seen[$path]=1
			install_module_file "$path" "lib/modules/$KVER/${path#"$MODDIR"/}"
		done <<<"$deps"
	done
	for f in modules.builtin modules.builtin.modinfo modules.order; do
		[[ -f $MODDIR/$f ]] && cp "$MODDIR/$f" "$ROOT/lib/modules/$KVER/"
	done
}

install_module_file() {
	local src=$1 dest=$ROOT/$2
	dest=${dest%.xz}
	dest=${dest%.zst}
	dest=${dest%.gz}
	mkdir -p "$(dirname "$dest")"
	case $src in
	*.ko.xz) xz -dc "$src" >"$dest" ;;
	*.ko.zst) zstd -qdc "$src" >"$dest" ;;
	*.ko.gz) gzip -dc "$src" >"$dest" ;;
	*.ko) cp "$src" "$dest" ;;
	*) die "not a module file: $src" ;;
	esac
}

# A module built against other headers fails in the guest with a terse
# "disagrees about version"; catch it here where the cause is obvious.
install_test_modules() {
	local ko name vermagic
	for ko in "${TEST_MODULES[@]}"; do
		[[ -f $ko ]] || die "no such module: $ko"
		vermagic=$(modinfo -F vermagic "$ko" 2>/dev/null || true)
		[[ ${vermagic%% *} == "$KVER" ]] ||
			die "$ko is built for '${vermagic%% *}', the image is for $KVER"
		name=$(basename "$ko")
		install_module_file "$ko" "lib/modules/$KVER/extra/$name"
	done
}

install_files() {
	local spec src dest
	for spec in "${FILES[@]}"; do
		src=${spec%%:*}
		dest=/xiova/$(basename "$src")
		[[ $spec == *:* ]] && dest=${spec#*:}
		[[ -e $src ]] || die "no such file: $src"
		if [[ -d $src ]]; then
			mkdir -p "$ROOT/$dest"
			cp -a --remove-destination "$src/." "$ROOT/$dest/"
			copy_libs_of_tree "$ROOT/$dest"
		elif is_dynamic_elf "$src"; then
			copy_with_libs "$src" "$dest"
		else
			mkdir -p "$(dirname "$ROOT/$dest")"
			put "$src" "$ROOT/$dest"
		fi
	done
}

is_dynamic_elf() {
	[[ $(head -c 4 "$1" | od -An -c | tr -d ' ') == '177ELF' ]] && ! file_is_static "$1"
}

copy_libs_of_tree() {
	local f
	while IFS= read -r -d '' f; do
		if is_dynamic_elf "$f"; then copy_libs "$f"; fi
	done < <(find "$1" -type f -perm -u+x -print0)
}

install_init() {
	install -m 755 "$HERE/guest-init.sh" "$ROOT/init"
	install -m 755 "$GUEST" "$ROOT/guest.sh"
	install -m 644 "$HERE/guest-lib.sh" "$ROOT/lib/xiova/guest-lib.sh"
	printf 'GUEST_TIMEOUT=%s\n' "$GUEST_TIMEOUT" >"$ROOT/etc/xiova-vm.conf"
}

# Regenerated for the subset actually in the image, test modules included,
# so that "modprobe xiova_test" pulls in "xiova" inside the guest.
run_depmod() {
	depmod -b "$ROOT" "$KVER"
}

write_archive() {
	mkdir -p "$(dirname "$OUT")"
	local tmp=$OUT.tmp.$$
	(cd "$ROOT" && find . -mindepth 1 -print0 | LC_ALL=C sort -z |
		cpio --null -o -H newc -R 0:0 --reproducible --quiet) >"$tmp.cpio"
	case $OUT in
	*.gz) gzip -n -6 <"$tmp.cpio" >"$tmp" && rm -f "$tmp.cpio" ;;
	*) mv "$tmp.cpio" "$tmp" ;;
	esac
	mv "$tmp" "$OUT"
	log "wrote $OUT ($(du -h "$OUT" | cut -f1))"
}

main "$@"
