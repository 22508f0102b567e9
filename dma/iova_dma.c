// SPDX-License-Identifier: GPL-2.0-only
/*
 * xiova_dma: put one PCI device's DMA through xiova.
 *
 * Attaching takes the device's IOMMU group (it must hold the device alone
 * and the device must have no driver), attaches it to an unmanaged IOMMU
 * domain owned here, and installs xiova_dma_ops on the device. The driver
 * is then bound again and does its DMA as before, with IOVAs allocated by
 * xiova. Detaching (driver unbound again) gives the group back to its
 * default domain and the device its earlier DMA operations.
 *
 * The IOMMU core lets a driver bind while the group sits in a domain other
 * than the default one as long as nobody else uses the group
 * (iommu_device_use_default_domain() only refuses a second user). 6.1
 * refuses sysfs type changes on such a group ("Group not assigned to
 * default domain"); 6.12 refuses them only while a driver is bound, and a
 * device whose group moved meanwhile is let go at its next bind
 * (xiova_dma_bind()).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/device.h>
#include <linux/dma-map-ops.h>
#include <linux/iommu.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/rculist.h>
#include <linux/seq_file.h>
#include <linux/slab.h>

#include "iova_dma.h"

/* The module's one instance of its tracepoints. */
#define CREATE_TRACE_POINTS
#include "iova_dma_trace.h"

const char * const xiova_dma_type_names[XIOVA_DMA_NR_TYPES] = {
	[XIOVA_DMA_STRICT]	= "DMA",
	[XIOVA_DMA_FQ]		= "DMA-FQ",
	[XIOVA_DMA_SQ]		= "DMA-SQ",
};

/*
 * xiova_dma_mutex serialises changes to the list and to a device's type;
 * the DMA operations read the list under RCU. Attach and detach also hold
 * xiova_dma_attach_mutex, from start to end (a detach's end includes
 * removing the debugfs files, which waits for type writers, which take
 * xiova_dma_mutex: hence two locks, this one outside).
 */
static DEFINE_MUTEX(xiova_dma_attach_mutex);
static const struct xiova_dma_hooks *xiova_dma_hooks;
static DEFINE_MUTEX(xiova_dma_mutex);
/* Read by xiova_dma_lookup(), which iova_dma.h inlines into every op. */
LIST_HEAD(xiova_dma_devs);

static struct xiova_dma_dev *xiova_dma_find_pdev(struct pci_dev *pdev)
{
	struct xiova_dma_dev *dd;

	lockdep_assert_held(&xiova_dma_mutex);
	list_for_each_entry(dd, &xiova_dma_devs, list)
		if (dd->pdev == pdev)
			return dd;
	return NULL;
}

/* By name, so that a device gone from the bus can still be detached. */
static struct xiova_dma_dev *xiova_dma_find_name(const char *bdf)
{
	struct xiova_dma_dev *dd;

	lockdep_assert_held(&xiova_dma_mutex);
	list_for_each_entry(dd, &xiova_dma_devs, list)
		if (!strcmp(pci_name(dd->pdev), bdf))
			return dd;
	return NULL;
}

/* Mappings the driver has not undone; 0 when it is quiet. */
static s64 xiova_dma_live_mappings(struct xiova_dma_dev *dd)
{
	struct xiova_dma_stats sum;

	xiova_dma_sum_stats(dd, &sum);
	return sum.maps - sum.unmaps;
}

/* A PCI address, "dddd:bb:ss.f" with any number of hex digits per field. */
static int xiova_dma_parse_bdf(const char *bdf, unsigned int *domain,
			       unsigned int *bus, unsigned int *devfn)
{
	unsigned int slot, fn;
	char tail;

	if (sscanf(bdf, "%x:%x:%x.%x%c", domain, bus, &slot, &fn, &tail) != 4 ||
	    *domain > 0xffff || *bus > 0xff || slot > 0x1f || fn > 7)
		return -EINVAL;
	*devfn = PCI_DEVFN(slot, fn);
	return 0;
}

