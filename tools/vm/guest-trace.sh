#!/bin/sh
# shellcheck shell=sh source-path=SCRIPTDIR
# Guest script of test-trace.sh (busybox sh, Debian kernel, intel-iommu):
# the xiova and xiova_dma tracepoints. Loads both modules, enables every
# event of both systems, runs a workload whose effect on the events is
# known (test domains through test/ctl: bursts on every CPU, three idle
# seconds for the depot trim, single allocations and frees, a forced
# flush-and-retry, a failure, an explicit flush, CPU 1 offline, destroy;
# then the nvme controller through xiova_dma, verified O_DIRECT I/O as
# DMA-FQ and as DMA, detach), and checks the trace with trace-check.awk.
# The workload writes markers into the trace (trace_marker) that tell the
# checker what it did; the checker also holds the events to invariants
# (every free matches a live allocation, every unmap a live map, depot
# sizes move one at a time, ...). One marker per check. Last, the checker
# must fail on a copy of the trace with a free and an unmap tampered with.
#
# Environment (run.sh -a KEY=value): TRACE_IO_MIB MiB verified on nvme
# as DMA-FQ (default 2; 1 as DMA), TRACE_DUMP=1 prints the trace at the
# end (gzip | xxd -p, between XIOVA-TRACE-BEGIN and XIOVA-TRACE-END), for
# running trace-check.awk on the host.

# shellcheck source=guest-lib.sh
. /lib/xiova/guest-lib.sh
# shellcheck source=guest-io-lib.sh
. /lib/xiova/guest-io-lib.sh

T=/sys/kernel/tracing
DBG=/sys/kernel/debug/xiova
CTL=$DBG/test/ctl
DMA=/sys/kernel/debug/xiova_dma
CHECKER=/xiova/trace-check.awk
TRACE=/tmp/xiova-trace.txt
CPU1=/sys/devices/system/cpu/cpu1/online
IO_MIB=${TRACE_IO_MIB:-2}
XIOVA_EVENTS="alloc free rcache_miss depot_push depot_pop depot_trim flush_all"
DMA_EVENTS="map unmap fq_flush"

# ------------------------------------------------------------- helpers

# mark TEXT...: a line in the trace, in order with the events.
mark() {
	echo "$*" >"$T/trace_marker"
}

# domain_id NAME: the xiova domain number of test domain NAME.
domain_id() {
	_di=$(readlink "$DBG/test/$1") || return 1
	echo "${_di##*domain}"
}

# mark_domain NAME ID: tells the checker where the domain starts.
mark_domain() {
	_md=$(awk -v id="$2" '$1 == id { print $3, $2 }' "$DBG/domains")
	[ -n "$_md" ] || return 1
	# shellcheck disable=SC2086 # start_pfn and granule, two words
	mark XIOVA-DOMAIN "$1" "$2" $_md
}

# class_misses STATS CLASS: the misses column of a class row.
class_misses() {
	awk -v c="$2" '$1 "" == c "" { print $4 }' "$1"
}

# ------------------------------------------------------------- setup

check_tracefs() {
	if [ ! -d "$T/events" ] || [ ! -w "$T/trace_marker" ]; then
		xt_fail trace-tracefs "no tracefs at $T"
		return 1
	fi
	xt_pass trace-tracefs
}

# check_events NAME SYSTEM EVENT...: each event has its directory, id and
# format, and its format names its fields.
check_events() {
	_ce_name=$1 _ce_sys=$2
	shift 2
	_ce_bad=''
	for _ce_ev in "$@"; do
		_ce_dir=$T/events/$_ce_sys/$_ce_ev
		if [ ! -r "$_ce_dir/id" ] || ! grep -q "^name: $_ce_ev\$" "$_ce_dir/format" 2>/dev/null; then
			_ce_bad="$_ce_bad $_ce_ev"
		fi
	done
	if [ -n "$_ce_bad" ]; then
		xt_fail "$_ce_name" "missing or malformed in events/$_ce_sys:$_ce_bad"
		return 1
	fi
	echo "events/$_ce_sys:" "$@"
	xt_pass "$_ce_name"
}

