// SPDX-License-Identifier: GPL-2.0-only
/*
 * The kernel's own caches of an iova domain (iovad->rcaches while the
 * kernel serves it), in the private layout of drivers/iommu/iova.c. Two
 * layouts are known, 6.1's and 6.12's (Documentation/live.rst); the one
 * the running kernel's BTF describes is chosen at load, and every access
 * goes through the locks the kernel's own code takes, in its order: a
 * CPU's lock, then the tree's; the depot's, then the tree's.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cpu.h>
#include <linux/slab.h>
#include <linux/workqueue.h>

#include "live.h"

/* Both kernels: 127 pfns and a size word, the depot link on 6.12. */
#define KIOVA_MAG_SIZE		127
/* 6.1's fixed depot. */
#define KIOVA_MAX_GLOBAL_MAGS	32

struct kiova_magazine {
	union {
		unsigned long		size;
		struct kiova_magazine	*next;
	};
	unsigned long	pfns[KIOVA_MAG_SIZE];
};

struct kiova_cpu_rcache {
	spinlock_t		lock; /* the kernel's */
	struct kiova_magazine	*loaded;
	struct kiova_magazine	*prev;
};

struct kiova_rcache_61 {
	spinlock_t				lock; /* the kernel's */
	unsigned long				depot_size;
	struct kiova_magazine			*depot[KIOVA_MAX_GLOBAL_MAGS];
	struct kiova_cpu_rcache __percpu	*cpu_rcaches;
};

struct kiova_rcache_612 {
	spinlock_t				lock; /* the kernel's */
	unsigned int				depot_size;
	struct kiova_magazine			*depot;
	struct kiova_cpu_rcache __percpu	*cpu_rcaches;
	struct iova_domain			*iovad;
	struct delayed_work			work;
};

/* The start of dma-iommu's cookie: its type, then the iova domain. */
struct kiova_dma_cookie {
	int			type;
	struct iova_domain	iovad;
};

/* Each member as this module was built with it, to compare with BTF. */
static const struct xlive_member kiova_domain_members[] = {
	{ "iova_rbtree_lock", offsetof(struct iova_domain, iova_rbtree_lock),
	  sizeof_field(struct iova_domain, iova_rbtree_lock) },
	{ "rbroot", offsetof(struct iova_domain, rbroot),
	  sizeof_field(struct iova_domain, rbroot) },
	{ "anchor", offsetof(struct iova_domain, anchor),
	  sizeof_field(struct iova_domain, anchor) },
	{ "rcaches", offsetof(struct iova_domain, rcaches),
	  sizeof_field(struct iova_domain, rcaches) },
	{ "cpuhp_dead", offsetof(struct iova_domain, cpuhp_dead),
	  sizeof_field(struct iova_domain, cpuhp_dead) },
	{}
};

static const struct xlive_member kiova_cpu_rcache_members[] = {
	{ "lock", offsetof(struct kiova_cpu_rcache, lock),
	  sizeof_field(struct kiova_cpu_rcache, lock) },
	{ "loaded", offsetof(struct kiova_cpu_rcache, loaded),
	  sizeof_field(struct kiova_cpu_rcache, loaded) },
	{ "prev", offsetof(struct kiova_cpu_rcache, prev),
	  sizeof_field(struct kiova_cpu_rcache, prev) },
	{}
};

static const struct xlive_member kiova_cookie_members[] = {
	{ "type", offsetof(struct kiova_dma_cookie, type),
	  sizeof_field(struct kiova_dma_cookie, type) },
	{ "iovad", offsetof(struct kiova_dma_cookie, iovad),
	  sizeof_field(struct kiova_dma_cookie, iovad) },
	{}
};

static const struct xlive_member kiova_magazine_61_members[] = {
	{ "size", offsetof(struct kiova_magazine, size),
	  sizeof_field(struct kiova_magazine, size) },
	{ "pfns", offsetof(struct kiova_magazine, pfns),
	  sizeof_field(struct kiova_magazine, pfns) },
	{}
};

static const struct xlive_member kiova_magazine_612_members[] = {
	{ "size", offsetof(struct kiova_magazine, size),
	  sizeof_field(struct kiova_magazine, size) },
	{ "next", offsetof(struct kiova_magazine, next),
	  sizeof_field(struct kiova_magazine, next) },
	{ "pfns", offsetof(struct kiova_magazine, pfns),
	  sizeof_field(struct kiova_magazine, pfns) },
	{}
};

