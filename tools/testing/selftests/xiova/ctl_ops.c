// SPDX-License-Identifier: GPL-2.0-only
/*
 * Every command of xiova's test-control file with good and bad input: the
 * exact errno of each refusal, the domain's tree check after each step,
 * and tree_nodes equal to the ranges this test holds plus those cached.
 *
 * Each case runs in a process of its own on fresh domains: fixture "ctl"
 * gives a control fd only, fixture "ops" also the domains ops0 (defaults),
 * ops1 (512-byte granule, start 0x100) and ops2 (start 0x10), destroyed
 * again by its teardown.
 */
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "xiova_ctl.h"

#define LIMIT	0xffffful	/* below 4 GiB in 4 KiB granules */
#define TIMEOUT	120		/* per case: a debug kernel under TCG is slow */

/* The domain's own check, then the node accounting. */
#define step_ok(dom, held) __step_ok(__func__, __LINE__, self->fd, dom, held)

static bool __step_ok(const char *fn, int line, int fd, const char *dom,
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

/* The names the cases create: leftovers of an interrupted run go first. */
static const char *const ops_names[] = {
	"ops0", "ops1", "ops2", "ops9", "badg", "goodg", "bads", "name",
	"fifteen_chars_x", "A-z_0-9", "kill0", "tmp0",
};

/* Opens the control file, clears leftovers, pins to one CPU. */
static int ctl_open(void)
{
	int cpus[1], fd;
	size_t i;

	fd = xc_open();
	if (fd < 0)
		return fd;
	for (i = 0; i < ARRAY_SIZE(ops_names); i++)
		xc_cmd(fd, NULL, 0, "destroy %s", ops_names[i]);
	/* Fast frees and allocations must meet on one CPU's magazines. */
	if (usable_cpus(cpus, 1) == 1)
		pin_cpu(cpus[0]);
	return fd;
}

static void ctl_close(int fd)
{
	size_t i;

	if (fd < 0)
		return;
	for (i = 0; i < ARRAY_SIZE(ops_names); i++)
		xc_cmd(fd, NULL, 0, "destroy %s", ops_names[i]);
	close(fd);
}

FIXTURE(ctl) {
	int fd;
};

FIXTURE_SETUP(ctl)
{
	self->fd = ctl_open();
	ASSERT_LE(0, self->fd) TH_LOG("open " XC_CTL ": %s",
				      strerror(-self->fd));
}

FIXTURE_TEARDOWN(ctl)
{
	ctl_close(self->fd);
}

/* Ranges (allocations and reservations) the case holds per domain. */
FIXTURE(ops) {
	int fd;
	unsigned long held0, held1, held2;
};

FIXTURE_SETUP(ops)
{
	self->fd = ctl_open();
	ASSERT_LE(0, self->fd) TH_LOG("open " XC_CTL ": %s",
				      strerror(-self->fd));
	ASSERT_TRUE(xc_expect(self->fd, 0, "create ops0"));
	ASSERT_TRUE(xc_expect(self->fd, 0, "create ops1 512 0x100"));
	ASSERT_TRUE(xc_expect(self->fd, 0, "create ops2 4096 16"));
}

FIXTURE_TEARDOWN(ops)
{
	ctl_close(self->fd);
}

TEST_F_TIMEOUT(ctl, create_default, TIMEOUT)
{
	struct xc_stats st;

	ASSERT_TRUE(xc_expect(self->fd, 0, "create ops0"));
	ASSERT_EQ(0, xc_stats("ops0", &st))
		TH_LOG("no readable test/ops0/stats");
	EXPECT_EQ(4096ul, st.granule);
	EXPECT_EQ(1ul, st.start_pfn);
	EXPECT_EQ(0ul, st.tree_nodes);
	EXPECT_TRUE(st.rcaches);
	EXPECT_EQ(XC_CLASSES, st.nclasses);
	EXPECT_EQ(0ul, st.total[XC_MAG_BYTES])
		TH_LOG("a new domain holds magazine bytes");
	EXPECT_EQ(0ul, st.total[XC_LOADED]);
	EXPECT_TRUE(domains_lists(st.domain))
		TH_LOG("domains does not list id %ld", st.domain);
	EXPECT_TRUE(step_ok("ops0", 0));
}

TEST_F_TIMEOUT(ctl, create_args, TIMEOUT)
{
	struct xc_stats st;

	ASSERT_TRUE(xc_expect(self->fd, 0, "create ops1 512 0x100"));
	ASSERT_TRUE(xc_expect(self->fd, 0, "create ops2 4096 16"));
	ASSERT_EQ(0, xc_stats("ops1", &st));
	EXPECT_EQ(512ul, st.granule);
	EXPECT_EQ(0x100ul, st.start_pfn);
	ASSERT_EQ(0, xc_stats("ops2", &st));
	EXPECT_EQ(4096ul, st.granule);
	EXPECT_EQ(0x10ul, st.start_pfn);
	EXPECT_TRUE(step_ok("ops1", 0));
	EXPECT_TRUE(step_ok("ops2", 0));
}

/* A refused create must leave no domain, link or id behind. */
static bool create_refused(int fd, const char *args, const char *name,
			   int err)
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

TEST_F_TIMEOUT(ctl, create_bad_granule, TIMEOUT)
{
	static const char *const granules[] = {
		"0", "3", "8192", "6", "4095", "0x10000", "18446744073709551615",
	};
	char args[64];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(granules); i++) {
		snprintf(args, sizeof(args), "badg %s", granules[i]);
		EXPECT_TRUE(create_refused(self->fd, args, "badg", EINVAL));
	}
	/* Every power of two up to the page size is fine. */
	for (i = 1; i <= 4096; i <<= 1) {
		EXPECT_TRUE(xc_expect(self->fd, 0, "create goodg %zu", i));
		EXPECT_TRUE(xc_expect(self->fd, 0, "check goodg"));
		EXPECT_TRUE(xc_expect(self->fd, 0, "destroy goodg"));
	}
}

