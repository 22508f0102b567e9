#!/bin/bash
# Tests judge.sh on canned serial logs; no VM needed.
#
# Usage: selftest-judge.sh [-v]
#   -v             show the judge's output for every case
# Environment: XIOVA_JUDGE, the judge to test (default: judge.sh next to this
# script); pointing it at something broken must make this script fail.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly HERE
readonly JUDGE=${XIOVA_JUDGE:-$HERE/judge.sh}

VERBOSE=0
[[ ${1:-} == -v ]] && VERBOSE=1
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
CASES=0 BROKEN=0

main() {
	test_clean_boot
	test_warning_fails_kernel_log
	test_fail_marker
	test_truncated_log
	test_panic
	test_qemu_killed_by_host
	test_missing_log
	test_taint_without_report
	test_guest_script_timeout
	test_no_markers
	test_marker_after_kernel_text
	test_unparsable_marker
	test_ktap_problems
	test_ignored_warning
	test_each_kernel_pattern
	test_usage_error

	echo "selftest-judge: $CASES cases, $BROKEN failed"
	((BROKEN == 0))
}

# check NAME WANT_RC [--line EXACT | --match ERE | --no-match ERE]... < LOG
# Runs the judge on the log given on stdin with flavour "t".
check() {
	local name=$1 want_rc=$2
	shift 2
	local log=$WORK/$name.log out=$WORK/$name.out rc=0 problems=()
	cat >"$log"
	"$JUDGE" "$log" t >"$out" 2>&1 || rc=$?
	((rc == want_rc)) || problems+=("exit status $rc, want $want_rc")
	while (($#)); do
		case $1 in
		--line) grep -qxF -- "$2" "$out" || problems+=("no line: $2") ;;
		--match) grep -qE -- "$2" "$out" || problems+=("nothing matches: $2") ;;
		--no-match) ! grep -qE -- "$2" "$out" || problems+=("unexpected match: $2") ;;
		esac
		shift 2
	done
	report "$name" "$out" "${problems[@]}"
}

