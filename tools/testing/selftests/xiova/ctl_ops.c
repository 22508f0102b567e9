// SPDX-License-Identifier: GPL-2.0-only
/*
 * Every command of xiova's test-control file with good and bad input: the
 * exact errno of each refusal, the domain's tree check after each step,
 * and tree_nodes equal to the ranges this test holds plus those cached.
 */
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "xiova_ctl.h"

#define LIMIT	0xffffful	/* below 4 GiB in 4 KiB granules */

static int fd = -1;

/* Ranges (allocations and reservations) the test holds per domain. */
static unsigned long held0, held1, held2;

/* The domain's own check, then the node accounting. */
#define step_ok(dom, held) __step_ok(__func__, __LINE__, dom, held)

static bool __step_ok(const char *fn, int line, const char *dom,
		      unsigned long held)
{
	int ret = xc_cmd(fd, NULL, 0, "check %s", dom);

	if (ret) {
		diag("FAIL %s:%d: 'check %s' -> %s", fn, line, dom,
		     strerror(-ret));
		return false;
	}
	return __xc_expect_nodes_settled(fn, line, dom, held);
}

/* A domain's link in test/ (not "." or "..", which always exist). */
static bool link_exists(const char *name)
{
	char path[256];
	struct stat st;

	snprintf(path, sizeof(path), XC_ROOT "/test/%s", name);
	return !lstat(path, &st) && S_ISLNK(st.st_mode);
}

static int read_domains(char *buf, size_t size)
{
	int ret = xc_read_file(XC_DOMAINS, buf, size);

	if (ret < 0)
		diag("reading " XC_DOMAINS ": %s", strerror(-ret));
	return ret;
}

/* Does the domains file list this id? */
static bool domains_lists(long id)
{
	char buf[16384], *line, *save = NULL;

	if (read_domains(buf, sizeof(buf)) < 0)
		return false;
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		if (isdigit((unsigned char)line[0]) && atol(line) == id)
			return true;
	return false;
}

static enum tap_result test_create_default(void)
{
	struct xc_stats st;
	bool ok = true;

	if (!xc_expect(fd, 0, "create ops0"))
		return TAP_FAIL;
	if (xc_stats("ops0", &st)) {
		fail("no readable test/ops0/stats");
		return TAP_FAIL;
	}
	if (st.granule != 4096 || st.start_pfn != 1 || st.tree_nodes ||
	    !st.rcaches || st.nclasses != XC_CLASSES) {
		fail("ops0: granule %lu start_pfn %#lx tree_nodes %lu rcaches %d classes %d",
		     st.granule, st.start_pfn, st.tree_nodes, st.rcaches,
		     st.nclasses);
		ok = false;
	}
	if (st.total[XC_MAG_BYTES] || st.total[XC_LOADED]) {
		fail("a new domain holds %llu magazine bytes", st.total[XC_MAG_BYTES]);
		ok = false;
	}
	if (!domains_lists(st.domain)) {
		fail("domains does not list id %ld", st.domain);
		ok = false;
	}
	ok &= step_ok("ops0", held0);
	return ok ? TAP_PASS : TAP_FAIL;
}

static enum tap_result test_create_args(void)
{
	struct xc_stats st;
	bool ok = true;

	if (!xc_expect(fd, 0, "create ops1 512 0x100") ||
	    !xc_expect(fd, 0, "create ops2 4096 16"))
		return TAP_FAIL;
	if (xc_stats("ops1", &st) || st.granule != 512 || st.start_pfn != 0x100) {
		fail("ops1: granule %lu start_pfn %#lx, expected 512 0x100",
		     st.granule, st.start_pfn);
		ok = false;
	}
	if (xc_stats("ops2", &st) || st.granule != 4096 || st.start_pfn != 0x10) {
		fail("ops2: granule %lu start_pfn %#lx, expected 4096 0x10",
		     st.granule, st.start_pfn);
		ok = false;
	}
	ok &= step_ok("ops1", held1);
	ok &= step_ok("ops2", held2);
	return ok ? TAP_PASS : TAP_FAIL;
}

/* A refused create must leave no domain, link or id behind. */
static bool create_refused(const char *args, const char *name, int err)
{
	char before[16384], after[16384];
	bool ok = true;

	if (read_domains(before, sizeof(before)) < 0)
		return false;
	ok &= xc_expect(fd, err, "create %s", args);
	if (read_domains(after, sizeof(after)) < 0)
		return false;
	if (strcmp(before, after)) {
		fail("'create %s' changed the domains file:", xc_shows(args));
		xc_show_diff(before, after);
		ok = false;
	}
	if (name && err != EEXIST && link_exists(name)) {
		fail("'create %s' left test/%s behind", xc_shows(args),
		     xc_shows(name));
		xc_cmd(fd, NULL, 0, "destroy %s", name);
		ok = false;
	}
	return ok;
}

