// SPDX-License-Identifier: GPL-2.0-only
/*
 * xiova magazine caches, after Bonwick and Adams, "Magazines and Vmem"
 * (USENIX 2001): each CPU keeps a loaded and a previous magazine of
 * recently freed ranges per size class, and full magazines go to an
 * unbounded depot that a delayed work trims back to one per online CPU.
 *
 * Lock order: a CPU's rcache lock, then the class's depot lock or the
 * domain's rbtree lock. The depot lock is never held with the rbtree lock.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cpu.h>
#include <linux/cpuhotplug.h>
#include <linux/log2.h>
#include <linux/slab.h>

#include "iova_internal.h"
#include "iova_trace.h"

static struct kmem_cache *xiova_mag_cache;
static int xiova_cpuhp_state;
static DEFINE_PER_CPU(long, xiova_mags_live);

atomic_t xiova_fail_mag_allocs = ATOMIC_INIT(0);
EXPORT_SYMBOL_FOR_XIOVA_KUNIT(xiova_fail_mag_allocs);

/*
 * A CPU takes its own cache lock with the steps of spin_lock_irqsave()
 * written out, as kernels built with CONFIG_INLINE_SPIN_LOCK_IRQSAVE take
 * every lock: the out-of-line lock and unlock calls were a fifth of a
 * magazine hit. Lockdep and preemption see the same as with
 * spin_lock_irqsave(). The ordinary calls stay where the raw lock is not
 * reachable inline: on PREEMPT_RT a spinlock_t has no raw lock inside, and
 * with CONFIG_DEBUG_SPINLOCK (which lockdep selects) the raw lock
 * functions are out of line and not exported.
 */
#if defined(CONFIG_PREEMPT_RT) || defined(CONFIG_DEBUG_SPINLOCK)
#define XIOVA_CPU_LOCK_CALLS	1
#else
#define XIOVA_CPU_LOCK_CALLS	0
#endif

static __always_inline unsigned long
xiova_cpu_lock(struct xiova_cpu_rcache *cpu_rcache)
{
	unsigned long flags;
#if XIOVA_CPU_LOCK_CALLS
	spin_lock_irqsave(&cpu_rcache->lock, flags);
#else
	raw_spinlock_t *lock = &cpu_rcache->lock.rlock;

	local_irq_save(flags);
	preempt_disable();
	spin_acquire(&lock->dep_map, 0, 0, _RET_IP_);
	LOCK_CONTENDED(lock, do_raw_spin_trylock, do_raw_spin_lock);
#endif
	return flags;
}

static __always_inline void
xiova_cpu_unlock(struct xiova_cpu_rcache *cpu_rcache, unsigned long flags)
{
#if XIOVA_CPU_LOCK_CALLS
	spin_unlock_irqrestore(&cpu_rcache->lock, flags);
#else
	raw_spinlock_t *lock = &cpu_rcache->lock.rlock;

	spin_release(&lock->dep_map, _RET_IP_);
	do_raw_spin_unlock(lock);
	local_irq_restore(flags);
	preempt_enable();
#endif
}

/**
 * xiova_magazine_alloc() - allocate an empty magazine
 * @gfp: allocation flags
 *
 * Return: the magazine, or NULL.
 */
struct xiova_magazine *xiova_magazine_alloc(gfp_t gfp)
{
	struct xiova_magazine *mag;

	if (xiova_should_fail(&xiova_fail_mag_allocs))
		return NULL;
	mag = kmem_cache_alloc(xiova_mag_cache, gfp | __GFP_NOWARN);
	if (!mag)
		return NULL;
	mag->size = 0;
	this_cpu_inc(xiova_mags_live);
	return mag;
}
EXPORT_SYMBOL_FOR_XIOVA_KUNIT(xiova_magazine_alloc);

/**
 * xiova_magazine_free() - free a magazine, not the ranges in it
 * @mag: the magazine, or NULL
 */
void xiova_magazine_free(struct xiova_magazine *mag)
{
	if (!mag)
		return;
	this_cpu_dec(xiova_mags_live);
	kmem_cache_free(xiova_mag_cache, mag);
}
EXPORT_SYMBOL_FOR_XIOVA_KUNIT(xiova_magazine_free);

