// SPDX-License-Identifier: GPL-2.0-only
/*
 * Garbage written to every debugfs file of xiova: the control file must
 * refuse each write with EINVAL (EFAULT for a bad buffer), the read-only
 * files with EINVAL, EACCES, EPERM or EBADF, and nothing may change: the
 * domains list, the test domains' stats and their tree checks are
 * compared after every single write.
 *
 * One case per file and kind of garbage, each in a process of its own:
 * the files, found at start-up with the test domains in place, are the
 * variants of fixture "garbage" (registered at run time, as the set of
 * files is only known then); fixture "garbage_ctl" holds two controls of
 * the comparison itself.
 */
#include <dirent.h>
#include <sys/stat.h>

#include "xiova_ctl.h"

#define MAX_FILES	64
#define BIG		(64 * 1024)
#define RANDOM_WRITES	300
#define TIMEOUT		120	/* per case: a debug kernel under TCG is slow */

static const char *const test_domains[] = { "gd0", "gd1" };

struct snapshot {
	char domains[16384];
	char stats[ARRAY_SIZE(test_domains)][8192];
	int check[ARRAY_SIZE(test_domains)];
};

/* A case's state: its control fd, the baseline, its random numbers. */
struct gctx {
	int ctl;
	struct snapshot base;
	uint64_t rng;
};

static int take_snapshot(struct gctx *g, struct snapshot *s)
{
	char path[256];
	size_t i;
	int ret;

	ret = xc_read_file(XC_DOMAINS, s->domains, sizeof(s->domains));
	if (ret < 0)
		return ret;
	for (i = 0; i < ARRAY_SIZE(test_domains); i++) {
		snprintf(path, sizeof(path), XC_ROOT "/test/%s/stats",
			 test_domains[i]);
		ret = xc_read_file(path, s->stats[i], sizeof(s->stats[i]));
		if (ret < 0)
			return ret;
		s->check[i] = xc_cmd(g->ctl, NULL, 0, "check %s",
				     test_domains[i]);
	}
	return 0;
}

/* A payload for diagnostics, with its length. */
static const char *show(const unsigned char *buf, size_t len)
{
	static char out[600];

	snprintf(out, sizeof(out), "%s (%zu bytes)", xc_show(buf, len), len);
	return out;
}

/*
 * Compares with the baseline; on a change, reports it (unless quiet) and
 * re-baselines.
 */
static bool __unchanged(struct gctx *g, const char *what, bool quiet)
{
	static struct snapshot now;
	bool ok = true;
	size_t i;
	int ret;

	ret = take_snapshot(g, &now);
	if (ret) {
		diag("FAIL after %s: snapshot: %s", what, strerror(-ret));
		return false;
	}
	if (strcmp(now.domains, g->base.domains)) {
		if (!quiet) {
			diag("FAIL after %s: the domains file changed:", what);
			xc_show_diff(g->base.domains, now.domains);
		}
		ok = false;
	}
	for (i = 0; i < ARRAY_SIZE(test_domains); i++) {
		if (strcmp(now.stats[i], g->base.stats[i])) {
			if (!quiet) {
				diag("FAIL after %s: stats of %s changed:", what,
				     test_domains[i]);
				xc_show_diff(g->base.stats[i], now.stats[i]);
			}
			ok = false;
		}
		if (now.check[i]) {
			diag("FAIL after %s: check %s -> %s", what,
			     test_domains[i], strerror(-now.check[i]));
			ok = false;
		}
	}
	if (!ok)
		g->base = now;
	return ok;
}

static bool unchanged(struct gctx *g, const char *what)
{
	return __unchanged(g, what, false);
}

static bool is_ctl(const char *path)
{
	return !strcmp(path, XC_CTL);
}

static bool errno_ok(const char *path, int err, bool bad_pointer)
{
	if (is_ctl(path))
		return err == (bad_pointer ? EFAULT : EINVAL);
	return err == EINVAL || err == EACCES || err == EPERM || err == EBADF;
}

/*
 * One write of a payload; true if it failed as it must and nothing
 * changed. A create that got through is undone so later writes start
 * from the baseline again.
 */
