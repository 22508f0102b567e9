# shellcheck shell=bash
# Helpers shared by the scripts under tools/: logging, the cache directory
# and Debian package installation.  Source it; it has no side effects.

# Everything goes to stderr so that a script's stdout stays machine-readable.
log() {
	printf '[xiova] %s\n' "$*" >&2
}

die() {
	log "error: $*"
	exit 1
}

# Seconds since an earlier `date +%s.%N`, to a tenth.
elapsed() {
	awk -v s="$1" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }'
}

# at_once FN ARG...: runs "FN ARG" for every ARG at the same time, then
# prints their outputs in the order of the ARGs (stdout to stdout, stderr
# to stderr), so that each VM's verdicts stay together. For VMs: under TCG
# one leaves much of the host's two cores idle (waiting on device timers,
# one host thread for single-threaded TCG). Fails if any of them failed.
at_once() {
	local fn=$1 arg dir rc=0 i pids=()
	shift
	dir=$(mktemp -d "${TMPDIR:-/tmp}/xiova-at-once.XXXXXX")
	# An interrupt stops every job; each job takes SIGINT back from the
	# ignored state bash gives background jobs, so that run.sh's own trap
	# can stop its QEMU.
	# shellcheck disable=SC2064 # $dir now; the pids as they are then
	trap "kill \${pids[*]} 2>/dev/null; rm -rf '$dir'; exit 130" INT TERM
	for arg; do
		(trap - INT QUIT; "$fn" "$arg") >"$dir/${#pids[@]}.out" \
			2>"$dir/${#pids[@]}.err" &
		pids+=($!)
	done
	for i in "${!pids[@]}"; do
		wait "${pids[$i]}" || rc=1
		cat "$dir/$i.err" >&2
		cat "$dir/$i.out"
	done
	trap - INT TERM
	rm -rf "$dir"
	return "$rc"
}

# The options every VM suite runner takes, into the caller's LOG, TIMEOUT
# and APPEND array. Fails, changing nothing, for any other option; the
# caller then shifts two words on success.
vm_suite_opt() {
	# shellcheck disable=SC2034 # the caller's variables
	case $1 in
	-l | --log) LOG=$2 ;;
	-t | --timeout) TIMEOUT=$2 ;;
	-a | --append) APPEND+=("$2") ;;
	*) return 1 ;;
	esac
}

# vm_parse_args SUITE_OPT ARG...: a VM suite's command line: vm_suite_opt's
# options, -h/--help (the caller's usage), and those the suite's own
# function SUITE_OPT knows. It is called as SUITE_OPT OPTION [VALUE...]
# and returns 0 when it took OPTION and a value, 1 when it took OPTION
# alone, 2 when it does not know OPTION.
vm_parse_args() {
	local suite_opt=$1 rc
	shift
	while (($#)); do
		if vm_suite_opt "$@"; then
			shift 2
			continue
		fi
		case $1 in -h | --help) usage 0 ;; esac
		rc=0
		"$suite_opt" "$@" || rc=$?
		case $rc in
		0) shift 2 ;;
		1) shift ;;
		*) log "unknown argument $1"; usage 2 >&2 ;;
		esac
	done
}

# check_vm_kernel_iommu KIND IOMMU: a kernel of test-dma.sh and
# test-live.sh (debian, debian612 or test) and an IOMMU it has a driver for.
check_vm_kernel_iommu() {
	case $1 in
	debian | debian612 | test) ;;
	*) die "--kernel: debian (6.1), debian612 (6.12) or test (the debug kernel), not '$1'" ;;
	esac
	[[ $2 == intel || $2 == virtio ]] || die "--iommu: intel or virtio"
	[[ $1 == test || $2 == intel ]] ||
		die "on Debian's kernels only intel is supported (6.1 has no virtio-iommu driver): use --kernel test"
}

# vm_kernel KIND MODULE...: the kernel a VM suite boots, as KVER, KERNEL,
# MODDIR and KDIR (what modules build against), and INITRAMFS_ARGS for
# mkinitramfs.sh: Debian's (debian, debian612) with its modules MODULE...,
# or test, the debug kernel of test-kernel.sh, which has them built in.
vm_kernel() {
	local kind=$1 paths module vm
	shift
	vm=$(cd "$(dirname "${BASH_SOURCE[0]}")/../vm" && pwd)
	# shellcheck disable=SC2034 # the caller's variables
	if [[ $kind == test ]]; then
		paths=$("$vm/test-kernel.sh") || exit 1
		eval "$paths" # KVER KERNEL MODDIR BUILD
		KDIR=$BUILD
		INITRAMFS_ARGS=(--kver "$KVER" --moddir "$MODDIR")
	else
		paths=$(debian_kernel_paths "$kind") || exit 1
		eval "$paths" # KVER KERNEL MODDIR HEADERS
		KDIR=$HEADERS
		INITRAMFS_ARGS=(--kver "$KVER" --moddir "$MODDIR")
		for module; do
			INITRAMFS_ARGS+=(-k "$module")
		done
	fi
}

# Under TCG a VM needs two minutes to boot and run anything at all.
check_vm_timeout() {
	if [[ ! $TIMEOUT =~ ^[0-9]+$ ]] || ((TIMEOUT <= 120)); then
		die "--timeout wants seconds, more than 120"
	fi
}