static enum tap_result test_create_bad_granule(void)
{
	static const char *const granules[] = {
		"0", "3", "8192", "6", "4095", "0x10000", "18446744073709551615",
	};
	char args[64];
	bool ok = true;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(granules); i++) {
		snprintf(args, sizeof(args), "badg %s", granules[i]);
		ok &= create_refused(args, "badg", EINVAL);
	}
	/* Every power of two up to the page size is fine. */
	for (i = 1; i <= 4096; i <<= 1) {
		ok &= xc_expect(fd, 0, "create goodg %zu", i);
		ok &= xc_expect(fd, 0, "check goodg");
		ok &= xc_expect(fd, 0, "destroy goodg");
	}
	return ok ? TAP_PASS : TAP_FAIL;
}

static enum tap_result test_create_bad_start(void)
{
	bool ok = true;

	ok &= create_refused("bads 4096 0", "bads", EINVAL);
	ok &= create_refused("bads 4096 0x0", "bads", EINVAL);
	ok &= create_refused("bads 4096 0xffffffffffffffff", "bads", EINVAL);
	ok &= create_refused("bads 4096 -1", "bads", EINVAL);
	return ok ? TAP_PASS : TAP_FAIL;
}

static enum tap_result test_create_duplicate(void)
{
	bool ok = true;

	ok &= create_refused("ops0", "ops0", EEXIST);
	ok &= create_refused("ops0 512 0x100", "ops0", EEXIST);
	ok &= step_ok("ops0", held0);
	return ok ? TAP_PASS : TAP_FAIL;
}

static enum tap_result test_create_bad_names(void)
{
	static const char *const names[] = {
		"sixteen_chars_xx", "a.b", "a/b", "a$b", "..", ".", "a:b",
		"a*", "caf\xc3\xa9", "caf\xe9", "\xa0", "x\x7f",
	};
	char args[64];
	bool ok = true;
	size_t i;

	ok &= create_refused("", NULL, EINVAL);
	ok &= create_refused(" ", NULL, EINVAL);
	ok &= create_refused("name 4096 1 7", "name", EINVAL);
	ok &= create_refused("name granule", "name", EINVAL);
	for (i = 0; i < ARRAY_SIZE(names); i++) {
		snprintf(args, sizeof(args), "%s", names[i]);
		ok &= create_refused(args, names[i], EINVAL);
	}
	/* The longest and the odd but valid ones. */
	ok &= xc_expect(fd, 0, "create fifteen_chars_x");
	ok &= xc_expect(fd, 0, "destroy fifteen_chars_x");
	ok &= xc_expect(fd, 0, "create A-z_0-9");
	ok &= xc_expect(fd, 0, "destroy A-z_0-9");
	return ok ? TAP_PASS : TAP_FAIL;
}

static enum tap_result test_unknown_domain(void)
{
	static const char *const cmds[] = {
		"destroy nosuch", "alloc nosuch 1 0xfffff",
		"alloc_fast nosuch 1 0xfffff", "free nosuch 1",
		"free_fast nosuch 1 1", "find nosuch 1",
		"reserve nosuch 1 2", "flush nosuch", "check nosuch",
		"burst nosuch 1 1",
	};
	bool ok = true;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cmds); i++)
		ok &= xc_expect(fd, ENOENT, "%s", cmds[i]);
	ok &= !link_exists("nosuch");
	return ok ? TAP_PASS : TAP_FAIL;
}

static enum tap_result test_bad_syntax(void)
{
	static const char *const cmds[] = {
		"allocate ops0 1 0xfffff", "ALLOC ops0 1 0xfffff", "alloc",
		"alloc ops0", "alloc ops0 1", "alloc ops0 1 0xfffff 1 2",
		"alloc ops0 1x 0xfffff", "alloc ops0 0x 0xfffff",
		"alloc ops0 1 fffff", "alloc ops0 -1 0xfffff",
		"alloc ops0 08 0xfffff", "alloc_fast ops0 1",
		"alloc_fast ops0 1 2 3 4", "free ops0", "free ops0 1 2",
		"free_fast ops0 1", "free_fast ops0 1 1 1", "find ops0",
		"find ops0 1 2", "reserve ops0 1", "reserve ops0 1 2 3",
		"flush ops0 1", "check ops0 1", "destroy ops0 1",
		"burst ops0 1", "burst ops0 1 1 1 1", "create ops9 4096 1 1",
		"check  ", "\tcheck ops0",
	};
	bool ok = true;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cmds); i++)
		ok &= xc_expect(fd, EINVAL, "%s", cmds[i]);
	ok &= !link_exists("ops9");
	ok &= step_ok("ops0", held0);
	return ok ? TAP_PASS : TAP_FAIL;
}

