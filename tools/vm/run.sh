#!/bin/bash
# Boot a kernel + initramfs (from mkinitramfs.sh) under QEMU, then judge the
# serial log with judge.sh; the exit status is the judge's verdict.
#
# Usage: run.sh -i INITRD [options] [-- EXTRA_QEMU_ARGS...]
#   -i, --initrd FILE      initramfs (required)
#   -k, --kernel FILE      kernel image (default: Debian kernel, debian-kernel.sh)
#       --iommu FLAVOUR    intel (default): q35 + intel-iommu, intel_iommu=on
#                          virtio: q35 + virtio-iommu-pci (needs CONFIG_VIRTIO_IOMMU)
#                          none: q35 without an IOMMU
#       --name NAME        flavour name used in verdicts (default: --iommu value)
#   -l, --log FILE         serial log (default $XIOVA_CACHE/logs/vm-NAME.log)
#   -t, --timeout SECS     wall-clock limit for the whole VM (default 300)
#   -a, --append ARGS      extra kernel command line; KEY=value words without
#                          a dot reach /init and the guest script as env vars
#       --smp N            vCPUs (default 2)
#       --mem MB           memory (default 2048)
#       --try-kvm          probe KVM with a short boot, use it if it works
#   -v, --verbose          stream the serial log to stderr while running
#       --interactive      for a human at a terminal: serial console here, a shell after the
#                          guest script, no judging (Ctrl-a x quits QEMU)
#   EXTRA_QEMU_ARGS        passed to QEMU after the IOMMU, e.g. -device edu
#
# Environment: XIOVA_CACHE (default /var/cache/xiova), XIOVA_TRY_KVM=1,
# XIOVA_VM_VERBOSE=1, XIOVA_INTEL_IOMMU_OPTS (default
# "caching-mode=on,intremap=on"), XIOVA_KVM_PROBE_TIMEOUT (default 20),
# XIOVA_KLOG_IGNORE (see judge.sh), XIOVA_BOOT_STALL (seconds before a boot
# that has not reached /init counts as stalled; default 240),
# XIOVA_BOOT_RETRIES (new boots after a stall; default 1),
# XIOVA_TCG_THREAD (TCG's thread=: "single" runs every vCPU on one host
# thread; default one thread per vCPU).
#
# TCG is the default because KVM guests hang on some hosts; QEMU's own exit
# status says nothing about the guest, only the log does.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly HERE

log() { printf 'run: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 2; }
usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit "${1:-0}"; }

INITRD='' KERNEL='' IOMMU=intel NAME='' LOG='' TIMEOUT=300 APPEND=''
SMP=2 MEM=2048 TRY_KVM=${XIOVA_TRY_KVM:-0} VERBOSE=${XIOVA_VM_VERBOSE:-0}
BOOT_STALL=${XIOVA_BOOT_STALL:-240} BOOT_RETRIES=${XIOVA_BOOT_RETRIES:-1}
INTERACTIVE=0
EXTRA_QEMU=()

main() {
	parse_args "$@"
	[[ -n $KERNEL ]] || KERNEL=$(debian_kernel_image)

	local machine=(-M q35) iommu_dev=() cmdline
	# no_timer_check: on a loaded host TCG can miss the boot's check that
	# the timer interrupt arrives through the remapped IO-APIC, and 6.1
	# then panics before running anything.
	cmdline="console=ttyS0 loglevel=7 panic=-1 no_timer_check XIOVA_FLAVOUR=$NAME"
	case $IOMMU in
	intel)
		iommu_dev=(-device "intel-iommu,${XIOVA_INTEL_IOMMU_OPTS:-caching-mode=on,intremap=on}")
		cmdline+=" intel_iommu=on"
		;;
	virtio) iommu_dev=(-device virtio-iommu-pci) ;;
	none) ;;
	esac
	[[ -n $APPEND ]] && cmdline+=" $APPEND"

	local accel=tcg
	[[ -n ${XIOVA_TCG_THREAD:-} ]] && accel+=,thread=$XIOVA_TCG_THREAD
	if ((TRY_KVM)) && kvm_works "$cmdline"; then
		accel=kvm
		# Interrupt remapping needs the IOAPIC emulated in userspace.
		machine=(-M "q35,kernel-irqchip=split")
	fi

	local qemu=(qemu-system-x86_64 -accel "$accel" "${machine[@]}"
		-smp "$SMP" -m "$MEM" -nodefaults -no-reboot -display none
		-kernel "$KERNEL" -initrd "$INITRD"
		"${iommu_dev[@]}" "${EXTRA_QEMU[@]}")

	if ((INTERACTIVE)); then
		exec "${qemu[@]}" -serial mon:stdio -append "$cmdline XIOVA_SHELL=1"
	fi
	boot_and_judge "$accel" "$cmdline" "${qemu[@]}"
}

