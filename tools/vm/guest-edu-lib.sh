#!/bin/sh
# shellcheck shell=sh
# Helpers for guest scripts that drive tools/edu/xiova_edu.ko, the DMA API
# exerciser for QEMU's edu device (busybox sh). Installed in the image as
# /lib/xiova/guest-edu-lib.sh; source it after guest-lib.sh:
#
#   . /lib/xiova/guest-lib.sh
#   . /lib/xiova/guest-edu-lib.sh
#   modprobe xiova_edu
#   edu_run edu-run 20          # one marker: xt_pass/xt_fail edu-run
#   xt_check edu-unbind edu_unbind
#   xt_check edu-bind edu_bind
#   edu_fault edu-fault         # one marker
#   edu_kill edu-kill           # one marker: a killed writer stops
#   edu_unbind_busy edu-busy    # one marker: unbind in the middle of a run
#
# The module has no device table, so coldplug never loads it: "modprobe
# xiova_edu" binds the first free edu device. Each edu transfer takes
# 100 ms, and a round trip two to eight transfers: keep counts small.
#
# The kernel log is read (dmesg | grep -c) but never printed: the judge
# reads the console.

EDU_ID=0x1234:0x11e8
EDU_DRIVER=/sys/bus/pci/drivers/xiova_edu
EDU_DEBUGFS=/sys/kernel/debug/xiova_edu
# A round trip moves 1..4096 bytes each way in 2..8 transfers (4096 bytes
# go through the device in two halves).
EDU_MAX_SIZE=4096
EDU_MAX_TRANSFERS=8
# How long edu_fault waits for the IOMMU's report, in tenths of a second.
EDU_FAULT_WAIT=50

# edu_find: prints the sysfs path of the first edu device.
edu_find() {
	for _edu_d in /sys/bus/pci/devices/*; do
		[ -r "$_edu_d/vendor" ] || continue
		if [ "$(cat "$_edu_d/vendor"):$(cat "$_edu_d/device")" = "$EDU_ID" ]; then
			echo "$_edu_d"
			return 0
		fi
	done
	echo "edu: no PCI device $EDU_ID (QEMU needs -device edu)" >&2
	return 1
}

# edu_bdf: prints the PCI address (0000:00:03.0) of the first edu device.
edu_bdf() {
	_edu_d=$(edu_find) || return 1
	echo "${_edu_d##*/}"
}

# edu_dir [BDF]: prints the device's debugfs directory, if the driver is
# bound to it.
edu_dir() {
	_edu_b=${1:-$(edu_bdf)} || return 1
	if [ ! -d "$EDU_DEBUGFS/$_edu_b" ]; then
		echo "edu: no $EDU_DEBUGFS/$_edu_b (xiova_edu not bound?)" >&2
		return 1
	fi
	echo "$EDU_DEBUGFS/$_edu_b"
}

# edu_bound [BDF]: true if xiova_edu drives the device and its debugfs
# directory is there.
edu_bound() {
	_edu_b=${1:-$(edu_bdf)} || return 1
	_edu_drv=$(readlink "/sys/bus/pci/devices/$_edu_b/driver" 2>/dev/null)
	if [ "${_edu_drv##*/}" != xiova_edu ]; then
		echo "edu: $_edu_b is bound to '${_edu_drv##*/}', not xiova_edu" >&2
		return 1
	fi
	edu_dir "$_edu_b" >/dev/null
}

# edu_unbind [BDF]: unbinds xiova_edu; fails unless the device is left
# without a driver and its debugfs directory is gone.
edu_unbind() {
	_edu_b=${1:-$(edu_bdf)} || return 1
	echo "$_edu_b" >"$EDU_DRIVER/unbind" || return 1
	if [ -e "/sys/bus/pci/devices/$_edu_b/driver" ]; then
		echo "edu: $_edu_b still has a driver after unbind" >&2
		return 1
	fi
	if [ -e "$EDU_DEBUGFS/$_edu_b" ]; then
		echo "edu: $EDU_DEBUGFS/$_edu_b still there after unbind" >&2
		return 1
	fi
}

# edu_bind [BDF]: binds xiova_edu; fails unless it then drives the device.
edu_bind() {
	_edu_b=${1:-$(edu_bdf)} || return 1
	echo "$_edu_b" >"$EDU_DRIVER/bind" || return 1
	edu_bound "$_edu_b"
}

# edu_counter RESULTS KEY: prints KEY's value from a copy of "results".
edu_counter() {
	printf '%s\n' "$1" | sed -n "s/^$2 \([0-9][0-9]*\)\$/\1/p"
}

# _edu_delta KEY: how far KEY moved from $_edu_before to $_edu_after.
_edu_delta() {
	_edu_v0=$(edu_counter "$_edu_before" "$1")
	_edu_v1=$(edu_counter "$_edu_after" "$1")
	[ -n "$_edu_v0" ] && [ -n "$_edu_v1" ] && echo $((_edu_v1 - _edu_v0))
}

