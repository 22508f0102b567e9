#!/usr/bin/env bash
# The two ways a user installs xiova for Debian's 6.1 kernel, checked end to
# end against the installed linux-headers-amd64 (the host kernel is never
# touched, nothing is loaded):
#
#   install.*  `make install` into a scratch root: where the module lands,
#              depmod's view of it, modinfo, exports and namespaces,
#              `make uninstall`;
#   dkms.*     `dkms add`, `build`, `install`, then `remove --all`, with
#              Debian's dkms package, for both kernels Debian 12 ships
#              (6.1 and 6.12: DKMS builds for every kernel whose headers
#              are installed), and nothing left behind.
#
# Prints "ok NAME" or "not ok NAME" per check on stdout; commands' output
# goes to stderr. Exit status 1 if any check failed. Root only: DKMS writes
# /usr/src, /var/lib/dkms and /lib/modules/KVER. Any xiova registered with
# DKMS is removed before and after the run, so a run interrupted half-way
# is cleaned up by the next one.
#
# Environment: XIOVA_KVER forces the kernel release (default: the one the
# linux-headers-amd64 metapackage depends on).
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
readonly ROOT
# shellcheck source=../lib/common.sh
source "$ROOT/tools/lib/common.sh"

readonly PACKAGES=(build-essential kmod linux-headers-amd64)
readonly DKMS_TREE=/var/lib/dkms
FAILED=0

main() {
	[[ $EUID -eq 0 ]] || die "run as root: DKMS installs into /usr/src and /lib/modules"
	ensure_packages "${PACKAGES[@]}"
	KVER=$(debian_kver)
	KDIR=/usr/src/linux-headers-$KVER
	KVER612=$(debian_612_kver)
	VERSION=$(<"$ROOT/VERSION")
	readonly KVER KDIR KVER612 VERSION
	[[ -d $KDIR ]] || die "no headers at $KDIR"
	log "kernels $KVER and $KVER612, xiova $VERSION"

	WORK=$(mktemp -d)
	readonly WORK
	trap cleanup EXIT

	test_make_install
	test_dkms
	((FAILED == 0))
}

cleanup() {
	dkms_reset >/dev/null 2>&1 || true
	rm -rf "$WORK"
}

# The release that linux-headers-amd64 points at, e.g. 6.1.0-56-amd64: the
# Debian kernel users of this module run.
debian_kver() {
	local dep
	if [[ -n ${XIOVA_KVER:-} ]]; then
		printf '%s\n' "$XIOVA_KVER"
		return
	fi
	dep=$(dpkg-query -W -f='${Depends}' linux-headers-amd64)
	[[ $dep =~ linux-headers-([0-9][^ ,]*-amd64) ]] ||
		die "cannot parse the Depends of linux-headers-amd64: $dep"
	printf '%s\n' "${BASH_REMATCH[1]}"
}

# check NAME CMD...: one verdict line, from CMD's exit status.
check() {
	local name=$1
	shift
	if "$@"; then
		echo "ok $name"
	else
		echo "not ok $name"
		FAILED=$((FAILED + 1))
	fi
}

# step CMD...: run CMD with no stdin (DKMS must not ask anything), its output
# indented on stderr, and say how long it took.
step() {
	local start=$SECONDS rc=0
	log "\$ $*"
	"$@" </dev/null 2>&1 | sed 's/^/    /' >&2 || rc=$?
	log "  -> exit $rc, $((SECONDS - start)) s"
	return "$rc"
}

# What DKMS needs to build the module, the list Documentation/usage.rst
# gives users for /usr/src/xiova-VERSION: no tools, no documentation, no
# build products (xiova.mod.c). iova_kunit.c is there because the Makefile
# builds it too for a kernel with KUnit.
copy_sources() {
	local dest=$1
	copy_module_sources "$dest"
	cp "$ROOT"/dkms.conf "$dest/"
}

