// SPDX-License-Identifier: GPL-2.0-only
/*
 * The running kernel's BTF, read from /sys/kernel/btf/vmlinux, to check
 * that its private structures are the ones this module was written for
 * (Documentation/live.rst, "Kernel versions"). Only what that needs: find
 * a struct by name, find a member by name (looking into anonymous structs
 * and unions, as C does), and the sizes of types.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/file.h>
#include <linux/fs.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/vmalloc.h>
#include <uapi/linux/btf.h>

#include "live.h"

#define XLIVE_BTF_PATH		"/sys/kernel/btf/vmlinux"
#define XLIVE_BTF_MAX_SIZE	(64 << 20)
/* Anonymous members nest; C code does not go deeper than this. */
#define XLIVE_BTF_MAX_DEPTH	8

struct xlive_btf {
	void			*data;
	size_t			size;
	const char		*strings;
	u32			str_len;
	/* Where each type starts, by id; [0] is the void type. */
	const struct btf_type	**types;
	u32			nr_types;
};

static const char *xlive_btf_name(const struct xlive_btf *btf, u32 off)
{
	return off < btf->str_len ? btf->strings + off : "";
}

/* The bytes that follow a type's header, by kind. */
static size_t xlive_btf_extra(const struct btf_type *t)
{
	u16 vlen = BTF_INFO_VLEN(t->info);

	switch (BTF_INFO_KIND(t->info)) {
	case BTF_KIND_INT:
		return sizeof(u32);
	case BTF_KIND_ARRAY:
		return sizeof(struct btf_array);
	case BTF_KIND_STRUCT:
	case BTF_KIND_UNION:
		return vlen * sizeof(struct btf_member);
	case BTF_KIND_ENUM:
		return vlen * sizeof(struct btf_enum);
	case BTF_KIND_FUNC_PROTO:
		return vlen * sizeof(struct btf_param);
	case BTF_KIND_VAR:
		return sizeof(struct btf_var);
	case BTF_KIND_DATASEC:
		return vlen * sizeof(struct btf_var_secinfo);
	case BTF_KIND_DECL_TAG:
		return sizeof(struct btf_decl_tag);
	case BTF_KIND_ENUM64:
		return vlen * sizeof(struct btf_enum64);
	case BTF_KIND_PTR:
	case BTF_KIND_FWD:
	case BTF_KIND_TYPEDEF:
	case BTF_KIND_VOLATILE:
	case BTF_KIND_CONST:
	case BTF_KIND_RESTRICT:
	case BTF_KIND_FUNC:
	case BTF_KIND_FLOAT:
	case BTF_KIND_TYPE_TAG:
		return 0;
	default:
		return SIZE_MAX;
	}
}

/* Two passes over the type section: count, then index. */
static int xlive_btf_index(struct xlive_btf *btf, const void *start,
			   const void *end)
{
	const struct btf_type *t;
	const void *p;
	size_t extra;
	u32 n;

	for (n = 0, p = start; p < end; n++) {
		t = p;
		if (p + sizeof(*t) > end)
			return -EINVAL;
		extra = xlive_btf_extra(t);
		if (extra == SIZE_MAX || p + sizeof(*t) + extra > end)
			return -EINVAL;
		p += sizeof(*t) + extra;
		if (btf->types)
			btf->types[n + 1] = t;
	}
	btf->nr_types = n + 1;
	return 0;
}

static int xlive_btf_parse(struct xlive_btf *btf)
{
	const struct btf_header *hdr = btf->data;
	const void *types;
	int ret;

	if (btf->size < sizeof(*hdr) || hdr->magic != BTF_MAGIC ||
	    hdr->hdr_len > btf->size ||
	    (u64)hdr->hdr_len + hdr->type_off + hdr->type_len > btf->size ||
	    (u64)hdr->hdr_len + hdr->str_off + hdr->str_len > btf->size)
		return -EINVAL;
	types = btf->data + hdr->hdr_len + hdr->type_off;
	btf->strings = btf->data + hdr->hdr_len + hdr->str_off;
	btf->str_len = hdr->str_len;

	ret = xlive_btf_index(btf, types, types + hdr->type_len);
	if (ret)
		return ret;
	btf->types = kvcalloc(btf->nr_types, sizeof(*btf->types), GFP_KERNEL);
	if (!btf->types)
		return -ENOMEM;
	return xlive_btf_index(btf, types, types + hdr->type_len);
}

