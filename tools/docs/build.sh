#!/usr/bin/env bash
# Builds the HTML documentation from Documentation/ with Debian's Sphinx,
# every warning an error, into $XIOVA_CACHE/docs-html (default
# /var/cache/xiova/docs-html). Prints "ok docs.html" or "not ok docs.html";
# exit status 1 on failure. Installs python3-sphinx when missing (root).
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
readonly ROOT
# shellcheck source=../lib/common.sh
source "$ROOT/tools/lib/common.sh"

main() {
	local cache out
	ensure_packages python3-sphinx
	cache=$(xiova_cache_dir)
	out=$cache/docs-html

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
