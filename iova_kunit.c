// SPDX-License-Identifier: GPL-2.0-only
/*
 * KUnit suites for xiova. Internal helpers are tested directly; every case
 * ends by checking that no tree node or magazine outlived it.
 */
#include <kunit/test.h>
#include <linux/cpu.h>
#include <linux/delay.h>
#include <linux/kthread.h>
#include <linux/log2.h>
#include <linux/prandom.h>
#include <linux/slab.h>
#include <linux/workqueue.h>

#include "iova_internal.h"
#include "iova_trace.h"

MODULE_IMPORT_NS(XIOVA);
MODULE_IMPORT_NS(XIOVA_INTERNAL);

#define XT_MAX_DOMAINS	4
#define XT_32BIT_PFN	(1UL << (32 - PAGE_SHIFT))

struct xt_ctx {
	long nodes;
	long mags;
	struct xiova_domain *domains[XT_MAX_DOMAINS];
};

/* ---- fixtures ---------------------------------------------------------- */

static int xt_init(struct kunit *test)
{
	struct xt_ctx *ctx = kunit_kzalloc(test, sizeof(*ctx), GFP_KERNEL);

	if (!ctx)
		return -ENOMEM;
	/* Cases use magazines and nodes directly, without a domain. */
	if (xiova_cache_get())
		return -ENOMEM;
	ctx->nodes = xiova_live_nodes();
	ctx->mags = xiova_live_magazines();
	test->priv = ctx;
	return 0;
}

static void xt_destroy(struct xiova_domain *iovad)
{
	xiova_put_domain(iovad);
	kfree(iovad);
}

/* Puts what a failed case left behind, then checks nothing leaked. */
static void xt_exit(struct kunit *test)
{
	struct xt_ctx *ctx = test->priv;
	int i;

	for (i = 0; i < XT_MAX_DOMAINS; i++)
		if (ctx->domains[i])
			xt_destroy(ctx->domains[i]);
	atomic_set(&xiova_fail_mag_allocs, 0);
	atomic_set(&xiova_fail_node_allocs, 0);

	KUNIT_EXPECT_EQ_MSG(test, xiova_live_nodes(), ctx->nodes,
			    "tree nodes leaked");
	KUNIT_EXPECT_EQ_MSG(test, xiova_live_magazines(), ctx->mags,
			    "magazines leaked");
	xiova_cache_put();
}

static struct xiova_domain *__xt_domain(struct kunit *test,
					unsigned long start_pfn, bool rcaches,
					bool debug_checks)
{
	struct xt_ctx *ctx = test->priv;
	struct xiova_domain *iovad;
	int i, ret;

	for (i = 0; i < XT_MAX_DOMAINS && ctx->domains[i]; i++)
		;
	KUNIT_ASSERT_LT(test, i, XT_MAX_DOMAINS);
	iovad = kzalloc(sizeof(*iovad), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, iovad);
	/* Not KUNIT_ASSERT_FAILURE(): 6.12 renamed it KUNIT_FAIL_AND_ABORT(). */
	ret = __xiova_init_domain(iovad, PAGE_SIZE, start_pfn, debug_checks, true);
	if (ret)
		kfree(iovad);
	KUNIT_ASSERT_EQ_MSG(test, ret, 0, "xiova_init_domain failed");
	ctx->domains[i] = iovad;
	if (rcaches)
		KUNIT_ASSERT_EQ(test, xiova_domain_init_rcaches(iovad), 0);
	return iovad;
}

static struct xiova_domain *xt_domain(struct kunit *test,
				      unsigned long start_pfn, bool rcaches)
{
	return __xt_domain(test, start_pfn, rcaches, false);
}

static void xt_put(struct kunit *test, struct xiova_domain *iovad)
{
	struct xt_ctx *ctx = test->priv;
	int i;

	for (i = 0; i < XT_MAX_DOMAINS; i++)
		if (ctx->domains[i] == iovad)
			ctx->domains[i] = NULL;
	xt_destroy(iovad);
}

static void xt_check_tree(struct kunit *test, struct xiova_domain *iovad)
{
	KUNIT_EXPECT_EQ(test, xiova_check_tree(iovad), 0);
}

static unsigned long xt_alloc(struct kunit *test, struct xiova_domain *iovad,
			      unsigned long size, unsigned long limit,
			      bool aligned)
{
	struct xiova *iova = xiova_alloc(iovad, size, limit, aligned);

	KUNIT_ASSERT_NOT_NULL(test, iova);
	return iova->pfn_lo;
}

static struct xiova_class_stats xt_class(struct xiova_domain *iovad, int cls)
{
	struct xiova_stats *st = kmalloc(sizeof(*st), GFP_KERNEL);
	struct xiova_class_stats cs = {};

	if (st) {
		xiova_get_stats(iovad, st);
		cs = st->cls[cls];
		kfree(st);
	}
	return cs;
}

static struct xiova_magazine *xt_mag(struct kunit *test)
{
	struct xiova_magazine *mag = xiova_magazine_alloc(GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, mag);
	return mag;
}

/* A full magazine of freshly allocated single-pfn ranges. */
static struct xiova_magazine *xt_full_mag(struct kunit *test,
					  struct xiova_domain *iovad)
{
	struct xiova_magazine *mag = xt_mag(test);

	while (xiova_magazine_has_space(mag))
		xiova_magazine_push(mag, xt_alloc(test, iovad, 1, ~0UL, true));
	return mag;
}

static void xt_alloc_then_free_fast(struct kunit *test,
				    struct xiova_domain *iovad,
				    unsigned long count, unsigned long size)
{
	unsigned long *pfns, i;

	pfns = kcalloc(count, sizeof(*pfns), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, pfns);
	for (i = 0; i < count; i++) {
		pfns[i] = xiova_alloc_fast(iovad, size, ~0UL, false);
		if (!pfns[i])
			break;
	}
	KUNIT_EXPECT_EQ(test, i, count);
	while (i--)
		xiova_free_fast(iovad, pfns[i], size);
	kfree(pfns);
}

/* ---- magazines ---------------------------------------------------------- */

static void xiova_mag_null_helpers(struct kunit *test)
{
	struct xiova_domain *iovad = xt_domain(test, 1, false);

	KUNIT_EXPECT_FALSE(test, xiova_magazine_has_space(NULL));
	KUNIT_EXPECT_FALSE(test, xiova_magazine_has_pfns(NULL));
	KUNIT_EXPECT_FALSE(test, xiova_magazine_push(NULL, 42));
	KUNIT_EXPECT_EQ(test, xiova_magazine_pop(NULL, ~0UL), 0UL);
	xiova_magazine_free_pfns(NULL, iovad);
	xiova_magazine_free(NULL);
	xt_check_tree(test, iovad);
}

static void xiova_mag_size_is_1k(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, sizeof(struct xiova_magazine),
			sizeof(unsigned long) * (XIOVA_MAG_SIZE + 1));
	if (IS_ENABLED(CONFIG_64BIT))
		KUNIT_EXPECT_EQ(test, sizeof(struct xiova_magazine), 1024UL);
}

static void xiova_mag_fill_to_capacity(struct kunit *test)
{
	struct xiova_magazine *mag = xt_mag(test);
	unsigned long i;

	KUNIT_EXPECT_TRUE(test, xiova_magazine_has_space(mag));
	KUNIT_EXPECT_FALSE(test, xiova_magazine_has_pfns(mag));
	for (i = 1; i <= XIOVA_MAG_SIZE; i++)
		KUNIT_EXPECT_TRUE(test, xiova_magazine_push(mag, i));
	KUNIT_EXPECT_FALSE(test, xiova_magazine_has_space(mag));
	KUNIT_EXPECT_TRUE(test, xiova_magazine_has_pfns(mag));
	KUNIT_EXPECT_FALSE(test, xiova_magazine_push(mag, 1000));
	KUNIT_EXPECT_EQ(test, mag->size, (unsigned long)XIOVA_MAG_SIZE);
	/* Last in, first out when every pfn fits. */
	KUNIT_EXPECT_EQ(test, xiova_magazine_pop(mag, ~0UL),
			(unsigned long)XIOVA_MAG_SIZE);
	KUNIT_EXPECT_EQ(test, xiova_magazine_pop(mag, ~0UL),
			(unsigned long)XIOVA_MAG_SIZE - 1);
	xiova_magazine_free(mag);
}

struct xt_pop_case {
	const char *name;
	unsigned long pfns[4];
	unsigned long limit;
	unsigned long expect;
	unsigned long left;
};

static const struct xt_pop_case xt_pop_cases[] = {
	{ "top_fits", { 100, 5, 200, 50 }, ~0UL, 50, 3 },
	{ "skips_above_limit", { 100, 5, 50, 200 }, 60, 50, 3 },
	{ "limit_inclusive", { 10, 60, 70, 80 }, 60, 60, 3 },
	{ "last_suitable_is_first", { 5, 100, 200, 300 }, 99, 5, 3 },
	{ "none_suitable", { 100, 200, 300, 400 }, 99, 0, 4 },
};