/* @bdf as pci_name() spells it ("0:0:3.0" is "0000:00:03.0"), into @name. */
static int xiova_dma_canonical_bdf(const char *bdf, char name[XIOVA_DMA_BDF_LEN])
{
	unsigned int domain, bus, devfn;

	if (xiova_dma_parse_bdf(bdf, &domain, &bus, &devfn))
		return -EINVAL;
	snprintf(name, XIOVA_DMA_BDF_LEN, "%04x:%02x:%02x.%x", domain, bus,
		 PCI_SLOT(devfn), PCI_FUNC(devfn));
	return 0;
}

/* The device at "dddd:bb:ss.f" with a reference, or an ERR_PTR. */
static struct pci_dev *xiova_dma_get_pdev(const char *bdf)
{
	unsigned int domain, bus, devfn;

	if (xiova_dma_parse_bdf(bdf, &domain, &bus, &devfn))
		return ERR_PTR(-EINVAL);
	return pci_get_domain_bus_and_slot(domain, bus, devfn) ?: ERR_PTR(-ENODEV);
}

static int xiova_dma_count_dev(struct device *dev, void *data)
{
	(*(int *)data)++;
	return 0;
}

/*
 * Address ranges the device must never be given: the host bridge windows
 * (peer-to-peer addresses) and the group's reserved regions (the MSI
 * doorbells, RMRRs). Direct-mapped regions are identity-mapped as the core
 * does for default domains, since firmware may have the device use them.
 */
static int xiova_dma_reserve_pci_windows(struct xiova_dma_dev *dd)
{
	struct pci_host_bridge *bridge = pci_find_host_bridge(dd->pdev->bus);
	struct resource_entry *window;

	resource_list_for_each_entry(window, &bridge->windows) {
		resource_size_t lo = window->res->start - window->offset;
		resource_size_t hi = window->res->end - window->offset;

		if (resource_type(window->res) != IORESOURCE_MEM)
			continue;
		if (!xiova_reserve(&dd->iovad, xiova_pfn(&dd->iovad, lo),
				   xiova_pfn(&dd->iovad, hi)))
			return -ENOMEM;
	}
	return 0;
}

/* iommu_get_group_resv_regions() hands out copies that the caller frees. */
static void xiova_dma_free_regions(struct list_head *regions)
{
	struct iommu_resv_region *region, *next;

	list_for_each_entry_safe(region, next, regions, list)
		kfree(region);
}

static int xiova_dma_reserve_regions(struct xiova_dma_dev *dd)
{
	struct iommu_resv_region *region;
	LIST_HEAD(regions);
	int ret;

	ret = xiova_dma_reserve_pci_windows(dd);
	if (ret)
		return ret;

	ret = iommu_get_group_resv_regions(dd->group, &regions);
	if (ret)
		return ret;
	list_for_each_entry(region, &regions, list) {
		phys_addr_t end = region->start + region->length - 1;

		if (!region->length)
			continue;
		/*
		 * dma-iommu maps the MSI doorbell of such a region through an
		 * MSI cookie on the domain, which a module cannot install: the
		 * device's MSIs would fault.
		 */
		if (region->type == IOMMU_RESV_SW_MSI) {
			pci_err(dd->pdev, "the group has a software MSI region: not supported by %s\n",
				KBUILD_MODNAME);
			ret = -EOPNOTSUPP;
			break;
		}
		if (!xiova_reserve(&dd->iovad, xiova_pfn(&dd->iovad, region->start),
				   xiova_pfn(&dd->iovad, end))) {
			ret = -ENOMEM;
			break;
		}
		if (region->type != IOMMU_RESV_DIRECT &&
		    region->type != IOMMU_RESV_DIRECT_RELAXABLE)
			continue;
		ret = xiova_iommu_map(dd->domain,
				      ALIGN_DOWN(region->start, dd->iovad.granule),
				      ALIGN_DOWN(region->start, dd->iovad.granule),
				      ALIGN(end + 1, dd->iovad.granule) -
				      ALIGN_DOWN(region->start, dd->iovad.granule),
				      region->prot, GFP_KERNEL);
		if (ret)
			break;
	}
	xiova_dma_free_regions(&regions);
	return ret;
}