# A buffer large enough for the whole workload (about 12000 events), and
# both systems on. The checks follow a range from CPU to CPU (freed on
# one, handed out again on the other), so the order of the events must be
# the order of the operations. The counter clock, one atomic increment per
# event, gives that. The global clock does not: it stamps with each CPU's
# sched_clock and publishes the latest stamp only when a trylock succeeds,
# so a CPU's stamp can fall behind one the other CPU made earlier (CI saw
# 252 ranges handed out again before the trace showed their free).
start_tracing() {
	echo 0 >"$T/tracing_on" &&
		echo counter >"$T/trace_clock" &&
		echo 8192 >"$T/buffer_size_kb" &&
		echo >"$T/trace" &&
		echo 1 >"$T/events/xiova/enable" &&
		echo 1 >"$T/events/xiova_dma/enable" &&
		echo 1 >"$T/tracing_on" || return 1
	for _st_ev in $XIOVA_EVENTS; do
		[ "$(cat "$T/events/xiova/$_st_ev/enable")" = 1 ] || return 1
	done
	for _st_ev in $DMA_EVENTS; do
		[ "$(cat "$T/events/xiova_dma/$_st_ev/enable")" = 1 ] || return 1
	done
}

# ----------------------------------------------------------- workload

# 600 size-1 ranges allocated and freed, twice, on CPU $1 in domain $2:
# more than a CPU's two magazines hold, so that full ones go to the depot
# and the second round takes them back.
burst_on_cpu() {
	# shellcheck disable=SC2016 # expanded by the inner shell
	taskset -c "$1" sh -c '
		exec 3<>"$1"
		echo "burst $2 600 1 2" >&3 || exit 1
		read -r ops ns <&3
		echo "cpu$3: $ops allocations in $((ns / 1000000)) ms"' sh "$CTL" "$2" "$1"
}

burst_all_cpus() {
	_b_pids=''
	for _b_cpu in $(seq 0 $(($(nproc) - 1))); do
		burst_on_cpu "$_b_cpu" "$1" &
		_b_pids="$_b_pids $!"
	done
	_b_rc=0
	for _b_pid in $_b_pids; do
		wait "$_b_pid" || _b_rc=1
	done
	return "$_b_rc"
}

# Domains A (start pfn 1), B (start pfn 0x100) and C (the retry).
create_domains() {
	ctl create tra && ctl create trb 4096 0x100 && ctl create trc || return 1
	A=$(domain_id tra) && B=$(domain_id trb) && C=$(domain_id trc) ||
		return 1
	mark_domain tra "$A" && mark_domain trb "$B" && mark_domain trc "$C"
}

phase_burst() {
	mark XIOVA-PHASE burst
	mark XIOVA-EXPECT burst-depot depot_push "domain=$A" class=0
	mark XIOVA-EXPECT burst-depot depot_pop "domain=$A" class=0
	mark XIOVA-EXPECT burst-misses rcache_miss "domain=$A" class=0
	mark XIOVA-EXPECT burst-cache-hits alloc "domain=$A" size=1 fast=1 result=cache
	burst_all_cpus tra || return 1
	ctl_reply burst trb 300 4 2 >/dev/null || return 1

	# The delayed work gives a magazine back every 100 ms until one per
	# online CPU is left.
	mark XIOVA-PHASE idle
	mark XIOVA-EXPECT idle-trim depot_trim "domain=$A" class=0 "depot_size=$(nproc)"
	sleep 3
}

# Eight size-1 ranges fill [1, 8] of C and go into a magazine; a size-2
# request then finds the tree full and must flush the magazines and retry.
# A size-16 request below 8 fails outright.
retry_and_fail() {
	_rf_pfns=''
	for _rf_i in 1 2 3 4 5 6 7 8; do
		_rf_pfn=$(ctl_reply alloc_fast trc 1 8) || return 1
		_rf_pfns="$_rf_pfns $_rf_pfn"
	done
	for _rf_pfn in $_rf_pfns; do
		ctl free_fast trc "$_rf_pfn" 1 || return 1
	done
	_rf_pfn=$(ctl_reply alloc_fast trc 2 8 1) || return 1
	mark XIOVA-EXPECT flush-retry flush_all "domain=$C" reason=retry cpu=-1
	mark XIOVA-EXPECT flush-retry alloc "domain=$C" "pfn=$_rf_pfn" size=2 \
		limit_pfn=0x8 fast=1 result=flushed
	if ctl_reply alloc_fast trc 16 8 >/dev/null; then
		echo "alloc_fast trc 16 8 succeeded"
		return 1
	fi
	mark XIOVA-EXPECT alloc-fail alloc "domain=$C" pfn=0 size=16 \
		limit_pfn=0x8 fast=1 result=fail
}

