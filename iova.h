/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * xiova: an IOVA allocator with per-CPU magazines and an unbounded depot.
 *
 * Public interface. It has the shape of the kernel's own IOVA API, with
 * every symbol under the xiova_ prefix and exported in the XIOVA symbol
 * namespace, so that the module loads beside the kernel's own allocator.
 * Users add MODULE_IMPORT_NS(XIOVA).
 */
#ifndef _XIOVA_H_
#define _XIOVA_H_

#include <linux/types.h>
#include <linux/kernel.h>
#include <linux/list.h>
#include <linux/rbtree.h>
#include <linux/spinlock.h>

/* Size classes cached by the magazines: 1, 2, 4, ... 32 granules. */
#define XIOVA_RANGE_CACHE_MAX_SIZE	6

/* Reserved with xiova_reserve(): never handed out, merged with neighbours. */
#define XIOVA_F_RESERVED	BIT(0)
/* Bits of &struct xiova.flags; the internal flags are BIT(1) and BIT(2). */
#define XIOVA_FLAG_BITS		4
/* Bits of &struct xiova.max_fit: the rest of the word. */
#define XIOVA_FIT_BITS		(BITS_PER_LONG - XIOVA_FLAG_BITS)
/* The largest &struct xiova.max_fit can hold. */
#define XIOVA_FIT_MAX		(~0UL >> XIOVA_FLAG_BITS)

/**
 * struct xiova - one allocated or reserved range of a domain
 * @node:	link in the domain's rbtree, ordered by @pfn_lo
 * @pfn_hi:	highest pfn of the range (inclusive)
 * @pfn_lo:	lowest pfn of the range
 * @flags:	XIOVA_F_* bits
 * @max_fit:	largest size that some @gap of this node's subtree holds
 *		starting on a multiple of the size rounded up to a power of
 *		two, saturated at %XIOVA_FIT_MAX
 * @gap:	free pfns between the range below (or the domain's start
 *		pfn) and this one
 * @max_gap:	largest @gap in this node's subtree
 *
 * @max_fit shares a word with @flags so that the node stays at 64 bytes,
 * the size the cache-aligned node cache gives it anyway.
 */
struct xiova {
	struct rb_node	node;
	unsigned long	pfn_hi;
	unsigned long	pfn_lo;
	unsigned long	flags:XIOVA_FLAG_BITS;
	unsigned long	max_fit:XIOVA_FIT_BITS;
	unsigned long	gap;
	unsigned long	max_gap;
};

struct xiova_rcaches;

/**
 * struct xiova_domain - an IOVA space
 * @iova_rbtree_lock:	protects the rbtree, @max32_alloc_size and
 *			@tree_nodes
 * @rbroot:		ranges in use, plus @anchor above the whole space,
 *			augmented with the largest free gap of each subtree
 * @granule:		size in bytes of one pfn (a power of two <= PAGE_SIZE)
 * @start_pfn:		lowest pfn that may be allocated
 * @dma_32bit_pfn:	first pfn at or above 4 GiB
 * @max32_alloc_size:	smallest size that failed below @dma_32bit_pfn since
 *			the last free there; larger requests fail at once
 * @anchor:		sentinel node at the top of the space
 * @rcaches:		the magazine caches, or NULL; published with release
 *			semantics, since the stats file may read it first
 * @cpuhp_dead:		instance of the module's CPU-dead hotplug state
 * @tree_nodes:		nodes in @rbroot, @anchor excluded
 * @id:			number of the domain in debugfs
 * @debug_checks:	fast frees are checked against the tree; fixed at
 *			init from the debug_checks parameter
 * @module_ref:		the domain holds a reference on the module
 * @list:		link in the module's list of domains
 * @debugfs:		the domain's debugfs directory
 */
struct xiova_domain {
	spinlock_t		iova_rbtree_lock; /* see above */
	struct rb_root		rbroot;
	unsigned long		granule;
	unsigned long		start_pfn;
	unsigned long		dma_32bit_pfn;
	unsigned long		max32_alloc_size;
	struct xiova		anchor;
	struct xiova_rcaches	*rcaches;
	struct hlist_node	cpuhp_dead;
	unsigned long		tree_nodes;
	int			id;
	bool			debug_checks;
	bool			module_ref;
	struct list_head	list;
	struct dentry		*debugfs;
};

static inline unsigned long xiova_size(struct xiova *iova)
{
	return iova->pfn_hi - iova->pfn_lo + 1;
}

static inline unsigned long xiova_shift(struct xiova_domain *iovad)
{
	return __ffs(iovad->granule);
}

static inline unsigned long xiova_mask(struct xiova_domain *iovad)
{
	return iovad->granule - 1;
}

static inline size_t xiova_offset(struct xiova_domain *iovad, dma_addr_t iova)
{
	return iova & xiova_mask(iovad);
}

static inline size_t xiova_align(struct xiova_domain *iovad, size_t size)
{
	return ALIGN(size, iovad->granule);
}

static inline dma_addr_t xiova_dma_addr(struct xiova_domain *iovad,
					struct xiova *iova)
{
	return (dma_addr_t)iova->pfn_lo << xiova_shift(iovad);
}

static inline unsigned long xiova_pfn(struct xiova_domain *iovad,
				      dma_addr_t iova)
{
	return iova >> xiova_shift(iovad);
}

struct dentry;

int xiova_cache_get(void);
void xiova_cache_put(void);
unsigned long xiova_rcache_range(void);
struct dentry *xiova_debugfs_dir(void);
int xiova_domain_id_alloc(gfp_t gfp);
void xiova_domain_id_free(int id);

int xiova_init_domain(struct xiova_domain *iovad, unsigned long granule,
		      unsigned long start_pfn);
int xiova_domain_init_rcaches(struct xiova_domain *iovad);
void xiova_put_domain(struct xiova_domain *iovad);

struct xiova *xiova_alloc(struct xiova_domain *iovad, unsigned long size,
			  unsigned long limit_pfn, bool size_aligned);
void xiova_free(struct xiova_domain *iovad, unsigned long pfn);
void __xiova_free(struct xiova_domain *iovad, struct xiova *iova);
unsigned long xiova_alloc_fast(struct xiova_domain *iovad, unsigned long size,
			       unsigned long limit_pfn, bool flush_rcache);
void xiova_free_fast(struct xiova_domain *iovad, unsigned long pfn,
		     unsigned long size);
struct xiova *xiova_find(struct xiova_domain *iovad, unsigned long pfn);
struct xiova *xiova_reserve(struct xiova_domain *iovad, unsigned long pfn_lo,
			    unsigned long pfn_hi);

#endif /* _XIOVA_H_ */