static const struct xlive_member kiova_rcache_61_members[] = {
	{ "lock", offsetof(struct kiova_rcache_61, lock),
	  sizeof_field(struct kiova_rcache_61, lock) },
	{ "depot_size", offsetof(struct kiova_rcache_61, depot_size),
	  sizeof_field(struct kiova_rcache_61, depot_size) },
	{ "depot", offsetof(struct kiova_rcache_61, depot),
	  sizeof_field(struct kiova_rcache_61, depot) },
	{ "cpu_rcaches", offsetof(struct kiova_rcache_61, cpu_rcaches),
	  sizeof_field(struct kiova_rcache_61, cpu_rcaches) },
	{}
};

static const struct xlive_member kiova_rcache_612_members[] = {
	{ "lock", offsetof(struct kiova_rcache_612, lock),
	  sizeof_field(struct kiova_rcache_612, lock) },
	{ "depot_size", offsetof(struct kiova_rcache_612, depot_size),
	  sizeof_field(struct kiova_rcache_612, depot_size) },
	{ "depot", offsetof(struct kiova_rcache_612, depot),
	  sizeof_field(struct kiova_rcache_612, depot) },
	{ "cpu_rcaches", offsetof(struct kiova_rcache_612, cpu_rcaches),
	  sizeof_field(struct kiova_rcache_612, cpu_rcaches) },
	{ "iovad", offsetof(struct kiova_rcache_612, iovad),
	  sizeof_field(struct kiova_rcache_612, iovad) },
	{ "work", offsetof(struct kiova_rcache_612, work),
	  sizeof_field(struct kiova_rcache_612, work) },
	{}
};

static const struct xlive_layout kiova_layout_61[] = {
	{ "iova_domain", sizeof(struct iova_domain), kiova_domain_members },
	{ "iova_cpu_rcache", sizeof(struct kiova_cpu_rcache),
	  kiova_cpu_rcache_members },
	{ "iommu_dma_cookie", 0, kiova_cookie_members },
	{ "iova_magazine", sizeof(struct kiova_magazine),
	  kiova_magazine_61_members },
	{ "iova_rcache", sizeof(struct kiova_rcache_61),
	  kiova_rcache_61_members },
	{}
};

static const struct xlive_layout kiova_layout_612[] = {
	{ "iova_domain", sizeof(struct iova_domain), kiova_domain_members },
	{ "iova_cpu_rcache", sizeof(struct kiova_cpu_rcache),
	  kiova_cpu_rcache_members },
	{ "iommu_dma_cookie", 0, kiova_cookie_members },
	{ "iova_magazine", sizeof(struct kiova_magazine),
	  kiova_magazine_612_members },
	{ "iova_rcache", sizeof(struct kiova_rcache_612),
	  kiova_rcache_612_members },
	{}
};

/**
 * struct kiova_ops - what differs between the two layouts
 * @name:	the kernel the layout comes from
 * @cpu:	class @i's per-CPU caches
 * @drain_depot: give every depot magazine's ranges back, free the magazines
 * @count_depot: ranges in the depot of class @i, under its lock
 * @free:	free the kernel's caches but not their ranges; process context
 */
struct kiova_ops {
	const char	*name;
	struct kiova_cpu_rcache __percpu *(*cpu)(struct iova_rcache *k, int i);
	unsigned long	(*drain_depot)(struct iova_domain *iovad,
				       struct iova_rcache *k, int i);
	unsigned long	(*count_depot)(struct iova_rcache *k, int i);
	void		(*free)(struct iova_rcache *k);
};

static const struct kiova_ops *kiova;

/* The number of size classes, a #define of iova.c: see kiova_probe(). */
static int kiova_classes = XIOVA_RANGE_CACHE_MAX_SIZE;

static unsigned long kiova_give_back(struct iova_domain *iovad,
				     struct kiova_magazine *mag)
{
	unsigned long i, n;

	if (!mag)
		return 0;
	n = mag->size;
	for (i = 0; i < n; i++)
		free_iova(iovad, mag->pfns[i]);
	mag->size = 0;
	return n;
}

/* ---- 6.1: a fixed array of KIOVA_MAX_GLOBAL_MAGS magazines ---------- */

static struct kiova_rcache_61 *kiova_61(struct iova_rcache *k, int i)
{
	return (struct kiova_rcache_61 *)k + i;
}

