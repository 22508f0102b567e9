// SPDX-License-Identifier: GPL-2.0-only
/*
 * xiova_edu: DMA API exerciser for QEMU's "edu" PCI device (1234:11e8).
 *
 * The device has a 4 KiB buffer of its own and a DMA engine that copies
 * between that buffer and a bus address, one transfer at a time, each one
 * finishing on a 100 ms device timer. This driver moves random patterns
 * from RAM into that buffer and back into other memory through the DMA
 * API (whatever dma_map_ops the device has: direct, dma-iommu or a shim),
 * and compares them. It only ever uses the DMA API, so every bus address
 * the device sees comes from the IOVA allocator under test.
 *
 * debugfs, one directory per bound device, xiova_edu/<pci address>/:
 *
 *   run      write "N [SEED]": N round trips, see xedu_round_trip(); the
 *            write returns its length, or -EIO on a data mismatch,
 *            -ETIMEDOUT when a transfer did not finish, -ENOMEM when a
 *            mapping failed, -ERANGE for a mapping the device cannot use
 *            (beyond its 28-bit mask, segments not adding up), -EINTR on
 *            a fatal signal (checked between transfers), -ENODEV when the
 *            device is being unbound. Without SEED a random one is used;
 *            the kernel log names it. Each failure is logged with the
 *            round trip, method, size and seed.
 *   results  counters since probe, one "name value" per line
 *   fault    write "1": DMA from a bus address that was just unmapped,
 *            which an IOMMU reports as a translation fault
 *   coherent write "SIZE": a dma_alloc_coherent() buffer of SIZE bytes
 *            (1..64 MiB), filled with random bytes; the device copies a
 *            window at its start, across its middle and at its end through
 *            its own buffer into another place of it, which must then
 *            match, see xedu_coherent(); -EIO on a mismatch, -ENOMEM,
 *            -ETIMEDOUT
 *   misuse   write "double-unmap" or "error-unmap": a mistake of a driver,
 *            made on purpose, that the DMA layer must refuse without harm,
 *            see xedu_misuse(); -EIO if it did harm, -ENOMEM. Only for a
 *            DMA layer that refuses quietly: dma-iommu WARNs.
 *   bench    write "N KIND [BATCH]", then read the result from the same
 *            open file: the cost of the DMA API's map and unmap calls
 *            alone, see xedu_bench_run(); no transfer is made. N is
 *            1..1048576 calls of each, KIND "page" (dma_map_page() of a
 *            page) or "sg" (dma_map_sg() of a 4-page list), BATCH the
 *            mappings made before they are undone (1..256, default 64).
 *            Errors: -EINVAL or -ERANGE for a malformed command, -ENOMEM,
 *            -ERANGE for a mapping the device cannot use, -EINTR on a
 *            fatal signal and -ENODEV when the device is being unbound
 *            (both checked between batches, nothing is left mapped).
 *
 * The engine is polled (no interrupt is requested); a transfer that has
 * not finished after XEDU_TIMEOUT_US leaves its buffers allocated and
 * mapped, since the device may still access them.
 *
 * No MODULE_DEVICE_TABLE on purpose: the module is never loaded by
 * coldplug, only when a test asks for it, so that the test can prepare the
 * device (another driver, a DMA-ops shim) first.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/bits.h>
#include <linux/debugfs.h>
#include <linux/dma-mapping.h>
#include <linux/gfp.h>
#include <linux/io.h>
#include <linux/io-64-nonatomic-lo-hi.h>
#include <linux/iopoll.h>
#include <linux/kernel.h>
#include <linux/ktime.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/prandom.h>
#include <linux/random.h>
#include <linux/scatterlist.h>
#include <linux/sched/signal.h>
#include <linux/seq_file.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#define EDU_VENDOR_ID		0x1234
#define EDU_DEVICE_ID		0x11e8

/* BAR0 registers (QEMU hw/misc/edu.c). */
#define EDU_REG_IDENT		0x00	/* 0xRRrr00ed: major, minor, 0xed */
#define EDU_REG_DMA_SRC		0x80
#define EDU_REG_DMA_DST		0x88
#define EDU_REG_DMA_COUNT	0x90
#define EDU_REG_DMA_CMD		0x98
#define EDU_DMA_CMD_RUN		BIT(0)	/* start; reads as set until done */
#define EDU_DMA_CMD_TO_RAM	BIT(1)	/* device buffer -> bus address */

#define EDU_IDENT_MAGIC		0xed
/* The device buffer, at this address in the device's own address space. */
#define EDU_BUF_ADDR		0x40000
#define EDU_BUF_SIZE		4096
/*
 * The part of the buffer a transfer may use. QEMU before 8.0 (Debian 12
 * has 7.2) stops the whole VM with "EDU: DMA range ... out of bounds" when
 * a transfer ends at the buffer's last byte (QEMU issue 1254), so that
 * byte is never used.
 */
#define EDU_WINDOW		(EDU_BUF_SIZE - 1)
/* The device masks bus addresses to 28 bits (QEMU property dma_mask). */
#define EDU_DMA_BITS		28

#define XEDU_POLL_US		2000
#define XEDU_TIMEOUT_US		(5 * USEC_PER_SEC)
/* Longest "run" command: two u64 in decimal, a space and a newline. */
#define XEDU_CMD_MAX		48
/* A map_sg round trip uses up to this many scatterlist entries per side. */
#define XEDU_MAX_CHUNKS		3
/* kmalloc'ed buffers start at an odd offset below this. */
#define XEDU_MAX_ODD_OFFSET	64
/* Bytes the fault test has the device read from an unmapped address. */
#define XEDU_FAULT_LEN		64
/* Most map calls a bench command may time. */
#define XEDU_BENCH_MAX_OPS	BIT(20)
/* Mappings a bench batch holds at once: default and largest. */
#define XEDU_BENCH_BATCH	64
#define XEDU_BENCH_MAX_BATCH	256
/* Pages, each its own entry, in a bench scatterlist. */
#define XEDU_BENCH_SG_ENTS	4
/* A batch this many times slower than the median one was preempted. */
#define XEDU_BENCH_OUTLIER	4
/* Longest bench command, and the longest reply. */
#define XEDU_BENCH_CMD_MAX	64
#define XEDU_BENCH_OUT_MAX	320

enum xedu_method {
	XEDU_MAP_SINGLE,
	XEDU_COHERENT,
	XEDU_MAP_PAGE,
	XEDU_MAP_SG,
	XEDU_METHODS
};

static const char * const xedu_method_names[XEDU_METHODS] = {
	[XEDU_MAP_SINGLE]	= "map_single",
	[XEDU_COHERENT]		= "coherent",
	[XEDU_MAP_PAGE]		= "map_page",
	[XEDU_MAP_SG]		= "map_sg",
};

/**
 * struct xedu_stats - counters since probe, shown by debugfs "results"
 * @round_trips: round trips that ran to the comparison (equal or not)
 * @transfers: DMA transfers that completed, both directions
 * @bytes: bytes those transfers moved
 * @mismatches: round trips whose data came back different
 * @timeouts: transfers that did not complete in time
 * @map_errors: failed mappings or coherent allocations, and mappings the
 *	device cannot use (beyond its DMA mask, wrong total length)
 * @faults: transfers started on purpose from an unmapped address
 */
struct xedu_stats {
	atomic64_t	round_trips;
	atomic64_t	transfers;
	atomic64_t	bytes;
	atomic64_t	mismatches;
	atomic64_t	timeouts;
	atomic64_t	map_errors;
	atomic64_t	faults;
};

/**
 * struct xedu - one bound edu device
 * @pdev: the PCI device
 * @bar: BAR0
 * @dir: its debugfs directory
 * @lock: serialises users of the DMA engine
 * @removing: set by remove; a run stops before its next transfer
 * @stats: counters since probe
 */