static bool refused(struct gctx *g, const char *path, int fd,
		    const void *buf, size_t len, bool bad_pointer)
{
	char what[1200];
	ssize_t n;
	bool ok = true;
	int err;

	n = write(fd, buf, len);
	err = n < 0 ? errno : 0;
	snprintf(what, sizeof(what), "write of %s to %s",
		 bad_pointer ? "a bad pointer" : show(buf, len), path);
	if (!err) {
		diag("FAIL %s succeeded (%zd)", what, n);
		ok = false;
		if (!bad_pointer && len > 7 && !memcmp(buf, "create ", 7)) {
			char cmd[300];

			snprintf(cmd, sizeof(cmd), "destroy %.*s",
				 (int)(len - 7), (const char *)buf + 7);
			xc_send_raw(g->ctl, cmd, strlen(cmd), NULL, 0);
		}
	} else if (!errno_ok(path, err, bad_pointer)) {
		diag("FAIL %s -> %s (%d)", what, strerror(err), err);
		ok = false;
	}
	ok &= unchanged(g, what);
	return ok;
}

/* Opens a file for writing the way a user would; -errno if refused. */
static int open_for_write(const char *path)
{
	int fd = open(path, is_ctl(path) ? O_RDWR : O_WRONLY);

	return fd < 0 ? -errno : fd;
}

static uint64_t rng(struct gctx *g)
{
	/* xorshift64*: a fixed seed per file, same sequence on every run. */
	g->rng ^= g->rng >> 12;
	g->rng ^= g->rng << 25;
	g->rng ^= g->rng >> 27;
	return g->rng * 0x2545f4914f6cdd1dull;
}

struct payload {
	const char *s;
	size_t len;	/* 0: strlen(s) */
};

#define P(str)		{ str, sizeof(str) - 1 }

static const struct payload numbers[] = {
	P("alloc gd0 abc 0xfffff"), P("alloc gd0 1 limit"), P("burst gd0 x y"),
	P("free gd0 pfn"), P("find gd0 0xg"), P("reserve gd0 1 2x"),
	P("create gx granule"), P("alloc gd0 1.5 0xfffff"),
	P("alloc gd0 1e3 0xfffff"), P("alloc gd0 0x-1 0xfffff"),
	P("alloc gd0 -1 0xfffff"), P("free gd0 -5"), P("reserve gd0 -2 -1"),
	P("create gx -4096"), P("burst gd0 -1 1"), P("alloc_fast gd0 1 -0"),
	P("alloc gd0 18446744073709551616 1"),
	P("find gd0 0x10000000000000000"),
	P("burst gd0 99999999999999999999999 1"),
	P("create gx 4096 0200000000000000000000000"),
	P("free_fast gd0 0x1 0xffffffffffffffffff"),
};

static const struct payload nuls[] = {
	P("check gd0\0junk"), P("check\0gd0"), P("create gz\0"), P("\0"),
	P("flush gd0\0"), P("\0check gd0"), P("create g\0z"),
	P("alloc gd0 1\0 0xfffff"),
};

static const struct payload controls[] = {
	P("check gd0\r"), P("check\x1bgd0"), P("check gd0\n\n"), P("\n"),
	P("flush gd0\r\n"), P("create gc\x7f"), P("create gc\x01"),
	P("check gd0\v"), P("check\fgd0"), P(" "), P("\t"),
};

/* Not ASCII: Latin-1 and UTF-8 letters, a no-break space. */
static const struct payload high[] = {
	P("check gd0\xff"), P("check gd\xe9"), P("create g\xe9"),
	P("create g\xc3\xa9"), P("flush gd0\xa0"), P("find gd0 1\xa0"),
	P("create \xc0\xc1"), P("destroy gd\xf0"), P("\xe9\xe9 gd0"),
};

static bool run_payloads(struct gctx *g, const char *path,
			 const struct payload *p, size_t n)
{
	bool ok = true;
	size_t i;
	int fd;

	fd = open_for_write(path);
	if (fd < 0)
		return errno_ok(path, -fd, false);
	for (i = 0; i < n; i++)
		ok &= refused(g, path, fd, p[i].s, p[i].len, false);
	close(fd);
	return ok;
}

