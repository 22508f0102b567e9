// SPDX-License-Identifier: GPL-2.0-only
/*
 * xiova_dma: the DMA operations of an attached device.
 *
 * They follow dma-iommu on 6.1 for a cache-coherent x86 PCI device: an
 * IOVA below 4 GiB first, then below the full mask; the IOMMU API to map;
 * strict unmaps synced before the IOVA is freed, lazy ones queued until
 * the next IOTLB flush. Where they differ:
 *
 * - Scatterlists get one contiguous IOVA range; entries that follow each
 *   other there are merged into one DMA segment as dma-iommu merges them,
 *   but get_merge_boundary stays 0, so that the block layer never counts on
 *   a merge. The padding that keeps a segment inside the device's segment
 *   boundary is left unmapped.
 * - 6.1 does not export iommu_map_sg_atomic(), so a scatterlist is mapped
 *   through the domain's own map_pages op and synced once, as
 *   __iommu_map_sg() would.
 * - Coherent buffers are physically contiguous pages, never remapped
 *   scattered pages; large allocations are limited by the page allocator.
 * - Untrusted devices, which need bounce buffering, are refused at attach,
 *   so the sync calls only count: x86 DMA is cache-coherent.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bits.h>
#include <linux/dma-map-ops.h>
#include <linux/gfp.h>
#include <linux/iommu.h>
#include <linux/mm.h>
#include <linux/overflow.h>
#include <linux/pci-p2pdma.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>

#include "iova_dma.h"
#include "iova_dma_trace.h"

static int xiova_dma_prot(struct device *dev, enum dma_data_direction dir,
			  unsigned long attrs)
{
	int prot = dev_is_dma_coherent(dev) ? IOMMU_CACHE : 0;

	if (attrs & DMA_ATTR_PRIVILEGED)
		prot |= IOMMU_PRIV;
	switch (dir) {
	case DMA_BIDIRECTIONAL:
		return prot | IOMMU_READ | IOMMU_WRITE;
	case DMA_TO_DEVICE:
		return prot | IOMMU_READ;
	case DMA_FROM_DEVICE:
		return prot | IOMMU_WRITE;
	default:
		return 0;
	}
}

/* An IOVA for @size bytes (granule-aligned) below @dma_limit, or 0. */
static dma_addr_t xiova_dma_alloc_iova(struct xiova_dma_dev *dd, struct device *dev,
				       size_t size, u64 dma_limit)
{
	struct xiova_domain *iovad = &dd->iovad;
	unsigned long shift = xiova_shift(iovad);
	unsigned long pages = size >> shift;
	/* Once: a type change may clear it meanwhile. */
	struct xiova_dma_fq *fq = READ_ONCE(dd->fq);
	unsigned long pfn = 0;

	dma_limit = min_not_zero(dma_limit, dev->bus_dma_limit);
	if (dd->domain->geometry.force_aperture)
		dma_limit = min_t(u64, dma_limit, dd->domain->geometry.aperture_end);

	/* PCI devices get a single-address-cycle address when one is free. */
	if (dma_limit > DMA_BIT_MASK(32))
		pfn = xiova_alloc_fast(iovad, pages, DMA_BIT_MASK(32) >> shift, false);
	if (!pfn)
		pfn = xiova_alloc_fast(iovad, pages, dma_limit >> shift, true);
	/* Unmapped ranges may be waiting in a flush queue: have them back. */
	if (!pfn && fq) {
		xiova_dma_fq_reclaim(fq);
		pfn = xiova_alloc_fast(iovad, pages, dma_limit >> shift, true);
	}
	return (dma_addr_t)pfn << shift;
}

static dma_addr_t __xiova_dma_map(struct xiova_dma_dev *dd, struct device *dev,
				  phys_addr_t phys, size_t size, int prot,
				  u64 dma_mask)
{
	struct xiova_domain *iovad = &dd->iovad;
	size_t off = xiova_offset(iovad, phys);
	size_t len = xiova_align(iovad, size + off);
	dma_addr_t iova;

	iova = xiova_dma_alloc_iova(dd, dev, len, dma_mask);
	if (!iova)
		goto fail;
	if (xiova_iommu_map(dd->domain, iova, phys - off, len, prot, GFP_ATOMIC)) {
		xiova_free_fast(iovad, xiova_pfn(iovad, iova), len >> xiova_shift(iovad));
		goto fail;
	}
	this_cpu_add(dd->stats->maps, 1);
	this_cpu_add(dd->stats->map_bytes, size);
	trace_map(dd, iova + off, size, phys, prot);
	return iova + off;
fail:
	this_cpu_add(dd->stats->map_errors, 1);
	return DMA_MAPPING_ERROR;
}

/*
 * The end of an unmap whose page-table entries are gone: the IOTLB synced
 * and the IOVA freed at once (strict), or both left to the flush queue.
 */
