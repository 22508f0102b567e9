// SPDX-License-Identifier: GPL-2.0-only
/*
 * xiova magazine caches, after Bonwick and Adams, "Magazines and Vmem"
 * (USENIX 2001): each CPU keeps a loaded and a previous magazine of
 * recently freed ranges per size class, and full magazines go to an
 * unbounded depot that a delayed work trims back to one per online CPU.
 *
 * The structures, the concurrency rules and the inline fast path are in
 * iova_rcache.h; this file has everything that is not a magazine hit.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cpu.h>
#include <linux/slab.h>
#include <linux/smp.h>

#include "iova_rcache.h"
#include "iova_trace.h"

static struct kmem_cache *xiova_mag_cache;
static DEFINE_PER_CPU(long, xiova_mags_live);

atomic_t xiova_fail_mag_allocs = ATOMIC_INIT(0);
EXPORT_SYMBOL_FOR_XIOVA_KUNIT(xiova_fail_mag_allocs);

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
EXPORT_SYMBOL_NS_GPL(xiova_live_magazines, XIOVA);

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

/**
 * xiova_magazine_pop() - take the most recent pfn at or below a limit
 * @mag: a magazine or NULL
 * @limit_pfn: highest acceptable pfn
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

/* Every range in @mag goes back to the owner's tree; @mag is left empty. */
static void xiova_magazine_give_back(struct xiova_rcaches *rc,
				     struct xiova_magazine *mag)
{
	if (!xiova_magazine_has_pfns(mag))
		return;
	rc->ops->free_pfns(rc, mag->pfns, mag->size);
	mag->size = 0;
}

/* The class of a depot, from its place in the caches' array. */
static unsigned int xiova_rcache_class(struct xiova_rcache *rcache)
{
	return rcache - rcache->owner->cls;
}

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
		trace_depot_trim(rcache->owner->id, xiova_rcache_class(rcache),
				 rcache->depot_size);
	}
	spin_unlock_irqrestore(&rcache->lock, flags);

	if (!mag)
		return false;
	xiova_magazine_give_back(rcache->owner, mag);
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

static void xiova_depot_add(struct xiova_rcache *rcache,
			    struct xiova_magazine *mag)
{
	unsigned long flags;
	bool over;

	spin_lock_irqsave(&rcache->lock, flags);
	xiova_depot_push(rcache, mag);
	trace_depot_push(rcache->owner->id, xiova_rcache_class(rcache),
			 rcache->depot_size);
	over = rcache->depot_size > num_online_cpus();
	spin_unlock_irqrestore(&rcache->lock, flags);
	if (over)
		schedule_delayed_work(&rcache->work, XIOVA_DEPOT_DELAY);
}

/**
 * xiova_rcache_make_room() - give a CPU's loaded magazine space for a free
 * @rc: the domain's caches
 * @cls: the size class
 * @cpu_rcache: this CPU's magazines of @cls, with its local lock held
 *
 * When both magazines are full (or missing), the full loaded one goes to
 * the depot and a new empty one takes its place. Out of line: the fast
 * path stays small.
 *
 * Return: false if no magazine could be had; the caller frees the range
 * to the tree and nothing is lost.
 */
noinline bool xiova_rcache_make_room(struct xiova_rcaches *rc,
				     unsigned int cls,
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
		xiova_depot_add(&rc->cls[cls], cpu_rcache->loaded);
	cpu_rcache->loaded = new_mag;
	return true;
}
EXPORT_SYMBOL_NS_GPL(xiova_rcache_make_room, XIOVA);

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
		trace_depot_pop(rcache->owner->id, xiova_rcache_class(rcache),
				rcache->depot_size);
	spin_unlock(&rcache->lock);
	if (!mag)
		return;

	if (!cpu_rcache->prev)
		cpu_rcache->prev = cpu_rcache->loaded;
	else
		xiova_magazine_free(cpu_rcache->loaded);
	cpu_rcache->loaded = mag;
}