/**
 * xiova_live_magazines() - magazines allocated and not yet freed
 *
 * Return: the count over every domain.
 */
long xiova_live_magazines(void)
{
	long sum = 0;
	int cpu;

	for_each_possible_cpu(cpu)
		sum += per_cpu(xiova_mags_live, cpu);
	return sum;
}
EXPORT_SYMBOL_FOR_XIOVA_KUNIT(xiova_live_magazines);

/*
 * The helpers below take NULL for a magazine that could not be allocated:
 * a missing magazine has neither space nor pfns.
 */

/**
 * xiova_magazine_has_space() - can @mag take another pfn?
 * @mag: a magazine or NULL
 *
 * Return: true if @mag exists and is not full.
 */
bool xiova_magazine_has_space(struct xiova_magazine *mag)
{
	return mag && mag->size < XIOVA_MAG_SIZE;
}
EXPORT_SYMBOL_FOR_XIOVA_KUNIT(xiova_magazine_has_space);

/**
 * xiova_magazine_has_pfns() - does @mag hold any pfn?
 * @mag: a magazine or NULL
 *
 * Return: true if @mag exists and is not empty.
 */
bool xiova_magazine_has_pfns(struct xiova_magazine *mag)
{
	return mag && mag->size;
}
EXPORT_SYMBOL_FOR_XIOVA_KUNIT(xiova_magazine_has_pfns);

/**
 * xiova_magazine_push() - add a pfn to a magazine
 * @mag: a magazine or NULL
 * @pfn: the pfn
 *
 * Return: false, changing nothing, if @mag has no space.
 */
bool xiova_magazine_push(struct xiova_magazine *mag, unsigned long pfn)
{
	if (!xiova_magazine_has_space(mag))
		return false;
	mag->pfns[mag->size++] = pfn;
	return true;
}
EXPORT_SYMBOL_FOR_XIOVA_KUNIT(xiova_magazine_push);

/* xiova_magazine_pop() for a magazine known to hold pfns. */
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
 * xiova_magazine_pop() - take the most recent pfn at or below a limit
 * @mag: a magazine or NULL
 * @limit_pfn: highest acceptable pfn
 *
 * Only when no pfn at all is suitable does the caller fall back to the
 * tree, so older entries are searched too.
 *
 * Return: the pfn, or 0 if there is none.
 */
unsigned long xiova_magazine_pop(struct xiova_magazine *mag,
				 unsigned long limit_pfn)
{
	if (!xiova_magazine_has_pfns(mag))
		return 0;
	return __xiova_magazine_pop(mag, limit_pfn);
}
EXPORT_SYMBOL_FOR_XIOVA_KUNIT(xiova_magazine_pop);

/**
 * xiova_magazine_free_pfns() - return every range in a magazine to the tree
 * @mag: a magazine or NULL; left empty
 * @iovad: the domain the ranges belong to
 */
void xiova_magazine_free_pfns(struct xiova_magazine *mag,
			      struct xiova_domain *iovad)
{
	unsigned long flags;
	unsigned long i;

	if (!xiova_magazine_has_pfns(mag))
		return;

	spin_lock_irqsave(&iovad->iova_rbtree_lock, flags);
	for (i = 0; i < mag->size; i++) {
		struct xiova *iova = xiova_find_locked(iovad, mag->pfns[i]);

		if (!iova || iova == &iovad->anchor) {
			pr_err_ratelimited("domain %d: cached pfn %#lx is not in the tree\n",
					   iovad->id, mag->pfns[i]);
			continue;
		}
		xiova_remove_locked(iovad, iova);
		xiova_node_free(iova);
	}
	spin_unlock_irqrestore(&iovad->iova_rbtree_lock, flags);
	mag->size = 0;
}
EXPORT_SYMBOL_FOR_XIOVA_KUNIT(xiova_magazine_free_pfns);

/**
 * xiova_depot_push() - add a full magazine to a depot
 * @rcache: the size class, with its lock held
 * @mag: a full magazine
 */
