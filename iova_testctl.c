// SPDX-License-Identifier: GPL-2.0-only
/*
 * xiova test control: a root-only debugfs file through which userspace
 * creates test domains and runs every public operation in them, so that
 * kselftests and the VM runner can drive the allocator. The command
 * language is described in Documentation/testctl.rst.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/ctype.h>
#include <linux/debugfs.h>
#include <linux/kref.h>
#include <linux/ktime.h>
#include <linux/mutex.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/xarray.h>

#include "iova_internal.h"
#include "iova_trace.h"

#define XT_CMD_MAX	256
#define XT_NAME_MAX	16
#define XT_ARGS_MAX	5
#define XT_BURST_MAX	BIT(20)

/*
 * The ranges the commands handed out, by first pfn: how they were
 * allocated and their size class. A free or fast free that does not match
 * is refused, since without debug checks the allocator could not tell: a
 * second fast free of one range, or a fast free of a reserved or tree
 * range, would put one range in two places. A range can be freed only
 * after it is recorded, so no command reads a node another one frees.
 */
#define XT_FAST		BIT(0)
#define XT_ORDER_SHIFT	1

struct xt_domain {
	struct list_head	list;
	struct kref		ref;
	char			name[XT_NAME_MAX];
	struct xiova_domain	iovad;
	struct xarray		handed_out;
	struct dentry		*link;
};

/* What the last command on an open file answered, read back on that file. */
struct xt_file {
	struct mutex	lock;	/* serialises commands on one open file */
	char		reply[96];
	size_t		len;
};

struct xt_cmd {
	const char	*verb;
	int		nargs;	/* numbers after the domain name, at least */
	int		maxargs;
	int		(*run)(struct xt_domain *d, unsigned long *arg,
			       int nargs, char *reply, size_t size);
};

static LIST_HEAD(xt_domains);
static DEFINE_MUTEX(xt_domains_lock);
static struct dentry *xt_dir;

static void xt_domain_release(struct kref *ref)
{
	struct xt_domain *d = container_of(ref, struct xt_domain, ref);

	debugfs_remove(d->link);
	xiova_put_domain(&d->iovad);
	xa_destroy(&d->handed_out);
	kfree(d);
}

static struct xt_domain *xt_domain_get(const char *name)
{
	struct xt_domain *d;

	mutex_lock(&xt_domains_lock);
	list_for_each_entry(d, &xt_domains, list) {
		if (!strcmp(d->name, name)) {
			kref_get(&d->ref);
			mutex_unlock(&xt_domains_lock);
			return d;
		}
	}
	mutex_unlock(&xt_domains_lock);
	return NULL;
}

static void xt_domain_put(struct xt_domain *d)
{
	kref_put(&d->ref, xt_domain_release);
}

static bool xt_valid_name(const char *name)
{
	size_t len = strlen(name);

	if (!len || len >= XT_NAME_MAX)
		return false;
	/* Plain ASCII only: the kernel's ctype also takes Latin-1 letters. */
	for (; *name; name++)
		if (!isascii(*name) ||
		    (!isalnum(*name) && *name != '_' && *name != '-'))
			return false;
	return true;
}

static int xt_create(const char *name, unsigned long *arg, int nargs)
{
	unsigned long granule = nargs > 0 ? arg[0] : PAGE_SIZE;
	unsigned long start = nargs > 1 ? arg[1] : 1;
	struct xt_domain *d, *old;
	char target[32];
	int ret;

	if (!xt_valid_name(name))
		return -EINVAL;
	d = kzalloc(sizeof(*d), GFP_KERNEL);
	if (!d)
		return -ENOMEM;
	strscpy(d->name, name, sizeof(d->name));
	kref_init(&d->ref);
	xa_init(&d->handed_out);
	/* The module's own domain: its unload puts it, so it holds no ref. */
	ret = __xiova_init_domain(&d->iovad, granule, start,
				  READ_ONCE(xiova_debug_checks), false);
	if (ret) {
		kfree(d);
		return ret;
	}
	ret = xiova_domain_init_rcaches(&d->iovad);
	if (ret)
		goto err;

	mutex_lock(&xt_domains_lock);
	list_for_each_entry(old, &xt_domains, list) {
		if (!strcmp(old->name, name)) {
			mutex_unlock(&xt_domains_lock);
			ret = -EEXIST;
			goto err;
		}
	}
	snprintf(target, sizeof(target), "../domain%d", d->iovad.id);
	d->link = debugfs_create_symlink(name, xt_dir, target);
	list_add_tail(&d->list, &xt_domains);
	mutex_unlock(&xt_domains_lock);
	return 0;

err:
	xiova_put_domain(&d->iovad);
	xa_destroy(&d->handed_out);
	kfree(d);
	return ret;
}