static int xiova_dma_init_iovad(struct xiova_dma_dev *dd)
{
	struct iommu_domain_geometry *geo = &dd->domain->geometry;
	unsigned long order = __ffs(dd->domain->pgsize_bitmap);
	unsigned long base_pfn = 1;
	int ret;

	/* pfn 0 stays unused so that an IOVA of 0 never reaches a device. */
	if (geo->force_aperture)
		base_pfn = max_t(unsigned long, 1, geo->aperture_start >> order);
	ret = xiova_init_domain(&dd->iovad, 1UL << order, base_pfn);
	if (ret)
		return ret;
	ret = xiova_domain_init_rcaches(&dd->iovad);
	if (ret)
		goto put;
	ret = xiova_dma_reserve_regions(dd);
	if (ret)
		goto put;
	return 0;
put:
	xiova_put_domain(&dd->iovad);
	return ret;
}

/*
 * The type is recorded before the flush queue is built, and the queue is
 * built for the type it is given: a queue set up from a stale type gave
 * the single-queue patches a per-CPU device with one queue.
 */
static int xiova_dma_switch_fq(struct xiova_dma_dev *dd, enum xiova_dma_type type)
{
	struct xiova_dma_fq *old = dd->fq, *fq = NULL;

	dd->type = type;
	if (type != XIOVA_DMA_STRICT) {
		fq = xiova_dma_fq_create(dd, dd->type);
		if (IS_ERR(fq)) {
			dd->type = old ? old->type : XIOVA_DMA_STRICT;
			return PTR_ERR(fq);
		}
	}
	/* Pairs with READ_ONCE() in the unmap path: a queue is seen whole. */
	smp_store_release(&dd->fq, fq);
	if (old) {
		/* The stats file reads the queues under RCU. */
		synchronize_rcu();
		dd->fq_flushes += atomic64_read(&old->flush_finish);
		dd->fq_timeouts += atomic64_read(&old->timeouts);
		xiova_dma_fq_destroy(old);
	}
	return 0;
}

static void xiova_dma_dev_free(struct xiova_dma_dev *dd)
{
	if (dd->fq)
		xiova_dma_fq_destroy(dd->fq);
	if (dd->iovad.granule)
		xiova_put_domain(&dd->iovad);
	if (dd->domain)
		iommu_domain_free(dd->domain);
	free_percpu(dd->stats);
	iommu_group_put(dd->group);
	pci_dev_put(dd->pdev);
	kfree(dd);
}

/* The state of a device about to be attached; takes over @group's reference. */
static struct xiova_dma_dev *xiova_dma_dev_create(struct pci_dev *pdev,
						  struct iommu_group *group)
{
	struct xiova_dma_dev *dd;
	int ret = -ENOMEM;

	dd = kzalloc(sizeof(*dd), GFP_KERNEL);
	if (!dd) {
		iommu_group_put(group);
		return ERR_PTR(-ENOMEM);
	}
	dd->pdev = pci_dev_get(pdev);
	dd->group = group;
	INIT_LIST_HEAD(&dd->list);
	dd->stats = alloc_percpu(struct xiova_dma_stats);
	if (!dd->stats)
		goto fail;
	dd->domain = iommu_domain_alloc(pdev->dev.bus);
	if (!dd->domain) {
		ret = -EOPNOTSUPP;
		goto fail;
	}
	return dd;
fail:
	xiova_dma_dev_free(dd);
	return ERR_PTR(ret);
}

/* Why @pdev cannot be attached, or 0 with a reference on its group. */
static int xiova_dma_attachable(struct pci_dev *pdev, struct iommu_group **groupp)
{
	struct iommu_group *group;
	int devices = 0;

	if (xiova_dma_find_pdev(pdev)) {
		pci_err(pdev, "already attached to " KBUILD_MODNAME "\n");
		return -EEXIST;
	}
	if (pdev->dev.driver) {
		pci_err(pdev, "driver %s is bound: unbind it before attaching\n",
			pdev->dev.driver->name);
		return -EBUSY;
	}
	if (pdev->untrusted) {
		pci_err(pdev, "untrusted device: needs bounce buffers, which %s does not do\n",
			KBUILD_MODNAME);
		return -EPERM;
	}
	/* dma-iommu's cache maintenance for these is not reimplemented. */
	if (!dev_is_dma_coherent(&pdev->dev)) {
		pci_err(pdev, "DMA is not cache-coherent: not supported by %s\n",
			KBUILD_MODNAME);
		return -EOPNOTSUPP;
	}
	group = iommu_group_get(&pdev->dev);
	if (!group) {
		pci_err(pdev, "no IOMMU group: is an IOMMU enabled for it?\n");
		return -ENODEV;
	}
	iommu_group_for_each_dev(group, &devices, xiova_dma_count_dev);
	if (devices != 1) {
		pci_err(pdev, "IOMMU group %d holds %d devices; only a group of one can be attached\n",
			iommu_group_id(group), devices);
		iommu_group_put(group);
		return -EINVAL;
	}
	if (iommu_group_dma_owner_claimed(group)) {
		pci_err(pdev, "IOMMU group %d is owned by another user (VFIO?)\n",
			iommu_group_id(group));
		iommu_group_put(group);
		return -EBUSY;
	}
	*groupp = group;
	return 0;
}

