// SPDX-License-Identifier: GPL-2.0-only
/*
 * xiova free-gap tree: the rbtree of ranges, augmented so that the highest
 * free gap that fits a request, aligned or not, is found in O(log n).
 *
 * Every node records the free pfns right below it (between its
 * predecessor, or the domain's start pfn, and itself), the largest such
 * gap in its subtree, and the largest size that a gap of its subtree
 * holds size-aligned. A search descends right-first, skipping every
 * subtree that holds no gap fitting the request, so it only ever visits
 * the path along the limit and one path to the range it returns
 * (Documentation/design.rst has the proof).
 */
#include <linux/log2.h>
#include <linux/rbtree_augmented.h>

#include "iova_tree.h"

static struct xiova *to_xiova(struct rb_node *node)
{
	return rb_entry(node, struct xiova, node);
}

/*
 * Pfns from the first multiple of 2^@order in [@lo, @hi] up to @hi, or 0
 * if there is none. @lo is at least 1 (the start pfn is never 0) and @hi
 * lies below the anchor, so rounding up cannot wrap unnoticed.
 */
static unsigned long xiova_aligned_tail(unsigned long lo, unsigned long hi,
					unsigned int order)
{
	unsigned long mask;

	/* No multiple of 2^BITS_PER_LONG but 0 fits in an unsigned long. */
	if (order >= BITS_PER_LONG)
		return 0;
	mask = (1UL << order) - 1;
	if (lo & mask) {
		if ((lo | mask) >= hi)
			return 0;
		lo = (lo | mask) + 1;
	}
	return hi - lo + 1;
}

/*
 * The largest size s that the gap below @iova holds starting on a
 * multiple of roundup_pow_of_two(s). With tail(k) the pfns from the gap's
 * first multiple of 2^k to its top, s fits iff s <= tail(k) for its k, and
 * then every smaller size fits too (its alignment divides 2^k), so the
 * answer is the largest min(2^k, tail(k)). tail(k) only falls as k grows:
 * with j the order of the largest aligned block the gap holds, that is
 * max(2^j, tail(j + 1)). A gap of len pfns holds an aligned block of
 * 2^(ilog2(len) - 1) pfns wherever it starts, so j is one of those two.
 */
static unsigned long xiova_fit_of(struct xiova *iova)
{
	unsigned long lo = iova->pfn_lo - iova->gap, hi = iova->pfn_lo - 1;
	unsigned int order;

	if (!iova->gap)
		return 0;
	order = ilog2(iova->gap);
	if (order && xiova_aligned_tail(lo, hi, order) < (1UL << order))
		order--;
	return min(max(1UL << order, xiova_aligned_tail(lo, hi, order + 1)),
		   XIOVA_FIT_MAX);
}

/* The subtree maxima of @iova, given its own gap's values. */
static void xiova_gap_maxima(struct xiova *iova, unsigned long gap,
			     unsigned long fit, unsigned long *max_gap,
			     unsigned long *max_fit)
{
	struct rb_node *child[] = { iova->node.rb_left, iova->node.rb_right };

	*max_gap = gap;
	*max_fit = fit;
	for (int i = 0; i < ARRAY_SIZE(child); i++) {
		if (!child[i])
			continue;
		*max_gap = max(*max_gap, to_xiova(child[i])->max_gap);
		*max_fit = max_t(unsigned long, *max_fit,
				 to_xiova(child[i])->max_fit);
	}
}

/*
 * RB_DECLARE_CALLBACKS_MAX() keeps one maximum; this keeps two, so the
 * callbacks it would generate are spelled out below. Returns true, when
 * @exit, if nothing changed and the propagation may stop.
 */
static bool xiova_gap_compute(struct xiova *iova, bool exit)
{
	unsigned long max_gap, max_fit;

	xiova_gap_maxima(iova, iova->gap, xiova_fit_of(iova), &max_gap,
			 &max_fit);
	if (exit && iova->max_gap == max_gap && iova->max_fit == max_fit)
		return true;
	iova->max_gap = max_gap;
	iova->max_fit = max_fit;
	return false;
}