static void xt_pop_case_desc(const struct xt_pop_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(xt_pop, xt_pop_cases, xt_pop_case_desc);

static void xiova_mag_pop_limit(struct kunit *test)
{
	const struct xt_pop_case *c = test->param_value;
	struct xiova_magazine *mag = xt_mag(test);
	int i;

	for (i = 0; i < ARRAY_SIZE(c->pfns); i++)
		xiova_magazine_push(mag, c->pfns[i]);
	KUNIT_EXPECT_EQ(test, xiova_magazine_pop(mag, c->limit), c->expect);
	KUNIT_EXPECT_EQ(test, mag->size, c->left);
	for (i = 0; i < mag->size; i++)
		KUNIT_EXPECT_NE(test, mag->pfns[i], c->expect);
	xiova_magazine_free(mag);
}

static void xiova_mag_free_pfns(struct kunit *test)
{
	struct xiova_domain *iovad = xt_domain(test, 1, false);
	struct xiova_magazine *mag = xt_full_mag(test, iovad);

	KUNIT_EXPECT_EQ(test, iovad->tree_nodes, (unsigned long)XIOVA_MAG_SIZE);
	xiova_magazine_free_pfns(mag, iovad);
	KUNIT_EXPECT_EQ(test, mag->size, 0UL);
	KUNIT_EXPECT_EQ(test, iovad->tree_nodes, 0UL);
	xt_check_tree(test, iovad);
	xiova_magazine_free(mag);
}

static void xiova_mag_alloc_failure(struct kunit *test)
{
	struct xiova_magazine *mag;

	atomic_set(&xiova_fail_mag_allocs, 1);
	KUNIT_EXPECT_NULL(test, xiova_magazine_alloc(GFP_KERNEL));
	mag = xiova_magazine_alloc(GFP_KERNEL);
	KUNIT_EXPECT_NOT_NULL(test, mag);
	xiova_magazine_free(mag);
}

static struct kunit_case xiova_magazine_cases[] = {
	KUNIT_CASE(xiova_mag_null_helpers),
	KUNIT_CASE(xiova_mag_size_is_1k),
	KUNIT_CASE(xiova_mag_fill_to_capacity),
	KUNIT_CASE_PARAM(xiova_mag_pop_limit, xt_pop_gen_params),
	KUNIT_CASE(xiova_mag_free_pfns),
	KUNIT_CASE(xiova_mag_alloc_failure),
	{}
};

static struct kunit_suite xiova_magazine_suite = {
	.name = "xiova_magazine",
	.init = xt_init,
	.exit = xt_exit,
	.test_cases = xiova_magazine_cases,
};

/* ---- depot -------------------------------------------------------------- */

static void xt_rcache_init(struct xiova_rcache *rcache)
{
	memset(rcache, 0, sizeof(*rcache));
	spin_lock_init(&rcache->lock);
}

static void xiova_depot_push_pop_order(struct kunit *test)
{
	struct xiova_magazine *mags[3];
	struct xiova_rcache rcache;
	int i;

	xt_rcache_init(&rcache);
	spin_lock(&rcache.lock);
	for (i = 0; i < ARRAY_SIZE(mags); i++) {
		mags[i] = xiova_magazine_alloc(GFP_ATOMIC);
		KUNIT_EXPECT_NOT_NULL(test, mags[i]);
		if (mags[i])
			xiova_depot_push(&rcache, mags[i]);
	}
	KUNIT_EXPECT_EQ(test, rcache.depot_size, 3UL);
	KUNIT_EXPECT_EQ(test, rcache.depot_max, 3UL);
	for (i = ARRAY_SIZE(mags) - 1; i >= 0; i--) {
		struct xiova_magazine *mag = xiova_depot_pop(&rcache);

		KUNIT_EXPECT_PTR_EQ(test, mag, mags[i]);
		/* Only full magazines live in a depot. */
		if (mag)
			KUNIT_EXPECT_EQ(test, mag->size,
					(unsigned long)XIOVA_MAG_SIZE);
		xiova_magazine_free(mag);
	}
	KUNIT_EXPECT_NULL(test, xiova_depot_pop(&rcache));
	spin_unlock(&rcache.lock);
	KUNIT_EXPECT_EQ(test, rcache.depot_size, 0UL);
	KUNIT_EXPECT_EQ(test, rcache.depot_max, 3UL);
}

static void xiova_depot_pop_empty_returns_null(struct kunit *test)
{
	struct xiova_rcache rcache;

	xt_rcache_init(&rcache);
	spin_lock(&rcache.lock);
	KUNIT_EXPECT_NULL(test, xiova_depot_pop(&rcache));
	KUNIT_EXPECT_NULL(test, xiova_depot_pop(&rcache));
	spin_unlock(&rcache.lock);
	KUNIT_EXPECT_EQ(test, rcache.depot_size, 0UL);
}

/*
 * The long-term collapse: the old depot held 32 magazines per class and
 * then freed whole magazines back to the tree on every overflow.
 *
 * On a slow kernel the trim work runs while the magazines are still being
 * freed (its first run is 100 ms after the first push past one per CPU),
 * so what it gave back counts as held: stop it before reading the figures.
 */
static void xiova_depot_grows_past_32_magazines(struct kunit *test)
{
	struct xiova_domain *iovad = xt_domain(test, 1, true);
	/* Each CPU the frees ran on may keep a loaded and a prev magazine. */
	unsigned long on_cpus = 2 * num_online_cpus();
	unsigned long mags = 80 + on_cpus, count = XIOVA_MAG_SIZE * mags;
	unsigned long start = jiffies;
	struct xiova_class_stats cs;

	xt_alloc_then_free_fast(test, iovad, count, 1);
	cancel_delayed_work_sync(&iovad->rcaches->cls[0].work);
	cs = xt_class(iovad, 0);
	KUNIT_EXPECT_GE(test, cs.depot_max + cs.trims, 80UL);
	/* Trims only by the work, one per period: no cap in disguise. */
	KUNIT_EXPECT_LE(test, cs.trims, (jiffies - start) / XIOVA_DEPOT_DELAY + 1);
	KUNIT_EXPECT_EQ(test, cs.inserts, (u64)count);
	KUNIT_EXPECT_EQ(test, cs.insert_fails, 0ULL);
	/* Every freed range is accounted for: cached, trimmed or in the tree. */
	KUNIT_EXPECT_EQ(test, iovad->tree_nodes + cs.trims * XIOVA_MAG_SIZE,
			count);
	xiova_flush_rcaches(iovad, XIOVA_FLUSH_REQUEST);
	KUNIT_EXPECT_EQ(test, iovad->tree_nodes, 0UL);
	xt_check_tree(test, iovad);
}

static void xt_fill_depot(struct kunit *test, struct xiova_domain *iovad,
			  unsigned long mags)
{
	struct xiova_rcache *rcache = &iovad->rcaches->cls[0];
	unsigned long flags;

	while (mags--) {
		struct xiova_magazine *mag = xt_full_mag(test, iovad);

		spin_lock_irqsave(&rcache->lock, flags);
		xiova_depot_push(rcache, mag);
		spin_unlock_irqrestore(&rcache->lock, flags);
	}
}

static void xiova_depot_trim_one_stops_at_online_cpus(struct kunit *test)
{
	struct xiova_domain *iovad = xt_domain(test, 1, true);
	unsigned long online = num_online_cpus(), extra = 3;
	struct xiova_rcache *rcache = &iovad->rcaches->cls[0];

	xt_fill_depot(test, iovad, online + extra);
	while (xiova_depot_trim_one(rcache))
		;
	KUNIT_EXPECT_EQ(test, rcache->depot_size, online);
	KUNIT_EXPECT_EQ(test, rcache->trims, extra);
	KUNIT_EXPECT_EQ(test, iovad->tree_nodes, online * XIOVA_MAG_SIZE);
	xt_check_tree(test, iovad);
}

static void xiova_depot_trimmed_by_delayed_work(struct kunit *test)
{
	struct xiova_domain *iovad = xt_domain(test, 1, true);
	unsigned long online = num_online_cpus(), extra = 5;
	unsigned long count = (online + extra + 2) * XIOVA_MAG_SIZE;
	unsigned long deadline;
	struct xiova_class_stats cs;

	xt_alloc_then_free_fast(test, iovad, count, 1);
	cs = xt_class(iovad, 0);
	KUNIT_ASSERT_GT(test, cs.depot, online);

	/* One magazine per 100 ms, plus slack for a slow emulator. */
	deadline = jiffies + msecs_to_jiffies(100 * (cs.depot - online) + 3000);
	do {
		msleep(50);
		cs = xt_class(iovad, 0);
	} while (cs.depot > online && time_before(jiffies, deadline));
	KUNIT_EXPECT_EQ(test, cs.depot, online);
	KUNIT_EXPECT_GT(test, cs.trims, 0UL);

	/* Nothing was lost: trimmed ranges left the tree, the rest is cached. */
	KUNIT_EXPECT_EQ(test, iovad->tree_nodes + cs.trims * XIOVA_MAG_SIZE,
			count);
	msleep(300);
	KUNIT_EXPECT_EQ(test, xt_class(iovad, 0).depot, online);
}

static void xiova_depot_teardown_empty(struct kunit *test)
{
	struct xiova_domain *iovad = xt_domain(test, 1, true);

	KUNIT_EXPECT_EQ(test, xt_class(iovad, 0).depot, 0UL);
	xt_put(test, iovad);
}

static void xiova_depot_teardown_nonempty(struct kunit *test)
{
	struct xiova_domain *iovad = xt_domain(test, 1, true);

	xt_fill_depot(test, iovad, 4);
	xt_alloc_then_free_fast(test, iovad, 300, 2);
	KUNIT_EXPECT_GT(test, xt_class(iovad, 1).depot, 0UL);
	xt_put(test, iovad);
}

/*
 * depot-empty-pop-crash.txt: switching an iommu_group's type flushed the
 * depot, then freeing the domain popped from the empty depot.
 */
static void xiova_depot_empty_pop_at_teardown_after_type_switch(struct kunit *test)
{
	struct xiova_domain *iovad = xt_domain(test, 1, true);

	xt_alloc_then_free_fast(test, iovad, XIOVA_MAG_SIZE * 4, 1);
	KUNIT_EXPECT_GT(test, xt_class(iovad, 0).depot, 0UL);
	xiova_flush_rcaches(iovad, XIOVA_FLUSH_REQUEST);
	KUNIT_EXPECT_EQ(test, xt_class(iovad, 0).depot, 0UL);
	xt_put(test, iovad);

	/* The new domain of the switched group, torn down again at once. */
	iovad = xt_domain(test, 1, true);
	xt_put(test, iovad);
}

static struct kunit_case xiova_depot_cases[] = {
	KUNIT_CASE(xiova_depot_push_pop_order),
	KUNIT_CASE(xiova_depot_pop_empty_returns_null),
	KUNIT_CASE(xiova_depot_grows_past_32_magazines),
	KUNIT_CASE(xiova_depot_trim_one_stops_at_online_cpus),
	KUNIT_CASE(xiova_depot_trimmed_by_delayed_work),
	KUNIT_CASE(xiova_depot_teardown_empty),
	KUNIT_CASE(xiova_depot_teardown_nonempty),
	KUNIT_CASE(xiova_depot_empty_pop_at_teardown_after_type_switch),
	{}
};

static struct kunit_suite xiova_depot_suite = {
	.name = "xiova_depot",
	.init = xt_init,
	.exit = xt_exit,
	.test_cases = xiova_depot_cases,
};

/* ---- per-CPU caches ---------------------------------------------------- */

/*
 * Cases that set up a CPU's magazines by hand keep to one CPU while they
 * do; the operations they call do not sleep.
 */
static struct xiova_cpu_rcache *xt_this_cpu(struct xiova_domain *iovad,
					    int cls)
{
	return &this_cpu_ptr(iovad->rcaches->cpu)->cls[cls];
}

static void xt_set_mags(struct xiova_cpu_rcache *cpu_rcache,
			struct xiova_magazine *loaded,
			struct xiova_magazine *prev)
{
	xiova_magazine_free(cpu_rcache->loaded);
	xiova_magazine_free(cpu_rcache->prev);
	cpu_rcache->loaded = loaded;
	cpu_rcache->prev = prev;
}

static void xiova_rcache_hit_after_free(struct kunit *test)
{
	struct xiova_domain *iovad = xt_domain(test, 1, true);
	unsigned long pfn = xiova_alloc_fast(iovad, 1, ~0UL, false);
	struct xiova_class_stats cs;

	KUNIT_ASSERT_NE(test, pfn, 0UL);
	migrate_disable();
	xiova_free_fast(iovad, pfn, 1);
	KUNIT_EXPECT_EQ(test, xiova_alloc_fast(iovad, 1, ~0UL, false), pfn);
	migrate_enable();
	cs = xt_class(iovad, 0);
	KUNIT_EXPECT_EQ(test, cs.hits, 1ULL);
	KUNIT_EXPECT_EQ(test, cs.misses, 1ULL);
	KUNIT_EXPECT_EQ(test, cs.inserts, 1ULL);
	xiova_free(iovad, pfn);
	KUNIT_EXPECT_EQ(test, iovad->tree_nodes, 0UL);
}

static void xiova_rcache_insert_swaps_to_prev(struct kunit *test)
{
	struct xiova_domain *iovad = xt_domain(test, 1, true);
	struct xiova_magazine *full = xt_full_mag(test, iovad);
	struct xiova_magazine *empty = xt_mag(test);
	unsigned long pfn = xt_alloc(test, iovad, 1, ~0UL, true);
	struct xiova_cpu_rcache *cpu_rcache;

	migrate_disable();
	cpu_rcache = xt_this_cpu(iovad, 0);
	xt_set_mags(cpu_rcache, full, empty);
	KUNIT_EXPECT_TRUE(test, xiova_rcache_insert(iovad, pfn, 1));
	KUNIT_EXPECT_PTR_EQ(test, cpu_rcache->loaded, empty);
	KUNIT_EXPECT_PTR_EQ(test, cpu_rcache->prev, full);
	KUNIT_EXPECT_EQ(test, empty->size, 1UL);
	migrate_enable();
	KUNIT_EXPECT_EQ(test, xt_class(iovad, 0).depot, 0UL);
}

static void xiova_rcache_insert_pushes_full_to_depot(struct kunit *test)
{
	struct xiova_domain *iovad = xt_domain(test, 1, true);
	struct xiova_magazine *full1 = xt_full_mag(test, iovad);
	struct xiova_magazine *full2 = xt_full_mag(test, iovad);
	unsigned long pfn = xt_alloc(test, iovad, 1, ~0UL, true);
	struct xiova_cpu_rcache *cpu_rcache;

	migrate_disable();
	cpu_rcache = xt_this_cpu(iovad, 0);
	xt_set_mags(cpu_rcache, full1, full2);
	KUNIT_EXPECT_TRUE(test, xiova_rcache_insert(iovad, pfn, 1));
	KUNIT_EXPECT_PTR_EQ(test, cpu_rcache->prev, full2);
	KUNIT_EXPECT_TRUE(test, cpu_rcache->loaded != full1);
	KUNIT_EXPECT_EQ(test, cpu_rcache->loaded->size, 1UL);
	migrate_enable();
	KUNIT_EXPECT_EQ(test, xt_class(iovad, 0).depot, 1UL);
	KUNIT_EXPECT_PTR_EQ(test, iovad->rcaches->cls[0].depot, full1);
}

static void xiova_rcache_get_swaps_to_prev(struct kunit *test)
{
	struct xiova_domain *iovad = xt_domain(test, 1, true);
	struct xiova_magazine *empty = xt_mag(test);
	struct xiova_magazine *one = xt_mag(test);
	unsigned long pfn = xt_alloc(test, iovad, 1, ~0UL, true);
	struct xiova_cpu_rcache *cpu_rcache;

	xiova_magazine_push(one, pfn);
	migrate_disable();
	cpu_rcache = xt_this_cpu(iovad, 0);
	xt_set_mags(cpu_rcache, empty, one);
	KUNIT_EXPECT_EQ(test, xiova_rcache_get(iovad, 1, ~0UL), pfn);
	KUNIT_EXPECT_PTR_EQ(test, cpu_rcache->loaded, one);
	KUNIT_EXPECT_PTR_EQ(test, cpu_rcache->prev, empty);
	migrate_enable();
	xiova_free(iovad, pfn);
}

static void xiova_rcache_get_refills_from_depot(struct kunit *test)
{
	struct xiova_domain *iovad = xt_domain(test, 1, true);
	struct xiova_magazine *full = xt_full_mag(test, iovad);
	struct xiova_magazine *empty = xt_mag(test);
	struct xiova_rcache *rcache = &iovad->rcaches->cls[0];
	unsigned long top = full->pfns[XIOVA_MAG_SIZE - 1];
	struct xiova_cpu_rcache *cpu_rcache;

	spin_lock_irq(&rcache->lock);
	xiova_depot_push(rcache, full);
	spin_unlock_irq(&rcache->lock);

	migrate_disable();
	cpu_rcache = xt_this_cpu(iovad, 0);
	xt_set_mags(cpu_rcache, empty, NULL);
	KUNIT_EXPECT_EQ(test, xiova_rcache_get(iovad, 1, ~0UL), top);
	KUNIT_EXPECT_PTR_EQ(test, cpu_rcache->loaded, full);
	/* The empty magazine is kept for the next frees. */
	KUNIT_EXPECT_PTR_EQ(test, cpu_rcache->prev, empty);
	migrate_enable();
	KUNIT_EXPECT_EQ(test, rcache->depot_size, 0UL);
	xiova_free(iovad, top);
}

static void xiova_rcache_get_respects_limit(struct kunit *test)
{
	struct xiova_domain *iovad = xt_domain(test, 1, true);
	unsigned long high = xt_alloc(test, iovad, 1, 1000, true);
	unsigned long low;

	migrate_disable();
	xiova_free_fast(iovad, high, 1);
	/* The cached pfn 1000 is above the limit: the tree serves instead. */
	low = xiova_alloc_fast(iovad, 1, 500, false);
	migrate_enable();
	KUNIT_EXPECT_EQ(test, low, 500UL);
	KUNIT_EXPECT_EQ(test, xt_class(iovad, 0).misses, 1ULL);
	KUNIT_EXPECT_EQ(test, xt_class(iovad, 0).cpu_pfns, 1UL);
	xiova_free(iovad, low);
}

struct xt_size_case {
	unsigned long size;
	int cls;
};

static const struct xt_size_case xt_size_cases[] = {
	{ 1, 0 }, { 2, 1 }, { 3, 2 }, { 4, 2 }, { 5, 3 }, { 8, 3 },
	{ 9, 4 }, { 16, 4 }, { 17, 5 }, { 31, 5 }, { 32, 5 },
};

static void xt_size_case_desc(const struct xt_size_case *c, char *desc)
{
	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "size_%lu", c->size);
}

