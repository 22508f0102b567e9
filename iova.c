// SPDX-License-Identifier: GPL-2.0-only
/*
 * xiova rbtree core: the range allocator behind the magazine caches.
 *
 * Ranges live in an rbtree ordered by pfn, with an anchor node above the
 * whole space. Allocation takes the highest free range below the limit
 * that fits, found through the free-gap data of iova_gap.c.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bitops.h>
#include <linux/log2.h>
#include <linux/slab.h>

#include "iova_tree.h"
#include "iova_trace.h"

static struct kmem_cache *xiova_node_cache;
static DEFINE_PER_CPU(long, xiova_nodes_live);

atomic_t xiova_fail_node_allocs = ATOMIC_INIT(0);
EXPORT_SYMBOL_FOR_XIOVA_KUNIT(xiova_fail_node_allocs);

static struct xiova *to_xiova(struct rb_node *node)
{
	return rb_entry(node, struct xiova, node);
}

/* Callers hold spinlocks with interrupts off, hence GFP_ATOMIC. */
struct xiova *xiova_node_alloc(void)
{
	struct xiova *iova;

	if (xiova_should_fail(&xiova_fail_node_allocs))
		return NULL;
	iova = kmem_cache_zalloc(xiova_node_cache, GFP_ATOMIC | __GFP_NOWARN);
	if (iova)
		this_cpu_inc(xiova_nodes_live);
	return iova;
}
EXPORT_SYMBOL_FOR_XIOVA_KUNIT(xiova_node_alloc);

void xiova_node_free(struct xiova *iova)
{
	if (!iova || iova->pfn_lo == XIOVA_ANCHOR)
		return;
	this_cpu_dec(xiova_nodes_live);
	kmem_cache_free(xiova_node_cache, iova);
}
EXPORT_SYMBOL_FOR_XIOVA_KUNIT(xiova_node_free);

/**
 * xiova_live_nodes() - tree nodes allocated and not yet freed, all domains
 *
 * Return: the count; exact only while no allocation runs concurrently.
 */
long xiova_live_nodes(void)
{
	long sum = 0;
	int cpu;

	for_each_possible_cpu(cpu)
		sum += per_cpu(xiova_nodes_live, cpu);
	return sum;
}
EXPORT_SYMBOL_FOR_XIOVA_KUNIT(xiova_live_nodes);

/**
 * xiova_tree_setup() - create the tree-node cache
 *
 * Return: 0 or -ENOMEM.
 */
int xiova_tree_setup(void)
{
	xiova_node_cache = kmem_cache_create("xiova_node", sizeof(struct xiova),
					     0, SLAB_HWCACHE_ALIGN, NULL);
	if (!xiova_node_cache) {
		pr_err("cannot create the xiova_node cache\n");
		return -ENOMEM;
	}
	return 0;
}

/**
 * xiova_tree_teardown() - undo xiova_tree_setup()
 */
void xiova_tree_teardown(void)
{
	kmem_cache_destroy(xiova_node_cache);
	xiova_node_cache = NULL;
}

/**
 * xiova_tree_init() - an empty tree: only the anchor, above the space
 * @iovad: the domain
 * @granule: bytes per pfn, checked by the caller
 * @start_pfn: lowest pfn that may be allocated, checked by the caller
 */
void xiova_tree_init(struct xiova_domain *iovad, unsigned long granule,
		     unsigned long start_pfn)
{
	spin_lock_init(&iovad->iova_rbtree_lock);
	iovad->rbroot = RB_ROOT;
	iovad->granule = granule;
	iovad->start_pfn = start_pfn;
	iovad->dma_32bit_pfn = 1UL << (32 - xiova_shift(iovad));
	iovad->max32_alloc_size = iovad->dma_32bit_pfn;
	iovad->anchor.pfn_lo = XIOVA_ANCHOR;
	iovad->anchor.pfn_hi = XIOVA_ANCHOR;
	iovad->anchor.flags = XIOVA_F_RESERVED;
	iovad->tree_nodes = 0;
	xiova_gap_init_anchor(iovad);
}

/**
 * xiova_tree_free_all() - free every range of a domain's tree
 * @iovad: the domain; no other call on it may run
 */