struct xedu {
	struct pci_dev		*pdev;
	void __iomem		*bar;
	struct dentry		*dir;
	struct mutex		lock;	/* serialises users of the DMA engine */
	bool			removing;
	struct xedu_stats	stats;
};

/**
 * struct xedu_chunk - one piece of memory on one side of a round trip
 * @alloc: what was allocated (kmalloc, page or coherent CPU address)
 * @alloc_dma: bus address of @alloc for a coherent allocation
 * @alloc_size: size of @alloc in bytes
 * @page: the pages of a map_page chunk
 * @cpu: first byte of the chunk, inside @alloc
 * @offset: @cpu - @alloc
 * @len: length of the chunk
 */
struct xedu_chunk {
	void		*alloc;
	dma_addr_t	alloc_dma;
	size_t		alloc_size;
	struct page	*page;
	u8		*cpu;
	unsigned int	offset;
	unsigned int	len;
};

/**
 * struct xedu_seg - one range for the DMA engine
 * @addr: bus address
 * @len: length in bytes
 */
struct xedu_seg {
	dma_addr_t	addr;
	unsigned int	len;
};

/**
 * struct xedu_side - source or destination memory of a round trip
 * @dir: DMA_TO_DEVICE (source) or DMA_FROM_DEVICE (destination)
 * @nchunks: chunks in use
 * @chunk: CPU view
 * @sgl: scatterlist over the chunks (map_sg only)
 * @nsegs: entries of @seg in use, after mapping
 * @seg: device view
 * @mapped: a streaming mapping is in place
 */
struct xedu_side {
	enum dma_data_direction	dir;
	unsigned int		nchunks;
	struct xedu_chunk	chunk[XEDU_MAX_CHUNKS];
	struct scatterlist	sgl[XEDU_MAX_CHUNKS];
	unsigned int		nsegs;
	struct xedu_seg		seg[XEDU_MAX_CHUNKS];
	bool			mapped;
};

/**
 * struct xedu_rt - one round trip
 * @edu: the device
 * @rnd: the run's pseudo-random stream
 * @seed: the run's seed, for messages
 * @index: round trip number in the run, from 0
 * @method: how the memory is allocated and mapped
 * @size: bytes moved each way
 * @dev_off: offset in the device buffer
 * @pattern: @size bytes that went out and must come back
 * @src: source memory
 * @dst: destination memory
 */
struct xedu_rt {
	struct xedu		*edu;
	struct rnd_state	rnd;
	u64			seed;
	unsigned int		index;
	enum xedu_method	method;
	unsigned int		size;
	unsigned int		dev_off;
	u8			*pattern;
	struct xedu_side	src;
	struct xedu_side	dst;
};

static struct dentry *xedu_debugfs_root;

static struct device *xedu_dev(struct xedu *edu)
{
	return &edu->pdev->dev;
}

static u32 xedu_rand(struct xedu_rt *rt, u32 bound)
{
	return prandom_u32_state(&rt->rnd) % bound;
}

/**
 * xedu_wait_idle() - wait until the DMA engine has no transfer running
 * @edu: the device
 *
 * Return: 0, or -ETIMEDOUT after XEDU_TIMEOUT_US (also when the device has
 * gone and reads return all ones).
 */
static int xedu_wait_idle(struct xedu *edu)
{
	u32 cmd;

	return readl_poll_timeout(edu->bar + EDU_REG_DMA_CMD, cmd,
				  !(cmd & EDU_DMA_CMD_RUN), XEDU_POLL_US,
				  XEDU_TIMEOUT_US);
}

/**
 * xedu_dma() - run one transfer and wait for it
 * @edu: the device
 * @addr: bus address in RAM
 * @dev_off: offset in the device buffer
 * @len: bytes to move; @dev_off + @len must not exceed EDU_WINDOW
 * @to_ram: direction: device buffer to RAM if true, else RAM to device
 *
 * The engine ignores register writes while it runs, so it is waited for
 * before it is programmed too.
 *
 * Return: 0 or -ETIMEDOUT.
 */
static int xedu_dma(struct xedu *edu, dma_addr_t addr, unsigned int dev_off,
		    unsigned int len, bool to_ram)
{
	u64 dev_addr = EDU_BUF_ADDR + dev_off;
	u32 cmd = EDU_DMA_CMD_RUN;
	int ret;

	ret = xedu_wait_idle(edu);
	if (ret)
		return ret;
	if (to_ram) {
		writeq(dev_addr, edu->bar + EDU_REG_DMA_SRC);
		writeq(addr, edu->bar + EDU_REG_DMA_DST);
		cmd |= EDU_DMA_CMD_TO_RAM;
	} else {
		writeq(addr, edu->bar + EDU_REG_DMA_SRC);
		writeq(dev_addr, edu->bar + EDU_REG_DMA_DST);
	}
	writeq(len, edu->bar + EDU_REG_DMA_COUNT);
	/* writeq() orders the CPU's earlier writes to the buffer before it. */
	writeq(cmd, edu->bar + EDU_REG_DMA_CMD);
	return xedu_wait_idle(edu);
}

static void xedu_rt_err(struct xedu_rt *rt, const char *what)
{
	dev_err(xedu_dev(rt->edu),
		"round trip %u (%s, %u bytes, device offset %u, seed %llu): %s\n",
		rt->index, xedu_method_names[rt->method], rt->size,
		rt->dev_off, rt->seed, what);
}

static void xedu_map_error(struct xedu_rt *rt, const char *what)
{
	atomic64_inc(&rt->edu->stats.map_errors);
	xedu_rt_err(rt, what);
}

/**
 * xedu_transfer() - one transfer of a round trip, with its checks
 * @rt: the round trip
 * @seg: the mapped range
 * @dev_off: offset in the device buffer
 * @to_ram: direction, as for xedu_dma()
 *
 * Return: 0; -EINTR on a fatal signal or -ENODEV when the device is being
 * removed (before anything started); -ERANGE for an address the device
 * cannot reach; -EINVAL for a range outside EDU_WINDOW; -ETIMEDOUT.
 */
static int xedu_transfer(struct xedu_rt *rt, const struct xedu_seg *seg,
			 unsigned int dev_off, bool to_ram)
{
	struct xedu *edu = rt->edu;
	u64 last = (u64)seg->addr + seg->len - 1;
	int ret;

	if (fatal_signal_pending(current))
		return -EINTR;
	if (READ_ONCE(edu->removing))
		return -ENODEV;
	if (!seg->len || last > DMA_BIT_MASK(EDU_DMA_BITS) ||
	    last < seg->addr) {
		xedu_map_error(rt, "empty segment or beyond the DMA mask");
		dev_err(xedu_dev(edu), "segment %pad + %u\n", &seg->addr,
			seg->len);
		return -ERANGE;
	}
	if (dev_off + seg->len > EDU_WINDOW) {
		xedu_rt_err(rt, "transfer beyond the device window");
		return -EINVAL;
	}
	ret = xedu_dma(edu, seg->addr, dev_off, seg->len, to_ram);
	if (ret) {
		atomic64_inc(&edu->stats.timeouts);
		xedu_rt_err(rt, to_ram ? "device-to-RAM transfer timed out" :
			    "RAM-to-device transfer timed out");
		return ret;
	}
	atomic64_inc(&edu->stats.transfers);
	atomic64_add(seg->len, &edu->stats.bytes);
	return 0;
}

