#!/usr/bin/env bash
# Renders a statistics table printed by the main job (tools/main.sh) as a
# PNG for README.md: the block TITLE ("after-trim" by default) of the
# main job's serial log, drawn with gnuplot in a monospace font. Writes
# OUT.png and OUT.txt, the text it was drawn from.
#
# Usage: tools/docs/stats-image.sh [-l LOG] [-b TITLE] [-o OUT]
#   -l, --log FILE     serial log (default $XIOVA_CACHE/logs/main-debian-intel.log,
#                      which ./tools/main.sh writes)
#   -b, --block TITLE  the XIOVA-STATS-BEGIN block to draw (default after-trim)
#   -o, --out PATH     output without extension
#                      (default Documentation/images/stats-after-trim)
#
# Installs gnuplot-nox and fonts-dejavu-core when missing (root).
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
readonly ROOT
# shellcheck source=../lib/common.sh
source "$ROOT/tools/lib/common.sh"

usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit "${1:-0}"; }

LOG='' BLOCK=after-trim OUT=$ROOT/Documentation/images/stats-after-trim
readonly FONT="DejaVu Sans Mono"

main() {
	parse_args "$@"
	[[ -n $LOG ]] || LOG=$(xiova_cache_dir)/logs/main-debian-intel.log
	[[ -r $LOG ]] || die "no $LOG: run ./tools/main.sh first"
	ensure_packages gnuplot-nox fonts-dejavu-core

	local text
	text=$(extract_block)
	[[ -n $text ]] || die "no '$BLOCK' statistics in $LOG: run ./tools/main.sh again"
	mkdir -p "$(dirname "$OUT")"
	printf '%s\n' "$text" >"$OUT.txt"
	render "$OUT.txt" "$OUT.png"
	log "wrote $OUT.png and $OUT.txt"
}

# The block's lines, without the serial log's carriage returns and without
# kernel messages that the console interleaved.
extract_block() {
	tr -d '\r' <"$LOG" | awk -v t="$BLOCK" '
		$0 == "XIOVA-STATS-BEGIN " t { on = 1; next }
		on && /^XIOVA-STATS-END/ { exit }
		on && !/^\[ *[0-9]+\.[0-9]+\]/ { print }'
}

# One gnuplot label per line on an empty plot; the header row and the
# total row in bold. Sizes follow the text: 9 x 18 pixels per character
# (DejaVu Sans Mono at 11 points is 8.8 pixels wide).
render() {
	local txt=$1 png=$2 rows cols width height
	rows=$(wc -l <"$txt")
	cols=$(awk '{ if (length($0) > n) n = length($0) } END { print n }' "$txt")
	width=$((cols * 9 + 40)) height=$(((rows + 2) * 18 + 40))
	{
		printf 'set terminal pngcairo noenhanced size %d,%d font "%s,11" background "#f6f8fa"\n' \
			"$width" "$height" "$FONT"
		printf 'set output "%s"\n' "$png"
		printf 'unset border\nunset tics\nunset key\nset margins 0,0,0,0\n'
		printf 'set xrange [0:1]\nset yrange [0:1]\n'
		printf 'set label 1 "xiova domain statistics, %s (tools/main.sh: Debian 6.1, intel-iommu, 2 vCPUs)" at screen 0.5, screen %s center font "DejaVu Sans,11"\n' \
			"$BLOCK" "$(awk -v h="$height" 'BEGIN { printf "%.4f", 1 - 20 / h }')"
		awk -v w="$width" -v h="$height" -v font="$FONT" '
			{
				gsub(/\\/, "\\\\"); gsub(/"/, "\\\"")
				bold = ($1 == "class" || $1 == "total") ? ":Bold" : ""
				printf "set label %d \"%s\" at screen %.4f, screen %.4f left font \"%s%s,11\"\n",
					NR + 1, $0, 20 / w, 1 - (45 + NR * 18) / h, font, bold
			}' "$txt"
		printf 'plot 2 notitle\n'
	} | gnuplot
}

parse_args() {
	while (($#)); do
		case $1 in
		-l | --log) LOG=$2; shift ;;
		-b | --block) BLOCK=$2; shift ;;
		-o | --out) OUT=$2; shift ;;
		-h | --help) usage 0 ;;
		*) log "unknown argument $1"; usage 2 >&2 ;;
		esac
		shift
	done
}

main "$@"
