// SPDX-License-Identifier: GPL-2.0-only
/*
 * Writes BYTES pseudo-random bytes derived from SEED to stdout: the data
 * pattern of the block device checks (tools/vm/guest-io-lib.sh). The same
 * seed gives the same bytes, so a failure can be reproduced; different
 * seeds give unrelated data, so data left over from an earlier pass, or
 * written at the wrong place, never looks right. Every 512-byte sector
 * starts with its byte offset in the pattern (64-bit little endian), so a
 * misplaced sector read back tells where it belongs.
 *
 * Usage: blkpattern SEED BYTES    (BYTES may end in k, M or G)
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BUF_SIZE	(64 * 1024)	/* a multiple of the sector size */
#define SECTOR		512

static uint64_t splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static int parse_size(const char *s, unsigned long long *out)
{
	static const char units[] = "kMG";
	unsigned long long v;
	const char *unit;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s)
		return -1;
	if (*end) {
		unit = strchr(units, *end++);
		if (!unit || *end)
			return -1;
		v <<= (unit - units + 1) * 10;
	}
	*out = v;
	return 0;
}

static int write_all(const unsigned char *p, size_t len)
{
	ssize_t n;

	while (len) {
		n = write(STDOUT_FILENO, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= n;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static unsigned char buf[BUF_SIZE];
	unsigned long long seed, total, off = 0;
	uint64_t state, r;
	size_t i, n;

	if (argc != 3 || parse_size(argv[1], &seed) ||
	    parse_size(argv[2], &total)) {
		fprintf(stderr, "usage: %s SEED BYTES\n", argv[0]);
		return 2;
	}
	state = seed ^ 0x626c6b7061747465ULL;	/* "blkpatte" */
	while (off < total) {
		n = total - off < BUF_SIZE ? total - off : BUF_SIZE;
		for (i = 0; i < BUF_SIZE; i += 8) {
			if (i % SECTOR == 0)
				r = off + i;
			else
				r = splitmix64(&state);
			memcpy(buf + i, &r, 8);
		}
		if (write_all(buf, n)) {
			fprintf(stderr, "%s: write: %s\n", argv[0],
				strerror(errno));
			return 1;
		}
		off += n;
	}
	return 0;
}
