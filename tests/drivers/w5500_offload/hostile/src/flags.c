/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * Class: every flag. send()/recv() flags: MSG_PEEK, MSG_DONTWAIT, MSG_WAITALL, MSG_TRUNC act
 * as POSIX/Linux say; every other bit is ignored (docs/SEMANTICS.md, "Hostile input": as
 * Zephyr's own sockets). fcntl(): F_GETFL/F_SETFL with O_NONBLOCK (other status bits are
 * accepted and not kept); other commands EOPNOTSUPP (as Zephyr's own sockets). ioctl():
 * FIONBIO, FIONREAD; others EOPNOTSUPP. shutdown(): SHUT_RD/WR/RDWR; other values EINVAL.
 */

#include "hostile.h"

/* Bits no flag of ours uses: MSG_OOB, MSG_DONTROUTE, MSG_CTRUNC, MSG_EOR, MSG_NOSIGNAL
 * (Linux numbers) and high bits.
 */
static const int ignored[] = { 0x01, 0x04, 0x08, 0x80, 0x4000, 0x10000, 0x40000000 };

ZTEST(hostile_flags, test_recv_flags_on_tcp)
{
	char buf[64];
	static uint8_t big[3000];
	int t = tcp_connected(ECHO_IP, 7, 3000);

	zassert_errno(zsock_recv(t, buf, sizeof(buf), ZSOCK_MSG_DONTWAIT), EAGAIN);
	zassert_equal(zsock_send(t, "peekaboo", 8, 0), 8);
	zassert_true(wait_for(t, ZSOCK_POLLIN, 3000) & ZSOCK_POLLIN);
	/* The echo may come in more than one piece: peek what is there, twice the same. */
	zassert_equal(zsock_recv(t, buf, 4, ZSOCK_MSG_PEEK), 4);
	zassert_mem_equal(buf, "peek", 4);
	zassert_equal(zsock_recv(t, buf, 4, ZSOCK_MSG_PEEK | ZSOCK_MSG_DONTWAIT), 4);
	zassert_mem_equal(buf, "peek", 4);
	zassert_equal(zsock_recv(t, buf, 8, ZSOCK_MSG_WAITALL), 8);
	zassert_mem_equal(buf, "peekaboo", 8);
	/* MSG_WAITALL over several segments (MSS 1460). */
	for (size_t i = 0; i < sizeof(big); i++) {
		big[i] = (uint8_t)i;
	}
	zassert_equal(zsock_send(t, big, sizeof(big), 0), sizeof(big));
	memset(big, 0, sizeof(big));
	zassert_equal(zsock_recv(t, big, sizeof(big), ZSOCK_MSG_WAITALL), sizeof(big));
	for (size_t i = 0; i < sizeof(big); i++) {
		zassert_equal(big[i], (uint8_t)i);
	}
	/* MSG_TRUNC changes nothing on a stream; the ignored bits neither. */
	zassert_equal(zsock_send(t, "ab", 2, 0), 2);
	zassert_equal(zsock_recv(t, buf, 2, ZSOCK_MSG_WAITALL | ZSOCK_MSG_TRUNC), 2);
	for (size_t i = 0; i < ARRAY_SIZE(ignored); i++) {
		zassert_equal(zsock_send(t, "xy", 2, ignored[i]), 2, "flag 0x%x", ignored[i]);
		zassert_equal(zsock_recv(t, buf, 2, ignored[i] | ZSOCK_MSG_WAITALL), 2,
			      "flag 0x%x: %d", ignored[i], errno);
		zassert_mem_equal(buf, "xy", 2);
		zassert_errno(zsock_recv(t, buf, 2, ignored[i] | ZSOCK_MSG_DONTWAIT), EAGAIN);
	}
	zassert_ok(zsock_close(t));
	hostile_all_back();
}

ZTEST(hostile_flags, test_recv_flags_on_udp)
{
	w5_sockaddr_in_t echo;
	char buf[64];
	int u = udp_bound(0, 3000);

	addr_of(&echo, ECHO_IP, 7);
	zassert_errno(zsock_recv(u, buf, sizeof(buf), ZSOCK_MSG_DONTWAIT), EAGAIN);
	zassert_equal(zsock_sendto(u, "datagram", 8, ZSOCK_MSG_DONTWAIT, (w5_sockaddr_t *)&echo,
				   sizeof(echo)),
		      8);
	zassert_true(wait_for(u, ZSOCK_POLLIN, 3000) & ZSOCK_POLLIN);
	zassert_equal(zsock_recv(u, buf, 4, ZSOCK_MSG_PEEK), 4);
	zassert_equal(zsock_recv(u, buf, 4, ZSOCK_MSG_PEEK | ZSOCK_MSG_TRUNC), 8);
	zassert_equal(zsock_recv(u, buf, sizeof(buf), ZSOCK_MSG_WAITALL), 8,
		      "WAITALL does not join datagrams");
	zassert_mem_equal(buf, "datagram", 8);
	for (size_t i = 0; i < ARRAY_SIZE(ignored); i++) {
		zassert_equal(
			zsock_sendto(u, "z", 1, ignored[i], (w5_sockaddr_t *)&echo, sizeof(echo)),
			1, "flag 0x%x", ignored[i]);
		zassert_equal(zsock_recv(u, buf, sizeof(buf), ignored[i]), 1, "flag 0x%x",
			      ignored[i]);
	}
	zassert_ok(zsock_close(u));
	hostile_all_back();
}

/* fcntl(): only O_NONBLOCK is a status flag a socket keeps; other commands are not
 * supported on this socket (EOPNOTSUPP, as Zephyr's own sockets).
 */
ZTEST(hostile_flags, test_fcntl_commands_and_status_flags)
{
	const int other_cmd[] = { 0 /* F_DUPFD */, 1 /* F_GETFD */, 2 /* F_SETFD */, 99 };
	char buf[4];
	int u = udp_bound(0, 0);

	zassert_equal(zsock_fcntl(u, W5_F_GETFL, 0), 0);
	zassert_ok(zsock_fcntl(u, W5_F_SETFL, W5_O_NONBLOCK | 0x0400 | 0x0008));
	zassert_equal(zsock_fcntl(u, W5_F_GETFL, 0), W5_O_NONBLOCK);
	zassert_errno(zsock_recv(u, buf, sizeof(buf), 0), EAGAIN);
	zassert_ok(zsock_fcntl(u, W5_F_SETFL, 0x0400));
	zassert_equal(zsock_fcntl(u, W5_F_GETFL, 0), 0);
	for (size_t i = 0; i < ARRAY_SIZE(other_cmd); i++) {
		zassert_errno(zsock_fcntl(u, other_cmd[i], 0), EOPNOTSUPP);
	}
	zassert_ok(zsock_close(u));
	hostile_all_back();
}

/* ioctl(): FIONBIO and FIONREAD; unknown requests EOPNOTSUPP. */
ZTEST(hostile_flags, test_ioctl_requests)
{
	const unsigned long other[] = { 0x5401 /* TCGETS */, 0x8912 /* SIOCGIFCONF */, 12345 };
	int u = udp_bound(0, 0);
	int v = 0;

	for (size_t i = 0; i < ARRAY_SIZE(other); i++) {
		zassert_errno(io_ctl(u, other[i], &v), EOPNOTSUPP);
	}
	zassert_ok(io_ctl(u, ZFD_IOCTL_FIONREAD, &v));
	zassert_equal(v, 0);
	zassert_ok(zsock_close(u));
	hostile_all_back();
}

/* shutdown(): SHUT_RD, SHUT_WR, SHUT_RDWR on a connection; anything else EINVAL (POSIX);
 * a TCP socket that is not connected ENOTCONN. After SHUT_WR send() is EPIPE, after SHUT_RD
 * recv() returns 0.
 */
ZTEST(hostile_flags, test_shutdown_how)
{
	const int bad[] = { -1, 3, 4, 0x100 };
	char buf[4];
	int t = tcp_connected(ECHO_IP, 7, 1000);
	int n = tcp_socket();

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		zassert_errno(zsock_shutdown(t, bad[i]), EINVAL);
	}
	zassert_errno(zsock_shutdown(n, W5_SHUT_RDWR), ENOTCONN);
	zassert_ok(zsock_shutdown(t, W5_SHUT_RD));
	zassert_equal(zsock_recv(t, buf, sizeof(buf), 0), 0);
	zassert_ok(zsock_shutdown(t, W5_SHUT_WR));
	zassert_errno(zsock_send(t, "x", 1, 0), EPIPE);
	zassert_ok(zsock_shutdown(t, W5_SHUT_RDWR));
	zassert_ok(zsock_close(t));
	zassert_ok(zsock_close(n));
	hostile_all_back();
}

ZTEST_SUITE(hostile_flags, NULL, hostile_setup, NULL, hostile_after, NULL);
