#!/bin/sh
# shellcheck shell=sh source-path=SCRIPTDIR
# Guest script of test-dma.sh (busybox sh): real devices' DMA through the
# xiova_dma shim (Documentation/dma-shim.rst). For each type (DMA, DMA-FQ,
# DMA-SQ): nvme with O_DIRECT I/O verified by checksum, the edu device's
# DMA engine with every buffer compared, two e1000 NICs wired to each
# other with every frame checked. Then the type rules, the kernel's own
# iommu_group type attribute on a group the shim holds, the refusals, a
# DMA fault provoked on purpose, unbind/type/bind cycles, detach and
# unload with nothing left behind. One marker per check.
#
# Environment (run.sh -a KEY=value): DMA_CYCLES type-switch cycles
# (default 1000), DMA_EDU_ROUNDS edu round trips per type on each edu
# device (default 80), DMA_BLK_MIB MiB verified on nvme per type (default 16), DMA_NET_FRAMES
# frames each way per type (default 2000).

# shellcheck source=guest-lib.sh
. /lib/xiova/guest-lib.sh
# shellcheck source=guest-edu-lib.sh
. /lib/xiova/guest-edu-lib.sh
# shellcheck source=guest-io-lib.sh
. /lib/xiova/guest-io-lib.sh

D=/sys/kernel/debug/xiova_dma
TYPES="DMA DMA-FQ DMA-SQ"
CYCLES=${DMA_CYCLES:-1000}
EDU_ID=0x1234:0x11e8
EDU_ROUNDS=${DMA_EDU_ROUNDS:-80}
BLK_MIB=${DMA_BLK_MIB:-16}
NET_FRAMES=${DMA_NET_FRAMES:-2000}
NCPU=$(grep -c '^processor' /proc/cpuinfo)

# ------------------------------------------------------------- helpers

# write_err FILE DATA: the write's error text on stdout if it fails.
write_err() {
	_we=$({ echo "$2" >"$1"; } 2>&1) && return 0
	echo "${_we#*: write error: }"
	return 1
}

# expect_err NAME FILE DATA ERRTEXT: the write fails with ERRTEXT.
expect_err() {
	if _ee=$(write_err "$2" "$3"); then
		xt_fail "$1" "writing '$3' to ${2##*/} succeeded"
	elif [ "$_ee" != "$4" ]; then
		xt_fail "$1" "writing '$3' to ${2##*/}: '$_ee', expected '$4'"
	else
		xt_pass "$1"
	fi
}

# expect_ok NAME FILE DATA
expect_ok() {
	if _ee=$(write_err "$2" "$3"); then
		xt_pass "$1"
	else
		xt_fail "$1" "writing '$3' to ${2##*/}: $_ee"
	fi
}

driver_of() {
	[ -e "/sys/bus/pci/devices/$1/driver" ] || return 1
	_d=$(readlink "/sys/bus/pci/devices/$1/driver")
	echo "${_d##*/}"
}

unbind() {
	[ -e "/sys/bus/pci/devices/$1/driver" ] &&
		echo "$1" >"/sys/bus/pci/devices/$1/driver/unbind"
	return 0
}

# bind BDF DRIVER, then wait (up to 10 s) until the device is usable.
bind() {
	echo "$1" >"/sys/bus/pci/drivers/$2/bind" || return 1
	_n=0
	while ! device_ready "$1" "$2"; do
		_n=$((_n + 1))
		[ "$_n" -ge 1000 ] && return 1
		usleep 10000
	done
}

device_ready() {
	case $2 in
	nvme) [ -n "$(nvme_disk "$1")" ] ;;
	e1000) [ -n "$(net_if "$1")" ] ;;
	*) [ -e "/sys/bus/pci/devices/$1/driver" ] ;;
	esac
}

nvme_disk() {
	for _b in /sys/bus/pci/devices/"$1"/nvme/nvme*/nvme*n1; do
		[ -e "$_b" ] && [ -b "/dev/${_b##*/}" ] && echo "/dev/${_b##*/}"
	done
}

net_if() {
	for _n in /sys/bus/pci/devices/"$1"/net/*; do
		[ -e "$_n" ] && echo "${_n##*/}"
	done
}

stat_of() {
	awk -v k="$2" '$1 == k { print $2 }' "$D/$1/stats"
}

