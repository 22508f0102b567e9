// SPDX-License-Identifier: GPL-2.0-only
/*
 * xiova statistics table: one row per size class and a total, in the
 * format of Documentation/stats.rst. xiova's own domains and the kernel's
 * domains of live mode print the same table.
 */
#include <linux/seq_file.h>

#include "iova_internal.h"

static void xiova_show_class(struct seq_file *s, const char *name,
			     unsigned long size,
			     const struct xiova_class_stats *cs)
{
	seq_printf(s, "%-5s %4lu %10llu %10llu %10llu %8llu %6lu %6lu %8lu %6lu %9lu %6lu %7lu %6lu %9lu\n",
		   name, size, cs->hits, cs->misses, cs->inserts,
		   cs->insert_fails, cs->loaded, cs->prev, cs->cpu_pfns,
		   cs->depot, cs->depot_max, cs->trims, cs->flushes,
		   cs->drains, cs->mag_bytes);
}

static void xiova_sum_class(struct xiova_class_stats *sum,
			    const struct xiova_class_stats *cs)
{
	sum->hits += cs->hits;
	sum->misses += cs->misses;
	sum->inserts += cs->inserts;
	sum->insert_fails += cs->insert_fails;
	sum->loaded += cs->loaded;
	sum->prev += cs->prev;
	sum->cpu_pfns += cs->cpu_pfns;
	sum->depot += cs->depot;
	sum->depot_max += cs->depot_max;
	sum->trims += cs->trims;
	sum->flushes += cs->flushes;
	sum->drains += cs->drains;
	sum->mag_bytes += cs->mag_bytes;
}

/**
 * xiova_stats_show() - print the per-size-class table of a domain
 * @s: the file
 * @cls: XIOVA_RANGE_CACHE_MAX_SIZE snapshots, from xiova_rcaches_stats()
 * @has_rcaches: false prints the header and a zero total only
 */
void xiova_stats_show(struct seq_file *s,
		      const struct xiova_class_stats *cls, bool has_rcaches)
{
	struct xiova_class_stats total = {};
	char name[8];
	int i;

	seq_puts(s, "class size       hits     misses    inserts ins_fail loaded   prev cpu_pfns  depot depot_max  trims flushes drains mag_bytes\n");
	for (i = 0; has_rcaches && i < XIOVA_RANGE_CACHE_MAX_SIZE; i++) {
		snprintf(name, sizeof(name), "%d", i);
		xiova_show_class(s, name, 1UL << i, &cls[i]);
		xiova_sum_class(&total, &cls[i]);
	}
	xiova_show_class(s, "total", 0, &total);
}
EXPORT_SYMBOL_NS_GPL(xiova_stats_show, XIOVA);
