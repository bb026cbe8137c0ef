/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * Class: length edges. Data lengths 0, 1, MSS (1460), 1472 (the largest UDP payload the chip
 * sends unfragmented), 1473 and SIZE_MAX on TCP and UDP, both directions; receive buffers
 * shorter than the datagram; address lengths around sizeof(struct sockaddr_in); listen()
 * backlogs from INT_MIN to INT_MAX. docs/SEMANTICS.md, rows 37 and "Hostile input".
 */

#include <limits.h>

#include "hostile.h"

#define PORT 5300

static uint8_t out[UDP_MAX + 8];
static uint8_t in[UDP_MAX + 8];

static void fill(size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++) {
		out[i] = (uint8_t)(seed + i * 13);
	}
}

/* UDP: 0 is EMSGSIZE (the chip sends no empty datagram: SEND transmits what lies between
 * Sn_TX_RD and Sn_TX_WR), 1..1472 are echoed whole, 1473 is EMSGSIZE (no fragmentation),
 * SIZE_MAX is EFAULT (no buffer is that long; Linux says the same).
 */
ZTEST(hostile_lengths, test_udp_datagram_lengths)
{
	const size_t ok[] = { 1, 2, TCP_MSS, UDP_MAX };
	w5_sockaddr_in_t echo;
	int u = udp_bound(0, 3000);

	addr_of(&echo, ECHO_IP, 7);
	zassert_errno(zsock_sendto(u, out, 0, 0, (w5_sockaddr_t *)&echo, sizeof(echo)), EMSGSIZE);
	zassert_errno(zsock_sendto(u, out, UDP_MAX + 1, 0, (w5_sockaddr_t *)&echo, sizeof(echo)),
		      EMSGSIZE);
	zassert_errno(zsock_sendto(u, out, SIZE_MAX, 0, (w5_sockaddr_t *)&echo, sizeof(echo)),
		      EFAULT);
	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		fill(ok[i], (uint8_t)i);
		zassert_equal(zsock_sendto(u, out, ok[i], 0, (w5_sockaddr_t *)&echo, sizeof(echo)),
			      (ssize_t)ok[i]);
		memset(in, 0, sizeof(in));
		zassert_equal(zsock_recv(u, in, sizeof(in), 0), (ssize_t)ok[i], "length %u",
			      (unsigned int)ok[i]);
		zassert_mem_equal(in, out, ok[i]);
	}
	/* Nothing else came back (the refused ones sent nothing). */
	zassert_errno(zsock_recv(u, in, sizeof(in), ZSOCK_MSG_DONTWAIT), EAGAIN);
	zassert_ok(zsock_close(u));
	hostile_all_back();
}

/* A receive buffer shorter than the datagram (POSIX recvfrom): the datagram is truncated to
 * the buffer and its rest discarded, also for a buffer of 0 bytes (returns 0); MSG_TRUNC
 * returns the full length; the next datagram is intact. SIZE_MAX is EFAULT.
 */
ZTEST(hostile_lengths, test_udp_receive_buffer_edges)
{
	w5_sockaddr_in_t echo;
	int u = udp_bound(0, 3000);

	addr_of(&echo, ECHO_IP, 7);
	fill(UDP_MAX, 7);
	zassert_errno(zsock_recv(u, in, SIZE_MAX, ZSOCK_MSG_DONTWAIT), EFAULT);
	zassert_equal(zsock_sendto(u, out, 100, 0, (w5_sockaddr_t *)&echo, sizeof(echo)), 100);
	zassert_true(wait_for(u, ZSOCK_POLLIN, 3000) & ZSOCK_POLLIN);
	zassert_equal(zsock_recv(u, in, 0, 0), 0);
	zassert_errno(zsock_recv(u, in, sizeof(in), ZSOCK_MSG_DONTWAIT), EAGAIN);
	zassert_equal(zsock_sendto(u, out, UDP_MAX, 0, (w5_sockaddr_t *)&echo, sizeof(echo)),
		      UDP_MAX);
	zassert_equal(zsock_recv(u, in, 1, 0), 1);
	zassert_equal(in[0], out[0]);
	zassert_errno(zsock_recv(u, in, sizeof(in), ZSOCK_MSG_DONTWAIT), EAGAIN);
	zassert_equal(zsock_sendto(u, out, TCP_MSS, 0, (w5_sockaddr_t *)&echo, sizeof(echo)),
		      TCP_MSS);
	zassert_equal(zsock_recv(u, in, 10, ZSOCK_MSG_TRUNC), TCP_MSS);
	zassert_mem_equal(in, out, 10);
	zassert_equal(zsock_sendto(u, out, 5, 0, (w5_sockaddr_t *)&echo, sizeof(echo)), 5);
	zassert_equal(zsock_recv(u, in, sizeof(in), 0), 5);
	zassert_ok(zsock_close(u));
	hostile_all_back();
}

/* TCP: every length is a stream of that many bytes (0 sends nothing and returns 0; 1473 is
 * no limit on a stream), echoed back intact; SIZE_MAX is EFAULT both ways; a zero-length
 * recv() returns 0 at once.
 */