# misuse_in_types: coherent buffers of awkward sizes, then a driver's
# mistakes, in every type, on the first edu device. A double unmap must not give two live mappings one IOVA (6.1's
# intel-iommu reports absent entries as unmapped), and an unmap of
# DMA_MAPPING_ERROR must not reach the IOMMU driver (its BUG_ON beyond the
# domain's width); both are refused, counted in bad_unmaps, leave nothing
# mapped, and the device's DMA goes on. Leaves the device bound, in DMA.
misuse_in_types() {
	for _mt in $TYPES; do
		unbind "$EDU"
		if ! _ee=$(write_err "$D/$EDU/type" "$_mt") || ! bind "$EDU" xiova_edu; then
			xt_fail "coherent-and-misuse-$_mt" "cannot bind $EDU in $_mt: $_ee"
			continue
		fi
		_mb=$(stat_of "$EDU" bad_unmaps)
		_mdir=$(edu_dir "$EDU") || _mdir=/nonexistent
		_mwhy=''
		for _mw in double-unmap error-unmap; do
			_ee=$(write_err "$_mdir/misuse" "$_mw") ||
				_mwhy="$_mwhy $_mw: ${_ee:-failed};"
		done
		# Coherent buffers: 8 MiB (beyond one block of the page
		# allocator), three pages and a byte, 2 MiB and a page.
		for _ms in 8388608 12289 2101248; do
			_ee=$(write_err "$_mdir/coherent" "$_ms") ||
				_mwhy="$_mwhy coherent $_ms: ${_ee:-failed};"
		done
		_md=$(($(stat_of "$EDU" bad_unmaps) - _mb))
		[ "$_md" -eq 2 ] || _mwhy="$_mwhy bad_unmaps +$_md, expected +2;"
		[ "$(stat_of "$EDU" live_mappings)" -eq 0 ] ||
			_mwhy="$_mwhy $(stat_of "$EDU" live_mappings) mappings left;"
		_edu_run_check 4 || _mwhy="$_mwhy then: $_edu_why"
		if [ -z "$_mwhy" ]; then
			xt_pass "coherent-and-misuse-$_mt"
		else
			xt_fail "coherent-and-misuse-$_mt" "$_mwhy"
		fi
	done
	unbind "$EDU"
	write_err "$D/$EDU/type" DMA >/dev/null
	bind "$EDU" xiova_edu
}

# short_bdf BDF: the address with no leading zeros ("0:0:3.0").
short_bdf() {
	_sb_ifs=$IFS
	IFS=':.'
	# shellcheck disable=SC2086 # split on the separators, on purpose
	set -- $1
	IFS=$_sb_ifs
	printf '%x:%x:%x.%x\n' "0x$1" "0x$2" "0x$3" "0x$4"
}

# remove_rescan: the first edu device removed from the bus while attached,
# once unbound and once with its driver bound (the removal unbinds it
# first), leaves the shim (no debugfs directory, no devices line), comes
# back new on a rescan, attaches again and works. Then a detach and an
# attach in the short spelling of its address find it. Leaves it bound.
remove_rescan() {
	for _rb in unbound bound; do
		_rwhy=''
		[ "$_rb" = unbound ] && unbind "$EDU"
		echo 1 >"/sys/bus/pci/devices/$EDU/remove"
		[ ! -e "$D/$EDU" ] || _rwhy="$_rwhy $D/$EDU still there;"
		! grep -q "^$EDU " "$D/devices" || _rwhy="$_rwhy still in devices;"
		echo 1 >/sys/bus/pci/rescan
		_n=0
		while [ ! -e "/sys/bus/pci/devices/$EDU" ] && [ "$_n" -lt 100 ]; do
			_n=$((_n + 1))
			usleep 100000
		done
		# xiova_edu is loaded, so the new device's probe binds it.
		unbind "$EDU"
		if ! _ee=$(write_err "$D/attach" "$EDU DMA"); then
			_rwhy="$_rwhy attach after rescan: $_ee;"
		elif ! bind "$EDU" xiova_edu; then
			_rwhy="$_rwhy no bind after rescan;"
		elif ! _edu_run_check 4; then
			_rwhy="$_rwhy then: $_edu_why;"
		fi
		if [ -z "$_rwhy" ]; then
			xt_pass "remove-rescan-$_rb"
		else
			xt_fail "remove-rescan-$_rb" "$_rwhy"
		fi
	done
	unbind "$EDU"
	_sb=$(short_bdf "$EDU")
	expect_ok detach-short-address "$D/detach" "$_sb"
	expect_ok attach-short-address "$D/attach" "$_sb DMA"
	bind "$EDU" xiova_edu
}