static int xiova_dma_attach_locked(struct pci_dev *pdev, enum xiova_dma_type type)
{
	struct iommu_group *group;
	struct xiova_dma_dev *dd;
	int ret;

	ret = xiova_dma_attachable(pdev, &group);
	if (ret)
		return ret;
	dd = xiova_dma_dev_create(pdev, group);
	if (IS_ERR(dd)) {
		pci_err(pdev, "cannot allocate an IOMMU domain: %pe\n", dd);
		return PTR_ERR(dd);
	}
	ret = iommu_attach_group(dd->domain, group);
	if (ret) {
		pci_err(pdev, "cannot attach IOMMU group %d: %d\n",
			iommu_group_id(group), ret);
		xiova_dma_dev_free(dd);
		return ret;
	}
	/*
	 * Some IOMMU drivers (virtio) set the domain's geometry and become
	 * able to flush only at the first attach: the IOVA space and the
	 * flush queue are built after it.
	 */
	ret = xiova_dma_init_iovad(dd);
	if (ret)
		dd->iovad.granule = 0;
	else
		ret = xiova_dma_switch_fq(dd, type);
	if (ret) {
		pci_err(pdev, "cannot set up the IOVA space: %d\n", ret);
		iommu_detach_group(dd->domain, group);
		xiova_dma_dev_free(dd);
		return ret;
	}
	dd->old_ops = get_dma_ops(&pdev->dev);
	/* Published before the operations that look it up. */
	list_add_tail_rcu(&dd->list, &xiova_dma_devs);
	set_dma_ops(&pdev->dev, &xiova_dma_ops);
	dd->old_dma_iommu = xiova_dev_clear_dma_iommu(&pdev->dev);
	/* Unloading would leave the device with dangling operations. */
	__module_get(THIS_MODULE);
	xiova_dma_hooks->added(dd);
	pci_info(pdev, "attached: IOMMU group %d, type %s, xiova domain %d\n",
		 iommu_group_id(group), xiova_dma_type_names[dd->type], dd->iovad.id);
	return 0;
}

/**
 * xiova_dma_attach() - put a PCI device's DMA through xiova
 * @bdf: its PCI address, "dddd:bb:ss.f"
 * @type: the initial type
 *
 * Return: 0, or -EINVAL (bad address, shared group), -ENODEV (no such
 * device, no IOMMU group), -EBUSY (a driver is bound, the group is in
 * use), -EEXIST (already attached), -EPERM (untrusted device),
 * -EOPNOTSUPP or -ENOMEM.
 */
int xiova_dma_attach(const char *bdf, enum xiova_dma_type type)
{
	struct pci_dev *pdev = xiova_dma_get_pdev(bdf);
	int ret;

	if (IS_ERR(pdev))
		return PTR_ERR(pdev);
	mutex_lock(&xiova_dma_attach_mutex);
	mutex_lock(&xiova_dma_mutex);
	device_lock(&pdev->dev);
	ret = xiova_dma_attach_locked(pdev, type);
	device_unlock(&pdev->dev);
	mutex_unlock(&xiova_dma_mutex);
	mutex_unlock(&xiova_dma_attach_mutex);
	pci_dev_put(pdev);
	return ret;
}