static void xiova_dma_unmap_done(struct xiova_dma_dev *dd, struct xiova_dma_fq *fq,
				 struct iommu_iotlb_gather *gather, dma_addr_t iova,
				 size_t size)
{
	struct xiova_domain *iovad = &dd->iovad;

	this_cpu_add(dd->stats->unmaps, 1);
	if (fq) {
		this_cpu_add(dd->stats->fq_queued, 1);
		xiova_dma_fq_queue(fq, xiova_pfn(iovad, iova), size >> xiova_shift(iovad),
				   &gather->freelist);
		return;
	}
	iommu_iotlb_sync(dd->domain, gather);
	this_cpu_add(dd->stats->iotlb_syncs, 1);
	xiova_free_fast(iovad, xiova_pfn(iovad, iova), size >> xiova_shift(iovad));
}

/* Unmaps @len granule-aligned bytes at @iova; false if less was mapped. */
static bool xiova_dma_unmap_piece(struct xiova_dma_dev *dd,
				  struct iommu_iotlb_gather *gather,
				  dma_addr_t iova, size_t len)
{
	size_t unmapped = iommu_unmap_fast(dd->domain, iova, len, gather);

	if (likely(unmapped >= len))
		return true;
	dev_err_ratelimited(&dd->pdev->dev, "unmap of %pad+%zu found %zu bytes mapped\n",
			    &iova, len, unmapped);
	return false;
}

/*
 * An unmap of an address that was not (wholly) mapped: whatever was
 * undone is flushed, and the IOVA is kept out of reuse rather than freed
 * on a guess. A queued gather carries no range (the IOMMU driver expects
 * a full flush), so the flush is a full one then. It still counts as an
 * unmap, or the device would look busy (live mappings) for ever.
 */
static void xiova_dma_unmap_failed(struct xiova_dma_dev *dd,
				   struct iommu_iotlb_gather *gather)
{
	this_cpu_add(dd->stats->unmaps, 1);
	this_cpu_add(dd->stats->bad_unmaps, 1);
	if (!gather->queued) {
		iommu_iotlb_sync(dd->domain, gather);
		return;
	}
	xiova_dma_flush_all(dd->domain);
	put_pages_list(&gather->freelist);
}

static void __xiova_dma_unmap(struct xiova_dma_dev *dd, dma_addr_t dma_addr,
			      size_t size)
{
	size_t off = xiova_offset(&dd->iovad, dma_addr);
	struct xiova_dma_fq *fq = READ_ONCE(dd->fq);
	struct iommu_iotlb_gather gather;

	trace_unmap(dd, dma_addr, size, fq);
	dma_addr -= off;
	size = xiova_align(&dd->iovad, size + off);
	iommu_iotlb_gather_init(&gather);
	gather.queued = fq;
	if (xiova_dma_unmap_piece(dd, &gather, dma_addr, size))
		xiova_dma_unmap_done(dd, fq, &gather, dma_addr, size);
	else
		xiova_dma_unmap_failed(dd, &gather);
}

static void xiova_dma_unmap_bytes(struct xiova_dma_dev *dd, dma_addr_t dma_addr,
				  size_t size)
{
	this_cpu_add(dd->stats->unmap_bytes, size);
	__xiova_dma_unmap(dd, dma_addr, size);
}

/*
 * Every operation looks its device up and uses it inside one read section
 * (preemption off): detach frees the state only after a grace period, so
 * an operation that raced with it finishes on live state.
 */
static dma_addr_t xiova_dma_map_phys(struct device *dev, phys_addr_t phys,
				     size_t size, int prot, u64 dma_mask)
{
	dma_addr_t iova = DMA_MAPPING_ERROR;
	struct xiova_dma_dev *dd;

	xiova_dma_read_lock();
	dd = xiova_dma_lookup(dev);
	if (!WARN_ON_ONCE(!dd))
		iova = __xiova_dma_map(dd, dev, phys, size, prot, dma_mask);
	xiova_dma_read_unlock();
	return iova;
}

/*
 * dma-iommu's check before an unmap: a handle outside the IOVA space, or
 * whose first page is not mapped (unmapped twice, never mapped), is not
 * given to the IOMMU driver. 6.1's intel-iommu reports a full unmap of
 * absent entries, so the IOVA would be freed twice and two buffers would
 * share it; beyond the domain's width it hits a BUG_ON.
 */
static bool xiova_dma_handle_mapped(struct xiova_dma_dev *dd,
				    dma_addr_t handle, size_t size)
{
	const struct iommu_domain_geometry *geo = &dd->domain->geometry;
	dma_addr_t first = (dma_addr_t)dd->iovad.start_pfn << xiova_shift(&dd->iovad);
	dma_addr_t last;

	if (!size || check_add_overflow(handle, (dma_addr_t)size - 1, &last))
		return false;
	if (handle < first ||
	    (geo->force_aperture &&
	     (handle < geo->aperture_start || last > geo->aperture_end)))
		return false;
	return iommu_iova_to_phys(dd->domain, handle);
}