TEST_F_TIMEOUT(ctl, create_bad_start, TIMEOUT)
{
	EXPECT_TRUE(create_refused(self->fd, "bads 4096 0", "bads", EINVAL));
	EXPECT_TRUE(create_refused(self->fd, "bads 4096 0x0", "bads", EINVAL));
	EXPECT_TRUE(create_refused(self->fd, "bads 4096 0xffffffffffffffff",
				   "bads", EINVAL));
	EXPECT_TRUE(create_refused(self->fd, "bads 4096 -1", "bads", EINVAL));
}

TEST_F_TIMEOUT(ops, create_duplicate, TIMEOUT)
{
	EXPECT_TRUE(create_refused(self->fd, "ops0", "ops0", EEXIST));
	EXPECT_TRUE(create_refused(self->fd, "ops0 512 0x100", "ops0", EEXIST));
	EXPECT_TRUE(step_ok("ops0", self->held0));
}

TEST_F_TIMEOUT(ctl, create_bad_names, TIMEOUT)
{
	static const char *const names[] = {
		"sixteen_chars_xx", "a.b", "a/b", "a$b", "..", ".", "a:b",
		"a*", "caf\xc3\xa9", "caf\xe9", "\xa0", "x\x7f",
	};
	char args[64];
	size_t i;

	EXPECT_TRUE(create_refused(self->fd, "", NULL, EINVAL));
	EXPECT_TRUE(create_refused(self->fd, " ", NULL, EINVAL));
	EXPECT_TRUE(create_refused(self->fd, "name 4096 1 7", "name", EINVAL));
	EXPECT_TRUE(create_refused(self->fd, "name granule", "name", EINVAL));
	for (i = 0; i < ARRAY_SIZE(names); i++) {
		snprintf(args, sizeof(args), "%s", names[i]);
		EXPECT_TRUE(create_refused(self->fd, args, names[i], EINVAL));
	}
	/* The longest and the odd but valid ones. */
	EXPECT_TRUE(xc_expect(self->fd, 0, "create fifteen_chars_x"));
	EXPECT_TRUE(xc_expect(self->fd, 0, "destroy fifteen_chars_x"));
	EXPECT_TRUE(xc_expect(self->fd, 0, "create A-z_0-9"));
	EXPECT_TRUE(xc_expect(self->fd, 0, "destroy A-z_0-9"));
}

TEST_F_TIMEOUT(ctl, unknown_domain, TIMEOUT)
{
	static const char *const cmds[] = {
		"destroy nosuch", "alloc nosuch 1 0xfffff",
		"alloc_fast nosuch 1 0xfffff", "free nosuch 1",
		"free_fast nosuch 1 1", "find nosuch 1",
		"reserve nosuch 1 2", "flush nosuch", "check nosuch",
		"burst nosuch 1 1",
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cmds); i++)
		EXPECT_TRUE(xc_expect(self->fd, ENOENT, "%s", cmds[i]));
	EXPECT_FALSE(link_exists("nosuch"));
}

