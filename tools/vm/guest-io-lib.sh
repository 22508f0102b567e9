#!/bin/sh
# shellcheck shell=sh
# Device I/O checks for guest scripts (busybox sh): a real block driver
# (nvme, virtio-blk) and a real network driver (e1000) move data that is
# verified byte for byte. Each check is a function that may be called again
# and again (say, once per DMA mode) and takes a few seconds under TCG.
# Source it after guest-lib.sh:
#
#   . /lib/xiova/guest-lib.sh
#   . /lib/xiova/guest-io-lib.sh
#   io_blk_verify blk-nvme "$(io_blk_find nvme)" 16
#   set -- $(io_net_find)                 # IFA BDF_A IFB BDF_B
#   io_net_verify net-e1000 "$1" "$3" 2000
#
# Functions (all variables they use start with _io_):
#   io_blk_find KIND        /dev node of the first nvme namespace (KIND nvme)
#                           or virtio-blk disk (KIND virtio); waits up to
#                           IO_WAIT seconds for it to appear (probing is
#                           asynchronous), status 1 if there is none
#   io_blk_pci KIND         that disk's PCI address (0000:00:03.0)
#   io_net_find [DRIVER]    "IFNAME BDF" lines for the first two interfaces
#                           of DRIVER (default e1000), status 1 if fewer
#   io_pci_of SYSFS_DEVICE  the PCI address a sysfs device sits under
#   io_blk_verify NAME DEV MIB [SEED]
#       MIB MiB of a seeded pattern written at offset 0 and MIB MiB of
#       another one at MIB MiB + 68 KiB (not MiB-aligned), with O_DIRECT
#       (busybox dd oflag=direct: page-aligned buffers for bs >= 4k) in
#       1 MiB chunks of varying block sizes (4k..1M, also 12k, 20k, 36k);
#       caches dropped; both read back with iflag=direct and other block
#       sizes, compared by md5sum (region 1 is read after region 2 was
#       written, so a stray write shows). The first 64 KiB are zeroed at
#       the end: a rebind must not find a partition table in random data.
#       Without SEED a random one (printed, for a re-run). Needs
#       2 * MIB MiB + 68 KiB of disk and 4 * MIB MiB of tmpfs.
#   io_net_verify NAME IFA IFB COUNT
#       netpair: COUNT raw frames (60..1514 bytes, ethertype 0x88b5) IFA ->
#       IFB, then IFB -> IFA, links brought up first (and left up);
#       passes when >= 99% arrive and none is corrupt, duplicated or
#       stale.
# Each verify function emits one marker (xt_pass/xt_fail NAME) and returns
# 0 or 1. Diagnostics are "io: ..." lines.
#
# Under TCG on a busy 2-core host (Debian 6.1, intel-iommu, strict DMA
# domains): io_blk_verify with MIB=16 takes 2.6-4.2 s (pattern 0.1 s,
# write 1.2-2.0 s, read 0.8 s, compare 0.6 s; the first call about 1 s
# more), io_net_verify with 2000 frames 0.45 s, 1.5 s for the first run
# after the links came up (frames are delayed, not lost, for about 1 s).
#
# Environment: IO_BIN (default /xiova/io) holds netpair and blkpattern
# from tools/testing/selftests/xiova_dma; IO_TMP scratch directory on tmpfs
# (default /tmp/xiova-io); IO_WAIT seconds to wait for devices (default
# 15); IO_NET_TIMEOUT seconds for one netpair run (default 300).
#
# Host side (tools/vm/io-check.sh does all of this):
#
#   make -C tools/testing/selftests/xiova_dma OUTPUT="$WORK/io"
#   tools/vm/mkinitramfs.sh -o "$WORK/initramfs.cpio.gz" -g GUEST.sh -k e1000 \
#       -f tools/vm/guest-io-lib.sh:/lib/xiova/guest-io-lib.sh \
#       -f "$WORK/io:/xiova/io"
#   truncate -s 64M "$WORK/nvme.img" "$WORK/virtio.img"     # sparse
#   tools/vm/run.sh -i "$WORK/initramfs.cpio.gz" --iommu intel -- \
#       -drive file="$WORK/nvme.img",if=none,id=nvm,format=raw,cache=unsafe \
#       -device nvme,serial=xiova,drive=nvm \
#       -drive file="$WORK/virtio.img",if=none,id=vd,format=raw,cache=unsafe \
#       -device virtio-blk-pci,drive=vd,iommu_platform=on,disable-legacy=on \
#       -netdev hubport,id=h0,hubid=0 -device e1000,netdev=h0,mac=52:54:00:78:10:01 \
#       -netdev hubport,id=h1,hubid=0 -device e1000,netdev=h1,mac=52:54:00:78:10:02
#
# run.sh starts QEMU with -nodefaults, so there is no other NIC: the two
# hub ports connect the e1000s to each other and to nothing else, no
# user/tap/host networking. The nvme and virtio drivers are in the image
# by default (mkinitramfs.sh's XIOVA_GUEST_KMODS), e1000 needs -k e1000;
# /init loads all three for the devices present. QEMU's warning "hub 0 is
# not connected to host network" is expected.

