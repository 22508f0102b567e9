// SPDX-License-Identifier: GPL-2.0-only
/*
 * Domain create/destroy cycles with allocation failures injected into
 * this process only: /proc/self/make-it-fail is set around each command,
 * so with failslab (and fail_page_alloc) configured with task-filter=Y
 * and a probability, any allocation a command makes may fail, the
 * module's kmalloc'd ones (domain, rcache array, per-CPU caches, debugfs
 * entries, burst arrays) as well as its tree nodes and magazines.
 *
 * Each cycle: create, three alloc_fast and one alloc, a burst of 30,
 * check, destroy. What may happen:
 *   create      0, or ENOMEM; then nothing may be left: "destroy" (with
 *               no fault) answers ENOENT
 *   alloc*      0 or ENOSPC
 *   burst       0, ENOSPC (a range) or ENOMEM (its pfn array)
 *   check       0: the tree is sound whatever failed
 *   destroy     0
 * Anything else fails the test. The caller checks leaks (kmemleak, the
 * module's counts at unload). The domain must not exist beforehand, and
 * another domain should hold the module's caches, so that the cycles do
 * not create and destroy the kmem_caches (whose creation failure the slab
 * allocator reports with a stack dump).
 *
 * Usage: fault_cycles [-n CYCLES] [DOMAIN]      (default 100, "fc0")
 * The last diagnostic line is machine-readable:
 *   # counts: cycles=N create_ok=N create_enomem=N alloc_ok=N
 *     alloc_enospc=N alloc_enomem=N burst_ok=N burst_enospc=N burst_enomem=N
 */
#include <getopt.h>

#include "xiova_ctl.h"

#define MAKE_IT_FAIL	"/proc/self/make-it-fail"

static int fail_fd = -1;
static const char *cycle_dom = "fc0";
static long cycles = 100;

/* What the commands of the cycles answered. */
struct fc_counts {
	long create_ok, create_enomem, alloc_ok, alloc_enospc, alloc_enomem;
	long burst_ok, burst_enospc, burst_enomem;
};

static void set_fail(bool on)
{
	if (pwrite(fail_fd, on ? "1" : "0", 1, 0) != 1) {
		diag("writing " MAKE_IT_FAIL ": %s", strerror(errno));
		exit(KSFT_FAIL);
	}
}

/* One command with faults on; its result (0 or -errno). */
static int faulty(int fd, char *reply, size_t size, const char *cmd)
{
	int ret;

	set_fail(true);
	ret = xc_cmd(fd, reply, size, "%s", cmd);
	set_fail(false);
	return ret;
}

static bool run_cycle(int fd, const char *dom, int i, struct fc_counts *c)
{
	char cmd[128], reply[128];
	int ret, k;

	snprintf(cmd, sizeof(cmd), "create %s", dom);
	ret = faulty(fd, NULL, 0, cmd);
	if (ret == -ENOMEM) {
		c->create_enomem++;
		ret = xc_cmd(fd, NULL, 0, "destroy %s", dom);
		if (ret != -ENOENT) {
			fail("run %d: create failed with ENOMEM but destroy answered %s",
			     i, strerror(-ret));
			return false;
		}
		return true;
	}
	if (ret) {
		fail("run %d: create -> %s", i, strerror(-ret));
		return false;
	}
	c->create_ok++;

	for (k = 0; k < 4; k++) {
		snprintf(cmd, sizeof(cmd), "%s %s %d 0xffffffff 1",
			 k < 3 ? "alloc_fast" : "alloc", dom, 1 << k);
		ret = faulty(fd, reply, sizeof(reply), cmd);
		if (!ret) {
			c->alloc_ok++;
		} else if (ret == -ENOSPC) {
			c->alloc_enospc++;
		} else if (ret == -ENOMEM) {
			/* The test interface could not record the range: given back. */
			c->alloc_enomem++;
		} else {
			fail("run %d: '%s' -> %s", i, cmd, strerror(-ret));
			return false;
		}
	}

	snprintf(cmd, sizeof(cmd), "burst %s 30 2", dom);
	ret = faulty(fd, reply, sizeof(reply), cmd);
	if (!ret) {
		c->burst_ok++;
	} else if (ret == -ENOSPC) {
		c->burst_enospc++;
	} else if (ret == -ENOMEM) {
		c->burst_enomem++;
	} else {
		fail("run %d: '%s' -> %s", i, cmd, strerror(-ret));
		return false;
	}

	ret = xc_cmd(fd, NULL, 0, "check %s", dom);
	if (ret) {
		fail("run %d: check %s -> %s", i, dom, strerror(-ret));
		return false;
	}
	snprintf(cmd, sizeof(cmd), "destroy %s", dom);
	ret = faulty(fd, NULL, 0, cmd);
	if (ret) {
		fail("run %d: destroy %s -> %s", i, dom, strerror(-ret));
		return false;
	}
	return true;
}

FIXTURE(fault_cycles) {
	int fd;
	struct fc_counts c;
};

FIXTURE_SETUP(fault_cycles)
{
	self->fd = xc_open();
	ASSERT_LE(0, self->fd) TH_LOG("open " XC_CTL ": %s",
				      strerror(-self->fd));
	/*
	 * Here, in the case's own process: /proc/self names the process that
	 * opens it, and only the marked task's allocations fail.
	 */
	fail_fd = open(MAKE_IT_FAIL, O_WRONLY);
	ASSERT_LE(0, fail_fd) TH_LOG("open " MAKE_IT_FAIL ": %s",
				     strerror(errno));
}

FIXTURE_TEARDOWN(fault_cycles)
{
	xc_cmd(self->fd, NULL, 0, "destroy %s", cycle_dom);
	close(self->fd);
	if (fail_fd >= 0)
		close(fail_fd);
}

/* The last diagnostic line, "# counts: ...", is printed whatever failed. */
TEST_F(fault_cycles, cycles_fail_cleanly)
{
	bool ok = true;
	long i;

	for (i = 0; i < cycles && ok; i++)
		ok = run_cycle(self->fd, cycle_dom, i, &self->c);
	EXPECT_TRUE(ok) TH_LOG("cycle %ld failed", i - 1);
	/* One line: the guest script reads it with one sed. */
	printf("# counts: cycles=%ld create_ok=%ld create_enomem=%ld", i,
	       self->c.create_ok, self->c.create_enomem);
	printf(" alloc_ok=%ld alloc_enospc=%ld alloc_enomem=%ld",
	       self->c.alloc_ok, self->c.alloc_enospc, self->c.alloc_enomem);
	printf(" burst_ok=%ld burst_enospc=%ld burst_enomem=%ld\n",
	       self->c.burst_ok, self->c.burst_enospc, self->c.burst_enomem);
	fflush(stdout);
}

static void check(int argc, char **argv)
{
	int opt;

	while ((opt = getopt(argc, argv, "n:")) != -1) {
		if (opt != 'n') {
			fprintf(stderr, "usage: fault_cycles [-n CYCLES] [DOMAIN]\n");
			exit(KSFT_FAIL);
		}
		cycles = atol(optarg);
	}
	if (optind < argc)
		cycle_dom = argv[optind];
	xc_require_ctl();
	if (access(MAKE_IT_FAIL, W_OK))
		xc_skip_all(MAKE_IT_FAIL " is missing (CONFIG_FAULT_INJECTION)");
	/* A cycle takes well under a second, even on a debug kernel. */
	xc_set_timeouts(300 + 2 * (int)(cycles > 0 ? cycles : 0));
}

XC_HARNESS_MAIN(check)
