/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A concurrent load for the xiova selftests: one process per CPU, each
 * with its own control fd, doing alloc_fast/free_fast (and some plain
 * alloc/free and bursts) on one shared domain while keeping a record of
 * what it holds. The parent can pause the workers to read consistent
 * stats, and checks at the end that every range is accounted for.
 */
#ifndef _XIOVA_LOAD_H_
#define _XIOVA_LOAD_H_

#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "xiova_ctl.h"

#define LOAD_MAX_WORKERS	64
#define LOAD_MAX_HOLD		192
#define LOAD_LIMIT		0xfffffffful

struct load_range {
	unsigned long pfn;
	unsigned long len;	/* pfns in the range */
	unsigned long size;	/* size passed to the allocation */
	int fast;
};

struct load_shared {
	int stop;			/* parent: finish up */
	int pause;			/* parent: hold still */
	int go_free;			/* parent: free everything now */
	int nworkers;
	long target_ops;		/* per worker; 0 = until stop */
	struct {
		int cpu;
		pid_t pid;
		int paused;		/* worker: holding still */
		int done;		/* worker: published its holdings */
		int failed;
		long ops;
		long bursts;
		long repins;
		int nheld;
		struct load_range held[LOAD_MAX_HOLD];
	} w[LOAD_MAX_WORKERS];
};