void xiova_depot_push(struct xiova_rcache *rcache, struct xiova_magazine *mag)
{
	lockdep_assert_held(&rcache->lock);
	mag->next = rcache->depot;
	rcache->depot = mag;
	rcache->depot_size++;
	rcache->depot_max = max(rcache->depot_max, rcache->depot_size);
}
EXPORT_SYMBOL_FOR_XIOVA_KUNIT(xiova_depot_push);

/**
 * xiova_depot_pop() - take the most recently pushed magazine of a depot
 * @rcache: the size class, with its lock held
 *
 * Return: a full magazine, or NULL if the depot is empty.
 */
struct xiova_magazine *xiova_depot_pop(struct xiova_rcache *rcache)
{
	struct xiova_magazine *mag = rcache->depot;

	lockdep_assert_held(&rcache->lock);
	if (!mag)
		return NULL;
	rcache->depot = mag->next;
	mag->size = XIOVA_MAG_SIZE;
	rcache->depot_size--;
	return mag;
}
EXPORT_SYMBOL_FOR_XIOVA_KUNIT(xiova_depot_pop);

/**
 * xiova_depot_trim_one() - give one depot magazine back to the tree
 * @rcache: the size class
 *
 * One magazine per online CPU is kept, enough to refill every CPU at once.
 *
 * Return: true if a magazine was trimmed.
 */
bool xiova_depot_trim_one(struct xiova_rcache *rcache)
{
	struct xiova_magazine *mag = NULL;
	unsigned long flags;

	spin_lock_irqsave(&rcache->lock, flags);
	if (rcache->depot_size > num_online_cpus()) {
		mag = xiova_depot_pop(rcache);
		rcache->trims++;
		trace_depot_trim(rcache);
	}
	spin_unlock_irqrestore(&rcache->lock, flags);

	if (!mag)
		return false;
	xiova_magazine_free_pfns(mag, rcache->iovad);
	xiova_magazine_free(mag);
	return true;
}
EXPORT_SYMBOL_FOR_XIOVA_KUNIT(xiova_depot_trim_one);

static void xiova_depot_work(struct work_struct *work)
{
	struct xiova_rcache *rcache = container_of(to_delayed_work(work),
						   struct xiova_rcache, work);

	if (xiova_depot_trim_one(rcache))
		schedule_delayed_work(&rcache->work, XIOVA_DEPOT_DELAY);
}

/* Called with the CPU's rcache lock held. */
static void xiova_depot_add(struct xiova_rcache *rcache,
			    struct xiova_magazine *mag)
{
	bool over;

	spin_lock(&rcache->lock);
	xiova_depot_push(rcache, mag);
	trace_depot_push(rcache);
	over = rcache->depot_size > num_online_cpus();
	spin_unlock(&rcache->lock);
	if (over)
		schedule_delayed_work(&rcache->work, XIOVA_DEPOT_DELAY);
}

/*
 * When both magazines are full (or missing), the full loaded one goes to
 * the depot and a new empty one takes its place. If no magazine can be
 * had, the range goes back to the tree and nothing is lost.
 */
static noinline bool xiova_make_room(struct xiova_rcache *rcache,
				     struct xiova_cpu_rcache *cpu_rcache)
{
	struct xiova_magazine *new_mag;

	if (xiova_magazine_has_space(cpu_rcache->prev)) {
		swap(cpu_rcache->prev, cpu_rcache->loaded);
		return true;
	}
	new_mag = xiova_magazine_alloc(GFP_ATOMIC);
	if (!new_mag)
		return false;
	if (cpu_rcache->loaded)
		xiova_depot_add(rcache, cpu_rcache->loaded);
	cpu_rcache->loaded = new_mag;
	return true;
}

static __always_inline bool __xiova_rcache_insert(struct xiova_rcache *rcache,
						  unsigned long pfn)
{
	struct xiova_cpu_rcache *cpu_rcache;
	struct xiova_magazine *mag;
	unsigned long flags;
	bool inserted;

	cpu_rcache = raw_cpu_ptr(rcache->cpu_rcaches);
	flags = xiova_cpu_lock(cpu_rcache);

	inserted = likely(xiova_magazine_has_space(cpu_rcache->loaded)) ||
		   xiova_make_room(rcache, cpu_rcache);
	if (likely(inserted)) {
		mag = cpu_rcache->loaded;
		mag->pfns[mag->size++] = pfn;
		cpu_rcache->inserts++;
	} else {
		cpu_rcache->insert_fails++;
	}
	xiova_cpu_unlock(cpu_rcache, flags);
	return inserted;
}