static const struct btf_type *xlive_btf_type(const struct xlive_btf *btf,
					     u32 id)
{
	return id && id < btf->nr_types ? btf->types[id] : NULL;
}

/* Through typedefs and qualifiers, to the type that has a size. */
static const struct btf_type *xlive_btf_resolve(const struct xlive_btf *btf,
						u32 id)
{
	const struct btf_type *t = xlive_btf_type(btf, id);
	int hops;

	for (hops = 0; t && hops < 32; hops++) {
		switch (BTF_INFO_KIND(t->info)) {
		case BTF_KIND_TYPEDEF:
		case BTF_KIND_VOLATILE:
		case BTF_KIND_CONST:
		case BTF_KIND_RESTRICT:
		case BTF_KIND_TYPE_TAG:
			t = xlive_btf_type(btf, t->type);
			break;
		default:
			return t;
		}
	}
	return NULL;
}

static size_t xlive_btf_sizeof(const struct xlive_btf *btf, u32 id)
{
	const struct btf_type *t = xlive_btf_resolve(btf, id);
	const struct btf_array *a;

	if (!t)
		return 0;
	switch (BTF_INFO_KIND(t->info)) {
	case BTF_KIND_PTR:
		return sizeof(void *);
	case BTF_KIND_ARRAY:
		a = (const void *)(t + 1);
		return a->nelems * xlive_btf_sizeof(btf, a->type);
	case BTF_KIND_INT:
	case BTF_KIND_ENUM:
	case BTF_KIND_ENUM64:
	case BTF_KIND_STRUCT:
	case BTF_KIND_UNION:
	case BTF_KIND_FLOAT:
		return t->size;
	default:
		return 0;
	}
}

static bool xlive_btf_is_record(const struct btf_type *t)
{
	return t && (BTF_INFO_KIND(t->info) == BTF_KIND_STRUCT ||
		     BTF_INFO_KIND(t->info) == BTF_KIND_UNION);
}

static u32 xlive_btf_member_bits(const struct btf_type *t,
				 const struct btf_member *m)
{
	return BTF_INFO_KFLAG(t->info) ? BTF_MEMBER_BIT_OFFSET(m->offset) :
					 m->offset;
}

/* @name in struct or union @t, looking into anonymous members. */
static bool xlive_btf_find_member(const struct xlive_btf *btf,
				  const struct btf_type *t, const char *name,
				  int depth, u32 *bits, u32 *type)
{
	const struct btf_member *m = (const void *)(t + 1);
	const struct btf_type *inner;
	u16 i, vlen = BTF_INFO_VLEN(t->info);

	for (i = 0; i < vlen; i++, m++) {
		if (m->name_off) {
			if (strcmp(xlive_btf_name(btf, m->name_off), name))
				continue;
			*bits = xlive_btf_member_bits(t, m);
			*type = m->type;
			return true;
		}
		inner = xlive_btf_resolve(btf, m->type);
		if (depth < XLIVE_BTF_MAX_DEPTH && xlive_btf_is_record(inner) &&
		    xlive_btf_find_member(btf, inner, name, depth + 1, bits,
					  type)) {
			*bits += xlive_btf_member_bits(t, m);
			return true;
		}
	}
	return false;
}

static const struct btf_type *xlive_btf_struct(const struct xlive_btf *btf,
					       const char *name)
{
	const struct btf_type *t;
	u32 id;

	for (id = 1; id < btf->nr_types; id++) {
		t = btf->types[id];
		if (BTF_INFO_KIND(t->info) == BTF_KIND_STRUCT &&
		    !strcmp(xlive_btf_name(btf, t->name_off), name))
			return t;
	}
	return NULL;
}