# Uptime in hundredths of a second.
_edu_centisecs() {
	read -r _edu_up _edu_idle </proc/uptime
	echo "${_edu_up%.*}${_edu_up#*.}" | sed 's/^0*\(.\)/\1/'
}

# _edu_run_check ROUNDTRIPS [SEED]: runs them on the edu device $EDU_BDF
# (default: the first one) and checks the counters; on failure sets
# _edu_why and returns 1. Prints one line with the counts and the time
# taken.
_edu_run_check() {
	_edu_n=$1 _edu_seed=${2:-} _edu_why=''
	if ! _edu_dir=$(edu_dir ${EDU_BDF:+"$EDU_BDF"}); then
		_edu_why="xiova_edu is not bound to an edu device"
		return 1
	fi
	_edu_before=$(cat "$_edu_dir/results") || {
		_edu_why="cannot read results"
		return 1
	}
	_edu_t0=$(_edu_centisecs)
	# The shell's own message (e.g. "write error: I/O error") is the reason.
	if ! _edu_err=$({ echo "$_edu_n${_edu_seed:+ $_edu_seed}" >"$_edu_dir/run"; } 2>&1); then
		_edu_why="run $_edu_n failed: ${_edu_err:-write error} (the kernel log names the round trip)"
		return 1
	fi
	_edu_t1=$(_edu_centisecs)
	_edu_after=$(cat "$_edu_dir/results") || {
		_edu_why="cannot read results"
		return 1
	}
	if ! { _edu_d_round_trips=$(_edu_delta round_trips) &&
		_edu_d_transfers=$(_edu_delta transfers) &&
		_edu_d_bytes=$(_edu_delta bytes) &&
		_edu_d_mismatches=$(_edu_delta mismatches) &&
		_edu_d_timeouts=$(_edu_delta timeouts) &&
		_edu_d_map_errors=$(_edu_delta map_errors); }; then
		_edu_why="results lacks a counter: $(echo "$_edu_after" | tr '\n' ' ')"
		return 1
	fi
	_edu_ms=$(((_edu_t1 - _edu_t0) * 10))
	echo "edu${EDU_BDF:+ $EDU_BDF}: $_edu_n round trips, $_edu_d_transfers transfers, $_edu_d_bytes bytes in $_edu_ms ms ($((_edu_ms / _edu_n)) ms per round trip)"
	if [ "$_edu_d_round_trips" -ne "$_edu_n" ]; then
		_edu_why="round_trips moved by $_edu_d_round_trips, expected $_edu_n"
	elif [ "$_edu_d_transfers" -lt $((2 * _edu_n)) ] ||
		[ "$_edu_d_transfers" -gt $((EDU_MAX_TRANSFERS * _edu_n)) ]; then
		_edu_why="transfers moved by $_edu_d_transfers, expected $((2 * _edu_n))..$((EDU_MAX_TRANSFERS * _edu_n))"
	elif [ "$_edu_d_bytes" -lt $((2 * _edu_n)) ] ||
		[ "$_edu_d_bytes" -gt $((2 * EDU_MAX_SIZE * _edu_n)) ]; then
		_edu_why="bytes moved by $_edu_d_bytes, expected $((2 * _edu_n))..$((2 * EDU_MAX_SIZE * _edu_n))"
	elif [ "$_edu_d_mismatches" -ne 0 ] || [ "$_edu_d_timeouts" -ne 0 ] ||
		[ "$_edu_d_map_errors" -ne 0 ]; then
		_edu_why="mismatches +$_edu_d_mismatches, timeouts +$_edu_d_timeouts, map_errors +$_edu_d_map_errors"
	fi
	[ -z "$_edu_why" ]
}

# edu_run NAME ROUNDTRIPS [SEED]: one marker for NAME. Passes when the
# write succeeded, round_trips moved by ROUNDTRIPS, transfers and bytes by
# plausible amounts, and mismatches, timeouts and map_errors did not move.
edu_run() {
	_edu_name=$1
	shift
	if _edu_run_check "$@"; then
		xt_pass "$_edu_name"
	else
		xt_fail "$_edu_name" "$_edu_why"
	fi
}

