#!/bin/sh
# shellcheck shell=sh source-path=SCRIPTDIR
# Guest script of test-live.sh (busybox sh): the kernel's own DMA domains
# put on xiova by the xiova_live livepatch (Documentation/live.rst), with
# nvme, two e1000 wired to each other and edu devices under the kernel's
# default domains. Every range is accounted for before enabling, while
# enabled and after the last disable; verified I/O runs through enable,
# use and disable; enable/disable cycles under that load; the reference
# threads' unbind/type/bind cycles system-wide while enabled; CPU 1 down
# and up under load; failed takeovers and magazine allocations. One marker
# per check.
#
# Environment (run.sh -a KEY=value): LIVE_CYCLES enable/disable cycles
# under load (default 10), LIVE_TYPE_CYCLES unbind/type/bind cycles
# (default 30), LIVE_BLK_MIB MiB verified per check (default 8),
# LIVE_NET_FRAMES frames each way (default 1000).

# shellcheck source=guest-lib.sh
. /lib/xiova/guest-lib.sh
# shellcheck source=guest-edu-lib.sh
. /lib/xiova/guest-edu-lib.sh
# shellcheck source=guest-io-lib.sh
. /lib/xiova/guest-io-lib.sh
# shellcheck source=guest-dev-lib.sh
. /lib/xiova/guest-dev-lib.sh

LP=/sys/kernel/livepatch/xiova_live
S=/sys/kernel/debug/xiova/system
CYCLES=${LIVE_CYCLES:-10}
TYPE_CYCLES=${LIVE_TYPE_CYCLES:-30}
BLK_MIB=${LIVE_BLK_MIB:-8}
NET_FRAMES=${LIVE_NET_FRAMES:-1000}
LOAD=/tmp/load
# A transition normally ends within seconds; a loaded TCG guest may take
# longer to switch every task.
TRANSITION_WAIT=120
# A load round takes seconds; one that takes minutes is stuck.
LOAD_STOP_WAIT=300

# ------------------------------------------------------------- the patch

wait_transition() {
	_n=0
	while [ -d "$LP" ] && [ "$(cat "$LP/transition" 2>/dev/null)" != 0 ]; do
		_n=$((_n + 1))
		[ "$_n" -ge $((TRANSITION_WAIT * 10)) ] && return 1
		usleep 100000
	done
}

live_enable() {
	modprobe xiova_live || return 1
	[ "$(cat "$LP/enabled")" = 1 ] || return 1
	wait_transition
}

# Disabled, but still loaded: its account file stays readable.
live_disable() {
	echo 0 >"$LP/enabled" || return 1
	_n=0
	while [ -d "$LP" ]; do
		_n=$((_n + 1))
		[ "$_n" -ge $((TRANSITION_WAIT * 10)) ] && return 1
		usleep 100000
	done
}

disable_and_remove() {
	live_disable && rmmod xiova_live
}

# ------------------------------------------------------------- accounting

# The flush queues empty within 10 ms of the last unmap; the trim work and
# a last DMA in flight get a moment too.
quiesce() {
	sync
	sleep 1
}

# account FILE: "group other xcached kcached" per DMA domain, sorted.
account() {
	quiesce
	awk 'NR > 1 { print $1, $9, $8, $7 }' "$S/account" | sort -n >"$1"
	[ -s "$1" ]
}

