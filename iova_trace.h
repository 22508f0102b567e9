/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * xiova tracepoints, system "xiova" (Documentation/usage.rst lists every
 * event and field).
 *
 * Callers pass numbers they already hold: the domain's number, so that
 * xiova's own domains and the kernel's domains of live mode share the
 * events. A disabled event costs its static branch and nothing else.
 *
 * A free is traced before the range can be handed out again and an
 * allocation after it was taken, so that with a global trace clock a
 * range's events never appear out of order.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM xiova

#if !defined(_XIOVA_TRACE_H_) || defined(TRACE_HEADER_MULTI_READ)
#define _XIOVA_TRACE_H_

#include <linux/tracepoint.h>

#include "iova.h"

#ifndef _XIOVA_TRACE_ENUMS_ONCE_
#define _XIOVA_TRACE_ENUMS_ONCE_

/* Where an allocation came from. */
enum xiova_alloc_result {
	XIOVA_ALLOC_CACHE,	/* a per-CPU magazine (fast only) */
	XIOVA_ALLOC_TREE,	/* the rbtree */
	XIOVA_ALLOC_FLUSHED,	/* the rbtree, after flushing every cache */
	XIOVA_ALLOC_FAIL,	/* nothing fitted, or a bad argument */
};

/* Why cached ranges were given back all at once. */
enum xiova_flush_reason {
	XIOVA_FLUSH_RETRY,	/* a fast allocation failed and retries */
	XIOVA_FLUSH_REQUEST,	/* the test control interface asked */
	XIOVA_FLUSH_TEARDOWN,	/* the domain is being put */
	XIOVA_FLUSH_CPU_DEAD,	/* a CPU went offline: its magazines only */
};

/* The range a fast allocation really takes: its size class, if cached. */
static inline unsigned long xiova_trace_fast_size(unsigned long size)
{
	if (!size || size >= (1UL << (XIOVA_RANGE_CACHE_MAX_SIZE - 1)))
		return size;
	return roundup_pow_of_two(size);
}

/* The events of fast paths outside xiova.ko (iova_module.c). */
void xiova_trace_fast_alloc(int domain, unsigned long pfn, unsigned long size,
			    unsigned long limit_pfn, int result);
void xiova_trace_fast_free(int domain, unsigned long pfn, unsigned long size);

#endif /* _XIOVA_TRACE_ENUMS_ONCE_ */

TRACE_DEFINE_ENUM(XIOVA_ALLOC_CACHE);
TRACE_DEFINE_ENUM(XIOVA_ALLOC_TREE);
TRACE_DEFINE_ENUM(XIOVA_ALLOC_FLUSHED);
TRACE_DEFINE_ENUM(XIOVA_ALLOC_FAIL);
TRACE_DEFINE_ENUM(XIOVA_FLUSH_RETRY);
TRACE_DEFINE_ENUM(XIOVA_FLUSH_REQUEST);
TRACE_DEFINE_ENUM(XIOVA_FLUSH_TEARDOWN);
TRACE_DEFINE_ENUM(XIOVA_FLUSH_CPU_DEAD);

TRACE_EVENT(alloc,
	    TP_PROTO(int domain, unsigned long pfn, unsigned long size,
		     unsigned long limit_pfn, bool fast, int result),
	    TP_ARGS(domain, pfn, size, limit_pfn, fast, result),
	    TP_STRUCT__entry(__field(int, domain)
			     __field(unsigned long, pfn)
			     __field(unsigned long, size)
			     __field(unsigned long, limit_pfn)
			     __field(bool, fast)
			     __field(int, result)),
	    TP_fast_assign(__entry->domain = domain;
			   __entry->pfn = pfn;
			   __entry->size = fast ? xiova_trace_fast_size(size) : size;
			   __entry->limit_pfn = limit_pfn;
			   __entry->fast = fast;
			   __entry->result = result;
	    ),
	    TP_printk("domain=%d pfn=%#lx size=%lu limit_pfn=%#lx fast=%d result=%s",
		      __entry->domain, __entry->pfn, __entry->size,
		      __entry->limit_pfn, __entry->fast,
		      __print_symbolic(__entry->result,
				       { XIOVA_ALLOC_CACHE, "cache" },
				       { XIOVA_ALLOC_TREE, "tree" },
				       { XIOVA_ALLOC_FLUSHED, "flushed" },
				       { XIOVA_ALLOC_FAIL, "fail" }))
);