/*
 * 6.12's iommu_group_store_type() refuses a type change only while a driver
 * is bound: on an unbound attached device it puts the group on a new
 * default domain in place of the shim's one and sets the device up for
 * iommu-dma (dev->dma_iommu) beside the shim's operations. 6.1 refuses
 * while the group is not on its default domain.
 */
static bool xiova_dma_replaced(struct xiova_dma_dev *dd)
{
	return iommu_get_domain_for_dev(&dd->pdev->dev) != dd->domain;
}

/* New operations find the device's earlier ones, and not @dd. */
static void xiova_dma_unlink(struct xiova_dma_dev *dd)
{
	struct device *dev = &dd->pdev->dev;

	lockdep_assert_held(&xiova_dma_mutex);
	/* An evicted device's operations were put back at its bind. */
	if (!READ_ONCE(dd->evicted)) {
		/* The core set dma_iommu for a domain that replaced the shim's. */
		if (!xiova_dma_replaced(dd))
			xiova_dev_restore_dma_iommu(dev, dd->old_dma_iommu);
		set_dma_ops(dev, dd->old_ops);
	}
	list_del_rcu(&dd->list);
}

/* Unlinks @dd; the caller frees it once nothing can reach it any more. */
static int xiova_dma_unlink_locked(struct xiova_dma_dev *dd)
{
	struct device *dev = &dd->pdev->dev;
	s64 live;

	if (dev->driver && !READ_ONCE(dd->evicted)) {
		pci_err(dd->pdev, "driver %s is bound: unbind it before detaching\n",
			dev->driver->name);
		return -EBUSY;
	}
	/* An unbound driver may still unmap later (page pools do). */
	live = xiova_dma_live_mappings(dd);
	if (live) {
		pci_err(dd->pdev, "%lld mappings are still live: not detaching\n", live);
		return -EBUSY;
	}
	xiova_dma_unlink(dd);
	return 0;
}

/*
 * After the grace period no operation that looked @dd up is still mapping
 * into its domain: only then does the group leave it.
 */
static void xiova_dma_release(struct xiova_dma_dev *dd)
{
	xiova_dma_hooks->removing(dd);
	synchronize_rcu();
	/*
	 * iommu_detach_group() ignores the domain it is given: a group that
	 * has left the shim's domain may belong to another owner (VFIO) by
	 * now, whose blocking domain it would install.
	 */
	if (!xiova_dma_replaced(dd))
		iommu_detach_group(dd->domain, dd->group);
	pci_info(dd->pdev, "detached: back to the default IOMMU domain\n");
	xiova_dma_dev_free(dd);
	module_put(THIS_MODULE);
}

/**
 * xiova_dma_detach() - give a device back its default domain and DMA ops
 * @bdf: its PCI address
 *
 * Return: 0, or -EINVAL (bad address), -ENODEV (no such device), -ENOENT
 * (not attached), -EBUSY (a driver is bound, or mappings are live).
 */
int xiova_dma_detach(const char *bdf)
{
	char name[XIOVA_DMA_BDF_LEN];
	struct pci_dev *pdev;
	struct xiova_dma_dev *dd;
	int ret = -ENOENT;

	if (xiova_dma_canonical_bdf(bdf, name))
		return -EINVAL;
	pdev = xiova_dma_get_pdev(name);
	mutex_lock(&xiova_dma_attach_mutex);
	mutex_lock(&xiova_dma_mutex);
	dd = xiova_dma_find_name(name);
	if (dd) {
		device_lock(&dd->pdev->dev);
		ret = xiova_dma_unlink_locked(dd);
		device_unlock(&dd->pdev->dev);
	} else if (IS_ERR(pdev)) {
		ret = PTR_ERR(pdev);
	} else {
		pci_err(pdev, "not attached to " KBUILD_MODNAME "\n");
	}
	mutex_unlock(&xiova_dma_mutex);
	if (!ret)
		xiova_dma_release(dd);
	mutex_unlock(&xiova_dma_attach_mutex);
	if (!IS_ERR(pdev))
		pci_dev_put(pdev);
	return ret;
}