/* Inlined into xiova_free_fast(): a call less on every cached free. */
static __always_inline bool xiova_rcache_put(struct xiova_domain *iovad,
					     unsigned long pfn,
					     unsigned long size)
{
	unsigned int log_size = order_base_2(size);

	if (log_size >= XIOVA_RANGE_CACHE_MAX_SIZE || !iovad->rcaches)
		return false;
	return __xiova_rcache_insert(&iovad->rcaches[log_size], pfn);
}

/**
 * xiova_rcache_insert() - try to cache a freed range
 * @iovad: the domain
 * @pfn: first pfn of the range
 * @size: its size in pfns
 *
 * Return: true if a magazine took the range.
 */
bool xiova_rcache_insert(struct xiova_domain *iovad, unsigned long pfn,
			 unsigned long size)
{
	return xiova_rcache_put(iovad, pfn, size);
}
EXPORT_SYMBOL_FOR_XIOVA_KUNIT(xiova_rcache_insert);

/*
 * An empty loaded magazine is kept as prev when prev is missing, so that
 * the next frees on this CPU need no allocation.
 */
static void xiova_load_from_depot(struct xiova_rcache *rcache,
				  struct xiova_cpu_rcache *cpu_rcache)
{
	struct xiova_magazine *mag;

	spin_lock(&rcache->lock);
	mag = xiova_depot_pop(rcache);
	if (mag)
		trace_depot_pop(rcache);
	spin_unlock(&rcache->lock);
	if (!mag)
		return;

	if (!cpu_rcache->prev)
		cpu_rcache->prev = cpu_rcache->loaded;
	else
		xiova_magazine_free(cpu_rcache->loaded);
	cpu_rcache->loaded = mag;
}

/* Loaded is empty: swap in prev, or load a full magazine from the depot. */
static noinline bool xiova_refill(struct xiova_rcache *rcache,
				  struct xiova_cpu_rcache *cpu_rcache)
{
	if (xiova_magazine_has_pfns(cpu_rcache->prev)) {
		swap(cpu_rcache->prev, cpu_rcache->loaded);
		return true;
	}
	xiova_load_from_depot(rcache, cpu_rcache);
	return xiova_magazine_has_pfns(cpu_rcache->loaded);
}

static __always_inline unsigned long
__xiova_rcache_get(struct xiova_rcache *rcache, unsigned long limit_pfn)
{
	struct xiova_cpu_rcache *cpu_rcache;
	unsigned long pfn = 0;
	unsigned long flags;

	cpu_rcache = raw_cpu_ptr(rcache->cpu_rcaches);
	flags = xiova_cpu_lock(cpu_rcache);

	if (likely(xiova_magazine_has_pfns(cpu_rcache->loaded)) ||
	    xiova_refill(rcache, cpu_rcache))
		pfn = __xiova_magazine_pop(cpu_rcache->loaded, limit_pfn);
	if (likely(pfn)) {
		cpu_rcache->hits++;
	} else {
		cpu_rcache->misses++;
		trace_rcache_miss(rcache);
	}
	xiova_cpu_unlock(cpu_rcache, flags);
	return pfn;
}

/* Inlined into xiova_alloc_fast(): a call less on every magazine hit. */
static __always_inline unsigned long xiova_rcache_take(struct xiova_domain *iovad,
						       unsigned long size,
						       unsigned long limit_pfn)
{
	if (!iovad->rcaches || limit_pfn < size)
		return 0;
	return __xiova_rcache_get(&iovad->rcaches[order_base_2(size)],
				  limit_pfn - size);
}

/**
 * xiova_rcache_get() - take a cached range
 * @iovad: the domain
 * @size: size in pfns
 * @limit_pfn: the range must end below this pfn (exclusive)
 *
 * Return: the first pfn of a cached range, or 0.
 */