static void xiova_dma_unmap(struct device *dev, dma_addr_t dma_handle, size_t size)
{
	struct xiova_dma_dev *dd;

	xiova_dma_read_lock();
	dd = xiova_dma_lookup(dev);
	if (WARN_ON_ONCE(!dd)) {
		xiova_dma_read_unlock();
		return;
	}
	if (likely(xiova_dma_handle_mapped(dd, dma_handle, size))) {
		xiova_dma_unmap_bytes(dd, dma_handle, size);
	} else {
		this_cpu_add(dd->stats->bad_unmaps, 1);
		dev_warn_ratelimited(dev, "unmap of %pad+%zu refused: not mapped\n",
				     &dma_handle, size);
	}
	xiova_dma_read_unlock();
}

static dma_addr_t xiova_dma_map_page(struct device *dev, struct page *page,
				     unsigned long offset, size_t size,
				     enum dma_data_direction dir, unsigned long attrs)
{
	return xiova_dma_map_phys(dev, page_to_phys(page) + offset, size,
				  xiova_dma_prot(dev, dir, attrs), dma_get_mask(dev));
}

static void xiova_dma_unmap_page(struct device *dev, dma_addr_t dma_handle,
				 size_t size, enum dma_data_direction dir,
				 unsigned long attrs)
{
	xiova_dma_unmap(dev, dma_handle, size);
}

static dma_addr_t xiova_dma_map_resource(struct device *dev, phys_addr_t phys,
					 size_t size, enum dma_data_direction dir,
					 unsigned long attrs)
{
	/* MMIO is never cached, whatever the device's coherency: as dma-iommu. */
	return xiova_dma_map_phys(dev, phys, size,
				  (xiova_dma_prot(dev, dir, attrs) & ~IOMMU_CACHE) |
				  IOMMU_MMIO, dma_get_mask(dev));
}

/*
 * The page size to map @size bytes from @paddr at @iova with, and in
 * @count how many of them come before a larger size fits: 6.1's
 * iommu_pgsize(), which is static. Every argument is aligned to the
 * smallest page size.
 */
static size_t xiova_dma_pgsize(struct iommu_domain *domain, unsigned long iova,
			       phys_addr_t paddr, size_t size, size_t *count)
{
	unsigned long addr_merge = paddr | iova;
	unsigned int pgsize_idx, pgsize_idx_next;
	size_t offset, pgsize_next, offset_end;
	unsigned long pgsizes;

	pgsizes = domain->pgsize_bitmap & GENMASK(__fls(size), 0);
	if (likely(addr_merge))
		pgsizes &= GENMASK(__ffs(addr_merge), 0);
	pgsize_idx = __fls(pgsizes);
	*count = size >> pgsize_idx;

	pgsizes = domain->pgsize_bitmap & ~GENMASK(pgsize_idx, 0);
	if (!pgsizes)
		return BIT(pgsize_idx);
	pgsize_idx_next = __ffs(pgsizes);
	pgsize_next = BIT(pgsize_idx_next);
	/* A larger page needs @iova and @paddr equally offset within it. */
	if ((iova ^ paddr) & (pgsize_next - 1))
		return BIT(pgsize_idx);
	/* Stop at the larger page's boundary when one whole such page follows. */
	offset = pgsize_next - (addr_merge & (pgsize_next - 1));
	if (!check_add_overflow(offset, pgsize_next, &offset_end) &&
	    offset_end <= size)
		*count = offset >> pgsize_idx;
	return BIT(pgsize_idx);
}

/*
 * Maps @size bytes at @iova to @paddr as iommu_map_atomic() does, page
 * sizes and all, but without its iotlb_sync_map: map_sg syncs once for
 * the whole list. @mapped gets what was mapped, on failure too, for the
 * caller to undo.
 */
static int xiova_dma_map_pages(struct iommu_domain *domain, unsigned long iova,
			       phys_addr_t paddr, size_t size, int prot,
			       size_t *mapped)
{
	const struct iommu_domain_ops *ops = domain->ops;
	int ret = 0;

	*mapped = 0;
	if (unlikely(!domain->pgsize_bitmap))
		return -ENODEV;
	/* The granule is the smallest page size: xiova_dma_pgsize() needs it. */
	if (WARN_ON_ONCE(!IS_ALIGNED(iova | paddr | size,
				     BIT(__ffs(domain->pgsize_bitmap)))))
		return -EINVAL;
	while (size) {
		size_t count, pgsize, done = 0;

		pgsize = xiova_dma_pgsize(domain, iova, paddr, size, &count);
		if (ops->map_pages) {
			ret = ops->map_pages(domain, iova, paddr, pgsize, count,
					     prot, GFP_ATOMIC, &done);
		} else {
			ret = xiova_iommu_ops_map(domain, iova, paddr, pgsize,
						  prot, GFP_ATOMIC);
			done = ret ? 0 : pgsize;
		}
		*mapped += done;
		if (ret)
			return ret;
		size -= done;
		iova += done;
		paddr += done;
	}
	return 0;
}