/* The case's set-up: the control fd, one CPU, the baseline. */
static int gctx_open(struct gctx *g, const char *seed)
{
	int cpus[1], ret;

	g->rng = 0x9e3779b97f4a7c15ull;
	/* FNV-1a of the file's name: each file its own random garbage. */
	for (; seed && *seed; seed++)
		g->rng = (g->rng ^ (unsigned char)*seed) * 0x100000001b3ull;
	g->ctl = xc_open();
	if (g->ctl < 0)
		return g->ctl;
	if (usable_cpus(cpus, 1) == 1)
		pin_cpu(cpus[0]);
	ret = take_snapshot(g, &g->base);
	if (ret)
		diag("cannot read the baseline: %s", strerror(-ret));
	return ret;
}

FIXTURE(garbage) {
	struct gctx g;
};

/* The file a case writes to. */
FIXTURE_VARIANT(garbage) {
	const char *path;
};

FIXTURE_SETUP(garbage)
{
	int ret;

	ASSERT_NE(NULL, variant) TH_LOG("no debugfs file found");
	ret = gctx_open(&self->g, variant->path);
	ASSERT_EQ(0, ret) TH_LOG("set-up: %s", strerror(-ret));
}

FIXTURE_TEARDOWN(garbage)
{
	close(self->g.ctl);
}

TEST_F_TIMEOUT(garbage, empty, TIMEOUT)
{
	static const struct payload p[] = { { "", 0 } };

	EXPECT_TRUE(run_payloads(&self->g, variant->path, p, 1));
}

TEST_F_TIMEOUT(garbage, long, TIMEOUT)
{
	static const size_t lens[] = { 256, 257, 300, 4096, BIG };
	const char *path = variant->path;
	static char buf[BIG];
	size_t i;
	int fd;

	fd = open_for_write(path);
	EXPECT_TRUE(fd >= 0 || errno_ok(path, -fd, false))
		TH_LOG("open %s: %s", path, strerror(-fd));
	if (fd < 0)
		return;
	/* A valid command padded past the limit, then plain junk. */
	memset(buf, ' ', sizeof(buf));
	memcpy(buf, "check gd0", 9);
	for (i = 0; i < ARRAY_SIZE(lens); i++)
		EXPECT_TRUE(refused(&self->g, path, fd, buf, lens[i], false));
	memcpy(buf, "flush gd0", 9);
	buf[255] = '\n';
	EXPECT_TRUE(refused(&self->g, path, fd, buf, 256, false));
	buf[255] = ' ';
	memset(buf, 'a', sizeof(buf));
	for (i = 0; i < ARRAY_SIZE(lens); i++)
		EXPECT_TRUE(refused(&self->g, path, fd, buf, lens[i], false));
	close(fd);
}

TEST_F_TIMEOUT(garbage, numbers, TIMEOUT)
{
	EXPECT_TRUE(run_payloads(&self->g, variant->path, numbers,
				 ARRAY_SIZE(numbers)));
}

TEST_F_TIMEOUT(garbage, nul_bytes, TIMEOUT)
{
	EXPECT_TRUE(run_payloads(&self->g, variant->path, nuls,
				 ARRAY_SIZE(nuls)));
}

TEST_F_TIMEOUT(garbage, control_bytes, TIMEOUT)
{
	EXPECT_TRUE(run_payloads(&self->g, variant->path, controls,
				 ARRAY_SIZE(controls)));
}

TEST_F_TIMEOUT(garbage, non_ascii, TIMEOUT)
{
	EXPECT_TRUE(run_payloads(&self->g, variant->path, high,
				 ARRAY_SIZE(high)));
}