/* Allocates and checks that find reports exactly [pfn, pfn + len - 1]. */
static bool alloc_exact(const char *verb, const char *dom, unsigned long size,
			unsigned long limit, unsigned long flag,
			unsigned long len, unsigned long align,
			unsigned long *pfn)
{
	unsigned long lo, hi;
	int ret;

	ret = xc_alloc(fd, verb, dom, size, limit, flag, pfn);
	if (ret) {
		fail("'%s %s %lu %#lx %lu' -> %s", verb, dom, size, limit, flag,
		     strerror(-ret));
		return false;
	}
	if (*pfn % align || *pfn + len - 1 > limit) {
		fail("'%s %s %lu %#lx %lu' gave pfn %#lx: not %lu-aligned or above the limit",
		     verb, dom, size, limit, flag, *pfn, align);
		return false;
	}
	ret = xc_find(fd, dom, *pfn, &lo, &hi);
	if (ret || lo != *pfn || hi != *pfn + len - 1) {
		fail("find %s %#lx: %s [%#lx, %#lx], expected [%#lx, %#lx]",
		     dom, *pfn, strerror(-ret), lo, hi, *pfn, *pfn + len - 1);
		return false;
	}
	return true;
}

static enum tap_result test_alloc(void)
{
	unsigned long pfn, lo, hi;
	bool ok = true;

	/* Top-down: the first range of an empty domain ends at the limit. */
	if (!alloc_exact("alloc", "ops0", 1, LIMIT, 0, 1, 1, &pfn))
		return TAP_FAIL;
	held0++;
	if (pfn != LIMIT) {
		fail("first 1-pfn alloc at %#lx, expected the limit %#lx", pfn,
		     LIMIT);
		ok = false;
	}
	ok &= step_ok("ops0", held0);
	if (!alloc_exact("alloc", "ops0", 8, LIMIT, 1, 8, 8, &pfn))
		return TAP_FAIL;
	held0++;
	ok &= step_ok("ops0", held0);
	if (!alloc_exact("alloc", "ops0", 3, LIMIT, 0, 3, 1, &pfn))
		return TAP_FAIL;
	held0++;
	ok &= step_ok("ops0", held0);
	/* Octal size, decimal limit: an aligned 8-pfn range. */
	{
		char reply[128];
		int ret;

		ret = xc_cmd(fd, reply, sizeof(reply), "alloc ops0 010 1048575 1");
		if (ret || xc_parse_reply(reply, &pfn, NULL) != 1) {
			fail("'alloc ops0 010 1048575 1' -> %s", strerror(-ret));
			return TAP_FAIL;
		}
		held0++;
		if (xc_find(fd, "ops0", pfn, &lo, &hi) || lo != pfn ||
		    hi != pfn + 7 || pfn % 8) {
			fail("octal size 010 gave [%#lx, %#lx]", lo, hi);
			ok = false;
		}
	}
	ok &= step_ok("ops0", held0);
	/* ops1 has a 512-byte granule and starts at 0x100. */
	if (!alloc_exact("alloc", "ops1", 0x10, 0x1ff, 1, 0x10, 0x10, &pfn))
		return TAP_FAIL;
	held1++;
	if (pfn != 0x1f0) {
		fail("ops1 alloc at %#lx, expected 0x1f0", pfn);
		ok = false;
	}
	ok &= step_ok("ops1", held1);
	return ok ? TAP_PASS : TAP_FAIL;
}

static enum tap_result test_alloc_limits(void)
{
	unsigned long pfn;
	bool ok = true;

