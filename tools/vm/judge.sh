#!/bin/bash
# Judge a test VM's serial log.
#
# Usage: judge.sh LOG FLAVOUR
#
# Prints a KTAP document on stdout, one result per check:
#   KTAP version 1
#   ok N FLAVOUR.NAME | not ok N FLAVOUR.NAME # reason
#   ok N FLAVOUR.NAME # SKIP reason
#   1..N
# with diagnostics as "# " lines, then "vm-FLAVOUR: N passed, N failed,
# N skipped". Exits 1 iff a check failed (2 on usage errors).
#
# Checks:
#   NAME          each result of the guest's KTAP ("XIOVA-KTAP: " lines,
#                 parsed by ktap.awk)
#   ktap          the guest's KTAP is broken: no header, no plan, a plan
#                 that does not match, a malformed line, a number out of
#                 sequence, a duplicate name (reported only on failure)
#   boot          "XIOVA-VM: done" missing: timeout, panic, hang
#   guest-script  the guest script exited non-zero (or was killed)
#   tests         the guest script finished without any result
#   kernel-log    the kernel reported a bug (patterns below) or got tainted
#                 by a warning/oops
#
# Environment: XIOVA_KLOG_IGNORE, an ERE; matching lines are exempt from the
# kernel-log check (for tests that provoke a warning on purpose).
set -euo pipefail

# Extended regexes, case-sensitive on purpose: "This is not a bug."
# appears in clean boots.
readonly KLOG_PATTERNS=(
	'BUG:'
	'kernel BUG at'
	'BUG [^ ]+ \((Not tainted|Tainted)' # SLUB debug: "BUG kmalloc-32 (Tainted: ..."
	'WARNING:'
	'Oops'
	'Call Trace'
	'KASAN'
	'UBSAN:'
	'unreferenced object'
	'possible circular locking'
	'inconsistent lock state'
	'possible recursive locking'
	'suspicious RCU usage'
	'sleeping function called from invalid context'
	'general protection fault'
	'Kernel panic'
	'blocked for more than'
	'detected stall'
)
# Taint flags that mean a bug happened even if its report scrolled away:
# B bad page (5), D oops (7), W warning (9), L soft lockup (14).
readonly BAD_TAINT_MASK=$(((1 << 5) | (1 << 7) | (1 << 9) | (1 << 14)))
readonly CONTEXT_BEFORE=3 CONTEXT_AFTER=25 MAX_CONTEXT_LINES=200 TAIL_LINES=40

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly HERE
PASSED=0 FAILED=0 SKIPPED=0 RESULTS=0 NUMBER=0
FLAVOUR='' CLEAN=''