static void xiova_gap_cb_propagate(struct rb_node *rb, struct rb_node *stop)
{
	while (rb != stop) {
		if (xiova_gap_compute(to_xiova(rb), true))
			break;
		rb = rb_parent(rb);
	}
}

static void xiova_gap_cb_copy(struct rb_node *rb_old, struct rb_node *rb_new)
{
	struct xiova *old = to_xiova(rb_old), *new = to_xiova(rb_new);

	new->max_gap = old->max_gap;
	new->max_fit = old->max_fit;
}

static void xiova_gap_cb_rotate(struct rb_node *rb_old, struct rb_node *rb_new)
{
	xiova_gap_cb_copy(rb_old, rb_new);
	xiova_gap_compute(to_xiova(rb_old), false);
}

static const struct rb_augment_callbacks xiova_gap_cb = {
	.propagate	= xiova_gap_cb_propagate,
	.copy		= xiova_gap_cb_copy,
	.rotate		= xiova_gap_cb_rotate,
};

/*
 * Lowest free pfn of the gap below @iova. Below the start pfn there is no
 * gap, so a range there has none and its gap floor is the start pfn.
 */
static unsigned long xiova_gap_floor(struct xiova_domain *iovad,
				     struct xiova *iova)
{
	if (iova->pfn_lo < iovad->start_pfn)
		return iovad->start_pfn;
	return iova->pfn_lo - iova->gap;
}

static unsigned long xiova_gap_from(struct xiova *iova, unsigned long floor)
{
	return iova->pfn_lo > floor ? iova->pfn_lo - floor : 0;
}

/* The gap below the anchor is the whole space while the tree is empty. */
void xiova_gap_init_anchor(struct xiova_domain *iovad)
{
	struct xiova *anchor = &iovad->anchor;

	anchor->gap = xiova_gap_from(anchor, iovad->start_pfn);
	/* Linked first: the maxima read the children rb_link_node() clears. */
	rb_link_node(&anchor->node, NULL, &iovad->rbroot.rb_node);
	xiova_gap_compute(anchor, false);
	rb_insert_augmented(&anchor->node, &iovad->rbroot, &xiova_gap_cb);
}

/*
 * Link @new at @link below @parent, where it lands right below @next.
 * rb_insert_augmented() wants the augmented data right on the path to the
 * new node before it rebalances: @new splits the gap that was @next's.
 */
static void xiova_gap_link(struct xiova_domain *iovad, struct xiova *new,
			   struct xiova *next, struct rb_node *parent,
			   struct rb_node **link)
{
	unsigned long floor = xiova_gap_floor(iovad, next);

	new->gap = xiova_gap_from(new, floor);
	next->gap = xiova_gap_from(next, max(new->pfn_hi + 1, iovad->start_pfn));

	rb_link_node(&new->node, parent, link);
	xiova_gap_compute(new, false);
	xiova_gap_cb_propagate(parent, NULL);
	xiova_gap_cb_propagate(&next->node, NULL);
	rb_insert_augmented(&new->node, &iovad->rbroot, &xiova_gap_cb);
	iovad->tree_nodes++;
}

/**
 * xiova_gap_insert() - add a range to the tree by its first pfn
 * @iovad: the domain, with its rbtree lock held
 * @iova: a range below the anchor overlapping no range in the tree
 */
void xiova_gap_insert(struct xiova_domain *iovad, struct xiova *iova)
{
	struct rb_node **link = &iovad->rbroot.rb_node, *parent = NULL;
	struct xiova *next = NULL;

	while (*link) {
		parent = *link;
		if (iova->pfn_lo < to_xiova(parent)->pfn_lo) {
			next = to_xiova(parent);
			link = &parent->rb_left;
		} else {
			link = &parent->rb_right;
		}
	}
	/* The anchor lies above every range, so @next is always found. */
	xiova_gap_link(iovad, iova, next, parent, link);
}

