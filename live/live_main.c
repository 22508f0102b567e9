// SPDX-License-Identifier: GPL-2.0-only
/*
 * xiova_live: a livepatch that puts the kernel's own IOVA caching, for
 * every device of the running system, on xiova's magazine caches, and
 * hands it back when disabled (Documentation/live.rst).
 *
 * Load enables the patch; "echo 0 > /sys/kernel/livepatch/xiova_live/
 * enabled" disables it; then the module can be removed.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/livepatch.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/workqueue.h>

#include "live.h"

/* Takes over the domains that exist, once the transition is complete. */
static void xlive_adopt_work_fn(struct work_struct *work)
{
	xlive_adopt_devices();
	pr_info("enabled: %ld domains taken over\n", xlive_nr_domains());
}

static DECLARE_WORK(xlive_adopt_work, xlive_adopt_work_fn);

static bool account_only;
module_param(account_only, bool, 0444);
MODULE_PARM_DESC(account_only,
		 "Do not patch: only show xiova/system/account, the kernel's own domains' ranges (default: N)");

/*
 * Every task runs the new code now and none can run the old: the kernel's
 * caches are nobody's but ours. The device walk takes device locks, which
 * must not be waited for under the livepatch core's mutex: a work does it.
 */
static void xlive_post_patch(struct klp_object *obj)
{
	xlive_set_adopting(true);
	schedule_work(&xlive_adopt_work);
}

/* Every task still runs the new code: hand everything back before any
 * starts running the old again.
 */
static void xlive_pre_unpatch(struct klp_object *obj)
{
	cancel_work_sync(&xlive_adopt_work);
	xlive_release_all();
	pr_info("disabling: every domain is the kernel's again\n");
}

static struct klp_object xlive_objs[] = {
	{
		/* iova.c is built in wherever an IOMMU driver is. */
		.name = NULL,
		.funcs = xlive_funcs,
		.callbacks = {
			.post_patch = xlive_post_patch,
			.pre_unpatch = xlive_pre_unpatch,
		},
	},
	{}
};

static struct klp_patch xlive_patch = {
	.mod = THIS_MODULE,
	.objs = xlive_objs,
};

static int __init xlive_init(void)
{
	int ret;

	ret = xlive_kiova_init();
	if (ret)
		return ret;
	ret = xiova_cache_get();
	if (ret)
		return ret;
	xlive_debugfs_init();
	if (account_only) {
		pr_info("not patching: accounting only\n");
		return 0;
	}
	ret = klp_enable_patch(&xlive_patch);
	if (ret) {
		pr_err("cannot enable the patch: %d\n", ret);
		goto err;
	}
	return 0;

err:
	xlive_debugfs_exit();
	xiova_cache_put();
	return ret;
}

/* Only after the patch was disabled (or never enabled): nothing is ours. */
static void __exit xlive_exit(void)
{
	xlive_debugfs_exit();
	xiova_cache_put();
}

module_init(xlive_init);
module_exit(xlive_exit);

MODULE_DESCRIPTION("Live mode of xiova: the kernel's IOVA domains on xiova's magazine caches");
MODULE_LICENSE("GPL");
MODULE_INFO(livepatch, "Y");
MODULE_IMPORT_NS(XIOVA);
MODULE_VERSION(XIOVA_VERSION);
