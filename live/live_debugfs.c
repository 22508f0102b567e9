// SPDX-License-Identifier: GPL-2.0-only
/*
 * debugfs xiova/system/: the kernel's domains taken over, with their IOMMU
 * group and PCI devices, their per-size-class statistics, and an account
 * of every DMA domain's ranges (Documentation/ABI.rst, live.rst).
 *
 * Devices are looked at only while their driver is bound and their device
 * lock held: their group's domain cannot change meanwhile. A device whose
 * lock is busy is skipped for that read.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/iommu.h>
#include <linux/pci.h>
#include <linux/seq_file.h>
#include <linux/slab.h>

#include "live.h"

static struct dentry *xlive_dir;

/* What a DMA domain is, seen through one bound device of its group. */
struct xlive_view {
	struct iommu_domain	*domain;
	struct iova_domain	*iovad;
	int			group;
};

static const char *xlive_type_name(struct iommu_domain *domain)
{
	return domain->type == IOMMU_DOMAIN_DMA_FQ ? "DMA-FQ" : "DMA";
}

/* With the device's lock held and its driver bound. */
static bool xlive_view_of(struct pci_dev *pdev, struct xlive_view *v)
{
	struct iommu_group *group;

	if (!pdev->dev.driver)
		return false;
	v->domain = iommu_get_domain_for_dev(&pdev->dev);
	if (!v->domain || !iommu_is_dma_domain(v->domain) ||
	    !v->domain->iova_cookie)
		return false;
	v->iovad = xlive_kiova_cookie_iovad(v->domain->iova_cookie);
	if (!v->iovad)
		return false;
	group = iommu_group_get(&pdev->dev);
	v->group = group ? iommu_group_id(group) : -1;
	iommu_group_put(group);
	return true;
}

/*
 * Calls @fn for each bound PCI device with a DMA domain, device lock
 * held. Stops at the first nonzero return.
 */
static int xlive_walk_devices(int (*fn)(struct pci_dev *pdev,
					struct xlive_view *v, void *arg),
			      void *arg)
{
	struct pci_dev *pdev = NULL;
	struct xlive_view v;
	int ret = 0;

	for_each_pci_dev(pdev) {
		if (!device_trylock(&pdev->dev))
			continue;
		if (xlive_view_of(pdev, &v))
			ret = fn(pdev, &v, arg);
		device_unlock(&pdev->dev);
		if (ret) {
			pci_dev_put(pdev);
			break;
		}
	}
	return ret;
}

struct xlive_devices_arg {
	struct seq_file		*s;
	struct iova_domain	*iovad;
	int			group;
	const char		*type;
};

static int xlive_note_device(struct pci_dev *pdev, struct xlive_view *v,
			     void *arg)
{
	struct xlive_devices_arg *a = arg;

	if (v->iovad != a->iovad)
		return 0;
	a->group = v->group;
	a->type = xlive_type_name(v->domain);
	if (a->s)
		seq_printf(a->s, " %s", pci_name(pdev));
	return 0;
}

/* The group and type of a domain, from the devices that use it. */
static void xlive_describe(struct iova_domain *iovad,
			   struct xlive_devices_arg *a)
{
	a->iovad = iovad;
	a->group = -1;
	a->type = "-";
	a->s = NULL;
	xlive_walk_devices(xlive_note_device, a);
}

