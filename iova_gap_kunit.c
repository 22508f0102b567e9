// SPDX-License-Identifier: GPL-2.0-only
/*
 * KUnit suite of the free-gap tree (iova_gap.c): the highest fitting range
 * is chosen, below the limit, aligned when asked, never overlapping; the
 * augmented data always matches a full recomputation; and the search
 * visits O(log n) nodes in a tree where a linear walk would visit all.
 */
#include <kunit/test.h>
#include <linux/log2.h>
#include <linux/prandom.h>
#include <linux/slab.h>

#include "iova_internal.h"

MODULE_IMPORT_NS(XIOVA);
MODULE_IMPORT_NS(XIOVA_INTERNAL);

struct xg_ctx {
	long			nodes;
	struct xiova_domain	*iovad;
};

static int xg_init(struct kunit *test)
{
	struct xg_ctx *ctx = kunit_kzalloc(test, sizeof(*ctx), GFP_KERNEL);

	if (!ctx)
		return -ENOMEM;
	ctx->nodes = xiova_live_nodes();
	test->priv = ctx;
	return 0;
}

static void xg_exit(struct kunit *test)
{
	struct xg_ctx *ctx = test->priv;

	if (ctx->iovad) {
		xiova_put_domain(ctx->iovad);
		kfree(ctx->iovad);
	}
	KUNIT_EXPECT_EQ_MSG(test, xiova_live_nodes(), ctx->nodes,
			    "tree nodes leaked");
}

static struct xiova_domain *xg_domain(struct kunit *test,
				      unsigned long start_pfn)
{
	struct xg_ctx *ctx = test->priv;
	struct xiova_domain *iovad = kzalloc(sizeof(*iovad), GFP_KERNEL);
	int ret;

	KUNIT_ASSERT_NOT_NULL(test, iovad);
	/* Not KUNIT_ASSERT_FAILURE(): 6.12 renamed it KUNIT_FAIL_AND_ABORT(). */
	ret = xiova_init_domain(iovad, PAGE_SIZE, start_pfn);
	if (ret)
		kfree(iovad);
	KUNIT_ASSERT_EQ_MSG(test, ret, 0, "xiova_init_domain failed");
	ctx->iovad = iovad;
	return iovad;
}

static unsigned long xg_alloc(struct xiova_domain *iovad, unsigned long size,
			      unsigned long limit, bool aligned)
{
	struct xiova *iova = xiova_alloc(iovad, size, limit, aligned);

	return iova ? iova->pfn_lo : 0;
}

static unsigned long xg_align_mask(unsigned long size, bool aligned)
{
	return aligned ? ~0UL << fls_long(size - 1) : ~0UL;
}

/*
 * The reference: every gap from the top of the space down, the first
 * that holds the request wins. This is the walk the tree must shortcut.
 */
static unsigned long xg_reference(struct xiova_domain *iovad,
				  unsigned long size, unsigned long limit,
				  bool aligned)
{
	unsigned long mask = xg_align_mask(size, aligned), top, floor, pfn;
	struct rb_node *node, *prev;

	for (node = rb_last(&iovad->rbroot); node; node = prev) {
		struct xiova *iova = rb_entry(node, struct xiova, node);

		prev = rb_prev(node);
		floor = iovad->start_pfn;
		if (prev)
			floor = max(floor,
				    rb_entry(prev, struct xiova, node)->pfn_hi + 1);
		top = min(iova->pfn_lo, limit + 1);
		if (top < floor || top - floor < size)
			continue;
		pfn = (top - size) & mask;
		if (pfn >= floor)
			return pfn;
	}
	return 0;
}

static void xg_check(struct kunit *test, struct xiova_domain *iovad)
{
	KUNIT_EXPECT_EQ(test, xiova_check_tree(iovad), 0);
}

/* The kernel walks on below its last allocation; the tree does not. */
static void xiova_gap_highest_fit_above_last(struct kunit *test)
{
	struct xiova_domain *iovad = xg_domain(test, 1);

	KUNIT_EXPECT_EQ(test, xg_alloc(iovad, 1, 100, false), 100UL);
	/* 6.1 gives 96 here, below the range it allocated last. */
	KUNIT_EXPECT_EQ(test, xg_alloc(iovad, 4, 200, false), 197UL);
	KUNIT_EXPECT_EQ(test, xg_alloc(iovad, 1, 200, false), 196UL);
	KUNIT_EXPECT_EQ(test, xg_alloc(iovad, 1, 2000, false), 2000UL);
	xg_check(test, iovad);
}

