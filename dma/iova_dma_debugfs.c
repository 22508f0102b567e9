// SPDX-License-Identifier: GPL-2.0-only
/*
 * xiova_dma: the root-only debugfs interface (Documentation/dma-shim.rst).
 *
 *   xiova_dma/attach          write "<PCI address> [type]"
 *   xiova_dma/detach          write "<PCI address>"
 *   xiova_dma/devices         attached devices, one per line
 *   xiova_dma/<addr>/type     DMA, DMA-FQ or DMA-SQ
 *   xiova_dma/<addr>/stats    counters, "name value" per line
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/ctype.h>
#include <linux/debugfs.h>
#include <linux/pci.h>
#include <linux/seq_file.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "iova_dma.h"

/* "dddd:bb:ss.f DMA-FQ" and a newline fit with room to spare. */
#define XIOVA_DMA_CMD_MAX	64

static struct dentry *xiova_dma_dir;

/*
 * Copies a one-line command: printable ASCII, at most one trailing
 * newline, surrounding blanks removed. Anything else is -EINVAL; -EPERM
 * without CAP_SYS_ADMIN.
 */
static int xiova_dma_get_cmd(char *buf, const char __user *ubuf, size_t count)
{
	size_t i;

	/* As iommu_group_store_type() asks of a group type write. */
	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	if (!count || count >= XIOVA_DMA_CMD_MAX)
		return -EINVAL;
	if (copy_from_user(buf, ubuf, count))
		return -EFAULT;
	if (buf[count - 1] == '\n')
		count--;
	buf[count] = '\0';
	for (i = 0; i < count; i++)
		if (!isascii(buf[i]) || !isprint(buf[i]))
			return -EINVAL;
	return 0;
}

static int xiova_dma_parse_type(const char *name, enum xiova_dma_type *type)
{
	int i = match_string(xiova_dma_type_names, XIOVA_DMA_NR_TYPES, name);

	if (i < 0)
		return -EINVAL;
	*type = i;
	return 0;
}

static ssize_t xiova_dma_attach_write(struct file *file, const char __user *ubuf,
				      size_t count, loff_t *ppos)
{
	enum xiova_dma_type type = XIOVA_DMA_STRICT;
	char buf[XIOVA_DMA_CMD_MAX], *line, *bdf, *name;
	int ret;

	ret = xiova_dma_get_cmd(buf, ubuf, count);
	if (ret)
		return ret;
	line = strim(buf);
	bdf = strsep(&line, " \t");
	name = line ? strim(line) : NULL;
	if (!*bdf || (name && xiova_dma_parse_type(name, &type)))
		return -EINVAL;
	ret = xiova_dma_attach(bdf, type);
	return ret ? ret : count;
}

static ssize_t xiova_dma_detach_write(struct file *file, const char __user *ubuf,
				      size_t count, loff_t *ppos)
{
	char buf[XIOVA_DMA_CMD_MAX];
	int ret;

	ret = xiova_dma_get_cmd(buf, ubuf, count);
	if (ret)
		return ret;
	ret = xiova_dma_detach(strim(buf));
	return ret ? ret : count;
}

static const struct file_operations xiova_dma_attach_fops = {
	.owner	= THIS_MODULE,
	.open	= simple_open,
	.write	= xiova_dma_attach_write,
};

static const struct file_operations xiova_dma_detach_fops = {
	.owner	= THIS_MODULE,
	.open	= simple_open,
	.write	= xiova_dma_detach_write,
};

static int xiova_dma_type_show(struct seq_file *m, void *unused)
{
	struct xiova_dma_dev *dd = m->private;

	seq_printf(m, "%s\n", xiova_dma_type_names[READ_ONCE(dd->type)]);
	return 0;
}

static int xiova_dma_type_open(struct inode *inode, struct file *file)
{
	return single_open(file, xiova_dma_type_show, inode->i_private);
}

static ssize_t xiova_dma_type_write(struct file *file, const char __user *ubuf,
				    size_t count, loff_t *ppos)
{
	struct xiova_dma_dev *dd = file_inode(file)->i_private;
	enum xiova_dma_type type;
	char buf[XIOVA_DMA_CMD_MAX];
	int ret;

	ret = xiova_dma_get_cmd(buf, ubuf, count);
	if (ret)
		return ret;
	if (xiova_dma_parse_type(strim(buf), &type))
		return -EINVAL;
	ret = xiova_dma_set_type(dd, type);
	return ret ? ret : count;
}

