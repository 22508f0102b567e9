#!/bin/sh
# shellcheck source-path=SCRIPTDIR
# shellcheck shell=sh
# Guest half of tools/main.sh: load xiova, run a burst workload on every
# CPU in one test domain, and print the domain's statistics before and
# after the depot trim. Then attach the nvme controller to xiova_dma
# (DMA-FQ), verify O_DIRECT I/O through it and print its statistics.
# Last, enable the live patch, verify I/O through the nvme's own default
# domain, print it with tools/xiovastat, and disable the patch.
# shellcheck source=guest-lib.sh
. /lib/xiova/guest-lib.sh
# shellcheck source=guest-io-lib.sh
. /lib/xiova/guest-io-lib.sh

CTL=/sys/kernel/debug/xiova/test/ctl
STATS=/sys/kernel/debug/xiova/test/demo/stats

# One flush-queue-like burst per size class, ROUNDS times, on CPU $1. The
# inner shell gets the control file and the CPU as its arguments.
burst_on_cpu() {
	# shellcheck disable=SC2016 # expanded by the inner shell
	taskset -c "$1" sh -c '
		exec 3<>"$1"
		for size in 1 2 4 8 16 32; do
			echo "burst demo 1500 $size 8" >&3 || exit 1
			read -r ops ns <&3
			echo "cpu$2 size $size: $ops allocs in $((ns / 1000000)) ms"
		done' sh "$CTL" "$1"
}

# show_stats TITLE [FILE]
show_stats() {
	echo "XIOVA-STATS-BEGIN $1"
	cat "${2:-$STATS}"
	echo "XIOVA-STATS-END $1"
}

# The nvme controller's DMA through xiova_dma: unbind, attach, bind, I/O.
run_nvme() {
	dma=/sys/kernel/debug/xiova_dma
	bdf=$(io_blk_pci nvme) || return 1
	modprobe xiova_dma || return 1
	echo "$bdf" >/sys/bus/pci/drivers/nvme/unbind || return 1
	echo "$bdf DMA-FQ" >"$dma/attach" || return 1
	echo "$bdf" >/sys/bus/pci/drivers/nvme/bind || return 1
	io_blk_verify nvme-io-through-xiova_dma "$(io_blk_find nvme)" 24
	show_stats "nvme $bdf through xiova_dma" "$dma/$bdf/stats"
	domain=$(awk '$1 == "xiova_domain" { print $2 }' "$dma/$bdf/stats")
	show_stats "the nvme domain's allocator" "/sys/kernel/debug/xiova/domain$domain/stats"
	echo "$bdf" >/sys/bus/pci/drivers/nvme/unbind || return 1
	echo "$bdf" >"$dma/detach" || return 1
	echo "$bdf" >/sys/bus/pci/drivers/nvme/bind || return 1
	rmmod xiova_dma
}

# Every device's own default domain on xiova, through the live patch: the
# nvme's default domain after verified I/O, then everything handed back.
run_live() {
	lp=/sys/kernel/livepatch/xiova_live
	bdf=$(io_blk_pci nvme) || return 1
	modprobe xiova_live || return 1
	n=0
	while [ "$(cat "$lp/transition")" != 0 ]; do
		n=$((n + 1))
		[ "$n" -lt 600 ] || return 1
		usleep 100000
	done
	io_blk_verify nvme-io-live "$(io_blk_find nvme)" 16
	/xiova/xiovastat --once >/tmp/xiovastat
	show_stats "xiovastat: every domain of the system, live" /tmp/xiovastat
	/xiova/xiovastat --once -c -d "$bdf" >/tmp/xiovastat
	show_stats "xiovastat -c -d $bdf: the nvme's default domain by size class" /tmp/xiovastat
	awk -v b="$bdf" '$1 == "domain:" { if (on) exit; blk = "" }
		{ blk = blk $0 "\n" }
		$1 == "devices:" && index($0, b) { on = 1 }
		on && $1 == "total" { printf "%s", blk; exit }' \
		/sys/kernel/debug/xiova/system/stats >/tmp/nvme-live
	show_stats "the nvme's default domain $bdf, live" /tmp/nvme-live
	echo 0 >"$lp/enabled" || return 1
	n=0
	while [ -d "$lp" ]; do
		n=$((n + 1))
		[ "$n" -lt 600 ] || return 1
		usleep 100000
	done
	rmmod xiova_live
}

run_demo() {
	exec 3<>"$CTL"
	echo "create demo" >&3 || return 1
	pids=''
	for cpu in $(seq 0 $(($(nproc) - 1))); do
		burst_on_cpu "$cpu" &
		pids="$pids $!"
	done
	for pid in $pids; do
		wait "$pid" || return 1
	done
	show_stats "after-burst"
	# The depot gives one magazine per 100 ms back until one per CPU is left.
	sleep 3
	show_stats "after-trim"
	echo "check demo" >&3 || return 1
	echo "destroy demo" >&3 || return 1
	# An open control file holds a reference on the module.
	exec 3>&-
}

xt_check load-xiova insmod "/lib/modules/$(uname -r)/extra/xiova.ko"
xt_check burst-workload run_demo
xt_check nvme-through-xiova_dma run_nvme
xt_check nvme-default-domain-live run_live
xt_check unload-xiova rmmod xiova
