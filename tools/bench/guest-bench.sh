#!/bin/sh
# shellcheck shell=sh
# shellcheck source-path=SCRIPTDIR
# Guest half of tools/bench/run.sh: load xiova and xiova_bench, run every
# workload for both allocators, interleaved, and print one line per run:
#
#   XIOVA-BENCH: WORKLOAD ALLOCATOR rep=N KEY=VALUE ...
#
# W7 drives QEMU's edu device instead, with xiova_edu (tools/edu) through
# the kernel's dma-iommu or the xiova_dma shim; W8 drives it through the
# kernel's dma-iommu with the xiova_live patch disabled or enabled.
#
# Settings come from the kernel command line (run.sh -a): BENCH_REPS,
# BENCH_W1_MS, BENCH_W2_MS, BENCH_W2_BURSTS, BENCH_W3_SECS, BENCH_W3_WINDOW,
# BENCH_W4_LIVE, BENCH_W4_ITERS, BENCH_W5_ITERS, BENCH_W5_WALKS, BENCH_W6_MS,
# BENCH_W6_BURSTS, BENCH_MEM_ROUNDS, BENCH_W7_OPS, BENCH_W7_SG_OPS,
# BENCH_W7_BATCH; BENCH_ONLY=w7 runs W7 alone (run.sh's further boots),
# BENCH_ONLY=w8 W8 alone (its own boot).
# shellcheck source=../vm/guest-lib.sh
. /lib/xiova/guest-lib.sh
# shellcheck source=../vm/guest-edu-lib.sh
. /lib/xiova/guest-edu-lib.sh

RUN=/sys/kernel/debug/xiova_bench/run
XSTATS=/sys/kernel/debug/xiova
REPS=${BENCH_REPS:-5}
W1_MS=${BENCH_W1_MS:-150}
W2_MS=${BENCH_W2_MS:-2000}
W2_BURSTS=${BENCH_W2_BURSTS:-24}
W3_SECS=${BENCH_W3_SECS:-120}
W3_WINDOW=${BENCH_W3_WINDOW:-5}
W4_LIVE=${BENCH_W4_LIVE:-100000}
W4_ITERS=${BENCH_W4_ITERS:-100}
W5_ITERS=${BENCH_W5_ITERS:-4096}
W5_WALKS=${BENCH_W5_WALKS:-20}
W6_MS=${BENCH_W6_MS:-1000}
W6_BURSTS=${BENCH_W6_BURSTS:-8}
MEM_ROUNDS=${BENCH_MEM_ROUNDS:-6}
W7_OPS=${BENCH_W7_OPS:-65536}
W7_SG_OPS=${BENCH_W7_SG_OPS:-12288}
W7_BATCH=${BENCH_W7_BATCH:-64}
ONLY=${BENCH_ONLY:-}
DMA_DBG=/sys/kernel/debug/xiova_dma
EDU=''
EDU_GROUP=''
NCPU=$(nproc)
FAILED=''
REPLY_LINE=''

emit() {
	echo "XIOVA-BENCH: $*"
}

# Runs one command; its KEY=VALUE reply, on one line, lands in REPLY_LINE.
bench_cmd() {
	_out=$({ printf '%s\n' "$1" >&3 && cat <&3; } 3<>"$RUN") || return 1
	REPLY_LINE=$(printf '%s' "$_out" | tr '\n' ' ')
}

# key NAME: the value of NAME in REPLY_LINE.
key() {
	printf '%s\n' "$REPLY_LINE" | tr ' ' '\n' | sed -n "s/^$1=//p"
}

# prefix P: REPLY_LINE with P before every key.
prefix() {
	printf '%s' "$REPLY_LINE" | sed "s/\([^ =]*\)=/$1\1=/g"
}

failed() {
	echo "bench: $1: $2"
	case " $FAILED " in
	*" $1 "*) ;;
	*) FAILED="$FAILED $1" ;;
	esac
}