TEST_F_TIMEOUT(ops, bad_syntax, TIMEOUT)
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
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cmds); i++)
		EXPECT_TRUE(xc_expect(self->fd, EINVAL, "%s", cmds[i]));
	EXPECT_FALSE(link_exists("ops9"));
	EXPECT_TRUE(step_ok("ops0", self->held0));
}

/* Allocates and checks that find reports exactly [pfn, pfn + len - 1]. */
static bool alloc_exact(int fd, const char *verb, const char *dom,
			unsigned long size, unsigned long limit,
			unsigned long flag, unsigned long len,
			unsigned long align, unsigned long *pfn)
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

TEST_F_TIMEOUT(ops, alloc, TIMEOUT)
{
	unsigned long pfn, lo, hi;
	char reply[128];

	/* Top-down: the first range of an empty domain ends at the limit. */
	ASSERT_TRUE(alloc_exact(self->fd, "alloc", "ops0", 1, LIMIT, 0, 1, 1,
				&pfn));
	self->held0++;
	EXPECT_EQ(LIMIT, pfn) TH_LOG("the first 1-pfn alloc is not at the limit");
	EXPECT_TRUE(step_ok("ops0", self->held0));
	ASSERT_TRUE(alloc_exact(self->fd, "alloc", "ops0", 8, LIMIT, 1, 8, 8,
				&pfn));
	self->held0++;
	EXPECT_TRUE(step_ok("ops0", self->held0));
	ASSERT_TRUE(alloc_exact(self->fd, "alloc", "ops0", 3, LIMIT, 0, 3, 1,
				&pfn));
	self->held0++;
	EXPECT_TRUE(step_ok("ops0", self->held0));
	/* Octal size, decimal limit: an aligned 8-pfn range. */
	ASSERT_EQ(0, xc_cmd(self->fd, reply, sizeof(reply),
			    "alloc ops0 010 1048575 1"));
	ASSERT_EQ(1, xc_parse_reply(reply, &pfn, NULL))
		TH_LOG("'alloc ops0 010 1048575 1' answered '%s'", reply);
	self->held0++;
	EXPECT_EQ(0, xc_find(self->fd, "ops0", pfn, &lo, &hi));
	EXPECT_EQ(pfn, lo) TH_LOG("octal size 010 gave [%#lx, %#lx]", lo, hi);
	EXPECT_EQ(pfn + 7, hi) TH_LOG("octal size 010 gave [%#lx, %#lx]", lo, hi);
	EXPECT_EQ(0ul, pfn % 8);
	EXPECT_TRUE(step_ok("ops0", self->held0));
	/* ops1 has a 512-byte granule and starts at 0x100. */
	ASSERT_TRUE(alloc_exact(self->fd, "alloc", "ops1", 0x10, 0x1ff, 1,
				0x10, 0x10, &pfn));
	self->held1++;
	EXPECT_EQ(0x1f0ul, pfn);
	EXPECT_TRUE(step_ok("ops1", self->held1));
}