/*
 * Padding that moves a segment of @len bytes at @pos to the next multiple
 * of the segment boundary when it would cross one, as dma-iommu does. An
 * empty segment crosses nothing: padding it would make the range longer
 * than the one unmap_sg computes from the segments, and free less.
 */
static size_t xiova_dma_sg_pad(size_t pos, size_t len, unsigned long mask)
{
	size_t pad = (mask - pos + 1) & mask;

	return len && pad && pad < len - 1 ? pad : 0;
}

/*
 * Unmaps the first @end bytes of a list's range at @iova, for a failed
 * map_sg: the entries are still granule-aligned by map_sg. As at unmap,
 * one call per run of entries with no padding between them: a call must
 * not cross a hole (virtio-iommu and AMD stop at one), nor stop inside a
 * run, whose entries virtio-iommu may hold as a single mapping.
 */
static void xiova_dma_sg_unwind(struct xiova_dma_dev *dd, struct scatterlist *sg,
				int nents, dma_addr_t iova, unsigned long mask,
				size_t end)
{
	size_t pos = 0, run_pos = 0, run_len = 0;
	struct iommu_iotlb_gather gather;
	struct scatterlist *s;
	int i;

	/* An empty gather would still cost intel-iommu an invalidation. */
	if (!end)
		return;
	iommu_iotlb_gather_init(&gather);
	for_each_sg(sg, s, nents, i) {
		pos += xiova_dma_sg_pad(pos, s->length, mask);
		if (pos >= end)
			break;
		if (!s->length)
			continue;
		if (run_len && pos != run_pos + run_len) {
			iommu_unmap_fast(dd->domain, iova + run_pos, run_len, &gather);
			run_len = 0;
		}
		if (!run_len)
			run_pos = pos;
		run_len += min_t(size_t, s->length, end - pos);
		pos += s->length;
	}
	if (run_len)
		iommu_unmap_fast(dd->domain, iova + run_pos, run_len, &gather);
	iommu_iotlb_sync(dd->domain, &gather);
}

/* Gives a list whose mapping failed its caller's offsets and lengths back. */
static void xiova_dma_sg_restore(struct scatterlist *sg, int nents)
{
	struct scatterlist *s;
	int i;

	for_each_sg(sg, s, nents, i) {
		s->offset += sg_dma_address(s);
		s->length = sg_dma_len(s);
		sg_dma_address(s) = DMA_MAPPING_ERROR;
		sg_dma_len(s) = 0;
	}
}

/*
 * Maps the entries, granule-aligned by map_sg, at their places in the
 * list's range of @total bytes at @iova. Entries that follow each other
 * both in memory and in the range, no padding between them, are mapped
 * as one, as __iommu_map_sg() merges them: fewer, larger mappings (one
 * request each for virtio-iommu). The device cannot use the mappings
 * before map_sg returns, so one iotlb_sync_map for the whole range does
 * what one per entry did: a write-buffer flush, or an invalidation
 * (intel-iommu's caching mode, AMD's non-present cache) that the unmapped
 * padding between runs does not mind. On failure, whatever was mapped is
 * unmapped and the IOTLB synced.
 */
static int xiova_dma_sg_map(struct xiova_dma_dev *dd, struct scatterlist *sg,
			    int nents, dma_addr_t iova, size_t total,
			    unsigned long mask, int prot)
{
	struct iommu_domain *domain = dd->domain;
	size_t pos = 0, run_pos = 0, run_len = 0, mapped;
	phys_addr_t run_phys = 0;
	struct scatterlist *s;
	int i, ret;

	for_each_sg(sg, s, nents, i) {
		pos += xiova_dma_sg_pad(pos, s->length, mask);
		if (!s->length)
			continue;
		if (run_len && (pos != run_pos + run_len ||
				sg_phys(s) != run_phys + run_len)) {
			ret = xiova_dma_map_pages(domain, iova + run_pos, run_phys,
						  run_len, prot, &mapped);
			if (ret)
				goto unwind;
			run_len = 0;
		}
		if (!run_len) {
			run_pos = pos;
			run_phys = sg_phys(s);
		}
		run_len += s->length;
		pos += s->length;
	}
	if (run_len) {
		ret = xiova_dma_map_pages(domain, iova + run_pos, run_phys, run_len,
					  prot, &mapped);
		if (ret)
			goto unwind;
	}
	/* intel-iommu's caching mode has no invalidation of 0 pages. */
	if (total && domain->ops->iotlb_sync_map)
		domain->ops->iotlb_sync_map(domain, iova, total);
	return 0;
unwind:
	xiova_dma_sg_unwind(dd, sg, nents, iova, mask, run_pos + mapped);
	return ret;
}

/*
 * Gives each entry its offset and length back and writes the DMA segments
 * at the front of the list, merging an entry into the segment before it as
 * dma-iommu's __finalise_sg() does: when it starts on a granule, no padding
 * (so no segment boundary) comes before it, the entry before it filled its
 * last granule, and the segment stays within the device's maximum. An
 * empty entry adds nothing and starts no segment, so the first empty
 * segment ends the list for unmap_sg. Returns the number of segments.
 */
