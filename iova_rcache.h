/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * xiova magazine caches, the layer between a domain's users and its tree:
 * per-CPU loaded/prev magazines of each size class, an unbounded depot of
 * full magazines per class, and the delayed work that trims it.
 *
 * The caches do not know which tree they serve. Their owner gives them a
 * free_pfns() callback that returns cached ranges to the tree: xiova's own
 * domains (iova_domain.c) and the kernel's iova domains in live mode
 * (live/) use the same code.
 *
 * Concurrency: a CPU's caches are touched only by that CPU, with
 * interrupts off (local_lock_irqsave(), which lockdep sees), or by anyone
 * once the CPU is dead. Nothing else takes them: another CPU's magazines
 * are emptied by that CPU, through an IPI. Each class's
 * depot has a spinlock. Lock order: a CPU's local lock, then a depot lock
 * or the owner's tree lock; a depot lock is never held with the tree lock.
 */
#ifndef _XIOVA_RCACHE_H_
#define _XIOVA_RCACHE_H_

#include <linux/build_bug.h>
#include <linux/local_lock.h>
#include <linux/percpu.h>
#include <linux/smp.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>

#include "iova.h"
#include "iova_debug.h"

/* Largest size, in pfns, that the magazines hold. */
#define XIOVA_CACHED_SIZE_MAX	(1UL << (XIOVA_RANGE_CACHE_MAX_SIZE - 1))

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
 * @loaded:		magazine served first; may be NULL
 * @prev:		second magazine, swapped with @loaded; may be NULL
 * @hits:		allocations served from a magazine
 * @misses:		allocations of this class that went to the tree
 * @inserts:		frees kept in a magazine
 * @insert_fails:	frees that went back to the tree
 */
struct xiova_cpu_rcache {
	struct xiova_magazine	*loaded;
	struct xiova_magazine	*prev;
	u64			hits;
	u64			misses;
	u64			inserts;
	u64			insert_fails;
};

struct xiova_rcaches;

/**
 * struct xiova_cpu_caches - one CPU's caches of a domain
 * @lock:	interrupts off while this CPU works on @cls
 * @cls:	per size class
 * @flush:	asks this CPU to empty its magazines (see xiova_rcaches_flush())
 * @flush_claimed: set by the one sender whose @flush is in flight
 */
struct xiova_cpu_caches {
	local_lock_t		lock; /* see above */
	struct xiova_cpu_rcache	cls[XIOVA_RANGE_CACHE_MAX_SIZE];
	call_single_data_t	flush;
	atomic_t		flush_claimed;
};

/**
 * struct xiova_rcache - the depot of one size class
 * @lock:	protects the depot and the counters below it
 * @depot:	singly linked list of full magazines
 * @depot_size:	magazines in @depot
 * @depot_max:	high-water mark of @depot_size
 * @trims:	magazines returned to the tree by the trim work
 * @flushes:	times the whole class was flushed back to the tree
 * @drains:	times a dead CPU's magazines were drained
 * @owner:	the caches this class belongs to
 * @work:	trims the depot back to one magazine per online CPU
 */
struct xiova_rcache {
	spinlock_t		lock; /* protects the depot */
	struct xiova_magazine	*depot;
	unsigned long		depot_size;
	unsigned long		depot_max;
	unsigned long		trims;
	unsigned long		flushes;
	unsigned long		drains;
	struct xiova_rcaches	*owner;
	struct delayed_work	work;
};

/**
 * struct xiova_rcaches_ops - what the caches need from their owner's tree
 * @free_pfns:	give @n cached ranges, each named by its first pfn, back to
 *		the tree; any context, no cache lock held but maybe this
 *		CPU's local lock
 */
struct xiova_rcaches_ops {
	void (*free_pfns)(struct xiova_rcaches *rc, const unsigned long *pfns,
			  unsigned long n);
};

/**
 * struct xiova_rcaches - the magazine caches of one domain
 * @cls:	the depots, one per size class
 * @cpu:	the per-CPU magazines
 * @ops:	the owner's tree
 * @owner:	for @ops
 * @flushes_queued: flush requests sent to other CPUs and not yet done
 * @id:		the domain's number, in trace events and messages
 */