unsigned long xiova_rcache_get(struct xiova_domain *iovad, unsigned long size,
			       unsigned long limit_pfn)
{
	if (order_base_2(size) >= XIOVA_RANGE_CACHE_MAX_SIZE)
		return 0;
	return xiova_rcache_take(iovad, size, limit_pfn);
}
EXPORT_SYMBOL_FOR_XIOVA_KUNIT(xiova_rcache_get);

/**
 * xiova_free_cpu_cached() - return one CPU's cached ranges to the tree
 * @cpu: the CPU
 * @iovad: the domain
 */
void xiova_free_cpu_cached(unsigned int cpu, struct xiova_domain *iovad)
{
	struct xiova_cpu_rcache *cpu_rcache;
	unsigned long flags;
	int i;

	for (i = 0; i < XIOVA_RANGE_CACHE_MAX_SIZE; i++) {
		cpu_rcache = per_cpu_ptr(iovad->rcaches[i].cpu_rcaches, cpu);
		spin_lock_irqsave(&cpu_rcache->lock, flags);
		xiova_magazine_free_pfns(cpu_rcache->loaded, iovad);
		xiova_magazine_free_pfns(cpu_rcache->prev, iovad);
		spin_unlock_irqrestore(&cpu_rcache->lock, flags);
	}
}
EXPORT_SYMBOL_FOR_XIOVA_KUNIT(xiova_free_cpu_cached);

/* A full magazine keeps its ranges cached in the depot; others go back. */
static void xiova_drain_magazine(struct xiova_rcache *rcache,
				 struct xiova_magazine *mag)
{
	if (!mag)
		return;
	if (!xiova_magazine_has_space(mag)) {
		xiova_depot_add(rcache, mag);
		return;
	}
	xiova_magazine_free_pfns(mag, rcache->iovad);
	xiova_magazine_free(mag);
}

/**
 * xiova_drain_dead_cpu() - take a dead CPU's magazines away from it
 * @cpu: a CPU that is offline
 * @iovad: the domain
 *
 * Its full magazines move to the depot, its partial ones give their
 * ranges back to the tree, and the CPU comes back online with none.
 */
void xiova_drain_dead_cpu(unsigned int cpu, struct xiova_domain *iovad)
{
	struct xiova_cpu_rcache *cpu_rcache;
	struct xiova_rcache *rcache;
	unsigned long flags;
	int i;

	trace_flush_all(iovad, XIOVA_FLUSH_CPU_DEAD, cpu);
	for (i = 0; i < XIOVA_RANGE_CACHE_MAX_SIZE; i++) {
		rcache = &iovad->rcaches[i];
		cpu_rcache = per_cpu_ptr(rcache->cpu_rcaches, cpu);
		spin_lock_irqsave(&cpu_rcache->lock, flags);
		xiova_drain_magazine(rcache, cpu_rcache->loaded);
		xiova_drain_magazine(rcache, cpu_rcache->prev);
		cpu_rcache->loaded = NULL;
		cpu_rcache->prev = NULL;
		spin_unlock_irqrestore(&cpu_rcache->lock, flags);

		spin_lock_irqsave(&rcache->lock, flags);
		rcache->drains++;
		spin_unlock_irqrestore(&rcache->lock, flags);
	}
}
EXPORT_SYMBOL_FOR_XIOVA_KUNIT(xiova_drain_dead_cpu);

static int xiova_cpuhp_dead(unsigned int cpu, struct hlist_node *node)
{
	struct xiova_domain *iovad;

	iovad = hlist_entry_safe(node, struct xiova_domain, cpuhp_dead);
	xiova_drain_dead_cpu(cpu, iovad);
	return 0;
}

/* Detach the whole depot under the lock, then free it outside. */
static struct xiova_magazine *xiova_depot_take_all(struct xiova_rcache *rcache)
{
	struct xiova_magazine *list;
	unsigned long flags;

	spin_lock_irqsave(&rcache->lock, flags);
	list = rcache->depot;
	rcache->depot = NULL;
	rcache->depot_size = 0;
	spin_unlock_irqrestore(&rcache->lock, flags);
	return list;
}

