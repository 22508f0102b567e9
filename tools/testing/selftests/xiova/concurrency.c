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

static long target = OPS_PER_CPU;

FIXTURE(concurrency) {
	int fd;
	struct load_shared *sh;
};

FIXTURE_SETUP(concurrency)
{
	self->fd = load_open(DOM, &self->sh);
	ASSERT_LE(0, self->fd) TH_LOG("setting up " DOM ": %s",
				      strerror(-self->fd));
}

FIXTURE_TEARDOWN(concurrency)
{
	load_close(self->fd, self->sh, DOM, true);
}

/*
 * The steps share the load, so they are one case; each step's checks
 * follow the log line naming it.
 */
TEST_F_TIMEOUT(concurrency, load, 900)
{
	struct load_shared *sh = self->sh;
	double start;
	int n;

	TH_LOG("step workers_ran");
	start = now_sec();
	n = load_start(sh, DOM, target);
	ASSERT_LT(0, n) TH_LOG("no worker started");
	EXPECT_TRUE(load_wait(sh, done, 600));
	diag("%d workers, %ld ops (%ld bursts) in %.2f s", n,
	     load_total_ops(sh), load_total_bursts(sh), now_sec() - start);
	EXPECT_EQ((long)n * target, load_total_ops(sh));
	EXPECT_FALSE(load_any_failed(sh));

	TH_LOG("step holdings_accounted");
	EXPECT_TRUE(load_check_holdings(sh, self->fd, DOM));

	TH_LOG("step workers_freed_all");
	EXPECT_TRUE(load_finish(sh));

	TH_LOG("step domain_empty_after_flush");
	EXPECT_TRUE(load_check_empty(self->fd, DOM));
}

/* concurrency [OPS_PER_CPU] */
static void check(int argc, char **argv)
{
	if (argc > 1)
		target = atol(argv[1]);
	xc_require_ctl();
}

XC_HARNESS_MAIN(check)
