#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Usage: tools/kunit/run.sh [--kernel 6.1|6.12] ARCH   ARCH: uml | x86_64
#
# Builds a Linux kernel (6.1 by default, or 6.12, from Debian's
# linux-source-VERSION) with the xiova module and its KUnit tests built
# in, boots it (UML, or QEMU with TCG and 2 vCPUs for x86_64) through that
# kernel's own kunit.py, and prints one line per test case:
#     ok <suite>.<case> | not ok <suite>.<case> | ok <suite>.<case> # SKIP
# (on 6.12, "6.12:<suite>.<case>") then a last line "kunit-ARCH: N passed,
# N failed, N skipped" ("kunit-ARCH-6.12: ..."). A parameterised case gets
# one line, failed if any of its parameters failed.
# Exits 0 only if kunit.py succeeded, at least one test passed, none failed
# and the console log shows no kernel splat.
#
# Environment:
#   XIOVA_SRC            module sources (default: the repository root)
#   XIOVA_CACHE          kernel tree and build dirs (default: /var/cache/xiova)
#   XIOVA_KUNIT_TIMEOUT  seconds allowed for the kernel run (default: 600)
#
# Files left in the cache: linux-source-VERSION/ (the tree), kunit-ARCH/
# (build dir, reused so that reruns are incremental; kunit-ARCH-6.12/ for
# 6.12), kunit-ARCH.log (raw console), kunit-ARCH.json (results),
# kunit-ARCH.tool.log (kunit.py's own output, including build errors).
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
readonly SCRIPT_DIR
# shellcheck source=../lib/common.sh
source "$SCRIPT_DIR/../lib/common.sh"

readonly KUNITCONFIG=$SCRIPT_DIR/xiova.kunitconfig

# UML only: kunit.py's arch_uml.config enables PCI over virtio but leaves
# its device ID at -1, and 6.1's um_pci_init() WARNs about that at every
# boot, which would fail the console-log check.  No test passes a virtio
# device to UML, so any valid ID will do.
readonly UML_KCONFIG_ADD=(
	CONFIG_UML_PCI_OVER_VIRTIO_DEVICE_ID=1234
)
# x86_64 only: SMP with CPU hotplug so that per-CPU code paths (and their
# hotplug callbacks) are exercised; DEBUG_ATOMIC_SLEEP is impossible on UML.
readonly X86_KCONFIG_ADD=(
	CONFIG_SMP=y
	CONFIG_HOTPLUG_CPU=y
	CONFIG_NR_CPUS=8
	CONFIG_DEBUG_ATOMIC_SLEEP=y
)
# kunit.py already passes "-m 1024" and no accelerator; "-accel tcg" makes
# sure it stays that way (KVM guests hang on this machine).
readonly X86_QEMU_ARGS='-smp 2 -accel tcg'

# Console lines that mean the kernel is unhappy even if every test passed.
readonly SPLAT_RE='BUG:|WARNING:|Oops|Call Trace|KASAN|possible circular locking|possible recursive locking|inconsistent lock state|sleeping function called from invalid context|suspicious RCU usage|Kernel panic|general protection fault|soft lockup|self-detected stall|detected stalls on CPU'

usage() {
	echo "usage: $0 [--kernel 6.1|6.12] uml|x86_64" >&2
	exit 2
}

main() {
	local version=6.1
	if [[ ${1:-} == --kernel ]]; then
		version=${2:-}
		shift 2 || usage
	fi
	[[ $# -eq 1 ]] || usage
	ARCH=$1
	case $ARCH in
	uml) KUNIT_ARCH=um ;;
	x86_64) KUNIT_ARCH=x86_64 ;;
	*) usage ;;
	esac
	# 6.1's names stay as they were; 6.12's carry the version.
	case $version in
	6.1) SUFFIX='' PREFIX='' ;;
	6.12) SUFFIX=-6.12 PREFIX=6.12: ;;
	*) usage ;;
	esac
	KERNEL_PKG=linux-source-$version
	KERNEL_TARBALL=/usr/src/$KERNEL_PKG.tar.xz
	KERNEL_DIR=$KERNEL_PKG
	NAME=$ARCH$SUFFIX

	SRC=$(module_src)
	install_deps
	CACHE=$(xiova_cache_dir)
	TREE=$CACHE/$KERNEL_DIR
	BUILD_DIR=$CACHE/kunit-$NAME
	CONSOLE_LOG=$CACHE/kunit-$NAME.log
	JSON=$CACHE/kunit-$NAME.json
	TOOL_LOG=$CACHE/kunit-$NAME.tool.log

	# All runs share one kernel tree whose drivers/xiova links name one
	# module source, so runs (even of different ARCHs) take turns.
	exec 9>"$CACHE/.lock"
	flock 9

	prepare_tree
	hook_into_drivers
	link_module
	forget_stale_objects
	run_kunit
	report
}