TEST_F_TIMEOUT(ops, alloc_limits, TIMEOUT)
{
	static const char *const nospace[] = {
		"alloc ops2 1 0xf", "alloc_fast ops2 1 0xf 1", "alloc ops2 1 0",
		"alloc ops2 18 0x20",
		"alloc ops0 0xffffffffffffffff 0xffffffffffffffff",
		"alloc_fast ops0 0xffffffffffffffff 0xffffffffffffffff 1",
		"alloc ops0 0 0xfffff", "alloc ops0 0 0xfffff 1",
		"alloc_fast ops0 0 0xfffff 1",
	};
	unsigned long pfn;
	size_t i;

	/* ops2 starts at 0x10. */
	for (i = 0; i < ARRAY_SIZE(nospace); i++)
		EXPECT_TRUE(xc_expect(self->fd, ENOSPC, "%s", nospace[i]));
	EXPECT_TRUE(step_ok("ops2", self->held2));
	EXPECT_TRUE(step_ok("ops0", self->held0));
	/* Exactly the space between start and limit. */
	ASSERT_TRUE(alloc_exact(self->fd, "alloc", "ops2", 17, 0x20, 0, 17, 1,
				&pfn));
	self->held2++;
	EXPECT_EQ(0x10ul, pfn) TH_LOG("17-pfn alloc in [0x10, 0x20] at %#lx", pfn);
	EXPECT_TRUE(xc_expect(self->fd, ENOSPC, "alloc ops2 1 0x20"));
	EXPECT_TRUE(xc_expect(self->fd, ENOSPC, "alloc_fast ops2 1 0x20 1"));
	EXPECT_TRUE(step_ok("ops2", self->held2));
	EXPECT_TRUE(xc_expect(self->fd, 0, "free ops2 0x15"));
	self->held2--;
	/* The 32-bit fast-fail resets on a free: the space is usable again. */
	ASSERT_TRUE(alloc_exact(self->fd, "alloc_fast", "ops2", 1, 0x20, 1, 1,
				1, &pfn));
	self->held2++;
	EXPECT_EQ(0x20ul, pfn) TH_LOG("alloc_fast after the free at %#lx", pfn);
	EXPECT_TRUE(step_ok("ops2", self->held2));
	/* A limit at or above the anchor means no limit. */
	ASSERT_TRUE(alloc_exact(self->fd, "alloc", "ops2", 1, ~0ul, 0, 1, 1,
				&pfn));
	self->held2++;
	EXPECT_EQ(~0ul - 1, pfn) TH_LOG("alloc with limit ~0 at %#lx", pfn);
	EXPECT_TRUE(step_ok("ops2", self->held2));
}

static bool class_stats(const char *dom, int cls, unsigned long long *row)
{
	struct xc_stats st;

	if (xc_stats(dom, &st))
		return false;
	memcpy(row, st.cls[cls], sizeof(st.cls[cls]));
	return true;
}

TEST_F_TIMEOUT(ops, alloc_free_fast, TIMEOUT)
{
	unsigned long long before[XC_NCOLS], after[XC_NCOLS];
	unsigned long pfn, again, lo, hi;
	int fd = self->fd;

	ASSERT_TRUE(alloc_exact(fd, "alloc_fast", "ops0", 3, LIMIT, 0, 4, 4,
				&pfn));
	self->held0++;
	EXPECT_TRUE(step_ok("ops0", self->held0));
	EXPECT_TRUE(xc_expect(fd, EINVAL, "free_fast ops0 %#lx 8", pfn));
	EXPECT_TRUE(xc_expect(fd, EINVAL, "free_fast ops0 %#lx 1", pfn));
	EXPECT_TRUE(xc_expect(fd, EINVAL, "free_fast ops0 %#lx 0", pfn));
	EXPECT_TRUE(xc_expect(fd, ENOENT, "free_fast ops0 %#lx 4", pfn + 1));
	EXPECT_TRUE(xc_expect(fd, ENOENT, "free_fast ops0 0x7 1"));
	EXPECT_TRUE(xc_expect(fd, ENOENT, "free_fast ops0 0xffffffffffffffff 1"));
	EXPECT_TRUE(step_ok("ops0", self->held0));

	ASSERT_TRUE(class_stats("ops0", 2, before));
	EXPECT_TRUE(xc_expect(fd, 0, "free_fast ops0 %#lx 3", pfn));
	self->held0--;
	ASSERT_TRUE(class_stats("ops0", 2, after));
	EXPECT_EQ(before[XC_INSERTS] + 1, after[XC_INSERTS])
		TH_LOG("free_fast: class 2 inserts not +1");
	EXPECT_EQ(before[XC_CPU_PFNS] + 1, after[XC_CPU_PFNS])
		TH_LOG("free_fast: class 2 cpu_pfns not +1");
	/* Cached ranges stay in the tree. */
	EXPECT_EQ(0, xc_find(fd, "ops0", pfn, &lo, &hi))
		TH_LOG("the cached range %#lx left the tree", pfn);
	EXPECT_EQ(pfn, lo);
	EXPECT_EQ(pfn + 3, hi);
	EXPECT_TRUE(step_ok("ops0", self->held0));

	/* Same CPU, same class: the cached range comes straight back. */
	ASSERT_TRUE(alloc_exact(fd, "alloc_fast", "ops0", 4, LIMIT, 0, 4, 4,
				&again));
	self->held0++;
	ASSERT_TRUE(class_stats("ops0", 2, before));
	EXPECT_EQ(pfn, again) TH_LOG("alloc_fast after free_fast: pfn %#lx (freed %#lx)",
				     again, pfn);
	EXPECT_EQ(after[XC_HITS] + 1, before[XC_HITS]) TH_LOG("hits not +1");
	EXPECT_TRUE(xc_expect(fd, 0, "free_fast ops0 %#lx 4", again));
	self->held0--;
	EXPECT_TRUE(step_ok("ops0", self->held0));

	/* Above the largest class nothing is cached: back to the tree. */
	ASSERT_TRUE(alloc_exact(fd, "alloc_fast", "ops0", 33, LIMIT, 0, 33, 64,
				&pfn));
	self->held0++;
	EXPECT_TRUE(step_ok("ops0", self->held0));
	EXPECT_TRUE(xc_expect(fd, EINVAL, "free_fast ops0 %#lx 32", pfn));
	EXPECT_TRUE(xc_expect(fd, 0, "free_fast ops0 %#lx 33", pfn));
	self->held0--;
	EXPECT_TRUE(xc_expect(fd, ENOENT, "find ops0 %#lx", pfn));
	EXPECT_TRUE(step_ok("ops0", self->held0));
}

