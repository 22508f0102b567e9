#!/bin/bash
# End-to-end test of the failure detection: boots the Debian kernel with a
# module that provokes a warning, a panic or a hang on request, and checks
# that run.sh reports each one (and nothing on a clean run). About a minute.
#
# Usage: selftest-vm.sh
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly HERE
WORK=''
CASES=0 BROKEN=0

main() {
	local paths
	paths=$("$HERE/debian-kernel.sh")
	eval "$paths" # KVER KERNEL HEADERS ...
	WORK=$(mktemp -d /tmp/xiova-selftest-vm.XXXXXX)
	trap 'rm -rf "$WORK"' EXIT

	build_provoke_module "$WORK/provoke"
	write_guest_script "$WORK/guest.sh"
	"$HERE/mkinitramfs.sh" -o "$WORK/initramfs.cpio.gz" -g "$WORK/guest.sh" \
		-t 10 "$WORK/provoke/provoke.ko"

	expect clean 0 '^ok [0-9]+ clean\.kernel-log$' '^ok 1 clean\.provoke$' '^1\.\.2$'
	expect warn 1 '^not ok [0-9]+ warn\.kernel-log # ' '^#   .*WARNING: CPU: .* provoke_init'
	expect panic 1 '^not ok [0-9]+ panic\.boot # ' '^#   .*Kernel panic - not syncing: provoke'
	expect hang 1 '^not ok [0-9]+ hang\.guest-script # rc=137 \(killed at time limit\)$'

	echo "selftest-vm: $CASES cases, $BROKEN failed"
	((BROKEN == 0))
}

build_provoke_module() {
	local dir=$1
	mkdir -p "$dir"
	cat >"$dir/provoke.c" <<'EOF'
#include <linux/init.h>
#include <linux/kernel.h>
#include <linux/module.h>

static char *what = "nothing";
module_param(what, charp, 0444);

static int __init provoke_init(void)
{
	if (!strcmp(what, "warn"))
		WARN_ON(1);
	else if (!strcmp(what, "panic"))
		panic("provoke");
	return 0;
}

static void __exit provoke_exit(void)
{
}

module_init(provoke_init);
module_exit(provoke_exit);
MODULE_LICENSE("GPL");
EOF
	echo 'obj-m := provoke.o' >"$dir/Kbuild"
	make -s -C "$HEADERS" M="$dir" modules 2>&1 | grep -v '^Skipping BTF' >&2 || true
	[[ -f $dir/provoke.ko ]]
}

# PROVOKE comes from the kernel command line (run.sh --append).
write_guest_script() {
	cat >"$1" <<'EOF'
#!/bin/sh
. /lib/xiova/guest-lib.sh
case $PROVOKE in
hang) xt_pass provoke; sleep 600 ;;
*) xt_check provoke modprobe provoke what="$PROVOKE" ;;
esac
EOF
}

# expect CASE WANT_RC ERE... : boots with PROVOKE=CASE and greps run.sh's output.
expect() {
	local name=$1 want_rc=$2
	shift 2
	local out=$WORK/$name.out rc=0 problems=() re
	"$HERE/run.sh" -k "$KERNEL" -i "$WORK/initramfs.cpio.gz" --name "$name" \
		-l "$WORK/$name.log" -t 90 -a "PROVOKE=$name" >"$out" 2>&1 || rc=$?
	((rc == want_rc)) || problems+=("exit status $rc, want $want_rc")
	for re in "$@"; do
		grep -qE -- "$re" "$out" || problems+=("nothing matches: $re")
	done
	CASES=$((CASES + 1))
	if ((${#problems[@]} == 0)); then
		echo "ok vm-selftest.$name"
		return
	fi
	BROKEN=$((BROKEN + 1))
	echo "not ok vm-selftest.$name"
	printf '    %s\n' "${problems[@]}"
	sed 's/^/    | /' "$out"
}

main "$@"