static const struct file_operations xiova_dma_type_fops = {
	.owner		= THIS_MODULE,
	.open		= xiova_dma_type_open,
	.read		= seq_read,
	.write		= xiova_dma_type_write,
	.llseek		= seq_lseek,
	.release	= single_release,
};

static int xiova_dma_stats_show(struct seq_file *m, void *unused)
{
	struct xiova_dma_dev *dd = m->private;
	struct xiova_dma_stats s;
	struct xiova_dma_fq *fq;
	u64 flushes, timeouts;

	xiova_dma_sum_stats(dd, &s);
	rcu_read_lock();
	fq = READ_ONCE(dd->fq);
	seq_printf(m, "type %s\n", xiova_dma_type_names[READ_ONCE(dd->type)]);
	seq_printf(m, "fq_rings %u\n", fq ? fq->nr_rings : 0);
	seq_printf(m, "fq_ring_size %u\n", fq && fq->rings[0] ? fq->rings[0]->mask + 1 : 0);
	seq_printf(m, "fq_timeout_ms %u\n", fq ? fq->timeout_ms : 0);
	flushes = dd->fq_flushes + (fq ? atomic64_read(&fq->flush_finish) : 0);
	timeouts = dd->fq_timeouts + (fq ? atomic64_read(&fq->timeouts) : 0);
	rcu_read_unlock();
	seq_printf(m, "maps %llu\n", s.maps);
	seq_printf(m, "unmaps %llu\n", s.unmaps);
	seq_printf(m, "live_mappings %lld\n", (long long)(s.maps - s.unmaps));
	seq_printf(m, "map_bytes %llu\n", s.map_bytes);
	seq_printf(m, "unmap_bytes %llu\n", s.unmap_bytes);
	seq_printf(m, "map_errors %llu\n", s.map_errors);
	seq_printf(m, "bad_unmaps %llu\n", s.bad_unmaps);
	seq_printf(m, "syncs %llu\n", s.syncs);
	seq_printf(m, "iotlb_syncs %llu\n", s.iotlb_syncs);
	seq_printf(m, "fq_queued %llu\n", s.fq_queued);
	seq_printf(m, "fq_flushes %llu\n", flushes);
	seq_printf(m, "fq_full_flushes %llu\n", s.fq_full_flushes);
	seq_printf(m, "fq_timeouts %llu\n", timeouts);
	seq_printf(m, "xiova_domain %d\n", dd->iovad.id);
	seq_printf(m, "tree_nodes %lu\n", READ_ONCE(dd->iovad.tree_nodes));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(xiova_dma_stats);
DEFINE_SHOW_ATTRIBUTE(xiova_dma_devices);

/**
 * xiova_dma_debugfs_add() - the directory of a newly attached device
 * @dd: the device
 */
void xiova_dma_debugfs_add(struct xiova_dma_dev *dd)
{
	dd->debugfs = debugfs_create_dir(pci_name(dd->pdev), xiova_dma_dir);
	debugfs_create_file("type", 0600, dd->debugfs, dd, &xiova_dma_type_fops);
	debugfs_create_file("stats", 0400, dd->debugfs, dd, &xiova_dma_stats_fops);
}

/**
 * xiova_dma_debugfs_remove() - remove it; waits for readers and writers
 * @dd: the device
 */
void xiova_dma_debugfs_remove(struct xiova_dma_dev *dd)
{
	debugfs_remove(dd->debugfs);
	dd->debugfs = NULL;
}

/**
 * xiova_dma_debugfs_init() - the control files
 *
 * Return: 0; debugfs failures only cost the interface.
 */
int xiova_dma_debugfs_init(void)
{
	xiova_dma_dir = debugfs_create_dir(KBUILD_MODNAME, NULL);
	debugfs_create_file("attach", 0200, xiova_dma_dir, NULL, &xiova_dma_attach_fops);
	debugfs_create_file("detach", 0200, xiova_dma_dir, NULL, &xiova_dma_detach_fops);
	debugfs_create_file("devices", 0400, xiova_dma_dir, NULL, &xiova_dma_devices_fops);
	return 0;
}

/**
 * xiova_dma_debugfs_exit() - remove the control files
 */
void xiova_dma_debugfs_exit(void)
{
	debugfs_remove(xiova_dma_dir);
}
