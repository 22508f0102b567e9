// SPDX-License-Identifier: GPL-2.0-only
/*
 * xiova_dma: flush queues of the lazy types.
 *
 * A lazy unmap leaves the IOTLB alone and queues the IOVA; it is freed
 * once a flush of the whole IOTLB that started after it was queued has
 * finished. Flushes happen when a queue is full and on a timer. DMA-FQ
 * keeps a small ring per CPU with a short timer, as dma-iommu on 6.1;
 * DMA-SQ one large ring with a long timer, for IOMMUs whose flushes are
 * expensive enough that batching them matters more than queue contention.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/iommu.h>
#include <linux/mm.h>
#include <linux/slab.h>

#include "iova_dma.h"
#include "iova_dma_trace.h"

static bool xiova_dma_fq_ring_full(struct xiova_dma_fq_ring *ring)
{
	return ((ring->tail + 1) & ring->mask) == ring->head;
}

static void xiova_dma_fq_free_entry(struct xiova_dma_fq *fq,
				    struct xiova_dma_fq_entry *e)
{
	put_pages_list(&e->freelist);
	xiova_free_fast(&fq->dd->iovad, e->pfn, e->pages);
}

/*
 * Entries freed per hold of a ring's lock: a DMA-SQ ring holds 32767, and
 * freeing them all with interrupts off would cost milliseconds.
 */
#define XIOVA_DMA_FQ_REAP_BATCH		256

/*
 * Frees up to XIOVA_DMA_FQ_REAP_BATCH entries that a finished flush has
 * covered; true if covered entries remain.
 */
static bool xiova_dma_fq_ring_reap(struct xiova_dma_fq *fq,
				   struct xiova_dma_fq_ring *ring)
{
	u64 finished = atomic64_read(&fq->flush_finish);
	unsigned int n;

	lockdep_assert_held(&ring->lock);
	for (n = 0; ring->head != ring->tail; n++) {
		struct xiova_dma_fq_entry *e = &ring->entries[ring->head];

		if (e->counter >= finished)
			return false;
		if (n == XIOVA_DMA_FQ_REAP_BATCH)
			return true;
		xiova_dma_fq_free_entry(fq, e);
		ring->head = (ring->head + 1) & ring->mask;
	}
	return false;
}

/**
 * xiova_dma_flush_all() - invalidate every IOTLB entry of a domain
 * @domain: the domain, attached
 *
 * 6.1's virtio-iommu has no flush_iotlb_all (and is the only x86 IOMMU
 * driver without one): its unmaps queue requests that its iotlb_sync
 * completes, all of them, whatever the gather says. That makes an empty
 * sync its flush of everything.
 */
void xiova_dma_flush_all(struct iommu_domain *domain)
{
	struct iommu_iotlb_gather gather;

	if (domain->ops->flush_iotlb_all) {
		domain->ops->flush_iotlb_all(domain);
		return;
	}
	iommu_iotlb_gather_init(&gather);
	iommu_iotlb_sync(domain, &gather);
}

/*
 * Entries reaped since the head was at @head, for the fq_flush event. A
 * flush covers every queue but reaps only those its caller visits: other
 * CPUs free what it covered in theirs at their next unmap, untraced.
 */
static unsigned int xiova_dma_fq_reaped(struct xiova_dma_fq_ring *ring,
					unsigned int head)
{
	return (ring->head - head) & ring->mask;
}

static void xiova_dma_fq_flush(struct xiova_dma_fq *fq)
{
	atomic64_inc(&fq->flush_start);
	xiova_dma_flush_all(fq->dd->domain);
	atomic64_inc(&fq->flush_finish);
}

/* Flushes the IOTLB and frees what every ring queued before the flush. */
static void xiova_dma_fq_flush_reap(struct xiova_dma_fq *fq, int reason)
{
	unsigned int i, freed = 0;

	xiova_dma_fq_flush(fq);
	for (i = 0; i < fq->nr_rings; i++) {
		struct xiova_dma_fq_ring *ring = fq->rings[i];
		unsigned long flags;
		unsigned int head;
		bool more;

		if (!ring)
			continue;
		/* In batches: interrupts come on between them. */
		do {
			spin_lock_irqsave(&ring->lock, flags);
			head = ring->head;
			more = xiova_dma_fq_ring_reap(fq, ring);
			if (trace_fq_flush_enabled())
				freed += xiova_dma_fq_reaped(ring, head);
			spin_unlock_irqrestore(&ring->lock, flags);
		} while (more);
	}
	trace_fq_flush(fq, reason, freed);
}

static void xiova_dma_fq_timeout(struct timer_list *t)
{
	struct xiova_dma_fq *fq = from_timer(fq, t, timer);

	atomic_set(&fq->timer_on, 0);
	atomic64_inc(&fq->timeouts);
	xiova_dma_fq_flush_reap(fq, XIOVA_DMA_FLUSH_TIMER);
}

/**
 * xiova_dma_fq_reclaim() - give every queued IOVA back to the allocator now
 * @fq: the device's flush queues
 *
 * For an allocation that failed: a single queue holds up to 32767 ranges,
 * enough to exhaust a device with a small DMA mask until its 1 s timer
 * fires. Any context.
 */
void xiova_dma_fq_reclaim(struct xiova_dma_fq *fq)
{
	xiova_dma_fq_flush_reap(fq, XIOVA_DMA_FLUSH_RECLAIM);
}