KUNIT_ARRAY_PARAM(xt_size, xt_size_cases, xt_size_case_desc);

static void xiova_rcache_size_classes(struct kunit *test)
{
	const struct xt_size_case *c = test->param_value;
	struct xiova_domain *iovad = xt_domain(test, 1, true);
	unsigned long rounded = 1UL << c->cls;
	unsigned long pfn, again;
	struct xiova *iova;

	pfn = xiova_alloc_fast(iovad, c->size, ~0UL, false);
	KUNIT_ASSERT_NE(test, pfn, 0UL);
	iova = xiova_find(iovad, pfn);
	KUNIT_ASSERT_NOT_NULL(test, iova);
	KUNIT_EXPECT_EQ(test, xiova_size(iova), rounded);
	KUNIT_EXPECT_EQ(test, pfn & (rounded - 1), 0UL);

	migrate_disable();
	xiova_free_fast(iovad, pfn, c->size);
	again = xiova_alloc_fast(iovad, rounded, ~0UL, false);
	migrate_enable();
	KUNIT_EXPECT_EQ(test, again, pfn);
	KUNIT_EXPECT_EQ(test, xt_class(iovad, c->cls).hits, 1ULL);
	xiova_free(iovad, again);
}

static void xiova_rcache_uncached_size_goes_to_tree(struct kunit *test)
{
	struct xiova_domain *iovad = xt_domain(test, 1, true);
	unsigned long pfn = xiova_alloc_fast(iovad, 33, ~0UL, false);
	struct xiova *iova = xiova_find(iovad, pfn);

	KUNIT_ASSERT_NOT_NULL(test, iova);
	KUNIT_EXPECT_EQ(test, xiova_size(iova), 33UL);
	xiova_free_fast(iovad, pfn, 33);
	KUNIT_EXPECT_EQ(test, iovad->tree_nodes, 0UL);
	KUNIT_EXPECT_EQ(test, xt_class(iovad, 5).inserts, 0ULL);
}

