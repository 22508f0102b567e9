/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * xiova_dma tracepoints, system "xiova_dma" (Documentation/usage.rst lists
 * every event and field).
 *
 * map and unmap show the device's view: the address and length the driver
 * got and gave back, the same pair in both, so that each unmap can be
 * matched with its map. The allocator's own events (system "xiova") show
 * the granule-aligned ranges behind them.
 *
 * As in iova_trace.h, the fields are worked out in TP_fast_assign(): a
 * disabled event costs its static branch only.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM xiova_dma

#if !defined(_XIOVA_DMA_TRACE_H_) || defined(TRACE_HEADER_MULTI_READ)
#define _XIOVA_DMA_TRACE_H_

#include <linux/iommu.h>
#include <linux/pci.h>
#include <linux/tracepoint.h>

#include "iova_dma.h"

#ifndef _XIOVA_DMA_TRACE_ENUMS_ONCE_
#define _XIOVA_DMA_TRACE_ENUMS_ONCE_

/* Why a flush queue flushed the IOTLB. */
enum xiova_dma_flush_reason {
	XIOVA_DMA_FLUSH_FULL,		/* a queue had no free slot */
	XIOVA_DMA_FLUSH_TIMER,		/* the queue's timer fired */
	XIOVA_DMA_FLUSH_TEARDOWN,	/* type change or detach */
	XIOVA_DMA_FLUSH_RECLAIM,	/* an IOVA allocation failed */
};

#endif /* _XIOVA_DMA_TRACE_ENUMS_ONCE_ */

TRACE_DEFINE_ENUM(XIOVA_DMA_STRICT);
TRACE_DEFINE_ENUM(XIOVA_DMA_FQ);
TRACE_DEFINE_ENUM(XIOVA_DMA_SQ);
TRACE_DEFINE_ENUM(XIOVA_DMA_FLUSH_FULL);
TRACE_DEFINE_ENUM(XIOVA_DMA_FLUSH_TIMER);
TRACE_DEFINE_ENUM(XIOVA_DMA_FLUSH_TEARDOWN);
TRACE_DEFINE_ENUM(XIOVA_DMA_FLUSH_RECLAIM);

TRACE_EVENT(map,
	    TP_PROTO(struct xiova_dma_dev *dd, dma_addr_t iova, size_t size,
		     phys_addr_t phys, int prot),
	    TP_ARGS(dd, iova, size, phys, prot),
	    TP_STRUCT__entry(__string(dev, pci_name(dd->pdev))
			     __field(u64, iova)
			     __field(u64, size)
			     __field(u64, phys)
			     __field(int, prot)),
	    TP_fast_assign(xiova_assign_str(dev, pci_name(dd->pdev));
			   __entry->iova = iova;
			   __entry->size = size;
			   __entry->phys = phys;
			   __entry->prot = prot;
	    ),
	    TP_printk("dev=%s iova=%#llx size=%llu phys=%#llx prot=%s",
		      __get_str(dev), __entry->iova, __entry->size, __entry->phys,
		      __print_flags(__entry->prot, "|",
				    { IOMMU_READ, "R" },
				    { IOMMU_WRITE, "W" },
				    { IOMMU_CACHE, "CACHE" },
				    { IOMMU_MMIO, "MMIO" },
				    { IOMMU_PRIV, "PRIV" }))
);

/* Traced before the IOVA can be freed and handed out again. */
TRACE_EVENT(unmap,
	    TP_PROTO(struct xiova_dma_dev *dd, dma_addr_t iova, size_t size,
		     bool queued),
	    TP_ARGS(dd, iova, size, queued),
	    TP_STRUCT__entry(__string(dev, pci_name(dd->pdev))
			     __field(u64, iova)
			     __field(u64, size)
			     __field(bool, queued)),
	    TP_fast_assign(xiova_assign_str(dev, pci_name(dd->pdev));
			   __entry->iova = iova;
			   __entry->size = size;
			   __entry->queued = queued;
	    ),
	    TP_printk("dev=%s iova=%#llx size=%llu queued=%d", __get_str(dev),
		      __entry->iova, __entry->size, __entry->queued)
);

TRACE_EVENT(fq_flush,
	    TP_PROTO(struct xiova_dma_fq *fq, int reason, unsigned int freed),
	    TP_ARGS(fq, reason, freed),
	    TP_STRUCT__entry(__string(dev, pci_name(fq->dd->pdev))
			     __field(int, type)
			     __field(int, reason)
			     __field(unsigned int, freed)),
	    TP_fast_assign(xiova_assign_str(dev, pci_name(fq->dd->pdev));
			   __entry->type = fq->type;
			   __entry->reason = reason;
			   __entry->freed = freed;
	    ),
	    TP_printk("dev=%s type=%s reason=%s freed=%u", __get_str(dev),
		      __print_symbolic(__entry->type,
				       { XIOVA_DMA_STRICT, "DMA" },
				       { XIOVA_DMA_FQ, "DMA-FQ" },
				       { XIOVA_DMA_SQ, "DMA-SQ" }),
		      __print_symbolic(__entry->reason,
				       { XIOVA_DMA_FLUSH_FULL, "full" },
				       { XIOVA_DMA_FLUSH_TIMER, "timer" },
				       { XIOVA_DMA_FLUSH_TEARDOWN, "teardown" },
				       { XIOVA_DMA_FLUSH_RECLAIM, "reclaim" }),
		      __entry->freed)
);

#endif /* _XIOVA_DMA_TRACE_H_ */

/* Out of tree: define_trace.h finds this file through -I$(src) in Kbuild. */
#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE iova_dma_trace
#include <trace/define_trace.h>
