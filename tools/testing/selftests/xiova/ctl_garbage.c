// SPDX-License-Identifier: GPL-2.0-only
/*
 * Garbage written to every debugfs file of xiova: the control file must
 * refuse each write with EINVAL (EFAULT for a bad buffer), the read-only
 * files with EINVAL, EACCES, EPERM or EBADF, and nothing may change: the
 * domains list, the test domains' stats and their tree checks are
 * compared after every single write.
 */
#include <dirent.h>
#include <sys/stat.h>

#include "xiova_ctl.h"

#define MAX_FILES	64
#define BIG		(64 * 1024)
#define RANDOM_WRITES	300

static const char *const test_domains[] = { "gd0", "gd1" };

static int ctl = -1;
static char files[MAX_FILES][512];
static int nfiles;

struct snapshot {
	char domains[16384];
	char stats[ARRAY_SIZE(test_domains)][8192];
	int check[ARRAY_SIZE(test_domains)];
};

static struct snapshot base;

static int take_snapshot(struct snapshot *s)
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
		s->check[i] = xc_cmd(ctl, NULL, 0, "check %s", test_domains[i]);
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
static bool __unchanged(const char *what, bool quiet)
{
	struct snapshot now;
	bool ok = true;
	size_t i;
	int ret;

	ret = take_snapshot(&now);
	if (ret) {
		diag("FAIL after %s: snapshot: %s", what, strerror(-ret));
		return false;
	}
	if (strcmp(now.domains, base.domains)) {
		if (!quiet) {
			diag("FAIL after %s: the domains file changed:", what);
			xc_show_diff(base.domains, now.domains);
		}
		ok = false;
	}
	for (i = 0; i < ARRAY_SIZE(test_domains); i++) {
		if (strcmp(now.stats[i], base.stats[i])) {
			if (!quiet) {
				diag("FAIL after %s: stats of %s changed:", what,
				     test_domains[i]);
				xc_show_diff(base.stats[i], now.stats[i]);
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
		base = now;
	return ok;
}

static bool unchanged(const char *what)
{
	return __unchanged(what, false);
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
static bool refused(const char *path, int fd, const void *buf, size_t len,
		    bool bad_pointer)
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
			xc_send_raw(ctl, cmd, strlen(cmd), NULL, 0);
		}
	} else if (!errno_ok(path, err, bad_pointer)) {
		diag("FAIL %s -> %s (%d)", what, strerror(err), err);
		ok = false;
	}
	ok &= unchanged(what);
	return ok;
}

/* Opens a file for writing the way a user would; -errno if refused. */
static int open_for_write(const char *path)
{
	int fd = open(path, is_ctl(path) ? O_RDWR : O_WRONLY);

	return fd < 0 ? -errno : fd;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
	/* xorshift64*: fixed seed, same sequence on every run. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
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

static bool run_payloads(const char *path, const struct payload *p, size_t n)
{
	bool ok = true;
	size_t i;
	int fd;

	fd = open_for_write(path);
	if (fd < 0)
		return errno_ok(path, -fd, false);
	for (i = 0; i < n; i++)
		ok &= refused(path, fd, p[i].s, p[i].len, false);
	close(fd);
	return ok;
}

static bool case_empty(const char *path)
{
	static const struct payload p[] = { { "", 0 } };

	return run_payloads(path, p, 1);
}

static bool case_long(const char *path)
{
	static char buf[BIG];
	static const size_t lens[] = { 256, 257, 300, 4096, BIG };
	bool ok = true;
	size_t i;
	int fd;

	fd = open_for_write(path);
	if (fd < 0)
		return errno_ok(path, -fd, false);
	/* A valid command padded past the limit, then plain junk. */
	memset(buf, ' ', sizeof(buf));
	memcpy(buf, "check gd0", 9);
	for (i = 0; i < ARRAY_SIZE(lens); i++)
		ok &= refused(path, fd, buf, lens[i], false);
	memcpy(buf, "flush gd0", 9);
	buf[255] = '\n';
	ok &= refused(path, fd, buf, 256, false);
	buf[255] = ' ';
	memset(buf, 'a', sizeof(buf));
	for (i = 0; i < ARRAY_SIZE(lens); i++)
		ok &= refused(path, fd, buf, lens[i], false);
	close(fd);
	return ok;
}

static bool case_numbers(const char *path)
{
	return run_payloads(path, numbers, ARRAY_SIZE(numbers));
}

static bool case_nuls(const char *path)
{
	return run_payloads(path, nuls, ARRAY_SIZE(nuls));
}

static bool case_controls(const char *path)
{
	return run_payloads(path, controls, ARRAY_SIZE(controls));
}

static bool case_high(const char *path)
{
	return run_payloads(path, high, ARRAY_SIZE(high));
}

static bool case_random(const char *path)
{
	unsigned char buf[400];
	bool ok = true;
	size_t len, i;
	int fd, w;

	fd = open_for_write(path);
	if (fd < 0)
		return errno_ok(path, -fd, false);
	for (w = 0; w < RANDOM_WRITES; w++) {
		len = 1 + rng() % 300;
		for (i = 0; i < len; i++)
			buf[i] = rng();
		ok &= refused(path, fd, buf, len, false);
	}
	close(fd);
	return ok;
}

/* A valid command and domain followed by random bytes it cannot take. */
static bool case_random_tail(const char *path)
{
	static const char *const heads[] = { "check gd0 ", "flush gd0 ",
					     "destroy gd1 " };
	unsigned char buf[400];
	size_t len, hlen, tail, i;
	bool ok = true;
	int fd, w;

	fd = open_for_write(path);
	if (fd < 0)
		return errno_ok(path, -fd, false);
	for (w = 0; w < RANDOM_WRITES / 3; w++) {
		const char *head = heads[w % ARRAY_SIZE(heads)];

		hlen = strlen(head);
		tail = 1 + rng() % 24;
		memcpy(buf, head, hlen);
		for (i = 0; i < tail; i++)
			buf[hlen + i] = rng();
		/* At least one byte that is not a separator or the newline. */
		while (buf[hlen] == ' ' || buf[hlen] == '\t' || buf[hlen] == '\n')
			buf[hlen] = rng();
		len = hlen + tail;
		ok &= refused(path, fd, buf, len, false);
	}
	close(fd);
	return ok;
}

static bool case_bad_pointer(const char *path)
{
	bool ok = true;
	int fd;

	fd = open_for_write(path);
	if (fd < 0)
		return errno_ok(path, -fd, false);
	ok &= refused(path, fd, (const void *)16, 10, true);
	close(fd);
	return ok;
}

/* Writing on a descriptor opened read-only is EBADF for every file. */
static bool case_readonly_fd(const char *path)
{
	ssize_t n;
	bool ok = true;
	int fd;

	fd = open(path, O_RDONLY);
	if (fd < 0) {
		diag("FAIL open %s read-only: %s", path, strerror(errno));
		return false;
	}
	n = write(fd, "check gd0", 9);
	if (n >= 0 || errno != EBADF) {
		diag("FAIL write to read-only fd of %s -> %zd %s, expected EBADF",
		     path, n, n < 0 ? strerror(errno) : "");
		ok = false;
	}
	close(fd);
	ok &= unchanged("write to a read-only fd");
	return ok;
}

static const struct {
	const char *name;
	bool (*fn)(const char *path);
} cases[] = {
	{ "empty", case_empty },
	{ "long", case_long },
	{ "numbers", case_numbers },
	{ "nul_bytes", case_nuls },
	{ "control_bytes", case_controls },
	{ "non_ascii", case_high },
	{ "random", case_random },
	{ "random_tail", case_random_tail },
	{ "bad_pointer", case_bad_pointer },
	{ "readonly_fd", case_readonly_fd },
};

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

static int setup_domains(void)
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

int main(void)
{
	int c, f, cpus[1];

	xc_require_ctl();
	ctl = xc_open();
	if (ctl < 0) {
		printf("# open " XC_CTL ": %s\n", strerror(-ctl));
		return KSFT_FAIL;
	}
	if (usable_cpus(cpus, 1) == 1)
		pin_cpu(cpus[0]);
	if (setup_domains()) {
		printf("# cannot set up the test domains\n");
		return KSFT_FAIL;
	}
	find_files(XC_ROOT);
	if (take_snapshot(&base)) {
		printf("# cannot read the baseline\n");
		return KSFT_FAIL;
	}

	/* Per file and kind of garbage, then two controls of the harness. */
	tap_plan(nfiles * (int)ARRAY_SIZE(cases) + 2);
	for (f = 0; f < nfiles; f++) {
		diag("file %s", files[f]);
		for (c = 0; c < (int)ARRAY_SIZE(cases); c++) {
			char name[320];
			const char *rel = files[f] + strlen(XC_ROOT) + 1;
			bool ok;

			snprintf(name, sizeof(name), "%s:%s", rel, cases[c].name);
			ok = cases[c].fn(files[f]);
			tap_result(ok ? TAP_PASS : TAP_FAIL, name, NULL);
		}
	}

	/* The longest command accepted: 255 bytes. */
	{
		char buf[255];
		bool ok;

		memset(buf, ' ', sizeof(buf));
		memcpy(buf, "check gd0", 9);
		ok = !xc_send_raw(ctl, buf, sizeof(buf), NULL, 0);
		if (!ok)
			diag("FAIL a 255-byte 'check gd0' was refused");
		ok &= unchanged("the 255-byte check");
		tap_result(ok ? TAP_PASS : TAP_FAIL, "ctl:255_bytes_accepted",
			   NULL);
	}
	/* The comparison notices a real change. */
	{
		unsigned long pfn;
		bool ok = !xc_alloc(ctl, "alloc", "gd1", 1, 0xffff, 0, &pfn);

		if (ok && __unchanged("a real alloc", true)) {
			diag("FAIL an alloc in gd1 went unnoticed");
			ok = false;
		}
		ok &= !xc_cmd(ctl, NULL, 0, "free gd1 %#lx", pfn);
		__unchanged("freeing it again", true);
		tap_result(ok ? TAP_PASS : TAP_FAIL, "snapshot_sees_changes",
			   NULL);
	}

	xc_cmd(ctl, NULL, 0, "destroy gd0");
	xc_cmd(ctl, NULL, 0, "destroy gd1");
	close(ctl);
	return tap_exit();
}
