// SPDX-License-Identifier: GPL-2.0-only
/*
 * Taking the kernel's iova domains over and handing them back
 * (Documentation/live.rst, "Taking a domain over").
 *
 * A domain is taken over by giving back to its tree whatever the kernel's
 * caches hold and tagging iovad->rcaches with xiova's state; it is handed
 * back by restoring the pointer, waiting for a grace period, and giving
 * xiova's cached ranges back to the tree.
 *
 * Locking: xlive_mutex orders the lifetime of every xlive_domain (release,
 * put, the debugfs readers); xlive_lock, a spinlock since takeovers may
 * happen in interrupts, protects the registry list and serialises
 * takeovers; CPU hotplug is held off while a domain's pointer changes and
 * its state is freed, so that the patched CPU-dead callback never sees a
 * state being freed.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cpu.h>
#include <linux/device.h>
#include <linux/iommu.h>
#include <linux/pci.h>
#include <linux/slab.h>

#include "live.h"

DEFINE_MUTEX(xlive_mutex);	/* a domain's state lives while it is held */
LIST_HEAD(xlive_domains);
static DEFINE_SPINLOCK(xlive_lock);	/* the list; one takeover at a time */

/* Set once the patch transition is complete; see xlive_adopt_lazily(). */
static bool xlive_adopting;
/* After a failed takeover, the next is tried from this jiffy on. */
static unsigned long xlive_adopt_after;

/* Fault injection for the tests: fail the next N takeovers (debugfs). */
atomic_t xlive_fail_adopts = ATOMIC_INIT(0);

static void xlive_free_pfns(struct xiova_rcaches *rc,
			    const unsigned long *pfns, unsigned long n)
{
	struct xlive_domain *x = container_of(rc, struct xlive_domain, rc);
	unsigned long i;

	for (i = 0; i < n; i++)
		free_iova(x->iovad, pfns[i]);
}

static const struct xiova_rcaches_ops xlive_tree_ops = {
	.free_pfns = xlive_free_pfns,
};

/**
 * xlive_set_adopting() - allow or stop takeovers
 * @on: allowed from now on
 *
 * Only while no task can run the kernel's own fast path: from the end of
 * the patch transition to the start of the disable (live.rst).
 */
void xlive_set_adopting(bool on)
{
	WRITE_ONCE(xlive_adopting, on);
}

static struct xlive_domain *xlive_new(gfp_t gfp, bool lazy)
{
	struct xlive_domain *x;
	int id;

	if (xiova_should_fail(&xlive_fail_adopts))
		return NULL;
	x = kzalloc(sizeof(*x), gfp | __GFP_NOWARN);
	if (!x)
		return NULL;
	id = xiova_domain_id_alloc(gfp | __GFP_NOWARN);
	if (id < 0)
		goto err_free;
	if (xiova_rcaches_init(&x->rc, &xlive_tree_ops, x, id, gfp))
		goto err_id;
	INIT_LIST_HEAD(&x->list);
	atomic_long_set(&x->tree_allocs, 0);
	x->lazy = lazy;
	return x;

err_id:
	xiova_domain_id_free(id);
err_free:
	kfree(x);
	return NULL;
}

/* Process context: the caches may have flush requests to wait for. */
static void xlive_destroy(struct xlive_domain *x, bool free_ranges)
{
	xiova_rcaches_destroy(&x->rc, free_ranges);
	xiova_domain_id_free(x->rc.id);
	kfree(x);
}

/*
 * With xlive_lock held: the kernel's caches give their ranges back, then
 * the pointer is tagged. False if the domain has no kernel caches, is
 * taken over already, or takeovers stopped meanwhile.
 */
static bool xlive_install(struct xlive_domain *x, struct iova_domain *iovad)
{
	struct iova_rcache *k = READ_ONCE(iovad->rcaches);

	lockdep_assert_held(&xlive_lock);
	if (!k || ((unsigned long)k & XLIVE_TAG) || !READ_ONCE(xlive_adopting))
		return false;
	x->iovad = iovad;
	x->kernel_rcaches = k;
	x->drained += xlive_kiova_drain(iovad, k);
	/* New code only runs now, so nothing refills the kernel's caches. */
	WRITE_ONCE(iovad->rcaches, (void *)((unsigned long)x | XLIVE_TAG));
	list_add_tail(&x->list, &xlive_domains);
	return true;
}

/**
 * xlive_adopt() - take a domain over from process context
 * @iovad: a kernel iova domain in use or idle, not being put
 * @gfp: GFP_KERNEL
 * @lazy: for the statistics: found at a fast call, not at enable
 *
 * Return: the domain's state (also when it was taken over already), or
 * NULL if it has no caches or takeovers stopped.
 */
struct xlive_domain *xlive_adopt(struct iova_domain *iovad, gfp_t gfp,
				 bool lazy)
{
	struct xlive_domain *x = xlive_new(gfp, lazy);
	struct iova_rcache *k;
	unsigned long flags;
	bool installed;

	if (!x)
		return NULL;
	/*
	 * Most of the kernel's cached ranges go back before the lock, with
	 * interrupts on; the drain under it then finds little.
	 */
	k = xlive_kernel_caches((unsigned long)READ_ONCE(iovad->rcaches));
	if (k)
		x->drained = xlive_kiova_drain(iovad, k);
	spin_lock_irqsave(&xlive_lock, flags);
	installed = xlive_install(x, iovad);
	spin_unlock_irqrestore(&xlive_lock, flags);
	if (installed)
		return x;
	xlive_destroy(x, false);
	return NULL;
}

