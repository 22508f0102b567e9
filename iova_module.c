// SPDX-License-Identifier: GPL-2.0-only
/*
 * xiova module glue: parameters, load and unload.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/module.h>
#include <linux/moduleparam.h>

#include "iova_internal.h"

/* The module's one instance of its tracepoints. */
#define CREATE_TRACE_POINTS
#include "iova_trace.h"

/*
 * The live-mode module's domains fire the same events. Exporting the
 * tracepoints themselves would export __tracepoint_alloc and the like,
 * names outside the XIOVA namespace that another module could also use.
 */

/**
 * xiova_trace_fast_alloc() - fire the alloc event for a fast allocation
 * @domain: the domain's id
 * @pfn: the range's first pfn, or 0 when it failed
 * @size: the size asked for, in granules
 * @limit_pfn: the highest pfn the range could use
 * @result: an &enum xiova_alloc_result
 *
 * For domains whose fast path lives outside xiova.ko. Any context.
 */
void xiova_trace_fast_alloc(int domain, unsigned long pfn, unsigned long size,
			    unsigned long limit_pfn, int result)
{
	trace_alloc(domain, pfn, size, limit_pfn, true, result);
}
EXPORT_SYMBOL_NS_GPL(xiova_trace_fast_alloc, XIOVA);

/**
 * xiova_trace_fast_free() - fire the free event for a fast free
 * @domain: the domain's id
 * @pfn: the range's first pfn
 * @size: its size, in granules
 *
 * For domains whose fast path lives outside xiova.ko. Any context.
 */
void xiova_trace_fast_free(int domain, unsigned long pfn, unsigned long size)
{
	trace_free(domain, pfn, size, true);
}
EXPORT_SYMBOL_NS_GPL(xiova_trace_fast_free, XIOVA);

bool xiova_debug_checks;
EXPORT_SYMBOL_FOR_XIOVA_KUNIT(xiova_debug_checks);
module_param_named(debug_checks, xiova_debug_checks, bool, 0444);
MODULE_PARM_DESC(debug_checks,
		 "Check every fast free against the tree and refuse unknown, double or wrongly sized frees; costs one tree lookup per fast alloc and free; applies to domains set up after it is set (default: N)");

static struct dentry *xiova_debugfs_root;

/**
 * xiova_debugfs_dir() - the module's debugfs directory
 *
 * For the modules that add files of their own under xiova/.
 *
 * Return: the directory, or NULL without debugfs.
 */
struct dentry *xiova_debugfs_dir(void)
{
	return xiova_debugfs_root;
}
EXPORT_SYMBOL_NS_GPL(xiova_debugfs_dir, XIOVA);

static int __init xiova_module_init(void)
{
	struct dentry *root = debugfs_create_dir(KBUILD_MODNAME, NULL);

	xiova_debugfs_root = IS_ERR(root) ? NULL : root;
	xiova_domains_init(xiova_debugfs_root);
	if (xiova_debugfs_root)
		xiova_audit_debugfs_init(xiova_debugfs_root);
	xiova_testctl_init(xiova_debugfs_root);
	pr_info("loaded: %d-pfn magazines of %zu bytes, depot trimmed every %u ms%s\n",
		XIOVA_MAG_SIZE, sizeof(struct xiova_magazine),
		jiffies_to_msecs(XIOVA_DEPOT_DELAY),
		xiova_debug_checks ? ", debug checks on" : "");
	return 0;
}

/*
 * Every domain of another module holds a reference on this one, so only
 * the test domains can be left here, and those are put first.
 */
static void __exit xiova_module_exit(void)
{
	xiova_testctl_exit();
	if (xiova_domains_live())
		pr_err("unloading with %ld domains registered\n",
		       xiova_domains_live());
	xiova_domains_exit();
	debugfs_remove_recursive(xiova_debugfs_root);
	xiova_debugfs_root = NULL;
	if (xiova_live_nodes() || xiova_live_magazines())
		pr_err("unloading with %ld tree nodes and %ld magazines still allocated\n",
		       xiova_live_nodes(), xiova_live_magazines());
}

module_init(xiova_module_init);
module_exit(xiova_module_exit);

MODULE_DESCRIPTION("IOVA allocator with per-CPU magazines and an unbounded, trimmed depot");
MODULE_LICENSE("GPL");
MODULE_VERSION(XIOVA_VERSION);
