/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Helpers shared by the xiova selftests, which are built on the kernel's
 * kselftest_harness.h: the debugfs test-control file
 * (Documentation/testctl.rst) and the per-domain stats file
 * (Documentation/stats.rst).
 *
 * Header only: every test is one C file plus this header.
 */
#ifndef _XIOVA_CTL_H_
#define _XIOVA_CTL_H_

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifndef XC_ROOT
#define XC_ROOT		"/sys/kernel/debug/xiova"
#endif
#define XC_CTL		XC_ROOT "/test/ctl"
#define XC_DOMAINS	XC_ROOT "/domains"
#define XC_MAG_SIZE	127
#define XC_CLASSES	6

#ifndef __printf
#define __printf(a, b)	__attribute__((format(printf, a, b)))
#endif
#ifndef __noreturn
#define __noreturn	__attribute__((noreturn))
#endif
#ifndef __maybe_unused
#define __maybe_unused	__attribute__((unused))
#endif

/*
 * The kernel's kselftest harness (tools/testing/selftests/
 * kselftest_harness.h): the Makefile finds it, see KSFT_DIR there. It
 * brings ARRAY_SIZE() and the KSFT_* exit codes.
 */
#include "kselftest_harness.h"

/* ---------------------------------------------------------- diagnostics */

/*
 * Diagnostics of the helpers below, which have no _metadata for TH_LOG():
 * "# " lines, never mistaken for a result.
 */
static inline void __printf(1, 2)
diag(const char *fmt, ...)
{
	char text[20000], *line, *save = NULL;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	/* Every line of a multi-line message stays a TAP comment. */
	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		printf("# %s\n", line);
	fflush(stdout);
}

/* A check of a helper that failed: says what and where. */
#define fail(fmt, ...) \
	diag("FAIL %s:%d: " fmt, __func__, __LINE__, ##__VA_ARGS__)

/* The whole program is skipped: nothing to run it against. */
static inline void __printf(1, 2) __noreturn
xc_skip_all(const char *fmt, ...)
{
	char reason[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	ksft_print_header();
	ksft_exit_skip("%s\n", reason);
	exit(KSFT_SKIP);	/* not reached: for the compiler */
}

/* Every test case of the program may take up to secs seconds. */
static inline void xc_set_timeouts(int secs)
{
	struct __fixture_metadata *f;
	struct __test_metadata *t;

	for (f = __fixture_list; f; f = f->next)
		for (t = f->tests; t; t = t->next)
			t->timeout = secs;
}

/*
 * TEST_HARNESS_MAIN with a check first: check(argc, argv) exits with
 * KSFT_SKIP when there is nothing to test (6.1's harness counts a case
 * that calls SKIP() as passed, and its fixture's test still runs after a
 * SKIP() in FIXTURE_SETUP), and may take options. test_harness_run()
 * exits with the verdict: KSFT_PASS, or KSFT_FAIL if a case failed.
 */
#define XC_HARNESS_MAIN(check)						\
	static void __attribute__((constructor))			\
	__constructor_order_last(void)					\
	{								\
		if (!__constructor_order)				\
			__constructor_order = _CONSTRUCTOR_ORDER_BACKWARD; \
	}								\
	int main(int argc, char **argv)					\
	{								\
		check(argc, argv);					\
		test_harness_run(argc, argv);				\
	}

/* -------------------------------------------------------------- helpers */

static inline double now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static inline void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* Whole file into buf, NUL-terminated; bytes read or -errno. */
static inline int xc_read_file(const char *path, char *buf, size_t size)
{
	size_t len = 0;
	ssize_t n;
	int fd, err;

	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -errno;
	while (len < size - 1) {
		n = read(fd, buf + len, size - 1 - len);
		if (n < 0) {
			err = errno;
			close(fd);
			return -err;
		}
		if (!n)
			break;
		len += n;
	}
	buf[len] = '\0';
	close(fd);
	return len;
}

/* Writes a short string to a sysfs-like file; 0 or -errno. */
static inline int xc_write_file(const char *path, const char *s)
{
	ssize_t n;
	int fd, err = 0;

	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	if (n < 0)
		err = -errno;
	else if ((size_t)n != strlen(s))
		err = -EIO;
	close(fd);
	return err;
}

static inline int online_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n > 0 ? (int)n : 1;
}

/* Pins the calling process to one CPU; 0 or -errno. */
static inline int pin_cpu(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set) ? -errno : 0;
}

/* Is the calling process pinned to exactly this CPU? */
static inline bool pinned_to(int cpu)
{
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(set), &set))
		return false;
	return CPU_COUNT(&set) == 1 && CPU_ISSET(cpu, &set);
}