/**
 * xiova_dma_set_type() - change how an attached device's unmaps are flushed
 * @dd: the device
 * @type: the new type
 *
 * As the kernel's iommu_group type attribute: any change while no driver
 * is bound, and strict to lazy (a flush queue brought up under a running
 * driver) at any time.
 *
 * Return: 0, -ENODEV if @dd was detached meanwhile, -EBUSY if a driver is
 * bound and the change is not strict to lazy, -ENOMEM.
 */
int xiova_dma_set_type(struct xiova_dma_dev *dd, enum xiova_dma_type type)
{
	struct device *dev = &dd->pdev->dev;
	int ret = 0;

	mutex_lock(&xiova_dma_mutex);
	if (xiova_dma_find_pdev(dd->pdev) != dd) {
		mutex_unlock(&xiova_dma_mutex);
		return -ENODEV;
	}
	device_lock(dev);
	if (dd->type == type)
		goto out;
	if (dev->driver && !(dd->type == XIOVA_DMA_STRICT && type != XIOVA_DMA_STRICT)) {
		pci_err(dd->pdev, "driver %s is bound: only %s to a lazy type may change live\n",
			dev->driver->name, xiova_dma_type_names[XIOVA_DMA_STRICT]);
		ret = -EBUSY;
		goto out;
	}
	/* A queue is torn down only when no unmap can still reach it. */
	if (dd->fq && xiova_dma_live_mappings(dd)) {
		pci_err(dd->pdev, "mappings are still live: the flush queue stays\n");
		ret = -EBUSY;
		goto out;
	}
	ret = xiova_dma_switch_fq(dd, type);
	if (!ret)
		pci_info(dd->pdev, "type %s\n", xiova_dma_type_names[dd->type]);
out:
	device_unlock(dev);
	mutex_unlock(&xiova_dma_mutex);
	return ret;
}

/**
 * xiova_dma_devices_show() - list the attached devices
 * @m: one "<PCI address> <type> <xiova domain>" line per device
 * @unused: unused
 *
 * Return: 0.
 */
int xiova_dma_devices_show(struct seq_file *m, void *unused)
{
	struct xiova_dma_dev *dd;

	mutex_lock(&xiova_dma_mutex);
	list_for_each_entry(dd, &xiova_dma_devs, list)
		seq_printf(m, "%s %s %d\n", pci_name(dd->pdev),
			   xiova_dma_type_names[dd->type], dd->iovad.id);
	mutex_unlock(&xiova_dma_mutex);
	return 0;
}

/**
 * xiova_dma_sum_stats() - add up a device's per-CPU counters
 * @dd: the device
 * @sum: filled with the totals
 */
void xiova_dma_sum_stats(struct xiova_dma_dev *dd, struct xiova_dma_stats *sum)
{
	int cpu;

	memset(sum, 0, sizeof(*sum));
	for_each_possible_cpu(cpu) {
		const struct xiova_dma_stats *s = per_cpu_ptr(dd->stats, cpu);

		sum->maps += s->maps;
		sum->unmaps += s->unmaps;
		sum->map_bytes += s->map_bytes;
		sum->unmap_bytes += s->unmap_bytes;
		sum->map_errors += s->map_errors;
		sum->bad_unmaps += s->bad_unmaps;
		sum->syncs += s->syncs;
		sum->iotlb_syncs += s->iotlb_syncs;
		sum->fq_queued += s->fq_queued;
		sum->fq_full_flushes += s->fq_full_flushes;
	}
}

static bool xiova_dma_is_attached(struct pci_dev *pdev)
{
	bool attached;

	xiova_dma_read_lock();
	attached = xiova_dma_lookup(&pdev->dev);
	xiova_dma_read_unlock();
	return attached;
}

static struct xiova_dma_dev *xiova_dma_find_evicted(void)
{
	struct xiova_dma_dev *dd;

	lockdep_assert_held(&xiova_dma_mutex);
	list_for_each_entry(dd, &xiova_dma_devs, list)
		if (READ_ONCE(dd->evicted))
			return dd;
	return NULL;
}

/*
 * A device leaving the bus while attached (hot removal, sysfs "remove")
 * leaves the shim first, so that the group is back on its default domain
 * before the IOMMU core releases the device and a rescan finds it new.
 * Its driver is gone by then: what it left mapped can never be unmapped.
 * An evicted device leaves the same way, with a driver bound already.
 *
 * @pdev, or else any evicted device, leaves: false if there was none.
 */