/* Chunk lengths: @nchunks pieces of at least one byte that add up to @size. */
static void xedu_split(struct xedu_rt *rt, struct xedu_side *side)
{
	unsigned int left = rt->size, i, rest, len;

	for (i = 0; i + 1 < side->nchunks; i++) {
		rest = side->nchunks - 1 - i;
		len = 1 + xedu_rand(rt, left - rest);
		side->chunk[i].len = len;
		left -= len;
	}
	side->chunk[i].len = left;
}

static int xedu_chunk_alloc(struct xedu_rt *rt, struct xedu_side *side,
			    struct xedu_chunk *c)
{
	struct device *dev = xedu_dev(rt->edu);

	switch (rt->method) {
	case XEDU_MAP_SINGLE:
	case XEDU_MAP_SG:
		c->offset = xedu_rand(rt, XEDU_MAX_ODD_OFFSET) | 1;
		c->alloc_size = c->offset + c->len;
		c->alloc = kmalloc(c->alloc_size, GFP_KERNEL);
		break;
	case XEDU_COHERENT:
		c->offset = xedu_rand(rt, XEDU_MAX_ODD_OFFSET);
		c->alloc_size = c->offset + c->len;
		c->alloc = dma_alloc_coherent(dev, c->alloc_size, &c->alloc_dma,
					      GFP_KERNEL);
		if (!c->alloc) {
			xedu_map_error(rt, "dma_alloc_coherent failed");
			return -ENOMEM;
		}
		side->seg[0].addr = c->alloc_dma + c->offset;
		side->seg[0].len = c->len;
		side->nsegs = 1;
		break;
	case XEDU_MAP_PAGE:
		/* Two pages: the range may cross a page boundary. */
		c->offset = xedu_rand(rt, PAGE_SIZE);
		if (side->dir == DMA_TO_DEVICE)
			c->offset |= 1;
		c->alloc_size = 2 * PAGE_SIZE;
		c->page = alloc_pages(GFP_KERNEL, 1);
		c->alloc = c->page ? page_address(c->page) : NULL;
		break;
	default:
		return -EINVAL;
	}
	if (!c->alloc)
		return -ENOMEM;
	c->cpu = (u8 *)c->alloc + c->offset;
	return 0;
}

static void xedu_side_free(struct xedu_rt *rt, struct xedu_side *side)
{
	struct device *dev = xedu_dev(rt->edu);
	struct xedu_chunk *c;
	unsigned int i;

	for (i = 0; i < side->nchunks; i++) {
		c = &side->chunk[i];
		if (!c->alloc)
			continue;
		if (rt->method == XEDU_COHERENT)
			dma_free_coherent(dev, c->alloc_size, c->alloc,
					  c->alloc_dma);
		else if (rt->method == XEDU_MAP_PAGE)
			__free_pages(c->page, 1);
		else
			kfree(c->alloc);
		c->alloc = NULL;
	}
}

/*
 * Allocates a side's memory; a source gets the pattern, a destination its
 * complement, so that a byte the device does not write is a mismatch.
 */
static int xedu_side_alloc(struct xedu_rt *rt, struct xedu_side *side,
			   enum dma_data_direction dir)
{
	unsigned int i, pos = 0, j;
	struct xedu_chunk *c;
	int ret;

	side->dir = dir;
	side->nchunks = 1;
	if (rt->method == XEDU_MAP_SG)
		side->nchunks = min(2 + xedu_rand(rt, 2), rt->size);
	xedu_split(rt, side);
	for (i = 0; i < side->nchunks; i++) {
		c = &side->chunk[i];
		ret = xedu_chunk_alloc(rt, side, c);
		if (ret)
			return ret;
		if (dir == DMA_TO_DEVICE) {
			memcpy(c->cpu, rt->pattern + pos, c->len);
		} else {
			for (j = 0; j < c->len; j++)
				c->cpu[j] = ~rt->pattern[pos + j];
		}
		pos += c->len;
	}
	return 0;
}

static int xedu_side_map(struct xedu_rt *rt, struct xedu_side *side)
{
	struct device *dev = xedu_dev(rt->edu);
	struct xedu_chunk *c = &side->chunk[0];
	struct scatterlist *sg;
	unsigned int i, total = 0;
	int nents;

	switch (rt->method) {
	case XEDU_COHERENT:
		return 0;
	case XEDU_MAP_SINGLE:
		side->seg[0].addr = dma_map_single(dev, c->cpu, c->len,
						   side->dir);
		break;
	case XEDU_MAP_PAGE:
		side->seg[0].addr = dma_map_page(dev, c->page, c->offset,
						 c->len, side->dir);
		break;
	case XEDU_MAP_SG:
		sg_init_table(side->sgl, side->nchunks);
		for (i = 0; i < side->nchunks; i++)
			sg_set_buf(&side->sgl[i], side->chunk[i].cpu,
				   side->chunk[i].len);
		nents = dma_map_sg(dev, side->sgl, side->nchunks, side->dir);
		if (nents <= 0) {
			xedu_map_error(rt, "dma_map_sg failed");
			return -ENOMEM;
		}
		side->mapped = true;
		for_each_sg(side->sgl, sg, nents, i) {
			side->seg[i].addr = sg_dma_address(sg);
			side->seg[i].len = sg_dma_len(sg);
			total += sg_dma_len(sg);
		}
		side->nsegs = nents;
		if (total != rt->size) {
			xedu_map_error(rt, "dma_map_sg segments do not add up");
			return -ERANGE;
		}
		return 0;
	default:
		return -EINVAL;
	}
	if (dma_mapping_error(dev, side->seg[0].addr)) {
		xedu_map_error(rt, side->dir == DMA_TO_DEVICE ?
			       "mapping the source failed" :
			       "mapping the destination failed");
		return -ENOMEM;
	}
	side->seg[0].len = c->len;
	side->nsegs = 1;
	side->mapped = true;
	return 0;
}

static void xedu_side_unmap(struct xedu_rt *rt, struct xedu_side *side)
{
	struct device *dev = xedu_dev(rt->edu);
	struct xedu_seg *seg = &side->seg[0];

	if (!side->mapped)
		return;
	if (rt->method == XEDU_MAP_SINGLE)
		dma_unmap_single(dev, seg->addr, seg->len, side->dir);
	else if (rt->method == XEDU_MAP_PAGE)
		dma_unmap_page(dev, seg->addr, seg->len, side->dir);
	else if (rt->method == XEDU_MAP_SG)
		dma_unmap_sg(dev, side->sgl, side->nchunks, side->dir);
	side->mapped = false;
}

/**
 * xedu_side_transfer() - move part of a side through the device buffer
 * @rt: the round trip
 * @side: its source (to the device) or destination (from the device)
 * @start: first byte of the round trip's data to move
 * @end: byte after the last one
 *
 * Byte @start goes to or comes from the device buffer at @rt->dev_off, the
 * others follow. One transfer per mapped segment, or per part of one that
 * lies in [@start, @end).
 *
 * Return: as xedu_transfer().
 */
static int xedu_side_transfer(struct xedu_rt *rt, struct xedu_side *side,
			      unsigned int start, unsigned int end)
{
	unsigned int i, pos = 0, lo, hi;
	struct xedu_seg piece;
	int ret;

	for (i = 0; i < side->nsegs; pos += side->seg[i].len, i++) {
		lo = max(pos, start);
		hi = min(pos + side->seg[i].len, end);
		if (lo >= hi)
			continue;
		piece.addr = side->seg[i].addr + (lo - pos);
		piece.len = hi - lo;
		ret = xedu_transfer(rt, &piece, rt->dev_off + (lo - start),
				    side->dir == DMA_FROM_DEVICE);
		if (ret)
			return ret;
	}
	return 0;
}