static int xt_destroy(const char *name)
{
	struct xt_domain *d = xt_domain_get(name);

	if (!d)
		return -ENOENT;
	mutex_lock(&xt_domains_lock);
	/* Two racing destroys: only the one that unlinks drops the list ref. */
	if (list_empty(&d->list)) {
		mutex_unlock(&xt_domains_lock);
		xt_domain_put(d);
		return -ENOENT;
	}
	list_del_init(&d->list);
	mutex_unlock(&xt_domains_lock);
	xt_domain_put(d);
	xt_domain_put(d);
	return 0;
}

static void *xt_entry(bool fast, unsigned long size)
{
	return xa_mk_value((order_base_2(size) << XT_ORDER_SHIFT) |
			   (fast ? XT_FAST : 0));
}

/* Recorded before the reply: until then no other command can free it. */
static int xt_handed_out(struct xt_domain *d, unsigned long pfn, bool fast,
			 unsigned long size, char *reply, size_t len)
{
	int ret = xa_insert(&d->handed_out, pfn, xt_entry(fast, size),
			    GFP_KERNEL);

	if (ret) {
		/* Out of memory: give the range back rather than lose track. */
		xiova_free(&d->iovad, pfn);
		return ret;
	}
	return snprintf(reply, len, "%#lx\n", pfn);
}

static int xt_alloc(struct xt_domain *d, unsigned long *arg, int nargs,
		    char *reply, size_t size)
{
	struct xiova *iova = xiova_alloc(&d->iovad, arg[0], arg[1],
					 nargs > 2 && arg[2]);

	if (!iova)
		return -ENOSPC;
	/* Not recorded yet, so nobody else can free it: safe to read. */
	return xt_handed_out(d, iova->pfn_lo, false, arg[0], reply, size);
}

static int xt_alloc_fast(struct xt_domain *d, unsigned long *arg, int nargs,
			 char *reply, size_t size)
{
	unsigned long pfn = xiova_alloc_fast(&d->iovad, arg[0], arg[1],
					     nargs > 2 && arg[2]);

	if (!pfn)
		return -ENOSPC;
	return xt_handed_out(d, pfn, true, arg[0], reply, size);
}

/* The range holding @pfn, read under the tree lock: it may be freed next. */
static bool xt_lookup(struct xt_domain *d, unsigned long pfn,
		      unsigned long *lo, unsigned long *hi)
{
	struct xiova_domain *iovad = &d->iovad;
	unsigned long flags;
	struct xiova *iova;

	spin_lock_irqsave(&iovad->iova_rbtree_lock, flags);
	iova = xiova_find_locked(iovad, pfn);
	if (iova == &iovad->anchor)
		iova = NULL;
	if (iova) {
		*lo = iova->pfn_lo;
		*hi = iova->pfn_hi;
	}
	spin_unlock_irqrestore(&iovad->iova_rbtree_lock, flags);
	return iova;
}

static int xt_find_range(struct xt_domain *d, unsigned long pfn,
			 char *reply, size_t size)
{
	unsigned long lo, hi;

	if (!xt_lookup(d, pfn, &lo, &hi))
		return -ENOENT;
	return snprintf(reply, size, "%#lx %#lx\n", lo, hi);
}

/*
 * Logged as the allocator's debug checks log their refusals, so that the
 * VM tests count a bad free refused here like one refused there; not
 * ratelimited, or a count after a burst of bad input would miss it.
 */
static int xt_refused(struct xt_domain *d, const char *what,
		      unsigned long pfn, int err)
{
	pr_warn("test domain %s: %s of pfn %#lx refused: not handed out as given\n",
		d->name, what, pfn);
	return err;
}

/*
 * Frees report -ENOENT for a pfn that no range handed out by a command
 * holds, so that a test sees its bad free refused; the allocator itself
 * only warns. Any pfn inside the range frees it, as xiova_free() does.
 */
static int xt_free(struct xt_domain *d, unsigned long *arg, int nargs,
		   char *reply, size_t size)
{
	unsigned long lo, hi;

	if (!xt_lookup(d, arg[0], &lo, &hi) || !xa_erase(&d->handed_out, lo))
		return xt_refused(d, "free", arg[0], -ENOENT);
	xiova_free(&d->iovad, lo);
	return 0;
}

