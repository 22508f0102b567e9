#!/usr/bin/env bash
# The whole test suite: build and style gates, the KUnit suites under UML
# and under QEMU, and the VM tests. Installs what it needs from apt (root).
# Every check prints a KTAP result line, "ok [N] NAME", "not ok [N] NAME
# [# reason]" or "ok [N] NAME # SKIP [reason]" (the VM judge numbers its
# results, other checks need not); the last line counts them all: "N passed, N failed, N skipped". Exit status 1 if any
# check failed.
#
# Usage: tools/test.sh [--long] [STAGE...]  (default: every stage, in order)
#   --long   the long tier: the same checks with long counts (1000 type
#            switch cycles per intel-iommu VM, 300 on virtio-iommu, 300 live
#            type cycles, a 20-minute soak) and the KCSAN kernel (built
#            once, ~10 min); run before resolving work on the allocator,
#            the shim or the live patch. Without it the suite fits CI's
#            time on a cold machine.
# Stages: build style judge docs packaging kunit-uml kunit-uml-6.12
#         kunit-x86_64 vm-debian vm-debian612 demo vm-trace vm-test-kernel
#         vm-live vm-dma vm-hardening
# Environment: XIOVA_CACHE (default /var/cache/xiova); logs of each stage
# go to $XIOVA_CACHE/logs/test-STAGE.log.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
readonly ROOT
# shellcheck source=lib/common.sh
source "$ROOT/tools/lib/common.sh"

readonly ALL_STAGES=(build style judge docs packaging kunit-uml kunit-uml-6.12
	kunit-x86_64 vm-debian vm-debian612 demo vm-trace vm-test-kernel vm-live
	vm-dma vm-hardening)
readonly PACKAGES=(build-essential bc bison flex libelf-dev libssl-dev cpio
	kmod busybox-static qemu-system-x86 linux-headers-amd64 linux-source-6.1
	python3 sparse xz-utils shellcheck dkms python3-sphinx)

PASSED=0 FAILED=0 SKIPPED=0
LONG=0
# Counts of the VM stages, set by each stage for the VMs it runs at once.
VM_CYCLES=0 VM_COUNTS=() VM_LIMIT=() DMA_INTEL=0 DMA_VIRTIO=0

main() {
	if [[ ${1:-} == --long ]]; then
		LONG=1
		shift
	fi
	local stages=("$@") stage start
	((${#stages[@]})) || stages=("${ALL_STAGES[@]}")
	ensure_packages "${PACKAGES[@]}"
	LOGDIR=$(xiova_cache_dir)/logs
	mkdir -p "$LOGDIR"
	eval "$("$ROOT/tools/vm/debian-kernel.sh")"

	for stage in "${stages[@]}"; do
		start=$SECONDS
		log "stage $stage"
		run_stage "$stage" "stage_${stage//[-.]/_}"
		log "stage $stage took $((SECONDS - start)) s"
	done
	echo "$PASSED passed, $FAILED failed, $SKIPPED skipped"
	((FAILED == 0))
}

# Runs one stage, echoes its verdict lines and counts them. A stage that
# fails without saying which check failed still counts as one failure.
run_stage() {
	local name=$1 fn=$2 rc=0 line failed_before=$FAILED
	declare -F "$fn" >/dev/null || die "unknown stage: $name"
	"$fn" >"$LOGDIR/test-$name.log" 2>&1 || rc=$?
	while IFS= read -r line; do
		case $line in
		"not ok "*) FAILED=$((FAILED + 1)) ;;
		"ok "*" # SKIP" | "ok "*" # SKIP "*) SKIPPED=$((SKIPPED + 1)) ;;
		"ok "*) PASSED=$((PASSED + 1)) ;;
		*) continue ;;
		esac
		echo "$line"
	done <"$LOGDIR/test-$name.log"
	if ((rc != 0 && FAILED == failed_before)); then
		echo "not ok $name.exit # rc=$rc"
		FAILED=$((FAILED + 1))
	fi
	if ((FAILED > failed_before || rc != 0)); then
		log "stage $name failed; last lines of $LOGDIR/test-$name.log:"
		tail -n 40 "$LOGDIR/test-$name.log" >&2
	fi
}

# verdict NAME CMD...: a check that passes when CMD succeeds.
verdict() {
	local name=$1
	shift
	if "$@"; then echo "ok $name"; else echo "not ok $name"; fi
}

# No compiler, modpost or sparse message may come out of a build.
# KDIR defaults to Debian's 6.1 headers.
quiet_build() {
	local out
	make -C "$ROOT" clean >/dev/null
	out=$(make -C "$ROOT" KDIR="$HEADERS" "$@" 2>&1) || { echo "$out"; return 1; }
	echo "$out"
	! grep -E 'warning|error|WARNING' <<<"$out" | grep -v 'Skipping BTF'
}