static int xiova_dma_sg_finalise(struct device *dev, struct scatterlist *sg,
				 int nents, dma_addr_t iova, unsigned long mask)
{
	unsigned int max_len = dma_get_max_seg_size(dev), cur_len = 0;
	struct scatterlist *s, *cur = sg;
	int i, count = 0;
	size_t pos = 0;

	for_each_sg(sg, s, nents, i) {
		unsigned int off = sg_dma_address(s);
		unsigned int len = sg_dma_len(s);
		size_t span = s->length;

		pos += xiova_dma_sg_pad(pos, span, mask);
		sg_dma_address(s) = DMA_MAPPING_ERROR;
		sg_dma_len(s) = 0;
		s->offset += off;
		s->length = len;
		if (!len)
			continue;
		if (cur_len && !off && ((iova + pos) & mask) &&
		    max_len - cur_len >= len) {
			cur_len += len;
		} else {
			if (count)
				cur = sg_next(cur);
			cur_len = len;
			count++;
			sg_dma_address(cur) = iova + pos + off;
		}
		sg_dma_len(cur) = cur_len;
		pos += span;
		if (len + off < span)
			cur_len = 0;
	}
	return count;
}

static int __xiova_dma_map_sg(struct xiova_dma_dev *dd, struct device *dev,
			      struct scatterlist *sg, int nents,
			      enum dma_data_direction dir, unsigned long attrs)
{
	unsigned long mask = dma_get_seg_boundary(dev);
	int prot = xiova_dma_prot(dev, dir, attrs);
	struct scatterlist *s;
	size_t total = 0, bytes = 0;
	dma_addr_t iova;
	int i, ret = -ENOMEM;

	/*
	 * Each entry becomes granule-aligned, its offset into the granule and
	 * its length stashed in its DMA fields until the IOVA is known.
	 */
	for_each_sg(sg, s, nents, i) {
		size_t off = xiova_offset(&dd->iovad, s->offset);

		if (is_pci_p2pdma_page(sg_page(s))) {
			nents = i;
			ret = -EREMOTEIO;
			goto restore;
		}
		sg_dma_address(s) = off;
		sg_dma_len(s) = s->length;
		bytes += s->length;
		s->offset -= off;
		/* An empty entry takes no IOVA, so it has nothing to unmap. */
		if (s->length)
			s->length = xiova_align(&dd->iovad, s->length + off);
		total += xiova_dma_sg_pad(total, s->length, mask) + s->length;
	}

	iova = xiova_dma_alloc_iova(dd, dev, total, dma_get_mask(dev));
	if (!iova)
		goto restore;
	if (xiova_dma_sg_map(dd, sg, nents, iova, total, mask, prot)) {
		xiova_free_fast(&dd->iovad, xiova_pfn(&dd->iovad, iova),
				total >> xiova_shift(&dd->iovad));
		iova = 0;
	}
	if (iova) {
		nents = xiova_dma_sg_finalise(dev, sg, nents, iova, mask);
		this_cpu_add(dd->stats->maps, 1);
		this_cpu_add(dd->stats->map_bytes, bytes);
		trace_map(dd, sg_dma_address(sg), bytes, sg_phys(sg), prot);
		return nents;
	}
restore:
	this_cpu_add(dd->stats->map_errors, 1);
	xiova_dma_sg_restore(sg, nents);
	return ret;
}

static int xiova_dma_map_sg(struct device *dev, struct scatterlist *sg, int nents,
			    enum dma_data_direction dir, unsigned long attrs)
{
	struct xiova_dma_dev *dd;
	int ret = -EINVAL;

	xiova_dma_read_lock();
	dd = xiova_dma_lookup(dev);
	if (!WARN_ON_ONCE(!dd))
		ret = __xiova_dma_map_sg(dd, dev, sg, nents, dir, attrs);
	xiova_dma_read_unlock();
	return ret;
}

/*
 * One unmap per run of entries with no padding between them, which is the
 * whole list unless a segment boundary padded it: the padding was never
 * mapped, and IOMMU drivers that count what they unmap (virtio, AMD) stop
 * at a hole. Never less than a run either: map_sg may have mapped a run
 * as one virtio-iommu mapping, which cannot be unmapped piecewise. The
 * IOVA is then freed, or queued, as one range.
 */