TEST_F_TIMEOUT(garbage, random, TIMEOUT)
{
	const char *path = variant->path;
	unsigned char buf[400];
	size_t len, i;
	int fd, w;

	fd = open_for_write(path);
	EXPECT_TRUE(fd >= 0 || errno_ok(path, -fd, false))
		TH_LOG("open %s: %s", path, strerror(-fd));
	if (fd < 0)
		return;
	for (w = 0; w < RANDOM_WRITES; w++) {
		len = 1 + rng(&self->g) % 300;
		for (i = 0; i < len; i++)
			buf[i] = rng(&self->g);
		EXPECT_TRUE(refused(&self->g, path, fd, buf, len, false));
	}
	close(fd);
}

/* A valid command and domain followed by random bytes it cannot take. */
TEST_F_TIMEOUT(garbage, random_tail, TIMEOUT)
{
	static const char *const heads[] = { "check gd0 ", "flush gd0 ",
					     "destroy gd1 " };
	const char *path = variant->path;
	size_t len, hlen, tail, i;
	unsigned char buf[400];
	int fd, w;

	fd = open_for_write(path);
	EXPECT_TRUE(fd >= 0 || errno_ok(path, -fd, false))
		TH_LOG("open %s: %s", path, strerror(-fd));
	if (fd < 0)
		return;
	for (w = 0; w < RANDOM_WRITES / 3; w++) {
		const char *head = heads[w % ARRAY_SIZE(heads)];

		hlen = strlen(head);
		tail = 1 + rng(&self->g) % 24;
		memcpy(buf, head, hlen);
		for (i = 0; i < tail; i++)
			buf[hlen + i] = rng(&self->g);
		/* At least one byte that is not a separator or the newline. */
		while (buf[hlen] == ' ' || buf[hlen] == '\t' || buf[hlen] == '\n')
			buf[hlen] = rng(&self->g);
		len = hlen + tail;
		EXPECT_TRUE(refused(&self->g, path, fd, buf, len, false));
	}
	close(fd);
}

TEST_F_TIMEOUT(garbage, bad_pointer, TIMEOUT)
{
	const char *path = variant->path;
	int fd;

	fd = open_for_write(path);
	EXPECT_TRUE(fd >= 0 || errno_ok(path, -fd, false))
		TH_LOG("open %s: %s", path, strerror(-fd));
	if (fd < 0)
		return;
	EXPECT_TRUE(refused(&self->g, path, fd, (const void *)16, 10, true));
	close(fd);
}

/* Writing on a descriptor opened read-only is EBADF for every file. */
TEST_F_TIMEOUT(garbage, readonly_fd, TIMEOUT)
{
	const char *path = variant->path;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY);
	ASSERT_LE(0, fd) TH_LOG("open %s read-only: %s", path, strerror(errno));
	n = write(fd, "check gd0", 9);
	EXPECT_GT(0, n) TH_LOG("write to read-only fd of %s -> %zd", path, n);
	if (n < 0)
		EXPECT_EQ(EBADF, errno)
			TH_LOG("write to read-only fd of %s -> %s, expected EBADF",
			       path, strerror(errno));
	close(fd);
	EXPECT_TRUE(unchanged(&self->g, "write to a read-only fd"));
}

/* Controls of the comparison itself. */
FIXTURE(garbage_ctl) {
	struct gctx g;
};

FIXTURE_SETUP(garbage_ctl)
{
	int ret = gctx_open(&self->g, NULL);

	ASSERT_EQ(0, ret) TH_LOG("set-up: %s", strerror(-ret));
}

FIXTURE_TEARDOWN(garbage_ctl)
{
	close(self->g.ctl);
}

/* The longest command accepted: 255 bytes. */
TEST_F_TIMEOUT(garbage_ctl, ctl_255_bytes_accepted, TIMEOUT)
{
	char buf[255];

	memset(buf, ' ', sizeof(buf));
	memcpy(buf, "check gd0", 9);
	EXPECT_EQ(0, xc_send_raw(self->g.ctl, buf, sizeof(buf), NULL, 0))
		TH_LOG("a 255-byte 'check gd0' was refused");
	EXPECT_TRUE(unchanged(&self->g, "the 255-byte check"));
}