# ------------------------------------------------------------- devices

find_devices() {
	NVME=$(io_blk_pci nvme)
	EDUS=$(edu_all)
	EDU=${EDUS%% *}
	# shellcheck disable=SC2046 # "IF PCI IF PCI", split on purpose
	set -- $(io_net_find e1000)
	NETA=$2 NETB=$4
	group_driverless
	SHARED=$(shared_group_device)
	echo "devices: nvme=$NVME edu=$EDUS e1000=$NETA,$NETB shared-group=$SHARED"
	DEVICES="$NVME:nvme $NETA:e1000 $NETB:e1000"
	for _e in $EDUS; do
		DEVICES="$DEVICES $_e:xiova_edu"
	done
	[ -n "$NVME" ] && [ -n "$EDU" ] && [ -n "$NETA" ] && [ -n "$NETB" ]
}

# The edu devices, one per word.
edu_all() {
	for _e in /sys/bus/pci/devices/*; do
		[ "$(cat "$_e/vendor"):$(cat "$_e/device")" = "$EDU_ID" ] && printf '%s ' "${_e##*/}"
	done
}

# virtio-iommu (6.1) gives a device its IOMMU group only when a driver
# binds it: the driverless test device's functions are bound to
# pci-stub and unbound again, which leaves the groups in place.
group_driverless() {
	stub=/sys/bus/pci/drivers/pci-stub
	modprobe pci-stub 2>/dev/null
	[ -d "$stub" ] || return 0
	echo "1b36 0005" >"$stub/new_id"
	echo "1b36 0005" >"$stub/remove_id"
	for _l in "$stub"/0000:*; do
		[ -e "$_l" ] && echo "${_l##*/}" >"$stub/unbind"
	done
	return 0
}

# A device whose IOMMU group holds others too (functions without ACS).
shared_group_device() {
	for _g in /sys/kernel/iommu_groups/*; do
		set -- "$_g"/devices/*
		[ "$#" -gt 1 ] || continue
		for _dev; do
			_b=${_dev##*/}
			[ "$(cat "/sys/bus/pci/devices/$_b/class")" = 0x060400 ] && continue
			echo "$_b"
			return
		done
	done
}

# ------------------------------------------------------------- checks

# attach_all TYPE: every device under test unbound, attached, bound again.
attach_all() {
	for _a in $DEVICES; do
		_bdf=${_a%:*} _drv=${_a##*:}
		unbind "$_bdf"
		expect_ok "attach-$_drv-$_bdf" "$D/attach" "$_bdf $1"
		# Nothing is mapped yet: the tree holds the reserved ranges only.
		stat_of "$_bdf" tree_nodes >"/tmp/reserved.$_bdf"
		bind "$_bdf" "$_drv" || xt_fail "bind-$_drv-$_bdf" "not ready after 10 s"
	done
}

# set_type_all TYPE: unbind, change the type, bind, for every device.
set_type_all() {
	for _a in $DEVICES; do
		_bdf=${_a%:*} _drv=${_a##*:}
		unbind "$_bdf"
		expect_ok "type-$1-$_drv-$_bdf" "$D/$_bdf/type" "$1"
		bind "$_bdf" "$_drv" || xt_fail "bind-$_drv-$_bdf" "not ready after 10 s"
	done
}

# check_shape NAME BDF TYPE: the queues the stats report match TYPE.
check_shape() {
	_t=$(stat_of "$2" type) _r=$(stat_of "$2" fq_rings)
	_s=$(stat_of "$2" fq_ring_size) _ms=$(stat_of "$2" fq_timeout_ms)
	case $3 in
	DMA) _want="0 0 0" ;;
	DMA-FQ) _want="$NCPU 256 10" ;;
	DMA-SQ) _want="1 32768 1000" ;;
	esac
	if [ "$_t" = "$3" ] && [ "$_r $_s $_ms" = "$_want" ]; then
		xt_pass "$1"
	else
		xt_fail "$1" "type $_t rings/size/timeout '$_r $_s $_ms', expected $3 '$_want'"
	fi
}