/*
 * longterm-iova-thread.txt: when a magazine could not be allocated,
 * loaded stayed NULL and "!full(NULL)" let a push into it.
 */
static void xiova_rcache_null_loaded_after_failed_mag_alloc(struct kunit *test)
{
	struct xiova_domain *iovad = xt_domain(test, 1, true);
	unsigned long a = xt_alloc(test, iovad, 1, ~0UL, true);
	unsigned long b = xt_alloc(test, iovad, 1, ~0UL, true);
	struct xiova_cpu_rcache *cpu_rcache;
	struct xiova_class_stats cs;

	migrate_disable();
	cpu_rcache = xt_this_cpu(iovad, 0);
	KUNIT_EXPECT_NULL(test, cpu_rcache->loaded);
	atomic_set(&xiova_fail_mag_allocs, 1);
	xiova_free_fast(iovad, a, 1);
	KUNIT_EXPECT_NULL(test, cpu_rcache->loaded);
	KUNIT_EXPECT_NULL(test, cpu_rcache->prev);
	/* The get side copes with the missing magazine too. */
	KUNIT_EXPECT_EQ(test, xiova_rcache_get(iovad, 1, ~0UL), 0UL);
	/* Once memory is back, caching resumes. */
	xiova_free_fast(iovad, b, 1);
	KUNIT_EXPECT_NOT_NULL(test, cpu_rcache->loaded);
	migrate_enable();

	cs = xt_class(iovad, 0);
	KUNIT_EXPECT_EQ(test, cs.insert_fails, 1ULL);
	KUNIT_EXPECT_EQ(test, cs.inserts, 1ULL);
	KUNIT_EXPECT_NULL(test, xiova_find(iovad, a));
	KUNIT_EXPECT_EQ(test, iovad->tree_nodes, 1UL);
	xt_check_tree(test, iovad);
}

static void xiova_rcache_flush_and_retry(struct kunit *test)
{
	struct xiova_domain *iovad = xt_domain(test, 1, true);
	unsigned long limit = 64, pfns[64], pfn;
	int i;

	/* Fill pfns 1..64, then cache them all as single pfns. */
	for (i = 0; i < limit; i++) {
		pfns[i] = xiova_alloc_fast(iovad, 1, limit, false);
		KUNIT_ASSERT_NE(test, pfns[i], 0UL);
	}
	for (i = 0; i < limit; i++)
		xiova_free_fast(iovad, pfns[i], 1);
	KUNIT_EXPECT_EQ(test, iovad->tree_nodes, limit);
	KUNIT_EXPECT_NULL(test, xiova_alloc(iovad, 1, limit, false));
	KUNIT_EXPECT_EQ(test, xiova_alloc_fast(iovad, 2, limit, false), 0UL);

	pfn = xiova_alloc_fast(iovad, 2, limit, true);
	KUNIT_EXPECT_EQ(test, pfn, limit - 2);
	KUNIT_EXPECT_EQ(test, xt_class(iovad, 0).flushes, 1UL);
	KUNIT_EXPECT_EQ(test, xt_class(iovad, 0).cpu_pfns, 0UL);
	KUNIT_EXPECT_EQ(test, iovad->tree_nodes, 1UL);
	xiova_free(iovad, pfn);
}

static void xiova_rcache_stats_memory(struct kunit *test)
{
	struct xiova_domain *iovad = xt_domain(test, 1, true);
	struct xiova_class_stats cs;

	xt_alloc_then_free_fast(test, iovad, XIOVA_MAG_SIZE * 3 + 10, 1);
	cs = xt_class(iovad, 0);
	KUNIT_EXPECT_EQ(test, cs.mag_bytes,
			(cs.loaded + cs.prev + cs.depot) *
			sizeof(struct xiova_magazine));
	KUNIT_EXPECT_EQ(test, cs.cpu_pfns + cs.depot * XIOVA_MAG_SIZE,
			(unsigned long)XIOVA_MAG_SIZE * 3 + 10);
}

static struct kunit_case xiova_rcache_cases[] = {
	KUNIT_CASE(xiova_rcache_hit_after_free),
	KUNIT_CASE(xiova_rcache_insert_swaps_to_prev),
	KUNIT_CASE(xiova_rcache_insert_pushes_full_to_depot),
	KUNIT_CASE(xiova_rcache_get_swaps_to_prev),
	KUNIT_CASE(xiova_rcache_get_refills_from_depot),
	KUNIT_CASE(xiova_rcache_get_respects_limit),
	KUNIT_CASE_PARAM(xiova_rcache_size_classes, xt_size_gen_params),
	KUNIT_CASE(xiova_rcache_uncached_size_goes_to_tree),
	KUNIT_CASE(xiova_rcache_null_loaded_after_failed_mag_alloc),
	KUNIT_CASE(xiova_rcache_flush_and_retry),
	KUNIT_CASE(xiova_rcache_stats_memory),
	{}
};

static struct kunit_suite xiova_rcache_suite = {
	.name = "xiova_rcache",
	.init = xt_init,
	.exit = xt_exit,
	.test_cases = xiova_rcache_cases,
};

/* ---- CPU hotplug --------------------------------------------------------- */