/**
 * xiova_dma_fq_queue() - free an unmapped IOVA after the next IOTLB flush
 * @fq: the device's flush queues
 * @pfn: first pfn of the range
 * @pages: its size in granules, as allocated
 * @freelist: page-table pages the unmap released; spliced away
 *
 * Callable in any context the DMA API allows.
 */
void xiova_dma_fq_queue(struct xiova_dma_fq *fq, unsigned long pfn,
			unsigned long pages, struct list_head *freelist)
{
	struct xiova_dma_fq_ring *ring;
	struct xiova_dma_fq_entry *e;
	unsigned long flags;

	/*
	 * The unmap's page-table update must be visible to a flush started
	 * on another CPU once this entry is; pairs with the lock below.
	 */
	smp_mb();
	ring = fq->rings[fq->nr_rings == 1 ? 0 : raw_smp_processor_id()];
	spin_lock_irqsave(&ring->lock, flags);
	/*
	 * What other CPUs' flushes already covered makes room first, a batch
	 * at a time: the rest goes at later unmaps or at the timer.
	 */
	xiova_dma_fq_ring_reap(fq, ring);
	/*
	 * Another CPU's flush may be between its start and its finish, which
	 * leaves our entries uncovered: flush until the ring has room.
	 */
	while (xiova_dma_fq_ring_full(ring)) {
		unsigned int head = ring->head;

		xiova_dma_fq_flush(fq);
		this_cpu_add(fq->dd->stats->fq_full_flushes, 1);
		xiova_dma_fq_ring_reap(fq, ring);
		trace_fq_flush(fq, XIOVA_DMA_FLUSH_FULL,
			       xiova_dma_fq_reaped(ring, head));
	}
	e = &ring->entries[ring->tail];
	ring->tail = (ring->tail + 1) & ring->mask;
	e->pfn = pfn;
	e->pages = pages;
	e->counter = atomic64_read(&fq->flush_start);
	INIT_LIST_HEAD(&e->freelist);
	list_splice(freelist, &e->freelist);
	spin_unlock_irqrestore(&ring->lock, flags);

	if (!atomic_read(&fq->timer_on) && !atomic_xchg(&fq->timer_on, 1))
		mod_timer(&fq->timer, jiffies + fq->timeout);
}

static struct xiova_dma_fq_ring *xiova_dma_fq_ring_alloc(unsigned int size)
{
	struct xiova_dma_fq_ring *ring;

	ring = kvzalloc(struct_size(ring, entries, size), GFP_KERNEL);
	if (ring) {
		spin_lock_init(&ring->lock);
		ring->mask = size - 1;
	}
	return ring;
}

/**
 * xiova_dma_fq_create() - flush queues for a lazy type
 * @dd: the device
 * @type: XIOVA_DMA_FQ or XIOVA_DMA_SQ; the queues take their shape from
 *	  this argument, never from @dd, whose type may not be set yet
 *
 * Return: the queues, or an ERR_PTR: -EINVAL for a type that is not
 * lazy, -ENOMEM.
 */
struct xiova_dma_fq *xiova_dma_fq_create(struct xiova_dma_dev *dd,
					 enum xiova_dma_type type)
{
	bool per_cpu = type == XIOVA_DMA_FQ;
	struct xiova_dma_fq *fq;
	unsigned int i;

	if (type != XIOVA_DMA_FQ && type != XIOVA_DMA_SQ)
		return ERR_PTR(-EINVAL);
	fq = kzalloc(sizeof(*fq), GFP_KERNEL);
	if (!fq)
		return ERR_PTR(-ENOMEM);
	fq->dd = dd;
	fq->type = type;
	fq->nr_rings = per_cpu ? nr_cpu_ids : 1;
	fq->timeout_ms = per_cpu ? XIOVA_DMA_FQ_TIMEOUT_MS : XIOVA_DMA_SQ_TIMEOUT_MS;
	fq->timeout = msecs_to_jiffies(fq->timeout_ms);
	timer_setup(&fq->timer, xiova_dma_fq_timeout, 0);
	fq->rings = kcalloc(fq->nr_rings, sizeof(*fq->rings), GFP_KERNEL);
	if (!fq->rings)
		goto fail;
	for (i = 0; i < fq->nr_rings; i++) {
		if (per_cpu && !cpu_possible(i))
			continue;
		fq->rings[i] = xiova_dma_fq_ring_alloc(per_cpu ? XIOVA_DMA_FQ_SIZE :
						       XIOVA_DMA_SQ_SIZE);
		if (!fq->rings[i])
			goto fail;
	}
	return fq;
fail:
	xiova_dma_fq_destroy(fq);
	return ERR_PTR(-ENOMEM);
}

/**
 * xiova_dma_fq_destroy() - flush and free every queued IOVA, then the queues
 * @fq: the queues; nothing may queue on them any more
 */
void xiova_dma_fq_destroy(struct xiova_dma_fq *fq)
{
	unsigned int i, freed = 0;

	del_timer_sync(&fq->timer);
	xiova_dma_fq_flush(fq);
	for (i = 0; fq->rings && i < fq->nr_rings; i++) {
		struct xiova_dma_fq_ring *ring = fq->rings[i];

		if (!ring)
			continue;
		for (; ring->head != ring->tail; ring->head = (ring->head + 1) & ring->mask) {
			xiova_dma_fq_free_entry(fq, &ring->entries[ring->head]);
			freed++;
		}
		kvfree(ring);
	}
	trace_fq_flush(fq, XIOVA_DMA_FLUSH_TEARDOWN, freed);
	kfree(fq->rings);
	kfree(fq);
}