static void __xiova_dma_unmap_sg(struct xiova_dma_dev *dd, struct scatterlist *sg,
				 int nents)
{
	struct xiova_domain *iovad = &dd->iovad;
	dma_addr_t start = sg_dma_address(sg) - xiova_offset(iovad, sg_dma_address(sg));
	/* Inclusive: a range may end at the very top of a 64-bit aperture. */
	dma_addr_t last = start;
	size_t run_pos = 0, run_len = 0, bytes = 0;
	struct iommu_iotlb_gather gather;
	struct xiova_dma_fq *fq;
	struct scatterlist *s;
	bool ok = true;
	int i;

	iommu_iotlb_gather_init(&gather);
	fq = READ_ONCE(dd->fq);
	gather.queued = fq;
	for_each_sg(sg, s, nents, i) {
		size_t off, len, pos;

		/* The segments are at the front; the first empty one ends them. */
		if (!sg_dma_len(s))
			break;
		off = xiova_offset(iovad, sg_dma_address(s));
		len = xiova_align(iovad, sg_dma_len(s) + off);
		/* Offsets into the range: unlike addresses, they cannot wrap. */
		pos = sg_dma_address(s) - off - start;
		bytes += sg_dma_len(s);
		if (run_len && pos != run_pos + run_len) {
			ok &= xiova_dma_unmap_piece(dd, &gather, start + run_pos, run_len);
			run_len = 0;
		}
		if (!run_len)
			run_pos = pos;
		run_len += len;
		last = max_t(dma_addr_t, last, sg_dma_address(s) - off + len - 1);
	}
	if (run_len)
		ok &= xiova_dma_unmap_piece(dd, &gather, start + run_pos, run_len);
	this_cpu_add(dd->stats->unmap_bytes, bytes);
	trace_unmap(dd, sg_dma_address(sg), bytes, fq);
	if (ok)
		xiova_dma_unmap_done(dd, fq, &gather, start, last - start + 1);
	else
		xiova_dma_unmap_failed(dd, &gather);
}

static void xiova_dma_unmap_sg(struct device *dev, struct scatterlist *sg, int nents,
			       enum dma_data_direction dir, unsigned long attrs)
{
	struct xiova_dma_dev *dd;

	xiova_dma_read_lock();
	dd = xiova_dma_lookup(dev);
	if (!WARN_ON_ONCE(!dd))
		__xiova_dma_unmap_sg(dd, sg, nents);
	xiova_dma_read_unlock();
}

/* Zeroed, physically contiguous pages mapped for the device, or NULL. */
static struct page *__xiova_dma_alloc(struct device *dev, size_t size,
				      dma_addr_t *handle, int prot, gfp_t gfp)
{
	unsigned int order = get_order(size);
	struct page *page;

	/*
	 * The IOMMU reaches all of memory: zone modifiers would only limit
	 * us. The pages come first, outside the read section, since @gfp may
	 * sleep. A large block often is not there: that is an answer, not a
	 * warning.
	 */
	gfp &= ~(__GFP_DMA | __GFP_DMA32 | __GFP_HIGHMEM);
	if (order > PAGE_ALLOC_COSTLY_ORDER)
		gfp |= __GFP_NOWARN;
	page = alloc_pages_node(dev_to_node(dev), gfp | __GFP_ZERO, order);
	if (!page)
		return NULL;
	*handle = xiova_dma_map_phys(dev, page_to_phys(page), PAGE_SIZE << order,
				     prot, dev->coherent_dma_mask);
	if (*handle == DMA_MAPPING_ERROR) {
		__free_pages(page, order);
		return NULL;
	}
	return page;
}

static void __xiova_dma_free(struct device *dev, size_t size, struct page *page,
			     dma_addr_t handle)
{
	unsigned int order = get_order(size);

	xiova_dma_unmap(dev, handle, PAGE_SIZE << order);
	__free_pages(page, order);
}

/* The largest block a remapped buffer is built of: 2 MiB, a huge page. */
#define XIOVA_DMA_REMAP_ORDER_MAX	(21 - PAGE_SHIFT)

/*
 * @count zeroed pages, in blocks of the largest orders that @order_mask
 * allows and the allocator has at once, split into single pages: the
 * way dma-iommu builds a coherent buffer, which needs no large block of
 * physical memory and rounds only to pages.
 */
static struct page **xiova_dma_alloc_page_array(struct device *dev,
						unsigned int count,
						unsigned long order_mask,
						gfp_t gfp)
{
	struct page **pages = kvcalloc(count, sizeof(*pages), GFP_KERNEL);
	unsigned int i = 0, n;

	if (!pages)
		return NULL;
	gfp |= __GFP_NOWARN | __GFP_ZERO;
	while (i < count) {
		struct page *page = NULL;
		unsigned long orders = order_mask & GENMASK(__fls(count - i), 0);
		unsigned int order = 0;

		for (; orders; orders &= ~BIT(order)) {
			order = __fls(orders);
			/* Only the last order tried may make the allocator work hard. */
			page = alloc_pages_node(dev_to_node(dev),
						orders & ~BIT(order) ?
						gfp | __GFP_NORETRY : gfp, order);
			if (page)
				break;
		}
		if (!page)
			goto fail;
		if (order)
			split_page(page, order);
		for (n = 0; n < BIT(order); n++)
			pages[i++] = page++;
	}
	return pages;
fail:
	while (i--)
		__free_page(pages[i]);
	kvfree(pages);
	return NULL;
}

/*
 * Maps @pages at one IOVA range, runs of physically contiguous pages as
 * one mapping each, then syncs once. DMA_MAPPING_ERROR if anything fails.
 */
