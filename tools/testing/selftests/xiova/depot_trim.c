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

FIXTURE(depot) {
	int fd;
};

FIXTURE_SETUP(depot)
{
	int cpus[1];

	self->fd = xc_open();
	ASSERT_LE(0, self->fd) TH_LOG("open " XC_CTL ": %s",
				      strerror(-self->fd));
	/* Every free of the burst must land in the same CPU's magazines. */
	if (usable_cpus(cpus, 1) == 1)
		pin_cpu(cpus[0]);
	xc_cmd(self->fd, NULL, 0, "destroy " DOM);
	ASSERT_TRUE(xc_expect(self->fd, 0, "create " DOM));
}

FIXTURE_TEARDOWN(depot)
{
	xc_cmd(self->fd, NULL, 0, "destroy " DOM);
	close(self->fd);
}

/*
 * The steps time one trim, so they are one case; each step's checks
 * follow the log line naming it. Without a grown depot there is nothing
 * to time: that step's checks are assertions.
 */
TEST_F_TIMEOUT(depot, trim, 300)
{
	struct xc_stats st0, st, end;
	unsigned long count, ops = 0, ns = 0, excess;
	double t0, elapsed, limit;
	int online, round;

	online = online_cpus();
	count = XC_MAG_SIZE * (unsigned long)(online + 8);

	TH_LOG("step depot_grows");
	for (round = 0; round < 2; round++) {
		ASSERT_EQ(0, xc_burst(self->fd, DOM, count, 1, 1, &ops, &ns))
			TH_LOG("'burst " DOM " %lu 1' refused", count);
		ASSERT_EQ(count, ops);
		diag("burst %d: %lu ops in %.1f ms", round + 1, ops, ns / 1e6);
	}
	t0 = now_sec();
	ASSERT_EQ(0, xc_stats(DOM, &st0))
		TH_LOG("cannot read the stats of " DOM);
	diag("%d CPUs online: class 0 depot %llu, depot_max %llu, trims %llu",
	     online, st0.cls[0][XC_DEPOT], st0.cls[0][XC_DEPOT_MAX],
	     st0.cls[0][XC_TRIMS]);
	ASSERT_LE(online + 4ull, st0.cls[0][XC_DEPOT_MAX]);
	ASSERT_LT((unsigned long long)online, st0.cls[0][XC_DEPOT]);

	TH_LOG("step depot_trimmed_in_time");
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
	diag("depot %llu -> %llu (%lu excess) in %.0f ms, limit %.0f ms",
	     st0.cls[0][XC_DEPOT], st.cls[0][XC_DEPOT], excess,
	     elapsed * 1000, limit * 1000);
	EXPECT_GE((unsigned long long)online, st.cls[0][XC_DEPOT]);
	EXPECT_GE(limit, elapsed)
		TH_LOG("the depot was %llu after %.0f ms, limit %.0f ms for %lu excess magazines",
		       st.cls[0][XC_DEPOT], elapsed * 1000, limit * 1000,
		       excess);

	TH_LOG("step trim_stops_at_online");
	sleep_ms(3 * MS_PER_MAG);
	ASSERT_EQ(0, xc_stats(DOM, &end));
	EXPECT_EQ((unsigned long long)online, end.cls[0][XC_DEPOT])
		TH_LOG("depot after the trim settled");
	EXPECT_EQ(st0.cls[0][XC_DEPOT] - end.cls[0][XC_DEPOT],
		  end.cls[0][XC_TRIMS] - st0.cls[0][XC_TRIMS])
		TH_LOG("trims %llu -> %llu while the depot went %llu -> %llu",
		       st0.cls[0][XC_TRIMS], end.cls[0][XC_TRIMS],
		       st0.cls[0][XC_DEPOT], end.cls[0][XC_DEPOT]);

	TH_LOG("step accounted_and_empty");
	EXPECT_TRUE(xc_expect_nodes(DOM, 0));
	EXPECT_TRUE(xc_expect(self->fd, 0, "flush " DOM));
	ASSERT_EQ(0, xc_stats(DOM, &end));
	EXPECT_EQ(0ul, end.tree_nodes) TH_LOG("tree nodes left after the flush");
	EXPECT_EQ(0ul, xc_cached(&end)) TH_LOG("ranges cached after the flush");
	EXPECT_TRUE(xc_expect(self->fd, 0, "check " DOM));
}

XC_HARNESS_MAIN(xc_check_ctl)
