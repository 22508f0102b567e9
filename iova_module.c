// SPDX-License-Identifier: GPL-2.0-only
/*
 * xiova module glue: parameters, load and unload.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/moduleparam.h>

#include "iova_internal.h"

/* The module's one instance of its tracepoints. */
#define CREATE_TRACE_POINTS
#include "iova_trace.h"

bool xiova_debug_checks;
EXPORT_SYMBOL_FOR_XIOVA_KUNIT(xiova_debug_checks);
module_param_named(debug_checks, xiova_debug_checks, bool, 0444);
MODULE_PARM_DESC(debug_checks,
		 "Check every fast free against the tree and refuse unknown, double or wrongly sized frees; costs one tree lookup per fast alloc and free; load time only (default: N)");

static int __init xiova_module_init(void)
{
	int ret = xiova_debugfs_init();

	if (ret)
		return ret;
	pr_info("loaded: %d-pfn magazines of %zu bytes, depot trimmed every %u ms%s\n",
		XIOVA_MAG_SIZE, sizeof(struct xiova_magazine),
		jiffies_to_msecs(XIOVA_DEPOT_DELAY),
		xiova_debug_checks ? ", debug checks on" : "");
	return 0;
}

static void __exit xiova_module_exit(void)
{
	xiova_debugfs_exit();
	if (xiova_live_nodes() || xiova_live_magazines())
		pr_err("unloading with %ld tree nodes and %ld magazines still allocated\n",
		       xiova_live_nodes(), xiova_live_magazines());
}

module_init(xiova_module_init);
module_exit(xiova_module_exit);

MODULE_DESCRIPTION("IOVA allocator with per-CPU magazines and an unbounded, trimmed depot");
MODULE_LICENSE("GPL");
MODULE_VERSION(XIOVA_VERSION);