# Every module, the test ones of tools/ included, for one kernel.
quiet_build_all() {
	local kdir=$1 dir out
	quiet_build KDIR="$kdir" W=1 TESTCTL=y || return 1
	for dir in tools/edu tools/bench; do
		out=$(make -C "$ROOT/$dir" KDIR="$kdir" W=1 2>&1) || { echo "$out"; return 1; }
		echo "$out"
		make -C "$ROOT/$dir" KDIR="$kdir" clean >/dev/null
		! grep -E 'warning|error|WARNING' <<<"$out" | grep -v 'Skipping BTF' || return 1
	done
}

stage_build() {
	local kdir612
	kdir612=/usr/src/linux-headers-$(debian_612_kver)
	verdict build.w1 quiet_build W=1 TESTCTL=y
	verdict build.w1-no-testctl quiet_build W=1
	verdict build.exports-namespaced exports_namespaced
	verdict build.w1-all-6.1 quiet_build_all "$HEADERS"
	verdict build.w1-all-6.12 quiet_build_all "$kdir612"
	verdict build.sparse-6.12 quiet_build KDIR="$kdir612" C=2 TESTCTL=y
}

# Every export carries the xiova prefix and the XIOVA namespace, so that
# nothing collides with the built-in allocator's symbols.
exports_namespaced() {
	local symvers=$ROOT/Module.symvers
	[[ -s $symvers ]] || return 1
	awk -F'\t' '$3 ~ /xiova$/ && ($2 !~ /^_*xiova_/ || $5 != "XIOVA") {
		print "bad export: " $0; bad = 1 } END { exit bad }' "$symvers"
}

checkpatch() {
	local tree files=()
	tree=$(xiova_cache_dir)/linux-source-6.1
	[[ -f $tree/scripts/checkpatch.pl ]] ||
		tar -C "$(dirname "$tree")" -xJf /usr/src/linux-source-6.1.tar.xz \
			linux-source-6.1/scripts
	mapfile -t files < <(xiova_sources | grep -E '\.[ch]$')
	((${#files[@]})) || return 1
	echo "checkpatch: ${#files[@]} files"
	# Out of tree, one header has to read the kernel's version:
	# version_tests_in_compat_only keeps it to that header.
	(cd "$ROOT" && perl "$tree/scripts/checkpatch.pl" --strict --no-tree --terse \
		--ignore LINUX_VERSION_CODE -f "${files[@]}") | grep -v '^total:' | grep . &&
		return 1
	return 0
}

# The kernel API differences live in dma/iova_compat.h alone.
version_tests_in_compat_only() {
	local hits
	hits=$(cd "$ROOT" && { xiova_sources | grep -E '\.[ch]$' | grep -vx dma/iova_compat.h |
		xargs grep -nE 'LINUX_VERSION_CODE|KERNEL_VERSION\(' || true; })
	[[ -z $hits ]] || { echo "version tests outside dma/iova_compat.h:"; echo "$hits"; }
	[[ -z $hits ]]
}

# The list every tool reads must hold every C file of the modules' source
# directories, and nothing that is not there: a file Kbuild does not build
# would otherwise escape the style checks, DKMS and the KUnit tree.
sources_complete() {
	local listed present
	listed=$(xiova_sources | grep '\.c$' | sort)
	present=$(cd "$ROOT" && find . -path ./tools -prune -o -path ./Documentation -prune \
		-o -name '*.c' ! -name '*.mod.c' -print | sed 's#^\./##' | sort)
	[[ -n $listed ]] || { echo "no sources listed"; return 1; }
	if [[ $listed != "$present" ]]; then
		diff <(echo "$listed") <(echo "$present")
		return 1
	fi
	echo "sources: $(wc -l <<<"$listed") C files, all built by Kbuild"
}

stage_style() {
	verdict style.sources-complete sources_complete
	verdict style.checkpatch-strict checkpatch
	verdict style.version-tests-in-compat-only version_tests_in_compat_only
	verdict style.sparse quiet_build C=2 TESTCTL=y
	verdict style.shellcheck shellcheck_tools
}

shellcheck_tools() {
	(cd "$ROOT" && find tools .ci \( -name '*.sh' -o -path .ci/run \) \
		-exec shellcheck -x {} +)
}

# The host-side tools the VM stages depend on: the judge of serial logs
# and the image builder.
stage_judge() {
	local rc=0
	"$ROOT/tools/vm/selftest-judge.sh" || rc=1
	"$ROOT/tools/vm/selftest-mkinitramfs.sh" || rc=1
	"$ROOT/tools/selftest-xiovastat.sh" || rc=1
	return "$rc"
}

stage_docs() {
	"$ROOT/tools/docs/build.sh"
}

stage_packaging() {
	"$ROOT/tools/packaging/test-install.sh"
}

stage_kunit_uml() {
	"$ROOT/tools/kunit/run.sh" uml
}

stage_kunit_uml_6_12() {
	"$ROOT/tools/kunit/run.sh" --kernel 6.12 uml
}

stage_kunit_x86_64() {
	"$ROOT/tools/kunit/run.sh" x86_64
}

stage_vm_debian() {
	"$ROOT/tools/vm/test-debian.sh"
}

# Debian 12's 6.12 with intel-iommu: the guest suite, the DMA shim (50
# type-switch cycles, 1000 in the long tier) and the live patch, lazy. The
# live VM runs its two vCPUs on one host thread: with a thread per vCPU,
# QEMU 7.2's TCG let a vCPU hit int3 bytes that 6.12's text patching had
# already removed (Documentation/live.rst, "Testing under TCG"). The guest
# suite and the shim's VM run at once; the live VM runs alone (below).
stage_vm_debian612() {
	local rc=0
	VM_CYCLES=50 VM_COUNTS=() VM_LIMIT=()
	if ((LONG)); then
		VM_CYCLES=1000 VM_COUNTS=(-c 50 -T 300) VM_LIMIT=(-t 2400)
	fi
	# Installs the 6.12 headers, if missing, before two jobs need them.
	debian_612_kver >/dev/null
	at_once debian612_vm guest dma || rc=1
	debian612_vm live || rc=1
	return "$rc"
}

debian612_vm() {
	case $1 in
	guest) "$ROOT/tools/vm/test-debian.sh" -k debian612 ;;
	dma)
		"$ROOT/tools/vm/test-dma.sh" -k debian612 -i intel -c "$VM_CYCLES" \
			"${VM_LIMIT[@]}"
		;;
	live)
		XIOVA_TCG_THREAD=single XIOVA_INTEL_IOMMU_OPTS=intremap=on \
			"$ROOT/tools/vm/test-live.sh" -k debian612 -i intel \
			"${VM_COUNTS[@]}" "${VM_LIMIT[@]}"
		;;
	esac
}

