// SPDX-License-Identifier: GPL-2.0-only
/*
 * Raw Ethernet traffic between two NICs of the same machine, every frame
 * verified. Both links are brought up; COUNT frames of 60..1514 bytes go
 * out of IFA and must arrive on IFB, then COUNT frames the other way.
 *
 * The interfaces must be connected to each other and to nothing else (a
 * QEMU hub). IP would not do: with both ends in one kernel, traffic to a
 * local address never leaves through the NIC. AF_PACKET sockets do leave:
 * the sender is bound to IFA, the receiver to IFB with a local
 * experimental ethertype, and only frames the receiver's NIC delivered
 * (PACKET_HOST) count.
 *
 * Each frame carries a magic, a run id, its direction, its sequence
 * number and length, a payload derived from (run, direction, sequence)
 * and a CRC-32 of all that. The receiver rebuilds the expected frame and
 * compares every byte; a frame that differs is corrupt, one seen twice
 * is a duplicate, one of another run or direction is stale (a NIC
 * handing up an old buffer shows up as one of the last two). At most
 * WINDOW frames are in flight, so neither the NIC's receive ring nor the
 * socket's buffer (raised to 4 MiB) overflows, and a lost frame costs
 * one idle timeout rather than the rest of the run. Each direction's
 * summary shows the drivers' counters (packets, and any drop or error
 * counter that moved) and the socket's own drops.
 *
 * Usage: netpair [-n COUNT] [-p PERMILLE] [-s SEED] [-w WINDOW] IFA IFB
 *   -n COUNT     frames per direction (default 1000)
 *   -p PERMILLE  share that must arrive intact (default 990)
 *   -s SEED      run id, for a reproducible payload (default random)
 *   -w WINDOW    frames in flight at most (default 64)
 *
 * TAP output, one test per direction. Passes, exit status 0, when in
 * both directions at least PERMILLE/1000 of the frames arrived and none
 * was corrupt, duplicated or stale; exit status 1 otherwise or when the
 * setup failed (needs root), 2 on a usage error.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define ETHERTYPE_TEST	0x88b5		/* IEEE local experimental 1 */
#define FRAME_MIN	60		/* without the FCS */
#define FRAME_MAX	1514
#define MAGIC		0x58494f56	/* "XIOV" */

/* Frame layout after the 14-byte Ethernet header; the CRC is the tail. */
#define OFF_MAGIC	14
#define OFF_RUN		18
#define OFF_SEQ		22
#define OFF_LEN		26
#define OFF_DIR		28
#define OFF_PAYLOAD	30
#define CRC_LEN		4

#define LINK_TIMEOUT_MS		15000
#define IDLE_TIMEOUT_MS		500	/* in-flight frames count as lost */
#define DRAIN_TIMEOUT_MS	1000	/* final wait for stragglers */
#define MAX_DETAILS		5	/* per kind of problem */
#define RCVBUF			(4 << 20)	/* bytes; WINDOW frames fit */

#define SEEN_NONE	0
#define SEEN_INTACT	1
#define SEEN_CORRUPT	2

struct nic {
	const char *name;
	int ifindex;
	unsigned char mac[ETH_ALEN];
};

/* Driver counters (/sys/class/net/NAME/statistics/) around a direction. */
static const char *const tx_counters[] = {
	"tx_packets", "tx_dropped", "tx_errors", "tx_fifo_errors",
};

static const char *const rx_counters[] = {
	"rx_packets", "rx_dropped", "rx_errors", "rx_missed_errors",
	"rx_fifo_errors", "rx_over_errors", "rx_crc_errors",
	"rx_length_errors",
};

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define N_TX		ARRAY_SIZE(tx_counters)
#define N_RX		ARRAY_SIZE(rx_counters)

struct dir_stats {
	unsigned long sent, resent, intact, corrupt, duplicate, stale;
	unsigned long sock_drops;
	unsigned long long bytes;
	double seconds;
};