/* Only a range from alloc_fast, at its first pfn, with its size class. */
static int xt_free_fast(struct xt_domain *d, unsigned long *arg, int nargs,
			char *reply, size_t size)
{
	void *entry = xa_load(&d->handed_out, arg[0]);

	if (!entry)
		return xt_refused(d, "fast free", arg[0], -ENOENT);
	if (!arg[1] || entry != xt_entry(true, arg[1]))
		return xt_refused(d, "fast free", arg[0], -EINVAL);
	/* Two racing fast frees: only the one that takes the entry frees. */
	if (xa_cmpxchg(&d->handed_out, arg[0], entry, NULL, 0) != entry)
		return xt_refused(d, "fast free", arg[0], -ENOENT);
	xiova_free_fast(&d->iovad, arg[0], arg[1]);
	return 0;
}

static int xt_find(struct xt_domain *d, unsigned long *arg, int nargs,
		   char *reply, size_t size)
{
	return xt_find_range(d, arg[0], reply, size);
}

static int xt_reserve(struct xt_domain *d, unsigned long *arg, int nargs,
		      char *reply, size_t size)
{
	unsigned long lo, hi, index;
	void *entry;

	if (!xiova_reserve(&d->iovad, arg[0], arg[1]))
		return arg[0] > arg[1] ? -EINVAL : -EBUSY;
	/* A later reservation may have merged into it meanwhile: look again. */
	if (!xt_lookup(d, arg[1], &lo, &hi))
		return -EIO;
	/*
	 * A reservation can be freed like any range: recorded by its first
	 * pfn. Ranges merged into it lose their keys; only reservations
	 * merge, so nothing handed out is lost.
	 */
	xa_for_each_range(&d->handed_out, index, entry, lo + 1, hi)
		xa_erase(&d->handed_out, index);
	if (xa_is_err(xa_store(&d->handed_out, lo, xt_entry(false, hi - lo + 1),
			       GFP_KERNEL)))
		return -ENOMEM;
	return snprintf(reply, size, "%#lx %#lx\n", lo, hi);
}

static int xt_flush(struct xt_domain *d, unsigned long *arg, int nargs,
		    char *reply, size_t size)
{
	xiova_flush_rcaches(&d->iovad, XIOVA_FLUSH_REQUEST);
	return 0;
}

static int xt_check(struct xt_domain *d, unsigned long *arg, int nargs,
		    char *reply, size_t size)
{
	return xiova_check_tree(&d->iovad);
}

/*
 * A burst allocates COUNT ranges with xiova_alloc_fast(), then frees them
 * all with xiova_free_fast(), ROUNDS times: the flush-queue pattern.
 */
static int xt_burst(struct xt_domain *d, unsigned long *arg, int nargs,
		    char *reply, size_t size)
{
	unsigned long count = arg[0], len = arg[1], rounds = nargs > 2 ? arg[2] : 1;
	unsigned long *pfns, i, r, done = 0;
	ktime_t start;
	int ret = 0;

	if (!count || count > XT_BURST_MAX || !len || !rounds ||
	    rounds > XT_BURST_MAX)
		return -EINVAL;
	pfns = kvcalloc(count, sizeof(*pfns), GFP_KERNEL);
	if (!pfns)
		return -ENOMEM;

	start = ktime_get();
	for (r = 0; r < rounds && !ret; r++) {
		for (i = 0; i < count; i++) {
			pfns[i] = xiova_alloc_fast(&d->iovad, len, ~0UL, true);
			if (!pfns[i]) {
				ret = -ENOSPC;
				break;
			}
		}
		done += i;
		while (i--)
			xiova_free_fast(&d->iovad, pfns[i], len);
		if (fatal_signal_pending(current))
			ret = -EINTR;
		cond_resched();
	}
	kvfree(pfns);
	if (ret)
		return ret;
	return snprintf(reply, size, "%lu %lld\n", done,
			ktime_to_ns(ktime_sub(ktime_get(), start)));
}

static const struct xt_cmd xt_cmds[] = {
	{ "alloc", 2, 3, xt_alloc },
	{ "alloc_fast", 2, 3, xt_alloc_fast },
	{ "free", 1, 1, xt_free },
	{ "free_fast", 2, 2, xt_free_fast },
	{ "find", 1, 1, xt_find },
	{ "reserve", 2, 2, xt_reserve },
	{ "flush", 0, 0, xt_flush },
	{ "check", 0, 0, xt_check },
	{ "burst", 2, 3, xt_burst },
};

static int xt_parse_args(char **rest, unsigned long *arg, int max)
{
	char *tok;
	int n = 0;

	while ((tok = strsep(rest, " \t"))) {
		if (!*tok)
			continue;
		if (n == max || kstrtoul(tok, 0, &arg[n]))
			return -EINVAL;
		n++;
	}
	return n;
}