static void xiova_gap_small_hole_above_large_gap(struct kunit *test)
{
	struct xiova_domain *iovad = xg_domain(test, 1);
	struct xiova *hole;

	KUNIT_EXPECT_EQ(test, xg_alloc(iovad, 1, 1000, false), 1000UL);
	hole = xiova_alloc(iovad, 2, 1000, false);
	KUNIT_ASSERT_NOT_NULL(test, hole);
	KUNIT_EXPECT_EQ(test, xg_alloc(iovad, 1, 1000, false), 997UL);
	__xiova_free(iovad, hole);

	/* Too big for the hole at 998: the large gap below takes it. */
	KUNIT_EXPECT_EQ(test, xg_alloc(iovad, 3, 1000, false), 994UL);
	KUNIT_EXPECT_EQ(test, xg_alloc(iovad, 2, 1000, false), 998UL);
	xg_check(test, iovad);
}

static void xiova_gap_alignment_skips_misaligned_gap(struct kunit *test)
{
	struct xiova_domain *iovad = xg_domain(test, 1);
	struct xiova *gap;

	/* Leave 1021..1024 free: four pfns, but not aligned to four. */
	KUNIT_EXPECT_EQ(test, xg_alloc(iovad, 1, 1025, false), 1025UL);
	gap = xiova_alloc(iovad, 4, 1025, false);
	KUNIT_ASSERT_NOT_NULL(test, gap);
	KUNIT_EXPECT_EQ(test, gap->pfn_lo, 1021UL);
	KUNIT_EXPECT_EQ(test, xg_alloc(iovad, 1, 1025, false), 1020UL);
	__xiova_free(iovad, gap);

	KUNIT_EXPECT_EQ(test, xg_alloc(iovad, 4, 1025, true), 1016UL);
	KUNIT_EXPECT_EQ(test, xg_alloc(iovad, 4, 1025, false), 1021UL);
	xg_check(test, iovad);
}

static void xiova_gap_limit_inside_gap(struct kunit *test)
{
	struct xiova_domain *iovad = xg_domain(test, 1);

	KUNIT_EXPECT_EQ(test, xg_alloc(iovad, 10, 5000, false), 4991UL);
	KUNIT_EXPECT_EQ(test, xg_alloc(iovad, 10, 1000, false), 991UL);
	KUNIT_EXPECT_EQ(test, xg_alloc(iovad, 8, 1000, true), 976UL);
	/* Exactly the space left between 991 and 4991. */
	KUNIT_EXPECT_EQ(test, xg_alloc(iovad, 3990, 4990, false),
			1001UL);
	KUNIT_EXPECT_EQ(test, xg_alloc(iovad, 1, 4990, false), 990UL);
	xg_check(test, iovad);
}

/* Reserved ranges may lie below the start pfn, which has no gap below. */
static void xiova_gap_start_pfn_and_low_reservation(struct kunit *test)
{
	struct xiova_domain *iovad = xg_domain(test, 16);
	struct xiova *res = xiova_reserve(iovad, 4, 20);

	KUNIT_ASSERT_NOT_NULL(test, res);
	xg_check(test, iovad);
	KUNIT_EXPECT_EQ(test, xg_alloc(iovad, 9, 30, false), 22UL);
	KUNIT_EXPECT_EQ(test, xg_alloc(iovad, 1, 30, false), 21UL);
	KUNIT_EXPECT_EQ(test, xg_alloc(iovad, 1, 30, false), 0UL);
	/* Growing the reservation down below the start keeps its gap at 0. */
	KUNIT_EXPECT_PTR_EQ(test, xiova_reserve(iovad, 1, 20), res);
	KUNIT_EXPECT_EQ(test, res->pfn_lo, 1UL);
	KUNIT_EXPECT_EQ(test, res->gap, 0UL);
	xg_check(test, iovad);
	__xiova_free(iovad, res);
	KUNIT_EXPECT_EQ(test, xg_alloc(iovad, 5, 20, false), 16UL);
	xg_check(test, iovad);
}