static unsigned long count = 1000;
static unsigned long permille = 990;
static unsigned long window = 64;
static uint32_t run_id;
static uint32_t crc_table[256];

static void diag(const char *fmt, ...)
{
	va_list ap;

	fputs("# ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static void bail(const char *fmt, ...)
{
	va_list ap;

	fputs("Bail out! ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	exit(1);
}

static double now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void crc_init(void)
{
	uint32_t c;
	int i, k;

	for (i = 0; i < 256; i++) {
		c = i;
		for (k = 0; k < 8; k++)
			c = c & 1 ? 0xedb88320 ^ (c >> 1) : c >> 1;
		crc_table[i] = c;
	}
}

static uint32_t crc32(const unsigned char *p, size_t len)
{
	uint32_t c = 0xffffffff;

	while (len--)
		c = crc_table[(c ^ *p++) & 0xff] ^ (c >> 8);
	return c ^ 0xffffffff;
}

static uint64_t splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void put_be32(unsigned char *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

static uint32_t get_be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

/* Frame length by sequence number: both extremes, an odd one, random. */
static size_t frame_len(int dir, uint32_t seq)
{
	uint64_t st = (uint64_t)run_id << 32 ^ (uint64_t)dir << 31 ^ seq ^
		      0x5eed5eed00000000ULL;

	switch (seq % 16) {
	case 0:
		return FRAME_MIN;
	case 1:
		return FRAME_MAX;
	case 2:
		return FRAME_MIN + 1;
	default:
		return FRAME_MIN + splitmix64(&st) % (FRAME_MAX - FRAME_MIN + 1);
	}
}

/* Builds frame seq of direction dir (0: a -> b, 1: b -> a); its length. */
static size_t build_frame(unsigned char *f, const struct nic *src,
			  const struct nic *dst, int dir, uint32_t seq)
{
	size_t len = frame_len(dir, seq), i;
	uint64_t st = (uint64_t)run_id << 32 ^ (uint64_t)dir << 31 ^ seq;
	uint64_t r = 0;

	memcpy(f, dst->mac, ETH_ALEN);
	memcpy(f + ETH_ALEN, src->mac, ETH_ALEN);
	f[12] = ETHERTYPE_TEST >> 8;
	f[13] = ETHERTYPE_TEST & 0xff;
	put_be32(f + OFF_MAGIC, MAGIC);
	put_be32(f + OFF_RUN, run_id);
	put_be32(f + OFF_SEQ, seq);
	f[OFF_LEN] = len >> 8;
	f[OFF_LEN + 1] = len & 0xff;
	f[OFF_DIR] = dir;
	f[OFF_DIR + 1] = 0;
	for (i = OFF_PAYLOAD; i < len - CRC_LEN; i++) {
		if ((i - OFF_PAYLOAD) % 8 == 0)
			r = splitmix64(&st);
		f[i] = r;
		r >>= 8;
	}
	put_be32(f + len - CRC_LEN, crc32(f, len - CRC_LEN));
	return len;
}

static void nic_lookup(int fd, struct nic *nic)
{
	struct ifreq ifr;

	if (strlen(nic->name) >= IFNAMSIZ)
		bail("interface name '%s' is too long", nic->name);
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, nic->name);
	if (ioctl(fd, SIOCGIFINDEX, &ifr) < 0)
		bail("no interface %s: %s", nic->name, strerror(errno));
	nic->ifindex = ifr.ifr_ifindex;
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0)
		bail("%s: cannot read its MAC address: %s", nic->name,
		     strerror(errno));
	if (ifr.ifr_hwaddr.sa_family != ARPHRD_ETHER)
		bail("%s is not an Ethernet interface", nic->name);
	memcpy(nic->mac, ifr.ifr_hwaddr.sa_data, ETH_ALEN);
}

static short nic_flags(int fd, const struct nic *nic)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, nic->name);
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
		bail("%s: SIOCGIFFLAGS: %s", nic->name, strerror(errno));
	return ifr.ifr_flags;
}

