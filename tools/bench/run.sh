#!/usr/bin/env bash
# Benchmarks of xiova against the kernel's own IOVA allocator, side by side
# in one boot of one of Debian 12's kernels (6.1, whose allocator has the
# fixed 32-magazine depot, or 6.12, upstream's current design) with an
# emulated Intel IOMMU (QEMU TCG, 2 vCPUs) and QEMU's edu device, whose DMA
# API calls W7 times through the kernel's dma-iommu and through the
# xiova_dma shim. Method and workloads: Documentation/benchmarks.rst.
#
# Usage: tools/bench/run.sh [options]
#   --kernel K       debian (6.1, default) or debian612 (6.12); 6.12's
#                    results are published to Documentation/bench/6.12/
#   --smoke          a short run (~1 min of VM time) through every workload;
#                    its results are not copied to Documentation/bench/
#   --reps N         repetitions of each workload and allocator (default 5)
#   --w3-secs S      W3 time, both allocators together (default 120)
#   --w7-boots N     boots that run W7 (default 5; the first runs every
#                    workload, the others W7 alone): a W7 ratio changes
#                    from boot to boot more than within one
#   --out DIR        results directory (default $XIOVA_CACHE/bench/<UTC time>)
#   --no-doc         do not copy the results to Documentation/bench/
#   --from-log LOG   do not boot: summarise an earlier run's serial log
#   --publish        with --from-log: copy to Documentation/bench/ as well
#
# Writes serial.log (serial-w7-K.log for the further boots, serial-w8.log
# for W8's), results.csv
# (every value), summary.csv, summary.txt, results.inc, w3.dat, w7.dat and
# PNG plots into the results directory and prints the summary table. The
# exit status is the VM judge's: timings never fail a run; a module that
# does not load, a workload that errors out or a kernel that complains
# does.
#
# Environment: XIOVA_CACHE (default /var/cache/xiova).
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
ROOT=$(cd "$HERE/../.." && pwd -P)
readonly HERE ROOT
# shellcheck source=../lib/common.sh
source "$ROOT/tools/lib/common.sh"

SMOKE=0 REPS=5 W3_SECS=120 W7_BOOTS=5 OUT='' DOC=1 FROM_LOG='' PUBLISH=0
KERNEL_KIND=debian
WORK=''

usage() { sed -n '2,/^set -euo/{/^# shellcheck/d;/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit "${1:-0}"; }

main() {
	parse_args "$@"
	ensure_packages build-essential linux-headers-amd64 qemu-system-x86 \
		busybox-static kmod cpio gnuplot-nox
	[[ -n $OUT ]] || OUT=$(xiova_cache_dir)/bench/$(date -u +%Y%m%dT%H%M%SZ)
	mkdir -p "$OUT"
	OUT=$(cd "$OUT" && pwd -P)

	local rc=0
	if [[ -n $FROM_LOG ]]; then
		if ! [[ $FROM_LOG -ef $OUT/serial.log ]]; then
			cp "$FROM_LOG" "$OUT/serial.log"
			# The further boots' logs travel with the first one.
			find "$(dirname "$FROM_LOG")" -maxdepth 1 -name 'serial-w[78]*.log' \
				-exec cp {} "$OUT/" \;
		fi
		# The log is judged again: only a clean run may be published.
		local log
		: >"$OUT/verdict.txt"
		for log in "$OUT"/serial.log "$OUT"/serial-w7-*.log "$OUT"/serial-w8.log; do
			[[ -e $log ]] || continue
			"$ROOT/tools/vm/judge.sh" "$log" bench >>"$OUT/verdict.txt" || rc=$?
			tail -n1 "$OUT/verdict.txt" >&2
		done
	else
		WORK=$(mktemp -d /tmp/xiova-bench.XXXXXX)
		trap 'rm -rf "$WORK"' EXIT
		run_vm || rc=$?
	fi
	summarise
	if ((rc != 0)); then
		log "the VM run failed (judge above); results are partial: $OUT"
	elif [[ -n $FROM_LOG ]]; then
		((PUBLISH)) && publish
	elif ((DOC && !SMOKE)); then
		publish
	fi
	log "results: $OUT"
	return "$rc"
}

parse_args() {
	while (($#)); do
		case $1 in
		--kernel) KERNEL_KIND=$2; shift ;;
		--smoke) SMOKE=1 REPS=2 W3_SECS=20 W7_BOOTS=2 ;;
		--reps) REPS=$2; shift ;;
		--w3-secs) W3_SECS=$2; shift ;;
		--w7-boots) W7_BOOTS=$2; shift ;;
		--out) OUT=$2; shift ;;
		--no-doc) DOC=0 ;;
		--from-log) FROM_LOG=$2; shift ;;
		--publish) PUBLISH=1 ;;
		-h | --help) usage 0 ;;
		*) log "unknown argument $1"; usage 2 >&2 ;;
		esac
		shift
	done
	check_debian_kind "$KERNEL_KIND"
	[[ $REPS =~ ^[1-9][0-9]*$ ]] || die "--reps wants a positive number"
	[[ $W3_SECS =~ ^[1-9][0-9]*$ ]] || die "--w3-secs wants seconds"
	[[ $W7_BOOTS =~ ^[1-9][0-9]*$ ]] || die "--w7-boots wants a positive number"
	[[ -z $FROM_LOG || -r $FROM_LOG ]] || die "cannot read $FROM_LOG"
}

