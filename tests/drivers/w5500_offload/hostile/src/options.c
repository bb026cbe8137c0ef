/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * Class: every socket option and level, with short, long and NULL values, both directions.
 * The documented order of checks (docs/SEMANTICS.md, "Hostile input"): an option the driver
 * does not know is ENOPROTOOPT whatever its value (as Zephyr's own sockets); then a length
 * shorter than the value is EINVAL (a longer one is accepted, as Linux); then a NULL value
 * or length pointer is EFAULT; then the socket type (TCP_NODELAY and SO_KEEPALIVE are TCP
 * options: ENOPROTOOPT on UDP; memberships are UDP's: EINVAL on TCP); then the value itself
 * (timeouts: EDOM for a negative or non-normalised timeval; a huge one is the longest the
 * driver holds). Every settable option reads back.
 */

#include "hostile.h"

enum kind {
	INT_OPT,   /* int, set and get */
	TV_OPT,    /* struct zsock_timeval, set and get */
	MREQ_OPT,  /* struct ip_mreq, set only (get: ENOPROTOOPT, as Linux) */
	READ_ONLY, /* int, get only (set: ENOPROTOOPT) */
};

struct known {
	int level;
	int name;
	enum kind kind;
	bool tcp; /* applies to TCP sockets */
	bool udp; /* applies to UDP sockets */
	const char *label;
};

static const struct known known[] = {
	{ W5_SOL_SOCKET, W5_SO_REUSEADDR, INT_OPT, true, true, "SO_REUSEADDR" },
	{ W5_SOL_SOCKET, W5_SO_KEEPALIVE, INT_OPT, true, false, "SO_KEEPALIVE" },
	{ W5_SOL_SOCKET, W5_SO_BROADCAST, INT_OPT, true, true, "SO_BROADCAST" },
	{ W5_SOL_SOCKET, W5_SO_RCVTIMEO, TV_OPT, true, true, "SO_RCVTIMEO" },
	{ W5_SOL_SOCKET, W5_SO_SNDTIMEO, TV_OPT, true, true, "SO_SNDTIMEO" },
	{ W5_IPPROTO_TCP, W5_TCP_NODELAY, INT_OPT, true, false, "TCP_NODELAY" },
	{ W5_IPPROTO_IP, W5_IP_ADD_MEMBERSHIP, MREQ_OPT, false, true, "IP_ADD_MEMBERSHIP" },
	{ W5_IPPROTO_IP, W5_IP_DROP_MEMBERSHIP, MREQ_OPT, false, true, "IP_DROP_MEMBERSHIP" },
	{ W5_SOL_SOCKET, W5_SO_ERROR, READ_ONLY, true, true, "SO_ERROR" },
	{ W5_SOL_SOCKET, W5_SO_TYPE, READ_ONLY, true, true, "SO_TYPE" },
	{ W5_SOL_SOCKET, W5_SO_PROTOCOL, READ_ONLY, true, true, "SO_PROTOCOL" },
	{ W5_SOL_SOCKET, W5_SO_DOMAIN, READ_ONLY, true, true, "SO_DOMAIN" },
};

/* Options and levels the driver does not know (Linux numbers): SO_DEBUG, SO_DONTROUTE,
 * SO_SNDBUF, SO_RCVBUF, SO_OOBINLINE, SO_LINGER, SO_REUSEPORT, SO_RCVLOWAT, SO_SNDLOWAT,
 * SO_BINDTODEVICE; TCP_MAXSEG, TCP_KEEPIDLE/INTVL/CNT; IP_TOS, IP_TTL, IP_MULTICAST_IF/TTL/
 * LOOP; the UDP and IPv6 levels; made-up ones.
 */
static const struct {
	int level;
	int name;
} unknown[] = {
	{ W5_SOL_SOCKET, 1 },
	{ W5_SOL_SOCKET, 5 },
	{ W5_SOL_SOCKET, 7 },
	{ W5_SOL_SOCKET, 8 },
	{ W5_SOL_SOCKET, 10 },
	{ W5_SOL_SOCKET, 13 },
	{ W5_SOL_SOCKET, 15 },
	{ W5_SOL_SOCKET, 18 },
	{ W5_SOL_SOCKET, 19 },
	{ W5_SOL_SOCKET, 25 },
	{ W5_SOL_SOCKET, 9999 },
	{ W5_SOL_SOCKET, -1 },
	{ W5_IPPROTO_TCP, 2 },
	{ W5_IPPROTO_TCP, 4 },
	{ W5_IPPROTO_TCP, 5 },
	{ W5_IPPROTO_TCP, 6 },
	{ W5_IPPROTO_TCP, 9999 },
	{ W5_IPPROTO_IP, 1 },
	{ W5_IPPROTO_IP, 2 },
	{ W5_IPPROTO_IP, 32 },
	{ W5_IPPROTO_IP, 33 },
	{ W5_IPPROTO_IP, 34 },
	{ W5_IPPROTO_IP, 9999 },
	{ W5_IPPROTO_UDP, 1 },
	{ 41, 1 },
	{ 255, 1 },
	{ 0x7fff, 1 },
	{ -1, 1 },
};

/* Room for the largest value plus slack, 8-aligned. */
static uint8_t val[64] __aligned(8);

static size_t value_size(enum kind k)
{
	switch (k) {
	case TV_OPT:
		return sizeof(struct zsock_timeval);
	case MREQ_OPT:
		return 8; /* struct ip_mreq */
	default:
		return sizeof(int);
	}
}

/* A valid value of the option's kind in val[] (and garbage after it). */
static void valid_value(const struct known *o)
{
	struct zsock_timeval tv = { .tv_sec = 2, .tv_usec = 0 };
	int one = 1;
	const uint8_t group[8] = { 239, 1, 2, 3, 0, 0, 0, 0 };

	memset(val, 0xa5, sizeof(val));
	switch (o->kind) {
	case TV_OPT:
		memcpy(val, &tv, sizeof(tv));
		break;
	case MREQ_OPT:
		memcpy(val, group, sizeof(group));
		break;
	default:
		memcpy(val, &one, sizeof(one));
		break;
	}
}

static void check_set(int fd, const struct known *o, bool applies)
{
	size_t size = value_size(o->kind);

	valid_value(o);
	if (o->kind == READ_ONLY) {
		zassert_errno(zsock_setsockopt(fd, o->level, o->name, val, size), ENOPROTOOPT);
		zassert_errno(zsock_setsockopt(fd, o->level, o->name, NULL, 0), ENOPROTOOPT);
		return;
	}
	zassert_errno(zsock_setsockopt(fd, o->level, o->name, val, size - 1), EINVAL);
	zassert_errno(zsock_setsockopt(fd, o->level, o->name, val, 0), EINVAL);
	zassert_errno(zsock_setsockopt(fd, o->level, o->name, NULL, size), EFAULT);
	if (!applies) {
		zassert_errno(zsock_setsockopt(fd, o->level, o->name, val, size),
			      o->kind == MREQ_OPT ? EINVAL : ENOPROTOOPT);
		return;
	}
	if (o->name == W5_IP_DROP_MEMBERSHIP && o->level == W5_IPPROTO_IP) {
		/* Not a member: EADDRNOTAVAIL (as Linux); join, then leave with a long value. */
		zassert_errno(zsock_setsockopt(fd, o->level, o->name, val, size), EADDRNOTAVAIL);
		zassert_ok(zsock_setsockopt(fd, W5_IPPROTO_IP, W5_IP_ADD_MEMBERSHIP, val, size));
	}
	zassert_ok(zsock_setsockopt(fd, o->level, o->name, val, size + 4), "%s long: %d", o->label,
		   errno);
	if (o->name == W5_IP_ADD_MEMBERSHIP && o->level == W5_IPPROTO_IP) {
		zassert_ok(zsock_setsockopt(fd, W5_IPPROTO_IP, W5_IP_DROP_MEMBERSHIP, val, size));
	}
}

static void check_get(int fd, const struct known *o, bool applies)
{
	size_t size = value_size(o->kind);
	w5_socklen_t len;

	if (o->kind == MREQ_OPT) {
		len = sizeof(val);
		zassert_errno(zsock_getsockopt(fd, o->level, o->name, val, &len), ENOPROTOOPT);
		return;
	}
	zassert_errno(zsock_getsockopt(fd, o->level, o->name, val, NULL), EFAULT);
	len = size - 1;
	zassert_errno(zsock_getsockopt(fd, o->level, o->name, val, &len), EINVAL);
	len = 0;
	zassert_errno(zsock_getsockopt(fd, o->level, o->name, val, &len), EINVAL);
	len = size;
	zassert_errno(zsock_getsockopt(fd, o->level, o->name, NULL, &len), EFAULT);
	len = sizeof(val);
	if (!applies) {
		zassert_errno(zsock_getsockopt(fd, o->level, o->name, val, &len), ENOPROTOOPT);
		return;
	}
	memset(val, 0xa5, sizeof(val));
	zassert_ok(zsock_getsockopt(fd, o->level, o->name, val, &len), "%s: %d", o->label, errno);
	zassert_equal(len, size, "%s: length %u", o->label, (unsigned int)len);
	zassert_equal(val[size], 0xa5, "%s: nothing written beyond the value", o->label);
}

static void every_option(int fd, bool is_tcp)
{
	int v = 1;
	w5_socklen_t len;

	for (size_t i = 0; i < ARRAY_SIZE(known); i++) {
		bool applies = is_tcp ? known[i].tcp : known[i].udp;

		check_set(fd, &known[i], applies);
		check_get(fd, &known[i], applies);
	}
	for (size_t i = 0; i < ARRAY_SIZE(unknown); i++) {
		int lv = unknown[i].level, nm = unknown[i].name;

		zassert_errno(zsock_setsockopt(fd, lv, nm, &v, sizeof(v)), ENOPROTOOPT);
		zassert_errno(zsock_setsockopt(fd, lv, nm, NULL, sizeof(v)), ENOPROTOOPT);
		zassert_errno(zsock_setsockopt(fd, lv, nm, &v, 1), ENOPROTOOPT);
		len = sizeof(v);
		zassert_errno(zsock_getsockopt(fd, lv, nm, &v, &len), ENOPROTOOPT);
		zassert_errno(zsock_getsockopt(fd, lv, nm, NULL, NULL), ENOPROTOOPT);
	}
}

ZTEST(hostile_options, test_every_option_and_level_on_tcp)
{
	int t = tcp_socket();

	every_option(t, true);
	zassert_ok(zsock_close(t));
	t = tcp_connected(ECHO_IP, 7, 1000);
	every_option(t, true);
	zassert_ok(zsock_close(t));
	hostile_all_back();
}

ZTEST(hostile_options, test_every_option_and_level_on_udp)
{
	int u = udp_socket();

	every_option(u, false);
	zassert_ok(zsock_close(u));
	u = udp_bound(0, 100);
	every_option(u, false);
	zassert_ok(zsock_close(u));
	hostile_all_back();
}

static int get_int(int fd, int level, int name)
{
	int v = -7;
	w5_socklen_t len = sizeof(v);

	zassert_ok(zsock_getsockopt(fd, level, name, &v, &len), "getsockopt %d/%d: %d", level, name,
		   errno);
	return v;
}

/* Every settable flag reads back what was set: SO_REUSEADDR, SO_BROADCAST, SO_KEEPALIVE.
 * TCP_NODELAY reads 1 whatever was set: the chip sends each SEND at once (it has no
 * Nagle), which is what the option asks for. Before, these could be set but not read.
 */
ZTEST(hostile_options, test_flags_read_back)
{
	const int set[] = { 1, 0, 42, -1, 0 };
	int t = tcp_socket();
	int u = udp_socket();

	for (size_t i = 0; i < ARRAY_SIZE(set); i++) {
		int want = set[i] != 0;

		zassert_ok(
			zsock_setsockopt(t, W5_SOL_SOCKET, W5_SO_REUSEADDR, &set[i], sizeof(int)));
		zassert_ok(
			zsock_setsockopt(u, W5_SOL_SOCKET, W5_SO_REUSEADDR, &set[i], sizeof(int)));
		zassert_ok(
			zsock_setsockopt(u, W5_SOL_SOCKET, W5_SO_BROADCAST, &set[i], sizeof(int)));
		zassert_ok(
			zsock_setsockopt(t, W5_SOL_SOCKET, W5_SO_KEEPALIVE, &set[i], sizeof(int)));
		zassert_ok(
			zsock_setsockopt(t, W5_IPPROTO_TCP, W5_TCP_NODELAY, &set[i], sizeof(int)));
		zassert_equal(get_int(t, W5_SOL_SOCKET, W5_SO_REUSEADDR), want);
		zassert_equal(get_int(u, W5_SOL_SOCKET, W5_SO_REUSEADDR), want);
		zassert_equal(get_int(u, W5_SOL_SOCKET, W5_SO_BROADCAST), want);
		zassert_equal(get_int(t, W5_SOL_SOCKET, W5_SO_KEEPALIVE), want);
		zassert_equal(get_int(t, W5_IPPROTO_TCP, W5_TCP_NODELAY), 1);
	}
	zassert_equal(get_int(t, W5_SOL_SOCKET, W5_SO_TYPE), W5_SOCK_STREAM);
	zassert_equal(get_int(u, W5_SOL_SOCKET, W5_SO_TYPE), W5_SOCK_DGRAM);
	zassert_equal(get_int(t, W5_SOL_SOCKET, W5_SO_PROTOCOL), W5_IPPROTO_TCP);
	zassert_equal(get_int(u, W5_SOL_SOCKET, W5_SO_PROTOCOL), W5_IPPROTO_UDP);
	zassert_equal(get_int(u, W5_SOL_SOCKET, W5_SO_DOMAIN), W5_AF_INET);
	zassert_equal(get_int(u, W5_SOL_SOCKET, W5_SO_ERROR), 0);
	zassert_ok(zsock_close(t));
	zassert_ok(zsock_close(u));
	hostile_all_back();
}

/* The largest tv_sec a time_t holds (signed). */
#define TIME_T_MAX ((time_t)((((uint64_t)1) << (sizeof(time_t) * 8 - 1)) - 1))

struct tv_case {
	time_t sec;
	long usec;
	int err;        /* 0: accepted */
	time_t got_sec; /* read back */
	long got_usec;
};

/* SO_RCVTIMEO/SO_SNDTIMEO values: rounded up to ms; a timeout longer than the driver holds
 * (2^32 - 1 ms, 49.7 days) is clamped to it and reads back as {4294967, 295000}; it used to
 * be multiplied by 1000 before the clamp, so {18446744073709552, 0} became 384 ms and
 * {INT64_MAX, 999999} "forever" ({0, 0}). Negative or non-normalised values are EDOM (as
 * Linux) and leave the old value.
 */
ZTEST(hostile_options, test_timeouts_clamp_and_read_back)
{
	const struct tv_case cases[] = {
		{ 0, 0, 0, 0, 0 },
		{ 0, 1, 0, 0, 1000 },
		{ 1, 500000, 0, 1, 500000 },
		{ 4294967, 295000, 0, 4294967, 295000 },
		{ 4294967, 295001, 0, 4294967, 295000 },
		{ 4294968, 0, 0, 4294967, 295000 },
		{ 2147483647, 0, 0, 4294967, 295000 },
		{ TIME_T_MAX, 999999, 0, 4294967, 295000 },
		{ -1, 0, EDOM, 0, 0 },
		{ 0, -1, EDOM, 0, 0 },
		{ 0, 1000000, EDOM, 0, 0 },
	};
	const int opts[] = { W5_SO_RCVTIMEO, W5_SO_SNDTIMEO };
	int u = udp_socket();

	for (size_t o = 0; o < ARRAY_SIZE(opts); o++) {
		struct zsock_timeval prev = { 0 };

		for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
			struct zsock_timeval tv = { .tv_sec = cases[i].sec,
						    .tv_usec = cases[i].usec };
			w5_socklen_t len = sizeof(tv);
			struct zsock_timeval want = { .tv_sec = cases[i].got_sec,
						      .tv_usec = cases[i].got_usec };

			if (cases[i].err != 0) {
				zassert_errno(zsock_setsockopt(u, W5_SOL_SOCKET, opts[o], &tv,
							       sizeof(tv)),
					      cases[i].err);
				want = prev;
			} else {
				zassert_ok(zsock_setsockopt(u, W5_SOL_SOCKET, opts[o], &tv,
							    sizeof(tv)),
					   "case %u: %d", (unsigned int)i, errno);
			}
			memset(&tv, 0x5a, sizeof(tv));
			zassert_ok(zsock_getsockopt(u, W5_SOL_SOCKET, opts[o], &tv, &len));
			zassert_true(tv.tv_sec == want.tv_sec && tv.tv_usec == want.tv_usec,
				     "case %u: read back {%ld, %ld}", (unsigned int)i,
				     (long)tv.tv_sec, (long)tv.tv_usec);
			prev = want;
		}
	}
	/* The finding's own value (2^64 / 1000, rounded up: times 1000 it wrapped to 384 ms),
	 * where time_t holds it.
	 */
	if (sizeof(time_t) >= 8) {
		uint64_t wraps = 18446744073709552ULL;
		struct zsock_timeval tv = { .tv_sec = (time_t)wraps, .tv_usec = 0 };
		w5_socklen_t len = sizeof(tv);

		zassert_ok(zsock_setsockopt(u, W5_SOL_SOCKET, W5_SO_RCVTIMEO, &tv, sizeof(tv)));
		zassert_ok(zsock_getsockopt(u, W5_SOL_SOCKET, W5_SO_RCVTIMEO, &tv, &len));
		zassert_true(tv.tv_sec == 4294967 && tv.tv_usec == 295000);
	}
	zassert_ok(zsock_close(u));
	hostile_all_back();
}

ZTEST_SUITE(hostile_options, NULL, hostile_setup, NULL, hostile_after, NULL);