static int xlive_domains_show(struct seq_file *s, void *unused)
{
	struct xlive_devices_arg a;
	struct xlive_domain *x;

	seq_puts(s, "id group type granule drained tree_allocs found devices\n");
	mutex_lock(&xlive_mutex);
	list_for_each_entry(x, &xlive_domains, list) {
		xlive_describe(x->iovad, &a);
		seq_printf(s, "%d %d %s %lu %lu %ld %s", x->rc.id, a.group,
			   a.type, x->iovad->granule, x->drained,
			   atomic_long_read(&x->tree_allocs),
			   x->lazy ? "first-call" : "enable");
		a.s = s;
		xlive_walk_devices(xlive_note_device, &a);
		seq_putc(s, '\n');
	}
	mutex_unlock(&xlive_mutex);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(xlive_domains);

static int xlive_stats_show(struct seq_file *s, void *unused)
{
	struct xiova_class_stats *cls;
	struct xlive_devices_arg a;
	struct xlive_domain *x;

	cls = kcalloc(XIOVA_RANGE_CACHE_MAX_SIZE, sizeof(*cls), GFP_KERNEL);
	if (!cls)
		return -ENOMEM;
	seq_printf(s, "kernel: %s\n", xlive_kiova_variant());
	mutex_lock(&xlive_mutex);
	list_for_each_entry(x, &xlive_domains, list) {
		xlive_describe(x->iovad, &a);
		xiova_rcaches_stats(&x->rc, cls);
		seq_printf(s, "\ndomain: %d\n", x->rc.id);
		seq_printf(s, "group: %d\n", a.group);
		seq_printf(s, "type: %s\n", a.type);
		seq_puts(s, "devices:");
		a.s = s;
		xlive_walk_devices(xlive_note_device, &a);
		seq_printf(s, "\ngranule: %lu\n", x->iovad->granule);
		seq_printf(s, "drained: %lu\n", x->drained);
		seq_printf(s, "tree_allocs: %ld\n",
			   atomic_long_read(&x->tree_allocs));
		xiova_stats_show(s, cls, true);
	}
	mutex_unlock(&xlive_mutex);
	kfree(cls);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(xlive_stats);

struct xlive_account {
	unsigned long	ranges;
	unsigned long	mapped;
};

/* Under the tree lock: every range but the anchor, and the mapped ones. */
static void xlive_count_tree(struct xlive_view *v, struct xlive_account *ac)
{
	struct iova_domain *iovad = v->iovad;
	unsigned long flags, shift = iova_shift(iovad);
	struct rb_node *node;
	struct iova *iova;

	spin_lock_irqsave(&iovad->iova_rbtree_lock, flags);
	for (node = rb_first(&iovad->rbroot); node; node = rb_next(node)) {
		iova = rb_entry(node, struct iova, node);
		if (iova == &iovad->anchor)
			continue;
		ac->ranges++;
		if (iommu_iova_to_phys(v->domain,
				       (dma_addr_t)iova->pfn_lo << shift))
			ac->mapped++;
	}
	spin_unlock_irqrestore(&iovad->iova_rbtree_lock, flags);
}

struct xlive_account_arg {
	struct seq_file		*s;
	struct iova_domain	*seen[64];
	int			nr_seen;
	struct xiova_class_stats cls[XIOVA_RANGE_CACHE_MAX_SIZE];
};

static bool xlive_seen(struct xlive_account_arg *a, struct iova_domain *iovad)
{
	int i;

	for (i = 0; i < a->nr_seen; i++)
		if (a->seen[i] == iovad)
			return true;
	if (a->nr_seen < ARRAY_SIZE(a->seen))
		a->seen[a->nr_seen++] = iovad;
	return false;
}

static unsigned long xlive_xcached(struct xlive_account_arg *a,
				   struct xlive_domain *x)
{
	unsigned long n = 0;
	int i;

	xiova_rcaches_stats(&x->rc, a->cls);
	for (i = 0; i < XIOVA_RANGE_CACHE_MAX_SIZE; i++)
		n += a->cls[i].cpu_pfns + a->cls[i].depot * XIOVA_MAG_SIZE;
	return n;
}

/*
 * One line per DMA domain: its ranges, those mapped, those in the
 * kernel's caches and in xiova's, and the rest, which are reserved ranges
 * and, while I/O runs, ranges in flight. With I/O stopped and the flush
 * queues emptied, "other" is the reservations alone: the same number
 * before enabling and after disabling, or an IOVA was lost.
 */
static int xlive_account_device(struct pci_dev *pdev, struct xlive_view *v,
				void *arg)
{
	struct xlive_account_arg *a = arg;
	struct xlive_account ac = {};
	unsigned long kcached, xcached = 0;
	struct xlive_domain *x;

	if (xlive_seen(a, v->iovad))
		return 0;
	xlive_count_tree(v, &ac);
	x = xlive_of(v->iovad);
	if (x) {
		kcached = xlive_kiova_cached(x->kernel_rcaches);
		xcached = xlive_xcached(a, x);
	} else {
		kcached = xlive_kiova_cached(READ_ONCE(v->iovad->rcaches));
	}
	seq_printf(a->s, "%d %s %s %d %lu %lu %lu %lu %ld\n", v->group,
		   pci_name(pdev), xlive_type_name(v->domain),
		   x ? x->rc.id : -1, ac.ranges, ac.mapped, kcached, xcached,
		   (long)(ac.ranges - ac.mapped - kcached - xcached));
	return 0;
}

static int xlive_account_show(struct seq_file *s, void *unused)
{
	struct xlive_account_arg *a = kzalloc(sizeof(*a), GFP_KERNEL);

	if (!a)
		return -ENOMEM;
	a->s = s;
	seq_puts(s, "group device type domain ranges mapped kcached xcached other\n");
	mutex_lock(&xlive_mutex);
	xlive_walk_devices(xlive_account_device, a);
	mutex_unlock(&xlive_mutex);
	kfree(a);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(xlive_account);

/**
 * xlive_debugfs_init() - create debugfs xiova/system/
 */
void xlive_debugfs_init(void)
{
	struct dentry *root = xiova_debugfs_dir();

	if (!root)
		return;
	xlive_dir = debugfs_create_dir("system", root);
	debugfs_create_file("domains", 0400, xlive_dir, NULL,
			    &xlive_domains_fops);
	debugfs_create_file("stats", 0400, xlive_dir, NULL, &xlive_stats_fops);
	debugfs_create_file("account", 0400, xlive_dir, NULL,
			    &xlive_account_fops);
	debugfs_create_atomic_t("fail_adopts", 0600, xlive_dir,
				&xlive_fail_adopts);
}

/**
 * xlive_debugfs_exit() - remove debugfs xiova/system/
 */
void xlive_debugfs_exit(void)
{
	debugfs_remove_recursive(xlive_dir);
	xlive_dir = NULL;
}
