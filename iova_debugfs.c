// SPDX-License-Identifier: GPL-2.0-only
/*
 * xiova statistics: the registry of live domains, snapshots of their
 * counters, and the debugfs files that show them (format described in
 * Documentation/stats.rst).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/idr.h>
#include <linux/mutex.h>
#include <linux/seq_file.h>

#include "iova_internal.h"

static struct dentry *xiova_debugfs_root;
static LIST_HEAD(xiova_domains);
static DEFINE_MUTEX(xiova_domains_lock);
static DEFINE_IDA(xiova_domain_ida);

static void xiova_add_cpu_stats(struct xiova_cpu_rcache *cpu_rcache,
				struct xiova_class_stats *cs)
{
	unsigned long flags;

	spin_lock_irqsave(&cpu_rcache->lock, flags);
	cs->hits += cpu_rcache->hits;
	cs->misses += cpu_rcache->misses;
	cs->inserts += cpu_rcache->inserts;
	cs->insert_fails += cpu_rcache->insert_fails;
	if (cpu_rcache->loaded) {
		cs->loaded++;
		cs->cpu_pfns += cpu_rcache->loaded->size;
	}
	if (cpu_rcache->prev) {
		cs->prev++;
		cs->cpu_pfns += cpu_rcache->prev->size;
	}
	spin_unlock_irqrestore(&cpu_rcache->lock, flags);
}

static void xiova_get_class_stats(struct xiova_rcache *rcache,
				  struct xiova_class_stats *cs)
{
	unsigned long flags;
	unsigned int cpu;

	for_each_possible_cpu(cpu)
		xiova_add_cpu_stats(per_cpu_ptr(rcache->cpu_rcaches, cpu), cs);

	spin_lock_irqsave(&rcache->lock, flags);
	cs->depot = rcache->depot_size;
	cs->depot_max = rcache->depot_max;
	cs->trims = rcache->trims;
	cs->flushes = rcache->flushes;
	cs->drains = rcache->drains;
	spin_unlock_irqrestore(&rcache->lock, flags);

	cs->mag_bytes = (cs->loaded + cs->prev + cs->depot) *
			sizeof(struct xiova_magazine);
}

/**
 * xiova_get_stats() - take a snapshot of a domain's counters
 * @iovad: the domain
 * @st: filled in; classes are zero when the domain has no rcaches
 *
 * Each class is consistent in itself; classes are read one after another.
 */
void xiova_get_stats(struct xiova_domain *iovad, struct xiova_stats *st)
{
	unsigned long flags;
	int i;

	memset(st, 0, sizeof(*st));
	spin_lock_irqsave(&iovad->iova_rbtree_lock, flags);
	st->tree_nodes = iovad->tree_nodes;
	st->max32_alloc_size = iovad->max32_alloc_size;
	spin_unlock_irqrestore(&iovad->iova_rbtree_lock, flags);

	st->has_rcaches = iovad->rcaches;
	if (!st->has_rcaches)
		return;
	for (i = 0; i < XIOVA_RANGE_CACHE_MAX_SIZE; i++)
		xiova_get_class_stats(&iovad->rcaches[i], &st->cls[i]);
}
EXPORT_SYMBOL_FOR_XIOVA_KUNIT(xiova_get_stats);

static void xiova_show_class(struct seq_file *s, const char *name,
			     unsigned long size,
			     const struct xiova_class_stats *cs)
{
	seq_printf(s, "%-5s %4lu %10llu %10llu %10llu %8llu %6lu %6lu %8lu %6lu %9lu %6lu %7lu %6lu %9lu\n",
		   name, size, cs->hits, cs->misses, cs->inserts,
		   cs->insert_fails, cs->loaded, cs->prev, cs->cpu_pfns,
		   cs->depot, cs->depot_max, cs->trims, cs->flushes,
		   cs->drains, cs->mag_bytes);
}

static void xiova_sum_class(struct xiova_class_stats *sum,
			    const struct xiova_class_stats *cs)
{
	sum->hits += cs->hits;
	sum->misses += cs->misses;
	sum->inserts += cs->inserts;
	sum->insert_fails += cs->insert_fails;
	sum->loaded += cs->loaded;
	sum->prev += cs->prev;
	sum->cpu_pfns += cs->cpu_pfns;
	sum->depot += cs->depot;
	sum->depot_max += cs->depot_max;
	sum->trims += cs->trims;
	sum->flushes += cs->flushes;
	sum->drains += cs->drains;
	sum->mag_bytes += cs->mag_bytes;
}