static void nic_up(int fd, const struct nic *nic)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, nic->name);
	ifr.ifr_flags = nic_flags(fd, nic);
	if (ifr.ifr_flags & IFF_UP)
		return;
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
		bail("%s: cannot bring the link up: %s", nic->name,
		     strerror(errno));
}

static long long counter(const struct nic *nic, const char *name)
{
	char path[96 + IFNAMSIZ];
	long long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/class/net/%s/statistics/%s",
		 nic->name, name);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fscanf(f, "%lld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

static void read_counters(const struct nic *src, const struct nic *dst,
			  long long *tx, long long *rx)
{
	size_t i;

	for (i = 0; i < N_TX; i++)
		tx[i] = counter(src, tx_counters[i]);
	for (i = 0; i < N_RX; i++)
		rx[i] = counter(dst, rx_counters[i]);
}

/* The packet counts, and every other counter that moved. */
static void show_counters(const struct nic *src, const struct nic *dst,
			  const long long *tx0, const long long *rx0)
{
	long long tx[N_TX], rx[N_RX];
	char line[512];
	size_t i, n;

	read_counters(src, dst, tx, rx);
	n = snprintf(line, sizeof(line), "  driver counters: %s", src->name);
	for (i = 0; i < N_TX && n < sizeof(line); i++)
		if (!i || tx[i] != tx0[i])
			n += snprintf(line + n, sizeof(line) - n, " %s +%lld",
				      tx_counters[i], tx[i] - tx0[i]);
	if (n < sizeof(line))
		n += snprintf(line + n, sizeof(line) - n, ", %s", dst->name);
	for (i = 0; i < N_RX && n < sizeof(line); i++)
		if (!i || rx[i] != rx0[i])
			n += snprintf(line + n, sizeof(line) - n, " %s +%lld",
				      rx_counters[i], rx[i] - rx0[i]);
	diag("%s", line);
}

/* Whether /sys/class/net/NAME/ATTR reads want (plus a newline). */
static bool sysfs_is(const struct nic *nic, const char *attr,
		     const char *want)
{
	char path[64 + IFNAMSIZ], buf[32] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/sys/class/net/%s/%s", nic->name, attr);
	f = fopen(path, "r");
	if (!f)
		return false;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = 0;
	fclose(f);
	buf[strcspn(buf, "\n")] = 0;
	return !strcmp(buf, want);
}

/*
 * Carrier on and operational state "up": link watch has seen the carrier
 * and given the device its real qdisc (until then frames vanish into the
 * noop one). IFF_RUNNING would not do: it is also set while the state is
 * still "unknown", right after the open.
 */
static bool link_ready(const struct nic *nic)
{
	return sysfs_is(nic, "carrier", "1") &&
	       sysfs_is(nic, "operstate", "up");
}

static void wait_carrier(const struct nic *a, const struct nic *b)
{
	double start = now_sec();

	for (;;) {
		bool ca = link_ready(a), cb = link_ready(b);

		if (ca && cb)
			break;
		if (now_sec() - start > LINK_TIMEOUT_MS / 1000.0)
			bail("%s: no carrier or not operationally up after %d s",
			     ca ? b->name : a->name, LINK_TIMEOUT_MS / 1000);
		usleep(20000);
	}
	diag("links up after %.2f s", now_sec() - start);
}

static void mac_str(const unsigned char *m, char *buf, size_t size)
{
	snprintf(buf, size, "%02x:%02x:%02x:%02x:%02x:%02x",
		 m[0], m[1], m[2], m[3], m[4], m[5]);
}

static int packet_socket(const struct nic *nic, int proto)
{
	struct sockaddr_ll sll;
	int fd;

	fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(proto));
	if (fd < 0)
		bail("AF_PACKET socket: %s", strerror(errno));
	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(proto);
	sll.sll_ifindex = nic->ifindex;
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0)
		bail("binding a packet socket to %s: %s", nic->name,
		     strerror(errno));
	return fd;
}

