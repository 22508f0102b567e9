// SPDX-License-Identifier: GPL-2.0-only
/*
 * xiova_bench: the xiova allocator and the kernel's own IOVA allocator side
 * by side, on identical workloads, in the same boot.
 *
 * debugfs xiova_bench/run (root only) takes one command per write():
 *
 *   WORKLOAD ALLOCATOR [ACTION] [KEY=VALUE ...]
 *
 * ALLOCATOR is "ours" (xiova_*) or "stock" (the kernel's *_iova*), and the
 * result of the last command is read back from the same open file as
 * KEY=VALUE lines. Documentation/benchmarks.rst describes every workload
 * and tools/bench/run.sh drives them.
 *
 * Every workload runs on a private domain (granule 4 KiB, start pfn 1,
 * magazine caches on) in kthreads bound to CPU 0, and to CPU 1 where a
 * workload needs the other CPU. Those threads call cond_resched() at least
 * every 256 operations and stop early when the writer gets a fatal signal;
 * the allocators' own locks are the only atomic sections.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/cpumask.h>
#include <linux/ctype.h>
#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/dma-mapping.h>
#include <linux/iova.h>
#include <linux/kthread.h>
#include <linux/ktime.h>
#include <linux/log2.h>
#include <linux/math64.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/percpu.h>
#include <linux/sched.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/spinlock.h>
#include <linux/uaccess.h>
#include <linux/wait.h>

#include "iova.h"
#include "dma/iova_compat.h"

MODULE_IMPORT_NS(XIOVA);

#define BENCH_GRANULE		SZ_4K
#define BENCH_START_PFN		1UL
/* Inclusive pfn limits, as dma-iommu derives them from 32/48-bit masks. */
#define BENCH_LIMIT32		((unsigned long)(DMA_BIT_MASK(32) >> 12))
#define BENCH_LIMIT64		((unsigned long)(DMA_BIT_MASK(48) >> 12))
/* One burst: four flush-queue-sized batches of 256 mappings. */
#define BENCH_BATCH		256
#define BENCH_BURST		(4 * BENCH_BATCH)
#define BENCH_CLASSES		6
#define BENCH_CPU		0
#define BENCH_OTHER_CPU		1
#define BENCH_OUT_SIZE		4096
#define BENCH_CMD_MAX		256
/* W1's batches are long, so that reading the clock costs next to nothing. */
#define BENCH_W1_BATCH		1024
/* Counts of a stock domain that may disagree before they agree. */
#define BENCH_CENSUS_TRIES	10
/* Timing samples kept per measurement; later batches are not run. */
#define BENCH_MAX_SAMPLES	4096

/*
 * The magazine caches of drivers/iommu/iova.c are private to that file.
 * They are mirrored here only to count the magazines and cached ranges of
 * a stock domain, in the two layouts of Debian 12's kernels (6.1: checked
 * against 6.1.192, a depot array; 6.12: against 6.12.118, a depot list).
 * bench_census() trusts the mirror only when the ranges it finds cached,
 * plus the live ones, add up to the nodes of the tree.
 */
#define STOCK_MAG_SIZE		127
#define STOCK_MAX_GLOBAL_MAGS	32

struct stock_magazine {
#if XIOVA_STOCK_DEPOT_IS_LIST
	union {
		unsigned long		size;
		struct stock_magazine	*next;
	};
#else
	unsigned long	size;
#endif
	unsigned long	pfns[STOCK_MAG_SIZE];
};

struct stock_cpu_rcache {
	spinlock_t		lock;	/* the real lock of the mirrored struct */
	struct stock_magazine	*loaded;
	struct stock_magazine	*prev;
};

#if XIOVA_STOCK_DEPOT_IS_LIST
struct stock_rcache {
	spinlock_t		lock;	/* the real lock of the mirrored struct */
	unsigned int		depot_size;
	struct stock_magazine	*depot;
	struct stock_cpu_rcache	__percpu *cpu_rcaches;
	struct iova_domain	*iovad;
	struct delayed_work	work;
};
#else
struct stock_rcache {
	spinlock_t		lock;	/* the real lock of the mirrored struct */
	unsigned long		depot_size;
	struct stock_magazine	*depot[STOCK_MAX_GLOBAL_MAGS];
	struct stock_cpu_rcache	__percpu *cpu_rcaches;
};
#endif

/* The depot's limit, after which frees go to the tree; none for a list. */
#define STOCK_DEPOT_LIMIT	(XIOVA_STOCK_DEPOT_IS_LIST ? ULONG_MAX : STOCK_MAX_GLOBAL_MAGS)

/* One domain of either allocator; @stock says which member is live. */
struct bench_dom {
	bool			stock;
	struct iova_domain	sd;
	struct xiova_domain	xd;
};

/* A small fast PRNG (xorshift64*), so both allocators see one sequence. */
struct bench_rng {
	u64	state;
};

/* The result of the current command, read back as KEY=VALUE lines. */
struct bench_out {
	char	*buf;
	size_t	len;
};

/* A kthread bound to one CPU that runs the functions posted to it. */
struct bench_thread {
	struct task_struct	*task;
	wait_queue_head_t	wq;
	struct completion	done;
	int			(*fn)(void *arg);
	void			*arg;
	int			ret;
	bool			posted;
};

static DEFINE_MUTEX(bench_mutex);	/* one command at a time */
static bool bench_abort;		/* the writer got a fatal signal */
static struct dentry *bench_dir;

/*
 * Sizes in granules of a mixed storage and network load: the weights are
 * the number of slots, out of 64, each size takes.
 */
static const u8 bench_mix[64] = {
	[0 ... 24] = 1, [25 ... 34] = 2, [35 ... 37] = 3, [38 ... 45] = 4,
	[46 ... 47] = 6, [48 ... 53] = 8, [54 ... 55] = 12, [56 ... 59] = 16,
	[60] = 24, [61 ... 63] = 32,
};

static void bench_rng_seed(struct bench_rng *r, u64 seed)
{
	r->state = seed * 0x9e3779b97f4a7c15ULL + 1;
	if (!r->state)
		r->state = 1;
}

static inline u32 bench_rand(struct bench_rng *r)
{
	u64 x = r->state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	r->state = x;
	return (x * 0x2545f4914f6cdd1dULL) >> 32;
}

static inline unsigned long bench_size(struct bench_rng *r)
{
	return bench_mix[bench_rand(r) >> 26];
}

/* Called at least every 256 operations of every loop. */
static bool bench_yield(void)
{
	cond_resched();
	return READ_ONCE(bench_abort);
}

static __printf(2, 3) void bench_put(struct bench_out *o, const char *fmt, ...)
{
	va_list args;

	va_start(args, fmt);
	o->len += vscnprintf(o->buf + o->len, BENCH_OUT_SIZE - o->len, fmt,
			     args);
	va_end(args);
}

/* @num / @den with two decimals. */
static void bench_put_frac(struct bench_out *o, const char *key, u64 num,
			   u64 den)
{
	u64 v = den ? div64_u64(num * 100, den) : 0;

	bench_put(o, "%s=%llu.%02llu\n", key, div_u64(v, 100),
		  v - div_u64(v, 100) * 100);
}

static int bench_cmp_u64(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return x < y ? -1 : x > y;
}