void xiova_tree_free_all(struct xiova_domain *iovad)
{
	struct xiova *iova, *tmp;

	rbtree_postorder_for_each_entry_safe(iova, tmp, &iovad->rbroot, node)
		xiova_node_free(iova);
	iovad->rbroot = RB_ROOT;
	iovad->tree_nodes = 0;
}

/*
 * Place @size pfns below the exclusive @limit_pfn: the highest free range
 * that fits, found through the gap data in O(log n).
 */
static int xiova_alloc_range(struct xiova_domain *iovad, unsigned long size,
			     unsigned long limit_pfn, struct xiova *new,
			     bool size_aligned)
{
	unsigned long align_mask = ~0UL, new_pfn, flags;
	struct xiova *next;

	if (size_aligned)
		align_mask <<= fls_long(size - 1);

	spin_lock_irqsave(&iovad->iova_rbtree_lock, flags);
	if (limit_pfn <= iovad->dma_32bit_pfn &&
	    size >= iovad->max32_alloc_size)
		goto full;

	next = xiova_gap_find(iovad, size, limit_pfn, align_mask, &new_pfn);
	if (!next) {
		/* Any failed limit covers the 32-bit window, as in the kernel. */
		iovad->max32_alloc_size = size;
		goto full;
	}

	new->pfn_lo = new_pfn;
	new->pfn_hi = new_pfn + size - 1;
	xiova_gap_insert_below(iovad, new, next);
	spin_unlock_irqrestore(&iovad->iova_rbtree_lock, flags);
	return 0;

full:
	spin_unlock_irqrestore(&iovad->iova_rbtree_lock, flags);
	return -ENOMEM;
}

/**
 * xiova_alloc_tree() - xiova_alloc() without its trace event
 * @iovad: the domain
 * @size: number of pfns, at least 1
 * @limit_pfn: highest pfn the range may use (inclusive)
 * @size_aligned: align the first pfn to @size rounded up to a power of two
 *
 * xiova_alloc_fast() traces its tree allocations itself, as fast ones.
 *
 * Return: as xiova_alloc().
 */
struct xiova *xiova_alloc_tree(struct xiova_domain *iovad, unsigned long size,
			       unsigned long limit_pfn, bool size_aligned)
{
	struct xiova *new;

	if (unlikely(!size)) {
		pr_warn_ratelimited("allocation of size 0 refused\n");
		return NULL;
	}
	limit_pfn = min(limit_pfn, XIOVA_ANCHOR - 1);
	/*
	 * A request that cannot fit below its own limit says nothing about
	 * the space: unlike 6.1, it leaves max32_alloc_size alone, so one
	 * impossible request does not fail later 32-bit ones at once.
	 */
	if (limit_pfn < iovad->start_pfn ||
	    size > limit_pfn - iovad->start_pfn + 1)
		return NULL;
	if (size_aligned && fls_long(size - 1) >= BITS_PER_LONG)
		return NULL;

	new = xiova_node_alloc();
	if (!new)
		return NULL;
	if (xiova_alloc_range(iovad, size, limit_pfn + 1, new, size_aligned)) {
		xiova_node_free(new);
		return NULL;
	}
	return new;
}

/**
 * xiova_alloc() - allocate a range from the rbtree
 * @iovad: the domain
 * @size: number of pfns, at least 1
 * @limit_pfn: highest pfn the range may use (inclusive)
 * @size_aligned: align the first pfn to @size rounded up to a power of two
 *
 * Searches top-down from @limit_pfn to the domain's start pfn. A limit at
 * or above the anchor means no limit (the kernel's alloc_iova() wraps and
 * fails there). Any context.
 *
 * Return: the new range, or NULL when nothing fits, on a bad argument, or
 * when no memory is left for the node.
 */
struct xiova *xiova_alloc(struct xiova_domain *iovad, unsigned long size,
			  unsigned long limit_pfn, bool size_aligned)
{
	struct xiova *iova = xiova_alloc_tree(iovad, size, limit_pfn,
					      size_aligned);

	trace_alloc(iovad->id, iova ? iova->pfn_lo : 0, size, limit_pfn, false,
		    iova ? XIOVA_ALLOC_TREE : XIOVA_ALLOC_FAIL);
	return iova;
}
EXPORT_SYMBOL_NS_GPL(xiova_alloc, XIOVA);