static int xedu_compare(struct xedu_rt *rt)
{
	const struct xedu_side *dst = &rt->dst;
	const struct xedu_chunk *c;
	unsigned int i, j, pos = 0;
	char what[96];

	for (i = 0; i < dst->nchunks; i++) {
		c = &dst->chunk[i];
		for (j = 0; j < c->len; j++, pos++) {
			if (c->cpu[j] == rt->pattern[pos])
				continue;
			atomic64_inc(&rt->edu->stats.mismatches);
			snprintf(what, sizeof(what),
				 "first difference at byte %u: 0x%02x, expected 0x%02x",
				 pos, c->cpu[j], rt->pattern[pos]);
			xedu_rt_err(rt, what);
			return -EIO;
		}
	}
	return 0;
}

/**
 * xedu_round_trip() - one round trip
 * @rt: the round trip, with @rt->method and @rt->size chosen
 *
 * Fills the source with a pseudo-random pattern and the destination with
 * its complement, maps both, moves the source into the device buffer (one
 * transfer per mapped segment), then the device buffer into the
 * destination, unmaps and compares. The source and the destination are
 * different memory, allocated and mapped the same way. A 4096-byte round
 * trip, larger than EDU_WINDOW, goes through the device in two halves.
 *
 * Return: 0 or a negative errno (see the "run" file).
 */
static int xedu_round_trip(struct xedu_rt *rt)
{
	unsigned int passes, pass_len, start, end;
	int ret;

	memset(&rt->src, 0, sizeof(rt->src));
	memset(&rt->dst, 0, sizeof(rt->dst));
	passes = DIV_ROUND_UP(rt->size, EDU_WINDOW);
	pass_len = DIV_ROUND_UP(rt->size, passes);
	rt->dev_off = xedu_rand(rt, EDU_WINDOW - pass_len + 1);
	prandom_bytes_state(&rt->rnd, rt->pattern, rt->size);
	ret = xedu_side_alloc(rt, &rt->src, DMA_TO_DEVICE);
	if (!ret)
		ret = xedu_side_alloc(rt, &rt->dst, DMA_FROM_DEVICE);
	if (!ret)
		ret = xedu_side_map(rt, &rt->src);
	if (!ret)
		ret = xedu_side_map(rt, &rt->dst);
	for (start = 0; !ret && start < rt->size; start += pass_len) {
		end = min(start + pass_len, rt->size);
		ret = xedu_side_transfer(rt, &rt->src, start, end);
		if (!ret)
			ret = xedu_side_transfer(rt, &rt->dst, start, end);
	}
	if (ret == -ETIMEDOUT) {
		/* The device may still access both sides: leave them be. */
		xedu_rt_err(rt, "buffers left allocated and mapped");
		return ret;
	}
	xedu_side_unmap(rt, &rt->dst);
	xedu_side_unmap(rt, &rt->src);
	if (!ret) {
		atomic64_inc(&rt->edu->stats.round_trips);
		ret = xedu_compare(rt);
	}
	xedu_side_free(rt, &rt->dst);
	xedu_side_free(rt, &rt->src);
	return ret;
}

/*
 * Round trip @index uses the methods in rotation; every fifth one moves a
 * single byte and the one after it EDU_BUF_SIZE bytes, so that both
 * extremes meet every method within 20 round trips, and 4 round trips see
 * a 1-byte coherent buffer, a 4096-byte map_page and a map_sg of 2 or 3
 * entries. The other sizes are uniform in 1..EDU_BUF_SIZE.
 */
static unsigned int xedu_pick_size(struct xedu_rt *rt)
{
	switch (rt->index % 5) {
	case 1:
		return 1;
	case 2:
		return EDU_BUF_SIZE;
	default:
		return 1 + xedu_rand(rt, EDU_BUF_SIZE);
	}
}

static int xedu_run(struct xedu *edu, unsigned int count, u64 seed)
{
	struct xedu_rt *rt;
	unsigned int i;
	int ret = 0;

	rt = kzalloc(sizeof(*rt), GFP_KERNEL);
	if (!rt)
		return -ENOMEM;
	rt->pattern = kmalloc(EDU_BUF_SIZE, GFP_KERNEL);
	if (!rt->pattern) {
		kfree(rt);
		return -ENOMEM;
	}
	rt->edu = edu;
	rt->seed = seed;
	prandom_seed_state(&rt->rnd, seed);
	dev_info(xedu_dev(edu), "run: %u round trips, seed %llu\n", count,
		 seed);
	for (i = 0; i < count && !ret; i++) {
		rt->index = i;
		rt->method = i % XEDU_METHODS;
		rt->size = xedu_pick_size(rt);
		ret = xedu_round_trip(rt);
	}
	kfree(rt->pattern);
	kfree(rt);
	return ret;
}

/* Parses "N [SEED]"; a missing SEED is a random one. */
static int xedu_parse_run(char *buf, unsigned int *count, u64 *seed)
{
	char *word, *rest = strim(buf);
	int ret;

	word = strsep(&rest, " \t");
	ret = kstrtouint(word, 0, count);
	if (ret)
		return ret;
	if (!*count)
		return -EINVAL;
	rest = rest ? skip_spaces(rest) : NULL;
	if (!rest || !*rest) {
		*seed = get_random_u64();
		return 0;
	}
	return kstrtou64(rest, 0, seed);
}

static ssize_t xedu_run_write(struct file *file, const char __user *ubuf,
			      size_t len, loff_t *ppos)
{
	struct xedu *edu = file->private_data;
	char buf[XEDU_CMD_MAX];
	unsigned int count;
	u64 seed;
	int ret;

	if (*ppos || len >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, len))
		return -EFAULT;
	buf[len] = '\0';
	ret = xedu_parse_run(buf, &count, &seed);
	if (ret)
		return ret;
	ret = mutex_lock_killable(&edu->lock);
	if (ret)
		return ret;
	ret = xedu_run(edu, count, seed);
	mutex_unlock(&edu->lock);
	return ret ? ret : len;
}

static const struct file_operations xedu_run_fops = {
	.owner	= THIS_MODULE,
	.open	= simple_open,
	.write	= xedu_run_write,
	.llseek	= noop_llseek,
};