phase_ops() {
	mark XIOVA-PHASE ops
	_po_p1=$(ctl_reply alloc trb 3 0xfffff) &&
		_po_p2=$(ctl_reply alloc_fast tra 3 0xfffff 1) || return 1
	mark XIOVA-EXPECT alloc-known alloc "domain=$B" "pfn=$_po_p1" size=3 \
		limit_pfn=0xfffff fast=0 result=tree
	mark XIOVA-EXPECT alloc-known alloc "domain=$A" "pfn=$_po_p2" size=4 \
		limit_pfn=0xfffff fast=1 result=tree
	mark XIOVA-EXPECT alloc-known rcache_miss "domain=$A" class=2 size=4
	ctl free trb "$_po_p1" && ctl free_fast tra "$_po_p2" 3 || return 1
	mark XIOVA-EXPECT free-known free "domain=$B" "pfn=$_po_p1" size=3 fast=0
	mark XIOVA-EXPECT free-known free "domain=$A" "pfn=$_po_p2" size=4 fast=1
	retry_and_fail || return 1
	ctl flush tra || return 1
	mark XIOVA-EXPECT flush-request flush_all "domain=$A" reason=request cpu=-1

	# Every magazine miss is an event: as many as the statistics count.
	for _po_c in 0 2; do
		_po_n=$(class_misses "$DBG/domain$A/stats" "$_po_c")
		[ -n "$_po_n" ] || return 1
		mark XIOVA-COUNT miss-count rcache_miss "$_po_n" "domain=$A" "class=$_po_c"
	done
}

phase_cpu_dead() {
	mark XIOVA-PHASE cpu-dead
	if [ ! -w "$CPU1" ]; then
		xt_skip trace-cpu-offline "no $CPU1"
		return 0
	fi
	for _pc_d in "$A" "$B" "$C"; do
		mark XIOVA-EXPECT flush-cpu-dead flush_all "domain=$_pc_d" reason=cpu-dead cpu=1
	done
	if echo 0 >"$CPU1" && echo 1 >"$CPU1"; then
		xt_pass trace-cpu-offline
	else
		xt_fail trace-cpu-offline "cannot take CPU 1 offline and back"
	fi
}

phase_teardown() {
	mark XIOVA-PHASE teardown
	for _pt_d in "$A" "$B" "$C"; do
		mark XIOVA-EXPECT flush-teardown flush_all "domain=$_pt_d" reason=teardown cpu=-1
	done
	ctl destroy tra && ctl destroy trb && ctl destroy trc
}

run_testctl() {
	exec 3<>"$CTL" || return 1
	mark XIOVA-PHASE setup
	create_domains && phase_burst && phase_ops && phase_cpu_dead &&
		phase_teardown
	_rt_rc=$?
	exec 3>&-
	return "$_rt_rc"
}

# nvme through xiova_dma: DMA-FQ with verified I/O, a switch to DMA (the
# flush queue is torn down), strict I/O, detach (the domain is put).
run_nvme() {
	bdf=$(io_blk_pci nvme) || return 1
	echo "$bdf" >/sys/bus/pci/drivers/nvme/unbind &&
		echo "$bdf DMA-FQ" >"$DMA/attach" || return 1
	_rn_d=$(awk '$1 == "xiova_domain" { print $2 }' "$DMA/$bdf/stats")
	mark XIOVA-PHASE nvme-fq
	mark_domain nvme "$_rn_d" || return 1
	mark XIOVA-DEVICE "$bdf" "$_rn_d"
	mark XIOVA-QUEUED "$bdf" 1
	mark XIOVA-EXPECT nvme-map map "dev=$bdf"
	mark XIOVA-EXPECT nvme-unmap-queued unmap "dev=$bdf" queued=1
	mark XIOVA-EXPECT nvme-fq-timer fq_flush "dev=$bdf" type=DMA-FQ reason=timer
	echo "$bdf" >/sys/bus/pci/drivers/nvme/bind || return 1
	io_blk_verify trace-nvme-io-fq "$(io_blk_find nvme)" "$IO_MIB"
	echo "$bdf" >/sys/bus/pci/drivers/nvme/unbind || return 1
	# Let the timer free what the unbind queued.
	sleep 0.2

	mark XIOVA-PHASE nvme-switch
	mark XIOVA-EXPECT nvme-fq-teardown fq_flush "dev=$bdf" type=DMA-FQ reason=teardown
	echo DMA >"$DMA/$bdf/type" || return 1

	mark XIOVA-PHASE nvme-strict
	mark XIOVA-QUEUED "$bdf" 0
	mark XIOVA-EXPECT nvme-unmap-strict unmap "dev=$bdf" queued=0
	echo "$bdf" >/sys/bus/pci/drivers/nvme/bind || return 1
	io_blk_verify trace-nvme-io-strict "$(io_blk_find nvme)" 1
	echo "$bdf" >/sys/bus/pci/drivers/nvme/unbind || return 1

	mark XIOVA-PHASE nvme-detach
	mark XIOVA-EXPECT nvme-domain-teardown flush_all "domain=$_rn_d" reason=teardown cpu=-1
	echo "$bdf" >"$DMA/detach" &&
		echo "$bdf" >/sys/bus/pci/drivers/nvme/bind
}