stage_demo() {
	"$ROOT/tools/main.sh"
}

# The tracepoints of both modules, enabled through tracefs during a
# workload, every event checked against it.
stage_vm_trace() {
	"$ROOT/tools/vm/test-trace.sh"
}

stage_vm_test_kernel() {
	"$ROOT/tools/vm/test-testkernel.sh"
}

# The kernel's own domains on xiova through the live patch, on Debian's
# kernel: lazy (DMA-FQ; intel-iommu without caching mode, which would
# force strict) and strict. Both vCPUs on one host thread, as on 6.12:
# TCG with a thread per vCPU can run code that a text poke of the patch
# transition has rewritten (Documentation/live.rst, "Testing under TCG").
# One live VM at a time, as in the runs that passed: beside a second VM,
# 6.1's livepatch core warned once in an enable/disable cycle (patch.c:98,
# a task without a patch state in a transition; live.rst).
stage_vm_live() {
	local rc=0 counts=()
	((LONG)) && counts=(-c 50 -T 300 -t 2400)
	XIOVA_TCG_THREAD=single XIOVA_INTEL_IOMMU_OPTS=intremap=on \
		"$ROOT/tools/vm/test-live.sh" -k debian -i intel "${counts[@]}" || rc=1
	XIOVA_TCG_THREAD=single \
		"$ROOT/tools/vm/test-live.sh" -k debian -i intel -s "${counts[@]}" || rc=1
	return "$rc"
}

# The DMA shim with real devices: Debian's kernel, then the debug kernel on
# both IOMMUs. Type-switch cycles: 50 on each intel-iommu VM and 30 on
# virtio-iommu; the long tier runs 1000 and 300 (0.6 s each under the debug
# kernel and TCG, more on a loaded host: hence its longer time limit).
# The three VMs run at once: together they take less time than in a row.
stage_vm_dma() {
	DMA_INTEL=50 DMA_VIRTIO=30 VM_LIMIT=()
	if ((LONG)); then
		DMA_INTEL=1000 DMA_VIRTIO=300 VM_LIMIT=(-t 2400)
	fi
	at_once dma_vm debian:intel test:intel test:virtio
}

# dma_vm KERNEL:IOMMU
dma_vm() {
	local cycles=$DMA_INTEL
	[[ ${1#*:} == virtio ]] && cycles=$DMA_VIRTIO
	"$ROOT/tools/vm/test-dma.sh" -k "${1%:*}" -i "${1#*:}" -c "$cycles" "${VM_LIMIT[@]}"
}

# Faults, accounting, hotplug and a 60 s soak on the debug kernel (intel).
# The long tier soaks for 20 minutes, then runs load, I/O, hotplug and a
# soak on the KCSAN variant (first build ~10 min).
stage_vm_hardening() {
	local rc=0
	if ((LONG == 0)); then
		"$ROOT/tools/vm/test-hardening.sh" -k kasan -i intel -s 60
		return
	fi
	"$ROOT/tools/vm/test-hardening.sh" -k kasan -i intel -s 1200 || rc=1
	"$ROOT/tools/vm/test-hardening.sh" -k kcsan -i intel || rc=1
	return "$rc"
}

main "$@"