static int xedu_results_show(struct seq_file *m, void *unused)
{
	struct xedu_stats *s = &((struct xedu *)m->private)->stats;

	seq_printf(m, "round_trips %lld\n", atomic64_read(&s->round_trips));
	seq_printf(m, "transfers %lld\n", atomic64_read(&s->transfers));
	seq_printf(m, "bytes %lld\n", atomic64_read(&s->bytes));
	seq_printf(m, "mismatches %lld\n", atomic64_read(&s->mismatches));
	seq_printf(m, "timeouts %lld\n", atomic64_read(&s->timeouts));
	seq_printf(m, "map_errors %lld\n", atomic64_read(&s->map_errors));
	seq_printf(m, "faults %lld\n", atomic64_read(&s->faults));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(xedu_results);

/**
 * xedu_fault() - DMA from a bus address that is no longer mapped
 * @edu: the device
 *
 * Maps a page-sized buffer for the device, notes its bus address, unmaps
 * it and has the device read XEDU_FAULT_LEN bytes from that address. Behind an IOMMU with
 * strict invalidation the read faults and the device gets no data; the
 * transfer still completes. Without an IOMMU it reads freed-up memory,
 * which is harmless. A lazily invalidated (flush queue) domain may still
 * translate the address until its next flush, so no fault is certain there.
 *
 * Return: 0, -ENOMEM, -ETIMEDOUT.
 */
static int xedu_fault(struct xedu *edu)
{
	struct device *dev = xedu_dev(edu);
	dma_addr_t addr;
	void *buf;
	int ret;

	buf = kzalloc(EDU_BUF_SIZE, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	addr = dma_map_single(dev, buf, EDU_BUF_SIZE, DMA_TO_DEVICE);
	if (dma_mapping_error(dev, addr)) {
		atomic64_inc(&edu->stats.map_errors);
		dev_err(dev, "fault: mapping a buffer failed\n");
		kfree(buf);
		return -ENOMEM;
	}
	dma_unmap_single(dev, addr, EDU_BUF_SIZE, DMA_TO_DEVICE);
	dev_info(dev, "fault: provoking an IOMMU fault on purpose: DMA read of %u bytes from unmapped bus address %pad\n",
		 XEDU_FAULT_LEN, &addr);
	atomic64_inc(&edu->stats.faults);
	ret = xedu_dma(edu, addr, 0, XEDU_FAULT_LEN, false);
	if (ret) {
		atomic64_inc(&edu->stats.timeouts);
		dev_err(dev, "fault: the transfer did not complete\n");
	}
	/* The device only reads: freeing under a late transfer is harmless. */
	kfree(buf);
	return ret;
}

static ssize_t xedu_fault_write(struct file *file, const char __user *ubuf,
				size_t len, loff_t *ppos)
{
	struct xedu *edu = file->private_data;
	unsigned int val;
	int ret;

	ret = kstrtouint_from_user(ubuf, len, 0, &val);
	if (ret)
		return ret;
	if (val != 1)
		return -EINVAL;
	ret = mutex_lock_killable(&edu->lock);
	if (ret)
		return ret;
	ret = READ_ONCE(edu->removing) ? -ENODEV : xedu_fault(edu);
	mutex_unlock(&edu->lock);
	return ret ? ret : len;
}

static const struct file_operations xedu_fault_fops = {
	.owner	= THIS_MODULE,
	.open	= simple_open,
	.write	= xedu_fault_write,
	.llseek	= noop_llseek,
};

#define XEDU_COHERENT_MAX	SZ_64M

/* Device reads @len bytes at @src of the buffer, writes them at @dst. */
static int xedu_coherent_copy(struct xedu *edu, u8 *buf, dma_addr_t addr,
			      size_t src, size_t dst, unsigned int len)
{
	int ret;

	ret = xedu_dma(edu, addr + src, 0, len, false);
	if (!ret)
		ret = xedu_dma(edu, addr + dst, 0, len, true);
	if (ret)
		return ret;
	if (memcmp(buf + src, buf + dst, len)) {
		dev_err(xedu_dev(edu), "coherent: %u bytes copied from +%zu to +%zu differ\n",
			len, src, dst);
		return -EIO;
	}
	return 0;
}

/*
 * A coherent buffer of any size, built by the DMA layer however it likes
 * (one block, or scattered pages behind one IOVA range), must be one
 * range for the device: windows at its start, across its middle and at
 * its end go through the engine and back, each to a place it does not
 * overlap.
 */
static int xedu_coherent(struct xedu *edu, size_t size)
{
	unsigned int len = min_t(size_t, size / 2, EDU_WINDOW);
	size_t spots[3] = { 0, size / 2 - len / 2, size - len }, i;
	struct device *dev = xedu_dev(edu);
	dma_addr_t addr;
	u8 *buf;
	int ret = 0;

	if (size < 2 || size > XEDU_COHERENT_MAX)
		return -EINVAL;
	buf = dma_alloc_coherent(dev, size, &addr, GFP_KERNEL);
	if (!buf) {
		atomic64_inc(&edu->stats.map_errors);
		dev_err(dev, "coherent: no buffer of %zu bytes\n", size);
		return -ENOMEM;
	}
	get_random_bytes(buf, size);
	/* The copy of each window lands where the next one (cyclically) was. */
	for (i = 0; i < ARRAY_SIZE(spots) && !ret; i++) {
		size_t dst = i ? spots[i - 1] : spots[2];

		if (dst + len > spots[i] && spots[i] + len > dst)
			dst = spots[i] >= len ? 0 : size - len;
		if (dst + len > spots[i] && spots[i] + len > dst)
			continue;
		ret = xedu_coherent_copy(edu, buf, addr, spots[i], dst, len);
	}
	dma_free_coherent(dev, size, buf, addr);
	return ret;
}

static ssize_t xedu_coherent_write(struct file *file, const char __user *ubuf,
				   size_t len, loff_t *ppos)
{
	struct xedu *edu = file->private_data;
	unsigned long size;
	int ret;

	ret = kstrtoul_from_user(ubuf, len, 0, &size);
	if (ret)
		return ret;
	ret = mutex_lock_killable(&edu->lock);
	if (ret)
		return ret;
	ret = READ_ONCE(edu->removing) ? -ENODEV : xedu_coherent(edu, size);
	mutex_unlock(&edu->lock);
	return ret ? ret : len;
}

static const struct file_operations xedu_coherent_fops = {
	.owner	= THIS_MODULE,
	.open	= simple_open,
	.write	= xedu_coherent_write,
	.llseek	= noop_llseek,
};

/*
 * A page unmapped twice, then two pages mapped: a DMA layer that freed the
 * first IOVA twice hands both the same bus address, and one buffer's DMA
 * would land in the other. Nothing stays mapped.
 */
static int xedu_double_unmap(struct xedu *edu)
{
	struct device *dev = xedu_dev(edu);
	dma_addr_t addr[3];
	void *buf[3];
	int i, ret = 0;

	for (i = 0; i < 3; i++) {
		buf[i] = kzalloc(PAGE_SIZE, GFP_KERNEL);
		addr[i] = DMA_MAPPING_ERROR;
	}
	if (!buf[0] || !buf[1] || !buf[2]) {
		ret = -ENOMEM;
		goto out;
	}
	addr[0] = dma_map_single(dev, buf[0], PAGE_SIZE, DMA_TO_DEVICE);
	if (dma_mapping_error(dev, addr[0])) {
		ret = -ENOMEM;
		goto out;
	}
	dev_info(dev, "misuse: unmapping %pad twice on purpose\n", &addr[0]);
	dma_unmap_single(dev, addr[0], PAGE_SIZE, DMA_TO_DEVICE);
	dma_unmap_single(dev, addr[0], PAGE_SIZE, DMA_TO_DEVICE);
	for (i = 1; i < 3; i++) {
		addr[i] = dma_map_single(dev, buf[i], PAGE_SIZE, DMA_TO_DEVICE);
		if (dma_mapping_error(dev, addr[i]))
			ret = -ENOMEM;
	}
	if (!ret && addr[1] == addr[2]) {
		dev_err(dev, "misuse: two live mappings share bus address %pad\n",
			&addr[1]);
		ret = -EIO;
		/* One IOVA: undone once. */
		addr[2] = DMA_MAPPING_ERROR;
	}
	for (i = 1; i < 3; i++)
		if (!dma_mapping_error(dev, addr[i]))
			dma_unmap_single(dev, addr[i], PAGE_SIZE, DMA_TO_DEVICE);
out:
	for (i = 0; i < 3; i++)
		kfree(buf[i]);
	return ret;
}

/**
 * xedu_misuse() - make a driver's DMA API mistake on purpose
 * @edu: the device
 * @what: "double-unmap" (see xedu_double_unmap()) or "error-unmap", an
 *	  unmap of the error handle DMA_MAPPING_ERROR
 *
 * Return: 0, -EINVAL for another @what, -ENOMEM, -EIO when two live
 * mappings got one bus address.
 */
static int xedu_misuse(struct xedu *edu, const char *what)
{
	if (sysfs_streq(what, "double-unmap"))
		return xedu_double_unmap(edu);
	if (!sysfs_streq(what, "error-unmap"))
		return -EINVAL;
	dev_info(xedu_dev(edu), "misuse: unmapping DMA_MAPPING_ERROR on purpose\n");
	dma_unmap_page(xedu_dev(edu), DMA_MAPPING_ERROR, PAGE_SIZE, DMA_TO_DEVICE);
	return 0;
}

static ssize_t xedu_misuse_write(struct file *file, const char __user *ubuf,
				 size_t len, loff_t *ppos)
{
	struct xedu *edu = file->private_data;
	char what[16];
	int ret;

	if (!len || len >= sizeof(what))
		return -EINVAL;
	if (copy_from_user(what, ubuf, len))
		return -EFAULT;
	what[len] = '\0';
	ret = mutex_lock_killable(&edu->lock);
	if (ret)
		return ret;
	ret = READ_ONCE(edu->removing) ? -ENODEV : xedu_misuse(edu, what);
	mutex_unlock(&edu->lock);
	return ret ? ret : len;
}

static const struct file_operations xedu_misuse_fops = {
	.owner	= THIS_MODULE,
	.open	= simple_open,
	.write	= xedu_misuse_write,
	.llseek	= noop_llseek,
};

/*
 * The bench file times the DMA API's map and unmap calls on the device,
 * as the kernel's dma_map_benchmark does, for single pages and for
 * scatterlists; the device itself does nothing. Maps and unmaps go in
 * batches: a batch is mapped and timed, then unmapped and timed. Holding
 * a batch of live mappings is what a driver with requests in flight does,
 * and the clock is read three times a batch, not twice a call: under TCG
 * a read costs about 200 ns.
 *
 * The reply gives, for maps and for unmaps, ns per call as:
 *
 *   map_ns, unmap_ns            the mean over the batches that took at
 *                               most XEDU_BENCH_OUTLIER times the median
 *                               batch; map_dropped and unmap_dropped
 *                               count the others
 *   map_mean_ns, unmap_mean_ns  the mean over all batches
 *   map_batch_ns, ...           the median batch
 *   map_max_ns, ...             the slowest batch
 *
 * A lazy unmap is cheap until its flush queue is full, and then one of
 * them pays for the flush and for freeing the whole queue: with per-CPU
 * queues of 256 entries, one batch of 64 in four, which the median batch
 * leaves out. Such a batch takes at most twice as long as the others; a
 * batch during which the host preempted the vCPU takes a time slice of
 * the host longer, a millisecond or more, many times a batch under TCG.
 * So the mean without the batches beyond the limit includes the flushes
 * but not the preemptions, which on a loaded host stretch most of the
 * longer spans of time and make the plain mean run far above the median.
 * A queue flushed so rarely that its flush alone takes several batches'
 * time (DMA-SQ's 32768 entries) counts as preempted: only the plain mean
 * has its share.
 */
enum xedu_bench_kind {
	XEDU_BENCH_PAGE,
	XEDU_BENCH_SG,
};

static const char * const xedu_bench_kind_names[] = {
	[XEDU_BENCH_PAGE]	= "page",
	[XEDU_BENCH_SG]		= "sg",
};

/**
 * struct xedu_bench - one bench command and its measurements
 * @edu: the device
 * @kind: XEDU_BENCH_PAGE: dma_map_page() of one page; XEDU_BENCH_SG:
 *	dma_map_sg() of a list of XEDU_BENCH_SG_ENTS pages
 * @ops: map calls to time, and as many unmap calls
 * @batch: mappings made before they are undone
 * @ents: pages per mapping
 * @pages: @batch * @ents pages, each the first of an order-1 block, so
 *	that no two are physically adjacent: the IOMMU API cannot merge the
 *	entries of a list into fewer page-table updates
 * @addr: bus address of each page mapped (page kind)
 * @sgl: @batch tables of @ents entries each (sg kind)
 * @segs: DMA segments of each mapped table
 * @max_segs: most DMA segments a mapping came back as (1 for a page): the
 *	DMA layer merges the entries of a list into one segment when they
 *	follow each other in IOVA space, as dma-iommu and xiova_dma do
 * @nbatches: timed batches so far
 * @map_ns: per timed batch, ns per map call
 * @unmap_ns: per timed batch, ns per unmap call
 * @map_total: ns in map calls over the timed batches
 * @unmap_total: ns in unmap calls
 */
struct xedu_bench {
	struct xedu		*edu;
	enum xedu_bench_kind	kind;
	unsigned int		ops;
	unsigned int		batch;
	unsigned int		ents;
	struct page		**pages;
	dma_addr_t		*addr;
	struct scatterlist	*sgl;
	unsigned int		*segs;
	unsigned int		max_segs;
	unsigned int		nbatches;
	u32			*map_ns;
	u32			*unmap_ns;
	u64			map_total;
	u64			unmap_total;
};

/**
 * struct xedu_bench_file - an open bench file
 * @edu: the device; only used while debugfs guarantees it is bound
 * @lock: serialises commands and reads on this file
 * @out: the reply to the last command that succeeded
 * @len: its length
 * @pos: how much of it was read
 */
struct xedu_bench_file {
	struct xedu	*edu;
	struct mutex	lock;	/* @out, @len and @pos */
	char		out[XEDU_BENCH_OUT_MAX];
	size_t		len;
	size_t		pos;
};

static struct scatterlist *xedu_bench_sg(struct xedu_bench *b, unsigned int i)
{
	return &b->sgl[i * b->ents];
}

static void xedu_bench_free(struct xedu_bench *b)
{
	unsigned int i;

	for (i = 0; b->pages && i < b->batch * b->ents; i++)
		if (b->pages[i])
			__free_pages(b->pages[i], 1);
	kvfree(b->pages);
	kvfree(b->addr);
	kvfree(b->sgl);
	kvfree(b->segs);
	kvfree(b->map_ns);
	kvfree(b->unmap_ns);
}

static int xedu_bench_alloc(struct xedu_bench *b)
{
	unsigned int nbatches = DIV_ROUND_UP(b->ops, b->batch);
	unsigned int npages = b->batch * b->ents, i;

	b->pages = kvcalloc(npages, sizeof(*b->pages), GFP_KERNEL);
	b->addr = kvcalloc(b->batch, sizeof(*b->addr), GFP_KERNEL);
	b->sgl = kvcalloc(npages, sizeof(*b->sgl), GFP_KERNEL);
	b->segs = kvcalloc(b->batch, sizeof(*b->segs), GFP_KERNEL);
	b->map_ns = kvcalloc(nbatches, sizeof(*b->map_ns), GFP_KERNEL);
	b->unmap_ns = kvcalloc(nbatches, sizeof(*b->unmap_ns), GFP_KERNEL);
	if (!b->pages || !b->addr || !b->sgl || !b->segs || !b->map_ns ||
	    !b->unmap_ns)
		return -ENOMEM;
	for (i = 0; i < npages; i++) {
		b->pages[i] = alloc_pages(GFP_KERNEL, 1);
		if (!b->pages[i])
			return -ENOMEM;
	}
	for (i = 0; i < b->batch; i++)
		sg_init_table(xedu_bench_sg(b, i), b->ents);
	for (i = 0; i < npages; i++)
		sg_set_page(&b->sgl[i], b->pages[i], PAGE_SIZE, 0);
	return 0;
}

/* Maps the first @n slots; *@mapped says how many were, even on failure. */
static int xedu_bench_map(struct xedu_bench *b, unsigned int n,
			  unsigned int *mapped)
{
	struct device *dev = xedu_dev(b->edu);
	unsigned int i;

	for (i = 0; i < n; i++) {
		if (b->kind == XEDU_BENCH_PAGE) {
			b->addr[i] = dma_map_page(dev, b->pages[i], 0, PAGE_SIZE,
						  DMA_BIDIRECTIONAL);
			if (dma_mapping_error(dev, b->addr[i]))
				break;
			b->max_segs = max(b->max_segs, 1U);
		} else {
			b->segs[i] = dma_map_sg(dev, xedu_bench_sg(b, i),
						b->ents, DMA_BIDIRECTIONAL);
			if (!b->segs[i])
				break;
			b->max_segs = max(b->max_segs, b->segs[i]);
		}
	}
	*mapped = i;
	return i < n ? -ENOMEM : 0;
}

static void xedu_bench_unmap(struct xedu_bench *b, unsigned int n)
{
	struct device *dev = xedu_dev(b->edu);
	unsigned int i;

	for (i = 0; i < n; i++) {
		if (b->kind == XEDU_BENCH_PAGE)
			dma_unmap_page(dev, b->addr[i], PAGE_SIZE,
				       DMA_BIDIRECTIONAL);
		else
			dma_unmap_sg(dev, xedu_bench_sg(b, i), b->ents,
				     DMA_BIDIRECTIONAL);
	}
}

/* A mapping the device could use: within its mask, whole. */
static bool xedu_bench_valid(struct xedu_bench *b, unsigned int i)
{
	struct scatterlist *sg;
	unsigned int j, total = 0;
	u64 last;

	if (b->kind == XEDU_BENCH_PAGE)
		return (u64)b->addr[i] + PAGE_SIZE - 1 <=
		       DMA_BIT_MASK(EDU_DMA_BITS);
	for_each_sg(xedu_bench_sg(b, i), sg, b->segs[i], j) {
		last = (u64)sg_dma_address(sg) + sg_dma_len(sg) - 1;
		if (!sg_dma_len(sg) || last > DMA_BIT_MASK(EDU_DMA_BITS))
			return false;
		total += sg_dma_len(sg);
	}
	return total == b->ents * PAGE_SIZE;
}

static u32 xedu_bench_per_op(u64 ns, unsigned int ops)
{
	return min_t(u64, div_u64(ns, ops), U32_MAX);
}

/**
 * xedu_bench_batch() - map @n slots, check them, unmap them
 * @b: the command
 * @n: slots, at most @b->batch
 * @timed: record the batch's times
 *
 * The check runs between the two timed parts.
 *
 * Return: 0; -ENOMEM when a mapping failed; -ERANGE for a mapping the
 * device could not use. Everything mapped is unmapped in every case.
 */
static int xedu_bench_batch(struct xedu_bench *b, unsigned int n, bool timed)
{
	struct xedu *edu = b->edu;
	unsigned int mapped, i;
	u64 t0, t1, t2, t3;
	int ret;

	t0 = ktime_get_ns();
	ret = xedu_bench_map(b, n, &mapped);
	t1 = ktime_get_ns();
	if (ret) {
		atomic64_inc(&edu->stats.map_errors);
		dev_err(xedu_dev(edu), "bench: %s mapping %u of a batch failed\n",
			xedu_bench_kind_names[b->kind], mapped);
	}
	for (i = 0; !ret && i < mapped; i++) {
		if (xedu_bench_valid(b, i))
			continue;
		atomic64_inc(&edu->stats.map_errors);
		dev_err(xedu_dev(edu), "bench: %s mapping %u is beyond the DMA mask or incomplete\n",
			xedu_bench_kind_names[b->kind], i);
		ret = -ERANGE;
	}
	t2 = ktime_get_ns();
	xedu_bench_unmap(b, mapped);
	t3 = ktime_get_ns();
	if (ret || !timed)
		return ret;
	b->map_total += t1 - t0;
	b->unmap_total += t3 - t2;
	b->map_ns[b->nbatches] = xedu_bench_per_op(t1 - t0, n);
	b->unmap_ns[b->nbatches] = xedu_bench_per_op(t3 - t2, n);
	b->nbatches++;
	return 0;
}

static int xedu_bench_cmp_u32(const void *a, const void *b)
{
	u32 x = *(const u32 *)a, y = *(const u32 *)b;

	return x < y ? -1 : x > y;
}

/**
 * struct xedu_bench_sum - the summary of one half (maps or unmaps)
 * @kept: mean of the batches within XEDU_BENCH_OUTLIER times the median
 * @dropped: batches beyond that
 * @median: the median batch
 * @max: the slowest batch
 *
 * All in ns per call.
 */
struct xedu_bench_sum {
	u32		kept;
	unsigned int	dropped;
	u32		median;
	u32		max;
};

/* Sorts @v[0..@n - 1], @n > 0, and summarises it into @sum. */
static void xedu_bench_summarise(u32 *v, unsigned int n,
				 struct xedu_bench_sum *sum)
{
	u64 limit, total = 0;
	unsigned int kept;

	sort(v, n, sizeof(*v), xedu_bench_cmp_u32, NULL);
	sum->median = ((u64)v[(n - 1) / 2] + v[n / 2]) / 2;
	sum->max = v[n - 1];
	limit = (u64)sum->median * XEDU_BENCH_OUTLIER;
	/* The median batch is within the limit: at least half are kept. */
	for (kept = 0; kept < n && v[kept] <= limit; kept++)
		total += v[kept];
	sum->kept = div_u64(total, kept);
	sum->dropped = n - kept;
}

/**
 * xedu_bench_run() - time @b->ops maps and unmaps of @b->kind
 * @b: the command, allocated
 *
 * One untimed batch first: the first mappings of a domain allocate IOMMU
 * page tables and fill the IOVA caches, which a driver's steady state has.
 * Between batches the writer may be killed or the device unbound; the
 * batch under way finishes first, so nothing stays mapped.
 *
 * Return: 0; -EINTR on a fatal signal; -ENODEV when the device is being
 * unbound; as xedu_bench_batch().
 */
static int xedu_bench_run(struct xedu_bench *b)
{
	unsigned int done, n;
	int ret;

	ret = xedu_bench_batch(b, min(b->batch, b->ops), false);
	for (done = 0; !ret && done < b->ops; done += n) {
		cond_resched();
		if (fatal_signal_pending(current))
			return -EINTR;
		if (READ_ONCE(b->edu->removing))
			return -ENODEV;
		n = min(b->batch, b->ops - done);
		ret = xedu_bench_batch(b, n, true);
	}
	return ret;
}

/* Parses "N KIND [BATCH]". */
static int xedu_bench_parse(char *buf, struct xedu_bench *b)
{
	char *word, *rest = strim(buf);
	int ret;

	word = strsep(&rest, " \t");
	ret = kstrtouint(word, 10, &b->ops);
	if (ret)
		return ret;
	if (!b->ops || b->ops > XEDU_BENCH_MAX_OPS)
		return -EINVAL;
	rest = rest ? skip_spaces(rest) : NULL;
	if (!rest || !*rest)
		return -EINVAL;
	word = strsep(&rest, " \t");
	if (!strcmp(word, xedu_bench_kind_names[XEDU_BENCH_PAGE]))
		b->kind = XEDU_BENCH_PAGE;
	else if (!strcmp(word, xedu_bench_kind_names[XEDU_BENCH_SG]))
		b->kind = XEDU_BENCH_SG;
	else
		return -EINVAL;
	b->ents = b->kind == XEDU_BENCH_SG ? XEDU_BENCH_SG_ENTS : 1;
	b->batch = XEDU_BENCH_BATCH;
	rest = rest ? skip_spaces(rest) : NULL;
	if (rest && *rest) {
		ret = kstrtouint(rest, 10, &b->batch);
		if (ret)
			return ret;
		if (!b->batch || b->batch > XEDU_BENCH_MAX_BATCH)
			return -EINVAL;
	}
	return 0;
}

/* Runs a parsed command and writes its reply into @bf. */
static int xedu_bench_exec(struct xedu_bench_file *bf, struct xedu_bench *b)
{
	struct xedu_bench_sum map, unmap;
	int ret;

	ret = xedu_bench_alloc(b);
	if (!ret)
		ret = mutex_lock_killable(&b->edu->lock);
	if (ret)
		return ret;
	ret = READ_ONCE(b->edu->removing) ? -ENODEV : xedu_bench_run(b);
	mutex_unlock(&b->edu->lock);
	if (ret)
		return ret;
	xedu_bench_summarise(b->map_ns, b->nbatches, &map);
	xedu_bench_summarise(b->unmap_ns, b->nbatches, &unmap);
	bf->len = scnprintf(bf->out, sizeof(bf->out),
			    "kind=%s ops=%u batch=%u ents=%u max_segs=%u batches=%u map_ns=%u unmap_ns=%u map_dropped=%u unmap_dropped=%u map_mean_ns=%u unmap_mean_ns=%u map_batch_ns=%u unmap_batch_ns=%u map_max_ns=%u unmap_max_ns=%u\n",
			    xedu_bench_kind_names[b->kind], b->ops, b->batch,
			    b->ents, b->max_segs, b->nbatches, map.kept, unmap.kept,
			    map.dropped, unmap.dropped,
			    xedu_bench_per_op(b->map_total, b->ops),
			    xedu_bench_per_op(b->unmap_total, b->ops),
			    map.median, unmap.median, map.max, unmap.max);
	return 0;
}

static ssize_t xedu_bench_write(struct file *file, const char __user *ubuf,
				size_t len, loff_t *ppos)
{
	struct xedu_bench_file *bf = file->private_data;
	char buf[XEDU_BENCH_CMD_MAX];
	struct xedu_bench *b;
	int ret;

	if (!len || len >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, len))
		return -EFAULT;
	buf[len] = '\0';
	b = kzalloc(sizeof(*b), GFP_KERNEL);
	if (!b)
		return -ENOMEM;
	b->edu = bf->edu;
	ret = xedu_bench_parse(buf, b);
	if (ret)
		goto out;
	ret = mutex_lock_killable(&bf->lock);
	if (ret)
		goto out;
	/* A failed command leaves nothing to read, not an older reply. */
	bf->len = 0;
	bf->pos = 0;
	ret = xedu_bench_exec(bf, b);
	mutex_unlock(&bf->lock);
out:
	xedu_bench_free(b);
	kfree(b);
	return ret ? ret : len;
}

static ssize_t xedu_bench_read(struct file *file, char __user *ubuf,
			       size_t count, loff_t *ppos)
{
	struct xedu_bench_file *bf = file->private_data;
	size_t n;
	int ret;

	ret = mutex_lock_killable(&bf->lock);
	if (ret)
		return ret;
	n = min(count, bf->len - bf->pos);
	if (copy_to_user(ubuf, bf->out + bf->pos, n)) {
		mutex_unlock(&bf->lock);
		return -EFAULT;
	}
	bf->pos += n;
	mutex_unlock(&bf->lock);
	return n;
}

static int xedu_bench_open(struct inode *inode, struct file *file)
{
	struct xedu_bench_file *bf = kzalloc(sizeof(*bf), GFP_KERNEL);

	if (!bf)
		return -ENOMEM;
	bf->edu = inode->i_private;
	mutex_init(&bf->lock);
	file->private_data = bf;
	/* Every reply is read from its start: no file position. */
	return stream_open(inode, file);
}

/* debugfs calls this even after the device is gone: @bf->edu is not used. */
static int xedu_bench_release(struct inode *inode, struct file *file)
{
	struct xedu_bench_file *bf = file->private_data;

	mutex_destroy(&bf->lock);
	kfree(bf);
	return 0;
}

static const struct file_operations xedu_bench_fops = {
	.owner		= THIS_MODULE,
	.open		= xedu_bench_open,
	.release	= xedu_bench_release,
	.read		= xedu_bench_read,
	.write		= xedu_bench_write,
};

static int xedu_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct device *dev = &pdev->dev;
	struct xedu *edu;
	u32 ident;
	int ret;

	edu = devm_kzalloc(dev, sizeof(*edu), GFP_KERNEL);
	if (!edu)
		return -ENOMEM;
	edu->pdev = pdev;
	mutex_init(&edu->lock);

	ret = pcim_enable_device(pdev);
	if (ret)
		return dev_err_probe(dev, ret, "cannot enable the device\n");
	ret = pcim_iomap_regions(pdev, BIT(0), KBUILD_MODNAME);
	if (ret)
		return dev_err_probe(dev, ret, "cannot map BAR0\n");
	edu->bar = pcim_iomap_table(pdev)[0];

	ident = readl(edu->bar + EDU_REG_IDENT);
	if ((ident & 0xff) != EDU_IDENT_MAGIC)
		return dev_err_probe(dev, -ENODEV,
				     "not an edu device (ident 0x%08x)\n",
				     ident);
	ret = dma_set_mask_and_coherent(dev, DMA_BIT_MASK(EDU_DMA_BITS));
	if (ret)
		return dev_err_probe(dev, ret, "no usable %d-bit DMA\n",
				     EDU_DMA_BITS);
	/* A transfer left running by an earlier binding must end first. */
	if (xedu_wait_idle(edu))
		return dev_err_probe(dev, -EBUSY, "DMA engine stays busy\n");
	pci_set_master(pdev);
	pci_set_drvdata(pdev, edu);

	edu->dir = debugfs_create_dir(pci_name(pdev), xedu_debugfs_root);
	debugfs_create_file("run", 0200, edu->dir, edu, &xedu_run_fops);
	debugfs_create_file("results", 0400, edu->dir, edu,
			    &xedu_results_fops);
	debugfs_create_file("fault", 0200, edu->dir, edu, &xedu_fault_fops);
	debugfs_create_file("misuse", 0200, edu->dir, edu, &xedu_misuse_fops);
	debugfs_create_file("coherent", 0200, edu->dir, edu, &xedu_coherent_fops);
	debugfs_create_file("bench", 0600, edu->dir, edu, &xedu_bench_fops);

	dev_info(dev, "edu %u.%u, %d-bit DMA\n", ident >> 24,
		 (ident >> 16) & 0xff, EDU_DMA_BITS);
	return 0;
}

