// SPDX-License-Identifier: GPL-2.0-only
/*
 * xiova_dma's entry: the attach code (iova_dma.c), then its interface
 * (iova_dma_debugfs.c), which the attach code reaches only through the
 * hooks given here.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>

#include "iova_dma.h"

MODULE_IMPORT_NS(XIOVA);

static const struct xiova_dma_hooks xiova_dma_debugfs_hooks = {
	.added		= xiova_dma_debugfs_add,
	.removing	= xiova_dma_debugfs_remove,
};

static int __init xiova_dma_init(void)
{
	int ret;

	ret = xiova_dma_core_init(&xiova_dma_debugfs_hooks);
	if (ret)
		return ret;
	ret = xiova_dma_debugfs_init();
	if (ret) {
		xiova_dma_core_exit();
		return ret;
	}
	pr_info("ready: attach a device through debugfs %s/attach\n", KBUILD_MODNAME);
	return 0;
}

static void __exit xiova_dma_exit(void)
{
	xiova_dma_debugfs_exit();
	xiova_dma_core_exit();
}

module_init(xiova_dma_init);
module_exit(xiova_dma_exit);

MODULE_DESCRIPTION("DMA operations for PCI devices with IOVAs from xiova");
MODULE_LICENSE("GPL");
MODULE_VERSION(XIOVA_VERSION);