/**
 * xlive_adopt_lazily() - take a domain over at one of its fast calls
 * @iovad: the domain of the call, whose kernel caches serve it
 *
 * Any context, with preemption disabled. Allocates with GFP_ATOMIC; if
 * that fails the call is served by the tree, and no takeover is tried for
 * a jiffy.
 *
 * Return: the domain's state, or NULL.
 */
struct xlive_domain *xlive_adopt_lazily(struct iova_domain *iovad)
{
	struct xlive_domain *x = NULL;
	unsigned long flags;

	if (!READ_ONCE(xlive_adopting) || !READ_ONCE(iovad->rcaches) ||
	    time_before(jiffies, READ_ONCE(xlive_adopt_after)))
		return NULL;
	spin_lock_irqsave(&xlive_lock, flags);
	/* Another CPU may have won: then its state serves. */
	if (xlive_of(iovad)) {
		x = xlive_of(iovad);
		goto out;
	}
	if (!READ_ONCE(xlive_adopting))
		goto out;
	x = xlive_new(GFP_ATOMIC, true);
	if (!x) {
		WRITE_ONCE(xlive_adopt_after, jiffies + 1);
		goto out;
	}
	/* Everything it checks was checked above, under the same lock. */
	xlive_install(x, iovad);
out:
	spin_unlock_irqrestore(&xlive_lock, flags);
	return x;
}

/* With xlive_mutex and CPU hotplug held: the kernel's caches are back. */
static void xlive_unlink(struct xlive_domain *x)
{
	unsigned long flags;

	spin_lock_irqsave(&xlive_lock, flags);
	list_del_init(&x->list);
	WRITE_ONCE(x->iovad->rcaches, x->kernel_rcaches);
	spin_unlock_irqrestore(&xlive_lock, flags);
}

/**
 * xlive_release_all() - hand every domain back to the kernel's caches
 *
 * From the pre_unpatch callback, while every task still runs new code:
 * takeovers stop, the pointers are restored, and after a grace period no
 * fast call uses xiova's caches any more, which then give every range
 * back to the tree. Process context.
 */
void xlive_release_all(void)
{
	struct xlive_domain *x, *tmp;
	LIST_HEAD(gone);

	xlive_set_adopting(false);
	/* Lazy takeovers run with preemption off: none is still going on. */
	synchronize_rcu();

	mutex_lock(&xlive_mutex);
	cpus_read_lock();
	list_for_each_entry_safe(x, tmp, &xlive_domains, list) {
		xlive_unlink(x);
		list_add_tail(&x->list, &gone);
	}
	synchronize_rcu();
	list_for_each_entry_safe(x, tmp, &gone, list) {
		list_del(&x->list);
		xlive_destroy(x, true);
	}
	cpus_read_unlock();
	mutex_unlock(&xlive_mutex);
}

/**
 * xlive_put() - what put_iova_domain() does, for any kernel domain
 * @iovad: the domain; no other call on it may run concurrently or follow
 *
 * A domain taken over gives up xiova's state first: no grace period is
 * needed, since no call on the domain may run, and its cached ranges need
 * not go back to a tree that is freed next. Process context.
 */
void xlive_put(struct iova_domain *iovad)
{
	struct xlive_domain *x;

	mutex_lock(&xlive_mutex);
	x = xlive_of(iovad);
	if (x) {
		cpus_read_lock();
		xlive_unlink(x);
		cpus_read_unlock();
		xlive_destroy(x, false);
	}
	mutex_unlock(&xlive_mutex);
	xlive_kiova_free(iovad);
}

/*
 * A PCI device's DMA domain, if its driver is bound: then its group's
 * domain cannot change while the device lock is held. A device whose lock
 * is busy is left to be taken over at its first fast call.
 */
static struct iova_domain *xlive_device_iovad(struct pci_dev *pdev)
{
	struct iommu_domain *domain;

	if (!pdev->dev.driver)
		return NULL;
	domain = iommu_get_domain_for_dev(&pdev->dev);
	if (!domain || !iommu_is_dma_domain(domain) || !domain->iova_cookie)
		return NULL;
	return xlive_kiova_cookie_iovad(domain->iova_cookie);
}

/**
 * xlive_adopt_devices() - take over the domains of every bound PCI device
 *
 * Process context, after the patch transition; never waits for a device
 * lock, so that it cannot deadlock with a probe that loads a module.
 */
void xlive_adopt_devices(void)
{
	struct pci_dev *pdev = NULL;
	struct iova_domain *iovad;

	for_each_pci_dev(pdev) {
		if (!device_trylock(&pdev->dev))
			continue;
		iovad = xlive_device_iovad(pdev);
		if (iovad && !xlive_of(iovad))
			xlive_adopt(iovad, GFP_KERNEL, false);
		device_unlock(&pdev->dev);
	}
}

/**
 * xlive_nr_domains() - domains taken over now
 *
 * Return: the count.
 */
long xlive_nr_domains(void)
{
	struct xlive_domain *x;
	unsigned long flags;
	long n = 0;

	spin_lock_irqsave(&xlive_lock, flags);
	list_for_each_entry(x, &xlive_domains, list)
		n++;
	spin_unlock_irqrestore(&xlive_lock, flags);
	return n;
}