TEST_F_TIMEOUT(ops, free, TIMEOUT)
{
	unsigned long pfn;
	int fd = self->fd;

	EXPECT_TRUE(xc_expect(fd, ENOENT, "free ops0 0x12345"));
	EXPECT_TRUE(xc_expect(fd, ENOENT, "free ops0 0"));
	EXPECT_TRUE(xc_expect(fd, ENOENT, "free ops0 0xffffffffffffffff"));
	EXPECT_TRUE(step_ok("ops0", self->held0));
	ASSERT_TRUE(alloc_exact(fd, "alloc", "ops0", 8, LIMIT, 1, 8, 8, &pfn));
	self->held0++;
	/* Any pfn inside the range frees it. */
	EXPECT_TRUE(xc_expect(fd, 0, "free ops0 %#lx", pfn + 5));
	self->held0--;
	EXPECT_TRUE(xc_expect(fd, ENOENT, "find ops0 %#lx", pfn));
	EXPECT_TRUE(xc_expect(fd, ENOENT, "free ops0 %#lx", pfn));
	EXPECT_TRUE(xc_expect(fd, ENOENT, "free ops0 %#lx", pfn + 5));
	EXPECT_TRUE(step_ok("ops0", self->held0));
}

TEST_F_TIMEOUT(ops, find, TIMEOUT)
{
	unsigned long pfn, lo, hi, i;
	int fd = self->fd;

	EXPECT_TRUE(xc_expect(fd, ENOENT, "find ops0 0x12345"));
	EXPECT_TRUE(xc_expect(fd, ENOENT, "find ops0 0"));
	EXPECT_TRUE(xc_expect(fd, ENOENT, "find ops0 0xffffffffffffffff"));
	ASSERT_TRUE(alloc_exact(fd, "alloc", "ops0", 5, LIMIT, 0, 5, 1, &pfn));
	self->held0++;
	for (i = 0; i < 5; i++) {
		EXPECT_EQ(0, xc_find(fd, "ops0", pfn + i, &lo, &hi));
		EXPECT_EQ(pfn, lo) TH_LOG("find ops0 %#lx: [%#lx, %#lx]",
					  pfn + i, lo, hi);
		EXPECT_EQ(pfn + 4, hi) TH_LOG("find ops0 %#lx: [%#lx, %#lx]",
					      pfn + i, lo, hi);
	}
	EXPECT_TRUE(step_ok("ops0", self->held0));
}

static bool reserve_gives(int fd, const char *dom, unsigned long lo,
			  unsigned long hi, unsigned long want_lo,
			  unsigned long want_hi)
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