static inline struct load_shared *load_map(void)
{
	void *p = mmap(NULL, sizeof(struct load_shared),
		       PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
		       -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

#define LOAD_GET(x)	__atomic_load_n(&(x), __ATOMIC_ACQUIRE)
#define LOAD_SET(x, v)	__atomic_store_n(&(x), (v), __ATOMIC_RELEASE)

static inline unsigned long load_rand(unsigned long *state)
{
	unsigned long x = *state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*state = x;
	return x;
}

/* Pfns a fast allocation of size takes: sizes below 32 are rounded up. */
static inline unsigned long load_fast_len(unsigned long size)
{
	unsigned long len = 1;

	if (size >= 32)
		return size;
	while (len < size)
		len <<= 1;
	return len;
}

/* A worker's check that failed: says which worker, and marks it failed. */
static inline void __printf(3, 4)
wfail(struct load_shared *sh, int i, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	diag("FAIL worker %d (cpu %d): %s", i, sh->w[i].cpu, msg);
	sh->w[i].failed = 1;
}

static inline void load_publish(struct load_shared *sh, int i,
				struct load_range *held, int nheld)
{
	memcpy(sh->w[i].held, held, nheld * sizeof(*held));
	sh->w[i].nheld = nheld;
}

static inline bool load_free_one(struct load_shared *sh, int i, int fd,
				 const char *dom, struct load_range *r)
{
	int ret;

	if (r->fast)
		ret = xc_cmd(fd, NULL, 0, "free_fast %s %#lx %lu", dom, r->pfn,
			     r->size);
	else
		ret = xc_cmd(fd, NULL, 0, "free %s %#lx", dom, r->pfn);
	if (ret) {
		wfail(sh, i, "%s %s %#lx %lu -> %s",
		      r->fast ? "free_fast" : "free", dom, r->pfn, r->size,
		      strerror(-ret));
		return false;
	}
	return true;
}

/* The worker body; returns the exit status of the worker process. */
/* A worker's start: pinned to its CPU, the control file open; fd or -1. */
static inline int load_worker_open(struct load_shared *sh, int i)
{
	int fd;

	pin_cpu(sh->w[i].cpu);
	fd = xc_open();
	if (fd < 0)
		wfail(sh, i, "open ctl: %s", strerror(-fd));
	return fd;
}

/* While the parent asks for a pause: publish, say so, wait for the end. */
static inline void load_worker_pause(struct load_shared *sh, int i,
				     struct load_range *held, int nheld)
{
	if (!LOAD_GET(sh->pause))
		return;
	load_publish(sh, i, held, nheld);
	LOAD_SET(sh->w[i].paused, 1);
	while (LOAD_GET(sh->pause))
		sleep_ms(1);
	LOAD_SET(sh->w[i].paused, 0);
}

/*
 * A worker's end: publish, let the parent check every holding, then free
 * them. Returns the worker's exit status.
 */
static inline int load_worker_finish(struct load_shared *sh, int i, int fd,
				     const char *dom, struct load_range *held,
				     int nheld)
{
	load_publish(sh, i, held, nheld);
	LOAD_SET(sh->w[i].done, 1);
	while (!LOAD_GET(sh->go_free))
		sleep_ms(1);
	while (nheld && !sh->w[i].failed)
		if (load_free_one(sh, i, fd, dom, &held[--nheld]))
			sh->w[i].nheld = nheld;
	close(fd);
	return sh->w[i].failed ? 1 : 0;
}

static inline int load_worker(struct load_shared *sh, int i, const char *dom)
{
	static const unsigned long sizes[] = {
		1, 1, 1, 2, 2, 3, 4, 4, 5, 8, 8, 13, 16, 20, 32, 33, 64,
	};
	struct load_range held[LOAD_MAX_HOLD];
	unsigned long state = 0x2545f4914f6cdd1dul * (i + 1), lo, hi;
	int fd, nheld = 0, cpu = sh->w[i].cpu, ret;
	long ops = 0;

	fd = load_worker_open(sh, i);
	if (fd < 0)
		return 1;
	while (!sh->w[i].failed) {
		unsigned long r = load_rand(&state);

		load_worker_pause(sh, i, held, nheld);
		if (LOAD_GET(sh->stop) ||
		    (sh->target_ops && ops >= sh->target_ops))
			break;
		/*
		 * A CPU that goes offline breaks the affinity of the tasks
		 * pinned to it; once it is back, go home again.
		 */
		if (!(ops % 64) && !pinned_to(cpu) && !pin_cpu(cpu))
			sh->w[i].repins++;

		if (r % 100 < 2) {
			unsigned long count = 32 + r % 200, size = sizes[r % 17];
			unsigned long done;

			ret = xc_burst(fd, dom, count, size, 1, &done, NULL);
			if (ret || done != count) {
				wfail(sh, i, "burst %s %lu %lu -> %s, %lu ops",
				      dom, count, size, strerror(-ret), done);
				break;
			}
			sh->w[i].bursts++;
		} else if (nheld < LOAD_MAX_HOLD &&
			   (!nheld || r % 100 < 52)) {
			struct load_range *n = &held[nheld];
			bool fast = r % 10 != 0;

			n->size = sizes[(r >> 8) % 17];
			n->fast = fast;
			n->len = fast ? load_fast_len(n->size) : n->size;
			ret = xc_alloc(fd, fast ? "alloc_fast" : "alloc", dom,
				       n->size, LOAD_LIMIT, 1, &n->pfn);
			if (ret) {
				wfail(sh, i, "%s %s %lu -> %s",
				      fast ? "alloc_fast" : "alloc", dom,
				      n->size, strerror(-ret));
				break;
			}
			if (!(ops % 8)) {
				ret = xc_find(fd, dom, n->pfn, &lo, &hi);
				if (ret || lo != n->pfn ||
				    hi != n->pfn + n->len - 1) {
					wfail(sh, i,
					      "find %s %#lx -> %s [%#lx, %#lx], expected %lu pfns",
					      dom, n->pfn, strerror(-ret), lo,
					      hi, n->len);
					break;
				}
			}
			nheld++;
		} else {
			int k = (r >> 8) % nheld;

			if (!load_free_one(sh, i, fd, dom, &held[k]))
				break;
			held[k] = held[--nheld];
		}
		ops++;
		sh->w[i].ops = ops;
	}

	return load_worker_finish(sh, i, fd, dom, held, nheld);
}

/* Forks one @worker per usable CPU; number started, or -1. */
static inline int load_fork(struct load_shared *sh, const char *dom,
			    int (*worker)(struct load_shared *, int,
					  const char *))
{
	int cpus[LOAD_MAX_WORKERS], n, i;
	pid_t pid;

	n = usable_cpus(cpus, LOAD_MAX_WORKERS);
	sh->nworkers = n;
	fflush(stdout);
	for (i = 0; i < n; i++) {
		sh->w[i].cpu = cpus[i];
		pid = fork();
		if (pid < 0) {
			diag("fork: %s", strerror(errno));
			return -1;
		}
		if (!pid)
			_exit(worker(sh, i, dom));
		sh->w[i].pid = pid;
	}
	return n;
}

/* Forks one load_worker() per usable CPU; number started, or -1. */
static inline int load_start(struct load_shared *sh, const char *dom,
			     long target_ops)
{
	sh->target_ops = target_ops;
	return load_fork(sh, dom, load_worker);
}

/* Waits until every worker sets the flag; false on timeout. */
static inline bool load_wait_flag(struct load_shared *sh, size_t off,
				  double timeout)
{
	double end = now_sec() + timeout;
	int i;

	for (i = 0; i < sh->nworkers; i++) {
		int *flag = (int *)((char *)&sh->w[i] + off);

		while (!LOAD_GET(*flag) && !sh->w[i].failed) {
			if (now_sec() > end) {
				diag("FAIL worker %d (cpu %d) did not answer in %.0f s",
				     i, sh->w[i].cpu, timeout);
				return false;
			}
			sleep_ms(2);
		}
	}
	return true;
}

#define load_wait(sh, field, timeout) \
	load_wait_flag(sh, offsetof(typeof((sh)->w[0]), field), timeout)

static inline bool load_pause(struct load_shared *sh)
{
	LOAD_SET(sh->pause, 1);
	return load_wait(sh, paused, 60);
}

static inline void load_resume(struct load_shared *sh)
{
	LOAD_SET(sh->pause, 0);
}

static inline long load_total_ops(struct load_shared *sh)
{
	long sum = 0;
	int i;

	for (i = 0; i < sh->nworkers; i++)
		sum += LOAD_GET(sh->w[i].ops);
	return sum;
}

static inline long load_total_bursts(struct load_shared *sh)
{
	long sum = 0;
	int i;

	for (i = 0; i < sh->nworkers; i++)
		sum += LOAD_GET(sh->w[i].bursts);
	return sum;
}

static inline long load_total_held(struct load_shared *sh)
{
	long sum = 0;
	int i;

	for (i = 0; i < sh->nworkers; i++)
		sum += sh->w[i].nheld;
	return sum;
}

static inline bool load_any_failed(struct load_shared *sh)
{
	int i;

	for (i = 0; i < sh->nworkers; i++)
		if (sh->w[i].failed)
			return true;
	return false;
}

static int load_cmp_range(const void *a, const void *b)
{
	const struct load_range *x = a, *y = b;

	return x->pfn < y->pfn ? -1 : x->pfn > y->pfn;
}

/*
 * With the workers holding still: every published range is in the tree
 * exactly as recorded, no two overlap, and tree_nodes is what they hold
 * plus what is cached.
 */
static inline bool load_check_holdings(struct load_shared *sh, int fd,
				       const char *dom)
{
	static struct load_range all[LOAD_MAX_WORKERS * LOAD_MAX_HOLD];
	unsigned long lo, hi;
	bool ok = true;
	int i, k, n = 0, ret;

	for (i = 0; i < sh->nworkers; i++)
		for (k = 0; k < sh->w[i].nheld; k++)
			all[n++] = sh->w[i].held[k];
	qsort(all, n, sizeof(all[0]), load_cmp_range);
	for (k = 0; k < n; k++) {
		if (k && all[k].pfn <= all[k - 1].pfn + all[k - 1].len - 1) {
			fail("ranges [%#lx +%lu] and [%#lx +%lu] are held by two owners",
			     all[k - 1].pfn, all[k - 1].len, all[k].pfn,
			     all[k].len);
			ok = false;
		}
		ret = xc_find(fd, dom, all[k].pfn, &lo, &hi);
		if (ret || lo != all[k].pfn || hi != all[k].pfn + all[k].len - 1) {
			fail("held range %#lx (%lu pfns): find -> %s [%#lx, %#lx]",
			     all[k].pfn, all[k].len, strerror(-ret), lo, hi);
			ok = false;
		}
	}
	ok &= xc_expect_nodes_settled(dom, n);
	if (xc_cmd(fd, NULL, 0, "check %s", dom)) {
		fail("check %s failed with %d ranges held", dom, n);
		ok = false;
	}
	diag("%d ranges held by %d workers, all accounted: %s", n,
	     sh->nworkers, ok ? "yes" : "no");
	return ok;
}

/* Lets the workers free everything and reaps them; true if all exited 0. */
static inline bool load_finish(struct load_shared *sh)
{
	bool ok = true;
	int i, status;

	LOAD_SET(sh->go_free, 1);
	for (i = 0; i < sh->nworkers; i++) {
		if (waitpid(sh->w[i].pid, &status, 0) < 0 ||
		    !WIFEXITED(status) || WEXITSTATUS(status)) {
			fail("worker %d (cpu %d) ended badly (status %#x)", i,
			     sh->w[i].cpu, status);
			ok = false;
		}
		sh->w[i].pid = 0;
	}
	return ok;
}

/*
 * A fixture's set-up: the control fd, dom created afresh, the shared
 * area in *shp. The fd, or -errno.
 */
static inline int load_open(const char *dom, struct load_shared **shp)
{
	int fd = xc_open(), ret;

	*shp = NULL;
	if (fd < 0)
		return fd;
	xc_cmd(fd, NULL, 0, "destroy %s", dom);
	*shp = load_map();
	ret = *shp ? xc_cmd(fd, NULL, 0, "create %s", dom) : -ENOMEM;
	if (ret) {
		diag("cannot create %s or map the shared area: %s", dom,
		     strerror(-ret));
		close(fd);
		return ret;
	}
	return fd;
}

/*
 * Its teardown: workers a failed case left running are killed and
 * reaped (not yet reaped, their pids cannot have been reused), and dom
 * is destroyed unless the caller keeps it.
 */
static inline void load_close(int fd, struct load_shared *sh,
			      const char *dom, bool destroy)
{
	int i;

	for (i = 0; sh && i < sh->nworkers; i++) {
		if (sh->w[i].pid <= 0)
			continue;
		kill(sh->w[i].pid, SIGKILL);
		waitpid(sh->w[i].pid, NULL, 0);
		sh->w[i].pid = 0;
	}
	if (sh)
		munmap(sh, sizeof(*sh));
	if (fd < 0)
		return;
	if (destroy)
		xc_cmd(fd, NULL, 0, "destroy %s", dom);
	close(fd);
}

/* After the workers freed everything: flush, nothing left, tree sound. */
static inline bool load_check_empty(int fd, const char *dom)
{
	struct xc_stats st;
	bool ok = true;
	int ret;

	ret = xc_cmd(fd, NULL, 0, "flush %s", dom);
	if (ret) {
		fail("flush %s -> %s", dom, strerror(-ret));
		return false;
	}
	ret = xc_stats(dom, &st);
	if (ret) {
		fail("stats of %s: %s", dom, strerror(-ret));
		return false;
	}
	if (st.tree_nodes || xc_cached(&st)) {
		fail("%s after freeing everything and a flush: tree_nodes %lu, %lu cached",
		     dom, st.tree_nodes, xc_cached(&st));
		ok = false;
	}
	ret = xc_cmd(fd, NULL, 0, "check %s", dom);
	if (ret) {
		fail("check %s -> %s", dom, strerror(-ret));
		ok = false;
	}
	return ok;
}

#endif /* _XIOVA_LOAD_H_ */
