// SPDX-License-Identifier: GPL-2.0-only
/*
 * xiova domains: their life (the module's caches, init and put, the
 * magazine caches and their CPU hotplug instance), the fast path that
 * puts the magazine caches in front of the tree, and the registry of live
 * domains with their debugfs files.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cpu.h>
#include <linux/cpuhotplug.h>
#include <linux/debugfs.h>
#include <linux/idr.h>
#include <linux/mutex.h>
#include <linux/seq_file.h>
#include <linux/slab.h>

#include "iova_internal.h"
#include "iova_trace.h"

static unsigned int xiova_cache_users;
static DEFINE_MUTEX(xiova_cache_mutex);	/* protects xiova_cache_users */
static int xiova_cpuhp_state;

static struct dentry *xiova_debugfs_root;
static LIST_HEAD(xiova_domains);
static DEFINE_MUTEX(xiova_domains_lock);	/* protects xiova_domains */
static DEFINE_IDA(xiova_domain_ida);

static int xiova_cpuhp_dead(unsigned int cpu, struct hlist_node *node)
{
	struct xiova_domain *iovad;

	iovad = hlist_entry_safe(node, struct xiova_domain, cpuhp_dead);
	xiova_drain_dead_cpu(cpu, iovad);
	return 0;
}

static int xiova_caches_create(void)
{
	int ret;

	ret = xiova_tree_setup();
	if (ret)
		return ret;
	ret = xiova_rcache_setup();
	if (ret)
		goto err_tree;
	ret = cpuhp_setup_state_multi(CPUHP_BP_PREPARE_DYN, "xiova:dead",
				      NULL, xiova_cpuhp_dead);
	if (ret < 0) {
		pr_err("cannot register the CPU hotplug state: %d\n", ret);
		goto err_rcache;
	}
	xiova_cpuhp_state = ret;
	return 0;

err_rcache:
	xiova_rcache_teardown();
err_tree:
	xiova_tree_teardown();
	return ret;
}

/**
 * xiova_cache_get() - take a reference on the module's caches
 *
 * The first reference creates the tree-node and magazine kmem_caches and
 * the CPU hotplug state. xiova_init_domain() takes its own reference, so
 * calling this is only needed to keep the caches across domain lifetimes.
 * Process context only.
 *
 * Return: 0 or a negative errno.
 */
int xiova_cache_get(void)
{
	int ret = 0;

	mutex_lock(&xiova_cache_mutex);
	if (!xiova_cache_users)
		ret = xiova_caches_create();
	if (!ret)
		xiova_cache_users++;
	mutex_unlock(&xiova_cache_mutex);
	return ret;
}
EXPORT_SYMBOL_NS_GPL(xiova_cache_get, XIOVA);

/**
 * xiova_cache_put() - drop a reference taken by xiova_cache_get()
 *
 * The last reference destroys the caches; every domain must be put first.
 * Process context only.
 */
void xiova_cache_put(void)
{
	mutex_lock(&xiova_cache_mutex);
	if (!xiova_cache_users) {
		pr_warn_ratelimited("%s: no reference held\n", __func__);
		goto out;
	}
	if (--xiova_cache_users)
		goto out;
	cpuhp_remove_multi_state(xiova_cpuhp_state);
	xiova_rcache_teardown();
	xiova_tree_teardown();
out:
	mutex_unlock(&xiova_cache_mutex);
}
EXPORT_SYMBOL_NS_GPL(xiova_cache_put, XIOVA);

/**
 * xiova_rcache_range() - largest size, in bytes, served by the magazines
 *
 * Return: PAGE_SIZE times the largest cached size class.
 */
unsigned long xiova_rcache_range(void)
{
	return PAGE_SIZE << (XIOVA_RANGE_CACHE_MAX_SIZE - 1);
}
EXPORT_SYMBOL_NS_GPL(xiova_rcache_range, XIOVA);

/* The caches of a domain being put or read: published after they exist. */
static struct xiova_rcaches *xiova_domain_rcaches(struct xiova_domain *iovad)
{
	/* Pairs with the release in xiova_domain_init_rcaches(). */
	return smp_load_acquire(&iovad->rcaches);
}