static u64 bench_median(u64 *v, unsigned int n)
{
	if (!n)
		return 0;
	sort(v, n, sizeof(*v), bench_cmp_u64, NULL);
	return n & 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Domains */

static struct bench_dom *bench_dom_create(bool stock)
{
	struct bench_dom *d = kzalloc(sizeof(*d), GFP_KERNEL);
	int ret;

	if (!d)
		return ERR_PTR(-ENOMEM);
	d->stock = stock;
	if (stock) {
		/* init_iova_domain() does not take a cache reference itself. */
		ret = iova_cache_get();
		if (ret)
			goto err;
		init_iova_domain(&d->sd, BENCH_GRANULE, BENCH_START_PFN);
		ret = iova_domain_init_rcaches(&d->sd);
		if (ret) {
			put_iova_domain(&d->sd);
			iova_cache_put();
			goto err;
		}
		return d;
	}
	ret = xiova_init_domain(&d->xd, BENCH_GRANULE, BENCH_START_PFN);
	if (ret)
		goto err;
	ret = xiova_domain_init_rcaches(&d->xd);
	if (ret) {
		xiova_put_domain(&d->xd);
		goto err;
	}
	return d;
err:
	kfree(d);
	return ERR_PTR(ret);
}

/* Frees the domain with every range still allocated or cached in it. */
static void bench_dom_destroy(struct bench_dom *d)
{
	if (IS_ERR_OR_NULL(d))
		return;
	if (d->stock) {
		put_iova_domain(&d->sd);
		iova_cache_put();
	} else {
		xiova_put_domain(&d->xd);
	}
	kfree(d);
}

/*
 * The hot loops are instantiated once per allocator (@stock is a constant
 * after inlining), so that neither pays for an indirect call or a branch
 * the other does not.
 */
static __always_inline unsigned long bd_alloc_fast(struct bench_dom *d,
						   const bool stock,
						   unsigned long size,
						   unsigned long limit,
						   bool flush)
{
	if (stock)
		return alloc_iova_fast(&d->sd, size, limit, flush);
	return xiova_alloc_fast(&d->xd, size, limit, flush);
}

static __always_inline void bd_free_fast(struct bench_dom *d,
					 const bool stock, unsigned long pfn,
					 unsigned long size)
{
	if (stock)
		free_iova_fast(&d->sd, pfn, size);
	else
		xiova_free_fast(&d->xd, pfn, size);
}

/*
 * What dma-iommu does for a PCI device with a 64-bit mask: below 4 GiB
 * first, without flushing the caches, then anywhere, flushing if needed.
 */
static __always_inline unsigned long bd_dma_alloc(struct bench_dom *d,
						  const bool stock,
						  unsigned long size,
						  u64 *fallbacks)
{
	unsigned long pfn = bd_alloc_fast(d, stock, size, BENCH_LIMIT32, false);

	if (likely(pfn))
		return pfn;
	(*fallbacks)++;
	return bd_alloc_fast(d, stock, size, BENCH_LIMIT64, true);
}

/* A size-aligned range from the tree, bypassing the caches; 0 on failure. */
static unsigned long bd_alloc(struct bench_dom *d, unsigned long size,
			      unsigned long limit)
{
	struct xiova *xiova;
	struct iova *iova;

	if (d->stock) {
		iova = alloc_iova(&d->sd, size, limit, true);
		return iova ? iova->pfn_lo : 0;
	}
	xiova = xiova_alloc(&d->xd, size, limit, true);
	return xiova ? xiova->pfn_lo : 0;
}

static void bd_free(struct bench_dom *d, unsigned long pfn)
{
	if (d->stock)
		free_iova(&d->sd, pfn);
	else
		xiova_free(&d->xd, pfn);
}

/* Bytes of one tree node: both node caches are SLAB_HWCACHE_ALIGN. */
static unsigned long bench_node_bytes(bool stock)
{
	return ALIGN(stock ? sizeof(struct iova) : sizeof(struct xiova),
		     cache_line_size());
}

/*
 * Stock keeps no node count. Counted under the tree lock: from 6.7 the
 * stock depot trims itself from delayed work, which removes ranges from
 * the tree while the benchmark looks.
 */
static unsigned long bench_stock_nodes(struct bench_dom *d)
{
	struct rb_node *node;
	unsigned long n = 0, flags;

	spin_lock_irqsave(&d->sd.iova_rbtree_lock, flags);
	for (node = rb_first(&d->sd.rbroot); node; node = rb_next(node))
		n++;
	spin_unlock_irqrestore(&d->sd.iova_rbtree_lock, flags);
	return n - 1;	/* the anchor */
}

struct bench_census {
	unsigned long	mags;
	unsigned long	cached;
	unsigned int	depot_full;
};

static bool bench_mag_sane(struct stock_magazine *mag)
{
	return mag && virt_addr_valid(mag) && mag->size <= STOCK_MAG_SIZE;
}

/*
 * Counts a stock domain's magazines through the mirror of its rcaches. A
 * depot larger than the @nodes of the tree could hold is no depot: the
 * mirror is wrong.
 */
static bool bench_stock_mags(struct bench_dom *d, unsigned long nodes,
			     struct bench_census *c)
{
	struct stock_rcache *rcaches = (void *)d->sd.rcaches;
	struct stock_cpu_rcache *cpu_rcache;
	struct stock_rcache *rcache;
	unsigned long flags, depot;
	unsigned int cpu;
	bool ok;
	int i;

	for (i = 0; i < BENCH_CLASSES; i++) {
		rcache = &rcaches[i];
		spin_lock_irqsave(&rcache->lock, flags);
		depot = rcache->depot_size;
		spin_unlock_irqrestore(&rcache->lock, flags);
		if (depot > STOCK_DEPOT_LIMIT || depot * STOCK_MAG_SIZE > nodes)
			return false;
		c->mags += depot;
		c->cached += depot * STOCK_MAG_SIZE;
		c->depot_full += depot == STOCK_DEPOT_LIMIT;

		for_each_possible_cpu(cpu) {
			cpu_rcache = per_cpu_ptr(rcache->cpu_rcaches, cpu);
			spin_lock_irqsave(&cpu_rcache->lock, flags);
			ok = bench_mag_sane(cpu_rcache->loaded) &&
			     bench_mag_sane(cpu_rcache->prev);
			if (ok)
				c->cached += cpu_rcache->loaded->size +
					     cpu_rcache->prev->size;
			spin_unlock_irqrestore(&cpu_rcache->lock, flags);
			if (!ok)
				return false;
			c->mags += 2;
		}
	}
	return true;
}

/*
 * Memory of a domain with @live ranges allocated by the workload. Ours
 * reports its magazines in debugfs (xiova/domain<N>/stats), which the guest
 * script reads; stock's are counted here.
 */
static void bench_put_census(struct bench_out *o, struct bench_dom *d,
			     unsigned long live)
{
	struct bench_census c = {};
	unsigned long nodes;
	int tries;
	bool ok;

	if (!d->stock) {
		nodes = READ_ONCE(d->xd.tree_nodes);
		bench_put(o, "domain_id=%d\n", d->xd.id);
		bench_put(o, "live=%lu\ntree_nodes=%lu\ntree_bytes=%lu\n", live,
			  nodes, nodes * bench_node_bytes(false));
		return;
	}
	/*
	 * A trim between the two counts (6.7's depot work) pops a magazine
	 * before its ranges leave the tree: count again.
	 */
	for (tries = 0; ; tries++) {
		memset(&c, 0, sizeof(c));
		nodes = bench_stock_nodes(d);
		ok = bench_stock_mags(d, nodes, &c) && nodes == live + c.cached;
		if (ok || tries == BENCH_CENSUS_TRIES)
			break;
		usleep_range(10000, 20000);
	}
	bench_put(o, "live=%lu\ntree_nodes=%lu\ntree_bytes=%lu\n", live, nodes,
		  nodes * bench_node_bytes(true));
	if (!ok) {
		bench_put(o, "mirror=bad\n");
		return;
	}
	bench_put(o, "mirror=ok\nmags=%lu\nmag_bytes=%lu\ncached=%lu\ndepot_full=%u\n",
		  c.mags, c.mags * sizeof(struct stock_magazine), c.cached,
		  c.depot_full);
}

/* Threads */

static int bench_thread_main(void *data)
{
	struct bench_thread *bt = data;

	while (!kthread_should_stop()) {
		/* Interruptible: an idle helper is not a hung task. */
		wait_event_interruptible(bt->wq, smp_load_acquire(&bt->posted) ||
					 kthread_should_stop());
		/* Pairs with the release in bench_thread_post(): fn and arg. */
		if (!smp_load_acquire(&bt->posted))
			continue;
		bt->ret = bt->fn(bt->arg);
		WRITE_ONCE(bt->posted, false);
		complete(&bt->done);
	}
	return 0;
}

static int bench_thread_start(struct bench_thread *bt, unsigned int cpu)
{
	if (!cpu_online(cpu))
		return -ENODEV;
	init_waitqueue_head(&bt->wq);
	init_completion(&bt->done);
	bt->posted = false;
	bt->task = kthread_create(bench_thread_main, bt, "xiova_bench/%u", cpu);
	if (IS_ERR(bt->task)) {
		int ret = PTR_ERR(bt->task);

		bt->task = NULL;
		return ret;
	}
	kthread_bind(bt->task, cpu);
	wake_up_process(bt->task);
	return 0;
}

static void bench_thread_stop(struct bench_thread *bt)
{
	if (bt->task)
		kthread_stop(bt->task);
	bt->task = NULL;
}

static void bench_thread_post(struct bench_thread *bt, int (*fn)(void *),
			      void *arg)
{
	reinit_completion(&bt->done);
	bt->fn = fn;
	bt->arg = arg;
	/* fn and arg are visible before the flag: see bench_thread_main(). */
	smp_store_release(&bt->posted, true);
	wake_up(&bt->wq);
}

/*
 * A fatal signal to the writer makes every loop stop at its next check;
 * the function still has to return before its data can go away.
 */
static int bench_thread_wait(struct bench_thread *bt)
{
	if (wait_for_completion_killable(&bt->done)) {
		WRITE_ONCE(bench_abort, true);
		wait_for_completion(&bt->done);
	}
	return bt->ret;
}

static int bench_thread_call(struct bench_thread *bt, int (*fn)(void *),
			     void *arg)
{
	bench_thread_post(bt, fn, arg);
	return bench_thread_wait(bt);
}

/* Runs @fn(@arg) in a kthread bound to @cpu and waits for it. */
static int bench_run_on(unsigned int cpu, int (*fn)(void *), void *arg)
{
	struct bench_thread bt;
	int ret;

	ret = bench_thread_start(&bt, cpu);
	if (ret)
		return ret;
	ret = bench_thread_call(&bt, fn, arg);
	bench_thread_stop(&bt);
	return ret ?: (READ_ONCE(bench_abort) ? -EINTR : 0);
}

/* W1: the fast path */

struct w1_job {
	struct bench_dom	*d;
	u64			ms;
	u64			*samples;
	u64			*samples2;
	unsigned long		pfns[64];
	u64			pair_ns[BENCH_CLASSES];		/* x 100 */
	u64			alloc_ns[BENCH_CLASSES];	/* x 100 */
	u64			free_ns[BENCH_CLASSES];		/* x 100 */
	u64			pairs[BENCH_CLASSES];
	u64			floor_ns;			/* x 100 */
};

/*
 * W1's control loop: only what a magazine hit cannot avoid. Interrupts
 * off and on around one load (alloc) or one store (free) of this CPU's
 * array, behind an out-of-line call as the allocators' exported functions
 * are. W1 divided by it says how close a fast path is to the floor.
 */
struct floor_mag {
	unsigned long	size;
	unsigned long	pfns[64];
};

static DEFINE_PER_CPU(struct floor_mag, floor_mag);

static noinline unsigned long floor_alloc(void)
{
	struct floor_mag *m;
	unsigned long flags, pfn = 0;

	local_irq_save(flags);
	m = this_cpu_ptr(&floor_mag);
	if (likely(m->size))
		pfn = m->pfns[--m->size];
	local_irq_restore(flags);
	return pfn;
}

static noinline void floor_free(unsigned long pfn)
{
	struct floor_mag *m;
	unsigned long flags;

	local_irq_save(flags);
	m = this_cpu_ptr(&floor_mag);
	if (likely(m->size < ARRAY_SIZE(m->pfns)))
		m->pfns[m->size++] = pfn;
	local_irq_restore(flags);
}

/* The control's pairs, timed as w1_pairs() times an allocator's. */
static int w1_floor(struct w1_job *j)
{
	unsigned int n = 0, i;
	unsigned long pfn;
	u64 t0, t1, deadline;

	floor_free(BENCH_START_PFN);
	deadline = ktime_get_ns() + j->ms * NSEC_PER_MSEC;
	do {
		t0 = ktime_get_ns();
		for (i = 0; i < BENCH_W1_BATCH; i++) {
			pfn = floor_alloc();
			if (unlikely(!pfn))
				return -ENOSPC;
			floor_free(pfn);
		}
		t1 = ktime_get_ns();
		j->samples[n++] = t1 - t0;
		if (bench_yield())
			return -EINTR;
	} while (t1 < deadline && n < BENCH_MAX_SAMPLES);
	floor_alloc();
	j->floor_ns = div_u64(bench_median(j->samples, n) * 100,
			      BENCH_W1_BATCH);
	return 0;
}

/* Strict pairs, one alloc_fast then one free_fast, in timed batches. */
static __always_inline int w1_pairs(struct w1_job *j, const bool stock,
				    int cls)
{
	unsigned long size = 1UL << cls, pfn;
	unsigned int n = 0, i;
	u64 t0, t1, deadline;

	deadline = ktime_get_ns() + j->ms * NSEC_PER_MSEC;
	do {
		t0 = ktime_get_ns();
		for (i = 0; i < BENCH_W1_BATCH; i++) {
			pfn = bd_alloc_fast(j->d, stock, size, BENCH_LIMIT32,
					    true);
			if (unlikely(!pfn))
				return -ENOSPC;
			bd_free_fast(j->d, stock, pfn, size);
		}
		t1 = ktime_get_ns();
		j->samples[n++] = t1 - t0;
		if (bench_yield())
			return -EINTR;
	} while (t1 < deadline && n < BENCH_MAX_SAMPLES);
	/* The median batch: interrupts and preemption land in the tail. */
	j->pair_ns[cls] = div_u64(bench_median(j->samples, n) * 100,
				  BENCH_W1_BATCH);
	j->pairs[cls] = (u64)n * BENCH_W1_BATCH;
	return 0;
}

/* The same, split: 64 allocations, then 64 frees, timed apart. */
static __always_inline int w1_split(struct w1_job *j, const bool stock,
				    int cls)
{
	unsigned int n = 0, i, batch = ARRAY_SIZE(j->pfns);
	unsigned long size = 1UL << cls;
	u64 t0, t1, t2, deadline;
	bool failed = false;

	deadline = ktime_get_ns() + j->ms * NSEC_PER_MSEC;
	do {
		t0 = ktime_get_ns();
		for (i = 0; i < batch; i++) {
			j->pfns[i] = bd_alloc_fast(j->d, stock, size,
						   BENCH_LIMIT32, true);
			if (unlikely(!j->pfns[i])) {
				failed = true;
				break;
			}
		}
		t1 = ktime_get_ns();
		while (i--)
			bd_free_fast(j->d, stock, j->pfns[i], size);
		t2 = ktime_get_ns();
		if (unlikely(failed))
			return -ENOSPC;
		j->samples[n] = t1 - t0;
		j->samples2[n++] = t2 - t1;
		if (bench_yield())
			return -EINTR;
	} while (t2 < deadline && n < BENCH_MAX_SAMPLES);
	j->alloc_ns[cls] = div_u64(bench_median(j->samples, n) * 100, batch);
	j->free_ns[cls] = div_u64(bench_median(j->samples2, n) * 100, batch);
	return 0;
}

static __always_inline int w1_all(struct w1_job *j, const bool stock)
{
	unsigned int i;
	int cls, ret;

	for (cls = 0; cls < BENCH_CLASSES; cls++) {
		/* Warm up: fill the loaded magazine past one split batch. */
		for (i = 0; i < ARRAY_SIZE(j->pfns); i++) {
			j->pfns[i] = bd_alloc_fast(j->d, stock, 1UL << cls,
						   BENCH_LIMIT32, true);
			if (!j->pfns[i])
				return -ENOSPC;
		}
		while (i--)
			bd_free_fast(j->d, stock, j->pfns[i], 1UL << cls);
		ret = w1_pairs(j, stock, cls);
		if (!ret)
			ret = w1_split(j, stock, cls);
		if (ret)
			return ret;
	}
	return w1_floor(j);
}

static int w1_thread(void *arg)
{
	struct w1_job *j = arg;

	return j->d->stock ? w1_all(j, true) : w1_all(j, false);
}

static int bench_w1(struct bench_dom *d, u64 ms, struct bench_out *o)
{
	struct w1_job *j;
	u64 sum = 0;
	int cls, ret = -ENOMEM;
	char key[24];

	j = kzalloc(sizeof(*j), GFP_KERNEL);
	if (!j)
		return -ENOMEM;
	j->samples = kvmalloc_array(BENCH_MAX_SAMPLES, sizeof(u64), GFP_KERNEL);
	j->samples2 = kvmalloc_array(BENCH_MAX_SAMPLES, sizeof(u64),
				     GFP_KERNEL);
	if (!j->samples || !j->samples2)
		goto out;
	j->d = d;
	j->ms = ms;
	ret = bench_run_on(BENCH_CPU, w1_thread, j);
	if (ret)
		goto out;
	for (cls = 0; cls < BENCH_CLASSES; cls++) {
		snprintf(key, sizeof(key), "ns_pair_c%d", cls);
		bench_put_frac(o, key, j->pair_ns[cls], 100);
		snprintf(key, sizeof(key), "ns_alloc_c%d", cls);
		bench_put_frac(o, key, j->alloc_ns[cls], 100);
		snprintf(key, sizeof(key), "ns_free_c%d", cls);
		bench_put_frac(o, key, j->free_ns[cls], 100);
		sum += j->pair_ns[cls];
	}
	/* Every class weighs the same: the mean of the class medians. */
	bench_put_frac(o, "ns_pair", sum, 100 * BENCH_CLASSES);
	bench_put_frac(o, "ns_floor", j->floor_ns, 100);
out:
	kvfree(j->samples2);
	kvfree(j->samples);
	kfree(j);
	return ret;
}

/* W2: flush-queue bursts; also the engine of W3, W6 and the memory run */

struct w2_state {
	struct bench_dom	*d;
	struct bench_thread	*helper;	/* frees odd rounds, or NULL */
	struct bench_rng	rng;
	unsigned long		*pfn;		/* this round's ranges */
	u8			*size;
	unsigned long		n;
	unsigned long		cap;
	unsigned int		bursts;
	/* W3's long-lived ranges: a FIFO of up to ring_max entries */
	unsigned long		*ring_pfn;
	u8			*ring_size;
	unsigned long		ring_max;
	unsigned long		ring_head;
	unsigned long		ring_len;
	unsigned long		ring_cap;
	u64			allocs;
	u64			fallbacks;
	u64			rounds;
};

static void w2_state_free(struct w2_state *s)
{
	kvfree(s->pfn);
	kvfree(s->size);
	kvfree(s->ring_pfn);
	kvfree(s->ring_size);
	s->pfn = NULL;
	s->size = NULL;
	s->ring_pfn = NULL;
	s->ring_size = NULL;
}

/* Ranges are not freed here: destroying the domain frees what is left. */
static int w2_state_init(struct w2_state *s, struct bench_dom *d,
			 unsigned int max_bursts, unsigned long ring_max,
			 u64 seed)
{
	memset(s, 0, sizeof(*s));
	s->d = d;
	bench_rng_seed(&s->rng, seed);
	/* A round can also free every long-lived range it evicts. */
	s->cap = (unsigned long)max_bursts * BENCH_BURST * 2 + ring_max;
	s->bursts = max_bursts;
	s->ring_max = ring_max;
	s->pfn = kvmalloc_array(s->cap, sizeof(*s->pfn), GFP_KERNEL);
	s->size = kvmalloc_array(s->cap, sizeof(*s->size), GFP_KERNEL);
	if (ring_max) {
		s->ring_pfn = kvmalloc_array(ring_max, sizeof(*s->ring_pfn),
					     GFP_KERNEL);
		s->ring_size = kvmalloc_array(ring_max, sizeof(*s->ring_size),
					      GFP_KERNEL);
	}
	if (!s->pfn || !s->size || (ring_max && (!s->ring_pfn || !s->ring_size))) {
		w2_state_free(s);
		return -ENOMEM;
	}
	return 0;
}

static __always_inline int w2_fill(struct w2_state *s, const bool stock,
				   unsigned long count)
{
	unsigned long i, size, pfn;

	for (i = 0; i < count; i++) {
		size = bench_size(&s->rng);
		pfn = bd_dma_alloc(s->d, stock, size, &s->fallbacks);
		if (unlikely(!pfn))
			return -ENOSPC;
		s->pfn[s->n] = pfn;
		s->size[s->n] = size;
		s->n++;
		if (!((i + 1) % BENCH_BATCH) && bench_yield())
			return -EINTR;
	}
	s->allocs += count;
	return 0;
}

/* Frees run to the end even on abort: they are bounded and cheap. */
static __always_inline void w2_drain(struct w2_state *s, const bool stock)
{
	unsigned long i;

	for (i = 0; i < s->n; i++) {
		if (s->pfn[i])
			bd_free_fast(s->d, stock, s->pfn[i], s->size[i]);
		if (!((i + 1) % BENCH_BATCH))
			cond_resched();
	}
	s->n = 0;
}

static int w2_free_all(void *arg)
{
	struct w2_state *s = arg;

	if (s->d->stock)
		w2_drain(s, true);
	else
		w2_drain(s, false);
	return 0;
}

static void w3_evict_one(struct w2_state *s)
{
	s->pfn[s->n] = s->ring_pfn[s->ring_head];
	s->size[s->n] = s->ring_size[s->ring_head];
	s->n++;
	s->ring_head = (s->ring_head + 1) % s->ring_max;
	s->ring_len--;
}

/*
 * One range in 16 of the round outlives it in a FIFO whose capacity
 * follows the working set: the long-lived mappings that fragment a tree.
 */
static void w3_retain(struct w2_state *s)
{
	unsigned long i, n = s->n, tail;

	while (s->ring_len > s->ring_cap)
		w3_evict_one(s);
	for (i = 0; i < n && s->ring_cap; i++) {
		if (bench_rand(&s->rng) % 16)
			continue;
		if (s->ring_len == s->ring_cap)
			w3_evict_one(s);
		tail = (s->ring_head + s->ring_len) % s->ring_max;
		s->ring_pfn[tail] = s->pfn[i];
		s->ring_size[tail] = s->size[i];
		s->ring_len++;
		s->pfn[i] = 0;
	}
}

/*
 * Allocate bursts x 1024 ranges, then free them all, on CPU 1 every other
 * round when there is a helper there.
 */
static int w2_round(struct w2_state *s)
{
	unsigned long count = (unsigned long)s->bursts * BENCH_BURST;
	bool remote = s->helper && (s->rounds & 1);
	int ret;

	/* What an interrupted round left allocated goes first. */
	if (s->n)
		w2_free_all(s);
	if (s->d->stock)
		ret = w2_fill(s, true, count);
	else
		ret = w2_fill(s, false, count);
	s->rounds++;
	if (ret)
		return ret;
	if (s->ring_max)
		w3_retain(s);
	if (remote)
		return bench_thread_call(s->helper, w2_free_all, s);
	return w2_free_all(s);
}

struct w2_job {
	struct w2_state	s;
	u64		ms;
	u64		ns;
};

static int w2_thread(void *arg)
{
	struct w2_job *j = arg;
	u64 start, now, deadline;
	int ret;

	/* One untimed round: both allocators start from warm caches. */
	ret = w2_round(&j->s);
	if (ret)
		return ret;
	j->s.allocs = 0;
	j->s.fallbacks = 0;
	start = ktime_get_ns();
	deadline = start + j->ms * NSEC_PER_MSEC;
	do {
		ret = w2_round(&j->s);
		now = ktime_get_ns();
	} while (!ret && now < deadline);
	j->ns = now - start;
	return ret;
}

static void bench_put_rate(struct bench_out *o, const char *key, u64 ops,
			   u64 ns)
{
	bench_put(o, "%s=%llu\n", key, ns ? div64_u64(ops * NSEC_PER_SEC, ns) : 0);
}

static int bench_w2(struct bench_dom *d, u64 ms, unsigned int bursts,
		    u64 seed, struct bench_out *o)
{
	struct bench_thread helper = {};
	struct w2_job *j;
	int ret;

	j = kzalloc(sizeof(*j), GFP_KERNEL);
	if (!j)
		return -ENOMEM;
	ret = w2_state_init(&j->s, d, bursts, 0, seed);
	if (ret)
		goto out;
	j->ms = ms;
	/* Without a second CPU every round frees locally. */
	if (!bench_thread_start(&helper, BENCH_OTHER_CPU))
		j->s.helper = &helper;
	ret = bench_run_on(BENCH_CPU, w2_thread, j);
	bench_thread_stop(&helper);
	if (ret)
		goto out;
	bench_put(o, "bursts=%u\nrounds=%llu\nallocs=%llu\nfallbacks=%llu\nns=%llu\n",
		  bursts, j->s.rounds - 1, j->s.allocs, j->s.fallbacks, j->ns);
	bench_put(o, "remote_frees=%d\n", !!j->s.helper);
	bench_put_rate(o, "ops_per_sec", j->s.allocs, j->ns);
	bench_put_census(o, d, 0);
out:
	w2_state_free(&j->s);
	kfree(j);
	return ret;
}

/* W3: W2 for minutes, in windows, with a working set that breathes */

struct w3_session {
	struct bench_dom	*d;
	struct w2_state		s;
	struct bench_thread	helper;
	u64			min_bursts;
	u64			max_bursts;
	u64			period_ms;
	u64			t_ns;		/* workload time so far */
	u64			ms;		/* of the current window */
	u64			window_ns;
	unsigned int		windows;
};

/* A triangle wave from min to max bursts and back over one period. */
static unsigned int w3_bursts(struct w3_session *w)
{
	u64 period = w->period_ms * NSEC_PER_MSEC;
	u64 x = w->t_ns - div64_u64(w->t_ns, period) * period;

	x = x < period / 2 ? 2 * x : 2 * (period - x);
	return w->min_bursts +
	       div64_u64((w->max_bursts - w->min_bursts) * x, period);
}

static int w3_thread(void *arg)
{
	struct w3_session *w = arg;
	u64 start, now, deadline;
	int ret;

	start = ktime_get_ns();
	deadline = start + w->ms * NSEC_PER_MSEC;
	do {
		w->s.bursts = w3_bursts(w);
		w->s.ring_cap = (unsigned long)w->s.bursts * 64;
		ret = w2_round(&w->s);
		now = ktime_get_ns();
		w->t_ns += now - start - w->window_ns;
		w->window_ns = now - start;
	} while (!ret && now < deadline);
	return ret;
}

static struct w3_session *w3_sessions[2];	/* [stock] */
static struct bench_dom *mem_sessions[2];	/* [stock] */

static void w3_destroy(struct w3_session *w)
{
	if (!w)
		return;
	bench_thread_stop(&w->helper);
	bench_dom_destroy(w->d);
	w2_state_free(&w->s);
	kfree(w);
}

/* Workload parameters: KEY=VALUE words of a command */

struct bench_args {
	u64	ms;
	u64	bursts;
	u64	seed;
	u64	live;
	u64	iters;
	u64	fill;
	u64	walks;
	u64	min_bursts;
	u64	max_bursts;
	u64	period_ms;
	u64	rounds;
};

static int bench_w3(bool stock, const char *action, struct bench_args *a,
		    struct bench_out *o)
{
	struct w3_session *w = w3_sessions[stock];
	u64 allocs, fallbacks, rounds;
	int ret;

	if (!strcmp(action, "stop")) {
		if (!w)
			return -ENOENT;
		w3_sessions[stock] = NULL;
		w3_destroy(w);
		return 0;
	}
	if (!strcmp(action, "start")) {
		if (w)
			return -EBUSY;
		if (a->min_bursts > a->max_bursts)
			return -EINVAL;
		w = kzalloc(sizeof(*w), GFP_KERNEL);
		if (!w)
			return -ENOMEM;
		w->min_bursts = a->min_bursts;
		w->max_bursts = a->max_bursts;
		w->period_ms = a->period_ms;
		w->d = bench_dom_create(stock);
		if (IS_ERR(w->d)) {
			ret = PTR_ERR(w->d);
			w->d = NULL;
			goto err;
		}
		ret = w2_state_init(&w->s, w->d, a->max_bursts,
				    a->max_bursts * 64, a->seed);
		if (ret)
			goto err;
		if (!bench_thread_start(&w->helper, BENCH_OTHER_CPU))
			w->s.helper = &w->helper;
		w3_sessions[stock] = w;
		bench_put_census(o, w->d, 0);
		return 0;
	}
	if (strcmp(action, "step"))
		return -EINVAL;
	if (!w)
		return -ENOENT;

	allocs = w->s.allocs;
	fallbacks = w->s.fallbacks;
	rounds = w->s.rounds;
	w->ms = a->ms ?: 5000;
	w->window_ns = 0;
	ret = bench_run_on(BENCH_CPU, w3_thread, w);
	if (ret)
		return ret;
	w->windows++;
	bench_put(o, "window=%u\nt_ms=%llu\nbursts=%u\nrounds=%llu\n",
		  w->windows, div_u64(w->t_ns, NSEC_PER_MSEC), w->s.bursts,
		  w->s.rounds - rounds);
	bench_put(o, "allocs=%llu\nfallbacks=%llu\nns=%llu\n",
		  w->s.allocs - allocs, w->s.fallbacks - fallbacks,
		  w->window_ns);
	bench_put_rate(o, "ops_per_sec", w->s.allocs - allocs, w->window_ns);
	bench_put_census(o, w->d, w->s.ring_len);
	return 0;

err:
	w3_destroy(w);
	return ret;
}

/* W4: sizes above the caches, in a tree fragmented by live ranges */

static const u16 w4_sizes[] = { 40, 64, 96, 128, 192, 256 };

struct w4_job {
	struct bench_dom	*d;
	u64			live;
	u64			iters;
	struct bench_rng	rng;
	unsigned long		*pfn;
	u8			*size;
	u64			*samples;
	u64			setup_ns;
	u64			total_ns;
	u64			max_ns;
	unsigned int		n;
};

static __always_inline int w4_run(struct w4_job *j, const bool stock)
{
	unsigned long i, k, pfn, size;
	u64 t0, t1;

	t0 = ktime_get_ns();
	for (i = 0; i < j->live; i++) {
		j->size[i] = bench_size(&j->rng);
		j->pfn[i] = bd_alloc(j->d, j->size[i], BENCH_LIMIT64);
		if (!j->pfn[i])
			return -ENOSPC;
		if (!((i + 1) % BENCH_BATCH) && bench_yield())
			return -EINTR;
	}
	j->setup_ns = ktime_get_ns() - t0;

	for (j->n = 0; j->n < j->iters; j->n++) {
		/*
		 * Churn, untimed: a range freed and allocated again moves the
		 * cached node up into the fragmented part of the tree, where
		 * a busy domain's frees keep putting it.
		 */
		k = bench_rand(&j->rng) % j->live;
		bd_free(j->d, j->pfn[k]);
		j->pfn[k] = bd_alloc(j->d, j->size[k], BENCH_LIMIT64);
		if (!j->pfn[k])
			return -ENOSPC;

		size = w4_sizes[bench_rand(&j->rng) % ARRAY_SIZE(w4_sizes)];
		t0 = ktime_get_ns();
		pfn = bd_alloc_fast(j->d, stock, size, BENCH_LIMIT64, true);
		if (unlikely(!pfn))
			return -ENOSPC;
		bd_free_fast(j->d, stock, pfn, size);
		t1 = ktime_get_ns();
		j->samples[j->n] = t1 - t0;
		j->total_ns += t1 - t0;
		j->max_ns = max(j->max_ns, t1 - t0);
		if (bench_yield())
			return -EINTR;
	}
	return 0;
}

static int w4_thread(void *arg)
{
	struct w4_job *j = arg;

	return j->d->stock ? w4_run(j, true) : w4_run(j, false);
}

static int bench_w4(struct bench_dom *d, struct bench_args *a,
		    struct bench_out *o, int (*thread)(void *))
{
	struct w4_job *j;
	int ret = -ENOMEM;

	j = kzalloc(sizeof(*j), GFP_KERNEL);
	if (!j)
		return -ENOMEM;
	j->d = d;
	j->live = a->live;
	j->iters = a->iters;
	bench_rng_seed(&j->rng, a->seed);
	j->pfn = kvmalloc_array(j->live, sizeof(*j->pfn), GFP_KERNEL);
	j->size = kvmalloc_array(j->live, sizeof(*j->size), GFP_KERNEL);
	j->samples = kvmalloc_array(j->iters, sizeof(u64), GFP_KERNEL);
	if (!j->pfn || !j->size || !j->samples)
		goto out;
	ret = bench_run_on(BENCH_CPU, thread, j);
	if (ret)
		goto out;
	bench_put(o, "live=%llu\niters=%u\nsetup_ns=%llu\nmax_ns=%llu\n",
		  j->live, j->n, j->setup_ns, j->max_ns);
	bench_put_frac(o, "ns_pair", bench_median(j->samples, j->n) * 100, 100);
	bench_put_frac(o, "mean_ns_pair", j->total_ns, j->n);
out:
	kvfree(j->samples);
	kvfree(j->size);
	kvfree(j->pfn);
	kfree(j);
	return ret;
}

/*
 * W4a: aligned sizes above the caches, in a tree whose gaps are all large
 * enough and all misaligned: single-pfn live ranges at 64i and 64i + 37
 * right below the 48-bit limit leave gaps of 36 and 26 pfns, and no
 * multiple of 64 is free in any of them, so 33 to 36 granules aligned to
 * 64 fit only below the lowest range.
 */

static const u16 w4a_sizes[] = { 33, 34, 35, 36 };

#define W4A_STRIDE		64UL
#define W4A_SECOND		37UL

/*
 * One live pfn at @pfn: both allocators give the highest free pfn at or
 * below the limit, which is @pfn itself while it is free.
 */
static unsigned long bd_alloc_at(struct bench_dom *d, unsigned long pfn)
{
	struct xiova *xiova;
	struct iova *iova;

	if (d->stock) {
		iova = alloc_iova(&d->sd, 1, pfn, false);
		return iova ? iova->pfn_lo : 0;
	}
	xiova = xiova_alloc(&d->xd, 1, pfn, false);
	return xiova ? xiova->pfn_lo : 0;
}

static __always_inline int w4a_run(struct w4_job *j, const bool stock)
{
	unsigned long i, k, pfn, size, base;
	u64 t0, t1;

	if (!j->live || DIV_ROUND_UP(j->live, 2) >= BENCH_LIMIT64 / W4A_STRIDE)
		return -EINVAL;
	/* Both pfns of every stride, from the top down. */
	base = BENCH_LIMIT64 + 1 - W4A_STRIDE * DIV_ROUND_UP(j->live, 2);
	t0 = ktime_get_ns();
	for (i = 0; i < j->live; i++) {
		k = j->live - 1 - i;
		pfn = base + W4A_STRIDE * (k / 2) + (k % 2 ? W4A_SECOND : 0);
		j->pfn[k] = bd_alloc_at(j->d, pfn);
		if (j->pfn[k] != pfn)
			return j->pfn[k] ? -EIO : -ENOSPC;
		if (!((i + 1) % BENCH_BATCH) && bench_yield())
			return -EINTR;
	}
	j->setup_ns = ktime_get_ns() - t0;

	for (j->n = 0; j->n < j->iters; j->n++) {
		/*
		 * Churn, untimed, as in W4: a range freed and allocated again
		 * at its pfn moves the cached node into the ranges.
		 */
		k = bench_rand(&j->rng) % j->live;
		bd_free(j->d, j->pfn[k]);
		if (bd_alloc_at(j->d, j->pfn[k]) != j->pfn[k])
			return -EIO;

		size = w4a_sizes[bench_rand(&j->rng) % ARRAY_SIZE(w4a_sizes)];
		t0 = ktime_get_ns();
		pfn = bd_alloc_fast(j->d, stock, size, BENCH_LIMIT64, true);
		if (unlikely(!pfn))
			return -ENOSPC;
		bd_free_fast(j->d, stock, pfn, size);
		t1 = ktime_get_ns();
		if (unlikely(pfn >= base))
			return -EIO;
		j->samples[j->n] = t1 - t0;
		j->total_ns += t1 - t0;
		j->max_ns = max(j->max_ns, t1 - t0);
		if (bench_yield())
			return -EINTR;
	}
	return 0;
}

static int w4a_thread(void *arg)
{
	struct w4_job *j = arg;

	return j->d->stock ? w4a_run(j, true) : w4a_run(j, false);
}

/* W5: requests limited to 32 bits when that window is full */

struct w5_job {
	struct bench_dom	*d;
	u64			fill;
	u64			iters;
	u64			walks;
	struct bench_rng	rng;
	u64			*samples;
	u64			fill_nodes;
	u64			fill_ns;
	u64			fail_ns;	/* x 100 */
	u64			fallback_ns;	/* x 100 */
	u64			walk_ns;
	u64			walk_max_ns;
};

/* The median per operation, x 100, of batches of BENCH_BATCH. */
static u64 w5_per_op(struct w5_job *j, unsigned int n)
{
	return div_u64(bench_median(j->samples, n) * 100, BENCH_BATCH);
}

static __always_inline int w5_run(struct w5_job *j, const bool stock)
{
	unsigned long size, pfn, low = 0, i;
	unsigned int n;
	u64 t0, t1, fb = 0;

	/* Fill [start_pfn, 4 GiB) top-down: big blocks, then the crumbs. */
	t0 = ktime_get_ns();
	for (size = j->fill; size; size >>= 1) {
		while ((pfn = bd_alloc(j->d, size, BENCH_LIMIT32))) {
			low = pfn;
			if (!(++j->fill_nodes % BENCH_BATCH) && bench_yield())
				return -EINTR;
		}
	}
	j->fill_ns = ktime_get_ns() - t0;
	if (!low)
		return -ENOSPC;

	/* A request that fails at once: the size is known not to fit. */
	for (n = 0; n < j->iters / BENCH_BATCH; n++) {
		t0 = ktime_get_ns();
		for (i = 0; i < BENCH_BATCH; i++) {
			size = bench_size(&j->rng);
			pfn = bd_alloc_fast(j->d, stock, size, BENCH_LIMIT32,
					    false);
			if (unlikely(pfn)) {
				bd_free_fast(j->d, stock, pfn, size);
				return -EIO;	/* the window is not full */
			}
		}
		j->samples[n] = ktime_get_ns() - t0;
		if (bench_yield())
			return -EINTR;
	}
	j->fail_ns = w5_per_op(j, n);

	/* What a driver pays: fail below 4 GiB, allocate above, free. */
	for (n = 0; n < j->iters / BENCH_BATCH; n++) {
		t0 = ktime_get_ns();
		for (i = 0; i < BENCH_BATCH; i++) {
			size = bench_size(&j->rng);
			pfn = bd_dma_alloc(j->d, stock, size, &fb);
			if (unlikely(!pfn))
				return -ENOSPC;
			bd_free_fast(j->d, stock, pfn, size);
		}
		j->samples[n] = ktime_get_ns() - t0;
		if (bench_yield())
			return -EINTR;
	}
	j->fallback_ns = w5_per_op(j, n);

	/*
	 * Any free below 4 GiB re-arms the full walk: the next request that
	 * does not fit searches the whole window before it fails.
	 */
	for (n = 0; n < j->walks; n++) {
		bd_free(j->d, low);
		low = bd_alloc(j->d, 1, BENCH_LIMIT32);
		if (!low)
			return -ENOSPC;
		t0 = ktime_get_ns();
		pfn = bd_alloc_fast(j->d, stock, 2, BENCH_LIMIT32, false);
		t1 = ktime_get_ns();
		if (unlikely(pfn)) {
			bd_free_fast(j->d, stock, pfn, 2);
			return -EIO;
		}
		j->samples[n] = t1 - t0;
		j->walk_max_ns = max(j->walk_max_ns, t1 - t0);
		if (bench_yield())
			return -EINTR;
	}
	j->walk_ns = bench_median(j->samples, n);
	return 0;
}

static int w5_thread(void *arg)
{
	struct w5_job *j = arg;

	return j->d->stock ? w5_run(j, true) : w5_run(j, false);
}

static int bench_w5(struct bench_dom *d, struct bench_args *a,
		    struct bench_out *o)
{
	struct w5_job *j;
	int ret = -ENOMEM;

	if (!is_power_of_2(a->fill) || a->iters < BENCH_BATCH)
		return -EINVAL;
	j = kzalloc(sizeof(*j), GFP_KERNEL);
	if (!j)
		return -ENOMEM;
	j->d = d;
	j->fill = a->fill;
	j->iters = a->iters;
	j->walks = a->walks;
	bench_rng_seed(&j->rng, a->seed);
	j->samples = kvmalloc_array(max(j->iters / BENCH_BATCH, j->walks),
				    sizeof(u64), GFP_KERNEL);
	if (!j->samples)
		goto out;
	ret = bench_run_on(BENCH_CPU, w5_thread, j);
	if (ret)
		goto out;
	bench_put(o, "fill_nodes=%llu\nfill_ns=%llu\n", j->fill_nodes,
		  j->fill_ns);
	bench_put_frac(o, "fail_ns", j->fail_ns, 100);
	bench_put_frac(o, "fallback_ns", j->fallback_ns, 100);
	bench_put(o, "walk_fail_ns=%llu\nwalk_fail_max_ns=%llu\n", j->walk_ns,
		  j->walk_max_ns);
out:
	kvfree(j->samples);
	kfree(j);
	return ret;
}

/* W6: the same loop on one CPU, then on two at once */

/* Also the unit of W6's control loop, which shares nothing between CPUs. */
static noinline void calib_nop(void)
{
	barrier();
}

enum w6_loop {
	W6_NULL,	/* no allocator: how well the host runs two vCPUs */
	W6_PAIRS,	/* W1's loop, the size class changing every batch */
	W6_BURSTS,	/* W2's loop, freeing on the same CPU */
};

struct w6_thread {
	struct bench_dom	*d;
	atomic_t		*ready;
	int			nthreads;
	enum w6_loop		loop;
	u64			ms;
	struct w2_state		s;
	u64			ops;
	u64			ns;
};

static __always_inline int w6_pairs(struct w6_thread *t, const bool stock)
{
	unsigned long size, pfn;
	u64 start, now, deadline;
	unsigned int i, batch = 0;

	start = ktime_get_ns();
	deadline = start + t->ms * NSEC_PER_MSEC;
	do {
		size = 1UL << (batch++ % BENCH_CLASSES);
		for (i = 0; i < BENCH_BATCH; i++) {
			pfn = bd_alloc_fast(t->d, stock, size, BENCH_LIMIT32,
					    true);
			if (unlikely(!pfn))
				return -ENOSPC;
			bd_free_fast(t->d, stock, pfn, size);
		}
		t->ops += BENCH_BATCH;
		now = ktime_get_ns();
		if (bench_yield())
			return -EINTR;
	} while (now < deadline);
	t->ns = now - start;
	return 0;
}

static int w6_null(struct w6_thread *t)
{
	u64 start, now, deadline;
	unsigned int i;

	start = ktime_get_ns();
	deadline = start + t->ms * NSEC_PER_MSEC;
	do {
		for (i = 0; i < BENCH_BATCH; i++)
			calib_nop();
		t->ops += BENCH_BATCH;
		now = ktime_get_ns();
		if (bench_yield())
			return -EINTR;
	} while (now < deadline);
	t->ns = now - start;
	return 0;
}

static int w6_main(void *arg)
{
	struct w6_thread *t = arg;
	u64 start, now, deadline;
	int ret;

	/* Both threads start together, or the first would run alone. */
	atomic_inc(t->ready);
	while (atomic_read(t->ready) < t->nthreads)
		if (bench_yield())
			return -EINTR;
	if (t->loop == W6_NULL)
		return w6_null(t);
	if (t->loop == W6_PAIRS)
		return t->d->stock ? w6_pairs(t, true) : w6_pairs(t, false);

	start = ktime_get_ns();
	deadline = start + t->ms * NSEC_PER_MSEC;
	do {
		ret = w2_round(&t->s);
		now = ktime_get_ns();
	} while (!ret && now < deadline);
	t->ops = t->s.allocs;
	t->ns = now - start;
	return ret;
}

/* Operations per second of @nthreads threads on a new domain. */
static int w6_phase(bool stock, enum w6_loop loop, int nthreads,
		    struct bench_args *a, u64 *rate)
{
	struct bench_thread bt[2] = {};
	atomic_t ready = ATOMIC_INIT(0);
	struct w6_thread *t;
	struct bench_dom *d;
	int i, err, ret = 0;

	t = kcalloc(nthreads, sizeof(*t), GFP_KERNEL);
	if (!t)
		return -ENOMEM;
	d = bench_dom_create(stock);
	if (IS_ERR(d)) {
		kfree(t);
		return PTR_ERR(d);
	}
	for (i = 0; i < nthreads; i++) {
		t[i].d = d;
		t[i].ready = &ready;
		t[i].nthreads = nthreads;
		t[i].loop = loop;
		t[i].ms = a->ms ?: 1000;
		if (loop != W6_BURSTS)
			continue;
		ret = w2_state_init(&t[i].s, d, a->bursts, 0, a->seed + i);
		if (ret)
			goto out;
	}
	for (i = 0; i < nthreads; i++) {
		ret = bench_thread_start(&bt[i],
					 i ? BENCH_OTHER_CPU : BENCH_CPU);
		if (ret)
			goto out;
	}
	for (i = 0; i < nthreads; i++)
		bench_thread_post(&bt[i], w6_main, &t[i]);
	for (i = 0; i < nthreads; i++) {
		err = bench_thread_wait(&bt[i]);
		ret = ret ?: err;
	}
	*rate = 0;
	for (i = 0; !ret && i < nthreads; i++)
		*rate += t[i].ns ? div64_u64(t[i].ops * NSEC_PER_SEC, t[i].ns) : 0;
out:
	for (i = 0; i < nthreads; i++) {
		bench_thread_stop(&bt[i]);
		w2_state_free(&t[i].s);
	}
	bench_dom_destroy(d);
	kfree(t);
	return ret ?: (READ_ONCE(bench_abort) ? -EINTR : 0);
}

static int bench_w6(bool stock, struct bench_args *a, struct bench_out *o)
{
	static const char * const loops[] = {
		[W6_NULL] = "w0", [W6_PAIRS] = "w1", [W6_BURSTS] = "w2",
	};
	u64 one, two;
	char key[24];
	int i, ret;

	if (!cpu_online(BENCH_OTHER_CPU))
		return -ENODEV;
	for (i = 0; i < ARRAY_SIZE(loops); i++) {
		ret = w6_phase(stock, i, 1, a, &one);
		if (!ret)
			ret = w6_phase(stock, i, 2, a, &two);
		if (ret)
			return ret;
		snprintf(key, sizeof(key), "%s_one", loops[i]);
		bench_put(o, "%s=%llu\n", key, one);
		snprintf(key, sizeof(key), "%s_two", loops[i]);
		bench_put(o, "%s=%llu\n", key, two);
		snprintf(key, sizeof(key), "%s_scaling", loops[i]);
		bench_put_frac(o, key, two, one);
	}
	return 0;
}

/* Memory: a domain after W2's bursts, kept until the script has looked */

struct mem_job {
	struct w2_state	s;
	u64		rounds;
};

static int mem_thread(void *arg)
{
	struct mem_job *j = arg;
	u64 r;
	int ret = 0;

	for (r = 0; r < j->rounds && !ret; r++)
		ret = w2_round(&j->s);
	return ret;
}

static int bench_mem(bool stock, const char *action, struct bench_args *a,
		     struct bench_out *o)
{
	struct bench_dom *d = mem_sessions[stock];
	struct bench_thread helper = {};
	struct mem_job *j;
	int ret;

	if (!strcmp(action, "report")) {
		if (!d)
			return -ENOENT;
		bench_put_census(o, d, 0);
		return 0;
	}
	if (!strcmp(action, "stop")) {
		if (!d)
			return -ENOENT;
		mem_sessions[stock] = NULL;
		bench_dom_destroy(d);
		return 0;
	}
	if (strcmp(action, "start"))
		return -EINVAL;
	if (d)
		return -EBUSY;

	j = kzalloc(sizeof(*j), GFP_KERNEL);
	if (!j)
		return -ENOMEM;
	d = bench_dom_create(stock);
	if (IS_ERR(d)) {
		kfree(j);
		return PTR_ERR(d);
	}
	ret = w2_state_init(&j->s, d, a->bursts, 0, a->seed);
	if (ret)
		goto out;
	j->rounds = a->rounds;
	if (!bench_thread_start(&helper, BENCH_OTHER_CPU))
		j->s.helper = &helper;
	ret = bench_run_on(BENCH_CPU, mem_thread, j);
	bench_thread_stop(&helper);
	if (ret)
		goto out;
	mem_sessions[stock] = d;
	d = NULL;
	bench_put(o, "rounds=%llu\nbursts=%llu\n", a->rounds, a->bursts);
	bench_put_census(o, mem_sessions[stock], 0);
out:
	bench_dom_destroy(d);
	w2_state_free(&j->s);
	kfree(j);
	return ret;
}

/* Calibration: what the primitives of a fast path cost on this machine */

enum {
	CALIB_LOOP,
	CALIB_KTIME,
	CALIB_IRQSAVE,
	CALIB_LOCK_IRQSAVE,
	CALIB_LOCK,
	CALIB_CALL,
	CALIB_KMALLOC_1K,
	CALIB_KZALLOC_1K,
	CALIB_N,
};

static const char * const calib_names[CALIB_N] = {
	"loop_ns", "ktime_ns", "irqsave_ns", "lock_irqsave_ns", "lock_ns",
	"call_ns", "kmalloc1k_ns", "kzalloc1k_ns",
};

struct calib_job {
	u64		ms;
	u64		*samples;
	spinlock_t	lock;	/* taken and released, never contended */
	u64		res[CALIB_N];	/* x 100 */
};

static __always_inline void calib_op(struct calib_job *j, const int what)
{
	unsigned long flags;
	void *p;

	switch (what) {
	case CALIB_LOOP:
		barrier();
		break;
	case CALIB_KTIME:
		ktime_get_ns();
		break;
	case CALIB_IRQSAVE:
		local_irq_save(flags);
		local_irq_restore(flags);
		break;
	case CALIB_LOCK_IRQSAVE:
		spin_lock_irqsave(&j->lock, flags);
		spin_unlock_irqrestore(&j->lock, flags);
		break;
	case CALIB_LOCK:
		spin_lock(&j->lock);
		spin_unlock(&j->lock);
		break;
	case CALIB_CALL:
		calib_nop();
		break;
	case CALIB_KMALLOC_1K:
		p = kmalloc(SZ_1K, GFP_ATOMIC);
		kfree(p);
		break;
	case CALIB_KZALLOC_1K:
		p = kzalloc(SZ_1K, GFP_ATOMIC);
		kfree(p);
		break;
	}
}

static __always_inline int calib_one(struct calib_job *j, const int what)
{
	unsigned int n = 0, i;
	u64 t0, t1, deadline;

	deadline = ktime_get_ns() + j->ms * NSEC_PER_MSEC;
	do {
		t0 = ktime_get_ns();
		for (i = 0; i < BENCH_BATCH; i++)
			calib_op(j, what);
		t1 = ktime_get_ns();
		j->samples[n++] = t1 - t0;
		if (bench_yield())
			return -EINTR;
	} while (t1 < deadline && n < BENCH_MAX_SAMPLES);
	j->res[what] = div_u64(bench_median(j->samples, n) * 100, BENCH_BATCH);
	return 0;
}

static int calib_thread(void *arg)
{
	struct calib_job *j = arg;

	return calib_one(j, CALIB_LOOP) ?: calib_one(j, CALIB_KTIME) ?:
	       calib_one(j, CALIB_IRQSAVE) ?:
	       calib_one(j, CALIB_LOCK_IRQSAVE) ?: calib_one(j, CALIB_LOCK) ?:
	       calib_one(j, CALIB_CALL) ?: calib_one(j, CALIB_KMALLOC_1K) ?:
	       calib_one(j, CALIB_KZALLOC_1K);
}

static int bench_calib(u64 ms, struct bench_out *o)
{
	struct calib_job *j;
	int i, ret = -ENOMEM;

	j = kzalloc(sizeof(*j), GFP_KERNEL);
	if (!j)
		return -ENOMEM;
	spin_lock_init(&j->lock);
	j->ms = ms;
	j->samples = kvmalloc_array(BENCH_MAX_SAMPLES, sizeof(u64), GFP_KERNEL);
	if (!j->samples)
		goto out;
	ret = bench_run_on(BENCH_CPU, calib_thread, j);
	for (i = 0; !ret && i < CALIB_N; i++)
		bench_put_frac(o, calib_names[i], j->res[i], 100);
out:
	kvfree(j->samples);
	kfree(j);
	return ret;
}

/* Commands */

static const struct {
	const char	*key;
	size_t		offset;
	u64		min;
	u64		max;
} bench_keys[] = {
	/* A command returns within ~60 s: well below the hung-task timeout. */
	{ "ms", offsetof(struct bench_args, ms), 1, 60000 },
	{ "bursts", offsetof(struct bench_args, bursts), 1, 64 },
	{ "seed", offsetof(struct bench_args, seed), 0, U64_MAX },
	{ "live", offsetof(struct bench_args, live), 1, 1000000 },
	{ "iters", offsetof(struct bench_args, iters), 1, 1000000 },
	{ "fill", offsetof(struct bench_args, fill), 1, SZ_64K },
	{ "walks", offsetof(struct bench_args, walks), 1, 10000 },
	{ "min_bursts", offsetof(struct bench_args, min_bursts), 1, 64 },
	{ "max_bursts", offsetof(struct bench_args, max_bursts), 1, 64 },
	{ "period_ms", offsetof(struct bench_args, period_ms), 1000, 86400000 },
	{ "rounds", offsetof(struct bench_args, rounds), 1, 10000 },
};

static int bench_parse_arg(char *word, struct bench_args *a)
{
	char *value = strchr(word, '=');
	u64 v;
	int i;

	if (!value)
		return -EINVAL;
	*value++ = '\0';
	for (i = 0; i < ARRAY_SIZE(bench_keys); i++) {
		if (strcmp(word, bench_keys[i].key))
			continue;
		if (kstrtou64(value, 0, &v) || v < bench_keys[i].min ||
		    v > bench_keys[i].max)
			return -EINVAL;
		*(u64 *)((char *)a + bench_keys[i].offset) = v;
		return 0;
	}
	return -EINVAL;
}

static int bench_execute(char *line, struct bench_out *o)
{
	struct bench_args a = {
		.bursts = 24, .seed = 1, .live = 100000, .iters = 100,
		.fill = 64, .walks = 20, .min_bursts = 4, .max_bursts = 24,
		.period_ms = 60000, .rounds = 6,
	};
	char *workload, *alloc, *action = NULL, *word;
	struct bench_dom *d;
	bool stock;
	int ret;

	workload = strsep(&line, " \t");
	if (!workload || !*workload)
		return -EINVAL;
	if (!strcmp(workload, "calib")) {
		if (line && *line)
			return -EINVAL;
		return bench_calib(100, o);
	}
	alloc = strsep(&line, " \t");
	if (!alloc || (strcmp(alloc, "ours") && strcmp(alloc, "stock")))
		return -EINVAL;
	stock = !strcmp(alloc, "stock");
	while ((word = strsep(&line, " \t"))) {
		if (!*word)
			continue;
		if (!strchr(word, '=') && !action) {
			action = word;
			continue;
		}
		ret = bench_parse_arg(word, &a);
		if (ret)
			return ret;
	}

	if (!strcmp(workload, "w3"))
		return action ? bench_w3(stock, action, &a, o) : -EINVAL;
	if (!strcmp(workload, "mem"))
		return action ? bench_mem(stock, action, &a, o) : -EINVAL;
	if (action)
		return -EINVAL;
	if (!strcmp(workload, "w6"))
		return bench_w6(stock, &a, o);

	if (strcmp(workload, "w1") && strcmp(workload, "w2") &&
	    strcmp(workload, "w4") && strcmp(workload, "w4a") &&
	    strcmp(workload, "w5"))
		return -EINVAL;
	d = bench_dom_create(stock);
	if (IS_ERR(d))
		return PTR_ERR(d);
	if (!strcmp(workload, "w1"))
		ret = bench_w1(d, a.ms ?: 150, o);
	else if (!strcmp(workload, "w2"))
		ret = bench_w2(d, a.ms ?: 2000, a.bursts, a.seed, o);
	else if (!strcmp(workload, "w4"))
		ret = bench_w4(d, &a, o, w4_thread);
	else if (!strcmp(workload, "w4a"))
		ret = bench_w4(d, &a, o, w4a_thread);
	else
		ret = bench_w5(d, &a, o);
	bench_dom_destroy(d);
	return ret;
}

/* debugfs */

struct bench_file {
	struct mutex	lock;	/* the reply buffer */
	char		buf[BENCH_OUT_SIZE];
	size_t		len;
	size_t		pos;
};

static bool bench_printable(const char *buf, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (!isascii(buf[i]) || (!isprint(buf[i]) && buf[i] != '\t'))
			return false;
	return true;
}

static ssize_t bench_write(struct file *file, const char __user *ubuf,
			   size_t count, loff_t *ppos)
{
	struct bench_file *bf = file->private_data;
	struct bench_out o = { .buf = bf->buf };
	char cmd[BENCH_CMD_MAX];
	size_t len = count;
	int ret;

	if (!count || count >= sizeof(cmd))
		return -EINVAL;
	if (copy_from_user(cmd, ubuf, count))
		return -EFAULT;
	if (cmd[len - 1] == '\n')
		len--;
	cmd[len] = '\0';
	if (!bench_printable(cmd, len))
		return -EINVAL;

	if (mutex_lock_killable(&bench_mutex))
		return -EINTR;
	mutex_lock(&bf->lock);
	bf->len = 0;
	bf->pos = 0;
	bf->buf[0] = '\0';
	WRITE_ONCE(bench_abort, false);
	ret = bench_execute(cmd, &o);
	if (!ret)
		bf->len = o.len;
	mutex_unlock(&bf->lock);
	mutex_unlock(&bench_mutex);
	return ret ?: count;
}

static ssize_t bench_read(struct file *file, char __user *ubuf, size_t count,
			  loff_t *ppos)
{
	struct bench_file *bf = file->private_data;
	size_t n;

	mutex_lock(&bf->lock);
	n = min(count, bf->len - bf->pos);
	if (copy_to_user(ubuf, bf->buf + bf->pos, n)) {
		mutex_unlock(&bf->lock);
		return -EFAULT;
	}
	bf->pos += n;
	mutex_unlock(&bf->lock);
	return n;
}

static int bench_open(struct inode *inode, struct file *file)
{
	struct bench_file *bf = kzalloc(sizeof(*bf), GFP_KERNEL);

	if (!bf)
		return -ENOMEM;
	mutex_init(&bf->lock);
	file->private_data = bf;
	/* Each reply is read from its start: no file position. */
	return stream_open(inode, file);
}

static int bench_release(struct inode *inode, struct file *file)
{
	kfree(file->private_data);
	return 0;
}

static const struct file_operations bench_fops = {
	.owner		= THIS_MODULE,
	.open		= bench_open,
	.release	= bench_release,
	.read		= bench_read,
	.write		= bench_write,
};

static int __init bench_init(void)
{
	bench_dir = debugfs_create_dir(KBUILD_MODNAME, NULL);
	if (IS_ERR(bench_dir))
		return PTR_ERR(bench_dir);
	debugfs_create_file("run", 0600, bench_dir, NULL, &bench_fops);
	return 0;
}

static void __exit bench_exit(void)
{
	int i;

	/* Open files pin the module: no command can be running here. */
	debugfs_remove_recursive(bench_dir);
	for (i = 0; i < ARRAY_SIZE(w3_sessions); i++) {
		w3_destroy(w3_sessions[i]);
		w3_sessions[i] = NULL;
		bench_dom_destroy(mem_sessions[i]);
		mem_sessions[i] = NULL;
	}
}

module_init(bench_init);
module_exit(bench_exit);

MODULE_DESCRIPTION("Benchmarks of xiova against the kernel's IOVA allocator");
MODULE_LICENSE("GPL");
