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

static bool cpu1_offlined;

static int cpu1_state(void)
{
	char buf[16];

	if (xc_read_file(CPU1_ONLINE, buf, sizeof(buf)) < 0)
		return -1;
	return atoi(buf);
}

static void restore_cpu1(void)
{
	if (cpu1_offlined)
		xc_write_file(CPU1_ONLINE, "1");
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

int main(void)
{
	struct xc_stats before, st;
	struct load_shared *sh;
	int fd, n, c, w1, ret;
	bool ok;

	xc_require_ctl();
	if (online_cpus() < 2)
		tap_skip_all("needs at least 2 online CPUs");
	if (access(CPU1_ONLINE, W_OK))
		tap_skip_all(CPU1_ONLINE " is absent: CPU 1 cannot go offline");
	if (cpu1_state() != 1)
		tap_skip_all("CPU 1 is not online");
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
	atexit(restore_cpu1);
	tap_plan(7);

	/* 1: the load runs on every CPU, CPU 1 included. */
	n = load_start(sh, DOM, 0);
	w1 = n > 0 ? worker_on(sh, 1) : -1;
	ok = w1 >= 0 && load_progresses(sh, 200 * n, 120);
	while (ok && LOAD_GET(sh->w[w1].ops) < 200 && !load_any_failed(sh))
		sleep_ms(10);
	if (w1 < 0)
		fail("no worker runs on CPU 1");
	tap_result(ok && !load_any_failed(sh) ? TAP_PASS : TAP_FAIL,
		   "load_running", NULL);

	/* 2: CPU 1 goes away under load. */
	ok = !xc_stats(DOM, &before);
	ret = xc_write_file(CPU1_ONLINE, "0");
	if (ret) {
		fail("offlining CPU 1: %s", strerror(-ret));
		ok = false;
	} else {
		cpu1_offlined = true;
	}
	if (cpu1_state() != 0 || online_cpus() != n - 1) {
		fail("CPU 1 state %d, %d CPUs online after offlining it",
		     cpu1_state(), online_cpus());
		ok = false;
	}
	tap_result(ok ? TAP_PASS : TAP_FAIL, "cpu1_offline", NULL);

	/* 3: its magazines were drained once in every class. */
	ok = load_progresses(sh, 100, 60) && !xc_stats(DOM, &st);
	for (c = 0; ok && c < XC_CLASSES; c++) {
		if (st.cls[c][XC_DRAINS] != before.cls[c][XC_DRAINS] + 1) {
			fail("class %d drains %llu -> %llu, expected one more",
			     c, before.cls[c][XC_DRAINS], st.cls[c][XC_DRAINS]);
			ok = false;
		}
	}
	tap_result(ok ? TAP_PASS : TAP_FAIL, "drained_every_class", NULL);

	/*
	 * 4: with the load holding still, every range is accounted for and
	 * no class has more loaded or prev magazines than online CPUs.
	 */
	ok = load_pause(sh) && load_check_holdings(sh, fd, DOM) &&
	     !xc_stats(DOM, &st);
	for (c = 0; ok && c < XC_CLASSES; c++) {
		if (st.cls[c][XC_LOADED] > (unsigned int)n - 1 ||
		    st.cls[c][XC_PREV] > (unsigned int)n - 1) {
			fail("class %d: %llu loaded and %llu prev magazines with %d CPUs online",
			     c, st.cls[c][XC_LOADED], st.cls[c][XC_PREV], n - 1);
			ok = false;
		}
	}
	diag("offline: %lu tree nodes, %lu cached, depot %llu, cpu_pfns %llu",
	     st.tree_nodes, xc_cached(&st), st.total[XC_DEPOT],
	     st.total[XC_CPU_PFNS]);
	load_resume(sh);
	tap_result(ok ? TAP_PASS : TAP_FAIL, "accounted_while_offline", NULL);

	/* 5: CPU 1 comes back and its worker goes home to it. */
	ret = xc_write_file(CPU1_ONLINE, "1");
	ok = !ret;
	if (ret)
		fail("onlining CPU 1: %s", strerror(-ret));
	else
		cpu1_offlined = false;
	ok &= cpu1_state() == 1 && online_cpus() == n;
	{
		double end = now_sec() + 60;

		while (ok && !LOAD_GET(sh->w[w1].repins) && now_sec() < end)
			sleep_ms(10);
		if (ok && !LOAD_GET(sh->w[w1].repins)) {
			fail("the worker of CPU 1 could not pin itself to it again");
			ok = false;
		}
	}
	tap_result(ok ? TAP_PASS : TAP_FAIL, "cpu1_online", NULL);

	/* 6: the load goes on, on CPU 1 too. */
	ok = worker_progresses(sh, w1, 100, 120) &&
	     load_progresses(sh, 200 * n, 120);
	LOAD_SET(sh->stop, 1);
	ok &= load_wait(sh, done, 120);
	diag("%d workers, %ld ops, %ld bursts", n, load_total_ops(sh),
	     load_total_bursts(sh));
	ok &= load_check_holdings(sh, fd, DOM);
	tap_result(ok && !load_any_failed(sh) ? TAP_PASS : TAP_FAIL,
		   "load_after_online", NULL);

	/* 7: everything freed, flushed, gone. */
	ok = load_finish(sh);
	ok &= load_check_empty(fd, DOM);
	tap_result(ok ? TAP_PASS : TAP_FAIL, "domain_empty_after_flush", NULL);

	xc_cmd(fd, NULL, 0, "destroy " DOM);
	close(fd);
	return tap_exit();
}