static int xiova_stats_show(struct seq_file *s, void *unused)
{
	struct xiova_domain *iovad = s->private;
	struct xiova_class_stats total = {};
	struct xiova_stats *st;
	char name[8];
	int i;

	st = kmalloc(sizeof(*st), GFP_KERNEL);
	if (!st)
		return -ENOMEM;
	xiova_get_stats(iovad, st);

	seq_printf(s, "domain: %d\n", iovad->id);
	seq_printf(s, "granule: %lu\n", iovad->granule);
	seq_printf(s, "start_pfn: %#lx\n", iovad->start_pfn);
	seq_printf(s, "tree_nodes: %lu\n", st->tree_nodes);
	seq_printf(s, "tree_bytes: %lu\n", st->tree_nodes * sizeof(struct xiova));
	seq_printf(s, "max32_alloc_size: %lu\n", st->max32_alloc_size);
	seq_printf(s, "rcaches: %s\n", st->has_rcaches ? "yes" : "no");
	seq_puts(s, "class size       hits     misses    inserts ins_fail loaded   prev cpu_pfns  depot depot_max  trims flushes drains mag_bytes\n");
	for (i = 0; st->has_rcaches && i < XIOVA_RANGE_CACHE_MAX_SIZE; i++) {
		snprintf(name, sizeof(name), "%d", i);
		xiova_show_class(s, name, 1UL << i, &st->cls[i]);
		xiova_sum_class(&total, &st->cls[i]);
	}
	xiova_show_class(s, "total", 0, &total);
	kfree(st);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(xiova_stats);

static int xiova_domains_show(struct seq_file *s, void *unused)
{
	struct xiova_domain *iovad;

	seq_puts(s, "id granule start_pfn tree_nodes rcaches\n");
	mutex_lock(&xiova_domains_lock);
	list_for_each_entry(iovad, &xiova_domains, list)
		seq_printf(s, "%d %lu %#lx %lu %s\n", iovad->id, iovad->granule,
			   iovad->start_pfn, READ_ONCE(iovad->tree_nodes),
			   iovad->rcaches ? "yes" : "no");
	mutex_unlock(&xiova_domains_lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(xiova_domains);

/**
 * xiova_debugfs_add_domain() - register a domain and give it a stats file
 * @iovad: a domain being set up
 *
 * Debugfs failures are not fatal: the domain works without its files.
 */
void xiova_debugfs_add_domain(struct xiova_domain *iovad)
{
	char name[24];
	int id;

	id = ida_alloc(&xiova_domain_ida, GFP_KERNEL);
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
			    &xiova_stats_fops);
}

/**
 * xiova_debugfs_remove_domain() - undo xiova_debugfs_add_domain()
 * @iovad: the domain being put
 *
 * Waits for readers of the domain's files, so the domain may be freed next.
 */
void xiova_debugfs_remove_domain(struct xiova_domain *iovad)
{
	debugfs_remove_recursive(iovad->debugfs);
	iovad->debugfs = NULL;

	mutex_lock(&xiova_domains_lock);
	list_del(&iovad->list);
	mutex_unlock(&xiova_domains_lock);

	if (iovad->id >= 0)
		ida_free(&xiova_domain_ida, iovad->id);
	iovad->id = -1;
}

/**
 * xiova_debugfs_init() - create the module's debugfs directory
 *
 * Return: 0; debugfs is optional.
 */
int xiova_debugfs_init(void)
{
	struct dentry *root = debugfs_create_dir(KBUILD_MODNAME, NULL);

	if (IS_ERR(root))
		return 0;
	xiova_debugfs_root = root;
	debugfs_create_file("domains", 0400, root, NULL, &xiova_domains_fops);
	xiova_testctl_init(root);
	xiova_audit_debugfs_init(root);
	return 0;
}

/**
 * xiova_debugfs_exit() - remove the module's debugfs directory
 */
void xiova_debugfs_exit(void)
{
	bool leaked;

	xiova_testctl_exit();
	mutex_lock(&xiova_domains_lock);
	leaked = !list_empty(&xiova_domains);
	mutex_unlock(&xiova_domains_lock);
	if (leaked)
		pr_err("domains still registered at unload: a user did not put them\n");

	debugfs_remove_recursive(xiova_debugfs_root);
	xiova_debugfs_root = NULL;
}