# ------------------------------------------------------------- checks

# Nothing lost: a full or overwritten buffer would break every matching.
check_complete() {
	_cc_bad=$(cat "$T"/per_cpu/cpu*/stats |
		awk '/^(overrun|commit overrun|dropped events):/ && $NF != 0')
	if [ -n "$_cc_bad" ]; then
		xt_fail trace-complete "events lost: $(echo "$_cc_bad" | tr '\n' ' ')"
	else
		xt_pass trace-complete
	fi
}

# Two lines of each event, as they look.
show_samples() {
	for _ss_ev in $XIOVA_EVENTS $DMA_EVENTS; do
		grep -m 2 " $_ss_ev: " "$TRACE"
	done
}

# run_checker FILE: the checker's verdicts, one "NAME PASS|FAIL ..." line
# each, on stdout; its diagnostics too.
run_checker() {
	awk -f "$CHECKER" "$1" "$1"
}

check_trace() {
	_ct_out=/tmp/xiova-trace-check.out
	if ! run_checker "$TRACE" >"$_ct_out"; then
		xt_fail trace-checker "awk failed"
		return
	fi
	grep '^trace: ' "$_ct_out"
	grep -v '^trace: ' "$_ct_out" | while read -r _ct_name _ct_verdict _ct_why; do
		if [ "$_ct_verdict" = PASS ]; then
			xt_pass "trace-$_ct_name"
		else
			xt_fail "trace-$_ct_name" "$_ct_why"
		fi
	done
}

# The checks must be able to fail: a free moved to another pfn and the
# first unmap dropped must be caught.
check_checker() {
	_cx=/tmp/xiova-trace-tampered.txt
	awk '!f && / free: / { sub(/ pfn=0x/, " pfn=0x7"); f = 1 }
		!u && / unmap: / { u = 1; next }
		{ print }' "$TRACE" >"$_cx"
	_cx_out=$(run_checker "$_cx")
	rm -f "$_cx"
	if echo "$_cx_out" | grep -q '^free-matches-alloc FAIL' &&
		echo "$_cx_out" | grep -q '^shim-accounting FAIL'; then
		xt_pass trace-checker-catches-tampering
	else
		echo "$_cx_out" | grep -v '^trace: '
		xt_fail trace-checker-catches-tampering "a tampered trace passed the checks"
	fi
}

dump_trace() {
	echo "XIOVA-TRACE-BEGIN"
	gzip -c "$TRACE" | xxd -p
	echo "XIOVA-TRACE-END"
}

main() {
	echo "flavour=$XIOVA_FLAVOUR kernel=$(uname -r) cpus=$(cat /sys/devices/system/cpu/online)"
	check_tracefs || return 0
	xt_check load-xiova modprobe xiova
	xt_check load-xiova_dma modprobe xiova_dma
	# shellcheck disable=SC2086 # lists of event names
	check_events trace-events-xiova xiova $XIOVA_EVENTS
	# shellcheck disable=SC2086
	check_events trace-events-xiova_dma xiova_dma $DMA_EVENTS
	xt_check trace-enable start_tracing
	xt_check trace-workload-testctl run_testctl
	xt_check trace-workload-nvme run_nvme
	echo 0 >"$T/tracing_on"
	check_complete
	cat "$T/trace" >"$TRACE"
	echo "trace: $(grep -vc '^#' "$TRACE") lines"
	show_samples
	check_trace
	check_checker
	[ "${TRACE_DUMP:-0}" = 1 ] && dump_trace
	echo 0 >"$T/events/enable"
	xt_check unload-xiova_dma rmmod xiova_dma
	xt_check unload-xiova rmmod xiova
}

main