static void xedu_remove(struct pci_dev *pdev)
{
	struct xedu *edu = pci_get_drvdata(pdev);

	WRITE_ONCE(edu->removing, true);
	/* Waits for open debugfs calls, i.e. for a run's current transfer. */
	debugfs_remove_recursive(edu->dir);
	if (xedu_wait_idle(edu))
		dev_err(&pdev->dev, "DMA engine still busy at remove\n");
	/* Bus mastering goes with pcim_enable_device()'s cleanup. */
	mutex_destroy(&edu->lock);
}

static const struct pci_device_id xedu_ids[] = {
	{ PCI_DEVICE(EDU_VENDOR_ID, EDU_DEVICE_ID) },
	{ }
};

static struct pci_driver xedu_driver = {
	.name		= KBUILD_MODNAME,
	.id_table	= xedu_ids,
	.probe		= xedu_probe,
	.remove		= xedu_remove,
};

static int __init xedu_init(void)
{
	int ret;

	xedu_debugfs_root = debugfs_create_dir(KBUILD_MODNAME, NULL);
	ret = pci_register_driver(&xedu_driver);
	if (ret)
		debugfs_remove_recursive(xedu_debugfs_root);
	return ret;
}

static void __exit xedu_exit(void)
{
	pci_unregister_driver(&xedu_driver);
	debugfs_remove_recursive(xedu_debugfs_root);
}

module_init(xedu_init);
module_exit(xedu_exit);

MODULE_DESCRIPTION("DMA API exerciser for QEMU's edu PCI device");
MODULE_LICENSE("GPL");