static void xiova_free_depot_list(struct xiova_magazine *list,
				  struct xiova_domain *iovad)
{
	struct xiova_magazine *mag;

	while (list) {
		mag = list;
		list = mag->next;
		mag->size = XIOVA_MAG_SIZE;
		if (iovad)
			xiova_magazine_free_pfns(mag, iovad);
		xiova_magazine_free(mag);
	}
}

/**
 * xiova_flush_rcaches() - return every cached range to the tree
 * @iovad: the domain
 *
 * Used when an allocation fails: the magazines may hold the space it needs.
 */
void xiova_flush_rcaches(struct xiova_domain *iovad)
{
	struct xiova_rcache *rcache;
	unsigned long flags;
	unsigned int cpu;
	int i;

	if (!iovad->rcaches)
		return;
	for_each_online_cpu(cpu)
		xiova_free_cpu_cached(cpu, iovad);
	for (i = 0; i < XIOVA_RANGE_CACHE_MAX_SIZE; i++) {
		rcache = &iovad->rcaches[i];
		xiova_free_depot_list(xiova_depot_take_all(rcache), iovad);
		spin_lock_irqsave(&rcache->lock, flags);
		rcache->flushes++;
		spin_unlock_irqrestore(&rcache->lock, flags);
	}
}
EXPORT_SYMBOL_FOR_XIOVA_KUNIT(xiova_flush_rcaches);

/*
 * Teardown frees the magazines but not their ranges: the caller frees the
 * whole tree next. Copes with a partly initialised array.
 */
static void xiova_free_rcache_array(struct xiova_rcache *rcaches)
{
	struct xiova_cpu_rcache *cpu_rcache;
	struct xiova_rcache *rcache;
	unsigned int cpu;
	int i;

	for (i = 0; i < XIOVA_RANGE_CACHE_MAX_SIZE; i++) {
		rcache = &rcaches[i];
		if (!rcache->cpu_rcaches)
			continue;
		cancel_delayed_work_sync(&rcache->work);
		for_each_possible_cpu(cpu) {
			cpu_rcache = per_cpu_ptr(rcache->cpu_rcaches, cpu);
			xiova_magazine_free(cpu_rcache->loaded);
			xiova_magazine_free(cpu_rcache->prev);
		}
		free_percpu(rcache->cpu_rcaches);
		xiova_free_depot_list(xiova_depot_take_all(rcache), NULL);
	}
	kfree(rcaches);
}

/**
 * xiova_free_rcaches() - tear down a domain's magazine caches
 * @iovad: the domain
 *
 * Process context: waits for the trim work and CPU hotplug.
 */
void xiova_free_rcaches(struct xiova_domain *iovad)
{
	if (!iovad->rcaches)
		return;
	cpuhp_state_remove_instance_nocalls(xiova_cpuhp_state,
					    &iovad->cpuhp_dead);
	xiova_free_rcache_array(iovad->rcaches);
	iovad->rcaches = NULL;
}
EXPORT_SYMBOL_FOR_XIOVA_KUNIT(xiova_free_rcaches);

static int xiova_init_rcache(struct xiova_rcache *rcache,
			     struct xiova_domain *iovad)
{
	unsigned int cpu;

	spin_lock_init(&rcache->lock);
	rcache->iovad = iovad;
	INIT_DELAYED_WORK(&rcache->work, xiova_depot_work);
	rcache->cpu_rcaches = alloc_percpu(struct xiova_cpu_rcache);
	if (!rcache->cpu_rcaches)
		return -ENOMEM;
	for_each_possible_cpu(cpu)
		spin_lock_init(&per_cpu_ptr(rcache->cpu_rcaches, cpu)->lock);
	return 0;
}

/**
 * xiova_domain_init_rcaches() - set up the magazine caches of a domain
 * @iovad: a domain set up by xiova_init_domain()
 *
 * Magazines are allocated when first needed, so an idle domain costs no
 * magazine memory. Process context only.
 *
 * Return: 0, -EBUSY if the caches already exist, or -ENOMEM.
 */