IO_BIN=${IO_BIN:-/xiova/io}
IO_TMP=${IO_TMP:-/tmp/xiova-io}
IO_WAIT=${IO_WAIT:-15}
IO_NET_TIMEOUT=${IO_NET_TIMEOUT:-300}

_IO_MIB=1048576
# Second region of io_blk_verify: MIB MiB + this, 4 KiB aligned.
_IO_GAP=69632

# ------------------------------------------------------------- helpers

_io_say() {
	echo "io: $*"
}

# Uptime in centiseconds, without a fork.
_io_now() {
	read -r _io_up _ </proc/uptime
	echo "${_io_up%.*}${_io_up#*.}"
}

# Seconds since a _io_now value, as 1.23.
_io_since() {
	_io_d=$(($(_io_now) - $1))
	printf '%d.%02d' $((_io_d / 100)) $((_io_d % 100))
}

_io_driver_of() {
	[ -e "$1/driver" ] || return 1
	_io_drv=$(readlink -f "$1/driver")
	echo "${_io_drv##*/}"
}

# io_pci_of SYSFS_DEVICE: the last PCI address in its resolved path.
io_pci_of() {
	_io_path=$(readlink -f "$1") || return 1
	_io_bdf=$(echo "$_io_path/" |
		sed -n 's|.*/\([0-9a-f]\{4\}:[0-9a-f]\{2\}:[0-9a-f]\{2\}\.[0-7]\)/.*|\1|p')
	[ -n "$_io_bdf" ] || return 1
	echo "$_io_bdf"
}

# Block sizes of the dd chunks, by index.
_io_bs() {
	_io_k=$1
	set -- 4k 64k 12k 128k 1M 36k 256k 8k 512k 20k
	shift $((_io_k % $#))
	echo "$1"
}

# --------------------------------------------------------------- finding

_io_blk_find_once() {
	for _io_b in /sys/block/*; do
		_io_n=${_io_b##*/}
		case $1 in
		nvme)
			# nvmeXcYnZ are the hidden per-path disks of multipath.
			case $_io_n in
			nvme*c*) continue ;;
			nvme*n*) ;;
			*) continue ;;
			esac
			;;
		virtio)
			[ "$(_io_driver_of "$_io_b/device")" = virtio_blk ] || continue
			;;
		esac
		[ -b "/dev/$_io_n" ] || continue
		echo "/dev/$_io_n"
		return 0
	done
	return 1
}

io_blk_find() {
	case $1 in
	nvme | virtio) ;;
	*)
		echo "io_blk_find: KIND is nvme or virtio, not '$1'" >&2
		return 2
		;;
	esac
	_io_deadline=$(($(_io_now) + IO_WAIT * 100))
	until _io_blk_find_once "$1"; do
		[ "$(_io_now)" -lt "$_io_deadline" ] || return 1
		sleep 0.1
	done
}

io_blk_pci() {
	_io_dev=$(io_blk_find "$1") || return 1
	_io_sys=/sys/block/${_io_dev##*/}
	io_pci_of "$_io_sys/device" && return 0
	# A multipath head hangs off its subsystem: take its first path.
	for _io_p in "$_io_sys"/multipath/*; do
		io_pci_of "$_io_p/device" && return 0
	done
	return 1
}

_io_net_find_once() {
	_io_found=''
	for _io_i in /sys/class/net/*; do
		[ "$(_io_driver_of "$_io_i/device")" = "$1" ] || continue
		_io_pci=$(io_pci_of "$_io_i/device") || continue
		_io_found="$_io_found${_io_i##*/} $_io_pci
"
		case $_io_found in
		*"
"*"
"*)
			printf '%s' "$_io_found"
			return 0
			;;
		esac
	done
	return 1
}