TEST_F_TIMEOUT(ops, reserve, TIMEOUT)
{
	unsigned long pfn, top;
	int fd = self->fd;

	/* A range at the limit, for the overlaps below. */
	ASSERT_TRUE(alloc_exact(fd, "alloc", "ops0", 1, LIMIT, 0, 1, 1, &top));
	self->held0++;
	ASSERT_TRUE(reserve_gives(fd, "ops0", 0x100, 0x1ff, 0x100, 0x1ff));
	self->held0++;
	EXPECT_TRUE(step_ok("ops0", self->held0));
	/* Allocations go around it. */
	ASSERT_TRUE(alloc_exact(fd, "alloc", "ops0", 1, 0x1ff, 0, 1, 1, &pfn));
	self->held0++;
	EXPECT_GT(0x100ul, pfn)
		TH_LOG("alloc below 0x1ff at %#lx, inside the reservation", pfn);
	EXPECT_TRUE(xc_expect(fd, EINVAL, "reserve ops0 0x200 0x100"));
	EXPECT_TRUE(xc_expect(fd, EINVAL, "reserve ops0 0xffffffffffffffff 0"));
	EXPECT_TRUE(xc_expect(fd, EBUSY, "reserve ops0 %#lx %#lx", pfn, pfn));
	EXPECT_TRUE(xc_expect(fd, EBUSY, "reserve ops0 0x80 0x17f"));
	EXPECT_TRUE(xc_expect(fd, EBUSY, "reserve ops0 %#lx %#lx", LIMIT - 4,
			      LIMIT));
	EXPECT_TRUE(xc_expect(fd, EBUSY, "reserve ops0 0x300 0xffffffffffffffff"));
	EXPECT_TRUE(xc_expect(fd, EBUSY, "reserve ops0 1 0xfffffffffffffffe"));
	EXPECT_TRUE(step_ok("ops0", self->held0));
	/* Inside a reservation: that one, no new node. */
	EXPECT_TRUE(reserve_gives(fd, "ops0", 0x110, 0x120, 0x100, 0x1ff));
	EXPECT_TRUE(step_ok("ops0", self->held0));
	/* Overlapping the top: the part above becomes a new range. */
	EXPECT_TRUE(reserve_gives(fd, "ops0", 0x180, 0x27f, 0x200, 0x27f));
	self->held0++;
	EXPECT_TRUE(step_ok("ops0", self->held0));
	/* Below start_pfn is allowed for reservations (ops2 starts at 0x10). */
	EXPECT_TRUE(reserve_gives(fd, "ops2", 0, 0xf, 0, 0xf));
	self->held2++;
	EXPECT_TRUE(step_ok("ops2", self->held2));
	/* A reservation is freed like any range. */
	EXPECT_TRUE(xc_expect(fd, 0, "free ops0 0x27f"));
	self->held0--;
	EXPECT_TRUE(xc_expect(fd, ENOENT, "find ops0 0x200"));
	EXPECT_TRUE(step_ok("ops0", self->held0));
}

TEST_F_TIMEOUT(ops, flush, TIMEOUT)
{
	unsigned long pfns[6][3];
	struct xc_stats before, st;
	int fd = self->fd, c, i;

	for (c = 0; c < XC_CLASSES; c++)
		for (i = 0; i < 3; i++) {
			ASSERT_EQ(0, xc_alloc(fd, "alloc_fast", "ops0",
					      1ul << c, LIMIT, 1,
					      &pfns[c][i]))
				TH_LOG("alloc_fast ops0 %lu", 1ul << c);
			self->held0++;
		}
	EXPECT_TRUE(step_ok("ops0", self->held0));
	for (c = 0; c < XC_CLASSES; c++)
		for (i = 0; i < 3; i++) {
			EXPECT_TRUE(xc_expect(fd, 0, "free_fast ops0 %#lx %lu",
					      pfns[c][i], 1ul << c));
			self->held0--;
		}
	EXPECT_TRUE(step_ok("ops0", self->held0));
	ASSERT_EQ(0, xc_stats("ops0", &before));
	EXPECT_LE(XC_CLASSES * 3ul, xc_cached(&before))
		TH_LOG("%lu ranges cached after %d fast frees",
		       xc_cached(&before), XC_CLASSES * 3);
	EXPECT_TRUE(xc_expect(fd, 0, "flush ops0"));
	ASSERT_EQ(0, xc_stats("ops0", &st));
	EXPECT_EQ(0ul, xc_cached(&st)) TH_LOG("ranges still cached after flush");
	EXPECT_EQ(self->held0, st.tree_nodes);
	for (c = 0; c < XC_CLASSES; c++)
		EXPECT_EQ(before.cls[c][XC_FLUSHES] + 1, st.cls[c][XC_FLUSHES])
			TH_LOG("class %d flushes", c);
	for (c = 0; c < XC_CLASSES; c++)
		for (i = 0; i < 3; i++)
			EXPECT_TRUE(xc_expect(fd, ENOENT, "find ops0 %#lx",
					      pfns[c][i]));
	EXPECT_TRUE(step_ok("ops0", self->held0));
	/* Flushing an empty cache is harmless. */
	EXPECT_TRUE(xc_expect(fd, 0, "flush ops0"));
	EXPECT_TRUE(xc_expect(fd, 0, "flush ops2"));
	EXPECT_TRUE(step_ok("ops0", self->held0));
}