# Workload sizes, passed to the guest on the kernel command line. The smoke
# run keeps every code path but shrinks the work.
guest_settings() {
	local s=(BENCH_REPS="$REPS" BENCH_W3_SECS="$W3_SECS" BENCH_W3_WINDOW=5)
	if ((SMOKE)); then
		s+=(BENCH_W1_MS=30 BENCH_W2_MS=300 BENCH_W4_LIVE=20000
			BENCH_W4_ITERS=20 BENCH_W5_ITERS=1024 BENCH_W5_WALKS=5
			BENCH_W6_MS=200 BENCH_MEM_ROUNDS=2 BENCH_W7_OPS=4096
			BENCH_W7_SG_OPS=2048 BENCH_W7_BATCH=64)
	else
		s+=(BENCH_W1_MS=150 BENCH_W2_MS=2000 BENCH_W2_BURSTS=24
			BENCH_W4_LIVE=100000 BENCH_W4_ITERS=200 BENCH_W5_ITERS=4096
			BENCH_W5_WALKS=20 BENCH_W6_MS=1000 BENCH_W6_BURSTS=8
			BENCH_MEM_ROUNDS=6 BENCH_W7_OPS=65536 BENCH_W7_SG_OPS=12288
			BENCH_W7_BATCH=64)
	fi
	printf '%s\n' "${s[@]}"
}

# The modules are built from a snapshot of the tree: others may be editing
# or rebuilding it while the VM runs. The module's build makes xiova.ko and
# xiova_dma.ko.
build_modules() {
	local mod=$WORK/xiova bench=$WORK/bench edu=$WORK/edu
	mkdir -p "$bench" "$edu"
	copy_module_sources "$mod"
	cp "$HERE"/Kbuild "$HERE"/Makefile "$HERE"/xiova_bench.c "$bench/"
	cp "$ROOT"/tools/edu/Kbuild "$ROOT"/tools/edu/Makefile \
		"$ROOT"/tools/edu/xiova_edu.c "$edu/"
	log "building xiova.ko, xiova_dma.ko, xiova_bench.ko and xiova_edu.ko against $KDIR"
	make -C "$mod" -s KDIR="$KDIR" TESTCTL=y >&2
	make -C "$bench" -s KDIR="$KDIR" XIOVA_DIR="$mod" >&2
	make -C "$edu" -s KDIR="$KDIR" >&2
}

run_vm() {
	# Seen by the functions run_vm calls (bash scopes dynamically).
	local KVER='' KVERSION='' KERNEL='' MODDIR='' HEADERS='' KDIR='' INITRAMFS_ARGS=()
	vm_kernel "$KERNEL_KIND" # KDIR; KVERSION and HEADERS too, from Debian's
	build_modules
	write_meta

	# A generous bound, from the workload sizes: ~60 s per repetition and
	# W7's ~5 s, W3 plus the trim waits, boot and unload.
	local guest_timeout=$((REPS * 130 + W3_SECS * 2 + 180))
	((SMOKE)) && guest_timeout=600
	"$ROOT/tools/vm/mkinitramfs.sh" -o "$WORK/initramfs.cpio.gz" \
		"${INITRAMFS_ARGS[@]}" -g "$HERE/guest-bench.sh" -t "$guest_timeout" \
		-f "$ROOT/tools/vm/guest-edu-lib.sh:/lib/xiova/guest-edu-lib.sh" \
		"$WORK/xiova/xiova.ko" "$WORK/xiova/dma/xiova_dma.ko" \
		"$WORK/bench/xiova_bench.ko" "$WORK/edu/xiova_edu.ko" \
		"$WORK/xiova/live/xiova_live.ko"

	local args=(-a slab_nomerge) kv
	while IFS= read -r kv; do args+=(-a "$kv"); done < <(guest_settings)
	log "booting Debian $KVER with intel-iommu (TCG, 2 vCPUs): $REPS repetitions, W3 ${W3_SECS}s"
	local rc=0 boot
	# A reused --out directory: only this run's boots may be collected.
	rm -f "$OUT"/serial-w7-*.log "$OUT"/serial-w8.log
	: >"$OUT/verdict.txt"
	boot_vm "$OUT/serial.log" $((guest_timeout + 120)) "${args[@]}" || rc=$?
	for ((boot = 2; boot <= W7_BOOTS; boot++)); do
		log "boot $boot of $W7_BOOTS: W7 alone"
		boot_vm "$OUT/serial-w7-$boot.log" $((REPS * 30 + 240)) \
			"${args[@]}" -a BENCH_ONLY=w7 || rc=$?
	done
	# W8 enables and disables the live patch: on 6.12 that rewrites every
	# cond_resched() call site, which TCG runs safely only with one host
	# thread for both vCPUs (Documentation/live.rst, "Testing under TCG").
	log "last boot: W8 alone"
	local single=''
	[[ $KERNEL_KIND == debian612 ]] && single=single
	XIOVA_TCG_THREAD=$single boot_vm "$OUT/serial-w8.log" $((REPS * 60 + 240)) \
		"${args[@]}" -a BENCH_ONLY=w8 || rc=$?
	return "$rc"
}