	/* ops2 starts at 0x10. */
	ok &= xc_expect(fd, ENOSPC, "alloc ops2 1 0xf");
	ok &= xc_expect(fd, ENOSPC, "alloc_fast ops2 1 0xf 1");
	ok &= xc_expect(fd, ENOSPC, "alloc ops2 1 0");
	ok &= xc_expect(fd, ENOSPC, "alloc ops2 18 0x20");
	ok &= xc_expect(fd, ENOSPC, "alloc ops0 0xffffffffffffffff 0xffffffffffffffff");
	ok &= xc_expect(fd, ENOSPC, "alloc_fast ops0 0xffffffffffffffff 0xffffffffffffffff 1");
	ok &= xc_expect(fd, ENOSPC, "alloc ops0 0 0xfffff");
	ok &= xc_expect(fd, ENOSPC, "alloc ops0 0 0xfffff 1");
	ok &= xc_expect(fd, ENOSPC, "alloc_fast ops0 0 0xfffff 1");
	ok &= step_ok("ops2", held2);
	ok &= step_ok("ops0", held0);
	/* Exactly the space between start and limit. */
	if (!alloc_exact("alloc", "ops2", 17, 0x20, 0, 17, 1, &pfn))
		return TAP_FAIL;
	held2++;
	if (pfn != 0x10) {
		fail("17-pfn alloc in [0x10, 0x20] at %#lx", pfn);
		ok = false;
	}
	ok &= xc_expect(fd, ENOSPC, "alloc ops2 1 0x20");
	ok &= xc_expect(fd, ENOSPC, "alloc_fast ops2 1 0x20 1");
	ok &= step_ok("ops2", held2);
	ok &= xc_expect(fd, 0, "free ops2 0x15");
	held2--;
	/* The 32-bit fast-fail resets on a free: the space is usable again. */
	if (!alloc_exact("alloc_fast", "ops2", 1, 0x20, 1, 1, 1, &pfn))
		return TAP_FAIL;
	held2++;
	if (pfn != 0x20) {
		fail("alloc_fast after the free at %#lx, expected 0x20", pfn);
		ok = false;
	}
	ok &= step_ok("ops2", held2);
	/* A limit at or above the anchor means no limit. */
	if (!alloc_exact("alloc", "ops2", 1, ~0ul, 0, 1, 1, &pfn))
		return TAP_FAIL;
	held2++;
	if (pfn != ~0ul - 1) {
		fail("alloc with limit ~0 at %#lx, expected %#lx", pfn, ~0ul - 1);
		ok = false;
	}
	ok &= step_ok("ops2", held2);
	return ok ? TAP_PASS : TAP_FAIL;
}

static bool class_stats(const char *dom, int cls, unsigned long long *row)
{
	struct xc_stats st;

	if (xc_stats(dom, &st))
		return false;
	memcpy(row, st.cls[cls], sizeof(st.cls[cls]));
	return true;
}

static enum tap_result test_alloc_free_fast(void)
{
	unsigned long long before[XC_NCOLS], after[XC_NCOLS];
	unsigned long pfn, again, lo, hi;
	bool ok = true;

	if (!alloc_exact("alloc_fast", "ops0", 3, LIMIT, 0, 4, 4, &pfn))
		return TAP_FAIL;
	held0++;
	ok &= step_ok("ops0", held0);
	ok &= xc_expect(fd, EINVAL, "free_fast ops0 %#lx 8", pfn);
	ok &= xc_expect(fd, EINVAL, "free_fast ops0 %#lx 1", pfn);
	ok &= xc_expect(fd, EINVAL, "free_fast ops0 %#lx 0", pfn);
	ok &= xc_expect(fd, ENOENT, "free_fast ops0 %#lx 4", pfn + 1);
	ok &= xc_expect(fd, ENOENT, "free_fast ops0 0x7 1");
	ok &= xc_expect(fd, ENOENT, "free_fast ops0 0xffffffffffffffff 1");
	ok &= step_ok("ops0", held0);

	if (!class_stats("ops0", 2, before))
		return TAP_FAIL;
	ok &= xc_expect(fd, 0, "free_fast ops0 %#lx 3", pfn);
	held0--;
	if (!class_stats("ops0", 2, after))
		return TAP_FAIL;
	if (after[XC_INSERTS] != before[XC_INSERTS] + 1 ||
	    after[XC_CPU_PFNS] != before[XC_CPU_PFNS] + 1) {
		fail("free_fast: class 2 inserts %llu->%llu cpu_pfns %llu->%llu, expected +1 each",
		     before[XC_INSERTS], after[XC_INSERTS],
		     before[XC_CPU_PFNS], after[XC_CPU_PFNS]);
		ok = false;
	}
	/* Cached ranges stay in the tree. */
	if (xc_find(fd, "ops0", pfn, &lo, &hi) || lo != pfn || hi != pfn + 3) {
		fail("the cached range %#lx left the tree", pfn);
		ok = false;
	}
	ok &= step_ok("ops0", held0);

	/* Same CPU, same class: the cached range comes straight back. */
	if (!alloc_exact("alloc_fast", "ops0", 4, LIMIT, 0, 4, 4, &again))
		return TAP_FAIL;
	held0++;
	if (!class_stats("ops0", 2, before))
		return TAP_FAIL;
	if (again != pfn || before[XC_HITS] != after[XC_HITS] + 1) {
		fail("alloc_fast after free_fast: pfn %#lx (freed %#lx), hits %llu->%llu",
		     again, pfn, after[XC_HITS], before[XC_HITS]);
		ok = false;
	}
	ok &= xc_expect(fd, 0, "free_fast ops0 %#lx 4", again);
	held0--;
	ok &= step_ok("ops0", held0);

