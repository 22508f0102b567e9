/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The kernel API differences between the releases xiova_dma builds for
 * (Debian 12's 6.1 and 6.12), one helper per difference, each naming the
 * release that changed it. The other files of the shim, and the benchmark
 * module, call these and test no version themselves.
 */
#ifndef _XIOVA_COMPAT_H_
#define _XIOVA_COMPAT_H_

#include <linux/device.h>
#include <linux/gfp.h>
#include <linux/iommu.h>
#include <linux/version.h>

/* The one place that reads the kernel's version. */
#define XIOVA_KERNEL_AT_LEAST(major, minor) \
	(KERNEL_VERSION(major, minor, 0) <= LINUX_VERSION_CODE)

/* 6.3: iommu_map() takes a gfp mask, and iommu_map_atomic() is gone. */
static inline int xiova_iommu_map(struct iommu_domain *domain,
				  unsigned long iova, phys_addr_t paddr,
				  size_t size, int prot, gfp_t gfp)
{
#if XIOVA_KERNEL_AT_LEAST(6, 3)
	return iommu_map(domain, iova, paddr, size, prot, gfp);
#else
	if (gfpflags_allow_blocking(gfp))
		return iommu_map(domain, iova, paddr, size, prot);
	return iommu_map_atomic(domain, iova, paddr, size, prot);
#endif
}

/*
 * 6.7: iommu_domain_ops loses the one-page ->map(); every driver has
 * ->map_pages(). Returns -ENODEV where ->map() does not exist or is not set.
 */
static inline int xiova_iommu_ops_map(struct iommu_domain *domain,
				      unsigned long iova, phys_addr_t paddr,
				      size_t pgsize, int prot, gfp_t gfp)
{
#if !XIOVA_KERNEL_AT_LEAST(6, 7)
	if (domain->ops->map)
		return domain->ops->map(domain, iova, paddr, pgsize, prot, gfp);
#endif
	return -ENODEV;
}

/* 6.10: dma_map_ops.alloc_pages is renamed alloc_pages_op. */
#if XIOVA_KERNEL_AT_LEAST(6, 10)
#define XIOVA_DMA_OPS_ALLOC_PAGES	alloc_pages_op
#else
#define XIOVA_DMA_OPS_ALLOC_PAGES	alloc_pages
#endif

/* 6.10: __assign_str() takes the field only: __string() named the source. */
#if XIOVA_KERNEL_AT_LEAST(6, 10)
#define xiova_assign_str(field, src)	__assign_str(field)
#else
#define xiova_assign_str(field, src)	__assign_str(field, src)
#endif

/*
 * 6.12: the DMA core calls iommu-dma directly, before a device's dma_ops,
 * while dev->dma_iommu is set (the IOMMU core sets it for devices in a DMA
 * or DMA-FQ default domain). The shim clears it while its own operations
 * are installed and restores it at detach.
 */
static inline bool xiova_dev_clear_dma_iommu(struct device *dev)
{
#if XIOVA_KERNEL_AT_LEAST(6, 12) && IS_ENABLED(CONFIG_IOMMU_DMA)
	bool was = dev->dma_iommu;

	dev->dma_iommu = false;
	return was;
#else
	return false;
#endif
}

static inline void xiova_dev_restore_dma_iommu(struct device *dev, bool was)
{
#if XIOVA_KERNEL_AT_LEAST(6, 12) && IS_ENABLED(CONFIG_IOMMU_DMA)
	dev->dma_iommu = was;
#endif
}

/*
 * 6.7: the rcache depot of drivers/iommu/iova.c is an unbounded list of
 * full magazines (a magazine's size shares its word with the list link),
 * trimmed by delayed work; before, an array of 32. Only the benchmark
 * mirrors these private structures, to count a stock domain's magazines.
 */
#define XIOVA_STOCK_DEPOT_IS_LIST	XIOVA_KERNEL_AT_LEAST(6, 7)

#endif /* _XIOVA_COMPAT_H_ */