static void xiova_hotplug_drain_dead_cpu(struct kunit *test)
{
	struct xiova_domain *iovad = xt_domain(test, 1, true);
	struct xiova_magazine *full = xt_full_mag(test, iovad);
	struct xiova_magazine *part = xt_mag(test);
	struct xiova_cpu_rcache *cpu_rcache;
	unsigned int cpu;

	xiova_magazine_push(part, xt_alloc(test, iovad, 1, ~0UL, true));
	xiova_magazine_push(part, xt_alloc(test, iovad, 1, ~0UL, true));

	cpu = get_cpu();
	cpu_rcache = &per_cpu_ptr(iovad->rcaches->cpu, cpu)->cls[0];
	xt_set_mags(cpu_rcache, part, full);
	put_cpu();

	xiova_drain_dead_cpu(cpu, iovad);
	KUNIT_EXPECT_NULL(test, cpu_rcache->loaded);
	KUNIT_EXPECT_NULL(test, cpu_rcache->prev);
	/* The full magazine stays cached in the depot, the partial one not. */
	KUNIT_EXPECT_EQ(test, xt_class(iovad, 0).depot, 1UL);
	KUNIT_EXPECT_EQ(test, xt_class(iovad, 0).drains, 1UL);
	KUNIT_EXPECT_EQ(test, iovad->tree_nodes, (unsigned long)XIOVA_MAG_SIZE);
	xt_check_tree(test, iovad);
}

struct xt_cpu_work {
	struct xiova_domain *iovad;
	unsigned long count;
};

/* Runs in a worker: reports through its return value, never asserts. */
static long xt_free_on_cpu(void *arg)
{
	struct xt_cpu_work *w = arg;
	unsigned long *pfns, i;
	long ret = 0;

	pfns = kcalloc(w->count, sizeof(*pfns), GFP_KERNEL);
	if (!pfns)
		return -ENOMEM;
	for (i = 0; i < w->count; i++) {
		pfns[i] = xiova_alloc_fast(w->iovad, 1, ~0UL, false);
		if (!pfns[i]) {
			ret = -ENOSPC;
			break;
		}
	}
	while (i--)
		xiova_free_fast(w->iovad, pfns[i], 1);
	kfree(pfns);
	return ret;
}

static void xiova_hotplug_cpu_offline_drains(struct kunit *test)
{
	struct xiova_domain *iovad;
	struct xt_cpu_work w;
	struct xiova_cpu_rcache *cpu_rcache;
	unsigned int cpu = 1;
	int ret;

	if (!IS_ENABLED(CONFIG_HOTPLUG_CPU) || num_online_cpus() < 2 ||
	    !cpu_online(cpu))
		kunit_skip(test, "needs CPU hotplug and a second online CPU");

	iovad = xt_domain(test, 1, true);
	w.iovad = iovad;
	w.count = XIOVA_MAG_SIZE + 20;
	KUNIT_ASSERT_EQ(test, work_on_cpu(cpu, xt_free_on_cpu, &w), 0L);
	cpu_rcache = &per_cpu_ptr(iovad->rcaches->cpu, cpu)->cls[0];
	KUNIT_ASSERT_NOT_NULL(test, cpu_rcache->loaded);

	ret = remove_cpu(cpu);
	KUNIT_ASSERT_EQ(test, ret, 0);
	KUNIT_EXPECT_NULL(test, cpu_rcache->loaded);
	KUNIT_EXPECT_NULL(test, cpu_rcache->prev);
	KUNIT_EXPECT_EQ(test, xt_class(iovad, 0).drains, 1UL);
	KUNIT_EXPECT_EQ(test, add_cpu(cpu), 0);
	/* Only the full magazine survives, in the depot. */
	KUNIT_EXPECT_EQ(test, xt_class(iovad, 0).cpu_pfns, 0UL);
	KUNIT_EXPECT_EQ(test, xt_class(iovad, 0).depot, 1UL);
	KUNIT_EXPECT_EQ(test, iovad->tree_nodes, (unsigned long)XIOVA_MAG_SIZE);
	xt_check_tree(test, iovad);
}

/* Polls @cond for up to @secs seconds: waits for the thing, not a window. */
#define xt_wait_for(cond, secs) ({					\
	unsigned long __end = jiffies + (secs) * HZ;			\
	bool __ok;							\
	while (!(__ok = (cond)) && time_before(jiffies, __end))		\
		msleep(20);						\
	__ok;								\
})

static long xt_flush_irqs_off(void *arg)
{
	unsigned long flags;

	local_irq_save(flags);
	xiova_flush_rcaches(arg, XIOVA_FLUSH_REQUEST);
	local_irq_restore(flags);
	return 0;
}

/*
 * With interrupts off no CPU may be waited for: the flush empties this
 * CPU's magazines and the depot at once and sends the others an IPI that
 * nobody waits for. Their ranges must still all come back.
 */
static void xiova_hotplug_flush_irqs_off_reaches_other_cpus(struct kunit *test)
{
	struct xiova_domain *iovad;
	struct xt_cpu_work w;

	if (num_online_cpus() < 2 || !cpu_online(0) || !cpu_online(1))
		kunit_skip(test, "needs CPUs 0 and 1 online");
	iovad = xt_domain(test, 1, true);
	w.iovad = iovad;
	w.count = XIOVA_MAG_SIZE * 3 + 20;
	KUNIT_ASSERT_EQ(test, work_on_cpu(1, xt_free_on_cpu, &w), 0L);
	KUNIT_ASSERT_GT(test, xt_class(iovad, 0).cpu_pfns, 0UL);
	KUNIT_ASSERT_GT(test, xt_class(iovad, 0).depot, 0UL);

	KUNIT_ASSERT_EQ(test, work_on_cpu(0, xt_flush_irqs_off, iovad), 0L);
	KUNIT_EXPECT_EQ(test, xt_class(iovad, 0).depot, 0UL);
	KUNIT_EXPECT_TRUE_MSG(test,
			      xt_wait_for(!xt_class(iovad, 0).cpu_pfns, 10),
			      "CPU 1 still holds %lu cached pfns",
			      xt_class(iovad, 0).cpu_pfns);
	KUNIT_EXPECT_EQ(test, iovad->tree_nodes, 0UL);
	xt_check_tree(test, iovad);
}

struct xt_churn {
	struct xiova_domain	*iovad;
	atomic_long_t		ops;
	atomic_t		failed;
};

/* Alloc/free pairs wherever the scheduler puts it, until stopped. */
static int xt_churn_thread(void *arg)
{
	struct xt_churn *c = arg;
	unsigned long pfns[8];
	int i;

	while (!kthread_should_stop()) {
		for (i = 0; i < ARRAY_SIZE(pfns); i++) {
			pfns[i] = xiova_alloc_fast(c->iovad, 1 + (i & 3), ~0UL,
						   true);
			if (!pfns[i])
				atomic_inc(&c->failed);
		}
		for (i = 0; i < ARRAY_SIZE(pfns); i++)
			if (pfns[i])
				xiova_free_fast(c->iovad, pfns[i], 1 + (i & 3));
		atomic_long_add(ARRAY_SIZE(pfns), &c->ops);
		cond_resched();
	}
	return 0;
}

static bool xt_cpu_holds_magazines(struct xiova_domain *iovad,
				   unsigned int cpu)
{
	struct xiova_cpu_caches *cc = per_cpu_ptr(iovad->rcaches->cpu, cpu);
	int i;

	for (i = 0; i < XIOVA_RANGE_CACHE_MAX_SIZE; i++)
		if (cc->cls[i].loaded || cc->cls[i].prev)
			return true;
	return false;
}

/*
 * A task preempted between picking its CPU's cache and disabling
 * interrupts, then migrated off a dying CPU, used to give the dead CPU a
 * magazine after the dead callback had drained it; nothing would ever
 * empty it again. Tasks churn on every CPU while CPU 1 goes down and up:
 * each time it is down it must hold nothing.
 */
static void xiova_hotplug_dead_cpu_stays_empty(struct kunit *test)
{
	struct task_struct *threads[4];
	struct xiova_domain *iovad;
	struct xt_churn c = {};
	unsigned int cpu = 1;
	long before;
	int i, round;

	if (!IS_ENABLED(CONFIG_HOTPLUG_CPU) || num_online_cpus() < 2 ||
	    !cpu_online(cpu))
		kunit_skip(test, "needs CPU hotplug and a second online CPU");
	iovad = xt_domain(test, 1, true);
	c.iovad = iovad;
	for (i = 0; i < ARRAY_SIZE(threads); i++) {
		threads[i] = kthread_run(xt_churn_thread, &c, "xt_churn/%d", i);
		KUNIT_ASSERT_FALSE(test, IS_ERR(threads[i]));
	}
	for (round = 0; round < 10; round++) {
		before = atomic_long_read(&c.ops);
		/* Under way on both CPUs before each unplug. */
		if (!xt_wait_for(atomic_long_read(&c.ops) > before + 1000, 30))
			break;
		if (remove_cpu(cpu))
			break;
		KUNIT_EXPECT_FALSE_MSG(test, xt_cpu_holds_magazines(iovad, cpu),
				       "dead CPU %u holds magazines, round %d",
				       cpu, round);
		if (add_cpu(cpu))
			break;
	}
	for (i = 0; i < ARRAY_SIZE(threads); i++)
		kthread_stop(threads[i]);
	KUNIT_EXPECT_EQ(test, round, 10);
	KUNIT_EXPECT_EQ(test, atomic_read(&c.failed), 0);
	if (!cpu_online(cpu))
		KUNIT_EXPECT_EQ(test, add_cpu(cpu), 0);
	xiova_flush_rcaches(iovad, XIOVA_FLUSH_REQUEST);
	KUNIT_EXPECT_EQ(test, iovad->tree_nodes, 0UL);
	xt_check_tree(test, iovad);
}