	/* Above the largest class nothing is cached: back to the tree. */
	if (!alloc_exact("alloc_fast", "ops0", 33, LIMIT, 0, 33, 64, &pfn))
		return TAP_FAIL;
	held0++;
	ok &= step_ok("ops0", held0);
	ok &= xc_expect(fd, EINVAL, "free_fast ops0 %#lx 32", pfn);
	ok &= xc_expect(fd, 0, "free_fast ops0 %#lx 33", pfn);
	held0--;
	ok &= xc_expect(fd, ENOENT, "find ops0 %#lx", pfn);
	ok &= step_ok("ops0", held0);
	return ok ? TAP_PASS : TAP_FAIL;
}

static enum tap_result test_free(void)
{
	unsigned long pfn;
	bool ok = true;

	ok &= xc_expect(fd, ENOENT, "free ops0 0x12345");
	ok &= xc_expect(fd, ENOENT, "free ops0 0");
	ok &= xc_expect(fd, ENOENT, "free ops0 0xffffffffffffffff");
	ok &= step_ok("ops0", held0);
	if (!alloc_exact("alloc", "ops0", 8, LIMIT, 1, 8, 8, &pfn))
		return TAP_FAIL;
	held0++;
	/* Any pfn inside the range frees it. */
	ok &= xc_expect(fd, 0, "free ops0 %#lx", pfn + 5);
	held0--;
	ok &= xc_expect(fd, ENOENT, "find ops0 %#lx", pfn);
	ok &= xc_expect(fd, ENOENT, "free ops0 %#lx", pfn);
	ok &= xc_expect(fd, ENOENT, "free ops0 %#lx", pfn + 5);
	ok &= step_ok("ops0", held0);
	return ok ? TAP_PASS : TAP_FAIL;
}

static enum tap_result test_find(void)
{
	unsigned long pfn, lo, hi, i;
	bool ok = true;

	ok &= xc_expect(fd, ENOENT, "find ops0 0x12345");
	ok &= xc_expect(fd, ENOENT, "find ops0 0");
	ok &= xc_expect(fd, ENOENT, "find ops0 0xffffffffffffffff");
	if (!alloc_exact("alloc", "ops0", 5, LIMIT, 0, 5, 1, &pfn))
		return TAP_FAIL;
	held0++;
	for (i = 0; i < 5; i++) {
		if (xc_find(fd, "ops0", pfn + i, &lo, &hi) || lo != pfn ||
		    hi != pfn + 4) {
			fail("find ops0 %#lx: [%#lx, %#lx]", pfn + i, lo, hi);
			ok = false;
		}
	}
	ok &= step_ok("ops0", held0);
	return ok ? TAP_PASS : TAP_FAIL;
}

static bool reserve_gives(const char *dom, unsigned long lo, unsigned long hi,
			  unsigned long want_lo, unsigned long want_hi)
{
	unsigned long rlo, rhi;
	char reply[128];
	int ret;

	ret = xc_cmd(fd, reply, sizeof(reply), "reserve %s %#lx %#lx", dom,
		     lo, hi);
	if (ret || xc_parse_reply(reply, &rlo, &rhi) != 2 || rlo != want_lo ||
	    rhi != want_hi) {
		fail("'reserve %s %#lx %#lx' -> %s '%s', expected '%#lx %#lx'",
		     dom, lo, hi, ret ? strerror(-ret) : "ok", ret ? "" : reply,
		     want_lo, want_hi);
		return false;
	}
	return true;
}

static enum tap_result test_reserve(void)
{
	unsigned long pfn;
	bool ok = true;

	if (!reserve_gives("ops0", 0x100, 0x1ff, 0x100, 0x1ff))
		return TAP_FAIL;
	held0++;
	ok &= step_ok("ops0", held0);
	/* Allocations go around it. */
	if (!alloc_exact("alloc", "ops0", 1, 0x1ff, 0, 1, 1, &pfn))
		return TAP_FAIL;
	held0++;
	if (pfn >= 0x100) {
		fail("alloc below 0x1ff at %#lx, inside the reservation", pfn);
		ok = false;
	}
	ok &= xc_expect(fd, EINVAL, "reserve ops0 0x200 0x100");
	ok &= xc_expect(fd, EINVAL, "reserve ops0 0xffffffffffffffff 0");
	ok &= xc_expect(fd, EBUSY, "reserve ops0 %#lx %#lx", pfn, pfn);
	ok &= xc_expect(fd, EBUSY, "reserve ops0 0x80 0x17f");
	ok &= xc_expect(fd, EBUSY, "reserve ops0 %#lx %#lx", LIMIT - 4, LIMIT);
	ok &= xc_expect(fd, EBUSY, "reserve ops0 0x300 0xffffffffffffffff");
	ok &= xc_expect(fd, EBUSY, "reserve ops0 1 0xfffffffffffffffe");
	ok &= step_ok("ops0", held0);
	/* Inside a reservation: that one, no new node. */
	ok &= reserve_gives("ops0", 0x110, 0x120, 0x100, 0x1ff);
	ok &= step_ok("ops0", held0);
	/* Overlapping the top: the part above becomes a new range. */
	ok &= reserve_gives("ops0", 0x180, 0x27f, 0x200, 0x27f);
	held0++;
	ok &= step_ok("ops0", held0);
	/* Below start_pfn is allowed for reservations (ops2 starts at 0x10). */
	ok &= reserve_gives("ops2", 0, 0xf, 0, 0xf);
	held2++;
	ok &= step_ok("ops2", held2);
	/* A reservation is freed like any range. */
	ok &= xc_expect(fd, 0, "free ops0 0x27f");
	held0--;
	ok &= xc_expect(fd, ENOENT, "find ops0 0x200");
	ok &= step_ok("ops0", held0);
	return ok ? TAP_PASS : TAP_FAIL;
}