# The module sources: the repository root (two levels above this script,
# wherever the clone is), unless XIOVA_SRC says otherwise.
module_src() {
	local src=${XIOVA_SRC:-$SCRIPT_DIR/../..}
	src=$(cd "$src" && pwd -P) || die "no such directory: $src"
	[[ -f $src/Kbuild && -f $src/Kconfig ]] || die "$src has no Kbuild and Kconfig"
	printf '%s\n' "$src"
}

install_deps() {
	local pkgs=(build-essential bc bison flex libelf-dev libssl-dev python3 cpio xz-utils "$KERNEL_PKG")
	if [[ $ARCH == x86_64 ]]; then
		# qemu-system-data has qboot.rom, which kunit.py boots with.
		pkgs+=(qemu-system-x86 qemu-system-data)
	fi
	ensure_packages "${pkgs[@]}"
}

# Extract the kernel source once.  The stamp records which tarball the tree
# came from: no stamp means an interrupted extraction, another value means
# the package was upgraded; either way the tree is redone.
prepare_tree() {
	local stamp=$TREE/.xiova-extracted want tmp=$CACHE/.extract
	[[ -f $KERNEL_TARBALL ]] || die "$KERNEL_TARBALL missing (package $KERNEL_PKG)"
	want=$(stat -c '%s %Y' "$KERNEL_TARBALL")
	if [[ -f $stamp && $(<"$stamp") == "$want" ]]; then
		return 0
	fi

	log "extracting $KERNEL_TARBALL into $TREE"
	rm -rf "$tmp"
	mkdir -p "$tmp"
	tar -C "$tmp" -xJf "$KERNEL_TARBALL"
	[[ -f $tmp/$KERNEL_DIR/Makefile ]] || die "$KERNEL_TARBALL has no $KERNEL_DIR/"
	rm -rf "$TREE"
	mv "$tmp/$KERNEL_DIR" "$TREE"
	rmdir "$tmp"
	# Objects built from another tree must not be mistaken for current ones.
	rm -rf "$CACHE/kunit-uml$SUFFIX" "$CACHE/kunit-x86_64$SUFFIX"
	printf '%s\n' "$want" >"$stamp"
}

# Make drivers/xiova part of the kernel's Kconfig and build.  The top-level
# Kconfig sources drivers/Kconfig for every arch, UML included.  Only edits
# files that lack the line, so that reruns do not touch them.
hook_into_drivers() {
	local kconfig=$TREE/drivers/Kconfig makefile=$TREE/drivers/Makefile
	local source_line='source "drivers/xiova/Kconfig"'
	# shellcheck disable=SC2016 # a make variable, written as is
	local obj_line='obj-$(CONFIG_XIOVA) += xiova/'

	if ! grep -qxF "$source_line" "$kconfig"; then
		# drivers/Kconfig is one menu "Device Drivers"; stay inside it.
		grep -qx 'endmenu' "$kconfig" || die "no endmenu in $kconfig"
		awk -v line="$source_line" '
			{ lines[NR] = $0 }
			$0 == "endmenu" { last = NR }
			END {
				for (i = 1; i <= NR; i++) {
					if (i == last)
						print line "\n"
					print lines[i]
				}
			}' "$kconfig" >"$kconfig.tmp"
		mv "$kconfig.tmp" "$kconfig"
	fi
	if ! grep -qxF "$obj_line" "$makefile"; then
		printf '%s\n' "$obj_line" >>"$makefile"
	fi
}