struct xiova_rcaches {
	struct xiova_rcache			cls[XIOVA_RANGE_CACHE_MAX_SIZE];
	struct xiova_cpu_caches __percpu	*cpu;
	const struct xiova_rcaches_ops		*ops;
	void					*owner;
	atomic_t				flushes_queued;
	int					id;
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

/* Fault injection for tests: fail the next N magazine allocations. */
extern atomic_t xiova_fail_mag_allocs;

struct xiova_magazine *xiova_magazine_alloc(gfp_t gfp);
void xiova_magazine_free(struct xiova_magazine *mag);
bool xiova_magazine_push(struct xiova_magazine *mag, unsigned long pfn);
unsigned long xiova_magazine_pop(struct xiova_magazine *mag,
				 unsigned long limit_pfn);
void xiova_depot_push(struct xiova_rcache *rcache, struct xiova_magazine *mag);
struct xiova_magazine *xiova_depot_pop(struct xiova_rcache *rcache);
bool xiova_depot_trim_one(struct xiova_rcache *rcache);
long xiova_live_magazines(void);

int xiova_rcaches_init(struct xiova_rcaches *rc,
		       const struct xiova_rcaches_ops *ops, void *owner, int id,
		       gfp_t gfp);
void xiova_rcaches_quiesce(struct xiova_rcaches *rc);
void xiova_rcaches_destroy(struct xiova_rcaches *rc, bool free_ranges);
void xiova_rcaches_flush(struct xiova_rcaches *rc, int reason);
void xiova_rcaches_drain_cpu(struct xiova_rcaches *rc, unsigned int cpu);
void xiova_rcaches_stats(struct xiova_rcaches *rc,
			 struct xiova_class_stats *cls);

bool xiova_rcache_refill(struct xiova_rcaches *rc, unsigned int cls,
			 struct xiova_cpu_rcache *cpu_rcache);
bool xiova_rcache_make_room(struct xiova_rcaches *rc, unsigned int cls,
			    struct xiova_cpu_rcache *cpu_rcache);
void xiova_rcache_missed(struct xiova_rcaches *rc, unsigned int cls,
			 struct xiova_cpu_rcache *cpu_rcache);

struct seq_file;
/* iova_debugfs.c: the table every stats file shows */
void xiova_stats_show(struct seq_file *s,
		      const struct xiova_class_stats *cls, bool has_rcaches);

int xiova_rcache_setup(void);
void xiova_rcache_teardown(void);

/*
 * The helpers below take NULL for a magazine that could not be allocated:
 * a missing magazine has neither space nor pfns.
 */
static inline bool xiova_magazine_has_space(struct xiova_magazine *mag)
{
	return mag && mag->size < XIOVA_MAG_SIZE;
}

static inline bool xiova_magazine_has_pfns(struct xiova_magazine *mag)
{
	return mag && mag->size;
}

/*
 * The most recent pfn at or below @limit_pfn of a magazine known to hold
 * pfns, or 0. Only when no pfn at all fits does the caller fall back to
 * the tree, so older entries are searched too.
 */
static __always_inline unsigned long
__xiova_magazine_pop(struct xiova_magazine *mag, unsigned long limit_pfn)
{
	unsigned long pfn;
	long i;

	for (i = mag->size - 1; mag->pfns[i] > limit_pfn; i--)
		if (i == 0)
			return 0;

	pfn = mag->pfns[i];
	mag->pfns[i] = mag->pfns[--mag->size];
	return pfn;
}

/**
 * xiova_rcaches_get() - take a cached range of one size class
 * @rc: the domain's caches
 * @cls: the size class, below XIOVA_RANGE_CACHE_MAX_SIZE
 * @limit_pfn: highest acceptable first pfn
 *
 * Inline, so that a magazine hit costs its callers no call: interrupts
 * off, a load and a store, interrupts on. Any context.
 *
 * Return: the first pfn of the range, or 0.
 */
static __always_inline unsigned long
xiova_rcaches_get(struct xiova_rcaches *rc, unsigned int cls,
		  unsigned long limit_pfn)
{
	struct xiova_cpu_rcache *cpu_rcache;
	unsigned long flags, pfn = 0;

	local_lock_irqsave(&rc->cpu->lock, flags);
	cpu_rcache = &this_cpu_ptr(rc->cpu)->cls[cls];
	if (likely(xiova_magazine_has_pfns(cpu_rcache->loaded)) ||
	    xiova_rcache_refill(rc, cls, cpu_rcache))
		pfn = __xiova_magazine_pop(cpu_rcache->loaded, limit_pfn);
	if (likely(pfn))
		cpu_rcache->hits++;
	else
		xiova_rcache_missed(rc, cls, cpu_rcache);
	local_unlock_irqrestore(&rc->cpu->lock, flags);
	return pfn;
}

/**
 * xiova_rcaches_put() - cache a freed range of one size class
 * @rc: the domain's caches
 * @cls: the size class, below XIOVA_RANGE_CACHE_MAX_SIZE
 * @pfn: the range's first pfn
 *
 * Inline like xiova_rcaches_get(). When no magazine has room and none can
 * be allocated, nothing is cached and the caller frees the range to the
 * tree. Any context.
 *
 * Return: true if a magazine took the range.
 */
static __always_inline bool xiova_rcaches_put(struct xiova_rcaches *rc,
					      unsigned int cls,
					      unsigned long pfn)
{
	struct xiova_cpu_rcache *cpu_rcache;
	struct xiova_magazine *mag;
	unsigned long flags;
	bool inserted;

	local_lock_irqsave(&rc->cpu->lock, flags);
	cpu_rcache = &this_cpu_ptr(rc->cpu)->cls[cls];
	inserted = likely(xiova_magazine_has_space(cpu_rcache->loaded)) ||
		   xiova_rcache_make_room(rc, cls, cpu_rcache);
	if (likely(inserted)) {
		mag = cpu_rcache->loaded;
		mag->pfns[mag->size++] = pfn;
		cpu_rcache->inserts++;
	} else {
		cpu_rcache->insert_fails++;
	}
	local_unlock_irqrestore(&rc->cpu->lock, flags);
	return inserted;
}

#endif /* _XIOVA_RCACHE_H_ */
