/*
 * SPDX-License-Identifier: Apache-2.0
 *
 * The differences issue 14 found, as decided in docs/SEMANTICS.md (rows 45-52), one test
 * each where the C layer is involved (the Rust logic has its host tests in
 * rust/w5500-driver/tests/edges.rs and reuse.rs). Cases in other classes: send(NULL, 10)
 * (pointers: test_null_buffer_with_a_length_is_efault), ioctl(FIONREAD, NULL) (pointers:
 * test_ioctl_null_argument_is_efault), timeouts (options:
 * test_timeouts_clamp_and_read_back), TCP_NODELAY/SO_REUSEADDR read back (options:
 * test_flags_read_back), accept() on UDP (types: test_stream_operations_on_udp).
 */

#include "hostile.h"

/* A new, unconnected TCP socket polls POLLOUT|POLLHUP, as Linux and lwIP (it was POLLHUP
 * alone); a non-blocking connect then polls POLLOUT once connected (MicroPython's
 * connect_poll test).
 */
ZTEST(hostile_differences, test_unconnected_tcp_polls_out_and_hup)
{
	struct zsock_pollfd p;
	w5_sockaddr_in_t a;
	int t = tcp_socket();

	p = (struct zsock_pollfd){ .fd = t, .events = ZSOCK_POLLIN | ZSOCK_POLLOUT };
	zassert_equal(zsock_poll(&p, 1, 0), 1);
	zassert_equal(p.revents, ZSOCK_POLLOUT | ZSOCK_POLLHUP, "revents 0x%x", p.revents);
	zassert_ok(zsock_fcntl(t, W5_F_SETFL, W5_O_NONBLOCK));
	addr_of(&a, ECHO_IP, 7);
	zassert_errno(zsock_connect(t, (w5_sockaddr_t *)&a, sizeof(a)), EINPROGRESS);
	p = (struct zsock_pollfd){ .fd = t, .events = ZSOCK_POLLOUT };
	zassert_equal(zsock_poll(&p, 1, 3000), 1);
	zassert_equal(p.revents, ZSOCK_POLLOUT, "revents 0x%x", p.revents);
	zassert_ok(zsock_close(t));
	hostile_all_back();
}

/* connect() to this host (127.0.0.0/8, 0.0.0.0/8) or, for TCP, a broadcast or multicast
 * address is ENETUNREACH at once: the chip has no loopback and TCP has no broadcast (as
 * Linux's tcp_v4_connect). Before, the SYN went to the gateway and the call waited for the
 * chip's timeout (ETIMEDOUT).
 */
ZTEST(hostile_differences, test_connect_to_this_host_or_broadcast_is_enetunreach)
{
	const char *const tcp_dst[] = { "127.0.0.1", "127.255.255.254", "0.0.0.0",
					"0.1.2.3",   "255.255.255.255", "10.77.0.255",
					"224.0.0.1", "239.255.0.1" };
	w5_sockaddr_in_t a;
	int t = tcp_socket();
	int u = udp_socket();

	for (size_t i = 0; i < ARRAY_SIZE(tcp_dst); i++) {
		addr_of(&a, tcp_dst[i], 80);
		zassert_errno(zsock_connect(t, (w5_sockaddr_t *)&a, sizeof(a)), ENETUNREACH);
	}
	addr_of(&a, "127.0.0.1", 7);
	zassert_errno(zsock_connect(u, (w5_sockaddr_t *)&a, sizeof(a)), ENETUNREACH);
	zassert_errno(zsock_sendto(u, "x", 1, 0, (w5_sockaddr_t *)&a, sizeof(a)), ENETUNREACH);
	/* Both sockets still work. */
	addr_of(&a, ECHO_IP, 7);
	zassert_ok(zsock_connect(t, (w5_sockaddr_t *)&a, sizeof(a)));
	zassert_ok(zsock_connect(u, (w5_sockaddr_t *)&a, sizeof(a)));
	zassert_ok(zsock_close(t));
	zassert_ok(zsock_close(u));
	hostile_all_back();
}

/* A zero-length recv() on a connected TCP socket returns 0 at once, with MSG_DONTWAIT too,
 * as Linux (it was EAGAIN); data waiting stays.
 */