static struct kiova_cpu_rcache __percpu *
kiova_61_cpu(struct iova_rcache *k, int i)
{
	return kiova_61(k, i)->cpu_rcaches;
}

static unsigned long kiova_61_drain_depot(struct iova_domain *iovad,
					  struct iova_rcache *k, int i)
{
	struct kiova_rcache_61 *rc = kiova_61(k, i);
	unsigned long flags, j, n = 0;

	spin_lock_irqsave(&rc->lock, flags);
	for (j = 0; j < rc->depot_size; j++) {
		n += kiova_give_back(iovad, rc->depot[j]);
		kfree(rc->depot[j]);
	}
	rc->depot_size = 0;
	spin_unlock_irqrestore(&rc->lock, flags);
	return n;
}

static unsigned long kiova_61_count_depot(struct iova_rcache *k, int i)
{
	struct kiova_rcache_61 *rc = kiova_61(k, i);
	unsigned long flags, n;

	spin_lock_irqsave(&rc->lock, flags);
	n = rc->depot_size * KIOVA_MAG_SIZE;
	spin_unlock_irqrestore(&rc->lock, flags);
	return n;
}

/* Magazines come from kzalloc() on 6.1. */
static void kiova_61_free(struct iova_rcache *k)
{
	struct kiova_cpu_rcache *cpu_rcache;
	struct kiova_rcache_61 *rc;
	unsigned int cpu;
	unsigned long j;
	int i;

	for (i = 0; i < kiova_classes; i++) {
		rc = kiova_61(k, i);
		if (!rc->cpu_rcaches)
			break;
		for_each_possible_cpu(cpu) {
			cpu_rcache = per_cpu_ptr(rc->cpu_rcaches, cpu);
			kfree(cpu_rcache->loaded);
			kfree(cpu_rcache->prev);
		}
		free_percpu(rc->cpu_rcaches);
		for (j = 0; j < rc->depot_size; j++)
			kfree(rc->depot[j]);
	}
	kfree(k);
}

static const struct kiova_ops kiova_ops_61 = {
	.name		= "6.1 (fixed depot of 32 magazines)",
	.cpu		= kiova_61_cpu,
	.drain_depot	= kiova_61_drain_depot,
	.count_depot	= kiova_61_count_depot,
	.free		= kiova_61_free,
};

/* ---- 6.12: a list of full magazines, trimmed by a delayed work ------- */

static struct kiova_rcache_612 *kiova_612(struct iova_rcache *k, int i)
{
	return (struct kiova_rcache_612 *)k + i;
}

static struct kiova_cpu_rcache __percpu *
kiova_612_cpu(struct iova_rcache *k, int i)
{
	return kiova_612(k, i)->cpu_rcaches;
}

/* The depot holds only full magazines; their size word is the link. */
static struct kiova_magazine *kiova_612_depot_pop(struct kiova_rcache_612 *rc)
{
	struct kiova_magazine *mag = rc->depot;

	rc->depot = mag->next;
	mag->size = KIOVA_MAG_SIZE;
	rc->depot_size--;
	return mag;
}

/*
 * The magazines come from iova.c's own kmem_cache, which kfree() may free
 * since 6.4 (Documentation/core-api/memory-allocation.rst).
 */
static unsigned long kiova_612_drain_depot(struct iova_domain *iovad,
					   struct iova_rcache *k, int i)
{
	struct kiova_rcache_612 *rc = kiova_612(k, i);
	struct kiova_magazine *mag;
	unsigned long flags, n = 0;

	spin_lock_irqsave(&rc->lock, flags);
	while (rc->depot) {
		mag = kiova_612_depot_pop(rc);
		n += kiova_give_back(iovad, mag);
		kfree(mag);
	}
	spin_unlock_irqrestore(&rc->lock, flags);
	return n;
}

static unsigned long kiova_612_count_depot(struct iova_rcache *k, int i)
{
	struct kiova_rcache_612 *rc = kiova_612(k, i);
	unsigned long flags, n;

	spin_lock_irqsave(&rc->lock, flags);
	n = (unsigned long)rc->depot_size * KIOVA_MAG_SIZE;
	spin_unlock_irqrestore(&rc->lock, flags);
	return n;
}

