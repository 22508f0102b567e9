// SPDX-License-Identifier: GPL-2.0-only
/*
 * xiova free-gap tree: the rbtree of ranges, augmented so that the highest
 * free gap that fits a request is found in O(log n).
 *
 * Every node records the free pfns right below it (between its
 * predecessor, or the domain's start pfn, and itself) and the largest such
 * gap in its subtree. A search descends right-first, skipping every
 * subtree whose largest gap is too small, so it only ever visits the path
 * along the limit and the paths to gaps that are large enough.
 */
#include <linux/rbtree_augmented.h>

#include "iova_tree.h"

static struct xiova *to_xiova(struct rb_node *node)
{
	return rb_entry(node, struct xiova, node);
}

static unsigned long xiova_gap_of(struct xiova *iova)
{
	return iova->gap;
}

RB_DECLARE_CALLBACKS_MAX(static, xiova_gap_cb, struct xiova, node,
			 unsigned long, max_gap, xiova_gap_of);

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
	anchor->max_gap = anchor->gap;
	rb_link_node(&anchor->node, NULL, &iovad->rbroot.rb_node);
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
	new->max_gap = new->gap;
	next->gap = xiova_gap_from(next, max(new->pfn_hi + 1, iovad->start_pfn));

	rb_link_node(&new->node, parent, link);
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

static bool xiova_subtree_may_fit(struct rb_node *node, unsigned long size)
{
	return node && to_xiova(node)->max_gap >= size;
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
 * subtree whose largest gap is smaller than @size and every right subtree
 * that lies wholly at or above the limit. @visits counts the nodes looked
 * at, for the KUnit check that the search stays logarithmic.
 */
static __always_inline struct xiova *
__xiova_gap_find(struct xiova_domain *iovad, unsigned long size,
		 unsigned long limit_pfn, unsigned long align_mask,
		 unsigned long *pfn, unsigned int *visits)
{
	struct rb_node *node = iovad->rbroot.rb_node;
	bool descend = true;

	if (!xiova_subtree_may_fit(node, size))
		return NULL;

	while (node) {
		struct xiova *iova = to_xiova(node);

		(*visits)++;
		if (descend && iova->pfn_hi < limit_pfn - 1 &&
		    xiova_subtree_may_fit(node->rb_right, size)) {
			node = node->rb_right;
			continue;
		}
		if (xiova_gap_fits(iova, size, limit_pfn, align_mask, pfn))
			return iova;
		if (xiova_subtree_may_fit(node->rb_left, size)) {
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
 * checked against its own gap and its children's checked maxima.
 *
 * Return: true if the gap and the subtree maximum are what they should be.
 */
bool xiova_gap_check_node(struct xiova_domain *iovad, struct xiova *iova,
			  struct xiova *prev)
{
	unsigned long floor = iovad->start_pfn, max;

	if (prev && prev->pfn_hi + 1 > floor)
		floor = prev->pfn_hi + 1;
	if (iova->gap != xiova_gap_from(iova, floor))
		return false;

	max = iova->gap;
	if (iova->node.rb_left)
		max = max(max, to_xiova(iova->node.rb_left)->max_gap);
	if (iova->node.rb_right)
		max = max(max, to_xiova(iova->node.rb_right)->max_gap);
	return iova->max_gap == max;
}