static struct kunit_case xiova_hotplug_cases[] = {
	KUNIT_CASE(xiova_hotplug_drain_dead_cpu),
	KUNIT_CASE(xiova_hotplug_cpu_offline_drains),
	KUNIT_CASE(xiova_hotplug_flush_irqs_off_reaches_other_cpus),
	KUNIT_CASE(xiova_hotplug_dead_cpu_stays_empty),
	{}
};

static struct kunit_suite xiova_hotplug_suite = {
	.name = "xiova_hotplug",
	.init = xt_init,
	.exit = xt_exit,
	.test_cases = xiova_hotplug_cases,
};

/* ---- rbtree core -------------------------------------------------------- */

struct xt_alloc_case {
	const char *name;
	unsigned long size;
	unsigned long limit;
	bool aligned;
	unsigned long expect;
};

static const struct xt_alloc_case xt_alloc_cases[] = {
	{ "one_at_limit", 1, 1000, false, 1000 },
	{ "three_unaligned", 3, 1000, false, 998 },
	{ "three_aligned_to_four", 3, 1000, true, 996 },
	{ "eight_aligned", 8, 1023, true, 1016 },
	{ "above_4g", 16, (1UL << 30) - 1, true, (1UL << 30) - 16 },
	{ "whole_space", 1000, 1000, false, 1 },
	{ "one_too_many", 1001, 1000, false, 0 },
	{ "aligned_no_room", 1024, 1000, true, 0 },
};

