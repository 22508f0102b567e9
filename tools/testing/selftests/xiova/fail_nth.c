// SPDX-License-Identifier: GPL-2.0-only
/*
 * fail_nth N FILE DATA: one write of DATA to FILE with the N-th
 * fault-injectable allocation of that write failing, through the task's
 * /proc/thread-self/fail-nth (Documentation/fault-injection/
 * fault-injection.rst). FILE is opened before the fault is armed, so the
 * open's own allocations never count; the fault is disarmed right after
 * the write. Prints one line:
 *
 *   ret=0|-ERRNO injected=0|1
 *
 * where injected=1 means the N-th allocation happened during the write and
 * was failed. A script runs N = 1, 2, ... until injected=0: by then every
 * allocation point of the command has failed once.
 *
 * Which allocations count is set in /sys/kernel/debug/failslab and
 * fail_page_alloc (cache-filter, ignore-gfp-wait): fail-nth overrides
 * their probability, interval and task filter, not those.
 *
 * A helper for tools/vm/guest-hardening.sh, not a selftest of its own.
 * Exit status 0 when the write was done (whatever it returned), 1 on a
 * usage or setup error.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FAIL_NTH	"/proc/thread-self/fail-nth"

int main(int argc, char **argv)
{
	char buf[32];
	unsigned long n;
	ssize_t ret;
	int fd, nth, err = 0;
	char *end;

	if (argc != 4) {
		fprintf(stderr, "usage: fail_nth N FILE DATA\n");
		return 1;
	}
	errno = 0;
	n = strtoul(argv[1], &end, 10);
	if (errno || *end || !n || n > 1000000) {
		fprintf(stderr, "fail_nth: N must be 1..1000000\n");
		return 1;
	}
	fd = open(argv[2], O_WRONLY);
	if (fd < 0) {
		fprintf(stderr, "fail_nth: open %s: %s\n", argv[2],
			strerror(errno));
		return 1;
	}
	nth = open(FAIL_NTH, O_RDWR);
	if (nth < 0) {
		fprintf(stderr, "fail_nth: open " FAIL_NTH ": %s\n",
			strerror(errno));
		return 1;
	}
	snprintf(buf, sizeof(buf), "%lu", n);
	if (write(nth, buf, strlen(buf)) < 0) {
		fprintf(stderr, "fail_nth: arming " FAIL_NTH ": %s\n",
			strerror(errno));
		return 1;
	}

	ret = write(fd, argv[3], strlen(argv[3]));
	if (ret < 0)
		err = errno;

	/* Read what is left of the count first, then disarm. */
	memset(buf, 0, sizeof(buf));
	if (pread(nth, buf, sizeof(buf) - 1, 0) < 0 ||
	    write(nth, "0", 1) < 0) {
		fprintf(stderr, "fail_nth: reading " FAIL_NTH ": %s\n",
			strerror(errno));
		return 1;
	}
	printf("ret=%d injected=%d\n", ret < 0 ? -err : 0, atoi(buf) == 0);
	close(nth);
	close(fd);
	return 0;
}
