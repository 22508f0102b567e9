#!/bin/bash
# Tests mkinitramfs.sh on the host; no VM needed. Prints "ok NAME" or
# "not ok NAME - why" per case and exits non-zero if any failed.
#
# Cases: a file given with -f onto the path of a busybox applet (its link
# points at the absolute /bin/busybox) lands in the image as that file, and
# the host's /bin/busybox is left alone. The build runs in a private mount
# namespace with a copy of busybox mounted over /bin/busybox, so that a
# regression overwrites the copy, not the host's.
#
# Usage: selftest-mkinitramfs.sh
# Environment: XIOVA_MKINITRAMFS, the script to test (default: the one next
# to this script); pointing it at something broken must make this fail.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly HERE
readonly MKINITRAMFS=${XIOVA_MKINITRAMFS:-$HERE/mkinitramfs.sh}
# A program every Debian machine has whose path is also a busybox applet.
readonly PROG=/usr/bin/taskset

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
FAILED=0

result() {
	local name=$1 why=$2
	if [[ -z $why ]]; then
		echo "ok mkinitramfs.$name"
	else
		echo "not ok mkinitramfs.$name - $why"
		FAILED=$((FAILED + 1))
	fi
}

main() {
	local why=''
	/bin/busybox --list-full | grep -qx "${PROG#/}" ||
		why="$PROG is not a busybox applet here: the case tests nothing"
	[[ -n $why ]] || why=$(build_over_applet)
	result file-over-applet-link "$why"
	if [[ -n $why ]]; then
		why="no image to check"
	else
		why=$(check_image)
	fi
	result file-over-applet-in-image "$why"
	((FAILED == 0))
}

# Builds an image in a private mount namespace; says why if it failed or
# if the copy of busybox standing in for the host's was written to.
build_over_applet() {
	cp /bin/busybox "$WORK/busybox"
	printf '#!/bin/sh\n' >"$WORK/guest.sh"
	# shellcheck disable=SC2016 # the inner shell expands its arguments
	if ! unshare -m bash -c '
		set -e
		mount --make-rprivate /
		mount --bind "$1/busybox" /bin/busybox
		"$2" -o "$1/image.cpio" -g "$1/guest.sh" --moddir none --kver 6.1.0-selftest \
			-f "$3:$3"' _ "$WORK" "$MKINITRAMFS" "$PROG" >"$WORK/build.log" 2>&1; then
		echo "the build failed: $(tail -n1 "$WORK/build.log")"
		return
	fi
	cmp -s "$WORK/busybox" /bin/busybox ||
		echo "the build wrote through the applet link into /bin/busybox"
}

check_image() {
	mkdir "$WORK/image"
	(cd "$WORK/image" && cpio -id --quiet <"$WORK/image.cpio") ||
		{ echo "cannot unpack the image"; return; }
	if [[ -L $WORK/image$PROG ]]; then
		echo "$PROG is still busybox's link in the image"
	elif ! cmp -s "$WORK/image$PROG" "$PROG"; then
		echo "$PROG in the image is not the host's"
	fi
}

main "$@"