TRACE_EVENT(free,
	    TP_PROTO(int domain, unsigned long pfn, unsigned long size,
		     bool fast),
	    TP_ARGS(domain, pfn, size, fast),
	    TP_STRUCT__entry(__field(int, domain)
			     __field(unsigned long, pfn)
			     __field(unsigned long, size)
			     __field(bool, fast)),
	    TP_fast_assign(__entry->domain = domain;
			   __entry->pfn = pfn;
			   __entry->size = fast ? xiova_trace_fast_size(size) : size;
			   __entry->fast = fast;
	    ),
	    TP_printk("domain=%d pfn=%#lx size=%lu fast=%d",
		      __entry->domain, __entry->pfn, __entry->size, __entry->fast)
);

TRACE_EVENT(rcache_miss,
	    TP_PROTO(int domain, int class),
	    TP_ARGS(domain, class),
	    TP_STRUCT__entry(__field(int, domain)
			     __field(int, class)),
	    TP_fast_assign(__entry->domain = domain;
			   __entry->class = class;
	    ),
	    TP_printk("domain=%d class=%d size=%lu", __entry->domain,
		      __entry->class, 1UL << __entry->class)
);

/* Traced with the depot's lock held, so that the size is the one left. */
DECLARE_EVENT_CLASS(xiova_depot,
		    TP_PROTO(int domain, int class, unsigned long depot_size),
		    TP_ARGS(domain, class, depot_size),
		    TP_STRUCT__entry(__field(int, domain)
				     __field(int, class)
				     __field(unsigned long, depot_size)),
		    TP_fast_assign(__entry->domain = domain;
				   __entry->class = class;
				   __entry->depot_size = depot_size;
		    ),
		    TP_printk("domain=%d class=%d depot_size=%lu", __entry->domain,
			      __entry->class, __entry->depot_size)
);

DEFINE_EVENT(xiova_depot, depot_push,
	     TP_PROTO(int domain, int class, unsigned long depot_size),
	     TP_ARGS(domain, class, depot_size)
);

DEFINE_EVENT(xiova_depot, depot_pop,
	     TP_PROTO(int domain, int class, unsigned long depot_size),
	     TP_ARGS(domain, class, depot_size)
);

DEFINE_EVENT(xiova_depot, depot_trim,
	     TP_PROTO(int domain, int class, unsigned long depot_size),
	     TP_ARGS(domain, class, depot_size)
);

TRACE_EVENT(flush_all,
	    TP_PROTO(int domain, int reason, int cpu),
	    TP_ARGS(domain, reason, cpu),
	    TP_STRUCT__entry(__field(int, domain)
			     __field(int, reason)
			     __field(int, cpu)),
	    TP_fast_assign(__entry->domain = domain;
			   __entry->reason = reason;
			   __entry->cpu = cpu;
	    ),
	    TP_printk("domain=%d reason=%s cpu=%d", __entry->domain,
		      __print_symbolic(__entry->reason,
				       { XIOVA_FLUSH_RETRY, "retry" },
				       { XIOVA_FLUSH_REQUEST, "request" },
				       { XIOVA_FLUSH_TEARDOWN, "teardown" },
				       { XIOVA_FLUSH_CPU_DEAD, "cpu-dead" }),
		      __entry->cpu)
);

#endif /* _XIOVA_TRACE_H_ */

/* Out of tree: define_trace.h finds this file through -I$(src) in Kbuild. */
#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE iova_trace
#include <trace/define_trace.h>