test_make_install() {
	local src=$WORK/src root=$WORK/root moddir ko

	# A copy, so that the build neither races with nor dirties the work tree.
	copy_sources "$src"
	moddir=$root/lib/modules/$KVER
	ko=$moddir/extra/xiova.ko

	check install.make step make -C "$src" KDIR="$KDIR" install INSTALL_MOD_PATH="$root"
	check install.path test -f "$ko"
	check install.modules-dep grep -qx 'extra/xiova.ko:' "$moddir/modules.dep"
	check install.shim-path test -f "$moddir/extra/dma/xiova_dma.ko"
	check install.shim-depends grep -qx 'extra/dma/xiova_dma.ko: extra/xiova.ko' "$moddir/modules.dep"
	check install.modprobe-finds modprobe_finds "$root" "$ko"
	check install.vermagic vermagic_matches "$ko"
	check install.params params_documented "$ko"
	check install.exports-namespaced exports_namespaced "$ko"
	check install.symbols-resolve symbols_resolve "$root"
	# Installing again over an installed module must just work.
	check install.reinstall step make -C "$src" KDIR="$KDIR" install INSTALL_MOD_PATH="$root"

	check install.uninstall step make -C "$src" KDIR="$KDIR" uninstall INSTALL_MOD_PATH="$root"
	check install.uninstall-clean uninstalled "$ko" "$moddir/modules.dep"
}

# modprobe resolves "xiova" to the installed file through depmod's index.
modprobe_finds() {
	local root=$1 ko=$2 out
	out=$(modprobe -d "$root" -S "$KVER" --show-depends xiova) || return 1
	log "modprobe --show-depends: $out"
	[[ $out == "insmod $ko " || $out == "insmod $ko" ]]
}

# The loader refuses a module whose vermagic names another release.
vermagic_matches() {
	local kver=${2:-$KVER} vermagic
	vermagic=$(modinfo -F vermagic "$1") || return 1
	log "vermagic: $vermagic"
	[[ $vermagic == "$kver "* ]]
}

# Every parameter has a description that says its default; modinfo lists
# a parameter without MODULE_PARM_DESC() under parmtype only.
params_documented() {
	local ko=$1 name desc bad=0
	while IFS=: read -r name _; do
		desc=$(modinfo -F parm "$ko" | sed -n "s/^$name://p")
		log "parameter $name: ${desc:-NO DESCRIPTION}"
		[[ $desc == *default* ]] || bad=1
	done < <(modinfo -F parmtype "$ko")
	[[ -n $(modinfo -F parmtype "$ko") ]] && ((bad == 0))
}

# modinfo cannot show exports: read them from the module's symbol table.
# Each export has a __kstrtabns_SYM string, at an offset of
# __ksymtab_strings, naming its namespace ("" for none).
exports_namespaced() {
	local ko=$1 strtab=$WORK/ksymtab_strings sym off ns n=0 bad=0
	objcopy -O binary --only-section=__ksymtab_strings "$ko" "$strtab" || return 1
	while read -r off sym; do
		ns=$(tail -c "+$((16#$off + 1))" "$strtab" | tr '\0' '\n' | head -n 1)
		n=$((n + 1))
		if [[ ! $sym =~ ^_*xiova_ || ! $ns =~ ^XIOVA(_INTERNAL)?$ ]]; then
			log "bad export: $sym in namespace '$ns'"
			bad=1
		fi
	done < <(nm "$ko" | sed -n 's/^\([0-9a-f]*\) r __kstrtabns_\(.*\)$/\1 \2/p')
	log "$n exports checked"
	((n > 0 && bad == 0))
}

# Every symbol xiova.ko imports is exported by Debian's kernel with the
# same CRC: what would otherwise fail only at load time.
symbols_resolve() {
	local root=$1 out
	out=$(depmod -b "$root" -e -E "$KDIR/Module.symvers" "$KVER" 2>&1)
	! grep -E 'unknown symbol|disagrees about version' <<<"$out" >&2
}

uninstalled() {
	local ko=$1 dep=$2
	[[ ! -e $ko ]] && ! grep -q xiova "$dep"
}