main() {
	(($# == 2)) || { echo "usage: judge.sh LOG FLAVOUR" >&2; exit 2; }
	local log=$1
	FLAVOUR=$2
	CLEAN=$(mktemp)
	trap 'rm -f "$CLEAN"' EXIT
	normalise_log "$log" >"$CLEAN"

	echo "KTAP version 1"
	judge_ktap
	local finished=0
	grep -q 'XIOVA-VM: done' "$CLEAN" && finished=1
	if ((finished)); then
		judge_guest_script
	else
		judge_boot_failure
	fi
	judge_kernel_log

	echo "1..$NUMBER"
	echo "vm-$FLAVOUR: $PASSED passed, $FAILED failed, $SKIPPED skipped"
	((FAILED == 0))
}

# Serial output has CRLF line ends and firmware escape sequences; a missing
# log is judged like an empty one (the boot check then fails).
normalise_log() {
	[[ -r $1 ]] || return 0
	sed -e 's/\r//g' -e 's/\x1b\[[0-9;?]*[A-Za-z]//g' -e 's/\x1b[()c][0-9A-Za-z]\{0,1\}//g' "$1"
}

# One KTAP result each; a reason must stay on its line.
result() {
	NUMBER=$((NUMBER + 1))
	echo "$1 $NUMBER $FLAVOUR.$2${3:+ # ${3//$'\n'/ }}"
}
ok() { result ok "$1"; PASSED=$((PASSED + 1)); }
skip() { result ok "$1" "SKIP${2:+ $2}"; SKIPPED=$((SKIPPED + 1)); }
not_ok() { result "not ok" "$1" "$2"; FAILED=$((FAILED + 1)); }
diag() { sed 's/^/#   /'; }

# The guest's results, in order, then one "ktap" failure naming the first
# problem with the document (the others as diagnostics).
judge_ktap() {
	local kind verdict name reason problems=()
	while IFS=$'\t' read -r kind verdict name reason; do
		case $kind in
		R)
			RESULTS=$((RESULTS + 1))
			case $verdict in
			ok) ok "$name" ;;
			skip) skip "$name" "$reason" ;;
			*) not_ok "$name" "$reason" ;;
			esac
			;;
		E) problems+=("$verdict") ;;
		esac
	done < <(awk -f "$HERE/ktap.awk" "$CLEAN")
	((${#problems[@]})) || return 0
	not_ok ktap "${problems[0]}"
	if ((${#problems[@]} > 1)); then
		echo "# $((${#problems[@]} - 1)) more KTAP problem(s):"
		printf '%s\n' "${problems[@]:1}" | diag
	fi
}

judge_guest_script() {
	local rc
	rc=$(sed -n 's/.*XIOVA-VM: guest-script rc=\([0-9]*\).*/\1/p' "$CLEAN" | tail -n1)
	if [[ -z $rc ]]; then
		not_ok guest-script "no exit status reported"
	elif ((rc != 0)); then
		local why="rc=$rc"
		grep -q 'XIOVA-VM: guest-script killed' "$CLEAN" && why="$why (killed at time limit)"
		not_ok guest-script "$why"
	fi
	if ((RESULTS == 0)); then
		not_ok tests "no KTAP results in the log"
	fi
}

judge_boot_failure() {
	local why="no 'XIOVA-VM: done' in the log"
	if ! grep -q 'XIOVA-VM: start' "$CLEAN"; then
		why="$why; /init never started"
	elif ! grep -q 'XIOVA-VM: guest-script rc=' "$CLEAN"; then
		why="$why; the guest script did not finish"
	fi
	# run.sh appends why QEMU stopped when it was not a guest power-off.
	local host
	host=$(sed -n 's/.*XIOVA-HOST: //p' "$CLEAN" | tail -n1)
	[[ -n $host ]] && why="$why; $host"
	not_ok boot "$why"
	echo "# last $TAIL_LINES lines of the log:"
	tail -n "$TAIL_LINES" "$CLEAN" | diag
}

judge_kernel_log() {
	local pattern args=() all_hits hits
	for pattern in "${KLOG_PATTERNS[@]}"; do args+=(-e "$pattern"); done
	all_hits=$(grep -a -n -E "${args[@]}" "$CLEAN" || true)
	hits=$(ignore_allowed <<<"$all_hits")
	# The taint only matters when no report made it to the log: an ignored
	# warning taints too.
	local taint bad_taint=0
	taint=$(sed -n 's/.*XIOVA-VM: tainted=\([0-9]*\).*/\1/p' "$CLEAN" | tail -n1)
	if [[ -z $all_hits && -n $taint ]] && ((taint & BAD_TAINT_MASK)); then
		bad_taint=1
	fi

	if [[ -z $hits ]] && ((!bad_taint)); then
		ok kernel-log
		return
	fi
	if [[ -n $hits ]]; then
		not_ok kernel-log "$(wc -l <<<"$hits") suspicious line(s)"
		print_context "$hits"
	else
		not_ok kernel-log "kernel tainted=$taint (warning/oops/bad page/lockup)"
	fi
}

ignore_allowed() {
	if [[ -n ${XIOVA_KLOG_IGNORE:-} ]]; then
		grep -a -v -E -- "$XIOVA_KLOG_IGNORE" || true
	else
		grep -a . || true
	fi
}

# Shows each hit with the trace that follows it; overlapping windows merge.
print_context() {
	local hits=$1
	echo "# kernel log around the suspicious lines:"
	awk -v before="$CONTEXT_BEFORE" -v after="$CONTEXT_AFTER" \
		-v max="$MAX_CONTEXT_LINES" '
		NR == FNR { split($0, f, ":"); hit[f[1]] = 1; next }
		{
			for (i = FNR; i <= FNR + before; i++)
				if ((i in hit) && i + after > end) end = i + after
			if (FNR > end) next
			if (printed && FNR != last + 1) print "#   --"
			if (++printed > max) { print "#   (truncated)"; exit }
			print "#   " $0
			last = FNR
		}' <(printf '%s\n' "$hits") "$CLEAN"
}

main "$@"
