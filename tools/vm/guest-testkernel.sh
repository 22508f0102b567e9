#!/bin/sh
# shellcheck shell=sh source-path=SCRIPTDIR
# Guest script for the debug test kernel: the KUnit suites as modules, with
# results read from debugfs, then the Debian guest suite (guest-xiova.sh),
# then a kmemleak scan over everything that ran.
# shellcheck source=guest-lib.sh
. /lib/xiova/guest-lib.sh

KUNIT_DIR=/sys/kernel/debug/kunit

# One result per case of a suite's debugfs results, which are reliable where
# kunit.py's parsing of module output is not on 6.1. Cases are the lines
# one level in ("    ok 3 name"); parameters sit deeper and are folded in.
report_suite() {
	results=$KUNIT_DIR/$1/results
	if [ ! -r "$results" ]; then
		xt_fail "kunit-$1" "no $results"
		return
	fi
	awk -v suite="$1" '
		/^    (not )?ok [0-9]+ / {
			name = ($1 == "not") ? $4 : $3
			verdict = ($1 == "not") ? "FAIL" : (/# SKIP/ ? "SKIP" : "PASS")
			printf "kunit.%s.%s %s\n", suite, name, verdict
			n++
		}
		END {
			if (!n)
				printf "kunit-%s NONE\n", suite
		}' "$results" | while read -r name verdict; do
		case $verdict in
		PASS) xt_pass "$name" ;;
		SKIP) xt_skip "$name" ;;
		NONE) xt_fail "$name" "no case results" ;;
		*) xt_fail "$name" ;;
		esac
	done
}

run_kunit() {
	if ! modprobe kunit || ! modprobe xiova_kunit; then
		xt_fail kunit-load "cannot load kunit and xiova_kunit"
		return
	fi
	for suite in xiova_magazine xiova_depot xiova_rcache xiova_hotplug \
		xiova_tree xiova_reserve xiova_badinput xiova_audit; do
		report_suite "$suite"
	done
	xt_check kunit-unload rmmod xiova_kunit xiova
}

run_kunit
sh /xiova/guest-xiova.sh
xt_check kmemleak-clean kmemleak_clean