ZTEST(hostile_differences, test_zero_length_tcp_recv_is_zero)
{
	char buf[4];
	int t = tcp_connected(ECHO_IP, 7, 3000);

	zassert_equal(zsock_recv(t, buf, 0, ZSOCK_MSG_DONTWAIT), 0);
	zassert_equal(zsock_recv(t, buf, 0, 0), 0);
	zassert_equal(zsock_send(t, "data", 4, 0), 4);
	zassert_true(wait_for(t, ZSOCK_POLLIN, 3000) & ZSOCK_POLLIN);
	zassert_equal(zsock_recv(t, buf, 0, ZSOCK_MSG_DONTWAIT), 0);
	zassert_equal(recv_all(t, buf, 4), 4);
	zassert_mem_equal(buf, "data", 4);
	zassert_ok(zsock_close(t));
	hostile_all_back();
}

/* The chip cannot send an empty datagram (SEND transmits the bytes between Sn_TX_RD and
 * Sn_TX_WR; with none it sends nothing), so every way of asking for one is EMSGSIZE instead
 * of a success that sends nothing: sendto() of 0 bytes, send() on a connected socket,
 * sendmsg() without iovecs or with empty ones. On TCP they are 0.
 */
ZTEST(hostile_differences, test_empty_datagram_is_emsgsize)
{
	w5_iovec_t iov[2] = { { .iov_base = NULL, .iov_len = 0 },
			      { .iov_base = "", .iov_len = 0 } };
	w5_msghdr_t msg = { 0 };
	w5_sockaddr_in_t echo;
	char buf[4];
	int u = udp_bound(0, 300);
	int t = tcp_connected(ECHO_IP, 7, 1000);

	addr_of(&echo, ECHO_IP, 7);
	msg.msg_name = &echo;
	msg.msg_namelen = sizeof(echo);
	zassert_errno(zsock_sendto(u, buf, 0, 0, (w5_sockaddr_t *)&echo, sizeof(echo)), EMSGSIZE);
	zassert_errno(zsock_sendmsg(u, &msg, 0), EMSGSIZE);
	msg.msg_iov = iov;
	msg.msg_iovlen = 2;
	zassert_errno(zsock_sendmsg(u, &msg, 0), EMSGSIZE);
	zassert_ok(zsock_connect(u, (w5_sockaddr_t *)&echo, sizeof(echo)));
	zassert_errno(zsock_send(u, buf, 0, 0), EMSGSIZE);
	/* Nothing went out, so nothing comes back. */
	zassert_errno(zsock_recv(u, buf, sizeof(buf), 0), EAGAIN);
	msg.msg_name = NULL;
	msg.msg_namelen = 0;
	zassert_equal(zsock_sendmsg(t, &msg, 0), 0);
	msg.msg_iovlen = 0;
	zassert_equal(zsock_sendmsg(t, &msg, 0), 0);
	zassert_ok(zsock_close(u));
	zassert_ok(zsock_close(t));
	hostile_all_back();
}

/* A socket just closed is available again: with every other hardware socket held, close()
 * on a connection and an immediate socket() gives a socket (it was ENFILE until the FIN
 * exchange ended), which works. The background close it replaced is cut short
 * (docs/SEMANTICS.md row 52, docs/RELIABILITY.md: the peer gets an RST instead of an ACK).
 */
ZTEST(hostile_differences, test_socket_right_after_close_is_available)
{
	int held[USER_SOCKETS - 1];
	char buf[8];
	int t, n;

	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < USER_SOCKETS - 1; i++) {
			held[i] = udp_bound(0, 100);
		}
		t = tcp_connected(ECHO_IP, 7, 3000);
		zassert_equal(zsock_send(t, "bye", 3, 0), 3);
		zassert_equal(recv_all(t, buf, 3), 3);
		zassert_equal(w5500_offload_free_sockets(NULL), 0);
		zassert_ok(zsock_close(t));
		n = zsock_socket(W5_AF_INET, W5_SOCK_STREAM, 0);
		zassert_true(n >= 0, "round %d: socket() after close: errno %d", round, errno);
		/* Nothing else is closing: the next one is ENFILE as before. */
		zassert_errno(zsock_socket(W5_AF_INET, W5_SOCK_DGRAM, 0), ENFILE);
		zassert_ok(zsock_close(n));
		n = tcp_connected(ECHO_IP, 7, 3000);
		zassert_equal(zsock_send(n, "again", 5, 0), 5);
		zassert_equal(recv_all(n, buf, 5), 5);
		zassert_mem_equal(buf, "again", 5);
		zassert_ok(zsock_close(n));
		for (int i = 0; i < USER_SOCKETS - 1; i++) {
			zassert_ok(zsock_close(held[i]));
		}
		hostile_all_back();
	}
}

ZTEST_SUITE(hostile_differences, NULL, hostile_setup, NULL, hostile_after, NULL);
