/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * xiova_live internals. The design, and why each part is safe, is in
 * Documentation/live.rst.
 *
 * Layers, each calling only those below it:
 *   live_main.c       load, unload, the patch and its callbacks
 *   live_debugfs.c    xiova/system/: domains, stats, accounts
 *   live_patch.c      the replacement functions
 *   live_domain.c     taking domains over and handing them back
 *   live_kiova.c      the kernel's own caches, in their private layout
 *   live_btf.c        the kernel's BTF, to check that layout
 */
#ifndef _XIOVA_LIVE_H_
#define _XIOVA_LIVE_H_

#include <linux/iova.h>
#include <linux/livepatch.h>
#include <linux/list.h>
#include <linux/mutex.h>

#include "iova_rcache.h"

/**
 * struct xlive_member - a member of a kernel structure this module uses
 * @name:	its name; NULL ends a list
 * @offset:	bytes from the start of the structure
 * @size:	bytes, or 0 not to check
 */
struct xlive_member {
	const char	*name;
	size_t		offset;
	size_t		size;
};

/**
 * struct xlive_layout - a kernel structure as this module expects it
 * @name:	the struct's name; NULL ends a list
 * @size:	its size in bytes, or 0 not to check
 * @members:	the members used
 */
struct xlive_layout {
	const char			*name;
	size_t				size;
	const struct xlive_member	*members;
};

/* live_btf.c */
int xlive_btf_check(const struct xlive_layout *const *variants, char *why,
		    size_t len);

/* live_kiova.c: the kernel's caches of a domain, called K below */
int xlive_kiova_init(void);
const char *xlive_kiova_variant(void);
unsigned long xlive_kiova_drain(struct iova_domain *iovad,
				struct iova_rcache *k);
void xlive_kiova_drain_cpu(struct iova_domain *iovad, struct iova_rcache *k,
			   unsigned int cpu);
unsigned long xlive_kiova_cached(struct iova_rcache *k);
void xlive_kiova_free(struct iova_domain *iovad);
struct iova_domain *xlive_kiova_cookie_iovad(void *cookie);

/**
 * struct xlive_domain - xiova's state for one kernel iova domain
 * @rc:		xiova's magazine caches, in front of the kernel's rbtree
 * @iovad:	the kernel's domain
 * @kernel_rcaches: the kernel's own caches, put back at hand-back
 * @list:	link in the registry of domains taken over
 * @drained:	ranges the takeover found in the kernel's caches
 * @tree_allocs: fast allocations the tree served
 * @lazy:	taken over at its first fast call, not at enable
 */
struct xlive_domain {
	struct xiova_rcaches	rc;
	struct iova_domain	*iovad;
	struct iova_rcache	*kernel_rcaches;
	struct list_head	list;
	unsigned long		drained;
	atomic_long_t		tree_allocs;
	bool			lazy;
};

/* Bit 0 of iovad->rcaches while a domain is taken over. */
#define XLIVE_TAG	1UL

/* The kernel's own caches of a domain it serves, or NULL. */
static __always_inline struct iova_rcache *xlive_kernel_caches(unsigned long v)
{
	return v & XLIVE_TAG ? NULL : (struct iova_rcache *)v;
}

/* xlive_of() of a value of iovad->rcaches read once. */
static __always_inline struct xlive_domain *xlive_state(unsigned long v)
{
	return v & XLIVE_TAG ? (struct xlive_domain *)(v - XLIVE_TAG) : NULL;
}

/**
 * xlive_of() - xiova's state of a domain taken over
 * @iovad: any kernel iova domain
 *
 * Valid until the caller enables preemption again: a hand-back waits for
 * a grace period before it frees the state.
 *
 * Return: the state, or NULL while the kernel's own caches serve @iovad.
 */
static __always_inline struct xlive_domain *xlive_of(struct iova_domain *iovad)
{
	return xlive_state((unsigned long)READ_ONCE(iovad->rcaches));
}

/* live_domain.c */
extern struct mutex xlive_mutex;
extern atomic_t xlive_fail_adopts;
extern struct list_head xlive_domains;
void xlive_set_adopting(bool on);
struct xlive_domain *xlive_adopt(struct iova_domain *iovad, gfp_t gfp,
				 bool lazy);
struct xlive_domain *xlive_adopt_lazily(struct iova_domain *iovad);
void xlive_release_all(void);
void xlive_put(struct iova_domain *iovad);
void xlive_adopt_devices(void);
long xlive_nr_domains(void);

/* live_patch.c */
extern struct klp_func xlive_funcs[];

/* live_debugfs.c */
void xlive_debugfs_init(void);
void xlive_debugfs_exit(void);

#endif /* _XIOVA_LIVE_H_ */