# same_other NAME BEFORE AFTER: every group's unaccounted ranges (its
# reservations, with I/O stopped) are what they were: none was lost.
same_other() {
	_bad=$(awk 'NR == FNR { o[$1] = $2; next }
		($1 in o) && o[$1] != $2 { printf "group %s: %s -> %s; ", $1, o[$1], $2 }
		($1 in o) { seen++ }
		END { if (!seen) print "no group in both" }' "$2" "$3")
	if [ -z "$_bad" ]; then
		xt_pass "$1"
	else
		echo "before:"; cat "$2"; echo "after:"; cat "$3"
		xt_fail "$1" "ranges neither mapped nor cached changed: $_bad"
	fi
}

# column_is NAME FILE COL VALUE: every domain's column COL is VALUE.
column_is() {
	_bad=$(awk -v c="$3" -v v="$4" '$c != v { printf "group %s: %s; ", $1, $c }' "$2")
	if [ -z "$_bad" ]; then
		xt_pass "$1"
	else
		xt_fail "$1" "expected $4: $_bad"
	fi
}

# ------------------------------------------------------------- devices

find_devices() {
	NVME=$(io_blk_pci nvme)
	EDU=$(edu_bdf)
	# shellcheck disable=SC2046 # "IF PCI IF PCI", split on purpose
	set -- $(io_net_find e1000)
	IFA=$1 NETA=$2 IFB=$3
	echo "devices: nvme=$NVME edu=$EDU e1000=$NETA,$4"
	[ -n "$NVME" ] && [ -n "$EDU" ] && [ -n "$IFA" ] && [ -n "$IFB" ]
}

# The domain number xiova gave a device's domain, if it took it over.
domain_of() {
	awk -v d="$1" 'NR > 1 { for (i = 8; i <= NF; i++) if ($i == d) print $1 }' \
		"$S/domains"
}

# stat_of DOMAIN KEY: a total column of the domain's class table.
stat_of() {
	awk -v d="$1" -v k="$2" '
		$1 == "domain:" { on = ($2 == d) }
		on && $1 == "class" { for (i = 1; i <= NF; i++) c[$i] = i }
		on && $1 == "total" { print $c[k]; exit }' "$S/stats"
}

verified_io() {
	io_blk_verify "$1-nvme" "$(dev_nvme_disk "$NVME")" "$BLK_MIB"
	io_net_verify "$1-e1000" "$IFA" "$IFB" "$NET_FRAMES"
	edu_run "$1-edu" 4
}

# ------------------------------------------------------------- load

# Verified I/O on every device, round after round, until told to stop:
# each round writes and reads back one 64 KiB block of nvme at a moving
# offset, sends 100 frames each way, and runs two edu round trips.
load_loop() {
	_i=0
	head -c 65536 /dev/urandom >"$LOAD/pat"
	_want=$(md5sum <"$LOAD/pat")
	while [ ! -e "$LOAD/stop" ]; do
		_disk=$(dev_nvme_disk "$NVME")
		_off=$((_i % 256))
		if ! dd if="$LOAD/pat" of="$_disk" bs=65536 seek="$_off" \
			oflag=direct 2>/dev/null; then
			echo "round $_i: nvme write failed" >>"$LOAD/failed"
		elif [ "$(dd if="$_disk" bs=65536 skip="$_off" count=1 \
			iflag=direct 2>/dev/null | md5sum)" != "$_want" ]; then
			echo "round $_i: nvme block $_off differs" >>"$LOAD/failed"
		fi
		if ! "$IO_BIN/netpair" -n 100 "$IFA" "$IFB" >/dev/null 2>&1; then
			echo "round $_i: netpair failed" >>"$LOAD/failed"
		fi
		if ! EDU_BDF=$EDU _edu_run_check 2 >/dev/null; then
			echo "round $_i: edu: $_edu_why" >>"$LOAD/failed"
		fi
		_i=$((_i + 1))
		echo "$_i" >"$LOAD/rounds"
	done
}

load_start() {
	rm -rf "$LOAD"
	mkdir -p "$LOAD"
	echo 0 >"$LOAD/rounds"
	load_loop &
	LOAD_PID=$!
}

load_rounds() {
	cat "$LOAD/rounds"
}

# load_stop NAME: the rounds ran and none failed. A round that cannot end
# (I/O that never completes) ends the script at once, with the blocked
# tasks in the log, rather than at the VM's time limit with nothing.
load_stop() {
	touch "$LOAD/stop"
	_n=0
	while kill -0 "$LOAD_PID" 2>/dev/null; do
		_n=$((_n + 1))
		if [ "$_n" -ge $((LOAD_STOP_WAIT * 10)) ]; then
			xt_fail "$1" "the load did not stop within ${LOAD_STOP_WAIT}s (round $(load_rounds)); blocked tasks follow"
			echo w >/proc/sysrq-trigger
			exit 1
		fi
		usleep 100000
	done
	wait "$LOAD_PID"
	_r=$(load_rounds)
	if [ -s "$LOAD/failed" ]; then
		xt_fail "$1" "$(wc -l <"$LOAD/failed") of $_r rounds failed: $(head -n 3 "$LOAD/failed" | tr '\n' ';')"
	elif [ "$_r" -lt 1 ]; then
		xt_fail "$1" "no load round finished"
	else
		echo "$1: $_r load rounds, all verified"
		xt_pass "$1"
	fi
}

# wait_rounds N: until the load has done N more rounds (up to 5 minutes).
wait_rounds() {
	_goal=$(($(load_rounds) + $1)) _n=0
	while [ "$(load_rounds)" -lt "$_goal" ]; do
		_n=$((_n + 1))
		[ "$_n" -ge 3000 ] && return 1
		usleep 100000
	done
}

# ------------------------------------------------------------- checks

# Before the patch: the account of the kernel's own caches.
baseline() {
	verified_io before
	xt_check account-only-load modprobe xiova_live account_only=1
	xt_check account-before account /tmp/acct.before
	cat /tmp/acct.before
	xt_check account-only-unload rmmod xiova_live
}

first_enable() {
	xt_check enable live_enable
	xt_check account-enabled account /tmp/acct.enabled
	cat "$S/domains"
	same_other account-enabled-nothing-lost /tmp/acct.before /tmp/acct.enabled
	column_is kernel-caches-empty-when-taken-over /tmp/acct.enabled 4 0
	_drained=$(awk 'NR > 1 { s += $5 } END { print s + 0 }' "$S/domains")
	echo "ranges the kernel's caches held at enable: $_drained"
	d=$(domain_of "$NVME")
	if [ -n "$d" ]; then
		xt_pass nvme-domain-taken-over
	else
		xt_fail nvme-domain-taken-over "no domain lists $NVME"
		d=-1
	fi
	h0=$(stat_of "$d" hits)
	verified_io enabled
	h1=$(stat_of "$d" hits)
	if [ -n "$h1" ] && [ "$h1" -gt "${h0:-0}" ]; then
		xt_pass nvme-io-through-xiova
	else
		xt_fail nvme-io-through-xiova "hits ${h0:-?} -> ${h1:-?}"
	fi
	traced "$d"
	xiovastat_shows "$d"
}

# The viewer shows the nvme's domain and its size classes.
xiovastat_shows() {
	_o=$(/xiova/xiovastat --once) || { xt_fail xiovastat-domains "rc=$?"; return; }
	echo "$_o"
	if echo "$_o" | awk -v d="$1" -v b="$NVME" \
		'$1 == d && $4 > 0 && index($0, b) { ok = 1 } END { exit !ok }'; then
		xt_pass xiovastat-domains
	else
		xt_fail xiovastat-domains "no line for domain $1 with hits and $NVME"
	fi
	_o=$(/xiova/xiovastat --once -c -d "$NVME") || { xt_fail xiovastat-classes "rc=$?"; return; }
	if [ "$(echo "$_o" | grep -c "^ *$1 ")" = 6 ]; then
		xt_pass xiovastat-classes
	else
		xt_fail xiovastat-classes "expected 6 size classes of domain $1: $_o"
	fi
}

# The xiova tracepoints fire for a system domain.
traced() {
	_t=/sys/kernel/tracing
	[ -d "$_t/events" ] || mount -t tracefs nodev "$_t"
	echo >"$_t/trace"
	echo 1 >"$_t/events/xiova/alloc/enable"
	io_blk_verify traced-io "$(dev_nvme_disk "$NVME")" 1 >/dev/null
	echo 0 >"$_t/events/xiova/alloc/enable"
	if grep -q "alloc: domain=$1 " "$_t/trace"; then
		xt_pass tracepoints-fire
	else
		xt_fail tracepoints-fire "no xiova:alloc event for domain $1"
	fi
	echo >"$_t/trace"
}

# The reference threads' scenario on the kernel's own domains: unbind,
# change the group's type, bind, verified I/O; each new DMA domain is
# taken over at its first call.
type_cycles() {
	g=$(dev_group "$NVME")
	order="DMA-FQ DMA identity DMA auto DMA-FQ"
	head -c 65536 /dev/urandom >/tmp/cycle.pat
	want=$(md5sum </tmp/cycle.pat)
	i=0 bad=0 why=''
	while [ "$i" -lt "$TYPE_CYCLES" ]; do
		# shellcheck disable=SC2086 # a list of words
		set -- $order
		shift $((i % 6))
		dev_unbind "$NVME"
		if ! err=$(dev_write_err "$g/type" "$1"); then
			bad=$((bad + 1)) why="cycle $i: type $1: $err"
		elif ! dev_bind "$NVME" nvme; then
			bad=$((bad + 1)) why="cycle $i: nvme not ready after bind"
			break
		elif ! cycle_io "$(dev_nvme_disk "$NVME")" "$i" "$want"; then
			bad=$((bad + 1)) why="cycle $i ($1): block differs"
		fi
		i=$((i + 1))
	done
	echo "type cycles: $i, $bad failed; nvme's group is $(cat "$g/type")"
	if [ "$bad" -eq 0 ] && [ "$i" -eq "$TYPE_CYCLES" ]; then
		xt_pass "type-cycles-$TYPE_CYCLES"
	else
		xt_fail "type-cycles-$TYPE_CYCLES" "$bad failed; last: $why"
	fi
	set_type DMA-FQ
	if [ -n "$(domain_of "$NVME")" ]; then
		xt_pass new-domain-taken-over
	else
		xt_fail new-domain-taken-over "the domain made by the last switch is not xiova's"
	fi
}

set_type() {
	dev_unbind "$NVME"
	dev_write_err "$(dev_group "$NVME")/type" "$1" >/dev/null
	dev_bind "$NVME" nvme
	io_blk_verify "type-$1-io" "$(dev_nvme_disk "$NVME")" 1 >/dev/null
}

cycle_io() {
	[ -n "$1" ] || return 1
	dd if=/tmp/cycle.pat of="$1" bs=65536 seek="$(($2 % 256))" oflag=direct \
		2>/dev/null || return 1
	[ "$(dd if="$1" bs=65536 skip="$(($2 % 256))" count=1 iflag=direct \
		2>/dev/null | md5sum)" = "$3" ]
}

# A takeover that cannot allocate leaves the domain to the tree: its I/O
# still works, and a later call takes it over.
failed_takeovers() {
	echo 5 >"$S/fail_adopts"
	set_type DMA
	io_blk_verify takeover-failing-io "$(dev_nvme_disk "$NVME")" 2
	_left=$(cat "$S/fail_adopts")
	if [ "$_left" -lt 5 ] && [ -n "$(domain_of "$NVME")" ]; then
		xt_pass takeover-retried-after-failures
	else
		xt_fail takeover-retried-after-failures "fail_adopts $_left left; domain '$(domain_of "$NVME")'"
	fi
	echo 0 >"$S/fail_adopts"
}

# Magazine allocations failing at random under load: ranges go to the
# tree, nothing is lost (debug kernels: failslab on the marked caches).
failed_magazines() {
	_f=/sys/kernel/debug/failslab
	if [ ! -d "$_f" ]; then
		xt_skip magazines-failing-under-load "no failslab in this kernel"
		return
	fi
	echo N >"$_f/ignore-gfp-wait"
	echo 1 >"$_f/cache-filter"
	echo 25 >"$_f/probability"
	echo -1 >"$_f/times"
	echo 0 >"$_f/verbose"
	load_start
	wait_rounds 20
	echo 0 >"$_f/probability"
	load_stop magazines-failing-under-load
}

hotplug_under_load() {
	c=/sys/devices/system/cpu/cpu1/online
	if [ ! -w "$c" ]; then
		xt_skip hotplug-under-load "CPU 1 cannot go offline"
		return
	fi
	d0=$(stat_of "$(domain_of "$NVME")" drains)
	load_start
	ok=1
	for _r in 1 2 3; do
		wait_rounds 3 && echo 0 >"$c" || ok=0
		wait_rounds 3 && echo 1 >"$c" || ok=0
	done
	load_stop hotplug-under-load-io
	d1=$(stat_of "$(domain_of "$NVME")" drains)
	if [ "$ok" = 1 ] && [ "${d1:-0}" -gt "${d0:-0}" ]; then
		xt_pass hotplug-drains-dead-cpu
	else
		xt_fail hotplug-drains-dead-cpu "offline/online ok=$ok, drains ${d0:-?} -> ${d1:-?}"
	fi
}

cycles_under_load() {
	load_start
	i=0 bad=0 why=''
	while [ "$i" -lt "$CYCLES" ]; do
		wait_rounds 2 || { bad=$((bad + 1)) why="cycle $i: load stalled"; break; }
		if ! disable_and_remove; then
			bad=$((bad + 1)) why="cycle $i: disable: $(cat "$LP/transition" 2>/dev/null)"
			break
		fi
		wait_rounds 1 || { bad=$((bad + 1)) why="cycle $i: load stalled disabled"; break; }
		if ! live_enable; then
			bad=$((bad + 1)) why="cycle $i: enable failed"
			break
		fi
		i=$((i + 1))
	done
	load_stop cycles-under-load-io
	if [ "$bad" -eq 0 ]; then
		xt_pass "enable-disable-cycles-$CYCLES"
	else
		xt_fail "enable-disable-cycles-$CYCLES" "$why"
	fi
}

last_disable() {
	xt_check disable live_disable
	xt_check account-after account /tmp/acct.after
	cat /tmp/acct.after
	same_other account-after-nothing-lost /tmp/acct.before /tmp/acct.after
	column_is nothing-cached-in-xiova-after /tmp/acct.after 3 0
	verified_io disabled
	xt_check unload-xiova_live rmmod xiova_live
}

main() {
	dmesg -n 5
	echo "flavour=$XIOVA_FLAVOUR kernel=$(uname -r) cycles=$CYCLES type-cycles=$TYPE_CYCLES"
	xt_check load-xiova modprobe xiova
	xt_check load-xiova_edu modprobe xiova_edu
	if ! find_devices; then
		xt_fail devices "nvme, edu and two e1000 expected"
		return 1
	fi
	xt_pass devices
	baseline
	first_enable
	type_cycles
	failed_takeovers
	hotplug_under_load
	failed_magazines
	cycles_under_load
	last_disable
	xt_check unload-xiova rmmod xiova
	if grep -qE '^xiova_(node|magazine) ' /proc/slabinfo; then
		xt_fail slabs-gone "xiova caches still in /proc/slabinfo"
	else
		xt_pass slabs-gone
	fi
	if [ -w /sys/kernel/debug/kmemleak ]; then
		xt_check kmemleak-clean kmemleak_clean
	fi
}

main