# Kernel trees and build directories live here between runs, so that
# rebuilds are incremental.
xiova_cache_dir() {
	local dir="${XIOVA_CACHE:-/var/cache/xiova}"
	mkdir -p "$dir" || die "cannot create cache directory $dir"
	printf '%s\n' "$dir"
}

_pkg_installed() {
	local status
	# shellcheck disable=SC2016 # ${Status} is a dpkg-query field, not a shell variable
	status=$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) || return 1
	[[ $status == 'install ok installed' ]]
}

# True when apt knows a candidate version, i.e. the package lists are usable.
_pkg_known() {
	apt-cache policy "$1" 2>/dev/null | grep -q '^ *Candidate: [^(]'
}

_apt() {
	local sudo=()
	[[ $EUID -eq 0 ]] || sudo=(sudo)
	# apt's chatter goes to stderr, like the rest of the logging.
	DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get "$@" >&2
}

# ensure_packages PKG...: install the Debian packages that are missing.
# Costs one dpkg-query per package when everything is already there.
ensure_packages() {
	local pkg missing=() updated=0
	for pkg in "$@"; do
		_pkg_installed "$pkg" || missing+=("$pkg")
	done
	[[ ${#missing[@]} -eq 0 ]] && return 0

	log "installing packages: ${missing[*]}"
	for pkg in "${missing[@]}"; do
		if ! _pkg_known "$pkg"; then
			_apt update -q || die "apt-get update failed"
			updated=1
			break
		fi
	done
	_apt install -y --no-install-recommends "${missing[@]}" && return 0
	# Stale package lists (a mirror dropped an old version) deserve one
	# update and a second try.
	[[ $updated -eq 0 ]] || die "cannot install: ${missing[*]}"
	_apt update -q || die "apt-get update failed"
	_apt install -y --no-install-recommends "${missing[@]}" ||
		die "cannot install: ${missing[*]}"
}

# debian_612_kver: the 6.12 kernel release Debian 12 offers (its security
# archive), e.g. 6.12.118+deb12-amd64, with its headers installed: the
# newest one installed, else the newest the package lists know.
# XIOVA_KVER_612 forces one.
debian_612_kver() {
	local re='^linux-headers-6\.12\.[0-9]+\+deb12-amd64$' pkg
	if [[ -n ${XIOVA_KVER_612:-} ]]; then
		pkg=linux-headers-$XIOVA_KVER_612
	else
		# shellcheck disable=SC2016 # dpkg-query fields, not shell variables
		pkg=$(dpkg-query -W -f='${db:Status-Status} ${Package}\n' \
			'linux-headers-6.12.*' 2>/dev/null |
			sed -n 's/^installed //p' | grep -E "$re" | sort -V | tail -n 1) || true
		[[ -n $pkg ]] || pkg=$(_newest_pkg "$re")
		if [[ -z $pkg ]]; then
			_apt update -q || die "apt-get update failed"
			pkg=$(_newest_pkg "$re")
		fi
		[[ -n $pkg ]] || die "no linux-headers-6.12.*+deb12-amd64 in the package lists"
	fi
	ensure_packages "$pkg"
	printf '%s\n' "${pkg#linux-headers-}"
}

# check_debian_kind KIND: dies unless KIND names one of Debian's kernels
# that debian_kernel_paths knows.
check_debian_kind() {
	case $1 in
	debian | debian612) ;;
	*) die "--kernel: debian (6.1) or debian612 (6.12), not '$1'" ;;
	esac
}

# debian_kernel_paths KIND: tools/vm/debian-kernel.sh's KEY=value lines for
# Debian's kernel of that kind: debian, the one matching the installed
# linux-headers-amd64 (6.1), or debian612, debian_612_kver's.
debian_kernel_paths() {
	local script release
	script=$(cd "$(dirname "${BASH_SOURCE[0]}")/../vm" && pwd)/debian-kernel.sh
	case $1 in
	debian) "$script" ;;
	debian612)
		release=$(debian_612_kver) || exit 1
		XIOVA_KVER=$release "$script"
		;;
	*) die "debian_kernel_paths: unknown kind '$1'" ;;
	esac
}

_newest_pkg() {
	apt-cache pkgnames linux-headers-6.12. 2>/dev/null | grep -E "$1" |
		sort -V | tail -n 1 || true
}

# xiova_sources: the module's sources, one path per line relative to the
# top of the tree, from the Kbuild files (make sources).
xiova_sources() {
	local repo
	repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
	make -s -C "$repo" sources
}

# copy_module_sources DIR: what a build of the modules needs, and nothing
# else, copied into DIR with the tree's layout.
copy_module_sources() {
	local repo dest=$1
	repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
	mkdir -p "$dest"
	(cd "$repo" && xiova_sources && printf '%s\n' Makefile VERSION Kconfig) |
		(cd "$repo" && xargs cp --parents -t "$dest") ||
		die "cannot copy the module sources to $dest"
}

# build_module_copy DIR KDIR: copies the module's sources to DIR and builds
# xiova.ko, dma/xiova_dma.ko (and xiova_kunit.ko when KDIR has KUnit)
# there with the test interface on, so that builds for different kernels
# never share objects with the checkout.
build_module_copy() {
	local src=$1 kdir=$2
	copy_module_sources "$src"
	log "building the modules against $kdir"
	make -C "$src" -j2 KDIR="$kdir" TESTCTL=y >&2 || die "module build failed"
	[[ -f $src/xiova.ko && -f $src/dma/xiova_dma.ko ]] ||
		die "no xiova.ko/dma/xiova_dma.ko in $src"
}
