#!/bin/sh
# Helpers for guest scripts (busybox sh), installed in the image as
# /lib/xiova/guest-lib.sh. Usage in a guest script:
#
#   . /lib/xiova/guest-lib.sh
#   xt_check load-xiova insmod /lib/modules/$(uname -r)/extra/xiova.ko
#   xt_pass name | xt_fail name reason... | xt_skip name reason...
#
# Test names must not contain spaces: judge.sh splits on them.
#
# busybox sh runs its own applets before searching PATH, so a bare "insmod"
# would be busybox's even when the image links /sbin/insmod to kmod. These
# make the module tools the ones mkinitramfs.sh --insmod selected.
insmod() { /sbin/insmod "$@"; }
rmmod() { /sbin/rmmod "$@"; }
lsmod() { /sbin/lsmod "$@"; }
modprobe() { /sbin/modprobe "$@"; }
modinfo() { /sbin/modinfo "$@"; }

# Markers go through the kernel log when it takes them (guest-init.sh
# turns printk_devkmsg on): a printk line reaches the console whole, while
# a line the script writes itself can be cut in two by a kernel message
# arriving halfway, which the judge cannot parse.
_xt_emit() {
	if [ "$(cat /proc/sys/kernel/printk_devkmsg 2>/dev/null)" = on ] &&
		echo "$*" 2>/dev/null >/dev/kmsg; then
		return 0
	fi
	echo "$*"
}

xt_pass() {
	_xt_emit "XIOVA-TEST: $1 PASS"
}

xt_fail() {
	_xt_name=$1
	shift
	_xt_emit "XIOVA-TEST: $_xt_name FAIL${*:+ $*}"
}

xt_skip() {
	_xt_name=$1
	shift
	_xt_emit "XIOVA-TEST: $_xt_name SKIP${*:+ $*}"
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