static void describe_corrupt(const unsigned char *got, size_t got_len,
			     const unsigned char *want, size_t want_len,
			     uint32_t seq)
{
	size_t i, n = got_len < want_len ? got_len : want_len;

	for (i = 0; i < n && got[i] == want[i]; i++)
		;
	if (i < n)
		diag("  corrupt: seq %u, %zu bytes (expected %zu), first difference at byte %zu: 0x%02x, expected 0x%02x",
		     seq, got_len, want_len, i, got[i], want[i]);
	else
		diag("  corrupt: seq %u, %zu bytes, expected %zu (same prefix)",
		     seq, got_len, want_len);
}

struct receiver {
	int fd;
	const struct nic *src, *dst;
	int dir;
	unsigned char *seen;		/* per sequence number: SEEN_* */
	struct dir_stats *st;
	unsigned long reported_corrupt, reported_dup, reported_stale;
};

/* Checks one received frame against the one that was sent. */
static void check_frame(struct receiver *rx, const unsigned char *f,
			size_t len)
{
	unsigned char want[FRAME_MAX];
	size_t want_len;
	uint32_t seq = 0;
	bool crc_ok, ours;

	crc_ok = len >= OFF_PAYLOAD + CRC_LEN && len <= FRAME_MAX &&
		 get_be32(f + len - CRC_LEN) == crc32(f, len - CRC_LEN);
	if (len >= OFF_PAYLOAD)
		seq = get_be32(f + OFF_SEQ);
	ours = len >= OFF_PAYLOAD && get_be32(f + OFF_MAGIC) == MAGIC &&
	       get_be32(f + OFF_RUN) == run_id && f[OFF_DIR] == rx->dir;

	if (crc_ok && !ours && get_be32(f + OFF_MAGIC) == MAGIC) {
		rx->st->stale++;
		if (rx->reported_stale++ < MAX_DETAILS)
			diag("  stale: a valid frame of run 0x%08x direction %u seq %u (this is run 0x%08x direction %d)",
			     get_be32(f + OFF_RUN), f[OFF_DIR], seq, run_id,
			     rx->dir);
		return;
	}
	if (!ours || seq >= count) {
		rx->st->corrupt++;
		if (rx->reported_corrupt++ < MAX_DETAILS)
			diag("  corrupt: %zu-byte frame with a bad header (magic 0x%08x, run 0x%08x, direction %u, seq %u)",
			     len, len >= OFF_PAYLOAD ? get_be32(f + OFF_MAGIC) : 0,
			     len >= OFF_PAYLOAD ? get_be32(f + OFF_RUN) : 0,
			     len >= OFF_PAYLOAD ? f[OFF_DIR] : 0, seq);
		return;
	}
	want_len = build_frame(want, rx->src, rx->dst, rx->dir, seq);
	if (len != want_len || memcmp(f, want, len)) {
		rx->st->corrupt++;
		if (rx->seen[seq] == SEEN_NONE)
			rx->seen[seq] = SEEN_CORRUPT;
		if (rx->reported_corrupt++ < MAX_DETAILS)
			describe_corrupt(f, len, want, want_len, seq);
		return;
	}
	if (rx->seen[seq] == SEEN_INTACT) {
		rx->st->duplicate++;
		if (rx->reported_dup++ < MAX_DETAILS)
			diag("  duplicate: seq %u arrived again", seq);
		return;
	}
	rx->seen[seq] = SEEN_INTACT;
	rx->st->intact++;
	rx->st->bytes += len;
}

/*
 * Receives what is there, waiting up to timeout_ms for the first frame;
 * returns the number of frames taken (0: the wait timed out).
 */