# boot_vm LOG TIMEOUT RUN_ARGS...: one boot of the bench image, judged.
boot_vm() {
	local log=$1 timeout=$2 rc=0
	shift 2
	# The edu device masks bus addresses to 28 bits, as xiova_edu expects.
	"$ROOT/tools/vm/run.sh" -k "$KERNEL" -i "$WORK/initramfs.cpio.gz" \
		--iommu intel --name bench -l "$log" -t "$timeout" "$@" \
		-- -device edu,dma_mask=0xfffffff | tee -a "$OUT/verdict.txt" >&2 || rc=$?
	return "$rc"
}

# The rows of every boot: the further boots' W7 repetitions are numbered
# after the first boot's, so that medians and ranges take in every boot.
collect() {
	local log boot reps=$1
	awk -f "$HERE/collect.awk" "$OUT/serial.log"
	for log in "$OUT"/serial-w7-*.log; do
		[[ -e $log ]] || continue
		boot=${log##*serial-w7-}
		boot=${boot%.log}
		awk -v ONLY='^w7' -v REP_BASE=$(((boot - 1) * reps)) -v HEADER=0 \
			-f "$HERE/collect.awk" "$log"
	done
	log=$OUT/serial-w8.log
	[[ -e $log ]] && awk -v ONLY='^w8' -v HEADER=0 -f "$HERE/collect.awk" "$log"
	return 0
}

# What the numbers were measured on, for the record.
write_meta() {
	local commit
	commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
	# The module's own sources only: top-level files.
	if [[ -n $(git -C "$ROOT" status --porcelain -- ':(glob)*.[ch]' Kbuild 2>/dev/null) ]]; then
		commit+="+local changes"
	fi
	{
		printf 'date=%s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
		printf 'commit=%s\n' "$commit"
		printf 'kernel=%s (%s)\n' "$KVER" "$KVERSION"
		printf 'qemu=%s\n' "$(qemu-system-x86_64 --version | head -n1)"
		printf 'host_cpus=%s\n' "$(nproc)"
		printf 'host_load=%s\n' "$(cut -d' ' -f1-3 /proc/loadavg)"
		printf 'smoke=%s\n' "$SMOKE"
		printf 'w7_boots=%s\n' "$W7_BOOTS"
		guest_settings
	} >"$OUT/meta.txt"
}

summarise() {
	local meta='' date='' commit='' load='' reps w3 boots
	reps=$(awk -f "$HERE/collect.awk" "$OUT/serial.log" |
		awk -F, '$1 == "env" && $5 == "reps" { print $6 }')
	collect "${reps:-1}" >"$OUT/results.csv"
	w3=$(awk -F, '$1 == "env" && $5 == "w3_secs" { print $6 }' "$OUT/results.csv")
	boots=$(find "$OUT" -maxdepth 1 -name 'serial-w7-*.log' | wc -l)
	if [[ -r $OUT/meta.txt ]]; then
		date=$(sed -n 's/^date=//p' "$OUT/meta.txt")
		commit=$(sed -n 's/^commit=//p' "$OUT/meta.txt")
		load=$(sed -n 's/^host_load=//p' "$OUT/meta.txt")
		meta="Run of $date, commit $commit, $reps repetitions, W3 $w3 s"
		((boots == 0)) || meta+=", W7 in $((boots + 1)) boots of $reps repetitions each"
		meta+="; host load average at the start: $load."
	fi
	awk -v OUT="$OUT" -v META="$meta" -f "$HERE/summary.awk" "$OUT/results.csv"
	gnuplot -e "dir='$OUT'" "$HERE/plot.gp"
	printf '\n' >&2
	cat "$OUT/summary.txt"
}

# The latest full run is what Documentation/benchmarks.rst shows.
publish() {
	local doc=$ROOT/Documentation/bench f
	[[ $KERNEL_KIND == debian612 ]] && doc+=/6.12
	mkdir -p "$doc"
	for f in results.inc summary.txt summary.csv results.csv meta.txt \
		w3.png ratios.png w1.png w7.png; do
		[[ -e $OUT/$f ]] && cp "$OUT/$f" "$doc/$f"
	done
	log "copied the results to $doc"
	# The two kernels side by side, from the latest run of each.
	doc=$ROOT/Documentation/bench
	if [[ -r $doc/summary.csv && -r $doc/6.12/summary.csv ]]; then
		awk -v OUT="$doc/kernels.inc" -f "$HERE/compare.awk" \
			"$doc/summary.csv" "$doc/6.12/summary.csv"
	fi
}

main "$@"