# What xiova says about one of its domains (Documentation/stats.rst): the
# counters of the total row and the depot excess over one per CPU. Columns
# are found by their names in the header line.
ours_stats() {
	awk -v p="$2" -v ncpu="$NCPU" '
		$1 == "class" {
			for (i = 1; i <= NF; i++)
				col[$i] = i
			next
		}
		$1 ~ /^[0-5]$/ && $col["depot"] - ncpu > excess {
			excess = $col["depot"] - ncpu
		}
		$1 == "total" {
			n = split("mag_bytes depot cpu_pfns trims hits misses", k, " ")
			for (i = 1; i <= n; i++)
				printf "%s%s=%s ", p, k[i], $col[k[i]]
			printf "%sdepot_excess=%d", p, excess + 0
		}' "$XSTATS/domain$1/stats"
}

depot_excess() {
	ours_stats "$1" "" | tr ' ' '\n' | sed -n 's/^depot_excess=//p'
}

# Objects in use and object size of the caches that hold either
# allocator's magazines and nodes (the VM boots with slab_nomerge). SLUB
# counts the free objects of per-CPU slabs as in use until a shrink puts
# those slabs back on the node's lists.
# The kernel's magazines: kmalloc-1k on 6.1, their own cache from 6.9.
if [ -d /sys/kernel/slab/iommu_iova_magazine ]; then
	STOCK_MAGS=iommu_iova_magazine
else
	STOCK_MAGS=kmalloc-1k
fi

slab_snapshot() {
	for _c in $STOCK_MAGS iommu_iova xiova_magazine xiova_node; do
		[ -w "/sys/kernel/slab/$_c/shrink" ] && echo 1 >"/sys/kernel/slab/$_c/shrink"
	done
	awk -v p="slab_$1_" -v m="$STOCK_MAGS" '
		$1 == m || $1 == "iommu_iova" || $1 == "xiova_magazine" ||
		$1 == "xiova_node" {
			n = $1
			gsub(/-/, "_", n)
			printf "%s%s_objs=%s %s%s_size=%s ", p, n, $2, p, n, $4
		}' /proc/slabinfo
}

run_one() {
	_wl=$1 _a=$2 _rep=$3
	shift 3
	if bench_cmd "$_wl $_a $*"; then
		emit "$_wl $_a rep=$_rep $REPLY_LINE"
	else
		failed "$_wl-$_a" "rep $_rep: '$_wl $_a $*' failed"
	fi
}

# Waits until xiova's depot is trimmed back to one magazine per CPU: the
# trim work returns one magazine per class every 100 ms.
wait_trimmed() {
	_excess=$(depot_excess "$1")
	_ms=$((_excess * 100 + 1000))
	sleep $((_ms / 1000)).$((_ms % 1000 / 100))
	_tries=0
	while [ "$(depot_excess "$1")" -gt 0 ] && [ $_tries -lt 300 ]; do
		sleep 0.1
		_ms=$((_ms + 100))
		_tries=$((_tries + 1))
	done
	echo "$_ms"
}

# Waits until a stock domain's magazine count holds still for a second:
# 6.1's depot never shrinks (one second, as before), 6.12's trim work gives
# one magazine per class back every 100 ms. Echoes the milliseconds waited.
wait_stock_trimmed() {
	_ms=0 _prev=''
	while [ "$_ms" -lt 60000 ]; do
		sleep 1
		_ms=$((_ms + 1000))
		bench_cmd "mem stock report" || break
		_mags=$(key mags)
		[ "$_mags" = "$_prev" ] && break
		_prev=$_mags
		# No count to compare (mirror=bad): one second, as 6.1.
		[ -n "$_mags" ] || break
	done
	echo "$_ms"
}