/* The CPUs in the calling process's affinity mask, up to max. */
static inline int usable_cpus(int *cpus, int max)
{
	cpu_set_t set;
	int cpu, n = 0;

	if (sched_getaffinity(0, sizeof(set), &set))
		return 0;
	for (cpu = 0; cpu < CPU_SETSIZE && n < max; cpu++)
		if (CPU_ISSET(cpu, &set))
			cpus[n++] = cpu;
	return n;
}

/*
 * Printable rendering of bytes for diagnostics: non-ASCII and control
 * bytes as \xNN, long input cut. Two buffers, so one printf may use two.
 */
static inline const char *xc_show(const void *data, size_t len)
{
	static char bufs[2][512];
	static int which;
	const unsigned char *p = data;
	char *out = bufs[which ^= 1];
	size_t i, o = 0;

	for (i = 0; i < len && i < 96 && o < sizeof(bufs[0]) - 8; i++) {
		if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\\')
			out[o++] = p[i];
		else
			o += snprintf(out + o, sizeof(bufs[0]) - o, "\\x%02x",
				      p[i]);
	}
	if (i < len)
		o += snprintf(out + o, sizeof(bufs[0]) - o, "...(%zu bytes)",
			      len);
	out[o] = '\0';
	return out;
}

static inline const char *xc_shows(const char *s)
{
	return xc_show(s, strlen(s));
}

/* The lines that differ, before (-) and after (+). */
static inline void xc_show_diff(const char *a, const char *b)
{
	const char *ea, *eb;

	while (*a || *b) {
		ea = strchrnul(a, '\n');
		eb = strchrnul(b, '\n');
		if (ea - a != eb - b || memcmp(a, b, ea - a)) {
			diag("-%.*s", (int)(ea - a), a);
			diag("+%.*s", (int)(eb - b), b);
		}
		a = *ea ? ea + 1 : ea;
		b = *eb ? eb + 1 : eb;
	}
}

/* ------------------------------------------------------------------ ctl */

/* Opens the control file; fd, or -errno. */
static inline int xc_open(void)
{
	int fd = open(XC_CTL, O_RDWR);

	return fd < 0 ? -errno : fd;
}

/* Skips the whole program when the module or debugfs is missing. */
static inline void xc_require_ctl(void)
{
	if (getuid() != 0)
		xc_skip_all("must run as root");
	if (access(XC_CTL, F_OK))
		xc_skip_all(XC_CTL " missing: load xiova and mount debugfs");
}

/* The check of XC_HARNESS_MAIN() for programs without options. */
static inline void xc_check_ctl(int __maybe_unused argc,
				char __maybe_unused **argv)
{
	xc_require_ctl();
}

/*
 * Sends len bytes as one write(); 0 or -errno. With reply, the reply is
 * read back on the same fd (empty string if the command gave none).
 */
static inline int xc_send_raw(int fd, const void *buf, size_t len,
			      char *reply, size_t size)
{
	ssize_t n = write(fd, buf, len);

	if (n < 0)
		return -errno;
	if ((size_t)n != len)
		return -EIO;
	if (reply) {
		n = read(fd, reply, size - 1);
		if (n < 0)
			return -errno;
		reply[n] = '\0';
	}
	return 0;
}

static inline int xc_vcmd(int fd, char *reply, size_t size, const char *fmt,
			  va_list ap)
{
	char cmd[512];
	int len;

	len = vsnprintf(cmd, sizeof(cmd), fmt, ap);
	if (len < 0 || (size_t)len >= sizeof(cmd))
		return -E2BIG;
	return xc_send_raw(fd, cmd, len, reply, size);
}

/* One formatted command; 0 or -errno; reply as in xc_send_raw(). */
static inline int __printf(4, 5)
xc_cmd(int fd, char *reply, size_t size, const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = xc_vcmd(fd, reply, size, fmt, ap);
	va_end(ap);
	return ret;
}

/*
 * Runs a command that must end with -err (0: must succeed). Prints the
 * command and both errnos on a mismatch. Returns true if as expected.
 */