ZTEST(hostile_lengths, test_tcp_lengths)
{
	const size_t ok[] = { 1, TCP_MSS, UDP_MAX, UDP_MAX + 1 };
	int t = tcp_connected(ECHO_IP, 7, 3000);

	zassert_equal(zsock_send(t, out, 0, 0), 0);
	zassert_errno(zsock_send(t, out, SIZE_MAX, 0), EFAULT);
	zassert_errno(zsock_recv(t, in, SIZE_MAX, 0), EFAULT);
	zassert_equal(zsock_recv(t, in, 0, 0), 0);
	for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
		fill(ok[i], (uint8_t)(i + 100));
		zassert_equal(zsock_send(t, out, ok[i], 0), (ssize_t)ok[i]);
		memset(in, 0, sizeof(in));
		zassert_equal(recv_all(t, in, ok[i]), ok[i], "length %u", (unsigned int)ok[i]);
		zassert_mem_equal(in, out, ok[i]);
	}
	zassert_ok(zsock_close(t));
	hostile_all_back();
}

/* Address lengths: shorter than struct sockaddr_in is EINVAL (POSIX: "not a valid length
 * for the address family"); longer is accepted (as Zephyr's own sockets). An out-length
 * shorter than the address gets the address truncated and is set to its full size (POSIX
 * getsockname/recvfrom); a longer one is set to 16.
 */
ZTEST(hostile_lengths, test_address_lengths)
{
	const w5_socklen_t short_len[] = { 0, 1, 2, sizeof(w5_sockaddr_in_t) - 1 };
	const w5_socklen_t long_len[] = { sizeof(w5_sockaddr_in_t) + 1, 128, 1000, UINT32_MAX };
	static uint8_t big[2048];
	w5_sockaddr_in_t a;
	w5_socklen_t len;
	int u;

	for (size_t i = 0; i < ARRAY_SIZE(short_len); i++) {
		u = udp_socket();
		addr_of(&a, "0.0.0.0", PORT);
		zassert_errno(zsock_bind(u, (w5_sockaddr_t *)&a, short_len[i]), EINVAL);
		addr_of(&a, ECHO_IP, 7);
		zassert_errno(zsock_connect(u, (w5_sockaddr_t *)&a, short_len[i]), EINVAL);
		zassert_errno(zsock_sendto(u, "x", 1, 0, (w5_sockaddr_t *)&a, short_len[i]),
			      EINVAL);
		zassert_ok(zsock_close(u));
	}
	for (size_t i = 0; i < ARRAY_SIZE(long_len); i++) {
		u = udp_socket();
		memset(big, 0, sizeof(big));
		addr_of(&a, "0.0.0.0", PORT + i);
		memcpy(big, &a, sizeof(a));
		zassert_ok(zsock_bind(u, (w5_sockaddr_t *)big, long_len[i]), "len %u: %d",
			   (unsigned int)long_len[i], errno);
		addr_of(&a, ECHO_IP, 7);
		memcpy(big, &a, sizeof(a));
		zassert_equal(zsock_sendto(u, "x", 1, 0, (w5_sockaddr_t *)big, long_len[i]), 1);
		zassert_ok(zsock_close(u));
	}
	u = udp_bound(PORT, 100);
	memset(big, 0xee, sizeof(big));
	len = 0;
	zassert_ok(zsock_getsockname(u, (w5_sockaddr_t *)big, &len));
	zassert_equal(len, sizeof(w5_sockaddr_in_t));
	zassert_equal(big[0], 0xee, "nothing stored for a length of 0");
	len = 2;
	zassert_ok(zsock_getsockname(u, (w5_sockaddr_t *)big, &len));
	zassert_equal(len, sizeof(w5_sockaddr_in_t));
	zassert_equal(big[2], 0xee, "two bytes stored for a length of 2");
	len = sizeof(big);
	zassert_ok(zsock_getsockname(u, (w5_sockaddr_t *)big, &len));
	zassert_equal(len, sizeof(w5_sockaddr_in_t));
	zassert_equal(big[sizeof(w5_sockaddr_in_t)], 0xee, "nothing beyond the address");
	zassert_ok(zsock_close(u));
	hostile_all_back();
}

/* listen() backlogs: below 1 counts as 1 (POSIX: "at least 0"; a connection is still
 * accepted, as Linux), above the free hardware sockets is capped by them; all are 0.
 */
ZTEST(hostile_lengths, test_listen_backlog_edges)
{
	const int backlog[] = { INT_MIN, -1, 0, 1, USER_SOCKETS + 1, INT_MAX };
	w5_sockaddr_in_t a;

	for (size_t i = 0; i < ARRAY_SIZE(backlog); i++) {
		int l = tcp_socket();
		int c;

		addr_of(&a, "0.0.0.0", PORT + 10 + i);
		zassert_ok(zsock_bind(l, (w5_sockaddr_t *)&a, sizeof(a)));
		zassert_ok(zsock_listen(l, backlog[i]), "backlog %d: %d", backlog[i], errno);
		set_timeout(l, W5_SO_RCVTIMEO, 3000);
		zassert_true(w5500_emul_peer_connect(CHIP_IP, PORT + 10 + i) >= 0);
		c = zsock_accept(l, NULL, NULL);
		zassert_true(c >= 0, "backlog %d: accept %d", backlog[i], errno);
		zassert_ok(zsock_close(c));
		zassert_ok(zsock_close(l));
	}
	hostile_all_back();
}

ZTEST_SUITE(hostile_lengths, NULL, hostile_setup, NULL, hostile_after, NULL);