static void kiova_612_free(struct iova_rcache *k)
{
	struct kiova_cpu_rcache *cpu_rcache;
	struct kiova_rcache_612 *rc;
	unsigned int cpu;
	int i;

	for (i = 0; i < kiova_classes; i++) {
		rc = kiova_612(k, i);
		if (!rc->cpu_rcaches)
			break;
		for_each_possible_cpu(cpu) {
			cpu_rcache = per_cpu_ptr(rc->cpu_rcaches, cpu);
			kfree(cpu_rcache->loaded);
			kfree(cpu_rcache->prev);
		}
		free_percpu(rc->cpu_rcaches);
		cancel_delayed_work_sync(&rc->work);
		while (rc->depot)
			kfree(kiova_612_depot_pop(rc));
	}
	kfree(k);
}

static const struct kiova_ops kiova_ops_612 = {
	.name		= "6.12 (unbounded depot, trimmed)",
	.cpu		= kiova_612_cpu,
	.drain_depot	= kiova_612_drain_depot,
	.count_depot	= kiova_612_count_depot,
	.free		= kiova_612_free,
};

/* ---- both ---------------------------------------------------------------- */

static const struct xlive_layout *const kiova_layouts[] = {
	kiova_layout_61, kiova_layout_612, NULL
};

static const struct kiova_ops *const kiova_variants[] = {
	&kiova_ops_61, &kiova_ops_612,
};

/* Whether the kernel's own fast free caches a range of @size granules. */
static bool kiova_caches_size(struct iova_domain *iovad, unsigned long size)
{
	struct iova *iova = alloc_iova(iovad, size, 1UL << 20, true);
	unsigned long pfn;
	bool cached;

	if (!iova)
		return false;
	pfn = iova->pfn_lo;
	free_iova_fast(iovad, pfn, size);
	cached = find_iova(iovad, pfn);
	return cached;
}

/*
 * The number of size classes is a #define, which BTF does not carry and no
 * export tells. Ask the kernel's own code, before the patch is enabled, in
 * a scratch domain: it must cache the largest class and not the next size
 * up. The scratch domain is put with everything in it.
 */
static int kiova_probe_classes(void)
{
	unsigned long top = 1UL << (XIOVA_RANGE_CACHE_MAX_SIZE - 1);
	struct iova_domain *iovad;
	bool ok;
	int ret;

	ret = iova_cache_get();
	if (ret)
		return ret;
	iovad = kzalloc(sizeof(*iovad), GFP_KERNEL);
	ret = -ENOMEM;
	if (!iovad)
		goto out;
	init_iova_domain(iovad, PAGE_SIZE, 1);
	ret = iova_domain_init_rcaches(iovad);
	if (ret)
		goto out_free;
	ok = kiova_caches_size(iovad, top) && !kiova_caches_size(iovad, top * 2);
	put_iova_domain(iovad);
	ret = 0;
	if (!ok) {
		pr_err("this kernel's iova.c does not cache sizes up to exactly %lu granules: not loading\n",
		       top);
		ret = -ENODEV;
	}
out_free:
	kfree(iovad);
out:
	iova_cache_put();
	return ret;
}

/**
 * xlive_kiova_init() - recognise the running kernel's iova structures
 *
 * Refuses, with one message naming the first difference, a kernel whose
 * BTF describes neither known layout, or has none. Process context.
 *
 * Return: 0, or -ENODEV for an unknown kernel.
 */
int xlive_kiova_init(void)
{
	char why[160] = "";
	int v, ret;

	ret = kiova_probe_classes();
	if (ret)
		return ret;
	v = xlive_btf_check(kiova_layouts, why, sizeof(why));
	if (v < 0) {
		pr_err("this kernel's private iova structures are not known (%s): not loading\n",
		       why);
		return -ENODEV;
	}
	kiova = kiova_variants[v];
	pr_info("kernel iova structures: %s\n", kiova->name);
	return 0;
}

/**
 * xlive_kiova_variant() - the layout recognised at load
 *
 * Return: its description.
 */
const char *xlive_kiova_variant(void)
{
	return kiova->name;
}

/**
 * xlive_kiova_drain_cpu() - give one CPU's cached ranges back to the tree
 * @iovad: the domain
 * @k: its kernel caches, as read once by the caller: the domain may be
 *     taken over meanwhile, but these stay
 * @cpu: the CPU; its magazines stay, empty
 *
 * What the kernel's free_cpu_cached_iovas() does. Any context.
 */
