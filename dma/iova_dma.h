/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * xiova_dma: DMA operations for one PCI device at a time whose IOVAs come
 * from xiova, mapped through the IOMMU API into a domain the shim owns.
 * Internal to xiova_dma.ko.
 */
#ifndef _XIOVA_DMA_H_
#define _XIOVA_DMA_H_

#include <linux/atomic.h>
#include <linux/dma-map-ops.h>
#include <linux/iommu.h>
#include <linux/list.h>
#include <linux/pci.h>
#include <linux/percpu.h>
#include <linux/rculist.h>
#include <linux/spinlock.h>
#include <linux/timer.h>

#include "iova.h"
#include "iova_compat.h"

struct pci_dev;
struct seq_file;

/**
 * enum xiova_dma_type - how unmapped IOVAs are invalidated and freed
 * @XIOVA_DMA_STRICT:	"DMA": the IOTLB is synced before the IOVA is freed
 * @XIOVA_DMA_FQ:	"DMA-FQ": lazy, one flush queue per CPU
 * @XIOVA_DMA_SQ:	"DMA-SQ": lazy, one flush queue for the whole device
 * @XIOVA_DMA_NR_TYPES:	number of types
 */
enum xiova_dma_type {
	XIOVA_DMA_STRICT,
	XIOVA_DMA_FQ,
	XIOVA_DMA_SQ,
	XIOVA_DMA_NR_TYPES,
};

/* "dddd:bb:ss.f" and its NUL. */
#define XIOVA_DMA_BDF_LEN		13

/* Geometry of the two lazy modes, as dma-iommu and its single-queue mode. */
#define XIOVA_DMA_FQ_SIZE		256
#define XIOVA_DMA_FQ_TIMEOUT_MS		10
#define XIOVA_DMA_SQ_SIZE		32768
#define XIOVA_DMA_SQ_TIMEOUT_MS		1000
/* The rings index with a mask. */
static_assert(!(XIOVA_DMA_FQ_SIZE & (XIOVA_DMA_FQ_SIZE - 1)) &&
	      !(XIOVA_DMA_SQ_SIZE & (XIOVA_DMA_SQ_SIZE - 1)));

/**
 * struct xiova_dma_stats - per-CPU counters of an attached device
 * @maps:		successful mappings (page, resource, coherent, sg list)
 * @unmaps:		unmappings
 * @map_bytes:		bytes mapped (as the caller asked, before alignment)
 * @unmap_bytes:	bytes unmapped
 * @map_errors:		mappings refused (no IOVA, IOMMU mapping failed)
 * @bad_unmaps:		unmaps of handles that were not (wholly) mapped:
 *			refused, or counted in @unmaps with the IOVA kept
 *			out of reuse
 * @syncs:		sync_single/sync_sg calls
 * @iotlb_syncs:	IOTLB syncs of strict unmaps
 * @fq_queued:		IOVAs put on a flush queue
 * @fq_full_flushes:	flushes forced by a full queue
 */
struct xiova_dma_stats {
	u64 maps;
	u64 unmaps;
	u64 map_bytes;
	u64 unmap_bytes;
	u64 map_errors;
	u64 bad_unmaps;
	u64 syncs;
	u64 iotlb_syncs;
	u64 fq_queued;
	u64 fq_full_flushes;
};

/**
 * struct xiova_dma_fq_entry - an unmapped IOVA waiting for an IOTLB flush
 * @pfn:	first pfn of the range
 * @pages:	its size in granules
 * @counter:	flush count when it was queued; freed once a flush that
 *		started later has finished
 * @freelist:	page-table pages released by the unmap, freed with it
 */
struct xiova_dma_fq_entry {
	unsigned long		pfn;
	unsigned long		pages;
	u64			counter;
	struct list_head	freelist;
};

/**
 * struct xiova_dma_fq_ring - one flush queue
 * @lock:	protects the ring
 * @head:	oldest entry
 * @tail:	next free slot; the ring is empty when it equals @head
 * @mask:	number of slots, a power of two, less one; one slot is
 *		always left free. A mask, not a modulo: a division on every
 *		queued unmap showed in its cost
 * @entries:	the slots
 */
struct xiova_dma_fq_ring {
	spinlock_t			lock; /* see above */
	unsigned int			head;
	unsigned int			tail;
	unsigned int			mask;
	struct xiova_dma_fq_entry	entries[];
};

struct xiova_dma_dev;

/**
 * struct xiova_dma_fq - the flush queues of a lazy device
 * @dd:			the device
 * @type:		XIOVA_DMA_FQ (a ring per possible CPU) or XIOVA_DMA_SQ
 *			(one ring)
 * @nr_rings:		number of rings
 * @rings:		the rings, indexed by CPU for XIOVA_DMA_FQ
 * @timeout_ms:		flush timer period
 * @timeout:		the same in jiffies (rounded up)
 * @timer:		flushes the IOTLB and frees what was queued before
 * @timer_on:		the timer is armed
 * @flush_start:	IOTLB flushes started
 * @flush_finish:	IOTLB flushes finished
 * @timeouts:		times @timer fired
 */
struct xiova_dma_fq {
	struct xiova_dma_dev		*dd;
	enum xiova_dma_type		type;
	unsigned int			nr_rings;
	struct xiova_dma_fq_ring	**rings;
	unsigned int			timeout_ms;
	unsigned long			timeout;
	struct timer_list		timer;
	atomic_t			timer_on;
	atomic64_t			flush_start;
	atomic64_t			flush_finish;
	atomic64_t			timeouts;
};

