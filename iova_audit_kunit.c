// SPDX-License-Identifier: GPL-2.0-only
/*
 * KUnit suite of the teardown audit (iova_audit.c). A domain used
 * correctly must audit clean; each kind of damage the audit looks for is
 * then made on purpose, through the internal helpers that bypass the debug
 * checks, and must be counted: a broken audit cannot let the hardening
 * runs pass silently.
 */
#include <kunit/test.h>
#include <linux/slab.h>

#include "iova_internal.h"

MODULE_IMPORT_NS(XIOVA);
MODULE_IMPORT_NS(XIOVA_INTERNAL);

struct xau_ctx {
	long			nodes;
	long			mags;
	struct xiova_audit	before;
	struct xiova_domain	*iovad;
};

static int xau_init(struct kunit *test)
{
	struct xau_ctx *ctx = kunit_kzalloc(test, sizeof(*ctx), GFP_KERNEL);
	struct xiova_domain *iovad;

	if (!ctx)
		return -ENOMEM;
	ctx->nodes = xiova_live_nodes();
	ctx->mags = xiova_live_magazines();
	iovad = kzalloc(sizeof(*iovad), GFP_KERNEL);
	if (!iovad)
		return -ENOMEM;
	/* The audit needs the cached marks that only the checks set. */
	if (__xiova_init_domain(iovad, PAGE_SIZE, 1, true, true)) {
		kfree(iovad);
		return -ENOMEM;
	}
	if (xiova_domain_init_rcaches(iovad)) {
		xiova_put_domain(iovad);
		kfree(iovad);
		return -ENOMEM;
	}
	ctx->iovad = iovad;
	xiova_audit_get(&ctx->before);
	test->priv = ctx;
	return 0;
}

/* Puts the domain; what its audit added to the totals. */
static struct xiova_audit xau_put(struct kunit *test)
{
	struct xau_ctx *ctx = test->priv;
	struct xiova_audit after, d;

	xiova_put_domain(ctx->iovad);
	kfree(ctx->iovad);
	ctx->iovad = NULL;
	xiova_audit_get(&after);
	d.domains = after.domains - ctx->before.domains;
	d.cached = after.cached - ctx->before.cached;
	d.lost = after.lost - ctx->before.lost;
	d.duplicate = after.duplicate - ctx->before.duplicate;
	d.unknown = after.unknown - ctx->before.unknown;
	d.allocated = after.allocated - ctx->before.allocated;
	return d;
}

static void xau_exit(struct kunit *test)
{
	struct xau_ctx *ctx = test->priv;

	if (ctx->iovad)
		xau_put(test);
	KUNIT_EXPECT_EQ_MSG(test, xiova_live_nodes(), ctx->nodes,
			    "tree nodes leaked");
	KUNIT_EXPECT_EQ_MSG(test, xiova_live_magazines(), ctx->mags,
			    "magazines leaked");
}

static void xiova_audit_clean_domain(struct kunit *test)
{
	struct xau_ctx *ctx = test->priv;
	static const unsigned long sizes[] = { 1, 4, 32 };
	unsigned long pfns[ARRAY_SIZE(sizes)][10];
	struct xiova_audit d;
	int s, i;

	for (s = 0; s < ARRAY_SIZE(sizes); s++)
		for (i = 0; i < 10; i++) {
			pfns[s][i] = xiova_alloc_fast(ctx->iovad, sizes[s],
						      ~0UL, false);
			KUNIT_ASSERT_NE(test, pfns[s][i], 0UL);
		}
	for (s = 0; s < ARRAY_SIZE(sizes); s++)
		for (i = 0; i < 10; i++)
			xiova_free_fast(ctx->iovad, pfns[s][i], sizes[s]);
	/* Still allocated and reserved at the put: legal, not cached. */
	KUNIT_ASSERT_NE(test, xiova_alloc_fast(ctx->iovad, 2, ~0UL, false), 0UL);
	KUNIT_ASSERT_NOT_NULL(test, xiova_reserve(ctx->iovad, 100, 200));

	d = xau_put(test);
	KUNIT_EXPECT_EQ(test, d.domains, 1UL);
	KUNIT_EXPECT_EQ(test, d.cached, 30UL);
	KUNIT_EXPECT_EQ(test, d.lost, 0UL);
	KUNIT_EXPECT_EQ(test, d.duplicate, 0UL);
	KUNIT_EXPECT_EQ(test, d.unknown, 0UL);
	KUNIT_EXPECT_EQ(test, d.allocated, 1UL);
}

