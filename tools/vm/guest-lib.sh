#!/bin/sh
# Helpers for guest scripts (busybox sh), installed in the image as
# /lib/xiova/guest-lib.sh. Usage in a guest script:
#
#   . /lib/xiova/guest-lib.sh
#   xt_check load-xiova insmod /lib/modules/$(uname -r)/extra/xiova.ko
#   xt_pass name | xt_fail name reason... | xt_skip name reason...
#   xt_diag text...
#
# Test names must not contain spaces or "#": they are KTAP test names.
#
# busybox sh runs its own applets before searching PATH, so a bare "insmod"
# would be busybox's even when the image links /sbin/insmod to kmod. These
# make the module tools the ones mkinitramfs.sh --insmod selected.
insmod() { /sbin/insmod "$@"; }
rmmod() { /sbin/rmmod "$@"; }
lsmod() { /sbin/lsmod "$@"; }
modprobe() { /sbin/modprobe "$@"; }
modinfo() { /sbin/modinfo "$@"; }

# Results are KTAP (Documentation/dev-tools/ktap.rst, in the style of the
# kernel's kselftest/ktap_helpers.sh), one line each, every line prefixed
# with "XIOVA-KTAP: " so that the judge tells them from the KTAP the kernel
# itself logs (KUnit) and from kselftest output the scripts print:
#
#   XIOVA-KTAP: KTAP version 1            guest-init.sh, before the script
#   XIOVA-KTAP: ok 1 NAME
#   XIOVA-KTAP: not ok 2 NAME # reason
#   XIOVA-KTAP: ok 3 NAME # SKIP reason
#   XIOVA-KTAP: # diagnostic
#   XIOVA-KTAP: 1..3                      guest-init.sh, after the script
#
# The count lives in a file, under a lock: results come from subshells,
# background jobs and nested guest scripts, and the plan counts them all.
XT_KTAP_PREFIX='XIOVA-KTAP: '
XT_KTAP_COUNT=${XT_KTAP_COUNT:-/tmp/xiova-ktap.count}
XT_KTAP_LOCK=$XT_KTAP_COUNT.lock
_xt_nl='
'

# The lines go through the kernel log when it takes them (guest-init.sh
# turns printk_devkmsg on): a printk line reaches the console whole, while
# a line the script writes itself can be cut in two by a kernel message
# arriving halfway.
_xt_emit() {
	if [ "$(cat /proc/sys/kernel/printk_devkmsg 2>/dev/null)" = on ] &&
		echo "$XT_KTAP_PREFIX$*" 2>/dev/null >/dev/kmsg; then
		return 0
	fi
	echo "$XT_KTAP_PREFIX$*"
}

# _xt_oneline TEXT...: the text on one line (a reason may hold command
# output), with "#" kept out of a name's way by the caller.
_xt_oneline() {
	_xt_text=$*
	case $_xt_text in
	*"$_xt_nl"*) _xt_text=$(printf '%s' "$_xt_text" | tr '\n' ' ') ;;
	esac
}

# _xt_result "ok"|"not ok" NAME [DIRECTIVE]: numbers and prints one result.
# mkdir is the lock; one a killed holder left behind is broken after ~5 s.
_xt_result() {
	_xt_tries=0
	until mkdir "$XT_KTAP_LOCK" 2>/dev/null; do
		_xt_tries=$((_xt_tries + 1))
		if [ "$_xt_tries" -ge 50 ]; then
			rmdir "$XT_KTAP_LOCK" 2>/dev/null
			_xt_tries=0
		fi
		sleep 0.1
	done
	_xt_n=0
	[ -r "$XT_KTAP_COUNT" ] && read -r _xt_n <"$XT_KTAP_COUNT"
	_xt_n=$((_xt_n + 1))
	echo "$_xt_n" >"$XT_KTAP_COUNT"
	_xt_emit "$1 $_xt_n $2${3:+ # $3}"
	rmdir "$XT_KTAP_LOCK" 2>/dev/null
	return 0
}

# xt_ktap_header / xt_ktap_plan: the first and the last line of the
# document (guest-init.sh); the plan is the number of results so far.
xt_ktap_header() {
	rm -f "$XT_KTAP_COUNT"
	rmdir "$XT_KTAP_LOCK" 2>/dev/null
	_xt_emit "KTAP version 1"
}

xt_ktap_plan() {
	_xt_n=0
	[ -r "$XT_KTAP_COUNT" ] && read -r _xt_n <"$XT_KTAP_COUNT"
	_xt_emit "1..$_xt_n"
}

xt_pass() {
	_xt_result ok "$1"
}

xt_fail() {
	_xt_name=$1
	shift
	_xt_oneline "$@"
	_xt_result "not ok" "$_xt_name" "$_xt_text"
}

xt_skip() {
	_xt_name=$1
	shift
	_xt_oneline "$@"
	_xt_result ok "$_xt_name" "SKIP${_xt_text:+ $_xt_text}"
}

# xt_diag TEXT...: a KTAP diagnostic line ("# TEXT") among the results.
xt_diag() {
	_xt_oneline "$@"
	_xt_emit "#${_xt_text:+ $_xt_text}"
}

# Runs a command as one test; its output stays in the log above the verdict.
xt_check() {
	_xt_name=$1
	shift
	if "$@"; then
		xt_pass "$_xt_name"
	else
		xt_fail "$_xt_name" "rc=$? cmd: $*"
	fi
}

# kmemleak_clean: true when a debug kernel's kmemleak finds nothing; with
# no kmemleak there is nothing to check.
kmemleak_clean() {
	[ -w /sys/kernel/debug/kmemleak ] || return 0
	# Two scans: an object must look unreferenced twice to be reported.
	echo scan >/sys/kernel/debug/kmemleak && sleep 6 &&
		echo scan >/sys/kernel/debug/kmemleak || return 1
	leaks=$(grep -c 'unreferenced object' /sys/kernel/debug/kmemleak)
	echo "kmemleak: $leaks report(s) after two scans"
	[ "$leaks" -eq 0 ] || { head -n 40 /sys/kernel/debug/kmemleak; return 1; }
}

# ctl CMD...: one command to xiova's test control file, open on fd 3; on
# failure the errno text goes to stdout, so callers can match it.
ctl() {
	# shellcheck disable=SC2320 # $? of the echo is the write's result
	_ctl_err=$({ echo "$*" >&3; } 2>&1) && return 0
	echo "'$*': ${_ctl_err#*: write error: }"
	return 1
}

# ctl_reply CMD...: the command, then the reply line the file gives back.
ctl_reply() {
	ctl "$@" || return 1
	read -r _ctl_reply <&3 || return 1
	echo "$_ctl_reply"
}
