// SPDX-License-Identifier: GPL-2.0-only
/*
 * One process per online CPU, pinned, each running thousands of
 * alloc_fast/free_fast (and some alloc/free and bursts) through its own
 * control fd on one shared domain. At the end every range held must be in
 * the tree exactly once, and once everything is freed and flushed the
 * domain must be empty with a sound tree.
 */
#include "xiova_load.h"

#define DOM		"cc0"
#define OPS_PER_CPU	20000

int main(int argc, char **argv)
{
	long target = argc > 1 ? atol(argv[1]) : OPS_PER_CPU;
	struct load_shared *sh;
	double start, secs;
	bool ok;
	int fd, n;

	xc_require_ctl();
	fd = xc_open();
	if (fd < 0) {
		printf("# open " XC_CTL ": %s\n", strerror(-fd));
		return KSFT_FAIL;
	}
	xc_cmd(fd, NULL, 0, "destroy " DOM);
	sh = load_map();
	if (!sh || xc_cmd(fd, NULL, 0, "create " DOM)) {
		printf("# cannot create " DOM " or map the shared area\n");
		return KSFT_FAIL;
	}
	tap_plan(4);

	start = now_sec();
	n = load_start(sh, DOM, target);
	ok = n > 0 && load_wait(sh, done, 600);
	secs = now_sec() - start;
	diag("%d workers, %ld ops (%ld bursts) in %.2f s", n,
	     load_total_ops(sh), load_total_bursts(sh), secs);
	if (ok && load_total_ops(sh) != (long)n * target) {
		fail("%ld ops done, expected %ld", load_total_ops(sh),
		     (long)n * target);
		ok = false;
	}
	tap_result(ok && !load_any_failed(sh) ? TAP_PASS : TAP_FAIL,
		   "workers_ran", NULL);

	tap_result(load_check_holdings(sh, fd, DOM) ? TAP_PASS : TAP_FAIL,
		   "holdings_accounted", NULL);

	tap_result(load_finish(sh) ? TAP_PASS : TAP_FAIL, "workers_freed_all",
		   NULL);

	tap_result(load_check_empty(fd, DOM) ? TAP_PASS : TAP_FAIL,
		   "domain_empty_after_flush", NULL);

	xc_cmd(fd, NULL, 0, "destroy " DOM);
	close(fd);
	return tap_exit();
}