/**
 * xiova_find_locked() - find the range holding a pfn
 * @iovad: the domain, with its rbtree lock held
 * @pfn: any pfn inside the range
 *
 * Return: the range, the anchor for pfns at its place, or NULL.
 */
struct xiova *xiova_find_locked(struct xiova_domain *iovad, unsigned long pfn)
{
	struct rb_node *node = iovad->rbroot.rb_node;

	assert_spin_locked(&iovad->iova_rbtree_lock);
	while (node) {
		struct xiova *iova = to_xiova(node);

		if (pfn < iova->pfn_lo)
			node = node->rb_left;
		else if (pfn > iova->pfn_hi)
			node = node->rb_right;
		else
			return iova;
	}
	return NULL;
}
EXPORT_SYMBOL_FOR_XIOVA_KUNIT(xiova_find_locked);

/**
 * xiova_remove_locked() - unlink a range from the tree
 * @iovad: the domain, with its rbtree lock held
 * @iova: a range in the tree, not the anchor
 */
void xiova_remove_locked(struct xiova_domain *iovad, struct xiova *iova)
{
	assert_spin_locked(&iovad->iova_rbtree_lock);
	/* The gap this opens may fit a size that failed below 4 GiB. */
	if (iova->pfn_lo < iovad->dma_32bit_pfn)
		iovad->max32_alloc_size = iovad->dma_32bit_pfn;
	xiova_gap_erase(iovad, iova);
}
EXPORT_SYMBOL_FOR_XIOVA_KUNIT(xiova_remove_locked);

/**
 * xiova_find() - find the range holding a pfn
 * @iovad: the domain
 * @pfn: any pfn inside the range
 *
 * The range stays valid only until someone frees it. Any context.
 *
 * Return: the range, or NULL if no range holds @pfn.
 */
struct xiova *xiova_find(struct xiova_domain *iovad, unsigned long pfn)
{
	unsigned long flags;
	struct xiova *iova;

	spin_lock_irqsave(&iovad->iova_rbtree_lock, flags);
	iova = xiova_find_locked(iovad, pfn);
	spin_unlock_irqrestore(&iovad->iova_rbtree_lock, flags);
	return iova == &iovad->anchor ? NULL : iova;
}
EXPORT_SYMBOL_NS_GPL(xiova_find, XIOVA);

/* A range sitting in a magazine must not also be freed from the tree. */
static bool xiova_may_free(struct xiova_domain *iovad, struct xiova *iova,
			   unsigned long pfn)
{
	if (!iova) {
		pr_warn_ratelimited("domain %d: free of unknown pfn %#lx\n",
				    iovad->id, pfn);
		return false;
	}
	if (iova == &iovad->anchor) {
		pr_warn_ratelimited("domain %d: free of the anchor refused\n",
				    iovad->id);
		return false;
	}
	if (iova->flags & XIOVA_F_CACHED) {
		pr_warn_ratelimited("domain %d: pfn %#lx is cached, free refused\n",
				    iovad->id, pfn);
		return false;
	}
	return true;
}

/**
 * __xiova_free() - free a range returned by xiova_alloc() or xiova_reserve()
 * @iovad: the domain
 * @iova: the range; NULL is ignored
 *
 * Any context.
 */
void __xiova_free(struct xiova_domain *iovad, struct xiova *iova)
{
	unsigned long flags;

	if (!iova)
		return;
	spin_lock_irqsave(&iovad->iova_rbtree_lock, flags);
	if (!xiova_may_free(iovad, iova, iova->pfn_lo)) {
		spin_unlock_irqrestore(&iovad->iova_rbtree_lock, flags);
		return;
	}
	trace_free(iovad->id, iova->pfn_lo, xiova_size(iova), false);
	xiova_remove_locked(iovad, iova);
	spin_unlock_irqrestore(&iovad->iova_rbtree_lock, flags);
	xiova_node_free(iova);
}
EXPORT_SYMBOL_NS_GPL(__xiova_free, XIOVA);

