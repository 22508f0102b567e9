// SPDX-License-Identifier: GPL-2.0-only
/*
 * The depot grows with a burst and shrinks back in the background: two
 * bursts of 127 * (online CPUs + 8) one-pfn ranges on one CPU leave about
 * eight magazines more than there are online CPUs in class 0's depot. The
 * trim work gives one back every 100 ms, so idle, the depot must be down
 * to one magazine per online CPU within 100 ms per excess magazine plus a
 * second, and must stay there.
 */
#include "xiova_ctl.h"

#define DOM		"dt0"
#define POLL_MS		10
#define SLACK_MS	1000
#define MS_PER_MAG	100

int main(void)
{
	struct xc_stats st0, st, end;
	unsigned long count, ops, ns, excess;
	int fd, online, cpus[1], round, ret;
	double t0, elapsed, limit;
	bool ok;

	xc_require_ctl();
	fd = xc_open();
	if (fd < 0) {
		printf("# open " XC_CTL ": %s\n", strerror(-fd));
		return KSFT_FAIL;
	}
	/* Every free of the burst must land in the same CPU's magazines. */
	if (usable_cpus(cpus, 1) == 1)
		pin_cpu(cpus[0]);
	online = online_cpus();
	count = XC_MAG_SIZE * (unsigned long)(online + 8);
	xc_cmd(fd, NULL, 0, "destroy " DOM);
	if (xc_cmd(fd, NULL, 0, "create " DOM)) {
		printf("# cannot create " DOM "\n");
		return KSFT_FAIL;
	}
	tap_plan(4);

	/* 1: the depot grows well beyond one magazine per CPU. */
	ok = true;
	for (round = 0; round < 2 && ok; round++) {
		ret = xc_burst(fd, DOM, count, 1, 1, &ops, &ns);
		if (ret || ops != count) {
			fail("'burst " DOM " %lu 1' -> %s, %lu ops", count,
			     strerror(-ret), ops);
			ok = false;
		}
		diag("burst %d: %lu ops in %.1f ms", round + 1, ops, ns / 1e6);
	}
	t0 = now_sec();
	if (ok && xc_stats(DOM, &st0)) {
		fail("cannot read the stats of " DOM);
		ok = false;
	}
	if (ok) {
		diag("%d CPUs online: class 0 depot %llu, depot_max %llu, trims %llu",
		     online, st0.cls[0][XC_DEPOT], st0.cls[0][XC_DEPOT_MAX],
		     st0.cls[0][XC_TRIMS]);
		if (st0.cls[0][XC_DEPOT_MAX] < (unsigned int)online + 4 ||
		    st0.cls[0][XC_DEPOT] <= (unsigned int)online) {
			fail("depot %llu, depot_max %llu: expected well above %d",
			     st0.cls[0][XC_DEPOT], st0.cls[0][XC_DEPOT_MAX],
			     online);
			ok = false;
		}
	}
	tap_result(ok ? TAP_PASS : TAP_FAIL, "depot_grows", NULL);
	if (!ok) {
		/* Nothing to time; keep the plan. */
		tap_result(TAP_FAIL, "depot_trimmed_in_time", NULL);
		tap_result(TAP_FAIL, "trim_stops_at_online", NULL);
		tap_result(TAP_FAIL, "accounted_and_empty", NULL);
		xc_cmd(fd, NULL, 0, "destroy " DOM);
		return tap_exit();
	}

	/* 2: idle, the trim work brings it down in time. */
	excess = st0.cls[0][XC_DEPOT] - online;
	limit = (excess * MS_PER_MAG + SLACK_MS) / 1000.0;
	st = st0;
	while (st.cls[0][XC_DEPOT] > (unsigned int)online &&
	       now_sec() - t0 <= limit + 5) {
		sleep_ms(POLL_MS);
		if (xc_stats(DOM, &st)) {
			fail("cannot read the stats of " DOM);
			break;
		}
	}
	elapsed = now_sec() - t0;
	ok = st.cls[0][XC_DEPOT] <= (unsigned int)online && elapsed <= limit;
	diag("depot %llu -> %llu (%lu excess) in %.0f ms, limit %.0f ms",
	     st0.cls[0][XC_DEPOT], st.cls[0][XC_DEPOT], excess,
	     elapsed * 1000, limit * 1000);
	if (!ok)
		fail("the depot was %llu after %.0f ms, limit %.0f ms for %lu excess magazines",
		     st.cls[0][XC_DEPOT], elapsed * 1000, limit * 1000, excess);
	tap_result(ok ? TAP_PASS : TAP_FAIL, "depot_trimmed_in_time", NULL);

	/* 3: and stops at one magazine per online CPU. */
	sleep_ms(3 * MS_PER_MAG);
	ok = !xc_stats(DOM, &end);
	if (ok && end.cls[0][XC_DEPOT] != (unsigned int)online) {
		fail("depot %llu after the trim settled, expected %d",
		     end.cls[0][XC_DEPOT], online);
		ok = false;
	}
	if (ok && end.cls[0][XC_TRIMS] - st0.cls[0][XC_TRIMS] !=
		  st0.cls[0][XC_DEPOT] - end.cls[0][XC_DEPOT]) {
		fail("trims %llu -> %llu while the depot went %llu -> %llu",
		     st0.cls[0][XC_TRIMS], end.cls[0][XC_TRIMS],
		     st0.cls[0][XC_DEPOT], end.cls[0][XC_DEPOT]);
		ok = false;
	}
	tap_result(ok ? TAP_PASS : TAP_FAIL, "trim_stops_at_online", NULL);

	/* 4: every trimmed range left the tree, the rest goes on a flush. */
	ok = xc_expect_nodes(DOM, 0);
	ok &= xc_expect(fd, 0, "flush " DOM);
	ok &= !xc_stats(DOM, &end);
	if (ok && (end.tree_nodes || xc_cached(&end))) {
		fail("after the flush: tree_nodes %lu, %lu cached",
		     end.tree_nodes, xc_cached(&end));
		ok = false;
	}
	ok &= xc_expect(fd, 0, "check " DOM);
	tap_result(ok ? TAP_PASS : TAP_FAIL, "accounted_and_empty", NULL);

	xc_cmd(fd, NULL, 0, "destroy " DOM);
	close(fd);
	return tap_exit();
}