#define XG_SLOTS	96
#define XG_OPS		4000
#define XG_SPACE	8192

struct xg_rand {
	struct rnd_state	rnd;
	struct xiova		*live[XG_SLOTS];
	struct xiova_domain	*iovad;
	bool			aligned;
};

static u32 xg_rnd(struct xg_rand *r, u32 n)
{
	return prandom_u32_state(&r->rnd) % n;
}

/* The bound the search must keep in a tree of @nodes nodes. */
static unsigned int xg_visit_bound(unsigned long nodes)
{
	return 6 * (ilog2(nodes) + 1);
}

/*
 * One allocation, checked against the reference before it is made. The
 * search itself is run first and counted: whatever the tree looks like,
 * it must stay within the logarithmic bound (Documentation/design.rst).
 */
static void xg_rand_alloc(struct kunit *test, struct xg_rand *r, int slot)
{
	struct xiova_domain *iovad = r->iovad;
	unsigned long size = 1 + (xg_rnd(r, 4) ? xg_rnd(r, 40) : xg_rnd(r, 600));
	unsigned long limit = iovad->start_pfn + xg_rnd(r, XG_SPACE);
	bool aligned = r->aligned || xg_rnd(r, 2);
	unsigned long expect = xg_reference(iovad, size, limit, aligned);
	unsigned long flags, pfn = 0;
	unsigned int visits;
	struct xiova *iova;

	spin_lock_irqsave(&iovad->iova_rbtree_lock, flags);
	if (!xiova_gap_find_counted(iovad, size, limit + 1,
				    xg_align_mask(size, aligned), &pfn, &visits))
		pfn = 0;
	spin_unlock_irqrestore(&iovad->iova_rbtree_lock, flags);
	KUNIT_EXPECT_EQ_MSG(test, pfn, expect, "size %lu limit %lu aligned %d",
			    size, limit, aligned);
	KUNIT_EXPECT_LE_MSG(test, visits,
			    xg_visit_bound(iovad->tree_nodes + 1),
			    "size %lu limit %lu aligned %d", size, limit,
			    aligned);

	/* The kernel's 32-bit fast-fail refuses before any search. */
	if (size >= iovad->max32_alloc_size)
		expect = 0;
	iova = xiova_alloc(iovad, size, limit, aligned);
	KUNIT_EXPECT_EQ_MSG(test, iova ? iova->pfn_lo : 0, expect,
			    "size %lu limit %lu aligned %d", size, limit,
			    aligned);
	if (iova) {
		KUNIT_EXPECT_LE(test, iova->pfn_hi, limit);
		KUNIT_EXPECT_GE(test, iova->pfn_lo, iovad->start_pfn);
		KUNIT_EXPECT_EQ(test, iova->pfn_lo &
				~xg_align_mask(size, aligned), 0UL);
	}
	r->live[slot] = iova;
}

/*
 * Reservations of a few pfns, or in the aligned run single pfns at 5 mod
 * 8, which leave gaps long enough for sizes up to 4 that hold no aligned
 * fit of them.
 */
static void xg_rand_reserve(struct xg_rand *r, int slot)
{
	unsigned long lo = xg_rnd(r, XG_SPACE + r->iovad->start_pfn);
	unsigned long hi = lo + xg_rnd(r, 8);

	if (r->aligned) {
		lo = (lo & ~7UL) + 5;
		hi = lo;
	}
	r->live[slot] = xiova_reserve(r->iovad, lo, hi);
	/* A merge may return a range another slot holds already. */
	for (int i = 0; i < XG_SLOTS && r->live[slot]; i++)
		if (i != slot && r->live[i] == r->live[slot])
			r->live[slot] = NULL;
}

static const bool xg_rand_aligned[] = { false, true };

static void xg_rand_desc(const bool *aligned, char *desc)
{
	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "%s",
		 *aligned ? "aligned" : "mixed");
}

KUNIT_ARRAY_PARAM(xg_rand, xg_rand_aligned, xg_rand_desc);

/*
 * Random allocations, frees and reservations, every allocation checked
 * against the reference: half of them aligned, or in the aligned run all
 * of them, with more reservations to fragment the space.
 */
