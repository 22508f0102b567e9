// SPDX-License-Identifier: GPL-2.0-only
/*
 * xiova teardown audit. In a domain with debug checks every fast free
 * marks its range XIOVA_F_CACHED in the tree before a magazine takes it,
 * and every fast allocation from a magazine clears the mark. When such a domain is
 * put, the pfns its magazines hold and the ranges the tree marks cached
 * must therefore be the same set:
 *
 * - a range marked cached that no magazine holds was lost: freed by its
 *   user, dropped by the cache, never to be allocated again;
 * - a pfn held by two magazine slots, or one that starts no cached range
 *   of its size class, would be handed out twice.
 *
 * Ranges neither reserved nor cached were still allocated by the domain's
 * user at the put; that is legal (the put frees them) but a user that
 * freed everything, like the DMA shim at detach, must have none.
 *
 * The counts over every audited domain are in debugfs xiova/audit, so that
 * the tests can read them before and after a teardown.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cpu.h>
#include <linux/debugfs.h>
#include <linux/log2.h>
#include <linux/mutex.h>
#include <linux/seq_file.h>

#include "iova_internal.h"

static struct xiova_audit xiova_audit_totals;
static DEFINE_MUTEX(xiova_audit_lock);	/* protects xiova_audit_totals */

static struct xiova *xiova_audit_first(struct rb_root *root)
{
	struct rb_node *node = rb_first(root);

	return node ? rb_entry(node, struct xiova, node) : NULL;
}

static struct xiova *xiova_audit_next(struct xiova *iova)
{
	struct rb_node *node = rb_next(&iova->node);

	return node ? rb_entry(node, struct xiova, node) : NULL;
}

/* Called with the rbtree lock held: one magazine's @n pfns of class @cls. */
static void xiova_audit_pfns(struct xiova_domain *iovad,
			     const unsigned long *pfns, unsigned long n,
			     int cls, struct xiova_audit *a)
{
	struct xiova *iova;
	unsigned long i;

	for (i = 0; i < n; i++) {
		iova = xiova_find_locked(iovad, pfns[i]);
		if (!iova || iova == &iovad->anchor ||
		    iova->pfn_lo != pfns[i] ||
		    !(iova->flags & XIOVA_F_CACHED) ||
		    order_base_2(xiova_size(iova)) != cls) {
			if (!a->unknown)
				pr_err("domain %d: class %d magazine holds pfn %#lx, which starts no cached range of that class\n",
				       iovad->id, cls, pfns[i]);
			a->unknown++;
		} else if (iova->flags & XIOVA_F_AUDITED) {
			if (!a->duplicate)
				pr_err("domain %d: pfn %#lx is in two magazine slots\n",
				       iovad->id, pfns[i]);
			a->duplicate++;
		} else {
			iova->flags |= XIOVA_F_AUDITED;
			a->cached++;
		}
	}
}

/*
 * Called with the rbtree lock held. Depot magazines are full and their
 * size word is the depot link, hence XIOVA_MAG_SIZE pfns each.
 */
static void xiova_audit_rcache(struct xiova_domain *iovad, int cls,
			       struct xiova_audit *a)
{
	struct xiova_rcaches *rc = iovad->rcaches;
	struct xiova_cpu_rcache *cpu_rcache;
	struct xiova_magazine *mag;
	unsigned int cpu;

	for_each_possible_cpu(cpu) {
		cpu_rcache = &per_cpu_ptr(rc->cpu, cpu)->cls[cls];
		mag = cpu_rcache->loaded;
		if (mag)
			xiova_audit_pfns(iovad, mag->pfns, mag->size, cls, a);
		mag = cpu_rcache->prev;
		if (mag)
			xiova_audit_pfns(iovad, mag->pfns, mag->size, cls, a);
	}
	for (mag = rc->cls[cls].depot; mag; mag = mag->next)
		xiova_audit_pfns(iovad, mag->pfns, XIOVA_MAG_SIZE, cls, a);
}