# drivers/xiova holds only symlinks to the module's files, in the tree's
# layout: the sources Kbuild builds (make sources) and Kconfig. Links that
# are already right are left alone and the others are remade, so that a
# file deleted from the module disappears from the tree. Kbuild compiles
# through the links and make follows them for timestamps;
# forget_stale_objects covers files that come back with older timestamps.
link_module() {
	local dir=$TREE/drivers/xiova f link rel
	local -A want=()
	while IFS= read -r rel; do
		want[$rel]=$SRC/$rel
	done < <(make -s -C "$SRC" sources; echo Kconfig)
	((${#want[@]} > 1)) || die "no module sources listed in $SRC"

	mkdir -p "$dir"
	while IFS= read -r -d '' link; do
		rel=${link#"$dir"/}
		f=${want[$rel]:-}
		if [[ -z $f || ! -L $link || $(readlink "$link") != "$f" ]]; then
			rm -f "$link"
		fi
	done < <(find "$dir" ! -type d -print0)
	for rel in "${!want[@]}"; do
		link=$dir/$rel
		mkdir -p "$(dirname "$link")"
		[[ -L $link ]] || ln -s "${want[$rel]}" "$link"
	done
	log "linked ${#want[@]} files from $SRC into $dir"
}

# make rebuilds only what is older than its sources, so module files swapped
# in with older timestamps (another XIOVA_SRC, a copy that kept mtimes)
# would leave the previous build's objects in place.  Drop the module's
# objects whenever the linked files' contents change; nothing else needs it.
forget_stale_objects() {
	local stamp=$BUILD_DIR/.xiova-src.sha256 sum
	sum=$(cd "$TREE/drivers/xiova" && find . ! -type d -print0 | sort -z |
		xargs -0 sha256sum | sha256sum)
	if [[ -f $stamp && $(<"$stamp") == "$sum" ]]; then
		return 0
	fi
	rm -rf "$BUILD_DIR/drivers/xiova"
	mkdir -p "$BUILD_DIR"
	printf '%s\n' "$sum" >"$stamp"
}

run_kunit() {
	local timeout=${XIOVA_KUNIT_TIMEOUT:-600} start=$SECONDS
	# kunit.py chdirs to the kernel tree, so every path given must be absolute.
	local args=(
		run
		--arch="$KUNIT_ARCH"
		--kunitconfig="$KUNITCONFIG"
		--build_dir="$BUILD_DIR"
		--jobs="$(nproc)"
		--timeout="$timeout"
		--json="$JSON"
	)
	local opt
	if [[ $ARCH == x86_64 ]]; then
		for opt in "${X86_KCONFIG_ADD[@]}"; do
			args+=(--kconfig_add="$opt")
		done
		args+=(--qemu_args="$X86_QEMU_ARGS")
	else
		for opt in "${UML_KCONFIG_ADD[@]}"; do
			args+=(--kconfig_add="$opt")
		done
	fi

	# Stale results must not pass for this run's.
	rm -f "$BUILD_DIR/test.log" "$CONSOLE_LOG" "$JSON"
	log "kunit.py ${args[*]}"
	KUNIT_RC=0
	python3 -u "$TREE/tools/testing/kunit/kunit.py" "${args[@]}" </dev/null 2>&1 |
		tee "$TOOL_LOG" >&2 || KUNIT_RC=$?
	WALL_SECONDS=$((SECONDS - start))

	if [[ -f $BUILD_DIR/test.log ]]; then
		cp "$BUILD_DIR/test.log" "$CONSOLE_LOG"
	fi
}

# One line per test case from kunit.py's JSON (kunit_json.py): suites are
# the top group's sub_groups, cases their test_cases, and a parameterised
# case is a further sub_group whose test_cases are its parameters.
json_results() {
	python3 - "$JSON" <<'EOF'
import json, sys

def params_status(group):
    statuses = [c["status"] for c in group["test_cases"]]
    statuses += [params_status(g) for g in group["sub_groups"]]
    if any(s not in ("PASS", "SKIP") for s in statuses) or not statuses:
        return "FAIL"
    return "SKIP" if all(s == "SKIP" for s in statuses) else "PASS"

def emit(name, status):
    word = {"PASS": "ok", "SKIP": "ok"}.get(status, "not ok")
    print(f"{word} {name}" + (" # SKIP" if status == "SKIP" else ""))

with open(sys.argv[1]) as f:
    top = json.load(f)
# A suite that crashed or ran no case shows up as a bare test case here.
for case in top["test_cases"]:
    emit(case["name"] or "<missing-suite>", case["status"])
for suite in top["sub_groups"]:
    # A case the kernel never reported (it crashed or hung first) has no name.
    missing = 0
    for case in suite["test_cases"]:
        name = case["name"]
        if not name:
            missing += 1
            name = f"<missing-{missing}>"
        emit(f'{suite["name"]}.{name}', case["status"])
    for case in suite["sub_groups"]:
        name = f'{suite["name"]}.{case["name"]}'
        emit(name, params_status(case))
        for param in case["test_cases"]:
            if param["status"] not in ("PASS", "SKIP"):
                print(f'[xiova] {name}: parameter "{param["name"]}": {param["status"]}',
                      file=sys.stderr)
EOF
}

report() {
	local results='' splats='' built=1
	[[ -f $CONSOLE_LOG ]] || built=0
	if [[ -s $JSON ]]; then
		results=$(json_results) || log "cannot parse $JSON"
	fi

	if [[ $built -eq 0 ]]; then
		results+=$'\n'"not ok $ARCH.build"
		log "no kernel was booted (config or build failure), last 60 lines of $TOOL_LOG:"
		# Compiler messages name the tree's links; point at the real files.
		tail -n 60 "$TOOL_LOG" | sed "s|$TREE/drivers/xiova/|$SRC/|g" >&2
	else
		splats=$(grep -nE "$SPLAT_RE" "$CONSOLE_LOG" || true)
		if [[ -n $splats ]]; then
			results+=$'\n'"not ok $ARCH.kernel-log"
			log "kernel log problems in $CONSOLE_LOG:"
			printf '%s\n' "$splats" >&2
		fi
		if ! grep -qE '^(ok|not ok) ' <<<"$results"; then
			results+=$'\n'"not ok $ARCH.no-tests"
		elif [[ $KUNIT_RC -ne 0 ]] && ! grep -q '^not ok ' <<<"$results"; then
			# kunit.py failed with no failed case: crash, timeout or unparsable output.
			results+=$'\n'"not ok $ARCH.run"
		fi
	fi

	results=$(sed -E "/^\$/d; s/^(ok|not ok) /\\1 $PREFIX/" <<<"$results")
	local passed failed skipped
	passed=$(grep -c '^ok [^#]*$' <<<"$results" || true)
	failed=$(grep -c '^not ok ' <<<"$results" || true)
	skipped=$(grep -c '^ok .* # SKIP$' <<<"$results" || true)

	if [[ $built -eq 1 && ($failed -ne 0 || $passed -eq 0) ]]; then
		grep -F 'timed out after' "$TOOL_LOG" >&2 && log "the kernel run timed out"
		log "last 60 lines of $CONSOLE_LOG:"
		tail -n 60 "$CONSOLE_LOG" >&2
	fi
	report_timing
	if [[ $ARCH == x86_64 && $built -eq 1 ]]; then
		log "$(grep -m1 -E 'smp: Brought up' "$CONSOLE_LOG" || echo 'warning: no "smp: Brought up" line in the console log')"
	fi

	printf '%s\n' "$results"
	echo "kunit-$NAME: $passed passed, $failed failed, $skipped skipped"
	[[ $KUNIT_RC -eq 0 && $failed -eq 0 && $passed -gt 0 ]]
}

# kunit.py prints "Elapsed time: Ts total, Cs configuring, Bs building,
# Rs running" when it got as far as running the kernel.
report_timing() {
	local line
	line=$(grep -oE 'Elapsed time: .*running' "$TOOL_LOG" | tail -n 1 || true)
	if [[ $line =~ ([0-9.]+)s\ configuring,\ ([0-9.]+)s\ building,\ ([0-9.]+)s\ running ]]; then
		log "kunit-$NAME timing: configure ${BASH_REMATCH[1]}s, build ${BASH_REMATCH[2]}s, run ${BASH_REMATCH[3]}s (kunit.py wall ${WALL_SECONDS}s)"
	else
		log "kunit-$NAME timing: kunit.py wall ${WALL_SECONDS}s (did not reach the run)"
	fi
}

# One line, so that bash has read it all before main runs: editing this
# file during a run cannot change what the running shell does next.
main "$@"; exit