#define xc_expect(fd, err, fmt, ...) \
	__xc_expect(__func__, __LINE__, fd, err, fmt, ##__VA_ARGS__)

static inline bool __printf(5, 6)
__xc_expect(const char *fn, int line, int fd, int err, const char *fmt, ...)
{
	char cmd[512];
	va_list ap;
	int ret;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	ret = xc_send_raw(fd, cmd, strlen(cmd), NULL, 0);
	if (ret == -err)
		return true;
	diag("FAIL %s:%d: '%s' -> %s (%d), expected %s (%d)", fn, line,
	     xc_shows(cmd),
	     ret ? strerror(-ret) : "success", -ret,
	     err ? strerror(err) : "success", err);
	return false;
}

/* Parses a reply of one or two numbers; number of values parsed. */
static inline int xc_parse_reply(const char *reply, unsigned long *a,
				 unsigned long *b)
{
	char *end;

	errno = 0;
	*a = strtoul(reply, &end, 0);
	if (errno || end == reply)
		return 0;
	if (!b)
		return *end == '\n' && !end[1] ? 1 : 0;
	reply = end;
	*b = strtoul(reply, &end, 0);
	if (errno || end == reply || *end != '\n' || end[1])
		return 1;
	return 2;
}

/* "alloc"/"alloc_fast" returning the pfn; 0 or -errno. */
static inline int xc_alloc(int fd, const char *verb, const char *dom,
			   unsigned long size, unsigned long limit,
			   unsigned long flag, unsigned long *pfn)
{
	char reply[128];
	int ret;

	ret = xc_cmd(fd, reply, sizeof(reply), "%s %s %lu %#lx %lu", verb, dom,
		     size, limit, flag);
	if (ret)
		return ret;
	if (xc_parse_reply(reply, pfn, NULL) != 1) {
		diag("'%s %s ...' answered '%s', expected one pfn", verb, dom,
		     reply);
		return -EPROTO;
	}
	return 0;
}

/* "find": the range holding pfn; 0 or -errno. */
static inline int xc_find(int fd, const char *dom, unsigned long pfn,
			  unsigned long *lo, unsigned long *hi)
{
	char reply[128];
	int ret;

	*lo = *hi = 0;
	ret = xc_cmd(fd, reply, sizeof(reply), "find %s %#lx", dom, pfn);
	if (ret)
		return ret;
	if (xc_parse_reply(reply, lo, hi) != 2) {
		diag("'find %s %#lx' answered '%s', expected two pfns", dom,
		     pfn, reply);
		return -EPROTO;
	}
	return 0;
}

/* "burst": ops done; 0 or -errno. */
static inline int xc_burst(int fd, const char *dom, unsigned long count,
			   unsigned long size, unsigned long rounds,
			   unsigned long *ops, unsigned long *ns)
{
	char reply[128];
	unsigned long o, n;
	int ret;

	if (ops)
		*ops = 0;
	if (ns)
		*ns = 0;
	ret = xc_cmd(fd, reply, sizeof(reply), "burst %s %lu %lu %lu", dom,
		     count, size, rounds);
	if (ret)
		return ret;
	if (xc_parse_reply(reply, &o, &n) != 2) {
		diag("'burst %s ...' answered '%s'", dom, reply);
		return -EPROTO;
	}
	if (ops)
		*ops = o;
	if (ns)
		*ns = n;
	return 0;
}

/* ---------------------------------------------------------------- stats */

enum xc_col {
	XC_HITS, XC_MISSES, XC_INSERTS, XC_INS_FAIL, XC_LOADED, XC_PREV,
	XC_CPU_PFNS, XC_DEPOT, XC_DEPOT_MAX, XC_TRIMS, XC_FLUSHES, XC_DRAINS,
	XC_MAG_BYTES, XC_NCOLS
};

static const char *const xc_col_names[XC_NCOLS] = {
	"hits", "misses", "inserts", "ins_fail", "loaded", "prev", "cpu_pfns",
	"depot", "depot_max", "trims", "flushes", "drains", "mag_bytes",
};

struct xc_stats {
	long		domain;
	unsigned long	granule;
	unsigned long	start_pfn;
	unsigned long	tree_nodes;
	unsigned long	tree_bytes;
	unsigned long	max32_alloc_size;
	bool		rcaches;
	int		nclasses;
	unsigned long long cls[XC_CLASSES][XC_NCOLS];
	unsigned long long total[XC_NCOLS];
};

static inline int __xc_parse_stats(char *text, struct xc_stats *st)
{
	int colpos[XC_NCOLS], keys = 0, c, i, header = 0;
	char *line, *save = NULL;

	memset(st, 0, sizeof(*st));
	for (c = 0; c < XC_NCOLS; c++)
		colpos[c] = -1;
	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char *tok[32], *s2 = NULL, *t;
		int ntok = 0;
		char val[64], colon;

		if (!header) {
			if (sscanf(line, "domain: %ld", &st->domain) == 1 ||
			    sscanf(line, "granule: %lu", &st->granule) == 1 ||
			    sscanf(line, "start_pfn: %lx", &st->start_pfn) == 1 ||
			    sscanf(line, "tree_nodes: %lu", &st->tree_nodes) == 1 ||
			    sscanf(line, "tree_bytes: %lu", &st->tree_bytes) == 1 ||
			    sscanf(line, "max32_alloc_size: %lu",
				   &st->max32_alloc_size) == 1) {
				keys++;
				continue;
			}
			if (sscanf(line, "rcaches: %63s", val) == 1) {
				st->rcaches = !strcmp(val, "yes");
				keys++;
				continue;
			}
			/* Keys added later (debug_checks) are no format change. */
			if (sscanf(line, "%63[a-z0-9_]%c", val, &colon) == 2 &&
			    colon == ':')
				continue;
		}
		for (t = strtok_r(line, " \t", &s2); t && ntok < 32;
		     t = strtok_r(NULL, " \t", &s2))
			tok[ntok++] = t;
		if (!ntok)
			continue;
		if (!strcmp(tok[0], "class")) {
			for (i = 0; i < ntok; i++)
				for (c = 0; c < XC_NCOLS; c++)
					if (!strcmp(tok[i], xc_col_names[c]))
						colpos[c] = i;
			header = 1;
			continue;
		}
		if (!header)
			return -EPROTO;
		if (!strcmp(tok[0], "total")) {
			for (c = 0; c < XC_NCOLS; c++)
				if (colpos[c] >= 0 && colpos[c] < ntok)
					st->total[c] = strtoull(tok[colpos[c]],
								NULL, 0);
			continue;
		}
		i = atoi(tok[0]);
		if (i < 0 || i >= XC_CLASSES || i != st->nclasses)
			return -EPROTO;
		for (c = 0; c < XC_NCOLS; c++)
			if (colpos[c] >= 0 && colpos[c] < ntok)
				st->cls[i][c] = strtoull(tok[colpos[c]], NULL, 0);
		st->nclasses++;
	}
	for (c = 0; c < XC_NCOLS; c++)
		if (colpos[c] < 0)
			return -EPROTO;
	return keys == 7 ? 0 : -EPROTO;
}