# mapped_through NAME BDF BEFORE: the shim's map count of BDF went up.
mapped_through() {
	_m=$(stat_of "$2" maps)
	if [ "$_m" -gt "$3" ]; then
		xt_pass "$1"
	else
		xt_fail "$1" "maps $3 -> $_m: the I/O did not go through the shim"
	fi
}

# In each type, every edu device runs its transfers in the background
# while nvme and the NICs do their I/O: all of them through the shim at
# once.
io_in_type() {
	t=$1
	for b in "$NVME" "$EDU" "$NETA"; do
		check_shape "shape-$t-$b" "$b" "$t"
	done
	for b in $EDUS; do
		stat_of "$b" maps >"/tmp/maps.$b"
		(EDU_BDF=$b edu_run "edu-$t-$b" "$EDU_ROUNDS") &
	done
	m0=$(stat_of "$NVME" maps)
	io_blk_verify "nvme-io-$t" "$(nvme_disk "$NVME")" "$BLK_MIB"
	mapped_through "nvme-via-shim-$t" "$NVME" "$m0"
	m0=$(stat_of "$NETA" maps)
	io_net_verify "e1000-$t" "$(net_if "$NETA")" "$(net_if "$NETB")" "$NET_FRAMES"
	mapped_through "e1000-via-shim-$t" "$NETA" "$m0"
	wait
	for b in $EDUS; do
		mapped_through "edu-via-shim-$t-$b" "$b" "$(cat "/tmp/maps.$b")"
	done
}

# The single queue holds up to 32767 unmapped ranges, more than the
# 16384 four-page ranges that fit under the edu device's 28-bit mask: 40000
# scatterlist maps and unmaps in a row succeed only if a failed allocation
# takes the queued ranges back (the edu driver's bench loop, no transfer).
# Not on virtio-iommu: every map there is a request to the emulated
# device (3 ms a map and unmap on the debug kernel), so the queue's 1 s
# timer empties it long before 16384 ranges are queued.
sq_reclaim() {
	case $XIOVA_FLAVOUR in
	*virtio*)
		xt_skip sq-reclaim-on-exhaustion "virtio-iommu maps too slowly to fill the queue within its timer"
		;;
	*)
		expect_ok sq-reclaim-on-exhaustion "/sys/kernel/debug/xiova_edu/$EDU/bench" "40000 sg"
		;;
	esac
}

# The four pages of a bench list are not adjacent in memory but follow
# each other in the list's IOVA range: map_sg must hand them back as one
# DMA segment, as dma-iommu does (the edu driver's bench loop).
sg_merged() {
	_r=$({ echo "64 sg" >&3 && cat <&3; } 3<>"/sys/kernel/debug/xiova_edu/$EDU/bench") ||
		{ xt_fail "$1" "bench 64 sg failed"; return; }
	case " $_r " in
	*" max_segs=1 "*) xt_pass "$1" ;;
	*) xt_fail "$1" "expected max_segs=1: $_r" ;;
	esac
}

# The kernel's rules: strict to lazy live; nothing else while bound. The
# queue built live must have the shape of the type asked for (the type is
# recorded before the queue is set up).
live_type_rules() {
	unbind "$NVME"
	expect_ok live-prepare-strict "$D/$NVME/type" DMA
	bind "$NVME" nvme
	expect_ok live-DMA-to-DMA-SQ "$D/$NVME/type" DMA-SQ
	check_shape type-set-before-fq-init-DMA-SQ "$NVME" DMA-SQ
	io_blk_verify live-io-DMA-SQ "$(nvme_disk "$NVME")" 4
	expect_err live-DMA-SQ-to-DMA-refused "$D/$NVME/type" DMA "Device or resource busy"
	expect_err live-DMA-SQ-to-DMA-FQ-refused "$D/$NVME/type" DMA-FQ "Device or resource busy"
	unbind "$NVME"
	expect_ok live-back-to-strict "$D/$NVME/type" DMA
	bind "$NVME" nvme
	expect_ok live-DMA-to-DMA-FQ "$D/$NVME/type" DMA-FQ
	check_shape type-set-before-fq-init-DMA-FQ "$NVME" DMA-FQ
	io_blk_verify live-io-DMA-FQ "$(nvme_disk "$NVME")" 4
	expect_ok live-same-type "$D/$NVME/type" DMA-FQ
}