int xiova_domain_init_rcaches(struct xiova_domain *iovad)
{
	struct xiova_rcache *rcaches;
	int i, ret;

	if (iovad->rcaches)
		return -EBUSY;
	rcaches = kcalloc(XIOVA_RANGE_CACHE_MAX_SIZE, sizeof(*rcaches),
			  GFP_KERNEL);
	if (!rcaches)
		return -ENOMEM;
	for (i = 0; i < XIOVA_RANGE_CACHE_MAX_SIZE; i++) {
		ret = xiova_init_rcache(&rcaches[i], iovad);
		if (ret)
			goto err;
	}
	ret = cpuhp_state_add_instance_nocalls(xiova_cpuhp_state,
					       &iovad->cpuhp_dead);
	if (ret)
		goto err;
	iovad->rcaches = rcaches;
	return 0;

err:
	xiova_free_rcache_array(rcaches);
	return ret;
}
EXPORT_SYMBOL_NS_GPL(xiova_domain_init_rcaches, XIOVA);

/* Debug checks: catch double and mismatched fast frees before caching. */
static bool xiova_debug_mark_cached(struct xiova_domain *iovad,
				    unsigned long pfn, unsigned long size)
{
	const char *err = NULL;
	struct xiova *iova;
	unsigned long flags;

	spin_lock_irqsave(&iovad->iova_rbtree_lock, flags);
	iova = xiova_find_locked(iovad, pfn);
	if (!iova || iova == &iovad->anchor || iova->pfn_lo != pfn)
		err = "unknown pfn";
	else if (iova->flags & (XIOVA_F_CACHED | XIOVA_F_RESERVED))
		err = "range already free or reserved";
	else if (order_base_2(xiova_size(iova)) != order_base_2(size))
		err = "wrong size";
	else
		iova->flags |= XIOVA_F_CACHED;
	spin_unlock_irqrestore(&iovad->iova_rbtree_lock, flags);

	if (err)
		pr_warn_ratelimited("domain %d: fast free of pfn %#lx size %lu refused: %s\n",
				    iovad->id, pfn, size, err);
	return !err;
}

static noinline void xiova_debug_clear_cached(struct xiova_domain *iovad,
					      unsigned long pfn)
{
	struct xiova *iova;
	unsigned long flags;

	spin_lock_irqsave(&iovad->iova_rbtree_lock, flags);
	iova = xiova_find_locked(iovad, pfn);
	if (iova)
		iova->flags &= ~XIOVA_F_CACHED;
	spin_unlock_irqrestore(&iovad->iova_rbtree_lock, flags);
}

/*
 * Everything but a magazine hit, out of line: the hit path then needs
 * few registers and no stack frame to speak of.
 */
static noinline unsigned long xiova_alloc_slow(struct xiova_domain *iovad,
					       unsigned long size,
					       unsigned long limit_pfn,
					       bool flush_rcache)
{
	struct xiova *iova;

	if (unlikely(!size)) {
		pr_warn_ratelimited("fast allocation of size 0 refused\n");
		goto fail;
	}
	if (limit_pfn < iovad->start_pfn)
		goto fail;

	iova = xiova_alloc_tree(iovad, size, limit_pfn, true);
	if (iova) {
		trace_alloc(iovad, iova->pfn_lo, size, limit_pfn, true,
			    XIOVA_ALLOC_TREE);
		return iova->pfn_lo;
	}
	if (flush_rcache && iovad->rcaches) {
		trace_flush_all(iovad, XIOVA_FLUSH_RETRY, -1);
		xiova_flush_rcaches(iovad);
		iova = xiova_alloc_tree(iovad, size, limit_pfn, true);
		if (iova) {
			trace_alloc(iovad, iova->pfn_lo, size, limit_pfn, true,
				    XIOVA_ALLOC_FLUSHED);
			return iova->pfn_lo;
		}
	}
fail:
	trace_alloc(iovad, 0, size, limit_pfn, true, XIOVA_ALLOC_FAIL);
	return 0;
}

/**
 * xiova_alloc_fast() - allocate a range, from the magazines if possible
 * @iovad: the domain
 * @size: size in pfns; sizes below 32 are rounded up to a power of two
 * @limit_pfn: highest pfn the range may use (inclusive)
 * @flush_rcache: on failure, flush every magazine back to the tree and
 *		  retry once
 *
 * The range is always size-aligned. Any context.
 *
 * Return: the first pfn, or 0 on failure.
 */