/* The free event comes before the range is unlinked and can be reused. */
static void xiova_free_pfn(struct xiova_domain *iovad, unsigned long pfn,
			   bool traced)
{
	unsigned long flags;
	struct xiova *iova;

	spin_lock_irqsave(&iovad->iova_rbtree_lock, flags);
	iova = xiova_find_locked(iovad, pfn);
	if (!xiova_may_free(iovad, iova, pfn)) {
		spin_unlock_irqrestore(&iovad->iova_rbtree_lock, flags);
		return;
	}
	if (traced)
		trace_free(iovad->id, iova->pfn_lo, xiova_size(iova), false);
	xiova_remove_locked(iovad, iova);
	spin_unlock_irqrestore(&iovad->iova_rbtree_lock, flags);
	xiova_node_free(iova);
}

/**
 * xiova_free_tree() - xiova_free() without its trace event
 * @iovad: the domain
 * @pfn: any pfn inside a range
 *
 * For xiova_free_fast(), which has traced the free already.
 */
void xiova_free_tree(struct xiova_domain *iovad, unsigned long pfn)
{
	xiova_free_pfn(iovad, pfn, false);
}

/**
 * xiova_free_tree_pfns() - free ranges that a magazine held
 * @iovad: the domain
 * @pfns: the first pfn of each range
 * @n: how many
 *
 * One lock round trip for the whole magazine. A pfn the tree does not know
 * is reported and skipped: the magazine held it by mistake. Any context.
 */
void xiova_free_tree_pfns(struct xiova_domain *iovad, const unsigned long *pfns,
			  unsigned long n)
{
	struct xiova *iova;
	unsigned long flags, i;

	spin_lock_irqsave(&iovad->iova_rbtree_lock, flags);
	for (i = 0; i < n; i++) {
		iova = xiova_find_locked(iovad, pfns[i]);
		if (!iova || iova == &iovad->anchor) {
			pr_err_ratelimited("domain %d: cached pfn %#lx is not in the tree\n",
					   iovad->id, pfns[i]);
			continue;
		}
		xiova_remove_locked(iovad, iova);
		xiova_node_free(iova);
	}
	spin_unlock_irqrestore(&iovad->iova_rbtree_lock, flags);
}

/**
 * xiova_free() - free the range holding a pfn
 * @iovad: the domain
 * @pfn: any pfn inside a range
 *
 * An unknown pfn is reported (ratelimited) and otherwise ignored, which
 * also catches a second free of the same range. Any context.
 */
void xiova_free(struct xiova_domain *iovad, unsigned long pfn)
{
	xiova_free_pfn(iovad, pfn, true);
}
EXPORT_SYMBOL_NS_GPL(xiova_free, XIOVA);

/* The leftmost range whose top reaches @pfn: ranges are disjoint and sorted. */
static struct rb_node *xiova_first_reaching(struct xiova_domain *iovad,
					    unsigned long pfn)
{
	struct rb_node *node = iovad->rbroot.rb_node, *found = NULL;

	while (node) {
		if (to_xiova(node)->pfn_hi >= pfn) {
			found = node;
			node = node->rb_left;
		} else {
			node = node->rb_right;
		}
	}
	return found;
}

static bool xiova_overlaps_allocation(struct rb_node *node,
				      unsigned long pfn_lo,
				      unsigned long pfn_hi)
{
	for (; node && to_xiova(node)->pfn_lo <= pfn_hi; node = rb_next(node))
		if (!(to_xiova(node)->flags & XIOVA_F_RESERVED))
			return true;
	return false;
}

/*
 * The kernel's merge: every reserved range overlapping [lo, hi] grows down
 * to cover the part below it, what is left above moves on to the next
 * one, and whatever remains past the last overlap becomes a new range.
 */
static struct xiova *xiova_merge_reserved(struct xiova_domain *iovad,
					  struct rb_node *node,
					  unsigned long pfn_lo,
					  unsigned long pfn_hi,
					  struct xiova **spare)
{
	struct xiova *iova;

	for (; node && to_xiova(node)->pfn_lo <= pfn_hi; node = rb_next(node)) {
		iova = to_xiova(node);
		if (pfn_lo < iova->pfn_lo)
			xiova_gap_lower_start(iovad, iova, pfn_lo);
		if (pfn_hi <= iova->pfn_hi)
			return iova;
		pfn_lo = iova->pfn_hi + 1;
	}

	iova = *spare;
	*spare = NULL;
	iova->pfn_lo = pfn_lo;
	iova->pfn_hi = pfn_hi;
	iova->flags = XIOVA_F_RESERVED;
	xiova_gap_insert(iovad, iova);
	return iova;
}