static enum tap_result test_flush(void)
{
	unsigned long pfns[6][3];
	struct xc_stats before, st;
	bool ok = true;
	int c, i;

	for (c = 0; c < XC_CLASSES; c++)
		for (i = 0; i < 3; i++) {
			if (xc_alloc(fd, "alloc_fast", "ops0", 1ul << c, LIMIT,
				     1, &pfns[c][i])) {
				fail("alloc_fast ops0 %lu", 1ul << c);
				return TAP_FAIL;
			}
			held0++;
		}
	ok &= step_ok("ops0", held0);
	for (c = 0; c < XC_CLASSES; c++)
		for (i = 0; i < 3; i++) {
			ok &= xc_expect(fd, 0, "free_fast ops0 %#lx %lu",
					pfns[c][i], 1ul << c);
			held0--;
		}
	ok &= step_ok("ops0", held0);
	if (xc_stats("ops0", &before))
		return TAP_FAIL;
	if (xc_cached(&before) < XC_CLASSES * 3) {
		fail("%lu ranges cached after %d fast frees",
		     xc_cached(&before), XC_CLASSES * 3);
		ok = false;
	}
	ok &= xc_expect(fd, 0, "flush ops0");
	if (xc_stats("ops0", &st))
		return TAP_FAIL;
	if (xc_cached(&st) || st.tree_nodes != held0) {
		fail("after flush: %lu cached, tree_nodes %lu, held %lu",
		     xc_cached(&st), st.tree_nodes, held0);
		ok = false;
	}
	for (c = 0; c < XC_CLASSES; c++)
		if (st.cls[c][XC_FLUSHES] != before.cls[c][XC_FLUSHES] + 1) {
			fail("class %d flushes %llu -> %llu", c,
			     before.cls[c][XC_FLUSHES], st.cls[c][XC_FLUSHES]);
			ok = false;
		}
	for (c = 0; c < XC_CLASSES; c++)
		for (i = 0; i < 3; i++)
			ok &= xc_expect(fd, ENOENT, "find ops0 %#lx", pfns[c][i]);
	ok &= step_ok("ops0", held0);
	/* Flushing an empty cache is harmless. */
	ok &= xc_expect(fd, 0, "flush ops0");
	ok &= xc_expect(fd, 0, "flush ops2");
	ok &= step_ok("ops0", held0);
	return ok ? TAP_PASS : TAP_FAIL;
}

static enum tap_result test_burst(void)
{
	unsigned long long before[XC_NCOLS], after[XC_NCOLS];
	unsigned long ops = 0, ns = 0;
	bool ok = true;
	int ret;

	if (!class_stats("ops0", 0, before))
		return TAP_FAIL;
	ret = xc_burst(fd, "ops0", 300, 1, 2, &ops, &ns);
	if (ret || ops != 600 || !ns) {
		fail("'burst ops0 300 1 2' -> %s, ops %lu ns %lu, expected 600 ops",
		     strerror(-ret), ops, ns);
		ok = false;
	}
	if (!class_stats("ops0", 0, after))
		return TAP_FAIL;
	if (after[XC_INSERTS] + after[XC_INS_FAIL] !=
	    before[XC_INSERTS] + before[XC_INS_FAIL] + 600 ||
	    after[XC_HITS] + after[XC_MISSES] !=
	    before[XC_HITS] + before[XC_MISSES] + 600) {
		fail("burst of 600: class 0 allocs %llu->%llu frees %llu->%llu",
		     before[XC_HITS] + before[XC_MISSES],
		     after[XC_HITS] + after[XC_MISSES],
		     before[XC_INSERTS] + before[XC_INS_FAIL],
		     after[XC_INSERTS] + after[XC_INS_FAIL]);
		ok = false;
	}
	ok &= step_ok("ops0", held0);
	ret = xc_burst(fd, "ops0", 10, 33, 1, &ops, NULL);
	if (ret || ops != 10) {
		fail("'burst ops0 10 33' -> %s, ops %lu", strerror(-ret), ops);
		ok = false;
	}
	ok &= step_ok("ops0", held0);
	ok &= xc_expect(fd, EINVAL, "burst ops0 0 1");
	ok &= xc_expect(fd, EINVAL, "burst ops0 1 0");
	ok &= xc_expect(fd, EINVAL, "burst ops0 1 1 0");
	ok &= xc_expect(fd, EINVAL, "burst ops0 1048577 1");
	ok &= xc_expect(fd, EINVAL, "burst ops0 1 1 1048577");
	ok &= step_ok("ops0", held0);
	return ok ? TAP_PASS : TAP_FAIL;
}