unsigned long xiova_alloc_fast(struct xiova_domain *iovad, unsigned long size,
			       unsigned long limit_pfn, bool flush_rcache)
{
	unsigned long pfn;

	limit_pfn = min(limit_pfn, XIOVA_ANCHOR - 1);
	/*
	 * A range freed into a magazine must come back out for any request
	 * of its class, so cacheable sizes are rounded up to the class size.
	 * The one compare also sends size 0 to the checks of the slow path.
	 * A limit under the start pfn needs no check here: no cached pfn is
	 * below it.
	 */
	if (likely(size - 1 < XIOVA_CACHED_SIZE_MAX)) {
		size = roundup_pow_of_two(size);
		pfn = xiova_rcache_take(iovad, size, limit_pfn + 1);
		if (likely(pfn)) {
			if (unlikely(xiova_debug_checks))
				xiova_debug_clear_cached(iovad, pfn);
			trace_alloc(iovad, pfn, size, limit_pfn, true,
				    XIOVA_ALLOC_CACHE);
			return pfn;
		}
	}
	return xiova_alloc_slow(iovad, size, limit_pfn, flush_rcache);
}
EXPORT_SYMBOL_NS_GPL(xiova_alloc_fast, XIOVA);

/* xiova_free_fast() with the debug checks, out of line. */
static noinline void xiova_free_fast_checked(struct xiova_domain *iovad,
					     unsigned long pfn,
					     unsigned long size)
{
	if (!xiova_debug_mark_cached(iovad, pfn, size))
		return;
	trace_free(iovad, pfn, size, true);
	if (xiova_rcache_put(iovad, pfn, size))
		return;
	xiova_debug_clear_cached(iovad, pfn);
	xiova_free_tree(iovad, pfn);
}

/**
 * xiova_free_fast() - free a range, into the magazines if possible
 * @iovad: the domain
 * @pfn: first pfn, as returned by xiova_alloc_fast()
 * @size: the size passed to xiova_alloc_fast()
 *
 * With the debug_checks parameter set, an unknown pfn, a double free or a
 * wrong size is refused and reported. Any context.
 */
void xiova_free_fast(struct xiova_domain *iovad, unsigned long pfn,
		     unsigned long size)
{
	if (unlikely(xiova_debug_checks)) {
		xiova_free_fast_checked(iovad, pfn, size);
		return;
	}
	/* Before the range goes back: it may be handed out at once. */
	trace_free(iovad, pfn, size, true);
	if (likely(xiova_rcache_put(iovad, pfn, size)))
		return;
	xiova_free_tree(iovad, pfn);
}
EXPORT_SYMBOL_NS_GPL(xiova_free_fast, XIOVA);

/**
 * xiova_rcache_setup() - create the magazine cache and the hotplug state
 *
 * Return: 0 or a negative errno.
 */
int xiova_rcache_setup(void)
{
	int ret;

	xiova_mag_cache = kmem_cache_create("xiova_magazine",
					    sizeof(struct xiova_magazine), 0,
					    SLAB_HWCACHE_ALIGN, NULL);
	if (!xiova_mag_cache) {
		pr_err("cannot create the xiova_magazine cache\n");
		return -ENOMEM;
	}
	ret = cpuhp_setup_state_multi(CPUHP_BP_PREPARE_DYN, "xiova:dead",
				      NULL, xiova_cpuhp_dead);
	if (ret < 0) {
		pr_err("cannot register the CPU hotplug state: %d\n", ret);
		kmem_cache_destroy(xiova_mag_cache);
		xiova_mag_cache = NULL;
		return ret;
	}
	xiova_cpuhp_state = ret;
	return 0;
}

/**
 * xiova_rcache_teardown() - undo xiova_rcache_setup()
 */
void xiova_rcache_teardown(void)
{
	cpuhp_remove_multi_state(xiova_cpuhp_state);
	kmem_cache_destroy(xiova_mag_cache);
	xiova_mag_cache = NULL;
}