/**
 * xiova_reserve() - keep a range of pfns from ever being allocated
 * @iovad: the domain
 * @pfn_lo: first pfn
 * @pfn_hi: last pfn (inclusive), below the anchor
 *
 * Overlapping earlier reservations merge as in the kernel's reserve_iova();
 * touching ones stay apart, as there. Unlike it, a range overlapping a live
 * allocation is
 * refused instead of silently growing that allocation, which its owner
 * would later free together with the reservation. Any context.
 *
 * Return: the reserved range holding the top of the request, or NULL for
 * a bad range, an overlap with an allocation, or no memory.
 */
struct xiova *xiova_reserve(struct xiova_domain *iovad, unsigned long pfn_lo,
			    unsigned long pfn_hi)
{
	struct xiova *spare, *iova = NULL;
	struct rb_node *first;
	unsigned long flags;

	if (pfn_lo > pfn_hi || pfn_hi >= XIOVA_ANCHOR ||
	    pfn_hi > (U64_MAX >> xiova_shift(iovad))) {
		pr_warn_ratelimited("domain %d: bad reservation [%#lx, %#lx]\n",
				    iovad->id, pfn_lo, pfn_hi);
		return NULL;
	}

	spare = xiova_node_alloc();
	if (!spare)
		return NULL;

	spin_lock_irqsave(&iovad->iova_rbtree_lock, flags);
	first = xiova_first_reaching(iovad, pfn_lo);
	if (xiova_overlaps_allocation(first, pfn_lo, pfn_hi))
		pr_warn_ratelimited("domain %d: reservation [%#lx, %#lx] overlaps an allocation\n",
				    iovad->id, pfn_lo, pfn_hi);
	else
		iova = xiova_merge_reserved(iovad, first, pfn_lo, pfn_hi, &spare);
	spin_unlock_irqrestore(&iovad->iova_rbtree_lock, flags);

	xiova_node_free(spare);
	return iova;
}
EXPORT_SYMBOL_NS_GPL(xiova_reserve, XIOVA);

static bool xiova_node_well_placed(struct xiova_domain *iovad,
				   struct xiova *iova, struct xiova *prev)
{
	if (iova->pfn_lo > iova->pfn_hi)
		return false;
	if (prev && iova->pfn_lo <= prev->pfn_hi)
		return false;
	return iova->pfn_lo >= iovad->start_pfn ||
	       (iova->flags & XIOVA_F_RESERVED);
}

/**
 * xiova_check_tree() - verify the rbtree's invariants
 * @iovad: the domain
 *
 * Ranges are well formed, sorted, disjoint, allocations lie within the
 * domain, the anchor is last, the node count matches, and every node's
 * gap and subtree maximum match a recomputation.
 *
 * Return: 0, or -EUCLEAN after logging the first violation.
 */
int xiova_check_tree(struct xiova_domain *iovad)
{
	struct xiova *iova, *prev = NULL;
	unsigned long flags, count = 0;
	struct rb_node *node;
	int ret = -EUCLEAN;

	spin_lock_irqsave(&iovad->iova_rbtree_lock, flags);
	for (node = rb_first(&iovad->rbroot); node; node = rb_next(node)) {
		iova = to_xiova(node);
		if (!xiova_node_well_placed(iovad, iova, prev)) {
			pr_err("domain %d: bad range [%#lx, %#lx]\n",
			       iovad->id, iova->pfn_lo, iova->pfn_hi);
			goto out;
		}
		if (!xiova_gap_check_node(iovad, iova, prev)) {
			pr_err("domain %d: range [%#lx, %#lx] has gap %lu max %lu fit %lu, wrong\n",
			       iovad->id, iova->pfn_lo, iova->pfn_hi,
			       iova->gap, iova->max_gap,
			       (unsigned long)iova->max_fit);
			goto out;
		}
		prev = iova;
		count++;
	}
	if (prev != &iovad->anchor || count != iovad->tree_nodes + 1) {
		pr_err("domain %d: %lu nodes counted, %lu recorded\n",
		       iovad->id, count, iovad->tree_nodes + 1);
		goto out;
	}
	ret = 0;
out:
	spin_unlock_irqrestore(&iovad->iova_rbtree_lock, flags);
	return ret;
}
EXPORT_SYMBOL_FOR_XIOVA_KUNIT(xiova_check_tree);