report() {
	local name=$1 out=$2
	shift 2
	CASES=$((CASES + 1))
	if (($# == 0)); then
		echo "ok judge.$name"
		((VERBOSE)) && sed 's/^/    | /' "$out"
		return 0
	fi
	BROKEN=$((BROKEN + 1))
	echo "not ok judge.$name"
	printf '    %s\n' "$@"
	sed 's/^/    | /' "$out"
}

crlf() { sed 's/$/\r/'; }

boot_prefix() {
	# Firmware clears the screen with escape sequences.
	printf '\033c\033[1;1H\033[2J'
	cat <<'EOF'
SeaBIOS (version 1.16.2-debian-1.16.2-1)
Booting from ROM..
[    0.000000] Linux version 6.1.0-56-amd64 (debian-kernel@lists.debian.org)
[    0.000000] Command line: console=ttyS0 loglevel=7 panic=-1 XIOVA_FLAVOUR=t intel_iommu=on
[    0.008000] DMAR: dmar0: reg_base_addr fed90000 ver 1:0 cap d2008c22260286 ecap f00f4a
[    1.653716] AMD-Vi: AMD IOMMUv2 functionality not available on this system - This is not a bug.
[    2.640570] Run /init as init process
XIOVA-VM: start kernel=6.1.0-56-amd64 flavour=t
[    2.700000] XIOVA-KTAP: KTAP version 1
EOF
	K_N=0
}

# res "ok"|"not ok" NAME [DIRECTIVE]: one guest result, numbered in order,
# as guest-lib.sh writes it through /dev/kmsg.
res() {
	K_N=$((K_N + 1))
	echo "[    3.$K_N] XIOVA-KTAP: $1 $K_N $2${3:+ # $3}"
}

plan() { echo "[    3.9] XIOVA-KTAP: 1..$K_N"; }

done_suffix() {
	local rc=${1:-0} taint=${2:-12288}
	plan
	cat <<EOF
XIOVA-VM: guest-script rc=$rc
XIOVA-VM: tainted=$taint
XIOVA-VM: done
[    4.188987] ACPI: PM: Preparing to enter system sleep state S5
[    4.190123] reboot: Power down
EOF
}

warning_report() {
	cat <<'EOF'
[    3.100000] ------------[ cut here ]------------
[    3.100001] WARNING: CPU: 1 PID: 93 at /tmp/xiova/xiova.c:120 xiova_provoke+0x1d/0x30 [xiova]
[    3.100002] Modules linked in: xiova(OE)
[    3.100003] CPU: 1 PID: 93 Comm: insmod Tainted: G           OE      6.1.0-56-amd64 #1
[    3.100004] RIP: 0010:xiova_provoke+0x1d/0x30 [xiova]
[    3.100005] Call Trace:
[    3.100006]  <TASK>
[    3.100007]  do_one_initcall+0x44/0x220
[    3.100008]  </TASK>
[    3.100009] ---[ end trace 0000000000000000 ]---
EOF
}

test_clean_boot() {
	check clean 0 \
		--line "KTAP version 1" \
		--line "ok 1 t.alloc-basic" \
		--line "ok 2 t.free-basic" \
		--line "ok 3 t.virtio-only # SKIP no virtio-iommu in this kernel" \
		--line "ok 4 t.kernel-log" \
		--line "1..4" \
		--line "vm-t: 3 passed, 0 failed, 1 skipped" \
		--no-match '^not ok' \
		< <({
			boot_prefix
			res ok alloc-basic
			res ok free-basic
			res ok virtio-only "SKIP no virtio-iommu in this kernel"
			done_suffix 0 12288
		} | crlf)
}

test_warning_fails_kernel_log() {
	check warning 1 \
		--line "ok 1 t.alloc-basic" \
		--line "not ok 2 t.kernel-log # 2 suspicious line(s)" \
		--match '^# .*WARNING: CPU: 1 PID: 93 at' \
		--match '^# .*do_one_initcall' \
		--line "vm-t: 1 passed, 1 failed, 0 skipped" \
		< <({
			boot_prefix
			warning_report
			res ok alloc-basic
			done_suffix 0 12800
		} | crlf)
}

test_fail_marker() {
	check fail-marker 1 \
		--line "ok 1 t.alloc-basic" \
		--line "not ok 2 t.free-basic # double free of iova 0x1000" \
		--line "not ok 3 t.guest-script # rc=1" \
		--line "vm-t: 2 passed, 2 failed, 0 skipped" \
		< <({
			boot_prefix
			res ok alloc-basic
			res "not ok" free-basic "double free of iova 0x1000"
			done_suffix 1
		})
}

test_truncated_log() {
	check truncated 1 \
		--line "ok 1 t.alloc-basic" \
		--line "not ok 2 t.ktap # no plan: the KTAP output ends after 1 result(s)" \
		--match "^not ok 3 t\.boot # no 'XIOVA-VM: done' in the log; the guest script did not finish$" \
		--line "#   last line before the cut" \
		--no-match 'guest-script|t\.tests' \
		--line "vm-t: 2 passed, 2 failed, 0 skipped" \
		< <({
			boot_prefix
			res ok alloc-basic
			echo "last line before the cut"
		})
}

test_panic() {
	check panic 1 \
		--line "not ok 1 t.ktap # no plan: the KTAP output ends after 0 result(s)" \
		--match '^not ok 2 t\.boot # ' \
		--line "not ok 3 t.kernel-log # 2 suspicious line(s)" \
		--match '^# .*Kernel panic - not syncing' \
		--line "vm-t: 0 passed, 3 failed, 0 skipped" \
		< <({
			boot_prefix
			echo "[    3.2] BUG: kernel NULL pointer dereference, address: 0000000000000008"
			echo "[    3.3] Kernel panic - not syncing: Fatal exception in interrupt"
		})
}

test_qemu_killed_by_host() {
	check host-timeout 1 \
		--line "not ok 1 t.ktap # no KTAP header ('KTAP version 1'): no KTAP output" \
		--match "^not ok 2 t\.boot # .*/init never started; QEMU killed after the 300s time limit$" \
		< <({
			echo "SeaBIOS (version 1.16.2-debian-1.16.2-1)"
			echo "XIOVA-HOST: QEMU killed after the 300s time limit"
		})
}

test_missing_log() {
	CASES=$((CASES + 1))
	local rc=0
	"$JUDGE" "$WORK/does-not-exist.log" t >"$WORK/missing.out" 2>&1 || rc=$?
	if ((rc == 1)) && grep -q '^not ok [0-9]* t\.boot' "$WORK/missing.out"; then
		echo "ok judge.missing-log"
	else
		BROKEN=$((BROKEN + 1))
		echo "not ok judge.missing-log (rc=$rc)"
		sed 's/^/    | /' "$WORK/missing.out"
	fi
}

# Tainted W (512) with no report: the report was lost, the bug was not.
test_taint_without_report() {
	check taint-only 1 \
		--match '^not ok 2 t\.kernel-log # kernel tainted=512' \
		< <({
			boot_prefix
			res ok alloc-basic
			done_suffix 0 512
		})
}

test_guest_script_timeout() {
	check guest-timeout 1 \
		--line "ok 1 t.alloc-basic" \
		--line "not ok 2 t.guest-script # rc=137 (killed at time limit)" \
		< <({
			boot_prefix
			res ok alloc-basic
			echo "XIOVA-VM: guest-script killed after 240s (timeout)"
			done_suffix 137
		})
}

test_no_markers() {
	check no-markers 1 \
		--line "not ok 1 t.tests # no KTAP results in the log" \
		--no-match 't\.ktap' \
		< <({
			boot_prefix
			done_suffix 0
		})
}

# printk can land in the middle of a line the guest script is writing.
test_marker_after_kernel_text() {
	check interleaved 0 \
		--line "ok 1 t.alloc-basic" \
		--line "ok 2 t.free-basic" \
		--line "ok 3 t.kernel-log" \
		--no-match 'kunit|^not ok' \
		< <({
			boot_prefix
			# KTAP the kernel logs (KUnit) and kselftest output are not ours.
			echo "[    3.4]     # Subtest: xiova_magazine"
			echo "[    3.4]     not ok 1 kunit_case"
			echo "ok 1 kselftest.case"
			echo "not ok 2 kselftest.other"
			echo "[    3.5] xiova: loadedXIOVA-KTAP: ok 1 alloc-basic"
			K_N=1
			res ok free-basic
			done_suffix 0
		} | crlf)
}

test_unparsable_marker() {
	check unparsable 1 \
		--line "not ok 2 t.ktap # malformed KTAP line: ok 1 alloc-basic MAYBE" \
		< <({
			boot_prefix
			res ok alloc-basic
			echo "[    3.5] XIOVA-KTAP: ok 1 alloc-basic MAYBE"
			done_suffix 0
		})
}

# Each way the document can be broken fails the ktap check by itself.
test_ktap_problems() {
	ktap_case plan-mismatch "plan 1..3 but 2 result(s)" \
		"ok 1 a" "ok 2 b" "1..3"
	ktap_case duplicate "duplicate test name: a (results 1 and 2)" \
		"ok 1 a" "ok 2 a" "1..2"
	ktap_case out-of-sequence "result 3 out of sequence (expected 2): b" \
		"ok 1 a" "ok 3 b" "1..2"
	ktap_case after-plan "after the plan: ok 2 b" \
		"ok 1 a" "1..1" "ok 2 b"
	ktap_case second-plan "after the plan: 1..1" \
		"ok 1 a" "1..1" "1..1"
	ktap_case skip-on-not-ok "malformed KTAP line (SKIP on not ok): not ok 1 a # SKIP x" \
		"not ok 1 a # SKIP x" "1..0"
	ktap_case todo "malformed KTAP line (directive other than SKIP): ok 1 a # TODO" \
		"ok 1 a # TODO" "1..0"
	ktap_case no-number "malformed KTAP line: ok a" \
		"ok a" "1..0"
	ktap_case bail-out "bail out: Bail out! no device" \
		"ok 1 a" "Bail out! no device" "1..1"
	ktap_case not-ktap "malformed KTAP line: XIOVA-TEST: a PASS" \
		"ok 1 a" "XIOVA-TEST: a PASS" "1..1"
	ktap_case second-header "second KTAP header" \
		"ok 1 a" "KTAP version 1" "1..1"
}

# ktap_case NAME FIRST-PROBLEM GUEST-LINE...: a finished run whose KTAP
# lines (after the header) are the given ones.
ktap_case() {
	local name=$1 want=$2
	shift 2
	check "ktap-$name" 1 --match "^not ok [0-9]+ t\.ktap # $(ere_quote "$want")\$" \
		< <({
			boot_prefix
			printf '[    3.5] XIOVA-KTAP: %s\n' "$@"
			cat <<'EOF'
XIOVA-VM: guest-script rc=0
XIOVA-VM: tainted=0
XIOVA-VM: done
EOF
		})
}

# shellcheck disable=SC2001,SC2016 # a sed bracket expression, not a variable
ere_quote() { sed 's/[][\\.*^$()+?{}|]/\\&/g' <<<"$1"; }

test_ignored_warning() {
	local log
	log=$({
		boot_prefix
		warning_report
		res ok provoke-warning
		done_suffix 0 12800
	})
	XIOVA_KLOG_IGNORE='WARNING: .* xiova_provoke|Call Trace' check ignored 0 \
		--line "ok 2 t.kernel-log" <<<"$log"
	XIOVA_KLOG_IGNORE='WARNING: .* something_else' check not-ignored 1 \
		--line "not ok 2 t.kernel-log # 2 suspicious line(s)" <<<"$log"
}

# Every kind of report must fail the kernel-log check on its own.
test_each_kernel_pattern() {
	local line i=0
	while IFS= read -r line; do
		i=$((i + 1))
		check "pattern-$i" 1 --line "not ok 2 t.kernel-log # 1 suspicious line(s)" \
			< <({
				boot_prefix
				echo "[    3.4] $line"
				res ok alloc-basic
				done_suffix 0
			})
	done <<'EOF'
BUG: unable to handle page fault for address: ffffc90000a00000
kernel BUG at lib/list_debug.c:53!
BUG kmalloc-32 (Tainted: G           OE     ): Right Redzone overwritten
WARNING: possible circular locking dependency detected
Oops: 0000 [#1] PREEMPT SMP NOPTI
Call Trace:
BUG: KASAN: use-after-free in xiova_free+0x22/0x40 [xiova]
UBSAN: shift-out-of-bounds in /tmp/xiova/xiova.c:77:12
unreferenced object 0xffff888005a1c000 (size 64):
WARNING: inconsistent lock state
WARNING: possible recursive locking detected
WARNING: suspicious RCU usage
BUG: sleeping function called from invalid context at mm/slab.h:739
general protection fault, probably for non-canonical address 0xdead000000000100: 0000 [#1]
Kernel panic - not syncing: Fatal exception
INFO: task insmod:93 blocked for more than 120 seconds.
rcu: INFO: rcu_preempt self-detected stall on CPU
EOF
}

test_usage_error() {
	CASES=$((CASES + 1))
	local rc=0
	"$JUDGE" only-one-arg >/dev/null 2>&1 || rc=$?
	if ((rc == 2)); then
		echo "ok judge.usage"
	else
		BROKEN=$((BROKEN + 1))
		echo "not ok judge.usage (rc=$rc, want 2)"
	fi
}

main "$@"