io_net_find() {
	_io_deadline=$(($(_io_now) + IO_WAIT * 100))
	until _io_net_find_once "${1:-e1000}"; do
		[ "$(_io_now)" -lt "$_io_deadline" ] || return 1
		sleep 0.1
	done
}

# ------------------------------------------------------------ block I/O

# _io_pattern SEED MIB FILE
_io_pattern() {
	if [ -x "$IO_BIN/blkpattern" ]; then
		"$IO_BIN/blkpattern" "$1" "$(($2 * _IO_MIB))" >"$3"
	else
		_io_say "no $IO_BIN/blkpattern"
		return 1
	fi
}

# _io_write PATTERN DEV OFFSET MIB ROTATION
_io_write() {
	_io_c=0
	while [ "$_io_c" -lt "$4" ]; do
		dd if="$1" of="$2" bs="$(_io_bs $((_io_c + $5)))" \
			iflag=skip_bytes,count_bytes skip=$((_io_c * _IO_MIB)) \
			count=$_IO_MIB oflag=direct,seek_bytes \
			seek=$(($3 + _io_c * _IO_MIB)) conv=notrunc status=none ||
			return 1
		_io_c=$((_io_c + 1))
	done
}

# _io_read DEV OFFSET MIB ROTATION OUT
_io_read() {
	: >"$5"
	_io_c=0
	while [ "$_io_c" -lt "$3" ]; do
		dd if="$1" bs="$(_io_bs $((_io_c + $4)))" \
			iflag=direct,skip_bytes,count_bytes \
			skip=$(($2 + _io_c * _IO_MIB)) count=$_IO_MIB \
			status=none >>"$5" || return 1
		_io_c=$((_io_c + 1))
	done
}

_io_sum() {
	_io_s=$(md5sum "$1") || return 1
	echo "${_io_s%% *}"
}

# _io_compare PATTERN READ_BACK DEV OFFSET: says where they first differ.
_io_compare() {
	if ! _io_want=$(_io_sum "$1") || ! _io_got=$(_io_sum "$2"); then
		_io_err="md5sum failed"
		return 1
	fi
	[ "$_io_want" = "$_io_got" ] && return 0
	_io_err="data at offset $4 differs (md5 $_io_got, expected $_io_want)"
	_io_cmp=$(cmp "$1" "$2" 2>&1)
	_io_byte=$(echo "$_io_cmp" | sed -nE 's/.* differ: (char|byte) ([0-9]+).*/\2/p')
	if [ -n "$_io_byte" ]; then
		_io_byte=$((_io_byte - 1))
		_io_sect=$((_io_byte / 512 * 512))
		# Each pattern sector starts with its offset in the pattern.
		_io_tag=$(od -An -tx8 -j "$_io_sect" -N8 "$2" | tr -d ' ')
		_io_say "$3: first difference at device byte $(($4 + _io_byte)) (pattern byte $_io_byte); that sector read back is tagged 0x$_io_tag, expected 0x$(printf '%016x' "$_io_sect")"
	else
		_io_say "$3: cmp: $_io_cmp"
	fi
	return 1
}

_io_drop_caches() {
	sync
	echo 3 >/proc/sys/vm/drop_caches
	blockdev --flushbufs "$1" 2>/dev/null
	return 0
}