parse_args() {
	while (($#)); do
		case $1 in
		-i | --initrd) INITRD=$2; shift ;;
		-k | --kernel) KERNEL=$2; shift ;;
		--iommu) IOMMU=$2; shift ;;
		--name) NAME=$2; shift ;;
		-l | --log) LOG=$2; shift ;;
		-t | --timeout) TIMEOUT=$2; shift ;;
		-a | --append) APPEND+="${APPEND:+ }$2"; shift ;;
		--smp) SMP=$2; shift ;;
		--mem) MEM=$2; shift ;;
		--try-kvm) TRY_KVM=1 ;;
		-v | --verbose) VERBOSE=1 ;;
		--interactive) INTERACTIVE=1 ;;
		-h | --help) usage 0 ;;
		--) shift; EXTRA_QEMU=("$@"); break ;;
		*) log "unknown argument $1"; usage 2 >&2 ;;
		esac
		shift
	done
	[[ -n $INITRD && -f $INITRD ]] || die "--initrd FILE is required and must exist"
	case $IOMMU in intel | virtio | none) ;; *) die "--iommu is intel, virtio or none" ;; esac
	[[ $TIMEOUT =~ ^[0-9]+$ ]] || die "--timeout wants seconds"
	NAME=${NAME:-$IOMMU}
	[[ $NAME =~ ^[A-Za-z0-9_.-]+$ ]] || die "--name may not contain spaces or specials"
	LOG=${LOG:-${XIOVA_CACHE:-/var/cache/xiova}/logs/vm-$NAME.log}
	mkdir -p "$(dirname "$LOG")"
}

debian_kernel_image() {
	local paths
	paths=$("$HERE/debian-kernel.sh")
	(
		eval "$paths"
		printf '%s\n' "$KERNEL"
	)
}

# A short boot with the real kernel and initramfs: /init powers off as soon as
# it runs when XIOVA_PROBE=1, so reaching its marker proves KVM guests work.
kvm_works() {
	local cmdline=$1 probe_log=$LOG.kvm-probe
	if [[ ! -r /dev/kvm || ! -w /dev/kvm ]]; then
		log "no usable /dev/kvm, using TCG"
		return 1
	fi
	local limit=${XIOVA_KVM_PROBE_TIMEOUT:-20}
	timeout --kill-after=5 "$limit" qemu-system-x86_64 -accel kvm \
		-M q35,kernel-irqchip=split -smp "$SMP" -m "$MEM" -nodefaults \
		-no-reboot -display none -kernel "$KERNEL" -initrd "$INITRD" \
		-serial "file:$probe_log" -append "$cmdline XIOVA_PROBE=1" \
		2>"$probe_log.stderr" || true
	if grep -q 'XIOVA-VM: probe-ok' "$probe_log" 2>/dev/null; then
		log "KVM probe booted, using KVM"
		return 0
	fi
	log "KVM probe did not reach /init within ${limit}s, using TCG (log: $probe_log)"
	return 1
}

boot_and_judge() {
	local accel=$1 cmdline=$2
	shift 2
	local qemu=("$@") attempt rc

	log "booting $NAME ($accel), log: $LOG"
	for attempt in $(seq 0 "$BOOT_RETRIES"); do
		boot_once "$cmdline" "${qemu[@]}" && rc=0 || rc=$?
		# Only a boot that never reached /init is retried: none of the
		# code under test has run yet, so the stall is the emulator's
		# (TCG sometimes wedges while bringing up the second vCPU).
		((rc == 75 && attempt < BOOT_RETRIES)) || break
		mv "$LOG" "$LOG.stalled$attempt"
		log "$NAME: no /init after ${BOOT_STALL}s, log kept as $LOG.stalled$attempt; booting again"
	done
	"$HERE/judge.sh" "$LOG" "$NAME"
}

# Returns 75 when the guest never reached /init within $BOOT_STALL seconds.
boot_once() {
	local cmdline=$1
	shift
	local qemu=("$@")
	: >"$LOG"

	local start end rc=0 qemu_pid tail_pid='' stalled=0
	start=$(date +%s.%N)
	# In the background so that Ctrl-C can stop it: timeout(1) moves itself
	# out of the terminal's process group and would never see the signal.
	timeout --kill-after=10 "$TIMEOUT" "${qemu[@]}" \
		-serial "file:$LOG" -append "$cmdline" &
	qemu_pid=$!
	trap 'kill "$qemu_pid" 2>/dev/null; exit 130' INT TERM
	if ((VERBOSE)); then
		tail -n +1 -f --pid="$qemu_pid" "$LOG" >&2 &
		tail_pid=$!
	fi
	watch_boot "$qemu_pid" || stalled=1
	wait "$qemu_pid" || rc=$?
	trap - INT TERM
	end=$(date +%s.%N)
	[[ -z $tail_pid ]] || wait "$tail_pid" || true
	log "$NAME: QEMU ran $(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.1f", e - s }')s (rc=$rc)"
	((stalled)) && return 75

	if ((rc == 124 || rc == 137)); then
		printf '\nXIOVA-HOST: QEMU killed after the %ss time limit\n' "$TIMEOUT" >>"$LOG"
	elif ((rc != 0)); then
		printf '\nXIOVA-HOST: QEMU exited with status %s\n' "$rc" >>"$LOG"
	fi
	return 0
}

# Fails, after stopping QEMU, if /init has not started within $BOOT_STALL s.
watch_boot() {
	local pid=$1 waited=0
	while kill -0 "$pid" 2>/dev/null; do
		grep -aq '^XIOVA-VM: start' "$LOG" && return 0
		if ((waited >= BOOT_STALL)); then
			pkill -P "$pid" 2>/dev/null || true
			kill "$pid" 2>/dev/null || true
			return 1
		fi
		sleep 1
		waited=$((waited + 1))
	done
	return 0
}

main "$@"
