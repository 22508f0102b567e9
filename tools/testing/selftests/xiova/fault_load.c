// SPDX-License-Identifier: GPL-2.0-only
/*
 * The concurrent load of concurrency.c, for a given time, in a form that
 * survives allocation failures: one pinned process per CPU doing
 * alloc_fast/free_fast, alloc/free and bursts on one shared domain. With
 * -e (fault injection is on), an allocation or burst that fails with
 * ENOSPC is counted and the load goes on; any other error, and any error
 * without -e, fails. Frees never fail: a free that cannot get a magazine
 * goes to the tree.
 *
 * Halfway through, the workers hold still and every range they hold must
 * be in the tree exactly once, with the tree's node count equal to what
 * they hold plus what the magazines cache; the same at the end. Then they
 * free everything and the domain must hold cached ranges only. Without -k
 * it is flushed (the tree must be empty) and destroyed; with -k it is left
 * with its magazines full for the caller to destroy, so that the teardown
 * audit (debug_checks=1, debugfs xiova/audit) checks real magazines.
 *
 * Usage: fault_load [-e] [-k] [-s SECONDS] [DOMAIN]   (default 10 s, "fl0")
 * The last diagnostic line is machine-readable:
 *   # counts: ops=N bursts=N alloc_enospc=N burst_enospc=N repins=N
 */
#include <getopt.h>

#include "xiova_load.h"

struct fl_counts {
	long	alloc_enospc;
	long	burst_enospc;
};

static struct fl_counts *counts;
static bool expect_enospc;

static const unsigned long fl_sizes[] = {
	1, 1, 1, 2, 2, 3, 4, 4, 5, 8, 8, 13, 16, 20, 32, 33, 64,
};

/* An allocation failed with ret: fine only for ENOSPC under -e. */
static bool fl_tolerated(struct load_shared *sh, int i, int ret,
			 long *counter, const char *what)
{
	if (ret == -ENOSPC && expect_enospc) {
		__atomic_add_fetch(counter, 1, __ATOMIC_RELAXED);
		return true;
	}
	wfail(sh, i, "%s -> %s", what, strerror(-ret));
	return false;
}

static bool fl_burst(struct load_shared *sh, int i, int fd, const char *dom,
		     unsigned long r)
{
	unsigned long count = 32 + r % 200, size = fl_sizes[r % 17], done;
	int ret = xc_burst(fd, dom, count, size, 1, &done, NULL);

	if (!ret && done == count) {
		sh->w[i].bursts++;
		return true;
	}
	if (ret)
		return fl_tolerated(sh, i, ret, &counts[i].burst_enospc,
				    "burst");
	wfail(sh, i, "burst %s %lu %lu: %lu ops", dom, count, size, done);
	return false;
}

/* 0 when allocated, 1 when refused and tolerated, -1 on a failure. */
static int fl_alloc(struct load_shared *sh, int i, int fd, const char *dom,
		    unsigned long r, long ops, struct load_range *n)
{
	bool fast = r % 10 != 0;
	unsigned long lo, hi;
	int ret;

	n->size = fl_sizes[(r >> 8) % 17];
	n->fast = fast;
	n->len = fast ? load_fast_len(n->size) : n->size;
	ret = xc_alloc(fd, fast ? "alloc_fast" : "alloc", dom, n->size,
		       LOAD_LIMIT, 1, &n->pfn);
	if (ret)
		return fl_tolerated(sh, i, ret, &counts[i].alloc_enospc,
				    fast ? "alloc_fast" : "alloc") ? 1 : -1;
	if (!(ops % 8)) {
		ret = xc_find(fd, dom, n->pfn, &lo, &hi);
		if (ret || lo != n->pfn || hi != n->pfn + n->len - 1) {
			wfail(sh, i, "find %s %#lx -> %s [%#lx, %#lx], expected %lu pfns",
			      dom, n->pfn, strerror(-ret), lo, hi, n->len);
			return -1;
		}
	}
	return 0;
}

static int fl_worker(struct load_shared *sh, int i, const char *dom)
{
	struct load_range held[LOAD_MAX_HOLD];
	unsigned long state = 0x9e3779b97f4a7c15ul * (i + 1);
	int fd, nheld = 0, cpu = sh->w[i].cpu, ret;
	long ops = 0;

	fd = load_worker_open(sh, i);
	if (fd < 0)
		return 1;
	while (!sh->w[i].failed) {
		unsigned long r = load_rand(&state);

		load_worker_pause(sh, i, held, nheld);
		if (LOAD_GET(sh->stop))
			break;
		/* Back home once an offlined CPU returns. */
		if (!(ops % 64) && !pinned_to(cpu) && !pin_cpu(cpu))
			sh->w[i].repins++;

		if (r % 100 < 2) {
			if (!fl_burst(sh, i, fd, dom, r))
				break;
		} else if (nheld < LOAD_MAX_HOLD && (!nheld || r % 100 < 52)) {
			ret = fl_alloc(sh, i, fd, dom, r, ops, &held[nheld]);
			if (ret < 0)
				break;
			if (!ret)
				nheld++;
		} else {
			int k = (r >> 8) % nheld;

			if (!load_free_one(sh, i, fd, dom, &held[k]))
				break;
			held[k] = held[--nheld];
		}
		ops++;
		sh->w[i].ops = ops;
	}

	return load_worker_finish(sh, i, fd, dom, held, nheld);
}