# Refusals before anything is attached.
bad_attach() {
	expect_err attach-bound-driver "$D/attach" "$NVME" "Device or resource busy"
	if [ "$(driver_of "$NVME")" = nvme ]; then
		xt_pass attach-bound-driver-untouched
	else
		xt_fail attach-bound-driver-untouched "nvme lost its driver"
	fi
	expect_err attach-garbage "$D/attach" "not-a-device" "Invalid argument"
	expect_err attach-bad-type "$D/attach" "$NVME DMA-XX" "Invalid argument"
	expect_err attach-no-such-device "$D/attach" "0000:00:1f.7" "No such device"
	expect_err attach-overlong "$D/attach" "$(printf '%0100d' 0)" "Invalid argument"
	expect_err detach-garbage "$D/detach" "0000:zz:00.0" "Invalid argument"
	if [ -n "$SHARED" ]; then
		unbind "$SHARED"
		expect_err attach-shared-group "$D/attach" "$SHARED" "Invalid argument"
	else
		xt_fail attach-shared-group "no device in a multi-device IOMMU group"
	fi
	# Known to the kernel, not attached: the host bridge.
	expect_err detach-not-attached "$D/detach" "0000:00:00.0" "No such file or directory"
}

# Random bytes (with a NUL in them, so never a valid line) written to
# every file that takes writes: refused, and nothing changes.
binary_writes() {
	{ head -c 47 /dev/urandom; printf '\0'; } >/tmp/junk
	before="$(cat "$D/devices") $(cat "$D/$NVME/type")"
	for f in attach detach "$NVME/type"; do
		if cat /tmp/junk 2>/dev/null >"$D/$f"; then
			xt_fail "binary-write-${f##*/}" "48 random bytes accepted"
		else
			xt_pass "binary-write-${f##*/}"
		fi
	done
	if [ "$(cat "$D/devices") $(cat "$D/$NVME/type")" = "$before" ]; then
		xt_pass binary-writes-changed-nothing
	else
		xt_fail binary-writes-changed-nothing "devices or type changed"
	fi
}

# Refusals once the devices are attached and their drivers bound.
bad_attached() {
	expect_err attach-twice "$D/attach" "$EDU DMA" "File exists"
	expect_err detach-bound-driver "$D/detach" "$NVME" "Device or resource busy"
	expect_err type-garbage "$D/$NVME/type" "dma" "Invalid argument"
	expect_err type-empty "$D/$NVME/type" "" "Invalid argument"
	binary_writes
	if rmmod xiova_dma 2>/dev/null; then
		xt_fail rmmod-while-attached "xiova_dma unloaded with devices attached"
	else
		xt_pass rmmod-while-attached
	fi
}