# The memory of an idle domain after W2's bursts, once trimmed.
mem_one() {
	_a=$1 _rep=$2
	_before=$(slab_snapshot before)
	if ! bench_cmd "mem $_a start rounds=$MEM_ROUNDS bursts=$W2_BURSTS seed=$_rep"; then
		failed "mem-$_a" "rep $_rep: start failed"
		return
	fi
	_busy=$(prefix busy_)
	_id=$(key domain_id)
	if [ "$_a" = ours ]; then
		_busy="$_busy $(ours_stats "$_id" busy_)"
		_wait=$(wait_trimmed "$_id")
	else
		_wait=$(wait_stock_trimmed)
	fi
	if ! bench_cmd "mem $_a report"; then
		failed "mem-$_a" "rep $_rep: report failed"
		bench_cmd "mem $_a stop" || true
		return
	fi
	_idle=$(prefix idle_)
	[ "$_a" = ours ] && _idle="$_idle $(ours_stats "$_id" idle_)"
	_slab_idle=$(slab_snapshot idle)
	if ! bench_cmd "mem $_a stop"; then
		failed "mem-$_a" "rep $_rep: stop failed"
		return
	fi
	emit "mem $_a rep=$_rep wait_ms=$_wait $_busy $_idle $_before $_slab_idle $(slab_snapshot after)"
}

# ABBA: odd repetitions run ours first, even ones stock first, so that a
# drift of the host's speed does not favour either.
order() {
	if [ $(($1 % 2)) -eq 1 ]; then echo "ours stock"; else echo "stock ours"; fi
}

run_reps() {
	rep=1
	while [ "$rep" -le "$REPS" ]; do
		echo "bench: repetition $rep of $REPS"
		if bench_cmd calib; then
			emit "calib any rep=$rep $REPLY_LINE"
		else
			failed calib "rep $rep"
		fi
		for a in $(order "$rep"); do
			run_one w1 "$a" "$rep" "ms=$W1_MS"
		done
		for a in $(order "$rep"); do
			run_one w2 "$a" "$rep" "ms=$W2_MS bursts=$W2_BURSTS seed=$rep"
		done
		for a in $(order "$rep"); do
			run_one w4 "$a" "$rep" "live=$W4_LIVE iters=$W4_ITERS seed=$rep"
		done
		for a in $(order "$rep"); do
			run_one w4a "$a" "$rep" "live=$W4_LIVE iters=$W4_ITERS seed=$rep"
		done
		for a in $(order "$rep"); do
			run_one w5 "$a" "$rep" "iters=$W5_ITERS walks=$W5_WALKS seed=$rep"
		done
		for a in $(order "$rep"); do
			run_one w6 "$a" "$rep" "ms=$W6_MS bursts=$W6_BURSTS seed=$rep"
		done
		for a in $(order "$rep"); do
			mem_one "$a" "$rep"
		done
		rep=$((rep + 1))
	done
}

# W3: both allocators age side by side, one window of each in turn, each
# on its own domain that lives for the whole run.
run_w3() {
	_windows=$((W3_SECS / 2 / W3_WINDOW))
	[ "$_windows" -ge 1 ] || _windows=1
	_period=$((_windows * W3_WINDOW * 1000))
	for a in ours stock; do
		if ! bench_cmd "w3 $a start period_ms=$_period min_bursts=4 max_bursts=$W2_BURSTS"; then
			failed "w3-$a" "start failed"
			return
		fi
	done
	_w=1
	while [ "$_w" -le "$_windows" ]; do
		for a in $(order "$_w"); do
			if ! bench_cmd "w3 $a step ms=$((W3_WINDOW * 1000))"; then
				failed "w3-$a" "window $_w failed"
				continue
			fi
			_extra=''
			[ "$a" = ours ] && _extra=$(ours_stats "$(key domain_id)" "")
			emit "w3 $a rep=1 $REPLY_LINE $_extra"
		done
		_w=$((_w + 1))
	done
	for a in ours stock; do
		bench_cmd "w3 $a stop" || failed "w3-$a" "stop failed"
	done
}

# ------------------------------------------------------------------ W7
#
# The edu device's map and unmap calls (xiova_edu's bench file) through
# the kernel's dma-iommu on the group's default domain (stock) or through
# the xiova_dma shim (ours), strict (DMA) and lazy (DMA-FQ), plus the
# shim's DMA-SQ against the kernel's DMA-FQ. Every change of type or owner
# happens with the driver unbound, as both interfaces require.

# dma_stat KEY: the shim's counter KEY for the edu device.
dma_stat() {
	awk -v k="$1" '$1 == k { print $2 }' "$DMA_DBG/$EDU/stats"
}

