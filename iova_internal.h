/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * xiova internals shared by the rbtree core, the magazine cache, the debugfs
 * files and the KUnit suites. Nothing here is part of the public interface.
 */
#ifndef _XIOVA_INTERNAL_H_
#define _XIOVA_INTERNAL_H_

#include <linux/atomic.h>
#include <linux/build_bug.h>
#include <linux/log2.h>
#include <linux/percpu.h>
#include <linux/workqueue.h>
#include <linux/module.h>

#include "iova.h"

#define XIOVA_NS	XIOVA
#define XIOVA_NS_STR	__stringify(XIOVA_NS)

/*
 * The KUnit suites live in their own module and test internal helpers
 * directly, so those helpers are exported, in a namespace of their own,
 * only to kernels that can run KUnit.
 */
#if IS_ENABLED(CONFIG_KUNIT)
#define EXPORT_SYMBOL_FOR_XIOVA_KUNIT(sym)	EXPORT_SYMBOL_NS_GPL(sym, XIOVA_INTERNAL)
#else
#define EXPORT_SYMBOL_FOR_XIOVA_KUNIT(sym)
#endif

/* Largest size, in pfns, that the magazines hold. */
#define XIOVA_CACHED_SIZE_MAX	(1UL << (XIOVA_RANGE_CACHE_MAX_SIZE - 1))

/* The anchor node sits above the top of the usable address space. */
#define XIOVA_ANCHOR		(~0UL)

/* Internal node flag: the range sits in a magazine (debug checks only). */
#define XIOVA_F_CACHED		BIT(1)
/* Internal node flag: a teardown audit found the range in a magazine. */
#define XIOVA_F_AUDITED		BIT(2)

/*
 * 127 pfns and the size/next word make a magazine exactly 1 KiB on 64-bit,
 * so the named cache packs them without waste.
 */
#define XIOVA_MAG_SIZE		127
#define XIOVA_DEPOT_DELAY	msecs_to_jiffies(100)

/**
 * struct xiova_magazine - a stack of cached pfns of one size class
 * @size:	number of valid entries in @pfns, while not in a depot
 * @next:	next full magazine, while in a depot
 * @pfns:	the cached ranges' first pfns
 *
 * Only full magazines enter a depot, so the count is implied there and its
 * word can link the depot list: the depot costs no memory of its own.
 */
struct xiova_magazine {
	union {
		unsigned long size;
		struct xiova_magazine *next;
	};
	unsigned long pfns[XIOVA_MAG_SIZE];
};

static_assert(!(sizeof(struct xiova_magazine) &
		(sizeof(struct xiova_magazine) - 1)));

/**
 * struct xiova_cpu_rcache - one CPU's magazines of one size class
 * @lock:		protects the whole structure
 * @loaded:		magazine served first; may be NULL
 * @prev:		second magazine, swapped with @loaded; may be NULL
 * @hits:		allocations served from a magazine
 * @misses:		allocations of this class that went to the tree
 * @inserts:		frees kept in a magazine
 * @insert_fails:	frees that went back to the tree
 */
struct xiova_cpu_rcache {
	spinlock_t		lock; /* protects this CPU's cache */
	struct xiova_magazine	*loaded;
	struct xiova_magazine	*prev;
	u64			hits;
	u64			misses;
	u64			inserts;
	u64			insert_fails;
};

/**
 * struct xiova_rcache - the cache of one size class
 * @lock:	protects the depot and the counters below it
 * @depot:	singly linked list of full magazines
 * @depot_size:	magazines in @depot
 * @depot_max:	high-water mark of @depot_size
 * @trims:	magazines returned to the tree by the trim work
 * @flushes:	times the whole class was flushed back to the tree
 * @drains:	times a dead CPU's magazines were drained
 * @cpu_rcaches: per-CPU magazines
 * @iovad:	owning domain, for the trim work
 * @work:	trims the depot back to one magazine per online CPU
 */
struct xiova_rcache {
	spinlock_t			lock; /* protects the depot */
	struct xiova_magazine		*depot;
	unsigned long			depot_size;
	unsigned long			depot_max;
	unsigned long			trims;
	unsigned long			flushes;
	unsigned long			drains;
	struct xiova_cpu_rcache __percpu *cpu_rcaches;
	struct xiova_domain		*iovad;
	struct delayed_work		work;
};

/**
 * struct xiova_class_stats - snapshot of one size class
 * @hits:		allocations served from magazines
 * @misses:		allocations that fell through to the tree
 * @inserts:		frees kept in magazines
 * @insert_fails:	frees that went back to the tree
 * @loaded:		CPUs with a loaded magazine
 * @prev:		CPUs with a prev magazine
 * @cpu_pfns:		ranges cached in per-CPU magazines
 * @depot:		magazines in the depot
 * @depot_max:		high-water mark of @depot
 * @trims:		depot magazines given back by the trim work
 * @flushes:		whole-class flushes
 * @drains:		dead-CPU drains
 * @mag_bytes:		bytes of magazines held by the class
 */
struct xiova_class_stats {
	u64		hits;
	u64		misses;
	u64		inserts;
	u64		insert_fails;
	unsigned long	loaded;
	unsigned long	prev;
	unsigned long	cpu_pfns;
	unsigned long	depot;
	unsigned long	depot_max;
	unsigned long	trims;
	unsigned long	flushes;
	unsigned long	drains;
	unsigned long	mag_bytes;
};

/**
 * struct xiova_stats - snapshot of a domain
 * @tree_nodes:		ranges in the rbtree
 * @max32_alloc_size:	the 32-bit fast-fail threshold
 * @has_rcaches:	whether the magazine caches are set up
 * @cls:		per size class
 */