void xlive_kiova_drain_cpu(struct iova_domain *iovad, struct iova_rcache *k,
			   unsigned int cpu)
{
	struct kiova_cpu_rcache *cpu_rcache;
	unsigned long flags;
	int i;

	for (i = 0; i < kiova_classes; i++) {
		cpu_rcache = per_cpu_ptr(kiova->cpu(k, i), cpu);
		spin_lock_irqsave(&cpu_rcache->lock, flags);
		kiova_give_back(iovad, cpu_rcache->loaded);
		kiova_give_back(iovad, cpu_rcache->prev);
		spin_unlock_irqrestore(&cpu_rcache->lock, flags);
	}
}

/**
 * xlive_kiova_drain() - give every range the kernel's caches hold back
 * @iovad: the domain
 * @k: its kernel caches, as read once by the caller
 *
 * Every CPU's magazines are emptied, the depot's are freed, as the
 * kernel's flush-and-retry does. Safe against the kernel's own code
 * running at the same time: the same locks. Any context.
 *
 * Return: how many ranges went back.
 */
unsigned long xlive_kiova_drain(struct iova_domain *iovad,
				struct iova_rcache *k)
{
	struct kiova_cpu_rcache *cpu_rcache;
	unsigned long flags, n = 0;
	unsigned int cpu;
	int i;

	for (i = 0; i < kiova_classes; i++) {
		for_each_possible_cpu(cpu) {
			cpu_rcache = per_cpu_ptr(kiova->cpu(k, i), cpu);
			spin_lock_irqsave(&cpu_rcache->lock, flags);
			n += kiova_give_back(iovad, cpu_rcache->loaded);
			n += kiova_give_back(iovad, cpu_rcache->prev);
			spin_unlock_irqrestore(&cpu_rcache->lock, flags);
		}
		n += kiova->drain_depot(iovad, k, i);
	}
	return n;
}

/**
 * xlive_kiova_cached() - ranges a domain's kernel caches hold
 * @k: the kernel's caches of a domain, or NULL
 *
 * A domain taken over keeps them, emptied, until it is handed back.
 *
 * Return: the count, for the accounting file.
 */
unsigned long xlive_kiova_cached(struct iova_rcache *k)
{
	struct kiova_cpu_rcache *cpu_rcache;
	unsigned long flags, n = 0;
	unsigned int cpu;
	int i;

	if (!k)
		return 0;
	for (i = 0; i < kiova_classes; i++) {
		for_each_possible_cpu(cpu) {
			cpu_rcache = per_cpu_ptr(kiova->cpu(k, i), cpu);
			spin_lock_irqsave(&cpu_rcache->lock, flags);
			if (cpu_rcache->loaded)
				n += cpu_rcache->loaded->size;
			if (cpu_rcache->prev)
				n += cpu_rcache->prev->size;
			spin_unlock_irqrestore(&cpu_rcache->lock, flags);
		}
		n += kiova->count_depot(k, i);
	}
	return n;
}

/**
 * xlive_kiova_free() - what the kernel's put_iova_domain() does to a domain
 * @iovad: a domain served by the kernel's caches, or with none, being put
 *
 * Removes the domain's CPU-dead instance, frees the kernel's caches, and
 * frees every range of the tree into the kernel's own node cache through
 * __free_iova(). No other call on @iovad may run. Process context.
 */
void xlive_kiova_free(struct iova_domain *iovad)
{
	struct rb_node *node;

	if (iovad->rcaches) {
		cpuhp_state_remove_instance_nocalls(CPUHP_IOMMU_IOVA_DEAD,
						    &iovad->cpuhp_dead);
		kiova->free(iovad->rcaches);
		iovad->rcaches = NULL;
	}
	while ((node = rb_first(&iovad->rbroot)) && node != &iovad->anchor.node)
		__free_iova(iovad, rb_entry(node, struct iova, node));
}

/**
 * xlive_kiova_cookie_iovad() - the iova domain inside a dma-iommu cookie
 * @cookie: a DMA domain's iova_cookie
 *
 * Return: the iova domain, or NULL for an MSI-only cookie.
 */
struct iova_domain *xlive_kiova_cookie_iovad(void *cookie)
{
	struct kiova_dma_cookie *c = cookie;

	/* IOMMU_DMA_IOVA_COOKIE is 0 in both kernels' enum. */
	return c && c->type == 0 ? &c->iovad : NULL;
}