static dma_addr_t xiova_dma_map_page_array(struct xiova_dma_dev *dd,
					   struct device *dev,
					   struct page **pages,
					   unsigned int count, int prot)
{
	size_t size = (size_t)count << PAGE_SHIFT, mapped = 0, done, run;
	struct iommu_iotlb_gather gather;
	unsigned int i, j;
	dma_addr_t iova;

	iova = xiova_dma_alloc_iova(dd, dev, size, dev->coherent_dma_mask);
	if (!iova)
		goto fail;
	for (i = 0; i < count; i = j) {
		for (j = i + 1; j < count &&
		     page_to_pfn(pages[j]) == page_to_pfn(pages[i]) + (j - i); j++)
			;
		run = (size_t)(j - i) << PAGE_SHIFT;
		if (xiova_dma_map_pages(dd->domain, iova + mapped,
					page_to_phys(pages[i]), run, prot, &done)) {
			mapped += done;
			goto unmap;
		}
		mapped += run;
	}
	if (dd->domain->ops->iotlb_sync_map)
		dd->domain->ops->iotlb_sync_map(dd->domain, iova, size);
	this_cpu_add(dd->stats->maps, 1);
	this_cpu_add(dd->stats->map_bytes, size);
	trace_map(dd, iova, size, page_to_phys(pages[0]), prot);
	return iova;
unmap:
	iommu_iotlb_gather_init(&gather);
	if (mapped)
		iommu_unmap_fast(dd->domain, iova, mapped, &gather);
	iommu_iotlb_sync(dd->domain, &gather);
	xiova_free_fast(&dd->iovad, xiova_pfn(&dd->iovad, iova),
			size >> xiova_shift(&dd->iovad));
fail:
	this_cpu_add(dd->stats->map_errors, 1);
	return DMA_MAPPING_ERROR;
}

/* A coherent buffer of scattered pages, mapped and vmapped, or NULL. */
static void *xiova_dma_alloc_remap(struct device *dev, size_t size,
				   dma_addr_t *handle, int prot, gfp_t gfp)
{
	unsigned int count = PAGE_ALIGN(size) >> PAGE_SHIFT;
	unsigned long order_mask = 0;
	struct xiova_dma_dev *dd;
	struct page **pages;
	void *vaddr = NULL;

	xiova_dma_read_lock();
	dd = xiova_dma_lookup(dev);
	if (!WARN_ON_ONCE(!dd))
		order_mask = dd->domain->pgsize_bitmap >> PAGE_SHIFT;
	xiova_dma_read_unlock();
	if (!order_mask)
		return NULL;
	order_mask = (order_mask & GENMASK(XIOVA_DMA_REMAP_ORDER_MAX, 0)) | 1;

	gfp &= ~(__GFP_DMA | __GFP_DMA32 | __GFP_HIGHMEM);
	pages = xiova_dma_alloc_page_array(dev, count, order_mask, gfp);
	if (!pages)
		return NULL;
	xiova_dma_read_lock();
	dd = xiova_dma_lookup(dev);
	*handle = dd ? xiova_dma_map_page_array(dd, dev, pages, count, prot) :
		       DMA_MAPPING_ERROR;
	xiova_dma_read_unlock();
	if (*handle != DMA_MAPPING_ERROR) {
		vaddr = vmap(pages, count, VM_MAP, PAGE_KERNEL);
		if (!vaddr)
			xiova_dma_unmap(dev, *handle, (size_t)count << PAGE_SHIFT);
	}
	if (!vaddr)
		while (count--)
			__free_page(pages[count]);
	kvfree(pages);
	return vaddr;
}

static void xiova_dma_free_remap(struct device *dev, size_t size,
				 void *cpu_addr, dma_addr_t handle)
{
	unsigned int i, count = PAGE_ALIGN(size) >> PAGE_SHIFT;

	xiova_dma_unmap(dev, handle, (size_t)count << PAGE_SHIFT);
	for (i = 0; i < count; i++)
		__free_page(vmalloc_to_page(cpu_addr + ((size_t)i << PAGE_SHIFT)));
	vunmap(cpu_addr);
}

/*
 * Coherent buffers larger than a page are remapped when the caller may
 * sleep (vmap() does), as dma-iommu does, unless they must be physically
 * contiguous; CMA is not reachable from a module (dma_alloc_contiguous()
 * is not exported), so those come from the page allocator.
 */
static void *xiova_dma_alloc(struct device *dev, size_t size, dma_addr_t *handle,
			     gfp_t gfp, unsigned long attrs)
{
	int prot = xiova_dma_prot(dev, DMA_BIDIRECTIONAL, attrs);
	struct page *page;

	if (size > PAGE_SIZE && gfpflags_allow_blocking(gfp) &&
	    !(attrs & DMA_ATTR_FORCE_CONTIGUOUS))
		return xiova_dma_alloc_remap(dev, size, handle, prot, gfp);
	page = __xiova_dma_alloc(dev, size, handle, prot, gfp);
	return page ? page_address(page) : NULL;
}