/**
 * struct xiova_dma_dev - a PCI device whose DMA goes through xiova
 * @pdev:		the device (a reference is held)
 * @group:		its IOMMU group (a reference is held)
 * @domain:		the unmanaged IOMMU domain the group is attached to
 * @iovad:		the IOVA space of @domain
 * @old_ops:		the device's DMA operations before attach
 * @old_dma_iommu:	whether the DMA core called iommu-dma directly for
 *			the device before attach (xiova_dev_clear_dma_iommu())
 * @type:		current type; written before the flush queue it
 *			implies is set up
 * @fq:			flush queues while @type is lazy, else NULL
 * @stats:		per-CPU counters
 * @fq_flushes:		IOTLB flushes done by flush queues of earlier types
 * @fq_timeouts:	flush timer expiries of earlier types
 * @debugfs:		the device's debugfs directory
 * @list:		link in the list of attached devices
 */
struct xiova_dma_dev {
	struct pci_dev			*pdev;
	struct iommu_group		*group;
	struct iommu_domain		*domain;
	struct xiova_domain		iovad;
	const struct dma_map_ops	*old_ops;
	bool				old_dma_iommu;
	enum xiova_dma_type		type;
	struct xiova_dma_fq		*fq;
	struct xiova_dma_stats __percpu	*stats;
	u64				fq_flushes;
	u64				fq_timeouts;
	struct dentry			*debugfs;
	struct list_head		list;
	/* Its group left the domain (6.12's type attribute): ops restored. */
	bool				evicted;
};

/* iova_dma.c: attach, detach, type changes */
extern const char * const xiova_dma_type_names[XIOVA_DMA_NR_TYPES];
extern struct list_head xiova_dma_devs;

/**
 * xiova_dma_read_lock() - start a read section of the attached devices
 *
 * The DMA operations run in any context and never sleep, so preemption
 * off makes them RCU readers: synchronize_rcu() waits for such sections
 * as for rcu_read_lock() ones. With preemptible RCU (Debian's kernels),
 * rcu_read_lock() and rcu_read_unlock() are calls, and two calls on every
 * map and unmap cost more than the lookup itself. PREEMPT_RT keeps
 * rcu_read_lock(): its spinlocks sleep.
 */
static __always_inline void xiova_dma_read_lock(void)
{
	if (IS_ENABLED(CONFIG_PREEMPT_RT))
		rcu_read_lock();
	else
		rcu_read_lock_sched();
}

/**
 * xiova_dma_read_unlock() - end a section started by xiova_dma_read_lock()
 */
static __always_inline void xiova_dma_read_unlock(void)
{
	if (IS_ENABLED(CONFIG_PREEMPT_RT))
		rcu_read_unlock();
	else
		rcu_read_unlock_sched();
}

/**
 * xiova_dma_lookup() - the attached-device state of @dev
 * @dev: a device whose DMA operations are xiova_dma_ops
 *
 * Called from the DMA operations, in any context, inside a read section
 * (xiova_dma_read_lock()) that covers every use of the result: detach
 * frees the state only after a grace period. Inline: it is on every map
 * and unmap.
 *
 * Return: the state, or NULL if @dev is not attached.
 */
static inline struct xiova_dma_dev *xiova_dma_lookup(struct device *dev)
{
	struct xiova_dma_dev *dd;

	list_for_each_entry_rcu(dd, &xiova_dma_devs, list)
		if (&dd->pdev->dev == dev)
			return dd;
	return NULL;
}

/**
 * struct xiova_dma_hooks - the interface's part in an attached device's life
 * @added: the device is attached and in the list; called under the attach
 *	lock, so that no detach runs before it returns
 * @removing: the device is about to be freed; must wait for every file
 *	operation still running on it
 *
 * Set by the module's entry (iova_dma_main.c), so that the attach code
 * does not depend on the interface that calls it.
 */
struct xiova_dma_hooks {
	void	(*added)(struct xiova_dma_dev *dd);
	void	(*removing)(struct xiova_dma_dev *dd);
};

int xiova_dma_core_init(const struct xiova_dma_hooks *hooks);
void xiova_dma_core_exit(void);
int xiova_dma_attach(const char *bdf, enum xiova_dma_type type);
int xiova_dma_detach(const char *bdf);
int xiova_dma_set_type(struct xiova_dma_dev *dd, enum xiova_dma_type type);
void xiova_dma_sum_stats(struct xiova_dma_dev *dd, struct xiova_dma_stats *sum);
int xiova_dma_devices_show(struct seq_file *m, void *unused);

/* iova_dma_ops.c */
extern const struct dma_map_ops xiova_dma_ops;

/* iova_dma_fq.c */
void xiova_dma_flush_all(struct iommu_domain *domain);
struct xiova_dma_fq *xiova_dma_fq_create(struct xiova_dma_dev *dd,
					 enum xiova_dma_type type);
void xiova_dma_fq_destroy(struct xiova_dma_fq *fq);
void xiova_dma_fq_reclaim(struct xiova_dma_fq *fq);
void xiova_dma_fq_queue(struct xiova_dma_fq *fq, unsigned long pfn,
			unsigned long pages, struct list_head *freelist);

/* iova_dma_debugfs.c */
int xiova_dma_debugfs_init(void);
void xiova_dma_debugfs_exit(void);
void xiova_dma_debugfs_add(struct xiova_dma_dev *dd);
void xiova_dma_debugfs_remove(struct xiova_dma_dev *dd);

#endif /* _XIOVA_DMA_H_ */