static unsigned long receive(struct receiver *rx, int timeout_ms)
{
	unsigned char buf[2048];
	struct sockaddr_ll from;
	struct pollfd pfd = { .fd = rx->fd, .events = POLLIN };
	unsigned long n = 0;
	socklen_t fromlen;
	ssize_t len;
	int flags = 0;

	if (poll(&pfd, 1, timeout_ms) < 0 && errno != EINTR)
		bail("poll: %s", strerror(errno));
	if (!(pfd.revents & POLLIN))
		return 0;
	for (;;) {
		fromlen = sizeof(from);
		len = recvfrom(rx->fd, buf, sizeof(buf), flags | MSG_TRUNC,
			       (struct sockaddr *)&from, &fromlen);
		if (len < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return n;
			if (errno == EINTR)
				continue;
			bail("recvfrom on %s: %s", rx->dst->name,
			     strerror(errno));
		}
		flags = MSG_DONTWAIT;
		if (from.sll_pkttype != PACKET_HOST)
			continue;
		n++;
		/* A frame longer than the buffer still fails the check. */
		check_frame(rx, buf, (size_t)len);
	}
}

/*
 * Room for more than WINDOW full-size frames (each takes about 3 KiB of
 * buffer): a lost frame should be the NIC's doing, not the socket's.
 */
static void grow_rcvbuf(int fd)
{
	int size = RCVBUF;

	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)))
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
}

/* Frames the socket dropped since the last call (its queue was full). */
static unsigned long socket_drops(int fd)
{
	struct tpacket_stats ts;
	socklen_t len = sizeof(ts);

	if (getsockopt(fd, SOL_PACKET, PACKET_STATISTICS, &ts, &len))
		return 0;
	return ts.tp_drops;
}

/* Empties the socket's queue before the run: nothing there is counted. */
static void discard_queued(int fd)
{
	unsigned char buf[2048];

	while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) >= 0)
		;
}

static bool run_direction(int num, const struct nic *src,
			  const struct nic *dst, int dir)
{
	unsigned char frame[FRAME_MAX];
	struct dir_stats st = { 0 };
	struct receiver rx = {
		.src = src, .dst = dst, .dir = dir, .st = &st,
	};
	struct sockaddr_ll to;
	long long tx0[N_TX], rx0[N_RX];
	unsigned long given_up = 0, lost, need, shown = 0, i;
	double start;
	int tx;
	bool ok;

	rx.seen = calloc(count, 1);
	if (!rx.seen)
		bail("out of memory");
	tx = packet_socket(src, 0);	/* protocol 0: sends only */
	rx.fd = packet_socket(dst, ETHERTYPE_TEST);
	grow_rcvbuf(rx.fd);
	discard_queued(rx.fd);
	socket_drops(rx.fd);

	memset(&to, 0, sizeof(to));
	to.sll_family = AF_PACKET;
	to.sll_ifindex = src->ifindex;
	to.sll_halen = ETH_ALEN;
	memcpy(to.sll_addr, dst->mac, ETH_ALEN);

	read_counters(src, dst, tx0, rx0);
	start = now_sec();
	while (st.sent < count) {
		/* Frames given up on may still come: never below zero. */
		unsigned long done = st.intact + st.corrupt + given_up;
		unsigned long in_flight = st.sent > done ? st.sent - done : 0;
		size_t len;

		if (in_flight >= window) {
			if (!receive(&rx, IDLE_TIMEOUT_MS))
				given_up += in_flight;
			continue;
		}
		len = build_frame(frame, src, dst, dir, st.sent);
		if (sendto(tx, frame, len, 0, (struct sockaddr *)&to,
			   sizeof(to)) == (ssize_t)len) {
			st.sent++;
			receive(&rx, 0);
			continue;
		}
		if (errno != ENOBUFS && errno != EAGAIN && errno != EINTR)
			bail("sending on %s: %s", src->name, strerror(errno));
		/* The queue is full: let the receiver catch up, resend. */
		st.resent++;
		receive(&rx, 10);
	}
	while (st.intact + st.corrupt < count &&
	       receive(&rx, DRAIN_TIMEOUT_MS))
		;
	st.seconds = now_sec() - start;
	st.sock_drops = socket_drops(rx.fd);
	close(tx);
	close(rx.fd);

	/* Lost: nothing arrived with this sequence number, not even garbage. */
	for (i = 0, lost = 0; i < count; i++) {
		if (rx.seen[i] != SEEN_NONE)
			continue;
		lost++;
		if (shown++ < MAX_DETAILS)
			diag("  lost: seq %lu (%zu bytes)", i,
			     frame_len(dir, i));
	}
	free(rx.seen);
	show_counters(src, dst, tx0, rx0);
	need = (count * permille + 999) / 1000;
	ok = st.intact >= need && !st.corrupt && !st.duplicate && !st.stale;

	diag("%s -> %s: sent %lu, received %lu intact (%.1f%%, need %lu), lost %lu (socket overflows %lu), corrupt %lu, duplicate %lu, stale %lu, resent %lu after a full queue; %.2f s, %.1f MB/s",
	     src->name, dst->name, st.sent, st.intact,
	     100.0 * st.intact / count, need, lost, st.sock_drops, st.corrupt,
	     st.duplicate, st.stale, st.resent, st.seconds,
	     st.seconds > 0 ? st.bytes / st.seconds / 1e6 : 0.0);
	printf("%s %d %s -> %s\n", ok ? "ok" : "not ok", num, src->name,
	       dst->name);
	fflush(stdout);
	return ok;
}