test_dkms() {
	local src=/usr/src/xiova-$VERSION mod=xiova/$VERSION kver

	ensure_packages dkms
	log "dkms $(dkms --version)"
	dkms_reset
	copy_sources "$src"

	check dkms.add step dkms add "$mod"
	for kver in "$KVER" "$KVER612"; do
		dkms_for_kernel "$mod" "$kver" "$(kernel_tag "$kver")"
	done
	check dkms.status-installed dkms_status_is \
		"$(printf '%s, %s, %s: installed\n' "$mod" "$KVER" "$(uname -m)" \
			"$mod" "$KVER612" "$(uname -m)" | sort)"

	check dkms.remove step dkms remove "$mod" --all
	rm -rf "$src"
	check dkms.status-empty dkms_status_is ""
	for kver in "$KVER" "$KVER612"; do
		check "dkms.no-module-left-$(kernel_tag "$kver")" no_module_left "$kver"
	done
	check dkms.no-tree-left test ! -e "$DKMS_TREE/xiova"
}

# 6.1 or 6.12, for the checks' names.
kernel_tag() {
	[[ $1 =~ ^([0-9]+\.[0-9]+) ]] && printf '%s\n' "${BASH_REMATCH[1]}"
}

# dkms_for_kernel MOD KVER TAG: build and install for one kernel, and check
# what landed in its module tree.
dkms_for_kernel() {
	local mod=$1 kver=$2 tag=$3 ko dir=/lib/modules/$2/updates/dkms name

	check "dkms.build-$tag" step dkms build -k "$kver" "$mod"
	check "dkms.install-$tag" step dkms install -k "$kver" "$mod" --force
	ko=$(modinfo -k "$kver" -F filename xiova 2>/dev/null) || ko=
	log "modinfo -k $kver xiova: ${ko:-not found}"
	check "dkms.modinfo-finds-$tag" test "${ko%.xz}" = "$dir/xiova.ko"
	if [[ -n $ko ]]; then
		check "dkms.vermagic-$tag" vermagic_matches "$ko" "$kver"
		check "dkms.params-$tag" params_documented "$ko"
		check "dkms.exports-namespaced-$tag" exports_namespaced "$(uncompressed "$ko")"
		log "signer: $(modinfo -F signer "$ko")"
	fi
	for name in xiova_dma xiova_live; do
		check "dkms.$name-installed-$tag" installed_module "$dir/$name.ko"
	done
}

# 6.12's DKMS compresses what it installs (CONFIG_MODULE_COMPRESS_XZ).
installed_module() {
	[[ -f $1 || -f $1.xz ]]
}

# A path to the module's ELF: itself, or a decompressed copy in $WORK.
uncompressed() {
	local ko=$1 copy
	[[ $ko == *.xz ]] || { printf '%s\n' "$ko"; return; }
	copy=$WORK/$(basename "$ko" .xz)
	xz -dc "$ko" >"$copy" && printf '%s\n' "$copy"
}

dkms_status_is() {
	local want=$1 got
	# readelf's warnings about the compressed 6.12 modules go to stderr.
	got=$(dkms status xiova 2>/dev/null | sort)
	log "dkms status xiova: ${got:-(empty)}"
	[[ $got == "$want" ]]
}

no_module_left() {
	local kver=$1 left
	left=$(find "/lib/modules/$kver" -name 'xiova*.ko*')
	[[ -z $left ]] || log "left behind: $left"
	[[ -z $left ]] && ! modinfo -k "$kver" xiova >/dev/null 2>&1
}

# Unregister every xiova version DKMS knows and delete what an interrupted
# run can leave: the DKMS tree, the sources, an installed module. `dkms
# remove` needs the version's dkms.conf, which may be gone, so the files are
# removed by hand after it.
dkms_reset() {
	local dir version kver
	for dir in "$DKMS_TREE"/xiova/*/; do
		version=$(basename "$dir")
		# Beside the versions: kernel-KVER-ARCH links and original_module.
		[[ -d $dir && $version != kernel-* && $version != original_module ]] ||
			continue
		dkms remove "xiova/$version" --all </dev/null >&2 || true
		rm -rf "/usr/src/xiova-$version"
	done
	rm -rf "$DKMS_TREE/xiova" "/usr/src/xiova-$VERSION"
	for kver in "$KVER" "$KVER612"; do
		[[ -n $(find "/lib/modules/$kver/updates/dkms" -name 'xiova*.ko*' 2>/dev/null) ]] ||
			continue
		rm -f "/lib/modules/$kver/updates/dkms"/xiova*.ko*
		depmod "$kver"
	done
}

main "$@"
