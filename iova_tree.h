/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * xiova rbtree core (iova.c) and its free-gap data (iova_gap.c): the
 * bottom layer, which calls nothing else of the module.
 */
#ifndef _XIOVA_TREE_H_
#define _XIOVA_TREE_H_

#include "iova.h"
#include "iova_debug.h"

/* The anchor node sits above the top of the usable address space. */
#define XIOVA_ANCHOR		(~0UL)

/* Internal node flag: the range sits in a magazine (debug checks only). */
#define XIOVA_F_CACHED		BIT(1)
/* Internal node flag: a teardown audit found the range in a magazine. */
#define XIOVA_F_AUDITED		BIT(2)

/* Every flag fits in the bits &struct xiova.max_fit leaves to them. */
static_assert((XIOVA_F_RESERVED | XIOVA_F_CACHED | XIOVA_F_AUDITED) >>
	      XIOVA_FLAG_BITS == 0);
/* The aligned-fit data shares a word: the node is still a cache line. */
static_assert(sizeof(struct xiova) == 8 * sizeof(unsigned long));

/* Fault injection for tests: fail the next N tree node allocations. */
extern atomic_t xiova_fail_node_allocs;

/* iova.c: the rbtree core */
struct xiova *xiova_node_alloc(void);
void xiova_node_free(struct xiova *iova);
long xiova_live_nodes(void);
int xiova_tree_setup(void);
void xiova_tree_teardown(void);
void xiova_tree_init(struct xiova_domain *iovad, unsigned long granule,
		     unsigned long start_pfn);
void xiova_tree_free_all(struct xiova_domain *iovad);
struct xiova *xiova_find_locked(struct xiova_domain *iovad, unsigned long pfn);
void xiova_remove_locked(struct xiova_domain *iovad, struct xiova *iova);
struct xiova *xiova_alloc_tree(struct xiova_domain *iovad, unsigned long size,
			       unsigned long limit_pfn, bool size_aligned);
void xiova_free_tree(struct xiova_domain *iovad, unsigned long pfn);
void xiova_free_tree_pfns(struct xiova_domain *iovad, const unsigned long *pfns,
			  unsigned long n);
int xiova_check_tree(struct xiova_domain *iovad);

/* iova_gap.c: the rbtree augmented with free gaps */
void xiova_gap_init_anchor(struct xiova_domain *iovad);
void xiova_gap_insert(struct xiova_domain *iovad, struct xiova *iova);
void xiova_gap_insert_below(struct xiova_domain *iovad, struct xiova *iova,
			    struct xiova *next);
void xiova_gap_erase(struct xiova_domain *iovad, struct xiova *iova);
void xiova_gap_lower_start(struct xiova_domain *iovad, struct xiova *iova,
			   unsigned long pfn_lo);
struct xiova *xiova_gap_find(struct xiova_domain *iovad, unsigned long size,
			     unsigned long limit_pfn, unsigned long align_mask,
			     unsigned long *pfn);
struct xiova *xiova_gap_find_counted(struct xiova_domain *iovad,
				     unsigned long size,
				     unsigned long limit_pfn,
				     unsigned long align_mask,
				     unsigned long *pfn, unsigned int *visits);
bool xiova_gap_check_node(struct xiova_domain *iovad, struct xiova *iova,
			  struct xiova *prev);

#endif /* _XIOVA_TREE_H_ */