# edu_fault_regex BDF: an ERE for the kernel's report of a DMA fault by
# that device: intel-iommu ("DMAR: [DMA Read NO_PASID] Request device
# [00:03.0] fault addr 0x... [fault reason 0x..] ...") or virtio-iommu
# ("page fault from EP 24 at 0x... [R]", EP being the PCI requester ID).
edu_fault_regex() {
	_edu_bus=${1#*:}
	_edu_bus=${_edu_bus%%:*}
	_edu_slot=${1##*:}
	_edu_fn=${_edu_slot#*.}
	_edu_slot=${_edu_slot%.*}
	_edu_rid=$((0x$_edu_bus * 256 + 0x$_edu_slot * 8 + _edu_fn))
	printf '%s\n' "DMAR: \\[DMA (Read|Write)[^]]*\\] Request device \\[$_edu_bus:$_edu_slot\\.$_edu_fn\\] fault addr|(page|domain|unknown) fault from EP $_edu_rid( |\$)"
}

# Prints the count, also when it is 0 (grep -c then fails).
_edu_count_faults() {
	dmesg | grep -c -E "$1" || :
}

# edu_fault NAME [ROUNDTRIPS]: one marker for NAME. Has the device read
# from an unmapped bus address, then passes when the IOMMU reported the
# fault (a new matching kernel log line within 5 s) and a following run of
# ROUNDTRIPS (default 4, one per method) still passes.
edu_fault() {
	_edu_name=$1 _edu_rounds=${2:-4}
	if ! _edu_b=$(edu_bdf) || ! _edu_dir=$(edu_dir "$_edu_b"); then
		xt_fail "$_edu_name" "xiova_edu is not bound to an edu device"
		return
	fi
	_edu_re=$(edu_fault_regex "$_edu_b")
	_edu_f0=$(_edu_count_faults "$_edu_re")
	if ! _edu_err=$({ echo 1 >"$_edu_dir/fault"; } 2>&1); then
		xt_fail "$_edu_name" "fault write failed: ${_edu_err:-write error}"
		return
	fi
	_edu_i=0
	while _edu_f1=$(_edu_count_faults "$_edu_re") && [ "$_edu_f1" -le "$_edu_f0" ]; do
		if [ "$_edu_i" -ge "$EDU_FAULT_WAIT" ]; then
			xt_fail "$_edu_name" "no IOMMU fault reported for $_edu_b"
			return
		fi
		sleep 0.1
		_edu_i=$((_edu_i + 1))
	done
	echo "edu: the IOMMU reported the fault after ~$((_edu_i * 100)) ms"
	if _edu_run_check "$_edu_rounds"; then
		xt_pass "$_edu_name"
	else
		xt_fail "$_edu_name" "after the fault: $_edu_why"
	fi
}

# _edu_start_run ROUNDTRIPS: starts a run in a background shell, whose PID
# goes to _edu_bg.
_edu_start_run() {
	_edu_dir=$(edu_dir) || return 1
	sh -c 'echo "$1" >"$2/run"' sh "$1" "$_edu_dir" &
	_edu_bg=$!
}

# _edu_end_run LIMIT_CS: waits for the background run; fails (setting
# _edu_why) if it took more than LIMIT_CS hundredths of a second from
# $_edu_t0 or ended with status 0.
_edu_end_run() {
	wait "$_edu_bg"
	_edu_rc=$?
	_edu_cs=$(($(_edu_centisecs) - _edu_t0))
	if [ "$_edu_rc" -eq 0 ]; then
		_edu_why="the run was not interrupted"
	elif [ "$_edu_cs" -gt "$1" ]; then
		_edu_why="the run took $((_edu_cs * 10)) ms to stop"
	else
		echo "edu: the run stopped after $((_edu_cs * 10)) ms (status $_edu_rc)"
		return 0
	fi
	return 1
}

# edu_kill NAME: one marker for NAME. SIGKILLs a writer of a long run
# after a second; passes when it dies within 2 s (the driver checks for
# fatal signals between transfers) and a following run of 4 still passes.
edu_kill() {
	_edu_name=$1
	if ! _edu_start_run 1000; then
		xt_fail "$_edu_name" "xiova_edu is not bound to an edu device"
		return
	fi
	sleep 1
	_edu_t0=$(_edu_centisecs)
	kill -9 "$_edu_bg"
	if ! _edu_end_run 200; then
		xt_fail "$_edu_name" "$_edu_why"
	elif ! _edu_run_check 4; then
		xt_fail "$_edu_name" "after the kill: $_edu_why"
	else
		xt_pass "$_edu_name"
	fi
}

# edu_unbind_busy NAME: one marker for NAME. Unbinds the driver a second
# into a long run, then binds it again; passes when the unbind is done and
# the run stopped within 2 s, and a run of 4 after the bind passes.
edu_unbind_busy() {
	_edu_name=$1
	if ! _edu_bb=$(edu_bdf) || ! _edu_start_run 1000; then
		xt_fail "$_edu_name" "xiova_edu is not bound to an edu device"
		return
	fi
	sleep 1
	_edu_t0=$(_edu_centisecs)
	if ! edu_unbind "$_edu_bb"; then
		xt_fail "$_edu_name" "unbind during a run failed"
		kill -9 "$_edu_bg"
		wait "$_edu_bg"
		return
	fi
	if ! _edu_end_run 200; then
		xt_fail "$_edu_name" "$_edu_why"
	elif ! edu_bind "$_edu_bb"; then
		xt_fail "$_edu_name" "bind after the busy unbind failed"
	elif ! _edu_run_check 4; then
		xt_fail "$_edu_name" "after the rebind: $_edu_why"
	else
		xt_pass "$_edu_name"
	fi
}