/* Runs until the deadline or a worker fails; true if none failed. */
static bool fl_run_until(struct load_shared *sh, double deadline)
{
	while (now_sec() < deadline) {
		if (load_any_failed(sh))
			return false;
		sleep_ms(50);
	}
	return !load_any_failed(sh);
}

static void fl_totals(struct load_shared *sh, long *alloc, long *burst,
		      long *repins)
{
	int i;

	*alloc = *burst = *repins = 0;
	for (i = 0; i < sh->nworkers; i++) {
		*alloc += __atomic_load_n(&counts[i].alloc_enospc,
					  __ATOMIC_RELAXED);
		*burst += __atomic_load_n(&counts[i].burst_enospc,
					  __ATOMIC_RELAXED);
		*repins += LOAD_GET(sh->w[i].repins);
	}
}

/* Everything freed: only cached ranges left, and a sound tree. */
static bool fl_check_cached_only(int fd, const char *dom)
{
	bool ok = xc_expect_nodes_settled(dom, 0);

	if (xc_cmd(fd, NULL, 0, "check %s", dom)) {
		fail("check %s failed after everything was freed", dom);
		ok = false;
	}
	return ok;
}

static void __noreturn print_usage(void)
{
	fprintf(stderr, "usage: fault_load [-e] [-k] [-s SECONDS] [DOMAIN]\n");
	exit(KSFT_FAIL);
}

/* The options, read before the harness forks the case. */
static const char *dom = "fl0";
static double secs = 10;
static bool keep;

FIXTURE(fault_load) {
	int fd;
	struct load_shared *sh;
};

FIXTURE_SETUP(fault_load)
{
	counts = mmap(NULL, sizeof(*counts) * LOAD_MAX_WORKERS,
		      PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, counts);
	self->fd = load_open(dom, &self->sh);
	ASSERT_LE(0, self->fd) TH_LOG("setting up %s: %s", dom,
				      strerror(-self->fd));
}

/* With -k the domain stays, magazines full, for the caller to destroy. */
FIXTURE_TEARDOWN(fault_load)
{
	load_close(self->fd, self->sh, dom, !keep);
}

/*
 * The steps share the load, so they are one case; each step's checks
 * follow the log line naming it. The last diagnostic line, "# counts:
 * ...", is printed whatever failed.
 */
TEST_F(fault_load, load)
{
	long alloc_enospc, burst_enospc, repins;
	struct load_shared *sh = self->sh;
	double start;
	bool ran;
	int n;

	TH_LOG("step holdings_accounted_midway");
	start = now_sec();
	n = load_fork(sh, dom, fl_worker);
	ASSERT_LT(0, n) TH_LOG("no worker started");
	ran = fl_run_until(sh, start + secs / 2);
	EXPECT_TRUE(ran);
	/* Halfway: the workers hold still with partly filled magazines. */
	if (ran) {
		EXPECT_TRUE(load_pause(sh));
		EXPECT_TRUE(load_check_holdings(sh, self->fd, dom));
	}
	load_resume(sh);

	TH_LOG("step workers_ran");
	if (ran)
		EXPECT_TRUE(fl_run_until(sh, start + secs));
	LOAD_SET(sh->stop, 1);
	EXPECT_TRUE(load_wait(sh, done, 600));
	diag("%d workers, %ld ops (%ld bursts) in %.2f s", n,
	     load_total_ops(sh), load_total_bursts(sh), now_sec() - start);
	EXPECT_FALSE(load_any_failed(sh));

	TH_LOG("step holdings_accounted");
	EXPECT_TRUE(load_check_holdings(sh, self->fd, dom));

	TH_LOG("step workers_freed_all");
	EXPECT_TRUE(load_finish(sh));

	if (keep) {
		TH_LOG("step only_cached_left");
		EXPECT_TRUE(fl_check_cached_only(self->fd, dom));
	} else {
		TH_LOG("step domain_empty_after_flush");
		EXPECT_TRUE(load_check_empty(self->fd, dom));
	}
	fl_totals(sh, &alloc_enospc, &burst_enospc, &repins);
	diag("counts: ops=%ld bursts=%ld alloc_enospc=%ld burst_enospc=%ld repins=%ld",
	     load_total_ops(sh), load_total_bursts(sh), alloc_enospc,
	     burst_enospc, repins);
}

static void check(int argc, char **argv)
{
	int opt;

	while ((opt = getopt(argc, argv, "eks:")) != -1) {
		switch (opt) {
		case 'e':
			expect_enospc = true;
			break;
		case 'k':
			keep = true;
			break;
		case 's':
			secs = atof(optarg);
			break;
		default:
			print_usage();
		}
	}
	if (optind < argc)
		dom = argv[optind++];
	if (optind != argc || secs <= 0)
		print_usage();
	xc_require_ctl();
	/* The load, the final wait for the workers, and time to check. */
	xc_set_timeouts((int)secs + 600 + 300);
}

XC_HARNESS_MAIN(check)