static void usage_exit(const char *prog)
{
	fprintf(stderr,
		"usage: %s [-n COUNT] [-p PERMILLE] [-s SEED] [-w WINDOW] IFA IFB\n",
		prog);
	exit(2);
}

static unsigned long number(const char *s, unsigned long min,
			    unsigned long max, const char *prog)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno || !*s || *end || v < min || v > max)
		usage_exit(prog);
	return v;
}

int main(int argc, char **argv)
{
	struct nic a = { 0 }, b = { 0 };
	char ma[18], mb[18];
	bool seeded = false, ok;
	int opt, fd;

	while ((opt = getopt(argc, argv, "n:p:s:w:")) != -1) {
		switch (opt) {
		case 'n':
			count = number(optarg, 1, 100000000, argv[0]);
			break;
		case 'p':
			permille = number(optarg, 0, 1000, argv[0]);
			break;
		case 's':
			run_id = number(optarg, 0, UINT32_MAX, argv[0]);
			seeded = true;
			break;
		case 'w':
			window = number(optarg, 1, 4096, argv[0]);
			break;
		default:
			usage_exit(argv[0]);
		}
	}
	if (argc - optind != 2)
		usage_exit(argv[0]);
	a.name = argv[optind];
	b.name = argv[optind + 1];

	printf("TAP version 13\n1..2\n");
	fflush(stdout);
	if (!strcmp(a.name, b.name))
		bail("IFA and IFB are the same interface");
	if (!seeded && getrandom(&run_id, sizeof(run_id), 0) != sizeof(run_id))
		run_id = (uint32_t)time(NULL) ^ (uint32_t)getpid() << 16;
	crc_init();

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		bail("socket for interface ioctls: %s", strerror(errno));
	nic_lookup(fd, &a);
	nic_lookup(fd, &b);
	if (!memcmp(a.mac, b.mac, ETH_ALEN))
		bail("%s and %s have the same MAC address", a.name, b.name);
	mac_str(a.mac, ma, sizeof(ma));
	mac_str(b.mac, mb, sizeof(mb));
	diag("%s (%s) <-> %s (%s): %lu frames each way, %d..%d bytes, ethertype 0x%04x, run 0x%08x, window %lu",
	     a.name, ma, b.name, mb, count, FRAME_MIN, FRAME_MAX,
	     ETHERTYPE_TEST, run_id, window);
	nic_up(fd, &a);
	nic_up(fd, &b);
	wait_carrier(&a, &b);
	close(fd);

	ok = run_direction(1, &a, &b, 0);
	ok = run_direction(2, &b, &a, 1) && ok;
	diag("netpair: %s", ok ? "PASS" : "FAIL");
	return ok ? 0 : 1;
}
