#!/bin/sh
# shellcheck source-path=SCRIPTDIR
# /init of the test VM (busybox sh, PID 1).
#
# The "XIOVA-VM:" lines are the protocol judge.sh relies on; keep them stable.
# Settings come from /etc/xiova-vm.conf (written by mkinitramfs.sh) and from
# the kernel command line: the kernel hands unknown "KEY=value" words without
# a dot to init as environment variables (XIOVA_FLAVOUR, XIOVA_PROBE, ...).
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root

GUEST_TIMEOUT=240
# shellcheck source=/dev/null
[ -r /etc/xiova-vm.conf ] && . /etc/xiova-vm.conf
# The KTAP helpers: /init writes the header and the plan around the script.
# shellcheck source=guest-lib.sh
. /lib/xiova/guest-lib.sh

mount_filesystems() {
	mount -t devtmpfs devtmpfs /dev
	# The kernel opened /dev/console before devtmpfs existed; if the image
	# had no console node our output would go nowhere, so reopen it.
	exec </dev/console >/dev/console 2>&1
	mkdir -p /dev/pts /dev/shm
	mount -t devpts devpts /dev/pts
	mount -t proc proc /proc
	mount -t sysfs sysfs /sys
	mount -t debugfs debugfs /sys/kernel/debug
	mount -t tracefs tracefs /sys/kernel/tracing
	mount -t tmpfs tmpfs /tmp
}

power_off() {
	sync
	poweroff -f
	# Only reached if the poweroff syscall failed; -no-reboot turns this
	# into a QEMU exit too.
	echo b >/proc/sysrq-trigger
}

# No udev here: load drivers for the devices present, like a coldplug would.
# One modprobe per pass because every exec costs a lot under TCG; another
# pass when drivers created new devices (virtio_pci -> virtio devices).
coldplug_modules() {
	seen=''
	for _pass in 1 2 3; do
		aliases=$(device_aliases)
		[ "$aliases" = "$seen" ] && return 0
		seen=$aliases
		# shellcheck disable=SC2086 # one word per alias
		/sbin/modprobe -q -a $aliases 2>/dev/null
	done
}

device_aliases() {
	for f in /sys/bus/*/devices/*/modalias; do
		[ -r "$f" ] && read -r alias <"$f" && echo "$alias"
	done
}

# A debug kernel with kmemleak reports leaks only on a scan; the judge looks
# for "unreferenced object" in the log.
report_kmemleak() {
	k=/sys/kernel/debug/kmemleak
	[ -w "$k" ] || return 0
	echo "XIOVA-VM: kmemleak scan"
	echo scan >"$k"
	echo scan >"$k"
	cat "$k"
}

run_guest_script() {
	cd / || return 1
	xt_ktap_header
	# SIGKILL because a wedged script may ignore TERM; PID 1 survives it.
	timeout -s KILL "$GUEST_TIMEOUT" sh /guest.sh
	rc=$?
	if [ "$rc" -eq 137 ]; then
		echo "XIOVA-VM: guest-script killed after ${GUEST_TIMEOUT}s (timeout)"
	fi
	# The plan counts what was printed, even from a killed script: the
	# rc above is what fails such a run.
	xt_ktap_plan
	echo "XIOVA-VM: guest-script rc=$rc"
}

main() {
	mount_filesystems
	# WARN/BUG are KERN_WARNING/KERN_EMERG; 7 also shows pr_info from modules.
	dmesg -n 7
	# KTAP lines are written to /dev/kmsg (guest-lib.sh), unthrottled.
	echo on >/proc/sys/kernel/printk_devkmsg 2>/dev/null
	echo "XIOVA-VM: start kernel=$(uname -r) flavour=${XIOVA_FLAVOUR:-unknown}"
	if [ "${XIOVA_PROBE:-0}" = 1 ]; then
		echo "XIOVA-VM: probe-ok"
		power_off
	fi
	coldplug_modules
	echo "XIOVA-VM: guest-script start uptime=$(cut -d' ' -f1 /proc/uptime)"
	run_guest_script
	report_kmemleak
	echo "XIOVA-VM: tainted=$(cat /proc/sys/kernel/tainted)"
	if [ "${XIOVA_SHELL:-0}" = 1 ]; then
		echo "XIOVA-VM: shell (exit to power off)"
		setsid cttyhack sh
	fi
	echo "XIOVA-VM: done"
	power_off
}

main