TEST_F_TIMEOUT(ops, burst, TIMEOUT)
{
	unsigned long long before[XC_NCOLS], after[XC_NCOLS];
	unsigned long ops = 0, ns = 0;
	int fd = self->fd;

	ASSERT_TRUE(class_stats("ops0", 0, before));
	EXPECT_EQ(0, xc_burst(fd, "ops0", 300, 1, 2, &ops, &ns));
	EXPECT_EQ(600ul, ops) TH_LOG("'burst ops0 300 1 2': %lu ops", ops);
	EXPECT_NE(0ul, ns);
	ASSERT_TRUE(class_stats("ops0", 0, after));
	EXPECT_EQ(before[XC_INSERTS] + before[XC_INS_FAIL] + 600,
		  after[XC_INSERTS] + after[XC_INS_FAIL])
		TH_LOG("burst of 600: class 0 frees");
	EXPECT_EQ(before[XC_HITS] + before[XC_MISSES] + 600,
		  after[XC_HITS] + after[XC_MISSES])
		TH_LOG("burst of 600: class 0 allocs");
	EXPECT_TRUE(step_ok("ops0", self->held0));
	EXPECT_EQ(0, xc_burst(fd, "ops0", 10, 33, 1, &ops, NULL));
	EXPECT_EQ(10ul, ops) TH_LOG("'burst ops0 10 33': %lu ops", ops);
	EXPECT_TRUE(step_ok("ops0", self->held0));
	EXPECT_TRUE(xc_expect(fd, EINVAL, "burst ops0 0 1"));
	EXPECT_TRUE(xc_expect(fd, EINVAL, "burst ops0 1 0"));
	EXPECT_TRUE(xc_expect(fd, EINVAL, "burst ops0 1 1 0"));
	EXPECT_TRUE(xc_expect(fd, EINVAL, "burst ops0 1048577 1"));
	EXPECT_TRUE(xc_expect(fd, EINVAL, "burst ops0 1 1 1048577"));
	EXPECT_TRUE(step_ok("ops0", self->held0));
}

/*
 * A burst runs inside one write(): a long one must still die on SIGKILL,
 * and whatever it allocated must go back. The burst is sized to take
 * about 20 s if it cannot be interrupted.
 */
TEST_F_TIMEOUT(ctl, burst_killable, TIMEOUT)
{
	unsigned long ops = 0, ns = 0, rounds;
	double per_round, start;
	int status = 0;
	pid_t pid, got;

	ASSERT_TRUE(xc_expect(self->fd, 0, "create kill0"));
	ASSERT_EQ(0, xc_burst(self->fd, "kill0", 1000, 1, 20, &ops, &ns));
	ASSERT_EQ(20000ul, ops);
	ASSERT_NE(0ul, ns);
	per_round = ns / 20.0;
	rounds = 20e9 / per_round;
	if (rounds < 1000)
		rounds = 1000;
	if (rounds > 1ul << 20)
		rounds = 1ul << 20;
	TH_LOG("a round of 1000 takes %.0f us: killing a burst of %lu rounds",
	       per_round / 1000, rounds);

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	ASSERT_LE(0, pid);
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
	EXPECT_NE(0, got)
		TH_LOG("'burst kill0 1000 1 %lu' ignored SIGKILL for 10 s",
		       rounds);
	if (!got) {
		waitpid(pid, &status, 0);
		TH_LOG("waited for it: the burst ended %.1f s after SIGKILL",
		       now_sec() - start);
	} else {
		EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
			TH_LOG("the burst ended on its own within 300 ms (status %#x)",
			       status);
	}
	EXPECT_TRUE(step_ok("kill0", 0));
	EXPECT_TRUE(xc_expect(self->fd, 0, "destroy kill0"));
}