/* The comparison notices a real change. */
TEST_F_TIMEOUT(garbage_ctl, snapshot_sees_changes, TIMEOUT)
{
	unsigned long pfn;

	ASSERT_EQ(0, xc_alloc(self->g.ctl, "alloc", "gd1", 1, 0xffff, 0,
			      &pfn));
	EXPECT_FALSE(__unchanged(&self->g, "a real alloc", true))
		TH_LOG("an alloc in gd1 went unnoticed");
	EXPECT_EQ(0, xc_cmd(self->g.ctl, NULL, 0, "free gd1 %#lx", pfn));
	__unchanged(&self->g, "freeing it again", true);
}

/* ---------------------------------------------------------- start-up */

static char files[MAX_FILES][512];
static int nfiles;

/* The variants of fixture "garbage": one file each. */
static FIXTURE_VARIANT(garbage) vars[MAX_FILES];
static struct __fixture_variant_metadata meta[MAX_FILES];

static void find_files(const char *dir)
{
	char path[512];
	struct dirent *de;
	struct stat st;
	DIR *d = opendir(dir);

	if (!d)
		return;
	while ((de = readdir(d)) && nfiles < MAX_FILES) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (lstat(path, &st))
			continue;
		if (S_ISDIR(st.st_mode))
			find_files(path);
		else if (S_ISREG(st.st_mode))
			snprintf(files[nfiles++], sizeof(files[0]), "%s", path);
	}
	closedir(d);
}

static int setup_domains(int ctl)
{
	unsigned long pfn;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(test_domains); i++)
		xc_cmd(ctl, NULL, 0, "destroy %s", test_domains[i]);
	if (xc_cmd(ctl, NULL, 0, "create gd0") ||
	    xc_cmd(ctl, NULL, 0, "create gd1 512 0x10"))
		return -1;
	/* Some state in each: live ranges, a reservation, cached ranges. */
	if (xc_alloc(ctl, "alloc", "gd0", 5, 0xfffff, 0, &pfn) ||
	    xc_alloc(ctl, "alloc_fast", "gd0", 4, 0xfffff, 1, &pfn) ||
	    xc_cmd(ctl, NULL, 0, "reserve gd0 0x100 0x1ff") ||
	    xc_burst(ctl, "gd0", 100, 2, 1, NULL, NULL) ||
	    xc_alloc(ctl, "alloc", "gd1", 3, 0xffff, 1, &pfn) ||
	    xc_burst(ctl, "gd1", 50, 1, 1, NULL, NULL))
		return -1;
	return 0;
}

static void destroy_domains(void)
{
	int ctl = xc_open();
	size_t i;

	if (ctl < 0)
		return;
	for (i = 0; i < ARRAY_SIZE(test_domains); i++)
		xc_cmd(ctl, NULL, 0, "destroy %s", test_domains[i]);
	close(ctl);
}

/*
 * Before the harness runs: the test domains, which every case compares
 * and whose files are among those written to, then one variant of
 * fixture "garbage" per file, in the harness's list order.
 */
static void check(int __maybe_unused argc, char __maybe_unused **argv)
{
	int ctl, cpus[1], f, k;

	xc_require_ctl();
	ctl = xc_open();
	if (ctl < 0)
		ksft_exit_fail_msg("open " XC_CTL ": %s\n", strerror(-ctl));
	if (usable_cpus(cpus, 1) == 1)
		pin_cpu(cpus[0]);
	if (setup_domains(ctl))
		ksft_exit_fail_msg("cannot set up the test domains\n");
	close(ctl);
	atexit(destroy_domains);
	find_files(XC_ROOT);
	for (k = 0; k < nfiles; k++) {
		/* Constructors ran backwards: the list grows at its head. */
		f = __constructor_order == _CONSTRUCTOR_ORDER_FORWARD ?
		    k : nfiles - 1 - k;
		vars[f].path = files[f];
		meta[f].name = files[f] + strlen(XC_ROOT) + 1;
		meta[f].data = &vars[f];
		__register_fixture_variant(&_garbage_fixture_object, &meta[f]);
	}
}

XC_HARNESS_MAIN(check)
