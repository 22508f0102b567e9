// SPDX-License-Identifier: GPL-2.0-only
/*
 * The replacement functions of drivers/iommu/iova.c (live.rst, "What is
 * patched"). Each works on any kernel iova domain: one taken over, served
 * by xiova's caches in front of the kernel's rbtree; or one still served
 * by the kernel's caches, which is then served by the rbtree alone. The
 * second is what runs during the transitions, beside the kernel's own
 * code: it never caches, so the two cannot both hold a range.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/livepatch.h>
#include <linux/log2.h>

#include "live.h"
#include "iova_trace.h"

/*
 * As the kernel rounds: a range allocated by one version and freed by the
 * other must have the size class both expect.
 */
static __always_inline unsigned long xlive_round(unsigned long size)
{
	return size < XIOVA_CACHED_SIZE_MAX ? roundup_pow_of_two(size) : size;
}

/* A domain the kernel's caches still serve: the tree alone. */
static noinline unsigned long xlive_alloc_untagged(struct iova_domain *iovad,
						   unsigned long size,
						   unsigned long limit_pfn,
						   bool flush_rcache)
{
	struct iova *iova = alloc_iova(iovad, size, limit_pfn, true);
	struct iova_rcache *k;

	if (iova)
		return iova->pfn_lo;
	k = xlive_kernel_caches((unsigned long)READ_ONCE(iovad->rcaches));
	if (!flush_rcache || !k)
		return 0;
	/* The kernel's flush, with the kernel's locks. */
	xlive_kiova_drain(iovad, k);
	iova = alloc_iova(iovad, size, limit_pfn, true);
	return iova ? iova->pfn_lo : 0;
}

static noinline unsigned long xlive_alloc_slow(struct xlive_domain *x,
					       unsigned long size,
					       unsigned long limit_pfn,
					       bool flush_rcache)
{
	struct iova *iova = alloc_iova(x->iovad, size, limit_pfn, true);
	int result = XIOVA_ALLOC_TREE;

	if (!iova && flush_rcache) {
		xiova_rcaches_flush(&x->rc, XIOVA_FLUSH_RETRY);
		iova = alloc_iova(x->iovad, size, limit_pfn, true);
		result = XIOVA_ALLOC_FLUSHED;
	}
	if (iova)
		atomic_long_inc(&x->tree_allocs);
	else
		result = XIOVA_ALLOC_FAIL;
	xiova_trace_fast_alloc(x->rc.id, iova ? iova->pfn_lo : 0, size,
			       limit_pfn, result);
	return iova ? iova->pfn_lo : 0;
}

static __always_inline unsigned long xlive_alloc(struct xlive_domain *x,
						 unsigned long size,
						 unsigned long limit_pfn,
						 bool flush_rcache)
{
	unsigned long pfn;

	/* The kernel's limit: the range's last pfn, at most limit_pfn. */
	if (likely(size <= XIOVA_CACHED_SIZE_MAX && limit_pfn >= size - 1)) {
		pfn = xiova_rcaches_get(&x->rc, order_base_2(size),
					limit_pfn + 1 - size);
		if (likely(pfn)) {
			xiova_trace_fast_alloc(x->rc.id, pfn, size, limit_pfn,
					       XIOVA_ALLOC_CACHE);
			return pfn;
		}
	}
	return xlive_alloc_slow(x, size, limit_pfn, flush_rcache);
}

/**
 * xlive_alloc_iova_fast() - alloc_iova_fast() on xiova's caches
 * @iovad: the domain
 * @size: size in granules
 * @limit_pfn: highest pfn the range may use
 * @flush_rcache: on failure, flush the caches and retry once
 *
 * Takes a domain over at its first call (live.rst). Any context.
 *
 * Return: the first pfn, or 0.
 */
static unsigned long xlive_alloc_iova_fast(struct iova_domain *iovad,
					   unsigned long size,
					   unsigned long limit_pfn,
					   bool flush_rcache)
{
	struct xlive_domain *x;
	unsigned long pfn;

	if (unlikely(!size)) {
		pr_warn_ratelimited("fast allocation of size 0 refused\n");
		return 0;
	}
	size = xlive_round(size);
	/* xiova's state lives until a grace period after its hand-back. */
	preempt_disable();
	x = xlive_of(iovad);
	if (unlikely(!x))
		x = xlive_adopt_lazily(iovad);
	if (likely(x))
		pfn = xlive_alloc(x, size, limit_pfn, flush_rcache);
	else
		pfn = xlive_alloc_untagged(iovad, size, limit_pfn,
					   flush_rcache);
	preempt_enable();
	return pfn;
}

/**
 * xlive_free_iova_fast() - free_iova_fast() on xiova's caches
 * @iovad: the domain
 * @pfn: the range's first pfn
 * @size: its size, as allocated
 *
 * Any context.
 */
static void xlive_free_iova_fast(struct iova_domain *iovad, unsigned long pfn,
				 unsigned long size)
{
	unsigned int cls = order_base_2(size);
	struct xlive_domain *x;

	preempt_disable();
	x = xlive_of(iovad);
	if (likely(x)) {
		/* Before the range goes back: it may be handed out at once. */
		xiova_trace_fast_free(x->rc.id, pfn, size);
		if (likely(cls < XIOVA_RANGE_CACHE_MAX_SIZE) &&
		    likely(xiova_rcaches_put(&x->rc, cls, pfn))) {
			preempt_enable();
			return;
		}
	}
	preempt_enable();
	free_iova(iovad, pfn);
}

/**
 * xlive_put_iova_domain() - put_iova_domain() for any kernel domain
 * @iovad: the domain
 *
 * Process context.
 */
static void xlive_put_iova_domain(struct iova_domain *iovad)
{
	xlive_put(iovad);
}

/**
 * xlive_iova_cpuhp_dead() - the kernel's CPU-dead callback of a domain
 * @cpu: the dead CPU
 * @node: the domain's instance
 *
 * Runs with CPU hotplug held, so no hand-back is changing the domain.
 *
 * Return: 0.
 */
static int xlive_iova_cpuhp_dead(unsigned int cpu, struct hlist_node *node)
{
	struct iova_domain *iovad;
	struct xlive_domain *x;
	unsigned long v;

	iovad = hlist_entry_safe(node, struct iova_domain, cpuhp_dead);
	v = (unsigned long)READ_ONCE(iovad->rcaches);
	x = xlive_state(v);
	if (x)
		xiova_rcaches_drain_cpu(&x->rc, cpu);
	else if (xlive_kernel_caches(v))
		xlive_kiova_drain_cpu(iovad, xlive_kernel_caches(v), cpu);
	return 0;
}

struct klp_func xlive_funcs[] = {
	{ .old_name = "alloc_iova_fast", .new_func = xlive_alloc_iova_fast },
	{ .old_name = "free_iova_fast", .new_func = xlive_free_iova_fast },
	{ .old_name = "put_iova_domain", .new_func = xlive_put_iova_domain },
	{ .old_name = "iova_cpuhp_dead", .new_func = xlive_iova_cpuhp_dead },
	{}
};
