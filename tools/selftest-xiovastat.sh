#!/bin/bash
# shellcheck disable=SC2317 # the checks are called through check()
# Host-side test of tools/xiovastat against canned debugfs files: the
# per-domain and per-class tables, the device filter, the rates between
# two samples, and the refusals. Prints "ok NAME" / "not ok NAME" per
# check; exits 1 if any failed.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
STAT=$HERE/xiovastat
WORK=$(mktemp -d "${TMPDIR:-/tmp}/xiovastat-test.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
FAILED=0

check() {
	local name=$1
	shift
	if "$@"; then
		echo "ok xiovastat.$name"
	else
		echo "not ok xiovastat.$name"
		FAILED=1
	fi
}

# class_row N HITS MISSES CPU_PFNS DEPOT: one row of a stats table.
class_row() {
	printf '%-5s %4s %10s %10s %10s %8s %6s %6s %8s %6s %9s %6s %7s %6s %9s\n' \
		"$1" "$2" "$3" "$4" "$3" 0 1 1 "$5" "$6" "$6" 0 0 1 \
		$(((2 + $6) * 1024))
}

domain_block() {
	local id=$1 group=$2 type=$3 devs=$4 hits=$5 misses=$6
	printf '\ndomain: %s\ngroup: %s\ntype: %s\ndevices: %s\ngranule: 4096\n' \
		"$id" "$group" "$type" "$devs"
	echo "class size       hits     misses    inserts ins_fail loaded   prev cpu_pfns  depot depot_max  trims flushes drains mag_bytes"
	class_row 0 1 "$hits" "$misses" 100 3
	class_row 5 32 0 0 0 0
	class_row total 0 "$hits" "$misses" 100 3
}

write_stats() {
	mkdir -p "$WORK/d/system"
	{
		echo "kernel: test"
		domain_block 0 1 DMA-FQ 0000:00:01.0 "$1" 300
		domain_block 7 4 DMA "0000:00:04.0 0000:00:04.1" 10 10
	} >"$WORK/d/system/stats"
}

run() {
	XIOVASTAT_DEBUGFS=$WORK/d "$STAT" "$@"
}

# The line of domain $1 in $2: its columns by header name.
col() {
	awk -v id="$1" -v c="$3" 'NR == 1 { for (i = 1; i <= NF; i++) h[$i] = i; next }
		$1 == id { print $h[c] }' <<<"$2"
}

domains_table() {
	local out
	out=$(run --once) || return 1
	[[ $(col 0 "$out" hits) == 5700 && $(col 0 "$out" misses) == 300 &&
		$(col 0 "$out" hit%) == 95.0 && $(col 0 "$out" cached) == $((100 + 127 * 3)) &&
		$(col 0 "$out" type) == DMA-FQ && $(col 7 "$out" group) == 4 &&
		$(grep -c . <<<"$out") == 3 ]] || { echo "$out"; return 1; }
	grep -q '0000:00:04.0 0000:00:04.1$' <<<"$out"
}

device_filter() {
	local out
	out=$(run --once -d 00:04.1) || return 1
	[[ $(grep -c . <<<"$out") == 2 && -n $(col 7 "$out" hits) ]]
}

classes_table() {
	local out
	out=$(run --once -c -d 0000:00:01.0) || return 1
	# Two classes, no total, and class 0's counts.
	[[ $(grep -c . <<<"$out") == 3 ]] &&
		awk '$2 == "0" && $4 == 5700 && $7 == 100 { ok = 1 } END { exit !ok }' <<<"$out"
}

# Two samples a second apart: the rate is the difference.
rates() {
	local out
	(sleep 0.5 && write_stats 5900) &
	out=$(timeout 3 env XIOVASTAT_DEBUGFS="$WORK/d" "$STAT" 1 || true)
	wait
	write_stats 5700
	grep -q 'hits/s' <<<"$out" &&
		awk '$1 == 0 && $4 == 200 { ok = 1 } END { exit !ok }' <<<"$out"
}

unknown_device() {
	! run --once -d 00:09.0 2>/dev/null && [[ $(run --once -d 00:09.0 2>&1) == *"no xiova domain"* ]]
}

bad_usage() {
	local rc=0
	run -d zz >/dev/null 2>&1 || rc=$?
	((rc == 2)) || return 1
	rc=0
	run --bogus >/dev/null 2>&1 || rc=$?
	((rc == 2)) || return 1
	rc=0
	run 0 >/dev/null 2>&1 || rc=$?
	((rc == 2))
}

nothing_loaded() {
	! XIOVASTAT_DEBUGFS=$WORK/none "$STAT" --once 2>/dev/null
}

write_stats 5700
check domains-table domains_table
check device-filter device_filter
check classes-table classes_table
check rates rates
check unknown-device unknown_device
check bad-usage bad_usage
check nothing-loaded nothing_loaded
exit "$FAILED"