w7_attached() {
	[ -d "$DMA_DBG/$EDU" ]
}

# w7_config ALLOCATOR TYPE: the edu device in TYPE, through the kernel's
# group attribute (stock) or the shim (ours), bound to xiova_edu again.
w7_config() {
	if [ -e "/sys/bus/pci/devices/$EDU/driver" ]; then
		edu_unbind "$EDU" || return 1
	fi
	if [ "$1" = stock ]; then
		if w7_attached; then
			echo "$EDU" >"$DMA_DBG/detach" || return 1
		fi
		echo "$2" >"$EDU_GROUP/type" || return 1
		_w7_t=$(cat "$EDU_GROUP/type")
		if [ "$_w7_t" != "$2" ]; then
			echo "bench: w7: group type is $_w7_t, not $2"
			return 1
		fi
	elif w7_attached; then
		echo "$2" >"$DMA_DBG/$EDU/type" || return 1
	else
		echo "$EDU $2" >"$DMA_DBG/attach" || return 1
	fi
	edu_bind "$EDU"
}

# edu_bench COMMAND: one command of xiova_edu's bench file; the reply, on
# one line, lands in REPLY_LINE.
edu_bench() {
	_out=$({ printf '%s\n' "$1" >&3 && cat <&3; } 3<>"$EDU_DEBUGFS/$EDU/bench") || return 1
	REPLY_LINE=$(printf '%s' "$_out" | sed 's/kind=[a-z]* //' | tr '\n' ' ')
}

# w7_one ALLOCATOR TYPE REP: single pages, then 4-page scatterlists, in
# one configuration. For ours, the shim's counters must show that every
# call went through it.
#
# Fewer lists than pages: the device's 28-bit space holds 16,384 lists of
# 16 KiB, and DMA-SQ keeps up to 32,767 unmapped ones until its queue is
# full or its 1 s timer fires (a failed allocation does not flush it). So
# before each command in DMA-SQ the timer is given time to empty the
# queue, and a command maps fewer lists than would fill the space.
# w7_calls WORKLOAD: single pages, then 4-page scatterlists, as _a in _t
# (repetition _rep): the replies in _line, the mappings made in _want.
w7_calls() {
	_line='' _want=0
	for _k in page sg; do
		_n=$W7_OPS
		[ "$_k" = sg ] && _n=$W7_SG_OPS
		[ "$_t" = DMA-SQ ] && sleep 1.2
		if ! edu_bench "$_n $_k $W7_BATCH"; then
			failed "$1-$_a" "rep $_rep: $_t: '$_n $_k $W7_BATCH' failed"
			return 1
		fi
		_line="$_line $(prefix "${_k}_")"
		# Each command maps an untimed batch first.
		_warm=$W7_BATCH
		[ "$_n" -lt "$_warm" ] && _warm=$_n
		_want=$((_want + _n + _warm))
	done
}

w7_one() {
	_a=$1 _t=$2 _rep=$3
	case $_t in
	DMA) _wl=w7s ;;
	DMA-FQ) _wl=w7l ;;
	*) _wl=w7q ;;
	esac
	if ! w7_config "$_a" "$_t"; then
		failed "w7-$_a" "rep $_rep: cannot put $EDU in $_t"
		return
	fi
	if [ "$_a" = ours ]; then
		_m0=$(dma_stat maps) _s0=$(dma_stat iotlb_syncs)
		_f0=$(dma_stat fq_flushes) _ff0=$(dma_stat fq_full_flushes)
	fi
	w7_calls w7 || return
	if [ "$_a" = ours ]; then
		_m=$(($(dma_stat maps) - _m0))
		if [ "$_m" -ne "$_want" ]; then
			failed "w7-$_a" "rep $_rep: $_t: the shim made $_m mappings, expected $_want"
			return
		fi
		_line="$_line shim_iotlb_syncs=$(($(dma_stat iotlb_syncs) - _s0))"
		_line="$_line shim_fq_flushes=$(($(dma_stat fq_flushes) - _f0))"
		_line="$_line shim_fq_full_flushes=$(($(dma_stat fq_full_flushes) - _ff0))"
	fi
	emit "$_wl $_a rep=$_rep$_line"
}