static void xt_alloc_case_desc(const struct xt_alloc_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(xt_alloc, xt_alloc_cases, xt_alloc_case_desc);

static void xiova_tree_alloc_placement(struct kunit *test)
{
	const struct xt_alloc_case *c = test->param_value;
	struct xiova_domain *iovad = xt_domain(test, 1, false);
	struct xiova *iova = xiova_alloc(iovad, c->size, c->limit, c->aligned);

	if (!c->expect) {
		KUNIT_EXPECT_NULL(test, iova);
		KUNIT_EXPECT_EQ(test, iovad->tree_nodes, 0UL);
		return;
	}
	KUNIT_ASSERT_NOT_NULL(test, iova);
	KUNIT_EXPECT_EQ(test, iova->pfn_lo, c->expect);
	KUNIT_EXPECT_EQ(test, xiova_size(iova), c->size);
	xt_check_tree(test, iovad);
}

static void xiova_tree_top_down(struct kunit *test)
{
	struct xiova_domain *iovad = xt_domain(test, 1, false);

	KUNIT_EXPECT_EQ(test, xt_alloc(test, iovad, 1, 1000, false), 1000UL);
	KUNIT_EXPECT_EQ(test, xt_alloc(test, iovad, 1, 1000, false), 999UL);
	KUNIT_EXPECT_EQ(test, xt_alloc(test, iovad, 4, 1000, true), 992UL);
	/* The highest fit, above the last allocation (6.1 gives 991). */
	KUNIT_EXPECT_EQ(test, xt_alloc(test, iovad, 1, 2000, false), 2000UL);
	xt_check_tree(test, iovad);
}

static void xiova_tree_max32_fast_fail_and_reset(struct kunit *test)
{
	struct xiova_domain *iovad = xt_domain(test, 1, false);
	unsigned long top = XT_32BIT_PFN - 1;
	struct xiova *small, *big;

	small = xiova_alloc(iovad, 8, top, false);
	big = xiova_alloc(iovad, top - 8, top, false);
	KUNIT_ASSERT_NOT_NULL(test, small);
	KUNIT_ASSERT_NOT_NULL(test, big);
	KUNIT_EXPECT_EQ(test, big->pfn_lo, 1UL);

	KUNIT_EXPECT_NULL(test, xiova_alloc(iovad, 2, top, false));
	KUNIT_EXPECT_EQ(test, iovad->max32_alloc_size, 2UL);
	/* Larger sizes fail without a walk and leave the threshold alone. */
	KUNIT_EXPECT_NULL(test, xiova_alloc(iovad, 4, top, false));
	KUNIT_EXPECT_EQ(test, iovad->max32_alloc_size, 2UL);
	KUNIT_EXPECT_NULL(test, xiova_alloc(iovad, 1, top, false));
	KUNIT_EXPECT_EQ(test, iovad->max32_alloc_size, 1UL);
	/* Above 4 GiB the threshold does not apply. */
	KUNIT_EXPECT_NOT_NULL(test, xiova_alloc(iovad, 4, top * 2, false));

	__xiova_free(iovad, small);
	KUNIT_EXPECT_EQ(test, iovad->max32_alloc_size, XT_32BIT_PFN);
	KUNIT_EXPECT_NOT_NULL(test, xiova_alloc(iovad, 4, top, false));
	xt_check_tree(test, iovad);
}

/*
 * A difference from 6.1 (design.rst): a request that cannot fit below its
 * own limit leaves the 32-bit threshold alone, where 6.1 lowers it and
 * every later 32-bit request of that size fails at once.
 */
static void xiova_tree_impossible_request_keeps_max32(struct kunit *test)
{
	struct xiova_domain *iovad = xt_domain(test, 16, false);
	unsigned long top = XT_32BIT_PFN - 1;

	KUNIT_EXPECT_NULL(test, xiova_alloc(iovad, 100, 50, false));
	KUNIT_EXPECT_NULL(test, xiova_alloc(iovad, 4, 10, false));
	KUNIT_EXPECT_EQ(test, iovad->max32_alloc_size, XT_32BIT_PFN);
	KUNIT_EXPECT_EQ(test, xt_alloc(test, iovad, 200, top, false),
			top - 199);
	/* Size-aligned, below the 200 pfns at the top. */
	KUNIT_EXPECT_EQ(test, xiova_alloc_fast(iovad, 128, top, false),
			(top + 1 - 200 - 128) & ~127UL);
	xt_check_tree(test, iovad);
}

static void xiova_tree_find(struct kunit *test)
{
	struct xiova_domain *iovad = xt_domain(test, 1, false);
	struct xiova *iova = xiova_alloc(iovad, 10, 1000, false);

	KUNIT_ASSERT_NOT_NULL(test, iova);
	KUNIT_EXPECT_PTR_EQ(test, xiova_find(iovad, 991), iova);
	KUNIT_EXPECT_PTR_EQ(test, xiova_find(iovad, 995), iova);
	KUNIT_EXPECT_PTR_EQ(test, xiova_find(iovad, 1000), iova);
	KUNIT_EXPECT_NULL(test, xiova_find(iovad, 990));
	KUNIT_EXPECT_NULL(test, xiova_find(iovad, 1001));
	KUNIT_EXPECT_NULL(test, xiova_find(iovad, XIOVA_ANCHOR));
}

static void xiova_tree_free_by_inner_pfn(struct kunit *test)
{
	struct xiova_domain *iovad = xt_domain(test, 1, false);

	KUNIT_EXPECT_EQ(test, xt_alloc(test, iovad, 10, 1000, false), 991UL);
	xiova_free(iovad, 995);
	KUNIT_EXPECT_EQ(test, iovad->tree_nodes, 0UL);
	xt_check_tree(test, iovad);
}

static void xiova_tree_randomised(struct kunit *test)
{
	struct xiova_domain *iovad = xt_domain(test, 1, false);
	struct xiova *live[64] = {};
	struct rnd_state rnd;
	int op, slot;

	prandom_seed_state(&rnd, 0x10fa);
	for (op = 0; op < 2000; op++) {
		slot = prandom_u32_state(&rnd) % ARRAY_SIZE(live);
		if (live[slot]) {
			__xiova_free(iovad, live[slot]);
			live[slot] = NULL;
		} else {
			unsigned long size = 1 + prandom_u32_state(&rnd) % 40;
			unsigned long limit = 64 + prandom_u32_state(&rnd) % 4096;
			bool aligned = prandom_u32_state(&rnd) & 1;
			struct xiova *iova;

			iova = xiova_alloc(iovad, size, limit, aligned);
			if (iova) {
				KUNIT_EXPECT_LE(test, iova->pfn_hi, limit);
				if (aligned)
					KUNIT_EXPECT_EQ(test, iova->pfn_lo &
						(roundup_pow_of_two(size) - 1),
						0UL);
			}
			live[slot] = iova;
		}
		if (xiova_check_tree(iovad)) {
			KUNIT_FAIL(test, "tree broken after operation %d", op);
			break;
		}
	}
}

static struct kunit_case xiova_tree_cases[] = {
	KUNIT_CASE_PARAM(xiova_tree_alloc_placement, xt_alloc_gen_params),
	KUNIT_CASE(xiova_tree_top_down),
	KUNIT_CASE(xiova_tree_max32_fast_fail_and_reset),
	KUNIT_CASE(xiova_tree_impossible_request_keeps_max32),
	KUNIT_CASE(xiova_tree_find),
	KUNIT_CASE(xiova_tree_free_by_inner_pfn),
	KUNIT_CASE(xiova_tree_randomised),
	{}
};

static struct kunit_suite xiova_tree_suite = {
	.name = "xiova_tree",
	.init = xt_init,
	.exit = xt_exit,
	.test_cases = xiova_tree_cases,
};

/* ---- reservations ------------------------------------------------------- */

struct xt_range {
	unsigned long lo, hi;
};

struct xt_reserve_case {
	const char *name;
	struct xt_range before[2];
	struct xt_range request;
	struct xt_range returned;
	struct xt_range after[3];
};

static const struct xt_reserve_case xt_reserve_cases[] = {
	{ "new", {}, { 10, 20 }, { 10, 20 }, { { 10, 20 } } },
	{ "contained", { { 10, 20 } }, { 12, 18 }, { 10, 20 }, { { 10, 20 } } },
	{ "extends_down", { { 10, 20 } }, { 5, 15 }, { 5, 20 }, { { 5, 20 } } },
	{ "continues_above", { { 10, 20 } }, { 15, 30 }, { 21, 30 },
	  { { 10, 20 }, { 21, 30 } } },
	{ "spans_two", { { 10, 20 }, { 30, 40 } }, { 5, 45 }, { 41, 45 },
	  { { 5, 20 }, { 21, 40 }, { 41, 45 } } },
	{ "ends_inside_second", { { 10, 20 }, { 30, 40 } }, { 15, 35 },
	  { 21, 40 }, { { 10, 20 }, { 21, 40 } } },
};

static void xt_reserve_case_desc(const struct xt_reserve_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(xt_reserve, xt_reserve_cases, xt_reserve_case_desc);

static void xiova_reserve_merge_split(struct kunit *test)
{
	const struct xt_reserve_case *c = test->param_value;
	struct xiova_domain *iovad = xt_domain(test, 1, false);
	unsigned long nodes = 0;
	struct xiova *iova;
	int i;

	for (i = 0; i < ARRAY_SIZE(c->before) && c->before[i].hi; i++)
		KUNIT_ASSERT_NOT_NULL(test, xiova_reserve(iovad, c->before[i].lo,
							  c->before[i].hi));
	iova = xiova_reserve(iovad, c->request.lo, c->request.hi);
	KUNIT_ASSERT_NOT_NULL(test, iova);
	KUNIT_EXPECT_EQ(test, iova->pfn_lo, c->returned.lo);
	KUNIT_EXPECT_EQ(test, iova->pfn_hi, c->returned.hi);

	for (i = 0; i < ARRAY_SIZE(c->after) && c->after[i].hi; i++, nodes++) {
		iova = xiova_find(iovad, c->after[i].lo);
		KUNIT_ASSERT_NOT_NULL(test, iova);
		KUNIT_EXPECT_EQ(test, iova->pfn_lo, c->after[i].lo);
		KUNIT_EXPECT_EQ(test, iova->pfn_hi, c->after[i].hi);
		KUNIT_EXPECT_TRUE(test, iova->flags & XIOVA_F_RESERVED);
	}
	KUNIT_EXPECT_EQ(test, iovad->tree_nodes, nodes);
	xt_check_tree(test, iovad);
}

static void xiova_reserve_allocations_avoid(struct kunit *test)
{
	struct xiova_domain *iovad = xt_domain(test, 1, true);

	KUNIT_ASSERT_NOT_NULL(test, xiova_reserve(iovad, 900, 1000));
	KUNIT_EXPECT_EQ(test, xt_alloc(test, iovad, 1, 1000, false), 899UL);
	KUNIT_EXPECT_EQ(test, xiova_alloc_fast(iovad, 4, 950, false), 892UL);
	xt_check_tree(test, iovad);
}

static void xiova_reserve_overlapping_allocation_refused(struct kunit *test)
{
	struct xiova_domain *iovad = xt_domain(test, 1, false);
	struct xiova *iova = xiova_alloc(iovad, 10, 1000, false);

	KUNIT_ASSERT_NOT_NULL(test, iova);
	KUNIT_EXPECT_NULL(test, xiova_reserve(iovad, 980, 995));
	KUNIT_EXPECT_NULL(test, xiova_reserve(iovad, 1000, 1010));
	KUNIT_EXPECT_EQ(test, iova->pfn_lo, 991UL);
	KUNIT_EXPECT_EQ(test, iova->pfn_hi, 1000UL);
	KUNIT_EXPECT_EQ(test, iovad->tree_nodes, 1UL);
	KUNIT_EXPECT_NOT_NULL(test, xiova_reserve(iovad, 980, 990));
	xt_check_tree(test, iovad);
}

static struct kunit_case xiova_reserve_cases[] = {
	KUNIT_CASE_PARAM(xiova_reserve_merge_split, xt_reserve_gen_params),
	KUNIT_CASE(xiova_reserve_allocations_avoid),
	KUNIT_CASE(xiova_reserve_overlapping_allocation_refused),
	{}
};

static struct kunit_suite xiova_reserve_suite = {
	.name = "xiova_reserve",
	.init = xt_init,
	.exit = xt_exit,
	.test_cases = xiova_reserve_cases,
};

/* ---- bad input ---------------------------------------------------------- */

struct xt_init_case {
	const char *name;
	unsigned long granule;
	unsigned long start_pfn;
	int expect;
};

static const struct xt_init_case xt_init_cases[] = {
	{ "granule_zero", 0, 1, -EINVAL },
	{ "granule_not_power_of_two", 3000, 1, -EINVAL },
	{ "granule_above_page", PAGE_SIZE * 2, 1, -EINVAL },
	{ "start_pfn_zero", PAGE_SIZE, 0, -EINVAL },
	{ "start_pfn_anchor", PAGE_SIZE, XIOVA_ANCHOR, -EINVAL },
	{ "granule_512", 512, 1, 0 },
	{ "granule_page", PAGE_SIZE, 1, 0 },
};

static void xt_init_case_desc(const struct xt_init_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(xt_init_domain, xt_init_cases, xt_init_case_desc);

static void xiova_bad_init_domain(struct kunit *test)
{
	const struct xt_init_case *c = test->param_value;
	struct xiova_domain *iovad = kunit_kzalloc(test, sizeof(*iovad),
						   GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, iovad);
	KUNIT_EXPECT_EQ(test, xiova_init_domain(iovad, c->granule, c->start_pfn),
			c->expect);
	if (!c->expect) {
		KUNIT_EXPECT_EQ(test, iovad->dma_32bit_pfn,
				1UL << (32 - ilog2(c->granule)));
		xiova_put_domain(iovad);
	}
}

static void xiova_bad_alloc_arguments(struct kunit *test)
{
	struct xiova_domain *iovad = xt_domain(test, 100, true);

	KUNIT_EXPECT_NULL(test, xiova_alloc(iovad, 0, 1000, false));
	KUNIT_EXPECT_EQ(test, xiova_alloc_fast(iovad, 0, 1000, true), 0UL);
	KUNIT_EXPECT_NULL(test, xiova_alloc(iovad, 1, 99, false));
	KUNIT_EXPECT_EQ(test, xiova_alloc_fast(iovad, 1, 99, true), 0UL);
	KUNIT_EXPECT_NULL(test, xiova_alloc(iovad, 902, 1000, false));
	KUNIT_EXPECT_EQ(test, xiova_alloc_fast(iovad, 2048, 1000, true), 0UL);
	KUNIT_EXPECT_NULL(test, xiova_alloc(iovad, ULONG_MAX, ULONG_MAX, true));
	KUNIT_EXPECT_EQ(test, iovad->tree_nodes, 0UL);
	KUNIT_EXPECT_EQ(test, xiova_domain_init_rcaches(iovad), -EBUSY);
	xt_check_tree(test, iovad);
}

static void xiova_bad_limit_at_anchor_means_no_limit(struct kunit *test)
{
	struct xiova_domain *iovad = xt_domain(test, 1, false);

	KUNIT_EXPECT_EQ(test, xt_alloc(test, iovad, 1, ULONG_MAX, false),
			XIOVA_ANCHOR - 1);
	xt_check_tree(test, iovad);
}

static void xiova_bad_free_unknown_and_twice(struct kunit *test)
{
	struct xiova_domain *iovad = xt_domain(test, 1, false);
	unsigned long keep = xt_alloc(test, iovad, 1, 1000, false);
	unsigned long pfn = xt_alloc(test, iovad, 1, 1000, false);

	xiova_free(iovad, 5);
	xiova_free(iovad, pfn);
	xiova_free(iovad, pfn);
	xiova_free(iovad, XIOVA_ANCHOR);
	__xiova_free(iovad, NULL);
	__xiova_free(iovad, &iovad->anchor);
	KUNIT_EXPECT_EQ(test, iovad->tree_nodes, 1UL);
	KUNIT_EXPECT_NOT_NULL(test, xiova_find(iovad, keep));
	xt_check_tree(test, iovad);
}

static void xiova_bad_fast_free_with_debug_checks(struct kunit *test)
{
	struct xiova_domain *iovad;
	unsigned long pfn, other;

	iovad = __xt_domain(test, 1, true, true);
	pfn = xiova_alloc_fast(iovad, 4, ~0UL, false);
	other = xiova_alloc_fast(iovad, 1, ~0UL, false);
	KUNIT_ASSERT_NE(test, pfn, 0UL);
	KUNIT_ASSERT_NE(test, other, 0UL);

	xiova_free_fast(iovad, 12345, 1);
	xiova_free_fast(iovad, pfn + 1, 4);
	xiova_free_fast(iovad, pfn, 8);
	KUNIT_EXPECT_EQ(test, xt_class(iovad, 2).inserts, 0ULL);
	xiova_free_fast(iovad, pfn, 4);
	xiova_free_fast(iovad, pfn, 4);
	KUNIT_EXPECT_EQ(test, xt_class(iovad, 2).inserts, 1ULL);
	/* A cached range cannot be freed again from the tree either. */
	xiova_free(iovad, pfn);
	KUNIT_EXPECT_EQ(test, iovad->tree_nodes, 2UL);

	/* Handed out again, it is an ordinary allocation once more. */
	KUNIT_EXPECT_EQ(test, xiova_alloc_fast(iovad, 4, ~0UL, false), pfn);
	xiova_free_fast(iovad, pfn, 4);
	KUNIT_EXPECT_EQ(test, xt_class(iovad, 2).inserts, 2ULL);
	xiova_free_fast(iovad, other, 1);
	xt_put(test, iovad);
}

/*
 * A domain's debug checks are fixed when it is set up: a range it marked
 * cached is unmarked when handed out again, whatever other domains were
 * set up with meanwhile. A module-wide switch flipped under it left the
 * mark behind, and the range could then not be freed.
 */
static void xiova_bad_debug_checks_per_domain(struct kunit *test)
{
	struct xiova_domain *checked = __xt_domain(test, 1, true, true);
	struct xiova_domain *plain;
	unsigned long pfn;

	KUNIT_EXPECT_TRUE(test, checked->debug_checks);
	pfn = xiova_alloc_fast(checked, 1, ~0UL, false);
	KUNIT_ASSERT_NE(test, pfn, 0UL);
	migrate_disable();
	xiova_free_fast(checked, pfn, 1);
	plain = xt_domain(test, 1, true);
	KUNIT_EXPECT_FALSE(test, plain->debug_checks);
	KUNIT_EXPECT_EQ(test, xiova_alloc_fast(checked, 1, ~0UL, false), pfn);
	migrate_enable();
	xiova_free(checked, pfn);
	KUNIT_EXPECT_EQ(test, checked->tree_nodes, 0UL);
	xt_check_tree(test, checked);
}

/* While a domain lives the module cannot go: its unload would strand it. */
static void xiova_bad_domain_holds_module(struct kunit *test)
{
	struct xiova_domain *own;
	int refs = xiova_module_refs();

	struct xiova_domain *iovad;

	if (refs < 0)
		kunit_skip(test, "the allocator is built in");
	iovad = xt_domain(test, 1, true);
	KUNIT_EXPECT_EQ(test, xiova_module_refs(), refs + 1);
	own = kunit_kzalloc(test, sizeof(*own), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, own);
	/* The module's own test domains, put by its unload, hold none. */
	KUNIT_ASSERT_EQ(test, __xiova_init_domain(own, PAGE_SIZE, 1, false,
						  false), 0);
	KUNIT_EXPECT_EQ(test, xiova_module_refs(), refs + 1);
	xiova_put_domain(own);
	KUNIT_EXPECT_EQ(test, xiova_module_refs(), refs + 1);
	xt_put(test, iovad);
	KUNIT_EXPECT_EQ(test, xiova_module_refs(), refs);
}

static void xiova_bad_reserve_ranges(struct kunit *test)
{
	struct xiova_domain *iovad = xt_domain(test, 1, false);

	KUNIT_EXPECT_NULL(test, xiova_reserve(iovad, 20, 10));
	KUNIT_EXPECT_NULL(test, xiova_reserve(iovad, 10, XIOVA_ANCHOR));
	KUNIT_EXPECT_NULL(test, xiova_reserve(iovad, 0, ULONG_MAX));
	KUNIT_EXPECT_EQ(test, iovad->tree_nodes, 0UL);
	xt_check_tree(test, iovad);
}

static void xiova_bad_node_alloc_failure(struct kunit *test)
{
	struct xiova_domain *iovad = xt_domain(test, 1, true);

	/* The fast allocation fails, flushes, and fails its retry too. */
	atomic_set(&xiova_fail_node_allocs, 4);
	KUNIT_EXPECT_NULL(test, xiova_alloc(iovad, 1, 1000, false));
	KUNIT_EXPECT_NULL(test, xiova_reserve(iovad, 10, 20));
	KUNIT_EXPECT_EQ(test, xiova_alloc_fast(iovad, 1, 1000, true), 0UL);
	KUNIT_EXPECT_EQ(test, atomic_read(&xiova_fail_node_allocs), 0);
	KUNIT_EXPECT_EQ(test, iovad->tree_nodes, 0UL);
	KUNIT_EXPECT_EQ(test, xiova_alloc_fast(iovad, 1, 1000, true), 1000UL);
	xt_check_tree(test, iovad);
}

static void xiova_bad_no_rcaches(struct kunit *test)
{
	struct xiova_domain *iovad = xt_domain(test, 1, false);
	unsigned long pfn = xiova_alloc_fast(iovad, 2, 1000, true);

	KUNIT_EXPECT_EQ(test, pfn, 998UL);
	xiova_free_fast(iovad, pfn, 2);
	KUNIT_EXPECT_EQ(test, iovad->tree_nodes, 0UL);
	xiova_flush_rcaches(iovad, XIOVA_FLUSH_REQUEST);
}

static void xiova_bad_cache_put_unbalanced(struct kunit *test)
{
	struct xiova_domain *iovad = xt_domain(test, 1, false);

	/* The domain holds a reference: get/put pairs around it are safe. */
	KUNIT_EXPECT_EQ(test, xiova_cache_get(), 0);
	xiova_cache_put();
	KUNIT_EXPECT_NOT_NULL(test, xiova_alloc(iovad, 1, 10, false));
}

static struct kunit_case xiova_badinput_cases[] = {
	KUNIT_CASE_PARAM(xiova_bad_init_domain, xt_init_domain_gen_params),
	KUNIT_CASE(xiova_bad_alloc_arguments),
	KUNIT_CASE(xiova_bad_limit_at_anchor_means_no_limit),
	KUNIT_CASE(xiova_bad_free_unknown_and_twice),
	KUNIT_CASE(xiova_bad_fast_free_with_debug_checks),
	KUNIT_CASE(xiova_bad_debug_checks_per_domain),
	KUNIT_CASE(xiova_bad_domain_holds_module),
	KUNIT_CASE(xiova_bad_reserve_ranges),
	KUNIT_CASE(xiova_bad_node_alloc_failure),
	KUNIT_CASE(xiova_bad_no_rcaches),
	KUNIT_CASE(xiova_bad_cache_put_unbalanced),
	{}
};

static struct kunit_suite xiova_badinput_suite = {
	.name = "xiova_badinput",
	.init = xt_init,
	.exit = xt_exit,
	.test_cases = xiova_badinput_cases,
};

kunit_test_suites(&xiova_magazine_suite, &xiova_depot_suite,
		  &xiova_rcache_suite, &xiova_hotplug_suite, &xiova_tree_suite,
		  &xiova_reserve_suite, &xiova_badinput_suite);

MODULE_DESCRIPTION("KUnit tests for the xiova IOVA allocator");
MODULE_LICENSE("GPL");