/* Full magazines in the depot are walked through their link word. */
static void xiova_audit_depot(struct kunit *test)
{
	struct xau_ctx *ctx = test->priv;
	unsigned long n = 3 * XIOVA_MAG_SIZE + 5, i, *pfns;
	struct xiova_audit d;

	pfns = kunit_kcalloc(test, n, sizeof(*pfns), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, pfns);
	for (i = 0; i < n; i++) {
		pfns[i] = xiova_alloc_fast(ctx->iovad, 1, ~0UL, false);
		KUNIT_ASSERT_NE(test, pfns[i], 0UL);
	}
	for (i = 0; i < n; i++)
		xiova_free_fast(ctx->iovad, pfns[i], 1);
	KUNIT_EXPECT_GT(test, ctx->iovad->rcaches->cls[0].depot_size, 0UL);

	/*
	 * The trim work may give depot magazines back to the tree before the
	 * put stops it; those ranges leave the tree with them.
	 */
	d = xau_put(test);
	KUNIT_EXPECT_GE(test, d.cached, (unsigned long)XIOVA_MAG_SIZE + 5);
	KUNIT_EXPECT_EQ(test, d.cached % XIOVA_MAG_SIZE, 5UL);
	KUNIT_EXPECT_EQ(test, d.lost + d.duplicate + d.unknown + d.allocated,
			0UL);
}

/* A cached range taken out of its magazine without its mark cleared. */
static void xiova_audit_finds_lost(struct kunit *test)
{
	struct xau_ctx *ctx = test->priv;
	unsigned long pfn = xiova_alloc_fast(ctx->iovad, 1, ~0UL, false);
	struct xiova_audit d;

	KUNIT_ASSERT_NE(test, pfn, 0UL);
	xiova_free_fast(ctx->iovad, pfn, 1);
	KUNIT_ASSERT_EQ(test, xiova_rcache_get(ctx->iovad, 1, ~0UL), pfn);

	d = xau_put(test);
	KUNIT_EXPECT_EQ(test, d.lost, 1UL);
	KUNIT_EXPECT_EQ(test, d.cached, 0UL);
	KUNIT_EXPECT_EQ(test, d.allocated, 0UL);
}

/* The same range cached twice: it would be handed out twice. */
static void xiova_audit_finds_duplicate(struct kunit *test)
{
	struct xau_ctx *ctx = test->priv;
	unsigned long pfn = xiova_alloc_fast(ctx->iovad, 4, ~0UL, false);
	struct xiova_audit d;

	KUNIT_ASSERT_NE(test, pfn, 0UL);
	xiova_free_fast(ctx->iovad, pfn, 4);
	KUNIT_ASSERT_TRUE(test, xiova_rcache_insert(ctx->iovad, pfn, 4));

	d = xau_put(test);
	KUNIT_EXPECT_EQ(test, d.duplicate, 1UL);
	KUNIT_EXPECT_EQ(test, d.cached, 1UL);
	KUNIT_EXPECT_EQ(test, d.lost, 0UL);
}

/*
 * Magazine pfns that start no cached range: not in the tree, an
 * allocation nobody freed, a range of another size class.
 */
static void xiova_audit_finds_unknown(struct kunit *test)
{
	struct xau_ctx *ctx = test->priv;
	unsigned long live = xiova_alloc_fast(ctx->iovad, 1, ~0UL, false);
	unsigned long big = xiova_alloc_fast(ctx->iovad, 8, ~0UL, false);
	struct xiova_audit d;

	KUNIT_ASSERT_NE(test, live, 0UL);
	KUNIT_ASSERT_NE(test, big, 0UL);
	KUNIT_ASSERT_TRUE(test, xiova_rcache_insert(ctx->iovad, 12345, 1));
	KUNIT_ASSERT_TRUE(test, xiova_rcache_insert(ctx->iovad, live, 1));
	xiova_free_fast(ctx->iovad, big, 8);
	KUNIT_ASSERT_TRUE(test, xiova_rcache_insert(ctx->iovad, big, 2));

	d = xau_put(test);
	KUNIT_EXPECT_EQ(test, d.unknown, 3UL);
	KUNIT_EXPECT_EQ(test, d.cached, 1UL);
	KUNIT_EXPECT_EQ(test, d.allocated, 1UL);
	KUNIT_EXPECT_EQ(test, d.lost, 0UL);
}

static struct kunit_case xiova_audit_cases[] = {
	KUNIT_CASE(xiova_audit_clean_domain),
	KUNIT_CASE(xiova_audit_depot),
	KUNIT_CASE(xiova_audit_finds_lost),
	KUNIT_CASE(xiova_audit_finds_duplicate),
	KUNIT_CASE(xiova_audit_finds_unknown),
	{}
};

static struct kunit_suite xiova_audit_suite = {
	.name = "xiova_audit",
	.init = xau_init,
	.exit = xau_exit,
	.test_cases = xiova_audit_cases,
};

kunit_test_suites(&xiova_audit_suite);
