/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * xiova internals shared by the files of xiova.ko and the KUnit suites.
 * Nothing here is part of the public interface.
 *
 * Layers, each calling only those below it (Documentation/design.rst):
 *   iova_module.c                  load and unload
 *   iova_testctl.c                 test domains driven from debugfs
 *   iova_domain.c                  a domain's life, fast alloc/free, registry
 *   iova_audit.c, iova_debugfs.c   teardown audit, statistics files
 *   iova_rcache.c                  magazines, depots, per-CPU caches
 *   iova.c, iova_gap.c             the rbtree and its free-gap data
 */
#ifndef _XIOVA_INTERNAL_H_
#define _XIOVA_INTERNAL_H_

#include <linux/log2.h>

#include "iova_rcache.h"
#include "iova_tree.h"

#define XIOVA_NS	XIOVA
#define XIOVA_NS_STR	__stringify(XIOVA_NS)

/**
 * struct xiova_stats - snapshot of a domain
 * @tree_nodes:		ranges in the rbtree
 * @max32_alloc_size:	the 32-bit fast-fail threshold
 * @has_rcaches:	whether the magazine caches are set up
 * @cls:		per size class
 */
struct xiova_stats {
	unsigned long			tree_nodes;
	unsigned long			max32_alloc_size;
	bool				has_rcaches;
	struct xiova_class_stats	cls[XIOVA_RANGE_CACHE_MAX_SIZE];
};

/* The debug_checks parameter: the default of every new domain. */
extern bool xiova_debug_checks;

/* iova_domain.c: a domain's life, its fast path, the registry */
int __xiova_init_domain(struct xiova_domain *iovad, unsigned long granule,
			unsigned long start_pfn, bool debug_checks,
			bool module_ref);
void xiova_magazine_free_pfns(struct xiova_magazine *mag,
			      struct xiova_domain *iovad);
bool xiova_rcache_insert(struct xiova_domain *iovad, unsigned long pfn,
			 unsigned long size);
unsigned long xiova_rcache_get(struct xiova_domain *iovad, unsigned long size,
			       unsigned long limit_pfn);
void xiova_drain_dead_cpu(unsigned int cpu, struct xiova_domain *iovad);
void xiova_flush_rcaches(struct xiova_domain *iovad, int reason);
void xiova_get_stats(struct xiova_domain *iovad, struct xiova_stats *st);
int xiova_domains_init(struct dentry *root);
void xiova_domains_exit(void);
long xiova_domains_live(void);
int xiova_module_refs(void);

/* iova_testctl.c: test domains driven from userspace (test builds only) */
#if IS_ENABLED(CONFIG_XIOVA_TESTCTL)
void xiova_testctl_init(struct dentry *root);
void xiova_testctl_exit(void);
#else
static inline void xiova_testctl_init(struct dentry *root) { }
static inline void xiova_testctl_exit(void) { }
#endif

/**
 * struct xiova_audit - what teardown audits found, summed over domains
 * @domains:	domains audited
 * @cached:	magazine slots holding a range marked cached
 * @lost:	ranges marked cached that no magazine holds
 * @duplicate:	ranges held by more than one magazine slot
 * @unknown:	magazine pfns starting no cached range of their class
 * @allocated:	ranges neither reserved nor cached at the put
 */
struct xiova_audit {
	unsigned long	domains;
	unsigned long	cached;
	unsigned long	lost;
	unsigned long	duplicate;
	unsigned long	unknown;
	unsigned long	allocated;
};

/* iova_audit.c: magazines checked against the tree at put (debug checks) */
void xiova_audit_domain(struct xiova_domain *iovad);
void xiova_audit_get(struct xiova_audit *a);
void xiova_audit_debugfs_init(struct dentry *root);

#endif /* _XIOVA_INTERNAL_H_ */