static void xiova_gap_randomised_against_reference(struct kunit *test)
{
	struct xg_rand *r = kunit_kzalloc(test, sizeof(*r), GFP_KERNEL);
	int op, slot;

	KUNIT_ASSERT_NOT_NULL(test, r);
	r->aligned = *(const bool *)test->param_value;
	prandom_seed_state(&r->rnd, r->aligned ? 0x9a96 : 0x9a95);
	r->iovad = xg_domain(test, 1 + xg_rnd(r, 64));

	for (op = 0; op < XG_OPS; op++) {
		slot = xg_rnd(r, XG_SLOTS);
		if (r->live[slot]) {
			__xiova_free(r->iovad, r->live[slot]);
			r->live[slot] = NULL;
		} else if (!xg_rnd(r, r->aligned ? 3 : 16)) {
			xg_rand_reserve(r, slot);
		} else {
			xg_rand_alloc(test, r, slot);
		}
		if (xiova_check_tree(r->iovad)) {
			KUNIT_FAIL(test, "gap data wrong after operation %d", op);
			break;
		}
	}
}

/*
 * 3 aligned to 4, top-down from a limit of 2 mod 4, leaves a hole of one
 * below every range: no gap of 2 exists above the lowest range, so a
 * linear walk would visit every node. A red-black tree is at most
 * 2 log2(n + 1) high, and a search goes down, back up and down again.
 */
static void xiova_gap_search_is_logarithmic(struct kunit *test)
{
	struct xiova_domain *iovad = xg_domain(test, 1);
	const unsigned long n = 20000, top = 4 * n + 1002;
	unsigned long i, pfn, flags, bound = xg_visit_bound(n);
	unsigned int visits;
	struct xiova *found;

	for (i = 0; i < n; i++)
		KUNIT_ASSERT_NE(test, xg_alloc(iovad, 3, top, true), 0UL);
	KUNIT_ASSERT_EQ(test, xg_reference(iovad, 2, top, false), 1002UL);

	spin_lock_irqsave(&iovad->iova_rbtree_lock, flags);
	found = xiova_gap_find_counted(iovad, 2, top + 1, ~0UL, &pfn, &visits);
	spin_unlock_irqrestore(&iovad->iova_rbtree_lock, flags);
	KUNIT_ASSERT_NOT_NULL(test, found);
	KUNIT_EXPECT_EQ(test, pfn, 1002UL);
	KUNIT_EXPECT_LE(test, visits, bound);

	/* A limit in the middle of the ranges. */
	spin_lock_irqsave(&iovad->iova_rbtree_lock, flags);
	found = xiova_gap_find_counted(iovad, 2, top / 2, ~0UL, &pfn, &visits);
	spin_unlock_irqrestore(&iovad->iova_rbtree_lock, flags);
	KUNIT_ASSERT_NOT_NULL(test, found);
	KUNIT_EXPECT_EQ(test, pfn, 1002UL);
	KUNIT_EXPECT_LE(test, visits, bound);

	/* Larger than any gap below the limit: only the anchor's is. */
	spin_lock_irqsave(&iovad->iova_rbtree_lock, flags);
	found = xiova_gap_find_counted(iovad, 2000, top + 1, ~0UL, &pfn,
				       &visits);
	spin_unlock_irqrestore(&iovad->iova_rbtree_lock, flags);
	KUNIT_EXPECT_NULL(test, found);
	KUNIT_EXPECT_LE(test, visits, bound);
	xg_check(test, iovad);
}

/*
 * Single-pfn ranges at 8i and 8i + 5 leave gaps of 4 and 2 pfns: every
 * gap of 4 passes a prune on size alone for 3 or 4 pfns, but none holds 3
 * or 4 pfns starting on a multiple of 4. Only the gap at the bottom, 1 to
 * 7, does. A search pruning on size alone visits every node on the way
 * down to it; the aligned-fit data must lead it there in O(log n).
 */