w7_setup() {
	xt_check load-xiova-dma modprobe xiova_dma || return 1
	# No device table: modprobe binds it to the (only) edu device.
	xt_check load-xiova-edu modprobe xiova_edu || return 1
	EDU=$(edu_bdf) || return 1
	edu_bound "$EDU" || return 1
	_w7_g=$(readlink "/sys/bus/pci/devices/$EDU/iommu_group") || return 1
	EDU_GROUP=/sys/kernel/iommu_groups/${_w7_g##*/}
	echo "bench: w7: edu $EDU, IOMMU group ${EDU_GROUP##*/}, booted as $(cat "$EDU_GROUP/type")"
}

# Unbinds the device, gives it back to the kernel and unloads both modules.
w7_teardown() {
	if [ -e "/sys/bus/pci/devices/$EDU/driver" ]; then
		edu_unbind "$EDU" || failed w7-ours "unbind at the end failed"
	fi
	if w7_attached; then
		echo "$EDU" >"$DMA_DBG/detach" || failed w7-ours "detach at the end failed"
	fi
	xt_check unload-xiova-edu rmmod xiova_edu
	xt_check unload-xiova-dma rmmod xiova_dma
}

# Strict pairs run ours first in odd repetitions, lazy pairs stock first,
# so that each allocator follows the other as often, and every switch
# between the two is a single detach or attach. The writer stays on CPU 0:
# the flush queues and IOVA caches are per CPU, and a run that moved would
# split its work between two of each.
# dma_reps WORKLOAD: WORKLOAD's repetitions of the edu device's strict and
# lazy pairs (WORKLOAD_one ALLOCATOR TYPE REP), pinned to CPU 0; W7 adds
# the shim's DMA-SQ to each.
dma_reps() {
	if ! w7_setup; then
		failed "$1-ours" "setup failed"
		failed "$1-stock" "setup failed"
		return 1
	fi
	_dma_mask=$(printf '%x' $(((1 << NCPU) - 1)))
	taskset -p 1 $$ >/dev/null
	rep=1
	while [ "$rep" -le "$REPS" ]; do
		echo "bench: $1 repetition $rep of $REPS"
		for a in $(order "$rep"); do
			"$1_one" "$a" DMA "$rep"
		done
		for a in $(order $((rep + 1))); do
			"$1_one" "$a" DMA-FQ "$rep"
		done
		[ "$1" = w7 ] && w7_one ours DMA-SQ "$rep"
		rep=$((rep + 1))
	done
	taskset -p "$_dma_mask" $$ >/dev/null
}

run_w7() {
	dma_reps w7 || return
	w7_teardown
}

# ------------------------------------------------------------------ W8
#
# W7's calls through the kernel's own dma-iommu on the edu device's default
# domain, strict (DMA) and lazy (DMA-FQ), with the xiova_live patch
# disabled (stock: the kernel's iova.c) and enabled (ours: the same code
# above, xiova's caches below). Each type switch makes a new default
# domain, which the patch takes over when enabled. Repetitions alternate
# which comes first, as W7's do.

LP=/sys/kernel/livepatch/xiova_live
LIVE_DBG=/sys/kernel/debug/xiova/system

w8_transition_done() {
	_n=0
	while [ -d "$LP" ] && [ "$(cat "$LP/transition" 2>/dev/null)" != 0 ]; do
		_n=$((_n + 1))
		[ "$_n" -ge 1200 ] && return 1
		usleep 100000
	done
}

# w8_live ALLOCATOR: the patch enabled for ours; disabled and unloaded for
# stock.
w8_live() {
	if [ "$1" = ours ]; then
		[ -d "$LP" ] && return 0
		insmod "/lib/modules/$(uname -r)/extra/xiova_live.ko" || return 1
		w8_transition_done
		return
	fi
	[ -d "$LP" ] || return 0
	echo 0 >"$LP/enabled" || return 1
	_n=0
	while [ -d "$LP" ]; do
		_n=$((_n + 1))
		[ "$_n" -ge 1200 ] && return 1
		usleep 100000
	done
	rmmod xiova_live
}

# w8_allocs: the allocations xiova counted in the edu device's domain.
w8_allocs() {
	_d=$(awk -v d="$EDU" 'NR > 1 { for (i = 8; i <= NF; i++) if ($i == d) print $1 }' \
		"$LIVE_DBG/domains")
	[ -n "$_d" ] || return 1
	awk -v d="$_d" '
		$1 == "domain:" { on = ($2 == d) }
		on && $1 == "class" { for (i = 1; i <= NF; i++) c[$i] = i }
		on && $1 == "total" { print $c["hits"] + $c["misses"]; exit }' \
		"$LIVE_DBG/stats"
}

# w8_one ALLOCATOR TYPE REP. For ours, xiova must have counted an
# allocation for every mapping.
w8_one() {
	_a=$1 _t=$2 _rep=$3
	_wl=w8s
	[ "$_t" = DMA-FQ ] && _wl=w8l
	if ! w8_live "$_a"; then
		failed "w8-$_a" "rep $_rep: cannot switch the live patch for $_a"
		return
	fi
	if ! w7_config stock "$_t"; then
		failed "w8-$_a" "rep $_rep: cannot put $EDU in $_t"
		return
	fi
	# A domain the patch takes over at its first call is listed from then.
	_c0=0
	[ "$_a" = ours ] && _c0=$(w8_allocs || echo 0)
	w7_calls w8 || return
	if [ "$_a" = ours ]; then
		if ! _c=$(w8_allocs); then
			failed "w8-$_a" "rep $_rep: $_t: the edu device's domain is not on xiova"
			return
		fi
		_c=$((_c - ${_c0:-0}))
		if [ "$_c" -lt "$_want" ]; then
			failed "w8-$_a" "rep $_rep: $_t: xiova counted $_c allocations, expected $_want"
			return
		fi
	fi
	emit "$_wl $_a rep=$_rep$_line"
}

run_w8() {
	dma_reps w8 || return
	w8_live stock || failed w8-ours "disable at the end failed"
	w7_teardown
}

# verdicts WORKLOAD...: one verdict per workload that ran, and allocator.
verdicts() {
	for t in "$@"; do
		for a in ours stock; do
			[ "$t" = calib ] && [ "$a" = stock ] && continue
			name=$t-$a
			[ "$t" = calib ] && name=calib
			case " $FAILED " in
			*" $name "*) xt_fail "bench-$name" "see the lines starting with 'bench: $name'" ;;
			*) xt_pass "bench-$name" ;;
			esac
		done
	done
}

