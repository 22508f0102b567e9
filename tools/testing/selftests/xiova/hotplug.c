// SPDX-License-Identifier: GPL-2.0-only
/*
 * CPU 1 goes offline while the concurrent load runs on it: the hotplug
 * callback must drain its magazines in every class (full ones to the
 * depot, partial ones to the tree) so that every range stays accounted
 * for, and the CPU must hold no magazine while it is away. Then CPU 1
 * comes back, the load goes on, and at the end everything is freed.
 */
#include "xiova_load.h"

#define DOM		"hp0"
#define CPU1_ONLINE	"/sys/devices/system/cpu/cpu1/online"

static int cpu1_state(void)
{
	char buf[16];

	if (xc_read_file(CPU1_ONLINE, buf, sizeof(buf)) < 0)
		return -1;
	return atoi(buf);
}

/* Waits until the workers did at least min ops more than before. */
static bool load_progresses(struct load_shared *sh, long min, double timeout)
{
	long start = load_total_ops(sh);
	double end = now_sec() + timeout;

	while (load_total_ops(sh) < start + min) {
		if (now_sec() > end || load_any_failed(sh)) {
			fail("the load did %ld ops in %.0f s, expected %ld",
			     load_total_ops(sh) - start, timeout, min);
			return false;
		}
		sleep_ms(10);
	}
	return true;
}

/*
 * Waits for one worker's own progress: on a loaded host the scheduler of
 * the vCPUs decides how the total splits between workers, so a window
 * measured by the total says nothing about one of them.
 */
static bool worker_progresses(struct load_shared *sh, int w, long min,
			      double timeout)
{
	long start = LOAD_GET(sh->w[w].ops);
	double end = now_sec() + timeout;

	while (LOAD_GET(sh->w[w].ops) < start + min) {
		if (now_sec() > end || load_any_failed(sh)) {
			fail("the worker of CPU %d did %ld ops in %.0f s, expected %ld",
			     sh->w[w].cpu, LOAD_GET(sh->w[w].ops) - start,
			     timeout, min);
			return false;
		}
		sleep_ms(10);
	}
	return true;
}

static int worker_on(struct load_shared *sh, int cpu)
{
	int i;

	for (i = 0; i < sh->nworkers; i++)
		if (sh->w[i].cpu == cpu)
			return i;
	return -1;
}

FIXTURE(hotplug) {
	int fd;
	struct load_shared *sh;
};

FIXTURE_SETUP(hotplug)
{
	self->fd = load_open(DOM, &self->sh);
	ASSERT_LE(0, self->fd) TH_LOG("setting up " DOM ": %s",
				      strerror(-self->fd));
}

/* CPU 1 comes back whatever happened. */
FIXTURE_TEARDOWN(hotplug)
{
	if (cpu1_state() == 0)
		xc_write_file(CPU1_ONLINE, "1");
	load_close(self->fd, self->sh, DOM, true);
}

/*
 * The steps share the load and CPU 1's state, so they are one case; each
 * step's checks follow the log line naming it.
 */
TEST_F_TIMEOUT(hotplug, offline_online, 900)
{
	struct load_shared *sh = self->sh;
	struct xc_stats before, st;
	int n, c, w1, ret;
	double end;

	TH_LOG("step load_running");
	n = load_start(sh, DOM, 0);
	ASSERT_LT(0, n) TH_LOG("no worker started");
	w1 = worker_on(sh, 1);
	ASSERT_LE(0, w1) TH_LOG("no worker runs on CPU 1");
	EXPECT_TRUE(load_progresses(sh, 200 * n, 120));
	while (LOAD_GET(sh->w[w1].ops) < 200 && !load_any_failed(sh))
		sleep_ms(10);
	EXPECT_FALSE(load_any_failed(sh));

	TH_LOG("step cpu1_offline");
	EXPECT_EQ(0, xc_stats(DOM, &before));
	ret = xc_write_file(CPU1_ONLINE, "0");
	EXPECT_EQ(0, ret) TH_LOG("offlining CPU 1: %s", strerror(-ret));
	EXPECT_EQ(0, cpu1_state());
	EXPECT_EQ(n - 1, online_cpus());

	TH_LOG("step drained_every_class");
	EXPECT_TRUE(load_progresses(sh, 100, 60));
	EXPECT_EQ(0, xc_stats(DOM, &st));
	for (c = 0; c < XC_CLASSES; c++)
		EXPECT_EQ(before.cls[c][XC_DRAINS] + 1, st.cls[c][XC_DRAINS])
			TH_LOG("class %d: not drained exactly once", c);

	/*
	 * With the load holding still, every range is accounted for and no
	 * class has more loaded or prev magazines than online CPUs.
	 */
	TH_LOG("step accounted_while_offline");
	EXPECT_TRUE(load_pause(sh));
	EXPECT_TRUE(load_check_holdings(sh, self->fd, DOM));
	EXPECT_EQ(0, xc_stats(DOM, &st));
	for (c = 0; c < XC_CLASSES; c++) {
		EXPECT_GE(n - 1ull, st.cls[c][XC_LOADED])
			TH_LOG("class %d: loaded magazines with %d CPUs online",
			       c, n - 1);
		EXPECT_GE(n - 1ull, st.cls[c][XC_PREV])
			TH_LOG("class %d: prev magazines with %d CPUs online",
			       c, n - 1);
	}
	diag("offline: %lu tree nodes, %lu cached, depot %llu, cpu_pfns %llu",
	     st.tree_nodes, xc_cached(&st), st.total[XC_DEPOT],
	     st.total[XC_CPU_PFNS]);
	load_resume(sh);

	TH_LOG("step cpu1_online");
	ret = xc_write_file(CPU1_ONLINE, "1");
	EXPECT_EQ(0, ret) TH_LOG("onlining CPU 1: %s", strerror(-ret));
	EXPECT_EQ(1, cpu1_state());
	EXPECT_EQ(n, online_cpus());
	end = now_sec() + 60;
	while (!ret && !LOAD_GET(sh->w[w1].repins) && now_sec() < end)
		sleep_ms(10);
	EXPECT_NE(0, LOAD_GET(sh->w[w1].repins))
		TH_LOG("the worker of CPU 1 could not pin itself to it again");

	TH_LOG("step load_after_online");
	EXPECT_TRUE(worker_progresses(sh, w1, 100, 120));
	EXPECT_TRUE(load_progresses(sh, 200 * n, 120));
	LOAD_SET(sh->stop, 1);
	EXPECT_TRUE(load_wait(sh, done, 120));
	diag("%d workers, %ld ops, %ld bursts", n, load_total_ops(sh),
	     load_total_bursts(sh));
	EXPECT_TRUE(load_check_holdings(sh, self->fd, DOM));
	EXPECT_FALSE(load_any_failed(sh));

	TH_LOG("step domain_empty_after_flush");
	EXPECT_TRUE(load_finish(sh));
	EXPECT_TRUE(load_check_empty(self->fd, DOM));
}

static void check(int __maybe_unused argc, char __maybe_unused **argv)
{
	xc_require_ctl();
	if (online_cpus() < 2)
		xc_skip_all("needs at least 2 online CPUs");
	if (access(CPU1_ONLINE, W_OK))
		xc_skip_all(CPU1_ONLINE " is absent: CPU 1 cannot go offline");
	if (cpu1_state() != 1)
		xc_skip_all("CPU 1 is not online");
}

XC_HARNESS_MAIN(check)