static void xiova_gap_aligned_search_is_logarithmic(struct kunit *test)
{
	struct xiova_domain *iovad = xg_domain(test, 1);
	const unsigned long n = 4096, top = 8 * n + 8;
	static const unsigned long sizes[] = { 3, 4 };
	const unsigned long limits[] = { top, top / 2 + 3 };
	unsigned long i, j, k, pfn, flags, bound;
	unsigned int visits;
	struct xiova *found;

	for (i = 1; i <= n; i++) {
		KUNIT_ASSERT_NOT_NULL(test, xiova_reserve(iovad, 8 * i, 8 * i));
		KUNIT_ASSERT_NOT_NULL(test,
				      xiova_reserve(iovad, 8 * i + 5, 8 * i + 5));
	}
	xg_check(test, iovad);
	bound = xg_visit_bound(iovad->tree_nodes + 1);

	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		for (j = 0; j < ARRAY_SIZE(limits); j++) {
			/* xg_reference() takes the inclusive limit. */
			KUNIT_ASSERT_EQ(test, xg_reference(iovad, sizes[i],
							   limits[j] - 1, true),
					4UL);
			spin_lock_irqsave(&iovad->iova_rbtree_lock, flags);
			found = xiova_gap_find_counted(iovad, sizes[i],
						       limits[j],
						       xg_align_mask(sizes[i],
								     true),
						       &pfn, &visits);
			spin_unlock_irqrestore(&iovad->iova_rbtree_lock,
					       flags);
			KUNIT_ASSERT_NOT_NULL(test, found);
			KUNIT_EXPECT_EQ(test, pfn, 4UL);
			KUNIT_EXPECT_LE_MSG(test, visits, bound,
					    "size %lu limit %lu, %lu nodes",
					    sizes[i], limits[j],
					    iovad->tree_nodes + 1);
		}
	}

	/* Take the bottom gap: now nothing below the limit fits at all. */
	KUNIT_ASSERT_EQ(test, xg_alloc(iovad, 4, top - 1, true), 4UL);
	for (k = 0; k < ARRAY_SIZE(sizes); k++) {
		spin_lock_irqsave(&iovad->iova_rbtree_lock, flags);
		found = xiova_gap_find_counted(iovad, sizes[k], top,
					       xg_align_mask(sizes[k], true),
					       &pfn, &visits);
		spin_unlock_irqrestore(&iovad->iova_rbtree_lock, flags);
		KUNIT_EXPECT_NULL(test, found);
		KUNIT_EXPECT_LE(test, visits, bound);
	}
	xg_check(test, iovad);
}

/*
 * Sizes above XIOVA_FIT_MAX are pruned on the saturated aligned-fit data
 * and on the gap sizes: still never past a fit.
 */
static void xiova_gap_huge_aligned_requests(struct kunit *test)
{
	struct xiova_domain *iovad = xg_domain(test, 1);
	const unsigned long limit = XIOVA_ANCHOR - 1;
	const unsigned long sizes[] = { 1UL << 61, (1UL << 60) + 1, 1UL << 60 };
	const unsigned long expect[] = { 6UL << 61, 7UL << 61, 11UL << 60 };
	unsigned long i;

	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		KUNIT_EXPECT_EQ(test, xg_reference(iovad, sizes[i], limit, true),
				expect[i]);
		KUNIT_EXPECT_EQ(test, xg_alloc(iovad, sizes[i], limit, true),
				expect[i]);
		xg_check(test, iovad);
	}
}

static struct kunit_case xiova_gap_cases[] = {
	KUNIT_CASE(xiova_gap_highest_fit_above_last),
	KUNIT_CASE(xiova_gap_small_hole_above_large_gap),
	KUNIT_CASE(xiova_gap_alignment_skips_misaligned_gap),
	KUNIT_CASE(xiova_gap_limit_inside_gap),
	KUNIT_CASE(xiova_gap_start_pfn_and_low_reservation),
	KUNIT_CASE_PARAM(xiova_gap_randomised_against_reference,
			 xg_rand_gen_params),
	KUNIT_CASE(xiova_gap_search_is_logarithmic),
	KUNIT_CASE(xiova_gap_aligned_search_is_logarithmic),
	KUNIT_CASE(xiova_gap_huge_aligned_requests),
	{}
};

static struct kunit_suite xiova_gap_suite = {
	.name = "xiova_gap",
	.init = xg_init,
	.exit = xg_exit,
	.test_cases = xiova_gap_cases,
};

kunit_test_suite(xiova_gap_suite);