# Sets _io_err on failure.
_io_blk_run() {
	_io_dev=$1 _io_mib=$2 _io_seed=$3
	_io_err='' _io_seed_note=''
	if [ ! -b "$_io_dev" ]; then
		_io_err="$_io_dev is not a block device"
		return 1
	fi
	case $_io_mib in
	'' | *[!0-9]* | 0)
		_io_err="MIB must be a positive number, not '$_io_mib'"
		return 1
		;;
	esac
	case $_io_seed in
	'') _io_seed=$(od -An -tu4 -N4 /dev/urandom | tr -d ' ') ;;
	*[!0-9]*)
		_io_err="SEED must be a number, not '$_io_seed'"
		return 1
		;;
	esac
	_io_sys=/sys/class/block/${_io_dev##*/}
	_io_size=$(($(cat "$_io_sys/size") * 512))
	_io_lbs=$(cat "$_io_sys/queue/logical_block_size")
	if [ "$_io_lbs" -gt 4096 ]; then
		_io_err="logical block size $_io_lbs > 4096"
		return 1
	fi
	_io_off2=$((_io_mib * _IO_MIB + _IO_GAP))
	if [ "$_io_size" -lt $((_io_off2 + _io_mib * _IO_MIB)) ]; then
		_io_err="$_io_dev has $_io_size bytes, needs $((_io_off2 + _io_mib * _IO_MIB))"
		return 1
	fi
	_io_seed_note=" (seed $_io_seed)"
	_io_say "$_io_dev: ${_io_mib} MiB at 0 and at $_io_off2, seed $_io_seed, logical block $_io_lbs"

	mkdir -p "$IO_TMP"
	_io_pa=$IO_TMP/pattern-a _io_pb=$IO_TMP/pattern-b
	_io_ra=$IO_TMP/read-a _io_rb=$IO_TMP/read-b
	_io_t=$(_io_now)
	if ! _io_pattern "$_io_seed" "$_io_mib" "$_io_pa" ||
		! _io_pattern $((_io_seed + 1)) "$_io_mib" "$_io_pb"; then
		_io_err="cannot make the pattern in $IO_TMP"
		return 1
	fi
	_io_tp=$(_io_since "$_io_t")

	_io_t=$(_io_now)
	if ! _io_write "$_io_pa" "$_io_dev" 0 "$_io_mib" 0 ||
		! _io_write "$_io_pb" "$_io_dev" "$_io_off2" "$_io_mib" 5; then
		_io_err="O_DIRECT write failed"
		return 1
	fi
	_io_tw=$(_io_since "$_io_t")
	_io_drop_caches "$_io_dev"

	_io_t=$(_io_now)
	if ! _io_read "$_io_dev" 0 "$_io_mib" 3 "$_io_ra"; then
		_io_err="O_DIRECT read at 0 failed"
		return 1
	fi
	if ! _io_read "$_io_dev" "$_io_off2" "$_io_mib" 7 "$_io_rb"; then
		_io_err="O_DIRECT read at $_io_off2 failed"
		return 1
	fi
	_io_tr=$(_io_since "$_io_t")

	_io_t=$(_io_now)
	_io_compare "$_io_pa" "$_io_ra" "$_io_dev" 0 || return 1
	_io_compare "$_io_pb" "$_io_rb" "$_io_dev" "$_io_off2" || return 1
	_io_say "$_io_dev: pattern $_io_tp s, write $_io_tw s, read $_io_tr s, compare $(_io_since "$_io_t") s ($((2 * _io_mib)) MiB each way)"
}

io_blk_verify() {
	_io_name=$1
	_io_t0=$(_io_now)
	if [ $# -lt 3 ]; then
		xt_fail "$_io_name" "usage: io_blk_verify NAME DEV MIB [SEED]"
		return 1
	fi
	_io_blk_run "$2" "$3" "${4:-}"
	_io_rc=$?
	rm -f "$IO_TMP/pattern-a" "$IO_TMP/pattern-b" "$IO_TMP/read-a" \
		"$IO_TMP/read-b"
	if [ -b "$2" ]; then
		dd if=/dev/zero of="$2" bs=64k count=1 oflag=direct conv=notrunc \
			status=none
	fi
	_io_say "$_io_name: $(_io_since "$_io_t0") s"
	if [ "$_io_rc" -eq 0 ]; then
		xt_pass "$_io_name"
		return 0
	fi
	xt_fail "$_io_name" "$2: $_io_err$_io_seed_note"
	return 1
}

# ------------------------------------------------------------- network

io_net_verify() {
	_io_name=$1
	_io_t0=$(_io_now)
	if [ $# -ne 4 ]; then
		xt_fail "$_io_name" "usage: io_net_verify NAME IFA IFB COUNT"
		return 1
	fi
	if [ ! -x "$IO_BIN/netpair" ]; then
		xt_fail "$_io_name" "no $IO_BIN/netpair in the image"
		return 1
	fi
	mkdir -p "$IO_TMP"
	_io_out=$IO_TMP/netpair.out
	timeout -s KILL "$IO_NET_TIMEOUT" "$IO_BIN/netpair" -n "$4" "$2" "$3" \
		>"$_io_out" 2>&1
	_io_rc=$?
	cat "$_io_out"
	_io_say "$_io_name: $(_io_since "$_io_t0") s"
	if [ "$_io_rc" -eq 0 ]; then
		xt_pass "$_io_name"
		return 0
	fi
	if [ "$_io_rc" -eq 137 ]; then
		_io_err="netpair killed after ${IO_NET_TIMEOUT}s"
	else
		_io_err=$(grep -E '^(not ok|Bail out!)' "$_io_out" | tr '\n' ';')
		_io_err="netpair rc=$_io_rc: ${_io_err%;}"
	fi
	xt_fail "$_io_name" "$_io_err"
	return 1
}