/*
 * A burst runs inside one write(): a long one must still die on SIGKILL,
 * and whatever it allocated must go back. The burst is sized to take
 * about 20 s if it cannot be interrupted.
 */
static enum tap_result test_burst_killable(void)
{
	unsigned long ops, ns, rounds;
	double per_round, start;
	int status = 0, ret;
	bool ok = true;
	pid_t pid, got;

	if (!xc_expect(fd, 0, "create kill0"))
		return TAP_FAIL;
	ret = xc_burst(fd, "kill0", 1000, 1, 20, &ops, &ns);
	if (ret || ops != 20000 || !ns) {
		fail("'burst kill0 1000 1 20' -> %s, %lu ops", strerror(-ret),
		     ops);
		xc_cmd(fd, NULL, 0, "destroy kill0");
		return TAP_FAIL;
	}
	per_round = ns / 20.0;
	rounds = 20e9 / per_round;
	if (rounds < 1000)
		rounds = 1000;
	if (rounds > 1ul << 20)
		rounds = 1ul << 20;
	diag("a round of 1000 takes %.0f us: killing a burst of %lu rounds",
	     per_round / 1000, rounds);

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return TAP_FAIL;
	if (!pid) {
		int cfd = xc_open();

		if (cfd >= 0)
			xc_cmd(cfd, NULL, 0, "burst kill0 1000 1 %lu", rounds);
		_exit(0);
	}
	sleep_ms(300);
	kill(pid, SIGKILL);
	start = now_sec();
	/* Generous: a loaded host may leave a vCPU unscheduled for seconds. */
	while (!(got = waitpid(pid, &status, WNOHANG)) && now_sec() - start < 10)
		sleep_ms(10);
	if (!got) {
		fail("'burst kill0 1000 1 %lu' ignored SIGKILL for 10 s (waiting for it to finish)",
		     rounds);
		ok = false;
		waitpid(pid, &status, 0);
		diag("the burst ended %.1f s after SIGKILL", now_sec() - start);
	} else if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL) {
		fail("the burst ended on its own within 300 ms (status %#x)",
		     status);
		ok = false;
	}
	ok &= step_ok("kill0", 0);
	ok &= xc_expect(fd, 0, "destroy kill0");
	return ok ? TAP_PASS : TAP_FAIL;
}

static enum tap_result test_replies(void)
{
	char reply[128];
	unsigned long pfn;
	bool ok = true;
	int fd2, ret;
	ssize_t n;

	/* A failed command and a command without a reply leave none. */
	ret = xc_cmd(fd, reply, sizeof(reply), "alloc ops0 1 %#lx", LIMIT);
	if (ret || xc_parse_reply(reply, &pfn, NULL) != 1) {
		fail("alloc -> %s '%s'", strerror(-ret), reply);
		return TAP_FAIL;
	}
	held0++;
	ok &= xc_expect(fd, ENOENT, "find ops0 0x12345");
	n = read(fd, reply, sizeof(reply));
	if (n != 0) {
		fail("read after a failed find returned %zd", n);
		ok = false;
	}
	ret = xc_cmd(fd, reply, sizeof(reply), "check ops0");
	if (ret || reply[0]) {
		fail("check -> %s, reply '%s', expected none", strerror(-ret),
		     reply);
		ok = false;
	}
	/* Replies belong to the open file. */
	fd2 = xc_open();
	if (fd2 < 0) {
		fail("second open of ctl: %s", strerror(-fd2));
		return TAP_FAIL;
	}
	ret = xc_cmd(fd, NULL, 0, "find ops0 %#lx", pfn);
	n = read(fd2, reply, sizeof(reply));
	if (ret || n != 0) {
		fail("find on one fd -> %s; another fd read %zd bytes",
		     strerror(-ret), n);
		ok = false;
	}
	n = read(fd, reply, sizeof(reply) - 1);
	reply[n > 0 ? n : 0] = '\0';
	{
		unsigned long lo, hi;

		if (xc_parse_reply(reply, &lo, &hi) != 2 || lo != pfn ||
		    hi != pfn) {
			fail("find reply '%s', expected '%#lx %#lx'", reply,
			     pfn, pfn);
			ok = false;
		}
	}
	/* A trailing newline is allowed, as from echo. */
	ret = xc_send_raw(fd2, "check ops0\n", 11, NULL, 0);
	if (ret) {
		fail("'check ops0\\n' -> %s", strerror(-ret));
		ok = false;
	}
	close(fd2);
	ok &= xc_expect(fd, 0, "free ops0 %#lx", pfn);
	held0--;
	ok &= step_ok("ops0", held0);
	return ok ? TAP_PASS : TAP_FAIL;
}