static int xt_run_domain_cmd(const struct xt_cmd *cmd, const char *name,
			     char *rest, char *reply, size_t size)
{
	unsigned long arg[XT_ARGS_MAX] = {};
	struct xt_domain *d;
	int nargs, ret;

	nargs = xt_parse_args(&rest, arg, cmd->maxargs);
	if (nargs < cmd->nargs)
		return -EINVAL;
	d = xt_domain_get(name);
	if (!d)
		return -ENOENT;
	ret = cmd->run(d, arg, nargs, reply, size);
	xt_domain_put(d);
	return ret;
}

static int xt_execute(char *line, char *reply, size_t size)
{
	unsigned long arg[XT_ARGS_MAX] = {};
	char *verb, *name;
	int i, nargs;

	verb = strsep(&line, " \t");
	name = line ? strsep(&line, " \t") : NULL;
	if (!verb || !*verb || !name || !*name)
		return -EINVAL;

	if (!strcmp(verb, "create")) {
		nargs = xt_parse_args(&line, arg, 2);
		return nargs < 0 ? nargs : xt_create(name, arg, nargs);
	}
	if (!strcmp(verb, "destroy"))
		return line && *line ? -EINVAL : xt_destroy(name);
	for (i = 0; i < ARRAY_SIZE(xt_cmds); i++)
		if (!strcmp(verb, xt_cmds[i].verb))
			return xt_run_domain_cmd(&xt_cmds[i], name, line, reply,
						 size);
	return -EINVAL;
}

static bool xt_printable(const char *buf, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (!isascii(buf[i]) || (!isprint(buf[i]) && buf[i] != '\t'))
			return false;
	return true;
}

static ssize_t xt_ctl_write(struct file *file, const char __user *ubuf,
			    size_t count, loff_t *ppos)
{
	struct xt_file *xf = file->private_data;
	char buf[XT_CMD_MAX];
	size_t len = count;
	int ret;

	if (!count || count >= XT_CMD_MAX)
		return -EINVAL;
	if (copy_from_user(buf, ubuf, count))
		return -EFAULT;
	if (buf[len - 1] == '\n')
		len--;
	buf[len] = '\0';
	if (!xt_printable(buf, len))
		return -EINVAL;

	mutex_lock(&xf->lock);
	xf->len = 0;
	xf->reply[0] = '\0';
	ret = xt_execute(buf, xf->reply, sizeof(xf->reply));
	if (ret > 0)
		xf->len = min_t(size_t, ret, sizeof(xf->reply) - 1);
	/* The next read starts at the reply's beginning. */
	*ppos = 0;
	mutex_unlock(&xf->lock);
	return ret < 0 ? ret : count;
}

static ssize_t xt_ctl_read(struct file *file, char __user *ubuf, size_t count,
			   loff_t *ppos)
{
	struct xt_file *xf = file->private_data;
	ssize_t ret;

	mutex_lock(&xf->lock);
	ret = simple_read_from_buffer(ubuf, count, ppos, xf->reply, xf->len);
	mutex_unlock(&xf->lock);
	return ret;
}

static int xt_ctl_open(struct inode *inode, struct file *file)
{
	struct xt_file *xf = kzalloc(sizeof(*xf), GFP_KERNEL);

	if (!xf)
		return -ENOMEM;
	mutex_init(&xf->lock);
	file->private_data = xf;
	/* The position is the reply's, which each command resets. */
	return nonseekable_open(inode, file);
}

static int xt_ctl_release(struct inode *inode, struct file *file)
{
	kfree(file->private_data);
	return 0;
}

static const struct file_operations xt_ctl_fops = {
	.owner		= THIS_MODULE,
	.open		= xt_ctl_open,
	.release	= xt_ctl_release,
	.read		= xt_ctl_read,
	.write		= xt_ctl_write,
};

/**
 * xiova_testctl_init() - create debugfs xiova/test/ctl
 * @root: the module's debugfs directory, or NULL without debugfs
 */
void xiova_testctl_init(struct dentry *root)
{
	if (!root)
		return;
	xt_dir = debugfs_create_dir("test", root);
	debugfs_create_file("ctl", 0600, xt_dir, NULL, &xt_ctl_fops);
}

/**
 * xiova_testctl_exit() - destroy every test domain left behind
 */
void xiova_testctl_exit(void)
{
	struct xt_domain *d, *tmp;
	LIST_HEAD(list);

	mutex_lock(&xt_domains_lock);
	list_splice_init(&xt_domains, &list);
	mutex_unlock(&xt_domains_lock);
	list_for_each_entry_safe(d, tmp, &list, list) {
		list_del_init(&d->list);
		xt_domain_put(d);
	}
	xt_dir = NULL;
}
