#!/bin/sh
# shellcheck shell=sh
# shellcheck source-path=SCRIPTDIR
# Guest half of tools/bench/run.sh: load xiova and xiova_bench, run every
# workload for both allocators, interleaved, and print one line per run:
#
#   XIOVA-BENCH: WORKLOAD ALLOCATOR rep=N KEY=VALUE ...
#
# Settings come from the kernel command line (run.sh -a): BENCH_REPS,
# BENCH_W1_MS, BENCH_W2_MS, BENCH_W2_BURSTS, BENCH_W3_SECS, BENCH_W3_WINDOW,
# BENCH_W4_LIVE, BENCH_W4_ITERS, BENCH_W5_ITERS, BENCH_W5_WALKS, BENCH_W6_MS,
# BENCH_W6_BURSTS, BENCH_MEM_ROUNDS.
# shellcheck source=../vm/guest-lib.sh
. /lib/xiova/guest-lib.sh

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
slab_snapshot() {
	for _c in kmalloc-1k iommu_iova xiova_magazine xiova_node; do
		[ -w "/sys/kernel/slab/$_c/shrink" ] && echo 1 >"/sys/kernel/slab/$_c/shrink"
	done
	awk -v p="slab_$1_" '
		$1 == "kmalloc-1k" || $1 == "iommu_iova" || $1 == "xiova_magazine" ||
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

# The memory of an idle domain after W2's bursts, once trimmed. Stock has
# nothing to trim: it waits a second, so that both runs look the same.
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
		sleep 1
		_wait=1000
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

verdicts() {
	for t in calib w1 w2 w3 w4 w5 w6 mem; do
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
	load load-xiova-bench xiova_bench || return 1
	echo "bench: $NCPU CPUs, $REPS repetitions, W3 ${W3_SECS}s in ${W3_WINDOW}s windows"
	emit "env any rep=0 ncpu=$NCPU reps=$REPS w3_secs=$W3_SECS w3_window=$W3_WINDOW slab_nomerge=$(grep -c slab_nomerge /proc/cmdline)"
	run_reps
	run_w3
	verdicts
	xt_check unload-xiova-bench rmmod xiova_bench
	xt_check unload-xiova rmmod xiova
}

main