static bool xiova_dma_leave(struct pci_dev *pdev)
{
	struct xiova_dma_dev *dd;
	s64 live = 0;

	/*
	 * Every removal passes here, some under another device's lock (a
	 * PF's, when its VFs go): the shim's mutexes, which attach holds
	 * while it takes a device lock, only for a device that is attached.
	 */
	if (pdev && !xiova_dma_is_attached(pdev))
		return false;
	mutex_lock(&xiova_dma_attach_mutex);
	mutex_lock(&xiova_dma_mutex);
	dd = pdev ? xiova_dma_find_pdev(pdev) : xiova_dma_find_evicted();
	if (dd) {
		live = xiova_dma_live_mappings(dd);
		xiova_dma_unlink(dd);
	}
	mutex_unlock(&xiova_dma_mutex);
	if (dd) {
		if (live)
			pci_warn(dd->pdev, "left with %lld mappings live\n", live);
		xiova_dma_release(dd);
	}
	mutex_unlock(&xiova_dma_attach_mutex);
	return dd;
}

static void xiova_dma_evict_fn(struct work_struct *work)
{
	while (xiova_dma_leave(NULL))
		;
}

static DECLARE_WORK(xiova_dma_evict_work, xiova_dma_evict_fn);

/*
 * A driver is about to probe a device whose group left the shim's domain
 * (xiova_dma_replaced()): it gets the kernel's DMA API, and the shim lets
 * the device go. The driver core holds the device lock here, which attach
 * and detach take inside the shim's mutexes: the state is freed later, by
 * a work item.
 */
static void xiova_dma_bind(struct pci_dev *pdev)
{
	struct xiova_dma_dev *dd;

	device_lock_assert(&pdev->dev);
	xiova_dma_read_lock();
	dd = xiova_dma_lookup(&pdev->dev);
	if (dd && !READ_ONCE(dd->evicted) && xiova_dma_replaced(dd)) {
		pci_warn(pdev, "IOMMU group %d left the %s domain (type attribute written?): %s gets the kernel's DMA API\n",
			 iommu_group_id(dd->group), KBUILD_MODNAME,
			 pdev->dev.driver ? pdev->dev.driver->name : "the driver");
		set_dma_ops(&pdev->dev, dd->old_ops);
		WRITE_ONCE(dd->evicted, true);
	} else {
		dd = NULL;
	}
	xiova_dma_read_unlock();
	if (dd)
		schedule_work(&xiova_dma_evict_work);
}

static int xiova_dma_bus_notify(struct notifier_block *nb,
				unsigned long action, void *data)
{
	if (action == BUS_NOTIFY_DEL_DEVICE)
		xiova_dma_leave(to_pci_dev(data));
	else if (action == BUS_NOTIFY_BIND_DRIVER)
		xiova_dma_bind(to_pci_dev(data));
	return NOTIFY_DONE;
}

static struct notifier_block xiova_dma_bus_nb = {
	.notifier_call = xiova_dma_bus_notify,
};

/**
 * xiova_dma_core_init() - get ready to attach devices
 * @hooks: what the interface does as devices come and go
 *
 * Return: 0, or the error of xiova_cache_get() or of the PCI bus notifier.
 */
int xiova_dma_core_init(const struct xiova_dma_hooks *hooks)
{
	int ret;

	xiova_dma_hooks = hooks;
	ret = xiova_cache_get();
	if (ret)
		return ret;
	ret = bus_register_notifier(&pci_bus_type, &xiova_dma_bus_nb);
	if (ret)
		xiova_cache_put();
	return ret;
}

/**
 * xiova_dma_core_exit() - undo xiova_dma_core_init(), no device attached
 */
void xiova_dma_core_exit(void)
{
	/*
	 * A bind notifier still running may queue the eviction work: the
	 * notifier goes first. The work's last call may still be returning
	 * from xiova_dma_release().
	 */
	bus_unregister_notifier(&pci_bus_type, &xiova_dma_bus_nb);
	cancel_work_sync(&xiova_dma_evict_work);
	/* Each attached device holds a module reference: none is left here. */
	WARN_ON(!list_empty(&xiova_dma_devs));
	xiova_cache_put();
}
