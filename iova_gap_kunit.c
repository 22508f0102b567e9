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

	KUNIT_ASSERT_NOT_NULL(test, iovad);
	if (xiova_init_domain(iovad, PAGE_SIZE, start_pfn)) {
		kfree(iovad);
		KUNIT_ASSERT_FAILURE(test, "xiova_init_domain failed");
	}
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
};

static u32 xg_rnd(struct xg_rand *r, u32 n)
{
	return prandom_u32_state(&r->rnd) % n;
}

/* One allocation, checked against the reference before it is made. */
static void xg_rand_alloc(struct kunit *test, struct xg_rand *r, int slot)
{
	struct xiova_domain *iovad = r->iovad;
	unsigned long size = 1 + (xg_rnd(r, 4) ? xg_rnd(r, 40) : xg_rnd(r, 600));
	unsigned long limit = iovad->start_pfn + xg_rnd(r, XG_SPACE);
	bool aligned = xg_rnd(r, 2);
	unsigned long expect = xg_reference(iovad, size, limit, aligned);
	struct xiova *iova;

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

static void xg_rand_reserve(struct xg_rand *r, int slot)
{
	unsigned long lo = xg_rnd(r, XG_SPACE + r->iovad->start_pfn);

	r->live[slot] = xiova_reserve(r->iovad, lo, lo + xg_rnd(r, 8));
	/* A merge may return a range another slot holds already. */
	for (int i = 0; i < XG_SLOTS && r->live[slot]; i++)
		if (i != slot && r->live[i] == r->live[slot])
			r->live[slot] = NULL;
}

static void xiova_gap_randomised_against_reference(struct kunit *test)
{
	struct xg_rand *r = kunit_kzalloc(test, sizeof(*r), GFP_KERNEL);
	int op, slot;

	KUNIT_ASSERT_NOT_NULL(test, r);
	prandom_seed_state(&r->rnd, 0x9a95);
	r->iovad = xg_domain(test, 1 + xg_rnd(r, 64));

	for (op = 0; op < XG_OPS; op++) {
		slot = xg_rnd(r, XG_SLOTS);
		if (r->live[slot]) {
			__xiova_free(r->iovad, r->live[slot]);
			r->live[slot] = NULL;
		} else if (!xg_rnd(r, 16)) {
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
	unsigned long i, pfn, flags, bound = 6 * (ilog2(n) + 1);
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

static struct kunit_case xiova_gap_cases[] = {
	KUNIT_CASE(xiova_gap_highest_fit_above_last),
	KUNIT_CASE(xiova_gap_small_hole_above_large_gap),
	KUNIT_CASE(xiova_gap_alignment_skips_misaligned_gap),
	KUNIT_CASE(xiova_gap_limit_inside_gap),
	KUNIT_CASE(xiova_gap_start_pfn_and_low_reservation),
	KUNIT_CASE(xiova_gap_randomised_against_reference),
	KUNIT_CASE(xiova_gap_search_is_logarithmic),
	{}
};

static struct kunit_suite xiova_gap_suite = {
	.name = "xiova_gap",
	.init = xg_init,
	.exit = xg_exit,
	.test_cases = xiova_gap_cases,
};

kunit_test_suite(xiova_gap_suite);