TEST_F_TIMEOUT(ops, replies, TIMEOUT)
{
	unsigned long pfn, lo, hi;
	char reply[128];
	int fd = self->fd, fd2;
	ssize_t n;

	/* A failed command and a command without a reply leave none. */
	ASSERT_EQ(0, xc_cmd(fd, reply, sizeof(reply), "alloc ops0 1 %#lx",
			    LIMIT));
	ASSERT_EQ(1, xc_parse_reply(reply, &pfn, NULL))
		TH_LOG("alloc answered '%s'", reply);
	self->held0++;
	EXPECT_TRUE(xc_expect(fd, ENOENT, "find ops0 0x12345"));
	n = read(fd, reply, sizeof(reply));
	EXPECT_EQ(0, n) TH_LOG("read after a failed find returned %zd", n);
	reply[0] = '\0';
	EXPECT_EQ(0, xc_cmd(fd, reply, sizeof(reply), "check ops0"));
	EXPECT_STREQ("", reply) TH_LOG("check replied, expected no reply");
	/* Replies belong to the open file. */
	fd2 = xc_open();
	ASSERT_LE(0, fd2) TH_LOG("second open of ctl: %s", strerror(-fd2));
	EXPECT_EQ(0, xc_cmd(fd, NULL, 0, "find ops0 %#lx", pfn));
	n = read(fd2, reply, sizeof(reply));
	EXPECT_EQ(0, n) TH_LOG("find on one fd; another fd read %zd bytes", n);
	n = read(fd, reply, sizeof(reply) - 1);
	reply[n > 0 ? n : 0] = '\0';
	EXPECT_EQ(2, xc_parse_reply(reply, &lo, &hi))
		TH_LOG("find reply '%s', expected '%#lx %#lx'", reply, pfn, pfn);
	EXPECT_EQ(pfn, lo);
	EXPECT_EQ(pfn, hi);
	/* A trailing newline is allowed, as from echo. */
	EXPECT_EQ(0, xc_send_raw(fd2, "check ops0\n", 11, NULL, 0))
		TH_LOG("'check ops0\\n' refused");
	close(fd2);
	EXPECT_TRUE(xc_expect(fd, 0, "free ops0 %#lx", pfn));
	self->held0--;
	EXPECT_TRUE(step_ok("ops0", self->held0));
}

TEST_F_TIMEOUT(ops, destroy, TIMEOUT)
{
	struct xc_stats st;
	unsigned long pfn;
	int fd = self->fd;

	ASSERT_TRUE(xc_expect(fd, 0, "create tmp0"));
	ASSERT_EQ(0, xc_stats("tmp0", &st));
	EXPECT_EQ(0, xc_alloc(fd, "alloc", "tmp0", 4, LIMIT, 0, &pfn));
	EXPECT_EQ(0, xc_burst(fd, "tmp0", 200, 2, 1, NULL, NULL));
	EXPECT_TRUE(xc_expect(fd, 0, "destroy tmp0"));
	EXPECT_TRUE(xc_expect(fd, ENOENT, "destroy tmp0"));
	EXPECT_TRUE(xc_expect(fd, ENOENT, "check tmp0"));
	EXPECT_TRUE(xc_expect(fd, ENOENT, "alloc tmp0 1 0xfffff"));
	EXPECT_FALSE(link_exists("tmp0")) TH_LOG("test/tmp0 still exists");
	EXPECT_FALSE(domains_lists(st.domain))
		TH_LOG("domains still lists id %ld", st.domain);
	/* The name is free again. */
	EXPECT_TRUE(xc_expect(fd, 0, "create tmp0"));
	EXPECT_TRUE(xc_expect(fd, 0, "destroy tmp0"));
	/* Other domains are untouched: give them ranges and magazines. */
	ASSERT_TRUE(alloc_exact(fd, "alloc", "ops0", 4, LIMIT, 0, 4, 1, &pfn));
	self->held0++;
	EXPECT_EQ(0, xc_burst(fd, "ops0", 200, 2, 1, NULL, NULL));
	EXPECT_TRUE(step_ok("ops0", self->held0));
	/* Domains with live ranges and magazines go with everything in them. */
	EXPECT_TRUE(xc_expect(fd, 0, "destroy ops0"));
	EXPECT_TRUE(xc_expect(fd, 0, "destroy ops1"));
	EXPECT_TRUE(xc_expect(fd, 0, "destroy ops2"));
	self->held0 = 0;
	EXPECT_FALSE(link_exists("ops0") || link_exists("ops1") ||
		     link_exists("ops2"))
		TH_LOG("a destroyed domain's link is still there");
}

XC_HARNESS_MAIN(xc_check_ctl)