/**
 * xiova_gap_insert_below() - add a range placed in the gap below a node
 * @iovad: the domain, with its rbtree lock held
 * @iova: the new range
 * @next: the node whose gap xiova_gap_find() chose
 *
 * The new range becomes @next's in-order predecessor, so its place is
 * found from @next without a search from the root.
 */
void xiova_gap_insert_below(struct xiova_domain *iovad, struct xiova *iova,
			    struct xiova *next)
{
	struct rb_node *parent = &next->node, **link = &parent->rb_left;

	while (*link) {
		parent = *link;
		link = &parent->rb_right;
	}
	xiova_gap_link(iovad, iova, next, parent, link);
}

/**
 * xiova_gap_erase() - unlink a range and give its pfns to the gap above it
 * @iovad: the domain, with its rbtree lock held
 * @iova: a range in the tree, not the anchor
 */
void xiova_gap_erase(struct xiova_domain *iovad, struct xiova *iova)
{
	struct xiova *next = to_xiova(rb_next(&iova->node));
	unsigned long floor = xiova_gap_floor(iovad, iova);

	rb_erase_augmented(&iova->node, &iovad->rbroot, &xiova_gap_cb);
	next->gap = xiova_gap_from(next, floor);
	xiova_gap_cb_propagate(&next->node, NULL);
	iovad->tree_nodes--;
}

/**
 * xiova_gap_lower_start() - move a range's first pfn down into its gap
 * @iovad: the domain, with its rbtree lock held
 * @iova: a range in the tree
 * @pfn_lo: its new first pfn, not below its predecessor's last pfn
 */
void xiova_gap_lower_start(struct xiova_domain *iovad, struct xiova *iova,
			   unsigned long pfn_lo)
{
	unsigned long floor = xiova_gap_floor(iovad, iova);

	iova->pfn_lo = pfn_lo;
	iova->gap = xiova_gap_from(iova, floor);
	xiova_gap_cb_propagate(&iova->node, NULL);
}

/*
 * The highest @size pfns of the gap below @iova that end below the
 * exclusive @limit_pfn and start on @align_mask, if they fit.
 */
static bool xiova_gap_fits(struct xiova *iova, unsigned long size,
			   unsigned long limit_pfn, unsigned long align_mask,
			   unsigned long *pfn)
{
	unsigned long floor, top;

	if (iova->gap < size)
		return false;
	floor = iova->pfn_lo - iova->gap;
	top = min(iova->pfn_lo, limit_pfn);
	if (top < floor + size)
		return false;
	*pfn = (top - size) & align_mask;
	return *pfn >= floor;
}

/*
 * Whether the subtree at @node holds a gap of @size pfns, and one of
 * @fit pfns starting size-aligned: exactly whether it has a fit of the
 * request if nothing saturates (Documentation/design.rst).
 */
static bool xiova_subtree_may_fit(struct rb_node *node, unsigned long size,
				  unsigned long fit)
{
	return node && to_xiova(node)->max_gap >= size &&
	       to_xiova(node)->max_fit >= fit;
}

/* Back up from a finished subtree to the next node in descending order. */
static struct rb_node *xiova_gap_climb(struct rb_node *node)
{
	struct rb_node *parent;

	while ((parent = rb_parent(node)) && parent->rb_left == node)
		node = parent;
	return parent;
}

/*
 * Walks the tree in descending order, right subtree first, pruning every
 * subtree that holds no gap fitting the request and every right subtree
 * that lies wholly at or above the limit. A request aligned to at least
 * its size rounded up to a power of two (every size-aligned one) is pruned
 * on the aligned data as well: any fit of it is a size-aligned fit, so no
 * fit is lost. A smaller alignment has only the gap sizes to go by. @visits
 * counts the nodes looked at, for the KUnit check that the search stays
 * logarithmic.
 */