/**
 * xiova_rcache_refill() - give a CPU's empty loaded magazine pfns
 * @rc: the domain's caches
 * @cls: the size class
 * @cpu_rcache: this CPU's magazines of @cls, with its local lock held
 *
 * Swaps in prev, or loads a full magazine from the depot.
 *
 * Return: true if the loaded magazine now holds pfns.
 */
noinline bool xiova_rcache_refill(struct xiova_rcaches *rc, unsigned int cls,
				  struct xiova_cpu_rcache *cpu_rcache)
{
	if (xiova_magazine_has_pfns(cpu_rcache->prev)) {
		swap(cpu_rcache->prev, cpu_rcache->loaded);
		return true;
	}
	xiova_load_from_depot(&rc->cls[cls], cpu_rcache);
	return xiova_magazine_has_pfns(cpu_rcache->loaded);
}
EXPORT_SYMBOL_NS_GPL(xiova_rcache_refill, XIOVA);

/**
 * xiova_rcache_missed() - count an allocation no magazine could serve
 * @rc: the domain's caches
 * @cls: the size class
 * @cpu_rcache: this CPU's magazines of @cls, with its local lock held
 */
noinline void xiova_rcache_missed(struct xiova_rcaches *rc, unsigned int cls,
				  struct xiova_cpu_rcache *cpu_rcache)
{
	cpu_rcache->misses++;
	trace_rcache_miss(rc->id, cls);
}
EXPORT_SYMBOL_NS_GPL(xiova_rcache_missed, XIOVA);

/*
 * This CPU's cached ranges go back to the tree; its magazines stay, empty.
 * Interrupts off: nothing of this CPU's can run meanwhile.
 */
static void xiova_rcaches_flush_this_cpu(struct xiova_rcaches *rc)
{
	struct xiova_cpu_caches *cc;
	unsigned long flags;
	int i;

	local_lock_irqsave(&rc->cpu->lock, flags);
	cc = this_cpu_ptr(rc->cpu);
	for (i = 0; i < XIOVA_RANGE_CACHE_MAX_SIZE; i++) {
		xiova_magazine_give_back(rc, cc->cls[i].loaded);
		xiova_magazine_give_back(rc, cc->cls[i].prev);
	}
	local_unlock_irqrestore(&rc->cpu->lock, flags);
}

static void xiova_rcaches_flush_ipi(void *info)
{
	xiova_rcaches_flush_this_cpu(info);
}

/*
 * The CSD is free again before this runs: a request sent from now on is
 * queued behind it. The decrement is the last access to @rc, which
 * xiova_rcaches_destroy() may free next.
 */
static void xiova_rcaches_flush_async(void *info)
{
	struct xiova_rcaches *rc = info;

	atomic_set_release(&this_cpu_ptr(rc->cpu)->flush_claimed, 0);
	xiova_rcaches_flush_this_cpu(rc);
	atomic_dec_return_release(&rc->flushes_queued);
}

/*
 * smp_call_function_single_async() tests and sets the CSD's busy flag
 * without an atomic operation, so its callers must not race on one CSD:
 * other CPUs, and an interrupt of this one, may flush the same domain.
 * The claim makes one of them the sender.
 */