/*
 * One layout against the BTF. On a mismatch, @why says what differs, for
 * the one message the module prints when no layout matches.
 */
static bool xlive_btf_matches(const struct xlive_btf *btf,
			      const struct xlive_layout *l, char *why,
			      size_t len)
{
	const struct xlive_member *m;
	const struct btf_type *t;
	u32 bits, type;
	size_t size;

	t = xlive_btf_struct(btf, l->name);
	if (!t) {
		snprintf(why, len, "no struct %s", l->name);
		return false;
	}
	if (l->size && t->size != l->size) {
		snprintf(why, len, "struct %s is %u bytes, expected %zu",
			 l->name, t->size, l->size);
		return false;
	}
	for (m = l->members; m->name; m++) {
		if (!xlive_btf_find_member(btf, t, m->name, 0, &bits, &type)) {
			snprintf(why, len, "struct %s has no member %s",
				 l->name, m->name);
			return false;
		}
		size = xlive_btf_sizeof(btf, type);
		if (bits != m->offset * BITS_PER_BYTE ||
		    (m->size && size != m->size)) {
			snprintf(why, len,
				 "struct %s member %s is at byte %u size %zu, expected %zu size %zu",
				 l->name, m->name, bits / BITS_PER_BYTE, size,
				 m->offset, m->size);
			return false;
		}
	}
	return true;
}

/*
 * Reads the whole of @path into a vmalloc()ed buffer. Not through
 * kernel_read_file(): its LSM hook has no id for this, and IPE (6.12)
 * warns about READING_UNKNOWN.
 */
static ssize_t xlive_btf_read(const char *path, void **data, size_t max)
{
	struct file *file;
	loff_t pos = 0;
	ssize_t ret;
	size_t size;
	void *buf;

	file = filp_open(path, O_RDONLY, 0);
	if (IS_ERR(file))
		return PTR_ERR(file);
	size = i_size_read(file_inode(file));
	if (!size || size > max) {
		ret = size ? -EFBIG : -EINVAL;
		goto out;
	}
	buf = vmalloc(size);
	if (!buf) {
		ret = -ENOMEM;
		goto out;
	}
	while (pos < size) {
		ret = kernel_read(file, buf + pos, size - pos, &pos);
		if (ret <= 0) {
			vfree(buf);
			ret = ret ?: -EIO;
			goto out;
		}
	}
	*data = buf;
	ret = size;
out:
	fput(file);
	return ret;
}

/**
 * xlive_btf_check() - find the kernel layout this kernel's BTF describes
 * @variants: candidate layouts, each a NULL-name-terminated list of
 *	      structures, the whole list NULL-terminated
 * @why: on failure, the first difference from the last candidate tried
 * @len: size of @why
 *
 * Process context: reads the whole of the kernel's BTF, a few megabytes.
 *
 * Return: the index of the first candidate whose every structure matches,
 * -ENOENT if none does, or another negative errno if the BTF cannot be read.
 */
int xlive_btf_check(const struct xlive_layout *const *variants, char *why,
		    size_t len)
{
	struct xlive_btf btf = {};
	const struct xlive_layout *l;
	ssize_t got;
	int i, ret = -ENOENT;

	got = xlive_btf_read(XLIVE_BTF_PATH, &btf.data, XLIVE_BTF_MAX_SIZE);
	if (got < 0) {
		snprintf(why, len, "cannot read %s: %zd", XLIVE_BTF_PATH, got);
		return got;
	}
	btf.size = got;
	if (xlive_btf_parse(&btf)) {
		snprintf(why, len, "%s does not parse", XLIVE_BTF_PATH);
		ret = -EINVAL;
		goto out;
	}
	for (i = 0; variants[i]; i++) {
		for (l = variants[i]; l->name; l++)
			if (!xlive_btf_matches(&btf, l, why, len))
				break;
		if (!l->name) {
			ret = i;
			break;
		}
	}
out:
	kvfree(btf.types);
	vfree(btf.data);
	return ret;
}