# load NAME MODULE: a test that stops the run when it fails.
load() {
	if insmod "/lib/modules/$(uname -r)/extra/$2.ko"; then
		xt_pass "$1"
	else
		xt_fail "$1" "insmod $2.ko"
		return 1
	fi
}

main() {
	load load-xiova xiova || return 1
	if [ "$ONLY" = w7 ]; then
		echo "bench: $NCPU CPUs, W7 only, $REPS repetitions"
		run_w7
		verdicts w7
	elif [ "$ONLY" = w8 ]; then
		echo "bench: $NCPU CPUs, W8 only, $REPS repetitions"
		run_w8
		verdicts w8
	else
		load load-xiova-bench xiova_bench || return 1
		echo "bench: $NCPU CPUs, $REPS repetitions, W3 ${W3_SECS}s in ${W3_WINDOW}s windows"
		emit "env any rep=0 ncpu=$NCPU reps=$REPS w3_secs=$W3_SECS w3_window=$W3_WINDOW w7_ops=$W7_OPS w7_sg_ops=$W7_SG_OPS w7_batch=$W7_BATCH slab_nomerge=$(grep -c slab_nomerge /proc/cmdline) stock_mags=$(echo "$STOCK_MAGS" | tr - _) kernel=$(uname -r)"
		run_reps
		run_w7
		run_w3
		verdicts calib w1 w2 w3 w4 w4a w5 w6 w7 mem
		xt_check unload-xiova-bench rmmod xiova_bench
	fi
	xt_check unload-xiova rmmod xiova
}

main