static void xiova_rcaches_flush_send(struct xiova_rcaches *rc,
				     unsigned int cpu)
{
	struct xiova_cpu_caches *cc = per_cpu_ptr(rc->cpu, cpu);

	if (atomic_xchg(&cc->flush_claimed, 1))
		return;
	atomic_inc(&rc->flushes_queued);
	if (smp_call_function_single_async(cpu, &cc->flush)) {
		atomic_dec(&rc->flushes_queued);
		atomic_set(&cc->flush_claimed, 0);
	}
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

static void xiova_free_depot_list(struct xiova_rcaches *rc,
				  struct xiova_magazine *list, bool free_ranges)
{
	struct xiova_magazine *mag;

	while (list) {
		mag = list;
		list = mag->next;
		mag->size = XIOVA_MAG_SIZE;
		if (free_ranges)
			xiova_magazine_give_back(rc, mag);
		xiova_magazine_free(mag);
	}
}

/*
 * Another CPU's magazines can be emptied only on that CPU. A synchronous
 * IPI waits for every CPU, which is safe only where this task holds no
 * lock another CPU could be spinning on with interrupts off: in a
 * preemptible context. Elsewhere the other CPUs are sent an IPI that
 * nobody waits for. A request still pending is not sent twice; one to a
 * CPU going offline runs before it is dead, or is refused because it is.
 */
static void xiova_rcaches_flush_cpus(struct xiova_rcaches *rc)
{
	unsigned int cpu, this_cpu;

	if (preemptible()) {
		on_each_cpu(xiova_rcaches_flush_ipi, rc, 1);
		return;
	}
	this_cpu = get_cpu();
	xiova_rcaches_flush_this_cpu(rc);
	for_each_online_cpu(cpu)
		if (cpu != this_cpu)
			xiova_rcaches_flush_send(rc, cpu);
	put_cpu();
}

/**
 * xiova_rcaches_flush() - return every cached range to the tree
 * @rc: the domain's caches
 * @reason: an enum xiova_flush_reason, for the trace event
 *
 * Used when an allocation fails: the magazines may hold the space it
 * needs. In a preemptible context every CPU's magazines are empty when
 * this returns; elsewhere this CPU's and the depots are, and the other
 * CPUs empty theirs when their IPI arrives. Any context.
 */
void xiova_rcaches_flush(struct xiova_rcaches *rc, int reason)
{
	struct xiova_rcache *rcache;
	unsigned long flags;
	int i;

	trace_flush_all(rc->id, reason, -1);
	xiova_rcaches_flush_cpus(rc);
	for (i = 0; i < XIOVA_RANGE_CACHE_MAX_SIZE; i++) {
		rcache = &rc->cls[i];
		xiova_free_depot_list(rc, xiova_depot_take_all(rcache), true);
		spin_lock_irqsave(&rcache->lock, flags);
		rcache->flushes++;
		spin_unlock_irqrestore(&rcache->lock, flags);
	}
}
EXPORT_SYMBOL_NS_GPL(xiova_rcaches_flush, XIOVA);

/* A full magazine keeps its ranges cached in the depot; others go back. */
static void xiova_drain_magazine(struct xiova_rcaches *rc, unsigned int cls,
				 struct xiova_magazine *mag)
{
	if (!mag)
		return;
	if (!xiova_magazine_has_space(mag)) {
		xiova_depot_add(&rc->cls[cls], mag);
		return;
	}
	xiova_magazine_give_back(rc, mag);
	xiova_magazine_free(mag);
}

/**
 * xiova_rcaches_drain_cpu() - take a dead CPU's magazines away from it
 * @rc: the domain's caches
 * @cpu: a CPU that is dead: nothing runs on it, so its caches are ours
 *
 * Its full magazines move to the depot, its partial ones give their
 * ranges back to the tree, and the CPU comes back online with none.
 * Called from a CPU hotplug dead callback.
 */
void xiova_rcaches_drain_cpu(struct xiova_rcaches *rc, unsigned int cpu)
{
	struct xiova_cpu_caches *cc = per_cpu_ptr(rc->cpu, cpu);
	struct xiova_rcache *rcache;
	unsigned long flags;
	int i;

	trace_flush_all(rc->id, XIOVA_FLUSH_CPU_DEAD, cpu);
	for (i = 0; i < XIOVA_RANGE_CACHE_MAX_SIZE; i++) {
		xiova_drain_magazine(rc, i, cc->cls[i].loaded);
		xiova_drain_magazine(rc, i, cc->cls[i].prev);
		cc->cls[i].loaded = NULL;
		cc->cls[i].prev = NULL;

		rcache = &rc->cls[i];
		spin_lock_irqsave(&rcache->lock, flags);
		rcache->drains++;
		spin_unlock_irqrestore(&rcache->lock, flags);
	}
}
EXPORT_SYMBOL_NS_GPL(xiova_rcaches_drain_cpu, XIOVA);

static void xiova_add_cpu_stats(struct xiova_cpu_caches *cc,
				struct xiova_class_stats *cls)
{
	struct xiova_cpu_rcache *cpu_rcache;
	int i;

	for (i = 0; i < XIOVA_RANGE_CACHE_MAX_SIZE; i++) {
		cpu_rcache = &cc->cls[i];
		cls[i].hits += cpu_rcache->hits;
		cls[i].misses += cpu_rcache->misses;
		cls[i].inserts += cpu_rcache->inserts;
		cls[i].insert_fails += cpu_rcache->insert_fails;
		if (cpu_rcache->loaded) {
			cls[i].loaded++;
			cls[i].cpu_pfns += cpu_rcache->loaded->size;
		}
		if (cpu_rcache->prev) {
			cls[i].prev++;
			cls[i].cpu_pfns += cpu_rcache->prev->size;
		}
	}
}

struct xiova_stats_req {
	struct xiova_rcaches		*rc;
	struct xiova_class_stats	*cls;
};

/* On each online CPU in turn: its own caches, with interrupts off. */
static void xiova_rcaches_stats_ipi(void *info)
{
	struct xiova_stats_req *req = info;

	xiova_add_cpu_stats(this_cpu_ptr(req->rc->cpu), req->cls);
}

/**
 * xiova_rcaches_stats() - take a snapshot of a domain's caches
 * @rc: the domain's caches
 * @cls: XIOVA_RANGE_CACHE_MAX_SIZE entries, filled in
 *
 * Each online CPU reads its own counters and magazines (an IPI to each,
 * in turn); an offline CPU's are read directly, with CPU hotplug held
 * off. Each class is consistent in itself. Process context.
 */
void xiova_rcaches_stats(struct xiova_rcaches *rc,
			 struct xiova_class_stats *cls)
{
	struct xiova_stats_req req = { .rc = rc, .cls = cls };
	struct xiova_rcache *rcache;
	unsigned long flags;
	unsigned int cpu;
	int i;

	memset(cls, 0, sizeof(*cls) * XIOVA_RANGE_CACHE_MAX_SIZE);
	cpus_read_lock();
	for_each_possible_cpu(cpu) {
		if (cpu_online(cpu))
			smp_call_function_single(cpu, xiova_rcaches_stats_ipi,
						 &req, 1);
		else
			xiova_add_cpu_stats(per_cpu_ptr(rc->cpu, cpu), cls);
	}
	cpus_read_unlock();

	for (i = 0; i < XIOVA_RANGE_CACHE_MAX_SIZE; i++) {
		rcache = &rc->cls[i];
		spin_lock_irqsave(&rcache->lock, flags);
		cls[i].depot = rcache->depot_size;
		cls[i].depot_max = rcache->depot_max;
		cls[i].trims = rcache->trims;
		cls[i].flushes = rcache->flushes;
		cls[i].drains = rcache->drains;
		spin_unlock_irqrestore(&rcache->lock, flags);
		cls[i].mag_bytes = (cls[i].loaded + cls[i].prev + cls[i].depot) *
				   sizeof(struct xiova_magazine);
	}
}
EXPORT_SYMBOL_NS_GPL(xiova_rcaches_stats, XIOVA);

/**
 * xiova_rcaches_init() - set up the magazine caches of a domain
 * @rc: the caches, zeroed or not
 * @ops: how cached ranges go back to the domain's tree
 * @owner: for @ops
 * @id: the domain's number, in trace events and messages
 * @gfp: for the per-CPU part: GFP_KERNEL, or GFP_ATOMIC in atomic context
 *
 * Magazines are allocated when first needed, so an idle domain costs no
 * magazine memory. CPU hotplug is the owner's to handle, with
 * xiova_rcaches_drain_cpu(). The caller holds a reference on the module's
 * caches (xiova_cache_get()).
 *
 * Return: 0 or -ENOMEM.
 */
int xiova_rcaches_init(struct xiova_rcaches *rc,
		       const struct xiova_rcaches_ops *ops, void *owner, int id,
		       gfp_t gfp)
{
	struct xiova_cpu_caches *cc;
	struct xiova_rcache *rcache;
	unsigned int cpu;
	int i;

	memset(rc, 0, sizeof(*rc));
	rc->cpu = alloc_percpu_gfp(struct xiova_cpu_caches, gfp | __GFP_NOWARN);
	if (!rc->cpu)
		return -ENOMEM;
	rc->ops = ops;
	rc->owner = owner;
	rc->id = id;
	for (i = 0; i < XIOVA_RANGE_CACHE_MAX_SIZE; i++) {
		rcache = &rc->cls[i];
		spin_lock_init(&rcache->lock);
		rcache->owner = rc;
		INIT_DELAYED_WORK(&rcache->work, xiova_depot_work);
	}
	for_each_possible_cpu(cpu) {
		cc = per_cpu_ptr(rc->cpu, cpu);
		local_lock_init(&cc->lock);
		INIT_CSD(&cc->flush, xiova_rcaches_flush_async, rc);
		atomic_set(&cc->flush_claimed, 0);
	}
	return 0;
}
EXPORT_SYMBOL_NS_GPL(xiova_rcaches_init, XIOVA);

/**
 * xiova_rcaches_quiesce() - stop everything that moves magazines on its own
 * @rc: caches of a domain on which no operation runs any more
 *
 * Waits for the trim work and for flush requests sent to other CPUs,
 * which run with interrupts off and so finish quickly; the wait yields,
 * since on a kernel without preemption a bare spin would hold off RCU
 * and this CPU's other tasks. Afterwards, with CPU hotplug held off,
 * nothing touches @rc. Process context.
 */
void xiova_rcaches_quiesce(struct xiova_rcaches *rc)
{
	int i;

	for (i = 0; i < XIOVA_RANGE_CACHE_MAX_SIZE; i++)
		cancel_delayed_work_sync(&rc->cls[i].work);
	while (atomic_read_acquire(&rc->flushes_queued))
		cond_resched();
}

/**
 * xiova_rcaches_destroy() - free a domain's magazine caches
 * @rc: caches set up by xiova_rcaches_init()
 * @free_ranges: give the cached ranges back to the tree first; a domain
 *		 whose whole tree is freed next need not
 *
 * No operation on @rc may run concurrently or follow. Waits as
 * xiova_rcaches_quiesce() does. Process context.
 */
void xiova_rcaches_destroy(struct xiova_rcaches *rc, bool free_ranges)
{
	struct xiova_cpu_caches *cc;
	unsigned int cpu;
	int i;

	xiova_rcaches_quiesce(rc);
	for_each_possible_cpu(cpu) {
		cc = per_cpu_ptr(rc->cpu, cpu);
		for (i = 0; i < XIOVA_RANGE_CACHE_MAX_SIZE; i++) {
			if (free_ranges) {
				xiova_magazine_give_back(rc, cc->cls[i].loaded);
				xiova_magazine_give_back(rc, cc->cls[i].prev);
			}
			xiova_magazine_free(cc->cls[i].loaded);
			xiova_magazine_free(cc->cls[i].prev);
		}
	}
	for (i = 0; i < XIOVA_RANGE_CACHE_MAX_SIZE; i++)
		xiova_free_depot_list(rc, xiova_depot_take_all(&rc->cls[i]),
				      free_ranges);
	free_percpu(rc->cpu);
	rc->cpu = NULL;
}
EXPORT_SYMBOL_NS_GPL(xiova_rcaches_destroy, XIOVA);

/**
 * xiova_rcache_setup() - create the magazine cache
 *
 * Return: 0 or -ENOMEM.
 */
int xiova_rcache_setup(void)
{
	xiova_mag_cache = kmem_cache_create("xiova_magazine",
					    sizeof(struct xiova_magazine), 0,
					    SLAB_HWCACHE_ALIGN, NULL);
	if (!xiova_mag_cache) {
		pr_err("cannot create the xiova_magazine cache\n");
		return -ENOMEM;
	}
	return 0;
}

/**
 * xiova_rcache_teardown() - undo xiova_rcache_setup()
 */
void xiova_rcache_teardown(void)
{
	kmem_cache_destroy(xiova_mag_cache);
	xiova_mag_cache = NULL;
}