static enum tap_result test_destroy(void)
{
	struct xc_stats st;
	unsigned long pfn;
	bool ok = true;

	if (!xc_expect(fd, 0, "create tmp0"))
		return TAP_FAIL;
	if (xc_stats("tmp0", &st))
		return TAP_FAIL;
	ok &= !xc_alloc(fd, "alloc", "tmp0", 4, LIMIT, 0, &pfn);
	ok &= !xc_burst(fd, "tmp0", 200, 2, 1, NULL, NULL);
	ok &= xc_expect(fd, 0, "destroy tmp0");
	ok &= xc_expect(fd, ENOENT, "destroy tmp0");
	ok &= xc_expect(fd, ENOENT, "check tmp0");
	ok &= xc_expect(fd, ENOENT, "alloc tmp0 1 0xfffff");
	if (link_exists("tmp0")) {
		fail("test/tmp0 still exists");
		ok = false;
	}
	if (domains_lists(st.domain)) {
		fail("domains still lists id %ld", st.domain);
		ok = false;
	}
	/* The name is free again. */
	ok &= xc_expect(fd, 0, "create tmp0");
	ok &= xc_expect(fd, 0, "destroy tmp0");
	/* Other domains are untouched. */
	ok &= step_ok("ops0", held0);
	/* Domains with live ranges and magazines go with everything in them. */
	ok &= xc_expect(fd, 0, "destroy ops0");
	ok &= xc_expect(fd, 0, "destroy ops1");
	ok &= xc_expect(fd, 0, "destroy ops2");
	held0 = 0;
	held1 = 0;
	held2 = 0;
	if (link_exists("ops0") || link_exists("ops1") || link_exists("ops2")) {
		fail("a destroyed domain's link is still there");
		ok = false;
	}
	return ok ? TAP_PASS : TAP_FAIL;
}

static const struct {
	const char *name;
	enum tap_result (*fn)(void);
} cases[] = {
	{ "create_default", test_create_default },
	{ "create_args", test_create_args },
	{ "create_bad_granule", test_create_bad_granule },
	{ "create_bad_start", test_create_bad_start },
	{ "create_duplicate", test_create_duplicate },
	{ "create_bad_names", test_create_bad_names },
	{ "unknown_domain", test_unknown_domain },
	{ "bad_syntax", test_bad_syntax },
	{ "alloc", test_alloc },
	{ "alloc_limits", test_alloc_limits },
	{ "alloc_free_fast", test_alloc_free_fast },
	{ "free", test_free },
	{ "find", test_find },
	{ "reserve", test_reserve },
	{ "flush", test_flush },
	{ "burst", test_burst },
	{ "burst_killable", test_burst_killable },
	{ "replies", test_replies },
	{ "destroy", test_destroy },
};

int main(void)
{
	int cpus[1];
	size_t i;

	xc_require_ctl();
	fd = xc_open();
	if (fd < 0) {
		printf("# open " XC_CTL ": %s\n", strerror(-fd));
		return KSFT_FAIL;
	}
	/* Leftovers of an interrupted earlier run. */
	xc_cmd(fd, NULL, 0, "destroy ops0");
	xc_cmd(fd, NULL, 0, "destroy ops1");
	xc_cmd(fd, NULL, 0, "destroy ops2");
	/* Fast frees and allocations must meet on one CPU's magazines. */
	if (usable_cpus(cpus, 1) == 1)
		pin_cpu(cpus[0]);

	tap_plan(ARRAY_SIZE(cases));
	for (i = 0; i < ARRAY_SIZE(cases); i++)
		tap_result(cases[i].fn(), cases[i].name, NULL);
	xc_cmd(fd, NULL, 0, "destroy ops0");
	xc_cmd(fd, NULL, 0, "destroy ops1");
	xc_cmd(fd, NULL, 0, "destroy ops2");
	close(fd);
	return tap_exit();
}