static __always_inline struct xiova *
__xiova_gap_find(struct xiova_domain *iovad, unsigned long size,
		 unsigned long limit_pfn, unsigned long align_mask,
		 unsigned long *pfn, unsigned int *visits)
{
	struct rb_node *node = iovad->rbroot.rb_node;
	unsigned long fit = 0;
	bool descend = true;

	/* size <= 2^k for the k low bits that @align_mask clears */
	if (!((size - 1) & align_mask))
		fit = min(size, XIOVA_FIT_MAX);
	if (!xiova_subtree_may_fit(node, size, fit))
		return NULL;

	while (node) {
		struct xiova *iova = to_xiova(node);

		(*visits)++;
		if (descend && iova->pfn_hi < limit_pfn - 1 &&
		    xiova_subtree_may_fit(node->rb_right, size, fit)) {
			node = node->rb_right;
			continue;
		}
		if (xiova_gap_fits(iova, size, limit_pfn, align_mask, pfn))
			return iova;
		if (xiova_subtree_may_fit(node->rb_left, size, fit)) {
			node = node->rb_left;
			descend = true;
			continue;
		}
		node = xiova_gap_climb(node);
		descend = false;
	}
	return NULL;
}

/**
 * xiova_gap_find() - find the highest free range that fits
 * @iovad: the domain, with its rbtree lock held
 * @size: number of pfns, at least 1
 * @limit_pfn: exclusive upper bound, at least 1
 * @align_mask: mask the first pfn must satisfy
 * @pfn: set to the first pfn of the range found
 *
 * Return: the node whose gap holds the range, or NULL if none fits.
 */
struct xiova *xiova_gap_find(struct xiova_domain *iovad, unsigned long size,
			     unsigned long limit_pfn, unsigned long align_mask,
			     unsigned long *pfn)
{
	unsigned int visits = 0;

	return __xiova_gap_find(iovad, size, limit_pfn, align_mask, pfn,
				&visits);
}

/**
 * xiova_gap_find_counted() - xiova_gap_find() that counts visited nodes
 * @iovad: the domain, with its rbtree lock held
 * @size: number of pfns, at least 1
 * @limit_pfn: exclusive upper bound, at least 1
 * @align_mask: mask the first pfn must satisfy
 * @pfn: set to the first pfn of the range found
 * @visits: set to the number of nodes the search looked at
 *
 * Return: as xiova_gap_find().
 */
struct xiova *xiova_gap_find_counted(struct xiova_domain *iovad,
				     unsigned long size,
				     unsigned long limit_pfn,
				     unsigned long align_mask,
				     unsigned long *pfn, unsigned int *visits)
{
	*visits = 0;
	return __xiova_gap_find(iovad, size, limit_pfn, align_mask, pfn,
				visits);
}
EXPORT_SYMBOL_FOR_XIOVA_KUNIT(xiova_gap_find_counted);

/**
 * xiova_gap_check_node() - verify one node's augmented data
 * @iovad: the domain, with its rbtree lock held
 * @iova: a node of the tree
 * @prev: its in-order predecessor, or NULL
 *
 * Checking every node this way is a full recomputation: each maximum is
 * checked against its own gap and its children's checked maxima, and the
 * aligned fit of the gap is computed the slow way, over every alignment.
 *
 * Return: true if the gap and the subtree maxima are what they should be.
 */
bool xiova_gap_check_node(struct xiova_domain *iovad, struct xiova *iova,
			  struct xiova *prev)
{
	unsigned long floor = iovad->start_pfn, fit = 0, max_gap, max_fit;
	unsigned int order;

	if (prev && prev->pfn_hi + 1 > floor)
		floor = prev->pfn_hi + 1;
	if (iova->gap != xiova_gap_from(iova, floor))
		return false;

	/* The aligned fit by its definition, not by xiova_fit_of()'s shortcut */
	for (order = 0; iova->gap && order < BITS_PER_LONG; order++)
		fit = max(fit, min(1UL << order,
				   xiova_aligned_tail(floor, iova->pfn_lo - 1,
						      order)));
	xiova_gap_maxima(iova, iova->gap, min(fit, XIOVA_FIT_MAX), &max_gap,
			 &max_fit);
	return iova->max_gap == max_gap && iova->max_fit == max_fit;
}