/* Reads test/NAME/stats; 0 or -errno (-EPROTO: the format changed). */
static inline int xc_stats(const char *dom, struct xc_stats *st)
{
	static char text[8192];
	char path[256];
	int ret;

	snprintf(path, sizeof(path), XC_ROOT "/test/%s/stats", dom);
	ret = xc_read_file(path, text, sizeof(text));
	if (ret < 0)
		return ret;
	ret = __xc_parse_stats(text, st);
	if (ret)
		diag("cannot parse %s", path);
	return ret;
}

/* Ranges cached in magazines and depots: each is also a tree node. */
static inline unsigned long xc_cached(const struct xc_stats *st)
{
	unsigned long sum = 0;
	int i;

	for (i = 0; i < st->nclasses; i++)
		sum += st->cls[i][XC_CPU_PFNS] +
		       st->cls[i][XC_DEPOT] * XC_MAG_SIZE;
	return sum;
}

/*
 * The accounting invariant with no command in flight: every tree node is
 * either held by the test or cached. Prints the numbers on a mismatch.
 */
#define xc_expect_nodes(dom, held) \
	__xc_expect_nodes(__func__, __LINE__, dom, held)

static inline bool __xc_expect_nodes(const char *fn, int line,
				     const char *dom, unsigned long held)
{
	struct xc_stats st;
	int ret = xc_stats(dom, &st);

	if (ret) {
		diag("FAIL %s:%d: reading stats of %s: %s", fn, line, dom,
		     strerror(-ret));
		return false;
	}
	if (st.tree_nodes == held + xc_cached(&st))
		return true;
	diag("FAIL %s:%d: %s: tree_nodes %lu, expected %lu held + %lu cached",
	     fn, line, dom, st.tree_nodes, held, xc_cached(&st));
	return false;
}

/*
 * The same while the depot trim work may still run: it takes a magazine
 * out of the depot before it frees the ranges, so for a moment a snapshot
 * shows fewer cached ranges than tree nodes. A real mismatch persists; a
 * mismatch that survives two seconds is reported.
 */
#define xc_expect_nodes_settled(dom, held) \
	__xc_expect_nodes_settled(__func__, __LINE__, dom, held)

static inline bool __xc_expect_nodes_settled(const char *fn, int line,
					     const char *dom,
					     unsigned long held)
{
	struct xc_stats st;
	int tries;

	for (tries = 0; tries < 40; tries++) {
		if (!xc_stats(dom, &st) &&
		    st.tree_nodes == held + xc_cached(&st))
			return true;
		sleep_ms(50);
	}
	return __xc_expect_nodes(fn, line, dom, held);
}

#endif /* _XIOVA_CTL_H_ */