static int xiova_stats_file_show(struct seq_file *s, void *unused)
{
	struct xiova_domain *iovad = s->private;
	struct xiova_stats *st;

	st = kmalloc(sizeof(*st), GFP_KERNEL);
	if (!st)
		return -ENOMEM;
	/* Against a failing xiova_domain_init_rcaches() taking them away. */
	mutex_lock(&xiova_domains_lock);
	xiova_get_stats(iovad, st);
	mutex_unlock(&xiova_domains_lock);

	seq_printf(s, "domain: %d\n", iovad->id);
	seq_printf(s, "granule: %lu\n", iovad->granule);
	seq_printf(s, "start_pfn: %#lx\n", iovad->start_pfn);
	seq_printf(s, "tree_nodes: %lu\n", st->tree_nodes);
	seq_printf(s, "tree_bytes: %lu\n", st->tree_nodes * sizeof(struct xiova));
	seq_printf(s, "max32_alloc_size: %lu\n", st->max32_alloc_size);
	seq_printf(s, "debug_checks: %d\n", iovad->debug_checks);
	seq_printf(s, "rcaches: %s\n", st->has_rcaches ? "yes" : "no");
	xiova_stats_show(s, st->cls, st->has_rcaches);
	kfree(st);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(xiova_stats_file);

static int xiova_domains_show(struct seq_file *s, void *unused)
{
	struct xiova_domain *iovad;

	seq_puts(s, "id granule start_pfn tree_nodes rcaches\n");
	mutex_lock(&xiova_domains_lock);
	list_for_each_entry(iovad, &xiova_domains, list)
		seq_printf(s, "%d %lu %#lx %lu %s\n", iovad->id, iovad->granule,
			   iovad->start_pfn, READ_ONCE(iovad->tree_nodes),
			   xiova_domain_rcaches(iovad) ? "yes" : "no");
	mutex_unlock(&xiova_domains_lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(xiova_domains);

/**
 * xiova_domain_id_alloc() - a number for a domain of another kind
 * @gfp: allocation flags
 *
 * Domains number themselves from one space, so that their trace events
 * tell them apart: xiova's own, and the kernel's domains in live mode.
 *
 * Return: the number, or a negative errno.
 */
int xiova_domain_id_alloc(gfp_t gfp)
{
	return ida_alloc(&xiova_domain_ida, gfp);
}
EXPORT_SYMBOL_NS_GPL(xiova_domain_id_alloc, XIOVA);

/**
 * xiova_domain_id_free() - give back a number from xiova_domain_id_alloc()
 * @id: the number; negative ones are ignored
 */
void xiova_domain_id_free(int id)
{
	if (id >= 0)
		ida_free(&xiova_domain_ida, id);
}
EXPORT_SYMBOL_NS_GPL(xiova_domain_id_free, XIOVA);

/* Debugfs failures are not fatal: the domain works without its files. */
static void xiova_register_domain(struct xiova_domain *iovad)
{
	char name[24];
	int id;

	id = xiova_domain_id_alloc(GFP_KERNEL);
	iovad->id = id < 0 ? -1 : id;
	iovad->debugfs = NULL;

	mutex_lock(&xiova_domains_lock);
	list_add_tail(&iovad->list, &xiova_domains);
	mutex_unlock(&xiova_domains_lock);

	if (!xiova_debugfs_root || id < 0)
		return;
	snprintf(name, sizeof(name), "domain%d", id);
	iovad->debugfs = debugfs_create_dir(name, xiova_debugfs_root);
	debugfs_create_file("stats", 0400, iovad->debugfs, iovad,
			    &xiova_stats_file_fops);
}

/* Waits for readers of the domain's files, so the domain may be freed. */
static void xiova_unregister_domain(struct xiova_domain *iovad)
{
	debugfs_remove_recursive(iovad->debugfs);
	iovad->debugfs = NULL;

	mutex_lock(&xiova_domains_lock);
	list_del(&iovad->list);
	mutex_unlock(&xiova_domains_lock);

	xiova_domain_id_free(iovad->id);
	iovad->id = -1;
}

/**
 * __xiova_init_domain() - xiova_init_domain() with its options spelled out
 * @iovad: the domain
 * @granule: bytes per pfn: a power of two no larger than PAGE_SIZE
 * @start_pfn: lowest pfn that may be allocated, at least 1
 * @debug_checks: check every fast free against the tree
 * @module_ref: hold a reference on this module while the domain lives;
 *		only the module's own domains, which its unload puts, go
 *		without
 *
 * Return: as xiova_init_domain().
 */
int __xiova_init_domain(struct xiova_domain *iovad, unsigned long granule,
			unsigned long start_pfn, bool debug_checks,
			bool module_ref)
{
	int ret;

	if (!is_power_of_2(granule) || granule > PAGE_SIZE) {
		pr_err("granule %lu is not a power of two up to %lu\n",
		       granule, PAGE_SIZE);
		return -EINVAL;
	}
	if (!start_pfn || start_pfn >= XIOVA_ANCHOR) {
		pr_err("start pfn %#lx is out of range\n", start_pfn);
		return -EINVAL;
	}
	ret = xiova_cache_get();
	if (ret)
		return ret;

	xiova_tree_init(iovad, granule, start_pfn);
	iovad->rcaches = NULL;
	iovad->debug_checks = debug_checks;
	iovad->module_ref = module_ref;
	if (module_ref)
		__module_get(THIS_MODULE);
	xiova_register_domain(iovad);
	return 0;
}
EXPORT_SYMBOL_FOR_XIOVA_KUNIT(__xiova_init_domain);

/**
 * xiova_init_domain() - set up an empty IOVA domain
 * @iovad: the domain
 * @granule: bytes per pfn: a power of two no larger than PAGE_SIZE
 * @start_pfn: lowest pfn that may be allocated, at least 1
 *
 * Unlike the kernel's init_iova_domain(), bad arguments are refused rather
 * than hitting a BUG_ON(), and pfn 0 cannot be allocated because it is the
 * failure value of xiova_alloc_fast(). The debug_checks module parameter,
 * as it is now, decides whether the domain checks its fast frees. The
 * module cannot be unloaded while the domain lives. Process context only.
 *
 * Return: 0, -EINVAL for a bad argument, or -ENOMEM.
 */
int xiova_init_domain(struct xiova_domain *iovad, unsigned long granule,
		      unsigned long start_pfn)
{
	return __xiova_init_domain(iovad, granule, start_pfn,
				   READ_ONCE(xiova_debug_checks), true);
}
EXPORT_SYMBOL_NS_GPL(xiova_init_domain, XIOVA);

static void xiova_domain_free_rcaches(struct xiova_domain *iovad)
{
	struct xiova_rcaches *rc = iovad->rcaches;

	cpuhp_state_remove_instance_nocalls(xiova_cpuhp_state,
					    &iovad->cpuhp_dead);
	iovad->rcaches = NULL;
	xiova_rcaches_destroy(rc, false);
	kfree(rc);
}

/**
 * xiova_put_domain() - free a domain and every range in it
 * @iovad: a domain set up by xiova_init_domain()
 *
 * No other call on @iovad may run concurrently or follow. Process context.
 */
void xiova_put_domain(struct xiova_domain *iovad)
{
	/* Traced while the domain still has its id. */
	if (iovad->rcaches)
		trace_flush_all(iovad->id, XIOVA_FLUSH_TEARDOWN, -1);
	xiova_unregister_domain(iovad);
	/* Before the magazines are freed: what they hold is what is checked. */
	if (iovad->debug_checks && iovad->rcaches)
		xiova_audit_domain(iovad);
	if (iovad->rcaches)
		xiova_domain_free_rcaches(iovad);
	xiova_tree_free_all(iovad);
	if (iovad->module_ref)
		module_put(THIS_MODULE);
	xiova_cache_put();
}
EXPORT_SYMBOL_NS_GPL(xiova_put_domain, XIOVA);

static void xiova_free_cached_pfns(struct xiova_rcaches *rc,
				   const unsigned long *pfns, unsigned long n)
{
	xiova_free_tree_pfns(rc->owner, pfns, n);
}

static const struct xiova_rcaches_ops xiova_tree_ops = {
	.free_pfns = xiova_free_cached_pfns,
};

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
	struct xiova_rcaches *rc;
	int ret;

	if (iovad->rcaches)
		return -EBUSY;
	rc = kmalloc(sizeof(*rc), GFP_KERNEL);
	if (!rc)
		return -ENOMEM;
	ret = xiova_rcaches_init(rc, &xiova_tree_ops, iovad, iovad->id,
				 GFP_KERNEL);
	if (ret)
		goto err_free;

	/*
	 * Published before the CPU-dead instance exists, whose callback
	 * drains them: a CPU dying in between held none of this domain's
	 * ranges, since nobody uses the domain before this returns.
	 */
	/* Pairs with the acquire in xiova_domain_rcaches(). */
	smp_store_release(&iovad->rcaches, rc);
	ret = cpuhp_state_add_instance_nocalls(xiova_cpuhp_state,
					       &iovad->cpuhp_dead);
	if (!ret)
		return 0;

	/* The stats file reads the caches under the registry's lock. */
	mutex_lock(&xiova_domains_lock);
	WRITE_ONCE(iovad->rcaches, NULL);
	mutex_unlock(&xiova_domains_lock);
	xiova_rcaches_destroy(rc, false);
err_free:
	kfree(rc);
	return ret;
}
EXPORT_SYMBOL_NS_GPL(xiova_domain_init_rcaches, XIOVA);

/**
 * xiova_magazine_free_pfns() - return every range in a magazine to the tree
 * @mag: a magazine or NULL; left empty
 * @iovad: the domain the ranges belong to
 */
void xiova_magazine_free_pfns(struct xiova_magazine *mag,
			      struct xiova_domain *iovad)
{
	if (!xiova_magazine_has_pfns(mag))
		return;
	xiova_free_tree_pfns(iovad, mag->pfns, mag->size);
	mag->size = 0;
}
EXPORT_SYMBOL_FOR_XIOVA_KUNIT(xiova_magazine_free_pfns);

/* Inlined into xiova_free_fast(): a call less on every cached free. */
static __always_inline bool xiova_rcache_put(struct xiova_domain *iovad,
					     unsigned long pfn,
					     unsigned long size)
{
	unsigned int log_size = order_base_2(size);

	if (log_size >= XIOVA_RANGE_CACHE_MAX_SIZE || !iovad->rcaches)
		return false;
	return xiova_rcaches_put(iovad->rcaches, log_size, pfn);
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

/* Inlined into xiova_alloc_fast(): a call less on every magazine hit. */
static __always_inline unsigned long xiova_rcache_take(struct xiova_domain *iovad,
						       unsigned long size,
						       unsigned long limit_pfn)
{
	if (!iovad->rcaches || limit_pfn < size)
		return 0;
	return xiova_rcaches_get(iovad->rcaches, order_base_2(size),
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
 * xiova_flush_rcaches() - return every cached range to the tree
 * @iovad: the domain
 * @reason: an enum xiova_flush_reason, for the trace event
 *
 * As xiova_rcaches_flush(). Any context.
 */
void xiova_flush_rcaches(struct xiova_domain *iovad, int reason)
{
	if (iovad->rcaches)
		xiova_rcaches_flush(iovad->rcaches, reason);
}
EXPORT_SYMBOL_FOR_XIOVA_KUNIT(xiova_flush_rcaches);

/**
 * xiova_drain_dead_cpu() - take a dead CPU's magazines away from it
 * @cpu: a CPU that is offline
 * @iovad: the domain
 *
 * As xiova_rcaches_drain_cpu().
 */
void xiova_drain_dead_cpu(unsigned int cpu, struct xiova_domain *iovad)
{
	xiova_rcaches_drain_cpu(iovad->rcaches, cpu);
}
EXPORT_SYMBOL_FOR_XIOVA_KUNIT(xiova_drain_dead_cpu);

/**
 * xiova_get_stats() - take a snapshot of a domain's counters
 * @iovad: the domain
 * @st: filled in; classes are zero when the domain has no rcaches
 *
 * Process context.
 */
void xiova_get_stats(struct xiova_domain *iovad, struct xiova_stats *st)
{
	struct xiova_rcaches *rc = xiova_domain_rcaches(iovad);
	unsigned long flags;

	memset(st, 0, sizeof(*st));
	spin_lock_irqsave(&iovad->iova_rbtree_lock, flags);
	st->tree_nodes = iovad->tree_nodes;
	st->max32_alloc_size = iovad->max32_alloc_size;
	spin_unlock_irqrestore(&iovad->iova_rbtree_lock, flags);

	st->has_rcaches = rc;
	if (rc)
		xiova_rcaches_stats(rc, st->cls);
}
EXPORT_SYMBOL_FOR_XIOVA_KUNIT(xiova_get_stats);

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
		trace_alloc(iovad->id, iova->pfn_lo, size, limit_pfn, true,
			    XIOVA_ALLOC_TREE);
		return iova->pfn_lo;
	}
	if (flush_rcache && iovad->rcaches) {
		xiova_rcaches_flush(iovad->rcaches, XIOVA_FLUSH_RETRY);
		iova = xiova_alloc_tree(iovad, size, limit_pfn, true);
		if (iova) {
			trace_alloc(iovad->id, iova->pfn_lo, size, limit_pfn,
				    true, XIOVA_ALLOC_FLUSHED);
			return iova->pfn_lo;
		}
	}
fail:
	trace_alloc(iovad->id, 0, size, limit_pfn, true, XIOVA_ALLOC_FAIL);
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
 * The range is always size-aligned. Any context; with interrupts off or
 * in an interrupt, the retry sees the ranges of this CPU's magazines and
 * of the depots, not yet those of the other CPUs' magazines.
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
			if (unlikely(iovad->debug_checks))
				xiova_debug_clear_cached(iovad, pfn);
			trace_alloc(iovad->id, pfn, size, limit_pfn, true,
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
	trace_free(iovad->id, pfn, size, true);
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
 * In a domain with debug checks, an unknown pfn, a double free or a wrong
 * size is refused and reported. Any context.
 */
void xiova_free_fast(struct xiova_domain *iovad, unsigned long pfn,
		     unsigned long size)
{
	if (unlikely(iovad->debug_checks)) {
		xiova_free_fast_checked(iovad, pfn, size);
		return;
	}
	/* Before the range goes back: it may be handed out at once. */
	trace_free(iovad->id, pfn, size, true);
	if (likely(xiova_rcache_put(iovad, pfn, size)))
		return;
	xiova_free_tree(iovad, pfn);
}
EXPORT_SYMBOL_NS_GPL(xiova_free_fast, XIOVA);

/**
 * xiova_module_refs() - references held on this module, for KUnit
 *
 * Return: the count, or -1 when the allocator is built in.
 */
int xiova_module_refs(void)
{
#if IS_MODULE(CONFIG_XIOVA)
	return module_refcount(THIS_MODULE);
#else
	return -1;
#endif
}
EXPORT_SYMBOL_FOR_XIOVA_KUNIT(xiova_module_refs);

/**
 * xiova_domains_live() - domains set up and not yet put
 *
 * Return: the count, for the unload's check.
 */
long xiova_domains_live(void)
{
	struct xiova_domain *iovad;
	long n = 0;

	mutex_lock(&xiova_domains_lock);
	list_for_each_entry(iovad, &xiova_domains, list)
		n++;
	mutex_unlock(&xiova_domains_lock);
	return n;
}

/**
 * xiova_domains_init() - the registry's debugfs files
 * @root: the module's debugfs directory, or NULL without debugfs
 *
 * Return: 0; debugfs is optional.
 */
int xiova_domains_init(struct dentry *root)
{
	xiova_debugfs_root = root;
	if (root)
		debugfs_create_file("domains", 0400, root, NULL,
				    &xiova_domains_fops);
	return 0;
}

/**
 * xiova_domains_exit() - forget the debugfs directory, about to go
 */
void xiova_domains_exit(void)
{
	xiova_debugfs_root = NULL;
}
