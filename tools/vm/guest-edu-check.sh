#!/bin/sh
# shellcheck source-path=SCRIPTDIR
# shellcheck shell=sh
# Guest half of edu-check.sh: xiova_edu round trips through the DMA API,
# unbind/bind cycles with a run after each bind, a writer killed and an
# unbind in the middle of a run, and an IOMMU fault the system must
# survive.
#
# Environment (run.sh -a KEY=value): EDU_ROUNDS (default 20), EDU_REBINDS
# (default 3), EDU_SEED (default: a random seed, logged by the kernel).
# shellcheck source=guest-lib.sh
. /lib/xiova/guest-lib.sh
# shellcheck source=guest-edu-lib.sh
. /lib/xiova/guest-edu-lib.sh

EDU_ROUNDS=${EDU_ROUNDS:-20}
EDU_REBINDS=${EDU_REBINDS:-3}
EDU_SEED=${EDU_SEED:-}

main() {
	if ! dev=$(edu_find); then
		xt_fail edu-present "no edu device"
		return 0
	fi
	xt_pass edu-present
	group=$(readlink "$dev/iommu_group" 2>/dev/null)
	echo "edu: ${dev##*/}, iommu group ${group##*/} type $(cat "$dev/iommu_group/type" 2>/dev/null)"

	xt_check edu-load modprobe xiova_edu
	if ! edu_bound; then
		xt_fail edu-bound "xiova_edu did not bind ${dev##*/}"
		return 0
	fi
	xt_pass edu-bound
	edu_run edu-run "$EDU_ROUNDS" "$EDU_SEED"

	i=1
	while [ "$i" -le "$EDU_REBINDS" ]; do
		xt_check "edu-unbind-$i" edu_unbind
		xt_check "edu-bind-$i" edu_bind
		edu_run "edu-run-rebind-$i" 4
		i=$((i + 1))
	done

	edu_kill edu-kill
	edu_unbind_busy edu-unbind-busy
	edu_fault edu-fault
	xt_check edu-unload modprobe -r xiova_edu
	xt_check edu-reload modprobe xiova_edu
	edu_run edu-run-reload 4
	xt_check edu-unload-again modprobe -r xiova_edu
}

main