struct xiova_stats {
	unsigned long			tree_nodes;
	unsigned long			max32_alloc_size;
	bool				has_rcaches;
	struct xiova_class_stats	cls[XIOVA_RANGE_CACHE_MAX_SIZE];
};

/* Fault injection for tests: fail the next N allocations of each kind. */
extern atomic_t xiova_fail_mag_allocs;
extern atomic_t xiova_fail_node_allocs;
extern bool xiova_debug_checks;

static inline bool xiova_should_fail(atomic_t *counter)
{
	return unlikely(atomic_read(counter) > 0) &&
	       atomic_dec_if_positive(counter) >= 0;
}

/* iova.c: the rbtree core */
struct xiova *xiova_node_alloc(void);
void xiova_node_free(struct xiova *iova);
struct xiova *xiova_find_locked(struct xiova_domain *iovad, unsigned long pfn);
void xiova_remove_locked(struct xiova_domain *iovad, struct xiova *iova);
struct xiova *xiova_alloc_tree(struct xiova_domain *iovad, unsigned long size,
			       unsigned long limit_pfn, bool size_aligned);
void xiova_free_tree(struct xiova_domain *iovad, unsigned long pfn);
int xiova_check_tree(struct xiova_domain *iovad);
long xiova_live_nodes(void);

/* iova_gap.c: the rbtree augmented with free gaps */
void xiova_gap_init_anchor(struct xiova_domain *iovad);
void xiova_gap_insert(struct xiova_domain *iovad, struct xiova *iova);
void xiova_gap_insert_below(struct xiova_domain *iovad, struct xiova *iova,
			    struct xiova *next);
void xiova_gap_erase(struct xiova_domain *iovad, struct xiova *iova);
void xiova_gap_lower_start(struct xiova_domain *iovad, struct xiova *iova,
			   unsigned long pfn_lo);
struct xiova *xiova_gap_find(struct xiova_domain *iovad, unsigned long size,
			     unsigned long limit_pfn, unsigned long align_mask,
			     unsigned long *pfn);
struct xiova *xiova_gap_find_counted(struct xiova_domain *iovad,
				     unsigned long size,
				     unsigned long limit_pfn,
				     unsigned long align_mask,
				     unsigned long *pfn, unsigned int *visits);
bool xiova_gap_check_node(struct xiova_domain *iovad, struct xiova *iova,
			  struct xiova *prev);

/* iova_rcache.c: magazines, depot, per-CPU caches */
struct xiova_magazine *xiova_magazine_alloc(gfp_t gfp);
void xiova_magazine_free(struct xiova_magazine *mag);
bool xiova_magazine_has_space(struct xiova_magazine *mag);
bool xiova_magazine_has_pfns(struct xiova_magazine *mag);
bool xiova_magazine_push(struct xiova_magazine *mag, unsigned long pfn);
unsigned long xiova_magazine_pop(struct xiova_magazine *mag,
				 unsigned long limit_pfn);
void xiova_magazine_free_pfns(struct xiova_magazine *mag,
			      struct xiova_domain *iovad);
void xiova_depot_push(struct xiova_rcache *rcache, struct xiova_magazine *mag);
struct xiova_magazine *xiova_depot_pop(struct xiova_rcache *rcache);
bool xiova_depot_trim_one(struct xiova_rcache *rcache);
bool xiova_rcache_insert(struct xiova_domain *iovad, unsigned long pfn,
			 unsigned long size);
unsigned long xiova_rcache_get(struct xiova_domain *iovad, unsigned long size,
			       unsigned long limit_pfn);
void xiova_free_cpu_cached(unsigned int cpu, struct xiova_domain *iovad);
void xiova_drain_dead_cpu(unsigned int cpu, struct xiova_domain *iovad);
void xiova_flush_rcaches(struct xiova_domain *iovad);
void xiova_free_rcaches(struct xiova_domain *iovad);
long xiova_live_magazines(void);
int xiova_rcache_setup(void);
void xiova_rcache_teardown(void);

/* iova_debugfs.c: statistics and debugfs */
void xiova_get_stats(struct xiova_domain *iovad, struct xiova_stats *st);
int xiova_debugfs_init(void);
void xiova_debugfs_exit(void);
void xiova_debugfs_add_domain(struct xiova_domain *iovad);
void xiova_debugfs_remove_domain(struct xiova_domain *iovad);

/* iova_testctl.c: test domains driven from userspace (test builds only) */
#if IS_ENABLED(CONFIG_XIOVA_TESTCTL)
void xiova_testctl_init(struct dentry *root);
void xiova_testctl_exit(void);
#else
static inline void xiova_testctl_init(struct dentry *root) { }
static inline void xiova_testctl_exit(void) { }
#endif

/**
 * struct xiova_audit - what teardown audits found, summed over domains
 * @domains:	domains audited
 * @cached:	magazine slots holding a range marked cached
 * @lost:	ranges marked cached that no magazine holds
 * @duplicate:	ranges held by more than one magazine slot
 * @unknown:	magazine pfns starting no cached range of their class
 * @allocated:	ranges neither reserved nor cached at the put
 */
struct xiova_audit {
	unsigned long	domains;
	unsigned long	cached;
	unsigned long	lost;
	unsigned long	duplicate;
	unsigned long	unknown;
	unsigned long	allocated;
};

/* iova_audit.c: magazines checked against the tree at put (debug checks) */
void xiova_audit_domain(struct xiova_domain *iovad);
void xiova_audit_get(struct xiova_audit *a);
void xiova_audit_debugfs_init(struct dentry *root);

#endif /* _XIOVA_INTERNAL_H_ */