static void xiova_dma_free(struct device *dev, size_t size, void *cpu_addr,
			   dma_addr_t handle, unsigned long attrs)
{
	if (is_vmalloc_addr(cpu_addr))
		xiova_dma_free_remap(dev, size, cpu_addr, handle);
	else
		__xiova_dma_free(dev, size, virt_to_page(cpu_addr), handle);
}

static struct page *xiova_dma_alloc_pages(struct device *dev, size_t size,
					  dma_addr_t *handle,
					  enum dma_data_direction dir, gfp_t gfp)
{
	return __xiova_dma_alloc(dev, size, handle, xiova_dma_prot(dev, dir, 0), gfp);
}

static void xiova_dma_free_pages(struct device *dev, size_t size, struct page *page,
				 dma_addr_t handle, enum dma_data_direction dir)
{
	__xiova_dma_free(dev, size, page, handle);
}

static int xiova_dma_mmap(struct device *dev, struct vm_area_struct *vma,
			  void *cpu_addr, dma_addr_t dma_addr, size_t size,
			  unsigned long attrs)
{
	unsigned long nr_pages = PAGE_ALIGN(size) >> PAGE_SHIFT;
	unsigned long i, pfn;
	int ret;

	if (vma->vm_pgoff >= nr_pages || vma_pages(vma) > nr_pages - vma->vm_pgoff)
		return -ENXIO;
	if (!is_vmalloc_addr(cpu_addr)) {
		pfn = page_to_pfn(virt_to_page(cpu_addr));
		return remap_pfn_range(vma, vma->vm_start, pfn + vma->vm_pgoff,
				       vma->vm_end - vma->vm_start,
				       vma->vm_page_prot);
	}
	for (i = 0; i < vma_pages(vma); i++) {
		ret = vm_insert_page(vma, vma->vm_start + (i << PAGE_SHIFT),
				     vmalloc_to_page(cpu_addr +
						     ((vma->vm_pgoff + i) << PAGE_SHIFT)));
		if (ret)
			return ret;
	}
	return 0;
}

static int xiova_dma_get_sgtable(struct device *dev, struct sg_table *sgt,
				 void *cpu_addr, dma_addr_t dma_addr, size_t size,
				 unsigned long attrs)
{
	unsigned int i, count = PAGE_ALIGN(size) >> PAGE_SHIFT;
	struct page **pages;
	int ret;

	if (!is_vmalloc_addr(cpu_addr)) {
		ret = sg_alloc_table(sgt, 1, GFP_KERNEL);
		if (!ret)
			sg_set_page(sgt->sgl, virt_to_page(cpu_addr),
				    PAGE_ALIGN(size), 0);
		return ret;
	}
	pages = kvmalloc_array(count, sizeof(*pages), GFP_KERNEL);
	if (!pages)
		return -ENOMEM;
	for (i = 0; i < count; i++)
		pages[i] = vmalloc_to_page(cpu_addr + ((size_t)i << PAGE_SHIFT));
	ret = sg_alloc_table_from_pages(sgt, pages, count, 0, size, GFP_KERNEL);
	kvfree(pages);
	return ret;
}

static void xiova_dma_count_sync(struct device *dev)
{
	struct xiova_dma_dev *dd;

	xiova_dma_read_lock();
	dd = xiova_dma_lookup(dev);
	if (dd)
		this_cpu_add(dd->stats->syncs, 1);
	xiova_dma_read_unlock();
}

static void xiova_dma_sync_single(struct device *dev, dma_addr_t dma_handle,
				  size_t size, enum dma_data_direction dir)
{
	xiova_dma_count_sync(dev);
}

static void xiova_dma_sync_sg(struct device *dev, struct scatterlist *sg,
			      int nents, enum dma_data_direction dir)
{
	xiova_dma_count_sync(dev);
}

/* Mappings up to this size are served from the magazines. */
static size_t xiova_dma_opt_mapping_size(void)
{
	return xiova_rcache_range();
}

const struct dma_map_ops xiova_dma_ops = {
	.alloc			= xiova_dma_alloc,
	.free			= xiova_dma_free,
	.XIOVA_DMA_OPS_ALLOC_PAGES = xiova_dma_alloc_pages,
	.free_pages		= xiova_dma_free_pages,
	.mmap			= xiova_dma_mmap,
	.get_sgtable		= xiova_dma_get_sgtable,
	.map_page		= xiova_dma_map_page,
	.unmap_page		= xiova_dma_unmap_page,
	.map_sg			= xiova_dma_map_sg,
	.unmap_sg		= xiova_dma_unmap_sg,
	.map_resource		= xiova_dma_map_resource,
	.unmap_resource		= xiova_dma_unmap_page,
	.sync_single_for_cpu	= xiova_dma_sync_single,
	.sync_single_for_device	= xiova_dma_sync_single,
	.sync_sg_for_cpu	= xiova_dma_sync_sg,
	.sync_sg_for_device	= xiova_dma_sync_sg,
	.opt_mapping_size	= xiova_dma_opt_mapping_size,
};