/* Called with the rbtree lock held: what the tree says, marks undone. */
static void xiova_audit_tree(struct xiova_domain *iovad, struct xiova_audit *a)
{
	struct xiova *iova;

	for (iova = xiova_audit_first(&iovad->rbroot); iova;
	     iova = xiova_audit_next(iova)) {
		if (iova == &iovad->anchor || (iova->flags & XIOVA_F_RESERVED))
			continue;
		if (!(iova->flags & XIOVA_F_CACHED)) {
			a->allocated++;
		} else if (!(iova->flags & XIOVA_F_AUDITED)) {
			if (!a->lost)
				pr_err("domain %d: range [%#lx, %#lx] was freed into a magazine that no longer holds it\n",
				       iovad->id, iova->pfn_lo, iova->pfn_hi);
			a->lost++;
		}
		iova->flags &= ~XIOVA_F_AUDITED;
	}
}

/**
 * xiova_audit_domain() - check a domain's magazines against its tree
 * @iovad: a domain with rcaches, being put: no other call on it may run
 *
 * Only meaningful in a domain with debug checks, which marks cached
 * ranges. The trim work and flush requests are waited for and CPU hotplug
 * held off, so nothing moves a magazine meanwhile; the magazines are then
 * read under the rbtree lock alone.
 * Process context.
 */
void xiova_audit_domain(struct xiova_domain *iovad)
{
	struct xiova_audit a = {};
	unsigned long flags;
	int i;

	cpus_read_lock();
	xiova_rcaches_quiesce(iovad->rcaches);
	spin_lock_irqsave(&iovad->iova_rbtree_lock, flags);
	for (i = 0; i < XIOVA_RANGE_CACHE_MAX_SIZE; i++)
		xiova_audit_rcache(iovad, i, &a);
	xiova_audit_tree(iovad, &a);
	spin_unlock_irqrestore(&iovad->iova_rbtree_lock, flags);
	cpus_read_unlock();

	if (a.lost || a.duplicate || a.unknown)
		pr_err("domain %d: audit at put: %lu cached, %lu lost, %lu duplicate, %lu unknown\n",
		       iovad->id, a.cached, a.lost, a.duplicate, a.unknown);

	mutex_lock(&xiova_audit_lock);
	xiova_audit_totals.domains++;
	xiova_audit_totals.cached += a.cached;
	xiova_audit_totals.lost += a.lost;
	xiova_audit_totals.duplicate += a.duplicate;
	xiova_audit_totals.unknown += a.unknown;
	xiova_audit_totals.allocated += a.allocated;
	mutex_unlock(&xiova_audit_lock);
}

/**
 * xiova_audit_get() - the audit's counts since the module loaded
 * @a: filled in
 */
void xiova_audit_get(struct xiova_audit *a)
{
	mutex_lock(&xiova_audit_lock);
	*a = xiova_audit_totals;
	mutex_unlock(&xiova_audit_lock);
}
EXPORT_SYMBOL_FOR_XIOVA_KUNIT(xiova_audit_get);

static int xiova_audit_show(struct seq_file *s, void *unused)
{
	struct xiova_audit a;

	xiova_audit_get(&a);

	seq_printf(s, "debug_checks: %d\n", READ_ONCE(xiova_debug_checks));
	seq_printf(s, "domains: %lu\n", a.domains);
	seq_printf(s, "cached: %lu\n", a.cached);
	seq_printf(s, "lost: %lu\n", a.lost);
	seq_printf(s, "duplicate: %lu\n", a.duplicate);
	seq_printf(s, "unknown: %lu\n", a.unknown);
	seq_printf(s, "allocated: %lu\n", a.allocated);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(xiova_audit);

/**
 * xiova_audit_debugfs_init() - create debugfs xiova/audit
 * @root: the module's debugfs directory
 */
void xiova_audit_debugfs_init(struct dentry *root)
{
	debugfs_create_file("audit", 0400, root, NULL, &xiova_audit_fops);
}
