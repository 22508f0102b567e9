#!/usr/bin/env bash
# Builds the HTML documentation from Documentation/ with Debian's Sphinx,
# every warning an error, into $XIOVA_CACHE/docs-html (default
# /var/cache/xiova/docs-html). The API reference comes from the sources'
# kernel-doc comments through the kernel's own kernel-doc script and Sphinx
# extension, taken from linux-source-6.12 (whose kernel-doc knows
# EXPORT_SYMBOL_NS_GPL) into $XIOVA_CACHE/docs-kernel once. Prints "ok
# docs.html" or "not ok docs.html"; exit status 1 on failure. Installs
# python3-sphinx and linux-source-6.12 when missing (root).
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
readonly ROOT
# shellcheck source=../lib/common.sh
source "$ROOT/tools/lib/common.sh"

readonly KERNEL_TARBALL=/usr/src/linux-source-6.12.tar.xz
readonly KERNEL_FILES=(scripts/kernel-doc Documentation/sphinx/kerneldoc.py
	Documentation/sphinx/kernellog.py)

# The kernel's kernel-doc tools, once per tarball: only three files of it.
kernel_doc_tools() {
	local dir=$1 stamp=$1/.stamp want f members=()
	want=$(stat -c '%s %Y' "$KERNEL_TARBALL")
	[[ -f $stamp && $(<"$stamp") == "$want" ]] && return 0
	rm -rf "$dir"
	mkdir -p "$dir"
	for f in "${KERNEL_FILES[@]}"; do members+=("linux-source-6.12/$f"); done
	tar -C "$dir" --strip-components=1 -xJf "$KERNEL_TARBALL" "${members[@]}"
	printf '%s\n' "$want" >"$stamp"
}

main() {
	local cache out
	ensure_packages python3-sphinx linux-source-6.12
	cache=$(xiova_cache_dir)
	out=$cache/docs-html
	kernel_doc_tools "$cache/docs-kernel"
	export XIOVA_KERNEL_DOC=$cache/docs-kernel

	# -E rereads every file: an incremental build would skip unchanged
	# files and so hide their warnings on a second run. The doctrees are
	# kept out of the HTML tree.
	if sphinx-build -W --keep-going -E -q -b html \
		-d "$cache/docs-doctrees" "$ROOT/Documentation" "$out" >&2; then
		log "documentation: $out/index.html"
		echo "ok docs.html"
	else
		echo "not ok docs.html"
		return 1
	fi
}

main "$@"