# kernel_612: Debian 12's second kernel or later, whose iommu_group type
# attribute refuses only groups with a bound driver.
kernel_612() {
	_v=$(uname -r)
	_maj=${_v%%.*} _min=${_v#*.}
	_min=${_min%%[!0-9]*}
	[ "$_maj" -gt 6 ] || { [ "$_maj" -eq 6 ] && [ "$_min" -ge 12 ]; }
}

# attached_as BDF: the shim's type of BDF, nothing if not attached.
attached_as() {
	awk -v b="$1" '$1 == b { print $2 }' "$D/devices"
}

# The kernel's own attribute on a group in the shim's domain, bound: the
# kernel refuses (6.1: the group is not on its default domain; 6.12: a
# driver is bound), except 6.12's DMA to DMA-FQ of the default domain,
# which leaves the shim's domain alone. The device stays attached.
group_type_bound() {
	if kernel_612; then _err="Operation not permitted"; else _err="Device or resource busy"; fi
	for t in DMA identity auto; do
		expect_err "group-type-$t-bound" "$1/type" "$t" "$_err"
	done
	if kernel_612; then
		write_err "$1/type" DMA-FQ >/dev/null
	else
		expect_err group-type-DMA-FQ-bound "$1/type" DMA-FQ "$_err"
	fi
	_m=$(stat_of "$NVME" maps)
	io_blk_verify group-type-io-bound "$(nvme_disk "$NVME")" 4
	mapped_through group-type-bound-still-mapped-by-shim "$NVME" "$_m"
}

# 6.1 refuses on an unbound device too. 6.12 replaces the shim's domain:
# a detach must leave the device as the kernel set it up for the new
# domain, and the next driver must get the kernel's DMA API (not the
# shim's ops into a domain the device left: dma_set_mask's WARN), the shim
# letting the device go. It is attached again as it was.
group_type_unbound() {
	_was=$(attached_as "$NVME") _gt=$(cat "$1/type")
	unbind "$NVME"
	if ! kernel_612; then
		for t in DMA DMA-FQ identity auto; do
			expect_err "group-type-$t-unbound" "$1/type" "$t" "Device or resource busy"
		done
		bind "$NVME" nvme
		return
	fi
	expect_ok group-type-identity-unbound "$1/type" identity
	expect_ok group-type-replaced-detach "$D/detach" "$NVME"
	bind "$NVME" nvme || xt_fail group-type-replaced-detach-bind "nvme not ready after 10 s"
	io_blk_verify group-type-replaced-detach-io "$(nvme_disk "$NVME")" 4
	unbind "$NVME"
	expect_ok group-type-attach-identity-default "$D/attach" "$NVME $_was"
	expect_ok group-type-DMA-unbound "$1/type" DMA
	bind "$NVME" nvme || xt_fail group-type-replaced-bind "nvme not ready after 10 s"
	_n=0
	while [ -n "$(attached_as "$NVME")" ] && [ "$_n" -lt 100 ]; do
		_n=$((_n + 1))
		usleep 100000
	done
	if [ -z "$(attached_as "$NVME")" ] && [ "$(cat "$1/type")" = DMA ]; then
		xt_pass group-type-replaced-leaves-shim
	else
		xt_fail group-type-replaced-leaves-shim "still attached as '$(attached_as "$NVME")', group type $(cat "$1/type")"
	fi
	io_blk_verify group-type-replaced-io "$(nvme_disk "$NVME")" 4
	unbind "$NVME"
	expect_ok group-type-restored "$1/type" "$_gt"
	expect_ok group-type-reattach "$D/attach" "$NVME $_was"
	bind "$NVME" nvme || xt_fail group-type-reattach-bind "nvme not ready after 10 s"
}

kernel_group_type() {
	g=$(readlink "/sys/bus/pci/devices/$NVME/iommu_group")
	g=/sys/kernel/iommu_groups/${g##*/}
	group_type_bound "$g"
	group_type_unbound "$g"
	io_blk_verify group-type-io-after "$(nvme_disk "$NVME")" 4
}

# CYCLES times: unbind, next type, bind, verified I/O. The type order
# DMA DMA-FQ DMA-SQ DMA DMA-SQ DMA-FQ covers every ordered pair.
type_cycles() {
	order="DMA-FQ DMA-SQ DMA DMA-SQ DMA-FQ DMA"
	head -c 65536 /dev/urandom >/tmp/cycle.pat
	want=$(md5sum </tmp/cycle.pat)
	i=0 bad=0 why=''
	start=$(date +%s)
	while [ "$i" -lt "$CYCLES" ]; do
		# shellcheck disable=SC2086 # a list of words
		set -- $order
		shift $((i % 6))
		t=$1
		unbind "$NVME"
		if ! err=$(write_err "$D/$NVME/type" "$t"); then
			bad=$((bad + 1)) why="cycle $i: type $t: $err"
		elif ! bind "$NVME" nvme; then
			bad=$((bad + 1)) why="cycle $i: nvme not ready after bind"
			break
		elif ! why_io=$(cycle_io "$(nvme_disk "$NVME")" "$i" "$want"); then
			bad=$((bad + 1)) why="cycle $i ($t): $why_io"
		fi
		i=$((i + 1))
	done
	echo "type cycles: $i in $(($(date +%s) - start)) s, $bad failed"
	if [ "$bad" -eq 0 ] && [ "$i" -eq "$CYCLES" ]; then
		xt_pass "type-cycles-$CYCLES"
	else
		xt_fail "type-cycles-$CYCLES" "$bad failed; last: $why"
	fi
}

# One 64 KiB block at an offset that moves with the cycle, O_DIRECT; the
# disk is looked up again each time, since a rebound controller may get a
# new instance number. Says what went wrong.
cycle_io() {
	off=$(($2 % 256))
	if [ -z "$1" ]; then
		echo "no nvme disk"
		return 1
	fi
	if ! err=$(dd if=/tmp/cycle.pat of="$1" bs=65536 seek="$off" oflag=direct 2>&1); then
		echo "write to $1 failed: $(echo "$err" | head -n 1)"
		return 1
	fi
	got=$(dd if="$1" bs=65536 skip="$off" count=1 iflag=direct 2>/dev/null | md5sum)
	if [ "$got" != "$3" ]; then
		echo "$1 block $off differs after write and read"
		return 1
	fi
}

# iovas_accounted BDF: every IOVA the device had is back in the allocator:
# the tree holds the reserved ranges (counted at attach) and the ranges
# cached in magazines (127 per depot magazine), nothing else. The depot
# trim may move ranges meanwhile, so a mismatch is read again.
iovas_accounted() {
	_st=/sys/kernel/debug/xiova/domain$(stat_of "$1" xiova_domain)/stats
	_want=$(cat "/tmp/reserved.$1")
	for _try in 1 2 3 4 5; do
		_got=$(awk '
			$1 == "tree_nodes:" { t = $2 }
			$1 == "class" { for (i = 1; i <= NF; i++) c[$i] = i }
			$1 == "total" { print t - $c["cpu_pfns"] - 127 * $c["depot"] }' "$_st")
		[ "$_got" = "$_want" ] && return 0
		sleep 0.3
	done
	echo "$1: $_got tree nodes neither cached nor reserved, $_want reserved"
	return 1
}

detach_all() {
	for _a in $DEVICES; do
		_bdf=${_a%:*} _drv=${_a##*:}
		unbind "$_bdf"
		live=$(stat_of "$_bdf" live_mappings)
		if [ "$live" = 0 ]; then
			xt_pass "no-mappings-left-$_bdf"
		else
			xt_fail "no-mappings-left-$_bdf" "$live mappings live after unbind"
		fi
		# Strict empties the flush queues into the allocator.
		write_err "$D/$_bdf/type" DMA >/dev/null
		xt_check "iovas-accounted-$_bdf" iovas_accounted "$_bdf"
		expect_ok "detach-$_drv-$_bdf" "$D/detach" "$_bdf"
		bind "$_bdf" "$_drv" || xt_fail "rebind-$_drv-$_bdf" "not ready after 10 s"
	done
	if [ -z "$(cat "$D/devices")" ]; then
		xt_pass devices-empty
	else
		xt_fail devices-empty "still listed: $(cat "$D/devices")"
	fi
	io_blk_verify nvme-io-default-domain "$(nvme_disk "$NVME")" 4
	edu_run edu-default-domain 4
}

unload() {
	xt_check unload-xiova_dma rmmod xiova_dma
	xt_check unload-xiova rmmod xiova
	if grep -qE '^xiova_(node|magazine) ' /proc/slabinfo; then
		xt_fail slabs-gone "xiova caches still in /proc/slabinfo"
	else
		xt_pass slabs-gone
	fi
}

main() {
	# Devices are exercised in parallel here, and the console interleaves
	# kernel and user lines mid-line: informational kernel lines (probes,
	# links, edu runs) would split the markers. Warnings and worse, every
	# report the judge looks for, still reach the console.
	dmesg -n 5
	echo "flavour=$XIOVA_FLAVOUR kernel=$(uname -r) cpus=$NCPU cycles=$CYCLES"
	xt_check load-xiova_dma modprobe xiova_dma
	xt_check load-xiova_edu modprobe xiova_edu
	if ! find_devices; then
		xt_fail devices "nvme, edu and two e1000 expected"
		return 1
	fi
	xt_pass devices
	bad_attach
	attach_all DMA
	bad_attached
	for t in $TYPES; do
		[ "$t" = DMA ] || set_type_all "$t"
		io_in_type "$t"
		sg_merged "sg-entries-merged-$t"
	done
	sq_reclaim
	live_type_rules
	kernel_group_type
	unbind "$EDU"
	expect_ok edu-strict-for-fault "$D/$EDU/type" DMA
	bind "$EDU" xiova_edu
	edu_fault edu-fault
	misuse_in_types
	remove_rescan
	type_cycles
	detach_all
	unload
	if [ -w /sys/kernel/debug/kmemleak ]; then
		xt_check kmemleak-clean kmemleak_clean
	fi
}

main
